/*
 * ept_priv.h - the ept backend's private state, shared by the processor
 * side (walk2d.c: the 2D walk and its caches) and the VMM side (ept.c:
 * EPT building, lazy backing, exit handling). Never included from
 * outside ept/.
 */
#ifndef MEMVIRT_EPT_PRIV_H
#define MEMVIRT_EPT_PRIV_H

#include <stdbool.h>

#include "ept.h"

/* The one EPTP of a VM: the tag of its NTLB and EPT PSC entries. */
#define EPT_CTX			0u

/* What a walk hook returns when an EPT exit stopped a guest walk; the
 * exit itself is in the mmu_fault of the walk in progress. */
#define EPT_ABORT_EXIT		(-1)

/*
 * The translation of one guest table page during one 2D walk, by the
 * level of the guest table: the A/D write the walker makes at the end
 * reuses what the read of that entry translated (one locked
 * read-modify-write on hardware), unless it needs a right the read
 * did not need.
 */
struct ept_memo {
	gpa_t		page;		/* gpa & PAGE_MASK; valid iff hpa != 0 */
	hpa_t		hpa;		/* host page */
	uint8_t		rights;		/* RIGHT_R/W/X the EPT grants */
	bool		dirty;		/* EPT D was set by (or before) the walk */
	bool		valid;
};

struct ept {
	/* the VMM's side */
	hpa_t		root;		/* PML4 table of the EPT */
	struct p2m	p2m;		/* which host page backs each gpa region */
	uint64_t	pages;		/* EPT table pages allocated, root included */
	char		stop[224];	/* MMU_STOP message (f->stop points here) */

	/* the processor's side */
	struct walk_mode emode;		/* EPT walks: 4 levels, host MAXPHYADDR, A/D */
	struct walk_mem	host;		/* EPT entries read in host memory */
	struct walk_mem	guest;		/* guest entries read through the EPT */
	struct tc	ntlb;		/* gpa page -> host page (val), EPT rights */
	struct psc	psc;		/* EPT PSCs: gpa -> next EPT table hpa */
	uint64_t	clock;		/* LRU clock of ntlb and psc */

	/* the walk in progress (the guest hooks' context) */
	struct mmu	*m;
	struct mmu_fault *f;
	unsigned	off;		/* EPT_CACHE_* turned off for this walk */
	struct ept_memo	memo[WALK_MAX_LEVELS + 1];
};

/* walk2d.c: bind the walker hooks of e (at init). */
void ept_hooks_init(struct ept *e, struct mmu *m);

/*
 * ept_phys_translate - a guest-physical access with paging off: gpa
 * (inside guest RAM) through the NTLB, else the EPT. MMU_OK with the
 * host page in *page and the EPT rights in *rights, or MMU_EXIT with
 * the exit in f.
 */
enum mmu_result ept_phys_translate(struct mmu *m, struct mmu_fault *f, gpa_t gpa,
				   hpa_t *page, unsigned *rights);

#endif /* MEMVIRT_EPT_PRIV_H */
