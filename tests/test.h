/* test.h: typed asserts for the unit tests. Each check counts as passed or
 * failed; failures print both values with file and line. A test program ends
 * with MC_TEST_END(), which prints "N passed, N failed" and sets the exit code. */
#ifndef MC_TEST_H
#define MC_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long mc_t_passed, mc_t_failed, mc_t_ctx_mark;

static int mc_t_report(int ok, const char *file, int line, const char *what)
{
	if (ok) {
		mc_t_passed++;
		return 1;
	}
	if (++mc_t_failed <= 40)
		fprintf(stderr, "%s:%d: FAIL %s\n", file, line, what);
	return 0;
}

#define CHECK(cond) mc_t_report(!!(cond), __FILE__, __LINE__, #cond)

#define CHECK_EQ_INT(a, b)                                                    \
	do {                                                                  \
		long long a_ = (long long)(a), b_ = (long long)(b);           \
		if (!mc_t_report(a_ == b_, __FILE__, __LINE__, #a " == " #b)) \
			fprintf(stderr, "    %lld != %lld\n", a_, b_);        \
	} while (0)

#define CHECK_EQ_SIZE(a, b)                                                                    \
	do {                                                                                   \
		unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
		if (!mc_t_report(a_ == b_, __FILE__, __LINE__, #a " == " #b))                  \
			fprintf(stderr, "    %llu != %llu\n", a_, b_);                         \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                            \
	do {                                                                          \
		const char *a_ = (a), *b_ = (b);                                      \
		if (!mc_t_report(a_ && b_ && strcmp(a_, b_) == 0, __FILE__, __LINE__, \
		                 #a " == " #b))                                       \
			fprintf(stderr, "    \"%s\" != \"%s\"\n", a_ ? a_ : "(null)", \
			        b_ ? b_ : "(null)");                                  \
	} while (0)

/* Memory equality; on failure prints the first differing offset. */
#define CHECK_EQ_MEM(a, na, b, nb) mc_t_check_mem(a, na, b, nb, __FILE__, __LINE__, #a " == " #b)

static int mc_t_check_mem(const void *a, size_t na, const void *b, size_t nb, const char *file,
                          int line, const char *what)
{
	size_t i = 0;

	if (na == nb && (na == 0 || memcmp(a, b, na) == 0))
		return mc_t_report(1, file, line, what);
	while (i < na && i < nb && ((const unsigned char *)a)[i] == ((const unsigned char *)b)[i])
		i++;
	mc_t_report(0, file, line, what);
	if (mc_t_failed <= 40)
		fprintf(stderr, "    lengths %zu and %zu, first difference at %zu\n", na, nb, i);
	return 0;
}

/* Context for the failures since the previous MC_TEST_CTX: put it at the end
 * of a loop body; it prints only if that iteration failed. */
#define MC_TEST_CTX(...)                                              \
	do {                                                          \
		if (mc_t_failed > mc_t_ctx_mark && mc_t_failed <= 40) \
			fprintf(stderr, "  in: " __VA_ARGS__);        \
		mc_t_ctx_mark = mc_t_failed;                          \
	} while (0)

#define MC_TEST_END()                                                         \
	do {                                                                  \
		printf("%ld passed, %ld failed\n", mc_t_passed, mc_t_failed); \
		return mc_t_failed ? 1 : 0;                                   \
	} while (0)

/* Deterministic xorshift PRNG so every run tests the same inputs. */
static uint64_t mc_t_rng_state = 0x9e3779b97f4a7c15ull;
static inline uint64_t mc_t_rand(void)
{
	uint64_t x = mc_t_rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return mc_t_rng_state = x;
}
static inline void mc_t_fill(void *p, size_t n)
{
	unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(mc_t_rand() >> 24);
}

/* malloc of exactly n bytes (at least 1) so ASan traps any access past n. */
static inline void *mc_t_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		perror("malloc");
		exit(2);
	}
	return p;
}

#endif
