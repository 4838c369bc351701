/*
 * l1hv.c - the L1 hypervisor, written as guest code: everything it does
 * goes through the vCPU (its instructions, VMREAD/VMWRITE, RDMSR, XSETBV,
 * VMRESUME), so each exit it causes happens in the mechanism. Which
 * fields it touches, and what its L0 does, is data: the personalities.
 */
#include <asm/vmx.h>
#include <string.h>

#include "nested.h"
#include "vmm.h"

#define MSR_IA32_DEBUGCTLMSR	0x000001d9u
#define MSR_IA32_TSC_DEADLINE	0x000006e0u

/*
 * Linux 4.13's shadow VMCS lists (vmx.c shadow_read_only_fields,
 * shadow_read_write_fields); 64-bit fields by their full encoding, as
 * a 64-bit host accesses them. Not in them: GUEST_INTR_STATUS,
 * GUEST_PML_INDEX, VMX_PREEMPTION_TIMER_VALUE.
 */
static const uint16_t shadow_ro_413[] = {
	VM_EXIT_REASON, VM_EXIT_INTR_INFO, VM_EXIT_INSTRUCTION_LEN,
	IDT_VECTORING_INFO_FIELD, IDT_VECTORING_ERROR_CODE, VM_EXIT_INTR_ERROR_CODE,
	EXIT_QUALIFICATION, GUEST_LINEAR_ADDRESS, GUEST_PHYSICAL_ADDRESS, 0,
};
static const uint16_t shadow_rw_413[] = {
	TPR_THRESHOLD, GUEST_RIP, GUEST_RSP, GUEST_CR0, GUEST_CR3, GUEST_CR4,
	GUEST_INTERRUPTIBILITY_INFO, GUEST_RFLAGS, GUEST_CS_SELECTOR, GUEST_CS_AR_BYTES,
	GUEST_CS_LIMIT, GUEST_CS_BASE, GUEST_ES_BASE, GUEST_BNDCFGS, CR0_GUEST_HOST_MASK,
	CR0_READ_SHADOW, CR4_READ_SHADOW, TSC_OFFSET, EXCEPTION_BITMAP,
	CPU_BASED_VM_EXEC_CONTROL, VM_ENTRY_EXCEPTION_ERROR_CODE, VM_ENTRY_INTR_INFO_FIELD,
	VM_ENTRY_INSTRUCTION_LEN, HOST_FS_BASE, HOST_GS_BASE, HOST_FS_SELECTOR,
	HOST_GS_SELECTOR, 0,
};

/* Today's lists (arch/x86/kvm/vmx/vmcs_shadow_fields.h). */
static const uint16_t shadow_ro_now[] = {
	VM_EXIT_REASON, VM_EXIT_INTR_INFO, VM_EXIT_INSTRUCTION_LEN,
	IDT_VECTORING_INFO_FIELD, IDT_VECTORING_ERROR_CODE, VM_EXIT_INTR_ERROR_CODE,
	GUEST_CS_AR_BYTES, GUEST_SS_AR_BYTES, EXIT_QUALIFICATION, GUEST_LINEAR_ADDRESS,
	GUEST_PHYSICAL_ADDRESS, GUEST_PHYSICAL_ADDRESS_HIGH, 0,
};
static const uint16_t shadow_rw_now[] = {
	GUEST_INTR_STATUS, GUEST_PML_INDEX, HOST_FS_SELECTOR, HOST_GS_SELECTOR,
	CPU_BASED_VM_EXEC_CONTROL, EXCEPTION_BITMAP, VM_ENTRY_EXCEPTION_ERROR_CODE,
	VM_ENTRY_INTR_INFO_FIELD, VM_ENTRY_INSTRUCTION_LEN, TPR_THRESHOLD,
	GUEST_INTERRUPTIBILITY_INFO, VMX_PREEMPTION_TIMER_VALUE, GUEST_RIP, GUEST_RSP,
	GUEST_CR0, GUEST_CR3, GUEST_CR4, GUEST_RFLAGS, CR0_GUEST_HOST_MASK,
	CR0_READ_SHADOW, CR4_READ_SHADOW, HOST_FS_BASE, HOST_GS_BASE, 0,
};

/*
 * KVM's handlers as L1 runs them for L2. Instruction counts are
 * estimates of the C paths (kvm_emulate_cpuid with its table lookup,
 * kvm_emulate_rdmsr/wrmsr, handle_xsetbv, kvm_emulate_halt, handle
 * external interrupt); the fields are those each path touches:
 * skip_emulated_instruction reads the length and RIP and writes RIP.
 */
static const struct l1_handler kvm_handlers[] = {
	{ EXIT_REASON_CPUID, 300, { VM_EXIT_INSTRUCTION_LEN, GUEST_RIP }, { GUEST_RIP } },
	{ EXIT_REASON_MSR_READ, 250, { VM_EXIT_INSTRUCTION_LEN, GUEST_RIP }, { GUEST_RIP } },
	{ EXIT_REASON_MSR_WRITE, 300, { VM_EXIT_INSTRUCTION_LEN, GUEST_RIP }, { GUEST_RIP } },
	{ EXIT_REASON_XSETBV, 200, { VM_EXIT_INSTRUCTION_LEN, GUEST_RIP }, { GUEST_RIP } },
	{ EXIT_REASON_HLT, 400, { VM_EXIT_INSTRUCTION_LEN, GUEST_RIP }, { GUEST_RIP } },
	{ EXIT_REASON_EXTERNAL_INTERRUPT, 500, { VM_EXIT_INTR_INFO },
	  { VM_ENTRY_INTR_INFO_FIELD } },
	{ 0, 0, { 0 }, { 0 } },
};

/*
 * The exit and entry paths are the same code in both KVMs: vmx_vcpu_run
 * after the VM exit reads the exit reason and IDT-vectoring info,
 * vmx_flush_pml_buffer reads GUEST_PML_INDEX, the APICv interrupt sync
 * reads GUEST_INTR_STATUS; before entry vmx_arm_hv_timer writes the
 * preemption timer. What differs is which of those the L0 shadows.
 */
#define KVM_EXIT_READS	{ VM_EXIT_REASON, IDT_VECTORING_INFO_FIELD, GUEST_PML_INDEX, \
			  GUEST_INTR_STATUS }
#define KVM_ENTRY_WRITES { VMX_PREEMPTION_TIMER_VALUE }
#define KVM_EXIT_INSNS	700	/* estimate: vmx_vcpu_run tail, vmx_handle_exit, vcpu_run loop */
#define KVM_ENTRY_INSNS	600	/* estimate: vcpu_enter_guest, vmx_vcpu_run head */

static const struct l1_personality kvm_413 = {
	.name = "kvm-4.13",
	.desc = "Linux 4.13 KVM as L0 and L1: 4.13's shadow fields, no dirty tracking, "
		"bit-by-bit MSR bitmap merge, DEBUGCTL read per entry",
	.shadow_ro = shadow_ro_413, .shadow_rw = shadow_rw_413,
	.l1_xsetbv = true,
	.exit_insns = KVM_EXIT_INSNS, .entry_insns = KVM_ENTRY_INSNS,
	.exit_reads = KVM_EXIT_READS, .entry_writes = KVM_ENTRY_WRITES,
	.handlers = kvm_handlers,
};

/* The remedies one at a time, on 4.13. */
static const struct l1_personality kvm_413_debugctl = {
	.name = "kvm-4.13+debugctl",
	.desc = "kvm-4.13 with IA32_DEBUGCTL cached in L0 and L1 (no RDMSR per entry)",
	.shadow_ro = shadow_ro_413, .shadow_rw = shadow_rw_413,
	.l0_debugctl_cached = true, .l1_debugctl_cached = true,
	.l1_xsetbv = true,
	.exit_insns = KVM_EXIT_INSNS, .entry_insns = KVM_ENTRY_INSNS,
	.exit_reads = KVM_EXIT_READS, .entry_writes = KVM_ENTRY_WRITES,
	.handlers = kvm_handlers,
};

static const struct l1_personality kvm_413_msrmerge = {
	.name = "kvm-4.13+msrmerge",
	.desc = "kvm-4.13 with the word-wise MSR bitmap merge",
	.shadow_ro = shadow_ro_413, .shadow_rw = shadow_rw_413,
	.msr_merge_wordwise = true,
	.l1_xsetbv = true,
	.exit_insns = KVM_EXIT_INSNS, .entry_insns = KVM_ENTRY_INSNS,
	.exit_reads = KVM_EXIT_READS, .entry_writes = KVM_ENTRY_WRITES,
	.handlers = kvm_handlers,
};

static const struct l1_personality kvm_413_shadow = {
	.name = "kvm-4.13+shadow",
	.desc = "kvm-4.13 with today's shadow fields and dirty tracking of vmcs12",
	.shadow_ro = shadow_ro_now, .shadow_rw = shadow_rw_now,
	.dirty_tracking = true,
	.l1_xsetbv = true,
	.exit_insns = KVM_EXIT_INSNS, .entry_insns = KVM_ENTRY_INSNS,
	.exit_reads = KVM_EXIT_READS, .entry_writes = KVM_ENTRY_WRITES,
	.handlers = kvm_handlers,
};

static const struct l1_personality kvm_now = {
	.name = "kvm",
	.desc = "today's KVM as L0 and L1: shadowed fields with dirty tracking, "
		"word-wise MSR bitmap merge, cached DEBUGCTL",
	.shadow_ro = shadow_ro_now, .shadow_rw = shadow_rw_now,
	.dirty_tracking = true, .msr_merge_wordwise = true,
	.l0_debugctl_cached = true, .l1_debugctl_cached = true,
	.l1_xsetbv = true,
	.exit_insns = KVM_EXIT_INSNS, .entry_insns = KVM_ENTRY_INSNS,
	.exit_reads = KVM_EXIT_READS, .entry_writes = KVM_ENTRY_WRITES,
	.handlers = kvm_handlers,
};

const struct l1_personality *const l1hv_personalities[] = {
	&kvm_413, &kvm_413_debugctl, &kvm_413_msrmerge, &kvm_413_shadow, &kvm_now, NULL,
};

const struct l1_personality *l1hv_personality_find(const char *name)
{
	size_t i;

	for (i = 0; l1hv_personalities[i]; i++)
		if (strcmp(l1hv_personalities[i]->name, name) == 0)
			return l1hv_personalities[i];
	return NULL;
}

static const struct l1_handler *find_handler(const struct l1_personality *p, unsigned reason)
{
	const struct l1_handler *h;

	for (h = p->handlers; h->reason; h++)
		if (h->reason == reason)
			return h;
	return NULL;
}

/* The value L1 writes into a field: RIP past the emulated instruction,
 * else something of the field's kind. */
static uint64_t write_value(uint16_t field, uint64_t rip, uint64_t len)
{
	switch (field) {
	case GUEST_RIP:				return rip + len;
	case VMX_PREEMPTION_TIMER_VALUE:	return 0x100000;	/* hrtimer's deadline */
	case VM_ENTRY_INTR_INFO_FIELD:		return 0x80000000u | 0xec;	/* inject the timer vector */
	default:				return 0;
	}
}

/* vcpu_enter_guest's way back into L2: the entry path, the fields it
 * writes, host DEBUGCTL, L2's XCR0, then VMRESUME. */
static void enter_l2(struct vcpu *cpu, bool launch)
{
	struct nested *n = cpu->nest;
	const struct l1_personality *p = n->pers;
	const uint16_t *f;

	nested_l1_insns(cpu, p->entry_insns);
	for (f = p->entry_writes; *f; f++)
		nested_vmwrite(cpu, *f, write_value(*f, 0, 0));
	if (!p->l1_debugctl_cached)
		(void)vcpu_rdmsr(cpu, MSR_IA32_DEBUGCTLMSR);
	if (p->l1_xsetbv)
		vcpu_xsetbv(cpu, 0, n->l2_xcr0);
	if (launch)
		nested_vmlaunch(cpu);
	else
		nested_vmresume(cpu);
}

void l1hv_handle_exit(struct vcpu *cpu)
{
	struct nested *n = cpu->nest;
	const struct l1_personality *p = n->pers;
	uint8_t base = core_set_base(&cpu->core, CORE_BASE_L1);
	const struct l1_handler *h;
	uint64_t reason = 0, rip = 0, len = 0;
	const uint16_t *f;
	unsigned i;

	nested_l1_insns(cpu, p->exit_insns);
	for (f = p->exit_reads; *f; f++) {
		uint64_t v = nested_vmread(cpu, *f);

		if (*f == VM_EXIT_REASON)
			reason = v & 0xffff;
	}
	h = find_handler(p, (unsigned)reason);
	if (!h)
		vcpu_stop(cpu, "L1 (%s) has no handler for exit %s", p->name,
			  vmm_exit_name((unsigned)reason) ? vmm_exit_name((unsigned)reason) : "?");
	nested_l1_insns(cpu, h->insns);
	for (i = 0; i < L1_MAX_FIELDS && h->reads[i]; i++) {
		uint64_t v = nested_vmread(cpu, h->reads[i]);

		if (h->reads[i] == GUEST_RIP)
			rip = v;
		else if (h->reads[i] == VM_EXIT_INSTRUCTION_LEN)
			len = v;
	}
	/* what the handler does for L2 */
	switch (reason) {
	case EXIT_REASON_CPUID:
		vcpu_cpuid_value(cpu->vm->prof, n->l2_regs[0], n->l2_regs[2], n->l2_regs);
		n->l2_regs_set = true;
		break;
	case EXIT_REASON_XSETBV:
		n->l2_xcr0 = n->exit_val;
		break;
	case EXIT_REASON_MSR_WRITE:
		/* L1 emulates L2's TSC-deadline timer with its own */
		if (n->exit_msr == MSR_IA32_TSC_DEADLINE)
			vcpu_wrmsr(cpu, MSR_IA32_TSC_DEADLINE, n->exit_val);
		break;
	case EXIT_REASON_HLT:
		vcpu_hlt(cpu);		/* L1 has nothing else to run */
		break;
	default:
		break;
	}
	for (i = 0; i < L1_MAX_FIELDS && h->writes[i]; i++)
		nested_vmwrite(cpu, h->writes[i], write_value(h->writes[i], rip, len));
	enter_l2(cpu, false);
	core_set_base(&cpu->core, base);
}

void l1hv_launch(struct vcpu *cpu)
{
	struct nested *n = cpu->nest;
	uint8_t base = core_set_base(&cpu->core, CORE_BASE_L1);
	/* the controls KVM sets for an L2 with APICv, and L2's start state */
	const struct { uint16_t field; uint64_t val; } setup[] = {
		{ PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_EXT_INTR_MASK },
		{ CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_HLT_EXITING | CPU_BASED_USE_MSR_BITMAPS },
		{ SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE |
					     SECONDARY_EXEC_APIC_REGISTER_VIRT },
		{ MSR_BITMAP, 0x1000 },
		{ EPT_POINTER, 0x2000 | 0x1e },	/* identity EPT12, WB, 4 levels */
		{ GUEST_RIP, 0xfff0 },
		{ GUEST_CR0, 0x60000010 },
	};
	size_t i;

	vcpu_msr_bitmap_default(n->msr_bitmap12);
	/* KVM intercepts the TSC deadline and DEBUGCTL for its guests */
	n->l2_xcr0 = 1;
	for (i = 0; i < ARRAY_SIZE(setup); i++)
		nested_vmwrite(cpu, setup[i].field, setup[i].val);
	enter_l2(cpu, true);
	core_set_base(&cpu->core, base);
}
