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
 * Checksum: the parent writes a fresh value into a variable of main's
 * stack frame before each fork; the child reads it (and exits with its low
 * byte, proving it saw the parent's memory), then overwrites it (which
 * must stay invisible to the parent); after wait the parent folds its
 * own view of the variable and the child's exit status into the hash.
 */
#include <stdio.h>

#include "workloads.h"

enum { P_ITERS, P_CHILD_SEGV };

#define GOLDEN		UINT64_C(0x9e3779b97f4a7c15)
#define VAR_OFF		0x1f0		/* the loop's variable, in main's frame (top stack page) */

struct fw {
	uint64_t	iter;
	uint64_t	segv_every;	/* 0: never */
};

#define F(part, off, n)	{ STEP_FETCH, part, n, off }
#define RD(part, off)	{ STEP_READ, part, 0, off }
#define WR(part, off)	{ STEP_WRITE, part, 0, off }

/*
 * The real child's way from fork() to _exit, as a page-fault trace of
 * the real loop shows it on this machine (perf record -e page-faults -d,
 * docs/guest-os.md): the first touch of each page it makes, in order,
 * with a few lines of code fetched per function. Offsets are those of
 * glibc 2.36's functions and data in the traced run. Writes land on
 * pages fork shared copy-on-write; fetches and reads on text and
 * read-only data fork did not copy (faulted in, with fault-around).
 */
static const struct gos_step child_path[] = {
	/* fork() returns 0: _Fork, __libc_fork's child branch */
	F(IMG_LIBC_TEXT, 0xae340, 4),
	WR(IMG_LIBC_BSS, 0x4a88),		/* __libc_single_threaded, fork_generation */
	F(IMG_LIBC_TEXT, 0xaded0, 4),
	WR(IMG_LDSO_DATA, 0x0a48),		/* _rtld_global: reinit dl_load_lock */
	WR(IMG_LDSO_DATA, 0x10e0),		/*   and dl_load_write_lock */
	WR(IMG_STACK, 0x01e8),
	/* back in main: the child branch calls exit() through the PLT */
	F(IMG_PROG_TEXT, 0x06c0, 2),
	/* lazy binding of exit: _dl_runtime_resolve, _dl_fixup, do_lookup_x */
	F(IMG_LDSO_TEXT, 0x11280, 4),
	WR(IMG_STACK, 0x1900),			/* xsavec's save area, one page down */
	RD(IMG_PROG_HDR, 0x0a18),		/* .rela.plt, .dynsym */
	RD(IMG_LIBC_HDR, 0x4b08),		/* libc's .gnu.hash, .dynsym */
	F(IMG_LDSO_TEXT, 0x21480, 4),		/* strcmp */
	RD(IMG_LDSO_RODATA, 0x12d0),
	RD(IMG_LIBC_HDR, 0x22400),		/* .dynstr */
	WR(IMG_PROG_DATA, 0x0078),		/* the GOT slot */
	/* exit(): __run_exit_handlers, _dl_fini, __cxa_finalize, _IO_cleanup */
	F(IMG_LIBC_TEXT, 0x18680, 4),
	WR(IMG_LIBC_BSS, 0x02c8),
	F(IMG_LDSO_TEXT, 0x036c0, 4),		/* _dl_fini */
	F(IMG_LIBC_TEXT, 0x66370, 2),		/* pthread_mutex_lock */
	WR(IMG_LDSO_ANON, 0x0614),		/* the link map's l_init_called */
	F(IMG_LIBC_TEXT, 0x17f40, 3),		/* __cxa_finalize */
	WR(IMG_LIBC_BSS, 0x5a60),		/* __unregister_atfork */
	WR(IMG_LIBC_DATA, 0x0820),		/* __exit_funcs */
	F(IMG_LIBC_TEXT, 0x5db30, 3),		/* _IO_cleanup */
	WR(IMG_LIBC_DATA, 0x1740),		/* _IO_2_1_stderr_ */
	F(IMG_LIBC_TEXT, 0xae3e0, 1),		/* _exit */
};

/* The parent's loop around fork() and waitpid(), on its own pages. */
static const struct gos_step parent_pre_fork[] = {
	F(IMG_PROG_TEXT, 0x06a0, 2),		/* the loop in main */
	F(IMG_LIBC_TEXT, 0xade80, 4),		/* fork -> __libc_fork */
	WR(IMG_STACK, 0x0100),
	F(IMG_LIBC_TEXT, 0xae330, 2),		/* _Fork: the clone system call */
};
static const struct gos_step parent_post_fork[] = {
	F(IMG_LIBC_TEXT, 0xae350, 1),
	WR(IMG_STACK, 0x01e8),			/* __libc_fork's parent branch */
	F(IMG_LIBC_TEXT, 0xae060, 3),
	F(IMG_PROG_TEXT, 0x06e0, 1),
	F(IMG_LIBC_TEXT, 0xadb90, 3),		/* waitpid -> wait4 */
	WR(IMG_STACK, 0x0108),
};
static const struct gos_step parent_post_wait[] = {
	F(IMG_LIBC_TEXT, 0xadbc0, 1),
	F(IMG_PROG_TEXT, 0x0700, 1),
};

#undef F
#undef RD
#undef WR

/* The child: fork() returned 0, main returns, exit() runs. */
static int fw_child(struct gos *os, void *arg)
{
	struct vcpu *cpu = os->cpu;
	const struct fw *f = arg;
	gva_t var = gos_image_addr(IMG_STACK, 0) + VAR_OFF;
	uint64_t v;

	gos_run_path(os, child_path, 6, f->iter);
	v = g_ld64(cpu, var);
	g_st64(cpu, var, ~v);
	if (f->segv_every && (f->iter + 1) % f->segv_every == 0)
		(void)g_ld64(cpu, 0x10);	/* a NULL-pointer dereference */
	gos_run_path(os, child_path + 6, ARRAY_SIZE(child_path) - 6, v);
	g_insn(cpu, 1500);	/* exit's user-mode work: handlers, stdio, _dl_fini */
	return (int)(v & 0xff);
}

static uint64_t forkwait_run(struct gos *os, const uint64_t *param)
{
	struct vcpu *cpu = os->cpu;
	struct fw f = { 0, param[P_CHILD_SEGV] };
	gva_t var = gos_image_addr(IMG_STACK, 0) + VAR_OFF;
	uint64_t h = WL_FNV_OFFSET;

	if (os->cur->nvma == 0 && gos_exec_image(os) < 0)
		vcpu_stop(cpu, "forkwait: cannot map the process image");
	gos_user(os);
	g_phase(cpu);
	for (f.iter = 0; f.iter < param[P_ITERS]; f.iter++) {
		int pid, waited, status = -1;
		uint64_t v;

		g_st64(cpu, var, f.iter * GOLDEN);
		gos_run_path(os, parent_pre_fork, ARRAY_SIZE(parent_pre_fork), f.iter);
		g_insn(cpu, 60);
		pid = gos_fork(os, fw_child, &f);
		if (pid < 0)
			vcpu_stop(cpu, "forkwait: fork failed at iteration %llu (%s)",
				  (unsigned long long)f.iter, "out of guest memory or processes");
		gos_run_path(os, parent_post_fork, ARRAY_SIZE(parent_post_fork), (uint64_t)pid);
		g_insn(cpu, 40);
		waited = gos_wait(os, &status);
		gos_run_path(os, parent_post_wait, ARRAY_SIZE(parent_post_wait), 0);
		g_insn(cpu, 60);
		v = g_ld64(cpu, var);
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
