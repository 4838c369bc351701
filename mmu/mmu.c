/*
 * mmu.c - state every backend shares: the paging mode derived from the
 * guest's control registers, the VMM's table-page allocator, the
 * identity view of guest-physical memory, and PSC fills after a walk.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

hpa_t hmem_alloc_table(struct hmem *h)
{
	hpa_t hpa;

	if (h->vmm_next + PAGE_SIZE > h->vmm_end)
		return 0;
	hpa = h->vmm_next;
	h->vmm_next += PAGE_SIZE;
	h->vmm_pages++;
	memset(h->base + hpa, 0, PAGE_SIZE);
	return hpa;
}

/*
 * Walker hooks over host memory read in place (pa = hpa), bounded by
 * `limit`: a read or A/D write at or past it finds no memory
 * (WALK_MEM_NONE), never a host access. Each reference goes through the
 * memory model as the hardware walker's.
 */
static int bounded_read(const struct hmem *h, uint64_t limit, uint64_t pa, uint64_t *val)
{
	if (pa >= limit || limit - pa < sizeof(*val))
		return WALK_MEM_NONE;
	hmem_ref(h, pa, HREF_WALK);
	memcpy(val, h->base + pa, sizeof(*val));
	return WALK_MEM_OK;
}

static int bounded_set(const struct hmem *h, uint64_t limit, uint64_t pa, uint64_t bits)
{
	uint64_t v;

	if (pa >= limit || limit - pa < sizeof(v))
		return WALK_MEM_NONE;
	hmem_ref(h, pa, HREF_WALK);
	memcpy(&v, h->base + pa, sizeof(v));
	v |= bits;
	memcpy(h->base + pa, &v, sizeof(v));
	return WALK_MEM_OK;
}

/* Guest-physical memory with gpa = hpa: bounded by guest RAM. */
static int identity_read(void *ctx, uint64_t pa, unsigned level, uint64_t *val)
{
	const struct hmem *h = ctx;

	(void)level;
	return bounded_read(h, h->guest_size, pa, val);
}

static int identity_set(void *ctx, uint64_t pa, unsigned level, uint64_t bits)
{
	const struct hmem *h = ctx;

	(void)level;
	return bounded_set(h, h->guest_size, pa, bits);
}

void mmu_identity_mem(struct walk_mem *mem, struct hmem *h)
{
	mem->read = identity_read;
	mem->set = identity_set;
	mem->ctx = h;
}

/* Host memory, for tables the VMM builds (shadow, EPT): bounded by it. */
static int host_read(void *ctx, uint64_t pa, unsigned level, uint64_t *val)
{
	const struct hmem *h = ctx;

	(void)level;
	return bounded_read(h, h->size, pa, val);
}

static int host_set(void *ctx, uint64_t pa, unsigned level, uint64_t bits)
{
	const struct hmem *h = ctx;

	(void)level;
	return bounded_set(h, h->size, pa, bits);
}

void mmu_host_mem(struct walk_mem *mem, struct hmem *h)
{
	mem->read = host_read;
	mem->set = host_set;
	mem->ctx = h;
}

void mmu_walk_from_psc(struct psc *p, uint32_t ctx, struct walk_req *r,
		       struct mmu_work *w)
{
	uint64_t table;
	unsigned rights;

	r->start_level = psc_lookup(p, r->addr, ctx, &table, &rights);
	if (r->start_level) {
		r->start_table = table;
		r->start_rights = rights;
		w->psc_hits++;
	}
}

/* Rights one entry grants (x86: NX counts only when it is defined). */
static unsigned entry_rights(enum walk_fmt fmt, uint64_t e, bool nxe)
{
	unsigned r = RIGHT_R;

	if (fmt == WALK_FMT_EPT)
		return (unsigned)(e & (EPTE_R | EPTE_W | EPTE_X));

	if (e & PTE_W)
		r |= RIGHT_W;
	if (e & PTE_U)
		r |= RIGHT_U;
	if (!(nxe && (e & PTE_NX)))
		r |= RIGHT_X;
	return r;
}

void mmu_psc_fill_walk(struct psc *p, uint32_t ctx, const struct walk_req *r)
{
	unsigned rights = r->start_level ? r->start_rights : RIGHTS_ALL;
	unsigned top = r->start_level ? r->start_level : r->mode->levels;
	unsigned l;

	/* Every non-leaf entry the walk read, from the top down. Levels 2..4
	 * have a cache; a 5-level walk's PML5E is not cached. */
	for (l = top; l > r->level; l--) {
		rights &= entry_rights(r->fmt, r->entry[l], r->mode->efer_nxe);
		if (l <= 4)
			psc_fill(p, r->addr, ctx, l, r->entry[l] & PTE_ADDR_MASK, rights);
	}
}

int p2m_init(struct p2m *p, const struct hmem *h, unsigned level, uint64_t end)
{
	memset(p, 0, sizeof(*p));
	p->level = level;
	p->nregions = (h->guest_size + LEVEL_SIZE(level) - 1) >> LEVEL_SHIFT(level);
	p->map = calloc(p->nregions, sizeof(*p->map));
	p->end = end;
	return p->map ? 0 : -ENOMEM;
}

void p2m_destroy(struct p2m *p)
{
	free(p->map);
	p->map = NULL;
}

hpa_t p2m_back(struct p2m *p, const struct hmem *h, gpa_t gpa)
{
	uint64_t r = gpa >> LEVEL_SHIFT(p->level);
	uint64_t size = LEVEL_SIZE(p->level);
	hpa_t hpa;

	BUG_ON(r >= p->nregions, "backing a gpa outside guest RAM");
	if (p->map[r])
		return p->map[r] - 1 + (gpa & (size - 1));
	BUG_ON(p->next + size > p->end, "backing region smaller than guest RAM");
	hpa = p->next;
	p->next += size;
	p->map[r] = hpa + 1;
	p->backed++;
	/* Fresh host memory reads as zeros, as the guest's RAM did at reset. */
	memset(h->base + hpa, 0, size);
	return hpa + (gpa & (size - 1));
}
