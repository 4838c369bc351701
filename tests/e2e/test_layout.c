/*
 * test_layout.c - every configuration that loads either runs or is
 * refused up front: over the shipped profiles (and copies of skylake with
 * maxphyaddr 32..36), each MMU, and guest RAM at its extremes (16m, 64g,
 * and just below what 2^maxphyaddr leaves), vmm exits 0 with the row, or
 * 2 with one line naming maxphyaddr and nothing on stdout. Never exit 1
 * (a VMM table out of the hardware's reach reported as a guest crash),
 * never a signal. Tiny runs: getppid with 10 calls.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmmrun.h"

#define MiB	(UINT64_C(1) << 20)
#define GiB	(UINT64_C(1) << 30)

/* maxphyaddr of the profile at path, 0 if none is found. */
static unsigned profile_mpa(const char *path)
{
	char line[1024];
	unsigned v = 0;
	FILE *f = fopen(path, "r");

	cr_assert_not_null(f, "%s", path);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "maxphyaddr = %u", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* One profile: every MMU at every guest-mem extreme. */
static void check_profile(const char *path, unsigned mpa)
{
	static const char *const mmus[] = { "native", "shadow", "ept" };
	uint64_t top = mpa >= 36 ? 64 * GiB : UINT64_C(1) << mpa;
	uint64_t sizes[] = { 16 * MiB, 64 * GiB, top - 2 * MiB, top - 132 * MiB };
	char cpu[300], mmu[32], gm[64];
	const char *args[] = { cpu, mmu, gm, "--workload=getppid", "--param", "iters=10",
			       "--quiet", NULL };
	size_t i, j;

	snprintf(cpu, sizeof(cpu), "--cpu=%s", path);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char native_sum[64] = "";

		for (j = 0; j < 3; j++) {
			uint64_t g = sizes[i], limit = UINT64_C(1) << mpa;
			/* what the MMU's tables need at most, with room to spare */
			uint64_t need = j == 0 ? 0 : j == 1 ? 2 * MiB : g / 256 + 4 * MiB;
			bool must_run = g + need <= limit && !(j == 2 && mpa < 36);
			struct vmmrun r;

			snprintf(mmu, sizeof(mmu), "--mmu=%s", mmus[j]);
			snprintf(gm, sizeof(gm), "--guest-mem=%" PRIu64 "m", g / MiB);
			vmmrun(&r, args);
			cr_assert_eq(r.signal, 0, "%s %s %s: signal %d: %s", cpu, mmu, gm,
				     r.signal, r.err);
			cr_assert(r.status == 0 || r.status == 2, "%s %s %s: exit %d: %s", cpu,
				  mmu, gm, r.status, r.err);
			if (must_run)
				cr_assert_eq(r.status, 0, "%s %s %s fits below 2^%u, yet: %s", cpu,
					     mmu, gm, mpa, r.err);
			if (g > limit || (j > 0 && g == limit) || (j == 2 && mpa < 36))
				cr_assert_eq(r.status, 2, "%s %s %s cannot fit below 2^%u, yet it "
					     "ran", cpu, mmu, gm, mpa);
			if (r.status == 2) {
				cr_assert_str_eq(r.out, "", "%s %s %s: rows before the error", cpu,
						 mmu, gm);
				cr_assert_eq(vmmrun_lines(r.err), 1, "%s", r.err);
				cr_assert(strstr(r.err, "maxphyaddr") != NULL, "%s", r.err);
			} else {
				const char *sum;

				cr_assert_eq(r.nrows, 1, "%s %s %s: %d rows", cpu, mmu, gm, r.nrows);
				sum = vmmrun_get(&r, 0, "checksum");
				cr_assert_not_null(sum);
				if (j == 0)
					snprintf(native_sum, sizeof(native_sum), "%s", sum);
				else if (native_sum[0])
					cr_assert_str_eq(sum, native_sum, "%s %s %s: checksum", cpu,
							 mmu, gm);
			}
			vmmrun_free(&r);
		}
	}
}

Test(layout, shipped_profiles_x_guest_mem_extremes_x_mmus, .timeout = 600)
{
	const char *dir = getenv("MEMVIRT_PROFILES");
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	cr_assert_not_null(dir);
	d = opendir(dir);
	cr_assert_not_null(d);
	while ((de = readdir(d)) != NULL) {
		char path[512];
		size_t len = strlen(de->d_name);

		if (len < 9 || strcmp(de->d_name + len - 8, ".profile") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		check_profile(path, profile_mpa(path));
		n++;
	}
	closedir(d);
	cr_assert_geq(n, 5, "the shipped profiles were found");
}

/* skylake with maxphyaddr 32..36: below what EPT needs, and small
 * enough that guest RAM itself can overflow it. */
Test(layout, small_maxphyaddr, .timeout = 300)
{
	char dir[] = "/tmp/vmm-layout-XXXXXX", src[512], dst[600], line[1024];
	const char *root = getenv("MEMVIRT_PROFILES");
	unsigned mpa;

	cr_assert_not_null(root);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(src, sizeof(src), "%s/skylake.profile", root);
	for (mpa = 32; mpa <= 36; mpa++) {
		FILE *in = fopen(src, "r"), *out;
		const char *both[] = { NULL, "--mmu=native,ept", "--workload=getppid",
				       "--param", "iters=10", "--quiet", NULL };
		char cpu[700];
		struct vmmrun r;

		snprintf(dst, sizeof(dst), "%s/mpa%u.profile", dir, mpa);
		out = fopen(dst, "w");
		cr_assert(in && out);
		while (fgets(line, sizeof(line), in)) {
			if (strncmp(line, "name ", 5) == 0)
				fprintf(out, "name = mpa%u\n", mpa);
			else if (strncmp(line, "maxphyaddr ", 11) == 0)
				fprintf(out, "maxphyaddr = %u\n", mpa);
			else
				fputs(line, out);
		}
		fclose(in);
		cr_assert_eq(fclose(out), 0);
		check_profile(dst, mpa);
		/* the probe: no native row first, then an EPT error */
		snprintf(cpu, sizeof(cpu), "--cpu=%s", dst);
		both[0] = cpu;
		vmmrun(&r, both);
		if (mpa < 36) {
			cr_assert_eq(r.status, 2, "mpa %u: %s", mpa, r.err);
			cr_assert_str_eq(r.out, "", "mpa %u: rows before the error", mpa);
			cr_assert(strstr(r.err, "ept MMU needs maxphyaddr >= 36") != NULL, "%s",
				  r.err);
		} else {
			cr_assert_eq(r.status, 0, "mpa %u: %s", mpa, r.err);
			cr_assert_eq(r.nrows, 2);
		}
		vmmrun_free(&r);
		unlink(dst);
	}
	rmdir(dir);
}
