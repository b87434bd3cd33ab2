/* qp_avx2.c: quoted-printable bulk kernels for AVX2. RFC 2045 section 6.7;
 * the contract is in qp_internal.h and the specification is the state
 * machine in qp.c ("qp design"). Built with -mavx2 for this file only:
 * nothing here may run unless mc__qp_kernels_for() chose MC_ISA_AVX2.
 *
 * Decode: as in qp_avx512.c, 32 bytes at a time: every token that starts in
 * the block is recognised at once from byte masks (plain byte, =XX, soft
 * break "=\n" / "=\r\n", LF, CRLF, a space/tab followed by data or by a line
 * break), escapes are decoded in place, and the bytes that vanish are
 * squeezed out with one pshufb per 8 bytes (pack8). The step commits up to
 * the first byte it cannot classify, which the state machine then takes.
 *
 * Encode, 32 input bytes per block: byte masks classify every byte as a
 * unit of 1 character (literal, white space that does not end a line), 3
 * (=XX: '=', 8-bit, controls, a lone CR, white space before a line break,
 * binary-mode CR/LF), a hard break (LF) or nothing (the CR of CRLF: its LF
 * writes the break). Where every line break is written as its input bytes
 * (LF out, no CRLF; or CRLF out and every LF after a CR):
 * - a block whose lines fit (popcounts of the masks give their lengths) is
 *   the input itself if it has no escape, else the expansion of its 8
 *   groups of 4 bytes, each one pshufb (table indexed by the group's escape
 *   mask) into at most 12 characters stored at its offset, without branch;
 * - escape-dense data (binary) whose line fills up inside the block: the
 *   units that fit (found with a prefix sum of unit lengths) are written
 *   the same way, then a soft break, and the next block starts after them.
 * Other blocks: with few non-literal units, a tzcnt walk over them, the
 * literal runs between them stored 32 bytes at a time and cut at column 75
 * by soft breaks; with many, the groups stored one by one while they fit
 * and have no line break, else unit by unit. A '.' or 'F' at a line start
 * (MC_QP_DOT, MC_QP_FROM) ends the block and goes to the scalar kernel on a
 * short window, as do the last bytes of the input. */
#include <immintrin.h>
#include <string.h>

#include "qp_internal.h"

/* pack8[m]: the positions of the set bits of m, in order, one per byte. */
static const uint64_t pack8[256] = {
    0x0000000000000000ull, 0x0000000000000000ull, 0x0000000000000001ull, 0x0000000000000100ull,
    0x0000000000000002ull, 0x0000000000000200ull, 0x0000000000000201ull, 0x0000000000020100ull,
    0x0000000000000003ull, 0x0000000000000300ull, 0x0000000000000301ull, 0x0000000000030100ull,
    0x0000000000000302ull, 0x0000000000030200ull, 0x0000000000030201ull, 0x0000000003020100ull,
    0x0000000000000004ull, 0x0000000000000400ull, 0x0000000000000401ull, 0x0000000000040100ull,
    0x0000000000000402ull, 0x0000000000040200ull, 0x0000000000040201ull, 0x0000000004020100ull,
    0x0000000000000403ull, 0x0000000000040300ull, 0x0000000000040301ull, 0x0000000004030100ull,
    0x0000000000040302ull, 0x0000000004030200ull, 0x0000000004030201ull, 0x0000000403020100ull,
    0x0000000000000005ull, 0x0000000000000500ull, 0x0000000000000501ull, 0x0000000000050100ull,
    0x0000000000000502ull, 0x0000000000050200ull, 0x0000000000050201ull, 0x0000000005020100ull,
    0x0000000000000503ull, 0x0000000000050300ull, 0x0000000000050301ull, 0x0000000005030100ull,
    0x0000000000050302ull, 0x0000000005030200ull, 0x0000000005030201ull, 0x0000000503020100ull,
    0x0000000000000504ull, 0x0000000000050400ull, 0x0000000000050401ull, 0x0000000005040100ull,
    0x0000000000050402ull, 0x0000000005040200ull, 0x0000000005040201ull, 0x0000000504020100ull,
    0x0000000000050403ull, 0x0000000005040300ull, 0x0000000005040301ull, 0x0000000504030100ull,
    0x0000000005040302ull, 0x0000000504030200ull, 0x0000000504030201ull, 0x0000050403020100ull,
    0x0000000000000006ull, 0x0000000000000600ull, 0x0000000000000601ull, 0x0000000000060100ull,
    0x0000000000000602ull, 0x0000000000060200ull, 0x0000000000060201ull, 0x0000000006020100ull,
    0x0000000000000603ull, 0x0000000000060300ull, 0x0000000000060301ull, 0x0000000006030100ull,
    0x0000000000060302ull, 0x0000000006030200ull, 0x0000000006030201ull, 0x0000000603020100ull,
    0x0000000000000604ull, 0x0000000000060400ull, 0x0000000000060401ull, 0x0000000006040100ull,
    0x0000000000060402ull, 0x0000000006040200ull, 0x0000000006040201ull, 0x0000000604020100ull,
    0x0000000000060403ull, 0x0000000006040300ull, 0x0000000006040301ull, 0x0000000604030100ull,
    0x0000000006040302ull, 0x0000000604030200ull, 0x0000000604030201ull, 0x0000060403020100ull,
    0x0000000000000605ull, 0x0000000000060500ull, 0x0000000000060501ull, 0x0000000006050100ull,
    0x0000000000060502ull, 0x0000000006050200ull, 0x0000000006050201ull, 0x0000000605020100ull,
    0x0000000000060503ull, 0x0000000006050300ull, 0x0000000006050301ull, 0x0000000605030100ull,
    0x0000000006050302ull, 0x0000000605030200ull, 0x0000000605030201ull, 0x0000060503020100ull,
    0x0000000000060504ull, 0x0000000006050400ull, 0x0000000006050401ull, 0x0000000605040100ull,
    0x0000000006050402ull, 0x0000000605040200ull, 0x0000000605040201ull, 0x0000060504020100ull,
    0x0000000006050403ull, 0x0000000605040300ull, 0x0000000605040301ull, 0x0000060504030100ull,
    0x0000000605040302ull, 0x0000060504030200ull, 0x0000060504030201ull, 0x0006050403020100ull,
    0x0000000000000007ull, 0x0000000000000700ull, 0x0000000000000701ull, 0x0000000000070100ull,
    0x0000000000000702ull, 0x0000000000070200ull, 0x0000000000070201ull, 0x0000000007020100ull,
    0x0000000000000703ull, 0x0000000000070300ull, 0x0000000000070301ull, 0x0000000007030100ull,
    0x0000000000070302ull, 0x0000000007030200ull, 0x0000000007030201ull, 0x0000000703020100ull,
    0x0000000000000704ull, 0x0000000000070400ull, 0x0000000000070401ull, 0x0000000007040100ull,
    0x0000000000070402ull, 0x0000000007040200ull, 0x0000000007040201ull, 0x0000000704020100ull,
    0x0000000000070403ull, 0x0000000007040300ull, 0x0000000007040301ull, 0x0000000704030100ull,
    0x0000000007040302ull, 0x0000000704030200ull, 0x0000000704030201ull, 0x0000070403020100ull,
    0x0000000000000705ull, 0x0000000000070500ull, 0x0000000000070501ull, 0x0000000007050100ull,
    0x0000000000070502ull, 0x0000000007050200ull, 0x0000000007050201ull, 0x0000000705020100ull,
    0x0000000000070503ull, 0x0000000007050300ull, 0x0000000007050301ull, 0x0000000705030100ull,
    0x0000000007050302ull, 0x0000000705030200ull, 0x0000000705030201ull, 0x0000070503020100ull,
    0x0000000000070504ull, 0x0000000007050400ull, 0x0000000007050401ull, 0x0000000705040100ull,
    0x0000000007050402ull, 0x0000000705040200ull, 0x0000000705040201ull, 0x0000070504020100ull,
    0x0000000007050403ull, 0x0000000705040300ull, 0x0000000705040301ull, 0x0000070504030100ull,
    0x0000000705040302ull, 0x0000070504030200ull, 0x0000070504030201ull, 0x0007050403020100ull,
    0x0000000000000706ull, 0x0000000000070600ull, 0x0000000000070601ull, 0x0000000007060100ull,
    0x0000000000070602ull, 0x0000000007060200ull, 0x0000000007060201ull, 0x0000000706020100ull,
    0x0000000000070603ull, 0x0000000007060300ull, 0x0000000007060301ull, 0x0000000706030100ull,
    0x0000000007060302ull, 0x0000000706030200ull, 0x0000000706030201ull, 0x0000070603020100ull,
    0x0000000000070604ull, 0x0000000007060400ull, 0x0000000007060401ull, 0x0000000706040100ull,
    0x0000000007060402ull, 0x0000000706040200ull, 0x0000000706040201ull, 0x0000070604020100ull,
    0x0000000007060403ull, 0x0000000706040300ull, 0x0000000706040301ull, 0x0000070604030100ull,
    0x0000000706040302ull, 0x0000070604030200ull, 0x0000070604030201ull, 0x0007060403020100ull,
    0x0000000000070605ull, 0x0000000007060500ull, 0x0000000007060501ull, 0x0000000706050100ull,
    0x0000000007060502ull, 0x0000000706050200ull, 0x0000000706050201ull, 0x0000070605020100ull,
    0x0000000007060503ull, 0x0000000706050300ull, 0x0000000706050301ull, 0x0000070605030100ull,
    0x0000000706050302ull, 0x0000070605030200ull, 0x0000070605030201ull, 0x0007060503020100ull,
    0x0000000007060504ull, 0x0000000706050400ull, 0x0000000706050401ull, 0x0000070605040100ull,
    0x0000000706050402ull, 0x0000070605040200ull, 0x0000070605040201ull, 0x0007060504020100ull,
    0x0000000706050403ull, 0x0000070605040300ull, 0x0000070605040301ull, 0x0007060504030100ull,
    0x0000070605040302ull, 0x0007060504030200ull, 0x0007060504030201ull, 0x0706050403020100ull,
};

static inline __m256i ld(const void *p)
{
	return _mm256_loadu_si256((const __m256i *)p);
}

static inline uint32_t mask(__m256i x)
{
	return (uint32_t)_mm256_movemask_epi8(x);
}

static inline __m256i eqc(__m256i v, char c)
{
	return _mm256_cmpeq_epi8(v, _mm256_set1_epi8(c));
}

/* Bytes <= k (unsigned), as a vector mask. */
static inline __m256i le_u8(__m256i v, char k)
{
	return _mm256_cmpeq_epi8(_mm256_min_epu8(v, _mm256_set1_epi8(k)), v);
}

/* Bytes that are data wherever they are: strict: 33..126 except '=';
 * lenient: everything but '=', space, tab, CR and LF. */
static inline uint32_t plain_mask(__m256i v, int strict)
{
	__m256i eq = eqc(v, '=');

	if (strict)
		return mask(
		    _mm256_andnot_si256(eq, le_u8(_mm256_sub_epi8(v, _mm256_set1_epi8(33)), 93)));
	return ~mask(_mm256_or_si256(
	    _mm256_or_si256(eq, eqc(v, ' ')),
	    _mm256_or_si256(eqc(v, '\t'), _mm256_or_si256(eqc(v, '\r'), eqc(v, '\n')))));
}

static inline __m256i hex_vmask(__m256i v)
{
	__m256i d = le_u8(_mm256_sub_epi8(v, _mm256_set1_epi8('0')), 9);
	__m256i l = _mm256_or_si256(v, _mm256_set1_epi8(0x20));
	return _mm256_or_si256(d, le_u8(_mm256_sub_epi8(l, _mm256_set1_epi8('a')), 5));
}

/* Hex digit value of each byte (garbage for non-digits): low nibble, plus 9
 * for letters (bit 6 set). */
static inline __m256i hex_val(__m256i v)
{
	__m256i lo = _mm256_and_si256(v, _mm256_set1_epi8(0x0f));
	__m256i letter = eqc(_mm256_and_si256(v, _mm256_set1_epi8(0x40)), 0x40);
	return _mm256_add_epi8(lo, _mm256_and_si256(letter, _mm256_set1_epi8(9)));
}

/* Stores the bytes of x selected by keep, packed, at d. Writes d[0, 32). */
static inline void store_packed(uint8_t *d, __m256i x, uint32_t keep)
{
	const uint64_t e8 = 0x0808080808080808ull;
	__m128i lo = _mm256_castsi256_si128(x), hi = _mm256_extracti128_si256(x, 1);
	__m128i sl =
	    _mm_set_epi64x((long long)(pack8[keep >> 8 & 255] + e8), (long long)pack8[keep & 255]);
	__m128i sh =
	    _mm_set_epi64x((long long)(pack8[keep >> 24] + e8), (long long)pack8[keep >> 16 & 255]);
	unsigned k0 = (unsigned)__builtin_popcount(keep & 255);
	unsigned k1 = (unsigned)__builtin_popcount(keep & 0xffff);
	unsigned k2 = (unsigned)__builtin_popcount(keep & 0xffffff);

	lo = _mm_shuffle_epi8(lo, sl);
	hi = _mm_shuffle_epi8(hi, sh);
	_mm_storel_epi64((__m128i *)d, lo);
	_mm_storel_epi64((__m128i *)(d + k0), _mm_unpackhi_epi64(lo, lo));
	_mm_storel_epi64((__m128i *)(d + k1), hi);
	_mm_storel_epi64((__m128i *)(d + k2), _mm_unpackhi_epi64(hi, hi));
}

static size_t dec_avx2(const char *src, size_t n, uint8_t *dst, size_t *written, unsigned flags)
{
	const int strict = (flags & MC_QP_STRICT) != 0, crlf = (flags & MC_QP_CRLF) != 0;
	uint8_t *d = dst;
	size_t i = 0;

	/* Bounds: a step reads src[i, i + 34) (two bytes of lookahead for the
	 * tokens that start at 30 and 31), so it runs while i + 34 <= n. It
	 * writes within d + 32 (d + 33 for an LF written past a CRLF), and
	 * d - dst <= i (no token writes more than it consumes), or <= 2 i with
	 * MC_QP_CRLF (a lone LF becomes CRLF), so the stores end within
	 * dst + i + 33 <= dst + n, or dst + 2 i + 33 <= dst + 2 n: inside the
	 * caller's mc_qp_decode_bound(n). */
	while (i + 34 <= n) {
		__m256i v = ld(src + i), v1 = ld(src + i + 1), v2 = ld(src + i + 2);
		__m256i eqv = eqc(v, '='), hex1 = hex_vmask(v1), hex2 = hex_vmask(v2);
		__m256i escv = _mm256_and_si256(eqv, _mm256_and_si256(hex1, hex2));
		uint32_t EQ = mask(eqv), ESC = mask(escv);
		uint32_t CR = mask(eqc(v, '\r')), LF = mask(eqc(v, '\n'));
		uint32_t WS = mask(_mm256_or_si256(eqc(v, ' '), eqc(v, '\t')));
		uint32_t P = plain_mask(v, strict), P1 = plain_mask(v1, strict);
		uint32_t EQ1 = mask(eqc(v1, '=')), LF1 = mask(eqc(v1, '\n'));
		uint32_t CR1 = mask(eqc(v1, '\r')), LF2 = mask(eqc(v2, '\n'));
		uint32_t SLF = EQ & LF1, SCRLF = EQ & CR1 & LF2, CRLF = CR & LF1;
		uint32_t WS1 = mask(_mm256_or_si256(eqc(v1, ' '), eqc(v1, '\t')));
		uint64_t wl = 0, wd = 0;
		unsigned cut =
		    WS ? mc__qp_ws_runs(WS, WS1, P1 | EQ1, LF1 | (CR1 & LF2), 32, &wl, &wd) : 32;
		uint32_t WS_LIT = (uint32_t)wl, WS_DROP = (uint32_t)wd;
		/* Bytes inside a token that starts earlier: removed (escape digits,
		 * soft break endings) or kept (the LF of CRLF). */
		uint32_t gone = (ESC | SCRLF) << 1 | (ESC | SCRLF) << 2 | SLF << 1;
		uint32_t starts = P | ESC | SLF | SCRLF | CRLF | WS_LIT | WS_DROP | (crlf ? 0 : LF);
		uint32_t bad = ~(starts | gone | CRLF << 1);
		if (cut < 32)
			bad |= (uint32_t)1 << cut;
		unsigned c = bad ? (unsigned)__builtin_ctz(bad) : 32;
		uint32_t upto = c == 32 ? ~0u : ((1u << c) - 1);
		uint32_t keep = upto & ~(gone | SLF | SCRLF | WS_DROP);

		/* A token never straddles c < 32 (its inner bytes would not be
		 * bad); at 32 the ones starting at 30/31 run over. */
		if (c) {
			__m256i out = v;

			if (ESC) {
				/* High nibble: 16-bit shifts spill garbage into the
				 * next byte, so mask it off. */
				__m256i hi = _mm256_and_si256(_mm256_slli_epi16(hex_val(v1), 4),
				                              _mm256_set1_epi8((char)0xf0));
				out = _mm256_blendv_epi8(v, _mm256_or_si256(hi, hex_val(v2)), escv);
			}
			if (keep == ~0u)
				_mm256_storeu_si256((__m256i *)d, out);
			else
				store_packed(d, out, keep);
			d += __builtin_popcount(keep);
		}
		if (c < 32) {
			i += c;
			if (c && c == cut)
				continue; /* the next block starts with the run */
			if (!(crlf && (LF >> c & 1)))
				break;
			/* MC_QP_CRLF: a lone LF becomes CRLF; go on after it. */
			*d++ = '\r';
			*d++ = '\n';
			i++;
			continue;
		}
		i += 32;
		if ((ESC | SCRLF) >> 31) {
			i += 2;
		} else if (((ESC | SCRLF) >> 30 & 1) || (SLF >> 31)) {
			i += 1;
		} else if (CRLF >> 31) { /* its LF is src[i]: written here */
			*d++ = '\n';
			i += 1;
		}
	}
	if (i + 34 > n) { /* the tail: the scalar kernel, same contract */
		size_t w;

		i += mc__qp_dec_scalar(src + i, n - i, d, &w, flags);
		d += w;
	}
	*written = (size_t)(d - dst);
	return i;
}

/* ---- encode ------------------------------------------------------------------ */

/* Each byte as "=XX" (little-endian, padded to 4 for one copy). */
#define EHD(x)  ((x) < 10 ? '0' + (x) : 'A' + (x)-10)
#define EU1(c)  ((uint32_t)'=' | (uint32_t)EHD((c) >> 4) << 8 | (uint32_t)EHD((c)&15) << 16),
#define EU4(c)  EU1(c) EU1(c + 1) EU1(c + 2) EU1(c + 3)
#define EU16(c) EU4(c) EU4(c + 4) EU4(c + 8) EU4(c + 12)
#define EU64(c) EU16(c) EU16(c + 16) EU16(c + 32) EU16(c + 48)
static const uint32_t enc_esc4[256] = {EU64(0) EU64(64) EU64(128) EU64(192)};

/* enc_grp[m]: a group of 4 input bytes whose escapes are the bits of m, from
 * its source [4 bytes, 4 high hex digits, 4 low hex digits, "===="] to its
 * output (at most 12 characters; 0x80 clears the rest). */
static const uint8_t enc_grp[16][16] = {
    {0, 1, 2, 3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {12, 4, 8, 1, 2, 3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {0, 12, 5, 9, 2, 3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {12, 4, 8, 12, 5, 9, 2, 3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {0, 1, 12, 6, 10, 3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {12, 4, 8, 1, 12, 6, 10, 3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {0, 12, 5, 9, 12, 6, 10, 3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {12, 4, 8, 12, 5, 9, 12, 6, 10, 3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {0, 1, 2, 12, 7, 11, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {12, 4, 8, 1, 2, 12, 7, 11, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {0, 12, 5, 9, 2, 12, 7, 11, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {12, 4, 8, 12, 5, 9, 2, 12, 7, 11, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {0, 1, 12, 6, 10, 12, 7, 11, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {12, 4, 8, 1, 12, 6, 10, 12, 7, 11, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {0, 12, 5, 9, 12, 6, 10, 12, 7, 11, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {12, 4, 8, 12, 5, 9, 12, 6, 10, 12, 7, 11, 0x80, 0x80, 0x80, 0x80},
};

/* Blocks with more non-literal units than this are expanded by groups. */
#define ENC_WALK_MAX 4

/* The masks of one 32-byte block (bit k is byte k). */
struct enc_blk {
	const uint8_t *s; /* the block's first byte */
	uint32_t esc;     /* units "=XX" */
	uint32_t lf;      /* hard breaks */
	uint32_t crz;     /* the CR of CRLF: nothing */
	uint32_t special; /* '.' or 'F' per flags: the scalar kernel at a line start */
	int crlf;         /* line breaks out as CRLF */
};

static inline char *enc_eol(char *d, int crlf)
{
	if (crlf)
		*d++ = '\r';
	*d++ = '\n';
	return d;
}

static inline char *enc_soft(char *d, int crlf)
{
	*d++ = '=';
	return enc_eol(d, crlf);
}

static inline uint32_t lo32(unsigned k) /* k <= 32 */
{
	return k >= 32 ? ~0u : (1u << k) - 1;
}

/* One unit, byte k of the block, as the scalar kernel writes it. Returns 0
 * for a '.' or 'F' at a line start (nothing written: the caller stops). */
static inline int enc_one(const struct enc_blk *b, unsigned k, char **dp, unsigned *colp)
{
	uint32_t bit = 1u << k;
	char *d = *dp;
	unsigned col = *colp;

	if (b->crz & bit)
		return 1;
	if (b->lf & bit) {
		*dp = enc_eol(d, b->crlf);
		*colp = 0;
		return 1;
	}
	if (b->esc & bit) {
		if (col + 3 > MC_QP_COL_MAX) {
			d = enc_soft(d, b->crlf);
			col = 0;
		}
		memcpy(d, &enc_esc4[b->s[k]], 4);
		*dp = d + 3;
		*colp = col + 3;
		return 1;
	}
	if (col >= MC_QP_COL_MAX) {
		d = enc_soft(d, b->crlf);
		col = 0;
	}
	if (col == 0 && (b->special & bit)) {
		*dp = d;
		*colp = col;
		return 0;
	}
	*d++ = (char)b->s[k];
	*dp = d;
	*colp = col + 1;
	return 1;
}

/* Few non-literal units (ev): each in turn, the literal runs between them
 * stored 32 bytes at a time and cut by soft breaks. Reads b->s[0, 63);
 * writes within *dp + 32 + 3 per unit. Returns where it stopped (32: the
 * whole block). */
static inline unsigned enc_walk(const struct enc_blk *b, uint32_t ev, char **dp, unsigned *colp)
{
	char *d = *dp;
	unsigned col = *colp, j = 0;

	for (;;) {
		uint32_t rest = ev & ~lo32(j);
		unsigned e = rest ? (unsigned)__builtin_ctz(rest) : 32;

		while (j < e) {
			if (col >= MC_QP_COL_MAX) {
				d = enc_soft(d, b->crlf);
				col = 0;
			}
			if (col == 0 && (b->special >> j & 1))
				goto out;
			unsigned take = e - j < MC_QP_COL_MAX - col ? e - j : MC_QP_COL_MAX - col;
			_mm256_storeu_si256((__m256i *)d, ld(b->s + j));
			d += take;
			col += take;
			j += take;
		}
		if (e == 32)
			break;
		enc_one(b, e, &d, &col); /* not a literal: never stops */
		j = e + 1;
	}
out:
	*dp = d;
	*colp = col;
	return j;
}

/* The groups of 4 input bytes of block v (escapes esc) expanded by one
 * pshufb each: x[t] holds group t (low lane) and t + 4 (high lane), each at
 * most 12 characters. */
static inline void enc_groups(__m256i v, uint32_t esc, __m256i x[4])
{
	const __m256i hexlut =
	    _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)mc__qp_hex));
	const __m256i nib = _mm256_set1_epi8(15), eqv = _mm256_set1_epi8('=');
	__m256i c1 = _mm256_shuffle_epi8(hexlut, _mm256_and_si256(_mm256_srli_epi16(v, 4), nib));
	__m256i c2 = _mm256_shuffle_epi8(hexlut, _mm256_and_si256(v, nib));
	/* Per 128-bit lane, groups G0..G3 as dwords; x[t] holds group t (low
	 * lane) and t + 4 (high lane), each as [bytes, c1, c2, "===="]. */
	__m256i a = _mm256_unpacklo_epi32(v, c1), bb = _mm256_unpackhi_epi32(v, c1);
	__m256i e = _mm256_unpacklo_epi32(c2, eqv), f = _mm256_unpackhi_epi32(c2, eqv);

	x[0] = _mm256_unpacklo_epi64(a, e);
	x[1] = _mm256_unpackhi_epi64(a, e);
	x[2] = _mm256_unpacklo_epi64(bb, f);
	x[3] = _mm256_unpackhi_epi64(bb, f);
	for (unsigned t = 0; t < 4; t++) {
		__m256i idx = _mm256_set_m128i(
		    _mm_loadu_si128(
		        (const __m128i *)(const void *)enc_grp[esc >> (4 * t + 16) & 15]),
		    _mm_loadu_si128((const __m128i *)(const void *)enc_grp[esc >> (4 * t) & 15]));
		x[t] = _mm256_shuffle_epi8(x[t], idx);
	}
}

static inline __m128i enc_group(const __m256i x[4], unsigned g)
{
	return g < 4 ? _mm256_castsi256_si128(x[g]) : _mm256_extracti128_si256(x[g - 4], 1);
}

/* How many units of a block (escapes esc: 3 characters, others 1) fit in
 * room characters: their output offsets rise, so they are a prefix. */
static inline unsigned enc_fitting(uint32_t esc, unsigned room)
{
	const __m256i bits = _mm256_set1_epi64x((long long)0x8040201008040201ull);
	__m256i m = _mm256_shuffle_epi8(
	    _mm256_set1_epi32((int)esc),
	    _mm256_set_epi64x(0x0303030303030303ll, 0x0202020202020202ll, 0x0101010101010101ll, 0));
	__m256i e = _mm256_cmpeq_epi8(_mm256_and_si256(m, bits), bits);
	/* Unit lengths, then their inclusive prefix sum (at most 96). */
	__m256i x = _mm256_sub_epi8(_mm256_set1_epi8(1), _mm256_add_epi8(e, e));
	x = _mm256_add_epi8(x, _mm256_slli_si256(x, 1));
	x = _mm256_add_epi8(x, _mm256_slli_si256(x, 2));
	x = _mm256_add_epi8(x, _mm256_slli_si256(x, 4));
	x = _mm256_add_epi8(x, _mm256_slli_si256(x, 8));
	__m256i lo = _mm256_shuffle_epi8(x, _mm256_set1_epi8(15));
	x = _mm256_add_epi8(x, _mm256_permute2x128_si256(lo, lo, 0x08));
	__m256i le = _mm256_cmpeq_epi8(_mm256_min_epu8(x, _mm256_set1_epi8((char)room)), x);
	return (unsigned)__builtin_popcount(mask(le));
}

/* A block whose units all fit on their lines and whose bytes are written as
 * they are or as =XX (LF included; the CR of CRLF only with MC_QP_CRLF):
 * all 8 groups stored at their offsets, no branch. Writes d[0, 96). */
static inline char *enc_fit(__m256i v, uint32_t esc, char *d)
{
	__m256i x[4];

	enc_groups(v, esc, x);
	for (unsigned g = 0; g < 8; g++) {
		unsigned off = 4 * g + 2 * (unsigned)__builtin_popcount(esc & lo32(4 * g));
		_mm_storeu_si128((__m128i *)(void *)(d + off), enc_group(x, g));
	}
	return d + 32 + 2 * (unsigned)__builtin_popcount(esc);
}

/* Many non-literal units: the groups expanded; a group that would cross
 * column 75, holds a line break or starts a line with a special byte goes
 * unit by unit. Writes within *dp + 16 per group (+ 3 per soft break).
 * Returns where it stopped (32: all). */
static inline unsigned enc_expand(const struct enc_blk *b, __m256i v, char **dp, unsigned *colp)
{
	const uint32_t esc = b->esc, slow = b->lf | b->crz;
	char *d = *dp;
	unsigned col = *colp;
	__m256i x[4];

	enc_groups(v, esc, x);
	for (unsigned g = 0; g < 8; g++) {
		unsigned k = 4 * g, m = esc >> k & 15;
		unsigned len = 4 + 2 * (unsigned)__builtin_popcount(m);

		if (!(slow >> k & 15) && col + len <= MC_QP_COL_MAX &&
		    !(col == 0 && (b->special >> k & 1))) {
			_mm_storeu_si128((__m128i *)(void *)d, enc_group(x, g));
			d += len;
			col += len;
			continue;
		}
		for (unsigned u = k; u < k + 4; u++) {
			if (!enc_one(b, u, &d, &col)) {
				*dp = d;
				*colp = col;
				return u;
			}
		}
	}
	*dp = d;
	*colp = col;
	return 32;
}

static size_t enc_avx2(const uint8_t *src, size_t n, char *dst, size_t *written, unsigned *colp,
                       unsigned flags)
{
	const int text = !(flags & MC_QP_BINARY), crlf = (flags & MC_QP_CRLF) != 0;
	const int dot = (flags & MC_QP_DOT) != 0, fromf = (flags & MC_QP_FROM) != 0;
	unsigned col = *colp;
	char *d = dst;
	size_t i = 0;

	/* Bounds: a block reads src[i, i + 64) (the literal runs of the walk
	 * are loaded 32 bytes from anywhere in the block), so it runs while
	 * i + 64 <= n. Output so far is at most 3 i plus the soft breaks
	 * (which the contract's room covers), and a store for input byte
	 * i + k (k < 32) ends within 3 (i + k) + 32 < 3 n. */
	while (i + 64 <= n) {
		__m256i v = ld(src + i);
		__m256i wsv = _mm256_or_si256(eqc(v, ' '), eqc(v, '\t'));
		uint32_t LIT = mask(_mm256_andnot_si256(
		    eqc(v, '='), le_u8(_mm256_sub_epi8(v, _mm256_set1_epi8(33)), 93)));
		uint32_t WS = mask(wsv), LF = 0, CR = 0, CRZ = 0, WSE = 0;

		if (text) {
			__m256i v1 = ld(src + i + 1);
			uint32_t LF1 = mask(eqc(v1, '\n'));

			LF = mask(eqc(v, '\n'));
			CR = mask(eqc(v, '\r'));
			CRZ = CR & LF1;
			uint32_t CR1 = mask(eqc(v1, '\r'));
			WSE = WS & LF1;
			if (WS & CR1) /* white space before CRLF? */
				WSE |= WS & CR1 & mask(eqc(ld(src + i + 2), '\n'));
		}
		uint32_t ESC = ~(LIT | WS | LF | CRZ) | WSE;
		uint32_t SPECIAL = 0;
		if (dot)
			SPECIAL = mask(eqc(v, '.'));
		if (fromf)
			SPECIAL |= mask(eqc(v, 'F'));

		/* Line breaks written as they are: when the CR of every CRLF is
		 * (MC_QP_CRLF, and every LF follows a CR, none at 31 with its LF
		 * in the next block) or there is none. Then a block whose lines
		 * fit needs no soft break: the input itself if it has no escape,
		 * else its groups expanded (with at most one LF: the lines on
		 * either side of it are counted). */
		if (crlf ? !(LF & ~(CR << 1)) && !(CRZ >> 31) : !CRZ) {
			unsigned h = LF ? (unsigned)__builtin_ctz(LF) : 32;
			unsigned first = h - (unsigned)__builtin_popcount(CRZ & lo32(h)) +
			                 2 * (unsigned)__builtin_popcount(ESC & lo32(h));
			int ok =
			    col + first <= MC_QP_COL_MAX && !(SPECIAL & (LF << 1 | (col == 0)));

			if (ok && !ESC) {
				_mm256_storeu_si256((__m256i *)(void *)d, v);
				d += 32;
				/* The column: the bytes after the last LF, if any. */
				col = LF ? (unsigned)__builtin_clz(LF) : col + 32;
				i += 32;
				continue;
			}
			if (ok && !(LF & (LF - 1))) {
				/* After the LF (if any): 31 - h bytes, no CR of CRLF. */
				unsigned last =
				    LF ? 31 - h +
				             2 * (unsigned)__builtin_popcount(ESC & ~lo32(h + 1))
				       : col + first;

				if (last <= MC_QP_COL_MAX) {
					d = enc_fit(v, ESC, d);
					col = last;
					i += 32;
					continue;
				}
			}
			if (col + first > MC_QP_COL_MAX && !(SPECIAL & (col == 0)) &&
			    (unsigned)__builtin_popcount(ESC | LF | CRZ) > ENC_WALK_MAX) {
				/* The line fills up before its end (or the block's) and
				 * the walk would be slow (escape-dense data): the units
				 * that fit (a prefix: they end at rising offsets) are
				 * written as above, then a soft break; the next block
				 * starts at the first unit that did not fit. */
				unsigned p = enc_fitting(ESC, MC_QP_COL_MAX - col);

				if (ESC)
					enc_fit(v, ESC, d);
				else
					_mm256_storeu_si256((__m256i *)(void *)d, v);
				d = enc_soft(
				    d + p + 2 * (unsigned)__builtin_popcount(ESC & lo32(p)), crlf);
				col = 0;
				i += p;
				continue;
			}
		}

		const struct enc_blk b = {src + i, ESC, LF, CRZ, SPECIAL, crlf};
		uint32_t ev = ESC | LF | CRZ;
		unsigned stop = (unsigned)__builtin_popcount(ev) <= ENC_WALK_MAX
		                    ? enc_walk(&b, ev, &d, &col)
		                    : enc_expand(&b, v, &d, &col);

		i += stop;
		if (stop < 32) {
			/* A '.' or 'F' at a line start (col 0): the scalar kernel on
			 * a short window; it needs at most 5 bytes to decide. */
			size_t w, used = mc__qp_enc_scalar(src + i, 16, d, &w, &col, flags);

			d += w;
			i += used;
			if (!used)
				break;
		}
	}
	if (i + 64 > n) { /* the tail: the scalar kernel, same contract */
		size_t w;

		i += mc__qp_enc_scalar(src + i, n - i, d, &w, &col, flags);
		d += w;
	}
	*colp = col;
	*written = (size_t)(d - dst);
	return i;
}

const struct mc_qp_kernels mc__qp_avx2 = {
    .isa = MC_ISA_AVX2,
    .name = "avx2",
    .enc = enc_avx2,
    .dec = dec_avx2,
};
