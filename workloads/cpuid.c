/*
 * cpuid.c - the CPUID loop of the classic nested-virtualization
 * measurement, and the guest OS's periodic timer.
 *
 *   loop:  mov $0, %eax ; cpuid ; dec %ecx ; jnz loop   (4 instructions)
 *
 * CPUID always exits under VMX, so each iteration is one exit at L1 and,
 * at L2, whatever L0 and the L1 hypervisor make of it (vmm/nested.c).
 */
#include "workloads.h"

#define MSR_IA32_TSC_DEADLINE	0x6e0u
/* estimate: Linux's timer interrupt path (entry, hrtimer_interrupt,
 * tick_sched_timer, scheduler_tick, irq exit), in kernel instructions */
#define GOS_TICK_INSNS		2000

static uint64_t cpuid_run(struct gos *os, const uint64_t *param)
{
	struct vcpu *cpu = os->cpu;
	uint64_t h = WL_FNV_OFFSET, i;
	uint32_t r[4];

	gos_user(os);
	for (i = 0; i < param[0]; i++) {
		g_insn(cpu, 3);		/* mov, dec, jnz */
		vcpu_cpuid(cpu, 0, 0, r);
		h = wl_fnv(h, (uint64_t)r[0] << 32 | r[1]);
		h = wl_fnv(h, (uint64_t)r[2] << 32 | r[3]);
	}
	gos_kernel(os);
	return h;
}

const struct workload wl_cpuid = {
	.name = "cpuid",
	.desc = "CPUID.0 in a tight loop: one exit per iteration (nested: see --l1-mmu)",
	.params = { { "iters", 100000, 0, UINT64_C(1) << 40, "CPUID instructions" } },
	.run = cpuid_run,
};

/* The timer interrupt: the tick's work, then the next deadline. */
static void gos_tick(struct vcpu *cpu, void *opaque)
{
	struct gos *os = opaque;
	uint8_t cpl = cpu->mmu.sregs.cpl;

	uint64_t now;

	vcpu_set_cpl(cpu, 0);
	g_insn(cpu, GOS_TICK_INSNS);
	/* hrtimer_forward: the next period boundary after now */
	now = core_now(&cpu->core) / CORE_TICKS;
	do
		os->tick_next += os->tick_period;
	while (os->tick_next <= now);
	vcpu_wrmsr(cpu, MSR_IA32_TSC_DEADLINE, os->tick_next);
	vcpu_set_cpl(cpu, cpl);
}

void gos_timer_start(struct gos *os, uint64_t hz)
{
	struct vcpu *cpu = os->cpu;

	if (!hz)
		return;
	os->tick_period = (uint64_t)(cpu->vm->prof->clock_hz / (double)hz);
	if (os->tick_period == 0)
		os->tick_period = 1;
	cpu->intr_handler = gos_tick;
	cpu->intr_opaque = os;
	os->tick_next = core_now(&cpu->core) / CORE_TICKS + os->tick_period;
	vcpu_wrmsr(cpu, MSR_IA32_TSC_DEADLINE, os->tick_next);
}
