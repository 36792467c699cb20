/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iSER wire format (RFC 7145), shared by the iser_target module and the
 * user-space test tools so that the two can never disagree.
 *
 * Only fixed-size types from <linux/types.h> are used: the header builds
 * unchanged in the kernel and in user space.
 */
#ifndef ISER_WIRE_H
#define ISER_WIRE_H

#include <linux/types.h>

/* Port that iSER portals use when none is given (same as iSCSI). */
#define ISER_DEFAULT_PORT		3260

/*
 * iSER header that precedes every iSCSI control-type PDU sent with
 * RDMA SEND (RFC 7145 section 9.2). All multi-byte fields are big endian.
 */
struct iser_hdr {
	__u8	flags;		/* opcode in the high nibble, W/R bits below */
	__u8	rsvd[3];
	__be32	write_stag;	/* initiator buffer the target RDMA-READs */
	__be64	write_va;
	__be32	read_stag;	/* initiator buffer the target RDMA-WRITEs */
	__be64	read_va;
} __attribute__((packed));

#define ISER_HDR_LEN			28

/* Opcodes, high nibble of iser_hdr.flags. */
#define ISER_OPCODE_MASK		0xf0
#define ISER_OP_ISCSI_CTRL		0x10
#define ISER_OP_HELLO			0x20
#define ISER_OP_HELLO_REPLY		0x30

/* Flag bits, valid with ISER_OP_ISCSI_CTRL only. */
#define ISER_FLAG_WSV			0x08	/* write STag valid */
#define ISER_FLAG_RSV			0x04	/* read STag valid */
#define ISER_CTRL_FLAGS_MASK		(ISER_FLAG_WSV | ISER_FLAG_RSV)

/* iSCSI basic header segment, as RFC 7143 defines it. */
#define ISER_BHS_LEN			48
/* iSER header plus BHS: the smallest well-formed control-type PDU. */
#define ISER_HEADERS_LEN		(ISER_HDR_LEN + ISER_BHS_LEN)

/*
 * iSER Hello and HelloReply carry an iWARP peer's RDMA read depths
 * (RFC 7145 section 9.3). Over InfiniBand and RoCE the CM private data
 * does that job, so this target treats a Hello as a protocol error.
 */

/*
 * RDMA CM private data of the initiator's connect request
 * (RFC 7145 section 9.1, "iSER CM REQ Message"). The flag byte says what
 * the initiator can NOT accept.
 */
struct iser_cm_req {
	__u8	flags;
	__u8	rsvd[3];
} __attribute__((packed));

#define ISER_CM_REQ_LEN			4
/* Initiator's buffers are not zero-based: STag offsets are virtual addresses. */
#define ISER_CM_ZBVA_NOT_SUPPORTED	0x80
/* Initiator cannot take Send with Invalidate. */
#define ISER_CM_SIE_NOT_SUPPORTED	0x40

/*
 * Private data of the target's connect reply ("iSER CM REP Message").
 * Same layout: the target states what it will not use.
 */
struct iser_cm_rep {
	__u8	flags;
	__u8	rsvd[3];
} __attribute__((packed));

#define ISER_CM_REP_LEN			4
#define ISER_CM_ZBVA_NOT_USED		0x80
#define ISER_CM_SIE_NOT_USED		0x40

#endif /* ISER_WIRE_H */
