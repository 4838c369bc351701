/*
 * test_kvm_translate.c - differential test of walk_run() against the Linux
 * kernel's own guest walker: random 4-level tables in a KVM guest's
 * memory, long-mode sregs, and KVM_TRANSLATE vs walk_run() on the same bytes.
 * Skips (with the reason) where /dev/kvm cannot be opened or used.
 *
 * KVM_TRANSLATE compares validity and address only: the kernel walks as
 * a supervisor read (kvm_mmu_gva_to_gpa_system) and fills `writeable`
 * with 1 and `usermode` with 0 whatever the tables say (x86.c,
 * kvm_arch_vcpu_ioctl_translate), so permissions and #PF error codes
 * cannot be read off it; they need guest code that faults.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "walker.h"

#define SLOT_SIZE	(64 * MiB)	/* guest memory, at gpa 0 */
#define TABLE_POOL	(16 * MiB)	/* tables are allocated below this */
#define ADDRS_PER_CFG	200000u		/* gvas compared per configuration: 1M in all */
#define MAX_REGIONS	16384
#define MAX_CPUID	256
#define ULL(x)		((unsigned long long)(x))

#define CR0_PE		(1ull << 0)
#define CR0_MP		(1ull << 1)
#define CR0_ET		(1ull << 4)
#define CR0_NE		(1ull << 5)
#define CR0_WP		(1ull << 16)
#define CR0_PG		(1ull << 31)
#define CR4_PAE		(1ull << 5)
#define EFER_LME	(1ull << 8)
#define EFER_LMA	(1ull << 10)
#define EFER_NXE	(1ull << 11)
#define CPUID_GBPAGES	(1u << 26)	/* 0x80000001 EDX */
#define CPUID_NX	(1u << 20)	/* 0x80000001 EDX */

/* One paging setup the kernel and walk_run() must agree under. */
struct cfg {
	const char	*name;
	bool		nxe;
	bool		wp;
	bool		gbpages;
	uint8_t		maxphyaddr;	/* 0: what KVM reports */
	uint64_t	seed;
};

/* A slot of some table that a sampled gva may land in: va .. va + size. */
struct region {
	uint64_t	va;
	unsigned	level;
};

/* The guest, and the generator's state. */
struct vm {
	int		kvm, vmfd, vcpu;
	uint8_t		*mem;		/* SLOT_SIZE bytes of guest memory */
	uint64_t	rng;
	uint64_t	next_table;	/* next free table page (gpa) */
	uint64_t	tables[4096];	/* every table allocated, for aliasing */
	unsigned	ntables;
	struct region	regions[MAX_REGIONS];
	unsigned	nregions;
	struct walk_mode mode;
	struct walk_mem	wmem;
};

static uint64_t rnd(struct vm *vm)
{
	/* splitmix64: deterministic, good enough to mix bits */
	uint64_t z = (vm->rng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static unsigned rnd_below(struct vm *vm, unsigned n)
{
	return (unsigned)(rnd(vm) % n);
}

/* ---- guest memory, as walk_run() sees it ----------------------------------- */

static int mem_read(void *ctx, uint64_t pa, unsigned level, uint64_t *val)
{
	struct vm *vm = ctx;

	(void)level;
	if (pa >= SLOT_SIZE || pa % 8)
		return WALK_MEM_NONE;
	memcpy(val, vm->mem + pa, 8);
	return WALK_MEM_OK;
}

static int mem_set(void *ctx, uint64_t pa, unsigned level, uint64_t bits)
{
	struct vm *vm = ctx;
	uint64_t v;

	(void)level;
	if (pa >= SLOT_SIZE || pa % 8)
		return WALK_MEM_NONE;
	memcpy(&v, vm->mem + pa, 8);
	v |= bits;
	memcpy(vm->mem + pa, &v, 8);
	return WALK_MEM_OK;
}

static void put(struct vm *vm, uint64_t pa, uint64_t val)
{
	memcpy(vm->mem + pa, &val, 8);
}

/* ---- random tables -------------------------------------------------------- */

static uint64_t alloc_table(struct vm *vm)
{
	uint64_t pa = vm->next_table;

	if (pa + PAGE_SIZE > TABLE_POOL || vm->ntables == ARRAY_SIZE(vm->tables))
		return 0;
	vm->next_table += PAGE_SIZE;
	memset(vm->mem + pa, 0, (size_t)PAGE_SIZE);
	vm->tables[vm->ntables++] = pa;
	return pa;
}

static uint64_t addr_bits(const struct vm *vm)
{
	return ((UINT64_C(1) << vm->mode.maxphyaddr) - 1) & PTE_ADDR_MASK;
}

/* A frame: half inside the memory slot, half anywhere below MAXPHYADDR. */
static uint64_t rnd_frame(struct vm *vm, unsigned level)
{
	uint64_t a = rnd(vm) & addr_bits(vm);

	if (rnd(vm) & 1)
		a &= SLOT_SIZE - 1;
	return a & ~(LEVEL_SIZE(level) - 1);
}

/* Flag bits a present entry may carry without changing the translation. */
static uint64_t rnd_flags(struct vm *vm)
{
	uint64_t r = rnd(vm), f = PTE_P;

	f |= r & (PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_A | PTE_D | PTE_G);
	f |= r & (UINT64_C(7) << 9);			/* available */
	if ((r >> 20) % 4 == 0)
		f |= r & (UINT64_C(0x7ff) << 52);	/* ignored (no PKE) */
	if (vm->mode.efer_nxe && (r >> 40) % 4 == 0)
		f |= PTE_NX;
	return f;
}

/* One reserved bit an entry at this level could carry. */
static uint64_t rnd_rsvd(struct vm *vm, unsigned level, bool leaf)
{
	unsigned r = rnd_below(vm, 4);
	unsigned m = vm->mode.maxphyaddr;

	if (r == 0 && !vm->mode.efer_nxe)
		return PTE_NX;
	if (r <= 1 && level >= 4)		/* PS in a PML4E, often */
		return PTE_PS;
	if (r == 2 && leaf && level == LEVEL_2M)
		return UINT64_C(1) << (13 + rnd_below(vm, 8));
	if (r == 2 && leaf && level == LEVEL_1G)
		return UINT64_C(1) << (13 + rnd_below(vm, 17));
	if (m < 52)
		return UINT64_C(1) << (m + rnd_below(vm, 52 - m));
	return PTE_PS;
}

static uint64_t canonical(uint64_t va)
{
	return (va & (UINT64_C(1) << 47)) ? va | UINT64_C(0xffff000000000000)
					 : va & UINT64_C(0x0000ffffffffffff);
}

static uint64_t gen_table(struct vm *vm, unsigned level, uint64_t prefix);

/* A random entry for slot va at this level: absent, broken, leaf or table. */
static uint64_t gen_entry(struct vm *vm, unsigned level, uint64_t va)
{
	unsigned r = rnd_below(vm, 100);
	uint64_t f = rnd_flags(vm), child;
	bool can_leaf = level == LEVEL_4K || level == LEVEL_2M || level == LEVEL_1G;

	if (r < 10)					/* absent, junk in the rest */
		return rnd(vm) & ~PTE_P & (r < 5 ? 0 : ~UINT64_C(0));
	if (r < 15)					/* a table outside memory */
		return ((rnd(vm) & addr_bits(vm)) | SLOT_SIZE) | f;
	if (r < 22) {					/* a reserved bit */
		bool leaf = can_leaf && level > LEVEL_4K && (r & 1);

		f |= leaf ? PTE_PS : 0;
		return rnd_frame(vm, leaf ? level : LEVEL_4K) | f |
		       rnd_rsvd(vm, level, leaf);
	}
	if (r < 28)					/* alias an existing table */
		return vm->tables[rnd_below(vm, vm->ntables)] | (f & ~PTE_PS);
	if (level == LEVEL_4K)
		return rnd_frame(vm, level) | f;
	if (can_leaf && r < 55) {			/* large leaf, PAT maybe */
		f |= PTE_PS | (rnd(vm) & PTE_PAT_LARGE);
		return rnd_frame(vm, level) | f;
	}
	child = gen_table(vm, level - 1, va);
	if (!child)
		return 0;
	return child | (f & ~PTE_PS);
}

static void add_region(struct vm *vm, uint64_t va, unsigned level)
{
	if (vm->nregions < MAX_REGIONS)
		vm->regions[vm->nregions++] = (struct region){ va, level };
}

/*
 * A table for the slots under prefix at this level, with 8..19 entries
 * filled (48 in the root, so PML4E cases are not rare).
 */
static uint64_t gen_table(struct vm *vm, unsigned level, uint64_t prefix)
{
	uint64_t table = alloc_table(vm);
	unsigned i, n = level == 4 ? 48 : 8 + rnd_below(vm, 12);

	if (!table)
		return 0;
	for (i = 0; i < n; i++) {
		uint64_t idx = rnd_below(vm, 512);
		uint64_t va = prefix | (idx << LEVEL_SHIFT(level));

		add_region(vm, va, level);
		put(vm, table + 8 * idx, gen_entry(vm, level, va));
	}
	return table;
}

/* A gva: mostly inside a generated slot, sometimes anywhere. Canonical. */
static uint64_t rnd_gva(struct vm *vm)
{
	const struct region *rg;

	if (rnd_below(vm, 10) == 0 || !vm->nregions)
		return canonical(rnd(vm));
	rg = &vm->regions[rnd_below(vm, vm->nregions)];
	return canonical(rg->va | (rnd(vm) & (LEVEL_SIZE(rg->level) - 1)));
}

/* ---- the VM ----------------------------------------------------------------- */

static const uint32_t cpuid_vendor_intel[3] = {
	0x756e6547, 0x6c65746e, 0x49656e69,	/* "Genu" "ntel" "ineI": ebx ecx edx */
};

/*
 * The guest's CPUID: what KVM supports, as an Intel part (so non-leaf bit 8
 * is not reserved, as on AMD), with the configuration's MAXPHYADDR and its
 * 1G-page bit if KVM offers 1G pages at all (KVM ANDs the guest's CPUID
 * with what it supports, so a bit it does not offer would not take).
 * Returns in *maxphy and *gbpages what the guest really has.
 */
static int set_cpuid(struct vm *vm, const struct cfg *c, uint8_t *maxphy,
		     bool *gbpages)
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
	*maxphy = 36;
	*gbpages = false;
	for (i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == 0) {
			e->ebx = cpuid_vendor_intel[0];
			e->ecx = cpuid_vendor_intel[1];
			e->edx = cpuid_vendor_intel[2];
		} else if (e->function == 0x80000001) {
			cr_assert(e->edx & CPUID_NX, "KVM does not offer NX");
			*gbpages = c->gbpages && (e->edx & CPUID_GBPAGES);
			if (!*gbpages)
				e->edx &= ~CPUID_GBPAGES;
		} else if (e->function == 0x80000008) {
			if (c->maxphyaddr)
				e->eax = (e->eax & ~0xffu) | c->maxphyaddr;
			*maxphy = (uint8_t)(e->eax & 0xff);
		}
	}
	rc = ioctl(vm->vcpu, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	return rc < 0 ? -errno : 0;
}

static void set_long_mode(struct vm *vm, const struct cfg *c, uint64_t cr3)
{
	struct kvm_sregs s;
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 8, .type = 11,
		.present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = 16, .type = 3,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};

	cr_assert_eq(ioctl(vm->vcpu, KVM_GET_SREGS, &s), 0, "KVM_GET_SREGS: %s",
		     strerror(errno));
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_PG | (c->wp ? CR0_WP : 0);
	s.cr4 = CR4_PAE;
	s.efer = EFER_LME | EFER_LMA | (c->nxe ? EFER_NXE : 0);
	s.cr3 = cr3;
	cr_assert_eq(ioctl(vm->vcpu, KVM_SET_SREGS, &s), 0, "KVM_SET_SREGS: %s",
		     strerror(errno));
}

static void vm_close(struct vm *vm)
{
	if (vm->vcpu >= 0)
		close(vm->vcpu);
	if (vm->vmfd >= 0)
		close(vm->vmfd);
	if (vm->mem && vm->mem != MAP_FAILED)
		munmap(vm->mem, SLOT_SIZE);
	if (vm->kvm >= 0)
		close(vm->kvm);
}

/* Open KVM and make a VM with one slot and one vCPU; a reason on failure. */
static const char *vm_open(struct vm *vm)
{
	struct kvm_userspace_memory_region slot = { 0 };

	vm->vcpu = vm->vmfd = -1;
	vm->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm < 0)
		return "cannot open /dev/kvm";
	if (ioctl(vm->kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return "unexpected KVM API version";
	vm->vmfd = ioctl(vm->kvm, KVM_CREATE_VM, 0);
	if (vm->vmfd < 0)
		return "KVM_CREATE_VM failed";
	vm->mem = mmap(NULL, SLOT_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED)
		return "cannot map guest memory";
	slot.slot = 0;
	slot.guest_phys_addr = 0;
	slot.memory_size = SLOT_SIZE;
	slot.userspace_addr = (uint64_t)(uintptr_t)vm->mem;
	if (ioctl(vm->vmfd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
		return "KVM_SET_USER_MEMORY_REGION failed";
	vm->vcpu = ioctl(vm->vmfd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu < 0)
		return "KVM_CREATE_VCPU failed";
	return NULL;
}

/* ---- the comparison ------------------------------------------------------- */

struct tally {
	unsigned	compared, mismatches, valid;
	unsigned	leaf[4];	/* valid translations by leaf level */
	unsigned	absent, rsvd;	/* faults: not present, reserved bit or hole */
};

static void run_cfg(const struct cfg *c, struct tally *total)
{
	static struct vm vm;		/* large: keep it off the stack */
	struct tally t = { 0 };
	const char *why;
	uint64_t root, cr3;
	uint8_t maxphy;
	bool gbpages;
	unsigned i;
	int rc;

	memset(&vm, 0, sizeof(vm));
	why = vm_open(&vm);
	if (why) {
		vm_close(&vm);
		cr_skip_test("%s (%s): KVM differential test not run", why, strerror(errno));
	}
	rc = set_cpuid(&vm, c, &maxphy, &gbpages);
	cr_assert_eq(rc, 0, "KVM_SET_CPUID2: %s", strerror(-rc));

	vm.rng = c->seed;
	vm.next_table = PAGE_SIZE;
	vm.mode = (struct walk_mode){
		.levels = 4, .maxphyaddr = maxphy, .cr0_wp = c->wp,
		.efer_nxe = c->nxe, .gbpages = gbpages,
	};
	vm.wmem = (struct walk_mem){ .read = mem_read, .set = mem_set, .ctx = &vm };
	root = gen_table(&vm, 4, 0);
	cr_assert_neq(root, 0);
	cr3 = root | (rnd(&vm) & (PTE_PWT | PTE_PCD));
	set_long_mode(&vm, c, cr3);

	for (i = 0; i < ADDRS_PER_CFG; i++) {
		struct kvm_translation tr = { .linear_address = rnd_gva(&vm) };
		struct walk_req r = {
			.fmt = WALK_FMT_X86_64, .addr = tr.linear_address,
			.root = cr3, .access = ACC_READ, .mode = &vm.mode,
			.mem = &vm.wmem,
		};
		enum walk_result res;

		cr_assert_eq(ioctl(vm.vcpu, KVM_TRANSLATE, &tr), 0, "KVM_TRANSLATE: %s",
			     strerror(errno));
		res = walk_run(&r);
		cr_assert(res == WALK_OK || res == WALK_FAULT, "walk_run() gave %d", res);
		t.compared++;
		t.valid += tr.valid != 0;
		if (res == WALK_OK)
			t.leaf[r.level]++;
		else if (r.error_code & PFERR_RSVD)
			t.rsvd++;
		else
			t.absent++;
		if ((res == WALK_OK) != (tr.valid != 0) ||
		    (res == WALK_OK && r.pa != tr.physical_address)) {
			if (t.mismatches++ < 10)
				cr_log_error("%s: gva %#llx: kvm valid=%u pa %#llx; walk %s "
					     "pa %#llx ec %#x level %u entries %llx %llx %llx %llx",
					     c->name, ULL(tr.linear_address), tr.valid,
					     ULL(tr.physical_address),
					     res == WALK_OK ? "ok" : "fault", ULL(r.pa),
					     r.error_code, r.level, ULL(r.entry[4]),
					     ULL(r.entry[3]), ULL(r.entry[2]), ULL(r.entry[1]));
		}
	}
	vm_close(&vm);
	cr_log_info("%s: maxphyaddr %u, 1G pages %s, %u tables, %u gvas compared, "
		    "%u valid, %u mismatches", c->name, maxphy,
		    gbpages ? "on" : c->gbpages ? "not offered by KVM (PS in a PDPTE is reserved)"
					       : "off",
		    vm.ntables, t.compared, t.valid, t.mismatches);
	cr_log_info("%s: ok 4K %u, 2M %u, 1G %u; faults: not present %u, "
		    "reserved/hole %u", c->name, t.leaf[1], t.leaf[2], t.leaf[3],
		    t.absent, t.rsvd);
	/* Every outcome must be well represented, or the test proves little. */
	cr_expect(t.valid > t.compared / 5 && t.valid < t.compared - t.compared / 5,
		  "%s: %u of %u valid: a lopsided mix", c->name, t.valid, t.compared);
	cr_expect(t.leaf[1] && t.leaf[2] && (t.leaf[3] || !gbpages) &&
		  t.absent > t.compared / 50 && t.rsvd > t.compared / 50,
		  "%s: some outcome is (nearly) never exercised", c->name);
	total->compared += t.compared;
	total->mismatches += t.mismatches;
	total->valid += t.valid;
}

Test(walker_kvm, translate_matches_kernel_walker, .timeout = 280)
{
	static const struct cfg cfgs[] = {
		{ "nxe+gbpages",        true,  true,  true,  0,  1 },
		{ "no-nxe, no-gbpages", false, true,  false, 0,  2 },
		{ "nxe, no-gbpages, maxphyaddr 39", true, false, false, 39, 3 },
		{ "no-nxe, gbpages, maxphyaddr 36", false, false, true, 36, 4 },
		{ "nxe, gbpages, maxphyaddr 52", true, true, true, 52, 5 },
	};
	struct tally total = { 0 };
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(cfgs); i++)
		run_cfg(&cfgs[i], &total);
	fprintf(stderr, "walker_kvm: %u gvas compared against KVM_TRANSLATE, "
		"%u valid, %u mismatches\n", total.compared, total.valid,
		total.mismatches);
	cr_assert_geq(total.compared, 1000000u);
	cr_assert_eq(total.mismatches, 0, "%u of %u translations differ from KVM",
		     total.mismatches, total.compared);
}
