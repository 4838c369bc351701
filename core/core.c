/*
 * core.c - the core timing model (see core.h for the model and its
 * sources): dispatch, the reorder window, miss buffers, page walkers,
 * the store buffer, serialising events, and the cycle stack.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static unsigned pow2_at_least(unsigned n)
{
	unsigned p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

static bool figure_ok(double v)
{
	return isfinite(v) && v >= 0 && v <= 1e9;
}

int core_init(struct core *c, const struct core_config *cfg)
{
	unsigned i;

	memset(c, 0, sizeof(*c));
	if (!figure_ok(cfg->cpi) || !figure_ok(cfg->kernel_cpi) || !figure_ok(cfg->tlb_l2_hit) ||
	    cfg->rob < 1 || cfg->rob > CORE_ROB_MAX ||
	    cfg->store_buffer < 1 || cfg->store_buffer > CORE_SB_MAX ||
	    cfg->store_rfos < 1 || cfg->store_rfos > cfg->store_buffer ||
	    cfg->mshrs < 1 || cfg->mshrs > CORE_MSHR_MAX ||
	    cfg->walkers < 1 || cfg->walkers > CORE_WALKERS_MAX)
		return -EINVAL;
	for (i = 0; i < 4; i++) {
		if (!figure_ok(cfg->latency[i]))
			return -EINVAL;
		c->lat[i] = core_ticks(cfg->latency[i]);
	}
	c->rob_size = cfg->rob;
	c->rob_mask = pow2_at_least(cfg->rob) - 1;
	c->rob = calloc(c->rob_mask + 1, sizeof(*c->rob));
	c->sb_size = cfg->store_buffer;
	c->sb_mask = pow2_at_least(cfg->store_buffer) - 1;
	c->sb = calloc(c->sb_mask + 1, sizeof(*c->sb));
	if (!c->rob || !c->sb) {
		core_destroy(c);
		return -ENOMEM;
	}
	/* store line fetches hold miss buffers too: never more than there are */
	c->rfos = cfg->store_rfos < cfg->mshrs ? cfg->store_rfos : cfg->mshrs;
	c->nmshr = cfg->mshrs;
	c->mshr_mask = pow2_at_least(cfg->mshrs) - 1;
	c->nwalkers = cfg->walkers;
	c->cpi_user = core_ticks(cfg->cpi);
	c->cpi_kernel = cfg->kernel_cpi > 0 ? core_ticks(cfg->kernel_cpi) : c->cpi_user;
	c->cpi = c->cpi_kernel;		/* the core starts in the kernel */
	c->window = (core_time)cfg->rob *
		    (c->cpi_user < c->cpi_kernel ? c->cpi_user : c->cpi_kernel);
	c->tlb_l2 = core_ticks(cfg->tlb_l2_hit);
	c->cpl3 = false;
	c->base_cat = CORE_BASE_KERNEL;
	/* An L1 hit completes within the window unless the window is tiny;
	 * the raiser's phases below need the TLB/walk categories set once. */
	c->l1_inline = c->lat[0] <= c->window;
	c->raiser.cat[0] = CORE_TLB;
	c->raiser.cat[1] = CORE_TLB;
	c->raiser.cat[2] = CORE_WALK;
	return 0;
}

void core_destroy(struct core *c)
{
	free(c->rob);
	free(c->sb);
	memset(c, 0, sizeof(*c));
}

/* Charge the stall [a, b) to the phases of bl. */
static void charge(struct core *c, core_time a, core_time b, const struct core_blame *bl)
{
	unsigned k;

	for (k = 0; k < 3 && a < b; k++) {
		if (a < bl->end[k]) {
			core_time hi = b < bl->end[k] ? b : bl->end[k];

			c->stack[bl->cat[k]] += hi - a;
			a = hi;
		}
	}
	if (a < b)
		c->stack[bl->cat[3]] += b - a;
}

/* Dispatch may not go on before t, because of what bl says. */
static void stall_until(struct core *c, core_time t, const struct core_blame *bl)
{
	if (t > c->disp) {
		charge(c, c->disp, t, bl);
		c->disp = t;
	}
}

static void base(struct core *c, uint64_t n)
{
	core_time t = (core_time)n * c->cpi;

	c->disp += t;
	c->seq += n;
	c->stack[c->base_cat] += t;
}

/*
 * Dispatch n instructions. Instruction s may dispatch only once
 * instruction s - rob has retired; the ring holds every op whose
 * retirement could still hold one back.
 */
static void dispatch(struct core *c, uint64_t n)
{
	while (c->rob_n) {
		struct core_rob_entry *e = &c->rob[c->rob_head];
		uint64_t s = e->seq + c->rob_size;

		if (s >= c->seq + n)
			break;
		if (s > c->seq) {
			n -= s - c->seq;
			base(c, s - c->seq);
		}
		stall_until(c, e->retire, &e->blame);
		c->rob_head = (c->rob_head + 1) & c->rob_mask;
		c->rob_n--;
	}
	base(c, n);
}

void core_insns_slow(struct core *c, uint64_t n)
{
	dispatch(c, n);
	if (c->retire < c->disp)
		c->retire = c->disp;
}

static unsigned earliest(const core_time *t, unsigned n)
{
	unsigned i, best = 0;

	for (i = 1; i < n; i++)
		if (t[i] < t[best])
			best = i;
	return best;
}

/*
 * A line fetch that may start at t: on the first miss buffer to free,
 * which it then holds until t + lat. The buffers' free times are kept
 * sorted, oldest first, in a ring: take the first, and insert the new
 * free time from the back (it is usually the latest, so this is O(1)).
 */
static core_time miss(struct core *c, core_time t, core_time lat)
{
	core_time *r = c->mshr, v;
	unsigned h = c->mshr_head, m = c->mshr_mask, k = c->nmshr - 1;

	if (r[h] > t)
		t = r[h];
	v = t + lat;
	h = (h + 1) & m;
	c->mshr_head = h;
	while (k > 0 && r[(h + k - 1) & m] > v) {
		r[(h + k) & m] = r[(h + k - 1) & m];
		k--;
	}
	r[(h + k) & m] = v;
	return v;
}

void core_access(struct core *c, const struct core_access *a)
{
	struct core_blame bl;
	core_time t0, t;
	uint8_t dcat = (uint8_t)(CORE_DATA_L1 + a->level);

	/* Dispatch: a free window slot, and for a store a store-buffer entry. */
	if (c->rob_n && c->rob[c->rob_head].seq + c->rob_size <= c->seq) {
		/* Only one op can be exactly rob instructions older. */
		struct core_rob_entry *e = &c->rob[c->rob_head];

		stall_until(c, e->retire, &e->blame);
		c->rob_head = (c->rob_head + 1) & c->rob_mask;
		c->rob_n--;
	}
	if (a->store && c->nstores >= c->sb_size) {
		core_time free_at = c->sb[(c->nstores - c->sb_size) & c->sb_mask];

		if (free_at > c->disp) {
			c->stack[CORE_STORE] += free_at - c->disp;
			c->disp = free_at;
		}
	}
	t0 = c->disp;
	base(c, 1);

	/* Issue: after the load it depends on. */
	bl.cat[0] = CORE_TLB;
	if (c->dep) {
		c->dep = false;
		if (c->last_load > t0)
			t0 = c->last_load;
		bl.cat[0] = c->last_load_cat;
	}
	bl.end[0] = t0;

	/* Translation. */
	t = t0;
	if (a->tlb != CORE_TLB_L1)
		t += c->tlb_l2;
	bl.end[1] = t;
	bl.cat[1] = CORE_TLB;
	if (a->tlb == CORE_TLB_WALK) {
		unsigned w = earliest(c->walker, c->nwalkers);

		if (c->walker[w] > t)
			t = c->walker[w];
		t += a->walk;
		c->walker[w] = t;
	}
	bl.end[2] = t;
	bl.cat[2] = CORE_WALK;
	bl.cat[3] = a->store ? CORE_STORE : dcat;

	if (!a->store) {
		/* The data. */
		t = a->level == 0 ? t + c->lat[0] : miss(c, t, c->lat[a->level]);
		c->last_load = t;
		c->last_load_cat = dcat;
	}

	/* Completion and in-order retirement. */
	if (t > c->retire) {
		c->retire = t;
		c->raiser = bl;
		if (t > t0 + c->window) {
			struct core_rob_entry *e =
				&c->rob[(c->rob_head + c->rob_n) & c->rob_mask];

			BUG_ON(c->rob_n > c->rob_mask, "core: window ring overflow");
			e->seq = c->seq - 1;
			e->retire = t;
			e->blame = bl;
			c->rob_n++;
		}
	}

	if (a->store) {
		/* Commit in order, once retired and once its line is here; the
		 * line is fetched when the store nears the buffer's head. */
		core_time commit = c->retire > c->commit_last ? c->retire : c->commit_last;

		if (a->level != 0 && unlikely(c->line)) {
			/* A whole-line store: requested at issue, on a miss
			 * buffer, as a load's line is. */
			core_time done = miss(c, t, c->lat[a->level]);

			if (done > commit)
				commit = done;
			c->line = false;
		} else if (a->level != 0) {
			/* At most rfos fetches in flight: this one starts when
			 * the store rfos places older has committed. They are
			 * not taken from the loads' miss buffers: they start in
			 * the future (when the store nears the head), and a
			 * buffer held from now until then would starve loads
			 * that real hardware serves meanwhile. */
			core_time gate = c->nstores >= c->rfos ?
				c->sb[(c->nstores - c->rfos) & c->sb_mask] : 0;
			core_time done = (t > gate ? t : gate) + c->lat[a->level];

			if (done > commit)
				commit = done;
		}
		c->sb[c->nstores & c->sb_mask] = commit;
		c->commit_last = commit;
		c->nstores++;
	}
}

/* Wait until everything dispatched has retired. */
static void drain_window(struct core *c)
{
	while (c->rob_n) {
		struct core_rob_entry *e = &c->rob[c->rob_head];

		stall_until(c, e->retire, &e->blame);
		c->rob_head = (c->rob_head + 1) & c->rob_mask;
		c->rob_n--;
	}
	stall_until(c, c->retire, &c->raiser);
}

void core_serialize(struct core *c, enum core_cat cat, core_time cycles, bool stores)
{
	drain_window(c);
	if (stores && c->commit_last > c->disp) {
		c->stack[CORE_STORE] += c->commit_last - c->disp;
		c->disp = c->commit_last;
	}
	c->disp += cycles;
	c->stack[cat] += cycles;
	c->retire = c->disp;
	c->dep = false;
	c->line = false;
}

core_time core_finish(struct core *c)
{
	core_serialize(c, CORE_SERIAL, 0, true);
	return c->disp;
}
