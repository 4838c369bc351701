/*
 * run.h - one experiment cell, run in-process: a workload on a backend
 * under a CPU profile, from a booted guest to its CSV row. The library
 * face of the vmm command (main.c builds the grid and the specs; tests
 * call run_cell directly).
 */
#ifndef MEMVIRT_RUN_H
#define MEMVIRT_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nested.h"
#include "report.h"
#include "vmm.h"
#include "workloads.h"

/* Everything a cell needs, resolved: no defaults are applied here. */
struct run_spec {
	const struct workload	*wl;
	const struct mmu_ops	*mmu;
	const struct profile	*prof;
	unsigned		pages;		/* guest page size of user data, LEVEL_* */
	unsigned		host_pages;	/* LEVEL_*; 0 for a backend without a host level */
	uint64_t		guest_mem;	/* bytes */
	int			numa_node;	/* -1: wherever the host puts it */
	uint64_t		wl_param[WL_MAX_PARAMS];	/* the workload's, in its order */
	uint64_t		mmu_param[MMU_MAX_PARAMS];	/* the backend's, in its order */
	bool			cache_model;	/* the memory model on */
	bool			pcid;		/* the guest OS uses PCIDs */
	unsigned		vpid;		/* 0 off, 1 on, 2 as the profile says */
	unsigned		index;		/* the cell's place in its grid (CSV `cell`) */
	/* nesting (docs/nested.md) */
	enum l1_mmu		l1mmu;		/* L1_MMU_NONE: the workload runs at L1 */
	const struct l1_personality *l1;	/* the L1 hypervisor; NULL with L1_MMU_NONE */
	unsigned		vmcs_shadow;	/* 0 off, 1 on, 2 as the profile says */
	uint64_t		hz;		/* the guest OS's timer rate (0: none) */
	struct sample_cfg	sample;		/* --sample (sample.h); .on false: exact;
						 * resolved for prof by run_check/run_cell */
};

/* The --l1-mmu names, by enum l1_mmu. */
extern const char *const run_l1_mmu_names[3];

/* run_level_name - "4k", "2m", "1g" for LEVEL_4K..LEVEL_1G, else "?". */
const char *run_level_name(unsigned level);

/* run_check - can s run? 0, or -1 with one line naming the problem in
 * err (layout against MAXPHYADDR, page sizes the profile lacks, PCIDs,
 * the workload's own limits). Nothing is allocated. */
int run_check(const struct run_spec *s, char *err, size_t errlen);

/* run_cell - boot the guest, run the workload, fill r. Returns 0; -1 when
 * the VM stopped (a guest crash; why in err); -2 when the host refused
 * what was asked (memory, NUMA node). */
int run_cell(const struct run_spec *s, struct row *r, char *err, size_t errlen);

#endif /* MEMVIRT_RUN_H */
