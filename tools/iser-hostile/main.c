// SPDX-License-Identifier: GPL-2.0
/*
 * iser-hostile: a user-space iSER (RFC 7145) initiator that logs in
 * properly and then misbehaves on purpose, one scenario per run, to check
 * that an iSER target drops the offending connection, and only that one,
 * without crashing, leaking or hanging. See iser-hostile.8.
 *
 * This file: the command line, the scenario table and the runner; the
 * scenarios are in scn_*.c, what they share in scn_common.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hostile.h"

struct opts o;
static double t_begin;

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

static const char *const outcome_names[] = {
	"refused", "dropped", "alive", "verified", "wedged", "dead", "failed",
	"error",
};

const char *outcome_name(enum outcome out)
{
	return outcome_names[out];
}

/* ---- main ------------------------------------------------------------- */

struct scenario {
	const char *name;
	const char *expect;
	int (*fn)(struct result *res);
	int variant;
	const char *help;
};

static const struct scenario scenarios[] = {
	{ "good", "verified", sc_good, 0,
	  "log in, write patterns (immediate data, unsolicited Data-Out, RDMA READ), read them back (RDMA WRITE), verify, NOP, logout" },
	{ "cm-pdata", "any", sc_cm_pdata, 0,
	  "connect with --pdata HEX or --pdata-random N bytes of CM private data, then log in and ping" },
	{ "idle", "drop", sc_idle, 0, "connect and never log in" },
	{ "idle-hold", "survive", sc_idle_hold, 0,
	  "hold --count connections without logging in for --hold s; prints READY" },
	{ "sessions", "verified", sc_sessions, 0,
	  "log --count sessions in from --parallel processes at once, verify a 4 KiB write in each, hold them --hold s (UP line), log out (DOWN line)" },
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
	  "Data-Out for no task, or (--dir write) for a pending WRITE with --offset --data-len --dlen --ttt --final --imm" },
	{ "cmdsn-overrun", "survive", sc_cmdsn_overrun, 0,
	  "the CmdSN window plus --count commands at once" },
	{ "nop-flood", "survive", sc_nop_flood, 0, "--count NOP-Out pings" },
	{ "nop-flood-noread", "survive", sc_nop_noread, 0,
	  "--count NOP-Outs without reading the answers for --hold s, then read again" },
	{ "tmf-flood-noread", "drop", sc_tmf_noread, 0,
	  "as nop-flood-noread, with ABORT TASK requests for no task instead of NOP-Outs" },
	{ "tmf-flood", "survive", sc_tmf_flood, 0,
	  "--count task management requests (ABORT TASK of no task, ABORT TASK SET, LUN RESET)" },
	{ "write-stall", "drop", sc_write_stall, 0,
	  "a WRITE whose unsolicited Data-Out never comes" },
	{ "write-reset-other", "survive", sc_write_reset_other, 0,
	  "a WRITE waiting for unsolicited data, a LUN RESET from another session, then the data" },
	{ "tmf-abort-write", "survive", sc_tmf_abort_write, 0,
	  "ABORT TASK of a WRITE waiting for its Data-Out, then that Data-Out" },
	{ "tmf-nonimm", "survive", sc_tmf_nonimm, 0,
	  "--count task management requests in CmdSN order the target answers without running them (ABORT TASK SET of an unmapped LUN, ABORT TASK of no task)" },
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
	{ "nopin-early", "survive", sc_nopin_early, 0,
	  "as nopin-reply, but answer the second ping while it waits for a receive buffer, before it arrives" },
	{ "keepalive-refused", "drop", sc_keepalive_refused, 0,
	  "set iser_target's keepalive_secs to 2 (on this host), log in, take remote write access off the queue pair and stay silent" },
	{ "keepalive-silent", "drop", sc_keepalive_silent, 0,
	  "as keepalive-refused, but the queue pair goes to the error state, where Soft-RoCE drops the probe unanswered" },
	{ "logout-then", "drop", sc_logout_then, 0,
	  "Logout Request (--logout-reason), then at once --logout-then logout|read|text|nop|nothing" },
	{ "text", "drop", sc_text, 0,
	  "Text Requests by --text-mode: twice live-itt two continue reset cont-data cont-ttt cont-final cont-imm cont-twice rnr-new rnr-continue reject-vanish" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"usage: iser-hostile --target IP --iqn TARGET_IQN --initiator INITIATOR_IQN\n"
		"                    --scenario NAME [--port N] [--count N] [--timeout S]\n"
		"                    [--expect drop|refuse|survive|verified|any] [knobs...]\n"
		"       iser-hostile --target IP --iqn TARGET_IQN --initiator INITIATOR_IQN\n"
		"                    --fuzz SEED [--pdus N] [--secs S] [--record DIR]\n"
		"                    [--start INDEX] [--keep]\n"
		"                    [--conns DIR [--conns-wait S]]\n"
		"       iser-hostile --target IP --replay FILE [--conns DIR [--conns-wait S]]\n"
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
	OPT_LOGOUT_THEN, OPT_LOGOUT_REASON, OPT_STALLED, OPT_FUZZ, OPT_PDUS, OPT_SECS, OPT_RECORD,
	OPT_REPLAY, OPT_START, OPT_KEEP, OPT_CONNS, OPT_CONNS_WAIT,
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
	{ "logout-reason", required_argument, NULL, OPT_LOGOUT_REASON },
	{ "fuzz", required_argument, NULL, OPT_FUZZ },
	{ "pdus", required_argument, NULL, OPT_PDUS },
	{ "secs", required_argument, NULL, OPT_SECS },
	{ "record", required_argument, NULL, OPT_RECORD },
	{ "replay", required_argument, NULL, OPT_REPLAY },
	{ "start", required_argument, NULL, OPT_START },
	{ "keep", no_argument, NULL, OPT_KEEP },
	{ "conns", required_argument, NULL, OPT_CONNS },
	{ "conns-wait", required_argument, NULL, OPT_CONNS_WAIT },
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

/* A full 64-bit unsigned number (a seed, a count). */
static uint64_t unum(const char *s, const char *what)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || !*s || *s == '-') {
		warnx_("bad number for %s: '%s'", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	const struct scenario *sc = NULL;
	struct result res = { .out = OUT_ERROR };
	uint64_t wait;
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
	o.conns_secs = 60;
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
		case OPT_LOGOUT_REASON:
			o.logout_reason = (int)num(optarg, "--logout-reason");
			break;
		case OPT_FUZZ: o.fuzz = true; o.fuzz_seed = unum(optarg, "--fuzz"); break;
		case OPT_PDUS: o.fuzz_pdus = unum(optarg, "--pdus"); break;
		case OPT_SECS: o.fuzz_secs = atof(optarg); break;
		case OPT_RECORD: o.record = optarg; break;
		case OPT_REPLAY: o.replay = optarg; break;
		case OPT_START: o.fuzz_start = unum(optarg, "--start"); break;
		case OPT_KEEP: o.fuzz_keep = true; break;
		case OPT_CONNS: o.conns_dir = optarg; break;
		case OPT_CONNS_WAIT:
			wait = unum(optarg, "--conns-wait");
			o.conns_secs = wait > 3600 ? 3600 : (unsigned int)wait;
			break;
		case 'v': o.verbose++; break;
		case OPT_LIST: usage(stdout); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (o.replay && o.target)
		return replay_main();
	if (o.fuzz && o.target && o.iqn && o.initiator) {
		if (!o.fuzz_pdus && o.fuzz_secs <= 0)
			o.fuzz_pdus = 1000;
		return fuzz_main();
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
