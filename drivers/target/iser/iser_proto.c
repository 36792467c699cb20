// SPDX-License-Identifier: GPL-2.0
/*
 * Pure protocol logic of the iSER target; see iser_proto.h, which holds
 * the checks run for every PDU, inline.
 *
 * Every length that comes from the network is checked here or there
 * against the bytes that really arrived before anything else looks at it.
 */
#include "iser_proto.h"

#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/string.h>
#endif

static const char * const iser_reasons[ISER_ERR_MAX] = {
	[ISER_OK]		= "ok",
	[ISER_ERR_SHORT]	= "PDU shorter than its headers",
	[ISER_ERR_OPCODE]	= "unknown iSER opcode",
	[ISER_ERR_FLAGS]	= "reserved iSER flag bits set",
	[ISER_ERR_HELLO]	= "iSER Hello on an IB/RoCE connection",
	[ISER_ERR_TRUNCATED]	= "PDU declares more bytes than were received",
	[ISER_ERR_TOO_BIG]	= "data segment larger than negotiated",
	[ISER_ERR_NO_STAG]	= "data transfer without the STag it needs",
	[ISER_ERR_STAG_RANGE]	= "STag address range wraps around",
	[ISER_ERR_CM_PDATA]	= "CM private data missing or truncated",
	[ISER_ERR_AHS]		= "additional header segment lengths do not fit",
};

/**
 * iser_reason_str() - human-readable name of a refusal reason
 * @r: the reason
 *
 * Return: a constant string, never NULL.
 */
const char *iser_reason_str(enum iser_reason r)
{
	if ((unsigned int)r >= ISER_ERR_MAX)
		return "unknown reason";
	return iser_reasons[r];
}

/**
 * iser_parse_cm_req() - decode the iSER CM REQ private data
 * @pdata: private data of the RDMA CM connect request
 * @len: its length in bytes
 * @out: what the initiator allows
 *
 * Reserved bits are ignored as RFC 7145 asks of a receiver.
 *
 * Return: ISER_OK, or ISER_ERR_CM_PDATA when the data is missing or
 * shorter than the iSER CM REQ message.
 */
enum iser_reason iser_parse_cm_req(const void *pdata, u32 len,
				   struct iser_cm_params *out)
{
	const struct iser_cm_hdr *req = pdata;

	if (!req || len < sizeof(*req))
		return ISER_ERR_CM_PDATA;
	out->zbva_ok = !(req->flags & ISER_ZBVA_NOT_SUP);
	out->sie_ok = !(req->flags & ISER_SEND_W_INV_NOT_SUP);
	return ISER_OK;
}

/**
 * iser_build_cm_rep() - encode the iSER CM REP private data
 * @use_sie: the target will answer with Send with Invalidate
 * @rep: the message to fill
 *
 * The target always addresses initiator buffers by virtual address, the
 * form every initiator supports, so it never uses zero-based addressing.
 */
void iser_build_cm_rep(bool use_sie, struct iser_cm_hdr *rep)
{
	rep->flags = ISERT_ZBVA_NOT_USED;
	if (!use_sie)
		rep->flags |= ISERT_SEND_W_INV_NOT_USED;
	rep->rsvd[0] = 0;
	rep->rsvd[1] = 0;
	rep->rsvd[2] = 0;
}

static int iser_seg_memcpy(void *ctx, const void *src, u32 len, u32 done)
{
	memcpy((u8 *)ctx + done, src, len);
	return 0;
}

/**
 * iser_segs_copy_out() - copy a byte range of a segmented buffer
 * @segs: the segments, in order
 * @nsegs: how many there are
 * @off: first byte to copy
 * @dst: where to copy to
 * @len: how many bytes
 *
 * Return: 0, or -ERANGE when the range does not fit the buffer.
 */
int iser_segs_copy_out(const struct iser_seg *segs, unsigned int nsegs,
		       u32 off, void *dst, u32 len)
{
	return iser_segs_walk(segs, nsegs, off, len, iser_seg_memcpy, dst);
}

/**
 * iser_clamp_queue_depth() - bound a session queue depth
 * @depth: the depth asked for (the session's CmdSN window)
 *
 * Return: @depth within [ISER_MIN_QUEUE_DEPTH, ISER_MAX_QUEUE_DEPTH].
 */
u32 iser_clamp_queue_depth(u32 depth)
{
	if (depth < ISER_MIN_QUEUE_DEPTH)
		return ISER_MIN_QUEUE_DEPTH;
	if (depth > ISER_MAX_QUEUE_DEPTH)
		return ISER_MAX_QUEUE_DEPTH;
	return depth;
}

/**
 * iser_rx_ring_min() - receive buffers the initiator may fill at once
 * @cmdsn_depth: the session's CmdSN window
 *
 * One buffer per command the window admits, plus room for the PDUs that
 * travel outside it (immediate NOP-Out, task management, Data-Out).
 * Buffers go back to the queue as soon as a PDU is consumed, so the ring
 * never has to cover a command's whole lifetime.
 *
 * Return: the number of buffers.
 */
u32 iser_rx_ring_min(u32 cmdsn_depth)
{
	return iser_clamp_queue_depth(cmdsn_depth) + ISER_RX_IMMEDIATE_EXTRA;
}

/**
 * iser_rx_ring_size() - receive descriptors for a full-feature connection
 * @cmdsn_depth: the session's CmdSN window
 *
 * iser_rx_ring_min() and the ISER_RX_REPOST_BATCH - 1 consumed buffers
 * that may wait for the next batched repost (iser_rx_repost_batch()).
 *
 * Return: the ring size.
 */
u32 iser_rx_ring_size(u32 cmdsn_depth)
{
	return iser_rx_ring_min(cmdsn_depth) + ISER_RX_REPOST_BATCH - 1;
}

/**
 * iser_rx_repost_batch() - consumed receive buffers reposted together
 * @ring: descriptors in the receive ring
 * @cmdsn_depth: the session's CmdSN window
 *
 * Up to the batch less one buffer waits unposted, so the batch is one more
 * than what @ring holds beyond iser_rx_ring_min(): the initiator never
 * finds the queue short. 1 (each buffer reposted at once) for a ring that
 * holds nothing more.
 *
 * Return: the batch, 1 to ISER_RX_REPOST_BATCH.
 */
u32 iser_rx_repost_batch(u32 ring, u32 cmdsn_depth)
{
	u32 need = iser_rx_ring_min(cmdsn_depth);

	if (ring <= need)
		return 1;
	if (ring - need + 1 > ISER_RX_REPOST_BATCH)
		return ISER_RX_REPOST_BATCH;
	return ring - need + 1;
}

/**
 * iser_text_decide() - the fate of a Text Request
 * @state: where the connection's Text task stands
 * @task: that task
 * @req: the request
 * @why: set to the reason when the answer is ISER_TEXT_REFUSE
 *
 * A request with TTT 0xffffffff starts a new task: allowed when none is
 * outstanding, or when the last one waits for a continuation (it is ended)
 * or only for its final send to complete. Any other TTT continues the
 * task: only its own ITT and the TTT its last response carried, without
 * data, with F and without C, with the I bit of its first request, and
 * only after a response with C=1 was posted (RFC 7143 11.10).
 *
 * Return: what to do with @req.
 */
enum iser_text_action iser_text_decide(enum iser_text_state state,
				       const struct iser_text_task *task,
				       const struct iser_text_req *req,
				       const char **why)
{
	*why = NULL;
	if (req->ttt == 0xffffffff) {
		switch (state) {
		case ISER_TEXT_NONE:
			return ISER_TEXT_NEW;
		case ISER_TEXT_WAIT:
			return ISER_TEXT_RESTART;
		case ISER_TEXT_ENDING:
			return ISER_TEXT_DETACH;
		default:
			*why = "Text Request while another one is outstanding";
			return ISER_TEXT_REFUSE;
		}
	}
	if (!task->present || req->itt != task->itt || req->ttt != task->ttt)
		*why = "Text continuation that names no Text Response of ours";
	else if (req->data_len || !(req->flags & ISER_TEXT_FINAL) ||
		 (req->flags & ISER_TEXT_CONTINUE_BIT))
		*why = "Text continuation with data or without the final bit";
	else if (req->immediate != task->immediate)
		*why = "Text continuation whose immediate bit differs from its request's";
	else if (state != ISER_TEXT_MORE && state != ISER_TEXT_WAIT)
		*why = "Text continuation while no Text Response with C=1 is out";
	if (*why)
		return ISER_TEXT_REFUSE;
	return state == ISER_TEXT_MORE ? ISER_TEXT_HOLD : ISER_TEXT_CONTINUE;
}

/**
 * iser_rx_ring_fit() - receive descriptors to post on a receive queue
 * @cmdsn_depth: the session's CmdSN window
 * @rq_size: receive queue entries of the queue pair
 *
 * As iser_rx_ring_size(), but one entry of the queue always stays free:
 * ib_drain_rq() posts its marker there, and on a full queue it gives up
 * with completions still to come for a ring about to be freed.
 *
 * Return: the ring size, at most @rq_size - 1 (0 for an empty queue).
 */
u32 iser_rx_ring_fit(u32 cmdsn_depth, u32 rq_size)
{
	u32 ring = iser_rx_ring_size(cmdsn_depth);

	if (!rq_size)
		return 0;
	return ring < rq_size ? ring : rq_size - 1;
}

/**
 * iser_rx_data_pages() - pages of data segment per receive descriptor
 * @max_recv_dsl: largest data segment the target agreed to receive
 * @page_size: the page size
 *
 * Return: pages needed for @max_recv_dsl bytes, at least one.
 */
u32 iser_rx_data_pages(u32 max_recv_dsl, u32 page_size)
{
	u32 n = (max_recv_dsl + page_size - 1) / page_size;

	return n ? n : 1;
}

/**
 * iser_uint_in_range() - may a module parameter take this value?
 * @v: the value given
 * @min: smallest value accepted
 * @max: largest value accepted
 * @step: the value must be a multiple of this; 0 or 1: any value
 *
 * Return: true when @v is within [@min, @max] and a multiple of @step.
 */
bool iser_uint_in_range(u32 v, u32 min, u32 max, u32 step)
{
	if (v < min || v > max)
		return false;
	return step <= 1 || !(v % step);
}

/**
 * iser_sq_size() - send queue entries a connection asks for
 * @queue_depth: commands in flight
 * @max_io: largest I/O in bytes
 * @max_sge: scatter/gather entries one RDMA work request may carry
 * @page_size: the page size
 * @dev_max_wr: the device's limit
 *
 * One response SEND per command, and enough beyond that for the RDMA work
 * requests of one largest I/O after its first, so that any single command
 * fits. The first RDMA READ or WRITE of each command is not counted here:
 * the RDMA R/W API adds one entry per context (more if the device
 * registers memory) when it creates the queue pair. Commands of up to
 * @max_sge pages thus keep @queue_depth in flight; larger ones wait for
 * send queue credits. Sizing for the common case rather than for large
 * I/O at full depth halves the queue's memory: providers round a queue up
 * to a power of two.
 *
 * Return: the send queue size, at most @dev_max_wr.
 */
u32 iser_sq_size(u32 queue_depth, u32 max_io, u32 max_sge, u32 page_size,
		 u32 dev_max_wr)
{
	u32 pages = (max_io + page_size - 1) / page_size;
	u32 rw = max_sge ? (pages + max_sge - 1) / max_sge : pages;
	u64 n = (u64)queue_depth + (rw ? rw - 1 : 0) + 1 + 16;

	return n > dev_max_wr ? dev_max_wr : (u32)n;
}

/* a is at or after b, on a clock that wraps. */
static bool iser_tick_reached(unsigned long a, unsigned long b)
{
	return (long)(a - b) >= 0;
}

/**
 * iser_login_judge() - decide whether a login in progress may go on
 * @c: its times and circumstances
 * @next: when to look again, for %ISER_LOGIN_GOES_ON
 *
 * A silence counts as a stall only while others wait: an initiator alone on
 * the portal may take the whole login timeout, however slow it is. While it
 * owes a request the login is looked at every @c->stall ticks, since others
 * may start waiting at any time.
 *
 * Return: the verdict.
 */
enum iser_login_verdict iser_login_judge(const struct iser_login_clock *c,
					 unsigned long *next)
{
	unsigned long end = c->start + c->timeout, at;

	if (iser_tick_reached(c->now, end))
		return ISER_LOGIN_TOO_LONG;
	at = end;
	if (c->stall && c->owed) {
		if (iser_tick_reached(c->now, c->asked + c->stall)) {
			if (c->contended)
				return ISER_LOGIN_STALLED;
			at = c->now + c->stall;
		} else {
			at = c->asked + c->stall;
		}
		if (iser_tick_reached(at, end))
			at = end;
	}
	*next = at;
	return ISER_LOGIN_GOES_ON;
}

/**
 * iser_keepalive_decide() - judge a connection at the end of a keepalive
 * interval
 * @heard: the connection's count of completions that prove the initiator
 *	alive, now
 * @last_heard: the same count at the end of the previous interval
 * @probe_in_flight: a probe was posted and has not completed
 *
 * Anything heard, even while a probe waits behind long transfers, proves
 * the initiator alive. Reliable connections complete in order, so a probe
 * unanswered a whole interval with nothing else heard means that nothing
 * the target sent in that time was acknowledged.
 *
 * Return: the action.
 */
enum iser_ka_action iser_keepalive_decide(u32 heard, u32 last_heard,
					  bool probe_in_flight)
{
	if (heard != last_heard)
		return ISER_KA_HEARD;
	return probe_in_flight ? ISER_KA_SILENT : ISER_KA_PROBE;
}
