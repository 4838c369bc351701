/*
 * ept.h - the ept MMU backend: VMM-built extended page tables, lazy
 * backing through EPT violations, and the two-dimensional walk with its
 * caches (guest PSC, EPT PSC, nested TLB).
 *
 * Glossary (besides base.h's)
 *   EPTP     - the EPT pointer: root table hpa | memory type | levels-1 | A/D
 *   2D walk  - a guest page walk in which every guest table gpa, and the
 *              final gpa, is translated through the EPT
 *   NTLB     - nested TLB: gpa -> hpa of guest page-table pages
 *   EPT PSC  - paging-structure caches of EPT walks, keyed by gpa
 */
#ifndef MEMVIRT_EPT_H
#define MEMVIRT_EPT_H

#include <stdint.h>

#include "mmu.h"

extern const struct mmu_ops ept_mmu_ops;

/*
 * Backend parameters (m->params[] indices, declared to the CLI through
 * ept_mmu_ops.params), read at every fill:
 *
 *   params[EPT_PARAM_CACHES_OFF]  --param ept_caches_off=MASK: bitmask of
 *                                 EPT_CACHE_* to turn off; 0 (the default)
 *                                 keeps every cache, 7 gives the
 *                                 worst-case (n+1)(m+1)-1 walk.
 *
 * EPT_CACHE_GUEST_PSC is m->tlb.psc, the linear-address PSC the TLB
 * code owns and flushes (CR3 writes, INVLPG, #PF): turned off, the ept
 * backend neither looks it up nor fills it. The other two live in the
 * backend, are tagged by the EPTP and survive guest CR3 writes.
 */
#define EPT_PARAM_CACHES_OFF	0
#define EPT_CACHE_NTLB		(1u << 0)	/* nested TLB */
#define EPT_CACHE_EPT_PSC	(1u << 1)	/* EPT paging-structure caches */
#define EPT_CACHE_GUEST_PSC	(1u << 2)	/* guest paging-structure caches */
#define EPT_CACHE_ALL		(EPT_CACHE_NTLB | EPT_CACHE_EPT_PSC | EPT_CACHE_GUEST_PSC)

/* The EPT the VMM builds is 4-level (EPTP bits 5:3 = 3). */
#define EPT_LEVELS		4

/*
 * ept_vmm_bytes - host memory the VMM's region needs for the EPT of
 * guest_mem bytes of guest RAM backed with host pages of host_level,
 * every page backed: the vm_config.vmm_mem a VM using ept should give.
 */
uint64_t ept_vmm_bytes(uint64_t guest_mem, unsigned host_level);

/*
 * ept_p2m_lookup - the hpa the VMM backs gpa with, and whether it is
 * backed yet (*backed false: no EPT violation has backed it; the guest
 * reads it as zeros). For tests and harnesses comparing guest memory
 * across backends.
 */
hpa_t ept_p2m_lookup(const struct mmu *m, gpa_t gpa, bool *backed);

/* ept_eptp - the EPTP of m's VM: root hpa | WB | (levels-1) << 3 | A/D. */
uint64_t ept_eptp(const struct mmu *m);

/*
 * ept_map - the VMM installs gpa -> hpa with a leaf of `level` (4K, 2M,
 * 1G) granting `rights` (RIGHT_R/W/X; W needs R), creating the missing
 * tables on the way (non-leaf entries R/W/X), memory type WB. Entries
 * read and written are added to w->handler_reads/handler_writes when w
 * is not NULL. Does not touch the VMM's p2m: tests and tools that build
 * their own EPT use it, and the violation handler after p2m_back.
 * Returns 0, -EEXIST when a leaf or table is already where the leaf
 * goes (or a larger leaf covers gpa), -ENOMEM when the VMM region is
 * exhausted, -EINVAL for bad alignment, level or rights.
 */
int ept_map(struct mmu *m, gpa_t gpa, hpa_t hpa, unsigned level, unsigned rights,
	    struct mmu_work *w);

/*
 * ept_walk2d - what the processor does on a TLB miss under EPT, without
 * the VMM: the 2D walk of f->va with f->access. Returns
 *   MMU_OK     f->hpa/level/rights/global/dirty/unbacked as fill() gives;
 *   MMU_FAULT  the guest's tables refuse: f->error_code is the #PF error
 *              code (no exit: the guest handles its own faults);
 *   MMU_EXIT   an EPT violation (f->exit_reason EXIT_REASON_EPT_VIOLATION)
 *              or misconfiguration (EXIT_REASON_EPT_MISCONFIG) stopped
 *              the walk: f->exit_gpa, f->exit_qual (EPT_QUAL_* bits,
 *              GLA_VALID always, GLA_FINAL for the final gpa, clear for
 *              a guest paging-structure access), f->exited.
 * Walk references and cache hits are added to f->work either way. The
 * caches are used and filled as fill() does. fill() is this plus the
 * VMM's exit handling.
 */
enum mmu_result ept_walk2d(struct mmu *m, struct mmu_fault *f);

#endif /* MEMVIRT_EPT_H */
