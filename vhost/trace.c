// SPDX-License-Identifier: GPL-2.0
/*
 * The "vhx" tracepoints (trace.h), defined here and exported to net and
 * blk; and vhx_vq_err_fail(), the one place a queue fails with a message.
 */
#undef pr_fmt
#define pr_fmt(fmt) fmt	/* the caller's module names the line */

#include <linux/module.h>
#include <linux/printk.h>

#define CREATE_TRACE_POINTS
#include "trace.h"
#undef CREATE_TRACE_POINTS

#include "core.h"

EXPORT_TRACEPOINT_SYMBOL_GPL(vhx_kick);
EXPORT_TRACEPOINT_SYMBOL_GPL(vhx_call);
EXPORT_TRACEPOINT_SYMBOL_GPL(vhx_used);
EXPORT_TRACEPOINT_SYMBOL_GPL(vhx_handle);
EXPORT_TRACEPOINT_SYMBOL_GPL(vhx_vq_error);
EXPORT_TRACEPOINT_SYMBOL_GPL(vhx_iotlb_miss);
EXPORT_TRACEPOINT_SYMBOL_GPL(vhx_blk_submit);
EXPORT_TRACEPOINT_SYMBOL_GPL(vhx_blk_complete);

/*
 * vhx_vq_err(): the message, formatted once, goes to the debug log as
 * "MODULE: message" (rate-limited here, for every queue of every tenant
 * together) and to the vhx_vq_error event; then the queue fails (ERR
 * eventfd, stopped until reset).  Caller holds vq->mutex.
 */
void vhx_vq_err_fail(struct vhx_vq *vq, const char *mod, const char *fmt, ...)
{
	char why[VHX_TRACE_WHY];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	pr_debug_ratelimited("%s: %s", mod, why);
	trace_vhx_vq_error(vq->dev->id, vq->index, why);
	vhx_vq_fail(vq);
}
EXPORT_SYMBOL_GPL(vhx_vq_err_fail);
