// SPDX-License-Identifier: GPL-2.0
/*
 * iser_target: DMA buffers of a connection. Receive and login buffers are
 * a small header slot followed by whole pages, each mapped on its own, so
 * no buffer ever needs a high-order allocation and the receive ring is
 * sized from what the login negotiated.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>

#include "iser.h"

/**
 * iser_rx_buf_sync() - sync the DMA ranges of the first @len bytes of @buf
 * @dev: the device it is mapped for
 * @buf: a receive or login request buffer
 * @len: bytes to sync: only those a receive wrote change hands, so that a
 *	command without data syncs its header slot alone
 * @for_device: for the device, or else for the CPU
 *
 * Called by iser_rx_buf_for_cpu() and iser_rx_buf_for_device() on a
 * device that DMA-maps.
 */
void iser_rx_buf_sync(struct iser_device *dev, struct iser_buf *buf, u32 len,
		      bool for_device)
{
	unsigned int i;
	u32 n;

	for (i = 0; i < buf->nsegs && len; i++) {
		n = min(len, buf->segs[i].len);
		if (for_device)
			ib_dma_sync_single_for_device(dev->ib_dev, buf->sge[i].addr,
						      n, DMA_FROM_DEVICE);
		else
			ib_dma_sync_single_for_cpu(dev->ib_dev, buf->sge[i].addr,
						   n, DMA_FROM_DEVICE);
		len -= n;
	}
}

/*
 * Bytes mapped for piece @i: a page, or the header slot, all of it when its
 * tail is used.
 */
static u32 iser_buf_mapped(const struct iser_buf *buf, unsigned int i)
{
	if (i)
		return PAGE_SIZE;
	return buf->tail ? ISER_RX_HDR_SLOT : buf->segs[0].len;
}

/**
 * iser_buf_free() - unmap and free what iser_buf_alloc() set up
 * @dev: the device the buffer is mapped for
 * @buf: the buffer; pieces never allocated are skipped
 * @dir: the mapping direction used at allocation
 */
void iser_buf_free(struct iser_device *dev, struct iser_buf *buf,
		   enum dma_data_direction dir)
{
	struct ib_device *ibd = dev->ib_dev;
	unsigned int i;

	for (i = 0; i < buf->nsegs; i++) {
		/* The tail lies within the slot: freed with it. */
		if (!buf->segs[i].addr || (buf->tail && i == buf->nsegs - 1))
			continue;
		ib_dma_unmap_single(ibd, buf->sge[i].addr, iser_buf_mapped(buf, i),
				    dir);
		if (i)
			free_page((unsigned long)buf->segs[i].addr);
		else
			kmem_cache_free(iser_hdr_cache, buf->segs[0].addr);
		buf->segs[i].addr = NULL;
	}
	buf->nsegs = 0;
	buf->size = 0;
	buf->tail = false;
}

/**
 * iser_buf_alloc() - allocate and map a segmented buffer
 * @dev: the device to map it for
 * @buf: the buffer to set up
 * @hdr_len: bytes of the leading header slot
 * @npages: whole pages that follow it
 * @tail: the slot's last ISER_RX_HDR_SLOT - @hdr_len bytes follow the
 *	pages, as one more piece (a receive buffer whose data segment
 *	begins on a page)
 * @dir: DMA_FROM_DEVICE for receive, DMA_TO_DEVICE for send
 *
 * Return: 0 or -ENOMEM; on failure nothing stays allocated.
 */
__iser_fault_point int iser_buf_alloc(struct iser_device *dev, struct iser_buf *buf,
				      u32 hdr_len, u32 npages, bool tail,
				      enum dma_data_direction dir)
{
	struct ib_device *ibd = dev->ib_dev;
	unsigned int i;

	tail = tail && hdr_len < ISER_RX_HDR_SLOT;
	if (WARN_ON_ONCE(npages + 1 + tail > ISER_RX_MAX_SGE ||
			 hdr_len > ISER_RX_HDR_SLOT))
		return -EINVAL;

	memset(buf->segs, 0, sizeof(buf->segs));
	buf->nsegs = npages + 1 + tail;
	buf->size = 0;
	buf->tail = tail;
	for (i = 0; i <= npages; i++) {
		u32 len = i ? PAGE_SIZE : hdr_len;
		void *p;
		u64 dma;

		p = i ? (void *)get_zeroed_page(GFP_KERNEL) :
			kmem_cache_zalloc(iser_hdr_cache, GFP_KERNEL);
		if (!p)
			goto out_free;
		buf->segs[i].len = len;
		dma = ib_dma_map_single(ibd, p, iser_buf_mapped(buf, i), dir);
		if (ib_dma_mapping_error(ibd, dma)) {
			if (i)
				free_page((unsigned long)p);
			else
				kmem_cache_free(iser_hdr_cache, p);
			goto out_free;
		}
		buf->segs[i].addr = p;
		buf->sge[i].addr = dma;
		buf->sge[i].length = len;
		buf->sge[i].lkey = dev->pd->local_dma_lkey;
		buf->size += len;
	}
	if (tail) {
		/* Within the slot's mapping: nothing more to map or free. */
		buf->segs[i].addr = (u8 *)buf->segs[0].addr + hdr_len;
		buf->segs[i].len = ISER_RX_HDR_SLOT - hdr_len;
		buf->sge[i].addr = buf->sge[0].addr + hdr_len;
		buf->sge[i].length = buf->segs[i].len;
		buf->sge[i].lkey = dev->pd->local_dma_lkey;
		buf->size += buf->segs[i].len;
	}
	/* Zeroed by the CPU: the first post hands all of it to the device. */
	buf->cpu_len = buf->size;
	return 0;

out_free:
	iser_buf_free(dev, buf, dir);
	return -ENOMEM;
}

ALLOW_ERROR_INJECTION(iser_buf_alloc, ERRNO);

/**
 * iser_rx_ring_free() - free the full-feature receive ring
 * @conn: the connection; the queue pair must be drained already
 */
void iser_rx_ring_free(struct iser_conn *conn)
{
	u32 i;

	if (!conn->rx)
		return;
	for (i = 0; i < conn->rx_count; i++)
		iser_buf_free(conn->dev, &conn->rx[i], DMA_FROM_DEVICE);
	kvfree(conn->rx);
	kvfree(conn->rx_sgl);
	conn->rx = NULL;
	conn->rx_sgl = NULL;
	conn->rx_count = 0;
}

/*
 * The scatterlist a WRITE's immediate data is lent as, one whole page per
 * entry; iser_rx_lend() trims the last one to the data and moves the end
 * mark.
 */
static void iser_rx_sgl_init(struct iser_buf *buf, struct scatterlist *sgl,
			     u32 pages)
{
	u32 i;

	sg_init_table(sgl, pages);
	for (i = 0; i < pages; i++)
		sg_set_page(&sgl[i], virt_to_page(buf->segs[1 + i].addr),
			    PAGE_SIZE, 0);
	buf->sgl = sgl;
	buf->sgl_end = pages;
}

/**
 * iser_rx_ring_alloc() - allocate the full-feature receive ring
 * @conn: the connection
 * @count: descriptors
 * @max_data: largest data segment the target accepts
 *
 * Where the queue pair takes one scatter entry more than the pages, a
 * descriptor receives the iSER header and BHS alone in its header slot:
 * the data segment then starts on a page, and a WRITE's immediate data
 * can be lent to the target core instead of copied (iser_rx_lend()).
 *
 * Return: 0 or a negative errno; on failure nothing stays allocated.
 */
__iser_fault_point int iser_rx_ring_alloc(struct iser_conn *conn, u32 count, u32 max_data)
{
	int ret = -ENOMEM;
	bool tail;
	u32 i;

	conn->rx_pages = iser_rx_data_pages(max_data, PAGE_SIZE);
	tail = conn->rx_pages + 1 <= conn->max_rx_pages;
	conn->rx = kvcalloc(count, sizeof(*conn->rx), GFP_KERNEL);
	if (!conn->rx)
		return -ENOMEM;
	conn->rx_count = count;
	if (tail) {
		conn->rx_sgl = kvcalloc(count * conn->rx_pages,
					sizeof(*conn->rx_sgl), GFP_KERNEL);
		if (!conn->rx_sgl)
			goto out_free;
	}
	for (i = 0; i < count; i++) {
		struct iser_buf *buf = &conn->rx[i];

		ret = iser_buf_alloc(conn->dev, buf,
				     tail ? ISER_HEADERS_LEN : ISER_RX_HDR_SLOT,
				     conn->rx_pages, tail, DMA_FROM_DEVICE);
		if (ret)
			goto out_free;
		if (tail)
			iser_rx_sgl_init(buf, &conn->rx_sgl[i * conn->rx_pages],
					 conn->rx_pages);
	}
	return 0;

out_free:
	iser_rx_ring_free(conn);
	return ret;
}

ALLOW_ERROR_INJECTION(iser_rx_ring_alloc, ERRNO);

/**
 * iser_tx_slots_free() - free the send header slots
 * @conn: the connection; no send may be outstanding
 */
void iser_tx_slots_free(struct iser_conn *conn)
{
	u32 i;

	for (i = 0; i < conn->tx_count; i++) {
		if (!conn->tx_slots[i])
			continue;
		ib_dma_unmap_single(conn->dev->ib_dev, conn->tx_dma[i],
				    ISER_TX_SLOT, DMA_TO_DEVICE);
		kmem_cache_free(iser_tx_cache, conn->tx_slots[i]);
	}
	kvfree(conn->tx_dma);
	kvfree(conn->tx_slots);
	conn->tx_slots = NULL;
	conn->tx_dma = NULL;
	conn->tx_count = 0;
}

/**
 * iser_tx_slots_alloc() - allocate one send header slot per session tag
 * @conn: the connection
 * @count: number of tags of the session
 *
 * Slots are mapped once here, with their iSER header written, so sending
 * a response maps nothing and writes only the BHS.
 *
 * Return: 0 or -ENOMEM.
 */
__iser_fault_point int iser_tx_slots_alloc(struct iser_conn *conn, u32 count)
{
	struct ib_device *ibd = conn->dev->ib_dev;
	u32 i;

	conn->tx_slots = kvcalloc(count, sizeof(*conn->tx_slots), GFP_KERNEL);
	conn->tx_dma = kvcalloc(count, sizeof(*conn->tx_dma), GFP_KERNEL);
	if (!conn->tx_slots || !conn->tx_dma)
		goto out_free;
	conn->tx_count = count;
	for (i = 0; i < count; i++) {
		struct iser_ctrl *p = kmem_cache_zalloc(iser_tx_cache, GFP_KERNEL);
		u64 dma;

		if (!p)
			goto out_free;
		/*
		 * Every PDU the target sends has the same iSER header: a
		 * control PDU that advertises no STag (RFC 7145 9.2).
		 */
		p->flags = ISCSI_CTRL;
		dma = ib_dma_map_single(ibd, p, ISER_TX_SLOT, DMA_TO_DEVICE);
		if (ib_dma_mapping_error(ibd, dma)) {
			kmem_cache_free(iser_tx_cache, p);
			goto out_free;
		}
		conn->tx_slots[i] = p;
		conn->tx_dma[i] = dma;
	}
	return 0;

out_free:
	iser_tx_slots_free(conn);
	return -ENOMEM;
}

ALLOW_ERROR_INJECTION(iser_tx_slots_alloc, ERRNO);
