/*
 * roots.c - the CR3 root cache (KVM's prev_roots, with the current root
 * at roots[0]) and the intercepted CR3 write that loads a root from it.
 * A cached root keeps its shadow tree: a hit costs no rebuild, only the
 * sync of what went unsync under it.
 */
#include <asm/vmx.h>
#include <errno.h>
#include <string.h>

#include "shadow_int.h"

union sp_role shadow_root_role(const struct shadow *s)
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

void shadow_roots_drop(struct shadow *s, struct sp *sp)
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

int shadow_ensure_root(struct shadow *s)
{
	union sp_role role = shadow_root_role(s);
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
	sp_sync_children(s, s->roots[0]);
	return 0;
}

/* An intercepted instruction: a plain exit of `reason`, its handler's
 * work counted into f (shadow_handler_end closes it). */
void shadow_intercepted(struct shadow *s, struct mmu_fault *f, unsigned reason,
			uint64_t qual)
{
	shadow_handler_begin(s, &f->work);
	f->exited = true;
	f->exit_reason = reason;
	f->exit_kind = MMU_EXIT_PLAIN;
	f->exit_qual = qual;
}

enum mmu_result shadow_write_cr3(struct mmu *m, struct mmu_fault *f)
{
	struct shadow *s = m->priv;
	bool hit;

	shadow_intercepted(s, f, EXIT_REASON_CR_ACCESS, 3);	/* MOV to CR3 from RAX */
	f->work.tlb_flush = 1;		/* a CR3 load flushes (PCID 0) */
	s->seq++;
	if (load_root(s, cr3_gfn(m), shadow_root_role(s), &hit) < 0) {
		f->stop = "shadow: out of VMM memory for a shadow root";
		return MMU_STOP;
	}
	if (hit)
		s->root_hits++;
	sp_sync_children(s, s->roots[0]);
	shadow_flush_if_needed(s);
	shadow_handler_end(s);
	return MMU_EXIT;
}

/*
 * A CR4 write that flushes the TLB (a CR4.PGE toggle: how a guest
 * without PCID flushes its global entries) makes the guest expect every
 * translation read again from its tables, unsync ones included: every
 * unsync sp under every cached root is synced. Without EPT, KVM owns
 * these CR4 bits (X86_CR4_TLBFLUSH_BITS, X86_CR4_PDPTR_BITS leave the
 * guest-owned mask, vmx.c set_cr4_guest_host_mask), so the write exits,
 * and the guest TLB flush it requests syncs the current and previous
 * roots (kvm_mmu_sync_roots, kvm_mmu_sync_prev_roots).
 *
 * Only roots of the current paging mode (role) are synced, here and at
 * INVLPG: an sp's gptes mean what its role says (EFER.NXE decides
 * whether bit 63 is NX or reserved), and syncing it under another mode
 * would grant what its guest entries refuse. A root of another mode
 * has every unsync sp under it synced when it is loaded again
 * (load_root's callers); KVM has no such roots: a change of EFER.NXE
 * resets the MMU context, which frees them.
 */
enum mmu_result shadow_write_cr4(struct mmu *m, struct mmu_fault *f)
{
	struct shadow *s = m->priv;
	union sp_role role = shadow_root_role(s);
	unsigned i;

	shadow_intercepted(s, f, EXIT_REASON_CR_ACCESS, 4);	/* MOV to CR4 from RAX */
	for (i = 0; i < s->nroots; i++)
		if (s->roots[i]->role.word == role.word)
			sp_sync_children(s, s->roots[i]);
	shadow_flush_if_needed(s);
	shadow_handler_end(s);
	return MMU_EXIT;
}
