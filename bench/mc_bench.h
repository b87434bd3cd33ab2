/* mc_bench.h: a C API over Google Benchmark for mimecodec's benchmarks.
 * The benchmarks are plain C; mc_bench_shim.cc (the only C++ file) adapts
 * this API to benchmark::State, owns main() and registers what the C files
 * declared. See /work/shared/TOOLCHAIN.md A.1 for the design.
 *
 * Registration is two-step: MC_BENCH_REGISTRAR(fn) runs fn from main(), after
 * static initialisation and before the benchmarks are started, so registrars
 * may call into the library (mc_isa_supported) and build names at run time. */
#ifndef MC_BENCH_H
#define MC_BENCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque: wraps one benchmark::State plus the registered user value. */
typedef struct mc_bench_state mc_bench_state;
typedef void (*mc_bench_fn)(mc_bench_state *s);
typedef void (*mc_bench_registrar)(void);

/* ---- inside a benchmark -------------------------------------------------- */

/* state.KeepRunning(): 1 while the timed loop should go on. */
int mc_bench_next(mc_bench_state *s);

/* state.KeepRunningBatch(n), for bodies shorter than about 50 ns. */
int mc_bench_next_batch(mc_bench_state *s, int64_t n);

/* state.range(index): the size the benchmark was registered with is index 0. */
int64_t mc_bench_arg(const mc_bench_state *s, int index);

/* The user value given to mc_bench_register_sizes. */
intptr_t mc_bench_user(const mc_bench_state *s);

/* Iterations run so far (after the loop: the total). */
int64_t mc_bench_iterations(const mc_bench_state *s);

/* SetBytesProcessed(iterations * bytes_per_iter); call after the loop. */
void mc_bench_set_bytes(mc_bench_state *s, int64_t bytes_per_iter);
void mc_bench_set_items(mc_bench_state *s, int64_t items_per_iter);
void mc_bench_counter(mc_bench_state *s, const char *name, double value);
void mc_bench_label(mc_bench_state *s, const char *label);
void mc_bench_pause(mc_bench_state *s);
void mc_bench_resume(mc_bench_state *s);

/* SkipWithError. The shim also counts it: mc_bench then exits with status 1,
 * which is what makes the bench_smoke test fail. Leave the loop afterwards
 * (do not call mc_bench_next again). */
void mc_bench_skip(mc_bench_state *s, const char *why);

/* ---- registration (from a registrar, or from a constructor) -------------- */

/* One benchmark per size: the run names are "<name>/<size>". name is copied. */
void mc_bench_register_sizes(const char *name, mc_bench_fn fn, intptr_t user, const int64_t *sizes,
                             size_t nsizes);

/* Google Benchmark's RangeMultiplier(mult)->Range(lo, hi). */
void mc_bench_register_range(const char *name, mc_bench_fn fn, int64_t lo, int64_t hi, int mult);

/* A benchmark without arguments. */
void mc_bench_register(const char *name, mc_bench_fn fn);

/* Queues fn to run from main() before the benchmarks are registered. Use
 * MC_BENCH_REGISTRAR rather than calling it. */
void mc_bench_add_registrar(mc_bench_registrar fn);

#define MC_BENCH_REGISTRAR(fn)                                            \
	__attribute__((constructor)) static void mc_bench_ctor_##fn(void) \
	{                                                                 \
		mc_bench_add_registrar(fn);                               \
	}

/* DoNotOptimize, C flavour: the compiler must assume *p is read and written. */
static inline void mc_bench_keep(const void *p)
{
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

/* ---- shared benchmark data (bench_data.c) -------------------------------- */

/* The sizes every codec benchmark runs: 64 B to 64 MiB in powers of 4
 * (so 4 KiB, 64 KiB, 16 MiB and 64 MiB are among them). */
extern const int64_t mc_bench_sizes[];
extern const size_t mc_bench_nsizes;
#define MC_BENCH_MAX_SIZE ((size_t)64 << 20)

/* Random payload bytes (fixed seed), MC_BENCH_MAX_SIZE of them. The pointer
 * is stable; the first call builds it. NULL if out of memory. */
const unsigned char *mc_bench_random(void);

/* Encodings of the first n payload bytes, cached per size:
 *   MC_BENCH_ENC_PLAIN  one unbroken line, padded (what strict decoders take)
 *   MC_BENCH_ENC_MIME   76 columns, CRLF after every line (RFC 2045)
 * Produced by the scalar kernels through the streaming API; the peers'
 * encoders are checked against the plain form. NULL if out of memory. */
enum mc_bench_enc { MC_BENCH_ENC_PLAIN = 0, MC_BENCH_ENC_MIME = 1 };
const char *mc_bench_encoded(int kind, size_t n, size_t *len);

/* A pre-faulted scratch buffer of at least n bytes, shared by all
 * benchmarks (they run one at a time). NULL if out of memory. */
void *mc_bench_scratch(size_t n);

#ifdef __cplusplus
}
#endif
#endif
