/*
 * shadow.c - the shadow backend's ops table: set-up from the parameters,
 * tear-down, guest-physical accesses while paging is off, the report.
 * The mechanisms live in page.c, fault.c and sync.c (see shadow_int.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "shadow_int.h"

static void shadow_destroy(struct mmu *m)
{
	struct shadow *s = m->priv;

	if (!s)
		return;
	shadow_pages_destroy(s);
	p2m_destroy(&s->p2m);
	free(s->h2g);
	free(s->roots);
	free(s);
	m->priv = NULL;
}

static int shadow_init(struct mmu *m)
{
	struct shadow *s = calloc(1, sizeof(*s));
	uint64_t backing = m->hmem.vmm_next;	/* guest RAM's backing: [0, here) */
	int r;

	if (!s)
		return -ENOMEM;
	m->priv = s;
	s->m = m;
	shadow_handler_end(s);
	if (m->host_level < LEVEL_4K || m->host_level > LEVEL_1G) {
		r = -EINVAL;
		goto fail;
	}
	/* every shadow table must be reachable: below MAXPHYADDR (vm_layout) */
	if (m->hmem.vmm_end > UINT64_C(1) << m->mode.maxphyaddr) {
		r = -ERANGE;
		goto fail;
	}
	r = p2m_init(&s->p2m, &m->hmem, m->host_level, backing);
	if (r < 0)
		goto fail;
	s->h2g_n = backing >> LEVEL_SHIFT(m->host_level);
	s->h2g = calloc(s->h2g_n + 1, sizeof(*s->h2g));
	s->roots_max = m->params[SHADOW_P_ROOTS] ? (unsigned)m->params[SHADOW_P_ROOTS]
						 : SHADOW_DEF_ROOTS;
	s->roots = calloc(s->roots_max, sizeof(*s->roots));
	if (!s->h2g || !s->roots) {
		r = -ENOMEM;
		goto fail;
	}
	s->pages_max = m->params[SHADOW_P_PAGES_MAX];
	s->unsync_ok = m->params[SHADOW_P_UNSYNC] != 0;
	s->flood_limit = m->params[SHADOW_P_FLOOD] ? (unsigned)m->params[SHADOW_P_FLOOD]
						  : SHADOW_DEF_FLOOD;
	s->prefetch = m->params[SHADOW_P_PREFETCH] != 0;
	s->zap_unsync = m->params[SHADOW_P_ZAP_UNSYNC] != 0;
	shadow_mem_init(s);
	r = shadow_pages_init(s);
	if (r < 0)
		goto fail;
	return 0;
fail:
	shadow_destroy(m);
	return r;
}

/*
 * Paging off: the address is guest-physical, translated through the p2m
 * (backed on first touch; no exit, as KVM maps it without one). A write
 * to a shadowed guest table drops the sptes built from that entry,
 * since no spte stands between this access and guest memory to trap it.
 */
static enum mmu_result shadow_phys(struct mmu *m, struct mmu_fault *f)
{
	struct shadow *s = m->priv;
	gpa_t gpa = f->va;

	shadow_handler_begin(s, &f->work);
	f->level = LEVEL_4K;
	f->rights = RIGHTS_ALL;
	if (gpa >= m->hmem.guest_size) {
		f->unbacked = true;
		f->hpa = 0;
		goto out;
	}
	if ((f->access & ACC_WRITE) && shadow_gfn_shadowed(s, gpa >> PAGE_SHIFT)) {
		/* old != new: the new value is not known yet, so zap */
		shadow_track_write(s, gpa & ~(gpa_t)7, 8, 1, false);
		shadow_flush_if_needed(s);
	}
	f->hpa = shadow_guest_hpa(s, gpa) & PAGE_MASK;
out:
	shadow_handler_end(s);
	return MMU_OK;
}

static enum mmu_result shadow_fill_op(struct mmu *m, struct mmu_fault *f)
{
	struct shadow *s = m->priv;
	enum mmu_result r = shadow_fill(m, f);

	shadow_handler_end(s);
	return r;
}

hpa_t shadow_p2m_lookup(const struct mmu *m, gpa_t gpa, bool *backed)
{
	const struct shadow *s = m->priv;

	return p2m_lookup(&s->p2m, gpa, backed);
}

bool shadow_write_traced(const struct mmu *m, gpa_t gpa)
{
	const struct shadow *s = m->priv;
	gfn_t gfn = gpa >> PAGE_SHIFT;

	return shadow_gfn_shadowed(s, gfn) && !shadow_gfn_writable(s, gfn);
}

static void shadow_report(const struct mmu *m, struct mmu_report *out)
{
	const struct shadow *s = m->priv;
	unsigned l;
	uint64_t r;

	out->shadow_pages_peak = s->pages_peak;
	out->shadow_pages = s->pages;
	out->shadow_root_hits = s->root_hits;
	out->host_pages_backed = s->p2m.backed;
	for (l = LEVEL_4K; l <= LEVEL_1G; l++)
		for (r = 0; r < s->nregions[l]; r++)
			out->leaf_pages[l - LEVEL_4K] += s->rmap[l][r].n;
}

/* --param keys, in the order of the SHADOW_P_* indices (shadow.h). */
static const struct param_spec shadow_params[] = {
	[SHADOW_P_PAGES_MAX] = { "shadow_pages_max", 0, 0, UINT32_MAX,
		"shadow table pages kept at most, LRU zapped past it (0: no limit)" },
	[SHADOW_P_UNSYNC] = { "shadow_unsync", 1, 0, 1,
		"leaf guest tables may go unsync, resynced at CR3 write/INVLPG (KVM's default)" },
	[SHADOW_P_ROOTS] = { "shadow_roots", SHADOW_DEF_ROOTS, 1, 64,
		"CR3 root cache entries, the current root included" },
	[SHADOW_P_FLOOD] = { "shadow_flood", SHADOW_DEF_FLOOD, 1, 1000,
		"traced writes to an unused guest table before it is unshadowed" },
	[SHADOW_P_PREFETCH] = { "shadow_prefetch", 1, 0, 1,
		"a 4K fill also fills accessed neighbours in its group of 8 (KVM's pte_prefetch)" },
	[SHADOW_P_ZAP_UNSYNC] = { "shadow_zap_unsync", 0, 0, 1,
		"zapping a table zaps the unsync leaf tables below it (upstream KVM: 1)" },
	[SHADOW_P_ZAP_UNSYNC + 1] = { NULL, 0, 0, 0, NULL },
};

/* The shadow page cache grows on demand; it needs room for a root and
 * the first tables, and zaps (shadow_pages_max) when the region is full. */
static uint64_t shadow_vmm_bytes(uint64_t guest_mem, unsigned host_level)
{
	(void)guest_mem;
	(void)host_level;
	return 2 * MiB;
}

const struct mmu_ops shadow_mmu_ops = {
	.name = "shadow",
	.desc = "shadow page tables: write-protected guest tables, hidden/true/trace faults",
	.init = shadow_init,
	.destroy = shadow_destroy,
	.fill = shadow_fill_op,
	.write_cr3 = shadow_write_cr3,
	.write_cr4 = shadow_write_cr4,
	.invlpg = shadow_invlpg,
	.phys = shadow_phys,
	.report = shadow_report,
	.params = shadow_params,
	.vmm_bytes = shadow_vmm_bytes,
};
