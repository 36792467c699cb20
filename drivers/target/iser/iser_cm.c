// SPDX-License-Identifier: GPL-2.0
/*
 * iser_target: RDMA CM listeners and the life of a connection, from the
 * connect request to the last free.
 *
 * Ownership of a connection is single and explicit. Until the iSCSI login
 * thread takes it (iser_accept_np()), whoever removes it from its
 * listener's list releases it. After that, the iSCSI core owns it and
 * releases it through iser_free_conn(). The final release always runs on
 * iser_wq, never in a CM handler, because it destroys the CM identifier.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/delay.h>
#include <rdma/ib_cm.h>
#include <linux/sched/signal.h>
#include <target/target_core_base.h>
#include <target/target_core_fabric.h>

#include "iser.h"
#include "iser_trace.h"

/* How often a listener whose device vanished tries to come back. */
#define ISER_RELISTEN_DELAY	(2 * HZ)
#define ISER_LISTEN_BACKLOG	128
/*
 * A connection is handed to the portal's single login thread only once its
 * first Login Request is in, so idle connects cannot hold that thread; one
 * that sends none in this time is dropped. Each portal holds at most
 * ISER_MAX_PRELOGIN connections before their login (each has a full-size
 * queue pair already); when full, the oldest one still without a Login
 * Request makes room for a new one, so idle connects cannot lock out an
 * initiator that logs in at once.
 */
#define ISER_PRELOGIN_TIMEOUT	(15 * HZ)
#define ISER_MAX_PRELOGIN	256
/*
 * The whole login, from the first Login Request to the final response, and
 * the wait for the login thread before it. LIO times out only the exchanges
 * it waits for itself, and before Linux 6.4 not the wait for an initiator
 * that stalls between two requests.
 */
#define ISER_LOGIN_TIMEOUT	(30 * HZ)

static DEFINE_MUTEX(iser_np_list_lock);
static LIST_HEAD(iser_np_list);

/* The same names as the trace events print: see iser_trace.h. */
static const char * const iser_state_names[] = {
	[ISER_CONN_CONNECTING]	= "connecting",
	[ISER_CONN_ESTABLISHED]	= "established",
	[ISER_CONN_PENDING]	= "pending",
	[ISER_CONN_LOGIN]	= "login",
	[ISER_CONN_FULL]	= "full-feature",
	[ISER_CONN_CLOSING]	= "closing",
	[ISER_CONN_CLOSED]	= "closed",
};

static const char * const iser_wr_kind_names[] = {
	[ISER_WR_LOGIN_RECV]	= "login receive",
	[ISER_WR_LOGIN_SEND]	= "login response send",
	[ISER_WR_RECV]		= "receive",
	[ISER_WR_SEND]		= "send",
	[ISER_WR_RDMA_READ]	= "RDMA READ of write data",
	[ISER_WR_RDMA_WRITE]	= "RDMA WRITE of read data",
	[ISER_WR_KEEPALIVE]	= "keepalive probe",
	[ISER_WR_SQ_MARKER]	= "completion marker",
};

/* Allowed transitions: each state lists the states it may move to. */
static const u8 iser_next_states[] = {
	[ISER_CONN_CONNECTING]	= BIT(ISER_CONN_ESTABLISHED) | BIT(ISER_CONN_CLOSING),
	[ISER_CONN_ESTABLISHED]	= BIT(ISER_CONN_PENDING) | BIT(ISER_CONN_CLOSING),
	[ISER_CONN_PENDING]	= BIT(ISER_CONN_LOGIN) | BIT(ISER_CONN_CLOSING),
	[ISER_CONN_LOGIN]	= BIT(ISER_CONN_FULL) | BIT(ISER_CONN_CLOSING),
	[ISER_CONN_FULL]	= BIT(ISER_CONN_CLOSING),
	[ISER_CONN_CLOSING]	= BIT(ISER_CONN_CLOSED),
	[ISER_CONN_CLOSED]	= 0,
};

/**
 * iser_conn_state_name() - name of a connection state
 * @state: the state
 *
 * Return: a constant string.
 */
const char *iser_conn_state_name(enum iser_conn_state state)
{
	if ((unsigned int)state >= ARRAY_SIZE(iser_state_names))
		return "unknown";
	return iser_state_names[state];
}

/*
 * The one writer of conn->state, called with conn->lock held: moves @conn
 * to @to if the table allows it, and says from where in *@from. The
 * caller then calls iser_conn_moved() without the lock.
 */
static bool iser_conn_move_locked(struct iser_conn *conn,
				  enum iser_conn_state to,
				  enum iser_conn_state *from)
{
	lockdep_assert_held(&conn->lock);
	*from = conn->state;
	if (!(iser_next_states[*from] & BIT(to)))
		return false;
	WRITE_ONCE(conn->state, to);
	return true;
}

/* What follows every move: the login count, the trace, the waiters. */
static void iser_conn_moved(struct iser_conn *conn, enum iser_conn_state from,
			    enum iser_conn_state to)
{
	if (from == ISER_CONN_LOGIN)
		atomic_dec(&conn->np->logins);
	trace_iser_conn_state(conn, from, to);
	pr_debug("conn %p %s -> %s\n", conn, iser_state_names[from],
		 iser_state_names[to]);
	wake_up_all(&conn->state_wq);
}

/**
 * iser_conn_set_state() - move a connection to a new state, if allowed
 * @conn: the connection
 * @to: the state to move to
 *
 * Return: true if the connection is now in @to, false if the move is not
 * allowed from its current state (it is then left unchanged).
 */
bool iser_conn_set_state(struct iser_conn *conn, enum iser_conn_state to)
{
	enum iser_conn_state from;
	unsigned long flags;
	bool ok;

	spin_lock_irqsave(&conn->lock, flags);
	ok = iser_conn_move_locked(conn, to, &from);
	spin_unlock_irqrestore(&conn->lock, flags);
	if (ok)
		iser_conn_moved(conn, from, to);
	return ok;
}

static void iser_np_free(struct kref *ref)
{
	kfree(container_of(ref, struct iser_np, ref));
}

static void iser_np_put(struct iser_np *inp)
{
	kref_put(&inp->ref, iser_np_free);
}

/*
 * Frees the queue pair, its CQ entries and the buffers of @conn: what
 * iser_connect_request() and the login set up. The CM identifier is gone,
 * or the QP was already detached from it with rdma_destroy_qp().
 */
static void iser_conn_free_queues(struct iser_conn *conn)
{
	struct iser_device *dev = conn->dev;

	if (conn->qp)
		ib_destroy_qp(conn->qp);
	if (conn->cq)
		ib_cq_pool_put(conn->cq, conn->cq_size);
	iser_rx_ring_free(conn);
	iser_tx_slots_free(conn);
	iser_dbufs_free(conn);
	iser_buf_free(dev, &conn->login_rx, DMA_FROM_DEVICE);
	iser_buf_free(dev, &conn->login_tx, DMA_TO_DEVICE);
	kfree(conn->hdr_scratch);
}

static void iser_conn_release(struct work_struct *work)
{
	struct iser_conn *conn = container_of(work, struct iser_conn,
					      release_work);
	struct iser_device *dev = conn->dev;

	cancel_delayed_work_sync(&conn->login_deadline);
	cancel_delayed_work_sync(&conn->keepalive);
	cancel_delayed_work_sync(&conn->sq_mark);
	/* First: a reader of the entry looks at the CM identifier. */
	iser_stats_conn_del(conn);
	/*
	 * The last reference may go in any state: a connection refused
	 * before the login thread saw it never went through CLOSING.
	 */
	if (READ_ONCE(conn->state) < ISER_CONN_CLOSING)
		WARN_ON_ONCE(!iser_conn_set_state(conn, ISER_CONN_CLOSING));
	if (READ_ONCE(conn->state) < ISER_CONN_CLOSED)
		WARN_ON_ONCE(!iser_conn_set_state(conn, ISER_CONN_CLOSED));
	if (conn->qp) {
		iser_rx_close(conn);
		ib_drain_qp(conn->qp);
	}
	/* The CM identifier goes first: no event may find a freed QP. */
	rdma_destroy_id(conn->cm_id);
	iser_conn_free_queues(conn);
	/* Counters move to the device's totals with the list removal. */
	mutex_lock(&dev->conn_lock);
	iser_stats_sum(conn->stats, &dev->retired);
	list_del(&conn->node);
	mutex_unlock(&dev->conn_lock);
	free_percpu(conn->stats);
	iser_np_put(conn->np);
	pr_debug("conn %p released (%s)\n", conn, conn->close_reason ?: "-");
	kmem_cache_free(iser_conn_cache, conn);
	/* Last: a device being removed is freed once its connections are. */
	iser_device_put(dev);
}

static void iser_conn_kref_release(struct kref *ref)
{
	struct iser_conn *conn = container_of(ref, struct iser_conn, ref);

	queue_work(iser_wq, &conn->release_work);
}

/**
 * iser_conn_put() - drop a reference; the last one frees the connection
 * @conn: the connection
 */
void iser_conn_put(struct iser_conn *conn)
{
	kref_put(&conn->ref, iser_conn_kref_release);
}

static void iser_np_unlink(struct iser_conn *conn)
{
	struct iser_np *inp = conn->np;
	bool mine = false;

	mutex_lock(&inp->lock);
	if (!list_empty(&conn->np_node)) {
		list_del_init(&conn->np_node);
		inp->prelogin--;
		mine = true;
	}
	mutex_unlock(&inp->lock);
	if (mine)
		iser_conn_put(conn);
}

/**
 * iser_conn_fail() - start tearing a connection down
 * @conn: the connection
 * @why: the reason, a constant string shown in the statistics
 *
 * Safe to call any number of times from any context that may sleep.
 * Before the iSCSI login thread owns the connection it is released here;
 * during login the login code is woken so that the core drops it; in the
 * full feature phase the core is asked to reinstate the connection.
 */
void iser_conn_fail(struct iser_conn *conn, const char *why)
{
	enum iser_conn_state prev;
	bool queue_login = false;
	unsigned long flags;

	spin_lock_irqsave(&conn->lock, flags);
	if (!iser_conn_move_locked(conn, ISER_CONN_CLOSING, &prev)) {
		spin_unlock_irqrestore(&conn->lock, flags);
		return;
	}
	conn->close_reason = why;
	if (prev == ISER_CONN_LOGIN && conn->login_more) {
		conn->login_more = false;
		queue_login = true;
	}
	/* The iSCSI connection stays until iser_wait_conn() saw this end. */
	if (prev == ISER_CONN_LOGIN || prev == ISER_CONN_FULL)
		conn->core_calls++;
	spin_unlock_irqrestore(&conn->lock, flags);
	iser_conn_moved(conn, prev, ISER_CONN_CLOSING);
	trace_iser_conn_close(conn, why);
	pr_debug("conn %p failing: %s\n", conn, why);

	rdma_disconnect(conn->cm_id);

	switch (prev) {
	case ISER_CONN_CONNECTING:
	case ISER_CONN_ESTABLISHED:
	case ISER_CONN_PENDING:
		iser_np_unlink(conn);
		break;
	case ISER_CONN_LOGIN:
		/*
		 * The core waits for the next login PDU: let it see the end.
		 * Its work, on the queue where the core itself puts it.
		 */
		if (queue_login)
			schedule_delayed_work(&conn->iconn->login_work, 0);
		break;
	case ISER_CONN_FULL:
		iscsit_cause_connection_reinstatement(conn->iconn, 0);
		break;
	default:
		return;
	}
	if (prev == ISER_CONN_LOGIN || prev == ISER_CONN_FULL) {
		spin_lock_irqsave(&conn->lock, flags);
		if (!--conn->core_calls)
			wake_up_all(&conn->state_wq);
		spin_unlock_irqrestore(&conn->lock, flags);
	}
}

static bool iser_core_calls_done(struct iser_conn *conn)
{
	unsigned long flags;
	bool done;

	spin_lock_irqsave(&conn->lock, flags);
	done = !conn->core_calls;
	spin_unlock_irqrestore(&conn->lock, flags);
	return done;
}

/**
 * iser_wc_failed() - account for a failed work completion
 * @conn: the connection
 * @wc: the completion
 * @kind: the kind of work request, for the log line and the trace
 *
 * Flushes are the normal end of a teardown and only counted. A flush on a
 * connection nobody closes yet means the queue pair went to the error
 * state first: a peer's disconnect whose CM event is still on its way, or
 * a fatal QP event (logged by iser_qp_event()). Either way the connection
 * is closed. Any other failure is logged, traced and closes it too.
 */
void iser_wc_failed(struct iser_conn *conn, struct ib_wc *wc,
		    enum iser_wr_kind kind)
{
	const char *what = iser_wr_kind_names[kind];

	if (wc->status == IB_WC_WR_FLUSH_ERR) {
		iser_stat_inc(conn, ISER_S_WC_FLUSHED);
		if (READ_ONCE(conn->state) >= ISER_CONN_CLOSING)
			return;
		pr_debug("conn %p: %s flushed while open\n", conn, what);
		iser_conn_fail(conn, "the queue pair failed");
		return;
	}
	iser_stat_inc(conn, ISER_S_WC_ERRORS);
	if (iser_stats_on() && (unsigned int)wc->status < ISER_WC_STATUSES)
		this_cpu_inc(conn->stats->wc[wc->status]);
	trace_iser_wc_error(conn, kind, wc->status, wc->vendor_err);
	pr_warn_ratelimited("conn %p: %s failed: %s (vendor error 0x%x), dropping connection\n",
			    conn, what, ib_wc_status_msg(wc->status),
			    wc->vendor_err);
	iser_conn_fail(conn, ib_wc_status_msg(wc->status));
}

static void iser_qp_event(struct ib_event *ev, void *ctx)
{
	struct iser_conn *conn = ctx;

	pr_debug("conn %p QP event %s (%d)\n", conn, ib_event_msg(ev->event),
		 ev->event);
	switch (ev->event) {
	case IB_EVENT_COMM_EST:
		rdma_notify(conn->cm_id, ev->event);
		break;
	case IB_EVENT_QP_FATAL:
	case IB_EVENT_QP_REQ_ERR:
	case IB_EVENT_QP_ACCESS_ERR:
		/* Atomic context: the flushes that follow drop the connection. */
		pr_err_ratelimited("conn %p: fatal QP event %s\n",
				   conn, ib_event_msg(ev->event));
		break;
	default:
		break;
	}
}

static __iser_fault_point int iser_create_qp(struct iser_conn *conn)
{
	struct ib_device *ibd = conn->dev->ib_dev;
	struct ib_device_attr *a = &ibd->attrs;
	struct ib_qp_init_attr qa = {};
	u32 qd = READ_ONCE(iser_queue_depth);
	struct ib_srq *srq = NULL;
	u32 sq, rq, max_sge;
	int ret;

	if (READ_ONCE(iser_use_srq))
		/* Pairs with iser_srq_create(): its count and pages are set. */
		srq = smp_load_acquire(&conn->dev->srq);
	max_sge = min_t(u32, a->max_send_sge, ISER_MAX_SEND_SGE);
	sq = iser_sq_size(qd, iser_max_io_bytes, max_sge, PAGE_SIZE,
			  a->max_qp_wr) + ISER_SQ_CTRL_RESERVE + ISER_SQ_OUTSIDE;
	sq = min_t(u32, sq, a->max_qp_wr);
	/*
	 * Flushed work requests complete even when unsignaled. With a shared
	 * receive queue nothing bounds what one peer's sends consume of it
	 * but its size, and an overflow would fail every queue pair on the
	 * pooled CQ: room for all of it.
	 */
	if (srq)
		rq = conn->dev->srq_count;
	else
		rq = min_t(u32, iser_rx_ring_size(qd) + 1, a->max_qp_wr);
	conn->cq_size = min_t(u32, sq + 3 * qd + rq, a->max_cqe);

	conn->cq = ib_cq_pool_get(ibd, conn->cq_size, -1, IB_POLL_WORKQUEUE);
	if (IS_ERR(conn->cq)) {
		ret = PTR_ERR(conn->cq);
		conn->cq = NULL;
		return ret;
	}

	qa.event_handler = iser_qp_event;
	qa.qp_context = conn;
	qa.send_cq = conn->cq;
	qa.recv_cq = conn->cq;
	qa.cap.max_send_wr = sq;
	qa.cap.max_send_sge = max_sge;
	qa.srq = srq;
	if (!srq) {
		qa.cap.max_recv_wr = rq;
		qa.cap.max_recv_sge = min_t(u32, a->max_recv_sge, ISER_RX_MAX_SGE);
	}
	qa.cap.max_rdma_ctxs = qd;
	qa.sq_sig_type = IB_SIGNAL_REQ_WR;
	qa.qp_type = IB_QPT_RC;
	qa.port_num = conn->cm_id->port_num;

	ret = rdma_create_qp(conn->cm_id, conn->dev->pd, &qa);
	if (ret) {
		ib_cq_pool_put(conn->cq, conn->cq_size);
		conn->cq = NULL;
		return ret;
	}
	conn->qp = conn->cm_id->qp;
	conn->srq = srq;
	conn->max_rx_pages = srq ? conn->dev->srq_pages : qa.cap.max_recv_sge - 1;
	conn->rq_size = srq ? 0 : qa.cap.max_recv_wr;
	if (srq)
		conn->rx_pages = conn->dev->srq_pages;
	conn->sq_ctrl = ISER_SQ_CTRL_RESERVE;
	conn->sq_avail = (int)qa.cap.max_send_wr - ISER_SQ_CTRL_RESERVE -
			 ISER_SQ_OUTSIDE;
	conn->sq_size = conn->sq_avail;
	pr_debug("conn %p: sq %u rq %u cq %u send_sge %u recv_sge %u\n", conn,
		 qa.cap.max_send_wr, qa.cap.max_recv_wr, conn->cq_size,
		 qa.cap.max_send_sge, qa.cap.max_recv_sge);
	return 0;
}

ALLOW_ERROR_INJECTION(iser_create_qp, ERRNO);

/* Other connections wait for the portal's login thread or semaphore. */
static bool iser_np_contended(struct iser_np *inp)
{
	bool busy;

	mutex_lock(&inp->lock);
	busy = atomic_read(&inp->logins) > 1 || !list_empty(&inp->pending);
	mutex_unlock(&inp->lock);
	return busy;
}

/*
 * A login in progress: ends it when the whole login took too long, or when
 * the initiator owes the next request for longer than login_stall_ms while
 * others wait (iser_login_judge()); otherwise looks again later.
 */
static void iser_login_check(struct iser_conn *conn)
{
	struct iser_login_clock c = {
		.now = jiffies,
		.start = conn->login_start,
		.timeout = ISER_LOGIN_TIMEOUT,
		.stall = msecs_to_jiffies(READ_ONCE(iser_login_stall_ms)),
	};
	unsigned long flags, next = 0;

	spin_lock_irqsave(&conn->lock, flags);
	c.owed = conn->login_more;
	c.asked = conn->login_asked;
	spin_unlock_irqrestore(&conn->lock, flags);
	c.contended = c.owed && iser_np_contended(conn->np);

	switch (iser_login_judge(&c, &next)) {
	case ISER_LOGIN_TOO_LONG:
		pr_warn_ratelimited("connection from %pISpc did not complete its login in %u s, dropping connection\n",
				    &conn->cm_id->route.addr.dst_addr,
				    ISER_LOGIN_TIMEOUT / HZ);
		iser_conn_fail(conn, "login not completed in time");
		break;
	case ISER_LOGIN_STALLED:
		pr_warn_ratelimited("connection from %pISpc stalled its login for %u ms while other logins wait, dropping connection\n",
				    &conn->cm_id->route.addr.dst_addr,
				    jiffies_to_msecs(c.now - c.asked));
		iser_conn_fail(conn, "login stalled while others wait");
		break;
	case ISER_LOGIN_GOES_ON:
		mod_delayed_work(iser_wq, &conn->login_deadline,
				 next - c.now);
		break;
	}
}

/**
 * iser_login_wait_started() - the initiator now owes the next Login Request
 * @conn: the connection, in login
 *
 * Brings the login check forward to when the wait would count as a stall.
 */
void iser_login_wait_started(struct iser_conn *conn)
{
	unsigned long stall = msecs_to_jiffies(READ_ONCE(iser_login_stall_ms));

	if (stall)
		mod_delayed_work(iser_wq, &conn->login_deadline, stall);
}

static void iser_login_deadline(struct work_struct *work)
{
	struct iser_conn *conn = container_of(to_delayed_work(work),
					      struct iser_conn, login_deadline);

	/* No reference is held: the final release cancels this work first. */
	switch (READ_ONCE(conn->state)) {
	case ISER_CONN_CONNECTING:
	case ISER_CONN_ESTABLISHED:
		pr_warn_ratelimited("connection from %pISpc sent no Login Request in %u s, dropping connection\n",
				    &conn->cm_id->route.addr.dst_addr,
				    ISER_PRELOGIN_TIMEOUT / HZ);
		iser_conn_fail(conn, "no Login Request in time");
		break;
	case ISER_CONN_PENDING:
		pr_warn_ratelimited("connection from %pISpc waited %u s for the portal's login thread, dropping connection\n",
				    &conn->cm_id->route.addr.dst_addr,
				    ISER_LOGIN_TIMEOUT / HZ);
		iser_conn_fail(conn, "login thread busy too long");
		break;
	case ISER_CONN_LOGIN:
		iser_login_check(conn);
		break;
	default:
		break;
	}
}

static __iser_fault_point struct iser_conn *iser_conn_alloc(struct iser_np *inp,
						  struct rdma_cm_id *cm_id)
{
	struct iser_conn *conn;

	conn = kmem_cache_zalloc(iser_conn_cache, GFP_KERNEL);
	if (!conn)
		return NULL;
	conn->stats = alloc_percpu(struct iser_stats);
	if (!conn->stats) {
		kmem_cache_free(iser_conn_cache, conn);
		return NULL;
	}
	conn->cm_id = cm_id;
	conn->np = inp;
	kref_get(&inp->ref);
	kref_init(&conn->ref);
	spin_lock_init(&conn->lock);
	spin_lock_init(&conn->sq_lock);
	spin_lock_init(&conn->rx_lock);
	spin_lock_init(&conn->dpool_lock);
	iser_sq_init(conn);
	INIT_LIST_HEAD(&conn->np_node);
	init_waitqueue_head(&conn->state_wq);
	INIT_WORK(&conn->release_work, iser_conn_release);
	INIT_DELAYED_WORK(&conn->login_deadline, iser_login_deadline);
	INIT_DELAYED_WORK(&conn->keepalive, iser_keepalive_fn);
	conn->state = ISER_CONN_CONNECTING;
	return conn;
}

ALLOW_ERROR_INJECTION(iser_conn_alloc, NULL);

static int iser_reject(struct rdma_cm_id *cm_id, const char *why)
{
	pr_warn_ratelimited("refusing connection from %pISpc: %s\n",
			    &cm_id->route.addr.dst_addr, why);
	rdma_reject(cm_id, NULL, 0, IB_CM_REJ_CONSUMER_DEFINED);
	/* Non-zero: the CM destroys the identifier for us. */
	return -ECONNREFUSED;
}

static int iser_connect_request(struct rdma_cm_id *cm_id,
				struct rdma_cm_event *ev)
{
	struct iser_np *inp = cm_id->context;
	struct rdma_conn_param cp = {};
	struct iser_cm_params prm;
	struct iser_conn *conn, *idle = NULL;
	struct iser_cm_hdr rep;
	const char *refusal = "no resources for a new connection";
	struct iser_device *dev;
	enum iser_reason why;
	bool enabled, full;
	int ret;

	spin_lock_bh(&inp->np->np_thread_lock);
	enabled = inp->np->enabled;
	spin_unlock_bh(&inp->np->np_thread_lock);
	if (!enabled || READ_ONCE(inp->stopping))
		return iser_reject(cm_id, "portal not enabled");

	why = iser_parse_cm_req(ev->param.conn.private_data,
				ev->param.conn.private_data_len, &prm);
	if (why)
		return iser_reject(cm_id, iser_reason_str(why));

	mutex_lock(&inp->lock);
	full = inp->prelogin >= ISER_MAX_PRELOGIN;
	if (full) {
		/* The list's reference passes to us with the entry. */
		idle = list_first_entry_or_null(&inp->connecting,
						struct iser_conn, np_node);
		if (idle) {
			list_del_init(&idle->np_node);
			full = false;
		}
	} else {
		inp->prelogin++;
	}
	mutex_unlock(&inp->lock);
	if (full)
		return iser_reject(cm_id, "too many connections without a login on this portal");
	if (idle) {
		pr_warn_ratelimited("portal %pISpc is full: dropping the connection from %pISpc that sent no Login Request for the longest time\n",
				    &inp->np->np_sockaddr,
				    &idle->cm_id->route.addr.dst_addr);
		iser_conn_fail(idle, "evicted by a newer connection");
		iser_conn_put(idle);
	}

	dev = iser_device_get(cm_id->device);
	if (IS_ERR(dev)) {
		ret = iser_reject(cm_id, PTR_ERR(dev) == -ENODEV ?
				  "RDMA device being removed" :
				  "no resources for the device");
		goto out_unreserve;
	}

	conn = iser_conn_alloc(inp, cm_id);
	if (!conn) {
		iser_device_put(dev);
		ret = iser_reject(cm_id, "out of memory");
		goto out_unreserve;
	}
	conn->dev = dev;
	conn->use_sie = prm.sie_ok && dev->sie_capable;
	conn->initiator_depth = min_t(u8, ev->param.conn.initiator_depth,
				      dev->ib_dev->attrs.max_qp_init_rd_atom);

	ret = iser_buf_alloc(dev, &conn->login_rx, ISER_RX_HDR_SLOT,
			     ISER_LOGIN_PAGES, false, DMA_FROM_DEVICE);
	if (ret)
		goto out_free;
	ret = iser_buf_alloc(dev, &conn->login_tx, ISER_HEADERS_LEN,
			     ISER_LOGIN_PAGES, false, DMA_TO_DEVICE);
	if (ret)
		goto out_free;
	ret = iser_create_qp(conn);
	if (ret)
		goto out_free;
	ret = iser_post_login_recv(conn);
	if (ret)
		goto out_free;

	iser_build_cm_rep(conn->use_sie, &rep);
	cp.private_data = &rep;
	cp.private_data_len = sizeof(rep);
	cp.initiator_depth = conn->initiator_depth;
	cp.retry_count = 7;
	cp.rnr_retry_count = 7;

	/*
	 * Published on the device and the listener at once, so that a device
	 * removal finds the connection on both or on neither. The identifier
	 * belongs to the connection from here, and its deadline runs.
	 */
	mutex_lock(&dev->conn_lock);
	if (dev->removing) {
		mutex_unlock(&dev->conn_lock);
		refusal = "RDMA device being removed";
		goto out_free;
	}
	cm_id->context = conn;
	queue_delayed_work(iser_wq, &conn->login_deadline, ISER_PRELOGIN_TIMEOUT);
	list_add_tail(&conn->node, &dev->conns);
	mutex_lock(&inp->lock);
	list_add_tail(&conn->np_node, &inp->connecting);
	mutex_unlock(&inp->lock);
	mutex_unlock(&dev->conn_lock);

	ret = rdma_accept(cm_id, &cp);
	if (ret) {
		pr_warn_ratelimited("rdma_accept for %pISpc failed: %d\n",
				    &cm_id->route.addr.dst_addr, ret);
		iser_conn_fail(conn, "accept failed");
	}
	pr_debug("conn %p from %pISpc: sie %d depth %u\n", conn,
		 &cm_id->route.addr.dst_addr, conn->use_sie,
		 conn->initiator_depth);
	return 0;

out_free:
	/* The CM destroys the identifier when we return: detach the QP. */
	if (conn->qp) {
		rdma_destroy_qp(cm_id);
		conn->qp = NULL;
	}
	iser_conn_free_queues(conn);
	free_percpu(conn->stats);
	kmem_cache_free(iser_conn_cache, conn);
	iser_np_put(inp);
	iser_device_put(dev);
	ret = iser_reject(cm_id, refusal);
out_unreserve:
	mutex_lock(&inp->lock);
	inp->prelogin--;
	mutex_unlock(&inp->lock);
	return ret;
}

/*
 * Queues @conn for the login thread once it is established and has a Login
 * Request; called with the listener's lock held. Each of the two events
 * is recorded under the connection's lock before its path takes the
 * listener's, so the later one of them sees both.
 */
static bool iser_np_ready(struct iser_conn *conn)
{
	if (list_empty(&conn->np_node) ||
	    READ_ONCE(conn->state) != ISER_CONN_ESTABLISHED ||
	    !READ_ONCE(conn->login_ready))
		return false;
	if (!iser_conn_set_state(conn, ISER_CONN_PENDING))
		return false;
	list_move_tail(&conn->np_node, &conn->np->pending);
	mod_delayed_work(iser_wq, &conn->login_deadline, ISER_LOGIN_TIMEOUT);
	return true;
}

static void iser_established(struct iser_conn *conn)
{
	struct iser_np *inp = conn->np;
	bool ready;

	if (!iser_conn_set_state(conn, ISER_CONN_ESTABLISHED))
		return;
	mutex_lock(&inp->lock);
	ready = iser_np_ready(conn);
	mutex_unlock(&inp->lock);
	if (ready)
		wake_up_all(&inp->accept_wq);
}

/**
 * iser_np_login_arrived() - the first Login Request of a connection is in
 * @conn: the connection, not yet taken by the login thread
 */
void iser_np_login_arrived(struct iser_conn *conn)
{
	struct iser_np *inp = conn->np;
	bool ready;

	mutex_lock(&inp->lock);
	ready = iser_np_ready(conn);
	mutex_unlock(&inp->lock);
	if (ready)
		wake_up_all(&inp->accept_wq);
}

static int iser_listen(struct iser_np *inp, bool report);

static int iser_np_event(struct iser_np *inp, struct rdma_cm_id *cm_id,
			 struct rdma_cm_event *ev)
{
	int ret = 0;

	switch (ev->event) {
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
	case RDMA_CM_EVENT_ADDR_CHANGE:
		mutex_lock(&inp->lock);
		if (inp->cm_id == cm_id) {
			inp->cm_id = NULL;
			/* Non-zero: the CM destroys the identifier. */
			ret = 1;
			if (!inp->stopping)
				queue_delayed_work(iser_wq, &inp->relisten_work,
						   ISER_RELISTEN_DELAY);
		}
		mutex_unlock(&inp->lock);
		pr_info("portal %pISpc lost its RDMA device (%s); listening again when one returns\n",
			&inp->np->np_sockaddr, rdma_event_msg(ev->event));
		break;
	default:
		pr_debug("portal %pISpc: ignored CM event %s\n",
			 &inp->np->np_sockaddr, rdma_event_msg(ev->event));
		break;
	}
	return ret;
}

static int iser_cm_handler(struct rdma_cm_id *cm_id, struct rdma_cm_event *ev)
{
	struct iser_conn *conn;

	pr_debug("CM event %s (%d) status %d id %p\n",
		 rdma_event_msg(ev->event), ev->event, ev->status, cm_id);

	if (ev->event == RDMA_CM_EVENT_CONNECT_REQUEST)
		return iser_connect_request(cm_id, ev);
	/* Only connection identifiers have a queue pair. */
	if (!cm_id->qp)
		return iser_np_event(cm_id->context, cm_id, ev);

	conn = cm_id->context;
	switch (ev->event) {
	case RDMA_CM_EVENT_ESTABLISHED:
		iser_established(conn);
		break;
	case RDMA_CM_EVENT_REJECTED:
	case RDMA_CM_EVENT_UNREACHABLE:
	case RDMA_CM_EVENT_CONNECT_ERROR:
		pr_warn_ratelimited("connection from %pISpc failed: %s\n",
				    &cm_id->route.addr.dst_addr,
				    rdma_event_msg(ev->event));
		iser_conn_fail(conn, "connection establishment failed");
		break;
	case RDMA_CM_EVENT_DISCONNECTED:
		iser_conn_fail(conn, "initiator disconnected");
		break;
	case RDMA_CM_EVENT_TIMEWAIT_EXIT:
		iser_conn_fail(conn, "connection timed out");
		break;
	case RDMA_CM_EVENT_ADDR_CHANGE:
		iser_conn_fail(conn, "address changed");
		break;
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		iser_conn_fail(conn, "RDMA device removed");
		break;
	default:
		pr_debug("conn %p: ignored CM event %s\n", conn,
			 rdma_event_msg(ev->event));
		break;
	}
	return 0;
}

/**
 * iser_listen_failed() - say why a portal cannot listen
 * @sa: the portal's address
 * @id: the listener that failed, bound to its device unless @sa is a
 *	wildcard; NULL if it could not be created
 * @ret: the error
 * @at_listen: @ret came from rdma_listen(), after the bind succeeded
 *
 * An iWARP device listens in the host's own TCP port space (Soft-iWARP
 * binds a kernel socket; hardware asks the iwpmd port mapper for a port),
 * where LIO's iSCSI/TCP listener of the same portal, which every iSER
 * portal has, already holds the port. That is the one case where
 * rdma_listen() fails with EADDRINUSE: another RDMA listener on the port
 * makes rdma_bind_addr() fail first.
 */
static void iser_listen_failed(const struct sockaddr *sa,
			       const struct rdma_cm_id *id, int ret,
			       bool at_listen)
{
	if (!at_listen || ret != -EADDRINUSE ||
	    (id->device && !rdma_protocol_iwarp(id->device, id->port_num))) {
		pr_err("cannot listen on %pISpc: %d\n", sa, ret);
		return;
	}
	pr_err("cannot listen on %pISpc: %d: %s%s listens in the TCP port space, where the portal's iSCSI/TCP listener holds the port; iWARP hardware needs the iwpmd port mapper running, and Soft-iWARP (siw) cannot serve a LIO portal (admin guide, iWARP)\n",
	       sa, ret, id->device ? "iWARP device " : "an iWARP device",
	       id->device ? dev_name(&id->device->dev) : "");
}

/**
 * iser_listen() - create the portal's RDMA listener
 * @inp: the portal, without a listener
 * @report: log a failure (at set-up; the retries after a device loss are
 *	quiet)
 *
 * Return: 0, with @inp->cm_id set unless the portal stopped meanwhile, or
 * a negative errno.
 */
static int iser_listen(struct iser_np *inp, bool report)
{
	struct sockaddr *sa = (struct sockaddr *)&inp->np->np_sockaddr;
	struct rdma_cm_id *id;
	bool at_listen = false;
	int ret;

	id = rdma_create_id(&init_net, iser_cm_handler, inp, RDMA_PS_TCP,
			    IB_QPT_RC);
	if (IS_ERR(id)) {
		if (report)
			iser_listen_failed(sa, NULL, PTR_ERR(id), false);
		return PTR_ERR(id);
	}
	/* Lets 0.0.0.0 and [::] listen on the same port side by side. */
	ret = rdma_set_afonly(id, 1);
	if (ret)
		goto out_destroy;
	ret = rdma_bind_addr(id, sa);
	if (ret)
		goto out_destroy;
	at_listen = true;
	ret = rdma_listen(id, ISER_LISTEN_BACKLOG);
	if (ret)
		goto out_destroy;

	mutex_lock(&inp->lock);
	if (inp->stopping || inp->cm_id) {
		mutex_unlock(&inp->lock);
		rdma_destroy_id(id);
		return 0;
	}
	inp->cm_id = id;
	mutex_unlock(&inp->lock);
	return 0;

out_destroy:
	if (report)
		iser_listen_failed(sa, id, ret, at_listen);
	rdma_destroy_id(id);
	return ret;
}

static void iser_relisten(struct work_struct *work)
{
	struct iser_np *inp = container_of(to_delayed_work(work),
					   struct iser_np, relisten_work);
	int ret;

	if (READ_ONCE(inp->stopping))
		return;
	ret = iser_listen(inp, false);
	if (!ret) {
		pr_info("portal %pISpc listening again\n",
			&inp->np->np_sockaddr);
		return;
	}
	pr_debug("portal %pISpc: listen failed (%d), retrying\n",
		 &inp->np->np_sockaddr, ret);
	queue_delayed_work(iser_wq, &inp->relisten_work, ISER_RELISTEN_DELAY);
}

/**
 * iser_np_device_added() - an RDMA device appeared: retry lost listeners
 */
void iser_np_device_added(void)
{
	struct iser_np *inp;

	mutex_lock(&iser_np_list_lock);
	list_for_each_entry(inp, &iser_np_list, node) {
		if (!READ_ONCE(inp->cm_id) && !READ_ONCE(inp->stopping))
			mod_delayed_work(iser_wq, &inp->relisten_work, 0);
	}
	mutex_unlock(&iser_np_list_lock);
}

/**
 * iser_setup_np() - start listening on an iSCSI network portal
 * @np: the portal targetcli enabled iSER on
 * @addr: its address; wildcard and IPv6 addresses are fine
 *
 * Return: 0 or a negative errno; nothing stays allocated on failure.
 */
__iser_fault_point int iser_setup_np(struct iscsi_np *np, struct sockaddr_storage *addr)
{
	struct iser_np *inp;
	int ret;

	inp = kzalloc(sizeof(*inp), GFP_KERNEL);
	if (!inp)
		return -ENOMEM;
	kref_init(&inp->ref);
	inp->np = np;
	mutex_init(&inp->lock);
	INIT_LIST_HEAD(&inp->connecting);
	INIT_LIST_HEAD(&inp->pending);
	init_waitqueue_head(&inp->accept_wq);
	INIT_DELAYED_WORK(&inp->relisten_work, iser_relisten);
	memcpy(&np->np_sockaddr, addr, sizeof(*addr));

	ret = iser_listen(inp, true);
	if (ret) {
		kfree(inp);
		return ret;
	}
	np->np_context = inp;
	mutex_lock(&iser_np_list_lock);
	list_add_tail(&inp->node, &iser_np_list);
	mutex_unlock(&iser_np_list_lock);
	pr_info("listening for iSER on %pISpc\n", addr);
	return 0;
}

ALLOW_ERROR_INJECTION(iser_setup_np, ERRNO);

/**
 * iser_accept_np() - hand the next established connection to the core
 * @np: the portal
 * @iconn: the iSCSI connection to bind it to
 *
 * Sleeps until a connection is established or the login thread is told to
 * stop (it is signalled on portal reset and shutdown).
 *
 * Return: 0 with @iconn bound, or -ENODEV when the thread must stop.
 */
int iser_accept_np(struct iscsi_np *np, struct iscsit_conn *iconn)
{
	struct iser_np *inp = np->np_context;
	struct iser_conn *conn;
	bool bound;

	for (;;) {
		if (wait_event_interruptible(inp->accept_wq,
					     !list_empty(&inp->pending) ||
					     READ_ONCE(inp->stopping)))
			return -ENODEV;
		if (READ_ONCE(inp->stopping))
			return -ENODEV;
		spin_lock_bh(&np->np_thread_lock);
		if (np->np_thread_state >= ISCSI_NP_THREAD_RESET) {
			spin_unlock_bh(&np->np_thread_lock);
			return -ENODEV;
		}
		spin_unlock_bh(&np->np_thread_lock);

		mutex_lock(&inp->lock);
		conn = list_first_entry_or_null(&inp->pending, struct iser_conn,
						np_node);
		if (!conn) {
			mutex_unlock(&inp->lock);
			continue;
		}
		list_del_init(&conn->np_node);
		inp->prelogin--;
		conn->iconn = iconn;
		conn->login_start = jiffies;
		/* Counted first: leaving LOGIN, even at once, uncounts it. */
		atomic_inc(&inp->logins);
		bound = iser_conn_set_state(conn, ISER_CONN_LOGIN);
		if (bound)
			mod_delayed_work(iser_wq, &conn->login_deadline,
					 ISER_LOGIN_TIMEOUT);
		else
			atomic_dec(&inp->logins);
		mutex_unlock(&inp->lock);
		if (!bound) {
			iser_conn_put(conn);
			continue;
		}
		break;
	}

	iconn->context = conn;
	iconn->login_family = np->np_sockaddr.ss_family;
	iconn->login_sockaddr = conn->cm_id->route.addr.dst_addr;
	iconn->local_sockaddr = conn->cm_id->route.addr.src_addr;
	pr_debug("conn %p bound to iSCSI connection %p\n", conn, iconn);
	return 0;
}

static void iser_drop_list(struct list_head *list)
{
	struct iser_conn *conn, *tmp;

	list_for_each_entry_safe(conn, tmp, list, np_node) {
		list_del_init(&conn->np_node);
		iser_conn_set_state(conn, ISER_CONN_CLOSING);
		rdma_disconnect(conn->cm_id);
		iser_conn_put(conn);
	}
}

/**
 * iser_free_np() - stop listening and drop connections not yet logged in
 * @np: the portal being disabled or deleted
 */
void iser_free_np(struct iscsi_np *np)
{
	struct iser_np *inp = np->np_context;
	struct rdma_cm_id *id;
	LIST_HEAD(drop);

	mutex_lock(&iser_np_list_lock);
	list_del(&inp->node);
	mutex_unlock(&iser_np_list_lock);

	mutex_lock(&inp->lock);
	WRITE_ONCE(inp->stopping, true);
	id = inp->cm_id;
	inp->cm_id = NULL;
	mutex_unlock(&inp->lock);
	wake_up_all(&inp->accept_wq);
	cancel_delayed_work_sync(&inp->relisten_work);
	/* After this no connect request can add to the lists. */
	if (id)
		rdma_destroy_id(id);

	mutex_lock(&inp->lock);
	list_splice_init(&inp->connecting, &drop);
	list_splice_init(&inp->pending, &drop);
	inp->prelogin = 0;
	mutex_unlock(&inp->lock);
	iser_drop_list(&drop);

	np->np_context = NULL;
	pr_info("stopped listening on %pISpc\n", &np->np_sockaddr);
	iser_np_put(inp);
}

/**
 * iser_wait_conn() - quiesce a connection the core is closing
 * @iconn: the iSCSI connection
 *
 * Stops posting, disconnects and flushes every work request (their
 * completions release the commands they carried), then waits for a posted
 * Logout Response to finish. The commands left are the core's to release,
 * except Rejects that replaced a WRITE, which it would release twice.
 */
void iser_wait_conn(struct iscsit_conn *iconn)
{
	struct iser_conn *conn = iconn->context;
	unsigned long flags;

	/* Not iser_conn_fail(): the core is already closing this connection. */
	spin_lock_irqsave(&conn->lock, flags);
	if (!conn->close_reason)
		conn->close_reason = "closed by the iSCSI layer";
	spin_unlock_irqrestore(&conn->lock, flags);
	iser_conn_set_state(conn, ISER_CONN_CLOSING);
	/*
	 * The core frees the iSCSI connection once this returns: let an
	 * iser_conn_fail() that is still calling into it finish first.
	 */
	wait_event(conn->state_wq, iser_core_calls_done(conn));
	iser_sq_close(conn);
	iser_rx_close(conn);
	rdma_disconnect(conn->cm_id);
	ib_drain_qp(conn->qp);
	/*
	 * A login that failed (the core's login timer, on 6.4 and later) has
	 * its work cancelled by the core before it calls here, but a Login
	 * Request or a disconnect in between queued it again: the core frees
	 * the connection once this returns. Nothing queues it any more: the
	 * state is CLOSING and the drain has run every receive completion.
	 * The core sets the work up only once a first Login Request is in.
	 */
	if (iconn->login_work.work.func)
		cancel_delayed_work(&iconn->login_work);
	if (conn->spare_task) {
		iscsit_release_cmd(conn->spare_task);
		conn->spare_task = NULL;
	}
	iser_sq_flush(conn);
	iser_free_rejected_writes(conn);
	iser_list_unsent_rejects(conn);
	if (READ_ONCE(conn->logout_posted))
		wait_for_completion_timeout(&iconn->conn_logout_comp,
					    SECONDS_FOR_LOGOUT_COMP * HZ);
	iser_conn_set_state(conn, ISER_CONN_CLOSED);
}

/**
 * iser_free_conn() - the core is done with a connection
 * @iconn: the iSCSI connection
 *
 * The core has released the connection's commands by now, except those an
 * ABORT TASK or LUN RESET still owns: their release touches this
 * connection, so wait for them. Waiting any earlier, in iser_wait_conn(),
 * would hang on a task management response queued to the already stopped
 * transmit thread, which only the core's release frees.
 */
void iser_free_conn(struct iscsit_conn *iconn)
{
	struct iser_conn *conn = iconn->context;

	if (iconn->sess) {
		target_stop_cmd_counter(iconn->cmd_cnt);
		target_wait_for_cmds(iconn->cmd_cnt);
	}
	iconn->context = NULL;
	iser_conn_put(conn);
}

/**
 * iser_device_stats() - totals of a device: freed and live connections
 * @dev: the device
 * @sum: where to add them
 */
void iser_device_stats(struct iser_device *dev, struct iser_stats *sum)
{
	struct iser_conn *conn;
	int i;

	mutex_lock(&dev->conn_lock);
	for (i = 0; i < ISER_S_MAX; i++)
		sum->v[i] += dev->retired.v[i];
	for (i = 0; i < ISER_WC_STATUSES; i++)
		sum->wc[i] += dev->retired.wc[i];
	list_for_each_entry(conn, &dev->conns, node)
		iser_stats_sum(conn->stats, sum);
	mutex_unlock(&dev->conn_lock);
}

/**
 * iser_device_removed() - an RDMA device is going away
 * @dev: the device
 *
 * Fails every connection on it, whatever its state: the ones not yet logged
 * in are released from here, the others by the target core's teardown. No
 * new connection joins the device afterwards.
 */
void iser_device_removed(struct iser_device *dev)
{
	struct iser_conn *conn;

	mutex_lock(&dev->conn_lock);
	dev->removing = true;
	list_for_each_entry(conn, &dev->conns, node)
		iser_conn_fail(conn, "RDMA device removed");
	mutex_unlock(&dev->conn_lock);
}
