/*
 * memsys.h - the memory model: L1D, L2 and LLC over host-physical
 * addresses, then DRAM. Which level serves each data access and each
 * page-walk reference.
 */
#ifndef MEMVIRT_MEMSYS_H
#define MEMVIRT_MEMSYS_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"

/*
 * Set-associative caches (L1D, L2, LLC) over host-physical addresses,
 * then DRAM: which level serves an access, so a page-table line used a
 * moment ago is cheap and one a sweep evicted is not. Page-walk
 * references and data accesses go through the same memsys and compete
 * for the same lines.
 *
 * Policy, chosen for simplicity and stated once here:
 *  - one lookup per access, L1 -> L2 -> LLC -> DRAM; the first level
 *    holding the line serves it and the access costs that level's
 *    latency (load-to-use, not additive);
 *  - fill on the way back: the line enters every present level above
 *    the one that served it, as most recently used there. Reads and
 *    writes are alike (write-allocate); dirty lines and write-backs are
 *    not modeled;
 *  - non-inclusive, non-exclusive: a level evicts on its own, nothing is
 *    back-invalidated above it nor written into the level below;
 *  - true LRU in every set; each level sees only the accesses that
 *    reached it (L2 ages by L1 misses, as in hardware);
 *  - index = line number modulo sets (a mask): no slice hashing.
 *
 * Address split at a level with 2^s sets and 2^b-byte lines:
 *
 *   hpa:  |        tag        | set (s bits) | offset (b bits) |
 *         \______ line number = hpa >> b ____/
 *
 * A level stores the full line number plus one (0 = empty way), so a
 * zeroed array is an empty cache and the compare needs no tag extract.
 */
#define MEMSYS_LEVELS	3

struct cache_geom {
	uint32_t	size;		/* bytes; 0 = level absent */
	uint32_t	ways;
	uint32_t	line;		/* bytes, power of two, at least 2 */
	double		latency;	/* load-to-use cycles when this level serves */
};

struct memsys_config {
	struct cache_geom level[MEMSYS_LEVELS];	/* L1D, L2, LLC */
	double		dram_latency;		/* load-to-use cycles from DRAM */
	bool		walk_skips_l1;		/* page-walk references start at L2
						 * and never fill L1D (AMD K8/K10) */
};

/* The level that served an access; indexes memsys.latency. */
enum mem_level { MEM_L1 = 0, MEM_L2, MEM_LLC, MEM_DRAM };

struct memsys_level {
	uint64_t	*tag;		/* sets * ways, set-major; a set runs from its
					 * MRU way to its LRU way, empty ways (0) last */
	uint64_t	set_mask;	/* sets - 1 */
	uint32_t	ways;		/* 0: level absent */
	unsigned	line_shift;	/* log2(line) */
};

struct memsys {
	uint64_t		last;		/* tag (L1 line + 1) of the last access;
						 * 0 = none. That line is MRU in its L1 set. */
	struct memsys_level	lvl[MEMSYS_LEVELS];
	double			latency[MEM_DRAM + 1];
	bool			walk_skips_l1;	/* see memsys_config */
};

/*
 * memsys_init - empty caches of geometry cfg. L1 must be present; L2
 * and LLC may be absent (size 0). Returns 0, -EINVAL when a present
 * level's line is not a power of two >= 2, its ways are 0, its size is
 * not ways * line * a power of two (the sets), a latency is negative or
 * not finite, or L1 is absent; -ENOMEM.
 */
int memsys_init(struct memsys *m, const struct memsys_config *cfg);

/* memsys_destroy - free the tag arrays; m is zeroed and may be
 * initialized again. */
void memsys_destroy(struct memsys *m);

/* memsys_flush - empty every level (and the last-line memo). */
void memsys_flush(struct memsys *m);

/* memsys_miss - the slow path of memsys_access once the L1 set scan has
 * missed: look up L2 and LLC, fill on the way back. Not for callers. */
enum mem_level memsys_miss(struct memsys *m, hpa_t hpa);

/* memsys_beyond_l1 - the slow path of memsys_walk for a walker that
 * reads through L2: look up L2 and LLC, fill them, leave L1 (and the
 * last-line memo) as they were. Not for callers. */
enum mem_level memsys_beyond_l1(struct memsys *m, hpa_t hpa);

/*
 * memsys_access - one access to the line holding hpa: look it up L1 ->
 * L2 -> LLC -> DRAM, fill the levels above the one that served it,
 * update LRU. Returns the level that served it.
 *
 * The L1 hit is inline: a repeat of the last line changes nothing (it
 * is already MRU), any other L1 hit moves the line to the front of its
 * set. Masks and shifts only; no allocation, no division.
 */
static inline enum mem_level memsys_access(struct memsys *m, hpa_t hpa)
{
	const struct memsys_level *l1 = &m->lvl[MEM_L1];
	uint64_t t = (hpa >> l1->line_shift) + 1, *set;
	uint32_t w;

	if (likely(t == m->last))
		return MEM_L1;
	set = l1->tag + ((t - 1) & l1->set_mask) * l1->ways;
	for (w = 0; w < l1->ways; w++) {
		if (set[w] == t) {
			for (; w > 0; w--)
				set[w] = set[w - 1];
			set[0] = t;
			m->last = t;
			return MEM_L1;
		}
	}
	return memsys_miss(m, hpa);
}

/*
 * memsys_walk - one page-walker reference to the line holding hpa. A
 * walker that reads through the L1D (Intel's, and the default) is a data
 * access; one that reads through L2 (walk_skips_l1) starts its lookup at
 * L2 and fills only L2 and the LLC: its lines reach the TLB, not the L1D.
 */
static inline enum mem_level memsys_walk(struct memsys *m, hpa_t hpa)
{
	if (m->walk_skips_l1)	/* fixed per profile: always predicted */
		return memsys_beyond_l1(m, hpa);
	return memsys_access(m, hpa);
}

/* memsys_latency - load-to-use cycles of an access served by l. */
static inline double memsys_latency(const struct memsys *m, enum mem_level l)
{
	return m->latency[l];
}

#endif /* MEMVIRT_MEMSYS_H */
