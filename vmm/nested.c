/*
 * nested.c - L0's nested VMX logic, after Linux arch/x86/kvm/vmx/nested.c:
 * which L2 exits L0 keeps and which it reflects to L1
 * (nested_vmx_reflect_vmexit, nested_vmx_l0_wants_exit,
 * nested_vmx_l1_wants_exit), the emulated VM exit into L1
 * (nested_vmx_vmexit), L1's VMREAD/VMWRITE when the shadow VMCS cannot
 * serve them (handle_vmread, handle_vmwrite), and L1's VMRESUME
 * (nested_vmx_run: copy_shadow_to_vmcs12, checks, prepare_vmcs02, the
 * MSR bitmap merge, entry into L2). Every step is priced from the
 * profile's nested.* figures and kept by step in the statistics.
 */
#include <asm/vmx.h>
#include <stdlib.h>
#include <string.h>

#include "nested.h"
#include "vmm.h"

/* The fields of enum vmcs_field, by name (for the report). */
static const struct { uint16_t field; const char *name; } vmcs_field_names[] = {
	{ GUEST_CS_SELECTOR, "GUEST_CS_SELECTOR" },
	{ GUEST_INTR_STATUS, "GUEST_INTR_STATUS" },
	{ GUEST_PML_INDEX, "GUEST_PML_INDEX" },
	{ HOST_FS_SELECTOR, "HOST_FS_SELECTOR" },
	{ HOST_GS_SELECTOR, "HOST_GS_SELECTOR" },
	{ MSR_BITMAP, "MSR_BITMAP" },
	{ TSC_OFFSET, "TSC_OFFSET" },
	{ EPT_POINTER, "EPT_POINTER" },
	{ GUEST_PHYSICAL_ADDRESS, "GUEST_PHYSICAL_ADDRESS" },
	{ GUEST_PHYSICAL_ADDRESS_HIGH, "GUEST_PHYSICAL_ADDRESS_HIGH" },
	{ GUEST_IA32_DEBUGCTL, "GUEST_IA32_DEBUGCTL" },
	{ GUEST_BNDCFGS, "GUEST_BNDCFGS" },
	{ PIN_BASED_VM_EXEC_CONTROL, "PIN_BASED_VM_EXEC_CONTROL" },
	{ CPU_BASED_VM_EXEC_CONTROL, "CPU_BASED_VM_EXEC_CONTROL" },
	{ EXCEPTION_BITMAP, "EXCEPTION_BITMAP" },
	{ VM_ENTRY_INTR_INFO_FIELD, "VM_ENTRY_INTR_INFO_FIELD" },
	{ VM_ENTRY_EXCEPTION_ERROR_CODE, "VM_ENTRY_EXCEPTION_ERROR_CODE" },
	{ VM_ENTRY_INSTRUCTION_LEN, "VM_ENTRY_INSTRUCTION_LEN" },
	{ TPR_THRESHOLD, "TPR_THRESHOLD" },
	{ SECONDARY_VM_EXEC_CONTROL, "SECONDARY_VM_EXEC_CONTROL" },
	{ VM_INSTRUCTION_ERROR, "VM_INSTRUCTION_ERROR" },
	{ VM_EXIT_REASON, "VM_EXIT_REASON" },
	{ VM_EXIT_INTR_INFO, "VM_EXIT_INTR_INFO" },
	{ VM_EXIT_INTR_ERROR_CODE, "VM_EXIT_INTR_ERROR_CODE" },
	{ IDT_VECTORING_INFO_FIELD, "IDT_VECTORING_INFO_FIELD" },
	{ IDT_VECTORING_ERROR_CODE, "IDT_VECTORING_ERROR_CODE" },
	{ VM_EXIT_INSTRUCTION_LEN, "VM_EXIT_INSTRUCTION_LEN" },
	{ GUEST_CS_LIMIT, "GUEST_CS_LIMIT" },
	{ GUEST_CS_AR_BYTES, "GUEST_CS_AR_BYTES" },
	{ GUEST_SS_AR_BYTES, "GUEST_SS_AR_BYTES" },
	{ GUEST_INTERRUPTIBILITY_INFO, "GUEST_INTERRUPTIBILITY_INFO" },
	{ VMX_PREEMPTION_TIMER_VALUE, "VMX_PREEMPTION_TIMER_VALUE" },
	{ CR0_GUEST_HOST_MASK, "CR0_GUEST_HOST_MASK" },
	{ CR0_READ_SHADOW, "CR0_READ_SHADOW" },
	{ CR4_READ_SHADOW, "CR4_READ_SHADOW" },
	{ EXIT_QUALIFICATION, "EXIT_QUALIFICATION" },
	{ GUEST_LINEAR_ADDRESS, "GUEST_LINEAR_ADDRESS" },
	{ GUEST_CR0, "GUEST_CR0" },
	{ GUEST_CR3, "GUEST_CR3" },
	{ GUEST_CR4, "GUEST_CR4" },
	{ GUEST_ES_BASE, "GUEST_ES_BASE" },
	{ GUEST_CS_BASE, "GUEST_CS_BASE" },
	{ GUEST_RSP, "GUEST_RSP" },
	{ GUEST_RIP, "GUEST_RIP" },
	{ GUEST_RFLAGS, "GUEST_RFLAGS" },
	{ HOST_FS_BASE, "HOST_FS_BASE" },
	{ HOST_GS_BASE, "HOST_GS_BASE" },
};

const char *vmm_vmcs_field_name(uint32_t field)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(vmcs_field_names); i++)
		if (vmcs_field_names[i].field == field)
			return vmcs_field_names[i].name;
	return NULL;
}

static bool bit_test(const uint8_t *bm, unsigned i)
{
	return (bm[i >> 3] >> (i & 7)) & 1;
}

static void bit_clear(uint8_t *bm, unsigned i)
{
	bm[i >> 3] = (uint8_t)(bm[i >> 3] & ~(1u << (i & 7)));
}

static const struct nested_costs *ncost(const struct vcpu *cpu)
{
	return &cpu->vm->prof->nested;
}

/* step - L0 spent `cycles` on step s; returns them for the price. */
static double step(struct vcpu *cpu, enum vmm_nested_step s, double cycles)
{
	cpu->st.nested_step[s] += cycles;
	cpu->st.nested_step_n[s]++;
	return cycles;
}

/* L0's vmx_vcpu_run, entering the guest: 4.13 reads the host's
 * IA32_DEBUGCTL there on every entry; today's KVM keeps it in memory. */
static double entry_work(struct vcpu *cpu)
{
	if (cpu->nest->pers->l0_debugctl_cached)
		return 0;
	return step(cpu, NSTEP_DEBUGCTL, ncost(cpu)->debugctl_read);
}

/* An exit L0 handles as it would for any guest: its handler's price
 * (exit_handler.NAME, table references) and the entry back. */
static double l0_handles(struct vcpu *cpu, unsigned reason, const struct mmu_work *work)
{
	const struct mmu_costs *c = cpu->mmu.costs;
	double handler = vmm_exit_price(c, reason, work) - c->exit_roundtrip;

	return c->exit_roundtrip + step(cpu, NSTEP_HANDLER, handler) + entry_work(cpu);
}

/* nested_vmx_l0_wants_exit: exits L0 handles whatever L1 asked for. */
static bool l0_wants_exit(unsigned reason)
{
	switch (reason) {
	case EXIT_REASON_EXTERNAL_INTERRUPT:	/* a host interrupt */
	case EXIT_REASON_EPT_VIOLATION:		/* EPT02: L0's; EPT12 is identity */
	case EXIT_REASON_EPT_MISCONFIG:
	case EXIT_REASON_PREEMPTION_TIMER:	/* L0's own timer */
	case EXIT_REASON_EXCEPTION_NMI:		/* memory exits of L0's MMU */
	case EXIT_REASON_CR_ACCESS:
	case EXIT_REASON_INVLPG:
		return true;
	default:
		return false;
	}
}

/* nested_vmx_l1_wants_exit: does vmcs12 ask for this exit? */
static bool l1_wants_exit(const struct nested *n, unsigned reason)
{
	uint64_t cpu_based = n->vmcs12[VMCS_FIELD_INDEX(CPU_BASED_VM_EXEC_CONTROL)];

	switch (reason) {
	case EXIT_REASON_HLT:
		return cpu_based & CPU_BASED_HLT_EXITING;
	case EXIT_REASON_MSR_READ:
	case EXIT_REASON_MSR_WRITE:
		/* nested_exit_handled_msr: no bitmap means every MSR */
		return !(cpu_based & CPU_BASED_USE_MSR_BITMAPS) ||
		       vcpu_msr_exits(n->msr_bitmap12, n->exit_msr,
				      reason == EXIT_REASON_MSR_WRITE);
	case EXIT_REASON_EXTERNAL_INTERRUPT:
		return n->vmcs12[VMCS_FIELD_INDEX(PIN_BASED_VM_EXEC_CONTROL)] &
		       PIN_BASED_EXT_INTR_MASK;
	default:
		return true;	/* CPUID, XSETBV, VMX instructions: unconditional */
	}
}

/* copy_vmcs12_to_shadow: every shadowed field, read-only and read-write. */
static double vmcs12_to_shadow(struct vcpu *cpu)
{
	struct nested *n = cpu->nest;
	const uint16_t *f;
	unsigned k = 0;

	if (!n->shadowing)
		return 0;
	for (f = n->pers->shadow_ro; *f; f++, k++)
		n->shadow[VMCS_FIELD_INDEX(*f)] = n->vmcs12[VMCS_FIELD_INDEX(*f)];
	for (f = n->pers->shadow_rw; *f; f++, k++)
		n->shadow[VMCS_FIELD_INDEX(*f)] = n->vmcs12[VMCS_FIELD_INDEX(*f)];
	return step(cpu, NSTEP_SHADOW_COPY, ncost(cpu)->shadow_field * k);
}

/* copy_shadow_to_vmcs12: the read-write fields L1 may have written. */
static double shadow_to_vmcs12(struct vcpu *cpu)
{
	struct nested *n = cpu->nest;
	const uint16_t *f;
	unsigned k = 0;

	if (!n->shadowing)
		return 0;
	for (f = n->pers->shadow_rw; *f; f++, k++)
		n->vmcs12[VMCS_FIELD_INDEX(*f)] = n->shadow[VMCS_FIELD_INDEX(*f)];
	return step(cpu, NSTEP_SHADOW_COPY, ncost(cpu)->shadow_field * k);
}

/*
 * nested_vmx_vmexit: L2's exit becomes L1's. sync_vmcs02_to_vmcs12 puts
 * the exit's reason, qualification and L2's state in vmcs12, L1's host
 * state is loaded from vmcs12, the vCPU goes back to vmcs01, and the
 * shadow VMCS is refreshed for L1's VMREADs. Returns the price.
 */
static double emulate_vmexit(struct vcpu *cpu, unsigned reason)
{
	struct nested *n = cpu->nest;
	double price = step(cpu, NSTEP_REFLECT, ncost(cpu)->reflect);

	n->vmcs12[VMCS_FIELD_INDEX(VM_EXIT_REASON)] = reason;
	n->vmcs12[VMCS_FIELD_INDEX(EXIT_QUALIFICATION)] = 0;
	n->vmcs12[VMCS_FIELD_INDEX(VM_EXIT_INSTRUCTION_LEN)] = n->exit_len;
	n->vmcs12[VMCS_FIELD_INDEX(VM_EXIT_INTR_INFO)] =
		reason == EXIT_REASON_EXTERNAL_INTERRUPT ? 0x80000000u | 0xec : 0;
	n->vmcs12[VMCS_FIELD_INDEX(GUEST_RIP)] = n->vmcs02_rip;
	price += vmcs12_to_shadow(cpu);
	return price + entry_work(cpu);
}

/* Run L1's handler for the exit now in vmcs12, to its VMRESUME. */
static void run_l1(struct vcpu *cpu, unsigned reason)
{
	struct nested *n = cpu->nest;

	cpu->st.reflected[reason]++;
	n->level = 1;
	l1hv_handle_exit(cpu);
	BUG_ON(n->level != 2, "L1's exit handler did not resume L2");
}

void nested_exit(struct vcpu *cpu, unsigned reason, const struct mmu_work *work)
{
	struct nested *n = cpu->nest;
	double rt = cpu->mmu.costs->exit_roundtrip, price;

	if (n->level == 1) {
		/* L1's own exit (RDMSR, XSETBV, HLT...): L0's ordinary handler */
		vcpu_exit_charge(cpu, reason, l0_handles(cpu, reason, work), rt);
		return;
	}
	/* nested_vmx_reflect_vmexit */
	if (l0_wants_exit(reason) || !l1_wants_exit(n, reason)) {
		price = l0_handles(cpu, reason, work);
		/* A timer interrupt is L1's to deliver to L2 when L1 asked for
		 * external-interrupt exiting: L0 injects it as a VM exit. */
		if (reason == EXIT_REASON_EXTERNAL_INTERRUPT && l1_wants_exit(n, reason)) {
			price += emulate_vmexit(cpu, reason);
			vcpu_exit_charge(cpu, reason, price, rt);
			run_l1(cpu, reason);
			return;
		}
		vcpu_exit_charge(cpu, reason, price, rt);
		return;
	}
	price = rt + emulate_vmexit(cpu, reason);
	vcpu_exit_charge(cpu, reason, price, rt);
	run_l1(cpu, reason);
}

void nested_l1_insns(struct vcpu *cpu, uint64_t n)
{
	cpu->st.insns_l1 += n;
	core_insns(&cpu->core, n);
}

/* The shadow VMCS served a VMREAD/VMWRITE: an instruction of L1's. */
static void shadow_access(struct vcpu *cpu)
{
	cpu->st.vmcs_shadow_hits++;
	cpu->st.insns_l1++;
	core_serialize(&cpu->core, CORE_BASE_L1,
		       core_ticks(ncost(cpu)->vmcs_shadow_access), false);
}

static bool is_shadow_rw(const struct nested *n, uint16_t field)
{
	const uint16_t *f;

	for (f = n->pers->shadow_rw; *f; f++)
		if (*f == field)
			return true;
	return false;
}

uint64_t nested_vmread(struct vcpu *cpu, uint16_t field)
{
	struct nested *n = cpu->nest;
	unsigned i = VMCS_FIELD_INDEX(field);
	const struct mmu_work none = { 0 };

	BUG_ON(n->level != 1, "VMREAD outside L1");
	if (n->shadowing && !bit_test(n->vmread_bitmap, i)) {
		shadow_access(cpu);
		return n->shadow[i];
	}
	/* handle_vmread: decode, read vmcs12, write the operand */
	vmm_exit_detail(cpu->st.detail, EXIT_REASON_VMREAD, field);
	vcpu_exit_charge(cpu, EXIT_REASON_VMREAD,
			 l0_handles(cpu, EXIT_REASON_VMREAD, &none),
			 cpu->mmu.costs->exit_roundtrip);
	return n->vmcs12[i];
}

void nested_vmwrite(struct vcpu *cpu, uint16_t field, uint64_t val)
{
	struct nested *n = cpu->nest;
	unsigned i = VMCS_FIELD_INDEX(field);
	const struct mmu_work none = { 0 };

	BUG_ON(n->level != 1, "VMWRITE outside L1");
	if (n->shadowing && !bit_test(n->vmwrite_bitmap, i)) {
		shadow_access(cpu);
		n->shadow[i] = val;
		return;
	}
	/* handle_vmwrite: vmcs12 takes it; a field prepare_vmcs02's light
	 * path does not copy makes the next entry a full one */
	n->vmcs12[i] = val;
	if (!is_shadow_rw(n, field))
		n->dirty = true;
	vmm_exit_detail(cpu->st.detail, EXIT_REASON_VMWRITE, field);
	vcpu_exit_charge(cpu, EXIT_REASON_VMWRITE,
			 l0_handles(cpu, EXIT_REASON_VMWRITE, &none),
			 cpu->mmu.costs->exit_roundtrip);
}

/* Let L2 at an MSR without an exit where L1 lets it (the hardware then
 * uses vmcs02's bitmap); one bit operation. */
static unsigned pass_if_l1(struct nested *n, uint32_t msr, bool write)
{
	if (!vcpu_msr_exits(n->msr_bitmap12, msr, write))
		vcpu_msr_bitmap_set(n->msr_bitmap02, msr, write, false);
	return 1;
}

/*
 * The vmcs02 MSR bitmap: intercept what either L0 or L1 intercepts.
 * 4.13 (nested_vmx_merge_msr_bitmap) fills the page with ones and walks
 * the x2APIC range an MSR at a time; today's KVM
 * (nested_vmx_prepare_msr_bitmap) sets the range's words to ones and
 * copies L1's read words a 64-bit word at a time. Returns the price.
 */
static double merge_msr_bitmap(struct vcpu *cpu)
{
	struct nested *n = cpu->nest;
	const struct nested_costs *nc = ncost(cpu);
	uint64_t sec = n->vmcs12[VMCS_FIELD_INDEX(SECONDARY_VM_EXEC_CONTROL)];
	bool x2apic = sec & SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE;
	bool regvirt = sec & SECONDARY_EXEC_APIC_REGISTER_VIRT;
	unsigned bits = 0, words = 0;
	double price = 0;
	uint32_t msr;

	n->msr_merges++;
	if (!n->pers->msr_merge_wordwise) {
		memset(n->msr_bitmap02, 0xff, sizeof(n->msr_bitmap02));
		price += nc->msr_bitmap_memset;
		if (x2apic) {
			if (regvirt)
				for (msr = 0x800; msr <= 0x8ff; msr++)
					bits += pass_if_l1(n, msr, false);
			bits += pass_if_l1(n, 0x808, false) + pass_if_l1(n, 0x808, true);
			bits += pass_if_l1(n, 0x80b, true) + pass_if_l1(n, 0x83f, true);
		}
	} else {
		static const uint32_t each[] = { 0xc0000100, 0xc0000101, 0xc0000102 };
		size_t k;

		/* the x2APIC range, reads and writes: 4 words each, to ones */
		memset(n->msr_bitmap02 + 0x800 / 8, 0xff, 0x100 / 8);
		memset(n->msr_bitmap02 + 2048 + 0x800 / 8, 0xff, 0x100 / 8);
		words += 8;
		if (x2apic && regvirt) {
			memcpy(n->msr_bitmap02 + 0x800 / 8, n->msr_bitmap12 + 0x800 / 8,
			       0x100 / 8);
			words += 4;
		}
		if (x2apic) {
			bits += pass_if_l1(n, 0x808, false) + pass_if_l1(n, 0x808, true);
			bits += pass_if_l1(n, 0x80b, true) + pass_if_l1(n, 0x83f, true);
		}
		/* the bases KVM now lets L2 at when L1 does (read and write) */
		for (k = 0; k < ARRAY_SIZE(each); k++) {
			vcpu_msr_bitmap_set(n->msr_bitmap02, each[k], false, true);
			vcpu_msr_bitmap_set(n->msr_bitmap02, each[k], true, true);
			bits += pass_if_l1(n, each[k], false) + pass_if_l1(n, each[k], true);
		}
	}
	price += nc->msr_merge_bit * bits + nc->msr_merge_word * words;
	return step(cpu, NSTEP_MSR_MERGE, price);
}

/*
 * nested_vmx_run: L1's VMLAUNCH/VMRESUME. The shadow VMCS goes back into
 * vmcs12, the entry checks run, vmcs02 is prepared (in full when vmcs12
 * is dirty or the personality does not track it), the MSR bitmap is
 * merged, and L2 runs. One hardware exit, priced step by step.
 */
static void vm_enter_l2(struct vcpu *cpu, unsigned reason)
{
	struct nested *n = cpu->nest;
	const struct nested_costs *nc = ncost(cpu);
	const struct mmu_work none = { 0 };
	double price;

	BUG_ON(n->level != 1, "VM entry outside L1");
	n->vmresumes++;
	price = l0_handles(cpu, reason, &none);	/* decode, handler, DEBUGCTL */
	price += shadow_to_vmcs12(cpu);
	price += step(cpu, NSTEP_VMENTRY, nc->vmentry);
	if (n->dirty || !n->pers->dirty_tracking) {
		cpu->st.prepare_full++;
		price += step(cpu, NSTEP_PREPARE, nc->prepare_full);
		n->dirty = false;
	} else {
		price += step(cpu, NSTEP_PREPARE, nc->prepare_light);
	}
	n->vmcs02_rip = n->vmcs12[VMCS_FIELD_INDEX(GUEST_RIP)];
	if (n->vmcs12[VMCS_FIELD_INDEX(CPU_BASED_VM_EXEC_CONTROL)] & CPU_BASED_USE_MSR_BITMAPS)
		price += merge_msr_bitmap(cpu);
	vcpu_exit_charge(cpu, reason, price, cpu->mmu.costs->exit_roundtrip);
	n->level = 2;
}

void nested_vmresume(struct vcpu *cpu)
{
	vm_enter_l2(cpu, EXIT_REASON_VMRESUME);
}

void nested_vmlaunch(struct vcpu *cpu)
{
	vm_enter_l2(cpu, EXIT_REASON_VMLAUNCH);
}

int nested_start(struct vcpu *cpu, const struct l1_personality *pers, bool shadowing,
		 char *err, size_t errlen)
{
	struct nested *n = calloc(1, sizeof(*n));
	const uint16_t *f;

	if (!n) {
		snprintf(err, errlen, "out of host memory for the nested state");
		return -1;
	}
	n->pers = pers;
	n->shadowing = shadowing;
	n->level = 1;
	/* init_vmcs_shadow_fields: a set bit exits */
	memset(n->vmread_bitmap, 0xff, sizeof(n->vmread_bitmap));
	memset(n->vmwrite_bitmap, 0xff, sizeof(n->vmwrite_bitmap));
	for (f = pers->shadow_ro; *f; f++, n->n_shadow_ro++)
		bit_clear(n->vmread_bitmap, VMCS_FIELD_INDEX(*f));
	for (f = pers->shadow_rw; *f; f++, n->n_shadow_rw++) {
		bit_clear(n->vmread_bitmap, VMCS_FIELD_INDEX(*f));
		bit_clear(n->vmwrite_bitmap, VMCS_FIELD_INDEX(*f));
	}
	memset(n->msr_bitmap02, 0xff, sizeof(n->msr_bitmap02));
	n->dirty = true;	/* no vmcs02 yet */
	cpu->nest = n;
	l1hv_launch(cpu);
	return 0;
}

void nested_stop(struct vcpu *cpu)
{
	free(cpu->nest);
	cpu->nest = NULL;
}
