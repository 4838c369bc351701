/*
 * test_kvm_cols.c - the CSV's kvm_ columns and --format=kvm-stat: KVM's
 * statistic names, in order, together, after the columns that came before
 * them (walk_refs_hist and cell were appended later), each equal to the
 * memvirt counters it is defined from (docs/kvm-stats.md), and the
 * kvm-stat lines in kvm_stat's batch format with the same values.
 * (That they count what KVM counts is the kvm_shadow test's job.)
 */
#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../e2e/vmmrun.h"

static const char *const names[] = {
	"exits", "pf_taken", "pf_fixed", "pf_guest", "pf_emulate", "pf_spurious",
	"mmu_flooded", "mmu_pde_zapped", "mmu_shadow_zapped", "mmu_cache_miss",
	"mmu_unsync", "invlpg", "pages_4k", "pages_2m", "pages_1g",
};
#define N_NAMES	(sizeof(names) / sizeof(names[0]))

static double kv(const struct vmmrun *r, int row, const char *name)
{
	char col[64];

	snprintf(col, sizeof(col), "kvm_%s", name);
	cr_assert(vmmrun_get(r, row, col), "no column %s", col);
	return vmmrun_num(r, row, col);
}

Test(kvm_cols, names_at_the_end_and_defined_values, .timeout = 120)
{
	static const char *const args[] = { "--mmu=native,shadow,ept", "--workload=forkwait",
					    "--param", "iters=40", "--quiet", NULL };
	struct vmmrun r;
	unsigned i;
	int row;

	vmmrun(&r, args);
	cr_assert_eq(r.status, 0, "vmm failed: %s", r.err);
	cr_assert_eq(r.nrows, 3);
	{
		int first = -1, c;

		for (c = 0; c < r.ncols && first < 0; c++)
			if (strncmp(r.col[c], "kvm_", 4) == 0)
				first = c;
		cr_assert_geq(first, 0, "no kvm_ column");
		/* after the cycle stack's columns, which precede them */
		cr_expect_str_eq(r.col[first - 1], "cycles_syscall");
		cr_assert_leq(first + (int)N_NAMES, r.ncols);
		for (i = 0; i < N_NAMES; i++) {
			char col[64];

			snprintf(col, sizeof(col), "kvm_%s", names[i]);
			cr_expect_str_eq(r.col[first + (int)i], col);
		}
		for (c = first + (int)N_NAMES; c < r.ncols; c++)
			cr_expect(strncmp(r.col[c], "kvm_", 4) != 0, "stray %s", r.col[c]);
	}
	for (i = 0; i < N_NAMES; i++)
		cr_expect_eq(kv(&r, 0, names[i]), 0, "native kvm_%s is not 0", names[i]);
	for (row = 1; row < 3; row++) {
		cr_expect_eq(kv(&r, row, "exits"), vmmrun_num(&r, row, "exits"));
		cr_expect_eq(kv(&r, row, "pf_taken"),
			     vmmrun_num(&r, row, "exit_exception_nmi") +
			     vmmrun_num(&r, row, "exit_ept_violation"));
		cr_expect_eq(kv(&r, row, "pf_guest"), vmmrun_num(&r, row, "true_faults"));
		cr_expect_eq(kv(&r, row, "pf_emulate"), vmmrun_num(&r, row, "trace_faults"));
		cr_expect_eq(kv(&r, row, "invlpg"), vmmrun_num(&r, row, "exit_invlpg"));
	}
	/* shadow: a hidden fault is fixed or spurious; every #PF exit is one
	 * of fixed, spurious, guest or emulated (WP=0 stores: none here). */
	cr_expect_eq(kv(&r, 1, "pf_fixed") + kv(&r, 1, "pf_spurious"),
		     vmmrun_num(&r, 1, "hidden_faults"));
	cr_expect_eq(kv(&r, 1, "pf_taken"), kv(&r, 1, "pf_fixed") + kv(&r, 1, "pf_spurious") +
		     kv(&r, 1, "pf_guest") + kv(&r, 1, "pf_emulate"));
	cr_expect_gt(kv(&r, 1, "mmu_cache_miss"), 0);
	cr_expect_geq(kv(&r, 1, "mmu_shadow_zapped"), kv(&r, 1, "mmu_flooded"));
	cr_expect_gt(kv(&r, 1, "pages_4k"), 0);
	/* ept: every EPT violation backs a page with one 4K leaf */
	cr_expect_eq(kv(&r, 2, "pf_fixed"), vmmrun_num(&r, 2, "exit_ept_violation"));
	cr_expect_eq(kv(&r, 2, "pages_4k"), vmmrun_num(&r, 2, "host_pages_backed"));
	cr_expect_eq(kv(&r, 2, "pf_guest"), 0);
	vmmrun_free(&r);
}

Test(kvm_cols, kvm_stat_format, .timeout = 120)
{
	static const char *const csv[] = { "--mmu=shadow", "--workload=forkwait",
					   "--param", "iters=40", "--quiet", NULL };
	static const char *const ks[] = { "--mmu=shadow", "--workload=forkwait",
					  "--param", "iters=40", "--quiet",
					  "--format=kvm-stat", NULL };
	struct vmmrun a, b;
	regex_t re;
	char *line, *save = NULL, prev[64] = "";
	unsigned n = 0;

	vmmrun(&a, csv);
	vmmrun(&b, ks);
	cr_assert_eq(a.status, 0, "%s", a.err);
	cr_assert_eq(b.status, 0, "%s", b.err);
	/* kvm_stat batch(): '%-42s%10d%10d' % (name, value, delta) */
	cr_assert_eq(regcomp(&re, "^([a-z0-9_]+) +([0-9]+) +([0-9]+)$", REG_EXTENDED), 0);
	for (line = strtok_r(b.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		regmatch_t m[4];
		char name[64], col[80];

		cr_assert_eq(strlen(line), 62, "not %%-42s%%10d%%10d: '%s'", line);
		cr_assert_eq(regexec(&re, line, 4, m, 0), 0, "line '%s'", line);
		snprintf(name, sizeof(name), "%.*s", (int)(m[1].rm_eo - m[1].rm_so), line);
		cr_expect_gt(strcmp(name, prev), 0, "not sorted: %s after %s", name, prev);
		snprintf(prev, sizeof(prev), "%s", name);
		snprintf(col, sizeof(col), "kvm_%s", name);
		cr_expect_eq(strtod(line + m[2].rm_so, NULL), vmmrun_num(&a, 0, col), "%s", name);
		cr_expect_eq(strtod(line + m[3].rm_so, NULL), vmmrun_num(&a, 0, col), "%s", name);
		n++;
	}
	cr_expect_eq(n, N_NAMES);
	regfree(&re);
	vmmrun_free(&a);
	vmmrun_free(&b);
}
