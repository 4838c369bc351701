/*
 * test_memsweep.c - memsweep end to end through the vmm binary: shadow's
 * checksums equal native's at 4k and 2m, and shadow exits only on first
 * touch: a bounded number per page touched, none per iteration.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../e2e/vmmrun.h"

static uint64_t checksum(const struct vmmrun *r, int row)
{
	const char *s = vmmrun_get(r, row, "checksum");

	cr_assert_not_null(s, "no checksum column in row %d", row);
	return strtoull(s, NULL, 16);
}

static int row_of(const struct vmmrun *r, const char *mmu, const char *pages)
{
	int i;

	for (i = 0; i < r->nrows; i++)
		if (strcmp(vmmrun_get(r, i, "mmu"), mmu) == 0 &&
		    strcmp(vmmrun_get(r, i, "pages"), pages) == 0)
			return i;
	cr_assert_fail("no row for mmu=%s pages=%s", mmu, pages);
	return -1;
}

Test(shadow, memsweep_e2e_checksums_and_exits, .timeout = 900)	/* a hang guard: the sanitized build takes minutes on a loaded machine */
{
	const char *args1[] = { "--mmu=native,shadow", "--pages=4k,2m", "--workload=memsweep",
				"--param", "size=8m", "--param", "passes=1", NULL };
	const char *args2[] = { "--mmu=shadow", "--pages=4k,2m", "--workload=memsweep",
				"--param", "size=8m", "--param", "passes=3", NULL };
	static const char *const pages[] = { "4k", "2m" };
	struct vmmrun r1, r2;
	unsigned i;

	vmmrun(&r1, args1);
	cr_assert_eq(r1.status, 0, "vmm failed: %s", r1.err);
	cr_assert_eq(r1.nrows, 4, "expected 4 rows:\n%s", r1.out);
	vmmrun(&r2, args2);
	cr_assert_eq(r2.status, 0, "vmm failed: %s", r2.err);
	for (i = 0; i < 2; i++) {
		int n = row_of(&r1, "native", pages[i]), s = row_of(&r1, "shadow", pages[i]);
		int s3 = row_of(&r2, "shadow", pages[i]);
		/* pages touched: the array, plus the guest's own tables */
		double touched = (8 << 20) / (i == 0 ? 4096.0 : 2097152.0) + 64;
		double ex1 = vmmrun_num(&r1, s, "exits"), ex3 = vmmrun_num(&r2, s3, "exits");

		cr_assert_eq(checksum(&r1, s), checksum(&r1, n), "%s: shadow checksum differs",
			     pages[i]);
		cr_assert_eq(vmmrun_num(&r1, n, "exits"), 0);
		cr_assert_gt(vmmrun_num(&r1, s, "hidden_faults"), 0);
		cr_assert_gt(vmmrun_num(&r1, s, "exit_exception_nmi"), 0);
		cr_assert_gt(vmmrun_num(&r1, s, "exit_cr_access"), 0);
		cr_assert_gt(vmmrun_num(&r1, s, "shadow_pages_peak"), 0);
		cr_assert_leq(ex1, 4 * touched, "%s: %.0f exits for ~%.0f pages touched",
			      pages[i], ex1, touched);
		/* Three times the iterations, the same exits. */
		cr_assert_eq(ex3, ex1, "%s: exits grow with passes: %.0f -> %.0f", pages[i],
			     ex1, ex3);
		cr_assert_eq(vmmrun_num(&r2, s3, "guest_page_faults"),
			     vmmrun_num(&r1, n, "guest_page_faults"));
	}
	vmmrun_free(&r1);
	vmmrun_free(&r2);
}
