/*
 * main.c - the vmm command: parse, validate everything up front, run the
 * grid of (cpu, workload, mmu, pages, host pages) cells, print CSV rows
 * to stdout and summaries to stderr. The only place that prints errors
 * and exits: status 2 for bad input, 1 when a VM stops.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "cli_parse.h"
#include "nested.h"
#include "report.h"
#include "run.h"
#include "version.h"
#include "vmm.h"
#include "workloads.h"

#define MAX_LIST	CLI_LIST_MAX
#define MAX_PARAMS	32
#define MAX_JOBS	64
#define EXIT_USAGE	2
#define EXIT_VMSTOP	1
#define EXIT_OUTPUT	3	/* stdout could not be written */

/* Parameters the VMM itself takes (--param KEY=VALUE), beside workloads'. */
static const struct param_spec vmm_params[] = {
	{ "pcid", 0, 0, 1, "guest OS tags address spaces with PCIDs (needs a PCID profile)" },
	{ "cache_model", 1, 0, 1, "memory model: walk refs and loads cost the latency of the "
				  "cache level that served them (0: flat profile figures)" },
	{ "vpid", 2, 0, 2, "VPID tagging: 0 off (every exit flushes the TLB), 1 on, "
			   "2 as the CPU profile says" },
	{ "vmcs_shadow", 2, 0, 2, "nested: VMCS shadowing 0 off (every L1 VMREAD/VMWRITE "
				  "exits), 1 on (needs a profile with it), 2 as the profile says" },
	{ "hz", 0, 0, 100000, "the guest OS's timer interrupts per second (0: tickless)" },
	{ NULL, 0, 0, 0, NULL },
};

struct opts {
	const struct mmu_ops	*mmu[MAX_LIST];
	unsigned		n_mmu;
	unsigned		pages[MAX_LIST];
	unsigned		n_pages;
	unsigned		host_pages[MAX_LIST];
	unsigned		n_host_pages;	/* 0: same as pages */
	const struct workload	*wl[MAX_LIST];
	unsigned		n_wl;
	struct profile		*cpu[MAX_LIST];
	unsigned		n_cpu;
	struct cli_param	param[MAX_PARAMS];
	unsigned		n_param;
	uint64_t		guest_mem;
	int			numa_node;
	unsigned		jobs;		/* 0: one per online CPU */
	enum { FMT_CSV, FMT_JSON, FMT_KVM_STAT } format;
	bool			quiet;		/* no per-cell report on stderr */
	/* sweeps and reports (issue 16) */
	char			*cpu_arg[MAX_LIST];	/* --cpu items as given */
	bool			report_perf;	/* --report=perf */
	enum report_sort	sort;		/* --sort=sample|time */
	bool			list_cells;	/* --list-cells: print the grid, run nothing */
	bool			no_header;	/* --no-header: CSV rows only */
	long			cell;		/* --cell=N: run cell N alone; -1: all */
	struct sample_cfg	sample;		/* --sample (sample.h) */
	const char		*sample_arg;	/* its value as given (--list-cells) */
	const char		*warming_arg;	/* --sample-warming as given, or NULL */
	bool			warming;	/* ... and parsed: caches */
	/* nesting (issue 15) */
	enum l1_mmu		l1mmu[MAX_LIST];	/* --l1-mmu */
	unsigned		n_l1mmu;
	const struct l1_personality *l1[MAX_LIST];	/* --l1 */
	unsigned		n_l1;
};


static _Noreturn void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* err_line - "vmm: MESSAGE" on stderr as one line: whatever the message
 * quotes, control characters and bytes >= 0x80 come out as \xNN. */
__attribute__((format(printf, 1, 0)))
static void err_line(const char *fmt, va_list ap)
{
	char msg[2048], line[4 * sizeof(msg)];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "vmm: %s\n", cli_escape(msg, line, sizeof(line)));
}

static _Noreturn void usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_line(fmt, ap);
	va_end(ap);
	exit(EXIT_USAGE);
}

/* out_check - stdout took every byte written so far (flushed when close:
 * then closed too); otherwise one line and exit EXIT_OUTPUT. */
static void out_check(bool close)
{
	int before = errno, r;	/* a failed fputs earlier left its errno */

	errno = 0;
	r = fflush(stdout);
	if (r == 0 && !ferror(stdout) && (!close || fclose(stdout) == 0))
		return;
	fprintf(stderr, "vmm: cannot write the output to stdout: %s\n",
		strerror(errno ? errno : before ? before : EIO));
	_exit(EXIT_OUTPUT);
}

static unsigned parse_level(const char *flag, const char *s)
{
	unsigned l;

	for (l = LEVEL_4K; l <= LEVEL_1G; l++)
		if (strcmp(s, run_level_name(l)) == 0)
			return l;
	usage_error("%s: unknown page size '%s' (expected 4k, 2m or 1g)", flag, s);
}

/* parse_u64 - a number as cli_parse_u64 reads it; exits with a one-line
 * error naming flag when it is malformed. */
static uint64_t parse_u64(const char *flag, const char *s)
{
	char err[CLI_ERR_MAX];
	uint64_t v;

	if (cli_parse_u64(s, &v, err, sizeof(err)) < 0)
		usage_error("%s: %s", flag, err);
	return v;
}

/* Split a comma list (no empty or repeated items, at most MAX_LIST),
 * running body with var set to each. */
#define FOR_EACH_ITEM(flag, arg, var, count, body)					\
	do {									\
		struct cli_list _l;						\
		char _err[CLI_ERR_MAX];						\
		unsigned _i;							\
		if (cli_list_split(&_l, flag, arg, _err, sizeof(_err)) < 0)	\
			usage_error("%s", _err);				\
		for (_i = 0; _i < _l.n; _i++) {					\
			const char *var = _l.item[_i];				\
			body;							\
		}								\
		cli_list_free(&_l);						\
		(void)(count);							\
	} while (0)

/* An unknown name in a comma list: one line naming it and what exists. */
static _Noreturn void unknown_name(const char *flag, const char *what, const char *name,
				   const char *const *names, size_t n)
{
	char list[512] = "";
	size_t i, len = 0;

	for (i = 0; i < n && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "",
					names[i]);
	usage_error("%s: unknown %s '%s' (available: %s)", flag, what, name, list);
}

static void print_help(void)
{
	puts("Usage: vmm [options]\n"
	     "Run a guest workload on a modeled MMU and print where the time goes.\n"
	     "Comma lists run the whole grid; CSV (one row per cell) goes to stdout,\n"
	     "a readable report of each cell (time by category, exits by reason as\n"
	     "`perf kvm stat report` shows them) to stderr.\n"
	     "\n"
	     "  --mmu=LIST          MMU backends (default native): see --list\n"
	     "  --pages=LIST        guest page size for anonymous memory: 4k, 2m, 1g (default 4k)\n"
	     "  --host-pages=LIST   page size the VMM backs guest RAM with (default: as --pages;\n"
	     "                      ignored by native, which has no host level)\n"
	     "  --workload=LIST     workloads (default memsweep): see --list\n"
	     "  --cpu=LIST          CPU profiles (default skylake): names from profiles/ or\n"
	     "                      paths to .profile files\n"
	     "  --l1-mmu=LIST       how an L1 hypervisor virtualizes its L2's memory: none\n"
	     "                      (default: the workload runs at L1), ept (it runs at L2\n"
	     "                      under an L1 with an identity EPT12; needs --mmu=ept),\n"
	     "                      shadow (not built yet). --mmu stays L0's MMU.\n"
	     "  --l1=LIST           L1 personalities (default kvm-4.13): see --list\n"
	     "  --param KEY=VALUE   a workload or VMM parameter; repeatable, each KEY at\n"
	     "                      most once. See --list for the keys.\n"
	     "  --guest-mem=SIZE    guest RAM (default 256m; a multiple of 2m, below\n"
	     "                      2^maxphyaddr of the CPU profile with the VMM's tables)\n"
	     "  --numa-node=N       bind guest RAM to NUMA node N (libnuma)\n"
	     "  --jobs=N            run grid cells on N threads (default: one per CPU);\n"
	     "                      rows always come out in grid order\n"
	     "  --format=FMT        csv (default), json (an array of objects keyed by\n"
	     "                      the CSV column names), or kvm-stat (KVM's statistics\n"
	     "                      as `kvm_stat -1` prints them)\n"
	     "  --quiet             no per-cell report on stderr (errors still go there)\n"
	     "  --report=KIND       the stderr report: summary (default), or perf: exits as\n"
	     "                      `perf kvm stat report` prints them, exactly\n"
	     "  --sort=KEY          perf report order: sample (default) or time\n"
	     "  --list-cells        print the grid's cells, one a line: its index, a tab,\n"
	     "                      and the arguments that run it alone; run nothing\n"
	     "  --cell=N            run cell N of the grid alone (the CSV's cell column\n"
	     "                      says N), as a sweep's job does: see scripts/sweep.sh\n"
	     "  --no-header         CSV rows without the header line\n"
	     "  --sample=MODE       off (default: every access modeled), on, or\n"
	     "                      PERIOD:WINDOW[:WARMUP] in accesses: fast-forward\n"
	     "                      between detailed windows; counts the mechanism makes\n"
	     "                      stay exact, the rest are estimates with 95% intervals\n"
	     "                      in the *_ci95 columns (docs/sampling.md)\n"
	     "  --sample-warming=W  none (default: the detailed warm-up before each\n"
	     "                      window refills the caches) or caches: fast-forward\n"
	     "                      keeps the cache model warm too (functional warming;\n"
	     "                      slower, and free of the warm-up's bias)\n"
	     "  --list              list MMUs, workloads with their parameters, CPU profiles\n"
	     "  --version           the version, and the git commit when built from a checkout\n"
	     "  --help              this text\n"
	     "\n"
	     "Numbers are decimal with an optional binary suffix k, m, g, t (KiB..TiB);\n"
	     "a leading zero or 0x is refused, never read as octal or hex. Lists take\n"
	     "no empty or repeated items. Input files are read only if regular files.\n"
	     "\n"
	     "Exit status: 0 success, 1 a VM stopped (guest crash), 2 bad input,\n"
	     "3 the output could not be written.\n"
	     "Environment: MEMVIRT_PROFILES overrides the profiles directory.");
}

/* --version: the project's version; the git commit when built from a
 * checkout (bin/version.h, written by meson's vcs_tag). */
static void print_version(void)
{
	printf("vmm (memvirt) %s\n", MEMVIRT_VERSION);
	if (MEMVIRT_GIT_DESCRIBE[0] != '\0')
		printf("git %s\n", MEMVIRT_GIT_DESCRIBE);
}

static void print_params(const struct param_spec *p)
{
	for (; p->key; p++)
		printf("      %-16s default %-10" PRIu64 " %s\n", p->key, p->def, p->help);
}

static void print_list(void)
{
	char names[64][PROFILE_NAME_MAX];
	int i, n;
	size_t j;

	puts("MMUs:");
	for (j = 0; vmm_backends[j]; j++) {
		printf("  %-12s %s\n", vmm_backends[j]->name, vmm_backends[j]->desc);
		if (vmm_backends[j]->params)
			print_params(vmm_backends[j]->params);
	}
	puts("Workloads:");
	for (j = 0; wl_table[j]; j++) {
		printf("  %-12s %s\n", wl_table[j]->name, wl_table[j]->desc);
		print_params(wl_table[j]->params);
	}
	puts("L1 personalities (--l1; run at L2 with --l1-mmu=ept):");
	for (j = 0; l1hv_personalities[j]; j++)
		printf("  %-18s %s\n", l1hv_personalities[j]->name, l1hv_personalities[j]->desc);
	puts("VMM parameters:");
	print_params(vmm_params);
	printf("CPU profiles (%s):\n", profile_dir());
	n = profile_list(names, 64);
	for (i = 0; i < n; i++) {
		struct profile p;
		char err[512], esc[4 * sizeof(err)];

		int r = profile_find(&p, names[i], err, sizeof(err));

		if (r == 0)
			printf("  %-14s %s\n", p.name, p.desc);
		else if (r == -2)
			printf("  %-14s (skipped: %s)\n", names[i],
			       cli_escape(err, esc, sizeof(esc)));
		else
			printf("  %-14s (does not load: %s)\n", names[i],
			       cli_escape(err, esc, sizeof(esc)));
	}
}

/* The default of key for workload w, overridden by --param. */
static uint64_t param_value(const struct opts *o, const struct param_spec *p)
{
	unsigned i;

	for (i = 0; i < o->n_param; i++)
		if (strcmp(o->param[i].key, p->key) == 0)
			return o->param[i].val;
	return p->def;
}

static const struct param_spec *find_param(const struct param_spec *p, const char *key)
{
	for (; p->key; p++)
		if (strcmp(p->key, key) == 0)
			return p;
	return NULL;
}

/* Every --param key is known to a selected workload or to the VMM, and
 * its value is in range wherever it applies. */
static void check_params(const struct opts *o)
{
	unsigned i, w;

	for (i = 0; i < o->n_param; i++) {
		const char *key = o->param[i].key;
		uint64_t v = o->param[i].val;
		const struct param_spec *p = find_param(vmm_params, key);
		bool known = p != NULL;

		if (p && (v < p->min || v > p->max))
			usage_error("--param %s=%" PRIu64 ": out of range %" PRIu64 "..%" PRIu64,
				    key, v, p->min, p->max);
		for (w = 0; w < o->n_mmu; w++) {
			p = o->mmu[w]->params ? find_param(o->mmu[w]->params, key) : NULL;
			if (!p)
				continue;
			known = true;
			if (v < p->min || v > p->max)
				usage_error("--param %s=%" PRIu64 ": out of range %" PRIu64
					    "..%" PRIu64 " for the %s MMU", key, v, p->min, p->max,
					    o->mmu[w]->name);
		}
		for (w = 0; w < o->n_wl; w++) {
			p = find_param(o->wl[w]->params, key);
			if (!p)
				continue;
			known = true;
			if (v < p->min || v > p->max)
				usage_error("--param %s=%" PRIu64 ": out of range %" PRIu64
					    "..%" PRIu64 " for %s", key, v, p->min, p->max,
					    o->wl[w]->name);
		}
		if (!known)
			usage_error("--param %s: unknown parameter for the selected "
				    "workloads and MMUs (see vmm --list)", key);
	}
}

static void parse_param(struct opts *o, const char *arg)
{
	char err[CLI_ERR_MAX];

	if (cli_param_add(o->param, &o->n_param, MAX_PARAMS, arg, err, sizeof(err)) < 0)
		usage_error("%s", err);
}

enum { VP_PCID, VP_CACHE_MODEL, VP_VPID, VP_VMCS_SHADOW, VP_HZ };

enum { OPT_MMU = 1000, OPT_PAGES, OPT_HOST_PAGES, OPT_WORKLOAD, OPT_CPU, OPT_PARAM,
       OPT_GUEST_MEM, OPT_NUMA, OPT_JOBS, OPT_FORMAT, OPT_QUIET, OPT_LIST, OPT_HELP,
       OPT_VERSION, OPT_REPORT, OPT_SORT, OPT_LIST_CELLS, OPT_CELL, OPT_NO_HEADER,
       OPT_L1_MMU, OPT_L1, OPT_SAMPLE, OPT_SAMPLE_WARMING };

static void parse_args(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mmu", required_argument, NULL, OPT_MMU },
		{ "pages", required_argument, NULL, OPT_PAGES },
		{ "host-pages", required_argument, NULL, OPT_HOST_PAGES },
		{ "workload", required_argument, NULL, OPT_WORKLOAD },
		{ "cpu", required_argument, NULL, OPT_CPU },
		{ "param", required_argument, NULL, OPT_PARAM },
		{ "guest-mem", required_argument, NULL, OPT_GUEST_MEM },
		{ "numa-node", required_argument, NULL, OPT_NUMA },
		{ "jobs", required_argument, NULL, OPT_JOBS },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "list", no_argument, NULL, OPT_LIST },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "sort", required_argument, NULL, OPT_SORT },
		{ "list-cells", no_argument, NULL, OPT_LIST_CELLS },
		{ "cell", required_argument, NULL, OPT_CELL },
		{ "no-header", no_argument, NULL, OPT_NO_HEADER },
		{ "l1-mmu", required_argument, NULL, OPT_L1_MMU },
		{ "l1", required_argument, NULL, OPT_L1 },
		{ "sample", required_argument, NULL, OPT_SAMPLE },
		{ "sample-warming", required_argument, NULL, OPT_SAMPLE_WARMING },
		{ NULL, 0, NULL, 0 },
	};
	const char *mmu = "native", *pages = "4k", *host = NULL, *wl = "memsweep";
	const char *cpu = "skylake", *l1mmu = "none", *l1 = "kvm-4.13";
	int c;
	uint64_t v;

	memset(o, 0, sizeof(*o));
	o->guest_mem = 256 * MiB;
	o->numa_node = -1;
	o->cell = -1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_MMU: mmu = optarg; break;
		case OPT_PAGES: pages = optarg; break;
		case OPT_HOST_PAGES: host = optarg; break;
		case OPT_WORKLOAD: wl = optarg; break;
		case OPT_CPU: cpu = optarg; break;
		case OPT_L1_MMU: l1mmu = optarg; break;
		case OPT_L1: l1 = optarg; break;
		case OPT_PARAM: parse_param(o, optarg); break;
		case OPT_GUEST_MEM:
			v = parse_u64("--guest-mem", optarg);
			if (v < 16 * MiB || v > 64 * GiB || v % (2 * MiB))
				usage_error("--guest-mem=%s: must be a multiple of 2m "
					    "between 16m and 64g", optarg);
			o->guest_mem = v;
			break;
		case OPT_NUMA:
			v = parse_u64("--numa-node", optarg);
			if (v > 1023)
				usage_error("--numa-node=%s: no such node (at most 1023)", optarg);
			o->numa_node = (int)v;
			{
				char nerr[256];

				if (vm_numa_check(o->numa_node, nerr, sizeof(nerr)) < 0)
					usage_error("%s", nerr);
			}
			break;
		case OPT_JOBS:
			v = parse_u64("--jobs", optarg);
			if (v < 1 || v > MAX_JOBS)
				usage_error("--jobs: expected 1..%d, got '%s'", MAX_JOBS, optarg);
			o->jobs = (unsigned)v;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "csv") == 0)
				o->format = FMT_CSV;
			else if (strcmp(optarg, "json") == 0)
				o->format = FMT_JSON;
			else if (strcmp(optarg, "kvm-stat") == 0)
				o->format = FMT_KVM_STAT;
			else
				usage_error("--format: unknown format '%s' (csv, json, kvm-stat)",
					    optarg);
			break;
		case OPT_QUIET: o->quiet = true; break;
		case OPT_LIST: print_list(); out_check(true); exit(0);
		case 'h':
		case OPT_HELP: print_help(); out_check(true); exit(0);
		case OPT_VERSION: print_version(); out_check(true); exit(0);
		case OPT_REPORT:
			if (strcmp(optarg, "perf") != 0 && strcmp(optarg, "summary") != 0)
				usage_error("--report: unknown report '%s' (summary, perf)", optarg);
			o->report_perf = strcmp(optarg, "perf") == 0;
			break;
		case OPT_SORT:
			if (report_sort_parse(optarg, &o->sort) < 0)
				usage_error("--sort: unknown key '%s' (sample, time)", optarg);
			break;
		case OPT_SAMPLE: {
			char err[CLI_ERR_MAX];

			if (sample_parse(optarg, &o->sample, err, sizeof(err)) < 0)
				usage_error("%s", err);
			o->sample_arg = optarg;
			break;
		}
		case OPT_SAMPLE_WARMING: {
			char err[CLI_ERR_MAX];

			if (sample_warming_parse(optarg, &o->warming, err, sizeof(err)) < 0)
				usage_error("%s", err);
			o->warming_arg = optarg;
			break;
		}
		case OPT_LIST_CELLS: o->list_cells = true; break;
		case OPT_NO_HEADER: o->no_header = true; break;
		case OPT_CELL:
			v = parse_u64("--cell", optarg);
			if (v > 1000000)
				usage_error("--cell: index %llu above 1000000",
					    (unsigned long long)v);
			o->cell = (long)v;
			break;
		case ':':
			usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			usage_error("unknown option '%s' (see vmm --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s' (see vmm --help)", argv[optind]);
	/* after the loop: --sample resets the whole configuration */
	if (o->warming_arg && !o->sample.on)
		usage_error("--sample-warming=%s: needs --sample (the exact mode "
			    "models every access already)", o->warming_arg);
	o->sample.warm_caches = o->warming;

	FOR_EACH_ITEM("--mmu", mmu, s, o->n_mmu, {
		o->mmu[o->n_mmu] = vmm_backend_find(s);
		if (!o->mmu[o->n_mmu]) {
			const char *names[MAX_LIST];
			size_t n;

			for (n = 0; vmm_backends[n] && n < MAX_LIST; n++)
				names[n] = vmm_backends[n]->name;
			unknown_name("--mmu", "MMU", s, names, n);
		}
		o->n_mmu++;
	});
	FOR_EACH_ITEM("--l1-mmu", l1mmu, s, o->n_l1mmu, {
		unsigned k;

		for (k = 0; k < ARRAY_SIZE(run_l1_mmu_names); k++)
			if (strcmp(s, run_l1_mmu_names[k]) == 0)
				break;
		if (k == ARRAY_SIZE(run_l1_mmu_names))
			unknown_name("--l1-mmu", "L1 MMU", s, run_l1_mmu_names,
				     ARRAY_SIZE(run_l1_mmu_names));
		o->l1mmu[o->n_l1mmu++] = (enum l1_mmu)k;
	});
	FOR_EACH_ITEM("--l1", l1, s, o->n_l1, {
		o->l1[o->n_l1] = l1hv_personality_find(s);
		if (!o->l1[o->n_l1]) {
			const char *names[MAX_LIST];
			size_t n;

			for (n = 0; l1hv_personalities[n] && n < MAX_LIST; n++)
				names[n] = l1hv_personalities[n]->name;
			unknown_name("--l1", "L1 personality", s, names, n);
		}
		o->n_l1++;
	});
	FOR_EACH_ITEM("--pages", pages, s, o->n_pages,
		      o->pages[o->n_pages++] = parse_level("--pages", s));
	if (host)
		FOR_EACH_ITEM("--host-pages", host, s, o->n_host_pages,
			      o->host_pages[o->n_host_pages++] =
				      parse_level("--host-pages", s));
	FOR_EACH_ITEM("--workload", wl, s, o->n_wl, {
		o->wl[o->n_wl] = wl_find(s);
		if (!o->wl[o->n_wl]) {
			const char *names[MAX_LIST];
			size_t n;

			for (n = 0; wl_table[n] && n < MAX_LIST; n++)
				names[n] = wl_table[n]->name;
			unknown_name("--workload", "workload", s, names, n);
		}
		o->n_wl++;
	});
	FOR_EACH_ITEM("--cpu", cpu, s, o->n_cpu, {
		char err[512];

		o->cpu[o->n_cpu] = calloc(1, sizeof(struct profile));
		if (!o->cpu[o->n_cpu])
			usage_error("out of memory");
		if (profile_find(o->cpu[o->n_cpu], s, err, sizeof(err)) < 0)
			usage_error("--cpu: %s", err);
		o->cpu_arg[o->n_cpu] = strdup(s);
		if (!o->cpu_arg[o->n_cpu])
			usage_error("out of memory");
		o->n_cpu++;
	});
	check_params(o);
}

/* One cell of the grid. */
struct cell {
	const struct workload	*wl;
	const struct mmu_ops	*mmu;
	const struct profile	*prof;
	unsigned		pages;
	unsigned		host_pages;	/* 0: no host level (native) */
	unsigned		index;		/* place in the grid: the CSV's cell */
	unsigned		icpu;		/* which --cpu item */
	enum l1_mmu		l1mmu;		/* L1_MMU_NONE: the workload runs at L1 */
	const struct l1_personality *l1;	/* NULL with L1_MMU_NONE */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The run_spec of cell c under the options. */
static void cell_spec(const struct opts *o, const struct cell *c, struct run_spec *s)
{
	unsigned i;

	memset(s, 0, sizeof(*s));
	s->wl = c->wl;
	s->mmu = c->mmu;
	s->prof = c->prof;
	s->pages = c->pages;
	s->host_pages = c->host_pages;
	s->guest_mem = o->guest_mem;
	s->numa_node = o->numa_node;
	for (i = 0; i < WL_MAX_PARAMS && c->wl->params[i].key; i++)
		s->wl_param[i] = param_value(o, &c->wl->params[i]);
	for (i = 0; c->mmu->params && i < MMU_MAX_PARAMS && c->mmu->params[i].key; i++)
		s->mmu_param[i] = param_value(o, &c->mmu->params[i]);
	s->cache_model = param_value(o, &vmm_params[VP_CACHE_MODEL]) != 0;
	s->pcid = param_value(o, &vmm_params[VP_PCID]) != 0;
	s->vpid = (unsigned)param_value(o, &vmm_params[VP_VPID]);
	s->index = c->index;
	s->l1mmu = c->l1mmu;
	s->l1 = c->l1;
	s->vmcs_shadow = (unsigned)param_value(o, &vmm_params[VP_VMCS_SHADOW]);
	s->hz = param_value(o, &vmm_params[VP_HZ]);
	s->sample = o->sample;
}

/* Validate a cell before anything runs, so a bad grid fails at once. */
static void check_cell(const struct opts *o, const struct cell *c)
{
	struct run_spec s;
	char err[512];

	cell_spec(o, c, &s);
	if (run_check(&s, err, sizeof(err)) < 0)
		usage_error("%s", err);
}

/* Run one cell into r: 0, -1 when the VM stopped, -2 when the host
 * refused (message in err). */
static int run_one(const struct opts *o, const struct cell *c, struct row *r,
		   char *err, size_t errlen)
{
	struct run_spec s;

	cell_spec(o, c, &s);
	return run_cell(&s, r, err, errlen);
}

/* The grid, in output order: cpu, workload, mmu, pages, host pages. */
struct grid {
	struct cell	*cell;
	struct row	*row;
	char		(*err)[512];
	int		*rc;		/* per cell: 0 ok, -1 VM stopped, -2 setup refused */
	bool		*done;
	unsigned	n;
	unsigned	next;		/* next cell to hand out */
	unsigned	finished;
	const struct opts *o;
	pthread_mutex_t	lock;
	pthread_cond_t	cond;
};

static void grid_build(struct grid *g, const struct opts *o)
{
	unsigned ic, iw, im, ip, ih, il1m, il1, cap = 64;

	memset(g, 0, sizeof(*g));
	g->o = o;
	g->cell = malloc(cap * sizeof(*g->cell));
	for (ic = 0; ic < o->n_cpu; ic++)
	for (iw = 0; iw < o->n_wl; iw++)
	for (im = 0; im < o->n_mmu; im++)
	for (il1m = 0; il1m < o->n_l1mmu; il1m++)
	for (il1 = 0; il1 < (o->l1mmu[il1m] == L1_MMU_NONE ? 1 : o->n_l1); il1++)
	for (ip = 0; ip < o->n_pages; ip++) {
		bool native = !mmu_has_host_level(o->mmu[im]);
		unsigned nh = (native || !o->n_host_pages) ? 1 : o->n_host_pages;

		for (ih = 0; ih < nh; ih++) {
			struct cell c = { o->wl[iw], o->mmu[im], o->cpu[ic], o->pages[ip], 0,
					  g->n, ic, L1_MMU_NONE, NULL };

			if (!native)
				c.host_pages = o->n_host_pages ? o->host_pages[ih] : o->pages[ip];
			c.l1mmu = o->l1mmu[il1m];
			c.l1 = c.l1mmu == L1_MMU_NONE ? NULL : o->l1[il1];
			if (g->n == cap) {
				cap *= 2;
				g->cell = realloc(g->cell, cap * sizeof(*g->cell));
			}
			if (!g->cell)
				usage_error("out of memory");
			g->cell[g->n++] = c;
		}
	}
	g->row = calloc(g->n, sizeof(*g->row));
	g->err = calloc(g->n, sizeof(*g->err));
	g->rc = calloc(g->n, sizeof(*g->rc));
	g->done = calloc(g->n, sizeof(*g->done));
	if (!g->row || !g->err || !g->rc || !g->done)
		usage_error("out of memory");
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
}

static void *grid_worker(void *arg)
{
	struct grid *g = arg;

	for (;;) {
		unsigned i;

		pthread_mutex_lock(&g->lock);
		i = g->next < g->n ? g->next++ : g->n;
		pthread_mutex_unlock(&g->lock);
		if (i == g->n)
			return NULL;
		g->rc[i] = run_one(g->o, &g->cell[i], &g->row[i], g->err[i], sizeof(g->err[i]));
		pthread_mutex_lock(&g->lock);
		g->done[i] = true;
		g->finished++;
		pthread_cond_signal(&g->cond);
		pthread_mutex_unlock(&g->lock);
	}
}

/* vm_stopped - the one line saying a cell's VM stopped (escaped as
 * usage_error's are); the caller goes on with the next cell. */
static void vm_stopped(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void vm_stopped(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_line(fmt, ap);
	va_end(ap);
}

static const char *level_or_dash(unsigned l)
{
	return l ? run_level_name(l) : "-";
}

/* Progress on a terminal, overwritten in place; nothing when redirected. */
static void progress(const struct grid *g, double t0, bool tty)
{
	if (!tty)
		return;
	fprintf(stderr, "\r[%u/%u cells done, %.0f s] ", g->finished, g->n, now_s() - t0);
	fflush(stderr);
}

/* Print --param key=v for every given parameter that applies to cell c
 * (a single-cell run rejects keys no selected workload or MMU knows). */
static void print_cell_params(const struct opts *o, const struct cell *c)
{
	unsigned i;

	for (i = 0; i < o->n_param; i++) {
		const char *key = o->param[i].key;

		if (find_param(vmm_params, key) || find_param(c->wl->params, key) ||
		    (c->mmu->params && find_param(c->mmu->params, key)))
			printf(" --param %s=%" PRIu64, key, o->param[i].val);
	}
}

/* s as one shell word: as is when it is plain, else in single quotes. */
static void print_shell_word(const char *s)
{
	const char *p;

	if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789-_./=,:+@%") == strlen(s)) {
		fputs(s, stdout);
		return;
	}
	putchar('\'');
	for (p = s; *p; p++)
		if (*p == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*p);
	putchar('\'');
}

/* --list-cells: one line per cell, "INDEX<TAB>ARGS", ARGS running that
 * cell alone (its CSV row then says cell 0: a sweep runs --cell=INDEX). */
static void print_cells(const struct opts *o, const struct grid *g)
{
	unsigned i;

	for (i = 0; i < g->n; i++) {
		const struct cell *c = &g->cell[i];

		printf("%u\t--cpu=", c->index);
		print_shell_word(o->cpu_arg[c->icpu]);
		printf(" --workload=%s --mmu=%s --pages=%s", c->wl->name, c->mmu->name,
		       run_level_name(c->pages));
		if (c->host_pages && o->n_host_pages)
			printf(" --host-pages=%s", run_level_name(c->host_pages));
		if (c->l1mmu != L1_MMU_NONE)
			printf(" --l1-mmu=%s --l1=%s", run_l1_mmu_names[c->l1mmu], c->l1->name);
		if (o->guest_mem != 256 * MiB)
			printf(" --guest-mem=%" PRIu64, o->guest_mem);
		if (o->numa_node >= 0)
			printf(" --numa-node=%d", o->numa_node);
		if (o->sample.on) {
			printf(" --sample=");
			print_shell_word(o->sample_arg);
			if (o->sample.warm_caches)
				printf(" --sample-warming=caches");
		}
		print_cell_params(o, c);
		putchar('\n');
	}
}

/* Free what parse_args and grid_build took. */
static void release(struct opts *o, struct grid *g)
{
	unsigned i;

	for (i = 0; i < o->n_cpu; i++) {
		free(o->cpu[i]);
		free(o->cpu_arg[i]);
	}
	free(g->cell);
	free(g->row);
	free(g->err);
	free(g->rc);
	free(g->done);
}

/* --cell=N: keep cell N of the grid alone (it keeps its index). */
static void grid_select(struct grid *g, long n)
{
	if (n >= (long)g->n)
		usage_error("--cell=%ld: the grid has %u cells (0..%u; see --list-cells)", n,
			    g->n, g->n - 1);
	g->cell[0] = g->cell[n];
	g->n = 1;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct grid g;
	pthread_t tid[MAX_JOBS];
	unsigned i, jobs, printed = 0;
	bool tty = isatty(2), any = false, shown = false;
	double t0 = now_s();
	int status = 0;

	parse_args(&o, argc, argv);
	grid_build(&g, &o);
	/* Validate the whole grid before running any of it. */
	for (i = 0; i < g.n; i++)
		check_cell(&o, &g.cell[i]);
	if (o.list_cells) {
		print_cells(&o, &g);
		release(&o, &g);
		out_check(true);
		return 0;
	}
	if (o.cell >= 0)
		grid_select(&g, o.cell);

	jobs = o.jobs ? o.jobs : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if (jobs < 1)
		jobs = 1;
	if (jobs > g.n)
		jobs = g.n;
	if (o.format == FMT_CSV && !o.no_header)
		report_csv_header(stdout);
	for (i = 0; i < jobs; i++)
		if (pthread_create(&tid[i], NULL, grid_worker, &g) != 0)
			usage_error("cannot start worker thread %u", i);

	/* Print rows in grid order as they complete. */
	pthread_mutex_lock(&g.lock);
	while (printed < g.n) {
		while (printed < g.n && g.done[printed]) {
			unsigned k = printed++;
			const struct cell *c = &g.cell[k];

			pthread_mutex_unlock(&g.lock);
			if (shown) {
				fputc('\n', stderr);
				shown = false;
			}
			if (g.rc[k] == -2)
				usage_error("%s", g.err[k]);
			if (g.rc[k] < 0) {
				vm_stopped("%s mmu=%s pages=%s host-pages=%s cpu=%s: %s",
					   c->wl->name, c->mmu->name, run_level_name(c->pages),
					   level_or_dash(c->host_pages), c->prof->name, g.err[k]);
				status = EXIT_VMSTOP;
			} else {
				if (o.format == FMT_CSV) {
					report_csv_row(stdout, &g.row[k]);
				} else if (o.format == FMT_KVM_STAT) {
					if (g.n > 1)
						printf("%s# %s mmu=%s pages=%s cpu=%s\n",
						       any ? "\n" : "", c->wl->name,
						       c->mmu->name, run_level_name(c->pages),
						       c->prof->name);
					report_kvm_stat(stdout, &g.row[k]);
				} else {
					report_json_row(stdout, &g.row[k], !any);
				}
				out_check(false);
				any = true;
				if (!o.quiet && o.report_perf)
					report_perf(stderr, &g.row[k], o.sort);
				else if (!o.quiet)
					report_summary(stderr, &g.row[k]);
			}
			pthread_mutex_lock(&g.lock);
		}
		if (printed == g.n)
			break;
		if (tty && now_s() - t0 > 2.0) {
			progress(&g, t0, tty);
			shown = true;
		}
		{
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&g.cond, &g.lock, &ts);
		}
	}
	pthread_mutex_unlock(&g.lock);
	for (i = 0; i < jobs; i++)
		pthread_join(tid[i], NULL);
	if (o.format == FMT_JSON)
		report_json_end(stdout, any);
	out_check(true);
	release(&o, &g);
	return status;
}
