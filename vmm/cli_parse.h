/*
 * cli_parse.h - the pieces of the vmm command line that take text apart:
 * numbers, comma lists, --param KEY=VALUE, and the escaping that keeps
 * every error message on one line. Pure functions over strings (no
 * printing, no exit), so a fuzzer can drive them (fuzz/fuzz_cli.c).
 */
#ifndef MEMVIRT_CLI_PARSE_H
#define MEMVIRT_CLI_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define CLI_LIST_MAX	16	/* items of one comma list */
#define CLI_KEY_MAX	64	/* bytes of a --param key, NUL included */
#define CLI_ERR_MAX	512	/* a message buffer big enough for any of ours */

/*
 * cli_parse_u64 - s as a number: decimal digits with an optional binary
 * suffix k, m, g or t (any case; KiB .. TiB). No sign, no blanks, no hex,
 * and no leading zero ("0256m" is refused rather than read as octal or
 * guessed as decimal; "0" and "0k" are fine). Returns 0 with *out set, or
 * -1 with a one-line reason (quoting s, escaped) in err.
 */
int cli_parse_u64(const char *s, uint64_t *out, char *err, size_t errlen);

/* A comma list taken apart: item[0..n) point into buf. */
struct cli_list {
	char		*buf;
	const char	*item[CLI_LIST_MAX];
	unsigned	n;
};

/*
 * cli_list_split - split arg at commas into l (buf is malloc'd; free it
 * with cli_list_free, also after a failure). An empty list, an empty item
 * ("a,,b", ",a", "a,"), the same item twice, or more than CLI_LIST_MAX
 * items is an error. Returns 0, or -1 with a one-line reason in err,
 * prefixed with flag (e.g. "--mmu").
 */
int cli_list_split(struct cli_list *l, const char *flag, const char *arg, char *err,
		   size_t errlen);
void cli_list_free(struct cli_list *l);

/* One --param KEY=VALUE. */
struct cli_param {
	char		key[CLI_KEY_MAX];
	uint64_t	val;
};

/*
 * cli_param_add - parse arg ("KEY=VALUE", VALUE as cli_parse_u64 reads it)
 * into p[*n] and count it. A malformed argument, an empty or over-long
 * key, a key already given, or more than max parameters is an error.
 * Returns 0, or -1 with a one-line reason in err.
 */
int cli_param_add(struct cli_param *p, unsigned *n, unsigned max, const char *arg,
		  char *err, size_t errlen);

/*
 * cli_escape - s made safe for a one-line message: a control character
 * (below 0x20, or 0x7f) and a byte at or above 0x80 become \xNN; the
 * rest is copied, so escaping twice changes nothing. The result is always
 * NUL-terminated in out (cut short when outlen is too small; 4 bytes per
 * input byte always suffice). Returns out.
 */
char *cli_escape(const char *s, char *out, size_t outlen);

#endif
