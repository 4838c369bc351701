/*
 * fault.c - the guest OS's #PF handler, after Linux's handle_mm_fault:
 * demand zero (do_anonymous_page), file pages with fault-around
 * (do_read_fault, do_fault_around), copy-on-write (wp_page_copy), and
 * SIGSEGV for what no VMA allows. Guest code: every table access goes
 * through the vCPU.
 */
#include "gos_priv.h"

#define SIGSEGV		11

/* ------------------------------------------------------------------ */
/* The #PF handler                                                      */
/* ------------------------------------------------------------------ */

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
	gos_page_mapped(os, frame, 1);
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
		gos_page_mapped(os, cache, 1);
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
	gos_page_mapped(os, frame, 1);
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
	gos_page_mapped(os, frame, 1);
	gos_page_mapped(os, old, -1);
	gos_frame_put(os, old, level);
	os->st.cow_copies++;
	return 0;
}

int gos_pf(struct vcpu *cpu, gva_t cr2, uint32_t ec, void *opaque)
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
