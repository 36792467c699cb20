// SPDX-License-Identifier: GPL-2.0
/*
 * iser-hostile: Text Request scenarios: SendTargets answered over several
 * PDUs and continued, and the ITTs, TTTs and continuations a target must
 * refuse.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostile.h"

/*
 * A Text Request whose ITT is that of a pending WRITE and whose TTT is not
 * 0xffffffff: the target must not take the WRITE for a text command.
 */
int sc_text_itt(struct result *res)
{
	struct conn *c = open_write_session(res, true);
	static const char st[] = "SendTargets=All";
	struct pdu p;
	uint32_t itt;
	double t;

	if (!c)
		return 0;
	itt = pending_write(c, 65536);
	pdu_init(&p, OP_TEXT, FLAG_FINAL);
	put32(p.bhs + B_ITT, itt);
	put32(p.bhs + B_TTT, o.ttt >= 0 ? (uint32_t)o.ttt : 0x1234);
	put32(p.bhs + B_CMDSN, c->cmdsn++);
	put32(p.bhs + B_EXPSTATSN, c->exp_statsn);
	p.data = (const uint8_t *)st;
	p.datalen = sizeof(st);
	note(res, "Text Request with the ITT 0x%x of a pending WRITE", itt);
	t = now();
	pdu_send(c, &p);
	settle(c, t, res);
	conn_free(c);
	return 0;
}

struct text_rsp {
	uint8_t flags;
	uint32_t ttt;
	uint32_t dlen;
	bool rejected;
	char text[65536];	/* every response's data, concatenated */
	uint32_t len;
	unsigned int pdus;
};

/*
 * Wait for the Text Response to @itt and append its data to @t.
 * Returns 0 for a response, 1 for a Reject, -1 for nothing in time.
 */
static int text_wait(struct conn *c, uint32_t itt, double deadline,
		     struct text_rsp *t)
{
	for (;;) {
		struct rpdu *r = conn_next(c, deadline);
		const uint8_t *bhs;
		uint32_t n, off;

		if (!r)
			return -1;
		bhs = r->buf + ISER_HDR_LEN;
		if (r->len < HDRS_LEN) {
			free(r);
			continue;
		}
		if ((bhs[0] & OP_MASK) == OP_REJECT) {
			t->rejected = true;
			free(r);
			return 1;
		}
		if ((bhs[0] & OP_MASK) != OP_TEXT_RSP || get32(bhs + B_ITT) != itt) {
			free(r);
			continue;
		}
		t->flags = bhs[1];
		t->ttt = get32(bhs + B_TTT);
		t->dlen = get24(bhs + B_DLEN);
		off = HDRS_LEN + bhs[B_AHSLEN] * 4;
		n = t->dlen;
		if (off > r->len || n > r->len - off)
			n = off > r->len ? 0 : r->len - off;
		if (n > sizeof(t->text) - 1 - t->len)
			n = sizeof(t->text) - 1 - t->len;
		memcpy(t->text + t->len, r->buf + off, n);
		t->len += n;
		t->text[t->len] = 0;
		t->pdus++;
		free(r);
		return 0;
	}
}

/* Does the NUL-separated @t hold the key=value pair @kv? */
static bool text_has(const struct text_rsp *t, const char *kv)
{
	uint32_t i = 0;

	while (i < t->len) {
		const char *s = t->text + i;

		if (!strcmp(s, kv))
			return true;
		i += (uint32_t)strlen(s) + 1;
	}
	return false;
}

/*
 * The next Text Response to @itt by @deadline, which must fit the --irdsl
 * we declared. Returns 0, or -1 with a note in @res.
 */
static int text_next(struct conn *c, uint32_t itt, double deadline,
		     struct text_rsp *t, struct result *res)
{
	int ret = text_wait(c, itt, deadline, t);

	if (ret) {
		note(res, ret > 0 ? "target sent a Reject" : "no Text Response in time");
		return -1;
	}
	if (t->dlen > c->irdsl) {
		note(res, "Text Response of %u bytes, above the %u the initiator declared",
		     t->dlen, c->irdsl);
		return -1;
	}
	return 0;
}

/*
 * A whole SendTargets exchange on @c: the request, then an empty
 * continuation for as long as the target answers C=1 (F=0). With @reset,
 * the first C=1 answer is followed by a new request under the same ITT
 * (TTT 0xffffffff, RFC 7143 11.10.4: the target resets and starts again).
 * Returns 0 with the whole text in @t, else -1 and a note in @res.
 */
static int text_exchange(struct conn *c, const char *key, bool reset,
			 struct text_rsp *t, struct result *res)
{
	uint32_t itt = next_itt(c);
	double end = now() + o.timeout;
	bool was_reset = false;
	int ret;

	if (text_send(c, itt, RSVD_TAG, false, c->cmdsn++, key))
		return -1;
	for (;;) {
		if (text_next(c, itt, end, t, res))
			return -1;
		if (t->flags & FLAG_FINAL)
			return 0;
		if (!(t->flags & 0x40) || t->ttt == RSVD_TAG) {
			note(res, "Text Response with neither F nor C, or with "
			     "C and the reserved TTT");
			return -1;
		}
		if (reset && !was_reset) {
			was_reset = true;
			t->len = 0;
			t->pdus = 0;
			ret = text_send(c, itt, RSVD_TAG, false, c->cmdsn++, key);
		} else {
			ret = text_send(c, itt, t->ttt, false, c->cmdsn++, NULL);
		}
		if (ret)
			return -1;
	}
}

/*
 * Requests that reach the target while its last response cannot be
 * delivered (rx_starve()), and so is posted but not completed:
 *   rnr-new       a SendTargets answered in one PDU, then a new request
 *                 (TTT 0xffffffff, another ITT): the first task is over
 *                 for the initiator and must not hold the second back
 *   rnr-continue  a SendTargets answered in three PDUs or more (--irdsl
 *                 512): the continuation for the second response, then at
 *                 once the one for the third, before the second arrived
 *                 (the TTT of a task does not change)
 * Then we read again: every response must come, whole and within --irdsl.
 */
static void text_rnr(struct conn *c, const char *key, const char *want,
		     bool cont, struct text_rsp *t, struct result *res)
{
	uint32_t itt = next_itt(c), itt2 = 0;
	double at;

	if (cont) {
		text_send(c, itt, RSVD_TAG, false, c->cmdsn++, key);
		if (text_next(c, itt, now() + o.timeout, t, res)) {
			set_out(res, OUT_ERROR, 0);
			return;
		}
		if (t->flags & FLAG_FINAL) {
			set_out(res, OUT_ERROR, 0);
			note(res, "the text fit one PDU: nothing to continue "
			     "(needs a smaller --irdsl or more targets)");
			return;
		}
	}
	if (rx_starve(c, now() + o.timeout)) {
		set_out(res, OUT_ERROR, 0);
		note(res, "could not use up the receive buffers (%u posted)", c->rx_posted);
		return;
	}
	at = now();
	if (cont) {
		text_send(c, itt, t->ttt, false, c->cmdsn++, NULL);
		serve_for(c, 1);
		text_send(c, itt, t->ttt, false, c->cmdsn++, NULL);
	} else {
		text_send(c, itt, RSVD_TAG, false, c->cmdsn++, key);
		serve_for(c, 1);
		itt2 = next_itt(c);
		text_send(c, itt2, RSVD_TAG, false, c->cmdsn++, key);
	}
	serve_for(c, 0.5);
	note(res, "%s sent while the target's response waited for a receive buffer",
	     cont ? "two continuations" : "a second request");
	conn_resume(c);

	if (cont) {
		/* The second response, then the third, answering the early one. */
		if (text_next(c, itt, now() + o.timeout, t, res))
			goto fail;
		if (t->flags & FLAG_FINAL) {
			set_out(res, OUT_ERROR, at);
			note(res, "the text fit two PDUs: the second continuation had "
			     "nothing to continue (needs more targets)");
			return;
		}
		do {
			if (text_next(c, itt, now() + o.timeout, t, res))
				goto fail;
		} while (!(t->flags & FLAG_FINAL) &&
			 !text_send(c, itt, t->ttt, false, c->cmdsn++, NULL));
	} else {
		if (text_next(c, itt, now() + o.timeout, t, res))
			goto fail;
		if (!(t->flags & FLAG_FINAL) || !text_has(t, want)) {
			note(res, "the first response is not the whole text");
			goto fail;
		}
		t->len = 0;
		t->pdus = 0;
		if (text_next(c, itt2, now() + o.timeout, t, res))
			goto fail;
	}
	note(res, "%u bytes of text in %u PDUs", t->len, t->pdus);
	if (!(t->flags & FLAG_FINAL) || !text_has(t, want)) {
		note(res, "the text is not whole");
		goto fail;
	}
	if (nop_ping(c, now() + 5)) {
		note(res, "no NOP-In after the exchange");
		goto fail;
	}
	set_out(res, OUT_VERIFIED, at);
	return;
fail:
	set_out(res, conn_alive(c) ? OUT_FAILED : OUT_DROPPED, at);
}

/*
 * Text Requests as a peer may send them, well formed or not. Modes:
 *   twice        a SendTargets=All request, then at once a second one with
 *                the same ITT, TTT --ttt (0x1234) and data --text-data
 *                ("none": no data)
 *   live-itt     a new Text Request with the ITT of a pending WRITE
 *   two          two new Text Requests with different ITTs, the first
 *                held back by a CmdSN gap: two outstanding at once
 *   continue     a SendTargets (--text-data, default All) answered in
 *                several PDUs (--irdsl 512 makes it so), continued to the
 *                end; expects every PDU within --irdsl and the text whole
 *   reset        the same, restarted by a new request after the first part
 *   cont-data    a continuation that carries data
 *   cont-ttt     a continuation with a TTT the target did not give
 *   cont-final   a continuation of a sequence that already ended
 *   cont-imm     a continuation with the I bit its request did not have
 *   cont-twice   two continuations at once, the first held back by a
 *                CmdSN gap
 *   rnr-new, rnr-continue  see text_rnr()
 */
/*
 * --count rounds of: a Text Request the iSCSI layer answers with a Reject
 * (text that is not SendTargets), and in the same post a PDU with an
 * unknown iSER opcode, on which the target drops the connection at once.
 * The Reject is then often still queued for the core's transmit thread
 * when the connection closes; the core had put its task on no list, so
 * its release missed it and the task leaked with its text and the copy of
 * the rejected header (found by the fuzzer, seen by kmemleak). Judged by
 * the target staying up here, and by kmemleak on the debug kernel.
 */
static void text_reject_vanish(struct result *res)
{
	unsigned int round, dropped = 0;
	double at = now(), end;
	struct conn *c;
	struct pdu p;

	for (round = 0; round < o.count; round++) {
		c = open_session(res, NULL);
		if (!c)
			return;
		conn_cork(c);
		text_send(c, next_itt(c), RSVD_TAG, false, c->cmdsn++,
			  "X-org.example.hostile=1");
		pdu_init(&p, OP_NOOP_OUT | OP_IMMEDIATE, FLAG_FINAL);
		p.ih[0] = 0x50;
		put32(p.bhs + B_ITT, next_itt(c));
		put32(p.bhs + B_TTT, RSVD_TAG);
		put32(p.bhs + B_CMDSN, c->cmdsn);
		pdu_send(c, &p);
		conn_uncork(c);
		end = now() + o.timeout;
		while (conn_alive(c) && now() < end)
			conn_poll(c, 50);
		if (!conn_alive(c))
			dropped++;
		conn_free(c);
	}
	note(res, "%u rounds of a rejected Text Request and a bad PDU in one post: "
	     "%u dropped by the target", o.count, dropped);
	set_out(res, dropped == o.count ? OUT_DROPPED : OUT_FAILED, at);
}

int sc_text(struct result *res)
{
	const char *mode = o.text_mode ? o.text_mode : "twice";
	const char *data = o.text_data;
	uint32_t ttt = o.ttt >= 0 ? (uint32_t)o.ttt : 0x1234;
	struct text_rsp *t = calloc(1, sizeof(*t));
	char key[300], want[300];
	struct conn *c = NULL;
	uint32_t itt;
	double at;

	if (!t)
		return 0;
	c = open_session(res, NULL);
	if (!c)
		goto out;
	snprintf(key, sizeof(key), "SendTargets=%s", data ? data : "All");
	snprintf(want, sizeof(want), "TargetName=%s", o.iqn);

	if (!strcmp(mode, "twice")) {
		itt = next_itt(c);
		at = now();
		text_send(c, itt, RSVD_TAG, false, c->cmdsn++, "SendTargets=All");
		text_send(c, itt, ttt, false, c->cmdsn++,
			  data && !strcmp(data, "none") ? NULL :
			  data ? data : "SendTargets=All");
		note(res, "two Text Requests with ITT 0x%x, TTT 0xffffffff then 0x%x",
		     itt, ttt);
		settle(c, at, res);
	} else if (!strcmp(mode, "live-itt")) {
		if (c->initial_r2t) {
			set_out(res, OUT_ERROR, 0);
			note(res, "needs InitialR2T=No on the target");
			goto out;
		}
		itt = pending_write(c, 65536);
		at = now();
		text_send(c, itt, RSVD_TAG, false, c->cmdsn++, "SendTargets=All");
		note(res, "new Text Request with the ITT 0x%x of a pending WRITE",
		     itt);
		settle(c, at, res);
	} else if (!strcmp(mode, "two")) {
		itt = next_itt(c);
		at = now();
		/* CmdSN one ahead: the target holds it until the gap fills. */
		text_send(c, itt, RSVD_TAG, false, c->cmdsn + 1, "SendTargets=All");
		text_send(c, next_itt(c), RSVD_TAG, true, c->cmdsn,
			  "SendTargets=All");
		note(res, "two new Text Requests outstanding at once");
		settle(c, at, res);
	} else if (!strcmp(mode, "continue") || !strcmp(mode, "reset")) {
		at = now();
		if (text_exchange(c, key, !strcmp(mode, "reset"), t, res)) {
			set_out(res, conn_alive(c) ? OUT_FAILED : OUT_DROPPED, at);
			goto out;
		}
		note(res, "%u bytes of text in %u PDUs", t->len, t->pdus);
		if (!text_has(t, want)) {
			set_out(res, OUT_FAILED, at);
			note(res, "no %s in the text", want);
		} else if (t->pdus < 2) {
			set_out(res, OUT_ERROR, at);
			note(res, "the text fit one PDU: nothing was continued "
			     "(needs a smaller --irdsl or more targets)");
		} else if (nop_ping(c, now() + 5)) {
			set_out(res, OUT_FAILED, at);
			note(res, "no NOP-In after the exchange");
		} else {
			set_out(res, OUT_VERIFIED, at);
		}
	} else if (!strncmp(mode, "cont-", 5)) {
		bool final = !strcmp(mode, "cont-final");
		bool imm = !strcmp(mode, "cont-imm");

		itt = next_itt(c);
		text_send(c, itt, RSVD_TAG, false, c->cmdsn++, key);
		if (text_wait(c, itt, now() + o.timeout, t)) {
			set_out(res, OUT_ERROR, 0);
			note(res, "no Text Response to the first request");
			goto out;
		}
		if (!final && (t->flags & FLAG_FINAL)) {
			set_out(res, OUT_ERROR, 0);
			note(res, "the text fit one PDU: nothing to continue "
			     "(needs a smaller --irdsl or more targets)");
			goto out;
		}
		if (final) {
			while (!(t->flags & FLAG_FINAL) && !text_send(c, itt, t->ttt,
				 false, c->cmdsn++, NULL))
				if (text_wait(c, itt, now() + o.timeout, t))
					break;
			ttt = o.ttt >= 0 ? (uint32_t)o.ttt : t->ttt;
		} else {
			ttt = !strcmp(mode, "cont-ttt") ? t->ttt + 1 : t->ttt;
		}
		at = now();
		/* A CmdSN gap keeps this first one with the iSCSI layer. */
		if (!strcmp(mode, "cont-twice"))
			text_send(c, itt, ttt, false, c->cmdsn + 1, NULL);
		text_send(c, itt, ttt, imm, imm ? c->cmdsn : c->cmdsn++,
			  !strcmp(mode, "cont-data") ? key : NULL);
		note(res, "%s: continuation with TTT 0x%x", mode, ttt);
		settle(c, at, res);
	} else if (!strcmp(mode, "rnr-new") || !strcmp(mode, "rnr-continue")) {
		text_rnr(c, key, want, !strcmp(mode, "rnr-continue"), t, res);
	} else if (!strcmp(mode, "reject-vanish")) {
		conn_free(c);
		c = NULL;
		text_reject_vanish(res);
	} else {
		set_out(res, OUT_ERROR, 0);
		note(res, "unknown --text-mode %s", mode);
	}
out:
	if (c)
		conn_free(c);
	free(t);
	return 0;
}
