/*
 * fuzz_pt.c - libFuzzer harness for the MMUs: a hostile guest OS
 * (tests/shadow/coh.c, cfg.wild) runs one operation sequence chosen by
 * the input on a native, a shadow and an ept VM in lockstep -- gpte
 * writes and stores anywhere (reserved bits and PS at every level,
 * recursive slots, entries beyond RAM and into the VMMs' region),
 * loads and stores at CPL 0 and 3, fills for read and fetch, INVLPG,
 * CR3 reloads, address-space switches, CR0.WP, CR4.SMEP/SMAP, EFER.NXE
 * and RFLAGS.AC toggles -- and requires the same outcome of all three
 * after every step: translation, #PF and its error code, data loaded,
 * guest memory (A/D bits included), every guest page's hpa inside guest
 * RAM's backing. A mismatch aborts with one line naming it.
 *
 * Input: byte 0 is the configuration,
 *   bit 0     host pages 2M (else 4K), for shadow and ept
 *   bit 1     shadow_unsync
 *   bit 2     shadow_prefetch
 *   bit 3     shadow_pages_max = 10 (LRU zapping)
 *   bit 4     shadow_roots = 1
 *   bits 7:5  ept_caches_off (EPT_CACHE_* mask)
 * and every later byte a decision of the guest (coh.h); the run ends
 * when they run out, or after PT_STEPS steps.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "coh.h"
#include "base.h"

/* Steps per input at most: bounds an input's cost (a step is well under
 * a millisecond under ASan; an input, with its three VMs' set-up and the
 * final compare of guest RAM, tens of ms) far below fuzz.sh's -timeout=10. */
#define PT_STEPS	200u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct coh_cfg cfg = { 0 };
	struct coh_result r;
	uint8_t k;

	if (size < 2)
		return 0;
	k = data[0];
	cfg.host_level = (k & 1) ? LEVEL_2M : LEVEL_4K;
	cfg.unsync = (k & 2) != 0;
	cfg.prefetch = (k & 4) != 0;
	cfg.pages_max = (k & 8) ? 10 : 0;
	cfg.roots = (k & 16) ? 1 : 0;
	cfg.ept = true;
	cfg.ept_caches_off = (unsigned)k >> 5;
	cfg.input = data + 1;
	cfg.input_len = size - 1;
	cfg.steps = PT_STEPS;
	cfg.init_gptes = 32;
	cfg.audit_every = 8;
	cfg.wild = true;
	if (coh_run(&cfg, &r) < 0) {
		fprintf(stderr, "fuzz_pt: cannot run: %s\n", r.first);
		abort();
	}
	if (r.mismatches) {
		fprintf(stderr, "fuzz_pt: MISMATCH (config %#x) %s\n", k, r.first);
		abort();
	}
	return 0;
}
