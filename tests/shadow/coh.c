/*
 * coh.c - the shadow coherence checker (see coh.h).
 *
 * Guest-physical layout (16 MiB of RAM):
 *
 *   1 MiB          kernel PDPT and PD of the direct map (never changed)
 *   2 MiB + k*4K   the page-table pool, k = 0..9: PML4s (one per
 *                  address space), PDPTs, PDs; in one 2M region, which
 *                  the direct map covers with one 2M page
 *   4 MiB          64 data frames for 4K leaves
 *   5 MiB, 12 MiB, 14 MiB   PTs of the pool outside the pool's region,
 *                  in regions 2M leaves (and the direct map) map: once a
 *                  flood of writes has unshadowed them, large sptes map
 *                  their region, and must go when they are shadowed again
 *   4..14 MiB      2M regions for 2M leaves (2 and 4 MiB: large aliases
 *                  of page tables)
 *
 * The direct map (2M pages, global, supervisor, as Linux's) is how the
 * guest writes its tables: g_st64 at DMAP + gpa, at CPL 0. Random gptes
 * go only at a few indices per level, so every address space has a
 * small set of interesting gvas that the checker can enumerate.
 *
 * The guest OS invalidates exactly as the architecture requires:
 * INVLPG of every gva of the current address space that reached a
 * changed leaf entry; a global flush (CR4.PGE toggle) after a change to
 * a non-leaf entry; a global flush at each address-space switch (user
 * leaves may be global). After every step, translations are compared
 * through the backends' fill (a TLB miss walk) against an oracle walk of
 * the guest tables that sets nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

#include "coh.h"
#include "shadow.h"
#include "vmm.h"

#define GUEST_MEM	(16 * MiB)
#define VMM_MEM		(8 * MiB)
#define DMAP		UINT64_C(0xffff888000000000)
#define DMAP_SLOT	273u
#define K_PDPT		UINT64_C(0x100000)
#define K_PD		UINT64_C(0x101000)
#define POOL_BASE	(2 * MiB)
#define POOL_N		16u
#define N_AS		3u
#define DATA_BASE	(4 * MiB)
#define DATA_N		64u
#define SAMPLES		12u

/* Pool frames by level: 0..2 PML4, 3..5 PDPT, 6..9 PD, 10..15 PT. */
static unsigned pool_level(unsigned k)
{
	return k < 3 ? 4 : k < 6 ? 3 : k < 10 ? 2 : 1;
}

static gpa_t pool_gpa(unsigned k)
{
	static const gpa_t out[POOL_N] = {
		[10] = 5 * MiB, [11] = 5 * MiB + PAGE_SIZE, [12] = 12 * MiB, [13] = 14 * MiB,
	};

	return out[k] ? out[k] : POOL_BASE + (gpa_t)k * PAGE_SIZE;
}

/* The pool frame holding gpa, or -1. */
static int pool_of(gpa_t gpa)
{
	unsigned k;

	for (k = 0; k < POOL_N; k++)
		if (gpa >= pool_gpa(k) && gpa < pool_gpa(k) + PAGE_SIZE)
			return (int)k;
	return -1;
}

static unsigned pool_pick(uint64_t *rng, unsigned level);

static const unsigned set4[] = { 0, 1 };
static const unsigned set3[] = { 0, 2 };
static const unsigned set2[] = { 0, 1, 3 };
static const unsigned set1[] = { 0, 1, 2, 3, 7, 511 };
static const unsigned *const sets[5] = { NULL, set1, set2, set3, set4 };
static const unsigned nsets[5] = { 0, ARRAY_SIZE(set1), ARRAY_SIZE(set2),
				    ARRAY_SIZE(set3), ARRAY_SIZE(set4) };
static const gpa_t large_regions[] = { 4 * MiB, 6 * MiB, 8 * MiB, 10 * MiB, 12 * MiB,
				      14 * MiB };

struct side {
	struct vm	vm;
	bool		shadow;
	bool		pf;		/* the last access took a #PF */
	gva_t		cr2;
	uint32_t	ec;
};

struct coh {
	const struct coh_cfg	*cfg;
	struct coh_result	*res;
	struct profile		prof;
	struct side		n, s;	/* native, shadow */
	uint64_t		rng;
	unsigned		cur;	/* current address space */
	unsigned		step;
	uint64_t		params[8];
};

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * UINT64_C(0x2545f4914f6cdd1d);
}

static unsigned rn(struct coh *c, unsigned n)
{
	return (unsigned)(rnd(&c->rng) % n);
}

static unsigned pool_pick(uint64_t *rng, unsigned level)
{
	static const unsigned first[5] = { 0, 10, 6, 3, 0 };
	static const unsigned count[5] = { 0, 6, 4, 3, 3 };

	return first[level] + (unsigned)(rnd(rng) % count[level]);
}

static void mismatch(struct coh *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mismatch(struct coh *c, const char *fmt, ...)
{
	va_list ap;

	if (c->res->mismatches++ == 0) {
		int n = snprintf(c->res->first, sizeof(c->res->first), "step %u: ", c->step);

		va_start(ap, fmt);
		vsnprintf(c->res->first + n, sizeof(c->res->first) - (size_t)n, fmt, ap);
		va_end(ap);
		c->res->first_step = c->step;
	}
}

/* ------------------------------------------------------------------ */
/* Guest memory as each VMM sees it                                    */
/* ------------------------------------------------------------------ */

/* Host pointer to gpa on a side, or NULL (shadow: not backed yet). */
static uint8_t *gptr(struct side *sd, gpa_t gpa)
{
	struct mmu *m = &sd->vm.cpu.mmu;
	bool backed = true;
	hpa_t hpa;

	if (gpa >= GUEST_MEM)
		return NULL;
	hpa = sd->shadow ? shadow_p2m_lookup(m, gpa, &backed) : gpa;
	return backed ? m->hmem.base + hpa : NULL;
}

static uint64_t gread(struct side *sd, gpa_t gpa)
{
	uint8_t *p = gptr(sd, gpa);
	uint64_t v = 0;

	if (p)
		memcpy(&v, p, 8);
	return v;
}

static int oracle_read(void *ctx, uint64_t pa, unsigned level, uint64_t *val)
{
	(void)level;
	if (pa + 8 > GUEST_MEM)
		return WALK_MEM_NONE;
	*val = gread(ctx, pa);
	return WALK_MEM_OK;
}

static int oracle_set(void *ctx, uint64_t pa, unsigned level, uint64_t bits)
{
	(void)ctx; (void)pa; (void)level; (void)bits;
	return WALK_MEM_OK;	/* the oracle leaves no trace */
}

/* The guest's own answer for (va, access) from its tables on side sd. */
static enum walk_result oracle(struct side *sd, gva_t va, unsigned acc, struct walk_req *r)
{
	struct mmu *m = &sd->vm.cpu.mmu;
	struct walk_mem mem = { oracle_read, oracle_set, sd };

	memset(r, 0, sizeof(*r));
	r->fmt = WALK_FMT_X86_64;
	r->addr = va;
	r->root = m->sregs.cr3;
	r->access = acc;
	r->mode = &m->mode;
	r->mem = &mem;
	return walk_run(r);
}

/* ------------------------------------------------------------------ */
/* Guest code                                                          */
/* ------------------------------------------------------------------ */

static int pf_record(struct vcpu *cpu, gva_t cr2, uint32_t ec, void *opaque)
{
	struct side *sd = opaque;

	(void)cpu;
	sd->pf = true;
	sd->cr2 = cr2;
	sd->ec = ec;
	return -1;	/* unwinds to the access through vcpu_stop */
}

/* One 8-byte guest access at CPL cpl; false if it faulted or stopped. */
static bool gacc(struct side *sd, gva_t va, bool write, uint64_t *val, uint8_t cpl)
{
	struct vcpu *cpu = &sd->vm.cpu;
	jmp_buf jb;
	volatile bool ok = true;

	sd->pf = false;
	cpu->stop_jmp = &jb;
	vcpu_set_cpl(cpu, cpl);
	if (setjmp(jb) == 0) {
		if (write)
			g_st64(cpu, va, *val);
		else
			*val = g_ld64(cpu, va);
	} else {
		ok = false;
		cpu->pf_depth = 0;
	}
	vcpu_set_cpl(cpu, 0);
	cpu->stop_jmp = NULL;
	return ok;
}

/* Write a gpte (paging on: through the direct map; off: physically). */
static void gpte_store(struct coh *c, struct side *sd, gpa_t gpa, uint64_t v)
{
	bool paging = (sd->vm.cpu.mmu.sregs.cr0 & CR0_PG) != 0;

	if (!gacc(sd, paging ? DMAP + gpa : gpa, true, &v, 0))
		mismatch(c, "%s: kernel store to gpte %#" PRIx64 " failed: %s",
			 sd->shadow ? "shadow" : "native", gpa, sd->vm.cpu.stop_msg);
}

/* A random entry for a table of `level`. */
static uint64_t gen_gpte(struct coh *c, unsigned level)
{
	unsigned r = rn(c, 100);
	uint64_t v, f = PTE_P;

	if (r < 18)
		return r < 12 ? 0 : (rnd(&c->rng) & ~PTE_P);
	if (rn(c, 4))
		f |= PTE_W;
	if (rn(c, 4))
		f |= PTE_U;
	if (rn(c, 2))
		f |= PTE_A;
	if (rn(c, 2))
		f |= PTE_D;
	if (rn(c, 5) == 0)
		f |= PTE_NX;
	if (level == 1) {
		unsigned k = rn(c, 20);

		v = k == 0 ? pool_gpa(rn(c, POOL_N))	/* an alias of a table */
			   : DATA_BASE + (gpa_t)rn(c, DATA_N) * PAGE_SIZE;
		if (rn(c, 10) == 0)
			f |= PTE_G;
	} else if (level == 2 && rn(c, 5) < 2) {
		v = rn(c, 10) == 0 ? POOL_BASE		/* a large alias of the pool */
				    : large_regions[rn(c, ARRAY_SIZE(large_regions))];
		f |= PTE_PS;
		if (rn(c, 10) == 0)
			f |= PTE_G;
	} else {
		v = pool_gpa(pool_pick(&c->rng, level - 1));
		f &= ~PTE_D;
	}
	if (r < 21)
		v |= UINT64_C(1) << 51;		/* reserved (MAXPHYADDR 39) */
	return v | f;
}

static bool nonleaf(unsigned level, uint64_t e)
{
	return level > 1 && (e & PTE_P) && !(e & PTE_PS);
}

/* Every sample gva of the current address space whose walk reaches entry
 * idx of the level-`level` table at gpa t; calls fn on each. */
static void reaching(struct coh *c, gpa_t t, unsigned level, unsigned idx,
		     void (*fn)(struct coh *, gva_t))
{
	gpa_t pml4 = pool_gpa(c->cur);
	unsigned a, b, d, e;

	for (a = 0; a < nsets[4]; a++) {
		unsigned i4 = set4[a];
		uint64_t e4 = gread(&c->n, pml4 + 8 * i4);

		if (level == 4)
			continue;
		if (!nonleaf(4, e4))
			continue;
		for (b = 0; b < nsets[3]; b++) {
			unsigned i3 = set3[b];
			gpa_t pdpt = e4 & PTE_ADDR_MASK;
			uint64_t e3 = gread(&c->n, pdpt + 8 * i3);

			if (!nonleaf(3, e3) || level == 3)
				continue;
			for (d = 0; d < nsets[2]; d++) {
				unsigned i2 = set2[d];
				gpa_t pd = e3 & PTE_ADDR_MASK;
				uint64_t e2 = gread(&c->n, pd + 8 * i2);
				gva_t base = ((gva_t)i4 << 39) | ((gva_t)i3 << 30) |
					     ((gva_t)i2 << 21);

				if (level == 2) {
					if (pd == t && i2 == idx)
						for (e = 0; e < nsets[1]; e++)
							fn(c, base | ((gva_t)set1[e] << 12));
					continue;
				}
				if (!nonleaf(2, e2) || (e2 & PTE_ADDR_MASK) != t)
					continue;
				fn(c, base | ((gva_t)idx << 12));
			}
		}
	}
}

static void do_invlpg(struct coh *c, gva_t va)
{
	vcpu_invlpg(&c->n.vm.cpu, va);
	vcpu_invlpg(&c->s.vm.cpu, va);
}

static void global_flush(struct coh *c)
{
	struct side *sd[2] = { &c->n, &c->s };
	unsigned i;

	for (i = 0; i < 2; i++) {
		uint64_t cr4 = sd[i]->vm.cpu.mmu.sregs.cr4;

		vcpu_write_cr4(&sd[i]->vm.cpu, cr4 & ~CR4_PGE);
		vcpu_write_cr4(&sd[i]->vm.cpu, cr4);
	}
}

static void reload_cr3(struct coh *c)
{
	vcpu_write_cr3(&c->n.vm.cpu, pool_gpa(c->cur));
	vcpu_write_cr3(&c->s.vm.cpu, pool_gpa(c->cur));
}

/* What the architecture requires after entry idx of table t (level)
 * changed from old to new_val. */
static void invalidate(struct coh *c, gpa_t t, unsigned level, unsigned idx,
		       uint64_t old, uint64_t new_val)
{
	if (old == new_val)
		return;
	if (nonleaf(level, old) || nonleaf(level, new_val) || level > 2) {
		global_flush(c);
		return;
	}
	if (!(old & PTE_G) && rn(c, 10) == 0)
		reload_cr3(c);
	else
		reaching(c, t, level, idx, do_invlpg);
}

/* ------------------------------------------------------------------ */
/* Checks                                                              */
/* ------------------------------------------------------------------ */

int coh_fill(struct mmu *m, uint64_t va, unsigned acc, struct mmu_fault *f)
{
	enum mmu_result r = MMU_EXIT;
	unsigned i;

	for (i = 0; i < 16 && r == MMU_EXIT; i++) {
		memset(f, 0, sizeof(*f));
		f->va = va;
		f->access = acc;
		f->size = 8;
		r = m->ops->fill(m, f);
	}
	return r;
}

static void check_one(struct coh *c, struct side *sd, gva_t va, unsigned acc)
{
	const char *who = sd->shadow ? "shadow" : "native";
	struct walk_req o;
	enum walk_result want = oracle(sd, va, acc, &o);
	struct mmu_fault f;
	enum mmu_result got = (enum mmu_result)coh_fill(&sd->vm.cpu.mmu, va, acc, &f);
	gpa_t page = o.pa & ~(LEVEL_SIZE(o.level) - 1);
	hpa_t expect, hpa;
	bool backed = true;

	c->res->checks++;
	if (want == WALK_FAULT) {
		if (got != MMU_FAULT || f.error_code != o.error_code)
			mismatch(c, "%s va %#" PRIx64 " acc %#x: guest faults (ec %#x), fill "
				 "gives result %d (ec %#x, hpa %#" PRIx64 ")", who, va, acc,
				 o.error_code, (int)got, f.error_code, f.hpa);
		return;
	}
	if (page + LEVEL_SIZE(o.level) > GUEST_MEM) {
		if (got != MMU_OK || !f.unbacked)
			mismatch(c, "%s va %#" PRIx64 ": page beyond RAM not unbacked", who, va);
		return;
	}
	if (got != MMU_OK || f.unbacked) {
		mismatch(c, "%s va %#" PRIx64 " acc %#x: guest maps gpa %#" PRIx64
			 ", fill gives result %d (ec %#x)", who, va, acc, o.pa, (int)got,
			 f.error_code);
		return;
	}
	expect = sd->shadow ? shadow_p2m_lookup(&sd->vm.cpu.mmu, o.pa, &backed) : o.pa;
	hpa = f.hpa + (va & (LEVEL_SIZE(f.level) - 1));
	if (!backed || hpa != expect || f.level > o.level)
		mismatch(c, "%s va %#" PRIx64 " acc %#x: STALE translation: hpa %#" PRIx64
			 " (level %u), guest walk + p2m says %#" PRIx64 " (gpa %#" PRIx64
			 ", level %u)", who, va, acc, hpa, f.level, expect, o.pa, o.level);
	else if ((f.rights & ~o.rights) || ((f.rights | RIGHT_W) != (o.rights | RIGHT_W)))
		mismatch(c, "%s va %#" PRIx64 ": rights %#x, guest's %#x", who, va,
			 f.rights, o.rights);
	else if (f.global != ((o.leaf & PTE_G) != 0))
		mismatch(c, "%s va %#" PRIx64 ": global %d, guest's leaf %#" PRIx64, who, va,
			 f.global, o.leaf);
}

static gva_t sample_gva(struct coh *c)
{
	static const unsigned offs[] = { 0, 8, 16, 24, 56, 4088 };

	return ((gva_t)set4[rn(c, nsets[4])] << 39) | ((gva_t)set3[rn(c, nsets[3])] << 30) |
	       ((gva_t)set2[rn(c, nsets[2])] << 21) | ((gva_t)set1[rn(c, nsets[1])] << 12) |
	       offs[rn(c, ARRAY_SIZE(offs))];
}

static void check_va(struct coh *c, gva_t va)
{
	static const unsigned accs[] = { ACC_READ | ACC_USER, ACC_READ,
					 ACC_FETCH | ACC_USER, ACC_FETCH };
	unsigned a = accs[rn(c, ARRAY_SIZE(accs))];

	check_one(c, &c->n, va, a);
	check_one(c, &c->s, va, a);
}

/* Guest memory of both sides, page by page, [gpa, gpa + len). */
static void check_mem(struct coh *c, gpa_t gpa, uint64_t len)
{
	static const uint8_t zero[PAGE_SIZE];
	gpa_t p;

	for (p = gpa; p < gpa + len; p += PAGE_SIZE) {
		const uint8_t *a = gptr(&c->n, p), *b = gptr(&c->s, p);
		unsigned i;

		if (!b)
			b = zero;
		if (memcmp(a, b, PAGE_SIZE) == 0)
			continue;
		for (i = 0; i < PAGE_SIZE && a[i] == b[i]; i++)
			;
		mismatch(c, "guest memory differs at gpa %#" PRIx64 ": native %#" PRIx64
			 ", shadow %#" PRIx64 " (A/D or lost store)", p + (i & ~7u),
			 gread(&c->n, p + (i & ~7u)), gread(&c->s, p + (i & ~7u)));
		return;
	}
}

static void checks(struct coh *c)
{
	unsigned i;

	for (i = 0; i < SAMPLES; i++)
		check_va(c, sample_gva(c));
	for (i = 0; i < 2; i++)
		check_va(c, DMAP + pool_gpa(rn(c, POOL_N)));
	check_mem(c, K_PDPT, 2 * PAGE_SIZE);
	for (i = 0; i < POOL_N; i++)
		check_mem(c, pool_gpa(i), PAGE_SIZE);
	if (c->cfg->audit_every && c->step % c->cfg->audit_every == 0) {
		char msg[256];

		if (shadow_audit(&c->s.vm.cpu.mmu, msg, sizeof(msg)))
			mismatch(c, "shadow_audit: %s", msg);
	}
}

/* ------------------------------------------------------------------ */
/* Steps                                                               */
/* ------------------------------------------------------------------ */

static void step_gpte(struct coh *c)
{
	unsigned k = rn(c, POOL_N), level = pool_level(k);
	unsigned idx = sets[level][rn(c, nsets[level])];
	gpa_t gpa = pool_gpa(k) + 8 * (gpa_t)idx;
	uint64_t old = gread(&c->n, gpa), v = gen_gpte(c, level);

	gpte_store(c, &c->n, gpa, v);
	gpte_store(c, &c->s, gpa, v);
	invalidate(c, pool_gpa(k), level, idx, old, v);
}

static void step_access(struct coh *c)
{
	gva_t va = sample_gva(c) & ~(gva_t)7;
	bool write = rn(c, 2) != 0;
	uint8_t cpl = rn(c, 3) ? 3 : 0;
	unsigned acc = (write ? ACC_WRITE : ACC_READ) | (cpl == 3 ? ACC_USER : 0);
	struct walk_req o = { .pa = 0 };
	uint64_t vn = rnd(&c->rng), vs, old = 0;
	bool table = false, okn, oks;
	unsigned k = 0;

	if (write && oracle(&c->n, va, acc, &o) == WALK_OK && pool_of(o.pa) >= 0) {
		/* A store into a page table through an alias: a gpte write. */
		k = (unsigned)pool_of(o.pa);
		table = true;
		old = gread(&c->n, o.pa);
		vn = gen_gpte(c, pool_level(k));
	}
	vs = vn;
	okn = gacc(&c->n, va, write, &vn, cpl);
	oks = gacc(&c->s, va, write, &vs, cpl);
	if (okn != oks || (!okn && (!c->n.pf || !c->s.pf || c->n.ec != c->s.ec)))
		mismatch(c, "%s at %#" PRIx64 " cpl %u: native %s (ec %#x), shadow %s "
			 "(ec %#x) %s", write ? "store" : "load", va, cpl,
			 okn ? "ok" : "#PF", c->n.ec, oks ? "ok" : "#PF", c->s.ec,
			 c->s.pf || oks ? "" : c->s.vm.cpu.stop_msg);
	else if (okn && !write && vn != vs)
		mismatch(c, "load at %#" PRIx64 ": native %#" PRIx64 ", shadow %#" PRIx64,
			 va, vn, vs);
	if (table && okn)
		invalidate(c, pool_gpa(k), pool_level(k),
			   (unsigned)((o.pa & (PAGE_SIZE - 1)) / 8), old, vs);
}

/* A page table freed and reused: rewritten again and again (the shadow
 * detects the flood and unshadows it). */
static void step_recycle(struct coh *c)
{
	unsigned k = pool_pick(&c->rng, 1), i;

	for (i = 0; i < 5; i++) {
		unsigned idx = set1[rn(c, nsets[1])];
		gpa_t gpa = pool_gpa(k) + 8 * (gpa_t)idx;
		uint64_t old = gread(&c->n, gpa), v = gen_gpte(c, 1);

		gpte_store(c, &c->n, gpa, v);
		gpte_store(c, &c->s, gpa, v);
		invalidate(c, pool_gpa(k), 1, idx, old, v);
	}
}

static void step_switch(struct coh *c)
{
	c->cur = rn(c, N_AS);
	reload_cr3(c);
	global_flush(c);
}

static void step_wp(struct coh *c)
{
	vcpu_write_cr0(&c->n.vm.cpu, c->n.vm.cpu.mmu.sregs.cr0 ^ CR0_WP);
	vcpu_write_cr0(&c->s.vm.cpu, c->s.vm.cpu.mmu.sregs.cr0 ^ CR0_WP);
}

static void step(struct coh *c)
{
	unsigned r = rn(c, 100);

	if (r < 37)
		step_gpte(c);
	else if (r < 40)
		step_recycle(c);
	else if (r < 78)
		step_access(c);
	else if (r < 86)
		step_switch(c);
	else if (r < 91)
		do_invlpg(c, sample_gva(c));
	else if (r < 97)
		reload_cr3(c);
	else
		step_wp(c);
}

/* ------------------------------------------------------------------ */
/* Set-up                                                              */
/* ------------------------------------------------------------------ */

static int side_create(struct coh *c, struct side *sd, bool shadow, char *err, size_t len)
{
	struct vm_config cfg = {
		.ops = shadow ? &shadow_mmu_ops : &native_mmu_ops,
		.prof = &c->prof,
		.guest_mem = GUEST_MEM,
		.vmm_mem = shadow ? VMM_MEM : 0,
		.guest_level = LEVEL_4K,
		.host_level = shadow ? c->cfg->host_level : LEVEL_4K,
		.numa_node = -1,
		.mmu_params = shadow ? c->params : NULL,
	};

	sd->shadow = shadow;
	if (vm_create(&sd->vm, &cfg, err, len) < 0)
		return -1;
	sd->vm.cpu.pf_handler = pf_record;
	sd->vm.cpu.pf_opaque = sd;
	return 0;
}

static void boot(struct coh *c, struct side *sd)
{
	unsigned i;

	for (i = 0; i < GUEST_MEM / LEVEL_SIZE(LEVEL_2M); i++)
		gpte_store(c, sd, K_PD + 8 * i, (gpa_t)i * LEVEL_SIZE(LEVEL_2M) | PTE_P |
			   PTE_W | PTE_A | PTE_D | PTE_G | PTE_NX | PTE_PS);
	gpte_store(c, sd, K_PDPT, K_PD | PTE_P | PTE_W | PTE_A);
	for (i = 0; i < N_AS; i++)
		gpte_store(c, sd, pool_gpa(i) + 8 * DMAP_SLOT, K_PDPT | PTE_P | PTE_W | PTE_A);
}

static void go_paging(struct side *sd)
{
	struct vcpu *cpu = &sd->vm.cpu;

	vcpu_write_cr4(cpu, CR4_PAE | CR4_PGE);
	vcpu_write_efer(cpu, EFER_LME | EFER_NXE);
	vcpu_write_cr3(cpu, pool_gpa(0));
	vcpu_write_cr0(cpu, CR0_PE | CR0_PG | CR0_WP);
}

int coh_run(const struct coh_cfg *cfg, struct coh_result *res)
{
	struct coh *c = calloc(1, sizeof(*c));
	char err[512];
	unsigned i;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	if (!c) {
		snprintf(res->first, sizeof(res->first), "out of memory");
		return -1;
	}
	c->cfg = cfg;
	c->res = res;
	c->rng = cfg->seed * UINT64_C(0x9e3779b97f4a7c15) + 1;
	c->params[SHADOW_P_PAGES_MAX] = cfg->pages_max;
	c->params[SHADOW_P_UNSYNC] = cfg->unsync;
	c->params[SHADOW_P_ROOTS] = cfg->roots;
	c->params[SHADOW_P_DEBUG] = cfg->debug;
	if (profile_find(&c->prof, "skylake", err, sizeof(err)) < 0 ||
	    side_create(c, &c->n, false, err, sizeof(err)) < 0) {
		snprintf(res->first, sizeof(res->first), "%s", err);
		goto out;
	}
	if (side_create(c, &c->s, true, err, sizeof(err)) < 0) {
		snprintf(res->first, sizeof(res->first), "%s", err);
		goto out_n;
	}
	boot(c, &c->n);
	boot(c, &c->s);
	/* Random initial tables, written physically. */
	for (i = 0; i < 80; i++) {
		unsigned k = rn(c, POOL_N), level = pool_level(k);
		gpa_t gpa = pool_gpa(k) + 8 * (gpa_t)sets[level][rn(c, nsets[level])];
		uint64_t v = gen_gpte(c, level);

		gpte_store(c, &c->n, gpa, v);
		gpte_store(c, &c->s, gpa, v);
	}
	go_paging(&c->n);
	go_paging(&c->s);

	for (c->step = 1; c->step <= cfg->steps && res->mismatches == 0; c->step++) {
		step(c);
		checks(c);
		res->steps = c->step;
	}
	if (res->mismatches == 0)
		check_mem(c, 0, GUEST_MEM);
	{
		const struct vcpu_stats *st = &c->s.vm.cpu.st;
		struct mmu_report mr = { 0 };

		res->trace_faults = st->trace_faults;
		res->hidden_faults = st->hidden_faults;
		res->true_faults = st->true_faults;
		for (i = 0; i < VMM_NR_EXIT_REASONS; i++)
			res->exits += st->exits[i];
		res->invlpgs = st->invlpgs;
		res->cr3_writes = st->cr3_writes;
		shadow_mmu_ops.report(&c->s.vm.cpu.mmu, &mr);
		res->root_hits = mr.shadow_root_hits;
		res->shadow_pages_peak = mr.shadow_pages_peak;
	}
	ret = 0;
	vm_destroy(&c->s.vm);
out_n:
	vm_destroy(&c->n.vm);
out:
	free(c);
	return ret;
}
