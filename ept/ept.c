/*
 * ept.c - the VMM's side of EPT: the extended page tables it builds in
 * its own host memory, lazy backing of guest RAM on EPT violations, and
 * the mmu_ops of the backend. The processor's side is walk2d.c.
 *
 * An EPT entry as the VMM writes it (SDM Vol. 3, 29.3.2):
 *
 *   63    52 51      12 11  8 7  6  5   3 2 1 0
 *  +--------+----------+-----+--+--+-----+-+-+-+
 *  |  zero  | hpa      |  0  |L |0 | MT  |X|W|R|
 *  +--------+----------+-----+--+--+-----+-+-+-+
 *   non-leaf: next table's hpa, R/W/X (MT/L zero);
 *   leaf: page hpa, R/W/X, MT = 6 (write-back), L (bit 7) for 2M/1G.
 * Bits 8/9 (A/D) are the processor's, with EPT A/D on.
 *
 * Guest CR3 writes, INVLPG and guest #PF are not intercepted: the guest
 * handles its own page tables; the VMM only ever hears of guest-physical
 * addresses it has not backed yet.
 */
#include <asm/vmx.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ept_priv.h"

#define EPT_XWR		(EPTE_R | EPTE_W | EPTE_X)

/* EPTP bits (SDM 25.6.11): memory type WB, page-walk length - 1, A/D. */
#define EPTP_WB			UINT64_C(6)
#define EPTP_WALK_LEN(n)	((uint64_t)((n) - 1) << 3)
#define EPTP_AD			(UINT64_C(1) << 6)

uint64_t ept_vmm_bytes(uint64_t guest_mem, unsigned host_level)
{
	uint64_t pages = 1;	/* the root (level 4) */
	unsigned l;

	/* A level-l table spans LEVEL_SIZE(l + 1): one per aligned span of
	 * guest RAM at every level from the leaves' up to below the root. */
	for (l = host_level; l < EPT_LEVELS; l++)
		pages += (guest_mem + LEVEL_SIZE(l + 1) - 1) >> LEVEL_SHIFT(l + 1);
	return pages * PAGE_SIZE;
}

hpa_t ept_p2m_lookup(const struct mmu *m, gpa_t gpa, bool *backed)
{
	const struct ept *e = m->priv;

	return p2m_lookup(&e->p2m, gpa, backed);
}

uint64_t ept_eptp(const struct mmu *m)
{
	const struct ept *e = m->priv;

	return e->root | EPTP_WB | EPTP_WALK_LEN(EPT_LEVELS) |
	       (e->emode.ept_ad ? EPTP_AD : 0);
}

/* ------------------------------------------------------------------ */
/* Building the EPT                                                     */
/* ------------------------------------------------------------------ */

/* The VMM's pointer to an entry of its own tables, or NULL (corrupted). */
static uint64_t *vmm_entry(struct mmu *m, hpa_t table, gpa_t gpa, unsigned level)
{
	return hmem_ptr(&m->hmem, (table & PTE_ADDR_MASK) + 8 * WALK_INDEX(gpa, level),
			sizeof(uint64_t));
}

int ept_map(struct mmu *m, gpa_t gpa, hpa_t hpa, unsigned level, unsigned rights,
	    struct mmu_work *w)
{
	struct ept *e = m->priv;
	struct mmu_work dummy;
	uint64_t size = LEVEL_SIZE(level), pte;
	hpa_t table = e->root;
	uint64_t *p;
	unsigned l;

	if (!w)
		w = &dummy;
	if (level < LEVEL_4K || level > LEVEL_1G || (gpa | hpa) & (size - 1) ||
	    !(rights & EPT_XWR) || (rights & ~EPT_XWR) ||
	    ((rights & RIGHT_W) && !(rights & RIGHT_R)))
		return -EINVAL;
	for (l = EPT_LEVELS; l > level; l--) {
		p = vmm_entry(m, table, gpa, l);
		if (!p)
			return -EFAULT;
		memcpy(&pte, p, sizeof(pte));
		w->handler_reads++;
		if (!(pte & EPT_XWR)) {
			hpa_t t = hmem_alloc_table(&m->hmem);

			if (!t)
				return -ENOMEM;
			e->pages++;
			pte = t | EPT_XWR;
			memcpy(p, &pte, sizeof(pte));
			w->handler_writes++;
		} else if (pte & EPTE_LARGE) {
			return -EEXIST;
		}
		table = pte & PTE_ADDR_MASK;
	}
	p = vmm_entry(m, table, gpa, level);
	if (!p)
		return -EFAULT;
	memcpy(&pte, p, sizeof(pte));
	w->handler_reads++;
	if (pte & EPT_XWR)
		return -EEXIST;
	pte = hpa | rights | EPTE_MT_WB | (level > LEVEL_4K ? EPTE_LARGE : 0);
	memcpy(p, &pte, sizeof(pte));
	w->handler_writes++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Exits                                                                */
/* ------------------------------------------------------------------ */

static enum mmu_result stop(struct ept *e, struct mmu_fault *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum mmu_result stop(struct ept *e, struct mmu_fault *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->stop, sizeof(e->stop), fmt, ap);
	va_end(ap);
	f->stop = e->stop;
	return MMU_STOP;
}

/*
 * The VMM's EPT-violation handler: the first touch of a guest-physical
 * page, by the guest or by the processor reading a guest table. Back
 * the host page holding it (p2m) and map it in the EPT with R/W/X.
 * A violation on a gpa already backed is one the VMM did not cause (it
 * maps guest RAM R/W/X): the VM cannot go on.
 */
static enum mmu_result handle_violation(struct mmu *m, struct mmu_fault *f)
{
	struct ept *e = m->priv;
	unsigned level = e->p2m.level;
	gpa_t gpa = f->exit_gpa, base = gpa & ~(LEVEL_SIZE(level) - 1);
	bool backed;
	hpa_t hpa;
	int r;

	BUG_ON(gpa >= m->hmem.guest_size, "EPT walk of a gpa outside guest RAM");
	p2m_lookup(&e->p2m, gpa, &backed);
	if (backed)
		return stop(e, f, "EPT violation at gpa %#" PRIx64 " (qualification %#"
			    PRIx64 ") on backed guest RAM: the EPT entry was changed "
			    "behind the VMM", gpa, f->exit_qual);
	hpa = p2m_back(&e->p2m, base);
	r = ept_map(m, base, hpa, level, RIGHT_R | RIGHT_W | RIGHT_X, &f->work);
	if (r == -ENOMEM)
		return stop(e, f, "EPT violation at gpa %#" PRIx64 ": the VMM region "
			    "has no room for another EPT table (%" PRIu64 " allocated)",
			    gpa, e->pages);
	if (r < 0)
		return stop(e, f, "EPT violation at gpa %#" PRIx64 ": cannot map it "
			    "(%s): the EPT was changed behind the VMM", gpa, strerror(-r));
	return MMU_EXIT;
}

static enum mmu_result handle_exit(struct mmu *m, struct mmu_fault *f)
{
	struct ept *e = m->priv;

	if (f->exit_reason == EXIT_REASON_EPT_MISCONFIG) {
		f->stop = e->stop;	/* described by the walk that found it */
		return MMU_STOP;
	}
	return handle_violation(m, f);
}

/* ------------------------------------------------------------------ */
/* mmu_ops                                                              */
/* ------------------------------------------------------------------ */

static int ept_init(struct mmu *m)
{
	static const struct tc_geom none[3];
	struct ept *e;
	int r;

	if (m->host_level < LEVEL_4K || m->host_level > LEVEL_1G ||
	    (m->host_level == LEVEL_1G && !m->mode.gbpages) ||
	    m->mode.maxphyaddr < 36 || m->mode.maxphyaddr > 52)
		return -EINVAL;
	/* every EPT table must be reachable: below MAXPHYADDR (vm_layout) */
	if (m->hmem.vmm_end > UINT64_C(1) << m->mode.maxphyaddr)
		return -ERANGE;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->emode = (struct walk_mode){
		.levels = EPT_LEVELS,
		.maxphyaddr = m->mode.maxphyaddr,
		.gbpages = m->mode.gbpages,
		.ept_ad = m->mode.ept_ad,
	};
	ept_hooks_init(e, m);
	/* Guest RAM is backed from the start of host memory up to the
	 * VMM's region, which holds the EPT. */
	r = p2m_init(&e->p2m, &m->hmem, m->host_level, m->hmem.vmm_next);
	if (r < 0)
		goto fail_e;
	r = tc_init(&e->ntlb, m->ntlb_geom ? m->ntlb_geom : &none[0], &e->clock);
	if (r < 0)
		goto fail_p2m;
	r = psc_init(&e->psc, m->ept_psc_geom ? m->ept_psc_geom : none, &e->clock);
	if (r < 0)
		goto fail_ntlb;
	e->root = hmem_alloc_table(&m->hmem);
	if (!e->root) {
		r = -ENOMEM;
		goto fail_psc;
	}
	e->pages = 1;
	m->priv = e;
	return 0;

fail_psc:
	psc_destroy(&e->psc);
fail_ntlb:
	tc_destroy(&e->ntlb);
fail_p2m:
	p2m_destroy(&e->p2m);
fail_e:
	free(e);
	return r;
}

static void ept_destroy(struct mmu *m)
{
	struct ept *e = m->priv;

	if (!e)
		return;
	psc_destroy(&e->psc);
	tc_destroy(&e->ntlb);
	p2m_destroy(&e->p2m);
	free(e);
	m->priv = NULL;
}

/* A TLB miss: the 2D walk; an EPT violation is handled and retried. */
static enum mmu_result ept_fill(struct mmu *m, struct mmu_fault *f)
{
	enum mmu_result r = ept_walk2d(m, f);

	return r == MMU_EXIT ? handle_exit(m, f) : r;
}

/* Paging off: f->va is a gpa, translated through the EPT all the same. */
static enum mmu_result ept_phys(struct mmu *m, struct mmu_fault *f)
{
	gpa_t gpa = f->va;
	unsigned rights;
	hpa_t page;

	f->level = LEVEL_4K;
	if (gpa >= m->hmem.guest_size) {
		f->hpa = gpa & PAGE_MASK;
		f->rights = RIGHTS_ALL;
		f->unbacked = true;
		return MMU_OK;
	}
	if (ept_phys_translate(m, f, gpa, &page, &rights) == MMU_EXIT)
		return handle_exit(m, f);
	f->hpa = page;
	f->rights = rights | RIGHT_U;
	f->unbacked = hmem_ptr(&m->hmem, page, PAGE_SIZE) == NULL;
	return MMU_OK;
}

static void ept_report(const struct mmu *m, struct mmu_report *out)
{
	const struct ept *e = m->priv;

	out->ept_pages = e->pages;
	out->host_pages_backed = e->p2m.backed;
	/* One leaf epte per backed host page. */
	out->leaf_pages[m->host_level - LEVEL_4K] = e->p2m.backed;
}

/* --param keys, by m->params[] index (see ept.h). */
static const struct param_spec ept_params[] = {
	[EPT_PARAM_CACHES_OFF] = { "ept_caches_off", 0, 0, EPT_CACHE_ALL,
		"EPT walk caches turned off, a bitmask: 1 nested TLB, 2 EPT PSC, "
		"4 guest PSC (7: all off, the worst-case 2D walk)" },
	{ NULL, 0, 0, 0, NULL },
};

const struct mmu_ops ept_mmu_ops = {
	.name = "ept",
	.desc = "extended page tables: 2D walk, lazy backing by EPT violations",
	.init = ept_init,
	.destroy = ept_destroy,
	.fill = ept_fill,
	.write_cr3 = NULL,
	.write_cr4 = NULL,
	.invlpg = NULL,
	.phys = ept_phys,
	.report = ept_report,
	.params = ept_params,
	.vmm_bytes = ept_vmm_bytes,
	.min_maxphyaddr = 36,		/* 4-level EPT */
	.nested_ept = true,
};
