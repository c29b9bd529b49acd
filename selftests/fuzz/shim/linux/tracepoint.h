/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The tracepoint macros, for vhost/trace.h in userspace: every event is an
 * inline that does nothing, and is never enabled.
 */
#ifndef SHIM_TRACEPOINT_H
#define SHIM_TRACEPOINT_H
#include "../kshim.h"

#define TP_PROTO(args...) args
#define TP_ARGS(args...) args
#define DECLARE_EVENT_CLASS(name, proto, args, tstruct, assign, print)
#define DEFINE_EVENT(template, name, proto, args)			\
	static inline void trace_##name(proto) {}			\
	static inline bool trace_##name##_enabled(void) { return false; }
#define TRACE_EVENT(name, proto, args, tstruct, assign, print)		\
	DEFINE_EVENT(name, name, PARAMS(proto), PARAMS(args))
#define PARAMS(args...) args
#define EXPORT_TRACEPOINT_SYMBOL_GPL(name)
#endif
