/*
 * test_run.c - the experiment runner in-process (vmm/run.h): a cell runs
 * without the vmm binary, its row agrees across backends where it must,
 * and run_check refuses what cannot run with one line.
 */
#include <asm/vmx.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "run.h"
#include "spec.h"

static struct profile prof;

static void load(const char *cpu)
{
	char err[512];

	cr_assert_eq(profile_find(&prof, cpu, err, sizeof(err)), 0, "%s", err);
}

static void spec_for(struct run_spec *s, const char *mmu, const char *wl)
{
	spec_defaults(s, &prof, mmu, wl);
}

/* forkwait, 50 iterations, on each backend in one process: the same
 * checksum and guest page faults (the guest's own events), a CR3 write
 * per switch everywhere, exits only where there is a hypervisor. */
Test(run, cells_run_in_process, .timeout = 120)
{
	static const char *const mmus[] = { "native", "shadow", "ept" };
	static struct row rows[3];
	char err[512];
	unsigned i;

	load("skylake");
	for (i = 0; i < 3; i++) {
		struct run_spec s;

		spec_for(&s, mmus[i], "forkwait");
		s.wl_param[0] = 50;
		s.index = i;
		cr_assert_eq(run_check(&s, err, sizeof(err)), 0, "%s: %s", mmus[i], err);
		cr_assert_eq(run_cell(&s, &rows[i], err, sizeof(err)), 0, "%s: %s", mmus[i], err);
		cr_assert_eq(rows[i].cell, i);
		cr_assert_str_eq(rows[i].mmu, mmus[i]);
	}
	for (i = 1; i < 3; i++) {
		cr_assert_eq(rows[i].checksum, rows[0].checksum, "%s checksum differs", mmus[i]);
		cr_assert_eq(rows[i].st.guest_page_faults, rows[0].st.guest_page_faults,
			     "%s guest #PF %llu, native %llu", mmus[i],
			     (unsigned long long)rows[i].st.guest_page_faults,
			     (unsigned long long)rows[0].st.guest_page_faults);
	}
	cr_assert_gt(rows[0].st.guest_page_faults, 50, "forks fault in copy-on-write");
	cr_assert_str_eq(rows[0].host_pages, "-", "native has no host level");
	cr_assert_gt(rows[1].st.exits[EXIT_REASON_CR_ACCESS], 50, "shadow intercepts CR3");
	cr_assert_eq(rows[2].st.exits[EXIT_REASON_CR_ACCESS], 0, "EPT lets CR3 writes be");
}

/* What cannot run is refused before anything is allocated, in one line. */
Test(run, check_refuses_with_one_line)
{
	struct run_spec s;
	char err[512];

	load("phenom2-n620");
	spec_for(&s, "native", "memsweep");
	s.pcid = true;
	cr_assert_eq(run_check(&s, err, sizeof(err)), -1);
	cr_assert(strstr(err, "--param pcid=1: CPU profile phenom2-n620 has no PCIDs") != NULL,
		  "%s", err);
	cr_assert_null(strchr(err, '\n'), "one line: %s", err);
	spec_for(&s, "ept", "memsweep");
	s.guest_mem = UINT64_C(1) << prof.maxphyaddr;
	cr_assert_eq(run_check(&s, err, sizeof(err)), -1);
	cr_assert(strstr(err, "maxphyaddr") != NULL, "%s", err);
}

/* 1G host pages are backed lazily: a guest touching 4 MiB of a 1 GiB
 * host page does not make the host zero, or keep resident, the rest of
 * it (the p2m hands out fresh memory, zero on first touch). */
Test(run, host_1g_pages_cost_what_the_guest_touches, .timeout = 120)
{
	struct rusage before, after;
	struct run_spec s;
	struct row *r = calloc(1, sizeof(*r));
	char err[512];

	cr_assert_not_null(r);
	load("skylake");
	cr_assert(prof.gbpages, "skylake has 1G pages");
	spec_for(&s, "shadow", "memsweep");
	s.host_pages = LEVEL_1G;
	s.guest_mem = GiB;
	s.wl_param[0] = 4 * MiB;	/* size */
	s.wl_param[1] = 1;		/* passes */
	cr_assert_eq(run_check(&s, err, sizeof(err)), 0, "%s", err);
	getrusage(RUSAGE_SELF, &before);
	cr_assert_eq(run_cell(&s, r, err, sizeof(err)), 0, "%s", err);
	getrusage(RUSAGE_SELF, &after);
	cr_assert_eq(r->mr.host_pages_backed, 1, "one 1G host page backs the guest");
	/* ru_maxrss is in KiB: well under the 1 GiB page */
	cr_assert_lt(after.ru_maxrss - before.ru_maxrss, 256 * 1024,
		     "max RSS grew %ld KiB for a guest touching ~4 MiB",
		     after.ru_maxrss - before.ru_maxrss);
	free(r);
}
