/* scan_avx2.c: AVX2 line and boundary scanners of the MIME parser, 32 bytes
 * per compare. Contract in scan_internal.h; the scalar kernels in scan.c are
 * the specification. Built with -mavx2 for this file only: nothing here runs
 * unless mc__scan_kernels_for() chose MC_ISA_AVX2.
 *
 * Design note ("scan avx2 design"): a match that needs the bytes after it
 * ("\n--", "\n" + not-folded) is found with overlapping unaligned loads at
 * +1 and +2, so one block answers for 32 positions without carrying state
 * between blocks. The tail is one more block, loaded so that it ends at the
 * last byte a full block may read; its positions that earlier blocks had
 * already checked are shifted out of the mask. Inputs shorter than one
 * block go to the scalar kernels. */
#include <immintrin.h>
#include <stdint.h>

#include "scan_internal.h"

#define LOAD(q) _mm256_loadu_si256((const __m256i *)(const void *)(q))

static inline uint32_t bits(__m256i v)
{
	return (uint32_t)_mm256_movemask_epi8(v);
}

static size_t eol_avx2(const char *p, size_t n)
{
	const __m256i nl = _mm256_set1_epi8('\n');
	size_t i = 0;

	if (n < 32)
		return mc__scan_eol_scalar(p, n);
	/* bounds: the loads read p[i .. i + 64), and i + 64 <= n */
	for (; i + 64 <= n; i += 64) {
		__m256i a = _mm256_cmpeq_epi8(LOAD(p + i), nl);
		__m256i b = _mm256_cmpeq_epi8(LOAD(p + i + 32), nl);
		__m256i ab = _mm256_or_si256(a, b);

		if (!_mm256_testz_si256(ab, ab)) {
			uint64_t m = bits(a) | (uint64_t)bits(b) << 32;
			return i + (size_t)__builtin_ctzll(m);
		}
	}
	for (; i + 32 <= n; i += 32) {
		uint32_t m = bits(_mm256_cmpeq_epi8(LOAD(p + i), nl));
		if (m)
			return i + (size_t)__builtin_ctz(m);
	}
	if (i < n) {
		/* p[n - 32 .. n) (n >= 32); bit k is position n - 32 + k, and the
		 * positions below i (k < 32 - (n - i), 0 < n - i < 32) were done */
		uint32_t m = bits(_mm256_cmpeq_epi8(LOAD(p + n - 32), nl)) >> (32 - (n - i));
		if (m)
			return i + (size_t)__builtin_ctz(m);
	}
	return n;
}

/* Bit k: p[k] == '\n', p[k + 1] == '-', p[k + 2] == '-'; reads p[0 .. 34). */
static inline uint32_t dash_block(const char *p)
{
	const __m256i nl = _mm256_set1_epi8('\n'), dash = _mm256_set1_epi8('-');
	__m256i a = _mm256_cmpeq_epi8(LOAD(p), nl);
	__m256i b = _mm256_cmpeq_epi8(LOAD(p + 1), dash);
	__m256i c = _mm256_cmpeq_epi8(LOAD(p + 2), dash);

	return bits(_mm256_and_si256(a, _mm256_and_si256(b, c)));
}

static size_t dashline_avx2(const char *p, size_t n)
{
	const __m256i nl = _mm256_set1_epi8('\n'), dash = _mm256_set1_epi8('-');
	size_t i = 0;

	if (n < 34)
		return mc__scan_dashline_scalar(p, n);
	/* bounds: the loads read p[i .. i + 66), and i + 66 <= n. The '-' test
	 * comes first: a base64 body has none, so the loop is two compares. */
	for (; i + 66 <= n; i += 64) {
		__m256i b0 = _mm256_cmpeq_epi8(LOAD(p + i + 1), dash);
		__m256i b1 = _mm256_cmpeq_epi8(LOAD(p + i + 33), dash);
		__m256i any = _mm256_or_si256(b0, b1);

		if (_mm256_testz_si256(any, any))
			continue;
		{
			__m256i a0 = _mm256_cmpeq_epi8(LOAD(p + i), nl);
			__m256i a1 = _mm256_cmpeq_epi8(LOAD(p + i + 32), nl);
			__m256i c0 = _mm256_cmpeq_epi8(LOAD(p + i + 2), dash);
			__m256i c1 = _mm256_cmpeq_epi8(LOAD(p + i + 34), dash);
			uint64_t m = bits(_mm256_and_si256(a0, _mm256_and_si256(b0, c0))) |
			             (uint64_t)bits(_mm256_and_si256(a1, _mm256_and_si256(b1, c1)))
			                 << 32;
			if (m)
				return i + (size_t)__builtin_ctzll(m);
		}
	}
	for (; i + 34 <= n; i += 32) {
		uint32_t m = dash_block(p + i);
		if (m)
			return i + (size_t)__builtin_ctz(m);
	}
	if (i + 2 < n) {
		/* the block at n - 34 answers for positions n - 34 .. n - 3 (the
		 * last with two bytes after it); those below i are dropped:
		 * 3 <= n - i < 34, so the shift is 1 .. 31 */
		uint32_t m = dash_block(p + n - 34) >> (34 - (n - i));
		if (m)
			return i + (size_t)__builtin_ctz(m);
	}
	return n;
}

/* Bit k: p[k] == '\0', or p[k] == '\n' and p[k + 1] is not SP or HT; reads
 * p[0 .. 33). */
static inline uint32_t field_block(const char *p)
{
	__m256i v0 = LOAD(p), v1 = LOAD(p + 1);
	__m256i z = _mm256_cmpeq_epi8(v0, _mm256_setzero_si256());
	__m256i nl = _mm256_cmpeq_epi8(v0, _mm256_set1_epi8('\n'));
	__m256i ws = _mm256_or_si256(_mm256_cmpeq_epi8(v1, _mm256_set1_epi8(' ')),
	                             _mm256_cmpeq_epi8(v1, _mm256_set1_epi8('\t')));

	return bits(_mm256_or_si256(z, _mm256_andnot_si256(ws, nl)));
}

static size_t field_end_avx2(const char *p, size_t n)
{
	size_t i = 0;

	if (n < 33)
		return mc__scan_field_end_scalar(p, n);
	/* bounds: each block reads p[i .. i + 33), and i + 33 <= n */
	for (; i + 33 <= n; i += 32) {
		uint32_t m = field_block(p + i);
		if (m)
			return i + (size_t)__builtin_ctz(m);
	}
	if (i + 1 < n) {
		/* positions i .. n - 2 from the block at n - 33 (which covers
		 * n - 33 .. n - 2): 2 <= n - i <= 32, shift 1 .. 31 */
		uint32_t m = field_block(p + n - 33) >> (33 - (n - i));
		if (m)
			return i + (size_t)__builtin_ctz(m);
	}
	/* the last byte has nothing after it: any '\n' or NUL there ends it */
	if (p[n - 1] == '\n' || p[n - 1] == '\0')
		return n - 1;
	return n;
}

const struct mc_scan_kernels mc__scan_avx2 = {
    .isa = MC_ISA_AVX2,
    .name = "avx2",
    .eol = eol_avx2,
    .dashline = dashline_avx2,
    .field_end = field_end_avx2,
};
