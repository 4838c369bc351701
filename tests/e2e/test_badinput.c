/*
 * test_badinput.c - bad input gets one clear line naming the problem and
 * exit status 2; never a crash.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "vmmrun.h"

/* Strings inline, not pointers: Criterion's workers may be separate
 * processes in which pointers into the parent's memory mean nothing. */
struct bad {
	char	args[4][160];
	char	expect[160];	/* substring the error line must contain */
};

static struct bad cases[] = {
	{ { "--frobnicate" }, "unknown option '--frobnicate'" },
	{ { "--mmu=qemu" }, "unknown MMU 'qemu'" },
	{ { "--workload=nope" }, "unknown workload 'nope'" },
	{ { "--cpu=pentium" }, "--cpu: unknown CPU profile 'pentium' (no pentium.profile in" },
	{ { "--pages=8k" }, "unknown page size '8k'" },
	{ { "--host-pages=3m" }, "unknown page size '3m'" },
	{ { "--param", "size=12x" }, "'12x' is not a number" },
	{ { "--param", "size=-5" }, "'-5' is not a number" },
	{ { "--param", "size=99999999999999999999999" }, "does not fit 64 bits" },
	{ { "--param", "colour=3" }, "unknown parameter" },
	{ { "--param", "size" }, "expected KEY=VALUE" },
	{ { "--param", "size=0" }, "out of range" },
	{ { "--param", "size=1g", "--param", "passes=1" }, "does not fit in guest RAM" },
	{ { "--param", "passes=0" }, "out of range" },
	{ { "--param", "passes=1000" }, "32-bit loop counter" },
	{ { "--guest-mem=abc" }, "--guest-mem: 'abc' is not a number" },
	{ { "--guest-mem=0" }, "multiple of 2m" },
	{ { "--guest-mem=3m" }, "multiple of 2m" },
	{ { "--guest-mem=1t" }, "between 16m and 64g" },
	{ { "--numa-node=x" }, "--numa-node: 'x' is not a number" },
	{ { "--numa-node=999" }, "--numa-node=999: no such node" },
	{ { "--mmu=" }, "empty list" },
	{ { "--mmu" }, "needs a value" },
	{ { "stray" }, "unexpected argument 'stray'" },
	{ { "--pages=1g" }, "--pages=1g needs --guest-mem of at least 2g" },
	{ { "--cpu=" BAD_PROFILE }, BAD_PROFILE ":3: key 'clock_ghz': expected a number, got 'fast'" },
	/* numbers are decimal: no octal, no hex, leading zeros refused */
	{ { "--guest-mem=0256m" }, "'0256m': leading zero" },
	{ { "--param", "passes=010" }, "--param passes: '010': leading zero" },
	{ { "--param", "size=0x1000" }, "numbers are decimal" },
	{ { "--jobs=08" }, "leading zero" },
	{ { "--param", "size=1m1" }, "is not a number" },
	/* a key at most once; list items neither empty nor repeated */
	{ { "--param", "passes=1", "--param", "passes=2" }, "--param passes: given twice" },
	{ { "--mmu=native,native" }, "--mmu: 'native' listed twice" },
	{ { "--mmu=native,,ept" }, "--mmu: empty item" },
	{ { "--mmu=,native" }, "--mmu: empty item" },
	{ { "--pages=4k," }, "--pages: empty item" },
	{ { "--workload=fib,fib" }, "'fib' listed twice" },
	{ { "--cpu=skylake,skylake" }, "'skylake' listed twice" },
	/* one line whatever the input: control bytes and bytes >= 0x80 escaped */
	{ { "--mmu=ab\ncd" }, "unknown MMU 'ab\\x0acd'" },
	{ { "--workload=\xff\x1b[2J" }, "'\\xff\\x1b[2J'" },
	{ { "--param", "k\x80\ny=1" }, "k\\x80\\x0ay" },
	/* bounded cost: no 1G host page backing beyond guest RAM */
	{ { "--mmu=shadow", "--host-pages=1g", "--guest-mem=16m" },
	  "1G host pages (--host-pages=1g, the default under --pages=1g) need --guest-mem "
	  "a multiple of 1g (got 16m)" },
	{ { "--mmu=ept", "--host-pages=1g", "--guest-mem=1536m" }, "(got 1536m)" },
	/* input files only if regular, never waited on */
	{ { "--cpu=/dev/zero" }, "not a regular file (a character device)" },
	{ { "--cpu=/dev/urandom" }, "not a regular file" },
	{ { "--cpu=/tmp" }, "not a regular file (a directory)" },
};

ParameterizedTestParameters(badinput, exits_2)
{
	return cr_make_param_array(struct bad, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad *b, badinput, exits_2, .timeout = 60)
{
	const char *args[5] = { NULL };
	struct vmmrun r;
	int i;

	for (i = 0; i < 4 && b->args[i][0]; i++)
		args[i] = b->args[i];
	vmmrun(&r, args);
	cr_assert_eq(r.signal, 0, "%s: killed by signal %d", b->args[0], r.signal);
	cr_assert_eq(r.status, 2, "%s: exit status %d, stderr: %s", b->args[0], r.status,
		     r.err);
	cr_assert_eq(vmmrun_lines(r.err), 1, "%s: want one line, got: %s", b->args[0],
		     r.err);
	cr_assert(strstr(r.err, b->expect) != NULL, "%s: '%s' not in: %s", b->args[0],
		  b->expect, r.err);
	cr_assert_str_eq(r.out, "", "nothing on stdout for bad input");
	vmmrun_free(&r);
}

Test(badinput, help_documents_every_flag)
{
	const char *args[] = { "--help", NULL };
	const char *flags[] = { "--mmu", "--pages", "--host-pages", "--workload", "--cpu",
				"--param", "--guest-mem", "--numa-node", "--list", "--help" };
	struct vmmrun r;
	size_t i;

	vmmrun(&r, args);
	cr_assert_eq(r.status, 0);
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		cr_assert(strstr(r.out, flags[i]) != NULL, "--help lacks %s", flags[i]);
	vmmrun_free(&r);
}

Test(badinput, list_names_everything)
{
	const char *args[] = { "--list", NULL };
	struct vmmrun r;

	vmmrun(&r, args);
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out, "native") != NULL);
	cr_assert(strstr(r.out, "memsweep") != NULL);
	cr_assert(strstr(r.out, "skylake") != NULL);
	cr_assert(strstr(r.out, "phenom2-n620") != NULL);
	cr_assert(strstr(r.out, "does not load") == NULL, "a shipped profile fails: %s", r.out);
	vmmrun_free(&r);
}
