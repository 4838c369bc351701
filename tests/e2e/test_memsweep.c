/*
 * test_memsweep.c - memsweep end to end through the vmm binary: checksums
 * equal a plain C run of the same loop and each other across page sizes;
 * TLB behaviour follows from the TLB's reach, not from a constant.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmmrun.h"

/* The program of DESIGN.md, run natively on host memory, checksummed the
 * way the guest does it (FNV-1a over 64-bit little-endian words). */
static uint64_t reference_checksum(uint32_t s, uint32_t passes)
{
	volatile unsigned char *large = calloc(s, 1);
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	uint32_t i, off;

	cr_assert_not_null((void *)large);
	for (i = 0; i < passes * s; i++)
		large[(4096u * i + i) % s] = (unsigned char)(1 + large[i % s]);
	for (off = 0; off + 8 <= s; off += 8) {
		uint64_t w;

		memcpy(&w, (const void *)(large + off), 8);
		h = (h ^ w) * UINT64_C(0x100000001b3);
	}
	for (; off < s; off++)
		h = (h ^ large[off]) * UINT64_C(0x100000001b3);
	free((void *)large);
	return h;
}

static uint64_t row_checksum(const struct vmmrun *r, int row)
{
	const char *s = vmmrun_get(r, row, "checksum");

	cr_assert_not_null(s, "no checksum column in row %d", row);
	return strtoull(s, NULL, 16);
}

/* 8 MiB outruns every shipped profile's 4K TLB reach (at most 2048
 * entries x 4K) but is four 2M pages. */
Test(e2e, memsweep_native_4k_2m, .timeout = 300)
{
	const char *args[] = { "--mmu=native", "--pages=4k,2m", "--workload=memsweep",
			       "--cpu=skylake", "--param", "size=8m", "--param",
			       "passes=2", NULL };
	struct vmmrun r;
	uint64_t want = reference_checksum(8u << 20, 2);
	double miss4k, miss2m;

	vmmrun(&r, args);
	cr_assert_eq(r.status, 0, "vmm failed: %s", r.err);
	cr_assert_eq(r.nrows, 2, "expected 2 rows, got %d:\n%s", r.nrows, r.out);
	cr_assert_str_eq(vmmrun_get(&r, 0, "pages"), "4k");
	cr_assert_str_eq(vmmrun_get(&r, 1, "pages"), "2m");
	cr_assert_eq(row_checksum(&r, 0), want, "4k checksum %#lx, C reference %#lx",
		     (unsigned long)row_checksum(&r, 0), (unsigned long)want);
	cr_assert_eq(row_checksum(&r, 1), want, "2m checksum differs from the reference");

	/* Every strided store lands on a new 4K page and the array is far
	 * beyond the TLB's reach: about one access in two walks. */
	miss4k = vmmrun_num(&r, 0, "dtlb_miss_rate");
	miss2m = vmmrun_num(&r, 1, "dtlb_miss_rate");
	cr_assert_gt(miss4k, 0.45, "4k miss rate %f", miss4k);
	cr_assert_lt(miss4k, 0.55, "4k miss rate %f", miss4k);
	cr_assert_lt(miss2m, 0.001, "2m miss rate %f", miss2m);
	cr_assert_gt(vmmrun_num(&r, 0, "walk_refs"), vmmrun_num(&r, 1, "walk_refs") * 100);
	cr_assert_eq(vmmrun_num(&r, 0, "exits"), 0, "native has no VM exits");
	vmmrun_free(&r);
}

/* An array within the TLB's reach does not walk after warm-up, even at
 * 4K: the miss rate comes from the mechanism. */
Test(e2e, memsweep_fits_in_tlb, .timeout = 120)
{
	const char *args[] = { "--mmu=native", "--pages=4k", "--workload=memsweep",
			       "--cpu=skylake", "--param", "size=256k", "--param",
			       "passes=8", NULL };
	struct vmmrun r;

	vmmrun(&r, args);
	cr_assert_eq(r.status, 0, "vmm failed: %s", r.err);
	cr_assert_eq(row_checksum(&r, 0), reference_checksum(256u << 10, 8));
	cr_assert_lt(vmmrun_num(&r, 0, "dtlb_miss_rate"), 0.01);
	vmmrun_free(&r);
}

/* A size that is not a power of two takes the % path of the loop. */
Test(e2e, memsweep_odd_size, .timeout = 120)
{
	const char *args[] = { "--mmu=native", "--pages=4k,2m", "--workload=memsweep",
			       "--param", "size=3000001", "--param", "passes=1", NULL };
	struct vmmrun r;
	uint64_t want = reference_checksum(3000001, 1);

	vmmrun(&r, args);
	cr_assert_eq(r.status, 0, "vmm failed: %s", r.err);
	cr_assert_eq(row_checksum(&r, 0), want);
	cr_assert_eq(row_checksum(&r, 1), want);
	vmmrun_free(&r);
}

/* The categories add up to cycles, and runtime is cycles / clock. */
Test(e2e, cycles_add_up, .timeout = 120)
{
	const char *cats[] = { "cycles_user", "cycles_kernel", "cycles_data", "cycles_tlb",
			       "cycles_walk", "cycles_exit" };
	const char *args[] = { "--mmu=native", "--pages=4k", "--workload=memsweep",
			       "--param", "size=1m", "--param", "passes=1", NULL };
	struct vmmrun r;
	double sum = 0, total;
	size_t i;

	vmmrun(&r, args);
	cr_assert_eq(r.status, 0, "vmm failed: %s", r.err);
	for (i = 0; i < sizeof(cats) / sizeof(cats[0]); i++) {
		double v = vmmrun_num(&r, 0, cats[i]);

		cr_assert_geq(v, 0, "%s missing or negative", cats[i]);
		sum += v;
	}
	total = vmmrun_num(&r, 0, "cycles");
	cr_assert_gt(total, 0);
	/* Each column is rounded to a whole cycle. */
	cr_assert_leq(sum - total, 6.0);
	cr_assert_geq(sum - total, -6.0);
	cr_assert_gt(vmmrun_num(&r, 0, "guest_page_faults"), 255, "256 pages demand-faulted");
	vmmrun_free(&r);
}

/* A figure of a shipped profile, read off its file (the first token
 * after `key =`), so the test below checks the CSV against the profile,
 * not against the code that prices it. */
static double profile_figure(const char *cpu, const char *key)
{
	char path[512], line[512], k[64];
	const char *dir = getenv("MEMVIRT_PROFILES");
	double v = -1;
	FILE *f;

	cr_assert_not_null(dir, "MEMVIRT_PROFILES is not set");
	snprintf(path, sizeof(path), "%s/%s.profile", dir, cpu);
	f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " %63[a-z_.0-9] = %lf", k, &v) == 2 && strcmp(k, key) == 0)
			break;
		else
			v = -1;
	fclose(f);
	cr_assert_geq(v, 0, "%s: no figure for %s", path, key);
	return v;
}

/*
 * The clock follows the profile, independently of how the categories are
 * summed: N more getppid calls add N syscall prices to cycles_syscall
 * exactly (a syscall serialises the core: nothing overlaps it), and the
 * extra instructions and data accesses (each access is dispatched like
 * an instruction) cost their count times the base CPI in cycles_user
 * plus the base-kernel part of cycles_kernel (2% slack for a drain's
 * rounding). Skylake: syscall = 120, cpi = 0.5, so 1000 more calls are
 * 120,000 syscall cycles and, at the 8 user and 75 kernel instructions
 * and 8 accesses a call makes, 45,500 base cycles.
 */
Test(e2e, cycles_follow_the_profile, .timeout = 120)
{
	const char *a1[] = { "--cpu=skylake", "--mmu=native", "--workload=getppid",
			     "--param", "iters=1000", "--quiet", NULL };
	const char *a2[] = { "--cpu=skylake", "--mmu=native", "--workload=getppid",
			     "--param", "iters=2000", "--quiet", NULL };
	double syscall = profile_figure("skylake", "syscall");
	double cpi = profile_figure("skylake", "cpi");
	double dsys, dinsns, dbase;
	struct vmmrun r1, r2;

	vmmrun(&r1, a1);
	vmmrun(&r2, a2);
	cr_assert_eq(r1.status, 0, "vmm failed: %s", r1.err);
	cr_assert_eq(r2.status, 0, "vmm failed: %s", r2.err);
	dsys = vmmrun_num(&r2, 0, "cycles_syscall") - vmmrun_num(&r1, 0, "cycles_syscall");
	cr_assert_eq(dsys, 1000 * syscall, "1000 more syscalls added %.0f cycles, not 1000 x %.0f",
		     dsys, syscall);
	dinsns = vmmrun_num(&r2, 0, "insns_user") + vmmrun_num(&r2, 0, "insns_kernel") -
		 vmmrun_num(&r1, 0, "insns_user") - vmmrun_num(&r1, 0, "insns_kernel");
	cr_assert_gt(dinsns, 1000, "a getppid call executes instructions");
	dinsns += vmmrun_num(&r2, 0, "accesses") - vmmrun_num(&r1, 0, "accesses");
	dbase = vmmrun_num(&r2, 0, "cycles_user") - vmmrun_num(&r1, 0, "cycles_user") +
		(vmmrun_num(&r2, 0, "cycles_kernel") - vmmrun_num(&r2, 0, "cycles_syscall") -
		 vmmrun_num(&r2, 0, "cycles_pf")) -
		(vmmrun_num(&r1, 0, "cycles_kernel") - vmmrun_num(&r1, 0, "cycles_syscall") -
		 vmmrun_num(&r1, 0, "cycles_pf"));
	cr_assert(dbase > 0.98 * dinsns * cpi && dbase < 1.02 * dinsns * cpi,
		  "%.0f more instructions and accesses at CPI %.2f took %.0f base cycles",
		  dinsns, cpi, dbase);
	vmmrun_free(&r1);
	vmmrun_free(&r2);
}

/* Same inputs, same CSV except wall_s. */
Test(e2e, deterministic, .timeout = 120)
{
	const char *args[] = { "--mmu=native", "--pages=4k", "--param", "size=2m",
			       "--param", "passes=1", NULL };
	struct vmmrun a, b;
	int c;

	vmmrun(&a, args);
	vmmrun(&b, args);
	cr_assert_eq(a.status, 0);
	cr_assert_eq(a.ncols, b.ncols);
	for (c = 0; c < a.ncols; c++) {
		if (strcmp(a.col[c], "wall_s") == 0)
			continue;
		cr_assert_str_eq(a.cell[0][c], b.cell[0][c], "column %s differs", a.col[c]);
	}
	vmmrun_free(&a);
	vmmrun_free(&b);
}
