/*
 * proc.c - guest processes: the image of a small C program, fork with
 * copy-on-write, exit and wait, getppid, and the scheduler's switch
 * (a CR3 write, with PCIDs when enabled). Guest code throughout.
 */
#include <stdio.h>
#include <string.h>

#include "gos_priv.h"

#define SIGSEGV	11

/* ------------------------------------------------------------------ */
/* Address space: mmap                                                  */
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

/* ------------------------------------------------------------------ */
/* Process objects                                                      */
/* ------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------ */
/* The process image                                                    */
/* ------------------------------------------------------------------ */

/*
 * A small dynamically linked C program (PIE, glibc 2.36, Debian 12) as
 * Linux lays it out: one part per line of the real loop's
 * /proc/self/maps on this machine, at the addresses of one traced run
 * (scripts/calibrate/loops.c; docs/guest-os.md compares the lists).
 * The relro parts are written by the dynamic linker, then made
 * read-only (mprotect), so they hold anonymous pages fork must copy.
 * `touch` lists the pages the program has used by the time main()
 * runs, `how` how (fetch, read or write); file pages it reads or runs
 * are mapped with their neighbours by fault-around, as the real
 * process's Rss shows.
 */
#define T(...)	(const uint16_t[]){ __VA_ARGS__ }, sizeof((const uint16_t[]){ __VA_ARGS__ }) / 2
static const struct img_part {
	gva_t		start;
	uint64_t	pages;
	unsigned	prot;
	enum gos_file	file;
	uint64_t	pgoff;
	const uint16_t	*touch;		/* pages used at start-up */
	unsigned	ntouch;
	uint8_t		how;		/* STEP_FETCH, STEP_READ or STEP_WRITE */
	bool		relro;		/* written, then mprotect(PROT_READ) */
} image[IMG_NR_PARTS] = {
#define R	VMA_READ
#define RW	(VMA_READ | VMA_WRITE)
#define RX	(VMA_READ | VMA_EXEC)
	[IMG_PROG_HDR]    = { 0x55c88726a000, 1, R, GOS_FILE_PROG, 0, T(0), STEP_READ, false },
	[IMG_PROG_TEXT]   = { 0x55c88726b000, 1, RX, GOS_FILE_PROG, 1, T(0), STEP_FETCH, false },
	[IMG_PROG_RODATA] = { 0x55c88726c000, 1, R, GOS_FILE_PROG, 2, T(0), STEP_READ, false },
	[IMG_PROG_RELRO]  = { 0x55c88726d000, 1, R, GOS_FILE_PROG, 2, T(0), STEP_WRITE, true },
	[IMG_PROG_DATA]   = { 0x55c88726e000, 1, RW, GOS_FILE_PROG, 3, T(0), STEP_WRITE, false },
	[IMG_HEAP]        = { 0x55c88c5c1000, 33, RW, GOS_FILE_NONE, 0, T(0, 1), STEP_WRITE, false },
	[IMG_TLS]         = { 0x7f7ba3d0f000, 3, RW, GOS_FILE_NONE, 0, T(0, 1), STEP_WRITE, false },
	[IMG_LIBC_HDR]    = { 0x7f7ba3d12000, 38, R, GOS_FILE_LIBC, 0, T(0, 4, 16, 34), STEP_READ, false },
	[IMG_LIBC_TEXT]   = { 0x7f7ba3d38000, 342, RX, GOS_FILE_LIBC, 38,
			      T(23, 24, 40, 56, 72, 102, 120, 136, 152, 173, 190, 206, 222, 238),
			      STEP_FETCH, false },
	[IMG_LIBC_RODATA] = { 0x7f7ba3e8e000, 83, R, GOS_FILE_LIBC, 380, T(2, 18, 34), STEP_READ, false },
	[IMG_LIBC_RELRO]  = { 0x7f7ba3ee1000, 4, R, GOS_FILE_LIBC, 463, T(0, 1, 2, 3), STEP_WRITE, true },
	[IMG_LIBC_DATA]   = { 0x7f7ba3ee5000, 2, RW, GOS_FILE_LIBC, 467, T(0, 1), STEP_WRITE, false },
	[IMG_LIBC_BSS]    = { 0x7f7ba3ee7000, 13, RW, GOS_FILE_NONE, 0, T(0, 1, 4, 5, 6), STEP_WRITE, false },
	[IMG_LDSO_ANON]   = { 0x7f7ba3eff000, 2, RW, GOS_FILE_NONE, 0, T(0), STEP_WRITE, false },
	[IMG_VVAR]        = { 0x7f7ba3f01000, 4, R | VMA_PFNMAP, GOS_FILE_VVAR, 0, T(0), STEP_READ, false },
	[IMG_VVAR_VCLOCK] = { 0x7f7ba3f05000, 2, R | VMA_PFNMAP, GOS_FILE_VVAR, 4, T(0), STEP_READ, false },
	[IMG_VDSO]        = { 0x7f7ba3f07000, 2, RX, GOS_FILE_VDSO, 0, T(0), STEP_FETCH, false },
	[IMG_LDSO_HDR]    = { 0x7f7ba3f09000, 1, R, GOS_FILE_LDSO, 0, T(0), STEP_READ, false },
	[IMG_LDSO_TEXT]   = { 0x7f7ba3f0a000, 38, RX, GOS_FILE_LDSO, 1, T(3, 17, 33), STEP_FETCH, false },
	[IMG_LDSO_RODATA] = { 0x7f7ba3f30000, 10, R, GOS_FILE_LDSO, 39, T(1), STEP_READ, false },
	[IMG_LDSO_RELRO]  = { 0x7f7ba3f3a000, 2, R, GOS_FILE_LDSO, 49, T(0, 1), STEP_WRITE, true },
	[IMG_LDSO_DATA]   = { 0x7f7ba3f3c000, 2, RW, GOS_FILE_LDSO, 51, T(0, 1), STEP_WRITE, false },
	[IMG_STACK]       = { 0x7ffe23599000, 33, RW | VMA_STACK, GOS_FILE_NONE, 0, T(0, 1, 2),
			      STEP_WRITE, false },
#undef R
#undef RW
#undef RX
};
#undef T

gva_t gos_image_addr(int what, unsigned page)
{
	const struct img_part *p = &image[what];

	BUG_ON(what < 0 || what >= IMG_NR_PARTS || page >= p->pages, "no such image page");
	/* The stack grows down: its page 0 is the top one. */
	if (p->prot & VMA_STACK)
		return p->start + (p->pages - 1 - page) * PAGE_SIZE;
	return p->start + page * PAGE_SIZE;
}

void gos_run_path(struct gos *os, const struct gos_step *steps, unsigned n, uint64_t val)
{
	struct vcpu *cpu = os->cpu;
	unsigned i, l;

	for (i = 0; i < n; i++) {
		const struct gos_step *st = &steps[i];
		gva_t va = gos_image_addr(st->part, st->off / PAGE_SIZE) + st->off % PAGE_SIZE;

		switch (st->kind) {
		case STEP_FETCH:
			va &= ~(gva_t)(VMM_LINE - 1);
			for (l = 0; l < st->n; l++)
				g_fetch(cpu, va + (gva_t)l * VMM_LINE);
			break;
		case STEP_READ:
			(void)g_ld64(cpu, va & ~(gva_t)7);
			break;
		case STEP_WRITE:
			g_st64(cpu, va & ~(gva_t)7, val);
			break;
		case STEP_PUT_USER: {
			uint8_t cpl = cpu->mmu.sregs.cpl;

			gos_kernel(os);
			gos_put_user(os, va & ~(gva_t)7, val);
			vcpu_set_cpl(cpu, cpl);
			break;
		}
		}
	}
}

/* mprotect(PROT_READ) of a part: change_protection clears W in every
 * present entry, then flush_tlb_range (one INVLPG a page). */
static void protect_ro(struct gos *os, int what)
{
	const struct img_part *ip = &image[what];
	struct gos_vma *vma = gos_vma_find(os->cur, ip->start);
	gva_t va;

	gos_kernel(os);
	vcpu_syscall(os->cpu);
	g_insn(os->cpu, INSNS_SYSCALL + INSNS_PF_ENTRY);
	for (va = ip->start; va < ip->start + ip->pages * PAGE_SIZE; va += PAGE_SIZE) {
		gpa_t t;
		unsigned idx, level;
		uint64_t pte;

		if (!gos_lookup(os, os->cur->pml4, va, &t, &idx, &level, &pte) || !(pte & PTE_W))
			continue;
		gos_pte_write(os, t, idx, pte & ~PTE_W);
		vcpu_invlpg(os->cpu, va);
	}
	vma->prot &= ~VMA_WRITE;
	kmem_vma_write(os, os->cur, (unsigned)(vma - os->cur->vma));
	gos_user(os);
}

/* The system's page cache already holds the shared libraries, the vDSO,
 * vvar and the program (every other process uses them): read them in. */
static int page_cache_warm(struct gos *os)
{
	static const enum gos_file files[] = { GOS_FILE_PROG, GOS_FILE_LIBC, GOS_FILE_LDSO,
					       GOS_FILE_VVAR, GOS_FILE_VDSO };
	unsigned f;
	uint64_t pg;

	for (f = 0; f < ARRAY_SIZE(files); f++)
		for (pg = 0; pg < os->file_pages[files[f]]; pg++)
			if (!gos_page_cache(os, files[f], pg))
				return -1;
	return 0;
}

int gos_exec_image(struct gos *os)
{
	struct vcpu *cpu = os->cpu;
	unsigned i, k;

	if (page_cache_warm(os) < 0)
		return -1;
	for (i = 0; i < IMG_NR_PARTS; i++)
		if (gos_mmap(os, image[i].start, image[i].pages * PAGE_SIZE,
			     image[i].prot | (image[i].relro ? VMA_WRITE : 0),
			     image[i].file, image[i].pgoff) < 0)
			return -1;
	gos_user(os);
	for (i = 0; i < IMG_NR_PARTS; i++) {
		for (k = 0; k < image[i].ntouch; k++) {
			gva_t va = gos_image_addr((int)i, image[i].touch[k]);

			if (image[i].how == STEP_WRITE)
				g_st64(cpu, va, wl_fnv(i, k));
			else if (image[i].how == STEP_FETCH)
				g_fetch(cpu, va);
			else
				(void)g_ld64(cpu, va);
		}
		if (image[i].relro)
			protect_ro(os, (int)i);
	}
	os->cur->tid_va = gos_image_addr(IMG_TLS, 0) + 0xa10;	/* struct pthread's tid */
	os->cur->rseq_va = gos_image_addr(IMG_TLS, 1) + 0x68;	/* its struct rseq */
	g_insn(cpu, 200000);	/* ld.so's relocation and libc's start-up code */
	gos_kernel(os);
	return 0;
}

/* rseq: on the way back to user mode after the task was scheduled, the
 * kernel writes the CPU number into the thread's struct rseq
 * (rseq_handle_notify_resume, a put_user). */
static void rseq_notify(struct gos *os)
{
	if (os->cur->rseq_va)
		gos_put_user(os, os->cur->rseq_va, 0);
}

/* ------------------------------------------------------------------ */
/* Scheduling                                                           */
/* ------------------------------------------------------------------ */

/*
 * Linux keeps a few PCIDs per CPU (TLB_NR_DYN_ASIDS = 6) and hands them
 * to address spaces round-robin; switching back to an mm whose PCID
 * still holds its entries needs no flush (CR3 bit 63 set).
 */
void gos_switch_to(struct gos *os, struct gos_proc *p)
{
	uint64_t cr3 = p->pml4;
	unsigned i;

	uint8_t frame[VMM_LINE] = { 0 };

	/* __switch_to_asm pushes the callee-saved registers on the old
	 * task's stack and pops them from the new one's */
	if (os->cur)
		g_stline(os->cpu, kmem_kstack_line(os, os->cur, KSTACK_ENTRY_LINES), frame);
	os->cur = p;
	os->st.ctx_switches++;
	g_insn(os->cpu, INSNS_SWITCH);
	gos_kpath(os, KP_SWITCH);
	g_ldline(os->cpu, kmem_kstack_line(os, p, KSTACK_ENTRY_LINES), frame);
	if (!os->pcid) {
		vcpu_write_cr3(os->cpu, cr3);
		return;
	}
	for (i = 0; i < GOS_NR_PCIDS; i++) {
		if (os->pcid_owner[i] == p->pid) {
			p->pcid = (uint16_t)(i + 1);
			vcpu_write_cr3(os->cpu, cr3 | p->pcid | CR3_NOFLUSH);
			return;
		}
	}
	i = os->pcid_next++ % GOS_NR_PCIDS;
	os->pcid_owner[i] = p->pid;
	p->pcid = (uint16_t)(i + 1);
	vcpu_write_cr3(os->cpu, cr3 | p->pcid);
}

static struct gos_proc *proc_alloc(struct gos *os)
{
	unsigned i;

	for (i = 0; i < GOS_MAX_PROCS; i++)
		if (os->proc[i].state == PROC_FREE)
			return &os->proc[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* fork: copy_page_range                                                */
/* ------------------------------------------------------------------ */

/*
 * Copy the present entries of one VMA from parent to child. Writable
 * private pages become copy-on-write: read-only in both, one more
 * reference on the frame. The child's entries start old (A clear), as
 * Linux's copy_present_pte makes them. Returns 0 or -1 (out of frames).
 */
static int copy_vma(struct gos *os, struct gos_proc *parent, struct gos_proc *child,
		    const struct gos_vma *vma)
{
	bool cow = (vma->prot & VMA_WRITE) && !(vma->prot & VMA_SHARED);
	gva_t va = vma->start;

	gos_kpath(os, KP_COPY_PTE);
	while (va < vma->end) {
		gpa_t table;
		unsigned index, level;
		uint64_t pte;

		g_insn(os->cpu, INSNS_PTE);
		if (!gos_lookup(os, parent->pml4, va, &table, &index, &level, &pte)) {
			va += PAGE_SIZE;
			continue;
		}
		if (cow && (pte & PTE_W)) {
			pte &= ~PTE_W;
			gos_pte_write(os, table, index, pte);
		}
		/* copy_present_pte: the page gains a reference and a mapping */
		gos_frame_get(os, pte & PTE_ADDR_MASK & ~(LEVEL_SIZE(level) - 1));
		gos_page_mapped(os, pte & PTE_ADDR_MASK & ~(LEVEL_SIZE(level) - 1), 1);
		if (gos_map_page(os, child->pml4, va & ~(LEVEL_SIZE(level) - 1), level,
				 pte & ~PTE_A) < 0)
			return -1;
		va = (va & ~(LEVEL_SIZE(level) - 1)) + LEVEL_SIZE(level);
	}
	return 0;
}

int gos_fork(struct gos *os, gos_entry entry, void *arg)
{
	struct gos_proc *parent = os->cur, *child;
	unsigned i;
	int ret = -1;

	gos_kernel(os);
	vcpu_syscall(os->cpu);
	kmem_kentry(os);
	gos_kpath(os, KP_ENTRY);
	g_insn(os->cpu, INSNS_SYSCALL + INSNS_FORK);
	gos_kpath(os, KP_FORK);
	child = proc_alloc(os);
	if (!child || gos_proc_init(os, child, os->next_pid, parent->pid, parent) < 0)
		goto out;
	child->nvma = parent->nvma;
	memcpy(child->vma, parent->vma, sizeof(child->vma));
	child->mmap_next = parent->mmap_next;
	child->tid_va = parent->tid_va;
	child->rseq_va = parent->rseq_va;
	child->entry = entry;
	child->entry_arg = arg;
	/* dup_mmap: every VMA record copied and linked; vma_needs_copy:
	 * page tables are copied for VMAs with anonymous pages or raw
	 * PFN maps, and skipped for file-backed VMAs never written
	 * privately (the child faults those pages in on demand). */
	gos_kpath(os, KP_DUP_MMAP);
	for (i = 0; i < parent->nvma; i++) {
		kmem_vma_dup(os, child, parent, i);
		if (parent->vma[i].file != GOS_FILE_NONE && !parent->vma[i].anon &&
		    !(parent->vma[i].prot & VMA_PFNMAP))
			continue;
		if (copy_vma(os, parent, child, &parent->vma[i]) < 0) {
			gos_exit_mm(os, child);
			gos_proc_free(os, child);
			goto out;
		}
	}
	/* dup_mmap ends with flush_tlb_mm(parent): a full flush of the
	 * parent's entries, now stale for every page made read-only. */
	vcpu_write_cr3(os->cpu, parent->pml4 | parent->pcid);
	os->next_pid++;
	os->st.forks++;
	ret = child->pid;
out:
	kmem_kexit(os);
	rseq_notify(os);
	gos_user(os);
	return ret;
}

/* ------------------------------------------------------------------ */
/* exit, wait                                                           */
/* ------------------------------------------------------------------ */

/* Clear every user entry of `table` (at `level`, mapping from `base`),
 * free what the entries map and the tables below (zap + free_pgtables). */
static void zap_table(struct gos *os, gpa_t table, unsigned level, gva_t base)
{
	unsigned i;

	for (i = 0; i < 512; i++) {
		gva_t va = base + (uint64_t)i * LEVEL_SIZE(level);
		uint64_t e;

		if (level == 4 && i >= 256)
			break;		/* the kernel half is shared, never freed */
		e = gos_pte_read(os, table, i);
		g_insn(os->cpu, INSNS_PTE);
		if (!(e & PTE_P))
			continue;
		if (level == 1 || (e & PTE_PS)) {
			/* zap_pte_range: the mapping and its reference go */
			gos_page_mapped(os, e & PTE_ADDR_MASK & ~(LEVEL_SIZE(level) - 1), -1);
			gos_frame_put(os, e & PTE_ADDR_MASK & ~(LEVEL_SIZE(level) - 1), level);
		} else {
			zap_table(os, e & PTE_ADDR_MASK, level - 1, va);
			gos_frame_put(os, e & PTE_ADDR_MASK, LEVEL_4K);
		}
		gos_pte_write(os, table, i, 0);
	}
}

void gos_exit_mm(struct gos *os, struct gos_proc *p)
{
	unsigned i;

	/* exit_mmap: unmap every user page and free the page tables, then
	 * free every VMA record (remove_vma); the PML4 and the mm_struct
	 * go when the process is reaped. */
	gos_kpath(os, KP_ZAP);
	zap_table(os, p->pml4, 4, 0);
	for (i = 0; i < p->nvma; i++)
		kmem_vma_free(os, p, i);
	p->nvma = 0;
}

/* The end of the current process: tear down, become a zombie. */
static void do_exit(struct gos *os, int status)
{
	struct gos_proc *p = os->cur;

	vcpu_syscall(os->cpu);
	kmem_kentry(os);
	gos_kpath(os, KP_ENTRY);
	g_insn(os->cpu, INSNS_SYSCALL + INSNS_EXIT);
	gos_kpath(os, KP_EXIT);
	gos_exit_mm(os, p);
	p->exit_status = status;
	p->state = PROC_ZOMBIE;
	os->st.exits++;
}

int gos_kill(struct gos *os, int sig, gva_t addr, uint32_t ec)
{
	struct gos_proc *p = os->cur;

	os->st.segfaults++;
	os->uaccess = false;
	snprintf(os->log, sizeof(os->log),
		 "pid %d: segfault at %#llx error %#x: killed by signal %d",
		 p->pid, (unsigned long long)addr, ec, sig);
	if (p->pid == 1 || !os->child_jmp) {
		snprintf(os->cpu->stop_msg, sizeof(os->cpu->stop_msg),
			 "guest: init killed: %.200s", os->log);
		return -1;
	}
	gos_kernel(os);
	do_exit(os, 128 + sig);
	p->killed = true;
	longjmp(*os->child_jmp, 1);
}

/* Run a runnable child until it exits (our children never block). */
static void run_child(struct gos *os, struct gos_proc *child)
{
	struct gos_proc *parent = os->cur;
	jmp_buf jb, *outer = os->child_jmp;

	gos_switch_to(os, child);
	os->child_jmp = &jb;
	if (setjmp(jb) == 0) {
		gos_entry entry = child->entry;
		int status;

		child->entry = NULL;
		/* schedule_tail: CLONE_CHILD_SETTID stores the tid; the
		 * return to user mode updates rseq */
		if (child->tid_va)
			gos_put_user(os, child->tid_va, (uint64_t)child->pid);
		rseq_notify(os);
		gos_user(os);
		status = entry(os, child->entry_arg);
		gos_kernel(os);
		do_exit(os, status & 0xff);
	} else {
		/* Killed inside its #PF handler: unwound from there. */
		os->cpu->pf_depth = 0;
		gos_kernel(os);
	}
	os->child_jmp = outer;
	gos_switch_to(os, parent);
}

int gos_wait(struct gos *os, int *status)
{
	struct gos_proc *self = os->cur;
	unsigned i;
	int pid;

	gos_kernel(os);
	vcpu_syscall(os->cpu);
	kmem_kentry(os);
	gos_kpath(os, KP_ENTRY);
	g_insn(os->cpu, INSNS_SYSCALL + INSNS_WAIT);
	gos_kpath(os, KP_WAIT);
	for (;;) {
		struct gos_proc *zombie = NULL, *runnable = NULL;

		for (i = 0; i < GOS_MAX_PROCS; i++) {
			struct gos_proc *c = &os->proc[i];

			if (c->state == PROC_FREE || c->ppid != self->pid || c == self)
				continue;
			if (c->state == PROC_ZOMBIE && !zombie)
				zombie = c;
			if (c->state == PROC_RUNNABLE && c->entry && !runnable)
				runnable = c;
		}
		if (zombie) {
			pid = zombie->pid;
			*status = zombie->exit_status;
			/* release_task, mmdrop (the pgd, mm_struct), put_task_struct */
			(void)g_ld64(os->cpu, gos_dmap(os, zombie->task + TASK_PID));
			gos_proc_free(os, zombie);
			break;
		}
		if (!runnable) {
			pid = -1;
			break;
		}
		run_child(os, runnable);
	}
	kmem_kexit(os);
	rseq_notify(os);
	gos_user(os);
	return pid;
}

int gos_getppid(struct gos *os)
{
	int ppid;

	gos_kernel(os);
	vcpu_syscall(os->cpu);
	kmem_kentry(os);
	gos_kpath(os, KP_ENTRY);
	g_insn(os->cpu, INSNS_SYSCALL + INSNS_GETPPID);
	gos_kpath(os, KP_SYSCALL);
	/* The answer comes from the task struct in guest memory. */
	ppid = (int)g_ld64(os->cpu, gos_dmap(os, os->cur->task + TASK_PPID));
	kmem_kexit(os);
	gos_user(os);
	return ppid;
}
