/*
 * native.c - no hypervisor: the hardware walks the guest's own tables and
 * guest-physical is host-physical. The baseline every other backend is
 * measured against.
 */
#include <stdlib.h>

#include "mmu.h"

struct native {
	struct walk_mem	mem;	/* guest RAM read in place */
};

static int native_init(struct mmu *m)
{
	struct native *n = calloc(1, sizeof(*n));

	if (!n)
		return -12; /* -ENOMEM */
	hmem_identity_mem(&n->mem, &m->hmem);
	m->priv = n;
	return 0;
}

static void native_destroy(struct mmu *m)
{
	free(m->priv);
	m->priv = NULL;
}

/*
 * A TLB miss: the page walk the processor does, starting where the
 * paging-structure caches let it. A failed walk is the guest's own #PF.
 */
static enum mmu_result native_fill(struct mmu *m, struct mmu_fault *f)
{
	struct native *n = m->priv;
	struct walk_req r;
	enum walk_result res;

	walk_req_init(&r, WALK_FMT_X86_64, f->va, m->sregs.cr3, f->access,
		      &m->mode, &n->mem);
	f->work.psc_hits += psc_walk_start(&m->tlb.psc, m->tlb.ctx, &r);
	res = walk_run(&r);
	f->work.walk_reads += r.reads;
	f->work.walk_ad_writes += r.ad_writes;
	if (res == WALK_FAULT) {
		f->error_code = r.error_code;
		return MMU_FAULT;
	}
	BUG_ON(res != WALK_OK, "identity memory cannot abort a walk");
	psc_fill_walk(&m->tlb.psc, m->tlb.ctx, &r);
	f->hpa = r.pa & ~(LEVEL_SIZE(r.level) - 1);
	f->level = r.level;
	f->rights = r.rights;
	f->global = (r.leaf & PTE_G) && (m->sregs.cr4 & CR4_PGE);
	f->dirty = (r.leaf & PTE_D) != 0;
	/* Beyond guest RAM no memory answers (reads all ones, writes are
	 * dropped); a large page partly beyond it is RAM where RAM is, and
	 * only its 4K pieces in RAM are cached. */
	f->unbacked = r.pa >= m->hmem.guest_size;
	if (!f->unbacked && f->hpa + LEVEL_SIZE(r.level) > m->hmem.guest_size) {
		f->hpa = r.pa & PAGE_MASK;
		f->level = LEVEL_4K;
	}
	return MMU_OK;
}

/* Paging off: the address is physical and physical is host-physical. */
static enum mmu_result native_phys(struct mmu *m, struct mmu_fault *f)
{
	f->hpa = f->va & PAGE_MASK;
	f->level = LEVEL_4K;
	f->rights = RIGHTS_ALL;
	f->unbacked = f->va >= m->hmem.guest_size;
	return MMU_OK;
}

const struct mmu_ops native_mmu_ops = {
	.name = "native",
	.desc = "no hypervisor: the hardware walks the guest's tables, gpa = hpa",
	.init = native_init,
	.destroy = native_destroy,
	.fill = native_fill,
	.write_cr3 = NULL,
	.write_cr4 = NULL,
	.invlpg = NULL,
	.phys = native_phys,
};
