/*
 * main.c - kvm_shadow: memvirt's shadow backend against Linux KVM's
 * shadow MMU, phase by phase, counter by counter.
 *
 *   test_kvm_shadow [-v] [--seeds=N] [--first-seed=N] [--steps=N] [--phase-len=N]
 *
 * Runs the probe's 17 phases and N random programs on both sides and
 * compares every counter of the mapping (scen.h) at every phase end.
 * Exit status: 0 all equal; 1 a difference (each printed); 2 bad usage;
 * 77 (meson's skip) where /dev/kvm is not KVM's shadow MMU.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen.h"

#define SKIP	77
#define KVM_RUNS	3	/* KVM runs of one scenario at most */

struct tally {
	uint64_t	phases;
	uint64_t	diffs;			/* phase-counter pairs that differ */
	int64_t		kvm[C_NR], mv[C_NR];	/* totals */
	uint64_t	bad[C_NR];		/* phases where this counter differs */
	uint64_t	kvm_reruns;		/* KVM runs repeated (not reproducible) */
	uint64_t	same[C_NR];		/* phases where this counter is equal */
};

static bool verbose, show_all;
static unsigned kvm_runs = KVM_RUNS;

static void print_phase(const char *name, const struct scen_counts *k,
			const struct scen_counts *m)
{
	unsigned c;

	printf("  %-44s", name);
	for (c = 0; c < C_NR; c++) {
		if (c < C_NCOMPARED && k->v[c] != m->v[c])
			printf(" %s=%lld/%lld!", scen_ctr_name[c], (long long)k->v[c],
			       (long long)m->v[c]);
		else if (k->v[c] && c < C_NCOMPARED)
			printf(" %s=%lld", scen_ctr_name[c], (long long)k->v[c]);
		else if (c >= C_NCOMPARED && verbose)
			printf(" (%s=%lld/%lld)", scen_ctr_name[c], (long long)k->v[c],
			       (long long)m->v[c]);
	}
	printf("\n");
}

/* Run s on both sides and compare; -1 when a side could not run. */
static int compare(const struct scen *s, struct tally *t, bool show)
{
	struct scen_counts *k = calloc(s->nphases, sizeof(*k));
	struct scen_counts *m = calloc(s->nphases, sizeof(*m));
	char err[512];
	unsigned p, c, nd = 0, run;
	int ret = -1;

	if (!k || !m) {
		fprintf(stderr, "kvm_shadow: out of memory\n");
		goto out;
	}
	if (scen_run_memvirt(s, m, err, sizeof(err)) < 0) {
		fprintf(stderr, "kvm_shadow: %s: memvirt side: %s\n", s->name, err);
		goto out;
	}
	/* KVM is not always reproducible: the host's page aging clears A
	 * in sptes behind the guest's back (MMU-notifier clear_young), and
	 * a refault KVM would call spurious becomes pf_fixed. A run that
	 * differs is run again; it counts only if KVM repeats it. */
	for (run = 0; run < kvm_runs; run++) {
		if (scen_run_kvm(s, k, err, sizeof(err)) < 0) {
			fprintf(stderr, "kvm_shadow: %s: KVM side: %s\n", s->name, err);
			goto out;
		}
		for (p = 0; p < s->nphases; p++)
			for (c = 0; c < C_NCOMPARED; c++)
				if (k[p].v[c] != m[p].v[c])
					goto again;
		break;
again:
		if (run + 1 < kvm_runs)
			printf("%s: KVM run %u differs; running KVM again\n", s->name, run + 1);
	}
	t->kvm_reruns += run < kvm_runs ? run : run - 1;
	for (p = 0; p < s->nphases; p++) {
		bool differs = false;

		t->phases++;
		for (c = 0; c < C_NR; c++) {
			t->kvm[c] += k[p].v[c];
			t->mv[c] += m[p].v[c];
			t->same[c] += k[p].v[c] == m[p].v[c];
			if (c < C_NCOMPARED && k[p].v[c] != m[p].v[c]) {
				t->bad[c]++;
				t->diffs++;
				differs = true;
			}
		}
		nd += differs;
		if (show || (differs && (verbose || nd <= 3)))
			print_phase(s->phase_name[p], &k[p], &m[p]);
	}
	if (!show)
		printf("%-20s %u phases, %u with differences\n", s->name, s->nphases, nd);
	ret = 0;
out:
	free(k);
	free(m);
	return ret;
}

static void print_tally(const char *what, const struct tally *t)
{
	unsigned c;

	printf("\n%s: %llu phases (KVM runs repeated: %llu)\n", what,
	       (unsigned long long)t->phases, (unsigned long long)t->kvm_reruns);
	printf("  %-20s %10s %10s %12s\n", "counter", "KVM", "memvirt", "phases equal");
	for (c = 0; c < C_NR; c++)
		printf("  %-20s %10lld %10lld %12llu%s\n", scen_ctr_name[c], (long long)t->kvm[c],
		       (long long)t->mv[c], (unsigned long long)t->same[c],
		       c < C_NCOMPARED ? "" : "  (shown, not compared)");
	for (c = 0; c < C_NCOMPARED; c++)
		if (t->bad[c])
			printf("  DIFFERS: %s in %llu phases\n", scen_ctr_name[c],
			       (unsigned long long)t->bad[c]);
}

int main(int argc, char **argv)
{
	unsigned seeds = 20, steps = 1000, plen = 50, first = 1, i;
	struct tally tp = { 0 }, tr = { 0 };
	struct scen s;
	char why[256];
	int a;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "-v") == 0)
			verbose = true;
		else if (strcmp(argv[a], "--show-all") == 0)
			show_all = true;
		else if (strncmp(argv[a], "--seeds=", 8) == 0 && atoi(argv[a] + 8) > 0)
			seeds = (unsigned)atoi(argv[a] + 8);
		else if (strncmp(argv[a], "--steps=", 8) == 0 && atoi(argv[a] + 8) > 0)
			steps = (unsigned)atoi(argv[a] + 8);
		else if (strncmp(argv[a], "--phase-len=", 12) == 0 && atoi(argv[a] + 12) > 0)
			plen = (unsigned)atoi(argv[a] + 12);
		else if (strncmp(argv[a], "--first-seed=", 13) == 0 && atoi(argv[a] + 13) > 0)
			first = (unsigned)atoi(argv[a] + 13);
		else {
			fprintf(stderr, "test_kvm_shadow: unknown argument '%s'\n", argv[a]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!scen_kvm_usable(why, sizeof(why))) {
		printf("SKIP kvm_shadow: %s\n", why);
		return SKIP;
	}
	if (scen_probe(&s) < 0) {
		fprintf(stderr, "kvm_shadow: out of memory\n");
		return 1;
	}
	printf("probe: the reference probe's 17 phases (KVM value; KVM/memvirt! where they differ)\n");
	if (compare(&s, &tp, true) < 0)
		return 1;
	if (tp.kvm[C_PF_EMULATE] <= 0) {
		/* Writes to the guest's own tables never trapped: KVM is not
		 * shadowing them (two-dimensional paging). */
		printf("SKIP kvm_shadow: KVM emulated no guest page-table write: not its shadow MMU\n");
		scen_free(&s);
		return SKIP;
	}
	scen_free(&s);
	print_tally("probe", &tp);
	printf("\n");
	for (i = 0; i < seeds; i++) {
		if (scen_random(&s, first + i, steps, plen) < 0) {
			fprintf(stderr, "kvm_shadow: out of memory\n");
			return 1;
		}
		if (compare(&s, &tr, show_all) < 0)
			return 1;
		scen_free(&s);
	}
	print_tally("random programs", &tr);

	/* The comparison must be able to fail: memvirt without KVM's
	 * prefetch has to show differences on the same programs. */
	{
		struct tally tb = { 0 };

		scen_memvirt_no_prefetch = true;
		kvm_runs = 1;
		for (i = 0; i < 3 && !tb.diffs; i++) {
			if (scen_random(&s, first + i, steps, plen) < 0)
				return 1;
			printf("(memvirt without prefetch) ");
			if (compare(&s, &tb, false) < 0)
				return 1;
			scen_free(&s);
		}
		scen_memvirt_no_prefetch = false;
		if (!tb.diffs) {
			printf("kvm_shadow: FAIL: memvirt without prefetch shows no difference: "
			       "the comparison cannot see one\n");
			return 1;
		}
		printf("the comparison catches memvirt without prefetch: %llu phase counters "
		       "differ\n", (unsigned long long)tb.diffs);
	}
	if (tp.diffs || tr.diffs) {
		printf("kvm_shadow: FAIL: %llu phase counters differ\n",
		       (unsigned long long)(tp.diffs + tr.diffs));
		return 1;
	}
	printf("kvm_shadow: every compared counter equal in %llu phases\n",
	       (unsigned long long)(tp.phases + tr.phases));
	return 0;
}
