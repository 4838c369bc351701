/*
 * vmmrun.h - run the vmm binary from a test and parse its CSV.
 */
#ifndef MEMVIRT_TESTS_VMMRUN_H
#define MEMVIRT_TESTS_VMMRUN_H

#include <stddef.h>

#define VMMRUN_MAX_ROWS	32
#define VMMRUN_MAX_COLS	192

struct vmmrun {
	int	status;			/* exit status, or -1 if killed by a signal */
	int	signal;			/* the signal, if any */
	char	*out;			/* stdout */
	char	*err;			/* stderr */
	int	ncols;
	char	*col[VMMRUN_MAX_COLS];	/* header names */
	int	nrows;
	char	*cell[VMMRUN_MAX_ROWS][VMMRUN_MAX_COLS];
};

/* vmmrun - run $VMM with a NULL-terminated argv (without argv[0]). */
void vmmrun(struct vmmrun *r, const char *const *args);
/* vmmrun_to - the same with stdout going to stdout_path (opened for
 * writing; r->out stays empty), e.g. /dev/full. */
void vmmrun_to(struct vmmrun *r, const char *const *args, const char *stdout_path);
void vmmrun_free(struct vmmrun *r);

/* vmmrun_get - the cell of column `name` in row `row`, or NULL. */
const char *vmmrun_get(const struct vmmrun *r, int row, const char *name);
double vmmrun_num(const struct vmmrun *r, int row, const char *name);

/* vmmrun_lines - how many newline-terminated lines s holds. */
int vmmrun_lines(const char *s);

#endif
