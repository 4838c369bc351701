# phenom2-n620.profile - AMD Phenom II N620: K10 ("Champlain"), 2 cores,
# 45 nm, 2.8 GHz, 1 MiB L2 per core, no L3; AMD-V with nested paging (NPT,
# AMD's name for what the keys below call EPT: ntlb and ept_psc describe the
# NPT walk structures). Short source names ([AMD10h], ...) are expanded in
# profiles/README.md.
#
# Exit reasons use the VMX names the engine counts by: ept_violation stands
# for #VMEXIT(NPF), exception_nmi for an intercepted #PF, cr_access for a
# CR3 write intercept, invlpg for the INVLPG intercept.

name        = phenom2-n620
description = AMD Phenom II N620 (K10, 2 cores, 2.8 GHz, AMD-V with nested paging)
clock_ghz   = 2.8       # AMD product specification of the N620 (2.8 GHz, no boost)
maxphyaddr  = 48        # [AMD10h]: Family 10h implements 48 physical address bits
vpid        = 1         # AMD-V ASIDs tag TLB entries, so VMRUN/#VMEXIT keep the TLB (AMD APM vol. 2, "TLB control")
pcid        = 0         # PCID is an Intel extension; K10 has none
gbpages     = 1         # [AMD10h]: Family 10h introduced 1 GB pages (CPUID Fn8000_0001 EDX Page1GB)
ept_ad      = 0         # per the project brief; note NPT walks on K10 do set A/D bits in nested entries

# TLBs. LRU stands in for the hardware's undisclosed (pseudo-LRU) policy.
tlb.l1.0    = 48 48 4k,2m,1g lru  # [AMD10h]: L1 DTLB 48 entries, fully associative, 4K/2M/1G pages
tlb.l2.0    = 512 4 4k lru        # [AMD10h]: L2 DTLB 512 entries, 4-way, 4K pages
tlb.l2.1    = 128 2 2m lru        # [AMD10h]: L2 DTLB 128 entries, 2-way, 2M pages. 1G pages: L1 only here (estimate); some Family 10h revisions add a 16-entry L2 1G TLB (BKDG event 45h unit mask 04h), unconfirmed for this one

# Page walk cache. [Barr10], [Bhargava08]: K10 has one small unified page
# walk cache (on the order of two dozen entries) of upper-level entries.
psc.pde     = 16 16     # estimate: share of the unified PWC given to PDEs, fully associative
psc.pdpte   = 4 4       # estimate: as above
psc.pml4e   = 4 4       # estimate: as above

# Nested paging structures. [Bhargava08]: K10 adds a nested TLB (gpa -> hpa
# of guest page-table pages) and lets the PWC hold nested entries too.
ntlb        = 16 16     # estimate: size not published; 16 entries fully associative
ept_psc.pde   = 8 8     # estimate: nested entries' share of the PWC
ept_psc.pdpte = 4 4     # estimate: as above
ept_psc.pml4e = 2 2     # estimate: as above

# Costs, in core cycles.
cpi         = 0.7       # estimate: K10 retires up to 3 macro-ops per cycle; simple integer loops run near IPC 1.4
l1d_hit     = 3         # [AMD10h]: 3-cycle L1D load-to-use latency
tlb_l2_hit  = 5         # estimate: no published K10 L1-miss/L2-hit DTLB penalty; a few cycles as on its contemporaries
walk_ref    = 13        # estimate: no cache model yet; the K10 walker reads through L2, reported at 12-15 cycles on Phenom II
pf_delivery = 700       # estimate: [lastweek] ~440 + ~270 cycles on Haswell-EP incl. bookkeeping; K10 assumed no faster
syscall     = 150       # estimate: bare SYSCALL + SYSRET, no kernel work, no mitigations
exit_roundtrip = 1300   # estimate: not in [Agesen12]; its contemporaries Penryn 1266, Nehalem 1009; K10 lacks VMCB clean bits [XenSVM], so every VMRUN reloads the full guest state
vmm_ref     = 8         # estimate: one table entry in a VMM handler, between an L1 (3) and an L2 (~13) hit

# VMM software work per exit, table-entry reads/writes excluded (those are
# charged as vmm_ref each). All estimates: a KVM-like handler path; K10 at
# ~1.4x the Skylake figures for its lower IPC and older software paths.
exit_handler.ept_violation = 1700   # estimate: #NPF -> nested fault handler, lazy backing of one gpa
exit_handler.exception_nmi = 2500   # estimate: intercepted #PF under shadow paging: guest walk, fill or inject
exit_handler.cr_access     = 1000   # estimate: CR3 write under shadow paging: root lookup and switch
exit_handler.invlpg        = 700    # estimate: INVLPG under shadow paging: drop one shadow entry
exit_handler.ept_misconfig = 1250   # estimate: MMIO-style fast path

# The core timing model (core/core.h): the out-of-order resources that
# decide what overlaps.
rob          = 72       # [AMD10h]: the instruction control unit retires from a 72-entry reorder buffer
store_buffer = 32       # [AMD10h]: the load/store unit's LS2 queue, 32 entries, holds stores until they commit
store_rfos   = 1        # estimate: no published figure; one store miss fetched at a time from the queue's head
mshrs        = 8        # estimate: [AMD10h] gives no count; 8 miss address buffers as on K8
walkers      = 1        # estimate: one hardware table walker per core; K10 serialises page walks (no public figure says otherwise)

# Memory model: caches over host-physical addresses, then DRAM (latencies
# are load-to-use cycles when that level serves). K10's L2 is an exclusive
# victim cache of L1 [TomsK10]; the model fills every level instead
# (non-inclusive, non-exclusive), which costs the L2 a little capacity.
cache.line  = 64          # [HWSecrets]: 64-byte lines in L1D and L2 (K8/K10)
cache.l1d   = 64k 2 3     # [AMD10h], [AnandPh2]: 64 KiB 2-way L1D, 3-cycle load-to-use
cache.l2    = 1m 16 15    # 1 MiB per core on the N620 (2 x 1 MiB, AMD product data); 16-way [HWSecrets]; 15 cycles as [AnandPh2] measures Phenom II's 512 KiB L2 (estimate for the 1 MiB one)
cache.llc   = 0 0 0       # the N620 (Champlain) has no L3
dram_latency = 280        # estimate: ~100 ns to DDR3-1066 SO-DIMMs at 2.8 GHz; without an L3 lookup K10 reaches DRAM ~10 ns sooner [TechReportPh]
walk_skips_l1d = 1       # [BKDG10h] events 7Dh/7Eh/7Fh count the table walker's reads as L2 requests, L2 misses and L2 fills ("TLB page table walks"); that it never probes or fills the L1D is the model's reading of them (estimate)

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
