/* b64_avx2.c: AVX2 base64 kernels (RFC 4648 sections 4 and 5; RFC 2045
 * section 6.8 line breaks on encode and whitespace skipping on decode).
 * Built with -mavx2 for this file only: nothing here may run unless
 * mc__b64_kernels_for() chose MC_ISA_AVX2. The contract is b64_internal.h.
 *
 * Design note ("avx2 b64 design"):
 * - Encode (after Muła and Lemire): each 128-bit lane takes 12 input bytes,
 *   a pshufb spreads every 3-byte group over a 32-bit word, a mulhi/mullo
 *   pair moves the four 6-bit fields into four bytes, and a 14-entry pshufb
 *   table of offsets turns sextets into ASCII.
 * - Wrapped encode (wrap a multiple of 4, so line breaks fall between
 *   groups): whole lines are encoded in place; the line's last partial
 *   vector gets the line break blended in, and its garbage tail is
 *   overwritten by the next line. Short line tails (wrap % 32 <= 12, as in
 *   MIME's 76) of two lines share one vector.
 * - Decode: two nibble lookups classify 32 characters; a third pshufb finds
 *   whitespace. Three modes, all starting on a quantum boundary:
 *   direct: clean blocks are translated and packed straight to dst, and a
 *     block whose first bad byte is whitespace on a quantum boundary decodes
 *     the quanta before it and skips the run;
 *   lines: once a line of len characters (len % 4 == 0) and a break of one or
 *     two bytes has been seen, the following lines are assumed alike and
 *     decoded at fixed offsets, then verified (MIME's 76 + CRLF, PEM's 64 +
 *     LF); the first line that differs goes back to direct mode;
 *   staging: whitespace inside a quantum; blocks are compacted into a stack
 *     buffer (one whitespace run by two overlapping stores, else a pshufb
 *     compaction table per 8 bytes), which is decoded 32 characters at a
 *     time. The kernel returns to direct mode once the staged count is a
 *     multiple of 4 again.
 *   Any other byte ends the kernel: the scalar state machine owns it.
 * - Stores: encode stores only what it consumes (the wrapped encode only
 *   inside the output of its whole groups). Decode writes 28 bytes for 24
 *   only while that stays inside dst[0 .. ((n + 3) / 4) * 3), the contract's
 *   bound; bytes past the decoded ones are overwritten by later output.
 * - Large unwrapped encodes stream their output past the caches with
 *   non-temporal stores (ENC_NT_MIN). */
#include <immintrin.h>
#include <string.h>

#include "b64_internal.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* ---- encode ------------------------------------------------------------- */

/* Non-temporal stores pay once the output no longer fits the caches. Measured
 * here (Xeon, 2 MiB L2 per core, shared L3): at 16 and 64 MiB of input they
 * take plain encode from 4.1 to 5.7 GB/s; at 4 MiB they break even; below
 * that they lose. MC_B64_NOCACHE asks for them at any size (unwrapped
 * output only). */
#define ENC_NT_MIN ((size_t)4 << 20)

/* 12 input bytes per lane to 16 sextets per lane, one per byte.
 *
 * After the pshufb each 32-bit word holds one group abc (a = a7..a0, ...),
 * little-endian as bytes [b a c b]:
 *
 *   bit 31                                                       bit 0
 *   [b7..b0        ][c7..c0        ][a7..a0        ][b7..b0        ]
 *     byte 3          byte 2           byte 1          byte 0
 *
 * The sextets are  s0 = a7..a2   s1 = a1a0 b7..b4   s2 = b3..b0 c7c6   s3 = c5..c0.
 * mask 0x0fc0fc00 keeps s0 (bits 10..15) and s2 (bits 22..27);
 * mulhi by 0x0040 / 0x0400 per 16-bit half moves them to bits 0..5 and 16..21.
 * mask 0x003f03f0 keeps s1 (bits 4..9) and s3 (bits 16..21);
 * mullo by 0x0010 / 0x0100 moves them to bits 8..13 and 24..29.
 * OR-ing gives bytes [s0 s1 s2 s3], the output order. */
static inline __m256i enc_split(__m256i in, __m256i spread)
{
	__m256i v = _mm256_shuffle_epi8(in, spread);
	__m256i t0 = _mm256_and_si256(v, _mm256_set1_epi32(0x0fc0fc00));
	__m256i t1 = _mm256_mulhi_epu16(t0, _mm256_set1_epi32(0x04000040));
	__m256i t2 = _mm256_and_si256(v, _mm256_set1_epi32(0x003f03f0));
	__m256i t3 = _mm256_mullo_epi16(t2, _mm256_set1_epi32(0x01000010));

	return _mm256_or_si256(t1, t3);
}

/* Sextets to ASCII: add an offset chosen by range. subs(x, 51) is 0 for
 * 0..51 and 1..12 for 52..63; minus the (x > 25) mask (-1) gives 0 for the
 * upper-case range, 1 for lower case, 2..11 for digits, 12 and 13 for the
 * two last characters, whose offsets are the only alphabet-dependent ones. */
static inline __m256i enc_translate(__m256i x, __m256i lut)
{
	__m256i idx = _mm256_subs_epu8(x, _mm256_set1_epi8(51));
	__m256i upper = _mm256_cmpgt_epi8(x, _mm256_set1_epi8(25));

	idx = _mm256_sub_epi8(idx, upper);
	return _mm256_add_epi8(x, _mm256_shuffle_epi8(lut, idx));
}

static inline __m256i enc_lut(int url)
{
	/* 'A' - 0, 'a' - 26, '0' - 52 (ten times), '+' - 62, '/' - 63 */
	const __m256i std =
	    _mm256_setr_epi8(65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0, 65, 71,
	                     -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0);
	/* ... '-' - 62, '_' - 63 */
	const __m256i urls =
	    _mm256_setr_epi8(65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -17, 32, 0, 0, 65, 71,
	                     -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -17, 32, 0, 0);
	return url ? urls : std;
}

/* The pshufb masks of enc_split: lane 0 and lane 1 each take their group
 * bytes from offset 0 (SPREAD_0), or lane 0 from offset 4 (SPREAD_4, see
 * enc_24). */
#define SPREAD(o)                                                                             \
	(o) + 1, (o), (o) + 2, (o) + 1, (o) + 4, (o) + 3, (o) + 5, (o) + 4, (o) + 7, (o) + 6, \
	    (o) + 8, (o) + 7, (o) + 10, (o) + 9, (o) + 11, (o) + 10

/* 32 characters for src[0..12) in lane 0 and src2[0..12) in lane 1.
 * Reads src[0..16) and src2[0..16). */
static inline __m256i enc_2x12(const uint8_t *src, const uint8_t *src2, __m256i lut)
{
	__m256i in =
	    _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)src)),
	                            _mm_loadu_si128((const __m128i *)src2), 1);

	return enc_translate(enc_split(in, _mm256_setr_epi8(SPREAD(0), SPREAD(0))), lut);
}

/* 32 characters for src[0..24), read as src[-4..28) in one load, so that
 * each lane holds its 12 bytes with no lane crossing:
 *
 *   lane 0: [ -4 -3 -2 -1 | 0 1 2 ... 11 ]    groups start at offset 4
 *   lane 1: [ 12 13 ... 23 | 24 25 26 27 ]    groups start at offset 0
 *
 * Reads src[-4..28). */
static inline __m256i enc_24(const uint8_t *src, __m256i lut)
{
	__m256i in = _mm256_loadu_si256((const __m256i *)(src - 4));

	return enc_translate(enc_split(in, _mm256_setr_epi8(SPREAD(4), SPREAD(0))), lut);
}

/* 32 characters for src[i .. i + 24): one load when 4 bytes before it may
 * be read (i >= 4), else two. Reads src[i - 4 .. i + 28) or src[i .. i + 28). */
static inline __m256i enc_at(const uint8_t *src, size_t i, __m256i lut)
{
	return i >= 4 ? enc_24(src + i, lut) : enc_2x12(src + i, src + i + 12, lut);
}

static size_t enc_avx2(const uint8_t *src, size_t n, char *dst, int opt)
{
	const int url = opt & 1, nt = (opt & MC__B64_NT) != 0;
	const __m256i lut = enc_lut(url);
	size_t i = 0, o = 0;

	/* The first block cannot read 4 bytes before src. Reads src[0..28). */
	if (n < 28)
		return 0;
	_mm256_storeu_si256((__m256i *)dst, enc_2x12(src, src + 12, lut));
	i = 24;
	o = 32;

	if ((n >= ENC_NT_MIN || nt) && ((uintptr_t)dst & 3) == 0) {
		/* Bring dst + o to a 32-byte boundary: o grows by 4 per group. */
		while (((uintptr_t)(dst + o) & 31) && i + 3 <= n) {
			mc__b64_enc_scalar(src + i, 3, dst + o, url);
			i += 3;
			o += 4;
		}
		/* Reads src[i - 4 .. i + 52) <= n. */
		for (; i + 52 <= n; i += 48, o += 64) {
			__m256i a = enc_24(src + i, lut), b = enc_24(src + i + 24, lut);

			_mm256_stream_si256((__m256i *)(dst + o), a);
			_mm256_stream_si256((__m256i *)(dst + o + 32), b);
		}
		_mm_sfence();
	}
	/* Reads src[i - 4 .. i + 52) <= n (i >= 24). */
	for (; i + 52 <= n; i += 48, o += 64) {
		__m256i a = enc_24(src + i, lut), b = enc_24(src + i + 24, lut);

		_mm256_storeu_si256((__m256i *)(dst + o), a);
		_mm256_storeu_si256((__m256i *)(dst + o + 32), b);
	}
	/* Reads src[i - 4 .. i + 28) <= n. */
	for (; i + 28 <= n; i += 24, o += 32)
		_mm256_storeu_si256((__m256i *)(dst + o), enc_24(src + i, lut));
	return i;
}

/* Line break bytes at offset 32 of a 64-byte window, so that loading at
 * window + 32 - t puts the break at vector position t. */
static const char eol_window[2][64] = {
    {[32] = '\n'},
    {[32] = '\r', [33] = '\n'},
};

/* Whole lines of wrap characters (a multiple of 4) and their breaks, from
 * line start i; full is wrap / 32, a constant in the common cases. Stops
 * with at least ENC_SLACK input bytes left (see enc_wrap_avx2). */
#define ENC_SLACK 32
static ALWAYS_INLINE void enc_lines_impl(const uint8_t *src, size_t n, char *dst, size_t *pi,
                                         size_t *po, unsigned wrap, int crlf, int url,
                                         const size_t full)
{
	const __m256i lut = enc_lut(url);
	const size_t eol = crlf ? 2 : 1, slack = ENC_SLACK;
	const size_t line_in = wrap / 4 * 3, t = wrap % 32;
	size_t i = *pi, o = *po;
	__m256i eolv, keep;

	eolv = _mm256_loadu_si256((const __m256i *)(eol_window[crlf != 0] + 32 - t));
	keep = _mm256_cmpeq_epi8(eolv, _mm256_setzero_si256());

	if (t && t + eol <= 16) {
		/* Two lines per round; their tails (t chars + break each, 16 bytes
		 * at most) share one vector, lane 0 for the first line. The break
		 * sits at position t of each lane. Reads src[i .. i + 2 * line_in
		 * + slack) <= n. */
		__m256i eolv2 = _mm256_broadcastsi128_si256(_mm256_castsi256_si128(eolv));
		__m256i keep2 = _mm256_broadcastsi128_si256(_mm256_castsi256_si128(keep));
		const size_t line_out = wrap + eol;

		for (; i + 2 * line_in + slack <= n; i += 2 * line_in, o += 2 * line_out) {
			const uint8_t *s2 = src + i + line_in;
			char *d2 = dst + o + line_out;
			__m256i tail;

			/* In memory order: a tail's garbage bytes land on the
			 * next line, whose stores must come after it. */
			tail = enc_2x12(src + i + 24 * full, s2 + 24 * full, lut);
			tail = _mm256_or_si256(_mm256_and_si256(tail, keep2), eolv2);
			for (size_t k = 0; k < full; k++)
				_mm256_storeu_si256((__m256i *)(dst + o + 32 * k),
				                    enc_at(src, i + 24 * k, lut));
			_mm_storeu_si128((__m128i *)(dst + o + 32 * full),
			                 _mm256_castsi256_si128(tail));
			for (size_t k = 0; k < full; k++)
				_mm256_storeu_si256((__m256i *)(d2 + 32 * k),
				                    enc_24(s2 + 24 * k, lut));
			_mm_storeu_si128((__m128i *)(d2 + 32 * full),
			                 _mm256_extracti128_si256(tail, 1));
		}
	}
	/* One line per round. Reads src[i .. i + line_in + slack) <= n. */
	for (; i + line_in + slack <= n; i += line_in, o += wrap + eol) {
		for (size_t k = 0; k < full; k++)
			_mm256_storeu_si256((__m256i *)(dst + o + 32 * k),
			                    enc_at(src, i + 24 * k, lut));
		if (t) {
			__m256i v = enc_at(src, i + 24 * full, lut);

			v = _mm256_or_si256(_mm256_and_si256(v, keep), eolv);
			_mm256_storeu_si256((__m256i *)(dst + o + 32 * full), v);
		} else if (crlf) {
			dst[o + wrap] = '\r';
			dst[o + wrap + 1] = '\n';
		} else {
			dst[o + wrap] = '\n';
		}
	}
	*pi = i;
	*po = o;
}

static __attribute__((noinline)) void enc_lines_2(const uint8_t *src, size_t n, char *dst,
                                                  size_t *pi, size_t *po, unsigned wrap, int crlf,
                                                  int url)
{
	enc_lines_impl(src, n, dst, pi, po, wrap, crlf, url, 2);
}

static __attribute__((noinline)) void enc_lines_n(const uint8_t *src, size_t n, char *dst,
                                                  size_t *pi, size_t *po, unsigned wrap, int crlf,
                                                  int url)
{
	enc_lines_impl(src, n, dst, pi, po, wrap, crlf, url, wrap / 32);
}

static size_t enc_wrap_avx2(const uint8_t *src, size_t n, char *dst, size_t *written, unsigned wrap,
                            unsigned *col, int crlf, int opt)
{
	const int url = opt & 1;             /* MC__B64_NT: the lines are stored ordinarily */
	const size_t line_in = wrap / 4 * 3; /* input bytes per line */
	/* Input that must follow a line: covers the tail vector's reads (28
	 * bytes past its start) and, as 32 bytes are >= 40 characters, its
	 * 32-byte store past the line's last full vector. */
	const size_t slack = ENC_SLACK;
	size_t i = 0, o = 0;
	unsigned c = *col;

	*written = 0;
	/* Breaks inside a group, or lines shorter than a vector: generic path. */
	if (wrap % 4 || wrap < 16 || c % 4 || c > wrap)
		return 0;
	if (n < line_in + slack)
		return 0;
	if (c && c < wrap) {
		/* Finish the open line; the caller's state machine keeps c % 4 == 0. */
		size_t take = (wrap - c) / 4 * 3;

		if (take + line_in + slack > n)
			return 0;
		i = enc_avx2(src, take, dst, url);
		i += mc__b64_enc_scalar(src + i, take - i, dst + i / 3 * 4, url);
		o = take / 3 * 4;
		c = wrap;
	}
	if (i + line_in + slack > n) {
		*written = o;
		*col = c;
		return i;
	}
	if (c == wrap) {
		if (crlf)
			dst[o++] = '\r';
		dst[o++] = '\n';
	}
	/* From here on every line, including its trailing break, is written
	 * whole: at least slack input bytes follow, so a character follows the
	 * break and the lazy rule would write it too. */
	if (wrap / 32 == 2)
		enc_lines_2(src, n, dst, &i, &o, wrap, crlf, url);
	else
		enc_lines_n(src, n, dst, &i, &o, wrap, crlf, url);
	/* The last line's break is written: the next character starts a line. */
	*written = o;
	*col = 0;
	return i;
}

/* ---- decode --------------------------------------------------------------- */

/* Classification by nibbles: byte c is outside the alphabet iff
 * lut_lo[c & 15] & lut_hi[c >> 4] != 0. Each high nibble has a class bit;
 * lut_lo holds, per low nibble, the classes for which it is invalid.
 *
 *   class  high nibbles        valid low nibbles (standard / URL)
 *   0x01   0, 1, 8..15         none
 *   0x02   2                   B F ('+' '/')  /  D ('-')
 *   0x04   3                   0..9
 *   0x08   4, 6                1..F
 *   0x10   7                   0..A
 *   0x20   5                   0..A  /  0..A F ('_')
 */
#define DEC_LO_STD                                                                                \
	0x0b, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x07, 0x35, 0x37, 0x37, 0x37, \
	    0x35
#define DEC_LO_URL                                                                                \
	0x0b, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x07, 0x37, 0x37, 0x35, 0x37, \
	    0x17
#define DEC_HI                                                                                    \
	0x01, 0x01, 0x02, 0x04, 0x08, 0x20, 0x08, 0x10, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, \
	    0x01
/* Translation: sextet = c + roll[hi + (c == last ? k : 0)], where the last
 * character (63) is moved to index 1: '/' (hi 2, k = -1) or '_' (hi 5, k = -4).
 * roll[2] serves character 62: '+' + 19 or '-' + 17. */
#define DEC_ROLL_STD 0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0
#define DEC_ROLL_URL 0, -32, 17, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0

struct dec_luts {
	__m256i lo, hi, roll, last, k, nib, ws;
};

static ALWAYS_INLINE void dec_luts_init(struct dec_luts *l, int url)
{
	l->hi = _mm256_setr_epi8(DEC_HI, DEC_HI);
	l->nib = _mm256_set1_epi8(0x0f);
	/* Whitespace has four distinct low nibbles: SP 0, TAB 9, LF A, CR D.
	 * c is whitespace iff ws[c & 15] == c (pshufb gives 0 for c >= 0x80). */
	l->ws = _mm256_setr_epi8(' ', 0, 0, 0, 0, 0, 0, 0, 0, '\t', '\n', 0, 0, '\r', 0, 0, ' ', 0,
	                         0, 0, 0, 0, 0, 0, 0, '\t', '\n', 0, 0, '\r', 0, 0);
	if (url) {
		l->lo = _mm256_setr_epi8(DEC_LO_URL, DEC_LO_URL);
		l->roll = _mm256_setr_epi8(DEC_ROLL_URL, DEC_ROLL_URL);
		l->last = _mm256_set1_epi8('_');
		l->k = _mm256_set1_epi8(-4);
	} else {
		l->lo = _mm256_setr_epi8(DEC_LO_STD, DEC_LO_STD);
		l->roll = _mm256_setr_epi8(DEC_ROLL_STD, DEC_ROLL_STD);
		l->last = _mm256_set1_epi8('/');
		l->k = _mm256_set1_epi8(-1);
	}
}

static ALWAYS_INLINE __m256i dec_hi_nibbles(__m256i v, const struct dec_luts *l)
{
	return _mm256_and_si256(_mm256_srli_epi32(v, 4), l->nib);
}

/* Nonzero bytes where v is outside the alphabet. */
static ALWAYS_INLINE __m256i dec_bad(__m256i v, __m256i hi, const struct dec_luts *l)
{
	__m256i a = _mm256_shuffle_epi8(l->lo, _mm256_and_si256(v, l->nib));

	return _mm256_and_si256(a, _mm256_shuffle_epi8(l->hi, hi));
}

/* Alphabet characters to sextets (other bytes give garbage). With the
 * standard alphabet k is -1, the compare mask itself. */
static ALWAYS_INLINE __m256i dec_translate(__m256i v, __m256i hi, const struct dec_luts *l,
                                           const int url)
{
	__m256i eq = _mm256_cmpeq_epi8(v, l->last);
	__m256i idx = _mm256_add_epi8(hi, url ? _mm256_and_si256(eq, l->k) : eq);

	return _mm256_add_epi8(v, _mm256_shuffle_epi8(l->roll, idx));
}

/* 32 sextets to 24 bytes: 12 in the low 12 bytes of each lane.
 *
 *   bytes per dword:    [s0][s1][s2][s3]   (memory order)
 *   maddubs 0x40,0x01:  [s0 s1 as 12 bits][s2 s3 as 12 bits]    (16-bit words)
 *   madd 0x1000,0x0001: one 24-bit value; its bytes 2,1,0 are the output
 *   pshufb:             [ 12 bytes | 4 zero ][ 12 bytes | 4 zero ] */
static ALWAYS_INLINE __m256i dec_pack(__m256i s)
{
	__m256i m = _mm256_maddubs_epi16(s, _mm256_set1_epi32(0x01400140));

	m = _mm256_madd_epi16(m, _mm256_set1_epi32(0x00011000));
	return _mm256_shuffle_epi8(m, _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1,
	                                               -1, -1, -1, 2, 1, 0, 6, 5, 4, 10, 9, 8, 14,
	                                               13, 12, -1, -1, -1, -1));
}

/* Stores the 24 bytes of a dec_pack result at dst + o: two 16-byte stores
 * (the second overwrites the first's 4 filler bytes) when the 4 bytes past
 * the 24 stay below lim, the contract's write bound; else exactly 24.
 * Callers guarantee o + 24 <= lim. */
static ALWAYS_INLINE void dec_store(uint8_t *dst, size_t o, size_t lim, __m256i m)
{
	if (o + 28 <= lim) {
		_mm_storeu_si128((__m128i *)(dst + o), _mm256_castsi256_si128(m));
		_mm_storeu_si128((__m128i *)(dst + o + 12), _mm256_extracti128_si256(m, 1));
	} else {
		m = _mm256_permutevar8x32_epi32(m, _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7));
		_mm_storeu_si128((__m128i *)(dst + o), _mm256_castsi256_si128(m));
		_mm_storel_epi64((__m128i *)(dst + o + 16), _mm256_extracti128_si256(m, 1));
	}
}

/* For each 8-bit keep mask m, a pshufb index moving the bytes whose bit is
 * set to the front, in order (the later positions are don't-care): byte
 * POP8(m below j) is j for every set bit j. */
#define POP8(x)                                                                        \
	(((x)&1) + ((x) >> 1 & 1) + ((x) >> 2 & 1) + ((x) >> 3 & 1) + ((x) >> 4 & 1) + \
	 ((x) >> 5 & 1) + ((x) >> 6 & 1) + ((x) >> 7 & 1))
#define CZB(m, j) ((m) >> (j)&1 ? (uint64_t)(j) << 8 * POP8((m) & ((1u << (j)) - 1)) : 0)
#define CZ1(m)                                                                               \
	(CZB(m, 0) | CZB(m, 1) | CZB(m, 2) | CZB(m, 3) | CZB(m, 4) | CZB(m, 5) | CZB(m, 6) | \
	 CZB(m, 7)),
#define CZ4(m)  CZ1(m) CZ1(m + 1) CZ1(m + 2) CZ1(m + 3)
#define CZ16(m) CZ4(m) CZ4(m + 4) CZ4(m + 8) CZ4(m + 12)
#define CZ64(m) CZ16(m) CZ16(m + 16) CZ16(m + 32) CZ16(m + 48)
static const uint64_t compact_lut[256] = {CZ64(0u) CZ64(64u) CZ64(128u) CZ64(192u)};

static inline int ws_byte(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

#define STAGE_FILL 256 /* characters staged before a decode pass */

/* Appends the bytes of v whose bit is set in keep to stage + ns; returns the
 * new ns. Writes stage[ns .. ns + 32). */
static inline size_t stage_compact(uint8_t *stage, size_t ns, __m256i v, uint32_t keep)
{
	unsigned k0 = keep & 0xff, k1 = keep >> 8 & 0xff, k2 = keep >> 16 & 0xff, k3 = keep >> 24;
	__m256i idx = _mm256_setr_epi64x(
	    (long long)compact_lut[k0], (long long)(compact_lut[k1] + 0x0808080808080808ull),
	    (long long)compact_lut[k2], (long long)(compact_lut[k3] + 0x0808080808080808ull));
	__m256i c = _mm256_shuffle_epi8(v, idx);
	__m128i lo = _mm256_castsi256_si128(c), hi = _mm256_extracti128_si256(c, 1);

	_mm_storel_epi64((__m128i *)(stage + ns), lo);
	ns += (size_t)__builtin_popcount(k0);
	_mm_storeh_pi((__m64 *)(void *)(stage + ns), _mm_castsi128_ps(lo));
	ns += (size_t)__builtin_popcount(k1);
	_mm_storel_epi64((__m128i *)(stage + ns), hi);
	ns += (size_t)__builtin_popcount(k2);
	_mm_storeh_pi((__m64 *)(void *)(stage + ns), _mm_castsi128_ps(hi));
	return ns + (size_t)__builtin_popcount(k3);
}

/* Clean blocks straight to dst, two per round with one test, until a block
 * holds a byte outside the alphabet (left at *pi for the caller). Its own
 * function, so that its constants stay in registers.
 * Reads src[*pi .. *pi + 64) <= n, then src[*pi .. *pi + 32) <= n. */
static ALWAYS_INLINE void dec_clean_impl(const uint8_t *src, size_t n, uint8_t *dst, size_t lim,
                                         size_t *pi, size_t *po, const int url)
{
	struct dec_luts l;
	size_t i = *pi, o = *po;

	dec_luts_init(&l, url);
	for (; i + 64 <= n; i += 64, o += 48) {
		__m256i v0 = _mm256_loadu_si256((const __m256i *)(src + i));
		__m256i v1 = _mm256_loadu_si256((const __m256i *)(src + i + 32));
		__m256i h0 = dec_hi_nibbles(v0, &l), h1 = dec_hi_nibbles(v1, &l);
		__m256i bad = _mm256_or_si256(dec_bad(v0, h0, &l), dec_bad(v1, h1, &l));

		if (!_mm256_testz_si256(bad, bad))
			break;
		dec_store(dst, o, lim, dec_pack(dec_translate(v0, h0, &l, url)));
		dec_store(dst, o + 24, lim, dec_pack(dec_translate(v1, h1, &l, url)));
	}
	for (; i + 32 <= n; i += 32, o += 24) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(src + i));
		__m256i hi = dec_hi_nibbles(v, &l), bad = dec_bad(v, hi, &l);

		if (!_mm256_testz_si256(bad, bad))
			break;
		dec_store(dst, o, lim, dec_pack(dec_translate(v, hi, &l, url)));
	}
	*pi = i;
	*po = o;
}

static __attribute__((noinline)) void dec_clean_std(const uint8_t *src, size_t n, uint8_t *dst,
                                                    size_t lim, size_t *pi, size_t *po)
{
	dec_clean_impl(src, n, dst, lim, pi, po, 0);
}

static __attribute__((noinline)) void dec_clean_url(const uint8_t *src, size_t n, uint8_t *dst,
                                                    size_t lim, size_t *pi, size_t *po)
{
	dec_clean_impl(src, n, dst, lim, pi, po, 1);
}

/* Line mode: lines of len characters (a multiple of 4) each followed by
 * the same break brk of k <= 2 whitespace bytes, as MIME writes them. Every line is
 * decoded at fixed offsets, so no load waits for the previous line's
 * whitespace to be found; a line that does not match (verified after
 * its stores, whose bytes are overwritten later) ends line mode there.
 * The line's last block holds len % 32 characters, then the break, then
 * the next line's first characters, all of which must be valid.
 * Reads src[*pi .. *pi + 32 * full + 32) <= n. */
static ALWAYS_INLINE void dec_lines_impl(const uint8_t *src, size_t n, uint8_t *dst, size_t lim,
                                         size_t *pi, size_t *po, size_t len, unsigned k,
                                         uint16_t brk, const size_t full, const int url)
{
	const size_t t = len % 32;
	const uint32_t expect = ((1u << k) - 1) << t; /* t + k < 32 */
	size_t i = *pi, o = *po;
	struct dec_luts lut, *l = &lut;

	dec_luts_init(l, url);
	for (; i + 32 * full + 32 <= n; i += len + k, o += len / 4 * 3) {
		__m256i acc = _mm256_setzero_si256(), v, hi, bad;
		uint32_t badm;
		uint16_t b;

		for (size_t f = 0; f < full; f++) {
			v = _mm256_loadu_si256((const __m256i *)(src + i + 32 * f));
			hi = dec_hi_nibbles(v, l);
			acc = _mm256_or_si256(acc, dec_bad(v, hi, l));
			dec_store(dst, o + 24 * f, lim, dec_pack(dec_translate(v, hi, l, url)));
		}
		v = _mm256_loadu_si256((const __m256i *)(src + i + 32 * full));
		hi = dec_hi_nibbles(v, l);
		bad = dec_bad(v, hi, l);
		badm =
		    ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(bad, _mm256_setzero_si256()));
		/* The break's bytes: inside the last block, as t + k < 32. */
		b = (uint16_t)(src[i + len] | (k == 2 ? src[i + len + 1] << 8 : 0));
		if (!_mm256_testz_si256(acc, acc) || badm != expect || b != brk)
			break;
		if (t)
			dec_store(dst, o + 24 * full, lim, dec_pack(dec_translate(v, hi, l, url)));
	}
	*pi = i;
	*po = o;
}

static ALWAYS_INLINE void dec_lines_sel(const uint8_t *src, size_t n, uint8_t *dst, size_t lim,
                                        size_t *pi, size_t *po, size_t len, unsigned k,
                                        const int url)
{
	uint16_t brk = (uint16_t)(src[*pi - k] | (k == 2 ? src[*pi - 1] << 8 : 0));

	/* 76 (MIME) and 64 (PEM) characters: two full blocks per line. */
	if (len / 32 == 2)
		dec_lines_impl(src, n, dst, lim, pi, po, len, k, brk, 2, url);
	else
		dec_lines_impl(src, n, dst, lim, pi, po, len, k, brk, len / 32, url);
}

static __attribute__((noinline)) void dec_lines_std(const uint8_t *src, size_t n, uint8_t *dst,
                                                    size_t lim, size_t *pi, size_t *po, size_t len,
                                                    unsigned k)
{
	dec_lines_sel(src, n, dst, lim, pi, po, len, k, 0);
}

static __attribute__((noinline)) void dec_lines_url(const uint8_t *src, size_t n, uint8_t *dst,
                                                    size_t lim, size_t *pi, size_t *po, size_t len,
                                                    unsigned k)
{
	dec_lines_sel(src, n, dst, lim, pi, po, len, k, 1);
}

static ALWAYS_INLINE size_t dec_impl(const uint8_t *src, size_t n, uint8_t *dst, size_t *written,
                                     const int url)
{
	/* The contract's write bound. Every block decoded below ends at or before
	 * input offset i + 32 <= n and o <= 3 * i / 4, so o + 24 <= lim. */
	const size_t lim = n / 4 * 3 + (n % 4 ? 3 : 0);
	/* Staged characters: up to STAGE_FILL - 1 + 32, plus 64 bytes that the
	 * stores below may write past the end of the valid ones. */
	/* Zeroed: the flush reads whole vectors past the staged characters, and
	 * although those lanes only ever reach dst past *written, defined bytes
	 * keep memcheck (valgrind in CI) exact. */
	uint8_t stage[STAGE_FILL + 32 + 64] = {0};
	struct dec_luts l;
	size_t i = 0, o = 0, ns = 0, line = 0;
	int stop = 0;

	dec_luts_init(&l, url);
	while (!stop) {
		/* Direct mode: nothing staged, i on a quantum boundary. Clean
		 * blocks go straight to dst; a block with whitespace or another
		 * bad byte at a quantum boundary (MIME's line breaks) decodes the
		 * quanta before it and skips the whitespace run.
		 * Reads src[i .. i + 32) <= n. */
		while (ns == 0 && i + 32 <= n) {
			__m256i v, hi, bad;
			uint32_t badm, wsm;
			unsigned p, q, k;
			size_t len;

			if (url)
				dec_clean_url(src, n, dst, lim, &i, &o);
			else
				dec_clean_std(src, n, dst, lim, &i, &o);
			if (i + 32 > n)
				break;
			v = _mm256_loadu_si256((const __m256i *)(src + i));
			hi = dec_hi_nibbles(v, &l);
			bad = dec_bad(v, hi, &l);
			badm = ~(uint32_t)_mm256_movemask_epi8(
			    _mm256_cmpeq_epi8(bad, _mm256_setzero_si256()));
			wsm = (uint32_t)_mm256_movemask_epi8(
			    _mm256_cmpeq_epi8(_mm256_shuffle_epi8(l.ws, v), v));
			p = (unsigned)__builtin_ctz(badm);
			q = p & ~3u;
			if (q) {
				/* Whole quanta before the bad byte; the stored bytes
				 * past them are overwritten by what follows. */
				dec_store(dst, o, lim, dec_pack(dec_translate(v, hi, &l, url)));
				i += q;
				o += q / 4 * 3;
			}
			if (!(wsm >> p & 1)) {
				/* Another byte: the state machine's. */
				*written = o;
				return i;
			}
			if (p != q)
				break; /* whitespace inside a quantum */
			/* A block that is whitespace from p to its end: k = 32 - p
			 * (ctz of 0 is undefined). */
			k = ~(wsm >> p) ? (unsigned)__builtin_ctz(~(wsm >> p)) : 32 - p;
			len = i - line;
			i += k;
			/* The line just ended had len characters and a break of k:
			 * if the next lines look alike, decode them in line mode. */
			if (len % 4 == 0 && len && len <= 1024 && k <= 2)
				(url ? dec_lines_url : dec_lines_std)(src, n, dst, lim, &i, &o, len,
				                                      k);
			line = i;
		}

		/* Staging mode: fill the stage with the alphabet characters of
		 * whole blocks (i need not be on a quantum boundary any more). */
		while (ns < STAGE_FILL) {
			uint8_t tmp[32];
			const uint8_t *p = src + i;
			__m256i v, bad;
			uint32_t badm, wsm, other;

			if (i + 32 > n) {
				/* The last partial block, padded with NULs (bad bytes).
				 * Reads src[i .. n). */
				if (i == n) {
					stop = 1;
					break;
				}
				memset(tmp, 0, sizeof tmp);
				memcpy(tmp, src + i, n - i);
				p = tmp;
			}
			/* Reads p[0 .. 32): inside src[0..n) or tmp. */
			v = _mm256_loadu_si256((const __m256i *)p);
			bad = dec_bad(v, dec_hi_nibbles(v, &l), &l);
			badm = ~(uint32_t)_mm256_movemask_epi8(
			    _mm256_cmpeq_epi8(bad, _mm256_setzero_si256()));
			if (!badm) {
				_mm256_storeu_si256((__m256i *)(stage + ns), v);
				ns += 32;
				i += 32;
				continue;
			}
			wsm = (uint32_t)_mm256_movemask_epi8(
			    _mm256_cmpeq_epi8(_mm256_shuffle_epi8(l.ws, v), v));
			other = badm & ~wsm;
			if (other) {
				unsigned b = (unsigned)__builtin_ctz(other);

				ns = stage_compact(stage, ns, v, ~badm & ((1u << b) - 1));
				i += b;
				stop = 1;
				break;
			}
			if (i + 64 <= n) {
				unsigned r = (unsigned)__builtin_ctz(wsm);
				uint32_t run = wsm >> r;

				if ((run & (run + 1)) == 0) {
					/* One run of whitespace, r .. r + k: keep v's bytes
					 * before it, then the block's bytes after it.
					 * Reads src[i + r + k .. i + r + k + 32) <= n. */
					unsigned k = (unsigned)__builtin_popcount(run);

					_mm256_storeu_si256((__m256i *)(stage + ns), v);
					_mm256_storeu_si256(
					    (__m256i *)(stage + ns + r),
					    _mm256_loadu_si256((const __m256i *)(p + r + k)));
					ns += 32 - k;
					i += 32;
					continue;
				}
			}
			ns = stage_compact(stage, ns, v, ~wsm);
			i += 32;
		}
		/* Decode the staged characters (all in the alphabet), 32 at a time. */
		size_t j = 0;

		for (; j + 32 <= ns; j += 32, o += 24) {
			__m256i v = _mm256_loadu_si256((const __m256i *)(stage + j));

			dec_store(dst, o, lim,
			          dec_pack(dec_translate(v, dec_hi_nibbles(v, &l), &l, url)));
		}
		if (j) {
			/* j >= 32: source and destination do not overlap. */
			_mm256_storeu_si256((__m256i *)stage,
			                    _mm256_loadu_si256((const __m256i *)(stage + j)));
			ns -= j;
		}
		if (!stop && ns % 4 == 0) {
			/* Back on a quantum boundary: flush, then direct mode. The
			 * stored bytes past the ns / 4 * 3 decoded ones are
			 * overwritten later; lim bounds them. */
			size_t w = 0;

			if (o + 28 <= lim) {
				__m256i v = _mm256_loadu_si256((const __m256i *)stage);

				dec_store(
				    dst, o, lim,
				    dec_pack(dec_translate(v, dec_hi_nibbles(v, &l), &l, url)));
				w = ns / 4 * 3;
			} else {
				mc__b64_dec_scalar((const char *)stage, ns, dst + o, &w, url);
			}
			o += w;
			ns = 0;
			line = i;
		}
	}
	/* Fewer than 32 staged characters left: whole quanta with the scalar
	 * kernel, then give back the last ns % 4 characters of the input. */
	size_t q = ns / 4 * 4, w = 0, r = ns % 4;

	mc__b64_dec_scalar((const char *)stage, q, dst + o, &w, url);
	o += w;
	while (r) {
		/* They were staged, so they lie in src[0..i). */
		i--;
		if (!ws_byte(src[i]))
			r--;
	}
	*written = o;
	return i;
}

static size_t dec_avx2(const char *src, size_t n, uint8_t *dst, size_t *written, int url)
{
	/* One copy per alphabet, so the alphabet tests leave the loops. */
	if (url)
		return dec_impl((const uint8_t *)src, n, dst, written, 1);
	return dec_impl((const uint8_t *)src, n, dst, written, 0);
}

const struct mc_b64_kernels mc__b64_avx2 = {
    .isa = MC_ISA_AVX2,
    .name = "avx2",
    .enc = enc_avx2,
    .enc_wrap = enc_wrap_avx2,
    .dec = dec_avx2,
};
