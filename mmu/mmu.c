/*
 * mmu.c - state every backend shares: the paging mode derived from the
 * guest's control registers.
 */
#include "mmu.h"

void mmu_derive_mode(struct mmu *m)
{
	const struct mmu_sregs *s = &m->sregs;
	struct walk_mode *w = &m->mode;

	w->levels = (s->cr4 & CR4_LA57) ? 5 : 4;
	w->cr0_wp = (s->cr0 & CR0_WP) != 0;
	w->efer_nxe = (s->efer & EFER_NXE) != 0;
	w->cr4_smep = (s->cr4 & CR4_SMEP) != 0;
	w->cr4_smap = (s->cr4 & CR4_SMAP) != 0;
	w->rflags_ac = (s->rflags & RFLAGS_AC) != 0;
	tlb_set_mode(&m->tlb, w->cr0_wp, w->cr4_smep, w->cr4_smap, w->rflags_ac);
}
