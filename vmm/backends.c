/*
 * backends.c - the MMU backends by name. The table lives in vmm/ rather
 * than mmu/ because it names backends from folders built on top of mmu/
 * (shadow/, ept/); mmu/ stays free of upward references.
 */
#include <string.h>

#include "ept.h"
#include "shadow.h"
#include "vmm.h"

const struct mmu_ops *const vmm_backends[] = {
	&native_mmu_ops,
	&shadow_mmu_ops,
	&ept_mmu_ops,
	NULL,
};

const struct mmu_ops *vmm_backend_find(const char *name)
{
	size_t i;

	for (i = 0; vmm_backends[i]; i++)
		if (strcmp(vmm_backends[i]->name, name) == 0)
			return vmm_backends[i];
	return NULL;
}
