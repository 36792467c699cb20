// SPDX-License-Identifier: GPL-2.0
/*
 * iser_target: the receive side of the full feature phase. Every PDU is
 * validated against the bytes that arrived, and its buffer goes back to
 * the receive queue with the next batch: at once, once its data is copied
 * out, or, when the target core writes a WRITE's immediate data from the
 * buffer itself, with the command's response.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/scatterlist.h>
#include <scsi/iscsi_proto.h>
#include <target/target_core_base.h>
#include <target/target_core_fabric.h>

#include "iser.h"
#include "iser_trace.h"

static void iser_recv_done(struct ib_cq *cq, struct ib_wc *wc);

/* Sets up @buf's receive work request, followed by @next. */
static void iser_rx_wr_init(struct iser_buf *buf, struct ib_recv_wr *next)
{
	buf->rwr.wr_cqe = &buf->cqe;
	buf->rwr.sg_list = buf->sge;
	buf->rwr.num_sge = buf->nsegs;
	buf->rwr.next = next;
}

/**
 * iser_post_recv() - post one receive buffer
 * @conn: the connection
 * @buf: the buffer; its cqe.done must be set
 *
 * Return: 0 or the error of ib_post_recv().
 */
int iser_post_recv(struct iser_conn *conn, struct iser_buf *buf)
{
	iser_rx_wr_init(buf, NULL);
	iser_rx_buf_for_device(conn->dev, buf);
	return ib_post_recv(conn->qp, &buf->rwr, NULL);
}

/**
 * iser_post_rx_ring() - post the whole full-feature receive ring
 * @conn: the connection
 *
 * One post call for all of it; each descriptor's @rwr is set up here for
 * good.
 *
 * Return: 0 or the posting error.
 */
int iser_post_rx_ring(struct iser_conn *conn)
{
	struct iser_buf *buf;
	u32 i;

	conn->rx_held = NULL;
	conn->rx_held_count = 0;
	for (i = 0; i < conn->rx_count; i++) {
		buf = &conn->rx[i];
		buf->cqe.done = iser_recv_done;
		iser_rx_wr_init(buf, i + 1 < conn->rx_count ? &conn->rx[i + 1].rwr : NULL);
		iser_rx_buf_for_device(conn->dev, buf);
	}
	return conn->rx_count ? ib_post_recv(conn->qp, &conn->rx[0].rwr, NULL) : 0;
}

/*
 * Gives a consumed descriptor back to the receive queue. They go in
 * batches of @rx_batch, one post call (one doorbell) each: the ring holds
 * @rx_batch - 1 descriptors beyond what the initiator may fill
 * (iser_rx_repost_batch()), so those waiting never leave it short. A lent
 * descriptor counts among its command's, which the initiator may not
 * replace before it sees the response. Once the drain began, nothing is
 * posted: a receive posted after it would complete on a freed queue. A
 * failed post fails the connection. Inline: once per PDU.
 */
static __iser_hot void iser_rx_repost(struct iser_conn *conn, struct iser_buf *buf)
{
	struct ib_recv_wr *chain;
	unsigned long flags;
	int ret = 0;

	iser_rx_buf_for_device(conn->dev, buf);
	spin_lock_irqsave(&conn->rx_lock, flags);
	if (conn->rx_closed)
		goto out_unlock;
	buf->rwr.next = conn->rx_held;
	conn->rx_held = &buf->rwr;
	if (++conn->rx_held_count < conn->rx_batch)
		goto out_unlock;
	trace_iser_rx_repost(conn, conn->rx_held_count);
	chain = conn->rx_held;
	conn->rx_held = NULL;
	conn->rx_held_count = 0;
	ret = iser_post_recv_wrs(conn->qp, chain, &conn->rx_bad_wr);
out_unlock:
	spin_unlock_irqrestore(&conn->rx_lock, flags);
	if (unlikely(ret)) {
		pr_warn_ratelimited("conn %p: cannot repost receive buffers\n",
				    conn);
		iser_conn_fail(conn, "cannot repost receive buffers");
	}
}

/**
 * iser_rx_close() - post no receive any more, before the drain
 * @conn: the connection
 */
void iser_rx_close(struct iser_conn *conn)
{
	unsigned long flags;

	spin_lock_irqsave(&conn->rx_lock, flags);
	conn->rx_closed = true;
	spin_unlock_irqrestore(&conn->rx_lock, flags);
}

/**
 * __iser_rx_return() - give a command's lent receive descriptor back
 * @cmd: the command; nothing happens when it has none any more
 *
 * Called when the response is built, before it is posted, so that the
 * descriptor is on the receive queue before the initiator may reuse its
 * place in the command window; and from every path that releases a
 * command without a response. The target core is done with the data by
 * then: it answers a WRITE only once the WRITE ran or will never run.
 */
void __iser_rx_return(struct iser_cmd *cmd)
{
	struct iser_buf *buf = xchg(&cmd->rx_lent, NULL);

	if (buf)
		iser_rx_repost(cmd->conn, buf);
}

/*
 * Logs a refused PDU and closes the connection; the caller then returns an
 * error so that nothing more of the PDU is processed.
 */
static void iser_bad_pdu(struct iser_conn *conn, const u8 *bhs, const char *what)
{
	const struct iscsi_hdr *h = (const void *)bhs;

	iser_stat_inc(conn, ISER_S_BAD_PDUS);
	pr_warn_ratelimited("conn %p from %pISpc: %s (opcode 0x%02x, ITT 0x%08x), dropping connection\n",
			    conn, &conn->cm_id->route.addr.dst_addr, what,
			    h->opcode & ISCSI_OPCODE_MASK,
			    be32_to_cpu((__force __be32)h->itt));
	iser_conn_fail(conn, what);
}

struct iser_sg_copy {
	struct scatterlist *sgl;
	unsigned int nents;
	u32 skip;
};

static int iser_copy_to_sg(void *ctx, const void *src, u32 len, u32 done)
{
	struct iser_sg_copy *c = ctx;

	if (sg_pcopy_from_buffer(c->sgl, c->nents, src, len,
				 c->skip + done) != len)
		return -ERANGE;
	return 0;
}

/* Copy a PDU's data segment into a command's buffer at @offset. */
static int iser_copy_data(struct iser_buf *buf,
			  const struct iser_pdu_info *info,
			  struct iscsit_cmd *icmd, u32 offset, u32 len)
{
	struct se_cmd *se = &icmd->se_cmd;
	struct iser_sg_copy c = {
		.sgl = se->t_data_sg,
		.nents = se->t_data_nents,
		.skip = offset,
	};

	if (!se->t_data_sg || (u64)offset + len > se->data_length)
		return -ERANGE;
	return iser_segs_walk(buf->segs, buf->nsegs, info->data_off, len,
			      iser_copy_to_sg, &c);
}

/* Counts and traces a SCSI command the core accepted. Inline: each one. */
static __iser_hot void iser_cmd_started(struct iser_conn *conn,
					struct iser_cmd *cmd,
					const struct iscsi_scsi_req *hdr)
{
	bool rd = hdr->flags & ISCSI_FLAG_CMD_READ;
	bool wr = hdr->flags & ISCSI_FLAG_CMD_WRITE;
	int n;

	iser_stat_inc(conn, rd ? ISER_S_CMD_READ :
			    wr ? ISER_S_CMD_WRITE : ISER_S_CMD_NODATA);
	if (iser_stats_on()) {
		n = atomic_inc_return(&conn->outstanding);
		if (n > READ_ONCE(conn->outstanding_max))
			WRITE_ONCE(conn->outstanding_max, n);
	}
	cmd->counted = true;
	/* The clock is read only for the latency of a traced command. */
	cmd->start_ns = trace_iser_cmd_done_enabled() ? ktime_get_ns() : 0;
	trace_iser_cmd_start(conn, be32_to_cpu((__force __be32)hdr->itt),
			     hdr->cdb[0], be32_to_cpu(hdr->data_length), rd, wr);
}

/*
 * Takes a task for a new PDU without sleeping: receive completions run in
 * a CQ shared with other connections, and only completions on that same CQ
 * give tasks back. NULL when the session has none left.
 */
static __iser_hot_fault_point struct iscsit_cmd *
iser_alloc_cmd(struct iser_conn *conn, const struct iser_pdu_info *info)
{
	struct iscsit_cmd *icmd;
	struct iser_cmd *cmd;

	icmd = iscsit_allocate_cmd(conn->iconn, TASK_RUNNING);
	if (!icmd)
		return NULL;
	cmd = iser_cmd(icmd);
	cmd->conn = conn;
	cmd->icmd = icmd;
	cmd->pdu = *info;
	INIT_LIST_HEAD(&cmd->wait_node);
	return icmd;
}

ALLOW_ERROR_INJECTION(iser_alloc_cmd, NULL);

/**
 * iser_spare_fill() - keep a task aside for answering an immediate PDU
 * @conn: the connection, in the full feature phase
 *
 * Called where nothing else touches the spare: before the full feature
 * phase starts and in completion context.
 */
void iser_spare_fill(struct iser_conn *conn)
{
	if (!conn->spare_task && READ_ONCE(conn->state) <= ISER_CONN_FULL)
		conn->spare_task = iscsit_allocate_cmd(conn->iconn, TASK_RUNNING);
}

/*
 * An immediate PDU travels outside the command window, so an initiator
 * may send more of them than the session has tasks left; RFC 7143
 * 11.17.1 lets the target refuse such a PDU with a Reject (reason 0x06,
 * "too many immediate commands"). The core sends a Reject only under a
 * task of its own: the spare one. Returns false when there is none.
 */
static bool iser_reject_immediate(struct iser_conn *conn, const u8 *bhs)
{
	const struct iscsi_hdr *h = (const void *)bhs;
	struct iscsit_cmd *icmd = conn->spare_task;
	struct iser_cmd *cmd;

	if (!icmd || !(h->opcode & ISCSI_OP_IMMEDIATE))
		return false;
	conn->spare_task = NULL;
	cmd = iser_cmd(icmd);
	cmd->conn = conn;
	cmd->icmd = icmd;
	INIT_LIST_HEAD(&cmd->wait_node);
	pr_warn_ratelimited("conn %p from %pISpc: no free task for an immediate PDU (opcode 0x%02x, ITT 0x%08x), rejected\n",
			    conn, &conn->cm_id->route.addr.dst_addr,
			    h->opcode & ISCSI_OPCODE_MASK,
			    be32_to_cpu((__force __be32)h->itt));
	iscsit_reject_cmd(icmd, ISCSI_REASON_IMM_CMD_REJECT, (unsigned char *)bhs);
	return true;
}

/*
 * A task for a new PDU. Without one, an immediate PDU is answered with a
 * Reject and *@err is 0; otherwise the initiator ignores the command
 * window (the session has twice the window plus a few tasks), the
 * connection is dropped and *@err is -ENOMEM. Inline: once per command.
 */
static __iser_hot struct iscsit_cmd *
iser_new_task(struct iser_conn *conn, const struct iser_pdu_info *info,
	      const u8 *bhs, int *err)
{
	struct iscsit_cmd *icmd = iser_alloc_cmd(conn, info);

	*err = 0;
	if (icmd || iser_reject_immediate(conn, bhs))
		return icmd;
	iser_bad_pdu(conn, bhs, "no free task: the initiator ignores the command window");
	*err = -ENOMEM;
	return NULL;
}

/* A NUL-terminated copy of a PDU's data segment, for ping and text data. */
static __iser_fault_point char *iser_dup_data(const struct iser_buf *buf,
				    const struct iser_pdu_info *info)
{
	char *p = kzalloc(info->data_len + 1, GFP_KERNEL);

	if (p)
		iser_segs_copy_out(buf->segs, buf->nsegs, info->data_off, p,
				   info->data_len);
	return p;
}

ALLOW_ERROR_INJECTION(iser_dup_data, NULL);

/*
 * A WRITE whose data all came immediate, into the pages of @buf and
 * nothing else: the target core writes it from there (no page of its own
 * to allocate and zero, no copy), and the descriptor stays with the
 * command until iser_rx_return(). Unsolicited Data-Out must not follow,
 * or it would be copied into a descriptor that may be posted again. At
 * ErrorRecoveryLevel 2 a command may outlive its connection (connection
 * recovery gives it to another), and the ring with it: nothing is lent.
 * Inline: it is asked of every SCSI command. Return: true when lent.
 */
static __iser_hot bool iser_rx_lend(struct iser_buf *buf,
				    const struct iser_pdu_info *info,
				    struct iscsit_cmd *icmd)
{
	struct se_cmd *se = &icmd->se_cmd;
	u32 len = se->data_length;
	struct scatterlist *last;
	u32 n;

	if (!icmd->immediate_data || !buf->sgl || icmd->unsolicited_data ||
	    icmd->conn->sess->sess_ops->ErrorRecoveryLevel >= 2 ||
	    icmd->sense_reason || se->data_direction != DMA_TO_DEVICE ||
	    !len || icmd->first_burst_len != len || info->data_len != len ||
	    info->data_off != buf->segs[0].len ||
	    len > (buf->nsegs - 2) * PAGE_SIZE)
		return false;
	n = DIV_ROUND_UP(len, PAGE_SIZE);
	last = &buf->sgl[n - 1];
	if (n != buf->sgl_end) {
		sg_unmark_end(&buf->sgl[buf->sgl_end - 1]);
		buf->sgl[buf->sgl_end - 1].length = PAGE_SIZE;
		sg_mark_end(last);
		buf->sgl_end = n;
	}
	last->length = len - (n - 1) * PAGE_SIZE;
	se->t_data_sg = buf->sgl;
	se->t_data_nents = n;
	se->se_cmd_flags |= SCF_PASSTHROUGH_SG_TO_MEM_NOALLOC;
	iser_cmd(icmd)->rx_lent = buf;
	return true;
}

/*
 * Checks the command's STags before the core sees it; see
 * iser_check_rdma(). Inline: every SCSI command.
 */
static __iser_hot enum iser_reason
iser_check_scsi_cmd(struct iser_conn *conn, const struct iscsi_scsi_req *hdr,
		    const struct iser_pdu_info *info)
{
	struct iscsi_sess_ops *ops = conn->iconn->sess->sess_ops;
	u32 edtl = be32_to_cpu(hdr->data_length);
	bool rd = hdr->flags & ISCSI_FLAG_CMD_READ;
	bool wr = hdr->flags & ISCSI_FLAG_CMD_WRITE;
	u32 covered = info->data_len;

	if (edtl > iser_max_io_bytes)
		return ISER_ERR_TOO_BIG;
	/* Unsolicited Data-Out follows only a command without the F bit. */
	if (wr && !ops->InitialR2T && !(hdr->flags & ISCSI_FLAG_CMD_FINAL))
		covered = max(covered, min(edtl, ops->FirstBurstLength));
	return iser_check_rdma(info, rd, wr, edtl, covered);
}

/*
 * Return: 0, ISER_RX_LENT when the command keeps @buf, or negative when it
 * failed the connection. Inline in iser_rx_dispatch(), its only caller.
 */
static __iser_hot int iser_rx_scsi_cmd(struct iser_conn *conn,
				       struct iser_buf *buf,
				       const struct iser_pdu_info *info,
				       u8 *hdrs)
{
	struct iscsi_scsi_req *hdr = (struct iscsi_scsi_req *)hdrs;
	struct iscsit_conn *iconn = conn->iconn;
	struct iscsit_cmd *icmd;
	enum iser_reason why;
	bool dump, lent;
	u32 imm;
	int rc;

	why = iser_check_ahs(hdrs + ISCSI_HDR_LEN, info->ahs_len);
	if (!why)
		why = iser_check_scsi_cmd(conn, hdr, info);
	if (why) {
		iser_bad_pdu(conn, hdrs, iser_reason_str(why));
		return -EINVAL;
	}
	icmd = iser_new_task(conn, info, hdrs, &rc);
	if (!icmd)
		return rc;

	rc = iscsit_setup_scsi_cmd(iconn, icmd, hdrs);
	if (rc < 0)
		return 0;
	iser_cmd_started(conn, iser_cmd(icmd), hdr);
	/* Before the core allocates the data pages, which these spare. */
	lent = iser_rx_lend(buf, info, icmd);
	if (!lent)
		iser_dbuf_give(conn, icmd);
	rc = iscsit_process_scsi_cmd(iconn, icmd, hdr);
	if (rc < 0)
		return lent ? ISER_RX_LENT : 0;
	dump = rc > 0;
	if (!icmd->immediate_data)
		return 0;

	if (!dump) {
		imm = icmd->first_burst_len;
		if (lent) {
			iser_stat_add(conn, ISER_S_IMM_LENT_BYTES, imm);
		} else if (imm > info->data_len ||
			   iser_copy_data(buf, info, icmd, 0, imm)) {
			iser_bad_pdu(conn, hdrs, "immediate data does not fit the command");
			return -EINVAL;
		}
		icmd->write_data_done += imm;
		iser_stat_add(conn, ISER_S_IMM_BYTES, imm);
		if (icmd->write_data_done == icmd->se_cmd.data_length) {
			spin_lock_bh(&icmd->istate_lock);
			icmd->cmd_flags |= ICF_GOT_LAST_DATAOUT;
			icmd->i_state = ISTATE_RECEIVED_LAST_DATAOUT;
			spin_unlock_bh(&icmd->istate_lock);
		}
	}

	rc = iscsit_sequence_cmd(iconn, icmd, hdrs, hdr->cmdsn);
	if (!rc && !dump && icmd->unsolicited_data)
		iscsit_set_unsolicited_dataout(icmd);
	else if (dump)
		target_put_sess_cmd(&icmd->se_cmd);
	return lent ? ISER_RX_LENT : 0;
}

/*
 * iSER initiators send only unsolicited data as Data-Out; once a WRITE's
 * unsolicited burst is over, the target fetches the rest by RDMA READ
 * (RFC 7145: solicited data never travels as Data-Out). The core's checks
 * of a Data-Out may complete a WRITE as aborted or turn it into a Reject,
 * which must never happen while that READ may still land in its pages:
 * such a Data-Out does not reach the core. Runs in the receive completion, where the core changes
 * unsolicited_data too.
 */
static bool iser_dataout_unexpected(struct iscsit_conn *iconn, itt_t itt)
{
	struct iscsit_cmd *icmd;
	bool bad = false;

	spin_lock_bh(&iconn->cmd_lock);
	list_for_each_entry(icmd, &iconn->conn_cmd_list, i_conn_node) {
		if (icmd->init_task_tag != itt)
			continue;
		bad = icmd->iscsi_opcode == ISCSI_OP_SCSI_CMD &&
		      icmd->data_direction == DMA_TO_DEVICE &&
		      !icmd->unsolicited_data;
		break;
	}
	spin_unlock_bh(&iconn->cmd_lock);
	return bad;
}

static int iser_rx_data_out(struct iser_conn *conn, struct iser_buf *buf,
			    const struct iser_pdu_info *info, u8 *hdrs)
{
	struct iscsi_data *hdr = (struct iscsi_data *)hdrs;
	struct iscsit_conn *iconn = conn->iconn;
	struct iscsit_cmd *icmd = NULL;
	int rc;

	/* The core would answer this with a Reject, which needs a task. */
	if (info->data_len > iconn->conn_ops->MaxXmitDataSegmentLength) {
		iser_bad_pdu(conn, hdrs, "Data-Out above MaxXmitDataSegmentLength");
		return -EINVAL;
	}
	if (iser_dataout_unexpected(iconn, hdr->itt)) {
		iser_bad_pdu(conn, hdrs, "Data-Out for a WRITE fetched by RDMA READ");
		return -EINVAL;
	}
	rc = iscsit_check_dataout_hdr(iconn, hdrs, &icmd);
	if (rc < 0)
		return rc;
	if (!icmd) {
		/* Data for an aborted task is dropped; for no task, a lie. */
		if (iscsit_find_cmd_from_itt(iconn, hdr->itt))
			return 0;
		iser_bad_pdu(conn, hdrs, "Data-Out for a task that does not exist");
		return -EINVAL;
	}
	if (iser_copy_data(buf, info, icmd, be32_to_cpu(hdr->offset),
			   info->data_len)) {
		iser_bad_pdu(conn, hdrs, "Data-Out outside the command's buffer");
		return -EINVAL;
	}
	iser_stat_add(conn, ISER_S_UNSOL_BYTES, info->data_len);
	rc = iscsit_check_dataout_payload(icmd, hdr, false);
	return rc < 0 ? rc : 0;
}

/*
 * A NOP-Out that answers our NOP-In gets no task of its own, so the core
 * could only refuse a malformed one with a Reject that needs a task: check
 * here what it would check (RFC 7143 11.18).
 */
static const char *iser_check_nop_reply(const struct iscsi_nopout *hdr,
					u32 data_len, u32 max_data)
{
	if (hdr->itt != RESERVED_ITT)
		return "NOP-Out with a target transfer tag but not the reserved ITT";
	if (!(hdr->opcode & ISCSI_OP_IMMEDIATE))
		return "NOP-Out with the reserved ITT but without the immediate bit";
	if (!(hdr->flags & ISCSI_FLAG_CMD_FINAL))
		return "NOP-Out without the final bit";
	if (data_len > max_data)
		return "NOP-Out above MaxXmitDataSegmentLength";
	return NULL;
}

static int iser_rx_nop_out(struct iser_conn *conn, struct iser_buf *buf,
			   const struct iser_pdu_info *info, u8 *hdrs)
{
	struct iscsi_nopout *hdr = (struct iscsi_nopout *)hdrs;
	struct iscsit_conn *iconn = conn->iconn;
	struct iscsit_cmd *icmd = NULL;
	const char *why;
	char *ping;
	int rc;

	/* A reply to our own NOP-In carries no new task. */
	if (hdr->ttt == cpu_to_be32(0xFFFFFFFF)) {
		icmd = iser_new_task(conn, info, hdrs, &rc);
		if (!icmd)
			return rc;
	} else {
		why = iser_check_nop_reply(hdr, info->data_len,
					   iconn->conn_ops->MaxXmitDataSegmentLength);
		if (why) {
			iser_bad_pdu(conn, hdrs, why);
			return -EINVAL;
		}
	}
	rc = iscsit_setup_nop_out(iconn, icmd, hdr);
	if (rc < 0)
		return 0;
	/* RFC 7143: the ping data comes back in the NOP-In. */
	if (icmd && info->data_len) {
		ping = iser_dup_data(buf, info);
		if (!ping)
			return -ENOMEM;
		icmd->buf_ptr = ping;
		icmd->buf_ptr_size = info->data_len;
	}
	return iscsit_process_nop_out(iconn, icmd, hdr);
}

/*
 * Text Requests (RFC 7143 11.10) are the one kind of task the iSCSI layer
 * lets the initiator continue, and its continuation code trusts the peer:
 * a continuation naming a task that never sent C=1, or one still being
 * answered, lists the task twice or frees it twice. So the connection's
 * Text task is tracked here (enum iser_text_state) and the core only sees
 * a continuation of a task whose C=1 response has completed, with the TTT
 * that response carried. The core's own continuation path is never used:
 * it frees the request text that SendTargets=<name> needs again.
 */

/* Is a task other than @skip on @iconn using @itt? */
static bool iser_itt_busy(struct iscsit_conn *iconn, itt_t itt,
			  const struct iscsit_cmd *skip)
{
	struct iscsit_cmd *icmd;
	bool busy = false;

	spin_lock_bh(&iconn->cmd_lock);
	list_for_each_entry(icmd, &iconn->conn_cmd_list, i_conn_node)
		if (icmd != skip && icmd->init_task_tag == itt) {
			busy = true;
			break;
		}
	spin_unlock_bh(&iconn->cmd_lock);
	return busy;
}

/*
 * Hands a checked continuation of the Text task to the core, which then
 * builds the next part of the response. The task's request text stays
 * (SendTargets=<name> needs it for every part): the core parses it again
 * and lists the task again, so it leaves the list first.
 */
static int iser_text_continue(struct iser_conn *conn, struct iscsit_cmd *icmd,
			      struct iscsi_text *hdr)
{
	struct iscsit_conn *iconn = conn->iconn;

	icmd->cmd_sn = be32_to_cpu(hdr->cmdsn);
	icmd->exp_stat_sn = be32_to_cpu(hdr->exp_statsn);
	icmd->i_state = ISTATE_SEND_TEXTRSP;
	iser_cmd_unlist(iconn, icmd);
	return iscsit_process_text_cmd(iconn, icmd, hdr);
}

/* The connection's Text task as iser_text_decide() sees it. */
static void iser_text_view(const struct iser_conn *conn,
			   struct iser_text_task *task)
{
	const struct iscsit_cmd *icmd = conn->text_task;

	task->present = !!icmd;
	task->itt = icmd ? (__force u32)icmd->init_task_tag : 0;
	task->ttt = icmd ? icmd->targ_xfer_tag : 0;
	task->immediate = icmd && icmd->immediate_cmd;
}

static int iser_rx_text(struct iser_conn *conn, struct iser_buf *buf,
			const struct iser_pdu_info *info, u8 *hdrs)
{
	struct iscsi_text *hdr = (struct iscsi_text *)hdrs;
	struct iser_text_req req = {
		.itt = (__force u32)hdr->itt,
		.ttt = be32_to_cpu(hdr->ttt),
		.flags = hdr->flags,
		.immediate = hdr->opcode & ISCSI_OP_IMMEDIATE,
		.data_len = info->data_len,
	};
	struct iscsit_cmd *icmd, *old = NULL, *ending = NULL;
	enum iser_text_action act;
	struct iser_text_task task;
	unsigned long flags;
	const char *why;
	char *text = NULL;
	int rc;

	spin_lock_irqsave(&conn->lock, flags);
	iser_text_view(conn, &task);
	act = iser_text_decide(conn->text_state, &task, &req, &why);
	icmd = conn->text_task;
	switch (act) {
	case ISER_TEXT_RESTART:
		old = icmd;
		conn->text_task = NULL;
		conn->text_state = ISER_TEXT_NONE;
		break;
	case ISER_TEXT_DETACH:
		ending = icmd;
		conn->text_task = NULL;
		conn->text_state = ISER_TEXT_NONE;
		break;
	case ISER_TEXT_HOLD:
		memcpy(conn->text_cont, hdrs, ISCSI_HDR_LEN);
		conn->text_state = ISER_TEXT_EARLY;
		break;
	case ISER_TEXT_CONTINUE:
		conn->text_state = ISER_TEXT_CORE;
		break;
	default:
		break;
	}
	spin_unlock_irqrestore(&conn->lock, flags);

	switch (act) {
	case ISER_TEXT_REFUSE:
		iser_bad_pdu(conn, hdrs, why);
		return -EINVAL;
	case ISER_TEXT_HOLD:
		return 0;
	case ISER_TEXT_CONTINUE:
		return iser_text_continue(conn, icmd, hdr);
	default:
		break;
	}

	/* A new request; a restart ends the sequence that waited. */
	if (old)
		iser_cmd_put(iser_cmd(old));
	if (iser_itt_busy(conn->iconn, hdr->itt, ending)) {
		iser_bad_pdu(conn, hdrs, "Text Request with the ITT of a task in progress");
		return -EINVAL;
	}
	icmd = iser_new_task(conn, info, hdrs, &rc);
	if (!icmd)
		return rc;
	if (info->data_len) {
		text = iser_dup_data(buf, info);
		if (!text) {
			iscsit_release_cmd(icmd);
			return -ENOMEM;
		}
	}
	/* Before the core sees it: its response may be sent at once. */
	spin_lock_irqsave(&conn->lock, flags);
	conn->text_task = icmd;
	conn->text_state = ISER_TEXT_CORE;
	spin_unlock_irqrestore(&conn->lock, flags);

	rc = iscsit_setup_text_cmd(conn->iconn, icmd, hdr);
	if (rc < 0) {
		kfree(text);
		return 0;
	}
	icmd->text_in_ptr = text;
	return iscsit_process_text_cmd(conn->iconn, icmd, hdr);
}

/**
 * iser_text_sent() - a response of the Text task is about to be posted
 * @conn: the connection
 * @icmd: the task whose response (Text Response or Reject) goes out
 * @more: the response has C=1: the initiator may continue the task
 */
void iser_text_sent(struct iser_conn *conn, struct iscsit_cmd *icmd, bool more)
{
	unsigned long flags;

	spin_lock_irqsave(&conn->lock, flags);
	if (conn->text_task == icmd)
		conn->text_state = more ? ISER_TEXT_MORE : ISER_TEXT_ENDING;
	spin_unlock_irqrestore(&conn->lock, flags);
}

/**
 * iser_text_send_done() - a Text Response with C=1 completed
 * @conn: the connection
 * @icmd: the task, kept for its continuation
 *
 * A continuation that came while the response was being sent is handed
 * to the core now.
 */
void iser_text_send_done(struct iser_conn *conn, struct iscsit_cmd *icmd)
{
	bool early = false;
	unsigned long flags;

	spin_lock_irqsave(&conn->lock, flags);
	if (conn->text_task == icmd) {
		early = conn->text_state == ISER_TEXT_EARLY;
		conn->text_state = early ? ISER_TEXT_CORE : ISER_TEXT_WAIT;
	}
	spin_unlock_irqrestore(&conn->lock, flags);
	if (early &&
	    iser_text_continue(conn, icmd, (struct iscsi_text *)conn->text_cont) < 0)
		iser_conn_fail(conn, "the iSCSI layer refused a Text continuation");
}

/**
 * __iser_text_forget() - the Text task is being released
 * @conn: its connection
 * @icmd: the task, which iser_text_forget() saw as the Text task
 */
void __iser_text_forget(struct iser_conn *conn, struct iscsit_cmd *icmd)
{
	unsigned long flags;

	spin_lock_irqsave(&conn->lock, flags);
	if (conn->text_task == icmd) {
		conn->text_task = NULL;
		conn->text_state = ISER_TEXT_NONE;
	}
	spin_unlock_irqrestore(&conn->lock, flags);
}

/*
 * No SNACK is served over iSER, at any ErrorRecoveryLevel: Data-In and R2T
 * PDUs do not exist (data moves by RDMA), so Data/R2T and DataACK SNACKs
 * name nothing, and a reliable connection loses no SCSI Response that a
 * Status SNACK could ask for again. The core's recovery code would queue
 * iSCSI/TCP retransmission states that no iSER send path handles.
 */
static const char *iser_check_snack(const struct iscsit_conn *iconn)
{
	if (!iconn->sess->sess_ops->ErrorRecoveryLevel)
		return "SNACK at ErrorRecoveryLevel 0";
	return "SNACK, which iSER does not serve (nothing to retransmit)";
}

/* Inline, as iser_rx_pdu(), its only caller. */
static __iser_hot int iser_rx_dispatch(struct iser_conn *conn,
				       struct iser_buf *buf,
				       const struct iser_pdu_info *info,
				       u8 *hdrs)
{
	struct iscsit_conn *iconn = conn->iconn;
	struct iscsit_cmd *icmd;
	int ret;

	switch (info->iscsi_opcode) {
	case ISCSI_OP_SCSI_CMD:
		iser_stat_inc(conn, ISER_S_PDU_SCSI_CMD);
		return iser_rx_scsi_cmd(conn, buf, info, hdrs);
	case ISCSI_OP_SCSI_DATA_OUT:
		iser_stat_inc(conn, ISER_S_PDU_DATA_OUT);
		return iser_rx_data_out(conn, buf, info, hdrs);
	case ISCSI_OP_NOOP_OUT:
		iser_stat_inc(conn, ISER_S_PDU_NOP_OUT);
		return iser_rx_nop_out(conn, buf, info, hdrs);
	case ISCSI_OP_TEXT:
		iser_stat_inc(conn, ISER_S_PDU_TEXT);
		return iser_rx_text(conn, buf, info, hdrs);
	case ISCSI_OP_SCSI_TMFUNC:
		iser_stat_inc(conn, ISER_S_PDU_TMF);
		icmd = iser_new_task(conn, info, hdrs, &ret);
		if (!icmd)
			return ret;
		ret = iscsit_handle_task_mgt_cmd(iconn, icmd, hdrs);
		return ret < 0 ? ret : 0;
	case ISCSI_OP_LOGOUT:
		iser_stat_inc(conn, ISER_S_PDU_LOGOUT);
		icmd = iser_new_task(conn, info, hdrs, &ret);
		if (!icmd)
			return ret;
		ret = iscsit_handle_logout_cmd(iconn, icmd, hdrs);
		return ret < 0 ? ret : 0;
	case ISCSI_OP_SNACK:
		iser_stat_inc(conn, ISER_S_PDU_SNACK);
		iser_bad_pdu(conn, hdrs, iser_check_snack(iconn));
		return -EINVAL;
	default:
		iser_bad_pdu(conn, hdrs, "unknown iSCSI opcode");
		return -EINVAL;
	}
}

/* Inline, as iser_rx_one(), its only caller. */
static __iser_hot int iser_rx_pdu(struct iser_conn *conn,
				  struct iser_buf *buf,
				  const struct iser_pdu_info *info)
{
	u8 op = info->iscsi_opcode;
	u8 *hdrs;
	int ret;

	/* The core reads the AHS right after the BHS: keep them contiguous. */
	if (info->data_off <= buf->segs[0].len) {
		hdrs = (u8 *)buf->segs[0].addr + ISER_HDR_LEN;
	} else {
		hdrs = conn->hdr_scratch;
		iser_segs_copy_out(buf->segs, buf->nsegs, ISER_HDR_LEN, hdrs,
				   ISCSI_HDR_LEN + info->ahs_len);
	}

	if (conn->discovery && op != ISCSI_OP_TEXT && op != ISCSI_OP_LOGOUT) {
		iser_bad_pdu(conn, hdrs, "PDU not allowed in a discovery session");
		return -EINVAL;
	}
	ret = iser_rx_dispatch(conn, buf, info, hdrs);
	/* The core refused it with only a log line of its own, if any. */
	if (ret < 0 && READ_ONCE(conn->state) == ISER_CONN_FULL)
		iser_bad_pdu(conn, hdrs, "the iSCSI layer refused the PDU");
	return ret;
}

/*
 * One PDU of @len bytes in @buf, in the full feature phase. Return: 0,
 * ISER_RX_LENT when a command keeps @buf, or negative when it failed the
 * connection. Inlined in both receive completions: it runs for every PDU.
 */
static __iser_hot int iser_rx_one(struct iser_conn *conn, struct iser_buf *buf, u32 len)
{
	struct iser_pdu_info info;
	enum iser_reason why;

	iser_heard(conn);
	iser_stat_add(conn, ISER_S_BYTES_IN, len);

	iser_rx_buf_for_cpu(conn->dev, buf, len);
	why = iser_parse_pdu(buf->segs[0].addr, buf->segs[0].len, len,
			     conn->max_recv_data, &info);
	if (why) {
		iser_stat_inc(conn, ISER_S_BAD_PDUS);
		pr_warn_ratelimited("conn %p from %pISpc: %s (opcode 0x%02x, data %u of %u allowed, %u bytes received), dropping connection\n",
				    conn, &conn->cm_id->route.addr.dst_addr,
				    iser_reason_str(why), info.iscsi_opcode,
				    info.data_len, conn->max_recv_data, len);
		iser_conn_fail(conn, iser_reason_str(why));
		return -EINVAL;
	}
	pr_debug("conn %p: opcode 0x%02x data %u wsv %d rsv %d\n", conn,
		 info.iscsi_opcode, info.data_len, info.wsv, info.rsv);
	return iser_rx_pdu(conn, buf, &info);
}

static void iser_recv_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct iser_conn *conn = wc->qp->qp_context;
	struct iser_buf *buf = container_of(wc->wr_cqe, struct iser_buf, cqe);
	int ret;

	if (unlikely(wc->status != IB_WC_SUCCESS)) {
		iser_wc_failed(conn, wc, ISER_WR_RECV);
		return;
	}
	if (READ_ONCE(conn->state) != ISER_CONN_FULL)
		return;
	/*
	 * A refused PDU has already failed the connection: no repost. A lent
	 * buffer is the command's; it may even be back on the queue already.
	 */
	ret = iser_rx_one(conn, buf, wc->byte_len);
	if (ret >= 0 && ret != ISER_RX_LENT)
		iser_rx_repost(conn, buf);
}

/**
 * iser_srq_recv_done() - completion of a shared receive queue's buffer
 * @cq: the completion queue of the connection it came on
 * @wc: the work completion
 *
 * Whatever the PDU or the connection's state, the buffer goes back to the
 * shared queue: the other connections on the device need it.
 */
void iser_srq_recv_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct iser_conn *conn = wc->qp->qp_context;
	struct iser_buf *buf = container_of(wc->wr_cqe, struct iser_buf, cqe);

	if (unlikely(wc->status != IB_WC_SUCCESS)) {
		iser_wc_failed(conn, wc, READ_ONCE(conn->state) < ISER_CONN_FULL ?
				   ISER_WR_LOGIN_RECV : ISER_WR_RECV);
	} else if (READ_ONCE(conn->state) == ISER_CONN_FULL) {
		iser_rx_one(conn, buf, wc->byte_len);
	} else {
		iser_rx_buf_for_cpu(conn->dev, buf, wc->byte_len);
		iser_login_srq_recv(conn, buf, wc->byte_len);
	}
	if (iser_srq_post(conn->dev, buf))
		pr_warn_ratelimited("device %s: cannot repost a shared receive buffer\n",
				    dev_name(&conn->dev->ib_dev->dev));
}
