/* mimecodec/isa.h: which SIMD kernel set the codecs run.
 *
 * The kernel set is chosen once, on first use, from the CPU. The environment
 * variable MIMECODEC_ISA=scalar|avx2|avx512|neon forces one (if the CPU or the
 * build lacks it, the best available set below it is used). Streaming states
 * can also be bound to one kernel set explicitly (mc_b64_encoder_init_isa),
 * which is how tests and benchmarks run every kernel in one process. */
#ifndef MIMECODEC_ISA_H
#define MIMECODEC_ISA_H

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

enum mc_isa {
	MC_ISA_AUTO = -1, /* the process-wide choice */
	MC_ISA_SCALAR = 0,
	MC_ISA_AVX2 = 1,
	MC_ISA_AVX512 = 2, /* AVX-512 F/BW/VL + VBMI (+ VBMI2 where used) */
	MC_ISA_NEON = 3,
	MC_ISA_COUNT_ = 4
};

/* "scalar", "avx2", "avx512", "neon"; "auto" for MC_ISA_AUTO; NULL if out of range. */
MC_API const char *mc_isa_name(int isa);

/* Parses a name as accepted by MIMECODEC_ISA; returns -2 for an unknown name. */
MC_API int mc_isa_from_name(const char *name);

/* 1 if the kernels for isa are compiled in and this CPU can run them. */
MC_API int mc_isa_supported(int isa);

/* The process-wide kernel set: MIMECODEC_ISA if set and supported, else the
 * best the CPU supports. Chosen once; thread-safe. */
MC_API int mc_isa_active(void);

#ifdef __cplusplus
}
#endif
#endif
