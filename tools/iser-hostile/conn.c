// SPDX-License-Identifier: GPL-2.0
/*
 * iser-hostile: one RDMA CM connection with its queue pair, receive ring,
 * send slots and the buffer whose STag the iSER headers advertise.
 *
 * Everything is driven from poll(2) on the CM event channel and the
 * completion channel, so that a scenario can wait for "a PDU, or the
 * target dropping us, or the deadline", whichever comes first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostile.h"

/* Receive work requests are told from sends by this bit of wr_id. */
#define RX_WRID		(1ull << 63)

/* One protection domain per device for the whole process. */
static struct ibv_context *pd_ctx;
static struct ibv_pd *pd_shared;
static struct ibv_device_attr dev_attr;

void conn_cfg_default(struct conn_cfg *cfg)
{
	cfg->nrx = 64;
	/* Login responses carry up to 8192 bytes of keys; margin for junk. */
	cfg->rxsz = 16384;
	cfg->ntx = 64;
	cfg->txsz = 16384;
	cfg->datasz = (2u << 20) + 4096;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int resolve_dst(struct sockaddr_storage *ss, const char *host, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC }, *ai;
	int ret;

	ret = getaddrinfo(host, port, &hints, &ai);
	if (ret) {
		warnx_("cannot resolve %s: %s", host, gai_strerror(ret));
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

/* An event channel that never blocks: callers poll(2) its fd. */
struct rdma_event_channel *event_channel(void)
{
	struct rdma_event_channel *ec = rdma_create_event_channel();

	if (!ec) {
		warnx_("rdma_create_event_channel: %m (is rdma_ucm loaded?)");
		return NULL;
	}
	if (set_nonblock(ec->fd)) {
		rdma_destroy_event_channel(ec);
		return NULL;
	}
	return ec;
}

struct conn *conn_new(const struct conn_cfg *cfg, struct rdma_event_channel *ec,
		      struct ibv_pd *pd)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->cfg = *cfg;
	c->pd = pd;
	c->repost = true;
	c->auto_nopin = true;
	c->auto_statsn = true;
	c->state = C_IDLE;
	c->t_start = now();
	if (ec) {
		c->ec = ec;
	} else {
		c->ec = event_channel();
		if (!c->ec) {
			free(c);
			return NULL;
		}
		c->own_ec = true;
	}
	/* Defaults until the login says otherwise (RFC 7145 defaults). */
	c->trdsl = 8192;
	c->irdsl = o.irdsl;
	c->first_burst = 65536;
	c->max_burst = 262144;
	c->immediate_data = true;
	c->initial_r2t = true;
	return c;
}

void conn_mark_down(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->state == C_DOWN)
		return;
	va_start(ap, fmt);
	vsnprintf(c->whybuf, sizeof(c->whybuf), fmt, ap);
	va_end(ap);
	c->why = c->whybuf;
	c->state = C_DOWN;
	c->t_down = now();
	if (!c->established)
		c->refused = !c->we_disconnected;
	else if (!c->we_disconnected)
		c->dropped = true;
	dbg("connection down: %s", c->why);
}

/*
 * A failed or flushed work completion: the queue pair is in the error
 * state and carries nothing any more, but only a CM event says whether
 * the target tore the connection down.
 */
void conn_qp_failed(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->qp_dead)
		return;
	va_start(ap, fmt);
	vsnprintf(c->qpwhy, sizeof(c->qpwhy), fmt, ap);
	va_end(ap);
	c->qp_dead = true;
	c->t_qp_dead = now();
	dbg("queue pair failed: %s", c->qpwhy);
}

/* What ended the connection, for messages. */
const char *conn_why(const struct conn *c)
{
	if (c->qp_dead)
		return c->qpwhy;
	return c->why ? c->why : "timeout";
}

/* Can this connection still carry PDUs? */
bool conn_alive(const struct conn *c)
{
	return c->state != C_DOWN && !c->qp_dead;
}

const char *conn_dev_name(const struct conn *c)
{
	return c->id && c->id->verbs ? ibv_get_device_name(c->id->verbs->device) :
	       "?";
}

struct ibv_mr *conn_reg(struct conn *c, void *buf, size_t len)
{
	struct ibv_mr *mr = ibv_reg_mr(c->pd, buf, len,
				       IBV_ACCESS_LOCAL_WRITE |
				       IBV_ACCESS_REMOTE_READ |
				       IBV_ACCESS_REMOTE_WRITE);

	if (!mr)
		warnx_("ibv_reg_mr(%zu bytes): %m", len);
	return mr;
}

static int post_recv(struct conn *c, uint32_t i)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)(c->rxbuf + (size_t)i * c->cfg.rxsz),
		.length = c->cfg.rxsz,
		.lkey = c->rxmr->lkey,
	};
	struct ibv_recv_wr wr = {
		.wr_id = RX_WRID | i, .sg_list = &sge, .num_sge = 1,
	};
	struct ibv_recv_wr *bad;

	if (ibv_post_recv(c->qp, &wr, &bad))
		return -1;
	c->rx_posted++;
	return 0;
}

static void *zalloc_aligned(size_t len)
{
	void *p = NULL;

	if (!len)
		return NULL;
	if (posix_memalign(&p, 4096, len))
		return NULL;
	memset(p, 0, len);
	return p;
}

/*
 * Linux 6.1's Soft-RoCE reads one map pointer past the end of a region
 * whose page count is a multiple of 256 when a copy touches its last page
 * (rxe_mr_copy(); KASAN: slab-out-of-bounds, seen with nop-flood's ring of
 * 256 receives of 4 KiB). Local buffers are registered with a spare page
 * after them, which no work request uses: the target sees no change.
 */
#define LOCAL_SPARE 4096

/*
 * local_buf() - a zeroed, page-aligned buffer of @len bytes, registered
 * for local access together with a spare page after it, in *@mr (NULL if
 * either step failed; the buffer, if any, is returned for the caller to
 * free).
 */
static uint8_t *local_buf(struct conn *c, size_t len, struct ibv_mr **mr)
{
	uint8_t *buf = zalloc_aligned(len + LOCAL_SPARE);

	*mr = buf ? ibv_reg_mr(c->pd, buf, len + LOCAL_SPARE,
			       IBV_ACCESS_LOCAL_WRITE) : NULL;
	return buf;
}

/* Queue pair, buffers and receives, once the route is known. */
static int conn_setup_verbs(struct conn *c)
{
	struct ibv_context *ctx = c->id->verbs;
	struct ibv_qp_init_attr qa = {};
	size_t n;
	uint32_t i;

	if (!c->pd) {
		if (pd_ctx != ctx) {
			pd_shared = ibv_alloc_pd(ctx);
			if (!pd_shared) {
				warnx_("ibv_alloc_pd: %m");
				return -1;
			}
			if (ibv_query_device(ctx, &dev_attr))
				memset(&dev_attr, 0, sizeof(dev_attr));
			pd_ctx = ctx;
		}
		c->pd = pd_shared;
	}
	if (c->own_ec) {
		c->cc = ibv_create_comp_channel(ctx);
		if (!c->cc) {
			warnx_("ibv_create_comp_channel: %m");
			return -1;
		}
		set_nonblock(c->cc->fd);
	}
	c->cq = ibv_create_cq(ctx, (int)(c->cfg.nrx + c->cfg.ntx + 8), c, c->cc, 0);
	if (!c->cq) {
		warnx_("ibv_create_cq: %m");
		return -1;
	}
	if (c->cc && ibv_req_notify_cq(c->cq, 0))
		return -1;
	qa.send_cq = c->cq;
	qa.recv_cq = c->cq;
	qa.qp_type = IBV_QPT_RC;
	qa.cap.max_send_wr = c->cfg.ntx + 2;
	qa.cap.max_recv_wr = c->cfg.nrx ? c->cfg.nrx : 1;
	qa.cap.max_send_sge = 1;
	qa.cap.max_recv_sge = 1;
	if (rdma_create_qp(c->id, c->pd, &qa)) {
		warnx_("rdma_create_qp: %m");
		return -1;
	}
	c->qp = c->id->qp;

	n = (size_t)c->cfg.nrx * c->cfg.rxsz;
	if (n) {
		c->rxbuf = local_buf(c, n, &c->rxmr);
		if (!c->rxbuf)
			return -1;
		if (!c->rxmr) {
			warnx_("ibv_reg_mr(rx): %m");
			return -1;
		}
	}
	n = (size_t)c->cfg.ntx * c->cfg.txsz;
	if (n) {
		c->txbuf = local_buf(c, n, &c->txmr);
		if (!c->txbuf)
			return -1;
		if (!c->txmr) {
			warnx_("ibv_reg_mr(tx): %m");
			return -1;
		}
	}
	if (c->cfg.datasz) {
		c->data = zalloc_aligned(c->cfg.datasz);
		if (!c->data)
			return -1;
		c->dmr = conn_reg(c, c->data, c->cfg.datasz);
		if (!c->dmr)
			return -1;
	}
	c->rx_free = calloc(c->cfg.nrx ? c->cfg.nrx : 1, sizeof(*c->rx_free));
	if (!c->rx_free)
		return -1;
	for (i = 0; i < c->cfg.nrx; i++)
		if (post_recv(c, i)) {
			warnx_("ibv_post_recv: %m");
			return -1;
		}
	return 0;
}

/* Passive side (sc_listen): verbs for an id that arrived with a request. */
int conn_accept_verbs(struct conn *c)
{
	return conn_setup_verbs(c);
}

static uint8_t pd_buf[64];
static uint8_t pd_len_saved;

int conn_start(struct conn *c, const void *pdata, uint8_t pdata_len)
{
	struct sockaddr_storage dst, src;

	if (pdata_len > sizeof(pd_buf))
		pdata_len = sizeof(pd_buf);
	if (pdata_len)
		memcpy(pd_buf, pdata, pdata_len);
	pd_len_saved = pdata_len;

	if (resolve_dst(&dst, o.target, o.port))
		return -1;
	if (o.source && resolve_dst(&src, o.source, NULL))
		return -1;
	if (rdma_create_id(c->ec, &c->id, c, RDMA_PS_TCP)) {
		warnx_("rdma_create_id: %m");
		return -1;
	}
	if (rdma_resolve_addr(c->id, o.source ? (struct sockaddr *)&src : NULL,
			      (struct sockaddr *)&dst, 5000)) {
		warnx_("rdma_resolve_addr: %m");
		return -1;
	}
	c->state = C_ADDR;
	c->t_start = now();
	return 0;
}

static int conn_do_connect(struct conn *c)
{
	struct rdma_conn_param cp = {};

	cp.private_data = pd_len_saved ? pd_buf : NULL;
	cp.private_data_len = pd_len_saved;
	cp.responder_resources = dev_attr.max_qp_rd_atom > 16 ? 16 :
				 (uint8_t)dev_attr.max_qp_rd_atom;
	cp.initiator_depth = dev_attr.max_qp_init_rd_atom > 16 ? 16 :
			     (uint8_t)dev_attr.max_qp_init_rd_atom;
	cp.retry_count = 7;
	cp.rnr_retry_count = 7;
	if (rdma_connect(c->id, &cp)) {
		conn_mark_down(c, "rdma_connect: %s", strerror(errno));
		return -1;
	}
	c->state = C_CONNECTING;
	return 0;
}

/* Returns 0, or -1 when the connection could not be set up locally. */
int conn_handle_cm(struct conn *c, struct rdma_cm_event *ev)
{
	dbg("CM event %s status %d", rdma_event_str(ev->event), ev->status);
	switch (ev->event) {
	case RDMA_CM_EVENT_ADDR_RESOLVED:
		if (rdma_resolve_route(c->id, 5000)) {
			conn_mark_down(c, "rdma_resolve_route: %s", strerror(errno));
			return -1;
		}
		c->state = C_ROUTE;
		break;
	case RDMA_CM_EVENT_ROUTE_RESOLVED:
		if (conn_setup_verbs(c)) {
			conn_mark_down(c, "local verbs set-up failed");
			c->refused = false;
			return -1;
		}
		return conn_do_connect(c);
	case RDMA_CM_EVENT_ESTABLISHED:
		c->state = C_UP;
		c->established = true;
		c->t_up = now();
		break;
	case RDMA_CM_EVENT_REJECTED:
		conn_mark_down(c, "connect rejected (status %d)", ev->status);
		break;
	case RDMA_CM_EVENT_ADDR_ERROR:
	case RDMA_CM_EVENT_ROUTE_ERROR:
		conn_mark_down(c, "%s (status %d)", rdma_event_str(ev->event),
			       ev->status);
		c->refused = false;
		return -1;
	case RDMA_CM_EVENT_UNREACHABLE:
	case RDMA_CM_EVENT_CONNECT_ERROR:
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		conn_mark_down(c, "%s (status %d)", rdma_event_str(ev->event),
			       ev->status);
		break;
	case RDMA_CM_EVENT_DISCONNECTED:
		conn_mark_down(c, "RDMA_CM_EVENT_DISCONNECTED");
		break;
	default:
		break;
	}
	return 0;
}

static void handle_wc(struct conn *c, const struct ibv_wc *wc)
{
	bool rx = wc->wr_id & RX_WRID;

	/* wc->opcode is undefined in error completions: use wr_id. */
	if (wc->status != IBV_WC_SUCCESS) {
		if (rx) {
			if (c->rx_posted)
				c->rx_posted--;
		} else if (c->tx_inflight) {
			c->tx_inflight--;
		}
		conn_qp_failed(c, "%s completion: %s", rx ? "receive" : "send",
			       ibv_wc_status_str(wc->status));
		return;
	}
	if (rx) {
		uint32_t i = (uint32_t)wc->wr_id;
		struct rpdu *r;

		c->rx_posted--;
		c->rx_count++;
		r = malloc(sizeof(*r) + wc->byte_len);
		if (r) {
			r->next = NULL;
			r->len = wc->byte_len;
			memcpy(r->buf, c->rxbuf + (size_t)i * c->cfg.rxsz,
			       wc->byte_len);
			if (c->q_tail)
				c->q_tail->next = r;
			else
				c->q_head = r;
			c->q_tail = r;
			c->q_len++;
			pdu_note_rx(c, r);
		}
		/*
		 * A scenario may destroy the queue pair itself (rdma-disconnect):
		 * completions already in the CQ still arrive, with nowhere to
		 * repost to.
		 */
		if (!c->repost || !c->qp) {
			c->rx_free[c->n_rx_free++] = i;
			return;
		}
		if (conn_alive(c) && post_recv(c, i))
			conn_qp_failed(c, "cannot repost a receive");
		return;
	}
	if (c->tx_inflight)
		c->tx_inflight--;
}

static void drain_cq(struct conn *c)
{
	struct ibv_wc wc[16];
	int n, i;

	if (!c->cq)
		return;
	while ((n = ibv_poll_cq(c->cq, 16, wc)) > 0) {
		c->cqes_armed += (unsigned int)n;
		for (i = 0; i < n; i++)
			handle_wc(c, &wc[i]);
	}
}

/*
 * Wait up to @timeout_ms for CM events or completions of this connection
 * (its CM events only if it owns its event channel) and handle them.
 */
int conn_poll(struct conn *c, int timeout_ms)
{
	struct pollfd pfd[2];
	struct rdma_cm_event *ev;
	int n = 0, ret;

	drain_cq(c);
	if (c->own_ec) {
		pfd[n].fd = c->ec->fd;
		pfd[n++].events = POLLIN;
	}
	if (c->cc) {
		pfd[n].fd = c->cc->fd;
		pfd[n++].events = POLLIN;
	}
	if (!n) {
		if (timeout_ms > 0)
			usleep((useconds_t)timeout_ms * 1000);
		drain_cq(c);
		return 0;
	}
	ret = poll(pfd, n, timeout_ms);
	if (ret < 0)
		return errno == EINTR ? 0 : -1;
	if (c->own_ec) {
		while (rdma_get_cm_event(c->ec, &ev) == 0) {
			struct rdma_cm_event copy = *ev;

			rdma_ack_cm_event(ev);
			conn_handle_cm(c, &copy);
		}
	}
	if (c->cc) {
		struct ibv_cq *cq;
		void *ctx;

		while (ibv_get_cq_event(c->cc, &cq, &ctx) == 0) {
			ibv_ack_cq_events(cq, 1);
			ibv_req_notify_cq(cq, 0);
			c->cqes_armed = 0;
		}
	}
	drain_cq(c);
	return 0;
}

int conn_connect(struct conn *c, const void *pdata, uint8_t pdata_len,
		 double timeout)
{
	double end = now() + timeout;

	if (conn_start(c, pdata, pdata_len))
		return -1;
	while (c->state != C_UP && c->state != C_DOWN && now() < end)
		conn_poll(c, 100);
	if (c->state == C_UP)
		return 0;
	if (c->state != C_DOWN)
		conn_mark_down(c, "no connect reply within %.0f s", timeout);
	return 1;
}

static int post_send(struct conn *c, uint64_t addr, uint32_t len, uint32_t lkey)
{
	struct ibv_sge sge = { .addr = addr, .length = len, .lkey = lkey };
	struct ibv_send_wr wr = {
		.wr_id = c->tx_count,
		.sg_list = &sge,
		.num_sge = len ? 1 : 0,
		.opcode = IBV_WR_SEND,
		.send_flags = IBV_SEND_SIGNALED,
	};
	struct ibv_send_wr *bad;

	if (!c->qp) {
		conn_qp_failed(c, "send after the queue pair was destroyed");
		return -1;
	}
	if (c->corked) {
		unsigned int n = c->n_cork;

		if (n == CONN_CORK_MAX) {
			conn_qp_failed(c, "more than %d sends corked", CONN_CORK_MAX);
			return -1;
		}
		c->cork_sge[n] = sge;
		c->cork_wr[n] = wr;
		c->cork_wr[n].sg_list = &c->cork_sge[n];
		if (n)
			c->cork_wr[n - 1].next = &c->cork_wr[n];
		c->n_cork++;
	} else if (ibv_post_send(c->qp, &wr, &bad)) {
		conn_qp_failed(c, "ibv_post_send: %s", strerror(errno));
		return -1;
	}
	c->tx_inflight++;
	c->tx_count++;
	return 0;
}

/*
 * Hold the next sends back until conn_uncork(), which posts them with one
 * ibv_post_send(): they then leave back to back, however this process is
 * scheduled. Only for PDUs that fit a send slot (an oversized send waits
 * for the ones before it to complete, which corked ones never do).
 */
void conn_cork(struct conn *c)
{
	c->corked = true;
	c->n_cork = 0;
}

int conn_uncork(struct conn *c)
{
	struct ibv_send_wr *bad;
	unsigned int n = c->n_cork;

	c->corked = false;
	c->n_cork = 0;
	if (!n)
		return 0;
	if (!c->qp) {
		conn_qp_failed(c, "send after the queue pair was destroyed");
		return -1;
	}
	if (ibv_post_send(c->qp, &c->cork_wr[0], &bad)) {
		conn_qp_failed(c, "ibv_post_send of %u corked sends: %s", n,
			       strerror(errno));
		return -1;
	}
	return 0;
}

/* Send without waiting for a slot: fails when all slots are in flight. */
int conn_send_nowait(struct conn *c, const void *buf, uint32_t len)
{
	uint8_t *slot;

	if (!conn_alive(c) || c->state != C_UP || len > c->cfg.txsz ||
	    c->tx_inflight >= c->cfg.ntx)
		return -1;
	slot = c->txbuf + (size_t)c->txhead * c->cfg.txsz;
	c->txhead = (c->txhead + 1) % c->cfg.ntx;
	memcpy(slot, buf, len);
	return post_send(c, (uintptr_t)slot, len, c->txmr->lkey);
}

/*
 * Send @len bytes as one SEND. Waits for a free slot (completions arrive
 * in order on a reliable connection, so slots are reused round robin).
 */
int conn_send(struct conn *c, const void *buf, uint32_t len)
{
	double end = now() + o.timeout;

	if (len > c->cfg.txsz) {
		/* One oversized SEND at a time, from its own buffer. */
		while (c->tx_inflight && conn_alive(c) && now() < end)
			conn_poll(c, 50);
		if (!conn_alive(c) || c->tx_inflight)
			return -1;
		if (len > c->bigsz) {
			if (c->bigmr)
				ibv_dereg_mr(c->bigmr);
			free(c->big);
			c->bigsz = (len + 4095) & ~(size_t)4095;
			c->big = local_buf(c, c->bigsz, &c->bigmr);
			if (!c->bigmr)
				return -1;
		}
		memcpy(c->big, buf, len);
		return post_send(c, (uintptr_t)c->big, len, c->bigmr->lkey);
	}
	while (c->tx_inflight >= c->cfg.ntx && conn_alive(c) && now() < end)
		conn_poll(c, 50);
	if (!conn_alive(c))
		return -1;
	if (c->tx_inflight >= c->cfg.ntx) {
		warnx_("no send slot freed within %.0f s", o.timeout);
		return -1;
	}
	return conn_send_nowait(c, buf, len);
}

/* Take answers again after a pause: repost what was consumed meanwhile. */
void conn_resume(struct conn *c)
{
	c->repost = true;
	while (c->n_rx_free && conn_alive(c) && c->qp)
		if (post_recv(c, c->rx_free[--c->n_rx_free]))
			conn_qp_failed(c, "cannot repost a receive");
}

struct rpdu *conn_next(struct conn *c, double deadline)
{
	for (;;) {
		struct rpdu *r = c->q_head;
		double left;

		if (r) {
			c->q_head = r->next;
			if (!c->q_head)
				c->q_tail = NULL;
			c->q_len--;
			return r;
		}
		if (!conn_alive(c))
			return NULL;
		left = deadline - now();
		if (left <= 0)
			return NULL;
		conn_poll(c, left > 0.2 ? 200 : (int)(left * 1000) + 1);
	}
}

/* Disconnect from our side and wait (bounded) for the CM to confirm. */
void conn_disconnect(struct conn *c, double timeout)
{
	double end = now() + timeout;

	if (!c->id)
		return;
	if (c->state == C_DOWN) {
		rdma_disconnect(c->id);
		return;
	}
	c->we_disconnected = true;
	rdma_disconnect(c->id);
	if (!c->own_ec)
		return;
	while (c->state != C_DOWN && now() < end)
		conn_poll(c, 100);
}

/*
 * Soft-RoCE (rdma_rxe of Linux 6.1) tells an armed CQ of a completion from
 * a tasklet, which destroying the CQ neither waits for nor kills: one still
 * scheduled then writes to the freed CQ ("Poison overwritten" in a CQ of
 * ib_uverbs, seen on a 6.1 debug kernel). A completion polled since the CQ
 * was last armed may have scheduled it: wait, bounded, for the event it
 * sends. Called once the queue pair is gone, so no completion can follow.
 * Some of those completions came before the arm and sent nothing: then
 * the wait runs out, 100 ms at most.
 */
static void cq_quiesce(struct conn *c)
{
	struct ibv_wc wc[16];
	struct pollfd pfd;
	struct ibv_cq *cq;
	void *ctx;
	int n;

	if (!c->cc)
		return;
	while ((n = ibv_poll_cq(c->cq, 16, wc)) > 0)
		c->cqes_armed += (unsigned int)n;
	if (!c->cqes_armed)
		return;
	pfd.fd = c->cc->fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 100) > 0 && ibv_get_cq_event(c->cc, &cq, &ctx) == 0)
		ibv_ack_cq_events(cq, 1);
}

void conn_free(struct conn *c)
{
	struct rpdu *r;

	if (!c)
		return;
	if (c->qp)
		rdma_destroy_qp(c->id);
	if (c->cq) {
		cq_quiesce(c);
		ibv_destroy_cq(c->cq);
	}
	if (c->cc)
		ibv_destroy_comp_channel(c->cc);
	if (c->rxmr)
		ibv_dereg_mr(c->rxmr);
	if (c->txmr)
		ibv_dereg_mr(c->txmr);
	if (c->dmr)
		ibv_dereg_mr(c->dmr);
	if (c->bigmr)
		ibv_dereg_mr(c->bigmr);
	free(c->rxbuf);
	free(c->txbuf);
	free(c->data);
	free(c->big);
	free(c->rx_free);
	if (c->id)
		rdma_destroy_id(c->id);
	if (c->own_ec)
		rdma_destroy_event_channel(c->ec);
	while ((r = c->q_head)) {
		c->q_head = r->next;
		free(r);
	}
	free(c);
}
