// SPDX-License-Identifier: GPL-2.0
/* The "vhx" tracepoints (trace.h), defined here and exported to net and blk. */
#include <linux/module.h>

#define CREATE_TRACE_POINTS
#include "trace.h"

EXPORT_TRACEPOINT_SYMBOL_GPL(vhx_kick);
EXPORT_TRACEPOINT_SYMBOL_GPL(vhx_call);
EXPORT_TRACEPOINT_SYMBOL_GPL(vhx_used);
EXPORT_TRACEPOINT_SYMBOL_GPL(vhx_handle);
EXPORT_TRACEPOINT_SYMBOL_GPL(vhx_vq_error);
EXPORT_TRACEPOINT_SYMBOL_GPL(vhx_iotlb_miss);
EXPORT_TRACEPOINT_SYMBOL_GPL(vhx_blk_submit);
EXPORT_TRACEPOINT_SYMBOL_GPL(vhx_blk_complete);
