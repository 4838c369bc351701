/*
 * vmm.h - the VM, its vCPU and the guest access path; CPU profiles; the
 * cost model; exit accounting by VMX exit reason.
 */
#ifndef MEMVIRT_VMM_H
#define MEMVIRT_VMM_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "core.h"
#include "dist.h"
#include "mmu.h"
#include "sample.h"
#include "walker.h"

/* ------------------------------------------------------------------ */
/* CPU profiles (profiles/NAME.profile)                                */
/* ------------------------------------------------------------------ */

#define PROFILE_NAME_MAX	48
#define PROFILE_DESC_MAX	160
#define VMM_NR_EXIT_REASONS	80	/* EXIT_REASON_* codes are below this */

/* L0's nested steps, for the cycle accounting (struct nested_costs). */
enum vmm_nested_step {
	NSTEP_REFLECT,		/* nested_vmx_vmexit */
	NSTEP_SHADOW_COPY,	/* vmcs12 <-> shadow VMCS copies */
	NSTEP_VMENTRY,		/* nested_vmx_run checks and entry */
	NSTEP_PREPARE,		/* prepare_vmcs02 */
	NSTEP_MSR_MERGE,	/* vmcs02 MSR bitmap merge, memset included */
	NSTEP_DEBUGCTL,		/* vmx_vcpu_run reading IA32_DEBUGCTL */
	NSTEP_HANDLER,		/* the exit's own handler (exit_handler.NAME) */
	VMM_NESTED_NR_STEPS
};
extern const char *const vmm_nested_step_names[VMM_NESTED_NR_STEPS];

/* Costs, in core cycles unless the name says otherwise. */
struct mmu_costs {
	double		cpi;			/* cycles per guest instruction, memory excluded */
	double		l1d_hit;		/* data access that hits L1D */
	double		tlb_l2_hit;		/* extra cycles of an L2 (STLB) hit */
	double		walk_ref;		/* one page-walk memory reference */
	double		kernel_cpi;		/* cycles per guest kernel instruction, memory
						 * excluded (0: as cpi) */
	double		pf_delivery;		/* #PF delivery to the guest kernel and IRET */
	double		syscall;		/* SYSCALL + SYSRET round trip */
	double		exit_roundtrip;		/* VM exit + VM entry, hardware only */
	double		exit_handler[VMM_NR_EXIT_REASONS]; /* VMM work per exit, by reason */
	double		vmm_ref;		/* one table entry read/written by a VMM handler */
};

/*
 * L0's nested-virtualization work, step by step, in cycles (vmm/nested.c
 * follows Linux arch/x86/kvm/vmx/nested.c; profile keys nested.*).
 */
struct nested_costs {
	double		reflect;		/* nested_vmx_vmexit: sync vmcs02 -> vmcs12,
						 * load L1's host state, back to vmcs01 */
	double		shadow_field;		/* one field copied between vmcs12 and the
						 * shadow VMCS (copy_{vmcs12_to_shadow,
						 * shadow_to_vmcs12}) */
	double		vmentry;		/* nested_vmx_run: checks, switch to vmcs02,
						 * enter L2 (prepare excluded) */
	double		prepare_full;		/* prepare_vmcs02 with every field (dirty
						 * vmcs12, or no dirty tracking) */
	double		prepare_light;		/* prepare_vmcs02 with the shadowed fields only */
	double		msr_merge_bit;		/* one MSR of a bit-by-bit bitmap merge */
	double		msr_merge_word;		/* one 64-bit word of a word-wise merge */
	double		msr_bitmap_memset;	/* memset of the 4 KiB vmcs02 MSR bitmap */
	double		debugctl_read;		/* vmx_vcpu_run's RDMSR of IA32_DEBUGCTL on
						 * every VM entry (uncached) */
	double		vmcs_shadow_access;	/* VMREAD/VMWRITE the shadow VMCS serves */
};

/* The out-of-order core's resources (core/core.h). */
struct core_geom {
	unsigned	rob;			/* reorder window, instructions */
	unsigned	store_buffer;		/* store buffer entries */
	unsigned	store_rfos;		/* store-miss line fetches in flight */
	unsigned	mshrs;			/* L1D miss buffers */
	unsigned	walkers;		/* concurrent page walks */
};

struct profile {
	char		name[PROFILE_NAME_MAX];		/* file stem: "phenom2-n620" */
	char		desc[PROFILE_DESC_MAX];
	char		path[4096];
	double		clock_hz;
	unsigned	maxphyaddr;			/* bits */
	bool		vpid;				/* VPID/ASID: exits keep the TLB */
	bool		pcid;				/* PCID supported */
	bool		gbpages;			/* 1G pages supported */
	bool		ept_ad;				/* EPT A/D flags */
	struct tlb_config tlb;
	struct tlb_config itlb;				/* instruction side (psc unused); no
							 * itlb.l1.0: fetches use tlb */
	struct tc_geom	ntlb;				/* EPT: nested TLB (gpa -> hpa of guest tables) */
	struct tc_geom	ept_psc[3];			/* EPT paging-structure caches */
	struct mmu_costs costs;
	struct memsys_config mem;			/* the memory model: L1D, L2, LLC, DRAM */
	struct core_geom core;				/* the timing model's resources */
	/* nested virtualization (issue 15); optional keys, default 0 */
	bool		vmx;				/* VT-x: VMCS, VMREAD/VMWRITE (not AMD-V) */
	bool		vmcs_shadowing;			/* VMCS shadowing (Haswell on) */
	struct nested_costs nested;
};

/*
 * profile_load - parse a profile file. Returns 0, or -1 with a one-line
 * message "FILE:LINE: key 'K': what is wrong" (or "FILE: ...") in err;
 * -2 (message in err too) when path is not a regular file, which is never
 * read (a FIFO is not even waited on). At most 256 KiB and 4096 lines
 * are read (PROFILE_FILE_MAX, PROFILE_LINES_MAX in profile.c).
 */
int profile_load(struct profile *p, const char *path, char *err, size_t errlen);

/*
 * profile_find - load profile `name`: a path if it contains '/' or ends
 * in ".profile", else DIR/NAME.profile for DIR = $MEMVIRT_PROFILES or
 * the source tree's profiles/. Same error contract as profile_load.
 */
int profile_find(struct profile *p, const char *name, char *err, size_t errlen);

/* profile_dir - the directory profile_find searches: $MEMVIRT_PROFILES,
 * else the source tree's profiles/ when running from the build tree,
 * else the installed DATADIR/memvirt/profiles. */
const char *profile_dir(void);

/*
 * profile_list - the stems of the *.profile files in profile_dir(),
 * sorted, for `vmm --list`. Stores at most max names (the first max in
 * sort order) and returns how many it stored, or -1 (errno set) when
 * the directory cannot be read.
 */
int profile_list(char names[][PROFILE_NAME_MAX], int max);

/* ------------------------------------------------------------------ */
/* Statistics and the cost model                                       */
/* ------------------------------------------------------------------ */

/* The exits of one reason on one VMCS field (VMREAD, VMWRITE) or MSR
 * (MSR_READ, MSR_WRITE): which ones exit, as the talk's profile showed. */
#define VMM_EXIT_DETAILS	24
struct vmm_exit_detail {
	uint32_t	key;			/* field encoding or MSR index */
	uint8_t		reason;			/* EXIT_REASON_*; 0: unused slot */
	uint64_t	n;
};

/* vmm_exit_detail - count one exit of reason on key (the first
 * VMM_EXIT_DETAILS pairs met are kept; later new ones are not). */
void vmm_exit_detail(struct vmm_exit_detail *d, unsigned reason, uint32_t key);
/* vmm_vmcs_field_name, vmm_msr_name - "GUEST_PML_INDEX", "IA32_DEBUGCTL";
 * NULL for one the model does not name. */
const char *vmm_vmcs_field_name(uint32_t field);
const char *vmm_msr_name(uint32_t msr);

struct vcpu_stats {
	uint64_t	accesses;		/* guest data accesses with paging on */
	uint64_t	load_level[MEM_DRAM + 1];	/* data loads by the level that served
						 * them (memory model on) */
	uint64_t	mem_refs[HREF_NR][MEM_DRAM + 1];	/* walker / VMM references by
						 * serving level (memory model on) */
	uint64_t	phys_accesses;		/* with paging off (boot) */
	uint64_t	l1_hits;
	uint64_t	l2_hits;
	uint64_t	dtlb_misses;		/* accesses that missed every TLB level */
	uint64_t	walks;			/* hardware page walks, faulting ones too */
	uint64_t	walk_reads;
	uint64_t	walk_ad_writes;
	uint64_t	psc_hits;
	uint64_t	ntlb_hits;
	uint64_t	insns_user;
	uint64_t	insns_kernel;
	uint64_t	syscalls;
	uint64_t	guest_page_faults;	/* #PF delivered to the guest OS */
	uint64_t	cr3_writes;
	uint64_t	invlpgs;
	uint64_t	unbacked_accesses;	/* data accesses to gpa outside guest RAM */
	uint64_t	stores;			/* of all data accesses, the stores; kept
						 * apart from the counters the fast path
						 * bumps, which the compiler would pair into
						 * one 16-byte add that a load's 8-byte
						 * update cannot forward to */
	uint64_t	handler_reads;		/* VMM handlers: entries read */
	uint64_t	handler_writes;		/* VMM handlers: entries written */
	uint64_t	hidden_faults;		/* shadow: exits that filled an spte */
	uint64_t	true_faults;		/* shadow: exits that injected #PF */
	uint64_t	trace_faults;		/* shadow: exits for guest table writes */
	uint64_t	exits[VMM_NR_EXIT_REASONS];
	double		exit_cycles[VMM_NR_EXIT_REASONS];	/* each exit's price */
	core_time	stack[CORE_NR];		/* the core model's cycle stack, in
						 * ticks (set by vcpu_finish) */
	/* shadow page cache events, from struct mmu_work (appended) */
	uint64_t	shadow_created;		/* shadow pages created */
	uint64_t	shadow_zapped;		/* shadow pages zapped */
	uint64_t	flood_zaps;		/* of those, for write floods / misaligned writes */
	uint64_t	unsync_pages;		/* shadow pages gone unsync */
	uint64_t	resync_pages;		/* unsync shadow pages synced or zapped */
	uint64_t	pde_zapped;		/* non-leaf sptes zapped by guest writes */
	uint64_t	spurious_faults;	/* hidden faults that changed no leaf spte */
	uint64_t	vmm_tlb_flushes;	/* VM entries the VMM flushed the TLB for */
	struct vmm_exit_dist exit_dist[VMM_NR_EXIT_REASONS];	/* per-exit spread (dist.h) */
	uint64_t	walk_hist[VMM_WALK_HIST_MAX + 1];	/* walks by references made */
	/* nested virtualization and non-memory exits (issue 15) */
	uint64_t	level_exits[2][VMM_NR_EXIT_REASONS];	/* hardware exits to L0 by
						 * the level running: [0] L1, [1] L2 */
	uint64_t	reflected[VMM_NR_EXIT_REASONS];	/* L2 exits L0 reflected to L1 */
	double		exit_transition;	/* of the exits' cycles: hardware round trips */
	double		nested_step[VMM_NESTED_NR_STEPS];	/* L0's nested work by step */
	uint64_t	nested_step_n[VMM_NESTED_NR_STEPS];	/* how often each step ran */
	uint64_t	insns_l1;		/* instructions of the L1 hypervisor */
	uint64_t	vmcs_shadow_hits;	/* VMREAD/VMWRITE served by the shadow VMCS */
	uint64_t	prepare_full;		/* nested VM entries with a full prepare_vmcs02 */
	uint64_t	timer_ticks;		/* timer interrupts delivered to the guest OS */
	/* instruction fetch (g_fetch): not part of accesses or dtlb_misses */
	uint64_t	ifetches;		/* instruction lines fetched with paging on */
	uint64_t	itlb_l2_hits;		/* fetches that missed the L1 iTLB, hit L2 */
	uint64_t	itlb_misses;		/* fetches that missed every TLB level */
	struct vmm_exit_detail detail[VMM_EXIT_DETAILS];	/* exits by field / MSR */
};

/*
 * Where the modeled cycles went; the categories add up to total. A cycle
 * is the core's: one in which dispatch went on is a base cycle of the
 * privilege level running, one in which it stalled is charged to what
 * held the head of the window (core/core.h).
 */
struct cycle_breakdown {
	double		user;		/* base cycles of guest user instructions */
	double		kernel;		/* base cycles of guest kernel instructions,
					 * syscalls, #PF delivery */
	double		data;		/* stalls on data memory: loads, stores */
	double		tlb;		/* stalls on second-level TLB lookups */
	double		walk;		/* stalls on page walks */
	double		exit;		/* VM exits, all reasons */
	double		total;
	/* parts of the above */
	double		syscall;	/* of kernel: SYSCALL/SYSRET */
	double		pf;		/* of kernel: #PF delivery and IRET */
	double		data_level[MEM_DRAM + 1];	/* of data: loads by serving level */
	double		store;		/* of data: store buffer full or draining */
	double		l1;		/* of kernel: the L1 hypervisor's own instructions */
	double		exit_transition;	/* of exit: hardware VM exit + entry */
	double		exit_l0;	/* of exit: L0's handlers and nested logic */
};

/* vmm_cycles - the modeled cycles of a run from its cycle stack. */
void vmm_cycles(const struct vcpu_stats *s, struct cycle_breakdown *out);

/* vmm_exit_price - the cycles of one exit of `reason` whose handler did
 * `work`: the hardware round trip, the handler, its table references.
 * The one place an exit is priced. */
double vmm_exit_price(const struct mmu_costs *c, unsigned reason,
		      const struct mmu_work *work);

/* vmm_exit_name - "EPT_VIOLATION" for EXIT_REASON_EPT_VIOLATION, from
 * <asm/vmx.h>'s table; NULL for an unknown code. */
const char *vmm_exit_name(unsigned reason);

/* ------------------------------------------------------------------ */
/* The VM and its vCPU                                                 */
/* ------------------------------------------------------------------ */

struct vcpu;

/* The guest's #PF handler (its IDT entry 14): runs guest code on the
 * vCPU. Returns 0 when the faulting access may be retried. */
typedef int (*vcpu_pf_handler)(struct vcpu *cpu, gva_t cr2, uint32_t error_code,
			       void *opaque);

/* The guest's external-interrupt handler (timer vector): runs guest
 * code on the vCPU. */
typedef void (*vcpu_intr_handler)(struct vcpu *cpu, void *opaque);

/* MSRs the vCPU keeps a value for (vcpu_ops.c, vcpu_msr_index). */
#define VCPU_NR_MSRS	8
struct nested;

struct vcpu {
	/* hot: the fast path touches only these */
	struct mmu		mmu;		/* tlb first inside */
	struct vcpu_stats	st;
	unsigned		idx_user;	/* 3 at CPL 3, else 0: ACC_IDX base */
	struct core		core;		/* the timing model */
	core_time		walk_ref;	/* memory model off: one walk reference */
	bool			ff;		/* sampled mode, fast-forwarding (sample.h) */
	bool			ff_warm;	/* ... and warming the caches as it goes
						 * (--sample-warming=caches) */
	uint64_t		sample_at;	/* detailed phases: sample_step when
						 * st.accesses gets here; UINT64_MAX while
						 * fast-forwarding and in the exact mode */
	uint64_t		ff_string;	/* of this phase's kernel instructions, those
						 * of string operations (g_insn_string) */
	uint64_t		ff_acc;		/* fast-forwarded accesses of this phase: in
						 * st.accesses when the phase ends */
	uint64_t		ff_until;	/* the phase ends at this ff_acc */
	struct ff_entry		*ffm;		/* fast-forward translations (FF_SIZE) */
	struct sampler		*smp;		/* NULL: the exact mode */

	struct vm		*vm;
	vcpu_pf_handler		pf_handler;
	void			*pf_opaque;
	unsigned		pf_depth;	/* nested #PF handlers running */
	jmp_buf			*stop_jmp;	/* where vcpu_stop() returns to */
	char			stop_msg[256];

	/* non-memory exits (vcpu_ops.c) and nesting (nested.c) */
	struct nested		*nest;		/* NULL: one level (the guest is L1) */
	core_time		timer_at;	/* the guest's timer fires then (core time);
						 * UINT64_MAX: not armed */
	vcpu_intr_handler	intr_handler;	/* the guest OS's timer interrupt */
	void			*intr_opaque;
	uint64_t		xcr0;
	uint64_t		msr_val[VCPU_NR_MSRS];	/* the guest's MSRs (vcpu_ops.c) */
	uint8_t			msr_bitmap[4096];	/* L0's VMX MSR bitmap for this
						 * guest (SDM 24.6.9): a set bit exits */
	struct tlb		*itlb;		/* fetches look up here: &itlb_split,
						 * or &mmu.tlb when the profile has
						 * no instruction TLB */
	struct tlb		itlb_split;	/* the instruction TLB, mmu.tlb's peer */
};

enum vm_backing { VM_BACKING_4K = 0, VM_BACKING_THP, VM_BACKING_HUGETLBFS };

struct vm_config {
	const struct mmu_ops	*ops;
	const struct profile	*prof;
	uint64_t		guest_mem;	/* bytes of guest RAM */
	uint64_t		vmm_mem;	/* bytes for VMM tables (shadow, EPT) */
	unsigned		guest_level;	/* LEVEL_4K/2M/1G: --pages */
	unsigned		host_level;	/* --host-pages */
	int			numa_node;	/* -1: no binding */
	bool			cache_model;	/* run the memory model */
	const uint64_t		*mmu_params;	/* backend parameters, copied */
};

struct vm {
	struct vcpu		cpu;
	struct memsys		memsys;		/* the memory model (cfg.cache_model) */
	const struct profile	*prof;
	enum vm_backing		backing;
	int			numa_node;
	void			*alloc;		/* host allocation */
	uint64_t		alloc_len;
	bool			alloc_huge;	/* from libhugetlbfs */
};

/*
 * vm_create - take host memory for guest RAM (and the VMM's tables),
 * bind it to a NUMA node if asked, and bring up the vCPU with paging off.
 * Returns 0, or -1 with a one-line reason in err.
 */
int vm_create(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen);

/*
 * vm_layout - where vm_create puts a VM of cfg in host physical memory:
 * guest RAM's backing [0, *backing) (guest_mem rounded up to the host
 * page), then the VMM's region of *vmm_bytes (cfg->vmm_mem, 0 for native,
 * clipped so it ends at or below 2^maxphyaddr: the modeled hardware must
 * reach every table the VMM builds). Returns 0, or -1 with a one-line
 * reason naming the key and the limit in err when guest RAM is above
 * 2^maxphyaddr, the MMU cannot work with this maxphyaddr (EPT below 36),
 * the tables the MMU needs do not fit, or 1G host pages would back more
 * than guest RAM (guest_mem not a multiple of 1g). Allocates nothing: main
 * validates the whole grid with it before running any cell.
 */
int vm_layout(const struct vm_config *cfg, uint64_t *backing, uint64_t *vmm_bytes,
	      char *err, size_t errlen);
void vm_destroy(struct vm *vm);
/* vm_numa_check - can guest RAM be bound to NUMA node `node` (-1: no
 * binding asked)? 0, or -1 with a one-line reason in err. */
int vm_numa_check(int node, char *err, size_t errlen);
const char *vm_backing_name(enum vm_backing b);

/* vcpu_stop - the VM cannot go on: record why and unwind to stop_jmp. */
_Noreturn void vcpu_stop(struct vcpu *cpu, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * vcpu_access_slow - the whole access path for one guest access of
 * `size` bytes (naturally aligned) at va: TLB lookup, backend on a miss,
 * exits, #PF delivery to the guest, retry. For a read, *val receives the
 * data; for a write, *val is stored. Used when the fast path misses.
 */
void vcpu_access_slow(struct vcpu *cpu, gva_t va, unsigned acc, unsigned size,
		      uint64_t *val);

/* vcpu_data_ref - a data access reaches host memory at hpa: through the
 * memory model when it is on, then through the core model, with how it
 * was translated (tlb: CORE_TLB_*, walk: the walk's duration). */
static inline void vcpu_data_ref(struct vcpu *cpu, hpa_t hpa, bool store, uint8_t tlb,
				 core_time walk)
{
	struct memsys *mem = cpu->mmu.mem;
	struct core_access a = { .store = store, .level = MEM_L1, .tlb = tlb, .walk = walk };

	if (store)
		cpu->st.stores++;
	if (mem) {
		enum mem_level l = memsys_access(mem, hpa);

		if (!store)
			cpu->st.load_level[l]++;
		a.level = (uint8_t)l;
	}
	core_access(&cpu->core, &a);
}

/* vcpu_data_ref after an L1 TLB hit: the core's inline path for an L1D
 * hit. */
static inline void vcpu_data_ref_l1(struct vcpu *cpu, hpa_t hpa, bool store)
{
	struct memsys *mem = cpu->mmu.mem;
	enum mem_level l = MEM_L1;

	if (store)
		cpu->st.stores++;
	if (mem) {
		l = memsys_access(mem, hpa);
		if (!store)
			cpu->st.load_level[l]++;
	}
	if (likely(l == MEM_L1))
		core_access_l1(&cpu->core, store);
	else
		core_access(&cpu->core, &(struct core_access){ .store = store,
			.level = (uint8_t)l, .tlb = CORE_TLB_L1 });
}

/* A fast-forwarded access (sample.h): a functional translation and the
 * access counted, nothing else modeled; under functional warming
 * (ff_warm) the line is also looked up and filled in the cache model, as
 * the exact run would, with nothing timed or counted. Its dispatch
 * cycle is added when the phase ends (sample_step), so that the loop
 * stores as little as it can: every store of ours queues behind the
 * guest's, which miss. NULL: the whole path, then sample_fill. */
static inline uint8_t *vcpu_ff(struct vcpu *cpu, gva_t va, unsigned idx)
{
	uint64_t vpn = va >> PAGE_SHIFT;
	struct ff_entry *e = &cpu->ffm[vpn & (FF_SIZE - 1)];

	if (likely(e->vpn == vpn && e->gen == cpu->mmu.tlb.inval_gen &&
		   ((e->allow >> (cpu->idx_user + idx)) & 1u))) {
		uint8_t *p = e->host + (va & (PAGE_SIZE - 1));

		if (idx)
			cpu->st.stores++;
		if (cpu->ff_warm)
			(void)memsys_access(cpu->mmu.mem, (hpa_t)(p - cpu->mmu.hmem.base));
		if (unlikely(++cpu->ff_acc >= cpu->ff_until))
			sample_step(cpu);
		return p;
	}
	return NULL;
}

/* The hot path: an L1 TLB hit. NULL sends the caller to the slow path.
 * idx is 0 for a load, 1 for a store (a constant at every call site). */
static inline __attribute__((always_inline)) uint8_t *vcpu_fast(struct vcpu *cpu, gva_t va, unsigned idx)
{
	struct tlb_memo *m;

	if (unlikely(cpu->ff))
		return vcpu_ff(cpu, va, idx);
	m = tlb_hit_fast(&cpu->mmu.tlb, va, cpu->idx_user + idx);

	if (likely(m != NULL)) {
		hpa_t hpa = m->hpa + (va & (PAGE_SIZE - 1));

		cpu->st.accesses++;
		cpu->st.l1_hits++;
		vcpu_data_ref_l1(cpu, hpa, idx == 1);
		return cpu->mmu.hmem.base + hpa;
	}
	return NULL;
}

#define VCPU_ACCESSORS(bits, type)						\
static inline __attribute__((always_inline)) type g_ld##bits(struct vcpu *cpu, gva_t va) \
{										\
	uint8_t *p = vcpu_fast(cpu, va, 0);					\
	uint64_t v;								\
	if (likely(p != NULL)) {						\
		type x;								\
		__builtin_memcpy(&x, p, sizeof(x));				\
		return x;							\
	}									\
	vcpu_access_slow(cpu, va, ACC_READ, sizeof(type), &v);			\
	return (type)v;								\
}										\
static inline __attribute__((always_inline)) void g_st##bits(struct vcpu *cpu, gva_t va, type x) \
{										\
	uint8_t *p = vcpu_fast(cpu, va, 1);					\
	uint64_t v = x;								\
	if (likely(p != NULL)) {						\
		__builtin_memcpy(p, &x, sizeof(x));				\
		return;								\
	}									\
	vcpu_access_slow(cpu, va, ACC_WRITE, sizeof(type), &v);			\
}
VCPU_ACCESSORS(8, uint8_t)
VCPU_ACCESSORS(16, uint16_t)
VCPU_ACCESSORS(32, uint32_t)
VCPU_ACCESSORS(64, uint64_t)
#undef VCPU_ACCESSORS

/* vcpu_timer_fire - the guest's timer deadline has passed: an external
 * interrupt (an exit), then the guest OS's handler. */
void vcpu_timer_fire(struct vcpu *cpu);
/*
 * g_stline / g_ldline - one access of a whole cache line (VMM_LINE bytes,
 * va aligned to it) to or from buf: a wide store or load, as clear_page
 * and copy_page make them. Translated, counted and timed as one access.
 * When the access does not complete through the TLB into host memory
 * (a write the VMM emulated, or memory outside guest RAM), the rest of
 * the line goes 8 bytes at a time, each its own access.
 */
#define VMM_LINE	64u
void g_stline(struct vcpu *cpu, gva_t va, const void *buf);
void g_ldline(struct vcpu *cpu, gva_t va, void *buf);

/*
 * g_fetch - the guest fetches the instruction line at va: one call per
 * line of code a path runs (its instructions are counted by g_insn).
 * Looked up in the instruction TLB; a miss walks (and may fault, with
 * the #PF error code's I/D bit set), and the walk stalls the front end.
 * Counted in ifetches and itlb_*, never in accesses or dtlb_misses.
 */
void vcpu_fetch_slow(struct vcpu *cpu, gva_t va);
static inline void g_fetch(struct vcpu *cpu, gva_t va)
{
	if (likely(tlb_hit_fast(cpu->itlb, va, cpu->idx_user + 2) != NULL)) {
		cpu->st.ifetches++;
		return;
	}
	vcpu_fetch_slow(cpu, va);
}

/* g_insn_string - n instructions' worth of a string operation's work
 * (rep stos/movs: clear_page, copy_page, one per 8 bytes moved) in the
 * guest kernel: counted as g_insn counts them, but dispatched at the
 * profile's cpi, not kernel_cpi: the microcode streams at the core's
 * width, it is not the kernel's branchy code. Its memory accesses are
 * the line accesses, timed on their own. */
static inline void g_insn_string(struct vcpu *cpu, uint64_t n)
{
	cpu->st.insns_kernel += n;
	if (unlikely(cpu->ff)) {
		cpu->ff_string += n;
		return;		/* dispatched when the phase ends (sample_step) */
	}
	core_insns_string(&cpu->core, n);
	if (unlikely(core_now(&cpu->core) >= cpu->timer_at))
		vcpu_timer_fire(cpu);
	if (unlikely(cpu->st.accesses >= cpu->sample_at))
		sample_step(cpu);
}

/* g_insn - the guest retired n instructions (besides its memory accesses)
 * at its current privilege level. */
static inline void g_insn(struct vcpu *cpu, uint64_t n)
{
	if (cpu->mmu.sregs.cpl == 3)
		cpu->st.insns_user += n;
	else
		cpu->st.insns_kernel += n;
	if (unlikely(cpu->ff))
		return;		/* dispatched when the phase ends (sample_step) */
	core_insns(&cpu->core, n);
	if (unlikely(core_now(&cpu->core) >= cpu->timer_at))
		vcpu_timer_fire(cpu);
	if (unlikely(cpu->st.accesses >= cpu->sample_at))
		sample_step(cpu);
}

/* g_phase - the guest program enters a new phase (a loop after its
 * set-up, a checksum after the loop): the sampled mode begins a new
 * stratum, so that a phase shorter than a sampling period is measured
 * rather than extrapolated from another. Nothing in the exact mode. */
static inline void g_phase(struct vcpu *cpu)
{
	if (unlikely(cpu->smp != NULL))
		sample_phase(cpu);
}

/* g_dep - the next access's address is computed from the value the last
 * load returned (a pointer chase): it cannot issue before that load
 * completes. Accesses are independent unless the guest code says so. */
static inline void g_dep(struct vcpu *cpu)
{
	core_dep(&cpu->core);
}

/* Privileged guest operations: their architectural TLB effects, then the
 * backend's interception (an exit under shadow paging). */
void vcpu_write_cr0(struct vcpu *cpu, uint64_t val);
void vcpu_write_cr3(struct vcpu *cpu, uint64_t val);
void vcpu_write_cr4(struct vcpu *cpu, uint64_t val);
void vcpu_write_efer(struct vcpu *cpu, uint64_t val);
void vcpu_invlpg(struct vcpu *cpu, gva_t va);
/* vcpu_set_cpl - enter user mode (3) or the kernel (0): SYSRET/IRET and
 * SYSCALL/exception entry change CPL. */
void vcpu_set_cpl(struct vcpu *cpu, uint8_t cpl);
/* vcpu_syscall - a SYSCALL/SYSRET round trip happened. */
void vcpu_syscall(struct vcpu *cpu);

/*
 * vcpu_exit - one VM exit of `reason` whose VMM handler did `work`, in
 * its three steps: count it (the one place exits are counted), time it
 * (the window drains, then the exit's price), and enter the guest again
 * (without VPID tagging, VM entry flushes the TLB).
 */
void vcpu_exit(struct vcpu *cpu, unsigned reason, enum mmu_exit_kind kind,
	       const struct mmu_work *work);

/*
 * Non-memory instructions the guest executes (vcpu_ops.c). Each is an
 * exit by its <asm/vmx.h> reason where VMX makes it one: CPUID, XSETBV
 * and HLT always; RDMSR/WRMSR when the MSR bitmap says so. Under
 * nesting the exit goes through L0's reflection logic (nested.c).
 */
/* vcpu_cpuid - CPUID leaf/subleaf; out[0..3] = EAX, EBX, ECX, EDX. */
void vcpu_cpuid(struct vcpu *cpu, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
uint64_t vcpu_rdmsr(struct vcpu *cpu, uint32_t msr);
void vcpu_wrmsr(struct vcpu *cpu, uint32_t msr, uint64_t val);
void vcpu_xsetbv(struct vcpu *cpu, uint32_t xcr, uint64_t val);
/* vcpu_hlt - HLT: an exit; the guest resumes at the next interrupt
 * (its timer, when armed: the time until then is idle). */
void vcpu_hlt(struct vcpu *cpu);
/* vcpu_msr_exits - does an access to msr exit under bitmap? (SDM
 * 24.6.9: MSRs outside 0..0x1fff and 0xc0000000..0xc0001fff always do) */
bool vcpu_msr_exits(const uint8_t bitmap[4096], uint32_t msr, bool write);
/* vcpu_msr_bitmap_set - set (intercept) or clear one MSR's bit. */
void vcpu_msr_bitmap_set(uint8_t bitmap[4096], uint32_t msr, bool write, bool intercept);
/* vcpu_msr_bitmap_default - L0's bitmap for a guest, KVM-like: every MSR
 * intercepted but the ones KVM passes through (FS/GS bases, SYSENTER,
 * the x2APIC registers APICv serves). */
void vcpu_msr_bitmap_default(uint8_t bitmap[4096]);
/* vcpu_cpuid_value - the CPUID answer a KVM-like hypervisor gives for
 * leaf/subleaf on a CPU of profile prof (the same at every level). */
void vcpu_cpuid_value(const struct profile *prof, uint32_t leaf, uint32_t subleaf,
		      uint32_t out[4]);
/* vcpu_timer_arm - the guest's TSC-deadline timer fires at core cycle
 * `at` (0: disarm). */
void vcpu_timer_arm(struct vcpu *cpu, uint64_t at);

/*
 * vcpu_exit_charge - the accounting of one hardware exit L0 has priced:
 * count it (by the level running) and serialise `price` cycles, of which
 * `transition` are the hardware round trip. Used by nested.c.
 */
void vcpu_exit_charge(struct vcpu *cpu, unsigned reason, double price, double transition);
/* vcpu_itlb_init - the instruction TLB of geometry cfg (its psc is not
 * used: walks share the data side's paging-structure caches), made the
 * peer of cpu->mmu.tlb; with no L1 array (cfg->l1[0].entries == 0)
 * fetches use mmu.tlb itself. 0, or -errno on a bad geometry.
 * vcpu_itlb_destroy undoes it. */
int vcpu_itlb_init(struct vcpu *cpu, const struct tlb_config *cfg);
void vcpu_itlb_destroy(struct vcpu *cpu);

/* vcpu_finish - the run is over: drain the core and store its cycle
 * stack in cpu->st.stack. */
void vcpu_finish(struct vcpu *cpu);

/* The backend table, by name. */
extern const struct mmu_ops *const vmm_backends[];
const struct mmu_ops *vmm_backend_find(const char *name);

#endif /* MEMVIRT_VMM_H */
