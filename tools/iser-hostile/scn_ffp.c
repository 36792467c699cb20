// SPDX-License-Identifier: GPL-2.0
/*
 * iser-hostile: full-feature-phase scenarios: the good session that
 * verifies its data, crafted PDUs and SCSI commands, Data-Out for odd
 * tasks, commands beyond MaxCmdSN, WRITEs left waiting for their data,
 * the target's NOP-In pings and a Logout Request followed by more PDUs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hostile.h"

static uint32_t parse_size(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (*end == 'k' || *end == 'K')
		v <<= 10;
	else if (*end == 'm' || *end == 'M')
		v <<= 20;
	return (uint32_t)v;
}

int sc_good(struct result *res)
{
	struct conn *c = open_session(res, NULL);
	uint8_t *src, *dst;
	uint64_t seed = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
	uint32_t sizes[16], nsizes = 0, blk, i, total = 0;
	uint64_t lba, cap_blocks;
	char list[256], *tok, *save;
	struct scsi_rsp rsp;
	struct scsi_req r;
	double t0 = now();

	if (!c)
		return 0;
	if (tur(c, res))
		goto fail;
	memset(&r, 0, sizeof(r));
	r.cdb[0] = SCSI_READCAP10;
	r.read = true;
	r.final = true;
	r.edtl = 8;
	r.buf = c->data;
	r.stag = c->dmr->rkey;
	r.va = (uintptr_t)c->data;
	if (scsi_exec(c, &r, now() + o.timeout, &rsp) || rsp.rejected ||
	    rsp.status != SCSI_GOOD) {
		note(res, "READ CAPACITY failed");
		goto fail;
	}
	cap_blocks = (uint64_t)get32(c->data) + 1;
	blk = get32(c->data + 4);
	info("LUN %u: %llu blocks of %u bytes", o.lun,
	     (unsigned long long)cap_blocks, blk);
	if (blk != 512 && blk != 4096) {
		note(res, "READ CAPACITY: odd block size %u", blk);
		goto fail;
	}

	snprintf(list, sizeof(list), "%s", o.sizes);
	for (tok = strtok_r(list, ",", &save); tok && nsizes < 16;
	     tok = strtok_r(NULL, ",", &save)) {
		uint32_t s = parse_size(tok);

		if (!s || s % blk || s > (1u << 20)) {
			set_out(res, OUT_ERROR, 0);
			note(res, "bad size '%s' (multiple of %u up to 1 MiB)", tok, blk);
			conn_free(c);
			return 0;
		}
		sizes[nsizes++] = s;
		total += s;
	}
	if (o.lba + total / blk > cap_blocks) {
		set_out(res, OUT_ERROR, 0);
		note(res, "LBA %llu + %u KiB is beyond the LUN", (unsigned long long)o.lba,
		     total >> 10);
		conn_free(c);
		return 0;
	}
	src = c->data;
	dst = c->data + (1u << 20);

	lba = o.lba;
	for (i = 0; i < nsizes; i++) {
		uint32_t s = sizes[i];

		fill_pattern(src, s, seed, lba * blk);
		memset(&r, 0, sizeof(r));
		cdb_rw10(r.cdb, true, (uint32_t)lba, (uint16_t)(s / blk));
		r.write = true;
		r.edtl = s;
		r.imm = imm_len(c, s);
		r.unsol = true;
		r.buf = src;
		r.stag = c->dmr->rkey;
		r.va = (uintptr_t)src;
		if (scsi_exec(c, &r, now() + o.timeout, &rsp) || rsp.rejected ||
		    rsp.status != SCSI_GOOD) {
			note(res, "WRITE(10) of %u bytes at LBA %llu failed (%s)", s,
			     (unsigned long long)lba, rsp.rejected ? "rejected" :
			     c->why ? c->why : "no good status");
			goto fail;
		}
		lba += s / blk;
	}
	lba = o.lba;
	for (i = 0; i < nsizes; i++) {
		uint32_t s = sizes[i], off;

		memset(dst, 0xee, s);
		memset(&r, 0, sizeof(r));
		cdb_rw10(r.cdb, false, (uint32_t)lba, (uint16_t)(s / blk));
		r.read = true;
		r.final = true;
		r.edtl = s;
		r.buf = dst;
		r.stag = c->dmr->rkey;
		r.va = (uintptr_t)dst;
		if (scsi_exec(c, &r, now() + o.timeout, &rsp) || rsp.rejected ||
		    rsp.status != SCSI_GOOD) {
			note(res, "READ(10) of %u bytes at LBA %llu failed", s,
			     (unsigned long long)lba);
			goto fail;
		}
		fill_pattern(src, s, seed, lba * blk);
		for (off = 0; off < s; off += 4)
			if (memcmp(src + off, dst + off, 4))
				break;
		if (off < s) {
			set_out(res, OUT_FAILED, t0);
			note(res, "data mismatch in %u-byte read at LBA %llu, byte %u",
			     s, (unsigned long long)lba, off);
			conn_free(c);
			return 0;
		}
		lba += s / blk;
	}
	if (nop_ping(c, now() + o.timeout)) {
		note(res, "NOP-Out ping not answered");
		goto fail;
	}
	if (logout(c, now() + o.timeout))
		note(res, "logout did not complete cleanly");
	set_out(res, OUT_VERIFIED, t0);
	note(res, "wrote and read back %u KiB in %u command pairs at LBA %llu "
	     "(immediate data, unsolicited Data-Out, RDMA READ and WRITE)",
	     total >> 10, nsizes, (unsigned long long)o.lba);
	conn_free(c);
	return 0;

fail:
	if (!conn_alive(c)) {
		set_out(res, OUT_DROPPED, t0);
		note(res, "%s", c->qp_dead ? c->qpwhy : c->why);
	} else {
		set_out(res, OUT_FAILED, t0);
	}
	conn_free(c);
	return 0;
}

/* Log in, then send one crafted PDU (a NOP-Out unless knobs say otherwise). */
int sc_ffp_raw(struct result *res)
{
	static uint8_t data[1 << 17];
	struct conn *c = open_session(res, NULL);
	struct pdu p;

	if (!c)
		return 0;
	pdu_init(&p, OP_NOOP_OUT | OP_IMMEDIATE, FLAG_FINAL);
	put32(p.bhs + B_ITT, next_itt(c));
	put32(p.bhs + B_TTT, RSVD_TAG);
	put32(p.bhs + B_CMDSN, c->cmdsn);
	put32(p.bhs + B_EXPSTATSN, c->exp_statsn);
	send_knobbed(c, &p, data, sizeof(data), res);
	return 0;
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && !*end;
}

/*
 * Log in, then send one SCSI command with the STag, address, lengths and
 * AHS the knobs give, and see what the target does with it.
 */
int sc_scsi(struct result *res)
{
	struct conn *c = open_session(res, NULL);
	const char *dir = o.dir ? o.dir : "read";
	bool rd = !strcmp(dir, "read"), wr = !strcmp(dir, "write");
	uint32_t edtl = o.edtl >= 0 ? (uint32_t)o.edtl : 4096;
	uint32_t blocks = o.blocks >= 0 ? (uint32_t)o.blocks : edtl / 512;
	uint32_t imm = 0, stag;
	uint64_t va, v;
	struct ibv_mr *mr = NULL;
	struct pdu p;
	double t;
	uint8_t flags = CMD_ATTR_SIMPLE;
	bool va_exact;

	if (!c)
		return 0;
	if (tur(c, res)) {
		set_out(res, conn_alive(c) ? OUT_ERROR : OUT_DROPPED, 0);
		conn_free(c);
		return 0;
	}
	if (o.mr_len >= 0) {
		/* A second, shorter registration of the same buffer. */
		mr = conn_reg(c, c->data, (size_t)o.mr_len ? (size_t)o.mr_len : 1);
		if (!mr) {
			set_out(res, OUT_ERROR, 0);
			conn_free(c);
			return 0;
		}
	}
	stag = mr ? mr->rkey : c->dmr->rkey;
	va = (uintptr_t)c->data;
	if (o.stag && !strcmp(o.stag, "bogus"))
		stag = (stag ^ 0x5a5a5a00) | 0x80;
	else if (o.stag && strcmp(o.stag, "valid") && strcmp(o.stag, "none") &&
		 parse_u64(o.stag, &v))
		stag = (uint32_t)v;
	if (o.va && !strcmp(o.va, "wrap"))
		va = 0xfffffffffffff000ull;
	else if (o.va && strcmp(o.va, "buf") && parse_u64(o.va, &v))
		va = v;
	/* An address given on the command line goes out exactly as given. */
	va_exact = o.va && strcmp(o.va, "buf");
	if (wr) {
		imm = o.imm >= 0 ? (uint32_t)o.imm : imm_len(c, edtl);
		if (imm > c->cfg.datasz)
			imm = (uint32_t)c->cfg.datasz;
		fill_pattern(c->data, c->cfg.datasz, 1, 0);
	}
	if (rd)
		flags |= CMD_READ;
	if (wr)
		flags |= CMD_WRITE;
	if (o.final != 0)
		flags |= FLAG_FINAL;
	pdu_init(&p, OP_SCSI_CMD, flags);
	p.bhs[B_LUN + 1] = (uint8_t)o.lun;
	put32(p.bhs + B_ITT, next_itt(c));
	put32(p.bhs + B_TTT, edtl);
	put32(p.bhs + B_CMDSN, c->cmdsn++);
	put32(p.bhs + B_EXPSTATSN, c->exp_statsn);
	if (rd || wr || o.blocks >= 0)
		cdb_rw10(p.bhs + B_CDB, wr, (uint32_t)o.lba, (uint16_t)blocks);
	else
		p.bhs[B_CDB] = SCSI_TUR;
	if (!(o.stag && !strcmp(o.stag, "none"))) {
		if (rd) {
			p.ih[0] |= ISER_FLAG_RSV;
			put32(p.ih + 16, stag);
			put64(p.ih + 20, va);
		}
		if (wr) {
			p.ih[0] |= ISER_FLAG_WSV;
			put32(p.ih + 4, stag);
			put64(p.ih + 8, va_exact ? va : va + imm);
		}
	}
	p.data = c->data;
	p.datalen = imm;
	if (apply_knobs(&p, c->data, (uint32_t)c->cfg.datasz)) {
		set_out(res, OUT_ERROR, 0);
		conn_free(c);
		return 0;
	}
	note(res, "%s EDTL %u, CDB %u blocks, %u immediate, STag 0x%x VA 0x%llx%s",
	     dir, edtl, blocks, p.datalen, stag, (unsigned long long)va,
	     mr ? " (short MR)" : "");
	t = now();
	if (pdu_send_len(c, &p, o.send_len) && conn_alive(c)) {
		set_out(res, OUT_ERROR, 0);
		conn_free(c);
		return 0;
	}
	settle(c, t, res);
	if (mr)
		ibv_dereg_mr(mr);
	conn_free(c);
	return 0;
}

/* Data-Out for an unknown task, or for a pending WRITE with odd fields. */
int sc_dataout(struct result *res)
{
	bool for_cmd = o.dir && !strcmp(o.dir, "write");
	struct conn *c = open_write_session(res, for_cmd);
	uint32_t edtl = o.edtl >= 0 ? (uint32_t)o.edtl : 65536;
	uint32_t itt, len = o.data_len >= 0 ? (uint32_t)o.data_len : 4096;
	struct pdu p;
	double t;

	if (!c)
		return 0;
	fill_pattern(c->data, c->cfg.datasz, 2, 0);
	/*
	 * With --final 1 the target fetches the WRITE's data by RDMA READ at
	 * once: the Data-Out goes out in the same post as the WRITE, so that
	 * it meets that READ even when this process is scheduled late (as on
	 * a debug kernel, where it otherwise came after the WRITE completed).
	 */
	if (for_cmd && o.final == 1)
		conn_cork(c);
	itt = for_cmd ? pending_write(c, edtl) : 0x7eadbeef;
	if (!itt) {
		set_out(res, OUT_ERROR, 0);
		conn_free(c);
		return 0;
	}
	if (len > c->cfg.datasz)
		len = (uint32_t)c->cfg.datasz;
	pdu_init(&p, OP_DATA_OUT, o.bhs_flags >= 0 ? (uint8_t)o.bhs_flags : FLAG_FINAL);
	p.bhs[B_LUN + 1] = (uint8_t)o.lun;
	put32(p.bhs + B_ITT, itt);
	put32(p.bhs + B_TTT, o.ttt >= 0 ? (uint32_t)o.ttt : RSVD_TAG);
	put32(p.bhs + B_EXPSTATSN, c->exp_statsn);
	put32(p.bhs + 36, 0);
	put32(p.bhs + 40, o.offset >= 0 ? (uint32_t)o.offset : 0);
	p.data = c->data;
	p.datalen = len;
	put24(p.bhs + B_DLEN, len);
	if (o.dlen >= 0)
		put24(p.bhs + B_DLEN, (uint32_t)o.dlen);
	note(res, "Data-Out itt 0x%x (%s) offset %lld, %u bytes", itt,
	     for_cmd ? "pending WRITE" : "no such task",
	     o.offset >= 0 ? o.offset : 0, len);
	t = now();
	pdu_send_len(c, &p, o.send_len);
	conn_uncork(c);
	settle(c, t, res);
	conn_free(c);
	return 0;
}

/* Commands beyond MaxCmdSN: the target must ignore them (RFC 7143 4.2.2.1). */
int sc_cmdsn_overrun(struct result *res)
{
	struct conn *c = open_session(res, NULL);
	uint32_t window, n, i, answered = 0, itt0;
	double t, end;

	if (!c)
		return 0;
	window = c->max_cmdsn - c->cmdsn + 1;
	n = window + o.count;
	itt0 = c->itt + 1;
	note(res, "CmdSN window %u, sending %u READ(10) commands at once", window, n);
	t = now();
	for (i = 0; i < n; i++) {
		struct scsi_req r = {};

		cdb_rw10(r.cdb, false, (uint32_t)o.lba + i % 64, 8);
		r.read = true;
		r.final = true;
		r.edtl = 4096;
		r.stag = c->dmr->rkey;
		r.va = (uintptr_t)c->data + (i % 256) * 4096;
		if (scsi_send(c, &r))
			break;
	}
	end = now() + o.timeout;
	while (conn_alive(c) && now() < end && answered < n) {
		struct rpdu *r = conn_next(c, now() + 3);
		const uint8_t *bhs;

		if (!r)
			break;
		bhs = r->buf + ISER_HDR_LEN;
		if ((bhs[0] & OP_MASK) == OP_SCSI_RSP &&
		    get32(bhs + B_ITT) - itt0 < n)
			answered++;
		else
			note_pdu(res, r);
		free(r);
	}
	note(res, "%u of %u answered (MaxCmdSN now %u)", answered, n, c->max_cmdsn);
	settle(c, t, res);
	conn_free(c);
	return 0;
}

/*
 * A WRITE that waits for its unsolicited Data-Out; then either nothing
 * (the target's Data-Out timer must end it) or, with --count 1 or more,
 * ABORT TASK for it followed by the Data-Out it was waiting for.
 */
static int sc_write_pending(struct result *res, bool abort_it)
{
	struct conn *c = open_write_session(res, true);
	uint32_t itt, titt;
	double t, end;
	bool answered = false;

	if (!c)
		return 0;
	fill_pattern(c->data, 65536, 4, 0);
	t = now();
	itt = pending_write(c, 65536);
	if (!itt) {
		set_out(res, OUT_ERROR, 0);
		conn_free(c);
		return 0;
	}
	if (!abort_it) {
		note(res, "WRITE itt 0x%x waits for Data-Out that never comes", itt);
		settle(c, t, res);
		conn_free(c);
		return 0;
	}
	titt = next_itt(c);
	tmf_send(c, 1, itt, c->cmdsn - 1, titt);
	end = now() + o.timeout;
	while (conn_alive(c) && now() < end && !answered) {
		struct rpdu *r = conn_next(c, end);
		const uint8_t *bhs;

		if (!r)
			break;
		bhs = r->buf + ISER_HDR_LEN;
		if ((bhs[0] & OP_MASK) == OP_TMF_RSP && get32(bhs + B_ITT) == titt) {
			note(res, "ABORT TASK of the pending WRITE answered after %.2f s: "
			     "response %u", now() - t, bhs[2]);
			answered = true;
		} else {
			note_pdu(res, r);
		}
		free(r);
	}
	if (!answered) {
		if (c->state == C_DOWN || c->qp_dead) {
			note(res, "ABORT TASK of the pending WRITE not answered");
			settle(c, t, res);
		} else {
			set_out(res, OUT_WEDGED, t);
			note(res, "ABORT TASK of the pending WRITE not answered in %.0f s",
			     o.timeout);
		}
		conn_free(c);
		return 0;
	}
	/* The Data-Out the aborted WRITE waited for: to be dropped quietly. */
	{
		struct pdu p;

		pdu_init(&p, OP_DATA_OUT, FLAG_FINAL);
		p.bhs[B_LUN + 1] = (uint8_t)o.lun;
		put32(p.bhs + B_ITT, itt);
		put32(p.bhs + B_TTT, RSVD_TAG);
		put32(p.bhs + B_EXPSTATSN, c->exp_statsn);
		p.data = c->data;
		p.datalen = 4096;
		pdu_send(c, &p);
	}
	settle(c, now(), res);
	conn_free(c);
	return 0;
}

int sc_write_stall(struct result *res) { return sc_write_pending(res, false); }
int sc_tmf_abort_write(struct result *res) { return sc_write_pending(res, true); }

/*
 * A WRITE waits for its unsolicited Data-Out while a LUN RESET from another
 * session aborts it, then that Data-Out completes it: LIO answers the WRITE
 * with TASK ABORTED (TAS: the reset came from another I_T nexus) and drops
 * the references itself. The WRITE's connection must answer it once, free
 * it once, and stay up.
 */
int sc_write_reset_other(struct result *res)
{
	struct conn *a = open_session(res, NULL), *b = NULL;
	uint32_t edtl = 4096, itt, titt;
	bool status = false, reset = false;
	uint8_t wstatus = 0xff;
	struct pdu p;
	double t, end;

	if (!a)
		return 0;
	if (a->initial_r2t || a->first_burst < edtl || tur(a, res)) {
		set_out(res, OUT_ERROR, 0);
		note(res, "needs InitialR2T=No and a working LUN");
		conn_free(a);
		return 0;
	}
	b = open_session(res, NULL);
	if (!b) {
		conn_free(a);
		return 0;
	}
	fill_pattern(a->data, edtl, 5, 0);
	t = now();
	itt = pending_write(a, edtl);
	titt = next_itt(b);
	if (!itt || tmf_send(b, 5, RSVD_TAG, b->cmdsn, titt)) {
		set_out(res, OUT_ERROR, 0);
		note(res, "cannot send the WRITE or the LUN RESET");
		goto out;
	}
	/* The reset waits for the WRITE: let it reach that wait first. */
	usleep(500000);
	pdu_init(&p, OP_DATA_OUT, FLAG_FINAL);
	p.bhs[B_LUN + 1] = (uint8_t)o.lun;
	put32(p.bhs + B_ITT, itt);
	put32(p.bhs + B_TTT, RSVD_TAG);
	put32(p.bhs + B_EXPSTATSN, a->exp_statsn);
	p.data = a->data;
	p.datalen = edtl;
	put24(p.bhs + B_DLEN, edtl);
	pdu_send(a, &p);

	end = now() + o.timeout;
	while (conn_alive(a) && !status && now() < end) {
		struct rpdu *r = conn_next(a, now() + 0.2);
		const uint8_t *bhs;

		if (!r)
			continue;
		bhs = r->buf + ISER_HDR_LEN;
		if ((bhs[0] & OP_MASK) == OP_SCSI_RSP && get32(bhs + B_ITT) == itt) {
			status = true;
			wstatus = bhs[3];
		} else {
			note_pdu(res, r);
		}
		free(r);
	}
	while (conn_alive(b) && !reset && now() < end) {
		struct rpdu *r = conn_next(b, now() + 0.2);
		const uint8_t *bhs;

		if (!r)
			continue;
		bhs = r->buf + ISER_HDR_LEN;
		if ((bhs[0] & OP_MASK) == OP_TMF_RSP && get32(bhs + B_ITT) == titt)
			reset = true;
		free(r);
	}
	note(res, "WRITE itt 0x%x: %s; LUN RESET from another session: %s", itt,
	     status ? (wstatus == 0x40 ? "TASK ABORTED" : "answered") : "no status",
	     reset ? "answered" : "not answered");
	if (status && wstatus != 0x40)
		note(res, "WRITE status 0x%02x, not TASK ABORTED", wstatus);
	settle(a, t, res);
	if (!reset && res->out == OUT_ALIVE)
		set_out(res, OUT_WEDGED, t);
out:
	conn_free(b);
	conn_free(a);
	return 0;
}

/* ---- task management in CmdSN order -------------------------------------- */

/* A LUN the tool's session is never given (hostile.sh maps 0 and 1). */
#define UNMAPPED_LUN	200

/*
 * Task management requests with the I bit clear, which take their turn in
 * CmdSN order, that the iSCSI layer answers without running: ABORT TASK
 * SET of a LUN the session does not see, and ABORT TASK of a task that
 * does not exist (--count of them, alternating). Each must be
 * answered and the session must still work. The suite then checks that
 * the connection, once closed, is freed like any other.
 */
int sc_tmf_nonimm(struct result *res)
{
	struct conn *c = open_write_session(res, false);
	uint32_t i, sent = 0, got = 0;
	uint32_t by_rsp[4] = {};
	double t, end;

	if (!c)
		return 0;
	t = now();
	for (i = 0; i < o.count && conn_alive(c); i++) {
		bool abort_task = i % 2;
		struct pdu p;

		pdu_init(&p, OP_TMF, FLAG_FINAL | (abort_task ? 1 : 2));
		put_lun(p.bhs, abort_task ? o.lun : UNMAPPED_LUN);
		put32(p.bhs + B_ITT, next_itt(c));
		put32(p.bhs + B_TTT, abort_task ? 0x7f000000 + i : RSVD_TAG);
		put32(p.bhs + B_CMDSN, c->cmdsn);
		put32(p.bhs + B_EXPSTATSN, c->exp_statsn);
		/*
		 * RefCmdSN long past: a task not found with a RefCmdSN still in
		 * the window would be passed on to the target core instead.
		 */
		put32(p.bhs + 32, c->cmdsn - 0x10000);
		c->cmdsn++;
		if (pdu_send(c, &p))
			break;
		sent++;
	}
	end = now() + o.timeout;
	while (conn_alive(c) && got < sent && now() < end) {
		struct rpdu *r = conn_next(c, end);
		const uint8_t *bhs;

		if (!r)
			break;
		bhs = r->buf + ISER_HDR_LEN;
		if ((bhs[0] & OP_MASK) == OP_TMF_RSP) {
			got++;
			by_rsp[bhs[2] < 3 ? bhs[2] : 3]++;
		} else {
			note_pdu(res, r);
		}
		free(r);
	}
	note(res, "%u non-immediate task management requests, %u answered "
	     "(response 0 %u, 1 %u, 2 %u, other %u)", sent, got, by_rsp[0],
	     by_rsp[1], by_rsp[2], by_rsp[3]);
	if (conn_alive(c) && got < sent) {
		set_out(res, OUT_WEDGED, t);
		conn_free(c);
		return 0;
	}
	if (conn_alive(c) && tur(c, res)) {
		set_out(res, OUT_WEDGED, t);
		note(res, "TEST UNIT READY failed after them");
		conn_free(c);
		return 0;
	}
	settle(c, t, res);
	conn_free(c);
	return 0;
}

/* ---- target NOP-In pings -------------------------------------------------- */

/* Our node ACL's nopin_timeout in LIO's configfs. */
static void nopin_path(char *path, size_t len)
{
	snprintf(path, len,
		 "/sys/kernel/config/target/iscsi/%s/tpgt_1/acls/%s/attrib/nopin_timeout",
		 o.iqn, o.initiator);
}

/*
 * Log in, then have the target ping us every 3 s: our node ACL's
 * nopin_timeout (its old value to @old, to be written back to @path) goes
 * to 0 and then 3, as only that starts the ping timer of a live
 * connection. @answer: the tool answers the pings itself. NULL, with @res
 * set, on failure.
 */
static struct conn *nopin_session(struct result *res, char *path, size_t plen,
				  char *old, size_t olen, bool answer)
{
	struct conn *c;

	nopin_path(path, plen);
	if (read_attr(path, old, olen)) {
		set_out(res, OUT_ERROR, 0);
		note(res, "cannot read %s: needs the target's configfs here", path);
		return NULL;
	}
	c = open_session(res, NULL);
	if (!c)
		return NULL;
	c->auto_nopin = answer;
	if (write_attr(path, "0") || write_attr(path, "3")) {
		set_out(res, OUT_ERROR, 0);
		note(res, "cannot write %s", path);
		write_attr(path, old);
		conn_free(c);
		return NULL;
	}
	return c;
}

/*
 * The target pings us: the tool, on the target's own host, sets the
 * nopin_timeout of its node ACL in LIO's configfs to 3 s once logged in
 * (from 0: only that starts the timer of a live connection), answers
 * every NOP-In for --hold s (default 10), restores the attribute and
 * checks that the connection still answers a ping of its own.
 */
int sc_nopin_reply(struct result *res)
{
	char path[1024], old[32] = "15";
	struct conn *c;
	double end, at;

	c = nopin_session(res, path, sizeof(path), old, sizeof(old), true);
	if (!c)
		return 0;
	at = now();
	end = now() + (o.hold ? o.hold : 10);
	while (now() < end && conn_alive(c)) {
		struct rpdu *r = conn_next(c, end);

		free(r);
	}
	note(res, "answered %u NOP-In pings of the target", c->nopin_pings);
	if (!conn_alive(c) || c->state == C_DOWN) {
		wait_cm_down(c, now() + o.timeout, NULL);
		dropped(c, at, res);
	} else if (!c->nopin_pings) {
		set_out(res, OUT_ERROR, 0);
		note(res, "the target sent no NOP-In ping");
	} else {
		settle(c, at, res);
	}
	write_attr(path, old);
	conn_free(c);
	return 0;
}

/* The next NOP-In ping of the target, not answered; NULL after @deadline. */
static struct rpdu *nopin_next(struct conn *c, double deadline)
{
	struct rpdu *r;

	while ((r = conn_next(c, deadline))) {
		const uint8_t *bhs = r->buf + ISER_HDR_LEN;

		if (r->len >= HDRS_LEN && nopin_is_ping(bhs))
			return r;
		free(r);
	}
	return NULL;
}

/*
 * The answer to a ping that has not arrived: the target pings every 3 s
 * (as nopin-reply); we answer the first ping, stop posting receive
 * buffers (rx_starve()), so that the second waits, posted, on RNR NAKs,
 * and answer that one with the TTT it carries (LIO numbers a session's
 * TTTs in turn, and nothing else takes one here). The target then sees
 * the answer before the completion of its own send, the reverse of the
 * usual order: it must free the ping once, and serve on. Then we post
 * buffers again, and the ping must arrive with that TTT.
 */
int sc_nopin_early(struct result *res)
{
	char path[1024], old[32] = "15";
	uint32_t ttt, next;
	struct conn *c;
	struct rpdu *r;
	double answered, at;
	uint8_t lun[8];

	c = nopin_session(res, path, sizeof(path), old, sizeof(old), false);
	if (!c)
		return 0;
	at = now();
	r = nopin_next(c, now() + 10);
	if (!r)
		goto lost;
	memcpy(lun, r->buf + ISER_HDR_LEN + B_LUN, sizeof(lun));
	ttt = get32(r->buf + ISER_HDR_LEN + B_TTT);
	free(r);
	if (nopin_answer(c, lun, ttt))
		goto lost;
	answered = now();
	if (rx_starve(c, now() + o.timeout)) {
		set_out(res, OUT_ERROR, 0);
		note(res, "could not use up the receive buffers (%u posted)", c->rx_posted);
		goto out;
	}
	/* The target's timer restarts with our answer: its ping waits by now. */
	serve_for(c, answered + 4.5 - now());
	next = ttt + 1 == RSVD_TAG ? 0 : ttt + 1;
	if (nopin_answer(c, lun, next))
		goto lost;
	serve_for(c, 0.5);
	note(res, "answered the ping of TTT 0x%08x while it waited for a receive buffer",
	     next);
	/* No third ping to answer: back to the old period before reading on. */
	write_attr(path, old);
	conn_resume(c);
	r = nopin_next(c, now() + o.timeout);
	if (!r)
		goto lost;
	ttt = get32(r->buf + ISER_HDR_LEN + B_TTT);
	free(r);
	if (ttt != next) {
		set_out(res, OUT_ERROR, 0);
		note(res, "the waiting ping has TTT 0x%08x, not 0x%08x: the early answer "
		     "named no ping", ttt, next);
		goto out;
	}
	c->auto_nopin = true;
	settle(c, at, res);
	goto out;
lost:
	if (!conn_alive(c) || c->state == C_DOWN) {
		wait_cm_down(c, now() + o.timeout, NULL);
		dropped(c, at, res);
	} else {
		set_out(res, OUT_ERROR, 0);
		note(res, "the target sent no NOP-In ping");
	}
out:
	write_attr(path, old);
	conn_free(c);
	return 0;
}

/*
 * The target's keepalive probe, refused or lost: the tool sets
 * iser_target's keepalive_secs to 2 before it logs in, then stays silent
 * with its queue pair changed. With @silent false, remote write access is
 * taken off it: the zero-length RDMA WRITE that probes the idle connection
 * is answered with a NAK by our adapter, and the target must drop the
 * connection, saying the probe failed. With @silent true, the queue pair
 * goes to the error state, where Soft-RoCE drops what arrives for it
 * without a word, as a host that lost power would: the probe is never
 * acknowledged, and the target must drop the connection, saying the
 * initiator did not answer.
 */
static int keepalive_probe(struct result *res, bool silent)
{
	static const char path[] = "/sys/module/iser_target/parameters/keepalive_secs";
	struct ibv_qp_attr qa = { .qp_access_flags = IBV_ACCESS_REMOTE_READ };
	int mask = IBV_QP_ACCESS_FLAGS;
	char old[32];
	struct conn *c;
	double end, at;

	if (silent) {
		qa = (struct ibv_qp_attr){ .qp_state = IBV_QPS_ERR };
		mask = IBV_QP_STATE;
	}
	if (read_attr(path, old, sizeof(old))) {
		set_out(res, OUT_ERROR, 0);
		note(res, "cannot read %s: needs iser_target on this host", path);
		return 0;
	}
	if (write_attr(path, "2")) {
		set_out(res, OUT_ERROR, 0);
		note(res, "cannot write %s", path);
		return 0;
	}
	c = open_session(res, NULL);
	if (!c)
		goto out;
	at = now();
	if (ibv_modify_qp(c->qp, &qa, mask)) {
		set_out(res, OUT_ERROR, 0);
		note(res, "cannot %s: %s", silent ? "move the queue pair to the error state" :
		     "take remote write access off the queue pair", strerror(errno));
		conn_free(c);
		goto out;
	}
	end = now() + o.timeout;
	while (now() < end && conn_alive(c)) {
		struct rpdu *r = conn_next(c, end);

		if (r)
			note_pdu(res, r);
		free(r);
	}
	if (!conn_alive(c) || c->state == C_DOWN) {
		wait_cm_down(c, now() + o.timeout, NULL);
		dropped(c, at, res);
	} else {
		settle(c, at, res);
	}
	conn_free(c);
out:
	write_attr(path, old);
	return 0;
}

int sc_keepalive_refused(struct result *res)
{
	return keepalive_probe(res, false);
}

int sc_keepalive_silent(struct result *res)
{
	return keepalive_probe(res, true);
}

/* ---- Logout in odd places -------------------------------------------- */

/*
 * A Logout Request (close the session) followed at once, without waiting
 * for its response, by --logout-then: "logout" a second Logout Request,
 * "read" a READ of one block, "text" a SendTargets Text Request, "nop" a
 * NOP-Out ping. The target must end the session either way, cleanly.
 */
int sc_logout_then(struct result *res)
{
	const char *then = o.logout_then ? o.logout_then : "logout";
	struct conn *c = open_session(res, NULL);
	struct pdu p;
	double t;
	int i;

	if (!c)
		return 0;
	t = now();
	for (i = 0; i < 2; i++) {
		if (i && strcmp(then, "logout"))
			break;
		pdu_init(&p, OP_LOGOUT | OP_IMMEDIATE,
			 FLAG_FINAL | (o.logout_reason & 0x7f));
		put32(p.bhs + B_ITT, next_itt(c));
		put16(p.bhs + 20, c->cid);
		put32(p.bhs + B_CMDSN, c->cmdsn);
		put32(p.bhs + B_EXPSTATSN, c->exp_statsn);
		pdu_send(c, &p);
	}
	if (!strcmp(then, "read")) {
		struct scsi_req r;

		read_req(c, &r, 8);
		scsi_send(c, &r);
	} else if (!strcmp(then, "text")) {
		text_send(c, next_itt(c), RSVD_TAG, false, c->cmdsn++,
			  "SendTargets=All");
	} else if (!strcmp(then, "nop")) {
		uint8_t ping[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

		nop_send(c, next_itt(c), ping, sizeof(ping));
	} else if (strcmp(then, "logout") && strcmp(then, "nothing")) {
		set_out(res, OUT_ERROR, 0);
		note(res, "unknown --logout-then %s", then);
		conn_free(c);
		return 0;
	}
	note(res, "Logout Request (reason %d), then at once: %s",
	     o.logout_reason, then);
	wait_cm_down(c, t + o.timeout, res);
	if (c->state == C_DOWN)
		dropped(c, t, res);
	else
		set_out(res, OUT_WEDGED, t);
	conn_free(c);
	return 0;
}
