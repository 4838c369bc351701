/*
 * run.c - one experiment cell, in-process: create the VM, boot the guest
 * OS, run the workload, read the counters and the core's cycle stack
 * into a row. Validation (run_check) is separate so a grid can be
 * checked whole before any of it runs.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run.h"

const char *const run_l1_mmu_names[3] = { "none", "ept", "shadow" };

const char *run_level_name(unsigned level)
{
	static const char *const names[] = { "?", "4k", "2m", "1g" };

	return level <= LEVEL_1G ? names[level] : "?";
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The VMM's tables (shadow, EPT): generous, since host memory is mapped
 * lazily and only pages used cost anything; vm_layout clips it below
 * MAXPHYADDR. None without a host level. */
static uint64_t vmm_region(const struct run_spec *s)
{
	if (!mmu_has_host_level(s->mmu))
		return 0;
	return s->guest_mem / 2 > 64 * MiB ? s->guest_mem / 2 : 64 * MiB;
}

static int fail(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return -1;
}

int run_check(const struct run_spec *s, char *err, size_t errlen)
{
	uint64_t backing, vmm_bytes;
	struct vm_config cfg = {
		.ops = s->mmu,
		.prof = s->prof,
		.guest_mem = s->guest_mem,
		.vmm_mem = vmm_region(s),
		.host_level = s->host_pages ? s->host_pages : LEVEL_4K,
	};

	if (vm_layout(&cfg, &backing, &vmm_bytes, err, errlen) < 0)
		return -1;
	if ((s->pages == LEVEL_1G || s->host_pages == LEVEL_1G) && !s->prof->gbpages) {
		snprintf(err, errlen, "CPU profile %s has no 1G pages (--pages/--host-pages=1g)",
			 s->prof->name);
		return -1;
	}
	if (s->pages == LEVEL_1G && s->guest_mem < 2 * GiB)
		return fail(err, errlen, "--pages=1g needs --guest-mem of at least 2g (a "
			    "1G-aligned free gigabyte beside the kernel)");
	if (s->l1mmu != L1_MMU_NONE) {
		const char *l1m = run_l1_mmu_names[s->l1mmu];

		if (s->l1mmu == L1_MMU_SHADOW)
			return fail(err, errlen, "--l1-mmu=shadow: L1 shadow paging of L2 is part 2 "
				    "of issue 15, not built yet (use --l1-mmu=ept)");
		if (!mmu_has_host_level(s->mmu)) {
			snprintf(err, errlen, "--l1-mmu=%s: --mmu=%s has no L0 hypervisor to run "
				 "an L1 hypervisor under", l1m, s->mmu->name);
			return -1;
		}
		if (!s->mmu->nested_ept) {
			snprintf(err, errlen, "--l1-mmu=%s with --mmu=%s: L0 offers L1 nested EPT "
				 "only when it uses EPT itself (KVM's enable_ept)", l1m, s->mmu->name);
			return -1;
		}
		if (!s->prof->vmx) {
			snprintf(err, errlen, "--l1=%s: CPU profile %s has no VMX (the L1 "
				 "personalities are VMX hypervisors)", s->l1->name, s->prof->name);
			return -1;
		}
		if (s->vmcs_shadow == 1 && !s->prof->vmcs_shadowing) {
			snprintf(err, errlen, "--param vmcs_shadow=1: CPU profile %s has no VMCS "
				 "shadowing", s->prof->name);
			return -1;
		}
	}
	if (s->sample.on) {
		struct sample_cfg c = s->sample;

		if (s->hz) {
			snprintf(err, errlen, "--sample with --param hz=%llu: the guest's "
				 "timer needs the exact clock, which fast-forward does not "
				 "keep (use one or the other)", (unsigned long long)s->hz);
			return -1;
		}
		if (s->l1mmu != L1_MMU_NONE)
			return fail(err, errlen, "--sample with --l1-mmu: the sampled mode "
				    "runs one level only (the L1 hypervisor's own cycles are "
				    "not split out of a fast-forward yet)");
		if (sample_resolve(&c, s->prof, err, errlen) < 0)
			return -1;
	}
	if (s->pcid && !s->prof->pcid) {
		snprintf(err, errlen, "--param pcid=1: CPU profile %s has no PCIDs", s->prof->name);
		return -1;
	}
	if (s->wl->check && s->wl->check(s->wl_param, s->guest_mem, err, errlen) < 0)
		return -1;
	return 0;
}

int run_cell(const struct run_spec *s, struct row *r, char *err, size_t errlen)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	struct gos *os = calloc(1, sizeof(*os));
	uint64_t mparam[MMU_MAX_PARAMS];
	struct vm_config cfg = {
		.ops = s->mmu,
		.prof = s->prof,
		.guest_mem = s->guest_mem,
		.vmm_mem = vmm_region(s),
		.guest_level = s->pages,
		.host_level = s->host_pages ? s->host_pages : LEVEL_4K,
		.numa_node = s->numa_node,
		.cache_model = s->cache_model,
		.mmu_params = mparam,
	};
	struct profile *volatile prof = NULL;	/* live across the setjmp */
	jmp_buf jb;
	double t0 = now_s();
	size_t len = 0;
	unsigned i;
	volatile int ret = -1;	/* live across the setjmp */

	memcpy(mparam, s->mmu_param, sizeof(mparam));
	if (!vm || !os) {
		snprintf(err, errlen, "out of host memory");
		goto out;
	}
	if (s->vpid != 2) {
		/* A profile with VPID tagging switched as asked. */
		prof = malloc(sizeof(*prof));
		if (!prof) {
			snprintf(err, errlen, "out of host memory");
			goto out;
		}
		*prof = *s->prof;
		prof->vpid = s->vpid != 0;
		cfg.prof = prof;
	}
	for (i = 0; i < WL_MAX_PARAMS && s->wl->params[i].key; i++) {
		len += (size_t)snprintf(r->params + len, sizeof(r->params) - len,
					"%s%s=%" PRIu64, i ? ";" : "",
					s->wl->params[i].key, s->wl_param[i]);
		if (len >= sizeof(r->params))
			len = sizeof(r->params) - 1;
	}
	if (vm_create(vm, &cfg, err, errlen) < 0) {
		ret = -2;	/* the host refused what was asked (NUMA node, memory) */
		goto out;
	}
	vm->cpu.stop_jmp = &jb;
	if (setjmp(jb)) {
		snprintf(err, errlen, "VM stopped: %s", vm->cpu.stop_msg);
		goto out_vm;
	}
	if (s->l1mmu != L1_MMU_NONE &&
	    nested_start(&vm->cpu, s->l1, s->vmcs_shadow == 2 ? s->prof->vmcs_shadowing :
			 s->vmcs_shadow == 1, err, errlen) < 0)
		goto out_vm;
	if (gos_boot(os, &vm->cpu, s->pages, s->pcid, err, errlen) < 0)
		goto out_vm;
	gos_timer_start(os, s->hz);
	if (s->sample.on) {
		struct sample_cfg c = s->sample;

		if (sample_resolve(&c, s->prof, err, errlen) < 0)
			goto out_vm;
		if (sample_start(&vm->cpu, &c) < 0) {
			snprintf(err, errlen, "out of host memory");
			ret = -2;
			goto out_vm;
		}
	}
	r->checksum = s->wl->run(os, s->wl_param);
	vcpu_finish(&vm->cpu);
	sample_finish(&vm->cpu, &r->smp);
	r->cell = s->index;
	r->wall_s = now_s() - t0;
	r->workload = s->wl->name;
	r->mmu = s->mmu->name;
	r->pages = run_level_name(s->pages);
	r->host_pages = s->host_pages ? run_level_name(s->host_pages) : "-";
	r->cpu = s->prof->name;
	r->l1_mmu = run_l1_mmu_names[s->l1mmu];
	r->l1 = s->l1 ? s->l1->name : "-";
	r->backing = vm_backing_name(vm->backing);
	r->guest_mem = s->guest_mem;
	r->st = vm->cpu.st;
	r->pte_writes = os->st.pte_writes;
	r->forks = os->st.forks;
	r->child_faults = os->st.child_faults;
	if (s->mmu->report)
		s->mmu->report(&vm->cpu.mmu, &r->mr);
	r->clock_hz = s->prof->clock_hz;
	r->cache_model = cfg.cache_model;
	vmm_cycles(&r->st, &r->cyc);
	ret = 0;
	gos_shutdown(os);
out_vm:
	vm_destroy(vm);
out:
	free(prof);
	free(os);
	free(vm);
	return ret;
}
