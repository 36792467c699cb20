// SPDX-License-Identifier: GPL-2.0
/*
 * iser-hostile: what the scenarios share: their result, connecting and
 * logging in, judging the target after the hostile act (dropped, alive,
 * wedged or dead), the raw knobs, data patterns and the commands that
 * several scenarios start with.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostile.h"

/* ---- results --------------------------------------------------------- */

void note(struct result *res, const char *fmt, ...)
{
	size_t n = strlen(res->detail);
	va_list ap;

	if (n && n + 2 < sizeof(res->detail)) {
		strcpy(res->detail + n, "; ");
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(res->detail + n, sizeof(res->detail) - n, fmt, ap);
	va_end(ap);
}

void set_out(struct result *res, enum outcome out, double since)
{
	res->out = out;
	res->secs = since ? now() - since : 0;
}

/* ---- connecting and logging in ------------------------------------ */

const uint8_t iser_pdata[ISER_CM_REQ_LEN] = {
	ISER_CM_ZBVA_NOT_SUPPORTED | ISER_CM_SIE_NOT_SUPPORTED, 0, 0, 0,
};

void conn_ids(struct conn *c)
{
	static unsigned int n;
	unsigned int r = (unsigned int)getpid() * 2654435761u + ++n;

	/* ISID type "random" (RFC 7143 10.12.5), unique per connection. */
	c->isid[0] = 0x80;
	c->isid[1] = (uint8_t)(r >> 16);
	c->isid[2] = (uint8_t)(r >> 8);
	c->isid[3] = (uint8_t)r;
	c->isid[4] = (uint8_t)(n >> 8);
	c->isid[5] = (uint8_t)n;
	c->cmdsn = 1;
	c->itt = 0x100;
	c->cid = 0;
}

/*
 * Connect with well-formed CM private data, its first bytes replaced by
 * --pdata if given; NULL and @res set on failure.
 */
struct conn *open_conn(struct result *res, const struct conn_cfg *cfg)
{
	uint8_t pd[ISER_CM_REQ_LEN];
	struct conn_cfg def;
	struct conn *c;
	int ret;

	if (!cfg) {
		conn_cfg_default(&def);
		cfg = &def;
	}
	c = conn_new(cfg, NULL, NULL);
	if (!c) {
		set_out(res, OUT_ERROR, 0);
		note(res, "cannot create a connection");
		return NULL;
	}
	conn_ids(c);
	/* --pdata: this session's connect request says what it gives. */
	memcpy(pd, iser_pdata, sizeof(pd));
	if (o.pdata_hex && hex_bytes(o.pdata_hex, pd, sizeof(pd)) < 0) {
		set_out(res, OUT_ERROR, 0);
		note(res, "bad --pdata");
		conn_free(c);
		return NULL;
	}
	ret = conn_connect(c, pd, sizeof(pd), o.timeout);
	if (ret) {
		set_out(res, ret < 0 || !c->refused ? OUT_ERROR : OUT_REFUSED, 0);
		note(res, "connect: %s", conn_why(c));
		conn_free(c);
		return NULL;
	}
	info("connected through %s", conn_dev_name(c));
	return c;
}

/* read_attr() - the first line of a sysfs or configfs attribute. */
int read_attr(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int ret;

	if (!f)
		return -1;
	ret = fgets(buf, (int)len, f) ? 0 : -1;
	fclose(f);
	return ret;
}

int write_attr(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -1;
	ret = fputs(val, f) < 0 ? -1 : 0;
	if (fclose(f))
		ret = -1;
	return ret;
}

/*
 * --target-attr param/NAME=VALUE or acl/NAME=VALUE: set a parameter of the
 * target's TPG 1, or an attribute of our node ACL there, in LIO's configfs
 * (on this host) for the login; the old value goes to @old.
 */
int target_attr_set(char *path, size_t plen, char *old, size_t olen)
{
	const char *a = o.target_attr, *eq = a ? strchr(a, '=') : NULL;
	char dir[512];

	if (!eq)
		return 0;
	if (!strncmp(a, "param/", 6))
		snprintf(dir, sizeof(dir), "tpgt_1/param");
	else if (!strncmp(a, "acl/", 4))
		snprintf(dir, sizeof(dir), "tpgt_1/acls/%s/attrib", o.initiator);
	else
		return -1;
	a = strchr(a, '/') + 1;
	snprintf(path, plen, "/sys/kernel/config/target/iscsi/%s/%s/%.*s",
		 o.iqn, dir, (int)(eq - a), a);
	if (read_attr(path, old, olen))
		return -1;
	old[strcspn(old, "\n")] = 0;
	return write_attr(path, eq + 1);
}

/* When open_session() last completed a login (login-starve times it). */
double login_done_at;

/* Connect and log in; a failure here is a set-up error, not a finding. */
struct conn *open_session(struct result *res, const struct conn_cfg *cfg)
{
	struct login_keys k = {
		.session_type = o.session, .extra = o.keys,
		.two_stage = o.two_stage,
	};
	char path[1024] = "", old[64] = "";
	struct conn *c = open_conn(res, cfg);
	char err[256];
	int ret;

	if (!c)
		return NULL;
	if (target_attr_set(path, sizeof(path), old, sizeof(old))) {
		set_out(res, OUT_ERROR, 0);
		note(res, "cannot set %s: needs the target's configfs here",
		     o.target_attr);
		conn_free(c);
		return NULL;
	}
	ret = login(c, &k, now() + o.timeout, err, sizeof(err));
	if (*path)
		write_attr(path, old);
	if (ret) {
		set_out(res, OUT_ERROR, 0);
		note(res, "could not log in: %s", err);
		conn_free(c);
		return NULL;
	}
	login_done_at = now();
	return c;
}

/* ---- after the hostile act ---------------------------------------- */

static bool expecting(const char *what)
{
	return o.expect && !strcmp(o.expect, what);
}

/* Records what a PDU that arrived after the hostile act says. */
void note_pdu(struct result *res, const struct rpdu *r)
{
	const uint8_t *bhs = r->buf + ISER_HDR_LEN;
	uint8_t op;

	if (r->len < HDRS_LEN) {
		note(res, "target sent a %u-byte PDU", r->len);
		return;
	}
	op = bhs[0] & OP_MASK;
	switch (op) {
	case OP_REJECT:
		note(res, "target sent Reject (reason 0x%02x)", bhs[2]);
		break;
	case OP_SCSI_RSP:
		note(res, "SCSI Response: response %u status 0x%02x%s", bhs[2],
		     bhs[3], bhs[1] & 0x06 ? " with residual" : "");
		break;
	case OP_LOGIN_RSP:
		note(res, "Login Response: status class %u detail %u", bhs[36],
		     bhs[37]);
		break;
	case OP_NOOP_IN:
		break;
	default:
		note(res, "target sent %s", op_name(op));
		break;
	}
}

/* The target tore the connection down: say so in @res. */
void dropped(struct conn *c, double t_act, struct result *res)
{
	res->out = c->established ? OUT_DROPPED : OUT_REFUSED;
	res->secs = c->t_down - t_act;
	if (c->qp_dead && c->t_qp_dead <= c->t_down)
		note(res, "queue pair failed after %.2f s (%s), then %s",
		     c->t_qp_dead - t_act, c->qpwhy, c->why);
	else
		note(res, "%s", c->why);
}

/*
 * Wait until @end for the CM to report the connection gone. A failed
 * queue pair alone is not a drop: the target must also disconnect.
 */
void wait_cm_down(struct conn *c, double end, struct result *res)
{
	while (c->state != C_DOWN && now() < end) {
		if (c->qp_dead) {
			conn_poll(c, 200);
		} else {
			struct rpdu *r = conn_next(c, end);

			if (r) {
				if (res)
					note_pdu(res, r);
				free(r);
			}
		}
	}
}

/*
 * After the hostile act (at @t_act): wait for the target to drop us. When
 * a drop is expected, wait up to the timeout; otherwise give it two
 * seconds. A connection still up must then answer a NOP-Out ping, or it
 * is wedged. A queue pair that failed must be followed by the target's
 * disconnect within the timeout, or the connection is left dead.
 */
void settle(struct conn *c, double t_act, struct result *res)
{
	double wait = expecting("drop") ? o.timeout : 2.0;

	wait_cm_down(c, t_act + wait, res);
	if (c->state != C_DOWN && c->qp_dead)
		wait_cm_down(c, t_act + o.timeout, res);
	if (c->state == C_DOWN) {
		dropped(c, t_act, res);
		return;
	}
	if (c->qp_dead) {
		set_out(res, OUT_DEAD, t_act);
		note(res, "queue pair failed after %.2f s (%s) but the target did "
		     "not disconnect within %.0f s", c->t_qp_dead - t_act,
		     c->qpwhy, o.timeout);
		return;
	}
	if (nop_ping(c, now() + 5) == 0) {
		set_out(res, OUT_ALIVE, t_act);
		note(res, "connection still up, NOP-Out ping answered");
		return;
	}
	if (!conn_alive(c)) {
		wait_cm_down(c, now() + o.timeout, res);
		if (c->state == C_DOWN) {
			dropped(c, t_act, res);
			return;
		}
		set_out(res, OUT_DEAD, t_act);
		note(res, "queue pair failed (%s) but the target did not "
		     "disconnect within %.0f s", c->qpwhy, o.timeout);
		return;
	}
	set_out(res, OUT_WEDGED, t_act);
	note(res, "connection up but a NOP-Out ping got no answer in 5 s");
}

/*
 * Stop reposting receive buffers and use up those posted, one answered
 * NOP-Out ping each: the target's next SEND then finds no receive buffer,
 * and our adapter answers it with RNR NAKs until conn_resume(). The target
 * retries for ever (our connect request asks for RNR retry count 7,
 * "infinite"), so that send stays posted and uncompleted for as long as we
 * like.
 * Returns 0 once no receive buffer is posted.
 */
int rx_starve(struct conn *c, double deadline)
{
	c->repost = false;
	while (c->rx_posted && conn_alive(c))
		if (nop_ping(c, deadline))
			return -1;
	return c->rx_posted || !conn_alive(c) ? -1 : 0;
}

/* Keep the connection serviced, and read nothing, for @secs. */
void serve_for(struct conn *c, double secs)
{
	double end = now() + secs;

	while (conn_alive(c) && now() < end)
		conn_poll(c, 50);
}

/* ---- PDUs, data and commands --------------------------------------- */

int hex_bytes(const char *hex, uint8_t *out, size_t max)
{
	size_t n = 0;

	while (hex && *hex && n < max) {
		unsigned int v;

		if (*hex == ':' || *hex == ' ' || *hex == '-') {
			hex++;
			continue;
		}
		if (sscanf(hex, "%2x", &v) != 1)
			return -1;
		out[n++] = (uint8_t)v;
		hex += hex[1] ? 2 : 1;
	}
	return (int)n;
}

/* Applies the raw knobs to a PDU about to be sent. */
int apply_knobs(struct pdu *p, uint8_t *data, uint32_t datasz)
{
	if (o.iser_flags >= 0)
		p->ih[0] = (uint8_t)o.iser_flags;
	if (o.opcode >= 0)
		p->bhs[0] = (uint8_t)o.opcode;
	if (o.bhs_flags >= 0)
		p->bhs[1] = (uint8_t)o.bhs_flags;
	if (o.itt >= 0)
		put32(p->bhs + B_ITT, (uint32_t)o.itt);
	if (o.ttt >= 0)
		put32(p->bhs + B_TTT, (uint32_t)o.ttt);
	if (o.ahs_hex) {
		int n = hex_bytes(o.ahs_hex, p->ahs, sizeof(p->ahs));

		if (n < 0)
			return -1;
		p->ahslen = (uint32_t)n;
	}
	if (o.data_len >= 0) {
		uint32_t i, n = o.data_len > datasz ? datasz : (uint32_t)o.data_len;

		for (i = 0; i < n; i++)
			data[i] = (uint8_t)('A' + i % 26);
		p->data = data;
		p->datalen = n;
	}
	p->bhs[B_AHSLEN] = (uint8_t)(p->ahslen / 4);
	put24(p->bhs + B_DLEN, p->datalen);
	if (o.ahs_words >= 0)
		p->bhs[B_AHSLEN] = (uint8_t)o.ahs_words;
	if (o.dlen >= 0)
		put24(p->bhs + B_DLEN, (uint32_t)o.dlen);
	return 0;
}

static uint32_t pattern_word(uint64_t seed, uint64_t byte)
{
	uint64_t x = seed ^ (byte * 0x9e3779b97f4a7c15ull);

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 29;
	return (uint32_t)x;
}

void fill_pattern(uint8_t *p, size_t len, uint64_t seed, uint64_t at)
{
	size_t i;

	for (i = 0; i + 4 <= len; i += 4)
		put32(p + i, pattern_word(seed, at + i));
}

uint32_t imm_len(const struct conn *c, uint32_t edtl)
{
	uint32_t n = edtl;

	if (!c->immediate_data)
		return 0;
	if (n > c->first_burst)
		n = c->first_burst;
	if (n > c->trdsl)
		n = c->trdsl;
	return n;
}

/*
 * A logged-in session whose LUN answers TEST UNIT READY and, if
 * @unsolicited, that may send unsolicited Data-Out (InitialR2T=No). NULL,
 * with the result set, if not.
 */
struct conn *open_write_session(struct result *res, bool unsolicited)
{
	struct conn *c = open_session(res, NULL);

	if (!c)
		return NULL;
	if (unsolicited && c->initial_r2t) {
		set_out(res, OUT_ERROR, 0);
		note(res, "needs InitialR2T=No on the target");
		conn_free(c);
		return NULL;
	}
	if (tur(c, res)) {
		set_out(res, OUT_ERROR, 0);
		conn_free(c);
		return NULL;
	}
	return c;
}

/*
 * Applies the command line's knobs to @p (whose data segment is @data),
 * sends it, the first --send-len bytes only if given, watches what
 * follows, and frees @c.
 */
void send_knobbed(struct conn *c, struct pdu *p, uint8_t *data, uint32_t datasz,
		  struct result *res)
{
	double t;

	if (apply_knobs(p, data, datasz)) {
		set_out(res, OUT_ERROR, 0);
		note(res, "bad knob value");
		conn_free(c);
		return;
	}
	t = now();
	if (pdu_send_len(c, p, o.send_len) && conn_alive(c)) {
		set_out(res, OUT_ERROR, 0);
		note(res, "send failed");
		conn_free(c);
		return;
	}
	settle(c, t, res);
	conn_free(c);
}

/* TEST UNIT READY until a unit attention is out of the way. */
int tur(struct conn *c, struct result *res)
{
	int i;

	for (i = 0; i < 4; i++) {
		struct scsi_req r = { .final = true };
		struct scsi_rsp rsp;

		r.cdb[0] = SCSI_TUR;
		if (scsi_exec(c, &r, now() + o.timeout, &rsp)) {
			note(res, "TEST UNIT READY: no response (%s)",
			     conn_why(c));
			return -1;
		}
		if (!rsp.rejected && rsp.status == SCSI_GOOD)
			return 0;
		info("TEST UNIT READY: status 0x%02x sense %x/%02x/%02x",
		     rsp.status, rsp.sense_key, rsp.asc, rsp.ascq);
	}
	note(res, "TEST UNIT READY never succeeded");
	return -1;
}

/* A READ(10) of @blocks 512-byte blocks at --lba into the data buffer. */
void read_req(struct conn *c, struct scsi_req *r, uint16_t blocks)
{
	memset(r, 0, sizeof(*r));
	cdb_rw10(r->cdb, false, (uint32_t)o.lba, blocks);
	r->read = true;
	r->edtl = blocks * 512u;
	r->buf = c->data;
	r->stag = c->dmr->rkey;
	r->va = (uintptr_t)c->data;
}

/* A WRITE that waits for unsolicited Data-Out (F=0, nothing sent yet). */
uint32_t pending_write(struct conn *c, uint32_t edtl)
{
	struct scsi_req r = {};

	cdb_rw10(r.cdb, true, (uint32_t)o.lba, (uint16_t)(edtl / 512));
	r.write = true;
	r.edtl = edtl;
	r.final = false;
	r.buf = c->data;
	r.stag = c->dmr->rkey;
	r.va = (uintptr_t)c->data;
	/*
	 * scsi_send() would send the Data-Out itself: build it here. With
	 * --final 1 no unsolicited data follows and the target fetches all of
	 * it by RDMA READ at once, so that the next PDU meets that READ; with
	 * --imm N too, the first N bytes come as immediate data, and with N
	 * equal to EDTL nothing is left to fetch.
	 */
	{
		bool fetch = o.final == 1;
		uint32_t imm = 0;
		struct pdu p;

		if (fetch && o.imm > 0 && c->immediate_data) {
			imm = (uint32_t)o.imm;
			if (imm > edtl)
				imm = edtl;
			if (imm > c->cfg.datasz)
				imm = (uint32_t)c->cfg.datasz;
		}

		r.itt = next_itt(c);
		pdu_init(&p, OP_SCSI_CMD, CMD_WRITE | CMD_ATTR_SIMPLE |
			 (fetch ? FLAG_FINAL : 0));
		p.bhs[B_LUN + 1] = (uint8_t)o.lun;
		put32(p.bhs + B_ITT, r.itt);
		put32(p.bhs + B_TTT, edtl);
		put32(p.bhs + B_CMDSN, c->cmdsn++);
		put32(p.bhs + B_EXPSTATSN, c->exp_statsn);
		memcpy(p.bhs + B_CDB, r.cdb, 16);
		if ((fetch && imm < edtl) || (!fetch && edtl > c->first_burst)) {
			p.ih[0] |= ISER_FLAG_WSV;
			put32(p.ih + 4, r.stag);
			put64(p.ih + 8, r.va + (fetch ? imm : c->first_burst));
		}
		if (imm) {
			p.data = c->data;
			p.datalen = imm;
			put24(p.bhs + B_DLEN, imm);
		}
		if (pdu_send(c, &p))
			return 0;
	}
	return r.itt;
}
