/*
 * shadow.h - the shadow MMU backend.
 */
#ifndef MEMVIRT_SHADOW_H
#define MEMVIRT_SHADOW_H

#include "mmu.h"

extern const struct mmu_ops shadow_mmu_ops;

#endif /* MEMVIRT_SHADOW_H */
