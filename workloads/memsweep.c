/*
 * memsweep.c - the TLB-miss-heavy workload of the classic comparison:
 *
 *	volatile char large[S];			S = 8192 * 4096 (32 MiB)
 *	for (unsigned i = 0; i < 20 * S; i++)
 *		large[(4096 * i + i) % S] = 1 + large[i % S];
 *
 * One sequential read and one store striding 4097 bytes: at 4K pages
 * every store lands on a new page, so once S outruns the TLB's reach
 * every iteration walks. The loop body is 11 instructions, 2 of them
 * the memory accesses. `i` is a 32-bit unsigned, as in the C original:
 * 4096 * i wraps modulo 2^32 before the % S.
 */
#include <stdio.h>

#include "workloads.h"

enum { P_SIZE, P_PASSES };

static int memsweep_check(const uint64_t *param, uint64_t guest_mem, char *err,
			  size_t errlen)
{
	uint64_t s = param[P_SIZE];

	if (param[P_PASSES] * s > UINT32_MAX) {
		snprintf(err, errlen, "memsweep: passes x size = %llu exceeds the "
			 "32-bit loop counter of the original program (max %u)",
			 (unsigned long long)(param[P_PASSES] * s), UINT32_MAX);
		return -1;
	}
	/* The array, rounded to a large page, plus room for the kernel. */
	if (s + 2 * LEVEL_SIZE(LEVEL_2M) + guest_mem / 64 > guest_mem) {
		snprintf(err, errlen, "memsweep: size %llu bytes does not fit in "
			 "guest RAM (%llu MiB); raise --guest-mem",
			 (unsigned long long)s, (unsigned long long)(guest_mem / MiB));
		return -1;
	}
	return 0;
}

static uint64_t memsweep_run(struct gos *os, const uint64_t *param)
{
	struct vcpu *cpu = os->cpu;
	const uint32_t s = (uint32_t)param[P_SIZE];
	const uint32_t n = (uint32_t)(param[P_PASSES] * s);
	const bool pow2 = (s & (s - 1)) == 0;
	gva_t large = gos_mmap_anon(os, s, VMA_READ | VMA_WRITE);
	uint64_t h = WL_FNV_OFFSET;
	uint32_t i;
	uint64_t off;

	BUG_ON(large == 0, "mmap of the array failed");
	gos_user(os);
	g_phase(cpu);
	/* The same arithmetic either way; the mask spares the host a divide. */
	if (pow2) {
		for (i = 0; i < n; i++) {
			uint8_t v = g_ld8(cpu, large + (i & (s - 1)));

			g_st8(cpu, large + ((4096u * i + i) & (s - 1)), (uint8_t)(1 + v));
			g_insn(cpu, 11);
		}
	} else {
		for (i = 0; i < n; i++) {
			uint8_t v = g_ld8(cpu, large + i % s);

			g_st8(cpu, large + (4096u * i + i) % s, (uint8_t)(1 + v));
			g_insn(cpu, 11);
		}
	}
	/* Checksum the array: FNV-1a over its 64-bit words (bytes past the
	 * last whole word folded one by one). */
	g_phase(cpu);
	for (off = 0; off + 8 <= s; off += 8) {
		h = wl_fnv(h, g_ld64(cpu, large + off));
		g_insn(cpu, 4);
	}
	for (; off < s; off++) {
		h = wl_fnv(h, g_ld8(cpu, large + off));
		g_insn(cpu, 4);
	}
	gos_kernel(os);
	return h;
}

const struct workload wl_memsweep = {
	.name = "memsweep",
	.desc = "strided sweep of a large array: TLB-miss heavy",
	.params = {
		[P_SIZE] = { "size", 8192 * 4096, 1, UINT32_MAX, "array size in bytes" },
		[P_PASSES] = { "passes", 20, 1, UINT32_MAX, "passes over the array" },
	},
	.check = memsweep_check,
	.run = memsweep_run,
};
