/*
 * test_e2e.c - memsweep under native and ept, every --pages x
 * --host-pages pair, through the vmm binary ($VMM): one checksum for
 * all; every EPT violation backs one host page; the dTLB miss rate is
 * native's for the same effective page size; the 2D walk costs more
 * references per walk than native's at 4K.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../e2e/vmmrun.h"

static const char *cell(const struct vmmrun *r, int row, const char *col)
{
	const char *s = vmmrun_get(r, row, col);

	cr_assert_not_null(s, "no column %s in row %d", col, row);
	return s;
}

static int find_row(const struct vmmrun *r, const char *mmu, const char *pages,
		    const char *host)
{
	for (int i = 0; i < r->nrows; i++)
		if (!strcmp(cell(r, i, "mmu"), mmu) && !strcmp(cell(r, i, "pages"), pages) &&
		    !strcmp(cell(r, i, "host_pages"), host))
			return i;
	cr_assert_fail("no row mmu=%s pages=%s host_pages=%s", mmu, pages, host);
	return -1;
}

static double refs_per_walk(const struct vmmrun *r, int row)
{
	return vmmrun_num(r, row, "walk_refs") / vmmrun_num(r, row, "walks");
}

Test(ept_e2e, memsweep_grid, .timeout = 600)
{
	static const char *const pages[] = { "4k", "2m" };
	const char *args[] = { "--mmu=native,ept", "--pages=4k,2m", "--host-pages=4k,2m",
			       "--workload=memsweep", "--cpu=skylake", "--param", "size=8m",
			       "--param", "passes=1", NULL };
	struct vmmrun r;
	const char *sum;
	int nat[2], i, j;

	vmmrun(&r, args);
	cr_assert_eq(r.status, 0, "vmm failed: %s", r.err);
	/* native ignores --host-pages: 2 native rows, 4 ept rows */
	cr_assert_eq(r.nrows, 6, "expected 6 rows, got %d:\n%s", r.nrows, r.out);
	nat[0] = find_row(&r, "native", "4k", "-");
	nat[1] = find_row(&r, "native", "2m", "-");
	sum = cell(&r, 0, "checksum");
	for (i = 0; i < r.nrows; i++)
		cr_expect_str_eq(cell(&r, i, "checksum"), sum, "row %d (%s %s/%s) checksum",
				 i, cell(&r, i, "mmu"), cell(&r, i, "pages"),
				 cell(&r, i, "host_pages"));

	for (i = 0; i < 2; i++) {
		for (j = 0; j < 2; j++) {
			int e = find_row(&r, "ept", pages[i], pages[j]);
			/* the TLB entry is min(guest, host page): 2M only at 2M/2M */
			int n = nat[i == 1 && j == 1 ? 1 : 0];
			double viol = vmmrun_num(&r, e, "exit_ept_violation");
			double mr = vmmrun_num(&r, e, "dtlb_miss_rate");
			double nmr = vmmrun_num(&r, n, "dtlb_miss_rate");

			cr_expect_gt(viol, 0);
			cr_expect_eq(viol, vmmrun_num(&r, e, "host_pages_backed"),
				     "ept %s/%s: %g violations, %g host pages backed",
				     pages[i], pages[j], viol,
				     vmmrun_num(&r, e, "host_pages_backed"));
			cr_expect_eq(vmmrun_num(&r, e, "exits"), viol, "EPT violations only");
			cr_expect_gt(vmmrun_num(&r, e, "ept_pages"), 0);
			cr_expect_eq(vmmrun_num(&r, e, "guest_page_faults"),
				     vmmrun_num(&r, nat[i], "guest_page_faults"),
				     "the guest takes its own #PFs, as many as native");
			/*
			 * Same effective page size, same misses: exactly when the
			 * host pages are 2M (nothing splinters). With 4K host
			 * pages the guest kernel's 2M direct map splinters too, a
			 * few thousand extra 4K entries for the frames it zeroes.
			 */
			if (j == 1)
				cr_expect_eq(vmmrun_num(&r, e, "dtlb_misses"),
					     vmmrun_num(&r, n, "dtlb_misses"),
					     "ept %s/2m misses", pages[i]);
			else
				cr_expect_lt(fabs(mr - nmr), 0.002, "ept %s/4k miss rate %f, "
					     "native %f", pages[i], mr, nmr);
		}
	}
	/* the 2D walk: more references per walk than native at 4K */
	i = find_row(&r, "ept", "4k", "4k");
	cr_expect_gt(refs_per_walk(&r, i), refs_per_walk(&r, nat[0]),
		     "ept 4k/4k %.2f refs/walk, native %.2f", refs_per_walk(&r, i),
		     refs_per_walk(&r, nat[0]));
	vmmrun_free(&r);
}

/* Every walk cache off (the worst case): more references than with
 * them, the same checksum. */
/* Walks of at least k references, from the walk_refs_hist column. */
static unsigned long long walks_of_at_least(const struct vmmrun *r, int row, unsigned k)
{
	const char *h = cell(r, row, "walk_refs_hist");
	unsigned long long n = 0, v;
	unsigned i = 0;
	char *end;

	while (*h) {
		v = strtoull(h, &end, 10);
		cr_assert(end != h, "walk_refs_hist malformed: %s", h);
		if (i++ >= k)
			n += v;
		h = *end == ';' ? end + 1 : end;
	}
	return n;
}

Test(ept_e2e, caches_off_param, .timeout = 300)
{
	const char *args[] = { "--mmu=ept", "--pages=4k", "--host-pages=4k",
			       "--workload=memsweep", "--cpu=skylake", "--param", "size=4m",
			       "--param", "passes=1", "--param", "ept_caches_off=7", NULL };
	const char *args_on[] = { "--mmu=ept", "--pages=4k", "--host-pages=4k",
				  "--workload=memsweep", "--cpu=skylake", "--param", "size=4m",
				  "--param", "passes=1", NULL };
	struct vmmrun off, on;

	vmmrun(&off, args);
	cr_assert_eq(off.status, 0, "vmm failed: %s", off.err);
	vmmrun(&on, args_on);
	cr_assert_eq(on.status, 0, "vmm failed: %s", on.err);
	cr_expect_str_eq(cell(&off, 0, "checksum"), cell(&on, 0, "checksum"));
	cr_expect_gt(vmmrun_num(&off, 0, "walk_refs"), vmmrun_num(&on, 0, "walk_refs"));
	cr_expect_eq(vmmrun_num(&off, 0, "ntlb_hits"), 0);
	/* The full 2D walk of a 4K page over 4K EPT pages is 24 reads (4
	 * guest levels x (4 EPT + 1) + 4 for the data gpa); with every cache
	 * on none comes near it, with them off most data walks make it (the
	 * rest end in the EPT violation that backs the page, or are boot's
	 * paging-off walks of the EPT alone, 4 each). */
	cr_expect_gt(walks_of_at_least(&off, 0, 24), vmmrun_num(&off, 0, "dtlb_misses") / 2,
		     "caches off: %llu walks of 24+ references for %.0f TLB misses",
		     walks_of_at_least(&off, 0, 24), vmmrun_num(&off, 0, "dtlb_misses"));
	cr_expect_eq(walks_of_at_least(&on, 0, 24), 0, "caches on: a walk of 24+ references");
	vmmrun_free(&off);
	vmmrun_free(&on);
}
