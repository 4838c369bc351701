/*
 * testmem.c - bounds-checked memory behind the walk_mem hooks, for the
 * walker tests. Out-of-range or misaligned accesses are counted, never made.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "testmem.h"

static bool in_range(const struct tmem *tm, uint64_t pa)
{
	return pa < tm->size && tm->size - pa >= 8;
}

static int tm_read(void *ctx, uint64_t pa, unsigned level, uint64_t *val)
{
	struct tmem *tm = ctx;

	(void)level;
	tm->read_calls++;
	if (tm->abort_read && tm->read_calls == (unsigned)tm->abort_read)
		return tm->abort_code;
	if (pa % 8) {
		tm->misaligned++;
		return WALK_MEM_NONE;
	}
	if (!in_range(tm, pa)) {
		tm->oob_reads++;
		return WALK_MEM_NONE;
	}
	memcpy(val, tm->buf + pa, 8);
	tm->reads++;
	return WALK_MEM_OK;
}

static int tm_set(void *ctx, uint64_t pa, unsigned level, uint64_t bits)
{
	struct tmem *tm = ctx;
	uint64_t v;

	(void)level;
	tm->set_calls++;
	if (tm->abort_set && tm->set_calls == (unsigned)tm->abort_set)
		return tm->abort_code;
	if (pa % 8) {
		tm->misaligned++;
		return WALK_MEM_NONE;
	}
	if (!in_range(tm, pa)) {
		tm->oob_sets++;
		return WALK_MEM_NONE;
	}
	memcpy(&v, tm->buf + pa, 8);
	v |= bits;
	memcpy(tm->buf + pa, &v, 8);
	tm->sets++;
	return WALK_MEM_OK;
}

void tmem_init(struct tmem *tm, uint64_t size)
{
	memset(tm, 0, sizeof(*tm));
	tm->buf = calloc(1, (size_t)size);
	cr_assert_not_null(tm->buf, "tmem_init: out of memory");
	tm->size = size;
	tm->next = PAGE_SIZE;
	tm->abort_code = -14;
	tm->mem.read = tm_read;
	tm->mem.set = tm_set;
	tm->mem.ctx = tm;
}

void tmem_fini(struct tmem *tm)
{
	free(tm->buf);
	tm->buf = NULL;
}

uint64_t tmem_alloc(struct tmem *tm)
{
	uint64_t pa = tm->next;

	cr_assert(pa + PAGE_SIZE <= tm->size, "tmem_alloc: test memory full");
	tm->next += PAGE_SIZE;
	memset(tm->buf + pa, 0, (size_t)PAGE_SIZE);
	return pa;
}

uint64_t tmem_get(const struct tmem *tm, uint64_t pa)
{
	uint64_t v;

	cr_assert(in_range(tm, pa) && pa % 8 == 0, "tmem_get: bad pa %#llx",
		  (unsigned long long)pa);
	memcpy(&v, tm->buf + pa, 8);
	return v;
}

void tmem_put(struct tmem *tm, uint64_t pa, uint64_t val)
{
	cr_assert(in_range(tm, pa) && pa % 8 == 0, "tmem_put: bad pa %#llx",
		  (unsigned long long)pa);
	memcpy(tm->buf + pa, &val, 8);
}

void tmem_reset_counts(struct tmem *tm)
{
	tm->reads = tm->sets = tm->oob_reads = tm->oob_sets = 0;
	tm->misaligned = tm->read_calls = tm->set_calls = 0;
	tm->abort_read = tm->abort_set = 0;
}

uint64_t tmem_entry_pa(const struct tmem *tm, uint64_t root, unsigned levels,
		       uint64_t va, unsigned level)
{
	uint64_t table = root & PTE_ADDR_MASK;
	unsigned l;

	for (l = levels; l > level; l--)
		table = tmem_get(tm, table + 8 * WALK_INDEX(va, l)) & PTE_ADDR_MASK;
	return table + 8 * WALK_INDEX(va, level);
}

uint64_t tmem_map(struct tmem *tm, uint64_t root, unsigned levels, uint64_t va,
		  uint64_t pa, unsigned leaf_level, uint64_t upper,
		  uint64_t leaf_flags)
{
	uint64_t table = root & PTE_ADDR_MASK, epa, e;
	unsigned l;

	for (l = levels; l > leaf_level; l--) {
		epa = table + 8 * WALK_INDEX(va, l);
		e = tmem_get(tm, epa);
		if (!e) {
			e = tmem_alloc(tm) | upper;
			tmem_put(tm, epa, e);
		}
		table = e & PTE_ADDR_MASK;
	}
	epa = table + 8 * WALK_INDEX(va, leaf_level);
	e = (pa & PTE_ADDR_MASK & ~(LEVEL_SIZE(leaf_level) - 1)) | leaf_flags;
	if (leaf_level > LEVEL_4K)
		e |= PTE_PS;
	tmem_put(tm, epa, e);
	return epa;
}

void tmem_req(struct tmem *tm, struct walk_req *r, enum walk_fmt fmt,
	      const struct walk_mode *mode, uint64_t root, uint64_t addr,
	      unsigned access)
{
	memset(r, 0, sizeof(*r));
	r->fmt = fmt;
	r->addr = addr;
	r->root = root;
	r->access = access;
	r->mode = mode;
	r->mem = &tm->mem;
}

enum walk_result tmem_walk(struct tmem *tm, struct walk_req *r)
{
	unsigned reads0 = tm->reads + tm->oob_reads, sets0 = tm->sets;
	enum walk_result res = walk_run(r);

	cr_assert_eq(r->refs, r->reads + r->ad_writes, "refs != reads + ad_writes");
	cr_assert_eq(tm->reads + tm->oob_reads - reads0, r->reads,
		     "walker counted %u reads, hooks saw %u", r->reads,
		     tm->reads + tm->oob_reads - reads0);
	cr_assert_eq(tm->sets - sets0, r->ad_writes,
		     "walker counted %u A/D writes, hooks saw %u", r->ad_writes,
		     tm->sets - sets0);
	if (res == WALK_FAULT || res == WALK_MISCONFIG)
		cr_assert_eq(r->ad_writes, 0, "A/D written on a failed walk");
	cr_assert_eq(tm->misaligned, 0, "misaligned hook access");
	cr_assert_eq(tm->oob_sets, 0, "A/D write outside memory");
	return res;
}
