/*
 * kmem.c - a process's kernel objects in guest RAM, as Linux 6.x keeps
 * them: task_structs and 16 KiB kernel stacks; mm_structs with their
 * VMA records and maple-tree nodes. (The struct page array and the
 * kernel text are the memory's: gos.c.) Guest code: every field is read
 * and written through the vCPU, so its TLB misses, walks and (under
 * shadow paging) traces happen like the user program's.
 */
#include <string.h>

#include "gos_priv.h"

/* ------------------------------------------------------------------ */
/* Kernel objects of a process                                          */
/* ------------------------------------------------------------------ */

/* Line i of a multi-frame object whose frames are pg[]. */
static gva_t obj_line(const struct gos *os, const gpa_t *pg, unsigned i)
{
	uint64_t off = (uint64_t)i * VMM_LINE;

	return gos_dmap(os, pg[off / PAGE_SIZE] + off % PAGE_SIZE);
}

static int frames_alloc(struct gos *os, gpa_t *pg, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		pg[i] = gos_frame_alloc(os, LEVEL_4K);
		if (!pg[i]) {
			while (i-- > 0)
				gos_frame_put(os, pg[i], LEVEL_4K);
			return -1;
		}
	}
	return 0;
}

static void frames_free(struct gos *os, gpa_t *pg, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (pg[i]) {
			gos_frame_put(os, pg[i], LEVEL_4K);
			pg[i] = 0;
		}
}

int kmem_task_alloc(struct gos *os, struct gos_proc *p, const struct gos_proc *from)
{
	static const uint8_t zero[VMM_LINE];
	uint8_t line[VMM_LINE];
	unsigned i;

	if (frames_alloc(os, p->task_pg, TASK_FRAMES) < 0)
		return -1;
	if (frames_alloc(os, p->kstack, KSTACK_FRAMES) < 0) {
		frames_free(os, p->task_pg, TASK_FRAMES);
		return -1;
	}
	p->task = p->task_pg[0];
	/* dup_task_struct: arch_dup_task_struct copies the parent's
	 * task_struct whole; the first task is built from zero. */
	for (i = 0; i < TASK_LINES; i++) {
		if (from) {
			g_ldline(os->cpu, obj_line(os, from->task_pg, i), line);
			g_stline(os->cpu, obj_line(os, p->task_pg, i), line);
		} else {
			g_stline(os->cpu, obj_line(os, p->task_pg, i), zero);
		}
	}
	g_insn(os->cpu, 2 * TASK_LINES);
	/* The new stack's top: pt_regs and the fork frame ret_from_fork
	 * returns through (copy_thread). */
	for (i = 0; i < KSTACK_ENTRY_LINES + 1; i++)
		g_stline(os->cpu, kmem_kstack_line(os, p, i), zero);
	return 0;
}

void kmem_task_free(struct gos *os, struct gos_proc *p)
{
	/* free_task: the stack's pages and the task_struct slab object
	 * go back (a store to each page's struct page, in frame_put). */
	frames_free(os, p->kstack, KSTACK_FRAMES);
	frames_free(os, p->task_pg, TASK_FRAMES);
	p->task = 0;
}

gva_t kmem_kstack_line(const struct gos *os, const struct gos_proc *p, unsigned i)
{
	/* Line i from the top of the 16 KiB stack (it grows down). */
	uint64_t off = (uint64_t)KSTACK_FRAMES * PAGE_SIZE - (uint64_t)(i + 1) * VMM_LINE;

	return gos_dmap(os, p->kstack[off / PAGE_SIZE] + off % PAGE_SIZE);
}

void kmem_kentry(struct gos *os)
{
	struct gos_proc *p = os->cur;
	uint8_t regs[VMM_LINE];
	unsigned i;

	/* The entry code pushes pt_regs (21 words) on the kernel stack. */
	memset(regs, 0, sizeof(regs));
	for (i = 0; i < KSTACK_ENTRY_LINES; i++)
		g_stline(os->cpu, kmem_kstack_line(os, p, i), regs);
}

void kmem_kexit(struct gos *os)
{
	struct gos_proc *p = os->cur;
	uint8_t regs[VMM_LINE];
	unsigned i;

	for (i = 0; i < KSTACK_ENTRY_LINES; i++)
		g_ldline(os->cpu, kmem_kstack_line(os, p, i), regs);
}

/* ------------------------------------------------------------------ */
/* mm_struct and VMA records                                            */
/* ------------------------------------------------------------------ */

/*
 * A process's mm frames: [0] the mm_struct (MM_LINES lines) and the
 * maple-tree nodes after it; [1..] the vm_area_struct slab, VMA_SLOTS
 * records of VMA_BYTES per frame. The anon_vma and anon_vma_chain of a
 * VMA with anonymous pages sit in its record's last line.
 *
 *   vm_area_struct: +0x00 vm_start  +0x08 vm_end  +0x20 vm_flags
 *                   +0x78 vm_pgoff  +0x80 vm_file
 */
#define VMA_BYTES	192u
#define VMA_SLOTS	(PAGE_SIZE / VMA_BYTES)
#define VMA_START	0x00
#define VMA_END		0x08
#define VMA_FLAGS	0x20
#define VMA_PGOFF	0x78
#define VMA_FILE	0x80
#define VMA_ANON	0x88
#define MT_NODE_LINES	4u		/* a maple node: 256 bytes */
#define MT_SLOTS	16u		/* VMAs per leaf node */

static gva_t vma_rec(const struct gos *os, const struct gos_proc *p, unsigned i)
{
	return gos_dmap(os, p->mm_pg[1 + i / VMA_SLOTS] + (i % VMA_SLOTS) * VMA_BYTES);
}

static gva_t mt_node(const struct gos *os, const struct gos_proc *p, unsigned leaf)
{
	return gos_dmap(os, p->mm_pg[0] + (MM_LINES + leaf * MT_NODE_LINES) * VMM_LINE);
}

int kmem_mm_alloc(struct gos *os, struct gos_proc *p, const struct gos_proc *from)
{
	static const uint8_t zero[VMM_LINE];
	uint8_t line[VMM_LINE];
	unsigned i;

	if (frames_alloc(os, p->mm_pg, MM_FRAMES) < 0)
		return -1;
	/* dup_mm: memcpy(mm, oldmm, sizeof(*mm)), then mm_init */
	for (i = 0; i < MM_LINES; i++) {
		if (from) {
			g_ldline(os->cpu, obj_line(os, from->mm_pg, i), line);
			g_stline(os->cpu, obj_line(os, p->mm_pg, i), line);
		} else {
			g_stline(os->cpu, obj_line(os, p->mm_pg, i), zero);
		}
	}
	g_insn(os->cpu, 2 * MM_LINES + INSNS_MM_INIT);
	return 0;
}

void kmem_mm_free(struct gos *os, struct gos_proc *p)
{
	frames_free(os, p->mm_pg, MM_FRAMES);
}

void kmem_vma_write(struct gos *os, struct gos_proc *p, unsigned i)
{
	const struct gos_vma *v = &p->vma[i];
	gva_t r = vma_rec(os, p, i);
	unsigned leaf = i / MT_SLOTS;

	g_st64(os->cpu, r + VMA_START, v->start);
	g_st64(os->cpu, r + VMA_END, v->end);
	g_st64(os->cpu, r + VMA_FLAGS, v->prot);
	g_st64(os->cpu, r + VMA_PGOFF, v->pgoff);
	g_st64(os->cpu, r + VMA_FILE, (uint64_t)v->file);
	g_st64(os->cpu, r + VMA_ANON, v->anon);
	/* mas_store: the leaf's pivot and slot */
	g_st64(os->cpu, mt_node(os, p, leaf) + 8 * (i % MT_SLOTS), v->end - 1);
	g_st64(os->cpu, mt_node(os, p, leaf) + VMM_LINE * 2 + 8 * (i % MT_SLOTS), r);
	g_insn(os->cpu, INSNS_VMA_LINK);
}

void kmem_vma_dup(struct gos *os, struct gos_proc *child, const struct gos_proc *parent,
		  unsigned i)
{
	uint8_t line[VMM_LINE];
	gva_t s = vma_rec(os, parent, i), d = vma_rec(os, child, i);
	unsigned leaf = i / MT_SLOTS, l;

	/* vm_area_dup: copy the record (three lines), then link it in the
	 * child's tree (the leaf's pivot and slot) */
	for (l = 0; l < VMA_BYTES / VMM_LINE; l++) {
		g_ldline(os->cpu, s + l * VMM_LINE, line);
		g_stline(os->cpu, d + l * VMM_LINE, line);
	}
	g_st64(os->cpu, mt_node(os, child, leaf) + 8 * (i % MT_SLOTS), child->vma[i].end - 1);
	g_st64(os->cpu, mt_node(os, child, leaf) + VMM_LINE * 2 + 8 * (i % MT_SLOTS), d);
	g_insn(os->cpu, INSNS_VMA_DUP);
	if (child->vma[i].anon) {
		/* anon_vma_fork: a new anon_vma and a chain entry to the
		 * parent's, both allocated and written */
		g_st64(os->cpu, d + VMA_ANON, 1);
		g_st64(os->cpu, s + VMA_ANON, 1);
		g_insn(os->cpu, INSNS_ANON_VMA_FORK);
	}
}

void kmem_vma_find(struct gos *os, struct gos_proc *p, unsigned i)
{
	gva_t r = vma_rec(os, p, i);
	uint64_t start, end;

	/* find_vma: a maple-tree walk (root, then the leaf) to the record,
	 * then its bounds, which must be what the kernel recorded */
	(void)g_ld64(os->cpu, mt_node(os, p, 0));
	g_dep(os->cpu);
	(void)g_ld64(os->cpu, mt_node(os, p, i / MT_SLOTS) + 8 * (i % MT_SLOTS));
	g_dep(os->cpu);
	start = g_ld64(os->cpu, r + VMA_START);
	end = g_ld64(os->cpu, r + VMA_END);
	(void)g_ld64(os->cpu, r + VMA_FLAGS);
	BUG_ON(start != p->vma[i].start || end != p->vma[i].end,
	       "VMA record in guest memory disagrees with the kernel's");
}

void kmem_vma_free(struct gos *os, struct gos_proc *p, unsigned i)
{
	gva_t r = vma_rec(os, p, i);

	/* remove_vma: read the record (its file, anon_vma), free it to
	 * the slab (the free pointer is written into it) */
	(void)g_ld64(os->cpu, r + VMA_FILE);
	if (g_ld64(os->cpu, r + VMA_ANON))
		g_insn(os->cpu, INSNS_ANON_VMA_FORK / 2);	/* unlink_anon_vmas */
	g_st64(os->cpu, r + VMA_START, 0);
	g_insn(os->cpu, INSNS_VMA_FREE);
}
