/*
 * loops.c - the real loops scripts/calibrate.sh times on this host, side
 * by side with the model. Not part of memvirt: a measurement harness.
 *
 *   loops clock                  GHz, from a chain of dependent adds
 *   loops memsweep SIZE PAGES N  ns per iteration of DESIGN.md's memsweep
 *                                loop over SIZE bytes (a power of two),
 *                                PAGES 4k or 2m, N iterations
 *   loops stores SIZE N          ns per store of the same 4097-byte stride,
 *                                no loads
 *   loops forkwait N             fork + exit + wait, N times: us each, and
 *                                page faults per iteration, parent and child
 *   loops getppid N              ns per getppid system call
 *   loops touch PAGES R          ns per page of memvirt's touch workload:
 *                                a store to each page of a fresh 4K-page
 *                                anonymous mapping (one demand-zero fault
 *                                each), then a read-back; R rounds of
 *                                mmap/touch/munmap, the median kept (the
 *                                first round is dropped: its frames may
 *                                be new to this guest's host)
 *
 * Each prints one line "key value" per figure. The array's size is a
 * variable, but the index is masked as the constant-size C original's is
 * (S is a power of two), so the loop body is the original's.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int usage(void)
{
	fprintf(stderr, "usage: loops clock | memsweep SIZE 4k|2m N | stores SIZE N | forkwait N |\n"
		"       getppid N | touch PAGES ROUNDS\n");
	return 2;
}

static unsigned long number(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*end || !v) {
		fprintf(stderr, "loops: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

/* A 2M-aligned anonymous array of s bytes, huge or not, touched. */
static volatile char *array(unsigned long s, int huge)
{
	size_t al = 1UL << 21;
	char *p = mmap(NULL, s + al, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a;

	if (p == MAP_FAILED) {
		perror("loops: mmap");
		exit(1);
	}
	a = (char *)(((unsigned long)p + al - 1) & ~(al - 1));
	if (madvise(a, s, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) != 0)
		perror("loops: madvise");
	memset(a, 0, s);
	return a;
}

/* kB of AnonHugePages backing the mapping that holds a. */
static long huge_kb(const volatile char *a)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[256];
	unsigned long lo, hi, want = (unsigned long)a;
	int in = 0;
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = want >= lo && want < hi;
		else if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

static int clock_ghz(void)
{
	unsigned long x = 1, n = 400000000UL;
	double t0 = now_ns(), t;

	for (unsigned long i = 0; i < n; i++)
		__asm__ volatile("add $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\tadd $1,%0" : "+r"(x));
	t = now_ns() - t0;
	printf("clock_ghz %.3f\n", 4.0 * (double)n / t);
	return (int)(x & 0);
}

static int memsweep(unsigned long s, int huge, unsigned n)
{
	volatile char *large = array(s, huge);
	const unsigned m = (unsigned)s - 1;
	double t0 = now_ns(), t;

	for (unsigned i = 0; i < n; i++)
		large[(4096 * i + i) & m] = (char)(1 + large[i & m]);
	t = now_ns() - t0;
	printf("memsweep_ns_per_iter %.4f\n", t / n);
	printf("memsweep_anon_huge_kb %ld\n", huge_kb(large));
	return 0;
}

static int stores(unsigned long s, unsigned n)
{
	volatile char *large = array(s, 0);
	const unsigned m = (unsigned)s - 1;
	double t0 = now_ns(), t;

	for (unsigned i = 0; i < n; i++)
		large[(4096 * i + i) & m] = (char)i;
	t = now_ns() - t0;
	printf("stores_ns_per_store %.4f\n", t / n);
	return 0;
}

static int forkwait(unsigned n)
{
	struct rusage self0, self1, kids;
	double t0, t;

	getrusage(RUSAGE_SELF, &self0);
	t0 = now_ns();
	for (unsigned i = 0; i < n; i++) {
		pid_t p = fork();

		if (p == 0)
			exit(0);	/* as DESIGN's child returning from main */
		if (p < 0) {
			perror("loops: fork");
			return 1;
		}
		waitpid(p, NULL, 0);
	}
	t = now_ns() - t0;
	getrusage(RUSAGE_SELF, &self1);
	getrusage(RUSAGE_CHILDREN, &kids);
	printf("forkwait_us_per_iter %.3f\n", t / n / 1e3);
	printf("forkwait_parent_faults_per_iter %.3f\n",
	       (double)(self1.ru_minflt - self0.ru_minflt + self1.ru_majflt - self0.ru_majflt) / n);
	printf("forkwait_child_faults_per_iter %.3f\n",
	       (double)(kids.ru_minflt + kids.ru_majflt) / n);
	return 0;
}

static int getppid_loop(unsigned n)
{
	double t0 = now_ns(), t;
	long h = 0;

	for (unsigned i = 0; i < n; i++)
		h += syscall(SYS_getppid);	/* not the libc wrapper's cache */
	t = now_ns() - t0;
	printf("getppid_ns_per_call %.2f\n", t / n);
	return (int)(h & 0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int touch(unsigned long pages, unsigned rounds)
{
	double *per = calloc(rounds, sizeof(*per));
	unsigned long h = 0;

	if (!per || rounds < 2) {
		fprintf(stderr, "loops: touch needs 2 rounds or more\n");
		return 2;
	}
	for (unsigned r = 0; r < rounds; r++) {
		volatile char *p = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		double t0;

		if (p == MAP_FAILED) {
			perror("loops: mmap");
			return 1;
		}
		if (madvise((void *)p, pages * 4096, MADV_NOHUGEPAGE) != 0)
			perror("loops: madvise");
		t0 = now_ns();
		for (unsigned long i = 0; i < pages; i++)
			p[i * 4096] = (char)(i * 0x9e + 1);
		for (unsigned long i = 0; i < pages; i++)
			h += (unsigned char)p[i * 4096] + (unsigned char)p[i * 4096 + 1];
		per[r] = (now_ns() - t0) / (double)pages;
		munmap((void *)p, pages * 4096);
	}
	qsort(per + 1, rounds - 1, sizeof(*per), cmp_double);
	printf("touch_ns_per_page %.1f\n", per[1 + (rounds - 1) / 2]);
	free(per);
	return (int)(h & 0);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "clock"))
		return clock_ghz();
	if (argc == 5 && !strcmp(argv[1], "memsweep")) {
		unsigned long s = number(argv[2]);

		if (s & (s - 1))
			return usage();
		return memsweep(s, !strcmp(argv[3], "2m"), (unsigned)number(argv[4]));
	}
	if (argc == 4 && !strcmp(argv[1], "stores")) {
		unsigned long s = number(argv[2]);

		if (s & (s - 1))
			return usage();
		return stores(s, (unsigned)number(argv[3]));
	}
	if (argc == 3 && !strcmp(argv[1], "forkwait"))
		return forkwait((unsigned)number(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "getppid"))
		return getppid_loop((unsigned)number(argv[2]));
	if (argc == 4 && !strcmp(argv[1], "touch"))
		return touch(number(argv[2]), (unsigned)number(argv[3]));
	return usage();
}
