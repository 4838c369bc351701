# skylake.profile - Intel Core i7-6700K (Skylake client, 14 nm), 4 cores,
# 4.0 GHz, VT-x with EPT (A/D flags), VPID, PCID. Short source names
# ([IntelOpt], [AnandSKL], ...) are expanded in profiles/README.md.

name        = skylake
description = Intel Core i7-6700K (Skylake client, 14 nm, 4.0 GHz), VT-x with EPT A/D, VPID, PCID
clock_ghz   = 4.0       # Intel ARK: i7-6700K base frequency 4.0 GHz
maxphyaddr  = 39        # estimate: Skylake client parts report 39 physical address bits (CPUID 8000_0008h)
vpid        = 1         # [IntelOpt]: VPID since Nehalem
pcid        = 1         # [IntelSDM]: PCID since Westmere
gbpages     = 1         # [IntelOpt] Skylake TLB table: 1G DTLB and STLB entries
ept_ad      = 1         # [IntelSDM]: EPT accessed/dirty flags since Haswell

# TLBs [IntelOpt, Skylake client TLB table; AnandSKL]. LRU stands in for
# the hardware's pseudo-LRU.
tlb.l1.0    = 64 4 4k lru        # [IntelOpt], [AnandSKL]: DTLB 64 entries, 4-way, 4K pages
tlb.l1.1    = 32 4 2m lru        # [IntelOpt]: DTLB 32 entries, 4-way, 2M/4M pages
tlb.l1.2    = 4 4 1g lru         # [IntelOpt]: DTLB 4 entries, fully associative, 1G pages
tlb.l2.0    = 1536 12 4k,2m lru  # [IntelOpt], [AnandSKL]: STLB 1536 entries, 12-way, shared by 4K and 2M
tlb.l2.1    = 16 4 1g lru        # [IntelOpt]: STLB 16 entries, 4-way, 1G pages

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

# Costs, in core cycles. [IntelOpt] Skylake client: L1D 4, L2 12, L3 44.
cpi         = 0.5       # estimate: 4-wide core, simple integer loops near IPC 2
l1d_hit     = 4         # [IntelOpt], [AnandSKL]: L1D 4 cycles
tlb_l2_hit  = 9         # estimate: [7cpu] Skylake reports ~9 cycles for an L1 DTLB miss that hits the STLB; not re-verified
walk_ref    = 12        # estimate: no cache model yet; ~ the 12-cycle L2 latency [IntelOpt], walks mostly hitting L1/L2
pf_delivery = 550       # estimate: [lastweek] ~440 + ~270 cycles on Haswell-EP including bookkeeping
syscall     = 120       # estimate: bare SYSCALL + SYSRET; a whole pre-2018 Linux getpid was ~100 ns (~400 cycles) with entry code
exit_roundtrip = 780    # estimate: no public hardware-only figure found; [Agesen12] shows the round trip flat at 761-784 from Westmere on
vmm_ref     = 8         # estimate: one table entry in a VMM handler, between an L1 (4) and an L2 (12) hit

# VMM software work per exit, table-entry reads/writes excluded (charged as
# vmm_ref each). All estimates: a KVM-like handler path.
exit_handler.ept_violation = 1200   # estimate: EPT violation -> lazy backing of one gpa
exit_handler.exception_nmi = 1800   # estimate: intercepted #PF under shadow paging: guest walk, fill or inject
exit_handler.cr_access     = 700    # estimate: CR3 write under shadow paging: root lookup and switch
exit_handler.invlpg        = 500    # estimate: INVLPG under shadow paging: drop one shadow entry
exit_handler.ept_misconfig = 900    # estimate: MMIO-style fast path

# The core timing model (core/core.h): the out-of-order resources that
# decide what overlaps.
rob          = 224      # [IntelOpt]: Skylake 224-entry reorder buffer
store_buffer = 56       # [IntelOpt]: Skylake 56 store buffer entries
store_rfos   = 2        # estimate: no published figure; RFOs issued for the oldest few senior stores
mshrs        = 12       # [IntelOpt]: Skylake 12 L1D fill buffers
walkers      = 2        # [IntelOpt]: two page walkers since Broadwell

# Memory model: caches over host-physical addresses, then DRAM (latencies
# are load-to-use cycles when that level serves).
cache.line  = 64          # [IntelOpt]: 64-byte lines
cache.l1d   = 32k 8 4     # [IntelOpt], [AnandICL]: L1D 32 KB, 8-way, 4 cycles
cache.l2    = 256k 4 12   # [IntelOpt], [AnandICL]: L2 256 KB, 4-way, 12 cycles
cache.llc   = 8m 16 44    # Intel ARK: i7-6700K has 8 MB L3; 16-way [AnandICL]; 44 cycles [IntelOpt] (DESIGN.md; 7-cpu reports 42)
dram_latency = 250        # estimate: ~42 cycles + ~51 ns for dual-channel DDR4 at 4.0 GHz, as 7-cpu reports for the i7-6700 (not re-verified)
walk_skips_l1d = 0       # estimate: the walker reads through the L1D as on Haswell/Broadwell (PAGE_WALKER_LOADS.DTLB_L1 [IntelSDM-PMU]); Skylake's own events do not say

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
vmcs_shadowing = 1      # [IntelSDM]: VMCS shadowing since Haswell
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
