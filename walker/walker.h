/*
 * walker.h - x86-64 and EPT page-table walks, bit-exact to the architecture.
 * One walk loop serves both entry formats; the differences live in small
 * predicates inside walker.c. Knows nothing of TLBs or VMMs.
 */
#ifndef MEMVIRT_WALKER_H
#define MEMVIRT_WALKER_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"

/*
 * How a 4-level address splits (48-bit; 5-level adds bits 56:48):
 *
 *   47      39 38      30 29      21 20      12 11         0
 *  +----------+----------+----------+----------+------------+
 *  | PML4 idx | PDPT idx |  PD idx  |  PT idx  |   offset   |
 *  +----------+----------+----------+----------+------------+
 *     level 4    level 3    level 2    level 1
 *
 * A walk reads the entry at index WALK_INDEX(addr, level) of the table at
 * each level, from mode->levels down. PS (bit 7) in a level-3 entry maps a
 * 1G page, in a level-2 entry a 2M page.
 */
#define WALK_INDEX(addr, level)	(((addr) >> LEVEL_SHIFT(level)) & 0x1ff)
#define WALK_MAX_LEVELS		5

/* Entry formats the walker understands. */
enum walk_fmt {
	WALK_FMT_X86_64,	/* guest IA-32e paging entries */
	WALK_FMT_EPT,		/* VMX extended page table entries */
};

/* x86-64 entry bits. */
#define PTE_P		(UINT64_C(1) << 0)
#define PTE_W		(UINT64_C(1) << 1)
#define PTE_U		(UINT64_C(1) << 2)
#define PTE_PWT		(UINT64_C(1) << 3)
#define PTE_PCD		(UINT64_C(1) << 4)
#define PTE_A		(UINT64_C(1) << 5)
#define PTE_D		(UINT64_C(1) << 6)
#define PTE_PS		(UINT64_C(1) << 7)	/* PAT in a level-1 entry */
#define PTE_G		(UINT64_C(1) << 8)
#define PTE_PAT_LARGE	(UINT64_C(1) << 12)	/* PAT in a 2M/1G leaf */
#define PTE_NX		(UINT64_C(1) << 63)
#define PTE_ADDR_MASK	UINT64_C(0x000ffffffffff000)	/* bits 51:12 */

/* EPT entry bits. */
#define EPTE_R		(UINT64_C(1) << 0)
#define EPTE_W		(UINT64_C(1) << 1)
#define EPTE_X		(UINT64_C(1) << 2)
#define EPTE_MT_SHIFT	3			/* bits 5:3, leaf memory type */
#define EPTE_MT_WB	(UINT64_C(6) << EPTE_MT_SHIFT)
#define EPTE_IPAT	(UINT64_C(1) << 6)
#define EPTE_LARGE	(UINT64_C(1) << 7)
#define EPTE_A		(UINT64_C(1) << 8)
#define EPTE_D		(UINT64_C(1) << 9)

/* Access kinds, encoded as the #PF error-code bits they report. */
#define ACC_READ	0u
#define ACC_WRITE	(1u << 1)	/* PFERR_W */
#define ACC_USER	(1u << 2)	/* PFERR_U: CPL 3 */
#define ACC_FETCH	(1u << 4)	/* PFERR_I */
#define ACC_IMPLICIT	(1u << 8)	/* implicit supervisor access: SMAP ignores AC */

/* #PF error code bits. */
#define PFERR_P		(1u << 0)
#define PFERR_W		(1u << 1)
#define PFERR_U		(1u << 2)
#define PFERR_RSVD	(1u << 3)
#define PFERR_I		(1u << 4)

/*
 * Rights a translation grants, ANDed over every level walked. x86: R is
 * always set, W is R/W, X is !NX, U is U/S. EPT: R, W, X are the entry's
 * bits 0..2 (U unused).
 */
#define RIGHT_R		(1u << 0)
#define RIGHT_W		(1u << 1)
#define RIGHT_X		(1u << 2)
#define RIGHT_U		(1u << 3)
#define RIGHTS_ALL	(RIGHT_R | RIGHT_W | RIGHT_X | RIGHT_U)

/*
 * walk_entry_rights - the rights one present entry of format fmt grants,
 * before ANDing with the levels above. x86: R always, W from R/W, U from
 * U/S, X unless NX is defined (nxe: EFER.NXE) and set. EPT: bits 2:0 are
 * RIGHT_R/W/X as they stand. The one decoding of entry rights: the
 * walker, the PSC fill and shadow paging's gpte reading all use it.
 */
_Static_assert(RIGHT_R == EPTE_R && RIGHT_W == EPTE_W && RIGHT_X == EPTE_X,
	       "EPT rights are read off bits 2:0 as RIGHT_R/W/X");

static inline unsigned walk_entry_rights(enum walk_fmt fmt, bool nxe, uint64_t pte)
{
	unsigned r = RIGHT_R;

	if (fmt == WALK_FMT_EPT)
		return (unsigned)(pte & (EPTE_R | EPTE_W | EPTE_X));
	if (pte & PTE_W)
		r |= RIGHT_W;
	if (pte & PTE_U)
		r |= RIGHT_U;
	if (!nxe || !(pte & PTE_NX))
		r |= RIGHT_X;
	return r;
}

/* walk_ept_allows - do EPT rights allow access acc? (ACC_USER means
 * nothing to EPT; the D bit under EPT A/D is the caller's to check.) */
static inline bool walk_ept_allows(unsigned rights, unsigned acc)
{
	if (acc & ACC_WRITE)
		return (rights & RIGHT_W) != 0;
	if (acc & ACC_FETCH)
		return (rights & RIGHT_X) != 0;
	return (rights & RIGHT_R) != 0;
}

/* EPT violation exit qualification bits (SDM Vol. 3, Table 28-7). */
#define EPT_QUAL_READ		(1u << 0)
#define EPT_QUAL_WRITE		(1u << 1)
#define EPT_QUAL_FETCH		(1u << 2)
#define EPT_QUAL_READABLE	(1u << 3)
#define EPT_QUAL_WRITABLE	(1u << 4)
#define EPT_QUAL_EXECUTABLE	(1u << 5)
#define EPT_QUAL_GLA_VALID	(1u << 7)
#define EPT_QUAL_GLA_FINAL	(1u << 8)	/* access to the final gpa, not a gpte */
_Static_assert((EPT_QUAL_READABLE | EPT_QUAL_WRITABLE | EPT_QUAL_EXECUTABLE) ==
	       (RIGHT_R | RIGHT_W | RIGHT_X) << 3,
	       "an EPT violation reports the rights as RIGHT_R/W/X << 3");

/* Paging-mode state that changes the meaning of an entry or an access. */
struct walk_mode {
	uint8_t	levels;		/* 4, or 5 with LA57 / 5-level EPT */
	uint8_t	maxphyaddr;	/* physical-address width, in bits (36..52) */
	bool	cr0_wp;		/* supervisor writes honour R/W */
	bool	efer_nxe;	/* NX bit 63 is defined (else reserved) */
	bool	cr4_smep;	/* no supervisor fetch from user pages */
	bool	cr4_smap;	/* no supervisor data access to user pages... */
	bool	rflags_ac;	/* ...unless AC=1 and the access is explicit */
	bool	gbpages;	/* 1G leaves allowed (else PS at level 3 reserved) */
	bool	ept_ad;		/* EPT: EPTP bit 6, A/D flags enabled */
};

/*
 * Physical memory as the walker sees it. Every table read and every A/D
 * write goes through these hooks; the walker never forms a host pointer.
 *
 * read:   fetch the 8-byte entry at physical address pa, which belongs to
 *         a table of the given level. Returns WALK_MEM_OK, WALK_MEM_NONE
 *         (no memory there), or a negative value that aborts the walk
 *         (a nested fault the hook has recorded, e.g. an EPT violation
 *         while translating a guest table's gpa).
 * set:    OR bits into the entry at pa (A/D update). Same return values.
 *
 * A read of WALK_MEM_NONE behaves as x86 reads of nonexistent memory do
 * (master abort: all ones), so the entry has reserved bits set and the
 * walk ends in a reserved-bit fault. No host memory is touched.
 */
#define WALK_MEM_OK	0
#define WALK_MEM_NONE	1
struct walk_mem {
	int	(*read)(void *ctx, uint64_t pa, unsigned level, uint64_t *val);
	int	(*set)(void *ctx, uint64_t pa, unsigned level, uint64_t bits);
	void	*ctx;
};

enum walk_result {
	WALK_OK = 0,		/* translated: pa, level, leaf, rights valid */
	WALK_FAULT,		/* x86: #PF (error_code); EPT: violation (qual) */
	WALK_MISCONFIG,		/* EPT only: misconfigured entry (reserved bits, W without R, bad memtype) */
	WALK_ABORT,		/* a memory hook returned < 0; its code in abort_code */
};

/*
 * One walk: inputs, optional start point (from a paging-structure cache),
 * outputs. Fill the inputs, call walk_run(), read the outputs.
 */
struct walk_req {
	/* inputs */
	enum walk_fmt		fmt;
	uint64_t		addr;		/* gva (x86) or gpa (EPT) */
	uint64_t		root;		/* CR3 or EPTP; flag bits are ignored */
	unsigned		access;		/* ACC_* */
	const struct walk_mode	*mode;
	const struct walk_mem	*mem;

	/* start point: 0 = start at the root; else the table at this level */
	unsigned		start_level;
	uint64_t		start_table;	/* physical address of that table */
	unsigned		start_rights;	/* RIGHT_* ANDed over the levels above */

	/* outputs */
	uint64_t		pa;		/* translated address (with page offset) */
	unsigned		level;		/* leaf level, or where the walk stopped */
	uint64_t		leaf;		/* leaf entry as left in memory (A/D set) */
	unsigned		rights;		/* RIGHT_* ANDed over every level */
	uint32_t		error_code;	/* #PF error code, or EPT qualification bits 0..5 */
	int			abort_code;	/* the hook's return on WALK_ABORT */
	unsigned		reads;		/* entries read */
	unsigned		ad_writes;	/* entries written to set A/D */
	unsigned		refs;		/* reads + ad_writes */
	uint64_t		table[WALK_MAX_LEVELS + 1];	/* [l]: table read at level l, 0 if not */
	uint64_t		entry[WALK_MAX_LEVELS + 1];	/* [l]: entry read at level l */
};

/*
 * walk_req_init - set a request's inputs, to start at the root; the
 * caller may then set a start point (psc_walk_start). walk_run() sets
 * every output, so nothing else needs clearing: a designated
 * initializer would zero the whole request (a rep stos of ~250 bytes on
 * every TLB miss, 6% of the exact engine's wall time on memsweep 4K).
 */
static inline void walk_req_init(struct walk_req *r, enum walk_fmt fmt,
				 uint64_t addr, uint64_t root, unsigned access,
				 const struct walk_mode *mode,
				 const struct walk_mem *mem)
{
	r->fmt = fmt;
	r->addr = addr;
	r->root = root;
	r->access = access;
	r->mode = mode;
	r->mem = mem;
	r->start_level = 0;
}

/*
 * walk - translate req->addr by walking the tables under req->root (or
 * from req->start_*). Sets A on every entry used and D on the leaf for a
 * write, only when the whole walk succeeds (as KVM's walker does). On a
 * fault nothing is written. Returns an enum walk_result.
 *
 * The caller checks canonicality of x86 addresses (#GP, not #PF).
 */
enum walk_result walk_run(struct walk_req *req);

/*
 * walk_rsvd_bits - the reserved-bit mask for an entry at this level
 * (large: PS/bit-7 set). For callers that build or check entries.
 */
uint64_t walk_rsvd_bits(enum walk_fmt fmt, const struct walk_mode *mode,
			unsigned level, bool large);

/*
 * walk_permission_fault - does a translation with these rights
 * allow this access under this mode? Returns 0, or the #PF error code
 * (P set) the architecture reports. x86 format only.
 */
uint32_t walk_permission_fault(const struct walk_mode *mode, unsigned rights,
			       unsigned access);

#endif /* MEMVIRT_WALKER_H */
