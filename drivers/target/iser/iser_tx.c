// SPDX-License-Identifier: GPL-2.0
/*
 * iser_target: the send side. Responses go out with SEND from per-tag
 * header slots mapped once per connection; read data goes with RDMA WRITE
 * chained to the response, write data comes with RDMA READ. Send queue
 * entries are counted: a command that finds too few waits, in order, for
 * earlier completions instead of failing. Most SCSI Responses go
 * unsignalled: a reliable connection completes its sends in order, so the
 * completion of a later signalled send stands for theirs.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <scsi/iscsi_proto.h>
#include <target/target_core_base.h>
#include <target/target_core_fabric.h>

#include "iser.h"
#include "iser_trace.h"

static void iser_send_done(struct ib_cq *cq, struct ib_wc *wc);
static void iser_read_done(struct ib_cq *cq, struct ib_wc *wc);
static void iser_sq_arm(struct iser_conn *conn);

static u32 iser_port(struct iser_conn *conn)
{
	return conn->cm_id->port_num;
}

/*
 * Unmaps with the direction the pages were mapped with. Inline: called
 * twice per command, the second time with nothing to do.
 */
static __iser_hot void iser_rw_destroy(struct iser_cmd *cmd)
{
	struct se_cmd *se = &cmd->icmd->se_cmd;

	if (!cmd->rw_ops)
		return;
	rdma_rw_ctx_destroy(&cmd->rw, cmd->conn->qp, iser_port(cmd->conn),
			    se->t_data_sg, se->t_data_nents, cmd->rw_dir);
	cmd->rw_ops = 0;
}

static void iser_payload_unmap(struct iser_cmd *cmd)
{
	if (!cmd->payload_dma)
		return;
	ib_dma_unmap_single(cmd->conn->dev->ib_dev, cmd->payload_dma,
			    cmd->payload_len, DMA_TO_DEVICE);
	cmd->payload_dma = 0;
}

/*
 * An unsignalled RDMA work request completes only on error, and with no
 * cqe the CQ layer would drop that completion: only the flush of the
 * signalled request after it would be seen, without the real status.
 */
static void iser_rdma_err_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct iser_cmd *cmd = container_of(wc->wr_cqe, struct iser_cmd,
					    rdma_err_cqe);

	iser_wc_failed(cmd->conn, wc, cmd->post == ISER_POST_DATA_OUT ?
		       ISER_WR_RDMA_READ : ISER_WR_RDMA_WRITE);
}

/* @stop ends the chain: the response SEND after the WRITEs, or NULL. */
static void iser_rdma_err_cqes(struct iser_cmd *cmd, struct ib_send_wr *first,
			       struct ib_send_wr *stop)
{
	struct ib_send_wr *wr;

	cmd->rdma_err_cqe.done = iser_rdma_err_done;
	for (wr = first; wr != stop; wr = wr->next)
		if (!wr->wr_cqe)
			wr->wr_cqe = &cmd->rdma_err_cqe;
}

/* Is send number @a older than @b? They wrap. */
static bool iser_seq_before(u32 a, u32 b)
{
	return (s32)(a - b) < 0;
}

/*
 * Numbers a posted SEND and, if it went unsignalled, lists its command
 * until a later completion stands for it. Called with sq_lock held, inline
 * in iser_post_now().
 */
static __iser_hot void iser_sq_posted(struct iser_conn *conn, struct iser_cmd *cmd)
{
	cmd->sq_seq = ++conn->sq_seq;
	/* A traced command's latency ends here, however late its release. */
	if (unlikely(cmd->start_ns))
		cmd->rsp_ns = ktime_get_ns();
	if (cmd->send_wr.send_flags & IB_SEND_SIGNALED) {
		conn->sq_run = 0;
		return;
	}
	cmd->unsig = true;
	cmd->unsig_next = NULL;
	if (conn->sq_unsig_last)
		conn->sq_unsig_last->unsig_next = cmd;
	else
		conn->sq_unsig = cmd;
	conn->sq_unsig_last = cmd;
	conn->sq_run++;
	iser_stat_inc(conn, ISER_S_SEND_UNSIGNALLED);
	iser_sq_arm(conn);
}

/**
 * iser_post_now() - post the work requests @cmd prepared
 * @cmd: the command; its conn's sq_lock is held and its credits are taken
 *
 * A chain that fails part way leaves its first work requests posted, with
 * no completion to say when they end: after any failure the caller closes
 * the send queue and leaves the command mapped until the drain. A SCSI
 * Response goes unsignalled unless iser_sq_signal() says otherwise.
 *
 * Return: 0 or the error of the post.
 */
static __iser_hot_fault_point int iser_post_now(struct iser_cmd *cmd)
{
	struct iser_conn *conn = cmd->conn;
	struct ib_send_wr *first;
	int ret;

	if (cmd->post == ISER_POST_DATA_OUT) {
		first = rdma_rw_ctx_wrs(&cmd->rw, conn->qp, iser_port(conn),
					&cmd->rw_cqe, NULL);
		iser_rdma_err_cqes(cmd, first, NULL);
		return iser_post_send_wrs(conn->qp, first, &conn->sq_bad_wr);
	}
	if (cmd->icmd->iscsi_opcode == ISCSI_OP_SCSI_CMD &&
	    !iser_sq_signal(conn->sq_run, conn->sq_avail, conn->sq_size))
		cmd->send_wr.send_flags &= ~IB_SEND_SIGNALED;
	if (cmd->post == ISER_POST_DATA_IN) {
		first = rdma_rw_ctx_wrs(&cmd->rw, conn->qp, iser_port(conn),
					NULL, &cmd->send_wr);
		iser_rdma_err_cqes(cmd, first, &cmd->send_wr);
	} else {
		first = &cmd->send_wr;
	}
	ret = iser_post_send_wrs(conn->qp, first, &conn->sq_bad_wr);
	if (!ret)
		iser_sq_posted(conn, cmd);
	return ret;
}

ALLOW_ERROR_INJECTION(iser_post_now, ERRNO);

/* Takes @n entries for @cmd from the control reserve or the shared pool. */
static bool iser_sq_take(struct iser_conn *conn, struct iser_cmd *cmd)
{
	u32 n = cmd->credits;

	if (cmd->ctrl && conn->sq_ctrl >= (int)n) {
		conn->sq_ctrl -= n;
		return true;
	}
	cmd->ctrl = false;
	if (conn->sq_avail >= (int)n) {
		conn->sq_avail -= n;
		return true;
	}
	return false;
}

/*
 * The send queue had room, so a post fails only on a queue pair that is
 * broken: close the send queue so that nothing else is posted, keep the
 * failed command's entries (part of it may be on the queue) and its
 * mappings (iser_unmap_cmd() releases them after the drain), and close
 * the connection. Called with sq_lock held.
 */
static void iser_sq_broken(struct iser_conn *conn, int err)
{
	conn->sq_closed = true;
	pr_warn_ratelimited("conn %p: cannot post a work request: %d, dropping connection\n",
			    conn, err);
}

/*
 * Posts @cmd, or queues it behind earlier commands that wait for send
 * queue entries. Return: 0 when posted or queued, -ESHUTDOWN when the
 * connection is closing (the command stays listed and the core frees it
 * after the drain), -EINVAL when it can never fit. Inline in the data
 * paths; control PDUs share iser_post_ctrl().
 */
static __iser_hot int iser_post(struct iser_cmd *cmd)
{
	struct iser_conn *conn = cmd->conn;
	unsigned long flags;
	int ret = 0;

	if (unlikely(cmd->credits > conn->sq_size)) {
		pr_warn_ratelimited("conn %p: a command needs %u send queue entries, the queue has %u\n",
				    conn, cmd->credits, conn->sq_size);
		return -EINVAL;
	}
	spin_lock_irqsave(&conn->sq_lock, flags);
	if (conn->sq_closed) {
		spin_unlock_irqrestore(&conn->sq_lock, flags);
		return -ESHUTDOWN;
	}
	/* Control PDUs may overtake waiting data through their reserve. */
	if ((list_empty(&conn->sq_wait) || cmd->ctrl) &&
	    iser_sq_take(conn, cmd)) {
		ret = iser_post_now(cmd);
		if (ret)
			iser_sq_broken(conn, ret);
	} else {
		list_add_tail(&cmd->wait_node, &conn->sq_wait);
		iser_stat_inc(conn, ISER_S_SQ_STALLS);
	}
	spin_unlock_irqrestore(&conn->sq_lock, flags);
	if (!ret)
		return 0;
	iser_conn_fail(conn, "cannot post a work request");
	return -ESHUTDOWN;
}

/* One copy of iser_post() out of line, for the control PDUs. */
static noinline int iser_post_ctrl(struct iser_cmd *cmd)
{
	return iser_post(cmd);
}

/* Gives back @done's send queue entries. Called with sq_lock held. */
static void iser_sq_give(struct iser_conn *conn, struct iser_cmd *done)
{
	if (done->ctrl)
		conn->sq_ctrl += done->credits;
	else
		conn->sq_avail += done->credits;
	done->credits = 0;
}

/*
 * Takes off @sq_unsig the unsignalled responses posted before send number
 * @seq, which have completed, and gives back their entries. Return: the
 * first of them, still linked by @unsig_next, or NULL. Called with
 * sq_lock held.
 */
static struct iser_cmd *iser_sq_collect(struct iser_conn *conn, u32 seq)
{
	struct iser_cmd *first = conn->sq_unsig, *cmd, *last = NULL;

	for (cmd = first; cmd && iser_seq_before(cmd->sq_seq, seq);
	     cmd = cmd->unsig_next) {
		cmd->unsig = false;
		iser_sq_give(conn, cmd);
		last = cmd;
	}
	if (!last)
		return NULL;
	conn->sq_unsig = cmd;
	if (!cmd)
		conn->sq_unsig_last = NULL;
	last->unsig_next = NULL;
	return first;
}

/*
 * Releases the responses iser_sq_collect() gathered, from @cmd on, as
 * their own completion would have: @ok when the completion that stands
 * for them succeeded.
 */
static void iser_sq_release(struct iser_cmd *cmd, bool ok)
{
	struct iser_cmd *next;

	for (; cmd; cmd = next) {
		next = cmd->unsig_next;
		iser_payload_unmap(cmd);
		iser_rw_destroy(cmd);
		if (ok)
			cmd->icmd->i_state = ISTATE_SENT_STATUS;
		iser_cmd_put(cmd);
	}
}

/*
 * Gives back the entries of @done, if any, and, with @out, of the
 * unsignalled responses posted before send number @seq (*@out is then
 * what iser_sq_release() must release), then posts who waited for
 * entries.
 */
static void iser_sq_put(struct iser_conn *conn, struct iser_cmd *done,
			u32 seq, struct iser_cmd **out)
{
	struct iser_cmd *cmd, *tmp;
	unsigned long flags;
	bool failed = false;
	int ret;

	spin_lock_irqsave(&conn->sq_lock, flags);
	if (done)
		iser_sq_give(conn, done);
	if (out)
		*out = iser_sq_collect(conn, seq);
	list_for_each_entry_safe(cmd, tmp, &conn->sq_wait, wait_node) {
		if (conn->sq_closed)
			break;
		if (!iser_sq_take(conn, cmd))
			break;
		list_del_init(&cmd->wait_node);
		ret = iser_post_now(cmd);
		if (ret) {
			/* Off the wait list, still on the core's: freed there. */
			iser_sq_broken(conn, ret);
			failed = true;
			break;
		}
	}
	spin_unlock_irqrestore(&conn->sq_lock, flags);
	if (failed)
		iser_conn_fail(conn, "cannot post a work request");
}

/*
 * Start of the send header slot of @icmd: the iSER header, which
 * iser_tx_slots_alloc() wrote for good, then the BHS, zeroed unless
 * @bhs_zeroed says the core's builder zeroes it. Inline: once per response.
 */
static __iser_hot u8 *iser_slot(struct iser_cmd *cmd, bool bhs_zeroed)
{
	struct iser_conn *conn = cmd->conn;
	u32 tag = cmd->icmd->se_cmd.map_tag;
	u8 *slot;

	if (WARN_ON_ONCE(tag >= conn->tx_count))
		return NULL;
	slot = conn->tx_slots[tag];
	if (!bhs_zeroed)
		memset(slot + ISER_HDR_LEN, 0, ISCSI_HDR_LEN);
	return slot;
}

/*
 * Prepares the SEND of the PDU in @icmd's slot: @inline_len payload bytes
 * already follow the BHS in the slot, and @payload, if any, is mapped as a
 * second piece. Inline: once per response.
 */
static __iser_hot int iser_prep_send(struct iser_cmd *cmd,
				     u32 inline_len, void *payload,
				     u32 payload_len, bool ctrl)
{
	struct iser_conn *conn = cmd->conn;
	struct ib_device *ibd = conn->dev->ib_dev;
	u32 tag = cmd->icmd->se_cmd.map_tag;
	struct ib_send_wr *wr = &cmd->send_wr;
	u32 inv = 0;

	cmd->sge[0].addr = conn->tx_dma[tag];
	cmd->sge[0].length = ISER_HEADERS_LEN + inline_len;
	cmd->sge[0].lkey = conn->dev->pd->local_dma_lkey;
	ib_dma_sync_single_for_device(ibd, cmd->sge[0].addr, ISER_TX_SLOT,
				      DMA_TO_DEVICE);
	wr->num_sge = 1;
	if (payload_len) {
		cmd->payload_dma = ib_dma_map_single(ibd, payload, payload_len,
						     DMA_TO_DEVICE);
		if (ib_dma_mapping_error(ibd, cmd->payload_dma)) {
			cmd->payload_dma = 0;
			return -ENOMEM;
		}
		cmd->payload_len = payload_len;
		cmd->sge[1].addr = cmd->payload_dma;
		cmd->sge[1].length = payload_len;
		cmd->sge[1].lkey = conn->dev->pd->local_dma_lkey;
		wr->num_sge = 2;
	}

	/*
	 * Send with Invalidate can name one STag: a bidirectional command with
	 * two different ones gets a plain SEND, and the initiator invalidates
	 * both itself, rather than one here and one there.
	 */
	if (conn->use_sie && cmd->icmd->iscsi_opcode == ISCSI_OP_SCSI_CMD &&
	    !(cmd->pdu.rsv && cmd->pdu.wsv &&
	      cmd->pdu.read_stag != cmd->pdu.write_stag))
		inv = cmd->pdu.rsv ? cmd->pdu.read_stag :
		      (cmd->pdu.wsv ? cmd->pdu.write_stag : 0);
	cmd->send_cqe.done = iser_send_done;
	/* Every field of the WR, without a memset of it. */
	wr->next = NULL;
	wr->wr_cqe = &cmd->send_cqe;
	wr->sg_list = cmd->sge;
	wr->send_flags = IB_SEND_SIGNALED;
	wr->opcode = inv ? IB_WR_SEND_WITH_INV : IB_WR_SEND;
	wr->ex.invalidate_rkey = inv;
	cmd->ctrl = ctrl;
	cmd->post = ISER_POST_SEND;
	cmd->credits = 1;
	return 0;
}

/*
 * Builds a SCSI Response, with sense data inline in the slot. Inline in
 * its two callers: once per command.
 */
static __iser_hot int iser_build_status(struct iser_cmd *cmd)
{
	struct iscsit_cmd *icmd = cmd->icmd;
	struct se_cmd *se = &icmd->se_cmd;
	/* iscsit_build_rsp_pdu() zeroes the BHS itself. */
	u8 *slot = iser_slot(cmd, true);
	struct iscsi_scsi_rsp *rsp;
	u32 sense = 0;

	if (!slot)
		return -EINVAL;
	rsp = (struct iscsi_scsi_rsp *)(slot + ISER_HDR_LEN);
	iscsit_build_rsp_pdu(icmd, icmd->conn, true, rsp);
	iser_stat_inc(cmd->conn, ISER_S_PDU_OUT_RSP);
	if (se->sense_buffer &&
	    (se->se_cmd_flags & (SCF_TRANSPORT_TASK_SENSE |
				 SCF_EMULATED_TASK_SENSE))) {
		sense = min_t(u32, se->scsi_sense_length,
			      ISER_TX_INLINE_MAX - sizeof(__be16));
		put_unaligned_be16(sense, slot + ISER_HEADERS_LEN);
		memcpy(slot + ISER_HEADERS_LEN + sizeof(__be16),
		       se->sense_buffer, sense);
		sense += sizeof(__be16);
		hton24(rsp->dlength, sense);
	}
	return iser_prep_send(cmd, sense, NULL, 0, false);
}

/**
 * iser_queue_status() - send the SCSI Response of a command
 * @iconn: the iSCSI connection
 * @icmd: the command
 *
 * Return: 0, or -ENOMEM for the target core to retry later.
 */
int iser_queue_status(struct iscsit_conn *iconn, struct iscsit_cmd *icmd)
{
	struct iser_cmd *cmd = iser_cmd(icmd);
	u32 tas = CMD_T_ABORTED | CMD_T_TAS;
	int ret;

	cmd->tas_status = (READ_ONCE(icmd->se_cmd.transport_state) & tas) == tas;
	iser_rx_return(cmd);
	ret = iser_build_status(cmd);
	if (ret)
		return ret;
	ret = iser_post(cmd);
	/* Closing: the command stays listed and the core frees it. */
	if (ret == -ESHUTDOWN)
		return 0;
	if (ret)
		iser_payload_unmap(cmd);
	return ret;
}

/**
 * iser_queue_data_in() - RDMA WRITE read data, then the response
 * @iconn: the iSCSI connection
 * @icmd: the command
 *
 * The WRITEs and the response SEND are posted as one chain with only the
 * SEND signalled: on a reliable connection its completion implies theirs.
 *
 * Return: 0, or a negative errno for the target core to retry later.
 */
__iser_fault_point int iser_queue_data_in(struct iscsit_conn *iconn, struct iscsit_cmd *icmd)
{
	struct iser_cmd *cmd = iser_cmd(icmd);
	struct iser_conn *conn = cmd->conn;
	struct se_cmd *se = &icmd->se_cmd;
	int ret;

	ret = rdma_rw_ctx_init(&cmd->rw, conn->qp, iser_port(conn),
			       se->t_data_sg, se->t_data_nents, 0,
			       cmd->pdu.read_va, cmd->pdu.read_stag,
			       DMA_TO_DEVICE);
	if (ret < 0) {
		pr_warn_ratelimited("conn %p: cannot map read data: %d\n",
				    conn, ret);
		return -ENOMEM;
	}
	cmd->rw_ops = ret;
	cmd->rw_dir = DMA_TO_DEVICE;

	ret = iser_build_status(cmd);
	if (ret)
		goto out_rw;
	cmd->post = ISER_POST_DATA_IN;
	cmd->credits = cmd->rw_ops + 1;
	iser_stat_add(conn, ISER_S_RDMA_WRITE_BYTES, se->data_length);
	iser_stat_add(conn, ISER_S_RDMA_WRITE_WRS, cmd->rw_ops);
	ret = iser_post(cmd);
	if (ret == -ESHUTDOWN)
		return 0;
	if (ret)
		goto out_rw;
	return 0;

out_rw:
	iser_rw_destroy(cmd);
	return -ENOMEM;
}

ALLOW_ERROR_INJECTION(iser_queue_data_in, ERRNO);

/**
 * iser_get_dataout() - RDMA READ the write data still missing
 * @iconn: the iSCSI connection
 * @icmd: the command
 * @recovery: unused: iSER has no Data-Out recovery
 *
 * Immediate and unsolicited data already filled the start of the buffer;
 * the initiator's write address points at what follows.
 *
 * Return: 0, or a negative errno for the target core to retry later.
 */
__iser_fault_point int iser_get_dataout(struct iscsit_conn *iconn, struct iscsit_cmd *icmd,
			      bool recovery)
{
	struct iser_cmd *cmd = iser_cmd(icmd);
	struct iser_conn *conn = cmd->conn;
	struct se_cmd *se = &icmd->se_cmd;
	int ret;

	ret = rdma_rw_ctx_init(&cmd->rw, conn->qp, iser_port(conn),
			       se->t_data_sg, se->t_data_nents,
			       icmd->write_data_done, cmd->pdu.write_va,
			       cmd->pdu.write_stag, DMA_FROM_DEVICE);
	if (ret < 0) {
		pr_warn_ratelimited("conn %p: cannot map write data: %d\n",
				    conn, ret);
		return -ENOMEM;
	}
	cmd->rw_ops = ret;
	cmd->rw_dir = DMA_FROM_DEVICE;
	cmd->rw_cqe.done = iser_read_done;
	cmd->post = ISER_POST_DATA_OUT;
	cmd->credits = cmd->rw_ops;
	cmd->ctrl = false;
	iser_stat_add(conn, ISER_S_RDMA_READ_BYTES,
		      se->data_length - icmd->write_data_done);
	iser_stat_add(conn, ISER_S_RDMA_READ_WRS, cmd->rw_ops);
	ret = iser_post(cmd);
	if (ret == -ESHUTDOWN)
		return 0;
	if (ret) {
		iser_rw_destroy(cmd);
		return -ENOMEM;
	}
	return 0;
}

ALLOW_ERROR_INJECTION(iser_get_dataout, ERRNO);

static void iser_read_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct iser_cmd *cmd = container_of(wc->wr_cqe, struct iser_cmd,
					    rw_cqe);
	struct iscsit_cmd *icmd = cmd->icmd;
	struct iser_conn *conn = cmd->conn;

	iser_sq_put(conn, cmd, 0, NULL);
	if (unlikely(wc->status != IB_WC_SUCCESS)) {
		iser_wc_failed(conn, wc, ISER_WR_RDMA_READ);
		iser_cmd_put(cmd);
		return;
	}
	iser_heard(conn);
	iser_rw_destroy(cmd);
	iscsit_stop_dataout_timer(icmd);
	spin_lock_bh(&icmd->istate_lock);
	icmd->write_data_done = icmd->se_cmd.data_length;
	icmd->cmd_flags |= ICF_GOT_LAST_DATAOUT;
	icmd->i_state = ISTATE_RECEIVED_LAST_DATAOUT;
	spin_unlock_bh(&icmd->istate_lock);
	target_execute_cmd(&icmd->se_cmd);
}

/**
 * iser_cmd_unlist() - take a command off its connection's list, if on it
 * @iconn: the iSCSI connection
 * @icmd: the command
 */
void iser_cmd_unlist(struct iscsit_conn *iconn, struct iscsit_cmd *icmd)
{
	spin_lock_bh(&iconn->cmd_lock);
	if (!list_empty(&icmd->i_conn_node))
		list_del_init(&icmd->i_conn_node);
	spin_unlock_bh(&iconn->cmd_lock);
}

/*
 * A Task Management Request with the I bit clear that the iSCSI layer
 * answers without passing it to the target core (no such LUN, no such
 * task, function refused) is answered from iscsit_execute_cmd(), which,
 * unlike the immediate path, never drops the reference taken for the
 * request's completion (Debian's 6.1 and 6.12 alike). Our release alone
 * would then never free it: its connection's teardown would wait in
 * target_wait_for_cmds() for ever, and the portal's login thread with it
 * once the initiator logs in again. A request the core ran has left
 * TRANSPORT_NO_STATE. The count is checked so that a core which drops
 * that reference itself keeps ours as the last one: nothing else can hold
 * a request the core never ran.
 */
static bool iser_tmr_holds_extra_ref(struct iscsit_cmd *icmd)
{
	struct se_cmd *se = &icmd->se_cmd;

	return !icmd->immediate_cmd && se->t_state == TRANSPORT_NO_STATE &&
	       !(READ_ONCE(se->transport_state) & CMD_T_ABORTED) &&
	       kref_read(&se->cmd_kref) > 1;
}

/**
 * iser_cmd_put() - release a command whose last work request completed
 * @cmd: the command
 */
void iser_cmd_put(struct iser_cmd *cmd)
{
	struct iscsit_cmd *icmd = cmd->icmd;
	struct iscsit_conn *iconn = icmd->conn;
	struct se_cmd *se = &icmd->se_cmd;

	iser_rx_return(cmd);
	iser_payload_unmap(cmd);
	if (cmd->counted) {
		cmd->counted = false;
		if (iser_stats_on())
			atomic_dec(&cmd->conn->outstanding);
		if (trace_iser_cmd_done_enabled())
			trace_iser_cmd_done(cmd->conn,
					    be32_to_cpu((__force __be32)icmd->init_task_tag),
					    se->scsi_status,
					    cmd->start_ns ? (cmd->rsp_ns ?: ktime_get_ns()) -
							    cmd->start_ns : 0);
	}
	/* Every kind leaves the list first, a failed Logout included. */
	iser_cmd_unlist(iconn, icmd);
	if (cmd->conn)
		iser_text_forget(cmd->conn, icmd);
	/*
	 * A WRITE turned into a Reject still has the Data-Out timer that
	 * unsolicited data started: it must not fire on a freed command.
	 */
	if (icmd->data_direction == DMA_TO_DEVICE)
		iscsit_stop_dataout_timer(icmd);
	switch (icmd->iscsi_opcode) {
	case ISCSI_OP_SCSI_CMD:
		/*
		 * A WRITE that never ran still holds the reference the core
		 * drops when it completes one: ended by a flush, or answered
		 * with CHECK CONDITION by the core's checks of its unsolicited
		 * Data-Out (which then drops the connection). Not when it was
		 * answered with TASK ABORTED: the core's abort drops that one.
		 */
		if (icmd->data_direction == DMA_TO_DEVICE &&
		    se->t_state == TRANSPORT_WRITE_PENDING && !cmd->tas_status)
			target_put_sess_cmd(se);
		iser_rw_destroy(cmd);
		iser_dbuf_return(cmd);
		transport_generic_free_cmd(se, 0);
		break;
	case ISCSI_OP_SCSI_TMFUNC:
		if (iser_tmr_holds_extra_ref(icmd))
			target_put_sess_cmd(se);
		transport_generic_free_cmd(se, 0);
		break;
	case ISCSI_OP_REJECT:
	case ISCSI_OP_NOOP_OUT:
	case ISCSI_OP_TEXT:
		/* A reject may replace a SCSI command that holds an se_cmd. */
		if (se->se_tfo) {
			transport_generic_free_cmd(se, 0);
			break;
		}
		iscsit_release_cmd(icmd);
		break;
	default:
		iscsit_release_cmd(icmd);
		break;
	}
}

/*
 * A Logout that closes the session's last connection (reason "close the
 * connection", its own CID) leaves the session failed, waiting for
 * DefaultTime2Retain: the core's handler clears the mark that would close
 * it with the connection. Its timer then closes the session from softirq
 * context, where the target core takes a mutex and, by lockdep, inverts
 * its lock order (Documentation/security.rst, ISER-2026-12). Below
 * ErrorRecoveryLevel 2 nothing of the session can be recovered: close it
 * with the connection, as the core does when such a connection fails.
 */
static void iser_logout_last_conn(struct iscsit_cmd *icmd)
{
	struct iscsit_conn *iconn = icmd->conn;
	struct iscsit_session *sess = iconn->sess;

	if (icmd->logout_reason != ISCSI_LOGOUT_REASON_CLOSE_CONNECTION ||
	    icmd->logout_cid != iconn->cid ||
	    icmd->logout_response != ISCSI_LOGOUT_SUCCESS ||
	    sess->sess_ops->ErrorRecoveryLevel == 2 ||
	    atomic_read(&sess->nconn) != 1)
		return;
	pr_debug("conn %p: last connection logged out, closing session %u with it\n",
		 iconn->context, sess->sid);
	atomic_set(&sess->session_fall_back_to_erl0, 1);
}

static void iser_logout_work(struct work_struct *work)
{
	struct iser_cmd *cmd = container_of(work, struct iser_cmd, ctrl_work);

	iser_logout_last_conn(cmd->icmd);
	iscsit_logout_post_handler(cmd->icmd, cmd->icmd->conn);
}

static void iser_send_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct iser_cmd *cmd = container_of(wc->wr_cqe, struct iser_cmd,
					    send_cqe);
	struct iscsit_cmd *icmd = cmd->icmd;
	struct iser_conn *conn = cmd->conn;
	bool err = wc->status != IB_WC_SUCCESS;
	struct iscsi_text_rsp *trsp;
	struct iser_cmd *done;

	/* Only a failed unsignalled send completes: it stands for itself. */
	if (unlikely(cmd->unsig)) {
		iser_sq_put(conn, NULL, cmd->sq_seq + 1, &done);
		iser_wc_failed(conn, wc, ISER_WR_SEND);
		iser_sq_release(done, false);
		return;
	}
	iser_sq_put(conn, cmd, cmd->sq_seq, &done);
	iser_sq_release(done, !err);
	iser_payload_unmap(cmd);
	iser_rw_destroy(cmd);
	if (unlikely(err))
		iser_wc_failed(conn, wc, ISER_WR_SEND);
	else
		iser_heard(conn);
	/* A NOP-In ping stays listed until the initiator's reply removes it. */
	if (atomic_read(&cmd->nopin_holds)) {
		if (atomic_dec_and_test(&cmd->nopin_holds))
			iser_cmd_put(cmd);
		return;
	}
	if (unlikely(err)) {
		iser_cmd_put(cmd);
		return;
	}

	switch (icmd->i_state) {
	case ISTATE_SEND_LOGOUTRSP:
		/* Teardown waits for the handler only once it will run. */
		WRITE_ONCE(conn->logout_posted, true);
		/* It waits for the connection to close: not in CQ context. */
		INIT_WORK(&cmd->ctrl_work, iser_logout_work);
		queue_work(iser_wq, &cmd->ctrl_work);
		return;
	case ISTATE_SEND_TASKMGTRSP:
		iscsit_tmr_post_handler(icmd, icmd->conn);
		break;
	case ISTATE_SEND_REJECT:
		/* It may have used the spare task: its tag is free again. */
		iser_cmd_put(cmd);
		iser_spare_fill(conn);
		return;
	case ISTATE_SEND_TEXTRSP:
		trsp = (struct iscsi_text_rsp *)(conn->tx_slots[icmd->se_cmd.map_tag] +
						 ISER_HDR_LEN);
		/* More text to come for the same task: keep it. */
		if (trsp->flags & ISCSI_FLAG_TEXT_CONTINUE) {
			iser_text_send_done(conn, icmd);
			return;
		}
		break;
	default:
		break;
	}
	icmd->i_state = ISTATE_SENT_STATUS;
	iser_cmd_put(cmd);
}

static int iser_send_nopin(struct iser_cmd *cmd, bool response)
{
	struct iscsit_cmd *icmd = cmd->icmd;
	u8 *slot = iser_slot(cmd, false);
	int ret;

	if (!slot)
		return -EINVAL;
	iscsit_build_nopin_rsp(icmd, icmd->conn,
			       (struct iscsi_nopin *)(slot + ISER_HDR_LEN),
			       response);
	iser_stat_inc(cmd->conn, ISER_S_PDU_OUT_NOP_IN);
	ret = iser_prep_send(cmd, 0, icmd->buf_ptr,
			     response ? icmd->buf_ptr_size : 0, true);
	return ret ? ret : iser_post_ctrl(cmd);
}

/*
 * Builds the next part of a Text Response in @bhs and returns the bytes of
 * its data segment, padded. The core allocates a new buffer for every part
 * and leaves the last one to leak: free it first. Its length includes the
 * padding, which may lie past the end of that buffer: reallocate it with
 * zeroed room for the padding.
 */
static int iser_build_text_rsp(struct iser_cmd *cmd, void *bhs)
{
	struct iscsit_cmd *icmd = cmd->icmd;
	u32 dlen;
	void *p;
	int len;

	kfree(icmd->buf_ptr);
	icmd->buf_ptr = NULL;
	len = iscsit_build_text_rsp(icmd, icmd->conn, bhs, ISCSI_INFINIBAND);
	if (len <= 0 || !icmd->buf_ptr)
		return len < 0 ? len : 0;
	dlen = ntoh24(((struct iscsi_text_rsp *)bhs)->dlength);
	if (WARN_ON_ONCE(dlen > len))
		return -EINVAL;
	p = krealloc(icmd->buf_ptr, len, GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	memset(p + dlen, 0, len - dlen);
	icmd->buf_ptr = p;
	return len;
}

static int iser_send_ctrl(struct iser_cmd *cmd, int state)
{
	struct iscsit_cmd *icmd = cmd->icmd;
	struct iscsit_conn *iconn = icmd->conn;
	u8 *slot = iser_slot(cmd, false);
	void *bhs;
	int ret;

	if (!slot)
		return -EINVAL;
	bhs = slot + ISER_HDR_LEN;
	switch (state) {
	case ISTATE_SEND_LOGOUTRSP:
		ret = iscsit_build_logout_rsp(icmd, iconn, bhs);
		if (ret)
			return ret;
		ret = iser_prep_send(cmd, 0, NULL, 0, true);
		iser_stat_inc(cmd->conn, ISER_S_PDU_OUT_LOGOUT);
		break;
	case ISTATE_SEND_TASKMGTRSP:
		iscsit_build_task_mgt_rsp(icmd, iconn, bhs);
		ret = iser_prep_send(cmd, 0, NULL, 0, true);
		iser_stat_inc(cmd->conn, ISER_S_PDU_OUT_TMF);
		break;
	case ISTATE_SEND_REJECT:
		iser_text_sent(cmd->conn, icmd, false);
		iser_stat_inc(cmd->conn, ISER_S_PDU_OUT_REJECT);
		iscsit_build_reject(icmd, iconn, bhs);
		/* The rejected header travels as the data segment, inline. */
		memcpy(slot + ISER_HEADERS_LEN, icmd->buf_ptr, ISCSI_HDR_LEN);
		hton24(((struct iscsi_reject *)bhs)->dlength, ISCSI_HDR_LEN);
		ret = iser_prep_send(cmd, ISCSI_HDR_LEN, NULL, 0, true);
		break;
	case ISTATE_SEND_TEXTRSP:
		ret = iser_build_text_rsp(cmd, bhs);
		if (ret < 0)
			return ret;
		iser_text_sent(cmd->conn, icmd,
			       ((struct iscsi_text_rsp *)bhs)->flags &
			       ISCSI_FLAG_TEXT_CONTINUE);
		iser_stat_inc(cmd->conn, ISER_S_PDU_OUT_TEXT);
		ret = iser_prep_send(cmd, 0, icmd->buf_ptr, ret, true);
		break;
	default:
		return -EINVAL;
	}
	return ret ? ret : iser_post_ctrl(cmd);
}

/**
 * iser_immediate_queue() - the core's immediate queue for this transport
 * @iconn: the iSCSI connection
 * @icmd: the command
 * @state: what to do with it
 *
 * Return: 0 or a negative errno, which makes the core drop the connection.
 */
int iser_immediate_queue(struct iscsit_conn *iconn, struct iscsit_cmd *icmd,
			 int state)
{
	struct iser_cmd *cmd = iser_cmd(icmd);
	int ret;

	switch (state) {
	case ISTATE_REMOVE:
		if (atomic_read(&cmd->nopin_holds) &&
		    !atomic_dec_and_test(&cmd->nopin_holds))
			return 0;
		iser_cmd_put(cmd);
		return 0;
	case ISTATE_SEND_NOPIN_WANT_RESPONSE:
		cmd->conn = iconn->context;
		cmd->icmd = icmd;
		atomic_set(&cmd->nopin_holds, 2);
		ret = iser_send_nopin(cmd, false);
		if (ret)
			atomic_set(&cmd->nopin_holds, 0);
		return ret;
	default:
		pr_err_ratelimited("unexpected immediate queue state %d\n",
				   state);
		return -EINVAL;
	}
}

/**
 * iser_response_queue() - the core's response queue for this transport
 * @iconn: the iSCSI connection
 * @icmd: the command
 * @state: which PDU to send
 *
 * Return: 0 or a negative errno, which makes the core drop the connection.
 */
int iser_response_queue(struct iscsit_conn *iconn, struct iscsit_cmd *icmd,
			int state)
{
	struct iser_cmd *cmd = iser_cmd(icmd);

	/* Commands the core made itself (NOP-In, reject) start here. */
	cmd->conn = iconn->context;
	cmd->icmd = icmd;
	switch (state) {
	case ISTATE_SEND_NOPIN:
		return iser_send_nopin(cmd, true);
	case ISTATE_SEND_STATUS:
		return iser_queue_status(iconn, icmd);
	case ISTATE_SEND_LOGOUTRSP:
	case ISTATE_SEND_TASKMGTRSP:
	case ISTATE_SEND_REJECT:
	case ISTATE_SEND_TEXTRSP:
		return iser_send_ctrl(cmd, state);
	default:
		pr_err_ratelimited("unexpected response queue state %d\n",
				   state);
		return -EINVAL;
	}
}

/**
 * iser_aborted_task() - the core aborted a command before its response
 * @iconn: the iSCSI connection
 * @icmd: the command
 */
void iser_aborted_task(struct iscsit_conn *iconn, struct iscsit_cmd *icmd)
{
	struct iser_cmd *cmd = iser_cmd(icmd);

	iser_cmd_unlist(iconn, icmd);
	if (icmd->data_direction == DMA_TO_DEVICE)
		iscsit_stop_dataout_timer(icmd);
	if (cmd->conn) {
		iser_rx_return(cmd);
		iser_rw_destroy(cmd);
	}
}

/**
 * iser_unmap_cmd() - release the mappings of a command the core frees
 * @iconn: the iSCSI connection
 * @icmd: the command
 *
 * A command left to the core by a closing or broken send queue keeps its
 * read or write data and payload mapped: part of its chain may have been
 * posted, and only the drain in iser_wait_conn() ends that. The core
 * frees such commands after the drain and calls this first.
 */
void iser_unmap_cmd(struct iscsit_conn *iconn, struct iscsit_cmd *icmd)
{
	struct iser_cmd *cmd = iser_cmd(icmd);

	if (!cmd->conn)
		return;
	iser_rx_return(cmd);
	iser_payload_unmap(cmd);
	iser_rw_destroy(cmd);
}

/**
 * iser_sq_close() - stop posting before the queue pair is drained
 * @conn: the connection being closed
 *
 * Whatever was posted before completes (or is flushed) before the drain
 * returns; whatever comes later is left, unsent, on the connection's
 * command list, where the core frees it as it does for iSCSI/TCP.
 */
void iser_sq_close(struct iser_conn *conn)
{
	unsigned long flags;

	spin_lock_irqsave(&conn->sq_lock, flags);
	conn->sq_closed = true;
	spin_unlock_irqrestore(&conn->sq_lock, flags);
}

/**
 * iser_sq_flush() - release commands still waiting for send queue entries,
 * and unsignalled responses no completion stood for
 * @conn: the connection, already drained: nothing will post them any more,
 *	and every work request has ended
 */
void iser_sq_flush(struct iser_conn *conn)
{
	struct iser_cmd *cmd, *tmp, *unsig;
	unsigned long flags;
	LIST_HEAD(drop);

	spin_lock_irqsave(&conn->sq_lock, flags);
	list_splice_init(&conn->sq_wait, &drop);
	unsig = iser_sq_collect(conn, conn->sq_seq + 1);
	spin_unlock_irqrestore(&conn->sq_lock, flags);

	iser_sq_release(unsig, false);
	list_for_each_entry_safe(cmd, tmp, &drop, wait_node) {
		list_del_init(&cmd->wait_node);
		iser_cmd_put(cmd);
	}
}

/*
 * Posts a zero-length RDMA WRITE completing on @cqe, signalled. It names
 * no buffer or key, so the initiator's adapter acknowledges it without
 * its software: the keepalive probe and the completion marker. Called
 * with sq_lock held, on an entry kept for it (ISER_SQ_OUTSIDE); a failure
 * closes the send queue, and the caller fails the connection.
 */
static int iser_post_empty_write(struct iser_conn *conn, struct ib_cqe *cqe)
{
	struct ib_rdma_wr wr = {
		.wr.opcode = IB_WR_RDMA_WRITE,
		.wr.wr_cqe = cqe,
		.wr.send_flags = IB_SEND_SIGNALED,
	};
	int ret;

	ret = ib_post_send(conn->qp, &wr.wr, NULL);
	if (ret)
		iser_sq_broken(conn, ret);
	return ret;
}

/*
 * Makes sure a completion will stand for the unsignalled responses: after
 * ISER_SQ_MARK_MS in which nothing was posted, iser_sq_mark_fn() posts a
 * marker behind them. Called with sq_lock held.
 */
static void iser_sq_arm(struct iser_conn *conn)
{
	if (conn->sq_mark_armed)
		return;
	conn->sq_mark_armed = true;
	conn->sq_arm_seq = conn->sq_seq;
	queue_delayed_work(iser_wq, &conn->sq_mark,
			   msecs_to_jiffies(ISER_SQ_MARK_MS));
}

static void iser_sq_mark_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct iser_conn *conn = wc->qp->qp_context;
	bool ok = wc->status == IB_WC_SUCCESS;
	struct iser_cmd *done;
	unsigned long flags;
	u32 seq;

	spin_lock_irqsave(&conn->sq_lock, flags);
	conn->sq_mark_posted = false;
	seq = conn->sq_mark_seq;
	spin_unlock_irqrestore(&conn->sq_lock, flags);
	iser_sq_put(conn, NULL, seq, &done);
	if (unlikely(!ok))
		iser_wc_failed(conn, wc, ISER_WR_SQ_MARKER);
	iser_sq_release(done, ok);
}

/**
 * iser_sq_mark_fn() - stand in for the completions of unsignalled responses
 * once the connection went quiet
 * @work: the connection's marker work
 *
 * While responses keep being posted, the next signalled one comes within
 * ISER_SQ_SIGNAL_EVERY of them. When ISER_SQ_MARK_MS passed without a
 * post, none may come, and their commands would hold their tasks and the
 * target core's references: an empty RDMA WRITE completes behind them and
 * releases them.
 */
static void iser_sq_mark_fn(struct work_struct *work)
{
	struct iser_conn *conn = container_of(to_delayed_work(work),
					      struct iser_conn, sq_mark);
	unsigned long flags;
	int ret = 0;

	spin_lock_irqsave(&conn->sq_lock, flags);
	conn->sq_mark_armed = false;
	if (!conn->sq_unsig || conn->sq_closed)
		goto out_unlock;
	/* Posts since the last look, or a marker on its way: look again. */
	if (conn->sq_mark_posted || conn->sq_seq != conn->sq_arm_seq) {
		iser_sq_arm(conn);
		goto out_unlock;
	}
	ret = iser_post_empty_write(conn, &conn->sq_mark_cqe);
	if (ret)
		goto out_unlock;
	conn->sq_mark_posted = true;
	conn->sq_mark_seq = ++conn->sq_seq;
	conn->sq_run = 0;
	iser_stat_inc(conn, ISER_S_SQ_MARKERS);
out_unlock:
	spin_unlock_irqrestore(&conn->sq_lock, flags);
	if (ret)
		iser_conn_fail(conn, "cannot post a work request");
}

/**
 * iser_sq_init() - set up the unsignalled responses' bookkeeping
 * @conn: a new connection
 */
void iser_sq_init(struct iser_conn *conn)
{
	INIT_LIST_HEAD(&conn->sq_wait);
	INIT_DELAYED_WORK(&conn->sq_mark, iser_sq_mark_fn);
	conn->sq_mark_cqe.done = iser_sq_mark_done;
}

/* See iser_list_unsent_rejects(): one of the core's two queues. */
static void iser_list_queue_rejects(struct iscsit_conn *iconn,
				    struct list_head *queue, spinlock_t *lock)
{
	struct iscsi_queue_req *qr;

	spin_lock_bh(lock);
	list_for_each_entry(qr, queue, qr_list) {
		struct iscsit_cmd *icmd = qr->cmd;

		if (qr->state != ISTATE_SEND_REJECT || !icmd)
			continue;
		spin_lock_bh(&iconn->cmd_lock);
		if (list_empty(&icmd->i_conn_node)) {
			pr_debug("conn %p: unsent Reject of ITT 0x%08x left to the core's release\n",
				 iconn->context,
				 be32_to_cpu((__force __be32)icmd->init_task_tag));
			list_add_tail(&icmd->i_conn_node, &iconn->conn_cmd_list);
		}
		spin_unlock_bh(&iconn->cmd_lock);
	}
	spin_unlock_bh(lock);
}

/**
 * iser_list_unsent_rejects() - let the core free the Rejects it never sent
 * @conn: the connection, drained, the core's transmit thread stopped
 *
 * The core answers some requests with a Reject of a task it never put on
 * the connection's list: a Text Request that is not SendTargets, or one
 * or a NOP-Out its setup refuses. If the connection closes before its
 * transmit thread hands such a Reject to us, the core's release, which
 * walks that list, misses the task, and it leaks with its request text
 * and its copy of the rejected header. Put those tasks on the list, where
 * the release frees them as any other.
 */
void iser_list_unsent_rejects(struct iser_conn *conn)
{
	struct iscsit_conn *iconn = conn->iconn;

	iser_list_queue_rejects(iconn, &iconn->immed_queue_list,
				&iconn->immed_queue_lock);
	iser_list_queue_rejects(iconn, &iconn->response_queue_list,
				&iconn->response_queue_lock);
}

static void iser_keepalive_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct iser_conn *conn = wc->qp->qp_context;
	unsigned long flags;

	spin_lock_irqsave(&conn->sq_lock, flags);
	conn->ka_posted = false;
	spin_unlock_irqrestore(&conn->sq_lock, flags);
	if (unlikely(wc->status != IB_WC_SUCCESS))
		iser_wc_failed(conn, wc, ISER_WR_KEEPALIVE);
}

/**
 * iser_keepalive_start() - watch a connection that entered the full feature
 * phase for silence
 * @conn: the connection
 */
void iser_keepalive_start(struct iser_conn *conn)
{
	unsigned int secs = READ_ONCE(iser_keepalive_secs);

	conn->ka_cqe.done = iser_keepalive_done;
	conn->ka_heard = READ_ONCE(conn->heard);
	if (secs)
		queue_delayed_work(iser_wq, &conn->keepalive, secs * HZ);
}

/**
 * iser_keepalive_fn() - probe a connection that heard nothing from its
 * initiator for a keepalive interval
 * @work: the connection's keepalive work
 *
 * The probe is an empty RDMA WRITE, which a live initiator's software
 * never sees. One that is gone cannot acknowledge it:
 * a probe still unanswered a whole interval later, with nothing else heard
 * meanwhile, drops the connection. The adapter's own retries are not
 * waited for: the Linux initiator asks for a retry count of 7, which
 * Soft-RoCE takes as retrying for ever. One probe at most is in flight.
 */
void iser_keepalive_fn(struct work_struct *work)
{
	struct iser_conn *conn = container_of(to_delayed_work(work),
					      struct iser_conn, keepalive);
	unsigned int secs = READ_ONCE(iser_keepalive_secs);
	enum iser_ka_action act;
	unsigned long flags;
	bool posted = false;
	u32 heard;
	int ret = 0;

	if (READ_ONCE(conn->state) != ISER_CONN_FULL)
		return;
	heard = READ_ONCE(conn->heard);
	spin_lock_irqsave(&conn->sq_lock, flags);
	act = iser_keepalive_decide(heard, conn->ka_heard, conn->ka_posted);
	if (act == ISER_KA_PROBE && !conn->sq_closed) {
		ret = iser_post_empty_write(conn, &conn->ka_cqe);
		posted = !ret;
		conn->ka_posted = posted;
	}
	spin_unlock_irqrestore(&conn->sq_lock, flags);
	if (act == ISER_KA_SILENT) {
		pr_warn_ratelimited("conn %p: initiator %s at %pISpc did not answer a keepalive probe in %u s, dropping connection\n",
				    conn, conn->initiator,
				    &conn->cm_id->route.addr.dst_addr, secs);
		iser_conn_fail(conn, "keepalive probe unanswered");
		return;
	}
	if (ret) {
		iser_conn_fail(conn, "cannot post a work request");
		return;
	}
	if (posted) {
		iser_stat_inc(conn, ISER_S_KEEPALIVE_PROBES);
		iser_dbufs_trim(conn);
	}
	conn->ka_heard = heard;
	/* keepalive_secs set to 0 meanwhile: no more probes. */
	if (secs)
		queue_delayed_work(iser_wq, &conn->keepalive, secs * HZ);
}

/**
 * iser_free_rejected_writes() - free unsent Rejects that replaced a WRITE
 * @conn: the connection, drained: no work request refers to a command
 *
 * When the core refuses a Data-Out it turns the WRITE into a Reject and
 * drops the reference the WRITE's completion would have dropped. If the
 * connection closes before that Reject is sent, the core's release still
 * sees a WRITE waiting for data, completes it, and so drops that reference
 * a second time. Free such commands here instead, as that release frees
 * any other: off the list, MaxCmdSN advanced, out of the queues.
 */
void iser_free_rejected_writes(struct iser_conn *conn)
{
	struct iscsit_conn *iconn = conn->iconn;
	struct iscsit_cmd *icmd, *tmp;
	LIST_HEAD(drop);

	spin_lock_bh(&iconn->cmd_lock);
	list_for_each_entry_safe(icmd, tmp, &iconn->conn_cmd_list, i_conn_node)
		if (icmd->iscsi_opcode == ISCSI_OP_REJECT &&
		    icmd->se_cmd.se_tfo &&
		    icmd->se_cmd.t_state == TRANSPORT_WRITE_PENDING)
			list_move_tail(&icmd->i_conn_node, &drop);
	spin_unlock_bh(&iconn->cmd_lock);

	list_for_each_entry_safe(icmd, tmp, &drop, i_conn_node) {
		list_del_init(&icmd->i_conn_node);
		pr_debug("conn %p: freeing unsent Reject of WRITE ITT 0x%08x\n",
			 conn, be32_to_cpu((__force __be32)icmd->init_task_tag));
		iscsit_increment_maxcmdsn(icmd, iconn->sess);
		iscsit_free_cmd(icmd, true);
	}
}
