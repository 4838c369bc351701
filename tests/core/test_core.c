/*
 * test_core.c - the core timing model's properties, each derived from
 * the figures of a small hand-made core (numbers in the comments):
 * miss buffers bound load overlap, dependent loads serialise, walkers
 * bound a walk stream, the store buffer and its line fetches bound a
 * store stream, serialising events drain the window, and the cycle
 * stack adds up to the total.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* A core with round figures: 1 instruction/cycle, a 100-instruction
 * window, 8 store buffer entries (2 line fetches at once), 4 miss
 * buffers, 2 walkers; L1 4, L2 12, LLC 40, DRAM 200 cycles. */
static struct core_config cfg(void)
{
	return (struct core_config){
		.cpi = 1, .rob = 100, .store_buffer = 8, .store_rfos = 2, .mshrs = 4,
		.walkers = 2, .latency = { 4, 12, 40, 200 }, .tlb_l2_hit = 6,
	};
}

static struct core C;

static void up_cfg(struct core_config c)
{
	cr_assert_eq(core_init(&C, &c), 0);
}

static void down(void)
{
	core_destroy(&C);
}

static double cycles(void)
{
	return (double)core_finish(&C) / CORE_TICKS;
}

static double sum_stack(void)
{
	core_time s = 0;

	for (unsigned k = 0; k < CORE_NR; k++)
		s += C.stack[k];
	return (double)s / CORE_TICKS;
}

static void load(unsigned level)
{
	core_access(&C, &(struct core_access){ .store = false, .level = (uint8_t)level });
}

static void store(unsigned level)
{
	core_access(&C, &(struct core_access){ .store = true, .level = (uint8_t)level });
}

Test(core, rejects_bad_figures)
{
	struct core_config c = cfg();

	c.rob = 0;
	cr_expect_lt(core_init(&C, &c), 0);
	c = cfg();
	c.store_rfos = c.store_buffer + 1;
	cr_expect_lt(core_init(&C, &c), 0);
	c = cfg();
	c.mshrs = CORE_MSHR_MAX + 1;
	cr_expect_lt(core_init(&C, &c), 0);
	c = cfg();
	c.cpi = -1;
	cr_expect_lt(core_init(&C, &c), 0);
}

/* Base: n instructions at cpi 1 take n cycles, all user or kernel. */
Test(core, base_cycles_by_privilege)
{
	up_cfg(cfg());
	core_set_cpl3(&C, true);
	core_insns(&C, 1000);
	core_set_cpl3(&C, false);
	core_insns(&C, 500);
	cr_expect_float_eq(cycles(), 1500.0, 1e-9);
	cr_expect_eq(C.stack[CORE_BASE_USER], 1000u * CORE_TICKS);
	cr_expect_eq(C.stack[CORE_BASE_KERNEL], 500u * CORE_TICKS);
	down();
}

/*
 * k independent DRAM loads back to back: with k <= 4 miss buffers they
 * all wait together, about one latency: load j issues at cycle j and
 * completes at j + 200, so k loads take (k - 1) + 200 + 1 cycles.
 * Past the buffers they go in rounds of 4: 12 loads take 3 rounds of
 * 200 cycles (load 4 waits for buffer 0 to free at cycle 200, etc.),
 * three times what 4 take.
 */
Test(core, dram_loads_overlap_up_to_the_miss_buffers)
{
	for (unsigned k = 1; k <= 4; k++) {
		up_cfg(cfg());
		for (unsigned j = 0; j < k; j++)
			load(3);
		cr_expect_float_eq(cycles(), (double)(k - 1) + 200.0, 1e-9,
				   "%u loads: %.1f cycles", k, (double)C.disp / CORE_TICKS);
		down();
	}
	up_cfg(cfg());
	for (unsigned j = 0; j < 12; j++)
		load(3);
	/* three rounds of 4, each 200 cycles, each load a cycle behind the
	 * one before it: the last starts at 403 and completes at 603 */
	cr_expect_float_eq(cycles(), 603.0, 1e-9);
	cr_expect_gt(C.stack[CORE_DATA_DRAM], 0u);
	down();
}

/* A dependent chain of k DRAM loads costs k latencies: k * 200. */
Test(core, dependent_chain_serialises)
{
	up_cfg(cfg());
	load(3);
	for (unsigned j = 1; j < 5; j++) {
		core_dep(&C);
		load(3);
	}
	cr_expect_float_eq(cycles(), 5 * 200.0, 1e-9);
	cr_expect_float_eq((double)C.stack[CORE_DATA_DRAM] / CORE_TICKS, 1000.0 - 5, 1e-9);
	down();
}

/*
 * The window: a DRAM load, then more independent instructions than the
 * window holds. The 100th instruction after the load cannot dispatch
 * until it retires at cycle 200, so 300 instructions after it end at
 * 200 + 300 - 99 = 401 cycles, where without the window limit they
 * would end at 301.
 */
Test(core, the_window_limits_overlap)
{
	up_cfg(cfg());
	load(3);
	core_insns(&C, 300);
	cr_expect_float_eq(cycles(), 200.0 + 300 - 99, 1e-9);
	/* the stall was the load's: 200 - 100 cycles of DRAM */
	cr_expect_float_eq((double)C.stack[CORE_DATA_DRAM] / CORE_TICKS, 100.0, 1e-9);
	down();

	/* With 50 instructions after it the load hides them all: 200. */
	up_cfg(cfg());
	load(3);
	core_insns(&C, 50);
	cr_expect_float_eq(cycles(), 200.0, 1e-9);
	down();
}

/*
 * Walker-bound: n accesses that each walk for 30 cycles on 2 walkers
 * (plus the 6-cycle STLB lookup) run at 2 walks per 30 cycles, far
 * slower than the one-per-cycle dispatch: about n * 15 cycles. With one
 * walker, twice that.
 */
Test(core, walker_bound_stream)
{
	const unsigned n = 400;

	for (unsigned w = 1; w <= 2; w++) {
		struct core_config c = cfg();

		c.walkers = w;
		up_cfg(c);
		for (unsigned j = 0; j < n; j++)
			core_access(&C, &(struct core_access){ .level = 0, .tlb = CORE_TLB_WALK,
					.walk = core_ticks(30) });
		double t = cycles();

		cr_expect(t > n * 30.0 / w && t < n * 30.0 / w + 60,
			  "%u walker(s): %.1f cycles for %u walks", w, t, n);
		cr_expect_gt(C.stack[CORE_WALK], C.stack[CORE_BASE_KERNEL]);
		down();
	}
}

/*
 * Stores that miss to L2 (12 cycles): at most 2 line fetches from the
 * store buffer's head, so one store commits every 6 cycles; n stores
 * take about 6n. With 4 fetches allowed (the miss buffers' limit too),
 * 3n. With 8 allowed the 4 miss buffers still bound it: 3n.
 */
Test(core, store_stream_bound_by_buffer_and_miss_buffers)
{
	const unsigned n = 600;
	const unsigned rfos[] = { 1, 2, 4, 8 };
	const double per[] = { 12, 6, 3, 3 };

	for (unsigned i = 0; i < 4; i++) {
		struct core_config c = cfg();

		c.store_rfos = rfos[i];
		up_cfg(c);
		for (unsigned j = 0; j < n; j++)
			store(1);
		double t = cycles();

		cr_expect(t > per[i] * n - 20 && t < per[i] * n + 20,
			  "store_rfos %u: %.1f cycles for %u stores (expected ~%.0f)",
			  rfos[i], t, n, per[i] * n);
		cr_expect_gt(C.stack[CORE_STORE], 0u);
		down();
	}
	/* Stores that hit L1 commit as they retire: one per cycle. */
	up_cfg(cfg());
	for (unsigned j = 0; j < n; j++)
		store(0);
	cr_expect_float_eq(cycles(), (double)n, 1e-9);
	down();
}

/* 12 DRAM-missing plain stores, the first marked as a line store when
 * `mark_first`; returns the cycles they take. */
static double twelve_stores(bool mark_first)
{
	up_cfg(cfg());
	if (mark_first)
		core_line(&C);
	for (unsigned j = 0; j < 12; j++)
		store(3);
	double t = cycles();
	down();
	return t;
}

/*
 * Whole-line stores (rep stos/movs, core_line) request their lines at
 * issue on the miss buffers, not two at a time from the store buffer's
 * head: 12 DRAM line stores go in rounds of 4 (the miss buffers) of 200
 * cycles, the last committing at 603, as 12 DRAM loads complete (the
 * store buffer's 8 entries free in time); the same 12 as plain stores
 * go two at a time, 6 rounds of 200. A line store that hits the L1D is a plain store, and
 * the mark covers one store only.
 */
Test(core, line_stores_use_the_miss_buffers)
{
	up_cfg(cfg());
	for (unsigned j = 0; j < 12; j++) {
		core_line(&C);
		store(3);
	}
	cr_expect_float_eq(cycles(), 603.0, 1e-9);
	down();

	cr_expect_geq(twelve_stores(false), 1200.0);
	/* one mark, then plain stores: only the first is a line store */
	cr_expect_geq(twelve_stores(true), 1200.0);

	/* a serialising event ends the mark */
	up_cfg(cfg());
	core_line(&C);
	core_serialize(&C, CORE_EXIT, 0, false);
	cr_expect(!C.line);
	down();
}

/* Kernel instructions at kernel_cpi, user ones at cpi; 0 is cpi. */
Test(core, kernel_cpi)
{
	struct core_config c = cfg();

	c.kernel_cpi = 3;
	up_cfg(c);
	core_insns(&C, 100);		/* the core starts in the kernel */
	core_set_cpl3(&C, true);
	core_insns(&C, 100);
	core_set_base(&C, CORE_BASE_KERNEL);
	core_insns(&C, 10);
	core_set_base(&C, CORE_BASE_USER);
	core_insns(&C, 10);
	cr_expect_float_eq(cycles(), 300.0 + 100.0 + 30.0 + 10.0, 1e-9);
	cr_expect_eq(C.stack[CORE_BASE_KERNEL], 330u * CORE_TICKS);
	cr_expect_eq(C.stack[CORE_BASE_USER], 110u * CORE_TICKS);
	down();
	c.kernel_cpi = -1;
	cr_expect_lt(core_init(&C, &c), 0);
}

/* A full store buffer stalls dispatch: 8 entries, stores of 200-cycle
 * lines two at a time: the instructions behind them wait. */
Test(core, full_store_buffer_stalls_dispatch)
{
	up_cfg(cfg());
	for (unsigned j = 0; j < 9; j++)
		store(3);
	/* the 9th store waits for the 1st to commit, at cycle 200 */
	cr_expect_geq(C.disp, core_ticks(200));
	down();
}

/*
 * An exit drains the window: a DRAM load then an exit of 1000 cycles
 * take 200 + 1000, while the load followed by 1000 independent cycles
 * of work (below the window) would overlap. The exit's own cycles go to
 * CORE_EXIT, the wait for the load to DATA_DRAM.
 */
Test(core, exit_drains_the_window)
{
	up_cfg(cfg());
	load(3);
	core_serialize(&C, CORE_EXIT, core_ticks(1000), true);
	cr_expect_float_eq(cycles(), 200.0 + 1000, 1e-9);
	cr_expect_eq(C.stack[CORE_EXIT], core_ticks(1000));
	cr_expect_float_eq((double)C.stack[CORE_DATA_DRAM] / CORE_TICKS, 199.0, 1e-9);
	down();

	/* Stores drain too: two DRAM stores (fetched together) then an exit. */
	up_cfg(cfg());
	store(3);
	store(3);
	core_serialize(&C, CORE_EXIT, core_ticks(1000), true);
	cr_expect_float_eq(cycles(), 201.0 + 1000, 1e-9);
	down();
	/* (Without a drain, work behind the load overlaps it: see
	 * the_window_limits_overlap.) */
}

/* Random event streams: the stack always adds up to the total, and the
 * same stream gives the same cycles. */
Test(core, stack_adds_up_and_is_deterministic)
{
	for (unsigned seed = 1; seed <= 20; seed++) {
		core_time total[2];

		for (unsigned rep = 0; rep < 2; rep++) {
			struct core_config c = cfg();

			srand(seed);
			c.rob = 1 + (unsigned)rand() % 300;
			c.store_buffer = 1 + (unsigned)rand() % 64;
			c.store_rfos = 1 + (unsigned)rand() % c.store_buffer;
			c.mshrs = 1 + (unsigned)rand() % 24;
			c.walkers = 1 + (unsigned)rand() % 6;
			c.cpi = 0.25 * (1 + rand() % 4);
			up_cfg(c);
			for (unsigned j = 0; j < 20000; j++) {
				int r = rand() % 100;

				if (r < 30)
					core_insns(&C, (uint64_t)(rand() % 20));
				else if (r < 95)
					core_access(&C, &(struct core_access){
						.store = rand() % 3 == 0,
						.level = (uint8_t)(rand() % 4),
						.tlb = (uint8_t)(rand() % 3),
						.walk = core_ticks(rand() % 80) });
				else if (r < 97)
					core_dep(&C);
				else if (r < 98)
					core_serialize(&C, CORE_EXIT, core_ticks(rand() % 2000),
						       rand() % 2);
				else
					core_set_cpl3(&C, rand() % 2);
			}
			total[rep] = core_finish(&C);
			cr_expect_float_eq(sum_stack(), (double)total[rep] / CORE_TICKS, 1e-9,
					   "seed %u", seed);
			down();
		}
		cr_expect_eq(total[0], total[1], "seed %u not deterministic", seed);
	}
}

/* The inline L1-hit path is exactly core_access: the same random stream
 * through either gives the same total and the same stack. */
Test(core, inline_l1_path_is_exact)
{
	for (unsigned seed = 1; seed <= 10; seed++) {
		core_time total[2], stack[2][CORE_NR];

		for (unsigned way = 0; way < 2; way++) {
			struct core_config c = cfg();

			srand(seed);
			c.rob = 4 + (unsigned)rand() % 200;
			c.store_buffer = 1 + (unsigned)rand() % 40;
			c.store_rfos = 1 + (unsigned)rand() % c.store_buffer;
			c.cpi = 0.25 * (1 + rand() % 4);
			up_cfg(c);
			for (unsigned j = 0; j < 20000; j++) {
				int r = rand() % 100;
				bool st = rand() % 2;

				if (r < 20)
					core_insns(&C, (uint64_t)(rand() % 10));
				else if (r < 80) {
					if (way)
						core_access_l1(&C, st);
					else
						core_access(&C, &(struct core_access){ .store = st });
				} else if (r < 97)
					core_access(&C, &(struct core_access){ .store = st,
						.level = (uint8_t)(rand() % 4),
						.tlb = (uint8_t)(rand() % 3),
						.walk = core_ticks(rand() % 80) });
				else if (r < 98)
					core_dep(&C);
				else if (r < 99)
					core_set_cpl3(&C, rand() % 2);
				else
					core_serialize(&C, CORE_PF, core_ticks(500), false);
			}
			total[way] = core_finish(&C);
			memcpy(stack[way], C.stack, sizeof(C.stack));
			down();
		}
		cr_expect_eq(total[0], total[1], "seed %u", seed);
		cr_expect(memcmp(stack[0], stack[1], sizeof(stack[0])) == 0, "seed %u stack", seed);
	}
}

/*
 * Store misses waiting in the store buffer do not starve loads of miss
 * buffers: 8 stores to L2 queue for 4 x 12 cycles of line fetches, but
 * a DRAM load dispatched behind them issues at once (cycle 8) and
 * completes at 208, which is the end of the run: the stores have
 * committed by then.
 */
Test(core, queued_store_misses_leave_loads_their_buffers)
{
	up_cfg(cfg());
	for (unsigned j = 0; j < 8; j++)
		store(1);
	load(3);
	cr_expect_float_eq(cycles(), 8.0 + 200, 1e-9);
	down();
}
