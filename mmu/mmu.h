/*
 * mmu.h - the pluggable MMU layer: the TLB model, paging-structure caches,
 * host physical memory, the mmu_ops interface every backend implements,
 * and the native backend.
 */
#ifndef MEMVIRT_MMU_H
#define MEMVIRT_MMU_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "walker.h"

/* ------------------------------------------------------------------ */
/* Tagged set-associative caches: TLB arrays, PSC levels, nested TLB.  */
/* ------------------------------------------------------------------ */

/* Context tag of a cached translation: VPID in bits 31:16, PCID in 15:0. */
#define TC_CTX(vpid, pcid)	(((uint32_t)(vpid) << 16) | (uint32_t)(pcid))
#define TC_CTX_VPID(ctx)	((uint16_t)((ctx) >> 16))
#define TC_CTX_PCID(ctx)	((uint16_t)((ctx) & 0xfff))

#define TCE_VALID	(1u << 0)
#define TCE_GLOBAL	(1u << 1)	/* matches every PCID of its VPID */
#define TCE_DIRTY	(1u << 2)	/* D was set when cached: writes may hit */

struct tc_entry {
	uint64_t	key;	/* addr >> LEVEL_SHIFT(level) */
	uint64_t	val;	/* page base hpa (TLB), table address (PSC) */
	uint64_t	lru;	/* stamp of last use, from tc->clock */
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

/* tc_invalidate_entry - drop one valid entry of c (gen bumped). */
void tc_invalidate_entry(struct tc *c, struct tc_entry *e);

/* ------------------------------------------------------------------ */
/* The TLB model                                                        */
/* ------------------------------------------------------------------ */

#define TLB_MAX_ARRAYS	4
#define TLB_MEMO_SIZE	512	/* direct-mapped lookaside of L1 hits; power of two */

/*
 * Access index: which of the six access kinds (user/supervisor x
 * read/write/fetch) an access is. A TLB entry's `allow` has bit ACC_IDX
 * set when that access may complete from the entry under the current
 * paging mode (CR0.WP, CR4.SMEP/SMAP, RFLAGS.AC) and dirty state.
 */
#define ACC_IDX(acc)	((((acc) & ACC_USER) ? 3u : 0u) +			\
			 (((acc) & ACC_WRITE) ? 1u : ((acc) & ACC_FETCH) ? 2u : 0u))

struct tlb_config {
	struct tc_geom	l1[TLB_MAX_ARRAYS];	/* first level, looked up in parallel */
	struct tc_geom	l2[TLB_MAX_ARRAYS];	/* second level (STLB) */
	struct tc_geom	psc[3];		/* [0] PDE cache, [1] PDPTE cache, [2] PML4E cache */
};

struct tlb_memo {
	uint64_t	vpn;	/* va >> 12 */
	struct tc_entry	*e;	/* the L1 entry that hit */
	uint32_t	gen;	/* e->gen when memoized */
	hpa_t		hpa;	/* hpa of this 4K piece of the page */
};

/* Where a lookup found its translation. */
enum tlb_where { TLB_MISS = 0, TLB_L1, TLB_L2 };

/* Paging-structure caches over one address space (linear or guest-physical). */
struct psc {
	struct tc	c[3];		/* [0]: level-2 entries (PDE), [1]: PDPTE, [2]: PML4E */
};

struct tlb {
	struct tlb_memo	memo[TLB_MEMO_SIZE];
	uint64_t	clock;			/* LRU clock of the TLB arrays */
	uint64_t	psc_clock;		/* LRU clock of the PSCs: a walk's PSC use
						 * must not look like a TLB insert */
	uint32_t	ctx;			/* TC_CTX(current vpid, current pcid) */
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
	struct tc_entry	memo_dummy;		/* memo slots point here when empty */
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
		m->e->lru = ++t->clock;
		return m;
	}
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

/*
 * psc_lookup - longest match in the paging-structure caches for addr
 * under ctx. Returns the level the walk may start at (1..3) with the
 * table address and the rights accumulated above it, or 0 on no hit.
 */
unsigned psc_lookup(struct psc *p, uint64_t addr, uint32_t ctx,
		    uint64_t *table, unsigned *rights);

/* psc_fill - remember the non-leaf entry a walk used at `level` (2..4):
 * it points to `table` with `rights` accumulated down to it. */
void psc_fill(struct psc *p, uint64_t addr, uint32_t ctx, unsigned level,
	      uint64_t table, unsigned rights);

int psc_init(struct psc *p, const struct tc_geom g[3], uint64_t *clock);
void psc_destroy(struct psc *p);
void psc_flush_ctx(struct psc *p, uint32_t ctx);
void psc_flush_vpid(struct psc *p, uint16_t vpid);
void psc_flush_all(struct psc *p);

/* ------------------------------------------------------------------ */
/* Host physical memory and the MMU instance                          */
/* ------------------------------------------------------------------ */

/* The paging state of the guest, as a struct kvm_sregs would hold it. */
struct mmu_sregs {
	uint64_t	cr0;
	uint64_t	cr3;
	uint64_t	cr4;
	uint64_t	efer;
	uint64_t	rflags;
	uint8_t		cpl;		/* 0 kernel, 3 user */
};

#define CR0_PE		(UINT64_C(1) << 0)
#define CR0_WP		(UINT64_C(1) << 16)
#define CR0_PG		(UINT64_C(1) << 31)
#define CR3_PCID_MASK	UINT64_C(0xfff)
#define CR3_NOFLUSH	(UINT64_C(1) << 63)
#define CR4_PSE		(UINT64_C(1) << 4)
#define CR4_PAE		(UINT64_C(1) << 5)
#define CR4_PGE		(UINT64_C(1) << 7)
#define CR4_LA57	(UINT64_C(1) << 12)
#define CR4_PCIDE	(UINT64_C(1) << 17)
#define CR4_SMEP	(UINT64_C(1) << 20)
#define CR4_SMAP	(UINT64_C(1) << 21)
#define EFER_LME	(UINT64_C(1) << 8)
#define EFER_LMA	(UINT64_C(1) << 10)
#define EFER_NXE	(UINT64_C(1) << 11)
#define RFLAGS_AC	(UINT64_C(1) << 18)

/* What a walk or a VMM handler did, for the cost model. Every field is an
 * event that took place; the vCPU adds them up where it dispatches. */
struct mmu_work {
	uint32_t	walk_reads;	/* hardware walker entry reads */
	uint32_t	walk_ad_writes;	/* hardware walker A/D writes */
	uint32_t	psc_hits;	/* walks shortened by a PSC hit */
	uint32_t	ntlb_hits;	/* EPT: nested TLB hits */
	uint32_t	handler_reads;	/* VMM handler: table entries read */
	uint32_t	handler_writes;	/* VMM handler: table entries written */
	/* shadow page cache events (KVM's statistics of the same meaning) */
	uint32_t	sp_created;	/* shadow pages created (mmu_cache_miss) */
	uint32_t	sp_zapped;	/* shadow pages zapped (mmu_shadow_zapped) */
	uint32_t	flood_zaps;	/* zapped for a write flood or a misaligned
					 * write (mmu_flooded) */
	uint32_t	unsyncs;	/* shadow pages gone unsync */
	uint32_t	resyncs;	/* unsync shadow pages synced or zapped */
	uint32_t	pde_zapped;	/* non-leaf sptes zapped for a guest write of
					 * a present entry (mmu_pde_zapped) */
	uint32_t	spurious;	/* a hidden fault whose leaf spte was already
					 * what the fill made it (pf_spurious) */
	uint32_t	tlb_flush;	/* 1: the VMM flushes the guest's TLB before
					 * the next entry (KVM's tlb_flush: a CR3
					 * load, or a remote flush after a zap) */
};

/* What an exit was for, when the backend classifies it (shadow paging's
 * fault taxonomy); counted by the vCPU with the exit. */
enum mmu_exit_kind {
	MMU_EXIT_PLAIN = 0,	/* nothing more to say */
	MMU_EXIT_HIDDEN,	/* shadow: spte missing/too weak, gpte allows: filled */
	MMU_EXIT_TRUE,		/* shadow: gpte refuses: #PF injected into the guest */
	MMU_EXIT_TRACE,		/* shadow: write to a write-protected guest table */
};

/* One TLB miss, handed to the backend. */
struct mmu_fault {
	/* inputs */
	gva_t		va;
	unsigned	access;		/* ACC_* */
	unsigned	size;		/* bytes of the access (1, 2, 4, 8) */
	uint64_t	store_val;	/* the value, for a write the VMM may emulate */

	/* outputs: translation (MMU_OK) */
	hpa_t		hpa;		/* page base */
	unsigned	level;		/* TLB entry size (min of guest and host page) */
	unsigned	rights;		/* RIGHT_* */
	bool		global;
	bool		dirty;
	bool		unbacked;	/* the gpa is outside guest RAM: the access
					 * goes nowhere (reads all ones), no TLB fill */

	/* outputs: guest fault (MMU_FAULT) */
	uint32_t	error_code;	/* #PF error code; CR2 = va */

	/* outputs: exit (MMU_EXIT, MMU_EMULATED; MMU_FAULT when `exited`,
	 * i.e. the VMM took the exit and then injected the #PF) */
	bool		exited;
	unsigned	exit_reason;	/* EXIT_REASON_* of <asm/vmx.h> */
	enum mmu_exit_kind exit_kind;
	uint64_t	exit_qual;	/* exit qualification, as the VMCS holds it */
	gpa_t		exit_gpa;	/* EPT violation/misconfig: the guest-physical
					 * address (the VMCS field of that name) */

	/* outputs: always */
	struct mmu_work	work;
	const char	*stop;		/* MMU_STOP: why the VM cannot go on */
};

enum mmu_result {
	MMU_OK = 0,	/* translation in hpa/level/rights: fill the TLB */
	MMU_FAULT,	/* deliver #PF(error_code) to the guest */
	MMU_EXIT,	/* the VMM handled an exit; retry the access */
	MMU_EMULATED,	/* the VMM handled an exit and completed the access */
	MMU_STOP,	/* the VM cannot continue (e.g. EPT misconfiguration) */
};

/* Who made a memory reference that goes through the memory model. */
enum hmem_ref_kind {
	HREF_WALK = 0,	/* the hardware page walker (guest, shadow or EPT tables) */
	HREF_VMM,	/* a VMM handler reading or writing tables in software */
	HREF_NR,
};

/* Host physical memory: one host allocation, hpa = offset into it. */
struct hmem {
	struct memsys	*cache;		/* the memory model, NULL when off */
	uint64_t	*ref_count;	/* [HREF_NR][MEM_DRAM + 1] references by kind
					 * and serving level, kept in the vCPU's stats */
	uint8_t		*base;		/* host pointer to hpa 0 */
	uint64_t	size;		/* bytes */
	uint64_t	guest_size;	/* bytes of guest RAM (gpa space) */
	uint64_t	vmm_next;	/* next free hpa of the VMM's region */
	uint64_t	vmm_end;
	uint64_t	vmm_pages;	/* 4K table pages the VMM has allocated */
};

/*
 * The VMM's map of guest RAM to host memory (KVM's memslot, in effect):
 * one host page of `level` per aligned gpa region, handed out lazily from
 * the backing region [0, hmem.vmm_next's start) in first-touch order, so
 * gpa != hpa and a wrong translation shows in the checksums.
 */
struct p2m {
	hpa_t		*map;		/* per region: hpa + 1, 0 = not backed */
	uint64_t	nregions;
	unsigned	level;		/* host page size */
	uint64_t	next;		/* next free hpa of the backing region */
	uint64_t	end;		/* end of the backing region */
	uint64_t	backed;		/* regions backed so far */
};

/* p2m_init - map for h->guest_size bytes of guest RAM in host pages of
 * `level`, backing region [0, end). Returns 0 or -ENOMEM. */
int p2m_init(struct p2m *p, const struct hmem *h, unsigned level, uint64_t end);
void p2m_destroy(struct p2m *p);

/* p2m_lookup - hpa of gpa if backed, else 0 with *backed false. */
static inline hpa_t p2m_lookup(const struct p2m *p, gpa_t gpa, bool *backed)
{
	uint64_t r = gpa >> LEVEL_SHIFT(p->level);
	hpa_t v = r < p->nregions ? p->map[r] : 0;

	*backed = v != 0;
	return v ? v - 1 + (gpa & (LEVEL_SIZE(p->level) - 1)) : 0;
}

/* p2m_back - back the region holding gpa (inside guest RAM) with a
 * zeroed host page; returns the hpa of gpa. */
hpa_t p2m_back(struct p2m *p, const struct hmem *h, gpa_t gpa);

/* Backend state worth a CSV column (gauges, not events). */
struct mmu_report {
	uint64_t	ept_pages;		/* EPT table pages allocated */
	uint64_t	shadow_pages_peak;	/* shadow table pages, high-water mark */
	uint64_t	shadow_pages;		/* shadow table pages at the end */
	uint64_t	shadow_root_hits;	/* CR3 writes served by the root cache */
	uint64_t	host_pages_backed;	/* host pages backing guest RAM */
	uint64_t	leaf_pages[3];		/* VMM-built leaf entries now present, by
						 * size 4K, 2M, 1G (KVM's pages_4k/2m/1g) */
};

struct mmu_costs;
struct mmu;

#define MMU_MAX_PARAMS	8

struct mmu_ops {
	const char	*name;
	const char	*desc;
	/* set up backend state in m->priv; returns 0 or -errno */
	int		(*init)(struct mmu *m);
	void		(*destroy)(struct mmu *m);
	/* translate after a TLB miss */
	enum mmu_result	(*fill)(struct mmu *m, struct mmu_fault *f);
	/* guest wrote CR3 (after the architectural TLB effects); may exit.
	 * NULL: no interception. */
	enum mmu_result	(*write_cr3)(struct mmu *m, struct mmu_fault *f);
	/* guest executed INVLPG va (after the TLB effects); NULL: none */
	enum mmu_result	(*invlpg)(struct mmu *m, struct mmu_fault *f);
	/* a guest-physical access with paging off: translate f->va as a gpa
	 * (may exit, e.g. an EPT violation to back the page) */
	enum mmu_result	(*phys)(struct mmu *m, struct mmu_fault *f);
	/* the backend's gauges for the report; NULL: none */
	void		(*report)(const struct mmu *m, struct mmu_report *out);
	/* --param keys the backend takes; value i lands in mmu->params[i]
	 * (at most MMU_MAX_PARAMS; key == NULL ends). NULL: none. */
	const struct param_spec	*params;
};

struct mmu {
	const struct mmu_ops	*ops;
	void			*priv;		/* backend state */
	struct tlb		tlb;
	struct mmu_sregs	sregs;		/* guest paging state */
	struct walk_mode	mode;		/* derived from sregs */
	struct hmem		hmem;
	unsigned		guest_level;	/* page size the guest OS maps user data with */
	unsigned		host_level;	/* page size the VMM backs guest RAM with */
	const struct mmu_costs	*costs;
	struct memsys		*mem;		/* == hmem.cache: the memory model or NULL */
	uint64_t		params[MMU_MAX_PARAMS];	/* backend parameters, see ops->params */
	/* EPT walk-cache geometry from the CPU profile (NULL: absent) */
	const struct tc_geom	*ntlb_geom;	/* nested TLB: gpa -> hpa of guest tables */
	const struct tc_geom	*ept_psc_geom;	/* [3] EPT PSCs: PDE, PDPTE, PML4E */
};

/* mmu_derive_mode - recompute m->mode from m->sregs and push the
 * permission bits into the TLB. */
void mmu_derive_mode(struct mmu *m);

/* hmem_ptr - host pointer for [hpa, hpa+len) or NULL when outside. */
static inline void *hmem_ptr(const struct hmem *h, hpa_t hpa, uint64_t len)
{
	if (hpa >= h->size || len > h->size - hpa)
		return NULL;
	return h->base + hpa;
}

/* hmem_alloc_table - a zeroed 4K page from the VMM's region, or 0 when
 * the region is exhausted. */
hpa_t hmem_alloc_table(struct hmem *h);

/* mmu_identity_mem - walker hooks reading guest-physical memory in
 * place (hpa = gpa), bounded by h->guest_size: what the hardware walker
 * sees without a hypervisor. */
void mmu_identity_mem(struct walk_mem *mem, struct hmem *h);

/* mmu_host_mem - walker hooks reading host memory in place (pa = hpa),
 * bounded by h->size: how the hardware walks tables the VMM built. */
void mmu_host_mem(struct walk_mem *mem, struct hmem *h);

/* mmu_walk_from_psc - start r (addr filled in) where the paging-structure
 * caches let it, counting the hit in w. */
void mmu_walk_from_psc(struct psc *p, uint32_t ctx, struct walk_req *r,
		       struct mmu_work *w);

/* mmu_psc_fill_walk - after a successful walk (either format), cache every
 * non-leaf entry it used in the paging-structure caches. */
void mmu_psc_fill_walk(struct psc *p, uint32_t ctx, const struct walk_req *r);

extern const struct mmu_ops native_mmu_ops;

/* ------------------------------------------------------------------ */
/* Memory model                                                        */
/* ------------------------------------------------------------------ */

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

/* memsys_latency - load-to-use cycles of an access served by l. */
static inline double memsys_latency(const struct memsys *m, enum mem_level l)
{
	return m->latency[l];
}

/*
 * hmem_ref - one reference to host memory at hpa by a page walker or a
 * VMM handler: through the memory model when it is on, counted by the
 * level that served it. Every walker read and A/D write calls this once
 * from its memory hook.
 */
static inline void hmem_ref(const struct hmem *h, hpa_t hpa, enum hmem_ref_kind k)
{
	if (h->cache)
		h->ref_count[(unsigned)k * (MEM_DRAM + 1) + memsys_access(h->cache, hpa)]++;
}

#endif /* MEMVIRT_MMU_H */
