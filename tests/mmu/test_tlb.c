/*
 * test_tlb.c - the tagged caches and the TLB model on small geometries:
 * replacement, sizes and splintering, dirty and permission masks, the
 * SDM 4.10.4 invalidations, and the memo's exactness.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "mmu.h"

#define S4K	(1u << LEVEL_4K)
#define S2M	(1u << LEVEL_2M)
#define S1G	(1u << LEVEL_1G)

#define GEOM(n, w, sz, rp)	((struct tc_geom){ .entries = (n), .ways = (w), \
				  .sizes = (uint8_t)(sz), .repl = (rp) })

#define RW	(RIGHT_R | RIGHT_W)
#define RWX	(RIGHT_R | RIGHT_W | RIGHT_X)
#define URWX	RIGHTS_ALL

#define IDX_SR	ACC_IDX(ACC_READ)
#define IDX_SW	ACC_IDX(ACC_WRITE)
#define IDX_SX	ACC_IDX(ACC_FETCH)
#define IDX_UR	ACC_IDX(ACC_USER | ACC_READ)
#define IDX_UW	ACC_IDX(ACC_USER | ACC_WRITE)
#define IDX_UX	ACC_IDX(ACC_USER | ACC_FETCH)

static struct tlb T;

/* ------------------------------------------------------------------ */
/* helpers                                                              */
/* ------------------------------------------------------------------ */

static void up(const struct tlb_config *cfg)
{
	cr_assert_eq(tlb_init(&T, cfg), 0);
}

/* One L1 4K array and one L2 4K array: the plain two-level TLB. */
static void up_plain(void)
{
	struct tlb_config cfg = {
		.l1 = { GEOM(4, 2, S4K, TC_REPL_LRU) },
		.l2 = { GEOM(16, 4, S4K, TC_REPL_LRU) },
		.psc = { GEOM(4, 2, 0, TC_REPL_LRU), GEOM(4, 2, 0, TC_REPL_LRU),
			 GEOM(2, 2, 0, TC_REPL_LRU) },
	};

	up(&cfg);
}

static struct tlb_memo *put(gva_t va, hpa_t hpa, unsigned level,
			    unsigned rights, bool global, bool dirty)
{
	struct tlb_fill f = {
		.va = va, .hpa = hpa, .level = (uint8_t)level,
		.rights = (uint8_t)rights, .global = global, .dirty = dirty,
	};

	return tlb_fill(&T, &f);
}

/* A dirty, writable, non-global 4K supervisor page. */
static void put4k(gva_t va, hpa_t hpa)
{
	put(va, hpa, LEVEL_4K, RWX, false, true);
}

/* Full lookup; returns where and, on a hit, the hpa of va's 4K piece. */
static enum tlb_where look(gva_t va, unsigned acc, hpa_t *hpa)
{
	enum tlb_where w = TLB_L2 + 1;
	struct tlb_memo *m = tlb_lookup(&T, va, ACC_IDX(acc), &w);

	if (m) {
		cr_assert_neq(w, TLB_MISS);
		if (hpa)
			*hpa = m->hpa;
	} else {
		cr_assert_eq(w, TLB_MISS);
	}
	return w;
}

static bool hits(gva_t va, unsigned acc)
{
	return look(va, acc, NULL) != TLB_MISS;
}

static unsigned count_valid(const struct tc *c)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < c->sets * c->ways; i++)
		n += (c->e[i].flags & TCE_VALID) ? 1u : 0u;
	return n;
}

static unsigned tlb_valid(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < T.n_l1; i++)
		n += count_valid(&T.l1[i]);
	for (unsigned i = 0; i < T.n_l2; i++)
		n += count_valid(&T.l2[i]);
	return n;
}

static unsigned psc_valid(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < 3; i++)
		n += count_valid(&T.psc.c[i]);
	return n;
}

/* The valid entry of array c holding va at `level` under any context. */
static const struct tc_entry *entry_at(const struct tc *c, gva_t va,
				       unsigned level)
{
	for (uint32_t i = 0; i < c->sets * c->ways; i++) {
		const struct tc_entry *e = &c->e[i];

		if ((e->flags & TCE_VALID) && e->level == level &&
		    c->key[i] == va >> LEVEL_SHIFT(level))
			return e;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* tc: the generic cache                                                */
/* ------------------------------------------------------------------ */

static uint64_t clk;

Test(tc, rejects_bad_geometry)
{
	struct tc c;

	cr_expect_eq(tc_init(&c, &GEOM(12, 2, S4K, 0), &clk), -EINVAL);	/* 6 sets */
	cr_expect_eq(tc_init(&c, &GEOM(12, 4, S4K, 0), &clk), -EINVAL);	/* 3 sets */
	cr_expect_eq(tc_init(&c, &GEOM(6, 4, S4K, 0), &clk), -EINVAL);	/* not a multiple */
	cr_expect_eq(tc_init(&c, &GEOM(4, 0, S4K, 0), &clk), -EINVAL);
	cr_expect_eq(tc_init(&c, &GEOM(4, 8, S4K, 0), &clk), -EINVAL);
	cr_expect_eq(tc_init(&c, &GEOM(4, 2, S4K, 7), &clk), -EINVAL);
	cr_assert_eq(tc_init(&c, &GEOM(48, 48, S4K, 0), &clk), 0);	/* fully assoc. */
	cr_expect_eq(c.sets, 1);
	tc_destroy(&c);
	cr_assert_eq(tc_init(&c, &GEOM(1536, 12, S4K, 0), &clk), 0);	/* 128 sets */
	cr_expect_eq(c.sets, 128);
	tc_destroy(&c);
}

Test(tc, empty_cache_misses_and_ignores_inserts)
{
	struct tc c;

	cr_assert_eq(tc_init(&c, &GEOM(0, 0, S4K, 0), &clk), 0);
	cr_expect_null(tc_insert(&c, 0x1000, LEVEL_4K, 0));
	cr_expect_null(tc_find(&c, 0x1000, LEVEL_4K, 0, true));
	tc_destroy(&c);
}

Test(tc, hit_miss_and_tags)
{
	struct tc c;
	struct tc_entry *e;
	uint32_t ctx = TC_CTX(1, 5);

	cr_assert_eq(tc_init(&c, &GEOM(4, 2, S4K, 0), &clk), 0);
	e = tc_insert(&c, 0x7000, LEVEL_4K, ctx);
	cr_assert_not_null(e);
	e->val = 0xabc000;
	cr_expect_eq(tc_find(&c, 0x7fff, LEVEL_4K, ctx, false), e);	/* same page */
	cr_expect_null(tc_find(&c, 0x8000, LEVEL_4K, ctx, false));	/* next page */
	cr_expect_null(tc_find(&c, 0x7000, LEVEL_2M, ctx, false));	/* other size */
	cr_expect_null(tc_find(&c, 0x7000, LEVEL_4K, TC_CTX(1, 6), true));	/* other pcid */
	e->flags |= TCE_GLOBAL;
	cr_expect_eq(tc_find(&c, 0x7000, LEVEL_4K, TC_CTX(1, 6), true), e);
	cr_expect_null(tc_find(&c, 0x7000, LEVEL_4K, TC_CTX(1, 6), false));
	cr_expect_null(tc_find(&c, 0x7000, LEVEL_4K, TC_CTX(2, 5), true));	/* other vpid */
	tc_destroy(&c);
}

Test(tc, find_stamps_lru_and_insert_reuses_match)
{
	struct tc c;
	struct tc_entry *e;

	clk = 0;
	cr_assert_eq(tc_init(&c, &GEOM(4, 2, S4K, 0), &clk), 0);
	e = tc_insert(&c, 0x2000, LEVEL_4K, 0);
	cr_expect_eq(tc_lru(&c, e), 1);
	cr_expect_eq(tc_lru(&c, tc_find(&c, 0x2000, LEVEL_4K, 0, false)), 2);
	cr_expect_eq(tc_insert(&c, 0x2000, LEVEL_4K, 0), e);	/* same slot */
	cr_expect_eq(count_valid(&c), 1);
	tc_destroy(&c);
}

Test(tc, invalidate_bumps_gen)
{
	struct tc c;
	struct tc_entry *e;
	uint32_t g;

	cr_assert_eq(tc_init(&c, &GEOM(4, 2, S4K, 0), &clk), 0);
	e = tc_insert(&c, 0x2000, LEVEL_4K, 0);
	g = e->gen;
	tc_invalidate_entry(&c, e);
	cr_expect_eq(e->gen, g + 1);
	cr_expect_null(tc_find(&c, 0x2000, LEVEL_4K, 0, false));
	cr_expect_eq(tc_insert(&c, 0x2000, LEVEL_4K, 0), e);	/* invalid way first */
	cr_expect_eq(e->gen, g + 2);
	tc_destroy(&c);
}

/* 4 entries, 2 ways: 2 sets; even 4K pages share set 0. */
Test(tc, lru_evicts_oldest)
{
	struct tc c;

	cr_assert_eq(tc_init(&c, &GEOM(4, 2, S4K, TC_REPL_LRU), &clk), 0);
	tc_insert(&c, 0x0000, LEVEL_4K, 0);	/* A */
	tc_insert(&c, 0x2000, LEVEL_4K, 0);	/* B */
	tc_insert(&c, 0x1000, LEVEL_4K, 0);	/* set 1: must not disturb set 0 */
	cr_assert_not_null(tc_find(&c, 0x0000, LEVEL_4K, 0, false));	/* touch A */
	tc_insert(&c, 0x4000, LEVEL_4K, 0);	/* C evicts B, the oldest */
	cr_expect_not_null(tc_find(&c, 0x0000, LEVEL_4K, 0, false));
	cr_expect_null(tc_find(&c, 0x2000, LEVEL_4K, 0, false));
	cr_expect_not_null(tc_find(&c, 0x4000, LEVEL_4K, 0, false));
	cr_expect_not_null(tc_find(&c, 0x1000, LEVEL_4K, 0, false));
	/* now A is older than C: D evicts A */
	cr_assert_not_null(tc_find(&c, 0x4000, LEVEL_4K, 0, false));
	tc_insert(&c, 0x6000, LEVEL_4K, 0);
	cr_expect_null(tc_find(&c, 0x0000, LEVEL_4K, 0, false));
	cr_expect_not_null(tc_find(&c, 0x4000, LEVEL_4K, 0, false));
	cr_expect_not_null(tc_find(&c, 0x6000, LEVEL_4K, 0, false));
	tc_destroy(&c);
}

Test(tc, random_replacement_is_deterministic)
{
	struct tc a, b;
	uint64_t ca = 0, cb = 0;
	unsigned victims[4] = { 0 };

	cr_assert_eq(tc_init(&a, &GEOM(16, 4, S4K, TC_REPL_RANDOM), &ca), 0);
	cr_assert_eq(tc_init(&b, &GEOM(16, 4, S4K, TC_REPL_RANDOM), &cb), 0);
	for (uint64_t i = 0; i < 400; i++) {
		uint64_t va = (i * 4) << PAGE_SHIFT;	/* all in set 0 */
		struct tc_entry *ea = tc_insert(&a, va, LEVEL_4K, 0);
		struct tc_entry *eb = tc_insert(&b, va, LEVEL_4K, 0);

		cr_assert_eq(ea - a.e, eb - b.e);
		cr_assert_lt((size_t)(ea - a.e), 4);
		victims[ea - a.e]++;
	}
	for (unsigned w = 0; w < 4; w++)	/* and it is not degenerate */
		cr_expect_gt(victims[w], 50, "way %u chosen %u times", w, victims[w]);
	tc_destroy(&a);
	tc_destroy(&b);
}

Test(tc, fully_associative)
{
	struct tc c;
	uint64_t va[5] = { 0x1000, 0x7000, 0x123000, 0xfff000, 0x40000000 };

	cr_assert_eq(tc_init(&c, &GEOM(4, 4, S4K, TC_REPL_LRU), &clk), 0);
	for (unsigned i = 0; i < 4; i++)
		tc_insert(&c, va[i], LEVEL_4K, 0);
	for (unsigned i = 0; i < 4; i++)	/* no conflicts: all present */
		cr_expect_not_null(tc_find(&c, va[i], LEVEL_4K, 0, false));
	cr_assert_not_null(tc_find(&c, va[0], LEVEL_4K, 0, false));
	tc_insert(&c, va[4], LEVEL_4K, 0);	/* evicts va[1], least recent */
	cr_expect_null(tc_find(&c, va[1], LEVEL_4K, 0, false));
	cr_expect_not_null(tc_find(&c, va[0], LEVEL_4K, 0, false));
	cr_expect_not_null(tc_find(&c, va[4], LEVEL_4K, 0, false));
	tc_destroy(&c);
}

/* ------------------------------------------------------------------ */
/* TLB: hits, levels, sizes                                             */
/* ------------------------------------------------------------------ */

Test(tlb, hit_miss)
{
	hpa_t hpa = 0;
	struct tlb_memo *m;

	up_plain();
	cr_expect_eq(look(0x5000, ACC_READ, NULL), TLB_MISS);
	m = put(0x5000, 0x99000, LEVEL_4K, RWX, false, true);
	cr_expect_eq(m->hpa, 0x99000);
	cr_expect_eq(look(0x5123, ACC_READ, &hpa), TLB_L1);
	cr_expect_eq(hpa, 0x99000);
	cr_expect_eq(look(0x6000, ACC_READ, NULL), TLB_MISS);
	cr_expect_eq(tlb_valid(), 2);		/* one in L1, one in L2 */
	tlb_destroy(&T);
}

Test(tlb, lru_in_l1_and_l2_hit_refills_l1)
{
	/* L1: one set of 2 ways; L2 big enough for everything */
	struct tlb_config cfg = {
		.l1 = { GEOM(2, 2, S4K, TC_REPL_LRU) },
		.l2 = { GEOM(16, 4, S4K, TC_REPL_LRU) },
	};

	up(&cfg);
	put4k(0x1000, 0xa000);
	put4k(0x2000, 0xb000);
	cr_assert_eq(look(0x1000, ACC_READ, NULL), TLB_L1);	/* 0x2000 now LRU */
	put4k(0x3000, 0xc000);				/* evicts 0x2000 from L1 */
	cr_expect_eq(look(0x1000, ACC_READ, NULL), TLB_L1);
	cr_expect_eq(look(0x2000, ACC_READ, NULL), TLB_L2);	/* refills L1, evicts 0x3000 */
	cr_expect_eq(look(0x2000, ACC_READ, NULL), TLB_L1);
	cr_expect_eq(look(0x3000, ACC_READ, NULL), TLB_L2);
	cr_expect_eq(count_valid(&T.l1[0]), 2);
	cr_expect_eq(count_valid(&T.l2[0]), 3);
	tlb_destroy(&T);
}

Test(tlb, absent_arrays_are_skipped)
{
	struct tlb_config cfg = {
		.l1 = { GEOM(0, 0, S4K, 0), GEOM(4, 2, S4K, 0) },
		.l2 = { GEOM(0, 0, 0, 0), GEOM(0, 0, 0, 0), GEOM(8, 2, S4K, 0) },
	};

	up(&cfg);
	cr_expect_eq(T.n_l1, 1);
	cr_expect_eq(T.n_l2, 1);
	put4k(0x1000, 0xa000);
	cr_expect_eq(look(0x1000, ACC_READ, NULL), TLB_L1);
	tlb_destroy(&T);
}

Test(tlb, rejects_bad_sizes)
{
	struct tlb_config cfg = { .l1 = { GEOM(4, 2, 0, 0) } };

	cr_expect_eq(tlb_init(&T, &cfg), -EINVAL);
	cfg.l1[0].sizes = 1u << 0;			/* no level 0 pages */
	cr_expect_eq(tlb_init(&T, &cfg), -EINVAL);
	cfg.l1[0].sizes = S4K;
	cfg.l2[1] = GEOM(6, 4, S4K, 0);
	cr_expect_eq(tlb_init(&T, &cfg), -EINVAL);
}

Test(tlb, empty_tlb_fill_still_translates)
{
	struct tlb_config cfg = { 0 };
	struct tlb_memo *m;

	up(&cfg);
	m = put(0x40201000, 0x80000000, LEVEL_2M, RWX, false, true);
	cr_assert_not_null(m);
	cr_expect_eq(m->hpa, 0x80001000);
	cr_expect_null(tlb_hit_fast(&T, 0x40201000, IDX_SR));
	cr_expect_eq(look(0x40201000, ACC_READ, NULL), TLB_MISS);
	tlb_destroy(&T);
}

Test(tlb, multi_size_array)
{
	/* one fully associative L1 holding 4K and 2M, like Phenom's */
	struct tlb_config cfg = { .l1 = { GEOM(4, 4, S4K | S2M, TC_REPL_LRU) } };
	hpa_t hpa = 0;

	up(&cfg);
	put(0x40200000, 0x80000000, LEVEL_2M, RWX, false, true);
	put4k(0x1000, 0xa000);
	cr_expect_eq(look(0x403ff123, ACC_READ, &hpa), TLB_L1);
	cr_expect_eq(hpa, 0x801ff000);
	cr_expect_eq(look(0x40200000, ACC_READ, &hpa), TLB_L1);
	cr_expect_eq(hpa, 0x80000000);
	cr_expect_eq(look(0x1000, ACC_READ, &hpa), TLB_L1);
	cr_expect_eq(hpa, 0xa000);
	cr_expect_eq(look(0x40400000, ACC_READ, NULL), TLB_MISS);
	cr_assert_not_null(entry_at(&T.l1[0], 0x40200000, LEVEL_2M));
	cr_expect_eq(count_valid(&T.l1[0]), 2);
	/* 1G is not held anywhere in L1: it is splintered to 2M */
	put(0xc0000000, 0x100000000, LEVEL_1G, RWX, false, true);
	cr_expect_not_null(entry_at(&T.l1[0], 0xc0000000, LEVEL_2M));
	tlb_destroy(&T);
}

Test(tlb, splinters_2m_into_4k)
{
	/* L1 holds 4K only; the STLB holds 4K and 2M (Skylake-like) */
	struct tlb_config cfg = {
		.l1 = { GEOM(4, 2, S4K, TC_REPL_LRU) },
		.l2 = { GEOM(16, 4, S4K | S2M, TC_REPL_LRU) },
	};
	const struct tc_entry *e;
	hpa_t hpa = 0;

	up(&cfg);
	put(0x40123000, 0x80000000, LEVEL_2M, RWX, false, true);
	e = entry_at(&T.l1[0], 0x40123000, LEVEL_4K);
	cr_assert_not_null(e);
	cr_expect_eq(e->val, 0x80123000);
	cr_expect_not_null(entry_at(&T.l2[0], 0x40000000, LEVEL_2M));
	cr_expect_eq(count_valid(&T.l1[0]), 1);
	cr_expect_eq(count_valid(&T.l2[0]), 1);
	cr_expect_eq(look(0x40123abc, ACC_READ, &hpa), TLB_L1);
	cr_expect_eq(hpa, 0x80123000);
	/* another 4K piece: L1 misses, the 2M STLB entry hits and
	 * splinters into L1 */
	cr_expect_eq(look(0x401ff000, ACC_READ, &hpa), TLB_L2);
	cr_expect_eq(hpa, 0x801ff000);
	e = entry_at(&T.l1[0], 0x401ff000, LEVEL_4K);
	cr_assert_not_null(e);
	cr_expect_eq(e->val, 0x801ff000);
	cr_expect_eq(look(0x401ff000, ACC_READ, NULL), TLB_L1);
	tlb_destroy(&T);
}

Test(tlb, splinter_without_stlb_holds_one_piece)
{
	struct tlb_config cfg = { .l1 = { GEOM(4, 2, S4K, TC_REPL_LRU) } };

	up(&cfg);
	put(0x200000, 0x400000, LEVEL_2M, RWX, false, true);
	cr_expect(hits(0x200000, ACC_READ));
	cr_expect_not(hits(0x201000, ACC_READ));
	tlb_destroy(&T);
}

Test(tlb, size_not_in_l1_served_from_l2_only)
{
	/* L1 has only a 2M array: a 4K page lives in L2 and is never memoized */
	struct tlb_config cfg = {
		.l1 = { GEOM(4, 4, S2M, TC_REPL_LRU) },
		.l2 = { GEOM(8, 2, S4K, TC_REPL_LRU) },
	};
	struct tlb_memo *m;

	up(&cfg);
	m = put(0x3000, 0x7000, LEVEL_4K, RWX, false, true);
	cr_expect_eq(m->hpa, 0x7000);
	cr_expect_null(tlb_hit_fast(&T, 0x3000, IDX_SR));
	cr_expect_eq(look(0x3000, ACC_READ, NULL), TLB_L2);
	cr_expect_eq(look(0x3000, ACC_READ, NULL), TLB_L2);
	cr_expect_null(tlb_hit_fast(&T, 0x3000, IDX_SR));
	tlb_destroy(&T);
}

Test(tlb, fill_replaces_same_page)
{
	hpa_t hpa = 0;

	up_plain();
	put(0x5000, 0x10000, LEVEL_4K, RWX, false, false);
	put(0x5000, 0x20000, LEVEL_4K, RWX, false, true);
	cr_expect_eq(tlb_valid(), 2);
	cr_expect_eq(look(0x5000, ACC_WRITE, &hpa), TLB_L1);
	cr_expect_eq(hpa, 0x20000);
	tlb_destroy(&T);
}

/* ------------------------------------------------------------------ */
/* TLB: dirty state and permissions                                     */
/* ------------------------------------------------------------------ */

Test(tlb, clean_entry_serves_reads_not_writes)
{
	up_plain();
	put(0x5000, 0x10000, LEVEL_4K, RWX, false, false);
	cr_expect_eq(look(0x5000, ACC_READ, NULL), TLB_L1);
	cr_expect_eq(look(0x5000, ACC_FETCH, NULL), TLB_L1);
	cr_expect_eq(look(0x5000, ACC_WRITE, NULL), TLB_MISS);	/* walk sets D */
	put(0x5000, 0x10000, LEVEL_4K, RWX, false, true);
	cr_expect_eq(look(0x5000, ACC_WRITE, NULL), TLB_L1);
	tlb_destroy(&T);
}

Test(tlb, clean_l1_piece_refreshed_from_dirty_l2)
{
	struct tlb_config cfg = {
		.l1 = { GEOM(4, 2, S4K, TC_REPL_LRU) },
		.l2 = { GEOM(8, 2, S4K | S2M, TC_REPL_LRU) },
	};

	up(&cfg);
	put(0x200000, 0x400000, LEVEL_2M, RWX, false, false);
	cr_expect_eq(look(0x201000, ACC_READ, NULL), TLB_L2);	/* clean piece in L1 */
	put(0x200000, 0x400000, LEVEL_2M, RWX, false, true);	/* write walk set D */
	/* the clean piece for 0x201000 shadows nothing that allows the
	 * write in L1; the dirty 2M STLB entry does, and replaces it */
	cr_expect_eq(look(0x201000, ACC_WRITE, NULL), TLB_L2);
	cr_expect_eq(look(0x201000, ACC_WRITE, NULL), TLB_L1);
	tlb_destroy(&T);
}

static uint8_t allow_of(unsigned rights, bool dirty)
{
	struct tlb_memo *m = put(0x1000, 0x2000, LEVEL_4K, rights, false, dirty);

	return m->e->allow;
}

#define BIT(i)	(1u << (i))

Test(tlb, allow_user_supervisor)
{
	up_plain();
	cr_expect_eq(allow_of(URWX, true), 0x3f);
	cr_expect_eq(allow_of(RWX, true), BIT(IDX_SR) | BIT(IDX_SW) | BIT(IDX_SX));
	cr_expect_eq(allow_of(RIGHT_R | RIGHT_U, true),
		     BIT(IDX_SR) | BIT(IDX_SW) | BIT(IDX_UR));	/* WP off */
	cr_expect_eq(allow_of(RIGHT_R | RIGHT_X | RIGHT_U, true),
		     BIT(IDX_SR) | BIT(IDX_SW) | BIT(IDX_SX) | BIT(IDX_UR) | BIT(IDX_UX));
	cr_expect_eq(allow_of(URWX, false), 0x3f & ~(BIT(IDX_SW) | BIT(IDX_UW)));
	/* and the lookup obeys it */
	put(0x1000, 0x2000, LEVEL_4K, RW, false, true);
	cr_expect(hits(0x1000, ACC_WRITE));
	cr_expect_not(hits(0x1000, ACC_USER | ACC_READ));
	cr_expect_not(hits(0x1000, ACC_FETCH));
	tlb_destroy(&T);
}

Test(tlb, allow_wp)
{
	up_plain();
	put(0x1000, 0x2000, LEVEL_4K, RIGHT_R | RIGHT_X, false, true);
	cr_expect(hits(0x1000, ACC_WRITE));		/* CR0.WP=0: supervisor may write */
	tlb_set_mode(&T, true, false, false, false);
	cr_expect_not(hits(0x1000, ACC_WRITE));
	cr_expect(hits(0x1000, ACC_READ));
	cr_expect_eq(allow_of(RIGHT_R | RIGHT_U, true), BIT(IDX_SR) | BIT(IDX_UR));
	cr_expect_eq(allow_of(URWX, true), 0x3f);
	tlb_destroy(&T);
}

Test(tlb, allow_smep)
{
	up_plain();
	tlb_set_mode(&T, true, true, false, false);
	cr_expect_eq(allow_of(URWX, true), 0x3f & ~BIT(IDX_SX));
	cr_expect_eq(allow_of(RWX, true), BIT(IDX_SR) | BIT(IDX_SW) | BIT(IDX_SX));
	put(0x1000, 0x2000, LEVEL_4K, URWX, false, true);
	cr_expect_not(hits(0x1000, ACC_FETCH));
	cr_expect(hits(0x1000, ACC_USER | ACC_FETCH));
	cr_expect(hits(0x1000, ACC_READ));
	tlb_destroy(&T);
}

Test(tlb, allow_smap_and_ac)
{
	up_plain();
	tlb_set_mode(&T, true, false, true, false);
	cr_expect_eq(allow_of(URWX, true),
		     BIT(IDX_SX) | BIT(IDX_UR) | BIT(IDX_UW) | BIT(IDX_UX));
	cr_expect_eq(allow_of(RWX, true), BIT(IDX_SR) | BIT(IDX_SW) | BIT(IDX_SX));
	put(0x1000, 0x2000, LEVEL_4K, URWX, false, true);
	cr_expect_not(hits(0x1000, ACC_READ));
	cr_expect_not(hits(0x1000, ACC_WRITE));
	/* RFLAGS.AC=1 lifts SMAP for explicit accesses: existing entries
	 * are recomputed */
	tlb_set_mode(&T, true, false, true, true);
	cr_expect(hits(0x1000, ACC_READ));
	cr_expect(hits(0x1000, ACC_WRITE));
	cr_expect_eq(allow_of(URWX, true), 0x3f);
	tlb_destroy(&T);
}

Test(tlb, set_mode_kills_memo)
{
	up_plain();
	put(0x1000, 0x2000, LEVEL_4K, URWX, false, true);
	cr_expect_not_null(tlb_hit_fast(&T, 0x1000, IDX_SR));
	tlb_set_mode(&T, true, false, true, false);
	cr_expect_null(tlb_hit_fast(&T, 0x1000, IDX_SR));
	cr_expect_null(tlb_hit_fast(&T, 0x1000, IDX_UR));	/* memo cleared */
	cr_expect_not_null(tlb_lookup(&T, 0x1000, IDX_UR, &(enum tlb_where){ 0 }));
	cr_expect_not_null(tlb_hit_fast(&T, 0x1000, IDX_UR));
	cr_expect_null(tlb_hit_fast(&T, 0x1000, IDX_SR));	/* SMAP */
	tlb_destroy(&T);
}

/* ------------------------------------------------------------------ */
/* TLB: tags and invalidation (SDM Vol. 3 4.10.4)                       */
/* ------------------------------------------------------------------ */

/* Separate 4K and 2M L1 arrays, a shared STLB, and PSCs. */
static void up_split(void)
{
	struct tlb_config cfg = {
		.l1 = { GEOM(8, 2, S4K, TC_REPL_LRU), GEOM(4, 4, S2M, TC_REPL_LRU) },
		.l2 = { GEOM(32, 4, S4K | S2M, TC_REPL_LRU) },
		.psc = { GEOM(4, 2, 0, TC_REPL_LRU), GEOM(4, 2, 0, TC_REPL_LRU),
			 GEOM(2, 2, 0, TC_REPL_LRU) },
	};

	up(&cfg);
}

Test(tlb, invlpg_drops_every_size_and_level)
{
	const gva_t va = 0x40005000;

	up_split();
	tlb_set_context(&T, 1, 1);
	put4k(va, 0x9000);				/* 4K in L1[0] and L2 */
	put4k(0x40006000, 0xa000);			/* same 2M, other 4K page */
	put4k(0x50000000, 0xb000);			/* elsewhere */
	/* a 2M page covering both (a fill drops only what covers its own
	 * va, 0x40000000 here) */
	put(0x40000000, 0x80000000, LEVEL_2M, RWX, false, true);
	cr_assert_eq(tlb_valid(), 8);
	tlb_invlpg(&T, va);
	cr_expect_eq(tlb_valid(), 4);
	cr_expect_null(entry_at(&T.l1[0], va, LEVEL_4K));
	cr_expect_null(entry_at(&T.l1[1], va, LEVEL_2M));
	cr_expect_null(entry_at(&T.l2[0], va, LEVEL_4K));
	cr_expect_null(entry_at(&T.l2[0], va, LEVEL_2M));
	cr_expect_eq(look(va, ACC_READ, NULL), TLB_MISS);
	cr_expect_eq(look(0x40007000, ACC_READ, NULL), TLB_MISS);	/* the 2M is gone */
	cr_expect_eq(look(0x40006000, ACC_READ, NULL), TLB_L1);
	cr_expect_eq(look(0x50000000, ACC_READ, NULL), TLB_L1);
	tlb_destroy(&T);
}

Test(tlb, invlpg_drops_globals_and_current_psc)
{
	up_split();
	tlb_set_context(&T, 1, 1);
	put(0x7000, 0x9000, LEVEL_4K, RWX, true, true);		/* global, from pcid 1 */
	psc_fill(&T.psc, 0x7000, TC_CTX(1, 2), 2, 0x11000, RWX);
	psc_fill(&T.psc, 0x7000, TC_CTX(1, 2), 3, 0x12000, RWX);
	psc_fill(&T.psc, 0x80000000, TC_CTX(1, 2), 4, 0x13000, RWX);	/* other address */
	psc_fill(&T.psc, 0x7000, TC_CTX(1, 1), 2, 0x14000, RWX);	/* other pcid */
	psc_fill(&T.psc, 0x7000, TC_CTX(2, 2), 2, 0x15000, RWX);	/* other vpid */
	tlb_set_context(&T, 1, 2);
	cr_assert(hits(0x7000, ACC_READ));			/* global hits in pcid 2 */
	tlb_invlpg(&T, 0x7000);
	cr_expect_eq(tlb_valid(), 0);
	tlb_set_context(&T, 1, 1);
	cr_expect_not(hits(0x7000, ACC_READ));
	cr_expect_eq(psc_valid(), 2);
	cr_expect_not_null(entry_at(&T.psc.c[0], 0x7000, 2));
	tlb_destroy(&T);
}

Test(tlb, invlpg_keeps_other_pcids_and_vpids)
{
	up_split();
	tlb_set_context(&T, 1, 1);
	put4k(0x7000, 0x9000);
	tlb_set_context(&T, 2, 2);
	put(0x7000, 0xa000, LEVEL_4K, RWX, true, true);		/* global of vpid 2 */
	tlb_set_context(&T, 1, 2);
	tlb_invlpg(&T, 0x7000);
	cr_expect_eq(tlb_valid(), 4);
	tlb_set_context(&T, 1, 1);
	cr_expect(hits(0x7000, ACC_READ));
	tlb_destroy(&T);
}

Test(tlb, pcid_isolation)
{
	hpa_t hpa = 0;

	up_split();
	tlb_set_context(&T, 1, 1);
	put4k(0x1000, 0xa000);
	put(0x2000, 0xb000, LEVEL_4K, RWX, true, true);
	tlb_set_context(&T, 1, 2);
	cr_expect_eq(look(0x1000, ACC_READ, NULL), TLB_MISS);
	cr_expect_eq(look(0x2000, ACC_READ, &hpa), TLB_L1);
	cr_expect_eq(hpa, 0xb000);
	put4k(0x1000, 0xc000);				/* pcid 2's own mapping */
	cr_expect_eq(look(0x1000, ACC_READ, &hpa), TLB_L1);
	cr_expect_eq(hpa, 0xc000);
	tlb_set_context(&T, 1, 1);
	cr_expect_eq(look(0x1000, ACC_READ, &hpa), TLB_L1);
	cr_expect_eq(hpa, 0xa000);
	tlb_destroy(&T);
}

Test(tlb, vpid_isolation_and_flush_vpid)
{
	up_split();
	tlb_set_context(&T, 1, 1);
	put(0x2000, 0xb000, LEVEL_4K, RWX, true, true);
	put4k(0x3000, 0xc000);
	psc_fill(&T.psc, 0x3000, TC_CTX(1, 1), 2, 0x11000, RWX);
	tlb_set_context(&T, 2, 1);
	cr_expect_not(hits(0x2000, ACC_READ));		/* globals stop at the VPID */
	cr_expect_not(hits(0x3000, ACC_READ));		/* same PCID, other VPID */
	put4k(0x3000, 0xd000);
	psc_fill(&T.psc, 0x3000, TC_CTX(2, 1), 2, 0x12000, RWX);
	tlb_flush_vpid(&T, 1);
	cr_expect(hits(0x3000, ACC_READ));
	cr_expect_eq(psc_valid(), 1);
	tlb_set_context(&T, 1, 1);
	cr_expect_not(hits(0x2000, ACC_READ));
	cr_expect_not(hits(0x3000, ACC_READ));
	cr_expect_eq(tlb_valid(), 2);
	tlb_destroy(&T);
}

Test(tlb, flush_pcid_keeps_globals_and_other_pcids)
{
	up_split();
	tlb_set_context(&T, 1, 1);
	put4k(0x1000, 0xa000);
	put(0x2000, 0xb000, LEVEL_4K, RWX, true, true);
	psc_fill(&T.psc, 0x1000, TC_CTX(1, 1), 2, 0x11000, RWX);
	tlb_set_context(&T, 1, 2);
	put4k(0x3000, 0xc000);
	psc_fill(&T.psc, 0x3000, TC_CTX(1, 2), 2, 0x12000, RWX);
	tlb_set_context(&T, 1, 1);
	tlb_flush_pcid(&T, 1, true);			/* MOV CR3 without NOFLUSH */
	cr_expect_not(hits(0x1000, ACC_READ));
	cr_expect(hits(0x2000, ACC_READ));
	cr_expect_eq(psc_valid(), 1);
	tlb_set_context(&T, 1, 2);
	cr_expect(hits(0x3000, ACC_READ));
	cr_expect(hits(0x2000, ACC_READ));
	tlb_destroy(&T);
}

Test(tlb, flush_pcid_without_globals)
{
	up_split();
	tlb_set_context(&T, 1, 1);
	put(0x2000, 0xb000, LEVEL_4K, RWX, true, true);
	tlb_set_context(&T, 1, 2);
	put4k(0x3000, 0xc000);
	put(0x4000, 0xd000, LEVEL_4K, RWX, true, true);	/* global from pcid 2 */
	tlb_set_context(&T, 2, 2);
	put(0x5000, 0xe000, LEVEL_4K, RWX, true, true);	/* global of vpid 2 */
	tlb_set_context(&T, 1, 1);
	tlb_flush_pcid(&T, 1, false);
	cr_expect_not(hits(0x2000, ACC_READ));
	cr_expect_not(hits(0x4000, ACC_READ));		/* every global of the VPID */
	tlb_set_context(&T, 1, 2);
	cr_expect(hits(0x3000, ACC_READ));		/* other pcid, non-global: kept */
	tlb_set_context(&T, 2, 7);
	cr_expect(hits(0x5000, ACC_READ));		/* other vpid: kept */
	tlb_destroy(&T);
}

Test(tlb, flush_all)
{
	up_split();
	tlb_set_context(&T, 1, 1);
	put(0x2000, 0xb000, LEVEL_4K, RWX, true, true);
	put(0x200000, 0xc00000, LEVEL_2M, RWX, false, true);
	psc_fill(&T.psc, 0x1000, TC_CTX(1, 1), 2, 0x11000, RWX);
	tlb_set_context(&T, 2, 3);
	put4k(0x3000, 0xc000);
	psc_fill(&T.psc, 0x1000, TC_CTX(2, 3), 4, 0x11000, RWX);
	tlb_flush_all(&T);
	cr_expect_eq(tlb_valid(), 0);
	cr_expect_eq(psc_valid(), 0);
	cr_expect_not(hits(0x3000, ACC_READ));
	tlb_destroy(&T);
}

Test(tlb, pf_invalidate_keeps_globals)
{
	up_split();
	tlb_set_context(&T, 1, 1);
	put4k(0x1000, 0xa000);
	put(0x200000, 0xc00000, LEVEL_2M, RWX, false, true);	/* covers 0x201000 */
	put(0x201000, 0xd000, LEVEL_4K, RWX, true, true);	/* global */
	psc_fill(&T.psc, 0x201000, TC_CTX(1, 1), 2, 0x11000, RWX);
	psc_fill(&T.psc, 0x201000, TC_CTX(1, 1), 3, 0x12000, RWX);
	psc_fill(&T.psc, 0x40000000, TC_CTX(1, 1), 3, 0x13000, RWX);
	tlb_pf_invalidate(&T, 0x201000);
	cr_expect_null(entry_at(&T.l1[1], 0x200000, LEVEL_2M));
	cr_expect_not_null(entry_at(&T.l1[0], 0x201000, LEVEL_4K));
	cr_expect(hits(0x1000, ACC_READ));
	cr_expect_eq(psc_valid(), 1);
	tlb_destroy(&T);
}

Test(tlb, flush_kills_memo)
{
	up_split();
	put4k(0x1000, 0xa000);
	cr_assert_not_null(tlb_hit_fast(&T, 0x1000, IDX_SR));
	tlb_flush_pcid(&T, 0, true);
	cr_expect_null(tlb_hit_fast(&T, 0x1000, IDX_SR));
	put4k(0x1000, 0xa000);
	tlb_set_context(&T, 0, 1);
	cr_expect_null(tlb_hit_fast(&T, 0x1000, IDX_SR));
	tlb_set_context(&T, 0, 0);
	cr_expect_null(tlb_hit_fast(&T, 0x1000, IDX_SR));	/* memo was cleared */
	cr_expect_eq(look(0x1000, ACC_READ, NULL), TLB_L1);
	cr_expect_not_null(tlb_hit_fast(&T, 0x1000, IDX_SR));
	tlb_destroy(&T);
}

/* ------------------------------------------------------------------ */
/* Memo exactness: fast path + full lookup == full lookup alone          */
/* ------------------------------------------------------------------ */

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

struct trace {
	uint8_t	*where;
	hpa_t	*hpa;
	size_t	n;
	size_t	fast, l1, l2, miss;
};

/*
 * One run of a random program over a tiny address space: accesses that
 * fill on a miss, stray fills, remaps without invalidation (so entries
 * of several sizes overlap), INVLPG, #PF invalidation, CR3 flushes,
 * VPID flushes, context and mode switches. The mapping is a pure
 * function of (va, vpid, pcid, epoch), so both runs see the same one.
 */
static void run_program(const struct tlb_config *cfg, uint64_t seed,
			size_t steps, bool use_fast, struct trace *tr)
{
	uint64_t s = seed, epoch = 0;
	gva_t recent[4] = { 0 };
	static const unsigned accs[6] = {
		ACC_READ, ACC_WRITE, ACC_FETCH,
		ACC_USER | ACC_READ, ACC_USER | ACC_WRITE, ACC_USER | ACC_FETCH,
	};

	up(cfg);
	tlb_set_context(&T, 1, 1);
	for (size_t i = 0; i < steps; i++) {
		uint64_t r = rnd(&s), op = r % 1000;
		/* 2 x 1G regions x 4 x 2M regions x 8 x 4K pages; memo slots
		 * collide across 2M regions */
		gva_t va = ((r >> 10) & 1) * GiB + ((r >> 11) & 3) * 2 * MiB +
			   ((r >> 13) & 7) * PAGE_SIZE + ((r >> 16) & 0xfff);
		unsigned acc = accs[(r >> 28) % 6];

		/* locality: mostly the recent pages, mostly reads */
		if (((r >> 48) & 3) != 0)
			va = recent[(r >> 50) & 3] + ((r >> 16) & 0xfff);
		else
			recent[(r >> 50) & 3] = va & PAGE_MASK;
		if (((r >> 52) & 3) != 0)
			acc &= ACC_USER | ACC_WRITE;
		uint64_t h = mix((va >> 21) ^ ((uint64_t)T.ctx << 32) ^ (epoch << 56));

		if (op < 780) {
			unsigned level = (unsigned)(h % 4);	/* 4K twice as likely */
			struct tlb_fill f = {
				.va = va,
				.level = (uint8_t)(level == 0 ? LEVEL_4K : level),
				/* each of W, X, U withheld one time in four */
				.rights = (uint8_t)(RIGHTS_ALL &
						    ~(((h >> 16) & 3) ? 0 : RIGHT_W) &
						    ~(((h >> 18) & 3) ? 0 : RIGHT_X) &
						    ~(((h >> 20) & 3) ? 0 : RIGHT_U)),
				.global = ((h >> 12) & 3) == 0,
				.dirty = ((h >> 14) & 1) || (acc & ACC_WRITE),
			};
			f.hpa = (mix(h ^ (va >> LEVEL_SHIFT(f.level))) & 0xffffff) <<
				LEVEL_SHIFT(f.level);
			if (op < 700) {
				struct tlb_memo *m = NULL;
				enum tlb_where w = TLB_MISS;

				if (use_fast) {
					m = tlb_hit_fast(&T, va, ACC_IDX(acc));
					if (m) {
						w = TLB_L1;
						tr->fast++;
					}
				}
				if (!m)
					m = tlb_lookup(&T, va, ACC_IDX(acc), &w);
				tr->where[tr->n] = (uint8_t)w;
				tr->hpa[tr->n] = m ? m->hpa : UINT64_MAX;
				tr->n++;
				tr->l1 += w == TLB_L1;
				tr->l2 += w == TLB_L2;
				tr->miss += w == TLB_MISS;
				if (!m)
					tlb_fill(&T, &f);
			} else {
				tlb_fill(&T, &f);
			}
		} else if (op < 830) {
			tlb_invlpg(&T, va);
		} else if (op < 850) {
			tlb_pf_invalidate(&T, va);
		} else if (op < 900) {
			tlb_set_context(&T, (uint16_t)(1 + (r >> 40) % 2),
					(uint16_t)((r >> 42) % 3));
		} else if (op < 930) {
			tlb_flush_pcid(&T, (uint16_t)((r >> 42) % 3), (r >> 45) & 1);
		} else if (op < 935) {
			tlb_flush_vpid(&T, (uint16_t)(1 + (r >> 40) % 2));
		} else if (op < 937) {
			tlb_flush_all(&T);
		} else if (op < 960) {
			tlb_set_mode(&T, (r >> 40) & 1, (r >> 41) & 1,
				     (r >> 42) & 1, (r >> 43) & 1);
		} else {
			epoch++;	/* the guest remaps without telling the TLB */
		}
	}
}

static void expect_same_arrays(const struct tc *a, const struct tc *b,
			       unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		for (uint32_t j = 0; j < a[i].sets * a[i].ways; j++) {
			const struct tc_entry *x = &a[i].e[j], *y = &b[i].e[j];

			/* the victim search's invariant: stamp 0 exactly
			 * when invalid */
			cr_assert((a[i].lru[j] == 0) == !(x->flags & TCE_VALID),
				  "array %u entry %u: stamp %llu, flags %#x", i, j,
				  (unsigned long long)a[i].lru[j], x->flags);
			cr_assert(a[i].key[j] == b[i].key[j] && x->val == y->val &&
				  a[i].lru[j] == b[i].lru[j] && x->ctx == y->ctx &&
				  x->gen == y->gen && x->level == y->level &&
				  x->rights == y->rights && x->flags == y->flags &&
				  x->allow == y->allow,
				  "array %u entry %u differs", i, j);
		}
}

/* Returns how many accesses the two runs agreed on. */
static size_t check_memo_exact(const struct tlb_config *cfg, uint64_t seed)
{
	size_t compared;
	const size_t steps = 200000;
	struct trace a = { 0 }, b = { 0 };
	struct tlb ta;

	a.where = malloc(steps);
	b.where = malloc(steps);
	a.hpa = malloc(steps * sizeof(hpa_t));
	b.hpa = malloc(steps * sizeof(hpa_t));
	cr_assert(a.where && b.where && a.hpa && b.hpa);

	run_program(cfg, seed, steps, true, &a);
	ta = T;				/* keep run A's arrays for comparison */
	run_program(cfg, seed, steps, false, &b);

	cr_assert_eq(a.n, b.n);
	for (size_t i = 0; i < a.n; i++) {
		cr_assert_eq(a.where[i], b.where[i], "access %zu: where %u vs %u",
			     i, a.where[i], b.where[i]);
		cr_assert_eq(a.hpa[i], b.hpa[i], "access %zu: hpa differs", i);
	}
	cr_assert_eq(ta.clock, T.clock);
	cr_assert_eq(ta.n_l1, T.n_l1);
	cr_assert_eq(ta.n_l2, T.n_l2);
	expect_same_arrays(ta.l1, T.l1, T.n_l1);
	expect_same_arrays(ta.l2, T.l2, T.n_l2);
	cr_log_info("fast %zu (of which the large memo %llu) L1 %zu L2 %zu miss %zu of %zu",
		    a.fast, (unsigned long long)ta.lmemo_hits, a.l1, a.l2, a.miss, a.n);
	/* the large memo serves a 2M L1 entry's other 4K pieces: with 2M in
	 * L1, it must have been used, or its exactness was not tested */
	for (unsigned i = 0; i < ta.n_l1; i++)
		if (ta.l1[i].sizes & (1u << LEVEL_2M))
			cr_expect_gt(ta.lmemo_hits, a.n / 1000, "large-memo hits %llu of %zu",
				     (unsigned long long)ta.lmemo_hits, a.n);
	/* the program must exercise every path */
	cr_expect_gt(a.fast, a.n / 20, "fast hits %zu of %zu", a.fast, a.n);
	if (T.n_l2)
		cr_expect_gt(a.l2, a.n / 200, "L2 hits %zu of %zu", a.l2, a.n);
	cr_expect_gt(a.miss, a.n / 100, "misses %zu of %zu", a.miss, a.n);

	compared = a.n;
	tlb_destroy(&ta);
	tlb_destroy(&T);
	free(a.where);
	free(b.where);
	free(a.hpa);
	free(b.hpa);
	return compared;
}

Test(tlb, memo_exact_split_arrays)
{
	struct tlb_config cfg = {
		.l1 = { GEOM(8, 2, S4K, TC_REPL_LRU), GEOM(4, 4, S2M, TC_REPL_LRU) },
		.l2 = { GEOM(16, 4, S4K | S2M, TC_REPL_RANDOM) },
		.psc = { GEOM(4, 2, 0, TC_REPL_LRU), GEOM(2, 2, 0, TC_REPL_LRU),
			 GEOM(2, 1, 0, TC_REPL_LRU) },
	};

	cr_assert_gt(check_memo_exact(&cfg, 0x1234567), 100000, "accesses compared");
}

Test(tlb, memo_exact_multi_size_fully_associative)
{
	struct tlb_config cfg = {
		.l1 = { GEOM(8, 8, S4K | S2M | S1G, TC_REPL_LRU) },
		.l2 = { GEOM(16, 2, S4K, TC_REPL_LRU), GEOM(8, 2, S2M | S1G, TC_REPL_RANDOM) },
	};

	cr_assert_gt(check_memo_exact(&cfg, 0xdeadbeef), 100000, "accesses compared");
}

Test(tlb, memo_exact_direct_mapped_and_missing_sizes)
{
	/* L1 holds only 2M (4K pages live in L2 alone); 1G splinters */
	struct tlb_config cfg = {
		.l1 = { GEOM(4, 1, S2M, TC_REPL_RANDOM), GEOM(2, 2, S1G, TC_REPL_LRU) },
		.l2 = { GEOM(8, 1, S4K, TC_REPL_LRU) },
	};

	cr_assert_gt(check_memo_exact(&cfg, 0xfeedface), 100000, "accesses compared");
}

Test(tlb, memo_exact_l1_only)
{
	struct tlb_config cfg = { .l1 = { GEOM(4, 2, S4K, TC_REPL_LRU),
					  GEOM(2, 2, S4K | S2M, TC_REPL_RANDOM) } };

	cr_assert_gt(check_memo_exact(&cfg, 42), 100000, "accesses compared");
}

/* ------------------------------------------------------------------ */
/* A split TLB: the instruction side follows the data side's           */
/* ------------------------------------------------------------------ */

/* The instruction TLB is filled and looked up on its own, and every
 * invalidation of the data TLB reaches it: INVLPG, a #PF, a CR3 load
 * (non-global entries only), a VPID flush; context and mode too. */
Test(tlb, peer_follows_every_invalidation)
{
	struct tlb_config icfg = { .l1 = { GEOM(4, 4, S4K | S2M, TC_REPL_LRU) } };
	static struct tlb I;
	enum tlb_where w;

	up_plain();
	cr_assert_eq(tlb_init(&I, &icfg), 0);
	tlb_set_peer(&T, &I);
	tlb_set_context(&T, 1, 0);
	cr_assert_eq(I.ctx, T.ctx, "the peer takes the context");
	cr_assert_not_null(tlb_fill(&I, &(struct tlb_fill){ .va = 0x1000, .hpa = 0x5000,
		.level = LEVEL_4K, .rights = URWX, .dirty = true }));
	cr_assert_not_null(tlb_fill(&I, &(struct tlb_fill){ .va = 0x2000, .hpa = 0x6000,
		.level = LEVEL_4K, .rights = URWX, .dirty = true }));
	cr_assert_not_null(tlb_fill(&I, &(struct tlb_fill){ .va = 0xffffffff81000000,
		.hpa = 0x200000, .level = LEVEL_2M, .rights = RWX, .global = true }));
	cr_assert_not_null(tlb_lookup(&I, 0x1000, IDX_UX, &w));
	cr_assert_null(tlb_lookup(&T, 0x1000, IDX_UX, &w), "fills stay per TLB");
	tlb_invlpg(&T, 0x1000);
	cr_assert_null(tlb_lookup(&I, 0x1000, IDX_UX, &w), "INVLPG reaches the iTLB");
	cr_assert_not_null(tlb_lookup(&I, 0x2000, IDX_UX, &w));
	tlb_pf_invalidate(&T, 0x2000);
	cr_assert_null(tlb_lookup(&I, 0x2000, IDX_UX, &w), "a #PF's invalidation reaches it");
	cr_assert_not_null(tlb_fill(&I, &(struct tlb_fill){ .va = 0x3000, .hpa = 0x7000,
		.level = LEVEL_4K, .rights = URWX, .dirty = true }));
	tlb_flush_pcid(&T, 0, true);
	cr_assert_null(tlb_lookup(&I, 0x3000, IDX_UX, &w), "a CR3 load drops non-global entries");
	cr_assert_not_null(tlb_lookup(&I, 0xffffffff81000000, IDX_SX, &w),
			   "and keeps the global kernel text");
	tlb_set_mode(&T, true, true, false, false);
	cr_assert(I.smep, "mode bits reach the peer");
	tlb_flush_vpid(&T, 1);
	cr_assert_null(tlb_lookup(&I, 0xffffffff81000000, IDX_SX, &w),
		       "a VPID flush drops globals too");
	tlb_set_peer(&T, NULL);
	tlb_destroy(&I);
	tlb_destroy(&T);
}
