/*
 * shadow.h - the shadow MMU backend: VMM-built tables (gva -> hpa) that
 * the modeled hardware walks as a native 1D walk, kept coherent with the
 * guest's own tables by write-protecting them (trace faults), filled
 * lazily (hidden faults), with guest faults forwarded (true faults) and
 * CR3 writes, INVLPG and CR4 writes that flush the TLB intercepted.
 *
 * Glossary (besides base.h's)
 *   sp       - shadow page: one 4K shadow table and its bookkeeping
 *   role     - what an sp shadows besides the guest frame: its level, the
 *              rights the guest entries above it grant, whether it is a
 *              splinter of a large guest page ("direct"), and the paging
 *              mode bits that change what its entries mean
 *   rmap     - reverse map: guest frame -> the leaf sptes that map it
 *   tracked  - a guest frame some sp shadows: writes to it must be seen
 *   unsync   - a leaf-level sp whose guest table the guest may write
 *              freely; resynchronised at CR3 writes, INVLPG and
 *              TLB-flushing CR4 writes
 *   root     - the top-level sp for one guest CR3
 */
#ifndef MEMVIRT_SHADOW_H
#define MEMVIRT_SHADOW_H

#include <stddef.h>

#include "mmu.h"

/*
 * Backend parameters, in struct mmu's params[], declared to the CLI in
 * shadow_mmu_ops.params (--param KEY=VALUE, defaults there). A value of 0
 * where 0 is not meaningful means the default, so a zeroed params[]
 * (tests) gives: no page limit, unsync off, 4 roots, flood limit 3.
 *
 *   [SHADOW_P_PAGES_MAX]  shadow_pages_max: shadow table pages kept at
 *                         most; past it the least recently used sps are
 *                         zapped. 0: no limit but the VMM's table region.
 *   [SHADOW_P_UNSYNC]     shadow_unsync: 1 lets leaf guest tables go
 *                         unsync (writable, resynchronised at the next
 *                         CR3 write or INVLPG) instead of tracing every
 *                         write; 0 traces every write.
 *   [SHADOW_P_ROOTS]      shadow_roots: root cache entries, the current
 *                         root included. 0: 4 (the current root and 3
 *                         previous ones, as KVM keeps); 1: no previous
 *                         root is kept.
 *   [SHADOW_P_FLOOD]      shadow_flood: writes to a shadowed guest table
 *                         without a fault using it in between after which
 *                         it is unshadowed. 0: 3 (KVM's figure).
 *   [SHADOW_P_PREFETCH]   shadow_prefetch: 1 makes a hidden fault that
 *                         fills a 4K leaf also fill the other entries of
 *                         its aligned group of 8 whose gptes are present
 *                         and accessed, up to the first that is not (KVM's
 *                         FNAME(pte_prefetch)); 0: no prefetch.
 *   [SHADOW_P_ZAP_UNSYNC] shadow_zap_unsync: 1 makes zapping a non-leaf sp
 *                         zap the unsync leaf sps below it first, as
 *                         upstream KVM's mmu_zap_unsync_children; 0 (the
 *                         default, as this machine's KVM with
 *                         eager_zap_unsync_children=N) leaves them.
 */
enum {
	SHADOW_P_PAGES_MAX	= 0,	/* keys: shadow_pages_max, */
	SHADOW_P_UNSYNC		= 1,	/* shadow_unsync (CLI default 1), */
	SHADOW_P_ROOTS		= 2,	/* shadow_roots, */
	SHADOW_P_FLOOD		= 3,	/* shadow_flood, */
	SHADOW_P_PREFETCH	= 4,	/* shadow_prefetch (CLI default 1), */
	SHADOW_P_ZAP_UNSYNC	= 5,	/* shadow_zap_unsync */
};

extern const struct mmu_ops shadow_mmu_ops;

/*
 * shadow_p2m_lookup - the hpa the VMM backs gpa with, and whether it is
 * backed yet (*backed false: the guest has not touched it; it reads as
 * zeros). For tests comparing guest memory across backends.
 */
hpa_t shadow_p2m_lookup(const struct mmu *m, gpa_t gpa, bool *backed);

/*
 * shadow_write_traced - would a guest write to gpa trace now: is its
 * frame write-protected because a synchronised shadow page shadows it?
 * For tests that build a deliberately broken VMM around this one.
 */
bool shadow_write_traced(const struct mmu *m, gpa_t gpa);

/*
 * shadow_audit - check the backend's invariants over every shadow page
 * and return how many are broken (0: all hold). The first broken one is
 * described in msg. Expensive (reads every spte and the gpte behind it);
 * for tests and debug builds. Checked:
 *   - every present leaf spte of a synchronised sp translates what its
 *     gpte (composed with the rights above, the p2m) says, with no more
 *     rights, and only with the gpte's A set (W only with D set);
 *   - no leaf spte mapping a write-protected guest frame is writable,
 *     and no large spte covers a tracked frame;
 *   - the reverse map and parent links agree with the tables;
 *   - shadow page accounting (count, peak, limit) adds up.
 */
unsigned shadow_audit(const struct mmu *m, char *msg, size_t len);

#endif /* MEMVIRT_SHADOW_H */
