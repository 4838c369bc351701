/*
 * cost.c - the cost model: every modeled cycle comes from an event the
 * run counted, times a figure from the CPU profile, and lands in exactly
 * one category.
 */
#include <asm/vmx.h>
#include <stddef.h>

#include "vmm.h"

void vmm_cycles(const struct vcpu_stats *s, const struct mmu_costs *c,
		struct cycle_breakdown *out)
{
	unsigned i;

	out->user = (double)s->insns_user * c->cpi;
	out->kernel = (double)s->insns_kernel * c->cpi +
		      (double)s->syscalls * c->syscall +
		      (double)s->guest_page_faults * c->pf_delivery;
	out->data = (double)(s->accesses + s->phys_accesses + s->unbacked_accesses) *
		    c->l1d_hit;
	out->tlb = (double)s->l2_hits * c->tlb_l2_hit;
	out->walk = (double)(s->walk_reads + s->walk_ad_writes) * c->walk_ref;
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
