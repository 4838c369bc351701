/*
 * test_files.c - input files are read only when they are regular files
 * (a FIFO is never waited on), reading is bounded, `--list` says what it
 * skipped, and output that cannot be written is an error, never silence.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmmrun.h"

/* A fresh directory under /tmp for this test's files. */
static void tmpdir(char path[64])
{
	strcpy(path, "/tmp/vmm-files-XXXXXX");
	cr_assert_not_null(mkdtemp(path));
}

static void assert_one_line_2(const struct vmmrun *r, const char *expect)
{
	cr_assert_eq(r->signal, 0, "killed by signal %d", r->signal);
	cr_assert_eq(r->status, 2, "exit status %d, stderr: %s", r->status, r->err);
	cr_assert_eq(vmmrun_lines(r->err), 1, "want one line, got: %s", r->err);
	cr_assert(strstr(r->err, expect) != NULL, "'%s' not in: %s", expect, r->err);
	cr_assert_str_eq(r->out, "", "nothing on stdout for bad input");
}

/* No writer ever opens the FIFO: a blocking open would hang until the
 * test's timeout fails it. */
Test(files, fifo_profile_is_refused_at_once, .timeout = 20)
{
	char dir[64], fifo[128], arg[160];
	const char *args[] = { arg, NULL };
	struct vmmrun r;

	tmpdir(dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo.profile", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	snprintf(arg, sizeof(arg), "--cpu=%s", fifo);
	vmmrun(&r, args);
	assert_one_line_2(&r, "not a regular file (a FIFO)");
	vmmrun_free(&r);
	unlink(fifo);
	rmdir(dir);
}

Test(files, list_skips_non_regular_files_and_says_so, .timeout = 20)
{
	char dir[64], path[128], line[2048];
	const char *args[] = { "--list", NULL };
	const char *src = getenv("MEMVIRT_PROFILES");
	struct vmmrun r;
	FILE *in, *out;

	cr_assert_not_null(src, "MEMVIRT_PROFILES names the shipped profiles");
	tmpdir(dir);
	snprintf(path, sizeof(path), "%s/fifo.profile", dir);
	cr_assert_eq(mkfifo(path, 0600), 0);
	snprintf(path, sizeof(path), "%s/sub.profile", dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	/* one good profile beside them, copied from the shipped skylake */
	snprintf(path, sizeof(path), "%s/skylake.profile", src);
	in = fopen(path, "r");
	cr_assert_not_null(in);
	snprintf(path, sizeof(path), "%s/skylake.profile", dir);
	out = fopen(path, "w");
	cr_assert_not_null(out);
	while (fgets(line, sizeof(line), in))
		fputs(line, out);
	fclose(in);
	cr_assert_eq(fclose(out), 0);

	setenv("MEMVIRT_PROFILES", dir, 1);
	vmmrun(&r, args);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	cr_assert(strstr(r.out, "fifo           (skipped: ") != NULL, "%s", r.out);
	cr_assert(strstr(r.out, "fifo.profile: not a regular file (a FIFO)") != NULL, "%s", r.out);
	cr_assert(strstr(r.out, "sub.profile: not a regular file (a directory)") != NULL,
		  "%s", r.out);
	cr_assert(strstr(r.out, "skylake        Intel") != NULL, "%s", r.out);
	vmmrun_free(&r);
	unlink(path);
	snprintf(path, sizeof(path), "%s/fifo.profile", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sub.profile", dir);
	rmdir(path);
	rmdir(dir);
}

/* A file of comment lines only: the line bound stops it, not the end. */
Test(files, profile_reading_is_bounded_in_lines_and_bytes, .timeout = 30)
{
	char dir[64], path[128], arg[160];
	const char *args[] = { arg, NULL };
	struct vmmrun r;
	FILE *f;
	int i;

	tmpdir(dir);
	snprintf(path, sizeof(path), "%s/lines.profile", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	for (i = 0; i < 5000; i++)
		fputs("# nothing\n", f);
	cr_assert_eq(fclose(f), 0);
	snprintf(arg, sizeof(arg), "--cpu=%s", path);
	vmmrun(&r, args);
	assert_one_line_2(&r, "lines.profile:4097: more than 4096 lines");
	vmmrun_free(&r);

	f = fopen(path, "w");
	cr_assert_not_null(f);
	for (i = 0; i < 1000; i++)
		fprintf(f, "# %0500d\n", i);
	cr_assert_eq(fclose(f), 0);
	vmmrun(&r, args);
	assert_one_line_2(&r, "longer than 262144");
	vmmrun_free(&r);
	unlink(path);
	rmdir(dir);
}

/* Every write is checked: a full stdout is an error line and status 3. */
Test(files, full_stdout_is_an_error, .timeout = 60)
{
	const char *run[] = { "--workload=getppid", "--param", "iters=10", "--quiet", NULL };
	const char *list[] = { "--list", NULL };
	const char *help[] = { "--help", NULL };
	const char *const *cases[] = { run, list, help };
	struct vmmrun r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vmmrun_to(&r, cases[i], "/dev/full");
		cr_assert_eq(r.signal, 0);
		cr_assert_eq(r.status, 3, "%s: exit status %d, stderr: %s", cases[i][0],
			     r.status, r.err);
		cr_assert_eq(vmmrun_lines(r.err), 1, "%s: want one line: %s", cases[i][0], r.err);
		cr_assert(strstr(r.err, "cannot write the output to stdout: No space left "
				 "on device") != NULL, "%s: %s", cases[i][0], r.err);
		vmmrun_free(&r);
	}
}
