/*
 * test_coherence.c - the property that matters most: after every step of
 * a random sequence of guest page-table writes (through the vCPU, traced
 * or unsync), CR3 switches and the INVLPGs the architecture requires,
 * every translation through the shadow equals the guest walk composed
 * with the p2m, and guest memory (A/D bits included) equals a native
 * run's. And the checker catches a backend that leaves a stale spte.
 */
#include <criterion/criterion.h>

#include "base.h"
#include "coh.h"
#include "ept.h"
#include "shadow.h"

#define STEPS	10000u
#define SEEDS	6u

/*
 * Run every seed of cfg and return how many ran clean: no mismatch, every
 * step taken, and the mechanisms under test took place. A wild run (the
 * three-MMU hostile guest) must also have made the ept VM exit, the guest
 * fault and, with unsync on, a shadow page go unsync; a plain one must
 * have invalidated and hit the root cache.
 */
static unsigned run_clean(const char *what, struct coh_cfg cfg)
{
	uint64_t seed;

	for (seed = 1; seed <= SEEDS; seed++) {
		struct coh_result r;

		cfg.seed = seed;
		cr_assert_eq(coh_run(&cfg, &r), 0, "%s: cannot run: %s", what, r.first);
		cr_assert_eq(r.mismatches, 0, "%s seed %llu: %s", what,
			     (unsigned long long)seed, r.first);
		cr_assert_eq(r.steps, cfg.steps);
		cr_assert_gt(r.hidden_faults, 0, "%s: no hidden faults", what);
		cr_assert_gt(r.true_faults, 0, "%s: no true faults", what);
		cr_assert_gt(r.trace_faults, 0, "%s: no trace faults", what);
		if (cfg.wild) {
			cr_assert_gt(r.ept_exits, 0, "%s: the ept VM never exited", what);
			cr_assert_gt(r.faults, 0, "%s: no guest #PF", what);
			if (cfg.unsync)
				cr_assert_gt(r.unsyncs, 0, "%s: no shadow page went unsync", what);
			cr_log_info("%s seed %llu: %llu checks, %llu guest #PFs, shadow exits %llu "
				    "(%llu unsync), ept exits %llu", what, (unsigned long long)seed,
				    (unsigned long long)r.checks, (unsigned long long)r.faults,
				    (unsigned long long)r.exits, (unsigned long long)r.unsyncs,
				    (unsigned long long)r.ept_exits);
			continue;
		}
		cr_assert_gt(r.invlpgs, 0);
		cr_assert_gt(r.root_hits, 0, "%s: no root cache hits", what);
		cr_log_info("%s seed %llu: %llu checks, %llu exits (hidden %llu, true %llu, "
			    "trace %llu), %llu root hits, %llu shadow pages peak", what,
			    (unsigned long long)seed, (unsigned long long)r.checks,
			    (unsigned long long)r.exits, (unsigned long long)r.hidden_faults,
			    (unsigned long long)r.true_faults,
			    (unsigned long long)r.trace_faults, (unsigned long long)r.root_hits,
			    (unsigned long long)r.shadow_pages_peak);
	}
	return (unsigned)(seed - 1);
}

Test(shadow, coherence_4k_host, .timeout = 600)
{
	cr_assert_eq(run_clean("4k host, sync", (struct coh_cfg){ .steps = STEPS, .host_level = LEVEL_4K,
						     .audit_every = 25 }), SEEDS);
}

Test(shadow, coherence_4k_host_unsync, .timeout = 600)
{
	cr_assert_eq(run_clean("4k host, unsync", (struct coh_cfg){ .steps = STEPS, .host_level = LEVEL_4K,
						       .unsync = true, .audit_every = 25 }), SEEDS);
}

Test(shadow, coherence_2m_host, .timeout = 600)
{
	cr_assert_eq(run_clean("2m host, sync", (struct coh_cfg){ .steps = STEPS, .host_level = LEVEL_2M,
						     .audit_every = 25 }), SEEDS);
}

Test(shadow, coherence_2m_host_unsync, .timeout = 600)
{
	cr_assert_eq(run_clean("2m host, unsync", (struct coh_cfg){ .steps = STEPS, .host_level = LEVEL_2M,
						       .unsync = true, .audit_every = 25 }), SEEDS);
}

/* Under memory pressure: LRU zapping, a one-entry root cache. */
Test(shadow, coherence_lru_limit, .timeout = 600)
{
	struct coh_cfg cfg = { .steps = STEPS, .host_level = LEVEL_2M, .unsync = true,
			       .pages_max = 10, .roots = 1, .audit_every = 25 };
	uint64_t seed;

	for (seed = 1; seed <= SEEDS; seed++) {
		struct coh_result r;

		cfg.seed = seed;
		cr_assert_eq(coh_run(&cfg, &r), 0, "cannot run: %s", r.first);
		cr_assert_eq(r.mismatches, 0, "seed %llu: %s", (unsigned long long)seed, r.first);
		cr_assert_leq(r.shadow_pages_peak, 10 + 4, "peak %llu over the limit",
			      (unsigned long long)r.shadow_pages_peak);
	}
}

/*
 * The worst bug: a trace fault that emulates the guest's gpte write but
 * leaves the sptes built from the old gpte. The checker must see it:
 * every seed's run reports a stale translation.
 */
Test(shadow, stale_spte_is_caught, .timeout = 600)
{
	struct coh_cfg cfg = { .steps = STEPS, .host_level = LEVEL_4K,
			       .stale_trace = true };
	uint64_t seed;

	for (seed = 1; seed <= SEEDS; seed++) {
		struct coh_result r;

		cfg.seed = seed;
		cr_assert_eq(coh_run(&cfg, &r), 0, "cannot run: %s", r.first);
		cr_assert_gt(r.mismatches, 0, "seed %llu: a backend keeping stale sptes "
			     "passed %u steps", (unsigned long long)seed, r.steps);
		cr_log_info("seed %llu: caught at %s", (unsigned long long)seed, r.first);
	}
}

/*
 * The hostile guest of the pt fuzz harness (coh.h, cfg.wild) from a
 * seed, on native, shadow and ept in lockstep: reserved bits and PS at
 * every level, recursive and out-of-RAM entries, stores anywhere, mode
 * bits toggled. Every VM agrees with the guest's tables after every step,
 * and the mechanisms took place on all three.
 */
#define WILD_STEPS	2000u

Test(shadow, coherence_wild_three_mmus, .timeout = 600)
{
	cr_assert_eq(run_clean("wild, 4k host, sync", (struct coh_cfg){ .steps = WILD_STEPS,
		     .host_level = LEVEL_4K, .ept = true, .wild = true, .audit_every = 25 }),
		     SEEDS);
	cr_assert_eq(run_clean("wild, 2m host, unsync, prefetch, ept caches off",
		     (struct coh_cfg){ .steps = WILD_STEPS, .host_level = LEVEL_2M,
		     .unsync = true, .prefetch = true, .ept = true,
		     .ept_caches_off = EPT_CACHE_ALL, .wild = true, .audit_every = 25 }),
		     SEEDS);
}

/* The hostile guest's checks catch the stale-spte backend too. */
Test(shadow, wild_stale_spte_is_caught, .timeout = 600)
{
	struct coh_cfg cfg = { .steps = WILD_STEPS, .host_level = LEVEL_4K, .ept = true,
			       .wild = true, .stale_trace = true };
	uint64_t seed;

	for (seed = 1; seed <= SEEDS; seed++) {
		struct coh_result r;

		cfg.seed = seed;
		cr_assert_eq(coh_run(&cfg, &r), 0, "cannot run: %s", r.first);
		cr_assert_gt(r.mismatches, 0, "seed %llu: a backend keeping stale sptes "
			     "passed %u steps", (unsigned long long)seed, r.steps);
		cr_log_info("seed %llu: caught at %s", (unsigned long long)seed, r.first);
	}
}
