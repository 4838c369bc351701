/*
 * test_nested.c - nested virtualization through the vmm binary: the CPUID
 * loop at L1 and at L2 on Broadwell lands near the measurement it
 * reproduces, with 7 hardware exits per L2 iteration under kvm-4.13;
 * controls cost at L2 what they cost at L1, with equal checksums; bad
 * combinations are one-line errors with status 2.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vmmrun.h"

/* Per-iteration figures: the difference of two runs, as RDTSC around the
 * loop would give (boot and L1's launch cancel out). */
static double per_iter(const struct vmmrun *a, const struct vmmrun *b, int row,
		       const char *col)
{
	return (vmmrun_num(b, row, col) - vmmrun_num(a, row, col)) / 1000.0;
}

static void run_cpuid(struct vmmrun *r, const char *iters, const char *l1)
{
	const char *args[] = { "--cpu=broadwell", "--mmu=ept", "--l1-mmu=none,ept", l1,
			       "--workload=cpuid", "--param", iters, "--quiet", NULL };

	vmmrun(r, args);
	cr_assert_eq(r->status, 0, "vmm failed: %s", r->err);
}

Test(nested, cpuid_loop_on_broadwell_matches_the_measurement, .timeout = 120)
{
	struct vmmrun a, b;
	double l1, l2;

	run_cpuid(&a, "iters=1000", "--l1=kvm-4.13");
	run_cpuid(&b, "iters=2000", "--l1=kvm-4.13");
	cr_assert_eq(a.nrows, 2);
	cr_assert_str_eq(vmmrun_get(&a, 0, "l1_mmu"), "none");
	cr_assert_str_eq(vmmrun_get(&a, 1, "l1"), "kvm-4.13");
	l1 = per_iter(&a, &b, 0, "cycles");
	l2 = per_iter(&a, &b, 1, "cycles");
	cr_assert(fabs(l1 - 768) <= 0.25 * 768, "L1: %.0f cycles per CPUID", l1);
	cr_assert(fabs(l2 - 18830) <= 0.25 * 18830, "L2: %.0f cycles per CPUID", l2);
	/* exits per iteration, by reason */
	cr_assert_eq(per_iter(&a, &b, 0, "exits"), 1);
	cr_assert_eq(per_iter(&a, &b, 1, "exits"), 7);
	cr_assert_eq(per_iter(&a, &b, 1, "l2_exits"), 1);
	cr_assert_eq(per_iter(&a, &b, 1, "l1_exits"), 6);
	cr_assert_eq(per_iter(&a, &b, 1, "reflected_exits"), 1);
	cr_assert_eq(per_iter(&a, &b, 1, "exit_cpuid"), 1);
	cr_assert_eq(per_iter(&a, &b, 1, "exit_vmread"), 2);
	cr_assert_eq(per_iter(&a, &b, 1, "exit_vmwrite"), 1);
	cr_assert_eq(per_iter(&a, &b, 1, "exit_xsetbv"), 1);
	cr_assert_eq(per_iter(&a, &b, 1, "exit_msr_read"), 1);
	cr_assert_eq(per_iter(&a, &b, 1, "exit_vmresume"), 1);
	/* the same answers at both levels */
	cr_assert_str_eq(vmmrun_get(&a, 0, "checksum"), vmmrun_get(&a, 1, "checksum"));
	vmmrun_free(&a);
	vmmrun_free(&b);
}

/* Today's KVM: the VMREADs, the VMWRITE and the RDMSR are gone, and the
 * iteration is cheaper; each remedy alone saves something. */
Test(nested, remedies_remove_exits_and_cycles, .timeout = 120)
{
	const char *l1 = "--l1=kvm-4.13,kvm-4.13+debugctl,kvm-4.13+msrmerge,"
			 "kvm-4.13+shadow,kvm";
	struct vmmrun a, b;
	double base;
	int row;

	run_cpuid(&a, "iters=1000", l1);
	run_cpuid(&b, "iters=2000", l1);
	cr_assert_eq(a.nrows, 6);
	base = per_iter(&a, &b, 1, "cycles");
	for (row = 2; row < 6; row++)
		cr_assert_lt(per_iter(&a, &b, row, "cycles"), base, "%s saves nothing",
			     vmmrun_get(&a, row, "l1"));
	cr_assert_eq(per_iter(&a, &b, 2, "exit_msr_read"), 0, "cached DEBUGCTL: no RDMSR");
	cr_assert_eq(per_iter(&a, &b, 3, "exits"), 7, "the merge saves time, not exits");
	cr_assert_eq(per_iter(&a, &b, 4, "exit_vmread"), 0);
	cr_assert_eq(per_iter(&a, &b, 4, "exit_vmwrite"), 0);
	cr_assert_eq(per_iter(&a, &b, 5, "exits"), 3);
	cr_assert_str_eq(vmmrun_get(&a, 5, "l1"), "kvm");
	vmmrun_free(&a);
	vmmrun_free(&b);
}

/* Every cycle in exactly one category, with the nested parts inside. */
Test(nested, categories_sum_at_l2, .timeout = 60)
{
	const char *args[] = { "--cpu=broadwell", "--mmu=ept", "--l1-mmu=ept",
			       "--workload=cpuid", "--param", "iters=500", "--quiet", NULL };
	static const char *const cats[] = { "cycles_user", "cycles_kernel", "cycles_data",
					    "cycles_tlb", "cycles_walk", "cycles_exit" };
	struct vmmrun r;
	double sum = 0, total, exit;
	size_t i;

	vmmrun(&r, args);
	cr_assert_eq(r.status, 0, "vmm failed: %s", r.err);
	total = vmmrun_num(&r, 0, "cycles");
	for (i = 0; i < sizeof(cats) / sizeof(cats[0]); i++)
		sum += vmmrun_num(&r, 0, cats[i]);
	cr_assert(fabs(sum - total) < 6, "categories %.0f, cycles %.0f", sum, total);
	exit = vmmrun_num(&r, 0, "cycles_exit");
	cr_assert(fabs(vmmrun_num(&r, 0, "cycles_exit_transition") +
		       vmmrun_num(&r, 0, "cycles_exit_l0") - exit) < 3);
	cr_assert_gt(vmmrun_num(&r, 0, "cycles_l1"), 0);
	cr_assert_leq(vmmrun_num(&r, 0, "cycles_l1"), vmmrun_num(&r, 0, "cycles_kernel"));
	cr_assert(strstr(r.err, "top VM-exits per second, by level") == NULL, "--quiet");
	vmmrun_free(&r);
}

Test(nested, stderr_has_the_by_level_table, .timeout = 60)
{
	const char *args[] = { "--cpu=broadwell", "--mmu=ept", "--l1-mmu=ept",
			       "--workload=cpuid", "--param", "iters=200", NULL };
	struct vmmrun r;

	vmmrun(&r, args);
	cr_assert_eq(r.status, 0, "vmm failed: %s", r.err);
	cr_assert_not_null(strstr(r.err, "top VM-exits per second, by level"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "L1 VMREAD"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "L2 CPUID"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "MSR bitmap merge"), "%s", r.err);
	/* which fields and MSRs exited, as the talk's profile showed them */
	cr_assert_not_null(strstr(r.err, "VMREAD exits by field: GUEST_PML_INDEX 50.0%, "
				  "GUEST_INTR_STATUS 50.0%"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "MSR_READ exits by MSR: IA32_DEBUGCTL 100.0%"),
			   "%s", r.err);
	vmmrun_free(&r);
}

/* The controls: no exits in their loops, so L2 costs what L1 does, up to
 * L1's launch (a fixed cost: compared as the difference of two run
 * lengths, it cancels), and computes the same. */
Test(nested, controls_cost_the_same_at_l2, .timeout = 300)
{
	const char *small[] = { "--cpu=broadwell", "--mmu=ept", "--l1-mmu=none,ept",
				"--workload=getppid,countprimes,fib", "--param", "iters=20000",
				"--param", "limit=200000", "--param", "n=22", "--quiet", NULL };
	const char *large[] = { "--cpu=broadwell", "--mmu=ept", "--l1-mmu=none,ept",
				"--workload=getppid,countprimes,fib", "--param", "iters=40000",
				"--param", "limit=400000", "--param", "n=24", "--quiet", NULL };
	struct vmmrun a, b;
	int w;

	vmmrun(&a, small);
	vmmrun(&b, large);
	cr_assert_eq(a.status, 0, "vmm failed: %s", a.err);
	cr_assert_eq(b.status, 0, "vmm failed: %s", b.err);
	cr_assert_eq(a.nrows, 6);
	cr_assert_eq(b.nrows, 6);
	for (w = 0; w < 6; w += 2) {
		double l1 = vmmrun_num(&b, w, "cycles") - vmmrun_num(&a, w, "cycles");
		double l2 = vmmrun_num(&b, w + 1, "cycles") - vmmrun_num(&a, w + 1, "cycles");

		cr_assert_str_eq(vmmrun_get(&a, w, "checksum"), vmmrun_get(&a, w + 1, "checksum"),
				 "%s", vmmrun_get(&a, w, "workload"));
		cr_assert_str_eq(vmmrun_get(&b, w, "checksum"), vmmrun_get(&b, w + 1, "checksum"),
				 "%s", vmmrun_get(&b, w, "workload"));
		cr_assert(l1 > 0, "%s: no work between the two lengths", vmmrun_get(&a, w, "workload"));
		cr_assert(fabs(l2 - l1) <= 0.02 * l1, "%s: the extra work costs L1 %.0f, L2 %.0f cycles",
			  vmmrun_get(&a, w, "workload"), l1, l2);
		cr_assert_eq(vmmrun_num(&a, w + 1, "reflected_exits"), 0);
		cr_assert_eq(vmmrun_num(&b, w + 1, "reflected_exits"), 0);
	}
	vmmrun_free(&a);
	vmmrun_free(&b);
}

/* The timer: the guest OS programs it, each tick is an external
 * interrupt exit, and at L2 it reaches L1 too. */
Test(nested, timer_ticks_at_the_programmed_rate, .timeout = 120)
{
	const char *args[] = { "--cpu=broadwell", "--mmu=ept", "--l1-mmu=none,ept",
			       "--workload=cpuid", "--param", "iters=20000", "--param",
			       "hz=10000", "--quiet", NULL };
	struct vmmrun r;
	int row;

	vmmrun(&r, args);
	cr_assert_eq(r.status, 0, "vmm failed: %s", r.err);
	for (row = 0; row < 2; row++) {
		double secs = vmmrun_num(&r, row, "runtime_s");
		double ticks = vmmrun_num(&r, row, "exit_external_interrupt");

		cr_assert_eq(ticks, vmmrun_num(&r, row, "timer_ticks"));
		cr_assert(fabs(ticks - secs * 10000) <= 2 + 0.05 * secs * 10000,
			  "row %d: %.0f ticks in %.6f s", row, ticks, secs);
		cr_assert_geq(vmmrun_num(&r, row, "exit_msr_write"), ticks, "re-armed each tick");
	}
	cr_assert_str_eq(vmmrun_get(&r, 0, "checksum"), vmmrun_get(&r, 1, "checksum"));
	vmmrun_free(&r);
}

static void assert_usage_error(const char *const *args, const char *needle)
{
	struct vmmrun r;

	vmmrun(&r, args);
	cr_assert_eq(r.status, 2, "status %d: %s", r.status, r.err);
	cr_assert_eq(vmmrun_lines(r.err), 1, "%s", r.err);
	cr_assert_not_null(strstr(r.err, needle), "%s", r.err);
	cr_assert_eq(r.out[0], '\0');
	vmmrun_free(&r);
}

Test(nested, bad_combinations_are_one_line_errors)
{
	const char *native[] = { "--mmu=native", "--l1-mmu=ept", "--workload=cpuid", NULL };
	const char *shadow[] = { "--mmu=shadow", "--l1-mmu=ept", "--workload=cpuid", NULL };
	const char *amd[] = { "--cpu=zen4", "--mmu=ept", "--l1-mmu=ept", "--workload=cpuid",
			      NULL };
	const char *noshadow[] = { "--cpu=westmere", "--mmu=ept", "--l1-mmu=ept",
				   "--param", "vmcs_shadow=1", "--workload=cpuid", NULL };
	const char *part2[] = { "--mmu=ept", "--l1-mmu=shadow", "--workload=cpuid", NULL };
	const char *pers[] = { "--mmu=ept", "--l1-mmu=ept", "--l1=xen", NULL };

	assert_usage_error(native, "no L0 hypervisor");
	assert_usage_error(shadow, "enable_ept");
	assert_usage_error(amd, "no VMX");
	assert_usage_error(noshadow, "no VMCS shadowing");
	assert_usage_error(part2, "part 2");
	assert_usage_error(pers, "unknown L1 personality 'xen'");
}

/* Without VMCS shadowing (westmere has none) every VMREAD and VMWRITE
 * exits: 4 + 3 + 1 of them per iteration, and the cell still runs. */
Test(nested, no_shadowing_profile_exits_on_every_vmcs_access, .timeout = 60)
{
	const char *a1[] = { "--cpu=westmere", "--mmu=ept", "--l1-mmu=ept",
			     "--workload=cpuid", "--param", "iters=100", "--quiet", NULL };
	const char *a2[] = { "--cpu=westmere", "--mmu=ept", "--l1-mmu=ept",
			     "--workload=cpuid", "--param", "iters=200", "--quiet", NULL };
	struct vmmrun a, b;

	vmmrun(&a, a1);
	vmmrun(&b, a2);
	cr_assert_eq(a.status, 0, "%s", a.err);
	cr_assert_eq(b.status, 0, "%s", b.err);
	cr_assert_eq((vmmrun_num(&b, 0, "exit_vmread") - vmmrun_num(&a, 0, "exit_vmread")) / 100,
		     6);
	cr_assert_eq((vmmrun_num(&b, 0, "exit_vmwrite") - vmmrun_num(&a, 0, "exit_vmwrite")) /
		     100, 2);
	cr_assert_eq(vmmrun_num(&b, 0, "vmcs_shadow_hits"), 0);
	vmmrun_free(&a);
	vmmrun_free(&b);
}
