/*
 * profile.c - CPU profiles: the loader of profiles/NAME.profile files
 * (line-oriented `key = value`, format in profiles/README.md), the
 * directory they are looked up in, and the listing for `vmm --list`.
 */
#include <asm/vmx.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm.h"

#ifndef MEMVIRT_SOURCE_ROOT
#error "MEMVIRT_SOURCE_ROOT (the source tree) must be defined by the build"
#endif

#define PROFILE_SUFFIX		".profile"
#define PROFILE_LINE_MAX	1024		/* bytes of a line, newline excluded */
#define PROFILE_COST_MAX	1e9		/* cycles: anything above is a typo */
#define PROFILE_ENTRIES_MAX	(1u << 20)	/* entries of one TLB array or cache */
#define PROFILE_WAYS_MAX	128		/* ways a lookup scans: bounds each access's cost */
#define PROFILE_MAX_TOKENS	4		/* ENTRIES WAYS SIZES POLICY */
#define PROFILE_FILE_MAX	(256 * 1024)	/* bytes of a whole profile */
#define PROFILE_LINES_MAX	4096		/* lines of a whole profile */

/* ------------------------------------------------------------------ */
/* The keys                                                            */
/* ------------------------------------------------------------------ */

enum key_kind {
	KEY_STRING,	/* the rest of the line, no control characters */
	KEY_NUMBER,	/* decimal double in [lo, hi], stored times scale */
	KEY_UINT,	/* decimal unsigned in [lo, hi] */
	KEY_BOOL,	/* 0 or 1 */
	KEY_TLB,	/* ENTRIES WAYS SIZES [lru|random] */
	KEY_CACHE,	/* ENTRIES WAYS, 0 0 = absent */
	KEY_MEMCACHE,	/* SIZE WAYS LATENCY, 0 0 0 = absent (where allowed) */
};

struct key {
	const char	*name;
	enum key_kind	kind;
	size_t		off;		/* of the field in struct profile */
	size_t		size;		/* KEY_STRING: size of the char array */
	double		lo, hi;		/* KEY_NUMBER, KEY_UINT: accepted range */
	double		scale;		/* KEY_NUMBER: stored = parsed * scale */
	bool		required;
};

#define FIELD(f)	offsetof(struct profile, f)
#define STRING(n, f)	{ n, KEY_STRING, FIELD(f), sizeof(((struct profile *)0)->f), 0, 0, 0, true }
#define NUMBER(n, f, lo, hi, scale) { n, KEY_NUMBER, FIELD(f), 0, lo, hi, scale, true }
#define COST(n, f)	NUMBER(n, costs.f, 0, PROFILE_COST_MAX, 1)
#define UINT(n, f, lo, hi) { n, KEY_UINT, FIELD(f), 0, lo, hi, 0, true }
#define BOOL(n, f)	{ n, KEY_BOOL, FIELD(f), 0, 0, 0, 0, true }
#define TLB(n, f, req)	{ n, KEY_TLB, FIELD(f), 0, 0, 0, 0, req }
#define CACHE(n, f)	{ n, KEY_CACHE, FIELD(f), 0, 0, 0, 0, true }
#define OPT_BOOL(n, f)	{ n, KEY_BOOL, FIELD(f), 0, 0, 0, 0, false }
#define OPT_COST(n, f)	{ n, KEY_NUMBER, FIELD(f), 0, 0, PROFILE_COST_MAX, 1, false }
#define MEMCACHE(n, f, req) { n, KEY_MEMCACHE, FIELD(f), 0, 0, 0, 0, req }

/*
 * Every key but exit_handler.NAME. The TLB rows must stay in index
 * order (tlb.l1.0 .. tlb.l1.3, then tlb.l2.*): check_arrays() relies
 * on it. Required keys are reported missing in this order.
 */
static const struct key keys[] = {
	STRING("name", name),
	STRING("description", desc),
	NUMBER("clock_ghz", clock_hz, 0.1, 10, 1e9),
	UINT("maxphyaddr", maxphyaddr, 32, 52),
	BOOL("vpid", vpid),
	BOOL("pcid", pcid),
	BOOL("gbpages", gbpages),
	BOOL("ept_ad", ept_ad),
	TLB("tlb.l1.0", tlb.l1[0], true),
	TLB("tlb.l1.1", tlb.l1[1], false),
	TLB("tlb.l1.2", tlb.l1[2], false),
	TLB("tlb.l1.3", tlb.l1[3], false),
	TLB("tlb.l2.0", tlb.l2[0], false),
	TLB("tlb.l2.1", tlb.l2[1], false),
	TLB("tlb.l2.2", tlb.l2[2], false),
	TLB("tlb.l2.3", tlb.l2[3], false),
	CACHE("psc.pde", tlb.psc[0]),
	CACHE("psc.pdpte", tlb.psc[1]),
	CACHE("psc.pml4e", tlb.psc[2]),
	CACHE("ntlb", ntlb),
	CACHE("ept_psc.pde", ept_psc[0]),
	CACHE("ept_psc.pdpte", ept_psc[1]),
	CACHE("ept_psc.pml4e", ept_psc[2]),
	COST("cpi", cpi),
	OPT_COST("kernel_cpi", costs.kernel_cpi),
	COST("l1d_hit", l1d_hit),
	COST("tlb_l2_hit", tlb_l2_hit),
	COST("walk_ref", walk_ref),
	COST("pf_delivery", pf_delivery),
	COST("syscall", syscall),
	COST("exit_roundtrip", exit_roundtrip),
	COST("vmm_ref", vmm_ref),
	/* the core timing model's resources (core/core.h) */
	UINT("rob", core.rob, 1, CORE_ROB_MAX),
	UINT("store_buffer", core.store_buffer, 1, CORE_SB_MAX),
	UINT("store_rfos", core.store_rfos, 1, CORE_SB_MAX),
	UINT("mshrs", core.mshrs, 1, CORE_MSHR_MAX),
	UINT("walkers", core.walkers, 1, CORE_WALKERS_MAX),
	/* the memory model; the line size and the latency order are
	 * checked once the file is read (check_caches) */
	MEMCACHE("cache.l1d", mem.level[MEM_L1], true),
	MEMCACHE("cache.l2", mem.level[MEM_L2], true),
	MEMCACHE("cache.llc", mem.level[MEM_LLC], false),
	UINT("cache.line", mem.level[MEM_L1].line, 8, 4096),
	NUMBER("dram_latency", mem.dram_latency, 0, PROFILE_COST_MAX, 1),
	OPT_BOOL("walk_skips_l1d", mem.walk_skips_l1),
	/* nested virtualization (issue 15): optional, 0 when absent; every
	 * shipped profile sets them */
	OPT_BOOL("vmx", vmx),
	OPT_BOOL("vmcs_shadowing", vmcs_shadowing),
	OPT_COST("nested.reflect", nested.reflect),
	OPT_COST("nested.shadow_field", nested.shadow_field),
	OPT_COST("nested.vmentry", nested.vmentry),
	OPT_COST("nested.prepare_full", nested.prepare_full),
	OPT_COST("nested.prepare_light", nested.prepare_light),
	OPT_COST("nested.msr_merge_bit", nested.msr_merge_bit),
	OPT_COST("nested.msr_merge_word", nested.msr_merge_word),
	OPT_COST("nested.msr_bitmap_memset", nested.msr_bitmap_memset),
	OPT_COST("nested.debugctl_read", nested.debugctl_read),
	OPT_COST("nested.vmcs_shadow_access", nested.vmcs_shadow_access),
	/* the instruction TLB (optional: without it fetches use tlb.*) */
	TLB("itlb.l1.0", itlb.l1[0], false),
	TLB("itlb.l1.1", itlb.l1[1], false),
	TLB("itlb.l2.0", itlb.l2[0], false),
	TLB("itlb.l2.1", itlb.l2[1], false),
};

#define KEY_TLB_L1	8	/* index of tlb.l1.0 in keys[] */
#define KEY_TLB_L2	12	/* index of tlb.l2.0 in keys[] */

#define EXIT_HANDLER_PREFIX	"exit_handler."

/* The exit reasons by name, straight from <asm/vmx.h>. */
static const struct {
	unsigned	code;
	const char	*name;
} vmx_exit_reasons[] = { VMX_EXIT_REASONS };

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

struct parser {
	const char	*path;
	const char	*stem;			/* file name without .profile */
	size_t		stem_len;
	unsigned	line;			/* current line, 1-based */
	char		*err;
	size_t		errlen;
	unsigned	seen[ARRAY_SIZE(keys)];	/* line a key was on, 0: not yet */
	unsigned	exit_seen[VMM_NR_EXIT_REASONS];
	struct profile	p;
};

/*
 * shown - s made safe to quote in a one-line message: control bytes and
 * bytes >= 0x80 become \xNN, and past SHOWN_MAX output bytes it is cut
 * with "...".
 */
#define SHOWN_MAX	40
static const char *shown(const char *s, char buf[SHOWN_MAX + 4])
{
	size_t i, o = 0;

	for (i = 0; s[i] != '\0'; i++) {
		char tmp[4];
		size_t k = esc_byte((unsigned char)s[i], tmp);

		if (o + k > SHOWN_MAX)
			break;
		memcpy(buf + o, tmp, k);
		o += k;
	}
	if (s[i] != '\0') {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/*
 * fail - write the one error line "PATH:LINE: key 'KEY': MESSAGE" into
 * the caller's buffer ("PATH:LINE: MESSAGE" without a key, "PATH: ..."
 * when line is 0). Returns -1 for the caller to pass up.
 */
__attribute__((format(printf, 4, 5)))
static int fail(const struct parser *ps, unsigned line, const char *key,
		const char *fmt, ...)
{
	char msg[256], kbuf[SHOWN_MAX + 4], where[32] = "";
	va_list ap;

	if (ps->err == NULL || ps->errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(where, sizeof(where), ":%u", line);
	if (key != NULL)
		snprintf(ps->err, ps->errlen, "%s%s: key '%s': %s", ps->path, where,
			 shown(key, kbuf), msg);
	else
		snprintf(ps->err, ps->errlen, "%s%s: %s", ps->path, where, msg);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Values                                                              */
/* ------------------------------------------------------------------ */

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char *trim(char *s)
{
	char *e;

	while (is_space(*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_space(e[-1]))
		*--e = '\0';
	return s;
}

/* split - cut s in place at blanks into at most max tokens. Returns the
 * number of tokens, or max + 1 when more follow (tok[max] is the first
 * extra one). */
static unsigned split(char *s, char *tok[], unsigned max)
{
	unsigned n = 0;

	for (;;) {
		while (is_space(*s))
			s++;
		if (*s == '\0')
			return n;
		tok[n++] = s;
		if (n == max + 1)
			return n;
		while (*s != '\0' && !is_space(*s))
			s++;
		if (*s != '\0')
			*s++ = '\0';
	}
}

/*
 * parse_double - a plain decimal number: digits, '.', exponent, sign.
 * strtod alone would take "nan", "inf" and hex floats. Returns 0, -1 if
 * s is no number, -2 if it overflows or underflows a double.
 */
static int parse_double(const char *s, double *out)
{
	const char *c;
	char *end;
	double v;

	if (!is_digit(*s) && *s != '.' && *s != '-' && *s != '+')
		return -1;
	for (c = s; *c != '\0'; c++)
		if (!is_digit(*c) && strchr(".eE+-", *c) == NULL)
			return -1;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0')
		return -1;
	if (errno == ERANGE || !isfinite(v))
		return -2;
	*out = v;
	return 0;
}

/* parse_uint - decimal digits only. Returns 0, -1 if s is no number,
 * -2 if it does not fit 32 bits. */
static int parse_uint(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	const char *c;

	if (*s == '\0')
		return -1;
	for (c = s; *c != '\0'; c++) {
		if (!is_digit(*c))
			return -1;
		v = v * 10 + (uint64_t)(*c - '0');
		if (v > UINT32_MAX)
			return -2;
	}
	*out = (uint32_t)v;
	return 0;
}

static bool is_pow2(uint32_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

/*
 * parse_geometry - "ENTRIES WAYS" from tok[0..1] into g. A TLB array
 * must have entries; a cache may be "0 0" (absent). Otherwise entries
 * must be ways times a power of two (the number of sets).
 */
static int parse_geometry(struct parser *ps, const char *key, char *tok[],
			  bool may_be_absent, struct tc_geom *g)
{
	char buf[SHOWN_MAX + 4];
	uint32_t v[2];
	int i, r;

	for (i = 0; i < 2; i++) {
		r = parse_uint(tok[i], &v[i]);
		if (r == -1)
			return fail(ps, ps->line, key, "expected a number, got '%s'",
				    shown(tok[i], buf));
		if (r == -2 || v[i] > PROFILE_ENTRIES_MAX)
			return fail(ps, ps->line, key, "%s %s out of range 0..%u",
				    i == 0 ? "entries" : "ways", shown(tok[i], buf),
				    PROFILE_ENTRIES_MAX);
	}
	g->entries = v[0];
	g->ways = v[1];
	if (v[0] == 0 && v[1] == 0) {
		if (may_be_absent)
			return 0;
		return fail(ps, ps->line, key, "a TLB array needs at least 1 entry "
			    "(0 0 means absent only for caches)");
	}
	if (v[1] == 0)
		return fail(ps, ps->line, key, "ways must be at least 1");
	if (v[1] > PROFILE_WAYS_MAX)
		return fail(ps, ps->line, key, "ways %u above %u, the most modeled (every "
			    "lookup scans all ways)", v[1], PROFILE_WAYS_MAX);
	if (v[0] % v[1] != 0 || !is_pow2(v[0] / v[1]))
		return fail(ps, ps->line, key,
			    "entries %u is not ways %u times a power of two", v[0], v[1]);
	return 0;
}

/* parse_sizes - "4k,2m,1g" (any non-empty subset, each once) into a
 * bitmask of levels. */
static int parse_sizes(struct parser *ps, const char *key, char *s, uint8_t *mask)
{
	static const struct { const char *name; unsigned level; } size_names[] = {
		{ "4k", LEVEL_4K }, { "2m", LEVEL_2M }, { "1g", LEVEL_1G },
	};
	char buf[SHOWN_MAX + 4];
	unsigned m = 0;

	for (;;) {
		char *comma = strchr(s, ',');
		size_t i;

		if (comma != NULL)
			*comma = '\0';
		for (i = 0; i < ARRAY_SIZE(size_names); i++)
			if (strcmp(s, size_names[i].name) == 0)
				break;
		if (i == ARRAY_SIZE(size_names))
			return fail(ps, ps->line, key, "unknown page size '%s' (4k, 2m, 1g)",
				    shown(s, buf));
		if (m & (1u << size_names[i].level))
			return fail(ps, ps->line, key, "page size '%s' listed twice", s);
		m |= 1u << size_names[i].level;
		if (comma == NULL)
			break;
		s = comma + 1;
	}
	*mask = (uint8_t)m;
	return 0;
}

static int parse_tlb(struct parser *ps, const char *key, char *value, struct tc_geom *g)
{
	char *tok[PROFILE_MAX_TOKENS + 1], buf[SHOWN_MAX + 4];
	unsigned n = split(value, tok, PROFILE_MAX_TOKENS);

	if (n > PROFILE_MAX_TOKENS)
		return fail(ps, ps->line, key, "trailing garbage '%s'",
			    shown(tok[PROFILE_MAX_TOKENS], buf));
	if (n < 3)
		return fail(ps, ps->line, key, "expected 'ENTRIES WAYS SIZES [lru|random]'");
	if (parse_geometry(ps, key, tok, false, g) < 0 ||
	    parse_sizes(ps, key, tok[2], &g->sizes) < 0)
		return -1;
	g->repl = TC_REPL_LRU;
	if (n == 4) {
		if (strcmp(tok[3], "random") == 0)
			g->repl = TC_REPL_RANDOM;
		else if (strcmp(tok[3], "lru") != 0)
			return fail(ps, ps->line, key,
				    "unknown replacement policy '%s' (lru, random)",
				    shown(tok[3], buf));
	}
	return 0;
}

static int parse_cache(struct parser *ps, const char *key, char *value, struct tc_geom *g)
{
	char *tok[3], buf[SHOWN_MAX + 4];
	unsigned n = split(value, tok, 2);

	if (n > 2)
		return fail(ps, ps->line, key, "trailing garbage '%s'", shown(tok[2], buf));
	if (n < 2)
		return fail(ps, ps->line, key, "expected 'ENTRIES WAYS'");
	g->sizes = 0;
	g->repl = TC_REPL_LRU;
	return parse_geometry(ps, key, tok, true, g);
}

/*
 * parse_size - bytes, optionally with a k or m suffix (KiB, MiB):
 * "32k", "8m", "65536". Returns 0, -1 if s is no size, -2 if it does
 * not fit 32 bits.
 */
static int parse_size(const char *s, uint32_t *out)
{
	char digits[16];
	size_t len = strlen(s);
	uint64_t mult = 1;
	uint32_t v;
	int r;

	if (len > 0 && (s[len - 1] == 'k' || s[len - 1] == 'K'))
		mult = KiB;
	else if (len > 0 && (s[len - 1] == 'm' || s[len - 1] == 'M'))
		mult = MiB;
	if (mult != 1)
		len--;
	if (len == 0 || len >= sizeof(digits))
		return len == 0 ? -1 : -2;
	memcpy(digits, s, len);
	digits[len] = '\0';
	r = parse_uint(digits, &v);
	if (r < 0)
		return r;
	if ((uint64_t)v * mult > UINT32_MAX)
		return -2;
	*out = (uint32_t)(v * mult);
	return 0;
}

/*
 * parse_memcache - "SIZE WAYS LATENCY" of one level of the memory model
 * into g (its line comes from cache.line later). "0 0 0" is an absent
 * level, allowed where may_be_absent.
 */
static int parse_memcache(struct parser *ps, const char *key, char *value,
			  bool may_be_absent, struct cache_geom *g)
{
	char *tok[4], buf[SHOWN_MAX + 4];
	unsigned n = split(value, tok, 3);
	uint32_t size, ways;
	double lat;
	int r;

	if (n > 3)
		return fail(ps, ps->line, key, "trailing garbage '%s'", shown(tok[3], buf));
	if (n < 3)
		return fail(ps, ps->line, key, "expected 'SIZE WAYS LATENCY' (e.g. '32k 8 4')");
	r = parse_size(tok[0], &size);
	if (r == -1)
		return fail(ps, ps->line, key, "expected a size (bytes, or with a k or m "
			    "suffix), got '%s'", shown(tok[0], buf));
	if (r == -2)
		return fail(ps, ps->line, key, "size %s out of range (below 4 GiB)",
			    shown(tok[0], buf));
	r = parse_uint(tok[1], &ways);
	if (r == -1)
		return fail(ps, ps->line, key, "expected a number of ways, got '%s'",
			    shown(tok[1], buf));
	if (r == -2 || ways > PROFILE_ENTRIES_MAX)
		return fail(ps, ps->line, key, "ways %s out of range 0..%u",
			    shown(tok[1], buf), PROFILE_ENTRIES_MAX);
	r = parse_double(tok[2], &lat);
	if (r == -1)
		return fail(ps, ps->line, key, "expected a latency in cycles, got '%s'",
			    shown(tok[2], buf));
	if (r == -2 || lat < 0 || lat > PROFILE_COST_MAX)
		return fail(ps, ps->line, key, "latency %s out of range 0..%g",
			    shown(tok[2], buf), PROFILE_COST_MAX);
	if (ways > PROFILE_WAYS_MAX)
		return fail(ps, ps->line, key, "ways %u above %u, the most modeled (every "
			    "lookup scans all ways)", ways, PROFILE_WAYS_MAX);
	if (size == 0 || ways == 0) {
		if (size != 0 || ways != 0 || lat != 0)
			return fail(ps, ps->line, key, "an absent level is written '0 0 0'");
		if (!may_be_absent)
			return fail(ps, ps->line, key, "cannot be absent (only cache.llc may be '0 0 0')");
	}
	g->size = size;
	g->ways = ways;
	g->latency = lat;
	return 0;
}

/* parse_scalar - one token: a number, an unsigned or a 0/1 flag. */
static int parse_scalar(struct parser *ps, const struct key *k, char *value)
{
	char *tok[2], buf[SHOWN_MAX + 4];
	char *field = (char *)&ps->p + k->off;
	uint32_t u;
	double d;
	int r;

	if (split(value, tok, 1) > 1)
		return fail(ps, ps->line, k->name, "trailing garbage '%s'", shown(tok[1], buf));
	switch (k->kind) {
	case KEY_NUMBER:
		r = parse_double(tok[0], &d);
		if (r == -1)
			return fail(ps, ps->line, k->name, "expected a number, got '%s'",
				    shown(tok[0], buf));
		if (r == -2 || d < k->lo || d > k->hi)
			return fail(ps, ps->line, k->name, "%s out of range %g..%g",
				    shown(tok[0], buf), k->lo, k->hi);
		*(double *)(void *)field = d * k->scale;
		return 0;
	case KEY_UINT:
		r = parse_uint(tok[0], &u);
		if (r == -1)
			return fail(ps, ps->line, k->name, "expected a number, got '%s'",
				    shown(tok[0], buf));
		if (r == -2 || u < k->lo || u > k->hi)
			return fail(ps, ps->line, k->name, "%s out of range %g..%g",
				    shown(tok[0], buf), k->lo, k->hi);
		*(unsigned *)(void *)field = u;
		return 0;
	case KEY_BOOL:
		if (strcmp(tok[0], "0") != 0 && strcmp(tok[0], "1") != 0)
			return fail(ps, ps->line, k->name, "expected 0 or 1, got '%s'",
				    shown(tok[0], buf));
		*(bool *)(void *)field = tok[0][0] == '1';
		return 0;
	default:
		BUG_ON(1, "not a scalar key");
		return -1;
	}
}

static int parse_string(struct parser *ps, const struct key *k, const char *value)
{
	char *field = (char *)&ps->p + k->off;
	size_t len = strlen(value), i;

	for (i = 0; i < len; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
			return fail(ps, ps->line, k->name, "control character in value");
	if (len >= k->size)
		return fail(ps, ps->line, k->name, "longer than %zu bytes", k->size - 1);
	if (k->off == FIELD(name) &&
	    (len != ps->stem_len || memcmp(value, ps->stem, len) != 0)) {
		char buf[SHOWN_MAX + 4];

		return fail(ps, ps->line, k->name,
			    "'%s' does not match the file name (expected '%.*s')",
			    shown(value, buf), (int)ps->stem_len, ps->stem);
	}
	memcpy(field, value, len + 1);
	return 0;
}

/* exit_reason - the code of exit_handler.NAME, NAME being the lowercased
 * <asm/vmx.h> name; -1 if there is none. */
static int exit_reason(const char *name)
{
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(vmx_exit_reasons); i++) {
		const char *t = vmx_exit_reasons[i].name;

		for (j = 0; t[j] != '\0' && name[j] != '\0'; j++) {
			char lower = (t[j] >= 'A' && t[j] <= 'Z') ? (char)(t[j] - 'A' + 'a') : t[j];

			if (lower != name[j])
				break;
		}
		if (t[j] == '\0' && name[j] == '\0')
			return (int)vmx_exit_reasons[i].code;
	}
	return -1;
}

static int parse_exit_handler(struct parser *ps, const char *key, char *value)
{
	const char *reason = key + strlen(EXIT_HANDLER_PREFIX);
	int code = exit_reason(reason);
	struct key k = NUMBER(NULL, costs, 0, PROFILE_COST_MAX, 1);
	char buf[SHOWN_MAX + 4];

	if (code < 0)
		return fail(ps, ps->line, key, "unknown exit reason '%s' "
			    "(a lowercased EXIT_REASON_* name of <asm/vmx.h>)",
			    shown(reason, buf));
	if (code >= VMM_NR_EXIT_REASONS)
		return fail(ps, ps->line, key, "exit reason %d is not modeled "
			    "(codes below %d are)", code, VMM_NR_EXIT_REASONS);
	if (ps->exit_seen[code] != 0)
		return fail(ps, ps->line, key, "duplicate key (first on line %u)",
			    ps->exit_seen[code]);
	ps->exit_seen[code] = ps->line;
	k.name = key;
	k.off = FIELD(costs.exit_handler) + (size_t)code * sizeof(double);
	return parse_scalar(ps, &k, value);
}

/* ------------------------------------------------------------------ */
/* Lines                                                               */
/* ------------------------------------------------------------------ */

/* key_of - the key a raw (maybe broken) line begins with, for messages:
 * the text before '=' (or the first word), trimmed; NULL if empty. */
static const char *key_of(char *line)
{
	char *eq = strchr(line, '='), *k;

	if (eq != NULL)
		*eq = '\0';
	k = trim(line);
	k[strcspn(k, " \t#")] = '\0';
	return *k != '\0' ? k : NULL;
}

static int parse_line(struct parser *ps, char *line)
{
	char *eq, *key, *value;
	size_t i;

	line[strcspn(line, "#")] = '\0';
	line = trim(line);
	if (*line == '\0')
		return 0;
	eq = strchr(line, '=');
	if (eq == NULL)
		return fail(ps, ps->line, key_of(line), "missing '=' (expected 'key = value')");
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	if (*key == '\0')
		return fail(ps, ps->line, NULL, "missing key before '='");
	if (*value == '\0')
		return fail(ps, ps->line, key, "empty value");

	if (strncmp(key, EXIT_HANDLER_PREFIX, strlen(EXIT_HANDLER_PREFIX)) == 0)
		return parse_exit_handler(ps, key, value);
	for (i = 0; i < ARRAY_SIZE(keys); i++)
		if (strcmp(key, keys[i].name) == 0)
			break;
	if (i == ARRAY_SIZE(keys))
		return fail(ps, ps->line, key, "unknown key");
	if (ps->seen[i] != 0)
		return fail(ps, ps->line, key, "duplicate key (first on line %u)", ps->seen[i]);
	ps->seen[i] = ps->line;

	switch (keys[i].kind) {
	case KEY_STRING:
		return parse_string(ps, &keys[i], value);
	case KEY_TLB:
		return parse_tlb(ps, key, value, (struct tc_geom *)(void *)((char *)&ps->p + keys[i].off));
	case KEY_CACHE:
		return parse_cache(ps, key, value, (struct tc_geom *)(void *)((char *)&ps->p + keys[i].off));
	case KEY_MEMCACHE:
		return parse_memcache(ps, key, value, !keys[i].required,
				      (struct cache_geom *)(void *)((char *)&ps->p + keys[i].off));
	default:
		return parse_scalar(ps, &keys[i], value);
	}
}

/*
 * read_line - the next line of f into buf (size PROFILE_LINE_MAX + 1),
 * newline and a CR before it dropped. Returns 1 for a line, 0 at end of
 * file, -1 on a read error. A longer line is read to its end and cut,
 * with *too_long set; NUL bytes are kept out of buf (as '?') and flagged.
 */
static int read_line(FILE *f, char *buf, bool *too_long, bool *has_nul)
{
	size_t len = 0, consumed = 0;
	int c = 0;

	*too_long = *has_nul = false;
	/* consumed bounds a line even in a file that grows as it is read */
	while (consumed++ <= PROFILE_FILE_MAX && (c = getc(f)) != EOF && c != '\n') {
		if (c == '\0') {
			*has_nul = true;
			c = '?';
		}
		if (len < PROFILE_LINE_MAX)
			buf[len++] = (char)c;
		else
			*too_long = true;
	}
	if (ferror(f))
		return -1;
	if (c == EOF && len == 0 && !*too_long)
		return 0;
	if (len > 0 && buf[len - 1] == '\r' && !*too_long)
		len--;
	buf[len] = '\0';
	return 1;
}

/* ------------------------------------------------------------------ */
/* Whole-file checks                                                   */
/* ------------------------------------------------------------------ */

/* The index in keys[] of itlb.l1.0 (the instruction-TLB rows follow it:
 * itlb.l1.0, itlb.l1.1, itlb.l2.0, itlb.l2.1). */
static unsigned key_first_itlb(void)
{
	return (unsigned)ARRAY_SIZE(keys) - 4;
}

/* TLB arrays are numbered from 0 without gaps; 1G entries need gbpages;
 * some L1 array must hold 4K pages. */
static int check_arrays(struct parser *ps)
{
	static const unsigned first[2] = { KEY_TLB_L1, KEY_TLB_L2 };
	const struct tc_geom *l1 = ps->p.tlb.l1;
	unsigned lvl, i, holds_4k = 0;

	for (lvl = 0; lvl < 2; lvl++) {
		for (i = 1; i < TLB_MAX_ARRAYS; i++) {
			unsigned k = first[lvl] + i;

			if (ps->seen[k] != 0 && ps->seen[k - 1] == 0)
				return fail(ps, ps->seen[k], keys[k].name,
					    "arrays are numbered from 0 without gaps, "
					    "but there is no '%s'", keys[k - 1].name);
		}
	}
	for (i = 0; i < 2 * TLB_MAX_ARRAYS; i++) {
		unsigned k = KEY_TLB_L1 + i;
		const struct tc_geom *g = (const struct tc_geom *)(const void *)
			((const char *)&ps->p + keys[k].off);

		if (ps->seen[k] != 0 && (g->sizes & (1u << LEVEL_1G)) && !ps->p.gbpages)
			return fail(ps, ps->seen[k], keys[k].name,
				    "holds 1g pages, but gbpages = 0");
	}
	for (i = key_first_itlb(); i < ARRAY_SIZE(keys); i++) {
		const struct tc_geom *g = (const struct tc_geom *)(const void *)
			((const char *)&ps->p + keys[i].off);

		if (ps->seen[i] != 0 && (g->sizes & (1u << LEVEL_1G)) && !ps->p.gbpages)
			return fail(ps, ps->seen[i], keys[i].name,
				    "holds 1g pages, but gbpages = 0");
		if (ps->seen[i] != 0 && ps->seen[i - 1] == 0 &&
		    (strcmp(keys[i].name, "itlb.l1.1") == 0 ||
		     strcmp(keys[i].name, "itlb.l2.1") == 0))
			return fail(ps, ps->seen[i], keys[i].name,
				    "arrays are numbered from 0 without gaps, "
				    "but there is no '%s'", keys[i - 1].name);
	}
	if ((ps->seen[key_first_itlb() + 2] != 0 || ps->seen[key_first_itlb() + 1] != 0) &&
	    ps->seen[key_first_itlb()] == 0)
		return fail(ps, ps->seen[key_first_itlb() + 2] ? ps->seen[key_first_itlb() + 2]
				: ps->seen[key_first_itlb() + 1], "itlb.l1.0",
			    "an instruction TLB needs its first level, itlb.l1.0");
	if (ps->seen[key_first_itlb()] != 0 && !(ps->p.itlb.l1[0].sizes & (1u << LEVEL_4K)))
		return fail(ps, ps->seen[key_first_itlb()], "itlb.l1.0",
			    "does not hold 4k pages");
	for (i = 0; i < TLB_MAX_ARRAYS; i++)
		holds_4k |= l1[i].sizes & (1u << LEVEL_4K);
	if (!holds_4k)
		return fail(ps, ps->seen[KEY_TLB_L1], keys[KEY_TLB_L1].name,
			    "no tlb.l1 array holds 4k pages");
	return 0;
}

/* key_index - the index in keys[] of the key named name. */
static unsigned key_index(const char *name)
{
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(keys); i++)
		if (strcmp(keys[i].name, name) == 0)
			return i;
	BUG_ON(1, "no such key in keys[]");
	return 0;
}

/* size_str - bytes as the profile would write them ("32k", "8m"). */
static const char *size_str(uint32_t bytes, char buf[16])
{
	if (bytes % MiB == 0)
		snprintf(buf, 16, "%um", (unsigned)(bytes / MiB));
	else if (bytes % KiB == 0)
		snprintf(buf, 16, "%uk", (unsigned)(bytes / KiB));
	else
		snprintf(buf, 16, "%u", (unsigned)bytes);
	return buf;
}

/*
 * check_caches - the memory model as a whole: cache.line is a power of
 * two, every present level is ways x line x a power of two (the sets,
 * as memsys_init requires), and each level is slower than the one
 * above it, DRAM slowest. Copies cache.line into every present level.
 */
static int check_caches(struct parser *ps)
{
	static const char *const names[MEMSYS_LEVELS] = { "cache.l1d", "cache.l2", "cache.llc" };
	struct memsys_config *mem = &ps->p.mem;
	uint32_t line = mem->level[MEM_L1].line;
	const char *above = NULL;
	double above_lat = 0;
	char buf[16];
	unsigned i;

	if (line == 0 || (line & (line - 1)) != 0)
		return fail(ps, ps->seen[key_index("cache.line")], "cache.line",
			    "line %u is not a power of two", line);
	for (i = 0; i < MEMSYS_LEVELS; i++) {
		struct cache_geom *g = &mem->level[i];
		unsigned k = key_index(names[i]);
		uint64_t way_bytes = (uint64_t)g->ways * line;

		if (g->size == 0)
			continue;
		g->line = line;
		if (g->size % way_bytes != 0 || !is_pow2((uint32_t)(g->size / way_bytes)))
			return fail(ps, ps->seen[k], names[i], "size %s is not ways %u x line %u "
				    "x a power of two (the number of sets)",
				    size_str(g->size, buf), g->ways, line);
		if (above != NULL && g->latency <= above_lat)
			return fail(ps, ps->seen[k], names[i], "latency %g is not above %s's %g",
				    g->latency, above, above_lat);
		above = names[i];
		above_lat = g->latency;
	}
	if (mem->dram_latency <= above_lat)
		return fail(ps, ps->seen[key_index("dram_latency")], "dram_latency",
			    "%g is not above %s's latency %g", mem->dram_latency, above, above_lat);
	if (ps->p.core.store_rfos > ps->p.core.store_buffer)
		return fail(ps, ps->seen[key_index("store_rfos")], "store_rfos",
			    "%u is above store_buffer %u", ps->p.core.store_rfos,
			    ps->p.core.store_buffer);
	return 0;
}

static int check_complete(struct parser *ps)
{
	size_t i;

	BUG_ON(strcmp(keys[KEY_TLB_L1].name, "tlb.l1.0") != 0 ||
	       strcmp(keys[KEY_TLB_L2].name, "tlb.l2.0") != 0, "keys[] out of order");
	for (i = 0; i < ARRAY_SIZE(keys); i++)
		if (keys[i].required && ps->seen[i] == 0)
			return fail(ps, 0, NULL, "missing key '%s'", keys[i].name);
	if (check_arrays(ps) < 0)
		return -1;
	return check_caches(ps);
}

/* ------------------------------------------------------------------ */
/* Interface                                                           */
/* ------------------------------------------------------------------ */

/*
 * open_regular - path opened for reading only if it is a regular file:
 * opened without blocking (a FIFO would wait for a writer), checked with
 * fstat, then switched back to blocking reads. NULL with the reason in
 * ps's error buffer otherwise, and *r = -2 when it is no regular file
 * (-1 for other failures).
 */
static FILE *open_regular(struct parser *ps, const char *path, int *r)
{
	struct stat st;
	FILE *f;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	*r = -1;
	if (fd < 0) {
		fail(ps, 0, NULL, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		fail(ps, 0, NULL, "cannot stat: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISDIR(st.st_mode) ||
		    S_ISSOCK(st.st_mode) || S_ISBLK(st.st_mode))
			fail(ps, 0, NULL, "not a regular file (a %s)",
			     S_ISFIFO(st.st_mode) ? "FIFO" : S_ISCHR(st.st_mode) ? "character device" :
			     S_ISDIR(st.st_mode) ? "directory" : S_ISSOCK(st.st_mode) ? "socket" :
			     "block device");
		else
			fail(ps, 0, NULL, "not a regular file");
		*r = -2;
		close(fd);
		return NULL;
	}
	if (st.st_size > PROFILE_FILE_MAX) {
		fail(ps, 0, NULL, "file of %lld bytes, longer than %d", (long long)st.st_size,
		     PROFILE_FILE_MAX);
		close(fd);
		return NULL;
	}
	*r = 0;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0 ||
	    (f = fdopen(fd, "r")) == NULL) {
		*r = -1;
		fail(ps, 0, NULL, "cannot open: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	return f;
}

int profile_load(struct profile *p, const char *path, char *err, size_t errlen)
{
	char line[PROFILE_LINE_MAX + 1];
	struct parser *ps;
	const char *base;
	bool too_long, has_nul;
	FILE *f;
	int r = 0;

	ps = calloc(1, sizeof(*ps));
	if (ps == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -1;
	}
	ps->path = path;
	ps->err = err;
	ps->errlen = errlen;
	base = strrchr(path, '/');
	ps->stem = base != NULL ? base + 1 : path;
	ps->stem_len = strlen(ps->stem);
	if (ps->stem_len > strlen(PROFILE_SUFFIX) &&
	    strcmp(ps->stem + ps->stem_len - strlen(PROFILE_SUFFIX), PROFILE_SUFFIX) == 0)
		ps->stem_len -= strlen(PROFILE_SUFFIX);

	if (strlen(path) >= sizeof(ps->p.path)) {
		r = fail(ps, 0, NULL, "path longer than %zu bytes", sizeof(ps->p.path) - 1);
		goto out;
	}
	f = open_regular(ps, path, &r);
	if (f == NULL)
		goto out;
	while (r == 0) {
		int got = read_line(f, line, &too_long, &has_nul);

		if (got < 0)
			r = fail(ps, ps->line + 1, NULL, "read error: %s", strerror(errno));
		if (got <= 0)
			break;
		ps->line++;
		if (ftell(f) > PROFILE_FILE_MAX)
			r = fail(ps, ps->line, NULL, "file longer than %d bytes", PROFILE_FILE_MAX);
		else if (ps->line > PROFILE_LINES_MAX)
			r = fail(ps, ps->line, NULL, "more than %d lines", PROFILE_LINES_MAX);
		else if (too_long)
			r = fail(ps, ps->line, key_of(line), "line longer than %d bytes",
				 PROFILE_LINE_MAX);
		else if (has_nul)
			r = fail(ps, ps->line, key_of(line), "NUL byte in line");
		else
			r = parse_line(ps, line);
	}
	fclose(f);
	if (r == 0)
		r = check_complete(ps);
	if (r == 0) {
		memcpy(ps->p.path, path, strlen(path) + 1);
		*p = ps->p;
	}
out:
	free(ps);
	return r;
}

static char default_dir[4096];
static pthread_once_t default_dir_once = PTHREAD_ONCE_INIT;

/*
 * The profiles without MEMVIRT_PROFILES: the source tree's when the
 * running binary lies in the build tree (uninstalled), else the installed
 * DATADIR/memvirt/profiles, found from the binary's path PREFIX/BINDIR/x
 * so that a --destdir or moved install works, else the configured one.
 */
static void find_default_dir(void)
{
	static const char build[] = MEMVIRT_BUILD_ROOT "/", bindir[] = "/" MEMVIRT_BINDIR;
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	snprintf(default_dir, sizeof(default_dir), "%s%s%s/memvirt/profiles",
		 MEMVIRT_DATADIR[0] == '/' ? "" : MEMVIRT_PREFIX,
		 MEMVIRT_DATADIR[0] == '/' ? "" : "/", MEMVIRT_DATADIR);
	if (n <= 0)
		return;
	exe[n] = '\0';
	if (strncmp(exe, build, sizeof(build) - 1) == 0) {
		snprintf(default_dir, sizeof(default_dir), "%s", MEMVIRT_SOURCE_ROOT "/profiles");
		return;
	}
	slash = strrchr(exe, '/');
	if (slash == NULL || MEMVIRT_BINDIR[0] == '/' || MEMVIRT_DATADIR[0] == '/')
		return;
	*slash = '\0';
	n = (ssize_t)strlen(exe) - (ssize_t)(sizeof(bindir) - 1);
	if (n >= 0 && strcmp(exe + n, bindir) == 0) {
		char dir[4096 + 64];

		exe[n] = '\0';
		snprintf(dir, sizeof(dir), "%s/%s/memvirt/profiles", exe, MEMVIRT_DATADIR);
		if (access(dir, F_OK) == 0 && strlen(dir) < sizeof(default_dir))
			memcpy(default_dir, dir, strlen(dir) + 1);
	}
}

const char *profile_dir(void)
{
	const char *dir = getenv("MEMVIRT_PROFILES");

	if (dir != NULL && *dir != '\0')
		return dir;
	pthread_once(&default_dir_once, find_default_dir);
	return default_dir;
}

/* A profile name: letters, digits, '.', '_', '-', not starting with '.'. */
static bool valid_name(const char *name)
{
	size_t i;

	if (name[0] == '\0' || name[0] == '.' || strlen(name) >= PROFILE_NAME_MAX)
		return false;
	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];

		if (!is_digit(c) && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    c != '.' && c != '_' && c != '-')
			return false;
	}
	return true;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int profile_find(struct profile *p, const char *name, char *err, size_t errlen)
{
	const char *dir = profile_dir();
	char path[4096], buf[SHOWN_MAX + 4];
	int n;

	if (strchr(name, '/') != NULL || has_suffix(name, PROFILE_SUFFIX))
		return profile_load(p, name, err, errlen);
	if (!valid_name(name)) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "invalid CPU profile name '%s' "
				 "(letters, digits, '.', '_', '-'; see vmm --list)",
				 shown(name, buf));
		return -1;
	}
	n = snprintf(path, sizeof(path), "%s/%s%s", dir, name, PROFILE_SUFFIX);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: profile directory path too long", dir);
		return -1;
	}
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "unknown CPU profile '%s' (no %s%s in %s; "
				 "see vmm --list)", name, name, PROFILE_SUFFIX, dir);
		return -1;
	}
	return profile_load(p, path, err, errlen);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

int profile_list(char names[][PROFILE_NAME_MAX], int max)
{
	char (*all)[PROFILE_NAME_MAX] = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int stored;

	d = opendir(profile_dir());
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || !has_suffix(de->d_name, PROFILE_SUFFIX))
			continue;
		len -= strlen(PROFILE_SUFFIX);
		if (len == 0 || len >= PROFILE_NAME_MAX)
			continue;
		if (n == cap) {
			void *grown = realloc(all, (cap = cap ? 2 * cap : 16) * sizeof(*all));

			if (grown == NULL) {
				free(all);
				closedir(d);
				errno = ENOMEM;
				return -1;
			}
			all = grown;
		}
		memcpy(all[n], de->d_name, len);
		all[n++][len] = '\0';
	}
	closedir(d);
	if (n > 0)
		qsort(all, n, sizeof(*all), name_cmp);
	stored = max < 0 ? 0 : (size_t)max < n ? max : (int)n;
	if (stored > 0)
		memcpy(names, all, (size_t)stored * sizeof(*all));
	free(all);
	return stored;
}
