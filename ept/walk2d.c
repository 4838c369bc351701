/*
 * walk2d.c - the processor's side of EPT: the two-dimensional walk, its
 * three caches, and the EPT violations and misconfigurations it raises.
 * One walker (walker/) serves both dimensions; this file supplies its
 * memory hooks. Intel SDM Vol. 3, 29.3 (EPT) and 29.4 (caching).
 *
 * One TLB miss, n guest levels over an m-level EPT, no caches:
 *
 *   gva ─> CR3 (a gpa) ─EPT(m)─> hpa ─read gPML4E (a gpa) ─EPT(m)─> hpa
 *          ─read gPDPTE ─EPT(m)─> ... ─read the guest leaf ─> data gpa
 *          ─EPT(m)─> data hpa
 *
 * n guest reads, n + 1 EPT walks of m reads: (n + 1)(m + 1) - 1 refs.
 *
 * The caches, each switchable off (EPT_CACHE_*):
 *   guest PSC  m->tlb.psc, keyed by gva, tagged VPID/PCID: a hit starts
 *              the guest walk at a lower level with that guest table's
 *              *gpa*; the table's gpa still goes through NTLB/EPT.
 *              Real processors cache "combined" entries holding the
 *              host address of the next table too; this model's hit
 *              skips the upper guest reads and their EPT walks only.
 *   NTLB       gpa page -> host page of guest table pages (and of
 *              paging-off accesses, which hardware caches as
 *              guest-physical mappings), tagged by the EPTP.
 *   EPT PSC    the upper EPT entries of an EPT walk, keyed by gpa,
 *              tagged by the EPTP: a hit starts the EPT walk lower.
 * NTLB and EPT PSC only ever cache what a successful walk found and the
 * VMM only adds EPT mappings, so neither is ever invalidated (INVEPT).
 */
#include <asm/vmx.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ept_priv.h"

#define EPT_XWR		(EPTE_R | EPTE_W | EPTE_X)

/* ------------------------------------------------------------------ */
/* EPT entries in host memory                                          */
/* ------------------------------------------------------------------ */

/*
 * Raise the exit an EPT walk ended in: a violation (qualification bits
 * 0..5 from the walker, plus `qual`) or a misconfiguration (whose
 * description becomes the stop message).
 */
static void raise_exit(struct ept *e, const struct walk_req *r, gpa_t gpa,
		       uint32_t qual, enum walk_result res)
{
	struct mmu_fault *f = e->f;

	f->exited = true;
	f->exit_kind = MMU_EXIT_PLAIN;
	f->exit_gpa = gpa;
	if (res == WALK_MISCONFIG) {
		f->exit_reason = EXIT_REASON_EPT_MISCONFIG;
		f->exit_qual = 0;	/* a misconfiguration has none */
		snprintf(e->stop, sizeof(e->stop),
			 "EPT misconfiguration at gpa %#" PRIx64 ": level-%u EPT entry %#"
			 PRIx64 " (table at hpa %#" PRIx64 ") has reserved bits, W "
			 "without R or a bad memory type", gpa, r->level,
			 r->entry[r->level], r->table[r->level]);
		return;
	}
	f->exit_reason = EXIT_REASON_EPT_VIOLATION;
	f->exit_qual = r->error_code | qual;
}

/*
 * One EPT walk of gpa for acc (ACC_READ/WRITE/FETCH), started where the
 * EPT PSC lets and counted in the walk's work. Returns 0 with *r filled
 * (pa, level, rights, leaf), or EPT_ABORT_EXIT with the exit raised;
 * qual is ORed into a violation's qualification (GLA_VALID/FINAL,
 * READ for the ept_ad rule of paging-structure accesses).
 */
static int ept_translate(struct ept *e, gpa_t gpa, unsigned acc, uint32_t qual,
			 struct walk_req *r)
{
	struct mmu_work *w = &e->f->work;
	bool psc = !(e->off & EPT_CACHE_EPT_PSC);
	enum walk_result res;

	walk_req_init(r, WALK_FMT_EPT, gpa, e->root, acc, &e->emode, &e->host);
	if (psc)
		w->psc_hits += psc_walk_start(&e->psc, EPT_CTX, r);
	res = walk_run(r);
	w->walk_reads += r->reads;
	w->walk_ad_writes += r->ad_writes;
	BUG_ON(res == WALK_ABORT, "host memory hooks cannot abort");
	if (res != WALK_OK) {
		raise_exit(e, r, gpa, qual, res);
		return EPT_ABORT_EXIT;
	}
	if (psc)
		psc_fill_walk(&e->psc, EPT_CTX, r);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Guest-physical pages through the NTLB and the EPT                   */
/* ------------------------------------------------------------------ */

/* Do EPT rights (and, for a write under EPT A/D, the D bit) allow acc? */
static bool ept_cached_allows(unsigned rights, bool dirty, unsigned acc, bool ad)
{
	return walk_ept_allows(rights, acc) && (!(acc & ACC_WRITE) || dirty || !ad);
}

/*
 * The host page of the gpa page holding gpa, for access acc: from the
 * NTLB when on and it allows acc, else an EPT walk whose result fills
 * the NTLB. Returns 0, or EPT_ABORT_EXIT with the exit raised.
 */
static int gpa_page(struct ept *e, gpa_t gpa, unsigned acc, uint32_t qual,
		    struct ept_memo *out)
{
	bool ad = e->emode.ept_ad;
	struct tc_entry *te;
	struct walk_req r;

	if (!(e->off & EPT_CACHE_NTLB)) {
		te = tc_find(&e->ntlb, gpa, LEVEL_4K, EPT_CTX, false);
		if (te && ept_cached_allows(te->rights, (te->flags & TCE_DIRTY) != 0, acc, ad)) {
			e->f->work.ntlb_hits++;
			out->hpa = te->val;
			out->rights = te->rights;
			out->dirty = (te->flags & TCE_DIRTY) != 0;
			goto done;
		}
	}
	if (ept_translate(e, gpa, acc, qual, &r) < 0)
		return EPT_ABORT_EXIT;
	out->hpa = r.pa & PAGE_MASK;
	out->rights = (uint8_t)r.rights;
	out->dirty = (r.leaf & EPTE_D) != 0;
	if (!(e->off & EPT_CACHE_NTLB)) {
		te = tc_insert(&e->ntlb, gpa, LEVEL_4K, EPT_CTX);
		if (te) {
			te->val = out->hpa;
			te->rights = out->rights;
			te->flags = (uint8_t)(te->flags | (out->dirty ? TCE_DIRTY : 0));
		}
	}
done:
	out->page = gpa & PAGE_MASK;
	out->valid = true;
	return 0;
}

/*
 * Where the guest entry at gpa (a table of `level`) is in host memory,
 * for a read or (write) an A/D update. With EPT A/D on, every access to
 * a guest paging-structure entry is a write as far as EPT is concerned
 * and a violation reports both read and write (SDM 29.3.3.2).
 */
static int gpte_hpa(struct ept *e, gpa_t gpa, unsigned level, bool write, hpa_t *hpa)
{
	const struct hmem *h = &e->m->hmem;
	struct ept_memo *memo = &e->memo[level];
	bool ad = e->emode.ept_ad;
	unsigned acc = (write || ad) ? ACC_WRITE : ACC_READ;
	uint32_t qual = EPT_QUAL_GLA_VALID | (ad ? EPT_QUAL_READ : 0);
	int rc;

	/* No guest RAM there: x86 reads nonexistent memory as all ones. */
	if (gpa >= h->guest_size || h->guest_size - gpa < sizeof(uint64_t))
		return WALK_MEM_NONE;
	if (!(memo->valid && memo->page == (gpa & PAGE_MASK) &&
	      ept_cached_allows(memo->rights, memo->dirty, acc, ad))) {
		rc = gpa_page(e, gpa, acc, qual, memo);
		if (rc < 0)
			return rc;
	}
	*hpa = memo->hpa + (gpa & ~PAGE_MASK);
	/* An EPT leaf pointing outside host memory: nothing answers there. */
	return hmem_ptr(h, *hpa, sizeof(uint64_t)) ? WALK_MEM_OK : WALK_MEM_NONE;
}

static int guest_read(void *ctx, uint64_t gpa, unsigned level, uint64_t *val)
{
	struct ept *e = ctx;
	hpa_t hpa;
	int rc = gpte_hpa(e, gpa, level, false, &hpa);

	if (rc == WALK_MEM_OK) {
		hmem_ref(&e->m->hmem, hpa, HREF_WALK);
		memcpy(val, e->m->hmem.base + hpa, sizeof(*val));
	}
	return rc;
}

static int guest_set(void *ctx, uint64_t gpa, unsigned level, uint64_t bits)
{
	struct ept *e = ctx;
	hpa_t hpa;
	uint64_t v;
	int rc = gpte_hpa(e, gpa, level, true, &hpa);

	if (rc == WALK_MEM_OK) {
		hmem_ref(&e->m->hmem, hpa, HREF_WALK);
		memcpy(&v, e->m->hmem.base + hpa, sizeof(v));
		v |= bits;
		memcpy(e->m->hmem.base + hpa, &v, sizeof(v));
	}
	return rc;
}

void ept_hooks_init(struct ept *e, struct mmu *m)
{
	e->m = m;
	hmem_host_mem(&e->host, &m->hmem);
	e->guest = (struct walk_mem){ .read = guest_read, .set = guest_set, .ctx = e };
}

/* Bind a walk in progress: its fault, the caches it may use. */
static void walk_begin(struct ept *e, struct mmu *m, struct mmu_fault *f)
{
	e->m = m;
	e->f = f;
	e->off = (unsigned)m->params[EPT_PARAM_CACHES_OFF] & EPT_CACHE_ALL;
	for (unsigned l = 0; l <= WALK_MAX_LEVELS; l++)
		e->memo[l].valid = false;
}

/* ------------------------------------------------------------------ */
/* The 2D walk                                                          */
/* ------------------------------------------------------------------ */

enum mmu_result ept_walk2d(struct mmu *m, struct mmu_fault *f)
{
	struct ept *e = m->priv;
	struct walk_req r, er;
	uint64_t gsize;
	unsigned level;
	bool gpsc;
	enum walk_result res;
	gpa_t gbase;

	walk_begin(e, m, f);
	walk_req_init(&r, WALK_FMT_X86_64, f->va, m->sregs.cr3, f->access,
		      &m->mode, &e->guest);
	gpsc = !(e->off & EPT_CACHE_GUEST_PSC);
	if (gpsc)
		f->work.psc_hits += psc_walk_start(&m->tlb.psc, m->tlb.ctx, &r);
	res = walk_run(&r);
	f->work.walk_reads += r.reads;
	f->work.walk_ad_writes += r.ad_writes;
	switch (res) {
	case WALK_OK:
		break;
	case WALK_FAULT:
		f->error_code = r.error_code;
		return MMU_FAULT;
	case WALK_ABORT:
		BUG_ON(r.abort_code != EPT_ABORT_EXIT, "unknown guest walk abort");
		return MMU_EXIT;
	case WALK_MISCONFIG:
		BUG_ON(1, "an x86 walk cannot misconfigure");
	}
	if (gpsc)
		psc_fill_walk(&m->tlb.psc, m->tlb.ctx, &r);

	gsize = LEVEL_SIZE(r.level);
	gbase = r.pa & ~(gsize - 1);
	f->global = (r.leaf & PTE_G) && (m->sregs.cr4 & CR4_PGE);
	/* An address beyond guest RAM: no memory answers there (as under
	 * native); the VMM never maps it, so no EPT walk. */
	if (r.pa >= m->hmem.guest_size) {
		f->hpa = gbase;
		f->level = r.level;
		f->rights = r.rights;
		f->dirty = (r.leaf & PTE_D) != 0;
		f->unbacked = true;
		return MMU_OK;
	}
	if (ept_translate(e, r.pa, f->access,
			  EPT_QUAL_GLA_VALID | EPT_QUAL_GLA_FINAL, &er) < 0)
		return MMU_EXIT;
	/* The TLB entry is the smaller of the guest and the host page; a
	 * guest page partly beyond RAM is cached in its 4K pieces in RAM. */
	level = r.level < er.level ? r.level : er.level;
	if (gbase + gsize > m->hmem.guest_size)
		level = LEVEL_4K;
	f->hpa = er.pa & ~(LEVEL_SIZE(level) - 1);
	f->level = level;
	f->rights = r.rights & (er.rights | RIGHT_U);
	f->dirty = (r.leaf & PTE_D) && (!e->emode.ept_ad || (er.leaf & EPTE_D));
	f->unbacked = hmem_ptr(&m->hmem, f->hpa, LEVEL_SIZE(level)) == NULL;
	return MMU_OK;
}

enum mmu_result ept_phys_translate(struct mmu *m, struct mmu_fault *f, gpa_t gpa,
				   hpa_t *page, unsigned *rights)
{
	struct ept *e = m->priv;
	struct ept_memo pg;

	walk_begin(e, m, f);
	if (gpa_page(e, gpa, f->access, EPT_QUAL_GLA_VALID | EPT_QUAL_GLA_FINAL, &pg) < 0)
		return MMU_EXIT;
	*page = pg.hpa;
	*rights = pg.rights;
	return MMU_OK;
}
