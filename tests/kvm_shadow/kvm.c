/*
 * kvm.c - the KVM side of the differential test: the scenario's guest
 * program run by Linux KVM on its shadow MMU, KVM's binary statistics
 * read at every phase end.
 *
 * The guest is 64-bit, 4-level paging, and does all its work at CPL3,
 * which KVM runs on its real shadow page tables (CPL0 is
 * instruction-emulated here and never touches the shadow MMU). A tiny
 * CPL3 interpreter does one step per OUT: the host puts the step in
 * registers, the guest performs it and comes back to the OUT.
 *
 *   loop:  out %al,$0x10          host: rax = what, rbx = address,
 *          dispatch on eax              rcx = value, r8/r9 = trap args
 *          mov (%rbx),%rdx        a read
 *          mov %rcx/%ecx/%cx/%cl,(%rbx)   a write of 8/4/2/1 bytes
 *          ud2                    CR3 load / INVLPG: the #UD handler
 *                                 (CPL0) does it and returns past ud2
 *
 * A #PF the guest's tables cause (pf_guest) goes to a CPL0 handler that
 * abandons the step: it returns to `loop`. Only the interpreter's code
 * page is touched at CPL3 besides the steps' own addresses; the memvirt
 * side fetches it the same way.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "scen.h"

#define GDT	UINT64_C(0x1000)
#define IDT	UINT64_C(0x2000)
#define STUBS	UINT64_C(0x3000)
#define PF_H	(STUBS + 0x400)
#define UD_H	(STUBS + 0x600)
#define TSS	UINT64_C(0x4000)
#define KSTACK	UINT64_C(0x5ff0)
#define PORT_STEP	0x10
#define PORT_EXC	0xf1

extern const uint8_t kvs_loop[], kvs_loop_end[], kvs_pf[], kvs_pf_end[],
		     kvs_ud[], kvs_ud_end[];

/* Interpreter codes in eax. */
enum { G_NOP = 0, G_READ, G_W8, G_W4, G_W2, G_W1, G_TRAP };

__asm__(
	".pushsection .rodata.kvs,\"a\"\n"
	".code64\n"
	"kvs_loop:\n"
	"1:	out %al,$0x10\n"
	"	cmp $1,%eax\n	je 2f\n"
	"	cmp $2,%eax\n	je 3f\n"
	"	cmp $3,%eax\n	je 4f\n"
	"	cmp $4,%eax\n	je 5f\n"
	"	cmp $5,%eax\n	je 6f\n"
	"	cmp $6,%eax\n	je 7f\n"
	"	jmp 1b\n"
	"2:	mov (%rbx),%rdx\n	jmp 1b\n"
	"3:	mov %rcx,(%rbx)\n	jmp 1b\n"
	"4:	mov %ecx,(%rbx)\n	jmp 1b\n"
	"5:	mov %cx,(%rbx)\n	jmp 1b\n"
	"6:	mov %cl,(%rbx)\n	jmp 1b\n"
	"7:	ud2\n	jmp 1b\n"
	"kvs_loop_end:\n"
	/* #PF: drop the error code, resume at the loop, flag it. */
	"kvs_pf:\n"
	"	add $8,%rsp\n"
	"	movq $0x8000,(%rsp)\n"
	"	mov %cr2,%r13\n"
	"	mov $1,%r14\n"
	"	iretq\n"
	"kvs_pf_end:\n"
	/* #UD: r8 = 1: MOV r9 to CR3; 2: INVLPG (r9). Resume past ud2. */
	"kvs_ud:\n"
	"	cmp $1,%r8\n	jne 1f\n"
	"	mov %r9,%cr3\n	jmp 2f\n"
	"1:	invlpg (%r9)\n"
	"2:	addq $2,(%rsp)\n"
	"	iretq\n"
	"kvs_ud_end:\n"
	".popsection\n");

/* ------------------------------------------------------------------ */
/* Binary statistics                                                   */
/* ------------------------------------------------------------------ */

struct kstats {
	int		fd;
	struct kvm_stats_header h;
	uint32_t	n;
	char		(*names)[64];
	uint32_t	*off;
	uint64_t	*data;
	size_t		len;		/* bytes of data */
};

static int kstats_open(struct kstats *s, int objfd, char *err, size_t elen)
{
	size_t dsz;
	char *buf;
	uint32_t i;

	memset(s, 0, sizeof(*s));
	s->fd = ioctl(objfd, KVM_GET_STATS_FD, NULL);
	if (s->fd < 0 || pread(s->fd, &s->h, sizeof(s->h), 0) != (ssize_t)sizeof(s->h)) {
		snprintf(err, elen, "KVM_GET_STATS_FD: %s", strerror(errno));
		return -1;
	}
	s->n = s->h.num_desc;
	dsz = sizeof(struct kvm_stats_desc) + s->h.name_size;
	buf = calloc(s->n, dsz);
	s->names = calloc(s->n, sizeof(*s->names));
	s->off = calloc(s->n, sizeof(*s->off));
	if (!buf || !s->names || !s->off ||
	    pread(s->fd, buf, dsz * s->n, s->h.desc_offset) != (ssize_t)(dsz * s->n)) {
		free(buf);
		snprintf(err, elen, "reading KVM stats descriptors failed");
		return -1;
	}
	for (i = 0; i < s->n; i++) {
		const struct kvm_stats_desc *d = (const void *)(buf + i * dsz);
		size_t end = d->offset + 8u * d->size;

		snprintf(s->names[i], sizeof(s->names[i]), "%s", d->name);
		s->off[i] = d->offset;
		if (end > s->len)
			s->len = end;
	}
	free(buf);
	s->data = calloc(1, s->len + 8);
	return s->data ? 0 : -1;
}

static int kstats_read(struct kstats *s)
{
	return pread(s->fd, s->data, s->len, s->h.data_offset) == (ssize_t)s->len ? 0 : -1;
}

/* The value of stat `name` (first u64 of it), or -1 when KVM has none. */
static int64_t kstat(const struct kstats *s, const char *name)
{
	uint32_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return (int64_t)s->data[s->off[i] / 8];
	return -1;
}

static void kstats_close(struct kstats *s)
{
	if (s->fd > 0)
		close(s->fd);
	free(s->names);
	free(s->off);
	free(s->data);
}

/* Which KVM statistic each counter is, and whether it lives on the VM. */
static const struct { const char *name; bool vm; } kvm_name[C_NR] = {
	[C_PF_FIXED] = { "pf_fixed", false },
	[C_PF_GUEST] = { "pf_guest", false },
	[C_PF_EMULATE] = { "pf_emulate", false },
	[C_MMU_UNSYNC] = { "mmu_unsync", true },
	[C_MMU_FLOODED] = { "mmu_flooded", true },
	[C_MMU_SHADOW_ZAPPED] = { "mmu_shadow_zapped", true },
	[C_MMU_CACHE_MISS] = { "mmu_cache_miss", true },
	[C_INVLPG] = { "invlpg", false },
	[C_PF_SPURIOUS] = { "pf_spurious", false },
	[C_MMU_PDE_ZAPPED] = { "mmu_pde_zapped", true },
	[C_TLB_FLUSH] = { "tlb_flush", false },
	[C_PAGES_4K] = { "pages_4k", true },
	[C_PF_TAKEN] = { "pf_taken", false },
};

static void snapshot(const struct kstats *vm, const struct kstats *cpu, int64_t *v)
{
	unsigned c;

	for (c = 0; c < C_NR; c++)
		v[c] = kstat(kvm_name[c].vm ? vm : cpu, kvm_name[c].name);
}

/* ------------------------------------------------------------------ */
/* The VM                                                              */
/* ------------------------------------------------------------------ */

struct kvm_vm {
	int		kvm, vmfd, cpufd;
	struct kvm_run	*run;
	size_t		runsz;
	uint8_t		*mem;
	struct kstats	vs, cs;
};

static uint64_t *q(struct kvm_vm *v, uint64_t gpa)
{
	return (uint64_t *)(void *)(v->mem + gpa);
}

static uint64_t gate(uint64_t h)
{
	return (h & 0xffff) | (UINT64_C(0x08) << 16) | (UINT64_C(0x8e) << 40) |
	       (((h >> 16) & 0xffff) << 48);
}

/* The KVM-only guest pieces: GDT, TSS, IDT and handlers, the code. */
static void guest_image(struct kvm_vm *v)
{
	unsigned i;

	q(v, GDT)[0] = 0;
	q(v, GDT)[1] = UINT64_C(0x00af9a000000ffff);	/* 0x08 kernel code64 */
	q(v, GDT)[2] = UINT64_C(0x00cf92000000ffff);	/* 0x10 kernel data */
	q(v, GDT)[3] = UINT64_C(0x0000890000000067) | ((TSS & 0xffffff) << 16); /* 0x18 TSS */
	q(v, GDT)[4] = 0;
	q(v, GDT)[5] = UINT64_C(0x00cff2000000ffff);	/* 0x28 user data */
	q(v, GDT)[6] = UINT64_C(0x00affa000000ffff);	/* 0x30 user code64 */
	memset(v->mem + TSS, 0, 0x68);
	memcpy(v->mem + TSS + 4, &(uint64_t){ KSTACK }, 8);	/* TSS.rsp0 */
	for (i = 0; i < 32; i++) {
		uint8_t *st = v->mem + STUBS + 8 * i;
		uint64_t h = i == 14 ? PF_H : i == 6 ? UD_H : STUBS + 8 * i;

		/* mov $i,%al; out %al,$0xf1; hlt; jmp . */
		st[0] = 0xb0; st[1] = (uint8_t)i; st[2] = 0xe6; st[3] = PORT_EXC;
		st[4] = 0xf4; st[5] = 0xeb; st[6] = 0xfe;
		q(v, IDT)[2 * i] = gate(h);
		q(v, IDT)[2 * i + 1] = h >> 32;
	}
	memcpy(v->mem + PF_H, kvs_pf, (size_t)(kvs_pf_end - kvs_pf));
	memcpy(v->mem + UD_H, kvs_ud, (size_t)(kvs_ud_end - kvs_ud));
	memcpy(v->mem + SCEN_CODE, kvs_loop, (size_t)(kvs_loop_end - kvs_loop));
}

static int vm_open(struct kvm_vm *v, char *err, size_t len)
{
	struct kvm_userspace_memory_region r = { .slot = 0, .memory_size = SCEN_MEM };
	struct { struct kvm_cpuid2 c; struct kvm_cpuid_entry2 e[128]; } cp;
	int sz;

	memset(v, 0, sizeof(*v));
	v->kvm = v->vmfd = v->cpufd = -1;
	v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (v->kvm < 0) {
		snprintf(err, len, "/dev/kvm: %s", strerror(errno));
		return -1;
	}
	v->vmfd = ioctl(v->kvm, KVM_CREATE_VM, 0);
	if (v->vmfd < 0) {
		snprintf(err, len, "KVM_CREATE_VM: %s", strerror(errno));
		return -1;
	}
	v->mem = mmap(NULL, SCEN_MEM, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		      -1, 0);
	if (v->mem == MAP_FAILED) {
		v->mem = NULL;
		snprintf(err, len, "mmap guest RAM: %s", strerror(errno));
		return -1;
	}
	/* Every host page present: KVM's atomic prefetch needs them mapped. */
	memset(v->mem, 0, SCEN_MEM);
	r.userspace_addr = (uint64_t)(uintptr_t)v->mem;
	if (ioctl(v->vmfd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		snprintf(err, len, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
		return -1;
	}
	v->cpufd = ioctl(v->vmfd, KVM_CREATE_VCPU, 0);
	sz = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (v->cpufd < 0 || sz <= 0) {
		snprintf(err, len, "KVM_CREATE_VCPU: %s", strerror(errno));
		return -1;
	}
	v->runsz = (size_t)sz;
	v->run = mmap(NULL, v->runsz, PROT_READ | PROT_WRITE, MAP_SHARED, v->cpufd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		snprintf(err, len, "mmap kvm_run: %s", strerror(errno));
		return -1;
	}
	memset(&cp, 0, sizeof(cp));
	cp.c.nent = 128;
	if (ioctl(v->kvm, KVM_GET_SUPPORTED_CPUID, &cp) == 0)
		(void)ioctl(v->cpufd, KVM_SET_CPUID2, &cp);
	if (kstats_open(&v->vs, v->vmfd, err, len) < 0 ||
	    kstats_open(&v->cs, v->cpufd, err, len) < 0)
		return -1;
	return 0;
}

static void vm_close(struct kvm_vm *v)
{
	kstats_close(&v->cs);
	kstats_close(&v->vs);
	if (v->run)
		munmap(v->run, v->runsz);
	if (v->cpufd >= 0)
		close(v->cpufd);
	if (v->mem)
		munmap(v->mem, SCEN_MEM);
	if (v->vmfd >= 0)
		close(v->vmfd);
	if (v->kvm >= 0)
		close(v->kvm);
}

static int enter_long_mode(struct kvm_vm *v, uint64_t cr3, char *err, size_t len)
{
	struct kvm_sregs sr;
	struct kvm_regs r = { .rip = SCEN_CODE, .rflags = 0x3002, .rsp = 0 };
	struct kvm_segment cs = { .limit = 0xffffffff, .selector = 0x33, .type = 11,
				  .present = 1, .dpl = 3, .s = 1, .l = 1, .g = 1 };
	struct kvm_segment ds = { .limit = 0xffffffff, .selector = 0x2b, .type = 3,
				  .present = 1, .dpl = 3, .db = 1, .s = 1, .g = 1 };

	if (ioctl(v->cpufd, KVM_GET_SREGS, &sr) < 0) {
		snprintf(err, len, "KVM_GET_SREGS: %s", strerror(errno));
		return -1;
	}
	sr.cs = cs;
	sr.ds = sr.es = sr.fs = sr.gs = sr.ss = ds;
	sr.tr = (struct kvm_segment){ .base = TSS, .limit = 0x67, .selector = 0x18,
				      .type = 11, .present = 1 };
	sr.gdt.base = GDT;
	sr.gdt.limit = 7 * 8 - 1;
	sr.idt.base = IDT;
	sr.idt.limit = 32 * 16 - 1;
	sr.cr3 = cr3;
	sr.cr4 = 1u << 5;				/* PAE */
	sr.cr0 = 0x80000000u | 0x10000u | 0x20 | 0x10 | 1;	/* PG WP NE ET PE */
	sr.efer = 0x500;				/* LME LMA */
	if (ioctl(v->cpufd, KVM_SET_SREGS, &sr) < 0 || ioctl(v->cpufd, KVM_SET_REGS, &r) < 0) {
		snprintf(err, len, "KVM_SET_SREGS/REGS: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Run to the next OUT to PORT_STEP. 0, or -1 with the reason. */
static int run_to_step(struct kvm_vm *v, char *err, size_t len)
{
	if (ioctl(v->cpufd, KVM_RUN, 0) < 0) {
		snprintf(err, len, "KVM_RUN: %s", strerror(errno));
		return -1;
	}
	if (v->run->exit_reason == KVM_EXIT_IO && v->run->io.port == PORT_STEP)
		return 0;
	if (v->run->exit_reason == KVM_EXIT_IO && v->run->io.port == PORT_EXC)
		snprintf(err, len, "guest took exception %u at CPL0",
			 *((uint8_t *)v->run + v->run->io.data_offset));
	else
		snprintf(err, len, "unexpected KVM exit %u", v->run->exit_reason);
	return -1;
}

static uint64_t what(const struct scen_step *st, __u64 *r8)
{
	*r8 = 0;
	switch (st->op) {
	case SCEN_READ:		return G_READ;
	case SCEN_WRITE:	return st->size == 8 ? G_W8 : st->size == 4 ? G_W4 :
				       st->size == 2 ? G_W2 : G_W1;
	case SCEN_CR3:		*r8 = 1; return G_TRAP;
	case SCEN_INVLPG:	*r8 = 2; return G_TRAP;
	default:		return G_NOP;
	}
}

int scen_run_kvm(const struct scen *s, struct scen_counts *out, char *err, size_t len)
{
	struct kvm_vm v;
	int64_t prev[C_NR], cur[C_NR];
	unsigned phase = 0;
	size_t i;
	int ret = -1;

	if (vm_open(&v, err, len) < 0)
		goto out;
	for (i = 0; i < s->ninit; i++)
		*q(&v, s->init[i].gpa) = s->init[i].val;
	guest_image(&v);
	if (enter_long_mode(&v, s->cr3, err, len) < 0)
		goto out;
	if (kstats_read(&v.vs) < 0 || kstats_read(&v.cs) < 0)
		goto stats;
	snapshot(&v.vs, &v.cs, prev);
	if (run_to_step(&v, err, len) < 0)
		goto out;
	for (i = 0; i < s->nsteps; i++) {
		const struct scen_step *st = &s->steps[i];
		struct kvm_regs r;

		if (ioctl(v.cpufd, KVM_GET_REGS, &r) < 0)
			goto regs;
		r.rax = what(st, &r.r8);
		r.rbx = st->a;
		r.rcx = st->b;
		r.r9 = st->a;
		r.r14 = 0;
		if (ioctl(v.cpufd, KVM_SET_REGS, &r) < 0)
			goto regs;
		if (run_to_step(&v, err, len) < 0) {
			size_t e = strlen(err);

			snprintf(err + e, len - e, " (step %zu)", i);
			goto out;
		}
		if (st->op != SCEN_PHASE)
			continue;
		if (kstats_read(&v.vs) < 0 || kstats_read(&v.cs) < 0)
			goto stats;
		snapshot(&v.vs, &v.cs, cur);
		scen_phase_end(out, &phase, cur, prev);
	}
	ret = 0;
	goto out;
regs:
	snprintf(err, len, "KVM_GET/SET_REGS: %s", strerror(errno));
	goto out;
stats:
	snprintf(err, len, "reading KVM stats: %s", strerror(errno));
out:
	vm_close(&v);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Is this KVM's shadow MMU?                                           */
/* ------------------------------------------------------------------ */

/* The first character of a module parameter file, or 0. */
static char param_char(const char *path)
{
	char c = 0;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fread(&c, 1, 1, f) != 1)
			c = 0;
		fclose(f);
	}
	return c;
}

int scen_kvm_usable(char *why, size_t len)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), r;
	char tdp = param_char("/sys/module/kvm/parameters/tdp_mmu");
	char ept = param_char("/sys/module/kvm_intel/parameters/ept");
	char npt = param_char("/sys/module/kvm_amd/parameters/npt");

	if (kvm < 0) {
		snprintf(why, len, "/dev/kvm cannot be opened (%s)", strerror(errno));
		return 0;
	}
	r = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (r < 0) {
		snprintf(why, len, "/dev/kvm is not KVM (KVM_GET_API_VERSION: %s)",
			 strerror(errno));
		close(kvm);
		return 0;
	}
	if (r != KVM_API_VERSION) {
		snprintf(why, len, "KVM API version %d, not %d", r, KVM_API_VERSION);
		close(kvm);
		return 0;
	}
	r = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_BINARY_STATS_FD);
	close(kvm);
	if (r <= 0) {
		snprintf(why, len, "KVM has no binary statistics (KVM_CAP_BINARY_STATS_FD)");
		return 0;
	}
	if (tdp == 'Y' || ept == 'Y' || ept == '1' || npt == 'Y' || npt == '1') {
		snprintf(why, len, "KVM uses two-dimensional paging (tdp_mmu=%c ept=%c npt=%c), "
			 "not its shadow MMU", tdp ? tdp : '-', ept ? ept : '-', npt ? npt : '-');
		return 0;
	}
	return 1;
}
