/*
 * tc.h - tagged set-associative caches: the one structure the TLB
 * arrays, the paging-structure caches and EPT's nested TLB are built
 * from. An entry caches one translation (or one paging-structure entry)
 * of one page size under one context tag (VPID, PCID), with an optional
 * global bit; a presence filter makes a miss cost one load. Lookups and
 * inserts are inline-able for the TLB's hot path; nothing allocates,
 * divides or calls indirectly after tc_init.
 */
#ifndef MEMVIRT_TC_H
#define MEMVIRT_TC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"

/* Context tag of a cached translation: VPID in bits 31:16, PCID in 15:0. */
#define TC_CTX(vpid, pcid)	(((uint32_t)(vpid) << 16) | (uint32_t)(pcid))
#define TC_CTX_VPID(ctx)	((uint16_t)((ctx) >> 16))
#define TC_CTX_PCID(ctx)	((uint16_t)((ctx) & 0xfff))

#define TCE_VALID	(1u << 0)
#define TCE_GLOBAL	(1u << 1)	/* matches every PCID of its VPID */
#define TCE_DIRTY	(1u << 2)	/* D was set when cached: writes may hit */

/*
 * One way of a cache. Its key and its LRU stamp live apart, in the
 * cache's key[] and lru[] arrays at the same index (tc_key, tc_lru): a
 * set's probe reads only its keys and an insert's victim search only its
 * stamps, a line or two for a 12-way set where whole entries took
 * eight. On a TLB-missing sweep those sets are cold in the host's
 * caches, and the search's loads were a fifth of the exact engine's wall
 * time (docs/speed.md, "Keys and stamps apart").
 */
struct tc_entry {
	uint64_t	val;	/* page base hpa (TLB), table address (PSC) */
	uint32_t	ctx;	/* TC_CTX(vpid, pcid) */
	uint32_t	gen;	/* bumped when the slot is replaced or invalidated */
	uint8_t		level;	/* page size (TLB) or level of the cached entry (PSC) */
	uint8_t		rights;	/* RIGHT_* */
	uint8_t		flags;	/* TCE_* */
	uint8_t		allow;	/* TLB: bit ACC_IDX(acc) set when the access may hit */
};

enum tc_repl {
	TC_REPL_LRU = 0,	/* true LRU by use stamp */
	TC_REPL_RANDOM,		/* deterministic xorshift, seeded per cache */
};

struct tc_geom {
	uint32_t	entries;	/* 0: the array does not exist */
	uint32_t	ways;		/* entries == ways: fully associative */
	uint8_t		sizes;		/* TLB: bitmask of levels held (1 << LEVEL_4K | ...) */
	uint8_t		repl;		/* enum tc_repl */
};

struct tc {
	struct tc_entry	*e;		/* sets * ways entries, set-major */
	uint64_t	*key;		/* [i]: e[i]'s addr >> LEVEL_SHIFT(level) */
	uint64_t	*lru;		/* [i]: e[i]'s stamp of last use, from *clock;
					 * 0 exactly when e[i] is invalid */
	uint16_t	*pres;		/* presence filter: valid entries per hash of
					 * (key, level); 0 means surely absent */
	unsigned	pres_shift;	/* 64 - log2(filter slots) */
	uint32_t	sets;		/* power of two */
	uint32_t	ways;
	uint8_t		sizes;
	uint8_t		repl;
	uint64_t	rng;		/* TC_REPL_RANDOM state */
	uint64_t	*clock;		/* shared LRU clock of the owner */
};

/* tc_init - allocate a cache of geometry g. Returns 0 or -errno (-EINVAL
 * when entries is not ways times a power of two). An entries == 0 geometry
 * gives an empty cache on which every lookup misses. */
int tc_init(struct tc *c, const struct tc_geom *g, uint64_t *clock);
void tc_destroy(struct tc *c);

/* The key and the LRU stamp of an entry of c (0 when invalid). */
static inline size_t tc_index(const struct tc *c, const struct tc_entry *e)
{
	return (size_t)(e - c->e);
}

static inline uint64_t tc_key(const struct tc *c, const struct tc_entry *e)
{
	return c->key[tc_index(c, e)];
}

static inline uint64_t tc_lru(const struct tc *c, const struct tc_entry *e)
{
	return c->lru[tc_index(c, e)];
}

/* tc_stamp - where e's LRU stamp lives: a use writes ++*clock there. */
static inline uint64_t *tc_stamp(struct tc *c, const struct tc_entry *e)
{
	return &c->lru[tc_index(c, e)];
}

/* tc_find - the valid entry of page size `level` holding addr under ctx
 * (global entries match any PCID of ctx's VPID when match_global), marked
 * used; NULL if none. */
struct tc_entry *tc_find(struct tc *c, uint64_t addr, unsigned level,
			 uint32_t ctx, bool match_global);

/* tc_insert - claim the slot for (addr, level, ctx): a matching valid
 * entry is reused, else an invalid way, else the victim chosen by the
 * replacement policy. key/level/ctx/lru/VALID are set, gen bumped;
 * the caller fills val, rights, flags, allow. */
struct tc_entry *tc_insert(struct tc *c, uint64_t addr, unsigned level,
			   uint32_t ctx);

/* tc_insert_absent - tc_insert when the caller knows no valid entry
 * matches (addr, level, ctx) (it has just dropped them, or looked up and
 * found none): the same slot, without the match test. */
struct tc_entry *tc_insert_absent(struct tc *c, uint64_t addr, unsigned level,
				  uint32_t ctx);

/* tc_invalidate_entry - drop one valid entry of c (gen bumped). */
void tc_invalidate_entry(struct tc *c, struct tc_entry *e);

/* Context masks for tc_flush: one VPID (any PCID). */
#define TC_VPID_MASK	UINT32_C(0xffff0000)

/*
 * Invalidate every valid entry a flush selects: a non-global entry when
 * (ctx & mask) == (want & mask); a global one when drop_global and
 * (ctx & gmask) == (want & gmask). Masks: UINT32_MAX one context,
 * TC_VPID_MASK one VPID, 0 everything.
 */
void tc_flush(struct tc *c, uint32_t want, uint32_t mask,
	      bool drop_global, uint32_t gmask);

/* Inline lookups, shared by tc.c and the TLB's hot path. */

/*
 * Where an address lives in a cache. For a page (or region) of size
 * LEVEL_SIZE(level):
 *
 *   63                  LEVEL_SHIFT(level)            0
 *  +---------------------------+------------------------+
 *  |            key            |   offset in the page   |
 *  +---------------------------+------------------------+
 *            set = key & (sets - 1)
 *
 * The set's ways are contiguous in c->e, c->key and c->lru (set-major):
 * tc_set gives the index of its first way.
 */
static inline size_t tc_set(const struct tc *c, uint64_t key)
{
	return (size_t)(key & (c->sets - 1)) * c->ways;
}

/* The tag match every lookup uses, on way i of c: same page, same size,
 * and either the same context or (match_global) a global entry of the
 * same VPID. */
static inline bool tc_match(const struct tc *c, size_t i, uint64_t key,
			    unsigned level, uint32_t ctx, bool match_global)
{
	const struct tc_entry *e = &c->e[i];

	/* the key rejects almost every way: test it alone first */
	if (c->key[i] != key)
		return false;
	if (!(e->flags & TCE_VALID) || e->level != level)
		return false;
	return e->ctx == ctx ||
	       (match_global && (e->flags & TCE_GLOBAL) &&
		TC_CTX_VPID(e->ctx) == TC_CTX_VPID(ctx));
}

/*
 * The presence filter: a count of valid entries per hash of (key, level),
 * kept exactly on every valid/invalid transition. A zero count proves no
 * way of any set holds the page, so a miss (the common case of a
 * TLB-missing sweep) costs one load instead of a set scan. A nonzero
 * count proves nothing: the set is scanned as before. Results never
 * differ from a scan; only the time does.
 */
static inline uint16_t *tc_pres(const struct tc *c, uint64_t key, unsigned level)
{
	return &c->pres[((key ^ (uint64_t)level << 58) * UINT64_C(0x9e3779b97f4a7c15)) >>
			c->pres_shift];
}

/* First matching entry of one size, in way order; LRU untouched. */
static inline struct tc_entry *tc_probe(const struct tc *c, uint64_t addr,
					unsigned level, uint32_t ctx,
					bool match_global)
{
	uint64_t key = addr >> LEVEL_SHIFT(level);
	size_t set;

	if (unlikely(c->sets == 0) || *tc_pres(c, key, level) == 0)
		return NULL;
	set = tc_set(c, key);
	for (uint32_t w = 0; w < c->ways; w++)
		if (tc_match(c, set + w, key, level, ctx, match_global))
			return &c->e[set + w];
	return NULL;
}

#endif /* MEMVIRT_TC_H */
