/*
 * vcpu_ops.c - the exits that are not memory: CPUID, RDMSR/WRMSR (the
 * MSR bitmap decides), XSETBV, HLT, and the timer's external interrupt.
 * Each is an instruction the guest executes; where VMX makes it an exit
 * it goes through vcpu_exit by its <asm/vmx.h> reason, and from there
 * (nested) through L0's reflection logic in nested.c.
 */
#include <asm/vmx.h>
#include <inttypes.h>
#include <string.h>

#include "nested.h"
#include "vmm.h"

#define MSR_IA32_TSC		0x00000010u
#define MSR_IA32_SYSENTER_CS	0x00000174u
#define MSR_IA32_DEBUGCTLMSR	0x000001d9u
#define MSR_IA32_TSC_DEADLINE	0x000006e0u
#define MSR_FS_BASE		0xc0000100u
#define MSR_GS_BASE		0xc0000101u
#define MSR_KERNEL_GS_BASE	0xc0000102u
#define MSR_TSC_AUX		0xc0000103u

/* The MSRs the vCPU has, in msr_val order. */
static const uint32_t vcpu_msrs[VCPU_NR_MSRS] = {
	MSR_IA32_TSC, MSR_IA32_SYSENTER_CS, MSR_IA32_DEBUGCTLMSR, MSR_IA32_TSC_DEADLINE,
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_TSC_AUX,
};

static const char *const vcpu_msr_names[VCPU_NR_MSRS] = {
	"IA32_TSC", "IA32_SYSENTER_CS", "IA32_DEBUGCTL", "IA32_TSC_DEADLINE",
	"FS_BASE", "GS_BASE", "KERNEL_GS_BASE", "TSC_AUX",
};

static int msr_index(uint32_t msr);

const char *vmm_msr_name(uint32_t msr)
{
	int i = msr_index(msr);

	return i < 0 ? NULL : vcpu_msr_names[i];
}

static int msr_index(uint32_t msr)
{
	unsigned i;

	for (i = 0; i < VCPU_NR_MSRS; i++)
		if (vcpu_msrs[i] == msr)
			return (int)i;
	return -1;
}

/*
 * The MSR bitmap (SDM 24.6.9), four 1 KiB quarters:
 *
 *   [0, 1024)     reads of MSRs 0x00000000..0x00001fff
 *   [1024, 2048)  reads of MSRs 0xc0000000..0xc0001fff
 *   [2048, 3072)  writes, low range
 *   [3072, 4096)  writes, high range
 *
 * A set bit makes the access exit; an MSR in neither range always does.
 */
static int msr_bit(uint32_t msr, bool write)
{
	int base = write ? 2048 * 8 : 0;

	if (msr <= 0x1fffu)
		return base + (int)msr;
	if (msr >= 0xc0000000u && msr <= 0xc0001fffu)
		return base + 1024 * 8 + (int)(msr - 0xc0000000u);
	return -1;
}

bool vcpu_msr_exits(const uint8_t bitmap[4096], uint32_t msr, bool write)
{
	int b = msr_bit(msr, write);

	return b < 0 || (bitmap[b >> 3] >> (b & 7)) & 1;
}

void vcpu_msr_bitmap_set(uint8_t bitmap[4096], uint32_t msr, bool write, bool intercept)
{
	int b = msr_bit(msr, write);

	BUG_ON(b < 0, "MSR outside the bitmap's ranges");
	if (intercept)
		bitmap[b >> 3] = (uint8_t)(bitmap[b >> 3] | (1u << (b & 7)));
	else
		bitmap[b >> 3] = (uint8_t)(bitmap[b >> 3] & ~(1u << (b & 7)));
}

void vcpu_msr_bitmap_default(uint8_t bitmap[4096])
{
	static const uint32_t passthrough[] = {
		MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_IA32_SYSENTER_CS,
	};
	uint32_t msr;
	size_t i;

	memset(bitmap, 0xff, 4096);
	for (i = 0; i < ARRAY_SIZE(passthrough); i++) {
		vcpu_msr_bitmap_set(bitmap, passthrough[i], false, false);
		vcpu_msr_bitmap_set(bitmap, passthrough[i], true, false);
	}
	/* APIC-register virtualization serves x2APIC reads; TPR, EOI and
	 * SELF_IPI writes go to the virtual APIC page (vmx_update_msr_bitmap). */
	for (msr = 0x800; msr <= 0x8ff; msr++)
		vcpu_msr_bitmap_set(bitmap, msr, false, false);
	vcpu_msr_bitmap_set(bitmap, 0x808, true, false);
	vcpu_msr_bitmap_set(bitmap, 0x80b, true, false);
	vcpu_msr_bitmap_set(bitmap, 0x83f, true, false);
}

void vcpu_cpuid_value(const struct profile *prof, uint32_t leaf, uint32_t subleaf,
		      uint32_t out[4])
{
	/* "GenuineIntel" / "AuthenticAMD" as EBX, EDX, ECX */
	static const uint32_t intel[3] = { 0x756e6547, 0x49656e69, 0x6c65746e };
	static const uint32_t amd[3] = { 0x68747541, 0x69746e65, 0x444d4163 };
	const uint32_t *v = prof->vmx ? intel : amd;

	memset(out, 0, 4 * sizeof(out[0]));
	switch (leaf) {
	case 0:
		out[0] = 0xd;		/* KVM's usual maximum basic leaf */
		out[1] = v[0];
		out[2] = v[2];
		out[3] = v[1];
		break;
	case 1:
		out[0] = (uint32_t)prof->maxphyaddr;	/* stands in for the signature */
		out[2] = 1u << 31;			/* hypervisor present */
		break;
	default:
		out[0] = subleaf;
		break;
	}
}

static const struct mmu_work no_work;

/* The MSR bitmap the hardware consults now: vmcs02's while L2 runs. */
static const uint8_t *live_msr_bitmap(const struct vcpu *cpu)
{
	if (cpu->nest && cpu->nest->level == 2)
		return cpu->nest->msr_bitmap02;
	return cpu->msr_bitmap;
}

/* What an exit's handler needs from the instruction, for nested.c. */
static void exit_info(struct vcpu *cpu, uint32_t msr, bool write, uint64_t val,
		      unsigned len)
{
	if (!cpu->nest)
		return;
	cpu->nest->exit_msr = msr;
	cpu->nest->exit_write = write;
	cpu->nest->exit_val = val;
	cpu->nest->exit_len = len;
}

void vcpu_cpuid(struct vcpu *cpu, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	exit_info(cpu, 0, false, 0, 2);
	if (cpu->nest && cpu->nest->level == 2) {
		/* L1 emulates it for L2 (or L0 does, should L1 not want it) */
		cpu->nest->l2_regs[0] = leaf;
		cpu->nest->l2_regs[2] = subleaf;
		cpu->nest->l2_regs_set = false;
		vcpu_exit(cpu, EXIT_REASON_CPUID, MMU_EXIT_PLAIN, &no_work);
		if (cpu->nest->l2_regs_set) {
			memcpy(out, cpu->nest->l2_regs, 4 * sizeof(out[0]));
			return;
		}
	} else {
		vcpu_exit(cpu, EXIT_REASON_CPUID, MMU_EXIT_PLAIN, &no_work);
	}
	vcpu_cpuid_value(cpu->vm->prof, leaf, subleaf, out);
}

uint64_t vcpu_rdmsr(struct vcpu *cpu, uint32_t msr)
{
	int i = msr_index(msr);

	if (i < 0)
		vcpu_stop(cpu, "#GP: RDMSR of MSR %#x, which the modeled CPU does not have", msr);
	if (vcpu_msr_exits(live_msr_bitmap(cpu), msr, false)) {
		exit_info(cpu, msr, false, 0, 2);
		vmm_exit_detail(cpu->st.detail, EXIT_REASON_MSR_READ, msr);
		vcpu_exit(cpu, EXIT_REASON_MSR_READ, MMU_EXIT_PLAIN, &no_work);
	} else {
		core_insns(&cpu->core, 1);
	}
	if (msr == MSR_IA32_TSC)
		return core_now(&cpu->core) / CORE_TICKS;
	return cpu->msr_val[i];
}

void vcpu_wrmsr(struct vcpu *cpu, uint32_t msr, uint64_t val)
{
	int i = msr_index(msr);

	if (i < 0)
		vcpu_stop(cpu, "#GP: WRMSR of MSR %#x, which the modeled CPU does not have", msr);
	if (vcpu_msr_exits(live_msr_bitmap(cpu), msr, true)) {
		exit_info(cpu, msr, true, val, 2);
		vmm_exit_detail(cpu->st.detail, EXIT_REASON_MSR_WRITE, msr);
		vcpu_exit(cpu, EXIT_REASON_MSR_WRITE, MMU_EXIT_PLAIN, &no_work);
	} else {
		core_insns(&cpu->core, 1);
	}
	cpu->msr_val[i] = val;
	/* The TSC-deadline timer: whichever level wrote it, L0 ends up
	 * arming the one hardware timer (an L1 emulating L2's timer writes
	 * its own deadline, which exits to L0). */
	if (msr == MSR_IA32_TSC_DEADLINE)
		vcpu_timer_arm(cpu, val);
}

void vcpu_xsetbv(struct vcpu *cpu, uint32_t xcr, uint64_t val)
{
	if (xcr != 0 || !(val & 1))
		vcpu_stop(cpu, "#GP: XSETBV of XCR%u = %#" PRIx64, xcr, val);
	exit_info(cpu, xcr, true, val, 3);
	vcpu_exit(cpu, EXIT_REASON_XSETBV, MMU_EXIT_PLAIN, &no_work);
	if (cpu->nest && cpu->nest->level == 2)
		return;		/* L1 keeps L2's XCR0 and loads it on entry */
	cpu->xcr0 = val;
}

void vcpu_hlt(struct vcpu *cpu)
{
	core_time now;

	exit_info(cpu, 0, false, 0, 1);
	vcpu_exit(cpu, EXIT_REASON_HLT, MMU_EXIT_PLAIN, &no_work);
	if (cpu->nest && cpu->nest->level == 2)
		return;		/* L1 halted itself for L2, and L0 waited */
	if (cpu->timer_at == UINT64_MAX)
		vcpu_stop(cpu, "HLT with no timer armed: the vCPU would never wake");
	/* L0 blocks the vCPU until its timer: the wait is the VMM's. */
	now = core_now(&cpu->core);
	if (cpu->timer_at > now)
		core_serialize(&cpu->core, CORE_EXIT, cpu->timer_at - now, true);
}

void vcpu_timer_arm(struct vcpu *cpu, uint64_t at)
{
	cpu->timer_at = at ? (core_time)at * CORE_TICKS : UINT64_MAX;
}

void vcpu_timer_fire(struct vcpu *cpu)
{
	/* The deadline is consumed (one-shot); the handler re-arms it. */
	cpu->timer_at = UINT64_MAX;
	cpu->st.timer_ticks++;
	exit_info(cpu, 0, false, 0, 0);
	vcpu_exit(cpu, EXIT_REASON_EXTERNAL_INTERRUPT, MMU_EXIT_PLAIN, &no_work);
	if (cpu->intr_handler)
		cpu->intr_handler(cpu, cpu->intr_opaque);
}
