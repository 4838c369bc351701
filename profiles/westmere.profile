# westmere.profile - Intel Xeon X5650 (Westmere-EP, 32 nm), 6 cores,
# 2.66 GHz with Turbo off, VT-x with EPT and VPID. Short source names
# ([IntelOpt], [7cpu], ...) are expanded in profiles/README.md.

name        = westmere
description = Intel Xeon X5650 (Westmere-EP, 32 nm, 2.66 GHz), VT-x with EPT and VPID
clock_ghz   = 2.66      # [7cpu] Westmere page: X5650 measured at 2666 MHz, Turbo off
maxphyaddr  = 40        # estimate: Xeon 5600 parts commonly report 40 physical address bits (CPUID 8000_0008h)
vpid        = 1         # [IntelOpt] Nehalem/Westmere: VPID tags TLB entries, exits keep the TLB
pcid        = 1         # [IntelSDM]: PCID (CPUID.01H:ECX[17]) first appears with Westmere
gbpages     = 1         # [IntelSDM]: 1 GB pages first appear with Westmere; [7cpu] measures them on the X5650
ept_ad      = 0         # [IntelSDM]: EPT accessed/dirty flags arrive with Haswell

# TLBs. LRU stands in for the hardware's undisclosed (pseudo-LRU) policy.
tlb.l1.0    = 64 4 4k lru     # [IntelOpt] Nehalem/Westmere: DTLB 64 entries, 4-way, 4K pages
tlb.l1.1    = 32 4 2m lru     # [IntelOpt]: DTLB 32 entries, 4-way, 2M/4M pages
# No 1G entries: [7cpu] "there are no dedicated TLB items that cover full
# 1 GB pages", so 1G pages are splintered into 2M entries.
tlb.l2.0    = 512 4 4k lru    # [IntelOpt]: STLB 512 entries, 4-way, 4K pages only

# Paging-structure caches: architectural [IntelSDM 4.10.3], sizes never
# published (Intel forum thread "Caching H/W of Address Translation
# Structures", 2012). Same estimates for every Intel profile.
psc.pde     = 32 4      # estimate: a few dozen PDE entries
psc.pdpte   = 4 4       # estimate: a handful of PDPTE entries
psc.pml4e   = 2 2       # estimate: a couple of PML4E entries

# EPT structures: guest-physical mappings and EPT paging-structure caches
# are architectural [IntelSDM 28.3], their sizes are not published.
ntlb        = 16 4      # estimate: 16 entries, 4-way
ept_psc.pde   = 32 4    # estimate: as psc.pde
ept_psc.pdpte = 4 4     # estimate: as psc.pdpte
ept_psc.pml4e = 2 2     # estimate: as psc.pml4e

# Costs, in core cycles.
cpi         = 0.6       # estimate: 4-wide core, simple integer loops near IPC 1.6
l1d_hit     = 4         # [7cpu] Westmere: L1 data cache latency 4 cycles
tlb_l2_hit  = 7         # estimate: [IntelOpt] quotes about 7 cycles for a DTLB miss that hits the STLB on Nehalem; not re-verified
walk_ref    = 10        # estimate: no cache model yet; ~ the 10-cycle L2 latency [7cpu], walks mostly hitting L1/L2
pf_delivery = 650       # estimate: [lastweek] ~440 + ~270 cycles on Haswell-EP incl. bookkeeping; Westmere assumed a little slower
syscall     = 150       # estimate: bare SYSCALL + SYSRET, no kernel work, no mitigations
exit_roundtrip = 761    # [Agesen12] (DESIGN.md table): Westmere VM exit + VM entry
vmm_ref     = 7         # estimate: one table entry in a VMM handler, between an L1 (4) and an L2 (10) hit

# VMM software work per exit, table-entry reads/writes excluded (charged as
# vmm_ref each). All estimates: a KVM-like handler path, ~1.2x Skylake.
exit_handler.ept_violation = 1450   # estimate: EPT violation -> lazy backing of one gpa
exit_handler.exception_nmi = 2200   # estimate: intercepted #PF under shadow paging: guest walk, fill or inject
exit_handler.cr_access     = 850    # estimate: CR3 write under shadow paging: root lookup and switch
exit_handler.invlpg        = 600    # estimate: INVLPG under shadow paging: drop one shadow entry
exit_handler.ept_misconfig = 1100   # estimate: MMIO-style fast path

# The core timing model (core/core.h): the out-of-order resources that
# decide what overlaps.
rob          = 128      # [IntelOpt]: Nehalem/Westmere 128-entry reorder buffer
store_buffer = 32       # [IntelOpt]: Nehalem/Westmere 32 store buffer entries
store_rfos   = 2        # estimate: no published figure; RFOs issued for the oldest few senior stores
mshrs        = 10       # [IntelOpt]: 10 L1D line fill buffers
walkers      = 1        # estimate: one page miss handler before Broadwell added a second [IntelOpt, Broadwell]

# Memory model: caches over host-physical addresses, then DRAM (latencies
# are load-to-use cycles when that level serves).
cache.line  = 64          # [7cpu] Westmere: 64 B/line
cache.l1d   = 32k 8 4     # [7cpu] Westmere: L1D 32 KB, 8-way, 4 cycles
cache.l2    = 256k 8 10   # [7cpu] Westmere: L2 256 KB, 8-way, 10 cycles
cache.llc   = 12m 12 41   # [7cpu] X5650: L3 12 MB 16-way, 40-42 cycles by core. Modeled 12-way: 16 ways x 12288 sets is not a power of two, so the capacity is kept and the ways change
dram_latency = 218        # [7cpu] X5650: 40 cycles + 67 ns to the local node's RAM = 40 + 178 cycles at 2.66 GHz
walk_skips_l1d = 0       # estimate: the walker reads through the L1D as Haswell's PAGE_WALKER_LOADS.DTLB_L1 [IntelSDM-PMU] shows for later Intel cores

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
vmcs_shadowing = 0      # [IntelSDM]: VMCS shadowing arrived with Haswell; Westmere has none
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
