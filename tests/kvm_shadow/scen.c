/*
 * scen.c - the scenarios: the reference probe's 17 phases, and random
 * programs from a seed. Both sides run exactly these steps.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scen.h"

#define P	UINT64_C(1)
#define W	UINT64_C(2)
#define U	UINT64_C(4)
#define A	UINT64_C(0x20)
#define D	UINT64_C(0x40)
#define PWU	(P | W | U)
#define PG	UINT64_C(4096)

const char *const scen_ctr_name[C_NR] = {
	[C_PF_FIXED] = "pf_fixed", [C_PF_GUEST] = "pf_guest", [C_PF_EMULATE] = "pf_emulate",
	[C_MMU_UNSYNC] = "mmu_unsync", [C_MMU_FLOODED] = "mmu_flooded",
	[C_MMU_SHADOW_ZAPPED] = "mmu_shadow_zapped", [C_MMU_CACHE_MISS] = "mmu_cache_miss",
	[C_INVLPG] = "invlpg", [C_PF_SPURIOUS] = "pf_spurious",
	[C_MMU_PDE_ZAPPED] = "mmu_pde_zapped", [C_TLB_FLUSH] = "tlb_flush",
	[C_PAGES_4K] = "pages_4k", [C_PF_TAKEN] = "pf_taken",
};

static int grow(void **p, size_t *cap, size_t n, size_t sz)
{
	void *q;

	if (n < *cap)
		return 0;
	q = realloc(*p, (*cap ? 2 * *cap : 256) * sz);
	if (!q)
		return -1;
	*p = q;
	*cap = *cap ? 2 * *cap : 256;
	return 0;
}

static int init(struct scen *s, uint64_t gpa, uint64_t val)
{
	if (grow((void **)&s->init, &s->capinit, s->ninit, sizeof(*s->init)) < 0)
		return -1;
	s->init[s->ninit++] = (struct scen_init){ gpa, val };
	return 0;
}

static int step(struct scen *s, uint8_t op, uint8_t size, uint64_t a, uint64_t b)
{
	if (grow((void **)&s->steps, &s->capsteps, s->nsteps, sizeof(*s->steps)) < 0)
		return -1;
	s->steps[s->nsteps++] = (struct scen_step){ op, size, a, b };
	return 0;
}

static int rd(struct scen *s, uint64_t va) { return step(s, SCEN_READ, 8, va, 0); }
static int wr(struct scen *s, uint64_t va, uint64_t v) { return step(s, SCEN_WRITE, 8, va, v); }
static int cr3(struct scen *s, uint64_t v) { return step(s, SCEN_CR3, 0, v, 0); }
static int invlpg(struct scen *s, uint64_t va) { return step(s, SCEN_INVLPG, 0, va, 0); }

static int phase(struct scen *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int phase(struct scen *s, const char *fmt, ...)
{
	char (*n)[80] = realloc(s->phase_name, (s->nphases + 1) * sizeof(*n));
	va_list ap;

	if (!n)
		return -1;
	s->phase_name = n;
	va_start(ap, fmt);
	vsnprintf(n[s->nphases], sizeof(n[0]), fmt, ap);
	va_end(ap);
	s->nphases++;
	return step(s, SCEN_PHASE, 0, 0, 0);
}

void scen_free(struct scen *s)
{
	free(s->init);
	free(s->steps);
	free(s->phase_name);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------------ */
/* The probe's 17 phases                                               */
/* ------------------------------------------------------------------ */

/*
 * The reference probe's layout: two address spaces A and B; each has
 * its own PML4, PDPT and PD; PD[0] of both is one identity-mapping PT
 * of the low 2 MiB (A=D=0, page 0 unmapped); PD[2] maps a 64-page
 * window at 4 MiB: A's to frames at 2 MiB (pages 40..63 not present),
 * B's to frames at 2.5 MiB. Every frame holds its own gpa.
 */
#define PML4_A	UINT64_C(0x10000)
#define PDPT_A	UINT64_C(0x11000)
#define PD_A	UINT64_C(0x12000)
#define PT0	UINT64_C(0x13000)
#define PT1_A	UINT64_C(0x14000)
#define PML4_B	UINT64_C(0x18000)
#define PDPT_B	UINT64_C(0x19000)
#define PD_B	UINT64_C(0x1a000)
#define PT1_B	UINT64_C(0x1b000)
#define WIN	UINT64_C(0x400000)
#define FR_A	UINT64_C(0x200000)
#define FR_B	UINT64_C(0x280000)
#define FR_C	UINT64_C(0x300000)
#define REPS	100u

static int probe_tables(struct scen *s)
{
	uint64_t i;
	int e = 0;

	e |= init(s, PML4_A, PDPT_A | PWU) | init(s, PDPT_A, PD_A | PWU);
	e |= init(s, PD_A, PT0 | PWU) | init(s, PD_A + 16, PT1_A | PWU);
	e |= init(s, PML4_B, PDPT_B | PWU) | init(s, PDPT_B, PD_B | PWU);
	e |= init(s, PD_B, PT0 | PWU) | init(s, PD_B + 16, PT1_B | PWU);
	for (i = 1; i < 512; i++)
		e |= init(s, PT0 + 8 * i, (i << 12) | PWU);
	for (i = 0; i < 64; i++) {
		if (i < 40)
			e |= init(s, PT1_A + 8 * i, (FR_A + i * PG) | PWU);
		e |= init(s, PT1_B + 8 * i, (FR_B + i * PG) | PWU);
	}
	for (i = FR_A; i < FR_C + 64 * PG; i += PG)
		e |= init(s, i, i);
	s->cr3 = PML4_A;
	return e;
}

int scen_probe(struct scen *s)
{
	uint64_t i;
	int e;

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "probe");
	e = probe_tables(s);
	e |= phase(s, "P0 enter long mode");
	for (i = 0; i < 40; i++)
		e |= rd(s, WIN + i * PG);
	e |= phase(s, "P1 read 40 fresh pages");
	for (i = 0; i < 40; i++)
		e |= rd(s, WIN + i * PG);
	e |= phase(s, "P2 re-read the 40");
	for (i = 0; i < 40; i++)
		e |= wr(s, WIN + i * PG + 8, i);
	e |= phase(s, "P3 write the 40 (dirty-bit faults)");
	for (i = 40; i < 64; i++) {
		/* Not present: #PF to the guest, which maps it (at CPL3 here). */
		e |= rd(s, WIN + i * PG);
		e |= wr(s, PT1_A + 8 * i, (FR_A + i * PG) | PWU);
		e |= rd(s, WIN + i * PG);
	}
	e |= phase(s, "P4 24 not-present PTEs, mapped by the guest");
	for (i = 0; i < 16; i++)
		e |= wr(s, PT1_A + 8 * i, (FR_C + i * PG) | PWU);
	e |= phase(s, "P5 write 16 PTEs of a last-level table");
	for (i = 0; i < 16; i++)
		e |= invlpg(s, WIN + i * PG);
	e |= phase(s, "P6 INVLPG the 16");
	for (i = 0; i < 16; i++)
		e |= rd(s, WIN + i * PG);
	e |= phase(s, "P7 read the 16 remapped");
	e |= cr3(s, PML4_B) | rd(s, WIN) | cr3(s, PML4_A) | rd(s, WIN);
	e |= phase(s, "P8 first switch to B and back");
	for (i = 0; i < REPS; i++)
		e |= cr3(s, PML4_B) | rd(s, WIN) | cr3(s, PML4_A) | rd(s, WIN);
	e |= phase(s, "P9 200 CR3 loads between two roots");
	for (i = 0; i < REPS; i++)
		e |= invlpg(s, WIN);
	e |= phase(s, "P10 100 INVLPG, no PTE change");
	for (i = 0; i < 5; i++)
		e |= wr(s, PD_A + 8 * 100, 0x1000 + i);
	e |= phase(s, "P11 5 writes to a PDE");
	for (i = 0; i < 64; i++)
		e |= rd(s, WIN + i * PG);
	e |= phase(s, "P12 read the 64 window pages");
	for (i = REPS; i > 0; i--)
		e |= wr(s, PD_A + 8 * 101, i) | rd(s, WIN);
	e |= phase(s, "P13 100 x (PDE write, read)");
	/* The probe's 8-byte write straddling two PDEs; memvirt's vCPU makes
	 * only aligned accesses, so: a 2-byte write, which KVM's
	 * detect_write_misaligned() treats alike (bytes < 4). */
	e |= step(s, SCEN_WRITE, 2, PD_A + 8 * 102 + 4, 0) | rd(s, WIN);
	e |= phase(s, "P14 a misaligned PDE write");
	for (i = REPS; i > 0; i--) {
		uint64_t v = FR_A + 0x14000 + ((i & 1) << 12);

		e |= wr(s, PT1_A + 8 * 20, v | PWU | A) | invlpg(s, WIN + 20 * PG);
		e |= rd(s, WIN + 20 * PG);
	}
	e |= phase(s, "P15 100 x (PTE write, INVLPG, read)");
	for (i = 0; i < 5; i++)
		e |= wr(s, PD_B + 8 * 100, 0x1000 + i);
	e |= phase(s, "P16 5 writes to a PDE of B while on A");
	e |= cr3(s, PML4_B) | rd(s, WIN) | cr3(s, PML4_A);
	e |= phase(s, "P17 switch to B (rebuilt) and back");
	return e ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Random programs                                                     */
/* ------------------------------------------------------------------ */

/*
 * Layout: SCEN_ROOTS roots; each PML4 has slot 0 -> the shared identity
 * map (PDPT_I -> PD_I -> PT_I, A=D=0) and slot 1 -> one of two work
 * PDPTs. Work tables: 2 PDPTs, 3 PDs, 6 PTs; work addresses use PDPT
 * index 0..1, PD index 0..2 and PT index 0..15, so the set is small and
 * every table is shared by several paths.
 */
#define N_PDPT	2u
#define N_PD	3u
#define N_PT	6u
#define N_DATA	64u
#define T_PDPT(j)	(SCEN_TABLES + (uint64_t)(j) * PG)
#define T_PD(k)		(SCEN_TABLES + (uint64_t)(N_PDPT + (k)) * PG)
#define T_PT(p)		(SCEN_TABLES + (uint64_t)(N_PDPT + N_PD + (p)) * PG)
#define ROOT(r)		(SCEN_ROOT0 + (uint64_t)(r) * PG)

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * UINT64_C(0x2545f4914f6cdd1d);
}

static unsigned rn(uint64_t *x, unsigned n)
{
	return (unsigned)(rnd(x) % n);
}

static uint64_t work_va(uint64_t *x)
{
	return SCEN_WORK_VA + ((uint64_t)rn(x, 2) << 30) + ((uint64_t)rn(x, 3) << 21) +
	       ((uint64_t)rn(x, 16) << 12) + 8 * (uint64_t)rn(x, 512);
}

/* A random last-level gpte: mostly a data frame, sometimes a page
 * table's frame (an alias through which data writes are gpte writes). */
static uint64_t rand_pte(uint64_t *x)
{
	unsigned r = rn(x, 100);
	uint64_t f = P | U;

	if (r < 12)
		return 0;
	if (rn(x, 4))
		f |= W;
	if (rn(x, 2))
		f |= A;
	if (rn(x, 3) == 0)
		f |= D;
	if (r < 16)
		f &= ~U;
	if (r < 20)
		return T_PT(rn(x, N_PT)) | f;
	return (SCEN_DATA + (uint64_t)rn(x, N_DATA) * PG) | f;
}

static uint64_t rand_pde(uint64_t *x)
{
	uint64_t f = P | W | U;

	if (rn(x, 10) == 0)
		return 0;
	if (rn(x, 2))
		f |= A;
	return T_PT(rn(x, N_PT)) | f;
}

static int random_tables(struct scen *s, uint64_t *x)
{
	uint64_t i;
	unsigned j, k, p, r;
	int e = 0;

	e |= init(s, SCEN_PDPT_I, SCEN_PD_I | PWU) | init(s, SCEN_PD_I, SCEN_PT_I | PWU);
	for (i = 1; i < 512; i++)
		e |= init(s, SCEN_PT_I + 8 * i, (i << 12) | PWU);
	for (r = 0; r < SCEN_ROOTS; r++)
		e |= init(s, ROOT(r), SCEN_PDPT_I | PWU) |
		     init(s, ROOT(r) + 8, T_PDPT(r % N_PDPT) | PWU);
	for (j = 0; j < N_PDPT; j++)
		for (i = 0; i < 2; i++)
			e |= init(s, T_PDPT(j) + 8 * i, T_PD((j + i) % N_PD) | PWU);
	for (k = 0; k < N_PD; k++)
		for (i = 0; i < 3; i++)
			e |= init(s, T_PD(k) + 8 * i, T_PT((k * 3 + i) % N_PT) | PWU |
				  (rn(x, 2) ? A : 0));
	for (p = 0; p < N_PT; p++)
		for (i = 0; i < 16; i++)
			e |= init(s, T_PT(p) + 8 * i, rand_pte(x));
	for (i = 0; i < N_DATA; i++)
		e |= init(s, SCEN_DATA + i * PG, SCEN_DATA + i * PG);
	s->cr3 = ROOT(0);
	return e;
}

int scen_random(struct scen *s, uint64_t seed, unsigned nsteps, unsigned phase_len)
{
	uint64_t x = seed * UINT64_C(0x9e3779b97f4a7c15) + 0x1234567;
	unsigned n;
	int e;

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "random seed %llu", (unsigned long long)seed);
	e = random_tables(s, &x);
	for (n = 0; n < nsteps; n++) {
		unsigned r = rn(&x, 100);

		if (r < 30) {
			e |= rd(s, work_va(&x));
		} else if (r < 42) {
			static const uint8_t sz[] = { 8, 8, 8, 4, 2, 1 };
			uint8_t z = sz[rn(&x, sizeof(sz))];
			uint64_t va = work_va(&x) & ~(uint64_t)(z - 1);

			/* Bit 0 clear: through a page-table alias it writes
			 * not-present entries, never a wild pointer. */
			e |= step(s, SCEN_WRITE, z, va, rnd(&x) & 0xf70);
		} else if (r < 62) {
			e |= wr(s, T_PT(rn(&x, N_PT)) + 8 * rn(&x, 16), rand_pte(&x));
		} else if (r < 70) {
			e |= wr(s, T_PD(rn(&x, N_PD)) + 8 * rn(&x, 4), rand_pde(&x));
		} else if (r < 72) {
			e |= wr(s, T_PDPT(rn(&x, N_PDPT)) + 8 * rn(&x, 2),
				rn(&x, 8) ? T_PD(rn(&x, N_PD)) | PWU : 0);
		} else if (r < 74) {
			/* Misaligned (2 bytes) into a PDE's high half: the
			 * entry keeps its value; KVM zaps the table. */
			e |= step(s, SCEN_WRITE, 2, T_PD(rn(&x, N_PD)) + 8 * rn(&x, 4) + 4, 0);
		} else if (r < 84) {
			e |= cr3(s, ROOT(rn(&x, SCEN_ROOTS)));
		} else {
			e |= invlpg(s, work_va(&x));
		}
		if ((n + 1) % phase_len == 0 || n + 1 == nsteps)
			e |= phase(s, "steps %u..%u (%s %#llx=%#llx)", n - n % phase_len, n,
				   s->steps[s->nsteps - 1].op == SCEN_READ ? "rd" :
				   s->steps[s->nsteps - 1].op == SCEN_WRITE ? "wr" :
				   s->steps[s->nsteps - 1].op == SCEN_CR3 ? "cr3" : "invlpg",
				   (unsigned long long)s->steps[s->nsteps - 1].a,
				   (unsigned long long)s->steps[s->nsteps - 1].b);
	}
	return e ? -1 : 0;
}

void scen_phase_end(struct scen_counts *out, unsigned *phase, const int64_t cur[C_NR],
		    int64_t prev[C_NR])
{
	unsigned c;

	for (c = 0; c < C_NR; c++)
		out[*phase].v[c] = cur[c] - prev[c];
	memcpy(prev, cur, C_NR * sizeof(*prev));
	(*phase)++;
}
