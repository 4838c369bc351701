/*
 * gos.c - the guest OS core: frame allocator, the kernel's direct map,
 * user address spaces in 4-level tables in guest RAM, and demand paging.
 * Guest code: every table read and write goes through the vCPU.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workloads.h"

/*
 * Instruction counts of guest kernel code paths, for the cost model.
 * They are properties of the guest program, like memsweep's 11
 * instructions per iteration; memory accesses are counted separately
 * as they happen. Estimates from Linux's paths (see docs/guest-os.md).
 */
enum {
	INSNS_PF_ENTRY	= 120,	/* exception entry, handle_mm_fault dispatch, VMA lookup */
	INSNS_PF_EXIT	= 40,	/* return from the handler, IRET */
	INSNS_PT_LEVEL	= 12,	/* one level of the software walk (pgd/p4d/pud/pmd_alloc) */
	INSNS_FRAME_ALLOC = 60,	/* page allocator fast path */
	INSNS_PER_STORE	= 1,	/* clear_page/copy: one instruction per 8 bytes */
};

#define FRAMES_PER_BLOCK	512u	/* 4K frames in a 2M block */
#define RESERVED_LOW		(1 * MiB)	/* firmware area, never allocated */

/* The guest-virtual address at which the kernel reaches gpa. */
static inline gva_t dmap(gpa_t gpa)
{
	return GOS_DIRECT_MAP + gpa;
}

/* ------------------------------------------------------------------ */
/* Frame allocator                                                      */
/* ------------------------------------------------------------------ */

static int frames_init(struct gos_frames *fr, uint64_t ram)
{
	uint64_t i;

	fr->nframes = ram / PAGE_SIZE;
	fr->nblocks = ram / LEVEL_SIZE(LEVEL_2M);
	fr->ref = calloc(fr->nframes, sizeof(*fr->ref));
	fr->block_free = calloc(fr->nblocks, sizeof(*fr->block_free));
	if (!fr->ref || !fr->block_free)
		return -1;
	for (i = 0; i < fr->nblocks; i++)
		fr->block_free[i] = FRAMES_PER_BLOCK;
	fr->free = fr->nblocks * FRAMES_PER_BLOCK;
	for (i = 0; i < RESERVED_LOW / PAGE_SIZE; i++) {
		fr->ref[i] = 1;
		fr->block_free[i / FRAMES_PER_BLOCK]--;
		fr->free--;
	}
	return 0;
}

static void frames_destroy(struct gos_frames *fr)
{
	free(fr->ref);
	free(fr->block_free);
	fr->ref = NULL;
	fr->block_free = NULL;
}

/*
 * A 4K frame: from a block already split (cursor first) so whole 2M
 * blocks stay whole for large pages; else split a whole block.
 * Returns the gpa, or 0 when guest RAM is exhausted.
 */
static gpa_t frame_alloc_4k(struct gos_frames *fr)
{
	uint64_t b, n, f;

	if (fr->free == 0)
		return 0;
	for (n = 0; n < fr->nblocks; n++) {
		b = (fr->cursor + n) % fr->nblocks;
		if (fr->block_free[b] > 0 && fr->block_free[b] < FRAMES_PER_BLOCK)
			goto found;
	}
	for (b = 0; b < fr->nblocks; b++)
		if (fr->block_free[b] > 0)
			goto found;
	return 0;
found:
	for (f = b * FRAMES_PER_BLOCK; f < (b + 1) * FRAMES_PER_BLOCK; f++) {
		if (fr->ref[f] == 0) {
			fr->ref[f] = 1;
			fr->block_free[b]--;
			fr->free--;
			fr->cursor = b;
			return f * PAGE_SIZE;
		}
	}
	BUG_ON(1, "block free count disagrees with its frames");
	return 0;
}

/* A large frame (2M or 1G): `n` whole 2M blocks, aligned to n, or 0. */
static gpa_t frame_alloc_large(struct gos_frames *fr, unsigned level)
{
	uint64_t n = LEVEL_SIZE(level) / LEVEL_SIZE(LEVEL_2M);
	uint64_t b, i, f;

	for (b = 0; b + n <= fr->nblocks; b += n) {
		for (i = 0; i < n; i++)
			if (fr->block_free[b + i] != FRAMES_PER_BLOCK)
				break;
		if (i < n)
			continue;
		for (i = 0; i < n; i++)
			fr->block_free[b + i] = 0;
		for (f = b * FRAMES_PER_BLOCK; f < (b + n) * FRAMES_PER_BLOCK; f++)
			fr->ref[f] = 1;
		fr->free -= n * FRAMES_PER_BLOCK;
		return b * LEVEL_SIZE(LEVEL_2M);
	}
	return 0;
}

uint64_t gos_frames_free(const struct gos *os)
{
	return os->fr.free;
}

/* ------------------------------------------------------------------ */
/* Kernel memory primitives (guest code)                               */
/* ------------------------------------------------------------------ */

/* Zero a frame through the direct map (paging on) or physically (off). */
static void clear_frame(struct gos *os, gpa_t gpa, uint64_t len)
{
	struct vcpu *cpu = os->cpu;
	gva_t va = (cpu->mmu.sregs.cr0 & CR0_PG) ? dmap(gpa) : gpa;
	uint64_t off;

	for (off = 0; off < len; off += 8)
		g_st64(cpu, va + off, 0);
	g_insn(cpu, INSNS_PER_STORE * (len / 8));
}

static gpa_t alloc_zeroed(struct gos *os, unsigned level)
{
	gpa_t gpa = level > LEVEL_4K ? frame_alloc_large(&os->fr, level)
				     : frame_alloc_4k(&os->fr);

	g_insn(os->cpu, INSNS_FRAME_ALLOC);
	if (gpa)
		clear_frame(os, gpa, LEVEL_SIZE(level));
	return gpa;
}

static uint64_t pte_read(struct gos *os, gpa_t table, unsigned index)
{
	struct vcpu *cpu = os->cpu;
	gpa_t gpa = table + 8 * index;

	return g_ld64(cpu, (cpu->mmu.sregs.cr0 & CR0_PG) ? dmap(gpa) : gpa);
}

static void pte_write(struct gos *os, gpa_t table, unsigned index, uint64_t pte)
{
	struct vcpu *cpu = os->cpu;
	gpa_t gpa = table + 8 * index;

	g_st64(cpu, (cpu->mmu.sregs.cr0 & CR0_PG) ? dmap(gpa) : gpa, pte);
	os->pte_writes++;
}

/*
 * Install leaf `pte` mapping va at `level` in the tables under root,
 * allocating intermediate tables on the way (xv6's walk(alloc=1) and
 * mappages in one). Returns 0, or -1 when out of frames.
 */
static int map_page(struct gos *os, gpa_t root, gva_t va, unsigned level, uint64_t pte)
{
	gpa_t table = root;
	unsigned l;

	for (l = 4; l > level; l--) {
		unsigned i = (unsigned)WALK_INDEX(va, l);
		uint64_t e = pte_read(os, table, i);

		g_insn(os->cpu, INSNS_PT_LEVEL);
		if (!(e & PTE_P)) {
			gpa_t next = alloc_zeroed(os, LEVEL_4K);

			if (!next)
				return -1;
			/* Intermediate entries grant everything; leaves restrict. */
			e = next | PTE_P | PTE_W | PTE_U;
			pte_write(os, table, i, e);
		}
		BUG_ON(e & PTE_PS, "guest OS maps over a large page");
		table = e & PTE_ADDR_MASK;
	}
	pte_write(os, table, (unsigned)WALK_INDEX(va, level), pte);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Demand paging                                                        */
/* ------------------------------------------------------------------ */

static struct gos_vma *vma_find(struct gos_proc *p, gva_t va)
{
	unsigned i;

	for (i = 0; i < p->nvma; i++)
		if (va >= p->vma[i].start && va < p->vma[i].end)
			return &p->vma[i];
	return NULL;
}

/* A fault the process cannot recover from. */
static int segv(struct gos *os, gva_t cr2, uint32_t ec)
{
	snprintf(os->cpu->stop_msg, sizeof(os->cpu->stop_msg),
		 "guest: segmentation fault at %#llx (error code %#x) in pid %d",
		 (unsigned long long)cr2, ec, os->cur->pid);
	return -1;
}

/* Back the page containing cr2 with zeroed memory (do_anonymous_page). */
static int demand_zero(struct gos *os, struct gos_vma *vma, gva_t cr2, uint32_t ec)
{
	unsigned level = os->user_level;
	gva_t va;
	gpa_t frame = 0;
	uint64_t pte;

	/* A large page only where the VMA covers the whole aligned region. */
	while (level > LEVEL_4K) {
		va = cr2 & ~(LEVEL_SIZE(level) - 1);
		if (va >= vma->start && va + LEVEL_SIZE(level) <= vma->end &&
		    (frame = alloc_zeroed(os, level)) != 0)
			break;
		level--;
	}
	va = cr2 & ~(LEVEL_SIZE(level) - 1);
	if (!frame)
		frame = alloc_zeroed(os, LEVEL_4K);
	if (!frame)
		return segv(os, cr2, ec);	/* out of memory: the OOM killer's victim */

	pte = frame | PTE_P | PTE_U;
	if (vma->prot & VMA_WRITE)
		pte |= PTE_W;
	if (ec & PFERR_W)
		pte |= PTE_D;		/* Linux: pte_mkdirty on a write fault */
	if (!(vma->prot & VMA_EXEC))
		pte |= PTE_NX;
	if (level > LEVEL_4K)
		pte |= PTE_PS;
	if (map_page(os, os->cur->pml4, va, level, pte) < 0)
		return segv(os, cr2, ec);
	return 0;
}

static int gos_pf(struct vcpu *cpu, gva_t cr2, uint32_t ec, void *opaque)
{
	struct gos *os = opaque;
	struct gos_vma *vma = vma_find(os->cur, cr2);
	int r;

	g_insn(cpu, INSNS_PF_ENTRY);
	if (!vma || (ec & PFERR_RSVD))
		return segv(os, cr2, ec);
	if ((ec & PFERR_W) && !(vma->prot & VMA_WRITE))
		return segv(os, cr2, ec);
	if ((ec & PFERR_I) && !(vma->prot & VMA_EXEC))
		return segv(os, cr2, ec);
	if (ec & PFERR_P)
		return segv(os, cr2, ec);	/* present but refused: no COW yet */
	r = demand_zero(os, vma, cr2, ec);
	g_insn(cpu, INSNS_PF_EXIT);
	return r;
}

/* ------------------------------------------------------------------ */
/* Boot, processes                                                      */
/* ------------------------------------------------------------------ */

/* Build the direct map of all guest RAM under the kernel PML4 (2M pages,
 * global, NX, A and D preset as Linux's __PAGE_KERNEL does). */
static int build_direct_map(struct gos *os)
{
	const uint64_t kflags = PTE_P | PTE_W | PTE_A | PTE_D | PTE_G | PTE_NX;
	gpa_t pdpt = alloc_zeroed(os, LEVEL_4K);
	uint64_t gib, ngib = (os->ram + GiB - 1) / GiB;

	if (!pdpt)
		return -1;
	pte_write(os, os->kpml4, (unsigned)WALK_INDEX(GOS_DIRECT_MAP, 4),
		  pdpt | PTE_P | PTE_W);
	for (gib = 0; gib < ngib; gib++) {
		gpa_t pd = alloc_zeroed(os, LEVEL_4K);
		unsigned i;

		if (!pd)
			return -1;
		pte_write(os, pdpt, (unsigned)WALK_INDEX(GOS_DIRECT_MAP + gib * GiB, 3),
			  pd | PTE_P | PTE_W);
		for (i = 0; i < 512; i++) {
			gpa_t gpa = gib * GiB + (uint64_t)i * LEVEL_SIZE(LEVEL_2M);

			if (gpa >= os->ram)
				break;
			pte_write(os, pd, i, gpa | kflags | PTE_PS);
		}
	}
	return 0;
}

static int proc_create(struct gos *os, struct gos_proc *p, int pid)
{
	unsigned i;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->pcid = os->pcid ? (uint16_t)(pid & 0xfff) : 0;
	p->mmap_next = GOS_USER_MMAP_BASE;
	p->pml4 = alloc_zeroed(os, LEVEL_4K);
	if (!p->pml4)
		return -1;
	/* The kernel half is shared: copy its PML4 entries (as Linux's
	 * pgd_alloc does with clone_pgd_range). */
	for (i = 256; i < 512; i++) {
		uint64_t e = pte_read(os, os->kpml4, i);

		if (e & PTE_P)
			pte_write(os, p->pml4, i, e);
	}
	return 0;
}

static void switch_to(struct gos *os, struct gos_proc *p)
{
	os->cur = p;
	vcpu_write_cr3(os->cpu, p->pml4 | p->pcid);
}

int gos_boot(struct gos *os, struct vcpu *cpu, unsigned user_level, bool pcid,
	     char *err, size_t errlen)
{
	uint64_t cr4;

	memset(os, 0, sizeof(*os));
	os->cpu = cpu;
	os->ram = cpu->mmu.hmem.guest_size;
	os->user_level = user_level;
	os->pcid = pcid;
	if (os->ram < 4 * LEVEL_SIZE(LEVEL_2M) || os->ram % LEVEL_SIZE(LEVEL_2M)) {
		snprintf(err, errlen, "guest RAM must be a multiple of 2 MiB, at least 8 MiB");
		return -1;
	}
	if (frames_init(&os->fr, os->ram) < 0) {
		snprintf(err, errlen, "out of host memory for the guest's frame table");
		return -1;
	}

	/* Paging is off: these stores are physical. */
	os->kpml4 = alloc_zeroed(os, LEVEL_4K);
	if (!os->kpml4 || build_direct_map(os) < 0)
		goto oom;

	cr4 = CR4_PAE | CR4_PGE | (pcid ? CR4_PCIDE : 0);
	vcpu_write_cr4(cpu, cr4);
	vcpu_write_efer(cpu, EFER_LME | EFER_NXE);
	vcpu_write_cr3(cpu, os->kpml4);
	vcpu_write_cr0(cpu, CR0_PE | CR0_PG | CR0_WP);
	cpu->pf_handler = gos_pf;
	cpu->pf_opaque = os;

	if (proc_create(os, &os->init, 1) < 0)
		goto oom;
	switch_to(os, &os->init);
	return 0;
oom:
	snprintf(err, errlen, "guest RAM too small to boot");
	frames_destroy(&os->fr);
	return -1;
}

void gos_shutdown(struct gos *os)
{
	frames_destroy(&os->fr);
}

gva_t gos_mmap_anon(struct gos *os, uint64_t len, unsigned prot)
{
	struct gos_proc *p = os->cur;
	uint64_t align = LEVEL_SIZE(os->user_level);
	gva_t start = (p->mmap_next + align - 1) & ~(align - 1);

	if (p->nvma == GOS_MAX_VMAS || len == 0)
		return 0;
	len = (len + align - 1) & ~(align - 1);
	p->vma[p->nvma++] = (struct gos_vma){ start, start + len, prot };
	p->mmap_next = start + len;
	g_insn(os->cpu, INSNS_PF_ENTRY);	/* the mmap syscall's work */
	return start;
}

void gos_user(struct gos *os)
{
	vcpu_set_cpl(os->cpu, 3);
}

void gos_kernel(struct gos *os)
{
	vcpu_set_cpl(os->cpu, 0);
}
