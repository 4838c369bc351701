/*
 * memsys.c - the memory model: set-associative L1D/L2/LLC over
 * host-physical addresses, then DRAM. The L1 hit is inline in memsys.h;
 * this file holds set-up and the miss path. Policy: see memsys.h.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "memsys.h"

static bool is_pow2(uint64_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

static unsigned log2_u64(uint64_t x)
{
	unsigned s = 0;

	while ((UINT64_C(1) << s) < x)
		s++;
	return s;
}

static bool latency_ok(double l)
{
	return isfinite(l) && l >= 0;
}

/* sets_of - the number of sets of a present level g, or 0 when g is not
 * ways * line * a power of two. */
static uint64_t sets_of(const struct cache_geom *g)
{
	uint64_t way_bytes = (uint64_t)g->ways * g->line;

	if (g->ways == 0 || g->line < 2 || !is_pow2(g->line) ||
	    g->size % way_bytes != 0 || !is_pow2(g->size / way_bytes))
		return 0;
	return g->size / way_bytes;
}

int memsys_init(struct memsys *m, const struct memsys_config *cfg)
{
	unsigned i;

	memset(m, 0, sizeof(*m));
	if (cfg->level[MEM_L1].size == 0 || !latency_ok(cfg->dram_latency))
		return -EINVAL;
	for (i = 0; i < MEMSYS_LEVELS; i++) {
		const struct cache_geom *g = &cfg->level[i];

		if (g->size != 0 && (sets_of(g) == 0 || !latency_ok(g->latency)))
			return -EINVAL;
	}

	for (i = 0; i < MEMSYS_LEVELS; i++) {
		const struct cache_geom *g = &cfg->level[i];
		struct memsys_level *l = &m->lvl[i];
		uint64_t sets;

		if (g->size == 0)
			continue;
		m->latency[i] = g->latency;
		sets = sets_of(g);
		/* calloc: a zero tag is an empty way, and untouched pages of
		 * a large LLC cost nothing until used */
		l->tag = calloc(sets * g->ways, sizeof(*l->tag));
		if (l->tag == NULL)
			goto undo;
		l->set_mask = sets - 1;
		l->ways = g->ways;
		l->line_shift = log2_u64(g->line);
	}
	m->latency[MEM_DRAM] = cfg->dram_latency;
	m->walk_skips_l1 = cfg->walk_skips_l1;
	return 0;

undo:
	while (i-- > 0)
		free(m->lvl[i].tag);
	memset(m, 0, sizeof(*m));
	return -ENOMEM;
}

void memsys_destroy(struct memsys *m)
{
	unsigned i;

	for (i = 0; i < MEMSYS_LEVELS; i++)
		free(m->lvl[i].tag);
	memset(m, 0, sizeof(*m));
}

void memsys_flush(struct memsys *m)
{
	unsigned i;

	for (i = 0; i < MEMSYS_LEVELS; i++) {
		const struct memsys_level *l = &m->lvl[i];

		if (l->ways != 0)
			memset(l->tag, 0, (l->set_mask + 1) * l->ways * sizeof(*l->tag));
	}
	m->last = 0;
}

/* set_of - the ways of the set of level l that holds tag t. */
static uint64_t *set_of(const struct memsys_level *l, uint64_t t)
{
	return l->tag + ((t - 1) & l->set_mask) * l->ways;
}

/* touch - look t up in its set; on a hit move it to the front (MRU). */
static bool touch(const struct memsys_level *l, uint64_t t)
{
	uint64_t *set = set_of(l, t);
	uint32_t w;

	for (w = 0; w < l->ways; w++) {
		if (set[w] == t) {
			for (; w > 0; w--)
				set[w] = set[w - 1];
			set[0] = t;
			return true;
		}
	}
	return false;
}

/* fill - insert t, known absent, as MRU; the LRU way (or an empty one,
 * empties being last) falls off the end. */
static void fill(const struct memsys_level *l, uint64_t t)
{
	uint64_t *set = set_of(l, t);
	uint32_t w;

	for (w = l->ways - 1; w > 0; w--)
		set[w] = set[w - 1];
	set[0] = t;
}

/*
 * serve - look hpa up from L2 down; the first level holding the line
 * serves it, and it is filled on the way back into every present level
 * from fill_from to the one above the server.
 */
static enum mem_level serve(struct memsys *m, hpa_t hpa, unsigned fill_from)
{
	enum mem_level served = MEM_DRAM;
	unsigned i;

	for (i = MEM_L2; i < MEMSYS_LEVELS; i++) {
		const struct memsys_level *l = &m->lvl[i];

		if (l->ways != 0 && touch(l, (hpa >> l->line_shift) + 1)) {
			served = (enum mem_level)i;
			break;
		}
	}
	for (i = fill_from; i < (unsigned)served; i++) {
		const struct memsys_level *l = &m->lvl[i];

		if (l->ways != 0)
			fill(l, (hpa >> l->line_shift) + 1);
	}
	return served;
}

enum mem_level memsys_miss(struct memsys *m, hpa_t hpa)
{
	enum mem_level served = serve(m, hpa, MEM_L1);

	m->last = (hpa >> m->lvl[MEM_L1].line_shift) + 1;
	return served;
}

enum mem_level memsys_beyond_l1(struct memsys *m, hpa_t hpa)
{
	return serve(m, hpa, MEM_L2);
}
