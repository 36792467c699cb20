/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of iser_target: connection state changes, command start and
 * completion with latency, RDMA completion errors and closing reasons.
 * Enable with: echo 1 > /sys/kernel/tracing/events/iser_target/enable
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM iser_target

#if !defined(ISER_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define ISER_TRACE_H

#include <linux/tracepoint.h>

#include "iser.h"

/*
 * Strings are copied into fixed arrays: __string()/__assign_str() changed
 * arity between the kernels we build for, a plain array did not.
 */
#define ISER_TRACE_STR	64

TRACE_EVENT(iser_conn_state,
	    TP_PROTO(const void *conn, int from, int to),
	    TP_ARGS(conn, from, to),
	    TP_STRUCT__entry(__field(const void *, conn)
			     __array(char, from, 16)
			     __array(char, to, 16)),
	    TP_fast_assign(__entry->conn = conn;
			   strscpy(__entry->from, iser_conn_state_name(from), 16);
			   strscpy(__entry->to, iser_conn_state_name(to), 16);),
	    TP_printk("conn %p %s -> %s", __entry->conn, __entry->from,
		      __entry->to)
);

TRACE_EVENT(iser_cmd_start,
	    TP_PROTO(const void *conn, u32 itt, u8 cdb0, u32 len, bool read,
		     bool write),
	    TP_ARGS(conn, itt, cdb0, len, read, write),
	    TP_STRUCT__entry(__field(const void *, conn)
			     __field(u32, itt)
			     __field(u8, cdb0)
			     __field(u32, len)
			     __field(bool, read)
			     __field(bool, write)),
	    TP_fast_assign(__entry->conn = conn;
			   __entry->itt = itt;
			   __entry->cdb0 = cdb0;
			   __entry->len = len;
			   __entry->read = read;
			   __entry->write = write;),
	    TP_printk("conn %p itt 0x%08x cdb 0x%02x len %u%s%s",
		      __entry->conn, __entry->itt, __entry->cdb0, __entry->len,
		      __entry->read ? " read" : "",
		      __entry->write ? " write" : "")
);

TRACE_EVENT(iser_cmd_done,
	    TP_PROTO(const void *conn, u32 itt, u8 status, u64 latency_ns),
	    TP_ARGS(conn, itt, status, latency_ns),
	    TP_STRUCT__entry(__field(const void *, conn)
			     __field(u32, itt)
			     __field(u8, status)
			     __field(u64, latency_ns)),
	    TP_fast_assign(__entry->conn = conn;
			   __entry->itt = itt;
			   __entry->status = status;
			   __entry->latency_ns = latency_ns;),
	    TP_printk("conn %p itt 0x%08x status 0x%02x latency %llu ns",
		      __entry->conn, __entry->itt, __entry->status,
		      __entry->latency_ns)
);

TRACE_EVENT(iser_wc_error,
	    TP_PROTO(const void *conn, const char *what, int status),
	    TP_ARGS(conn, what, status),
	    TP_STRUCT__entry(__field(const void *, conn)
			     __array(char, what, ISER_TRACE_STR)
			     __field(int, status)),
	    TP_fast_assign(__entry->conn = conn;
			   strscpy(__entry->what, what, ISER_TRACE_STR);
			   __entry->status = status;),
	    TP_printk("conn %p %s completed with status %d", __entry->conn,
		      __entry->what, __entry->status)
);

TRACE_EVENT(iser_conn_close,
	    TP_PROTO(const void *conn, const char *why),
	    TP_ARGS(conn, why),
	    TP_STRUCT__entry(__field(const void *, conn)
			     __array(char, why, ISER_TRACE_STR)),
	    TP_fast_assign(__entry->conn = conn;
			   strscpy(__entry->why, why, ISER_TRACE_STR);),
	    TP_printk("conn %p closing: %s", __entry->conn, __entry->why)
);

#endif /* ISER_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE iser_trace
#include <trace/define_trace.h>
