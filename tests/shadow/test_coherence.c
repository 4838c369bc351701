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
#include "shadow.h"

#define STEPS	10000u
#define SEEDS	6u

/* Returns how many seeds ran clean. */
static unsigned run_seeds(const char *what, struct coh_cfg cfg)
{
	uint64_t seed;

	for (seed = 1; seed <= SEEDS; seed++) {
		struct coh_result r;

		cfg.seed = seed;
		cr_assert_eq(coh_run(&cfg, &r), 0, "%s: cannot run: %s", what, r.first);
		cr_assert_eq(r.mismatches, 0, "%s seed %llu: %s", what,
			     (unsigned long long)seed, r.first);
		cr_assert_eq(r.steps, cfg.steps);
		/* The mechanisms under test took place. */
		cr_assert_gt(r.hidden_faults, 0, "%s: no hidden faults", what);
		cr_assert_gt(r.true_faults, 0, "%s: no true faults", what);
		cr_assert_gt(r.trace_faults, 0, "%s: no trace faults", what);
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
	cr_assert_eq(run_seeds("4k host, sync", (struct coh_cfg){ .steps = STEPS, .host_level = LEVEL_4K,
						     .audit_every = 25 }), SEEDS);
}

Test(shadow, coherence_4k_host_unsync, .timeout = 600)
{
	cr_assert_eq(run_seeds("4k host, unsync", (struct coh_cfg){ .steps = STEPS, .host_level = LEVEL_4K,
						       .unsync = true, .audit_every = 25 }), SEEDS);
}

Test(shadow, coherence_2m_host, .timeout = 600)
{
	cr_assert_eq(run_seeds("2m host, sync", (struct coh_cfg){ .steps = STEPS, .host_level = LEVEL_2M,
						     .audit_every = 25 }), SEEDS);
}

Test(shadow, coherence_2m_host_unsync, .timeout = 600)
{
	cr_assert_eq(run_seeds("2m host, unsync", (struct coh_cfg){ .steps = STEPS, .host_level = LEVEL_2M,
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
			       .debug = SHADOW_DEBUG_NO_TRACE_ZAP };
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
