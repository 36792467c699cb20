// SPDX-License-Identifier: GPL-2.0
/*
 * iser-hostile: the fuzzer's runner (--fuzz, --replay). Each sequence is
 * saved, then played by a child process over its own RDMA connection, then
 * judged by the oracle in another child: a fresh, well-formed session must
 * log in and get TEST UNIT READY through, and no new kernel log line may
 * look like a splat. A failing sequence is cut down by delta debugging
 * against the same oracle.
 *
 * The parent never touches RDMA itself, so that every child starts from a
 * clean librdmacm, a child that exits in the middle of a transfer is just
 * one more way to vanish, and a child that hangs can be killed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"
#include "hostile.h"

/* At most this many re-runs of candidates while minimising one failure. */
#define MIN_TESTS	100
/* The oracle's worst case: connects and logins until --timeout, 4 TURs. */
#define ORACLE_SECS	(8 * o.timeout + 10)

/* What a child leaves behind, in memory shared with the parent. */
struct report {
	uint64_t pdus;			/* SENDs posted */
	unsigned int verified;		/* reads that came back as written */
	unsigned int unverified;	/* reads not both answered GOOD in order */
	bool mismatch;			/* a GOOD read with other data */
	int out;			/* oracle: enum outcome */
	char detail[768];
};

/* A sequence's verdict: the oracle's outcome and what else was seen. */
struct verdict {
	enum outcome out;
	bool splat;
	bool mismatch;
	bool leak;		/* a connection of it still listed in --conns */
	unsigned int verified;
	uint64_t pdus;
	char detail[2048];
};

static void vnote(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void vnote(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n && n + 2 < len) {
		strcpy(buf + n, "; ");
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

/* ---- the player (a child) ------------------------------------------ */

#define NTASK 512

/* A command's tag, when it went out and what came back, for VERIFY. */
struct task {
	uint32_t itt;
	uint64_t sent_at;
	uint64_t rsp_at;
	bool rsp;
	bool reused;		/* the tag went out again: answers are ambiguous */
	uint8_t response, status, flags;
};

#define NFILL 64
#define NTAG 256

/* When a tag last went out and when an answer for it last came. */
struct tag {
	uint32_t itt;
	uint64_t tx, rx;
};

/* A pattern put into the buffer, and when. */
struct fill {
	uint64_t pat, at, clock;
	uint32_t len;
};

struct player {
	const struct fz_seq *s;
	struct report *rep;
	struct conn *c;
	struct ibv_mr *mr1;
	struct fz_vals vals;
	struct task tasks[NTASK];
	unsigned int ntasks;
	struct fill fills[NFILL];
	unsigned int nfills;
	struct tag tags[NTAG];
	unsigned int ntags;
	uint64_t clock;		/* orders sends and answers */
	uint8_t *buf;
	uint8_t *expect;	/* the pattern a VERIFY compares with */
};

static struct task *task(struct player *p, uint32_t itt)
{
	unsigned int i, n = p->ntasks < NTASK ? p->ntasks : NTASK;

	for (i = 0; i < n; i++) {
		struct task *t = &p->tasks[(p->ntasks - 1 - i) % NTASK];

		if (t->itt == itt)
			return t;
	}
	return NULL;
}

static void task_sent(struct player *p, uint32_t itt)
{
	struct task *t = task(p, itt);

	if (t) {
		t->reused = true;
		return;
	}
	t = &p->tasks[p->ntasks++ % NTASK];
	memset(t, 0, sizeof(*t));
	t->itt = itt;
	t->sent_at = p->clock;
}

static struct tag *tag(struct player *p, uint32_t itt, bool add)
{
	unsigned int i, n = p->ntags < NTAG ? p->ntags : NTAG;
	struct tag *t;

	for (i = 0; i < n; i++) {
		t = &p->tags[(p->ntags - 1 - i) % NTAG];
		if (t->itt == itt)
			return t;
	}
	if (!add)
		return NULL;
	t = &p->tags[p->ntags++ % NTAG];
	*t = (struct tag){ .itt = itt };
	return t;
}

/* Book-keeping of one answer; true if it is for (or rejects) @itt. */
static bool note_rx(struct player *p, const struct rpdu *r, bool want, uint32_t itt)
{
	const uint8_t *bhs = r->buf + ISER_HDR_LEN;
	uint32_t ritt, off;
	struct task *t;

	if (r->len < HDRS_LEN)
		return false;
	p->clock++;
	ritt = get32(bhs + B_ITT);
	switch (bhs[0] & OP_MASK) {
	case OP_SCSI_RSP:
		t = task(p, ritt);
		if (t && !t->rsp) {
			t->rsp = true;
			t->rsp_at = p->clock;
			t->response = bhs[2];
			t->status = bhs[3];
			t->flags = bhs[1];
		}
		break;
	case OP_TEXT_RSP:
		if (get32(bhs + B_TTT) != RSVD_TAG)
			p->vals.text_ttt = get32(bhs + B_TTT);
		break;
	case OP_REJECT:
		/* Its data is the header of the PDU it refuses. */
		off = HDRS_LEN + bhs[B_AHSLEN] * 4u;
		if (r->len >= off + BHS_LEN)
			ritt = get32(r->buf + off + B_ITT);
		break;
	}
	tag(p, ritt, true)->rx = p->clock;
	return want && ritt == itt;
}

/*
 * Take what has arrived; with @want, until a PDU for @itt does or the
 * deadline passes. True if one did.
 */
static bool take(struct player *p, bool want, uint32_t itt, double deadline);

/* An answer for @itt since it last went out, already here or to come. */
static void await_answer(struct player *p, uint32_t itt, double deadline)
{
	struct tag *t;

	take(p, false, 0, 0);
	t = tag(p, itt, false);
	if (!t || t->rx <= t->tx)
		take(p, true, itt, deadline);
}

static bool take(struct player *p, bool want, uint32_t itt, double deadline)
{
	struct rpdu *r;
	bool got = false;

	conn_poll(p->c, 0);
	while (!got && (r = conn_next(p->c, want ? deadline : 0))) {
		got = note_rx(p, r, want, itt);
		free(r);
	}
	return got;
}

static void pause_reading(struct player *p, double deadline)
{
	while (conn_alive(p->c) && now() < deadline) {
		struct rpdu *r = conn_next(p->c, deadline);

		if (!r)
			break;
		note_rx(p, r, false, 0);
		free(r);
	}
	if (now() < deadline)
		usleep((useconds_t)((deadline - now()) * 1e6));
}

static int cm_connect(struct conn *c, const struct fz_action *a)
{
	struct rdma_conn_param cp = {
		.private_data = a->nbytes ? a->bytes : NULL,
		.private_data_len = (uint8_t)a->nbytes,
		.responder_resources = a->ird,
		.initiator_depth = a->ord,
		.retry_count = 7,
		.rnr_retry_count = 7,
	};

	if (conn_accept_verbs(c)) {
		conn_mark_down(c, "local verbs set-up failed");
		return -1;
	}
	if (rdma_connect(c->id, &cp)) {
		conn_mark_down(c, "rdma_connect (IRD %u, ORD %u): %s", a->ird, a->ord,
			       strerror(errno));
		return -1;
	}
	c->state = C_CONNECTING;
	return 0;
}

/*
 * conn_connect() with the action's private data, IRD and ORD: the
 * connect request is ours to make, the rest of conn.c's to handle.
 */
static int play_connect(struct player *p, const struct fz_action *a)
{
	struct conn_cfg cfg;
	struct conn *c;
	double end = now() + o.timeout;
	bool local = false;

	conn_cfg_default(&cfg);
	c = conn_new(&cfg, NULL, NULL);
	if (!c) {
		vnote(p->rep->detail, sizeof(p->rep->detail),
		      "cannot create a connection here");
		return -1;
	}
	p->c = c;
	conn_ids(c);
	/* What is sent is what the file says: no answers to NOP-In pings. */
	c->auto_nopin = false;
	if (conn_start(c, NULL, 0)) {
		vnote(p->rep->detail, sizeof(p->rep->detail), "connect failed here");
		return -1;
	}
	while (c->state != C_UP && c->state != C_DOWN && now() < end) {
		struct pollfd pfd = { .fd = c->ec->fd, .events = POLLIN };
		struct rdma_cm_event *ev;

		if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
			break;
		while (rdma_get_cm_event(c->ec, &ev) == 0) {
			struct rdma_cm_event copy = *ev;

			rdma_ack_cm_event(ev);
			if (copy.event == RDMA_CM_EVENT_ROUTE_RESOLVED)
				local |= cm_connect(c, a) != 0;
			else if (conn_handle_cm(c, &copy))
				local = true;
		}
	}
	if (c->state == C_UP) {
		p->vals.rkey[0] = c->dmr->rkey;
		p->vals.addr[0] = (uintptr_t)c->data;
		p->vals.mem[0] = c->data;
		p->vals.memlen[0] = FZ_DATA_SIZE;
		return 0;
	}
	vnote(p->rep->detail, sizeof(p->rep->detail), "connect %s: %s",
	      local ? "failed here" : c->refused ? "refused" : "got no answer",
	      conn_why(c));
	return -1;
}

static int play_send(struct player *p, const struct fz_action *a)
{
	struct conn *c = p->c;

	if (!c || !conn_alive(c))
		return -1;
	memcpy(p->buf, a->bytes, a->nbytes);
	p->vals.exp_statsn = c->exp_statsn;
	fz_apply_fixups(a, &p->vals, p->buf);
	p->clock++;
	if (a->nbytes >= HDRS_LEN) {
		uint32_t itt = get32(p->buf + ISER_HDR_LEN + B_ITT);

		tag(p, itt, true)->tx = p->clock;
		if ((p->buf[ISER_HDR_LEN] & OP_MASK) == OP_SCSI_CMD)
			task_sent(p, itt);
	}
	if (conn_send(c, p->buf, a->nbytes))
		return -1;
	p->rep->pdus++;
	take(p, false, 0, 0);
	return 0;
}

static void play_fill(struct player *p, const struct fz_action *a)
{
	fill_pattern(p->c->data + a->off, a->len, a->pat, a->at);
	p->fills[p->nfills++ % NFILL] = (struct fill){
		.pat = a->pat, .at = a->at, .len = a->len, .clock = p->clock,
	};
}

/*
 * Was the pattern in the buffer before the WRITE went out? A sequence cut
 * down by ddmin may have lost the fill, and then the data never was.
 */
static bool filled(struct player *p, const struct fz_action *a, uint64_t before)
{
	unsigned int i, n = p->nfills < NFILL ? p->nfills : NFILL;

	for (i = 0; i < n; i++)
		if (p->fills[i].pat == a->pat && p->fills[i].at == a->at &&
		    p->fills[i].len == a->len && p->fills[i].clock < before)
			return true;
	return false;
}

static void play_verify(struct player *p, const struct fz_action *a, unsigned int i)
{
	struct task *w = task(p, a->itt), *r = task(p, a->ritt);
	uint32_t off;

	/* Only a WRITE done before the READ went out says what it must read. */
	if (!p->c || !w || !r || !w->rsp || !r->rsp || w->response || w->status ||
	    r->response || r->status || (w->flags | r->flags) & 0x06 ||
	    w->rsp_at > r->sent_at || w->reused || r->reused ||
	    !filled(p, a, w->sent_at)) {
		p->rep->unverified++;
		return;
	}
	fill_pattern(p->expect, a->len, a->pat, a->at);
	for (off = 0; off < a->len; off += 4)
		if (memcmp(p->c->data + a->off + off, p->expect + off, 4))
			break;
	if (off < a->len) {
		p->rep->mismatch = true;
		vnote(p->rep->detail, sizeof(p->rep->detail),
		      "action %u: READ itt 0x%08x answered GOOD with other data than "
		      "WRITE itt 0x%08x wrote, from byte %u of %u", i + 1, a->ritt,
		      a->itt, off, a->len);
		return;
	}
	p->rep->verified++;
}

static void play_vanish(struct player *p, const struct fz_action *a)
{
	struct conn *c = p->c;

	if (a->how == FZ_V_EXIT)
		_exit(0);
	if (!c || !c->id)
		return;
	if (a->how == FZ_V_DISCONNECT) {
		c->we_disconnected = true;
		rdma_disconnect(c->id);
	} else if (c->qp) {
		/* No DREQ: the target finds out from its own failed work. */
		rdma_destroy_qp(c->id);
		c->qp = NULL;
	}
}

/* Returns the index of the action it stopped at, or s->n. */
static unsigned int play_actions(struct player *p)
{
	const struct fz_seq *s = p->s;
	unsigned int i;

	for (i = 0; i < s->n; i++) {
		const struct fz_action *a = &s->a[i];

		p->clock++;
		if (a->op != FZ_CONNECT && !p->c)
			return i;
		switch (a->op) {
		case FZ_CONNECT:
			if (p->c) {
				conn_disconnect(p->c, 2);
				conn_free(p->c);
				p->c = NULL;
			}
			if (play_connect(p, a))
				return i;
			break;
		case FZ_MR:
			if (p->mr1)
				ibv_dereg_mr(p->mr1);
			p->mr1 = conn_reg(p->c, p->c->data + a->off, a->len);
			if (!p->mr1)
				return i;
			p->vals.rkey[1] = p->mr1->rkey;
			p->vals.addr[1] = (uintptr_t)p->c->data + a->off;
			p->vals.mem[1] = p->c->data + a->off;
			p->vals.memlen[1] = a->len;
			break;
		case FZ_DEREG:
			/* The fix-ups keep using the dead key and address. */
			if (a->region == 0 && p->c->dmr) {
				ibv_dereg_mr(p->c->dmr);
				p->c->dmr = NULL;
			} else if (a->region == 1 && p->mr1) {
				ibv_dereg_mr(p->mr1);
				p->mr1 = NULL;
			}
			break;
		case FZ_FILL:
			play_fill(p, a);
			break;
		case FZ_SEND:
			if (play_send(p, a))
				return i;
			break;
		case FZ_AWAIT:
			await_answer(p, a->itt, now() + a->ms / 1000.0);
			break;
		case FZ_WAIT:
			pause_reading(p, now() + a->ms / 1000.0);
			break;
		case FZ_VERIFY:
			play_verify(p, a, i);
			break;
		case FZ_VANISH:
			play_vanish(p, a);
			break;
		}
	}
	return i;
}

static void player(const struct fz_seq *s, struct report *rep)
{
	struct player *p = calloc(1, sizeof(*p));
	unsigned int stop;

	if (p) {
		p->buf = malloc(FZ_MAX_SEND);
		p->expect = malloc(FZ_DATA_SIZE);
	}
	if (!p || !p->buf || !p->expect) {
		vnote(rep->detail, sizeof(rep->detail), "player: out of memory");
		return;
	}
	p->s = s;
	p->rep = rep;
	stop = play_actions(p);
	if (stop < s->n && p->c && !conn_alive(p->c))
		vnote(rep->detail, sizeof(rep->detail), "connection gone at action %u "
		      "of %u: %s", stop + 1, s->n, conn_why(p->c));
	else if (stop < s->n && p->c)
		vnote(rep->detail, sizeof(rep->detail), "stopped at action %u of %u",
		      stop + 1, s->n);
	vnote(rep->detail, sizeof(rep->detail), "%" PRIu64 " of %u PDUs sent, "
	      "%u reads verified, %u not checkable", rep->pdus, fz_count_sends(s),
	      rep->verified, rep->unverified);
	if (p->c) {
		take(p, false, 0, 0);
		conn_disconnect(p->c, 2);
		if (p->mr1)
			ibv_dereg_mr(p->mr1);
		conn_free(p->c);
	}
	free(p->buf);
	free(p->expect);
	free(p);
}

/* ---- the oracle (a child) ---------------------------------------------- */

/* A fresh, well-formed session must log in and pass TEST UNIT READY. */
static void oracle(struct report *rep)
{
	struct result res = { .out = OUT_ERROR };
	double end = now() + o.timeout;
	struct conn *c;

	for (;;) {
		res.detail[0] = 0;
		c = open_session(&res, NULL);
		/* A target still tearing the last session down may refuse once. */
		if (c || now() + 1 >= end)
			break;
		sleep(1);
	}
	if (!c) {
		rep->out = OUT_DEAD;
		snprintf(rep->detail, sizeof(rep->detail),
			 "no fresh session logs in: %s", res.detail);
		return;
	}
	if (tur(c, &res)) {
		rep->out = OUT_WEDGED;
		snprintf(rep->detail, sizeof(rep->detail),
			 "a fresh session logs in but %s", res.detail);
	} else {
		rep->out = OUT_ALIVE;
		snprintf(rep->detail, sizeof(rep->detail),
			 "a fresh session logs in and TEST UNIT READY passes");
		logout(c, now() + o.timeout);
	}
	conn_free(c);
}

/* ---- children ----------------------------------------------------------- */

/* SIGINT or SIGTERM: finish with the summary, judging nothing half run. */
static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	if (sig != SIGCHLD)
		stopping = 1;
}

/* SIGCHLD stays blocked in the parent; sigtimedwait() takes it. */
static void children_setup(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t set;

	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

enum child_kind { CH_PLAYER, CH_ORACLE };

/*
 * Run the player of @s or the oracle in a child for at most @secs; a child
 * still running then is killed. Returns -1 if it could not be started, 1
 * if it was killed, 0 otherwise.
 */
static int run_child(enum child_kind kind, const struct fz_seq *s,
		     struct report *rep, double secs)
{
	double end = now() + secs;
	sigset_t set;
	pid_t pid;
	int st;

	memset(rep, 0, sizeof(*rep));
	rep->out = OUT_ERROR;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		sigemptyset(&set);
		sigprocmask(SIG_SETMASK, &set, NULL);
		if (kind == CH_PLAYER)
			player(s, rep);
		else
			oracle(rep);
		fflush(NULL);
		_exit(0);
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (;;) {
		double left = end - now();
		struct timespec ts;

		if (waitpid(pid, &st, WNOHANG) == pid)
			return 0;
		if (left <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return 1;
		}
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		sigtimedwait(&set, NULL, &ts);
	}
}

/* ---- one sequence, judged ------------------------------------------------ */

struct runner {
	struct fz_kmsg kmsg;
	struct report *rep;		/* shared with the children */
	int dirfd;
	const char *dir;
};

static bool failing(enum outcome out)
{
	return out != OUT_ALIVE && out != OUT_VERIFIED;
}

/* How long a player may take: its pauses, the connect, and some slack. */
static double budget(const struct fz_seq *s)
{
	double secs = 2 * o.timeout + 10;
	unsigned int i;

	for (i = 0; i < s->n; i++)
		secs += s->a[i].ms / 1000.0;
	return secs;
}

/*
 * Entries of --conns that belong to the tool's initiator name: the module
 * names each logged-in connection's directory "INITIATOR,ADDRESS,...".
 * Returns -1 when the directory cannot be read.
 */
static int conns_count(void)
{
	size_t len = strlen(o.initiator);
	struct dirent *d;
	int n = 0;
	DIR *dir;

	dir = opendir(o.conns_dir);
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		n += !strncmp(d->d_name, o.initiator, len) && d->d_name[len] == ',';
	closedir(dir);
	return n;
}

/* Wait up to --conns-wait for --conns to list at most @base of ours. */
static int conns_settle(int base)
{
	double end = now() + o.conns_secs;
	int n;

	while ((n = conns_count()) > base && now() < end && !stopping)
		usleep(200 * 1000);
	return n;
}

static void run_one(struct runner *rn, const struct fz_seq *s, struct verdict *v)
{
	struct report *rep = rn->rep;
	char line[512] = "";
	unsigned int splats;
	int ret, base = -1, conns;

	memset(v, 0, sizeof(*v));
	/* What an earlier sequence left is its failure, not this one's. */
	if (o.conns_dir)
		base = conns_count();
	ret = run_child(CH_PLAYER, s, rep, budget(s));
	/* The oracle reuses @rep: what the player left goes to @v first. */
	v->pdus = rep->pdus;
	v->mismatch = rep->mismatch;
	v->verified = rep->verified;
	vnote(v->detail, sizeof(v->detail), "sequence: %s%s", rep->detail,
	      ret > 0 ? "; killed: it did not finish in time" :
	      ret < 0 ? "; could not start it" : "");
	ret = run_child(CH_ORACLE, NULL, rep, ORACLE_SECS);
	v->out = ret > 0 ? OUT_WEDGED : ret < 0 ? OUT_ERROR : (enum outcome)rep->out;
	vnote(v->detail, sizeof(v->detail), "oracle: %s", ret > 0 ?
	      "it did not finish in time" : ret < 0 ? "could not start it" :
	      rep->detail);
	if (base >= 0 && !failing(v->out)) {
		conns = conns_settle(base);
		if (conns > base) {
			v->leak = true;
			vnote(v->detail, sizeof(v->detail),
			      "connections: %d of %s listed in %s %u s after the sequence ended, %d before it",
			      conns, o.initiator, o.conns_dir, o.conns_secs, base);
		}
	}
	splats = fz_kmsg_scan(&rn->kmsg, line, sizeof(line));
	if (splats) {
		v->splat = true;
		vnote(v->detail, sizeof(v->detail), "kernel: %s%s", line,
		      splats > 1 ? " (and more)" : "");
	}
	if (!failing(v->out) && (v->splat || v->mismatch || v->leak))
		v->out = OUT_FAILED;
	else if (v->out == OUT_ALIVE && v->verified)
		v->out = OUT_VERIFIED;
}

/*
 * After the oracle found the target dead or wedged: give it the time its
 * own timeouts need to recover. True once a fresh session works again.
 */
static bool recovered(struct runner *rn)
{
	double end = now() + (3 * o.timeout > 60 ? 3 * o.timeout : 60);

	do {
		if (!run_child(CH_ORACLE, NULL, rn->rep, ORACLE_SECS) &&
		    rn->rep->out == OUT_ALIVE)
			return true;
		sleep(2);
	} while (now() < end);
	return false;
}

/* ---- minimisation ---------------------------------------------------- */

struct minimise {
	struct runner *rn;
	const struct fz_seq *full;
	const struct verdict *orig;
	const char *try_name;
	bool lost;		/* the target stopped recovering */
};

static bool same_failure(const struct verdict *a, const struct verdict *b)
{
	return a->out == b->out && a->splat == b->splat &&
	       a->mismatch == b->mismatch && a->leak == b->leak;
}

static int min_test(const unsigned char *keep, size_t n, void *ctx)
{
	struct minimise *m = ctx;
	struct fz_seq cand;
	struct verdict v;
	char err[512];
	size_t i, kept = 0;
	int fails;

	for (i = 0; i < n; i++)
		kept += keep[i] != 0;
	if (stopping || fz_subset(m->full, keep, &cand))
		return -1;
	/* On disk before it runs, like every sequence. */
	if (fz_save(m->rn->dirfd, m->try_name, &cand, "candidate while minimising",
		    err, sizeof(err))) {
		warnx_("%s", err);
		fz_seq_free(&cand);
		return -1;
	}
	run_one(m->rn, &cand, &v);
	fz_seq_free(&cand);
	if (stopping)
		return -1;
	fails = same_failure(&v, m->orig);
	info("minimising: %zu of %zu actions: %s", kept, n,
	     fails ? "fails the same way" : "does not");
	if ((v.out == OUT_DEAD || v.out == OUT_WEDGED) && !recovered(m->rn)) {
		m->lost = true;
		return -1;
	}
	return fails;
}

/* Cut the failing @s down and save what is left as min-SEED-INDEX.txt. */
static void minimise(struct runner *rn, const struct fz_seq *s,
		     const struct verdict *orig, char *min_path, size_t len)
{
	char try_name[96], min_name[96], note[2400], err[512];
	struct minimise m = { .rn = rn, .full = s, .orig = orig,
			      .try_name = try_name };
	unsigned char *keep = malloc(s->n ? s->n : 1);
	struct fz_seq small;
	unsigned int tests;
	size_t kept;
	int first;

	min_path[0] = 0;
	if (!keep)
		return;
	snprintf(try_name, sizeof(try_name), "try-%" PRIu64 "-%" PRIu64 ".txt",
		 s->seed, s->index);
	snprintf(min_name, sizeof(min_name), "min-%" PRIu64 "-%" PRIu64 ".txt",
		 s->seed, s->index);
	memset(keep, 1, s->n);
	/* ddmin never tests the whole: see first that it fails again. */
	first = min_test(keep, s->n, &m);
	if (first <= 0) {
		printf("NOT-MINIMISED %s/seq-%" PRIu64 "-%" PRIu64 ".txt: %s\n",
		       rn->dir, s->seed, s->index, m.lost ?
		       "the target did not recover" : "the failure did not happen again");
		unlinkat(rn->dirfd, try_name, 0);
		free(keep);
		return;
	}
	kept = fz_ddmin(keep, s->n, min_test, &m, MIN_TESTS, &tests);
	unlinkat(rn->dirfd, try_name, 0);
	if (fz_subset(s, keep, &small)) {
		free(keep);
		return;
	}
	snprintf(note, sizeof(note), "minimised from seq-%" PRIu64 "-%" PRIu64
		 ".txt: %zu of %u actions after %u re-runs%s; failed with outcome %s: "
		 "%.2000s", s->seed, s->index, kept, s->n, tests + 1,
		 m.lost ? " (stopped: the target did not recover)" : "",
		 outcome_name(orig->out), orig->detail);
	/* A note is one comment line. */
	note[strcspn(note, "\n")] = 0;
	if (fz_save(rn->dirfd, min_name, &small, note, err, sizeof(err))) {
		warnx_("%s", err);
	} else {
		snprintf(min_path, len, "%s/%s", rn->dir, min_name);
		printf("MINIMISED %s: %zu of %u actions, %u re-runs\n", min_path, kept,
		       s->n, tests + 1);
	}
	fz_seq_free(&small);
	free(keep);
}

/* ---- --fuzz and --replay ------------------------------------------------ */

static int runner_init(struct runner *rn, const char *dir)
{
	memset(rn, 0, sizeof(*rn));
	rn->dirfd = -1;
	rn->rep = mmap(NULL, sizeof(*rn->rep), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rn->rep == MAP_FAILED) {
		warnx_("mmap: %m");
		return -1;
	}
	if (dir) {
		if (mkdir(dir, 0755) && errno != EEXIST) {
			warnx_("cannot make %s: %m", dir);
			return -1;
		}
		rn->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (rn->dirfd < 0) {
			warnx_("cannot open %s: %m", dir);
			return -1;
		}
		rn->dir = dir;
	}
	/* Only what the kernel logs from now on; without it, no splat check. */
	if (fz_kmsg_open(&rn->kmsg, "/dev/kmsg", true))
		info("/dev/kmsg cannot be read: no kernel log check");
	children_setup();
	return 0;
}

static void runner_done(struct runner *rn)
{
	fz_kmsg_close(&rn->kmsg);
	if (rn->dirfd >= 0)
		close(rn->dirfd);
	munmap(rn->rep, sizeof(*rn->rep));
}

static int env_from_opts(struct fz_env *env)
{
	memset(env, 0, sizeof(*env));
	if (strlen(o.initiator) >= sizeof(env->initiator) ||
	    strlen(o.iqn) >= sizeof(env->target)) {
		warnx_("iSCSI names are at most %zu bytes", sizeof(env->target) - 1);
		return -1;
	}
	if (o.lba > UINT32_MAX - FZ_LBA_SPAN) {
		warnx_("--lba %" PRIu64 ": the fuzzer needs %u blocks from there, "
		       "below 2^32", o.lba, FZ_LBA_SPAN);
		return -1;
	}
	strcpy(env->initiator, o.initiator);
	strcpy(env->target, o.iqn);
	env->lun = o.lun;
	env->lba = o.lba;
	return 0;
}

int fuzz_main(void)
{
	struct runner rn;
	struct fz_env env;
	struct verdict v;
	uint64_t idx, seqs = 0, pdus = 0, failures = 0;
	double t0 = now(), secs;
	char files[4096] = "", min_path[512];
	int ret = 0;

	if (env_from_opts(&env) || runner_init(&rn, o.record ? o.record : "iser-fuzz"))
		return 2;
	/* A target that does not work before we start tells us nothing. */
	if (run_child(CH_ORACLE, NULL, rn.rep, ORACLE_SECS) ||
	    rn.rep->out != OUT_ALIVE) {
		warnx_("the target does not serve a well-formed session before "
		       "fuzzing: %s", rn.rep->detail);
		runner_done(&rn);
		return 2;
	}
	if (fz_kmsg_scan(&rn.kmsg, min_path, sizeof(min_path)))
		warnx_("the kernel log had a splat before the first sequence: %s",
		       min_path);
	for (idx = o.fuzz_start; !stopping; idx++) {
		struct fz_seq s;
		char name[96], err[512];

		if ((o.fuzz_pdus && pdus >= o.fuzz_pdus) ||
		    (o.fuzz_secs > 0 && now() - t0 >= o.fuzz_secs))
			break;
		if (fz_generate(&s, o.fuzz_seed, idx, &env)) {
			warnx_("cannot generate sequence %" PRIu64, idx);
			ret = 2;
			break;
		}
		snprintf(name, sizeof(name), "seq-%" PRIu64 "-%" PRIu64 ".txt",
			 o.fuzz_seed, idx);
		if (fz_save(rn.dirfd, name, &s, NULL, err, sizeof(err))) {
			warnx_("%s", err);
			fz_seq_free(&s);
			ret = 2;
			break;
		}
		run_one(&rn, &s, &v);
		if (stopping) {
			fz_seq_free(&s);
			break;
		}
		seqs++;
		pdus += v.pdus;
		info("%s: %s, %" PRIu64 " PDUs: %s", name, outcome_name(v.out), v.pdus,
		     v.detail);
		if (!failing(v.out)) {
			if (!o.fuzz_keep)
				unlinkat(rn.dirfd, name, 0);
			fz_seq_free(&s);
			continue;
		}
		failures++;
		printf("FAIL %s/%s outcome=%s: %s\n", rn.dir, name,
		       outcome_name(v.out), v.detail);
		vnote(files, sizeof(files), "%s/%s", rn.dir, name);
		if ((v.out == OUT_DEAD || v.out == OUT_WEDGED) && !recovered(&rn)) {
			printf("STOPPED: the target did not recover from %s\n", name);
			fz_seq_free(&s);
			break;
		}
		minimise(&rn, &s, &v, min_path, sizeof(min_path));
		if (*min_path)
			vnote(files, sizeof(files), "%s", min_path);
		fz_seq_free(&s);
	}
	secs = now() - t0;
	printf("FUZZ seed=%" PRIu64 " first=%" PRIu64 " sequences=%" PRIu64
	       " pdus=%" PRIu64 " seconds=%.1f pdus_per_second=%.1f failures=%"
	       PRIu64 " files=%s\n", o.fuzz_seed, o.fuzz_start, seqs, pdus, secs,
	       secs > 0 ? pdus / secs : 0.0, failures, *files ? files : "-");
	runner_done(&rn);
	return ret ? ret : failures ? 1 : 0;
}

int replay_main(void)
{
	static char initiator[sizeof(((struct fz_env *)0)->initiator)];
	static char target[sizeof(((struct fz_env *)0)->target)];
	struct runner rn;
	struct fz_seq s;
	struct verdict v;
	char err[512];
	double t0;

	if (fz_load(o.replay, &s, err, sizeof(err))) {
		warnx_("%s", err);
		return 2;
	}
	/* The oracle logs in as the sequence did, unless told otherwise. */
	strcpy(initiator, s.env.initiator);
	strcpy(target, s.env.target);
	if (!o.initiator)
		o.initiator = initiator;
	if (!o.iqn)
		o.iqn = target;
	o.lun = s.env.lun;
	if (runner_init(&rn, NULL)) {
		fz_seq_free(&s);
		return 2;
	}
	t0 = now();
	run_one(&rn, &s, &v);
	printf("RESULT scenario=replay outcome=%s expected=survive seconds=%.2f "
	       "verdict=%s: %s: %s\n", outcome_name(v.out), now() - t0,
	       failing(v.out) ? "FAIL" : "PASS", o.replay, v.detail);
	runner_done(&rn);
	fz_seq_free(&s);
	return failing(v.out) ? 1 : 0;
}
