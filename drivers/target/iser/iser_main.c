// SPDX-License-Identifier: GPL-2.0
/*
 * iser_target: module entry points, parameters, the iscsit_transport
 * table, and the RDMA devices the connections share.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>

#include "iser.h"

#define CREATE_TRACE_POINTS
#include "iser_trace.h"

unsigned int iser_max_io_bytes = ISER_DEF_MAX_IO_BYTES;
unsigned int iser_queue_depth = 128;
struct workqueue_struct *iser_wq;
DEFINE_STATIC_KEY_TRUE(iser_stats_key);
static bool iser_stats_param = true;
struct kmem_cache *iser_conn_cache;
struct kmem_cache *iser_hdr_cache;
struct kmem_cache *iser_tx_cache;

/*
 * Orders iser_device_get() against the start of a device's removal, and
 * guards the lazy set-up of its protection domain.
 */
static DEFINE_MUTEX(iser_dev_lock);
static struct ib_client iser_ib_client;

/**
 * struct iser_uint_param - an unsigned module parameter with a range
 * @val: where the value lives (read elsewhere with READ_ONCE())
 * @min: smallest value accepted
 * @max: largest value accepted
 * @step: values must be multiples of this; 0: any value in the range
 */
struct iser_uint_param {
	unsigned int *val;
	unsigned int min;
	unsigned int max;
	unsigned int step;
};

/**
 * iser_uint_param_set() - set a &struct iser_uint_param from load or sysfs
 * @val: the text given
 * @kp: the parameter; kp->arg is its &struct iser_uint_param
 *
 * A value outside the range, or not a multiple of its step, is refused with
 * a log line that names it, and the parameter keeps the value it had.
 *
 * Return: 0, or -EINVAL.
 */
static int iser_uint_param_set(const char *val, const struct kernel_param *kp)
{
	const struct iser_uint_param *p = kp->arg;
	unsigned int v;
	int ret;

	ret = kstrtouint(val, 0, &v);
	if (ret)
		return ret;
	if (!iser_uint_in_range(v, p->min, p->max, p->step)) {
		if (p->step > 1)
			pr_err("%s=%u refused: need a multiple of %u from %u to %u\n",
			       kp->name, v, p->step, p->min, p->max);
		else
			pr_err("%s=%u refused: need %u to %u\n", kp->name, v,
			       p->min, p->max);
		return -EINVAL;
	}
	WRITE_ONCE(*p->val, v);
	return 0;
}

/**
 * iser_uint_param_get() - show a &struct iser_uint_param in sysfs
 * @buf: the page to fill
 * @kp: the parameter; kp->arg is its &struct iser_uint_param
 *
 * Return: the length written.
 */
static int iser_uint_param_get(char *buf, const struct kernel_param *kp)
{
	const struct iser_uint_param *p = kp->arg;

	return sysfs_emit(buf, "%u\n", READ_ONCE(*p->val));
}

static const struct kernel_param_ops iser_uint_param_ops = {
	.set = iser_uint_param_set,
	.get = iser_uint_param_get,
};

static struct iser_uint_param iser_max_io_param = {
	.val = &iser_max_io_bytes,
	.min = ISER_MIN_MAX_IO_BYTES,
	.max = ISER_MAX_MAX_IO_BYTES,
	.step = ISER_MAX_IO_STEP,
};

module_param_cb(max_io_bytes, &iser_uint_param_ops, &iser_max_io_param, 0444);
MODULE_PARM_DESC(max_io_bytes,
		 "Largest data transfer per SCSI command in bytes (64 KiB to 16 MiB, default 1 MiB)");

static struct iser_uint_param iser_queue_depth_param = {
	.val = &iser_queue_depth,
	.min = ISER_MIN_QUEUE_DEPTH,
	.max = ISER_MAX_QUEUE_DEPTH,
};

module_param_cb(queue_depth, &iser_uint_param_ops, &iser_queue_depth_param, 0644);
MODULE_PARM_DESC(queue_depth,
		 "Commands in flight per connection the queues are sized for (16 to 4096, default 128); set it at least to the TPG's default_cmdsn_depth");

/*
 * LIO serves the logins of a portal group one at a time, so an initiator
 * that goes quiet in the middle of its login holds up every login behind
 * it until the login timeout. Waiting longer than this for a login request
 * while others queue is taken for such a stall.
 */
unsigned int iser_login_stall_ms = 250;
module_param_named(login_stall_ms, iser_login_stall_ms, uint, 0644);
MODULE_PARM_DESC(login_stall_ms,
		 "Drop a login whose initiator stays silent this many milliseconds while other logins wait on the portal (default 250; 0: only the login timeout applies)");

/*
 * LIO never pings an iSER connection (its post-login handler leaves NOP-In
 * to a FIXME), so without a probe of ours a target with nothing in flight
 * to an initiator whose host vanished holds its connection for good.
 */
unsigned int iser_keepalive_secs = 15;

static struct iser_uint_param iser_keepalive_param = {
	.val = &iser_keepalive_secs,
	.min = 0,
	.max = ISER_MAX_KEEPALIVE_SECS,
};

module_param_cb(keepalive_secs, &iser_uint_param_ops, &iser_keepalive_param, 0644);
MODULE_PARM_DESC(keepalive_secs,
		 "Probe a logged-in connection that received nothing for this many seconds with a zero-length RDMA WRITE; an initiator whose adapter does not answer is dropped (0: off, at most 3600, default 15)");

/*
 * Off by default until it is measured to cost no workload anything: each
 * connection then keeps a receive ring sized for its queue depth.
 */
bool iser_use_srq;
module_param_named(use_srq, iser_use_srq, bool, 0644);
MODULE_PARM_DESC(use_srq,
		 "New connections take their receives from one shared receive queue per RDMA device instead of a ring each: an idle connection then holds no receive buffer; sessions must keep TargetRecvDataSegmentLength at its default 8192 (default off)");

unsigned int iser_srq_size = 1024;

static struct iser_uint_param iser_srq_size_param = {
	.val = &iser_srq_size,
	.min = ISER_MIN_SRQ_SIZE,
	.max = ISER_MAX_SRQ_SIZE,
};

module_param_cb(srq_size, &iser_uint_param_ops, &iser_srq_size_param, 0444);
MODULE_PARM_DESC(srq_size,
		 "Receive buffers of 8 KiB in each device's shared receive queue (use_srq; 64 to 16384, default 1024)");

/*
 * Enough for the 8 unsignalled responses whose commands complete together
 * (ISER_SQ_SIGNAL_EVERY) at 128 KiB each: at most 1 MiB per connection.
 */
unsigned int iser_data_cache_kib = 1024;
module_param_named(data_cache_kib, iser_data_cache_kib, uint, 0644);
MODULE_PARM_DESC(data_cache_kib,
		 "KiB of data pages a connection keeps for its next READs and WRITEs instead of freeing them, so that they need no fresh, cleared pages (taken at login; 0: the target core allocates every command's pages; default 1024)");

module_param_named(stats, iser_stats_param, bool, 0444);
MODULE_PARM_DESC(stats,
		 "Count per-connection statistics (default on; off only to measure what counting costs: every counter then reads 0)");

static void iser_device_release(struct kref *ref)
{
	struct iser_device *dev = container_of(ref, struct iser_device, ref);

	complete(&dev->unused);
}

/**
 * iser_device_get() - take a reference to a device for a new connection
 * @ib_dev: the device the connection arrived on
 *
 * The first connection on a device allocates its protection domain, and
 * the first one while use_srq is set its shared receive queue; a device
 * that cannot have one is told once, and its connections keep rings (as
 * does one whose attempt failed otherwise; the next connection tries
 * again).
 *
 * Return: the device with a reference taken, ERR_PTR(-ENODEV) if it is
 * being removed (or was never added), or another ERR_PTR.
 */
__iser_fault_point struct iser_device *iser_device_get(struct ib_device *ib_dev)
{
	struct iser_device *dev;
	struct ib_pd *pd;
	int ret;

	mutex_lock(&iser_dev_lock);
	dev = ib_get_client_data(ib_dev, &iser_ib_client);
	if (!dev) {
		dev = ERR_PTR(-ENODEV);
		goto out_unlock;
	}
	if (!dev->pd) {
		pd = ib_alloc_pd(ib_dev, 0);
		if (IS_ERR(pd)) {
			dev = ERR_CAST(pd);
			goto out_unlock;
		}
		dev->pd = pd;
		iser_stats_dev_add(dev);
		pr_debug("device %s: max_qp_wr %d max_send_sge %d max_recv_sge %d\n",
			 dev_name(&ib_dev->dev), ib_dev->attrs.max_qp_wr,
			 ib_dev->attrs.max_send_sge, ib_dev->attrs.max_recv_sge);
	}
	if (READ_ONCE(iser_use_srq) && !dev->srq && !dev->srq_unsupported) {
		ret = iser_srq_create(dev);
		if (ret == -EOPNOTSUPP) {
			dev->srq_unsupported = true;
			pr_warn("device %s has no shared receive queue for 8 KiB receives: its connections keep a receive ring each\n",
				dev_name(&ib_dev->dev));
		} else if (ret) {
			pr_warn_ratelimited("device %s: no shared receive queue (error %d): this connection keeps a receive ring\n",
					    dev_name(&ib_dev->dev), ret);
		}
	}
	kref_get(&dev->ref);
out_unlock:
	mutex_unlock(&iser_dev_lock);
	return dev;
}

ALLOW_ERROR_INJECTION(iser_device_get, ERRNO);

/**
 * iser_device_put() - drop a reference taken by iser_device_get()
 * @dev: the device; after the last connection's put it may be freed at once
 */
void iser_device_put(struct iser_device *dev)
{
	kref_put(&dev->ref, iser_device_release);
}

/**
 * iser_ib_add() - the ib_client's add: a device appeared, or the module
 *	loaded while it was there
 * @ib_dev: the device
 *
 * Return: 0, or -ENOMEM: the core then leaves the device to other clients.
 */
static int iser_ib_add(struct ib_device *ib_dev)
{
	struct iser_device *dev;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	dev->ib_dev = ib_dev;
	kref_init(&dev->ref);
	init_completion(&dev->unused);
	mutex_init(&dev->conn_lock);
	INIT_LIST_HEAD(&dev->conns);
	dev->sie_capable = !!(ib_dev->attrs.device_cap_flags &
			      IB_DEVICE_MEM_MGT_EXTENSIONS);
	ib_set_client_data(ib_dev, &iser_ib_client, dev);
	iser_np_device_added();
	return 0;
}

/**
 * iser_ib_remove() - the ib_client's remove: a device goes away, or the
 *	module unloads
 * @ib_dev: the device
 * @client_data: its struct iser_device
 *
 * Clients are removed in the reverse order of registration, so rdma_cm,
 * registered before us, still delivers connect requests on the device
 * after this returns: clearing the client data first refuses them all,
 * now and then. Every connection on the device is failed, and the device
 * is freed once the last of them is released.
 */
static void iser_ib_remove(struct ib_device *ib_dev, void *client_data)
{
	struct iser_device *dev = client_data;

	mutex_lock(&iser_dev_lock);
	ib_set_client_data(ib_dev, &iser_ib_client, NULL);
	mutex_unlock(&iser_dev_lock);

	iser_device_removed(dev);
	iser_device_put(dev);
	wait_for_completion(&dev->unused);
	iser_srq_destroy(dev);
	if (dev->pd) {
		iser_stats_dev_del(dev);
		ib_dealloc_pd(dev->pd);
	}
	mutex_destroy(&dev->conn_lock);
	kfree(dev);
}

static struct ib_client iser_ib_client = {
	.name	= "iser_target",
	.add	= iser_ib_add,
	.remove	= iser_ib_remove,
};

static enum target_prot_op iser_get_sup_prot_ops(struct iscsit_conn *iconn)
{
	/*
	 * Protection information needs signature offload, which this
	 * transport does not drive: the core then refuses or strips PI
	 * instead of the data silently losing it.
	 */
	if (iconn->tpg->tpg_attrib.t10_pi)
		pr_warn_ratelimited("T10-PI requested on %s but not offered by iSER; serving without PI\n",
				    iconn->tpg->tpg_tiqn->tiqn);
	return TARGET_PROT_NORMAL;
}

static struct iscsit_transport iser_transport = {
	.name			= "IB/iSER",
	.transport_type		= ISCSI_INFINIBAND,
	.rdma_shutdown		= true,
	.priv_size		= sizeof(struct iser_cmd),
	.owner			= THIS_MODULE,
	.iscsit_setup_np	= iser_setup_np,
	.iscsit_accept_np	= iser_accept_np,
	.iscsit_free_np		= iser_free_np,
	.iscsit_wait_conn	= iser_wait_conn,
	.iscsit_free_conn	= iser_free_conn,
	.iscsit_get_login_rx	= iser_get_login_rx,
	.iscsit_put_login_tx	= iser_put_login_tx,
	.iscsit_immediate_queue	= iser_immediate_queue,
	.iscsit_response_queue	= iser_response_queue,
	.iscsit_get_dataout	= iser_get_dataout,
	.iscsit_queue_data_in	= iser_queue_data_in,
	.iscsit_queue_status	= iser_queue_status,
	.iscsit_aborted_task	= iser_aborted_task,
	.iscsit_unmap_cmd	= iser_unmap_cmd,
	.iscsit_get_rx_pdu	= iser_get_rx_pdu,
	.iscsit_get_sup_prot_ops = iser_get_sup_prot_ops,
};

static int __init iser_init(void)
{
	struct kobject *other;
	int ret;

	/*
	 * The core uses the first iSER transport registered, and the only
	 * other one is the kernel's ib_isert: refuse to sit unused behind it.
	 * Our own module object lives in the same kset as every module, and a
	 * module's object is there from before its init until after its exit.
	 * The core offers no locked look at its transport list, so one case
	 * escapes: ib_isert loading at the same moment, its object added after
	 * this look and its init registering before ours. An ib_isert loaded
	 * later registers behind us and is never used.
	 */
	other = kset_find_obj(THIS_MODULE->mkobj.kobj.kset, "ib_isert");
	if (other) {
		kobject_put(other);
		pr_err("the kernel's ib_isert is loaded and would keep serving iSER; unload it first (rmmod ib_isert)\n");
		return -EBUSY;
	}

	if (!iser_stats_param)
		static_branch_disable(&iser_stats_key);

	ret = -ENOMEM;
	iser_conn_cache = KMEM_CACHE(iser_conn, 0);
	if (!iser_conn_cache)
		goto out;
	iser_hdr_cache = kmem_cache_create("iser_hdr", ISER_RX_HDR_SLOT, 0,
					   SLAB_HWCACHE_ALIGN, NULL);
	if (!iser_hdr_cache)
		goto out_conn_cache;
	iser_tx_cache = kmem_cache_create("iser_tx_slot", ISER_TX_SLOT, 0,
					  SLAB_HWCACHE_ALIGN, NULL);
	if (!iser_tx_cache)
		goto out_hdr_cache;
	iser_wq = alloc_workqueue("iser_target", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!iser_wq)
		goto out_tx_cache;

	iser_stats_init();
	ret = ib_register_client(&iser_ib_client);
	if (ret)
		goto out_stats;

	iscsit_register_transport(&iser_transport);
	pr_info("iSER target transport loaded, max_io_bytes=%u\n",
		iser_max_io_bytes);
	return 0;

out_stats:
	iser_stats_exit();
	destroy_workqueue(iser_wq);
out_tx_cache:
	kmem_cache_destroy(iser_tx_cache);
out_hdr_cache:
	kmem_cache_destroy(iser_hdr_cache);
out_conn_cache:
	kmem_cache_destroy(iser_conn_cache);
out:
	return ret;
}

static void __exit iser_exit(void)
{
	iscsit_unregister_transport(&iser_transport);
	ib_unregister_client(&iser_ib_client);
	destroy_workqueue(iser_wq);
	iser_stats_exit();
	kmem_cache_destroy(iser_tx_cache);
	kmem_cache_destroy(iser_hdr_cache);
	kmem_cache_destroy(iser_conn_cache);
	pr_info("iSER target transport unloaded\n");
}

module_init(iser_init);
module_exit(iser_exit);

MODULE_DESCRIPTION("iSER (RFC 7145) target transport for the LIO iSCSI target");
MODULE_LICENSE("GPL");
