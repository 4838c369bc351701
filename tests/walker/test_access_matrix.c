/*
 * test_access_matrix.c - the permission matrix kvm-unit-tests' x86/access.c
 * enumerates (PTE and PDE bits x access kind x paging controls), checked
 * against a reference model written here from the SDM rules (Vol. 3,
 * 4.6 access rights, 4.7 #PF error code, 4.8 accessed and dirty flags):
 * fault or not, exact error code, pa, and the bits left in every entry.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "testmem.h"
#include "walker.h"

/* One flag per bit of a case number. */
enum {
	F_PTE_P, F_PTE_W, F_PTE_U, F_PTE_A, F_PTE_D, F_PTE_NX, F_PTE_BIT51,
	F_PDE_P, F_PDE_W, F_PDE_U, F_PDE_A, F_PDE_D, F_PDE_PSE, F_PDE_NX,
	F_PDE_BIT51, F_PDE_BIT13,
	F_ACC_USER, F_ACC_WRITE, F_ACC_FETCH, F_ACC_IMPLICIT,
	F_EFER_NXE, F_CR0_WP, F_CR4_SMEP, F_CR4_SMAP, F_RFLAGS_AC,
	NR_FLAGS
};

static const char *const flag_names[NR_FLAGS] = {
	"pte.p", "pte.rw", "pte.user", "pte.a", "pte.d", "pte.nx", "pte.51",
	"pde.p", "pde.rw", "pde.user", "pde.a", "pde.d", "pde.pse", "pde.nx",
	"pde.51", "pde.13",
	"user", "write", "fetch", "implicit",
	"efer.nx", "cr0.wp", "cr4.smep", "cr4.smap", "rflags.ac",
};

#define F(x)		((flags >> (x)) & 1u)
#define MAXPHYADDR	46
#define VA		UINT64_C(0x00000081c0e0a123)	/* indices 1, 7, 7, 10 */
#define DATA_PA		UINT64_C(0x0000000280000000)	/* 2M aligned, outside memory */
#define PML4_PA		UINT64_C(0x1000)
#define PDPT_PA		UINT64_C(0x2000)
#define PD_PA		UINT64_C(0x3000)
#define PT_PA		UINT64_C(0x4000)

/*
 * Combinations that mean nothing: a write and a fetch at once; an implicit
 * access is a supervisor data access; a 2M-only bit without PSE; PTE bits
 * when the PDE is the leaf (kept 0 so each case runs once); AC without SMAP.
 */
static bool legal(unsigned flags)
{
	if (F(F_ACC_WRITE) && F(F_ACC_FETCH))
		return false;
	if (F(F_ACC_IMPLICIT) && (F(F_ACC_USER) || F(F_ACC_FETCH)))
		return false;
	if (F(F_PDE_BIT13) && !F(F_PDE_PSE))
		return false;
	if (F(F_PDE_PSE) && (flags & ((1u << F_PDE_P) - 1)))
		return false;
	if (F(F_RFLAGS_AC) && !F(F_CR4_SMAP))
		return false;
	return true;
}

static void describe(unsigned flags, char *buf, size_t len)
{
	size_t n = 0;
	unsigned i;

	buf[0] = 0;
	for (i = 0; i < NR_FLAGS && n < len; i++)
		if (F(i))
			n += (size_t)snprintf(buf + n, len - n, "%s ", flag_names[i]);
	if (n == 0)
		snprintf(buf, len, "(none)");
}

/* What the architecture should do with one case. */
struct expect {
	bool		fault;
	uint32_t	ec;
	uint64_t	pa;
	uint64_t	pde, pte;	/* entries as left in memory */
	uint64_t	upper_a;	/* A in the PML4E and PDPTE afterwards */
};

/*
 * The reference model, one rule per line, in the order a walk meets them.
 * Not present or reserved stops the walk at that entry; permissions are
 * judged on the combined rights at the leaf; A/D are written only when
 * the access succeeds.
 */
static struct expect reference(unsigned flags, uint64_t pde, uint64_t pte)
{
	struct expect x = { .pde = pde, .pte = pte };
	bool nxe = F(F_EFER_NXE), pse = F(F_PDE_PSE);
	bool user_acc = F(F_ACC_USER), write = F(F_ACC_WRITE), fetch = F(F_ACC_FETCH);
	bool w, u, nx, supervisor_ok;
	uint32_t access_bits = 0;

	if (user_acc)
		access_bits |= PFERR_U;
	if (write)
		access_bits |= PFERR_W;
	if (fetch && (nxe || F(F_CR4_SMEP)))	/* I only exists with NX or SMEP */
		access_bits |= PFERR_I;

	/* PDE */
	if (!F(F_PDE_P)) {
		x.fault = true;
		x.ec = access_bits;
		return x;
	}
	if (F(F_PDE_BIT51) || (pse && F(F_PDE_BIT13)) || (F(F_PDE_NX) && !nxe)) {
		x.fault = true;
		x.ec = PFERR_P | PFERR_RSVD | access_bits;
		return x;
	}
	w = F(F_PDE_W);
	u = F(F_PDE_U);
	nx = nxe && F(F_PDE_NX);

	/* PTE, unless the PDE maps 2M */
	if (!pse) {
		if (!F(F_PTE_P)) {
			x.fault = true;
			x.ec = access_bits;
			return x;
		}
		if (F(F_PTE_BIT51) || (F(F_PTE_NX) && !nxe)) {
			x.fault = true;
			x.ec = PFERR_P | PFERR_RSVD | access_bits;
			return x;
		}
		w = w && F(F_PTE_W);
		u = u && F(F_PTE_U);
		nx = nx || (nxe && F(F_PTE_NX));
	}

	/* Permissions on the combined rights (upper levels are P|W|U). */
	if (user_acc) {
		if (!u || (write && !w) || (fetch && nx))
			x.fault = true;
	} else {
		supervisor_ok = true;
		if (write && !w && F(F_CR0_WP))
			supervisor_ok = false;
		if (fetch && nx)
			supervisor_ok = false;
		if (fetch && u && F(F_CR4_SMEP))
			supervisor_ok = false;
		if (!fetch && u && F(F_CR4_SMAP) &&
		    (F(F_ACC_IMPLICIT) || !F(F_RFLAGS_AC)))
			supervisor_ok = false;
		x.fault = !supervisor_ok;
	}
	if (x.fault) {
		x.ec = PFERR_P | access_bits;
		return x;
	}

	/* Success: A everywhere, D on the leaf for a write. */
	x.upper_a = PTE_A;
	x.pde |= PTE_A;
	if (pse) {
		if (write)
			x.pde |= PTE_D;
		x.pa = DATA_PA | (VA & (LEVEL_SIZE(LEVEL_2M) - 1));
	} else {
		x.pte |= PTE_A;
		if (write)
			x.pte |= PTE_D;
		x.pa = DATA_PA | (VA & (PAGE_SIZE - 1));
	}
	return x;
}

static uint64_t make_pde(unsigned flags)
{
	uint64_t e = F(F_PDE_PSE) ? DATA_PA | PTE_PS : PT_PA;

	e |= F(F_PDE_P) ? PTE_P : 0;
	e |= F(F_PDE_W) ? PTE_W : 0;
	e |= F(F_PDE_U) ? PTE_U : 0;
	e |= F(F_PDE_A) ? PTE_A : 0;
	e |= F(F_PDE_D) ? PTE_D : 0;
	e |= F(F_PDE_NX) ? PTE_NX : 0;
	e |= F(F_PDE_BIT51) ? UINT64_C(1) << 51 : 0;
	e |= F(F_PDE_BIT13) ? UINT64_C(1) << 13 : 0;
	return e;
}

static uint64_t make_pte(unsigned flags)
{
	uint64_t e = DATA_PA;

	e |= F(F_PTE_P) ? PTE_P : 0;
	e |= F(F_PTE_W) ? PTE_W : 0;
	e |= F(F_PTE_U) ? PTE_U : 0;
	e |= F(F_PTE_A) ? PTE_A : 0;
	e |= F(F_PTE_D) ? PTE_D : 0;
	e |= F(F_PTE_NX) ? PTE_NX : 0;
	e |= F(F_PTE_BIT51) ? UINT64_C(1) << 51 : 0;
	return e;
}

static unsigned make_access(unsigned flags)
{
	return (F(F_ACC_USER) ? ACC_USER : 0) | (F(F_ACC_WRITE) ? ACC_WRITE : 0) |
	       (F(F_ACC_FETCH) ? ACC_FETCH : 0) | (F(F_ACC_IMPLICIT) ? ACC_IMPLICIT : 0);
}

Test(walker, access_matrix)
{
	struct tmem tm;
	const uint64_t pml4e = PML4_PA + 8 * WALK_INDEX(VA, 4);
	const uint64_t pdpte = PDPT_PA + 8 * WALK_INDEX(VA, 3);
	const uint64_t pde_pa = PD_PA + 8 * WALK_INDEX(VA, 2);
	const uint64_t pte_pa = PT_PA + 8 * WALK_INDEX(VA, 1);
	unsigned flags, cases = 0, faults = 0;
	char desc[512];

	tmem_init(&tm, 64 * KiB);
	for (flags = 0; flags < (1u << NR_FLAGS); flags++) {
		struct walk_mode mode = {
			.levels = 4, .maxphyaddr = MAXPHYADDR, .gbpages = true,
			.efer_nxe = F(F_EFER_NXE), .cr0_wp = F(F_CR0_WP),
			.cr4_smep = F(F_CR4_SMEP), .cr4_smap = F(F_CR4_SMAP),
			.rflags_ac = F(F_RFLAGS_AC),
		};
		struct walk_req r = {
			.fmt = WALK_FMT_X86_64, .addr = VA, .root = PML4_PA,
			.access = make_access(flags), .mode = &mode, .mem = &tm.mem,
		};
		uint64_t pde = make_pde(flags), pte = make_pte(flags);
		struct expect x;
		enum walk_result res;
		bool ok;

		if (!legal(flags))
			continue;
		tmem_put(&tm, pml4e, PDPT_PA | PTE_P | PTE_W | PTE_U);
		tmem_put(&tm, pdpte, PD_PA | PTE_P | PTE_W | PTE_U);
		tmem_put(&tm, pde_pa, pde);
		tmem_put(&tm, pte_pa, pte);
		x = reference(flags, pde, pte);
		res = walk_run(&r);
		cases++;
		faults += x.fault;

		ok = res == (x.fault ? WALK_FAULT : WALK_OK) &&
		     (x.fault ? r.error_code == x.ec : r.pa == x.pa) &&
		     tmem_get(&tm, pde_pa) == x.pde && tmem_get(&tm, pte_pa) == x.pte &&
		     (tmem_get(&tm, pml4e) & PTE_A) == x.upper_a &&
		     (tmem_get(&tm, pdpte) & PTE_A) == x.upper_a &&
		     tm.oob_reads == 0 && tm.oob_sets == 0 && tm.misaligned == 0;
		if (!ok) {
			describe(flags, desc, sizeof(desc));
			cr_assert_fail("case %#x [%s]: expected %s ec %#x pa %#llx "
				       "pde %#llx pte %#llx upper.a %d; walker gave %s ec %#x "
				       "pa %#llx pde %#llx pte %#llx pml4e %#llx pdpte %#llx",
				       flags, desc, x.fault ? "fault" : "ok", x.ec,
				       (unsigned long long)x.pa,
				       (unsigned long long)x.pde, (unsigned long long)x.pte,
				       x.upper_a != 0,
				       res == WALK_OK ? "ok" : res == WALK_FAULT ? "fault" : "other",
				       r.error_code, (unsigned long long)r.pa,
				       (unsigned long long)tmem_get(&tm, pde_pa),
				       (unsigned long long)tmem_get(&tm, pte_pa),
				       (unsigned long long)tmem_get(&tm, pml4e),
				       (unsigned long long)tmem_get(&tm, pdpte));
		}
		/* The permission half on its own must agree with the walk. */
		if (res == WALK_OK || (res == WALK_FAULT && !(r.error_code & PFERR_RSVD) &&
				       (r.error_code & PFERR_P)))
			cr_assert_eq(walk_permission_fault(&mode, r.rights, r.access),
				     res == WALK_OK ? 0 : r.error_code, "case %#x", flags);
	}
	tmem_fini(&tm);
	cr_log_info("access matrix: %u cases, %u faults", cases, faults);
	cr_assert_gt(cases, 1000000, "matrix too small: %u", cases);
	cr_assert(faults > cases / 4 && faults < cases, "degenerate matrix: %u faults", faults);
}
