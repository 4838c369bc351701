/* shadow.c - placeholder until the backend lands. */
#include <errno.h>

#include "shadow.h"

static int shadow_init(struct mmu *m)
{
	(void)m;
	return -ENOSYS;
}

const struct mmu_ops shadow_mmu_ops = {
	.name = "shadow",
	.desc = "(not yet built)",
	.init = shadow_init,
};
