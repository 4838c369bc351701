/*
 * core.h - the core timing model: turns the events of the access path
 * into cycles, with the overlap a real out-of-order core gets, and keeps
 * the cycle stack of where they went.
 *
 * The model is an event-driven interval model in the spirit of interval
 * simulation (Genbrugge, Eyerman and Eeckhout, HPCA 2010; Sniper) and of
 * the mechanistic CPI stacks of Eyerman et al. (ASPLOS 2006), with
 * ChampSim's resource limits (ROB, store queue, MSHRs, page walkers):
 *
 *   dispatch   in order, one instruction per `cpi` cycles (the base);
 *              stalls while the reorder window is full (its oldest
 *              instruction has not retired), or a store finds the store
 *              buffer full
 *   issue      a memory access issues at dispatch, or when the load it
 *              depends on completes (core_dep); it is translated (L2 TLB
 *              hit latency, or a page walk on one of `walkers` walkers,
 *              its references a dependent chain), then served by the
 *              cache level the memory model named: an L1 miss holds one
 *              of `mshrs` miss buffers for its latency
 *   retire     in order: an instruction retires once it and every older
 *              one completed
 *   stores     retire into the store buffer and commit in order; a store
 *              that misses fetches its line once it is among the
 *              `store_rfos` (at most `mshrs`) oldest uncommitted stores,
 *              and commits when the line is there. A whole-line store
 *              (core_line: rep stos/movs, as clear_page and copy_page
 *              run) requests its line when it issues, on a miss buffer
 *              as a load does, so string stores keep up to `mshrs` lines
 *              in flight
 *   serialise  exits, #PF delivery, syscalls, CR3 writes and INVLPG wait
 *              for the window (and, where the architecture says so, the
 *              store buffer) to drain, then take their own cycles
 *
 * Time is kept in fixed point (CORE_TICKS per cycle) so that every run is
 * deterministic and the cycle stack adds up to the total exactly.
 *
 * The cycle stack: a cycle in which dispatch goes on is a base cycle of
 * the current privilege level; a cycle in which it is stalled is charged
 * to what blocks the head of the window: the phase (L2 TLB, page walk,
 * data by serving level) of the oldest unretired access that holds it,
 * a full store buffer, or the serialising event being handled.
 */
#ifndef MEMVIRT_CORE_H
#define MEMVIRT_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"

typedef uint64_t core_time;		/* in 1/CORE_TICKS of a cycle */
#define CORE_TICKS		1024u

#define CORE_ROB_MAX		1024u	/* reorder window, instructions */
#define CORE_SB_MAX		256u	/* store buffer entries */
#define CORE_MSHR_MAX		64u	/* L1D miss buffers */
#define CORE_WALKERS_MAX	16u	/* concurrent page walks */

/* Where a cycle went. */
enum core_cat {
	CORE_BASE_USER = 0,	/* dispatching guest user instructions */
	CORE_BASE_KERNEL,	/* dispatching guest kernel instructions */
	CORE_SYSCALL,		/* SYSCALL/SYSRET round trips */
	CORE_PF,		/* #PF delivery and IRET */
	CORE_DATA_L1,		/* the head waits for a load served by L1 */
	CORE_DATA_L2,		/*  ... by L2 */
	CORE_DATA_LLC,		/*  ... by the LLC */
	CORE_DATA_DRAM,		/*  ... by DRAM */
	CORE_STORE,		/* dispatch stalled on a full store buffer, or a
				 * serialising event waits for it to drain */
	CORE_TLB,		/* the head waits for an L2 TLB lookup */
	CORE_WALK,		/* the head waits for a page walk */
	CORE_EXIT,		/* VM exits and entries, VMM handlers */
	CORE_SERIAL,		/* serialising instructions' own cost (CR3, INVLPG) */
	CORE_BASE_L1,		/* dispatching the L1 hypervisor's instructions (nested) */
	CORE_NR
};

/* Figures of one core, all from the CPU profile. */
struct core_config {
	double		cpi;		/* base cycles per user instruction */
	double		kernel_cpi;	/* base cycles per kernel (and L1
					 * hypervisor) instruction; 0: cpi */
	unsigned	rob;		/* reorder window, instructions (1..CORE_ROB_MAX) */
	unsigned	store_buffer;	/* entries (1..CORE_SB_MAX) */
	unsigned	store_rfos;	/* store-miss line fetches in flight from the
					 * store buffer's head (1..store_buffer) */
	unsigned	mshrs;		/* L1D miss buffers (1..CORE_MSHR_MAX) */
	unsigned	walkers;	/* concurrent page walks (1..CORE_WALKERS_MAX) */
	double		latency[4];	/* load-to-use cycles by serving level:
					 * L1, L2, LLC, DRAM */
	double		tlb_l2_hit;	/* extra cycles of an L2 TLB hit */
};

/* What one memory access did, as the access path saw it. */
struct core_access {
	bool		store;
	uint8_t		level;		/* serving cache level: 0 L1 .. 3 DRAM */
	uint8_t		tlb;		/* CORE_TLB_L1, _L2 or _WALK */
	core_time	walk;		/* the walk's duration (CORE_TLB_WALK) */
};
enum { CORE_TLB_L1 = 0, CORE_TLB_L2, CORE_TLB_WALK };

/* What holds an access up, phase by phase: [-inf, end[0]) cat[0], then
 * [end[k-1], end[k]) cat[k], the last phase open-ended. */
struct core_blame {
	core_time	end[3];
	uint8_t		cat[4];
};

struct core_rob_entry {
	uint64_t		seq;		/* instruction number */
	core_time		retire;
	struct core_blame	blame;
};

struct core {
	/* hot */
	core_time	disp;		/* when the next instruction dispatches */
	core_time	retire;		/* when the youngest dispatched one retires */
	core_time	cpi;		/* base ticks per instruction, now */
	core_time	window;		/* rob * the lesser cpi: an op done this
					 * soon after its dispatch can never hold
					 * the window */
	core_time	lat[4];
	core_time	tlb_l2;
	uint64_t	seq;		/* instructions dispatched */
	unsigned	rob_head, rob_n;	/* ring of ops that may hold the window */
	unsigned	rob_mask;
	bool		dep;		/* the next access depends on the last load */
	bool		line;		/* the next store writes a whole line */
	core_time	last_load;	/* completion of the last load */
	uint8_t		last_load_cat;
	uint8_t		cpl3;		/* base cycles go to user */
	uint8_t		base_cat;	/* CORE_BASE_USER or CORE_BASE_KERNEL */
	bool		l1_inline;	/* an L1 hit can never hold the window, so
					 * core_access_l1 may take it inline */
	struct core_blame raiser;	/* blame of the op that set `retire` */
	core_time	cpi_user, cpi_kernel;	/* cpi at each privilege level */

	/* stores */
	uint64_t	nstores;
	core_time	commit_last;
	core_time	*sb;		/* commit time of store n at [n & sb_mask] */
	unsigned	sb_size, sb_mask, rfos;

	/* miss handling */
	core_time	mshr[CORE_MSHR_MAX];	/* when each is free: a ring sorted
						 * oldest first from mshr_head */
	core_time	walker[CORE_WALKERS_MAX];
	unsigned	nmshr, mshr_head, mshr_mask, nwalkers;

	struct core_rob_entry *rob;
	unsigned	rob_size;
	core_time	stack[CORE_NR];	/* the cycle stack, in ticks */
};

/*
 * core_init - an idle core of figures cfg. Returns 0, or -EINVAL when a
 * figure is out of its range (see struct core_config), -ENOMEM.
 */
int core_init(struct core *c, const struct core_config *cfg);
void core_destroy(struct core *c);

/* core_ticks - cycles in fixed point (rounded to the nearest tick). */
static inline core_time core_ticks(double cycles)
{
	return (core_time)(cycles * CORE_TICKS + 0.5);
}

/* core_insns_slow - core_insns when the window may stall them. */
void core_insns_slow(struct core *c, uint64_t n);

/* core_insns - n instructions besides memory accesses, at the current
 * privilege level. Inline when no op in the window can hold them. */
static inline void core_insns(struct core *c, uint64_t n)
{
	core_time t;

	if (unlikely(c->rob_n && c->rob[c->rob_head].seq + c->rob_size < c->seq + n)) {
		core_insns_slow(c, n);
		return;
	}
	t = (core_time)n * c->cpi;
	c->disp += t;
	c->seq += n;
	c->stack[c->base_cat] += t;
	if (c->retire < c->disp)
		c->retire = c->disp;
}

/* core_insns_string - n instructions' worth of string-operation work
 * (rep stos/movs microcode) at the user cpi, charged to the current
 * base category: the kernel's lower rate is its code's, not the
 * microcode's. */
static inline void core_insns_string(struct core *c, uint64_t n)
{
	core_time cpi = c->cpi;

	c->cpi = c->cpi_user;
	core_insns(c, n);
	c->cpi = cpi;
}

/* core_access - one memory access instruction: dispatch, translation,
 * data, retirement (and for a store, its commit). */
void core_access(struct core *c, const struct core_access *a);

/*
 * core_access_l1 - core_access for the common case, inline: an access
 * that hit the L1 TLB and L1D, when nothing can stall its dispatch. The
 * same arithmetic as core_access, minus the branches that cannot apply.
 */
static inline void core_access_l1(struct core *c, bool store)
{
	core_time t0 = c->disp, t;

	if (unlikely(!c->l1_inline || c->dep ||
		     (c->rob_n && c->rob[c->rob_head].seq + c->rob_size <= c->seq) ||
		     (store && c->nstores >= c->sb_size &&
		      c->sb[(c->nstores - c->sb_size) & c->sb_mask] > t0))) {
		core_access(c, &(struct core_access){ .store = store });
		return;
	}
	c->disp = t0 + c->cpi;
	c->seq++;
	c->stack[c->base_cat] += c->cpi;
	t = store ? t0 : t0 + c->lat[0];
	if (t > c->retire) {
		c->retire = t;
		c->raiser.end[0] = c->raiser.end[1] = c->raiser.end[2] = t0;
		c->raiser.cat[3] = store ? CORE_STORE : CORE_DATA_L1;
	}
	if (store) {
		core_time commit = c->retire > c->commit_last ? c->retire : c->commit_last;

		c->sb[c->nstores & c->sb_mask] = commit;
		c->commit_last = commit;
		c->nstores++;
	} else {
		c->last_load = t;
		c->last_load_cat = CORE_DATA_L1;
	}
}

/* core_dep - the next access's address is computed from the last load's
 * value (a pointer chase): it cannot issue before that load completes. */
static inline void core_dep(struct core *c)
{
	c->dep = true;
}

/* core_line - the next store writes a whole cache line, as the
 * fast-string microcode of rep stos/movs does: its line is requested
 * when it issues, on one of the miss buffers, rather than when it nears
 * the store buffer's head behind `store_rfos` others. A line store that
 * hits the L1D is timed as any store. A line store that misses and
 * serialising events clear the mark; other accesses do not look at it,
 * so the caller ends it with core_line_end after its one store. */
static inline void core_line(struct core *c)
{
	c->line = true;
}

static inline void core_line_end(struct core *c)
{
	c->line = false;
}

/* core_set_cpl3 - base cycles from now on are user (true) or kernel. */
static inline void core_set_cpl3(struct core *c, bool user)
{
	c->cpl3 = user;
	c->base_cat = user ? CORE_BASE_USER : CORE_BASE_KERNEL;
	c->cpi = user ? c->cpi_user : c->cpi_kernel;
}

/* core_set_base - base cycles from now on go to cat (CORE_BASE_*),
 * at that level's cpi (user code's for CORE_BASE_USER, the kernel's for
 * the others); returns the category they went to before. */
static inline uint8_t core_set_base(struct core *c, uint8_t cat)
{
	uint8_t old = c->base_cat;

	c->base_cat = cat;
	c->cpi = cat == CORE_BASE_USER ? c->cpi_user : c->cpi_kernel;
	return old;
}

/*
 * core_serialize - a serialising event: wait until every older
 * instruction has retired (and, with stores, until the store buffer has
 * drained), charging the wait to what blocks the head; then `cycles` of
 * the event itself, charged to cat. Nothing after it overlaps it.
 */
void core_serialize(struct core *c, enum core_cat cat, core_time cycles, bool stores);

/* core_finish - drain everything (the end of the run); the total cycles
 * in ticks, equal to the sum of the stack. */
core_time core_finish(struct core *c);

/* core_now - the dispatch clock: cycles so far, as ticks. */
static inline core_time core_now(const struct core *c)
{
	return c->disp;
}

#endif /* MEMVIRT_CORE_H */
