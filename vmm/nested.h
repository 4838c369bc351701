/*
 * nested.h - nested virtualization, L0 -> L1 -> L2: L0's nested VMX logic
 * (nested.c, after Linux arch/x86/kvm/vmx/nested.c), the L1 hypervisor
 * that runs as guest code on the vCPU (l1hv.c), and the personalities
 * that say which KVM each of them is.
 *
 *   L2 runs the workload ──exit──> L0: nested_vmx_reflect_vmexit
 *        l0_wants_exit  L0 handles it, L2 resumes
 *        l1_wants_exit  nested_vmx_vmexit: vmcs02 -> vmcs12 -> shadow VMCS,
 *                       L1 runs its exit handler (VMREAD, VMWRITE, RDMSR,
 *                       XSETBV: each exits to L0 unless the hardware can
 *                       serve it), then VMRESUME
 *   L1 VMRESUME ──exit──> L0: nested_vmx_run: shadow VMCS -> vmcs12,
 *                       checks, prepare_vmcs02, MSR bitmap merge, enter L2
 *
 * Glossary: vmcs01 L0's VMCS for L1; vmcs12 L1's VMCS for L2, as L1
 * sees it (here a table keyed by field encoding); vmcs02 the VMCS L0
 * builds from both to run L2; shadow VMCS the hardware copy of some
 * vmcs12 fields L1 may VMREAD/VMWRITE without an exit.
 */
#ifndef MEMVIRT_NESTED_H
#define MEMVIRT_NESTED_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm.h"

/*
 * VMCS field encodings (Intel SDM vol. 3, appendix B; the names of
 * Linux's arch/x86/include/asm/vmx.h). Bits 14:0 index the VMREAD and
 * VMWRITE bitmaps (SDM 24.6.15).
 */
enum vmcs_field {
	GUEST_CS_SELECTOR		= 0x0802,
	GUEST_INTR_STATUS		= 0x0810,
	GUEST_PML_INDEX			= 0x0812,
	HOST_FS_SELECTOR		= 0x0c08,
	HOST_GS_SELECTOR		= 0x0c0a,
	MSR_BITMAP			= 0x2004,
	TSC_OFFSET			= 0x2010,
	EPT_POINTER			= 0x201a,
	GUEST_PHYSICAL_ADDRESS		= 0x2400,
	GUEST_PHYSICAL_ADDRESS_HIGH	= 0x2401,
	GUEST_IA32_DEBUGCTL		= 0x2802,
	GUEST_BNDCFGS			= 0x2812,
	PIN_BASED_VM_EXEC_CONTROL	= 0x4000,
	CPU_BASED_VM_EXEC_CONTROL	= 0x4002,
	EXCEPTION_BITMAP		= 0x4004,
	VM_ENTRY_INTR_INFO_FIELD	= 0x4016,
	VM_ENTRY_EXCEPTION_ERROR_CODE	= 0x4018,
	VM_ENTRY_INSTRUCTION_LEN	= 0x401a,
	TPR_THRESHOLD			= 0x401c,
	SECONDARY_VM_EXEC_CONTROL	= 0x401e,
	VM_INSTRUCTION_ERROR		= 0x4400,
	VM_EXIT_REASON			= 0x4402,
	VM_EXIT_INTR_INFO		= 0x4404,
	VM_EXIT_INTR_ERROR_CODE		= 0x4406,
	IDT_VECTORING_INFO_FIELD	= 0x4408,
	IDT_VECTORING_ERROR_CODE	= 0x440a,
	VM_EXIT_INSTRUCTION_LEN		= 0x440c,
	GUEST_CS_LIMIT			= 0x4802,
	GUEST_CS_AR_BYTES		= 0x4816,
	GUEST_SS_AR_BYTES		= 0x4818,
	GUEST_INTERRUPTIBILITY_INFO	= 0x4824,
	VMX_PREEMPTION_TIMER_VALUE	= 0x482e,
	CR0_GUEST_HOST_MASK		= 0x6000,
	CR0_READ_SHADOW			= 0x6004,
	CR4_READ_SHADOW			= 0x6006,
	EXIT_QUALIFICATION		= 0x6400,
	GUEST_LINEAR_ADDRESS		= 0x640a,
	GUEST_CR0			= 0x6800,
	GUEST_CR3			= 0x6802,
	GUEST_CR4			= 0x6804,
	GUEST_ES_BASE			= 0x6806,
	GUEST_CS_BASE			= 0x6808,
	GUEST_RSP			= 0x681c,
	GUEST_RIP			= 0x681e,
	GUEST_RFLAGS			= 0x6820,
	HOST_FS_BASE			= 0x6c06,
	HOST_GS_BASE			= 0x6c08,
};
#define VMCS_FIELD_INDEX(f)	((f) & 0x7fffu)	/* bitmap bit / table slot */
#define VMCS_NR_FIELDS		0x8000u

/* Controls L1 sets in vmcs12 (SDM 24.6; Linux's names). */
#define PIN_BASED_EXT_INTR_MASK		(1u << 0)
#define CPU_BASED_HLT_EXITING		(1u << 7)
#define CPU_BASED_USE_MSR_BITMAPS	(1u << 28)
#define SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE	(1u << 4)
#define SECONDARY_EXEC_APIC_REGISTER_VIRT	(1u << 8)
#define SECONDARY_EXEC_SHADOW_VMCS	(1u << 14)

/* What one L1 exit handler does for one reason: its instructions and the
 * vmcs12 fields it reads and writes, in order. */
#define L1_MAX_FIELDS	8
struct l1_handler {
	unsigned	reason;			/* EXIT_REASON_*; 0 ends a list */
	unsigned	insns;			/* instructions besides the fields */
	uint16_t	reads[L1_MAX_FIELDS];	/* 0 ends */
	uint16_t	writes[L1_MAX_FIELDS];
};

/*
 * A personality: which KVM runs as L0 and as L1 (the same one, as in the
 * measurement it reproduces). The L0 half is what nested.c does; the L1
 * half is what l1hv.c executes. Data, so a remedy is one table row.
 */
struct l1_personality {
	const char	*name;
	const char	*desc;
	/* L0 */
	const uint16_t	*shadow_ro;		/* vmcs_shadow_fields.h, read-only */
	const uint16_t	*shadow_rw;		/*  ... read-write; 0 ends each */
	bool		dirty_tracking;		/* dirty_vmcs12: the full prepare_vmcs02
						 * only after an unshadowed VMWRITE */
	bool		msr_merge_wordwise;	/* copy the x2APIC range a word at a time,
						 * no page memset */
	bool		l0_debugctl_cached;	/* L0's vmx_vcpu_run keeps DEBUGCTL in memory */
	/* L1 */
	bool		l1_debugctl_cached;	/* else L1 RDMSRs IA32_DEBUGCTL per entry */
	bool		l1_xsetbv;		/* L1 loads L2's XCR0 on entry (they differ) */
	unsigned	exit_insns;		/* L1's exit path: vmx_vcpu_run after VMRESUME
						 * returns, vmx_handle_exit dispatch */
	unsigned	entry_insns;		/* L1's entry path up to VMRESUME */
	uint16_t	exit_reads[L1_MAX_FIELDS];	/* read on every exit */
	uint16_t	entry_writes[L1_MAX_FIELDS];	/* written before every entry */
	const struct l1_handler *handlers;	/* by reason; reason 0 ends */
};

extern const struct l1_personality *const l1hv_personalities[];
/* l1hv_personality_find - by name; NULL if there is none. */
const struct l1_personality *l1hv_personality_find(const char *name);

/* How L1 virtualizes its L2's memory (--l1-mmu). */
enum l1_mmu { L1_MMU_NONE = 0, L1_MMU_EPT, L1_MMU_SHADOW };

/* The nested state of one vCPU: L0's and L1's. */
struct nested {
	const struct l1_personality *pers;
	unsigned	level;			/* 1: L1 runs, 2: L2 runs */
	bool		shadowing;		/* VMCS shadowing on (hardware and L0) */
	bool		dirty;			/* vmcs12 written outside the shadow VMCS */
	/* L0: vmcs12 (L1's view, keyed by field encoding), the shadow VMCS,
	 * and the VMREAD/VMWRITE bitmaps (a set bit exits) */
	uint64_t	vmcs12[VMCS_NR_FIELDS];
	uint64_t	shadow[VMCS_NR_FIELDS];
	uint8_t		vmread_bitmap[4096];
	uint8_t		vmwrite_bitmap[4096];
	unsigned	n_shadow_ro, n_shadow_rw;
	/* L1's MSR bitmap for L2 (vmcs12's MSR_BITMAP page) and the one L0
	 * merges for the hardware while L2 runs (vmcs02's) */
	uint8_t		msr_bitmap12[4096];
	uint8_t		msr_bitmap02[4096];
	/* the exiting instruction, as the handler sees it (ECX, EDX:EAX,
	 * its length) */
	uint32_t	exit_msr;
	bool		exit_write;
	uint64_t	exit_val;
	unsigned	exit_len;
	/* L2's registers as L1 emulates them (CPUID's answer) */
	uint32_t	l2_regs[4];
	bool		l2_regs_set;		/* L1 wrote them for this exit */
	uint64_t	vmcs02_rip;		/* L2's RIP in the hardware VMCS */
	uint64_t	l2_xcr0;		/* L2's XCR0, which L1 loads on entry */
	/* mechanism counters, for tests */
	uint64_t	vmresumes;		/* nested VM entries (nested_vmx_run) */
	uint64_t	msr_merges;
};

/*
 * nested_start - make the vCPU's guest an L1 hypervisor running pers:
 * L1 enables VMX, builds its vmcs12 and MSR bitmap for an L2, and
 * launches it (through L0, which builds vmcs02). From then on, guest
 * code runs at L2. shadowing: use VMCS shadowing (the caller checked the
 * profile has it). Returns 0, or -1 (no host memory) with err set.
 */
int nested_start(struct vcpu *cpu, const struct l1_personality *pers, bool shadowing,
		 char *err, size_t errlen);
void nested_stop(struct vcpu *cpu);

/* nested_level - the level running: 1 without nesting, else 1 or 2. */
static inline unsigned nested_level(const struct vcpu *cpu)
{
	return cpu->nest ? cpu->nest->level : 1;
}

/*
 * nested_exit - a hardware exit while the vCPU is nested, from
 * vcpu_exit: while L2 runs, nested_vmx_reflect_vmexit (L0 handles it or
 * reflects it to L1, whose handler runs to its VMRESUME); while L1 runs,
 * L0's handler for it. Counts and prices it through vcpu_exit_charge.
 */
void nested_exit(struct vcpu *cpu, unsigned reason, const struct mmu_work *work);

/* The L1 hypervisor's instructions (l1hv.c), called by L1 code. */
uint64_t nested_vmread(struct vcpu *cpu, uint16_t field);
void nested_vmwrite(struct vcpu *cpu, uint16_t field, uint64_t val);
/* nested_vmresume - L1's VMRESUME: always an exit; L0 runs
 * nested_vmx_run and L2 runs again. */
void nested_vmresume(struct vcpu *cpu);
/* nested_vmlaunch - L1's first entry of L2 (VMLAUNCH); as VMRESUME. */
void nested_vmlaunch(struct vcpu *cpu);
/* nested_l1_insns - n instructions of the L1 hypervisor. */
void nested_l1_insns(struct vcpu *cpu, uint64_t n);

/* l1hv_handle_exit - L1's exit handler for a reflected exit (vmcs12
 * holds its reason and qualification); ends in VMRESUME. */
void l1hv_handle_exit(struct vcpu *cpu);
/* l1hv_launch - L1 builds its vmcs12 for L2 and launches it. */
void l1hv_launch(struct vcpu *cpu);

#endif /* MEMVIRT_NESTED_H */
