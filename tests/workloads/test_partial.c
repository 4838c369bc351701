/*
 * test_partial.c - a guest page that lies partly beyond guest RAM, as
 * the hardware treats it: the part backed by RAM is RAM (reads what the
 * direct map reads, writes land in RAM), the rest reads all ones and
 * drops writes. A 1G page at gpa 0 over 64 MiB of RAM, on every MMU.
 */
#include <criterion/criterion.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "workloads.h"

#define RAM	(64 * MiB)
#define VA	UINT64_C(0x0000004000000000)	/* 256 GiB: a free, 1G-aligned user slot */

struct guest {
	struct profile	prof;
	struct vm	vm;
	struct gos	os;
	jmp_buf		jb;
};

/* check_mmu - the checks below on one MMU; returns how many addresses it
 * checked (each check asserts), for the test body to assert too. */
static unsigned check_mmu(const char *mmu)
{
	struct guest *g = calloc(1, sizeof(*g));
	struct vm_config cfg = { 0 };
	struct vcpu *cpu;
	char err[512];
	uint64_t v, before;
	static const uint64_t in_ram[] = { 0x1000, 0x123458, RAM / 2, RAM - 8 };
	static const uint64_t beyond[] = { RAM, RAM + 8, 512 * MiB, GiB - 8 };
	size_t i;

	cr_assert_not_null(g);
	cr_assert_eq(profile_find(&g->prof, "skylake", err, sizeof(err)), 0, "%s", err);
	cr_assert(g->prof.gbpages, "skylake has 1G pages");
	cfg.ops = vmm_backend_find(mmu);
	cr_assert_not_null(cfg.ops);
	cfg.prof = &g->prof;
	cfg.guest_mem = RAM;
	cfg.vmm_mem = strcmp(mmu, "native") == 0 ? 0 : 64 * MiB;
	cfg.guest_level = LEVEL_4K;
	cfg.host_level = LEVEL_4K;
	cfg.numa_node = -1;
	cr_assert_eq(vm_create(&g->vm, &cfg, err, sizeof(err)), 0, "%s", err);
	cpu = &g->vm.cpu;
	cpu->stop_jmp = &g->jb;
	if (setjmp(g->jb))
		cr_assert_fail("%s: VM stopped: %s", mmu, cpu->stop_msg);
	cr_assert_eq(gos_boot(&g->os, cpu, LEVEL_4K, false, err, sizeof(err)), 0, "%s", err);
	gos_kernel(&g->os);
	/* a supervisor 1G leaf at VA for gpa 0 .. 1G, A and D set */
	cr_assert_eq(gos_map_page(&g->os, cpu->mmu.sregs.cr3 & PTE_ADDR_MASK, VA, LEVEL_1G,
				  PTE_P | PTE_W | PTE_A | PTE_D | PTE_PS), 0);
	vcpu_invlpg(cpu, VA);

	for (i = 0; i < sizeof(in_ram) / sizeof(in_ram[0]); i++) {
		uint64_t dm = g_ld64(cpu, gos_dmap(&g->os, in_ram[i]));

		v = g_ld64(cpu, VA + in_ram[i]);
		cr_assert_eq(v, dm, "%s: gpa %#lx through the 1G page reads %#lx, RAM holds "
			     "%#lx", mmu, (unsigned long)in_ram[i], (unsigned long)v,
			     (unsigned long)dm);
		/* a write through the page lands in RAM (then put back) */
		g_st64(cpu, VA + in_ram[i], dm ^ UINT64_C(0x5a5a5a5a00ff00ff));
		cr_assert_eq(g_ld64(cpu, gos_dmap(&g->os, in_ram[i])),
			     dm ^ UINT64_C(0x5a5a5a5a00ff00ff), "%s: write at gpa %#lx lost", mmu,
			     (unsigned long)in_ram[i]);
		g_st64(cpu, VA + in_ram[i], dm);
		cr_assert_eq(g_ld64(cpu, gos_dmap(&g->os, in_ram[i])), dm);
	}
	before = cpu->st.unbacked_accesses;
	for (i = 0; i < sizeof(beyond) / sizeof(beyond[0]); i++) {
		cr_assert_eq(g_ld64(cpu, VA + beyond[i]), UINT64_MAX, "%s: gpa %#lx beyond RAM "
			     "does not read all ones", mmu, (unsigned long)beyond[i]);
		g_st64(cpu, VA + beyond[i], 0x1234);
		cr_assert_eq(g_ld64(cpu, VA + beyond[i]), UINT64_MAX, "%s: a write beyond RAM "
			     "stuck at gpa %#lx", mmu, (unsigned long)beyond[i]);
	}
	cr_assert_eq(cpu->st.unbacked_accesses - before, 3 * 4,
		     "%s: every access beyond RAM is counted unbacked", mmu);
	/* RAM is still RAM after the accesses beyond it (the TLB holds no
	 * entry that spans both) */
	v = g_ld64(cpu, VA + 0x1000);
	cr_assert_eq(v, g_ld64(cpu, gos_dmap(&g->os, 0x1000)), "%s", mmu);
	gos_shutdown(&g->os);
	vm_destroy(&g->vm);
	free(g);
	return (unsigned)(sizeof(in_ram) / sizeof(in_ram[0]) + sizeof(beyond) / sizeof(beyond[0]));
}

/* 4 addresses in RAM and 4 beyond it, through one 1G page. */
Test(partial_page, native)
{
	cr_assert_eq(check_mmu("native"), 8);
}

Test(partial_page, shadow)
{
	cr_assert_eq(check_mmu("shadow"), 8);
}

Test(partial_page, ept)
{
	cr_assert_eq(check_mmu("ept"), 8);
}
