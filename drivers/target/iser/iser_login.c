// SPDX-License-Identifier: GPL-2.0
/*
 * iser_target: the login phase over SEND/RECV, and the switch to the full
 * feature phase. A connection that never completes a login owns only its
 * queue pair and two small login buffers; the receive ring and the send
 * slots are allocated once the login is complete (RFC 7145 section 11).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/sched/signal.h>
#include <scsi/iscsi_proto.h>
#include <target/target_core_base.h>

#include "iser.h"

static void iser_login_recv_done(struct ib_cq *cq, struct ib_wc *wc);
static void iser_login_send_done(struct ib_cq *cq, struct ib_wc *wc);

/**
 * iser_post_login_recv() - let the next login request come
 * @conn: the connection
 *
 * Posts @login_rx, or with a shared receive queue marks the connection
 * ready for one request from it (iser_login_srq_recv()).
 *
 * Return: 0 or the error of ib_post_recv().
 */
int iser_post_login_recv(struct iser_conn *conn)
{
	unsigned long flags;

	if (conn->srq) {
		spin_lock_irqsave(&conn->lock, flags);
		conn->login_armed = true;
		spin_unlock_irqrestore(&conn->lock, flags);
		return 0;
	}
	conn->login_rx.cqe.done = iser_login_recv_done;
	return iser_post_recv(conn, &conn->login_rx);
}

/* A login request of @len bytes is in @login_rx, synced for the CPU. */
static void iser_login_received(struct iser_conn *conn, u32 len)
{
	struct iser_buf *buf = &conn->login_rx;
	struct iser_pdu_info info;
	enum iser_reason why;
	unsigned long flags;
	bool run_work = false, first;

	iser_stat_inc(conn, ISER_S_PDU_LOGIN);
	iser_stat_add(conn, ISER_S_BYTES_IN, len);
	why = iser_parse_pdu(buf->segs[0].addr, buf->segs[0].len, len,
			     ISER_LOGIN_MAX_DATA, &info);
	if (why || info.iscsi_opcode != ISCSI_OP_LOGIN) {
		const char *what = why ? iser_reason_str(why) :
				   "not a login request";

		iser_stat_inc(conn, ISER_S_BAD_PDUS);
		pr_warn_ratelimited("conn %p from %pISpc: bad login PDU (%s), dropping connection\n",
				    conn, &conn->cm_id->route.addr.dst_addr, what);
		iser_conn_fail(conn, what);
		return;
	}

	spin_lock_irqsave(&conn->lock, flags);
	conn->login_len = len;
	conn->login_ready = true;
	first = conn->state < ISER_CONN_PENDING;
	if (conn->state == ISER_CONN_LOGIN && conn->login_more) {
		conn->login_more = false;
		run_work = true;
	}
	spin_unlock_irqrestore(&conn->lock, flags);

	if (first)
		iser_np_login_arrived(conn);
	if (run_work)
		schedule_delayed_work(&conn->iconn->login_work, 0);
	else
		wake_up_all(&conn->state_wq);
}

static void iser_login_recv_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct iser_conn *conn = wc->qp->qp_context;

	if (unlikely(wc->status != IB_WC_SUCCESS)) {
		iser_wc_failed(conn, wc, ISER_WR_LOGIN_RECV);
		return;
	}
	iser_rx_buf_for_cpu(conn->dev, &conn->login_rx, wc->byte_len);
	iser_login_received(conn, wc->byte_len);
}

/**
 * iser_login_srq_recv() - a PDU from the shared receive queue before the
 *	full feature phase
 * @conn: the connection it came on
 * @buf: the shared buffer, synced for the CPU; the caller reposts it
 * @len: bytes received
 *
 * Copied into @login_rx, as if it had been posted, when a login request
 * may come (iser_post_login_recv()); anything else, such as a PDU sent
 * before the last login response, fails the connection, which without a
 * shared queue would find no buffer posted.
 */
void iser_login_srq_recv(struct iser_conn *conn, struct iser_buf *buf, u32 len)
{
	struct iser_buf *lrx = &conn->login_rx;
	enum iser_conn_state state;
	unsigned long flags;
	bool armed;
	u32 done = 0;
	unsigned int i;

	spin_lock_irqsave(&conn->lock, flags);
	armed = conn->login_armed;
	conn->login_armed = false;
	state = conn->state;
	spin_unlock_irqrestore(&conn->lock, flags);
	if (state >= ISER_CONN_CLOSING)
		return;
	if (!armed || len > lrx->size) {
		iser_stat_inc(conn, ISER_S_BAD_PDUS);
		pr_warn_ratelimited("conn %p from %pISpc: PDU of %u bytes when no login request may come, dropping connection\n",
				    conn, &conn->cm_id->route.addr.dst_addr, len);
		iser_conn_fail(conn, "PDU when no login request may come");
		return;
	}
	/* The CPU writes all of it: all of it goes back to the device. */
	iser_rx_buf_for_cpu(conn->dev, lrx, lrx->size);
	/* Both buffers are a header slot and the same number of pages. */
	for (i = 0; i < lrx->nsegs && i < buf->nsegs && done < len; i++) {
		u32 n = min3(len - done, lrx->segs[i].len, buf->segs[i].len);

		memcpy(lrx->segs[i].addr, buf->segs[i].addr, n);
		done += n;
	}
	iser_login_received(conn, len);
}

/**
 * iser_get_login_rx() - give the core the login request that arrived
 * @iconn: the iSCSI connection
 * @login: where the core wants the request
 *
 * For the first request this sleeps until it arrives; later ones have
 * already arrived when the core's login work calls in.
 *
 * Return: 0, or negative when the connection closed or the wait was
 * interrupted (the core's login timer signals it).
 */
int iser_get_login_rx(struct iscsit_conn *iconn, struct iscsi_login *login)
{
	struct iser_conn *conn = iconn->context;
	struct iser_buf *buf = &conn->login_rx;
	struct iscsi_login_req *req;
	struct iser_pdu_info info;
	unsigned long flags;
	int ret;

	ret = wait_event_interruptible(conn->state_wq,
				       READ_ONCE(conn->login_ready) ||
				       READ_ONCE(conn->state) >= ISER_CONN_CLOSING);
	if (ret)
		return ret;
	spin_lock_irqsave(&conn->lock, flags);
	if (conn->state >= ISER_CONN_CLOSING)
		ret = -ENOTCONN;
	conn->login_ready = false;
	spin_unlock_irqrestore(&conn->lock, flags);
	if (ret)
		return ret;

	/* Checked in iser_login_recv_done(); decoded again for offsets. */
	if (iser_parse_pdu(buf->segs[0].addr, buf->segs[0].len,
			   conn->login_len, ISER_LOGIN_MAX_DATA, &info))
		return -EINVAL;

	memcpy(login->req, (u8 *)buf->segs[0].addr + ISER_HDR_LEN,
	       ISCSI_HDR_LEN);
	req = (struct iscsi_login_req *)login->req;
	if (login->first_request) {
		login->leading_connection = !req->tsih;
		login->current_stage = ISCSI_LOGIN_CURRENT_STAGE(req->flags);
		login->version_min = req->min_version;
		login->version_max = req->max_version;
		memcpy(login->isid, req->isid, 6);
		login->cmd_sn = be32_to_cpu(req->cmdsn);
		login->init_task_tag = req->itt;
		login->initial_exp_statsn = be32_to_cpu(req->exp_statsn);
		login->cid = be16_to_cpu(req->cid);
		login->tsih = be16_to_cpu(req->tsih);
	}
	if (iscsi_target_check_login_request(iconn, login) < 0)
		return -EINVAL;

	memset(login->req_buf, 0, MAX_KEY_VALUE_PAIRS);
	if (iser_segs_copy_out(buf->segs, buf->nsegs, info.data_off,
			       login->req_buf, info.data_len))
		return -EINVAL;
	return 0;
}

static int iser_login_send(struct iser_conn *conn)
{
	struct ib_send_wr wr = {};
	struct iser_buf *buf = &conn->login_tx;
	unsigned int i;

	for (i = 0; i < buf->nsegs && buf->sge[i].length; i++)
		ib_dma_sync_single_for_device(conn->dev->ib_dev,
					      buf->sge[i].addr,
					      buf->sge[i].length, DMA_TO_DEVICE);
	iser_stat_inc(conn, ISER_S_PDU_OUT_LOGIN);
	buf->cqe.done = iser_login_send_done;
	wr.wr_cqe = &buf->cqe;
	wr.sg_list = buf->sge;
	wr.num_sge = i;
	wr.opcode = IB_WR_SEND;
	wr.send_flags = IB_SEND_SIGNALED;
	return ib_post_send(conn->qp, &wr, NULL);
}

static void iser_login_send_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct iser_conn *conn = wc->qp->qp_context;

	if (unlikely(wc->status != IB_WC_SUCCESS))
		iser_wc_failed(conn, wc, ISER_WR_LOGIN_SEND);
}

/* Lay the response out in the login send buffer: headers, then pages. */
static void iser_login_fill(struct iser_conn *conn, struct iscsi_login *login,
			    u32 length)
{
	struct iser_buf *buf = &conn->login_tx;
	struct iser_ctrl *ih = buf->segs[0].addr;
	u32 done = 0;
	unsigned int i;

	memset(ih, 0, sizeof(*ih));
	ih->flags = ISCSI_CTRL;
	memcpy((u8 *)buf->segs[0].addr + ISER_HDR_LEN, login->rsp,
	       ISCSI_HDR_LEN);
	buf->sge[0].length = ISER_HEADERS_LEN;
	for (i = 1; i < buf->nsegs; i++) {
		u32 n = min_t(u32, length - done, buf->segs[i].len);

		memcpy(buf->segs[i].addr, login->rsp_buf + done, n);
		buf->sge[i].length = n;
		done += n;
	}
}

/*
 * The largest data segment the target agreed to receive. The core keeps
 * it as TargetRecvDataSegmentLength when the iSER keys were negotiated and
 * as MaxXmitDataSegmentLength (its name for the target's own receive
 * limit, from MaxRecvDataSegmentLength) otherwise.
 */
static u32 iser_max_recv_data(struct iscsit_conn *iconn)
{
	u32 len = iconn->conn_ops->TargetRecvDataSegmentLength;

	return len ? len : iconn->conn_ops->MaxXmitDataSegmentLength;
}

/* What one receive descriptor can hold on this queue pair. */
static u32 iser_recv_data_cap(struct iser_conn *conn)
{
	return min_t(u32, conn->max_rx_pages, ISER_RX_MAX_PAGES) * PAGE_SIZE;
}

/*
 * A receive holds at most ISER_RX_MAX_PAGES pages, and the device may
 * allow fewer scatter entries. The core takes the TargetRecvDataSegmentLength
 * an initiator offers, whatever the target can hold: a normal session that
 * got more is refused at login, before the initiator could send a PDU it
 * was allowed to and see it refused. A discovery session carries only
 * Text and Logout Requests and keeps the cap.
 */
static bool iser_recv_data_fits(struct iser_conn *conn,
				struct iscsit_conn *iconn)
{
	u32 cap = iser_recv_data_cap(conn);
	u32 len = iser_max_recv_data(iconn);

	if (len <= cap || iconn->sess->sess_ops->SessionType)
		return true;
	pr_warn_ratelimited("conn %p from %pISpc: the initiator offered TargetRecvDataSegmentLength %u, above the %u bytes one receive holds on %s (configure it to offer at most that), dropping connection\n",
			    conn, &conn->cm_id->route.addr.dst_addr, len, cap,
			    dev_name(&conn->dev->ib_dev->dev));
	return false;
}

/* The receive ring of a connection without a shared receive queue. */
static int iser_ffp_ring(struct iser_conn *conn, u32 window)
{
	u32 ring = iser_rx_ring_fit(window, conn->rq_size);

	if (ring < iser_rx_ring_min(window))
		pr_warn_ratelimited("session queue depth %u is above the %u commands this connection's receive queue holds (module parameter queue_depth): commands beyond it wait for receive buffers\n",
				    window, ring - ISER_RX_IMMEDIATE_EXTRA);
	conn->rx_batch = iser_rx_repost_batch(ring, window);
	return iser_rx_ring_alloc(conn, ring, conn->max_recv_data);
}

static __iser_fault_point int iser_ffp_alloc(struct iser_conn *conn, struct iscsit_conn *iconn)
{
	struct iscsit_session *sess = iconn->sess;
	u32 tags = sess->se_sess->sess_tag_pool.sb.depth;
	int ret;

	conn->max_recv_data = min(iser_max_recv_data(iconn),
				  iser_recv_data_cap(conn));
	if (!conn->srq) {
		ret = iser_ffp_ring(conn, sess->cmdsn_window);
		if (ret)
			return ret;
	}
	ret = iser_tx_slots_alloc(conn, tags);
	if (ret)
		goto out_ring;
	/* At ErrorRecoveryLevel 2 a command may outlive its connection. */
	ret = iser_dbufs_alloc(conn, tags,
			       conn->discovery || sess->sess_ops->ErrorRecoveryLevel >= 2 ?
			       0 : READ_ONCE(iser_data_cache_kib) / (PAGE_SIZE / SZ_1K));
	if (ret)
		goto out_slots;
	conn->hdr_scratch = kmalloc(ISCSI_HDR_LEN + ISER_MAX_AHS_LEN, GFP_KERNEL);
	if (!conn->hdr_scratch) {
		ret = -ENOMEM;
		goto out_dbufs;
	}
	/*
	 * Receives posted before a failure complete (flushed) only once the
	 * queue pair is drained: the ring stays for iser_conn_release(),
	 * which frees it, the slots, the data pages and the scratch header after
	 * the drain.
	 */
	ret = iser_post_rx_ring(conn);
	if (ret)
		return ret;
	pr_debug("conn %p: full feature with %u receive buffers of %u pages%s, %u send slots\n",
		 conn, conn->rx_count, conn->rx_pages,
		 conn->srq ? " (shared receive queue)" : "", tags);
	return 0;

out_dbufs:
	iser_dbufs_free(conn);
out_slots:
	iser_tx_slots_free(conn);
out_ring:
	iser_rx_ring_free(conn);
	return ret;
}

ALLOW_ERROR_INJECTION(iser_ffp_alloc, ERRNO);

/**
 * iser_put_login_tx() - send a login response
 * @iconn: the iSCSI connection
 * @login: the response the core built
 * @length: bytes of its data segment, padding included
 *
 * The final response of a successful login is only prepared here; it is
 * sent by iser_get_rx_pdu() once the core has made the connection usable
 * and applied the negotiated keys, so that the first command can neither
 * overtake the core's bookkeeping nor meet buffers of the wrong size.
 *
 * Return: 0 or a negative errno.
 */
int iser_put_login_tx(struct iscsit_conn *iconn, struct iscsi_login *login,
		      u32 length)
{
	struct iser_conn *conn = iconn->context;
	unsigned long flags;
	int ret = 0;

	if (length > ISER_LOGIN_MAX_DATA)
		return -EINVAL;
	iser_login_fill(conn, login, length);

	if (login->login_failed)
		return iser_login_send(conn);

	if (login->login_complete) {
		WRITE_ONCE(conn->login_final, true);
		return 0;
	}

	spin_lock_irqsave(&conn->lock, flags);
	if (conn->state >= ISER_CONN_CLOSING) {
		ret = -ENOTCONN;
	} else {
		conn->login_more = true;
		conn->login_asked = jiffies;
	}
	spin_unlock_irqrestore(&conn->lock, flags);
	if (ret)
		return ret;
	iser_login_wait_started(conn);

	ret = iser_post_login_recv(conn);
	if (ret)
		return ret;
	return iser_login_send(conn);
}

/**
 * iser_get_rx_pdu() - the core's receive thread for this connection
 * @iconn: the iSCSI connection
 *
 * Completions deliver every PDU, so the thread only sets up the full
 * feature phase, sends the final login response and then waits until the
 * connection closes or it is signalled.
 */
void iser_get_rx_pdu(struct iscsit_conn *iconn)
{
	struct iser_conn *conn = iconn->context;

	if (!READ_ONCE(conn->login_final))
		return;
	/*
	 * RFC 7145 section 5.1: iSER needs RDMAExtensions=Yes. Without it the
	 * core keeps iSCSI/TCP state per command (a Data-In request for every
	 * READ) that nothing here would free. Discovery sessions carry no
	 * command, and the Linux initiator's leave the key at No.
	 */
	if (!iconn->sess->sess_ops->RDMAExtensions &&
	    !iconn->sess->sess_ops->SessionType) {
		pr_warn_ratelimited("conn %p from %pISpc: the initiator negotiated RDMAExtensions=No, dropping connection\n",
				    conn, &conn->cm_id->route.addr.dst_addr);
		iser_stat_inc(conn, ISER_S_BAD_PDUS);
		iser_conn_fail(conn, "RDMAExtensions=No negotiated");
		return;
	}
	if (!iser_recv_data_fits(conn, iconn)) {
		iser_stat_inc(conn, ISER_S_BAD_PDUS);
		iser_conn_fail(conn, "TargetRecvDataSegmentLength above what a receive holds");
		return;
	}
	/* Before the receives are posted: each PDU then reads it. */
	conn->discovery = iconn->sess->sess_ops->SessionType;
	if (iser_ffp_alloc(conn, iconn)) {
		pr_warn_ratelimited("conn %p: no memory for the full feature phase\n",
				    conn);
		iser_conn_fail(conn, "no memory for the full feature phase");
		return;
	}
	strscpy(conn->initiator, iconn->sess->sess_ops->InitiatorName,
		sizeof(conn->initiator));
	strscpy(conn->target, iconn->sess->sess_ops->TargetName,
		sizeof(conn->target));
	iser_spare_fill(conn);
	if (!iser_conn_set_state(conn, ISER_CONN_FULL))
		return;
	cancel_delayed_work(&conn->login_deadline);
	iser_keepalive_start(conn);
	iser_stats_conn_add(conn);
	if (iser_login_send(conn)) {
		iser_conn_fail(conn, "cannot post the final login response");
		return;
	}
	wait_event_interruptible(conn->state_wq,
				 READ_ONCE(conn->state) >= ISER_CONN_CLOSING);
}
