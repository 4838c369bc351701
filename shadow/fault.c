/*
 * fault.c - a TLB miss under shadow paging: the hardware walks the shadow
 * tables; when that walk faults, the #PF exits to the VMM, which walks
 * the guest's tables and decides:
 *
 *   guest walk faults            true fault: inject #PF (guest's error code)
 *   guest allows, write to a     trace fault: emulate the store, zap the
 *     write-protected frame        sptes built from the gpte it changed
 *   guest allows                 hidden fault: build the spte path, retry
 */
#include <asm/vmx.h>
#include <errno.h>
#include <string.h>

#include "shadow_int.h"

/* ------------------------------------------------------------------ */
/* Memory as the two walkers see it                                    */
/* ------------------------------------------------------------------ */

/* Guest-physical memory through the p2m: what the VMM's software walk of
 * the guest tables reads, and where it sets A/D. Outside guest RAM
 * nothing answers. */
static int gmem_read(void *ctx, uint64_t gpa, unsigned level, uint64_t *val)
{
	struct shadow *s = ctx;
	hpa_t hpa;

	(void)level;
	if (gpa >= s->m->hmem.guest_size || s->m->hmem.guest_size - gpa < sizeof(*val))
		return WALK_MEM_NONE;
	hpa = shadow_guest_hpa(s, gpa);
	hmem_ref(&s->m->hmem, hpa, HREF_VMM);
	memcpy(val, s->m->hmem.base + hpa, sizeof(*val));
	return WALK_MEM_OK;
}

static int gmem_set(void *ctx, uint64_t gpa, unsigned level, uint64_t bits)
{
	struct shadow *s = ctx;
	uint64_t v;
	uint8_t *p;

	(void)level;
	if (gpa >= s->m->hmem.guest_size || s->m->hmem.guest_size - gpa < sizeof(v))
		return WALK_MEM_NONE;
	p = s->m->hmem.base + shadow_guest_hpa(s, gpa);
	hmem_ref(&s->m->hmem, (hpa_t)(p - s->m->hmem.base), HREF_VMM);
	memcpy(&v, p, sizeof(v));
	v |= bits;
	memcpy(p, &v, sizeof(v));
	return WALK_MEM_OK;
}

void shadow_mem_init(struct shadow *s)
{
	s->gmem = (struct walk_mem){ gmem_read, gmem_set, s };
	hmem_host_mem(&s->smem, &s->m->hmem);
}

/* ------------------------------------------------------------------ */
/* Entries                                                             */
/* ------------------------------------------------------------------ */

unsigned shadow_gpte_rights(const struct shadow *s, uint64_t gpte)
{
	return walk_entry_rights(WALK_FMT_X86_64, s->m->mode.efer_nxe, gpte);
}

/*
 * A leaf spte. A is preset (the VMM has set the gpte's A), and D with W
 * (W is only given once the gpte's D is set), so the hardware walk of the
 * shadow tables never writes them: guest A/D live in the guest's tables.
 */
uint64_t spte_make_leaf(const struct shadow *s, hpa_t hpa, unsigned level,
		   unsigned rights, bool writable, bool global)
{
	uint64_t v = hpa | PTE_P | PTE_A;

	if (writable)
		v |= PTE_W | PTE_D;
	if (rights & RIGHT_U)
		v |= PTE_U;
	if (s->m->mode.efer_nxe && !(rights & RIGHT_X))
		v |= PTE_NX;
	if (level > LEVEL_4K)
		v |= PTE_PS;
	if (global)
		v |= PTE_G;
	return v;
}

/* The largest leaf level for this guest leaf: no larger than the guest
 * page or the host page, and no large spte over a tracked frame. */
static unsigned target_level(const struct shadow *s, const struct walk_req *gw)
{
	unsigned l = gw->level < s->m->host_level ? gw->level : s->m->host_level;

	/* ... nor one reaching past guest RAM (a guest page partly beyond
	 * it is mapped in the pieces that are RAM) */
	while (l > LEVEL_4K && (!shadow_lpage_allowed(s, gw->pa, l) ||
				(gw->pa & ~(LEVEL_SIZE(l) - 1)) + LEVEL_SIZE(l) >
					s->m->hmem.guest_size))
		l--;
	return l;
}

/* ------------------------------------------------------------------ */
/* The spte path                                                       */
/* ------------------------------------------------------------------ */

/*
 * fetch - build the shadow path for gw (a successful guest walk of
 * gw->addr): from the root down, link the sp shadowing each guest table
 * (or, below a large guest page that must splinter, a direct sp), then
 * the leaf spte. An existing link to the wrong sp (different gfn or
 * role) is replaced. Sets *writable to whether the leaf allows writes.
 * Returns 0 or -ENOMEM.
 */
/*
 * KVM's FNAME(pte_prefetch): after a 4K leaf is filled at idx of sp, fill
 * the other empty entries of its aligned group of 8 from their gptes, in
 * order, stopping at the first gpte that is not present, not accessed,
 * has reserved bits or maps no RAM. A prefetched spte is writable only if
 * its gpte is writable and dirty and no synced sp shadows its frame (a
 * prefetch never makes a page unsync).
 */
static void prefetch(struct shadow *s, struct sp *sp, unsigned idx)
{
	struct mmu *m = s->m;
	unsigned i, first = idx & ~7u;

	for (i = first; i < first + 8; i++) {
		gpa_t gpa = (sp->gfn << PAGE_SHIFT) + 8 * (gpa_t)i, target;
		uint64_t gpte;
		unsigned rights;
		bool w;

		if (i == idx || (spte_read(s, sp_sptep(sp, i)) & PTE_P))
			continue;
		memcpy(&gpte, m->hmem.base + shadow_guest_hpa(s, gpa), sizeof(gpte));
		s->work->handler_reads++;
		target = gpte & PTE_ADDR_MASK;
		if (!(gpte & PTE_P) || !(gpte & PTE_A) ||
		    (gpte & walk_rsvd_bits(WALK_FMT_X86_64, &m->mode, LEVEL_4K, false)) ||
		    target + PAGE_SIZE > m->hmem.guest_size)
			break;
		rights = (sp->role.access | RIGHT_R) & shadow_gpte_rights(s, gpte);
		w = (rights & RIGHT_W) && (gpte & PTE_D) && shadow_gfn_writable(s, target >> PAGE_SHIFT);
		/* Without A, as KVM makes a prefetched spte: the hardware
		 * sets it on first use. */
		sp_set_leaf(s, sp, i, spte_make_leaf(s, shadow_guest_hpa(s, target), LEVEL_4K, rights, w,
					     (gpte & PTE_G) != 0) & ~PTE_A);
	}
}

static int fetch(struct shadow *s, const struct walk_req *gw, bool *writable,
		 bool *spurious)
{
	gva_t va = gw->addr;
	struct sp *sp = s->roots[0];
	unsigned acc = RIGHTS_ALL, l, tl, idx;
	bool dirty = (gw->leaf & PTE_D) != 0;
	gpa_t piece;
	gfn_t gfn;
	uint64_t old, leaf;
	bool w;

	sp_touch(s, sp);
	for (l = sp->role.level;; l--) {
		union sp_role want = sp->role;
		struct sp *child;
		gfn_t cgfn;
		uint64_t spte;

		/* Recomputed each level: a table shadowed on the way down may
		 * lie in the region of the leaf, which must then splinter. */
		tl = target_level(s, gw);
		if (l == tl)
			break;
		idx = (unsigned)WALK_INDEX(va, l);
		acc &= shadow_gpte_rights(s, gw->entry[l]);
		want.level = (l - 1) & 0xfu;
		if (l - 1 >= gw->level) {
			cgfn = gw->table[l - 1] >> PAGE_SHIFT;
			want.access = acc & ROLE_ACCESS_MASK;
			want.direct = 0;
			want.global = 0;
		} else {
			unsigned dacc = gw->rights & ROLE_ACCESS_MASK;

			if (!dirty)
				dacc &= ~(unsigned)RIGHT_W;
			cgfn = (gw->pa & ~(LEVEL_SIZE(l) - 1)) >> PAGE_SHIFT;
			want.access = dacc & ROLE_ACCESS_MASK;
			want.direct = 1;
			want.global = (gw->leaf & PTE_G) != 0;
		}
		spte = spte_read(s, sp_sptep(sp, idx));
		if (spte & PTE_P) {
			if (spte_is_leaf(l, spte)) {
				sp_zap_spte(s, sp, idx);	/* a large spte that must splinter */
			} else {
				child = sp_of(s, spte & PTE_ADDR_MASK);
				if (child->gfn != cgfn || child->role.word != want.word)
					sp_zap_spte(s, sp, idx);
			}
			spte = spte_read(s, sp_sptep(sp, idx));
		}
		if (spte & PTE_P) {
			child = sp_of(s, spte & PTE_ADDR_MASK);
		} else {
			child = sp_get(s, cgfn, want);
			if (!child)
				return -ENOMEM;
			/* sp_get may have zapped around us; our entry stays free. */
			sp_link_child(s, sp, idx, child);
			/* Unsync pages below a page linked anew: sync them now
			 * (KVM requests a root sync for this). */
			if (child->unsync_children)
				sp_sync_children(s, child);
		}
		sp_touch(s, child);
		sp = child;
	}

	/* The leaf, at level tl of sp. */
	idx = (unsigned)WALK_INDEX(va, tl);
	piece = gw->pa & ~(LEVEL_SIZE(tl) - 1);
	gfn = piece >> PAGE_SHIFT;
	w = (gw->rights & RIGHT_W) && dirty;
	if (w && tl == LEVEL_4K && !shadow_gfn_writable(s, gfn) && !shadow_try_unsync(s, gfn))
		w = false;
	old = spte_read(s, sp_sptep(sp, idx));
	leaf = spte_make_leaf(s, shadow_guest_hpa(s, piece), tl, gw->rights, w, (gw->leaf & PTE_G) != 0);
	*spurious = old == leaf;
	sp_set_leaf(s, sp, idx, leaf);
	*writable = w;
	/* KVM prefetches after a fill that changed the leaf; a write to a
	 * present spte of a tracked frame is emulated before any fill. */
	if (s->prefetch && tl == LEVEL_4K && !sp->role.direct && !*spurious &&
	    !((gw->access & ACC_WRITE) && !w && (old & PTE_P)))
		prefetch(s, sp, idx);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Trace faults                                                        */
/* ------------------------------------------------------------------ */

static bool flooded(struct shadow *s, struct sp *sp)
{
	/* An unsync-able leaf table is not unshadowed: unsync serves it. */
	if (s->unsync_ok && sp->role.level == LEVEL_4K)
		return false;
	if (++sp->flood < s->flood_limit || sp == s->roots[0])
		return false;
	/* A previous root being rewritten (an exited process's PML4 frame
	 * reused): out of the root cache, then unshadowed like any page. */
	if (sp->root_count)
		shadow_roots_drop(s, sp);
	return true;
}

/*
 * KVM's detect_write_misaligned: a write that is not within one gpte, or
 * narrower than 4 bytes (but a 1-byte write at an entry's first byte, as
 * Linux's clear_bit does, is fine), says the frame is not being used as
 * a page table any more.
 */
static bool misaligned(gpa_t gpa, unsigned bytes)
{
	unsigned off = (unsigned)(gpa & (PAGE_SIZE - 1));

	if (!(off & 7) && bytes == 1)
		return false;
	return ((off ^ (off + bytes - 1)) & ~7u) != 0 || bytes < 4;
}

/* Is sp (a pointer that may have been freed) still in gfn's chain? */
static bool sp_alive(const struct shadow *s, gfn_t gfn, const struct sp *sp)
{
	const struct sp *o;

	for (o = sp_bucket(s, gfn); o; o = o->hash_next)
		if (o == sp)
			return true;
	return false;
}

#define TRACK_MAX	64u	/* sps of one frame handled per write */

void shadow_track_write(struct shadow *s, gpa_t gpa, unsigned bytes, uint64_t new_val,
		 bool count_flood)
{
	gfn_t gfn = gpa >> PAGE_SHIFT;
	unsigned idx = (unsigned)((gpa & (PAGE_SIZE - 1)) / 8), n = 0, i;
	struct sp *sps[TRACK_MAX], *sp;

	/* Zapping one sp can free others of the chain (unsync leaves below
	 * it): take the list first, check each is still there. */
	for (sp = sp_bucket(s, gfn); sp && n < TRACK_MAX; sp = sp->hash_next)
		if (sp->gfn == gfn && !sp->role.direct)
			sps[n++] = sp;
	for (i = 0; i < n; i++) {
		sp = sps[i];
		if (i && !sp_alive(s, gfn, sp))
			continue;
		/* A guest table written misaligned, or rewritten again and
		 * again without being used for a translation, has become
		 * something else: unshadow it. */
		if (count_flood && (misaligned(gpa, bytes) || flooded(s, sp))) {
			s->work->flood_zaps++;
			sp_zap(s, sp);
			continue;
		}
		/* As KVM: the spte goes even when the value is unchanged. */
		if (new_val && sp->role.level > LEVEL_4K)
			s->work->pde_zapped++;
		sp_zap_spte(s, sp, idx);
	}
}

/* Complete the guest's store (f->size bytes of f->store_val at gpa) and
 * let the shadow follow the gpte it changed. */
static void emulate_store(struct shadow *s, gpa_t gpa, const struct mmu_fault *f)
{
	gpa_t q = gpa & ~(gpa_t)7;
	uint8_t *p = s->m->hmem.base + shadow_guest_hpa(s, q);
	uint64_t new_val;

	memcpy(p + (gpa - q), &f->store_val, f->size);
	memcpy(&new_val, p, 8);
	s->work->handler_writes++;
	hmem_ref(&s->m->hmem, (hpa_t)(p - s->m->hmem.base), HREF_VMM);
	if (shadow_gfn_shadowed(s, gpa >> PAGE_SHIFT))
		shadow_track_write(s, gpa, f->size, new_val, true);
}

/* ------------------------------------------------------------------ */
/* The exit handler and the fill                                       */
/* ------------------------------------------------------------------ */

/* The #PF the hardware took on the shadow tables, handled by the VMM. */
static enum mmu_result page_fault(struct shadow *s, struct mmu_fault *f)
{
	struct mmu *m = s->m;
	struct walk_req gw;
	enum walk_result res;
	bool writable, spurious;

	walk_req_init(&gw, WALK_FMT_X86_64, f->va, m->sregs.cr3, f->access,
		      &m->mode, &s->gmem);
	f->exited = true;
	f->exit_reason = EXIT_REASON_EXCEPTION_NMI;
	f->exit_qual = f->va;		/* a #PF exit's qualification is CR2 */

	res = walk_run(&gw);
	f->work.handler_reads += gw.reads;
	f->work.handler_writes += gw.ad_writes;
	if (res == WALK_FAULT) {
		f->exit_kind = MMU_EXIT_TRUE;
		f->error_code = gw.error_code;
		/* A protection fault: KVM drops what its TLB (here: an unsync
		 * sp's spte on the path) may hold for va before injecting
		 * (kvm_inject_emulated_page_fault). */
		if ((gw.error_code & PFERR_P) && !(gw.error_code & PFERR_RSVD))
			shadow_invalidate_addr(s, s->roots[0], f->va);
		return MMU_FAULT;
	}
	BUG_ON(res != WALK_OK, "guest memory cannot abort a walk");

	if (gw.pa >= m->hmem.guest_size) {
		/* No RAM behind the address: the access goes nowhere, as
		 * natively; nothing is mapped. (A guest page partly beyond
		 * RAM is mapped where it is RAM: see target_level.) */
		f->unbacked = true;
		f->exited = false;
		return MMU_OK;
	}
	if ((f->access & ACC_WRITE) && !(gw.rights & RIGHT_W)) {
		/* CR0.WP=0: a supervisor write the guest's tables refuse. The
		 * hardware walks sptes with WP=1, so it is emulated. */
		emulate_store(s, gw.pa, f);
		f->exit_kind = MMU_EXIT_PLAIN;
		return MMU_EMULATED;
	}

	s->seq++;
	sp_make_room(s, m->mode.levels + 1u);
	if (fetch(s, &gw, &writable, &spurious) < 0) {
		f->stop = "shadow: out of VMM memory for shadow tables";
		return MMU_STOP;
	}
	if ((f->access & ACC_WRITE) && !writable) {
		/* The frame holds a shadowed guest table. */
		emulate_store(s, gw.pa, f);
		f->exit_kind = MMU_EXIT_TRACE;
		return MMU_EMULATED;
	}
	f->exit_kind = MMU_EXIT_HIDDEN;
	f->work.spurious = spurious;
	return MMU_EXIT;
}

/*
 * shadow_fill - the hardware walks the shadow tables (a native 1D walk,
 * with the PSC); a successful walk is the translation. A faulting one is
 * a #PF the VMM intercepts: page_fault decides hidden, trace or true.
 */
enum mmu_result shadow_fill(struct mmu *m, struct mmu_fault *f)
{
	struct shadow *s = m->priv;
	struct walk_req r;
	enum walk_result res;
	enum mmu_result ret;

	shadow_handler_begin(s, &f->work);
	if (shadow_ensure_root(s) < 0) {
		f->stop = "shadow: out of VMM memory for a shadow root";
		return MMU_STOP;
	}
	shadow_flush_if_needed(s);
	s->hw_mode = m->mode;
	s->hw_mode.cr0_wp = true;
	walk_req_init(&r, WALK_FMT_X86_64, f->va, s->roots[0]->table, f->access,
		      &s->hw_mode, &s->smem);
	f->work.psc_hits += psc_walk_start(&m->tlb.psc, m->tlb.ctx, &r);
	res = walk_run(&r);
	f->work.walk_reads += r.reads;
	f->work.walk_ad_writes += r.ad_writes;
	if (res == WALK_OK) {
		psc_fill_walk(&m->tlb.psc, m->tlb.ctx, &r);
		f->hpa = r.pa & ~(LEVEL_SIZE(r.level) - 1);
		f->level = r.level;
		f->rights = r.rights;
		f->global = (r.leaf & PTE_G) && (m->sregs.cr4 & CR4_PGE);
		/* Writes may hit the TLB only through a writable spte. */
		f->dirty = (r.rights & RIGHT_W) != 0;
		return MMU_OK;
	}
	BUG_ON(res != WALK_FAULT, "shadow tables cannot abort or misconfigure a walk");
	/* The #PF drops the TLB and PSC entries for va, as on hardware. */
	tlb_pf_invalidate(&m->tlb, f->va);
	ret = page_fault(s, f);
	shadow_flush_if_needed(s);
	return ret;
}
