/* SPDX-License-Identifier: GPL-2.0 */
/* Nothing to define in userspace (see linux/tracepoint.h). */
