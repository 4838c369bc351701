/* ept.c - placeholder until the backend lands. */
#include <errno.h>

#include "ept.h"

static int ept_init(struct mmu *m)
{
	(void)m;
	return -ENOSYS;
}

const struct mmu_ops ept_mmu_ops = {
	.name = "ept",
	.desc = "(not yet built)",
	.init = ept_init,
};
