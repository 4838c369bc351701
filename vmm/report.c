/*
 * report.c - the CSV (the interface: columns are added, never renamed)
 * and the readable summary on stderr.
 */
#include <asm/vmx.h>
#include <ctype.h>
#include <inttypes.h>
#include <string.h>

#include "report.h"

/* Exit reasons with a column of their own, in column order. */
static const unsigned exit_cols[] = {
	EXIT_REASON_EXCEPTION_NMI,
	EXIT_REASON_CR_ACCESS,
	EXIT_REASON_INVLPG,
	EXIT_REASON_EPT_VIOLATION,
	EXIT_REASON_EPT_MISCONFIG,
};

static void lower_name(char *out, size_t len, unsigned reason)
{
	const char *n = vmm_exit_name(reason);
	size_t i;

	for (i = 0; n && n[i] && i + 1 < len; i++)
		out[i] = (char)tolower((unsigned char)n[i]);
	out[i] = '\0';
}

static uint64_t total_exits(const struct vcpu_stats *s)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < VMM_NR_EXIT_REASONS; i++)
		n += s->exits[i];
	return n;
}

static double miss_rate(const struct vcpu_stats *s)
{
	return s->accesses ? (double)s->dtlb_misses / (double)s->accesses : 0.0;
}

void report_csv_header(FILE *f)
{
	char n[40];
	size_t i;

	fputs("workload,mmu,pages,host_pages,cpu,host_backing,guest_mem,params,"
	      "accesses,dtlb_misses,dtlb_miss_rate,l1_hits,l2_hits,walks,walk_refs,"
	      "psc_hits,ntlb_hits,exits", f);
	for (i = 0; i < ARRAY_SIZE(exit_cols); i++) {
		lower_name(n, sizeof(n), exit_cols[i]);
		fprintf(f, ",exit_%s", n);
	}
	fputs(",guest_page_faults,hidden_faults,trace_faults,true_faults,pte_writes,"
	      "cr3_writes,invlpgs,shadow_pages_peak,shadow_root_hits,ept_pages,"
	      "host_pages_backed,insns_user,insns_kernel,"
	      "cycles,cycles_user,cycles_kernel,cycles_data,cycles_tlb,cycles_walk,"
	      "cycles_exit", f);
	for (i = 0; i < ARRAY_SIZE(exit_cols); i++) {
		lower_name(n, sizeof(n), exit_cols[i]);
		fprintf(f, ",cycles_exit_%s", n);
	}
	fputs(",runtime_s,wall_s,checksum\n", f);
}

void report_csv_row(FILE *f, const struct row *r)
{
	const struct vcpu_stats *s = &r->st;
	size_t i;

	fprintf(f, "%s,%s,%s,%s,%s,%s,%" PRIu64 ",%s,", r->workload, r->mmu, r->pages,
		r->host_pages, r->cpu, r->backing, r->guest_mem, r->params);
	fprintf(f, "%" PRIu64 ",%" PRIu64 ",%.6f,%" PRIu64 ",%" PRIu64 ",%" PRIu64
		",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64,
		s->accesses, s->dtlb_misses, miss_rate(s), s->l1_hits, s->l2_hits,
		s->walks, s->walk_reads + s->walk_ad_writes, s->psc_hits, s->ntlb_hits,
		total_exits(s));
	for (i = 0; i < ARRAY_SIZE(exit_cols); i++)
		fprintf(f, ",%" PRIu64, s->exits[exit_cols[i]]);
	fprintf(f, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64,
		s->guest_page_faults, s->hidden_faults, s->trace_faults, s->true_faults,
		r->pte_writes);
	fprintf(f, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64,
		s->cr3_writes, s->invlpgs, r->mr.shadow_pages_peak, r->mr.shadow_root_hits,
		r->mr.ept_pages, r->mr.host_pages_backed);
	fprintf(f, ",%" PRIu64 ",%" PRIu64, s->insns_user, s->insns_kernel);
	fprintf(f, ",%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f", r->cyc.total, r->cyc.user,
		r->cyc.kernel, r->cyc.data, r->cyc.tlb, r->cyc.walk, r->cyc.exit);
	for (i = 0; i < ARRAY_SIZE(exit_cols); i++)
		fprintf(f, ",%.0f", s->exit_cycles[exit_cols[i]]);
	fprintf(f, ",%.6f,%.3f,0x%016" PRIx64 "\n", r->cyc.total / r->clock_hz,
		r->wall_s, r->checksum);
	fflush(f);
}

static double pct(double part, double whole)
{
	return whole > 0 ? 100.0 * part / whole : 0.0;
}

void report_summary(FILE *f, const struct row *r)
{
	const struct vcpu_stats *s = &r->st;
	const struct cycle_breakdown *c = &r->cyc;
	uint64_t refs = s->walk_reads + s->walk_ad_writes;

	fprintf(f, "%s  mmu=%s pages=%s host-pages=%s cpu=%s backing=%s\n",
		r->workload, r->mmu, r->pages, r->host_pages, r->cpu, r->backing);
	fprintf(f, "  runtime %.4f s modeled (%.3g cycles), %.2f s wall, checksum 0x%016"
		PRIx64 "\n", c->total / r->clock_hz, c->total, r->wall_s, r->checksum);
	fprintf(f, "  %" PRIu64 " accesses, dTLB miss rate %.2f%%, %" PRIu64
		" walks (%.2f refs/walk, %" PRIu64 " PSC hits), %" PRIu64 " exits, %"
		PRIu64 " guest #PF\n", s->accesses, 100.0 * miss_rate(s), s->walks,
		s->walks ? (double)refs / (double)s->walks : 0.0, s->psc_hits,
		total_exits(s), s->guest_page_faults);
	fprintf(f, "  cycles: user %.1f%%  kernel %.1f%%  data %.1f%%  tlb %.1f%%  "
		"walk %.1f%%  exit %.1f%%\n", pct(c->user, c->total),
		pct(c->kernel, c->total), pct(c->data, c->total), pct(c->tlb, c->total),
		pct(c->walk, c->total), pct(c->exit, c->total));
}
