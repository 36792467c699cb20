// SPDX-License-Identifier: GPL-2.0
/*
 * iser-hostile: the fuzzer's grammar. A sequence is
 *
 *   connect [mr] login body* [logout]
 *
 * where connect carries valid or broken iSER CM private data and IRD/ORD,
 * login is one of several kinds (none, one PDU, discovery, two stages,
 * C-bit continuation, no transit, pipelined) whose keys and header fields
 * may be broken, and each body production is a fuzzed PDU of some opcode,
 * a pipelined burst, a pause, well-formed I/O whose data is verified, or
 * vanishing in the middle of a transfer. Fuzzed PDUs start well formed
 * and get mutations (enum fz_mut), each recorded with the PDU.
 *
 * Everything comes from the PRNG seeded with (seed, index) and from the
 * environment (names, LUN, LBA): never from the target, whose answers
 * the player meets only through the fix-ups.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "iscsi_wire.h"

/* ---- PRNG: splitmix64 ------------------------------------------------- */

static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t fz_next(struct fz_rng *r)
{
	r->s += 0x9e3779b97f4a7c15ull;
	return mix(r->s);
}

static uint32_t below(struct fz_rng *r, uint32_t n)
{
	return n ? (uint32_t)(fz_next(r) % n) : 0;
}

/* Streams of neighbouring seeds and indices share nothing visible. */
void fz_rng_init(struct fz_rng *r, uint64_t seed, uint64_t index)
{
	r->s = mix(seed ^ mix(index ^ 0x5851f42d4c957f2dull));
}

/* ---- generator state ------------------------------------------------ */

#define POOL		32
#define MAX_KEYS	64
#define VERIFY_ITT	0x7e000000u	/* verified I/O's tags: no fuzzed PDU uses them */
#define SCRATCH_LBA	FZ_LBA_VERIFY

struct pdu_b {
	uint8_t h[HDRS_LEN];		/* iSER header, then the BHS */
	uint8_t ahs[FZ_MAX_AHS];
	uint32_t ahslen;
	int ahs_words;			/* TotalAHSLength to declare; -1: the truth */
	uint8_t data[FZ_MAX_DATA];
	uint32_t dlen;
	int64_t dlen_decl;		/* DataSegmentLength to declare; -1: the truth */
	int64_t send_len;		/* bytes to send; -1: all of them */
	struct fz_fix fix[FZ_MAX_FIX];
	bool in_data[FZ_MAX_FIX];	/* offset counts from the data segment */
	unsigned int nfix;
	uint64_t muts;
	uint32_t edtl;			/* SCSI Command */
};

struct gen {
	struct fz_rng r;
	struct fz_seq *s;
	const struct fz_env *env;
	bool fail;
	struct pdu_b pb;
	uint8_t out[FZ_MAX_SEND];
	uint32_t cmdsn;			/* what the target's ExpCmdSN should be */
	uint32_t itt;			/* last fuzz tag */
	uint32_t vitt;			/* last verified-I/O tag */
	uint32_t pool[POOL];		/* fuzz tags handed out, for reuse */
	unsigned int npool;
	uint8_t isid[6];
	uint16_t cid;
	uint32_t login_itt;
	bool discovery;
	bool dereg;			/* region 0 gone: no verified I/O */
	bool ended;			/* vanished: nothing more to send */
	uint32_t mr1_len;		/* second region; 0: none */
	unsigned int io_slot;
	struct {
		bool open;
		uint32_t itt, len, sent, datasn;
	} pw;				/* a WRITE waiting for unsolicited Data-Out */
	char karena[32768];
	size_t kused;
	char *keys[MAX_KEYS];
	unsigned int nkeys;
	unsigned int nnames;		/* keys[0..nnames) name the session */
};

static uint32_t rnd(struct gen *g, uint32_t n)
{
	return below(&g->r, n);
}

static bool chance(struct gen *g, uint32_t percent)
{
	return rnd(g, 100) < percent;
}

static uint32_t pick(struct gen *g, const uint32_t *v, size_t n)
{
	return v[rnd(g, (uint32_t)n)];
}

#define PICK(g, ...) ({ const uint32_t v_[] = { __VA_ARGS__ }; \
			pick(g, v_, sizeof(v_) / sizeof(v_[0])); })
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void random_bytes(struct gen *g, uint8_t *p, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)fz_next(&g->r);
}

static uint32_t new_itt(struct gen *g)
{
	g->itt++;
	g->pool[g->npool++ % POOL] = g->itt;
	return g->itt;
}

static uint32_t old_itt(struct gen *g)
{
	unsigned int n = g->npool < POOL ? g->npool : POOL;

	return n ? g->pool[rnd(g, n)] : g->itt;
}

/* ---- actions -------------------------------------------------------- */

static struct fz_action *add(struct gen *g, enum fz_op op)
{
	struct fz_action *a = fz_add(g->s, op);

	if (!a)
		g->fail = true;
	return a;
}

static void add_await(struct gen *g, uint32_t itt, uint32_t ms)
{
	struct fz_action *a = add(g, FZ_AWAIT);

	if (a) {
		a->itt = itt;
		a->ms = ms;
	}
}

static void add_wait(struct gen *g, uint32_t ms)
{
	struct fz_action *a = add(g, FZ_WAIT);

	if (a)
		a->ms = ms;
}

static void add_fill(struct gen *g, uint32_t off, uint32_t len, uint64_t pat,
		     uint64_t at)
{
	struct fz_action *a = add(g, FZ_FILL);

	if (a) {
		a->off = off;
		a->len = len;
		a->pat = pat;
		a->at = at;
	}
}

/* ---- building PDUs ---------------------------------------------------- */

static uint8_t *bhs(struct pdu_b *pb)
{
	return pb->h + ISER_HDR_LEN;
}

static struct pdu_b *pdu(struct gen *g, uint8_t opcode, uint8_t flags)
{
	struct pdu_b *pb = &g->pb;

	memset(pb->h, 0, sizeof(pb->h));
	pb->h[0] = ISER_OP_ISCSI_CTRL;
	bhs(pb)[0] = opcode;
	bhs(pb)[1] = flags;
	pb->ahslen = 0;
	pb->ahs_words = -1;
	pb->dlen = 0;
	pb->dlen_decl = -1;
	pb->send_len = -1;
	pb->nfix = 0;
	pb->muts = 0;
	pb->edtl = 0;
	return pb;
}

static void fix(struct pdu_b *pb, enum fz_fix_kind kind, uint8_t region,
		uint32_t off, int64_t delta, uint32_t len, bool in_data)
{
	struct fz_fix *f;

	if (pb->nfix >= FZ_MAX_FIX)
		return;
	f = &pb->fix[pb->nfix];
	*f = (struct fz_fix){ .kind = (uint8_t)kind, .region = region, .off = off,
			      .delta = delta, .len = len };
	pb->in_data[pb->nfix++] = in_data;
}

/* Forget the fix-up of the header field at @off: it gets a literal. */
static void unfix(struct pdu_b *pb, uint32_t off)
{
	unsigned int i, j = 0;

	for (i = 0; i < pb->nfix; i++) {
		if (!pb->in_data[i] && pb->fix[i].off == off)
			continue;
		pb->fix[j] = pb->fix[i];
		pb->in_data[j++] = pb->in_data[i];
	}
	pb->nfix = j;
}

static struct fz_fix *find_fix(struct pdu_b *pb, uint32_t off)
{
	unsigned int i;

	for (i = 0; i < pb->nfix; i++)
		if (!pb->in_data[i] && pb->fix[i].off == off)
			return &pb->fix[i];
	return NULL;
}

static void expstatsn(struct pdu_b *pb)
{
	fix(pb, FZ_FIX_EXPSTATSN, 0, ISER_HDR_LEN + B_EXPSTATSN, 0, 0, false);
}

/* The common fields: LUN, ITT, CmdSN, and ExpStatSN as the target left it. */
static void fields(struct gen *g, struct pdu_b *pb, uint32_t itt, uint32_t ttt)
{
	put_lun(bhs(pb), g->env->lun);
	put32(bhs(pb) + B_ITT, itt);
	put32(bhs(pb) + B_TTT, ttt);
	put32(bhs(pb) + B_CMDSN, g->cmdsn);
	expstatsn(pb);
}

static void set_data(struct pdu_b *pb, const uint8_t *d, uint32_t n)
{
	if (n > FZ_MAX_DATA)
		n = FZ_MAX_DATA;
	memcpy(pb->data, d, n);
	pb->dlen = n;
}

static void random_data(struct gen *g, struct pdu_b *pb, uint32_t n)
{
	if (n > FZ_MAX_DATA)
		n = FZ_MAX_DATA;
	random_bytes(g, pb->data, n);
	pb->dlen = n;
}

/* Bytes of the data buffer fuzzed commands may move: the scratch part. */
static uint32_t scratch_off(struct gen *g, uint32_t len)
{
	uint32_t room = FZ_DATA_SIZE - FZ_VERIFY_SIZE;

	if (len >= room)
		return FZ_VERIFY_SIZE;
	return FZ_VERIFY_SIZE + rnd(g, (room - len) / 512 + 1) * 512;
}

/* The action for @pb as it stands; fix-ups cut off by a short send go. */
static void emit(struct gen *g, struct pdu_b *pb, enum fz_phase phase)
{
	uint32_t total = HDRS_LEN + pb->ahslen + pb->dlen, len = total;
	struct fz_action *a;
	unsigned int i;

	bhs(pb)[B_AHSLEN] = (uint8_t)(pb->ahs_words >= 0 ? (uint32_t)pb->ahs_words :
				      pb->ahslen / 4);
	put24(bhs(pb) + B_DLEN, (uint32_t)(pb->dlen_decl >= 0 ? pb->dlen_decl :
					   pb->dlen));
	memcpy(g->out, pb->h, HDRS_LEN);
	memcpy(g->out + HDRS_LEN, pb->ahs, pb->ahslen);
	memcpy(g->out + HDRS_LEN + pb->ahslen, pb->data, pb->dlen);
	if (pb->send_len >= 0 && pb->send_len < total)
		len = (uint32_t)pb->send_len;
	a = add(g, FZ_SEND);
	if (!a)
		return;
	if (fz_set_bytes(a, g->out, len)) {
		g->fail = true;
		return;
	}
	a->phase = (uint8_t)phase;
	a->muts = pb->muts;
	for (i = 0; i < pb->nfix; i++) {
		struct fz_fix f = pb->fix[i];
		uint32_t size = f.kind == FZ_FIX_VA ? 8 :
				f.kind == FZ_FIX_BUF ? f.len : 4;

		if (pb->in_data[i])
			f.off += HDRS_LEN + pb->ahslen;
		if (f.off + size <= len)
			a->fix[a->nfix++] = f;
	}
}

/*
 * The target's ExpCmdSN moves on with a non-immediate PDU that carries
 * it, if the PDU was whole enough to be read.
 */
static void advance(struct gen *g, struct pdu_b *pb)
{
	uint64_t broken = 1ull << FZ_M_TRUNCATE | 1ull << FZ_M_DLEN_LONG |
			  1ull << FZ_M_ISER_OP | 1ull << FZ_M_AHS;

	if (!(bhs(pb)[0] & OP_IMMEDIATE) && !(pb->muts & broken) &&
	    get32(bhs(pb) + B_CMDSN) == g->cmdsn)
		g->cmdsn++;
}

/* ---- mutations -------------------------------------------------------- */

#define M(x)		(1ull << FZ_M_##x)
#define M_ANY		(M(ITT_REUSE) | M(ITT_RSVD) | M(EXPSTATSN) | M(IMM_FLIP) | \
			 M(FINAL_FLIP) | M(DLEN_LONG) | M(DLEN_SHORT) | M(AHS) | \
			 M(TRUNCATE) | M(ISER_OP) | M(ISER_RSVD) | M(LUN) | \
			 M(STAG_BOGUS))
#define M_CMDSN		(M(CMDSN_AHEAD) | M(CMDSN_GAP) | M(CMDSN_BEHIND))
#define M_SCSI		(M_ANY | M_CMDSN | M(STAG_MISSING) | M(STAG_SHORT) | \
			 M(VA_BAD) | M(EDTL) | M(DIR) | M(IMM_DATA))

static void mut_ahs(struct gen *g, struct pdu_b *pb)
{
	uint8_t *a = pb->ahs;

	switch (rnd(g, 6)) {
	case 0:		/* declared, not sent: the data is read as AHS */
		pb->ahs_words = 1 + (int)rnd(g, 8);
		break;
	case 1:		/* an entry longer than the AHS holding it */
		put16(a, (uint16_t)(8 + rnd(g, 2000)));
		a[2] = (uint8_t)rnd(g, 3);
		pb->ahslen = 8;
		break;
	case 2:		/* extended CDB (type 1), possibly well formed */
		put16(a, (uint16_t)(PICK(g, 17, 16, 0, 0xffff)));
		a[2] = 1;
		random_bytes(g, a + 4, 16);
		pb->ahslen = 20;
		break;
	case 3:		/* bidirectional read length (type 2), huge */
		put16(a, 5);
		a[2] = 2;
		put32(a + 4, PICK(g, 0xffffffff, 0x80000000, 0, 1u << 20));
		pb->ahslen = 8;
		break;
	case 4:		/* random words */
		pb->ahslen = 4 * (1 + rnd(g, 16));
		random_bytes(g, a, pb->ahslen);
		break;
	default:	/* the most TotalAHSLength can say */
		pb->ahslen = FZ_MAX_AHS;
		random_bytes(g, a, pb->ahslen);
		if (chance(g, 50))
			pb->ahs_words = 255;
		break;
	}
}

/* Before the region, running past its end, far outside, wrapping, 0. */
static void mut_va(struct gen *g, struct pdu_b *pb, uint32_t off)
{
	static const int64_t deltas[] = {
		-4096, FZ_DATA_SIZE - 512, FZ_DATA_SIZE + (1 << 20), -1,
	};
	struct fz_fix *f = find_fix(pb, off);

	if (f && chance(g, 60)) {
		f->delta = deltas[rnd(g, NELEM(deltas))];
		return;
	}
	unfix(pb, off);
	put64(pb->h + off, chance(g, 50) ? 0xfffffffffffff000ull :
	      chance(g, 50) ? 0 : fz_next(&g->r));
}

static void mut_stag_short(struct pdu_b *pb)
{
	static const uint32_t offs[] = { 4, 8, 16, 20 };
	unsigned int i;

	for (i = 0; i < 4; i++) {
		struct fz_fix *f = find_fix(pb, offs[i]);

		if (f) {
			f->region = 1;
			f->delta = 0;
		}
	}
}

static bool applies(struct gen *g, struct pdu_b *pb, enum fz_mut m)
{
	switch (m) {
	case FZ_M_DLEN_SHORT:
		return pb->dlen > 0;
	case FZ_M_STAG_SHORT:
		return g->mr1_len && pb->edtl > g->mr1_len &&
		       (pb->h[0] & (ISER_FLAG_WSV | ISER_FLAG_RSV));
	case FZ_M_VA_BAD:
	case FZ_M_STAG_MISSING:
		return pb->h[0] & (ISER_FLAG_WSV | ISER_FLAG_RSV);
	default:
		return true;
	}
}

static void mutate_one(struct gen *g, struct pdu_b *pb, enum fz_mut m)
{
	uint8_t *b = bhs(pb), *ih = pb->h;
	uint32_t v;

	switch (m) {
	case FZ_M_ITT_REUSE:
		put32(b + B_ITT, old_itt(g));
		break;
	case FZ_M_ITT_RSVD:
		put32(b + B_ITT, RSVD_TAG);
		break;
	case FZ_M_TTT_BOGUS:
		unfix(pb, ISER_HDR_LEN + B_TTT);
		put32(b + B_TTT, PICK(g, 0, 1, 0x1234, 0xfffffffe) ^ rnd(g, 2));
		break;
	case FZ_M_CMDSN_AHEAD:
		put32(b + B_CMDSN, g->cmdsn + 1000 + rnd(g, 1u << 30));
		break;
	case FZ_M_CMDSN_GAP:
		put32(b + B_CMDSN, g->cmdsn + 1 + rnd(g, 8));
		break;
	case FZ_M_CMDSN_BEHIND:
		put32(b + B_CMDSN, g->cmdsn - 1 - rnd(g, 16));
		break;
	case FZ_M_EXPSTATSN:
		unfix(pb, ISER_HDR_LEN + B_EXPSTATSN);
		if (chance(g, 50))
			put32(b + B_EXPSTATSN, (uint32_t)fz_next(&g->r));
		else
			fix(pb, FZ_FIX_EXPSTATSN, 0, ISER_HDR_LEN + B_EXPSTATSN,
			    (int32_t)PICK(g, (uint32_t)-100, 1, 1000, 0x7fffffff),
			    0, false);
		break;
	case FZ_M_IMM_FLIP:
		b[0] ^= OP_IMMEDIATE;
		break;
	case FZ_M_FINAL_FLIP:
		b[1] ^= FLAG_FINAL;
		if (chance(g, 50))
			b[1] |= LOGIN_C;
		break;
	case FZ_M_DLEN_LONG:
		pb->dlen_decl = pb->dlen + PICK(g, 1, 4, 512, 8192, 0xffffff - pb->dlen);
		break;
	case FZ_M_DLEN_SHORT:
		pb->dlen_decl = rnd(g, pb->dlen);
		break;
	case FZ_M_AHS:
		mut_ahs(g, pb);
		break;
	case FZ_M_TRUNCATE:
		v = HDRS_LEN + pb->ahslen + pb->dlen;
		pb->send_len = chance(g, 50) || v == HDRS_LEN ? rnd(g, HDRS_LEN) :
			       HDRS_LEN + rnd(g, v - HDRS_LEN);
		break;
	case FZ_M_ISER_OP:
		ih[0] = (uint8_t)(PICK(g, 0x20, 0x30, 0x00, 0x40, 0x50, 0xf0) |
				  (ih[0] & 0x0f));
		break;
	case FZ_M_ISER_RSVD:
		if (chance(g, 50))
			ih[0] |= (uint8_t)(1 + rnd(g, 3));
		else
			ih[1 + rnd(g, 3)] = (uint8_t)(1 + rnd(g, 255));
		break;
	case FZ_M_LUN:
		if (chance(g, 50))
			put_lun(b, PICK(g, 255, 16383, 1 + g->env->lun));
		else
			random_bytes(g, b + B_LUN, 8);
		break;
	case FZ_M_STAG_BOGUS:
		v = chance(g, 50) ? 4 : 16;
		ih[0] |= v == 4 ? ISER_FLAG_WSV : ISER_FLAG_RSV;
		unfix(pb, v);
		put32(ih + v, chance(g, 30) ? 0 : (uint32_t)fz_next(&g->r));
		if (!find_fix(pb, v + 4))
			put64(ih + v + 4, chance(g, 50) ? 0 : fz_next(&g->r));
		break;
	case FZ_M_STAG_MISSING:
		ih[0] &= (uint8_t)~(ISER_FLAG_WSV | ISER_FLAG_RSV);
		break;
	case FZ_M_STAG_SHORT:
		mut_stag_short(pb);
		break;
	case FZ_M_VA_BAD:
		mut_va(g, pb, ih[0] & ISER_FLAG_WSV ? 8 : 20);
		break;
	case FZ_M_EDTL:
		put32(b + B_TTT, PICK(g, 0, pb->edtl * 2, pb->edtl / 2, pb->edtl + 1,
				      0xffffffff, 0x80000000));
		break;
	case FZ_M_DIR:
		b[1] = (uint8_t)((b[1] & ~(CMD_READ | CMD_WRITE)) |
				 PICK(g, CMD_READ | CMD_WRITE, 0, CMD_READ, CMD_WRITE));
		break;
	case FZ_M_IMM_DATA:
		random_data(g, pb, PICK(g, pb->edtl + 512, 8192 + 512, 16384,
					pb->edtl + 4));
		break;
	case FZ_M_DATASN:
		v = get32(b + 36);
		put32(b + 36, PICK(g, v + 1, v + 100, 0xffffffff, v - 1));
		break;
	case FZ_M_OFFSET:
		v = get32(b + 40);
		put32(b + 40, PICK(g, g->pw.len, g->pw.len + 512, 0xfffffe00,
				   v - 512, v + 1, v + 65536));
		break;
	default:
		return;
	}
	pb->muts |= 1ull << m;
}

/* With @percent chance, one to three mutations of those @allowed. */
static void mutate(struct gen *g, struct pdu_b *pb, uint64_t allowed,
		   uint32_t percent)
{
	unsigned int n, tries;

	if (!chance(g, percent))
		return;
	for (n = 1 + rnd(g, 3), tries = 0; n && tries < 32; tries++) {
		enum fz_mut m = (enum fz_mut)rnd(g, FZ_M_COUNT);

		if (!(allowed & (1ull << m)) || !applies(g, pb, m))
			continue;
		mutate_one(g, pb, m);
		n--;
	}
}

/* ---- CM private data ------------------------------------------------- */

static void gen_connect(struct gen *g)
{
	struct fz_action *a = add(g, FZ_CONNECT);
	uint8_t pd[FZ_MAX_PDATA] = {
		ISER_CM_ZBVA_NOT_SUPPORTED | ISER_CM_SIE_NOT_SUPPORTED,
	};
	uint32_t n = ISER_CM_REQ_LEN;

	if (!a)
		return;
	a->ird = 16;
	a->ord = 16;
	pd[0] = (uint8_t)PICK(g, 0xc0, 0xc0, 0x80, 0x40, 0x00);
	if (chance(g, 22)) {
		switch (rnd(g, 5)) {
		case 0:
			n = rnd(g, ISER_CM_REQ_LEN);
			a->muts |= M(CM_TRUNC);
			break;
		case 1:
			/*
			 * The iSER Hello layout of RFC 7145 (opcode 2, MaxVer and
			 * MinVer nibbles, iSER-IRD) where the CM REQ belongs, with
			 * versions other than 1.
			 */
			n = 12;
			memset(pd, 0, n);
			pd[0] = 0x20;
			pd[1] = (uint8_t)PICK(g, 0x00, 0x22, 0x21, 0xff, 0x10, 0x02);
			put16(pd + 2, (uint16_t)PICK(g, 0, 1, 16, 0xffff));
			a->muts |= M(CM_HELLO);
			break;
		case 2:
			n = 1 + rnd(g, FZ_MAX_PDATA);
			random_bytes(g, pd, n);
			a->muts |= M(CM_RANDOM);
			break;
		case 3:
			n = ISER_CM_REQ_LEN + 1 + rnd(g, FZ_MAX_PDATA - ISER_CM_REQ_LEN);
			random_bytes(g, pd + ISER_CM_REQ_LEN, n - ISER_CM_REQ_LEN);
			a->muts |= M(CM_LONG);
			break;
		default:
			pd[0] |= (uint8_t)(1 + rnd(g, 0x3f));
			random_bytes(g, pd + 1, 3);
			a->muts |= M(CM_RSVD);
			break;
		}
	}
	if (chance(g, 8)) {
		a->ird = (uint8_t)PICK(g, 0, 1, 128, 255);
		a->muts |= M(CM_IRD);
	}
	if (chance(g, 8)) {
		a->ord = (uint8_t)PICK(g, 0, 1, 128, 255);
		a->muts |= M(CM_ORD);
	}
	if (fz_set_bytes(a, pd, n))
		g->fail = true;
}

/* ---- login ------------------------------------------------------------ */

enum login_kind {
	LK_NONE,	/* straight to the full feature phase */
	LK_NORMAL,	/* one operational-stage PDU with every key */
	LK_DISCOVERY,	/* the same for a discovery session */
	LK_TWO_STAGE,	/* security stage, then operational */
	LK_MULTI,	/* the keys over C-bit continuation PDUs */
	LK_NO_TRANSIT,	/* keys with T=0, then an empty PDU with T=1 */
	LK_PIPELINED,	/* two stages without waiting for the first answer */
};

static void kadd(struct gen *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void kadd(struct gen *g, const char *fmt, ...)
{
	size_t room = sizeof(g->karena) - g->kused;
	va_list ap;
	int n;

	if (g->nkeys >= MAX_KEYS || room < 2)
		return;
	va_start(ap, fmt);
	n = vsnprintf(g->karena + g->kused, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return;
	g->keys[g->nkeys++] = g->karena + g->kused;
	g->kused += (size_t)n + 1;
}

static void kdel(struct gen *g, unsigned int i)
{
	memmove(&g->keys[i], &g->keys[i + 1], (g->nkeys - i - 1) * sizeof(g->keys[0]));
	g->nkeys--;
	if (i < g->nnames)
		g->nnames--;
}

static void keys_base(struct gen *g)
{
	static const char *const ops[] = {
		"HeaderDigest=None", "DataDigest=None", "MaxConnections=1",
		"InitialR2T=No", "ImmediateData=Yes", "MaxBurstLength=262144",
		"FirstBurstLength=65536", "DefaultTime2Wait=0",
		"DefaultTime2Retain=0", "MaxOutstandingR2T=1",
		"DataPDUInOrder=Yes", "DataSequenceInOrder=Yes",
		"ErrorRecoveryLevel=0", "IFMarker=No", "OFMarker=No",
		"RDMAExtensions=Yes", "TargetRecvDataSegmentLength=8192",
	};
	static const char *const disc[] = {
		"HeaderDigest=None", "DataDigest=None", "DefaultTime2Wait=0",
		"DefaultTime2Retain=0", "ErrorRecoveryLevel=0", "IFMarker=No",
		"OFMarker=No",
	};
	unsigned int i;

	g->kused = 0;
	g->nkeys = 0;
	kadd(g, "InitiatorName=%s", g->env->initiator);
	if (!g->discovery)
		kadd(g, "TargetName=%s", g->env->target);
	kadd(g, "SessionType=%s", g->discovery ? "Discovery" : "Normal");
	g->nnames = g->nkeys;
	if (g->discovery)
		for (i = 0; i < sizeof(disc) / sizeof(disc[0]); i++)
			kadd(g, "%s", disc[i]);
	else
		for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			kadd(g, "%s", ops[i]);
	/*
	 * Small enough, now and then, that the target answers SendTargets=All
	 * (the padded targets of tests/guest/hostile.sh) in several Text
	 * Responses with C=1, which gen_text()'s sequences then continue.
	 */
	kadd(g, "%s=%u", g->discovery ? "MaxRecvDataSegmentLength" :
	     "InitiatorRecvDataSegmentLength", PICK(g, 8192, 8192, 8192, 512, 1024));
}

static const char *const rdma_keys[] = {
	"RDMAExtensions", "InitiatorRecvDataSegmentLength",
	"TargetRecvDataSegmentLength", "MaxOutstandingUnexpectedPDUs",
};

static const char *const std_keys[] = {
	"MaxRecvDataSegmentLength", "FirstBurstLength", "MaxBurstLength",
	"ImmediateData", "InitialR2T", "MaxConnections", "ErrorRecoveryLevel",
	"DefaultTime2Wait", "DefaultTime2Retain", "MaxOutstandingR2T",
	"HeaderDigest", "DataDigest", "IFMarker", "OFMarker", "DataPDUInOrder",
	"DataSequenceInOrder", "SessionType", "AuthMethod",
	"TargetPortalGroupTag", "X-org.example.fuzz",
};

static const char *const odd_values[] = {
	"0", "1", "2", "511", "512", "513", "65535", "16777215", "16777216",
	"4294967295", "4294967296", "18446744073709551616", "-1", "0x1000",
	"", "Yes", "No", "Maybe", "None", "CRC32C", "None,CRC32C", "Irrelevant",
	"NotUnderstood", "Reject", "Normal", "Discovery", "=", "Yes,No",
};

/* Key-level damage: odd values, duplicates, overlong values, lost names. */
static void keys_mutate(struct gen *g, uint64_t *muts)
{
	unsigned int n = 1 + rnd(g, 2), i;

	while (n--) {
		switch (rnd(g, 4)) {
		case 0:
			for (i = 1 + rnd(g, 4); i; i--)
				kadd(g, "%s=%s", chance(g, 70) ?
				     rdma_keys[rnd(g, NELEM(rdma_keys))] :
				     std_keys[rnd(g, NELEM(std_keys))],
				     odd_values[rnd(g, NELEM(odd_values))]);
			*muts |= M(LOGIN_KEYVAL);
			break;
		case 1:
			if (!g->nkeys)
				break;
			i = rnd(g, g->nkeys);
			if (chance(g, 50)) {
				kadd(g, "%s", g->keys[i]);
			} else {
				int klen = (int)strcspn(g->keys[i], "=");

				kadd(g, "%.*s=%s", klen, g->keys[i],
				     odd_values[rnd(g, NELEM(odd_values))]);
			}
			*muts |= M(LOGIN_DUPKEY);
			break;
		case 2:
			i = PICK(g, 224, 256, 1024, 4000, 9000);
			if (chance(g, 50))
				kadd(g, "InitiatorName=%s%0*u", g->env->initiator, (int)i, 7);
			else
				kadd(g, "%s=%0*u", chance(g, 50) ? "MaxBurstLength" :
				     "X-org.example.long", (int)i, 1);
			*muts |= M(LOGIN_OVERLONG);
			break;
		default:
			if (!g->nnames)
				break;
			kdel(g, rnd(g, g->nnames));
			*muts |= M(LOGIN_NOKEY);
			break;
		}
	}
}

/* keys[from..to), NUL after each, into @out. */
static uint32_t keys_text(struct gen *g, unsigned int from, unsigned int to,
			  uint8_t *out, uint32_t max)
{
	uint32_t n = 0;
	unsigned int i;

	for (i = from; i < to && i < g->nkeys; i++) {
		size_t l = strlen(g->keys[i]) + 1;

		if (n + l > max)
			break;
		memcpy(out + n, g->keys[i], l);
		n += (uint32_t)l;
	}
	return n;
}

/* Text-level damage to one PDU's keys: no final NUL, or junk. */
static void text_mutate(struct gen *g, struct pdu_b *pb, uint64_t want)
{
	if ((want & M(LOGIN_NONUL)) && pb->dlen && !pb->data[pb->dlen - 1]) {
		pb->dlen--;
		pb->muts |= M(LOGIN_NONUL);
	}
	if (want & M(LOGIN_JUNK)) {
		uint32_t i, n = PICK(g, 1, 64, 1024, 8192);

		random_bytes(g, pb->data, n);
		if (chance(g, 50))	/* letters: no '=' and no NUL */
			for (i = 0; i < n; i++)
				pb->data[i] = (uint8_t)('a' + pb->data[i] % 26);
		pb->dlen = n;
		pb->muts |= M(LOGIN_JUNK);
	}
}

static void login_bhs(struct gen *g, struct pdu_b *pb, int csg, int nsg,
		      bool t, bool c, bool first)
{
	pdu(g, OP_LOGIN | OP_IMMEDIATE, (uint8_t)((t ? LOGIN_T | nsg : 0) |
						  (c ? LOGIN_C : 0) | csg << 2));
	memcpy(bhs(pb) + 8, g->isid, 6);
	put32(bhs(pb) + B_ITT, g->login_itt);
	put16(bhs(pb) + 20, g->cid);
	put32(bhs(pb) + B_CMDSN, g->cmdsn);
	/* The first request has no StatSN to acknowledge yet. */
	if (!first)
		expstatsn(pb);
}

/* Header-level damage to one login PDU. */
static void login_mutate(struct gen *g, struct pdu_b *pb, bool later)
{
	uint8_t *b = bhs(pb);

	if (chance(g, 5)) {
		static const uint8_t bad[][2] = {
			{ 2, 3 }, { 1, 2 }, { 3, 3 }, { 1, 0 }, { 1, 1 }, { 0, 0 },
			{ 2, 2 },
		};
		unsigned int i = rnd(g, NELEM(bad));

		b[1] = (uint8_t)(LOGIN_T | (b[1] & LOGIN_C) | bad[i][0] << 2 | bad[i][1]);
		pb->muts |= M(LOGIN_STAGE);
	}
	if (chance(g, 4)) {
		b[1] |= LOGIN_T | LOGIN_C;
		pb->muts |= M(LOGIN_CT);
	}
	if (chance(g, 4)) {
		b[2] = (uint8_t)PICK(g, 1, 2, 0xff);
		b[3] = (uint8_t)PICK(g, 0, 1, 0xff);
		pb->muts |= M(LOGIN_VERSION);
	}
	if (chance(g, later ? 12 : 4)) {
		switch (rnd(g, 4)) {
		case 0:
			b[8 + 1 + rnd(g, 5)] ^= (uint8_t)(1 + rnd(g, 255));
			break;
		case 1:
			put16(b + 14, (uint16_t)(1 + rnd(g, 0xffff)));
			break;
		case 2:
			put16(b + 20, (uint16_t)(g->cid + 1 + rnd(g, 100)));
			break;
		default:
			put32(b + B_ITT, g->login_itt + 1 + rnd(g, 16));
			break;
		}
		pb->muts |= M(LOGIN_ISID);
	}
}

/* One Login Request carrying keys[from..to), @extra after them. */
static void login_send(struct gen *g, int csg, int nsg, bool t,
		       unsigned int from, unsigned int to, const char *extra,
		       uint64_t text_muts, bool first)
{
	struct pdu_b *pb = &g->pb;

	login_bhs(g, pb, csg, nsg, t, false, first);
	pb->dlen = keys_text(g, from, to, pb->data, FZ_MAX_DATA);
	if (extra && pb->dlen + strlen(extra) < FZ_MAX_DATA) {
		strcpy((char *)pb->data + pb->dlen, extra);
		pb->dlen += (uint32_t)strlen(extra) + 1;
	}
	text_mutate(g, pb, text_muts);
	login_mutate(g, pb, !first);
	emit(g, pb, FZ_PH_LOGIN);
}

static void gen_login(struct gen *g)
{
	static const uint32_t weights[] = {
		[LK_NONE] = 3, [LK_NORMAL] = 60, [LK_DISCOVERY] = 8,
		[LK_TWO_STAGE] = 9, [LK_MULTI] = 8, [LK_NO_TRANSIT] = 6,
		[LK_PIPELINED] = 6,
	};
	uint32_t w = rnd(g, 100), ms = 3000, i;
	enum login_kind kind = LK_NONE;
	uint64_t key_muts = 0, text_muts = 0;
	unsigned int all, parts, cut;
	uint8_t *text;

	while (w >= weights[kind])
		w -= weights[kind++];
	g->discovery = kind == LK_DISCOVERY;
	g->isid[0] = 0x80;
	random_bytes(g, g->isid + 1, 5);
	g->cid = (uint16_t)rnd(g, 4);
	g->login_itt = new_itt(g);
	if (kind == LK_NONE)
		return;
	keys_base(g);
	if (chance(g, 20))
		keys_mutate(g, &key_muts);
	if (chance(g, 6))
		text_muts |= chance(g, 50) ? M(LOGIN_NONUL) : M(LOGIN_JUNK);
	all = g->nkeys;
	switch (kind) {
	case LK_TWO_STAGE:
	case LK_PIPELINED:
		/* Names and AuthMethod first, the operational keys after. */
		login_send(g, STAGE_SEC, STAGE_OP, true, 0, g->nnames,
			   "AuthMethod=None", 0, true);
		if (kind == LK_TWO_STAGE)
			add_await(g, g->login_itt, ms);
		login_send(g, STAGE_OP, STAGE_FFP, true, g->nnames, all, NULL,
			   text_muts, false);
		break;
	case LK_MULTI:
		/* The whole text cut anywhere, even inside a key. */
		text = malloc(FZ_MAX_DATA);
		if (!text) {
			g->fail = true;
			return;
		}
		all = keys_text(g, 0, all, text, FZ_MAX_DATA);
		parts = 2 + rnd(g, 3);
		for (i = 0, cut = 0; i < parts; i++) {
			uint32_t end = i + 1 == parts ? all :
				       cut + rnd(g, all - cut + 1);
			bool last = i + 1 == parts;

			login_bhs(g, &g->pb, STAGE_OP, STAGE_FFP, last, !last, !i);
			set_data(&g->pb, text + cut, end - cut);
			if (last)
				text_mutate(g, &g->pb, text_muts);
			login_mutate(g, &g->pb, i > 0);
			emit(g, &g->pb, FZ_PH_LOGIN);
			if (!last)
				add_await(g, g->login_itt, ms);
			cut = end;
		}
		free(text);
		break;
	case LK_NO_TRANSIT:
		login_send(g, STAGE_OP, STAGE_OP, false, 0, all, NULL, text_muts,
			   true);
		add_await(g, g->login_itt, ms);
		login_send(g, STAGE_OP, STAGE_FFP, true, 0, 0, NULL, 0, false);
		break;
	default:
		login_send(g, STAGE_OP, STAGE_FFP, true, 0, all, NULL, text_muts,
			   true);
		break;
	}
	/* The key-level damage belongs to the PDU that carried the keys. */
	for (i = g->s->n; key_muts && i-- > 0;)
		if (g->s->a[i].op == FZ_SEND) {
			g->s->a[i].muts |= key_muts;
			break;
		}
	add_await(g, g->login_itt, ms);
}

/* ---- full feature phase ---------------------------------------------- */

static void maybe_await(struct gen *g, uint32_t itt, uint32_t percent)
{
	if (chance(g, percent))
		add_await(g, itt, PICK(g, 200, 1000, 2000));
}

static void gen_nop(struct gen *g, uint32_t mutp, bool burst)
{
	struct pdu_b *pb = pdu(g, OP_NOOP_OUT | OP_IMMEDIATE, FLAG_FINAL);
	uint32_t itt = RSVD_TAG, v = rnd(g, 4);

	if (v == 0 || v == 3)
		itt = new_itt(g);
	fields(g, pb, itt, RSVD_TAG);
	if (v == 0)
		random_data(g, pb, rnd(g, 65));
	else if (v == 2)	/* an answer to a NOP-In that never was */
		put32(bhs(pb) + B_TTT, 1 + rnd(g, 0x10000));
	else if (v == 3)	/* more than the target said it takes */
		random_data(g, pb, PICK(g, 8192, 8193, 16384, 65536));
	mutate(g, pb, M_ANY | M_CMDSN | M(TTT_BOGUS), mutp);
	emit(g, pb, FZ_PH_FFP);
	advance(g, pb);
	if (!burst && itt != RSVD_TAG)
		maybe_await(g, itt, 40);
}

/* A SCSI command on the scratch blocks and scratch buffer. */
static uint32_t gen_scsi(struct gen *g, uint32_t mutp, bool burst)
{
	struct pdu_b *pb;
	uint32_t kind = rnd(g, 6), blocks = 1 + rnd(g, 512), edtl = 0, imm = 0;
	uint32_t lba = (uint32_t)g->env->lba + SCRATCH_LBA +
		       rnd(g, FZ_LBA_SPAN - SCRATCH_LBA - blocks);
	uint8_t flags = FLAG_FINAL | CMD_ATTR_SIMPLE, cdb[16] = {};
	uint32_t itt = new_itt(g), off;
	bool unsol = false;

	switch (kind) {
	case 0:
		cdb[0] = SCSI_TUR;
		break;
	case 1:
		cdb[0] = 0x12;	/* INQUIRY */
		edtl = PICK(g, 36, 96, 255);
		cdb[4] = (uint8_t)edtl;
		flags |= CMD_READ;
		break;
	case 2:
		cdb[0] = SCSI_READCAP10;
		edtl = 8;
		flags |= CMD_READ;
		break;
	case 3:
		put32(cdb + 2, lba);
		put16(cdb + 7, (uint16_t)blocks);
		cdb[0] = SCSI_READ10;
		edtl = blocks * 512;
		flags |= CMD_READ;
		break;
	default:
		put32(cdb + 2, lba);
		put16(cdb + 7, (uint16_t)blocks);
		cdb[0] = SCSI_WRITE10;
		edtl = blocks * 512;
		flags |= CMD_WRITE;
		unsol = kind == 5 && !g->pw.open;
		if (unsol)
			flags &= (uint8_t)~FLAG_FINAL;
		break;
	}
	pb = pdu(g, OP_SCSI_CMD, flags);
	fields(g, pb, itt, edtl);
	memcpy(bhs(pb) + B_CDB, cdb, 16);
	pb->edtl = edtl;
	off = scratch_off(g, edtl);
	if (flags & CMD_READ) {
		pb->h[0] |= ISER_FLAG_RSV;
		fix(pb, FZ_FIX_RKEY, 0, 16, 0, 0, false);
		fix(pb, FZ_FIX_VA, 0, 20, off, 0, false);
	} else if (flags & CMD_WRITE) {
		if (unsol) {
			/* Data-Out productions carry the first burst. */
			g->pw.open = true;
			g->pw.itt = itt;
			g->pw.len = edtl < 65536 ? edtl : 65536;
			g->pw.sent = 0;
			g->pw.datasn = 0;
			imm = 0;
		} else {
			imm = PICK(g, 0, 512, 4096, 8192);
			imm = imm < edtl ? imm : edtl;
			random_data(g, pb, imm);
		}
		if (edtl > (unsol ? g->pw.len : imm)) {
			pb->h[0] |= ISER_FLAG_WSV;
			fix(pb, FZ_FIX_RKEY, 0, 4, 0, 0, false);
			fix(pb, FZ_FIX_VA, 0, 8, off + (unsol ? g->pw.len : imm), 0,
			    false);
		}
	}
	mutate(g, pb, M_SCSI, mutp);
	emit(g, pb, FZ_PH_FFP);
	advance(g, pb);
	if (!burst && !unsol)
		maybe_await(g, itt, 40);
	return itt;
}

static void gen_tmf(struct gen *g, uint32_t mutp, bool burst)
{
	uint32_t fn = chance(g, 10) ? PICK(g, 0, 9, 15, 0x7f) :
		      PICK(g, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8);
	struct pdu_b *pb = pdu(g, OP_TMF | OP_IMMEDIATE, (uint8_t)(FLAG_FINAL | fn));
	uint32_t itt = new_itt(g);

	fields(g, pb, itt, fn == 1 || fn == 8 ?
	       (chance(g, 70) ? old_itt(g) : (uint32_t)fz_next(&g->r)) : RSVD_TAG);
	put32(bhs(pb) + 32, chance(g, 70) ? g->cmdsn - 1 : (uint32_t)fz_next(&g->r));
	mutate(g, pb, M_ANY | M_CMDSN | M(TTT_BOGUS), mutp);
	emit(g, pb, FZ_PH_FFP);
	advance(g, pb);
	if (!burst)
		maybe_await(g, itt, 50);
}

static void text_pdu(struct gen *g, uint32_t itt, bool final, bool cont,
		     const char *text, uint32_t len, bool echo_ttt, uint32_t mutp)
{
	struct pdu_b *pb = pdu(g, OP_TEXT, (uint8_t)((final ? FLAG_FINAL : 0) |
						      (cont ? LOGIN_C : 0)));

	fields(g, pb, itt, RSVD_TAG);
	if (echo_ttt)
		fix(pb, FZ_FIX_TEXT_TTT, 0, ISER_HDR_LEN + B_TTT, 0, 0, false);
	if (len)
		set_data(pb, (const uint8_t *)text, len);
	mutate(g, pb, M_ANY | M_CMDSN | M(TTT_BOGUS), mutp);
	emit(g, pb, FZ_PH_FFP);
	advance(g, pb);
}

static void gen_text(struct gen *g, uint32_t mutp, bool burst)
{
	static const char *const texts[] = {
		"SendTargets=All", "SendTargets=", "MaxRecvDataSegmentLength=512",
		"X-org.example.fuzz=1", "HeaderDigest=CRC32C", "SendTargets=All=All",
		"TargetAlias=fuzz",
	};
	char buf[512];
	uint32_t itt = new_itt(g), len, cut, ms = PICK(g, 500, 1500);
	const char *t = texts[rnd(g, NELEM(texts))];

	len = (uint32_t)snprintf(buf, sizeof(buf), "%s", t) + 1;
	if (!strcmp(t, "SendTargets=") || burst) {
		len = (uint32_t)snprintf(buf, sizeof(buf), "SendTargets=%s",
					 burst ? "All" : g->env->target) + 1;
	}
	switch (burst ? 0 : rnd(g, 4)) {
	case 0:
		text_pdu(g, itt, true, false, buf, len, false, mutp);
		break;
	case 1:
		/* Our own text over two PDUs: C=1, then the rest with the TTT. */
		cut = 1 + rnd(g, len - 1);
		text_pdu(g, itt, false, true, buf, cut, false, mutp / 2);
		add_await(g, itt, ms);
		text_pdu(g, itt, true, false, buf + cut, len - cut, true, mutp);
		break;
	case 2:
		/* The target's answer continued with empty requests. */
		text_pdu(g, itt, true, false, buf, len, false, mutp / 2);
		add_await(g, itt, ms);
		text_pdu(g, itt, true, false, NULL, 0, true, mutp);
		break;
	default:
		/* A new request before the first was done: reset or confusion. */
		text_pdu(g, itt, true, false, buf, len, false, mutp / 2);
		text_pdu(g, chance(g, 50) ? itt : new_itt(g), true, false, buf, len,
			 chance(g, 50), mutp);
		break;
	}
	if (!burst)
		maybe_await(g, itt, 60);
}

static void gen_dataout(struct gen *g, uint32_t mutp)
{
	struct pdu_b *pb = pdu(g, OP_DATA_OUT, 0);
	bool pending = g->pw.open && chance(g, 75);
	uint32_t len, itt, off, datasn;

	if (pending) {
		itt = g->pw.itt;
		off = g->pw.sent;
		len = g->pw.len - off < 8192 ? g->pw.len - off : 8192;
		datasn = g->pw.datasn++;
		g->pw.sent += len;
		if (g->pw.sent >= g->pw.len) {
			bhs(pb)[1] = FLAG_FINAL;
			g->pw.open = false;
		}
	} else {
		itt = chance(g, 50) ? old_itt(g) : g->itt + 1000 + rnd(g, 1000);
		off = rnd(g, 512) * 512;
		len = 1 + rnd(g, 8192);
		datasn = rnd(g, 4);
		bhs(pb)[1] = chance(g, 50) ? FLAG_FINAL : 0;
	}
	fields(g, pb, itt, RSVD_TAG);
	put32(bhs(pb) + B_CMDSN, 0);	/* reserved in a Data-Out */
	put32(bhs(pb) + 36, datasn);
	put32(bhs(pb) + 40, off);
	random_data(g, pb, len);
	mutate(g, pb, M_ANY | M(TTT_BOGUS) | M(DATASN) | M(OFFSET), mutp);
	emit(g, pb, FZ_PH_FFP);
}

static void gen_snack(struct gen *g, uint32_t mutp)
{
	uint32_t type = chance(g, 80) ? rnd(g, 4) : 4 + rnd(g, 12);
	struct pdu_b *pb = pdu(g, OP_SNACK, (uint8_t)(FLAG_FINAL | type));

	fields(g, pb, chance(g, 50) ? old_itt(g) : RSVD_TAG,
	       chance(g, 50) ? RSVD_TAG : (uint32_t)fz_next(&g->r));
	put32(bhs(pb) + B_CMDSN, 0);
	put32(bhs(pb) + 40, rnd(g, 4));
	put32(bhs(pb) + 44, PICK(g, 0, 1, 0xffffffff));
	mutate(g, pb, M_ANY | M(TTT_BOGUS), mutp);
	emit(g, pb, FZ_PH_FFP);
}

static void gen_login_ffp(struct gen *g, uint32_t mutp)
{
	struct pdu_b *pb = &g->pb;

	login_bhs(g, pb, STAGE_OP, STAGE_FFP, true, false, false);
	keys_base(g);
	pb->dlen = keys_text(g, 0, g->nkeys, pb->data, FZ_MAX_DATA);
	mutate(g, pb, M_ANY, mutp);
	emit(g, pb, FZ_PH_FFP);
	maybe_await(g, g->login_itt, 50);
}

/* Reserved, vendor-specific and target opcodes. */
static void gen_unknown(struct gen *g, uint32_t mutp)
{
	uint32_t op = chance(g, 50) ? 0x07 + rnd(g, 9) :
		      chance(g, 50) ? 0x11 + rnd(g, 15) : 0x20 + rnd(g, 32);
	struct pdu_b *pb = pdu(g, (uint8_t)(op | (chance(g, 50) ? OP_IMMEDIATE : 0)),
			       (uint8_t)fz_next(&g->r));

	fields(g, pb, new_itt(g), (uint32_t)fz_next(&g->r));
	random_bytes(g, bhs(pb) + 36, 12);
	random_data(g, pb, PICK(g, 0, 0, 4, 48, 1000));
	mutate(g, pb, M_ANY, mutp);
	emit(g, pb, FZ_PH_FFP);
}

static void logout_pdu(struct gen *g, uint32_t reason, uint32_t mutp)
{
	struct pdu_b *pb = pdu(g, OP_LOGOUT | OP_IMMEDIATE,
			       (uint8_t)(FLAG_FINAL | reason));
	uint32_t itt = new_itt(g);

	fields(g, pb, itt, 0);
	memset(bhs(pb) + B_LUN, 0, 8);
	put16(bhs(pb) + 20, reason == 1 && chance(g, 50) ?
	      (uint16_t)(g->cid + 1) : g->cid);
	mutate(g, pb, M_ANY | M_CMDSN, mutp);
	emit(g, pb, FZ_PH_FFP);
	advance(g, pb);
	add_await(g, itt, 2000);
}

static void gen_logout(struct gen *g, uint32_t mutp)
{
	logout_pdu(g, chance(g, 20) ? PICK(g, 3, 0x7f, 2) : PICK(g, 0, 0, 1),
		   mutp);
}

/*
 * Well-formed I/O: a pattern is written to blocks of the verified range
 * (immediate data copied from the buffer, the rest by RDMA READ), read
 * back into a poisoned part of the buffer (RDMA WRITE) and compared. Other
 * productions may come between the commands and their answers.
 */
static void gen_fuzz_one(struct gen *g, bool quiet);

static void gen_io(struct gen *g)
{
	uint32_t size = PICK(g, 512, 4096, 65536, 262144);
	uint32_t slot = g->io_slot++ % 2, src = slot * 262144;
	uint32_t dst = FZ_VERIFY_SIZE / 2 + src, imm = PICK(g, 0, 512, 8192);
	uint64_t lba = g->env->lba + slot * 512, pat = fz_next(&g->r);
	uint32_t witt = VERIFY_ITT | ++g->vitt, ritt = VERIFY_ITT | ++g->vitt;
	struct pdu_b *pb;
	struct fz_action *a;

	imm = imm < size ? imm : size;
	add_fill(g, src, size, pat, lba * 512);
	add_fill(g, dst, size, ~pat, lba * 512);

	pb = pdu(g, OP_SCSI_CMD, FLAG_FINAL | CMD_WRITE | CMD_ATTR_SIMPLE);
	fields(g, pb, witt, size);
	bhs(pb)[B_CDB] = SCSI_WRITE10;
	put32(bhs(pb) + B_CDB + 2, (uint32_t)lba);
	put16(bhs(pb) + B_CDB + 7, (uint16_t)(size / 512));
	if (imm) {
		memset(pb->data, 0, imm);
		pb->dlen = imm;
		fix(pb, FZ_FIX_BUF, 0, 0, src, imm, true);
	}
	if (size > imm) {
		pb->h[0] |= ISER_FLAG_WSV;
		fix(pb, FZ_FIX_RKEY, 0, 4, 0, 0, false);
		fix(pb, FZ_FIX_VA, 0, 8, src + imm, 0, false);
	}
	emit(g, pb, FZ_PH_IO);
	advance(g, pb);
	if (chance(g, 30))
		gen_fuzz_one(g, true);
	add_await(g, witt, 3000);

	pb = pdu(g, OP_SCSI_CMD, FLAG_FINAL | CMD_READ | CMD_ATTR_SIMPLE);
	fields(g, pb, ritt, size);
	bhs(pb)[B_CDB] = SCSI_READ10;
	put32(bhs(pb) + B_CDB + 2, (uint32_t)lba);
	put16(bhs(pb) + B_CDB + 7, (uint16_t)(size / 512));
	pb->h[0] |= ISER_FLAG_RSV;
	fix(pb, FZ_FIX_RKEY, 0, 16, 0, 0, false);
	fix(pb, FZ_FIX_VA, 0, 20, dst, 0, false);
	emit(g, pb, FZ_PH_IO);
	advance(g, pb);
	if (chance(g, 30))
		gen_fuzz_one(g, true);
	add_await(g, ritt, 3000);

	a = add(g, FZ_VERIFY);
	if (a) {
		a->off = dst;
		a->len = size;
		a->pat = pat;
		a->at = lba * 512;
		a->itt = witt;
		a->ritt = ritt;
	}
}

/* Several PDUs back to back, or more commands than the CmdSN window. */
static void gen_burst(struct gen *g)
{
	unsigned int n = chance(g, 75) ? 4 + rnd(g, 12) : 66 + rnd(g, 16), i;
	bool window = n > 64;

	for (i = 0; i < n && !g->fail; i++) {
		switch (window ? 1 : rnd(g, 4)) {
		case 0:
			gen_nop(g, 15, true);
			break;
		case 1:
			gen_scsi(g, window ? 0 : 15, true);
			break;
		case 2:
			gen_tmf(g, 15, true);
			break;
		default:
			gen_text(g, 15, true);
			break;
		}
	}
}

/* A transfer of the whole scratch MiB, then gone from under it. */
static void big_transfer(struct gen *g, bool write)
{
	struct pdu_b *pb = pdu(g, OP_SCSI_CMD, FLAG_FINAL | CMD_ATTR_SIMPLE |
			       (write ? CMD_WRITE : CMD_READ));
	uint32_t size = FZ_DATA_SIZE - FZ_VERIFY_SIZE;

	fields(g, pb, new_itt(g), size);
	bhs(pb)[B_CDB] = write ? SCSI_WRITE10 : SCSI_READ10;
	put32(bhs(pb) + B_CDB + 2, (uint32_t)g->env->lba + SCRATCH_LBA);
	put16(bhs(pb) + B_CDB + 7, (uint16_t)(size / 512));
	pb->h[0] |= write ? ISER_FLAG_WSV : ISER_FLAG_RSV;
	fix(pb, FZ_FIX_RKEY, 0, write ? 4 : 16, 0, 0, false);
	fix(pb, FZ_FIX_VA, 0, write ? 8 : 20, FZ_VERIFY_SIZE, 0, false);
	emit(g, pb, FZ_PH_FFP);
	advance(g, pb);
}

static void gen_vanish(struct gen *g)
{
	struct fz_action *a;

	big_transfer(g, chance(g, 60));
	if (chance(g, 60))
		add_wait(g, rnd(g, 4));
	a = add(g, FZ_VANISH);
	if (!a)
		return;
	a->how = (uint8_t)rnd(g, FZ_V_COUNT);
	/* Without its QP the connection lingers until the target notices. */
	if (a->how == FZ_V_DESTROY_QP)
		add_wait(g, PICK(g, 50, 200, 1000));
	g->ended = true;
}

static void gen_dereg(struct gen *g)
{
	struct fz_action *a;

	big_transfer(g, true);
	a = add(g, FZ_DEREG);
	if (a)
		a->region = 0;
	add_wait(g, PICK(g, 0, 10, 100));
	g->dereg = true;
}

enum prod {
	P_NOP, P_SCSI, P_TMF, P_TEXT, P_DATAOUT, P_SNACK, P_LOGIN, P_UNKNOWN,
	P_LOGOUT, P_WAIT, P_BURST, P_IO, P_VANISH, P_DEREG, P_COUNT,
};

static const uint32_t prod_weight[P_COUNT] = {
	[P_NOP] = 8, [P_SCSI] = 16, [P_TMF] = 6, [P_TEXT] = 8, [P_DATAOUT] = 9,
	[P_SNACK] = 4, [P_LOGIN] = 3, [P_UNKNOWN] = 5, [P_LOGOUT] = 2,
	[P_WAIT] = 5, [P_BURST] = 6, [P_IO] = 14, [P_VANISH] = 3, [P_DEREG] = 1,
};

static void production(struct gen *g, enum prod p)
{
	switch (p) {
	case P_NOP:
		gen_nop(g, 40, false);
		break;
	case P_SCSI:
		gen_scsi(g, 45, false);
		break;
	case P_TMF:
		gen_tmf(g, 35, false);
		break;
	case P_TEXT:
		gen_text(g, 35, false);
		break;
	case P_DATAOUT:
		gen_dataout(g, 45);
		break;
	case P_SNACK:
		gen_snack(g, 30);
		break;
	case P_LOGIN:
		gen_login_ffp(g, 30);
		break;
	case P_UNKNOWN:
		gen_unknown(g, 30);
		break;
	case P_LOGOUT:
		gen_logout(g, 30);
		break;
	case P_WAIT:
		add_wait(g, PICK(g, 0, 1, 5, 20, 100));
		break;
	case P_BURST:
		gen_burst(g);
		break;
	case P_IO:
		gen_io(g);
		break;
	case P_VANISH:
		gen_vanish(g);
		break;
	case P_DEREG:
		gen_dereg(g);
		break;
	default:
		break;
	}
}

static enum prod pick_prod(struct gen *g, bool quiet)
{
	for (;;) {
		uint32_t total = 0, w;
		enum prod p;

		for (p = 0; p < P_COUNT; p++)
			total += prod_weight[p];
		w = rnd(g, total);
		for (p = 0; w >= prod_weight[p]; p++)
			w -= prod_weight[p];
		/* Between verified commands: single PDUs and pauses only. */
		if (quiet && (p == P_IO || p == P_BURST || p == P_VANISH ||
			      p == P_DEREG || p == P_LOGOUT || p == P_LOGIN))
			continue;
		if (p == P_IO && (g->dereg || g->discovery))
			continue;
		return p;
	}
}

static void gen_fuzz_one(struct gen *g, bool quiet)
{
	production(g, pick_prod(g, quiet));
}

int fz_generate(struct fz_seq *s, uint64_t seed, uint64_t index,
		const struct fz_env *env)
{
	struct gen *g = calloc(1, sizeof(*g));
	unsigned int n, i;
	int ret;

	if (!g)
		return -1;
	fz_seq_init(s);
	s->seed = seed;
	s->index = index;
	s->env = *env;
	g->s = s;
	g->env = &s->env;
	fz_rng_init(&g->r, seed, index);
	/* CmdSN starts anywhere, now and then just short of the wrap. */
	g->cmdsn = chance(g, 20) ? 0xfffffff0u + rnd(g, 16) : (uint32_t)fz_next(&g->r);
	g->itt = 0x1000 + rnd(g, 0x100000);

	gen_connect(g);
	if (chance(g, 25)) {
		struct fz_action *a = add(g, FZ_MR);

		if (a) {
			a->region = 1;
			a->off = FZ_VERIFY_SIZE;
			a->len = PICK(g, 512, 4096, 65536);
			g->mr1_len = a->len;
		}
	}
	gen_login(g);
	for (n = 1 + rnd(g, 16), i = 0; i < n && !g->ended && !g->fail; i++)
		gen_fuzz_one(g, false);
	if (!g->ended && chance(g, 30))
		logout_pdu(g, 0, 0);
	ret = g->fail ? -1 : 0;
	if (ret)
		fz_seq_free(s);
	free(g);
	return ret;
}
