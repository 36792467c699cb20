// SPDX-License-Identifier: GPL-2.0
/*
 * iser_target: data pages of SCSI commands. The target core would allocate
 * fresh pages for every command and free them at its release; with
 * init_on_alloc, the default of Debian's kernels, each of those pages is
 * also cleared: a quarter of the target's instructions for a 128 KiB READ
 * on the test bed. A connection instead keeps the pages its commands give back
 * and hands them to its next commands. A page only ever holds data this
 * connection's initiator wrote or read, so nothing crosses between
 * sessions.
 *
 * The pages given to a command are recorded by its session tag and come
 * back when its last work request completed (iser_dbuf_return()). A
 * command released otherwise (aborted, dropped before it ran, or freed by
 * the core while its connection closes, maybe with the backend still at
 * work) leaves its record behind: the core reuses a tag only after the
 * release, so the next command with the tag takes the pages back first,
 * and the connection's release frees the rest.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>

#include "iser.h"

/**
 * iser_dbufs_alloc() - set up the data page records of a connection
 * @conn: the connection, entering the full feature phase
 * @count: session tags
 * @cap: pages the connection may keep between commands; 0: the core
 *	allocates every command's pages
 *
 * Return: 0 or -ENOMEM.
 */
int iser_dbufs_alloc(struct iser_conn *conn, u32 count, u32 cap)
{
	if (!cap)
		return 0;
	conn->dpool = kmalloc_array(cap, sizeof(*conn->dpool), GFP_KERNEL);
	if (!conn->dpool)
		return -ENOMEM;
	conn->dbufs = kcalloc(count, sizeof(*conn->dbufs), GFP_KERNEL);
	if (!conn->dbufs) {
		kfree(conn->dpool);
		conn->dpool = NULL;
		return -ENOMEM;
	}
	conn->dbuf_count = count;
	conn->dpool_cap = cap;
	return 0;
}

/*
 * Gives the pages of @d back: to the connection's kept pages while it
 * keeps fewer than its cap, to the page allocator after that.
 */
static void iser_dbuf_put(struct iser_conn *conn, struct iser_dbuf *d)
{
	unsigned long flags;
	struct page **top;
	u32 i, keep;

	spin_lock_irqsave(&conn->dpool_lock, flags);
	keep = min(d->nents, conn->dpool_cap - conn->dpool_count);
	top = &conn->dpool[conn->dpool_count];
	for (i = 0; i < keep; i++)
		top[i] = sg_page(&d->sgl[i]);
	conn->dpool_count += keep;
	spin_unlock_irqrestore(&conn->dpool_lock, flags);
	for (; i < d->nents; i++)
		__free_page(sg_page(&d->sgl[i]));
	if (d->sgl != &d->one)
		kfree(d->sgl);
	d->sgl = NULL;
	d->nents = 0;
}

/**
 * iser_dbufs_free() - free the data pages of a connection
 * @conn: the connection; the core released all of its commands
 *	(iser_free_conn() waited for them)
 */
void iser_dbufs_free(struct iser_conn *conn)
{
	u32 i;

	if (!conn->dbufs)
		return;
	for (i = 0; i < conn->dpool_count; i++)
		__free_page(conn->dpool[i]);
	conn->dpool_count = 0;
	/* Nothing kept from now on: what the records hold is freed. */
	conn->dpool_cap = 0;
	for (i = 0; i < conn->dbuf_count; i++)
		if (conn->dbufs[i].sgl)
			iser_dbuf_put(conn, &conn->dbufs[i]);
	kfree(conn->dbufs);
	conn->dbufs = NULL;
	kfree(conn->dpool);
	conn->dpool = NULL;
}

/**
 * iser_dbufs_trim() - free the data pages a quiet connection kept
 * @conn: the connection; nothing came from its initiator for a keepalive
 *	interval
 *
 * An idle connection should not hold memory for traffic that stopped. The
 * pages are freed a batch at a time, outside the lock.
 */
void iser_dbufs_trim(struct iser_conn *conn)
{
	struct page *batch[16];
	unsigned long flags;
	u32 i, n;

	if (!conn->dbufs)
		return;
	do {
		spin_lock_irqsave(&conn->dpool_lock, flags);
		n = min_t(u32, conn->dpool_count, ARRAY_SIZE(batch));
		conn->dpool_count -= n;
		for (i = 0; i < n; i++)
			batch[i] = conn->dpool[conn->dpool_count + i];
		spin_unlock_irqrestore(&conn->dpool_lock, flags);
		for (i = 0; i < n; i++)
			__free_page(batch[i]);
	} while (n);
}

/**
 * iser_dbuf_give() - give a SCSI command data pages of the connection
 * @conn: the connection
 * @icmd: the command, set up by the core, before its pages are allocated
 *
 * Only READs and WRITEs of a medium get them: the core clears the pages of
 * other commands, whose emulation may fill less than it sends. Commands
 * whose data length the CDB overruns, and bidirectional ones, keep the
 * core's allocation as well. When a page cannot be had, the core tries.
 *
 * Return: true when the command got its pages here.
 */
bool iser_dbuf_give(struct iser_conn *conn, struct iscsit_cmd *icmd)
{
	struct se_cmd *se = &icmd->se_cmd;
	u32 len = se->data_length;
	struct scatterlist *sgl;
	unsigned long flags;
	struct iser_dbuf *d;
	struct page **top;
	struct page *page;
	u32 i, n, reused;

	if (!conn->dbufs || icmd->sense_reason || !len ||
	    se->map_tag >= conn->dbuf_count ||
	    (se->se_cmd_flags & (SCF_SCSI_DATA_CDB | SCF_OVERFLOW_BIT | SCF_BIDI |
				 SCF_COMPARE_AND_WRITE |
				 SCF_PASSTHROUGH_SG_TO_MEM_NOALLOC)) !=
	    SCF_SCSI_DATA_CDB)
		return false;
	d = &conn->dbufs[se->map_tag];
	if (d->sgl)
		iser_dbuf_put(conn, d);
	n = DIV_ROUND_UP(len, PAGE_SIZE);
	sgl = n == 1 ? &d->one : kmalloc_array(n, sizeof(*sgl), GFP_KERNEL);
	if (!sgl)
		return false;
	sg_init_table(sgl, n);
	spin_lock_irqsave(&conn->dpool_lock, flags);
	reused = min(n, conn->dpool_count);
	conn->dpool_count -= reused;
	top = &conn->dpool[conn->dpool_count];
	for (i = 0; i < reused; i++)
		sg_set_page(&sgl[i], top[i], PAGE_SIZE, 0);
	spin_unlock_irqrestore(&conn->dpool_lock, flags);
	for (; i < n; i++) {
		page = alloc_page(GFP_KERNEL);
		if (!page)
			break;
		sg_set_page(&sgl[i], page, PAGE_SIZE, 0);
	}
	d->sgl = sgl;
	d->nents = i;
	if (i < n) {
		iser_dbuf_put(conn, d);
		return false;
	}
	sgl[n - 1].length = len - (n - 1) * PAGE_SIZE;
	se->t_data_sg = sgl;
	se->t_data_nents = n;
	se->se_cmd_flags |= SCF_PASSTHROUGH_SG_TO_MEM_NOALLOC;
	iser_cmd(icmd)->dbuf = d;
	iser_stat_add(conn, ISER_S_DATA_PAGES_REUSED, reused);
	if (unlikely(reused < n))
		iser_stat_add(conn, ISER_S_DATA_PAGES_NEW, n - reused);
	return true;
}

/**
 * __iser_dbuf_return() - take back the data pages of a command
 * @cmd: the command; nothing happens when it has none any more
 *
 * Called when the last work request of the command completed or was
 * flushed and its RDMA context is destroyed: the backend never ran (its
 * data never came) or already answered.
 */
void __iser_dbuf_return(struct iser_cmd *cmd)
{
	struct iser_dbuf *d = xchg(&cmd->dbuf, NULL);

	if (d)
		iser_dbuf_put(cmd->conn, d);
}
