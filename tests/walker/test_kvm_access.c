/*
 * test_kvm_access.c - differential test of walk_run()'s permissions and
 * #PF error codes against the Linux kernel's, with guest code that
 * faults.
 *
 * KVM_TRANSLATE (test_kvm_translate.c) walks as a supervisor read and
 * says only valid-or-not and where. Here a KVM guest performs the
 * accesses: random tables (kvmpt.c) below 16 MiB, and a harness mapped
 * by PML4 slot 511 that the random tables never use. A loop at CPL0 or
 * CPL3 takes a batch of (gva, kind) from memory and, for each, reads a
 * byte, writes one, or calls the gva (an instruction fetch: every data
 * frame holds `ret`). A #PF goes to a CPL0 handler that hands the error
 * code and CR2 back to the loop, which stores them and goes on. memvirt
 * then walks the same gvas, in the same order, with the same access, on
 * its own copy of the initial memory, and the two must agree on every
 * access: fault or not, error code (P, W, U, RSVD, I/D) and CR2. At the
 * end the tables must hold the same A and D bits on both sides.
 *
 * Who answers on KVM's side: a CPL3 access runs on KVM's shadow page
 * tables, and a fault exits to KVM, whose software walker
 * (paging_tmpl.h FNAME(walk_addr_generic), permission_fault()) decides
 * and sets A/D; CPL0 code is instruction-emulated on this machine, so a
 * CPL0 access goes through the emulator's gva_to_gpa with the same
 * walker. Either way it is the kernel's walker, with its error code.
 *
 * Writes and fetches only go where they cannot change the experiment: a
 * side-effect-free walk of memvirt's copy says where a gva lands, and a
 * write or fetch that would reach a table, the harness, or MMIO (fetch)
 * is made a read. A walk that faults faults on any access, so faulting
 * gvas keep their kind. If that walk were wrong, KVM would fetch a
 * table's bytes and take #UD or #GP, which fails the test as well.
 *
 * Skips, with the reason, where /dev/kvm cannot be opened or used.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvmpt.h"

#define ACCESSES_PER_CFG 200000u	/* 5 configurations: 1M accesses */
#define BATCH		4096u		/* accesses per KVM_RUN */
#define ULL(x)		((unsigned long long)(x))

/* Guest memory: tables, harness, data frames full of `ret`. */
#define HARN_GPA	KVMPT_TABLE_POOL
#define HARN_SIZE	(1 * MiB)
#define DATA_GPA	(HARN_GPA + HARN_SIZE)
#define HV		UINT64_C(0xffffff8000000000)	/* PML4 slot 511 */
#define HARN_SLOT	511u

/* The harness, as offsets from HV (linear) and HARN_GPA (physical). */
#define H_GDT		0x0000u
#define H_IDT		0x1000u
#define H_STUBS		0x2000u
#define H_PF		0x2400u
#define H_TSS		0x3000u
#define H_KSTACK	0x4000u		/* .. 0x8000 */
#define H_KCODE		0x8000u
#define H_UCODE		0x9000u
#define H_USTACK	0xa000u		/* .. 0xc000 */
#define H_KTESTS	0x10000u
#define H_KRES		0x20000u
#define H_UTESTS	0x30000u
#define H_URES		0x40000u
#define H_MAPPED	0x50000u	/* mapped below this */
#define H_PDPT		0xf0000u	/* the harness's own tables */
#define H_PD		0xf1000u
#define H_PT		0xf2000u

#define PORT_DONE	0x10
#define PORT_EXC	0xf1

#define RFLAGS_IOPL3	0x3000ull

#define NO_FAULT	UINT64_MAX	/* the loop's rax when nothing faulted */

enum kind { K_READ, K_WRITE, K_FETCH, K_NR };
static const char *const kind_name[K_NR] = { "read", "write", "fetch" };

extern const uint8_t kva_loop[], kva_loop_end[], kva_pf[], kva_pf_end[];

/*
 * The loop: rsi = tests (gva, kind), rdi = results (rax, rdx), rcx =
 * count. rax is NO_FAULT, or the error code the #PF handler popped;
 * rdx is CR2 after a fault. r15 is where the handler resumes, r14 the
 * stack to resume on (a faulting `call` has pushed its return address).
 */
__asm__(
	".pushsection .rodata.kva,\"a\"\n"
	".code64\n"
	"kva_loop:\n"
	"	mov %rsp,%r14\n"
	"1:	mov (%rsi),%rbx\n"
	"	mov 8(%rsi),%r8\n"
	"	mov $-1,%rax\n"
	"	xor %edx,%edx\n"
	"	lea 2f(%rip),%r15\n"
	"	cmp $1,%r8\n	je 3f\n"
	"	cmp $2,%r8\n	je 4f\n"
	"	movb (%rbx),%dl\n	jmp 2f\n"
	"3:	movb $0xc3,(%rbx)\n	jmp 2f\n"
	"4:	call *%rbx\n"
	"2:	mov %r14,%rsp\n"
	"	mov %rax,(%rdi)\n"
	"	mov %rdx,8(%rdi)\n"
	"	add $16,%rsi\n"
	"	add $16,%rdi\n"
	"	dec %rcx\n"
	"	jnz 1b\n"
	"	out %al,$0x10\n"
	"	jmp .\n"
	"kva_loop_end:\n"
	"kva_pf:\n"
	"	pop %rax\n"
	"	mov %cr2,%rdx\n"
	"	mov %r15,(%rsp)\n"
	"	iretq\n"
	"kva_pf_end:\n"
	".popsection\n");

struct test {
	uint64_t	gva;
	uint64_t	kind;
};

struct result {
	uint64_t	ec;		/* NO_FAULT or the error code */
	uint64_t	cr2;
};

/* What one access did, for explaining an A/D difference. */
struct trail {
	uint64_t	gva, leaf_pa, kvm_ec;
	uint8_t		kind, user, level;
};

struct tally {
	unsigned	compared, mismatches;
	unsigned	mism[2];		/* mismatches by CPL == 3 */
	unsigned	nomem[2];		/* KVM's rule for tables outside RAM */
	unsigned	pvm_fetch;		/* PVM's I/D bit, see pvm_fetch_rule */
	unsigned	demoted;		/* writes/fetches made reads */
	/* [cpl == 3][kind]: accesses that succeeded, and faults by kind */
	unsigned	ok[2][K_NR], absent[2][K_NR], prot[2][K_NR], rsvd[2][K_NR];
	unsigned	ec_seen[32];		/* error codes, bits 0..4 */
	unsigned	leaf[4];		/* successful accesses by leaf level */
	unsigned	ad_words;		/* table words whose A/D bits differ */
};

/* ---- the harness ------------------------------------------------------------ */

static uint64_t *q(struct kvmpt_vm *vm, uint64_t gpa)
{
	return (uint64_t *)(void *)(vm->mem + gpa);
}

static uint64_t gate(uint64_t h)
{
	return (h & 0xffff) | (UINT64_C(0x08) << 16) | (UINT64_C(0x8e) << 40) |
	       (((h >> 16) & 0xffff) << 48);
}

/* Map harness page off with these leaf flags. */
static void hmap(struct kvmpt_vm *vm, uint64_t off, uint64_t flags)
{
	q(vm, HARN_GPA + H_PT)[off / PAGE_SIZE] = (HARN_GPA + off) | PTE_P | PTE_A | flags;
}

/* The harness: tables under PML4 slot 511, GDT, TSS, IDT, handlers, loops. */
static void build_harness(struct kvmpt_vm *vm, uint64_t root)
{
	const uint64_t up = PTE_P | PTE_W | PTE_U | PTE_A;
	uint64_t tss = HV + H_TSS, off;
	unsigned i;

	memset(vm->mem + HARN_GPA, 0, HARN_SIZE);
	q(vm, root)[HARN_SLOT] = (HARN_GPA + H_PDPT) | up;
	q(vm, HARN_GPA + H_PDPT)[0] = (HARN_GPA + H_PD) | up;
	q(vm, HARN_GPA + H_PD)[0] = (HARN_GPA + H_PT) | up;
	for (off = 0; off < H_MAPPED; off += PAGE_SIZE) {
		bool user = off == H_UCODE || (off >= H_USTACK && off < H_USTACK + 0x2000) ||
			    (off >= H_UTESTS && off < H_MAPPED);

		hmap(vm, off, PTE_W | PTE_D | (user ? PTE_U : 0));
	}

	q(vm, HARN_GPA + H_GDT)[1] = UINT64_C(0x00af9a000000ffff);	/* 0x08 kernel code64 */
	q(vm, HARN_GPA + H_GDT)[2] = UINT64_C(0x00cf92000000ffff);	/* 0x10 kernel data */
	q(vm, HARN_GPA + H_GDT)[3] = UINT64_C(0x0000890000000067) |	/* 0x18 TSS */
		((tss & 0xffffff) << 16) | (((tss >> 24) & 0xff) << 56);
	q(vm, HARN_GPA + H_GDT)[4] = tss >> 32;
	q(vm, HARN_GPA + H_GDT)[5] = UINT64_C(0x00cff2000000ffff);	/* 0x28 user data */
	q(vm, HARN_GPA + H_GDT)[6] = UINT64_C(0x00affa000000ffff);	/* 0x30 user code64 */
	memcpy(vm->mem + HARN_GPA + H_TSS + 4, &(uint64_t){ HV + H_KSTACK + 0x4000 }, 8);

	for (i = 0; i < 32; i++) {
		uint8_t *st = vm->mem + HARN_GPA + H_STUBS + 8 * i;
		uint64_t h = HV + (i == 14 ? H_PF : H_STUBS + 8 * i);

		/* mov $i,%al; out %al,$0xf1; hlt; jmp . */
		st[0] = 0xb0; st[1] = (uint8_t)i; st[2] = 0xe6; st[3] = PORT_EXC;
		st[4] = 0xf4; st[5] = 0xeb; st[6] = 0xfe;
		q(vm, HARN_GPA + H_IDT)[2 * i] = gate(h);
		q(vm, HARN_GPA + H_IDT)[2 * i + 1] = h >> 32;
	}
	memcpy(vm->mem + HARN_GPA + H_PF, kva_pf, (size_t)(kva_pf_end - kva_pf));
	memcpy(vm->mem + HARN_GPA + H_KCODE, kva_loop, (size_t)(kva_loop_end - kva_loop));
	memcpy(vm->mem + HARN_GPA + H_UCODE, kva_loop, (size_t)(kva_loop_end - kva_loop));
}

static void set_cpu(struct kvmpt_vm *vm, const struct kvmpt_cfg *c,
		    const struct kvmpt_caps *caps, uint64_t cr3, bool user,
		    unsigned n)
{
	struct kvm_sregs s;
	struct kvm_regs r = { 0 };
	uint8_t dpl = user ? 3 : 0;
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = user ? 0x33 : 0x08,
		.type = 11, .present = 1, .dpl = dpl, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = user ? 0x2b : 0x10,
		.type = 3, .present = 1, .dpl = dpl, .db = 1, .s = 1, .g = 1,
	};

	cr_assert_eq(ioctl(vm->vcpu, KVM_GET_SREGS, &s), 0, "KVM_GET_SREGS: %s",
		     strerror(errno));
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.tr = (struct kvm_segment){ .base = HV + H_TSS, .limit = 0x67, .selector = 0x18,
				     .type = 11, .present = 1 };
	s.gdt.base = HV + H_GDT;
	s.gdt.limit = 7 * 8 - 1;
	s.idt.base = HV + H_IDT;
	s.idt.limit = 32 * 16 - 1;
	s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_PG | (c->wp ? CR0_WP : 0);
	s.cr4 = CR4_PAE | (caps->smep ? CR4_SMEP : 0) | (caps->smap ? CR4_SMAP : 0);
	s.efer = EFER_LME | EFER_LMA | (c->nxe ? EFER_NXE : 0);
	s.cr3 = cr3;
	cr_assert_eq(ioctl(vm->vcpu, KVM_SET_SREGS, &s), 0, "KVM_SET_SREGS: %s",
		     strerror(errno));
	r.rip = HV + (user ? H_UCODE : H_KCODE);
	r.rsp = HV + (user ? H_USTACK + 0x2000 : H_KSTACK + 0x4000);
	r.rsi = HV + (user ? H_UTESTS : H_KTESTS);
	r.rdi = HV + (user ? H_URES : H_KRES);
	r.rcx = n;
	r.rflags = 0x2 | RFLAGS_IOPL3 | (c->ac ? RFLAGS_AC : 0);
	cr_assert_eq(ioctl(vm->vcpu, KVM_SET_REGS, &r), 0, "KVM_SET_REGS: %s",
		     strerror(errno));
}

/* Run the batch to the loop's OUT; reads of MMIO give all ones. */
static void run_batch(struct kvmpt_vm *vm, const char *name, bool user)
{
	struct kvm_run *run = vm->run;

	for (;;) {
		cr_assert_eq(ioctl(vm->vcpu, KVM_RUN, 0), 0, "KVM_RUN: %s", strerror(errno));
		if (run->exit_reason == KVM_EXIT_MMIO) {
			if (!run->mmio.is_write)
				memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
			continue;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == PORT_DONE)
			return;
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == PORT_EXC) {
			struct kvm_regs r;
			uint64_t tests = HV + (user ? H_UTESTS : H_KTESTS);

			(void)ioctl(vm->vcpu, KVM_GET_REGS, &r);
			cr_assert_fail("%s: CPL%u loop took exception %u at access %llu "
				       "(gva %#llx, kind %llu)", name, user ? 3 : 0,
				       *((uint8_t *)run + run->io.data_offset),
				       ULL((r.rsi - tests) / 16), ULL(r.rbx), ULL(r.r8));
		}
		cr_assert_fail("%s: unexpected KVM exit %u", name, run->exit_reason);
	}
}

/* ---- the comparison ------------------------------------------------------- */

/* A gva to test: never in the harness's PML4 slot. */
static uint64_t test_gva(struct kvmpt_vm *vm)
{
	for (;;) {
		uint64_t va = kvmpt_rnd_gva(vm);

		if (((va >> 39) & 511) != HARN_SLOT)
			return va;
	}
}

/* A write or fetch that could change the experiment becomes a read. */
static enum kind safe_kind(const struct walk_mode *mode, uint8_t *mm, uint64_t cr3,
			   uint64_t gva, enum kind k)
{
	struct walk_mem peek = { .read = kvmpt_mem_read, .set = kvmpt_mem_noset, .ctx = mm };
	struct walk_req r = {
		.fmt = WALK_FMT_X86_64, .addr = gva, .root = cr3, .access = ACC_READ,
		.mode = mode, .mem = &peek,
	};

	if (k == K_READ || walk_run(&r) != WALK_OK)
		return k;
	if (r.pa >= DATA_GPA && r.pa < KVMPT_SLOT_SIZE)
		return k;
	if (r.pa >= KVMPT_SLOT_SIZE && k == K_WRITE)	/* MMIO: the write is dropped */
		return k;
	return K_READ;
}

/* Reads of a table outside RAM as KVM's walker takes them: not present. */
static int read_kvm_nomem(void *ctx, uint64_t pa, unsigned level, uint64_t *val)
{
	int rc = kvmpt_mem_read(ctx, pa, level, val);

	if (rc == WALK_MEM_NONE) {
		*val = 0;
		rc = WALK_MEM_OK;
	}
	return rc;
}

/*
 * Is this difference KVM's rule for a table outside guest RAM? The
 * hardware reads all ones there (master abort), so the entry has reserved
 * bits and the fault has P and RSVD, which is what memvirt does. KVM's
 * walker finds no memslot for the table (kvm_vcpu_gfn_to_hva_prot gives
 * an error hva, FNAME(walk_addr_generic) goes to `error` with no P) and
 * reports not present. True only if memvirt's walk did read such a table,
 * and the same walk, with such reads made not-present, gives exactly
 * KVM's error code.
 */
static bool nomem_rule(const struct walk_req *r, uint64_t kvm_ec)
{
	struct walk_mem zero = { .read = read_kvm_nomem, .set = kvmpt_mem_noset,
				 .ctx = r->mem->ctx };
	struct walk_req k = *r;
	unsigned l;
	bool outside = false;

	for (l = 1; l <= 4; l++)
		outside |= r->table[l] >= KVMPT_SLOT_SIZE;
	if (!outside || !(r->error_code & PFERR_RSVD))
		return false;
	k.mem = &zero;
	k.start_level = 0;
	return walk_run(&k) == WALK_FAULT && k.error_code == kvm_ec;
}

/*
 * This machine's KVM is PVM (kvm_pvm), which keeps PML4 slots from 256 on
 * (PVM_GUEST_MAPPING_START, -1 << 47, and DEFAULT_RANGE_L4_SIZE = 32
 * slots) for the guest's own kernel mapping. A CPL3 fetch there that
 * faults comes back with I/D set even when the guest has neither NXE nor
 * SMEP, where the SDM (and FNAME(walk_addr_generic)) leave I/D clear: it
 * looks like the host's hardware error code passed through. Seen only as
 * exactly that difference; memvirt follows the SDM.
 */
static bool pvm_fetch_rule(const struct walk_mode *mode, bool user, const struct test *t,
			   uint32_t mv_ec, uint64_t kvm_ec)
{
	unsigned slot = (unsigned)(t->gva >> 39) & 511;

	return user && t->kind == K_FETCH && !mode->efer_nxe && !mode->cr4_smep &&
	       slot >= 256 && slot < 256 + 32 && kvm_ec == (mv_ec | PFERR_I);
}

static void compare(const struct kvmpt_cfg *c, const struct walk_mode *mode,
		    uint8_t *mm, uint64_t cr3, bool user, const struct test *t,
		    const struct result *res, struct tally *ty, struct trail *tr)
{
	static const unsigned acc[K_NR] = { ACC_READ, ACC_WRITE, ACC_FETCH };
	struct walk_mem wm = { .read = kvmpt_mem_read, .set = kvmpt_mem_set, .ctx = mm };
	struct walk_req r = {
		.fmt = WALK_FMT_X86_64, .addr = t->gva, .root = cr3,
		.access = acc[t->kind] | (user ? ACC_USER : 0), .mode = mode, .mem = &wm,
	};
	enum walk_result wr = walk_run(&r);
	bool kvm_fault = res->ec != NO_FAULT, mv_fault = wr == WALK_FAULT;
	unsigned u = user;

	cr_assert(wr == WALK_OK || wr == WALK_FAULT, "walk_run() gave %d", wr);
	*tr = (struct trail){
		.gva = t->gva, .kvm_ec = res->ec, .kind = (uint8_t)t->kind,
		.user = user, .level = (uint8_t)r.level,
		.leaf_pa = r.table[r.level] + 8 * ((t->gva >> LEVEL_SHIFT(r.level)) & 511),
	};
	ty->compared++;
	if (!mv_fault) {
		ty->ok[u][t->kind]++;
		ty->leaf[r.level]++;
	} else if (r.error_code & PFERR_RSVD) {
		ty->rsvd[u][t->kind]++;
	} else if (r.error_code & PFERR_P) {
		ty->prot[u][t->kind]++;
	} else {
		ty->absent[u][t->kind]++;
	}
	if (mv_fault)
		ty->ec_seen[r.error_code & 31]++;
	if (kvm_fault == mv_fault &&
	    (!kvm_fault || (res->ec == r.error_code && res->cr2 == t->gva)))
		return;
	if (kvm_fault && mv_fault && res->cr2 == t->gva && nomem_rule(&r, res->ec)) {
		ty->nomem[u]++;
		return;
	}
	if (kvm_fault && mv_fault && res->cr2 == t->gva &&
	    pvm_fetch_rule(mode, user, t, r.error_code, res->ec)) {
		ty->pvm_fetch++;
		return;
	}
	ty->mism[u]++;
	if (ty->mismatches++ < 10)
		cr_log_error("%s: CPL%u %s gva %#llx: kvm %s ec %#llx cr2 %#llx; memvirt %s "
			     "ec %#x level %u entries %llx %llx %llx %llx",
			     c->name, user ? 3 : 0, kind_name[t->kind], ULL(t->gva),
			     kvm_fault ? "#PF" : "ok", ULL(kvm_fault ? res->ec : 0),
			     ULL(res->cr2), mv_fault ? "#PF" : "ok", r.error_code, r.level,
			     ULL(r.entry[4]), ULL(r.entry[3]), ULL(r.entry[2]),
			     ULL(r.entry[1]));
}

/* Words outside the harness whose bits differ (A/D set on one side only). */
static unsigned diff_words(const struct kvmpt_vm *vm, const uint8_t *mm, const char *name,
			   const struct trail *trail, unsigned ntrail)
{
	unsigned n = 0, i;
	uint64_t pa;

	for (pa = 0; pa < KVMPT_SLOT_SIZE; pa += 8) {
		uint64_t a, b;

		if (pa == HARN_GPA)
			pa = DATA_GPA;
		memcpy(&a, vm->mem + pa, 8);
		memcpy(&b, mm + pa, 8);
		if (a == b)
			continue;
		if (n++ >= 10)
			continue;
		cr_log_error("%s: gpa %#llx: kvm %#llx, memvirt %#llx; the accesses whose "
			     "leaf it is:", name, ULL(pa), ULL(a), ULL(b));
		for (i = 0; i < ntrail; i++)
			if (trail[i].leaf_pa == pa)
				cr_log_error("  #%u CPL%u %s gva %#llx level %u kvm ec %#llx", i,
					     trail[i].user ? 3 : 0, kind_name[trail[i].kind],
					     ULL(trail[i].gva), trail[i].level,
					     ULL(trail[i].kvm_ec));
	}
	return n;
}

static void run_cfg(const struct kvmpt_cfg *c, struct tally *total)
{
	static struct kvmpt_vm vm;		/* large: keep it off the stack */
	static struct test tests[BATCH];
	static struct trail trail[ACCESSES_PER_CFG];
	struct tally ty = { 0 };
	struct kvmpt_caps caps;
	struct walk_mode mode;
	uint64_t root, cr3;
	unsigned b, i, u, k;
	const char *why;
	uint8_t *mm;
	int rc;

	memset(&vm, 0, sizeof(vm));
	why = kvmpt_open(&vm);
	if (why) {
		kvmpt_close(&vm);
		cr_skip_test("%s (%s): KVM access differential test not run", why,
			     strerror(errno));
	}
	rc = kvmpt_set_cpuid(&vm, c, &caps);
	cr_assert_eq(rc, 0, "KVM_SET_CPUID2: %s", strerror(-rc));

	/* Every host page present, and every data frame a `ret`. */
	memset(vm.mem, 0, DATA_GPA);
	memset(vm.mem + DATA_GPA, 0xc3, KVMPT_SLOT_SIZE - DATA_GPA);
	vm.rng = c->seed;
	vm.next_table = PAGE_SIZE;
	vm.rights_bias = true;
	vm.mode = (struct walk_mode){
		.levels = 4, .maxphyaddr = caps.maxphy, .cr0_wp = c->wp,
		.efer_nxe = c->nxe, .cr4_smep = caps.smep, .cr4_smap = caps.smap,
		.rflags_ac = c->ac, .gbpages = caps.gbpages,
	};
	mode = vm.mode;
	root = kvmpt_gen_table(&vm, 4, 0);
	cr_assert_neq(root, 0);
	build_harness(&vm, root);
	cr3 = root;
	mm = malloc(KVMPT_SLOT_SIZE);
	cr_assert_not_null(mm);
	memcpy(mm, vm.mem, KVMPT_SLOT_SIZE);

	for (b = 0; b * BATCH < ACCESSES_PER_CFG; b++) {
		bool user = b & 1;
		unsigned n = ACCESSES_PER_CFG - b * BATCH < BATCH ? ACCESSES_PER_CFG - b * BATCH
								   : BATCH;
		const struct result *res = (const void *)(vm.mem + HARN_GPA +
							  (user ? H_URES : H_KRES));

		for (i = 0; i < n; i++) {
			enum kind want = (enum kind)kvmpt_rnd_below(&vm, K_NR);

			tests[i].gva = test_gva(&vm);
			tests[i].kind = safe_kind(&mode, mm, cr3, tests[i].gva, want);
			ty.demoted += tests[i].kind != want;
		}
		memcpy(vm.mem + HARN_GPA + (user ? H_UTESTS : H_KTESTS), tests,
		       n * sizeof(tests[0]));
		set_cpu(&vm, c, &caps, cr3, user, n);
		run_batch(&vm, c->name, user);
		for (i = 0; i < n; i++)
			compare(c, &mode, mm, cr3, user, &tests[i], &res[i], &ty,
				&trail[ty.compared]);
	}
	ty.ad_words = diff_words(&vm, mm, c->name, trail, ty.compared);
	free(mm);
	kvmpt_close(&vm);

	cr_log_info("%s: maxphyaddr %u, 1G pages %s, SMEP %s, SMAP %s, AC %u, %u tables, "
		    "%u accesses compared (%u writes/fetches made reads), %u mismatches "
		    "(CPL0 %u, CPL3 %u), %u table words with different A/D; tables outside "
		    "RAM taken as not present by KVM: CPL0 %u, CPL3 %u; PVM's I/D on CPL3 "
		    "fetches: %u", c->name, caps.maxphy,
		    caps.gbpages ? "on" : c->gbpages ? "not offered by KVM" : "off",
		    caps.smep ? "on" : c->smep ? "not offered by KVM" : "off",
		    caps.smap ? "on" : c->smap ? "not offered by KVM" : "off", c->ac,
		    vm.ntables, ty.compared, ty.demoted, ty.mismatches, ty.mism[0], ty.mism[1],
		    ty.ad_words, ty.nomem[0], ty.nomem[1], ty.pvm_fetch);
	for (u = 0; u < 2; u++)
		for (k = 0; k < K_NR; k++)
			cr_log_info("%s: CPL%u %-5s ok %6u  not present %6u  protection %6u  "
				    "reserved %6u", c->name, u ? 3 : 0, kind_name[k], ty.ok[u][k],
				    ty.absent[u][k], ty.prot[u][k], ty.rsvd[u][k]);
	cr_log_info("%s: ok at 4K %u, 2M %u, 1G %u", c->name, ty.leaf[1], ty.leaf[2],
		    ty.leaf[3]);

	/* Every kind at every CPL must both succeed and fault, or it proves little. */
	for (u = 0; u < 2; u++)
		for (k = 0; k < K_NR; k++)
			cr_expect(ty.ok[u][k] > 100 && ty.absent[u][k] > 100 &&
				  ty.rsvd[u][k] > 100,
				  "%s: CPL%u %s: an outcome is (nearly) never exercised",
				  c->name, u ? 3 : 0, kind_name[k]);
	cr_expect(ty.prot[1][K_READ] > 100 && ty.prot[1][K_WRITE] > 100 &&
		  ty.prot[1][K_FETCH] > 100,
		  "%s: too few user protection faults", c->name);
	cr_expect(!c->wp || ty.prot[0][K_WRITE] > 100,
		  "%s: too few supervisor write-protection faults", c->name);
	cr_expect(!(caps.smep || c->nxe) || ty.prot[0][K_FETCH] > 100,
		  "%s: too few supervisor fetch faults", c->name);
	cr_expect(!caps.smap || c->ac || ty.prot[0][K_READ] > 100,
		  "%s: too few SMAP faults", c->name);
	cr_expect(ty.leaf[1] && ty.leaf[2] && (ty.leaf[3] || !caps.gbpages),
		  "%s: some leaf size never used", c->name);
	for (i = 0; i < 32; i++)
		total->ec_seen[i] += ty.ec_seen[i];
	total->compared += ty.compared;
	total->mismatches += ty.mismatches;
	total->ad_words += ty.ad_words;
	total->nomem[0] += ty.nomem[0];
	total->nomem[1] += ty.nomem[1];
	total->pvm_fetch += ty.pvm_fetch;
}

Test(walker_kvm_access, permissions_and_error_codes_match_kernel, .timeout = 600)
{
	static const struct kvmpt_cfg cfgs[] = {
		{ .name = "nxe, wp, smep, smap", .nxe = true, .wp = true, .gbpages = true,
		  .smep = true, .smap = true, .seed = 11 },
		{ .name = "no-nxe, wp", .wp = true, .seed = 12 },
		{ .name = "nxe, no-wp, smap+ac, maxphyaddr 39", .nxe = true, .smap = true,
		  .ac = true, .maxphyaddr = 39, .seed = 13 },
		{ .name = "no-nxe, no-wp, smep, maxphyaddr 36", .gbpages = true, .smep = true,
		  .maxphyaddr = 36, .seed = 14 },
		{ .name = "nxe, wp, smep, smap+ac, maxphyaddr 52", .nxe = true, .wp = true,
		  .gbpages = true, .smep = true, .smap = true, .ac = true,
		  .maxphyaddr = 52, .seed = 15 },
	};
	struct tally total = { 0 };
	unsigned i, kinds = 0;

	for (i = 0; i < ARRAY_SIZE(cfgs); i++)
		run_cfg(&cfgs[i], &total);
	for (i = 0; i < 32; i++)
		kinds += total.ec_seen[i] != 0;
	fprintf(stderr, "walker_kvm_access: %u accesses compared against KVM, %u distinct "
		"error codes, %u mismatches, %u table words with different A/D; KVM's "
		"deliberate differences: a table outside RAM is not present (%u), PVM's "
		"I/D bit (%u)\n", total.compared, kinds, total.mismatches, total.ad_words,
		total.nomem[0] + total.nomem[1], total.pvm_fetch);
	cr_assert_geq(total.compared, 1000000u);
	cr_assert_eq(total.mismatches, 0, "%u of %u accesses differ from KVM",
		     total.mismatches, total.compared);
	cr_assert_eq(total.ad_words, 0, "%u table words differ in A/D from KVM's",
		     total.ad_words);
}
