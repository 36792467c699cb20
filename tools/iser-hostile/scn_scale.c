// SPDX-License-Identifier: GPL-2.0
/*
 * iser-hostile: many logged-in sessions at once, for make scale. Not
 * hostile at all: it shows how a target copes with a thousand initiators
 * logging in together, holding their sessions and logging out.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostile.h"

/* Bytes each session writes and reads back. */
#define SCALE_IO	4096u

static volatile sig_atomic_t scale_stop;

static void scale_on_signal(int sig)
{
	(void)sig;
	scale_stop = 1;
}

/* A session's own pattern at its own LBA, written then read back. */
static int scale_verify(struct conn *c, unsigned int idx, char *why,
			size_t whylen)
{
	uint32_t lba = (uint32_t)(o.lba + (uint64_t)idx * (SCALE_IO / 512));
	uint8_t *src = c->data, *dst = c->data + SCALE_IO;
	struct scsi_req r = {};
	struct scsi_rsp rsp;

	fill_pattern(src, SCALE_IO, 0x5ca1e, (uint64_t)lba * 512);
	cdb_rw10(r.cdb, true, lba, SCALE_IO / 512);
	r.write = true;
	r.edtl = SCALE_IO;
	r.imm = imm_len(c, SCALE_IO);
	r.unsol = true;
	r.buf = src;
	r.stag = c->dmr->rkey;
	r.va = (uintptr_t)src;
	if (scsi_exec(c, &r, now() + o.timeout, &rsp) || rsp.rejected ||
	    rsp.status != SCSI_GOOD) {
		snprintf(why, whylen, "WRITE at LBA %u failed", lba);
		return -1;
	}
	memset(&r, 0, sizeof(r));
	memset(dst, 0xee, SCALE_IO);
	cdb_rw10(r.cdb, false, lba, SCALE_IO / 512);
	r.read = true;
	r.final = true;
	r.edtl = SCALE_IO;
	r.buf = dst;
	r.stag = c->dmr->rkey;
	r.va = (uintptr_t)dst;
	if (scsi_exec(c, &r, now() + o.timeout, &rsp) || rsp.rejected ||
	    rsp.status != SCSI_GOOD) {
		snprintf(why, whylen, "READ at LBA %u failed", lba);
		return -1;
	}
	if (memcmp(src, dst, SCALE_IO)) {
		snprintf(why, whylen, "READ at LBA %u returned other data", lba);
		return -1;
	}
	return 0;
}

/*
 * One worker: log in sessions @first, @first + @step, ... below o.count one
 * after the other, verify each, report "R verified failed" on @fd, hold
 * them until SIGUSR1, log them all out and report "D logged_out".
 */
static int scale_worker(unsigned int first, unsigned int step, int fd)
{
	struct login_keys k = { .session_type = "Normal" };
	struct conn_cfg cfg = {
		.nrx = 4, .rxsz = 16384, .ntx = 4, .txsz = 16384,
		.datasz = 2 * SCALE_IO,
	};
	unsigned int i, n = 0, ok = 0, bad = 0, out = 0;
	struct conn **cs = calloc(o.count / step + 1, sizeof(*cs));
	sigset_t stop_sigs, old;
	char why[256], line[64];
	int len;

	if (!cs)
		return 1;
	for (i = first; i < o.count && !scale_stop; i += step) {
		struct result res = {};
		struct conn *c = open_conn(&res, &cfg);

		if (!c) {
			warnx_("session %u: %s", i, res.detail);
			bad++;
			continue;
		}
		if (login(c, &k, now() + o.timeout, why, sizeof(why)) ||
		    scale_verify(c, i, why, sizeof(why))) {
			warnx_("session %u: %s", i, why);
			conn_free(c);
			bad++;
			continue;
		}
		cs[n++] = c;
		ok++;
	}
	len = snprintf(line, sizeof(line), "R %u %u\n", ok, bad);
	if (write(fd, line, (size_t)len) != len)
		return 1;
	/* Blocked around the test so that a signal cannot slip in before the wait. */
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGUSR1);
	sigaddset(&stop_sigs, SIGTERM);
	sigaddset(&stop_sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &stop_sigs, &old);
	while (!scale_stop)
		sigsuspend(&old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	for (i = 0; i < n; i++) {
		if (!logout(cs[i], now() + o.timeout))
			out++;
		conn_free(cs[i]);
	}
	len = snprintf(line, sizeof(line), "D %u\n", out);
	if (write(fd, line, (size_t)len) != len)
		return 1;
	free(cs);
	return 0;
}

/* Read "R ok bad" or "D out" lines from the workers until @want arrive. */
static int scale_collect(FILE *f, char tag, unsigned int want,
			 unsigned int *a, unsigned int *b)
{
	unsigned int got = 0, x, y;
	char line[64];

	while (got < want && fgets(line, sizeof(line), f)) {
		if (line[0] != tag)
			continue;
		y = 0;
		if (sscanf(line + 1, "%u %u", &x, &y) < 1)
			continue;
		*a += x;
		*b += y;
		got++;
	}
	return got == want ? 0 : -1;
}

/*
 * Log --count sessions in from --parallel processes at once (a login
 * storm), each proven alive by a 4 KiB write read back equal at its own
 * LBA (--lba + 8 x its number). Prints "UP sessions=N verified=V failed=F
 * seconds=S", holds them --hold seconds or until SIGTERM, logs them all
 * out and prints "DOWN logged_out=N seconds=S".
 */
int sc_sessions(struct result *res)
{
	unsigned int w, nw = o.parallel < o.count ? o.parallel : o.count;
	unsigned int ok = 0, bad = 0, out = 0, unused = 0;
	struct rlimit rl;
	pid_t *pids;
	double t0, t_up, t_down;
	int pfd[2], status;
	FILE *f;

	/* Each session holds a few descriptors (CM channel, completions). */
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	pids = calloc(nw, sizeof(*pids));
	if (!pids || pipe(pfd)) {
		set_out(res, OUT_ERROR, 0);
		note(res, "cannot start the workers: %s", strerror(errno));
		free(pids);
		return 0;
	}
	signal(SIGTERM, scale_on_signal);
	signal(SIGINT, scale_on_signal);
	signal(SIGUSR1, scale_on_signal);
	t0 = now();
	for (w = 0; w < nw; w++) {
		pids[w] = fork();
		if (pids[w] == 0) {
			close(pfd[0]);
			_exit(scale_worker(w, nw, pfd[1]));
		}
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	if (!f || scale_collect(f, 'R', nw, &ok, &bad))
		note(res, "a worker ended before its sessions were answered");
	t_up = now();
	printf("UP sessions=%u verified=%u failed=%u seconds=%.1f\n", o.count, ok,
	       bad, t_up - t0);
	fflush(stdout);
	note(res, "%u of %u sessions logged in and verified in %.1f s (%u failed)",
	     ok, o.count, t_up - t0, bad);
	while (!scale_stop && now() < t_up + o.hold)
		sleep(1);
	t_up = now();
	for (w = 0; w < nw; w++)
		if (pids[w] > 0)
			kill(pids[w], SIGUSR1);
	if (f && scale_collect(f, 'D', nw, &out, &unused))
		note(res, "a worker ended before its logouts");
	t_down = now();
	for (w = 0; w < nw; w++)
		if (pids[w] > 0)
			waitpid(pids[w], &status, 0);
	printf("DOWN logged_out=%u seconds=%.1f\n", out, t_down - t_up);
	fflush(stdout);
	note(res, "%u sessions logged out in %.1f s", out, t_down - t_up);
	if (f)
		fclose(f);
	free(pids);
	set_out(res, ok == o.count && out == ok ? OUT_VERIFIED :
		ok ? OUT_FAILED : OUT_ERROR, 0);
	res->secs = t_down - t0;
	return 0;
}
