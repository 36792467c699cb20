// SPDX-License-Identifier: GPL-2.0
/*
 * iser-hostile: flood scenarios: NOP-Out pings as fast as they can be
 * sent, with and without reading the answers, and task management
 * requests by the hundred.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "hostile.h"

/* --count NOP-Out pings as fast as we can send them. */
int sc_nop_flood(struct result *res)
{
	struct conn_cfg cfg;
	struct conn *c;
	uint8_t ping[64];
	uint32_t sent = 0, got = 0, itt0;
	double t, end;

	conn_cfg_default(&cfg);
	cfg.nrx = 256;
	cfg.rxsz = 4096;
	cfg.ntx = 256;
	cfg.txsz = 256;
	c = open_session(res, &cfg);
	if (!c)
		return 0;
	memset(ping, 0x5a, sizeof(ping));
	itt0 = c->itt + 1;
	t = now();
	end = t + o.timeout;
	while (conn_alive(c) && (sent < o.count || got < sent) && now() < end) {
		struct rpdu *r;

		while (sent < o.count && c->tx_inflight < cfg.ntx &&
		       sent - got < 4 * cfg.nrx) {
			if (nop_send(c, next_itt(c), ping, sizeof(ping)))
				break;
			sent++;
		}
		conn_poll(c, sent < o.count ? 0 : 100);
		while ((r = c->q_head)) {
			const uint8_t *bhs = r->buf + ISER_HDR_LEN;

			c->q_head = r->next;
			if (!c->q_head)
				c->q_tail = NULL;
			c->q_len--;
			if ((bhs[0] & OP_MASK) == OP_NOOP_IN &&
			    get32(bhs + B_ITT) - itt0 < o.count)
				got++;
			else
				note_pdu(res, r);
			free(r);
		}
	}
	note(res, "%u NOP-Outs sent, %u NOP-Ins back in %.1f s", sent, got,
	     now() - t);
	if (conn_alive(c) && got < sent) {
		set_out(res, OUT_WEDGED, t);
		note(res, "%u pings unanswered", sent - got);
		conn_free(c);
		return 0;
	}
	settle(c, t, res);
	conn_free(c);
	return 0;
}

/*
 * NOP-Out pings, or with @tmf ABORT TASK requests for no task, while we
 * stop taking the answers (no receive buffers reposted) for --hold
 * seconds, then take them again: the target must neither fall over nor
 * stay stuck once we read again. Each request holds one of the session's
 * tasks until its answer is delivered, so --count beyond them uses them up.
 */
static int flood_noread(struct result *res, bool tmf)
{
	struct conn_cfg cfg;
	struct conn *c;
	uint8_t ping[64];
	uint32_t sent = 0;
	double t, end;

	conn_cfg_default(&cfg);
	cfg.nrx = 16;
	cfg.ntx = 128;
	cfg.txsz = 256;
	c = open_session(res, &cfg);
	if (!c)
		return 0;
	memset(ping, 0xa5, sizeof(ping));
	c->repost = false;
	t = now();
	end = t + o.hold;
	while (conn_alive(c) && sent < o.count && now() < end) {
		if (c->tx_inflight < cfg.ntx) {
			if (tmf ? tmf_send(c, 1, 0x70000000 + sent, c->cmdsn, next_itt(c)) :
			    nop_send(c, next_itt(c), ping, sizeof(ping)))
				break;
			sent++;
		} else {
			conn_poll(c, 50);
		}
	}
	while (conn_alive(c) && now() < end)
		conn_poll(c, 100);
	note(res, "%u %s sent without reading the answers, %llu sends "
	     "completed, %llu answers received in %.1f s", sent,
	     tmf ? "task management requests" : "NOP-Outs",
	     (unsigned long long)(c->tx_count - c->tx_inflight),
	     (unsigned long long)c->rx_count, now() - t);
	if (c->state == C_DOWN) {
		dropped(c, t, res);
		conn_free(c);
		return 0;
	}
	/* Read again: repost every receive buffer and drain the backlog. */
	conn_resume(c);
	end = now() + o.timeout;
	while (conn_alive(c) && c->rx_count < sent && now() < end) {
		struct rpdu *r;

		conn_poll(c, 100);
		while ((r = c->q_head)) {
			c->q_head = r->next;
			if (!c->q_head)
				c->q_tail = NULL;
			c->q_len--;
			free(r);
		}
	}
	note(res, "after reading again: %llu of %u answers",
	     (unsigned long long)c->rx_count, sent);
	settle(c, t, res);
	conn_free(c);
	return 0;
}

int sc_nop_noread(struct result *res)
{
	return flood_noread(res, false);
}

int sc_tmf_noread(struct result *res)
{
	return flood_noread(res, true);
}

/*
 * --count task management requests at once: ABORT TASK for tasks that do
 * not exist, every tenth an ABORT TASK SET, every fiftieth a LOGICAL UNIT
 * RESET of our own LUN. A LUN RESET aborts the task management requests
 * still in progress, and an aborted request gets no response (SAM), so
 * only the resets themselves must all be answered; then a NOP-Out ping
 * must be.
 */
int sc_tmf_flood(struct result *res)
{
	struct conn *c = open_write_session(res, false);
	uint32_t sent = 0, got = 0, i, by_rsp[4] = {};
	uint32_t resets = 0, resets_got = 0, reset_itt[64];
	double t, end;

	if (!c)
		return 0;
	t = now();
	for (i = 0; i < o.count && conn_alive(c); i++) {
		uint8_t fn = i % 50 == 49 ? 5 : i % 10 == 9 ? 2 : 1;
		uint32_t itt = next_itt(c);

		/* Only ABORT TASK names a task; the others carry 0xffffffff. */
		if (tmf_send(c, fn, fn == 1 ? 0x70000000 + i : RSVD_TAG,
			     c->cmdsn, itt))
			break;
		if (fn == 5 && resets < 64)
			reset_itt[resets++] = itt;
		sent++;
	}
	end = now() + o.timeout;
	while (conn_alive(c) && got < sent && (!resets || resets_got < resets) &&
	       now() < end) {
		struct rpdu *r = conn_next(c, end);
		const uint8_t *bhs;

		if (!r)
			break;
		bhs = r->buf + ISER_HDR_LEN;
		if ((bhs[0] & OP_MASK) == OP_TMF_RSP) {
			got++;
			by_rsp[bhs[2] == 0 ? 0 : bhs[2] == 1 ? 1 : bhs[2] == 255 ? 2 : 3]++;
			for (i = 0; i < resets; i++)
				if (get32(bhs + B_ITT) == reset_itt[i])
					resets_got++;
		} else {
			note_pdu(res, r);
		}
		free(r);
	}
	note(res, "%u task management requests, %u answered (function complete %u, "
	     "task does not exist %u, rejected %u, other %u) in %.1f s; %u of %u LUN "
	     "resets answered", sent, got, by_rsp[0], by_rsp[1], by_rsp[2], by_rsp[3],
	     now() - t, resets_got, resets);
	if (conn_alive(c) && resets_got < resets) {
		set_out(res, OUT_WEDGED, t);
		note(res, "%u LUN resets unanswered", resets - resets_got);
		conn_free(c);
		return 0;
	}
	settle(c, t, res);
	conn_free(c);
	return 0;
}
