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
 * White space runs are data when data or '=' follows them; a run that goes
 * past the block ends the block there (the next one starts with it). With
 * MC_QP_CRLF a lone LF is written as CRLF and the kernel goes on after it.
 *
 * Encode, 64 input bytes per block: masks classify every byte as a unit of
 * 1 character (literal), 3 (=XX: '=', 8-bit, controls, a lone CR, white space
 * before a line break), a hard break (LF; the CR of CRLF is a unit of 0) and
 * popcounts of the masks give any unit's output offset. Line breaking walks
 * the lines in the block: a line whose end fits takes all its units;
 * otherwise those that fit are a prefix (the offsets only grow), found with
 * one compare of the prefix sum of unit lengths (computed only then); a soft
 * break goes before the first that does not. Output: a block of literals is
 * the input itself (one store, or one vpcompressb to drop the CR of CRLF);
 * otherwise each unit becomes a triplet (c0, c1, c2) with 0 for unused slots
 * (no output character is NUL), three vpermi2b/vpermb build the 192-byte
 * triplet stream and vpcompressb packs it. Soft breaks are inserted by
 * storing each packed vector at its shifted offset (at most one break falls
 * inside a vector; with at most one per block, without branches). A '.' or 'F' at a line start (MC_QP_DOT,
 * MC_QP_FROM) ends the block and goes to the scalar kernel. */
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
	 * as many bytes as it consumes), or <= 2 i with MC_QP_CRLF (a lone LF
	 * becomes CRLF), so the store ends within dst + 2 i + 64 <= dst + 2 n
	 * and, without MC_QP_CRLF, within dst + i + 64 <= dst + n: inside the
	 * caller's mc_qp_decode_bound(n). */
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
		__mmask64 WS1 = _mm512_cmpeq_epi8_mask(v1, _mm512_set1_epi8(' ')) |
		                _mm512_cmpeq_epi8_mask(v1, _mm512_set1_epi8('\t'));
		uint64_t WS_LIT = 0, WS_DROP = 0;
		unsigned cut =
		    WS ? mc__qp_ws_runs(WS, WS1, P1 | EQ1, LF1 | (CR1 & LF2), 64, &WS_LIT, &WS_DROP)
		       : 64;
		/* Bytes inside a token that starts earlier: removed (escape digits,
		 * soft break endings) or kept (the LF of CRLF). */
		__mmask64 gone = (ESC | SCRLF) << 1 | (ESC | SCRLF) << 2 | SLF << 1;
		__mmask64 starts =
		    P | ESC | SLF | SCRLF | CRLF | WS_LIT | WS_DROP | (crlf ? 0 : LF);
		__mmask64 bad = ~(starts | gone | CRLF << 1);
		if (cut < 64)
			bad |= (__mmask64)1 << cut;
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

/* ---- encode ------------------------------------------------------------------ */

/* Stream slot t of the interleaved (c0, c1, c2) triplets: byte b of output
 * vector t is slot p = 64 t + b, that is c[p % 3] of input byte p / 3.
 * Entries index c0 (0..63) for p % 3 == 0, c1 (64..127) for 1, and for 2 the
 * input byte (a second permute takes it from c2). */
static const uint8_t enc_ilv[3][64] = {
    {0,  64, 0,  1,  65, 1,  2,  66, 2,  3,  67, 3,  4,  68, 4,  5,  69, 5,  6,  70, 6,  7,
     71, 7,  8,  72, 8,  9,  73, 9,  10, 74, 10, 11, 75, 11, 12, 76, 12, 13, 77, 13, 14, 78,
     14, 15, 79, 15, 16, 80, 16, 17, 81, 17, 18, 82, 18, 19, 83, 19, 20, 84, 20, 21},
    {85, 21,  22, 86, 22,  23, 87, 23,  24, 88, 24,  25, 89, 25,  26, 90, 26,  27, 91, 27, 28, 92,
     28, 29,  93, 29, 30,  94, 30, 31,  95, 31, 32,  96, 32, 33,  97, 33, 34,  98, 34, 35, 99, 35,
     36, 100, 36, 37, 101, 37, 38, 102, 38, 39, 103, 39, 40, 104, 40, 41, 105, 41, 42, 106},
    {42,  43,  107, 43,  44,  108, 44,  45,  109, 45,  46,  110, 46,  47,  111, 47,
     48,  112, 48,  49,  113, 49,  50,  114, 50,  51,  115, 51,  52,  116, 52,  53,
     117, 53,  54,  118, 54,  55,  119, 55,  56,  120, 56,  57,  121, 57,  58,  122,
     58,  59,  123, 59,  60,  124, 60,  61,  125, 61,  62,  126, 62,  63,  127, 63},
};
#define ENC_R2_0 0x4924924924924924ull /* slots with p % 3 == 2, per vector */
#define ENC_R2_1 0x2492492492492492ull
#define ENC_R2_2 0x9249249249249249ull

/* Inclusive prefix sum of 64 bytes (totals stay below 256 here). */
static inline __m512i prefix_sum(__m512i x)
{
	x = _mm512_add_epi8(x, _mm512_bslli_epi128(x, 1));
	x = _mm512_add_epi8(x, _mm512_bslli_epi128(x, 2));
	x = _mm512_add_epi8(x, _mm512_bslli_epi128(x, 4));
	x = _mm512_add_epi8(x, _mm512_bslli_epi128(x, 8));
	/* Lane totals [t0 t1 t2 t3] to exclusive lane prefixes [0 t0 t0+t1 ...]. */
	__m512i t = _mm512_shuffle_epi8(x, _mm512_set1_epi8(15));
	__m512i s = _mm512_maskz_shuffle_i64x2(0xfc, t, t, _MM_SHUFFLE(2, 1, 0, 0));
	s = _mm512_add_epi8(s, _mm512_maskz_shuffle_i64x2(0xfc, s, s, _MM_SHUFFLE(2, 1, 0, 0)));
	s = _mm512_add_epi8(s, _mm512_maskz_shuffle_i64x2(0xf0, s, s, _MM_SHUFFLE(1, 0, 0, 0)));
	return _mm512_add_epi8(x, s);
}

static inline __mmask64 lo_bits(unsigned k) /* k <= 64 */
{
	return k >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << k) - 1;
}

static size_t enc_avx512(const uint8_t *src, size_t n, char *dst, size_t *written, unsigned *colp,
                         unsigned flags)
{
	const int text = !(flags & MC_QP_BINARY), crlf = (flags & MC_QP_CRLF) != 0;
	const unsigned sl = crlf ? 3 : 2; /* a soft break's length */
	const __m512i k33 = _mm512_set1_epi8(33), k93 = _mm512_set1_epi8(93);
	const __m512i eqv = _mm512_set1_epi8('='), lfv = _mm512_set1_epi8('\n');
	const __m512i crv = _mm512_set1_epi8('\r');
	const __m512i hexlut = _mm512_broadcast_i32x4(_mm_loadu_si128((const void *)mc__qp_hex));
	const __m512i ilv0 = ld(enc_ilv[0]), ilv1 = ld(enc_ilv[1]), ilv2 = ld(enc_ilv[2]);
	const int dot = (flags & MC_QP_DOT) != 0, fromf = (flags & MC_QP_FROM) != 0;
	unsigned col = *colp;
	char *d = dst;
	size_t i = 0;

	/* Bounds: a block reads src[i, i + 66) (a space or tab at 63 looks two
	 * bytes on for CRLF), so it runs while i + 66 <= n. It writes at most
	 * d + 192 (three compressed vectors of at most 64 bytes at offsets
	 * summing to at most 128), or exactly its output when soft breaks are
	 * inserted. Output so far is at most 3 i plus 3 per soft break (each
	 * soft break but the first follows 73 characters), so d + 195 stays
	 * within 3 (i + 65) <= 3 n plus the soft-break room of the contract. */
	while (i + 66 <= n) {
		__m512i v = ld(src + i);
		__mmask64 LIT = _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, k33), k93) &
		                ~_mm512_cmpeq_epi8_mask(v, eqv);
		__mmask64 WS = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(' ')) |
		               _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\t'));
		__mmask64 LF = 0, CRZ = 0, WSE = 0, CR = 0;

		if (text) {
			__m512i v1 = ld(src + i + 1);
			__mmask64 LF1 = _mm512_cmpeq_epi8_mask(v1, lfv);

			LF = _mm512_cmpeq_epi8_mask(v, lfv);
			CR = _mm512_cmpeq_epi8_mask(v, crv);
			CRZ = CR & LF1; /* the CR of CRLF: part of the hard break */
			if (WS) {
				__mmask64 CR1 = _mm512_cmpeq_epi8_mask(v1, crv);
				__mmask64 LF2 = _mm512_cmpeq_epi8_mask(ld(src + i + 2), lfv);
				WSE = WS & (LF1 | (CR1 & LF2));
			}
		}
		/* Escaped units: '=', controls (a lone CR), 8-bit, and white space
		 * that ends a line. Units: LIT and the rest of WS 1 character, ESC
		 * 3, LF the line break, CRZ none. */
		__mmask64 ESC = ~(LIT | WS | LF | CRZ) | WSE;
		/* Bytes that start a line specially ('.', "From "): the scalar
		 * kernel takes them. */
		__mmask64 SPECIAL = 0;
		if (dot)
			SPECIAL = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('.'));
		if (fromf)
			SPECIAL |= _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('F'));

		/* Literal block: the output is the input, minus the CR of CRLF
		 * when line breaks are LF. With CRLF out, every LF must already
		 * follow a CR here: an LF at 0 and a CR at 63 (its LF in the next
		 * block) go the general way, which writes CRLF for the LF alone. */
		const int litv = !ESC && !(crlf && ((LF & ~(CR << 1)) || (CRZ >> 63)));

		if (litv) {
			/* Fast path: no soft break and no special line start. */
			unsigned h = LF ? (unsigned)__builtin_ctzll(LF) : 64;
			unsigned first = h - (unsigned)__builtin_popcountll(CRZ & lo_bits(h));
			__mmask64 starts = LF << 1 | (col == 0);

			if (col + first <= MC_QP_COL_MAX && !(SPECIAL & starts)) {
				if (crlf || !CRZ) {
					_mm512_storeu_si512(d, v);
					d += 64;
				} else {
					_mm512_storeu_si512(d, _mm512_maskz_compress_epi8(~CRZ, v));
					d += 64 - __builtin_popcountll(CRZ);
				}
				if (LF) {
					unsigned last = 63 - (unsigned)__builtin_clzll(LF);
					col = 63 - last - (unsigned)(CRZ >> 63);
				} else {
					col += 64 - (unsigned)__builtin_popcountll(CRZ);
				}
				i += 64;
				continue;
			}
		}

		/* General path. Per unit: its output as a triplet (c0, c1, c2) with
		 * 0 for "nothing" (no output character is NUL), its length, and
		 * the prefix sum of lengths (output offsets of unit ends). */
		/* Output offset of the start of unit j: units are 1 character,
		 * 3 (ESC), none (CRZ) or 2 (an LF written as CRLF). */
		const uint64_t M1 = crlf ? LF : 0;
#define OFF(j)                                                        \
	((j) + 2 * (unsigned)__builtin_popcountll(ESC & lo_bits(j)) + \
	 (unsigned)__builtin_popcountll(M1 & lo_bits(j)) -            \
	 (unsigned)__builtin_popcountll(CRZ & lo_bits(j)))

		/* Line breaking: from unit j0 (output offset b, column c) to the
		 * next hard break h; the units that fit are those whose end is
		 * within b + 75 - c: all of them if the line's end is, else a
		 * prefix (the offsets only grow), found with one compare of the
		 * prefix sum P of unit lengths (the ends of the units),
		 * computed when first needed. A soft break goes before the
		 * first that does not fit. A line start at '.' or 'F' (per
		 * flags) ends the block: the scalar kernel takes it. */
		__m512i P = _mm512_setzero_si512();
		int haveP = 0;
		unsigned c = col, b = 0, j0 = 0, stop = 64, nb = 0, brk[8];
		for (;;) {
			if (c == 0 && j0 < 64 && (SPECIAL >> j0 & 1)) {
				stop = j0;
				break;
			}
			__mmask64 rest = j0 < 64 ? LF & ~lo_bits(j0) : 0;
			unsigned h = rest ? (unsigned)__builtin_ctzll(rest) : 64;
			unsigned lim = b + MC_QP_COL_MAX - c, end = OFF(h), nf = h;

			if (end > lim) {
				if (!haveP) {
					__m512i len = _mm512_mask_blend_epi8(
					    ESC, _mm512_set1_epi8(1), _mm512_set1_epi8(3));
					len = _mm512_maskz_mov_epi8(~CRZ, len);
					if (crlf)
						len = _mm512_mask_mov_epi8(len, LF,
						                           _mm512_set1_epi8(2));
					P = prefix_sum(len);
					haveP = 1;
				}
				nf = (unsigned)__builtin_popcountll(_mm512_cmple_epu8_mask(
				    P, _mm512_set1_epi8((char)(lim > 255 ? 255 : lim))));
			}
			if (nf >= h) {
				if (h == 64) {
					c += end - b;
					break;
				}
				b = OFF(h + 1);
				j0 = h + 1;
				c = 0;
				continue;
			}
			/* nf > j0 unless c > 0: a unit always fits at column 0. */
			b = OFF(nf);
			brk[nb++] = b;
			j0 = nf;
			c = 0;
		}

		/* The output, as up to three vectors x[t] of m[t] bytes each that
		 * follow one another (soft breaks not counted). */
		__m512i x[3];
		unsigned m[3], nx;
		if (litv) {
			x[0] = crlf || !CRZ ? v : _mm512_maskz_compress_epi8(~CRZ, v);
			m[0] = 64 - (crlf ? 0 : (unsigned)__builtin_popcountll(CRZ));
			nx = 1;
		} else {
			__m512i c0 = _mm512_mask_blend_epi8(ESC, v, eqv);
			__m512i c1 = _mm512_maskz_shuffle_epi8(
			    ESC, hexlut,
			    _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(15)));
			__m512i c2 = _mm512_maskz_shuffle_epi8(
			    ESC, hexlut, _mm512_and_si512(v, _mm512_set1_epi8(15)));
			if (crlf) {
				c0 = _mm512_mask_mov_epi8(c0, LF, crv);
				c1 = _mm512_mask_mov_epi8(c1, LF, lfv);
			}
			c0 = _mm512_maskz_mov_epi8(~CRZ, c0);
			__m512i s0 = _mm512_permutex2var_epi8(c0, ilv0, c1);
			__m512i s1 = _mm512_permutex2var_epi8(c0, ilv1, c1);
			__m512i s2 = _mm512_permutex2var_epi8(c0, ilv2, c1);
			s0 = _mm512_mask_permutexvar_epi8(s0, ENC_R2_0, ilv0, c2);
			s1 = _mm512_mask_permutexvar_epi8(s1, ENC_R2_1, ilv1, c2);
			s2 = _mm512_mask_permutexvar_epi8(s2, ENC_R2_2, ilv2, c2);
			__mmask64 k0 = _mm512_test_epi8_mask(s0, s0);
			__mmask64 k1 = _mm512_test_epi8_mask(s1, s1);
			__mmask64 k2 = _mm512_test_epi8_mask(s2, s2);
			x[0] = _mm512_maskz_compress_epi8(k0, s0);
			x[1] = _mm512_maskz_compress_epi8(k1, s1);
			x[2] = _mm512_maskz_compress_epi8(k2, s2);
			m[0] = (unsigned)__builtin_popcountll(k0);
			m[1] = (unsigned)__builtin_popcountll(k1);
			m[2] = (unsigned)__builtin_popcountll(k2);
			nx = 3;
		}
		unsigned tot = OFF(stop);
#undef OFF

		/* Stores: vector t goes at its offset o plus sl per soft break at
		 * or before o. Breaks are at least 73 apart but for the first, so
		 * at most one falls inside a vector: its bytes after the break go
		 * with one more shift, those before with a masked store over
		 * them. The gaps are filled with the soft breaks last. Every
		 * store ends within d + 192 + sl * nb, or d + 192 + sl when
		 * there is no soft break (its bytes go at the end as garbage). */
		if (nb <= 1) {
			/* At most one soft break (at B; with none, B is the end
			 * of the output and its bytes are garbage that the next
			 * block writes over): the same stores without branches. */
			unsigned B = nb ? brk[0] : tot;
			for (unsigned t = 0, o = 0; t < nx; o += m[t], t++) {
				unsigned sh = nb && B < o + m[t] ? sl : 0;
				__mmask64 lo = nb && B > o && B < o + m[t] ? lo_bits(B - o) : 0;

				_mm512_storeu_si512(d + o + sh, x[t]);
				_mm512_mask_storeu_epi8(d + o, lo, x[t]);
			}
			char *q = d + B;
			q[0] = '=';
			q[sl - 1] = '\n';
			if (crlf)
				q[1] = '\r';
		} else {
			for (unsigned t = 0, o = 0, k = 0; t < nx; o += m[t], t++) {
				while (k < nb && brk[k] <= o)
					k++;
				char *q = d + o + k * sl;
				if (k < nb && brk[k] < o + m[t]) {
					_mm512_storeu_si512(q + sl, x[t]);
					_mm512_mask_storeu_epi8(q, lo_bits(brk[k] - o), x[t]);
				} else {
					_mm512_storeu_si512(q, x[t]);
				}
			}
			for (unsigned k = 0; k < nb; k++) {
				char *q = d + brk[k] + k * sl;
				q[0] = '=';
				q[sl - 1] = '\n';
				if (crlf)
					q[1] = '\r';
			}
		}
		d += tot + nb * sl;
		col = c;
		i += stop;
		if (stop < 64) {
			/* A '.' or 'F' at a line start (col 0): the scalar kernel on
			 * a short window; it needs at most 5 bytes to decide. */
			size_t w, len2 = n - i < 16 ? n - i : 16;
			size_t used = mc__qp_enc_scalar(src + i, len2, d, &w, &col, flags);

			d += w;
			i += used;
			if (!used)
				break;
		}
	}
	if (i + 66 > n) { /* the tail: the scalar kernel, same contract */
		size_t w;

		i += mc__qp_enc_scalar(src + i, n - i, d, &w, &col, flags);
		d += w;
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
