/*
 * evm.c - a bare ept MMU for the ept tests (see evm.h).
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/mman.h>

#include "evm.h"

#define GEOM(n, w)	((struct tc_geom){ .entries = (n), .ways = (w) })

void evm_init(struct evm *v, const struct evm_cfg *c)
{
	struct mmu *m = &v->m;
	uint64_t hsize = LEVEL_SIZE(c->host_level);
	uint64_t backing = (c->guest_size + hsize - 1) & ~(hsize - 1);
	uint64_t vmm = c->vmm_mem ? c->vmm_mem
				  : ept_vmm_bytes(c->guest_size, c->host_level) + 64 * PAGE_SIZE;
	struct tlb_config tc = {
		.l1 = { { .entries = 16, .ways = 4, .sizes = 1u << LEVEL_4K },
			{ .entries = 8, .ways = 4, .sizes = 1u << LEVEL_2M },
			{ .entries = 4, .ways = 4, .sizes = 1u << LEVEL_1G } },
		.l2 = { { .entries = 64, .ways = 4,
			  .sizes = (1u << LEVEL_4K) | (1u << LEVEL_2M) } },
		.psc = { GEOM(16, 4), GEOM(4, 4), GEOM(2, 2) },
	};

	memset(v, 0, sizeof(*v));
	v->maplen = backing + vmm + 2 * PAGE_SIZE;
	v->map = mmap(NULL, v->maplen, PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	cr_assert_neq(v->map, MAP_FAILED);
	cr_assert_eq(mprotect(v->map + PAGE_SIZE, backing + vmm, PROT_READ | PROT_WRITE), 0);

	m->hmem.base = v->map + PAGE_SIZE;
	m->hmem.size = backing + vmm;
	m->hmem.guest_size = c->guest_size;
	m->hmem.vmm_next = backing;
	m->hmem.vmm_end = backing + vmm;
	m->guest_level = LEVEL_4K;
	m->host_level = c->host_level;
	m->params[EPT_PARAM_CACHES_OFF] = c->caches_off;
	v->ntlb = GEOM(16, 4);
	v->epsc[0] = GEOM(16, 4);
	v->epsc[1] = GEOM(4, 4);
	v->epsc[2] = GEOM(2, 2);
	m->ntlb_geom = &v->ntlb;
	m->ept_psc_geom = v->epsc;
	cr_assert_eq(tlb_init(&m->tlb, &tc), 0);
	tlb_set_context(&m->tlb, 1, 0);
	m->sregs.cr0 = CR0_PE | CR0_PG | CR0_WP;
	m->sregs.cr4 = CR4_PAE | CR4_PGE;
	m->sregs.efer = EFER_LME | EFER_LMA | EFER_NXE;
	m->mode.maxphyaddr = 46;
	m->mode.gbpages = true;
	m->mode.ept_ad = c->ept_ad;
	mmu_derive_mode(m);
	m->ops = &ept_mmu_ops;
	cr_assert_eq(m->ops->init(m), 0, "ept init failed");
	v->gnext = 1 * MiB;
	v->gend = 3 * MiB;
}

void evm_fini(struct evm *v)
{
	v->m.ops->destroy(&v->m);
	tlb_destroy(&v->m.tlb);
	munmap(v->map, v->maplen);
}

void evm_back_all(struct evm *v)
{
	struct mmu *m = &v->m;
	uint64_t size = LEVEL_SIZE(m->host_level);
	uint64_t n = (m->hmem.guest_size + size - 1) / size, i;

	for (i = 0; i < n; i++)
		cr_assert_eq(ept_map(m, i * size, (n - 1 - i) * size, m->host_level,
				     RIGHT_R | RIGHT_W | RIGHT_X, NULL), 0);
}

static uint64_t hget(const struct evm *v, hpa_t hpa)
{
	uint64_t x;

	cr_assert_leq(hpa + 8, v->m.hmem.size, "host read at %#lx outside hmem",
		      (unsigned long)hpa);
	memcpy(&x, v->m.hmem.base + hpa, 8);
	return x;
}

bool evm_ept_hpa(const struct evm *v, gpa_t gpa, hpa_t *hpa, unsigned *level)
{
	hpa_t table = ept_eptp(&v->m) & PTE_ADDR_MASK;
	unsigned l;

	for (l = EPT_LEVELS; l >= LEVEL_4K; l--) {
		uint64_t e = hget(v, table + 8 * WALK_INDEX(gpa, l));

		if (!(e & 7))
			return false;
		if (l == LEVEL_4K || (l <= LEVEL_1G && (e & EPTE_LARGE))) {
			uint64_t mask = LEVEL_SIZE(l) - 1;

			*hpa = (e & PTE_ADDR_MASK & ~mask) | (gpa & mask);
			if (level)
				*level = l;
			return true;
		}
		table = e & PTE_ADDR_MASK;
	}
	return false;
}

hpa_t evm_ept_entry(const struct evm *v, gpa_t gpa, unsigned level)
{
	hpa_t table = ept_eptp(&v->m) & PTE_ADDR_MASK;
	unsigned l;

	for (l = EPT_LEVELS; l > level; l--)
		table = hget(v, table + 8 * WALK_INDEX(gpa, l)) & PTE_ADDR_MASK;
	return table + 8 * WALK_INDEX(gpa, level);
}

uint64_t evm_gread(const struct evm *v, gpa_t gpa)
{
	hpa_t hpa;

	cr_assert(evm_ept_hpa(v, gpa, &hpa, NULL), "gpa %#lx not mapped", (unsigned long)gpa);
	return hget(v, hpa);
}

void evm_gwrite(struct evm *v, gpa_t gpa, uint64_t val)
{
	hpa_t hpa;

	cr_assert(evm_ept_hpa(v, gpa, &hpa, NULL), "gpa %#lx not mapped", (unsigned long)gpa);
	cr_assert_leq(hpa + 8, v->m.hmem.size);
	memcpy(v->m.hmem.base + hpa, &val, 8);
}

gpa_t evm_gtable(struct evm *v)
{
	gpa_t t = v->gnext;
	unsigned i;

	cr_assert_lt(t, v->gend, "guest table area full");
	v->gnext += PAGE_SIZE;
	for (i = 0; i < 512; i++)
		evm_gwrite(v, t + 8 * i, 0);
	return t;
}

void evm_gmap(struct evm *v, gpa_t cr3, gva_t va, gpa_t gpa, unsigned level,
	      uint64_t leaf_flags)
{
	gpa_t table = cr3;
	unsigned l;

	for (l = 4; l > level; l--) {
		gpa_t ea = table + 8 * WALK_INDEX(va, l);
		uint64_t e = evm_gread(v, ea);

		if (!(e & PTE_P)) {
			e = evm_gtable(v) | PTE_P | PTE_W | PTE_U | PTE_A;
			evm_gwrite(v, ea, e);
		}
		table = e & PTE_ADDR_MASK;
	}
	evm_gwrite(v, table + 8 * WALK_INDEX(va, level),
		   (gpa & ~(LEVEL_SIZE(level) - 1)) | leaf_flags |
		   (level > LEVEL_4K ? PTE_PS : 0));
}

gpa_t evm_gentry(const struct evm *v, gpa_t cr3, gva_t va, unsigned level)
{
	gpa_t table = cr3;
	unsigned l;

	for (l = 4; l > level; l--)
		table = evm_gread(v, table + 8 * WALK_INDEX(va, l)) & PTE_ADDR_MASK;
	return table + 8 * WALK_INDEX(va, level);
}

enum mmu_result evm_fill(struct evm *v, gva_t va, unsigned access, struct mmu_fault *f)
{
	memset(f, 0, sizeof(*f));
	f->va = va;
	f->access = access;
	f->size = 8;
	return v->m.ops->fill(&v->m, f);
}

unsigned evm_refs_2d(unsigned guest_level, unsigned host_level)
{
	unsigned n = 5 - guest_level, m = 5 - host_level;

	return (n + 1) * (m + 1) - 1;
}
