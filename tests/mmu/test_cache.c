/*
 * test_cache.c - the memory model: hits and misses per level, LRU order,
 * set isolation, refills, flush, absent levels, bad geometries, and a
 * differential test against a plain reference model.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "mmu.h"

#define LINE	64

/*
 * The small hierarchy most tests use, 64-byte lines:
 *   L1   4 sets x 2 ways  (512 B)   set = line & 3
 *   L2   8 sets x 4 ways  (2 KiB)   set = line & 7
 *   LLC 16 sets x 8 ways  (8 KiB)   set = line & 15
 */
static const struct memsys_config small = {
	.level = {
		{ .size = 4 * 2 * LINE, .ways = 2, .line = LINE, .latency = 4 },
		{ .size = 8 * 4 * LINE, .ways = 4, .line = LINE, .latency = 12 },
		{ .size = 16 * 8 * LINE, .ways = 8, .line = LINE, .latency = 40 },
	},
	.dram_latency = 200,
};

/* hpa of line number n, at an offset inside the line that varies so
 * tests also check the offset is ignored */
static hpa_t ln(uint64_t n)
{
	return n * LINE + (n * 7) % LINE;
}

static void init(struct memsys *m, const struct memsys_config *c)
{
	cr_assert_eq(memsys_init(m, c), 0);
}

#define assert_served(m, n, want)					\
	cr_assert_eq(memsys_access((m), ln(n)), (want),			\
		     "line %llu: expected level %d", (unsigned long long)(n), (int)(want))

/* ------------------------------------------------------------------ */
/* Hits and misses                                                     */
/* ------------------------------------------------------------------ */

Test(cache, first_touch_is_dram_then_l1)
{
	struct memsys m;

	init(&m, &small);
	assert_served(&m, 0, MEM_DRAM);
	assert_served(&m, 0, MEM_L1);		/* the memo */
	cr_assert_eq(memsys_access(&m, ln(0) + 1), MEM_L1, "same line, other byte");
	assert_served(&m, 1, MEM_DRAM);
	assert_served(&m, 0, MEM_L1);		/* set scan, not the memo */
	memsys_destroy(&m);
}

Test(cache, each_level_serves)
{
	struct memsys m;

	init(&m, &small);
	/* L2: lines 4 and 12 share L1 set 0 with line 0 but not its L2 set */
	assert_served(&m, 0, MEM_DRAM);
	assert_served(&m, 4, MEM_DRAM);
	assert_served(&m, 12, MEM_DRAM);
	assert_served(&m, 0, MEM_L2);

	/* LLC: 8, 24, 40, 56 share L1 set 0 and L2 set 0 (4 ways) with
	 * line 0 but LLC set 8, not its set 0 */
	assert_served(&m, 8, MEM_DRAM);
	assert_served(&m, 24, MEM_DRAM);
	assert_served(&m, 40, MEM_DRAM);
	assert_served(&m, 56, MEM_DRAM);
	assert_served(&m, 0, MEM_LLC);
	assert_served(&m, 0, MEM_L1);
	memsys_destroy(&m);
}

Test(cache, latencies_come_from_the_config)
{
	struct memsys m;

	init(&m, &small);
	cr_assert_float_eq(memsys_latency(&m, MEM_L1), 4, 1e-12);
	cr_assert_float_eq(memsys_latency(&m, MEM_L2), 12, 1e-12);
	cr_assert_float_eq(memsys_latency(&m, MEM_LLC), 40, 1e-12);
	cr_assert_float_eq(memsys_latency(&m, MEM_DRAM), 200, 1e-12);
	memsys_destroy(&m);
}

/* ------------------------------------------------------------------ */
/* Replacement                                                         */
/* ------------------------------------------------------------------ */

/* One 4-way set, nothing below: the order of eviction is LRU. */
Test(cache, lru_eviction_order)
{
	static const struct memsys_config one_set = {
		.level = { { .size = 4 * LINE, .ways = 4, .line = LINE, .latency = 4 } },
		.dram_latency = 100,
	};
	struct memsys m;

	init(&m, &one_set);
	assert_served(&m, 0, MEM_DRAM);		/* MRU..LRU: 0 */
	assert_served(&m, 1, MEM_DRAM);		/* 1 0 */
	assert_served(&m, 2, MEM_DRAM);		/* 2 1 0 */
	assert_served(&m, 3, MEM_DRAM);		/* 3 2 1 0 */
	assert_served(&m, 0, MEM_L1);		/* 0 3 2 1 */
	assert_served(&m, 2, MEM_L1);		/* 2 0 3 1 */
	assert_served(&m, 4, MEM_DRAM);		/* 4 2 0 3: 1 evicted */
	assert_served(&m, 5, MEM_DRAM);		/* 5 4 2 0: 3 evicted */
	assert_served(&m, 0, MEM_L1);		/* 0 5 4 2 */
	assert_served(&m, 2, MEM_L1);		/* 2 0 5 4 */
	assert_served(&m, 4, MEM_L1);		/* 4 2 0 5 */
	assert_served(&m, 5, MEM_L1);		/* 5 4 2 0 */
	assert_served(&m, 1, MEM_DRAM);		/* 1 5 4 2: 0 evicted */
	assert_served(&m, 3, MEM_DRAM);		/* 3 1 5 4: 2 evicted */
	assert_served(&m, 0, MEM_DRAM);
	memsys_destroy(&m);
}

/* Filling ways + 1 lines into one L1 set evicts the first; the other
 * sets keep their lines. */
Test(cache, sets_do_not_interfere)
{
	struct memsys m;
	uint64_t s;

	init(&m, &small);
	for (s = 1; s < 4; s++)
		assert_served(&m, s, MEM_DRAM);		/* L1 sets 1..3 */
	assert_served(&m, 0, MEM_DRAM);			/* L1 set 0: 0, 4, 8 */
	assert_served(&m, 4, MEM_DRAM);
	assert_served(&m, 8, MEM_DRAM);			/* evicts 0 from L1 */
	for (s = 1; s < 4; s++)
		assert_served(&m, s, MEM_L1);
	assert_served(&m, 8, MEM_L1);
	assert_served(&m, 4, MEM_L1);
	assert_served(&m, 0, MEM_L2);
	memsys_destroy(&m);
}

/* A line evicted from L1 but kept in L2 is served by L2 and is back in
 * L1 afterwards; the refill evicts L1's LRU line, which L2 still has. */
Test(cache, l2_hit_refills_l1)
{
	struct memsys m;

	init(&m, &small);
	assert_served(&m, 0, MEM_DRAM);
	assert_served(&m, 4, MEM_DRAM);
	assert_served(&m, 12, MEM_DRAM);	/* L1 set 0: 12 4 */
	assert_served(&m, 0, MEM_L2);		/* L1 set 0: 0 12, 4 out */
	assert_served(&m, 0, MEM_L1);
	assert_served(&m, 12, MEM_L1);
	assert_served(&m, 4, MEM_L2);
	memsys_destroy(&m);
}

/* Fill on the way back: a DRAM access lands in every level, so after L1
 * and L2 lose it the LLC still serves it. */
Test(cache, dram_fill_reaches_every_level)
{
	struct memsys m;

	init(&m, &small);
	assert_served(&m, 0, MEM_DRAM);
	assert_served(&m, 4, MEM_DRAM);
	assert_served(&m, 12, MEM_DRAM);
	assert_served(&m, 0, MEM_L2);		/* L2 had it */
	memsys_flush(&m);
	assert_served(&m, 0, MEM_DRAM);
	/* evict from L1 (set 0) and L2 (set 0, 4 ways) only */
	assert_served(&m, 8, MEM_DRAM);
	assert_served(&m, 24, MEM_DRAM);
	assert_served(&m, 40, MEM_DRAM);
	assert_served(&m, 56, MEM_DRAM);
	assert_served(&m, 0, MEM_LLC);
	memsys_destroy(&m);
}

/* ------------------------------------------------------------------ */
/* What the engine relies on                                           */
/* ------------------------------------------------------------------ */

/* A 4-level walk whose lines were just used is cheaper the second time. */
Test(cache, repeated_walk_is_cheaper)
{
	/* PML4E, PDPTE, PDE, PTE: one entry in each of four table pages */
	static const hpa_t walk[4] = { 0x1000 + 8 * 3, 0x5000 + 8 * 510,
				       0x9000 + 8 * 17, 0x22000 + 8 * 300 };
	struct memsys m;
	double first = 0, second = 0;
	unsigned i;

	init(&m, &small);
	for (i = 0; i < 4; i++)
		first += memsys_latency(&m, memsys_access(&m, walk[i]));
	for (i = 0; i < 4; i++)
		second += memsys_latency(&m, memsys_access(&m, walk[i]));
	cr_assert_lt(second, first, "first walk %g cycles, second %g", first, second);
	cr_assert_float_eq(first, 4 * 200, 1e-9);
	cr_assert_float_eq(second, 4 * 4, 1e-9);
	memsys_destroy(&m);
}

/* A sweep far larger than the LLC evicts the walk's lines: the walk is
 * expensive again. */
Test(cache, sweep_evicts_walk_lines)
{
	static const hpa_t walk[4] = { 0x1000, 0x5000, 0x9000, 0x22000 };
	struct memsys m;
	double cost = 0;
	uint64_t a;
	unsigned i;

	init(&m, &small);
	for (i = 0; i < 4; i++)
		memsys_access(&m, walk[i]);
	for (a = 0x100000; a < 0x100000 + 64 * KiB; a += LINE)
		memsys_access(&m, a);
	for (i = 0; i < 4; i++)
		cost += memsys_latency(&m, memsys_access(&m, walk[i]));
	cr_assert_float_eq(cost, 4 * 200, 1e-9);
	memsys_destroy(&m);
}

/*
 * A walker that reads through L2 (walk_skips_l1, AMD K10) starts its
 * lookup at L2 and never fills the L1D: its line is an L2 hit next
 * time, for the walker and for data alike, and the data's L1 lines and
 * last-line memo are left as they were.
 */
Test(cache, walk_through_l2_leaves_l1_alone)
{
	struct memsys_config c = small;
	struct memsys m;

	c.walk_skips_l1 = true;
	init(&m, &c);
	assert_served(&m, 1, MEM_DRAM);			/* data: L1 set 1 */
	cr_assert_eq(memsys_walk(&m, ln(0)), MEM_DRAM, "walk, cold");
	cr_assert_eq(memsys_walk(&m, ln(0)), MEM_L2, "walk again: L2, not L1");
	assert_served(&m, 1, MEM_L1);			/* the memo still holds */
	assert_served(&m, 0, MEM_L2);			/* data: the walk did not fill L1 */
	assert_served(&m, 0, MEM_L1);			/* ... but the data access did */
	cr_assert_eq(memsys_walk(&m, ln(0)), MEM_L2,
		     "a walker through L2 never reads the L1D, even when it holds the line");
	/* fills L2 and the LLC on the way back */
	for (uint64_t n = 16; n <= 64; n += 16)		/* four lines into L2 set 0 */
		memsys_walk(&m, ln(n));
	cr_assert_eq(memsys_walk(&m, ln(0)), MEM_LLC, "L2 set 0 evicted line 0; the LLC has it");
	memsys_destroy(&m);

	/* The default walker is a data access. */
	init(&m, &small);
	cr_assert_eq(memsys_walk(&m, ln(0)), MEM_DRAM);
	cr_assert_eq(memsys_walk(&m, ln(0)), MEM_L1);
	memsys_destroy(&m);
}

Test(cache, flush_empties_every_level)
{
	struct memsys m;
	uint64_t n;

	init(&m, &small);
	for (n = 0; n < 8; n++)
		memsys_access(&m, ln(n));
	assert_served(&m, 7, MEM_L1);
	memsys_flush(&m);
	assert_served(&m, 7, MEM_DRAM);		/* the memo is gone too */
	for (n = 0; n < 7; n++)
		assert_served(&m, n, MEM_DRAM);
	memsys_destroy(&m);
}

/* No LLC (the Phenom II N620): an L2 miss goes to DRAM. */
Test(cache, absent_llc)
{
	struct memsys_config c = small;
	struct memsys m;

	c.level[MEM_LLC] = (struct cache_geom){ 0 };
	init(&m, &c);
	assert_served(&m, 0, MEM_DRAM);
	assert_served(&m, 8, MEM_DRAM);
	assert_served(&m, 24, MEM_DRAM);
	assert_served(&m, 40, MEM_DRAM);
	assert_served(&m, 56, MEM_DRAM);
	assert_served(&m, 0, MEM_DRAM);		/* the LLC would have served it */
	assert_served(&m, 56, MEM_L1);
	assert_served(&m, 24, MEM_L2);
	memsys_destroy(&m);
}

/* No L2 but an LLC: an L1 miss goes straight to the LLC. */
Test(cache, absent_l2)
{
	struct memsys_config c = small;
	struct memsys m;

	c.level[MEM_L2] = (struct cache_geom){ 0 };
	init(&m, &c);
	assert_served(&m, 0, MEM_DRAM);
	assert_served(&m, 4, MEM_DRAM);
	assert_served(&m, 8, MEM_DRAM);
	assert_served(&m, 0, MEM_LLC);
	memsys_destroy(&m);
}

Test(cache, bad_geometry_is_rejected)
{
	struct memsys_config c;
	struct memsys m;

	c = small;
	c.level[MEM_L1].line = 48;
	cr_assert_eq(memsys_init(&m, &c), -EINVAL, "line not a power of two");
	c = small;
	c.level[MEM_LLC].line = 1;
	cr_assert_eq(memsys_init(&m, &c), -EINVAL, "1-byte line");
	c = small;
	c.level[MEM_L2].size = 3 * 4 * LINE;
	cr_assert_eq(memsys_init(&m, &c), -EINVAL, "3 sets");
	c = small;
	c.level[MEM_L2].size = 8 * 4 * LINE + 1;
	cr_assert_eq(memsys_init(&m, &c), -EINVAL, "size not ways * line * sets");
	c = small;
	c.level[MEM_LLC].ways = 0;
	cr_assert_eq(memsys_init(&m, &c), -EINVAL, "0 ways");
	c = small;
	c.level[MEM_L1].size = 0;
	cr_assert_eq(memsys_init(&m, &c), -EINVAL, "no L1");
	c = small;
	c.level[MEM_L2].latency = -1;
	cr_assert_eq(memsys_init(&m, &c), -EINVAL, "negative latency");
	c = small;
	c.dram_latency = NAN;
	cr_assert_eq(memsys_init(&m, &c), -EINVAL, "NaN latency");

	/* an absent level's other fields do not matter */
	c = small;
	c.level[MEM_LLC] = (struct cache_geom){ .size = 0, .ways = 3, .line = 7, .latency = -5 };
	cr_assert_eq(memsys_init(&m, &c), 0);
	memsys_destroy(&m);
}

/* Profile-sized geometries (Skylake; a 104 MiB 13-way LLC) set up fine. */
Test(cache, real_geometries_init)
{
	static const struct memsys_config big = {
		.level = {
			{ .size = 48 << 10, .ways = 12, .line = 64, .latency = 5 },
			{ .size = 2 << 20, .ways = 16, .line = 64, .latency = 16 },
			{ .size = 104u << 20, .ways = 13, .line = 64, .latency = 100 },
		},
		.dram_latency = 330,
	};
	struct memsys m;

	init(&m, &big);
	cr_assert_eq(m.lvl[MEM_LLC].set_mask + 1, 131072);
	cr_assert_eq(memsys_access(&m, 0x12345678), MEM_DRAM);
	cr_assert_eq(memsys_access(&m, 0x12345640), MEM_L1);
	memsys_destroy(&m);
}

/* ------------------------------------------------------------------ */
/* Differential: memsys against a plain reference model                */
/* ------------------------------------------------------------------ */

/*
 * The reference: per level a sets x ways array of (valid, line, stamp),
 * set = line % sets, LRU by the smallest stamp, an invalid way taken
 * first. Same policy as mmu.h states, written the obvious way.
 */
#define REF_MAX_WAYS	64
#define REF_MAX_LINES	4096

struct ref_way {
	bool		valid;
	uint64_t	line;
	uint64_t	stamp;
};

struct ref {
	struct ref_way	w[MEMSYS_LEVELS][REF_MAX_LINES];
	uint64_t	sets[MEMSYS_LEVELS];
	uint32_t	ways[MEMSYS_LEVELS];
	uint32_t	line[MEMSYS_LEVELS];
	uint64_t	clock;
};

static void ref_init(struct ref *r, const struct memsys_config *c)
{
	unsigned i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < MEMSYS_LEVELS; i++) {
		const struct cache_geom *g = &c->level[i];

		if (g->size == 0)
			continue;
		r->ways[i] = g->ways;
		r->line[i] = g->line;
		r->sets[i] = g->size / g->ways / g->line;
		cr_assert_leq(g->ways, REF_MAX_WAYS);
		cr_assert_leq(g->size / g->line, REF_MAX_LINES);
	}
}

static enum mem_level ref_access(struct ref *r, hpa_t hpa)
{
	unsigned i, served = MEM_DRAM;
	uint32_t w;

	for (i = 0; i < MEMSYS_LEVELS && served == MEM_DRAM; i++) {
		uint64_t line, set;

		if (r->ways[i] == 0)
			continue;
		line = hpa / r->line[i];
		set = line % r->sets[i];
		for (w = 0; w < r->ways[i]; w++) {
			struct ref_way *e = &r->w[i][set * r->ways[i] + w];

			if (e->valid && e->line == line) {
				e->stamp = ++r->clock;
				served = i;
				break;
			}
		}
	}
	for (i = 0; i < served && i < MEMSYS_LEVELS; i++) {
		struct ref_way *victim = NULL;
		uint64_t line, set;

		if (r->ways[i] == 0)
			continue;
		line = hpa / r->line[i];
		set = line % r->sets[i];
		for (w = 0; w < r->ways[i]; w++) {
			struct ref_way *e = &r->w[i][set * r->ways[i] + w];

			if (!e->valid) {
				victim = e;
				break;
			}
			if (victim == NULL || e->stamp < victim->stamp)
				victim = e;
		}
		victim->valid = true;
		victim->line = line;
		victim->stamp = ++r->clock;
	}
	return (enum mem_level)served;
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static const struct memsys_config tiny[] = {
	/* the small hierarchy */
	{ .level = { { 512, 2, 64, 4 }, { 2048, 4, 64, 12 }, { 8192, 8, 64, 40 } },
	  .dram_latency = 200 },
	/* odd way counts (12-way L1 as Golden Cove, 13-way LLC) */
	{ .level = { { 12 * 64 * 2, 12, 64, 5 }, { 4096, 16, 64, 16 }, { 13 * 64 * 8, 13, 64, 100 } },
	  .dram_latency = 300 },
	/* no LLC; a direct-mapped L1 */
	{ .level = { { 256, 1, 64, 3 }, { 1024, 16, 64, 15 }, { 0, 0, 0, 0 } },
	  .dram_latency = 280 },
	/* no L2; fully associative LLC */
	{ .level = { { 256, 2, 32, 3 }, { 0, 0, 0, 0 }, { 2048, 32, 64, 30 } },
	  .dram_latency = 150 },
	/* a different line size per level */
	{ .level = { { 256, 2, 16, 3 }, { 1024, 4, 64, 10 }, { 4096, 4, 128, 30 } },
	  .dram_latency = 150 },
};

Test(cache, matches_reference_model)
{
	static struct ref r;
	size_t k;

	for (k = 0; k < ARRAY_SIZE(tiny); k++) {
		uint64_t seed = 0x2545f4914f6cdd1dULL + k, counts[MEM_DRAM + 1] = { 0 };
		struct memsys m;
		unsigned i;

		init(&m, &tiny[k]);
		ref_init(&r, &tiny[k]);
		for (i = 0; i < 100000; i++) {
			uint64_t x = rng_next(&seed);
			hpa_t hpa;
			enum mem_level got, want;

			/* mostly a small hot region, sometimes a repeat, sometimes
			 * far away: every level gets to serve */
			switch (x & 7) {
			case 0:
				hpa = (x >> 8) & 0xffffff;		/* 16 MiB */
				break;
			case 1:
			case 2:
				hpa = (x >> 8) & 0x3fff;		/* 16 KiB */
				break;
			default:
				hpa = (x >> 8) & 0xfff;			/* 4 KiB */
				break;
			}
			if ((x >> 40 & 15) == 0)
				hpa = 0x40;				/* repeats */
			got = memsys_access(&m, hpa);
			want = ref_access(&r, hpa);
			cr_assert_eq(got, want, "config %zu, access %u (hpa %#llx): memsys %d, reference %d",
				     k, i, (unsigned long long)hpa, (int)got, (int)want);
			counts[got]++;
		}
		/* every present level (and DRAM) took part; absent ones never serve */
		for (i = 0; i <= MEM_DRAM; i++) {
			bool present = i == MEM_DRAM || tiny[k].level[i].size != 0;

			if (present)
				cr_assert_gt(counts[i], 1000, "config %zu: level %u served only %llu",
					     k, i, (unsigned long long)counts[i]);
			else
				cr_assert_eq(counts[i], 0, "config %zu: absent level %u served", k, i);
		}
		memsys_destroy(&m);
	}
}
