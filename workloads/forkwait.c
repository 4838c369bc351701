/*
 * forkwait.c - the fork-heavy workload of the classic comparison:
 *
 *	for (int i = 0; i < 25000; i++) {
 *		if (fork() == 0) return;	// child exits at once
 *		wait();
 *	}
 *
 * run by a process with the image of a small dynamically linked C
 * program. Each side touches what its real counterpart touches: the
 * parent its stack and libc's data in the fork and wait wrappers; the
 * child the same on its way out of fork(), then its exit path (atexit,
 * stdio: libc data and bss). Those writes are the copy-on-write faults
 * a real run takes.
 *
 * Checksum: the parent writes a fresh value into a variable of its data
 * segment before each fork; the child reads it (and exits with its low
 * byte, proving it saw the parent's memory), then overwrites it (which
 * must stay invisible to the parent); after wait the parent folds its
 * own view of the variable and the child's exit status into the hash.
 */
#include <stdio.h>

#include "workloads.h"

enum { P_ITERS, P_CHILD_SEGV };

#define VAR_OFF		0x10		/* the variable, in the program's .data */
#define GOLDEN		UINT64_C(0x9e3779b97f4a7c15)

struct fw {
	uint64_t	iter;
	uint64_t	segv_every;	/* 0: never */
};

static gva_t var_addr(void)
{
	return gos_image_addr(IMG_PROG_DATA, 0) + VAR_OFF;
}

/* The child: fork() returned 0, main returns, exit() runs. */
static int fw_child(struct gos *os, void *arg)
{
	struct vcpu *cpu = os->cpu;
	const struct fw *f = arg;
	uint64_t v;

	/* Out of the fork wrapper: its stack frame; glibc resets the
	 * cached TID in libc's data in the child. */
	g_st64(cpu, gos_image_addr(IMG_STACK, 0) + 0x80, 0);
	g_st64(cpu, gos_image_addr(IMG_LIBC_DATA, 0) + 0x100, f->iter);
	g_insn(cpu, 60);
	v = g_ld64(cpu, var_addr());
	g_st64(cpu, var_addr(), ~v);
	if (f->segv_every && (f->iter + 1) % f->segv_every == 0)
		(void)g_ld64(cpu, 0x10);	/* a NULL-pointer dereference */
	/* return from main -> exit(): atexit handlers, stdio flush. */
	(void)g_ld64(cpu, gos_image_addr(IMG_LIBC_DATA, 1));
	g_st64(cpu, gos_image_addr(IMG_LIBC_DATA, 1) + 0x40, v);
	g_st64(cpu, gos_image_addr(IMG_LIBC_BSS, 0) + 0x20, v);
	g_st64(cpu, gos_image_addr(IMG_STACK, 0) + 0x40, v);
	g_insn(cpu, 800);
	return (int)(v & 0xff);
}

static uint64_t forkwait_run(struct gos *os, const uint64_t *param)
{
	struct vcpu *cpu = os->cpu;
	struct fw f = { 0, param[P_CHILD_SEGV] };
	gva_t stack = gos_image_addr(IMG_STACK, 0);
	uint64_t h = WL_FNV_OFFSET;

	if (os->cur->nvma == 0 && gos_exec_image(os) < 0)
		vcpu_stop(cpu, "forkwait: cannot map the process image");
	gos_user(os);
	for (f.iter = 0; f.iter < param[P_ITERS]; f.iter++) {
		int pid, waited, status = -1;
		uint64_t v;

		g_st64(cpu, var_addr(), f.iter * GOLDEN);
		/* The fork wrapper: a call frame; the atfork lock in libc. */
		g_st64(cpu, stack + 0x100, f.iter);
		g_st64(cpu, gos_image_addr(IMG_LIBC_DATA, 0) + 0x200, f.iter);
		g_insn(cpu, 60);
		pid = gos_fork(os, fw_child, &f);
		if (pid < 0)
			vcpu_stop(cpu, "forkwait: fork failed at iteration %llu (%s)",
				  (unsigned long long)f.iter, "out of guest memory or processes");
		g_st64(cpu, stack + 0x108, (uint64_t)pid);
		g_insn(cpu, 40);
		waited = gos_wait(os, &status);
		g_st64(cpu, stack + 0x110, (uint64_t)status);
		g_insn(cpu, 60);
		v = g_ld64(cpu, var_addr());
		h = wl_fnv(h, v);
		h = wl_fnv(h, (uint64_t)status);
		h = wl_fnv(h, (uint64_t)(waited - pid));
		g_insn(cpu, 20);
	}
	gos_kernel(os);
	return h;
}

const struct workload wl_forkwait = {
	.name = "forkwait",
	.desc = "fork a child that exits at once, wait; repeat: page-table heavy",
	.params = {
		[P_ITERS] = { "iters", 25000, 1, 100000000, "fork/wait iterations" },
		[P_CHILD_SEGV] = { "child_segv", 0, 0, 100000000,
				   "every Nth child dereferences NULL (0: never)" },
	},
	.check = NULL,
	.run = forkwait_run,
};
