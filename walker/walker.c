/*
 * walker.c - one page walk for two entry formats: x86-64 (IA-32e) paging
 * and VMX extended page tables. Intel SDM Vol. 3: "4-Level Paging and
 * 5-Level Paging" (ch. 4) and "The EPT Translation Mechanism".
 * Format differences live in the small predicates below; walk_run() is a loop.
 */
#include "walker.h"

/*
 * An entry (x86-64 shown; EPT keeps the frame and bit 7 in the same place):
 *
 *   63 62   52 51     M M-1             12 11   8  7  6  5  4   3   2   1  0
 *  +--+-------+-------+-------------------+------+--+--+--+---+---+---+---+--+
 *  |XD|ignored| rsvd  |   frame address   |ignor.|PS| D| A|PCD|PWT|U/S|R/W| P|
 *  +--+-------+-------+-------------------+------+--+--+--+---+---+---+---+--+
 *
 * Reserved bits of a present entry, M = MAXPHYADDR:
 *
 *              x86-64                            EPT
 *   every      51:M, and 63 when !EFER.NXE       51:M
 *   PML5E/4E   + 7 (PS)                          + 7:3
 *   PDPTE      -                                 + 6:3
 *   1G leaf    + 29:13 (12 is PAT), 7 if no 1G   + 29:12, 7 if no 1G pages
 *   PDE        -                                 + 6:3
 *   2M leaf    + 20:13 (12 is PAT)               + 20:12
 *   PTE        -  (7 is PAT)                     -  (7 ignored, 5:3 memtype)
 */
#define BIT(n)			(UINT64_C(1) << (n))
#define BITS(hi, lo)		((~UINT64_C(0) >> (63 - (hi))) & ~(BIT(lo) - 1))
#define BIT7			BIT(7)		/* PS (x86) / large (EPT) */
#define EPT_XWR			UINT64_C(7)
#define EPT_MT(pte)		((unsigned)((pte) >> EPTE_MT_SHIFT) & 7u)

static bool is_ept(enum walk_fmt fmt)
{
	return fmt == WALK_FMT_EPT;
}

/* Bits 51:maxphyaddr; empty when the physical-address width is 52. */
static uint64_t high_rsvd(const struct walk_mode *mode)
{
	if (mode->maxphyaddr >= 52)
		return 0;
	return BITS(51, mode->maxphyaddr);
}

/* x86: P. EPT: any of R/W/X (an EPT entry is "not present" iff bits 2:0 = 0). */
static bool is_present(enum walk_fmt fmt, uint64_t pte)
{
	return is_ept(fmt) ? (pte & EPT_XWR) != 0 : (pte & PTE_P) != 0;
}

/*
 * Bit 7 asks for a large page in a PDE or PDPTE. In a level-1 entry it is
 * PAT (x86) or ignored (EPT); in a PML4E/PML5E it is reserved, which the
 * reserved mask catches whatever "large" says.
 */
static bool is_large(unsigned level, uint64_t pte)
{
	return level > LEVEL_4K && (pte & BIT7) != 0;
}

/*
 * EPT misconfigurations that are not a plain reserved bit (SDM "EPT
 * Misconfigurations"):
 * write without read (bits 2:0 = 010b or 110b), and in a leaf a memory
 * type of 2, 3 or 7. Execute-only (100b) is taken as supported.
 */
static bool ept_bad_xwr_mt(uint64_t pte, bool leaf)
{
	unsigned xwr = (unsigned)(pte & EPT_XWR);
	unsigned mt = EPT_MT(pte);

	if (xwr == 2u || xwr == 6u)
		return true;
	return leaf && (mt == 2u || mt == 3u || mt == 7u);
}

/*
 * walk_rsvd_bits - the reserved-bit mask of a present entry at this level;
 * large means bit 7 is set (only meaningful at levels 2 and 3). The EPT
 * write-without-read and memory-type checks are not bits of a mask and are
 * not included. levels 4 and 5 reserve bit 7 whatever "large" says.
 */
/* The part of the mask that is the same at every level (bits 51:maxphyaddr,
 * and NX when EFER.NXE is clear on x86): computed once per walk. */
static inline uint64_t rsvd_common(enum walk_fmt fmt, const struct walk_mode *mode)
{
	uint64_t rsvd = high_rsvd(mode);

	if (!is_ept(fmt) && !mode->efer_nxe)
		rsvd |= PTE_NX;
	return rsvd;
}

/* walk_rsvd_bits from the common part. */
static inline uint64_t rsvd_level(enum walk_fmt fmt, const struct walk_mode *mode,
				  uint64_t rsvd, unsigned level, bool large)
{
	uint64_t gb = mode->gbpages ? 0 : BIT7;
	bool ept = is_ept(fmt);

	switch (level) {
	case LEVEL_4K:
		return rsvd;
	case LEVEL_2M:
		if (large)
			return rsvd | (ept ? BITS(20, 12) : BITS(20, 13));
		return rsvd | (ept ? BITS(6, 3) : 0);
	case LEVEL_1G:
		if (large)
			return rsvd | gb | (ept ? BITS(29, 12) : BITS(29, 13));
		return rsvd | (ept ? BITS(6, 3) : 0);
	default:			/* PML4E, PML5E */
		return rsvd | (ept ? BITS(7, 3) : BIT7);
	}
}

uint64_t walk_rsvd_bits(enum walk_fmt fmt, const struct walk_mode *mode,
			unsigned level, bool large)
{
	return rsvd_level(fmt, mode, rsvd_common(fmt, mode), level, large);
}

/*
 * The error-code bits an access reports. KVM reports I only when NX or
 * SMEP make fetches distinguishable (paging_tmpl.h, walk_addr_generic).
 */
static uint32_t access_errcode(const struct walk_mode *mode, unsigned access)
{
	uint32_t ec = access & (PFERR_W | PFERR_U);

	if ((access & ACC_FETCH) && (mode->efer_nxe || mode->cr4_smep))
		ec |= PFERR_I;
	return ec;
}

/*
 * walk_permission_fault - does a translation with these rights (RIGHT_*,
 * ANDed over every level) allow this access (ACC_*) under this mode?
 * Returns 0, or the #PF error code (P set, plus W/U/I of the access) the
 * architecture reports. x86 format only; SDM 4.6:
 *   user access:       needs U; a write needs W (CR0.WP irrelevant);
 *   supervisor write:  needs W iff CR0.WP;
 *   any fetch:         needs X (which is only cleared when EFER.NXE);
 *   supervisor fetch from a user page (U at every level) faults iff SMEP;
 *   supervisor data access to a user page faults iff SMAP and the access
 *   is implicit or RFLAGS.AC = 0.
 */
uint32_t walk_permission_fault(const struct walk_mode *mode, unsigned rights,
			       unsigned access)
{
	bool user = (access & ACC_USER) != 0;
	bool write = (access & ACC_WRITE) != 0;
	bool fetch = (access & ACC_FETCH) != 0;
	bool upage = (rights & RIGHT_U) != 0;
	bool fault;

	if (user)
		fault = !upage || (write && !(rights & RIGHT_W));
	else if (fetch)
		fault = upage && mode->cr4_smep;
	else
		fault = (write && mode->cr0_wp && !(rights & RIGHT_W)) ||
			(upage && mode->cr4_smap &&
			 ((access & ACC_IMPLICIT) || !mode->rflags_ac));
	if (fetch && !(rights & RIGHT_X))
		fault = true;
	return fault ? PFERR_P | access_errcode(mode, access) : 0;
}

/* EPT violation qualification bits 0..5 for this access and these rights. */
static uint32_t ept_qual(unsigned access, unsigned rights)
{
	uint32_t q;

	if (access & ACC_WRITE)
		q = EPT_QUAL_WRITE;
	else if (access & ACC_FETCH)
		q = EPT_QUAL_FETCH;
	else
		q = EPT_QUAL_READ;
	/* EPT_QUAL_READABLE/WRITABLE/EXECUTABLE are RIGHT_R/W/X << 3. */
	return q | ((rights & (RIGHT_R | RIGHT_W | RIGHT_X)) << 3);
}

/* The A and D bits of a format, for the update after a successful walk. */
static uint64_t a_bit(enum walk_fmt fmt)
{
	return is_ept(fmt) ? EPTE_A : PTE_A;
}

static uint64_t d_bit(enum walk_fmt fmt)
{
	return is_ept(fmt) ? EPTE_D : PTE_D;
}

/*
 * Set A on every entry used from the start level down to the leaf, and D
 * on the leaf for a write, writing only entries that lack a bit. An entry
 * reached twice (a recursive mapping) is written at most once per bit:
 * what an earlier level already set is taken as present in memory.
 * Returns WALK_OK or WALK_ABORT (partial updates stay, as on hardware).
 */
static enum walk_result update_ad(struct walk_req *req, unsigned top,
				  const uint64_t *pte_pa)
{
	const struct walk_mem *mem = req->mem;
	uint64_t setbits[WALK_MAX_LEVELS + 1] = { 0 };
	unsigned l, k;

	for (l = top; l >= req->level; l--) {
		uint64_t want = a_bit(req->fmt);
		uint64_t have = req->entry[l];
		int rc;

		if (l == req->level && (req->access & ACC_WRITE))
			want |= d_bit(req->fmt);
		for (k = top; k > l; k--)
			if (pte_pa[k] == pte_pa[l])
				have |= setbits[k];
		if (l == req->level)
			req->leaf = have | want;
		want &= ~have;
		if (!want)
			continue;
		rc = mem->set(mem->ctx, pte_pa[l], l, want);
		if (rc < 0) {
			req->abort_code = rc;
			return WALK_ABORT;
		}
		setbits[l] = want;
		req->ad_writes++;
	}
	return WALK_OK;
}

/* Record a fault that stopped the walk at req->level. */
static enum walk_result stop_fault(struct walk_req *req, uint32_t ec)
{
	req->error_code = ec;
	return WALK_FAULT;
}

/*
 * walk - translate req->addr (gva for x86, gpa for EPT) by walking the
 * tables under req->root, or from req->start_level / start_table /
 * start_rights when start_level is not 0.
 *
 * Returns:
 *   WALK_OK        pa, level (of the leaf), leaf (as left in memory, A/D
 *                  set), rights; A set on every entry used, D on the leaf
 *                  for a write, only entries that lacked them written.
 *   WALK_FAULT     x86: error_code = #PF error code (P clear: not present;
 *                  P|RSVD: reserved bit; P: permission), plus W/U/I of
 *                  the access. EPT: error_code = qualification bits 0..5.
 *                  level = the level where the walk stopped. Nothing is
 *                  written. rights = 0 unless it was a permission fault.
 *   WALK_MISCONFIG EPT: a present entry misconfigured; level as above.
 *   WALK_ABORT     a hook returned < 0, which is in abort_code.
 * Always: reads, ad_writes, refs = reads + ad_writes, table[l], entry[l]
 * for every level read (table 0 for levels not read).
 *
 * A read the hook reports as WALK_MEM_NONE is an entry of all ones
 * (master abort) and ends the walk as a reserved-bit fault (x86) or a
 * misconfiguration (EPT) -- even with MAXPHYADDR = 52, where an all-ones
 * PTE would otherwise have no reserved bit.
 */
enum walk_result walk_run(struct walk_req *req)
{
	const struct walk_mode *mode = req->mode;
	const struct walk_mem *mem = req->mem;
	enum walk_fmt fmt = req->fmt;
	bool ept = is_ept(fmt);
	uint64_t pte_pa[WALK_MAX_LEVELS + 1] = { 0 };
	uint64_t table, pte = 0, mask, rsvd = rsvd_common(fmt, mode);
	unsigned level, top, rights;
	enum walk_result res;

	BUG_ON(mode->levels != 4 && mode->levels != 5, "levels must be 4 or 5");
	BUG_ON(req->start_level > mode->levels, "start level above the root");

	req->pa = 0;
	req->leaf = 0;
	req->rights = 0;
	req->error_code = 0;
	req->abort_code = 0;
	req->reads = 0;
	req->ad_writes = 0;
	req->refs = 0;
	for (level = 0; level <= WALK_MAX_LEVELS; level++) {
		req->table[level] = 0;
		req->entry[level] = 0;
	}

	if (req->start_level) {
		top = req->start_level;
		table = req->start_table & PTE_ADDR_MASK;
		rights = req->start_rights;
	} else {
		top = mode->levels;
		table = req->root & PTE_ADDR_MASK;
		rights = ept ? RIGHT_R | RIGHT_W | RIGHT_X : RIGHTS_ALL;
	}

	for (level = top;; level--) {
		bool large, none;
		int rc;

		req->level = level;
		pte_pa[level] = table + 8 * WALK_INDEX(req->addr, level);
		rc = mem->read(mem->ctx, pte_pa[level], level, &pte);
		if (rc < 0) {
			req->abort_code = rc;
			res = WALK_ABORT;
			goto out;
		}
		none = rc == WALK_MEM_NONE;
		if (none)
			pte = ~UINT64_C(0);
		req->reads++;
		req->table[level] = table;
		req->entry[level] = pte;

		if (!is_present(fmt, pte)) {
			res = stop_fault(req, ept ? ept_qual(req->access, 0)
					: access_errcode(mode, req->access));
			goto out;
		}
		large = is_large(level, pte);
		mask = rsvd_level(fmt, mode, rsvd, level, large);
		if (none || (pte & mask) ||
		    (ept && ept_bad_xwr_mt(pte, large || level == LEVEL_4K))) {
			if (ept) {
				res = WALK_MISCONFIG;
			} else {
				res = stop_fault(req, PFERR_P | PFERR_RSVD |
						 access_errcode(mode, req->access));
			}
			goto out;
		}
		rights &= walk_entry_rights(fmt, mode->efer_nxe, pte);
		if (level == LEVEL_4K || large)
			break;
		table = pte & PTE_ADDR_MASK;
	}

	/* Leaf reached at req->level: permissions, then A/D. */
	req->rights = rights;
	if (ept) {
		if (!walk_ept_allows(rights, req->access)) {
			res = stop_fault(req, ept_qual(req->access, rights));
			goto out;
		}
	} else {
		uint32_t ec = walk_permission_fault(mode, rights, req->access);

		if (ec) {
			res = stop_fault(req, ec);
			goto out;
		}
	}

	mask = LEVEL_SIZE(level) - 1;
	req->pa = (pte & PTE_ADDR_MASK & ~mask) | (req->addr & mask);
	req->leaf = pte;
	res = WALK_OK;
	if (!ept || mode->ept_ad)
		res = update_ad(req, top, pte_pa);
out:
	req->refs = req->reads + req->ad_writes;
	return res;
}
