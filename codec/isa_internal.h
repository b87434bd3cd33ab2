/* isa_internal.h: CPU feature detection shared by every codec's dispatch. */
#ifndef MC_ISA_INTERNAL_H
#define MC_ISA_INTERNAL_H

/* 1 if the running CPU (and OS register state) can execute isa's kernels;
 * says nothing about whether they were compiled in. */
int mc__cpu_can(int isa);

#endif
