/*
 * test_nested.c - nested VMX as a mechanism: the exits of one L2 CPUID
 * follow from the personality's field lists and the shadow bitmaps;
 * shadowed VMWRITEs do not exit, unshadowed ones exit once and make the
 * next entry prepare vmcs02 in full; without VMCS shadowing every
 * VMREAD/VMWRITE exits; the MSR bitmaps decide which RDMSRs exit and
 * which level handles them.
 */
#include <asm/vmx.h>
#include <criterion/criterion.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "ept.h"
#include "nested.h"
#include "vmm.h"

struct nvm {
	struct profile	prof;
	struct vm	vm;
	jmp_buf		jb;
};

/* A VM on the broadwell profile under EPT, its guest made an L1 running
 * personality `pers`, now at L2. */
static struct nvm *up(const char *pers, bool shadowing)
{
	struct nvm *v = calloc(1, sizeof(*v));
	struct vm_config cfg = { 0 };
	char err[512];

	cr_assert_not_null(v);
	cr_assert_eq(profile_find(&v->prof, "broadwell", err, sizeof(err)), 0, "%s", err);
	cfg.ops = &ept_mmu_ops;
	cfg.prof = &v->prof;
	cfg.guest_mem = 32 * MiB;
	cfg.vmm_mem = 16 * MiB;
	cfg.guest_level = LEVEL_4K;
	cfg.host_level = LEVEL_4K;
	cfg.numa_node = -1;
	cr_assert_eq(vm_create(&v->vm, &cfg, err, sizeof(err)), 0, "%s", err);
	v->vm.cpu.stop_jmp = &v->jb;
	if (setjmp(v->jb))
		cr_assert_fail("VM stopped: %s", v->vm.cpu.stop_msg);
	if (!pers)
		return v;	/* one level: the guest is L1 */
	cr_assert_not_null(l1hv_personality_find(pers));
	cr_assert_eq(nested_start(&v->vm.cpu, l1hv_personality_find(pers), shadowing, err,
				  sizeof(err)), 0, "%s", err);
	return v;
}

static void down(struct nvm *v)
{
	vm_destroy(&v->vm);
	free(v);
}

static uint64_t total(const struct vcpu_stats *s)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < VMM_NR_EXIT_REASONS; i++)
		n += s->exits[i];
	return n;
}

static bool exits_on_read(const struct nested *n, uint16_t f)
{
	unsigned i = VMCS_FIELD_INDEX(f);

	return !n->shadowing || ((n->vmread_bitmap[i >> 3] >> (i & 7)) & 1);
}

static bool exits_on_write(const struct nested *n, uint16_t f)
{
	unsigned i = VMCS_FIELD_INDEX(f);

	return !n->shadowing || ((n->vmwrite_bitmap[i >> 3] >> (i & 7)) & 1);
}

/*
 * The exits one reflected exit of `reason` must take, from the data: the
 * reflected exit, each VMREAD/VMWRITE of the L1 paths whose bitmap bit
 * is set, L1's DEBUGCTL RDMSR (L0 intercepts it) and XSETBV, VMRESUME.
 */
static unsigned expected_exits(const struct nested *n, unsigned reason, unsigned *reads,
			       unsigned *writes)
{
	const struct l1_personality *p = n->pers;
	const struct l1_handler *h;
	unsigned i;

	*reads = *writes = 0;
	for (i = 0; i < L1_MAX_FIELDS && p->exit_reads[i]; i++)
		*reads += exits_on_read(n, p->exit_reads[i]);
	for (i = 0; i < L1_MAX_FIELDS && p->entry_writes[i]; i++)
		*writes += exits_on_write(n, p->entry_writes[i]);
	for (h = p->handlers; h->reason && h->reason != reason; h++)
		;
	cr_assert_eq(h->reason, reason, "the personality handles the reason");
	for (i = 0; i < L1_MAX_FIELDS && h->reads[i]; i++)
		*reads += exits_on_read(n, h->reads[i]);
	for (i = 0; i < L1_MAX_FIELDS && h->writes[i]; i++)
		*writes += exits_on_write(n, h->writes[i]);
	return 1 + *reads + *writes + !p->l1_debugctl_cached + p->l1_xsetbv + 1;
}

Test(nested, l2_cpuid_on_kvm_413_takes_seven_exits)
{
	struct nvm *v = up("kvm-4.13", true);
	struct vcpu *cpu = &v->vm.cpu;
	struct vcpu_stats before = cpu->st;
	unsigned reads, writes, want = expected_exits(cpu->nest, EXIT_REASON_CPUID, &reads,
						      &writes);
	uint32_t r[4];

	vcpu_cpuid(cpu, 0, 0, r);
	cr_assert_eq(want, 7, "the data predicts %u exits", want);
	cr_assert_eq(total(&cpu->st) - total(&before), want);
	cr_assert_eq(cpu->st.exits[EXIT_REASON_CPUID] - before.exits[EXIT_REASON_CPUID], 1);
	cr_assert_eq(cpu->st.exits[EXIT_REASON_VMREAD] - before.exits[EXIT_REASON_VMREAD], reads);
	cr_assert_eq(reads, 2);
	cr_assert_eq(cpu->st.exits[EXIT_REASON_VMWRITE] - before.exits[EXIT_REASON_VMWRITE],
		     writes);
	cr_assert_eq(writes, 1);
	cr_assert_eq(cpu->st.exits[EXIT_REASON_XSETBV] - before.exits[EXIT_REASON_XSETBV], 1);
	cr_assert_eq(cpu->st.exits[EXIT_REASON_MSR_READ] - before.exits[EXIT_REASON_MSR_READ], 1);
	cr_assert_eq(cpu->st.exits[EXIT_REASON_VMRESUME] - before.exits[EXIT_REASON_VMRESUME], 1);
	cr_assert_eq(cpu->st.reflected[EXIT_REASON_CPUID] - before.reflected[EXIT_REASON_CPUID], 1);
	cr_assert_eq(cpu->st.level_exits[1][EXIT_REASON_CPUID] -
		     before.level_exits[1][EXIT_REASON_CPUID], 1);
	cr_assert_eq(cpu->nest->level, 2);
	/* L1 emulated CPUID.0 for L2, as L0 would: GenuineIntel */
	cr_assert_eq(r[1], 0x756e6547);
	down(v);
}

Test(nested, l2_cpuid_on_kvm_takes_three_exits)
{
	struct nvm *v = up("kvm", true);
	struct vcpu *cpu = &v->vm.cpu;
	struct vcpu_stats before = cpu->st;
	unsigned reads, writes, want = expected_exits(cpu->nest, EXIT_REASON_CPUID, &reads,
						      &writes);
	uint32_t r[4];

	vcpu_cpuid(cpu, 0, 0, r);
	cr_assert_eq(want, 3);
	cr_assert_eq(reads + writes, 0);
	cr_assert_eq(total(&cpu->st) - total(&before), want);
	cr_assert_eq(cpu->st.exits[EXIT_REASON_MSR_READ] - before.exits[EXIT_REASON_MSR_READ], 0);
	down(v);
}

Test(nested, cpuid_skips_l2_rip_through_vmcs12)
{
	struct nvm *v = up("kvm-4.13", true);
	struct vcpu *cpu = &v->vm.cpu;
	uint64_t rip = cpu->nest->vmcs02_rip;
	uint32_t r[4];

	vcpu_cpuid(cpu, 0, 0, r);
	vcpu_cpuid(cpu, 0, 0, r);
	cr_assert_eq(cpu->nest->vmcs02_rip, rip + 4, "two 2-byte CPUIDs skipped");
	down(v);
}

Test(nested, shadowed_vmwrite_causes_no_exit)
{
	struct nvm *v = up("kvm", true);
	struct vcpu *cpu = &v->vm.cpu;
	uint64_t exits, hits, full;

	cpu->nest->level = 1;	/* as if L2 had exited to L1 */
	exits = total(&cpu->st);
	hits = cpu->st.vmcs_shadow_hits;
	nested_vmwrite(cpu, GUEST_RIP, 0x1234);
	cr_assert_eq(total(&cpu->st), exits);
	cr_assert_eq(cpu->st.vmcs_shadow_hits, hits + 1);
	cr_assert_eq(cpu->nest->shadow[VMCS_FIELD_INDEX(GUEST_RIP)], 0x1234);
	full = cpu->st.prepare_full;
	nested_vmresume(cpu);
	cr_assert_eq(cpu->st.prepare_full, full, "a shadowed write keeps vmcs12 clean");
	cr_assert_eq(cpu->nest->vmcs12[VMCS_FIELD_INDEX(GUEST_RIP)], 0x1234,
		     "VMRESUME copies the shadow VMCS back into vmcs12");
	down(v);
}

Test(nested, unshadowed_vmwrite_exits_once_and_forces_full_prepare)
{
	struct nvm *v = up("kvm", true);
	struct vcpu *cpu = &v->vm.cpu;
	uint64_t exits, vmwrites, full;

	cpu->nest->level = 1;
	exits = total(&cpu->st);
	vmwrites = cpu->st.exits[EXIT_REASON_VMWRITE];
	nested_vmwrite(cpu, EPT_POINTER, 0x3000 | 0x1e);
	cr_assert_eq(total(&cpu->st), exits + 1);
	cr_assert_eq(cpu->st.exits[EXIT_REASON_VMWRITE], vmwrites + 1);
	cr_assert(cpu->nest->dirty);
	full = cpu->st.prepare_full;
	nested_vmresume(cpu);
	cr_assert_eq(cpu->st.prepare_full, full + 1, "the next entry prepares in full");
	cr_assert_not(cpu->nest->dirty);
	cpu->nest->level = 1;
	nested_vmresume(cpu);
	cr_assert_eq(cpu->st.prepare_full, full + 1, "and the one after it does not");
	down(v);
}

Test(nested, shadowing_off_every_vmread_and_vmwrite_exits)
{
	struct nvm *v = up("kvm", false);
	struct vcpu *cpu = &v->vm.cpu;
	const uint16_t *f;
	uint64_t reads = cpu->st.exits[EXIT_REASON_VMREAD];
	uint64_t writes = cpu->st.exits[EXIT_REASON_VMWRITE];
	uint64_t hits = cpu->st.vmcs_shadow_hits;
	unsigned n = 0;

	cpu->nest->level = 1;
	for (f = cpu->nest->pers->shadow_rw; *f; f++, n++) {
		nested_vmwrite(cpu, *f, n);
		cr_assert_eq(nested_vmread(cpu, *f), n);
	}
	cr_assert_gt(n, 20);
	cr_assert_eq(cpu->st.exits[EXIT_REASON_VMREAD], reads + n);
	cr_assert_eq(cpu->st.exits[EXIT_REASON_VMWRITE], writes + n);
	cr_assert_eq(cpu->st.vmcs_shadow_hits, hits);
	down(v);
}

Test(nested, shadowing_on_serves_the_same_fields_without_exits)
{
	struct nvm *v = up("kvm", true);
	struct vcpu *cpu = &v->vm.cpu;
	const uint16_t *f;
	uint64_t exits = 0;
	unsigned n = 0;

	cpu->nest->level = 1;
	exits = total(&cpu->st);
	for (f = cpu->nest->pers->shadow_rw; *f; f++, n++) {
		nested_vmwrite(cpu, *f, n);
		cr_assert_eq(nested_vmread(cpu, *f), n);
	}
	cr_assert_eq(total(&cpu->st), exits);
	down(v);
}

Test(nested, msr_bitmap_ranges)
{
	uint8_t bm[4096];

	memset(bm, 0, sizeof(bm));
	cr_assert_not(vcpu_msr_exits(bm, 0x1d9, false));
	cr_assert(vcpu_msr_exits(bm, 0x4000, false), "outside both ranges always exits");
	vcpu_msr_bitmap_set(bm, 0xc0000100, true, true);
	cr_assert(vcpu_msr_exits(bm, 0xc0000100, true));
	cr_assert_not(vcpu_msr_exits(bm, 0xc0000100, false));
	cr_assert_eq(bm[3072 + 0x100 / 8], 1u << (0x100 % 8));
}

/* An RDMSR at L2 of an MSR L1 passes through: 4.13 leaves it intercepted
 * in vmcs02 (only the x2APIC range is merged), so it exits to L0, which
 * handles it without L1; today's merge lets it through. */
Test(nested, l2_rdmsr_of_a_passed_msr)
{
	struct nvm *old = up("kvm-4.13", true), *now = up("kvm", true);
	struct vcpu *a = &old->vm.cpu, *b = &now->vm.cpu;
	uint64_t ea = total(&a->st), eb = total(&b->st);
	uint64_t ra = a->st.reflected[EXIT_REASON_MSR_READ];

	(void)vcpu_rdmsr(a, 0xc0000100);
	(void)vcpu_rdmsr(b, 0xc0000100);
	cr_assert_eq(total(&a->st), ea + 1);
	cr_assert_eq(a->st.reflected[EXIT_REASON_MSR_READ], ra);
	cr_assert_eq(total(&b->st), eb);
	down(old);
	down(now);
}

/* An RDMSR at L2 that L1 intercepts (DEBUGCTL) is reflected to L1. */
Test(nested, l2_rdmsr_l1_intercepts_is_reflected)
{
	struct nvm *v = up("kvm", true);
	struct vcpu *cpu = &v->vm.cpu;
	uint64_t r = cpu->st.reflected[EXIT_REASON_MSR_READ];
	uint64_t vmresumes = cpu->nest->vmresumes;

	(void)vcpu_rdmsr(cpu, 0x1d9);
	cr_assert_eq(cpu->st.reflected[EXIT_REASON_MSR_READ], r + 1);
	cr_assert_eq(cpu->nest->vmresumes, vmresumes + 1);
	down(v);
}

/* The 4.13 merge walks 256 x2APIC MSRs one at a time and memsets the
 * page; today's copies words: the priced steps say so. */
Test(nested, msr_merge_styles)
{
	struct nvm *old = up("kvm-4.13", true), *now = up("kvm", true);
	const struct nested_costs *c = &old->prof.nested;
	double a = old->vm.cpu.st.nested_step[NSTEP_MSR_MERGE];
	double b = now->vm.cpu.st.nested_step[NSTEP_MSR_MERGE];

	cr_assert_eq(old->vm.cpu.nest->msr_merges, 1, "one merge at launch");
	cr_assert_eq(a, c->msr_bitmap_memset + c->msr_merge_bit * (256 + 4));
	cr_assert_eq(b, c->msr_merge_word * 12 + c->msr_merge_bit * (4 + 6));
	cr_assert_lt(b, a);
	/* both leave the x2APIC reads L1 passes through unintercepted */
	cr_assert_not(vcpu_msr_exits(old->vm.cpu.nest->msr_bitmap02, 0x830, false));
	cr_assert_not(vcpu_msr_exits(now->vm.cpu.nest->msr_bitmap02, 0x830, false));
	cr_assert(vcpu_msr_exits(now->vm.cpu.nest->msr_bitmap02, 0x830, true));
	down(old);
	down(now);
}

/* The nested keys are optional to the loader (old profiles still load)
 * but every shipped profile sets each one, with its source. */
Test(nested, every_shipped_profile_sets_the_nested_keys)
{
	static const char *const keys[] = {
		"vmx", "vmcs_shadowing", "nested.reflect", "nested.shadow_field",
		"nested.vmentry", "nested.prepare_full", "nested.prepare_light",
		"nested.msr_merge_bit", "nested.msr_merge_word", "nested.msr_bitmap_memset",
		"nested.debugctl_read", "nested.vmcs_shadow_access", "exit_handler.cpuid",
		"exit_handler.msr_read", "exit_handler.msr_write", "exit_handler.xsetbv",
		"exit_handler.hlt", "exit_handler.external_interrupt", "exit_handler.vmread",
		"exit_handler.vmwrite", "exit_handler.vmresume", "exit_handler.vmlaunch",
	};
	char names[64][PROFILE_NAME_MAX];
	int n = profile_list(names, 64), i;
	size_t k;

	cr_assert_gt(n, 6);
	for (i = 0; i < n; i++) {
		char path[4200], line[1100];
		bool seen[ARRAY_SIZE(keys)] = { false };
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s.profile", profile_dir(), names[i]);
		f = fopen(path, "r");
		cr_assert_not_null(f, "%s", path);
		while (fgets(line, sizeof(line), f))
			for (k = 0; k < ARRAY_SIZE(keys); k++) {
				size_t len = strlen(keys[k]);

				if (strncmp(line, keys[k], len) == 0 &&
				    (line[len] == ' ' || line[len] == '=') && strchr(line, '#'))
					seen[k] = true;
			}
		fclose(f);
		for (k = 0; k < ARRAY_SIZE(keys); k++)
			cr_assert(seen[k], "%s: no '%s' with a source comment", names[i], keys[k]);
	}
}

/* HLT at one level: an exit, then L0 blocks the vCPU until the timer;
 * the next instruction takes the timer's external interrupt. */
Test(nested, hlt_waits_for_the_timer)
{
	struct nvm *v = up(NULL, false);
	struct vcpu *cpu = &v->vm.cpu;
	uint64_t deadline = core_now(&cpu->core) / CORE_TICKS + 100000;

	vcpu_wrmsr(cpu, 0x6e0, deadline);
	cr_assert_eq(cpu->st.exits[EXIT_REASON_MSR_WRITE], 1, "TSC deadline is intercepted");
	vcpu_hlt(cpu);
	cr_assert_eq(cpu->st.exits[EXIT_REASON_HLT], 1);
	cr_assert_geq(core_now(&cpu->core) / CORE_TICKS, deadline);
	cr_assert_eq(cpu->st.timer_ticks, 0);
	g_insn(cpu, 1);
	cr_assert_eq(cpu->st.timer_ticks, 1);
	cr_assert_eq(cpu->st.exits[EXIT_REASON_EXTERNAL_INTERRUPT], 1);
	cr_assert_eq(cpu->timer_at, UINT64_MAX, "one-shot: nothing re-armed it");
	down(v);
}

/* HLT at L2: reflected to L1, which halts itself: an L1 HLT exit, and L0
 * waits for the timer L1 armed on L2's behalf. */
Test(nested, l2_hlt_is_reflected_and_l1_halts)
{
	struct nvm *v = up("kvm", true);
	struct vcpu *cpu = &v->vm.cpu;
	uint64_t deadline = core_now(&cpu->core) / CORE_TICKS + 200000;

	vcpu_wrmsr(cpu, 0x6e0, deadline);
	cr_assert_eq(cpu->st.reflected[EXIT_REASON_MSR_WRITE], 1, "L1 emulates L2's deadline");
	cr_assert_eq(cpu->st.level_exits[0][EXIT_REASON_MSR_WRITE], 1, "with its own");
	vcpu_hlt(cpu);
	cr_assert_eq(cpu->st.reflected[EXIT_REASON_HLT], 1);
	cr_assert_eq(cpu->st.level_exits[1][EXIT_REASON_HLT], 1);
	cr_assert_eq(cpu->st.level_exits[0][EXIT_REASON_HLT], 1);
	cr_assert_geq(core_now(&cpu->core) / CORE_TICKS, deadline);
	cr_assert_eq(cpu->nest->level, 2);
	down(v);
}

/* Without a timer a HLT would never wake: the VM stops, with a reason. */
Test(nested, hlt_without_timer_stops_the_vm)
{
	struct nvm *v = up(NULL, false);
	struct vcpu *cpu = &v->vm.cpu;
	jmp_buf jb;

	cpu->stop_jmp = &jb;
	if (setjmp(jb)) {
		cr_assert_not_null(strstr(cpu->stop_msg, "never wake"), "%s", cpu->stop_msg);
		down(v);
		return;
	}
	vcpu_hlt(cpu);
	cr_assert_fail("HLT returned");
}
