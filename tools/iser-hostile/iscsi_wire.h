/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iser-hostile: the iSCSI wire format (RFC 7143) as far as this tool uses
 * it, and big-endian byte access. Apart from hostile.h so that the parts
 * with no RDMA in them (the fuzzer's generator, its file format and its
 * self-test) build without the verbs headers.
 */
#ifndef HOSTILE_ISCSI_WIRE_H
#define HOSTILE_ISCSI_WIRE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "iser_wire.h"

/* ---- iSCSI (RFC 7143) ------------------------------------------------ */

#define BHS_LEN			ISER_BHS_LEN	/* 48 */
#define HDRS_LEN		ISER_HEADERS_LEN	/* iSER header + BHS: 76 */

#define OP_NOOP_OUT		0x00
#define OP_SCSI_CMD		0x01
#define OP_TMF			0x02
#define OP_LOGIN		0x03
#define OP_TEXT			0x04
#define OP_DATA_OUT		0x05
#define OP_LOGOUT		0x06
#define OP_SNACK		0x10
#define OP_IMMEDIATE		0x40
#define OP_MASK			0x3f

#define OP_NOOP_IN		0x20
#define OP_SCSI_RSP		0x21
#define OP_TMF_RSP		0x22
#define OP_LOGIN_RSP		0x23
#define OP_TEXT_RSP		0x24
#define OP_DATA_IN		0x25
#define OP_LOGOUT_RSP		0x26
#define OP_R2T			0x31
#define OP_ASYNC		0x32
#define OP_REJECT		0x3f

#define FLAG_FINAL		0x80
#define CMD_READ		0x40
#define CMD_WRITE		0x20
#define CMD_ATTR_SIMPLE		0x01

#define LOGIN_T			0x80
#define LOGIN_C			0x40
#define STAGE_SEC		0
#define STAGE_OP		1
#define STAGE_FFP		3

#define RSVD_TAG		0xffffffffu

/* SCSI */
#define SCSI_TUR		0x00
#define SCSI_READ10		0x28
#define SCSI_WRITE10		0x2a
#define SCSI_READCAP10		0x25
#define SCSI_GOOD		0x00
#define SCSI_CHECK		0x02

/* BHS field offsets */
#define B_AHSLEN		4
#define B_DLEN			5
#define B_LUN			8
#define B_ITT			16
#define B_TTT			20	/* also EDTL of a SCSI command */
#define B_CMDSN			24	/* StatSN in responses */
#define B_EXPSTATSN		28	/* ExpCmdSN in responses */
#define B_MAXCMDSN		32
#define B_CDB			32

/* ---- byte order ---------------------------------------------------- */

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static inline void put24(uint8_t *p, uint32_t v)
{
	p[0] = v >> 16;
	p[1] = v >> 8;
	p[2] = v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static inline void put64(uint8_t *p, uint64_t v)
{
	put32(p, v >> 32);
	put32(p + 4, (uint32_t)v);
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | get24(p + 1);
}

static inline uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/*
 * A LUN into the BHS's LUN field: flat addressing below 256, else the
 * flat space method (RFC 7143 refers to SAM for the format).
 */
static inline void put_lun(uint8_t *bhs, uint32_t lun)
{
	memset(bhs + B_LUN, 0, 8);
	if (lun < 256) {
		bhs[B_LUN + 1] = (uint8_t)lun;
	} else {
		bhs[B_LUN] = 0x40 | ((lun >> 8) & 0x3f);
		bhs[B_LUN + 1] = (uint8_t)lun;
	}
}

/* RFC 1982 serial number arithmetic on 32 bits */
static inline bool sn_gt(uint32_t a, uint32_t b)
{
	return a != b && (int32_t)(a - b) > 0;
}

#endif /* HOSTILE_ISCSI_WIRE_H */
