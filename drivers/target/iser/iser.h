/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iser_target: iSER (RFC 7145) transport for the LIO iSCSI target.
 * Internal definitions shared by the module's files.
 */
#ifndef ISER_H
#define ISER_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <rdma/ib_verbs.h>
#include <rdma/rdma_cm.h>
#include <rdma/rw.h>
#include <target/iscsi/iscsi_transport.h>

#include "iser_proto.h"

/* Bytes of each receive descriptor's header slot: iSER header, BHS, AHS. */
#define ISER_RX_HDR_SLOT	128
/* Most data pages one receive descriptor may have. */
#define ISER_RX_MAX_PAGES	8
#define ISER_RX_MAX_SGE		(1 + ISER_RX_MAX_PAGES)
/* Pages of the login buffers: the largest login data segment. */
#define ISER_LOGIN_PAGES	(ISER_LOGIN_MAX_DATA / PAGE_SIZE)
/* Send header slot: iSER header, BHS and a small payload (sense, reject). */
#define ISER_TX_SLOT		256
#define ISER_TX_INLINE_MAX	(ISER_TX_SLOT - ISER_HEADERS_LEN)
/* Send queue entries kept for control PDUs, never used by data. */
#define ISER_SQ_CTRL_RESERVE	32

extern unsigned int iser_max_io_bytes;
extern unsigned int iser_queue_depth;
extern struct workqueue_struct *iser_wq;
/* Named caches, so that /proc/slabinfo shows what connections hold. */
extern struct kmem_cache *iser_conn_cache;
extern struct kmem_cache *iser_hdr_cache;
extern struct kmem_cache *iser_tx_cache;

/**
 * struct iser_device - an RDMA device some connection or listener uses
 * @ib_dev: the device
 * @pd: protection domain shared by all connections on it
 * @ref: one per connection; the last put frees the PD
 * @node: entry in the global device list
 * @sie_capable: the device can invalidate remote keys on receive
 */
struct iser_device {
	struct ib_device *ib_dev;
	struct ib_pd *pd;
	struct kref ref;
	struct list_head node;
	bool sie_capable;
};

/**
 * enum iser_conn_state - life of an iSER connection; it only moves forward
 * @ISER_CONN_CONNECTING: connect request accepted, not yet established
 * @ISER_CONN_PENDING: established, waiting for the iSCSI login thread
 * @ISER_CONN_LOGIN: bound to an iSCSI connection, login in progress
 * @ISER_CONN_FULL: full feature phase
 * @ISER_CONN_CLOSING: disconnect started, work requests being flushed
 * @ISER_CONN_CLOSED: queue pair drained; only freeing is left
 */
enum iser_conn_state {
	ISER_CONN_CONNECTING,
	ISER_CONN_PENDING,
	ISER_CONN_LOGIN,
	ISER_CONN_FULL,
	ISER_CONN_CLOSING,
	ISER_CONN_CLOSED,
};

/**
 * struct iser_buf - a DMA-mapped buffer built from a small header slot and
 * whole pages, so that no receive or login buffer is a high-order allocation
 * @cqe: completion entry of the work request that uses the buffer
 * @sge: scatter/gather list describing @segs to the device
 * @segs: CPU view of the same pieces
 * @nsegs: pieces in use
 * @size: total bytes
 */
struct iser_buf {
	struct ib_cqe cqe;
	struct ib_sge sge[ISER_RX_MAX_SGE];
	struct iser_seg segs[ISER_RX_MAX_SGE];
	unsigned int nsegs;
	u32 size;
};

struct iser_np;

/**
 * struct iser_conn - one iSER connection
 * @cm_id: RDMA CM identifier; destroyed only by iser_conn_release()
 * @qp: queue pair
 * @cq: completion queue from the device's CQ pool
 * @cq_size: entries taken from the pool
 * @dev: the RDMA device
 * @np: the listener this connection arrived on
 * @iconn: iSCSI connection, once the login thread took this one
 * @ref: references: CM side, iSCSI side, work in flight
 * @lock: protects @state, @np_node membership and the login hand-off flags
 * @state: see enum iser_conn_state
 * @np_node: entry in the listener's connecting or pending list
 * @node: entry in the list of all connections
 * @state_wq: woken when @state or the login hand-off changes
 * @login_rx: login request buffer (receive)
 * @login_tx: login response buffer (send)
 * @login_len: bytes of the last received login request
 * @login_ready: a login request waits for iser_get_login_rx()
 * @login_more: the login continues; the next request runs conn->login_work
 * @login_final: final login response, sent once the connection is usable
 * @rx: receive ring of the full feature phase
 * @rx_count: descriptors in @rx
 * @rx_pages: data pages per descriptor
 * @max_recv_data: largest data segment the target accepts
 * @tx_slots: send header slots, one per session tag
 * @tx_dma: DMA addresses of @tx_slots
 * @tx_count: number of slots
 * @sq_lock: protects @sq_avail and @sq_wait
 * @sq_avail: send queue entries free for data transfers
 * @sq_ctrl: send queue entries free for control PDUs
 * @sq_wait: commands waiting for send queue entries, in order
 * @max_rx_pages: data pages a receive may scatter to on this queue pair
 * @rq_size: receive queue entries of the queue pair
 * @hdr_scratch: contiguous copy of a BHS whose AHS overflows the header slot
 * @logout_posted: a Logout Response was posted; teardown waits for it
 * @use_sie: answer with Send with Invalidate
 * @initiator_depth: RDMA READs the target may have outstanding
 * @release_work: final teardown, off the CM handler's context
 */
struct iser_conn {
	struct rdma_cm_id *cm_id;
	struct ib_qp *qp;
	struct ib_cq *cq;
	u32 cq_size;
	struct iser_device *dev;
	struct iser_np *np;
	struct iscsit_conn *iconn;
	struct kref ref;

	spinlock_t lock;
	enum iser_conn_state state;
	struct list_head np_node;
	struct list_head node;
	wait_queue_head_t state_wq;

	struct iser_buf login_rx;
	struct iser_buf login_tx;
	u32 login_len;
	bool login_ready;
	bool login_more;
	bool login_final;

	struct iser_buf *rx;
	u32 rx_count;
	u32 rx_pages;
	u32 max_recv_data;

	void **tx_slots;
	u64 *tx_dma;
	u32 tx_count;

	spinlock_t sq_lock;
	int sq_avail;
	int sq_ctrl;
	struct list_head sq_wait;

	u32 max_rx_pages;
	u32 rq_size;
	void *hdr_scratch;
	bool logout_posted;
	bool use_sie;
	u8 initiator_depth;
	struct work_struct release_work;
};

/**
 * enum iser_post - what a command posts once it has send queue entries
 * @ISER_POST_SEND: a response or other control PDU
 * @ISER_POST_DATA_IN: RDMA WRITEs of read data chained to the response
 * @ISER_POST_DATA_OUT: RDMA READs of write data
 */
enum iser_post {
	ISER_POST_SEND,
	ISER_POST_DATA_IN,
	ISER_POST_DATA_OUT,
};

/**
 * struct iser_cmd - per-command transport state, in the iSCSI command's
 * private area
 * @conn: the connection
 * @icmd: the iSCSI command this belongs to
 * @pdu: decoded headers of the command PDU (STags, addresses)
 * @rw: RDMA READ/WRITE context of the data transfer
 * @rw_ops: work requests @rw posts; zero when no context exists
 * @send_cqe: completion of the response SEND
 * @rw_cqe: completion of the RDMA READs
 * @send_wr: the response SEND
 * @sge: its gather list: header slot, then an optional payload
 * @payload_dma: DMA address of a mapped payload, or 0
 * @payload_len: its length
 * @credits: send queue entries this command holds
 * @post: what to post when it waits for send queue entries
 * @wait_node: entry in the connection's send queue wait list
 * @ctrl: the command is a control PDU (may use the control reserve)
 * @ctrl_work: runs the core's logout handling off the completion context
 */
struct iser_cmd {
	struct iser_conn *conn;
	struct iscsit_cmd *icmd;
	struct iser_pdu_info pdu;
	struct rdma_rw_ctx rw;
	u32 rw_ops;
	struct ib_cqe send_cqe;
	struct ib_cqe rw_cqe;
	struct ib_send_wr send_wr;
	struct ib_sge sge[2];
	u64 payload_dma;
	u32 payload_len;
	u32 credits;
	enum iser_post post;
	struct list_head wait_node;
	bool ctrl;
	struct work_struct ctrl_work;
};

/**
 * struct iser_np - an iSER listener for one iSCSI network portal
 * @np: the iSCSI network portal
 * @cm_id: listening RDMA CM identifier, NULL while the device is gone
 * @lock: protects @cm_id, the lists and @stopping
 * @connecting: connections accepted but not yet established
 * @pending: established connections waiting for iser_accept_np()
 * @accept_wq: woken when @pending grows or the portal stops
 * @node: entry in the global listener list
 * @relisten_work: re-creates @cm_id after its device went away
 * @stopping: iser_free_np() started
 */
struct iser_np {
	struct iscsi_np *np;
	struct rdma_cm_id *cm_id;
	struct mutex lock;
	struct list_head connecting;
	struct list_head pending;
	wait_queue_head_t accept_wq;
	struct list_head node;
	struct delayed_work relisten_work;
	bool stopping;
};

static inline struct iser_cmd *iser_cmd(struct iscsit_cmd *icmd)
{
	return iscsit_priv_cmd(icmd);
}

/* iser_main.c */
struct iser_device *iser_device_get(struct ib_device *ib_dev);
void iser_device_put(struct iser_device *dev);

/* iser_cm.c */
int iser_setup_np(struct iscsi_np *np, struct sockaddr_storage *addr);
int iser_accept_np(struct iscsi_np *np, struct iscsit_conn *iconn);
void iser_free_np(struct iscsi_np *np);
void iser_wait_conn(struct iscsit_conn *iconn);
void iser_free_conn(struct iscsit_conn *iconn);
bool iser_conn_set_state(struct iser_conn *conn, enum iser_conn_state to);
void iser_conn_fail(struct iser_conn *conn);
void iser_conn_put(struct iser_conn *conn);
void iser_np_device_added(void);
void iser_device_removed(struct ib_device *ib_dev);

/* iser_buf.c */
int iser_buf_alloc(struct iser_device *dev, struct iser_buf *buf,
		   u32 hdr_len, u32 npages, enum dma_data_direction dir);
void iser_buf_free(struct iser_device *dev, struct iser_buf *buf,
		   enum dma_data_direction dir);
int iser_rx_ring_alloc(struct iser_conn *conn, u32 count, u32 max_data);
void iser_rx_ring_free(struct iser_conn *conn);
int iser_tx_slots_alloc(struct iser_conn *conn, u32 count);
void iser_tx_slots_free(struct iser_conn *conn);

/* iser_login.c */
int iser_get_login_rx(struct iscsit_conn *iconn, struct iscsi_login *login);
int iser_put_login_tx(struct iscsit_conn *iconn, struct iscsi_login *login,
		      u32 length);
int iser_post_login_recv(struct iser_conn *conn);
void iser_get_rx_pdu(struct iscsit_conn *iconn);

/* iser_rx.c */
int iser_post_recv(struct iser_conn *conn, struct iser_buf *buf);
int iser_post_rx_ring(struct iser_conn *conn);

/* iser_tx.c */
int iser_queue_data_in(struct iscsit_conn *iconn, struct iscsit_cmd *icmd);
int iser_queue_status(struct iscsit_conn *iconn, struct iscsit_cmd *icmd);
int iser_get_dataout(struct iscsit_conn *iconn, struct iscsit_cmd *icmd,
		     bool recovery);
int iser_immediate_queue(struct iscsit_conn *iconn, struct iscsit_cmd *icmd,
			 int state);
int iser_response_queue(struct iscsit_conn *iconn, struct iscsit_cmd *icmd,
			int state);
void iser_aborted_task(struct iscsit_conn *iconn, struct iscsit_cmd *icmd);
void iser_cmd_put(struct iser_cmd *cmd, bool comp_err);
void iser_drop_unsolicited(struct iscsit_conn *iconn);
void iser_sq_flush(struct iser_conn *conn);

#endif /* ISER_H */
