/*
 * gos.c - the guest OS's memory: frame allocator, the kernel's direct
 * map, user address spaces in 4-level tables in guest RAM, the page
 * cache, and the #PF handler (demand zero, file fault-in, copy-on-write).
 * Guest code: every table read and write goes through the vCPU.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gos_priv.h"

#define RESERVED_LOW	(1 * MiB)	/* firmware area, never allocated */
#define SIGSEGV		11

/* ------------------------------------------------------------------ */
/* Frame allocator                                                      */
/* ------------------------------------------------------------------ */

/* Frames the memmap needs: one struct page per 4K frame. */
static uint64_t memmap_frames(uint64_t ram)
{
	return (ram / PAGE_SIZE * STRUCT_PAGE_SIZE + PAGE_SIZE - 1) / PAGE_SIZE;
}

static int frames_init(struct gos_frames *fr, uint64_t ram)
{
	uint64_t i, reserved = RESERVED_LOW / PAGE_SIZE + memmap_frames(ram);

	fr->nframes = ram / PAGE_SIZE;
	fr->nblocks = ram / LEVEL_SIZE(LEVEL_2M);
	fr->ref = calloc(fr->nframes, sizeof(*fr->ref));
	fr->block_free = calloc(fr->nblocks, sizeof(*fr->block_free));
	fr->block_large = calloc(fr->nblocks, sizeof(*fr->block_large));
	if (!fr->ref || !fr->block_free || !fr->block_large)
		return -1;
	for (i = 0; i < fr->nblocks; i++)
		fr->block_free[i] = FRAMES_PER_BLOCK;
	fr->free = fr->nblocks * FRAMES_PER_BLOCK;
	/* the firmware area, then the memmap right above it */
	for (i = 0; i < reserved; i++) {
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
	free(fr->block_large);
	memset(fr, 0, sizeof(*fr));
}

/*
 * A 4K frame: from a block already split (cursor first) so whole 2M
 * blocks stay whole for large pages; else split a whole block.
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
	uint64_t b, i;

	for (b = 0; b + n <= fr->nblocks; b += n) {
		for (i = 0; i < n; i++)
			if (fr->block_free[b + i] != FRAMES_PER_BLOCK)
				break;
		if (i < n)
			continue;
		for (i = 0; i < n; i++) {
			fr->block_free[b + i] = 0;
			fr->block_large[b + i] = 1;
		}
		fr->ref[b * FRAMES_PER_BLOCK] = 1;
		fr->free -= n * FRAMES_PER_BLOCK;
		return b * LEVEL_SIZE(LEVEL_2M);
	}
	return 0;
}

/*
 * The reference count lives in the frame's struct page in guest RAM,
 * read and written by guest accesses; fr->ref mirrors it for the
 * allocator's search (Linux's free lists, also in struct page, are
 * charged as instructions), and every read checks the two agree.
 */
gpa_t gos_frame_alloc(struct gos *os, unsigned level)
{
	gpa_t gpa;

	g_insn(os->cpu, INSNS_FRAME_ALLOC);
	gos_kpath(os, KP_PAGE_ALLOC);
	gpa = level > LEVEL_4K ? frame_alloc_large(&os->fr, level) : frame_alloc_4k(&os->fr);
	if (gpa && os->memmap)
		kmem_page_set_ref(os, gpa, 1, true);
	return gpa;
}

/* The frame's count from its struct page, checked against the mirror. */
static uint32_t frame_ref(struct gos *os, gpa_t gpa)
{
	uint16_t host = os->fr.ref[gpa / PAGE_SIZE];
	uint32_t r = kmem_page_ref(os, gpa);

	BUG_ON(r != host, "struct page refcount disagrees with the allocator");
	return r;
}

void gos_frame_get(struct gos *os, gpa_t gpa)
{
	uint16_t *r = &os->fr.ref[gpa / PAGE_SIZE];

	BUG_ON(*r == 0 || *r == UINT16_MAX, "reference to a free or saturated frame");
	kmem_page_set_ref(os, gpa, frame_ref(os, gpa) + 1, false);	/* get_page */
	(*r)++;
}

uint16_t gos_frame_refs(struct gos *os, gpa_t gpa)
{
	return (uint16_t)frame_ref(os, gpa);
}

void gos_frame_put(struct gos *os, gpa_t gpa, unsigned level)
{
	struct gos_frames *fr = &os->fr;
	uint64_t f = gpa / PAGE_SIZE;

	BUG_ON(fr->ref[f] == 0, "freeing a free frame");
	kmem_page_set_ref(os, gpa, frame_ref(os, gpa) - 1, false);	/* put_page */
	if (--fr->ref[f] > 0)
		return;
	g_insn(os->cpu, INSNS_FRAME_FREE);
	gos_kpath(os, KP_PAGE_FREE);
	if (level > LEVEL_4K) {
		uint64_t b = f / FRAMES_PER_BLOCK;
		uint64_t n = LEVEL_SIZE(level) / LEVEL_SIZE(LEVEL_2M), i;

		for (i = 0; i < n; i++) {
			BUG_ON(!fr->block_large[b + i], "large free of a small frame");
			fr->block_large[b + i] = 0;
			fr->block_free[b + i] = FRAMES_PER_BLOCK;
		}
		fr->free += n * FRAMES_PER_BLOCK;
		return;
	}
	fr->block_free[f / FRAMES_PER_BLOCK]++;
	fr->free++;
}

uint64_t gos_frames_free(const struct gos *os)
{
	return os->fr.free;
}

/* ------------------------------------------------------------------ */
/* Kernel memory primitives (guest code)                               */
/* ------------------------------------------------------------------ */

/* clear_page / copy_page: one wide access per line (rep stos / movs
 * move whole lines), instructions as one per 8 bytes. */
static void clear_frame(struct gos *os, gpa_t gpa, uint64_t len)
{
	static const uint8_t zero[VMM_LINE];
	struct vcpu *cpu = os->cpu;
	gva_t va = gos_dmap(os, gpa);
	uint64_t off;

	gos_kpath(os, KP_COPY_PAGE);
	for (off = 0; off < len; off += VMM_LINE)
		g_stline(cpu, va + off, zero);
	g_insn(cpu, INSNS_PER_STORE * (len / 8));
}

void gos_copy_frame(struct gos *os, gpa_t dst, gpa_t src, uint64_t len)
{
	struct vcpu *cpu = os->cpu;
	gva_t d = gos_dmap(os, dst), s = gos_dmap(os, src);
	uint8_t line[VMM_LINE];
	uint64_t off;

	gos_kpath(os, KP_COPY_PAGE);
	for (off = 0; off < len; off += VMM_LINE) {
		g_ldline(cpu, s + off, line);
		g_stline(cpu, d + off, line);
	}
	g_insn(cpu, 2 * INSNS_PER_STORE * (len / 8));
}

gpa_t gos_alloc_zeroed(struct gos *os, unsigned level)
{
	gpa_t gpa = gos_frame_alloc(os, level);

	if (gpa)
		clear_frame(os, gpa, LEVEL_SIZE(level));
	return gpa;
}

int gos_map_page(struct gos *os, gpa_t root, gva_t va, unsigned level, uint64_t pte)
{
	gpa_t table = root;
	unsigned l;

	for (l = 4; l > level; l--) {
		unsigned i = (unsigned)WALK_INDEX(va, l);
		uint64_t e = gos_pte_read(os, table, i);

		g_insn(os->cpu, INSNS_PT_LEVEL);
		if (!(e & PTE_P)) {
			gpa_t next = gos_alloc_zeroed(os, LEVEL_4K);

			if (!next)
				return -1;
			/* Intermediate entries grant everything; leaves restrict. */
			e = next | PTE_P | PTE_W | PTE_U;
			gos_pte_write(os, table, i, e);
		}
		BUG_ON(e & PTE_PS, "guest OS maps over a large page");
		table = e & PTE_ADDR_MASK;
	}
	gos_pte_write(os, table, (unsigned)WALK_INDEX(va, level), pte);
	return 0;
}

bool gos_lookup(struct gos *os, gpa_t root, gva_t va, gpa_t *table, unsigned *index,
		unsigned *level, uint64_t *pte)
{
	gpa_t t = root;
	unsigned l;

	for (l = 4; l >= 1; l--) {
		unsigned i = (unsigned)WALK_INDEX(va, l);
		uint64_t e = gos_pte_read(os, t, i);

		g_insn(os->cpu, INSNS_PT_LEVEL);
		if (!(e & PTE_P))
			return false;
		if (l == 1 || (e & PTE_PS)) {
			*table = t;
			*index = i;
			*level = l;
			*pte = e;
			return true;
		}
		t = e & PTE_ADDR_MASK;
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* Page cache                                                          */
/* ------------------------------------------------------------------ */

/* Pages per file: a small program, glibc 2.36's libc.so.6 and ld.so.
 * See docs/guest-os.md. */
static const uint64_t file_pages[GOS_NR_FILES] = {
	[GOS_FILE_PROG] = 5, [GOS_FILE_LIBC] = 470, [GOS_FILE_LDSO] = 53,
	[GOS_FILE_VVAR] = 6, [GOS_FILE_VDSO] = 2,
};

/* A file page's content: what "reading it from disk" stores. */
static uint64_t file_word(enum gos_file file, uint64_t pg, uint64_t i)
{
	return wl_fnv(wl_fnv(WL_FNV_OFFSET, (uint64_t)file << 40 | pg), i);
}

gpa_t gos_page_cache(struct gos *os, enum gos_file file, uint64_t pg)
{
	gpa_t gpa;
	uint64_t i;

	BUG_ON(file == GOS_FILE_NONE || pg >= os->file_pages[file], "no such file page");
	gpa = os->page_cache[file][pg];
	if (gpa)
		return gpa;
	gpa = gos_frame_alloc(os, LEVEL_4K);	/* the cache's own reference */
	if (!gpa)
		return 0;
	for (i = 0; i < PAGE_SIZE / 8; i += VMM_LINE / 8) {
		uint64_t line[VMM_LINE / 8];
		unsigned w;

		for (w = 0; w < VMM_LINE / 8; w++)
			line[w] = file_word(file, pg, i + w);
		g_stline(os->cpu, gos_dmap(os, gpa + 8 * i), line);
	}
	g_insn(os->cpu, INSNS_PER_STORE * (PAGE_SIZE / 8));
	os->page_cache[file][pg] = gpa;
	return gpa;
}

/* ------------------------------------------------------------------ */
/* The #PF handler                                                      */
/* ------------------------------------------------------------------ */

struct gos_vma *gos_vma_find(struct gos_proc *p, gva_t va)
{
	unsigned i;

	for (i = 0; i < p->nvma; i++)
		if (va >= p->vma[i].start && va < p->vma[i].end)
			return &p->vma[i];
	return NULL;
}

static uint64_t leaf_flags(const struct gos_vma *vma, unsigned level, bool writable)
{
	uint64_t pte = PTE_P | PTE_U;

	if (writable)
		pte |= PTE_W;
	if (!(vma->prot & VMA_EXEC))
		pte |= PTE_NX;
	if (level > LEVEL_4K)
		pte |= PTE_PS;
	return pte;
}

/* Back the page containing cr2 with zeroed memory (do_anonymous_page),
 * with a large page where the VMA covers the whole aligned region. */
static int fault_anon(struct gos *os, struct gos_vma *vma, gva_t cr2, uint32_t ec)
{
	unsigned level = os->user_level;
	gva_t va;
	gpa_t frame = 0;
	uint64_t pte;

	gos_kpath(os, KP_ANON);
	while (level > LEVEL_4K) {
		va = cr2 & ~(LEVEL_SIZE(level) - 1);
		if (va >= vma->start && va + LEVEL_SIZE(level) <= vma->end &&
		    (frame = gos_alloc_zeroed(os, level)) != 0)
			break;
		level--;
	}
	va = cr2 & ~(LEVEL_SIZE(level) - 1);
	if (!frame)
		frame = gos_alloc_zeroed(os, LEVEL_4K);
	if (!frame)
		return gos_kill(os, SIGSEGV, cr2, ec);	/* out of memory */
	pte = frame | leaf_flags(vma, level, (vma->prot & VMA_WRITE) != 0);
	if (ec & PFERR_W)
		pte |= PTE_D;		/* Linux: pte_mkdirty on a write fault */
	vma->anon = true;
	os->st.zero_faults++;
	if (gos_map_page(os, os->cur->pml4, va, level, pte) < 0) {
		gos_frame_put(os, frame, level);
		return gos_kill(os, SIGSEGV, cr2, ec);
	}
	kmem_page_mapped(os, frame, 1);
	return 0;
}

/*
 * do_fault_around: map the page-cache pages already in memory around a
 * read fault, fault_around_bytes (64 KiB) aligned down from the fault,
 * clipped to the VMA and to the one page table that maps va (Linux
 * clips to the PMD), skipping entries already present (filemap_map_pages).
 * `table` is that page table. Counts the pages mapped beside va's.
 */
static void fault_around(struct gos *os, struct gos_vma *vma, gva_t va, gpa_t table)
{
	const uint64_t win = (uint64_t)FAULT_AROUND_PAGES * PAGE_SIZE;
	gva_t lo = va & ~(win - 1), hi = lo + win, a;
	gva_t pmd_lo = va & ~(LEVEL_SIZE(LEVEL_2M) - 1);

	if (lo < vma->start)
		lo = vma->start;
	if (lo < pmd_lo)
		lo = pmd_lo;
	if (hi > vma->end)
		hi = vma->end;
	if (hi > pmd_lo + LEVEL_SIZE(LEVEL_2M))
		hi = pmd_lo + LEVEL_SIZE(LEVEL_2M);
	for (a = lo; a < hi; a += PAGE_SIZE) {
		unsigned i = (unsigned)WALK_INDEX(a, 1);
		uint64_t pg = vma->pgoff + (a - vma->start) / PAGE_SIZE;
		gpa_t cache;

		if (a == va)
			continue;
		if (gos_pte_read(os, table, i) & PTE_P)
			continue;
		cache = os->page_cache[vma->file][pg];
		if (!cache)
			continue;	/* not in memory: only the faulting page is read in */
		g_insn(os->cpu, INSNS_FAULT_AROUND_PTE);
		gos_frame_get(os, cache);
		kmem_page_mapped(os, cache, 1);
		gos_pte_write(os, table, i, cache | leaf_flags(vma, LEVEL_4K,
			      (vma->prot & (VMA_WRITE | VMA_SHARED)) == (VMA_WRITE | VMA_SHARED)));
		os->st.fault_around++;
	}
}

/*
 * A file-backed page (do_read_fault / do_cow_fault): map the page-cache
 * frame read-only, with the cached pages around it (fault-around), or
 * for a write to a private mapping, a private copy.
 */
static int fault_file(struct gos *os, struct gos_vma *vma, gva_t cr2, uint32_t ec)
{
	gva_t va = cr2 & PAGE_MASK;
	gpa_t cache, frame, table;
	unsigned index, level;
	uint64_t pte;
	bool cow = (ec & PFERR_W) && !(vma->prot & VMA_SHARED);

	gos_kpath(os, KP_FILE);
	cache = gos_page_cache(os, vma->file, vma->pgoff + (va - vma->start) / PAGE_SIZE);
	frame = cache;
	if (!cache)
		return gos_kill(os, SIGSEGV, cr2, ec);
	if (cow) {
		frame = gos_frame_alloc(os, LEVEL_4K);
		if (!frame)
			return gos_kill(os, SIGSEGV, cr2, ec);
		gos_copy_frame(os, frame, cache, PAGE_SIZE);
		vma->anon = true;
		pte = frame | leaf_flags(vma, LEVEL_4K, true) | PTE_D;
		os->st.cow_copies++;
	} else {
		gos_frame_get(os, cache);
		pte = frame | leaf_flags(vma, LEVEL_4K,
					 (vma->prot & (VMA_WRITE | VMA_SHARED)) ==
					 (VMA_WRITE | VMA_SHARED));
		os->st.file_faults++;
	}
	if (gos_map_page(os, os->cur->pml4, va, LEVEL_4K, pte) < 0) {
		gos_frame_put(os, frame, LEVEL_4K);
		return gos_kill(os, SIGSEGV, cr2, ec);
	}
	kmem_page_mapped(os, frame, 1);
	/* Only files with a page cache (vm_ops->map_pages) fault around:
	 * the vDSO and vvar are special mappings, mapped a page a fault. */
	if (!cow && vma->file != GOS_FILE_VVAR && vma->file != GOS_FILE_VDSO &&
	    gos_lookup(os, os->cur->pml4, va, &table, &index, &level, &pte))
		fault_around(os, vma, va, table);
	return 0;
}

/*
 * A write to a present read-only page of a writable private mapping
 * (do_wp_page): the sole owner of an anonymous page takes it back
 * writable (wp_page_reuse); otherwise the page is copied (wp_page_copy:
 * clear the entry, flush it, set the new one).
 */
static int fault_cow(struct gos *os, gva_t cr2, uint32_t ec)
{
	gpa_t table, old, frame;
	unsigned index, level;
	uint64_t pte, size;
	gva_t va;

	gos_kpath(os, KP_COW);
	if (!gos_lookup(os, os->cur->pml4, cr2, &table, &index, &level, &pte))
		return gos_kill(os, SIGSEGV, cr2, ec);
	size = LEVEL_SIZE(level);
	va = cr2 & ~(size - 1);
	old = pte & PTE_ADDR_MASK & ~(size - 1);
	/* A page-cache frame always has the cache's reference besides the
	 * mapping's, so it is never taken over, only copied. */
	if (gos_frame_refs(os, old) == 1) {
		gos_pte_write(os, table, index, pte | PTE_W | PTE_D);
		os->st.cow_reuses++;
		return 0;
	}
	frame = gos_frame_alloc(os, level);
	if (!frame)
		return gos_kill(os, SIGSEGV, cr2, ec);
	gos_copy_frame(os, frame, old, size);
	gos_pte_write(os, table, index, 0);
	vcpu_invlpg(os->cpu, va);
	gos_pte_write(os, table, index,
		      (pte & ~(PTE_ADDR_MASK & ~(size - 1))) | frame | PTE_W | PTE_D);
	kmem_page_mapped(os, frame, 1);
	kmem_page_mapped(os, old, -1);
	gos_frame_put(os, old, level);
	os->st.cow_copies++;
	return 0;
}

static int gos_pf(struct vcpu *cpu, gva_t cr2, uint32_t ec, void *opaque)
{
	struct gos *os = opaque;
	struct gos_vma *vma = gos_vma_find(os->cur, cr2);
	int r;

	g_insn(cpu, INSNS_PF_ENTRY);
	kmem_kentry(os);
	gos_kpath(os, KP_ENTRY);
	gos_kpath(os, KP_FAULT);
	if (os->cur->pid != 1)
		os->st.child_faults++;
	/* A kernel-mode fault on a user address is handled as the user's
	 * only inside put_user/get_user (the exception table). */
	if (!vma || (ec & PFERR_RSVD) || (!(ec & PFERR_U) && !os->uaccess))
		return gos_kill(os, SIGSEGV, cr2, ec);
	kmem_vma_find(os, os->cur, (unsigned)(vma - os->cur->vma));
	if ((ec & PFERR_W) && !(vma->prot & VMA_WRITE))
		return gos_kill(os, SIGSEGV, cr2, ec);
	if ((ec & PFERR_I) && !(vma->prot & VMA_EXEC))
		return gos_kill(os, SIGSEGV, cr2, ec);
	if (ec & PFERR_P) {
		/* Present: only a write to a COW page is legitimate. */
		if (!(ec & PFERR_W) || (vma->prot & VMA_SHARED))
			return gos_kill(os, SIGSEGV, cr2, ec);
		r = fault_cow(os, cr2, ec);
	} else if (vma->file != GOS_FILE_NONE) {
		r = fault_file(os, vma, cr2, ec);
	} else {
		r = fault_anon(os, vma, cr2, ec);
	}
	g_insn(cpu, INSNS_PF_EXIT);
	kmem_kexit(os);
	return r;
}

void gos_put_user(struct gos *os, gva_t va, uint64_t val)
{
	/* __put_user: a supervisor store to a user address; CR0.WP makes
	 * a read-only (COW) page fault, handled for the current process */
	os->uaccess = true;
	g_st64(os->cpu, va, val);
	os->uaccess = false;
}

/* ------------------------------------------------------------------ */
/* Boot                                                                 */
/* ------------------------------------------------------------------ */

/* Build the direct map of all guest RAM under the kernel PML4 (2M pages,
 * global, NX, A and D preset as Linux's __PAGE_KERNEL does). */
static int build_direct_map(struct gos *os)
{
	const uint64_t kflags = PTE_P | PTE_W | PTE_A | PTE_D | PTE_G | PTE_NX;
	gpa_t pdpt = gos_alloc_zeroed(os, LEVEL_4K);
	uint64_t gib, ngib = (os->ram + GiB - 1) / GiB;

	if (!pdpt)
		return -1;
	gos_pte_write(os, os->kpml4, (unsigned)WALK_INDEX(GOS_DIRECT_MAP, 4),
		      pdpt | PTE_P | PTE_W);
	for (gib = 0; gib < ngib; gib++) {
		gpa_t pd = gos_alloc_zeroed(os, LEVEL_4K);
		unsigned i;

		if (!pd)
			return -1;
		gos_pte_write(os, pdpt, (unsigned)WALK_INDEX(GOS_DIRECT_MAP + gib * GiB, 3),
			      pd | PTE_P | PTE_W);
		for (i = 0; i < 512; i++) {
			gpa_t gpa = gib * GiB + (uint64_t)i * LEVEL_SIZE(LEVEL_2M);

			if (gpa >= os->ram)
				break;
			gos_pte_write(os, pd, i, gpa | kflags | PTE_PS);
		}
	}
	return 0;
}

/*
 * A fresh process: its task_struct and kernel stack (copied from
 * `from`'s, as dup_task_struct does, or zeroed), its mm_struct, and its
 * own PML4 with the kernel half shared: pgd_alloc clears the user half
 * and copies the kernel's 256 top-level entries (clone_pgd_range, line
 * by line; pte_writes counts the present ones).
 */
int gos_proc_init(struct gos *os, struct gos_proc *p, int pid, int ppid,
		  const struct gos_proc *from)
{
	uint8_t line[VMM_LINE];
	unsigned i, e;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->ppid = ppid;
	p->state = PROC_RUNNABLE;
	p->mmap_next = GOS_USER_MMAP_BASE;
	if (kmem_task_alloc(os, p, from) < 0)
		return -1;
	g_st64(os->cpu, gos_dmap(os, p->task + TASK_PID), (uint64_t)pid);
	g_st64(os->cpu, gos_dmap(os, p->task + TASK_PPID), (uint64_t)ppid);
	if (kmem_mm_alloc(os, p, from) < 0) {
		kmem_task_free(os, p);
		return -1;
	}
	p->pml4 = gos_alloc_zeroed(os, LEVEL_4K);	/* the user half cleared */
	if (!p->pml4) {
		kmem_mm_free(os, p);
		kmem_task_free(os, p);
		return -1;
	}
	for (i = 256 * 8; i < PAGE_SIZE; i += VMM_LINE) {
		g_ldline(os->cpu, gos_dmap(os, os->kpml4 + i), line);
		g_stline(os->cpu, gos_dmap(os, p->pml4 + i), line);
		for (e = 0; e < VMM_LINE; e += 8) {
			uint64_t v;

			memcpy(&v, line + e, 8);
			if (v & PTE_P)
				os->st.pte_writes++;
		}
	}
	g_insn(os->cpu, 2 * 256 / 8);
	return 0;
}

/* gos_proc_free - a reaped process's last kernel objects: its PML4
 * (mmdrop's pgd_free), mm_struct and VMA slab, task_struct and stack. */
void gos_proc_free(struct gos *os, struct gos_proc *p)
{
	gos_frame_put(os, p->pml4, LEVEL_4K);
	kmem_mm_free(os, p);
	kmem_task_free(os, p);
	p->state = PROC_FREE;
}

int gos_boot(struct gos *os, struct vcpu *cpu, unsigned user_level, bool pcid,
	     char *err, size_t errlen)
{
	unsigned f;

	memset(os, 0, sizeof(*os));
	os->cpu = cpu;
	os->ram = cpu->mmu.hmem.guest_size;
	os->user_level = user_level;
	os->pcid = pcid;
	os->next_pid = 2;
	for (f = 0; f < GOS_NR_PCIDS; f++)
		os->pcid_owner[f] = -1;
	if (os->ram < 4 * LEVEL_SIZE(LEVEL_2M) || os->ram % LEVEL_SIZE(LEVEL_2M)) {
		snprintf(err, errlen, "guest RAM must be a multiple of 2 MiB, at least 8 MiB");
		return -1;
	}
	if (frames_init(&os->fr, os->ram) < 0)
		goto nomem;
	if (os->ram < RESERVED_LOW + memmap_frames(os->ram) * PAGE_SIZE + 3 * LEVEL_SIZE(LEVEL_2M))
		goto oom;
	for (f = 1; f < GOS_NR_FILES; f++) {
		os->file_pages[f] = file_pages[f];
		os->page_cache[f] = calloc(file_pages[f], sizeof(gpa_t));
		if (!os->page_cache[f])
			goto nomem;
	}

	/* Paging is off: these stores are physical. */
	kmem_memmap_init(os, RESERVED_LOW);
	os->kpml4 = gos_alloc_zeroed(os, LEVEL_4K);
	if (!os->kpml4 || build_direct_map(os) < 0 || kmem_kernel_text(os) < 0)
		goto oom;

	vcpu_write_cr4(cpu, CR4_PAE | CR4_PGE | (pcid ? CR4_PCIDE : 0));
	vcpu_write_efer(cpu, EFER_LME | EFER_NXE);
	vcpu_write_cr3(cpu, os->kpml4);
	vcpu_write_cr0(cpu, CR0_PE | CR0_PG | CR0_WP);
	cpu->pf_handler = gos_pf;
	cpu->pf_opaque = os;

	if (gos_proc_init(os, &os->proc[0], 1, 0, NULL) < 0)
		goto oom;
	gos_switch_to(os, &os->proc[0]);
	return 0;
oom:
	snprintf(err, errlen, "guest RAM too small to boot");
	gos_shutdown(os);
	return -1;
nomem:
	snprintf(err, errlen, "out of host memory for the guest OS's tables");
	gos_shutdown(os);
	return -1;
}

void gos_shutdown(struct gos *os)
{
	unsigned f;

	frames_destroy(&os->fr);
	for (f = 0; f < GOS_NR_FILES; f++) {
		free(os->page_cache[f]);
		os->page_cache[f] = NULL;
	}
}

/* ------------------------------------------------------------------ */
/* Mappings                                                             */
/* ------------------------------------------------------------------ */

int gos_mmap(struct gos *os, gva_t start, uint64_t len, unsigned prot,
	     enum gos_file file, uint64_t pgoff)
{
	struct gos_proc *p = os->cur;

	if (p->nvma == GOS_MAX_VMAS || len == 0 || (start | len) & (PAGE_SIZE - 1))
		return -1;
	if (file != GOS_FILE_NONE && pgoff + len / PAGE_SIZE > os->file_pages[file])
		return -1;
	p->vma[p->nvma++] = (struct gos_vma){ .start = start, .end = start + len,
					      .prot = prot, .file = file, .pgoff = pgoff };
	vcpu_syscall(os->cpu);
	g_insn(os->cpu, INSNS_SYSCALL + INSNS_PF_ENTRY);	/* mmap's work */
	kmem_vma_write(os, p, p->nvma - 1);
	return 0;
}

gva_t gos_mmap_anon(struct gos *os, uint64_t len, unsigned prot)
{
	struct gos_proc *p = os->cur;
	uint64_t align = LEVEL_SIZE(os->user_level);
	gva_t start = (p->mmap_next + align - 1) & ~(align - 1);

	len = (len + align - 1) & ~(align - 1);
	if (gos_mmap(os, start, len, prot, GOS_FILE_NONE, 0) < 0)
		return 0;
	p->mmap_next = start + len;
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
