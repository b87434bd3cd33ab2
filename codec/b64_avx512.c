/* b64_avx512.c: AVX-512 base64 kernels (F, BW, VL, VBMI, VBMI2), built with
 * per-file -mavx512* flags and chosen at run time (isa.c). RFC 4648 sections
 * 4-5 (both alphabets); RFC 2045 section 6.8 line breaks on encode and
 * whitespace skipping on decode. The contract is b64_internal.h; the scalar
 * state machine in b64.c ("b64 design") remains the specification.
 *
 * Design note ("b64 avx512 design"):
 * - Encode: 48 input bytes -> 64 characters per register. One vpermb spreads
 *   each 3-byte group over a 32-bit lane, one vpmultishiftqb pulls the four
 *   sextets into the low 6 bits of four bytes, and a second vpermb (which
 *   only looks at the low 6 index bits) translates them with the alphabet as
 *   the table. No masking of the sextets is needed.
 * - Wrapped encode by lines, widths 64..76 (a multiple of 4) in cache: a
 *   line is the plain encoder's 48-byte block (64 characters) and the
 *   3(W - 64)/4 bytes after it, encoded in an xmm with the break blended in
 *   behind them: one 64-byte and one 16-byte store per line, every constant
 *   in a register. 1.6x the table path below at 64 KiB (44 against 28 GB/s,
 *   76 + CRLF, mc_bench b64_mime_encode/avx512/65536, 2026-12-04): that one
 *   loads two table rows per block, and the loads bound it on this CPU.
 * - Wrapped encode, MIME layouts (76 with CRLF or LF, 64 with LF; entered on
 *   a group boundary) out of cache or with MC_B64_NOCACHE, where its
 *   non-temporal stores pay: the output is periodic, so each 64-byte output block
 *   is one load, a vpermb gather, a vpmultishiftqb and the alphabet vpermb
 *   merged into the line-break bytes, all steered by per-phase tables
 *   ("b64 avx512 wrap tables" in gen_b64_avx512_tables.c), and one full
 *   store: the cost of unwrapped encoding.
 * - Wrapped encode, other widths and the tail: the 64 characters of a block
 *   are stored once; for each line break that falls inside the block the
 *   break is stored and the rest of the block is stored again, shifted by
 *   the break length, with a byte mask. Later stores overwrite the wrong
 *   tail of earlier ones, so every store stays inside the block's own
 *   output.
 * - Decode: vpermi2b translates the low 7 bits of 64 characters through a
 *   128-byte table: sextet, 0x80 for CR LF SP TAB, 0xff for anything else.
 *   A byte is outside the alphabet if bit 7 of (value | character) is set,
 *   and bad (neither alphabet nor whitespace) if bit 7 of (2 * value |
 *   character) is: bit 6 of the value is set only by 0xff, and characters
 *   >= 0x80 are never in the alphabet.
 *   Whitespace-free blocks go straight to vpmaddubsw/vpmaddwd (4 sextets ->
 *   24 bits per lane) and a byte permute packs 3 bytes per lane. Blocks with
 *   whitespace are vpcompressb-ed and appended to a staging register of k
 *   sextets (one rotate by vpermb, one blend); each time 64 sextets are
 *   staged they are decoded. At the end the whole quanta of the staging
 *   register are flushed and the input position rewinds over the 0..3 staged
 *   sextets of the open quantum, so the state machine resumes on a quantum
 *   boundary.
 * - Decode, MIME layout (lines of one width >= 64 and one break, found from
 *   the first two LFs): 64 characters span at most one break, so two loads
 *   and a blend gather them with no staging; see "MIME line layout" below.
 * - Out of cache, encode stores go non-temporal: output registers are
 *   realigned to the destination's 64-byte lines by a two-source vpermt2b
 *   with the previous register; the first and last registers use ordinary
 *   stores. Decode hands inputs of DEC_AVX2_MIN and more to the AVX2 kernel,
 *   which is faster there. */
#include <immintrin.h>
#include <string.h>

#include "b64_internal.h"
#include "b64_avx512_tables.h"

#if !defined(__AVX512VBMI__) || !defined(__AVX512VBMI2__) || !defined(__AVX512BW__)
#error "b64_avx512.c needs -mavx512f -mavx512bw -mavx512vl -mavx512vbmi -mavx512vbmi2"
#endif

/* From this input size on (the n given to the kernel), encode output goes
 * through non-temporal stores: in + out then exceed what this machine's
 * caches keep for one thread, and streaming saves the read for ownership of
 * every destination line (1.5-1.7x at 16 and 64 MiB). MC_B64_NOCACHE asks
 * for them at any size (the plain and MIME-table paths). */
#define ENC_NT_MIN   ((size_t)16 << 20)
/* From this size on, decode runs the AVX2 kernel: out of the caches it is the
 * faster of the two here (mc_bench, 2026-12-04, strict decode GB/s, AVX-512
 * / AVX2 / memcpy: 4 MiB 49 / 25 / 45, 16 MiB 20.7 / 23.2 / 31, 64 MiB
 * 16.5 / 22.5 / 21). Tried for AVX-512 there, none near AVX2: non-temporal
 * stores realigned by vpermt2b (16.0 at 64 MiB), whole-register stores
 * (16.5), software prefetch 1-4 KiB ahead (17.4). */
#define DEC_AVX2_MIN ((size_t)16 << 20)

/* ---- constant tables ------------------------------------------------------ */

#define R4(F, x)  F(x), F((x) + 1), F((x) + 2), F((x) + 3)
#define R16(F, x) R4(F, x), R4(F, (x) + 4), R4(F, (x) + 8), R4(F, (x) + 12)
#define R64(F, x) R16(F, x), R16(F, (x) + 16), R16(F, (x) + 32), R16(F, (x) + 48)

/* Encode spread: byte x of the result is input byte 3*(x/4) + {1,0,2,1}[x%4].
 * Per 32-bit lane (input group b0 b1 b2, bits of b0 = a5..a0 b5 b4 etc.):
 *
 *   byte:      3          2          1          0
 *            [  b1     |  b2     |  b0     |  b1     ]
 *   sextets:   c = bits 22..27, d = bits 16..21, a = bits 10..15, b = bits 4..9
 *
 * so vpmultishiftqb with shifts 10, 4, 22, 16 (and +32 for the upper lane of
 * each quadword) puts a, b, c, d into output bytes 0..3 (high 2 bits junk). */
#define SPREAD(x) (3 * ((x) / 4) + ((x) % 4 == 1 ? 0 : (x) % 4 == 2 ? 2 : 1))
static const _Alignas(64) uint8_t enc_spread[64] = {R64(SPREAD, 0)};
#define ENC_SHIFTS 0x3036242a1016040aull /* 48 54 36 42 16 22 4 10, low byte first */

/* Decode table on the low 7 bits of a character: sextet, 0x80 for CR LF SP
 * TAB, 0xff otherwise. */
#define DL(c, u)                                                                    \
	((c) >= 'A' && (c) <= 'Z'                                  ? (c) - 'A'      \
	 : (c) >= 'a' && (c) <= 'z'                                ? (c) - 'a' + 26 \
	 : (c) >= '0' && (c) <= '9'                                ? (c) - '0' + 52 \
	 : (c) == ((u) ? '-' : '+')                                ? 62             \
	 : (c) == ((u) ? '_' : '/')                                ? 63             \
	 : (c) == '\r' || (c) == '\n' || (c) == ' ' || (c) == '\t' ? 0x80           \
	                                                           : 0xff)
#define DL0(c) DL(c, 0)
#define DL1(c) DL(c, 1)
static const _Alignas(64) uint8_t dec_lut[2][128] = {{R64(DL0, 0), R64(DL0, 64)},
                                                     {R64(DL1, 0), R64(DL1, 64)}};

/* Decode pack: after vpmaddwd every 32-bit lane q holds 24 bits, output bytes
 * 3q, 3q+1, 3q+2 are its bytes 2, 1, 0:
 *
 *   lane q:   [ 0 | o0 | o1 | o2 ]   (byte 3 .. byte 0)
 *   result:   o0 o1 o2 (lane 0) o0 o1 o2 (lane 1) ... 48 bytes
 *
 * STREAM(y) is the index of output byte y (0..191) of four decoded registers
 * d0..d3 as a two-source index into the pair of registers that output
 * register y/64 is built from: (d0,d1), (d1,d2), (d2,d3). Its first 64
 * entries, taken modulo 64, are also the one-register pack index. */
#define PK(y)     (((y) % 48) / 3 * 4 + 2 - ((y) % 48) % 3)
#define STREAM(y) ((y) / 48 * 64 + PK(y) - (y) / 64 * 64)
static const _Alignas(64) uint8_t dec_stream[192] = {R64(STREAM, 0), R64(STREAM, 64),
                                                     R64(STREAM, 128)};

/* 0..127: loadu(iota + 64 - k) is the index "j - k" (mod 64 for vpermb) that
 * rotates a register up by k bytes, or for vpermt2b takes 64 bytes starting at
 * byte 64 - k of a register pair. */
#define ID(x) (x)
static const _Alignas(64) uint8_t iota[128] = {R64(ID, 0), R64(ID, 64)};

/* ge_mask[k]: bytes k..63 (none for k = 64). loadu(ones_from + 64 - k): 0xff
 * in bytes k..63. */
#define GE(k) (~0ull << (k))
static const uint64_t ge_mask[65] = {R64(GE, 0), 0};
#define FF(x) ((x) < 64 ? 0 : 0xff)
static const _Alignas(64) uint8_t ones_from[128] = {R64(FF, 0), R64(FF, 64)};

#define LOW(n) ((n) >= 64 ? ~0ull : (1ull << (n)) - 1) /* bytes 0..n-1 */

/* ---- encode ---------------------------------------------------------------- */

struct enc_consts {
	__m512i spread, shifts, lut;
};

static inline void enc_consts_init(struct enc_consts *c, int url)
{
	c->spread = _mm512_load_si512(enc_spread);
	c->shifts = _mm512_set1_epi64((long long)ENC_SHIFTS);
	c->lut = _mm512_loadu_si512(mc__b64_alphabet[url]); /* 64 of its 65 bytes */
}

/* 48 bytes in the low bytes of in -> 64 characters. */
static inline __m512i enc_block(__m512i in, const struct enc_consts *c)
{
	__m512i spread = _mm512_permutexvar_epi8(c->spread, in);
	__m512i sextets = _mm512_multishift_epi64_epi8(c->shifts, spread);

	return _mm512_permutexvar_epi8(sextets, c->lut);
}

/* The whole groups of src[0..n) with masked loads and stores, at most 16
 * groups per step, nothing read or written past them; returns the input
 * consumed (n / 3 * 3). */
static size_t enc_groups(const uint8_t *src, size_t n, char *dst, const struct enc_consts *c)
{
	size_t i = 0, o = 0;

	/* Reads src[i..i+3g), g <= (n-i)/3. */
	while (n - i >= 3) {
		size_t g = (n - i) / 3 > 16 ? 16 : (n - i) / 3;
		__m512i in = _mm512_maskz_loadu_epi8(LOW(3 * g), src + i);

		_mm512_mask_storeu_epi8(dst + o, LOW(4 * g), enc_block(in, c));
		i += 3 * g;
		o += 4 * g;
	}
	return i;
}

/* Non-temporal run over src[*ip..n): whole 48-byte blocks while a 64-byte load
 * fits. v_t, the characters of block t, belong at dst + 64t; the aligned line
 * at dst + 64t + 64 - a (a = misalignment of dst) is the top 64 - a bytes of
 * v_t and the low a bytes of v_t+1. v_0 and the last block are stored
 * ordinarily, which covers the unaligned head and tail. */
static size_t enc_stream(const uint8_t *src, size_t n, char *dst, const struct enc_consts *c)
{
	size_t a = (uintptr_t)dst & 63, i = 48, o = 64;
	__m512i shift = _mm512_loadu_si512(iota + 64 - a);
	__m512i prev;

	if (n < 112)
		return 0;
	/* Bound: n >= 64, the load reads src[0..64). */
	prev = enc_block(_mm512_loadu_si512(src), c);
	_mm512_storeu_si512(dst, prev);
	/* Bound: i + 64 <= n, the load reads src[i..i+64). */
	for (; i + 64 <= n; i += 48, o += 64) {
		__m512i v = enc_block(_mm512_loadu_si512(src + i), c);

		_mm512_stream_si512((void *)(dst + o - a),
		                    _mm512_permutex2var_epi8(prev, shift, v));
		prev = v;
	}
	_mm512_storeu_si512(dst + o - 64, prev);
	_mm_sfence();
	return i;
}

static size_t enc_avx512(const uint8_t *src, size_t n, char *dst, int url)
{
	struct enc_consts c;
	size_t i = 0, o = 0;

	enc_consts_init(&c, url & 1);
	if (n >= ENC_NT_MIN || (url & MC__B64_NT)) {
		i = enc_stream(src, n, dst, &c);
		o = i / 3 * 4;
	}
	/* Bound: i + 208 <= n, the last load reads src[i+144..i+208). */
	for (; i + 208 <= n; i += 192, o += 256) {
		__m512i v0 = enc_block(_mm512_loadu_si512(src + i), &c);
		__m512i v1 = enc_block(_mm512_loadu_si512(src + i + 48), &c);
		__m512i v2 = enc_block(_mm512_loadu_si512(src + i + 96), &c);
		__m512i v3 = enc_block(_mm512_loadu_si512(src + i + 144), &c);

		_mm512_storeu_si512(dst + o, v0);
		_mm512_storeu_si512(dst + o + 64, v1);
		_mm512_storeu_si512(dst + o + 128, v2);
		_mm512_storeu_si512(dst + o + 192, v3);
	}
	/* Bound: i + 64 <= n. */
	for (; i + 64 <= n; i += 48, o += 64)
		_mm512_storeu_si512(dst + o, enc_block(_mm512_loadu_si512(src + i), &c));
	return i + enc_groups(src + i, n - i, dst + o, &c);
}

/* Writes the nc (1..64) characters of v at d with lazy line breaks (before a
 * character, when *colp == wrap); returns the bytes written. eolw holds the
 * break in memory order; for LF its second byte is junk that the character
 * after the break overwrites (a break is always followed by one here). */
static inline size_t wrap_block(char *d, __m512i v, unsigned nc, unsigned wrap, unsigned *colp,
                                unsigned eol, uint16_t eolw)
{
	uint64_t live = LOW(nc);
	size_t r = wrap - *colp; /* characters that still fit on the line */
	size_t sh = 0;

	if (r >= nc) {
		_mm512_mask_storeu_epi8(d, live, v);
		*colp += nc;
		return nc;
	}
	_mm512_mask_storeu_epi8(d, live, v);
	/* One pass per break before character r (r < nc): the break, then the
	 * characters from r on, shifted by the breaks so far. */
	do {
		memcpy(d + sh + r, &eolw, 2);
		sh += eol;
		_mm512_mask_storeu_epi8(d + sh, live & ge_mask[r], v);
		r += wrap;
	} while (r < nc);
	*colp = (unsigned)(nc - (r - wrap));
	return nc + sh;
}

/* One output block of a wrap table row: load, gather, sextets, alphabet
 * merged into the line-break bytes (LF, and with crlf the CRs flagged by bit
 * 7 of the shift control). Reads src[x..x+64), x = ibase + m->in (mod 2^64:
 * ibase alone may be "negative", so no pointer is formed from it). */
__attribute__((always_inline)) static inline __m512i encw_block(const uint8_t *src, size_t ibase,
                                                                const struct encw_row *r,
                                                                const struct encw_meta *m,
                                                                __m512i lut, const int crlf)
{
	__m512i perm = _mm512_load_si512(r->perm), shift = _mm512_load_si512(r->shift);
	__mmask64 chars = _mm512_movepi8_mask(perm); /* bit 7 of perm */
	__m512i brk = _mm512_set1_epi8('\n');
	__m512i v = _mm512_loadu_si512(src + (ibase + (size_t)m->in));

	if (crlf) /* port 0 and 0/5 work; the shuffles own port 5 */
		brk =
		    _mm512_mask_blend_epi8(_mm512_movepi8_mask(shift), brk, _mm512_set1_epi8('\r'));
	v = _mm512_permutexvar_epi8(perm, v);
	v = _mm512_multishift_epi64_epi8(shift, v);
	return _mm512_mask_permutexvar_epi8(brk, chars, v, lut);
}

/* Table-driven wrapped encode ("b64 avx512 wrap tables" in
 * gen_b64_avx512_tables.c): block after block of 64 output bytes, each one
 * load, vpermb (gather), vpmultishiftqb (sextets), vpermb (alphabet, merged
 * into the break bytes) and one full store. Entered at column *colp (a
 * multiple of 4, so a group starts there: row start[col / 4]). Block k of a
 * period lies at output offset obase + 64k and reads src[ibase + in ..
 * ibase + in + 64); ibase and obase advance by a period (mod 2^64: they start
 * "negative" when the entry row is not row 0). Stops before the first block
 * whose load would pass n and returns the input consumed up to the start of
 * that block's first group, with *op and *colp set for it (the state the
 * other paths resume from); for n < 64 it returns 0 and changes nothing.
 *
 * Writes: a block's 64 bytes are the final output bytes at their offsets. The
 * ones past the returned position (the head of a group cut by the block end,
 * or a break before it) belong to groups inside the block's load, so inside
 * src[0..n): the caller's tail encodes those groups and rewrites the same
 * bytes, and everything written stays inside the kernel's final output. */
__attribute__((always_inline)) static inline size_t
enc_wrap_table(const uint8_t *src, size_t n, char *dst, size_t *op, unsigned *colp,
               const struct encw_table *t, __m512i lut, const int crlf, int nt)
{
	const struct encw_row *const row = t->row;
	const struct encw_meta *const meta = t->meta;
	const unsigned rows = t->rows, k0 = (unsigned)t->start[*colp / 4];
	const size_t period_in = t->period_in;
	size_t ibase = 0 - (size_t)meta[k0].in, o = 0, nblk, x, q, rem;
	unsigned k = k0, lo = 0, hi = rows;

	/* The blocks that fit, counted up front so the loop has no bound test.
	 * Block (period q, row j) loads at q * period_in + in[j] - in[k0], in[]
	 * increasing within a period; it fits when that + 64 <= n, i.e.
	 * q * period_in + in[j] <= x. Rows j with in[j] <= x % period_in fit in
	 * period x / period_in (row 0 always does, and so does k0 in period 0:
	 * n >= 64), all rows of the periods before it fit. */
	if (n < 64)
		return 0;
	x = n - 64 + (size_t)meta[k0].in;
	q = x / period_in;
	rem = x % period_in;
	while (lo + 1 < hi) { /* the last row j with in[j] <= rem */
		unsigned mid = (lo + hi) / 2;

		if ((size_t)meta[mid].in <= rem)
			lo = mid;
		else
			hi = mid;
	}
	nblk = q * rows + lo + 1 - k0;
	/* Bound: as counted, every block's load src[ibase+in..ibase+in+64)
	 * lies inside src[0..n). */
	if (n >= ENC_NT_MIN || nt) {
		/* Out of cache (as in enc_stream): the blocks after the first go
		 * out non-temporal, realigned to dst's lines: block t and its
		 * predecessor form the line at dst + 64t - a; the first and the
		 * last block are also stored ordinarily. */
		const size_t a = (uintptr_t)dst & 63;
		const __m512i shift = _mm512_loadu_si512(iota + 64 - a);
		__m512i prev = encw_block(src, ibase, &row[k], &meta[k], lut, crlf);

		_mm512_storeu_si512(dst, prev);
		for (o = 64, nblk--; nblk; nblk--, o += 64) {
			__m512i v;

			if (++k == rows) {
				k = 0;
				ibase += period_in;
			}
			v = encw_block(src, ibase, &row[k], &meta[k], lut, crlf);
			_mm512_stream_si512((void *)(dst + o - a),
			                    _mm512_permutex2var_epi8(prev, shift, v));
			prev = v;
		}
		_mm512_storeu_si512(dst + o - 64, prev);
		_mm_sfence();
		if (++k == rows) {
			k = 0;
			ibase += period_in;
		}
	}
	while (nblk) {
		size_t seg = rows - k < nblk ? rows - k : nblk;
		const struct encw_row *r = row + k;
		const struct encw_meta *m = meta + k;

		for (size_t e = 0; e < seg; e++)
			_mm512_storeu_si512(dst + o + 64 * e,
			                    encw_block(src, ibase, r + e, m + e, lut, crlf));
		o += 64 * seg;
		nblk -= seg;
		k += (unsigned)seg;
		if (k == rows) {
			k = 0;
			ibase += period_in;
		}
	}
	/* Block k would start at dst + o: obase = o - 64k. */
	*op = o - (size_t)64 * k + (size_t)(ptrdiff_t)meta[k].rout;
	*colp = (unsigned)meta[k].rcol;
	return ibase + (size_t)meta[k].in;
}

__attribute__((noinline)) static size_t enc_wrap_table_crlf(const uint8_t *src, size_t n, char *dst,
                                                            size_t *op, unsigned *colp,
                                                            const struct encw_table *t, __m512i lut,
                                                            int nt)
{
	return enc_wrap_table(src, n, dst, op, colp, t, lut, 1, nt);
}

__attribute__((noinline)) static size_t enc_wrap_table_lf(const uint8_t *src, size_t n, char *dst,
                                                          size_t *op, unsigned *colp,
                                                          const struct encw_table *t, __m512i lut,
                                                          int nt)
{
	return enc_wrap_table(src, n, dst, op, colp, t, lut, 0, nt);
}

/* Line by line, for W = 64..76 characters a multiple of 4 ("b64 avx512
 * design", wrapped encode by lines): a line is one 48-byte block (64
 * characters, the plain encoder's constants) and the 3(W - 64)/4 bytes after
 * it, which go through the same steps in an xmm and get the break blended in
 * behind them. Each line is one 64-byte store and one 16-byte store; breaks
 * are written eagerly, with their line, so the loop runs from a line start
 * (col 0): an open line is finished first, by masked blocks, and its break
 * written. Only entered with i + 64 <= n after that, and it stops while at
 * least 7 input bytes are left, so the 16-byte store's bytes past the line
 * (at most 80 - (W + E)) are rewritten by the characters of those bytes that
 * follow in this call. Returns the input consumed; *op and *colp as for the
 * other paths (col 0 after an eager break). */
static size_t enc_wrap_lines(const uint8_t *src, size_t n, char *dst, size_t *op, unsigned wrap,
                             unsigned *colp, unsigned eol, uint16_t eolw,
                             const struct enc_consts *c)
{
	const size_t lin = wrap / 4 * 3, lout = wrap + eol;
	const unsigned g = (wrap - 64) / 4;
	const __mmask16 bm = (__mmask16)((eol == 2 ? 3u : 1u) << (4 * g));
	const __m128i brk = _mm_set1_epi16((short)eolw);
	const __m128i spread = _mm512_castsi512_si128(c->spread);
	const __m128i shifts = _mm512_castsi512_si128(c->shifts);
	const __m256i lut_lo = _mm512_castsi512_si256(c->lut);
	const __m256i lut_hi = _mm512_extracti64x4_epi64(c->lut, 1);
	size_t i = 0, o = *op, head = *colp ? (wrap - *colp) / 4 * 3 : 0;

	if (*colp % 4 || head + 64 > n)
		return 0;
	/* Bound: head + 64 <= n (head is whole groups). */
	i = enc_groups(src, head, dst + o, c);
	o += i / 3 * 4;
	if (*colp) { /* the open line's break; characters follow */
		memcpy(dst + o, &eolw, 2);
		o += eol;
	}
	/* Bound: i + 64 <= n, the loads read src[i..i+64) and src[i+48..i+64). */
	for (; i + 64 <= n; i += lin, o += lout) {
		__m512i a = enc_block(_mm512_loadu_si512(src + i), c);
		__m128i x = _mm_loadu_si128((const void *)(src + i + 48));

		x = _mm_multishift_epi64_epi8(shifts, _mm_permutexvar_epi8(spread, x));
		x = _mm256_castsi256_si128(
		    _mm256_permutex2var_epi8(lut_lo, _mm256_castsi128_si256(x), lut_hi));
		x = _mm_mask_blend_epi8(bm, x, brk);
		_mm512_storeu_si512(dst + o, a);
		_mm_storeu_si128((void *)(dst + o + 64), x);
	}
	*op = o;
	*colp = 0;
	return i;
}

static size_t enc_wrap_avx512(const uint8_t *src, size_t n, char *dst, size_t *written,
                              unsigned wrap, unsigned *col, int crlf, int url)
{
	struct enc_consts c;
	unsigned cl = *col, eol = crlf ? 2 : 1;
	uint16_t eolw = crlf ? (uint16_t)('\r' | '\n' << 8) : (uint16_t)('\n' | '\n' << 8);
	size_t i = 0, o = 0;
	const struct encw_table *t = wrap == 76            ? (crlf ? &encw_76crlf : &encw_76lf)
	                             : wrap == 64 && !crlf ? &encw_64lf
	                                                   : NULL;

	enc_consts_init(&c, url & 1);
	if (wrap >= 64 && wrap <= 76 && wrap % 4 == 0 && n < ENC_NT_MIN && !(url & MC__B64_NT))
		i = enc_wrap_lines(src, n, dst, &o, wrap, &cl, eol, eolw, &c);
	else if (t && cl % 4 == 0 && n >= 64)
		i = crlf ? enc_wrap_table_crlf(src, n, dst, &o, &cl, t, c.lut, url & MC__B64_NT)
		         : enc_wrap_table_lf(src, n, dst, &o, &cl, t, c.lut, url & MC__B64_NT);
	if (wrap >= 64) {
		/* At most one break per block; the common MIME case (76, 64).
		 * Bound: i + 64 <= n. */
		for (; i + 64 <= n; i += 48) {
			__m512i v = enc_block(_mm512_loadu_si512(src + i), &c);
			size_t r = wrap - cl;

			if (r >= 64) {
				_mm512_storeu_si512(dst + o, v);
				cl += 64;
				o += 64;
			} else {
				_mm512_storeu_si512(dst + o, v);
				memcpy(dst + o + r, &eolw, 2);
				_mm512_mask_storeu_epi8(dst + o + eol, ge_mask[r], v);
				cl = (unsigned)(64 - r);
				o += 64 + eol;
			}
		}
	} else {
		/* Bound: i + 64 <= n. */
		for (; i + 64 <= n; i += 48)
			o += wrap_block(dst + o, enc_block(_mm512_loadu_si512(src + i), &c), 64,
			                wrap, &cl, eol, eolw);
	}
	/* Tail: reads src[i..i+3g), g <= (n-i)/3. */
	while (n - i >= 3) {
		size_t g = (n - i) / 3 > 16 ? 16 : (n - i) / 3;
		__m512i in = _mm512_maskz_loadu_epi8(LOW(3 * g), src + i);

		o +=
		    wrap_block(dst + o, enc_block(in, &c), (unsigned)(4 * g), wrap, &cl, eol, eolw);
		i += 3 * g;
	}
	*col = cl;
	*written = o;
	return i;
}

/* ---- decode ---------------------------------------------------------------- */

struct dec_consts {
	__m512i lut_lo, lut_hi, pack0, pack1, pack2, m1, m2;
};

static inline void dec_consts_init(struct dec_consts *c, int url)
{
	c->lut_lo = _mm512_load_si512(dec_lut[url]);
	c->lut_hi = _mm512_load_si512(dec_lut[url] + 64);
	c->pack0 = _mm512_load_si512(dec_stream);
	c->pack1 = _mm512_load_si512(dec_stream + 64);
	c->pack2 = _mm512_load_si512(dec_stream + 128);
	c->m1 = _mm512_set1_epi32(0x01400140);
	c->m2 = _mm512_set1_epi32(0x00011000);
}

/* 64 sextets (one per byte, values < 64) -> 16 lanes of 24 bits (see PK). */
static inline __m512i dec_merge(__m512i t, const struct dec_consts *c)
{
	__m512i w = _mm512_maddubs_epi16(t, c->m1); /* a << 6 | b per 16 bits */

	return _mm512_madd_epi16(w, c->m2); /* ab << 12 | cd per 32 bits */
}

/* Four blocks src[0..256) -> 4 x 48 bytes in out[0..3] (low 48 bytes of each,
 * see PK); 0 if any byte is not in the alphabet. Reads src[0..256). The check
 * ORs characters and table values: either has bit 7 set for a non-alphabet
 * byte. */
static inline int dec_quad4(const uint8_t *s, __m512i out[4], const struct dec_consts *c)
{
	__m512i s0 = _mm512_loadu_si512(s), s1 = _mm512_loadu_si512(s + 64);
	__m512i s2 = _mm512_loadu_si512(s + 128), s3 = _mm512_loadu_si512(s + 192);
	__m512i t0 = _mm512_permutex2var_epi8(c->lut_lo, s0, c->lut_hi);
	__m512i t1 = _mm512_permutex2var_epi8(c->lut_lo, s1, c->lut_hi);
	__m512i t2 = _mm512_permutex2var_epi8(c->lut_lo, s2, c->lut_hi);
	__m512i t3 = _mm512_permutex2var_epi8(c->lut_lo, s3, c->lut_hi);
	__m512i any = _mm512_ternarylogic_epi32(t0, s0, t1, 0xfe); /* a | b | c */

	any = _mm512_ternarylogic_epi32(any, s1, t2, 0xfe);
	any = _mm512_ternarylogic_epi32(any, s2, t3, 0xfe);
	if (_mm512_movepi8_mask(_mm512_or_si512(any, s3)))
		return 0;
	out[0] = _mm512_permutexvar_epi8(c->pack0, dec_merge(t0, c));
	out[1] = _mm512_permutexvar_epi8(c->pack0, dec_merge(t1, c));
	out[2] = _mm512_permutexvar_epi8(c->pack0, dec_merge(t2, c));
	out[3] = _mm512_permutexvar_epi8(c->pack0, dec_merge(t3, c));
	return 1;
}

/* MIME line layout ("b64 avx512 design", decode): lines of W >= 64
 * characters, each followed by the same E-byte break (CRLF or LF). Then 64
 * characters span at most one break, which lies r bytes ahead of i (r: the
 * characters left on the current line). Two loads, a at i and b at i + E,
 * and one blend (a below r, b from r on: no shuffle) gather the 64
 * characters; the E bytes at i + r are checked to be the break, and the
 * gathered bytes go through the normal translate and check, so every byte
 * consumed is verified: an alphabet character or a break where one was
 * expected. Anything else (a short line, other whitespace, '=', the end)
 * stops the run on the quantum boundary before that window; the general path
 * takes over. The layout only steers where breaks are expected, never what is
 * accepted. For W = 76 and 64 the window positions, break offsets and blend
 * masks of a whole period come from tables ("b64 avx512 line tables"), from
 * the first line start on; other widths (and the way to that line start) use
 * the same steps computed on the fly. */

/* One window at i: the 64 characters gathered, *ok cleared if
 * the break bytes are wrong; *ip and *rp advanced past it. Reads
 * src[i..i+64+E). */
__attribute__((always_inline)) static inline __m512i
lines_gather(const uint8_t *s, size_t *ip, size_t *rp, size_t W, const unsigned E, int *ok)
{
	size_t i = *ip, r = *rp, at = r < 64 ? r : 64;
	size_t brk = 0 - (size_t)(r <= 64); /* all ones: a break in this window */
	__m512i a = _mm512_loadu_si512(s + i), b = _mm512_loadu_si512(s + i + E);
	int brk_ok;

	if (E == 2) {
		uint16_t w;

		memcpy(&w, s + i + at, 2);
		brk_ok = w == ('\r' | '\n' << 8);
	} else {
		brk_ok = s[i + at] == '\n';
	}
	*ok &= brk_ok | (r > 64); /* r > 64: no break in this window */
	/* branch-free: the break pattern has a period of up to 19 windows */
	*ip = i + 64 + (E & brk);
	*rp = r - 64 + (W & brk); /* mod 2^64; r <= 64: r + W - 64 */
	/* a below at, b from at on; a byte mask from a table, not a mask
	 * register (GPR -> k moves use port 5, as the shuffles do) */
	return _mm512_ternarylogic_epi32(_mm512_loadu_si512(ones_from + 64 - at), b, a, 0xca);
}

/* One window of row e of a line table (gen_b64_avx512_tables.c, "b64 avx512
 * line tables"), p the period's first byte: the 64 characters gathered; the
 * break bytes XOR the expected ones are ORed into *chk. Reads
 * p[off..off+64+E) and p[brk..brk+E), brk <= off + W. */
__attribute__((always_inline)) static inline __m512i
lines_gather_tab(const uint8_t *p, const struct decl_row *e, const unsigned E, uint32_t *chk)
{
	__m512i a = _mm512_loadu_si512(p + e->off), b = _mm512_loadu_si512(p + e->off + E);
	__m512i m = _mm512_load_si512((const uint8_t *)decl_blend + e->bmo);

	if (E == 2) {
		uint16_t w;

		memcpy(&w, p + e->brk, 2);
		*chk |= w ^ ('\r' | '\n' << 8);
	} else {
		*chk |= p[e->brk] ^ '\n';
	}
	return _mm512_ternarylogic_epi32(m, b, a, 0xca); /* m ? b : a */
}

/* Decodes windows from i (r characters before the next break) while the
 * layout holds. Updates *ip and *op; returns the input consumed. The
 * constants are its own: with the caller's passed by address, gcc keeps them
 * in memory and reloads them in every iteration of the caller's loops. */
__attribute__((always_inline)) static inline size_t
dec_lines_run(const uint8_t *s, size_t n, uint8_t *dst, size_t *ip, size_t *op, size_t r, size_t W,
              const unsigned E, const struct decl_table *T, int url)
{
	const uint64_t out48 = LOW(48);
	size_t i = *ip, o = *op;
	struct dec_consts k;

	dec_consts_init(&k, url);
	/* Single windows up to a line start, then four windows at a time from
	 * the line table, then single windows to the end. The single-window
	 * bound: i + 64 + E <= n (lines_gather reads src[i..i+64+E)); dst:
	 * o <= 3i/4 and a window consumes >= 64 characters, so the 48-byte
	 * store ends at o + 48 <= 3(i + 64)/4 <= 3n/4 (the same per window in
	 * the table loop). */
	for (int phase = 0; phase < 2; phase++) {
		while ((phase || r != W || !T) && i + 64 + E <= n) {
			size_t i1 = i, r1 = r;
			int ok = 1;
			__m512i g = lines_gather(s, &i1, &r1, W, E, &ok);
			__m512i t = _mm512_permutex2var_epi8(k.lut_lo, g, k.lut_hi);

			if (!ok || _mm512_movepi8_mask(_mm512_or_si512(t, g)))
				goto out;
			_mm512_mask_storeu_epi8(dst + o, out48,
			                        _mm512_permutexvar_epi8(k.pack0, dec_merge(t, &k)));
			i = i1;
			r = r1;
			o += 48;
		}
		if (phase || !T || r != W)
			break;
		/* At a line start: the table's period starts here. Bound: base +
		 * off + need <= n; window q of the four starts at most q(64 + E)
		 * after the first and reads up to max(64, W) + E past its start.
		 * dst: the four stores end at o + 192 <= 3(i + 256)/4 <= 3n/4,
		 * as need >= 256. */
		size_t base = i, need = 3 * (64 + E) + W + E;
		unsigned j = 0;

		while (base + T->row[j].off + need <= n) {
			const uint8_t *p = s + base; /* base < n */
			const struct decl_row *e = T->row + j;
			uint32_t chk = 0;
			__m512i g0 = lines_gather_tab(p, e, E, &chk);
			__m512i g1 = lines_gather_tab(p, e + 1, E, &chk);
			__m512i g2 = lines_gather_tab(p, e + 2, E, &chk);
			__m512i g3 = lines_gather_tab(p, e + 3, E, &chk);
			__m512i t0 = _mm512_permutex2var_epi8(k.lut_lo, g0, k.lut_hi);
			__m512i t1 = _mm512_permutex2var_epi8(k.lut_lo, g1, k.lut_hi);
			__m512i t2 = _mm512_permutex2var_epi8(k.lut_lo, g2, k.lut_hi);
			__m512i t3 = _mm512_permutex2var_epi8(k.lut_lo, g3, k.lut_hi);
			__m512i any = _mm512_ternarylogic_epi32(t0, g0, t1, 0xfe); /* a | b | c */

			any = _mm512_ternarylogic_epi32(any, g1, t2, 0xfe);
			any = _mm512_ternarylogic_epi32(any, g2, t3, 0xfe);
			if (chk || _mm512_movepi8_mask(_mm512_or_si512(any, g3)))
				break; /* the single windows find which one */
			_mm512_mask_storeu_epi8(
			    dst + o, out48, _mm512_permutexvar_epi8(k.pack0, dec_merge(t0, &k)));
			_mm512_mask_storeu_epi8(
			    dst + o + 48, out48,
			    _mm512_permutexvar_epi8(k.pack0, dec_merge(t1, &k)));
			_mm512_mask_storeu_epi8(
			    dst + o + 96, out48,
			    _mm512_permutexvar_epi8(k.pack0, dec_merge(t2, &k)));
			_mm512_mask_storeu_epi8(
			    dst + o + 144, out48,
			    _mm512_permutexvar_epi8(k.pack0, dec_merge(t3, &k)));
			o += 192;
			for (j += 4; j >= T->rows; j -= T->rows) /* P may be < 4 */
				base += T->period_in;
		}
		i = base + T->row[j].off;
		r = T->row[j].r;
	}
out:
	r = i - *ip; /* the input consumed */
	*ip = i;
	*op = o;
	return r;
}

/* Finds the line layout from the first two LFs in src[i..i+256) and runs
 * dec_lines_run; returns the input consumed (0: no layout found, or no
 * window fitted). */
__attribute__((noinline)) static size_t dec_lines(const uint8_t *s, size_t n, uint8_t *dst,
                                                  size_t *ip, size_t *op, int url)
{
	size_t i = *ip, end = n - i < 256 ? n : i + 256, f[2], nf = 0, W, E, b1;

	/* Bound: the masked loads read src[j..min(j+64, end)), end <= n. */
	for (size_t j = i; j < end && nf < 2; j += 64) {
		__mmask64 lm = end - j >= 64 ? ~0ull : LOW(end - j);
		uint64_t m = _mm512_mask_cmpeq_epi8_mask(lm, _mm512_maskz_loadu_epi8(lm, s + j),
		                                         _mm512_set1_epi8('\n'));

		for (; m && nf < 2; m &= m - 1)
			f[nf++] = j + (size_t)__builtin_ctzll(m);
	}
	if (nf < 2)
		return 0;
	E = s[f[1] - 1] == '\r' ? 2 : 1; /* f[1] - 1 >= f[0] >= i */
	if (f[1] - f[0] < 64 + E || f[0] + 1 < i + E)
		return 0; /* lines too short, or the first break starts before i */
	W = f[1] - f[0] - E;
	b1 = f[0] + 1 - E; /* where the first break starts, >= i */
	if (E == 2)
		return dec_lines_run(s, n, dst, ip, op, b1 - i, W, 2,
		                     W == 76   ? &decl_76crlf
		                     : W == 64 ? &decl_64crlf
		                               : NULL,
		                     url);
	return dec_lines_run(s, n, dst, ip, op, b1 - i, W, 1,
	                     W == 76   ? &decl_76lf
	                     : W == 64 ? &decl_64lf
	                               : NULL,
	                     url);
}

static size_t dec_avx512(const char *src, size_t n, uint8_t *dst, size_t *written, int url)
{
	const uint8_t *s = (const uint8_t *)src;
	const uint64_t out48 = LOW(48);
	struct dec_consts c;
	__m512i acc = _mm512_setzero_si512(); /* staged sextets acc[0..k) */
	size_t i = 0, o = 0;
	unsigned k = 0;
	int lines = 1;

	if (n >= DEC_AVX2_MIN)
		return mc__b64_avx2.dec(src, n, dst, written, url);
	dec_consts_init(&c, url);
	for (;;) {
		__m512i sv, t, rot, merged;
		__mmask64 lim = ~0ull, nonalpha, bad, alpha_m;
		unsigned kn, full;

		/* Whitespace-free stretches, nothing staged.
		 * Bound: i + 256 <= n (dec_quad reads src[i..i+256)). */
		if (k == 0) {
			__m512i v[4];

			for (; i + 256 <= n && dec_quad4(s + i, v, &c); i += 256, o += 192) {
				_mm512_mask_storeu_epi8(dst + o, out48, v[0]);
				_mm512_mask_storeu_epi8(dst + o + 48, out48, v[1]);
				_mm512_mask_storeu_epi8(dst + o + 96, out48, v[2]);
				_mm512_mask_storeu_epi8(dst + o + 144, out48, v[3]);
			}
			/* MIME lines: tried whenever nothing is staged, until a
			 * search finds no layout. */
			if (lines && i + 256 <= n) {
				/* copies: i and o stay in registers in the loops here */
				size_t li = i, lo = o;

				lines = dec_lines(s, n, dst, &li, &lo, url) != 0;
				i = li;
				o = lo;
			}
		}
		/* One block; past the end of the input counts as a bad byte.
		 * Bound: a full load when i + 64 <= n, else a masked one of src[i..n). */
		if (i + 64 <= n) {
			sv = _mm512_loadu_si512(s + i);
		} else if (i < n) {
			lim = LOW(n - i);
			sv = _mm512_maskz_loadu_epi8(lim, s + i);
		} else {
			break;
		}
		t = _mm512_permutex2var_epi8(c.lut_lo, sv, c.lut_hi);
		nonalpha = _mm512_movepi8_mask(_mm512_or_si512(t, sv));
		if (k == 0 && _kortestz_mask64_u8(nonalpha, ~lim)) {
			/* 64 characters -> 48 bytes; dst has room for them. */
			_mm512_mask_storeu_epi8(dst + o, out48,
			                        _mm512_permutexvar_epi8(c.pack0, dec_merge(t, &c)));
			i += 64;
			o += 48;
			continue;
		}
		/* Bad: bit 6 of the table value (0xff) or bit 7 of the character. */
		bad = _mm512_movepi8_mask(_mm512_or_si512(_mm512_add_epi8(t, t), sv));
		if (!_kortestz_mask64_u8(bad, ~lim)) {
			/* The last block: stage the alphabet bytes before the first bad
			 * one (or the end of the input) and stop there. */
			uint64_t b = _cvtmask64_u64(bad) | ~lim;
			uint64_t alpha = ~_cvtmask64_u64(nonalpha) & (b - 1) & ~b;

			kn = k + (unsigned)__builtin_popcountll(alpha);
			rot = _mm512_permutexvar_epi8(_mm512_loadu_si512(iota + 64 - k),
			                              _mm512_maskz_compress_epi8(alpha, t));
			merged = _mm512_mask_blend_epi8(ge_mask[k], acc, rot);
			if (kn >= 64) {
				_mm512_mask_storeu_epi8(
				    dst + o, out48,
				    _mm512_permutexvar_epi8(c.pack0, dec_merge(merged, &c)));
				o += 48;
				merged = rot;
			}
			acc = merged;
			k = kn & 63;
			i += (size_t)__builtin_ctzll(b);
			break;
		}
		/* Append the alphabet bytes: rot[j] = c[j - k] (mod 64); staged =
		 * acc[0..k) rot[k..64); when 64 or more are staged, rot[0..kn-64)
		 * is the overflow. The blends take byte masks from a table, not
		 * mask registers: GPR -> k moves compete with the shuffles for
		 * port 5. */
		alpha_m = _knot_mask64(nonalpha);
		kn = k + (unsigned)__builtin_popcountll(_cvtmask64_u64(alpha_m));
		rot = _mm512_permutexvar_epi8(_mm512_loadu_si512(iota + 64 - k),
		                              _mm512_maskz_compress_epi8(alpha_m, t));
		merged = _mm512_ternarylogic_epi32(_mm512_loadu_si512(ones_from + 64 - k), rot, acc,
		                                   0xca); /* mask ? rot : acc, bitwise */
		full = kn >> 6;
		/* Branch-free (in MIME text the register fills at a period of 39
		 * blocks): the 48 bytes are always stored and only kept when
		 * full. They fit: o <= 3i/4 and i + 64 <= n here. */
		_mm512_mask_storeu_epi8(dst + o, out48,
		                        _mm512_permutexvar_epi8(c.pack0, dec_merge(merged, &c)));
		o += 48 & (0 - (size_t)full);
		acc = _mm512_ternarylogic_epi32(
		    _mm512_loadu_si512(ones_from + 64 - (k & (full - 1))), rot, acc, 0xca);
		k = kn & 63;
		i += 64;
	}
	/* Flush the whole quanta staged; rewind over the sextets of the open one
	 * (at most 3 alphabet characters, all in src[0..i), with whitespace). */
	if (k >= 4) {
		_mm512_mask_storeu_epi8(dst + o, LOW(k / 4 * 3),
		                        _mm512_permutexvar_epi8(c.pack0, dec_merge(acc, &c)));
		o += k / 4 * 3;
	}
	for (unsigned r = k & 3; r;) {
		uint8_t ch = s[--i];

		if (!(ch == '\r' || ch == '\n' || ch == ' ' || ch == '\t'))
			r--;
	}
	*written = o;
	return i;
}

const struct mc_b64_kernels mc__b64_avx512 = {
    .isa = MC_ISA_AVX512,
    .name = "avx512",
    .enc = enc_avx512,
    .enc_wrap = enc_wrap_avx512,
    .dec = dec_avx512,
};
