// SPDX-License-Identifier: GPL-2.0
/*
 * iser-hostile: login-phase scenarios: crafted, stalled, out-of-order and
 * malformed Login Requests, extra or replaced keys, and a good login held
 * up behind idle connections and stalled logins.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostile.h"

static const char *std_keys_stage0(char *buf, size_t len)
{
	snprintf(buf, len, "InitiatorName=%s;TargetName=%s;SessionType=Normal;"
		 "AuthMethod=None", o.initiator, o.iqn);
	return buf;
}

/* One crafted first login PDU: a stage-0 Login Request unless knobs say otherwise. */
int sc_login_raw(struct result *res)
{
	static uint8_t data[1 << 17];
	struct conn *c = open_conn(res, NULL);
	char keys[1024];
	struct pdu p;

	if (!c)
		return 0;
	login_pdu(c, &p, data, sizeof(data), STAGE_SEC, STAGE_OP, true,
		  o.keys ? o.keys : std_keys_stage0(keys, sizeof(keys)));
	send_knobbed(c, &p, data, sizeof(data), res);
	return 0;
}

/* Security stage, then silence: the target must time the login out. */
int sc_login_stall(struct result *res)
{
	uint8_t buf[1024], cls, det;
	struct conn *c = open_conn(res, NULL);
	char keys[1024];
	struct pdu p;
	double t;

	if (!c)
		return 0;
	login_pdu(c, &p, buf, sizeof(buf), STAGE_SEC, STAGE_OP, true,
		  std_keys_stage0(keys, sizeof(keys)));
	if (pdu_send(c, &p) || login_wait_rsp(c, now() + o.timeout, &cls, &det, NULL)) {
		set_out(res, OUT_ERROR, 0);
		note(res, "no answer to the first login request");
		conn_free(c);
		return 0;
	}
	note(res, "first login response: class %u detail %u; now silent", cls, det);
	t = now();
	while (c->state != C_DOWN && now() < t + o.timeout)
		conn_poll(c, 200);
	if (c->state != C_DOWN) {
		set_out(res, OUT_ALIVE, t);
		note(res, "still connected %.0f s into a stalled login", o.timeout);
	} else {
		res->out = OUT_DROPPED;
		res->secs = c->t_down - t;
		note(res, "%s", c->why);
	}
	conn_free(c);
	return 0;
}

/*
 * --count idle connections, then --stalled logins left hanging after their
 * first request, all held while a good session logs in and verifies: how
 * long does its login wait behind them? Prints a STARVE line; the outcome
 * is the good session's.
 */
int sc_login_starve(struct result *res)
{
	struct rdma_event_channel *ec = event_channel();
	struct conn_cfg icfg, scfg;
	struct conn **cs, **st;
	unsigned int i, n_idle, n_st, idle_up = 0, idle_refused = 0;
	unsigned int idle_failed = 0, idle_dropped = 0, stalled = 0;
	unsigned int st_dropped = 0, st_answered = 0, inflight;
	double t0, t_end, login_s, end;
	uint8_t buf[1024];
	char keys[1024];

	if (!ec) {
		set_out(res, OUT_ERROR, 0);
		note(res, "cannot create an RDMA CM event channel");
		return 0;
	}
	cs = calloc((size_t)o.count + o.stalled, sizeof(*cs));
	if (!cs) {
		set_out(res, OUT_ERROR, 0);
		note(res, "out of memory");
		rdma_destroy_event_channel(ec);
		return 0;
	}
	small_cfg(&icfg);
	n_idle = connect_many(ec, cs, o.count, &icfg);
	count_answers(cs, n_idle, &idle_up, &idle_refused, &idle_failed);
	info("%u of %u idle connections up, %u refused, %u failed", idle_up,
	     o.count, idle_refused, idle_failed);

	/* Room for any login response: no failed receive may end them. */
	conn_cfg_default(&scfg);
	scfg.nrx = 2;
	scfg.ntx = 2;
	scfg.txsz = 2048;
	scfg.datasz = 0;
	st = cs + n_idle;
	n_st = connect_many(ec, st, o.stalled, &scfg);
	std_keys_stage0(keys, sizeof(keys));
	for (i = 0; i < n_st; i++) {
		struct conn *c = st[i];
		struct pdu p;

		if (c->state != C_UP)
			continue;
		login_pdu(c, &p, buf, sizeof(buf), STAGE_SEC, STAGE_OP, true,
			  keys);
		if (pdu_send(c, &p) == 0) {
			c->user = 1;
			stalled++;
		}
	}
	/*
	 * Their logins must be with the target before the good connect:
	 * wait for the sends to complete, not for the answers.
	 */
	end = now() + o.timeout;
	do {
		pump(ec, 50);
		inflight = 0;
		for (i = 0; i < n_st; i++) {
			conn_poll(st[i], 0);
			if (st[i]->user && conn_alive(st[i]))
				inflight += st[i]->tx_inflight;
		}
	} while (inflight && now() < end);
	info("%u of %u logins stalled (%u sends unconfirmed)", stalled,
	     o.stalled, inflight);

	/*
	 * The good session polls only its own channel: the others' events
	 * queue in @ec meanwhile, and are taken afterwards.
	 */
	login_done_at = 0;
	t0 = now();
	sc_good(res);
	t_end = now();
	login_s = login_done_at ? login_done_at - t0 : -1;

	pump(ec, 100);
	for (i = 0; i < n_idle; i++)
		if (cs[i]->established && cs[i]->state == C_DOWN)
			idle_dropped++;
	for (i = 0; i < n_st; i++) {
		conn_poll(st[i], 0);
		if (!st[i]->user)
			continue;
		if (st[i]->rx_count)
			st_answered++;
		if (st[i]->state == C_DOWN)
			st_dropped++;
	}
	printf("STARVE idle_up=%u idle_refused=%u stalled=%u stalled_dropped=%u "
	       "login_seconds=%.2f total_seconds=%.2f\n", idle_up, idle_refused,
	       stalled, st_dropped, login_s, t_end - t0);
	fflush(stdout);
	note(res, "idle_up=%u idle_refused=%u stalled=%u stalled_dropped=%u "
	     "login_seconds=%.2f total_seconds=%.2f", idle_up, idle_refused,
	     stalled, st_dropped, login_s, t_end - t0);
	note(res, "%u idle failed to connect, %u idle dropped, %u stalled "
	     "logins answered by the end", idle_failed, idle_dropped,
	     st_answered);
	hang_up_many(ec, cs, n_idle + n_st);
	free(cs);
	rdma_destroy_event_channel(ec);
	return 0;
}

enum login_variant {
	LV_CSG3,	/* first PDU claims the full feature phase */
	LV_BACKWARDS,	/* operational stage, then back to security */
	LV_ISID,	/* ISID changes between requests */
	LV_PIPELINED,	/* both requests back to back, without waiting */
	LV_JUNK,	/* 8 KiB of key text without a single '=' or NUL */
	LV_NONAME,	/* no InitiatorName */
	LV_TARGET,	/* a TargetName that does not exist */
	LV_CT,		/* both Transit and Continue set */
};

static int sc_login_seq(struct result *res, enum login_variant v)
{
	static uint8_t data[8192];
	char keys[1024], keys2[1024];
	struct conn *c = open_conn(res, NULL);
	struct pdu p;
	uint8_t cls, det;
	double t;
	uint32_t i;

	if (!c)
		return 0;
	std_keys_stage0(keys, sizeof(keys));
	snprintf(keys2, sizeof(keys2), "HeaderDigest=None;DataDigest=None;"
		 "RDMAExtensions=Yes;InitialR2T=No;ImmediateData=Yes");
	t = now();
	switch (v) {
	case LV_CSG3:
		login_pdu(c, &p, data, sizeof(data), STAGE_FFP, STAGE_FFP, true, keys);
		pdu_send(c, &p);
		break;
	case LV_CT:
		login_pdu(c, &p, data, sizeof(data), STAGE_SEC, STAGE_OP, true, keys);
		p.bhs[1] |= LOGIN_C;
		pdu_send(c, &p);
		break;
	case LV_NONAME:
		snprintf(keys, sizeof(keys), "TargetName=%s;SessionType=Normal;"
			 "AuthMethod=None", o.iqn);
		login_pdu(c, &p, data, sizeof(data), STAGE_SEC, STAGE_OP, true, keys);
		pdu_send(c, &p);
		break;
	case LV_TARGET:
		snprintf(keys, sizeof(keys), "InitiatorName=%s;TargetName=%s.nosuch;"
			 "SessionType=Normal;AuthMethod=None", o.initiator, o.iqn);
		login_pdu(c, &p, data, sizeof(data), STAGE_SEC, STAGE_OP, true, keys);
		pdu_send(c, &p);
		break;
	case LV_JUNK:
		login_pdu(c, &p, data, sizeof(data), STAGE_SEC, STAGE_OP, true, NULL);
		for (i = 0; i < sizeof(data); i++)
			data[i] = (uint8_t)('a' + i % 26);
		p.data = data;
		p.datalen = sizeof(data);
		pdu_send(c, &p);
		break;
	case LV_PIPELINED:
		login_pdu(c, &p, data, sizeof(data), STAGE_SEC, STAGE_OP, true, keys);
		pdu_send(c, &p);
		c->exp_statsn++;	/* a guess: the first response's StatSN + 1 */
		login_pdu(c, &p, data, sizeof(data), STAGE_OP, STAGE_FFP, true, keys2);
		pdu_send(c, &p);
		break;
	case LV_BACKWARDS:
	case LV_ISID:
		login_pdu(c, &p, data, sizeof(data), STAGE_SEC, STAGE_OP, true, keys);
		if (pdu_send(c, &p) ||
		    login_wait_rsp(c, now() + o.timeout, &cls, &det, NULL) || cls) {
			set_out(res, OUT_ERROR, 0);
			note(res, "first login request failed");
			conn_free(c);
			return 0;
		}
		if (v == LV_ISID) {
			c->isid[5] ^= 0x5a;
			login_pdu(c, &p, data, sizeof(data), STAGE_OP, STAGE_FFP,
				  true, keys2);
		} else {
			login_pdu(c, &p, data, sizeof(data), STAGE_SEC, STAGE_OP,
				  true, "AuthMethod=None");
		}
		t = now();
		pdu_send(c, &p);
		break;
	}
	settle(c, t, res);
	conn_free(c);
	return 0;
}

int sc_login_csg3(struct result *r) { return sc_login_seq(r, LV_CSG3); }
int sc_login_backwards(struct result *r) { return sc_login_seq(r, LV_BACKWARDS); }
int sc_login_isid(struct result *r) { return sc_login_seq(r, LV_ISID); }
int sc_login_pipelined(struct result *r) { return sc_login_seq(r, LV_PIPELINED); }
int sc_login_junk(struct result *r) { return sc_login_seq(r, LV_JUNK); }
int sc_login_noname(struct result *r) { return sc_login_seq(r, LV_NONAME); }
int sc_login_target(struct result *r) { return sc_login_seq(r, LV_TARGET); }
int sc_login_ct(struct result *r) { return sc_login_seq(r, LV_CT); }

/*
 * A whole login with --keys added (or replacing the tool's own key of the
 * same name), with --target-attr set on the target for it; then a READ of
 * one block, or with --data-len a NOP-Out that asks no answer carrying
 * that many bytes, and a ping. The target either refuses the keys at
 * login (the connection ends) or serves what follows: a drop after a
 * login it accepted is a failure.
 */
int sc_login_keys(struct result *res)
{
	struct login_keys k = {
		.session_type = o.session, .extra = o.keys,
		.two_stage = o.two_stage,
	};
	char path[1024] = "", old[64] = "";
	struct conn *c = open_conn(res, NULL);
	struct scsi_req r;
	struct scsi_rsp rsp;
	char err[256];
	double t;
	int ret;

	if (!c)
		return 0;
	if (target_attr_set(path, sizeof(path), old, sizeof(old))) {
		set_out(res, OUT_ERROR, 0);
		note(res, "cannot set %s: needs the target's configfs here",
		     o.target_attr);
		conn_free(c);
		return 0;
	}
	t = now();
	ret = login(c, &k, now() + o.timeout, err, sizeof(err));
	note(res, "login with %s: %s", o.keys ? o.keys : "no extra keys",
	     ret ? err : "logged in");
	if (*path)
		write_attr(path, old);
	if (ret) {
		settle(c, t, res);
		if (ret > 0 && res->out != OUT_DROPPED)
			set_out(res, OUT_REFUSED, t);
		conn_free(c);
		return 0;
	}
	if (o.data_len > 0) {
		uint32_t n = (uint32_t)o.data_len;

		if (n > c->cfg.datasz)
			n = (uint32_t)c->cfg.datasz;
		memset(c->data, 0x5a, n);
		t = now();
		nop_send(c, RSVD_TAG, c->data, n);
		note(res, "NOP-Out with %u bytes of data (TargetRecvDataSegmentLength %u)",
		     n, c->trdsl);
		settle(c, t, res);
		if (res->out == OUT_DROPPED && n <= c->trdsl) {
			set_out(res, OUT_FAILED, t);
			note(res, "the target dropped a PDU within the length it agreed to");
		}
		conn_free(c);
		return 0;
	}
	read_req(c, &r, 1);
	if (scsi_exec(c, &r, now() + o.timeout, &rsp) == 0 &&
	    rsp.status == SCSI_GOOD)
		note(res, "a READ completed");
	settle(c, t, res);
	conn_free(c);
	return 0;
}
