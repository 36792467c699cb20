// SPDX-License-Identifier: GPL-2.0
/*
 * iser-hostile: host self-test of the fuzzer's parts that need no RDMA:
 * the PRNG, the generator, the text format, the fix-ups, delta debugging
 * and the kernel log matcher. Prints TAP and "N passed, N failed".
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "iscsi_wire.h"

static unsigned int ntests, npassed;

static bool ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	ntests++;
	npassed += cond;
	printf("%sok %u - ", cond ? "" : "not ", ntests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	return cond;
}

static const struct fz_env env = {
	.initiator = "iqn.2026-11.org.example:selftest-i",
	.target = "iqn.2026-11.org.example:selftest-t",
	.lun = 1,
	.lba = 65536,
};

/* The text of @s, or NULL; the caller frees it. */
static char *text_of(const struct fz_seq *s, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	if (!f)
		return NULL;
	if (fz_write(f, s, NULL)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	if (len)
		*len = n;
	return buf;
}

static char *gen_text(uint64_t seed, uint64_t index)
{
	struct fz_seq s;
	char *t;

	if (fz_generate(&s, seed, index, &env))
		return NULL;
	t = text_of(&s, NULL);
	fz_seq_free(&s);
	return t;
}

/* The actions only: what the grammar chose, without the header naming it. */
static char *actions_of(uint64_t seed, uint64_t index)
{
	struct fz_seq s;
	char *t;

	if (fz_generate(&s, seed, index, &env))
		return NULL;
	s.seed = 0;
	s.index = 0;
	t = text_of(&s, NULL);
	fz_seq_free(&s);
	return t;
}

static int parse_text(const char *text, struct fz_seq *s, char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int ret;

	if (!f) {
		snprintf(err, errlen, "fmemopen failed");
		return -1;
	}
	ret = fz_parse(f, s, err, errlen);
	fclose(f);
	return ret;
}

static bool action_equal(const struct fz_action *a, const struct fz_action *b)
{
	struct fz_action x = *a, y = *b;

	if (a->nbytes != b->nbytes ||
	    (a->nbytes && memcmp(a->bytes, b->bytes, a->nbytes)))
		return false;
	x.bytes = y.bytes = NULL;
	return !memcmp(&x, &y, sizeof(x));
}

static bool seq_equal(const struct fz_seq *a, const struct fz_seq *b)
{
	unsigned int i;

	if (a->seed != b->seed || a->index != b->index || a->n != b->n ||
	    memcmp(&a->env, &b->env, sizeof(a->env)))
		return false;
	for (i = 0; i < a->n; i++)
		if (!action_equal(&a->a[i], &b->a[i]))
			return false;
	return true;
}

/* ---- PRNG and determinism ------------------------------------------- */

static void test_prng(void)
{
	/* splitmix64 from state 0: the published first outputs. */
	static const uint64_t want[] = {
		0xe220a8397b1dcdafull, 0x6e789e6aa1b965f4ull, 0x06c45d188009454full,
	};
	struct fz_rng r = { .s = 0 }, a, b;
	unsigned int i, same = 0;
	bool match = true;

	for (i = 0; i < 3; i++)
		match &= fz_next(&r) == want[i];
	ok(match, "splitmix64 gives the reference outputs from state 0");
	for (i = 0; i < 1000; i++) {
		fz_rng_init(&a, 1, i);
		fz_rng_init(&b, 2, i);
		same += fz_next(&a) == fz_next(&b);
	}
	ok(!same, "streams of seeds 1 and 2 differ at every index (%u equal)", same);
}

static void test_determinism(void)
{
	static const uint64_t seeds[] = { 0, 1, 42, 0xdeadbeef, UINT64_MAX };
	char *fwd[5][40] = {};
	unsigned int i, j, bad = 0, gen_fail = 0;

	/* Forward, then backward: no hidden state may carry over. */
	for (i = 0; i < 5; i++)
		for (j = 0; j < 40; j++) {
			fwd[i][j] = gen_text(seeds[i], j);
			gen_fail += !fwd[i][j];
		}
	for (i = 5; i-- > 0;)
		for (j = 40; j-- > 0;) {
			char *t = gen_text(seeds[i], j);

			bad += !t || !fwd[i][j] || strcmp(t, fwd[i][j]);
			free(t);
		}
	ok(!gen_fail, "200 sequences generated (%u failed)", gen_fail);
	ok(!bad, "the same (seed, index) gives byte-identical sequences, in any "
	   "order (%u of 200 differ)", bad);
	for (i = 0; i < 5; i++)
		for (j = 0; j < 40; j++)
			free(fwd[i][j]);
}

static void test_differ(void)
{
	unsigned int i, same_seed = 0, same_index = 0;

	for (i = 0; i < 200; i++) {
		char *a = actions_of(1, i), *b = actions_of(2, i),
		     *c = actions_of(1, i + 1);

		same_seed += !a || !b || !strcmp(a, b);
		same_index += !a || !c || !strcmp(a, c);
		free(a);
		free(b);
		free(c);
	}
	ok(!same_seed, "seeds 1 and 2 give different actions at each of 200 "
	   "indices (%u the same)", same_seed);
	ok(!same_index, "neighbouring indices of one seed give different actions "
	   "(%u the same)", same_index);
}

/* ---- text format ------------------------------------------------------ */

static void test_roundtrip(void)
{
	unsigned int i, text_bad = 0, seq_bad = 0, parse_bad = 0;
	char err[256] = "";

	for (i = 0; i < 500; i++) {
		struct fz_seq s, t;
		char *a, *b;

		if (fz_generate(&s, 7, i, &env)) {
			parse_bad++;
			continue;
		}
		a = text_of(&s, NULL);
		if (!a || parse_text(a, &t, err, sizeof(err))) {
			if (!parse_bad++)
				printf("# sequence 7/%u: %s\n", i, err);
			free(a);
			fz_seq_free(&s);
			continue;
		}
		b = text_of(&t, NULL);
		text_bad += !b || strcmp(a, b);
		seq_bad += !seq_equal(&s, &t);
		free(a);
		free(b);
		fz_seq_free(&s);
		fz_seq_free(&t);
	}
	ok(!parse_bad, "500 written sequences parse back (%u failed)", parse_bad);
	ok(!text_bad, "write, parse, write gives the same text (%u differ)", text_bad);
	ok(!seq_bad, "write then parse gives the same actions, bytes and fix-ups "
	   "(%u differ)", seq_bad);
}

static const char head[] =
	"iser-fuzz 1\nseed 0x1\nindex 2\ninitiator iqn.i\ntarget iqn.t\n"
	"lun 0\nlba 65536\n";

static void test_reject(void)
{
	static const struct {
		const char *body;	/* after the header, unless full */
		bool full;
		const char *want;
	} files[] = {
		{ "", true, "end of file before the header was complete (no 'iser-fuzz'" },
		{ "hello\n", true, "line 1: not an iser-fuzz file" },
		{ "# c\niser-fuzz 2\n", true, "line 2: format version 2" },
		{ "iser-fuzz 1\nseed 1\nwait ms=1\n", true,
		  "line 3: action before the header is complete (no 'index' line)" },
		{ "iser-fuzz 1\nseed 1\nseed 2\n", true, "line 3: second 'seed' line" },
		{ "frobnicate x=1\n", false, "line 8: unknown action 'frobnicate'" },
		{ "send phase=ffp hex=0g\n", false, "line 8: hex: 'g' is not a hex digit" },
		{ "send phase=ffp hex=abc\n", false, "line 8: hex: odd number of hex digits" },
		{ "send phase=warp hex=00\n", false, "line 8: phase: unknown value 'warp'" },
		{ "send phase=ffp mut=nonsense hex=00\n", false,
		  "line 8: mut: unknown mutation 'nonsense'" },
		{ "send phase=ffp fix=rkey@2:0 hex=0000\n", false,
		  "line 8: fix: rkey@2 runs past the 2-byte PDU" },
		{ "send phase=ffp fix=va@0:7+0 hex=0000000000000000\n", false,
		  "line 8: fix: va needs ':REGION'" },
		{ "await itt=1\n", false, "line 8: await: missing ms=" },
		{ "wait ms=99999\n", false, "line 8: ms: 99999 is more than 10000" },
		{ "wait ms=-1\n", false, "line 8: ms: '-1' is not a number" },
		{ "wait ms=1 ms=2\n", false, "line 8: wait: ms= given twice" },
		{ "wait ms=1 colour=blue\n", false, "line 8: wait: unknown key 'colour'" },
		{ "wait ms=1\nfill off=0 len=3 pat=1 at=0\n", false,
		  "line 9: fill: len 3 is not a multiple of 4" },
		{ "fill off=2097150 len=8 pat=1 at=0\n", false,
		  "not inside the 2097152-byte data buffer" },
		{ "mr region=0 off=0 len=4\n", false, "mr: region 0 is the data buffer" },
		{ "vanish how=explode\n", false, "line 8: how: unknown value 'explode'" },
		{ "connect ird=1 ord=1 pdata=000102030405060708090a0b0c0d0e0f"
		  "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d"
		  "2e2f303132333435363738\n", false, "pdata: 57 bytes, at most 56" },
		{ "wait ms=1\nseed 3\n", false, "line 9: second 'seed' line" },
	};
	unsigned int i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char text[1024], err[256] = "";
		struct fz_seq s;
		int ret;

		snprintf(text, sizeof(text), "%s%s", files[i].full ? "" : head,
			 files[i].body);
		ret = parse_text(text, &s, err, sizeof(err));
		if (!ret)
			fz_seq_free(&s);
		ok(ret && strstr(err, files[i].want), "rejects a bad file: \"%s\"",
		   ret ? err : "(accepted)");
	}
}

/* ---- fix-ups ---------------------------------------------------------- */

static void test_fixups(void)
{
	uint8_t mem[64], pdu[128] = {};
	struct fz_action a = { .op = FZ_SEND, .nbytes = sizeof(pdu), .nfix = 6 };
	struct fz_vals v = {
		.rkey = { 0x11223344, 0x55667788 },
		.addr = { 0x7f0000001000ull, 0x7f0000100000ull },
		.mem = { mem, NULL }, .memlen = { sizeof(mem), 0 },
		.exp_statsn = 0x1000, .text_ttt = 0xabcdef01,
	};
	unsigned int i;
	bool good;

	for (i = 0; i < sizeof(mem); i++)
		mem[i] = (uint8_t)(i + 1);
	a.fix[0] = (struct fz_fix){ .kind = FZ_FIX_RKEY, .region = 1, .off = 4 };
	a.fix[1] = (struct fz_fix){ .kind = FZ_FIX_VA, .region = 0, .off = 8,
				    .delta = -4096 };
	a.fix[2] = (struct fz_fix){ .kind = FZ_FIX_EXPSTATSN, .off = 56, .delta = -1 };
	a.fix[3] = (struct fz_fix){ .kind = FZ_FIX_TEXT_TTT, .off = 48 };
	a.fix[4] = (struct fz_fix){ .kind = FZ_FIX_BUF, .off = 76, .delta = 60,
				    .len = 8 };
	/* Past the end of the PDU: must be skipped, not written. */
	a.fix[5] = (struct fz_fix){ .kind = FZ_FIX_VA, .off = 124 };
	fz_apply_fixups(&a, &v, pdu);
	good = get32(pdu + 4) == 0x55667788 &&
	       get32(pdu + 8) == 0x7f00 && get32(pdu + 12) == 0x00000000 &&
	       get32(pdu + 56) == 0xfff && get32(pdu + 48) == 0xabcdef01 &&
	       !memcmp(pdu + 76, "\x3d\x3e\x3f\x40\0\0\0\0", 8) &&
	       get32(pdu + 124) == 0;
	ok(good, "fix-ups fill rkey, VA with a negative delta, ExpStatSN, the "
	   "Text TTT and buffer bytes (zero past the buffer), and skip one past "
	   "the PDU");
}

/* ---- ddmin ------------------------------------------------------------ */

struct need {
	const size_t *items;	/* the failure needs all of these ... */
	size_t n;
	bool any;		/* ... or any one of them */
	int abort_after;	/* stop (-1) at this call, if positive */
	int calls;
};

static int need_test(const unsigned char *keep, size_t n, void *ctx)
{
	struct need *nd = ctx;
	size_t i, have = 0;

	(void)n;
	if (nd->abort_after && ++nd->calls >= nd->abort_after)
		return -1;
	for (i = 0; i < nd->n; i++)
		have += keep[nd->items[i]] != 0;
	return nd->any ? have > 0 : have == nd->n;
}

static bool kept_exactly(const unsigned char *keep, size_t n, const size_t *want,
			 size_t nwant)
{
	size_t i, j, count = 0;

	for (i = 0; i < n; i++) {
		bool wanted = false;

		for (j = 0; j < nwant; j++)
			wanted |= want[j] == i;
		if (!!keep[i] != wanted)
			return false;
		count += wanted;
	}
	return count == nwant;
}

static void test_ddmin(void)
{
	static const size_t pair[] = { 3, 17 }, three[] = { 0, 31, 63 };
	static const size_t one[] = { 0 }, either[] = { 5, 25 };
	unsigned char keep[64];
	struct need nd;
	unsigned int tests;
	size_t m;

	memset(keep, 1, 40);
	nd = (struct need){ .items = pair, .n = 2 };
	m = fz_ddmin(keep, 40, need_test, &nd, 1000, &tests);
	ok(m == 2 && kept_exactly(keep, 40, pair, 2),
	   "ddmin: failure iff actions 3 and 17 are both there -> exactly {3, 17} "
	   "(%zu kept, %u tests)", m, tests);

	memset(keep, 1, 64);
	nd = (struct need){ .items = three, .n = 3 };
	m = fz_ddmin(keep, 64, need_test, &nd, 1000, &tests);
	ok(m == 3 && kept_exactly(keep, 64, three, 3),
	   "ddmin: failure needs {0, 31, 63} of 64 -> exactly those (%u tests)",
	   tests);

	memset(keep, 1, 30);
	nd = (struct need){ .items = either, .n = 2, .any = true };
	m = fz_ddmin(keep, 30, need_test, &nd, 1000, &tests);
	ok(m == 1 && (keep[5] || keep[25]),
	   "ddmin: two independent causes -> one of them alone (%zu kept)", m);

	keep[0] = 1;
	nd = (struct need){ .items = one, .n = 1 };
	m = fz_ddmin(keep, 1, need_test, &nd, 1000, &tests);
	ok(m == 1 && keep[0] && tests == 0, "ddmin: one action stays, untested");

	/* Only every other action kept to start with: the others stay out. */
	memset(keep, 0, 40);
	for (m = 1; m < 40; m += 2)
		keep[m] = 1;
	nd = (struct need){ .items = pair, .n = 2 };
	m = fz_ddmin(keep, 40, need_test, &nd, 1000, &tests);
	ok(m == 2 && keep[3] && keep[17], "ddmin starts from the kept subset");

	memset(keep, 1, 40);
	nd = (struct need){ .items = pair, .n = 2, .abort_after = 4 };
	m = fz_ddmin(keep, 40, need_test, &nd, 1000, &tests);
	ok(keep[3] && keep[17] && m < 40 && tests == 4,
	   "ddmin stopped by the test keeps a failing set found so far (%zu kept)", m);

	memset(keep, 1, 40);
	nd = (struct need){ .items = pair, .n = 2 };
	m = fz_ddmin(keep, 40, need_test, &nd, 5, &tests);
	ok(tests == 5 && keep[3] && keep[17],
	   "ddmin keeps to its test budget (%u of 5) and a failing set", tests);
}

/* ---- coverage of the grammar -------------------------------------------- */

enum lkind {
	LK_NONE, LK_SINGLE, LK_DISCOVERY, LK_TWO_STAGE, LK_MULTI, LK_NO_TRANSIT,
	LK_PIPELINED, LK_N,
};

static const char *const lkind_names[LK_N] = {
	"no login", "one normal PDU", "discovery", "two stages",
	"C-bit continuation", "no transit (T=0)", "pipelined login PDUs",
};

static bool has_text(const struct fz_action *a, const char *needle)
{
	return a->nbytes > HDRS_LEN &&
	       memmem(a->bytes + HDRS_LEN, a->nbytes - HDRS_LEN, needle,
		      strlen(needle));
}

static bool is_login(const struct fz_action *a)
{
	return a->op == FZ_SEND && a->phase == FZ_PH_LOGIN && a->nbytes >= HDRS_LEN &&
	       (a->bytes[ISER_HDR_LEN] & OP_MASK) == OP_LOGIN;
}

/* Which kinds of login a sequence has, from its login PDUs' bytes. */
static unsigned int login_kinds(const struct fz_seq *s)
{
	unsigned int i, kinds = 0, pdus = 0;
	int last_csg = -1;
	bool since_await = false;

	for (i = 0; i < s->n; i++) {
		const struct fz_action *a = &s->a[i];
		const uint8_t *b = a->bytes + ISER_HDR_LEN;
		int csg;

		if (a->op == FZ_AWAIT)
			since_await = false;
		if (!is_login(a))
			continue;
		pdus++;
		csg = (b[1] >> 2) & 3;
		if (has_text(a, "SessionType=Discovery"))
			kinds |= 1 << LK_DISCOVERY;
		if (b[1] & LOGIN_C)
			kinds |= 1 << LK_MULTI;
		if (!(b[1] & (LOGIN_T | LOGIN_C)))
			kinds |= 1 << LK_NO_TRANSIT;
		if (last_csg == STAGE_SEC && csg == STAGE_OP)
			kinds |= 1 << LK_TWO_STAGE;
		if (since_await)
			kinds |= 1 << LK_PIPELINED;
		if (pdus == 1 && (b[1] & LOGIN_T) && csg == STAGE_OP &&
		    (b[1] & 3) == STAGE_FFP && has_text(a, "SessionType=Normal"))
			kinds |= 1 << LK_SINGLE;
		last_csg = csg;
		since_await = true;
	}
	return pdus ? kinds : 1 << LK_NONE;
}

/*
 * Is what the label says visible in the bytes? -1: the label cannot be
 * checked from one action (or another label on it changes the picture).
 */
static int label_true(const struct fz_action *a, enum fz_mut m)
{
	const uint8_t *b = a->bytes, *bhs = b + ISER_HDR_LEN;
	uint64_t lengths = 1ull << FZ_M_TRUNCATE | 1ull << FZ_M_AHS |
			   1ull << FZ_M_DLEN_LONG | 1ull << FZ_M_DLEN_SHORT |
			   1ull << FZ_M_IMM_DATA | 1ull << FZ_M_LOGIN_JUNK;
	uint32_t room;

	if (a->op == FZ_CONNECT) {
		switch (m) {
		case FZ_M_CM_TRUNC:
			return a->nbytes < ISER_CM_REQ_LEN;
		case FZ_M_CM_HELLO:
			return a->nbytes == 12 && b[0] == 0x20 && b[1] != 0x11;
		case FZ_M_CM_LONG:
			return a->nbytes > ISER_CM_REQ_LEN;
		case FZ_M_CM_RSVD:
			return a->nbytes == ISER_CM_REQ_LEN &&
			       ((b[0] & 0x3f) || b[1] || b[2] || b[3]);
		case FZ_M_CM_IRD:
			return a->ird != 16;
		case FZ_M_CM_ORD:
			return a->ord != 16;
		default:
			return -1;
		}
	}
	if (a->nbytes < HDRS_LEN)
		return m == FZ_M_TRUNCATE ? 1 : -1;
	room = a->nbytes - HDRS_LEN;
	switch (m) {
	case FZ_M_DLEN_LONG:
	case FZ_M_DLEN_SHORT:
	case FZ_M_TRUNCATE:
		if ((a->muts & lengths) != 1ull << m || bhs[B_AHSLEN])
			return -1;
		if (m == FZ_M_DLEN_LONG)
			return get24(bhs + B_DLEN) > room;
		return get24(bhs + B_DLEN) < room ? m == FZ_M_DLEN_SHORT :
		       m == FZ_M_TRUNCATE;
	case FZ_M_ITT_RSVD:
		return a->muts & 1ull << FZ_M_ITT_REUSE ? -1 :
		       get32(bhs + B_ITT) == RSVD_TAG;
	case FZ_M_ISER_OP:
		return b[0] >> 4 != 1;
	case FZ_M_ISER_RSVD:
		return (b[0] & 3) || b[1] || b[2] || b[3];
	case FZ_M_STAG_MISSING:
		return a->muts & 1ull << FZ_M_STAG_BOGUS ? -1 :
		       !(b[0] & (ISER_FLAG_WSV | ISER_FLAG_RSV));
	case FZ_M_LOGIN_CT:
		return (bhs[1] & (LOGIN_T | LOGIN_C)) == (LOGIN_T | LOGIN_C);
	case FZ_M_LOGIN_STAGE: {
		int csg = (bhs[1] >> 2) & 3, nsg = bhs[1] & 3;

		return (bhs[1] & LOGIN_T) && (csg == 2 || nsg == 2 || csg == 3 ||
					      nsg <= csg);
	}
	case FZ_M_LOGIN_VERSION:
		return bhs[2] || bhs[3];
	case FZ_M_LOGIN_NONUL:
		return a->muts & 1ull << FZ_M_LOGIN_JUNK ? -1 :
		       !room || b[a->nbytes - 1] != 0;
	default:
		return -1;
	}
}

struct cover {
	unsigned int ops[64];		/* FFP opcodes sent */
	unsigned int lkinds[LK_N];
	unsigned int muts[FZ_M_COUNT];
	unsigned int mut_checked[FZ_M_COUNT], mut_false[FZ_M_COUNT];
	unsigned int vanish[FZ_V_COUNT];
	unsigned int fixes[FZ_FIX_COUNT];
	unsigned int mr, dereg, verify, bursts, text_cont, bad_parse;
	unsigned int small_rdsl_cont;	/* see cover_seq() */
};

static void cover_seq(struct cover *c, const struct fz_seq *s)
{
	unsigned int i, j, run = 0, k = login_kinds(s);
	bool small_rdsl = false, send_all = false, empty_cont = false;

	for (i = 0; i < LK_N; i++)
		c->lkinds[i] += (k >> i) & 1;
	for (i = 0; i < s->n; i++) {
		const struct fz_action *a = &s->a[i];

		c->mr += a->op == FZ_MR;
		c->dereg += a->op == FZ_DEREG;
		c->verify += a->op == FZ_VERIFY;
		if (a->op == FZ_VANISH)
			c->vanish[a->how]++;
		run = a->op == FZ_SEND && a->phase == FZ_PH_FFP ? run + 1 : 0;
		c->bursts += run == 8;
		for (j = 0; j < FZ_M_COUNT; j++) {
			int t;

			if (!(a->muts & (1ull << j)))
				continue;
			c->muts[j]++;
			t = label_true(a, (enum fz_mut)j);
			if (t >= 0) {
				c->mut_checked[j]++;
				c->mut_false[j] += !t;
			}
		}
		if (a->op != FZ_SEND)
			continue;
		for (j = 0; j < a->nfix; j++) {
			c->fixes[a->fix[j].kind]++;
			c->text_cont += a->fix[j].kind == FZ_FIX_TEXT_TTT;
			empty_cont |= a->fix[j].kind == FZ_FIX_TEXT_TTT &&
				      a->nbytes == HDRS_LEN;
		}
		/* Declared by the grammar, not by a mutation's odd value. */
		small_rdsl |= is_login(a) && has_text(a, "RecvDataSegmentLength=512") &&
			      !(a->muts & (1ull << FZ_M_LOGIN_KEYVAL |
					   1ull << FZ_M_LOGIN_DUPKEY));
		send_all |= a->phase == FZ_PH_FFP && has_text(a, "SendTargets=All");
		if (a->phase == FZ_PH_FFP && a->nbytes > ISER_HDR_LEN)
			c->ops[a->bytes[ISER_HDR_LEN] & OP_MASK]++;
	}
	/*
	 * A login that declares 512 bytes, SendTargets=All and an empty
	 * request with the echoed TTT: the target's answer comes in several
	 * parts and is continued.
	 */
	c->small_rdsl_cont += small_rdsl && send_all && empty_cont;
}

static void test_coverage(void)
{
	static const uint8_t ffp_ops[] = {
		OP_NOOP_OUT, OP_SCSI_CMD, OP_TMF, OP_LOGIN, OP_TEXT, OP_DATA_OUT,
		OP_LOGOUT, OP_SNACK,
	};
	struct cover *c = calloc(1, sizeof(*c));
	unsigned int i, n = 3000, missing, reserved = 0, target_ops = 0;
	unsigned int checked = 0, wrong = 0, fewest;
	char list[1024];

	if (!c) {
		ok(false, "coverage: out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		struct fz_seq s, t;
		char err[256], *text;

		if (fz_generate(&s, 0x5eed, i, &env)) {
			c->bad_parse++;
			continue;
		}
		text = text_of(&s, NULL);
		if (!text || parse_text(text, &t, err, sizeof(err))) {
			c->bad_parse++;
		} else {
			/* Count what the file says: that is what gets played. */
			cover_seq(c, &t);
			fz_seq_free(&t);
		}
		free(text);
		fz_seq_free(&s);
	}
	ok(!c->bad_parse, "%u sequences generated, written and parsed (%u failed)",
	   n, c->bad_parse);

	list[0] = 0;
	for (i = 0, missing = 0; i < sizeof(ffp_ops); i++)
		if (!c->ops[ffp_ops[i]])
			missing += snprintf(list + strlen(list), sizeof(list) - strlen(list),
					    " %s", fz_iscsi_op_name(ffp_ops[i])) > 0;
	for (i = 0; i < 64; i++) {
		bool known = memchr(ffp_ops, (int)i, sizeof(ffp_ops)) != NULL;

		reserved += !known && i < 0x20 ? c->ops[i] : 0;
		target_ops += i >= 0x20 ? c->ops[i] : 0;
	}
	ok(!missing && reserved && target_ops,
	   "every initiator opcode in the full feature phase, reserved ones (%u) "
	   "and target ones (%u)%s%s", reserved, target_ops,
	   missing ? "; missing:" : "", list);

	list[0] = 0;
	for (i = 0, missing = 0, fewest = UINT32_MAX; i < LK_N; i++) {
		if (!c->lkinds[i])
			missing += snprintf(list + strlen(list), sizeof(list) - strlen(list),
					    " '%s'", lkind_names[i]) > 0;
		fewest = c->lkinds[i] < fewest ? c->lkinds[i] : fewest;
	}
	ok(!missing, "every kind of login, read from the login PDUs' bytes "
	   "(fewest: %u)%s%s", fewest, missing ? "; missing:" : "", list);

	list[0] = 0;
	for (i = 0, missing = 0; i < FZ_M_COUNT; i++)
		if (!c->muts[i])
			missing += snprintf(list + strlen(list), sizeof(list) - strlen(list),
					    " %s", fz_mut_names[i]) > 0;
	ok(!missing, "every mutation of the grammar (%d kinds)%s%s", FZ_M_COUNT,
	   missing ? "; missing:" : "", list);

	list[0] = 0;
	for (i = 0; i < FZ_M_COUNT; i++) {
		checked += c->mut_checked[i];
		wrong += c->mut_false[i];
		if (c->mut_false[i])
			snprintf(list + strlen(list), sizeof(list) - strlen(list),
				 " %s (%u of %u)", fz_mut_names[i], c->mut_false[i],
				 c->mut_checked[i]);
	}
	ok(checked > 1000 && !wrong, "mutation labels agree with the bytes "
	   "(%u checked)%s%s", checked, wrong ? "; wrong:" : "", list);

	ok(c->vanish[FZ_V_DISCONNECT] && c->vanish[FZ_V_DESTROY_QP] &&
	   c->vanish[FZ_V_EXIT] && c->dereg,
	   "vanishing: disconnect %u, destroy QP %u, exit %u, deregister %u",
	   c->vanish[FZ_V_DISCONNECT], c->vanish[FZ_V_DESTROY_QP],
	   c->vanish[FZ_V_EXIT], c->dereg);
	ok(c->verify && c->bursts && c->text_cont && c->mr,
	   "verified I/O %u, pipelined runs of 8+ PDUs %u, Text continuations "
	   "%u, second regions %u", c->verify, c->bursts, c->text_cont, c->mr);
	ok(c->small_rdsl_cont,
	   "sequences that declare 512 bytes, ask SendTargets=All and continue "
	   "the answer with empty requests: %u", c->small_rdsl_cont);
	missing = 0;
	for (i = 0; i < FZ_FIX_COUNT; i++)
		missing += !c->fixes[i];
	ok(!missing, "every kind of fix-up is used (%u missing)", missing);
	free(c);
}

/* Generation stays within what the format and the player accept. */
static void test_limits(void)
{
	unsigned int i, j, bad = 0;
	uint32_t longest = 0, most = 0;

	for (i = 0; i < 1000; i++) {
		struct fz_seq s;

		if (fz_generate(&s, 99, i, &env)) {
			bad++;
			continue;
		}
		most = s.n > most ? s.n : most;
		for (j = 0; j < s.n; j++) {
			const struct fz_action *a = &s.a[j];

			longest = a->op == FZ_SEND && a->nbytes > longest ?
				  a->nbytes : longest;
			bad += a->op == FZ_CONNECT && a->nbytes > FZ_MAX_PDATA;
			bad += (a->op == FZ_AWAIT || a->op == FZ_WAIT) && a->ms > FZ_MAX_MS;
			bad += j && a->op == FZ_CONNECT;
		}
		bad += !s.n || s.a[0].op != FZ_CONNECT;
		fz_seq_free(&s);
	}
	ok(!bad && longest <= FZ_MAX_SEND && most < FZ_MAX_ACTIONS,
	   "1000 sequences start with one connect and stay in bounds (longest "
	   "SEND %u bytes, most actions %u)", longest, most);
}

/* ---- files ---------------------------------------------------------- */

static void test_files(void)
{
	char dir[] = "/tmp/fuzz-selftest-XXXXXX", path[256], err[256] = "";
	struct fz_seq s, t, sub;
	unsigned char *keep;
	unsigned int i, sends;
	int dfd;
	bool same = false, order = true;

	if (!mkdtemp(dir) || fz_generate(&s, 3, 4, &env)) {
		ok(false, "files: cannot set up");
		return;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	snprintf(path, sizeof(path), "%s/seq-3-4.txt", dir);
	if (dfd >= 0 && !fz_save(dfd, "seq-3-4.txt", &s, "a note", err, sizeof(err)) &&
	    !fz_load(path, &t, err, sizeof(err))) {
		same = seq_equal(&s, &t);
		fz_seq_free(&t);
	}
	ok(same, "saved to a file and loaded back unchanged%s%s", *err ? ": " : "",
	   err);

	keep = calloc(s.n, 1);
	for (i = 0; keep && i < s.n; i += 2)
		keep[i] = 1;
	if (keep && !fz_subset(&s, keep, &sub)) {
		for (i = 0; i < sub.n; i++)
			order &= action_equal(&sub.a[i], &s.a[2 * i]);
		ok(order && sub.n == (s.n + 1) / 2, "a subset keeps the chosen actions, "
		   "in order (%u of %u)", sub.n, s.n);
		sends = fz_count_sends(&sub);
		ok(sends <= fz_count_sends(&s), "a subset sends no more PDUs (%u)", sends);
		fz_seq_free(&sub);
	} else {
		ok(false, "subset: out of memory");
	}
	free(keep);
	fz_seq_free(&s);
	unlink(path);
	if (dfd >= 0)
		close(dfd);
	rmdir(dir);
}

/* ---- kernel log --------------------------------------------------------- */

static void test_kmsg(void)
{
	static const char *const bad[] = {
		"BUG: unable to handle page fault for address: ffff888000000000",
		"WARNING: CPU: 1 PID: 77 at drivers/target/iser/iser_rx.c:100",
		"BUG: KASAN: slab-use-after-free in iser_rx_done+0x1c/0x40",
		"UBSAN: shift-out-of-bounds in drivers/target/iser/iser_tx.c:12",
		"Oops: general protection fault, probably for non-canonical address",
		"general protection fault: 0000 [#1] PREEMPT SMP NOPTI",
		"list_add corruption. prev->next should be next (ffff8880)",
		"list_del corruption, ffff888012345678->next is LIST_POISON1",
		"refcount_t: underflow; use-after-free.",
		"kernel BUG at drivers/target/iser/iser_cm.c:42!",
		"INFO: task kworker/1:2:345 blocked for more than 120 seconds.",
		"unreferenced object 0xffff888003a1b200 (size 512):",
		"BUG kmalloc-512 (Tainted: G           OE     ): Poison overwritten",
	};
	static const char *const fine[] = {
		"iser: connection from 10.0.0.1 dropped: bad PDU",
		"DEBUG: not a bug", "iSCSI Login negotiation failed.",
		"INFO: task kworker is running", "whoops, a typo",
		"DEBUG kmalloc-512 (size 512)",
	};
	char path[] = "/tmp/fuzz-kmsg-XXXXXX", first[256] = "";
	struct fz_kmsg k;
	regex_t re;
	unsigned int i, hits = 0, false_hits = 0, n1, n2;
	FILE *f;
	int fd;

	if (fz_splat_compile(&re)) {
		ok(false, "the splat pattern compiles");
		return;
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		hits += fz_splat_match(&re, bad[i]);
	for (i = 0; i < sizeof(fine) / sizeof(fine[0]); i++)
		false_hits += fz_splat_match(&re, fine[i]);
	regfree(&re);
	ok(hits == sizeof(bad) / sizeof(bad[0]),
	   "each kind of splat line matches (%u of %zu)", hits,
	   sizeof(bad) / sizeof(bad[0]));
	ok(!false_hits, "ordinary lines do not (%u did)", false_hits);

	fd = mkstemp(path);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		ok(false, "kmsg: cannot make a file");
		return;
	}
	fprintf(f, "6,1,100,-;iser: portal up\n SUBSYSTEM=iser\n"
		"4,2,200,-;WARNING: CPU: 0 PID: 9 at x.c:1 f+0x1/0x2\n"
		" DEVICE=+iser:0\n3,3,300,c;refcount_t: saturated\n");
	fflush(f);
	if (fz_kmsg_open(&k, path, false)) {
		ok(false, "kmsg: cannot open the file");
		fclose(f);
		unlink(path);
		return;
	}
	n1 = fz_kmsg_scan(&k, first, sizeof(first));
	fprintf(f, "6,4,400,-;all quiet\n4,5,500,-;BUG: soft lockup - CPU#1 stuck");
	fflush(f);
	n2 = fz_kmsg_scan(&k, NULL, 0);
	ok(n1 == 2 && !strcmp(first, "WARNING: CPU: 0 PID: 9 at x.c:1 f+0x1/0x2"),
	   "kmsg records: 2 splats, the first reported by its message (%u, '%s')",
	   n1, first);
	ok(n2 == 1 && !fz_kmsg_scan(&k, NULL, 0),
	   "a second scan sees only the new records, an unfinished last line too "
	   "(%u)", n2);
	fz_kmsg_close(&k);
	fclose(f);
	unlink(path);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_prng();
	test_determinism();
	test_differ();
	test_roundtrip();
	test_reject();
	test_fixups();
	test_ddmin();
	test_coverage();
	test_limits();
	test_files();
	test_kmsg();
	printf("1..%u\n%u passed, %u failed\n", ntests, npassed, ntests - npassed);
	return npassed == ntests ? 0 : 1;
}
