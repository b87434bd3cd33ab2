/* b64_neon.c: base64 kernels for arm64 Advanced SIMD (NEON), RFC 4648
 * sections 4 and 5, with the RFC 2045 section 6.8 line breaks skipped on decode.
 * The contract is b64_internal.h's; see "b64 design" in b64.c.
 *
 * Design note (referenced as "neon b64" below):
 * - Encode: vld3q_u8 splits 48 input bytes into the first, second and third
 *   byte of 16 groups; shifts and inserts make the four sextet vectors; one
 *   vqtbl4q_u8 per vector maps them through the 64-byte alphabet and vst4q_u8
 *   interleaves the 64 characters back into memory order.
 * - Decode: vld4q_u8 splits 64 characters into the four positions of 16
 *   quanta. Each byte is classified by the 128-byte table dec_class below:
 *   one vqtbx4q_u8 for 0x00..0x3f and one for 0x40..0x7f (index c ^ 0x40);
 *   bytes >= 0x80 fall outside both and keep the 0xff preset. A class above
 *   63 is not alphabet. When a block has none, vst3q_u8 stores its 48 bytes.
 * - A block that has a non-alphabet byte still yields its leading whole
 *   quanta: a 64-bit mask with 4 bits per quantum gives the first bad
 *   quantum q; the block's 48 bytes are stored anyway (only the first 3 * q
 *   count, the rest is overwritten later) and the input advances by q
 *   quanta. Then one quantum is gathered byte by byte, skipping CR, LF,
 *   space and tab, and the SIMD loop resumes. So a
 *   MIME line break (76 characters + CRLF) costs one short block and one
 *   scalar quantum, and a break inside a quantum (odd wraps) is handled too.
 *   Any other byte ends the kernel on the last quantum boundary before it.
 * - Wrapped encode (enc_wrap) writes line by line straight into dst for
 *   wraps that are a multiple of 4 (76 and 64 in practice); other wraps fall
 *   back to b64.c's generic wrapper. */
#include <arm_neon.h>
#include <string.h>

#include "b64_internal.h"

/* ---- tables ----------------------------------------------------------------- */

/* Class of byte c < 128: its sextet, 0x80 for CR LF SP TAB, 0xff otherwise. */
#define WS(c) ((c) == '\r' || (c) == '\n' || (c) == ' ' || (c) == '\t')
#define CLS(c, u)                                    \
	((c) >= 'A' && (c) <= 'Z'   ? (c) - 'A'      \
	 : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26 \
	 : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52 \
	 : (c) == ((u) ? '-' : '+') ? 62             \
	 : (c) == ((u) ? '_' : '/') ? 63             \
	 : WS(c)                    ? 0x80           \
	                            : 0xff)
#define C1(c, u)  CLS(c, u),
#define C4(c, u)  C1(c, u) C1(c + 1, u) C1(c + 2, u) C1(c + 3, u)
#define C16(c, u) C4(c, u) C4(c + 4, u) C4(c + 8, u) C4(c + 12, u)
#define C64(c, u) C16(c, u) C16(c + 16, u) C16(c + 32, u) C16(c + 48, u)

#define CLS_WS  0x80u
#define CLS_BAD 0xffu

static const uint8_t dec_class[2][128] = {{C64(0, 0) C64(64, 0)}, {C64(0, 1) C64(64, 1)}};

static inline unsigned byte_class(const uint8_t *cls, unsigned char c)
{
	return c < 128 ? cls[c] : CLS_BAD;
}

/* ---- encode ---------------------------------------------------------------- */

static inline uint8x16x4_t load_table64(const uint8_t *t)
{
	uint8x16x4_t v;

	v.val[0] = vld1q_u8(t);
	v.val[1] = vld1q_u8(t + 16);
	v.val[2] = vld1q_u8(t + 32);
	v.val[3] = vld1q_u8(t + 48);
	return v;
}

/* 48 bytes at src to 64 characters at dst. Reads src[0..48), writes dst[0..64).
 *
 *   in.val[0] = a: aaaaaaAA   s0 = a >> 2                 = 00aaaaaa
 *   in.val[1] = b: bbbbBBBB   s1 = (a << 4 | b >> 4) & 63 = 00AAbbbb
 *   in.val[2] = c: ccCCCCCC   s2 = (b << 2 | c >> 6) & 63 = 00BBBBcc
 *                             s3 = c & 63                 = 00CCCCCC */
static inline void enc48(const uint8_t *src, char *dst, uint8x16x4_t alpha)
{
	const uint8x16_t m63 = vdupq_n_u8(63);
	uint8x16x3_t in = vld3q_u8(src);
	uint8x16x4_t s;

	s.val[0] = vshrq_n_u8(in.val[0], 2);
	s.val[1] = vandq_u8(vsriq_n_u8(vshlq_n_u8(in.val[0], 4), in.val[1], 4), m63);
	s.val[2] = vandq_u8(vsriq_n_u8(vshlq_n_u8(in.val[1], 2), in.val[2], 6), m63);
	s.val[3] = vandq_u8(in.val[2], m63);

	s.val[0] = vqtbl4q_u8(alpha, s.val[0]);
	s.val[1] = vqtbl4q_u8(alpha, s.val[1]);
	s.val[2] = vqtbl4q_u8(alpha, s.val[2]);
	s.val[3] = vqtbl4q_u8(alpha, s.val[3]);
	vst4q_u8((uint8_t *)dst, s);
}

static size_t enc_neon(const uint8_t *src, size_t n, char *dst, int url)
{
	/* url & MC__B64_NT: no non-temporal stores here */
	const uint8x16x4_t alpha = load_table64((const uint8_t *)mc__b64_alphabet[url & 1]);
	size_t i = 0;

	/* Bound: reads src[i..i+48) with i + 48 <= n; writes dst[i/3*4..(i+48)/3*4),
	 * and (i + 48) / 3 * 4 <= n / 3 * 4 because i + 48 is a multiple of 3 <= n. */
	for (; n - i >= 48; i += 48)
		enc48(src + i, dst + i / 3 * 4, alpha);
	return i; /* the caller encodes the remaining < 16 groups */
}

static size_t enc_wrap_neon(const uint8_t *src, size_t n, char *dst, size_t *written, unsigned wrap,
                            unsigned *col, int crlf, int url)
{
	const uint8x16x4_t alpha = load_table64((const uint8_t *)mc__b64_alphabet[url & 1]);
	unsigned c = *col;
	size_t i = 0, o = 0;

	/* Lines of whole groups only; b64.c's generic wrapper does the rest. */
	if (wrap % 4 || c % 4 || c > wrap) {
		*written = 0;
		return 0;
	}
	/* Bound: each pass consumes g >= 1 groups with i + 3 * g <= n, so i <= n
	 * throughout; output is exactly the wrapped encoding, nothing beyond it. */
	while (n - i >= 3) {
		size_t g, room;

		if (c == wrap) { /* lazy break: only when a character follows */
			if (crlf)
				dst[o++] = '\r';
			dst[o++] = '\n';
			c = 0;
		}
		g = (n - i) / 3;
		room = (wrap - c) / 4;
		if (g > room)
			g = room;
		c += (unsigned)(g * 4);
		/* Bound: g >= 16 groups left on the line means i + 48 <= n. */
		for (; g >= 16; g -= 16, i += 48, o += 64)
			enc48(src + i, dst + o, alpha);
		if (g && n - i >= 48) {
			char buf[64];

			/* Bound: reads src[i..i+48), i + 48 <= n; writes buf only. */
			enc48(src + i, buf, alpha);
			memcpy(dst + o, buf, g * 4);
		} else if (g) {
			mc__b64_enc_scalar(src + i, g * 3, dst + o, url);
		}
		i += g * 3;
		o += g * 4;
	}
	*col = c;
	*written = o;
	return i;
}

/* ---- decode ---------------------------------------------------------------- */

/* Classifies 16 bytes: lo and hi are the two halves of dec_class (see "neon b64"). */
static inline uint8x16_t classify(uint8x16_t c, uint8x16x4_t lo, uint8x16x4_t hi)
{
	uint8x16_t v = vqtbx4q_u8(vdupq_n_u8(CLS_BAD), lo, c);

	return vqtbx4q_u8(v, hi, veorq_u8(c, vdupq_n_u8(0x40)));
}

static size_t dec_neon(const char *src_, size_t n, uint8_t *dst, size_t *written, int url)
{
	const uint8_t *src = (const uint8_t *)src_;
	const uint8_t *cls = dec_class[url];
	const uint8x16x4_t lo = load_table64(cls), hi = load_table64(cls + 64);
	const uint8x16_t m63 = vdupq_n_u8(63);
	size_t i = 0, o = 0;

	/* Invariant: i is on a quantum boundary and 4 * o <= 3 * i (whole quanta
	 * give 3 bytes per 4 characters, whitespace none), so a store of 3 * q
	 * bytes after consuming 4 * q more characters stays in dst[0..n/4*3). */
	for (;;) {
		/* Bound: reads src[i..i+64) with i + 64 <= n; writes dst[o..o+48),
		 * o + 48 <= 3 * (i + 64) / 4 <= n / 4 * 3 by the invariant. */
		while (n - i >= 64) {
			uint8x16x4_t s = vld4q_u8(src + i);
			uint8x16x3_t d;
			uint8x16_t any;

			s.val[0] = classify(s.val[0], lo, hi);
			s.val[1] = classify(s.val[1], lo, hi);
			s.val[2] = classify(s.val[2], lo, hi);
			s.val[3] = classify(s.val[3], lo, hi);
			/* 00aaaaaa 00bbbbbb 00cccccc 00dddddd -> aaaaaabb bbbbcccc ccdddddd */
			d.val[0] = vsliq_n_u8(vshrq_n_u8(s.val[1], 4), s.val[0], 2);
			d.val[1] = vsliq_n_u8(vshrq_n_u8(s.val[2], 2), s.val[1], 4);
			d.val[2] = vsliq_n_u8(s.val[3], s.val[2], 6);
			vst3q_u8(dst + o, d);

			/* Any class above 63 sets bit 6 or 7 of the OR. */
			any = vorrq_u8(vorrq_u8(s.val[0], s.val[1]), vorrq_u8(s.val[2], s.val[3]));
			if (vmaxvq_u8(any) <= 63) {
				i += 64;
				o += 48;
				continue;
			}

			/* Lane j of any is quantum j; shifting pairs of 0x00/0xff
			 * lanes right by 4 and narrowing leaves 4 bits per quantum. */
			uint8x8_t nib = vshrn_n_u16(vreinterpretq_u16_u8(vcgtq_u8(any, m63)), 4);
			uint64_t bad = vget_lane_u64(vreinterpret_u64_u8(nib), 0);
			size_t q = (size_t)__builtin_ctzll(bad) / 4; /* bad != 0 here */

			/* The first q quanta were decoded and stored above. */
			i += 4 * q;
			o += 3 * q;
			break;
		}

		/* One quantum at the boundary i, skipping whitespace.
		 * Bound: reads src[j] with j < n; writes dst[o..o+3) after 4 more
		 * characters, inside dst[0..n/4*3) by the invariant. */
		uint32_t acc = 0;
		unsigned k = 0;
		size_t j = i;

		for (; j < n && k < 4; j++) {
			unsigned v = byte_class(cls, src[j]);

			if (v < 64) {
				acc = acc << 6 | v;
				k++;
			} else if (v != CLS_WS) {
				break;
			}
		}
		if (k == 0)
			i = j; /* only whitespace: consumed, still on a boundary */
		if (k < 4)
			break; /* the end, a bad byte or a split quantum: b64.c's */
		dst[o] = (uint8_t)(acc >> 16);
		dst[o + 1] = (uint8_t)(acc >> 8);
		dst[o + 2] = (uint8_t)acc;
		o += 3;
		i = j;
	}
	*written = o;
	return i;
}

const struct mc_b64_kernels mc__b64_neon = {
    .isa = MC_ISA_NEON,
    .name = "neon",
    .enc = enc_neon,
    .enc_wrap = enc_wrap_neon,
    .dec = dec_neon,
};
