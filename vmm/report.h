/*
 * report.h - one result row and its renderings (private to the CLI).
 */
#ifndef MEMVIRT_REPORT_H
#define MEMVIRT_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "vmm.h"

struct row {
	const char		*workload;
	const char		*mmu;
	const char		*pages;
	const char		*host_pages;	/* "-" when there is no host level */
	const char		*cpu;
	const char		*backing;
	uint64_t		guest_mem;
	char			params[256];	/* "k=v;k=v" */
	struct vcpu_stats	st;
	uint64_t		pte_writes;	/* guest page-table entries written */
	uint64_t		forks;		/* guest fork() calls */
	uint64_t		child_faults;	/* guest #PFs taken by processes other
						 * than init (getrusage's children) */
	bool			cache_model;	/* the memory model was on */
	struct mmu_report	mr;		/* backend gauges */
	struct cycle_breakdown	cyc;
	double			clock_hz;
	double			wall_s;
	uint64_t		checksum;
	unsigned		cell;		/* index of the cell in its grid */
	const char		*l1_mmu;	/* --l1-mmu: "none" at one level */
	const char		*l1;		/* L1 personality, "-" at one level */
	struct sample_result	smp;		/* the sampled mode's intervals */
};

#define REPORT_MAX_FIELDS	192

/* KVM's statistics memvirt counts exactly as KVM does (docs/kvm-stats.md);
 * CSV columns kvm_NAME, in this order, after all earlier columns. */
enum kvm_stat_id {
	KVM_EXITS, KVM_PF_TAKEN, KVM_PF_FIXED, KVM_PF_GUEST, KVM_PF_EMULATE,
	KVM_PF_SPURIOUS, KVM_MMU_FLOODED, KVM_MMU_PDE_ZAPPED, KVM_MMU_SHADOW_ZAPPED,
	KVM_MMU_CACHE_MISS, KVM_MMU_UNSYNC, KVM_INVLPG, KVM_PAGES_4K, KVM_PAGES_2M,
	KVM_PAGES_1G, KVM_NR_STATS
};
extern const char *const report_kvm_stat_names[KVM_NR_STATS];

/* report_kvm_stat_value - KVM statistic `id` for row r. */
uint64_t report_kvm_stat_value(const struct row *r, unsigned id);

/* report_kvm_stat - the row as `kvm_stat -1` prints: one line per
 * statistic, sorted by name: "%-42s%10d%10d" name, value, change over
 * the interval (the whole run, so the value again). */
void report_kvm_stat(FILE *f, const struct row *r);

void report_csv_header(FILE *f);
void report_csv_row(FILE *f, const struct row *r);
/* JSON: an array of objects keyed by the CSV's column names. */
void report_json_row(FILE *f, const struct row *r, bool first);
void report_json_end(FILE *f, bool any);
/* The readable report of one row (stderr). */
void report_summary(FILE *f, const struct row *r);

/* How report_perf orders exit reasons: perf kvm stat's --sort keys. */
enum report_sort {
	REPORT_SORT_SAMPLE,	/* "sample": most exits first */
	REPORT_SORT_TIME,	/* "time": most total time first */
};

/* report_sort_parse - "sample" or "time" into *out. 0, or -1 if neither. */
int report_sort_parse(const char *s, enum report_sort *out);

/*
 * report_perf - the exits of one row exactly as `perf kvm stat report`
 * prints them (tools/perf/builtin-kvm.c print_result(): the same header,
 * column widths, number formats and footer), then the cell, the fault
 * split and the time breakdown on lines of their own. Min, Max and the
 * spread are those of the exits' modeled cycles, in microseconds.
 */
void report_perf(FILE *f, const struct row *r, enum report_sort sort);

#endif /* MEMVIRT_REPORT_H */
