/*
 * micro.c - the controls of the classic comparison: a system-call loop
 * (getppid) and pure compute (countPrimes, fib). They touch little
 * memory and take no page faults after start-up, so every MMU should
 * come out nearly equal on them: that is the point of running them.
 * And one kernel-path microbenchmark, touch: a demand-zero fault per
 * page, the path scripts/calibrate.sh times on the real kernel.
 */
#include <stdio.h>

#include "workloads.h"

/* getppid: for (i = 0; i < iters; i++) getppid(); */
static uint64_t getppid_run(struct gos *os, const uint64_t *param)
{
	struct vcpu *cpu = os->cpu;
	gva_t stack = gos_image_addr(IMG_STACK, 0);
	uint64_t h = WL_FNV_OFFSET, i;

	if (os->cur->nvma == 0 && gos_exec_image(os) < 0)
		vcpu_stop(cpu, "getppid: cannot map the process image");
	gos_user(os);
	for (i = 0; i < param[0]; i++) {
		/* The libc wrapper: a call frame, the syscall, the result. */
		g_st64(cpu, stack + 0x100, i);
		h = wl_fnv(h, (uint64_t)gos_getppid(os));
		g_insn(cpu, 8);
	}
	gos_kernel(os);
	return h;
}

/* countPrimes: how many n < limit are prime, by trial division. The
 * counter lives on the stack, as an unoptimised build keeps it. */
static uint64_t countprimes_run(struct gos *os, const uint64_t *param)
{
	struct vcpu *cpu = os->cpu;
	gva_t counter = gos_image_addr(IMG_STACK, 0) + 0x200;
	uint64_t n, d, count = 0;

	if (os->cur->nvma == 0 && gos_exec_image(os) < 0)
		vcpu_stop(cpu, "countprimes: cannot map the process image");
	gos_user(os);
	g_st64(cpu, counter, 0);
	for (n = 2; n < param[0]; n++) {
		bool prime = true;

		for (d = 2; d * d <= n; d++) {
			g_insn(cpu, 4);		/* mul, cmp, div, test */
			if (n % d == 0) {
				prime = false;
				break;
			}
		}
		g_insn(cpu, 3);
		if (prime) {
			count = g_ld64(cpu, counter) + 1;
			g_st64(cpu, counter, count);
		}
	}
	gos_kernel(os);
	return wl_fnv(WL_FNV_OFFSET, count);
}

/* fib: the doubly recursive Fibonacci; each call pushes a frame (return
 * address, saved n) on the user stack and pops it on return. Every value
 * popped is folded into *h, so the checksum depends on every stack load
 * (a wrong translation of any frame shows), not on the result alone. */
static uint64_t fib_rec(struct vcpu *cpu, gva_t sp, uint64_t n, uint64_t *h)
{
	uint64_t a, b, saved;

	g_st64(cpu, sp - 8, n);			/* push */
	g_insn(cpu, 6);
	if (n < 2) {
		n = g_ld64(cpu, sp - 8);	/* pop */
		*h = wl_fnv(*h, n);
		return n;
	}
	a = fib_rec(cpu, sp - 16, n - 1, h);
	saved = g_ld64(cpu, sp - 8);
	*h = wl_fnv(*h, saved);
	b = fib_rec(cpu, sp - 16, saved - 2, h);
	g_insn(cpu, 4);
	return a + b;
}

static uint64_t fib_run(struct gos *os, const uint64_t *param)
{
	struct vcpu *cpu = os->cpu;
	/* 16 bytes a frame: the deepest recursion stays within the stack. */
	gva_t sp = gos_image_addr(IMG_STACK, 0) + PAGE_SIZE;
	uint64_t h = WL_FNV_OFFSET, r;

	if (os->cur->nvma == 0 && gos_exec_image(os) < 0)
		vcpu_stop(cpu, "fib: cannot map the process image");
	gos_user(os);
	r = fib_rec(cpu, sp, param[0], &h);
	gos_kernel(os);
	return wl_fnv(h, r);
}

/*
 * touch: the first touch of fresh anonymous memory, as lmbench's
 * lat_pagefault does for files and scripts/calibrate/loops.c's "touch"
 * does on the real kernel:
 *
 *	char *p = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE,
 *		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
 *	for (i = 0; i < pages; i++) p[i * 4096] = i * 0x9e + 1;
 *	for (i = 0; i < pages; i++) h = fnv(h, p[i * 4096]);
 *
 * At 4K pages each store is one demand-zero fault (do_anonymous_page:
 * allocate, clear, map); at 2M one fault backs 512 of them. The read-back
 * checks every page kept its byte (and that the rest was zeroed: the
 * byte after it is folded in too).
 */
enum { T_PAGES };

static int touch_check(const uint64_t *param, uint64_t guest_mem, char *err, size_t errlen)
{
	/* The array rounded to a large page, plus room for the kernel, as
	 * memsweep's check. */
	if (param[T_PAGES] * PAGE_SIZE + 2 * LEVEL_SIZE(LEVEL_2M) + guest_mem / 64 > guest_mem) {
		snprintf(err, errlen, "touch: %llu pages do not fit in guest RAM "
			 "(%llu MiB); raise --guest-mem",
			 (unsigned long long)param[T_PAGES],
			 (unsigned long long)(guest_mem / MiB));
		return -1;
	}
	return 0;
}

static uint64_t touch_run(struct gos *os, const uint64_t *param)
{
	struct vcpu *cpu = os->cpu;
	const uint64_t n = param[T_PAGES];
	gva_t a = gos_mmap_anon(os, n * PAGE_SIZE, VMA_READ | VMA_WRITE);
	uint64_t h = WL_FNV_OFFSET, i;

	BUG_ON(a == 0, "mmap of the array failed");
	gos_user(os);
	g_phase(cpu);
	for (i = 0; i < n; i++) {
		g_st8(cpu, a + i * PAGE_SIZE, (uint8_t)(i * 0x9e + 1));
		g_insn(cpu, 4);		/* add, shl, lea, cmp/jne */
	}
	g_phase(cpu);
	for (i = 0; i < n; i++) {
		h = wl_fnv(h, g_ld8(cpu, a + i * PAGE_SIZE));
		h = wl_fnv(h, g_ld8(cpu, a + i * PAGE_SIZE + 1));
		g_insn(cpu, 8);
	}
	gos_kernel(os);
	return h;
}

const struct workload wl_touch = {
	.name = "touch",
	.desc = "first touch of fresh anonymous pages: one demand-zero #PF per page",
	.params = { [T_PAGES] = { "pages", 16384, 1, UINT64_C(1) << 28, "pages to touch" } },
	.check = touch_check,
	.run = touch_run,
};

const struct workload wl_getppid = {
	.name = "getppid",
	.desc = "a system-call loop: no page-table work, every MMU should tie",
	.params = { { "iters", 10000000, 1, UINT64_C(1) << 40, "getppid calls" } },
	.run = getppid_run,
};

const struct workload wl_countprimes = {
	.name = "countprimes",
	.desc = "count primes by trial division: pure compute",
	.params = { { "limit", 2000000, 3, UINT64_C(1) << 32, "count primes below this" } },
	.run = countprimes_run,
};

const struct workload wl_fib = {
	.name = "fib",
	.desc = "doubly recursive Fibonacci: pure compute on the stack",
	.params = { { "n", 35, 0, 60, "compute fib(n)" } },
	.run = fib_run,
};
