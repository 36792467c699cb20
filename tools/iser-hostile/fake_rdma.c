// SPDX-License-Identifier: GPL-2.0
/*
 * iser-hostile: a stand-in for the librdmacm and libibverbs calls the tool
 * makes, for tests only. Linked instead of those libraries into
 * iser-hostile-fake, it joins every connection to a small iSER target in
 * the same process (no RDMA device, no kernel), so that the fuzzer's
 * runner can be driven end to end on any host: connecting with private
 * data, SENDs with their fix-ups, awaits, "RDMA" transfers that check the
 * STag and address against what is registered, verification, vanishing,
 * the oracle and minimisation.
 *
 * FAKE_TARGET=corrupt-after-snack plants a bug: once a SNACK arrived on a
 * connection, its READs return one byte wrong. The target is no model of
 * a real one beyond that: it refuses truncated or unknown PDUs by
 * disconnecting and answers the rest simply.
 *
 * FAKE_TARGET=leak-after-snack plants another: a SNACK leaves an entry
 * "FAKE_INITIATOR,..." in the directory FAKE_CONNS for good, as a
 * connection the module never freed stays in its debugfs list.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "iscsi_wire.h"

/* ---- CM event channels -------------------------------------------- */

struct fake_ev {
	struct rdma_cm_event ev;	/* first: handed out and given back */
	struct fake_ev *next;
};

struct fake_chan {
	struct rdma_event_channel ch;	/* first: the tool sees only this */
	int wfd;
	struct fake_ev *head, *tail;
};

struct fake_id {
	struct rdma_cm_id id;		/* first */
	bool connected;
};

static void queue_event(struct rdma_cm_id *id, enum rdma_cm_event_type type,
			int status)
{
	struct fake_chan *fc = (struct fake_chan *)id->channel;
	struct fake_ev *e = calloc(1, sizeof(*e));

	if (!e)
		return;
	e->ev.id = id;
	e->ev.event = type;
	e->ev.status = status;
	if (fc->tail)
		fc->tail->next = e;
	else
		fc->head = e;
	fc->tail = e;
	if (write(fc->wfd, "e", 1) != 1)
		abort();
}

struct rdma_event_channel *rdma_create_event_channel(void)
{
	struct fake_chan *fc = calloc(1, sizeof(*fc));
	int p[2];

	if (!fc || pipe(p)) {
		free(fc);
		return NULL;
	}
	fc->ch.fd = p[0];
	fc->wfd = p[1];
	return &fc->ch;
}

void rdma_destroy_event_channel(struct rdma_event_channel *ch)
{
	struct fake_chan *fc = (struct fake_chan *)ch;

	while (fc->head) {
		struct fake_ev *e = fc->head;

		fc->head = e->next;
		free(e);
	}
	close(fc->ch.fd);
	close(fc->wfd);
	free(fc);
}

int rdma_get_cm_event(struct rdma_event_channel *ch, struct rdma_cm_event **ev)
{
	struct fake_chan *fc = (struct fake_chan *)ch;
	struct fake_ev *e = fc->head;
	char b;

	if (!e) {
		errno = EAGAIN;
		return -1;
	}
	fc->head = e->next;
	if (!fc->head)
		fc->tail = NULL;
	if (read(fc->ch.fd, &b, 1) != 1)
		abort();
	*ev = &e->ev;
	return 0;
}

int rdma_ack_cm_event(struct rdma_cm_event *ev)
{
	free(ev);
	return 0;
}

const char *rdma_event_str(enum rdma_cm_event_type event)
{
	switch (event) {
	case RDMA_CM_EVENT_ADDR_RESOLVED: return "RDMA_CM_EVENT_ADDR_RESOLVED";
	case RDMA_CM_EVENT_ROUTE_RESOLVED: return "RDMA_CM_EVENT_ROUTE_RESOLVED";
	case RDMA_CM_EVENT_ESTABLISHED: return "RDMA_CM_EVENT_ESTABLISHED";
	case RDMA_CM_EVENT_REJECTED: return "RDMA_CM_EVENT_REJECTED";
	case RDMA_CM_EVENT_DISCONNECTED: return "RDMA_CM_EVENT_DISCONNECTED";
	default: return "RDMA_CM_EVENT_OTHER";
	}
}

/* ---- verbs objects ------------------------------------------------- */

static int poll_cq(struct ibv_cq *cq, int n, struct ibv_wc *wc);
static int req_notify_cq(struct ibv_cq *cq, int solicited_only);
static int post_send(struct ibv_qp *qp, struct ibv_send_wr *wr,
		     struct ibv_send_wr **bad);
static int post_recv(struct ibv_qp *qp, struct ibv_recv_wr *wr,
		     struct ibv_recv_wr **bad);

static struct ibv_device fake_dev = { .name = "fake0" };
static struct ibv_context fake_ctx = {
	.device = &fake_dev,
	.ops = {
		.poll_cq = poll_cq, .req_notify_cq = req_notify_cq,
		.post_send = post_send, .post_recv = post_recv,
	},
};

struct fake_cc {
	struct ibv_comp_channel cc;	/* first */
	int wfd;
	struct ibv_cq *cq;		/* the one CQ it serves here */
};

#define CQ_SIZE 1024

struct fake_cq {
	struct ibv_cq cq;		/* first */
	struct ibv_wc wc[CQ_SIZE];
	unsigned int head, n;
	bool armed;
};

struct fake_mr {
	struct ibv_mr mr;		/* first */
	struct fake_mr *next;
};

static struct fake_mr *mrs;
static uint32_t next_key = 0x1200;

#define RQ_SIZE 256

struct recv_slot {
	uint64_t wr_id;
	uint8_t *addr;
	uint32_t len;
};

struct fake_qp {
	struct ibv_qp qp;		/* first */
	struct rdma_cm_id *id;
	bool error;
	struct recv_slot rq[RQ_SIZE];
	unsigned int rq_head, rq_n;
	/* the target side */
	bool logged_in, corrupt;
	uint32_t statsn, cmdsn;
};

const char *ibv_get_device_name(struct ibv_device *device)
{
	return device->name;
}

struct ibv_pd *ibv_alloc_pd(struct ibv_context *context)
{
	struct ibv_pd *pd = calloc(1, sizeof(*pd));

	if (pd)
		pd->context = context;
	return pd;
}

int ibv_query_device(struct ibv_context *context, struct ibv_device_attr *attr)
{
	(void)context;
	memset(attr, 0, sizeof(*attr));
	attr->max_qp_rd_atom = 16;
	attr->max_qp_init_rd_atom = 16;
	return 0;
}

struct ibv_comp_channel *ibv_create_comp_channel(struct ibv_context *context)
{
	struct fake_cc *f = calloc(1, sizeof(*f));
	int p[2];

	if (!f || pipe(p)) {
		free(f);
		return NULL;
	}
	f->cc.context = context;
	f->cc.fd = p[0];
	f->wfd = p[1];
	fcntl(f->wfd, F_SETFL, O_NONBLOCK);
	return &f->cc;
}

int ibv_destroy_comp_channel(struct ibv_comp_channel *channel)
{
	struct fake_cc *f = (struct fake_cc *)channel;

	close(f->cc.fd);
	close(f->wfd);
	free(f);
	return 0;
}

struct ibv_cq *ibv_create_cq(struct ibv_context *context, int cqe,
			     void *cq_context, struct ibv_comp_channel *channel,
			     int comp_vector)
{
	struct fake_cq *f = calloc(1, sizeof(*f));

	(void)comp_vector;
	if (!f || cqe > CQ_SIZE) {
		free(f);
		return NULL;
	}
	f->cq.context = context;
	f->cq.channel = channel;
	f->cq.cq_context = cq_context;
	if (channel)
		((struct fake_cc *)channel)->cq = &f->cq;
	return &f->cq;
}

int ibv_destroy_cq(struct ibv_cq *cq)
{
	free(cq);
	return 0;
}

static void add_wc(struct ibv_cq *cq, uint64_t wr_id, enum ibv_wc_status st,
		   enum ibv_wc_opcode op, uint32_t len)
{
	struct fake_cq *f = (struct fake_cq *)cq;
	struct ibv_wc *wc;

	if (f->n == CQ_SIZE)
		abort();
	wc = &f->wc[(f->head + f->n++) % CQ_SIZE];
	memset(wc, 0, sizeof(*wc));
	wc->wr_id = wr_id;
	wc->status = st;
	wc->opcode = op;
	wc->byte_len = len;
	if (f->armed && cq->channel) {
		f->armed = false;
		if (write(((struct fake_cc *)cq->channel)->wfd, "c", 1) != 1)
			abort();
	}
}

static int poll_cq(struct ibv_cq *cq, int n, struct ibv_wc *wc)
{
	struct fake_cq *f = (struct fake_cq *)cq;
	int i;

	for (i = 0; i < n && f->n; i++) {
		wc[i] = f->wc[f->head];
		f->head = (f->head + 1) % CQ_SIZE;
		f->n--;
	}
	return i;
}

static int req_notify_cq(struct ibv_cq *cq, int solicited_only)
{
	(void)solicited_only;
	((struct fake_cq *)cq)->armed = true;
	return 0;
}

int ibv_get_cq_event(struct ibv_comp_channel *channel, struct ibv_cq **cq,
		     void **cq_context)
{
	struct fake_cc *f = (struct fake_cc *)channel;
	char b;

	if (read(f->cc.fd, &b, 1) != 1)
		return -1;
	*cq = f->cq;
	*cq_context = f->cq->cq_context;
	return 0;
}

void ibv_ack_cq_events(struct ibv_cq *cq, unsigned int nevents)
{
	(void)cq;
	(void)nevents;
}

const char *ibv_wc_status_str(enum ibv_wc_status status)
{
	return status == IBV_WC_SUCCESS ? "success" :
	       status == IBV_WC_WR_FLUSH_ERR ? "WR flushed" : "error";
}

/* The fake target sends no RDMA WRITE a changed access could refuse. */
int ibv_modify_qp(struct ibv_qp *qp, struct ibv_qp_attr *attr, int attr_mask)
{
	(void)qp;
	(void)attr;
	(void)attr_mask;
	errno = EOPNOTSUPP;
	return EOPNOTSUPP;
}

#undef ibv_reg_mr
struct ibv_mr *ibv_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
			  int access)
{
	struct fake_mr *f = calloc(1, sizeof(*f));

	(void)access;
	if (!f)
		return NULL;
	f->mr.pd = pd;
	f->mr.context = pd->context;
	f->mr.addr = addr;
	f->mr.length = length;
	f->mr.lkey = f->mr.rkey = next_key;
	next_key += 0x100;
	f->next = mrs;
	mrs = f;
	return &f->mr;
}

int ibv_dereg_mr(struct ibv_mr *mr)
{
	struct fake_mr **pp;

	for (pp = &mrs; *pp; pp = &(*pp)->next)
		if (&(*pp)->mr == mr) {
			*pp = (*pp)->next;
			free(mr);
			return 0;
		}
	return EINVAL;
}

/* The registered bytes [va, va + len) of @rkey, or NULL: a remote access error. */
static uint8_t *remote(uint32_t rkey, uint64_t va, uint64_t len)
{
	struct fake_mr *f;

	for (f = mrs; f; f = f->next) {
		uint64_t a = (uintptr_t)f->mr.addr;

		if (f->mr.rkey == rkey && va >= a && len <= f->mr.length &&
		    va - a <= f->mr.length - len)
			return (uint8_t *)(uintptr_t)va;
	}
	return NULL;
}

/* ---- CM ids and queue pairs ------------------------------------------ */

int rdma_create_id(struct rdma_event_channel *channel, struct rdma_cm_id **id,
		   void *context, enum rdma_port_space ps)
{
	struct fake_id *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->id.channel = channel;
	f->id.context = context;
	f->id.ps = ps;
	*id = &f->id;
	return 0;
}

int rdma_resolve_addr(struct rdma_cm_id *id, struct sockaddr *src,
		      struct sockaddr *dst, int timeout_ms)
{
	(void)src;
	(void)dst;
	(void)timeout_ms;
	id->verbs = &fake_ctx;
	queue_event(id, RDMA_CM_EVENT_ADDR_RESOLVED, 0);
	return 0;
}

int rdma_resolve_route(struct rdma_cm_id *id, int timeout_ms)
{
	(void)timeout_ms;
	queue_event(id, RDMA_CM_EVENT_ROUTE_RESOLVED, 0);
	return 0;
}

int rdma_create_qp(struct rdma_cm_id *id, struct ibv_pd *pd,
		   struct ibv_qp_init_attr *attr)
{
	struct fake_qp *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->qp.context = &fake_ctx;
	f->qp.pd = pd;
	f->qp.send_cq = attr->send_cq;
	f->qp.recv_cq = attr->recv_cq;
	f->qp.qp_type = attr->qp_type;
	f->id = id;
	id->qp = &f->qp;
	return 0;
}

void rdma_destroy_qp(struct rdma_cm_id *id)
{
	free(id->qp);
	id->qp = NULL;
}

/* The target refuses CM private data shorter than the iSER CM REQ. */
int rdma_connect(struct rdma_cm_id *id, struct rdma_conn_param *param)
{
	if (!id->qp) {
		errno = EINVAL;
		return -1;
	}
	if (param->private_data_len < ISER_CM_REQ_LEN) {
		queue_event(id, RDMA_CM_EVENT_REJECTED, 28);
		return 0;
	}
	((struct fake_id *)id)->connected = true;
	queue_event(id, RDMA_CM_EVENT_ESTABLISHED, 0);
	return 0;
}

/* The queue pair fails: what is posted to it is flushed. */
static void qp_error(struct fake_qp *q)
{
	if (q->error)
		return;
	q->error = true;
	while (q->rq_n) {
		add_wc(q->qp.recv_cq, q->rq[q->rq_head].wr_id, IBV_WC_WR_FLUSH_ERR,
		       IBV_WC_RECV, 0);
		q->rq_head = (q->rq_head + 1) % RQ_SIZE;
		q->rq_n--;
	}
}

int rdma_disconnect(struct rdma_cm_id *id)
{
	struct fake_id *f = (struct fake_id *)id;

	if (id->qp)
		qp_error((struct fake_qp *)id->qp);
	if (f->connected) {
		f->connected = false;
		queue_event(id, RDMA_CM_EVENT_DISCONNECTED, 0);
	}
	return 0;
}

int rdma_destroy_id(struct rdma_cm_id *id)
{
	free(id);
	return 0;
}

int rdma_bind_addr(struct rdma_cm_id *id, struct sockaddr *addr)
{
	(void)id;
	(void)addr;
	errno = ENOSYS;
	return -1;
}

int rdma_listen(struct rdma_cm_id *id, int backlog)
{
	(void)id;
	(void)backlog;
	errno = ENOSYS;
	return -1;
}

int rdma_accept(struct rdma_cm_id *id, struct rdma_conn_param *param)
{
	(void)id;
	(void)param;
	errno = ENOSYS;
	return -1;
}

int rdma_reject(struct rdma_cm_id *id, const void *private_data,
		uint8_t private_data_len)
{
	(void)id;
	(void)private_data;
	(void)private_data_len;
	errno = ENOSYS;
	return -1;
}

/* ---- the target ----------------------------------------------------- */

/* The blocks the fuzzer may use, from any LBA on: enough for a fake. */
#define DISK_BLOCKS 8192
static uint8_t disk[DISK_BLOCKS * 512];

/* The target ends the connection, as a real one does on a bad PDU. */
static void target_drop(struct fake_qp *q)
{
	rdma_disconnect(q->id);
}

static void respond(struct fake_qp *q, uint8_t *bhs, const void *data,
		    uint32_t dlen)
{
	struct recv_slot *s;
	uint32_t len = HDRS_LEN + dlen;

	if (q->error)
		return;
	if (!q->rq_n) {		/* receiver not ready, for good */
		target_drop(q);
		return;
	}
	s = &q->rq[q->rq_head];
	q->rq_head = (q->rq_head + 1) % RQ_SIZE;
	q->rq_n--;
	if (len > s->len) {
		add_wc(q->qp.recv_cq, s->wr_id, IBV_WC_LOC_LEN_ERR, IBV_WC_RECV, 0);
		target_drop(q);
		return;
	}
	put24(bhs + B_DLEN, dlen);
	put32(bhs + B_CMDSN, q->statsn++);
	put32(bhs + B_EXPSTATSN, q->cmdsn);
	put32(bhs + B_MAXCMDSN, q->cmdsn + 63);
	memset(s->addr, 0, ISER_HDR_LEN);
	s->addr[0] = ISER_OP_ISCSI_CTRL;
	memcpy(s->addr + ISER_HDR_LEN, bhs, BHS_LEN);
	if (dlen)
		memcpy(s->addr + HDRS_LEN, data, dlen);
	add_wc(q->qp.recv_cq, s->wr_id, IBV_WC_SUCCESS, IBV_WC_RECV, len);
}

static void rsp_bhs(uint8_t *r, uint8_t op, uint8_t flags, const uint8_t *req)
{
	memset(r, 0, BHS_LEN);
	r[0] = op;
	r[1] = flags;
	memcpy(r + B_ITT, req + B_ITT, 4);
	put32(r + B_TTT, RSVD_TAG);
}

static void scsi(struct fake_qp *q, const uint8_t *ih, const uint8_t *bhs,
		 const uint8_t *data, uint32_t dlen)
{
	const uint8_t *cdb = bhs + B_CDB;
	uint32_t edtl = get32(bhs + B_TTT), lba = get32(cdb + 2) % DISK_BLOCKS;
	uint32_t n = get16(cdb + 7) * 512u;
	uint8_t r[BHS_LEN], *buf;

	rsp_bhs(r, OP_SCSI_RSP, FLAG_FINAL, bhs);
	if ((cdb[0] == SCSI_READ10 || cdb[0] == SCSI_WRITE10) &&
	    (n != edtl || lba + n / 512 > DISK_BLOCKS || dlen > n)) {
		r[3] = SCSI_CHECK;
		respond(q, r, NULL, 0);
		return;
	}
	if (cdb[0] == SCSI_WRITE10) {
		memcpy(disk + lba * 512, data, dlen);
		if (n > dlen) {
			/* RDMA READ of the rest from the initiator's buffer. */
			buf = ih[0] & ISER_FLAG_WSV ?
			      remote(get32(ih + 4), get64(ih + 8), n - dlen) : NULL;
			if (!buf) {
				target_drop(q);
				return;
			}
			memcpy(disk + lba * 512 + dlen, buf, n - dlen);
		}
	} else if (cdb[0] == SCSI_READ10) {
		buf = ih[0] & ISER_FLAG_RSV ?
		      remote(get32(ih + 16), get64(ih + 20), n) : NULL;
		if (!buf) {
			target_drop(q);
			return;
		}
		memcpy(buf, disk + lba * 512, n);
		if (q->corrupt && n)
			buf[n / 2] ^= 0x01;
	} else if (cdb[0] != SCSI_TUR) {
		r[3] = SCSI_CHECK;
	}
	respond(q, r, NULL, 0);
}

/* leak-after-snack: list a connection that is never taken off. */
static void leak_entry(void)
{
	static unsigned int serial;
	const char *dir = getenv("FAKE_CONNS"), *name = getenv("FAKE_INITIATOR");
	char path[4096];
	int fd;

	if (!dir || !name)
		return;
	snprintf(path, sizeof(path), "%s/%s,fake,%d,%u", dir, name, (int)getpid(),
		 serial++);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd >= 0)
		close(fd);
}

static void target_rx(struct fake_qp *q, const uint8_t *p, uint32_t len)
{
	const uint8_t *bhs = p + ISER_HDR_LEN, *data;
	static const char text[] = "TargetName=iqn.2026-11.org.example:fake";
	const char *bug = getenv("FAKE_TARGET");
	uint32_t dlen, ahs;
	uint8_t r[BHS_LEN], op;

	if (len < HDRS_LEN || (p[0] & 0xf3) != ISER_OP_ISCSI_CTRL) {
		target_drop(q);
		return;
	}
	op = bhs[0] & OP_MASK;
	dlen = get24(bhs + B_DLEN);
	ahs = bhs[B_AHSLEN] * 4u;
	if ((uint64_t)HDRS_LEN + ahs + dlen > len || dlen > 65536 ||
	    (!q->logged_in && op != OP_LOGIN)) {
		target_drop(q);
		return;
	}
	data = p + HDRS_LEN + ahs;
	switch (op) {
	case OP_LOGIN:
		if (q->logged_in || (bhs[1] & (LOGIN_T | LOGIN_C)) ==
		    (LOGIN_T | LOGIN_C)) {
			target_drop(q);
			return;
		}
		if (!q->statsn)
			q->statsn = 0x5000;
		q->cmdsn = get32(bhs + B_CMDSN);
		rsp_bhs(r, OP_LOGIN_RSP, bhs[1] & (bhs[1] & LOGIN_C ? 0x0c :
						   LOGIN_T | 0x0f), bhs);
		memcpy(r + 8, bhs + 8, 8);
		if ((bhs[1] & LOGIN_T) && (bhs[1] & 3) == STAGE_FFP) {
			q->logged_in = true;
			put16(r + 14, 1);
		}
		respond(q, r, NULL, 0);
		break;
	case OP_SCSI_CMD:
		if (!(bhs[0] & OP_IMMEDIATE) && get32(bhs + B_CMDSN) == q->cmdsn)
			q->cmdsn++;
		scsi(q, p, bhs, data, dlen);
		break;
	case OP_NOOP_OUT:
		if (get32(bhs + B_ITT) == RSVD_TAG)
			break;
		rsp_bhs(r, OP_NOOP_IN, FLAG_FINAL, bhs);
		respond(q, r, data, dlen);
		break;
	case OP_TEXT:
		rsp_bhs(r, OP_TEXT_RSP, bhs[1] & LOGIN_C ? 0 : FLAG_FINAL, bhs);
		if (bhs[1] & LOGIN_C)
			put32(r + B_TTT, 0x77);
		respond(q, r, text, bhs[1] & LOGIN_C ? 0 : sizeof(text));
		break;
	case OP_TMF:
		rsp_bhs(r, OP_TMF_RSP, FLAG_FINAL, bhs);
		respond(q, r, NULL, 0);
		break;
	case OP_LOGOUT:
		rsp_bhs(r, OP_LOGOUT_RSP, FLAG_FINAL, bhs);
		respond(q, r, NULL, 0);
		target_drop(q);
		break;
	case OP_DATA_OUT:
		break;
	case OP_SNACK:
		if (bug && !strcmp(bug, "corrupt-after-snack"))
			q->corrupt = true;
		if (bug && !strcmp(bug, "leak-after-snack"))
			leak_entry();
		/* fall through */
	default:
		rsp_bhs(r, OP_REJECT, FLAG_FINAL, bhs);
		r[2] = 0x04;
		put32(r + B_ITT, RSVD_TAG);
		respond(q, r, bhs, BHS_LEN);
		break;
	}
}

static int post_send(struct ibv_qp *qp, struct ibv_send_wr *wr,
		     struct ibv_send_wr **bad)
{
	struct fake_qp *q = (struct fake_qp *)qp;

	(void)bad;
	for (; wr; wr = wr->next) {
		if (q->error || !((struct fake_id *)q->id)->connected) {
			add_wc(qp->send_cq, wr->wr_id, IBV_WC_WR_FLUSH_ERR,
			       IBV_WC_SEND, 0);
			continue;
		}
		add_wc(qp->send_cq, wr->wr_id, IBV_WC_SUCCESS, IBV_WC_SEND, 0);
		target_rx(q, wr->num_sge ? (uint8_t *)(uintptr_t)wr->sg_list[0].addr :
			  NULL, wr->num_sge ? wr->sg_list[0].length : 0);
	}
	return 0;
}

static int post_recv(struct ibv_qp *qp, struct ibv_recv_wr *wr,
		     struct ibv_recv_wr **bad)
{
	struct fake_qp *q = (struct fake_qp *)qp;

	(void)bad;
	for (; wr; wr = wr->next) {
		struct recv_slot *s;

		if (q->error) {
			add_wc(qp->recv_cq, wr->wr_id, IBV_WC_WR_FLUSH_ERR,
			       IBV_WC_RECV, 0);
			continue;
		}
		if (q->rq_n == RQ_SIZE)
			return ENOMEM;
		s = &q->rq[(q->rq_head + q->rq_n++) % RQ_SIZE];
		s->wr_id = wr->wr_id;
		s->addr = (uint8_t *)(uintptr_t)wr->sg_list[0].addr;
		s->len = wr->sg_list[0].length;
	}
	return 0;
}
