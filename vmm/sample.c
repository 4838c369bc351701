/*
 * sample.c - the sampled mode: phases, the fast-forward table, and the
 * estimator (sample.h; docs/sampling.md).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm.h"

/* PH_DET runs detailed and counts as it runs; PH_WARM runs detailed to
 * refill what a fast-forward left stale, and is estimated like it. */
enum phase { PH_DET, PH_WARM, PH_WIN, PH_FF, PH_KERN };

/* Counts the estimator replaces that get no interval column: the walk
 * histogram, kept consistent with the estimated walks. */
#define SX_NR	(VMM_WALK_HIST_MAX + 1)

/* A window is measured as SAMPLE_UNITS consecutive units: every stratum
 * that reaches its first window has that many samples to estimate a
 * variance from (docs/sampling.md: consecutive units are correlated, so
 * the interval of a stratum with one window is too narrow). */
#define SAMPLE_UNITS	10u

/* Samples of one stratum: sums for the ratio estimator. */
struct sums {
	uint64_t	n;
	double		sa, saa;		/* accesses per sample: sum, sum of squares */
	double		sx[SQ_NR], sxx[SQ_NR], sxa[SQ_NR];
	double		sh[SX_NR];
};

struct sampler {
	struct sample_cfg cfg;
	uint64_t	unit;			/* accesses per unit: window / SAMPLE_UNITS */
	enum phase	phase;
	unsigned	units_left;		/* of the open window */
	bool		any_ff;			/* a fast-forward has run: caches are stale */
	uint64_t	ff_insns[2];		/* insns_kernel, insns_user when the
						 * fast-forward (re)started */
	uint64_t	ff_left;		/* of this period's fast-forward, while the
						 * kernel runs detailed (PH_KERN) */
	uint64_t	det_after;		/* PH_DET's length after a warm-up */
	uint64_t	win_insns[2];		/* insns_kernel, insns_user at the window's start */
	/* the open window and unit */
	uint64_t	wa0, a0;
	double		w0[SQ_NR], q0[SQ_NR];
	double		wh0[SX_NR], h0[SX_NR];
	/* the open warm-up */
	uint64_t	ma0;
	double		m0[SQ_NR];
	double		mh0[SX_NR];
	/* the open whole-path access of a fast-forward (sample_whole_begin);
	 * ff_stop clears whole: the access left the fast-forward */
	bool		whole;
	uint64_t	pa0;
	double		p0[SQ_NR];
	double		ph0[SX_NR];
	/* the open stratum */
	bool		first;			/* its first window is open */
	uint64_t	ffa;			/* accesses it fast-forwarded or warmed up */
	double		warmx[SQ_NR], warmh[SX_NR];	/* what its warm-ups counted */
	struct sums	fu, wu;			/* its first window's units; its later
						 * windows, one sample each */
	/* the estimates of the closed strata: what their fast-forwards did */
	double		add[SQ_NR], var[SQ_NR];
	double		add_h[SX_NR];
	double		warm_all[SQ_NR], warm_allh[SX_NR];	/* every warm-up's counts,
						 * taken out of the as-run totals */
	uint64_t	strata, units, ff_total;
	bool		no_var;			/* a stratum estimated from one unit */
};

/* The quantities of cpu now. The cycle stack is read live off the core
 * (vcpu_stats.stack is set only by vcpu_finish). */
static void read_q(const struct vcpu *cpu, double q[SQ_NR], double h[SX_NR])
{
	const struct vcpu_stats *s = &cpu->st;
	const core_time *k = cpu->core.stack;
	unsigned l;

	q[SQ_L1_HITS] = (double)s->l1_hits;
	q[SQ_L2_HITS] = (double)s->l2_hits;
	q[SQ_DTLB_MISSES] = (double)s->dtlb_misses;
	q[SQ_WALKS] = (double)s->walks;
	q[SQ_WALK_READS] = (double)s->walk_reads;
	q[SQ_WALK_AD] = (double)s->walk_ad_writes;
	q[SQ_PSC_HITS] = (double)s->psc_hits;
	q[SQ_NTLB_HITS] = (double)s->ntlb_hits;
	q[SQ_ITLB_L2_HITS] = (double)s->itlb_l2_hits;
	q[SQ_ITLB_MISSES] = (double)s->itlb_misses;
	for (l = MEM_L1; l <= MEM_DRAM; l++) {
		q[SQ_LOADS_L1 + l] = (double)s->load_level[l];
		q[SQ_WREFS_L1 + l] = (double)s->mem_refs[HREF_WALK][l];
		q[SQ_VREFS_L1 + l] = (double)s->mem_refs[HREF_VMM][l];
		q[SQ_CYC_DATA_L1 + l] = (double)k[CORE_DATA_L1 + l];
	}
	q[SQ_CYC_STORE] = (double)k[CORE_STORE];
	q[SQ_CYC_TLB] = (double)k[CORE_TLB];
	q[SQ_CYC_WALK] = (double)k[CORE_WALK];
	q[SQ_WALK_REFS] = q[SQ_WALK_READS] + q[SQ_WALK_AD];
	q[SQ_CYC_DATA] = q[SQ_CYC_DATA_L1] + q[SQ_CYC_DATA_L2] + q[SQ_CYC_DATA_LLC] +
			 q[SQ_CYC_DATA_DRAM] + q[SQ_CYC_STORE];
	q[SQ_CYC_EST] = q[SQ_CYC_DATA] + q[SQ_CYC_TLB] + q[SQ_CYC_WALK];
	for (l = 0; l < SX_NR; l++)
		h[l] = (double)s->walk_hist[l];
}

static uint64_t est_u64(double v)
{
	return v <= 0 ? 0 : (uint64_t)llround(v);
}

/* Store the estimates q back into the stats they came from. */
static void write_q(struct vcpu *cpu, const double q[SQ_NR], const double h[SX_NR])
{
	struct vcpu_stats *s = &cpu->st;
	unsigned l;

	s->l1_hits = est_u64(q[SQ_L1_HITS]);
	s->l2_hits = est_u64(q[SQ_L2_HITS]);
	s->dtlb_misses = est_u64(q[SQ_DTLB_MISSES]);
	s->walks = est_u64(q[SQ_WALKS]);
	s->walk_reads = est_u64(q[SQ_WALK_READS]);
	s->walk_ad_writes = est_u64(q[SQ_WALK_AD]);
	s->psc_hits = est_u64(q[SQ_PSC_HITS]);
	s->ntlb_hits = est_u64(q[SQ_NTLB_HITS]);
	s->itlb_l2_hits = est_u64(q[SQ_ITLB_L2_HITS]);
	s->itlb_misses = est_u64(q[SQ_ITLB_MISSES]);
	for (l = MEM_L1; l <= MEM_DRAM; l++) {
		s->load_level[l] = est_u64(q[SQ_LOADS_L1 + l]);
		s->mem_refs[HREF_WALK][l] = est_u64(q[SQ_WREFS_L1 + l]);
		s->mem_refs[HREF_VMM][l] = est_u64(q[SQ_VREFS_L1 + l]);
		s->stack[CORE_DATA_L1 + l] = est_u64(q[SQ_CYC_DATA_L1 + l]);
	}
	s->stack[CORE_STORE] = est_u64(q[SQ_CYC_STORE]);
	s->stack[CORE_TLB] = est_u64(q[SQ_CYC_TLB]);
	s->stack[CORE_WALK] = est_u64(q[SQ_CYC_WALK]);
	for (l = 0; l < SX_NR; l++)
		s->walk_hist[l] = est_u64(h[l]);
}

uint64_t sample_warmup(const struct profile *p)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < MEMSYS_LEVELS; i++)
		if (p->mem.level[i].size && p->mem.level[i].line)
			n += p->mem.level[i].size / p->mem.level[i].line;
	for (i = 0; i < TLB_MAX_ARRAYS; i++)
		n += p->tlb.l1[i].entries + p->tlb.l2[i].entries +
		     p->itlb.l1[i].entries + p->itlb.l2[i].entries;
	for (i = 0; i < 3; i++)
		n += p->tlb.psc[i].entries + p->ept_psc[i].entries;
	n += p->ntlb.entries;
	return 2 * n;
}

int sample_resolve(struct sample_cfg *c, const struct profile *p, char *err, size_t errlen)
{
	if (!c->on)
		return 0;
	if (!c->warmup_given)
		c->warmup = sample_warmup(p);
	if (!c->period)
		c->period = SAMPLE_RATIO * (c->window + c->warmup);
	if (c->period <= c->window + c->warmup) {
		snprintf(err, errlen, "--sample: the period (%llu accesses) must be longer "
			 "than the window plus the warm-up (%llu + %llu for %s)",
			 (unsigned long long)c->period, (unsigned long long)c->window,
			 (unsigned long long)c->warmup, p->name);
		return -1;
	}
	return 0;
}

static void since(const struct vcpu *cpu, const double q0[SQ_NR], const double h0[SX_NR],
		  double x[SQ_NR], double y[SX_NR]);

static void open_unit(struct vcpu *cpu, struct sampler *s)
{
	s->a0 = cpu->st.accesses;
	read_q(cpu, s->q0, s->h0);
	cpu->sample_at = cpu->st.accesses + s->unit;
}

static void open_window(struct vcpu *cpu, struct sampler *s)
{
	s->phase = PH_WIN;
	s->units_left = SAMPLE_UNITS;
	s->wa0 = cpu->st.accesses;
	read_q(cpu, s->w0, s->wh0);
	s->win_insns[0] = cpu->st.insns_kernel;
	s->win_insns[1] = cpu->st.insns_user;
	open_unit(cpu, s);
}

/* Detailed, counted as it runs, for n accesses; then a window. */
static void detailed(struct vcpu *cpu, struct sampler *s, uint64_t n)
{
	if (!n) {
		open_window(cpu, s);
		return;
	}
	s->phase = PH_DET;
	cpu->sample_at = cpu->st.accesses + n;
}

/* A warm-up, then `det` accesses detailed, then a window. */
static void warm(struct vcpu *cpu, struct sampler *s, uint64_t det)
{
	s->det_after = det;
	if (!s->cfg.warmup) {
		detailed(cpu, s, det);
		return;
	}
	s->phase = PH_WARM;
	s->ma0 = cpu->st.accesses;
	read_q(cpu, s->m0, s->mh0);
	cpu->sample_at = cpu->st.accesses + s->cfg.warmup;
}

/* What moved since q0/h0 (a0 accesses then) joins the fast-forward's
 * population: taken out of the stratum's as-run totals, its accesses
 * among those the windows stand for. */
static void to_population(const struct vcpu *cpu, struct sampler *s, const double q0[SQ_NR],
			  const double h0[SX_NR], uint64_t a0)
{
	double x[SQ_NR], y[SX_NR];
	unsigned k;

	since(cpu, q0, h0, x, y);
	for (k = 0; k < SQ_NR; k++)
		s->warmx[k] += x[k];
	for (k = 0; k < SX_NR; k++)
		s->warmh[k] += y[k];
	s->ffa += cpu->st.accesses - a0;
}

/* The open warm-up ends: it joins the population. */
static void end_warm(struct vcpu *cpu, struct sampler *s)
{
	to_population(cpu, s, s->m0, s->mh0, s->ma0);
}

void sample_whole_begin(struct vcpu *cpu)
{
	struct sampler *s = cpu->smp;

	s->whole = true;
	s->pa0 = cpu->st.accesses;
	read_q(cpu, s->p0, s->ph0);
}

void sample_whole_end(struct vcpu *cpu)
{
	struct sampler *s = cpu->smp;

	/* it left the fast-forward (and may have come back after the
	 * guest kernel ran): counted as it ran */
	if (!s || !s->whole)
		return;
	s->whole = false;
	to_population(cpu, s, s->p0, s->ph0, s->pa0);
}

/* One sample of a accesses whose quantities moved by x (h), into u. */
static void add_sample(struct sums *u, double a, const double x[SQ_NR],
		       const double h[SX_NR])
{
	unsigned k;

	if (a <= 0)
		return;
	u->n++;
	u->sa += a;
	u->saa += a * a;
	for (k = 0; k < SQ_NR; k++) {
		u->sx[k] += x[k];
		u->sxx[k] += x[k] * x[k];
		u->sxa[k] += x[k] * a;
	}
	for (k = 0; k < SX_NR; k++)
		u->sh[k] += h[k];
}

/* The moves of the quantities since q0/h0, into x/y. */
static void since(const struct vcpu *cpu, const double q0[SQ_NR], const double h0[SX_NR],
		  double x[SQ_NR], double y[SX_NR])
{
	unsigned k;

	read_q(cpu, x, y);
	for (k = 0; k < SQ_NR; k++)
		x[k] -= q0[k];
	for (k = 0; k < SX_NR; k++)
		y[k] -= h0[k];
}

/*
 * The open unit ends. In a stratum's first window each unit is a sample:
 * they stand for a stratum too short for a second window. After it, a
 * sample is a whole window: units next to each other are correlated,
 * windows a period apart much less, so windows give the honest variance.
 */
static void close_unit(struct vcpu *cpu, struct sampler *s, bool window_ends)
{
	double x[SQ_NR], y[SX_NR];

	if (s->first) {
		since(cpu, s->q0, s->h0, x, y);
		add_sample(&s->fu, (double)(cpu->st.accesses - s->a0), x, y);
		if (window_ends)
			s->first = false;
	}
	if (!window_ends)
		return;
	since(cpu, s->w0, s->wh0, x, y);
	add_sample(&s->wu, (double)(cpu->st.accesses - s->wa0), x, y);
}

/*
 * A stratum begins: the run's start, or a phase the guest marked. Its
 * first period runs detailed and counts as it runs (a stratum shorter
 * than a period is exact, and the start of a phase, where it faults its
 * pages in, is never extrapolated), then its first window. After a
 * fast-forward has left the caches stale, a warm-up comes first.
 */
static void open_stratum(struct vcpu *cpu, struct sampler *s)
{
	uint64_t det = s->cfg.period - s->cfg.window;

	s->first = true;
	s->ffa = 0;
	memset(s->warmx, 0, sizeof(s->warmx));
	memset(s->warmh, 0, sizeof(s->warmh));
	memset(&s->fu, 0, sizeof(s->fu));
	memset(&s->wu, 0, sizeof(s->wu));
	if (s->any_ff)
		warm(cpu, s, det - s->cfg.warmup);
	else
		detailed(cpu, s, det);
}

/*
 * The open stratum ends. What it ran detailed (the first period,
 * windows, the kernel, accesses fast-forward sent down the whole path)
 * was counted as it ran. What it fast-forwarded or warmed up (s->ffa
 * accesses) is estimated at the rate its windows measured: the ratio
 * estimator, with that estimator's variance for simple random sampling
 * (Cochran, Sampling Techniques, 6.8; docs/sampling.md). A stratum with
 * one window takes the variance from that window's units.
 */
static void close_stratum(struct sampler *s)
{
	const struct sums *u = s->wu.n >= 2 ? &s->wu : &s->fu;
	double pop = (double)s->ffa;
	unsigned k;

	for (k = 0; k < SQ_NR; k++)
		s->warm_all[k] += s->warmx[k];
	for (k = 0; k < SX_NR; k++)
		s->warm_allh[k] += s->warmh[k];
	s->strata++;
	s->units += s->fu.n + (s->wu.n ? s->wu.n - 1 : 0) * SAMPLE_UNITS;
	if (!s->ffa)
		return;
	if (u->n == 0) {
		/* warmed up, then ended before a window: keep what it counted */
		for (k = 0; k < SQ_NR; k++)
			s->add[k] += s->warmx[k];
		for (k = 0; k < SX_NR; k++)
			s->add_h[k] += s->warmh[k];
		return;
	}
	s->ff_total += s->ffa;
	for (k = 0; k < SQ_NR; k++) {
		double r = u->sx[k] / u->sa, abar = u->sa / (double)u->n, d2;

		s->add[k] += r * pop;
		if (u->n < 2) {
			s->no_var = true;
			continue;
		}
		d2 = (u->sxx[k] - 2 * r * u->sxa[k] + r * r * u->saa) / (double)(u->n - 1);
		s->var[k] += pop * pop * (d2 > 0 ? d2 : 0) / ((double)u->n * abar * abar);
	}
	for (k = 0; k < SX_NR; k++)
		s->add_h[k] += u->sh[k] / u->sa * pop;
}

int sample_start(struct vcpu *cpu, const struct sample_cfg *c)
{
	struct sampler *s = calloc(1, sizeof(*s));

	cpu->ffm = calloc(FF_SIZE, sizeof(*cpu->ffm));
	if (!s || !cpu->ffm) {
		free(s);
		free(cpu->ffm);
		cpu->ffm = NULL;
		return -1;
	}
	s->cfg = *c;
	s->unit = c->window / SAMPLE_UNITS ? c->window / SAMPLE_UNITS : 1;
	cpu->smp = s;
	cpu->ff = false;
	/* nothing to warm without the cache model (--param cache_model=0) */
	cpu->ff_warm = c->warm_caches && cpu->mmu.mem != NULL;
	open_stratum(cpu, s);
	return 0;
}

/* (Re)start fast-forwarding with `left` accesses to go. */
static void ff_go(struct vcpu *cpu, struct sampler *s, uint64_t left)
{
	s->phase = PH_FF;
	s->any_ff = true;
	cpu->ff = true;
	cpu->sample_at = UINT64_MAX;
	cpu->ff_acc = 0;
	cpu->ff_string = 0;
	cpu->ff_until = left;
	s->ff_insns[0] = cpu->st.insns_kernel;
	s->ff_insns[1] = cpu->st.insns_user;
}

/* The guest kernel never fast-forwards: its work (faults, syscalls, the
 * copies and zero-fills they make) is the phase-like, irregular part of
 * a run, and it runs detailed, counted as it runs. */
static void kernel_detailed(struct vcpu *cpu, struct sampler *s, uint64_t left)
{
	s->phase = PH_KERN;
	s->ff_left = left;
	cpu->sample_at = UINT64_MAX;
}

/*
 * A window has ended: the rest of the period fast-forwards, unless the
 * window ran mostly in the guest kernel, which never fast-forwards; then
 * the period runs detailed (a fast-forward chopped by every syscall
 * would save nothing, and its user stretches are not what the window
 * measured).
 */
static void fast_forward(struct vcpu *cpu, struct sampler *s)
{
	uint64_t left = s->cfg.period - s->cfg.warmup - s->cfg.window;
	uint64_t ki = cpu->st.insns_kernel - s->win_insns[0];
	uint64_t ui = cpu->st.insns_user - s->win_insns[1];

	if (ki > ui) {
		detailed(cpu, s, s->cfg.period - s->cfg.window);
		return;
	}
	if (cpu->mmu.sregs.cpl == 3)
		ff_go(cpu, s, left);
	else
		kernel_detailed(cpu, s, left);
}

/*
 * A fast-forward stops: its accesses into st.accesses, and the dispatch
 * of everything it ran (g_insn's instructions and the accesses) into the
 * core, which in fast-forward saw only the accesses that took the whole
 * path. The base categories of the cycle stack stay exact: instructions
 * times cpi, as in the exact mode.
 */
static void ff_stop(struct vcpu *cpu, struct sampler *s)
{
	uint64_t k = cpu->st.insns_kernel - s->ff_insns[0] - cpu->ff_string;
	uint64_t str = cpu->ff_string;
	uint64_t u = cpu->st.insns_user - s->ff_insns[1] + cpu->ff_acc;
	uint8_t base = core_set_base(&cpu->core, CORE_BASE_KERNEL);

	s->whole = false;
	cpu->st.accesses += cpu->ff_acc;
	s->ffa += cpu->ff_acc;
	cpu->ff_acc = 0;
	cpu->ff = false;
	cpu->ff_string = 0;
	if (k)
		core_insns(&cpu->core, k);
	if (str)
		core_insns_string(&cpu->core, str);
	core_set_base(&cpu->core, CORE_BASE_USER);
	if (u)
		core_insns(&cpu->core, u);
	core_set_base(&cpu->core, base);
}

void sample_step(struct vcpu *cpu)
{
	struct sampler *s = cpu->smp;

	switch (s->phase) {
	case PH_FF:
		ff_stop(cpu, s);
		warm(cpu, s, 0);
		break;
	case PH_KERN:
		break;
	case PH_WARM:
		end_warm(cpu, s);
		detailed(cpu, s, s->det_after);
		break;
	case PH_DET:
		open_window(cpu, s);
		break;
	case PH_WIN:
		close_unit(cpu, s, s->units_left == 1);
		if (--s->units_left)
			open_unit(cpu, s);
		else
			fast_forward(cpu, s);
		break;
	}
}

void sample_cpl(struct vcpu *cpu, uint8_t cpl)
{
	struct sampler *s = cpu->smp;

	if (s->phase == PH_FF && cpl != 3) {
		uint64_t left = cpu->ff_until - cpu->ff_acc;

		ff_stop(cpu, s);
		kernel_detailed(cpu, s, left);
	} else if (s->phase == PH_KERN && cpl == 3) {
		if (s->ff_left)
			ff_go(cpu, s, s->ff_left);
		else
			warm(cpu, s, 0);
	}
}

/* Whatever phase is open, end it where the run is now. */
static void settle(struct vcpu *cpu, struct sampler *s)
{
	if (s->phase == PH_FF)
		ff_stop(cpu, s);
	else if (s->phase == PH_WARM)
		end_warm(cpu, s);
	else if (s->phase == PH_WIN)
		close_unit(cpu, s, true);
	close_stratum(s);
}

void sample_phase(struct vcpu *cpu)
{
	struct sampler *s = cpu->smp;

	if (!s)
		return;
	settle(cpu, s);
	open_stratum(cpu, s);
}

void sample_fill(struct vcpu *cpu, uint64_t va, unsigned idx)
{
	struct tlb *t = &cpu->mmu.tlb;
	uint64_t vpn = va >> PAGE_SHIFT;
	struct tlb_memo *m = &t->memo[vpn & (TLB_MEMO_SIZE - 1)];
	struct ff_entry *e = &cpu->ffm[vpn & (FF_SIZE - 1)];

	/* The memo the access just used or made (tlb_hit_fast's test, without
	 * its LRU update: the fill must not change what the TLB evicts). */
	if (m->vpn != vpn || m->e->gen != m->gen || !((m->e->allow >> idx) & 1u))
		return;
	e->vpn = vpn;
	e->host = cpu->mmu.hmem.base + m->hpa;
	e->gen = t->inval_gen;
	e->allow = m->e->allow;
}

void sample_stop(struct vcpu *cpu)
{
	free(cpu->smp);
	free(cpu->ffm);
	cpu->smp = NULL;
	cpu->ffm = NULL;
	cpu->ff = false;
	cpu->ff_warm = false;
	cpu->sample_at = UINT64_MAX;
}

void sample_finish(struct vcpu *cpu, struct sample_result *out)
{
	struct sampler *s = cpu->smp;
	double q[SQ_NR], h[SX_NR];
	unsigned k;

	memset(out, 0, sizeof(*out));
	if (!s)
		return;
	settle(cpu, s);
	/* a fast-forward's dispatch came after vcpu_finish's drain */
	core_finish(&cpu->core);
	memcpy(cpu->st.stack, cpu->core.stack, sizeof(cpu->st.stack));
	read_q(cpu, q, h);
	for (k = 0; k < SQ_NR; k++)
		q[k] += s->add[k] - s->warm_all[k];
	for (k = 0; k < SX_NR; k++)
		h[k] += s->add_h[k] - s->warm_allh[k];
	out->sampled = true;
	out->warm_caches = cpu->ff_warm;
	out->windows = s->units;
	out->strata = s->strata;
	out->measured = cpu->st.accesses - s->ff_total;
	for (k = 0; k < SQ_NR; k++) {
		out->ci95[k] = s->no_var ? NAN : 1.959964 * sqrt(s->var[k]);
		if (k >= SQ_FIRST_CYCLES)
			out->ci95[k] /= CORE_TICKS;	/* the cycle quantities */
	}
	write_q(cpu, q, h);
	sample_stop(cpu);
}
