/*
 * kvmpt.h - random x86-64 page tables in a KVM guest's memory, for the
 * differential tests of walk_run() against the Linux kernel's walker
 * (test_kvm_translate.c: KVM_TRANSLATE; test_kvm_access.c: guest code
 * whose reads, writes and fetches fault or not).
 *
 * The generator builds 4-level tables below KVMPT_TABLE_POOL: absent
 * entries with junk, tables outside memory, reserved bits at every level,
 * PS in a PML4E, aliases of existing tables, 2M and 1G leaves with PAT,
 * random flags (W, U, PWT, PCD, A, D, G, available, ignored, NX).
 */
#ifndef MEMVIRT_TESTS_KVMPT_H
#define MEMVIRT_TESTS_KVMPT_H

#include <stdbool.h>
#include <stdint.h>

#include "walker.h"

struct kvm_run;

#define KVMPT_SLOT_SIZE		(64 * MiB)	/* guest memory, at gpa 0 */
#define KVMPT_TABLE_POOL	(16 * MiB)	/* tables are allocated below this */
#define KVMPT_MAX_REGIONS	16384

/* The control-register and flag bits the tests' guests set. */
#define CR0_PE		(1ull << 0)
#define CR0_MP		(1ull << 1)
#define CR0_ET		(1ull << 4)
#define CR0_NE		(1ull << 5)
#define CR0_WP		(1ull << 16)
#define CR0_PG		(1ull << 31)
#define CR4_PAE		(1ull << 5)
#define CR4_SMEP	(1ull << 20)
#define CR4_SMAP	(1ull << 21)
#define EFER_LME	(1ull << 8)
#define EFER_LMA	(1ull << 10)
#define EFER_NXE	(1ull << 11)
#define RFLAGS_AC	(1ull << 18)

/* One paging setup the kernel and walk_run() must agree under. */
struct kvmpt_cfg {
	const char	*name;
	bool		nxe;
	bool		wp;
	bool		gbpages;
	uint8_t		maxphyaddr;	/* 0: what KVM reports */
	uint64_t	seed;
	bool		smep, smap;	/* CR4 bits, where KVM offers them */
	bool		ac;		/* RFLAGS.AC for CPL0 accesses */
};

/* What the guest really has, after KVM has had its say. */
struct kvmpt_caps {
	uint8_t		maxphy;
	bool		gbpages, smep, smap;
};

/* A slot of some table that a sampled gva may land in: va .. va + size. */
struct kvmpt_region {
	uint64_t	va;
	unsigned	level;
};

/* The guest, and the generator's state. */
struct kvmpt_vm {
	int		kvm, vmfd, vcpu;
	struct kvm_run	*run;
	size_t		runsz;
	uint8_t		*mem;		/* KVMPT_SLOT_SIZE bytes of guest memory */
	uint64_t	rng;
	uint64_t	next_table;	/* next free table page (gpa) */
	uint64_t	tables[4096];	/* every table allocated, for aliasing */
	unsigned	ntables;
	struct kvmpt_region regions[KVMPT_MAX_REGIONS];
	unsigned	nregions;
	struct walk_mode mode;
	bool		rights_bias;	/* W and U in 3 of 4 entries, not 1 of 2 */
};

/* splitmix64 over vm->rng; and a value below n. */
uint64_t kvmpt_rnd(struct kvmpt_vm *vm);
unsigned kvmpt_rnd_below(struct kvmpt_vm *vm, unsigned n);

/*
 * walk_mem hooks over KVMPT_SLOT_SIZE bytes at ctx (a uint8_t *): no
 * memory beyond the slot. kvmpt_mem_noset drops A/D updates, for walks
 * that must leave memory as it is.
 */
int kvmpt_mem_read(void *ctx, uint64_t pa, unsigned level, uint64_t *val);
int kvmpt_mem_set(void *ctx, uint64_t pa, unsigned level, uint64_t bits);
int kvmpt_mem_noset(void *ctx, uint64_t pa, unsigned level, uint64_t bits);

void kvmpt_put(struct kvmpt_vm *vm, uint64_t pa, uint64_t val);

/* A random table at this level for the slots under prefix; 0 when full. */
uint64_t kvmpt_gen_table(struct kvmpt_vm *vm, unsigned level, uint64_t prefix);

/* A gva: mostly inside a generated slot, sometimes anywhere. Canonical. */
uint64_t kvmpt_rnd_gva(struct kvmpt_vm *vm);
uint64_t kvmpt_canonical(uint64_t va);

/*
 * kvmpt_open - open KVM, make a VM with one slot of KVMPT_SLOT_SIZE at
 * gpa 0 and one vCPU with its kvm_run mapped. NULL, or the reason (errno
 * says more). kvmpt_close undoes it, whatever was made.
 */
const char *kvmpt_open(struct kvmpt_vm *vm);
void kvmpt_close(struct kvmpt_vm *vm);

/*
 * kvmpt_set_cpuid - the guest's CPUID: what KVM supports, as an Intel
 * part, with the configuration's MAXPHYADDR, and its 1G-page, SMEP and
 * SMAP bits if asked for and KVM offers them. 0 or -errno; *caps says
 * what the guest has.
 */
int kvmpt_set_cpuid(struct kvmpt_vm *vm, const struct kvmpt_cfg *c,
		    struct kvmpt_caps *caps);

#endif
