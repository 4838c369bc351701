/*
 * tlb.c - the two-level TLB built from tagged caches (tc.h): per-size
 * arrays, VPID/PCID/global tags, the memo of L1 hits. Invalidation follows
 * SDM Vol. 3 4.10.4; nothing here allocates, divides or calls indirectly
 * after init.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tlb.h"

/* Levels a TLB array can hold: 4K, 2M, 1G (bit l of tc->sizes). */
#define TLB_SIZES_VALID	((1u << LEVEL_4K) | (1u << LEVEL_2M) | (1u << LEVEL_1G))

/* ------------------------------------------------------------------ */
/* The TLB                                                              */
/* ------------------------------------------------------------------ */

/*
 * Lookup order, which the memo's exactness rests on: within one level
 * (L1 or L2), sizes ascending (4K, 2M, 1G), for each size the arrays
 * holding it in index order, within a set the ways in order. The FIRST
 * matching entry in that order decides: it hits if it allows the access,
 * else the level misses (a clean or narrower entry shadows later ones;
 * the walk and fill that follow drop them all).
 *
 * Why a memoized L1 entry X stays first for its va until its gen moves:
 * only fills and L2 refills insert into L1, and both first drop every
 * L1 entry matching their own va. A new entry Y covering X's va that
 * came earlier in the order would be no larger than X, so X would
 * cover Y's page and have been dropped. Context and mode changes
 * clear the memo. (gen is 32 bits: a memo slot left untouched while its
 * entry's slot is reused exactly 2^32 times would be fooled; ignored.)
 *
 * The tc's of a TLB point at t->clock and the memo at t->memo_dummy: a
 * struct tlb must not move after tlb_init.
 */

/* A large-memo slot serving nothing (its gen never matches the dummy's):
 * empty, or, with blocked, region rpn known to hold a 4K L1 entry. */
static inline struct tlb_lmemo lmemo_none(struct tlb *t, uint64_t rpn, bool blocked)
{
	return (struct tlb_lmemo){ .rpn = rpn, .e = &t->memo_dummy,
				   .lru = &t->memo_dummy_lru, .gen = t->memo_dummy.gen + 1, .blocked = blocked };
}

/* Memo slot pointing nowhere: tlb_hit_fast's vpn test fails first. */
static inline void memo_clear(struct tlb *t)
{
	for (unsigned i = 0; i < TLB_MEMO_SIZE; i++) {
		t->memo[i].vpn = UINT64_MAX;
		t->memo[i].e = &t->memo_dummy;
		t->memo[i].lru = &t->memo_dummy_lru;
		t->memo[i].gen = t->memo_dummy.gen;
		t->memo[i].hpa = 0;
	}
	for (unsigned i = 0; i < TLB_LMEMO_SIZE; i++)
		t->lmemo[i] = lmemo_none(t, UINT64_MAX, false);
}

/* hpa of va's 4K piece within the page of size `level` based at base. */
static inline hpa_t piece_hpa(hpa_t base, gva_t va, unsigned level)
{
	return base + (va & (LEVEL_SIZE(level) - 1) & PAGE_MASK);
}

/*
 * The large memo (tlb.h). A 2M L1 entry X is first for every va of its
 * region R when no 4K L1 entry lies in R: 4K arrays come first in the
 * lookup order, and same-size entries matching one va match them all.
 * It stays so until X's gen moves: an install at any va of R first
 * drops every L1 entry matching that va, X included (a fill drops them,
 * or found none in the lookup just before; a refill drops the L1 match
 * it found, which X would be). So R is checked
 * (a scan of the 4K L1 entries, whatever their context: conservative)
 * when X is installed in L1, and on a plain L1 hit of X unless R was
 * found blocked before; context and mode changes clear it with the memo.
 */
static bool region_has_4k(const struct tlb *t, uint64_t rpn)
{
	for (unsigned i = 0; i < t->n_l1; i++) {
		const struct tc *c = &t->l1[i];
		uint32_t n = c->sets * c->ways;

		if (!(c->sizes & (1u << LEVEL_4K)))
			continue;
		for (uint32_t j = 0; j < n; j++) {
			const struct tc_entry *e = &c->e[j];

			if (c->key[j] >> 9 == rpn && (e->flags & TCE_VALID) &&
			    e->level == LEVEL_4K)
				return true;
		}
	}
	return false;
}

struct tlb_memo *tlb_hit_large(struct tlb *t, gva_t va, unsigned idx)
{
	uint64_t vpn = va >> PAGE_SHIFT;
	struct tlb_lmemo *l = &t->lmemo[(vpn >> 9) & (TLB_LMEMO_SIZE - 1)];
	struct tlb_memo *m;

	if (l->rpn != vpn >> 9 || l->e->gen != l->gen || !((l->e->allow >> idx) & 1u))
		return NULL;
	*l->lru = ++t->clock;
	m = &t->memo[vpn & (TLB_MEMO_SIZE - 1)];
	m->vpn = vpn;
	m->e = l->e;
	m->lru = l->lru;
	m->gen = l->gen;
	m->hpa = l->hpa + ((vpn & 511) << PAGE_SHIFT);
	t->lmemo_hits++;
	return m;
}

static void lmemoize(struct tlb *t, gva_t va, struct tc *c, struct tc_entry *e,
		     bool installed)
{
	uint64_t rpn = va >> LEVEL_SHIFT(LEVEL_2M);
	struct tlb_lmemo *l = &t->lmemo[rpn & (TLB_LMEMO_SIZE - 1)];

	if (!installed && l->rpn == rpn && (l->blocked || (l->e == e && l->gen == e->gen)))
		return;
	*l = region_has_4k(t, rpn) ? lmemo_none(t, rpn, true)
				   : (struct tlb_lmemo){ .rpn = rpn, .e = e,
							 .lru = tc_stamp(c, e),
							 .gen = e->gen, .hpa = e->val };
}

/*
 * Record e as the translation of va in its memo slot. Only an L1 entry
 * may serve tlb_hit_fast; any other (an L2 entry with no L1 copy, or the
 * dummy) gets a slot whose vpn never matches, so it only carries hpa
 * back to the caller.
 */
static inline struct tlb_memo *memoize(struct tlb *t, gva_t va, struct tc *c,
				       struct tc_entry *e, bool is_l1, bool installed)
{
	uint64_t vpn = va >> PAGE_SHIFT;
	struct tlb_memo *m = &t->memo[vpn & (TLB_MEMO_SIZE - 1)];

	if (is_l1 && e->level == LEVEL_2M)
		lmemoize(t, va, c, e, installed);

	m->vpn = is_l1 ? vpn : UINT64_MAX;
	m->e = e;
	m->lru = tc_stamp(c, e);
	m->gen = e->gen;
	m->hpa = piece_hpa(e->val, va, e->level);
	return m;
}

/*
 * The allow mask of an entry with these rights and flags under the
 * current mode: bit ACC_IDX(acc) per access kind. A write also needs D
 * cached: a write through a clean entry walks to set it.
 *
 * A table built at compile time over every input: RIGHT_* in index bits
 * 3:0, D in bit 4, then CR0.WP, CR4.SMEP, CR4.SMAP, RFLAGS.AC in bits
 * 8:5 (the mode part, ALLOW_MODE, kept in tlb.allow_mode).
 */
#define ALLOW_D			(1u << 4)
#define ALLOW_MODE(wp, smep, smap, ac)						\
	((unsigned)(wp) << 5 | (unsigned)(smep) << 6 | (unsigned)(smap) << 7 | (unsigned)(ac) << 8)
#define AB_(i, b)	(((i) >> (b)) & 1u)
#define AR_(i)		AB_(i, 0)
#define AW_(i)		AB_(i, 1)
#define AX_(i)		AB_(i, 2)
#define AU_(i)		AB_(i, 3)
#define AD_(i)		AB_(i, 4)
#define AWP_(i)		AB_(i, 5)
#define ASMEP_(i)	AB_(i, 6)
#define ASMAP_(i)	AB_(i, 7)
#define AAC_(i)		AB_(i, 8)
#define ASMAP_OK_(i)	(1u ^ (AU_(i) & ASMAP_(i) & (AAC_(i) ^ 1u)))
#define ASMEP_OK_(i)	(1u ^ (AU_(i) & ASMEP_(i)))
#define ALLOW_(i) (uint8_t)(							\
	(AR_(i) & ASMAP_OK_(i)) << ACC_IDX(ACC_READ) |				\
	((AW_(i) | (AWP_(i) ^ 1u)) & AD_(i) & ASMAP_OK_(i)) << ACC_IDX(ACC_WRITE) | \
	(AX_(i) & ASMEP_OK_(i)) << ACC_IDX(ACC_FETCH) |				\
	(AU_(i) & AR_(i)) << ACC_IDX(ACC_USER | ACC_READ) |			\
	(AU_(i) & AW_(i) & AD_(i)) << ACC_IDX(ACC_USER | ACC_WRITE) |		\
	(AU_(i) & AX_(i)) << ACC_IDX(ACC_USER | ACC_FETCH))
#define ALLOW4_(i)	ALLOW_(i), ALLOW_((i) + 1), ALLOW_((i) + 2), ALLOW_((i) + 3)
#define ALLOW16_(i)	ALLOW4_(i), ALLOW4_((i) + 4), ALLOW4_((i) + 8), ALLOW4_((i) + 12)
#define ALLOW64_(i)	ALLOW16_(i), ALLOW16_((i) + 16), ALLOW16_((i) + 32), ALLOW16_((i) + 48)
#define ALLOW256_(i)	ALLOW64_(i), ALLOW64_((i) + 64), ALLOW64_((i) + 128), ALLOW64_((i) + 192)

_Static_assert(RIGHTS_ALL == 15u, "RIGHT_* are not index bits 3:0 of allow_table");

static const uint8_t allow_table[512] = { ALLOW256_(0u), ALLOW256_(256u) };

static inline uint8_t entry_allow(const struct tlb *t, unsigned rights,
				  unsigned flags)
{
	return allow_table[(rights & RIGHTS_ALL) | ((flags & TCE_DIRTY) ? ALLOW_D : 0u) |
			   t->allow_mode];
}

/* First entry of a level's arrays matching va under ctx (globals of
 * ctx's VPID included), in lookup order (the probe list), and (*cp) its
 * array; LRU untouched. */
static inline struct tc_entry *level_first(struct tc *arr, const struct tlb_probe *p,
					   unsigned n, gva_t va, uint32_t ctx,
					   struct tc **cp)
{
	for (unsigned i = 0; i < n; i++) {
		struct tc *c = &arr[p[i].arr];
		struct tc_entry *e = tc_probe(c, va, p[i].level, ctx, true);

		if (e) {
			*cp = c;
			return e;
		}
	}
	return NULL;
}

/* The probe list of n arrays: sizes ascending, then arrays in index
 * order, only the pairs where the array holds the size. */
static unsigned probe_list(const struct tc *arr, unsigned n, struct tlb_probe *p)
{
	unsigned k = 0;

	for (unsigned s = LEVEL_4K; s <= LEVEL_1G; s++)
		for (unsigned i = 0; i < n; i++)
			if (arr[i].sizes & (1u << s))
				p[k++] = (struct tlb_probe){ (uint8_t)i, (uint8_t)s };
	return k;
}

/* Drop every entry of n arrays, any size, that covers va and is tagged
 * ctx and not global, or (with_global) is any entry tc_match accepts:
 * ctx or a global of ctx's VPID. */
static void level_drop_which(struct tc *arr, unsigned n, gva_t va,
			     uint32_t ctx, bool with_global)
{
	for (unsigned i = 0; i < n; i++) {
		struct tc *c = &arr[i];

		for (unsigned s = LEVEL_4K; s <= LEVEL_1G; s++) {
			uint64_t key = va >> LEVEL_SHIFT(s);
			size_t set;

			if (!(c->sizes & (1u << s)))
				continue;
			set = tc_set(c, key);
			for (uint32_t w = 0; w < c->ways; w++)
				if (tc_match(c, set + w, key, s, ctx, with_global) &&
				    (with_global || !(c->e[set + w].flags & TCE_GLOBAL)))
					tc_invalidate_entry(c, &c->e[set + w]);
		}
	}
}

/* Every entry a lookup of va under ctx could match. */
static inline void level_drop(struct tc *arr, unsigned n, gva_t va,
			      uint32_t ctx)
{
	level_drop_which(arr, n, va, ctx, true);
}

/*
 * The array of n that should hold a page of size `level`: the first one
 * holding that size, else the first holding the largest smaller size
 * (the page is splintered). Sets *size; NULL when none can hold it.
 */
static struct tc *level_home(struct tc *arr, unsigned n, unsigned level,
			     unsigned *size)
{
	for (unsigned s = level; s >= LEVEL_4K; s--)
		for (unsigned i = 0; i < n; i++)
			if (arr[i].sizes & (1u << s)) {
				*size = s;
				return &arr[i];
			}
	return NULL;
}

/*
 * Install (a splinter of) a translation in one level: the page of size
 * `level` based at base, holding va, with its allow mask computed by
 * the caller. Returns the new entry, (*cp) its array, or NULL.
 */
static inline struct tc_entry *level_install(struct tc *arr, unsigned n, gva_t va,
					     uint32_t ctx, unsigned level, hpa_t base,
					     unsigned rights, unsigned flags,
					     uint8_t allow, bool absent, struct tc **cp)
{
	unsigned s;
	struct tc *c = level_home(arr, n, level, &s);
	struct tc_entry *e;

	*cp = c;
	if (!c)
		return NULL;
	e = absent ? tc_insert_absent(c, va, s, ctx) : tc_insert(c, va, s, ctx);
	if (!e)
		return NULL;
	e->val = base + (va & (LEVEL_SIZE(level) - 1) & ~(LEVEL_SIZE(s) - 1));
	e->rights = (uint8_t)rights;
	e->flags = (uint8_t)(flags | TCE_VALID);
	e->allow = allow;
	return e;
}

/* The present arrays of one level, packed from index 0; *n counts them.
 * -EINVAL for an array holding no size or one no TLB has. */
static int level_init(struct tc *arr, unsigned *n, const struct tc_geom g[TLB_MAX_ARRAYS],
		      uint64_t *clock)
{
	for (unsigned i = 0; i < TLB_MAX_ARRAYS; i++) {
		int err;

		if (g[i].entries == 0)
			continue;
		if (g[i].sizes == 0 || (g[i].sizes & ~TLB_SIZES_VALID))
			return -EINVAL;
		err = tc_init(&arr[*n], &g[i], clock);
		if (err)
			return err;
		(*n)++;
	}
	return 0;
}

int tlb_init(struct tlb *t, const struct tlb_config *cfg)
{
	int err;

	memset(t, 0, sizeof(*t));
	memo_clear(t);
	err = level_init(t->l1, &t->n_l1, cfg->l1, &t->clock);
	if (!err)
		err = level_init(t->l2, &t->n_l2, cfg->l2, &t->clock);
	if (err)
		goto fail;
	err = psc_init(&t->psc, cfg->psc, &t->psc_clock);
	if (err)
		goto fail;
	t->n_probe1 = probe_list(t->l1, t->n_l1, t->probe1);
	t->n_probe2 = probe_list(t->l2, t->n_l2, t->probe2);
	return 0;

fail:
	while (t->n_l2 > 0)
		tc_destroy(&t->l2[--t->n_l2]);
	while (t->n_l1 > 0)
		tc_destroy(&t->l1[--t->n_l1]);
	return err;
}

void tlb_destroy(struct tlb *t)
{
	psc_destroy(&t->psc);
	while (t->n_l2 > 0)
		tc_destroy(&t->l2[--t->n_l2]);
	while (t->n_l1 > 0)
		tc_destroy(&t->l1[--t->n_l1]);
	memo_clear(t);
}

static void one_set_context(struct tlb *t, uint16_t vpid, uint16_t pcid)
{
	uint32_t ctx = TC_CTX(vpid, pcid);

	if (ctx == t->ctx)
		return;
	t->ctx = ctx;
	memo_clear(t);
}

static void recompute_allow(struct tlb *t, struct tc *c)
{
	uint32_t n = c->sets * c->ways;

	for (uint32_t i = 0; i < n; i++) {
		struct tc_entry *e = &c->e[i];

		if (e->flags & TCE_VALID)
			e->allow = entry_allow(t, e->rights, e->flags);
	}
}

static void one_set_mode(struct tlb *t, bool wp, bool smep, bool smap, bool ac)
{
	if (t->wp == wp && t->smep == smep && t->smap == smap && t->ac == ac)
		return;
	t->wp = wp;
	t->smep = smep;
	t->smap = smap;
	t->ac = ac;
	t->allow_mode = ALLOW_MODE(wp, smep, smap, ac);
	for (unsigned i = 0; i < t->n_l1; i++)
		recompute_allow(t, &t->l1[i]);
	for (unsigned i = 0; i < t->n_l2; i++)
		recompute_allow(t, &t->l2[i]);
	memo_clear(t);
}

/*
 * The miss record: after a lookup in which no entry of either level even
 * matched va, a fill for the same va needs nothing dropped, as long as no
 * entry has been inserted since (every insert ticks the clock) and the
 * context is the same.
 */
static inline void miss_record(struct tlb *t, gva_t va)
{
	t->miss.vpn = va >> PAGE_SHIFT;
	t->miss.ctx = t->ctx;
	t->miss.clock = t->clock;
	t->miss.valid = true;
}

static inline bool miss_recorded(const struct tlb *t, gva_t va)
{
	return t->miss.valid && t->miss.clock == t->clock &&
	       t->miss.vpn == va >> PAGE_SHIFT && t->miss.ctx == t->ctx;
}

struct tlb_memo *tlb_lookup(struct tlb *t, gva_t va, unsigned idx,
			    enum tlb_where *where)
{
	struct tc_entry *e1, *e2, *l1e;
	struct tc *c1, *c2, *cn;

	e1 = level_first(t->l1, t->probe1, t->n_probe1, va, t->ctx, &c1);
	if (e1 && ((e1->allow >> idx) & 1u)) {
		*tc_stamp(c1, e1) = ++t->clock;
		*where = TLB_L1;
		return memoize(t, va, c1, e1, true, false);
	}
	e2 = level_first(t->l2, t->probe2, t->n_probe2, va, t->ctx, &c2);
	if (e2 && ((e2->allow >> idx) & 1u)) {
		*tc_stamp(c2, e2) = ++t->clock;
		*where = TLB_L2;
		/* copy into L1 with the L2 entry's own tag (it may be a
		 * global of another PCID), after dropping whatever L1 entry
		 * shadowed it there */
		if (e1)
			level_drop(t->l1, t->n_l1, va, t->ctx);
		l1e = level_install(t->l1, t->n_l1, va, e2->ctx, e2->level,
				    e2->val, e2->rights, e2->flags, e2->allow, false, &cn);
		return l1e ? memoize(t, va, cn, l1e, true, true)
			   : memoize(t, va, c2, e2, false, true);
	}
	if (!e1 && !e2)
		miss_record(t, va);
	*where = TLB_MISS;
	return NULL;
}

struct tlb_memo *tlb_fill(struct tlb *t, const struct tlb_fill *f)
{
	unsigned level = f->level;
	unsigned flags = (f->global ? TCE_GLOBAL : 0u) | (f->dirty ? TCE_DIRTY : 0u);
	hpa_t base = f->hpa & ~(LEVEL_SIZE(level) - 1);
	struct tc_entry *l1e, *l2e;
	struct tc *c1, *c2;
	struct tlb_memo *m;
	uint8_t allow;

	BUG_ON(level < LEVEL_4K || level > LEVEL_1G, "page level out of 1..3");
	if (!miss_recorded(t, f->va)) {
		level_drop(t->l1, t->n_l1, f->va, t->ctx);
		level_drop(t->l2, t->n_l2, f->va, t->ctx);
	} else if (DEBUG_CHECKS) {
		BUG_ON(level_first(t->l1, t->probe1, t->n_probe1, f->va, t->ctx, &c1) ||
		       level_first(t->l2, t->probe2, t->n_probe2, f->va, t->ctx, &c2),
		       "miss record stale: an entry matches");
	}
	allow = entry_allow(t, f->rights, flags);
	/* nothing matches f->va under t->ctx any more (dropped, or the miss
	 * record says nothing did): the inserts need no match test */
	l2e = level_install(t->l2, t->n_l2, f->va, t->ctx, level, base,
			    f->rights, flags, allow, true, &c2);
	l1e = level_install(t->l1, t->n_l1, f->va, t->ctx, level, base,
			    f->rights, flags, allow, true, &c1);
	if (l1e)
		return memoize(t, f->va, c1, l1e, true, true);
	if (l2e)
		return memoize(t, f->va, c2, l2e, false, true);
	/* no array holds this size: the translation serves this access only */
	m = &t->memo[(f->va >> PAGE_SHIFT) & (TLB_MEMO_SIZE - 1)];
	m->vpn = UINT64_MAX;
	m->e = &t->memo_dummy;
	m->lru = &t->memo_dummy_lru;
	m->gen = t->memo_dummy.gen;
	m->hpa = piece_hpa(base, f->va, level);
	return m;
}

static void one_invlpg(struct tlb *t, gva_t va)
{
	/* SDM 4.10.4.1: every size, current PCID or global, current VPID;
	 * and all PSC entries of the current PCID, whatever their address */
	level_drop(t->l1, t->n_l1, va, t->ctx);
	level_drop(t->l2, t->n_l2, va, t->ctx);
	psc_flush_ctx(&t->psc, t->ctx);
}

static void one_pf_invalidate(struct tlb *t, gva_t va)
{
	level_drop_which(t->l1, t->n_l1, va, t->ctx, false);
	level_drop_which(t->l2, t->n_l2, va, t->ctx, false);
	psc_invalidate_addr(&t->psc, va, t->ctx);
}

/* Flush both TLB levels by context filter (see tc_flush). */
static void tlb_flush_tagged(struct tlb *t, uint32_t want, uint32_t mask,
			     bool drop_global, uint32_t gmask)
{
	for (unsigned i = 0; i < t->n_l1; i++)
		tc_flush(&t->l1[i], want, mask, drop_global, gmask);
	for (unsigned i = 0; i < t->n_l2; i++)
		tc_flush(&t->l2[i], want, mask, drop_global, gmask);
}

static void one_flush_pcid(struct tlb *t, uint16_t pcid, bool keep_global)
{
	uint32_t ctx = TC_CTX(TC_CTX_VPID(t->ctx), pcid);

	/* without keep_global, globals of every PCID of this VPID go too */
	tlb_flush_tagged(t, ctx, UINT32_MAX, !keep_global, TC_VPID_MASK);
	psc_flush_ctx(&t->psc, ctx);
}

static void one_flush_vpid(struct tlb *t, uint16_t vpid)
{
	uint32_t ctx = TC_CTX(vpid, 0);

	tlb_flush_tagged(t, ctx, TC_VPID_MASK, true, TC_VPID_MASK);
	psc_flush_vpid(&t->psc, vpid);
}

static void one_flush_all(struct tlb *t)
{
	tlb_flush_tagged(t, 0, 0, true, 0);
	psc_flush_all(&t->psc);
}

/*
 * The public invalidations act on a TLB and its peer (the instruction
 * side of a split TLB, see tlb_set_peer): the architecture's
 * invalidations (INVLPG, CR3 loads, INVPCID, INVVPID, a #PF) reach
 * every TLB of the logical processor, instruction TLBs included
 * (SDM 4.10.4.1). The paging-mode bits and the context are one per
 * processor too.
 */
#define BOTH(call)	do { struct tlb *u_ = t; while (u_) { u_->inval_gen++; call; u_ = u_->peer; } } while (0)

void tlb_set_peer(struct tlb *t, struct tlb *peer)
{
	BUG_ON(peer && peer->peer, "a TLB's peer has a peer");
	t->peer = peer;
	if (peer) {
		peer->ctx = t->ctx;
		peer->wp = t->wp;
		peer->smep = t->smep;
		peer->smap = t->smap;
		peer->ac = t->ac;
		peer->allow_mode = t->allow_mode;
		memo_clear(peer);
	}
}

void tlb_set_context(struct tlb *t, uint16_t vpid, uint16_t pcid)
{
	BOTH(one_set_context(u_, vpid, pcid));
}

void tlb_set_mode(struct tlb *t, bool wp, bool smep, bool smap, bool ac)
{
	BOTH(one_set_mode(u_, wp, smep, smap, ac));
}

void tlb_invlpg(struct tlb *t, gva_t va)
{
	BOTH(one_invlpg(u_, va));
}

void tlb_pf_invalidate(struct tlb *t, gva_t va)
{
	BOTH(one_pf_invalidate(u_, va));
}

void tlb_flush_pcid(struct tlb *t, uint16_t pcid, bool keep_global)
{
	BOTH(one_flush_pcid(u_, pcid, keep_global));
}

void tlb_flush_vpid(struct tlb *t, uint16_t vpid)
{
	BOTH(one_flush_vpid(u_, vpid));
}

void tlb_flush_all(struct tlb *t)
{
	BOTH(one_flush_all(u_));
}
