/*
 * coh.h - the shadow coherence checker: a small guest OS driving random
 * page-table changes through the vCPU on a native VM and a shadow VM in
 * lockstep, checking after every step that the shadow translates what
 * the guest's tables say and that both leave the same guest memory.
 */
#ifndef MEMVIRT_TESTS_COH_H
#define MEMVIRT_TESTS_COH_H

#include <stdbool.h>
#include <stdint.h>

struct coh_cfg {
	uint64_t	seed;
	unsigned	steps;
	unsigned	host_level;	/* LEVEL_4K / LEVEL_2M: the shadow VM's backing */
	bool		unsync;		/* shadow_unsync */
	uint64_t	pages_max;	/* shadow_pages_max (0: none) */
	unsigned	roots;		/* shadow_roots (0: default) */
	uint64_t	debug;		/* SHADOW_DEBUG_* */
	unsigned	audit_every;	/* run shadow_audit every n steps (0: never) */
};

struct coh_result {
	unsigned	steps;		/* steps run */
	unsigned	mismatches;	/* checks that failed (the run stops at the first) */
	unsigned	first_step;	/* step of the first mismatch */
	char		first[512];	/* what it was */
	uint64_t	checks;		/* translations compared */
	/* the shadow VM's counters, to show the mechanisms ran */
	uint64_t	trace_faults, hidden_faults, true_faults, exits;
	uint64_t	invlpgs, cr3_writes, root_hits, shadow_pages_peak;
};

struct mmu;
struct mmu_fault;

/* coh_fill - one TLB miss for (va, acc) handed to m's backend, the exits
 * it returns handled until it settles (at most 16). Returns the final
 * enum mmu_result; *f holds the translation or the fault. */
int coh_fill(struct mmu *m, uint64_t va, unsigned acc, struct mmu_fault *f);

/* coh_run - run the checker; 0, or -1 when the VMs cannot be made
 * (message in r->first). */
int coh_run(const struct coh_cfg *c, struct coh_result *r);

#endif
