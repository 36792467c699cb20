// SPDX-License-Identifier: GPL-2.0
/*
 * cx16-flags: does CMPXCHG16B leave RFLAGS as the architecture says, in
 * the emulator the test bed boots? Issue 21's double faults came right
 * after the CMPXCHG16B of SLUB's lockless fast path, with RFLAGS holding
 * the low half of RAX (the compared freelist pointer) plus ZF: NT set in
 * it turns the next IRET into a fault. This checks the instruction alone,
 * in user space: locked, on a page that faults or not, and unlocked through
 * a segment register (%fs here, %gs there) as the kernel's this_cpu ops do.
 *
 * Usage: cx16-flags fault|nofault|segment SECONDS
 * Prints "N executed, N wrong" and the first wrong results; exit status
 * 1 if any was wrong, 2 on a usage or set-up error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* The flags CMPXCHG16B must keep: CF, PF, AF, SF, OF. */
#define KEPT_FLAGS	0x895UL
#define ZF		0x40UL

struct outcome {
	uint64_t before;	/* RFLAGS just before the instruction */
	uint64_t after;		/* RFLAGS just after it */
	uint64_t rax, rdx;	/* what RDX:RAX held afterwards */
};

/*
 * Sets CF/PF/AF/SF/OF, runs @insn (a CMPXCHG16B at %[addr]) with RDX:RAX =
 * rdx:rax and RCX:RBX = 2:1, and records RFLAGS before and after it.
 */
#define CX16_RUN(insn)							\
	asm volatile("pushfq\n\t"					\
		     "orq %[kept], (%%rsp)\n\t"				\
		     "popfq\n\t"						\
		     "pushfq\n\t"						\
		     "popq %[before]\n\t"					\
		     insn "\n\t"						\
		     "pushfq\n\t"						\
		     "popq %[after]"						\
		     : "+a" (rax), "+d" (rdx), [before] "=&r" (before),	\
		       [after] "=&r" (after)					\
		     : "b" (1UL), "c" (2UL), [addr] "r" (addr),		\
		       [kept] "i" (KEPT_FLAGS)					\
		     : "memory", "cc")

/*
 * One CMPXCHG16B of {1, 2} over 16 zero bytes: the comparison with
 * RDX:RAX = 0:0 succeeds, so ZF must be set, CF/PF/AF/SF/OF kept, and
 * RDX:RAX left at zero. With @fs, unlocked and at offset @addr from %fs;
 * otherwise locked, at address @addr.
 */
static void cx16_once(uintptr_t addr, int fs, struct outcome *o)
{
	uint64_t rax = 0, rdx = 0, before, after;

	if (fs)
		CX16_RUN("cmpxchg16b %%fs:(%[addr])");
	else
		CX16_RUN("lock cmpxchg16b (%[addr])");
	o->before = before;
	o->after = after;
	o->rax = rax;
	o->rdx = rdx;
}

/* Thread-local, so that it lies at a fixed offset from %fs. */
static __thread unsigned __int128 tls_slot __attribute__((aligned(16)));

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned long long runs = 0, wrong = 0;
	int fault, segment;
	struct outcome o;
	uintptr_t fs;
	double end;
	char *page;

	if (argc != 3 || (strcmp(argv[1], "fault") && strcmp(argv[1], "nofault") &&
			  strcmp(argv[1], "segment"))) {
		fprintf(stderr, "usage: cx16-flags fault|nofault|segment SECONDS\n");
		return 2;
	}
	fault = !strcmp(argv[1], "fault");
	segment = !strcmp(argv[1], "segment");
	/* The x86-64 ABI keeps the thread pointer at %fs:0. */
	asm volatile("movq %%fs:0, %0" : "=r" (fs));
	end = now() + atof(argv[2]);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	while (now() < end) {
		for (int i = 0; i < 1000; i++) {
			/* Dropped, the page faults again on the next write. */
			if (segment) {
				tls_slot = 0;
				cx16_once((uintptr_t)&tls_slot - fs, 1, &o);
				/* It must have written where it was meant to. */
				if (tls_slot != ((unsigned __int128)2 << 64 | 1)) {
					fprintf(stderr, "%%fs-relative store missed\n");
					return 2;
				}
			} else if (fault) {
				madvise(page, 4096, MADV_DONTNEED);
				cx16_once((uintptr_t)page, 0, &o);
			} else {
				memset(page, 0, 16);
				cx16_once((uintptr_t)page, 0, &o);
			}
			runs++;
			if (o.after == (o.before | ZF) && !o.rax && !o.rdx)
				continue;
			if (++wrong <= 10)
				printf("wrong: RFLAGS %#llx -> %#llx (want %#llx), RDX:RAX %#llx:%#llx\n",
				       (unsigned long long)o.before,
				       (unsigned long long)o.after,
				       (unsigned long long)(o.before | ZF),
				       (unsigned long long)o.rdx,
				       (unsigned long long)o.rax);
		}
	}
	printf("%s: %llu executed, %llu wrong\n", argv[1], runs, wrong);
	return wrong ? 1 : 0;
}
