/*
 * test_walker.c - the x86-64 walker against hand-built tables: leaf sizes,
 * A/D, reserved bits, memory holes, recursion, start points, 5-level
 * paging, permissions, hook aborts. EPT is in test_ept.c.
 */
#include <criterion/criterion.h>

#include "testmem.h"
#include "walker.h"

#define MEM_SIZE	(1 * MiB)
#define UPPER		(PTE_P | PTE_W | PTE_U)
#define LEAF		(PTE_P | PTE_W | PTE_U)
#define ULL(x)		((unsigned long long)(x))

/* A canonical lower-half gva whose four indices differ: 0xfe, 0x48, 0x91, 0x123. */
#define VA		UINT64_C(0x00007f1212323678)
#define FAR_PA		UINT64_C(0x00000abc00000000)	/* far beyond the array */

static const struct walk_mode mode4 = {
	.levels = 4, .maxphyaddr = 46, .cr0_wp = true, .efer_nxe = true,
	.gbpages = true,
};

static struct tmem tm;
static uint64_t root;

static void setup(void)
{
	tmem_init(&tm, MEM_SIZE);
	root = tmem_alloc(&tm);
}

static void teardown(void)
{
	tmem_fini(&tm);
}

TestSuite(walker, .init = setup, .fini = teardown);

static void init_req(struct walk_req *r, enum walk_fmt fmt,
		     const struct walk_mode *m, uint64_t rt, uint64_t addr,
		     unsigned access)
{
	tmem_req(&tm, r, fmt, m, rt, addr, access);
}

static enum walk_result do_walk(struct walk_req *r)
{
	return tmem_walk(&tm, r);
}

static enum walk_result run(struct walk_req *r, enum walk_fmt fmt,
			    const struct walk_mode *m, uint64_t rt,
			    uint64_t addr, unsigned access)
{
	init_req(r, fmt, m, rt, addr, access);
	return do_walk(r);
}

static enum walk_result run_x86(struct walk_req *r, uint64_t addr, unsigned access)
{
	return run(r, WALK_FMT_X86_64, &mode4, root, addr, access);
}

/* The pa of the entry for VA at level l, under root (4 levels). */
static uint64_t epa(unsigned l)
{
	return tmem_entry_pa(&tm, root, 4, VA, l);
}

static void or_entry(unsigned l, uint64_t bits)
{
	tmem_put(&tm, epa(l), tmem_get(&tm, epa(l)) | bits);
}

/* ---- leaf sizes ------------------------------------------------------- */

Test(walker, maps_4k_leaf)
{
	struct walk_req r;
	uint64_t leaf = tmem_map(&tm, root, 4, VA, 0xabcde000, LEVEL_4K, UPPER, LEAF);

	cr_assert_eq(run_x86(&r, VA, ACC_READ), WALK_OK);
	cr_assert_eq(r.pa, 0xabcde678, "pa %#llx", ULL(r.pa));
	cr_assert_eq(r.level, LEVEL_4K);
	cr_assert_eq(r.reads, 4);
	cr_assert_eq(r.ad_writes, 4, "A set on four entries");
	cr_assert_eq(r.refs, 8);
	cr_assert_eq(r.table[4], root);
	cr_assert_eq(r.entry[1], 0xabcde000 | LEAF, "entry[1] is the entry as read");
	cr_assert_eq(r.table[1] + 8 * WALK_INDEX(VA, 1), leaf);
	cr_assert_eq(r.leaf, 0xabcde000 | LEAF | PTE_A);
	cr_assert_eq(r.rights, RIGHTS_ALL);
	cr_assert_eq(r.table[5], 0, "no level-5 table in 4-level paging");
}

Test(walker, maps_2m_leaf)
{
	struct walk_req r;

	tmem_map(&tm, root, 4, VA, 0x40000000, LEVEL_2M, UPPER, LEAF);
	cr_assert_eq(run_x86(&r, VA, ACC_READ), WALK_OK);
	cr_assert_eq(r.pa, 0x40000000 | (VA & 0x1fffff), "pa %#llx", ULL(r.pa));
	cr_assert_eq(r.level, LEVEL_2M);
	cr_assert_eq(r.reads, 3);
	cr_assert_eq(r.table[1], 0, "no level-1 table read");
	cr_assert(r.leaf & PTE_PS);
}

Test(walker, maps_1g_leaf)
{
	struct walk_req r;

	tmem_map(&tm, root, 4, VA, UINT64_C(0x1c0000000), LEVEL_1G, UPPER, LEAF);
	cr_assert_eq(run_x86(&r, VA, ACC_READ), WALK_OK);
	cr_assert_eq(r.pa, UINT64_C(0x1c0000000) | (VA & 0x3fffffff), "pa %#llx", ULL(r.pa));
	cr_assert_eq(r.level, LEVEL_1G);
	cr_assert_eq(r.reads, 2);
	cr_assert_eq(r.table[2], 0);
}

Test(walker, large_leaf_pat_bit_is_not_address)
{
	struct walk_req r;

	tmem_map(&tm, root, 4, VA, 0x40000000, LEVEL_2M, UPPER, LEAF | PTE_PAT_LARGE);
	cr_assert_eq(run_x86(&r, VA, ACC_READ), WALK_OK);
	cr_assert_eq(r.pa, 0x40000000 | (VA & 0x1fffff), "PAT leaked into pa: %#llx", ULL(r.pa));
}

Test(walker, cr3_flag_bits_ignored)
{
	struct walk_req r;

	tmem_map(&tm, root, 4, VA, 0xabcde000, LEVEL_4K, UPPER, LEAF);
	/* PCID 0x5 plus PWT/PCD, and bit 63 (MOV CR3's keep-the-TLB flag) */
	cr_assert_eq(run(&r, WALK_FMT_X86_64, &mode4, root | 0x1d | (UINT64_C(1) << 63), VA,
			 ACC_READ), WALK_OK);
	cr_assert_eq(r.pa, 0xabcde678);
	cr_assert_eq(r.table[4], root);
}

/* ---- accessed and dirty ------------------------------------------------ */

Test(walker, sets_accessed_everywhere_and_dirty_on_leaf_for_write)
{
	struct walk_req r;
	unsigned l;

	tmem_map(&tm, root, 4, VA, 0xabcde000, LEVEL_4K, UPPER, LEAF);
	cr_assert_eq(run_x86(&r, VA, ACC_WRITE), WALK_OK);
	for (l = 4; l >= 1; l--) {
		uint64_t e = tmem_get(&tm, epa(l));

		cr_assert(e & PTE_A, "level %u lacks A", l);
		cr_assert_eq((e & PTE_D) != 0, l == 1, "D at level %u: %#llx", l, ULL(e));
	}
	cr_assert_eq(r.ad_writes, 4, "A+D on the leaf is one write");
	cr_assert_eq(r.leaf, tmem_get(&tm, epa(1)));
	cr_assert_eq(r.leaf & (PTE_A | PTE_D), PTE_A | PTE_D);

	/* Everything already set: a second walk writes nothing. */
	cr_assert_eq(run_x86(&r, VA, ACC_WRITE), WALK_OK);
	cr_assert_eq(r.ad_writes, 0);
	cr_assert_eq(r.refs, 4);
}

Test(walker, read_sets_accessed_not_dirty)
{
	struct walk_req r;

	tmem_map(&tm, root, 4, VA, 0x40000000, LEVEL_2M, UPPER, LEAF);
	cr_assert_eq(run_x86(&r, VA, ACC_READ), WALK_OK);
	cr_assert_eq(tmem_get(&tm, epa(2)) & (PTE_A | PTE_D), PTE_A);
	cr_assert_eq(r.ad_writes, 3);

	/* A write later dirties the 2M leaf only: one write. */
	cr_assert_eq(run_x86(&r, VA, ACC_WRITE), WALK_OK);
	cr_assert_eq(r.ad_writes, 1);
	cr_assert_eq(tmem_get(&tm, epa(2)) & (PTE_A | PTE_D), PTE_A | PTE_D);
	cr_assert_eq(tmem_get(&tm, epa(3)) & PTE_D, 0, "D on a non-leaf entry");
}

Test(walker, fault_writes_no_accessed_bits)
{
	struct walk_req r;
	uint64_t before[5];
	unsigned l;

	tmem_map(&tm, root, 4, VA, 0xabcde000, LEVEL_4K, UPPER, PTE_P | PTE_U);
	for (l = 1; l <= 4; l++)
		before[l] = tmem_get(&tm, epa(l));
	cr_assert_eq(run_x86(&r, VA, ACC_WRITE | ACC_USER), WALK_FAULT);
	cr_assert_eq(r.error_code, PFERR_P | PFERR_W | PFERR_U);
	cr_assert_eq(r.level, LEVEL_4K);
	for (l = 1; l <= 4; l++)
		cr_assert_eq(tmem_get(&tm, epa(l)), before[l], "level %u changed", l);
}

/* ---- memory holes and recursion ---------------------------------------- */

Test(walker, table_beyond_memory_is_rsvd_fault)
{
	struct walk_req r;

	tmem_map(&tm, root, 4, VA, 0xabcde000, LEVEL_4K, UPPER, LEAF);
	/* The PDPTE now points at a "PD" far outside the array (below MAXPHYADDR). */
	tmem_put(&tm, epa(3), FAR_PA | UPPER);
	tmem_reset_counts(&tm);

	cr_assert_eq(run_x86(&r, VA, ACC_READ), WALK_FAULT);
	cr_assert_eq(r.error_code, PFERR_P | PFERR_RSVD, "ec %#x", r.error_code);
	cr_assert_eq(r.level, LEVEL_2M);
	cr_assert_eq(r.reads, 3);
	cr_assert_eq(r.table[2], FAR_PA);
	cr_assert_eq(r.entry[2], ~UINT64_C(0), "nonexistent memory reads as all ones");
	cr_assert_eq(tm.oob_reads, 1, "exactly one read attempt outside the array");

	cr_assert_eq(run_x86(&r, VA, ACC_WRITE | ACC_USER), WALK_FAULT);
	cr_assert_eq(r.error_code, PFERR_P | PFERR_RSVD | PFERR_W | PFERR_U);
	cr_assert_eq(tm.oob_reads, 2);
	cr_assert_eq(tm.sets, 0);
}

Test(walker, root_beyond_memory_is_rsvd_fault_even_at_maxphyaddr_52)
{
	struct walk_req r;
	struct walk_mode m = mode4;
	uint64_t pde;

	m.maxphyaddr = 52;
	cr_assert_eq(run(&r, WALK_FMT_X86_64, &m, FAR_PA, VA, ACC_FETCH), WALK_FAULT);
	cr_assert_eq(r.error_code, PFERR_P | PFERR_RSVD | PFERR_I);
	cr_assert_eq(r.level, 4);
	cr_assert_eq(tm.oob_reads, 1);

	/*
	 * A page table outside memory at MAXPHYADDR 52 with NXE: an all-ones
	 * PTE has no reserved bit, yet a hole must still end the walk.
	 */
	tmem_map(&tm, root, 4, VA, 0xabcde000, LEVEL_4K, UPPER, LEAF);
	pde = tmem_get(&tm, epa(2));
	tmem_put(&tm, epa(2), FAR_PA | UPPER);
	cr_assert_eq(run(&r, WALK_FMT_X86_64, &m, root, VA, ACC_READ), WALK_FAULT);
	cr_assert_eq(r.error_code, PFERR_P | PFERR_RSVD);
	cr_assert_eq(r.level, LEVEL_4K);
	cr_assert_eq(tm.oob_reads, 2);
	tmem_put(&tm, epa(2), pde);

	/* A leaf whose frame is outside memory is fine: the walk never touches it. */
	tmem_map(&tm, root, 4, VA, FAR_PA, LEVEL_4K, UPPER, LEAF);
	cr_assert_eq(run(&r, WALK_FMT_X86_64, &m, root, VA, ACC_READ), WALK_OK);
	cr_assert_eq(r.pa, FAR_PA | 0x678);
	cr_assert_eq(tm.oob_reads, 2);
}

/*
 * PML4[510] points at the PML4 itself. The architecture walks it like any
 * table: with indices (510, 510, 510, 510) every level reads that same
 * entry and the "page" is the PML4; with (510, i, j, k) the walk lands on
 * the page table that maps (i, j, k, *). Termination is by construction:
 * the level drops by one per read.
 */
Test(walker, self_referencing_pml4_is_recursive_mapping)
{
	struct walk_req r;
	const uint64_t self = 510, va_self = UINT64_C(0xffffff7fbfdfe000) | 0x8;
	uint64_t va_pt, pt_pa, e;

	tmem_map(&tm, root, 4, VA, 0xabcde000, LEVEL_4K, UPPER, LEAF);
	tmem_put(&tm, root + 8 * self, root | PTE_P | PTE_W);
	cr_assert_eq(WALK_INDEX(va_self, 4), self);
	cr_assert_eq(WALK_INDEX(va_self, 1), self);

	cr_assert_eq(run_x86(&r, va_self, ACC_WRITE), WALK_OK);
	cr_assert_eq(r.pa, root | 0x8, "the PML4 maps itself: pa %#llx", ULL(r.pa));
	cr_assert_eq(r.level, LEVEL_4K);
	cr_assert_eq(r.reads, 4);
	/* One entry, used four times: A written once, then D once. */
	cr_assert_eq(r.ad_writes, 2);
	e = tmem_get(&tm, root + 8 * self);
	cr_assert_eq(e, root | PTE_P | PTE_W | PTE_A | PTE_D);
	cr_assert_eq(r.leaf, e);

	/* (510, i, j, k) lands on the page table of VA. */
	va_pt = UINT64_C(0xffff000000000000) | (self << 39) |
		((VA >> 9) & UINT64_C(0x7ffffff000));
	pt_pa = tmem_get(&tm, epa(2)) & PTE_ADDR_MASK;
	cr_assert_eq(run_x86(&r, va_pt | 0x10, ACC_READ), WALK_OK);
	cr_assert_eq(r.pa, pt_pa | 0x10, "pa %#llx, PT at %#llx", ULL(r.pa), ULL(pt_pa));
	/* Not user: the recursive entry has U clear. */
	cr_assert_eq(run_x86(&r, va_pt, ACC_READ | ACC_USER), WALK_FAULT);
	cr_assert_eq(r.error_code, PFERR_P | PFERR_U);
}

/* ---- reserved bits ------------------------------------------------------ */

Test(walker, rsvd_above_maxphyaddr_at_every_level)
{
	struct walk_req r;
	struct walk_mode m = mode4;
	const unsigned bits[] = { 40, 45, 51 };
	unsigned l, i;

	m.maxphyaddr = 40;
	tmem_map(&tm, root, 4, VA, 0xabcde000, LEVEL_4K, UPPER | PTE_A, LEAF | PTE_A);
	for (l = 4; l >= 1; l--) {
		for (i = 0; i < ARRAY_SIZE(bits); i++) {
			uint64_t e = tmem_get(&tm, epa(l));

			tmem_put(&tm, epa(l), e | (UINT64_C(1) << bits[i]));
			cr_assert_eq(run(&r, WALK_FMT_X86_64, &m, root, VA, ACC_WRITE),
				     WALK_FAULT, "bit %u at level %u", bits[i], l);
			cr_assert_eq(r.error_code, PFERR_P | PFERR_RSVD | PFERR_W);
			cr_assert_eq(r.level, l);
			cr_assert_eq(r.reads, 5 - l);
			tmem_put(&tm, epa(l), e);
		}
	}
	/* Bit 39 is an address bit when MAXPHYADDR = 40. */
	or_entry(1, UINT64_C(1) << 39);
	cr_assert_eq(run(&r, WALK_FMT_X86_64, &m, root, VA, ACC_READ), WALK_OK);
	cr_assert_eq(r.pa, (UINT64_C(1) << 39) | 0xabcde678);
}

Test(walker, nx_reserved_without_efer_nxe)
{
	struct walk_req r;
	struct walk_mode m = mode4;
	unsigned l;

	m.efer_nxe = false;
	tmem_map(&tm, root, 4, VA, 0xabcde000, LEVEL_4K, UPPER, LEAF);
	for (l = 4; l >= 1; l--) {
		uint64_t e = tmem_get(&tm, epa(l));

		tmem_put(&tm, epa(l), e | PTE_NX);
		cr_assert_eq(run(&r, WALK_FMT_X86_64, &m, root, VA, ACC_FETCH), WALK_FAULT);
		/* No NXE, no SMEP: the fetch bit is not reported. */
		cr_assert_eq(r.error_code, PFERR_P | PFERR_RSVD, "ec %#x", r.error_code);
		cr_assert_eq(r.level, l);
		/* With NXE the same bit is NX: reads pass, fetches fault. */
		cr_assert_eq(run_x86(&r, VA, ACC_READ), WALK_OK);
		cr_assert_eq(r.rights & RIGHT_X, 0);
		cr_assert_eq(run_x86(&r, VA, ACC_FETCH), WALK_FAULT);
		cr_assert_eq(r.error_code, PFERR_P | PFERR_I);
		tmem_put(&tm, epa(l), e);
	}
}

Test(walker, ps_at_level_4_reserved)
{
	struct walk_req r;

	tmem_map(&tm, root, 4, VA, 0xabcde000, LEVEL_4K, UPPER, LEAF);
	or_entry(4, PTE_PS);
	cr_assert_eq(run_x86(&r, VA, ACC_READ | ACC_USER), WALK_FAULT);
	cr_assert_eq(r.error_code, PFERR_P | PFERR_RSVD | PFERR_U);
	cr_assert_eq(r.level, 4);
	cr_assert_eq(r.reads, 1);
}

Test(walker, gb_page_needs_gbpages)
{
	struct walk_req r;
	struct walk_mode m = mode4;

	m.gbpages = false;
	tmem_map(&tm, root, 4, VA, UINT64_C(0x1c0000000), LEVEL_1G, UPPER, LEAF);
	cr_assert_eq(run(&r, WALK_FMT_X86_64, &m, root, VA, ACC_READ), WALK_FAULT);
	cr_assert_eq(r.error_code, PFERR_P | PFERR_RSVD);
	cr_assert_eq(r.level, LEVEL_1G);
	cr_assert_eq(run_x86(&r, VA, ACC_READ), WALK_OK);
}

Test(walker, large_leaf_low_address_bits_reserved)
{
	struct walk_req r;
	unsigned b;

	tmem_map(&tm, root, 4, VA, 0x40000000, LEVEL_2M, UPPER, LEAF);
	for (b = 13; b <= 20; b++) {
		uint64_t e = tmem_get(&tm, epa(2));

		tmem_put(&tm, epa(2), e | (UINT64_C(1) << b));
		cr_assert_eq(run_x86(&r, VA, ACC_READ), WALK_FAULT, "2M bit %u", b);
		cr_assert_eq(r.error_code, PFERR_P | PFERR_RSVD);
		tmem_put(&tm, epa(2), e);
	}
	or_entry(2, UINT64_C(1) << 21);		/* an address bit */
	cr_assert_eq(run_x86(&r, VA, ACC_READ), WALK_OK);
	cr_assert_eq(r.pa, 0x40200000 | (VA & 0x1fffff));

	tmem_map(&tm, root, 4, VA, UINT64_C(0x1c0000000), LEVEL_1G, UPPER, LEAF);
	for (b = 13; b <= 29; b += 4) {
		uint64_t e = tmem_get(&tm, epa(3));

		tmem_put(&tm, epa(3), e | (UINT64_C(1) << b));
		cr_assert_eq(run_x86(&r, VA, ACC_READ), WALK_FAULT, "1G bit %u", b);
		cr_assert_eq(r.level, LEVEL_1G);
		tmem_put(&tm, epa(3), e);
	}
	or_entry(3, PTE_PAT_LARGE);
	cr_assert_eq(run_x86(&r, VA, ACC_READ), WALK_OK);
	cr_assert_eq(r.pa, UINT64_C(0x1c0000000) | (VA & 0x3fffffff));
}

Test(walker, reserved_bits_of_absent_entry_ignored)
{
	struct walk_req r;

	tmem_map(&tm, root, 4, VA, 0xabcde000, LEVEL_4K, UPPER, LEAF);
	tmem_put(&tm, epa(1), (UINT64_C(1) << 51) | PTE_PS | PTE_W);
	cr_assert_eq(run_x86(&r, VA, ACC_WRITE), WALK_FAULT);
	cr_assert_eq(r.error_code, PFERR_W, "not present wins: ec %#x", r.error_code);
}

Test(walker, rsvd_masks_exact)
{
	struct walk_mode m = mode4;
	const uint64_t hi = UINT64_C(0x000fc00000000000);	/* 51:46 */

	cr_assert_eq(walk_rsvd_bits(WALK_FMT_X86_64, &m, 1, false), hi);
	cr_assert_eq(walk_rsvd_bits(WALK_FMT_X86_64, &m, 2, false), hi);
	cr_assert_eq(walk_rsvd_bits(WALK_FMT_X86_64, &m, 2, true), hi | 0x1fe000);
	cr_assert_eq(walk_rsvd_bits(WALK_FMT_X86_64, &m, 3, true), hi | 0x3fffe000);
	cr_assert_eq(walk_rsvd_bits(WALK_FMT_X86_64, &m, 4, false), hi | 0x80);
	cr_assert_eq(walk_rsvd_bits(WALK_FMT_X86_64, &m, 5, false), hi | 0x80);
	m.gbpages = false;
	m.efer_nxe = false;
	cr_assert_eq(walk_rsvd_bits(WALK_FMT_X86_64, &m, 3, true),
		     PTE_NX | hi | 0x3fffe000 | 0x80);
	cr_assert_eq(walk_rsvd_bits(WALK_FMT_EPT, &m, 1, false), hi, "NXE means nothing to EPT");
	cr_assert_eq(walk_rsvd_bits(WALK_FMT_EPT, &m, 2, false), hi | 0x78);
	cr_assert_eq(walk_rsvd_bits(WALK_FMT_EPT, &m, 2, true), hi | 0x1ff000);
	cr_assert_eq(walk_rsvd_bits(WALK_FMT_EPT, &m, 3, true), hi | 0x3ffff000 | 0x80);
	cr_assert_eq(walk_rsvd_bits(WALK_FMT_EPT, &m, 4, false), hi | 0xf8);
	m.maxphyaddr = 52;
	cr_assert_eq(walk_rsvd_bits(WALK_FMT_EPT, &m, 1, false), 0);
}

/* ---- not present and permissions ---------------------------------------- */

Test(walker, not_present_error_code_and_level)
{
	struct walk_req r;
	struct walk_mode m = mode4;
	unsigned l;

	tmem_map(&tm, root, 4, VA, 0xabcde000, LEVEL_4K, UPPER, LEAF);
	for (l = 4; l >= 1; l--) {
		uint64_t e = tmem_get(&tm, epa(l));

		tmem_put(&tm, epa(l), e & ~PTE_P);
		cr_assert_eq(run_x86(&r, VA, ACC_WRITE | ACC_USER), WALK_FAULT);
		cr_assert_eq(r.error_code, PFERR_W | PFERR_U);
		cr_assert_eq(r.level, l);
		cr_assert_eq(r.reads, 5 - l);
		cr_assert_eq(run_x86(&r, VA, ACC_FETCH), WALK_FAULT);
		cr_assert_eq(r.error_code, PFERR_I);
		m.efer_nxe = false;
		cr_assert_eq(run(&r, WALK_FMT_X86_64, &m, root, VA, ACC_FETCH), WALK_FAULT);
		cr_assert_eq(r.error_code, 0, "no NXE, no SMEP: I not reported");
		m.cr4_smep = true;
		cr_assert_eq(run(&r, WALK_FMT_X86_64, &m, root, VA, ACC_FETCH), WALK_FAULT);
		cr_assert_eq(r.error_code, PFERR_I, "SMEP alone reports I");
		m = mode4;
		tmem_put(&tm, epa(l), e);
	}
}

Test(walker, permission_rules)
{
	struct walk_mode m = mode4;
	const unsigned ro_user = RIGHT_R | RIGHT_X | RIGHT_U;
	const unsigned rw_sup = RIGHT_R | RIGHT_W | RIGHT_X;

	cr_assert_eq(walk_permission_fault(&m, rw_sup, ACC_USER), PFERR_P | PFERR_U);
	cr_assert_eq(walk_permission_fault(&m, ro_user, ACC_USER | ACC_WRITE),
		     PFERR_P | PFERR_U | PFERR_W);
	cr_assert_eq(walk_permission_fault(&m, ro_user, ACC_WRITE), PFERR_P | PFERR_W);
	m.cr0_wp = false;
	cr_assert_eq(walk_permission_fault(&m, ro_user, ACC_WRITE), 0, "WP=0: supervisor writes");
	cr_assert_eq(walk_permission_fault(&m, ro_user, ACC_USER | ACC_WRITE),
		     PFERR_P | PFERR_U | PFERR_W, "WP never helps user writes");
	cr_assert_eq(walk_permission_fault(&m, RIGHT_R | RIGHT_U, ACC_FETCH), PFERR_P | PFERR_I);
	m.cr4_smep = true;
	cr_assert_eq(walk_permission_fault(&m, ro_user, ACC_FETCH), PFERR_P | PFERR_I);
	cr_assert_eq(walk_permission_fault(&m, ro_user, ACC_FETCH | ACC_USER), 0);
	cr_assert_eq(walk_permission_fault(&m, ro_user, ACC_READ), 0, "SMEP is fetch only");
	m.cr4_smap = true;
	cr_assert_eq(walk_permission_fault(&m, ro_user, ACC_READ), PFERR_P);
	cr_assert_eq(walk_permission_fault(&m, ro_user, ACC_FETCH | ACC_USER), 0);
	m.rflags_ac = true;
	cr_assert_eq(walk_permission_fault(&m, ro_user, ACC_READ), 0, "AC=1 lifts SMAP");
	cr_assert_eq(walk_permission_fault(&m, ro_user, ACC_READ | ACC_IMPLICIT), PFERR_P,
		     "implicit accesses ignore AC");
	cr_assert_eq(walk_permission_fault(&m, rw_sup, ACC_READ | ACC_IMPLICIT), 0);
}

Test(walker, rights_and_over_levels)
{
	struct walk_req r;

	tmem_map(&tm, root, 4, VA, 0xabcde000, LEVEL_4K, UPPER, LEAF);
	tmem_put(&tm, epa(3), tmem_get(&tm, epa(3)) & ~PTE_W);
	or_entry(2, PTE_NX);
	tmem_put(&tm, epa(1), tmem_get(&tm, epa(1)) & ~PTE_U);
	cr_assert_eq(run_x86(&r, VA, ACC_READ), WALK_OK);
	cr_assert_eq(r.rights, RIGHT_R);
	cr_assert_eq(run_x86(&r, VA, ACC_WRITE), WALK_FAULT);
	cr_assert_eq(r.error_code, PFERR_P | PFERR_W);
	cr_assert_eq(r.rights, RIGHT_R, "rights reported on a permission fault");
}

/* ---- start point, 5 levels --------------------------------------------- */

Test(walker, start_point_matches_full_walk)
{
	struct walk_req full, part;

	tmem_map(&tm, root, 4, VA, 0xabcde000, LEVEL_4K, UPPER, LEAF);
	tmem_put(&tm, epa(4), tmem_get(&tm, epa(4)) & ~PTE_U);
	cr_assert_eq(run_x86(&full, VA, ACC_READ), WALK_OK);

	init_req(&part, WALK_FMT_X86_64, &mode4, 0xdead000, VA, ACC_READ);
	part.start_level = 2;
	part.start_table = full.table[2];
	part.start_rights = RIGHT_R | RIGHT_W | RIGHT_X;	/* from PML4E+PDPTE */
	cr_assert_eq(do_walk(&part), WALK_OK);
	cr_assert_eq(part.pa, full.pa);
	cr_assert_eq(part.level, full.level);
	cr_assert_eq(part.rights, full.rights);
	cr_assert_eq(part.reads, 2);
	cr_assert_eq(part.table[4], 0);
	cr_assert_eq(part.table[2], full.table[2]);

	/* Cached rights still count: no U above means a user access faults. */
	part.access = ACC_READ | ACC_USER;
	cr_assert_eq(do_walk(&part), WALK_FAULT);
	cr_assert_eq(part.error_code, PFERR_P | PFERR_U);
	cr_assert_eq(part.reads, 2);
}

Test(walker, five_level_walk)
{
	struct walk_req r;
	struct walk_mode m = mode4;
	const uint64_t va = UINT64_C(0x00ab123456789abc);	/* bit 56 clear: canonical */

	m.levels = 5;
	tmem_map(&tm, root, 5, va, 0x77777000, LEVEL_4K, UPPER, LEAF);
	cr_assert_eq(run(&r, WALK_FMT_X86_64, &m, root, va, ACC_WRITE), WALK_OK);
	cr_assert_eq(r.pa, 0x77777abc);
	cr_assert_eq(r.reads, 5);
	cr_assert_eq(r.ad_writes, 5);
	cr_assert_eq(r.table[5], root);
	cr_assert_neq(WALK_INDEX(va, 5), 0);

	tmem_map(&tm, root, 5, va, UINT64_C(0x2c0000000), LEVEL_1G, UPPER, LEAF);
	cr_assert_eq(run(&r, WALK_FMT_X86_64, &m, root, va, ACC_READ), WALK_OK);
	cr_assert_eq(r.reads, 3);
	cr_assert_eq(r.pa, UINT64_C(0x2c0000000) | (va & 0x3fffffff));

	/* PS in a PML5E is reserved. */
	tmem_put(&tm, root + 8 * WALK_INDEX(va, 5),
		 tmem_get(&tm, root + 8 * WALK_INDEX(va, 5)) | PTE_PS);
	cr_assert_eq(run(&r, WALK_FMT_X86_64, &m, root, va, ACC_READ), WALK_FAULT);
	cr_assert_eq(r.error_code, PFERR_P | PFERR_RSVD);
	cr_assert_eq(r.level, 5);
}

/* ---- hook aborts -------------------------------------------------------- */

Test(walker, abort_from_read_hook)
{
	struct walk_req r;

	tmem_map(&tm, root, 4, VA, 0xabcde000, LEVEL_4K, UPPER, LEAF);
	tmem_reset_counts(&tm);
	tm.abort_read = 3;
	tm.abort_code = -7;
	cr_assert_eq(run_x86(&r, VA, ACC_WRITE), WALK_ABORT);
	cr_assert_eq(r.abort_code, -7);
	cr_assert_eq(r.reads, 2);
	cr_assert_eq(r.level, LEVEL_2M, "stopped at the level whose read aborted");
	cr_assert_eq(tm.set_calls, 0);
}

Test(walker, abort_from_set_hook)
{
	struct walk_req r;

	tmem_map(&tm, root, 4, VA, 0xabcde000, LEVEL_4K, UPPER, LEAF);
	tmem_reset_counts(&tm);
	tm.abort_set = 2;
	init_req(&r, WALK_FMT_X86_64, &mode4, root, VA, ACC_READ);
	cr_assert_eq(do_walk(&r), WALK_ABORT);
	cr_assert_eq(r.abort_code, -14);
	cr_assert_eq(r.ad_writes, 1);
	cr_assert_eq(r.refs, 5);
}
