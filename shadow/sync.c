/*
 * sync.c - unsync leaf tables and their resynchronisation, the CR3 root
 * cache, INVLPG.
 *
 * With shadow_unsync=1 a leaf guest table (every sp of its frame at level
 * 1) is not write-protected once the guest maps it writable: its sps go
 * unsync and may disagree with the guest's table. The architecture lets
 * them: a changed gpte need only be seen after the guest invalidates it
 * (INVLPG of that address, or a CR3 write), and those exit:
 *
 *   CR3 write   every unsync sp under the new root is synced and goes
 *               back to write-protected (KVM's mmu_sync_roots)
 *   INVLPG va   the one spte for va in an unsync sp is synced, under
 *               every cached root; the sp stays unsync (KVM's invlpg)
 *   #PF         a protection fault syncs it likewise, current root only
 *   relink      an unsync sp linked anew is synced (kvm_sync_page),
 *               and every unsync sp below a page linked anew
 */
#include <asm/vmx.h>
#include <errno.h>
#include <string.h>

#include "shadow_int.h"

/* ------------------------------------------------------------------ */
/* Unsync and sync                                                     */
/* ------------------------------------------------------------------ */

bool try_unsync(struct shadow *s, gfn_t gfn)
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
	hpa = guest_hpa(s, gpa);
	memcpy(&gpte, m->hmem.base + hpa, sizeof(gpte));
	s->work->handler_reads++;
	hmem_ref(&m->hmem, hpa, HREF_VMM);
	target = gpte & PTE_ADDR_MASK;
	hpa = p2m_lookup(&s->p2m, target, &backed);
	if (!(gpte & PTE_P) || !(gpte & PTE_A) ||
	    (gpte & walk_rsvd_bits(WALK_FMT_X86_64, &m->mode, LEVEL_4K, false)) ||
	    target + PAGE_SIZE > m->hmem.guest_size || !backed ||
	    hpa != (spte & PTE_ADDR_MASK)) {
		zap_spte(s, sp, idx);
		return;
	}
	rights = (sp->role.access | RIGHT_R) & gpte_rights(s, gpte);
	/* As KVM's sync_spte (make_spte while synchronizing): writable if
	 * the gpte allows it and is dirty, and the spte was, or no sp
	 * shadows the frame (a sync never makes a page unsync). */
	w = (rights & RIGHT_W) && (gpte & PTE_D) &&
	    ((spte & PTE_W) || !gfn_shadowed(s, target >> PAGE_SHIFT));
	v = make_leaf(s, hpa, LEVEL_4K, rights, w, (gpte & PTE_G) != 0);
	/* Rights unchanged: the spte stays as it is, A included (a
	 * prefetched spte the hardware has not used has none), as KVM. */
	if (((v ^ spte) & ~PTE_A) == 0)
		return;
	set_leaf(s, sp, idx, v);
}

void sync_page(struct shadow *s, struct sp *sp, bool resync)
{
	unsigned i;

	if (resync) {
		sp->unsync = false;
		s->work->resyncs++;
		if (s->gfn[sp->gfn].synced++ == 0)
			write_protect(s, sp->gfn);
		sp_update_marked(s, sp);
	}
	for (i = 0; i < SPTES_PER_PAGE; i++)
		sync_spte(s, sp, i);
}

void sync_children_of(struct shadow *s, struct sp *sp)
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
				sync_page(s, child, true);
			if (child->unsync_children)
				sync_children_of(s, child);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Roots                                                               */
/* ------------------------------------------------------------------ */

union sp_role root_role(const struct shadow *s)
{
	const struct walk_mode *mode = &s->m->mode;
	union sp_role r = { .word = 0 };

	r.level = mode->levels & 0xfu;
	r.access = ROLE_ACCESS_MASK;
	r.nxe = mode->efer_nxe;
	r.la57 = mode->levels == 5;
	return r;
}

/*
 * Make the root for (gfn, role) current: from the root cache (*hit), or
 * found or built in the page cache, entering the cache and pushing its
 * least recently used root out. Returns 0 or -ENOMEM.
 */
static int load_root(struct shadow *s, gfn_t gfn, union sp_role role, bool *hit)
{
	struct sp *sp;
	unsigned i;

	*hit = false;
	for (i = 0; i < s->nroots; i++) {
		sp = s->roots[i];
		if (sp->gfn == gfn && sp->role.word == role.word) {
			memmove(&s->roots[1], &s->roots[0], i * sizeof(*s->roots));
			s->roots[0] = sp;
			*hit = true;
			sp_touch(s, sp);
			return 0;
		}
	}
	sp = sp_get(s, gfn, role);
	if (!sp)
		return -ENOMEM;
	sp->root_count++;
	if (s->nroots == s->roots_max)
		s->roots[--s->nroots]->root_count--;
	memmove(&s->roots[1], &s->roots[0], s->nroots * sizeof(*s->roots));
	s->roots[0] = sp;
	s->nroots++;
	sp_touch(s, sp);
	return 0;
}

void roots_drop(struct shadow *s, struct sp *sp)
{
	unsigned i;

	for (i = 1; i < s->nroots; i++)
		if (s->roots[i] == sp) {
			memmove(&s->roots[i], &s->roots[i + 1],
				(s->nroots - i - 1) * sizeof(*s->roots));
			s->nroots--;
			sp->root_count--;
			return;
		}
}

static gfn_t cr3_gfn(const struct mmu *m)
{
	return (m->sregs.cr3 & PTE_ADDR_MASK) >> PAGE_SHIFT;
}

int ensure_root(struct shadow *s)
{
	union sp_role role = root_role(s);
	gfn_t gfn = cr3_gfn(s->m);
	struct sp *cur = s->nroots ? s->roots[0] : NULL;
	bool hit;

	if (likely(cur && cur->gfn == gfn && cur->role.word == role.word))
		return 0;
	/* The paging mode changed under the guest (EFER.NXE, LA57): a
	 * root of another role. The PSC points into the old tree. */
	s->seq++;
	if (load_root(s, gfn, role, &hit) < 0)
		return -ENOMEM;
	s->need_flush = true;
	sync_children_of(s, s->roots[0]);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Interceptions                                                       */
/* ------------------------------------------------------------------ */

/* An intercepted instruction: a plain exit of `reason`, its handler's
 * work counted into f until the handler sets s->work back. */
static void intercepted(struct shadow *s, struct mmu_fault *f, unsigned reason,
			uint64_t qual)
{
	s->work = &f->work;
	f->exited = true;
	f->exit_reason = reason;
	f->exit_kind = MMU_EXIT_PLAIN;
	f->exit_qual = qual;
}

enum mmu_result shadow_write_cr3(struct mmu *m, struct mmu_fault *f)
{
	struct shadow *s = m->priv;
	bool hit;

	intercepted(s, f, EXIT_REASON_CR_ACCESS, 3);	/* MOV to CR3 from RAX */
	f->work.tlb_flush = 1;		/* a CR3 load flushes (PCID 0) */
	s->seq++;
	if (load_root(s, cr3_gfn(m), root_role(s), &hit) < 0) {
		f->stop = "shadow: out of VMM memory for a shadow root";
		return MMU_STOP;
	}
	if (hit)
		s->root_hits++;
	sync_children_of(s, s->roots[0]);
	flush_if_needed(s);
	s->work = &s->scratch;
	return MMU_EXIT;
}

void invalidate_addr(struct shadow *s, struct sp *root, gva_t va)
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
	unsigned i;

	intercepted(s, f, EXIT_REASON_INVLPG, f->va);
	if (!(m->sregs.cr0 & CR0_PG) || ensure_root(s) < 0)
		goto out;
	/* Every cached root, as KVM's kvm_mmu_invlpg (KVM_MMU_ROOTS_ALL). */
	for (i = 0; i < s->nroots; i++)
		invalidate_addr(s, s->roots[i], f->va);
out:
	flush_if_needed(s);
	s->work = &s->scratch;
	return MMU_EXIT;
}
