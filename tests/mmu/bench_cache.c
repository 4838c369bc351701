/*
 * bench_cache.c - what one memsys_access costs the host, in ns, for
 * three patterns on profile-sized hierarchies: (a) the same line again,
 * (b) random lines of an L1-resident region, (c) a strided sweep over
 * 32 MiB that misses every level. Built, not run by the tests:
 *   ./build/tests/mmu/bench_cache [accesses]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mmu.h"

#define RANDOM_SLOTS	4096		/* precomputed addresses, a power of two */

struct geometry {
	const char		*name;
	struct memsys_config	cfg;
	uint64_t		sweep;		/* bytes: well beyond the LLC */
};

static const struct geometry geometries[] = {
	{ "skylake (32K/8, 256K/4, 8M/16)", { .level = {
		{ 32 << 10, 8, 64, 4 }, { 256 << 10, 4, 64, 12 }, { 8u << 20, 16, 64, 44 } },
		.dram_latency = 250 }, 32 * MiB },
	{ "goldencove (48K/12, 2M/16, 104M/13)", { .level = {
		{ 48 << 10, 12, 64, 5 }, { 2u << 20, 16, 64, 16 }, { 104u << 20, 13, 64, 100 } },
		.dram_latency = 330 }, 512 * MiB },
	{ "phenom2 (64K/2, 1M/16, no LLC)", { .level = {
		{ 64 << 10, 2, 64, 3 }, { 1u << 20, 16, 64, 15 }, { 0, 0, 0, 0 } },
		.dram_latency = 280 }, 32 * MiB },
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* run - n accesses of one pattern; returns ns per access and counts
 * the levels that served in served[] (which also keeps every call). */
static double run(struct memsys *m, int pattern, uint64_t n, const hpa_t *rnd,
		  uint64_t sweep, uint64_t served[MEM_DRAM + 1])
{
	const uint64_t stride = 64;
	uint64_t i;
	hpa_t a = 0;
	double t0, t1;

	t0 = now_ns();
	switch (pattern) {
	case 0:
		for (i = 0; i < n; i++)
			served[memsys_access(m, 0x1234540 + (i & 7))]++;
		break;
	case 1:
		for (i = 0; i < n; i++)
			served[memsys_access(m, rnd[i & (RANDOM_SLOTS - 1)])]++;
		break;
	default:
		for (i = 0; i < n; i++) {
			served[memsys_access(m, 0x40000000 + a)]++;
			a += stride;
			if (a == sweep)
				a = 0;
		}
		break;
	}
	t1 = now_ns();
	return (t1 - t0) / (double)n;
}

int main(int argc, char **argv)
{
	static const char *const patterns[] = {
		"(a) same line", "(b) L1-resident random", "(c) sweep, stride 64",
	};
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 50000000, sum = 0, seed = 88172645463325252ULL;
	hpa_t rnd[RANDOM_SLOTS];
	size_t g;
	int p, i;

	for (g = 0; g < ARRAY_SIZE(geometries); g++) {
		const struct memsys_config *c = &geometries[g].cfg;
		uint64_t region = c->level[MEM_L1].size / 2;	/* fits L1 whatever the mapping */
		struct memsys m;

		if (memsys_init(&m, c) != 0) {
			fprintf(stderr, "bench_cache: memsys_init failed for %s\n", geometries[g].name);
			return 1;
		}
		for (i = 0; i < RANDOM_SLOTS; i++)
			rnd[i] = 0x800000 + rng_next(&seed) % region;
		printf("%s; sweep %llu MiB\n", geometries[g].name,
		       (unsigned long long)(geometries[g].sweep / MiB));
		for (p = 0; p < 3; p++) {
			uint64_t warm[MEM_DRAM + 1] = { 0 }, served[MEM_DRAM + 1] = { 0 };
			double ns, pct = 100.0 / (double)n;

			run(&m, p, n / 10, rnd, geometries[g].sweep, warm);
			ns = run(&m, p, n, rnd, geometries[g].sweep, served);
			sum += warm[0] + served[0];
			printf("  %-28s %6.2f ns/access   L1 %5.1f%%  L2 %5.1f%%  LLC %5.1f%%  DRAM %5.1f%%\n",
			       patterns[p], ns, (double)served[0] * pct, (double)served[1] * pct,
			       (double)served[2] * pct, (double)served[3] * pct);
		}
		memsys_destroy(&m);
	}
	fprintf(stderr, "(checksum %llu)\n", (unsigned long long)sum);
	return 0;
}
