/*
 * psc.c - the paging-structure caches: three tagged caches, one per
 * cached level, and the two steps every walk takes with them (start
 * below the root; remember the entries used).
 */
#include "psc.h"

/*
 * A PSC entry is tagged with the level of the paging-structure entry it
 * caches, and that same level picks the key shift: a level-l entry maps
 * the LEVEL_SIZE(l) region addr >> LEVEL_SHIFT(l) (PDE: addr >> 21,
 * PDPTE: addr >> 30, PML4E: addr >> 39), which is exactly what tc_find
 * and tc_insert compute when handed `level`. c[level - 2] holds level
 * `level`; its val is the table the entry points to (level - 1).
 */
int psc_init(struct psc *p, const struct tc_geom g[3], uint64_t *clock)
{
	int err;

	for (unsigned i = 0; i < PSC_LEVELS; i++) {
		err = tc_init(&p->c[i], &g[i], clock);
		if (err) {
			while (i-- > 0)
				tc_destroy(&p->c[i]);
			return err;
		}
	}
	return 0;
}

void psc_destroy(struct psc *p)
{
	for (unsigned i = PSC_LEVELS; i-- > 0;)
		tc_destroy(&p->c[i]);
}

/* PSC entries are never global: matching is on the exact context. */
unsigned psc_lookup(struct psc *p, uint64_t addr, uint32_t ctx,
		    uint64_t *table, unsigned *rights)
{
	for (unsigned i = 0; i < PSC_LEVELS; i++) {
		struct tc_entry *e = tc_find(&p->c[i], addr, i + 2, ctx, false);

		if (e) {
			*table = e->val;
			*rights = e->rights;
			return i + 1;	/* the walk resumes one level below */
		}
	}
	return 0;
}

/* Level 5 (a PML5E with LA57) is not cached: ignored. */
void psc_fill(struct psc *p, uint64_t addr, uint32_t ctx, unsigned level,
	      uint64_t table, unsigned rights)
{
	struct tc_entry *e;

	BUG_ON(level < 2 || level > 5, "paging-structure level out of 2..5");
	if (level == 5)
		return;
	e = tc_insert(&p->c[level - 2], addr, level, ctx);
	if (e) {
		e->val = table;
		e->rights = (uint8_t)rights;
	}
}

void psc_invalidate_addr(struct psc *p, uint64_t addr, uint32_t ctx)
{
	for (unsigned i = 0; i < PSC_LEVELS; i++) {
		struct tc_entry *e = tc_probe(&p->c[i], addr, i + 2, ctx, false);

		if (e)
			tc_invalidate_entry(&p->c[i], e);
	}
}

void psc_flush_ctx(struct psc *p, uint32_t ctx)
{
	for (unsigned i = 0; i < PSC_LEVELS; i++)
		tc_flush(&p->c[i], ctx, UINT32_MAX, true, UINT32_MAX);
}

void psc_flush_vpid(struct psc *p, uint16_t vpid)
{
	for (unsigned i = 0; i < PSC_LEVELS; i++)
		tc_flush(&p->c[i], TC_CTX(vpid, 0), TC_VPID_MASK, true,
			 TC_VPID_MASK);
}

void psc_flush_all(struct psc *p)
{
	for (unsigned i = 0; i < PSC_LEVELS; i++)
		tc_flush(&p->c[i], 0, 0, true, 0);
}

unsigned psc_walk_start(struct psc *p, uint32_t ctx, struct walk_req *r)
{
	uint64_t table;
	unsigned rights;

	r->start_level = psc_lookup(p, r->addr, ctx, &table, &rights);
	if (!r->start_level)
		return 0;
	r->start_table = table;
	r->start_rights = rights;
	return 1;
}

void psc_fill_walk(struct psc *p, uint32_t ctx, const struct walk_req *r)
{
	unsigned rights = r->start_level ? r->start_rights : RIGHTS_ALL;
	unsigned top = r->start_level ? r->start_level : r->mode->levels;
	unsigned l;

	/* Every non-leaf entry the walk read, from the top down. Levels 2..4
	 * have a cache; a 5-level walk's PML5E is not cached. */
	for (l = top; l > r->level; l--) {
		rights &= walk_entry_rights(r->fmt, r->mode->efer_nxe, r->entry[l]);
		if (l <= 4)
			psc_fill(p, r->addr, ctx, l, r->entry[l] & PTE_ADDR_MASK, rights);
	}
}
