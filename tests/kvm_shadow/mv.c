/*
 * mv.c - the memvirt side of the differential test: the scenario's guest
 * program run on memvirt's shadow backend through the vCPU, as guest
 * code at CPL3, with the counters read at every phase end.
 *
 * Each step is what the KVM side's interpreter does: an instruction
 * fetch from the interpreter's page, the step's own access (or the
 * CR3 load / INVLPG its #UD trap performs), and the fetch of the jump
 * back. A #PF from the guest's tables abandons the step, as the KVM
 * side's handler does.
 */
#include <asm/vmx.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "scen.h"
#include "shadow.h"
#include "vmm.h"

#define VMM_MEM	(4u << 20)

bool scen_memvirt_no_prefetch;

struct mv {
	struct vm	vm;
	struct profile	prof;
	uint64_t	params[MMU_MAX_PARAMS];
};

static int pf_abandon(struct vcpu *cpu, gva_t cr2, uint32_t ec, void *opaque)
{
	(void)cpu; (void)cr2; (void)ec; (void)opaque;
	return -1;	/* vcpu_stop unwinds to the step */
}

/* One CPL3 access; a #PF (or a stop) ends it. Returns false on a stop
 * that is not a #PF (the message is in the vCPU). */
static bool access(struct vcpu *cpu, gva_t va, unsigned acc, unsigned size, uint64_t v)
{
	jmp_buf jb;
	volatile bool ok = true;

	cpu->stop_jmp = &jb;
	if (setjmp(jb) == 0) {
		vcpu_set_cpl(cpu, 3);
		vcpu_access_slow(cpu, va, acc, size, &v);
	} else {
		ok = strncmp(cpu->stop_msg, "guest could not handle #PF", 26) == 0;
		cpu->pf_depth = 0;
	}
	vcpu_set_cpl(cpu, 3);
	cpu->stop_jmp = NULL;
	return ok;
}

static void snapshot(struct vcpu *cpu, int64_t *v)
{
	const struct vcpu_stats *st = &cpu->st;
	struct mmu_report mr;

	memset(&mr, 0, sizeof(mr));
	cpu->mmu.ops->report(&cpu->mmu, &mr);
	memset(v, 0, C_NR * sizeof(*v));
	v[C_PAGES_4K] = (int64_t)mr.leaf_pages[0];
	v[C_PF_FIXED] = (int64_t)(st->hidden_faults - st->spurious_faults);
	v[C_PF_GUEST] = (int64_t)st->true_faults;
	v[C_PF_EMULATE] = (int64_t)st->trace_faults;
	v[C_MMU_UNSYNC] = (int64_t)st->unsync_pages - (int64_t)st->resync_pages;
	v[C_MMU_FLOODED] = (int64_t)st->flood_zaps;
	v[C_MMU_SHADOW_ZAPPED] = (int64_t)st->shadow_zapped;
	v[C_MMU_CACHE_MISS] = (int64_t)st->shadow_created;
	v[C_INVLPG] = (int64_t)st->invlpgs;
	v[C_PF_SPURIOUS] = (int64_t)st->spurious_faults;
	v[C_MMU_PDE_ZAPPED] = (int64_t)st->pde_zapped;
	v[C_TLB_FLUSH] = (int64_t)st->vmm_tlb_flushes;
	v[C_PF_TAKEN] = (int64_t)st->exits[EXIT_REASON_EXCEPTION_NMI];
}

int scen_run_memvirt(const struct scen *s, struct scen_counts *out, char *err, size_t len)
{
	static struct mv mv;
	struct vm_config cfg = {
		.ops = &shadow_mmu_ops,
		.prof = &mv.prof,
		.guest_mem = SCEN_MEM,
		.vmm_mem = VMM_MEM,
		.guest_level = LEVEL_4K,
		.host_level = LEVEL_4K,
		.numa_node = -1,
		.mmu_params = mv.params,
	};
	struct vcpu *cpu;
	int64_t prev[C_NR], cur[C_NR];
	unsigned phase = 0;
	size_t i;
	int ret = -1;

	memset(&mv, 0, sizeof(mv));
	/* The CLI's defaults: unsync on, KVM's root cache, flood limit and
	 * prefetch. */
	mv.params[SHADOW_P_UNSYNC] = 1;
	mv.params[SHADOW_P_PREFETCH] = !scen_memvirt_no_prefetch;
	if (profile_find(&mv.prof, "skylake", err, len) < 0 ||
	    vm_create(&mv.vm, &cfg, err, len) < 0)
		return -1;
	cpu = &mv.vm.cpu;
	cpu->pf_handler = pf_abandon;
	for (i = 0; i < s->ninit; i++)
		if (!access(cpu, s->init[i].gpa, ACC_WRITE, 8, s->init[i].val))
			goto stopped;
	vcpu_write_cr4(cpu, CR4_PAE);
	vcpu_write_efer(cpu, EFER_LME);
	vcpu_write_cr0(cpu, CR0_PE | CR0_PG | CR0_WP);
	/* KVM builds the first root at the first entry: count it. */
	snapshot(cpu, prev);
	vcpu_write_cr3(cpu, s->cr3);
	for (i = 0; i < s->nsteps; i++) {
		const struct scen_step *st = &s->steps[i];

		/* The OUT and the dispatch: fetched from the code page. */
		if (!access(cpu, SCEN_CODE, ACC_FETCH, 8, 0))
			goto stopped;
		switch (st->op) {
		case SCEN_READ:
			if (!access(cpu, st->a, ACC_READ, 8, 0))
				goto stopped;
			break;
		case SCEN_WRITE:
			if (!access(cpu, st->a, ACC_WRITE, st->size, st->b))
				goto stopped;
			break;
		case SCEN_CR3:
			vcpu_write_cr3(cpu, st->a);
			break;
		case SCEN_INVLPG:
			vcpu_invlpg(cpu, st->a);
			break;
		default:
			break;
		}
		/* The jump back to the OUT. */
		if (!access(cpu, SCEN_CODE, ACC_FETCH, 8, 0))
			goto stopped;
		if (st->op != SCEN_PHASE)
			continue;
		snapshot(cpu, cur);
		scen_phase_end(out, &phase, cur, prev);
	}
	ret = 0;
	goto out;
stopped:
	snprintf(err, len, "memvirt stopped at step %zu: %s", i, cpu->stop_msg);
out:
	vm_destroy(&mv.vm);
	return ret;
}
