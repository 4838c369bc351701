/*
 * vcpu.c - the access path of one guest access, privileged guest
 * operations, and the one place exits and walks are counted.
 *
 *   g_ld/g_st ──fast──> memoized L1 TLB hit ──> host memory
 *        │ slow
 *        ▼
 *   vcpu_access_slow: TLB (L1, L2) ─miss─> mmu_ops->fill
 *        MMU_OK       fill the TLB, access host memory
 *        MMU_FAULT    deliver #PF to the guest OS handler, retry
 *        MMU_EXIT     count the exit, retry (the instruction restarts)
 *   (every fill but MMU_STOP was one hardware walk, counted as such)
 *        MMU_EMULATED count the exit; the VMM completed the access
 *        MMU_STOP     the VM cannot go on
 */
#include <asm/vmx.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "nested.h"
#include "vmm.h"

/* An access retried this many times without completing is an engine bug:
 * every exit handler must make progress. */
#define MAX_RETRIES	64
/* #PF handlers nested this deep: the guest OS is faulting in its own
 * fault path (a double fault on real hardware). */
#define MAX_PF_DEPTH	8

void vcpu_stop(struct vcpu *cpu, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cpu->stop_msg, sizeof(cpu->stop_msg), fmt, ap);
	va_end(ap);
	BUG_ON(cpu->stop_jmp == NULL, "VM stopped with nowhere to return");
	longjmp(*cpu->stop_jmp, 1);
}

/* VM entry: without VPID tagging every entry starts with an empty TLB. */
static void vm_entry(struct vcpu *cpu)
{
	if (!cpu->vm->prof->vpid)
		tlb_flush_all(&cpu->mmu.tlb);
}

void vcpu_exit_charge(struct vcpu *cpu, unsigned reason, double price, double transition)
{
	BUG_ON(reason >= VMM_NR_EXIT_REASONS, "exit reason out of range");
	/* count, by the level that was running */
	cpu->st.exits[reason]++;
	cpu->st.level_exits[nested_level(cpu) == 2][reason]++;
	/* time: an exit is serialising; its stores drain first */
	cpu->st.exit_cycles[reason] += price;
	cpu->st.exit_transition += transition;
	vmm_exit_sample(&cpu->st.exit_dist[reason], cpu->st.exits[reason] == 1, price);
	core_serialize(&cpu->core, CORE_EXIT, core_ticks(price), true);
	/* and back into the guest */
	vm_entry(cpu);
}

void vcpu_exit(struct vcpu *cpu, unsigned reason, enum mmu_exit_kind kind,
	       const struct mmu_work *work)
{
	BUG_ON(reason >= VMM_NR_EXIT_REASONS, "exit reason out of range");
	switch (kind) {
	case MMU_EXIT_HIDDEN:	cpu->st.hidden_faults++; break;
	case MMU_EXIT_TRUE:	cpu->st.true_faults++; break;
	case MMU_EXIT_TRACE:	cpu->st.trace_faults++; break;
	case MMU_EXIT_PLAIN:	break;
	}
	cpu->st.handler_reads += work->handler_reads;
	cpu->st.handler_writes += work->handler_writes;
	if (cpu->nest) {
		/* L0 decides: handle it, or reflect it to L1 (nested.c) */
		nested_exit(cpu, reason, work);
		return;
	}
	vcpu_exit_charge(cpu, reason, vmm_exit_price(cpu->mmu.costs, reason, work),
			 cpu->mmu.costs->exit_roundtrip);
}

void vcpu_finish(struct vcpu *cpu)
{
	core_finish(&cpu->core);
	memcpy(cpu->st.stack, cpu->core.stack, sizeof(cpu->st.stack));
}

/*
 * The references of the walk a fill made, as core time: each reference
 * is a dependent load served by the level the memory model named (with
 * the model off, walk_ref each). before: the walker's counts by level
 * ahead of the fill.
 */
static core_time walk_time(const struct vcpu *cpu, const uint64_t before[MEM_DRAM + 1],
			   const struct mmu_work *w)
{
	const uint64_t *now = cpu->st.mem_refs[HREF_WALK];
	core_time t = 0;
	unsigned l;

	if (!cpu->mmu.mem)
		return (core_time)(w->walk_reads + w->walk_ad_writes) * cpu->walk_ref;
	for (l = MEM_L1; l <= MEM_DRAM; l++)
		t += (core_time)(now[l] - before[l]) * cpu->core.lat[l];
	return t;
}

/* The hardware walker's references and cache hits of one fill. */
static void count_walk_work(struct vcpu *cpu, const struct mmu_work *w)
{
	cpu->st.walk_reads += w->walk_reads;
	cpu->st.walk_ad_writes += w->walk_ad_writes;
	cpu->st.psc_hits += w->psc_hits;
	cpu->st.ntlb_hits += w->ntlb_hits;
	cpu->st.shadow_created += w->sp_created;
	cpu->st.shadow_zapped += w->sp_zapped;
	cpu->st.flood_zaps += w->flood_zaps;
	cpu->st.unsync_pages += w->unsyncs;
	cpu->st.resync_pages += w->resyncs;
	cpu->st.pde_zapped += w->pde_zapped;
	cpu->st.spurious_faults += w->spurious;
	cpu->st.vmm_tlb_flushes += w->tlb_flush;
}

/* One hardware walk (a TLB-miss fill, or an EPT walk of a guest-physical
 * access): counted with the references it made, whatever its outcome. */
static void count_walk(struct vcpu *cpu, const struct mmu_work *w)
{
	cpu->st.walks++;
	vmm_walk_sample(cpu->st.walk_hist, w->walk_reads + w->walk_ad_writes);
}

/* Move `size` bytes between host memory at hpa and *val. */
static void do_access(struct vcpu *cpu, hpa_t hpa, unsigned acc, unsigned size,
		      uint64_t *val, uint8_t tlb, core_time walk)
{
	uint8_t *p = cpu->mmu.hmem.base + hpa;

	vcpu_data_ref(cpu, hpa, (acc & ACC_WRITE) != 0, tlb, walk);
	/* little-endian host, like the guest; constant-size copies (one
	 * move each), not a libc call */
	if (acc & ACC_WRITE) {
		switch (size) {
		case 1: memcpy(p, val, 1); break;
		case 2: memcpy(p, val, 2); break;
		case 4: memcpy(p, val, 4); break;
		default: memcpy(p, val, 8); break;
		}
	} else {
		uint8_t b;
		uint16_t h;
		uint32_t w;

		switch (size) {
		case 1: memcpy(&b, p, 1); *val = b; break;
		case 2: memcpy(&h, p, 2); *val = h; break;
		case 4: memcpy(&w, p, 4); *val = w; break;
		default: memcpy(val, p, 8); break;
		}
	}
}

/*
 * A translation whose page lies (partly) outside host memory: the access
 * goes nowhere, as a physical access to nonexistent memory does on x86
 * (reads return all ones, writes are dropped). Such a page is never put
 * in the TLB, so the fast path cannot reach it.
 */
static void unbacked_access(struct vcpu *cpu, unsigned acc, unsigned size, uint64_t *val,
			    uint8_t tlb, core_time walk)
{
	struct core_access a = { .store = (acc & ACC_WRITE) != 0, .level = MEM_L1,
				 .tlb = tlb, .walk = walk };

	/* Timed as an L1 hit: the bus answers, nothing is cached. */
	core_access(&cpu->core, &a);
	cpu->st.unbacked_accesses++;
	if (!(acc & ACC_WRITE))
		*val = size == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * size)) - 1;
}

static bool page_in_host(const struct hmem *h, hpa_t base, unsigned level)
{
	return hmem_ptr(h, base, LEVEL_SIZE(level)) != NULL;
}

static void deliver_pf(struct vcpu *cpu, gva_t va, uint32_t ec)
{
	uint8_t cpl = cpu->mmu.sregs.cpl;
	int r;

	if (cpu->pf_depth >= MAX_PF_DEPTH)
		vcpu_stop(cpu, "double fault: #PF nested %u deep at %#" PRIx64,
			  cpu->pf_depth, va);
	if (!cpu->pf_handler)
		vcpu_stop(cpu, "#PF at %#" PRIx64 " (error code %#x) with no handler",
			  va, ec);
	cpu->st.guest_page_faults++;
	core_serialize(&cpu->core, CORE_PF, core_ticks(cpu->mmu.costs->pf_delivery), false);
	cpu->pf_depth++;
	vcpu_set_cpl(cpu, 0);
	r = cpu->pf_handler(cpu, va, ec, cpu->pf_opaque);
	vcpu_set_cpl(cpu, cpl);
	cpu->pf_depth--;
	if (r != 0)
		vcpu_stop(cpu, "guest could not handle #PF at %#" PRIx64
			  " (error code %#x)", va, ec);
}

/* Paging off: the address is guest-physical; no TLB. */
static void phys_access(struct vcpu *cpu, gpa_t gpa, unsigned acc, unsigned size,
			uint64_t *val)
{
	struct mmu *m = &cpu->mmu;
	unsigned tries;

	for (tries = 0; tries < MAX_RETRIES; tries++) {
		struct mmu_fault f = { .va = gpa, .access = acc, .size = size,
				       .store_val = *val };
		uint64_t before[MEM_DRAM + 1];
		enum mmu_result r;
		hpa_t hpa;
		core_time walk;

		memcpy(before, cpu->st.mem_refs[HREF_WALK], sizeof(before));
		r = m->ops->phys(m, &f);
		hpa = f.hpa + (gpa & (PAGE_SIZE - 1));
		count_walk_work(cpu, &f.work);
		/* Under EPT a physical access is translated by an EPT walk. */
		if (f.work.walk_reads + f.work.walk_ad_writes)
			count_walk(cpu, &f.work);
		walk = walk_time(cpu, before, &f.work);
		switch (r) {
		case MMU_OK:
			cpu->st.phys_accesses++;
			if (f.unbacked || !hmem_ptr(&m->hmem, hpa, size))
				unbacked_access(cpu, acc, size, val,
						walk ? CORE_TLB_WALK : CORE_TLB_L1, walk);
			else
				do_access(cpu, hpa, acc, size, val,
					  walk ? CORE_TLB_WALK : CORE_TLB_L1, walk);
			return;
		case MMU_EXIT:
			core_serialize(&cpu->core, CORE_WALK, walk, false);
			vcpu_exit(cpu, f.exit_reason, f.exit_kind, &f.work);
			continue;
		case MMU_STOP:
			vcpu_stop(cpu, "%s", f.stop);
		case MMU_EMULATED:
		case MMU_FAULT:
			break;
		}
		BUG_ON(1, "a physical access is neither emulated nor page-faults");
	}
	BUG_ON(1, "physical access does not converge");
}

static bool canonical(const struct walk_mode *mode, gva_t va)
{
	unsigned bits = mode->levels == 5 ? 57 : 48;
	int64_t s = (int64_t)(va << (64 - bits)) >> (64 - bits);

	return (uint64_t)s == va;
}

/* The access kind of a paging-on access at va (#GP when va is not
 * canonical), with ACC_USER at CPL 3. */
static unsigned paging_access(struct vcpu *cpu, gva_t va, unsigned acc)
{
	if (!canonical(&cpu->mmu.mode, va))
		vcpu_stop(cpu, "#GP: non-canonical %s %#" PRIx64,
			  (acc & ACC_FETCH) ? "fetch at" : "address", va);
	if (cpu->mmu.sregs.cpl == 3)
		acc |= ACC_USER;
	return acc;
}

/*
 * One TLB miss on va for access acc (size bytes, val for a write the VMM
 * may emulate): the backend's fill, its walk counted and its time in
 * *walk. What ends the attempt is dealt with here, the faulting walk or
 * the exit timed at the head of the window first (nothing overlaps
 * them): a #PF is delivered and an exit taken, and the caller looks up
 * again (MMU_FAULT, MMU_EXIT); a stop leaves. MMU_EMULATED (its exit
 * taken) and MMU_OK are the caller's to complete from f.
 */
static enum mmu_result miss_fill(struct vcpu *cpu, struct mmu_fault *f, gva_t va,
				 unsigned acc, unsigned size, uint64_t val, core_time *walk)
{
	struct mmu *m = &cpu->mmu;
	uint64_t before[MEM_DRAM + 1];
	enum mmu_result r;

	memset(f, 0, sizeof(*f));
	f->va = va;
	f->access = acc;
	f->size = size;
	f->store_val = val;
	memcpy(before, cpu->st.mem_refs[HREF_WALK], sizeof(before));
	r = m->ops->fill(m, f);
	count_walk_work(cpu, &f->work);
	*walk = walk_time(cpu, before, &f->work);
	if (r != MMU_STOP)
		count_walk(cpu, &f->work);
	switch (r) {
	case MMU_OK:
		break;
	case MMU_FAULT:
		core_serialize(&cpu->core, CORE_WALK, *walk, false);
		if (f->exited)
			vcpu_exit(cpu, f->exit_reason, f->exit_kind, &f->work);
		/* A #PF invalidates the TLB entries and the paging-structure
		 * cache entries for the faulting address (SDM 4.10.4.1). */
		tlb_pf_invalidate(&m->tlb, va);
		deliver_pf(cpu, va, f->error_code);
		break;
	case MMU_EXIT:
	case MMU_EMULATED:
		core_serialize(&cpu->core, CORE_WALK, *walk, false);
		vcpu_exit(cpu, f->exit_reason, f->exit_kind, &f->work);
		break;
	case MMU_STOP:
		vcpu_stop(cpu, "%s", f->stop);
	}
	return r;
}

/* The paged access of vcpu_access_slow: TLB, then the backend's fill,
 * retried after a #PF or an exit until it completes. */
static void access_paged(struct vcpu *cpu, struct mmu *m, gva_t va, unsigned acc,
			 unsigned size, uint64_t *val)
{
	unsigned tries, idx = ACC_IDX(acc);

	for (tries = 0; tries < MAX_RETRIES; tries++) {
		struct mmu_fault f;
		enum tlb_where where;
		struct tlb_memo *mm = tlb_lookup(&m->tlb, va, idx, &where);
		enum mmu_result r;
		core_time walk;

		if (mm) {
			cpu->st.accesses++;
			if (where == TLB_L1)
				cpu->st.l1_hits++;
			else
				cpu->st.l2_hits++;
			do_access(cpu, mm->hpa + (va & (PAGE_SIZE - 1)), acc, size, val,
				  where == TLB_L1 ? CORE_TLB_L1 : CORE_TLB_L2, 0);
			if (unlikely(cpu->ff))
				sample_fill(cpu, va, idx);
			return;
		}
		r = miss_fill(cpu, &f, va, acc, size, *val, &walk);
		if (r == MMU_FAULT || r == MMU_EXIT)
			continue;
		cpu->st.accesses++;
		if (r == MMU_EMULATED) {
			cpu->st.stores++;	/* the VMM stored it for the guest */
			BUG_ON(!(acc & ACC_WRITE), "only writes are emulated");
			return;
		}
		cpu->st.dtlb_misses++;
		if (f.unbacked) {
			unbacked_access(cpu, acc, size, val, CORE_TLB_WALK, walk);
			return;
		}
		BUG_ON(!page_in_host(&m->hmem, f.hpa, f.level),
		       "backend translated outside host memory");
		tlb_fill(&m->tlb, &(struct tlb_fill){
			.va = va, .hpa = f.hpa, .level = (uint8_t)f.level,
			.rights = (uint8_t)f.rights, .global = f.global,
			.dirty = f.dirty });
		do_access(cpu, f.hpa + (va & (LEVEL_SIZE(f.level) - 1)), acc, size, val,
			  CORE_TLB_WALK, walk);
		if (unlikely(cpu->ff))
			sample_fill(cpu, va, idx);
		return;
	}
	BUG_ON(1, "guest access does not converge");
}

void vcpu_access_slow(struct vcpu *cpu, gva_t va, unsigned acc, unsigned size,
		      uint64_t *val)
{
	struct mmu *m = &cpu->mmu;
	bool whole;

	BUG_ON(size == 0 || size > 8 || (size & (size - 1)) || (va & (size - 1)),
	       "guest access must be naturally aligned, 1 to 8 bytes");
	if (!(m->sregs.cr0 & CR0_PG)) {
		phys_access(cpu, va, acc, size, val);
		return;
	}
	acc = paging_access(cpu, va, acc);
	/* A fast-forward's phase counts the accesses that take this path too. */
	if (unlikely(cpu->ff) && --cpu->ff_until <= cpu->ff_acc)
		sample_step(cpu);
	/* in fast-forward: part of its population, not of what ran
	 * detailed (sample.h, sample_whole_begin) */
	whole = unlikely(cpu->ff);
	if (whole)
		sample_whole_begin(cpu);
	access_paged(cpu, m, va, acc, size, val);
	if (whole)
		sample_whole_end(cpu);
}

/*
 * An instruction fetch that missed the memoized L1 iTLB: the iTLB's
 * levels, then the backend's fill (the same walk a data access makes,
 * with ACC_FETCH: NX and SMEP apply, a fault sets PFERR_I). The fetched
 * line is not timed (L1I hits are hidden by the front end, and
 * instruction-cache misses are not modeled); an L2 iTLB lookup and a
 * walk stall fetch, so nothing overlaps them.
 */
void vcpu_fetch_slow(struct vcpu *cpu, gva_t va)
{
	struct mmu *m = &cpu->mmu;
	unsigned tries, acc = ACC_FETCH, idx;

	if (!(m->sregs.cr0 & CR0_PG))
		return;		/* boot code: no translation, nothing counted */
	acc = paging_access(cpu, va, acc);
	idx = ACC_IDX(acc);
	for (tries = 0; tries < MAX_RETRIES; tries++) {
		struct mmu_fault f;
		enum tlb_where where;
		core_time walk;
		enum mmu_result r;

		if (tlb_lookup(cpu->itlb, va, idx, &where)) {
			cpu->st.ifetches++;
			if (where == TLB_L2) {
				cpu->st.itlb_l2_hits++;
				core_serialize(&cpu->core, CORE_TLB,
					       core_ticks(m->costs->tlb_l2_hit), false);
			}
			return;
		}
		r = miss_fill(cpu, &f, va, acc, 1, 0, &walk);
		if (r == MMU_FAULT || r == MMU_EXIT)
			continue;
		BUG_ON(r == MMU_EMULATED, "an instruction fetch cannot be emulated");
		cpu->st.ifetches++;
		cpu->st.itlb_misses++;
		core_serialize(&cpu->core, CORE_WALK, walk, false);
		if (f.unbacked)
			return;
		BUG_ON(!page_in_host(&m->hmem, f.hpa, f.level),
		       "backend translated outside host memory");
		tlb_fill(cpu->itlb, &(struct tlb_fill){
			.va = va, .hpa = f.hpa, .level = (uint8_t)f.level,
			.rights = (uint8_t)f.rights, .global = f.global,
			.dirty = f.dirty });
		return;
	}
	BUG_ON(1, "instruction fetch does not converge");
}

int vcpu_itlb_init(struct vcpu *cpu, const struct tlb_config *cfg)
{
	struct tlb_config c = *cfg;
	int r;

	cpu->itlb = &cpu->mmu.tlb;
	if (cfg->l1[0].entries == 0)
		return 0;
	memset(c.psc, 0, sizeof(c.psc));	/* walks use the data side's */
	r = tlb_init(&cpu->itlb_split, &c);
	if (r < 0)
		return r;
	cpu->itlb = &cpu->itlb_split;
	tlb_set_peer(&cpu->mmu.tlb, cpu->itlb);
	return 0;
}

void vcpu_itlb_destroy(struct vcpu *cpu)
{
	if (cpu->itlb != &cpu->itlb_split)
		return;
	tlb_set_peer(&cpu->mmu.tlb, NULL);
	tlb_destroy(&cpu->itlb_split);
	cpu->itlb = &cpu->mmu.tlb;
}

/* The host pointer of va through the memoized L1 TLB entry just used
 * for an access of index idx, or NULL (nothing counted). */
static uint8_t *line_host(struct vcpu *cpu, gva_t va, unsigned idx)
{
	struct tlb_memo *m = tlb_hit_fast(&cpu->mmu.tlb, va, cpu->idx_user + idx);

	return m ? cpu->mmu.hmem.base + m->hpa + (va & (PAGE_SIZE - 1)) : NULL;
}

void g_stline(struct vcpu *cpu, gva_t va, const void *buf)
{
	const uint8_t *src = buf;
	uint8_t *p;
	uint64_t v;
	unsigned off;

	BUG_ON(va & (VMM_LINE - 1), "line access not aligned");
	core_line(&cpu->core);		/* a whole-line write (rep stos/movs) */
	p = vcpu_fast(cpu, va, 1);
	if (likely(p != NULL)) {
		memcpy(p, src, VMM_LINE);
		core_line_end(&cpu->core);
		return;
	}
	memcpy(&v, src, 8);
	vcpu_access_slow(cpu, va, ACC_WRITE, 8, &v);
	core_line_end(&cpu->core);
	if ((cpu->mmu.sregs.cr0 & CR0_PG) && (p = line_host(cpu, va, 1)) != NULL) {
		memcpy(p + 8, src + 8, VMM_LINE - 8);
		return;
	}
	for (off = 8; off < VMM_LINE; off += 8) {
		memcpy(&v, src + off, 8);
		g_st64(cpu, va + off, v);
	}
}

void g_ldline(struct vcpu *cpu, gva_t va, void *buf)
{
	uint8_t *dst = buf;
	uint8_t *p = vcpu_fast(cpu, va, 0);
	uint64_t v;
	unsigned off;

	BUG_ON(va & (VMM_LINE - 1), "line access not aligned");
	if (likely(p != NULL)) {
		memcpy(dst, p, VMM_LINE);
		return;
	}
	vcpu_access_slow(cpu, va, ACC_READ, 8, &v);
	memcpy(dst, &v, 8);
	if ((cpu->mmu.sregs.cr0 & CR0_PG) && (p = line_host(cpu, va, 0)) != NULL) {
		memcpy(dst + 8, p + 8, VMM_LINE - 8);
		return;
	}
	for (off = 8; off < VMM_LINE; off += 8) {
		v = g_ld64(cpu, va + off);
		memcpy(dst + off, &v, 8);
	}
}

/* Run a backend interception hook (CR3 write, INVLPG) and count its exit. */
static void intercept(struct vcpu *cpu,
		      enum mmu_result (*hook)(struct mmu *, struct mmu_fault *),
		      gva_t va)
{
	struct mmu_fault f;
	enum mmu_result r;

	if (!hook)
		return;
	memset(&f, 0, sizeof(f));
	f.va = va;
	r = hook(&cpu->mmu, &f);
	count_walk_work(cpu, &f.work);
	if (r == MMU_EXIT || r == MMU_EMULATED)
		vcpu_exit(cpu, f.exit_reason, f.exit_kind, &f.work);
	else if (r == MMU_STOP)
		vcpu_stop(cpu, "%s", f.stop);
}

void vcpu_write_cr0(struct vcpu *cpu, uint64_t val)
{
	struct mmu *m = &cpu->mmu;
	uint64_t old = m->sregs.cr0;

	m->sregs.cr0 = val;
	if ((val & CR0_PG) && (m->sregs.efer & EFER_LME))
		m->sregs.efer |= EFER_LMA;
	else if (!(val & CR0_PG))
		m->sregs.efer &= ~EFER_LMA;
	/* Toggling paging invalidates every TLB and PSC entry. */
	if ((old ^ val) & CR0_PG)
		tlb_flush_all(&m->tlb);
	mmu_derive_mode(m);
}

void vcpu_write_cr3(struct vcpu *cpu, uint64_t val)
{
	struct mmu *m = &cpu->mmu;
	uint16_t pcid = 0;

	cpu->st.cr3_writes++;
	/* MOV to CR3 is serialising (SDM 9.3). */
	core_serialize(&cpu->core, CORE_SERIAL, 0, true);
	m->sregs.cr3 = val & ~CR3_NOFLUSH;
	/*
	 * SDM 4.10.4.1: with CR4.PCIDE=0, MOV to CR3 invalidates PCID 0's
	 * non-global entries; with PCIDE=1 the new PCID's, unless bit 63
	 * (no-flush) is set.
	 */
	if (m->sregs.cr4 & CR4_PCIDE)
		pcid = (uint16_t)(val & CR3_PCID_MASK);
	tlb_set_context(&m->tlb, TC_CTX_VPID(m->tlb.ctx), pcid);
	if (!((m->sregs.cr4 & CR4_PCIDE) && (val & CR3_NOFLUSH)))
		tlb_flush_pcid(&m->tlb, pcid, true);
	intercept(cpu, m->ops->write_cr3, 0);
}

void vcpu_write_cr4(struct vcpu *cpu, uint64_t val)
{
	struct mmu *m = &cpu->mmu;
	uint64_t old = m->sregs.cr4;
	const uint64_t flushing = CR4_PGE | CR4_PAE | CR4_PSE | CR4_SMEP | CR4_LA57;
	/* Changing PGE (and the other paging-structure bits), or clearing
	 * PCIDE, invalidates everything, globals included. */
	bool flush = ((old ^ val) & flushing) || ((old & CR4_PCIDE) && !(val & CR4_PCIDE));

	m->sregs.cr4 = val;
	if (flush)
		tlb_flush_vpid(&m->tlb, TC_CTX_VPID(m->tlb.ctx));
	if (!(val & CR4_PCIDE))
		tlb_set_context(&m->tlb, TC_CTX_VPID(m->tlb.ctx), 0);
	mmu_derive_mode(m);
	/* A flushing write with paging on is the backend's to see (shadow
	 * paging must drop what the guest now expects re-read). Writes with
	 * paging off, the boot's, are not intercepted. */
	if (flush && (m->sregs.cr0 & CR0_PG))
		intercept(cpu, m->ops->write_cr4, 0);
}

void vcpu_write_efer(struct vcpu *cpu, uint64_t val)
{
	struct mmu *m = &cpu->mmu;

	m->sregs.efer = (val & ~EFER_LMA) | (m->sregs.efer & EFER_LMA);
	mmu_derive_mode(m);
}

void vcpu_invlpg(struct vcpu *cpu, gva_t va)
{
	cpu->st.invlpgs++;
	/* INVLPG is serialising (SDM 9.3). */
	core_serialize(&cpu->core, CORE_SERIAL, 0, true);
	tlb_invlpg(&cpu->mmu.tlb, va);
	intercept(cpu, cpu->mmu.ops->invlpg, va);
}

void vcpu_set_cpl(struct vcpu *cpu, uint8_t cpl)
{
	cpu->mmu.sregs.cpl = cpl;
	cpu->idx_user = cpl == 3 ? 3u : 0u;
	core_set_cpl3(&cpu->core, cpl == 3);
	if (unlikely(cpu->smp != NULL))
		sample_cpl(cpu, cpl);
}

void vcpu_syscall(struct vcpu *cpu)
{
	cpu->st.syscalls++;
	core_serialize(&cpu->core, CORE_SYSCALL, core_ticks(cpu->mmu.costs->syscall), false);
}
