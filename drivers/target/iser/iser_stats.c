// SPDX-License-Identifier: GPL-2.0
/*
 * iser_target: per-connection and per-device statistics in debugfs.
 *
 * Counters are per CPU, so the data path only ever adds to its own CPU's
 * copy; readers sum them. Layout (documented in Documentation/ABI):
 *
 *   /sys/kernel/debug/iser_target/connections/<initiator>,<portal>,isid<ISID>,cid<N>/stats
 *   /sys/kernel/debug/iser_target/devices/<rdma device>/stats
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "iser.h"

static const char * const iser_stat_names[ISER_S_MAX] = {
	[ISER_S_PDU_LOGIN]	= "pdu_in_login",
	[ISER_S_PDU_SCSI_CMD]	= "pdu_in_scsi_cmd",
	[ISER_S_PDU_DATA_OUT]	= "pdu_in_data_out",
	[ISER_S_PDU_NOP_OUT]	= "pdu_in_nop_out",
	[ISER_S_PDU_TMF]	= "pdu_in_tmf",
	[ISER_S_PDU_TEXT]	= "pdu_in_text",
	[ISER_S_PDU_LOGOUT]	= "pdu_in_logout",
	[ISER_S_PDU_SNACK]	= "pdu_in_snack",
	[ISER_S_BYTES_IN]	= "bytes_in_send",
	[ISER_S_CMD_READ]	= "cmd_read",
	[ISER_S_CMD_WRITE]	= "cmd_write",
	[ISER_S_CMD_NODATA]	= "cmd_nodata",
	[ISER_S_IMM_BYTES]	= "bytes_immediate",
	[ISER_S_IMM_LENT_BYTES]	= "bytes_immediate_in_place",
	[ISER_S_UNSOL_BYTES]	= "bytes_unsolicited",
	[ISER_S_RDMA_WRITE_BYTES] = "bytes_data_in_rdma_write",
	[ISER_S_RDMA_READ_BYTES] = "bytes_data_out_rdma_read",
	[ISER_S_RDMA_WRITE_WRS]	= "wr_rdma_write",
	[ISER_S_RDMA_READ_WRS]	= "wr_rdma_read",
	[ISER_S_PDU_OUT_RSP]	= "pdu_out_scsi_rsp",
	[ISER_S_PDU_OUT_NOP_IN]	= "pdu_out_nop_in",
	[ISER_S_PDU_OUT_TMF]	= "pdu_out_tmf_rsp",
	[ISER_S_PDU_OUT_TEXT]	= "pdu_out_text_rsp",
	[ISER_S_PDU_OUT_LOGOUT]	= "pdu_out_logout_rsp",
	[ISER_S_PDU_OUT_REJECT]	= "pdu_out_reject",
	[ISER_S_PDU_OUT_LOGIN]	= "pdu_out_login_rsp",
	[ISER_S_SQ_STALLS]	= "sq_full_stalls",
	[ISER_S_WC_FLUSHED]	= "wc_flushed",
	[ISER_S_WC_ERRORS]	= "wc_errors",
	[ISER_S_BAD_PDUS]	= "bad_pdus",
	[ISER_S_KEEPALIVE_PROBES] = "keepalive_probes",
	[ISER_S_SEND_UNSIGNALLED] = "send_unsignalled",
	[ISER_S_SQ_MARKERS]	= "sq_completion_markers",
	[ISER_S_DATA_PAGES_REUSED] = "data_pages_reused",
	[ISER_S_DATA_PAGES_NEW]	= "data_pages_allocated",
};

static struct dentry *iser_debugfs_root;
static struct dentry *iser_debugfs_conns;
static struct dentry *iser_debugfs_devs;

/**
 * iser_stats_sum() - add up one set of per-CPU counters
 * @pcpu: the per-CPU counters
 * @sum: where to add them
 */
void iser_stats_sum(struct iser_stats __percpu *pcpu, struct iser_stats *sum)
{
	int cpu, i;

	for_each_possible_cpu(cpu) {
		struct iser_stats *s = per_cpu_ptr(pcpu, cpu);

		for (i = 0; i < ISER_S_MAX; i++)
			sum->v[i] += READ_ONCE(s->v[i]);
		for (i = 0; i < ISER_WC_STATUSES; i++)
			sum->wc[i] += READ_ONCE(s->wc[i]);
	}
}

static void iser_stats_print(struct seq_file *m, const struct iser_stats *s)
{
	int i;

	for (i = 0; i < ISER_S_MAX; i++)
		seq_printf(m, "%s %llu\n", iser_stat_names[i], s->v[i]);
	for (i = 0; i < ISER_WC_STATUSES; i++)
		if (s->wc[i])
			seq_printf(m, "wc_status \"%s\" %llu\n",
				   ib_wc_status_msg(i), s->wc[i]);
}

static int iser_conn_stats_show(struct seq_file *m, void *v)
{
	struct iser_conn *conn = m->private;
	struct iser_stats sum = {};

	iser_stats_sum(conn->stats, &sum);
	seq_printf(m, "state %s\n", iser_conn_state_name(READ_ONCE(conn->state)));
	seq_printf(m, "initiator %s\n", conn->initiator);
	seq_printf(m, "target %s\n", conn->target);
	seq_printf(m, "peer %pISpc\n", &conn->cm_id->route.addr.dst_addr);
	seq_printf(m, "local %pISpc\n", &conn->cm_id->route.addr.src_addr);
	seq_printf(m, "device %s\n", dev_name(&conn->dev->ib_dev->dev));
	seq_printf(m, "cid %u\n", conn->cid);
	seq_printf(m, "send_with_invalidate %d\n", conn->use_sie);
	seq_printf(m, "max_recv_data %u\n", conn->max_recv_data);
	seq_printf(m, "rx_posted %u\n", conn->rx_count);
	seq_printf(m, "rx_pages %u\n", conn->rx_pages);
	seq_printf(m, "rx_repost_batch %u\n", conn->srq ? 0 : conn->rx_batch);
	seq_printf(m, "shared_rx %d\n", !!conn->srq);
	seq_printf(m, "outstanding %d\n", atomic_read(&conn->outstanding));
	seq_printf(m, "outstanding_max %d\n", READ_ONCE(conn->outstanding_max));
	seq_printf(m, "data_pages_kept %u\n", READ_ONCE(conn->dpool_count));
	seq_printf(m, "close_reason %s\n", conn->close_reason ?: "-");
	iser_stats_print(m, &sum);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(iser_conn_stats);

static int iser_dev_stats_show(struct seq_file *m, void *v)
{
	struct iser_device *dev = m->private;
	struct iser_stats sum = {};
	struct ib_srq *srq;

	iser_device_stats(dev, &sum);
	seq_printf(m, "device %s\n", dev_name(&dev->ib_dev->dev));
	/* Pairs with iser_srq_create(): the count is set once it shows. */
	srq = smp_load_acquire(&dev->srq);
	seq_printf(m, "srq_buffers %u\n", srq ? dev->srq_count : 0);
	iser_stats_print(m, &sum);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(iser_dev_stats);

/**
 * iser_stats_conn_add() - publish a connection once it is logged in
 * @conn: the connection; its initiator and target names are set
 */
void iser_stats_conn_add(struct iser_conn *conn)
{
	static atomic_t serial = ATOMIC_INIT(0);
	char name[ISCSI_IQN_LEN + 96];
	int len;

	/* The entry outlives the iSCSI connection: see iser_stats_conn_del(). */
	conn->cid = conn->iconn->cid;
	if (!iser_debugfs_conns)
		return;
	/* The ISID tells apart sessions of one initiator on one portal. */
	len = snprintf(name, sizeof(name), "%s,%pISpc,isid%6phN,cid%u",
		       conn->initiator, &conn->cm_id->route.addr.src_addr,
		       conn->iconn->sess->isid, conn->iconn->cid);
	/* debugfs names may not contain '/': IQNs never do, but be sure. */
	strreplace(name, '/', '_');
	conn->debugfs = debugfs_create_dir(name, iser_debugfs_conns);
	if (IS_ERR(conn->debugfs)) {
		/* A closing twin still holds the name: add a serial number. */
		snprintf(name + len, sizeof(name) - len, ",%d",
			 atomic_inc_return(&serial));
		conn->debugfs = debugfs_create_dir(name, iser_debugfs_conns);
	}
	debugfs_create_file("stats", 0444, conn->debugfs, conn,
			    &iser_conn_stats_fops);
}

/**
 * iser_stats_conn_del() - withdraw a connection's entry
 * @conn: the connection
 *
 * Called when the connection is freed, not when its teardown starts, so
 * that a teardown which never finishes stays in the list, in state
 * "closed" with its outstanding commands, for an administrator or a test
 * to see. Waits for readers of the entry to finish.
 */
void iser_stats_conn_del(struct iser_conn *conn)
{
	debugfs_remove_recursive(conn->debugfs);
	conn->debugfs = NULL;
}

/**
 * iser_stats_dev_add() - publish a device's totals
 * @dev: the device
 */
void iser_stats_dev_add(struct iser_device *dev)
{
	if (!iser_debugfs_devs)
		return;
	dev->debugfs = debugfs_create_dir(dev_name(&dev->ib_dev->dev),
					  iser_debugfs_devs);
	debugfs_create_file("stats", 0444, dev->debugfs, dev,
			    &iser_dev_stats_fops);
}

/**
 * iser_stats_dev_del() - withdraw a device's entry
 * @dev: the device
 */
void iser_stats_dev_del(struct iser_device *dev)
{
	debugfs_remove_recursive(dev->debugfs);
	dev->debugfs = NULL;
}

/**
 * iser_stats_init() - create the debugfs directories
 *
 * Statistics are optional: without debugfs the module works the same.
 */
void iser_stats_init(void)
{
	iser_debugfs_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	if (IS_ERR_OR_NULL(iser_debugfs_root)) {
		iser_debugfs_root = NULL;
		return;
	}
	iser_debugfs_conns = debugfs_create_dir("connections", iser_debugfs_root);
	iser_debugfs_devs = debugfs_create_dir("devices", iser_debugfs_root);
}

/**
 * iser_stats_exit() - remove the debugfs directories
 */
void iser_stats_exit(void)
{
	debugfs_remove_recursive(iser_debugfs_root);
	iser_debugfs_root = NULL;
	iser_debugfs_conns = NULL;
	iser_debugfs_devs = NULL;
}
