/*
 * workloads.h - what runs inside the VM: a small guest OS (gos_) and the
 * programs (wl_) that run on it. Everything here is guest code: its
 * memory accesses go through the vCPU (g_ld/g_st), its work is counted
 * with g_insn().
 */
#ifndef MEMVIRT_WORKLOADS_H
#define MEMVIRT_WORKLOADS_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm.h"

/*
 * Guest virtual memory layout (x86-64, 4-level, Linux-like):
 *
 *   0x0000_0000_4000_0000  user anonymous mappings (1 GiB aligned, so
 *                          2M and 1G pages can back them)
 *   0xffff_8880_0000_0000  kernel direct map of all guest RAM (2M pages,
 *                          global, supervisor, NX), PML4 slot 273
 *   0xffff_ffff_8100_0000  kernel text (a global, read-only 2M page),
 *                          PML4 slot 511
 */
#define GOS_DIRECT_MAP		UINT64_C(0xffff888000000000)
#define GOS_USER_MMAP_BASE	UINT64_C(0x0000000040000000)
#define GOS_KERNEL_TEXT		UINT64_C(0xffffffff81000000)	/* __START_KERNEL_map + 16M */
#define GOS_MAX_VMAS		32
#define GOS_MAX_PROCS		64
#define GOS_NR_PCIDS		6	/* dynamic PCIDs per CPU, as Linux keeps */

#define VMA_READ	(1u << 0)
#define VMA_WRITE	(1u << 1)
#define VMA_EXEC	(1u << 2)
#define VMA_SHARED	(1u << 3)	/* writes go to the file; never COW */
#define VMA_STACK	(1u << 4)
#define VMA_PFNMAP	(1u << 5)	/* raw kernel pages (vvar): fork copies the entries */

/* Files whose pages the guest maps (the page cache's identity of a page). */
enum gos_file {
	GOS_FILE_NONE = 0,	/* anonymous memory */
	GOS_FILE_PROG,		/* the program's ELF image */
	GOS_FILE_LIBC,		/* libc.so.6 */
	GOS_FILE_LDSO,		/* ld-linux-x86-64.so.2 */
	GOS_FILE_VVAR,		/* the kernel's vvar pages (time data) */
	GOS_FILE_VDSO,		/* the vDSO image */
	GOS_NR_FILES,
};

struct gos_vma {
	gva_t		start;		/* inclusive, page aligned */
	gva_t		end;		/* exclusive */
	unsigned	prot;		/* VMA_* */
	enum gos_file	file;		/* GOS_FILE_NONE: anonymous */
	uint64_t	pgoff;		/* first file page mapped at start */
	bool		anon;		/* has private anonymous pages (Linux's
					 * anon_vma): fork must copy its entries */
};

enum gos_state { PROC_FREE = 0, PROC_RUNNABLE, PROC_ZOMBIE };

struct gos;
/* The code a process runs when first scheduled (a forked child's
 * continuation after fork() returned 0). Returns its exit status. */
typedef int (*gos_entry)(struct gos *os, void *arg);

struct gos_proc {
	int		pid;
	int		ppid;
	enum gos_state	state;
	gpa_t		pml4;		/* root table frame */
	gpa_t		task;		/* task_struct's first frame (== task_pg[0]) */
	gpa_t		task_pg[3];	/* task_struct frames (kmem.c) */
	gpa_t		kstack[4];	/* the 16 KiB kernel stack's frames */
	gpa_t		mm_pg[3];	/* mm_struct + maple nodes, VMA records */
	uint16_t	pcid;		/* 0 when PCIDs are off */
	struct gos_vma	vma[GOS_MAX_VMAS];
	unsigned	nvma;
	gva_t		mmap_next;	/* next free user address for mmap */
	int		exit_status;	/* 0..255, or 128 + signal */
	bool		killed;		/* ended by a fatal signal */
	gos_entry	entry;		/* set for a child that has not run yet */
	gva_t		tid_va;		/* user address of the thread's tid
					 * (CLONE_CHILD_SETTID), 0: none */
	gva_t		rseq_va;	/* user address of its struct rseq, 0: none */
	void		*entry_arg;
};

/*
 * Guest frame allocator state. It is the guest kernel's own bookkeeping
 * (Linux keeps it in struct page, in guest RAM); we keep it host-side and
 * charge its work as kernel instructions, see docs/guest-os.md.
 */
struct gos_frames {
	uint64_t	nframes;	/* 4K frames of guest RAM */
	uint16_t	*ref;		/* per-frame reference count; 0 = free */
	uint16_t	*block_free;	/* per 2M block: free 4K frames in it */
	uint8_t		*block_large;	/* per 2M block: part of a large page */
	uint64_t	nblocks;
	uint64_t	free;		/* free 4K frames in all */
	uint64_t	cursor;		/* block the next 4K allocation looks at first */
};

/* Counters of guest OS events, for the report and the tests. */
struct gos_stats {
	uint64_t	pte_writes;	/* page-table entries written */
	uint64_t	forks;
	uint64_t	exits;
	uint64_t	cow_copies;	/* COW faults that copied the page */
	uint64_t	cow_reuses;	/* COW faults on a sole owner: made writable */
	uint64_t	file_faults;	/* file-backed pages mapped on fault */
	uint64_t	zero_faults;	/* anonymous pages zero-filled on fault */
	uint64_t	segfaults;
	uint64_t	ctx_switches;
	uint64_t	child_faults;	/* #PFs taken by processes other than init */
	uint64_t	fault_around;	/* pages mapped by fault-around beyond the faulting one */
};

struct gos {
	struct vcpu		*cpu;
	uint64_t		ram;		/* bytes of guest RAM */
	unsigned		user_level;	/* page size for anonymous memory */
	bool			pcid;		/* use PCIDs for address spaces */
	struct gos_frames	fr;
	gpa_t			kpml4;		/* the kernel's own root table */
	gpa_t			memmap;		/* struct page array (kmem.c) */
	gpa_t			ktext;		/* the kernel text's 2M frame */
	bool			uaccess;	/* the kernel is in put_user/get_user */
	struct gos_proc		*cur;		/* running process */
	struct gos_proc		proc[GOS_MAX_PROCS];
	int			next_pid;
	int			pcid_owner[GOS_NR_PCIDS];	/* pid whose entries a PCID holds */
	unsigned		pcid_next;	/* round-robin victim */
	gpa_t			*page_cache[GOS_NR_FILES];	/* file page -> frame, 0 = not cached */
	uint64_t		file_pages[GOS_NR_FILES];
	jmp_buf			*child_jmp;	/* where a killed child unwinds to */
	struct gos_stats	st;
	uint64_t		tick_period;	/* timer interrupt period, cycles */
	uint64_t		tick_next;	/* the deadline armed, cycles */
	char			log[256];	/* the guest's last kernel message */
};

/*
 * gos_boot - bring the guest OS up on cpu, paging off to paging on: build
 * the kernel's direct map in guest RAM with physical stores, load CR3,
 * enable long-mode paging (WP, NXE, PGE[, PCIDE]), install the #PF
 * handler, create the first process and switch to it. Returns 0, or -1
 * with a message in err (guest RAM too small).
 */
int gos_boot(struct gos *os, struct vcpu *cpu, unsigned user_level, bool pcid,
	     char *err, size_t errlen);
void gos_shutdown(struct gos *os);

/* gos_mmap_anon - reserve len bytes (rounded up to the user page size,
 * aligned to it) of anonymous memory in the current process, backed on
 * first touch by the #PF handler. Returns the address, or 0. */
gva_t gos_mmap_anon(struct gos *os, uint64_t len, unsigned prot);

/* gos_mmap - map [start, start+len) with prot, from `file` at page
 * pgoff (GOS_FILE_NONE: anonymous), in the current process. 0 or -1. */
int gos_mmap(struct gos *os, gva_t start, uint64_t len, unsigned prot,
	     enum gos_file file, uint64_t pgoff);

/* gos_user / gos_kernel - return to user mode / enter the kernel. */
void gos_user(struct gos *os);
void gos_kernel(struct gos *os);

/* gos_frames_free - free 4K frames now. */
uint64_t gos_frames_free(const struct gos *os);

/* ---- inspection: the guest OS's state, for tests and tools ---- */

/* gos_dmap - the guest-virtual address at which the kernel reaches gpa
 * (the direct map once paging is on, gpa itself before). */
static inline gva_t gos_dmap(const struct gos *os, gpa_t gpa)
{
	return (os->cpu->mmu.sregs.cr0 & CR0_PG) ? GOS_DIRECT_MAP + gpa : gpa;
}

/* gos_pte_read - entry index of the table at gpa, read by a guest load. */
static inline uint64_t gos_pte_read(struct gos *os, gpa_t table, unsigned index)
{
	return g_ld64(os->cpu, gos_dmap(os, table + 8u * index));
}

/* gos_frame_refs - the reference count of the frame at gpa (a large
 * page's lives in its first 4K frame). */
uint16_t gos_frame_refs(struct gos *os, gpa_t gpa);

/* gos_lookup - the leaf entry mapping va under root: its table and
 * index, level and value. Returns false when nothing is mapped. */
bool gos_lookup(struct gos *os, gpa_t root, gva_t va, gpa_t *table, unsigned *index,
		unsigned *level, uint64_t *pte);

/* gos_map_page - install leaf pte for va at level under root, allocating
 * intermediate tables (guest stores). 0, or -1 when out of frames. */
int gos_map_page(struct gos *os, gpa_t root, gva_t va, unsigned level, uint64_t pte);

/* ---- processes (proc.c) ---- */

/* gos_fork - the fork system call from the current process: a child with
 * a copy-on-write copy of the address space that will run entry(arg)
 * when scheduled. Returns the child's pid (> 0), or -1 (no memory or
 * process slots). Called in user mode; returns in user mode. */
int gos_fork(struct gos *os, gos_entry entry, void *arg);

/* gos_wait - wait for any child of the current process to end: runs
 * runnable children until one is a zombie, reaps it. Returns its pid
 * and *status (exit code, or 128 + signal number), or -1 (no children). */
int gos_wait(struct gos *os, int *status);

/* gos_getppid - the getppid system call. */
int gos_getppid(struct gos *os);

/* gos_exec_image - populate the current process with the image of a
 * small dynamically linked C program (program, ld.so and libc mapped
 * from files, data, bss, heap, stack) and touch its start-up working
 * set, as a real process has after reaching main(). 0 or -1. */
int gos_exec_image(struct gos *os);

/* The process image: where things are, for workloads that touch them.
 * One part per VMA of the real program's /proc/self/maps (docs/guest-os.md). */
gva_t gos_image_addr(int what, unsigned page);
enum gos_image_part {
	IMG_PROG_HDR, IMG_PROG_TEXT, IMG_PROG_RODATA, IMG_PROG_RELRO, IMG_PROG_DATA,
	IMG_HEAP, IMG_TLS,
	IMG_LIBC_HDR, IMG_LIBC_TEXT, IMG_LIBC_RODATA, IMG_LIBC_RELRO, IMG_LIBC_DATA,
	IMG_LIBC_BSS, IMG_LDSO_ANON, IMG_VVAR, IMG_VVAR_VCLOCK, IMG_VDSO,
	IMG_LDSO_HDR, IMG_LDSO_TEXT, IMG_LDSO_RODATA, IMG_LDSO_RELRO, IMG_LDSO_DATA,
	IMG_STACK, IMG_NR_PARTS,
};

/*
 * A path of user code, as the accesses it makes: fetch `n` lines of
 * code, read or write one word, or (in the kernel, on the program's
 * behalf) put_user one word. gos_run_path runs steps in order at the
 * current privilege level; `val` is what writes store.
 */
enum gos_step_kind { STEP_FETCH, STEP_READ, STEP_WRITE, STEP_PUT_USER };
struct gos_step {
	uint8_t		kind;		/* enum gos_step_kind */
	uint8_t		part;		/* enum gos_image_part */
	uint16_t	n;		/* STEP_FETCH: lines */
	uint32_t	off;		/* byte offset in the part (stack: from its top page) */
};
void gos_run_path(struct gos *os, const struct gos_step *steps, unsigned n, uint64_t val);

/* ------------------------------------------------------------------ */
/* Workloads                                                           */
/* ------------------------------------------------------------------ */

#define WL_MAX_PARAMS	8

struct workload {
	const char		*name;
	const char		*desc;
	struct param_spec		params[WL_MAX_PARAMS];	/* key == NULL ends */
	/* check - can these parameters run in guest_mem bytes of RAM? 0, or
	 * -1 with a one-line reason in err. NULL: always. */
	int			(*check)(const uint64_t *param, uint64_t guest_mem,
					 char *err, size_t errlen);
	/* run - run in the booted guest; the checksum of its results */
	uint64_t		(*run)(struct gos *os, const uint64_t *param);
};

extern const struct workload *const wl_table[];
const struct workload *wl_find(const char *name);
/* wl_param_index - the index of key in w's parameters, or -1 */
int wl_param_index(const struct workload *w, const char *key);

/* FNV-1a over 64-bit words: the checksum workloads end with. */
#define WL_FNV_OFFSET	UINT64_C(0xcbf29ce484222325)
#define WL_FNV_PRIME	UINT64_C(0x100000001b3)
static inline uint64_t wl_fnv(uint64_t h, uint64_t word)
{
	return (h ^ word) * WL_FNV_PRIME;
}

extern const struct workload wl_memsweep;
extern const struct workload wl_forkwait;
extern const struct workload wl_getppid;
extern const struct workload wl_touch;
extern const struct workload wl_countprimes;
extern const struct workload wl_fib;
extern const struct workload wl_cpuid;

/* gos_timer_start - the guest OS programs its TSC-deadline timer to
 * interrupt hz times a second (cpuid.c); 0: no timer (tickless). */
void gos_timer_start(struct gos *os, uint64_t hz);

#endif /* MEMVIRT_WORKLOADS_H */
