/*
 * test_ept.c - the walker over the EPT entry format: leaf sizes, A/D only
 * with EPTP.AD, misconfigurations (write without read, memory type,
 * reserved bits), violation qualification bits, memory holes, 5 levels.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "testmem.h"
#include "walker.h"

#define MEM_SIZE	(1 * MiB)
#define EPT_RWX		(EPTE_R | EPTE_W | EPTE_X)
#define EPT_LEAF	(EPT_RWX | EPTE_MT_WB)
#define ULL(x)		((unsigned long long)(x))
#define FAR_PA		UINT64_C(0x00000abc00000000)	/* far beyond the array */
#define GPA		UINT64_C(0x0000123456789abc)
#define EPTP(t)		((t) | 0x1e)	/* WB, 4-level walk */

static const struct walk_mode ept4 = {
	.levels = 4, .maxphyaddr = 46, .gbpages = true,
};

static const struct walk_mode ept4_ad = {
	.levels = 4, .maxphyaddr = 46, .gbpages = true, .ept_ad = true,
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

TestSuite(walker_ept, .init = setup, .fini = teardown);

/* The pa of the entry for GPA at level l (4 levels). */
static uint64_t eepa(unsigned l)
{
	return tmem_entry_pa(&tm, root, 4, GPA, l);
}

static enum walk_result run(struct walk_req *r, const struct walk_mode *m,
			    uint64_t rt, uint64_t gpa, unsigned access)
{
	tmem_req(&tm, r, WALK_FMT_EPT, m, rt, gpa, access);
	return tmem_walk(&tm, r);
}

static enum walk_result run_ept(struct walk_req *r, const struct walk_mode *m,
				unsigned access)
{
	return run(r, m, EPTP(root), GPA, access);
}

Test(walker_ept, leaf_sizes)
{
	struct walk_req r;
	const unsigned lvl[] = { LEVEL_4K, LEVEL_2M, LEVEL_1G };
	const uint64_t hpa = UINT64_C(0x3c0000000);
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(lvl); i++) {
		uint64_t off = GPA & (LEVEL_SIZE(lvl[i]) - 1);

		memset(tm.buf + root, 0, (size_t)PAGE_SIZE);
		tmem_map(&tm, root, 4, GPA, hpa, lvl[i], EPT_RWX, EPT_LEAF);
		cr_assert_eq(run_ept(&r, &ept4, ACC_WRITE), WALK_OK, "level %u", lvl[i]);
		cr_assert_eq(r.pa, hpa | off, "pa %#llx", ULL(r.pa));
		cr_assert_eq(r.level, lvl[i]);
		cr_assert_eq(r.reads, 5 - lvl[i]);
		cr_assert_eq(r.rights, RIGHT_R | RIGHT_W | RIGHT_X);
		cr_assert_eq(r.ad_writes, 0, "no EPT A/D without EPTP.AD");
		cr_assert_eq(tmem_get(&tm, eepa(lvl[i])) & (EPTE_A | EPTE_D), 0);
	}
}

Test(walker_ept, ad_only_when_enabled)
{
	struct walk_req r;
	unsigned l;

	tmem_map(&tm, root, 4, GPA, 0x5000, LEVEL_4K, EPT_RWX, EPT_LEAF);
	cr_assert_eq(run_ept(&r, &ept4_ad, ACC_READ), WALK_OK);
	cr_assert_eq(r.ad_writes, 4);
	for (l = 4; l >= 1; l--)
		cr_assert_eq(tmem_get(&tm, eepa(l)) & (EPTE_A | EPTE_D), EPTE_A, "level %u", l);
	cr_assert_eq(run_ept(&r, &ept4_ad, ACC_WRITE), WALK_OK);
	cr_assert_eq(r.ad_writes, 1);
	cr_assert_eq(tmem_get(&tm, eepa(1)) & (EPTE_A | EPTE_D), EPTE_A | EPTE_D);
	cr_assert_eq(r.leaf, tmem_get(&tm, eepa(1)));
	cr_assert_eq(tmem_get(&tm, eepa(2)) & EPTE_D, 0);
	/* Exactly A and D were added to the leaf, nothing else. */
	cr_assert_eq(tmem_get(&tm, eepa(1)), 0x5000 | EPT_LEAF | EPTE_A | EPTE_D);
}

Test(walker_ept, misconfig_write_without_read)
{
	struct walk_req r;
	const uint64_t bad[] = { EPTE_W, EPTE_W | EPTE_X };
	unsigned l, i;

	tmem_map(&tm, root, 4, GPA, 0x5000, LEVEL_4K, EPT_RWX, EPT_LEAF);
	for (l = 4; l >= 1; l--) {
		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			uint64_t e = tmem_get(&tm, eepa(l));

			tmem_put(&tm, eepa(l), (e & ~EPT_RWX) | bad[i]);
			cr_assert_eq(run_ept(&r, &ept4, ACC_READ), WALK_MISCONFIG,
				     "xwr %llx at level %u", ULL(bad[i]), l);
			cr_assert_eq(r.level, l);
			tmem_put(&tm, eepa(l), e);
		}
	}
	/* Execute-only is legal: a read of it is a violation, a fetch passes. */
	tmem_put(&tm, eepa(1), (tmem_get(&tm, eepa(1)) & ~EPT_RWX) | EPTE_X);
	cr_assert_eq(run_ept(&r, &ept4, ACC_FETCH), WALK_OK);
	cr_assert_eq(run_ept(&r, &ept4, ACC_READ), WALK_FAULT);
	cr_assert_eq(r.error_code, EPT_QUAL_READ | EPT_QUAL_EXECUTABLE);
}

Test(walker_ept, misconfig_memtype)
{
	struct walk_req r;
	unsigned mt, l;

	for (l = LEVEL_4K; l <= LEVEL_2M; l++) {
		memset(tm.buf + root, 0, (size_t)PAGE_SIZE);
		tmem_map(&tm, root, 4, GPA, 0x400000, l, EPT_RWX, EPT_RWX);
		for (mt = 0; mt < 8; mt++) {
			bool bad = mt == 2 || mt == 3 || mt == 7;
			uint64_t e = tmem_get(&tm, eepa(l)) & ~(UINT64_C(7) << EPTE_MT_SHIFT);

			tmem_put(&tm, eepa(l), e | ((uint64_t)mt << EPTE_MT_SHIFT));
			cr_assert_eq(run_ept(&r, &ept4, ACC_READ), bad ? WALK_MISCONFIG : WALK_OK,
				     "memtype %u in a level-%u leaf", mt, l);
		}
	}
}

Test(walker_ept, misconfig_reserved_bits)
{
	struct walk_req r;
	struct walk_mode nogb = ept4;
	unsigned b;

	nogb.gbpages = false;
	tmem_map(&tm, root, 4, GPA, 0x5000, LEVEL_4K, EPT_RWX, EPT_LEAF);
	for (b = 3; b <= 7; b++) {
		uint64_t e = tmem_get(&tm, eepa(4));

		tmem_put(&tm, eepa(4), e | (UINT64_C(1) << b));
		cr_assert_eq(run_ept(&r, &ept4, ACC_READ), WALK_MISCONFIG, "PML4E bit %u", b);
		cr_assert_eq(r.level, 4);
		tmem_put(&tm, eepa(4), e);
	}
	for (b = 3; b <= 6; b++) {
		uint64_t e3 = tmem_get(&tm, eepa(3)), e2 = tmem_get(&tm, eepa(2));

		tmem_put(&tm, eepa(3), e3 | (UINT64_C(1) << b));
		cr_assert_eq(run_ept(&r, &ept4, ACC_READ), WALK_MISCONFIG, "PDPTE bit %u", b);
		tmem_put(&tm, eepa(3), e3);
		tmem_put(&tm, eepa(2), e2 | (UINT64_C(1) << b));
		cr_assert_eq(run_ept(&r, &ept4, ACC_READ), WALK_MISCONFIG, "PDE bit %u", b);
		cr_assert_eq(r.level, 2);
		tmem_put(&tm, eepa(2), e2);
	}
	tmem_put(&tm, eepa(1), tmem_get(&tm, eepa(1)) | (UINT64_C(1) << 46));
	cr_assert_eq(run_ept(&r, &ept4, ACC_READ), WALK_MISCONFIG, "bit MAXPHYADDR");
	tmem_put(&tm, eepa(1), (tmem_get(&tm, eepa(1)) & ~(UINT64_C(1) << 46)) | EPTE_LARGE |
		 (UINT64_C(1) << 63) | (UINT64_C(1) << 52));
	cr_assert_eq(run_ept(&r, &ept4, ACC_READ), WALK_OK, "bit 7 of a level-1 EPTE, 63:52 ignored");

	/* Large leaves: bits 12..20 (2M) and 12..29 (1G) are reserved. */
	tmem_map(&tm, root, 4, GPA, 0x40000000, LEVEL_2M, EPT_RWX, EPT_LEAF);
	tmem_put(&tm, eepa(2), tmem_get(&tm, eepa(2)) | (UINT64_C(1) << 12));
	cr_assert_eq(run_ept(&r, &ept4, ACC_READ), WALK_MISCONFIG, "2M leaf bit 12");
	tmem_map(&tm, root, 4, GPA, 0x40000000, LEVEL_1G, EPT_RWX, EPT_LEAF);
	cr_assert_eq(run_ept(&r, &ept4, ACC_READ), WALK_OK);
	cr_assert_eq(run_ept(&r, &nogb, ACC_READ), WALK_MISCONFIG, "1G without gbpages");
	cr_assert_eq(r.level, 3);
	tmem_put(&tm, eepa(3), tmem_get(&tm, eepa(3)) | (UINT64_C(1) << 29));
	cr_assert_eq(run_ept(&r, &ept4, ACC_READ), WALK_MISCONFIG, "1G leaf bit 29");
}

Test(walker_ept, violation_qualification)
{
	struct walk_req r;

	tmem_map(&tm, root, 4, GPA, 0x5000, LEVEL_4K, EPT_RWX, EPT_LEAF);

	/* Not present at level 2: only the access bits, rights 0. */
	tmem_put(&tm, eepa(2), tmem_get(&tm, eepa(2)) & ~EPT_RWX);
	cr_assert_eq(run_ept(&r, &ept4_ad, ACC_WRITE), WALK_FAULT);
	cr_assert_eq(r.error_code, EPT_QUAL_WRITE);
	cr_assert_eq(r.level, 2);
	cr_assert_eq(run_ept(&r, &ept4, ACC_FETCH), WALK_FAULT);
	cr_assert_eq(r.error_code, EPT_QUAL_FETCH);
	tmem_put(&tm, eepa(2), tmem_get(&tm, eepa(2)) | EPTE_R | EPTE_X);

	/* W missing at level 2 only: the AND has no W. */
	cr_assert_eq(run_ept(&r, &ept4_ad, ACC_WRITE), WALK_FAULT);
	cr_assert_eq(r.error_code, EPT_QUAL_WRITE | EPT_QUAL_READABLE | EPT_QUAL_EXECUTABLE);
	cr_assert_eq(r.level, 1);
	cr_assert_eq(tmem_get(&tm, eepa(4)) & EPTE_A, 0, "no A/D on a violation");
	cr_assert_eq(run_ept(&r, &ept4, ACC_READ), WALK_OK);

	/* A read/write leaf refuses fetches. */
	tmem_put(&tm, eepa(2), tmem_get(&tm, eepa(2)) | EPTE_W);
	tmem_put(&tm, eepa(1), tmem_get(&tm, eepa(1)) & ~EPTE_X);
	cr_assert_eq(run_ept(&r, &ept4, ACC_FETCH | ACC_USER), WALK_FAULT);
	cr_assert_eq(r.error_code, EPT_QUAL_FETCH | EPT_QUAL_READABLE | EPT_QUAL_WRITABLE);
	/* ACC_USER means nothing to EPT. */
	cr_assert_eq(run_ept(&r, &ept4, ACC_WRITE | ACC_USER), WALK_OK);
}

Test(walker_ept, memory_hole_is_misconfig)
{
	struct walk_req r;

	tmem_map(&tm, root, 4, GPA, 0x5000, LEVEL_4K, EPT_RWX, EPT_LEAF);
	tmem_put(&tm, eepa(3), FAR_PA | EPT_RWX);
	cr_assert_eq(run_ept(&r, &ept4_ad, ACC_READ), WALK_MISCONFIG);
	cr_assert_eq(r.level, 2);
	cr_assert_eq(tm.oob_reads, 1);
	cr_assert_eq(tm.sets, 0);
}

Test(walker_ept, five_levels)
{
	struct walk_req r;
	struct walk_mode m = ept4;
	const uint64_t gpa = UINT64_C(0x000f00000000a123);

	m.levels = 5;
	m.maxphyaddr = 52;
	tmem_map(&tm, root, 5, gpa, 0x9000, LEVEL_4K, EPT_RWX, EPT_LEAF);
	cr_assert_eq(run(&r, &m, root | 0x26, gpa, ACC_READ), WALK_OK);
	cr_assert_eq(r.pa, 0x9123);
	cr_assert_eq(r.reads, 5);
}
