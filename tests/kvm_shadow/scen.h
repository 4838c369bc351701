/*
 * scen.h - one guest program, described once, that the KVM side and the
 * memvirt side both run: the differential test of the shadow backend
 * against Linux KVM's shadow MMU.
 *
 * A scenario is the guest's initial memory (8-byte stores made before it
 * starts) and a list of steps the guest performs at CPL3, cut into
 * phases. Neither side knows anything the other does not: each reads
 * the same steps and does them its own way (KVM: real instructions run
 * by a tiny CPL3 interpreter; memvirt: accesses through its vCPU).
 *
 * Guest-physical layout (identity-mapped below 2 MiB, user, writable):
 *
 *   0x01000 GDT   0x02000 IDT   0x03000 CPL0 handlers   0x04000 TSS
 *   0x05000 kernel stack         0x08000 the CPL3 interpreter (one page)
 *   0x10000 PDPT_I  0x11000 PD_I  0x12000 PT_I: the identity map of the
 *           low 2 MiB, shared by every root (PML4[0])
 *   0x20000 + 4K*r   root r's PML4 (SCEN_ROOTS of them)
 *   0x30000 + 4K*k   work page tables: PDPTs, PDs, PTs (scen.c)
 *   0x100000 +       data frames
 *
 * Work addresses are PML4 slot 1 (SCEN_WORK_VA) and up.
 */
#ifndef MEMVIRT_TESTS_KVM_SCEN_H
#define MEMVIRT_TESTS_KVM_SCEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCEN_MEM	(4u << 20)	/* guest RAM, bytes */
#define SCEN_CODE	UINT64_C(0x8000)
#define SCEN_PDPT_I	UINT64_C(0x10000)
#define SCEN_PD_I	UINT64_C(0x11000)
#define SCEN_PT_I	UINT64_C(0x12000)
#define SCEN_ROOT0	UINT64_C(0x20000)
#define SCEN_ROOTS	5u
#define SCEN_TABLES	UINT64_C(0x30000)
#define SCEN_DATA	UINT64_C(0x100000)
#define SCEN_WORK_VA	UINT64_C(0x8000000000)	/* PML4 slot 1 */

enum scen_op {
	SCEN_READ = 1,	/* 8-byte load at a */
	SCEN_WRITE,	/* store of `size` bytes of b at a (a aligned to size) */
	SCEN_CR3,	/* MOV to CR3 of a (from the #UD trap at CPL0) */
	SCEN_INVLPG,	/* INVLPG a (likewise) */
	SCEN_PHASE,	/* end of a phase: compare counters */
};

struct scen_step {
	uint8_t		op;	/* enum scen_op */
	uint8_t		size;	/* SCEN_WRITE: 1, 2, 4, 8 */
	uint64_t	a;	/* gva, or CR3 value */
	uint64_t	b;	/* value stored */
};

struct scen_init {
	uint64_t	gpa;
	uint64_t	val;
};

struct scen {
	char		name[64];
	struct scen_init *init;		/* initial guest memory, in order */
	size_t		ninit, capinit;
	struct scen_step *steps;
	size_t		nsteps, capsteps;
	unsigned	nphases;
	char		(*phase_name)[80];	/* per phase, for the report */
	uint64_t	cr3;			/* initial CR3 */
};

/* The counters compared, per phase: KVM's names. */
enum scen_ctr {
	C_PF_FIXED, C_PF_GUEST, C_PF_EMULATE, C_MMU_UNSYNC, C_MMU_FLOODED,
	C_MMU_SHADOW_ZAPPED, C_MMU_CACHE_MISS, C_INVLPG,
	/* beyond the mapping */
	C_PF_SPURIOUS, C_MMU_PDE_ZAPPED, C_PAGES_4K, C_PF_TAKEN,
	C_NCOMPARED,
	/* shown, not compared (docs/kvm-validation.md) */
	C_TLB_FLUSH = C_NCOMPARED,
	C_NR
};

extern const char *const scen_ctr_name[C_NR];

/* Per phase counter changes (C_MMU_UNSYNC, C_PAGES_4K: change of the
 * instant value). */
struct scen_counts {
	int64_t		v[C_NR];
};

/* scen_phase_end - record phase *phase as the change from prev to cur,
 * then make cur the new prev and move to the next phase. Both sides
 * call it at each SCEN_PHASE step. */
void scen_phase_end(struct scen_counts *out, unsigned *phase, const int64_t cur[C_NR],
		    int64_t prev[C_NR]);

/* scen_probe - the 17 phases of the reference probe (see scen.c). */
int scen_probe(struct scen *s);

/* scen_random - a random program from seed: nsteps steps mixing reads,
 * writes, PTE/PDE writes, remaps, CR3 switches among the roots and
 * INVLPGs, a phase every phase_len steps. */
int scen_random(struct scen *s, uint64_t seed, unsigned nsteps, unsigned phase_len);

void scen_free(struct scen *s);

/* The two sides. Each returns 0 and fills out[0..nphases-1], or -1 with
 * a one-line reason in err. skip (KVM only): set when the machine has no
 * usable KVM shadow MMU (not an error). */
int scen_run_kvm(const struct scen *s, struct scen_counts *out, char *err, size_t len);
int scen_run_memvirt(const struct scen *s, struct scen_counts *out, char *err, size_t len);

/* A memvirt side set apart from KVM on purpose (prefetch off), so the
 * test can show it tells the difference. */
extern bool scen_memvirt_no_prefetch;

/* scen_kvm_usable - 1 when /dev/kvm is KVM running its shadow MMU here,
 * else 0 with the reason in why. */
int scen_kvm_usable(char *why, size_t len);

#endif
