/*
 * test_kvm_translate.c - differential test of walk_run() against the Linux
 * kernel's own guest walker: random 4-level tables in a KVM guest's
 * memory, long-mode sregs, and KVM_TRANSLATE vs walk_run() on the same bytes.
 * Skips (with the reason) where /dev/kvm cannot be opened or used.
 *
 * KVM_TRANSLATE compares validity and address only: the kernel walks as
 * a supervisor read (kvm_mmu_gva_to_gpa_system) and fills `writeable`
 * with 1 and `usermode` with 0 whatever the tables say (x86.c,
 * kvm_arch_vcpu_ioctl_translate), so permissions and #PF error codes
 * cannot be read off it; test_kvm_access.c runs guest code that faults.
 * The table generator is kvmpt.c, shared with that test.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvmpt.h"

#define ADDRS_PER_CFG	200000u		/* gvas compared per configuration: 1M in all */
#define ULL(x)		((unsigned long long)(x))

static void set_long_mode(struct kvmpt_vm *vm, const struct kvmpt_cfg *c, uint64_t cr3)
{
	struct kvm_sregs s;
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 8, .type = 11,
		.present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = 16, .type = 3,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};

	cr_assert_eq(ioctl(vm->vcpu, KVM_GET_SREGS, &s), 0, "KVM_GET_SREGS: %s",
		     strerror(errno));
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_PG | (c->wp ? CR0_WP : 0);
	s.cr4 = CR4_PAE;
	s.efer = EFER_LME | EFER_LMA | (c->nxe ? EFER_NXE : 0);
	s.cr3 = cr3;
	cr_assert_eq(ioctl(vm->vcpu, KVM_SET_SREGS, &s), 0, "KVM_SET_SREGS: %s",
		     strerror(errno));
}

/* ---- the comparison ------------------------------------------------------- */

struct tally {
	unsigned	compared, mismatches, valid;
	unsigned	leaf[4];	/* valid translations by leaf level */
	unsigned	absent, rsvd;	/* faults: not present, reserved bit or hole */
};

static void run_cfg(const struct kvmpt_cfg *c, struct tally *total)
{
	static struct kvmpt_vm vm;		/* large: keep it off the stack */
	struct tally t = { 0 };
	const char *why;
	uint64_t root, cr3;
	struct kvmpt_caps caps;
	struct walk_mem wmem;
	unsigned i;
	int rc;

	memset(&vm, 0, sizeof(vm));
	why = kvmpt_open(&vm);
	if (why) {
		kvmpt_close(&vm);
		cr_skip_test("%s (%s): KVM differential test not run", why, strerror(errno));
	}
	rc = kvmpt_set_cpuid(&vm, c, &caps);
	cr_assert_eq(rc, 0, "KVM_SET_CPUID2: %s", strerror(-rc));

	vm.rng = c->seed;
	vm.next_table = PAGE_SIZE;
	vm.mode = (struct walk_mode){
		.levels = 4, .maxphyaddr = caps.maxphy, .cr0_wp = c->wp,
		.efer_nxe = c->nxe, .gbpages = caps.gbpages,
	};
	wmem = (struct walk_mem){ .read = kvmpt_mem_read, .set = kvmpt_mem_set, .ctx = vm.mem };
	root = kvmpt_gen_table(&vm, 4, 0);
	cr_assert_neq(root, 0);
	cr3 = root | (kvmpt_rnd(&vm) & (PTE_PWT | PTE_PCD));
	set_long_mode(&vm, c, cr3);

	for (i = 0; i < ADDRS_PER_CFG; i++) {
		struct kvm_translation tr = { .linear_address = kvmpt_rnd_gva(&vm) };
		struct walk_req r = {
			.fmt = WALK_FMT_X86_64, .addr = tr.linear_address,
			.root = cr3, .access = ACC_READ, .mode = &vm.mode,
			.mem = &wmem,
		};
		enum walk_result res;

		cr_assert_eq(ioctl(vm.vcpu, KVM_TRANSLATE, &tr), 0, "KVM_TRANSLATE: %s",
			     strerror(errno));
		res = walk_run(&r);
		cr_assert(res == WALK_OK || res == WALK_FAULT, "walk_run() gave %d", res);
		t.compared++;
		t.valid += tr.valid != 0;
		if (res == WALK_OK)
			t.leaf[r.level]++;
		else if (r.error_code & PFERR_RSVD)
			t.rsvd++;
		else
			t.absent++;
		if ((res == WALK_OK) != (tr.valid != 0) ||
		    (res == WALK_OK && r.pa != tr.physical_address)) {
			if (t.mismatches++ < 10)
				cr_log_error("%s: gva %#llx: kvm valid=%u pa %#llx; walk %s "
					     "pa %#llx ec %#x level %u entries %llx %llx %llx %llx",
					     c->name, ULL(tr.linear_address), tr.valid,
					     ULL(tr.physical_address),
					     res == WALK_OK ? "ok" : "fault", ULL(r.pa),
					     r.error_code, r.level, ULL(r.entry[4]),
					     ULL(r.entry[3]), ULL(r.entry[2]), ULL(r.entry[1]));
		}
	}
	kvmpt_close(&vm);
	cr_log_info("%s: maxphyaddr %u, 1G pages %s, %u tables, %u gvas compared, "
		    "%u valid, %u mismatches", c->name, caps.maxphy,
		    caps.gbpages ? "on" : c->gbpages ? "not offered by KVM (PS in a PDPTE is reserved)"
					       : "off",
		    vm.ntables, t.compared, t.valid, t.mismatches);
	cr_log_info("%s: ok 4K %u, 2M %u, 1G %u; faults: not present %u, "
		    "reserved/hole %u", c->name, t.leaf[1], t.leaf[2], t.leaf[3],
		    t.absent, t.rsvd);
	/* Every outcome must be well represented, or the test proves little. */
	cr_expect(t.valid > t.compared / 5 && t.valid < t.compared - t.compared / 5,
		  "%s: %u of %u valid: a lopsided mix", c->name, t.valid, t.compared);
	cr_expect(t.leaf[1] && t.leaf[2] && (t.leaf[3] || !caps.gbpages) &&
		  t.absent > t.compared / 50 && t.rsvd > t.compared / 50,
		  "%s: some outcome is (nearly) never exercised", c->name);
	total->compared += t.compared;
	total->mismatches += t.mismatches;
	total->valid += t.valid;
}

Test(walker_kvm, translate_matches_kernel_walker, .timeout = 280)
{
	static const struct kvmpt_cfg cfgs[] = {
		{ .name = "nxe+gbpages", .nxe = true, .wp = true, .gbpages = true, .seed = 1 },
		{ .name = "no-nxe, no-gbpages", .wp = true, .seed = 2 },
		{ .name = "nxe, no-gbpages, maxphyaddr 39", .nxe = true, .maxphyaddr = 39,
		  .seed = 3 },
		{ .name = "no-nxe, gbpages, maxphyaddr 36", .gbpages = true, .maxphyaddr = 36,
		  .seed = 4 },
		{ .name = "nxe, gbpages, maxphyaddr 52", .nxe = true, .wp = true, .gbpages = true,
		  .maxphyaddr = 52, .seed = 5 },
	};
	struct tally total = { 0 };
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(cfgs); i++)
		run_cfg(&cfgs[i], &total);
	fprintf(stderr, "walker_kvm: %u gvas compared against KVM_TRANSLATE, "
		"%u valid, %u mismatches\n", total.compared, total.valid,
		total.mismatches);
	cr_assert_geq(total.compared, 1000000u);
	cr_assert_eq(total.mismatches, 0, "%u of %u translations differ from KVM",
		     total.mismatches, total.compared);
}
