/*
 * sample.h - the sampled mode (--sample): functional fast-forward between
 * periodic detailed windows, SMARTS-style (Wunderlich et al., ISCA 2003).
 * docs/sampling.md derives the estimator and the warm-up.
 *
 * The unit of sampling is the guest data access (vcpu_stats.accesses).
 * A run is laid out as
 *
 *	[ head: W + M accesses, detailed and measured ]
 *	then, period after period of P accesses:
 *	[ fast-forward P - W - M ][ warm-up W, detailed ][ window M, detailed, measured ]
 *
 * The head is measured whole because both modes start cold: it needs no
 * warm-up, and it is its own stratum (the boot and the workload's set-up
 * are not like the rest). The periods form the second stratum, estimated
 * by a ratio estimator over their windows.
 *
 * Fast-forward is functional: an access looks its guest-virtual page up
 * in a direct-mapped table of host pointers (struct ff_entry) and moves
 * the data, so data and checksums are exact. The table is filled from
 * the TLB after an access took the whole path (TLB, backend, walk, fault,
 * exit, as in the exact mode), and every invalidation of the TLB
 * (tlb.inval_gen) empties it, so a fast-forwarded access can only use a
 * translation the modeled TLB could have held. Everything the mechanism
 * does happens in fast-forward too and is counted in full: faults, exits,
 * page-table writes, shadow page events, syscalls, instructions. What the
 * fast-forward does not model (the caches, the TLB's contents, the core's
 * overlap) is estimated from the windows, with a 95% interval.
 */
#ifndef MEMVIRT_SAMPLE_H
#define MEMVIRT_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vcpu;
struct vcpu_stats;
struct profile;

#define FF_BITS		16	/* 2^16 pages of fast-forward translations */
#define FF_SIZE		(1u << FF_BITS)

/* One fast-forward translation: guest-virtual page vpn -> host pointer,
 * for the access indices whose bits are set in allow (ACC_IDX). Valid
 * while gen equals the TLB's inval_gen. */
struct ff_entry {
	uint64_t	vpn;
	uint8_t		*host;
	uint64_t	gen;
	uint64_t	allow;
};

/* --sample=on: a window of SAMPLE_WINDOW accesses, and a period
 * SAMPLE_RATIO times the window plus its warm-up: about 2% of the run
 * detailed (docs/sampling.md says why). */
#define SAMPLE_WINDOW	100000u
#define SAMPLE_RATIO	50u

/* --sample: period, window and warm-up in accesses. */
struct sample_cfg {
	bool		on;		/* false: the exact mode */
	uint64_t	period;		/* 0: SAMPLE_RATIO x (window + warmup) */
	uint64_t	window;
	uint64_t	warmup;		/* 0 before sample_resolve: the profile's */
	bool		warmup_given;	/* PERIOD:WINDOW:WARMUP named it (0 allowed) */
	bool		warm_caches;	/* --sample-warming=caches: fast-forward
					 * keeps the cache model warm */
};

/*
 * sample_parse - --sample's value into *c: "off" (exact), "on" (the
 * defaults), or "PERIOD:WINDOW[:WARMUP]" in accesses (decimal, k/m/g
 * suffixes), the warm-up defaulting to the profile's (sample_warmup).
 * In cli_parse.c, with the other argument parsers. 0, or -1 with one
 * line in err.
 */
int sample_parse(const char *s, struct sample_cfg *c, char *err, size_t errlen);

/*
 * sample_warming_parse - --sample-warming's value: "none" (the default:
 * fast-forward touches no model state; the detailed warm-up refills it)
 * or "caches" (SMARTS's functional warming, of the cache model: every
 * fast-forwarded access is also looked up and filled in the caches, as
 * in the exact run; TLBs, PSCs and the core are left to the warm-up).
 * Sets *warm_caches. 0, or -1 with one line in err.
 */
int sample_warming_parse(const char *s, bool *warm_caches, char *err, size_t errlen);

/* sample_warmup - the default warm-up for a profile: twice the lines of
 * every cache level plus twice the entries of every TLB array (see
 * docs/sampling.md). */
uint64_t sample_warmup(const struct profile *p);

/* sample_resolve - c with its warm-up for profile p (unless given) and
 * its period (unless given), the period checked against the window and
 * warm-up. 0, or -1 with one
 * line in err. */
int sample_resolve(struct sample_cfg *c, const struct profile *p, char *err, size_t errlen);

/* The estimated quantities: every count the fast-forward does not keep
 * (sample.c, quantity table), plus sums the CSV's intervals need. */
enum sample_q {
	SQ_WALK_REFS,		/* walk_reads + walk_ad_writes (derived: its
				 * interval only, never stored back) */
	SQ_L1_HITS, SQ_L2_HITS, SQ_DTLB_MISSES, SQ_WALKS, SQ_WALK_READS, SQ_WALK_AD,
	SQ_PSC_HITS, SQ_NTLB_HITS, SQ_ITLB_L2_HITS, SQ_ITLB_MISSES,
	SQ_LOADS_L1, SQ_LOADS_L2, SQ_LOADS_LLC, SQ_LOADS_DRAM,
	SQ_WREFS_L1, SQ_WREFS_L2, SQ_WREFS_LLC, SQ_WREFS_DRAM,
	SQ_VREFS_L1, SQ_VREFS_L2, SQ_VREFS_LLC, SQ_VREFS_DRAM,
	SQ_CYC_DATA_L1, SQ_CYC_DATA_L2, SQ_CYC_DATA_LLC, SQ_CYC_DATA_DRAM,
	SQ_CYC_STORE, SQ_CYC_TLB, SQ_CYC_WALK,
	/* derived: not stored back, only their intervals are reported */
	SQ_CYC_DATA,		/* the data stall categories, store included */
	SQ_CYC_EST,		/* every estimated cycle category */
	SQ_NR
};
#define SQ_FIRST_CYCLES	SQ_CYC_DATA_L1	/* from here on, quantities in core ticks */

/* What a sampled run reports beside its estimates. */
struct sample_result {
	bool		sampled;		/* false: the exact mode made the row */
	bool		warm_caches;		/* fast-forward warmed the caches */
	uint64_t	windows;		/* units measured (SAMPLE_UNITS a window) */
	uint64_t	strata;			/* phases: the start and each sample_phase */
	uint64_t	measured;		/* accesses run detailed (the rest were
						 * fast-forwarded) */
	double		ci95[SQ_NR];		/* half-width of each total's 95% interval,
						 * in the quantity's unit (cycles for
						 * SQ_CYC_*); NaN when fewer than two
						 * windows were measured */
};

struct sampler;

/* sample_start - put cpu in sampled mode under c (resolved, c->on): the
 * head begins at once. 0, or -1 (out of host memory). */
int sample_start(struct vcpu *cpu, const struct sample_cfg *c);

/* sample_step - cpu->st.accesses reached cpu->sample_at: next phase. */
void sample_step(struct vcpu *cpu);

/* sample_finish - after vcpu_finish: close the open window, and replace
 * every estimated count of cpu->st by its estimate; fills *out and frees
 * the sampler. For an exact run (no sampler) only clears *out. */
void sample_finish(struct vcpu *cpu, struct sample_result *out);

/* sample_phase - the guest begins a new phase (g_phase): the open
 * stratum ends, and a new one begins with a window. Harmless in the
 * exact mode. */
void sample_phase(struct vcpu *cpu);

/* sample_cpl - the vCPU's privilege level becomes cpl (sampled mode
 * only): the guest kernel runs detailed, never fast-forwarded. */
void sample_cpl(struct vcpu *cpu, uint8_t cpl);

/* sample_stop - leave the sampled mode without estimating (the run
 * stopped); frees the sampler. Harmless in the exact mode. */
void sample_stop(struct vcpu *cpu);

/*
 * sample_whole_begin / sample_whole_end - around an access that takes the
 * whole path during a fast-forward (a page the fast-forward table does
 * not hold, or a write its entry does not allow). Such an access belongs
 * to the fast-forward's population: what it moved of the estimated
 * quantities is taken out of the as-run totals, like a warm-up's, and
 * the access joins those the windows stand for. Counting it as it ran
 * instead biased the estimate, because it is no random member of the
 * population: on memsweep 4K only stores take it (the first touch of
 * each page), and the loads left behind miss far less than the windows'
 * average (+4,096 dTLB misses in 67M; docs/sampling.md). When the access
 * leaves the fast-forward (a #PF or an exit runs the guest kernel
 * detailed) it is counted as it ran, kernel work and all.
 */
void sample_whole_begin(struct vcpu *cpu);
void sample_whole_end(struct vcpu *cpu);

/* sample_fill - after an access took the whole path in fast-forward:
 * remember va's translation from the L1 TLB entry that now holds it
 * (idx its access index), if one does. */
void sample_fill(struct vcpu *cpu, uint64_t va, unsigned idx);

#endif /* MEMVIRT_SAMPLE_H */
