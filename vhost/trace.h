/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhx's tracepoints, system "vhx" (tracefs events/vhx/, perf trace -e
 * 'vhx:*', bpftrace tracepoint:vhx:*).  Defined once, in vhx_core
 * (trace.c); vhx_net and vhx_blk use the exported ones.  Off, each is a
 * static branch that is not taken.
 *
 * Every event names its queue by the device's id (debugfs "dev id=") and
 * the queue's index, so a consumer can pair them with the counters:
 *
 *   vhx_kick          the guest kicked (the kick eventfd woke the queue)
 *   vhx_handle        a handler run ended: what it moved, whether the
 *                     weight cut it short (requeued)
 *   vhx_used          entries published to the used ring
 *   vhx_call          the guest was notified
 *   vhx_vq_error      the queue was stopped: the check that failed
 *   vhx_iotlb_miss    a device-IOTLB miss was queued for the owner
 *   vhx_blk_submit    vhost-blk started a request
 *   vhx_blk_complete  vhost-blk published its status
 *
 * The arguments are plain values (no vhx structures), so that core.h can
 * include this header before it defines them.  vhx_vq_error's reason is
 * the failed check's message as the debug log prints it.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM vhx

#if !defined(_VHX_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _VHX_TRACE_H

#include <linux/tracepoint.h>

DECLARE_EVENT_CLASS(vhx_queue,
		    TP_PROTO(u32 dev, u16 vq),
		    TP_ARGS(dev, vq),
		    TP_STRUCT__entry(__field(u32, dev)
				     __field(u16, vq)),
		    TP_fast_assign(__entry->dev = dev;
				   __entry->vq = vq;),
		    TP_printk("dev=%u vq=%u", __entry->dev, __entry->vq));

DEFINE_EVENT(vhx_queue, vhx_kick,
	     TP_PROTO(u32 dev, u16 vq),
	     TP_ARGS(dev, vq));

DEFINE_EVENT(vhx_queue, vhx_call,
	     TP_PROTO(u32 dev, u16 vq),
	     TP_ARGS(dev, vq));

TRACE_EVENT(vhx_used,
	    TP_PROTO(u32 dev, u16 vq, unsigned int count),
	    TP_ARGS(dev, vq, count),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(u16, vq)
			     __field(unsigned int, count)),
	    TP_fast_assign(__entry->dev = dev;
			   __entry->vq = vq;
			   __entry->count = count;),
	    TP_printk("dev=%u vq=%u count=%u", __entry->dev, __entry->vq,
		      __entry->count));

TRACE_EVENT(vhx_handle,
	    TP_PROTO(u32 dev, u16 vq, u64 packets, u64 bytes, bool requeued),
	    TP_ARGS(dev, vq, packets, bytes, requeued),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(u16, vq)
			     __field(bool, requeued)
			     __field(u64, packets)
			     __field(u64, bytes)),
	    TP_fast_assign(__entry->dev = dev;
			   __entry->vq = vq;
			   __entry->requeued = requeued;
			   __entry->packets = packets;
			   __entry->bytes = bytes;),
	    TP_printk("dev=%u vq=%u packets=%llu bytes=%llu requeued=%d",
		      __entry->dev, __entry->vq, __entry->packets,
		      __entry->bytes, __entry->requeued));

/* Bytes of a vq error's message kept (the rest is cut). */
#define VHX_TRACE_WHY 96

TRACE_EVENT(vhx_vq_error,
	    TP_PROTO(u32 dev, u16 vq, const char *why),
	    TP_ARGS(dev, vq, why),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(u16, vq)
			     __array(char, why, VHX_TRACE_WHY)),
	    TP_fast_assign(__entry->dev = dev;
			   __entry->vq = vq;
			   strscpy(__entry->why, why, VHX_TRACE_WHY);
			   __entry->why[strcspn(__entry->why, "\n")] = 0;),
	    TP_printk("dev=%u vq=%u why=\"%s\"", __entry->dev, __entry->vq,
		      __entry->why));

TRACE_EVENT(vhx_iotlb_miss,
	    TP_PROTO(u32 dev, u16 vq, u64 iova, int access),
	    TP_ARGS(dev, vq, iova, access),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(u16, vq)
			     __field(int, access)
			     __field(u64, iova)),
	    TP_fast_assign(__entry->dev = dev;
			   __entry->vq = vq;
			   __entry->access = access;
			   __entry->iova = iova;),
	    TP_printk("dev=%u vq=%u iova=0x%llx access=%d", __entry->dev,
		      __entry->vq, __entry->iova, __entry->access));

TRACE_EVENT(vhx_blk_submit,
	    TP_PROTO(u32 dev, u16 vq, u16 id, u32 type, u64 sector, u64 len),
	    TP_ARGS(dev, vq, id, type, sector, len),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(u16, vq)
			     __field(u16, id)
			     __field(u32, type)
			     __field(u64, sector)
			     __field(u64, len)),
	    TP_fast_assign(__entry->dev = dev;
			   __entry->vq = vq;
			   __entry->id = id;
			   __entry->type = type;
			   __entry->sector = sector;
			   __entry->len = len;),
	    TP_printk("dev=%u vq=%u id=%u type=%u sector=%llu len=%llu",
		      __entry->dev, __entry->vq, __entry->id, __entry->type,
		      __entry->sector, __entry->len));

TRACE_EVENT(vhx_blk_complete,
	    TP_PROTO(u32 dev, u16 vq, u16 id, u8 status, u32 used_len),
	    TP_ARGS(dev, vq, id, status, used_len),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(u16, vq)
			     __field(u16, id)
			     __field(u8, status)
			     __field(u32, used_len)),
	    TP_fast_assign(__entry->dev = dev;
			   __entry->vq = vq;
			   __entry->id = id;
			   __entry->status = status;
			   __entry->used_len = used_len;),
	    TP_printk("dev=%u vq=%u id=%u status=%u used_len=%u",
		      __entry->dev, __entry->vq, __entry->id, __entry->status,
		      __entry->used_len));

#endif /* _VHX_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
