/*
 * test_psc.c - the paging-structure caches: keys per level, longest
 * match, context tags and flushes.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "mmu.h"

#define GEOM(n, w)	((struct tc_geom){ .entries = (n), .ways = (w) })

static struct psc P;
static uint64_t clk;

static void up(void)
{
	struct tc_geom g[3] = { GEOM(8, 2), GEOM(4, 2), GEOM(2, 2) };

	cr_assert_eq(psc_init(&P, g, &clk), 0);
}

static unsigned valid(void)
{
	unsigned n = 0;

	for (unsigned l = 0; l < 3; l++)
		for (uint32_t i = 0; i < P.c[l].sets * P.c[l].ways; i++)
			n += (P.c[l].e[i].flags & TCE_VALID) ? 1u : 0u;
	return n;
}

static const uint32_t CTX = TC_CTX(1, 1);

Test(psc, empty_misses)
{
	uint64_t table = 0;
	unsigned rights = 0;

	up();
	cr_expect_eq(psc_lookup(&P, 0x1234000, CTX, &table, &rights), 0);
	psc_destroy(&P);
}

Test(psc, absent_caches_ignore_fills)
{
	struct tc_geom g[3] = { GEOM(0, 0), GEOM(4, 2), GEOM(0, 0) };
	uint64_t table = 0;
	unsigned rights = 0;

	cr_assert_eq(psc_init(&P, g, &clk), 0);
	psc_fill(&P, 0x1000, CTX, 2, 0xa000, RIGHTS_ALL);
	psc_fill(&P, 0x1000, CTX, 4, 0xc000, RIGHTS_ALL);
	cr_expect_eq(psc_lookup(&P, 0x1000, CTX, &table, &rights), 0);
	psc_fill(&P, 0x1000, CTX, 3, 0xb000, RIGHTS_ALL);
	cr_expect_eq(psc_lookup(&P, 0x1000, CTX, &table, &rights), 2);
	cr_expect_eq(table, 0xb000);
	psc_destroy(&P);
}

Test(psc, rejects_bad_geometry)
{
	struct tc_geom g[3] = { GEOM(8, 2), GEOM(4, 2), GEOM(6, 4) };

	cr_expect_eq(psc_init(&P, g, &clk), -EINVAL);
}

Test(psc, longest_match_wins)
{
	const uint64_t va = 0x00007f1234567000;
	uint64_t table = 0;
	unsigned rights = 0;

	up();
	psc_fill(&P, va, CTX, 4, 0xc000, RIGHTS_ALL);		/* PML4E -> PDPT */
	cr_expect_eq(psc_lookup(&P, va, CTX, &table, &rights), 3);
	cr_expect_eq(table, 0xc000);
	psc_fill(&P, va, CTX, 3, 0xb000, RIGHT_R | RIGHT_W);	/* PDPTE -> PD */
	cr_expect_eq(psc_lookup(&P, va, CTX, &table, &rights), 2);
	cr_expect_eq(table, 0xb000);
	cr_expect_eq(rights, RIGHT_R | RIGHT_W);
	psc_fill(&P, va, CTX, 2, 0xa000, RIGHT_R);		/* PDE -> PT */
	cr_expect_eq(psc_lookup(&P, va, CTX, &table, &rights), 1);
	cr_expect_eq(table, 0xa000);
	cr_expect_eq(rights, RIGHT_R);
	psc_destroy(&P);
}

Test(psc, keys_follow_the_region_each_level_maps)
{
	const uint64_t va = 0x00007f1234567000;
	uint64_t table = 0;
	unsigned rights = 0;

	up();
	psc_fill(&P, va, CTX, 2, 0xa000, RIGHTS_ALL);
	psc_fill(&P, va, CTX, 3, 0xb000, RIGHTS_ALL);
	psc_fill(&P, va, CTX, 4, 0xc000, RIGHTS_ALL);
	/* same 2M region: the PDE serves it */
	cr_expect_eq(psc_lookup(&P, (va & ~(2 * MiB - 1)) + 0x1ff000, CTX, &table, &rights), 1);
	/* next 2M, same 1G: the PDPTE */
	cr_expect_eq(psc_lookup(&P, (va & ~(2 * MiB - 1)) + 2 * MiB, CTX, &table, &rights), 2);
	cr_expect_eq(table, 0xb000);
	/* next 1G, same 512G: the PML4E */
	cr_expect_eq(psc_lookup(&P, (va & ~(GiB - 1)) + GiB, CTX, &table, &rights), 3);
	cr_expect_eq(table, 0xc000);
	/* next 512G: nothing */
	cr_expect_eq(psc_lookup(&P, va + (UINT64_C(1) << 39), CTX, &table, &rights), 0);
	psc_destroy(&P);
}

Test(psc, contexts_are_isolated)
{
	uint64_t table = 0;
	unsigned rights = 0;

	up();
	psc_fill(&P, 0x1000, CTX, 2, 0xa000, RIGHTS_ALL);
	cr_expect_eq(psc_lookup(&P, 0x1000, TC_CTX(1, 2), &table, &rights), 0);
	cr_expect_eq(psc_lookup(&P, 0x1000, TC_CTX(2, 1), &table, &rights), 0);
	cr_expect_eq(psc_lookup(&P, 0x1000, CTX, &table, &rights), 1);
	psc_destroy(&P);
}

Test(psc, lru_replacement)
{
	uint64_t table = 0;
	unsigned rights = 0;

	up();			/* PDE cache: 4 sets x 2 ways; set = (va >> 21) & 3 */
	psc_fill(&P, 0 * 8 * MiB, CTX, 2, 0xa000, RIGHTS_ALL);
	psc_fill(&P, 1 * 8 * MiB, CTX, 2, 0xb000, RIGHTS_ALL);
	cr_assert_eq(psc_lookup(&P, 0, CTX, &table, &rights), 1);
	psc_fill(&P, 2 * 8 * MiB, CTX, 2, 0xc000, RIGHTS_ALL);	/* evicts 8M */
	cr_expect_eq(psc_lookup(&P, 8 * MiB, CTX, &table, &rights), 0);
	cr_expect_eq(psc_lookup(&P, 0, CTX, &table, &rights), 1);
	cr_expect_eq(psc_lookup(&P, 16 * MiB, CTX, &table, &rights), 1);
	cr_expect_eq(table, 0xc000);
	psc_destroy(&P);
}

Test(psc, flushes)
{
	up();
	psc_fill(&P, 0x1000, TC_CTX(1, 1), 2, 0xa000, RIGHTS_ALL);
	psc_fill(&P, 0x1000, TC_CTX(1, 1), 4, 0xa000, RIGHTS_ALL);
	psc_fill(&P, 0x1000, TC_CTX(1, 2), 3, 0xb000, RIGHTS_ALL);
	psc_fill(&P, 0x1000, TC_CTX(2, 1), 2, 0xc000, RIGHTS_ALL);
	psc_fill(&P, 0x1000, TC_CTX(2, 2), 4, 0xd000, RIGHTS_ALL);
	cr_assert_eq(valid(), 5);
	psc_flush_ctx(&P, TC_CTX(1, 1));
	cr_expect_eq(valid(), 3);
	psc_flush_vpid(&P, 2);
	cr_expect_eq(valid(), 1);
	psc_flush_all(&P);
	cr_expect_eq(valid(), 0);
	psc_destroy(&P);
}

Test(psc, level5_is_not_cached)
{
	uint64_t table = 0;
	unsigned rights = 0;

	up();
	psc_fill(&P, 0x1000, CTX, 5, 0xa000, RIGHTS_ALL);
	cr_expect_eq(valid(), 0);
	cr_expect_eq(psc_lookup(&P, 0x1000, CTX, &table, &rights), 0);
	psc_destroy(&P);
}
