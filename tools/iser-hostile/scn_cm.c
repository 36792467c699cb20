// SPDX-License-Identifier: GPL-2.0
/*
 * iser-hostile: connection-level scenarios: CM private data, connections
 * that never log in, connect storms, a user-space listener, and sessions
 * that vanish in the middle of an RDMA transfer. Also the helpers that
 * drive many connections on one event channel, which login-starve uses.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hostile.h"

int sc_cm_pdata(struct result *res)
{
	uint8_t pd[64];
	int len = 0;
	struct conn_cfg cfg;
	struct conn *c;
	struct login_keys k = {
		.session_type = "Normal", .two_stage = o.two_stage,
	};
	char err[256];
	double t0;
	int ret;

	if (o.pdata_hex) {
		len = hex_bytes(o.pdata_hex, pd, 56);
		if (len < 0) {
			set_out(res, OUT_ERROR, 0);
			note(res, "bad --pdata");
			return 0;
		}
	} else if (o.pdata_random >= 0) {
		int i;

		len = o.pdata_random > 56 ? 56 : o.pdata_random;
		srandom((unsigned int)(time(NULL) ^ getpid()));
		for (i = 0; i < len; i++)
			pd[i] = (uint8_t)random();
	}
	if (len)
		note(res, "%d bytes of CM private data, flags 0x%02x", len, pd[0]);
	else
		note(res, "no CM private data");
	conn_cfg_default(&cfg);
	c = conn_new(&cfg, NULL, NULL);
	if (!c) {
		set_out(res, OUT_ERROR, 0);
		return 0;
	}
	conn_ids(c);
	t0 = now();
	ret = conn_connect(c, pd, (uint8_t)len, o.timeout);
	if (ret) {
		set_out(res, c->refused ? OUT_REFUSED : OUT_ERROR, t0);
		note(res, "%s", conn_why(c));
		conn_free(c);
		return 0;
	}
	note(res, "connection accepted");
	ret = login(c, &k, now() + o.timeout, err, sizeof(err));
	if (ret) {
		set_out(res, conn_alive(c) ? OUT_FAILED : OUT_DROPPED, t0);
		note(res, "login: %s", err);
		conn_free(c);
		return 0;
	}
	settle(c, now(), res);
	if (res->out == OUT_ALIVE && logout(c, now() + o.timeout))
		note(res, "logout did not complete");
	conn_free(c);
	return 0;
}

int sc_idle(struct result *res)
{
	struct conn *c = open_conn(res, NULL);
	double t0 = now();

	if (!c)
		return 0;
	while (c->state != C_DOWN && now() < t0 + o.timeout)
		conn_poll(c, 200);
	if (c->state != C_DOWN) {
		set_out(res, OUT_ALIVE, t0);
		note(res, "still connected after %.0f s without a login", o.timeout);
	} else {
		res->out = OUT_DROPPED;
		res->secs = c->t_down - t0;
		note(res, "dropped after %.1f s without a login: %s", res->secs,
		     c->why);
	}
	conn_free(c);
	return 0;
}

/* Set by SIGTERM or SIGINT: the many-connection scenarios wind up cleanly. */
static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* Pump the shared event channel of many connections for up to @ms. */
void pump(struct rdma_event_channel *ec, int ms)
{
	struct pollfd pfd = { .fd = ec->fd, .events = POLLIN };
	struct rdma_cm_event *ev;

	if (poll(&pfd, 1, ms) <= 0)
		return;
	while (rdma_get_cm_event(ec, &ev) == 0) {
		struct rdma_cm_event copy = *ev;
		struct conn *c = ev->id->context;

		rdma_ack_cm_event(ev);
		if (c)
			conn_handle_cm(c, &copy);
	}
}

void small_cfg(struct conn_cfg *cfg)
{
	cfg->nrx = 1;
	cfg->rxsz = 256;
	cfg->ntx = 1;
	cfg->txsz = 256;
	cfg->datasz = 0;
}

/*
 * Start @n connects on the shared channel @ec into @cs, --parallel at a
 * time, and pump until each is answered (up, refused or failed), the time
 * runs out or a signal stops us. Returns how many were started.
 */
unsigned int connect_many(struct rdma_event_channel *ec,
			  struct conn **cs, unsigned int n,
			  const struct conn_cfg *cfg)
{
	unsigned int i, started = 0;
	double t0 = now();

	for (;;) {
		unsigned int pending = 0;

		for (i = 0; i < started; i++)
			if (cs[i]->state != C_UP && cs[i]->state != C_DOWN)
				pending++;
		while (started < n && pending < o.parallel) {
			struct conn *c = conn_new(cfg, ec, NULL);

			if (!c)
				break;
			conn_ids(c);
			cs[started++] = c;
			pending++;
			if (conn_start(c, iser_pdata, sizeof(iser_pdata)))
				conn_mark_down(c, "conn_start failed");
		}
		if (started == n && !pending)
			break;
		if (now() > t0 + o.timeout + n * 0.5 || stop_flag)
			break;
		pump(ec, 100);
	}
	return started;
}

/* How the connects of connect_many() were answered: up, refused, failed. */
void count_answers(struct conn **cs, unsigned int n, unsigned int *up,
		   unsigned int *refused, unsigned int *failed)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (cs[i]->state == C_UP)
			++*up;
		else if (cs[i]->refused)
			++*refused;
		else
			++*failed;
	}
}

/* Disconnect the @n connections of @cs, wait (10 s at most), free them. */
void hang_up_many(struct rdma_event_channel *ec, struct conn **cs,
		  unsigned int n)
{
	unsigned int i;
	double end;

	for (i = 0; i < n; i++)
		if (cs[i]->state == C_UP) {
			cs[i]->we_disconnected = true;
			rdma_disconnect(cs[i]->id);
		}
	end = now() + 10;
	for (;;) {
		unsigned int left = 0;

		for (i = 0; i < n; i++)
			left += cs[i]->state == C_UP;
		if (!left || now() > end)
			break;
		pump(ec, 100);
	}
	for (i = 0; i < n; i++)
		conn_free(cs[i]);
}

/*
 * Hold --count connections open without logging in for --hold seconds
 * (or until SIGTERM). Prints "READY established=N ..." on stdout once all
 * connects are answered, so that a test can measure the target meanwhile.
 */
int sc_idle_hold(struct result *res)
{
	struct rdma_event_channel *ec = event_channel();
	struct conn **cs;
	struct conn_cfg cfg;
	unsigned int i, started, up = 0, refused = 0, failed = 0, dropped = 0;
	double t0 = now(), t_ready, first_drop = 0, last_drop = 0, end;

	if (!ec) {
		set_out(res, OUT_ERROR, 0);
		note(res, "cannot create an RDMA CM event channel");
		return 0;
	}
	cs = calloc(o.count, sizeof(*cs));
	small_cfg(&cfg);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	started = connect_many(ec, cs, o.count, &cfg);
	count_answers(cs, started, &up, &refused, &failed);
	t_ready = now();
	printf("READY established=%u refused=%u failed=%u of=%u seconds=%.1f\n",
	       up, refused, failed, o.count, t_ready - t0);
	fflush(stdout);
	note(res, "%u of %u connections established in %.1f s (%u refused, %u failed)",
	     up, o.count, t_ready - t0, refused, failed);

	end = t_ready + o.hold;
	while (!stop_flag && now() < end) {
		pump(ec, 200);
		for (i = 0; i < started; i++) {
			struct conn *c = cs[i];

			if (c->established && c->dropped && !c->user) {
				c->user = 1;
				dropped++;
				last_drop = c->t_down - t_ready;
				if (dropped == 1)
					first_drop = last_drop;
			}
		}
	}
	note(res, "held %.1f s: the target dropped %u of them (first after %.1f s, last after %.1f s)",
	     now() - t_ready, dropped, first_drop, last_drop);
	printf("HELD seconds=%.1f dropped=%u first=%.1f last=%.1f\n",
	       now() - t_ready, dropped, first_drop, last_drop);
	fflush(stdout);
	hang_up_many(ec, cs, started);
	free(cs);
	rdma_destroy_event_channel(ec);
	set_out(res, up == o.count ? OUT_ALIVE : up ? OUT_FAILED : OUT_REFUSED, 0);
	res->secs = t_ready - t0;
	return 0;
}

/*
 * --count connects, --parallel at a time: each is disconnected as soon as
 * it is established; every --abort-every'th is torn down right after its
 * connect request instead, before the target's reply.
 */
int sc_storm(struct result *res)
{
	struct rdma_event_channel *ec = event_channel();
	struct conn_cfg cfg;
	struct conn *live = NULL, **pp;
	unsigned int started = 0, done = 0, up = 0, refused = 0, aborted = 0;
	unsigned int stuck = 0, failed = 0, inflight = 0;
	double t0 = now(), dt;

	if (!ec) {
		set_out(res, OUT_ERROR, 0);
		return 0;
	}
	small_cfg(&cfg);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	while (done < o.count && !stop_flag) {
		while (started < o.count && inflight < o.parallel &&
		       now() < t0 + o.timeout) {
			struct conn *c = conn_new(&cfg, ec, NULL);

			if (!c)
				break;
			conn_ids(c);
			c->user = (int)++started;
			c->next = live;
			live = c;
			inflight++;
			if (conn_start(c, iser_pdata, sizeof(iser_pdata)))
				conn_mark_down(c, "conn_start failed");
		}
		if (!inflight)
			break;
		pump(ec, 50);
		for (pp = &live; *pp;) {
			struct conn *c = *pp;
			bool finished = false;

			if (c->state == C_UP && !c->we_disconnected) {
				up++;
				c->we_disconnected = true;
				rdma_disconnect(c->id);
			} else if (c->state == C_CONNECTING && o.abort_every &&
				   c->user % (int)o.abort_every == 0) {
				aborted++;
				finished = true;
			} else if (c->state == C_DOWN) {
				if (c->refused)
					refused++;
				else if (!c->established)
					failed++;
				finished = true;
			} else if (now() - c->t_start > 15) {
				stuck++;
				info("connect %d stuck in state %d", c->user, c->state);
				finished = true;
			}
			if (finished) {
				*pp = c->next;
				conn_free(c);
				inflight--;
				done++;
			} else {
				pp = &c->next;
			}
		}
	}
	while (live) {
		struct conn *c = live;

		live = c->next;
		stuck++;
		conn_free(c);
	}
	rdma_destroy_event_channel(ec);
	dt = now() - t0;
	note(res, "%u connects in %.1f s (%.0f per minute): %u established and "
	     "disconnected, %u aborted before the reply, %u refused, %u failed, "
	     "%u stuck", done, dt, dt > 0 ? done * 60.0 / dt : 0.0, up, aborted,
	     refused, failed, stuck);
	set_out(res, stuck || failed ? OUT_WEDGED : done < o.count ? OUT_FAILED :
		OUT_ALIVE, 0);
	res->secs = dt;
	if (done < o.count)
		note(res, "only %u of %u within the %.0f s timeout", done, o.count,
		     o.timeout);
	return 0;
}

/*
 * A user-space RDMA CM listener on --target:--port that accepts every
 * connect with a small queue pair and holds it (for --hold seconds or
 * until SIGTERM): connected to by idle-hold, it tells what the initiator
 * side of a connection costs, so that the target's share can be told.
 */
int sc_listen(struct result *res)
{
	struct rdma_event_channel *ec = event_channel();
	struct sockaddr_storage ss;
	struct rdma_cm_id *lid = NULL;
	struct conn_cfg cfg;
	struct conn *live = NULL, **pp;
	unsigned int accepted = 0, failed = 0, gone = 0;
	double end;

	if (!ec || resolve_dst(&ss, o.target, o.port) ||
	    rdma_create_id(ec, &lid, NULL, RDMA_PS_TCP) ||
	    rdma_bind_addr(lid, (struct sockaddr *)&ss) || rdma_listen(lid, 1024)) {
		set_out(res, OUT_ERROR, 0);
		note(res, "cannot listen on %s:%s: %s", o.target, o.port,
		     strerror(errno));
		return 0;
	}
	small_cfg(&cfg);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("LISTENING %s:%s\n", o.target, o.port);
	fflush(stdout);
	end = now() + o.hold;
	while (!stop_flag && now() < end) {
		struct pollfd pfd = { .fd = ec->fd, .events = POLLIN };
		struct rdma_cm_event *ev;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		while (rdma_get_cm_event(ec, &ev) == 0) {
			struct rdma_cm_event copy = *ev;
			struct conn *c;

			if (copy.event == RDMA_CM_EVENT_CONNECT_REQUEST) {
				static const uint8_t rep[ISER_CM_REP_LEN] = {
					ISER_CM_ZBVA_NOT_USED | ISER_CM_SIE_NOT_USED,
				};
				struct rdma_conn_param cp = {
					.private_data = rep,
					.private_data_len = sizeof(rep),
					.responder_resources = 1,
					.initiator_depth = 1,
					.rnr_retry_count = 7,
				};

				rdma_ack_cm_event(ev);
				c = conn_new(&cfg, ec, NULL);
				if (!c) {
					rdma_reject(copy.id, NULL, 0);
					rdma_destroy_id(copy.id);
					failed++;
					continue;
				}
				c->id = copy.id;
				c->id->context = c;
				if (conn_accept_verbs(c) || rdma_accept(c->id, &cp)) {
					failed++;
					conn_free(c);
					continue;
				}
				c->state = C_CONNECTING;
				c->next = live;
				live = c;
				continue;
			}
			c = copy.id->context;
			rdma_ack_cm_event(ev);
			if (!c)
				continue;
			conn_handle_cm(c, &copy);
			if (copy.event == RDMA_CM_EVENT_ESTABLISHED)
				accepted++;
		}
		for (pp = &live; *pp;) {
			struct conn *c = *pp;

			if (c->state == C_DOWN) {
				*pp = c->next;
				conn_free(c);
				gone++;
			} else {
				pp = &c->next;
			}
		}
	}
	while (live) {
		struct conn *c = live;

		live = c->next;
		rdma_disconnect(c->id);
		conn_free(c);
	}
	rdma_destroy_id(lid);
	rdma_destroy_event_channel(ec);
	note(res, "accepted %u connections (%u failed, %u closed by the peer)",
	     accepted, failed, gone);
	set_out(res, OUT_ALIVE, 0);
	return 0;
}

/*
 * --count rounds of: log in, start a 1 MiB WRITE (or READ) whose data the
 * target moves by RDMA, and after --delay-us (growing each round) vanish:
 * disconnect, destroy the queue pair without a disconnect, or deregister
 * the buffer the target is reading.
 */
int sc_rdma_disconnect(struct result *res)
{
	unsigned int round, done = 0, drops = 0;
	static const char *const how[] = {
		"disconnect during WRITE", "destroy QP during WRITE",
		"deregister buffer during WRITE", "disconnect during READ",
	};
	double t0 = now();

	for (round = 0; round < o.count; round++) {
		struct conn *c = open_session(res, NULL);
		unsigned int mode = round % 4;
		long long delay = o.delay_us >= 0 ? o.delay_us :
				  (long long)(round / 4) * 2000;
		struct scsi_req r = {};

		if (!c)
			return 0;
		res->detail[0] = 0;
		fill_pattern(c->data, 1u << 20, 3, 0);
		cdb_rw10(r.cdb, mode != 3, (uint32_t)o.lba, 2048);
		r.write = mode != 3;
		r.read = mode == 3;
		r.final = mode == 3;
		r.edtl = 1u << 20;
		r.imm = r.write ? imm_len(c, r.edtl) : 0;
		r.unsol = r.write;
		r.buf = c->data;
		r.stag = c->dmr->rkey;
		r.va = (uintptr_t)c->data;
		if (scsi_send(c, &r)) {
			conn_free(c);
			continue;
		}
		if (delay > 0)
			usleep((useconds_t)delay);
		info("round %u: %s after %lld us", round, how[mode], delay);
		switch (mode) {
		case 1:
			/* No DREQ: the target finds out from its own errors. */
			rdma_destroy_qp(c->id);
			c->qp = NULL;
			break;
		case 2:
			ibv_dereg_mr(c->dmr);
			c->dmr = NULL;
			{
				struct scsi_rsp rsp;

				scsi_wait(c, r.itt, now() + o.timeout, &rsp);
			}
			break;
		default:
			break;
		}
		if (!conn_alive(c))
			drops++;
		conn_disconnect(c, o.timeout);
		conn_free(c);
		done++;
	}
	res->detail[0] = 0;
	note(res, "%u of %u rounds (disconnect, destroy QP, deregister MR during "
	     "RDMA READ; disconnect during RDMA WRITE); the target dropped %u first",
	     done, o.count, drops);
	set_out(res, done == o.count ? OUT_ALIVE : OUT_FAILED, 0);
	res->secs = now() - t0;
	return 0;
}
