/*
 * page.c - the shadow page cache: shadow pages hashed by (gfn, role), an
 * LRU list with a limit, table pages from the VMM's region, the reverse
 * map (guest frame -> leaf sptes), parent links, write protection of
 * shadowed guest frames and the large-page disallow counts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shadow_int.h"

#define HASH_BUCKETS	4096u	/* power of two */

/* ------------------------------------------------------------------ */
/* Small sets of spte addresses                                        */
/* ------------------------------------------------------------------ */

static void hvec_add(struct hvec *h, hpa_t x)
{
	if (h->cap == 0 && h->n == 0) {
		h->one = x;
		h->n = 1;
		return;
	}
	if (h->cap == 0) {
		hpa_t *v = malloc(4 * sizeof(*v));

		BUG_ON(!v, "out of host memory for a reverse map");
		v[0] = h->one;
		h->v = v;
		h->cap = 4;
	} else if (h->n == h->cap) {
		hpa_t *v = realloc(h->v, 2 * (size_t)h->cap * sizeof(*v));

		BUG_ON(!v, "out of host memory for a reverse map");
		h->v = v;
		h->cap *= 2;
	}
	h->v[h->n++] = x;
}

static void hvec_del(struct hvec *h, hpa_t x)
{
	hpa_t *d = hvec_data(h);
	uint32_t i;

	for (i = 0; i < h->n; i++)
		if (d[i] == x)
			break;
	BUG_ON(i == h->n, "spte missing from its reverse map");
	d[i] = d[--h->n];
}

static void hvec_free(struct hvec *h)
{
	if (h->cap)
		free(h->v);
	memset(h, 0, sizeof(*h));
}

/* ------------------------------------------------------------------ */
/* Guest memory through the p2m                                        */
/* ------------------------------------------------------------------ */

hpa_t shadow_guest_hpa(struct shadow *s, gpa_t gpa)
{
	bool backed;
	hpa_t hpa = p2m_lookup(&s->p2m, gpa, &backed);

	if (likely(backed))
		return hpa;
	hpa = p2m_back(&s->p2m, gpa);
	s->h2g[hpa >> LEVEL_SHIFT(s->p2m.level)] =
		(gpa & ~(LEVEL_SIZE(s->p2m.level) - 1)) + 1;
	return hpa;
}

gpa_t shadow_gpa_of_hpa(const struct shadow *s, hpa_t hpa)
{
	uint64_t r = hpa >> LEVEL_SHIFT(s->p2m.level);

	BUG_ON(r >= s->h2g_n || s->h2g[r] == 0, "spte maps a host page no gpa owns");
	return s->h2g[r] - 1 + (hpa & (LEVEL_SIZE(s->p2m.level) - 1));
}

void shadow_flush_if_needed(struct shadow *s)
{
	/* KVM's kvm_flush_remote_tlbs: every translation of the VM, since
	 * the VMM does not know which gvas reached a zapped spte. */
	if (s->need_flush) {
		tlb_flush_vpid(&s->m->tlb, TC_CTX_VPID(s->m->tlb.ctx));
		s->need_flush = false;
		s->work->tlb_flush = 1;
	}
}

/* ------------------------------------------------------------------ */
/* Hash, LRU, table pages                                              */
/* ------------------------------------------------------------------ */

static uint32_t hash_of(const struct shadow *s, gfn_t gfn)
{
	return (uint32_t)((gfn * UINT64_C(0x9e3779b97f4a7c15)) >> 40) & s->hash_mask;
}

struct sp *sp_find(const struct shadow *s, gfn_t gfn, union sp_role role)
{
	struct sp *sp;

	for (sp = s->hash[hash_of(s, gfn)]; sp; sp = sp->hash_next)
		if (sp->gfn == gfn && sp->role.word == role.word)
			return sp;
	return NULL;
}

struct sp *sp_bucket(const struct shadow *s, gfn_t gfn)
{
	return s->hash[hash_of(s, gfn)];
}

static void hash_del(struct shadow *s, struct sp *sp)
{
	struct sp **pp = &s->hash[hash_of(s, sp->gfn)];

	while (*pp != sp)
		pp = &(*pp)->hash_next;
	*pp = sp->hash_next;
}

static void lru_del(struct sp *sp)
{
	sp->lru_prev->lru_next = sp->lru_next;
	sp->lru_next->lru_prev = sp->lru_prev;
}

static void lru_add_head(struct shadow *s, struct sp *sp)
{
	sp->lru_next = s->lru.lru_next;
	sp->lru_prev = &s->lru;
	s->lru.lru_next->lru_prev = sp;
	s->lru.lru_next = sp;
}

void sp_touch(struct shadow *s, struct sp *sp)
{
	sp->used = s->seq;
	sp->flood = 0;
	lru_del(sp);
	lru_add_head(s, sp);
}

struct sp *sp_of(const struct shadow *s, hpa_t hpa)
{
	uint64_t i = (hpa - s->vmm_base) >> PAGE_SHIFT;

	BUG_ON(hpa < s->vmm_base || i >= s->vmm_npages || !s->by_page[i],
	       "address is in no shadow table");
	return s->by_page[i];
}

/* The least recently used sp that may go: not a cached root, not on the
 * path of the fault in progress. */
static struct sp *lru_victim(const struct shadow *s)
{
	struct sp *sp;

	for (sp = s->lru.lru_prev; sp != &s->lru; sp = sp->lru_prev)
		if (sp->root_count == 0 && sp->used != s->seq)
			return sp;
	return NULL;
}

void sp_make_room(struct shadow *s, unsigned need)
{
	struct sp *victim;

	if (s->pages_max == 0)
		return;
	while (s->pages + need > s->pages_max && (victim = lru_victim(s)) != NULL)
		sp_zap(s, victim);
}

static hpa_t table_alloc(struct shadow *s)
{
	hpa_t hpa;
	struct sp *victim;

	for (;;) {
		if (s->nfree) {
			hpa = s->free[--s->nfree];
			memset(s->m->hmem.base + hpa, 0, PAGE_SIZE);
			return hpa;
		}
		hpa = hmem_alloc_table(&s->m->hmem);
		if (hpa)
			return hpa;
		/* The VMM's region is full: reclaim as under the limit. */
		victim = lru_victim(s);
		if (!victim)
			return 0;
		sp_zap(s, victim);
	}
}

static void table_free(struct shadow *s, hpa_t hpa)
{
	if (s->nfree == s->vmm_npages)
		return;		/* cannot happen: one slot per region page */
	s->free[s->nfree++] = hpa;
}

/* ------------------------------------------------------------------ */
/* Unsync marks: parents' bitmaps                                      */
/* ------------------------------------------------------------------ */

/*
 * Invariant: bit idx of P's unsync_bitmap is set iff entry idx of P
 * links a child C with C->marked, and C->marked == (C->unsync ||
 * C->unsync_children != 0). So a sync walk from a root reaches exactly
 * the unsync pages under it.
 */
static void set_child_bit(struct shadow *s, struct sp *sp, unsigned idx, bool on)
{
	uint64_t bit = UINT64_C(1) << (idx % 64);
	uint64_t *w = &sp->unsync_bitmap[idx / 64];

	if (on == ((*w & bit) != 0))
		return;
	if (on) {
		*w |= bit;
		sp->unsync_children++;
	} else {
		*w &= ~bit;
		sp->unsync_children--;
	}
	sp_update_marked(s, sp);
}

void sp_update_marked(struct shadow *s, struct sp *sp)
{
	bool need = sp->unsync || sp->unsync_children != 0;
	uint32_t i;

	if (need == sp->marked)
		return;
	sp->marked = need;
	for (i = 0; i < sp->parents.n; i++) {
		hpa_t p = hvec_data(&sp->parents)[i];

		set_child_bit(s, sp_of(s, p), (unsigned)((p & (PAGE_SIZE - 1)) / 8), need);
	}
}

/* ------------------------------------------------------------------ */
/* Reverse map, sptes                                                  */
/* ------------------------------------------------------------------ */

static struct hvec *rmap_head(const struct shadow *s, unsigned level, uint64_t spte)
{
	gpa_t gpa = shadow_gpa_of_hpa(s, spte & PTE_ADDR_MASK);
	uint64_t key = gpa >> LEVEL_SHIFT(level);

	BUG_ON(key >= s->nregions[level], "leaf spte maps beyond guest RAM");
	return &s->rmap[level][key];
}

void sp_link_child(struct shadow *s, struct sp *sp, unsigned idx, struct sp *child)
{
	hpa_t sptep = sp_sptep(sp, idx);

	BUG_ON(spte_read(s, sptep) & PTE_P, "linking over a present spte");
	/* Non-leaf sptes grant everything: the leaf carries the path's rights. */
	spte_write(s, sptep, child->table | PTE_P | PTE_W | PTE_U | PTE_A);
	hvec_add(&child->parents, sptep);
	if (child->marked)
		set_child_bit(s, sp, idx, true);
}

void sp_set_leaf(struct shadow *s, struct sp *sp, unsigned idx, uint64_t v)
{
	hpa_t sptep = sp_sptep(sp, idx);
	uint64_t old = spte_read(s, sptep);
	unsigned level = sp->role.level;

	if (old & PTE_P) {
		if (spte_is_leaf(level, old) &&
		    ((old ^ v) & (PTE_ADDR_MASK | PTE_PS)) == 0) {
			/* Same page: only rights change. Weaker rights (or a
			 * changed G) must not survive in the TLB. */
			if ((old & ~v & (PTE_W | PTE_U)) || ((v & ~old) & PTE_NX) ||
			    ((old ^ v) & PTE_G))
				s->need_flush = true;
			if (old != v)
				spte_write(s, sptep, v);
			return;
		}
		sp_zap_spte(s, sp, idx);
	}
	spte_write(s, sptep, v);
	hvec_add(rmap_head(s, level, v), sptep);
}

void sp_zap_spte(struct shadow *s, struct sp *sp, unsigned idx)
{
	hpa_t sptep = sp_sptep(sp, idx);
	uint64_t old = spte_read(s, sptep);
	unsigned level = sp->role.level;

	if (!(old & PTE_P))
		return;
	spte_write(s, sptep, 0);
	s->need_flush = true;
	if (spte_is_leaf(level, old)) {
		hvec_del(rmap_head(s, level, old), sptep);
	} else {
		struct sp *child = sp_of(s, old & PTE_ADDR_MASK);

		hvec_del(&child->parents, sptep);
		if (child->marked)
			set_child_bit(s, sp, idx, false);
	}
}

/* ------------------------------------------------------------------ */
/* Tracked frames: write protection, large-page disallow               */
/* ------------------------------------------------------------------ */

bool shadow_gfn_writable(const struct shadow *s, gfn_t gfn)
{
	return gfn >= s->nframes || s->gfn[gfn].synced == 0;
}

bool shadow_lpage_allowed(const struct shadow *s, gpa_t gpa, unsigned level)
{
	uint64_t r = gpa >> LEVEL_SHIFT(level);

	return level == LEVEL_4K || (r < s->nregions[level] && s->disallow[level][r] == 0);
}

void shadow_write_protect(struct shadow *s, gfn_t gfn)
{
	struct hvec *h;
	uint32_t i;

	if (gfn >= s->nframes)
		return;
	h = &s->rmap[LEVEL_4K][gfn];
	for (i = 0; i < h->n; i++) {
		hpa_t sptep = hvec_data(h)[i];
		uint64_t v = spte_read(s, sptep);

		if (v & PTE_W) {
			spte_write(s, sptep, v & ~(PTE_W | PTE_D));
			s->need_flush = true;
		}
	}
}

/* Zap every leaf spte of `level` mapping region r. */
static void zap_region(struct shadow *s, unsigned level, uint64_t r)
{
	struct hvec *h = &s->rmap[level][r];

	while (h->n) {
		hpa_t sptep = hvec_data(h)[0];

		sp_zap_spte(s, sp_of(s, sptep), (unsigned)((sptep & (PAGE_SIZE - 1)) / 8));
	}
}

/* A non-direct sp for gfn appears: the frame is tracked and, unless all
 * its sps are unsync, write-protected; no large spte may cover it. */
static void account(struct shadow *s, gfn_t gfn)
{
	struct gfn_state *g;
	unsigned l;

	if (gfn >= s->nframes)
		return;		/* outside RAM: nothing can write it */
	g = &s->gfn[gfn];
	if (g->shadowed++ == 0) {
		for (l = LEVEL_2M; l <= LEVEL_1G; l++) {
			uint64_t r = (gfn << PAGE_SHIFT) >> LEVEL_SHIFT(l);

			if (s->disallow[l][r]++ == 0)
				zap_region(s, l, r);
		}
	}
	if (g->synced++ == 0)
		shadow_write_protect(s, gfn);
}

static void unaccount(struct shadow *s, const struct sp *sp)
{
	struct gfn_state *g;
	unsigned l;

	if (sp->gfn >= s->nframes)
		return;
	g = &s->gfn[sp->gfn];
	if (!sp->unsync)
		g->synced--;
	if (--g->shadowed == 0)
		for (l = LEVEL_2M; l <= LEVEL_1G; l++)
			s->disallow[l][(sp->gfn << PAGE_SHIFT) >> LEVEL_SHIFT(l)]--;
}

/* ------------------------------------------------------------------ */
/* Shadow pages                                                        */
/* ------------------------------------------------------------------ */

struct sp *sp_get(struct shadow *s, gfn_t gfn, union sp_role role)
{
	struct sp *sp = sp_find(s, gfn, role), *o, *next;
	hpa_t hpa;

	if (sp) {
		/* Relinked: the guest may have changed and invalidated entries
		 * while no path reached it (KVM's kvm_sync_page). */
		if (sp->unsync)
			sp_sync(s, sp, false);
		return sp;
	}
	/* A non-leaf table is never unsync: a frame becoming one drops its
	 * unsync leaf sps (they are stale, as in KVM). */
	if (!role.direct && role.level > LEVEL_4K)
		for (o = s->hash[hash_of(s, gfn)]; o; o = next) {
			next = o->hash_next;
			if (o->gfn == gfn && o->unsync)
				sp_zap(s, o);
		}
	hpa = table_alloc(s);
	if (!hpa)
		return NULL;
	sp = calloc(1, sizeof(*sp));
	BUG_ON(!sp, "out of host memory for a shadow page");
	s->work->sp_created++;
	sp->table = hpa;
	sp->gfn = gfn;
	sp->role = role;
	sp->used = s->seq;
	sp->hash_next = s->hash[hash_of(s, gfn)];
	s->hash[hash_of(s, gfn)] = sp;
	lru_add_head(s, sp);
	s->by_page[(hpa - s->vmm_base) >> PAGE_SHIFT] = sp;
	if (++s->pages > s->pages_peak)
		s->pages_peak = s->pages;
	if (!role.direct)
		account(s, gfn);
	return sp;
}

/*
 * Zapping a non-leaf sp zaps the unsync leaf sps below it first (KVM's
 * mmu_zap_unsync_children): once unlinked they could not be found by a
 * sync walk from a root, yet their frames are writable.
 */
static void zap_unsync_below(struct shadow *s, struct sp *sp)
{
	unsigned idx;

	if (sp->role.level == LEVEL_4K)
		return;
	for (idx = 0; idx < SPTES_PER_PAGE; idx++) {
		uint64_t spte;
		struct sp *child;

		if (!((sp->unsync_bitmap[idx / 64] >> (idx % 64)) & 1))
			continue;
		spte = spte_read(s, sp_sptep(sp, idx));
		child = sp_of(s, spte & PTE_ADDR_MASK);
		if (child->unsync_children)
			zap_unsync_below(s, child);
		if (child->unsync)
			sp_zap(s, child);
	}
}

void sp_zap(struct shadow *s, struct sp *sp)
{
	unsigned i;

	s->work->sp_zapped++;
	if (s->zap_unsync)
		zap_unsync_below(s, sp);
	if (sp->unsync)
		s->work->resyncs++;	/* no longer unsync: gone */
	for (i = 0; i < SPTES_PER_PAGE; i++)
		sp_zap_spte(s, sp, i);
	while (sp->parents.n) {
		hpa_t p = hvec_data(&sp->parents)[0];

		sp_zap_spte(s, sp_of(s, p), (unsigned)((p & (PAGE_SIZE - 1)) / 8));
	}
	s->need_flush = true;
	if (sp->root_count)
		return;		/* a cached root stays, empty */
	if (!sp->role.direct)
		unaccount(s, sp);
	hash_del(s, sp);
	lru_del(sp);
	s->by_page[(sp->table - s->vmm_base) >> PAGE_SHIFT] = NULL;
	table_free(s, sp->table);
	s->pages--;
	hvec_free(&sp->parents);
	free(sp);
}

int shadow_pages_init(struct shadow *s)
{
	struct mmu *m = s->m;
	unsigned l;

	s->hash_mask = HASH_BUCKETS - 1;
	s->hash = calloc(HASH_BUCKETS, sizeof(*s->hash));
	s->vmm_base = m->hmem.vmm_next;
	s->vmm_npages = (m->hmem.vmm_end - m->hmem.vmm_next) >> PAGE_SHIFT;
	if (s->vmm_npages == 0)
		return -ENOSPC;	/* no region for shadow tables */
	s->by_page = calloc(s->vmm_npages, sizeof(*s->by_page));
	s->free = calloc(s->vmm_npages, sizeof(*s->free));
	s->lru.lru_next = s->lru.lru_prev = &s->lru;
	s->nframes = m->hmem.guest_size >> PAGE_SHIFT;
	s->gfn = calloc(s->nframes + 1, sizeof(*s->gfn));
	if (!s->hash || !s->by_page || !s->free || !s->gfn)
		return -ENOMEM;
	for (l = LEVEL_4K; l <= LEVEL_1G; l++) {
		s->nregions[l] = (m->hmem.guest_size + LEVEL_SIZE(l) - 1) >> LEVEL_SHIFT(l);
		s->rmap[l] = calloc(s->nregions[l] + 1, sizeof(*s->rmap[l]));
		if (!s->rmap[l])
			return -ENOMEM;
		if (l > LEVEL_4K) {
			s->disallow[l] = calloc(s->nregions[l] + 1, sizeof(*s->disallow[l]));
			if (!s->disallow[l])
				return -ENOMEM;
		}
	}
	return 0;
}

void shadow_pages_destroy(struct shadow *s)
{
	struct sp *sp, *next;
	uint64_t r;
	unsigned l;

	if (s->lru.lru_next)
		for (sp = s->lru.lru_next; sp != &s->lru; sp = next) {
			next = sp->lru_next;
			hvec_free(&sp->parents);
			free(sp);
		}
	for (l = LEVEL_4K; l <= LEVEL_1G; l++) {
		if (s->rmap[l])
			for (r = 0; r < s->nregions[l]; r++)
				hvec_free(&s->rmap[l][r]);
		free(s->rmap[l]);
		free(s->disallow[l]);
	}
	free(s->gfn);
	free(s->free);
	free(s->by_page);
	free(s->hash);
}
