/*
 * audit.c - shadow_audit: every invariant the backend's coherence rests
 * on, checked over every shadow page. For tests and debugging; reads
 * every spte and the gpte behind it.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "shadow_int.h"

struct audit {
	const struct shadow	*s;
	unsigned		bad;
	char			*msg;
	size_t			len;
};

static void fail(struct audit *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct audit *a, const char *fmt, ...)
{
	va_list ap;

	if (a->bad++ == 0 && a->msg && a->len) {
		va_start(ap, fmt);
		vsnprintf(a->msg, a->len, fmt, ap);
		va_end(ap);
	}
}

/* The guest's 8 bytes at gpa, without backing anything: 0 if unbacked. */
static uint64_t gread(const struct shadow *s, gpa_t gpa)
{
	bool backed;
	hpa_t hpa = p2m_lookup(&s->p2m, gpa, &backed);
	uint64_t v = 0;

	if (backed && gpa + 8 <= s->m->hmem.guest_size)
		memcpy(&v, s->m->hmem.base + hpa, sizeof(v));
	return v;
}

static unsigned rights_of(const struct sp *sp, uint64_t e)
{
	return walk_entry_rights(WALK_FMT_X86_64, sp->role.nxe, e);
}

static bool hvec_has(struct hvec *h, hpa_t x)
{
	uint32_t i;

	for (i = 0; i < h->n; i++)
		if (hvec_data(h)[i] == x)
			return true;
	return false;
}

/* A leaf spte at `level` of sp, entry idx: what it may map. */
static void check_leaf(struct audit *a, struct sp *sp, unsigned idx, uint64_t spte)
{
	const struct shadow *s = a->s;
	unsigned level = sp->role.level;
	hpa_t sptep = sp_sptep(sp, idx);
	gpa_t gpa = shadow_gpa_of_hpa(s, spte & PTE_ADDR_MASK);
	unsigned srights = rights_of(sp, spte);
	uint64_t key = gpa >> LEVEL_SHIFT(level);
	gpa_t want = 0;
	unsigned grights;
	uint64_t gpte = 0;

	if (key >= s->nregions[level] || !hvec_has(&s->rmap[level][key], sptep))
		fail(a, "leaf spte %#" PRIx64 " missing from the rmap", sptep);
	if (level > LEVEL_4K && !shadow_lpage_allowed(s, gpa, level))
		fail(a, "large spte %#" PRIx64 " covers a tracked frame", sptep);
	if ((spte & PTE_W) && level == LEVEL_4K && !shadow_gfn_writable(s, gpa >> PAGE_SHIFT))
		fail(a, "spte %#" PRIx64 " writable on write-protected gfn %#" PRIx64,
		     sptep, gpa >> PAGE_SHIFT);
	if (sp->role.direct) {
		want = (sp->gfn << PAGE_SHIFT) + (gpa_t)idx * LEVEL_SIZE(level);
		grights = sp->role.access | RIGHT_R;
		if (!!(spte & PTE_G) != sp->role.global)
			fail(a, "splinter spte %#" PRIx64 " G differs from its role", sptep);
	} else {
		if (sp->unsync)
			return;		/* may lag the guest until invalidated */
		gpte = gread(s, (sp->gfn << PAGE_SHIFT) + 8 * (gpa_t)idx);
		if (!(gpte & PTE_P) || !(gpte & PTE_A) ||
		    (level > LEVEL_4K && !(gpte & PTE_PS))) {
			fail(a, "spte %#" PRIx64 " (level %u) stale: gpte %#" PRIx64,
			     sptep, level, gpte);
			return;
		}
		want = gpte & PTE_ADDR_MASK & ~(LEVEL_SIZE(level) - 1);
		grights = (sp->role.access | RIGHT_R) & rights_of(sp, gpte);
		if ((spte & PTE_W) && !(gpte & PTE_D))
			fail(a, "spte %#" PRIx64 " writable with the gpte's D clear", sptep);
		if (((spte ^ gpte) & PTE_G) != 0)
			fail(a, "spte %#" PRIx64 " G differs from the gpte's", sptep);
	}
	if (gpa != want)
		fail(a, "spte %#" PRIx64 " maps gpa %#" PRIx64 ", guest says %#" PRIx64,
		     sptep, gpa, want);
	if (srights & ~grights)
		fail(a, "spte %#" PRIx64 " grants rights %#x beyond the guest's %#x",
		     sptep, srights, grights);
}

/* A non-leaf spte of sp, entry idx, linking child. */
static void check_link(struct audit *a, struct sp *sp, unsigned idx, uint64_t spte)
{
	const struct shadow *s = a->s;
	hpa_t sptep = sp_sptep(sp, idx);
	struct sp *child;
	uint64_t gpte;
	bool bit = (sp->unsync_bitmap[idx / 64] >> (idx % 64)) & 1;

	hpa_t t = spte & PTE_ADDR_MASK;

	child = t >= s->vmm_base && ((t - s->vmm_base) >> PAGE_SHIFT) < s->vmm_npages ?
		s->by_page[(t - s->vmm_base) >> PAGE_SHIFT] : NULL;
	if (!child) {
		fail(a, "spte %#" PRIx64 " links no shadow page", sptep);
		return;
	}
	if (child->role.level + 1u != sp->role.level)
		fail(a, "spte %#" PRIx64 " links a level-%u table from level %u",
		     sptep, child->role.level, sp->role.level);
	if (!hvec_has(&child->parents, sptep))
		fail(a, "spte %#" PRIx64 " missing from its child's parents", sptep);
	if (bit != child->marked)
		fail(a, "unsync bit of spte %#" PRIx64 " disagrees with its child", sptep);
	if (sp->role.direct)
		return;
	gpte = gread(s, (sp->gfn << PAGE_SHIFT) + 8 * (gpa_t)idx);
	if (!(gpte & PTE_P) || !(gpte & PTE_A)) {
		fail(a, "link %#" PRIx64 " stale: gpte %#" PRIx64, sptep, gpte);
		return;
	}
	if (child->role.direct) {
		gpa_t base = gpte & PTE_ADDR_MASK & ~(LEVEL_SIZE(sp->role.level) - 1);
		unsigned acc = (sp->role.access | RIGHT_R) & rights_of(sp, gpte);

		if (!(gpte & PTE_D))
			acc &= ~(unsigned)RIGHT_W;
		if (!(gpte & PTE_PS) || (child->gfn << PAGE_SHIFT) != base ||
		    (child->role.access & ~acc) || child->role.global != !!(gpte & PTE_G))
			fail(a, "splinter %#" PRIx64 " stale: gpte %#" PRIx64, sptep, gpte);
	} else {
		unsigned acc = (sp->role.access | RIGHT_R) & rights_of(sp, gpte);

		if ((gpte & PTE_PS) || child->gfn != (gpte & PTE_ADDR_MASK) >> PAGE_SHIFT ||
		    child->role.access != (acc & ROLE_ACCESS_MASK))
			fail(a, "link %#" PRIx64 " stale: gpte %#" PRIx64 ", child gfn %#"
			     PRIx64, sptep, gpte, child->gfn);
	}
}

unsigned shadow_audit(const struct mmu *m, char *msg, size_t len)
{
	const struct shadow *s = m->priv;
	struct audit a = { s, 0, msg, len };
	uint64_t npages = 0, gfn;
	struct sp *sp;
	unsigned i;

	if (msg && len)
		msg[0] = '\0';
	for (sp = s->lru.lru_next; sp != &s->lru; sp = sp->lru_next) {
		unsigned bits = 0, w;

		npages++;
		if (sp_find(s, sp->gfn, sp->role) != sp)
			fail(&a, "sp %#" PRIx64 " not found under its own key", sp->table);
		if (s->by_page[(sp->table - s->vmm_base) >> PAGE_SHIFT] != sp)
			fail(&a, "sp %#" PRIx64 " not indexed by its table", sp->table);
		if (sp->unsync && (sp->role.level != LEVEL_4K || sp->role.direct))
			fail(&a, "sp %#" PRIx64 " unsync above the leaf level", sp->table);
		for (w = 0; w < SPTES_PER_PAGE / 64; w++)
			bits += (unsigned)__builtin_popcountll(sp->unsync_bitmap[w]);
		if (bits != sp->unsync_children ||
		    sp->marked != (sp->unsync || sp->unsync_children != 0))
			fail(&a, "sp %#" PRIx64 " unsync accounting broken", sp->table);
		for (i = 0; i < SPTES_PER_PAGE; i++) {
			uint64_t spte = spte_read(s, sp_sptep(sp, i));

			if (!(spte & PTE_P))
				continue;
			if (spte_is_leaf(sp->role.level, spte))
				check_leaf(&a, sp, i, spte);
			else
				check_link(&a, sp, i, spte);
		}
	}
	if (npages != s->pages || s->pages > s->pages_peak)
		fail(&a, "shadow page count %" PRIu64 " (peak %" PRIu64 ") but %" PRIu64
		     " pages listed", s->pages, s->pages_peak, npages);
	for (gfn = 0; gfn < s->nframes; gfn++) {
		unsigned shadowed = 0, synced = 0;

		for (sp = sp_bucket(s, gfn); sp; sp = sp->hash_next)
			if (sp->gfn == gfn && !sp->role.direct) {
				shadowed++;
				synced += !sp->unsync;
			}
		if (shadowed != s->gfn[gfn].shadowed || synced != s->gfn[gfn].synced)
			fail(&a, "gfn %#" PRIx64 ": %u/%u sps but counted %u/%u", gfn,
			     shadowed, synced, s->gfn[gfn].shadowed, s->gfn[gfn].synced);
	}
	return a.bad;
}
