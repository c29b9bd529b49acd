/* SPDX-License-Identifier: GPL-2.0 */
#include "../kshim.h"
#include_next <linux/virtio_ring.h>
