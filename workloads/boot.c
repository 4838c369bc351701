/*
 * boot.c - the guest OS's boot: memory (gos.c), long mode with the
 * kernel's tables, the #PF handler (fault.c), and init, the first
 * process (proc.c). The top of the guest OS's files: nothing calls up
 * into it.
 */
#include <stdio.h>
#include <string.h>

#include "gos_priv.h"

int gos_boot(struct gos *os, struct vcpu *cpu, unsigned user_level, bool pcid,
	     char *err, size_t errlen)
{
	unsigned f;

	memset(os, 0, sizeof(*os));
	os->cpu = cpu;
	os->ram = cpu->mmu.hmem.guest_size;
	os->user_level = user_level;
	os->pcid = pcid;
	os->next_pid = 2;
	for (f = 0; f < GOS_NR_PCIDS; f++)
		os->pcid_owner[f] = -1;
	if (gos_mem_init(os, err, errlen) < 0)
		return -1;

	vcpu_write_cr4(cpu, CR4_PAE | CR4_PGE | (pcid ? CR4_PCIDE : 0));
	vcpu_write_efer(cpu, EFER_LME | EFER_NXE);
	vcpu_write_cr3(cpu, os->kpml4);
	vcpu_write_cr0(cpu, CR0_PE | CR0_PG | CR0_WP);
	cpu->pf_handler = gos_pf;
	cpu->pf_opaque = os;

	if (gos_proc_init(os, &os->proc[0], 1, 0, NULL) < 0) {
		snprintf(err, errlen, "guest RAM too small to boot");
		gos_shutdown(os);
		return -1;
	}
	gos_switch_to(os, &os->proc[0]);
	return 0;
}
