// SPDX-License-Identifier: GPL-2.0
/*
 * iser-hostile: a user-space iSER (RFC 7145) initiator that logs in
 * properly and then misbehaves on purpose, one scenario per run, to check
 * that an iSER target drops the offending connection, and only that one,
 * without crashing, leaking or hanging. See iser-hostile.8.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hostile.h"

struct opts o;
static double t_begin;
static volatile sig_atomic_t stop_flag;

double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void vlog(int level, const char *fmt, ...)
{
	va_list ap;

	if (o.verbose < level)
		return;
	fprintf(stderr, "[%7.3f] ", now() - t_begin);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void warnx_(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "iser-hostile: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- results --------------------------------------------------------- */

enum outcome {
	OUT_REFUSED,	/* the connect was rejected */
	OUT_DROPPED,	/* the target tore the connection down */
	OUT_ALIVE,	/* the connection still works (NOP ping answered) */
	OUT_VERIFIED,	/* good: data written and read back equal */
	OUT_WEDGED,	/* up, but the target answers nothing any more */
	OUT_DEAD,	/* the queue pair failed, the target never disconnected */
	OUT_FAILED,	/* the target did something wrong (bad data, ...) */
	OUT_ERROR,	/* the tool could not run the scenario */
};

static const char *const outcome_names[] = {
	"refused", "dropped", "alive", "verified", "wedged", "dead", "failed",
	"error",
};

struct result {
	enum outcome out;
	double secs;		/* from the hostile act to the outcome */
	char detail[1024];
};

static void note(struct result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note(struct result *res, const char *fmt, ...)
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

static void set_out(struct result *res, enum outcome out, double since)
{
	res->out = out;
	res->secs = since ? now() - since : 0;
}

/* ---- helpers ------------------------------------------------------- */

static const uint8_t iser_pdata[ISER_CM_REQ_LEN] = {
	ISER_CM_ZBVA_NOT_SUPPORTED | ISER_CM_SIE_NOT_SUPPORTED, 0, 0, 0,
};

static void conn_ids(struct conn *c)
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

/* Connect with well-formed CM private data; NULL and @res set on failure. */
static struct conn *open_conn(struct result *res, const struct conn_cfg *cfg)
{
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
	ret = conn_connect(c, iser_pdata, sizeof(iser_pdata), o.timeout);
	if (ret) {
		set_out(res, ret < 0 || !c->refused ? OUT_ERROR : OUT_REFUSED, 0);
		note(res, "connect: %s", conn_why(c));
		conn_free(c);
		return NULL;
	}
	info("connected through %s", conn_dev_name(c));
	return c;
}

static int write_attr(const char *path, const char *val);

/*
 * --target-attr param/NAME=VALUE or acl/NAME=VALUE: set a parameter of the
 * target's TPG 1, or an attribute of our node ACL there, in LIO's configfs
 * (on this host) for the login; the old value goes to @old.
 */
static int target_attr_set(char *path, size_t plen, char *old, size_t olen)
{
	const char *a = o.target_attr, *eq = a ? strchr(a, '=') : NULL;
	char dir[512];
	FILE *f;

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
	f = fopen(path, "r");
	if (!f || !fgets(old, (int)olen, f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	old[strcspn(old, "\n")] = 0;
	return write_attr(path, eq + 1);
}

/* When open_session() last completed a login (login-starve times it). */
static double login_done_at;

/* Connect and log in; a failure here is a set-up error, not a finding. */
static struct conn *open_session(struct result *res, const struct conn_cfg *cfg)
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

static bool expecting(const char *what)
{
	return o.expect && !strcmp(o.expect, what);
}

/* Records what a PDU that arrived after the hostile act says. */
static void note_pdu(struct result *res, const struct rpdu *r)
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
static void dropped(struct conn *c, double t_act, struct result *res)
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
static void wait_cm_down(struct conn *c, double end, struct result *res)
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
static void settle(struct conn *c, double t_act, struct result *res)
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

static int hex_bytes(const char *hex, uint8_t *out, size_t max)
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

static uint32_t pattern_word(uint64_t seed, uint64_t byte)
{
	uint64_t x = seed ^ (byte * 0x9e3779b97f4a7c15ull);

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 29;
	return (uint32_t)x;
}

static void fill_pattern(uint8_t *p, size_t len, uint64_t seed, uint64_t at)
{
	size_t i;

	for (i = 0; i + 4 <= len; i += 4)
		put32(p + i, pattern_word(seed, at + i));
}

static uint32_t parse_size(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (*end == 'k' || *end == 'K')
		v <<= 10;
	else if (*end == 'm' || *end == 'M')
		v <<= 20;
	return (uint32_t)v;
}

static uint32_t imm_len(const struct conn *c, uint32_t edtl)
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

/* TEST UNIT READY until a unit attention is out of the way. */
static int tur(struct conn *c, struct result *res)
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

/* ---- scenario: good ------------------------------------------------- */

static int sc_good(struct result *res)
{
	struct conn *c = open_session(res, NULL);
	uint8_t *src, *dst;
	uint64_t seed = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
	uint32_t sizes[16], nsizes = 0, blk, i, total = 0;
	uint64_t lba, cap_blocks;
	char list[256], *tok, *save;
	struct scsi_rsp rsp;
	struct scsi_req r;
	double t0 = now();

	if (!c)
		return 0;
	if (tur(c, res))
		goto fail;
	memset(&r, 0, sizeof(r));
	r.cdb[0] = SCSI_READCAP10;
	r.read = true;
	r.final = true;
	r.edtl = 8;
	r.buf = c->data;
	r.stag = c->dmr->rkey;
	r.va = (uintptr_t)c->data;
	if (scsi_exec(c, &r, now() + o.timeout, &rsp) || rsp.rejected ||
	    rsp.status != SCSI_GOOD) {
		note(res, "READ CAPACITY failed");
		goto fail;
	}
	cap_blocks = (uint64_t)get32(c->data) + 1;
	blk = get32(c->data + 4);
	info("LUN %u: %llu blocks of %u bytes", o.lun,
	     (unsigned long long)cap_blocks, blk);
	if (blk != 512 && blk != 4096) {
		note(res, "READ CAPACITY: odd block size %u", blk);
		goto fail;
	}

	snprintf(list, sizeof(list), "%s", o.sizes);
	for (tok = strtok_r(list, ",", &save); tok && nsizes < 16;
	     tok = strtok_r(NULL, ",", &save)) {
		uint32_t s = parse_size(tok);

		if (!s || s % blk || s > (1u << 20)) {
			set_out(res, OUT_ERROR, 0);
			note(res, "bad size '%s' (multiple of %u up to 1 MiB)", tok, blk);
			conn_free(c);
			return 0;
		}
		sizes[nsizes++] = s;
		total += s;
	}
	if (o.lba + total / blk > cap_blocks) {
		set_out(res, OUT_ERROR, 0);
		note(res, "LBA %llu + %u KiB is beyond the LUN", (unsigned long long)o.lba,
		     total >> 10);
		conn_free(c);
		return 0;
	}
	src = c->data;
	dst = c->data + (1u << 20);

	lba = o.lba;
	for (i = 0; i < nsizes; i++) {
		uint32_t s = sizes[i];

		fill_pattern(src, s, seed, lba * blk);
		memset(&r, 0, sizeof(r));
		cdb_rw10(r.cdb, true, (uint32_t)lba, (uint16_t)(s / blk));
		r.write = true;
		r.edtl = s;
		r.imm = imm_len(c, s);
		r.unsol = true;
		r.buf = src;
		r.stag = c->dmr->rkey;
		r.va = (uintptr_t)src;
		if (scsi_exec(c, &r, now() + o.timeout, &rsp) || rsp.rejected ||
		    rsp.status != SCSI_GOOD) {
			note(res, "WRITE(10) of %u bytes at LBA %llu failed (%s)", s,
			     (unsigned long long)lba, rsp.rejected ? "rejected" :
			     c->why ? c->why : "no good status");
			goto fail;
		}
		lba += s / blk;
	}
	lba = o.lba;
	for (i = 0; i < nsizes; i++) {
		uint32_t s = sizes[i], off;

		memset(dst, 0xee, s);
		memset(&r, 0, sizeof(r));
		cdb_rw10(r.cdb, false, (uint32_t)lba, (uint16_t)(s / blk));
		r.read = true;
		r.final = true;
		r.edtl = s;
		r.buf = dst;
		r.stag = c->dmr->rkey;
		r.va = (uintptr_t)dst;
		if (scsi_exec(c, &r, now() + o.timeout, &rsp) || rsp.rejected ||
		    rsp.status != SCSI_GOOD) {
			note(res, "READ(10) of %u bytes at LBA %llu failed", s,
			     (unsigned long long)lba);
			goto fail;
		}
		fill_pattern(src, s, seed, lba * blk);
		for (off = 0; off < s; off += 4)
			if (memcmp(src + off, dst + off, 4))
				break;
		if (off < s) {
			set_out(res, OUT_FAILED, t0);
			note(res, "data mismatch in %u-byte read at LBA %llu, byte %u",
			     s, (unsigned long long)lba, off);
			conn_free(c);
			return 0;
		}
		lba += s / blk;
	}
	if (nop_ping(c, now() + o.timeout)) {
		note(res, "NOP-Out ping not answered");
		goto fail;
	}
	if (logout(c, now() + o.timeout))
		note(res, "logout did not complete cleanly");
	set_out(res, OUT_VERIFIED, t0);
	note(res, "wrote and read back %u KiB in %u command pairs at LBA %llu "
	     "(immediate data, unsolicited Data-Out, RDMA READ and WRITE)",
	     total >> 10, nsizes, (unsigned long long)o.lba);
	conn_free(c);
	return 0;

fail:
	if (!conn_alive(c)) {
		set_out(res, OUT_DROPPED, t0);
		note(res, "%s", c->qp_dead ? c->qpwhy : c->why);
	} else {
		set_out(res, OUT_FAILED, t0);
	}
	conn_free(c);
	return 0;
}

/* ---- connection level ---------------------------------------------- */

static int sc_cm_pdata(struct result *res)
{
	uint8_t pd[64];
	int len = 0;
	struct conn_cfg cfg;
	struct conn *c;
	struct login_keys k = {
		.session_type = "Normal", .two_stage = o.two_stage,
	};
	char err[256];
	double t0;
	int ret;

	if (o.pdata_hex) {
		len = hex_bytes(o.pdata_hex, pd, 56);
		if (len < 0) {
			set_out(res, OUT_ERROR, 0);
			note(res, "bad --pdata");
			return 0;
		}
	} else if (o.pdata_random >= 0) {
		int i;

		len = o.pdata_random > 56 ? 56 : o.pdata_random;
		srandom((unsigned int)(time(NULL) ^ getpid()));
		for (i = 0; i < len; i++)
			pd[i] = (uint8_t)random();
	}
	if (len)
		note(res, "%d bytes of CM private data, flags 0x%02x", len, pd[0]);
	else
		note(res, "no CM private data");
	conn_cfg_default(&cfg);
	c = conn_new(&cfg, NULL, NULL);
	if (!c) {
		set_out(res, OUT_ERROR, 0);
		return 0;
	}
	conn_ids(c);
	t0 = now();
	ret = conn_connect(c, pd, (uint8_t)len, o.timeout);
	if (ret) {
		set_out(res, c->refused ? OUT_REFUSED : OUT_ERROR, t0);
		note(res, "%s", conn_why(c));
		conn_free(c);
		return 0;
	}
	note(res, "connection accepted");
	ret = login(c, &k, now() + o.timeout, err, sizeof(err));
	if (ret) {
		set_out(res, conn_alive(c) ? OUT_FAILED : OUT_DROPPED, t0);
		note(res, "login: %s", err);
		conn_free(c);
		return 0;
	}
	settle(c, now(), res);
	if (res->out == OUT_ALIVE && logout(c, now() + o.timeout))
		note(res, "logout did not complete");
	conn_free(c);
	return 0;
}

static int sc_idle(struct result *res)
{
	struct conn *c = open_conn(res, NULL);
	double t0 = now();

	if (!c)
		return 0;
	while (c->state != C_DOWN && now() < t0 + o.timeout)
		conn_poll(c, 200);
	if (c->state != C_DOWN) {
		set_out(res, OUT_ALIVE, t0);
		note(res, "still connected after %.0f s without a login", o.timeout);
	} else {
		res->out = OUT_DROPPED;
		res->secs = c->t_down - t0;
		note(res, "dropped after %.1f s without a login: %s", res->secs,
		     c->why);
	}
	conn_free(c);
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* Pump the shared event channel of many connections for up to @ms. */
static void pump(struct rdma_event_channel *ec, int ms)
{
	struct pollfd pfd = { .fd = ec->fd, .events = POLLIN };
	struct rdma_cm_event *ev;

	if (poll(&pfd, 1, ms) <= 0)
		return;
	while (rdma_get_cm_event(ec, &ev) == 0) {
		struct rdma_cm_event copy = *ev;
		struct conn *c = ev->id->context;

		rdma_ack_cm_event(ev);
		if (c)
			conn_handle_cm(c, &copy);
	}
}

static void small_cfg(struct conn_cfg *cfg)
{
	cfg->nrx = 1;
	cfg->rxsz = 256;
	cfg->ntx = 1;
	cfg->txsz = 256;
	cfg->datasz = 0;
}

/*
 * Start @n connects on the shared channel @ec into @cs, --parallel at a
 * time, and pump until each is answered (up, refused or failed), the time
 * runs out or a signal stops us. Returns how many were started.
 */
static unsigned int connect_many(struct rdma_event_channel *ec,
				 struct conn **cs, unsigned int n,
				 const struct conn_cfg *cfg)
{
	unsigned int i, started = 0;
	double t0 = now();

	for (;;) {
		unsigned int pending = 0;

		for (i = 0; i < started; i++)
			if (cs[i]->state != C_UP && cs[i]->state != C_DOWN)
				pending++;
		while (started < n && pending < o.parallel) {
			struct conn *c = conn_new(cfg, ec, NULL);

			if (!c)
				break;
			conn_ids(c);
			cs[started++] = c;
			pending++;
			if (conn_start(c, iser_pdata, sizeof(iser_pdata)))
				conn_mark_down(c, "conn_start failed");
		}
		if (started == n && !pending)
			break;
		if (now() > t0 + o.timeout + n * 0.5 || stop_flag)
			break;
		pump(ec, 100);
	}
	return started;
}

/* How the connects of connect_many() were answered: up, refused, failed. */
static void count_answers(struct conn **cs, unsigned int n, unsigned int *up,
			  unsigned int *refused, unsigned int *failed)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (cs[i]->state == C_UP)
			++*up;
		else if (cs[i]->refused)
			++*refused;
		else
			++*failed;
	}
}

/* Disconnect the @n connections of @cs, wait (10 s at most), free them. */
static void hang_up_many(struct rdma_event_channel *ec, struct conn **cs,
			 unsigned int n)
{
	unsigned int i;
	double end;

	for (i = 0; i < n; i++)
		if (cs[i]->state == C_UP) {
			cs[i]->we_disconnected = true;
			rdma_disconnect(cs[i]->id);
		}
	end = now() + 10;
	for (;;) {
		unsigned int left = 0;

		for (i = 0; i < n; i++)
			left += cs[i]->state == C_UP;
		if (!left || now() > end)
			break;
		pump(ec, 100);
	}
	for (i = 0; i < n; i++)
		conn_free(cs[i]);
}

/*
 * Hold --count connections open without logging in for --hold seconds
 * (or until SIGTERM). Prints "READY established=N ..." on stdout once all
 * connects are answered, so that a test can measure the target meanwhile.
 */
static int sc_idle_hold(struct result *res)
{
	struct rdma_event_channel *ec = event_channel();
	struct conn **cs;
	struct conn_cfg cfg;
	unsigned int i, started, up = 0, refused = 0, failed = 0, dropped = 0;
	double t0 = now(), t_ready, first_drop = 0, last_drop = 0, end;

	if (!ec) {
		set_out(res, OUT_ERROR, 0);
		note(res, "cannot create an RDMA CM event channel");
		return 0;
	}
	cs = calloc(o.count, sizeof(*cs));
	small_cfg(&cfg);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	started = connect_many(ec, cs, o.count, &cfg);
	count_answers(cs, started, &up, &refused, &failed);
	t_ready = now();
	printf("READY established=%u refused=%u failed=%u of=%u seconds=%.1f\n",
	       up, refused, failed, o.count, t_ready - t0);
	fflush(stdout);
	note(res, "%u of %u connections established in %.1f s (%u refused, %u failed)",
	     up, o.count, t_ready - t0, refused, failed);

	end = t_ready + o.hold;
	while (!stop_flag && now() < end) {
		pump(ec, 200);
		for (i = 0; i < started; i++) {
			struct conn *c = cs[i];

			if (c->established && c->dropped && !c->user) {
				c->user = 1;
				dropped++;
				last_drop = c->t_down - t_ready;
				if (dropped == 1)
					first_drop = last_drop;
			}
		}
	}
	note(res, "held %.1f s: the target dropped %u of them (first after %.1f s, last after %.1f s)",
	     now() - t_ready, dropped, first_drop, last_drop);
	printf("HELD seconds=%.1f dropped=%u first=%.1f last=%.1f\n",
	       now() - t_ready, dropped, first_drop, last_drop);
	fflush(stdout);
	hang_up_many(ec, cs, started);
	free(cs);
	rdma_destroy_event_channel(ec);
	set_out(res, up == o.count ? OUT_ALIVE : up ? OUT_FAILED : OUT_REFUSED, 0);
	res->secs = t_ready - t0;
	return 0;
}

/*
 * --count connects, --parallel at a time: each is disconnected as soon as
 * it is established; every --abort-every'th is torn down right after its
 * connect request instead, before the target's reply.
 */
static int sc_storm(struct result *res)
{
	struct rdma_event_channel *ec = event_channel();
	struct conn_cfg cfg;
	struct conn *live = NULL, **pp;
	unsigned int started = 0, done = 0, up = 0, refused = 0, aborted = 0;
	unsigned int stuck = 0, failed = 0, inflight = 0;
	double t0 = now(), dt;

	if (!ec) {
		set_out(res, OUT_ERROR, 0);
		return 0;
	}
	small_cfg(&cfg);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	while (done < o.count && !stop_flag) {
		while (started < o.count && inflight < o.parallel &&
		       now() < t0 + o.timeout) {
			struct conn *c = conn_new(&cfg, ec, NULL);

			if (!c)
				break;
			conn_ids(c);
			c->user = (int)++started;
			c->next = live;
			live = c;
			inflight++;
			if (conn_start(c, iser_pdata, sizeof(iser_pdata)))
				conn_mark_down(c, "conn_start failed");
		}
		if (!inflight)
			break;
		pump(ec, 50);
		for (pp = &live; *pp;) {
			struct conn *c = *pp;
			bool finished = false;

			if (c->state == C_UP && !c->we_disconnected) {
				up++;
				c->we_disconnected = true;
				rdma_disconnect(c->id);
			} else if (c->state == C_CONNECTING && o.abort_every &&
				   c->user % (int)o.abort_every == 0) {
				aborted++;
				finished = true;
			} else if (c->state == C_DOWN) {
				if (c->refused)
					refused++;
				else if (!c->established)
					failed++;
				finished = true;
			} else if (now() - c->t_start > 15) {
				stuck++;
				info("connect %d stuck in state %d", c->user, c->state);
				finished = true;
			}
			if (finished) {
				*pp = c->next;
				conn_free(c);
				inflight--;
				done++;
			} else {
				pp = &c->next;
			}
		}
	}
	while (live) {
		struct conn *c = live;

		live = c->next;
		stuck++;
		conn_free(c);
	}
	rdma_destroy_event_channel(ec);
	dt = now() - t0;
	note(res, "%u connects in %.1f s (%.0f per minute): %u established and "
	     "disconnected, %u aborted before the reply, %u refused, %u failed, "
	     "%u stuck", done, dt, dt > 0 ? done * 60.0 / dt : 0.0, up, aborted,
	     refused, failed, stuck);
	set_out(res, stuck || failed ? OUT_WEDGED : done < o.count ? OUT_FAILED :
		OUT_ALIVE, 0);
	res->secs = dt;
	if (done < o.count)
		note(res, "only %u of %u within the %.0f s timeout", done, o.count,
		     o.timeout);
	return 0;
}

/* ---- login level --------------------------------------------------- */

static const char *std_keys_stage0(char *buf, size_t len)
{
	snprintf(buf, len, "InitiatorName=%s;TargetName=%s;SessionType=Normal;"
		 "AuthMethod=None", o.initiator, o.iqn);
	return buf;
}

/* Applies the raw knobs to a PDU about to be sent. */
static int apply_knobs(struct pdu *p, uint8_t *data, uint32_t datasz)
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

/* One crafted first login PDU: a stage-0 Login Request unless knobs say otherwise. */
static int sc_login_raw(struct result *res)
{
	static uint8_t data[1 << 17];
	struct conn *c = open_conn(res, NULL);
	char keys[1024];
	struct pdu p;
	double t;

	if (!c)
		return 0;
	login_pdu(c, &p, data, sizeof(data), STAGE_SEC, STAGE_OP, true,
		  o.keys ? o.keys : std_keys_stage0(keys, sizeof(keys)));
	if (apply_knobs(&p, data, sizeof(data))) {
		set_out(res, OUT_ERROR, 0);
		note(res, "bad knob value");
		conn_free(c);
		return 0;
	}
	t = now();
	if (pdu_send_len(c, &p, o.send_len) && conn_alive(c)) {
		set_out(res, OUT_ERROR, 0);
		note(res, "send failed");
		conn_free(c);
		return 0;
	}
	settle(c, t, res);
	conn_free(c);
	return 0;
}

/* Security stage, then silence: the target must time the login out. */
static int sc_login_stall(struct result *res)
{
	uint8_t buf[1024], cls, det;
	struct conn *c = open_conn(res, NULL);
	char keys[1024];
	struct pdu p;
	double t;

	if (!c)
		return 0;
	login_pdu(c, &p, buf, sizeof(buf), STAGE_SEC, STAGE_OP, true,
		  std_keys_stage0(keys, sizeof(keys)));
	if (pdu_send(c, &p) || login_wait_rsp(c, now() + o.timeout, &cls, &det, NULL)) {
		set_out(res, OUT_ERROR, 0);
		note(res, "no answer to the first login request");
		conn_free(c);
		return 0;
	}
	note(res, "first login response: class %u detail %u; now silent", cls, det);
	t = now();
	while (c->state != C_DOWN && now() < t + o.timeout)
		conn_poll(c, 200);
	if (c->state != C_DOWN) {
		set_out(res, OUT_ALIVE, t);
		note(res, "still connected %.0f s into a stalled login", o.timeout);
	} else {
		res->out = OUT_DROPPED;
		res->secs = c->t_down - t;
		note(res, "%s", c->why);
	}
	conn_free(c);
	return 0;
}

/*
 * --count idle connections, then --stalled logins left hanging after their
 * first request, all held while a good session logs in and verifies: how
 * long does its login wait behind them? Prints a STARVE line; the outcome
 * is the good session's.
 */
static int sc_login_starve(struct result *res)
{
	struct rdma_event_channel *ec = event_channel();
	struct conn_cfg icfg, scfg;
	struct conn **cs, **st;
	unsigned int i, n_idle, n_st, idle_up = 0, idle_refused = 0;
	unsigned int idle_failed = 0, idle_dropped = 0, stalled = 0;
	unsigned int st_dropped = 0, st_answered = 0, inflight;
	double t0, t_end, login_s, end;
	uint8_t buf[1024];
	char keys[1024];

	if (!ec) {
		set_out(res, OUT_ERROR, 0);
		note(res, "cannot create an RDMA CM event channel");
		return 0;
	}
	cs = calloc((size_t)o.count + o.stalled, sizeof(*cs));
	if (!cs) {
		set_out(res, OUT_ERROR, 0);
		note(res, "out of memory");
		rdma_destroy_event_channel(ec);
		return 0;
	}
	small_cfg(&icfg);
	n_idle = connect_many(ec, cs, o.count, &icfg);
	count_answers(cs, n_idle, &idle_up, &idle_refused, &idle_failed);
	info("%u of %u idle connections up, %u refused, %u failed", idle_up,
	     o.count, idle_refused, idle_failed);

	/* Room for any login response: no failed receive may end them. */
	conn_cfg_default(&scfg);
	scfg.nrx = 2;
	scfg.ntx = 2;
	scfg.txsz = 2048;
	scfg.datasz = 0;
	st = cs + n_idle;
	n_st = connect_many(ec, st, o.stalled, &scfg);
	std_keys_stage0(keys, sizeof(keys));
	for (i = 0; i < n_st; i++) {
		struct conn *c = st[i];
		struct pdu p;

		if (c->state != C_UP)
			continue;
		login_pdu(c, &p, buf, sizeof(buf), STAGE_SEC, STAGE_OP, true,
			  keys);
		if (pdu_send(c, &p) == 0) {
			c->user = 1;
			stalled++;
		}
	}
	/*
	 * Their logins must be with the target before the good connect:
	 * wait for the sends to complete, not for the answers.
	 */
	end = now() + o.timeout;
	do {
		pump(ec, 50);
		inflight = 0;
		for (i = 0; i < n_st; i++) {
			conn_poll(st[i], 0);
			if (st[i]->user && conn_alive(st[i]))
				inflight += st[i]->tx_inflight;
		}
	} while (inflight && now() < end);
	info("%u of %u logins stalled (%u sends unconfirmed)", stalled,
	     o.stalled, inflight);

	/*
	 * The good session polls only its own channel: the others' events
	 * queue in @ec meanwhile, and are taken afterwards.
	 */
	login_done_at = 0;
	t0 = now();
	sc_good(res);
	t_end = now();
	login_s = login_done_at ? login_done_at - t0 : -1;

	pump(ec, 100);
	for (i = 0; i < n_idle; i++)
		if (cs[i]->established && cs[i]->state == C_DOWN)
			idle_dropped++;
	for (i = 0; i < n_st; i++) {
		conn_poll(st[i], 0);
		if (!st[i]->user)
			continue;
		if (st[i]->rx_count)
			st_answered++;
		if (st[i]->state == C_DOWN)
			st_dropped++;
	}
	printf("STARVE idle_up=%u idle_refused=%u stalled=%u stalled_dropped=%u "
	       "login_seconds=%.2f total_seconds=%.2f\n", idle_up, idle_refused,
	       stalled, st_dropped, login_s, t_end - t0);
	fflush(stdout);
	note(res, "idle_up=%u idle_refused=%u stalled=%u stalled_dropped=%u "
	     "login_seconds=%.2f total_seconds=%.2f", idle_up, idle_refused,
	     stalled, st_dropped, login_s, t_end - t0);
	note(res, "%u idle failed to connect, %u idle dropped, %u stalled "
	     "logins answered by the end", idle_failed, idle_dropped,
	     st_answered);
	hang_up_many(ec, cs, n_idle + n_st);
	free(cs);
	rdma_destroy_event_channel(ec);
	return 0;
}

enum login_variant {
	LV_CSG3,	/* first PDU claims the full feature phase */
	LV_BACKWARDS,	/* operational stage, then back to security */
	LV_ISID,	/* ISID changes between requests */
	LV_PIPELINED,	/* both requests back to back, without waiting */
	LV_JUNK,	/* 8 KiB of key text without a single '=' or NUL */
	LV_NONAME,	/* no InitiatorName */
	LV_TARGET,	/* a TargetName that does not exist */
	LV_CT,		/* both Transit and Continue set */
};

static int sc_login_seq(struct result *res, enum login_variant v)
{
	static uint8_t data[8192];
	char keys[1024], keys2[1024];
	struct conn *c = open_conn(res, NULL);
	struct pdu p;
	uint8_t cls, det;
	double t;
	uint32_t i;

	if (!c)
		return 0;
	std_keys_stage0(keys, sizeof(keys));
	snprintf(keys2, sizeof(keys2), "HeaderDigest=None;DataDigest=None;"
		 "RDMAExtensions=Yes;InitialR2T=No;ImmediateData=Yes");
	t = now();
	switch (v) {
	case LV_CSG3:
		login_pdu(c, &p, data, sizeof(data), STAGE_FFP, STAGE_FFP, true, keys);
		pdu_send(c, &p);
		break;
	case LV_CT:
		login_pdu(c, &p, data, sizeof(data), STAGE_SEC, STAGE_OP, true, keys);
		p.bhs[1] |= LOGIN_C;
		pdu_send(c, &p);
		break;
	case LV_NONAME:
		snprintf(keys, sizeof(keys), "TargetName=%s;SessionType=Normal;"
			 "AuthMethod=None", o.iqn);
		login_pdu(c, &p, data, sizeof(data), STAGE_SEC, STAGE_OP, true, keys);
		pdu_send(c, &p);
		break;
	case LV_TARGET:
		snprintf(keys, sizeof(keys), "InitiatorName=%s;TargetName=%s.nosuch;"
			 "SessionType=Normal;AuthMethod=None", o.initiator, o.iqn);
		login_pdu(c, &p, data, sizeof(data), STAGE_SEC, STAGE_OP, true, keys);
		pdu_send(c, &p);
		break;
	case LV_JUNK:
		login_pdu(c, &p, data, sizeof(data), STAGE_SEC, STAGE_OP, true, NULL);
		for (i = 0; i < sizeof(data); i++)
			data[i] = (uint8_t)('a' + i % 26);
		p.data = data;
		p.datalen = sizeof(data);
		pdu_send(c, &p);
		break;
	case LV_PIPELINED:
		login_pdu(c, &p, data, sizeof(data), STAGE_SEC, STAGE_OP, true, keys);
		pdu_send(c, &p);
		c->exp_statsn++;	/* a guess: the first response's StatSN + 1 */
		login_pdu(c, &p, data, sizeof(data), STAGE_OP, STAGE_FFP, true, keys2);
		pdu_send(c, &p);
		break;
	case LV_BACKWARDS:
	case LV_ISID:
		login_pdu(c, &p, data, sizeof(data), STAGE_SEC, STAGE_OP, true, keys);
		if (pdu_send(c, &p) ||
		    login_wait_rsp(c, now() + o.timeout, &cls, &det, NULL) || cls) {
			set_out(res, OUT_ERROR, 0);
			note(res, "first login request failed");
			conn_free(c);
			return 0;
		}
		if (v == LV_ISID) {
			c->isid[5] ^= 0x5a;
			login_pdu(c, &p, data, sizeof(data), STAGE_OP, STAGE_FFP,
				  true, keys2);
		} else {
			login_pdu(c, &p, data, sizeof(data), STAGE_SEC, STAGE_OP,
				  true, "AuthMethod=None");
		}
		t = now();
		pdu_send(c, &p);
		break;
	}
	settle(c, t, res);
	conn_free(c);
	return 0;
}

/* A READ(10) of @blocks 512-byte blocks at --lba into the data buffer. */
static void read_req(struct conn *c, struct scsi_req *r, uint16_t blocks)
{
	memset(r, 0, sizeof(*r));
	cdb_rw10(r->cdb, false, (uint32_t)o.lba, blocks);
	r->read = true;
	r->edtl = blocks * 512u;
	r->buf = c->data;
	r->stag = c->dmr->rkey;
	r->va = (uintptr_t)c->data;
}

/*
 * A whole login with --keys added (or replacing the tool's own key of the
 * same name), with --target-attr set on the target for it; then a READ of
 * one block, or with --data-len a NOP-Out that asks no answer carrying
 * that many bytes, and a ping. The target either refuses the keys at
 * login (the connection ends) or serves what follows: a drop after a
 * login it accepted is a failure.
 */
static int sc_login_keys(struct result *res)
{
	struct login_keys k = {
		.session_type = o.session, .extra = o.keys,
		.two_stage = o.two_stage,
	};
	char path[1024] = "", old[64] = "";
	struct conn *c = open_conn(res, NULL);
	struct scsi_req r;
	struct scsi_rsp rsp;
	char err[256];
	double t;
	int ret;

	if (!c)
		return 0;
	if (target_attr_set(path, sizeof(path), old, sizeof(old))) {
		set_out(res, OUT_ERROR, 0);
		note(res, "cannot set %s: needs the target's configfs here",
		     o.target_attr);
		conn_free(c);
		return 0;
	}
	t = now();
	ret = login(c, &k, now() + o.timeout, err, sizeof(err));
	note(res, "login with %s: %s", o.keys ? o.keys : "no extra keys",
	     ret ? err : "logged in");
	if (*path)
		write_attr(path, old);
	if (ret) {
		settle(c, t, res);
		if (ret > 0 && res->out != OUT_DROPPED)
			set_out(res, OUT_REFUSED, t);
		conn_free(c);
		return 0;
	}
	if (o.data_len > 0) {
		uint32_t n = (uint32_t)o.data_len;

		if (n > c->cfg.datasz)
			n = (uint32_t)c->cfg.datasz;
		memset(c->data, 0x5a, n);
		t = now();
		nop_send(c, RSVD_TAG, c->data, n);
		note(res, "NOP-Out with %u bytes of data (TargetRecvDataSegmentLength %u)",
		     n, c->trdsl);
		settle(c, t, res);
		if (res->out == OUT_DROPPED && n <= c->trdsl) {
			set_out(res, OUT_FAILED, t);
			note(res, "the target dropped a PDU within the length it agreed to");
		}
		conn_free(c);
		return 0;
	}
	read_req(c, &r, 1);
	if (scsi_exec(c, &r, now() + o.timeout, &rsp) == 0 &&
	    rsp.status == SCSI_GOOD)
		note(res, "a READ completed");
	settle(c, t, res);
	conn_free(c);
	return 0;
}

/* ---- full feature phase -------------------------------------------- */

/* Log in, then send one crafted PDU (a NOP-Out unless knobs say otherwise). */
static int sc_ffp_raw(struct result *res)
{
	static uint8_t data[1 << 17];
	struct conn *c = open_session(res, NULL);
	struct pdu p;
	double t;

	if (!c)
		return 0;
	pdu_init(&p, OP_NOOP_OUT | OP_IMMEDIATE, FLAG_FINAL);
	put32(p.bhs + B_ITT, next_itt(c));
	put32(p.bhs + B_TTT, RSVD_TAG);
	put32(p.bhs + B_CMDSN, c->cmdsn);
	put32(p.bhs + B_EXPSTATSN, c->exp_statsn);
	if (apply_knobs(&p, data, sizeof(data))) {
		set_out(res, OUT_ERROR, 0);
		note(res, "bad knob value");
		conn_free(c);
		return 0;
	}
	t = now();
	if (pdu_send_len(c, &p, o.send_len) && conn_alive(c)) {
		set_out(res, OUT_ERROR, 0);
		note(res, "send failed");
		conn_free(c);
		return 0;
	}
	settle(c, t, res);
	conn_free(c);
	return 0;
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && !*end;
}

/*
 * Log in, then send one SCSI command with the STag, address, lengths and
 * AHS the knobs give, and see what the target does with it.
 */
static int sc_scsi(struct result *res)
{
	struct conn *c = open_session(res, NULL);
	const char *dir = o.dir ? o.dir : "read";
	bool rd = !strcmp(dir, "read"), wr = !strcmp(dir, "write");
	uint32_t edtl = o.edtl >= 0 ? (uint32_t)o.edtl : 4096;
	uint32_t blocks = o.blocks >= 0 ? (uint32_t)o.blocks : edtl / 512;
	uint32_t imm = 0, stag;
	uint64_t va, v;
	struct ibv_mr *mr = NULL;
	struct pdu p;
	double t;
	uint8_t flags = CMD_ATTR_SIMPLE;
	bool va_exact;

	if (!c)
		return 0;
	if (tur(c, res)) {
		set_out(res, conn_alive(c) ? OUT_ERROR : OUT_DROPPED, 0);
		conn_free(c);
		return 0;
	}
	if (o.mr_len >= 0) {
		/* A second, shorter registration of the same buffer. */
		mr = conn_reg(c, c->data, (size_t)o.mr_len ? (size_t)o.mr_len : 1);
		if (!mr) {
			set_out(res, OUT_ERROR, 0);
			conn_free(c);
			return 0;
		}
	}
	stag = mr ? mr->rkey : c->dmr->rkey;
	va = (uintptr_t)c->data;
	if (o.stag && !strcmp(o.stag, "bogus"))
		stag = (stag ^ 0x5a5a5a00) | 0x80;
	else if (o.stag && strcmp(o.stag, "valid") && strcmp(o.stag, "none") &&
		 parse_u64(o.stag, &v))
		stag = (uint32_t)v;
	if (o.va && !strcmp(o.va, "wrap"))
		va = 0xfffffffffffff000ull;
	else if (o.va && strcmp(o.va, "buf") && parse_u64(o.va, &v))
		va = v;
	/* An address given on the command line goes out exactly as given. */
	va_exact = o.va && strcmp(o.va, "buf");
	if (wr) {
		imm = o.imm >= 0 ? (uint32_t)o.imm : imm_len(c, edtl);
		if (imm > c->cfg.datasz)
			imm = (uint32_t)c->cfg.datasz;
		fill_pattern(c->data, c->cfg.datasz, 1, 0);
	}
	if (rd)
		flags |= CMD_READ;
	if (wr)
		flags |= CMD_WRITE;
	if (o.final != 0)
		flags |= FLAG_FINAL;
	pdu_init(&p, OP_SCSI_CMD, flags);
	p.bhs[B_LUN + 1] = (uint8_t)o.lun;
	put32(p.bhs + B_ITT, next_itt(c));
	put32(p.bhs + B_TTT, edtl);
	put32(p.bhs + B_CMDSN, c->cmdsn++);
	put32(p.bhs + B_EXPSTATSN, c->exp_statsn);
	if (rd || wr || o.blocks >= 0)
		cdb_rw10(p.bhs + B_CDB, wr, (uint32_t)o.lba, (uint16_t)blocks);
	else
		p.bhs[B_CDB] = SCSI_TUR;
	if (!(o.stag && !strcmp(o.stag, "none"))) {
		if (rd) {
			p.ih[0] |= ISER_FLAG_RSV;
			put32(p.ih + 16, stag);
			put64(p.ih + 20, va);
		}
		if (wr) {
			p.ih[0] |= ISER_FLAG_WSV;
			put32(p.ih + 4, stag);
			put64(p.ih + 8, va_exact ? va : va + imm);
		}
	}
	p.data = c->data;
	p.datalen = imm;
	if (apply_knobs(&p, c->data, (uint32_t)c->cfg.datasz)) {
		set_out(res, OUT_ERROR, 0);
		conn_free(c);
		return 0;
	}
	note(res, "%s EDTL %u, CDB %u blocks, %u immediate, STag 0x%x VA 0x%llx%s",
	     dir, edtl, blocks, p.datalen, stag, (unsigned long long)va,
	     mr ? " (short MR)" : "");
	t = now();
	if (pdu_send_len(c, &p, o.send_len) && conn_alive(c)) {
		set_out(res, OUT_ERROR, 0);
		conn_free(c);
		return 0;
	}
	settle(c, t, res);
	if (mr)
		ibv_dereg_mr(mr);
	conn_free(c);
	return 0;
}

/* A WRITE that waits for unsolicited Data-Out (F=0, nothing sent yet). */
static uint32_t pending_write(struct conn *c, uint32_t edtl)
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
	 * it by RDMA READ at once, so that the next PDU meets that READ.
	 */
	{
		bool fetch = o.final == 1;
		struct pdu p;

		r.itt = next_itt(c);
		pdu_init(&p, OP_SCSI_CMD, CMD_WRITE | CMD_ATTR_SIMPLE |
			 (fetch ? FLAG_FINAL : 0));
		p.bhs[B_LUN + 1] = (uint8_t)o.lun;
		put32(p.bhs + B_ITT, r.itt);
		put32(p.bhs + B_TTT, edtl);
		put32(p.bhs + B_CMDSN, c->cmdsn++);
		put32(p.bhs + B_EXPSTATSN, c->exp_statsn);
		memcpy(p.bhs + B_CDB, r.cdb, 16);
		if (fetch || edtl > c->first_burst) {
			p.ih[0] |= ISER_FLAG_WSV;
			put32(p.ih + 4, r.stag);
			put64(p.ih + 8, r.va + (fetch ? 0 : c->first_burst));
		}
		if (pdu_send(c, &p))
			return 0;
	}
	return r.itt;
}

/* Data-Out for an unknown task, or for a pending WRITE with odd fields. */
static int sc_dataout(struct result *res)
{
	struct conn *c = open_session(res, NULL);
	bool for_cmd = o.dir && !strcmp(o.dir, "write");
	uint32_t edtl = o.edtl >= 0 ? (uint32_t)o.edtl : 65536;
	uint32_t itt, len = o.data_len >= 0 ? (uint32_t)o.data_len : 4096;
	struct pdu p;
	double t;

	if (!c)
		return 0;
	if (c->initial_r2t && for_cmd) {
		set_out(res, OUT_ERROR, 0);
		note(res, "needs InitialR2T=No on the target");
		conn_free(c);
		return 0;
	}
	if (tur(c, res)) {
		set_out(res, OUT_ERROR, 0);
		conn_free(c);
		return 0;
	}
	fill_pattern(c->data, c->cfg.datasz, 2, 0);
	itt = for_cmd ? pending_write(c, edtl) : 0x7eadbeef;
	if (!itt) {
		set_out(res, OUT_ERROR, 0);
		conn_free(c);
		return 0;
	}
	if (len > c->cfg.datasz)
		len = (uint32_t)c->cfg.datasz;
	pdu_init(&p, OP_DATA_OUT, o.bhs_flags >= 0 ? (uint8_t)o.bhs_flags : FLAG_FINAL);
	p.bhs[B_LUN + 1] = (uint8_t)o.lun;
	put32(p.bhs + B_ITT, itt);
	put32(p.bhs + B_TTT, o.ttt >= 0 ? (uint32_t)o.ttt : RSVD_TAG);
	put32(p.bhs + B_EXPSTATSN, c->exp_statsn);
	put32(p.bhs + 36, 0);
	put32(p.bhs + 40, o.offset >= 0 ? (uint32_t)o.offset : 0);
	p.data = c->data;
	p.datalen = len;
	put24(p.bhs + B_DLEN, len);
	if (o.dlen >= 0)
		put24(p.bhs + B_DLEN, (uint32_t)o.dlen);
	note(res, "Data-Out itt 0x%x (%s) offset %lld, %u bytes", itt,
	     for_cmd ? "pending WRITE" : "no such task",
	     o.offset >= 0 ? o.offset : 0, len);
	t = now();
	pdu_send_len(c, &p, o.send_len);
	settle(c, t, res);
	conn_free(c);
	return 0;
}

/* Commands beyond MaxCmdSN: the target must ignore them (RFC 7143 4.2.2.1). */
static int sc_cmdsn_overrun(struct result *res)
{
	struct conn *c = open_session(res, NULL);
	uint32_t window, n, i, answered = 0, itt0;
	double t, end;

	if (!c)
		return 0;
	window = c->max_cmdsn - c->cmdsn + 1;
	n = window + o.count;
	itt0 = c->itt + 1;
	note(res, "CmdSN window %u, sending %u READ(10) commands at once", window, n);
	t = now();
	for (i = 0; i < n; i++) {
		struct scsi_req r = {};

		cdb_rw10(r.cdb, false, (uint32_t)o.lba + i % 64, 8);
		r.read = true;
		r.final = true;
		r.edtl = 4096;
		r.stag = c->dmr->rkey;
		r.va = (uintptr_t)c->data + (i % 256) * 4096;
		if (scsi_send(c, &r))
			break;
	}
	end = now() + o.timeout;
	while (conn_alive(c) && now() < end && answered < n) {
		struct rpdu *r = conn_next(c, now() + 3);
		const uint8_t *bhs;

		if (!r)
			break;
		bhs = r->buf + ISER_HDR_LEN;
		if ((bhs[0] & OP_MASK) == OP_SCSI_RSP &&
		    get32(bhs + B_ITT) - itt0 < n)
			answered++;
		else
			note_pdu(res, r);
		free(r);
	}
	note(res, "%u of %u answered (MaxCmdSN now %u)", answered, n, c->max_cmdsn);
	settle(c, t, res);
	conn_free(c);
	return 0;
}

/* --count NOP-Out pings as fast as we can send them. */
static int sc_nop_flood(struct result *res)
{
	struct conn_cfg cfg;
	struct conn *c;
	uint8_t ping[64];
	uint32_t sent = 0, got = 0, itt0;
	double t, end;

	conn_cfg_default(&cfg);
	cfg.nrx = 256;
	cfg.rxsz = 4096;
	cfg.ntx = 256;
	cfg.txsz = 256;
	c = open_session(res, &cfg);
	if (!c)
		return 0;
	memset(ping, 0x5a, sizeof(ping));
	itt0 = c->itt + 1;
	t = now();
	end = t + o.timeout;
	while (conn_alive(c) && (sent < o.count || got < sent) && now() < end) {
		struct rpdu *r;

		while (sent < o.count && c->tx_inflight < cfg.ntx &&
		       sent - got < 4 * cfg.nrx) {
			if (nop_send(c, next_itt(c), ping, sizeof(ping)))
				break;
			sent++;
		}
		conn_poll(c, sent < o.count ? 0 : 100);
		while ((r = c->q_head)) {
			const uint8_t *bhs = r->buf + ISER_HDR_LEN;

			c->q_head = r->next;
			if (!c->q_head)
				c->q_tail = NULL;
			c->q_len--;
			if ((bhs[0] & OP_MASK) == OP_NOOP_IN &&
			    get32(bhs + B_ITT) - itt0 < o.count)
				got++;
			else
				note_pdu(res, r);
			free(r);
		}
	}
	note(res, "%u NOP-Outs sent, %u NOP-Ins back in %.1f s", sent, got,
	     now() - t);
	if (conn_alive(c) && got < sent) {
		set_out(res, OUT_WEDGED, t);
		note(res, "%u pings unanswered", sent - got);
		conn_free(c);
		return 0;
	}
	settle(c, t, res);
	conn_free(c);
	return 0;
}

/*
 * NOP-Out pings while we stop taking the answers (no receive buffers
 * reposted) for --hold seconds, then take them again: the target must
 * neither fall over nor stay stuck once we read again.
 */
static int sc_nop_noread(struct result *res)
{
	struct conn_cfg cfg;
	struct conn *c;
	uint8_t ping[64];
	uint32_t sent = 0;
	double t, end;

	conn_cfg_default(&cfg);
	cfg.nrx = 16;
	cfg.ntx = 128;
	cfg.txsz = 256;
	c = open_session(res, &cfg);
	if (!c)
		return 0;
	memset(ping, 0xa5, sizeof(ping));
	c->repost = false;
	t = now();
	end = t + o.hold;
	while (conn_alive(c) && sent < o.count && now() < end) {
		if (c->tx_inflight < cfg.ntx) {
			if (nop_send(c, next_itt(c), ping, sizeof(ping)))
				break;
			sent++;
		} else {
			conn_poll(c, 50);
		}
	}
	while (conn_alive(c) && now() < end)
		conn_poll(c, 100);
	note(res, "%u NOP-Outs sent without reading the answers, %llu sends "
	     "completed, %llu answers received in %.1f s", sent,
	     (unsigned long long)(c->tx_count - c->tx_inflight),
	     (unsigned long long)c->rx_count, now() - t);
	if (c->state == C_DOWN) {
		dropped(c, t, res);
		conn_free(c);
		return 0;
	}
	/* Read again: repost every receive buffer and drain the backlog. */
	conn_resume(c);
	end = now() + o.timeout;
	while (conn_alive(c) && c->rx_count < sent && now() < end) {
		struct rpdu *r;

		conn_poll(c, 100);
		while ((r = c->q_head)) {
			c->q_head = r->next;
			if (!c->q_head)
				c->q_tail = NULL;
			c->q_len--;
			free(r);
		}
	}
	note(res, "after reading again: %llu of %u answers",
	     (unsigned long long)c->rx_count, sent);
	settle(c, t, res);
	conn_free(c);
	return 0;
}

/*
 * --count task management requests at once: ABORT TASK for tasks that do
 * not exist, every tenth an ABORT TASK SET, every fiftieth a LOGICAL UNIT
 * RESET of our own LUN. A LUN RESET aborts the task management requests
 * still in progress, and an aborted request gets no response (SAM), so
 * only the resets themselves must all be answered; then a NOP-Out ping
 * must be.
 */
static int sc_tmf_flood(struct result *res)
{
	struct conn *c = open_session(res, NULL);
	uint32_t sent = 0, got = 0, i, by_rsp[4] = {};
	uint32_t resets = 0, resets_got = 0, reset_itt[64];
	double t, end;

	if (!c)
		return 0;
	if (tur(c, res)) {
		set_out(res, OUT_ERROR, 0);
		conn_free(c);
		return 0;
	}
	t = now();
	for (i = 0; i < o.count && conn_alive(c); i++) {
		uint8_t fn = i % 50 == 49 ? 5 : i % 10 == 9 ? 2 : 1;
		uint32_t itt = next_itt(c);

		/* Only ABORT TASK names a task; the others carry 0xffffffff. */
		if (tmf_send(c, fn, fn == 1 ? 0x70000000 + i : RSVD_TAG,
			     c->cmdsn, itt))
			break;
		if (fn == 5 && resets < 64)
			reset_itt[resets++] = itt;
		sent++;
	}
	end = now() + o.timeout;
	while (conn_alive(c) && got < sent && (!resets || resets_got < resets) &&
	       now() < end) {
		struct rpdu *r = conn_next(c, end);
		const uint8_t *bhs;

		if (!r)
			break;
		bhs = r->buf + ISER_HDR_LEN;
		if ((bhs[0] & OP_MASK) == OP_TMF_RSP) {
			got++;
			by_rsp[bhs[2] == 0 ? 0 : bhs[2] == 1 ? 1 : bhs[2] == 255 ? 2 : 3]++;
			for (i = 0; i < resets; i++)
				if (get32(bhs + B_ITT) == reset_itt[i])
					resets_got++;
		} else {
			note_pdu(res, r);
		}
		free(r);
	}
	note(res, "%u task management requests, %u answered (function complete %u, "
	     "task does not exist %u, rejected %u, other %u) in %.1f s; %u of %u LUN "
	     "resets answered", sent, got, by_rsp[0], by_rsp[1], by_rsp[2], by_rsp[3],
	     now() - t, resets_got, resets);
	if (conn_alive(c) && resets_got < resets) {
		set_out(res, OUT_WEDGED, t);
		note(res, "%u LUN resets unanswered", resets - resets_got);
		conn_free(c);
		return 0;
	}
	settle(c, t, res);
	conn_free(c);
	return 0;
}

/*
 * A WRITE that waits for its unsolicited Data-Out; then either nothing
 * (the target's Data-Out timer must end it) or, with --count 1 or more,
 * ABORT TASK for it followed by the Data-Out it was waiting for.
 */
static int sc_write_pending(struct result *res, bool abort_it)
{
	struct conn *c = open_session(res, NULL);
	uint32_t itt, titt;
	double t, end;
	bool answered = false;

	if (!c)
		return 0;
	if (c->initial_r2t) {
		set_out(res, OUT_ERROR, 0);
		note(res, "needs InitialR2T=No on the target");
		conn_free(c);
		return 0;
	}
	if (tur(c, res)) {
		set_out(res, OUT_ERROR, 0);
		conn_free(c);
		return 0;
	}
	fill_pattern(c->data, 65536, 4, 0);
	t = now();
	itt = pending_write(c, 65536);
	if (!itt) {
		set_out(res, OUT_ERROR, 0);
		conn_free(c);
		return 0;
	}
	if (!abort_it) {
		note(res, "WRITE itt 0x%x waits for Data-Out that never comes", itt);
		settle(c, t, res);
		conn_free(c);
		return 0;
	}
	titt = next_itt(c);
	tmf_send(c, 1, itt, c->cmdsn - 1, titt);
	end = now() + o.timeout;
	while (conn_alive(c) && now() < end && !answered) {
		struct rpdu *r = conn_next(c, end);
		const uint8_t *bhs;

		if (!r)
			break;
		bhs = r->buf + ISER_HDR_LEN;
		if ((bhs[0] & OP_MASK) == OP_TMF_RSP && get32(bhs + B_ITT) == titt) {
			note(res, "ABORT TASK of the pending WRITE answered after %.2f s: "
			     "response %u", now() - t, bhs[2]);
			answered = true;
		} else {
			note_pdu(res, r);
		}
		free(r);
	}
	if (!answered) {
		if (c->state == C_DOWN || c->qp_dead) {
			note(res, "ABORT TASK of the pending WRITE not answered");
			settle(c, t, res);
		} else {
			set_out(res, OUT_WEDGED, t);
			note(res, "ABORT TASK of the pending WRITE not answered in %.0f s",
			     o.timeout);
		}
		conn_free(c);
		return 0;
	}
	/* The Data-Out the aborted WRITE waited for: to be dropped quietly. */
	{
		struct pdu p;

		pdu_init(&p, OP_DATA_OUT, FLAG_FINAL);
		p.bhs[B_LUN + 1] = (uint8_t)o.lun;
		put32(p.bhs + B_ITT, itt);
		put32(p.bhs + B_TTT, RSVD_TAG);
		put32(p.bhs + B_EXPSTATSN, c->exp_statsn);
		p.data = c->data;
		p.datalen = 4096;
		pdu_send(c, &p);
	}
	settle(c, now(), res);
	conn_free(c);
	return 0;
}

static int sc_write_stall(struct result *res) { return sc_write_pending(res, false); }

/*
 * A WRITE waits for its unsolicited Data-Out while a LUN RESET from another
 * session aborts it, then that Data-Out completes it: LIO answers the WRITE
 * with TASK ABORTED (TAS: the reset came from another I_T nexus) and drops
 * the references itself. The WRITE's connection must answer it once, free
 * it once, and stay up.
 */
static int sc_write_reset_other(struct result *res)
{
	struct conn *a = open_session(res, NULL), *b = NULL;
	uint32_t edtl = 4096, itt, titt;
	bool status = false, reset = false;
	uint8_t wstatus = 0xff;
	struct pdu p;
	double t, end;

	if (!a)
		return 0;
	if (a->initial_r2t || a->first_burst < edtl || tur(a, res)) {
		set_out(res, OUT_ERROR, 0);
		note(res, "needs InitialR2T=No and a working LUN");
		conn_free(a);
		return 0;
	}
	b = open_session(res, NULL);
	if (!b) {
		conn_free(a);
		return 0;
	}
	fill_pattern(a->data, edtl, 5, 0);
	t = now();
	itt = pending_write(a, edtl);
	titt = next_itt(b);
	if (!itt || tmf_send(b, 5, RSVD_TAG, b->cmdsn, titt)) {
		set_out(res, OUT_ERROR, 0);
		note(res, "cannot send the WRITE or the LUN RESET");
		goto out;
	}
	/* The reset waits for the WRITE: let it reach that wait first. */
	usleep(500000);
	pdu_init(&p, OP_DATA_OUT, FLAG_FINAL);
	p.bhs[B_LUN + 1] = (uint8_t)o.lun;
	put32(p.bhs + B_ITT, itt);
	put32(p.bhs + B_TTT, RSVD_TAG);
	put32(p.bhs + B_EXPSTATSN, a->exp_statsn);
	p.data = a->data;
	p.datalen = edtl;
	put24(p.bhs + B_DLEN, edtl);
	pdu_send(a, &p);

	end = now() + o.timeout;
	while (conn_alive(a) && !status && now() < end) {
		struct rpdu *r = conn_next(a, now() + 0.2);
		const uint8_t *bhs;

		if (!r)
			continue;
		bhs = r->buf + ISER_HDR_LEN;
		if ((bhs[0] & OP_MASK) == OP_SCSI_RSP && get32(bhs + B_ITT) == itt) {
			status = true;
			wstatus = bhs[3];
		} else {
			note_pdu(res, r);
		}
		free(r);
	}
	while (conn_alive(b) && !reset && now() < end) {
		struct rpdu *r = conn_next(b, now() + 0.2);
		const uint8_t *bhs;

		if (!r)
			continue;
		bhs = r->buf + ISER_HDR_LEN;
		if ((bhs[0] & OP_MASK) == OP_TMF_RSP && get32(bhs + B_ITT) == titt)
			reset = true;
		free(r);
	}
	note(res, "WRITE itt 0x%x: %s; LUN RESET from another session: %s", itt,
	     status ? (wstatus == 0x40 ? "TASK ABORTED" : "answered") : "no status",
	     reset ? "answered" : "not answered");
	if (status && wstatus != 0x40)
		note(res, "WRITE status 0x%02x, not TASK ABORTED", wstatus);
	settle(a, t, res);
	if (!reset && res->out == OUT_ALIVE)
		set_out(res, OUT_WEDGED, t);
out:
	conn_free(b);
	conn_free(a);
	return 0;
}
static int sc_tmf_abort_write(struct result *res) { return sc_write_pending(res, true); }

/*
 * A user-space RDMA CM listener on --target:--port that accepts every
 * connect with a small queue pair and holds it (for --hold seconds or
 * until SIGTERM): connected to by idle-hold, it tells what the initiator
 * side of a connection costs, so that the target's share can be told.
 */
static int sc_listen(struct result *res)
{
	struct rdma_event_channel *ec = event_channel();
	struct sockaddr_storage ss;
	struct rdma_cm_id *lid = NULL;
	struct conn_cfg cfg;
	struct conn *live = NULL, **pp;
	unsigned int accepted = 0, failed = 0, gone = 0;
	double end;

	if (!ec || resolve_dst(&ss, o.target, o.port) ||
	    rdma_create_id(ec, &lid, NULL, RDMA_PS_TCP) ||
	    rdma_bind_addr(lid, (struct sockaddr *)&ss) || rdma_listen(lid, 1024)) {
		set_out(res, OUT_ERROR, 0);
		note(res, "cannot listen on %s:%s: %s", o.target, o.port,
		     strerror(errno));
		return 0;
	}
	small_cfg(&cfg);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("LISTENING %s:%s\n", o.target, o.port);
	fflush(stdout);
	end = now() + o.hold;
	while (!stop_flag && now() < end) {
		struct pollfd pfd = { .fd = ec->fd, .events = POLLIN };
		struct rdma_cm_event *ev;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		while (rdma_get_cm_event(ec, &ev) == 0) {
			struct rdma_cm_event copy = *ev;
			struct conn *c;

			if (copy.event == RDMA_CM_EVENT_CONNECT_REQUEST) {
				static const uint8_t rep[ISER_CM_REP_LEN] = {
					ISER_CM_ZBVA_NOT_USED | ISER_CM_SIE_NOT_USED,
				};
				struct rdma_conn_param cp = {
					.private_data = rep,
					.private_data_len = sizeof(rep),
					.responder_resources = 1,
					.initiator_depth = 1,
					.rnr_retry_count = 7,
				};

				rdma_ack_cm_event(ev);
				c = conn_new(&cfg, ec, NULL);
				if (!c) {
					rdma_reject(copy.id, NULL, 0);
					rdma_destroy_id(copy.id);
					failed++;
					continue;
				}
				c->id = copy.id;
				c->id->context = c;
				if (conn_accept_verbs(c) || rdma_accept(c->id, &cp)) {
					failed++;
					conn_free(c);
					continue;
				}
				c->state = C_CONNECTING;
				c->next = live;
				live = c;
				continue;
			}
			c = copy.id->context;
			rdma_ack_cm_event(ev);
			if (!c)
				continue;
			conn_handle_cm(c, &copy);
			if (copy.event == RDMA_CM_EVENT_ESTABLISHED)
				accepted++;
		}
		for (pp = &live; *pp;) {
			struct conn *c = *pp;

			if (c->state == C_DOWN) {
				*pp = c->next;
				conn_free(c);
				gone++;
			} else {
				pp = &c->next;
			}
		}
	}
	while (live) {
		struct conn *c = live;

		live = c->next;
		rdma_disconnect(c->id);
		conn_free(c);
	}
	rdma_destroy_id(lid);
	rdma_destroy_event_channel(ec);
	note(res, "accepted %u connections (%u failed, %u closed by the peer)",
	     accepted, failed, gone);
	set_out(res, OUT_ALIVE, 0);
	return 0;
}

/*
 * --count rounds of: log in, start a 1 MiB WRITE (or READ) whose data the
 * target moves by RDMA, and after --delay-us (growing each round) vanish:
 * disconnect, destroy the queue pair without a disconnect, or deregister
 * the buffer the target is reading.
 */
static int sc_rdma_disconnect(struct result *res)
{
	unsigned int round, done = 0, drops = 0;
	static const char *const how[] = {
		"disconnect during WRITE", "destroy QP during WRITE",
		"deregister buffer during WRITE", "disconnect during READ",
	};
	double t0 = now();

	for (round = 0; round < o.count; round++) {
		struct conn *c = open_session(res, NULL);
		unsigned int mode = round % 4;
		long long delay = o.delay_us >= 0 ? o.delay_us :
				  (long long)(round / 4) * 2000;
		struct scsi_req r = {};

		if (!c)
			return 0;
		res->detail[0] = 0;
		fill_pattern(c->data, 1u << 20, 3, 0);
		cdb_rw10(r.cdb, mode != 3, (uint32_t)o.lba, 2048);
		r.write = mode != 3;
		r.read = mode == 3;
		r.final = mode == 3;
		r.edtl = 1u << 20;
		r.imm = r.write ? imm_len(c, r.edtl) : 0;
		r.unsol = r.write;
		r.buf = c->data;
		r.stag = c->dmr->rkey;
		r.va = (uintptr_t)c->data;
		if (scsi_send(c, &r)) {
			conn_free(c);
			continue;
		}
		if (delay > 0)
			usleep((useconds_t)delay);
		info("round %u: %s after %lld us", round, how[mode], delay);
		switch (mode) {
		case 1:
			/* No DREQ: the target finds out from its own errors. */
			rdma_destroy_qp(c->id);
			c->qp = NULL;
			break;
		case 2:
			ibv_dereg_mr(c->dmr);
			c->dmr = NULL;
			{
				struct scsi_rsp rsp;

				scsi_wait(c, r.itt, now() + o.timeout, &rsp);
			}
			break;
		default:
			break;
		}
		if (!conn_alive(c))
			drops++;
		conn_disconnect(c, o.timeout);
		conn_free(c);
		done++;
	}
	res->detail[0] = 0;
	note(res, "%u of %u rounds (disconnect, destroy QP, deregister MR during "
	     "RDMA READ; disconnect during RDMA WRITE); the target dropped %u first",
	     done, o.count, drops);
	set_out(res, done == o.count ? OUT_ALIVE : OUT_FAILED, 0);
	res->secs = now() - t0;
	return 0;
}

/*
 * A Text Request whose ITT is that of a pending WRITE and whose TTT is not
 * 0xffffffff: the target must not take the WRITE for a text command.
 */
static int sc_text_itt(struct result *res)
{
	struct conn *c = open_session(res, NULL);
	static const char st[] = "SendTargets=All";
	struct pdu p;
	uint32_t itt;
	double t;

	if (!c)
		return 0;
	if (c->initial_r2t) {
		set_out(res, OUT_ERROR, 0);
		note(res, "needs InitialR2T=No on the target");
		conn_free(c);
		return 0;
	}
	if (tur(c, res)) {
		set_out(res, OUT_ERROR, 0);
		conn_free(c);
		return 0;
	}
	itt = pending_write(c, 65536);
	pdu_init(&p, OP_TEXT, FLAG_FINAL);
	put32(p.bhs + B_ITT, itt);
	put32(p.bhs + B_TTT, o.ttt >= 0 ? (uint32_t)o.ttt : 0x1234);
	put32(p.bhs + B_CMDSN, c->cmdsn++);
	put32(p.bhs + B_EXPSTATSN, c->exp_statsn);
	p.data = (const uint8_t *)st;
	p.datalen = sizeof(st);
	note(res, "Text Request with the ITT 0x%x of a pending WRITE", itt);
	t = now();
	pdu_send(c, &p);
	settle(c, t, res);
	conn_free(c);
	return 0;
}

/* ---- target NOP-In pings -------------------------------------------------- */

static int write_attr(const char *path, const char *val)
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
 * The target pings us: the tool, on the target's own host, sets the
 * nopin_timeout of its node ACL in LIO's configfs to 3 s once logged in
 * (from 0: only that starts the timer of a live connection), answers
 * every NOP-In for --hold s (default 10), restores the attribute and
 * checks that the connection still answers a ping of its own.
 */
static int sc_nopin_reply(struct result *res)
{
	char path[1024], old[32] = "15";
	struct conn *c;
	double end, at;
	FILE *f;

	snprintf(path, sizeof(path),
		 "/sys/kernel/config/target/iscsi/%s/tpgt_1/acls/%s/attrib/nopin_timeout",
		 o.iqn, o.initiator);
	f = fopen(path, "r");
	if (!f || !fgets(old, sizeof(old), f)) {
		if (f)
			fclose(f);
		set_out(res, OUT_ERROR, 0);
		note(res, "cannot read %s: needs the target's configfs here", path);
		return 0;
	}
	fclose(f);
	c = open_session(res, NULL);
	if (!c)
		return 0;
	at = now();
	if (write_attr(path, "0") || write_attr(path, "3")) {
		set_out(res, OUT_ERROR, 0);
		note(res, "cannot write %s", path);
		goto out;
	}
	end = now() + (o.hold ? o.hold : 10);
	while (now() < end && conn_alive(c)) {
		struct rpdu *r = conn_next(c, end);

		free(r);
	}
	note(res, "answered %u NOP-In pings of the target", c->nopin_pings);
	if (!conn_alive(c) || c->state == C_DOWN) {
		wait_cm_down(c, now() + o.timeout, NULL);
		dropped(c, at, res);
	} else if (!c->nopin_pings) {
		set_out(res, OUT_ERROR, 0);
		note(res, "the target sent no NOP-In ping");
	} else {
		settle(c, at, res);
	}
out:
	write_attr(path, old);
	conn_free(c);
	return 0;
}

static int text_send(struct conn *c, uint32_t itt, uint32_t ttt, bool imm,
		     uint32_t cmdsn, const char *text);

/* ---- Logout in odd places -------------------------------------------- */

/*
 * A Logout Request (close the session) followed at once, without waiting
 * for its response, by --logout-then: "logout" a second Logout Request,
 * "read" a READ of one block, "text" a SendTargets Text Request, "nop" a
 * NOP-Out ping. The target must end the session either way, cleanly.
 */
static int sc_logout_then(struct result *res)
{
	const char *then = o.logout_then ? o.logout_then : "logout";
	struct conn *c = open_session(res, NULL);
	struct pdu p;
	double t;
	int i;

	if (!c)
		return 0;
	t = now();
	for (i = 0; i < 2; i++) {
		if (i && strcmp(then, "logout"))
			break;
		pdu_init(&p, OP_LOGOUT | OP_IMMEDIATE, FLAG_FINAL);
		put32(p.bhs + B_ITT, next_itt(c));
		put16(p.bhs + 20, c->cid);
		put32(p.bhs + B_CMDSN, c->cmdsn);
		put32(p.bhs + B_EXPSTATSN, c->exp_statsn);
		pdu_send(c, &p);
	}
	if (!strcmp(then, "read")) {
		struct scsi_req r;

		read_req(c, &r, 8);
		scsi_send(c, &r);
	} else if (!strcmp(then, "text")) {
		text_send(c, next_itt(c), RSVD_TAG, false, c->cmdsn++,
			  "SendTargets=All");
	} else if (!strcmp(then, "nop")) {
		uint8_t ping[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

		nop_send(c, next_itt(c), ping, sizeof(ping));
	} else if (strcmp(then, "logout")) {
		set_out(res, OUT_ERROR, 0);
		note(res, "unknown --logout-then %s", then);
		conn_free(c);
		return 0;
	}
	note(res, "Logout Request, then at once: %s", then);
	wait_cm_down(c, t + o.timeout, res);
	if (c->state == C_DOWN)
		dropped(c, t, res);
	else
		set_out(res, OUT_WEDGED, t);
	conn_free(c);
	return 0;
}

/* ---- Text Requests ------------------------------------------------------ */

/* One Text Request with F=1; @text (NUL included) or no data when NULL. */
static int text_send(struct conn *c, uint32_t itt, uint32_t ttt, bool imm,
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

struct text_rsp {
	uint8_t flags;
	uint32_t ttt;
	uint32_t dlen;
	bool rejected;
	char text[65536];	/* every response's data, concatenated */
	uint32_t len;
	unsigned int pdus;
};

/*
 * Wait for the Text Response to @itt and append its data to @t.
 * Returns 0 for a response, 1 for a Reject, -1 for nothing in time.
 */
static int text_wait(struct conn *c, uint32_t itt, double deadline,
		     struct text_rsp *t)
{
	for (;;) {
		struct rpdu *r = conn_next(c, deadline);
		const uint8_t *bhs;
		uint32_t n, off;

		if (!r)
			return -1;
		bhs = r->buf + ISER_HDR_LEN;
		if (r->len < HDRS_LEN) {
			free(r);
			continue;
		}
		if ((bhs[0] & OP_MASK) == OP_REJECT) {
			t->rejected = true;
			free(r);
			return 1;
		}
		if ((bhs[0] & OP_MASK) != OP_TEXT_RSP || get32(bhs + B_ITT) != itt) {
			free(r);
			continue;
		}
		t->flags = bhs[1];
		t->ttt = get32(bhs + B_TTT);
		t->dlen = get24(bhs + B_DLEN);
		off = HDRS_LEN + bhs[B_AHSLEN] * 4;
		n = t->dlen;
		if (off > r->len || n > r->len - off)
			n = off > r->len ? 0 : r->len - off;
		if (n > sizeof(t->text) - 1 - t->len)
			n = sizeof(t->text) - 1 - t->len;
		memcpy(t->text + t->len, r->buf + off, n);
		t->len += n;
		t->text[t->len] = 0;
		t->pdus++;
		free(r);
		return 0;
	}
}

/* Does the NUL-separated @t hold the key=value pair @kv? */
static bool text_has(const struct text_rsp *t, const char *kv)
{
	uint32_t i = 0;

	while (i < t->len) {
		const char *s = t->text + i;

		if (!strcmp(s, kv))
			return true;
		i += (uint32_t)strlen(s) + 1;
	}
	return false;
}

/*
 * A whole SendTargets exchange on @c: the request, then an empty
 * continuation for as long as the target answers C=1 (F=0). With @reset,
 * the first C=1 answer is followed by a new request under the same ITT
 * (TTT 0xffffffff, RFC 7143 11.10.4: the target resets and starts again).
 * Returns 0 with the whole text in @t, else -1 and a note in @res.
 */
static int text_exchange(struct conn *c, const char *key, bool reset,
			 struct text_rsp *t, struct result *res)
{
	uint32_t itt = next_itt(c);
	double end = now() + o.timeout;
	bool was_reset = false;
	int ret;

	if (text_send(c, itt, RSVD_TAG, false, c->cmdsn++, key))
		return -1;
	for (;;) {
		ret = text_wait(c, itt, end, t);
		if (ret) {
			note(res, ret > 0 ? "target sent a Reject" :
			     "no Text Response in time");
			return -1;
		}
		if (t->dlen > c->irdsl) {
			note(res, "Text Response of %u bytes, above the %u the "
			     "initiator declared", t->dlen, c->irdsl);
			return -1;
		}
		if (t->flags & FLAG_FINAL)
			return 0;
		if (!(t->flags & 0x40) || t->ttt == RSVD_TAG) {
			note(res, "Text Response with neither F nor C, or with "
			     "C and the reserved TTT");
			return -1;
		}
		if (reset && !was_reset) {
			was_reset = true;
			t->len = 0;
			t->pdus = 0;
			ret = text_send(c, itt, RSVD_TAG, false, c->cmdsn++, key);
		} else {
			ret = text_send(c, itt, t->ttt, false, c->cmdsn++, NULL);
		}
		if (ret)
			return -1;
	}
}

/*
 * Text Requests as a peer may send them, well formed or not. Modes:
 *   twice        a SendTargets=All request, then at once a second one with
 *                the same ITT, TTT --ttt (0x1234) and data --text-data
 *                ("none": no data)
 *   live-itt     a new Text Request with the ITT of a pending WRITE
 *   two          two new Text Requests with different ITTs, the first
 *                held back by a CmdSN gap: two outstanding at once
 *   continue     a SendTargets (--text-data, default All) answered in
 *                several PDUs (--irdsl 512 makes it so), continued to the
 *                end; expects every PDU within --irdsl and the text whole
 *   reset        the same, restarted by a new request after the first part
 *   cont-data    a continuation that carries data
 *   cont-ttt     a continuation with a TTT the target did not give
 *   cont-final   a continuation of a sequence that already ended
 *   cont-imm     a continuation with the I bit its request did not have
 *   cont-twice   two continuations at once, the first held back by a
 *                CmdSN gap
 */
static int sc_text(struct result *res)
{
	const char *mode = o.text_mode ? o.text_mode : "twice";
	const char *data = o.text_data;
	uint32_t ttt = o.ttt >= 0 ? (uint32_t)o.ttt : 0x1234;
	struct text_rsp *t = calloc(1, sizeof(*t));
	char key[300], want[300];
	struct conn *c = NULL;
	uint32_t itt;
	double at;

	if (!t)
		return 0;
	c = open_session(res, NULL);
	if (!c)
		goto out;
	snprintf(key, sizeof(key), "SendTargets=%s", data ? data : "All");
	snprintf(want, sizeof(want), "TargetName=%s", o.iqn);

	if (!strcmp(mode, "twice")) {
		itt = next_itt(c);
		at = now();
		text_send(c, itt, RSVD_TAG, false, c->cmdsn++, "SendTargets=All");
		text_send(c, itt, ttt, false, c->cmdsn++,
			  data && !strcmp(data, "none") ? NULL :
			  data ? data : "SendTargets=All");
		note(res, "two Text Requests with ITT 0x%x, TTT 0xffffffff then 0x%x",
		     itt, ttt);
		settle(c, at, res);
	} else if (!strcmp(mode, "live-itt")) {
		if (c->initial_r2t) {
			set_out(res, OUT_ERROR, 0);
			note(res, "needs InitialR2T=No on the target");
			goto out;
		}
		itt = pending_write(c, 65536);
		at = now();
		text_send(c, itt, RSVD_TAG, false, c->cmdsn++, "SendTargets=All");
		note(res, "new Text Request with the ITT 0x%x of a pending WRITE",
		     itt);
		settle(c, at, res);
	} else if (!strcmp(mode, "two")) {
		itt = next_itt(c);
		at = now();
		/* CmdSN one ahead: the target holds it until the gap fills. */
		text_send(c, itt, RSVD_TAG, false, c->cmdsn + 1, "SendTargets=All");
		text_send(c, next_itt(c), RSVD_TAG, true, c->cmdsn,
			  "SendTargets=All");
		note(res, "two new Text Requests outstanding at once");
		settle(c, at, res);
	} else if (!strcmp(mode, "continue") || !strcmp(mode, "reset")) {
		at = now();
		if (text_exchange(c, key, !strcmp(mode, "reset"), t, res)) {
			set_out(res, conn_alive(c) ? OUT_FAILED : OUT_DROPPED, at);
			goto out;
		}
		note(res, "%u bytes of text in %u PDUs", t->len, t->pdus);
		if (!text_has(t, want)) {
			set_out(res, OUT_FAILED, at);
			note(res, "no %s in the text", want);
		} else if (t->pdus < 2) {
			set_out(res, OUT_ERROR, at);
			note(res, "the text fit one PDU: nothing was continued "
			     "(needs a smaller --irdsl or more targets)");
		} else if (nop_ping(c, now() + 5)) {
			set_out(res, OUT_FAILED, at);
			note(res, "no NOP-In after the exchange");
		} else {
			set_out(res, OUT_VERIFIED, at);
		}
	} else if (!strncmp(mode, "cont-", 5)) {
		bool final = !strcmp(mode, "cont-final");
		bool imm = !strcmp(mode, "cont-imm");

		itt = next_itt(c);
		text_send(c, itt, RSVD_TAG, false, c->cmdsn++, key);
		if (text_wait(c, itt, now() + o.timeout, t)) {
			set_out(res, OUT_ERROR, 0);
			note(res, "no Text Response to the first request");
			goto out;
		}
		if (!final && (t->flags & FLAG_FINAL)) {
			set_out(res, OUT_ERROR, 0);
			note(res, "the text fit one PDU: nothing to continue "
			     "(needs a smaller --irdsl or more targets)");
			goto out;
		}
		if (final) {
			while (!(t->flags & FLAG_FINAL) && !text_send(c, itt, t->ttt,
				 false, c->cmdsn++, NULL))
				if (text_wait(c, itt, now() + o.timeout, t))
					break;
			ttt = o.ttt >= 0 ? (uint32_t)o.ttt : t->ttt;
		} else {
			ttt = !strcmp(mode, "cont-ttt") ? t->ttt + 1 : t->ttt;
		}
		at = now();
		/* A CmdSN gap keeps this first one with the iSCSI layer. */
		if (!strcmp(mode, "cont-twice"))
			text_send(c, itt, ttt, false, c->cmdsn + 1, NULL);
		text_send(c, itt, ttt, imm, imm ? c->cmdsn : c->cmdsn++,
			  !strcmp(mode, "cont-data") ? key : NULL);
		note(res, "%s: continuation with TTT 0x%x", mode, ttt);
		settle(c, at, res);
	} else {
		set_out(res, OUT_ERROR, 0);
		note(res, "unknown --text-mode %s", mode);
	}
out:
	if (c)
		conn_free(c);
	free(t);
	return 0;
}

/* ---- main ------------------------------------------------------------- */

struct scenario {
	const char *name;
	const char *expect;
	int (*fn)(struct result *res);
	int variant;
	const char *help;
};

static int sc_login_csg3(struct result *r) { return sc_login_seq(r, LV_CSG3); }
static int sc_login_backwards(struct result *r) { return sc_login_seq(r, LV_BACKWARDS); }
static int sc_login_isid(struct result *r) { return sc_login_seq(r, LV_ISID); }
static int sc_login_pipelined(struct result *r) { return sc_login_seq(r, LV_PIPELINED); }
static int sc_login_junk(struct result *r) { return sc_login_seq(r, LV_JUNK); }
static int sc_login_noname(struct result *r) { return sc_login_seq(r, LV_NONAME); }
static int sc_login_target(struct result *r) { return sc_login_seq(r, LV_TARGET); }
static int sc_login_ct(struct result *r) { return sc_login_seq(r, LV_CT); }

static const struct scenario scenarios[] = {
	{ "good", "verified", sc_good, 0,
	  "log in, write patterns (immediate data, unsolicited Data-Out, RDMA READ), read them back (RDMA WRITE), verify, NOP, logout" },
	{ "cm-pdata", "any", sc_cm_pdata, 0,
	  "connect with --pdata HEX or --pdata-random N bytes of CM private data, then log in and ping" },
	{ "idle", "drop", sc_idle, 0, "connect and never log in" },
	{ "idle-hold", "survive", sc_idle_hold, 0,
	  "hold --count connections without logging in for --hold s; prints READY" },
	{ "storm", "survive", sc_storm, 0,
	  "--count connects, --parallel at a time, each disconnected at once (--abort-every K: tear every K-th down before the reply)" },
	{ "login-raw", "drop", sc_login_raw, 0,
	  "a crafted first login PDU (knobs: --iser-flags --opcode --bhs-flags --ahs --ahs-words --dlen --data-len --send-len --keys)" },
	{ "login-stall", "drop", sc_login_stall, 0,
	  "security stage, then silence" },
	{ "login-starve", "verified", sc_login_starve, 0,
	  "hold --count idle connections and --stalled half-done logins, then a good session; prints STARVE with its login time" },
	{ "login-csg3", "drop", sc_login_csg3, 0, "first login PDU claims CSG=3" },
	{ "login-ct", "drop", sc_login_ct, 0, "login PDU with both T and C set" },
	{ "login-backwards", "drop", sc_login_backwards, 0,
	  "security stage done, then a security-stage PDU again" },
	{ "login-isid-change", "drop", sc_login_isid, 0,
	  "ISID changes between login requests" },
	{ "login-pipelined", "any", sc_login_pipelined, 0,
	  "both login requests back to back without waiting" },
	{ "login-junk-keys", "drop", sc_login_junk, 0,
	  "8 KiB of key text with no '=' and no NUL" },
	{ "login-no-name", "drop", sc_login_noname, 0, "no InitiatorName key" },
	{ "login-wrong-target", "drop", sc_login_target, 0,
	  "TargetName that does not exist" },
	{ "ffp-raw", "drop", sc_ffp_raw, 0,
	  "log in, then one crafted PDU (a NOP-Out changed by the knobs)" },
	{ "scsi", "drop", sc_scsi, 0,
	  "log in, then a SCSI command (--dir --edtl --blocks --imm --final --stag --va --mr-len --ahs ...)" },
	{ "dataout", "drop", sc_dataout, 0,
	  "Data-Out for no task, or (--dir write) for a pending WRITE with --offset --data-len --dlen --ttt" },
	{ "cmdsn-overrun", "survive", sc_cmdsn_overrun, 0,
	  "the CmdSN window plus --count commands at once" },
	{ "nop-flood", "survive", sc_nop_flood, 0, "--count NOP-Out pings" },
	{ "nop-flood-noread", "survive", sc_nop_noread, 0,
	  "--count NOP-Outs without reading the answers for --hold s, then read again" },
	{ "tmf-flood", "survive", sc_tmf_flood, 0,
	  "--count task management requests (ABORT TASK of no task, ABORT TASK SET, LUN RESET)" },
	{ "write-stall", "drop", sc_write_stall, 0,
	  "a WRITE whose unsolicited Data-Out never comes" },
	{ "write-reset-other", "survive", sc_write_reset_other, 0,
	  "a WRITE waiting for unsolicited data, a LUN RESET from another session, then the data" },
	{ "tmf-abort-write", "survive", sc_tmf_abort_write, 0,
	  "ABORT TASK of a WRITE waiting for its Data-Out, then that Data-Out" },
	{ "listen", "survive", sc_listen, 0,
	  "user-space listener on --target:--port holding what connects (memory baseline)" },
	{ "rdma-disconnect", "any", sc_rdma_disconnect, 0,
	  "--count rounds: vanish in the middle of the target's RDMA READ / WRITE" },
	{ "text-itt-confusion", "any", sc_text_itt, 0,
	  "Text Request reusing the ITT of a pending WRITE, TTT != 0xffffffff" },
	{ "login-keys", "drop", sc_login_keys, 0,
	  "log in with --keys (replacing the tool's own of that name), then READ one block" },
	{ "nopin-reply", "survive", sc_nopin_reply, 0,
	  "make the target ping every 3 s (its configfs, on this host) and answer each ping for --hold s" },
	{ "logout-then", "drop", sc_logout_then, 0,
	  "Logout Request, then at once --logout-then logout|read|text|nop" },
	{ "text", "drop", sc_text, 0,
	  "Text Requests by --text-mode: twice live-itt two continue reset cont-data cont-ttt cont-final cont-imm cont-twice" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"usage: iser-hostile --target IP --iqn TARGET_IQN --initiator INITIATOR_IQN\n"
		"                    --scenario NAME [--port N] [--count N] [--timeout S]\n"
		"                    [--expect drop|refuse|survive|verified|any] [knobs...]\n"
		"       iser-hostile --list\n\nscenarios (default expectation):\n");
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		fprintf(f, "  %-20s %-9s %s\n", scenarios[i].name,
			scenarios[i].expect, scenarios[i].help);
	fprintf(f, "\nSee iser-hostile(8).\n");
}

static bool matches(enum outcome out, const char *expect)
{
	if (!strcmp(expect, "drop"))
		return out == OUT_DROPPED || out == OUT_REFUSED;
	if (!strcmp(expect, "refuse"))
		return out == OUT_REFUSED;
	if (!strcmp(expect, "survive"))
		return out == OUT_ALIVE || out == OUT_VERIFIED;
	if (!strcmp(expect, "verified"))
		return out == OUT_VERIFIED;
	if (!strcmp(expect, "any"))
		return out <= OUT_VERIFIED;
	return false;
}

enum {
	OPT_PORT = 256, OPT_SOURCE, OPT_EXPECT, OPT_PARALLEL, OPT_HOLD,
	OPT_ABORT, OPT_LUN, OPT_LBA, OPT_SIZES, OPT_SESSION, OPT_PDATA,
	OPT_PDATA_RANDOM, OPT_ISER_FLAGS, OPT_OPCODE, OPT_BHS_FLAGS, OPT_AHS,
	OPT_AHS_WORDS, OPT_DLEN, OPT_DATA_LEN, OPT_SEND_LEN, OPT_EDTL,
	OPT_BLOCKS, OPT_ITT, OPT_TTT, OPT_OFFSET, OPT_IMM, OPT_FINAL, OPT_DIR,
	OPT_STAG, OPT_VA, OPT_MR_LEN, OPT_DELAY, OPT_KEYS, OPT_LIST,
	OPT_TWO_STAGE, OPT_IRDSL, OPT_TEXT_MODE, OPT_TEXT_DATA, OPT_TARGET_ATTR,
	OPT_LOGOUT_THEN, OPT_STALLED,
};

static const struct option longopts[] = {
	{ "target", required_argument, NULL, 't' },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "source", required_argument, NULL, OPT_SOURCE },
	{ "iqn", required_argument, NULL, 'q' },
	{ "initiator", required_argument, NULL, 'i' },
	{ "scenario", required_argument, NULL, 's' },
	{ "expect", required_argument, NULL, OPT_EXPECT },
	{ "count", required_argument, NULL, 'c' },
	{ "timeout", required_argument, NULL, 'T' },
	{ "parallel", required_argument, NULL, OPT_PARALLEL },
	{ "hold", required_argument, NULL, OPT_HOLD },
	{ "stalled", required_argument, NULL, OPT_STALLED },
	{ "abort-every", required_argument, NULL, OPT_ABORT },
	{ "lun", required_argument, NULL, OPT_LUN },
	{ "lba", required_argument, NULL, OPT_LBA },
	{ "sizes", required_argument, NULL, OPT_SIZES },
	{ "session", required_argument, NULL, OPT_SESSION },
	{ "pdata", required_argument, NULL, OPT_PDATA },
	{ "pdata-random", required_argument, NULL, OPT_PDATA_RANDOM },
	{ "iser-flags", required_argument, NULL, OPT_ISER_FLAGS },
	{ "opcode", required_argument, NULL, OPT_OPCODE },
	{ "bhs-flags", required_argument, NULL, OPT_BHS_FLAGS },
	{ "ahs", required_argument, NULL, OPT_AHS },
	{ "ahs-words", required_argument, NULL, OPT_AHS_WORDS },
	{ "dlen", required_argument, NULL, OPT_DLEN },
	{ "data-len", required_argument, NULL, OPT_DATA_LEN },
	{ "send-len", required_argument, NULL, OPT_SEND_LEN },
	{ "edtl", required_argument, NULL, OPT_EDTL },
	{ "blocks", required_argument, NULL, OPT_BLOCKS },
	{ "itt", required_argument, NULL, OPT_ITT },
	{ "ttt", required_argument, NULL, OPT_TTT },
	{ "offset", required_argument, NULL, OPT_OFFSET },
	{ "imm", required_argument, NULL, OPT_IMM },
	{ "final", required_argument, NULL, OPT_FINAL },
	{ "dir", required_argument, NULL, OPT_DIR },
	{ "stag", required_argument, NULL, OPT_STAG },
	{ "va", required_argument, NULL, OPT_VA },
	{ "mr-len", required_argument, NULL, OPT_MR_LEN },
	{ "delay-us", required_argument, NULL, OPT_DELAY },
	{ "keys", required_argument, NULL, OPT_KEYS },
	{ "two-stage-login", no_argument, NULL, OPT_TWO_STAGE },
	{ "irdsl", required_argument, NULL, OPT_IRDSL },
	{ "text-mode", required_argument, NULL, OPT_TEXT_MODE },
	{ "text-data", required_argument, NULL, OPT_TEXT_DATA },
	{ "target-attr", required_argument, NULL, OPT_TARGET_ATTR },
	{ "logout-then", required_argument, NULL, OPT_LOGOUT_THEN },
	{ "verbose", no_argument, NULL, 'v' },
	{ "list", no_argument, NULL, OPT_LIST },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static long long num(const char *s, const char *what)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno || *end || v < 0) {
		/* allow full 32/64-bit unsigned values */
		unsigned long long u = strtoull(s, &end, 0);

		if (*end || !*s) {
			warnx_("bad number for %s: '%s'", what, s);
			exit(2);
		}
		v = (long long)(u & 0x7fffffffffffffffull);
	}
	return v;
}

int main(int argc, char **argv)
{
	const struct scenario *sc = NULL;
	struct result res = { .out = OUT_ERROR };
	bool ok;
	size_t i;
	int ch;

	t_begin = now();
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	o.port = "3260";
	o.count = 1;
	o.parallel = 8;
	o.hold = 20;
	o.stalled = 16;
	o.timeout = 20;
	o.lba = 65536;
	o.sizes = "4k,64k,256k,1m";
	o.session = "Normal";
	o.pdata_random = -1;
	o.iser_flags = o.opcode = o.bhs_flags = o.ahs_words = o.dlen = -1;
	o.data_len = o.send_len = o.edtl = o.blocks = o.itt = o.ttt = -1;
	o.offset = o.imm = o.final = o.mr_len = o.delay_us = -1;
	o.irdsl = 8192;

	while ((ch = getopt_long(argc, argv, "t:q:i:s:c:T:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 't': o.target = optarg; break;
		case OPT_PORT: o.port = optarg; break;
		case OPT_SOURCE: o.source = optarg; break;
		case 'q': o.iqn = optarg; break;
		case 'i': o.initiator = optarg; break;
		case 's': o.scenario = optarg; break;
		case OPT_EXPECT: o.expect = optarg; break;
		case 'c': o.count = (unsigned int)num(optarg, "--count"); break;
		case 'T': o.timeout = atof(optarg); break;
		case OPT_PARALLEL: o.parallel = (unsigned int)num(optarg, "--parallel"); break;
		case OPT_HOLD: o.hold = (unsigned int)num(optarg, "--hold"); break;
		case OPT_STALLED: o.stalled = (unsigned int)num(optarg, "--stalled"); break;
		case OPT_ABORT: o.abort_every = (unsigned int)num(optarg, "--abort-every"); break;
		case OPT_LUN: o.lun = (unsigned int)num(optarg, "--lun"); break;
		case OPT_LBA: o.lba = (uint64_t)num(optarg, "--lba"); break;
		case OPT_SIZES: o.sizes = optarg; break;
		case OPT_SESSION: o.session = optarg; break;
		case OPT_PDATA: o.pdata_hex = optarg; break;
		case OPT_PDATA_RANDOM: o.pdata_random = (int)num(optarg, "--pdata-random"); break;
		case OPT_ISER_FLAGS: o.iser_flags = num(optarg, "--iser-flags"); break;
		case OPT_OPCODE: o.opcode = num(optarg, "--opcode"); break;
		case OPT_BHS_FLAGS: o.bhs_flags = num(optarg, "--bhs-flags"); break;
		case OPT_AHS: o.ahs_hex = optarg; break;
		case OPT_AHS_WORDS: o.ahs_words = num(optarg, "--ahs-words"); break;
		case OPT_DLEN: o.dlen = num(optarg, "--dlen"); break;
		case OPT_DATA_LEN: o.data_len = num(optarg, "--data-len"); break;
		case OPT_SEND_LEN: o.send_len = num(optarg, "--send-len"); break;
		case OPT_EDTL: o.edtl = num(optarg, "--edtl"); break;
		case OPT_BLOCKS: o.blocks = num(optarg, "--blocks"); break;
		case OPT_ITT: o.itt = num(optarg, "--itt"); break;
		case OPT_TTT: o.ttt = num(optarg, "--ttt"); break;
		case OPT_OFFSET: o.offset = num(optarg, "--offset"); break;
		case OPT_IMM: o.imm = num(optarg, "--imm"); break;
		case OPT_FINAL: o.final = num(optarg, "--final"); break;
		case OPT_DIR: o.dir = optarg; break;
		case OPT_STAG: o.stag = optarg; break;
		case OPT_VA: o.va = optarg; break;
		case OPT_MR_LEN: o.mr_len = num(optarg, "--mr-len"); break;
		case OPT_DELAY: o.delay_us = num(optarg, "--delay-us"); break;
		case OPT_KEYS: o.keys = optarg; break;
		case OPT_TWO_STAGE: o.two_stage = 1; break;
		case OPT_IRDSL: o.irdsl = (unsigned int)num(optarg, "--irdsl"); break;
		case OPT_TEXT_MODE: o.text_mode = optarg; break;
		case OPT_TEXT_DATA: o.text_data = optarg; break;
		case OPT_TARGET_ATTR: o.target_attr = optarg; break;
		case OPT_LOGOUT_THEN: o.logout_then = optarg; break;
		case 'v': o.verbose++; break;
		case OPT_LIST: usage(stdout); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!o.target || !o.iqn || !o.initiator || !o.scenario) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!strcmp(scenarios[i].name, o.scenario))
			sc = &scenarios[i];
	if (!sc) {
		warnx_("unknown scenario '%s' (--list shows them)", o.scenario);
		return 2;
	}
	if (!o.expect)
		o.expect = sc->expect;
	if (!matches(OUT_REFUSED, o.expect) && !matches(OUT_ALIVE, o.expect) &&
	    !matches(OUT_VERIFIED, o.expect)) {
		warnx_("--expect must be drop, refuse, survive, verified or any");
		return 2;
	}
	if (!o.count)
		o.count = 1;
	if (!o.parallel)
		o.parallel = 1;
	sc->fn(&res);
	ok = matches(res.out, o.expect);
	printf("RESULT scenario=%s outcome=%s expected=%s seconds=%.2f verdict=%s: %s\n",
	       sc->name, outcome_names[res.out], o.expect, res.secs,
	       res.out == OUT_ERROR ? "ERROR" : ok ? "PASS" : "FAIL", res.detail);
	if (res.out == OUT_ERROR)
		return 2;
	return ok ? 0 : 1;
}
