/*
 * cost.c - the cost model: every modeled cycle comes from an event the
 * run counted, times a figure from the CPU profile, and lands in exactly
 * one category.
 *
 * Memory, with the memory model on (the default):
 *  - a load costs the load-to-use latency of the level that served it;
 *  - a store costs an L1 hit: it retires into the store buffer and the
 *    core does not wait for its line (it still allocates the line, so it
 *    evicts what a later walk or load would have found);
 *  - a page-walk reference (read or A/D write) costs the latency of the
 *    level that served it: walks are chains of dependent loads that the
 *    core cannot overlap with the access waiting on them.
 * With --param cache_model=0: loads and stores cost l1d_hit, every walk
 * reference walk_ref (the profile's average).
 * VMM handlers' table accesses cost vmm_ref each, inside the exit's cost.
 */
#include <asm/vmx.h>
#include <stddef.h>

#include "vmm.h"

static double by_level(const uint64_t n[MEM_DRAM + 1], const struct memsys_config *m)
{
	return (double)n[MEM_L1] * m->level[0].latency +
	       (double)n[MEM_L2] * m->level[1].latency +
	       (double)n[MEM_LLC] * m->level[2].latency +
	       (double)n[MEM_DRAM] * m->dram_latency;
}

void vmm_cycles(const struct vcpu_stats *s, const struct profile *p, bool cache_model,
		struct cycle_breakdown *out)
{
	const struct mmu_costs *c = &p->costs;
	unsigned i;

	out->user = (double)s->insns_user * c->cpi;
	out->kernel = (double)s->insns_kernel * c->cpi +
		      (double)s->syscalls * c->syscall +
		      (double)s->guest_page_faults * c->pf_delivery;
	if (cache_model) {
		out->data = by_level(s->load_level, &p->mem) +
			    (double)s->stores * p->mem.level[0].latency +
			    (double)s->unbacked_accesses * c->l1d_hit;
		out->walk = by_level(s->mem_refs[HREF_WALK], &p->mem);
	} else {
		out->data = (double)(s->accesses + s->phys_accesses + s->unbacked_accesses) *
			    c->l1d_hit;
		out->walk = (double)(s->walk_reads + s->walk_ad_writes) * c->walk_ref;
	}
	out->tlb = (double)s->l2_hits * c->tlb_l2_hit;
	out->exit = 0;
	for (i = 0; i < VMM_NR_EXIT_REASONS; i++)
		out->exit += s->exit_cycles[i];
	out->total = out->user + out->kernel + out->data + out->tlb + out->walk +
		     out->exit;
}

static const struct {
	unsigned	code;
	const char	*name;
} exit_names[] = { VMX_EXIT_REASONS };

const char *vmm_exit_name(unsigned reason)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(exit_names); i++)
		if (exit_names[i].code == reason)
			return exit_names[i].name;
	return NULL;
}
