/*
 * p2m.h - the VMM's map of guest-physical to host-physical memory, the
 * gpa -> hpa step that shadow paging and EPT both stand on.
 */
#ifndef MEMVIRT_P2M_H
#define MEMVIRT_P2M_H

#include "hmem.h"

/*
 * The VMM's map of guest RAM to host memory (KVM's memslot, in effect):
 * one host page of `level` per aligned gpa region, handed out lazily from
 * the backing region [0, hmem.vmm_next's start) in first-touch order, so
 * gpa != hpa and a wrong translation shows in the checksums.
 */
struct p2m {
	hpa_t		*map;		/* per region: hpa + 1, 0 = not backed */
	uint64_t	nregions;
	unsigned	level;		/* host page size */
	uint64_t	next;		/* next free hpa of the backing region */
	uint64_t	end;		/* end of the backing region */
	uint64_t	backed;		/* regions backed so far */
};

/* p2m_init - map for h->guest_size bytes of guest RAM in host pages of
 * `level`, backing region [0, end). Returns 0 or -ENOMEM. */
int p2m_init(struct p2m *p, const struct hmem *h, unsigned level, uint64_t end);
void p2m_destroy(struct p2m *p);

/* p2m_lookup - hpa of gpa if backed, else 0 with *backed false. */
static inline hpa_t p2m_lookup(const struct p2m *p, gpa_t gpa, bool *backed)
{
	uint64_t r = gpa >> LEVEL_SHIFT(p->level);
	hpa_t v = r < p->nregions ? p->map[r] : 0;

	*backed = v != 0;
	return v ? v - 1 + (gpa & (LEVEL_SIZE(p->level) - 1)) : 0;
}

/* p2m_back - back the region holding gpa (inside guest RAM) with a
 * zeroed host page; returns the hpa of gpa. */
hpa_t p2m_back(struct p2m *p, gpa_t gpa);

#endif /* MEMVIRT_P2M_H */
