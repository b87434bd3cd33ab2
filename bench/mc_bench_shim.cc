// mc_bench_shim.cc: the only C++ file of the benchmarks. Adapts the C API of
// mc_bench.h to Google Benchmark (Debian's libbenchmark 1.7.1), owns main()
// and registers the benchmarks the C files declared. Do not link
// benchmark::benchmark_main: main() is here.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "mc_bench.h"

struct mc_bench_state {
	benchmark::State *st;
	intptr_t user;
};

namespace
{

// POD arrays, zero-initialised before any constructor runs: safe whatever order
// the C constructors (MC_BENCH_REGISTRAR) run in relative to C++ statics.
mc_bench_registrar g_registrars[256];
int g_nregistrars;
int g_errors; // benchmarks that called mc_bench_skip

inline benchmark::State &S(mc_bench_state *s)
{
	return *s->st;
}

benchmark::internal::Benchmark *reg(const char *name, mc_bench_fn fn, intptr_t user)
{
	return benchmark::RegisterBenchmark(name, [fn, user](benchmark::State &st) {
		mc_bench_state s{&st, user};
		fn(&s);
	});
}

} // namespace

extern "C" {

int mc_bench_next(mc_bench_state *s)
{
	return S(s).KeepRunning();
}

int mc_bench_next_batch(mc_bench_state *s, int64_t n)
{
	return S(s).KeepRunningBatch(static_cast<benchmark::IterationCount>(n));
}

int64_t mc_bench_arg(const mc_bench_state *s, int index)
{
	return static_cast<const benchmark::State &>(*s->st).range(index);
}

intptr_t mc_bench_user(const mc_bench_state *s)
{
	return s->user;
}

int64_t mc_bench_iterations(const mc_bench_state *s)
{
	return static_cast<int64_t>(s->st->iterations());
}

void mc_bench_set_bytes(mc_bench_state *s, int64_t bytes_per_iter)
{
	S(s).SetBytesProcessed(static_cast<int64_t>(S(s).iterations()) * bytes_per_iter);
}

void mc_bench_set_items(mc_bench_state *s, int64_t items_per_iter)
{
	S(s).SetItemsProcessed(static_cast<int64_t>(S(s).iterations()) * items_per_iter);
}

void mc_bench_counter(mc_bench_state *s, const char *name, double value)
{
	S(s).counters[name] = value;
}

void mc_bench_label(mc_bench_state *s, const char *label)
{
	S(s).SetLabel(label);
}

void mc_bench_pause(mc_bench_state *s)
{
	S(s).PauseTiming();
}

void mc_bench_resume(mc_bench_state *s)
{
	S(s).ResumeTiming();
}

void mc_bench_skip(mc_bench_state *s, const char *why)
{
	g_errors++;
	S(s).SkipWithError(why);
}

void mc_bench_register_sizes(const char *name, mc_bench_fn fn, intptr_t user, const int64_t *sizes,
                             size_t nsizes)
{
	auto *b = reg(name, fn, user);
	for (size_t i = 0; i < nsizes; i++)
		b->Arg(sizes[i]);
}

void mc_bench_register_range(const char *name, mc_bench_fn fn, int64_t lo, int64_t hi, int mult)
{
	reg(name, fn, 0)->RangeMultiplier(mult)->Range(lo, hi);
}

void mc_bench_register(const char *name, mc_bench_fn fn)
{
	reg(name, fn, 0);
}

void mc_bench_add_registrar(mc_bench_registrar fn)
{
	if (g_nregistrars == static_cast<int>(sizeof g_registrars / sizeof g_registrars[0])) {
		std::fputs("mc_bench: too many registrars\n", stderr);
		std::abort();
	}
	g_registrars[g_nregistrars++] = fn;
}

} // extern "C"

int main(int argc, char **argv)
{
	for (int i = 0; i < g_nregistrars; i++)
		g_registrars[i]();
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	if (g_errors) {
		std::fprintf(stderr, "mc_bench: %d benchmark run(s) reported an error\n", g_errors);
		return 1;
	}
	return 0;
}
