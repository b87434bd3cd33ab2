/* qp_avx512.c: quoted-printable bulk kernels for AVX-512 (F/BW/VL + VBMI2:
 * vpcompressb). RFC 2045 section 6.7; the contract is in qp_internal.h and
 * the specification is the state machine in qp.c ("qp design").
 *
 * Decode: 64 input bytes per step are classified with masks, every token
 * that starts in the block is recognised at once (plain byte, =XX, soft break
 * "=\n" / "=\r\n", LF, CRLF, a single space/tab followed by data or by a line
 * break), escapes are decoded in place and vpcompressb squeezes out the bytes
 * that vanish. The step commits up to the first byte it cannot classify
 * (which the state machine then takes).
 *
 * Encode: runs of bytes that are written literally (33..126 but '=', and a
 * single space or tab followed by one of those) are found 64 at a time and
 * copied up to the end of the output line; everything else goes through the
 * scalar kernel a few bytes at a time. */
#include <immintrin.h>
#include <string.h>

#include "qp_internal.h"

static inline __m512i ld(const void *p)
{
	return _mm512_loadu_si512(p);
}

/* Bytes that are data wherever they are: strict: 33..126 except '='; lenient:
 * everything but '=', space, tab, CR and LF. */
static inline __mmask64 plain_mask(__m512i v, int strict)
{
	__mmask64 eq = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('='));

	if (strict) /* (v - 33) <= 93 unsigned */
		return _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8(33)),
		                              _mm512_set1_epi8(93)) &
		       ~eq;
	__mmask64 ws = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(' ')) |
	               _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\t'));
	__mmask64 br = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\r')) |
	               _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\n'));
	return ~(eq | ws | br);
}

static inline __mmask64 hex_mask(__m512i v)
{
	__mmask64 d =
	    _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8('0')), _mm512_set1_epi8(9));
	__m512i l = _mm512_or_si512(v, _mm512_set1_epi8(0x20));
	__mmask64 a =
	    _mm512_cmple_epu8_mask(_mm512_sub_epi8(l, _mm512_set1_epi8('a')), _mm512_set1_epi8(5));
	return d | a;
}

/* Hex digit value of each byte (garbage for non-digits): low nibble, plus 9
 * for letters (bit 6 set). */
static inline __m512i hex_val(__m512i v)
{
	__m512i lo = _mm512_and_si512(v, _mm512_set1_epi8(0x0f));
	__mmask64 letter = _mm512_test_epi8_mask(v, _mm512_set1_epi8(0x40));
	return _mm512_mask_add_epi8(lo, letter, lo, _mm512_set1_epi8(9));
}

static size_t dec_avx512(const char *src, size_t n, uint8_t *dst, size_t *written, unsigned flags)
{
	const int strict = (flags & MC_QP_STRICT) != 0, crlf = (flags & MC_QP_CRLF) != 0;
	const __m512i eqv = _mm512_set1_epi8('='), lfv = _mm512_set1_epi8('\n');
	const __m512i crv = _mm512_set1_epi8('\r');
	uint8_t *d = dst;
	size_t i = 0;

	/* Bounds: a step reads src[i, i + 66) (two bytes of lookahead for the
	 * tokens that start at 62 and 63), so it runs while i + 66 <= n. It
	 * stores 64 bytes at d, and d - dst <= i (each token writes at most
	 * as many bytes as it consumes; with MC_QP_CRLF a lone LF, the only
	 * token that would grow, is left to the state machine), so the store
	 * stays inside the caller's mc_qp_decode_bound(n) >= n bytes. */
	while (i + 66 <= n) {
		__m512i v = ld(src + i), v1 = ld(src + i + 1), v2 = ld(src + i + 2);
		__mmask64 EQ = _mm512_cmpeq_epi8_mask(v, eqv);
		__mmask64 CR = _mm512_cmpeq_epi8_mask(v, crv);
		__mmask64 LF = _mm512_cmpeq_epi8_mask(v, lfv);
		__mmask64 WS = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(' ')) |
		               _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\t'));
		__mmask64 P = plain_mask(v, strict);
		__mmask64 P1 = plain_mask(v1, strict);
		__mmask64 EQ1 = _mm512_cmpeq_epi8_mask(v1, eqv);
		__mmask64 LF1 = _mm512_cmpeq_epi8_mask(v1, lfv);
		__mmask64 CR1 = _mm512_cmpeq_epi8_mask(v1, crv);
		__mmask64 LF2 = _mm512_cmpeq_epi8_mask(v2, lfv);
		__mmask64 ESC = EQ & hex_mask(v1) & hex_mask(v2);
		__mmask64 SLF = EQ & LF1;
		__mmask64 SCRLF = EQ & CR1 & LF2;
		__mmask64 CRLF = CR & LF1;
		__mmask64 WS_LIT = WS & (P1 | EQ1);
		__mmask64 WS_DROP = WS & (LF1 | (CR1 & LF2));
		/* Bytes inside a token that starts earlier: removed (escape digits,
		 * soft break endings) or kept (the LF of CRLF). */
		__mmask64 gone = (ESC | SCRLF) << 1 | (ESC | SCRLF) << 2 | SLF << 1;
		__mmask64 starts =
		    P | ESC | SLF | SCRLF | CRLF | WS_LIT | WS_DROP | (crlf ? 0 : LF);
		__mmask64 bad = ~(starts | gone | CRLF << 1);
		unsigned c = bad ? (unsigned)__builtin_ctzll(bad) : 64;
		__mmask64 upto = c == 64 ? ~(__mmask64)0 : (((__mmask64)1 << c) - 1);
		__mmask64 keep = upto & ~(gone | SLF | SCRLF | WS_DROP);

		/* A token never straddles c < 64 (its inner bytes would not be
		 * bad); at 64 the ones starting at 62/63 run over. */
		if (c) {
			/* High nibble: 16-bit shifts spill non-digit garbage into
			 * the next byte, so mask it off. */
			__m512i hi = _mm512_and_si512(_mm512_slli_epi16(hex_val(v1), 4),
			                              _mm512_set1_epi8((char)0xf0));
			__m512i dec = _mm512_or_si512(hi, hex_val(v2));
			__m512i out = _mm512_mask_blend_epi8(ESC, v, dec);

			_mm512_storeu_si512(d, _mm512_maskz_compress_epi8(keep, out));
			d += __builtin_popcountll(keep);
		}
		if (c < 64) {
			i += c;
			break;
		}
		i += 64;
		if ((ESC | SCRLF) >> 63) {
			i += 2;
		} else if (((ESC | SCRLF) >> 62 & 1) || (SLF >> 63)) {
			i += 1;
		} else if (CRLF >> 63) { /* its LF is src[i]: written here */
			*d++ = '\n';
			i += 1;
		}
	}
	if (i + 66 > n) { /* the tail: the scalar kernel, same contract */
		size_t w;

		i += mc__qp_dec_scalar(src + i, n - i, d, &w, flags);
		d += w;
	}
	*written = (size_t)(d - dst);
	return i;
}

/* Literal bytes, for the encoder: 33..126 but '=' ; a space or tab counts
 * when the next byte is one of those (it cannot end a line then). */
static inline __mmask64 enc_lit_mask(const uint8_t *p)
{
	__m512i v = ld(p), v1 = ld(p + 1);
	const __m512i k33 = _mm512_set1_epi8(33), k93 = _mm512_set1_epi8(93);
	__mmask64 L = _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, k33), k93) &
	              ~_mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('='));
	__mmask64 L1 = _mm512_cmple_epu8_mask(_mm512_sub_epi8(v1, k33), k93) &
	               ~_mm512_cmpeq_epi8_mask(v1, _mm512_set1_epi8('='));
	__mmask64 WS = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(' ')) |
	               _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\t'));
	return L | (WS & L1);
}

static size_t enc_avx512(const uint8_t *src, size_t n, char *dst, size_t *written, unsigned *colp,
                         unsigned flags)
{
	unsigned col = *colp;
	char *d = dst;
	size_t i = 0;

	/* Bounds: a mask reads src[i, i + 65), so it runs while i + 65 <= n;
	 * a copy writes exactly the k bytes it consumes, well inside the
	 * 3-per-byte room of the contract. */
	size_t win = 8;

	while (i < n) {
		if (col > 0 && col < MC_QP_COL_MAX && i + 65 <= n) {
			/* Mid-line: no soft break is due and '.'/"From " rules
			 * do not apply, so a literal run is copied as is. */
			__mmask64 lit = enc_lit_mask(src + i);
			unsigned k = ~lit ? (unsigned)__builtin_ctzll(~lit) : 64;

			if (k > MC_QP_COL_MAX - col)
				k = MC_QP_COL_MAX - col;
			/* Short runs (binary data): the scalar kernel does better
			 * on a longer stretch. */
			win = k < 8 ? 64 : 8;
			if (k) {
				_mm512_mask_storeu_epi8(d, k == 64 ? ~0ull : (1ull << k) - 1,
				                        ld(src + i));
				d += k;
				col += k;
				i += k;
				continue;
			}
		}
		/* One token or a few (a line start, an escape, a line break): the
		 * scalar kernel on a window; it needs at most 5 bytes to decide. */
		size_t w, len = n - i < win ? n - i : win;
		size_t used = mc__qp_enc_scalar(src + i, len, d, &w, &col, flags);

		d += w;
		i += used;
		if (!used)
			break;
	}
	*colp = col;
	*written = (size_t)(d - dst);
	return i;
}

const struct mc_qp_kernels mc__qp_avx512 = {
    .isa = MC_ISA_AVX512,
    .name = "avx512",
    .enc = enc_avx512,
    .dec = dec_avx512,
};
