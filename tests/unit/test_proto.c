// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of iser_proto.c: every decoder and every rejection path,
 * printed as TAP. Exit status is non-zero when any check fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>

#include "iser_proto.h"

static int n_run, n_fail;

static void check(bool ok, const char *name)
{
	n_run++;
	if (!ok)
		n_fail++;
	printf("%sok %d %s\n", ok ? "" : "not ", n_run, name);
}

static void put_be32(u8 *p, u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static void put_be64(u8 *p, u64 v)
{
	put_be32(p, v >> 32);
	put_be32(p + 4, (u32)v);
}

/* Builds iSER header + BHS (+ AHS) into @b; returns the header length. */
static u32 mk_pdu(u8 *b, u8 flags, u8 op, u8 ahs_words, u32 dlen)
{
	u8 *bhs = b + ISER_HDR_LEN;

	memset(b, 0, ISER_HEADERS_LEN + ahs_words * 4);
	b[0] = flags;
	bhs[0] = op;
	bhs[4] = ahs_words;
	bhs[5] = dlen >> 16;
	bhs[6] = dlen >> 8;
	bhs[7] = dlen;
	return ISER_HEADERS_LEN + ahs_words * 4;
}

static void test_wire_layout(void)
{
	check(ISER_HDR_LEN == 28 && ISER_HEADERS_LEN == 76,
	      "iSER header is 28 bytes, 76 with the BHS");
	check(offsetof(struct iser_ctrl, write_stag) == 4 &&
	      offsetof(struct iser_ctrl, write_va) == 8 &&
	      offsetof(struct iser_ctrl, read_stag) == 16 &&
	      offsetof(struct iser_ctrl, read_va) == 20,
	      "iser_ctrl field offsets follow RFC 7145");
	check(sizeof(struct iser_cm_hdr) == 4,
	      "CM private data messages are 4 bytes");
}

static void test_cm(void)
{
	struct iser_cm_params p;
	struct iser_cm_hdr rep;
	u8 pd[56] = { 0 };

	check(iser_parse_cm_req(NULL, 0, &p) == ISER_ERR_CM_PDATA,
	      "CM REQ without private data refused");
	check(iser_parse_cm_req(pd, 3, &p) == ISER_ERR_CM_PDATA,
	      "CM REQ with 3 bytes of private data refused");
	pd[0] = 0;
	check(iser_parse_cm_req(pd, 4, &p) == ISER_OK && p.zbva_ok && p.sie_ok,
	      "CM REQ flags 0x00: ZBVA and SIE allowed");
	pd[0] = ISER_ZBVA_NOT_SUP | ISER_SEND_W_INV_NOT_SUP;
	check(iser_parse_cm_req(pd, sizeof(pd), &p) == ISER_OK &&
	      !p.zbva_ok && !p.sie_ok,
	      "CM REQ flags 0xc0: neither ZBVA nor SIE");
	pd[0] = ISER_ZBVA_NOT_SUP | 0x3f;
	check(iser_parse_cm_req(pd, 4, &p) == ISER_OK && !p.zbva_ok && p.sie_ok,
	      "CM REQ reserved bits ignored");

	memset(&rep, 0xff, sizeof(rep));
	iser_build_cm_rep(true, &rep);
	check(rep.flags == ISERT_ZBVA_NOT_USED && !rep.rsvd[0] &&
	      !rep.rsvd[1] && !rep.rsvd[2], "CM REP with SIE: 0x80, reserved zero");
	iser_build_cm_rep(false, &rep);
	check(rep.flags == (ISERT_ZBVA_NOT_USED | ISERT_SEND_W_INV_NOT_USED),
	      "CM REP without SIE: 0xc0");
}

static void test_parse(void)
{
	struct iser_pdu_info in;
	u8 b[4096];
	u32 h;

	h = mk_pdu(b, ISCSI_CTRL, 0x01, 0, 0);
	check(iser_parse_pdu(b, sizeof(b), 27, 8192, &in) == ISER_ERR_SHORT,
	      "27 bytes: shorter than the iSER header");
	check(iser_parse_pdu(b, sizeof(b), ISER_HEADERS_LEN - 1, 8192, &in) ==
	      ISER_ERR_SHORT, "75 bytes: shorter than iSER header + BHS");
	check(iser_parse_pdu(b, ISER_HEADERS_LEN - 1, 200, 8192, &in) ==
	      ISER_ERR_SHORT, "header slot smaller than the headers refused");
	check(iser_parse_pdu(b, sizeof(b), h, 8192, &in) == ISER_OK &&
	      in.iscsi_opcode == 0x01 && !in.wsv && !in.rsv &&
	      in.data_off == ISER_HEADERS_LEN && !in.data_len,
	      "minimal control PDU accepted");

	mk_pdu(b, 0x40, 0x01, 0, 0);
	check(iser_parse_pdu(b, sizeof(b), h, 8192, &in) == ISER_ERR_OPCODE,
	      "unknown iSER opcode 0x4 refused");
	mk_pdu(b, 0x00, 0x01, 0, 0);
	check(iser_parse_pdu(b, sizeof(b), h, 8192, &in) == ISER_ERR_OPCODE,
	      "iSER opcode 0 refused");
	mk_pdu(b, ISER_HELLO, 0x01, 0, 0);
	check(iser_parse_pdu(b, sizeof(b), 28, 8192, &in) == ISER_ERR_HELLO,
	      "iSER Hello recognised, not parsed as iSCSI");
	mk_pdu(b, ISER_HELLORPLY, 0x01, 0, 0);
	check(iser_parse_pdu(b, sizeof(b), h, 8192, &in) == ISER_ERR_HELLO,
	      "iSER HelloReply recognised, not parsed as iSCSI");
	mk_pdu(b, ISCSI_CTRL | 0x01, 0x01, 0, 0);
	check(iser_parse_pdu(b, sizeof(b), h, 8192, &in) == ISER_ERR_FLAGS,
	      "reserved flag bit 0x01 refused");
	mk_pdu(b, ISCSI_CTRL | 0x02, 0x01, 0, 0);
	check(iser_parse_pdu(b, sizeof(b), h, 8192, &in) == ISER_ERR_FLAGS,
	      "reserved flag bit 0x02 refused");

	h = mk_pdu(b, ISCSI_CTRL | ISER_WSV | ISER_RSV,
		   0x01, 0, 100);
	put_be32(b + 4, 0x11223344);
	put_be64(b + 8, 0x0102030405060708ULL);
	put_be32(b + 16, 0xa1b2c3d4);
	put_be64(b + 20, 0xf0e0d0c0b0a09080ULL);
	check(iser_parse_pdu(b, sizeof(b), h + 100, 8192, &in) == ISER_OK &&
	      in.wsv && in.rsv && in.write_stag == 0x11223344 &&
	      in.write_va == 0x0102030405060708ULL &&
	      in.read_stag == 0xa1b2c3d4 &&
	      in.read_va == 0xf0e0d0c0b0a09080ULL && in.data_len == 100,
	      "STags and addresses decoded big endian");
	check(iser_parse_pdu(b, sizeof(b), h + 99, 8192, &in) ==
	      ISER_ERR_TRUNCATED, "data segment one byte short refused");
	check(iser_parse_pdu(b, sizeof(b), h + 100, 99, &in) ==
	      ISER_ERR_TOO_BIG, "data segment above the negotiated limit refused");
	check(iser_parse_pdu(b, sizeof(b), h + 100, 100, &in) == ISER_OK,
	      "data segment exactly at the limit accepted");

	h = mk_pdu(b, ISCSI_CTRL | ISER_RSV, 0x01, 0, 0);
	put_be32(b + 4, 0xdeadbeef);
	check(iser_parse_pdu(b, sizeof(b), h, 8192, &in) == ISER_OK &&
	      !in.wsv && !in.write_stag && in.rsv,
	      "write STag ignored without the W bit");

	h = mk_pdu(b, ISCSI_CTRL, 0x01, 5, 16);
	check(iser_parse_pdu(b, sizeof(b), h + 16, 8192, &in) == ISER_OK &&
	      in.ahs_len == 20 && in.data_off == ISER_HEADERS_LEN + 20,
	      "AHS moves the data segment");
	check(iser_parse_pdu(b, sizeof(b), h + 15, 8192, &in) ==
	      ISER_ERR_TRUNCATED, "AHS counted against the bytes received");
	h = mk_pdu(b, ISCSI_CTRL, 0x01, 0x81, 0x010203);
	check(iser_parse_pdu(b, sizeof(b), h + 0x010203, 0xffffff, &in) ==
	      ISER_OK && in.ahs_len == 0x81 * 4 && in.data_len == 0x010203,
	      "TotalAHSLength and DataSegmentLength apart in one word");
	h = mk_pdu(b, ISCSI_CTRL, 0x01, 255, 0);
	check(iser_parse_pdu(b, sizeof(b), ISER_HEADERS_LEN + 100, 8192, &in) ==
	      ISER_ERR_TRUNCATED, "largest AHS with few bytes refused");
	check(iser_parse_pdu(b, sizeof(b), h, 8192, &in) == ISER_OK &&
	      in.ahs_len == ISER_MAX_AHS_LEN, "largest AHS accepted when present");

	mk_pdu(b, ISCSI_CTRL, 0x05, 0, 0xffffff);
	check(iser_parse_pdu(b, sizeof(b), 0xffffffffu, 0xffffff, &in) == ISER_OK,
	      "24-bit data length at 32-bit byte count: no overflow");
	mk_pdu(b, ISCSI_CTRL, 0x05, 255, 0xffffff);
	check(iser_parse_pdu(b, sizeof(b), 0x10000ff, 0xffffff, &in) ==
	      ISER_ERR_TRUNCATED, "AHS + data length summed without wrapping");
	mk_pdu(b, ISCSI_CTRL, 0xc1, 0, 0);
	iser_parse_pdu(b, sizeof(b), ISER_HEADERS_LEN, 8192, &in);
	check(in.iscsi_opcode == 0x01, "immediate and reserved bits masked from the opcode");
}

static void test_ahs(void)
{
	u8 a[24] = { 0 };

	check(iser_check_ahs(a, 0) == ISER_OK, "no AHS accepted");
	a[0] = 0; a[1] = 17; a[2] = 1;
	check(iser_check_ahs(a, 20) == ISER_OK,
	      "extended CDB AHS of 16 CDB bytes fits 20 bytes");
	check(iser_check_ahs(a, 16) == ISER_ERR_AHS,
	      "extended CDB AHS longer than the AHS refused");
	a[1] = 0;
	check(iser_check_ahs(a, 4) == ISER_ERR_AHS,
	      "extended CDB AHS with AHSLength 0 refused");
	a[0] = 0xff; a[1] = 0xff;
	check(iser_check_ahs(a, 20) == ISER_ERR_AHS,
	      "AHSLength 0xffff refused");
	check(iser_check_ahs(a, 2) == ISER_ERR_AHS, "AHS shorter than an entry refused");
}

static void test_rdma(void)
{
	struct iser_pdu_info in = { 0 };

	check(iser_check_rdma(&in, true, false, 4096, 0) == ISER_ERR_NO_STAG,
	      "read without a read STag refused");
	check(iser_check_rdma(&in, true, false, 0, 0) == ISER_OK,
	      "zero-length read needs no STag");
	check(iser_check_rdma(&in, false, true, 4096, 0) == ISER_ERR_NO_STAG,
	      "write without a write STag refused");
	check(iser_check_rdma(&in, false, true, 4096, 4096) == ISER_OK,
	      "write covered by immediate data needs no STag");
	check(iser_check_rdma(&in, false, false, 4096, 0) == ISER_OK,
	      "no data direction: nothing to check");
	in.rsv = true;
	in.read_va = 0xfffffffffffff000ULL;
	check(iser_check_rdma(&in, true, false, 4096, 0) == ISER_ERR_STAG_RANGE,
	      "read address range that wraps refused");
	in.read_va = 0xffffffffffffe000ULL;
	check(iser_check_rdma(&in, true, false, 4096, 0) == ISER_OK,
	      "read address range ending just below 2^64 accepted");
	in.wsv = true;
	in.write_va = 0xffffffffffffff00ULL;
	check(iser_check_rdma(&in, false, true, 8192, 7937) == ISER_OK,
	      "write range counts only what is left to fetch");
	check(iser_check_rdma(&in, false, true, 8192, 0) == ISER_ERR_STAG_RANGE,
	      "write address range that wraps refused");
}

static int count_pieces(void *ctx, const void *src, u32 len, u32 done)
{
	(void)src;
	(void)len;
	(void)done;
	(*(int *)ctx)++;
	return 0;
}

static int stop_at_second(void *ctx, const void *src, u32 len, u32 done)
{
	(void)src;
	(void)len;
	(void)ctx;
	return done ? -7 : 0;
}

static void test_segs(void)
{
	u8 a[10], b[4096], c[100], out[5000];
	struct iser_seg s[3] = { { a, sizeof(a) }, { b, sizeof(b) },
				 { c, sizeof(c) } };
	unsigned int i;
	bool ok = true;
	int pieces = 0;

	for (i = 0; i < sizeof(a); i++)
		a[i] = i;
	for (i = 0; i < sizeof(b); i++)
		b[i] = 10 + i;
	for (i = 0; i < sizeof(c); i++)
		c[i] = 10 + 4096 + i;

	check(!iser_segs_copy_out(s, 3, 0, out, 4206), "copy of the whole buffer");
	for (i = 0; i < 4206; i++)
		ok &= out[i] == (u8)i;
	check(ok, "whole copy keeps byte order across pieces");
	ok = !iser_segs_copy_out(s, 3, 8, out, 4100);
	for (i = 0; i < 4100; i++)
		ok &= out[i] == (u8)(8 + i);
	check(ok, "copy from an offset spans all three pieces");
	check(!iser_segs_copy_out(s, 3, 10, out, 4096) && out[0] == 10 &&
	      out[4095] == (u8)4105, "copy of exactly the middle piece");
	check(!iser_segs_copy_out(s, 3, 4206, out, 0), "empty copy at the end");
	check(iser_segs_copy_out(s, 3, 4200, out, 7) == -ERANGE,
	      "copy past the end refused");
	check(iser_segs_copy_out(s, 3, 5000, out, 1) == -ERANGE,
	      "copy starting past the end refused");
	check(!iser_segs_walk(s, 3, 5, 4105, count_pieces, &pieces) &&
	      pieces == 3, "walk visits one piece per segment touched");
	check(iser_segs_walk(s, 3, 0, 100, stop_at_second, NULL) == -7,
	      "walk stops at the callback's error");
}

static void test_sizing(void)
{
	check(iser_clamp_queue_depth(0) == ISER_MIN_QUEUE_DEPTH &&
	      iser_clamp_queue_depth(100000) == ISER_MAX_QUEUE_DEPTH &&
	      iser_clamp_queue_depth(512) == 512, "queue depth clamped");
	check(iser_rx_ring_min(64) == 64 + ISER_RX_IMMEDIATE_EXTRA &&
	      iser_rx_ring_min(1) == ISER_MIN_QUEUE_DEPTH + ISER_RX_IMMEDIATE_EXTRA,
	      "receive ring: window plus immediate PDUs");
	check(iser_rx_ring_size(64) ==
	      64 + ISER_RX_IMMEDIATE_EXTRA + ISER_RX_REPOST_BATCH - 1,
	      "receive ring: and the buffers waiting for a batched repost");
	check(iser_rx_ring_size(512) >= 512, "receive ring holds 512 commands");
	check(iser_rx_repost_batch(iser_rx_ring_size(64), 64) ==
	      ISER_RX_REPOST_BATCH &&
	      iser_rx_repost_batch(iser_rx_ring_size(64) + 5, 64) ==
	      ISER_RX_REPOST_BATCH,
	      "full batch when the ring has room for it");
	check(iser_rx_repost_batch(iser_rx_ring_min(64), 64) == 1 &&
	      iser_rx_repost_batch(iser_rx_ring_min(64) - 1, 64) == 1 &&
	      iser_rx_repost_batch(0, 64) == 1,
	      "no batching when the ring holds only what the initiator fills");
	check(iser_rx_repost_batch(iser_rx_ring_min(64) + 2, 64) == 3 &&
	      iser_rx_ring_min(64) + 2 - (iser_rx_repost_batch(
		      iser_rx_ring_min(64) + 2, 64) - 1) == iser_rx_ring_min(64),
	      "a partial batch never leaves fewer posted than the initiator fills");
	check(iser_rx_ring_fit(64, iser_rx_ring_size(64) + 1) ==
	      iser_rx_ring_size(64),
	      "receive ring: the whole ring when the queue has room");
	check(iser_rx_ring_fit(512, iser_rx_ring_size(128) + 1) ==
	      iser_rx_ring_size(128) &&
	      iser_rx_ring_fit(64, iser_rx_ring_size(64)) ==
	      iser_rx_ring_size(64) - 1 && iser_rx_ring_fit(16, 0) == 0,
	      "receive ring leaves the drain marker an entry");
	check(iser_rx_data_pages(8192, 4096) == 2 &&
	      iser_rx_data_pages(8193, 4096) == 3 &&
	      iser_rx_data_pages(0, 4096) == 1 &&
	      iser_rx_data_pages(512, 4096) == 1, "data pages per receive");
	check(iser_rx_data_pages(ISER_LOGIN_MAX_DATA, 4096) == 2 &&
	      iser_rx_data_pages(ISER_LOGIN_MAX_DATA, 16384) == 1 &&
	      iser_rx_data_pages(ISER_LOGIN_MAX_DATA, 65536) == 1,
	      "login buffers get a page on 4, 16 and 64 KiB pages");
#define MAX_IO_OK(b) iser_uint_in_range(b, ISER_MIN_MAX_IO_BYTES, \
				       ISER_MAX_MAX_IO_BYTES, ISER_MAX_IO_STEP)
	check(MAX_IO_OK(1 << 20) && MAX_IO_OK(16 << 20) && MAX_IO_OK(64 << 10),
	      "valid I/O sizes accepted");
	check(!MAX_IO_OK((16 << 20) + 4096) && !MAX_IO_OK(60 << 10) &&
	      !MAX_IO_OK((1 << 20) + 512), "invalid I/O sizes refused");
#undef MAX_IO_OK
	check(iser_uint_in_range(16, 16, 4096, 0) &&
	      iser_uint_in_range(4096, 16, 4096, 1) &&
	      !iser_uint_in_range(15, 16, 4096, 0) &&
	      !iser_uint_in_range(4097, 16, 4096, 0) &&
	      iser_uint_in_range(0, 0, 3600, 0) &&
	      iser_uint_in_range(UINT32_MAX, 0, UINT32_MAX, 0),
	      "parameter ranges: both ends in, one past each end out");
	check(iser_uint_in_range(8192, 4096, 8192, 4096) &&
	      !iser_uint_in_range(6144, 4096, 8192, 4096) &&
	      !iser_uint_in_range(12288, 4096, 8192, 4096),
	      "parameter steps: a multiple inside the range only");
	check(iser_sq_size(128, 1 << 20, 16, 4096, 16384) == 128 + 15 + 1 + 16,
	      "send queue: 1 SEND per command and the rest of one 1 MiB I/O");
	check(iser_sq_size(128, 64 << 10, 16, 4096, 16384) == 128 + 1 + 16,
	      "send queue: I/O of one RDMA WR needs no extra entries");
	check(iser_sq_size(4096, 16 << 20, 1, 4096, 4200) == 4200,
	      "send queue capped at the device limit");
	check(iser_sq_size(16, 64 << 10, 0, 4096, 1000) == 16 + 15 + 1 + 16,
	      "send queue with no SGE limit given");
	check(iser_sq_size(16, 16 << 20, 16, 4096, 16384) == 16 + 255 + 1 + 16,
	      "send queue holds one 16 MiB I/O at the smallest depth");
}

static void test_reasons(void)
{
	bool ok = true;
	int r;

	for (r = 0; r < ISER_ERR_MAX; r++)
		ok &= iser_reason_str(r) && strlen(iser_reason_str(r)) > 1;
	check(ok, "every refusal reason has a name");
	check(!strcmp(iser_reason_str(ISER_ERR_MAX), "unknown reason") &&
	      !strcmp(iser_reason_str(-1), "unknown reason"),
	      "out-of-range reason is named safely");
}

/* The Text task's state machine: which Text Requests the core may see. */
static void test_text(void)
{
	const struct iser_text_task task = {
		.present = true, .itt = 0x101, .ttt = 7, .immediate = false,
	};
	const struct iser_text_task none = { 0 };
	struct iser_text_req fresh = {
		.itt = 0x101, .ttt = 0xffffffff, .flags = ISER_TEXT_FINAL,
		.data_len = 16,
	};
	struct iser_text_req cont = {
		.itt = 0x101, .ttt = 7, .flags = ISER_TEXT_FINAL,
	};
	struct iser_text_req r;
	const char *why;
	bool ok = true;
	int st;

	check(iser_text_decide(ISER_TEXT_NONE, &none, &fresh, &why) ==
	      ISER_TEXT_NEW && !why, "text: a new request with no task");
	check(iser_text_decide(ISER_TEXT_WAIT, &task, &fresh, &why) ==
	      ISER_TEXT_RESTART, "text: a new request restarts a sequence that waits");
	check(iser_text_decide(ISER_TEXT_ENDING, &task, &fresh, &why) ==
	      ISER_TEXT_DETACH, "text: a new request while the last part is sent");
	for (st = ISER_TEXT_CORE; st <= ISER_TEXT_EARLY; st++)
		ok &= iser_text_decide(st, &task, &fresh, &why) ==
		      ISER_TEXT_REFUSE && why;
	check(ok, "text: a second outstanding request is refused");

	check(iser_text_decide(ISER_TEXT_WAIT, &task, &cont, &why) ==
	      ISER_TEXT_CONTINUE, "text: continuation after a completed C=1 response");
	check(iser_text_decide(ISER_TEXT_MORE, &task, &cont, &why) ==
	      ISER_TEXT_HOLD, "text: continuation before that send completed is held");
	ok = true;
	for (st = ISER_TEXT_NONE; st <= ISER_TEXT_ENDING; st++)
		if (st != ISER_TEXT_MORE && st != ISER_TEXT_WAIT)
			ok &= iser_text_decide(st, &task, &cont, &why) ==
			      ISER_TEXT_REFUSE;
	check(ok, "text: continuation in any other state is refused");
	check(iser_text_decide(ISER_TEXT_WAIT, &none, &cont, &why) ==
	      ISER_TEXT_REFUSE, "text: continuation with no task is refused");

	r = cont;
	r.ttt = 8;
	ok = iser_text_decide(ISER_TEXT_WAIT, &task, &r, &why) == ISER_TEXT_REFUSE;
	r = cont;
	r.itt = 0x102;
	ok &= iser_text_decide(ISER_TEXT_WAIT, &task, &r, &why) == ISER_TEXT_REFUSE;
	check(ok, "text: continuation with another TTT or ITT is refused");
	r = cont;
	r.data_len = 1;
	ok = iser_text_decide(ISER_TEXT_WAIT, &task, &r, &why) == ISER_TEXT_REFUSE;
	r = cont;
	r.flags = ISER_TEXT_CONTINUE_BIT;
	ok &= iser_text_decide(ISER_TEXT_WAIT, &task, &r, &why) == ISER_TEXT_REFUSE;
	r = cont;
	r.immediate = true;
	ok &= iser_text_decide(ISER_TEXT_WAIT, &task, &r, &why) == ISER_TEXT_REFUSE;
	check(ok, "text: continuation with data, without F, with C or another I bit is refused");
}

static void test_login_clock(void)
{
	struct iser_login_clock c = {
		.start = 1000, .timeout = 3000, .stall = 25,
		.asked = 1100, .now = 1110, .owed = true, .contended = true,
	};
	unsigned long next = 0;
	bool ok;

	check(iser_login_judge(&c, &next) == ISER_LOGIN_GOES_ON && next == 1125,
	      "login: a fresh wait is looked at again when it would be a stall");
	c.now = 1125;
	check(iser_login_judge(&c, &next) == ISER_LOGIN_STALLED,
	      "login: silence of the stall time while others wait is a stall");
	c.contended = false;
	check(iser_login_judge(&c, &next) == ISER_LOGIN_GOES_ON && next == 1150,
	      "login: the same silence alone on the portal goes on, looked at again");
	c.contended = true;
	c.owed = false;
	check(iser_login_judge(&c, &next) == ISER_LOGIN_GOES_ON && next == 4000,
	      "login: while the target owes the response, only the timeout counts");
	c.owed = true;
	c.stall = 0;
	check(iser_login_judge(&c, &next) == ISER_LOGIN_GOES_ON && next == 4000,
	      "login: login_stall_ms=0 leaves only the timeout");
	c.stall = 25;
	c.now = 3990;
	c.contended = false;
	check(iser_login_judge(&c, &next) == ISER_LOGIN_GOES_ON && next == 4000,
	      "login: the next look never passes the end of the login");
	c.now = 4000;
	ok = iser_login_judge(&c, &next) == ISER_LOGIN_TOO_LONG;
	c.owed = false;
	ok &= iser_login_judge(&c, &next) == ISER_LOGIN_TOO_LONG;
	check(ok, "login: the whole login timeout ends it, owed or not");

	c.start = (unsigned long)-100;
	c.asked = (unsigned long)-10;
	c.now = 20;
	c.owed = true;
	c.contended = true;
	check(iser_login_judge(&c, &next) == ISER_LOGIN_STALLED,
	      "login: a stall across the clock's wrap is seen");
	c.now = (unsigned long)-5;
	check(iser_login_judge(&c, &next) == ISER_LOGIN_GOES_ON && next == 15,
	      "login: a wait across the clock's wrap goes on until its time");
}

static void test_keepalive(void)
{
	check(iser_keepalive_decide(5, 4, false) == ISER_KA_HEARD,
	      "keepalive: a PDU or acknowledgement in the interval is enough");
	check(iser_keepalive_decide(5, 4, true) == ISER_KA_HEARD,
	      "keepalive: something heard while the probe waits is not silence");
	check(iser_keepalive_decide(4, 4, false) == ISER_KA_PROBE,
	      "keepalive: a silent interval sends a probe");
	check(iser_keepalive_decide(4, 4, true) == ISER_KA_SILENT,
	      "keepalive: a probe unanswered a whole silent interval drops it");
	check(iser_keepalive_decide(0, 0xffffffffu, false) == ISER_KA_HEARD,
	      "keepalive: the count wrapping is still something heard");
}

static void test_sq_signal(void)
{
	u32 run, n = 0;

	check(!iser_sq_signal(0, 100, 100),
	      "sq signal: the first response after a signalled one goes unsignalled");
	for (run = 0; !iser_sq_signal(run, 100, 100); run++)
		n++;
	check(n == ISER_SQ_SIGNAL_EVERY - 1,
	      "sq signal: at most SIGNAL_EVERY - 1 in a row go unsignalled");
	check(iser_sq_signal(0, 49, 100),
	      "sq signal: less than half the queue free signals at once");
	check(!iser_sq_signal(0, 50, 100),
	      "sq signal: half the queue free is enough to skip");
	check(iser_sq_signal(ISER_SQ_SIGNAL_EVERY - 1, 100, 100),
	      "sq signal: the response after a full run is signalled");
}

int main(void)
{
	test_wire_layout();
	test_cm();
	test_parse();
	test_ahs();
	test_rdma();
	test_segs();
	test_sizing();
	test_reasons();
	test_text();
	test_keepalive();
	test_sq_signal();
	test_login_clock();
	printf("1..%d\n", n_run);
	fprintf(stderr, "unit: %d passed, %d failed\n", n_run - n_fail, n_fail);
	return n_fail ? 1 : 0;
}
