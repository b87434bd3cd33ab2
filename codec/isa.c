/* isa.c: run-time choice of the kernel set (scalar, AVX2, AVX-512, NEON).
 * The only process-wide state of the codecs: the active choice, written once
 * (idempotently) through a relaxed atomic. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mimecodec/isa.h"
#include "isa_internal.h"

static const char *const isa_names[MC_ISA_COUNT_] = {"scalar", "avx2", "avx512", "neon"};

const char *mc_isa_name(int isa)
{
	if (isa == MC_ISA_AUTO)
		return "auto";
	if (isa < 0 || isa >= MC_ISA_COUNT_)
		return NULL;
	return isa_names[isa];
}

int mc_isa_from_name(const char *name)
{
	if (!name)
		return -2;
	if (strcmp(name, "auto") == 0)
		return MC_ISA_AUTO;
	for (int i = 0; i < MC_ISA_COUNT_; i++)
		if (strcmp(name, isa_names[i]) == 0)
			return i;
	if (strcmp(name, "avx512vbmi") == 0)
		return MC_ISA_AVX512;
	return -2;
}

int mc__cpu_can(int isa)
{
	switch (isa) {
	case MC_ISA_SCALAR:
		return 1;
#if defined(__x86_64__) || defined(__i386__)
	case MC_ISA_AVX2:
		__builtin_cpu_init();
		return __builtin_cpu_supports("avx2");
	case MC_ISA_AVX512:
		/* libgcc/compiler-rt also check that the OS saves ZMM and opmask
		 * state (XCR0), so a kernel without AVX-512 support reads 0. */
		__builtin_cpu_init();
		return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		       __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vbmi") &&
		       __builtin_cpu_supports("avx512vbmi2");
#endif
#if defined(__aarch64__)
	case MC_ISA_NEON:
		return 1; /* Advanced SIMD is mandatory in ARMv8-A */
#endif
	default:
		return 0;
	}
}

static int compiled_in(int isa)
{
	switch (isa) {
	case MC_ISA_SCALAR:
		return 1;
	case MC_ISA_AVX2:
		return MC_HAVE_AVX2;
	case MC_ISA_AVX512:
		return MC_HAVE_AVX512;
	case MC_ISA_NEON:
		return MC_HAVE_NEON;
	default:
		return 0;
	}
}

int mc_isa_supported(int isa)
{
	return isa >= 0 && isa < MC_ISA_COUNT_ && compiled_in(isa) && mc__cpu_can(isa);
}

static int choose(void)
{
	int want = mc_isa_from_name(getenv("MIMECODEC_ISA"));
	int best = MC_ISA_SCALAR;
	static const int order[] = {MC_ISA_NEON, MC_ISA_AVX2, MC_ISA_AVX512};

	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
		if (mc_isa_supported(order[i]))
			best = order[i];
	if (want < 0 || want == best)
		return best;
	if (mc_isa_supported(want))
		return want;
	/* Forced but unavailable: the best supported set below it. */
	if (want == MC_ISA_AVX512 && mc_isa_supported(MC_ISA_AVX2))
		return MC_ISA_AVX2;
	return MC_ISA_SCALAR;
}

int mc_isa_active(void)
{
	static _Atomic int active = -1;
	int isa = atomic_load_explicit(&active, memory_order_relaxed);

	if (isa < 0) {
		isa = choose(); /* racing threads compute the same value */
		atomic_store_explicit(&active, isa, memory_order_relaxed);
	}
	return isa;
}
