/*
 * shadow_int.h - private to shadow/: the shadow page and its role, the
 * backend's state, and what the files of shadow/ share. Never included
 * from outside the folder.
 *
 *   page.c   the shadow page cache: hash by (gfn, role), LRU, table
 *            allocation, reverse map, parent links, write protection,
 *            large-page disallow counts, zapping
 *   fault.c  the hardware walk of the shadow tables (fill), the exit
 *            handler: guest walk, hidden / true / trace faults, the
 *            spte path (fetch), write emulation
 *   sync.c   unsync leaf tables and their resync, INVLPG
 *   roots.c  the CR3 root cache and the intercepted CR3 write
 *   shadow.c the ops table: init, destroy, paging-off accesses, report
 *   audit.c  shadow_audit
 */
#ifndef MEMVIRT_SHADOW_INT_H
#define MEMVIRT_SHADOW_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "shadow.h"

#define SPTES_PER_PAGE	512u

/* Defaults of the parameters in shadow.h. */
#define SHADOW_DEF_ROOTS	4u
#define SHADOW_DEF_FLOOD	3u

/*
 * The role of a shadow page, compared by .word (as KVM's
 * kvm_mmu_page_role):
 *
 *   31         12   11   10    9      8    7      4 3      0
 *  +-------------+----+----+-----+------+---------+--------+
 *  |   unused    | G  |la57| nxe |direct| access  | level  |
 *  +-------------+----+----+-----+------+---------+--------+
 *
 * level   1..5, the level of the table (a level-1 sp holds 4K leaves)
 * access  RIGHT_W | RIGHT_X | RIGHT_U (R implied) that the guest entries
 *         above this table grant. Non-leaf sptes grant everything and a
 *         leaf spte carries the rights of the whole guest path, so one
 *         guest table reached with different rights needs one sp each.
 *         For a direct sp, the rights of the large gpte it splinters,
 *         without W while that gpte's D is clear (as KVM's direct_access),
 *         so the splinter is rebuilt writable once D is set.
 * direct  the sp shadows no guest table: it splinters a large guest page
 *         (the host page is smaller, or a tracked frame lies inside);
 *         gfn is the first frame of the region it maps.
 * nxe     EFER.NXE: whether bit 63 of a gpte is NX or reserved.
 * la57    5-level paging (the root level).
 * G       direct only: the G bit of the large gpte, which every leaf of
 *         the splinter carries (two large gptes mapping one region, one
 *         global and one not, need one splinter each).
 *
 * Not in the role, on purpose: CR0.WP (a supervisor write the guest's
 * tables refuse but WP=0 allows is emulated, never mapped writable, so no
 * spte depends on WP; the hardware walks the shadow tables with WP=1 as
 * KVM runs shadowed guests), CR4.SMEP/SMAP (sptes carry the guest's U bit
 * and the hardware applies the guest's SMEP/SMAP to them as it would to
 * the guest's tables), CR4.PGE (global is decided at fill time).
 */
union sp_role {
	uint32_t	word;
	struct {
		unsigned	level:4;
		unsigned	access:4;
		unsigned	direct:1;
		unsigned	nxe:1;
		unsigned	la57:1;
		unsigned	global:1;
		unsigned	:20;
	};
};

#define ROLE_ACCESS_MASK	(RIGHT_W | RIGHT_X | RIGHT_U)

/* A small set of spte addresses (hpa), for parent links and rmaps. */
struct hvec {
	uint32_t	n;
	uint32_t	cap;		/* 0: the set lives in `one` (n <= 1) */
	hpa_t		one;
	hpa_t		*v;
};

static inline hpa_t *hvec_data(struct hvec *h)
{
	return h->cap ? h->v : &h->one;
}

/* One shadow page. */
struct sp {
	hpa_t		table;		/* the shadow table, in the VMM's region */
	gfn_t		gfn;		/* guest table shadowed; direct: first frame mapped */
	union sp_role	role;
	struct sp	*hash_next;
	struct sp	*lru_prev;	/* LRU list, most recently used first */
	struct sp	*lru_next;
	struct hvec	parents;	/* non-leaf sptes pointing to this table */
	uint64_t	unsync_bitmap[SPTES_PER_PAGE / 64];	/* entries whose child needs a sync */
	unsigned	unsync_children;	/* bits set in unsync_bitmap */
	unsigned	root_count;	/* references from the root cache */
	unsigned	flood;		/* traced writes since a fault last used it */
	uint64_t	used;		/* fault sequence number of the last use */
	bool		unsync;		/* leaf sp whose guest table is writable */
	bool		marked;		/* parents' bitmaps hold unsync || unsync_children */
};

/* Per guest frame: how many sps shadow it. */
struct gfn_state {
	uint16_t	shadowed;	/* non-direct sps of this gfn */
	uint16_t	synced;		/* of those, not unsync: the frame is write-protected */
};

struct shadow {
	struct mmu	*m;
	struct p2m	p2m;		/* gpa -> hpa, host pages of m->host_level */
	hpa_t		*h2g;		/* per backed host page: its gpa + 1 */
	uint64_t	h2g_n;
	struct walk_mem	gmem;		/* guest-physical memory through the p2m */
	struct walk_mem	smem;		/* host memory: the shadow tables */
	struct walk_mode hw_mode;	/* the mode the hardware walks sptes with */

	/* the shadow page cache */
	struct sp	**hash;		/* by gfn */
	uint32_t	hash_mask;
	hpa_t		vmm_base;	/* first hpa of the VMM's table region */
	uint64_t	vmm_npages;
	struct sp	**by_page;	/* per VMM region page: its sp */
	struct sp	lru;		/* list head */
	hpa_t		*free;		/* freed table pages, for reuse */
	uint64_t	nfree;
	uint64_t	pages;		/* shadow table pages in use */
	uint64_t	pages_peak;
	uint64_t	pages_max;	/* 0: no limit */

	/* per guest frame / region */
	uint64_t	nframes;
	struct gfn_state *gfn;
	uint32_t	*disallow[LEVEL_1G + 1];	/* [2], [3]: tracked frames per 2M / 1G region */
	struct hvec	*rmap[LEVEL_1G + 1];		/* [l]: leaf sptes per level-l region */
	uint64_t	nregions[LEVEL_1G + 1];

	/* the root cache, most recently used first; roots[0] is current */
	struct sp	**roots;
	unsigned	nroots;
	unsigned	roots_max;
	uint64_t	root_hits;

	/* parameters */
	bool		unsync_ok;
	unsigned	flood_limit;
	bool		prefetch;
	bool		zap_unsync;

	/* the handler in progress */
	struct mmu_work	*work;		/* where handler reads/writes are counted */
	struct mmu_work	scratch;	/* work of paths with no fault record */
	uint64_t	seq;		/* fault sequence number */
	bool		need_flush;	/* a present spte was zapped or weakened */
};

/*
 * The handler in progress: every entry point that may do handler work
 * (a fill, a paging-off access, an intercepted instruction) opens it with
 * the fault record the work is counted into, and closes it on the way
 * out; between handlers, work lands in s->scratch (init, teardown).
 */
static inline void shadow_handler_begin(struct shadow *s, struct mmu_work *w)
{
	s->work = w;
}

static inline void shadow_handler_end(struct shadow *s)
{
	s->work = &s->scratch;
}

/* ---- page.c ------------------------------------------------------ */

static inline uint64_t spte_read(const struct shadow *s, hpa_t sptep)
{
	uint64_t v;

	__builtin_memcpy(&v, s->m->hmem.base + sptep, sizeof(v));
	return v;
}

/* A handler writes an spte: counted as handler work, and a reference
 * through the memory model (its line displaces others). */
static inline void spte_write(struct shadow *s, hpa_t sptep, uint64_t v)
{
	__builtin_memcpy(s->m->hmem.base + sptep, &v, sizeof(v));
	s->work->handler_writes++;
	hmem_ref(&s->m->hmem, sptep, HREF_VMM);
}

static inline hpa_t sp_sptep(const struct sp *sp, unsigned idx)
{
	return sp->table + 8 * (hpa_t)idx;
}

/* Is this present entry of a level-`level` table a leaf? */
static inline bool spte_is_leaf(unsigned level, uint64_t spte)
{
	return level == LEVEL_4K || (spte & PTE_PS);
}

/* shadow_pages_init - the page cache over the VMM's table region (what
 * is left of it at init); -ENOSPC without one, -ENOMEM. */
int shadow_pages_init(struct shadow *s);
void shadow_pages_destroy(struct shadow *s);

/* sp_of - the sp whose table holds hpa (any address inside the table). */
struct sp *sp_of(const struct shadow *s, hpa_t hpa);

/* sp_find - the sp for (gfn, role), or NULL. */
struct sp *sp_find(const struct shadow *s, gfn_t gfn, union sp_role role);

/* sp_bucket - the first sp of gfn's hash chain (others share it: check
 * ->gfn); zapping the sp in hand leaves ->hash_next of the others valid. */
struct sp *sp_bucket(const struct shadow *s, gfn_t gfn);

/* sp_get - find or create the sp for (gfn, role); a new non-direct sp
 * write-protects its frame. NULL when no table page can be had. */
struct sp *sp_get(struct shadow *s, gfn_t gfn, union sp_role role);

/* sp_touch - mark sp used by the fault in progress (LRU, flooding). */
void sp_touch(struct shadow *s, struct sp *sp);

/* sp_make_room - zap least recently used sps until `need` more pages fit
 * under shadow_pages_max. */
void sp_make_room(struct shadow *s, unsigned need);

/* sp_link_child - point entry idx of sp at child's table. */
void sp_link_child(struct shadow *s, struct sp *sp, unsigned idx, struct sp *child);

/* sp_set_leaf - install leaf spte v at entry idx of sp (entered in the
 * rmap), replacing what was there. */
void sp_set_leaf(struct shadow *s, struct sp *sp, unsigned idx, uint64_t v);

/* sp_zap_spte - clear entry idx of sp: unmap a leaf or unlink a child. */
void sp_zap_spte(struct shadow *s, struct sp *sp, unsigned idx);

/* sp_zap - unlink sp from its parents and its children and free it
 * (a root in the root cache is only emptied). */
void sp_zap(struct shadow *s, struct sp *sp);

/* shadow_gfn_shadowed - does some (non-direct) sp shadow gfn? */
static inline bool shadow_gfn_shadowed(const struct shadow *s, gfn_t gfn)
{
	return gfn < s->nframes && s->gfn[gfn].shadowed != 0;
}

/* shadow_gfn_writable - may a leaf spte mapping gfn be writable now? */
bool shadow_gfn_writable(const struct shadow *s, gfn_t gfn);

/* shadow_write_protect - clear W in every 4K leaf spte mapping gfn. */
void shadow_write_protect(struct shadow *s, gfn_t gfn);

/* shadow_lpage_allowed - may a leaf spte of `level` map the region of gpa? */
bool shadow_lpage_allowed(const struct shadow *s, gpa_t gpa, unsigned level);

/* sp_update_marked - sp->unsync or sp->unsync_children changed: carry
 * "something below needs a sync" into the parents' bitmaps, up to the
 * roots, so a sync walk from a root finds every unsync sp under it. */
void sp_update_marked(struct shadow *s, struct sp *sp);

/* shadow_gpa_of_hpa - the gpa a backed hpa holds. */
gpa_t shadow_gpa_of_hpa(const struct shadow *s, hpa_t hpa);

/* shadow_guest_hpa - hpa of gpa (inside guest RAM), backing it on first use. */
hpa_t shadow_guest_hpa(struct shadow *s, gpa_t gpa);

/* shadow_flush_if_needed - after sptes were zapped or weakened: flush the
 * VM's TLB and paging-structure caches (KVM's remote TLB flush). */
void shadow_flush_if_needed(struct shadow *s);

/* ---- fault.c ----------------------------------------------------- */

/* shadow_fill - the fill hook: hardware walk of the shadow tables, and
 * on its #PF the exit handler (hidden, trace or true fault). */
enum mmu_result shadow_fill(struct mmu *m, struct mmu_fault *f);

/* shadow_gpte_rights - RIGHT_* one guest entry grants under the guest's mode. */
unsigned shadow_gpte_rights(const struct shadow *s, uint64_t gpte);

/* spte_make_leaf - a leaf spte mapping hpa at level with these rights. */
uint64_t spte_make_leaf(const struct shadow *s, hpa_t hpa, unsigned level,
		   unsigned rights, bool writable, bool global);

/* shadow_track_write - the guest wrote `bytes` bytes at gpa of a tracked frame;
 * the 8-byte gpte holding gpa is now new_val. A misaligned write or a
 * flood zaps the frame's sps; else the sptes built from the gpte go. */
void shadow_track_write(struct shadow *s, gpa_t gpa, unsigned bytes, uint64_t new_val,
		 bool count_flood);

/* shadow_mem_init - the walker hooks over guest memory (via the p2m)
 * and over the shadow tables (host memory). */
void shadow_mem_init(struct shadow *s);

/* ---- roots.c ----------------------------------------------------- */

/* shadow_root_role - the role of a root under the guest's current mode. */
union sp_role shadow_root_role(const struct shadow *s);

/* shadow_ensure_root - make roots[0] the root for the current CR3 and mode.
 * Returns 0 or -ENOMEM. */
int shadow_ensure_root(struct shadow *s);

/* shadow_roots_drop - take sp, a previous (not the current) root, out of the
 * root cache. */
void shadow_roots_drop(struct shadow *s, struct sp *sp);

/* shadow_intercepted - open the handler of an intercepted instruction:
 * a plain exit of `reason` with qualification qual, its work counted in f. */
void shadow_intercepted(struct shadow *s, struct mmu_fault *f, unsigned reason,
			uint64_t qual);

/* The CR_ACCESS exit: load the new root (root cache), sync under it. */
enum mmu_result shadow_write_cr3(struct mmu *m, struct mmu_fault *f);

/* The CR_ACCESS exit of a CR4 write that flushes the TLB: sync every
 * unsync sp under every cached root. */
enum mmu_result shadow_write_cr4(struct mmu *m, struct mmu_fault *f);

/* ---- sync.c ------------------------------------------------------ */

/* shadow_try_unsync - let gfn's leaf sps go unsync so it may be mapped
 * writable; false when unsync is off or gfn shadows a non-leaf table. */
bool shadow_try_unsync(struct shadow *s, gfn_t gfn);

/* sp_sync - bring an unsync sp's sptes up to date with its guest
 * table; with resync, also write-protect the frame and mark it sync. */
void sp_sync(struct shadow *s, struct sp *sp, bool resync);

/* shadow_invalidate_addr - KVM's __kvm_mmu_invalidate_addr: on va's path from
 * root, sync the spte of each unsync sp met. */
void shadow_invalidate_addr(struct shadow *s, struct sp *root, gva_t va);

/* sp_sync_children - sync every unsync sp below sp. */
void sp_sync_children(struct shadow *s, struct sp *sp);

/* The INVLPG exit: resync the address's spte if its table is unsync. */
enum mmu_result shadow_invlpg(struct mmu *m, struct mmu_fault *f);

#endif /* MEMVIRT_SHADOW_INT_H */
