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
/* The process image                                                    */
/* ------------------------------------------------------------------ */

/*
 * A small dynamically linked C program as Linux lays it out (non-PIE,
 * glibc): sizes from a 64-bit Debian 12 `true`-sized program, libc.so.6
 * and ld-linux-x86-64.so.2 (see docs/guest-os.md). `touch` is how many
 * pages the program has touched by the time main() runs: the start-up
 * working set (dynamic linking, relocations, stdio, the stack).
 */
static const struct img_part {
	gva_t		start;
	uint64_t	pages;
	unsigned	prot;
	enum gos_file	file;
	uint64_t	pgoff;
	uint64_t	touch;		/* pages touched at start-up */
	bool		write;		/* touched by writing */
} image[IMG_NR_PARTS] = {
	[IMG_PROG_TEXT]   = { 0x401000, 2, VMA_READ | VMA_EXEC, GOS_FILE_PROG, 1, 2, false },
	[IMG_PROG_RODATA] = { 0x403000, 1, VMA_READ, GOS_FILE_PROG, 3, 1, false },
	[IMG_PROG_DATA]   = { 0x404000, 1, VMA_READ | VMA_WRITE, GOS_FILE_PROG, 4, 1, true },
	[IMG_PROG_BSS]    = { 0x405000, 1, VMA_READ | VMA_WRITE, GOS_FILE_NONE, 0, 1, true },
	[IMG_HEAP]        = { 0x406000, 33, VMA_READ | VMA_WRITE, GOS_FILE_NONE, 0, 1, true },
	[IMG_LIBC_TEXT]   = { 0x7ffff7dd3000, 376, VMA_READ | VMA_EXEC, GOS_FILE_LIBC, 0, 24, false },
	[IMG_LIBC_RODATA] = { 0x7ffff7f4b000, 100, VMA_READ, GOS_FILE_LIBC, 376, 4, false },
	[IMG_LIBC_DATA]   = { 0x7ffff7faf000, 4, VMA_READ | VMA_WRITE, GOS_FILE_LIBC, 476, 2, true },
	[IMG_LIBC_BSS]    = { 0x7ffff7fb3000, 10, VMA_READ | VMA_WRITE, GOS_FILE_NONE, 0, 2, true },
	[IMG_LDSO_TEXT]   = { 0x7ffff7fc5000, 38, VMA_READ | VMA_EXEC, GOS_FILE_LDSO, 0, 8, false },
	[IMG_LDSO_DATA]   = { 0x7ffff7ffb000, 2, VMA_READ | VMA_WRITE, GOS_FILE_LDSO, 40, 2, true },
	[IMG_STACK]       = { 0x7ffffffde000, 33, VMA_READ | VMA_WRITE | VMA_STACK,
			      GOS_FILE_NONE, 0, 3, true },
};

gva_t gos_image_addr(int what, unsigned page)
{
	const struct img_part *p = &image[what];

	BUG_ON(what < 0 || what >= IMG_NR_PARTS || page >= p->pages, "no such image page");
	/* The stack grows down: its page 0 is the top one. */
	if (p->prot & VMA_STACK)
		return p->start + (p->pages - 1 - page) * PAGE_SIZE;
	return p->start + page * PAGE_SIZE;
}

int gos_exec_image(struct gos *os)
{
	struct vcpu *cpu = os->cpu;
	unsigned i;
	uint64_t pg;

	for (i = 0; i < IMG_NR_PARTS; i++)
		if (gos_mmap(os, image[i].start, image[i].pages * PAGE_SIZE, image[i].prot,
			     image[i].file, image[i].pgoff) < 0)
			return -1;
	gos_user(os);
	for (i = 0; i < IMG_NR_PARTS; i++) {
		for (pg = 0; pg < image[i].touch; pg++) {
			gva_t va = gos_image_addr((int)i, (unsigned)pg);

			if (image[i].write)
				g_st64(cpu, va, wl_fnv(i, pg));
			else
				(void)g_ld64(cpu, va);
		}
	}
	g_insn(cpu, 200000);	/* ld.so's relocation and libc's start-up code */
	gos_kernel(os);
	return 0;
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

	os->cur = p;
	os->st.ctx_switches++;
	g_insn(os->cpu, INSNS_SWITCH);
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
		gos_frame_get(os, pte & PTE_ADDR_MASK & ~(LEVEL_SIZE(level) - 1));
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
	g_insn(os->cpu, INSNS_SYSCALL + INSNS_FORK);
	child = proc_alloc(os);
	if (!child || gos_proc_init(os, child, os->next_pid, parent->pid) < 0)
		goto out;
	child->nvma = parent->nvma;
	memcpy(child->vma, parent->vma, sizeof(child->vma));
	child->mmap_next = parent->mmap_next;
	child->entry = entry;
	child->entry_arg = arg;
	/* Linux skips file-backed VMAs never written privately: the child
	 * faults their pages in from the page cache on demand. */
	for (i = 0; i < parent->nvma; i++) {
		if (parent->vma[i].file != GOS_FILE_NONE && !parent->vma[i].anon)
			continue;
		if (copy_vma(os, parent, child, &parent->vma[i]) < 0) {
			gos_exit_mm(os, child);
			child->state = PROC_FREE;
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
	/* exit_mmap: unmap every user page and free the page tables; the
	 * PML4 itself goes when the process is reaped. */
	zap_table(os, p->pml4, 4, 0);
	p->nvma = 0;
}

/* The end of the current process: tear down, become a zombie. */
static void do_exit(struct gos *os, int status)
{
	struct gos_proc *p = os->cur;

	vcpu_syscall(os->cpu);
	g_insn(os->cpu, INSNS_SYSCALL + INSNS_EXIT);
	gos_exit_mm(os, p);
	p->exit_status = status;
	p->state = PROC_ZOMBIE;
	os->st.exits++;
}

int gos_kill(struct gos *os, int sig, gva_t addr, uint32_t ec)
{
	struct gos_proc *p = os->cur;

	os->st.segfaults++;
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
	g_insn(os->cpu, INSNS_SYSCALL + INSNS_WAIT);
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
			gos_frame_put(os, zombie->pml4, LEVEL_4K);	/* mmdrop: the pgd */
			gos_frame_put(os, zombie->task, LEVEL_4K);	/* put_task_struct */
			zombie->state = PROC_FREE;
			break;
		}
		if (!runnable) {
			pid = -1;
			break;
		}
		run_child(os, runnable);
	}
	gos_user(os);
	return pid;
}

int gos_getppid(struct gos *os)
{
	int ppid;

	gos_kernel(os);
	vcpu_syscall(os->cpu);
	g_insn(os->cpu, INSNS_SYSCALL + INSNS_GETPPID);
	/* The answer comes from the task struct in guest memory. */
	ppid = (int)g_ld64(os->cpu, gos_dmap(os, os->cur->task + TASK_PPID));
	gos_user(os);
	return ppid;
}
