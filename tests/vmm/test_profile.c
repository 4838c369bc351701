/*
 * test_profile.c - CPU profiles: every shipped profile loads and is sane,
 * every malformed fixture in bad-profiles/ fails with one precise line,
 * and no input (NUL bytes, CRs, random damage) crashes the loader.
 */
#include <asm/vmx.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm.h"

#ifndef BAD_PROFILES
#error "BAD_PROFILES (the fixture directory) must be defined by the build"
#endif

#define MAX_PROFILES	64

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* A valid profile with a value in every field, for parsing and damage. */
static const char good_text[] =
	"# a valid profile\n"
	"name = good\n"
	"description = Test CPU, UTF-8 \xc3\xa9 allowed\t# trailing comment\n"
	"\n"
	"clock_ghz = 2.5\n"
	"maxphyaddr = 40\n"
	"vpid = 1\n"
	"pcid = 0\n"
	"gbpages = 1\n"
	"ept_ad = 0\n"
	"   tlb.l1.0\t=  64 4 4k   # blanks anywhere\n"
	"tlb.l1.1 = 32 4 2m,1g random\n"
	"tlb.l2.0 = 1536 12 4k,2m lru\n"
	"psc.pde = 32 4\n"
	"psc.pdpte = 4 4\n"
	"psc.pml4e = 0 0\n"
	"ntlb = 16 16\n"
	"ept_psc.pde = 8 2\n"
	"ept_psc.pdpte = 4 4\n"
	"ept_psc.pml4e = 2 2\n"
	"cpi = 0.5\n"
	"l1d_hit = 4\n"
	"tlb_l2_hit = 9\n"
	"walk_ref = 1.2e1\n"
	"pf_delivery = 550\n"
	"syscall = 120\n"
	"exit_roundtrip = 780\n"
	"vmm_ref = 8\n"
	"exit_handler.ept_violation = 1200\n"
	"exit_handler.cr_access = 700\n"
	"cache.l1d = 48k 12 5\n"
	"cache.l2 = 2m 16 16\n"
	"cache.llc = 65536 16 40.5\n"
	"cache.line = 64\n"
	"dram_latency = 300\n"
	"rob = 224\n"
	"store_buffer = 56\n"
	"store_rfos = 2\n"
	"mshrs = 12\n"
	"walkers = 2\n";

static char tmpdir[] = "/tmp/memvirt-test-profile-XXXXXX";

static void make_tmpdir(void)
{
	cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp failed");
}

/* write_profile - tmpdir/STEM.profile with len bytes of text; returns the
 * path in a static buffer. */
static const char *write_profile(const char *stem, const char *text, size_t len)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.profile", tmpdir, stem);
	f = fopen(path, "wb");
	cr_assert_not_null(f, "cannot create %s", path);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	fclose(f);
	return path;
}

static void remove_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	char path[512];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(tmpdir);
}

/* The error contract: one non-empty line that begins with prefix. */
static void assert_one_line(const char *err, const char *prefix)
{
	cr_assert_neq(err[0], '\0', "empty error message");
	cr_assert_null(strchr(err, '\n'), "error is not one line: %s", err);
	cr_assert(strncmp(err, prefix, strlen(prefix)) == 0,
		  "error '%s' does not begin with '%s'", err, prefix);
}

static bool geometry_ok(const struct tc_geom *g)
{
	uint32_t sets;

	if (g->entries == 0)
		return g->ways == 0;	/* absent */
	if (g->ways == 0 || g->entries % g->ways != 0)
		return false;
	sets = g->entries / g->ways;
	return (sets & (sets - 1)) == 0;
}

/* ------------------------------------------------------------------ */
/* Shipped profiles                                                    */
/* ------------------------------------------------------------------ */

Test(profile, shipped_profiles_load_and_are_sane)
{
	static const unsigned must_have[] = {
		EXIT_REASON_EPT_VIOLATION, EXIT_REASON_EXCEPTION_NMI,
		EXIT_REASON_CR_ACCESS, EXIT_REASON_INVLPG, EXIT_REASON_EPT_MISCONFIG,
	};
	char names[MAX_PROFILES][PROFILE_NAME_MAX], err[512];
	int n = profile_list(names, MAX_PROFILES), i, j;

	cr_assert_geq(n, 2, "expected at least 2 profiles in %s, found %d",
		      profile_dir(), n);
	for (i = 0; i < n; i++) {
		struct profile p;

		if (i > 0)
			cr_assert_lt(strcmp(names[i - 1], names[i]), 0, "list not sorted");
		cr_assert_eq(profile_find(&p, names[i], err, sizeof(err)), 0,
			     "%s: %s", names[i], err);
		cr_assert_str_eq(p.name, names[i], "name is not the file stem");
		cr_assert_neq(p.desc[0], '\0');
		cr_assert(p.clock_hz >= 0.1e9 && p.clock_hz <= 10e9);
		cr_assert(p.maxphyaddr >= 32 && p.maxphyaddr <= 52);

		cr_assert_gt(p.tlb.l1[0].entries, 0, "%s: no L1 TLB", p.name);
		for (j = 0; j < TLB_MAX_ARRAYS; j++) {
			const struct tc_geom *l1 = &p.tlb.l1[j], *l2 = &p.tlb.l2[j];

			cr_assert(l1->entries == 0 || l1->sizes != 0, "%s: tlb.l1.%d holds nothing", p.name, j);
			cr_assert(l2->entries == 0 || l2->sizes != 0, "%s: tlb.l2.%d holds nothing", p.name, j);
			cr_assert(geometry_ok(l1) && geometry_ok(l2), "%s: bad TLB geometry", p.name);
			cr_assert_eq(l1->sizes & ~(1u << LEVEL_4K | 1u << LEVEL_2M | 1u << LEVEL_1G), 0);
			cr_assert_eq(l2->sizes & ~(1u << LEVEL_4K | 1u << LEVEL_2M | 1u << LEVEL_1G), 0);
		}
		for (j = 0; j < 3; j++)
			cr_assert(geometry_ok(&p.tlb.psc[j]) && geometry_ok(&p.ept_psc[j]));
		cr_assert(geometry_ok(&p.ntlb));

		cr_assert_gt(p.costs.cpi, 0);
		cr_assert_gt(p.costs.l1d_hit, 0);
		cr_assert_gt(p.costs.walk_ref, 0);
		cr_assert_gt(p.costs.pf_delivery, 0);
		cr_assert_gt(p.costs.syscall, 0);
		cr_assert_gt(p.costs.exit_roundtrip, 0);
		cr_assert_gt(p.costs.vmm_ref, 0);
		for (j = 0; j < (int)ARRAY_SIZE(must_have); j++)
			cr_assert_gt(p.costs.exit_handler[must_have[j]], 0,
				     "%s: no handler cost for exit reason %u", p.name, must_have[j]);

		/* the memory model builds from every shipped profile */
		{
			struct memsys m;

			cr_assert_gt(p.mem.level[MEM_L1].size, 0, "%s: no L1D", p.name);
			cr_assert_gt(p.mem.level[MEM_L2].size, 0, "%s: no L2", p.name);
			cr_assert_eq(memsys_init(&m, &p.mem), 0, "%s: memsys_init failed", p.name);
			memsys_destroy(&m);
		}
	}
}

/* profile_list sees exactly the *.profile files of the directory. */
Test(profile, list_matches_directory)
{
	char names[MAX_PROFILES][PROFILE_NAME_MAX];
	int n = profile_list(names, MAX_PROFILES), files = 0, stored;
	DIR *d = opendir(profile_dir());
	struct dirent *de;

	cr_assert_not_null(d, "cannot open %s", profile_dir());
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] != '.' && len > 8 && strcmp(de->d_name + len - 8, ".profile") == 0)
			files++;
	}
	closedir(d);
	cr_assert_eq(n, files);

	stored = profile_list(names, 1);
	cr_assert_eq(stored, 1, "max is not honoured");
	cr_assert_eq(profile_list(names, 0), 0);
}

Test(profile, find_by_path)
{
	char names[1][PROFILE_NAME_MAX], path[4096], err[512];
	struct profile p;

	cr_assert_eq(profile_list(names, 1), 1);
	snprintf(path, sizeof(path), "%s/%s.profile", profile_dir(), names[0]);
	cr_assert_eq(profile_find(&p, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(p.name, names[0]);
	cr_assert_str_eq(p.path, path);
}

Test(profile, dir_follows_environment)
{
	setenv("MEMVIRT_PROFILES", "/nonexistent/profiles", 1);
	cr_assert_str_eq(profile_dir(), "/nonexistent/profiles");
	unsetenv("MEMVIRT_PROFILES");
	cr_assert_str_eq(profile_dir(), MEMVIRT_SOURCE_ROOT "/profiles");
}

/* ------------------------------------------------------------------ */
/* Names that are not profiles                                         */
/* ------------------------------------------------------------------ */

Test(profile, unknown_name_is_explained)
{
	char err[512];
	struct profile p;

	cr_assert_eq(profile_find(&p, "no-such-cpu", err, sizeof(err)), -1);
	assert_one_line(err, "unknown CPU profile 'no-such-cpu'");
	cr_assert_not_null(strstr(err, "vmm --list"), "%s", err);
	cr_assert_not_null(strstr(err, profile_dir()), "%s", err);
}

Test(profile, invalid_name_is_rejected)
{
	char err[512];
	struct profile p;

	cr_assert_eq(profile_find(&p, "bad name", err, sizeof(err)), -1);
	assert_one_line(err, "invalid CPU profile name 'bad name'");
	cr_assert_eq(profile_find(&p, "", err, sizeof(err)), -1);
	assert_one_line(err, "invalid CPU profile name ''");
	cr_assert_eq(profile_find(&p, "bad\nname", err, sizeof(err)), -1);
	assert_one_line(err, "invalid CPU profile name 'bad\\x0aname'");
}

Test(profile, missing_file_cannot_open)
{
	char err[512];
	struct profile p;

	cr_assert_eq(profile_load(&p, "/nonexistent/x.profile", err, sizeof(err)), -1);
	assert_one_line(err, "/nonexistent/x.profile: cannot open: ");
	cr_assert_eq(profile_find(&p, "/nonexistent/y.profile", err, sizeof(err)), -1);
	assert_one_line(err, "/nonexistent/y.profile: cannot open: ");
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

Test(profile, parses_every_field, .fini = remove_tmpdir)
{
	char err[512];
	struct profile p;
	const char *path;
	unsigned i;

	make_tmpdir();
	path = write_profile("good", good_text, sizeof(good_text) - 1);
	cr_assert_eq(profile_load(&p, path, err, sizeof(err)), 0, "%s", err);

	cr_assert_str_eq(p.name, "good");
	cr_assert_str_eq(p.desc, "Test CPU, UTF-8 \xc3\xa9 allowed");
	cr_assert_str_eq(p.path, path);
	cr_assert_float_eq(p.clock_hz, 2.5e9, 1);
	cr_assert_eq(p.maxphyaddr, 40);
	cr_assert(p.vpid && !p.pcid && p.gbpages && !p.ept_ad);

	cr_assert_eq(p.tlb.l1[0].entries, 64);
	cr_assert_eq(p.tlb.l1[0].ways, 4);
	cr_assert_eq(p.tlb.l1[0].sizes, 1u << LEVEL_4K);
	cr_assert_eq(p.tlb.l1[0].repl, TC_REPL_LRU);
	cr_assert_eq(p.tlb.l1[1].sizes, 1u << LEVEL_2M | 1u << LEVEL_1G);
	cr_assert_eq(p.tlb.l1[1].repl, TC_REPL_RANDOM);
	cr_assert_eq(p.tlb.l1[2].entries, 0, "absent arrays stay zero");
	cr_assert_eq(p.tlb.l2[0].entries, 1536);
	cr_assert_eq(p.tlb.l2[0].ways, 12);
	cr_assert_eq(p.tlb.l2[0].sizes, 1u << LEVEL_4K | 1u << LEVEL_2M);
	cr_assert_eq(p.tlb.l2[1].entries, 0);

	cr_assert_eq(p.tlb.psc[0].entries, 32);
	cr_assert_eq(p.tlb.psc[1].entries, 4);
	cr_assert_eq(p.tlb.psc[2].entries, 0, "0 0 is an absent cache");
	cr_assert_eq(p.tlb.psc[2].ways, 0);
	cr_assert_eq(p.ntlb.entries, 16);
	cr_assert_eq(p.ept_psc[0].entries, 8);
	cr_assert_eq(p.ept_psc[0].ways, 2);
	cr_assert_eq(p.ept_psc[2].entries, 2);

	cr_assert_float_eq(p.costs.cpi, 0.5, 1e-12);
	cr_assert_float_eq(p.costs.l1d_hit, 4, 1e-12);
	cr_assert_float_eq(p.costs.tlb_l2_hit, 9, 1e-12);
	cr_assert_float_eq(p.costs.walk_ref, 12, 1e-12);
	cr_assert_float_eq(p.costs.pf_delivery, 550, 1e-12);
	cr_assert_float_eq(p.costs.syscall, 120, 1e-12);
	cr_assert_float_eq(p.costs.exit_roundtrip, 780, 1e-12);
	cr_assert_float_eq(p.costs.vmm_ref, 8, 1e-12);

	cr_assert_eq(p.core.rob, 224);
	cr_assert_eq(p.core.store_buffer, 56);
	cr_assert_eq(p.core.store_rfos, 2);
	cr_assert_eq(p.core.mshrs, 12);
	cr_assert_eq(p.core.walkers, 2);

	cr_assert_eq(p.mem.level[MEM_L1].size, 48 * 1024);
	cr_assert_eq(p.mem.level[MEM_L1].ways, 12);
	cr_assert_float_eq(p.mem.level[MEM_L1].latency, 5, 1e-12);
	cr_assert_eq(p.mem.level[MEM_L2].size, 2 * 1024 * 1024);
	cr_assert_eq(p.mem.level[MEM_L2].ways, 16);
	cr_assert_eq(p.mem.level[MEM_LLC].size, 65536, "a size without a suffix is bytes");
	cr_assert_float_eq(p.mem.level[MEM_LLC].latency, 40.5, 1e-12);
	for (i = 0; i < MEMSYS_LEVELS; i++)
		cr_assert_eq(p.mem.level[i].line, 64, "cache.line reaches level %u", i);
	cr_assert_float_eq(p.mem.dram_latency, 300, 1e-12);

	for (i = 0; i < VMM_NR_EXIT_REASONS; i++) {
		double want = i == EXIT_REASON_EPT_VIOLATION ? 1200 :
			      i == EXIT_REASON_CR_ACCESS ? 700 : 0;

		cr_assert_float_eq(p.costs.exit_handler[i], want, 1e-12, "exit reason %u", i);
	}
}

/* A CPU without an L3 omits cache.llc or writes it "0 0 0"; DRAM must
 * then only be slower than the L2. */
Test(profile, llc_may_be_absent, .fini = remove_tmpdir)
{
	char text[2 * sizeof(good_text)], err[512];
	const char *llc = strstr(good_text, "cache.llc = "), *eol;
	struct profile p;
	const char *path;
	size_t n;

	make_tmpdir();
	cr_assert_not_null(llc);
	eol = strchr(llc, '\n') + 1;

	/* omitted */
	n = (size_t)(llc - good_text);
	memcpy(text, good_text, n);
	memcpy(text + n, eol, strlen(eol));
	n += strlen(eol);
	path = write_profile("good", text, n);
	cr_assert_eq(profile_load(&p, path, err, sizeof(err)), 0, "omitted: %s", err);
	cr_assert_eq(p.mem.level[MEM_LLC].size, 0);
	cr_assert_eq(p.mem.level[MEM_L2].line, 64);

	/* written 0 0 0 */
	n = (size_t)(llc - good_text);
	memcpy(text, good_text, n);
	n += (size_t)sprintf(text + n, "cache.llc = 0 0 0\n");
	memcpy(text + n, eol, strlen(eol));
	n += strlen(eol);
	path = write_profile("good", text, n);
	cr_assert_eq(profile_load(&p, path, err, sizeof(err)), 0, "0 0 0: %s", err);
	cr_assert_eq(p.mem.level[MEM_LLC].size, 0);
	cr_assert_eq(p.mem.level[MEM_LLC].ways, 0);
}

Test(profile, crlf_and_missing_final_newline, .fini = remove_tmpdir)
{
	char text[4 * sizeof(good_text)], err[512];
	struct profile p;
	const char *path;
	size_t i, n = 0;

	make_tmpdir();
	for (i = 0; i + 1 < sizeof(good_text); i++) {
		if (good_text[i] == '\n')
			text[n++] = '\r';
		text[n++] = good_text[i];
	}
	path = write_profile("good", text, n);
	cr_assert_eq(profile_load(&p, path, err, sizeof(err)), 0, "CRLF: %s", err);
	cr_assert_float_eq(p.costs.exit_handler[EXIT_REASON_CR_ACCESS], 700, 1e-12);

	path = write_profile("good", good_text, sizeof(good_text) - 2);
	cr_assert_eq(profile_load(&p, path, err, sizeof(err)), 0, "no final newline: %s", err);
	cr_assert_float_eq(p.costs.exit_handler[EXIT_REASON_CR_ACCESS], 700, 1e-12);
}

Test(profile, nul_byte_is_rejected, .fini = remove_tmpdir)
{
	char text[sizeof(good_text)], err[512], prefix[300];
	struct profile p;
	const char *path, *cpi = strstr(good_text, "cpi = 0.5");
	unsigned line = 1;
	const char *c;

	make_tmpdir();
	memcpy(text, good_text, sizeof(good_text));
	text[cpi - good_text + 7] = '\0';	/* "cpi = 0\0.5" */
	for (c = good_text; c < cpi; c++)
		line += *c == '\n';
	path = write_profile("good", text, sizeof(good_text) - 1);
	cr_assert_eq(profile_load(&p, path, err, sizeof(err)), -1);
	snprintf(prefix, sizeof(prefix), "%s:%u: key 'cpi': NUL byte", path, line);
	assert_one_line(err, prefix);
}

/* A short error buffer gets a cut message, never an overflow. */
Test(profile, short_error_buffer)
{
	struct {
		char	err[16];
		char	canary[16];
	} b;
	struct profile p;

	memset(b.canary, 0x5a, sizeof(b.canary));
	cr_assert_eq(profile_load(&p, "/nonexistent/x.profile", b.err, sizeof(b.err)), -1);
	cr_assert_eq(strlen(b.err), sizeof(b.err) - 1);
	for (size_t i = 0; i < sizeof(b.canary); i++)
		cr_assert_eq((unsigned char)b.canary[i], 0x5a);
	cr_assert_eq(profile_load(&p, "/nonexistent/x.profile", NULL, 0), -1);
}

/* ------------------------------------------------------------------ */
/* Malformed fixtures: one file per failure                            */
/* ------------------------------------------------------------------ */

/* Plain arrays, no pointers: Criterion copies parameters into a worker
 * that may be a fresh exec of this binary, where pointers do not hold. */
struct bad_case {
	char		file[32];	/* in BAD_PROFILES */
	unsigned	line;		/* 0: a whole-file error (missing key) */
	char		key[32];
	char		what[64];	/* a substring of the message */
};

static struct bad_case bad_cases[] = {
	{ "unknown-key.profile",      4, "colour", "unknown key" },
	{ "duplicate-key.profile",   30, "cpi", "duplicate key (first on line 21)" },
	{ "missing-key.profile",      0, "walk_ref", "missing key 'walk_ref'" },
	{ "bad-number.profile",      22, "l1d_hit", "expected a number, got 'abc'" },
	{ "out-of-range.profile",     4, "clock_ghz", "12 out of range 0.1..10" },
	{ "bad-geometry.profile",    10, "tlb.l1.0", "entries 48 is not ways 5 times a power of two" },
	{ "tlb-ways-max.profile",    13, "tlb.l2.0", "ways 1048576 above 128, the most modeled" },
	{ "cache-ways-max.profile",  33, "cache.llc", "ways 1048576 above 128, the most modeled" },
	{ "trailing-garbage.profile", 10, "tlb.l1.0", "trailing garbage 'extra'" },
	{ "missing-equals.profile",  21, "cpi", "missing '='" },
	{ "empty-value.profile",      3, "description", "empty value" },
	{ "nan.profile",             24, "walk_ref", "expected a number, got 'nan'" },
	{ "negative.profile",        26, "syscall", "-120 out of range" },
	{ "unknown-size.profile",    11, "tlb.l1.1", "unknown page size '8k'" },
	{ "bad-repl.profile",        13, "tlb.l2.0", "unknown replacement policy 'fifo'" },
	{ "long-line.profile",        3, "description", "line longer than 1024 bytes" },
	{ "unknown-exit.profile",    29, "exit_handler.ept_violaton", "unknown exit reason 'ept_violaton'" },
	{ "name-mismatch.profile",    2, "name", "'skylake' does not match the file name" },
	{ "huge-number.profile",     27, "exit_roundtrip", "1e400 out of range" },
	{ "array-gap.profile",       11, "tlb.l1.2", "no 'tlb.l1.1'" },
	{ "bool-range.profile",       6, "vpid", "expected 0 or 1, got '2'" },
	{ "gbpages-1g.profile",      12, "tlb.l1.2", "holds 1g pages, but gbpages = 0" },
	{ "cache-sets.profile",      33, "cache.llc", "size 12m is not ways 16 x line 64 x a power of two" },
	{ "cache-size.profile",      32, "cache.l2", "expected a size (bytes, or with a k or m suffix), got '256q'" },
	{ "cache-size-range.profile", 33, "cache.llc", "size 4096m out of range" },
	{ "cache-line.profile",      30, "cache.line", "line 48 is not a power of two" },
	{ "cache-fields.profile",    31, "cache.l1d", "expected 'SIZE WAYS LATENCY'" },
	{ "cache-absent-l1d.profile", 31, "cache.l1d", "cannot be absent" },
	{ "cache-absent-form.profile", 33, "cache.llc", "an absent level is written '0 0 0'" },
	{ "cache-latency-order.profile", 32, "cache.l2", "latency 3 is not above cache.l1d's 4" },
	{ "cache-dram-latency.profile", 34, "dram_latency", "30 is not above cache.llc's latency 44" },
	{ "cache-missing-l2.profile", 0, "cache.l2", "missing key 'cache.l2'" },
	{ "core-rfos.profile",       56, "store_rfos", "57 is above store_buffer 56" },
};

ParameterizedTestParameters(profile, bad_fixture_fails)
{
	return cr_make_param_array(struct bad_case, bad_cases, ARRAY_SIZE(bad_cases));
}

ParameterizedTest(struct bad_case *c, profile, bad_fixture_fails)
{
	char path[512], prefix[600], err[512];
	struct profile p, untouched;

	snprintf(path, sizeof(path), "%s/%s", BAD_PROFILES, c->file);
	if (c->line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%u: key '%s': ", path, c->line, c->key);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", path);
	memset(&p, 0xa5, sizeof(p));
	untouched = p;

	cr_assert_eq(profile_load(&p, path, err, sizeof(err)), -1, "%s loaded", c->file);
	assert_one_line(err, prefix);
	cr_assert_not_null(strstr(err, c->key), "%s", err);
	cr_assert_not_null(strstr(err, c->what), "'%s' lacks '%s'", err, c->what);
	cr_assert(memcmp(&p, &untouched, sizeof(p)) == 0, "a failed load changed *p");

	/* profile_find takes the same path and gives the same message. */
	cr_assert_eq(profile_find(&p, path, err, sizeof(err)), -1);
	assert_one_line(err, prefix);
}

/* Every fixture on disk is in the table above, so none goes untested. */
Test(profile, every_fixture_is_tested)
{
	DIR *d = opendir(BAD_PROFILES);
	struct dirent *de;
	unsigned files = 0;
	size_t i;

	cr_assert_not_null(d, "cannot open %s", BAD_PROFILES);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		files++;
		for (i = 0; i < ARRAY_SIZE(bad_cases); i++)
			if (strcmp(de->d_name, bad_cases[i].file) == 0)
				break;
		cr_assert_lt(i, ARRAY_SIZE(bad_cases), "fixture %s has no test case", de->d_name);
	}
	closedir(d);
	cr_assert_eq(files, ARRAY_SIZE(bad_cases));
}

/* ------------------------------------------------------------------ */
/* Damage: whatever the bytes, one clean answer                        */
/* ------------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void assert_clean_answer(const char *path, int r, const char *err)
{
	char prefix[300];

	if (r == 0)
		return;
	cr_assert_eq(r, -1);
	snprintf(prefix, sizeof(prefix), "%s:", path);
	assert_one_line(err, prefix);
}

Test(profile, survives_random_damage, .fini = remove_tmpdir)
{
	char text[2 * sizeof(good_text)], err[512];
	uint64_t seed = 0x9e3779b97f4a7c15u;
	struct profile p;
	const char *path;
	unsigned iter;
	size_t n;

	make_tmpdir();
	for (iter = 0; iter < 3000; iter++) {
		size_t at, edits = 1 + rng_next(&seed) % 4, e;

		memcpy(text, good_text, sizeof(good_text) - 1);
		n = sizeof(good_text) - 1;
		for (e = 0; e < edits; e++) {
			at = rng_next(&seed) % n;
			switch (rng_next(&seed) % 4) {
			case 0:		/* overwrite a byte with anything */
				text[at] = (char)rng_next(&seed);
				break;
			case 1:		/* delete a byte */
				memmove(text + at, text + at + 1, n - at - 1);
				n--;
				break;
			case 2:		/* insert an interesting byte */
				memmove(text + at + 1, text + at, n - at);
				text[at] = "=#,\n\r\t 0-.e"[rng_next(&seed) % 11];
				n++;
				break;
			default:	/* cut the file short */
				n = at;
				break;
			}
			if (n == 0)
				break;
		}
		path = write_profile("good", text, n);
		assert_clean_answer(path, profile_load(&p, path, err, sizeof(err)), err);
	}
}

Test(profile, survives_binary_and_endless_lines, .fini = remove_tmpdir)
{
	static char junk[200000];
	uint64_t seed = 12345;
	char err[512];
	struct profile p;
	const char *path;
	size_t i;

	make_tmpdir();
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (char)rng_next(&seed);
	path = write_profile("good", junk, sizeof(junk));
	assert_clean_answer(path, profile_load(&p, path, err, sizeof(err)), err);
	cr_assert_neq(profile_load(&p, path, err, sizeof(err)), 0);

	memset(junk, 'a', sizeof(junk));	/* one 200 kB line, no newline */
	path = write_profile("good", junk, sizeof(junk));
	cr_assert_eq(profile_load(&p, path, err, sizeof(err)), -1);
	assert_clean_answer(path, -1, err);
	cr_assert_not_null(strstr(err, "line longer than 1024 bytes"), "%s", err);

	path = write_profile("good", "", 0);
	cr_assert_eq(profile_load(&p, path, err, sizeof(err)), -1);
	assert_one_line(err, "/");
	cr_assert_not_null(strstr(err, ": missing key 'name'"), "%s", err);
}
