/*
 * test_equiv.c - translation equivalence: for random guest tables over
 * random EPT mappings (4K/2M/1G leaves, holes, reduced rights at leaf
 * and non-leaf levels, guest entries with random flags, reserved bits,
 * gpas beyond RAM), the 2D walk gives exactly what the guest walk (the
 * walker over a gpa-indexed image of guest RAM) composed with EPT walks
 * gives:
 *   - an EPT violation translating a guest table entry's gpa, top down
 *     (qualification: the access, the EPT rights, GLA valid, not final;
 *     with EPT A/D a paging-structure access is a read and a write);
 *   - else the guest's #PF with the guest walk's error code;
 *   - else an EPT violation on an A/D write to a guest entry (write);
 *   - else an EPT violation on the final gpa (GLA valid and final);
 *   - else the translation: hpa of min(guest, host) page, rights ANDed,
 *     dirty only when the guest leaf (and with EPT A/D the EPT leaf) is.
 * Every cache combination and EPT A/D on/off, several seeds.
 */
#include <asm/vmx.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "evm.h"

#define RAM		(2 * GiB)
#define TABLES_LO	(1 * MiB)	/* guest tables live in [1M, 5M) */
#define TABLES_HI	(5 * MiB)
#define NMAP		400
#define NCASES		2500
#define MAXPHY		46
#define RIGHTS_RWX	(RIGHT_R | RIGHT_W | RIGHT_X)

struct rec {
	gpa_t		gpa;
	uint64_t	bits;
};

struct world {
	struct evm	v;
	uint64_t	rng;
	bool		ad;
	uint8_t		*gram;		/* guest RAM indexed by gpa (the reference's view) */
	gpa_t		cr3;
	gpa_t		tnext;		/* guest table allocator */
	gva_t		va[NMAP];
	unsigned	level[NMAP];
	unsigned	nva;
	struct walk_mode emode;		/* the EPT walks' mode, as the backend's */
	struct walk_mem	gmem;		/* reference guest walk: gram, sets recorded */
	struct walk_mem	hmem;		/* reference EPT walks: host memory, no writes */
	struct rec	sets[WALK_MAX_LEVELS + 1];
	unsigned	nsets;
};

static uint64_t rnd(struct world *w)
{
	uint64_t x = w->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	w->rng = x;
	return x * UINT64_C(0x2545f4914f6cdd1d);
}

/* true with probability pct/100 */
static bool chance(struct world *w, unsigned pct)
{
	return rnd(w) % 100 < pct;
}

/* ---------------- reference memory hooks ---------------- */

static int g_read(void *ctx, uint64_t pa, unsigned level, uint64_t *val)
{
	struct world *w = ctx;

	(void)level;
	if (pa >= RAM || RAM - pa < 8)
		return WALK_MEM_NONE;
	memcpy(val, w->gram + pa, 8);
	return WALK_MEM_OK;
}

static int g_set(void *ctx, uint64_t pa, unsigned level, uint64_t bits)
{
	struct world *w = ctx;

	(void)level;
	cr_assert_lt(w->nsets, WALK_MAX_LEVELS + 1);
	w->sets[w->nsets++] = (struct rec){ pa, bits };
	return WALK_MEM_OK;
}

static int h_read(void *ctx, uint64_t pa, unsigned level, uint64_t *val)
{
	struct world *w = ctx;

	(void)level;
	cr_assert_leq(pa + 8, w->v.m.hmem.size);
	memcpy(val, w->v.m.hmem.base + pa, 8);
	return WALK_MEM_OK;
}

static int h_set(void *ctx, uint64_t pa, unsigned level, uint64_t bits)
{
	(void)ctx;
	(void)pa;
	(void)level;
	(void)bits;
	return WALK_MEM_OK;
}

/* ---------------- building the world ---------------- */

static unsigned rand_rights(struct world *w, unsigned rwx_pct)
{
	static const unsigned some[] = { RIGHT_R, RIGHT_R | RIGHT_W, RIGHT_R | RIGHT_X, RIGHT_X };

	return chance(w, rwx_pct) ? RIGHTS_RWX : some[rnd(w) % 4];
}

static void shuffle(struct world *w, uint32_t *a, uint32_t n)
{
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(rnd(w) % (i + 1)), t = a[i];

		a[i] = a[j];
		a[j] = t;
	}
}

/* Reduce the rights of a non-leaf EPT entry (never W without R). */
static void poke_nonleaf(struct world *w, gpa_t gpa, unsigned level)
{
	static const uint64_t clear[] = { EPTE_W, EPTE_X, EPTE_R | EPTE_W };
	hpa_t at = evm_ept_entry(&w->v, gpa, level);
	uint64_t e;

	memcpy(&e, w->v.m.hmem.base + at, 8);
	e &= ~clear[rnd(w) % 3];
	memcpy(w->v.m.hmem.base + at, &e, 8);
}

/*
 * The EPT over [0, 2G): 2M regions of [0, 1G) on a permutation of host
 * 2M frames, each a 2M leaf, a hole, or split into 4K leaves (a
 * permutation inside its host frame, some holes); [1G, 2G) one 1G leaf
 * or 2M leaves. The guest-table area is always split into 4K leaves.
 */
static void build_ept(struct world *w)
{
	static uint32_t frames[512], pages[512];
	struct mmu *m = &w->v.m;
	uint32_t i, j;

	for (i = 0; i < 512; i++)
		frames[i] = pages[i] = i;
	shuffle(w, frames, 512);
	for (i = 0; i < 512; i++) {
		gpa_t g = (gpa_t)i * LEVEL_SIZE(LEVEL_2M);
		hpa_t h = (hpa_t)frames[i] * LEVEL_SIZE(LEVEL_2M);
		bool tables = g < TABLES_HI;

		if (tables || chance(w, 6)) {
			shuffle(w, pages, 512);
			for (j = 0; j < 512; j++) {
				gpa_t gj = g + (gpa_t)j * PAGE_SIZE;
				bool cr3 = gj == TABLES_LO;	/* keep the root reachable */

				if (!cr3 && chance(w, tables ? 5 : 10))
					continue;
				cr_assert_eq(ept_map(m, gj, h + (hpa_t)pages[j] * PAGE_SIZE,
						     LEVEL_4K, cr3 ? RIGHTS_RWX :
						     rand_rights(w, tables ? 90 : 70), NULL), 0);
			}
			if (g > TABLES_LO && chance(w, 10))
				poke_nonleaf(w, g, LEVEL_2M);
		} else if (!chance(w, 12)) {
			cr_assert_eq(ept_map(m, g, h, LEVEL_2M, rand_rights(w, 75), NULL), 0);
		}
	}
	if (chance(w, 50)) {
		cr_assert_eq(ept_map(m, 1 * GiB, 1 * GiB, LEVEL_1G, rand_rights(w, 80), NULL), 0);
	} else {
		shuffle(w, frames, 512);
		for (i = 0; i < 512; i++)
			if (!chance(w, 10))
				cr_assert_eq(ept_map(m, 1 * GiB + (gpa_t)i * LEVEL_SIZE(LEVEL_2M),
						     1 * GiB + (hpa_t)frames[i] * LEVEL_SIZE(LEVEL_2M),
						     LEVEL_2M, rand_rights(w, 80), NULL), 0);
	}
	if (chance(w, 30)) {		/* no execution anywhere below 1G */
		hpa_t at = evm_ept_entry(&w->v, 0, 3);
		uint64_t e;

		memcpy(&e, w->v.m.hmem.base + at, 8);
		e &= ~EPTE_X;
		memcpy(w->v.m.hmem.base + at, &e, 8);
	}
}

static uint64_t gget(const struct world *w, gpa_t gpa)
{
	uint64_t x;

	memcpy(&x, w->gram + gpa, 8);
	return x;
}

static void gput(struct world *w, gpa_t gpa, uint64_t x)
{
	memcpy(w->gram + gpa, &x, 8);
}

static gpa_t gtable(struct world *w)
{
	gpa_t t = w->tnext;

	cr_assert_lt(t, TABLES_HI, "guest table area full");
	w->tnext += PAGE_SIZE;
	return t;
}

/* Random x86 flags for a guest entry (P mostly set). */
static uint64_t gflags(struct world *w, bool leaf)
{
	uint64_t f = PTE_P;

	if (chance(w, 3))
		f = 0;
	if (leaf) {
		f |= chance(w, 50) ? PTE_W : 0;
		f |= chance(w, 60) ? PTE_U : 0;
		f |= chance(w, 50) ? PTE_A : 0;
		f |= chance(w, 50) ? PTE_D : 0;
		f |= chance(w, 10) ? PTE_G : 0;
		f |= chance(w, 20) ? PTE_NX : 0;
	} else {
		f |= chance(w, 90) ? PTE_W : 0;
		f |= chance(w, 90) ? PTE_U : 0;
		f |= chance(w, 85) ? PTE_A : 0;
		f |= chance(w, 5) ? PTE_NX : 0;
	}
	if (chance(w, 2))
		f |= UINT64_C(1) << 51;		/* reserved above MAXPHYADDR */
	return f;
}

static void gmap(struct world *w, gva_t va, unsigned level)
{
	gpa_t table = w->cr3, gpa;
	unsigned l;

	for (l = 4; l > level; l--) {
		gpa_t ea = table + 8 * WALK_INDEX(va, l);
		uint64_t e = gget(w, ea);

		if (!e) {
			gpa_t next = gtable(w);

			if (chance(w, 2))	/* point it somewhere strange */
				next = chance(w, 50) ? RAM + (rnd(w) % 4) * GiB
						     : (rnd(w) % (RAM / PAGE_SIZE)) * PAGE_SIZE;
			e = next | gflags(w, false);
			gput(w, ea, e);
		}
		table = e & PTE_ADDR_MASK;
		/* only the table area is mirrored into host memory: a strange
		 * or not-present pointer leaves the rest of the path unbuilt */
		if (!(e & PTE_P) || table < TABLES_LO || table >= TABLES_HI)
			return;
	}
	if (chance(w, 90))
		gpa = rnd(w) % RAM;
	else if (chance(w, 50))
		gpa = RAM + rnd(w) % (2 * GiB);
	else
		gpa = TABLES_LO + rnd(w) % (TABLES_HI - TABLES_LO);
	gpa &= ~(LEVEL_SIZE(level) - 1);
	gput(w, table + 8 * WALK_INDEX(va, level),
	     gpa | gflags(w, true) | (level > LEVEL_4K ? PTE_PS : 0));
}

static gva_t canonical(gva_t va)
{
	return (gva_t)((int64_t)(va << 16) >> 16);
}

/* Copy the guest-table area's mapped pages from gram into host memory. */
static void sync_tables(struct world *w)
{
	for (gpa_t g = TABLES_LO; g < TABLES_HI; g += PAGE_SIZE) {
		hpa_t h;

		if (evm_ept_hpa(&w->v, g, &h, NULL))
			memcpy(w->v.m.hmem.base + h, w->gram + g, PAGE_SIZE);
	}
}

static void world_init(struct world *w, uint64_t seed, unsigned off, bool ad)
{
	struct evm_cfg c = { .guest_size = RAM, .host_level = LEVEL_4K, .ept_ad = ad,
			     .caches_off = off,
			     .vmm_mem = ept_vmm_bytes(RAM, LEVEL_4K) };
	struct mmu *m;
	gva_t hot[6];
	unsigned i;

	memset(w, 0, sizeof(*w));
	w->rng = seed * UINT64_C(0x9e3779b97f4a7c15) + 1;
	w->ad = ad;
	evm_init(&w->v, &c);
	m = &w->v.m;
	w->gram = mmap(NULL, RAM, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	cr_assert_neq(w->gram, MAP_FAILED);
	w->gmem = (struct walk_mem){ .read = g_read, .set = g_set, .ctx = w };
	w->hmem = (struct walk_mem){ .read = h_read, .set = h_set, .ctx = w };
	w->emode = (struct walk_mode){ .levels = 4, .maxphyaddr = MAXPHY, .gbpages = true,
				       .ept_ad = ad };

	/* paging mode bits, per seed */
	m->sregs.cr0 = CR0_PE | CR0_PG | (chance(w, 70) ? CR0_WP : 0);
	m->sregs.cr4 = CR4_PAE | CR4_PGE | (chance(w, 40) ? CR4_SMEP : 0) |
		       (chance(w, 30) ? CR4_SMAP : 0);
	m->sregs.efer = EFER_LME | EFER_LMA | (chance(w, 80) ? EFER_NXE : 0);
	m->sregs.rflags = chance(w, 30) ? RFLAGS_AC : 0;
	mmu_derive_mode(m);

	build_ept(w);
	w->tnext = TABLES_LO;
	w->cr3 = gtable(w);
	for (i = 0; i < 6; i++)
		hot[i] = canonical((rnd(w) & UINT64_C(0xffffc0000000)));
	for (i = 0; i < NMAP; i++) {
		unsigned level = chance(w, 70) ? LEVEL_4K : chance(w, 66) ? LEVEL_2M : LEVEL_1G;
		gva_t va = canonical((hot[rnd(w) % 6] + (rnd(w) & (GiB * 4 - 1))) &
			       ~(LEVEL_SIZE(level) - 1));
		gmap(w, va, level);
		w->va[w->nva] = va;
		w->level[w->nva++] = level;
	}
	m->sregs.cr3 = w->cr3;
	sync_tables(w);
}

static void world_fini(struct world *w)
{
	munmap(w->gram, RAM);
	evm_fini(&w->v);
}

/* ---------------- the reference ---------------- */

struct expect {
	enum mmu_result	res;
	uint32_t	error_code;
	gpa_t		gpa;
	uint64_t	qual;
	hpa_t		hpa;
	unsigned	level, rights;
	bool		dirty, global, unbacked;
};

/* An EPT walk of gpa for acc over host memory; 0 on success. */
static int ref_ept(struct world *w, gpa_t gpa, unsigned acc, struct walk_req *r)
{
	memset(r, 0, sizeof(*r));
	r->fmt = WALK_FMT_EPT;
	r->addr = gpa;
	r->root = ept_eptp(&w->v.m);
	r->access = acc;
	r->mode = &w->emode;
	r->mem = &w->hmem;
	return (int)walk_run(r);
}

/* The EPT walk ended in a violation (never a misconfiguration: the
 * random EPT has none). */
static void ref_violation(struct expect *x, int res, const struct walk_req *e,
			  gpa_t gpa, uint64_t qual)
{
	cr_assert_eq(res, WALK_FAULT, "EPT walk of %#lx: %d", (unsigned long)gpa, res);
	x->res = MMU_EXIT;
	x->gpa = gpa;
	x->qual = e->error_code | qual;
}

static void reference(struct world *w, gva_t va, unsigned acc, struct expect *x)
{
	struct mmu *m = &w->v.m;
	struct walk_req g = {
		.fmt = WALK_FMT_X86_64, .addr = va, .root = w->cr3, .access = acc,
		.mode = &m->mode, .mem = &w->gmem,
	};
	struct walk_req e;
	enum walk_result gres;
	unsigned pacc = w->ad ? ACC_WRITE : ACC_READ;
	uint64_t pqual = EPT_QUAL_GLA_VALID | (w->ad ? EPT_QUAL_READ : 0);
	uint64_t gsize;
	gpa_t gbase;
	unsigned l, i;
	int res;

	memset(x, 0, sizeof(*x));
	w->nsets = 0;
	gres = walk_run(&g);
	cr_assert_neq(gres, WALK_ABORT);

	/* 1. each guest entry read, top down, needs its gpa translated */
	for (l = m->mode.levels; l >= g.level && l >= 1; l--) {
		gpa_t ea = g.table[l] + 8 * WALK_INDEX(va, l);

		if (ea >= RAM)
			break;		/* nothing there: all ones, no EPT walk */
		if ((res = ref_ept(w, ea, pacc, &e)) != WALK_OK) {
			ref_violation(x, res, &e, ea, pqual);
			return;
		}
	}
	/* 2. the guest's own verdict */
	if (gres == WALK_FAULT) {
		x->res = MMU_FAULT;
		x->error_code = g.error_code;
		return;
	}
	/* 3. A/D writes, each a write through the EPT */
	for (i = 0; i < w->nsets; i++)
		if ((res = ref_ept(w, w->sets[i].gpa, ACC_WRITE, &e)) != WALK_OK) {
			ref_violation(x, res, &e, w->sets[i].gpa, pqual);
			return;
		}
	/* 4. the final gpa */
	gsize = LEVEL_SIZE(g.level);
	gbase = g.pa & ~(gsize - 1);
	x->global = (g.leaf & PTE_G) != 0;
	if (gbase + gsize > RAM) {
		x->res = MMU_OK;
		x->unbacked = true;
		x->hpa = gbase;
		x->level = g.level;
		x->rights = g.rights;
		x->dirty = (g.leaf & PTE_D) != 0;
		return;
	}
	if ((res = ref_ept(w, g.pa, acc, &e)) != WALK_OK) {
		ref_violation(x, res, &e, g.pa, EPT_QUAL_GLA_VALID | EPT_QUAL_GLA_FINAL);
		return;
	}
	x->res = MMU_OK;
	x->level = g.level < e.level ? g.level : e.level;
	x->hpa = e.pa & ~(LEVEL_SIZE(x->level) - 1);
	x->rights = g.rights & (e.rights | RIGHT_U);
	x->dirty = (g.leaf & PTE_D) && (!w->ad || (e.leaf & EPTE_D));
}

/* After a case: what the 2D walk wrote into guest entries, back into gram. */
static void sync_sets(struct world *w, bool check)
{
	for (unsigned i = 0; i < w->nsets; i++) {
		hpa_t h;
		uint64_t v;

		if (!evm_ept_hpa(&w->v, w->sets[i].gpa, &h, NULL))
			continue;
		memcpy(&v, w->v.m.hmem.base + h, 8);
		if (check)
			cr_expect_eq(v & w->sets[i].bits, w->sets[i].bits,
				     "A/D bits %#lx missing at gpa %#lx",
				     (unsigned long)w->sets[i].bits,
				     (unsigned long)w->sets[i].gpa);
		gput(w, w->sets[i].gpa, v);
	}
}

/* ---------------- the test ---------------- */

struct seedcase {
	uint64_t	seed;
	unsigned	off;		/* EPT_CACHE_* off */
	bool		ad;
};

ParameterizedTestParameters(ept_equiv, random_tables)
{
	static struct seedcase s[16];

	for (unsigned i = 0; i < 16; i++)
		s[i] = (struct seedcase){ 1000 + i, i % 8, i >= 8 };
	return cr_make_param_array(struct seedcase, s, 16);
}

ParameterizedTest(struct seedcase *sc, ept_equiv, random_tables, .timeout = 120)
{
	static struct world w;
	unsigned n[5] = { 0 };
	unsigned i;

	world_init(&w, sc->seed, sc->off, sc->ad);
	for (i = 0; i < NCASES; i++) {
		static const unsigned kinds[] = { ACC_READ, ACC_WRITE, ACC_FETCH };
		unsigned k = (unsigned)(rnd(&w) % w.nva);
		unsigned acc = kinds[rnd(&w) % 3] | (chance(&w, 50) ? ACC_USER : 0);
		gva_t va;
		struct expect x;
		struct mmu_fault f;
		enum mmu_result r;

		if (chance(&w, 85))
			va = w.va[k] + ((rnd(&w) % LEVEL_SIZE(w.level[k])) & ~UINT64_C(7));
		else
			va = canonical((w.va[k] & ~(GiB - 1)) + (rnd(&w) % GiB & ~UINT64_C(7)));
		w.v.m.sregs.cpl = (acc & ACC_USER) ? 3 : 0;
		reference(&w, va, acc, &x);
		memset(&f, 0, sizeof(f));
		f.va = va;
		f.access = acc;
		f.size = 8;
		r = ept_walk2d(&w.v.m, &f);
		cr_assert_eq(r, x.res, "seed %lu case %u va %#lx acc %#x: result %d, want %d"
			     " (want gpa %#lx qual %#lx ec %#x; got gpa %#lx qual %#lx ec %#x)",
			     (unsigned long)sc->seed, i, (unsigned long)va, acc, r, x.res,
			     (unsigned long)x.gpa, (unsigned long)x.qual, x.error_code,
			     (unsigned long)f.exit_gpa, (unsigned long)f.exit_qual, f.error_code);
		n[r]++;
		switch (r) {
		case MMU_OK:
			cr_assert_eq(f.unbacked, x.unbacked, "case %u unbacked", i);
			cr_assert_eq(f.hpa, x.hpa, "case %u va %#lx hpa %#lx want %#lx", i,
				     (unsigned long)va, (unsigned long)f.hpa, (unsigned long)x.hpa);
			cr_assert_eq(f.level, x.level, "case %u level", i);
			cr_assert_eq(f.rights, x.rights, "case %u rights %#x want %#x", i,
				     f.rights, x.rights);
			cr_assert_eq(f.dirty, x.dirty, "case %u dirty", i);
			cr_assert_eq(f.global, x.global, "case %u global", i);
			cr_assert_not(f.exited);
			break;
		case MMU_FAULT:
			cr_assert_eq(f.error_code, x.error_code, "case %u va %#lx acc %#x ec %#x want %#x",
				     i, (unsigned long)va, acc, f.error_code, x.error_code);
			cr_assert_not(f.exited, "a guest #PF is no exit under EPT");
			break;
		case MMU_EXIT:
			cr_assert(f.exited);
			cr_assert_eq(f.exit_reason, EXIT_REASON_EPT_VIOLATION);
			cr_assert_eq(f.exit_gpa, x.gpa, "case %u va %#lx gpa %#lx want %#lx", i,
				     (unsigned long)va, (unsigned long)f.exit_gpa,
				     (unsigned long)x.gpa);
			cr_assert_eq(f.exit_qual, x.qual, "case %u qual %#lx want %#lx", i,
				     (unsigned long)f.exit_qual, (unsigned long)x.qual);
			break;
		default:
			cr_assert_fail("unexpected result %d", r);
		}
		sync_sets(&w, r == MMU_OK);
	}
	if (getenv("EPT_EQUIV_VERBOSE"))
		cr_log_info("seed %lu: %u ok, %u #PF, %u violations", (unsigned long)sc->seed,
			    n[MMU_OK], n[MMU_FAULT], n[MMU_EXIT]);
	/* the mix exercised every outcome */
	cr_expect_gt(n[MMU_OK], NCASES / 20, "%u translations", n[MMU_OK]);
	cr_expect_gt(n[MMU_FAULT], NCASES / 20, "%u guest faults", n[MMU_FAULT]);
	cr_expect_gt(n[MMU_EXIT], NCASES / 50, "%u EPT violations", n[MMU_EXIT]);
	world_fini(&w);
}
