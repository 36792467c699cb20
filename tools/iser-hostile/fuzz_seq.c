// SPDX-License-Identifier: GPL-2.0
/*
 * iser-hostile: fuzz sequences in memory and as text, the fix-ups a SEND
 * gets when it is played, and delta debugging.
 *
 * The text format (iser-hostile(8), FUZZING) has one action a line, so
 * that a file cut short by a crash still reads up to its last whole line,
 * and every byte a SEND carries is in it, in hex. The writer's output is
 * canonical: parsing it and writing again gives the same text.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "iscsi_wire.h"

const char *const fz_mut_names[FZ_M_COUNT] = {
	[FZ_M_CM_TRUNC] = "cm-trunc", [FZ_M_CM_HELLO] = "cm-hello",
	[FZ_M_CM_RANDOM] = "cm-random", [FZ_M_CM_LONG] = "cm-long",
	[FZ_M_CM_RSVD] = "cm-rsvd", [FZ_M_CM_IRD] = "cm-ird",
	[FZ_M_CM_ORD] = "cm-ord",
	[FZ_M_LOGIN_STAGE] = "login-stage", [FZ_M_LOGIN_CT] = "login-ct",
	[FZ_M_LOGIN_KEYVAL] = "login-keyval",
	[FZ_M_LOGIN_DUPKEY] = "login-dupkey",
	[FZ_M_LOGIN_OVERLONG] = "login-overlong",
	[FZ_M_LOGIN_NONUL] = "login-nonul", [FZ_M_LOGIN_JUNK] = "login-junk",
	[FZ_M_LOGIN_NOKEY] = "login-nokey", [FZ_M_LOGIN_ISID] = "login-isid",
	[FZ_M_LOGIN_VERSION] = "login-version",
	[FZ_M_ITT_REUSE] = "itt-reuse", [FZ_M_ITT_RSVD] = "itt-rsvd",
	[FZ_M_TTT_BOGUS] = "ttt-bogus", [FZ_M_CMDSN_AHEAD] = "cmdsn-ahead",
	[FZ_M_CMDSN_GAP] = "cmdsn-gap", [FZ_M_CMDSN_BEHIND] = "cmdsn-behind",
	[FZ_M_EXPSTATSN] = "expstatsn", [FZ_M_IMM_FLIP] = "imm-flip",
	[FZ_M_FINAL_FLIP] = "final-flip", [FZ_M_DLEN_LONG] = "dlen-long",
	[FZ_M_DLEN_SHORT] = "dlen-short", [FZ_M_AHS] = "ahs",
	[FZ_M_TRUNCATE] = "truncate", [FZ_M_ISER_OP] = "iser-op",
	[FZ_M_ISER_RSVD] = "iser-rsvd", [FZ_M_LUN] = "lun",
	[FZ_M_STAG_BOGUS] = "stag-bogus", [FZ_M_STAG_MISSING] = "stag-missing",
	[FZ_M_STAG_SHORT] = "stag-short", [FZ_M_VA_BAD] = "va-bad",
	[FZ_M_EDTL] = "edtl", [FZ_M_DIR] = "dir", [FZ_M_IMM_DATA] = "imm-data",
	[FZ_M_DATASN] = "datasn", [FZ_M_OFFSET] = "offset",
};

static const char *const op_words[FZ_OP_COUNT] = {
	[FZ_CONNECT] = "connect", [FZ_MR] = "mr", [FZ_DEREG] = "dereg",
	[FZ_FILL] = "fill", [FZ_SEND] = "send", [FZ_AWAIT] = "await",
	[FZ_WAIT] = "wait", [FZ_VERIFY] = "verify", [FZ_VANISH] = "vanish",
};

static const char *const phase_words[FZ_PH_COUNT] = {
	[FZ_PH_LOGIN] = "login", [FZ_PH_FFP] = "ffp", [FZ_PH_IO] = "io",
};

static const char *const vanish_words[FZ_V_COUNT] = {
	[FZ_V_DISCONNECT] = "disconnect", [FZ_V_DESTROY_QP] = "destroy-qp",
	[FZ_V_EXIT] = "exit",
};

static const char *const fix_words[FZ_FIX_COUNT] = {
	[FZ_FIX_RKEY] = "rkey", [FZ_FIX_VA] = "va", [FZ_FIX_BUF] = "buf",
	[FZ_FIX_EXPSTATSN] = "expstatsn", [FZ_FIX_TEXT_TTT] = "textttt",
};

static const char *op_word(enum fz_op op)
{
	return op < FZ_OP_COUNT ? op_words[op] : "?";
}

/* For the comments of the text format only. */
const char *fz_iscsi_op_name(uint8_t op)
{
	switch (op & OP_MASK) {
	case OP_NOOP_OUT: return "NOP-Out";
	case OP_SCSI_CMD: return "SCSI Command";
	case OP_TMF: return "Task Management";
	case OP_LOGIN: return "Login";
	case OP_TEXT: return "Text";
	case OP_DATA_OUT: return "Data-Out";
	case OP_LOGOUT: return "Logout";
	case OP_SNACK: return "SNACK";
	}
	return (op & OP_MASK) >= 0x20 ? "target opcode" : "reserved opcode";
}

/* ---- sequences in memory ------------------------------------------- */

void fz_seq_init(struct fz_seq *s)
{
	memset(s, 0, sizeof(*s));
}

void fz_seq_free(struct fz_seq *s)
{
	unsigned int i;

	for (i = 0; i < s->n; i++)
		free(s->a[i].bytes);
	free(s->a);
	fz_seq_init(s);
}

struct fz_action *fz_add(struct fz_seq *s, enum fz_op op)
{
	struct fz_action *a;

	if (s->n >= FZ_MAX_ACTIONS)
		return NULL;
	if (s->n == s->cap) {
		unsigned int cap = s->cap ? s->cap * 2 : 32;

		a = realloc(s->a, cap * sizeof(*a));
		if (!a)
			return NULL;
		s->a = a;
		s->cap = cap;
	}
	a = &s->a[s->n++];
	memset(a, 0, sizeof(*a));
	a->op = (uint8_t)op;
	return a;
}

int fz_set_bytes(struct fz_action *a, const uint8_t *b, uint32_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	if (!p)
		return -1;
	if (n)
		memcpy(p, b, n);
	free(a->bytes);
	a->bytes = p;
	a->nbytes = n;
	return 0;
}

/* @out gets a deep copy of the actions of @in that @keep marks. */
int fz_subset(const struct fz_seq *in, const unsigned char *keep,
	      struct fz_seq *out)
{
	unsigned int i;

	fz_seq_init(out);
	out->seed = in->seed;
	out->index = in->index;
	out->env = in->env;
	for (i = 0; i < in->n; i++) {
		struct fz_action *a;

		if (keep && !keep[i])
			continue;
		a = fz_add(out, (enum fz_op)in->a[i].op);
		if (!a)
			goto fail;
		*a = in->a[i];
		a->bytes = NULL;
		if (in->a[i].bytes && fz_set_bytes(a, in->a[i].bytes, in->a[i].nbytes))
			goto fail;
	}
	return 0;
fail:
	fz_seq_free(out);
	return -1;
}

uint32_t fz_count_sends(const struct fz_seq *s)
{
	uint32_t i, n = 0;

	for (i = 0; i < s->n; i++)
		n += s->a[i].op == FZ_SEND;
	return n;
}

/* ---- fix-ups --------------------------------------------------------- */

static uint32_t fix_size(const struct fz_fix *f)
{
	switch (f->kind) {
	case FZ_FIX_VA:
		return 8;
	case FZ_FIX_BUF:
		return f->len;
	default:
		return 4;
	}
}

void fz_apply_fixups(const struct fz_action *a, const struct fz_vals *v,
		     uint8_t *pdu)
{
	unsigned int i;

	for (i = 0; i < a->nfix; i++) {
		const struct fz_fix *f = &a->fix[i];
		uint8_t *p = pdu + f->off;
		uint32_t j;

		/* The parser refuses these; a bad action must not overrun. */
		if ((uint64_t)f->off + fix_size(f) > a->nbytes || f->region >= FZ_REGIONS)
			continue;
		switch (f->kind) {
		case FZ_FIX_RKEY:
			put32(p, v->rkey[f->region]);
			break;
		case FZ_FIX_VA:
			put64(p, v->addr[f->region] + (uint64_t)f->delta);
			break;
		case FZ_FIX_BUF:
			for (j = 0; j < f->len; j++) {
				int64_t at = f->delta + j;

				p[j] = v->mem[f->region] && at >= 0 &&
				       at < v->memlen[f->region] ?
				       v->mem[f->region][at] : 0;
			}
			break;
		case FZ_FIX_EXPSTATSN:
			put32(p, v->exp_statsn + (uint32_t)f->delta);
			break;
		case FZ_FIX_TEXT_TTT:
			put32(p, v->text_ttt);
			break;
		}
	}
}

/* ---- writing --------------------------------------------------------- */

static void put_hex(FILE *f, const uint8_t *b, uint32_t n, bool pdu)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		/* Dots after the iSER header and the BHS, for the reader. */
		if (pdu && (i == ISER_HDR_LEN || i == HDRS_LEN))
			fputc('.', f);
		fprintf(f, "%02x", b[i]);
	}
}

static void put_muts(FILE *f, uint64_t muts)
{
	const char *sep = " mut=";
	unsigned int i;

	for (i = 0; i < FZ_M_COUNT; i++) {
		if (!(muts & (1ull << i)))
			continue;
		fprintf(f, "%s%s", sep, fz_mut_names[i]);
		sep = ",";
	}
}

static void put_fixes(FILE *f, const struct fz_action *a)
{
	unsigned int i;

	for (i = 0; i < a->nfix; i++) {
		const struct fz_fix *x = &a->fix[i];

		fprintf(f, "%s%s@%u", i ? "," : " fix=", fix_words[x->kind], x->off);
		switch (x->kind) {
		case FZ_FIX_RKEY:
			fprintf(f, ":%u", x->region);
			break;
		case FZ_FIX_VA:
			fprintf(f, ":%u%+" PRId64, x->region, x->delta);
			break;
		case FZ_FIX_BUF:
			fprintf(f, ":%u%+" PRId64 "/%u", x->region, x->delta, x->len);
			break;
		case FZ_FIX_EXPSTATSN:
			fprintf(f, "%+" PRId64, x->delta);
			break;
		}
	}
}

/* A comment that says what a SEND is, derived from its bytes alone. */
static void send_comment(FILE *f, const struct fz_action *a)
{
	const uint8_t *bhs = a->bytes + ISER_HDR_LEN;

	if (a->nbytes < HDRS_LEN) {
		fprintf(f, "  # %u bytes: cut inside the headers", a->nbytes);
		return;
	}
	fprintf(f, "  # %s (0x%02x) itt 0x%08x, iSER flags 0x%02x, AHS %u words, "
		"DataSegmentLength %u, %u bytes", fz_iscsi_op_name(bhs[0]),
		bhs[0] & OP_MASK, get32(bhs + B_ITT), a->bytes[0], bhs[B_AHSLEN],
		get24(bhs + B_DLEN), a->nbytes);
}

int fz_write(FILE *f, const struct fz_seq *s, const char *note)
{
	unsigned int i;

	fprintf(f, "# iser-hostile fuzz sequence: one action a line, '#' starts a "
		"comment; see iser-hostile(8), FUZZING.\n");
	if (note)
		fprintf(f, "# %s\n", note);
	fprintf(f, "iser-fuzz 1\nseed 0x%016" PRIx64 "\nindex %" PRIu64 "\n"
		"initiator %s\ntarget %s\nlun %u\nlba %" PRIu64 "\n", s->seed,
		s->index, s->env.initiator, s->env.target, s->env.lun, s->env.lba);
	for (i = 0; i < s->n; i++) {
		const struct fz_action *a = &s->a[i];

		fputs(op_word((enum fz_op)a->op), f);
		switch (a->op) {
		case FZ_CONNECT:
			fprintf(f, " ird=%u ord=%u", a->ird, a->ord);
			put_muts(f, a->muts);
			fputs(" pdata=", f);
			put_hex(f, a->bytes, a->nbytes, false);
			break;
		case FZ_MR:
			fprintf(f, " region=%u off=%u len=%u", a->region, a->off,
				a->len);
			break;
		case FZ_DEREG:
			fprintf(f, " region=%u", a->region);
			break;
		case FZ_FILL:
			fprintf(f, " off=%u len=%u pat=0x%016" PRIx64 " at=%" PRIu64,
				a->off, a->len, a->pat, a->at);
			break;
		case FZ_SEND:
			fprintf(f, " phase=%s", phase_words[a->phase]);
			put_muts(f, a->muts);
			put_fixes(f, a);
			fputs(" hex=", f);
			put_hex(f, a->bytes, a->nbytes, true);
			send_comment(f, a);
			break;
		case FZ_AWAIT:
			fprintf(f, " itt=0x%08x ms=%u", a->itt, a->ms);
			break;
		case FZ_WAIT:
			fprintf(f, " ms=%u", a->ms);
			break;
		case FZ_VERIFY:
			fprintf(f, " off=%u len=%u pat=0x%016" PRIx64 " at=%" PRIu64
				" witt=0x%08x ritt=0x%08x", a->off, a->len, a->pat,
				a->at, a->itt, a->ritt);
			break;
		case FZ_VANISH:
			fprintf(f, " how=%s", vanish_words[a->how]);
			break;
		}
		fputc('\n', f);
	}
	return ferror(f) ? -1 : 0;
}

/* ---- parsing --------------------------------------------------------- */

#define MAX_TOKENS 16

struct kv {
	char *k;
	char *v;
	bool used;
};

struct parser {
	unsigned int line;
	char *err;
	size_t errlen;
	struct kv kv[MAX_TOKENS];
	int nkv;
};

static int perr(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (p->line)
		n = snprintf(p->err, p->errlen, "line %u: ", p->line);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Unsigned decimal, or hex with 0x; nothing else, nothing after it. */
static int num(struct parser *p, const char *what, const char *s, uint64_t max,
	       uint64_t *out)
{
	char *end;

	errno = 0;
	if (!*s || *s == '-' || *s == '+')
		return perr(p, "%s: '%s' is not a number", what, s);
	*out = strtoull(s, &end, 0);
	if (errno || *end)
		return perr(p, "%s: '%s' is not a number", what, s);
	if (*out > max)
		return perr(p, "%s: %s is more than %" PRIu64, what, s, max);
	return 0;
}

static int snum(struct parser *p, const char *what, const char *s, int64_t *out)
{
	uint64_t v;
	bool neg = *s == '-';

	if (*s != '-' && *s != '+')
		return perr(p, "%s: '%s' needs a sign", what, s);
	if (num(p, what, s + 1, (uint64_t)INT64_MAX, &v))
		return -1;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int hex(struct parser *p, const char *what, const char *s, uint32_t max,
	       struct fz_action *a)
{
	size_t digits = 0, i;
	uint32_t n = 0;
	uint8_t *b;
	int hi = -1;

	for (i = 0; s[i]; i++) {
		if (s[i] == '.')
			continue;
		if (hexval(s[i]) < 0)
			return perr(p, "%s: '%c' is not a hex digit", what, s[i]);
		digits++;
	}
	if (digits % 2)
		return perr(p, "%s: odd number of hex digits (%zu)", what, digits);
	if (digits / 2 > max)
		return perr(p, "%s: %zu bytes, at most %u allowed", what, digits / 2,
			    max);
	b = malloc(digits / 2 + 1);
	if (!b)
		return perr(p, "out of memory");
	for (i = 0; s[i]; i++) {
		if (s[i] == '.')
			continue;
		if (hi < 0) {
			hi = hexval(s[i]);
		} else {
			b[n++] = (uint8_t)(hi << 4 | hexval(s[i]));
			hi = -1;
		}
	}
	free(a->bytes);
	a->bytes = b;
	a->nbytes = n;
	return 0;
}

static int word(struct parser *p, const char *what, const char *s,
		const char *const *words, unsigned int n, uint8_t *out)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!strcmp(s, words[i])) {
			*out = (uint8_t)i;
			return 0;
		}
	return perr(p, "%s: unknown value '%s'", what, s);
}

static const char *get(struct parser *p, const char *key)
{
	int i;

	for (i = 0; i < p->nkv; i++)
		if (!strcmp(p->kv[i].k, key)) {
			p->kv[i].used = true;
			return p->kv[i].v;
		}
	return NULL;
}

static int need(struct parser *p, const char *verb, const char *key,
		const char **v)
{
	*v = get(p, key);
	if (!*v)
		return perr(p, "%s: missing %s=", verb, key);
	return 0;
}

static int need_num(struct parser *p, const char *verb, const char *key,
		    uint64_t max, uint64_t *out)
{
	const char *v;

	return need(p, verb, key, &v) || num(p, key, v, max, out) ? -1 : 0;
}

static int muts(struct parser *p, struct fz_action *a)
{
	char *s = (char *)get(p, "mut"), *save = NULL, *t;
	unsigned int i;

	if (!s)
		return 0;
	for (t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < FZ_M_COUNT; i++)
			if (!strcmp(t, fz_mut_names[i]))
				break;
		if (i == FZ_M_COUNT)
			return perr(p, "mut: unknown mutation '%s'", t);
		a->muts |= 1ull << i;
	}
	return 0;
}

/* rkey@OFF:R  va@OFF:R+D  buf@OFF:R+D/LEN  expstatsn@OFF+D  textttt@OFF */
static int one_fix(struct parser *p, char *s, struct fz_action *a)
{
	struct fz_fix *f;
	char *at = strchr(s, '@'), *rest, *end;
	uint64_t v;
	uint8_t kind = 0;

	if (a->nfix >= FZ_MAX_FIX)
		return perr(p, "fix: more than %d fix-ups", FZ_MAX_FIX);
	if (!at)
		return perr(p, "fix: '%s' has no '@'", s);
	*at = 0;
	if (word(p, "fix", s, fix_words, FZ_FIX_COUNT, &kind))
		return -1;
	f = &a->fix[a->nfix];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	errno = 0;
	v = strtoul(at + 1, &end, 10);
	if (errno || end == at + 1 || v > FZ_MAX_SEND)
		return perr(p, "fix: bad offset in '%s@%s'", s, at + 1);
	f->off = (uint32_t)v;
	rest = end;
	if (kind == FZ_FIX_RKEY || kind == FZ_FIX_VA || kind == FZ_FIX_BUF) {
		if (*rest != ':' || rest[1] < '0' || rest[1] >= '0' + FZ_REGIONS)
			return perr(p, "fix: %s needs ':REGION' (0 or 1)", s);
		f->region = (uint8_t)(rest[1] - '0');
		rest += 2;
	}
	if (kind == FZ_FIX_BUF) {
		char *slash = strchr(rest, '/');

		if (!slash)
			return perr(p, "fix: buf needs '/LEN'");
		*slash = 0;
		if (num(p, "fix buf length", slash + 1, FZ_MAX_DATA, &v))
			return -1;
		if (!v)
			return perr(p, "fix: buf of no bytes");
		f->len = (uint32_t)v;
	}
	if (kind == FZ_FIX_VA || kind == FZ_FIX_BUF || kind == FZ_FIX_EXPSTATSN) {
		if (snum(p, "fix delta", rest, &f->delta))
			return -1;
	} else if (*rest) {
		return perr(p, "fix: junk '%s' after %s", rest, s);
	}
	if ((uint64_t)f->off + fix_size(f) > a->nbytes)
		return perr(p, "fix: %s@%u runs past the %u-byte PDU", s, f->off,
			    a->nbytes);
	a->nfix++;
	return 0;
}

static int fixes(struct parser *p, struct fz_action *a)
{
	char *s = (char *)get(p, "fix"), *save = NULL, *t;

	if (!s)
		return 0;
	for (t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (one_fix(p, t, a))
			return -1;
	return 0;
}

/* Bytes [off, off + len) of the data buffer, a whole number of words. */
static int span(struct parser *p, const char *verb, struct fz_action *a,
		bool words)
{
	uint64_t off, len;

	if (need_num(p, verb, "off", FZ_DATA_SIZE, &off) ||
	    need_num(p, verb, "len", FZ_DATA_SIZE, &len))
		return -1;
	if (!len || off + len > FZ_DATA_SIZE)
		return perr(p, "%s: bytes %" PRIu64 "+%" PRIu64 " are not inside the "
			    "%u-byte data buffer", verb, off, len, FZ_DATA_SIZE);
	if (words && len % 4)
		return perr(p, "%s: len %" PRIu64 " is not a multiple of 4", verb, len);
	a->off = (uint32_t)off;
	a->len = (uint32_t)len;
	return 0;
}

static int action(struct parser *p, const char *verb, struct fz_seq *s)
{
	uint8_t op;
	struct fz_action *a;
	const char *v;
	uint64_t x;
	int i;

	for (op = 0; op < FZ_OP_COUNT; op++)
		if (!strcmp(verb, op_words[op]))
			break;
	if (op == FZ_OP_COUNT)
		return perr(p, "unknown action '%s'", verb);
	a = fz_add(s, (enum fz_op)op);
	if (!a)
		return perr(p, "more than %d actions", FZ_MAX_ACTIONS);
	switch (op) {
	case FZ_CONNECT:
		if (need_num(p, verb, "ird", 255, &x))
			return -1;
		a->ird = (uint8_t)x;
		if (need_num(p, verb, "ord", 255, &x))
			return -1;
		a->ord = (uint8_t)x;
		if (muts(p, a) || need(p, verb, "pdata", &v) ||
		    hex(p, "pdata", v, FZ_MAX_PDATA, a))
			return -1;
		break;
	case FZ_MR:
		if (need_num(p, verb, "region", FZ_REGIONS - 1, &x))
			return -1;
		if (!x)
			return perr(p, "mr: region 0 is the data buffer itself");
		a->region = (uint8_t)x;
		if (span(p, verb, a, false))
			return -1;
		break;
	case FZ_DEREG:
		if (need_num(p, verb, "region", FZ_REGIONS - 1, &x))
			return -1;
		a->region = (uint8_t)x;
		break;
	case FZ_FILL:
	case FZ_VERIFY:
		if (span(p, verb, a, true) ||
		    need_num(p, verb, "pat", UINT64_MAX, &a->pat) ||
		    need_num(p, verb, "at", UINT64_MAX, &a->at))
			return -1;
		if (op == FZ_FILL)
			break;
		if (need_num(p, verb, "witt", UINT32_MAX, &x))
			return -1;
		a->itt = (uint32_t)x;
		if (need_num(p, verb, "ritt", UINT32_MAX, &x))
			return -1;
		a->ritt = (uint32_t)x;
		break;
	case FZ_SEND:
		if (need(p, verb, "phase", &v) ||
		    word(p, "phase", v, phase_words, FZ_PH_COUNT, &a->phase) ||
		    muts(p, a) || need(p, verb, "hex", &v) ||
		    hex(p, "hex", v, FZ_MAX_SEND, a) || fixes(p, a))
			return -1;
		break;
	case FZ_AWAIT:
		if (need_num(p, verb, "itt", UINT32_MAX, &x))
			return -1;
		a->itt = (uint32_t)x;
		if (need_num(p, verb, "ms", FZ_MAX_MS, &x))
			return -1;
		a->ms = (uint32_t)x;
		break;
	case FZ_WAIT:
		if (need_num(p, verb, "ms", FZ_MAX_MS, &x))
			return -1;
		a->ms = (uint32_t)x;
		break;
	case FZ_VANISH:
		if (need(p, verb, "how", &v) ||
		    word(p, "how", v, vanish_words, FZ_V_COUNT, &a->how))
			return -1;
		break;
	}
	for (i = 0; i < p->nkv; i++)
		if (!p->kv[i].used)
			return perr(p, "%s: unknown key '%s'", verb, p->kv[i].k);
	return 0;
}

enum {
	H_MAGIC = 1, H_SEED = 2, H_INDEX = 4, H_INITIATOR = 8, H_TARGET = 16,
	H_LUN = 32, H_LBA = 64, H_ALL = 127,
};

static const char *const header_words[] = {
	"iser-fuzz", "seed", "index", "initiator", "target", "lun", "lba",
};

static int header(struct parser *p, int h, char **tok, int ntok,
		  struct fz_seq *s)
{
	char *dst = h == H_INITIATOR ? s->env.initiator : s->env.target;
	uint64_t v;

	if (ntok != 2)
		return perr(p, "%s takes one value", tok[0]);
	switch (h) {
	case H_MAGIC:
		if (strcmp(tok[1], "1"))
			return perr(p, "format version %s, this tool reads 1", tok[1]);
		break;
	case H_SEED:
		return num(p, "seed", tok[1], UINT64_MAX, &s->seed);
	case H_INDEX:
		return num(p, "index", tok[1], UINT64_MAX, &s->index);
	case H_INITIATOR:
	case H_TARGET:
		if (strlen(tok[1]) >= sizeof(s->env.target))
			return perr(p, "%s: longer than %zu bytes", tok[0],
				    sizeof(s->env.target) - 1);
		strcpy(dst, tok[1]);
		break;
	case H_LUN:
		if (num(p, "lun", tok[1], 16383, &v))
			return -1;
		s->env.lun = (uint32_t)v;
		break;
	case H_LBA:
		return num(p, "lba", tok[1], UINT32_MAX - FZ_LBA_SPAN, &s->env.lba);
	}
	return 0;
}

static int line(struct parser *p, char *l, struct fz_seq *s, int *have)
{
	char *tok[MAX_TOKENS], *save = NULL, *t;
	int ntok = 0, i;

	l[strcspn(l, "#\r\n")] = 0;
	for (t = strtok_r(l, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (ntok == MAX_TOKENS)
			return perr(p, "more than %d words", MAX_TOKENS);
		tok[ntok++] = t;
	}
	if (!ntok)
		return 0;
	if (!(*have & H_MAGIC) && strcmp(tok[0], header_words[0]))
		return perr(p, "not an iser-fuzz file: it must start with 'iser-fuzz 1'");
	for (i = 0; i < (int)(sizeof(header_words) / sizeof(header_words[0])); i++) {
		if (strcmp(tok[0], header_words[i]))
			continue;
		if (*have & (1 << i))
			return perr(p, "second '%s' line", tok[0]);
		if (*have & ~H_ALL)
			return perr(p, "'%s' after the first action", tok[0]);
		*have |= 1 << i;
		return header(p, 1 << i, tok, ntok, s);
	}
	if ((*have & H_ALL) != H_ALL) {
		for (i = 0; *have & (1 << i); i++)
			;
		return perr(p, "action before the header is complete (no '%s' line)",
			    header_words[i]);
	}
	*have |= H_ALL + 1;
	p->nkv = 0;
	for (i = 1; i < ntok; i++) {
		char *eq = strchr(tok[i], '=');
		int j;

		if (!eq)
			return perr(p, "%s: '%s' is not key=value", tok[0], tok[i]);
		*eq = 0;
		for (j = 0; j < p->nkv; j++)
			if (!strcmp(p->kv[j].k, tok[i]))
				return perr(p, "%s: %s= given twice", tok[0], tok[i]);
		p->kv[p->nkv++] = (struct kv){ .k = tok[i], .v = eq + 1 };
	}
	return action(p, tok[0], s);
}

int fz_parse(FILE *f, struct fz_seq *s, char *err, size_t errlen)
{
	struct parser p = { .err = err, .errlen = errlen };
	char *l = NULL;
	size_t cap = 0;
	int have = 0, ret = 0;
	unsigned int i;

	fz_seq_init(s);
	while (getline(&l, &cap, f) >= 0) {
		p.line++;
		ret = line(&p, l, s, &have);
		if (ret)
			break;
	}
	free(l);
	if (!ret && (have & H_ALL) != H_ALL) {
		for (i = 0; have & (1 << i); i++)
			;
		p.line = 0;
		ret = perr(&p, "end of file before the header was complete (no '%s' line)",
			   header_words[i]);
	}
	if (ret)
		fz_seq_free(s);
	return ret;
}

/* Written and on disk (file and directory entry) before this returns. */
int fz_save(int dirfd, const char *name, const struct fz_seq *s,
	    const char *note, char *err, size_t errlen)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	FILE *f;
	int ret;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return -1;
	}
	f = fdopen(fd, "w");
	if (!f) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	ret = fz_write(f, s, note);
	if (fflush(f) || fsync(fd))
		ret = -1;
	if (fclose(f))
		ret = -1;
	if (!ret && fsync(dirfd))
		ret = -1;
	if (ret)
		snprintf(err, errlen, "%s: cannot write it: %s", name, strerror(errno));
	return ret;
}

int fz_load(const char *path, struct fz_seq *s, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char e[256];
	int ret;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	ret = fz_parse(f, s, e, sizeof(e));
	fclose(f);
	if (ret)
		snprintf(err, errlen, "%s: %s", path, e);
	return ret;
}

/* ---- delta debugging ----------------------------------------------- */

struct dd {
	const size_t *cur;	/* the current failing set, as indices */
	size_t m;
	unsigned char *cand;	/* a candidate, as a mask over all items */
	size_t n;
	fz_test_fn test;
	void *ctx;
	unsigned int max, *tests;
};

/* Test cur[lo..hi) (inside) or cur without it (!inside). */
static int dd_try(struct dd *d, size_t lo, size_t hi, bool inside)
{
	size_t i;

	if (*d->tests >= d->max)
		return -1;
	memset(d->cand, 0, d->n);
	for (i = 0; i < d->m; i++)
		if ((i >= lo && i < hi) == inside)
			d->cand[d->cur[i]] = 1;
	++*d->tests;
	return d->test(d->cand, d->n, d->ctx);
}

size_t fz_ddmin(unsigned char *keep, size_t n, fz_test_fn test, void *ctx,
		unsigned int max_tests, unsigned int *tests)
{
	struct dd d = { .n = n, .test = test, .ctx = ctx, .max = max_tests,
			.tests = tests };
	size_t *cur = malloc((n ? n : 1) * sizeof(*cur));
	size_t i, m = 0, gran = 2;

	*tests = 0;
	d.cand = malloc(n ? n : 1);
	if (!cur || !d.cand) {
		free(cur);
		free(d.cand);
		for (i = 0; i < n; i++)
			m += keep[i] != 0;
		return m;
	}
	for (i = 0; i < n; i++)
		if (keep[i])
			cur[m++] = i;
	d.cur = cur;
	while (m >= 2) {
		size_t chunks = gran < m ? gran : m, c, lo = 0, hi = 0;
		int r = 0;

		d.m = m;
		/* A chunk alone, then (with more than two) all but a chunk. */
		for (c = 0; c < chunks && r == 0; c++) {
			lo = c * m / chunks;
			hi = (c + 1) * m / chunks;
			r = dd_try(&d, lo, hi, true);
		}
		if (r > 0) {
			memmove(cur, cur + lo, (hi - lo) * sizeof(*cur));
			m = hi - lo;
			gran = 2;
			continue;
		}
		for (c = 0; chunks > 2 && c < chunks && r == 0; c++) {
			lo = c * m / chunks;
			hi = (c + 1) * m / chunks;
			r = dd_try(&d, lo, hi, false);
		}
		if (r > 0) {
			memmove(cur + lo, cur + hi, (m - hi) * sizeof(*cur));
			m -= hi - lo;
			gran = chunks - 1 > 2 ? chunks - 1 : 2;
			continue;
		}
		if (r < 0 || chunks >= m)
			break;
		gran = chunks * 2 < m ? chunks * 2 : m;
	}
	memset(keep, 0, n);
	for (i = 0; i < m; i++)
		keep[cur[i]] = 1;
	free(cur);
	free(d.cand);
	return m;
}
