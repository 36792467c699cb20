/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pure protocol logic of the iSER target: header and CM private data
 * parsing, bounds checks and resource sizing. Nothing here calls into the
 * kernel, so the same file is compiled into the module and into the
 * host unit tests (tests/unit).
 */
#ifndef ISER_PROTO_H
#define ISER_PROTO_H

#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/types.h>
#include <asm/byteorder.h>
#include "iser_compat.h"
#else
#include "iser_userspace.h"
#endif
#include <scsi/iscsi_proto.h>
#include <scsi/iser.h>

/* The iSER header (RFC 7145 9.2) and the smallest control-type PDU. */
#define ISER_HDR_LEN			sizeof(struct iser_ctrl)
#define ISER_HEADERS_LEN		(ISER_HDR_LEN + ISCSI_HDR_LEN)
/* The opcode is the high nibble of the iSER header's flags. */
#define ISER_OPCODE_MASK		0xf0
/* Flag bits an iSCSI control-type PDU may carry beside its opcode. */
#define ISER_CTRL_FLAGS_MASK		(ISER_WSV | ISER_RSV)
/* AHSType: two reserved bits, then the AHS code (RFC 7143 11.2.1.2). */
#define ISER_AHS_CODE_MASK		0x3f

/* Largest data segment a login PDU may carry (RFC 7143 key=value text). */
#define ISER_LOGIN_MAX_DATA		8192
/* Largest iSCSI AHS: TotalAHSLength is one byte counting 4-byte words. */
#define ISER_MAX_AHS_LEN		(255 * 4)

/* Default and hard limits of the I/O size the target offers per command. */
#define ISER_DEF_MAX_IO_BYTES		(1024U * 1024)
#define ISER_MIN_MAX_IO_BYTES		(64U * 1024)
#define ISER_MAX_MAX_IO_BYTES		(16U * 1024 * 1024)
#define ISER_MAX_IO_STEP		4096U

/* PDUs the initiator may send outside the CmdSN window (NOP, TMF, ...). */
#define ISER_RX_IMMEDIATE_EXTRA		16
/*
 * Receive buffers given back to the queue with one post call (one
 * doorbell); the ring holds all but one of them beyond what the initiator
 * may fill.
 */
#define ISER_RX_REPOST_BATCH		8
#define ISER_MIN_QUEUE_DEPTH		16
#define ISER_MAX_QUEUE_DEPTH		4096

/**
 * struct iser_cm_params - what the initiator's CM request allows
 * @zbva_ok: initiator accepts zero-based virtual addresses
 * @sie_ok: initiator accepts Send with Invalidate
 */
struct iser_cm_params {
	bool zbva_ok;
	bool sie_ok;
};

/**
 * struct iser_pdu_info - a received control-type PDU, validated
 * @write_va: address of the initiator buffer holding write data
 * @read_va: address of the initiator buffer that receives read data
 * @write_stag: STag of that write buffer
 * @read_stag: STag of that read buffer
 * @ahs_len: bytes of additional header segments after the BHS
 * @data_off: offset of the data segment from the start of the iSER header
 * @data_len: data segment length the BHS declares (checked to be present)
 * @opcode: opcode of the iSER header (ISCSI_CTRL, ISER_HELLO, ...)
 * @iscsi_opcode: opcode of the iSCSI BHS, without the I bit
 * @wsv: @write_stag and @write_va are valid
 * @rsv: @read_stag and @read_va are valid
 *
 * Widest members first: no padding, so a command's copy is 40 bytes.
 */
struct iser_pdu_info {
	u64 write_va;
	u64 read_va;
	u32 write_stag;
	u32 read_stag;
	u32 ahs_len;
	u32 data_off;
	u32 data_len;
	u8 opcode;
	u8 iscsi_opcode;
	bool wsv;
	bool rsv;
};

/* Why a PDU or a request was refused; iser_reason_str() names each. */
enum iser_reason {
	ISER_OK = 0,
	ISER_ERR_SHORT,		/* fewer bytes than the headers need */
	ISER_ERR_OPCODE,	/* unknown iSER opcode */
	ISER_ERR_FLAGS,		/* reserved iSER flag bits set */
	ISER_ERR_HELLO,		/* iSER Hello on an IB/RoCE connection */
	ISER_ERR_TRUNCATED,	/* BHS declares more bytes than arrived */
	ISER_ERR_TOO_BIG,	/* data segment above the negotiated limit */
	ISER_ERR_NO_STAG,	/* transfer needs an STag the PDU lacks */
	ISER_ERR_STAG_RANGE,	/* STag address plus length wraps around */
	ISER_ERR_CM_PDATA,	/* CM private data missing or truncated */
	ISER_ERR_AHS,		/* AHS entry lengths do not fit the AHS */
	ISER_ERR_MAX
};

const char *iser_reason_str(enum iser_reason r);

enum iser_reason iser_parse_cm_req(const void *pdata, u32 len,
				   struct iser_cm_params *out);
void iser_build_cm_rep(bool use_sie, struct iser_cm_hdr *rep);

/**
 * iser_parse_pdu() - validate a received SEND and decode its headers
 * @hdrs: the first bytes of the receive buffer (iSER header, BHS, ...)
 * @hdrs_len: how many contiguous bytes @hdrs holds
 * @byte_len: bytes the SEND really delivered
 * @max_data: largest data segment allowed in this phase
 * @info: the decoded headers
 *
 * Checks, in order: enough bytes for the iSER header and BHS, a known
 * iSER opcode with no reserved flag bits, then that the AHS and data
 * segment the BHS declares were all received and fit @max_data.
 *
 * Inline: it runs for every PDU.
 *
 * Return: ISER_OK or the reason the PDU must be refused.
 */
static inline enum iser_reason
iser_parse_pdu(const void *hdrs, u32 hdrs_len, u32 byte_len, u32 max_data,
	       struct iser_pdu_info *info)
{
	const struct iser_ctrl *ih = hdrs;
	const struct iscsi_hdr *bhs = (const void *)(ih + 1);
	u32 lens;
	u8 flags;
	u64 need;

	*info = (struct iser_pdu_info){};
	if (byte_len < ISER_HDR_LEN || hdrs_len < ISER_HEADERS_LEN)
		return ISER_ERR_SHORT;

	flags = ih->flags;
	info->opcode = flags & ISER_OPCODE_MASK;
	/* One test for every PDU of the full feature phase. */
	if (info->opcode != ISCSI_CTRL)
		return info->opcode == ISER_HELLO ||
		       info->opcode == ISER_HELLORPLY ? ISER_ERR_HELLO :
							ISER_ERR_OPCODE;
	if (flags & ~(ISER_OPCODE_MASK | ISER_CTRL_FLAGS_MASK))
		return ISER_ERR_FLAGS;
	if (byte_len < ISER_HEADERS_LEN)
		return ISER_ERR_SHORT;

	info->wsv = flags & ISER_WSV;
	info->rsv = flags & ISER_RSV;
	/* The header is packed: the compiler loads its fields unaligned. */
	if (info->wsv) {
		info->write_stag = be32_to_cpu(ih->write_stag);
		info->write_va = be64_to_cpu(ih->write_va);
	}
	if (info->rsv) {
		info->read_stag = be32_to_cpu(ih->read_stag);
		info->read_va = be64_to_cpu(ih->read_va);
	}

	info->iscsi_opcode = bhs->opcode & ISCSI_OPCODE_MASK;
	/* TotalAHSLength and DataSegmentLength are one big-endian word. */
	lens = get_unaligned_be32(&bhs->hlength);
	info->ahs_len = (lens >> 24) * 4;
	info->data_len = lens & 0xffffff;
	info->data_off = ISER_HEADERS_LEN + info->ahs_len;

	if (info->data_len > max_data)
		return ISER_ERR_TOO_BIG;
	need = (u64)info->data_off + info->data_len;
	if (need > byte_len)
		return ISER_ERR_TRUNCATED;
	return ISER_OK;
}

/**
 * iser_check_ahs() - check the entries of a SCSI command's AHS
 * @ahs: the additional header segments, right after the BHS
 * @ahs_len: their total length from the BHS (already received)
 *
 * Each entry is AHSLength (2 bytes), AHSType, then AHSLength bytes that
 * start with the byte after AHSType (RFC 7143 section 11.2.1.2), padded
 * to 4. An extended-CDB entry needs at least its reserved byte: the core
 * copies AHSLength - 1 bytes of CDB from it. Inline: it runs for every
 * SCSI command, almost always with no AHS.
 *
 * Return: ISER_OK or ISER_ERR_AHS.
 */
static inline enum iser_reason iser_check_ahs(const void *ahs, u32 ahs_len)
{
	const u8 *p = ahs;
	u32 off = 0;

	while (off < ahs_len) {
		u32 len, size;

		if (ahs_len - off < 4)
			return ISER_ERR_AHS;
		len = get_unaligned_be16(p + off);
		if ((p[off + 2] & ISER_AHS_CODE_MASK) == ISCSI_AHSTYPE_CDB &&
		    len < 1)
			return ISER_ERR_AHS;
		size = (3 + len + 3) & ~3U;
		if (size > ahs_len - off)
			return ISER_ERR_AHS;
		off += size;
	}
	return ISER_OK;
}

/**
 * iser_check_rdma() - check a command's STags against its transfer
 * @info: the command's decoded headers
 * @data_in: the command reads (target RDMA-WRITEs to the initiator)
 * @data_out: the command writes (target RDMA-READs from the initiator)
 * @xfer_len: expected data transfer length of the command
 * @done_len: write bytes already received as immediate or unsolicited data
 *
 * The target moves data only through an STag the initiator advertised,
 * and never at an address that wraps: the HCA checks the bounds of the
 * STag itself, so this is all a lying initiator leaves to check here.
 * Inline: it runs for every SCSI command.
 *
 * Return: ISER_OK or the reason to refuse the command.
 */
static inline enum iser_reason
iser_check_rdma(const struct iser_pdu_info *info, bool data_in, bool data_out,
		u32 xfer_len, u32 done_len)
{
	if (data_in && xfer_len) {
		if (!info->rsv)
			return ISER_ERR_NO_STAG;
		if (info->read_va + xfer_len < info->read_va)
			return ISER_ERR_STAG_RANGE;
	}
	/* The write address already points past the unsolicited part. */
	if (data_out && xfer_len > done_len) {
		if (!info->wsv)
			return ISER_ERR_NO_STAG;
		if (info->write_va + (xfer_len - done_len) < info->write_va)
			return ISER_ERR_STAG_RANGE;
	}
	return ISER_OK;
}

/**
 * struct iser_seg - one piece of a buffer that is not contiguous
 * @addr: start of the piece
 * @len: its length in bytes
 */
struct iser_seg {
	void *addr;
	u32 len;
};

typedef int (*iser_seg_fn)(void *ctx, const void *src, u32 len, u32 done);

/**
 * iser_segs_walk() - visit a byte range of a segmented buffer
 * @segs: the segments, in order
 * @nsegs: how many there are
 * @off: first byte of the range, counted over all segments
 * @len: length of the range
 * @fn: called once per contiguous piece, with the bytes done so far
 * @ctx: passed to @fn
 *
 * Inline, so that a caller's constant @fn is called directly, not through
 * a pointer, for each piece.
 *
 * Return: 0, -ERANGE when the range does not fit the buffer, or the first
 * non-zero value @fn returned.
 */
static inline int iser_segs_walk(const struct iser_seg *segs,
				 unsigned int nsegs, u32 off, u32 len,
				 iser_seg_fn fn, void *ctx)
{
	unsigned int i;
	u32 done = 0;
	int ret;

	for (i = 0; i < nsegs && done < len; i++) {
		u32 n;

		if (off >= segs[i].len) {
			off -= segs[i].len;
			continue;
		}
		n = segs[i].len - off;
		if (n > len - done)
			n = len - done;
		ret = fn(ctx, (const u8 *)segs[i].addr + off, n, done);
		if (ret)
			return ret;
		done += n;
		off = 0;
	}
	return done == len ? 0 : -ERANGE;
}

int iser_segs_copy_out(const struct iser_seg *segs, unsigned int nsegs,
		       u32 off, void *dst, u32 len);

/**
 * enum iser_text_state - where the connection's one Text task stands
 *	(RFC 7143 11.10: an initiator has at most one Text Request
 *	outstanding on a connection)
 * @ISER_TEXT_NONE: no Text task
 * @ISER_TEXT_CORE: the request is with the iSCSI layer, no response posted
 * @ISER_TEXT_MORE: a response with C=1 (more to come) is being sent
 * @ISER_TEXT_EARLY: the initiator's continuation came before that send
 *	completed; it is handed on when the send completes
 * @ISER_TEXT_WAIT: that response completed; the initiator may continue
 *	the task (its TTT) or start a new one
 * @ISER_TEXT_ENDING: a final response or a Reject ends the task; it is
 *	freed when that send completes
 */
enum iser_text_state {
	ISER_TEXT_NONE,
	ISER_TEXT_CORE,
	ISER_TEXT_MORE,
	ISER_TEXT_EARLY,
	ISER_TEXT_WAIT,
	ISER_TEXT_ENDING,
};

/**
 * enum iser_text_action - what to do with a received Text Request
 * @ISER_TEXT_REFUSE: drop the connection
 * @ISER_TEXT_NEW: a new task
 * @ISER_TEXT_RESTART: a new task, after ending the one that waits for its
 *	continuation (RFC 7143 11.10.4)
 * @ISER_TEXT_DETACH: a new task; the ending one is freed by its send
 * @ISER_TEXT_CONTINUE: hand the continuation to the iSCSI layer now
 * @ISER_TEXT_HOLD: keep the continuation until the C=1 response completed
 */
enum iser_text_action {
	ISER_TEXT_REFUSE,
	ISER_TEXT_NEW,
	ISER_TEXT_RESTART,
	ISER_TEXT_DETACH,
	ISER_TEXT_CONTINUE,
	ISER_TEXT_HOLD,
};

/* Text Request flags (RFC 7143 11.10.1 and 11.10.2). */
#define ISER_TEXT_FINAL			0x80
#define ISER_TEXT_CONTINUE_BIT		0x40

/**
 * struct iser_text_req - the fields of a Text Request that decide its fate
 * @itt: initiator task tag (as on the wire)
 * @ttt: target transfer tag (host order)
 * @flags: BHS flags (F 0x80, C 0x40)
 * @immediate: the I bit
 * @data_len: bytes of its data segment
 */
struct iser_text_req {
	u32 itt;
	u32 ttt;
	u8 flags;
	bool immediate;
	u32 data_len;
};

/**
 * struct iser_text_task - the connection's Text task, if @present
 * @present: there is one
 * @itt: its initiator task tag (as on the wire)
 * @ttt: the target transfer tag its last response carried (host order)
 * @immediate: its request had the I bit
 */
struct iser_text_task {
	bool present;
	u32 itt;
	u32 ttt;
	bool immediate;
};

enum iser_text_action iser_text_decide(enum iser_text_state state,
				       const struct iser_text_task *task,
				       const struct iser_text_req *req,
				       const char **why);

/**
 * enum iser_login_verdict - what becomes of a login in progress
 * @ISER_LOGIN_GOES_ON: nothing wrong yet; look again at the time given
 * @ISER_LOGIN_TOO_LONG: the whole login took longer than allowed
 * @ISER_LOGIN_STALLED: the initiator owes a request for too long while
 *	other logins wait behind it
 */
enum iser_login_verdict {
	ISER_LOGIN_GOES_ON,
	ISER_LOGIN_TOO_LONG,
	ISER_LOGIN_STALLED,
};

/**
 * struct iser_login_clock - a login in progress, in clock ticks that wrap
 * @now: the time now
 * @start: when the login thread took the connection
 * @asked: when the last non-final response went out
 * @timeout: longest whole login
 * @stall: longest silence while others wait (0: no limit)
 * @owed: the initiator owes the next request
 * @contended: other connections wait to log in
 */
struct iser_login_clock {
	unsigned long now;
	unsigned long start;
	unsigned long asked;
	unsigned long timeout;
	unsigned long stall;
	bool owed;
	bool contended;
};

enum iser_login_verdict iser_login_judge(const struct iser_login_clock *c,
					 unsigned long *next);

/**
 * enum iser_ka_action - what a keepalive interval's end calls for
 * @ISER_KA_HEARD: the initiator was heard in the interval; nothing to do
 * @ISER_KA_PROBE: silence; send a probe
 * @ISER_KA_SILENT: silence, and the probe sent an interval ago is still
 *	unanswered: the initiator is gone
 */
enum iser_ka_action {
	ISER_KA_HEARD,
	ISER_KA_PROBE,
	ISER_KA_SILENT,
};

enum iser_ka_action iser_keepalive_decide(u32 heard, u32 last_heard,
					  bool probe_in_flight);

/*
 * At most ISER_SQ_SIGNAL_EVERY - 1 SCSI Responses in a row go unsignalled:
 * the completion of the next signalled send stands for them all.
 */
#define ISER_SQ_SIGNAL_EVERY	8

/**
 * iser_sq_signal() - must a SCSI Response's send ask for a completion
 * @run: unsignalled responses posted since the last signalled send
 * @avail: send queue entries free for data transfers, after this post
 * @size: send queue entries data transfers can use at most
 *
 * An unsignalled response keeps its entries until a later completion
 * stands for it. With half the queue held so, a waiting command could
 * stall until the initiator goes quiet and a completion marker follows:
 * signal then. Inline: it runs for every response.
 *
 * Return: true to signal.
 */
static inline bool iser_sq_signal(u32 run, u32 avail, u32 size)
{
	return run + 1 >= ISER_SQ_SIGNAL_EVERY || avail < size / 2;
}

u32 iser_rx_ring_min(u32 cmdsn_depth);
u32 iser_rx_ring_size(u32 cmdsn_depth);
u32 iser_rx_repost_batch(u32 ring, u32 cmdsn_depth);
u32 iser_rx_ring_fit(u32 cmdsn_depth, u32 rq_size);
u32 iser_rx_data_pages(u32 max_recv_dsl, u32 page_size);
u32 iser_clamp_queue_depth(u32 depth);
bool iser_uint_in_range(u32 v, u32 min, u32 max, u32 step);
u32 iser_sq_size(u32 queue_depth, u32 max_io, u32 max_sge, u32 page_size,
		 u32 dev_max_wr);

#endif /* ISER_PROTO_H */
