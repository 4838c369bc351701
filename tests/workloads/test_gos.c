/*
 * test_gos.c - the guest OS's processes: fork semantics, copy-on-write
 * isolation, no frame leaked by fork/exit/wait, the number of guest PTE
 * writes a fork makes, and a segfaulting child.
 */
#include <criterion/criterion.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "workloads.h"

struct guest {
	struct profile	prof;
	struct vm	vm;
	struct gos	os;
	jmp_buf		jb;
};

static struct guest *guest_up(const char *mmu)
{
	struct guest *g = calloc(1, sizeof(*g));
	struct vm_config cfg = { 0 };
	char err[512];

	cr_assert_not_null(g);
	cr_assert_eq(profile_find(&g->prof, "skylake", err, sizeof(err)), 0, "%s", err);
	cfg.ops = vmm_backend_find(mmu);
	cr_assert_not_null(cfg.ops);
	cfg.prof = &g->prof;
	cfg.guest_mem = 64 * MiB;
	cfg.vmm_mem = 64 * MiB;
	cfg.guest_level = LEVEL_4K;
	cfg.host_level = LEVEL_4K;
	cfg.numa_node = -1;
	cr_assert_eq(vm_create(&g->vm, &cfg, err, sizeof(err)), 0, "%s", err);
	g->vm.cpu.stop_jmp = &g->jb;
	cr_assert_eq(gos_boot(&g->os, &g->vm.cpu, LEVEL_4K, false, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(gos_exec_image(&g->os), 0);
	return g;
}

static void guest_down(struct guest *g)
{
	gos_shutdown(&g->os);
	vm_destroy(&g->vm);
	free(g);
}

static gva_t var(void)
{
	return gos_image_addr(IMG_PROG_DATA, 0) + 0x10;
}

/* The child reports what it saw (exit status) and scribbles. */
static int child_reads_then_writes(struct gos *os, void *arg)
{
	uint64_t v = g_ld64(os->cpu, var());

	(void)arg;
	g_st64(os->cpu, var(), 0xdeadbeef);
	g_st64(os->cpu, gos_image_addr(IMG_STACK, 0) + 0x30, 0xdeadbeef);
	g_st64(os->cpu, gos_image_addr(IMG_HEAP, 0), 0xdeadbeef);
	return (int)(v & 0xff);
}

Test(gos, fork_isolates_parent_and_child)
{
	struct guest *g = guest_up("native");
	struct vcpu *cpu = &g->vm.cpu;
	int status = -1, pid, waited;

	cr_assert_eq(setjmp(g->jb), 0, "VM stopped: %s", cpu->stop_msg);
	gos_user(&g->os);
	g_st64(cpu, var(), 0x1234567842);
	g_st64(cpu, gos_image_addr(IMG_STACK, 0) + 0x30, 7);
	g_st64(cpu, gos_image_addr(IMG_HEAP, 0), 9);
	pid = gos_fork(&g->os, child_reads_then_writes, NULL);
	cr_assert_gt(pid, 1);
	waited = gos_wait(&g->os, &status);
	cr_assert_eq(waited, pid);
	cr_assert_eq(status, 0x42, "the child saw %#x, not the parent's data", status);
	cr_assert_eq(g_ld64(cpu, var()), 0x1234567842, "child's write leaked into the parent");
	cr_assert_eq(g_ld64(cpu, gos_image_addr(IMG_STACK, 0) + 0x30), 7);
	cr_assert_eq(g_ld64(cpu, gos_image_addr(IMG_HEAP, 0)), 9);
	cr_assert_eq(gos_wait(&g->os, &status), -1, "no more children");
	guest_down(g);
}

/* A parent's write after fork is invisible to the child. */
static int child_checks_its_copy(struct gos *os, void *arg)
{
	(void)arg;
	return g_ld64(os->cpu, var()) == 0x1111 ? 0 : 1;
}

Test(gos, parent_write_after_fork_invisible_to_child)
{
	struct guest *g = guest_up("native");
	struct vcpu *cpu = &g->vm.cpu;
	int status = -1;

	cr_assert_eq(setjmp(g->jb), 0, "VM stopped: %s", cpu->stop_msg);
	gos_user(&g->os);
	g_st64(cpu, var(), 0x1111);
	cr_assert_gt(gos_fork(&g->os, child_checks_its_copy, NULL), 1);
	g_st64(cpu, var(), 0x2222);		/* COW: the parent copies */
	cr_assert_gt(gos_wait(&g->os, &status), 1);
	cr_assert_eq(status, 0, "the child saw the parent's later write");
	guest_down(g);
}

/* fork/exit/wait returns every frame: 10,000 forkwait iterations leave
 * the allocator's free count where one iteration left it. */
Test(gos, forkwait_leaks_no_frame, .timeout = 120)
{
	struct guest *g = guest_up("native");
	uint64_t param[WL_MAX_PARAMS] = { 1, 0 };
	uint64_t free1;

	cr_assert_eq(setjmp(g->jb), 0, "VM stopped: %s", g->vm.cpu.stop_msg);
	(void)wl_forkwait.run(&g->os, param);
	free1 = gos_frames_free(&g->os);
	param[0] = 10000;
	(void)wl_forkwait.run(&g->os, param);
	cr_assert_eq(gos_frames_free(&g->os), free1, "%lld frames leaked",
		     (long long)free1 - (long long)gos_frames_free(&g->os));
	cr_assert_eq(g->os.st.forks, 10001);
	cr_assert_eq(g->os.st.exits, 10001);
	guest_down(g);
}

static int child_exits(struct gos *os, void *arg)
{
	(void)os;
	(void)arg;
	return 0;
}

/*
 * PTE writes per fork, from the mechanism (docs/guest-os.md derives the
 * same count by hand): the child's PML4 gets the kernel half's present
 * entries (2: the direct map and the kernel text); every present leaf of
 * a VMA fork copies (vma_needs_copy: VMAs with anonymous pages, and raw
 * PFN maps such as vvar; file-backed never-written ones are skipped) is
 * written in the child; every one of those that is writable in the
 * parent is write-protected there (one more write); each page table the
 * child needs is written into its parent table (one write per distinct
 * PML4, PDPT and PD entry used).
 */
Test(gos, pte_writes_per_fork_match_the_image)
{
	struct guest *g = guest_up("native");
	struct gos *os = &g->os;
	struct gos_proc *p;
	uint64_t leaves = 0, wprotect = 0, before, l4[4] = { 0 }, n4 = 0;
	uint64_t l3[8], n3 = 0, l2[16], n2 = 0, kernel = 0, copies, reuses;
	unsigned i;
	int status;

	cr_assert_eq(setjmp(g->jb), 0, "VM stopped: %s", g->vm.cpu.stop_msg);
	p = os->cur;
	for (i = 256; i < 512; i++)
		kernel += (gos_pte_read(os, os->kpml4, i) & PTE_P) != 0;
	cr_assert_eq(kernel, 2, "kernel half: the direct map and the kernel text");
	for (i = 0; i < p->nvma; i++) {
		const struct gos_vma *v = &p->vma[i];
		gva_t va;

		if (v->file != GOS_FILE_NONE && !v->anon && !(v->prot & VMA_PFNMAP))
			continue;
		for (va = v->start; va < v->end; va += PAGE_SIZE) {
			gpa_t t;
			unsigned idx, level, k;
			uint64_t pte, key;

			if (!gos_lookup(os, p->pml4, va, &t, &idx, &level, &pte))
				continue;
			leaves++;
			if ((pte & PTE_W) && (v->prot & VMA_WRITE) && !(v->prot & VMA_SHARED))
				wprotect++;
			key = va >> 39;
			for (k = 0; k < n4 && l4[k] != key; k++)
				;
			if (k == n4)
				l4[n4++] = key;
			key = va >> 30;
			for (k = 0; k < n3 && l3[k] != key; k++)
				;
			if (k == n3)
				l3[n3++] = key;
			key = va >> 21;
			for (k = 0; k < n2 && l2[k] != key; k++)
				;
			if (k == n2)
				l2[n2++] = key;
		}
	}
	cr_assert_eq(leaves, 27, "the image's private working set is 25 pages, and 2 of vvar");
	cr_assert_eq(n4 + n3 + n2, 11, "the child needs 3 PDPTs, 3 PDs and 5 page tables");
	before = os->st.pte_writes;
	copies = os->st.cow_copies;
	reuses = os->st.cow_reuses;
	gos_user(os);
	cr_assert_gt(gos_fork(os, child_exits, NULL), 1);
	/* On the way out, the kernel's rseq update writes the parent's
	 * struct rseq, now copy-on-write: wp_page_copy, two writes. */
	cr_assert_eq(os->st.cow_copies - copies, 1, "the parent's rseq page is copied");
	cr_assert_eq(os->st.cow_reuses - reuses, 0);
	before += 2;
	cr_assert_eq(os->st.pte_writes - before, kernel + leaves + wprotect + n4 + n3 + n2,
		     "fork wrote %llu entries; expected 2 + %llu leaves + %llu write-protects"
		     " + %llu tables", (unsigned long long)(os->st.pte_writes - before),
		     (unsigned long long)leaves, (unsigned long long)wprotect,
		     (unsigned long long)(n4 + n3 + n2));
	cr_assert_gt(gos_wait(os, &status), 1);
	guest_down(g);
}

/* A child's bad access kills it with SIGSEGV; the parent's wait reports
 * it and the VM goes on forking. */
Test(gos, segfault_kills_only_the_child)
{
	struct guest *g = guest_up("native");
	uint64_t param[WL_MAX_PARAMS] = { 6, 3 };	/* every 3rd child segfaults */
	int status = -1;

	cr_assert_eq(setjmp(g->jb), 0, "VM stopped: %s", g->vm.cpu.stop_msg);
	(void)wl_forkwait.run(&g->os, param);
	cr_assert_eq(g->os.st.segfaults, 2);
	cr_assert_eq(g->os.st.forks, 6);
	cr_assert(strstr(g->os.log, "segfault at 0x10") != NULL, "log: %s", g->os.log);
	gos_user(&g->os);
	cr_assert_gt(gos_fork(&g->os, child_exits, NULL), 1);
	cr_assert_gt(gos_wait(&g->os, &status), 1);
	cr_assert_eq(status, 0);
	guest_down(g);
}

static int child_segv(struct gos *os, void *arg)
{
	(void)arg;
	(void)g_ld64(os->cpu, 0x10);
	return 0;
}

Test(gos, wait_reports_sigsegv)
{
	struct guest *g = guest_up("native");
	int status = -1;

	cr_assert_eq(setjmp(g->jb), 0, "VM stopped: %s", g->vm.cpu.stop_msg);
	gos_user(&g->os);
	cr_assert_gt(gos_fork(&g->os, child_segv, NULL), 1);
	cr_assert_gt(gos_wait(&g->os, &status), 1);
	cr_assert_eq(status, 128 + 11, "status %d", status);
	guest_down(g);
}

/* A fetch from the stack (NX) is an instruction-fetch #PF (I/D set in
 * the error code) that kills the child; fetches are counted apart from
 * data accesses. */
static int child_runs_its_stack(struct gos *os, void *arg)
{
	(void)arg;
	g_fetch(os->cpu, gos_image_addr(IMG_STACK, 0));
	return 0;
}

Test(gos, fetch_from_nx_stack_faults_with_id_bit)
{
	struct guest *g = guest_up("native");
	struct vcpu *cpu = &g->vm.cpu;
	uint64_t acc, fetches;
	int status = -1;

	cr_assert_eq(setjmp(g->jb), 0, "VM stopped: %s", g->vm.cpu.stop_msg);
	gos_user(&g->os);
	acc = cpu->st.accesses;
	fetches = cpu->st.ifetches;
	g_fetch(cpu, gos_image_addr(IMG_PROG_TEXT, 0));
	cr_assert_eq(cpu->st.ifetches, fetches + 1);
	cr_assert_eq(cpu->st.accesses, acc, "a fetch is not a data access");
	cr_assert_gt(gos_fork(&g->os, child_runs_its_stack, NULL), 1);
	cr_assert_gt(gos_wait(&g->os, &status), 1);
	cr_assert_eq(status, 128 + 11, "status %d", status);
	cr_assert(strstr(g->os.log, "error 0x15") != NULL, "log: %s", g->os.log);
	guest_down(g);
}

/* The child's first fetch in libc text is one fault that maps the 64 KiB
 * window around it (fault-around: 15 pages beside the faulting one, all
 * in the page cache), and the pages' struct page counts in guest RAM
 * gain the child's references. */
static int child_fetches_libc(struct gos *os, void *arg)
{
	uint64_t *out = arg;

	out[0] = os->cpu->st.guest_page_faults;
	out[1] = os->st.fault_around;
	g_fetch(os->cpu, gos_image_addr(IMG_LIBC_TEXT, 174));
	g_fetch(os->cpu, gos_image_addr(IMG_LIBC_TEXT, 168));
	g_fetch(os->cpu, gos_image_addr(IMG_LIBC_TEXT, 183));
	out[2] = os->cpu->st.guest_page_faults;
	out[3] = os->st.fault_around;
	gos_kernel(os);		/* the memmap is kernel memory */
	out[4] = gos_frame_refs(os, os->page_cache[GOS_FILE_LIBC][38 + 170]);
	gos_user(os);
	return 0;
}

Test(gos, text_fault_maps_its_window)
{
	struct guest *g = guest_up("native");
	uint64_t out[5] = { 0 }, before;
	int status = -1;

	cr_assert_eq(setjmp(g->jb), 0, "VM stopped: %s", g->vm.cpu.stop_msg);
	before = gos_frame_refs(&g->os, g->os.page_cache[GOS_FILE_LIBC][38 + 170]);
	cr_assert_eq(before, 2, "the page cache's reference and the parent's mapping");
	gos_user(&g->os);
	cr_assert_gt(gos_fork(&g->os, child_fetches_libc, out), 1);
	cr_assert_gt(gos_wait(&g->os, &status), 1);
	cr_assert_eq(status, 0, "status %d: %s", status, g->os.log);
	cr_assert_eq(out[2] - out[0], 1, "one fault for the window, %llu",
		     (unsigned long long)(out[2] - out[0]));
	cr_assert_eq(out[3] - out[1], 15, "fault-around mapped %llu pages",
		     (unsigned long long)(out[3] - out[1]));
	gos_kernel(&g->os);
	cr_assert_eq(out[4], before + 1, "the child's mapping is a reference (%llu, %llu)",
		     (unsigned long long)out[4], (unsigned long long)before);
	cr_assert_eq(gos_frame_refs(&g->os, g->os.page_cache[GOS_FILE_LIBC][38 + 170]), before,
		     "and exit dropped it");
	guest_down(g);
}
