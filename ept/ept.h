/*
 * ept.h - the ept MMU backend.
 */
#ifndef MEMVIRT_EPT_H
#define MEMVIRT_EPT_H

#include "mmu.h"

extern const struct mmu_ops ept_mmu_ops;

#endif /* MEMVIRT_EPT_H */
