/*
 * report.c - one table of fields, rendered as CSV (the interface: names
 * are added, never renamed) or JSON; and the readable report on stderr
 * in the spirit of `perf kvm stat report`.
 */
#include <asm/vmx.h>
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
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

/* The non-memory reasons of issue 15, in column order (appended after
 * `cell`): count exit_NAME, and cycles_exit_NAME. */
static const unsigned nested_exit_cols[] = {
	EXIT_REASON_CPUID,
	EXIT_REASON_VMREAD,
	EXIT_REASON_VMWRITE,
	EXIT_REASON_VMRESUME,
	EXIT_REASON_VMLAUNCH,
	EXIT_REASON_XSETBV,
	EXIT_REASON_MSR_READ,
	EXIT_REASON_MSR_WRITE,
	EXIT_REASON_HLT,
	EXIT_REASON_EXTERNAL_INTERRUPT,
};

/* cycles_l0_STEP columns: L0's nested work by step (parts of
 * cycles_exit_l0), and their names. */
static const struct { enum vmm_nested_step step; const char *col; } step_cols[] = {
	{ NSTEP_REFLECT, "cycles_l0_vmexit" },
	{ NSTEP_SHADOW_COPY, "cycles_l0_shadow_copy" },
	{ NSTEP_VMENTRY, "cycles_l0_vmentry" },
	{ NSTEP_PREPARE, "cycles_l0_prepare_vmcs02" },
	{ NSTEP_MSR_MERGE, "cycles_l0_msr_merge" },
	{ NSTEP_DEBUGCTL, "cycles_l0_debugctl" },
};

static uint64_t sum_exits(const uint64_t *v)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < VMM_NR_EXIT_REASONS; i++)
		n += v[i];
	return n;
}

static void lower_name(char *out, size_t len, const char *prefix, unsigned reason)
{
	const char *n = vmm_exit_name(reason);
	size_t i = strlen(prefix);

	snprintf(out, len, "%s", prefix);
	for (; n && *n && i + 1 < len; n++, i++)
		out[i] = (char)tolower((unsigned char)*n);
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

/* One field of a row: its name, and its value already formatted. */
struct field {
	char	name[40];
	char	val[288];
	bool	string;		/* quoted in JSON */
};

struct fields {
	struct field	f[REPORT_MAX_FIELDS];
	unsigned	n;
};

static void add(struct fields *fs, bool string, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void add(struct fields *fs, bool string, const char *name, const char *fmt, ...)
{
	struct field *f;
	va_list ap;

	BUG_ON(fs->n == REPORT_MAX_FIELDS, "too many report fields");
	f = &fs->f[fs->n++];
	snprintf(f->name, sizeof(f->name), "%s", name);
	va_start(ap, fmt);
	vsnprintf(f->val, sizeof(f->val), fmt, ap);
	va_end(ap);
	f->string = string;
}

#define S(name, v)	add(fs, true, name, "%s", v)
#define U(name, v)	add(fs, false, name, "%" PRIu64, (uint64_t)(v))
#define C(name, v)	add(fs, false, name, "%.0f", (double)(v))

/* walk_refs_hist: walks by references made, "n0;n1;...", entry k for k
 * references (the last of VMM_WALK_HIST_MAX + 1 is "that many or more"),
 * trailing zeros dropped; "" when there were no walks. */
static void walk_hist_field(struct fields *fs, const struct vcpu_stats *s)
{
	char buf[sizeof(fs->f[0].val)];
	size_t len = 0, i, last = 0;
	bool any = false;

	for (i = 0; i <= VMM_WALK_HIST_MAX; i++)
		if (s->walk_hist[i]) {
			last = i;
			any = true;
		}
	buf[0] = '\0';
	for (i = 0; any && i <= last && len < sizeof(buf); i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%" PRIu64,
					i ? ";" : "", s->walk_hist[i]);
	add(fs, true, "walk_refs_hist", "%s", buf);
}

/* The interval columns of the sampled mode: column, quantity, and how
 * the quantity's total becomes the column's unit. */
static const struct {
	const char	*col;
	enum sample_q	q;
	bool		per_access;	/* a rate: divided by accesses */
	bool		per_second;	/* a time: divided by the clock */
} ci_cols[] = {
	{ "dtlb_misses_ci95", SQ_DTLB_MISSES, false, false },
	{ "dtlb_miss_rate_ci95", SQ_DTLB_MISSES, true, false },
	{ "l1_hits_ci95", SQ_L1_HITS, false, false },
	{ "l2_hits_ci95", SQ_L2_HITS, false, false },
	{ "walks_ci95", SQ_WALKS, false, false },
	{ "walk_refs_ci95", SQ_WALK_REFS, false, false },
	{ "psc_hits_ci95", SQ_PSC_HITS, false, false },
	{ "ntlb_hits_ci95", SQ_NTLB_HITS, false, false },
	{ "cycles_ci95", SQ_CYC_EST, false, false },
	{ "runtime_s_ci95", SQ_CYC_EST, false, true },
	{ "cycles_data_ci95", SQ_CYC_DATA, false, false },
	{ "cycles_tlb_ci95", SQ_CYC_TLB, false, false },
	{ "cycles_walk_ci95", SQ_CYC_WALK, false, false },
	{ "loads_l1_ci95", SQ_LOADS_L1, false, false },
	{ "loads_l2_ci95", SQ_LOADS_L2, false, false },
	{ "loads_llc_ci95", SQ_LOADS_LLC, false, false },
	{ "loads_dram_ci95", SQ_LOADS_DRAM, false, false },
	{ "walk_refs_l1_ci95", SQ_WREFS_L1, false, false },
	{ "walk_refs_l2_ci95", SQ_WREFS_L2, false, false },
	{ "walk_refs_llc_ci95", SQ_WREFS_LLC, false, false },
	{ "walk_refs_dram_ci95", SQ_WREFS_DRAM, false, false },
	{ "cycles_data_l1_ci95", SQ_CYC_DATA_L1, false, false },
	{ "cycles_data_l2_ci95", SQ_CYC_DATA_L2, false, false },
	{ "cycles_data_llc_ci95", SQ_CYC_DATA_LLC, false, false },
	{ "cycles_data_dram_ci95", SQ_CYC_DATA_DRAM, false, false },
	{ "cycles_store_ci95", SQ_CYC_STORE, false, false },
	{ "vmm_refs_l1_ci95", SQ_VREFS_L1, false, false },
	{ "vmm_refs_l2_ci95", SQ_VREFS_L2, false, false },
	{ "vmm_refs_llc_ci95", SQ_VREFS_LLC, false, false },
	{ "vmm_refs_dram_ci95", SQ_VREFS_DRAM, false, false },
	{ "itlb_l2_hits_ci95", SQ_ITLB_L2_HITS, false, false },
	{ "itlb_misses_ci95", SQ_ITLB_MISSES, false, false },
};

/* The row as fields, in column order. Columns are an interface: append
 * new ones, never rename or reorder. */
static void row_fields(const struct row *r, struct fields *fs)
{
	const struct vcpu_stats *s = &r->st;
	char name[40];
	size_t i;

	fs->n = 0;
	S("workload", r->workload);
	S("mmu", r->mmu);
	S("pages", r->pages);
	S("host_pages", r->host_pages);
	S("cpu", r->cpu);
	S("host_backing", r->backing);
	U("guest_mem", r->guest_mem);
	S("params", r->params);
	U("accesses", s->accesses);
	U("dtlb_misses", s->dtlb_misses);
	add(fs, false, "dtlb_miss_rate", "%.6f", miss_rate(s));
	U("l1_hits", s->l1_hits);
	U("l2_hits", s->l2_hits);
	U("walks", s->walks);
	U("walk_refs", s->walk_reads + s->walk_ad_writes);
	U("psc_hits", s->psc_hits);
	U("ntlb_hits", s->ntlb_hits);
	U("exits", total_exits(s));
	for (i = 0; i < ARRAY_SIZE(exit_cols); i++) {
		lower_name(name, sizeof(name), "exit_", exit_cols[i]);
		U(name, s->exits[exit_cols[i]]);
	}
	U("guest_page_faults", s->guest_page_faults);
	U("hidden_faults", s->hidden_faults);
	U("trace_faults", s->trace_faults);
	U("true_faults", s->true_faults);
	U("pte_writes", r->pte_writes);
	U("cr3_writes", s->cr3_writes);
	U("invlpgs", s->invlpgs);
	U("shadow_pages_peak", r->mr.shadow_pages_peak);
	U("shadow_root_hits", r->mr.shadow_root_hits);
	U("ept_pages", r->mr.ept_pages);
	U("host_pages_backed", r->mr.host_pages_backed);
	U("insns_user", s->insns_user);
	U("insns_kernel", s->insns_kernel);
	C("cycles", r->cyc.total);
	C("cycles_user", r->cyc.user);
	C("cycles_kernel", r->cyc.kernel);
	C("cycles_data", r->cyc.data);
	C("cycles_tlb", r->cyc.tlb);
	C("cycles_walk", r->cyc.walk);
	C("cycles_exit", r->cyc.exit);
	for (i = 0; i < ARRAY_SIZE(exit_cols); i++) {
		lower_name(name, sizeof(name), "cycles_exit_", exit_cols[i]);
		C(name, s->exit_cycles[exit_cols[i]]);
	}
	add(fs, false, "runtime_s", "%.6f", r->cyc.total / r->clock_hz);
	add(fs, false, "wall_s", "%.3f", r->wall_s);
	add(fs, true, "checksum", "0x%016" PRIx64, r->checksum);
	/* appended after the first release: */
	U("syscalls", s->syscalls);
	U("forks", r->forks);
	U("unbacked_accesses", s->unbacked_accesses);
	U("shadow_pages", r->mr.shadow_pages);
	U("cache_model", r->cache_model);
	U("stores", s->stores);
	U("loads_l1", s->load_level[MEM_L1]);
	U("loads_l2", s->load_level[MEM_L2]);
	U("loads_llc", s->load_level[MEM_LLC]);
	U("loads_dram", s->load_level[MEM_DRAM]);
	U("walk_refs_l1", s->mem_refs[HREF_WALK][MEM_L1]);
	U("walk_refs_l2", s->mem_refs[HREF_WALK][MEM_L2]);
	U("walk_refs_llc", s->mem_refs[HREF_WALK][MEM_LLC]);
	U("walk_refs_dram", s->mem_refs[HREF_WALK][MEM_DRAM]);
	/* the core model's cycle stack, parts of the categories above */
	C("cycles_data_l1", r->cyc.data_level[MEM_L1]);
	C("cycles_data_l2", r->cyc.data_level[MEM_L2]);
	C("cycles_data_llc", r->cyc.data_level[MEM_LLC]);
	C("cycles_data_dram", r->cyc.data_level[MEM_DRAM]);
	C("cycles_store", r->cyc.store);
	C("cycles_pf", r->cyc.pf);
	C("cycles_syscall", r->cyc.syscall);
	/* KVM's statistics, counted as KVM counts them (docs/kvm-stats.md): */
	for (i = 0; i < KVM_NR_STATS; i++) {
		snprintf(name, sizeof(name), "kvm_%s", report_kvm_stat_names[i]);
		U(name, report_kvm_stat_value(r, (unsigned)i));
	}
	walk_hist_field(fs, s);
	U("cell", r->cell);
	/* The VMM handlers' own table references (shadow paging's gpte
	 * reads and spte writes) by the level that served them. */
	U("vmm_refs_l1", s->mem_refs[HREF_VMM][MEM_L1]);
	U("vmm_refs_l2", s->mem_refs[HREF_VMM][MEM_L2]);
	U("vmm_refs_llc", s->mem_refs[HREF_VMM][MEM_LLC]);
	U("vmm_refs_dram", s->mem_refs[HREF_VMM][MEM_DRAM]);
	/* nested virtualization and the non-memory exits (issue 15) */
	S("l1_mmu", r->l1_mmu);
	S("l1", r->l1);
	U("l2_exits", sum_exits(s->level_exits[1]));
	U("l1_exits", sum_exits(s->level_exits[0]));
	U("reflected_exits", sum_exits(s->reflected));
	for (i = 0; i < ARRAY_SIZE(nested_exit_cols); i++) {
		lower_name(name, sizeof(name), "exit_", nested_exit_cols[i]);
		U(name, s->exits[nested_exit_cols[i]]);
	}
	for (i = 0; i < ARRAY_SIZE(nested_exit_cols); i++) {
		lower_name(name, sizeof(name), "cycles_exit_", nested_exit_cols[i]);
		C(name, s->exit_cycles[nested_exit_cols[i]]);
	}
	U("insns_l1", s->insns_l1);
	U("vmcs_shadow_hits", s->vmcs_shadow_hits);
	U("prepare_vmcs02_full", s->prepare_full);
	U("timer_ticks", s->timer_ticks);
	C("cycles_l1", r->cyc.l1);
	C("cycles_exit_transition", r->cyc.exit_transition);
	C("cycles_exit_l0", r->cyc.exit_l0);
	for (i = 0; i < ARRAY_SIZE(step_cols); i++)
		C(step_cols[i].col, s->nested_step[step_cols[i].step]);
	/* instruction fetch (data columns above stay data only) */
	U("ifetches", s->ifetches);
	U("itlb_l2_hits", s->itlb_l2_hits);
	U("itlb_misses", s->itlb_misses);
	U("guest_page_faults_child", r->child_faults);
	/* The sampled mode (docs/sampling.md): which mode made the row, and
	 * the 95% interval's half-width of every estimated total (0 in the
	 * exact mode; empty, JSON null, with fewer than two windows). The
	 * columns without one are counted in full in both modes. */
	S("mode", r->smp.sampled ? "sampled" : "exact");
	U("sample_windows", r->smp.windows);
	U("sample_accesses", r->smp.measured);
	U("sample_strata", r->smp.strata);
	for (i = 0; i < ARRAY_SIZE(ci_cols); i++) {
		double v = r->smp.ci95[ci_cols[i].q];

		if (ci_cols[i].per_access)
			v = s->accesses ? v / (double)s->accesses : 0;
		if (ci_cols[i].per_second)
			v /= r->clock_hz;
		if (isnan(v))
			add(fs, false, ci_cols[i].col, "%s", "");
		else
			add(fs, false, ci_cols[i].col, "%.6g", v);
	}
	/* what fast-forward kept warm: "none" or "caches"
	 * (--sample-warming); "-" in the exact mode, which has no
	 * fast-forward (as host_pages is "-" where there is no host) */
	S("sample_warming", !r->smp.sampled ? "-" : r->smp.warm_caches ? "caches" : "none");
}

/* report_kvm_stat_value - statistic i of report_kvm_stat_names, for row r. */
uint64_t report_kvm_stat_value(const struct row *r, unsigned i)
{
	const struct vcpu_stats *s = &r->st;

	switch (i) {
	case KVM_EXITS:		return total_exits(s);
	/* Every #PF exit (shadow) or EPT violation goes to KVM's MMU. */
	case KVM_PF_TAKEN:	return s->exits[EXIT_REASON_EXCEPTION_NMI] +
				       s->exits[EXIT_REASON_EPT_VIOLATION];
	/* A fault fixed by a new or changed leaf: a shadow hidden fault
	 * that changed its leaf, or an EPT violation (it installs one). */
	case KVM_PF_FIXED:	return s->hidden_faults - s->spurious_faults +
				       s->exits[EXIT_REASON_EPT_VIOLATION];
	case KVM_PF_GUEST:	return s->true_faults;
	case KVM_PF_EMULATE:	return s->trace_faults;
	case KVM_PF_SPURIOUS:	return s->spurious_faults;
	case KVM_MMU_FLOODED:	return s->flood_zaps;
	case KVM_MMU_PDE_ZAPPED: return s->pde_zapped;
	case KVM_MMU_SHADOW_ZAPPED: return s->shadow_zapped;
	case KVM_MMU_CACHE_MISS: return s->shadow_created;
	case KVM_MMU_UNSYNC:	return s->unsync_pages - s->resync_pages;
	/* Only an intercepted INVLPG reaches KVM (shadow paging). */
	case KVM_INVLPG:	return s->exits[EXIT_REASON_INVLPG];
	case KVM_PAGES_4K:	return r->mr.leaf_pages[0];
	case KVM_PAGES_2M:	return r->mr.leaf_pages[1];
	case KVM_PAGES_1G:	return r->mr.leaf_pages[2];
	}
	return 0;
}

const char *const report_kvm_stat_names[KVM_NR_STATS] = {
	[KVM_EXITS] = "exits",
	[KVM_PF_TAKEN] = "pf_taken",
	[KVM_PF_FIXED] = "pf_fixed",
	[KVM_PF_GUEST] = "pf_guest",
	[KVM_PF_EMULATE] = "pf_emulate",
	[KVM_PF_SPURIOUS] = "pf_spurious",
	[KVM_MMU_FLOODED] = "mmu_flooded",
	[KVM_MMU_PDE_ZAPPED] = "mmu_pde_zapped",
	[KVM_MMU_SHADOW_ZAPPED] = "mmu_shadow_zapped",
	[KVM_MMU_CACHE_MISS] = "mmu_cache_miss",
	[KVM_MMU_UNSYNC] = "mmu_unsync",
	[KVM_INVLPG] = "invlpg",
	[KVM_PAGES_4K] = "pages_4k",
	[KVM_PAGES_2M] = "pages_2m",
	[KVM_PAGES_1G] = "pages_1g",
};

void report_kvm_stat(FILE *f, const struct row *r)
{
	unsigned order[KVM_NR_STATS], i, j;

	/* kvm_stat -1 prints its statistics sorted by name. */
	for (i = 0; i < KVM_NR_STATS; i++)
		order[i] = i;
	for (i = 1; i < KVM_NR_STATS; i++)
		for (j = i; j > 0 && strcmp(report_kvm_stat_names[order[j - 1]],
					    report_kvm_stat_names[order[j]]) > 0; j--) {
			unsigned t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (i = 0; i < KVM_NR_STATS; i++) {
		uint64_t v = report_kvm_stat_value(r, order[i]);

		fprintf(f, "%-42s%10" PRIu64 "%10" PRIu64 "\n", report_kvm_stat_names[order[i]], v, v);
	}
}

void report_csv_header(FILE *f)
{
	struct fields fs;	/* ~31 KiB: rows are printed from one thread at a time */
	struct row r;
	unsigned i;

	memset(&r, 0, sizeof(r));
	r.workload = r.mmu = r.pages = r.host_pages = r.cpu = r.backing = "";
	r.l1_mmu = r.l1 = "";
	r.clock_hz = 1;
	row_fields(&r, &fs);
	for (i = 0; i < fs.n; i++)
		fprintf(f, "%s%s", i ? "," : "", fs.f[i].name);
	fputc('\n', f);
	fflush(f);
}

void report_csv_row(FILE *f, const struct row *r)
{
	struct fields fs;	/* ~31 KiB: rows are printed from one thread at a time */
	unsigned i;

	row_fields(r, &fs);
	for (i = 0; i < fs.n; i++)
		fprintf(f, "%s%s", i ? "," : "", fs.f[i].val);
	fputc('\n', f);
	fflush(f);
}

/* JSON strings here are our own names and numbers; escape anyway. */
static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

void report_json_row(FILE *f, const struct row *r, bool first)
{
	struct fields fs;	/* ~31 KiB: rows are printed from one thread at a time */
	unsigned i;

	row_fields(r, &fs);
	fputs(first ? "[\n  {" : ",\n  {", f);
	for (i = 0; i < fs.n; i++) {
		fputs(i ? ", " : "", f);
		json_string(f, fs.f[i].name);
		fputs(": ", f);
		if (fs.f[i].string)
			json_string(f, fs.f[i].val);
		else
			fputs(fs.f[i].val[0] ? fs.f[i].val : "null", f);
	}
	fputc('}', f);
	fflush(f);
}

void report_json_end(FILE *f, bool any)
{
	fputs(any ? "\n]\n" : "[]\n", f);
	fflush(f);
}

static double pct(double part, double whole)
{
	return whole > 0 ? 100.0 * part / whole : 0.0;
}

/* Which fields the VMREAD/VMWRITE exits were of, and which MSRs the
 * MSR exits: "VMREAD exits by field: GUEST_PML_INDEX 50.0%, ...". */
static void report_details(FILE *f, const struct vcpu_stats *s)
{
	static const unsigned reasons[] = { EXIT_REASON_VMREAD, EXIT_REASON_VMWRITE,
					    EXIT_REASON_MSR_READ, EXIT_REASON_MSR_WRITE };
	size_t k;
	unsigned i;

	for (k = 0; k < ARRAY_SIZE(reasons); k++) {
		unsigned r = reasons[k];
		bool msr = r == EXIT_REASON_MSR_READ || r == EXIT_REASON_MSR_WRITE;
		bool any = false;

		if (!s->exits[r])
			continue;
		for (i = 0; i < VMM_EXIT_DETAILS; i++) {
			const struct vmm_exit_detail *d = &s->detail[i];
			const char *name;

			if (d->reason != r)
				continue;
			name = msr ? vmm_msr_name(d->key) : vmm_vmcs_field_name(d->key);
			if (!any)
				fprintf(f, "    %s exits by %s: ", vmm_exit_name(r), msr ? "MSR" : "field");
			else
				fprintf(f, ", ");
			if (name)
				fprintf(f, "%s", name);
			else
				fprintf(f, "%#x", d->key);
			fprintf(f, " %.1f%%", pct((double)d->n, (double)s->exits[r]));
			any = true;
		}
		if (any)
			fputc('\n', f);
	}
}

/*
 * The top VM-exits per second, by the level that was running when the
 * hardware exited to L0 ("L1 VMREAD 50451", "L2 CPUID 2083"), then, when
 * nested, L0's time by step and the L1 handler's share.
 */
static void report_levels(FILE *f, const struct row *r)
{
	const struct vcpu_stats *s = &r->st;
	const struct cycle_breakdown *c = &r->cyc;
	double secs = c->total / r->clock_hz;
	struct { unsigned level, reason; uint64_t n; } top[2 * VMM_NR_EXIT_REASONS], t;
	unsigned n = 0, i, j, lv;

	for (lv = 0; lv < 2; lv++)
		for (i = 0; i < VMM_NR_EXIT_REASONS; i++)
			if (s->level_exits[lv][i]) {
				top[n].level = lv + 1;
				top[n].reason = i;
				top[n++].n = s->level_exits[lv][i];
			}
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && top[j].n > top[j - 1].n; j--) {
			t = top[j];
			top[j] = top[j - 1];
			top[j - 1] = t;
		}
	if (!n || secs <= 0)
		return;
	fprintf(f, "  top VM-exits per second, by level (%.0f L2, %.0f L1 exits, "
		"%.0f reflected):\n", (double)sum_exits(s->level_exits[1]),
		(double)sum_exits(s->level_exits[0]), (double)sum_exits(s->reflected));
	for (i = 0; i < n && i < 10; i++) {
		const char *name = vmm_exit_name(top[i].reason);

		fprintf(f, "    L%u %-20s %12.0f\n", top[i].level, name ? name : "?",
			(double)top[i].n / secs);
	}
	report_details(f, s);
	if (!sum_exits(s->level_exits[1]))
		return;
	fprintf(f, "  exits %.0f cycles: transitions %.0f, L0 %.0f; L1 handler %.0f cycles\n",
		c->exit, c->exit_transition, c->exit_l0, c->l1);
	fprintf(f, "    L0 by step:");
	for (i = 0; i < VMM_NESTED_NR_STEPS; i++)
		fprintf(f, "%s %s %.0f (%.1f%%)", i ? "," : "", vmm_nested_step_names[i],
			s->nested_step[i], pct(s->nested_step[i], c->exit_l0));
	fputc('\n', f);
}

void report_summary(FILE *f, const struct row *r)
{
	const struct vcpu_stats *s = &r->st;
	const struct cycle_breakdown *c = &r->cyc;
	uint64_t refs = s->walk_reads + s->walk_ad_writes, exits = total_exits(s);
	double us_per_cycle = 1e6 / r->clock_hz;
	const struct { const char *name; double v; } cats[] = {
		{ "guest user", c->user }, { "guest kernel", c->kernel },
		{ "data memory", c->data }, { "TLB (L2 lookups)", c->tlb },
		{ "page walks", c->walk }, { "VM exits", c->exit },
	};
	unsigned i;

	fprintf(f, "\n%s  mmu=%s pages=%s host-pages=%s cpu=%s backing=%s %s\n",
		r->workload, r->mmu, r->pages, r->host_pages, r->cpu, r->backing, r->params);
	fprintf(f, "  runtime %.6f s modeled (%.4g cycles), %.2f s wall, checksum 0x%016"
		PRIx64 "\n", c->total / r->clock_hz, c->total, r->wall_s, r->checksum);
	fprintf(f, "  %" PRIu64 " data accesses, dTLB miss rate %.3f%%, %" PRIu64
		" walks, %.2f refs/walk, %" PRIu64 " guest #PF\n", s->accesses,
		100.0 * miss_rate(s), s->walks,
		s->walks ? (double)refs / (double)s->walks : 0.0, s->guest_page_faults);
	fprintf(f, "  %-20s %16s %7s\n", "where the time goes", "cycles", "share");
	for (i = 0; i < ARRAY_SIZE(cats); i++)
		fprintf(f, "  %-20s %16.0f %6.2f%%\n", cats[i].name, cats[i].v,
			pct(cats[i].v, c->total));
	fprintf(f, "    of data memory: loads from L1 %.0f, L2 %.0f, LLC %.0f, DRAM %.0f; "
		"stores %.0f\n", c->data_level[MEM_L1], c->data_level[MEM_L2],
		c->data_level[MEM_LLC], c->data_level[MEM_DRAM], c->store);
	if (!exits) {
		fprintf(f, "  no VM exits\n");
		return;
	}
	/* As `perf kvm stat report` lays out exits by reason. */
	fprintf(f, "  %18s %10s %9s %13s %8s %12s\n", "VM-EXIT", "Samples", "Samples%",
		"Time (us)", "Time%", "Avg time");
	for (i = 0; i < VMM_NR_EXIT_REASONS; i++) {
		const char *name;

		if (!s->exits[i])
			continue;
		name = vmm_exit_name(i);
		fprintf(f, "  %18s %10" PRIu64 " %8.2f%% %13.1f %7.2f%% %9.2fus\n",
			name ? name : "?", s->exits[i], pct((double)s->exits[i], (double)exits),
			s->exit_cycles[i] * us_per_cycle, pct(s->exit_cycles[i], c->exit),
			s->exit_cycles[i] * us_per_cycle / (double)s->exits[i]);
	}
	fprintf(f, "  %18s %10" PRIu64 "  (hidden %" PRIu64 ", true %" PRIu64 ", trace %"
		PRIu64 " faults)\n", "Total", exits, s->hidden_faults, s->true_faults,
		s->trace_faults);
	report_levels(f, r);
}

int report_sort_parse(const char *s, enum report_sort *out)
{
	if (strcmp(s, "sample") == 0)
		*out = REPORT_SORT_SAMPLE;
	else if (strcmp(s, "time") == 0)
		*out = REPORT_SORT_TIME;
	else
		return -1;
	return 0;
}

/* perf's KVM_EVENT_NAME_LEN (tools/perf/util/kvm-stat.h): the width of
 * the event name column. */
#define PERF_EVENT_NAME_LEN	40

struct perf_line {
	unsigned	reason;
	uint64_t	n;
	double		time;		/* cycles, all exits of the reason */
};

/* Does a come before b? perf sorts biggest first; equal keys keep
 * exit-reason order here. */
static bool perf_before(const struct perf_line *a, const struct perf_line *b,
			enum report_sort sort)
{
	if (sort == REPORT_SORT_SAMPLE && a->n != b->n)
		return a->n > b->n;
	if (sort == REPORT_SORT_TIME && a->time != b->time)
		return a->time > b->time;
	return a->reason < b->reason;
}

/* Insertion sort: at most VMM_NR_EXIT_REASONS lines. */
static void perf_sort(struct perf_line *l, unsigned n, enum report_sort sort)
{
	unsigned i, j;

	for (i = 1; i < n; i++) {
		struct perf_line x = l[i];

		for (j = i; j > 0 && perf_before(&x, &l[j - 1], sort); j--)
			l[j] = l[j - 1];
		l[j] = x;
	}
}

/*
 * perf's ( +-%7.2f%% ): the standard error of the mean relative to the
 * mean (tools/perf/util/stat.c stddev_stats(), rel_stddev_stats()):
 * sqrt(M2 / (n - 1) / n) / mean, 0 with fewer than two samples.
 */
static double rel_stddev(uint64_t n, double sum, const struct vmm_exit_dist *d)
{
	double dn = (double)n, mean = sum / dn, m2;

	if (n < 2 || mean == 0 || d->min == d->max)
		return 0.0;
	m2 = d->sumsq - sum * mean;
	if (m2 < 0)
		m2 = 0;
	return 100.0 * sqrt(m2 / (dn - 1) / dn) / mean;
}

void report_perf(FILE *f, const struct row *r, enum report_sort sort)
{
	const struct vcpu_stats *s = &r->st;
	const struct cycle_breakdown *c = &r->cyc;
	struct perf_line lines[VMM_NR_EXIT_REASONS];
	double us = 1e6 / r->clock_hz, total_time = 0;
	uint64_t total = 0;
	unsigned i, n = 0;

	for (i = 0; i < VMM_NR_EXIT_REASONS; i++) {
		if (!s->exits[i])
			continue;
		lines[n++] = (struct perf_line){ i, s->exits[i], s->exit_cycles[i] };
		total += s->exits[i];
		total_time += s->exit_cycles[i];
	}
	perf_sort(lines, n, sort);

	fprintf(f, "\n%s  mmu=%s pages=%s host-pages=%s cpu=%s cell=%u %s\n",
		r->workload, r->mmu, r->pages, r->host_pages, r->cpu, r->cell, r->params);
	fprintf(f, "\n\nAnalyze events for all VMs, all VCPUs:\n\n");
	fprintf(f, "%*s ", PERF_EVENT_NAME_LEN, "VM-EXIT");
	fprintf(f, "%10s ", "Samples");
	fprintf(f, "%9s ", "Samples%");
	fprintf(f, "%9s ", "Time%");
	fprintf(f, "%11s ", "Min Time");
	fprintf(f, "%11s ", "Max Time");
	fprintf(f, "%16s ", "Avg time");
	fprintf(f, "\n\n");
	for (i = 0; i < n; i++) {
		const struct perf_line *l = &lines[i];
		const struct vmm_exit_dist *d = &s->exit_dist[l->reason];
		const char *name = vmm_exit_name(l->reason);

		fprintf(f, "%*s ", PERF_EVENT_NAME_LEN, name ? name : "UNKNOWN");
		fprintf(f, "%10" PRIu64 " ", l->n);
		fprintf(f, "%8.2f%% ", pct((double)l->n, (double)total));
		fprintf(f, "%8.2f%% ", pct(l->time, total_time));
		fprintf(f, "%9.2fus ", d->min * us);
		fprintf(f, "%9.2fus ", d->max * us);
		fprintf(f, "%9.2fus ( +-%7.2f%% )", l->time / (double)l->n * us,
			rel_stddev(l->n, l->time, d));
		fprintf(f, "\n");
	}
	fprintf(f, "\nTotal Samples:%" PRIu64 ", Total events handled time:%.2fus.\n\n",
		total, total_time * us);
	fprintf(f, "Faults: hidden %" PRIu64 ", true %" PRIu64 ", trace %" PRIu64
		"; guest #PF %" PRIu64 "\n", s->hidden_faults, s->true_faults,
		s->trace_faults, s->guest_page_faults);
	fprintf(f, "Time: runtime %.6f s modeled (%.0f cycles): user %.2f%%, kernel %.2f%%, "
		"data %.2f%%, tlb %.2f%%, walk %.2f%%, exit %.2f%%\n", c->total / r->clock_hz,
		c->total, pct(c->user, c->total), pct(c->kernel, c->total),
		pct(c->data, c->total), pct(c->tlb, c->total), pct(c->walk, c->total),
		pct(c->exit, c->total));
}
