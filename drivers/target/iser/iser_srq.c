// SPDX-License-Identifier: GPL-2.0
/*
 * iser_target: the shared receive queue of a device (module parameter
 * use_srq). Every connection on the device that uses it takes its
 * receives, login requests included, from one pool of buffers instead of
 * a ring of its own sized for its queue depth, so an idle connection
 * holds no receive buffer. A buffer is reposted as soon as its completion
 * has been handled (the receive path copies what it keeps), so no
 * connection can hold buffers the others need.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/slab.h>

#include "iser.h"

static int iser_srq_post_to(struct iser_device *dev, struct ib_srq *srq,
			    struct iser_buf *buf)
{
	struct ib_recv_wr wr = {
		.wr_cqe = &buf->cqe,
		.sg_list = buf->sge,
		.num_sge = buf->nsegs,
	};

	iser_rx_buf_for_device(dev, buf);
	return ib_post_srq_recv(srq, &wr, NULL);
}

/**
 * iser_srq_post() - post one buffer to the device's shared receive queue
 * @dev: the device
 * @buf: one of its @srq_bufs
 *
 * Return: 0 or the error of ib_post_srq_recv().
 */
int iser_srq_post(struct iser_device *dev, struct iser_buf *buf)
{
	return iser_srq_post_to(dev, dev->srq, buf);
}

static void iser_srq_free_bufs(struct iser_device *dev, u32 count)
{
	u32 i;

	for (i = 0; i < count; i++)
		iser_buf_free(dev, &dev->srq_bufs[i], DMA_FROM_DEVICE);
	kvfree(dev->srq_bufs);
	dev->srq_bufs = NULL;
}

static void iser_srq_event(struct ib_event *ev, void *ctx)
{
	struct iser_device *dev = ctx;

	if (ev->event == IB_EVENT_SRQ_ERR)
		pr_err_ratelimited("device %s: shared receive queue error: its connections stop receiving\n",
				   dev_name(&dev->ib_dev->dev));
	else
		pr_debug("device %s: SRQ event %s\n", dev_name(&dev->ib_dev->dev),
			 ib_event_msg(ev->event));
}

/**
 * iser_srq_create() - make the device's shared receive queue and fill it
 * @dev: the device, with its protection domain; called under
 *	iser_dev_lock, once @srq is still NULL
 *
 * Each buffer holds a login request, which is also iSER's default
 * TargetRecvDataSegmentLength (RFC 7145 section 6.3): a session that
 * negotiates more is refused at login, as on a device with fewer scatter
 * entries. @srq is published last, so a connection that sees it sees the
 * buffers posted and @srq_pages set.
 *
 * Return: 0, -EOPNOTSUPP when the device has no shared receive queue or
 * too few scatter entries for one, or another negative errno.
 */
__iser_fault_point int iser_srq_create(struct iser_device *dev)
{
	struct ib_device_attr *a = &dev->ib_dev->attrs;
	struct ib_srq_init_attr init = {};
	u32 pages = ISER_LOGIN_PAGES, count, i;
	struct ib_srq *srq;
	int ret;

	if (!a->max_srq || a->max_srq_sge < 1 + pages)
		return -EOPNOTSUPP;
	count = min_t(u32, READ_ONCE(iser_srq_size), a->max_srq_wr);
	dev->srq_bufs = kvcalloc(count, sizeof(*dev->srq_bufs), GFP_KERNEL);
	if (!dev->srq_bufs)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		ret = iser_buf_alloc(dev, &dev->srq_bufs[i], ISER_RX_HDR_SLOT,
				     pages, false, DMA_FROM_DEVICE);
		if (ret)
			goto out_bufs;
		dev->srq_bufs[i].cqe.done = iser_srq_recv_done;
	}

	init.event_handler = iser_srq_event;
	init.srq_context = dev;
	init.srq_type = IB_SRQT_BASIC;
	init.attr.max_wr = count;
	init.attr.max_sge = 1 + pages;
	srq = ib_create_srq(dev->pd, &init);
	if (IS_ERR(srq)) {
		ret = PTR_ERR(srq);
		goto out_bufs;
	}
	for (i = 0; i < count; i++) {
		ret = iser_srq_post_to(dev, srq, &dev->srq_bufs[i]);
		if (ret)
			goto out_srq;
	}
	dev->srq_count = count;
	dev->srq_pages = pages;
	/* Pairs with the readers' smp_load_acquire(): all of the above first. */
	smp_store_release(&dev->srq, srq);
	pr_info("device %s: shared receive queue of %u buffers of %lu bytes\n",
		dev_name(&dev->ib_dev->dev), count, pages * PAGE_SIZE);
	return 0;

out_srq:
	ib_destroy_srq(srq);
	i = count;
out_bufs:
	iser_srq_free_bufs(dev, i);
	return ret;
}

ALLOW_ERROR_INJECTION(iser_srq_create, ERRNO);

/**
 * iser_srq_destroy() - free the shared receive queue, if any
 * @dev: the device; every queue pair that used the queue is destroyed
 */
void iser_srq_destroy(struct iser_device *dev)
{
	if (!dev->srq)
		return;
	ib_destroy_srq(dev->srq);
	dev->srq = NULL;
	iser_srq_free_bufs(dev, dev->srq_count);
	dev->srq_count = 0;
}
