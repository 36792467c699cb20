// SPDX-License-Identifier: GPL-2.0
/*
 * iser-hostile: iSCSI PDUs over iSER (RFC 7143, RFC 7145): the login, SCSI
 * commands whose data moves by RDMA through the STag of our buffer,
 * unsolicited Data-Out, NOP, task management and logout.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostile.h"

static const char *const op_names[64] = {
	[OP_NOOP_OUT] = "NOP-Out", [OP_SCSI_CMD] = "SCSI Command",
	[OP_TMF] = "Task Management", [OP_LOGIN] = "Login",
	[OP_TEXT] = "Text", [OP_DATA_OUT] = "Data-Out",
	[OP_LOGOUT] = "Logout", [OP_SNACK] = "SNACK",
	[OP_NOOP_IN] = "NOP-In", [OP_SCSI_RSP] = "SCSI Response",
	[OP_TMF_RSP] = "Task Management Response",
	[OP_LOGIN_RSP] = "Login Response", [OP_TEXT_RSP] = "Text Response",
	[OP_DATA_IN] = "Data-In", [OP_LOGOUT_RSP] = "Logout Response",
	[OP_R2T] = "R2T", [OP_ASYNC] = "Async Message", [OP_REJECT] = "Reject",
};

const char *op_name(uint8_t op)
{
	op &= OP_MASK;
	return op_names[op] ? op_names[op] : "unknown opcode";
}

uint32_t next_itt(struct conn *c)
{
	do
		c->itt++;
	while (c->itt == RSVD_TAG || c->itt == 0);
	return c->itt;
}

void pdu_init(struct pdu *p, uint8_t opcode, uint8_t flags)
{
	memset(p, 0, sizeof(*p));
	p->ih[0] = ISER_OP_ISCSI_CTRL;
	p->bhs[0] = opcode;
	p->bhs[1] = flags;
}

/* Sets TotalAHSLength and DataSegmentLength from what the PDU carries. */
static void pdu_finish(struct pdu *p)
{
	p->bhs[B_AHSLEN] = (uint8_t)(p->ahslen / 4);
	put24(p->bhs + B_DLEN, p->datalen);
}

uint32_t pdu_build(const struct pdu *p, uint8_t *out, uint32_t max)
{
	uint32_t n = 0;

	if (max < HDRS_LEN + p->ahslen + p->datalen)
		return 0;
	memcpy(out, p->ih, ISER_HDR_LEN);
	memcpy(out + ISER_HDR_LEN, p->bhs, BHS_LEN);
	n = HDRS_LEN;
	memcpy(out + n, p->ahs, p->ahslen);
	n += p->ahslen;
	if (p->datalen)
		memcpy(out + n, p->data, p->datalen);
	return n + p->datalen;
}

/*
 * Send @p as it is (lengths already set by the caller), truncated or
 * zero-padded to @send_len bytes when that is not negative.
 */
int pdu_send_len(struct conn *c, const struct pdu *p, long long send_len)
{
	uint32_t len = HDRS_LEN + p->ahslen + p->datalen;
	uint32_t cap = len;
	uint8_t *buf;
	int ret;

	if (send_len >= 0 && (uint64_t)send_len > cap)
		cap = (uint32_t)send_len;
	buf = calloc(1, cap ? cap : 1);
	if (!buf)
		return -1;
	pdu_build(p, buf, cap);
	if (send_len >= 0)
		len = (uint32_t)send_len;
	dbg("send %s itt 0x%x, %u bytes", op_name(p->bhs[0]), get32(p->bhs + B_ITT),
	    len);
	if (o.verbose >= 3) {
		uint32_t i;

		for (i = 0; i < len && i < 256; i++)
			fprintf(stderr, "%02x%s", buf[i], i % 16 == 15 ? "\n" : " ");
		fputc('\n', stderr);
	}
	ret = conn_send(c, buf, len);
	free(buf);
	return ret;
}

int pdu_send(struct conn *c, const struct pdu *p)
{
	struct pdu q = *p;

	pdu_finish(&q);
	return pdu_send_len(c, &q, -1);
}

/* Bookkeeping every received PDU gets: sequence numbers, target pings. */
void pdu_note_rx(struct conn *c, const struct rpdu *r)
{
	const uint8_t *bhs = r->buf + ISER_HDR_LEN;
	uint8_t op;
	uint32_t v;

	if (r->len < HDRS_LEN)
		return;
	op = bhs[0] & OP_MASK;
	dbg("recv %s itt 0x%x, %u bytes", op_name(op), get32(bhs + B_ITT), r->len);
	switch (op) {
	case OP_NOOP_IN:
	case OP_SCSI_RSP:
	case OP_TMF_RSP:
	case OP_LOGIN_RSP:
	case OP_TEXT_RSP:
	case OP_LOGOUT_RSP:
	case OP_REJECT:
	case OP_ASYNC:
		break;
	default:
		return;
	}
	if (c->auto_statsn &&
	    !(op == OP_NOOP_IN && get32(bhs + B_ITT) == RSVD_TAG)) {
		v = get32(bhs + B_CMDSN) + 1;
		if (sn_gt(v, c->exp_statsn) || op == OP_LOGIN_RSP)
			c->exp_statsn = v;
	}
	v = get32(bhs + B_EXPSTATSN);
	if (sn_gt(v, c->exp_cmdsn) || !c->exp_cmdsn)
		c->exp_cmdsn = v;
	v = get32(bhs + B_MAXCMDSN);
	if (sn_gt(v, c->max_cmdsn) || !c->max_cmdsn)
		c->max_cmdsn = v;

	/* The target pings us (NOP-In with a TTT): answer it. */
	if (c->auto_nopin && nopin_is_ping(bhs) &&
	    nopin_answer(c, bhs + B_LUN, get32(bhs + B_TTT)) == 0)
		c->nopin_pings++;
}

/* Is @bhs a NOP-In ping of the target's (no ITT, a TTT to answer with)? */
bool nopin_is_ping(const uint8_t *bhs)
{
	return (bhs[0] & OP_MASK) == OP_NOOP_IN && get32(bhs + B_ITT) == RSVD_TAG &&
	       get32(bhs + B_TTT) != RSVD_TAG;
}

/* The NOP-Out that answers the target's ping of @lun and @ttt. */
int nopin_answer(struct conn *c, const uint8_t *lun, uint32_t ttt)
{
	struct pdu p;
	uint8_t buf[HDRS_LEN];

	pdu_init(&p, OP_NOOP_OUT | OP_IMMEDIATE, FLAG_FINAL);
	memcpy(p.bhs + B_LUN, lun, 8);
	put32(p.bhs + B_ITT, RSVD_TAG);
	put32(p.bhs + B_TTT, ttt);
	put32(p.bhs + B_CMDSN, c->cmdsn);
	put32(p.bhs + B_EXPSTATSN, c->exp_statsn);
	pdu_build(&p, buf, sizeof(buf));
	return conn_send_nowait(c, buf, sizeof(buf));
}

/* ---- login ---------------------------------------------------------- */

/* Turns "a=b;c=d" into "a=b\0c=d\0" in @buf; returns the length. */
static uint32_t keys_text(uint8_t *buf, uint32_t bufsz, const char *keys)
{
	uint32_t n = 0;
	const char *s;

	if (!keys)
		return 0;
	for (s = keys; *s && n + 1 < bufsz; s++)
		buf[n++] = *s == ';' ? '\0' : (uint8_t)*s;
	if (n && buf[n - 1] != '\0' && n < bufsz)
		buf[n++] = '\0';
	return n;
}

int login_pdu(struct conn *c, struct pdu *p, uint8_t *buf, uint32_t bufsz,
	      int csg, int nsg, bool transit, const char *keys)
{
	uint8_t flags = (uint8_t)(csg << 2);

	if (transit)
		flags |= LOGIN_T | (uint8_t)nsg;
	pdu_init(p, OP_LOGIN | OP_IMMEDIATE, flags);
	memcpy(p->bhs + 8, c->isid, 6);
	put16(p->bhs + 14, c->tsih);
	put32(p->bhs + B_ITT, c->itt);
	put16(p->bhs + 20, c->cid);
	put32(p->bhs + B_CMDSN, c->cmdsn);
	put32(p->bhs + B_EXPSTATSN, c->exp_statsn);
	p->datalen = keys_text(buf, bufsz, keys);
	p->data = buf;
	return 0;
}

static const char *login_status(uint8_t cls, uint8_t det)
{
	static char s[64];

	switch (cls << 8 | det) {
	case 0x0000: return "success";
	case 0x0201: return "authentication failure";
	case 0x0202: return "authorization failure";
	case 0x0203: return "target not found";
	case 0x0205: return "too many connections";
	case 0x0207: return "missing parameter";
	case 0x0209: return "unsupported version";
	case 0x020a: return "session does not exist";
	case 0x020b: return "invalid request during login";
	case 0x0300: return "target error";
	case 0x0302: return "out of resources";
	}
	snprintf(s, sizeof(s), "class %u detail %u", cls, det);
	return s;
}

static void apply_key(struct conn *c, const char *k, const char *v)
{
	unsigned long n = strtoul(v, NULL, 10);

	if (!strcmp(k, "TargetRecvDataSegmentLength") && n)
		c->trdsl = (uint32_t)n;
	else if (!strcmp(k, "InitiatorRecvDataSegmentLength") && n)
		c->irdsl = (uint32_t)n;
	else if (!strcmp(k, "FirstBurstLength") && n)
		c->first_burst = (uint32_t)n;
	else if (!strcmp(k, "MaxBurstLength") && n)
		c->max_burst = (uint32_t)n;
	else if (!strcmp(k, "ImmediateData"))
		c->immediate_data = !strcmp(v, "Yes");
	else if (!strcmp(k, "InitialR2T"))
		c->initial_r2t = !strcmp(v, "Yes");
}

static void parse_keys(struct conn *c, const uint8_t *d, uint32_t len)
{
	char kv[512];
	uint32_t i = 0;

	while (i < len) {
		uint32_t n = 0;
		char *eq;

		while (i < len && d[i] && n + 1 < sizeof(kv))
			kv[n++] = (char)d[i++];
		while (i < len && d[i])
			i++;
		i++;
		kv[n] = 0;
		if (!n)
			continue;
		info("  key %s", kv);
		eq = strchr(kv, '=');
		if (!eq)
			continue;
		*eq = 0;
		apply_key(c, kv, eq + 1);
	}
}

int login_wait_rsp(struct conn *c, double deadline, uint8_t *cls, uint8_t *det,
		   struct rpdu **out)
{
	struct rpdu *r;

	for (;;) {
		uint8_t op;

		r = conn_next(c, deadline);
		if (!r)
			return -1;
		if (r->len < HDRS_LEN) {
			info("short PDU (%u bytes) during login", r->len);
			free(r);
			continue;
		}
		op = r->buf[ISER_HDR_LEN] & OP_MASK;
		if (op != OP_LOGIN_RSP) {
			info("%s during login", op_name(op));
			free(r);
			continue;
		}
		break;
	}
	*cls = r->buf[ISER_HDR_LEN + 36];
	*det = r->buf[ISER_HDR_LEN + 37];
	if (out)
		*out = r;
	else
		free(r);
	return 0;
}

/*
 * The operational keys of a login: a discovery session's few, or every
 * key a normal iSER session negotiates, each replaced by a key of the same
 * name in @extra (';'-separated), which is appended.
 */
static void op_keys(char *keys, size_t len, bool discovery, const char *extra)
{
	static const char *const normal[] = {
		"HeaderDigest=None", "DataDigest=None", "MaxConnections=1",
		"InitialR2T=No", "ImmediateData=Yes", "MaxBurstLength=262144",
		"FirstBurstLength=65536", "DefaultTime2Wait=0",
		"DefaultTime2Retain=0", "MaxOutstandingR2T=1",
		"DataPDUInOrder=Yes", "DataSequenceInOrder=Yes",
		"ErrorRecoveryLevel=0", "IFMarker=No", "OFMarker=No",
		"RDMAExtensions=Yes", "InitiatorRecvDataSegmentLength=",
		"TargetRecvDataSegmentLength=8192",
	};
	size_t i, n = 0;

	if (discovery) {
		snprintf(keys, len, "HeaderDigest=None;DataDigest=None;"
			 "DefaultTime2Wait=0;DefaultTime2Retain=0;"
			 "ErrorRecoveryLevel=0;IFMarker=No;OFMarker=No");
		return;
	}
	keys[0] = 0;
	/* --keys replaces the tool's own key of the same name. */
	for (i = 0; i < sizeof(normal) / sizeof(normal[0]); i++) {
		size_t klen = strcspn(normal[i], "=") + 1;
		const char *e = extra;
		bool replaced = false;

		while (e && *e) {
			if (!strncmp(e, normal[i], klen))
				replaced = true;
			e = strchr(e, ';');
			if (e)
				e++;
		}
		if (replaced)
			continue;
		if (!strcmp(normal[i], "InitiatorRecvDataSegmentLength="))
			n += (size_t)snprintf(keys + n, len - n, "%s%s%u",
					      n ? ";" : "", normal[i], o.irdsl);
		else
			n += (size_t)snprintf(keys + n, len - n, "%s%s",
					      n ? ";" : "", normal[i]);
		if (n >= len)
			return;
	}
	if (extra)
		snprintf(keys + n, len - n, "%s%s", n ? ";" : "", extra);
}

/*
 * A complete, well-formed login. By default one operational-stage request
 * with every key, as the Linux initiator sends when no authentication is
 * configured; with @k->two_stage a security stage (AuthMethod=None) comes
 * first. Continues while the target answers T=0, until it moves us to the
 * full feature phase. Returns 0 on success, 1 when the target refused the
 * login, -1 when the connection failed or timed out (@err says why).
 */
int login(struct conn *c, const struct login_keys *k, double deadline,
	  char *err, size_t errlen)
{
	bool discovery = k->session_type && !strcmp(k->session_type, "Discovery");
	char names[1024], ops[1536], keys[2600];
	uint8_t buf[8192];
	int csg = STAGE_SEC, nsg = STAGE_OP, round;

	snprintf(names, sizeof(names), "InitiatorName=%s;%s%s%sSessionType=%s",
		 o.initiator, discovery ? "" : "TargetName=",
		 discovery ? "" : o.iqn, discovery ? "" : ";",
		 discovery ? "Discovery" : "Normal");
	op_keys(ops, sizeof(ops), discovery, k->extra);
	if (k->two_stage) {
		snprintf(keys, sizeof(keys), "%s;AuthMethod=None", names);
	} else {
		csg = STAGE_OP;
		nsg = STAGE_FFP;
		snprintf(keys, sizeof(keys), "%s;%s", names, ops);
	}
	c->initial_r2t = false;
	for (round = 0; round < 8; round++) {
		struct pdu p;
		struct rpdu *r;
		uint8_t cls, det, fl;
		const uint8_t *bhs;

		login_pdu(c, &p, buf, sizeof(buf), csg, nsg, true, keys);
		if (pdu_send(c, &p)) {
			snprintf(err, errlen, "send failed: %s",
				 conn_why(c));
			return -1;
		}
		if (login_wait_rsp(c, deadline, &cls, &det, &r)) {
			snprintf(err, errlen, "no login response (round %d, stage %d): %s",
				 round + 1, csg, conn_why(c));
			return -1;
		}
		bhs = r->buf + ISER_HDR_LEN;
		fl = bhs[1];
		if (cls) {
			snprintf(err, errlen, "login refused: %s",
				 login_status(cls, det));
			free(r);
			return 1;
		}
		c->tsih = get16(bhs + 14);
		{
			uint32_t off = HDRS_LEN + (uint32_t)bhs[B_AHSLEN] * 4;
			uint32_t n = r->len > off ? r->len - off : 0;

			if (n > get24(bhs + B_DLEN))
				n = get24(bhs + B_DLEN);
			parse_keys(c, r->buf + off, n);
		}
		free(r);
		if (fl & LOGIN_T) {
			int got = fl & 3;

			if (got == STAGE_FFP) {
				info("login complete: TSIH %u, CmdSN %u, MaxCmdSN %u, "
				     "TargetRecvDataSegmentLength %u, FirstBurstLength %u, "
				     "ImmediateData %s, InitialR2T %s",
				     c->tsih, c->cmdsn, c->max_cmdsn, c->trdsl,
				     c->first_burst, c->immediate_data ? "Yes" : "No",
				     c->initial_r2t ? "Yes" : "No");
				return 0;
			}
			if (got == STAGE_OP && csg == STAGE_SEC) {
				csg = STAGE_OP;
				nsg = STAGE_FFP;
				snprintf(keys, sizeof(keys), "%s", ops);
				continue;
			}
		}
		/* The target wants another round in this stage. */
		keys[0] = 0;
	}
	snprintf(err, errlen, "login did not complete in 8 rounds");
	return -1;
}

/* ---- SCSI ------------------------------------------------------------- */

void cdb_rw10(uint8_t *cdb, bool write, uint32_t lba, uint16_t blocks)
{
	memset(cdb, 0, 16);
	cdb[0] = write ? SCSI_WRITE10 : SCSI_READ10;
	put32(cdb + 2, lba);
	put16(cdb + 7, blocks);
}

static int send_data_out(struct conn *c, uint32_t itt, const uint8_t *data,
			 uint32_t off, uint32_t len, uint32_t datasn, bool final)
{
	struct pdu p;

	pdu_init(&p, OP_DATA_OUT, final ? FLAG_FINAL : 0);
	put_lun(p.bhs, o.lun);
	put32(p.bhs + B_ITT, itt);
	put32(p.bhs + B_TTT, RSVD_TAG);
	put32(p.bhs + B_EXPSTATSN, c->exp_statsn);
	put32(p.bhs + 36, datasn);
	put32(p.bhs + 40, off);
	p.data = data + off;
	p.datalen = len;
	return pdu_send(c, &p);
}

/*
 * Send a SCSI command the way the Linux iSER initiator does: immediate
 * data, then unsolicited Data-Out up to FirstBurstLength when InitialR2T
 * is No, and the rest left for the target to RDMA READ from our buffer
 * at the address just past what was already sent.
 */
int scsi_send(struct conn *c, struct scsi_req *r)
{
	uint32_t unsol = 0, imm = r->imm, off;
	struct pdu p;
	uint8_t flags = CMD_ATTR_SIMPLE;
	uint32_t datasn = 0;

	r->itt = next_itt(c);
	if (r->write && !c->initial_r2t && r->unsol)
		unsol = r->edtl < c->first_burst ? r->edtl : c->first_burst;
	if (unsol < imm)
		unsol = imm;
	if (r->read)
		flags |= CMD_READ;
	if (r->write)
		flags |= CMD_WRITE;
	if (r->final || unsol <= imm)
		flags |= FLAG_FINAL;
	pdu_init(&p, OP_SCSI_CMD, flags);
	put_lun(p.bhs, o.lun);
	put32(p.bhs + B_ITT, r->itt);
	put32(p.bhs + B_TTT, r->edtl);
	put32(p.bhs + B_CMDSN, c->cmdsn++);
	put32(p.bhs + B_EXPSTATSN, c->exp_statsn);
	memcpy(p.bhs + B_CDB, r->cdb, 16);
	if (!r->no_stag) {
		if (r->read) {
			p.ih[0] |= ISER_FLAG_RSV;
			put32(p.ih + 16, r->stag);
			put64(p.ih + 20, r->va);
		}
		if (r->write && r->edtl > unsol) {
			p.ih[0] |= ISER_FLAG_WSV;
			put32(p.ih + 4, r->stag);
			put64(p.ih + 8, r->va + unsol);
		}
	}
	if (imm) {
		p.data = r->buf;
		p.datalen = imm;
	}
	if (pdu_send(c, &p))
		return -1;
	for (off = imm; off < unsol;) {
		uint32_t n = unsol - off < c->trdsl ? unsol - off : c->trdsl;

		if (send_data_out(c, r->itt, r->buf, off, n, datasn++,
				  off + n == unsol))
			return -1;
		off += n;
	}
	return 0;
}

static void fill_rsp(const struct rpdu *pr, struct scsi_rsp *rsp)
{
	const uint8_t *bhs = pr->buf + ISER_HDR_LEN;
	uint32_t dlen = get24(bhs + B_DLEN);
	const uint8_t *d = pr->buf + HDRS_LEN + bhs[B_AHSLEN] * 4;

	memset(rsp, 0, sizeof(*rsp));
	rsp->flags = bhs[1];
	rsp->response = bhs[2];
	rsp->status = bhs[3];
	rsp->residual = get32(bhs + 44);
	if (dlen >= 2 + 14 && pr->len >= HDRS_LEN + (uint32_t)bhs[B_AHSLEN] * 4 + 16) {
		const uint8_t *s = d + 2;

		if ((s[0] & 0x7f) >= 0x72) {
			rsp->sense_key = s[1] & 0xf;
			rsp->asc = s[2];
			rsp->ascq = s[3];
		} else {
			rsp->sense_key = s[2] & 0xf;
			rsp->asc = s[12];
			rsp->ascq = s[13];
		}
	}
}

/* Waits for the response (or a Reject) to the command with @itt. */
int scsi_wait(struct conn *c, uint32_t itt, double deadline,
	      struct scsi_rsp *rsp)
{
	for (;;) {
		struct rpdu *r = conn_next(c, deadline);
		const uint8_t *bhs;
		uint8_t op;

		if (!r)
			return -1;
		if (r->len < HDRS_LEN) {
			free(r);
			continue;
		}
		bhs = r->buf + ISER_HDR_LEN;
		op = bhs[0] & OP_MASK;
		if (op == OP_SCSI_RSP && get32(bhs + B_ITT) == itt) {
			fill_rsp(r, rsp);
			free(r);
			return 0;
		}
		if (op == OP_REJECT && r->len >= HDRS_LEN + BHS_LEN &&
		    get32(r->buf + HDRS_LEN + B_ITT) == itt) {
			memset(rsp, 0, sizeof(*rsp));
			rsp->rejected = true;
			rsp->reject_reason = bhs[2];
			free(r);
			return 0;
		}
		dbg("ignoring %s while waiting for itt 0x%x", op_name(op), itt);
		free(r);
	}
}

int scsi_exec(struct conn *c, struct scsi_req *r, double deadline,
	      struct scsi_rsp *rsp)
{
	if (scsi_send(c, r))
		return -1;
	return scsi_wait(c, r->itt, deadline, rsp);
}

/* ---- NOP, TMF, logout ------------------------------------------------ */

int nop_send(struct conn *c, uint32_t itt, const uint8_t *data, uint32_t len)
{
	struct pdu p;

	pdu_init(&p, OP_NOOP_OUT | OP_IMMEDIATE, FLAG_FINAL);
	put_lun(p.bhs, o.lun);
	put32(p.bhs + B_ITT, itt);
	put32(p.bhs + B_TTT, RSVD_TAG);
	put32(p.bhs + B_CMDSN, c->cmdsn);
	put32(p.bhs + B_EXPSTATSN, c->exp_statsn);
	p.data = data;
	p.datalen = len;
	return pdu_send(c, &p);
}

/* A NOP-Out ping with data; 0 when the NOP-In echoes it. */
int nop_ping(struct conn *c, double deadline)
{
	uint8_t ping[16];
	uint32_t itt = next_itt(c);
	int i;

	for (i = 0; i < 16; i++)
		ping[i] = (uint8_t)(itt * 7 + i);
	if (nop_send(c, itt, ping, sizeof(ping)))
		return -1;
	for (;;) {
		struct rpdu *r = conn_next(c, deadline);
		const uint8_t *bhs;

		if (!r)
			return -1;
		bhs = r->buf + ISER_HDR_LEN;
		if (r->len >= HDRS_LEN && (bhs[0] & OP_MASK) == OP_NOOP_IN &&
		    get32(bhs + B_ITT) == itt) {
			bool same = get24(bhs + B_DLEN) == sizeof(ping) &&
				    r->len >= HDRS_LEN + sizeof(ping) &&
				    !memcmp(r->buf + HDRS_LEN, ping, sizeof(ping));

			free(r);
			if (!same)
				info("NOP-In did not echo the ping data");
			return same ? 0 : -1;
		}
		free(r);
	}
}

int tmf_send(struct conn *c, uint8_t function, uint32_t rtt, uint32_t refcmdsn,
	     uint32_t itt)
{
	struct pdu p;

	pdu_init(&p, OP_TMF | OP_IMMEDIATE, FLAG_FINAL | function);
	put_lun(p.bhs, o.lun);
	put32(p.bhs + B_ITT, itt);
	put32(p.bhs + B_TTT, rtt);
	put32(p.bhs + B_CMDSN, c->cmdsn);
	put32(p.bhs + B_EXPSTATSN, c->exp_statsn);
	put32(p.bhs + 32, refcmdsn);
	return pdu_send(c, &p);
}

/* One Text Request with F=1; @text (NUL included) or no data when NULL. */
int text_send(struct conn *c, uint32_t itt, uint32_t ttt, bool imm,
	      uint32_t cmdsn, const char *text)
{
	struct pdu p;

	pdu_init(&p, OP_TEXT | (imm ? OP_IMMEDIATE : 0), FLAG_FINAL);
	put32(p.bhs + B_ITT, itt);
	put32(p.bhs + B_TTT, ttt);
	put32(p.bhs + B_CMDSN, cmdsn);
	put32(p.bhs + B_EXPSTATSN, c->exp_statsn);
	if (text) {
		p.data = (const uint8_t *)text;
		p.datalen = (uint32_t)strlen(text) + 1;
	}
	return pdu_send(c, &p);
}

/* Logout (close the session) and wait for the response and the close. */
int logout(struct conn *c, double deadline)
{
	struct pdu p;
	uint32_t itt = next_itt(c);

	pdu_init(&p, OP_LOGOUT | OP_IMMEDIATE, FLAG_FINAL | 0);
	put32(p.bhs + B_ITT, itt);
	put16(p.bhs + 20, c->cid);
	put32(p.bhs + B_CMDSN, c->cmdsn);
	put32(p.bhs + B_EXPSTATSN, c->exp_statsn);
	if (pdu_send(c, &p))
		return -1;
	for (;;) {
		struct rpdu *r = conn_next(c, deadline);
		const uint8_t *bhs;

		if (!r)
			return -1;
		bhs = r->buf + ISER_HDR_LEN;
		if (r->len >= HDRS_LEN && (bhs[0] & OP_MASK) == OP_LOGOUT_RSP) {
			uint8_t resp = bhs[2];

			free(r);
			if (resp) {
				info("logout response %u", resp);
				return -1;
			}
			break;
		}
		free(r);
	}
	/* The target closes the connection after a logout response. */
	while (conn_alive(c) && now() < deadline)
		conn_poll(c, 100);
	if (conn_alive(c))
		info("target did not close the connection after logout");
	return 0;
}
