/*
 * gos_priv.h - the guest OS's internal interface between its files,
 * which call downwards only: gos.c (memory, memmap, kernel text) <-
 * kmem.c (a process's kernel objects) <- proc.c (processes, mmap) <-
 * fault.c (#PF) <- boot.c.
 * Not included outside workloads/; what tests and tools may look at is
 * in workloads.h ("Inspection").
 */
#ifndef MEMVIRT_GOS_PRIV_H
#define MEMVIRT_GOS_PRIV_H

#include "workloads.h"

/*
 * Instruction counts of guest kernel code paths, for the cost model.
 * They are properties of the guest program, like memsweep's 11
 * instructions per iteration; memory accesses are counted separately as
 * they happen. Estimates from Linux's paths; see docs/guest-os.md.
 */
enum {
	INSNS_PF_ENTRY	= 120,	/* exception entry, handle_mm_fault dispatch, VMA lookup */
	INSNS_PF_EXIT	= 40,	/* return from the handler, IRET */
	INSNS_PT_LEVEL	= 12,	/* one level of a software table walk */
	INSNS_PTE	= 6,	/* per entry of copy/zap loops (copy_pte_range) */
	INSNS_FRAME_ALLOC = 60,	/* page allocator fast path */
	INSNS_FRAME_FREE = 40,
	INSNS_PER_STORE	= 1,	/* clear_page/copy_page: one instruction per 8 bytes */
	INSNS_SYSCALL	= 60,	/* entry/exit code around a system call body */
	INSNS_FORK	= 2500,	/* copy_process beyond the page tables */
	INSNS_EXIT	= 1500,	/* do_exit beyond exit_mmap */
	INSNS_WAIT	= 400,	/* wait4: find and reap the zombie */
	INSNS_SWITCH	= 300,	/* __schedule + switch_mm */
	INSNS_GETPPID	= 15,	/* the body of getppid */
	INSNS_RMAP	= 20,	/* page_add_*_rmap / page_remove_rmap */
	INSNS_MM_INIT	= 300,	/* mm_init after dup_mm's copy */
	INSNS_VMA_LINK	= 150,	/* mmap_region: vma_link, the maple-tree store */
	INSNS_VMA_DUP	= 250,	/* dup_mmap per VMA: vm_area_dup, mas_store, vma_link */
	INSNS_ANON_VMA_FORK = 200,	/* anon_vma_fork: anon_vma and chain */
	INSNS_VMA_FREE	= 80,	/* remove_vma */
	INSNS_FAULT_AROUND_PTE = 30,	/* filemap_map_pages per page mapped */
};

/* Kernel objects in guest RAM (kmem.c); sizes as Linux 6.x's. */
#define STRUCT_PAGE_SIZE	64u	/* sizeof(struct page) */
#define TASK_LINES		160u	/* task_struct: 10 KiB, copied whole at fork */
#define KSTACK_ENTRY_LINES	3u	/* pt_regs: 21 words, three lines */
#define MM_LINES		16u	/* mm_struct: 1 KiB */
#define TASK_FRAMES		3u	/* task_struct's slab share: 12 KiB */
#define KSTACK_FRAMES		4u	/* THREAD_SIZE = 16 KiB */
#define MM_FRAMES		3u	/* mm_struct + maple nodes; two VMA slab frames */
#define FAULT_AROUND_PAGES	16u	/* fault_around_bytes = 64 KiB */

enum kpath {
	KP_ENTRY, KP_FAULT, KP_ANON, KP_FILE, KP_COW, KP_PAGE_ALLOC, KP_PAGE_FREE,
	KP_COPY_PAGE, KP_FORK, KP_DUP_MMAP, KP_COPY_PTE, KP_EXIT, KP_ZAP, KP_WAIT,
	KP_SWITCH, KP_SYSCALL, KP_NR,
};

/* gos_kpath - the kernel runs `path`: it fetches that path's lines of
 * kernel text (a global 2M page, mapped at boot; gos.c). */
void gos_kpath(struct gos *os, enum kpath path);

/* gos_page_mapped - a frame's struct page _mapcount moves by delta
 * (page_add_*_rmap / page_remove_rmap; gos.c). Its _refcount moves with
 * gos_frame_get / gos_frame_put. */
void gos_page_mapped(struct gos *os, gpa_t gpa, int delta);

/* A process's task_struct (copied from `from`, or zeroed for the first)
 * and kernel stack; its mm_struct (likewise). 0 or -1 (out of frames). */
int kmem_task_alloc(struct gos *os, struct gos_proc *p, const struct gos_proc *from);
void kmem_task_free(struct gos *os, struct gos_proc *p);
int kmem_mm_alloc(struct gos *os, struct gos_proc *p, const struct gos_proc *from);
void kmem_mm_free(struct gos *os, struct gos_proc *p);
/* line i from the top of p's kernel stack */
gva_t kmem_kstack_line(const struct gos *os, const struct gos_proc *p, unsigned i);
/* kernel entry / exit on the current process's stack: pt_regs */
void kmem_kentry(struct gos *os);
void kmem_kexit(struct gos *os);

/* VMA records of p's mm: write record i from p->vma[i] (mmap), copy the
 * parent's record i to the child (dup_mmap), look record i up (find_vma,
 * checked against p->vma[i]), free it (exit_mmap). */
void kmem_vma_write(struct gos *os, struct gos_proc *p, unsigned i);
void kmem_vma_dup(struct gos *os, struct gos_proc *child, const struct gos_proc *parent,
		  unsigned i);
void kmem_vma_find(struct gos *os, struct gos_proc *p, unsigned i);
void kmem_vma_free(struct gos *os, struct gos_proc *p, unsigned i);

#define FRAMES_PER_BLOCK	512u	/* 4K frames in a 2M block */

static inline void gos_pte_write(struct gos *os, gpa_t table, unsigned index,
				 uint64_t pte)
{
	g_st64(os->cpu, gos_dmap(os, table + 8u * index), pte);
	os->st.pte_writes++;
}

/* Frames: allocate (zeroed or not), take and drop references. A large
 * page's count lives in its first 4K frame. */
gpa_t gos_frame_alloc(struct gos *os, unsigned level);
gpa_t gos_alloc_zeroed(struct gos *os, unsigned level);
void gos_frame_get(struct gos *os, gpa_t gpa);
void gos_frame_put(struct gos *os, gpa_t gpa, unsigned level);
void gos_copy_frame(struct gos *os, gpa_t dst, gpa_t src, uint64_t len);

struct gos_vma *gos_vma_find(struct gos_proc *p, gva_t va);

/* gos_page_cache - the frame holding page pg of file, reading it in
 * (filling the frame) on first use; 0 when out of memory. */
gpa_t gos_page_cache(struct gos *os, enum gos_file file, uint64_t pg);

/* gos_kill - the current process dies of signal sig: tear it down and
 * unwind to the scheduler. Returns -1 when the process is init (the VM
 * must stop), else does not return. */
int gos_kill(struct gos *os, int sig, gva_t addr, uint32_t ec);

/* gos_exit_mm - tear down the current process's user address space
 * (exit_mmap): zap every entry, free tables and pages. */
void gos_exit_mm(struct gos *os, struct gos_proc *p);

/* gos_proc_init - a fresh process slot: task_struct (copied from `from`,
 * NULL for init) with pid and ppid, kernel stack, mm_struct, its own
 * PML4 with the kernel half shared. 0 or -1 (out of frames).
 * gos_proc_free - the reaped slot's PML4 and kernel objects go back. */
int gos_proc_init(struct gos *os, struct gos_proc *p, int pid, int ppid,
		  const struct gos_proc *from);
void gos_proc_free(struct gos *os, struct gos_proc *p);

/* gos_put_user - the kernel stores val at user address va (put_user):
 * a fault there is handled for the current process. */
void gos_put_user(struct gos *os, gva_t va, uint64_t val);

/* Where a process's task_struct keeps its fields (offsets in its frame). */
#define TASK_PID	0
#define TASK_PPID	8

/* gos_switch_to - schedule p: CR3 write (with PCID when enabled). */
void gos_switch_to(struct gos *os, struct gos_proc *p);

/* gos_mem_init - frames, memmap, page-cache index, the kernel PML4 with
 * the direct map and kernel text (gos.c). 0, or -1 with the reason. */
int gos_mem_init(struct gos *os, char *err, size_t errlen);

/* gos_pf - the #PF handler the vCPU calls (fault.c); opaque is the gos. */
int gos_pf(struct vcpu *cpu, gva_t cr2, uint32_t ec, void *opaque);

#endif /* MEMVIRT_GOS_PRIV_H */
