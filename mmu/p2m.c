/*
 * p2m.c - the gpa -> hpa map: host pages handed out lazily in
 * first-touch order, so gpa != hpa and a wrong translation shows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "p2m.h"

int p2m_init(struct p2m *p, const struct hmem *h, unsigned level, uint64_t end)
{
	memset(p, 0, sizeof(*p));
	p->level = level;
	p->nregions = (h->guest_size + LEVEL_SIZE(level) - 1) >> LEVEL_SHIFT(level);
	p->map = calloc(p->nregions, sizeof(*p->map));
	p->end = end;
	return p->map ? 0 : -ENOMEM;
}

void p2m_destroy(struct p2m *p)
{
	free(p->map);
	p->map = NULL;
}

hpa_t p2m_back(struct p2m *p, gpa_t gpa)
{
	uint64_t r = gpa >> LEVEL_SHIFT(p->level);
	uint64_t size = LEVEL_SIZE(p->level);
	hpa_t hpa;

	BUG_ON(r >= p->nregions, "backing a gpa outside guest RAM");
	if (p->map[r])
		return p->map[r] - 1 + (gpa & (size - 1));
	BUG_ON(p->next + size > p->end, "backing region smaller than guest RAM");
	hpa = p->next;
	p->next += size;
	p->map[r] = hpa + 1;
	p->backed++;
	/* Nothing to clear: each host page is handed out once, in order, from
	 * memory nobody has written (a fresh anonymous or hugetlbfs mapping,
	 * zero on first touch), so it reads as zeros as the guest's RAM did
	 * at reset, and becomes resident only where the guest touches it (a
	 * 1G host page costs what the guest uses of it, not 1 GiB). */
	return hpa + (gpa & (size - 1));
}
