/*
 * workloads.c - the table of workloads, by name.
 */
#include <string.h>

#include "workloads.h"

const struct workload *const wl_table[] = {
	&wl_memsweep,
	&wl_forkwait,
	&wl_getppid,
	&wl_countprimes,
	&wl_fib,
	&wl_cpuid,
	&wl_touch,
	NULL,
};

const struct workload *wl_find(const char *name)
{
	size_t i;

	for (i = 0; wl_table[i]; i++)
		if (strcmp(wl_table[i]->name, name) == 0)
			return wl_table[i];
	return NULL;
}

int wl_param_index(const struct workload *w, const char *key)
{
	int i;

	for (i = 0; i < WL_MAX_PARAMS && w->params[i].key; i++)
		if (strcmp(w->params[i].key, key) == 0)
			return i;
	return -1;
}
