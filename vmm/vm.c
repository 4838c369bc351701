/*
 * vm.c - a VM: host memory for guest RAM and the VMM's tables (hugetlbfs,
 * else transparent huge pages, else 4K pages; optionally on one NUMA
 * node), and its single vCPU brought up with paging off.
 */
#include <errno.h>
#include <stddef.h>
#include <hugetlbfs.h>
#include <numa.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "ept.h"
#include "nested.h"
#include "vmm.h"

/* The least VMM region a shadow MMU runs in: 512 table pages, reclaimed
 * LRU-first when full (guest RAM is a multiple of 2m, so any room left
 * below MAXPHYADDR is at least this). */

static void errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *vm_backing_name(enum vm_backing b)
{
	switch (b) {
	case VM_BACKING_HUGETLBFS:	return "hugetlbfs";
	case VM_BACKING_THP:		return "thp";
	case VM_BACKING_4K:		return "4k";
	}
	return "?";
}

/* Free pages in the default hugetlbfs pool, read from sysfs so that
 * libhugetlbfs is only asked when it can succeed (it warns otherwise). */
static uint64_t hugetlb_free_bytes(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	unsigned long long free_pages = 0, size_kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "HugePages_Free: %llu", &free_pages);
		sscanf(line, "Hugepagesize: %llu kB", &size_kb);
	}
	fclose(f);
	return (uint64_t)free_pages * size_kb * KiB;
}

static bool thp_available(void)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	char buf[128] = "";
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, sizeof(buf), f) != NULL && strstr(buf, "[never]") == NULL;
	fclose(f);
	return ok;
}

static int host_alloc(struct vm *vm, uint64_t len, char *err, size_t errlen)
{
	void *p;

	if (hugetlb_free_bytes() >= len && hugetlbfs_find_path() != NULL) {
		long hps = gethugepagesize();

		if (hps > 0) {
			uint64_t rounded = (len + (uint64_t)hps - 1) & ~((uint64_t)hps - 1);

			p = get_huge_pages(rounded, GHP_DEFAULT);
			if (p) {
				vm->alloc = p;
				vm->alloc_len = rounded;
				vm->alloc_huge = true;
				vm->backing = VM_BACKING_HUGETLBFS;
				return 0;
			}
		}
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		errf(err, errlen, "cannot map %llu MiB of host memory: %s",
		     (unsigned long long)(len / MiB), strerror(errno));
		return -1;
	}
	vm->alloc = p;
	vm->alloc_len = len;
	vm->alloc_huge = false;
	vm->backing = VM_BACKING_4K;
	if (thp_available() && madvise(p, len, MADV_HUGEPAGE) == 0)
		vm->backing = VM_BACKING_THP;
	return 0;
}

static void host_free(struct vm *vm)
{
	if (!vm->alloc)
		return;
	if (vm->alloc_huge)
		free_huge_pages(vm->alloc);
	else
		munmap(vm->alloc, vm->alloc_len);
	vm->alloc = NULL;
}

int vm_numa_check(int node, char *err, size_t errlen)
{
	if (node < 0)
		return 0;
	if (numa_available() < 0) {
		errf(err, errlen, "--numa-node=%d: this host has no NUMA support", node);
		return -1;
	}
	if (node > numa_max_node()) {
		errf(err, errlen, "--numa-node=%d: no such node (this host has nodes 0..%d)",
		     node, numa_max_node());
		return -1;
	}
	return 0;
}

static int vm_numa_bind(struct vm *vm, int node, char *err, size_t errlen)
{
	vm->numa_node = node;
	if (node < 0)
		return 0;
	if (vm_numa_check(node, err, errlen) < 0)
		return -1;
	numa_tonode_memory(vm->alloc, vm->alloc_len, node);
	return 0;
}

/*
 * Bytes in the largest binary unit that divides them, with the suffixes
 * of `u` (GiB, MiB, KiB, then plain bytes; NULL: skip that unit).
 */
struct size_units { const char *suffix[4]; };

static const char *size_in(uint64_t v, char buf[32], const struct size_units *u)
{
	static const uint64_t unit[3] = { GiB, MiB, KiB };
	unsigned i;

	for (i = 0; i < 3; i++)
		if (u->suffix[i] && v && v % unit[i] == 0) {
			snprintf(buf, 32, "%llu%s", (unsigned long long)(v / unit[i]), u->suffix[i]);
			return buf;
		}
	snprintf(buf, 32, "%llu%s", (unsigned long long)v, u->suffix[3]);
	return buf;
}

/* size_str - bytes for a message: "64 GiB", "2 MiB", "4096 bytes". */
static const char *size_str(uint64_t v, char buf[32])
{
	static const struct size_units u = { { " GiB", " MiB", " KiB", " bytes" } };

	return size_in(v, buf, &u);
}

/* arg_str - bytes as --guest-mem takes them: "64g", "65534m". */
static const char *arg_str(uint64_t v, char buf[32])
{
	static const struct size_units u = { { "g", "m", NULL, "" } };

	return size_in(v, buf, &u);
}

int vm_layout(const struct vm_config *cfg, uint64_t *backing, uint64_t *vmm_bytes,
	      char *err, size_t errlen)
{
	unsigned mpa = cfg->prof->maxphyaddr;
	uint64_t limit = UINT64_C(1) << mpa, hsize = LEVEL_SIZE(cfg->host_level);
	uint64_t b = (cfg->guest_mem + hsize - 1) & ~(hsize - 1), need, room;
	char s1[32], s2[32], s3[32], s4[32];

	if (cfg->guest_mem > limit) {
		errf(err, errlen, "--guest-mem=%s is above the 2^%u = %s of physical address "
		     "space of CPU profile %s (its maxphyaddr)", arg_str(cfg->guest_mem, s1),
		     mpa, size_str(limit, s2), cfg->prof->name);
		return -1;
	}
	if (cfg->vmm_mem != 0 && cfg->guest_mem % hsize != 0 && cfg->host_level == LEVEL_1G) {
		/* the last host page would be zeroed and resident beyond RAM */
		errf(err, errlen, "1G host pages (--host-pages=1g, the default under --pages=1g) "
		     "need --guest-mem a multiple of 1g (got %s): "
		     "a 1G host page is backed in full, so RAM plus the VMM's region would "
		     "not bound what the host uses", arg_str(cfg->guest_mem, s1));
		return -1;
	}
	if (cfg->vmm_mem == 0 || !mmu_has_host_level(cfg->ops)) {	/* no VMM tables */
		*backing = b;
		*vmm_bytes = 0;
		return 0;
	}
	if (mpa < cfg->ops->min_maxphyaddr) {
		errf(err, errlen, "the %s MMU needs maxphyaddr >= %u; CPU profile "
		     "%s has maxphyaddr = %u", cfg->ops->name, cfg->ops->min_maxphyaddr,
		     cfg->prof->name, mpa);
		return -1;
	}
	need = cfg->ops->vmm_bytes(cfg->guest_mem, cfg->host_level);
	room = b < limit ? limit - b : 0;
	if (room < need) {
		errf(err, errlen, "--guest-mem=%s with --mmu=%s: guest RAM (%s%s) plus the "
		     "VMM's tables (at least %s) must lie below 2^%u = %s (maxphyaddr of CPU "
		     "profile %s); use a smaller --guest-mem", arg_str(cfg->guest_mem, s1),
		     cfg->ops->name, size_str(b, s2),
		     b != cfg->guest_mem ? " in host pages" : "", size_str(need, s3), mpa,
		     size_str(limit, s4), cfg->prof->name);
		return -1;
	}
	*backing = b;
	/* as asked, clipped below MAXPHYADDR: every table stays reachable */
	*vmm_bytes = cfg->vmm_mem < room ? cfg->vmm_mem : room;
	if (*vmm_bytes < need)
		*vmm_bytes = need;
	return 0;
}

int vm_create(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
	struct vcpu *cpu = &vm->cpu;
	struct mmu *m = &cpu->mmu;
	uint64_t backing, len, vmm_bytes;
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->prof = cfg->prof;
	vm->numa_node = -1;
	/*
	 * Host physical memory: guest RAM's backing (rounded up to the host
	 * page size so a VMM can back it with aligned large pages), then the
	 * VMM's own region for shadow/EPT tables, all below MAXPHYADDR.
	 */
	if (vm_layout(cfg, &backing, &vmm_bytes, err, errlen) < 0)
		return -1;
	len = backing + vmm_bytes;
	if (host_alloc(vm, len, err, errlen) < 0)
		return -1;
	if (vm_numa_bind(vm, cfg->numa_node, err, errlen) < 0)
		goto fail_mem;

	cpu->vm = vm;
	cpu->timer_at = UINT64_MAX;	/* no timer until the guest arms one */
	cpu->sample_at = UINT64_MAX;	/* the exact mode until sample_start */
	cpu->xcr0 = 1;			/* x87 only, the reset value */
	vcpu_msr_bitmap_default(cpu->msr_bitmap);
	m->ops = cfg->ops;
	m->costs = &cfg->prof->costs;
	m->guest_level = cfg->guest_level;
	m->host_level = cfg->host_level;
	m->hmem.base = vm->alloc;
	m->hmem.size = len;
	m->hmem.guest_size = cfg->guest_mem;
	m->hmem.vmm_next = backing;
	m->hmem.vmm_end = len;
	if (cfg->mmu_params)
		memcpy(m->params, cfg->mmu_params, sizeof(m->params));
	r = tlb_init(&m->tlb, &cfg->prof->tlb);
	if (r < 0) {
		errf(err, errlen, "CPU profile %s: bad TLB geometry", cfg->prof->name);
		goto fail_mem;
	}
	if (vcpu_itlb_init(cpu, &cfg->prof->itlb) < 0) {
		errf(err, errlen, "CPU profile %s: bad instruction TLB geometry",
		     cfg->prof->name);
		tlb_destroy(&m->tlb);
		goto fail_mem;
	}
	m->hmem.ref_count = &cpu->st.mem_refs[0][0];
	if (cfg->cache_model) {
		r = memsys_init(&vm->memsys, &cfg->prof->mem);
		if (r < 0) {
			errf(err, errlen, "CPU profile %s: cannot build its caches (%s)",
			     cfg->prof->name, strerror(-r));
			goto fail_tlb;
		}
		m->mem = m->hmem.cache = &vm->memsys;
	}
	r = core_init(&cpu->core, &(struct core_config){
		.cpi = cfg->prof->costs.cpi,
		.kernel_cpi = cfg->prof->costs.kernel_cpi,	/* 0 or absent: cpi */
		.rob = cfg->prof->core.rob,
		.store_buffer = cfg->prof->core.store_buffer,
		.store_rfos = cfg->prof->core.store_rfos,
		.mshrs = cfg->prof->core.mshrs,
		.walkers = cfg->prof->core.walkers,
		/* With the memory model off every access is an L1 hit. */
		.latency = {
			cfg->cache_model ? cfg->prof->mem.level[MEM_L1].latency
					 : cfg->prof->costs.l1d_hit,
			cfg->prof->mem.level[MEM_L2].latency,
			cfg->prof->mem.level[MEM_LLC].latency,
			cfg->prof->mem.dram_latency },
		.tlb_l2_hit = cfg->prof->costs.tlb_l2_hit,
	});
	if (r < 0) {
		errf(err, errlen, "CPU profile %s: cannot build its core model (%s)",
		     cfg->prof->name, strerror(-r));
		goto fail_mem_model;
	}
	cpu->walk_ref = core_ticks(cfg->prof->costs.walk_ref);
	/* Reset state: real mode with paging off, as after INIT. */
	m->sregs.cr0 = CR0_PE;
	m->mode.maxphyaddr = (uint8_t)cfg->prof->maxphyaddr;
	m->mode.gbpages = cfg->prof->gbpages;
	m->mode.ept_ad = cfg->prof->ept_ad;
	m->ntlb_geom = &cfg->prof->ntlb;
	m->ept_psc_geom = cfg->prof->ept_psc;
	mmu_derive_mode(m);
	vcpu_set_cpl(cpu, 0);
	r = m->ops->init(m);
	if (r < 0) {
		errf(err, errlen, "%s MMU: cannot initialise (%s)", m->ops->name,
		     strerror(-r));
		goto fail_core;
	}
	return 0;

fail_core:
	core_destroy(&cpu->core);
fail_mem_model:
	if (m->mem)
		memsys_destroy(m->mem);
fail_tlb:
	vcpu_itlb_destroy(cpu);
	tlb_destroy(&m->tlb);
fail_mem:
	host_free(vm);
	return -1;
}

void vm_destroy(struct vm *vm)
{
	struct mmu *m = &vm->cpu.mmu;

	sample_stop(&vm->cpu);
	if (vm->cpu.nest)
		nested_stop(&vm->cpu);
	if (m->ops && m->ops->destroy)
		m->ops->destroy(m);
	core_destroy(&vm->cpu.core);
	if (m->mem)
		memsys_destroy(m->mem);
	vcpu_itlb_destroy(&vm->cpu);
	tlb_destroy(&m->tlb);
	host_free(vm);
}
