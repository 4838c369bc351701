/*
 * base.h - types and invariants every memvirt component shares.
 * Header-only; the one place the address glossary lives.
 */
#ifndef MEMVIRT_BASE_H
#define MEMVIRT_BASE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * Glossary
 *   gva - guest-virtual address (what guest code dereferences)
 *   gpa - guest-physical address (what the guest's page tables point at)
 *   hpa - host-physical address (an offset into the host memory model)
 *   gfn - guest frame number, gpa >> 12
 *   hfn - host frame number, hpa >> 12
 *   gpte/spte/epte - an entry of a guest, shadow or EPT table
 *
 * The typedefs are documentation, not type safety: C gives none for
 * integers. Interfaces name them so a reader knows which space an
 * address lives in.
 */
typedef uint64_t gva_t;
typedef uint64_t gpa_t;
typedef uint64_t hpa_t;
typedef uint64_t gfn_t;
typedef uint64_t hfn_t;

#define PAGE_SHIFT	12
#define PAGE_SIZE	(UINT64_C(1) << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))

/* Page sizes by the level of the leaf entry that maps them. */
#define LEVEL_4K	1
#define LEVEL_2M	2
#define LEVEL_1G	3
#define LEVEL_SHIFT(l)	(PAGE_SHIFT + 9 * ((unsigned)(l) - 1))
#define LEVEL_SIZE(l)	(UINT64_C(1) << LEVEL_SHIFT(l))

#define KiB	(UINT64_C(1) << 10)
#define MiB	(UINT64_C(1) << 20)
#define GiB	(UINT64_C(1) << 30)

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#else
#define likely(x)	(x)
#define unlikely(x)	(x)
#endif

/*
 * BUG_ON: an invariant of the engine itself is broken. Never used for bad
 * input (that is an error return) nor for guest misbehaviour (that is an
 * architectural fault). Prints "function: reason" and aborts.
 */
#define BUG_ON(cond, reason)						\
	do {								\
		if (unlikely(cond)) {					\
			fprintf(stderr, "BUG: %s: %s\n", __func__, reason); \
			abort();					\
		}							\
	} while (0)

/*
 * A named numeric parameter (--param KEY=VALUE): workloads, MMU backends
 * and the VMM declare tables of these, ended by key == NULL.
 */
struct param_spec {
	const char	*key;
	uint64_t	def;
	uint64_t	min;
	uint64_t	max;
	const char	*help;
};

/* Expensive self-checks, compiled in only with -Ddebug_checks=true. */
#ifdef MEMVIRT_DEBUG_CHECKS
#define DEBUG_CHECKS 1
#else
#define DEBUG_CHECKS 0
#endif

/*
 * esc_byte - the byte c as a one-line message shows it: itself when it is
 * printable ASCII, else "\xNN" (control bytes, DEL, bytes >= 0x80).
 * Writes 1 or 4 bytes to out (no NUL) and returns how many.
 */
static inline size_t esc_byte(unsigned char c, char out[4])
{
	static const char hex[] = "0123456789abcdef";

	if (c >= 0x20 && c < 0x7f) {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '\\';
	out[1] = 'x';
	out[2] = hex[c >> 4];
	out[3] = hex[c & 15];
	return 4;
}

#endif /* MEMVIRT_BASE_H */
