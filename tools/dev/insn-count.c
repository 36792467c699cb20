// SPDX-License-Identifier: GPL-2.0
/*
 * insn-count.so: a QEMU TCG plugin that counts every guest instruction the
 * vCPUs execute, one counter per kernel instruction address and one for
 * all of user space, for make bench COST=1 (tools/dev/bench.sh,
 * tests/guest/cost.sh). Counting is exact: an inline add precedes each
 * translated instruction, so an instruction is counted when it is reached,
 * not when its block is translated.
 *
 * The guest asks for figures through a directory the host shares with it
 * (argument dir=PATH): it writes a label into PATH/insn.req; within a few
 * milliseconds this plugin writes PATH/insn.LABEL, the instructions
 * executed since the previous request, as "user N" and "total N" lines
 * and one "ADDRESS N" line (hexadecimal address) per kernel instruction
 * that ran, then removes the request. The first request gives what ran
 * since boot.
 *
 * Built against the plugin API of QEMU 7.2 (version 1), declared below
 * from its documentation: Debian ships no qemu-plugin.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* --- the part of QEMU's plugin API this plugin uses ------------------- */

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct qemu_info_t qemu_info_t;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };

typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
					   qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb,
				    void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn,
						enum qemu_plugin_op op, void *ptr, uint64_t imm);
void qemu_plugin_outs(const char *string);

#define EXPORT __attribute__((visibility("default")))

EXPORT int qemu_plugin_version = 1;

/* --- counters ----------------------------------------------------------- */

/* Kernel addresses on x86-64 have the top bit set. */
#define KERNEL_BASE 0xffff800000000000ULL
/* Distinct kernel instructions a run reaches: a few hundred thousand. */
#define SLOTS (1u << 21)

struct slot {
	uint64_t addr;		/* 0: free */
	uint64_t count;		/* added to by the translated code */
	uint64_t reported;	/* count at the last report */
};

static struct slot *slots;
static unsigned int used;
static uint64_t user_count, user_reported;
/* An instruction found no slot: its counts go here, and reports say so. */
static uint64_t lost_count, lost_reported;
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static char *dir;
static volatile bool stopping;
static pthread_t poller;

static uint64_t *counter_of(uint64_t addr)
{
	uint64_t h = (addr * 0x9e3779b97f4a7c15ULL) >> 43;
	unsigned int i, n;

	if (addr < KERNEL_BASE)
		return &user_count;
	for (n = 0; n < SLOTS; n++) {
		i = (h + n) & (SLOTS - 1);
		if (slots[i].addr == addr)
			return &slots[i].count;
		if (!slots[i].addr) {
			slots[i].addr = addr;
			used++;
			return &slots[i].count;
		}
	}
	return &lost_count;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);

	(void)id;
	pthread_mutex_lock(&slots_lock);
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);

		qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
							   counter_of(qemu_plugin_insn_vaddr(insn)),
							   1);
	}
	pthread_mutex_unlock(&slots_lock);
}

/* --- reports ------------------------------------------------------------ */

/*
 * report(): PATH/insn.LABEL with what ran since the last report. The vCPU
 * goes on meanwhile: a count read while it grows lands in this report or
 * the next, never in neither.
 */
static int report(const char *label)
{
	char path[4096], tmp[4096 + 8];
	uint64_t c, user, lost, total = 0;
	unsigned int i;
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/insn.%s", dir, label) >= (int)sizeof(path))
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	pthread_mutex_lock(&slots_lock);
	for (i = 0; i < SLOTS; i++) {
		if (!slots[i].addr)
			continue;
		c = __atomic_load_n(&slots[i].count, __ATOMIC_RELAXED);
		if (c == slots[i].reported)
			continue;
		fprintf(f, "%" PRIx64 " %" PRIu64 "\n", slots[i].addr, c - slots[i].reported);
		total += c - slots[i].reported;
		slots[i].reported = c;
	}
	user = __atomic_load_n(&user_count, __ATOMIC_RELAXED);
	lost = __atomic_load_n(&lost_count, __ATOMIC_RELAXED);
	fprintf(f, "user %" PRIu64 "\nlost %" PRIu64 "\nslots %u\ntotal %" PRIu64 "\n",
		user - user_reported, lost - lost_reported, used,
		total + user - user_reported + lost - lost_reported);
	user_reported = user;
	lost_reported = lost;
	pthread_mutex_unlock(&slots_lock);
	if (fclose(f) || rename(tmp, path))
		return -1;
	return 0;
}

/* A label names a file: letters, digits, '-', '_' and '.' only, no "..". */
static bool label_ok(const char *s)
{
	if (!*s || strstr(s, ".."))
		return false;
	for (; *s; s++)
		if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') ||
		      ('0' <= *s && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static void *poll_requests(void *arg)
{
	const struct timespec tick = { 0, 2 * 1000 * 1000 };
	char req[4096], label[256], msg[512];
	FILE *f;

	(void)arg;
	snprintf(req, sizeof(req), "%s/insn.req", dir);
	while (!stopping) {
		nanosleep(&tick, NULL);
		f = fopen(req, "r");
		if (!f)
			continue;
		if (!fgets(label, sizeof(label), f)) {
			/* Created but not yet written: look again. */
			fclose(f);
			continue;
		}
		fclose(f);
		label[strcspn(label, "\n")] = '\0';
		if (!label_ok(label) || report(label)) {
			snprintf(msg, sizeof(msg), "insn-count: cannot report '%s' in %s\n",
				 label, dir);
			qemu_plugin_outs(msg);
		}
		unlink(req);
	}
	return NULL;
}

static void at_exit(qemu_plugin_id_t id, void *userdata)
{
	(void)id;
	(void)userdata;
	stopping = true;
	pthread_join(poller, NULL);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
			       int argc, char **argv)
{
	int i;

	(void)info;
	for (i = 0; i < argc; i++)
		if (!strncmp(argv[i], "dir=", 4))
			dir = argv[i] + 4;
	if (!dir) {
		qemu_plugin_outs("insn-count: needs dir=PATH\n");
		return -1;
	}
	slots = calloc(SLOTS, sizeof(*slots));
	if (!slots)
		return -1;
	if (pthread_create(&poller, NULL, poll_requests, NULL)) {
		free(slots);
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
