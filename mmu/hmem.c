/*
 * hmem.c - host physical memory: the VMM's table-page allocator and the
 * walker's bounded views of memory (guest-physical in place, host).
 */
#include <string.h>

#include "hmem.h"

hpa_t hmem_alloc_table(struct hmem *h)
{
	hpa_t hpa;

	if (h->vmm_next + PAGE_SIZE > h->vmm_end)
		return 0;
	hpa = h->vmm_next;
	h->vmm_next += PAGE_SIZE;
	memset(h->base + hpa, 0, PAGE_SIZE);
	return hpa;
}

/*
 * Walker hooks over host memory read in place (pa = hpa), bounded by the
 * view's limit: a read or A/D write at or past it finds no memory
 * (WALK_MEM_NONE), never a host access. Each reference goes through the
 * memory model as the hardware walker's. Two views: guest-physical
 * memory with gpa = hpa, bounded by guest RAM, and host memory, for the
 * tables the VMM builds (shadow, EPT), bounded by all of it.
 */
static int view_read(void *ctx, uint64_t pa, unsigned level, uint64_t *val)
{
	const struct hmem_view *v = ctx;
	const struct hmem *h = v->h;
	uint64_t limit = *v->limit;

	(void)level;
	if (pa >= limit || limit - pa < sizeof(*val))
		return WALK_MEM_NONE;
	hmem_ref(h, pa, HREF_WALK);
	memcpy(val, h->base + pa, sizeof(*val));
	return WALK_MEM_OK;
}

static int view_set(void *ctx, uint64_t pa, unsigned level, uint64_t bits)
{
	const struct hmem_view *v = ctx;
	const struct hmem *h = v->h;
	uint64_t limit = *v->limit, e;

	(void)level;
	if (pa >= limit || limit - pa < sizeof(e))
		return WALK_MEM_NONE;
	hmem_ref(h, pa, HREF_WALK);
	memcpy(&e, h->base + pa, sizeof(e));
	e |= bits;
	memcpy(h->base + pa, &e, sizeof(e));
	return WALK_MEM_OK;
}

static void view_mem(struct walk_mem *mem, struct hmem_view *v, struct hmem *h,
		     const uint64_t *limit)
{
	v->h = h;
	v->limit = limit;
	mem->read = view_read;
	mem->set = view_set;
	mem->ctx = v;
}

void hmem_identity_mem(struct walk_mem *mem, struct hmem *h)
{
	view_mem(mem, &h->guest_view, h, &h->guest_size);
}

void hmem_host_mem(struct walk_mem *mem, struct hmem *h)
{
	view_mem(mem, &h->host_view, h, &h->size);
}
