/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iser-hostile: the seeded protocol fuzzer. A sequence is a list of
 * actions (connect, send these bytes, wait, verify, vanish...) generated
 * from a grammar by a PRNG of our own, so that sequence INDEX of seed SEED
 * is the same on every machine; it is written to a text file before it is
 * played, parsed back for replays, and cut down by delta debugging.
 *
 * Nothing here touches RDMA: fuzz_gen.c (the grammar), fuzz_seq.c (the
 * file format, fix-ups and ddmin) and fuzz_kmsg.c (kernel log splats) are
 * what the host self-test links; fuzz_run.c plays sequences over RDMA.
 */
#ifndef HOSTILE_FUZZ_H
#define HOSTILE_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <regex.h>

/* ---- PRNG (splitmix64) --------------------------------------------- */

struct fz_rng {
	uint64_t s;
};

uint64_t fz_next(struct fz_rng *r);
void fz_rng_init(struct fz_rng *r, uint64_t seed, uint64_t index);

/* ---- sequences ------------------------------------------------------ */

enum fz_op {
	FZ_CONNECT,	/* RDMA CM connect with private data, IRD and ORD */
	FZ_MR,		/* register a second region over the data buffer */
	FZ_DEREG,	/* deregister a region the target may be using */
	FZ_FILL,	/* a data pattern into the local buffer */
	FZ_SEND,	/* one RDMA SEND of these bytes, after the fix-ups */
	FZ_AWAIT,	/* read until a PDU for this ITT arrives */
	FZ_WAIT,	/* read whatever comes for a while */
	FZ_VERIFY,	/* compare a READ's data with the pattern written */
	FZ_VANISH,	/* disconnect, destroy the QP or exit, mid-transfer */
	FZ_OP_COUNT,
};

enum fz_phase {
	FZ_PH_LOGIN,	/* part of the login */
	FZ_PH_FFP,	/* fuzzed full-feature-phase PDU */
	FZ_PH_IO,	/* well-formed I/O whose data is verified */
	FZ_PH_COUNT,
};

enum fz_vanish {
	FZ_V_DISCONNECT,
	FZ_V_DESTROY_QP,
	FZ_V_EXIT,
	FZ_V_COUNT,
};

/*
 * Fix-ups: fields of a SEND filled in when it is played, because their
 * values exist only then. All but two are the initiator's own (memory
 * keys, addresses, buffer contents); EXPSTATSN and TEXT_TTT echo what the
 * target said, as any initiator must, so that well-formed exchanges stay
 * well formed. The generator never looks at them.
 */
enum fz_fix_kind {
	FZ_FIX_RKEY,		/* rkey of region R, 4 bytes */
	FZ_FIX_VA,		/* address of region R plus delta, 8 bytes */
	FZ_FIX_BUF,		/* len bytes of region R from delta on */
	FZ_FIX_EXPSTATSN,	/* the connection's ExpStatSN plus delta */
	FZ_FIX_TEXT_TTT,	/* the TTT of the last Text Response */
	FZ_FIX_COUNT,
};

struct fz_fix {
	uint8_t kind;
	uint8_t region;
	uint32_t off;		/* where in the SEND */
	int64_t delta;
	uint32_t len;		/* FZ_FIX_BUF only */
};

/* What the grammar did to a PDU or connect, beyond the well-formed. */
enum fz_mut {
	/* CM private data and parameters */
	FZ_M_CM_TRUNC, FZ_M_CM_HELLO, FZ_M_CM_RANDOM, FZ_M_CM_LONG,
	FZ_M_CM_RSVD, FZ_M_CM_IRD, FZ_M_CM_ORD,
	/* login */
	FZ_M_LOGIN_STAGE, FZ_M_LOGIN_CT, FZ_M_LOGIN_KEYVAL, FZ_M_LOGIN_DUPKEY,
	FZ_M_LOGIN_OVERLONG, FZ_M_LOGIN_NONUL, FZ_M_LOGIN_JUNK,
	FZ_M_LOGIN_NOKEY, FZ_M_LOGIN_ISID, FZ_M_LOGIN_VERSION,
	/* any PDU */
	FZ_M_ITT_REUSE, FZ_M_ITT_RSVD, FZ_M_TTT_BOGUS, FZ_M_CMDSN_AHEAD,
	FZ_M_CMDSN_GAP, FZ_M_CMDSN_BEHIND, FZ_M_EXPSTATSN, FZ_M_IMM_FLIP,
	FZ_M_FINAL_FLIP, FZ_M_DLEN_LONG, FZ_M_DLEN_SHORT, FZ_M_AHS,
	FZ_M_TRUNCATE, FZ_M_ISER_OP, FZ_M_ISER_RSVD, FZ_M_LUN, FZ_M_STAG_BOGUS,
	/* SCSI Command */
	FZ_M_STAG_MISSING, FZ_M_STAG_SHORT, FZ_M_VA_BAD, FZ_M_EDTL, FZ_M_DIR,
	FZ_M_IMM_DATA,
	/* Data-Out */
	FZ_M_DATASN, FZ_M_OFFSET,
	FZ_M_COUNT,
};

extern const char *const fz_mut_names[FZ_M_COUNT];

#define FZ_MAX_FIX	6
#define FZ_MAX_PDATA	56		/* IB CM REQ private data left to us */
#define FZ_MAX_AHS	1020		/* TotalAHSLength is in words, 8 bits */
#define FZ_MAX_DATA	65536
#define FZ_MAX_SEND	(76 + FZ_MAX_AHS + FZ_MAX_DATA)
#define FZ_MAX_ACTIONS	4096
#define FZ_MAX_MS	10000		/* longest AWAIT or WAIT */
#define FZ_REGIONS	2
/*
 * The data buffer the player registers as region 0: the first MiB for
 * verified I/O (written from the first half, read into the second), the
 * rest a scratch area for fuzzed commands, so that their transfers never
 * touch data being verified.
 */
#define FZ_DATA_SIZE	(2u << 20)
#define FZ_VERIFY_SIZE	(1u << 20)

struct fz_action {
	uint8_t op;		/* enum fz_op */
	uint8_t phase;		/* SEND: enum fz_phase */
	uint8_t region;		/* MR, DEREG */
	uint8_t how;		/* VANISH: enum fz_vanish */
	uint8_t ird, ord;	/* CONNECT */
	uint8_t nfix;
	uint32_t off, len;	/* MR, FILL, VERIFY: bytes of the data buffer */
	uint32_t itt;		/* AWAIT; VERIFY: the WRITE */
	uint32_t ritt;		/* VERIFY: the READ */
	uint32_t ms;		/* AWAIT, WAIT */
	uint64_t pat, at;	/* FILL, VERIFY: fill_pattern(buf, len, pat, at) */
	uint64_t muts;		/* CONNECT, SEND: bit (1 << enum fz_mut) each */
	uint32_t nbytes;	/* CONNECT: private data; SEND: the PDU */
	uint8_t *bytes;
	struct fz_fix fix[FZ_MAX_FIX];
};

/* What a sequence is generated for: names and LUN of the test bed. */
struct fz_env {
	char initiator[224];	/* RFC 7143: iSCSI names are at most 223 bytes */
	char target[224];
	uint32_t lun;
	uint64_t lba;		/* first block of the fuzzer's part of the LUN */
};

/* Blocks from env.lba on: verified I/O, then fuzzed commands' scratch. */
#define FZ_LBA_VERIFY	2048
#define FZ_LBA_SPAN	8192

struct fz_seq {
	uint64_t seed;
	uint64_t index;
	struct fz_env env;
	unsigned int n;
	unsigned int cap;
	struct fz_action *a;
};

/* fuzz_gen.c */
int fz_generate(struct fz_seq *s, uint64_t seed, uint64_t index,
		const struct fz_env *env);

/* fuzz_seq.c */
void fz_seq_init(struct fz_seq *s);
void fz_seq_free(struct fz_seq *s);
struct fz_action *fz_add(struct fz_seq *s, enum fz_op op);
int fz_set_bytes(struct fz_action *a, const uint8_t *b, uint32_t n);
int fz_subset(const struct fz_seq *in, const unsigned char *keep,
	      struct fz_seq *out);
uint32_t fz_count_sends(const struct fz_seq *s);

const char *fz_iscsi_op_name(uint8_t op);
int fz_write(FILE *f, const struct fz_seq *s, const char *note);
int fz_parse(FILE *f, struct fz_seq *s, char *err, size_t errlen);
int fz_save(int dirfd, const char *name, const struct fz_seq *s,
	    const char *note, char *err, size_t errlen);
int fz_load(const char *path, struct fz_seq *s, char *err, size_t errlen);

/* The values the fix-ups take when a SEND is played. */
struct fz_vals {
	uint32_t rkey[FZ_REGIONS];
	uint64_t addr[FZ_REGIONS];
	const uint8_t *mem[FZ_REGIONS];	/* local contents, for FZ_FIX_BUF */
	uint32_t memlen[FZ_REGIONS];
	uint32_t exp_statsn;
	uint32_t text_ttt;
};

void fz_apply_fixups(const struct fz_action *a, const struct fz_vals *v,
		     uint8_t *pdu);

/*
 * Delta debugging: shrink the set of kept items (keep[i] != 0) to a
 * 1-minimal one on which @test still fails. @test returns 1 when the
 * subset fails, 0 when it passes, negative to stop at once (what has been
 * found so far is kept). At most @max_tests calls; *@tests counts them.
 * Returns how many items are kept.
 */
typedef int (*fz_test_fn)(const unsigned char *keep, size_t n, void *ctx);
size_t fz_ddmin(unsigned char *keep, size_t n, fz_test_fn test, void *ctx,
		unsigned int max_tests, unsigned int *tests);

/* fuzz_kmsg.c: kernel log lines that mean the kernel is in trouble */
struct fz_kmsg {
	int fd;
	regex_t re;
	size_t len;		/* bytes of an unfinished line in buf */
	char buf[16384];
};

int fz_splat_compile(regex_t *re);
bool fz_splat_match(const regex_t *re, const char *line);
int fz_kmsg_open(struct fz_kmsg *k, const char *path, bool from_end);
unsigned int fz_kmsg_scan(struct fz_kmsg *k, char *first, size_t firstlen);
void fz_kmsg_close(struct fz_kmsg *k);

#endif /* HOSTILE_FUZZ_H */
