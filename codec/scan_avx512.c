/* scan_avx512.c: AVX-512 (F, BW) line and boundary scanners of the MIME
 * parser, 64 bytes per compare into mask registers. Contract in
 * scan_internal.h; the scalar kernels in scan.c are the specification.
 * Built with per-file AVX-512 flags: nothing here runs unless
 * mc__scan_kernels_for() chose MC_ISA_AVX512.
 *
 * Design note ("scan avx512 design"): as in scan_avx2.c, a match that needs
 * the bytes after it is found with overlapping loads at +1 and +2, chained
 * through masked compares (k = '\n' at +0; k &= '-' at +1; k &= '-' at +2).
 * The tail is the same code on zero-masked loads: a lane beyond the input
 * reads 0, which is neither '\n' nor '-' nor SP/HT, so "the byte after is
 * missing" needs no special case; only the NUL compare of field_end must be
 * masked to the input, since 0 is what it looks for. Masked loads do not
 * fault on the lanes they leave out (the test puts inputs against PROT_NONE
 * pages to check that no lane is left in by mistake). */
#include <immintrin.h>
#include <stdint.h>

#include "scan_internal.h"

#if !defined(__AVX512BW__)
#error "scan_avx512.c needs -mavx512f -mavx512bw"
#endif

#define LOAD(q) _mm512_loadu_si512((const void *)(q))

/* The first k lanes (k may be <= 0 or >= 64). */
static inline __mmask64 first(ptrdiff_t k)
{
	if (k <= 0)
		return 0;
	return k >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << k) - 1;
}

static inline __m512i load_first(const char *q, ptrdiff_t k)
{
	return _mm512_maskz_loadu_epi8(first(k), q);
}

static size_t eol_avx512(const char *p, size_t n)
{
	const __m512i nl = _mm512_set1_epi8('\n');
	size_t i = 0;

	/* bounds: the loads read p[i .. i + 128), and i + 128 <= n */
	for (; i + 128 <= n; i += 128) {
		__mmask64 a = _mm512_cmpeq_epi8_mask(LOAD(p + i), nl);
		__mmask64 b = _mm512_cmpeq_epi8_mask(LOAD(p + i + 64), nl);

		if (a | b)
			return a ? i + (size_t)__builtin_ctzll(a)
			         : i + 64 + (size_t)__builtin_ctzll(b);
	}
	/* the rest, up to 127 bytes: lanes at or beyond n read as 0 */
	for (; i < n; i += 64) {
		__mmask64 a = _mm512_cmpeq_epi8_mask(load_first(p + i, (ptrdiff_t)(n - i)), nl);
		if (a)
			return i + (size_t)__builtin_ctzll(a);
	}
	return n;
}

/* Lanes k with q[k] == '\n', q[k + 1] == '-', q[k + 2] == '-', for an input
 * of rem bytes from q (rem >= 66: whole loads). */
static inline __mmask64 dash_block(const char *q, ptrdiff_t rem)
{
	const __m512i nl = _mm512_set1_epi8('\n'), dash = _mm512_set1_epi8('-');
	__mmask64 k;

	if (rem >= 66) {
		k = _mm512_cmpeq_epi8_mask(LOAD(q + 1), dash);
		if (!k)
			return 0;
		k = _mm512_mask_cmpeq_epi8_mask(k, LOAD(q), nl);
		return _mm512_mask_cmpeq_epi8_mask(k, LOAD(q + 2), dash);
	}
	k = _mm512_cmpeq_epi8_mask(load_first(q + 1, rem - 1), dash);
	k = _mm512_mask_cmpeq_epi8_mask(k, load_first(q, rem), nl);
	return _mm512_mask_cmpeq_epi8_mask(k, load_first(q + 2, rem - 2), dash);
}

static size_t dashline_avx512(const char *p, size_t n)
{
	const __m512i dash = _mm512_set1_epi8('-');
	size_t i = 0;

	/* bounds: the loads read p[i .. i + 130), and i + 130 <= n. A base64
	 * body has no '-': the loop is then two loads and two compares. */
	for (; i + 130 <= n; i += 128) {
		__mmask64 a = _mm512_cmpeq_epi8_mask(LOAD(p + i + 1), dash);
		__mmask64 b = _mm512_cmpeq_epi8_mask(LOAD(p + i + 65), dash);

		if (!(a | b))
			continue;
		a = dash_block(p + i, 130);
		if (a)
			return i + (size_t)__builtin_ctzll(a);
		b = dash_block(p + i + 64, 66);
		if (b)
			return i + 64 + (size_t)__builtin_ctzll(b);
	}
	/* the rest, up to 129 bytes: whole or zero-masked loads */
	for (; i + 2 < n; i += 64) {
		__mmask64 a = dash_block(p + i, (ptrdiff_t)(n - i));
		if (a)
			return i + (size_t)__builtin_ctzll(a);
	}
	return n;
}

static size_t field_end_avx512(const char *p, size_t n)
{
	const __m512i nl = _mm512_set1_epi8('\n'), sp = _mm512_set1_epi8(' '),
	              ht = _mm512_set1_epi8('\t'), zero = _mm512_setzero_si512();
	size_t i = 0;

	/* bounds: v0 reads p[i .. i + 64), v1 p[i + 1 .. i + 65), both inside
	 * p[0 .. n) while i + 65 <= n; then the zero-masked tail */
	for (; i < n; i += 64) {
		ptrdiff_t rem = (ptrdiff_t)(n - i);
		__m512i v0, v1;
		__mmask64 in, k;

		if (rem >= 65) {
			in = ~(__mmask64)0;
			v0 = LOAD(p + i);
			v1 = LOAD(p + i + 1);
		} else {
			in = first(rem);
			v0 = _mm512_maskz_loadu_epi8(in, p + i);
			v1 = load_first(p + i + 1, rem - 1);
		}
		k = _mm512_mask_cmpeq_epi8_mask(in, v0, zero) |
		    (_mm512_cmpeq_epi8_mask(v0, nl) &
		     ~(_mm512_cmpeq_epi8_mask(v1, sp) | _mm512_cmpeq_epi8_mask(v1, ht)));
		if (k)
			return i + (size_t)__builtin_ctzll(k);
	}
	return n;
}

const struct mc_scan_kernels mc__scan_avx512 = {
    .isa = MC_ISA_AVX512,
    .name = "avx512",
    .eol = eol_avx512,
    .dashline = dashline_avx512,
    .field_end = field_end_avx512,
};
