/*
 * testmem.h - a bounds-checked physical memory for walker tests: a byte
 * array behind the walk_mem hooks, a page allocator for tables, counters
 * of every hook call, and an injectable abort.
 */
#ifndef MEMVIRT_TESTMEM_H
#define MEMVIRT_TESTMEM_H

#include <stdint.h>

#include "walker.h"

struct tmem {
	uint8_t		*buf;		/* the memory, size bytes */
	uint64_t	size;		/* in bytes; pa >= size is no memory */
	uint64_t	next;		/* next free page for tmem_alloc */
	unsigned	reads;		/* read hook calls that found memory */
	unsigned	sets;		/* set hook calls that found memory */
	unsigned	oob_reads;	/* read hook calls outside the array */
	unsigned	oob_sets;	/* set hook calls outside the array */
	unsigned	misaligned;	/* hook calls with pa % 8 != 0 */
	int		abort_read;	/* abort the read with this 1-based number; 0 never */
	int		abort_set;	/* abort the set with this 1-based number; 0 never */
	int		abort_code;	/* what an injected abort returns (< 0) */
	unsigned	read_calls;	/* every read hook call, aborts included */
	unsigned	set_calls;	/* every set hook call, aborts included */
	struct walk_mem	mem;		/* hooks bound to this memory */
};

/* Allocate size bytes (a page multiple) of zeroed memory; page 0 is left unused. */
void tmem_init(struct tmem *tm, uint64_t size);
void tmem_fini(struct tmem *tm);

/* A zeroed page from the array, or aborts the test when the array is full. */
uint64_t tmem_alloc(struct tmem *tm);

/* Direct access for the test itself (not counted). pa must be in range. */
uint64_t tmem_get(const struct tmem *tm, uint64_t pa);
void tmem_put(struct tmem *tm, uint64_t pa, uint64_t val);

/* Reset the hook counters and injected aborts. */
void tmem_reset_counts(struct tmem *tm);

/*
 * Map va -> pa with a leaf at leaf_level under root (a table address),
 * creating missing tables below `levels`. Non-leaf entries get table |
 * upper; the leaf gets (pa aligned) | leaf_flags, plus bit 7 when
 * leaf_level > 1 (PS for x86, large for EPT). Returns the leaf entry's pa.
 * A non-zero non-leaf entry on the way is followed as is.
 */
uint64_t tmem_map(struct tmem *tm, uint64_t root, unsigned levels, uint64_t va,
		  uint64_t pa, unsigned leaf_level, uint64_t upper,
		  uint64_t leaf_flags);

/* Fill r's inputs for a walk over this memory (start point cleared). */
void tmem_req(struct tmem *tm, struct walk_req *r, enum walk_fmt fmt,
	      const struct walk_mode *mode, uint64_t root, uint64_t addr,
	      unsigned access);

/*
 * walk_run(r) plus the bookkeeping every walk must satisfy, asserted: refs =
 * reads + ad_writes, reads = hook reads that returned an entry (in range
 * or not), ad_writes = set calls that landed, nothing written on a fault
 * or misconfiguration, no misaligned access, no write outside the array.
 */
enum walk_result tmem_walk(struct tmem *tm, struct walk_req *r);

/* The pa of the entry for va at this level, following present tables. */
uint64_t tmem_entry_pa(const struct tmem *tm, uint64_t root, unsigned levels,
		       uint64_t va, unsigned level);

#endif /* MEMVIRT_TESTMEM_H */
