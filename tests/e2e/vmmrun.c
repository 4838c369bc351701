/*
 * vmmrun.c - spawn the vmm binary with its output in temporary files.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmmrun.h"

static char *slurp(int fd)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	ssize_t n;

	if (!buf)
		abort();
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
	}
	buf[len] = '\0';
	return buf;
}

static int tmpfd(void)
{
	char path[] = "/tmp/vmmrun-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		abort();
	unlink(path);
	return fd;
}

/* Split the CSV in r->out (no quoting: our CSV never needs it). */
static void parse_csv(struct vmmrun *r)
{
	char *save = NULL, *line;
	char *copy = strdup(r->out);
	int row = -1;

	r->nrows = 0;
	r->ncols = 0;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *rest = line, *f;
		int c = 0;

		/* strsep, not strtok: an empty field (an interval with too
		 * few windows, a text column left empty) is a field */
		while ((f = strsep(&rest, ",")) != NULL && c < VMMRUN_MAX_COLS) {
			if (row < 0)
				r->col[c] = strdup(f);
			else
				r->cell[row][c] = strdup(f);
			c++;
		}
		if (row < 0)
			r->ncols = c;
		else
			r->nrows = row + 1;
		if (++row >= VMMRUN_MAX_ROWS)
			break;
	}
	free(copy);
}

void vmmrun(struct vmmrun *r, const char *const *args)
{
	vmmrun_to(r, args, NULL);
}

void vmmrun_to(struct vmmrun *r, const char *const *args, const char *stdout_path)
{
	const char *vmm = getenv("VMM");
	const char *argv[64];
	int out = tmpfd(), err = tmpfd(), st, i;
	int to = stdout_path ? open(stdout_path, O_WRONLY) : out;
	pid_t pid;

	if (to < 0)
		abort();

	memset(r, 0, sizeof(*r));
	argv[0] = vmm ? vmm : "vmm";
	for (i = 0; args[i] && i < 62; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	pid = fork();
	if (pid == 0) {
		dup2(to, 1);
		dup2(err, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	r->out = slurp(out);
	r->err = slurp(err);
	if (to != out)
		close(to);
	close(out);
	close(err);
	parse_csv(r);
}

void vmmrun_free(struct vmmrun *r)
{
	int i, j;

	for (i = 0; i < r->ncols; i++)
		free(r->col[i]);
	for (j = 0; j < r->nrows; j++)
		for (i = 0; i < VMMRUN_MAX_COLS; i++)
			free(r->cell[j][i]);
	free(r->out);
	free(r->err);
}

const char *vmmrun_get(const struct vmmrun *r, int row, const char *name)
{
	int c;

	if (row >= r->nrows)
		return NULL;
	for (c = 0; c < r->ncols; c++)
		if (strcmp(r->col[c], name) == 0)
			return r->cell[row][c];
	return NULL;
}

double vmmrun_num(const struct vmmrun *r, int row, const char *name)
{
	const char *s = vmmrun_get(r, row, name);

	return s ? strtod(s, NULL) : -1.0;
}

int vmmrun_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}
