/*
 * tc.c - tagged set-associative caches: allocation, find, insert with
 * LRU or deterministic random replacement, invalidation and flushes by
 * context (SDM Vol. 3 4.10.4 semantics are the callers').
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tc.h"

static inline uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* A random way of a full set: multiply-shift maps 32 random bits onto
 * [0, ways) without a modulo; ways need not be a power of two. */
static inline size_t tc_random_way(struct tc *c, size_t set)
{
	uint64_t r = xorshift64(&c->rng) >> 32;

	return set + (size_t)((r * c->ways) >> 32);
}

int tc_init(struct tc *c, const struct tc_geom *g, uint64_t *clock)
{
	uint32_t sets;

	memset(c, 0, sizeof(*c));
	c->clock = clock;
	c->sizes = g->sizes;
	c->repl = g->repl;
	if (g->repl > TC_REPL_RANDOM)
		return -EINVAL;
	if (g->entries == 0)
		return 0;		/* absent: sets == 0, every lookup misses */
	if (g->ways == 0 || g->ways > g->entries || g->entries % g->ways != 0)
		return -EINVAL;
	sets = g->entries / g->ways;
	if ((sets & (sets - 1)) != 0)
		return -EINVAL;
	c->e = calloc(g->entries, sizeof(*c->e));
	c->key = calloc(g->entries, sizeof(*c->key));
	c->lru = calloc(g->entries, sizeof(*c->lru));
	if (!c->e || !c->key || !c->lru)
		goto nomem;
	/* four filter slots per entry: few false "maybe"s on a miss */
	c->pres_shift = 64 - 2;
	while ((UINT64_C(1) << (64 - c->pres_shift)) < 4 * (uint64_t)g->entries)
		c->pres_shift--;
	c->pres = calloc(UINT64_C(1) << (64 - c->pres_shift), sizeof(*c->pres));
	if (!c->pres)
		goto nomem;
	c->sets = sets;
	c->ways = g->ways;
	/* deterministic per geometry: two runs of one config replace alike */
	c->rng = UINT64_C(0x9e3779b97f4a7c15) ^
		 ((uint64_t)g->entries << 32 | g->ways);
	if (c->rng == 0)
		c->rng = UINT64_C(0x9e3779b97f4a7c15);
	return 0;

nomem:
	tc_destroy(c);
	return -ENOMEM;
}

void tc_destroy(struct tc *c)
{
	free(c->e);
	free(c->key);
	free(c->lru);
	free(c->pres);
	c->e = NULL;
	c->key = NULL;
	c->lru = NULL;
	c->pres = NULL;
	c->sets = 0;
	c->ways = 0;
}

struct tc_entry *tc_find(struct tc *c, uint64_t addr, unsigned level,
			 uint32_t ctx, bool match_global)
{
	struct tc_entry *e = tc_probe(c, addr, level, ctx, match_global);

	if (e)
		*tc_stamp(c, e) = ++*c->clock;
	return e;
}

/* The insert itself; with match false the caller knows no valid entry
 * matches (addr, level, ctx), and the match test is skipped: the way
 * chosen is the same, as a match is then never found.
 *
 * The victim is the first way with the least stamp. An invalid way's
 * stamp is 0 and a valid one's is a distinct use of the clock (at least
 * 1), so that is the first invalid way, else the least recently used
 * one: one pass over the set's stamps. */
static inline __attribute__((always_inline))
struct tc_entry *insert(struct tc *c, uint64_t addr, unsigned level, uint32_t ctx,
			bool match)
{
	uint64_t key = addr >> LEVEL_SHIFT(level);
	size_t set, v;
	struct tc_entry *e;

	if (unlikely(c->sets == 0))
		return NULL;
	set = tc_set(c, key);
	v = SIZE_MAX;
	if (match) {
		struct tc_entry *hit = tc_probe(c, addr, level, ctx, false);

		if (hit)
			v = tc_index(c, hit);
	}
	if (v == SIZE_MAX) {
		const uint64_t *lru = c->lru + set;
		uint64_t min = lru[0];
		uint32_t at = 0;

		for (uint32_t w = 1; w < c->ways && min != 0; w++)
			if (lru[w] < min) {
				min = lru[w];
				at = w;
			}
		v = set + at;
		if (min != 0 && c->repl == TC_REPL_RANDOM)
			v = tc_random_way(c, set);
	}
	e = &c->e[v];
	if (e->flags & TCE_VALID)
		(*tc_pres(c, c->key[v], e->level))--;
	(*tc_pres(c, key, level))++;
	c->key[v] = key;
	c->lru[v] = ++*c->clock;
	e->level = (uint8_t)level;
	e->ctx = ctx;
	e->flags = TCE_VALID;
	e->rights = 0;
	e->allow = 0;
	e->val = 0;
	e->gen++;
	return e;
}

/* Returns NULL on an absent (entries == 0) cache: callers must cope. */
struct tc_entry *tc_insert(struct tc *c, uint64_t addr, unsigned level,
			   uint32_t ctx)
{
	return insert(c, addr, level, ctx, true);
}

struct tc_entry *tc_insert_absent(struct tc *c, uint64_t addr, unsigned level,
				  uint32_t ctx)
{
	if (DEBUG_CHECKS && c->sets) {
		uint64_t key = addr >> LEVEL_SHIFT(level);
		size_t set = tc_set(c, key);

		for (uint32_t w = 0; w < c->ways; w++)
			BUG_ON(tc_match(c, set + w, key, level, ctx, false),
			       "tc_insert_absent: the entry is present");
	}
	return insert(c, addr, level, ctx, false);
}

void tc_invalidate_entry(struct tc *c, struct tc_entry *e)
{
	BUG_ON(!(e->flags & TCE_VALID), "invalidating an invalid entry");
	(*tc_pres(c, tc_key(c, e), e->level))--;
	*tc_stamp(c, e) = 0;
	e->flags = 0;
	e->allow = 0;
	e->gen++;
}

void tc_flush(struct tc *c, uint32_t want, uint32_t mask,
	      bool drop_global, uint32_t gmask)
{
	uint32_t n = c->sets * c->ways;

	for (uint32_t i = 0; i < n; i++) {
		struct tc_entry *e = &c->e[i];

		if (!(e->flags & TCE_VALID))
			continue;
		if (e->flags & TCE_GLOBAL) {
			if (drop_global && (e->ctx & gmask) == (want & gmask))
				tc_invalidate_entry(c, e);
		} else if ((e->ctx & mask) == (want & mask)) {
			tc_invalidate_entry(c, e);
		}
	}
}
