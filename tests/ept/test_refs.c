/*
 * test_refs.c - the 2D walk's references: exactly (n+1)(m+1)-1 with
 * every walk cache off, for every guest x host page size; strictly
 * fewer with each cache on alone, and the hits that explain it.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>

#include "evm.h"

#define VA		UINT64_C(0x00007f4000000000)	/* 1G-aligned, canonical */
#define LEAF		(PTE_P | PTE_W | PTE_U | PTE_A | PTE_D)

struct refcase {
	unsigned	guest, host;
	unsigned	refs;		/* the DESIGN.md table */
};

/* Guest RAM of 2G when a 1G page is involved: the 1G data page sits in
 * [1G, 2G), the guest tables in [1M, 3M). */
static uint64_t ram_for(unsigned guest, unsigned host)
{
	return (guest == LEVEL_1G || host == LEVEL_1G) ? 2 * GiB : 8 * MiB;
}

static gpa_t data_gpa(unsigned guest)
{
	return guest == LEVEL_1G ? 1 * GiB : 4 * MiB;
}

/* Build guest tables mapping VA (and its next page) over a fully backed
 * EPT; return the CR3 gpa. */
static gpa_t setup(struct evm *v, unsigned guest, unsigned host, unsigned off)
{
	struct evm_cfg c = { .guest_size = ram_for(guest, host), .host_level = host,
			     .caches_off = off };
	gpa_t cr3;

	evm_init(v, &c);
	evm_back_all(v);
	cr3 = evm_gtable(v);
	evm_gmap(v, cr3, VA, data_gpa(guest), guest, LEAF);
	if (guest != LEVEL_1G)
		evm_gmap(v, cr3, VA + LEVEL_SIZE(guest),
			 data_gpa(guest) + LEVEL_SIZE(guest), guest, LEAF);
	v->m.sregs.cr3 = cr3;
	return cr3;
}

ParameterizedTestParameters(ept_refs, table_caches_off)
{
	static struct refcase cases[] = {
		{ LEVEL_4K, LEVEL_4K, 24 },
		{ LEVEL_2M, LEVEL_4K, 19 },
		{ LEVEL_4K, LEVEL_2M, 19 },
		{ LEVEL_2M, LEVEL_2M, 15 },
		{ LEVEL_1G, LEVEL_1G, 8 },
		/* the rest of the grid, from the same formula */
		{ LEVEL_1G, LEVEL_4K, 14 },
		{ LEVEL_4K, LEVEL_1G, 14 },
		{ LEVEL_1G, LEVEL_2M, 11 },
		{ LEVEL_2M, LEVEL_1G, 11 },
	};

	return cr_make_param_array(struct refcase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct refcase *c, ept_refs, table_caches_off)
{
	struct evm v;
	struct mmu_fault f;
	unsigned level = c->guest < c->host ? c->guest : c->host;
	gva_t va = VA + 0x1238;
	hpa_t want;

	cr_assert_eq(evm_refs_2d(c->guest, c->host), c->refs);
	setup(&v, c->guest, c->host, EPT_CACHE_ALL);
	cr_assert_eq(evm_fill(&v, va, ACC_READ, &f), MMU_OK);
	cr_expect_eq(f.work.walk_reads, c->refs, "guest %u host %u: %u reads, want %u",
		     c->guest, c->host, f.work.walk_reads, c->refs);
	cr_expect_eq(f.work.walk_ad_writes, 0);
	cr_expect_eq(f.work.psc_hits + f.work.ntlb_hits, 0);
	cr_expect_eq(f.level, level, "TLB entry size min(guest, host)");
	cr_assert(evm_ept_hpa(&v, data_gpa(c->guest) + 0x1238, &want, NULL));
	cr_expect_eq(f.hpa, want & ~(LEVEL_SIZE(level) - 1));
	/* a second walk of the same page costs the same without caches */
	cr_assert_eq(evm_fill(&v, va, ACC_READ, &f), MMU_OK);
	cr_expect_eq(f.work.walk_reads, c->refs);
	evm_fini(&v);
}

struct cachecase {
	unsigned	guest;		/* = host level */
	unsigned	on;		/* EPT_CACHE_* left on; 0: none */
	unsigned	second;		/* reads of the neighbouring page's walk */
	unsigned	ntlb_hits, psc_hits;
};

/*
 * The second walk, of the next guest page, with one cache on:
 * 4K/4K: guest PSC starts at the guest PT: 1 guest read + its EPT walk
 *        (4) + the final EPT walk (4) = 9; NTLB serves the 4 guest
 *        tables: 4 + 4 = 8; EPT PSC starts all 5 EPT walks at level 1:
 *        4 + 5 = 9; all three: 1 guest read (NTLB) + 1 EPT read = 2.
 * 2M/2M: the same reasoning one level shorter on both sides.
 */
ParameterizedTestParameters(ept_refs, fewer_with_each_cache)
{
	static struct cachecase cases[] = {
		{ LEVEL_4K, 0, 24, 0, 0 },
		{ LEVEL_4K, EPT_CACHE_GUEST_PSC, 9, 0, 1 },
		{ LEVEL_4K, EPT_CACHE_NTLB, 8, 4, 0 },
		{ LEVEL_4K, EPT_CACHE_EPT_PSC, 9, 0, 5 },
		{ LEVEL_4K, EPT_CACHE_ALL, 2, 1, 2 },
		{ LEVEL_2M, 0, 15, 0, 0 },
		{ LEVEL_2M, EPT_CACHE_GUEST_PSC, 7, 0, 1 },
		{ LEVEL_2M, EPT_CACHE_NTLB, 6, 3, 0 },
		{ LEVEL_2M, EPT_CACHE_EPT_PSC, 7, 0, 4 },
		{ LEVEL_2M, EPT_CACHE_ALL, 2, 1, 2 },
	};

	return cr_make_param_array(struct cachecase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct cachecase *c, ept_refs, fewer_with_each_cache)
{
	struct evm v;
	struct mmu_fault f;
	unsigned all_off = evm_refs_2d(c->guest, c->guest);

	setup(&v, c->guest, c->guest, EPT_CACHE_ALL & ~c->on);
	cr_assert_eq(evm_fill(&v, VA, ACC_READ, &f), MMU_OK);
	cr_expect_leq(f.work.walk_reads, all_off);
	cr_assert_eq(evm_fill(&v, VA + LEVEL_SIZE(c->guest), ACC_READ, &f), MMU_OK);
	if (c->on)
		cr_expect_lt(f.work.walk_reads, all_off, "cache %#x on: %u reads, not < %u",
			     c->on, f.work.walk_reads, all_off);
	cr_expect_eq(f.work.walk_reads, c->second, "cache %#x level %u: %u reads, want %u",
		     c->on, c->guest, f.work.walk_reads, c->second);
	cr_expect_eq(f.work.ntlb_hits, c->ntlb_hits, "ntlb hits %u", f.work.ntlb_hits);
	cr_expect_eq(f.work.psc_hits, c->psc_hits, "psc hits %u", f.work.psc_hits);
	evm_fini(&v);
}

/* The NTLB and EPT PSC are tagged by the EPTP, not the PCID: a guest CR3
 * write (which flushes the guest PSC) leaves them warm. */
Test(ept_refs, ept_caches_survive_cr3_write)
{
	struct evm v;
	struct mmu_fault f;

	setup(&v, LEVEL_4K, LEVEL_4K, 0);
	cr_assert_eq(evm_fill(&v, VA, ACC_READ, &f), MMU_OK);
	tlb_flush_pcid(&v.m.tlb, 0, true);	/* what MOV CR3 does */
	cr_assert_eq(evm_fill(&v, VA + PAGE_SIZE, ACC_READ, &f), MMU_OK);
	/* guest PSC gone: 4 guest reads, all tables from the NTLB; the final
	 * EPT walk starts at level 1 from the EPT PSC */
	cr_expect_eq(f.work.walk_reads, 5);
	cr_expect_eq(f.work.ntlb_hits, 4);
	cr_expect_eq(f.work.psc_hits, 1);
	evm_fini(&v);
}

/* A/D updates of guest entries are references too, made through the
 * EPT; EPT A/D (when on) adds the EPT's own flag writes. */
Test(ept_refs, ad_writes_counted)
{
	struct evm v;
	struct evm_cfg c = { .guest_size = 8 * MiB, .host_level = LEVEL_4K,
			     .caches_off = EPT_CACHE_ALL, .ept_ad = true };
	struct mmu_fault f;
	gpa_t cr3;

	evm_init(&v, &c);
	evm_back_all(&v);
	cr3 = evm_gtable(&v);
	evm_gmap(&v, cr3, VA, 4 * MiB, LEVEL_4K, PTE_P | PTE_W);	/* no A, no D */
	v.m.sregs.cr3 = cr3;
	cr_assert_eq(evm_fill(&v, VA, ACC_WRITE, &f), MMU_OK);
	cr_expect_eq(f.work.walk_reads, 24);
	/* guest: A and D on the leaf, one write (non-leaf entries have A).
	 * EPT (guest paging-structure accesses are EPT writes with A/D on):
	 * the walk of CR3's page sets A on PML4E, PDPTE, PDE and A|D on its
	 * PTE (4); the other three tables share those upper entries (1 each);
	 * the data page at 4M has a PDE of its own (2). */
	cr_expect_eq(f.work.walk_ad_writes, 1 + 4 + 3 + 2, "%u A/D writes",
		     f.work.walk_ad_writes);
	cr_expect(f.dirty);
	cr_expect(evm_gread(&v, evm_gentry(&v, cr3, VA, LEVEL_4K)) & PTE_D);
	/* again: everything already set */
	cr_assert_eq(evm_fill(&v, VA, ACC_WRITE, &f), MMU_OK);
	cr_expect_eq(f.work.walk_ad_writes, 0);
	evm_fini(&v);
}
