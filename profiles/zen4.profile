# zen4.profile - AMD EPYC 9004 "Genoa" (Zen 4, family 19h model 11h), the
# CPU of the machines this project runs on. AMD-V with nested paging (NPT;
# the ntlb and ept_psc keys describe its nested walk structures). Short
# source names ([AMD19h], ...) are expanded in profiles/README.md. "measured
# here" figures come from scripts/calibrate.sh on this machine (itself a KVM
# guest, so its own loops run under nested paging).
#
# Exit reasons use the VMX names the engine counts by: ept_violation stands
# for #VMEXIT(NPF), exception_nmi for an intercepted #PF, cr_access for a
# CR3 write intercept, invlpg for the INVLPG intercept.

name        = zen4
description = AMD EPYC 9004 Genoa (Zen 4, 3.4 GHz boost as measured here), AMD-V with nested paging
clock_ghz   = 3.4       # measured here: a chain of dependent adds (1 cycle each) runs at 3.3-3.55 GHz
maxphyaddr  = 48        # measured here: /proc/cpuinfo "48 bits physical" (the guest's view; bare Genoa reports 52)
vpid        = 1         # AMD-V ASIDs tag TLB entries, so VMRUN/#VMEXIT keep the TLB (AMD APM vol. 2, "TLB control")
pcid        = 1         # measured here: CPUID reports pcid and invpcid
gbpages     = 1         # measured here: CPUID reports pdpe1gb
ept_ad      = 1         # AMD APM vol. 2, "Nested paging": the nested walk sets accessed and dirty bits

# TLBs [AMD19h, Zen 4 TLB table]. LRU stands in for the undisclosed policy.
tlb.l1.0    = 72 72 4k,2m,1g lru   # [AMD19h]: L1 DTLB 72 entries, fully associative, all page sizes
tlb.l2.0    = 3072 24 4k,2m lru    # [AMD19h]: L2 DTLB 3072 entries, 24-way, 4K and 2M pages
tlb.l2.1    = 64 64 1g lru         # estimate: [AMD19h] keeps 1G translations out of the 3072-entry array; a small 1G part assumed
itlb.l1.0   = 64 64 4k,2m,1g lru   # [AMD19h]: L1 ITLB 64 entries, fully associative, all page sizes
itlb.l2.0   = 512 8 4k,2m lru      # [AMD19h]: L2 ITLB 512 entries, 8-way, 4K and 2M pages (not shared with the L2 DTLB); 1G fetches splinter to 2M (estimate)

# Page walk caches. [AMD19h]: a 64-entry page directory cache holds
# upper-level entries; the L2 DTLB also holds PDEs.
psc.pde     = 64 64     # estimate: the PDEs the L2 DTLB holds, modeled as a 64-entry cache
psc.pdpte   = 32 32     # estimate: half of the 64-entry page directory cache [AMD19h]
psc.pml4e   = 32 32     # estimate: the other half

# Nested walk structures [Bhargava08]: sizes not published for Zen 4.
ntlb        = 16 4      # estimate: as the Intel profiles
ept_psc.pde   = 64 64   # estimate: as psc.pde
ept_psc.pdpte = 32 32   # estimate: as psc.pdpte
ept_psc.pml4e = 32 32   # estimate: as psc.pml4e

# Costs, in core cycles.
cpi         = 0.155     # measured here: memsweep's loop on a 16 KiB (L1-resident) array runs in ~2.0 cycles per iteration, which memvirt counts as 13 instructions
kernel_cpi  = 7.0       # measured here: scripts/calibrate.sh's getppid loop takes 640-775 cycles a call (180-217 ns at 3.57 GHz); the profile's SYSCALL/SYSRET round trip is 120 of them, and the 75 instructions the guest OS counts for the path take the rest at 6.3-7.8 each. Cycles per *counted* kernel instruction: it folds Linux 6.x's lower kernel IPC and the work the guest OS counts no instructions for (entry mitigations: retpolines, SRSO safe-RET; accounting)
l1d_hit     = 4         # [AMD19h]: L1D load-to-use 4 cycles (integer)
tlb_l2_hit  = 7         # estimate: [ChipsZen4] measures ~7-8 cycles for an L1 DTLB miss that hits the L2 DTLB
walk_ref    = 14        # estimate: used only with the memory model off; the L2 latency
pf_delivery = 550       # estimate: as the Intel profiles ([lastweek]); no Zen 4 figure found
syscall     = 120       # estimate: as the Intel profiles
exit_roundtrip = 1100   # estimate: no public VMRUN + #VMEXIT round-trip figure for Zen 4; above Intel's ~780 because VMRUN saves and loads more state
vmm_ref     = 8         # estimate: one table entry in a VMM handler, between an L1 (4) and an L2 (14) hit

# VMM software work per exit, table-entry reads/writes excluded (charged as
# vmm_ref each). All estimates: a KVM-like handler path, as the Intel profiles.
exit_handler.ept_violation = 1200   # estimate: #VMEXIT(NPF) -> lazy backing of one gpa
exit_handler.exception_nmi = 1800   # estimate: intercepted #PF under shadow paging: guest walk, fill or inject
exit_handler.cr_access     = 700    # estimate: CR3 write under shadow paging: root lookup and switch
exit_handler.invlpg        = 500    # estimate: INVLPG under shadow paging: drop one shadow entry
exit_handler.ept_misconfig = 900    # estimate: MMIO-style fast path

# The core timing model (core/core.h): the out-of-order resources that
# decide what overlaps.
rob          = 320      # [AMD19h]: Zen 4 retire queue, 320 entries
store_buffer = 64       # [AMD19h]: 64-entry store queue
store_rfos   = 1        # measured here: a store-only loop striding 4097 bytes over an L2-resident (256 KiB) array retires one store per 8.8-11 cycles at L2 latency 14 (runs differ with the machine's load), i.e. 1.3-1.6 line fetches in flight; the figure is a whole number, and 1 is nearer both that and memsweep at 32 MiB (scripts/calibrate.sh): 2 halves the modeled memsweep time
mshrs        = 24       # [AMD19h]: the L1D tracks up to 24 outstanding misses (miss address buffers)
walkers      = 6        # [AMD19h]: six page table walkers

# Memory model: caches over host-physical addresses, then DRAM (latencies
# are load-to-use cycles when that level serves).
cache.line  = 64          # [AMD19h]: 64-byte lines
cache.l1d   = 32k 8 4     # [AMD19h]: L1D 32 KiB, 8-way, 4 cycles; lscpu here: 32 KiB per core
cache.l2    = 1m 8 14     # [AMD19h]: L2 1 MiB, 8-way, 14 cycles; lscpu here: 1 MiB per core
cache.llc   = 32m 16 50   # [AMD19h]: L3 32 MiB per CCD, 16-way, ~50 cycles; lscpu here: 32 MiB
dram_latency = 380        # estimate: ~110 ns to DDR5 on Genoa [ChipsZen4] at 3.4 GHz
walk_skips_l1d = 0       # estimate: no family 19h event splits walker reads by level; through the L1D, as calibrated on this host (results/calibration.txt)

# Non-memory exits (issue 15): L0's handler per reason (VMX names stand for
# the SVM intercepts), table references excluded. All estimates.
exit_handler.cpuid              = 300   # estimate: KVM's CPUID emulation (svm cpuid_interception)
exit_handler.msr_read           = 350   # estimate: rdmsr_interception
exit_handler.msr_write          = 400   # estimate: wrmsr_interception
exit_handler.xsetbv             = 300   # estimate: xsetbv_interception
exit_handler.hlt                = 600   # estimate: halt_interception up to blocking
exit_handler.external_interrupt = 800   # estimate: the host's IRQ handler for the tick
exit_handler.vmread             = 0     # AMD-V has no VMREAD: never taken
exit_handler.vmwrite            = 0     # AMD-V has no VMWRITE: never taken
exit_handler.vmresume           = 0     # AMD-V has no VMRESUME: never taken
exit_handler.vmlaunch           = 0     # AMD-V has no VMLAUNCH: never taken

# Nested VMX (vmm/nested.c): AMD-V has no VMCS; nested runs are refused
# on this profile (nested SVM is not modeled), so these are all 0.
vmx            = 0      # AMD-V, not VT-x
vmcs_shadowing = 0      # no VMCS
nested.reflect            = 0   # not applicable: no nested VMX on AMD-V
nested.shadow_field       = 0   # not applicable
nested.vmentry            = 0   # not applicable
nested.prepare_full       = 0   # not applicable
nested.prepare_light      = 0   # not applicable
nested.msr_merge_bit      = 0   # not applicable
nested.msr_merge_word     = 0   # not applicable
nested.msr_bitmap_memset  = 0   # not applicable
nested.debugctl_read      = 0   # not applicable
nested.vmcs_shadow_access = 0   # not applicable
