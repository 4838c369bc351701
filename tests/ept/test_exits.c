/*
 * test_exits.c - the VMM's side: lazy backing by EPT violations (by the
 * guest's data accesses, its paging-off stores, and the processor's
 * reads of guest tables), the qualification each reports, the work the
 * handler does, EPT misconfigurations stopping the VM, and a VMM region
 * too small for the EPT.
 */
#include <asm/vmx.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "evm.h"

#define VA		UINT64_C(0x0000000040000000)
#define LEAF		(PTE_P | PTE_W | PTE_A | PTE_D)
#define QUAL_FINAL	(EPT_QUAL_GLA_VALID | EPT_QUAL_GLA_FINAL)

/* What the guest saw and the VMM did, as a vCPU would count it. */
struct tally {
	unsigned	exits;
	uint64_t	last_qual;
	gpa_t		last_gpa;
	uint64_t	handler_reads, handler_writes;
};

static void count_exit(struct tally *t, const struct mmu_fault *f)
{
	cr_assert(f->exited);
	cr_assert_eq(f->exit_reason, EXIT_REASON_EPT_VIOLATION);
	t->exits++;
	t->last_qual = f->exit_qual;
	t->last_gpa = f->exit_gpa;
	t->handler_reads += f->work.handler_reads;
	t->handler_writes += f->work.handler_writes;
}

/* A paging-off store, retried after each exit as the vCPU does. */
static void phys_store(struct evm *v, struct tally *t, gpa_t gpa, uint64_t val)
{
	for (int tries = 0; tries < 4; tries++) {
		struct mmu_fault f = { .va = gpa, .access = ACC_WRITE, .size = 8 };
		enum mmu_result r = v->m.ops->phys(&v->m, &f);

		if (r == MMU_EXIT) {
			count_exit(t, &f);
			continue;
		}
		cr_assert_eq(r, MMU_OK);
		cr_assert_not(f.unbacked);
		memcpy(v->m.hmem.base + f.hpa + (gpa & ~PAGE_MASK), &val, 8);
		return;
	}
	cr_assert_fail("paging-off store to %#lx does not converge", (unsigned long)gpa);
}

/* fill() until it stops exiting. */
static enum mmu_result fill_retry(struct evm *v, struct tally *t, gva_t va, unsigned acc,
				  struct mmu_fault *f)
{
	for (int tries = 0; tries < 8; tries++) {
		enum mmu_result r = evm_fill(v, va, acc, f);

		if (r != MMU_EXIT)
			return r;
		count_exit(t, f);
	}
	cr_assert_fail("fill does not converge");
	return MMU_STOP;
}

static void lazy_vm(struct evm *v, unsigned host, bool ad, unsigned off)
{
	struct evm_cfg c = { .guest_size = 16 * MiB, .host_level = host, .ept_ad = ad,
			     .caches_off = off };

	evm_init(v, &c);
}

static struct mmu_report report(const struct evm *v)
{
	struct mmu_report r;

	memset(&r, 0, sizeof(r));
	v->m.ops->report(&v->m, &r);
	return r;
}

/* The guest OS's boot: tables for VA -> 8M written physically. */
static gpa_t boot_tables(struct evm *v, struct tally *t, gpa_t data, uint64_t leaf)
{
	gpa_t pml4 = 1 * MiB, pdpt = pml4 + PAGE_SIZE, pd = pdpt + PAGE_SIZE,
	      pt = pd + PAGE_SIZE;
	uint64_t up = PTE_P | PTE_W | PTE_A;

	phys_store(v, t, pml4 + 8 * WALK_INDEX(VA, 4), pdpt | up);
	phys_store(v, t, pdpt + 8 * WALK_INDEX(VA, 3), pd | up);
	phys_store(v, t, pd + 8 * WALK_INDEX(VA, 2), pt | up);
	phys_store(v, t, pt + 8 * WALK_INDEX(VA, 1), data | leaf);
	return pml4;
}

ParameterizedTestParameters(ept_exits, first_touch_backs_once)
{
	static unsigned hosts[] = { LEVEL_4K, LEVEL_2M };

	return cr_make_param_array(unsigned, hosts, 2);
}

/* Every first touch of a host page is one violation that backs it; the
 * qualification names the access and the final gpa; nothing else exits. */
ParameterizedTest(unsigned *host, ept_exits, first_touch_backs_once)
{
	struct evm v;
	struct tally t = { 0 };
	struct mmu_fault f;
	struct mmu_report rep;
	gpa_t data = 8 * MiB + 0x3000;
	hpa_t hpa;

	lazy_vm(&v, *host, false, 0);
	v.m.sregs.cr3 = boot_tables(&v, &t, data, LEAF);
	/* four table pages in one 2M region: 4 exits at 4K, 1 at 2M */
	cr_expect_eq(t.exits, *host == LEVEL_4K ? 4u : 1u);
	cr_expect_eq(t.last_qual, EPT_QUAL_WRITE | QUAL_FINAL,
		     "paging-off store: write, GLA valid, final; qual %#lx",
		     (unsigned long)t.last_qual);
	cr_expect_gt(t.handler_writes, 0);

	t.exits = 0;
	cr_assert_eq(fill_retry(&v, &t, VA + 0x18, ACC_READ, &f), MMU_OK);
	cr_expect_eq(t.exits, 1, "the data page's first touch");
	cr_expect_eq(t.last_gpa, data + 0x18);
	cr_expect_eq(t.last_qual, EPT_QUAL_READ | QUAL_FINAL);
	cr_assert(evm_ept_hpa(&v, data, &hpa, NULL));
	cr_expect_eq(f.hpa, hpa & PAGE_MASK);
	cr_expect_eq(f.level, LEVEL_4K);

	/* the data page is backed now: a write walks without exiting */
	t.exits = 0;
	cr_assert_eq(fill_retry(&v, &t, VA, ACC_WRITE, &f), MMU_OK);
	cr_expect_eq(t.exits, 0);

	rep = report(&v);
	cr_expect_eq(rep.host_pages_backed, *host == LEVEL_4K ? 5u : 2u);
	/* root, PDPT, PD, and at 4K one PT per 2M region touched (0-2M, 8-10M) */
	cr_expect_eq(rep.ept_pages, *host == LEVEL_4K ? 5u : 3u, "%lu EPT pages",
		     (unsigned long)rep.ept_pages);
	evm_fini(&v);
}

ParameterizedTestParameters(ept_exits, guest_table_first_touch)
{
	static bool ad[] = { false, true };

	return cr_make_param_array(bool, ad, 2);
}

/* A guest table page nobody has touched: the processor's read of it
 * is the violation (GLA valid, not final; with EPT A/D a paging-structure
 * access reports read and write). Backed with zeros, the retry reads a
 * not-present entry: the guest's own #PF. */
ParameterizedTest(bool *ad, ept_exits, guest_table_first_touch)
{
	struct evm v;
	struct tally t = { 0 };
	struct mmu_fault f;
	gpa_t pt = 12 * MiB, pd = 1 * MiB + 2 * PAGE_SIZE;
	uint32_t want = EPT_QUAL_READ | EPT_QUAL_GLA_VALID | (*ad ? EPT_QUAL_WRITE : 0);

	lazy_vm(&v, LEVEL_4K, *ad, EPT_CACHE_ALL);
	v.m.sregs.cr3 = boot_tables(&v, &t, 8 * MiB, LEAF);
	phys_store(&v, &t, pd + 8 * WALK_INDEX(VA, 2), pt | PTE_P | PTE_W | PTE_A);
	t.exits = 0;
	cr_assert_eq(evm_fill(&v, VA, ACC_READ, &f), MMU_EXIT);
	count_exit(&t, &f);
	cr_expect_eq(f.exit_gpa, pt + 8 * WALK_INDEX(VA, 1));
	cr_expect_eq(f.exit_qual, want, "qual %#lx, want %#x", (unsigned long)f.exit_qual, want);
	/* 3 guest levels of 5 references each, then the PT page's EPT walk,
	 * which stops at the missing EPT PDE of the 12M region */
	cr_expect_eq(f.work.walk_reads, 3 * 5 + 3, "%u reads", f.work.walk_reads);
	cr_assert_eq(evm_fill(&v, VA, ACC_READ, &f), MMU_FAULT);
	cr_expect_eq(f.error_code, 0, "not present, supervisor read");
	cr_expect_not(f.exited, "the guest's #PF is no exit");
	evm_fini(&v);
}

/* With EPT A/D, data writes set the EPT leaf's D; a read-filled TLB
 * entry is not dirty until both the guest and the EPT leaf are. */
Test(ept_exits, ept_dirty_needs_a_write)
{
	struct evm v;
	struct tally t = { 0 };
	struct mmu_fault f;
	hpa_t leaf;

	lazy_vm(&v, LEVEL_4K, true, 0);
	v.m.sregs.cr3 = boot_tables(&v, &t, 8 * MiB, LEAF);
	cr_assert_eq(fill_retry(&v, &t, VA, ACC_READ, &f), MMU_OK);
	cr_expect_not(f.dirty, "guest D set, EPT D not yet");
	leaf = evm_ept_entry(&v, 8 * MiB, LEVEL_4K);
	cr_expect_eq(*(uint64_t *)(v.m.hmem.base + leaf) & (EPTE_A | EPTE_D), EPTE_A);
	cr_assert_eq(fill_retry(&v, &t, VA, ACC_WRITE, &f), MMU_OK);
	cr_expect(f.dirty);
	cr_expect_eq(*(uint64_t *)(v.m.hmem.base + leaf) & (EPTE_A | EPTE_D),
		     EPTE_A | EPTE_D);
	evm_fini(&v);
}

/* EPT permissions the VMM never grants away: a violation on a backed
 * page is not lazy backing, and the VM stops with a reason. */
Test(ept_exits, violation_on_backed_page_stops)
{
	struct evm v;
	struct tally t = { 0 };
	struct mmu_fault f;
	hpa_t leaf;
	uint64_t e;

	lazy_vm(&v, LEVEL_4K, false, EPT_CACHE_ALL);
	v.m.sregs.cr3 = boot_tables(&v, &t, 8 * MiB, LEAF);
	cr_assert_eq(fill_retry(&v, &t, VA, ACC_READ, &f), MMU_OK);
	leaf = evm_ept_entry(&v, 8 * MiB, LEVEL_4K);
	memcpy(&e, v.m.hmem.base + leaf, 8);
	e &= ~EPTE_W;					/* read/execute only */
	memcpy(v.m.hmem.base + leaf, &e, 8);
	cr_assert_eq(evm_fill(&v, VA, ACC_WRITE, &f), MMU_STOP);
	cr_expect_eq(f.exit_reason, EXIT_REASON_EPT_VIOLATION);
	cr_expect_eq(f.exit_qual, EPT_QUAL_WRITE | EPT_QUAL_READABLE | EPT_QUAL_EXECUTABLE |
		     QUAL_FINAL);
	cr_assert_not_null(f.stop);
	cr_expect_not_null(strstr(f.stop, "EPT violation"), "%s", f.stop);
	evm_fini(&v);
}

struct corruption {
	unsigned	level;		/* EPT level of the entry corrupted */
	uint64_t	set, clear;
	const char	*what;
	bool		shared;		/* an entry the guest tables' gpas use too */
};

ParameterizedTestParameters(ept_exits, misconfig_stops)
{
	static struct corruption c[] = {
		{ 2, UINT64_C(1) << 3, 0, "reserved bit 3 in a non-leaf PDE", false },
		{ 4, EPTE_LARGE, 0, "bit 7 in a PML4E", true },
		{ 1, 0, EPTE_R, "W without R in a leaf", false },
		{ 1, UINT64_C(2) << EPTE_MT_SHIFT, EPTE_MT_WB, "memory type 2", false },
		{ 3, UINT64_C(1) << 50, 0, "an address bit above MAXPHYADDR", true },
	};

	return cr_make_param_array(struct corruption, c, sizeof(c) / sizeof(c[0]));
}

/* A corrupted EPT entry is EXIT_REASON_EPT_MISCONFIG: MMU_STOP with a
 * message naming the gpa and the entry, never a crash. */
ParameterizedTest(struct corruption *c, ept_exits, misconfig_stops)
{
	struct evm v;
	struct tally t = { 0 };
	struct mmu_fault f;
	gpa_t data = 8 * MiB;
	hpa_t at;
	uint64_t e;

	lazy_vm(&v, LEVEL_4K, false, 0);
	v.m.sregs.cr3 = boot_tables(&v, &t, data, LEAF);
	cr_assert_eq(fill_retry(&v, &t, VA, ACC_READ, &f), MMU_OK);
	at = evm_ept_entry(&v, data, c->level);
	memcpy(&e, v.m.hmem.base + at, 8);
	e = (e & ~c->clear) | c->set;
	memcpy(v.m.hmem.base + at, &e, 8);
	/* the VMM would INVEPT after changing an entry: a fresh backend view */
	v.m.params[EPT_PARAM_CACHES_OFF] = EPT_CACHE_ALL;
	tlb_flush_all(&v.m.tlb);
	cr_assert_eq(evm_fill(&v, VA + 0x40, ACC_READ, &f), MMU_STOP, "%s", c->what);
	cr_expect_eq(f.exit_reason, EXIT_REASON_EPT_MISCONFIG, "%s", c->what);
	/* the first EPT walk through the entry: the CR3 page's for the
	 * PML4E/PDPTE every gpa below 1G shares, else the data page's */
	cr_expect_eq(f.exit_gpa, c->shared ? 1 * MiB + 8 * WALK_INDEX(VA, 4) : data + 0x40,
		     "%s: exit gpa %#lx", c->what, (unsigned long)f.exit_gpa);
	cr_assert_not_null(f.stop);
	cr_expect_not_null(strstr(f.stop, "EPT misconfiguration"), "%s", f.stop);
	evm_fini(&v);
}

/* A VMM region with room for the root only: the first backing stops the
 * VM with a reason instead of writing outside the region. */
Test(ept_exits, vmm_region_exhausted_stops)
{
	struct evm v;
	struct evm_cfg c = { .guest_size = 16 * MiB, .host_level = LEVEL_4K,
			     .vmm_mem = 2 * PAGE_SIZE };
	struct mmu_fault f = { .va = 4 * MiB, .access = ACC_WRITE, .size = 8 };

	evm_init(&v, &c);
	cr_assert_eq(v.m.ops->phys(&v.m, &f), MMU_STOP);
	cr_expect_not_null(strstr(f.stop, "no room"), "%s", f.stop);
	evm_fini(&v);
}

/* ept_vmm_bytes covers a fully backed guest: backing every page of 16M
 * at every host size fits the region it asks for, to the page. */
Test(ept_exits, vmm_bytes_is_enough)
{
	static const unsigned hosts[] = { LEVEL_4K, LEVEL_2M };

	for (unsigned i = 0; i < 2; i++) {
		struct evm v;
		struct evm_cfg c = { .guest_size = 16 * MiB, .host_level = hosts[i],
				     .vmm_mem = ept_vmm_bytes(16 * MiB, hosts[i]) };
		struct tally t = { 0 };

		evm_init(&v, &c);
		for (gpa_t g = 0; g < 16 * MiB; g += LEVEL_SIZE(hosts[i]))
			phys_store(&v, &t, g, 1);
		cr_expect_eq(report(&v).ept_pages * PAGE_SIZE, c.vmm_mem);
		cr_expect_eq(t.exits, report(&v).host_pages_backed);
		evm_fini(&v);
	}
}

/* A paging-off load fills the NTLB without EPT D; with EPT A/D a guest
 * table read is an EPT write, so that entry must not serve it: the
 * processor walks the EPT and sets D on the table page's leaf. */
Test(ept_exits, ntlb_entry_without_dirty_does_not_serve_table_writes)
{
	struct evm v;
	struct tally t = { 0 };
	struct mmu_fault f;
	gpa_t pt = 12 * MiB, pd = 1 * MiB + 2 * PAGE_SIZE;
	hpa_t leaf;
	uint64_t e;

	lazy_vm(&v, LEVEL_4K, true, 0);
	v.m.sregs.cr3 = boot_tables(&v, &t, 8 * MiB, LEAF);
	for (int tries = 0; tries < 2; tries++) {	/* load from the new PT page */
		memset(&f, 0, sizeof(f));
		f.va = pt;
		f.access = ACC_READ;
		if (v.m.ops->phys(&v.m, &f) == MMU_OK)
			break;
	}
	leaf = evm_ept_entry(&v, pt, LEVEL_4K);
	memcpy(&e, v.m.hmem.base + leaf, 8);
	cr_assert_eq(e & (EPTE_A | EPTE_D), EPTE_A, "a load sets A only");
	evm_gwrite(&v, pt + 8 * WALK_INDEX(VA, 1), (8 * MiB) | LEAF);
	phys_store(&v, &t, pd + 8 * WALK_INDEX(VA, 2), pt | PTE_P | PTE_W | PTE_A);
	cr_assert_eq(fill_retry(&v, &t, VA, ACC_READ, &f), MMU_OK);
	memcpy(&e, v.m.hmem.base + leaf, 8);
	cr_expect_eq(e & (EPTE_A | EPTE_D), EPTE_A | EPTE_D,
		     "the guest table read set the EPT D of its page");
	evm_fini(&v);
}
