/*
 * test_perf.c - report_perf's numbers on hand-made exits: perf's layout,
 * Min/Max/Avg, and perf's spread (the standard error of the mean over
 * the mean, tools/perf/util/stat.c), 0.00% for a constant cost.
 */
#include <asm/vmx.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* Count one exit of `reason` costing `cycles`, as vcpu_count_exit does. */
static void exit_of(struct vcpu_stats *s, unsigned reason, double cycles)
{
	s->exits[reason]++;
	s->exit_cycles[reason] += cycles;
	vmm_exit_sample(&s->exit_dist[reason], s->exits[reason] == 1, cycles);
}

static char *perf_text(const struct row *r, enum report_sort sort)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	report_perf(f, r, sort);
	fclose(f);
	return buf;
}

static void make_row(struct row *r)
{
	memset(r, 0, sizeof(*r));
	r->workload = "w";
	r->mmu = "shadow";
	r->pages = r->host_pages = "4k";
	r->cpu = "c";
	r->clock_hz = 1e6;	/* one cycle is one microsecond */
	r->cyc.total = 1000;
}

Test(perf, constant_cost_is_plus_minus_zero)
{
	struct row r;
	char *t;
	unsigned i;

	make_row(&r);
	for (i = 0; i < 4; i++)
		exit_of(&r.st, EXIT_REASON_EPT_VIOLATION, 100);
	t = perf_text(&r, REPORT_SORT_SAMPLE);
	cr_assert_not_null(strstr(t, "                           EPT_VIOLATION          4   100.00%"
				     "   100.00%    100.00us    100.00us    100.00us ( +-   0.00% )\n"),
			   "%s", t);
	cr_assert_not_null(strstr(t, "\nTotal Samples:4, Total events handled time:400.00us.\n"),
			   "%s", t);
	free(t);
}

Test(perf, varying_cost_gives_perfs_spread)
{
	struct row r;
	char *t;

	make_row(&r);
	/* 1, 2, 3, 4 us: mean 2.5, M2 5, sqrt(5 / 3 / 4) / 2.5 = 25.82% */
	exit_of(&r.st, EXIT_REASON_CR_ACCESS, 1);
	exit_of(&r.st, EXIT_REASON_CR_ACCESS, 4);
	exit_of(&r.st, EXIT_REASON_CR_ACCESS, 2);
	exit_of(&r.st, EXIT_REASON_CR_ACCESS, 3);
	exit_of(&r.st, EXIT_REASON_INVLPG, 50);
	t = perf_text(&r, REPORT_SORT_SAMPLE);
	cr_assert_not_null(strstr(t, "CR_ACCESS          4    80.00%    16.67%      1.00us      4.00us"
				     "      2.50us ( +-  25.82% )\n"), "%s", t);
	/* sample: CR_ACCESS (4) before INVLPG (1); time: INVLPG (50us) first */
	cr_assert_lt(strstr(t, "CR_ACCESS"), strstr(t, "INVLPG"), "%s", t);
	free(t);
	t = perf_text(&r, REPORT_SORT_TIME);
	cr_assert_lt(strstr(t, "INVLPG"), strstr(t, "CR_ACCESS"), "%s", t);
	cr_assert_not_null(strstr(t, "\nTotal Samples:5, Total events handled time:60.00us.\n"),
			   "%s", t);
	free(t);
}
