/*
 * fuzz_cli.c - libFuzzer harness for the vmm command line's parsers
 * (vmm/cli_parse.c): the input, split at NUL bytes into arguments, goes
 * through cli_parse_u64, cli_list_split, cli_param_add, sample_parse,
 * sample_warming_parse and cli_escape.
 * Checked: errors are one line free of control bytes and bytes >= 0x80;
 * a parsed number prints back to the same digits; a split list joins
 * back to the argument with no empty or repeated item; escaping is
 * idempotent and leaves only printable ASCII.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_parse.h"
#include "sample.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARG	4096

static void check_line(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			abort();	/* a message that is not one clean line */
}

static void one(const char *arg, struct cli_param *params, unsigned *np)
{
	char err[CLI_ERR_MAX], esc[4 * MAX_ARG + 1], esc2[4 * MAX_ARG + 1], back[MAX_ARG + 1];
	struct cli_list l;
	uint64_t v;
	unsigned i;

	if (cli_parse_u64(arg, &v, err, sizeof(err)) == 0) {
		size_t n = strlen(arg);
		char last = n ? arg[n - 1] : 0;
		char digits[32];

		if (strchr("kKmMgGtT", last) == NULL) {
			snprintf(digits, sizeof(digits), "%" PRIu64, v);
			if (strcmp(digits, arg) != 0)
				abort();	/* "010" read as something */
		}
	} else {
		check_line(err);
	}

	if (cli_list_split(&l, "--fuzz", arg, err, sizeof(err)) == 0) {
		size_t len = 0;

		if (l.n == 0 || l.n > CLI_LIST_MAX)
			abort();
		for (i = 0; i < l.n; i++) {
			unsigned j;

			if (l.item[i][0] == '\0')
				abort();
			for (j = 0; j < i; j++)
				if (strcmp(l.item[i], l.item[j]) == 0)
					abort();
			len += (size_t)snprintf(back + len, sizeof(back) - len, "%s%s",
						i ? "," : "", l.item[i]);
		}
		if (strcmp(back, arg) != 0)
			abort();
	} else {
		check_line(err);
	}
	cli_list_free(&l);

	if (cli_param_add(params, np, 8, arg, err, sizeof(err)) < 0)
		check_line(err);

	/* --sample: accepted values are whole (a period and a window of at
	 * least one access), refused ones get one line */
	{
		struct sample_cfg c;

		if (sample_parse(arg, &c, err, sizeof(err)) < 0)
			check_line(err);
		else if (c.on && (c.window == 0 || (strcmp(arg, "on") != 0 && c.period == 0)))
			abort();
	}
	/* --sample-warming: exactly two words are accepted */
	{
		bool warm = false;

		if (sample_warming_parse(arg, &warm, err, sizeof(err)) < 0)
			check_line(err);
		else if (strcmp(arg, "none") != 0 && strcmp(arg, "caches") != 0)
			abort();
	}

	cli_escape(arg, esc, sizeof(esc));
	check_line(esc);
	cli_escape(esc, esc2, sizeof(esc2));
	if (strcmp(esc, esc2) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cli_param params[8];
	unsigned np = 0, i;
	char arg[MAX_ARG + 1];
	size_t start = 0, k;

	for (k = 0; k <= size; k++) {
		if (k < size && data[k] != '\0')
			continue;
		if (k - start <= MAX_ARG) {
			memcpy(arg, data + start, k - start);
			arg[k - start] = '\0';
			one(arg, params, &np);
		}
		start = k + 1;
	}
	/* the keys kept are distinct */
	for (i = 0; i < np; i++) {
		unsigned j;

		for (j = 0; j < i; j++)
			if (strcmp(params[i].key, params[j].key) == 0)
				abort();
	}
	return 0;
}
