/*
 * workloads.h - what runs inside the VM: a small guest OS (gos_) and the
 * programs (wl_) that run on it. Everything here is guest code: its
 * memory accesses go through the vCPU (g_ld/g_st), its work is counted
 * with g_insn().
 */
#ifndef MEMVIRT_WORKLOADS_H
#define MEMVIRT_WORKLOADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm.h"

/*
 * Guest virtual memory layout (x86-64, 4-level, Linux-like):
 *
 *   0x0000_0000_4000_0000  user anonymous mappings (1 GiB aligned, so
 *                          2M and 1G pages can back them)
 *   0xffff_8880_0000_0000  kernel direct map of all guest RAM (2M pages,
 *                          global, supervisor, NX), PML4 slot 273
 */
#define GOS_DIRECT_MAP		UINT64_C(0xffff888000000000)
#define GOS_USER_MMAP_BASE	UINT64_C(0x0000000040000000)
#define GOS_MAX_VMAS		16

#define VMA_READ	(1u << 0)
#define VMA_WRITE	(1u << 1)
#define VMA_EXEC	(1u << 2)

struct gos_vma {
	gva_t		start;		/* inclusive, page aligned */
	gva_t		end;		/* exclusive */
	unsigned	prot;		/* VMA_* */
};

struct gos_proc {
	int		pid;
	gpa_t		pml4;		/* root table frame */
	uint16_t	pcid;		/* 0 when PCIDs are off */
	struct gos_vma	vma[GOS_MAX_VMAS];
	unsigned	nvma;
	gva_t		mmap_next;	/* next free user address for mmap */
};

/*
 * Guest frame allocator state. It is the guest kernel's own bookkeeping
 * (Linux keeps it in struct page, in guest RAM); we keep it host-side and
 * charge its work as kernel instructions, see docs/guest-os.md.
 */
struct gos_frames {
	uint64_t	nframes;	/* 4K frames of guest RAM */
	uint16_t	*ref;		/* per-frame reference count; 0 = free */
	uint16_t	*block_free;	/* per 2M block: free 4K frames in it */
	uint64_t	nblocks;
	uint64_t	free;		/* free 4K frames in all */
	uint64_t	cursor;		/* block the next 4K allocation looks at first */
};

struct gos {
	struct vcpu		*cpu;
	uint64_t		ram;		/* bytes of guest RAM */
	unsigned		user_level;	/* page size for anonymous memory */
	bool			pcid;		/* use PCIDs for address spaces */
	struct gos_frames	fr;
	gpa_t			kpml4;		/* the kernel's own root table */
	struct gos_proc		*cur;		/* running process */
	struct gos_proc		init;		/* the first process */
	uint64_t		pte_writes;	/* guest page-table entries written */
};

/*
 * gos_boot - bring the guest OS up on cpu, paging off to paging on: build
 * the kernel's direct map in guest RAM with physical stores, load CR3,
 * enable long-mode paging (WP, NXE, PGE[, PCIDE]), install the #PF
 * handler, create the first process and switch to it. Returns 0, or -1
 * with a message in err (guest RAM too small).
 */
int gos_boot(struct gos *os, struct vcpu *cpu, unsigned user_level, bool pcid,
	     char *err, size_t errlen);
void gos_shutdown(struct gos *os);

/* gos_mmap_anon - reserve len bytes (rounded up to the user page size,
 * aligned to it) of anonymous memory in the current process, backed on
 * first touch by the #PF handler. Returns the address, or 0. */
gva_t gos_mmap_anon(struct gos *os, uint64_t len, unsigned prot);

/* gos_user / gos_kernel - return to user mode / enter the kernel. */
void gos_user(struct gos *os);
void gos_kernel(struct gos *os);

/* gos_frames_free - free 4K frames now. */
uint64_t gos_frames_free(const struct gos *os);

/* ------------------------------------------------------------------ */
/* Workloads                                                           */
/* ------------------------------------------------------------------ */

#define WL_MAX_PARAMS	8

struct wl_param {
	const char	*key;
	uint64_t	def;
	uint64_t	min;
	uint64_t	max;
	const char	*help;
};

struct workload {
	const char		*name;
	const char		*desc;
	struct wl_param		params[WL_MAX_PARAMS];	/* key == NULL ends */
	/* check - can these parameters run in guest_mem bytes of RAM? 0, or
	 * -1 with a one-line reason in err. NULL: always. */
	int			(*check)(const uint64_t *param, uint64_t guest_mem,
					 char *err, size_t errlen);
	/* run - run in the booted guest; the checksum of its results */
	uint64_t		(*run)(struct gos *os, const uint64_t *param);
};

extern const struct workload *const wl_table[];
const struct workload *wl_find(const char *name);
/* wl_param_index - the index of key in w's parameters, or -1 */
int wl_param_index(const struct workload *w, const char *key);

/* FNV-1a over 64-bit words: the checksum workloads end with. */
#define WL_FNV_OFFSET	UINT64_C(0xcbf29ce484222325)
#define WL_FNV_PRIME	UINT64_C(0x100000001b3)
static inline uint64_t wl_fnv(uint64_t h, uint64_t word)
{
	return (h ^ word) * WL_FNV_PRIME;
}

extern const struct workload wl_memsweep;

#endif /* MEMVIRT_WORKLOADS_H */
