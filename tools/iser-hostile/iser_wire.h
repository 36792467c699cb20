/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iser-hostile: the iSER wire format (RFC 7145) as far as this tool uses
 * it. The tool keeps its own copy so that it does not build against the
 * target's headers: it is an independent peer, and its PDUs are written
 * byte by byte because many of them are malformed on purpose.
 */
#ifndef HOSTILE_ISER_WIRE_H
#define HOSTILE_ISER_WIRE_H

#include <assert.h>
#include <stdint.h>

/*
 * iSER header in front of every iSCSI control-type PDU sent with RDMA
 * SEND (RFC 7145 section 9.2); multi-byte fields are big endian. PDUs are
 * built by offset into a byte array (write STag at 4, its VA at 8, read
 * STag at 16, its VA at 20): the struct states that layout.
 */
struct iser_hdr {
	uint8_t		flags;		/* opcode in the high nibble, W/R bits below */
	uint8_t		rsvd[3];
	uint32_t	write_stag;	/* our buffer the target RDMA-READs */
	uint64_t	write_va;
	uint32_t	read_stag;	/* our buffer the target RDMA-WRITEs */
	uint64_t	read_va;
} __attribute__((packed));

#define ISER_HDR_LEN			28
static_assert(sizeof(struct iser_hdr) == ISER_HDR_LEN, "iSER header is 28 bytes");

/* Opcode in the high nibble of iser_hdr.flags. */
#define ISER_OP_ISCSI_CTRL		0x10

/* Flag bits, valid with ISER_OP_ISCSI_CTRL only. */
#define ISER_FLAG_WSV			0x08	/* write STag valid */
#define ISER_FLAG_RSV			0x04	/* read STag valid */

/* iSCSI basic header segment (RFC 7143). */
#define ISER_BHS_LEN			48
/* iSER header plus BHS: the smallest well-formed control-type PDU. */
#define ISER_HEADERS_LEN		(ISER_HDR_LEN + ISER_BHS_LEN)

/*
 * RDMA CM private data of the initiator's connect request ("iSER CM REQ
 * Message", RFC 7145 section 9.1): a flag byte saying what the initiator
 * can NOT accept, then three reserved bytes.
 */
#define ISER_CM_REQ_LEN			4
/* Our buffers are not zero-based: STag offsets are virtual addresses. */
#define ISER_CM_ZBVA_NOT_SUPPORTED	0x80
/* We cannot take Send with Invalidate. */
#define ISER_CM_SIE_NOT_SUPPORTED	0x40

/* The target's connect reply ("iSER CM REP Message"): what it will not use. */
#define ISER_CM_REP_LEN			4
#define ISER_CM_ZBVA_NOT_USED		0x80
#define ISER_CM_SIE_NOT_USED		0x40

#endif /* HOSTILE_ISER_WIRE_H */
