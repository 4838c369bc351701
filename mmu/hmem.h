/*
 * hmem.h - host physical memory: one host allocation holding guest RAM's
 * backing and the VMM's own table pages, hpa = offset into it. Every
 * reference a page walker or a VMM handler makes goes through hmem_ref
 * (the memory model), and every host pointer is bounds-checked here.
 */
#ifndef MEMVIRT_HMEM_H
#define MEMVIRT_HMEM_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "memsys.h"
#include "walker.h"

/* Who made a memory reference that goes through the memory model. */
enum hmem_ref_kind {
	HREF_WALK = 0,	/* the hardware page walker (guest, shadow or EPT tables) */
	HREF_VMM,	/* a VMM handler reading or writing tables in software */
	HREF_NR,
};

/* Host physical memory: one host allocation, hpa = offset into it. */
/* A bounded view of host memory for the walker's hooks (hmem.c). */
struct hmem_view {
	const struct hmem	*h;
	const uint64_t		*limit;	/* &h->guest_size or &h->size */
};

struct hmem {
	struct memsys	*cache;		/* the memory model, NULL when off */
	uint64_t	*ref_count;	/* [HREF_NR][MEM_DRAM + 1] references by kind
					 * and serving level, kept in the vCPU's stats */
	uint8_t		*base;		/* host pointer to hpa 0 */
	uint64_t	size;		/* bytes */
	uint64_t	guest_size;	/* bytes of guest RAM (gpa space) */
	uint64_t	vmm_next;	/* next free hpa of the VMM's region */
	uint64_t	vmm_end;
	struct hmem_view guest_view, host_view;	/* the walk_mem ctx of each view:
						 * a struct hmem must not move once used */
};

/* hmem_ptr - host pointer for [hpa, hpa+len) or NULL when outside. */
static inline void *hmem_ptr(const struct hmem *h, hpa_t hpa, uint64_t len)
{
	if (hpa >= h->size || len > h->size - hpa)
		return NULL;
	return h->base + hpa;
}

/* hmem_alloc_table - a zeroed 4K page from the VMM's region, or 0 when
 * the region is exhausted. */
hpa_t hmem_alloc_table(struct hmem *h);

/* hmem_identity_mem - walker hooks reading guest-physical memory in
 * place (hpa = gpa), bounded by h->guest_size: what the hardware walker
 * sees without a hypervisor. */
void hmem_identity_mem(struct walk_mem *mem, struct hmem *h);

/* hmem_host_mem - walker hooks reading host memory in place (pa = hpa),
 * bounded by h->size: how the hardware walks tables the VMM built. */
void hmem_host_mem(struct walk_mem *mem, struct hmem *h);

/*
 * hmem_ref - one reference to host memory at hpa by a page walker or a
 * VMM handler: through the memory model when it is on, counted by the
 * level that served it. Every walker read and A/D write calls this once
 * from its memory hook.
 */
static inline void hmem_ref(const struct hmem *h, hpa_t hpa, enum hmem_ref_kind k)
{
	if (h->cache)
		h->ref_count[(unsigned)k * (MEM_DRAM + 1) +
			     (k == HREF_WALK ? memsys_walk(h->cache, hpa)
					     : memsys_access(h->cache, hpa))]++;
}

#endif /* MEMVIRT_HMEM_H */
