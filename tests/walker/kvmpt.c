/*
 * kvmpt.c - random page tables in a KVM guest's memory (see kvmpt.h).
 * Moved out of test_kvm_translate.c so that the access test shares it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvmpt.h"

#define MAX_CPUID	256
#define CPUID_GBPAGES	(1u << 26)	/* 0x80000001 EDX */
#define CPUID_NX	(1u << 20)	/* 0x80000001 EDX */
#define CPUID_SMEP	(1u << 7)	/* 7.0 EBX */
#define CPUID_SMAP	(1u << 20)	/* 7.0 EBX */

uint64_t kvmpt_rnd(struct kvmpt_vm *vm)
{
	/* splitmix64: deterministic, good enough to mix bits */
	uint64_t z = (vm->rng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

unsigned kvmpt_rnd_below(struct kvmpt_vm *vm, unsigned n)
{
	return (unsigned)(kvmpt_rnd(vm) % n);
}

/* ---- guest memory, as walk_run() sees it ----------------------------------- */

int kvmpt_mem_read(void *ctx, uint64_t pa, unsigned level, uint64_t *val)
{
	const uint8_t *m = ctx;

	(void)level;
	if (pa >= KVMPT_SLOT_SIZE || pa % 8)
		return WALK_MEM_NONE;
	memcpy(val, m + pa, 8);
	return WALK_MEM_OK;
}

int kvmpt_mem_set(void *ctx, uint64_t pa, unsigned level, uint64_t bits)
{
	uint8_t *m = ctx;
	uint64_t v;

	(void)level;
	if (pa >= KVMPT_SLOT_SIZE || pa % 8)
		return WALK_MEM_NONE;
	memcpy(&v, m + pa, 8);
	v |= bits;
	memcpy(m + pa, &v, 8);
	return WALK_MEM_OK;
}

int kvmpt_mem_noset(void *ctx, uint64_t pa, unsigned level, uint64_t bits)
{
	(void)ctx;
	(void)level;
	(void)bits;
	return pa >= KVMPT_SLOT_SIZE || pa % 8 ? WALK_MEM_NONE : WALK_MEM_OK;
}

void kvmpt_put(struct kvmpt_vm *vm, uint64_t pa, uint64_t val)
{
	memcpy(vm->mem + pa, &val, 8);
}

/* ---- random tables -------------------------------------------------------- */

static uint64_t alloc_table(struct kvmpt_vm *vm)
{
	uint64_t pa = vm->next_table;

	if (pa + PAGE_SIZE > KVMPT_TABLE_POOL || vm->ntables == ARRAY_SIZE(vm->tables))
		return 0;
	vm->next_table += PAGE_SIZE;
	memset(vm->mem + pa, 0, (size_t)PAGE_SIZE);
	vm->tables[vm->ntables++] = pa;
	return pa;
}

static uint64_t addr_bits(const struct kvmpt_vm *vm)
{
	return ((UINT64_C(1) << vm->mode.maxphyaddr) - 1) & PTE_ADDR_MASK;
}

/* A frame: half inside the memory slot, half anywhere below MAXPHYADDR. */
static uint64_t rnd_frame(struct kvmpt_vm *vm, unsigned level)
{
	uint64_t a = kvmpt_rnd(vm) & addr_bits(vm);

	if (kvmpt_rnd(vm) & 1)
		a &= KVMPT_SLOT_SIZE - 1;
	return a & ~(LEVEL_SIZE(level) - 1);
}

/*
 * Flag bits a present entry may carry without changing the translation
 * (its address and validity; W, U and NX change the rights).
 */
static uint64_t rnd_flags(struct kvmpt_vm *vm)
{
	uint64_t r = kvmpt_rnd(vm), f = PTE_P;

	f |= r & (PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_A | PTE_D | PTE_G);
	f |= r & (UINT64_C(7) << 9);			/* available */
	if ((r >> 20) % 4 == 0)
		f |= r & (UINT64_C(0x7ff) << 52);	/* ignored (no PKE) */
	if (vm->mode.efer_nxe && (r >> 40) % 4 == 0)
		f |= PTE_NX;
	if (vm->rights_bias)
		f |= ((r >> 44) & 3 ? PTE_W : 0) | ((r >> 46) & 3 ? PTE_U : 0);
	return f;
}

/* One reserved bit an entry at this level could carry. */
static uint64_t rnd_rsvd(struct kvmpt_vm *vm, unsigned level, bool leaf)
{
	unsigned r = kvmpt_rnd_below(vm, 4);
	unsigned m = vm->mode.maxphyaddr;

	if (r == 0 && !vm->mode.efer_nxe)
		return PTE_NX;
	if (r <= 1 && level >= 4)		/* PS in a PML4E, often */
		return PTE_PS;
	if (r == 2 && leaf && level == LEVEL_2M)
		return UINT64_C(1) << (13 + kvmpt_rnd_below(vm, 8));
	if (r == 2 && leaf && level == LEVEL_1G)
		return UINT64_C(1) << (13 + kvmpt_rnd_below(vm, 17));
	if (m < 52)
		return UINT64_C(1) << (m + kvmpt_rnd_below(vm, 52 - m));
	return PTE_PS;
}

uint64_t kvmpt_canonical(uint64_t va)
{
	return (va & (UINT64_C(1) << 47)) ? va | UINT64_C(0xffff000000000000)
					 : va & UINT64_C(0x0000ffffffffffff);
}


/* A random entry for slot va at this level: absent, broken, leaf or table. */
static uint64_t gen_entry(struct kvmpt_vm *vm, unsigned level, uint64_t va)
{
	unsigned r = kvmpt_rnd_below(vm, 100);
	uint64_t f = rnd_flags(vm), child;
	bool can_leaf = level == LEVEL_4K || level == LEVEL_2M || level == LEVEL_1G;

	if (r < 10)					/* absent, junk in the rest */
		return kvmpt_rnd(vm) & ~PTE_P & (r < 5 ? 0 : ~UINT64_C(0));
	if (r < 15)					/* a table outside memory */
		return ((kvmpt_rnd(vm) & addr_bits(vm)) | KVMPT_SLOT_SIZE) | f;
	if (r < 22) {					/* a reserved bit */
		bool leaf = can_leaf && level > LEVEL_4K && (r & 1);

		f |= leaf ? PTE_PS : 0;
		return rnd_frame(vm, leaf ? level : LEVEL_4K) | f |
		       rnd_rsvd(vm, level, leaf);
	}
	if (r < 28)					/* alias an existing table */
		return vm->tables[kvmpt_rnd_below(vm, vm->ntables)] | (f & ~PTE_PS);
	if (level == LEVEL_4K)
		return rnd_frame(vm, level) | f;
	if (can_leaf && r < 55) {			/* large leaf, PAT maybe */
		f |= PTE_PS | (kvmpt_rnd(vm) & PTE_PAT_LARGE);
		return rnd_frame(vm, level) | f;
	}
	child = kvmpt_gen_table(vm, level - 1, va);
	if (!child)
		return 0;
	return child | (f & ~PTE_PS);
}

static void add_region(struct kvmpt_vm *vm, uint64_t va, unsigned level)
{
	if (vm->nregions < KVMPT_MAX_REGIONS)
		vm->regions[vm->nregions++] = (struct kvmpt_region){ va, level };
}

/*
 * A table for the slots under prefix at this level, with 8..19 entries
 * filled (48 in the root, so PML4E cases are not rare).
 */
uint64_t kvmpt_gen_table(struct kvmpt_vm *vm, unsigned level, uint64_t prefix)
{
	uint64_t table = alloc_table(vm);
	unsigned i, n = level == 4 ? 48 : 8 + kvmpt_rnd_below(vm, 12);

	if (!table)
		return 0;
	for (i = 0; i < n; i++) {
		uint64_t idx = kvmpt_rnd_below(vm, 512);
		uint64_t va = prefix | (idx << LEVEL_SHIFT(level));

		add_region(vm, va, level);
		kvmpt_put(vm, table + 8 * idx, gen_entry(vm, level, va));
	}
	return table;
}

/* A gva: mostly inside a generated slot, sometimes anywhere. Canonical. */
uint64_t kvmpt_rnd_gva(struct kvmpt_vm *vm)
{
	const struct kvmpt_region *rg;

	if (kvmpt_rnd_below(vm, 10) == 0 || !vm->nregions)
		return kvmpt_canonical(kvmpt_rnd(vm));
	rg = &vm->regions[kvmpt_rnd_below(vm, vm->nregions)];
	return kvmpt_canonical(rg->va | (kvmpt_rnd(vm) & (LEVEL_SIZE(rg->level) - 1)));
}

/* ---- the VM ----------------------------------------------------------------- */

static const uint32_t cpuid_vendor_intel[3] = {
	0x756e6547, 0x6c65746e, 0x49656e69,	/* "Genu" "ntel" "ineI": ebx ecx edx */
};

/* See kvmpt.h. Intel, so that non-leaf bit 8 is not reserved, as on AMD. */
int kvmpt_set_cpuid(struct kvmpt_vm *vm, const struct kvmpt_cfg *c,
		    struct kvmpt_caps *caps)
{
	struct kvm_cpuid2 *cpuid;
	unsigned i;
	int rc;

	cpuid = calloc(1, sizeof(*cpuid) + MAX_CPUID * sizeof(cpuid->entries[0]));
	cr_assert_not_null(cpuid);
	cpuid->nent = MAX_CPUID;
	if (ioctl(vm->kvm, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		free(cpuid);
		return -errno;
	}
	*caps = (struct kvmpt_caps){ .maxphy = 36 };
	for (i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == 0) {
			e->ebx = cpuid_vendor_intel[0];
			e->ecx = cpuid_vendor_intel[1];
			e->edx = cpuid_vendor_intel[2];
		} else if (e->function == 7 && e->index == 0) {
			/* KVM ANDs these with what it supports, so a bit
			 * it does not offer would not take. */
			caps->smep = c->smep && (e->ebx & CPUID_SMEP);
			caps->smap = c->smap && (e->ebx & CPUID_SMAP);
			if (!caps->smep)
				e->ebx &= ~CPUID_SMEP;
			if (!caps->smap)
				e->ebx &= ~CPUID_SMAP;
		} else if (e->function == 0x80000001) {
			cr_assert(e->edx & CPUID_NX, "KVM does not offer NX");
			caps->gbpages = c->gbpages && (e->edx & CPUID_GBPAGES);
			if (!caps->gbpages)
				e->edx &= ~CPUID_GBPAGES;
		} else if (e->function == 0x80000008) {
			if (c->maxphyaddr)
				e->eax = (e->eax & ~0xffu) | c->maxphyaddr;
			caps->maxphy = (uint8_t)(e->eax & 0xff);
		}
	}
	rc = ioctl(vm->vcpu, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	return rc < 0 ? -errno : 0;
}

void kvmpt_close(struct kvmpt_vm *vm)
{
	if (vm->vcpu >= 0)
		close(vm->vcpu);
	if (vm->vmfd >= 0)
		close(vm->vmfd);
	if (vm->run && vm->run != MAP_FAILED)
		munmap(vm->run, vm->runsz);
	if (vm->mem && vm->mem != MAP_FAILED)
		munmap(vm->mem, KVMPT_SLOT_SIZE);
	if (vm->kvm >= 0)
		close(vm->kvm);
}

/* Open KVM and make a VM with one slot and one vCPU; a reason on failure. */
const char *kvmpt_open(struct kvmpt_vm *vm)
{
	struct kvm_userspace_memory_region slot = { 0 };

	int sz;

	vm->vcpu = vm->vmfd = -1;
	vm->run = NULL;
	vm->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm < 0)
		return "cannot open /dev/kvm";
	if (ioctl(vm->kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return "unexpected KVM API version";
	vm->vmfd = ioctl(vm->kvm, KVM_CREATE_VM, 0);
	if (vm->vmfd < 0)
		return "KVM_CREATE_VM failed";
	vm->mem = mmap(NULL, KVMPT_SLOT_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED)
		return "cannot map guest memory";
	slot.slot = 0;
	slot.guest_phys_addr = 0;
	slot.memory_size = KVMPT_SLOT_SIZE;
	slot.userspace_addr = (uint64_t)(uintptr_t)vm->mem;
	if (ioctl(vm->vmfd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
		return "KVM_SET_USER_MEMORY_REGION failed";
	vm->vcpu = ioctl(vm->vmfd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu < 0)
		return "KVM_CREATE_VCPU failed";
	sz = ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz <= 0)
		return "KVM_GET_VCPU_MMAP_SIZE failed";
	vm->runsz = (size_t)sz;
	vm->run = mmap(NULL, vm->runsz, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu, 0);
	if (vm->run == MAP_FAILED)
		return "cannot map kvm_run";
	return NULL;
}

