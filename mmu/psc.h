/*
 * psc.h - paging-structure caches (SDM Vol. 3 4.10.3): the PML4E, PDPTE
 * and PDE caches that let a walk start below the root. One interface
 * for every walk that has them: the native walk and shadow paging's
 * guest walk (linear addresses, tagged VPID/PCID), and EPT's walk of the
 * EPT tables (guest-physical addresses, one context).
 */
#ifndef MEMVIRT_PSC_H
#define MEMVIRT_PSC_H

#include "tc.h"
#include "walker.h"

#define PSC_LEVELS	3	/* cached levels: PDE (2), PDPTE (3), PML4E (4) */

/* Paging-structure caches over one address space (linear or guest-physical). */
struct psc {
	struct tc	c[PSC_LEVELS];		/* [0]: level-2 entries (PDE), [1]: PDPTE, [2]: PML4E */
};

/*
 * psc_lookup - longest match in the paging-structure caches for addr
 * under ctx. Returns the level the walk may start at (1..3) with the
 * table address and the rights accumulated above it, or 0 on no hit.
 */
unsigned psc_lookup(struct psc *p, uint64_t addr, uint32_t ctx,
		    uint64_t *table, unsigned *rights);

/* psc_fill - remember the non-leaf entry a walk used at `level` (2..4):
 * it points to `table` with `rights` accumulated down to it. */
void psc_fill(struct psc *p, uint64_t addr, uint32_t ctx, unsigned level,
	      uint64_t table, unsigned rights);

int psc_init(struct psc *p, const struct tc_geom g[3], uint64_t *clock);
void psc_destroy(struct psc *p);
/* psc_invalidate_addr - the entries of ctx a walk of addr would use
 * (what a #PF on addr drops, SDM 4.10.4.1); other addresses' stay. */
void psc_invalidate_addr(struct psc *p, uint64_t addr, uint32_t ctx);
void psc_flush_ctx(struct psc *p, uint32_t ctx);
void psc_flush_vpid(struct psc *p, uint16_t vpid);
void psc_flush_all(struct psc *p);

/*
 * psc_walk_start - start r (addr, fmt and mode filled in) where the
 * caches let it: sets r->start_level (0: at the root), start_table and
 * start_rights. Returns 1 on a hit (a walk shortened), else 0.
 */
unsigned psc_walk_start(struct psc *p, uint32_t ctx, struct walk_req *r);

/* psc_fill_walk - after a successful walk (either format), cache every
 * non-leaf entry it used, with the rights accumulated down to it. */
void psc_fill_walk(struct psc *p, uint32_t ctx, const struct walk_req *r);

#endif /* MEMVIRT_PSC_H */
