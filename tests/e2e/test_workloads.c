/*
 * test_workloads.c - every workload end to end through the vmm binary,
 * on every MMU: the checksum of a workload is the same wherever it runs.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmmrun.h"

#define MMUS	"native,shadow,ept"

/* Rows come out as workload-major: for each workload, each MMU. */
static void assert_checksums_agree(const struct vmmrun *r, int per_workload)
{
	int row;

	for (row = 0; row < r->nrows; row++) {
		int first = row - row % per_workload;

		cr_assert_str_eq(vmmrun_get(r, row, "checksum"),
				 vmmrun_get(r, first, "checksum"),
				 "%s on %s/%s: checksum differs from %s",
				 vmmrun_get(r, row, "workload"), vmmrun_get(r, row, "mmu"),
				 vmmrun_get(r, row, "pages"), vmmrun_get(r, first, "mmu"));
	}
}

/* Every modeled cycle is in exactly one category. */
static void assert_categories_sum(const struct vmmrun *r)
{
	static const char *const cats[] = { "cycles_user", "cycles_kernel", "cycles_data",
					    "cycles_tlb", "cycles_walk", "cycles_exit" };
	int row;
	size_t i;

	for (row = 0; row < r->nrows; row++) {
		double sum = 0, total = vmmrun_num(r, row, "cycles");

		for (i = 0; i < sizeof(cats) / sizeof(cats[0]); i++)
			sum += vmmrun_num(r, row, cats[i]);
		/* each column is rounded to a whole cycle */
		cr_assert(sum - total < 6.0 && total - sum < 6.0,
			  "%s/%s: categories sum to %.0f, cycles %.0f",
			  vmmrun_get(r, row, "workload"), vmmrun_get(r, row, "mmu"), sum, total);
	}
}

Test(workloads, all_run_with_equal_checksums, .timeout = 600)
{
	const char *args[] = { "--mmu=" MMUS, "--pages=4k,2m",
			       "--workload=forkwait,getppid,countprimes,fib",
			       "--param", "iters=300", "--param", "limit=20000",
			       "--param", "n=18", NULL };
	struct vmmrun r;

	vmmrun(&r, args);
	cr_assert_eq(r.status, 0, "vmm failed: %s", r.err);
	cr_assert_eq(r.nrows, 4 * 3 * 2, "rows: %d\n%s", r.nrows, r.out);
	assert_checksums_agree(&r, 3 * 2);
	assert_categories_sum(&r);
	vmmrun_free(&r);
}

/* forkwait's per-iteration mechanism, visible in the CSV: two context
 * switches and the fork's flush are CR3 writes; the parent takes 2 page
 * faults an iteration (its stack and its struct rseq, copy-on-write),
 * the child 25 (13 copy-on-write writes, 8 text fetches and 4 reads of
 * read-only data fork did not copy: docs/guest-os.md), as the real loop
 * does on this machine. */
Test(workloads, forkwait_counts_per_fork, .timeout = 120)
{
	const char *args[] = { "--mmu=native", "--workload=forkwait", "--param",
			       "iters=1000", NULL };
	struct vmmrun r;
	double cr3, pf, child;

	vmmrun(&r, args);
	cr_assert_eq(r.status, 0, "vmm failed: %s", r.err);
	cr3 = vmmrun_num(&r, 0, "cr3_writes");
	pf = vmmrun_num(&r, 0, "guest_page_faults");
	child = vmmrun_num(&r, 0, "guest_page_faults_child");
	cr_assert_geq(cr3, 3 * 1000, "cr3 writes %f", cr3);
	cr_assert_lt(cr3, 3 * 1000 + 40, "cr3 writes %f", cr3);
	cr_assert_eq(child, 25 * 1000, "child faults per iteration: %f", child / 1000);
	cr_assert_geq(pf - child, 2 * 1000, "parent faults per iteration: %f", (pf - child) / 1000);
	cr_assert_lt(pf - child, 2 * 1000 + 100, "parent faults: %f (start-up: under 100)",
		     pf - child);
	vmmrun_free(&r);
}

/* A segfaulting child: the run completes, the checksum records it. */
Test(workloads, forkwait_child_segv_completes, .timeout = 120)
{
	const char *a1[] = { "--workload=forkwait", "--param", "iters=50", "--param",
			     "child_segv=7", NULL };
	const char *a2[] = { "--workload=forkwait", "--param", "iters=50", NULL };
	struct vmmrun r1, r2;

	vmmrun(&r1, a1);
	vmmrun(&r2, a2);
	cr_assert_eq(r1.status, 0, "vmm failed: %s", r1.err);
	cr_assert_str_neq(vmmrun_get(&r1, 0, "checksum"), vmmrun_get(&r2, 0, "checksum"),
			  "killed children must show in the checksum");
	vmmrun_free(&r1);
	vmmrun_free(&r2);
}

/*
 * walks counts every hardware walk, whatever became of it (a fill, a
 * #PF, a shadow hidden or trace fault, an EPT violation), and
 * walk_refs_hist files each walk under the references it made. So the
 * histogram holds `walks` walks, and its references add up to
 * walk_refs exactly while no walk reaches the last ("or more") bucket.
 * A walk left uncounted on some outcome (as walks once were on an exit)
 * breaks both.
 */
Test(workloads, walks_and_their_references_agree, .timeout = 300)
{
	const char *args[] = { "--mmu=" MMUS, "--pages=4k,2m", "--workload=forkwait,memsweep",
			       "--param", "iters=200", "--param", "size=2m",
			       "--param", "passes=1", "--quiet", NULL };
	struct vmmrun r;
	int row;

	vmmrun(&r, args);
	cr_assert_eq(r.status, 0, "vmm failed: %s", r.err);
	cr_assert_eq(r.nrows, 12);
	for (row = 0; row < r.nrows; row++) {
		const char *h = vmmrun_get(&r, row, "walk_refs_hist");
		unsigned long long walks = 0, refs = 0, k = 0, n;
		char *end;

		cr_assert(h != NULL, "no walk_refs_hist column");
		while (*h) {
			n = strtoull(h, &end, 10);
			cr_assert(end != h, "walk_refs_hist malformed: %s", h);
			walks += n;
			refs += k * n;
			k++;
			h = *end == ';' ? end + 1 : end;
		}
		cr_assert_lt(k, 33, "a walk of 32 or more references: the sum is a bound only");
		cr_assert_eq(walks, (unsigned long long)vmmrun_num(&r, row, "walks"),
			     "%s/%s/%s: histogram holds %llu walks, walks says %.0f",
			     vmmrun_get(&r, row, "workload"), vmmrun_get(&r, row, "mmu"),
			     vmmrun_get(&r, row, "pages"), walks, vmmrun_num(&r, row, "walks"));
		cr_assert_eq(refs, (unsigned long long)vmmrun_num(&r, row, "walk_refs"),
			     "%s/%s/%s: histogram's walks made %llu references, walk_refs says %.0f",
			     vmmrun_get(&r, row, "workload"), vmmrun_get(&r, row, "mmu"),
			     vmmrun_get(&r, row, "pages"), refs, vmmrun_num(&r, row, "walk_refs"));
		/* Only shadow paging's handlers read and write tables in software. */
		n = (unsigned long long)(vmmrun_num(&r, row, "vmm_refs_l1") +
					 vmmrun_num(&r, row, "vmm_refs_l2") +
					 vmmrun_num(&r, row, "vmm_refs_llc") +
					 vmmrun_num(&r, row, "vmm_refs_dram"));
		if (strcmp(vmmrun_get(&r, row, "mmu"), "shadow") == 0)
			cr_assert_gt(n, 0, "shadow handlers made no table references");
		else
			cr_assert_eq(n, 0, "%s: VMM table references without a VMM handler",
				     vmmrun_get(&r, row, "mmu"));
	}
	vmmrun_free(&r);
}

/* fib's checksum, computed on the host: every value the guest pops off
 * its stack, in order, then the result, FNV-1a folded (micro.c). */
static uint64_t fnv(uint64_t h, uint64_t w)
{
	return (h ^ w) * UINT64_C(0x100000001b3);
}

static uint64_t host_fib(uint64_t n, uint64_t *h)
{
	uint64_t a;

	if (n < 2) {
		*h = fnv(*h, n);
		return n;
	}
	a = host_fib(n - 1, h);
	*h = fnv(*h, n);
	return a + host_fib(n - 2, h);
}

/* The guest's stack loads are what the checksum is made of: a value read
 * through a wrong translation anywhere in the recursion changes it. */
Test(workloads, fib_checksum_is_every_stack_load, .timeout = 120)
{
	const char *args[] = { "--mmu=" MMUS, "--workload=fib", "--param", "n=16",
			       "--quiet", NULL };
	uint64_t h = UINT64_C(0xcbf29ce484222325), want;
	char hex[32];
	struct vmmrun r;
	int row;

	want = host_fib(16, &h);
	cr_assert_eq(want, 987);
	want = fnv(h, want);
	snprintf(hex, sizeof(hex), "0x%016llx", (unsigned long long)want);
	vmmrun(&r, args);
	cr_assert_eq(r.status, 0, "vmm failed: %s", r.err);
	cr_assert_eq(r.nrows, 3);
	for (row = 0; row < r.nrows; row++)
		cr_assert_str_eq(vmmrun_get(&r, row, "checksum"), hex, "%s: checksum %s, host %s",
				 vmmrun_get(&r, row, "mmu"), vmmrun_get(&r, row, "checksum"), hex);
	vmmrun_free(&r);
}

/* The per-iteration table of docs/guest-os.md, from the difference of two
 * run lengths (start-up cancels): 380 PTE writes (fork 42, the parent's
 * two copies 4, the child's copy-on-write 24 and fault-around 136, exit
 * 174), 27 page faults (2 + 25), 13 INVLPGs (one per wp_page_copy: the
 * parent's 2, the child's 11), the same under every MMU. */
Test(workloads, forkwait_iteration_matches_the_derivation, .timeout = 120)
{
	static const char *const mmus[] = { "--mmu=native", "--mmu=ept", "--mmu=shadow" };
	unsigned m;

	for (m = 0; m < 3; m++) {
		const char *a1[] = { mmus[m], "--workload=forkwait", "--param", "iters=100", NULL };
		const char *a2[] = { mmus[m], "--workload=forkwait", "--param", "iters=200", NULL };
		struct vmmrun r1, r2;
		double d;

		vmmrun(&r1, a1);
		vmmrun(&r2, a2);
		cr_assert_eq(r1.status, 0, "vmm failed: %s", r1.err);
		cr_assert_eq(r2.status, 0, "vmm failed: %s", r2.err);
		d = vmmrun_num(&r2, 0, "pte_writes") - vmmrun_num(&r1, 0, "pte_writes");
		cr_assert_eq(d, 100 * 380, "%s: PTE writes per iteration %f", mmus[m], d / 100);
		d = vmmrun_num(&r2, 0, "guest_page_faults") - vmmrun_num(&r1, 0, "guest_page_faults");
		cr_assert_eq(d, 100 * 27, "%s: page faults per iteration %f", mmus[m], d / 100);
		d = vmmrun_num(&r2, 0, "invlpgs") - vmmrun_num(&r1, 0, "invlpgs");
		cr_assert_eq(d, 100 * 13, "%s: INVLPGs per iteration %f", mmus[m], d / 100);
		vmmrun_free(&r1);
		vmmrun_free(&r2);
	}
}
