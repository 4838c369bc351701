/*
 * mmu.h - the pluggable MMU layer: the mmu_ops interface every backend
 * implements, the MMU instance (TLB, guest paging state, host memory) and
 * the native backend. The mechanisms it is built from have a header each:
 *   tc.h      tagged set-associative caches
 *   tlb.h     the two-level TLB
 *   psc.h     paging-structure caches
 *   memsys.h  the memory model (L1D, L2, LLC, DRAM)
 *   hmem.h    host physical memory
 *   p2m.h     the gpa -> hpa map of guest RAM
 */
#ifndef MEMVIRT_MMU_H
#define MEMVIRT_MMU_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "hmem.h"
#include "p2m.h"
#include "tlb.h"
#include "walker.h"

/* ------------------------------------------------------------------ */
/* The MMU instance and the backend interface                        */
/* ------------------------------------------------------------------ */

/* The paging state of the guest, as a struct kvm_sregs would hold it. */
struct mmu_sregs {
	uint64_t	cr0;
	uint64_t	cr3;
	uint64_t	cr4;
	uint64_t	efer;
	uint64_t	rflags;
	uint8_t		cpl;		/* 0 kernel, 3 user */
};

#define CR0_PE		(UINT64_C(1) << 0)
#define CR0_WP		(UINT64_C(1) << 16)
#define CR0_PG		(UINT64_C(1) << 31)
#define CR3_PCID_MASK	UINT64_C(0xfff)
#define CR3_NOFLUSH	(UINT64_C(1) << 63)
#define CR4_PSE		(UINT64_C(1) << 4)
#define CR4_PAE		(UINT64_C(1) << 5)
#define CR4_PGE		(UINT64_C(1) << 7)
#define CR4_LA57	(UINT64_C(1) << 12)
#define CR4_PCIDE	(UINT64_C(1) << 17)
#define CR4_SMEP	(UINT64_C(1) << 20)
#define CR4_SMAP	(UINT64_C(1) << 21)
#define EFER_LME	(UINT64_C(1) << 8)
#define EFER_LMA	(UINT64_C(1) << 10)
#define EFER_NXE	(UINT64_C(1) << 11)
#define RFLAGS_AC	(UINT64_C(1) << 18)

/* What a walk or a VMM handler did, for the cost model. Every field is an
 * event that took place; the vCPU adds them up where it dispatches. */
struct mmu_work {
	uint32_t	walk_reads;	/* hardware walker entry reads */
	uint32_t	walk_ad_writes;	/* hardware walker A/D writes */
	uint32_t	psc_hits;	/* walks shortened by a PSC hit */
	uint32_t	ntlb_hits;	/* EPT: nested TLB hits */
	uint32_t	handler_reads;	/* VMM handler: table entries read */
	uint32_t	handler_writes;	/* VMM handler: table entries written */
	/* shadow page cache events (KVM's statistics of the same meaning) */
	uint32_t	sp_created;	/* shadow pages created (mmu_cache_miss) */
	uint32_t	sp_zapped;	/* shadow pages zapped (mmu_shadow_zapped) */
	uint32_t	flood_zaps;	/* zapped for a write flood or a misaligned
					 * write (mmu_flooded) */
	uint32_t	unsyncs;	/* shadow pages gone unsync */
	uint32_t	resyncs;	/* unsync shadow pages synced or zapped */
	uint32_t	pde_zapped;	/* non-leaf sptes zapped for a guest write of
					 * a present entry (mmu_pde_zapped) */
	uint32_t	spurious;	/* a hidden fault whose leaf spte was already
					 * what the fill made it (pf_spurious) */
	uint32_t	tlb_flush;	/* 1: the VMM flushes the guest's TLB before
					 * the next entry (KVM's tlb_flush: a CR3
					 * load, or a remote flush after a zap) */
};

/* What an exit was for, when the backend classifies it (shadow paging's
 * fault taxonomy); counted by the vCPU with the exit. */
enum mmu_exit_kind {
	MMU_EXIT_PLAIN = 0,	/* nothing more to say */
	MMU_EXIT_HIDDEN,	/* shadow: spte missing/too weak, gpte allows: filled */
	MMU_EXIT_TRUE,		/* shadow: gpte refuses: #PF injected into the guest */
	MMU_EXIT_TRACE,		/* shadow: write to a write-protected guest table */
};

/* One TLB miss, handed to the backend. */
struct mmu_fault {
	/* inputs */
	gva_t		va;
	unsigned	access;		/* ACC_* */
	unsigned	size;		/* bytes of the access (1, 2, 4, 8) */
	uint64_t	store_val;	/* the value, for a write the VMM may emulate */

	/* outputs: translation (MMU_OK) */
	hpa_t		hpa;		/* page base */
	unsigned	level;		/* TLB entry size (min of guest and host page) */
	unsigned	rights;		/* RIGHT_* */
	bool		global;
	bool		dirty;
	bool		unbacked;	/* the gpa is outside guest RAM: the access
					 * goes nowhere (reads all ones), no TLB fill */

	/* outputs: guest fault (MMU_FAULT) */
	uint32_t	error_code;	/* #PF error code; CR2 = va */

	/* outputs: exit (MMU_EXIT, MMU_EMULATED; MMU_FAULT when `exited`,
	 * i.e. the VMM took the exit and then injected the #PF) */
	bool		exited;
	unsigned	exit_reason;	/* EXIT_REASON_* of <asm/vmx.h> */
	enum mmu_exit_kind exit_kind;
	uint64_t	exit_qual;	/* exit qualification, as the VMCS holds it */
	gpa_t		exit_gpa;	/* EPT violation/misconfig: the guest-physical
					 * address (the VMCS field of that name) */

	/* outputs: always */
	struct mmu_work	work;
	const char	*stop;		/* MMU_STOP: why the VM cannot go on */
};

enum mmu_result {
	MMU_OK = 0,	/* translation in hpa/level/rights: fill the TLB */
	MMU_FAULT,	/* deliver #PF(error_code) to the guest */
	MMU_EXIT,	/* the VMM handled an exit; retry the access */
	MMU_EMULATED,	/* the VMM handled an exit and completed the access */
	MMU_STOP,	/* the VM cannot continue (e.g. EPT misconfiguration) */
};

/* Backend state worth a CSV column (gauges, not events). */
struct mmu_report {
	uint64_t	ept_pages;		/* EPT table pages allocated */
	uint64_t	shadow_pages_peak;	/* shadow table pages, high-water mark */
	uint64_t	shadow_pages;		/* shadow table pages at the end */
	uint64_t	shadow_root_hits;	/* CR3 writes served by the root cache */
	uint64_t	host_pages_backed;	/* host pages backing guest RAM */
	uint64_t	leaf_pages[3];		/* VMM-built leaf entries now present, by
						 * size 4K, 2M, 1G (KVM's pages_4k/2m/1g) */
};

struct mmu_costs;
struct mmu;

#define MMU_MAX_PARAMS	8

struct mmu_ops {
	const char	*name;
	const char	*desc;
	/* set up backend state in m->priv; returns 0 or -errno */
	int		(*init)(struct mmu *m);
	void		(*destroy)(struct mmu *m);
	/* translate after a TLB miss */
	enum mmu_result	(*fill)(struct mmu *m, struct mmu_fault *f);
	/* guest wrote CR3 (after the architectural TLB effects); may exit.
	 * NULL: no interception. */
	enum mmu_result	(*write_cr3)(struct mmu *m, struct mmu_fault *f);
	/* guest wrote CR4 with paging on, changing a bit whose change
	 * flushes the TLB (PGE, PAE, PSE, SMEP, LA57; PCIDE cleared), after
	 * the TLB effects; may exit. NULL: no interception. */
	enum mmu_result	(*write_cr4)(struct mmu *m, struct mmu_fault *f);
	/* guest executed INVLPG va (after the TLB effects); NULL: none */
	enum mmu_result	(*invlpg)(struct mmu *m, struct mmu_fault *f);
	/* a guest-physical access with paging off: translate f->va as a gpa
	 * (may exit, e.g. an EPT violation to back the page) */
	enum mmu_result	(*phys)(struct mmu *m, struct mmu_fault *f);
	/* the backend's gauges for the report; NULL: none */
	void		(*report)(const struct mmu *m, struct mmu_report *out);
	/* --param keys the backend takes; value i lands in mmu->params[i]
	 * (at most MMU_MAX_PARAMS; key == NULL ends). NULL: none. */
	const struct param_spec	*params;

	/* Capabilities, asked by the VM and the runner (never by comparing
	 * ops addresses). vmm_bytes NULL: the backend has no host level
	 * (gpa = hpa, no VMM tables; --host-pages does not apply). Else the
	 * least host memory its tables need for guest_mem of RAM backed in
	 * host pages of host_level. */
	uint64_t	(*vmm_bytes)(uint64_t guest_mem, unsigned host_level);
	uint8_t		min_maxphyaddr;	/* the tables' format needs at least this
					 * physical-address width (0: any) */
	bool		nested_ept;	/* L0 can offer an L1 hypervisor nested EPT
					 * (it uses EPT itself, as KVM's enable_ept) */
};

/* mmu_has_host_level - does backend ops map guest RAM through a host level? */
static inline bool mmu_has_host_level(const struct mmu_ops *ops)
{
	return ops->vmm_bytes != NULL;
}

struct mmu {
	const struct mmu_ops	*ops;
	void			*priv;		/* backend state */
	struct tlb		tlb;
	struct mmu_sregs	sregs;		/* guest paging state */
	struct walk_mode	mode;		/* derived from sregs */
	struct hmem		hmem;
	unsigned		guest_level;	/* page size the guest OS maps user data with */
	unsigned		host_level;	/* page size the VMM backs guest RAM with */
	const struct mmu_costs	*costs;
	struct memsys		*mem;		/* == hmem.cache: the memory model or NULL */
	uint64_t		params[MMU_MAX_PARAMS];	/* backend parameters, see ops->params */
	/* EPT walk-cache geometry from the CPU profile (NULL: absent) */
	const struct tc_geom	*ntlb_geom;	/* nested TLB: gpa -> hpa of guest tables */
	const struct tc_geom	*ept_psc_geom;	/* [3] EPT PSCs: PDE, PDPTE, PML4E */
};

/* mmu_derive_mode - recompute m->mode from m->sregs and push the
 * permission bits into the TLB. */
void mmu_derive_mode(struct mmu *m);

extern const struct mmu_ops native_mmu_ops;

#endif /* MEMVIRT_MMU_H */
