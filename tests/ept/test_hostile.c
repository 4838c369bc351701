/*
 * test_hostile.c - a guest pointing its tables or data outside guest
 * RAM gets what x86 gives it (reads of nothing are all ones: a
 * reserved-bit #PF for a table, an access that goes nowhere for data),
 * the VMM backs nothing for it, and no host memory outside hmem is ever
 * touched: hmem sits between PROT_NONE guard pages (and ASan redzones
 * in sanitizer builds), so a stray host access crashes the test.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "evm.h"

#define VA	UINT64_C(0x00007f0000200000)
#define RAM	(16 * MiB)
#define UP	(PTE_P | PTE_W | PTE_U | PTE_A)
#define LEAF	(PTE_P | PTE_W | PTE_U | PTE_A | PTE_D)

static uint64_t backed(const struct evm *v)
{
	struct mmu_report r = { 0 };

	v->m.ops->report(&v->m, &r);
	return r.host_pages_backed;
}

/* Guest RAM fully backed by lazily faulting every page in through the
 * paging-off path, then tables for VA -> 8M. */
static gpa_t setup(struct evm *v, unsigned off)
{
	struct evm_cfg c = { .guest_size = RAM, .host_level = LEVEL_4K, .caches_off = off };
	gpa_t cr3;

	evm_init(v, &c);
	for (gpa_t g = 0; g < RAM; g += PAGE_SIZE) {
		struct mmu_fault f = { .va = g, .access = ACC_WRITE, .size = 8 };

		cr_assert_eq(v->m.ops->phys(&v->m, &f), MMU_EXIT);
		memset(&f, 0, sizeof(f));
		f.va = g;
		f.access = ACC_WRITE;
		cr_assert_eq(v->m.ops->phys(&v->m, &f), MMU_OK);
	}
	cr3 = evm_gtable(v);
	evm_gmap(v, cr3, VA, 8 * MiB, LEVEL_4K, LEAF);
	v->m.sregs.cr3 = cr3;
	return cr3;
}

struct beyond {
	gpa_t		gpa;		/* where the guest points */
	unsigned	level;		/* level of the table placed there */
	unsigned	caches_off;
};

ParameterizedTestParameters(ept_hostile, table_beyond_ram)
{
	static struct beyond b[] = {
		{ RAM, 2, 0 },
		{ RAM + 64 * MiB, 2, EPT_CACHE_ALL },
		{ (UINT64_C(1) << 46) - PAGE_SIZE, 3, 0 },	/* top of MAXPHYADDR */
		{ RAM + PAGE_SIZE, 1, EPT_CACHE_ALL },
		{ 5 * GiB, 4, 0 },				/* CR3 */
	};

	return cr_make_param_array(struct beyond, b, sizeof(b) / sizeof(b[0]));
}

/* A guest table beyond guest RAM: #PF with RSVD (and the access's
 * W/U bits), no exit, nothing backed. Level 4 means CR3 points there;
 * level l < 4 means the level-(l+1) entry does. */
ParameterizedTest(struct beyond *b, ept_hostile, table_beyond_ram)
{
	struct evm v;
	struct mmu_fault f;
	gpa_t cr3 = setup(&v, b->caches_off);
	uint64_t before = backed(&v);

	if (b->level == 4)
		v.m.sregs.cr3 = b->gpa;
	else
		evm_gwrite(&v, evm_gentry(&v, cr3, VA, b->level + 1), b->gpa | UP);
	tlb_flush_all(&v.m.tlb);
	cr_assert_eq(evm_fill(&v, VA, ACC_READ, &f), MMU_FAULT);
	cr_expect_eq(f.error_code, PFERR_P | PFERR_RSVD, "ec %#x", f.error_code);
	cr_expect_not(f.exited);
	v.m.sregs.cpl = 3;
	cr_assert_eq(evm_fill(&v, VA, ACC_WRITE | ACC_USER, &f), MMU_FAULT);
	cr_expect_eq(f.error_code, PFERR_P | PFERR_RSVD | PFERR_W | PFERR_U);
	cr_expect_eq(backed(&v), before, "the VMM backed something for a gpa beyond RAM");
	evm_fini(&v);
}

/* Data beyond guest RAM (a 4K leaf, and a 2M leaf straddling the end):
 * the access goes nowhere, as under native; no exit, nothing backed. */
Test(ept_hostile, data_beyond_ram_is_unbacked)
{
	struct evm v;
	struct mmu_fault f;
	gpa_t cr3 = setup(&v, 0);
	uint64_t before = backed(&v);

	evm_gwrite(&v, evm_gentry(&v, cr3, VA, 1), (RAM + 12 * MiB) | LEAF);
	cr_assert_eq(evm_fill(&v, VA, ACC_WRITE, &f), MMU_OK);
	cr_expect(f.unbacked);
	cr_expect_not(f.exited);
	evm_gmap(&v, cr3, VA + 2 * GiB, RAM - 2 * MiB, LEVEL_2M, LEAF);
	cr_assert_eq(evm_fill(&v, VA + 2 * GiB, ACC_READ, &f), MMU_OK);
	cr_expect_not(f.unbacked, "a 2M page inside RAM is RAM");
	evm_gmap(&v, cr3, VA + 2 * GiB + 2 * MiB, RAM, LEVEL_2M, LEAF);
	cr_assert_eq(evm_fill(&v, VA + 2 * GiB + 2 * MiB, ACC_READ, &f), MMU_OK);
	cr_expect(f.unbacked);
	cr_expect_eq(backed(&v), before);
	evm_fini(&v);
}

/* Paging off: a physical access beyond guest RAM goes nowhere. */
Test(ept_hostile, phys_beyond_ram_is_unbacked)
{
	struct evm v;
	struct mmu_fault f = { .va = RAM + 8, .access = ACC_WRITE, .size = 8 };
	struct evm_cfg c = { .guest_size = RAM, .host_level = LEVEL_2M };

	evm_init(&v, &c);
	cr_assert_eq(v.m.ops->phys(&v.m, &f), MMU_OK);
	cr_expect(f.unbacked);
	cr_expect_eq(backed(&v), 0);
	evm_fini(&v);
}

/* A broken VMM (an EPT leaf pointing past host memory) still never
 * makes a host access outside hmem: data goes nowhere, a guest table
 * there reads as all ones. */
Test(ept_hostile, ept_leaf_beyond_host_memory)
{
	struct evm v;
	struct mmu_fault f;
	gpa_t cr3 = setup(&v, EPT_CACHE_ALL);
	hpa_t leaf = evm_ept_entry(&v, 8 * MiB, LEVEL_4K);
	uint64_t e, far = v.m.hmem.size + 16 * MiB;
	gpa_t pt = evm_gentry(&v, cr3, VA, 1) & PAGE_MASK;

	memcpy(&e, v.m.hmem.base + leaf, 8);
	e = (e & ~PTE_ADDR_MASK) | far;
	memcpy(v.m.hmem.base + leaf, &e, 8);
	cr_assert_eq(evm_fill(&v, VA, ACC_READ, &f), MMU_OK);
	cr_expect(f.unbacked);

	leaf = evm_ept_entry(&v, pt, LEVEL_4K);
	memcpy(&e, v.m.hmem.base + leaf, 8);
	e = (e & ~PTE_ADDR_MASK) | far;
	memcpy(v.m.hmem.base + leaf, &e, 8);
	cr_assert_eq(evm_fill(&v, VA, ACC_READ, &f), MMU_FAULT);
	cr_expect_eq(f.error_code, PFERR_P | PFERR_RSVD);
	evm_fini(&v);
}
