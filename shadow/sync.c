/*
 * sync.c - unsync leaf tables and their resynchronisation, and INVLPG
 * (the root cache and CR3 writes are roots.c).
 *
 * With shadow_unsync=1 a leaf guest table (every sp of its frame at level
 * 1) is not write-protected once the guest maps it writable: its sps go
 * unsync and may disagree with the guest's table. The architecture lets
 * them: a changed gpte need only be seen after the guest invalidates it
 * (INVLPG of that address, or a CR3 write), and those exit:
 *
 *   CR3 write   every unsync sp under the new root is synced and goes
 *               back to write-protected (KVM's mmu_sync_roots)
 *   CR4 write   one that flushes the TLB (a PGE toggle): every unsync
 *               sp under every cached root is synced (roots.c)
 *   INVLPG va   the one spte for va in an unsync sp is synced, under
 *               every cached root; the sp stays unsync (KVM's invlpg)
 *   #PF         a protection fault syncs it likewise, current root only
 *   relink      an unsync sp linked anew is synced (kvm_sync_page),
 *               and every unsync sp below a page linked anew
 */
#include <asm/vmx.h>
#include <string.h>

#include "shadow_int.h"

bool shadow_try_unsync(struct shadow *s, gfn_t gfn)
{
	struct sp *sp;

	if (!s->unsync_ok || gfn >= s->nframes)
		return false;
	for (sp = sp_bucket(s, gfn); sp; sp = sp->hash_next)
		if (sp->gfn == gfn && !sp->role.direct && !sp->unsync &&
		    sp->role.level != LEVEL_4K)
			return false;
	for (sp = sp_bucket(s, gfn); sp; sp = sp->hash_next)
		if (sp->gfn == gfn && !sp->role.direct && !sp->unsync) {
			sp->unsync = true;
			s->work->unsyncs++;
			s->gfn[gfn].synced--;
			sp_update_marked(s, sp);
		}
	return true;
}

/*
 * Bring entry idx of an unsync leaf sp up to date with its gpte: zap it
 * if the gpte no longer maps (not present, reserved bits, A clear) or
 * maps another page; else keep the page with the rights the gpte now
 * grants, never more than before (W stays only with W and D in the gpte).
 */
static void sync_spte(struct shadow *s, struct sp *sp, unsigned idx)
{
	struct mmu *m = s->m;
	uint64_t spte = spte_read(s, sp_sptep(sp, idx));
	gpa_t gpa = (sp->gfn << PAGE_SHIFT) + 8 * (gpa_t)idx;
	uint64_t gpte, v;
	unsigned rights;
	gpa_t target;
	hpa_t hpa;
	bool backed, w;

	if (!(spte & PTE_P))
		return;
	hpa = shadow_guest_hpa(s, gpa);
	memcpy(&gpte, m->hmem.base + hpa, sizeof(gpte));
	s->work->handler_reads++;
	hmem_ref(&m->hmem, hpa, HREF_VMM);
	target = gpte & PTE_ADDR_MASK;
	hpa = p2m_lookup(&s->p2m, target, &backed);
	if (!(gpte & PTE_P) || !(gpte & PTE_A) ||
	    (gpte & walk_rsvd_bits(WALK_FMT_X86_64, &m->mode, LEVEL_4K, false)) ||
	    target + PAGE_SIZE > m->hmem.guest_size || !backed ||
	    hpa != (spte & PTE_ADDR_MASK)) {
		sp_zap_spte(s, sp, idx);
		return;
	}
	rights = (sp->role.access | RIGHT_R) & shadow_gpte_rights(s, gpte);
	/* As KVM's sync_spte (make_spte while synchronizing): writable if
	 * the gpte allows it and is dirty, and the spte was, or no sp
	 * shadows the frame (a sync never makes a page unsync). */
	w = (rights & RIGHT_W) && (gpte & PTE_D) &&
	    ((spte & PTE_W) || !shadow_gfn_shadowed(s, target >> PAGE_SHIFT));
	v = spte_make_leaf(s, hpa, LEVEL_4K, rights, w, (gpte & PTE_G) != 0);
	/* Rights unchanged: the spte stays as it is, A included (a
	 * prefetched spte the hardware has not used has none), as KVM. */
	if (((v ^ spte) & ~PTE_A) == 0)
		return;
	sp_set_leaf(s, sp, idx, v);
}

void sp_sync(struct shadow *s, struct sp *sp, bool resync)
{
	unsigned i;

	if (resync) {
		sp->unsync = false;
		s->work->resyncs++;
		if (s->gfn[sp->gfn].synced++ == 0)
			shadow_write_protect(s, sp->gfn);
		sp_update_marked(s, sp);
	}
	for (i = 0; i < SPTES_PER_PAGE; i++)
		sync_spte(s, sp, i);
}

void sp_sync_children(struct shadow *s, struct sp *sp)
{
	unsigned w;

	for (w = 0; w < SPTES_PER_PAGE / 64; w++) {
		uint64_t bits = sp->unsync_bitmap[w];

		while (bits) {
			unsigned idx = w * 64 + (unsigned)__builtin_ctzll(bits);
			uint64_t spte = spte_read(s, sp_sptep(sp, idx));
			struct sp *child;

			bits &= bits - 1;
			BUG_ON(!(spte & PTE_P) || spte_is_leaf(sp->role.level, spte),
			       "unsync bit on an entry that links no table");
			child = sp_of(s, spte & PTE_ADDR_MASK);
			if (child->unsync)
				sp_sync(s, child, true);
			if (child->unsync_children)
				sp_sync_children(s, child);
		}
	}
}

void shadow_invalidate_addr(struct shadow *s, struct sp *root, gva_t va)
{
	struct sp *sp = root;
	unsigned l;

	/* Sptes of synced sps follow the guest through write protection;
	 * only an unsync leaf needs the guest's entry read again. */
	for (l = sp->role.level; l >= LEVEL_4K; l--) {
		unsigned idx = (unsigned)WALK_INDEX(va, l);
		uint64_t spte = spte_read(s, sp_sptep(sp, idx));

		if (!(spte & PTE_P))
			break;
		if (spte_is_leaf(l, spte)) {
			if (sp->unsync)
				sync_spte(s, sp, idx);
			break;
		}
		sp = sp_of(s, spte & PTE_ADDR_MASK);
		if (!sp->marked)
			break;
	}
}

enum mmu_result shadow_invlpg(struct mmu *m, struct mmu_fault *f)
{
	struct shadow *s = m->priv;
	union sp_role role;
	unsigned i;

	shadow_intercepted(s, f, EXIT_REASON_INVLPG, f->va);
	if (!(m->sregs.cr0 & CR0_PG) || shadow_ensure_root(s) < 0)
		goto out;
	/* Every cached root, as KVM's kvm_mmu_invlpg (KVM_MMU_ROOTS_ALL),
	 * of the current paging mode (shadow_root_synced). */
	role = shadow_root_role(s);
	for (i = 0; i < s->nroots; i++)
		if (s->roots[i]->role.word == role.word)
			shadow_invalidate_addr(s, s->roots[i], f->va);
out:
	shadow_flush_if_needed(s);
	shadow_handler_end(s);
	return MMU_EXIT;
}
