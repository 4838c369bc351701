# goldencove.profile - Intel Xeon Platinum 8480+ (Sapphire Rapids, Golden
# Cove cores, Intel 7), VT-x with EPT (A/D flags), VPID, PCID. Short source
# names ([IntelOpt], [ChipsGLC], ...) are expanded in profiles/README.md.

name        = goldencove
description = Intel Xeon Platinum 8480+ (Sapphire Rapids, Golden Cove cores, 3.0 GHz all-core), VT-x with EPT A/D
clock_ghz   = 3.0       # estimate: Intel ARK gives 2.0 GHz base, 3.8 GHz max turbo; ~3.0 GHz all-core turbo
maxphyaddr  = 46        # estimate: Sapphire Rapids servers commonly report 46 physical address bits (52 is the architectural max)
vpid        = 1         # [IntelOpt]: VPID since Nehalem
pcid        = 1         # [IntelSDM]: PCID since Westmere
gbpages     = 1         # [IntelOpt] Golden Cove TLB table: 1G DTLB entries
ept_ad      = 1         # [IntelSDM]: EPT accessed/dirty flags since Haswell

# TLBs [IntelOpt, Golden Cove TLB table]. LRU stands in for pseudo-LRU.
tlb.l1.0    = 96 6 4k lru        # [IntelOpt]: load DTLB 96 entries, 6-way, 4K pages (64 before Golden Cove, [cpunews])
tlb.l1.1    = 32 4 2m lru        # [IntelOpt]: load DTLB 32 entries, 4-way, 2M/4M pages
tlb.l1.2    = 8 8 1g lru         # [IntelOpt]: load DTLB 8 entries, fully associative, 1G pages
# The 16-entry store-only DTLB is not modeled: the engine has one L1 data TLB.
tlb.l2.0    = 2048 16 4k,2m lru  # [IntelOpt]: STLB 2048 entries, 16-way, shared by 4K and 2M
tlb.l2.1    = 1024 8 1g lru      # estimate: 1G STLB part taken as 1024 entries 8-way as reported for Sunny Cove; verify

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
cpi         = 0.45      # estimate: 6-wide core, simple integer loops above IPC 2
l1d_hit     = 5         # [ChipsGLC]: Golden Cove's 48 KiB L1D has a 5-cycle latency
tlb_l2_hit  = 8         # estimate: no published figure; between Skylake's ~9 and a larger, faster-clocked design
walk_ref    = 16        # estimate: no cache model yet; ~ the L2 latency of the 2 MiB Sapphire Rapids L2 (~15-16 cycles)
pf_delivery = 500       # estimate: [lastweek] ~440 + ~270 cycles on Haswell-EP including bookkeeping; assumed a little faster
syscall     = 110       # estimate: bare SYSCALL + SYSRET, no kernel work, no mitigations
exit_roundtrip = 780    # estimate: no public hardware-only figure found; [Agesen12] shows the round trip flat at 761-784 from Westmere on
vmm_ref     = 9         # estimate: one table entry in a VMM handler, between an L1 (5) and an L2 (~16) hit

# VMM software work per exit, table-entry reads/writes excluded (charged as
# vmm_ref each). All estimates: a KVM-like handler path, ~0.9x Skylake.
exit_handler.ept_violation = 1100   # estimate: EPT violation -> lazy backing of one gpa
exit_handler.exception_nmi = 1600   # estimate: intercepted #PF under shadow paging: guest walk, fill or inject
exit_handler.cr_access     = 650    # estimate: CR3 write under shadow paging: root lookup and switch
exit_handler.invlpg        = 450    # estimate: INVLPG under shadow paging: drop one shadow entry
exit_handler.ept_misconfig = 800    # estimate: MMIO-style fast path

# The core timing model (core/core.h): the out-of-order resources that
# decide what overlaps.
rob          = 512      # [IntelOpt]: Golden Cove 512-entry reorder buffer
store_buffer = 114      # [IntelOpt]: Golden Cove 114 store buffer entries
store_rfos   = 2        # estimate: no published figure; RFOs issued for the oldest few senior stores
mshrs        = 16       # [IntelOpt]: Golden Cove 16 L1D fill buffers
walkers      = 4        # [IntelOpt]: Golden Cove has four page walkers (two before)

# Memory model: caches over host-physical addresses, then DRAM (latencies
# are load-to-use cycles when that level serves). The LLC is the whole
# socket's: one core reaches every slice of the mesh, so a single vCPU
# sees all of it, at the mesh's latency.
cache.line  = 64          # [IntelOpt]: 64-byte lines
cache.l1d   = 48k 12 5    # [ChipsGLC]: 48 KiB L1D, 5 cycles; 12-way [HWTimesSPR]
cache.l2    = 2m 16 16    # [HWTimesSPR]: Sapphire Rapids L2 2 MiB, 16-way; 16 cycles an estimate (client Golden Cove's 1.25 MiB L2 is ~15)
cache.llc   = 104m 13 100 # Intel ARK: 8480+ has 105 MiB L3 (56 x 1.875 MiB slices, 15-way); modeled 104 MiB 13-way since 15 ways x 114688 sets is not a power of two. Latency an estimate: ~33 ns over the mesh [ChipsSPR] at 3.0 GHz
dram_latency = 330        # estimate: ~110 ns to DDR5-4800 through the mesh at 3.0 GHz
walk_skips_l1d = 0       # estimate: the walker reads through the L1D as on Haswell/Broadwell (PAGE_WALKER_LOADS.DTLB_L1 [IntelSDM-PMU])

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
