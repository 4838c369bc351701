/*
 * coh.h - the coherence checker: a small guest OS driving random
 * page-table changes through the vCPU on a native VM and a shadow VM
 * (and optionally an ept VM) in lockstep, checking after every step that
 * each translates what the guest's tables say and that all leave the
 * same guest memory. The shadow tests run it from a seed; the pt fuzz
 * harness (fuzz/fuzz_pt.c) from the fuzzer's bytes, with hostile tables.
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
	bool		stale_trace;	/* the shadow VM is a deliberately broken VMM: a
					 * trace fault completes the guest's write and
					 * keeps the sptes built from the old gpte */
	unsigned	audit_every;	/* run shadow_audit every n steps (0: never) */
	bool		prefetch;	/* shadow_prefetch */
	/* a third VM on the ept backend, with these EPT_CACHE_* off */
	bool		ept;
	unsigned	ept_caches_off;
	/*
	 * Decisions from these bytes instead of the seed (each rn(n) takes
	 * one byte, two when n > 256; a 64-bit value takes eight): the run
	 * ends when they run out or after `steps` steps. NULL: the seed.
	 */
	const uint8_t	*input;
	size_t		input_len;
	unsigned	init_gptes;	/* random gptes before paging (0: 80) */
	/*
	 * A hostile guest: gptes with reserved bits and PS at every level,
	 * pointing anywhere (any pool table whatever its level: recursive
	 * slots; data frames; the kernel's tables; the last pages of RAM;
	 * beyond RAM, where the VMMs keep their tables; up to MAXPHYADDR),
	 * 1G leaves straddling the end of RAM; stores to any frame (the
	 * guest invalidates every sample gva whose walk read the entry);
	 * CR0.WP, CR4.SMEP/SMAP, EFER.NXE, RFLAGS.AC toggled; each access
	 * checked on every VM right after it.
	 */
	bool		wild;
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
	uint64_t	ept_exits;	/* the ept VM's exits (cfg.ept) */
	uint64_t	faults;		/* guest #PFs of the native VM's accesses */
	uint64_t	unsyncs;	/* shadow pages gone unsync */
};

struct mmu;
struct mmu_fault;

/* coh_fill - one TLB miss for (va, acc) handed to m's backend, the exits
 * it returns handled until it settles (at most 16). Returns the final
 * enum mmu_result; *f holds the translation or the fault. */
int coh_fill(struct mmu *m, uint64_t va, unsigned acc, struct mmu_fault *f);

/* coh_run - run the checker; 0, or -1 when the VMs cannot be made
 * (message in r->first). A mismatch is counted in r->mismatches and the
 * first described in r->first ("step N: ..."); the run stops there. */
int coh_run(const struct coh_cfg *c, struct coh_result *r);

#endif
