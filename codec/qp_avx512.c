/* qp_avx512.c: quoted-printable bulk kernels for AVX-512 (F/BW/VL + VBMI2:
 * vpcompressb). RFC 2045 section 6.7; the contract is in qp_internal.h and
 * the specification is the state machine in qp.c ("qp design").
 *
 * Decode: 64 input bytes per step are classified with masks, every token
 * that starts in the block is recognised at once (plain byte, =XX, soft break
 * "=\n" / "=\r\n", LF, CRLF, a single space/tab followed by data or by a line
 * break), escapes are decoded in place (hex digit values from one vpermi2b
 * table lookup) and vpcompressb squeezes out the bytes that vanish. The step
 * commits up to the first byte it cannot classify (which the state machine
 * then takes). Steps follow one another 64 bytes apart, so each block's
 * masks are computed once and shifted for the bytes one and two on; a token
 * that runs over the block's end is written whole and the next block skips
 * its bytes. The loop is compiled once per (strict, crlf) pair.
 *
 * White space runs are data when data or '=' follows them; a run that goes
 * past the block ends the block there (the next one starts with it). With
 * MC_QP_CRLF a lone LF is written as CRLF and the kernel goes on after it.
 *
 * Encode, 64 input bytes per block: masks classify every byte as a unit of
 * 1 character (literal), 3 (=XX: '=', 8-bit, controls, a lone CR, white space
 * before a line break), a hard break (LF; the CR of CRLF is a unit of 0) and
 * popcounts of the masks give any unit's output offset. Output: a block of
 * literals is the input itself (one store, or one vpcompressb to drop the CR
 * of CRLF); otherwise each unit becomes a triplet (c0, c1, c2) with 0 for
 * unused slots (no output character is NUL), three vpermi2b/vpermb build the
 * 192-byte triplet stream and vpcompressb packs it. Line breaking: a line
 * whose end fits takes all its units; otherwise a soft break goes before the
 * unit that holds column 75, found in output space (a map of the output
 * characters that start no unit, one pext per packed vector; without
 * MC_QP_DOT / MC_QP_FROM) or with one compare of the prefix sum of unit
 * lengths. Soft breaks are inserted by storing each packed vector at its
 * shifted offset (at most one break falls inside a vector; with at most one
 * per block, without branches). Binary mode has its own loop (no hard
 * breaks: up to three soft breaks per block, all without branches). Text
 * without MC_QP_DOT / MC_QP_FROM goes in chunks of 2048 input bytes and two
 * passes (enc_text_loop): the packed units of the blocks into a buffer with
 * no line logic, then the buffer to the output line by line with the soft
 * breaks, whose unit starts are read off the buffer ('=' starts every
 * escape): the blocks no longer wait for one another's line breaking, which
 * cost half of the time. The rest after the last chunk, and MC_QP_DOT /
 * MC_QP_FROM, go per block (enc_loop, a loop per flag value); there a '.'
 * or 'F' at a line start ends the block and goes to the scalar kernel. */
#include <immintrin.h>
#include <string.h>

#include "qp_internal.h"

static inline __m512i ld(const void *p)
{
	return _mm512_loadu_si512(p);
}

static inline __mmask64 lo_bits(unsigned k) /* k <= 64 */
{
	return k >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << k) - 1;
}

/* Hex digit values indexed by the low 7 bits of a byte (0x80: no digit);
 * bytes from 128 up have their own bit 7 set, see hex_lut. */
static const uint8_t dec_hex[128] = {
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0,    1,    2,    3,    4,    5,    6,    7,    8,    9,    0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 10,   11,   12,   13,   14,   15,   0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 10,   11,   12,   13,   14,   15,   0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
};

/* Hex digit value of each byte of v (one vpermi2b) and which bytes are hex
 * digits: those whose value and own byte both have bit 7 clear. */
static inline __m512i hex_lut(__m512i v, __m512i lo, __m512i hi, __mmask64 *isdigit)
{
	__m512i t = _mm512_permutex2var_epi8(lo, v, hi);

	*isdigit = _mm512_testn_epi8_mask(_mm512_or_si512(t, v), _mm512_set1_epi8((char)0x80));
	return t;
}

/* Classes of the bytes of one block; each block's are computed once, and
 * those of the bytes one and two on come from this block's and the next's. */
struct dcls {
	uint64_t eq, cr, lf, ws, p;
};

/* p: bytes that are data wherever they are: strict: 33..126 except '=';
 * lenient: everything but '=', space, tab, CR and LF. */
static inline struct dcls dec_classify(__m512i v, int strict)
{
	struct dcls k;

	k.eq = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('='));
	k.cr = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\r'));
	k.lf = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\n'));
	k.ws = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(' ')) |
	       _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\t'));
	if (strict) /* (v - 33) <= 93 unsigned */
		k.p = _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8(33)),
		                             _mm512_set1_epi8(93)) &
		      ~k.eq;
	else
		k.p = ~(k.eq | k.ws | k.cr | k.lf);
	return k;
}

static inline uint64_t on1(uint64_t cur, uint64_t next) /* class of byte + 1 */
{
	return cur >> 1 | next << 63;
}

static inline uint64_t on2(uint64_t cur, uint64_t next) /* class of byte + 2 */
{
	return cur >> 2 | next << 62;
}

/* The decoder's loop, inlined for each (strict, crlf) pair of constants. */
static inline __attribute__((always_inline)) size_t dec_loop(const char *src, size_t n,
                                                             uint8_t *dst, size_t *written,
                                                             unsigned flags, const int strict,
                                                             const int crlf)
{
	const __m512i hexlo = ld(dec_hex), hexhi = ld(dec_hex + 64);
	uint8_t *d = dst;
	size_t i = 0;

	/* Bounds: a step reads src[i, i + 66) (two bytes of lookahead for the
	 * tokens that start at 62 and 63; the block after i + 64 is loaded
	 * whole only while it ends within n, else masked), so it runs while
	 * i + 66 <= n. It stores 64 bytes at d, and d - dst <= i (each token
	 * writes at most as many bytes as it consumes), or <= 2 i with
	 * MC_QP_CRLF (a lone LF becomes CRLF), so the store ends within
	 * dst + 2 i + 64 <= dst + 2 n and, without MC_QP_CRLF, within
	 * dst + i + 64 <= dst + n: inside the caller's mc_qp_decode_bound(n).
	 * Blocks follow one another 64 bytes apart; a token that starts at 62
	 * or 63 is written whole by its block and the next skips its bytes. */
	while (i + 66 <= n) {
		__m512i v = ld(src + i);
		struct dcls C = dec_classify(v, strict);
		unsigned skip = 0; /* leading bytes inside a token before the block */

		for (;;) {
			__m512i vn = i + 128 <= n
			                 ? ld(src + i + 64)
			                 : _mm512_maskz_loadu_epi8(lo_bits((unsigned)(n - i - 64)),
			                                           src + i + 64);
			struct dcls N = dec_classify(vn, strict);
			__m512i v1 = ld(src + i + 1), v2 = ld(src + i + 2);
			__mmask64 HEX1, HEX2;
			__m512i h1 = hex_lut(v1, hexlo, hexhi, &HEX1),
			        h2 = hex_lut(v2, hexlo, hexhi, &HEX2);
			uint64_t EQ1 = on1(C.eq, N.eq), LF1 = on1(C.lf, N.lf),
			         CR1 = on1(C.cr, N.cr);
			uint64_t P1 = on1(C.p, N.p), LF2 = on2(C.lf, N.lf);
			uint64_t SKIP = lo_bits(skip);
			uint64_t ESC = C.eq & HEX1 & HEX2;
			uint64_t SLF = C.eq & LF1;
			uint64_t SCRLF = C.eq & CR1 & LF2;
			uint64_t CRLF = C.cr & LF1 & ~SKIP;
			/* White space is mostly single spaces before data: lit. */
			uint64_t WS_LIT = C.ws, WS_DROP = 0;
			unsigned cut = 64;
			if (C.ws & ~(P1 | EQ1))
				cut = mc__qp_ws_runs(C.ws, on1(C.ws, N.ws), P1 | EQ1,
				                     LF1 | (CR1 & LF2), 64, &WS_LIT, &WS_DROP);
			/* Bytes inside a token that starts earlier: removed (escape
			 * digits, soft break endings, the bytes skipped) or kept
			 * (the LF of CRLF). */
			uint64_t gone = (ESC | SCRLF) << 1 | (ESC | SCRLF) << 2 | SLF << 1 | SKIP;
			uint64_t starts =
			    C.p | ESC | SLF | SCRLF | CRLF | WS_LIT | WS_DROP | (crlf ? 0 : C.lf);
			uint64_t bad = ~(starts | gone | CRLF << 1);
			if (cut < 64)
				bad |= (uint64_t)1 << cut;
			unsigned c = bad ? (unsigned)__builtin_ctzll(bad) : 64;
			uint64_t keep = lo_bits(c) & ~(gone | SLF | SCRLF | WS_DROP);

			/* A token never straddles c < 64 (its inner bytes would
			 * not be bad); at 64 the ones starting at 62/63 run over.
			 * High nibble: 16-bit shifts spill into the next byte, so
			 * it is masked off. */
			__m512i dec = _mm512_ternarylogic_epi32(
			    _mm512_slli_epi16(h1, 4), _mm512_set1_epi8((char)0xf0), h2, 0xea);
			__m512i out = _mm512_mask_blend_epi8(ESC, v, dec);

			_mm512_storeu_si512(d, _mm512_maskz_compress_epi8(keep, out));
			d += __builtin_popcountll(keep);
			if (c < 64) {
				i += c;
				if (c && c == cut)
					goto next; /* the next block starts with the run */
				if (!(crlf && (C.lf >> c & 1)))
					goto tail;
				/* MC_QP_CRLF: a lone LF becomes CRLF; go on after it. */
				*d++ = '\r';
				*d++ = '\n';
				i++;
				goto next;
			}
			/* The token at 62 or 63 that runs over (at most one): its
			 * bytes in the next block are skipped there; the LF of a
			 * CRLF at 63 is written here (d is within the store's
			 * room). */
			i += 64;
			uint64_t t = ESC | SCRLF;
			unsigned two = (unsigned)(t >> 63),
			         one = (unsigned)((t >> 62 | SLF >> 63) & 1);
			unsigned lf = (unsigned)(CRLF >> 63 & ~(t >> 62) & 1);

			*d = '\n';
			d += lf;
			skip = 2 * two + one + lf;
			if (i + 66 > n) {
				i += skip;
				goto tail;
			}
			v = vn;
			C = N;
		}
	next:;
	}
tail:
	if (i + 66 > n) { /* the tail: the scalar kernel, same contract */
		size_t w;

		i += mc__qp_dec_scalar(src + i, n - i, d, &w, flags);
		d += w;
	}
	*written = (size_t)(d - dst);
	return i;
}

static size_t dec_avx512(const char *src, size_t n, uint8_t *dst, size_t *written, unsigned flags)
{
	if (flags & MC_QP_STRICT)
		return flags & MC_QP_CRLF ? dec_loop(src, n, dst, written, flags, 1, 1)
		                          : dec_loop(src, n, dst, written, flags, 1, 0);
	return flags & MC_QP_CRLF ? dec_loop(src, n, dst, written, flags, 0, 1)
	                          : dec_loop(src, n, dst, written, flags, 0, 0);
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

/* The encoders' constant vectors. */
struct enc_k {
	__m512i k33, k93, eqv, hexlut, ilv0, ilv1, ilv2;
};

static inline struct enc_k enc_consts(void)
{
	struct enc_k K;

	K.k33 = _mm512_set1_epi8(33);
	K.k93 = _mm512_set1_epi8(93);
	K.eqv = _mm512_set1_epi8('=');
	K.hexlut = _mm512_broadcast_i32x4(_mm_loadu_si128((const void *)mc__qp_hex));
	K.ilv0 = ld(enc_ilv[0]);
	K.ilv1 = ld(enc_ilv[1]);
	K.ilv2 = ld(enc_ilv[2]);
	return K;
}

/* The bytes of v that are literal wherever they are (33..126 but '=') and,
 * in *ws, the white space (space, tab). */
static inline __mmask64 enc_classify(__m512i v, const struct enc_k *K, __mmask64 *ws)
{
	*ws = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(' ')) |
	      _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\t'));
	return _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, K->k33), K->k93) &
	       ~_mm512_cmpeq_epi8_mask(v, K->eqv);
}

/* The unit triplets of v's bytes: c0 is '=' for the escaped bytes (esc),
 * else the byte; *c1, *c2 their hex digits (0 for the others). */
static inline __m512i enc_units(__m512i v, __mmask64 esc, const struct enc_k *K, __m512i *c1,
                                __m512i *c2)
{
	*c1 = _mm512_maskz_shuffle_epi8(
	    esc, K->hexlut, _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(15)));
	*c2 = _mm512_maskz_shuffle_epi8(esc, K->hexlut, _mm512_and_si512(v, _mm512_set1_epi8(15)));
	return _mm512_mask_blend_epi8(esc, v, K->eqv);
}

/* The triplets interleaved into the 192-slot stream (three vpermi2b and
 * three vpermb) and packed without their NUL slots: vectors x[t] of m[t]
 * bytes, from the slots k[t]. */
static inline void enc_pack(__m512i c0, __m512i c1, __m512i c2, const struct enc_k *K, __m512i x[3],
                            __mmask64 k[3], unsigned m[3])
{
	__m512i s0 = _mm512_permutex2var_epi8(c0, K->ilv0, c1);
	__m512i s1 = _mm512_permutex2var_epi8(c0, K->ilv1, c1);
	__m512i s2 = _mm512_permutex2var_epi8(c0, K->ilv2, c1);

	s0 = _mm512_mask_permutexvar_epi8(s0, ENC_R2_0, K->ilv0, c2);
	s1 = _mm512_mask_permutexvar_epi8(s1, ENC_R2_1, K->ilv1, c2);
	s2 = _mm512_mask_permutexvar_epi8(s2, ENC_R2_2, K->ilv2, c2);
	k[0] = _mm512_test_epi8_mask(s0, s0);
	k[1] = _mm512_test_epi8_mask(s1, s1);
	k[2] = _mm512_test_epi8_mask(s2, s2);
	x[0] = _mm512_maskz_compress_epi8(k[0], s0);
	x[1] = _mm512_maskz_compress_epi8(k[1], s1);
	x[2] = _mm512_maskz_compress_epi8(k[2], s2);
	m[0] = (unsigned)__builtin_popcountll(k[0]);
	m[1] = (unsigned)__builtin_popcountll(k[1]);
	m[2] = (unsigned)__builtin_popcountll(k[2]);
}

/* Text mode: the classes of the block at p (it reads p[0, 66): a space or
 * tab at 63 looks two bytes on for CRLF): LF, CR, and CRZ, the CR of a CRLF
 * (part of the hard break); returns the escaped units: '=', controls (a
 * lone CR), 8-bit, and white space that ends a line. Units: the others 1
 * character, ESC 3, LF the line break, CRZ none. */
static inline __mmask64 enc_text_classes(const uint8_t *p, const struct enc_k *K, __mmask64 *lf,
                                         __mmask64 *cr, __mmask64 *crz)
{
	const __m512i lfv = _mm512_set1_epi8('\n'), crv = _mm512_set1_epi8('\r');
	__m512i v = ld(p), v1 = ld(p + 1);
	__mmask64 WS, LIT = enc_classify(v, K, &WS), WSE = 0;
	__mmask64 LF1 = _mm512_cmpeq_epi8_mask(v1, lfv);

	*lf = _mm512_cmpeq_epi8_mask(v, lfv);
	*cr = _mm512_cmpeq_epi8_mask(v, crv);
	*crz = *cr & LF1;
	if (WS) {
		__mmask64 CR1 = _mm512_cmpeq_epi8_mask(v1, crv);
		__mmask64 LF2 = _mm512_cmpeq_epi8_mask(ld(p + 2), lfv);
		WSE = WS & (LF1 | (CR1 & LF2));
	}
	return ~(LIT | WS | *lf | *crz) | WSE;
}

/* Text mode: the packed output of the units of v (see enc_text_classes),
 * an LF written as CRLF with MC_QP_CRLF, the CR of a CRLF dropped (its LF
 * writes the break). */
static inline void enc_text_pack(__m512i v, __mmask64 esc, __mmask64 lf, __mmask64 crz,
                                 const int crlf, const struct enc_k *K, __m512i x[3],
                                 __mmask64 k[3], unsigned m[3])
{
	__m512i c1, c2, c0 = enc_units(v, esc, K, &c1, &c2);

	if (crlf) {
		c0 = _mm512_mask_mov_epi8(c0, lf, _mm512_set1_epi8('\r'));
		c1 = _mm512_mask_mov_epi8(c1, lf, _mm512_set1_epi8('\n'));
	}
	enc_pack(_mm512_maskz_mov_epi8(~crz, c0), c1, c2, K, x, k, m);
}

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

/* Binary mode without MC_QP_DOT / MC_QP_FROM: no hard breaks, units of 1
 * or 3 characters, soft breaks in nearly every block. The triplet stream is
 * built as in enc_avx512; line breaking works in output space: a bitmap of
 * the output characters that do not start a unit (an escape's two digits;
 * one pext per vector) gives each character's distance back to its unit's
 * start, so each soft break costs a bit lookup (the unit that holds the
 * line's column 75 is the first that does not fit). At most three breaks
 * per block (192 characters; 73 or more apart but for the first), all stores
 * without branches. */
/* A[] |= the 64 bits z at bit o (o <= 128) of the 256-bit map A, with
 * constant indices only. */
static inline void put_bits(uint64_t A[4], uint64_t z, unsigned o)
{
	unsigned r = o & 63, k = o >> 6;
	uint64_t lo = z << r, hi = (z >> 1) >> (63 - r);

	A[0] |= k == 0 ? lo : 0;
	A[1] |= k == 0 ? hi : k == 1 ? lo : 0;
	A[2] |= k == 1 ? hi : k == 2 ? lo : 0;
	A[3] |= k == 2 ? hi : 0;
}

/* Output characters that start no unit (kept slots p % 3 != 0 of the
 * triplet stream: an escape's digits, the LF of a CRLF written for an LF),
 * from the three vectors' keep masks, as a 256-bit map A; B: those two on
 * from a unit start (units are at most 3 characters). */
__attribute__((target("bmi2"))) static inline void nonstart_map(uint64_t k0, uint64_t k1,
                                                                uint64_t k2, unsigned m0,
                                                                unsigned m1, uint64_t A[4],
                                                                uint64_t B[4])
{
	uint64_t z1 = _pext_u64(~ENC_R2_0, k1), z2 = _pext_u64(~ENC_R2_1, k2);

	A[0] = _pext_u64(~ENC_R2_2, k0);
	A[1] = A[2] = A[3] = 0;
	put_bits(A, z1, m0);
	put_bits(A, z2, m0 + m1);
	B[0] = A[0] & A[0] << 1;
	B[1] = A[1] & (A[1] << 1 | A[0] >> 63);
	B[2] = A[2] & (A[2] << 1 | A[1] >> 63);
	B[3] = A[3] & (A[3] << 1 | A[2] >> 63);
}

/* Word w of a 256-bit map (constant indices: the map stays in registers). */
static inline uint64_t word4(const uint64_t A[4], unsigned w)
{
	return w & 2 ? (w & 1 ? A[3] : A[2]) : (w & 1 ? A[1] : A[0]);
}

/* The output offset of the start of the unit that holds character p. */
static inline unsigned unit_start(const uint64_t A[4], const uint64_t B[4], unsigned p)
{
	unsigned w = (p & 255) >> 6, r = p & 63;

	return p - (unsigned)(word4(A, w) >> r & 1) - (unsigned)(word4(B, w) >> r & 1);
}

#define ENC_NONE 1000u /* no break */

/* Stores the packed vectors x[t] (m[t] bytes each, following one another)
 * at d with a soft break (sl bytes) before each of the output offsets
 * b0 < b1 < b2 (ENC_NONE: none; at least 73 apart, so at most one falls
 * inside a vector), without branches; returns the output's end. Vector t
 * goes at its offset o plus sl per break at or before o; a break inside it:
 * the bytes before it with a masked store over the shifted vector. The
 * breaks that are not go at the end (garbage that the next block writes
 * over). Stores end within d + 192 + 3 sl. */
static inline char *store_broken(char *d, const __m512i x[3], const unsigned m[3], unsigned b0,
                                 unsigned b1, unsigned b2, const unsigned sl, const int crlf)
{
	unsigned nb = (b0 != ENC_NONE) + (b1 != ENC_NONE) + (b2 != ENC_NONE);

	for (unsigned t = 0, o = 0; t < 3; o += m[t], t++) {
		unsigned e = o + m[t], kb = (b0 <= o) + (b1 <= o) + (b2 <= o);
		unsigned in0 = (b0 > o) & (b0 < e), in1 = (b1 > o) & (b1 < e);
		unsigned in2 = (b2 > o) & (b2 < e);
		unsigned bin = in0 ? b0 : in1 ? b1 : b2;
		__mmask64 lo = in0 | in1 | in2 ? lo_bits(bin - o) : 0;

		_mm512_storeu_si512(d + o + sl * (kb + (in0 | in1 | in2)), x[t]);
		_mm512_mask_storeu_epi8(d + o + sl * kb, lo, x[t]);
	}
	char *end = d + m[0] + m[1] + m[2] + nb * sl;
	char *q0 = b0 != ENC_NONE ? d + b0 : end;
	char *q1 = b1 != ENC_NONE ? d + b1 + sl : end;
	char *q2 = b2 != ENC_NONE ? d + b2 + 2 * sl : end;
	q0[0] = q1[0] = q2[0] = '=';
	q0[sl - 1] = q1[sl - 1] = q2[sl - 1] = '\n';
	if (crlf)
		q0[1] = q1[1] = q2[1] = '\r';
	return end;
}

__attribute__((target("bmi2"))) static size_t enc_bin_avx512(const uint8_t *src, size_t n,
                                                             char *dst, size_t *written,
                                                             unsigned *colp, unsigned flags)
{
	const int crlf = (flags & MC_QP_CRLF) != 0;
	const unsigned sl = crlf ? 3 : 2; /* a soft break's length */
	const struct enc_k K = enc_consts();
	unsigned col = *colp;
	char *d = dst;
	size_t i = 0;

	/* Bounds: as enc_loop's: a block reads src[i, i + 64) and runs while
	 * i + 66 <= n; its stores end within d + 192 + sl * nb, and the
	 * breaks that are not go at the output's end (sl more bytes), so
	 * within 3 (i + 65) plus the soft-break room of the contract. */
	while (i + 66 <= n) {
		__m512i v = ld(src + i), c1, c2, x[3];
		__mmask64 WS, LIT = enc_classify(v, &K, &WS), ESC = ~(LIT | WS), k[3];
		__m512i c0 = enc_units(v, ESC, &K, &c1, &c2);
		unsigned m[3];

		enc_pack(c0, c1, c2, &K, x, k, m);
		unsigned tot = 64 + 2 * (unsigned)__builtin_popcountll(ESC);
		uint64_t A[4], B[4];

		nonstart_map(k[0], k[1], k[2], m[0], m[1], A, B);
		/* The first line has 75 - col columns left (col <= 75). */
		unsigned p = MC_QP_COL_MAX - col;
		unsigned b0 = p < tot ? unit_start(A, B, p) : ENC_NONE;
		p = b0 + MC_QP_COL_MAX;
		unsigned b1 = p < tot ? unit_start(A, B, p) : ENC_NONE;
		p = b1 + MC_QP_COL_MAX;
		unsigned b2 = p < tot ? unit_start(A, B, p) : ENC_NONE;
		unsigned last = b2 != ENC_NONE ? b2 : b1 != ENC_NONE ? b1 : b0;

		col = b0 != ENC_NONE ? tot - last : col + tot;
		d = store_broken(d, x, m, b0, b1, b2, sl, crlf);
		i += 64;
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

/* The general encoder, inlined for the flags' common values as constants
 * (text, crlf, dot, fromf: whether MC_QP_BINARY is clear, MC_QP_CRLF,
 * MC_QP_DOT, MC_QP_FROM are set; flags holds them all for the scalar
 * kernel). */
__attribute__((target("bmi2"), always_inline)) static inline size_t
enc_loop(const uint8_t *src, size_t n, char *dst, size_t *written, unsigned *colp, unsigned flags,
         const int text, const int crlf, const int dot, const int fromf)
{
	const unsigned sl = crlf ? 3 : 2; /* a soft break's length */
	const struct enc_k K = enc_consts();
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
		__mmask64 LF = 0, CRZ = 0, CR = 0, ESC;

		if (text) {
			ESC = enc_text_classes(src + i, &K, &LF, &CR, &CRZ);
		} else {
			__mmask64 WS, LIT = enc_classify(v, &K, &WS);

			ESC = ~(LIT | WS);
		}
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

		/* The output, as up to three vectors x[t] of m[t] bytes each that
		 * follow one another (soft breaks not counted). */
		__m512i x[3];
		unsigned m[3], nx;
		__mmask64 k0 = 0, k1 = 0, k2 = 0;
		if (litv) {
			x[0] = crlf || !CRZ ? v : _mm512_maskz_compress_epi8(~CRZ, v);
			m[0] = 64 - (crlf ? 0 : (unsigned)__builtin_popcountll(CRZ));
			nx = 1;
		} else {
			__mmask64 k[3];

			enc_text_pack(v, ESC, LF, CRZ, crlf, &K, x, k, m);
			k0 = k[0], k1 = k[1], k2 = k[2];
			nx = 3;
		}
		/* Line breaking: from unit j0 (output offset b, column c) to the
		 * next hard break h; the units that fit are those whose end is
		 * within b + 75 - c: all of them if the line's end is, else a
		 * prefix (the offsets only grow), found with one compare of the
		 * prefix sum P of unit lengths (the ends of the units),
		 * computed when first needed. A soft break goes before the
		 * first that does not fit. A line start at '.' or 'F' (per
		 * flags) ends the block: the scalar kernel takes it. */
		__m512i P = _mm512_setzero_si512();
		int haveP = 0, haveU = 0;
		uint64_t A[4], B[4];
		unsigned c = col, b = 0, j0 = 0, stop = 64, nb = 0, brk[8];
		if (!(dot | fromf) && !(LF & (LF - 1))) {
			/* At most one hard break and no soft break needed: the
			 * line up to it and the one after it fit. */
			unsigned h = LF ? (unsigned)__builtin_ctzll(LF) : 64;
			unsigned t64 = OFF(64), oh = OFF(h), eh = LF ? OFF(h + 1) : 0;

			if (c + oh <= MC_QP_COL_MAX && t64 - eh <= MC_QP_COL_MAX) {
				c = LF ? t64 - eh : c + t64;
				goto lines_done;
			}
			/* Else the segments [0, oh) from column c and [eh, t64)
			 * from column 0 (empty without LF): in each, soft breaks
			 * before the unit that holds column 75, without
			 * branches (at most three in the block). */
			if (!LF)
				eh = t64;
			A[0] = A[1] = A[2] = A[3] = B[0] = B[1] = B[2] = B[3] = 0;
			if (!litv)
				nonstart_map(k0, k1, k2, m[0], m[1], A, B);
#define SOFT(lim, end) ((lim) < (end) ? unit_start(A, B, (lim)) : ENC_NONE)
			unsigned s0 = SOFT(MC_QP_COL_MAX - c, oh);
			unsigned s1 = SOFT(s0 + MC_QP_COL_MAX, oh);
			unsigned s2 = SOFT(s1 + MC_QP_COL_MAX, oh);
			unsigned s3 = SOFT(eh + MC_QP_COL_MAX, t64);
			unsigned s4 = SOFT(s3 + MC_QP_COL_MAX, t64);
#undef SOFT
			brk[0] = s0;
			nb = s0 != ENC_NONE;
			brk[nb] = s1;
			nb += s1 != ENC_NONE;
			brk[nb] = s2;
			nb += s2 != ENC_NONE;
			brk[nb] = s3;
			nb += s3 != ENC_NONE;
			brk[nb] = s4;
			nb += s4 != ENC_NONE;
			/* The last line: after the last soft break, else after
			 * the LF, else the block's start at column c. */
			unsigned lb = s4 != ENC_NONE   ? s4
			              : s3 != ENC_NONE ? s3
			              : LF             ? eh
			              : s2 != ENC_NONE ? s2
			              : s1 != ENC_NONE ? s1
			                               : s0;
			c = lb != ENC_NONE ? t64 - lb : c + t64;
			goto lines_done;
		}
		for (;;) {
			if (c == 0 && j0 < 64 && (SPECIAL >> j0 & 1)) {
				stop = j0;
				break;
			}
			__mmask64 rest = j0 < 64 ? LF & ~lo_bits(j0) : 0;
			unsigned h = rest ? (unsigned)__builtin_ctzll(rest) : 64;
			unsigned lim = b + MC_QP_COL_MAX - c, end = OFF(h), nf = h;

			if (end > lim && !(dot | fromf)) {
				/* The unit that holds column 75 is the first that
				 * does not fit (a literal block: its characters are
				 * its units). */
				if (!haveU) {
					A[0] = A[1] = A[2] = A[3] = B[0] = B[1] = B[2] = B[3] = 0;
					if (!litv)
						nonstart_map(k0, k1, k2, m[0], m[1], A, B);
					haveU = 1;
				}
				b = unit_start(A, B, lim);
				brk[nb++] = b;
				c = 0;
				continue;
			}
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

	lines_done:;
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
			/* At most one soft break (at bk; with none, bk is the end
			 * of the output and its bytes are garbage that the next
			 * block writes over): the same stores without branches. */
			unsigned bk = nb ? brk[0] : tot;
			for (unsigned t = 0, o = 0; t < nx; o += m[t], t++) {
				unsigned sh = nb && bk < o + m[t] ? sl : 0;
				__mmask64 lo = nb && bk > o && bk < o + m[t] ? lo_bits(bk - o) : 0;

				_mm512_storeu_si512(d + o + sh, x[t]);
				_mm512_mask_storeu_epi8(d + o, lo, x[t]);
			}
			char *q = d + bk;
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

/* Text without MC_QP_DOT / MC_QP_FROM (flags' MC_QP_CRLF in crlf), in
 * chunks of ENC_CHUNK input bytes and two passes per chunk. Pass 1 writes
 * the units of the chunk's blocks to a buffer T with no line logic at all
 * (a block of literals: the input; else the packed triplet stream). Pass 2
 * copies T to dst line by line and puts the soft breaks in: a line's
 * character at column 75, if the line has one before its hard break, is in
 * the unit that takes a soft break before it; in T that unit starts at the
 * character, or one or two before it when one of those is a '=' (a '=' in
 * T is always an escape's first character, and T starts with a unit). So
 * the soft breaks cost a few scalar steps per line, not a bitmap of unit
 * starts per block, and the blocks do not wait for one another's line
 * breaking. The rest after the last whole chunk goes to enc_loop. */
#define ENC_CHUNK 2048
__attribute__((target("bmi2"), always_inline)) static inline size_t
enc_text_loop(const uint8_t *src, size_t n, char *dst, size_t *written, unsigned *colp,
              unsigned flags, const int crlf)
{
	const unsigned sl = crlf ? 3 : 2; /* a soft break's length */
	const struct enc_k K = enc_consts();
	const __m512i lfv = _mm512_set1_epi8('\n');
	/* T: up to 3 output bytes per input byte, 192 bytes of the last
	 * block's stores and 128 of pass 2's reads past the end (zeroed after
	 * pass 1); two zero bytes before it for the look back at T's start. */
	char tbuf[64 + 3 * ENC_CHUNK + 256] __attribute__((aligned(64)));
	uint64_t lfm[3 * ENC_CHUNK / 64 + 1]; /* the LFs in T */
	char *const T = tbuf + 64;
	unsigned col = *colp;
	char *d = dst;
	size_t i = 0;

	/* Bounds: a chunk reads src[i, i + ENC_CHUNK + 2) and runs while
	 * i + ENC_CHUNK + 66 <= n. Pass 2 writes 128 bytes for each piece of
	 * a line (at most 76 characters) and for the rest of a line in steps
	 * of 128, so at most 127 bytes past the chunk's output, which is at
	 * most 3 (i + ENC_CHUNK) plus its soft breaks: within 3 n - 198 + 127
	 * and the soft-break room of the contract. */
	tbuf[62] = tbuf[63] = 0;
	while (i + ENC_CHUNK + 66 <= n) {
		unsigned L = 0, pos = 0;

		for (size_t end = i + ENC_CHUNK; i < end; i += 64) {
			__mmask64 LF, CR, CRZ, ESC = enc_text_classes(src + i, &K, &LF, &CR, &CRZ);
			__m512i v = ld(src + i);

			/* With CRLF out, every LF must follow a CR in the block
			 * for the input to be the output (see enc_loop). */
			if (!ESC && !(crlf && ((LF & ~(CR << 1)) || (CRZ >> 63)))) {
				_mm512_storeu_si512(T + L,
				                    crlf ? v : _mm512_maskz_compress_epi8(~CRZ, v));
				L += 64 - (crlf ? 0 : (unsigned)__builtin_popcountll(CRZ));
			} else {
				__m512i x[3];
				__mmask64 k[3];
				unsigned m[3];

				enc_text_pack(v, ESC, LF, CRZ, crlf, &K, x, k, m);
				_mm512_storeu_si512(T + L, x[0]);
				_mm512_storeu_si512(T + L + m[0], x[1]);
				_mm512_storeu_si512(T + L + m[0] + m[1], x[2]);
				L += m[0] + m[1] + m[2];
			}
		}
		/* Pass 2 reads up to 127 bytes past L (and copies them out as
		 * scratch the next store covers): defined bytes, no stack
		 * garbage in the caller's buffer. */
		_mm512_storeu_si512(T + L, _mm512_setzero_si512());
		_mm512_storeu_si512(T + L + 64, _mm512_setzero_si512());
		for (unsigned w = 0; w * 64 < L; w++)
			lfm[w] = _mm512_cmpeq_epi8_mask(ld(T + 64 * w), lfv);
		lfm[(L - 1) / 64] &= lo_bits((L - 1) % 64 + 1);
		while (pos < L) {
			/* The line from pos (column col) to the next LF (nl; L:
			 * none in the chunk), its characters before e (the CR of
			 * a CRLF is the hard break's). */
			unsigned w = pos / 64, nl;
			uint64_t mk = lfm[w] & ~lo_bits(pos % 64);

			while (!mk && ++w * 64 < L)
				mk = lfm[w];
			nl = mk ? w * 64 + (unsigned)__builtin_ctzll(mk) : L;
			unsigned e = nl < L ? nl - (unsigned)crlf : L, stop = nl < L ? nl + 1 : L;
			unsigned q = pos + MC_QP_COL_MAX - col; /* column 75 (col <= 75) */

			while (q < e) {
				const char *t = T + q;
				unsigned b = q - (t[-1] == '=' ? 1u : t[-2] == '=' ? 2u : 0u);

				_mm512_storeu_si512(d, ld(T + pos));
				_mm512_storeu_si512(d + 64, ld(T + pos + 64));
				d += b - pos;
				d[0] = '=';
				d[sl - 1] = '\n';
				if (crlf)
					d[1] = '\r';
				d += sl;
				pos = b;
				col = 0;
				q = b + MC_QP_COL_MAX;
			}
			for (unsigned k = pos; k < stop; k += 128) {
				_mm512_storeu_si512(d + (k - pos), ld(T + k));
				_mm512_storeu_si512(d + (k - pos) + 64, ld(T + k + 64));
			}
			d += stop - pos;
			col = nl < L ? 0 : col + (stop - pos);
			pos = stop;
		}
	}
	size_t w;

	i += enc_loop(src + i, n - i, d, &w, &col, flags, 1, crlf, 0, 0);
	*colp = col;
	*written = (size_t)(d + w - dst);
	return i;
}

__attribute__((target("bmi2"))) static size_t
enc_avx512(const uint8_t *src, size_t n, char *dst, size_t *written, unsigned *colp, unsigned flags)
{
	const int text = !(flags & MC_QP_BINARY), crlf = (flags & MC_QP_CRLF) != 0;
	const int dot = (flags & MC_QP_DOT) != 0, fromf = (flags & MC_QP_FROM) != 0;

	if (!dot && !fromf) {
		if (!text)
			return enc_bin_avx512(src, n, dst, written, colp, flags);
		return crlf ? enc_text_loop(src, n, dst, written, colp, flags, 1)
		            : enc_text_loop(src, n, dst, written, colp, flags, 0);
	}
	return enc_loop(src, n, dst, written, colp, flags, text, crlf, dot, fromf);
}

const struct mc_qp_kernels mc__qp_avx512 = {
    .isa = MC_ISA_AVX512,
    .name = "avx512",
    .enc = enc_avx512,
    .dec = dec_avx512,
};
