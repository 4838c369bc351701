/*
 * fuzz_profile.c - libFuzzer harness for the CPU profile parser: each
 * input is written to DIR/fuzz.profile (a regular file, so the stem
 * "fuzz" is what a "name = fuzz" line must say) and loaded. The loader
 * must return 0 or -1 with a one-line message of printable ASCII (what
 * it quotes escaped); a load that succeeds must
 * load again from the same bytes to the same profile.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[256];
static int fd = -1;

static void setup(void)
{
	char dir[] = "/tmp/memvirt-fuzz-XXXXXX";

	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/fuzz.profile", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct profile p, q;
	char err[512];
	int r;

	if (fd < 0)
		setup();
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	memset(err, 0, sizeof(err));
	r = profile_load(&p, path, err, sizeof(err));
	if (r != 0 && r != -1)
		abort();		/* -2 is for files that are not regular */
	if (r == 0) {
		if (profile_load(&q, path, err, sizeof(err)) != 0 ||
		    memcmp(&p, &q, sizeof(p)) != 0)
			abort();	/* the same bytes, a different profile */
		return 0;
	}
	if (err[0] == '\0')
		abort();		/* no message */
	for (r = 0; err[r] != '\0'; r++)
		if ((unsigned char)err[r] < 0x20 || (unsigned char)err[r] >= 0x7f)
			abort();	/* not one line of printable ASCII */
	return 0;
}
