/*
 * spec.h - a run_spec with every default, for the in-process runner
 * tests (test_run.c, test_sample.c): 4K pages, 64 MiB of guest RAM, the
 * memory model on, the workload's and the backend's default parameters.
 */
#ifndef MEMVIRT_TESTS_SPEC_H
#define MEMVIRT_TESTS_SPEC_H

#include <criterion/criterion.h>
#include <string.h>

#include "run.h"

static inline void spec_defaults(struct run_spec *s, const struct profile *prof,
				 const char *mmu, const char *wl)
{
	memset(s, 0, sizeof(*s));
	s->mmu = vmm_backend_find(mmu);
	s->wl = wl_find(wl);
	cr_assert_not_null(s->mmu, "no backend %s", mmu);
	cr_assert_not_null(s->wl, "no workload %s", wl);
	s->prof = prof;
	s->pages = LEVEL_4K;
	s->host_pages = mmu_has_host_level(s->mmu) ? LEVEL_4K : 0;
	s->guest_mem = 64 * MiB;
	s->numa_node = -1;
	s->cache_model = true;
	s->vpid = 2;
	for (unsigned i = 0; i < WL_MAX_PARAMS && s->wl->params[i].key; i++)
		s->wl_param[i] = s->wl->params[i].def;
	for (unsigned i = 0; s->mmu->params && s->mmu->params[i].key; i++)
		s->mmu_param[i] = s->mmu->params[i].def;
}

#endif
