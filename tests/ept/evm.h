/*
 * evm.h - a bare ept MMU for the ept tests: host memory between guard
 * pages, a small TLB, the backend initialised, helpers to build guest
 * tables in guest RAM and to read the EPT in software. No vCPU, no
 * guest OS: tests call the backend's hooks themselves.
 */
#ifndef MEMVIRT_TESTS_EVM_H
#define MEMVIRT_TESTS_EVM_H

#include <stdbool.h>
#include <stdint.h>

#include "ept.h"

struct evm_cfg {
	uint64_t	guest_size;	/* bytes of guest RAM */
	unsigned	host_level;	/* host page size */
	bool		ept_ad;		/* EPT A/D flags */
	unsigned	caches_off;	/* EPT_CACHE_* */
	uint64_t	vmm_mem;	/* VMM region; 0: ept_vmm_bytes() + slack */
};

struct evm {
	struct mmu	m;
	uint8_t		*map;		/* the mapping, guard pages included */
	uint64_t	maplen;
	struct tc_geom	ntlb;
	struct tc_geom	epsc[3];
	gpa_t		gnext;		/* next free guest table page (gpa) */
	gpa_t		gend;		/* end of the guest table area */
};

/*
 * evm_init - host memory of round_up(guest_size, host page) + VMM region,
 * mapped MAP_NORESERVE between two PROT_NONE pages (an access outside
 * hmem faults), TLB and walk caches of a modest geometry, long mode
 * with paging on (CR0.WP, EFER.NXE, CR4.PGE), ept initialised. Guest
 * tables are allocated from gpa [1M, 3M).
 */
void evm_init(struct evm *v, const struct evm_cfg *c);
void evm_fini(struct evm *v);

/* Map all of guest RAM in the EPT with host pages of cfg's host level,
 * R/W/X, in reverse region order (gpa != hpa). */
void evm_back_all(struct evm *v);

/* Software EPT lookup (rights ignored): the hpa of gpa, false if the
 * EPT maps nothing there. Optionally the leaf's level. */
bool evm_ept_hpa(const struct evm *v, gpa_t gpa, hpa_t *hpa, unsigned *level);

/* The hpa of the EPT entry for gpa at `level` (tables must exist). */
hpa_t evm_ept_entry(const struct evm *v, gpa_t gpa, unsigned level);

/* Guest-physical 64-bit read/write through the software EPT lookup
 * (the page must be mapped). */
uint64_t evm_gread(const struct evm *v, gpa_t gpa);
void evm_gwrite(struct evm *v, gpa_t gpa, uint64_t val);

/* A zeroed guest table page (gpa). */
gpa_t evm_gtable(struct evm *v);

/* Map va -> gpa in the guest tables under cr3 (creating tables with
 * P|W|U|A), leaf of `level` with leaf_flags (PS added for 2M/1G). */
void evm_gmap(struct evm *v, gpa_t cr3, gva_t va, gpa_t gpa, unsigned level,
	      uint64_t leaf_flags);

/* The gpa of the guest entry for va at level (tables must exist). */
gpa_t evm_gentry(const struct evm *v, gpa_t cr3, gva_t va, unsigned level);

/* fill() with a fresh fault for va/access. */
enum mmu_result evm_fill(struct evm *v, gva_t va, unsigned access, struct mmu_fault *f);

/* Expected 2D references without caches: (n + 1)(m + 1) - 1. */
unsigned evm_refs_2d(unsigned guest_level, unsigned host_level);

#endif /* MEMVIRT_TESTS_EVM_H */
