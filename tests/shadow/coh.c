/*
 * coh.c - the coherence checker (see coh.h): native, shadow and
 * optionally ept VMs in lockstep under one guest OS.
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
 *
 * A wild guest (cfg.wild, the fuzz harness) points its gptes anywhere
 * and stores to any frame, so a frame may be a table at several levels
 * at once and data too. Its invalidation is worked out from the walks
 * themselves: before and after a change, every sample gva of the
 * current address space whose walk reads the changed entry (at any
 * level) is INVLPGed, or the whole TLB is flushed, as the input picks;
 * never less than the architecture requires.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <stddef.h>
#include <asm/vmx.h>

#include "coh.h"
#include "ept.h"
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
#define MAXPHY		39u	/* the skylake profile's MAXPHYADDR */
#define N_SIDES		3u
/* Sample page gvas: one per combination of the index sets. */
#define N_PAGES		(ARRAY_SIZE(set4) * ARRAY_SIZE(set3) * ARRAY_SIZE(set2) * \
			 ARRAY_SIZE(set1))

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

struct coh;
static unsigned pool_pick(struct coh *c, unsigned level);

static const unsigned set4[] = { 0, 1 };
static const unsigned set3[] = { 0, 2 };
static const unsigned set2[] = { 0, 1, 3 };
static const unsigned set1[] = { 0, 1, 2, 3, 7, 511 };
static const unsigned *const sets[5] = { NULL, set1, set2, set3, set4 };
static const unsigned nsets[5] = { 0, ARRAY_SIZE(set1), ARRAY_SIZE(set2),
				    ARRAY_SIZE(set3), ARRAY_SIZE(set4) };
static const gpa_t large_regions[] = { 4 * MiB, 6 * MiB, 8 * MiB, 10 * MiB, 12 * MiB,
				      14 * MiB };

enum side_kind { SIDE_NATIVE, SIDE_SHADOW, SIDE_EPT };

struct side {
	struct vm	vm;
	enum side_kind	kind;
	const char	*name;
	hpa_t		ram_end;	/* guest RAM's backing: host [0, ram_end) */
	uint64_t	params[MMU_MAX_PARAMS];
	bool		pf;		/* the last access took a #PF */
	gva_t		cr2;
	uint32_t	ec;
};

struct coh {
	const struct coh_cfg	*cfg;
	struct coh_result	*res;
	struct profile		prof;
	struct side		n, s, e;	/* native, shadow, ept */
	struct side		*sd[N_SIDES];	/* the VMs in lockstep, native first */
	unsigned		nsd;
	uint64_t		rng;
	size_t			pos;	/* next byte of cfg->input */
	bool			eof;	/* cfg->input ran out */
	unsigned		cur;	/* current address space */
	unsigned		step;
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

/* The next n bytes of the input, little-endian; past its end, zeros. */
static uint64_t in_bytes(struct coh *c, unsigned n)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		if (c->pos >= c->cfg->input_len) {
			c->eof = true;
			break;
		}
		v |= (uint64_t)c->cfg->input[c->pos++] << (8 * i);
	}
	return v;
}

/* A 64-bit decision: from the seed's generator, or eight input bytes. */
static uint64_t draw(struct coh *c)
{
	return c->cfg->input ? in_bytes(c, 8) : rnd(&c->rng);
}

/* A decision in [0, n). */
static unsigned rn(struct coh *c, unsigned n)
{
	if (c->cfg->input)
		return (unsigned)(in_bytes(c, n > 256 ? 2 : 1) % n);
	return (unsigned)(rnd(&c->rng) % n);
}

/* A decision of the checks (which gvas to compare, how): always from
 * the generator, so that the input goes to what the guest does. With a
 * seed, rn() and rn_chk() draw from the same stream. */
static unsigned rn_chk(struct coh *c, unsigned n)
{
	return (unsigned)(rnd(&c->rng) % n);
}

static unsigned pool_pick(struct coh *c, unsigned level)
{
	static const unsigned first[5] = { 0, 10, 6, 3, 0 };
	static const unsigned count[5] = { 0, 6, 4, 3, 3 };

	return first[level] + rn(c, count[level]);
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

/* The hpa backing gpa (inside guest RAM) on a side; *backed false when
 * the VMM has not backed it yet (it reads as zeros). */
static hpa_t side_hpa(struct side *sd, gpa_t gpa, bool *backed)
{
	const struct mmu *m = &sd->vm.cpu.mmu;

	*backed = true;
	switch (sd->kind) {
	case SIDE_SHADOW:
		return shadow_p2m_lookup(m, gpa, backed);
	case SIDE_EPT:
		return ept_p2m_lookup(m, gpa, backed);
	case SIDE_NATIVE:
		break;
	}
	return gpa;
}

/* Host pointer to gpa on a side, or NULL (shadow, ept: not backed yet). */
static uint8_t *gptr(struct side *sd, gpa_t gpa)
{
	bool backed;
	hpa_t hpa;

	if (gpa >= GUEST_MEM)
		return NULL;
	hpa = side_hpa(sd, gpa, &backed);
	return backed ? sd->vm.cpu.mmu.hmem.base + hpa : NULL;
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
			 sd->name, gpa, sd->vm.cpu.stop_msg);
}

/* A random entry for a table of `level`. */
static uint64_t gen_gpte(struct coh *c, unsigned level)
{
	unsigned r = rn(c, 100);
	uint64_t v, f = PTE_P;

	if (r < 18)
		return r < 12 ? 0 : (draw(c) & ~PTE_P);
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
		v = pool_gpa(pool_pick(c, level - 1));
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
	unsigned i;

	for (i = 0; i < c->nsd; i++)
		vcpu_invlpg(&c->sd[i]->vm.cpu, va);
}

static void global_flush(struct coh *c)
{
	unsigned i;

	for (i = 0; i < c->nsd; i++) {
		struct vcpu *cpu = &c->sd[i]->vm.cpu;
		uint64_t cr4 = cpu->mmu.sregs.cr4;

		vcpu_write_cr4(cpu, cr4 & ~CR4_PGE);
		vcpu_write_cr4(cpu, cr4);
	}
}

static void reload_cr3(struct coh *c)
{
	unsigned i;

	for (i = 0; i < c->nsd; i++)
		vcpu_write_cr3(&c->sd[i]->vm.cpu, pool_gpa(c->cur));
}

/* The kernel stores gpte v at gpa on every VM. */
static void store_all(struct coh *c, gpa_t gpa, uint64_t v)
{
	unsigned i;

	for (i = 0; i < c->nsd; i++)
		gpte_store(c, c->sd[i], gpa, v);
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
	const char *who = sd->name;
	struct walk_req o;
	enum walk_result want = oracle(sd, va, acc, &o);
	struct mmu_fault f;
	enum mmu_result got = (enum mmu_result)coh_fill(&sd->vm.cpu.mmu, va, acc, &f);
	gpa_t page;
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
	if (o.pa >= GUEST_MEM) {
		if (got != MMU_OK || !f.unbacked)
			mismatch(c, "%s va %#" PRIx64 ": gpa %#" PRIx64 " beyond RAM not "
				 "unbacked (result %d, hpa %#" PRIx64 ")", who, va, o.pa,
				 (int)got, f.hpa);
		return;
	}
	if (got != MMU_OK || f.unbacked) {
		mismatch(c, "%s va %#" PRIx64 " acc %#x: guest maps gpa %#" PRIx64
			 ", fill gives result %d (ec %#x)", who, va, acc, o.pa, (int)got,
			 f.error_code);
		return;
	}
	/* Guest data lies in guest RAM's backing, never in the VMM's region
	 * nor outside host memory. */
	if (!hmem_ptr(&sd->vm.cpu.mmu.hmem, f.hpa, LEVEL_SIZE(f.level)) ||
	    f.hpa + LEVEL_SIZE(f.level) > sd->ram_end) {
		mismatch(c, "%s va %#" PRIx64 ": page hpa %#" PRIx64 " (level %u) outside "
			 "guest RAM's backing [0, %#" PRIx64 ")", who, va, f.hpa, f.level,
			 sd->ram_end);
		return;
	}
	expect = side_hpa(sd, o.pa, &backed);
	hpa = f.hpa + (va & (LEVEL_SIZE(f.level) - 1));
	/* The whole TLB page is guest RAM, backed contiguously (a guest
	 * page partly beyond RAM is cached in pieces inside it). */
	page = o.pa & ~(LEVEL_SIZE(f.level) - 1);
	if (!backed || hpa != expect || f.level > o.level ||
	    page + LEVEL_SIZE(f.level) > GUEST_MEM ||
	    side_hpa(sd, page + LEVEL_SIZE(f.level) - 1, &backed) !=
	    f.hpa + LEVEL_SIZE(f.level) - 1 || !backed)
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

/* A sample gva, its indices and offset chosen by pick (rn or rn_chk). */
static gva_t sample_gva_by(struct coh *c, unsigned (*pick)(struct coh *, unsigned))
{
	static const unsigned offs[] = { 0, 8, 16, 24, 56, 4088 };
	gva_t va = (gva_t)set4[pick(c, nsets[4])] << 39;

	va |= (gva_t)set3[pick(c, nsets[3])] << 30;
	va |= (gva_t)set2[pick(c, nsets[2])] << 21;
	va |= (gva_t)set1[pick(c, nsets[1])] << 12;
	return va | offs[pick(c, ARRAY_SIZE(offs))];
}

static gva_t sample_gva(struct coh *c)
{
	return sample_gva_by(c, rn);
}

static void check_va_acc(struct coh *c, gva_t va, unsigned acc)
{
	unsigned i;

	for (i = 0; i < c->nsd; i++)
		check_one(c, c->sd[i], va, acc);
}

static void check_va(struct coh *c, gva_t va)
{
	static const unsigned accs[] = { ACC_READ | ACC_USER, ACC_READ,
					 ACC_FETCH | ACC_USER, ACC_FETCH };

	check_va_acc(c, va, accs[rn_chk(c, ARRAY_SIZE(accs))]);
}

/* Guest memory of every VM against the native one's, page by page,
 * [gpa, gpa + len). */
static void check_mem(struct coh *c, gpa_t gpa, uint64_t len)
{
	static const uint8_t zero[PAGE_SIZE];
	gpa_t p;
	unsigned k;

	for (k = 1; k < c->nsd; k++) {
		struct side *sd = c->sd[k];

		for (p = gpa; p < gpa + len; p += PAGE_SIZE) {
			const uint8_t *a = gptr(&c->n, p), *b = gptr(sd, p);
			unsigned i;

			if (!b)
				b = zero;
			if (memcmp(a, b, PAGE_SIZE) == 0)
				continue;
			for (i = 0; i < PAGE_SIZE && a[i] == b[i]; i++)
				;
			mismatch(c, "guest memory differs at gpa %#" PRIx64 ": native %#"
				 PRIx64 ", %s %#" PRIx64 " (A/D or lost store)", p + (i & ~7u),
				 gread(&c->n, p + (i & ~7u)), sd->name, gread(sd, p + (i & ~7u)));
			return;
		}
	}
}

static void checks(struct coh *c)
{
	unsigned i;

	for (i = 0; i < SAMPLES; i++)
		check_va(c, sample_gva_by(c, rn_chk));
	for (i = 0; i < 2; i++)
		check_va(c, DMAP + pool_gpa(rn_chk(c, POOL_N)));
	check_mem(c, K_PDPT, 2 * PAGE_SIZE);
	for (i = 0; i < POOL_N; i++)
		check_mem(c, pool_gpa(i), PAGE_SIZE);
	if (c->cfg->wild)	/* data frames may be tables too */
		check_mem(c, DATA_BASE, DATA_N * PAGE_SIZE);
	if (c->cfg->audit_every && c->step % c->cfg->audit_every == 0) {
		char msg[256];

		if (shadow_audit(&c->s.vm.cpu.mmu, msg, sizeof(msg)))
			mismatch(c, "shadow_audit: %s", msg);
	}
}

/*
 * One guest access on every VM, then the same outcome required of all:
 * #PF or not, the error code and CR2, the value loaded.
 */
static void access_all(struct coh *c, gva_t va, bool write, uint64_t v, uint8_t cpl,
		       bool ok[N_SIDES], uint64_t val[N_SIDES])
{
	struct side *n = &c->n;
	unsigned i;

	for (i = 0; i < c->nsd; i++) {
		val[i] = v;
		ok[i] = gacc(c->sd[i], va, write, &val[i], cpl);
	}
	if (!ok[0] && n->pf)
		c->res->faults++;
	for (i = 1; i < c->nsd; i++) {
		struct side *sd = c->sd[i];

		if (ok[0] != ok[i] || (!ok[0] && (!n->pf || !sd->pf || n->ec != sd->ec ||
						   n->cr2 != sd->cr2)))
			mismatch(c, "%s at %#" PRIx64 " cpl %u: native %s (ec %#x), %s %s "
				 "(ec %#x) %s", write ? "store" : "load", va, cpl,
				 ok[0] ? "ok" : n->pf ? "#PF" : n->vm.cpu.stop_msg, n->ec,
				 sd->name, ok[i] ? "ok" : "#PF", sd->ec,
				 sd->pf || ok[i] ? "" : sd->vm.cpu.stop_msg);
		else if (ok[0] && !write && val[0] != val[i])
			mismatch(c, "load at %#" PRIx64 ": native %#" PRIx64 ", %s %#" PRIx64,
				 va, val[0], sd->name, val[i]);
	}
}

/* ------------------------------------------------------------------ */
/* The wild guest (cfg.wild)                                           */
/* ------------------------------------------------------------------ */

/* Sample page gva i, i < N_PAGES: the index sets' product. */
static gva_t page_gva(unsigned i)
{
	unsigned e = i % nsets[1], d = (i / nsets[1]) % nsets[2];
	unsigned b = (i / (nsets[1] * nsets[2])) % nsets[3];
	unsigned a = i / (nsets[1] * nsets[2] * nsets[3]);

	return ((gva_t)set4[a] << 39) | ((gva_t)set3[b] << 30) | ((gva_t)set2[d] << 21) |
	       ((gva_t)set1[e] << 12);
}

/* Mark the sample gvas of the current address space whose walk reads
 * the entry at gpa, at any level; *global: one of them translates
 * through a global leaf (a CR3 write would not flush it). */
static void mark_readers(struct coh *c, gpa_t gpa, bool mark[N_PAGES], bool *global)
{
	unsigned i, l;

	for (i = 0; i < N_PAGES; i++) {
		gva_t va = page_gva(i);
		struct walk_req r;
		enum walk_result w = oracle(&c->n, va, ACC_READ, &r);

		for (l = c->n.vm.cpu.mmu.mode.levels; l >= r.level && l >= LEVEL_4K; l--) {
			if (r.table[l] + 8 * (gpa_t)WALK_INDEX(va, l) != gpa)
				continue;
			mark[i] = true;
			if (w == WALK_OK && (r.leaf & PTE_G))
				*global = true;
		}
	}
}

/*
 * After the entry at gpa changed (mark: the readers before, from
 * mark_readers): what the guest must do for every gva that read it
 * before or reads it now, in one of the ways the architecture allows;
 * then each of those gvas is checked on every VM at once (before a
 * later CR3 write can hide a VMM that did not see the change).
 */
static void check_va(struct coh *c, gva_t va);

static void wild_invalidate(struct coh *c, gpa_t gpa, bool mark[N_PAGES], bool global)
{
	unsigned how = rn(c, 8), i;

	mark_readers(c, gpa, mark, &global);
	if (how == 6) {
		global_flush(c);		/* CR4.PGE toggle: everything */
	} else if (how == 5 && !global) {
		reload_cr3(c);			/* no global entry involved */
	} else {
		for (i = 0; i < N_PAGES; i++)
			if (mark[i])
				do_invlpg(c, page_gva(i));
		if (how == 7)
			global_flush(c);
	}
	for (i = 0; i < N_PAGES; i++)
		if (mark[i])
			check_va(c, page_gva(i) | 8 * rn_chk(c, 512));
}

/* Where a hostile gpte for a table used at `level` points (page-aligned;
 * leaf: a 4K leaf or PS set): half the time where a sane one would. */
static gpa_t wild_target(struct coh *c, unsigned level, bool leaf)
{
	unsigned r = rn(c, 16);

	if (r < 8) {
		if (level == LEVEL_4K)
			return DATA_BASE + (gpa_t)rn(c, DATA_N) * PAGE_SIZE;
		if (!leaf)
			return pool_gpa(pool_pick(c, level - 1));
		return level == LEVEL_2M ? large_regions[rn(c, ARRAY_SIZE(large_regions))] : 0;
	}
	switch (r) {
	case 8: case 9:
		/* any table: itself, an ancestor, a sibling (recursive slots) */
		return pool_gpa(rn(c, POOL_N));
	case 10:
		return DATA_BASE + (gpa_t)rn(c, DATA_N) * PAGE_SIZE;
	case 11:
		return K_PDPT + (gpa_t)rn(c, 2) * PAGE_SIZE;	/* the kernel's tables */
	case 12:
		return GUEST_MEM - (gpa_t)(1 + rn(c, 2)) * PAGE_SIZE;	/* RAM's last pages */
	case 13:	/* beyond RAM: where shadow and ept keep their tables */
		return GUEST_MEM + (gpa_t)rn(c, (unsigned)(VMM_MEM / PAGE_SIZE) + 1) * PAGE_SIZE;
	case 14:
		if (rn(c, 2))	/* just below MAXPHYADDR */
			return (UINT64_C(1) << MAXPHY) - (gpa_t)(1 + rn(c, 4)) * LEVEL_SIZE(LEVEL_2M);
		return (gpa_t)rn(c, 16) * LEVEL_SIZE(LEVEL_2M);	/* 0..32M, 2M-aligned */
	default:
		return draw(c) & PTE_ADDR_MASK & ((UINT64_C(1) << MAXPHY) - 1);
	}
}

/*
 * A hostile entry for a table used at `level`: any flags, PS at any
 * level (reserved in a PML4E, PAT in a PTE), reserved bits of every
 * kind, a target from wild_target (a large leaf's mostly aligned).
 */
static uint64_t gen_gpte_wild(struct coh *c, unsigned level)
{
	unsigned r = rn(c, 16), b, b2;
	uint64_t v;

	if (r == 0)
		return 0;
	if (r == 1)
		return draw(c);			/* anything at all */
	b = rn(c, 256);
	b2 = rn(c, 256);
	v = PTE_P;
	if (b & 3)
		v |= PTE_W;
	if (b & 12)
		v |= PTE_U;
	if (b & 16)
		v |= PTE_A;
	if (b & 32)
		v |= PTE_D;
	if (b & 64)
		v |= PTE_G;
	if (b & 128)
		v |= PTE_PWT | PTE_PCD;
	if ((b2 & 3) == 0)
		v |= PTE_NX;
	if ((level == LEVEL_2M || level == LEVEL_1G) ? (b2 & 4) != 0 : (b2 & 12) == 0)
		v |= PTE_PS;
	if (b2 & 16)
		v |= (uint64_t)rn(c, 8) << 9;	/* bits 11:9 are the OS's */
	if ((b2 & 0xe0) == 0) {			/* one reserved (or ignored) bit */
		switch (rn(c, 4)) {
		case 0:	v |= UINT64_C(1) << (MAXPHY + rn(c, 52 - MAXPHY)); break;
		case 1:	v |= UINT64_C(1) << (13 + rn(c, 8)); break;	/* 2M leaf 20:13 */
		case 2:	v |= UINT64_C(1) << (13 + rn(c, 17)); break;	/* 1G leaf 29:13 */
		default: v |= UINT64_C(1) << (52 + rn(c, 11)); break;	/* ignored 62:52 */
		}
	}
	{
		gpa_t t = wild_target(c, level, level == LEVEL_4K || (v & PTE_PS));

		if ((v & PTE_PS) && level > LEVEL_4K && rn(c, 8))
			t &= ~(LEVEL_SIZE(level) - 1);
		v |= t;
	}
	return v;
}

/* The kernel writes a hostile gpte: into a pool table (mostly) or a
 * data frame, at an index some level's walks use. */
static void step_gpte_wild(struct coh *c)
{
	unsigned k = rn(c, POOL_N), level = rn(c, 2) ? pool_level(k) : 1 + rn(c, 4);
	unsigned idx = sets[level][rn(c, nsets[level])];
	gpa_t frame = rn(c, 4) ? pool_gpa(k) : DATA_BASE + (gpa_t)rn(c, DATA_N) * PAGE_SIZE;
	gpa_t gpa = frame + 8 * (gpa_t)idx;
	uint64_t v = gen_gpte_wild(c, level);
	bool mark[N_PAGES] = { false }, global = false;

	mark_readers(c, gpa, mark, &global);
	store_all(c, gpa, v);
	wild_invalidate(c, gpa, mark, global);
}

/* A sample gva the current tables map onto a page table (an alias a
 * store through which is a gpte write), or a plain sample gva. */
static gva_t alias_gva(struct coh *c)
{
	static const unsigned idx[] = { 0, 1, 2, 3, 7, 511 };
	gva_t found[N_PAGES];
	unsigned i, n = 0;

	for (i = 0; i < N_PAGES; i++) {
		struct walk_req r;

		if (oracle(&c->n, page_gva(i), ACC_READ, &r) == WALK_OK && pool_of(r.pa) >= 0)
			found[n++] = page_gva(i);
	}
	if (n == 0)
		return sample_gva(c);
	return found[rn(c, n)] | 8 * idx[rn(c, ARRAY_SIZE(idx))];
}

/* An access at CPL 0 or 3 (a quarter through an alias of a table); a
 * store goes anywhere the tables let it but the kernel's own tables,
 * and may be a gpte. Checked on every VM right after. */
static void step_access_wild(struct coh *c)
{
	gva_t va = (rn(c, 4) ? sample_gva(c) : alias_gva(c)) & ~(gva_t)7;
	bool write = rn(c, 2) != 0, ok[N_SIDES], mark[N_PAGES] = { false }, global = false;
	uint8_t cpl = rn(c, 3) ? 3 : 0;
	unsigned acc = (write ? ACC_WRITE : ACC_READ) | (cpl == 3 ? ACC_USER : 0);
	uint64_t v = rn(c, 2) ? gen_gpte_wild(c, 1 + rn(c, 4)) : draw(c), val[N_SIDES];
	struct walk_req o = { .pa = 0 };
	bool hit = false;

	if (write && oracle(&c->n, va, acc, &o) == WALK_OK && o.pa < GUEST_MEM) {
		if (o.pa >= K_PDPT && o.pa < K_PDPT + 2 * PAGE_SIZE) {
			write = false;		/* the direct map stays */
			acc &= ~ACC_WRITE;
		} else {
			hit = true;
			mark_readers(c, o.pa, mark, &global);
		}
	}
	access_all(c, va, write, v, cpl, ok, val);
	if (hit && ok[0])
		wild_invalidate(c, o.pa, mark, global);
	check_va_acc(c, va, acc & ~ACC_WRITE);
}

/* A table rewritten again and again (the shadow's flood detection). */
static void step_recycle_wild(struct coh *c)
{
	unsigned k = rn(c, POOL_N), i;

	for (i = 0; i < 5; i++) {
		unsigned level = 1 + rn(c, 4);
		gpa_t gpa = pool_gpa(k) + 8 * (gpa_t)sets[level][rn(c, nsets[level])];
		uint64_t v = gen_gpte_wild(c, level);
		bool mark[N_PAGES] = { false }, global = false;

		mark_readers(c, gpa, mark, &global);
		store_all(c, gpa, v);
		wild_invalidate(c, gpa, mark, global);
	}
}

/* CR0.WP, CR4.SMEP/SMAP, EFER.NXE, RFLAGS.AC (STAC/CLAC) toggled. */
static void step_mode(struct coh *c)
{
	unsigned k = rn(c, 5), i;

	for (i = 0; i < c->nsd; i++) {
		struct vcpu *cpu = &c->sd[i]->vm.cpu;
		struct mmu_sregs *s = &cpu->mmu.sregs;

		switch (k) {
		case 0:	vcpu_write_cr0(cpu, s->cr0 ^ CR0_WP); break;
		case 1:	vcpu_write_cr4(cpu, s->cr4 ^ CR4_SMEP); break;
		case 2:	vcpu_write_cr4(cpu, s->cr4 ^ CR4_SMAP); break;
		case 3:	vcpu_write_efer(cpu, s->efer ^ EFER_NXE); break;
		default:
			s->rflags ^= RFLAGS_AC;
			mmu_derive_mode(&cpu->mmu);
			break;
		}
	}
	/* NXE changes what bit 63 of every entry means: the guest flushes
	 * what its TLB cached under the old meaning. */
	if (k == 3) {
		reload_cr3(c);
		global_flush(c);
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

	store_all(c, gpa, v);
	invalidate(c, pool_gpa(k), level, idx, old, v);
}

static void step_access(struct coh *c)
{
	gva_t va = sample_gva(c) & ~(gva_t)7;
	bool write = rn(c, 2) != 0;
	uint8_t cpl = rn(c, 3) ? 3 : 0;
	unsigned acc = (write ? ACC_WRITE : ACC_READ) | (cpl == 3 ? ACC_USER : 0);
	struct walk_req o = { .pa = 0 };
	uint64_t v = draw(c), old = 0, val[N_SIDES];
	bool table = false, ok[N_SIDES];
	unsigned k = 0;

	if (write && oracle(&c->n, va, acc, &o) == WALK_OK && pool_of(o.pa) >= 0) {
		/* A store into a page table through an alias: a gpte write. */
		k = (unsigned)pool_of(o.pa);
		table = true;
		old = gread(&c->n, o.pa);
		v = gen_gpte(c, pool_level(k));
	}
	access_all(c, va, write, v, cpl, ok, val);
	if (table && ok[0])
		invalidate(c, pool_gpa(k), pool_level(k),
			   (unsigned)((o.pa & (PAGE_SIZE - 1)) / 8), old, v);
}

/* A page table freed and reused: rewritten again and again (the shadow
 * detects the flood and unshadows it). */
static void step_recycle(struct coh *c)
{
	unsigned k = pool_pick(c, 1), i;

	for (i = 0; i < 5; i++) {
		unsigned idx = set1[rn(c, nsets[1])];
		gpa_t gpa = pool_gpa(k) + 8 * (gpa_t)idx;
		uint64_t old = gread(&c->n, gpa), v = gen_gpte(c, 1);

		store_all(c, gpa, v);
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
	unsigned i;

	for (i = 0; i < c->nsd; i++) {
		struct vcpu *cpu = &c->sd[i]->vm.cpu;

		vcpu_write_cr0(cpu, cpu->mmu.sregs.cr0 ^ CR0_WP);
	}
}

static void step_wild(struct coh *c)
{
	unsigned r = rn(c, 100);

	if (r < 30)
		step_gpte_wild(c);
	else if (r < 33)
		step_recycle_wild(c);
	else if (r < 70)
		step_access_wild(c);
	else if (r < 76)
		step_switch(c);
	else if (r < 82)
		do_invlpg(c, sample_gva(c));
	else if (r < 88)
		reload_cr3(c);
	else if (r < 94)
		global_flush(c);
	else
		step_mode(c);
}

static void step(struct coh *c)
{
	unsigned r;

	if (c->cfg->wild) {
		step_wild(c);
		return;
	}
	r = rn(c, 100);
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

/*
 * The deliberately broken VMM the checker must catch (cfg.stale_trace):
 * shadow paging, except that a guest write to a write-protected guest
 * table is completed here (the store, and the A/D bits the guest's walk
 * sets) as a trace fault, without the zap that would drop the sptes
 * built from the old gpte. A stale spte, the worst shadow-paging bug.
 * It lives in the test, so the production trace path carries no hook.
 */
static struct side *side_of_mmu(struct mmu *m)
{
	return (struct side *)((char *)m - offsetof(struct side, vm.cpu.mmu));
}

static int guest_set(void *ctx, uint64_t pa, unsigned level, uint64_t bits)
{
	uint8_t *p = gptr(ctx, pa);
	uint64_t v;

	(void)level;
	if (!p)
		return WALK_MEM_NONE;
	memcpy(&v, p, 8);
	v |= bits;
	memcpy(p, &v, 8);
	return WALK_MEM_OK;
}

static enum mmu_result stale_fill(struct mmu *m, struct mmu_fault *f)
{
	struct side *sd = side_of_mmu(m);
	struct walk_mem mem = { oracle_read, guest_set, sd };
	struct walk_req r = {
		.fmt = WALK_FMT_X86_64, .addr = f->va, .root = m->sregs.cr3,
		.access = f->access, .mode = &m->mode, .mem = &mem,
	};
	uint8_t *p;

	if (!(f->access & ACC_WRITE) || !(m->sregs.cr0 & CR0_PG))
		return shadow_mmu_ops.fill(m, f);
	{
		struct walk_req peek;

		if (oracle(sd, f->va, f->access, &peek) != WALK_OK ||
		    !shadow_write_traced(m, peek.pa) || !gptr(sd, peek.pa))
			return shadow_mmu_ops.fill(m, f);
	}
	BUG_ON(walk_run(&r) != WALK_OK, "the guest walk changed under the broken VMM");
	p = gptr(sd, r.pa);
	memcpy(p, &f->store_val, f->size);
	f->exited = true;
	f->exit_reason = EXIT_REASON_EXCEPTION_NMI;
	f->exit_kind = MMU_EXIT_TRACE;
	return MMU_EMULATED;
}

static struct mmu_ops stale_shadow_ops;

static int side_create(struct coh *c, struct side *sd, enum side_kind kind, char *err,
		       size_t len)
{
	static const struct mmu_ops *const ops[] = {
		[SIDE_NATIVE] = &native_mmu_ops, [SIDE_SHADOW] = &shadow_mmu_ops,
		[SIDE_EPT] = &ept_mmu_ops,
	};
	static const char *const names[] = {
		[SIDE_NATIVE] = "native", [SIDE_SHADOW] = "shadow", [SIDE_EPT] = "ept",
	};
	const struct coh_cfg *k = c->cfg;
	bool vmm = kind != SIDE_NATIVE;
	struct vm_config cfg = {
		.ops = ops[kind],
		.prof = &c->prof,
		.guest_mem = GUEST_MEM,
		.vmm_mem = vmm ? VMM_MEM : 0,
		.guest_level = LEVEL_4K,
		.host_level = vmm ? k->host_level : LEVEL_4K,
		.numa_node = -1,
		.mmu_params = vmm ? sd->params : NULL,
	};
	uint64_t vmm_bytes;

	if (kind == SIDE_SHADOW && k->stale_trace) {
		stale_shadow_ops = shadow_mmu_ops;
		stale_shadow_ops.fill = stale_fill;
		cfg.ops = &stale_shadow_ops;
	}
	sd->kind = kind;
	sd->name = names[kind];
	if (kind == SIDE_SHADOW) {
		sd->params[SHADOW_P_PAGES_MAX] = k->pages_max;
		sd->params[SHADOW_P_UNSYNC] = k->unsync;
		sd->params[SHADOW_P_ROOTS] = k->roots;
		sd->params[SHADOW_P_PREFETCH] = k->prefetch;
	} else if (kind == SIDE_EPT) {
		sd->params[EPT_PARAM_CACHES_OFF] = k->ept_caches_off;
	}
	if (vm_layout(&cfg, &sd->ram_end, &vmm_bytes, err, len) < 0 ||
	    vm_create(&sd->vm, &cfg, err, len) < 0)
		return -1;
	sd->vm.cpu.pf_handler = pf_record;
	sd->vm.cpu.pf_opaque = sd;
	c->sd[c->nsd++] = sd;
	return 0;
}

static void boot(struct coh *c, struct side *sd)
{
	/* The wild guest turns EFER.NXE off at times: its direct map is
	 * executable so that NX is never reserved in it. */
	uint64_t nx = c->cfg->wild ? 0 : PTE_NX;
	unsigned i;

	for (i = 0; i < GUEST_MEM / LEVEL_SIZE(LEVEL_2M); i++)
		gpte_store(c, sd, K_PD + 8 * i, (gpa_t)i * LEVEL_SIZE(LEVEL_2M) | PTE_P |
			   PTE_W | PTE_A | PTE_D | PTE_G | nx | PTE_PS);
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

static uint64_t side_exits(const struct side *sd)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < VMM_NR_EXIT_REASONS; i++)
		n += sd->vm.cpu.st.exits[i];
	return n;
}

int coh_run(const struct coh_cfg *cfg, struct coh_result *res)
{
	struct coh *c = calloc(1, sizeof(*c));
	char err[512];
	unsigned i, init = cfg->init_gptes ? cfg->init_gptes : 80;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	if (!c) {
		snprintf(res->first, sizeof(res->first), "out of memory");
		return -1;
	}
	c->cfg = cfg;
	c->res = res;
	c->rng = cfg->seed * UINT64_C(0x9e3779b97f4a7c15) + 1;
	if (profile_find(&c->prof, "skylake", err, sizeof(err)) < 0 ||
	    side_create(c, &c->n, SIDE_NATIVE, err, sizeof(err)) < 0 ||
	    side_create(c, &c->s, SIDE_SHADOW, err, sizeof(err)) < 0 ||
	    (cfg->ept && side_create(c, &c->e, SIDE_EPT, err, sizeof(err)) < 0)) {
		snprintf(res->first, sizeof(res->first), "%s", err);
		goto out;
	}
	BUG_ON(c->prof.maxphyaddr != MAXPHY, "the checker assumes skylake's MAXPHYADDR");
	for (i = 0; i < c->nsd; i++)
		boot(c, c->sd[i]);
	/* Random initial tables, written physically. */
	for (i = 0; i < init; i++) {
		unsigned k = rn(c, POOL_N), level = pool_level(k);
		gpa_t gpa = pool_gpa(k) + 8 * (gpa_t)sets[level][rn(c, nsets[level])];
		uint64_t v = cfg->wild ? gen_gpte_wild(c, level) : gen_gpte(c, level);

		store_all(c, gpa, v);
	}
	for (i = 0; i < c->nsd; i++)
		go_paging(c->sd[i]);

	for (c->step = 1; c->step <= cfg->steps && res->mismatches == 0 && !c->eof;
	     c->step++) {
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
		res->exits = side_exits(&c->s);
		if (cfg->ept)
			res->ept_exits = side_exits(&c->e);
		res->invlpgs = st->invlpgs;
		res->unsyncs = st->unsync_pages;
		res->cr3_writes = st->cr3_writes;
		shadow_mmu_ops.report(&c->s.vm.cpu.mmu, &mr);
		res->root_hits = mr.shadow_root_hits;
		res->shadow_pages_peak = mr.shadow_pages_peak;
	}
	ret = 0;
out:
	while (c->nsd > 0)
		vm_destroy(&c->sd[--c->nsd]->vm);
	free(c);
	return ret;
}
