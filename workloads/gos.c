/*
 * gos.c - the guest OS's memory: frame allocator, the kernel's direct
 * map, user address spaces in 4-level tables in guest RAM, the page
 * cache, the struct page array (memmap) whose reference and map counts
 * every fault, fork and exit updates, and the kernel text the kernel's
 * paths fetch from. Guest code: every table read and write goes through
 * the vCPU. The files of the guest OS call downwards only: gos.c
 * (memory) <- kmem.c (a process's kernel objects) <- proc.c (processes,
 * address spaces) <- fault.c (the #PF handler) <- boot.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gos_priv.h"

#define RESERVED_LOW	(1 * MiB)	/* firmware area, never allocated */
#define SIGSEGV		11

/* ------------------------------------------------------------------ */
/* memmap: one 64-byte struct page per 4K frame of guest RAM           */
/* ------------------------------------------------------------------ */

/*
 * struct page (include/linux/mm_types.h, 64 bytes on x86-64):
 *
 *   +0x00 flags   +0x08 lru/mapping/index ...   +0x30 _mapcount  +0x34 _refcount
 */
#define PAGE_FLAGS	0x00
#define PAGE_MAPCOUNT	0x30
#define PAGE_REFCOUNT	0x34

static gva_t page_struct(const struct gos *os, gpa_t gpa)
{
	return gos_dmap(os, os->memmap + (gpa / PAGE_SIZE) * STRUCT_PAGE_SIZE);
}

static int memmap_init(struct gos *os, gpa_t base)
{
	uint64_t f, n = 0;

	/*
	 * The reserved frames' struct pages (firmware area, the memmap
	 * itself) get their reference now (the rest of each stays zero). The rest are
	 * initialised when the allocator first hands their frame out
	 * (prep_new_page writes the same line), as with Linux's
	 * CONFIG_DEFERRED_STRUCT_PAGE_INIT: guest RAM starts zeroed, which
	 * is a free frame's struct page (refcount 0).
	 */
	os->memmap = base;
	for (f = 0; f < os->fr.nframes && os->fr.ref[f]; f++, n++)
		g_st32(os->cpu, page_struct(os, f * PAGE_SIZE) + PAGE_REFCOUNT, os->fr.ref[f]);
	g_insn(os->cpu, 8 * n);
	return 0;
}

static uint32_t page_ref(struct gos *os, gpa_t gpa)
{
	return g_ld32(os->cpu, page_struct(os, gpa) + PAGE_REFCOUNT);
}

static void page_set_ref(struct gos *os, gpa_t gpa, uint32_t ref, bool alloc)
{
	gva_t sp = page_struct(os, gpa);

	/* The allocator's prep_new_page also resets flags and the map
	 * count: the same line. */
	if (alloc) {
		g_st64(os->cpu, sp + PAGE_FLAGS, 0);
		g_st32(os->cpu, sp + PAGE_MAPCOUNT, UINT32_MAX);	/* -1: unmapped */
	}
	g_st32(os->cpu, sp + PAGE_REFCOUNT, ref);
}

void gos_page_mapped(struct gos *os, gpa_t gpa, int delta)
{
	gva_t sp = page_struct(os, gpa) + PAGE_MAPCOUNT;
	uint32_t c = g_ld32(os->cpu, sp);

	/* page_add_*_rmap / page_remove_rmap: an atomic on _mapcount */
	g_st32(os->cpu, sp, c + (uint32_t)delta);
	g_insn(os->cpu, INSNS_RMAP);
}

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
		page_set_ref(os, gpa, 1, true);
	return gpa;
}

/* The frame's count from its struct page, checked against the mirror. */
static uint32_t frame_ref(struct gos *os, gpa_t gpa)
{
	uint16_t host = os->fr.ref[gpa / PAGE_SIZE];
	uint32_t r = page_ref(os, gpa);

	BUG_ON(r != host, "struct page refcount disagrees with the allocator");
	return r;
}

void gos_frame_get(struct gos *os, gpa_t gpa)
{
	uint16_t *r = &os->fr.ref[gpa / PAGE_SIZE];

	BUG_ON(*r == 0 || *r == UINT16_MAX, "reference to a free or saturated frame");
	page_set_ref(os, gpa, frame_ref(os, gpa) + 1, false);	/* get_page */
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
	page_set_ref(os, gpa, frame_ref(os, gpa) - 1, false);	/* put_page */
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
	g_insn_string(cpu, INSNS_PER_STORE * (len / 8));
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
	g_insn_string(cpu, 2 * INSNS_PER_STORE * (len / 8));
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
	g_insn_string(os->cpu, INSNS_PER_STORE * (PAGE_SIZE / 8));
	os->page_cache[file][pg] = gpa;
	return gpa;
}

/* ------------------------------------------------------------------ */
/* VMAs                                                                 */
/* ------------------------------------------------------------------ */

struct gos_vma *gos_vma_find(struct gos_proc *p, gva_t va)
{
	unsigned i;

	for (i = 0; i < p->nvma; i++)
		if (va >= p->vma[i].start && va < p->vma[i].end)
			return &p->vma[i];
	return NULL;
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
/* Kernel text                                                          */
/* ------------------------------------------------------------------ */

/*
 * Where each kernel path's code lies in the kernel image, and how many
 * lines of it one run of the path fetches. Offsets keep the order of a
 * vmlinux's sections (entry code, then mm/, kernel/); line counts are a
 * handful per path, estimates from the paths' sizes (docs/guest-os.md).
 */
static const struct { uint32_t off; uint16_t lines; } kpaths[KP_NR] = {
	[KP_ENTRY]	= { 0x000000, 6 },	/* entry_SYSCALL_64, asm_exc_page_fault, return */
	[KP_FAULT]	= { 0x040000, 10 },	/* exc_page_fault .. handle_mm_fault, find_vma */
	[KP_ANON]	= { 0x044000, 6 },	/* do_anonymous_page */
	[KP_FILE]	= { 0x048000, 8 },	/* do_read_fault, filemap_map_pages */
	[KP_COW]	= { 0x04c000, 8 },	/* do_wp_page, wp_page_copy */
	[KP_PAGE_ALLOC]	= { 0x060000, 6 },	/* get_page_from_freelist, prep_new_page */
	[KP_PAGE_FREE]	= { 0x064000, 4 },	/* free_unref_page */
	[KP_COPY_PAGE]	= { 0x068000, 2 },	/* copy_page / clear_page_erms */
	[KP_FORK]	= { 0x100000, 24 },	/* kernel_clone, copy_process, dup_task_struct */
	[KP_DUP_MMAP]	= { 0x108000, 10 },	/* dup_mmap, vm_area_dup, anon_vma_fork */
	[KP_COPY_PTE]	= { 0x10c000, 6 },	/* copy_page_range .. copy_present_pte */
	[KP_EXIT]	= { 0x110000, 20 },	/* do_exit, exit_mm, exit_notify */
	[KP_ZAP]	= { 0x118000, 8 },	/* exit_mmap, unmap_vmas, free_pgtables */
	[KP_WAIT]	= { 0x120000, 8 },	/* do_wait, wait_task_zombie, release_task */
	[KP_SWITCH]	= { 0x128000, 10 },	/* __schedule, switch_mm_irqs_off, __switch_to */
	[KP_SYSCALL]	= { 0x130000, 2 },	/* a small system call's body */
};

void gos_kpath(struct gos *os, enum kpath path)
{
	gva_t va = GOS_KERNEL_TEXT + kpaths[path].off;
	unsigned i;

	if (!(os->cpu->mmu.sregs.cr0 & CR0_PG))
		return;
	for (i = 0; i < kpaths[path].lines; i++)
		g_fetch(os->cpu, va + (gva_t)i * VMM_LINE);
}

static int map_kernel_text(struct gos *os)
{
	const uint64_t kflags = PTE_P | PTE_A | PTE_G | PTE_PS;	/* __PAGE_KERNEL_ROX */
	gpa_t text = gos_frame_alloc(os, LEVEL_2M), pdpt, pd;

	if (!text)
		return -1;
	pdpt = gos_alloc_zeroed(os, LEVEL_4K);
	pd = pdpt ? gos_alloc_zeroed(os, LEVEL_4K) : 0;
	if (!pd)
		return -1;
	os->ktext = text;
	gos_pte_write(os, os->kpml4, (unsigned)WALK_INDEX(GOS_KERNEL_TEXT, 4), pdpt | PTE_P | PTE_W);
	gos_pte_write(os, pdpt, (unsigned)WALK_INDEX(GOS_KERNEL_TEXT, 3), pd | PTE_P | PTE_W);
	gos_pte_write(os, pd, (unsigned)WALK_INDEX(GOS_KERNEL_TEXT, 2), text | kflags);
	return 0;
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
 * gos_mem_init - the guest OS's memory, with paging still off: the frame
 * allocator and memmap, the page cache's index, the kernel PML4 with the
 * direct map and kernel text. 0, or -1 with the reason in err (and
 * everything undone).
 */
int gos_mem_init(struct gos *os, char *err, size_t errlen)
{
	unsigned f;

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
	memmap_init(os, RESERVED_LOW);
	os->kpml4 = gos_alloc_zeroed(os, LEVEL_4K);
	if (!os->kpml4 || build_direct_map(os) < 0 || map_kernel_text(os) < 0)
		goto oom;
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
/* User and kernel mode                                               */
/* ------------------------------------------------------------------ */

void gos_user(struct gos *os)
{
	vcpu_set_cpl(os->cpu, 3);
}

void gos_kernel(struct gos *os)
{
	vcpu_set_cpl(os->cpu, 0);
}
