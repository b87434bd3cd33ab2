/* qp_avx2.c: quoted-printable bulk decoder for AVX2. RFC 2045 section 6.7;
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
 * Encode: the scalar kernel (qp.c), whose SWAR literal runs and branch-free
 * escapes do most of what a 32-byte encoder would. */
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

const struct mc_qp_kernels mc__qp_avx2 = {
    .isa = MC_ISA_AVX2,
    .name = "avx2",
    .enc = mc__qp_enc_scalar,
    .dec = dec_avx2,
};
