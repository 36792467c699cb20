/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iser_target: iSER (RFC 7145) transport for the LIO iSCSI target.
 * Internal definitions shared by the module's files.
 */
#ifndef ISER_H
#define ISER_H

#include <linux/completion.h>
#include <linux/error-injection.h>
#include <linux/jump_label.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <rdma/ib_verbs.h>
#include <rdma/rdma_cm.h>
#include <rdma/rw.h>
#include <target/iscsi/iscsi_transport.h>

#include "iser_compat.h"
#include "iser_proto.h"

/*
 * Fault points: every function that allocates for a connection or a
 * command, takes a task, maps memory for RDMA or posts send work requests
 * is marked ALLOW_ERROR_INJECTION, so that fail_function can make it fail
 * (tests/guest/allocfail.sh). failslab and fail_page_alloc cannot stand in:
 * x86_64 has no stack-trace filter to aim them at one caller, and a task
 * tag or a refused post allocates nothing. Injection needs the function
 * out of line; kernels without FUNCTION_ERROR_INJECTION (Debian's) cannot
 * inject, and there the compiler inlines as it likes, so the I/O path
 * pays nothing for its fault points. A hot one with several callers, which
 * the compiler would keep out of line, is inlined there on purpose.
 */
#ifdef CONFIG_FUNCTION_ERROR_INJECTION
#define __iser_fault_point	noinline
#define __iser_hot_fault_point	noinline
#else
#define __iser_fault_point
#define __iser_hot_fault_point	__always_inline
#endif

/*
 * The receive and response paths inline their helpers: a call per helper
 * and per I/O was a fifth of the module's instructions. A coverage build
 * (make ISER_GCOV=1) keeps each of them once, so that gcov counts each
 * branch of the source once, not once per inlined copy.
 */
#ifdef ISER_GCOV
#define __iser_hot	noinline
#else
#define __iser_hot	__always_inline
#endif

/*
 * Bytes of each receive descriptor's header slot: iSER header, BHS, AHS.
 * A full-feature descriptor receives only the iSER header and BHS there,
 * so that a data segment begins on a page of its own, and puts the rest
 * of the slot after its pages, for what an AHS pushes past them.
 */
#define ISER_RX_HDR_SLOT	128
/* Most data pages one receive descriptor may have. */
#define ISER_RX_MAX_PAGES	8
/* The header slot, the pages, and the slot's tail. */
#define ISER_RX_MAX_SGE		(2 + ISER_RX_MAX_PAGES)
/* Pages of the login buffers: the largest login data segment, rounded up. */
#define ISER_LOGIN_PAGES	iser_rx_data_pages(ISER_LOGIN_MAX_DATA, PAGE_SIZE)
/* Send header slot: iSER header, BHS and a small payload (sense, reject). */
#define ISER_TX_SLOT		256
#define ISER_TX_INLINE_MAX	(ISER_TX_SLOT - ISER_HEADERS_LEN)
/*
 * Scatter/gather entries per RDMA READ or WRITE: 64 KiB of pages in one
 * work request. Providers size a send queue entry for the most SGEs any
 * entry may carry, so more would double the send queue's memory.
 */
#define ISER_MAX_SEND_SGE	16
/* Send queue entries kept for control PDUs, never used by data. */
#define ISER_SQ_CTRL_RESERVE	32
/*
 * Send queue entries outside every pool: ib_drain_qp()'s marker, the one
 * keepalive probe and the one completion marker a connection has in
 * flight at most.
 */
#define ISER_SQ_OUTSIDE		3
/*
 * Quiet time after which a completion marker releases unsignalled
 * responses. Their initiator has them already, and the command window
 * opened when they were built: only their tasks wait. 10 ms rather than
 * one tick, so that the marker's work runs seldom while I/O flows.
 */
#define ISER_SQ_MARK_MS		10
#define ISER_MAX_KEEPALIVE_SECS	3600
#define ISER_MIN_SRQ_SIZE	64
#define ISER_MAX_SRQ_SIZE	16384

/**
 * enum iser_stat - per-connection counters; names in iser_stats.c
 * @ISER_S_PDU_LOGIN: login requests received
 * @ISER_S_PDU_SCSI_CMD: SCSI command PDUs received
 * @ISER_S_PDU_DATA_OUT: unsolicited Data-Out PDUs received
 * @ISER_S_PDU_NOP_OUT: NOP-Out PDUs received
 * @ISER_S_PDU_TMF: task management requests received
 * @ISER_S_PDU_TEXT: text requests received
 * @ISER_S_PDU_LOGOUT: logout requests received
 * @ISER_S_PDU_SNACK: SNACK requests received
 * @ISER_S_BYTES_IN: bytes received by SEND (headers and data)
 * @ISER_S_CMD_READ: SCSI commands reading data (Data-In)
 * @ISER_S_CMD_WRITE: SCSI commands writing data (Data-Out)
 * @ISER_S_CMD_NODATA: SCSI commands without data
 * @ISER_S_IMM_BYTES: write bytes that came as immediate data
 * @ISER_S_IMM_LENT_BYTES: of those, bytes the target core wrote from the
 *	receive buffer itself, without a copy (iser_rx_lend())
 * @ISER_S_UNSOL_BYTES: write bytes that came in unsolicited Data-Out
 * @ISER_S_RDMA_WRITE_BYTES: read data sent by RDMA WRITE
 * @ISER_S_RDMA_READ_BYTES: write data fetched by RDMA READ
 * @ISER_S_RDMA_WRITE_WRS: RDMA WRITE work requests posted
 * @ISER_S_RDMA_READ_WRS: RDMA READ work requests posted
 * @ISER_S_PDU_OUT_RSP: SCSI Responses sent
 * @ISER_S_PDU_OUT_NOP_IN: NOP-In PDUs sent
 * @ISER_S_PDU_OUT_TMF: task management responses sent
 * @ISER_S_PDU_OUT_TEXT: text responses sent
 * @ISER_S_PDU_OUT_LOGOUT: logout responses sent
 * @ISER_S_PDU_OUT_REJECT: Reject PDUs sent
 * @ISER_S_PDU_OUT_LOGIN: login responses sent
 * @ISER_S_SQ_STALLS: times a command waited for send queue entries
 * @ISER_S_WC_FLUSHED: work requests flushed by a teardown
 * @ISER_S_WC_ERRORS: work requests that failed otherwise
 * @ISER_S_BAD_PDUS: PDUs refused as malformed or not allowed
 * @ISER_S_KEEPALIVE_PROBES: keepalive probes posted (iser_keepalive_fn())
 * @ISER_S_SEND_UNSIGNALLED: SCSI Responses posted without a completion
 * @ISER_S_SQ_MARKERS: completion markers posted behind unsignalled
 *	responses once ISER_SQ_MARK_MS passed without a post (iser_sq_mark_fn())
 * @ISER_S_DATA_PAGES_REUSED: data pages a READ or WRITE got from those its
 *	connection kept (iser_dbuf_give())
 * @ISER_S_DATA_PAGES_NEW: data pages the connection allocated for a READ or
 *	WRITE, none being kept
 * @ISER_S_MAX: number of counters
 */
enum iser_stat {
	ISER_S_PDU_LOGIN,
	ISER_S_PDU_SCSI_CMD,
	ISER_S_PDU_DATA_OUT,
	ISER_S_PDU_NOP_OUT,
	ISER_S_PDU_TMF,
	ISER_S_PDU_TEXT,
	ISER_S_PDU_LOGOUT,
	ISER_S_PDU_SNACK,
	ISER_S_BYTES_IN,
	ISER_S_CMD_READ,
	ISER_S_CMD_WRITE,
	ISER_S_CMD_NODATA,
	ISER_S_IMM_BYTES,
	ISER_S_IMM_LENT_BYTES,
	ISER_S_UNSOL_BYTES,
	ISER_S_RDMA_WRITE_BYTES,
	ISER_S_RDMA_READ_BYTES,
	ISER_S_RDMA_WRITE_WRS,
	ISER_S_RDMA_READ_WRS,
	ISER_S_PDU_OUT_RSP,
	ISER_S_PDU_OUT_NOP_IN,
	ISER_S_PDU_OUT_TMF,
	ISER_S_PDU_OUT_TEXT,
	ISER_S_PDU_OUT_LOGOUT,
	ISER_S_PDU_OUT_REJECT,
	ISER_S_PDU_OUT_LOGIN,
	ISER_S_SQ_STALLS,
	ISER_S_WC_FLUSHED,
	ISER_S_WC_ERRORS,
	ISER_S_BAD_PDUS,
	ISER_S_KEEPALIVE_PROBES,
	ISER_S_SEND_UNSIGNALLED,
	ISER_S_SQ_MARKERS,
	ISER_S_DATA_PAGES_REUSED,
	ISER_S_DATA_PAGES_NEW,
	ISER_S_MAX
};

/* Work completion statuses counted one by one (IB_WC_SUCCESS..GENERAL_ERR). */
#define ISER_WC_STATUSES	(IB_WC_GENERAL_ERR + 1)

/**
 * struct iser_stats - one CPU's counters, or their sum
 * @v: indexed by enum iser_stat
 * @wc: failed work completions by status
 */
struct iser_stats {
	u64 v[ISER_S_MAX];
	u64 wc[ISER_WC_STATUSES];
};

/* Counting is on unless the module was loaded with stats=0. */
DECLARE_STATIC_KEY_TRUE(iser_stats_key);
#define iser_stats_on()			static_branch_likely(&iser_stats_key)

#define iser_stat_add(conn, s, n)				\
	do {							\
		if (iser_stats_on())				\
			this_cpu_add((conn)->stats->v[s], (n));	\
	} while (0)
#define iser_stat_inc(conn, s)		iser_stat_add(conn, s, 1)

extern unsigned int iser_max_io_bytes;
extern unsigned int iser_queue_depth;
extern unsigned int iser_login_stall_ms;
extern unsigned int iser_keepalive_secs;
extern bool iser_use_srq;
extern unsigned int iser_srq_size;
extern unsigned int iser_data_cache_kib;
extern struct workqueue_struct *iser_wq;
/* Named caches, so that /proc/slabinfo shows what connections hold. */
extern struct kmem_cache *iser_conn_cache;
extern struct kmem_cache *iser_hdr_cache;
extern struct kmem_cache *iser_tx_cache;

/**
 * struct iser_device - what the module keeps of an RDMA device, from the
 * ib_client's add until its remove, which alone frees it
 * @ib_dev: the device
 * @pd: protection domain shared by all connections on it; allocated for
 *	the first connection (under iser_dev_lock)
 * @ref: one held by the ib_client until removal starts, one per
 *	connection; the last put completes @unused
 * @unused: iser_ib_remove() waits for it before freeing the device
 * @conn_lock: protects @conns, @removing and @retired
 * @conns: connections on the device, from their publication in
 *	iser_connect_request() until their release
 * @removing: the device is going away; no connection joins @conns
 * @sie_capable: the device can invalidate remote keys on receive
 * @retired: counters of the connections already freed
 * @debugfs: the device's statistics directory, from the first connection
 * @srq: shared receive queue, made for the first connection that asked
 *	for one (use_srq) and kept until the device goes; set once, under
 *	iser_dev_lock, read with smp_load_acquire()
 * @srq_bufs: its receive buffers, each always posted but while its
 *	completion runs
 * @srq_count: buffers in @srq_bufs
 * @srq_pages: data pages of each
 * @srq_unsupported: the device cannot have @srq; not tried again (under
 *	iser_dev_lock)
 */
struct iser_device {
	struct ib_device *ib_dev;
	struct ib_pd *pd;
	struct kref ref;
	struct completion unused;
	struct mutex conn_lock;	/* conns, removing, retired */
	struct list_head conns;
	bool removing;
	bool sie_capable;
	struct iser_stats retired;
	struct dentry *debugfs;
	struct ib_srq *srq;
	struct iser_buf *srq_bufs;
	u32 srq_count;
	u32 srq_pages;
	bool srq_unsupported;
};

/**
 * enum iser_conn_state - life of an iSER connection; it only moves forward
 * @ISER_CONN_CONNECTING: connect request accepted; waiting for the CM to
 *	report the connection established
 * @ISER_CONN_ESTABLISHED: established; waiting for the first Login Request,
 *	unless it came before the CM's event (@login_ready)
 * @ISER_CONN_PENDING: both arrived, waiting for the iSCSI login thread
 * @ISER_CONN_LOGIN: bound to an iSCSI connection, login in progress
 * @ISER_CONN_FULL: full feature phase
 * @ISER_CONN_CLOSING: disconnect started, work requests being flushed
 * @ISER_CONN_CLOSED: queue pair drained; only freeing is left
 */
enum iser_conn_state {
	ISER_CONN_CONNECTING,
	ISER_CONN_ESTABLISHED,
	ISER_CONN_PENDING,
	ISER_CONN_LOGIN,
	ISER_CONN_FULL,
	ISER_CONN_CLOSING,
	ISER_CONN_CLOSED,
};

/**
 * enum iser_wr_kind - what a work request did, for logs and traces
 * @ISER_WR_LOGIN_RECV: receive of a Login Request
 * @ISER_WR_LOGIN_SEND: send of a Login Response
 * @ISER_WR_RECV: receive in the full feature phase
 * @ISER_WR_SEND: send of a response PDU
 * @ISER_WR_RDMA_READ: RDMA READ of a WRITE's data
 * @ISER_WR_RDMA_WRITE: RDMA WRITE of a READ's data
 * @ISER_WR_KEEPALIVE: zero-length RDMA WRITE probing an idle connection
 * @ISER_WR_SQ_MARKER: zero-length RDMA WRITE whose completion stands for
 *	unsignalled responses before it
 */
enum iser_wr_kind {
	ISER_WR_LOGIN_RECV,
	ISER_WR_LOGIN_SEND,
	ISER_WR_RECV,
	ISER_WR_SEND,
	ISER_WR_RDMA_READ,
	ISER_WR_RDMA_WRITE,
	ISER_WR_KEEPALIVE,
	ISER_WR_SQ_MARKER,
};

/**
 * struct iser_dbuf - data pages a connection gave the command of one tag
 * @sgl: their scatterlist: @one, or an array for more than one page; NULL
 *	when the tag holds none
 * @nents: pages in @sgl
 * @one: the scatterlist of a one-page command
 */
struct iser_dbuf {
	struct scatterlist *sgl;
	u32 nents;
	struct scatterlist one;
};

/**
 * struct iser_buf - a DMA-mapped buffer built from a small header slot and
 * whole pages, so that no receive or login buffer is a high-order allocation
 * @cqe: completion entry of the work request that uses the buffer
 * @sge: scatter/gather list describing @segs to the device
 * @segs: CPU view of the same pieces
 * @nsegs: pieces in use
 * @size: total bytes
 * @cpu_len: leading bytes the CPU owns until iser_rx_buf_for_device()
 * @tail: the last piece is the header slot's unused end (see
 *	ISER_RX_HDR_SLOT), not a page of its own
 * @sgl: with @tail, one entry per data page, set up when the ring is
 *	allocated: what a WRITE's immediate data is lent to the target core
 *	as (iser_rx_lend()); else NULL
 * @sgl_end: entries of @sgl up to its end mark: as many as the last lend
 *	used, all of them before the first
 * @rwr: receive work request, linked while the buffer waits for its
 *	connection's next batch of reposts
 */
struct iser_buf {
	struct ib_cqe cqe;
	struct ib_sge sge[ISER_RX_MAX_SGE];
	struct iser_seg segs[ISER_RX_MAX_SGE];
	unsigned int nsegs;
	u32 size;
	u32 cpu_len;
	bool tail;
	struct scatterlist *sgl;
	u32 sgl_end;
	struct ib_recv_wr rwr;
};

struct iser_np;

/**
 * struct iser_conn - one iSER connection
 * @cm_id: RDMA CM identifier; destroyed only by iser_conn_release()
 * @qp: queue pair
 * @cq: completion queue from the device's CQ pool
 * @cq_size: entries taken from the pool
 * @dev: the RDMA device
 * @np: the listener this connection arrived on
 * @iconn: iSCSI connection, once the login thread took this one
 * @ref: references: CM side, iSCSI side, work in flight
 * @lock: protects @state, the login hand-off (@login_ready, @login_more,
 *	@login_len), @core_calls and the Text task (@text_task, @text_state,
 *	@text_cont). @login_final and @logout_posted are not under it: each
 *	goes from false to true once and is read with READ_ONCE()
 * @state: see enum iser_conn_state
 * @np_node: entry in the listener's connecting or pending list (under the
 *	listener's lock)
 * @node: entry in the device's @conns (under its @conn_lock)
 * @state_wq: woken when @state or the login hand-off changes
 * @login_rx: login request buffer (receive)
 * @login_tx: login response buffer (send)
 * @login_len: bytes of the last received login request
 * @login_ready: a login request waits for iser_get_login_rx()
 * @login_more: the login continues; the next request runs conn->login_work
 * @login_final: the core completed the login; the final response goes out
 *	once the full feature phase is set up (set once)
 * @login_start: when the login thread took the connection
 * @login_asked: when the last non-final login response was posted
 * @login_armed: with @srq, a login request may come (what posting
 *	@login_rx means without one); under @lock
 * @srq: the device's shared receive queue this connection's queue pair
 *	takes its receives from, or NULL for a receive ring of its own
 * @rx: receive ring of the full feature phase
 * @rx_count: descriptors in @rx
 * @rx_pages: data pages per descriptor
 * @rx_batch: consumed descriptors reposted with one post call
 * @rx_sgl: the descriptors' @sgl entries, in one allocation
 * @rx_lock: protects @rx_held, @rx_held_count and @rx_closed: descriptors
 *	come back from receive completions and, once lent, from the release
 *	of their command
 * @rx_held: consumed descriptors waiting for that post, linked by their
 *	@rwr
 * @rx_held_count: descriptors on @rx_held
 * @rx_bad_wr: where reposts name a failed work request, under @rx_lock;
 *	unread, as @sq_bad_wr
 * @rx_closed: the queue pair is being drained: nothing is posted any more
 * @max_recv_data: largest data segment the target accepts
 * @tx_slots: send header slots, one per session tag
 * @tx_dma: DMA addresses of @tx_slots
 * @tx_count: number of slots
 * @dpool_lock: protects @dpool and @dpool_count
 * @dpool: data pages kept for the next commands, a stack of @dpool_cap
 * @dpool_count: pages on @dpool
 * @dpool_cap: most pages @dpool holds; 0 once the connection is released
 * @dbufs: data pages given to commands, by session tag (iser_data.c); NULL
 *	when the core allocates them
 * @dbuf_count: entries of @dbufs
 * @sq_lock: protects @sq_avail, @sq_ctrl, @sq_wait, @sq_closed and the
 *	unsignalled responses' fields below
 * @sq_avail: send queue entries free for data transfers
 * @sq_ctrl: send queue entries free for control PDUs
 * @sq_wait: commands waiting for send queue entries, in order
 * @sq_size: send queue entries data transfers can use at most
 * @sq_closed: teardown began: nothing is posted any more. The posting
 *	path's view of CLOSING, under @sq_lock so that a post and the close
 *	are ordered without @lock on the I/O path
 * @sq_unsig: the oldest SCSI Response posted unsignalled and not yet
 *	released; the others follow it by their @unsig_next, in posting order
 * @sq_unsig_last: the latest one, NULL when @sq_unsig is
 * @sq_bad_wr: where the send path's posts name a failed work request
 *	(iser_post_send_wrs()); nothing reads it: a failed post fails the
 *	connection
 * @sq_seq: number of the latest numbered send post
 * @sq_run: unsignalled responses posted since the last signalled send
 * @sq_mark: posts a completion marker behind unsignalled responses once
 *	ISER_SQ_MARK_MS passed without a post
 * @sq_mark_cqe: completion of the marker
 * @sq_mark_seq: the marker's send number
 * @sq_arm_seq: @sq_seq when @sq_mark was armed: unchanged when it runs
 *	means nothing was posted meanwhile
 * @sq_mark_armed: @sq_mark is queued
 * @sq_mark_posted: a marker is in flight
 * @max_rx_pages: data pages a receive may scatter to on this queue pair
 * @rq_size: receive queue entries of the queue pair
 * @hdr_scratch: contiguous copy of a BHS whose AHS overflows the header slot
 * @logout_posted: a Logout Response was posted; teardown waits for it
 *	(set once)
 * @use_sie: answer with Send with Invalidate
 * @discovery: the session is a discovery session (SessionType), kept
 *	for the full feature phase's check of every PDU
 * @initiator_depth: RDMA READs the target may have outstanding
 * @release_work: final teardown, off the CM handler's context
 * @login_deadline: drops the connection if its first Login Request, or
 *	then its whole login, does not come in time
 * @core_calls: iser_conn_fail() calls into the iSCSI connection in flight
 *	(under @lock); iser_wait_conn() waits for none before the core frees it
 * @spare_task: a task kept aside to answer an immediate PDU with a Reject
 *	when the session has no free task; taken and refilled only in
 *	completion context, released by iser_wait_conn() after the drain
 * @text_task: the Text task the initiator may continue, or NULL
 * @text_state: where @text_task stands
 * @text_cont: the header of a continuation that came early
 * @keepalive: probes the connection once it received nothing for
 *	keepalive_secs (iser_keepalive_fn())
 * @ka_cqe: completion of the probe
 * @ka_posted: a probe is in flight (under @sq_lock)
 * @ka_heard: @heard when the keepalive last looked
 * @heard: completions that prove the initiator alive: PDUs received, and
 *	sends and RDMA READs it acknowledged (written in completion context
 *	only: one CQ, polled by one context at a time)
 * @stats: per-CPU counters
 * @outstanding: SCSI commands received and not yet released
 * @outstanding_max: high-water mark of @outstanding
 * @close_reason: why the connection is closing, set once
 * @initiator: initiator name, once logged in
 * @target: target name, once logged in
 * @cid: the iSCSI connection ID, kept for the statistics entry, which
 *	outlives the iSCSI connection
 * @debugfs: the connection's statistics directory
 */
struct iser_conn {
	struct rdma_cm_id *cm_id;
	struct ib_qp *qp;
	struct ib_cq *cq;
	u32 cq_size;
	struct iser_device *dev;
	struct iser_np *np;
	struct iscsit_conn *iconn;
	struct kref ref;

	spinlock_t lock;	/* state, login hand-off, core_calls, text */
	enum iser_conn_state state;
	struct list_head np_node;
	struct list_head node;
	wait_queue_head_t state_wq;

	struct iser_buf login_rx;
	struct iser_buf login_tx;
	u32 login_len;
	bool login_ready;
	bool login_more;
	bool login_final;
	unsigned long login_start;
	unsigned long login_asked;
	bool login_armed;
	struct ib_srq *srq;

	struct iser_buf *rx;
	u32 rx_count;
	u32 rx_pages;
	u32 rx_batch;
	struct scatterlist *rx_sgl;
	spinlock_t rx_lock;	/* rx_held, rx_held_count, rx_closed */
	struct ib_recv_wr *rx_held;
	u32 rx_held_count;
	const struct ib_recv_wr *rx_bad_wr;
	bool rx_closed;
	u32 max_recv_data;

	void **tx_slots;
	u64 *tx_dma;
	u32 tx_count;

	spinlock_t dpool_lock;	/* dpool, dpool_count */
	struct page **dpool;
	u32 dpool_count;
	u32 dpool_cap;
	struct iser_dbuf *dbufs;
	u32 dbuf_count;

	spinlock_t sq_lock;	/* sq_avail, sq_ctrl, sq_wait, sq_closed */
	int sq_avail;
	int sq_ctrl;
	struct list_head sq_wait;
	u32 sq_size;
	bool sq_closed;
	struct iser_cmd *sq_unsig;
	struct iser_cmd *sq_unsig_last;
	const struct ib_send_wr *sq_bad_wr;
	u32 sq_seq;
	u32 sq_run;
	struct delayed_work sq_mark;
	struct ib_cqe sq_mark_cqe;
	u32 sq_mark_seq;
	u32 sq_arm_seq;
	bool sq_mark_armed;
	bool sq_mark_posted;

	u32 max_rx_pages;
	u32 rq_size;
	void *hdr_scratch;
	bool logout_posted;
	bool use_sie;
	bool discovery;
	u8 initiator_depth;
	struct work_struct release_work;
	struct delayed_work login_deadline;
	int core_calls;

	struct iscsit_cmd *spare_task;
	struct iscsit_cmd *text_task;
	enum iser_text_state text_state;
	u8 text_cont[ISCSI_HDR_LEN];

	struct delayed_work keepalive;
	struct ib_cqe ka_cqe;
	bool ka_posted;
	u32 ka_heard;
	u32 heard;
	struct iser_stats __percpu *stats;
	atomic_t outstanding;
	int outstanding_max;
	const char *close_reason;
	char initiator[ISCSI_IQN_LEN];
	char target[ISCSI_IQN_LEN];
	u16 cid;
	struct dentry *debugfs;
};

/**
 * enum iser_post - what a command posts once it has send queue entries
 * @ISER_POST_SEND: a response or other control PDU
 * @ISER_POST_DATA_IN: RDMA WRITEs of read data chained to the response
 * @ISER_POST_DATA_OUT: RDMA READs of write data
 */
enum iser_post {
	ISER_POST_SEND,
	ISER_POST_DATA_IN,
	ISER_POST_DATA_OUT,
};

/**
 * struct iser_cmd - per-command transport state, in the iSCSI command's
 * private area
 * @conn: the connection
 * @icmd: the iSCSI command this belongs to
 * @pdu: decoded headers of the command PDU (STags, addresses)
 * @rw: RDMA READ/WRITE context of the data transfer
 * @rw_ops: work requests @rw posts; zero when no context exists
 * @rw_dir: the direction @rw mapped the data pages with
 * @send_cqe: completion of the response SEND
 * @rw_cqe: completion of the RDMA READs
 * @rdma_err_cqe: error completion of the unsignalled RDMA work requests
 * @send_wr: the response SEND
 * @sge: its gather list: header slot, then an optional payload
 * @payload_dma: DMA address of a mapped payload, or 0
 * @payload_len: its length
 * @credits: send queue entries this command holds
 * @post: what to post when it waits for send queue entries
 * @wait_node: entry in the connection's send queue wait list
 * @unsig_next: the next unsignalled response, once on its connection's
 *	@sq_unsig
 * @sq_seq: send number of the command's SEND (under the conn's @sq_lock)
 * @unsig: the SEND was posted unsignalled and the command is on @sq_unsig
 * @ctrl: the command is a control PDU (may use the control reserve)
 * @ctrl_work: runs the core's logout handling off the completion context
 * @nopin_holds: a NOP-In that asks for a reply is released by the later of
 *	its send completion and the core's removal once the reply came (the
 *	reply may be received before the send completes); zero otherwise
 * @start_ns: when the SCSI command arrived, for its latency; 0 when the
 *	iser_cmd_done tracepoint was off then
 * @rsp_ns: when its response was posted, if @start_ns is set; 0 before
 * @tas_status: the status is the core's TASK ABORTED answer to an abort
 *	from another I_T nexus; the core then drops the reference that a
 *	completed WRITE's status would drop
 * @counted: the command started: its completion is traced (and, with
 *	statistics on, counted off the outstanding ones)
 * @rx_lent: the receive descriptor whose pages hold this WRITE's data, until
 *	iser_rx_return() gives it back to the receive queue
 * @dbuf: the record of the data pages the connection gave the command,
 *	until iser_dbuf_return()
 */
struct iser_cmd {
	struct iser_conn *conn;
	struct iscsit_cmd *icmd;
	struct iser_pdu_info pdu;
	struct rdma_rw_ctx rw;
	u32 rw_ops;
	enum dma_data_direction rw_dir;
	struct ib_cqe send_cqe;
	struct ib_cqe rw_cqe;
	struct ib_cqe rdma_err_cqe;
	struct ib_send_wr send_wr;
	struct ib_sge sge[2];
	u64 payload_dma;
	u32 payload_len;
	u32 credits;
	enum iser_post post;
	struct list_head wait_node;
	struct iser_cmd *unsig_next;
	u32 sq_seq;
	bool unsig;
	bool ctrl;
	struct work_struct ctrl_work;
	atomic_t nopin_holds;
	u64 start_ns;
	u64 rsp_ns;
	bool tas_status;
	bool counted;
	struct iser_buf *rx_lent;
	struct iser_dbuf *dbuf;
};

/**
 * struct iser_np - an iSER listener for one iSCSI network portal
 * @np: the iSCSI network portal
 * @cm_id: listening RDMA CM identifier, NULL while the device is gone
 * @lock: protects @cm_id, the lists and @stopping
 * @connecting: connections accepted, not yet established or still without
 *	a Login Request
 * @pending: connections with a Login Request, waiting for iser_accept_np()
 * @prelogin: connections on @connecting and @pending
 * @logins: connections the login thread took whose login is not over
 * @accept_wq: woken when @pending grows or the portal stops
 * @node: entry in the global listener list
 * @relisten_work: re-creates @cm_id after its device went away
 * @stopping: iser_free_np() started
 * @ref: one for the portal, one per connection that arrived on it: a
 *	connection's receive completion may still take @lock after
 *	iser_free_np() dropped it, until the connection is released
 */
struct iser_np {
	struct kref ref;
	struct iscsi_np *np;
	struct rdma_cm_id *cm_id;
	struct mutex lock;	/* cm_id, the lists, stopping */
	struct list_head connecting;
	struct list_head pending;
	unsigned int prelogin;
	atomic_t logins;
	wait_queue_head_t accept_wq;
	struct list_head node;
	struct delayed_work relisten_work;
	bool stopping;
};

static inline struct iser_cmd *iser_cmd(struct iscsit_cmd *icmd)
{
	return iscsit_priv_cmd(icmd);
}

/* iser_main.c */
struct iser_device *iser_device_get(struct ib_device *ib_dev);
void iser_device_put(struct iser_device *dev);

/* iser_cm.c */
int iser_setup_np(struct iscsi_np *np, struct sockaddr_storage *addr);
int iser_accept_np(struct iscsi_np *np, struct iscsit_conn *iconn);
void iser_free_np(struct iscsi_np *np);
void iser_wait_conn(struct iscsit_conn *iconn);
void iser_login_wait_started(struct iser_conn *conn);
void iser_free_conn(struct iscsit_conn *iconn);
bool iser_conn_set_state(struct iser_conn *conn, enum iser_conn_state to);
const char *iser_conn_state_name(enum iser_conn_state state);
void iser_conn_fail(struct iser_conn *conn, const char *why);
void iser_wc_failed(struct iser_conn *conn, struct ib_wc *wc,
		    enum iser_wr_kind kind);
void iser_device_stats(struct iser_device *dev, struct iser_stats *sum);
void iser_conn_put(struct iser_conn *conn);
void iser_np_device_added(void);
void iser_device_removed(struct iser_device *dev);

/* iser_stats.c */
void iser_stats_sum(struct iser_stats __percpu *pcpu, struct iser_stats *sum);
void iser_stats_conn_add(struct iser_conn *conn);
void iser_stats_conn_del(struct iser_conn *conn);
void iser_stats_dev_add(struct iser_device *dev);
void iser_stats_dev_del(struct iser_device *dev);
void iser_stats_init(void);
void iser_stats_exit(void);

/*
 * ib_post_send() and ib_post_recv() without their fallback for a NULL
 * @bad_wr: that fallback is a variable on the stack, and its address costs
 * every function that posts a stack-protector check. The I/O path passes
 * a field of its connection instead.
 */
static __always_inline int iser_post_send_wrs(struct ib_qp *qp,
					      const struct ib_send_wr *wr,
					      const struct ib_send_wr **bad_wr)
{
	return qp->device->ops.post_send(qp, wr, bad_wr);
}

static __always_inline int iser_post_recv_wrs(struct ib_qp *qp,
					      const struct ib_recv_wr *wr,
					      const struct ib_recv_wr **bad_wr)
{
	return qp->device->ops.post_recv(qp, wr, bad_wr);
}

/* iser_buf.c */
int iser_buf_alloc(struct iser_device *dev, struct iser_buf *buf,
		   u32 hdr_len, u32 npages, bool tail,
		   enum dma_data_direction dir);
void iser_buf_free(struct iser_device *dev, struct iser_buf *buf,
		   enum dma_data_direction dir);
void iser_rx_buf_sync(struct iser_device *dev, struct iser_buf *buf, u32 len,
		      bool for_device);

/**
 * iser_rx_buf_for_cpu() - hand the received part of a buffer to the CPU
 * @dev: the device it is mapped for
 * @buf: a receive or login request buffer
 * @len: bytes the receive wrote; iser_rx_buf_for_device() gives the same
 *	bytes back
 *
 * Inline, as its twin: once per PDU, and a device without DMA mapping
 * (Soft-RoCE, Soft-iWARP) has nothing to sync.
 */
static inline void iser_rx_buf_for_cpu(struct iser_device *dev,
				       struct iser_buf *buf, u32 len)
{
	buf->cpu_len = min(len, buf->size);
	if (!ib_uses_virt_dma(dev->ib_dev))
		iser_rx_buf_sync(dev, buf, buf->cpu_len, false);
}

/**
 * iser_rx_buf_for_device() - hand a receive buffer back to the device
 *	before it is posted
 * @dev: the device it is mapped for
 * @buf: a receive or login request buffer
 */
static inline void iser_rx_buf_for_device(struct iser_device *dev,
					  struct iser_buf *buf)
{
	if (!ib_uses_virt_dma(dev->ib_dev))
		iser_rx_buf_sync(dev, buf, buf->cpu_len, true);
	buf->cpu_len = 0;
}

int iser_rx_ring_alloc(struct iser_conn *conn, u32 count, u32 max_data);
void iser_rx_ring_free(struct iser_conn *conn);
int iser_tx_slots_alloc(struct iser_conn *conn, u32 count);
void iser_tx_slots_free(struct iser_conn *conn);

/* iser_srq.c */
int iser_srq_create(struct iser_device *dev);
void iser_srq_destroy(struct iser_device *dev);
int iser_srq_post(struct iser_device *dev, struct iser_buf *buf);

/* iser_login.c */
void iser_login_srq_recv(struct iser_conn *conn, struct iser_buf *buf,
			 u32 len);
int iser_get_login_rx(struct iscsit_conn *iconn, struct iscsi_login *login);
int iser_put_login_tx(struct iscsit_conn *iconn, struct iscsi_login *login,
		      u32 length);
int iser_post_login_recv(struct iser_conn *conn);
void iser_get_rx_pdu(struct iscsit_conn *iconn);

/* iser_rx.c */
/* What receiving a PDU returns when its command keeps the buffer. */
#define ISER_RX_LENT	1
int iser_post_recv(struct iser_conn *conn, struct iser_buf *buf);
int iser_post_rx_ring(struct iser_conn *conn);
void iser_rx_close(struct iser_conn *conn);
void __iser_rx_return(struct iser_cmd *cmd);
void iser_srq_recv_done(struct ib_cq *cq, struct ib_wc *wc);
void iser_spare_fill(struct iser_conn *conn);
void iser_text_sent(struct iser_conn *conn, struct iscsit_cmd *icmd, bool more);
void iser_text_send_done(struct iser_conn *conn, struct iscsit_cmd *icmd);
void __iser_text_forget(struct iser_conn *conn, struct iscsit_cmd *icmd);

/**
 * iser_text_forget() - a task is being released
 * @conn: its connection
 * @icmd: the task; if it is the Text task, the connection has none now
 *
 * Inline: it is called for every command, and almost none is that task.
 */
static inline void iser_text_forget(struct iser_conn *conn,
				    struct iscsit_cmd *icmd)
{
	if (READ_ONCE(conn->text_task) == icmd)
		__iser_text_forget(conn, icmd);
}

/* See __iser_rx_return(); most commands never hold a descriptor. */
static inline void iser_rx_return(struct iser_cmd *cmd)
{
	if (READ_ONCE(cmd->rx_lent))
		__iser_rx_return(cmd);
}

/* iser_data.c */
int iser_dbufs_alloc(struct iser_conn *conn, u32 count, u32 cap);
void iser_dbufs_free(struct iser_conn *conn);
void iser_dbufs_trim(struct iser_conn *conn);
bool iser_dbuf_give(struct iser_conn *conn, struct iscsit_cmd *icmd);
void __iser_dbuf_return(struct iser_cmd *cmd);

/* See __iser_dbuf_return(); only READs and WRITEs hold pages. */
static inline void iser_dbuf_return(struct iser_cmd *cmd)
{
	if (READ_ONCE(cmd->dbuf))
		__iser_dbuf_return(cmd);
}

/* iser_tx.c */
int iser_queue_data_in(struct iscsit_conn *iconn, struct iscsit_cmd *icmd);
int iser_queue_status(struct iscsit_conn *iconn, struct iscsit_cmd *icmd);
int iser_get_dataout(struct iscsit_conn *iconn, struct iscsit_cmd *icmd,
		     bool recovery);
int iser_immediate_queue(struct iscsit_conn *iconn, struct iscsit_cmd *icmd,
			 int state);
int iser_response_queue(struct iscsit_conn *iconn, struct iscsit_cmd *icmd,
			int state);
void iser_aborted_task(struct iscsit_conn *iconn, struct iscsit_cmd *icmd);
void iser_unmap_cmd(struct iscsit_conn *iconn, struct iscsit_cmd *icmd);
void iser_cmd_put(struct iser_cmd *cmd);
void iser_cmd_unlist(struct iscsit_conn *iconn, struct iscsit_cmd *icmd);
void iser_sq_close(struct iser_conn *conn);
void iser_np_login_arrived(struct iser_conn *conn);
void iser_sq_flush(struct iser_conn *conn);
void iser_sq_init(struct iser_conn *conn);
void iser_free_rejected_writes(struct iser_conn *conn);
void iser_list_unsent_rejects(struct iser_conn *conn);
void iser_keepalive_start(struct iser_conn *conn);
void iser_keepalive_fn(struct work_struct *work);

/* The initiator answered: see @heard and iser_keepalive_fn(). */
static inline void iser_heard(struct iser_conn *conn)
{
	WRITE_ONCE(conn->heard, conn->heard + 1);
}

#endif /* ISER_H */
