/*
 * dist.h - distributions the stats keep beside their counters: the cycles
 * of each exit by reason (min, max, sum of squares, for perf kvm stat's
 * Min/Max/±%) and the references of each page walk (a linear histogram,
 * as KVM's *_hist statistics). Both are fed from the one place vcpu.c
 * counts exits and walks.
 */
#ifndef MEMVIRT_DIST_H
#define MEMVIRT_DIST_H

#include <stdint.h>

/* References per walk: bucket k counts walks that made k references; the
 * last bucket counts VMM_WALK_HIST_MAX references or more. */
#define VMM_WALK_HIST_MAX	32

/* The cycles of the exits of one reason. The count and the sum are the
 * stats' exits[] and exit_cycles[]; this adds what a spread needs. */
struct vmm_exit_dist {
	double		min;		/* cycles of the cheapest exit (0 before any) */
	double		max;		/* cycles of the dearest exit */
	double		sumsq;		/* sum of squared cycles */
};

/* vmm_exit_sample - record one exit costing `cycles` into d (an entry of
 * an array by reason; `first` says it is that reason's first exit). */
static inline void vmm_exit_sample(struct vmm_exit_dist *d, int first, double cycles)
{
	if (first || cycles < d->min)
		d->min = cycles;
	if (first || cycles > d->max)
		d->max = cycles;
	d->sumsq += cycles * cycles;
}

/* vmm_walk_sample - record one page walk that made `refs` references. */
static inline void vmm_walk_sample(uint64_t hist[VMM_WALK_HIST_MAX + 1], uint64_t refs)
{
	hist[refs < VMM_WALK_HIST_MAX ? refs : VMM_WALK_HIST_MAX]++;
}

#endif /* MEMVIRT_DIST_H */
