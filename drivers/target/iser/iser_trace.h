/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of iser_target: connection state changes, command start and
 * completion with latency, batched receive reposts, RDMA completion errors
 * and closing reasons.
 * Enable with: echo 1 > /sys/kernel/tracing/events/iser_target/enable
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM iser_target

#if !defined(ISER_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define ISER_TRACE_H

#include <linux/tracepoint.h>

#include "iser.h"

/*
 * Enum values are exported with TRACE_DEFINE_ENUM so that user-space
 * readers of the binary trace (perf, trace-cmd) print the names too. The
 * names are those of iser_state_names[] and iser_wr_kind_names[], which
 * logs and debugfs use.
 */
TRACE_DEFINE_ENUM(ISER_CONN_CONNECTING);
TRACE_DEFINE_ENUM(ISER_CONN_ESTABLISHED);
TRACE_DEFINE_ENUM(ISER_CONN_PENDING);
TRACE_DEFINE_ENUM(ISER_CONN_LOGIN);
TRACE_DEFINE_ENUM(ISER_CONN_FULL);
TRACE_DEFINE_ENUM(ISER_CONN_CLOSING);
TRACE_DEFINE_ENUM(ISER_CONN_CLOSED);

#define iser_show_state(s)					\
	__print_symbolic(s,					\
			 { ISER_CONN_CONNECTING, "connecting" },	\
			 { ISER_CONN_ESTABLISHED, "established" },	\
			 { ISER_CONN_PENDING, "pending" },		\
			 { ISER_CONN_LOGIN, "login" },			\
			 { ISER_CONN_FULL, "full-feature" },		\
			 { ISER_CONN_CLOSING, "closing" },		\
			 { ISER_CONN_CLOSED, "closed" })

TRACE_DEFINE_ENUM(ISER_WR_LOGIN_RECV);
TRACE_DEFINE_ENUM(ISER_WR_LOGIN_SEND);
TRACE_DEFINE_ENUM(ISER_WR_RECV);
TRACE_DEFINE_ENUM(ISER_WR_SEND);
TRACE_DEFINE_ENUM(ISER_WR_RDMA_READ);
TRACE_DEFINE_ENUM(ISER_WR_RDMA_WRITE);
TRACE_DEFINE_ENUM(ISER_WR_KEEPALIVE);
TRACE_DEFINE_ENUM(ISER_WR_SQ_MARKER);

#define iser_show_wr_kind(k)					\
	__print_symbolic(k,					\
			 { ISER_WR_LOGIN_RECV, "login receive" },	\
			 { ISER_WR_LOGIN_SEND, "login response send" }, \
			 { ISER_WR_RECV, "receive" },			\
			 { ISER_WR_SEND, "send" },			\
			 { ISER_WR_RDMA_READ, "RDMA READ of write data" }, \
			 { ISER_WR_RDMA_WRITE, "RDMA WRITE of read data" }, \
			 { ISER_WR_KEEPALIVE, "keepalive probe" },	\
			 { ISER_WR_SQ_MARKER, "completion marker" })

/*
 * The close reason is free text, some of it from other code: it is copied
 * into a fixed array, because __assign_str() changed its arguments between
 * the kernels this module builds for.
 */
#define ISER_TRACE_STR	64

TRACE_EVENT(iser_conn_state,
	    TP_PROTO(const struct iser_conn *conn, enum iser_conn_state from,
		     enum iser_conn_state to),
	    TP_ARGS(conn, from, to),
	    TP_STRUCT__entry(__field(const void *, conn)
			     __field(unsigned int, from)
			     __field(unsigned int, to)),
	    TP_fast_assign(__entry->conn = conn;
			   __entry->from = from;
			   __entry->to = to;),
	    TP_printk("conn %p %s -> %s", __entry->conn,
		      iser_show_state(__entry->from),
		      iser_show_state(__entry->to))
);

TRACE_EVENT(iser_cmd_start,
	    TP_PROTO(const struct iser_conn *conn, u32 itt, u8 cdb0, u32 len,
		     bool read, bool write),
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

/* latency_ns is 0 for a command that started before the event was enabled. */
TRACE_EVENT(iser_cmd_done,
	    TP_PROTO(const struct iser_conn *conn, u32 itt, u8 status,
		     u64 latency_ns),
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

TRACE_EVENT(iser_rx_repost,
	    TP_PROTO(const struct iser_conn *conn, u32 count),
	    TP_ARGS(conn, count),
	    TP_STRUCT__entry(__field(const void *, conn)
			     __field(u32, count)),
	    TP_fast_assign(__entry->conn = conn;
			   __entry->count = count;),
	    TP_printk("conn %p reposts %u receive buffers", __entry->conn,
		      __entry->count)
);

TRACE_EVENT(iser_wc_error,
	    TP_PROTO(const struct iser_conn *conn, enum iser_wr_kind kind,
		     enum ib_wc_status status, u32 vendor_err),
	    TP_ARGS(conn, kind, status, vendor_err),
	    TP_STRUCT__entry(__field(const void *, conn)
			     __field(unsigned int, kind)
			     __field(unsigned int, status)
			     __field(u32, vendor_err)),
	    TP_fast_assign(__entry->conn = conn;
			   __entry->kind = kind;
			   __entry->status = status;
			   __entry->vendor_err = vendor_err;),
	    TP_printk("conn %p %s completed with status %u (vendor error 0x%x)",
		      __entry->conn,
		      iser_show_wr_kind(__entry->kind),
		      __entry->status, __entry->vendor_err)
);

TRACE_EVENT(iser_conn_close,
	    TP_PROTO(const struct iser_conn *conn, const char *why),
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
