# sandybridge.profile - Intel Core i7-2600 (Sandy Bridge, 32 nm), 4 cores,
# 3.4 GHz, VT-x with EPT and VPID. Short source names ([IntelOpt], [7cpu],
# ...) are expanded in profiles/README.md.

name        = sandybridge
description = Intel Core i7-2600 (Sandy Bridge, 32 nm, 3.4 GHz), VT-x with EPT and VPID
clock_ghz   = 3.4       # Intel ARK: i7-2600 base frequency 3.4 GHz
maxphyaddr  = 36        # estimate: Sandy Bridge client parts report 36 physical address bits (CPUID 8000_0008h)
vpid        = 1         # [IntelOpt]: VPID since Nehalem
pcid        = 1         # [IntelSDM]: PCID since Westmere
gbpages     = 1         # [IntelOpt] Sandy Bridge: the DTLB has 1G entries
ept_ad      = 0         # [IntelSDM]: EPT accessed/dirty flags arrive with Haswell

# TLBs [IntelOpt, Sandy Bridge TLB table]. LRU stands in for pseudo-LRU.
tlb.l1.0    = 64 4 4k lru     # [IntelOpt]: DTLB 64 entries, 4-way, 4K pages
tlb.l1.1    = 32 4 2m lru     # [IntelOpt]: DTLB 32 entries, 4-way, 2M/4M pages
tlb.l1.2    = 4 4 1g lru      # [IntelOpt]: DTLB 4 entries, 4-way (fully associative), 1G pages
tlb.l2.0    = 512 4 4k lru    # [IntelOpt]: STLB 512 entries, 4-way, 4K pages only

# Paging-structure caches: architectural [IntelSDM 4.10.3], sizes never
# published. Same estimates for every Intel profile.
psc.pde     = 32 4      # estimate: a few dozen PDE entries
psc.pdpte   = 4 4       # estimate: a handful of PDPTE entries
psc.pml4e   = 2 2       # estimate: a couple of PML4E entries

# EPT structures [IntelSDM 28.3]: sizes not published.
ntlb        = 16 4      # estimate: 16 entries, 4-way
ept_psc.pde   = 32 4    # estimate: as psc.pde
ept_psc.pdpte = 4 4     # estimate: as psc.pdpte
ept_psc.pml4e = 2 2     # estimate: as psc.pml4e

# Costs, in core cycles.
cpi         = 0.55      # estimate: 4-wide core with a uop cache, simple integer loops near IPC 1.8
l1d_hit     = 4         # [IntelOpt], [7cpu]: L1D 4 cycles (5 with complex addressing)
tlb_l2_hit  = 7         # estimate: about 7 cycles for an STLB hit, as on Nehalem [IntelOpt]; not re-verified
walk_ref    = 12        # estimate: no cache model yet; ~ the 11-12-cycle L2 latency [7cpu Sandy/Ivy Bridge]
pf_delivery = 600       # estimate: [lastweek] ~440 + ~270 cycles on Haswell-EP incl. bookkeeping
syscall     = 140       # estimate: bare SYSCALL + SYSRET, no kernel work, no mitigations
exit_roundtrip = 784    # [Agesen12] (DESIGN.md table): Sandy Bridge VM exit + VM entry
vmm_ref     = 8         # estimate: one table entry in a VMM handler, between an L1 (4) and an L2 (12) hit

# VMM software work per exit, table-entry reads/writes excluded (charged as
# vmm_ref each). All estimates: a KVM-like handler path, ~1.1x Skylake.
exit_handler.ept_violation = 1300   # estimate: EPT violation -> lazy backing of one gpa
exit_handler.exception_nmi = 2000   # estimate: intercepted #PF under shadow paging: guest walk, fill or inject
exit_handler.cr_access     = 800    # estimate: CR3 write under shadow paging: root lookup and switch
exit_handler.invlpg        = 550    # estimate: INVLPG under shadow paging: drop one shadow entry
exit_handler.ept_misconfig = 1000   # estimate: MMIO-style fast path

# The core timing model (core/core.h): the out-of-order resources that
# decide what overlaps.
rob          = 168      # [IntelOpt]: Sandy Bridge 168-entry reorder buffer
store_buffer = 36       # [IntelOpt]: Sandy Bridge 36 store buffer entries
store_rfos   = 2        # estimate: no published figure; RFOs issued for the oldest few senior stores
mshrs        = 10       # [IntelOpt]: 10 L1D line fill buffers
walkers      = 1        # estimate: one page miss handler before Broadwell added a second [IntelOpt, Broadwell]

# Memory model: caches over host-physical addresses, then DRAM (latencies
# are load-to-use cycles when that level serves).
cache.line  = 64          # [IntelOpt]: 64-byte lines
cache.l1d   = 32k 8 4     # [IntelOpt], [7cpu]: L1D 32 KB, 8-way, 4 cycles
cache.l2    = 256k 8 12   # [IntelOpt], [AnandICL]: L2 256 KB, 8-way, 12 cycles
cache.llc   = 8m 16 28    # Intel ARK: i7-2600 has 8 MB L3; 16-way [AnandICL]; 26-31 cycles by slice ([7cpu] Ivy Bridge, the same ring; [TechReportSNBE] 30): 28 taken
dram_latency = 230        # estimate: ~28 cycles + ~60 ns for dual-channel DDR3-1333 at 3.4 GHz
walk_skips_l1d = 0       # estimate: the walker reads through the L1D as Haswell's PAGE_WALKER_LOADS.DTLB_L1 [IntelSDM-PMU] shows for its successor

# Non-memory exits (issue 15): L0's handler per reason, table references
# excluded. Estimates of KVM's paths unless marked; the same figures as
# broadwell.profile, where they were fitted to a measurement.
exit_handler.cpuid              = 265   # estimate: kvm_emulate_cpuid with its table lookup, as broadwell (fitted there)
exit_handler.msr_read           = 350   # estimate: kvm_emulate_rdmsr of an intercepted MSR (DEBUGCTL), as broadwell
exit_handler.msr_write          = 400   # estimate: kvm_emulate_wrmsr (TSC deadline: an hrtimer start), as broadwell
exit_handler.xsetbv             = 300   # estimate: handle_xsetbv, kvm_set_xcr checks, as broadwell
exit_handler.hlt                = 600   # estimate: kvm_emulate_halt up to blocking the vCPU, as broadwell
exit_handler.external_interrupt = 800   # estimate: handle_external_interrupt: the host's IRQ handler for the tick, as broadwell
exit_handler.vmread             = 450   # fitted (broadwell, kvm-4.13 L2 CPUID loop): handle_vmread decode + vmcs12 lookup
exit_handler.vmwrite            = 500   # fitted (broadwell, kvm-4.13 L2 CPUID loop): handle_vmwrite decode + vmcs12 store
exit_handler.vmresume           = 1200  # fitted (broadwell, kvm-4.13 L2 CPUID loop): handle_vmresume decode, nested_vmx_check_* of the controls
exit_handler.vmlaunch           = 1200  # estimate: as vmresume (the same nested_vmx_run)

# Nested VMX (vmm/nested.c, issue 15).
vmx            = 1      # Intel VT-x
vmcs_shadowing = 0      # [IntelSDM]: VMCS shadowing arrived with Haswell; Sandy Bridge has none
nested.reflect            = 1500  # fitted (broadwell, kvm-4.13 L2 CPUID loop): nested_vmx_vmexit, ~60 vmcs02 fields synced to vmcs12, L1 host state, VMCS switch
nested.shadow_field       = 20    # estimate: one VMREAD + VMWRITE pair of copy_vmcs12_to_shadow / copy_shadow_to_vmcs12
nested.vmentry            = 1200  # fitted (broadwell, kvm-4.13 L2 CPUID loop): nested_vmx_run's checks, VMPTRLD of vmcs02, entry
nested.prepare_full       = 2500  # fitted (broadwell, kvm-4.13 L2 CPUID loop): prepare_vmcs02 of every field, ~120 VMWRITEs
nested.prepare_light      = 900   # estimate: prepare_vmcs02 of the shadowed fields only (dirty_vmcs12 clear)
nested.msr_merge_bit      = 14    # fitted: 4.13's per-MSR loop over 0x800-0x8ff; with the memset ~4,100 cycles, the ~4,000 the word-wise merge saves upstream
nested.msr_merge_word     = 10    # estimate: one 64-bit word of today's word-wise merge
nested.msr_bitmap_memset  = 500   # estimate: memset of the 4 KiB vmcs02 MSR bitmap (15% of L0's time in the talk's profile is more; cold lines)
nested.debugctl_read      = 100   # the upstream commit caching IA32_DEBUGCTL reports ~100 cycles saved per VM entry
nested.vmcs_shadow_access = 30    # estimate: a VMREAD/VMWRITE the shadow VMCS serves, microcoded
