/*
 * cost.c - prices, and the cycle stack read as the CSV's categories.
 *
 * Time comes from the core model (core/core.h), fed event by event by
 * the access path (vcpu.c): the latencies of the levels that served each
 * load, walk reference and store line, the L2 TLB, exits, #PF delivery
 * and syscalls, overlapped as the core's window, miss buffers, walkers
 * and store buffer allow. The prices of events that serialise the core
 * are computed here, once each.
 */
#include <asm/vmx.h>
#include <stddef.h>

#include "vmm.h"

/* Exits are counted in arrays of VMM_NR_EXIT_REASONS by reason: every
 * reason <asm/vmx.h> names must index them (NOTIFY is its largest). */
_Static_assert(EXIT_REASON_NOTIFY < VMM_NR_EXIT_REASONS,
	       "VMM_NR_EXIT_REASONS below an exit reason of <asm/vmx.h>");

double vmm_exit_price(const struct mmu_costs *c, unsigned reason,
		      const struct mmu_work *work)
{
	return c->exit_roundtrip + c->exit_handler[reason] +
	       c->vmm_ref * (double)(work->handler_reads + work->handler_writes);
}

static double cyc(const struct vcpu_stats *s, enum core_cat k)
{
	return (double)s->stack[k] / CORE_TICKS;
}

void vmm_cycles(const struct vcpu_stats *s, struct cycle_breakdown *out)
{
	unsigned l;

	out->syscall = cyc(s, CORE_SYSCALL);
	out->pf = cyc(s, CORE_PF);
	out->user = cyc(s, CORE_BASE_USER);
	out->l1 = cyc(s, CORE_BASE_L1);
	out->kernel = cyc(s, CORE_BASE_KERNEL) + out->syscall + out->pf +
		      cyc(s, CORE_SERIAL) + out->l1;
	out->store = cyc(s, CORE_STORE);
	out->data = out->store;
	for (l = MEM_L1; l <= MEM_DRAM; l++) {
		out->data_level[l] = cyc(s, (enum core_cat)(CORE_DATA_L1 + l));
		out->data += out->data_level[l];
	}
	out->tlb = cyc(s, CORE_TLB);
	out->walk = cyc(s, CORE_WALK);
	out->exit = cyc(s, CORE_EXIT);
	/* The round trips' share of the exit stack; the rest is L0's work. */
	out->exit_transition = s->exit_transition < out->exit ? s->exit_transition : out->exit;
	out->exit_l0 = out->exit - out->exit_transition;
	out->total = 0;
	for (l = 0; l < CORE_NR; l++)
		out->total += cyc(s, (enum core_cat)l);
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

const char *const vmm_nested_step_names[VMM_NESTED_NR_STEPS] = {
	[NSTEP_REFLECT] = "nested_vmx_vmexit",
	[NSTEP_SHADOW_COPY] = "shadow VMCS copies",
	[NSTEP_VMENTRY] = "nested_vmx_run",
	[NSTEP_PREPARE] = "prepare_vmcs02",
	[NSTEP_MSR_MERGE] = "MSR bitmap merge",
	[NSTEP_DEBUGCTL] = "DEBUGCTL read",
	[NSTEP_HANDLER] = "exit handlers",
};

void vmm_exit_detail(struct vmm_exit_detail *d, unsigned reason, uint32_t key)
{
	unsigned i;

	for (i = 0; i < VMM_EXIT_DETAILS; i++) {
		if (d[i].reason == 0) {
			d[i].reason = (uint8_t)reason;
			d[i].key = key;
		}
		if (d[i].reason == reason && d[i].key == key) {
			d[i].n++;
			return;
		}
	}
}
