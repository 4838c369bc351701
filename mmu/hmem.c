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

void hmem_identity_mem(struct walk_mem *mem, struct hmem *h)
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

void hmem_host_mem(struct walk_mem *mem, struct hmem *h)
{
	mem->read = host_read;
	mem->set = host_set;
	mem->ctx = h;
}
