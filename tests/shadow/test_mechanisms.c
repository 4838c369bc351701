/*
 * test_mechanisms.c - each shadow mechanism, seen from the guest OS:
 * exits only on first touch, large sptes and splinters, the direct map
 * split around page tables, trace faults, A/D emulation, the CR3 root
 * cache, INVLPG and CR4.PGE-toggle resync of unsync tables, the page
 * limit, write-flood unshadowing, true faults with the guest's error
 * code.
 */
#include <asm/vmx.h>
#include <criterion/criterion.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "coh.h"
#include "shadow.h"
#include "vmm.h"
#include "workloads.h"

struct guest {
	struct profile	prof;
	struct vm	vm;
	struct gos	os;
	jmp_buf		jb;
	uint64_t	params[8];
};

struct opts {
	unsigned	user_level;
	unsigned	host_level;
	uint64_t	unsync;
	uint64_t	pages_max;
	uint64_t	roots;
};

static struct guest *up(struct opts o)
{
	struct guest *g = calloc(1, sizeof(*g));
	struct vm_config cfg = { 0 };
	char err[512];

	cr_assert_not_null(g);
	cr_assert_eq(profile_find(&g->prof, "skylake", err, sizeof(err)), 0, "%s", err);
	g->params[SHADOW_P_UNSYNC] = o.unsync;
	g->params[SHADOW_P_PAGES_MAX] = o.pages_max;
	g->params[SHADOW_P_ROOTS] = o.roots;
	cfg.ops = &shadow_mmu_ops;
	cfg.prof = &g->prof;
	cfg.guest_mem = 64 * MiB;
	cfg.vmm_mem = 16 * MiB;
	cfg.guest_level = o.user_level ? o.user_level : LEVEL_4K;
	cfg.host_level = o.host_level ? o.host_level : LEVEL_4K;
	cfg.numa_node = -1;
	cfg.mmu_params = g->params;
	cr_assert_eq(vm_create(&g->vm, &cfg, err, sizeof(err)), 0, "%s", err);
	g->vm.cpu.stop_jmp = &g->jb;
	if (setjmp(g->jb))
		cr_assert_fail("VM stopped at boot: %s", g->vm.cpu.stop_msg);
	cr_assert_eq(gos_boot(&g->os, &g->vm.cpu, cfg.guest_level, false, err,
			      sizeof(err)), 0, "%s", err);
	return g;
}

/* A VM stop unwinds to the calling test's frame, which fails. */
#define GUARD(g)							\
	do {								\
		if (setjmp((g)->jb))					\
			cr_assert_fail("VM stopped: %s", (g)->vm.cpu.stop_msg); \
	} while (0)

static void down(struct guest *g)
{
	gos_shutdown(&g->os);
	vm_destroy(&g->vm);
	free(g);
}

static uint64_t exits(const struct guest *g)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < VMM_NR_EXIT_REASONS; i++)
		n += g->vm.cpu.st.exits[i];
	return n;
}

/* Guest memory read through the VMM's map, no side effects. */
static int gm_read(void *ctx, uint64_t gpa, unsigned level, uint64_t *v)
{
	struct guest *g = ctx;
	bool backed;
	hpa_t hpa;

	(void)level;
	*v = 0;
	if (gpa + 8 > g->vm.cpu.mmu.hmem.guest_size)
		return WALK_MEM_NONE;
	hpa = shadow_p2m_lookup(&g->vm.cpu.mmu, gpa, &backed);
	if (backed)
		memcpy(v, g->vm.cpu.mmu.hmem.base + hpa, 8);
	return WALK_MEM_OK;
}

static int gm_set(void *ctx, uint64_t gpa, unsigned level, uint64_t bits)
{
	(void)ctx; (void)gpa; (void)level; (void)bits;
	return WALK_MEM_OK;
}

/* The guest's walk of va (read, supervisor), leaving no trace. */
static struct walk_req gwalk(struct guest *g, gva_t va)
{
	struct walk_mem mem = { gm_read, gm_set, g };
	struct walk_req r = {
		.fmt = WALK_FMT_X86_64, .addr = va, .root = g->vm.cpu.mmu.sregs.cr3,
		.access = ACC_READ, .mode = &g->vm.cpu.mmu.mode, .mem = &mem,
	};

	cr_assert_eq(walk_run(&r), WALK_OK, "guest does not map %#lx", (unsigned long)va);
	r.mem = NULL;
	return r;
}

/* gpa of the leaf gpte mapping va. */
static gpa_t leaf_gpte(struct guest *g, gva_t va)
{
	struct walk_req r = gwalk(g, va);

	return r.table[r.level] + 8 * WALK_INDEX(va, r.level);
}

static uint64_t gpte_val(struct guest *g, gpa_t gpa)
{
	uint64_t v;

	gm_read(g, gpa, 1, &v);
	return v;
}

/* A TLB miss handled to the end: the translation the shadow gives. */
static enum mmu_result fill(struct guest *g, gva_t va, unsigned acc, struct mmu_fault *f)
{
	return (enum mmu_result)coh_fill(&g->vm.cpu.mmu, va, acc, f);
}

static struct mmu_report report(const struct guest *g)
{
	struct mmu_report r = { 0 };

	shadow_mmu_ops.report(&g->vm.cpu.mmu, &r);
	return r;
}

static void audit(const struct guest *g)
{
	char msg[256];

	cr_assert_eq(shadow_audit(&g->vm.cpu.mmu, msg, sizeof(msg)), 0, "audit: %s", msg);
}

/* 8 MiB outruns the TLB: pages re-walk every pass, yet after the first
 * touch every walk finds its spte; no exit per iteration. */
Test(shadow, exits_on_first_touch_only)
{
	struct guest *g = up((struct opts){ .unsync = 1 });
	GUARD(g);
	const uint64_t len = 8 * MiB, pages = len / PAGE_SIZE;
	gva_t a = gos_mmap_anon(&g->os, len, VMA_READ | VMA_WRITE);
	uint64_t p, pass, e1, w1, sum = 0;

	gos_user(&g->os);
	for (p = 0; p < pages; p++)
		g_st64(&g->vm.cpu, a + p * PAGE_SIZE, p);
	e1 = exits(g);
	w1 = g->vm.cpu.st.walks;
	cr_assert_eq(g->vm.cpu.st.true_faults, pages, "one true fault (demand zero) per page");
	cr_assert_geq(g->vm.cpu.st.hidden_faults, pages, "a hidden fault per page at least");
	cr_assert_leq(e1, 4 * pages, "%lu exits for %lu pages", (unsigned long)e1,
		      (unsigned long)pages);
	for (pass = 0; pass < 4; pass++)
		for (p = 0; p < pages; p++) {
			uint64_t v = g_ld64(&g->vm.cpu, a + p * PAGE_SIZE);

			g_st64(&g->vm.cpu, a + p * PAGE_SIZE, v + 1);
		}
	for (p = 0; p < pages; p++)
		sum += g_ld64(&g->vm.cpu, a + p * PAGE_SIZE);
	gos_kernel(&g->os);
	cr_assert_eq(sum, pages * (pages - 1) / 2 + 4 * pages);
	cr_assert_eq(exits(g), e1, "exits after the first touch: %lu",
		     (unsigned long)(exits(g) - e1));
	cr_assert_gt(g->vm.cpu.st.walks, w1 + pages, "the sweep did walk (beyond TLB reach)");
	audit(g);
	down(g);
}

/* A 2M guest page on 2M host backing: a 2M spte. On 4K backing: 4K.
 * Returns the spte's level. */
static unsigned large_page_on(unsigned host)
{
	struct guest *g = up((struct opts){ .user_level = LEVEL_2M, .host_level = host });
	GUARD(g);
	gva_t a = gos_mmap_anon(&g->os, 4 * MiB, VMA_READ | VMA_WRITE);
	struct mmu_fault f;

	gos_user(&g->os);
	g_st64(&g->vm.cpu, a + 12345 * 8, 7);
	cr_assert_eq(gwalk(g, a).level, LEVEL_2M, "the guest maps 2M");
	cr_assert_eq(fill(g, a + 4096 * 3, ACC_READ | ACC_USER, &f), MMU_OK);
	cr_assert_eq(f.level, host, "host %u: spte level %u", host, f.level);
	cr_assert_eq(g_ld64(&g->vm.cpu, a + 12345 * 8), 7);
	gos_kernel(&g->os);
	audit(g);
	down(g);
	return f.level;
}

Test(shadow, large_page_needs_large_host_page)
{
	cr_assert_eq(large_page_on(LEVEL_4K), LEVEL_4K, "splintered on 4K host pages");
	cr_assert_eq(large_page_on(LEVEL_2M), LEVEL_2M, "a 2M spte on 2M host pages");
}

/*
 * The kernel's direct map is 2M pages. On 2M host backing, a region
 * holding a shadowed guest table is splintered into 4K sptes with the
 * table's read-only; a region with no table keeps its 2M spte.
 */
Test(shadow, direct_map_splits_around_page_tables)
{
	struct guest *g = up((struct opts){ .host_level = LEVEL_2M });
	GUARD(g);
	gpa_t far = g->os.ram - LEVEL_SIZE(LEVEL_2M);	/* the last block: no tables */
	struct mmu_fault f;

	cr_assert_eq(fill(g, GOS_DIRECT_MAP + g->os.cur->pml4, ACC_READ, &f), MMU_OK);
	cr_assert_eq(f.level, LEVEL_4K, "a page table's region splinters");
	cr_assert_eq(f.rights & RIGHT_W, 0, "a shadowed table is write-protected");
	cr_assert_eq(fill(g, GOS_DIRECT_MAP + far + 8, ACC_READ, &f), MMU_OK);
	cr_assert_eq(f.level, LEVEL_2M, "a region without tables stays 2M");
	cr_assert_neq(f.rights & RIGHT_W, 0);
	audit(g);
	down(g);
}

/* A guest write to a shadowed table exits, is emulated, and the spte
 * built from the gpte goes: the next access sees the new gpte. With
 * unsync, the leaf table goes writable instead (one hidden fault). */
/* Returns the exits the two guest table writes took. */
static uint64_t trace_fault_with(uint64_t unsync)
{
	struct guest *g = up((struct opts){ .unsync = unsync });
	GUARD(g);
	gva_t a = gos_mmap_anon(&g->os, 64 * KiB, VMA_READ | VMA_WRITE);
	gpa_t pte;
	uint64_t v, t0, h0, e0, n;
	struct mmu_fault f;

	gos_user(&g->os);
	g_st64(&g->vm.cpu, a, 1);
	g_st64(&g->vm.cpu, a + PAGE_SIZE, 2);
	gos_kernel(&g->os);
	/* A CR3 write resyncs and write-protects every table. */
	vcpu_write_cr3(&g->vm.cpu, g->vm.cpu.mmu.sregs.cr3);
	pte = leaf_gpte(g, a);
	v = gpte_val(g, pte);
	t0 = g->vm.cpu.st.trace_faults;
	h0 = g->vm.cpu.st.hidden_faults;
	e0 = exits(g);
	/* The guest makes page a map page a + 4K's frame. */
	g_st64(&g->vm.cpu, GOS_DIRECT_MAP + pte,
	       (v & ~PTE_ADDR_MASK) | (gpte_val(g, leaf_gpte(g, a + PAGE_SIZE)) &
				       PTE_ADDR_MASK));
	cr_assert_eq(g->vm.cpu.st.trace_faults - t0, unsync ? 0 : 1);
	cr_assert_eq(g->vm.cpu.st.hidden_faults - h0, unsync ? 1 : 0);
	cr_assert_eq(exits(g) - e0, 1);
	cr_assert_neq(gpte_val(g, pte), v, "the store reached guest memory");
	/* A second write to the same table: traced again, or nothing. */
	g_st64(&g->vm.cpu, GOS_DIRECT_MAP + pte + 8 * 300, 0);
	n = exits(g) - e0;
	cr_assert_eq(n, unsync ? 1 : 2);
	/* The architecture wants INVLPG before relying on the change. */
	vcpu_invlpg(&g->vm.cpu, a);
	gos_user(&g->os);
	cr_assert_eq(g_ld64(&g->vm.cpu, a), 2, "page a now shows page a + 4K");
	gos_kernel(&g->os);
	cr_assert_eq(fill(g, a, ACC_READ | ACC_USER, &f), MMU_OK);
	audit(g);
	down(g);
	return n;
}

Test(shadow, trace_fault_emulates_and_zaps)
{
	cr_assert_eq(trace_fault_with(0), 2, "each write to a synced table traces");
	cr_assert_eq(trace_fault_with(1), 1, "unsync: one hidden fault, then writable");
}

/* A read maps read-only (the gpte's D is clear); the first write exits
 * once more to set D, exactly as native leaves it. */
Test(shadow, dirty_bit_takes_a_second_hidden_fault)
{
	struct guest *g = up((struct opts){ 0 });
	GUARD(g);
	gva_t a = gos_mmap_anon(&g->os, 64 * KiB, VMA_READ | VMA_WRITE);
	uint64_t h0, e0;
	gpa_t pte;

	gos_user(&g->os);
	cr_assert_eq(g_ld64(&g->vm.cpu, a), 0);
	pte = leaf_gpte(g, a);
	cr_assert_neq(gpte_val(g, pte) & PTE_A, 0);
	cr_assert_eq(gpte_val(g, pte) & PTE_D, 0, "a read leaves D clear");
	h0 = g->vm.cpu.st.hidden_faults;
	e0 = exits(g);
	g_st64(&g->vm.cpu, a, 5);
	cr_assert_eq(g->vm.cpu.st.hidden_faults - h0, 1, "the write takes a hidden fault");
	cr_assert_eq(exits(g) - e0, 1);
	cr_assert_neq(gpte_val(g, pte) & PTE_D, 0, "and sets D in the guest's gpte");
	g_st64(&g->vm.cpu, a + 8, 6);
	cr_assert_eq(exits(g) - e0, 1, "later writes do not exit");
	gos_kernel(&g->os);
	audit(g);
	down(g);
}

/* CR3 writes exit; switching among cached roots hits the root cache.
 * Returns the root-cache hits of 8 switches between two roots. */
static uint64_t root_cache_of(uint64_t roots)
{
	struct guest *g = up((struct opts){ .roots = roots });
	GUARD(g);
	gpa_t k = g->os.kpml4, u = g->os.cur->pml4;
	uint64_t h0 = report(g).shadow_root_hits;
	uint64_t c0 = g->vm.cpu.st.exits[EXIT_REASON_CR_ACCESS], hits;
	int i;

	for (i = 0; i < 4; i++) {
		vcpu_write_cr3(&g->vm.cpu, k);
		vcpu_write_cr3(&g->vm.cpu, u);
	}
	cr_assert_eq(g->vm.cpu.st.exits[EXIT_REASON_CR_ACCESS] - c0, 8);
	hits = report(g).shadow_root_hits - h0;
	cr_assert_eq(hits, roots == 1 ? 0 : 8, "roots=%lu: %lu hits", (unsigned long)roots,
		     (unsigned long)hits);
	audit(g);
	down(g);
	return hits;
}

Test(shadow, cr3_root_cache)
{
	cr_assert_eq(root_cache_of(1), 0, "one root: every switch rebuilds");
	cr_assert_eq(root_cache_of(4), 8, "four roots: every switch hits");
}

/* Unsync: the guest rewrites a leaf gpte without a trace; the shadow may
 * lag (the architecture allows it) until INVLPG, which resyncs it. */
Test(shadow, invlpg_resyncs_unsync_table)
{
	struct guest *g = up((struct opts){ .unsync = 1 });
	GUARD(g);
	gva_t a = gos_mmap_anon(&g->os, 64 * KiB, VMA_READ | VMA_WRITE);
	struct mmu_fault f;
	gpa_t pte, other;
	hpa_t before;
	uint64_t i0;

	gos_user(&g->os);
	g_st64(&g->vm.cpu, a, 1);
	g_st64(&g->vm.cpu, a + PAGE_SIZE, 2);
	gos_kernel(&g->os);
	pte = leaf_gpte(g, a);
	other = gpte_val(g, leaf_gpte(g, a + PAGE_SIZE)) & PTE_ADDR_MASK;
	cr_assert_eq(fill(g, a, ACC_READ | ACC_USER, &f), MMU_OK);
	before = f.hpa;
	g_st64(&g->vm.cpu, GOS_DIRECT_MAP + pte, (gpte_val(g, pte) & ~PTE_ADDR_MASK) | other);
	cr_assert_eq(fill(g, a, ACC_READ | ACC_USER, &f), MMU_OK);
	cr_assert_eq(f.hpa, before, "unsync: the spte lags until invalidated");
	i0 = g->vm.cpu.st.exits[EXIT_REASON_INVLPG];
	vcpu_invlpg(&g->vm.cpu, a);
	cr_assert_eq(g->vm.cpu.st.exits[EXIT_REASON_INVLPG] - i0, 1);
	cr_assert_eq(fill(g, a, ACC_READ | ACC_USER, &f), MMU_OK);
	cr_assert_eq(f.hpa, shadow_p2m_lookup(&g->vm.cpu.mmu, other, &(bool){ 0 }),
		     "after INVLPG the new gpte shows");
	audit(g);
	down(g);
}

/* A CR4.PGE toggle invalidates every TLB entry, globals included (SDM
 * 4.10.4.1), so it must resync unsync tables as INVLPG does (KVM: a
 * guest TLB flush request syncs the roots). */
Test(shadow, pge_toggle_resyncs_unsync_table)
{
	struct guest *g = up((struct opts){ .unsync = 1 });
	GUARD(g);
	gva_t a = gos_mmap_anon(&g->os, 64 * KiB, VMA_READ | VMA_WRITE);
	struct mmu_fault f;
	gpa_t pte, other;
	hpa_t before;
	uint64_t cr4, c0;

	gos_user(&g->os);
	g_st64(&g->vm.cpu, a, 1);
	g_st64(&g->vm.cpu, a + PAGE_SIZE, 2);
	gos_kernel(&g->os);
	pte = leaf_gpte(g, a);
	other = gpte_val(g, leaf_gpte(g, a + PAGE_SIZE)) & PTE_ADDR_MASK;
	cr_assert_eq(fill(g, a, ACC_READ | ACC_USER, &f), MMU_OK);
	before = f.hpa;
	g_st64(&g->vm.cpu, GOS_DIRECT_MAP + pte, (gpte_val(g, pte) & ~PTE_ADDR_MASK) | other);
	cr_assert_eq(fill(g, a, ACC_READ | ACC_USER, &f), MMU_OK);
	cr_assert_eq(f.hpa, before, "unsync: the spte lags until invalidated");
	cr4 = g->vm.cpu.mmu.sregs.cr4;
	c0 = g->vm.cpu.st.exits[EXIT_REASON_CR_ACCESS];
	vcpu_write_cr4(&g->vm.cpu, cr4 ^ CR4_PGE);
	vcpu_write_cr4(&g->vm.cpu, cr4);
	cr_assert_eq(g->vm.cpu.st.exits[EXIT_REASON_CR_ACCESS] - c0, 2,
		     "both writes change PGE: both exit");
	vcpu_write_cr4(&g->vm.cpu, cr4 | CR4_SMAP);
	vcpu_write_cr4(&g->vm.cpu, cr4);
	cr_assert_eq(g->vm.cpu.st.exits[EXIT_REASON_CR_ACCESS] - c0, 2,
		     "a SMAP toggle flushes nothing: no exit");
	cr_assert_eq(fill(g, a, ACC_READ | ACC_USER, &f), MMU_OK);
	cr_assert_eq(f.hpa, shadow_p2m_lookup(&g->vm.cpu.mmu, other, &(bool){ 0 }),
		     "after the CR4.PGE toggle the new gpte shows");
	audit(g);
	down(g);
}

/* Past shadow_pages_max the least recently used sps go; data stays. */
Test(shadow, page_limit_zaps_lru)
{
	struct guest *g = up((struct opts){ .unsync = 1, .pages_max = 8 });
	GUARD(g);
	const uint64_t len = 32 * MiB, pages = len / PAGE_SIZE;
	gva_t a = gos_mmap_anon(&g->os, len, VMA_READ | VMA_WRITE);
	struct mmu_report r;
	uint64_t p, sum = 0;

	gos_user(&g->os);
	for (p = 0; p < pages; p++)
		g_st64(&g->vm.cpu, a + p * PAGE_SIZE, p);
	for (p = 0; p < pages; p++)
		sum += g_ld64(&g->vm.cpu, a + p * PAGE_SIZE);
	gos_kernel(&g->os);
	cr_assert_eq(sum, pages * (pages - 1) / 2);
	r = report(g);
	cr_assert_leq(r.shadow_pages_peak, 8 + 2, "peak %lu", (unsigned long)r.shadow_pages_peak);
	cr_assert_leq(r.shadow_pages, r.shadow_pages_peak);
	audit(g);
	down(g);
}

/* A table written again and again with no fault using it is
 * unshadowed: shadow_flood traces, then the frame goes writable. */
Test(shadow, write_flood_unshadows)
{
	struct guest *g = up((struct opts){ 0 });
	GUARD(g);
	gva_t a = gos_mmap_anon(&g->os, 64 * KiB, VMA_READ | VMA_WRITE);
	uint64_t t0, e0;
	gpa_t pt;
	int i;

	gos_user(&g->os);
	g_st64(&g->vm.cpu, a, 1);
	gos_kernel(&g->os);
	pt = leaf_gpte(g, a) & PAGE_MASK;
	t0 = g->vm.cpu.st.trace_faults;
	e0 = exits(g);
	for (i = 0; i < 16; i++)	/* the frame reused: cleared */
		g_st64(&g->vm.cpu, GOS_DIRECT_MAP + pt + 8 * (gpa_t)(256 + i), 0);
	cr_assert_eq(g->vm.cpu.st.trace_faults - t0, 3, "traced until the flood limit");
	cr_assert_leq(exits(g) - e0, 4, "then writable after one hidden fault");
	audit(g);
	down(g);
}

/* A write to a read-only page: a true fault, the guest's own error code. */
Test(shadow, true_fault_carries_guest_error_code)
{
	struct guest *g = up((struct opts){ 0 });
	GUARD(g);
	gva_t a = gos_mmap_anon(&g->os, 64 * KiB, VMA_READ);
	volatile uint64_t t0;
	char want[96];

	gos_user(&g->os);
	cr_assert_eq(g_ld64(&g->vm.cpu, a), 0);
	t0 = g->vm.cpu.st.true_faults;
	if (setjmp(g->jb) == 0) {
		g_st64(&g->vm.cpu, a, 1);
		cr_assert_fail("a store to a read-only page completed");
	}
	cr_assert_eq(g->vm.cpu.st.true_faults - t0, 1);
	/* The kernel's log line names the address and the error code the
	 * guest got: P|W|U, exactly (not a substring an address could hold). */
	snprintf(want, sizeof(want), "segfault at %#llx error 0x7: ", (unsigned long long)a);
	cr_assert(strstr(g->os.log, want), "expected \"%s\" in the guest's log: %s", want,
		  g->os.log);
	g->vm.cpu.pf_depth = 0;
	down(g);
}
