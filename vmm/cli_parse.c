/*
 * cli_parse.c - numbers, comma lists and --param arguments of the vmm
 * command line, and the escaping of text quoted in error messages.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "cli_parse.h"
#include "sample.h"

#define QUOTE_MAX	80	/* input bytes of a value quoted in a message */

char *cli_escape(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return out;
	for (; *s != '\0'; s++) {
		char tmp[4];
		size_t k = esc_byte((unsigned char)*s, tmp);

		if (o + k >= outlen)
			break;
		memcpy(out + o, tmp, k);
		o += k;
	}
	out[o] = '\0';
	return out;
}

/* quote - s escaped for a message, its first QUOTE_MAX bytes, "..." after. */
static const char *quote(const char *s, char buf[QUOTE_MAX * 4 + 4])
{
	char cut[QUOTE_MAX + 1];
	size_t len = strlen(s);

	memcpy(cut, s, len > QUOTE_MAX ? QUOTE_MAX : len);
	cut[len > QUOTE_MAX ? QUOTE_MAX : len] = '\0';
	cli_escape(cut, buf, QUOTE_MAX * 4 + 1);
	if (len > QUOTE_MAX)
		strcat(buf, "...");
	return buf;
}

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int cli_parse_u64(const char *s, uint64_t *out, char *err, size_t errlen)
{
	char q[QUOTE_MAX * 4 + 4];
	uint64_t v = 0, mul = 1;
	const char *c = s;

	if (!s || !*s)
		return fail(err, errlen, "empty number");
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return fail(err, errlen, "'%s': numbers are decimal (no 0x hex)", quote(s, q));
	if (*c < '0' || *c > '9')
		return fail(err, errlen, "'%s' is not a number (decimal digits, then an "
			    "optional k, m, g or t)", quote(s, q));
	if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
		return fail(err, errlen, "'%s': leading zero (numbers are decimal, never "
			    "octal: drop the zero)", quote(s, q));
	for (; *c >= '0' && *c <= '9'; c++) {
		unsigned d = (unsigned)(*c - '0');

		if (v > (UINT64_MAX - d) / 10)
			return fail(err, errlen, "'%s': does not fit 64 bits", quote(s, q));
		v = v * 10 + d;
	}
	switch (*c) {
	case 'k': case 'K': mul = UINT64_C(1) << 10; c++; break;
	case 'm': case 'M': mul = UINT64_C(1) << 20; c++; break;
	case 'g': case 'G': mul = UINT64_C(1) << 30; c++; break;
	case 't': case 'T': mul = UINT64_C(1) << 40; c++; break;
	default: break;
	}
	if (*c != '\0')
		return fail(err, errlen, "'%s' is not a number (decimal digits, then an "
			    "optional k, m, g or t)", quote(s, q));
	if (v && mul > UINT64_MAX / v)
		return fail(err, errlen, "'%s': does not fit 64 bits", quote(s, q));
	*out = v * mul;
	return 0;
}

void cli_list_free(struct cli_list *l)
{
	free(l->buf);
	l->buf = NULL;
	l->n = 0;
}

int cli_list_split(struct cli_list *l, const char *flag, const char *arg, char *err,
		   size_t errlen)
{
	char q[QUOTE_MAX * 4 + 4];
	char *p;
	unsigned i;

	memset(l, 0, sizeof(*l));
	if (!arg || !*arg)
		return fail(err, errlen, "%s: empty list", flag);
	l->buf = strdup(arg);
	if (!l->buf)
		return fail(err, errlen, "%s: out of memory", flag);
	for (p = l->buf;;) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma = '\0';
		if (*p == '\0')
			return fail(err, errlen, "%s: empty item in list '%s' (item %u)", flag,
				    quote(arg, q), l->n + 1);
		if (l->n == CLI_LIST_MAX)
			return fail(err, errlen, "%s: more than %d values", flag, CLI_LIST_MAX);
		for (i = 0; i < l->n; i++)
			if (strcmp(l->item[i], p) == 0)
				return fail(err, errlen, "%s: '%s' listed twice", flag,
					    quote(p, q));
		l->item[l->n++] = p;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

int cli_param_add(struct cli_param *p, unsigned *n, unsigned max, const char *arg,
		  char *err, size_t errlen)
{
	char q[QUOTE_MAX * 4 + 4], why[CLI_ERR_MAX];
	const char *eq = strchr(arg, '=');
	size_t klen;
	unsigned i;

	if (!eq || eq == arg)
		return fail(err, errlen, "--param '%s': expected KEY=VALUE", quote(arg, q));
	klen = (size_t)(eq - arg);
	if (klen >= CLI_KEY_MAX)
		return fail(err, errlen, "--param '%s': key longer than %d bytes",
			    quote(arg, q), CLI_KEY_MAX - 1);
	if (*n >= max)
		return fail(err, errlen, "--param: more than %u parameters", max);
	memcpy(p[*n].key, arg, klen);
	p[*n].key[klen] = '\0';
	for (i = 0; i < *n; i++)
		if (strcmp(p[i].key, p[*n].key) == 0)
			return fail(err, errlen, "--param %s: given twice (each key at most "
				    "once)", quote(p[*n].key, q));
	if (cli_parse_u64(eq + 1, &p[*n].val, why, sizeof(why)) < 0)
		return fail(err, errlen, "--param %s: %s", quote(p[*n].key, q), why);
	(*n)++;
	return 0;
}

int sample_warming_parse(const char *s, bool *warm_caches, char *err, size_t errlen)
{
	char q[QUOTE_MAX * 4 + 4];

	if (strcmp(s, "none") == 0 || strcmp(s, "caches") == 0) {
		*warm_caches = strcmp(s, "caches") == 0;
		return 0;
	}
	return fail(err, errlen, "--sample-warming=%s: expected none or caches",
		    quote(s, q));
}

int sample_parse(const char *s, struct sample_cfg *c, char *err, size_t errlen)
{
	char q[QUOTE_MAX * 4 + 4], why[CLI_ERR_MAX], field[32];
	uint64_t v[3] = { 0, 0, 0 };
	const char *p = s;
	unsigned n = 0;

	memset(c, 0, sizeof(*c));
	if (strcmp(s, "off") == 0)
		return 0;
	c->on = true;
	c->window = SAMPLE_WINDOW;
	if (strcmp(s, "on") == 0)
		return 0;
	for (;;) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (n == 3 || len == 0 || len >= sizeof(field))
			return fail(err, errlen, "--sample=%s: expected off, on or "
				    "PERIOD:WINDOW[:WARMUP] (accesses)", quote(s, q));
		memcpy(field, p, len);
		field[len] = '\0';
		if (cli_parse_u64(field, &v[n], why, sizeof(why)) < 0)
			return fail(err, errlen, "--sample=%s: %s", quote(s, q), why);
		n++;
		if (!end)
			break;
		p = end + 1;
	}
	if (n < 2)
		return fail(err, errlen, "--sample=%s: expected off, on or "
			    "PERIOD:WINDOW[:WARMUP] (accesses)", quote(s, q));
	if (v[0] == 0 || v[1] == 0)
		return fail(err, errlen, "--sample=%s: the period and the window are at "
			    "least one access", quote(s, q));
	c->period = v[0];
	c->window = v[1];
	if (n == 3) {
		c->warmup = v[2];
		c->warmup_given = true;
	}
	return 0;
}
