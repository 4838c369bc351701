/*
 * tlb.h - the two-level TLB: per-size arrays at each level looked up in
 * parallel, VPID/PCID/global tags, the allow mask of each entry under the
 * current paging mode, the memo of L1 hits (the hot path), the
 * invalidations of SDM Vol. 3 4.10.4, and the paging-structure caches
 * the same flushes reach.
 */
#ifndef MEMVIRT_TLB_H
#define MEMVIRT_TLB_H

#include "psc.h"

#define TLB_MAX_ARRAYS	4
#define TLB_MEMO_SIZE	512	/* direct-mapped lookaside of L1 hits; power of two */
#define TLB_LMEMO_SIZE	64	/* the same for 2M L1 entries, by 2M region */

/*
 * Access index: which of the six access kinds (user/supervisor x
 * read/write/fetch) an access is. A TLB entry's `allow` has bit ACC_IDX
 * set when that access may complete from the entry under the current
 * paging mode (CR0.WP, CR4.SMEP/SMAP, RFLAGS.AC) and dirty state.
 */
_Static_assert((TLB_MEMO_SIZE & (TLB_MEMO_SIZE - 1)) == 0, "TLB_MEMO_SIZE a power of two");
_Static_assert((TLB_LMEMO_SIZE & (TLB_LMEMO_SIZE - 1)) == 0, "TLB_LMEMO_SIZE a power of two");

#define ACC_IDX(acc)	((((acc) & ACC_USER) ? 3u : 0u) +			\
			 (((acc) & ACC_WRITE) ? 1u : ((acc) & ACC_FETCH) ? 2u : 0u))

/* An entry's allow mask has one bit per access index. */
_Static_assert(ACC_IDX(ACC_USER | ACC_FETCH) < 8 * sizeof(((struct tc_entry *)0)->allow),
	       "tc_entry.allow narrower than the access indices");
_Static_assert(RIGHTS_ALL <= UINT8_MAX, "tc_entry.rights narrower than RIGHT_*");

struct tlb_config {
	struct tc_geom	l1[TLB_MAX_ARRAYS];	/* first level, looked up in parallel */
	struct tc_geom	l2[TLB_MAX_ARRAYS];	/* second level (STLB) */
	struct tc_geom	psc[3];		/* [0] PDE cache, [1] PDPTE cache, [2] PML4E cache */
};

struct tlb_memo {
	uint64_t	vpn;	/* va >> 12 */
	struct tc_entry	*e;	/* the L1 entry that hit */
	uint64_t	*lru;	/* its LRU stamp (tc_stamp) */
	uint32_t	gen;	/* e->gen when memoized */
	hpa_t		hpa;	/* hpa of this 4K piece of the page */
};

/*
 * The large-page memo: a 2M L1 entry that is the first match (tlb.c's
 * lookup order) for every va of its 2M region, because no 4K L1 entry
 * lies in the region. A hit serves any 4K piece of the region and
 * memoizes that piece in the 4K memo. `blocked`: the region had a 4K
 * L1 entry when last looked at; only a new install of the 2M entry looks
 * again (see tlb.c).
 */
struct tlb_lmemo {
	uint64_t	rpn;	/* va >> 21 */
	struct tc_entry	*e;	/* the 2M L1 entry */
	uint64_t	*lru;	/* its LRU stamp */
	uint32_t	gen;	/* e->gen when memoized */
	bool		blocked;
	hpa_t		hpa;	/* page base hpa */
};

/* Where a lookup found its translation. */
enum tlb_where { TLB_MISS = 0, TLB_L1, TLB_L2 };

struct tlb {
	struct tlb_memo	memo[TLB_MEMO_SIZE];
	struct tlb_lmemo lmemo[TLB_LMEMO_SIZE];
	uint64_t	lmemo_hits;		/* 4K memo misses the large memo served */
	uint64_t	clock;			/* LRU clock of the TLB arrays */
	uint64_t	psc_clock;		/* LRU clock of the PSCs: a walk's PSC use
						 * must not look like a TLB insert */
	uint32_t	ctx;			/* TC_CTX(current vpid, current pcid) */
	uint64_t	inval_gen;		/* bumped by every invalidation, context
						 * and mode change (the sampled mode's
						 * fast-forward translations key on it) */
	struct tc	l1[TLB_MAX_ARRAYS];
	struct tc	l2[TLB_MAX_ARRAYS];
	unsigned	n_l1, n_l2;
	/* lookup order of each level, (array index, page size) pairs,
	 * precomputed from the arrays' sizes: see tlb.c */
	struct tlb_probe { uint8_t arr, level; } probe1[TLB_MAX_ARRAYS * 3],
					       probe2[TLB_MAX_ARRAYS * 3];
	unsigned	n_probe1, n_probe2;
	struct psc	psc;
	/* mode bits the allow masks were computed under */
	bool		wp, smep, smap, ac;
	unsigned	allow_mode;		/* the same as entry_allow's table index bits (tlb.c) */
	struct tc_entry	memo_dummy;		/* memo slots point here when empty */
	uint64_t	memo_dummy_lru;		/* and their stamp here */
	/* the last lookup that matched nothing at all (see tlb.c) */
	struct tlb_miss { uint64_t vpn, clock; uint32_t ctx; bool valid; } miss;
	struct tlb	*peer;			/* the other side of a split TLB: every
						 * invalidation and mode change of this
						 * TLB reaches it too (NULL: none) */
};

struct tlb_fill {
	gva_t		va;
	hpa_t		hpa;		/* page base of the translation */
	uint8_t		level;		/* page size; splintered to what each array holds */
	uint8_t		rights;		/* RIGHT_* */
	bool		global;
	bool		dirty;
};

int tlb_init(struct tlb *t, const struct tlb_config *cfg);
void tlb_destroy(struct tlb *t);

/* tlb_set_context - switch the current VPID/PCID (entries stay). */
void tlb_set_context(struct tlb *t, uint16_t vpid, uint16_t pcid);

/* tlb_set_mode - paging-mode bits that decide what an entry allows;
 * recomputes every entry's allow mask. */
void tlb_set_mode(struct tlb *t, bool wp, bool smep, bool smap, bool ac);

/* tlb_hit_large - tlb_hit_fast's second chance: the large memo (tlb.c). */
struct tlb_memo *tlb_hit_large(struct tlb *t, gva_t va, unsigned idx);

/*
 * tlb_hit_fast - the hot path: a memoized L1 hit for va allowing access
 * index idx. Exactly equivalent to an L1 hit (same entry, same LRU
 * update); NULL means "do the full lookup", not "miss".
 */
static inline struct tlb_memo *tlb_hit_fast(struct tlb *t, gva_t va, unsigned idx)
{
	uint64_t vpn = va >> PAGE_SHIFT;
	struct tlb_memo *m = &t->memo[vpn & (TLB_MEMO_SIZE - 1)];

	if (likely(m->vpn == vpn && m->e->gen == m->gen &&
		   ((m->e->allow >> idx) & 1u))) {
		*m->lru = ++t->clock;
		return m;
	}
	/* another 4K piece of a memoized 2M entry (out of line past the
	 * region test: the hot path stays small enough to inline) */
	if (t->lmemo[(vpn >> 9) & (TLB_LMEMO_SIZE - 1)].rpn == vpn >> 9)
		return tlb_hit_large(t, va, idx);
	return NULL;
}

/*
 * tlb_lookup - full lookup: L1 arrays, then L2 (an L2 hit refills L1).
 * Returns the memo slot now holding the translation (valid until the next
 * TLB change) and sets *where; NULL with *where = TLB_MISS when no entry
 * allows the access (absent, or present without the right or without D
 * for a write: the hardware then walks).
 */
struct tlb_memo *tlb_lookup(struct tlb *t, gva_t va, unsigned idx,
			    enum tlb_where *where);

/* tlb_fill - install a translation in L2 (if an array holds its size)
 * and L1, replacing entries for the same page; returns the memo slot for
 * f->va. */
struct tlb_memo *tlb_fill(struct tlb *t, const struct tlb_fill *f);

/* INVLPG: entries for va (every size) of the current PCID and global
 * ones, and every PSC entry of the current PCID (SDM 4.10.4.1). */
void tlb_invlpg(struct tlb *t, gva_t va);

/* A #PF on va: entries for va (every size) of the current PCID, and the
 * PSC entries that would be used for va under the current PCID
 * (SDM 4.10.4.1); unlike INVLPG, global entries and other addresses'
 * PSC entries stay. */
void tlb_pf_invalidate(struct tlb *t, gva_t va);

/* MOV to CR3 (flush) / INVPCID single-context: non-global entries of
 * pcid in the current VPID, and its PSC entries; keep_global false also
 * drops globals (INVPCID all-context semantics use tlb_flush_vpid). */
void tlb_flush_pcid(struct tlb *t, uint16_t pcid, bool keep_global);

/* Everything of one VPID, globals included (CR4.PGE toggle, INVVPID). */
void tlb_flush_vpid(struct tlb *t, uint16_t vpid);

/* Everything. */
void tlb_flush_all(struct tlb *t);

/* tlb_set_peer - make peer (an instruction TLB, with no peer of its own)
 * follow t: the context, mode bits and every invalidation of t apply to
 * peer as well; NULL detaches. Lookups and fills stay per TLB. */
void tlb_set_peer(struct tlb *t, struct tlb *peer);

#endif /* MEMVIRT_TLB_H */
