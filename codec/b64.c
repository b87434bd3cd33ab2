/* b64.c: base64 (RFC 4648 sections 4-5, RFC 2045 section 6.8): sizes, the
 * streaming state machines, the scalar kernel and kernel dispatch.
 *
 * Design note (referenced as "b64 design" elsewhere):
 * - The byte-at-a-time state machines below (enc_group, dec_step) are the
 *   specification. Kernels only take the easy bulk: whole 3-byte groups, and
 *   runs of alphabet characters and whitespace that start and end on a
 *   quantum boundary. Partial groups, padding, bad bytes and error offsets
 *   never reach a kernel, so every kernel shares one definition of them.
 * - Line breaks are written lazily: a break is emitted before a character
 *   when the current line is full, so an update never ends with a break and
 *   splitting the input anywhere gives identical output.
 * - The scalar kernel uses constant tables built by the preprocessor: 12 bits
 *   to 2 characters for encoding, and one 32-bit table per position in the
 *   quantum for decoding, whose high byte flags a byte outside the alphabet. */
#include <string.h>

#include "b64_internal.h"

const char mc__b64_alphabet[2][65] = {
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
};

/* ---- constant tables ------------------------------------------------------ */

#define ALPH(i, u)                       \
	((i) < 26    ? 'A' + (i)         \
	 : (i) < 52  ? 'a' + (i)-26      \
	 : (i) < 62  ? '0' + (i)-52      \
	 : (i) == 62 ? ((u) ? '-' : '+') \
	             : ((u) ? '_' : '/'))
/* Two characters for a 12-bit value, in memory order on a little-endian load. */
#define E12(i, u)   (uint16_t)(ALPH((i) >> 6, u) | (ALPH((i)&63, u) << 8))
#define T1(i, u)    E12(i, u),
#define T4(i, u)    T1(i, u) T1(i + 1, u) T1(i + 2, u) T1(i + 3, u)
#define T16(i, u)   T4(i, u) T4(i + 4, u) T4(i + 8, u) T4(i + 12, u)
#define T64(i, u)   T16(i, u) T16(i + 16, u) T16(i + 32, u) T16(i + 48, u)
#define T256(i, u)  T64(i, u) T64(i + 64, u) T64(i + 128, u) T64(i + 192, u)
#define T1024(i, u) T256(i, u) T256(i + 256, u) T256(i + 512, u) T256(i + 768, u)
#define T4096(u)    T1024(0, u) T1024(1024, u) T1024(2048, u) T1024(3072, u)

static const uint16_t enc12[2][4096] = {{T4096(0)}, {T4096(1)}};

/* Sextet value of byte c, or 0xff outside the alphabet. */
#define DV(c, u)                                     \
	((c) >= 'A' && (c) <= 'Z'   ? (c) - 'A'      \
	 : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26 \
	 : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52 \
	 : (c) == ((u) ? '-' : '+') ? 62             \
	 : (c) == ((u) ? '_' : '/') ? 63             \
	                            : 0xff)
/* Position p (0..3) of a quantum: the sextet shifted into a 24-bit value;
 * bad bytes set bit 31 so one test after OR-ing four lookups finds them. */
#define DP(c, u, p)  (DV(c, u) == 0xff ? 0x80000000u : (uint32_t)DV(c, u) << (18 - 6 * (p)))
#define D1(c, u, p)  DP(c, u, p),
#define D4(c, u, p)  D1(c, u, p) D1(c + 1, u, p) D1(c + 2, u, p) D1(c + 3, u, p)
#define D16(c, u, p) D4(c, u, p) D4(c + 4, u, p) D4(c + 8, u, p) D4(c + 12, u, p)
#define D64(c, u, p) D16(c, u, p) D16(c + 16, u, p) D16(c + 32, u, p) D16(c + 48, u, p)
#define D256(u, p)                                                       \
	{                                                                \
		D64(0, u, p) D64(64, u, p) D64(128, u, p) D64(192, u, p) \
	}

static const uint32_t dec32[2][4][256] = {
    {D256(0, 0), D256(0, 1), D256(0, 2), D256(0, 3)},
    {D256(1, 0), D256(1, 1), D256(1, 2), D256(1, 3)},
};

/* Sextet value, or: 0x80 whitespace (CR LF SP TAB), 0x81 '=', 0xff other. */
static inline unsigned dec_class(unsigned char c, int url)
{
	uint32_t v = dec32[url][3][c];

	if (!(v & 0x80000000u))
		return v;
	if (c == '\r' || c == '\n' || c == ' ' || c == '\t')
		return 0x80;
	return c == '=' ? 0x81 : 0xff;
}

/* ---- scalar kernel ----------------------------------------------------------- */

static inline uint32_t load_be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* A byte-order-free 8-byte big-endian load: compilers make it one load and
 * a byte swap. */
static inline uint64_t load_be64(const uint8_t *p)
{
	return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
	       (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
	       (uint64_t)p[6] << 8 | p[7];
}

static inline void store_be64(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v); /* gcc 12 does not merge the byte stores below */
	memcpy(p, &v, 8);
#else
	for (int k = 0; k < 8; k++)
		p[k] = (uint8_t)(v >> (56 - 8 * k));
#endif
}

size_t mc__b64_enc_scalar(const uint8_t *src, size_t n, char *dst, int url)
{
	const uint16_t *t = enc12[url & 1]; /* url & MC__B64_NT: nothing to do here */
	size_t i = 0;

	/* Two groups per 8-byte load (its last 2 bytes unused), two loads per
	 * pass: a fifth of the loads of the group-at-a-time loop below. */
	for (; i + 14 <= n; i += 12, dst += 16) {
		uint64_t x = load_be64(src + i), y = load_be64(src + i + 6);
		uint16_t q[8] = {t[x >> 52],         t[x >> 40 & 0xfff], t[x >> 28 & 0xfff],
		                 t[x >> 16 & 0xfff], t[y >> 52],         t[y >> 40 & 0xfff],
		                 t[y >> 28 & 0xfff], t[y >> 16 & 0xfff]};

		memcpy(dst, q, sizeof q); /* enc12 holds each pair in memory order */
	}
	for (; i + 3 <= n; i += 3, dst += 4) {
		uint32_t v = load_be24(src + i);
		uint16_t a = t[v >> 12], b = t[v & 0xfff];

		memcpy(dst, &a, 2);
		memcpy(dst + 2, &b, 2);
	}
	return i;
}

size_t mc__b64_dec_scalar(const char *src, size_t n, uint8_t *dst, size_t *written, int url)
{
	const uint32_t(*t)[256] = dec32[url];
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0;

	while (i + 4 <= n) {
		/* Two quanta per pass while both are clean, stored as one. */
		if (i + 8 <= n) {
			uint32_t a = t[0][s[i]] | t[1][s[i + 1]] | t[2][s[i + 2]] | t[3][s[i + 3]];
			uint32_t b =
			    t[0][s[i + 4]] | t[1][s[i + 5]] | t[2][s[i + 6]] | t[3][s[i + 7]];

			if (!((a | b) & 0x80000000u)) {
				uint64_t w = ((uint64_t)a << 24 | b) << 16;

				/* 8 bytes, the last 2 scratch: at least one more
				 * quantum of input follows, so dst has room for them
				 * (the bound is 3 per 4 input bytes), and they are
				 * behind the unread input when decoding in place. */
				if (i + 12 <= n) {
					store_be64(dst + o, w);
				} else {
					uint8_t q[8];

					store_be64(q, w);
					memcpy(dst + o, q, 6);
				}
				i += 8;
				o += 6;
				continue;
			}
		}
		uint32_t v = t[0][s[i]] | t[1][s[i + 1]] | t[2][s[i + 2]] | t[3][s[i + 3]];

		if (v & 0x80000000u) {
			unsigned char c = s[i];

			/* Line breaks between quanta are the MIME common case. */
			if (c == '\r' || c == '\n' || c == ' ' || c == '\t') {
				i++;
				continue;
			}
			break; /* padding, a bad byte or a split quantum: the state machine's */
		}
		dst[o] = (uint8_t)(v >> 16);
		dst[o + 1] = (uint8_t)(v >> 8);
		dst[o + 2] = (uint8_t)v;
		i += 4;
		o += 3;
	}
	*written = o;
	return i;
}

const struct mc_b64_kernels mc__b64_scalar = {
    .isa = MC_ISA_SCALAR,
    .name = "scalar",
    .enc = mc__b64_enc_scalar,
    .enc_wrap = NULL,
    .dec = mc__b64_dec_scalar,
};

const struct mc_b64_kernels *mc__b64_kernels_for(int isa)
{
	if (isa == MC_ISA_AUTO)
		isa = mc_isa_active();
	if (!mc_isa_supported(isa))
		return NULL;
	switch (isa) {
#if MC_HAVE_AVX2
	case MC_ISA_AVX2:
		return &mc__b64_avx2;
#endif
#if MC_HAVE_AVX512
	case MC_ISA_AVX512:
		return &mc__b64_avx512;
#endif
#if MC_HAVE_NEON
	case MC_ISA_NEON:
		return &mc__b64_neon;
#endif
	default:
		return &mc__b64_scalar;
	}
}

/* ---- sizes --------------------------------------------------------------- */

size_t mc_b64_encoded_size(size_t n, unsigned wrap, unsigned flags)
{
	size_t groups = n / 3 + (n % 3 != 0), chars;

	if (groups > SIZE_MAX / 4)
		return SIZE_MAX;
	chars = groups * 4;
	if ((flags & MC_B64_NOPAD) && n % 3)
		chars -= 3 - n % 3;
	if (wrap && chars) {
		size_t lines = chars / wrap + (chars % wrap != 0);
		size_t eol = (flags & MC_B64_CRLF) ? 2 : 1;

		if (lines > (SIZE_MAX - chars) / eol)
			return SIZE_MAX;
		chars += lines * eol;
	}
	return chars;
}

size_t mc_b64_encode_bound(size_t n, unsigned wrap, unsigned flags)
{
	size_t chars, eol = (flags & MC_B64_CRLF) ? 2 : 1;

	if (n > SIZE_MAX / 2)
		return SIZE_MAX;
	/* Up to 2 carried bytes join n; one more group for final. */
	chars = ((n + 2) / 3 + 1) * 4;
	if (wrap)
		chars += (chars / wrap + 2) * eol;
	return chars;
}

size_t mc_b64_decode_bound(size_t n)
{
	/* Up to 3 sextets carried in + n sextets, or a '=' flushing 2 or 3:
	 * either way at most 3 bytes more than n / 4 whole quanta give. */
	return n ? n / 4 * 3 + 3 : 0;
}

/* ---- streaming encode ------------------------------------------------------- */

static void enc_init(struct mc_b64_encoder *st, const struct mc_b64_kernels *k, unsigned wrap,
                     unsigned flags)
{
	memset(st, 0, sizeof *st);
	st->k = k;
	st->wrap = wrap;
	st->flags = flags;
}

void mc_b64_encoder_init(struct mc_b64_encoder *st, unsigned wrap, unsigned flags)
{
	enc_init(st, mc__b64_kernels_for(MC_ISA_AUTO), wrap, flags);
}

mc_status mc_b64_encoder_init_isa(struct mc_b64_encoder *st, unsigned wrap, unsigned flags, int isa)
{
	const struct mc_b64_kernels *k = mc__b64_kernels_for(isa);

	if (!k) {
		memset(st, 0, sizeof *st);
		return MC_EUNSUPPORTED;
	}
	enc_init(st, k, wrap, flags);
	return MC_OK;
}

/* Writes nc characters from chars[] with lazy line breaks; returns bytes written. */
static size_t put_wrapped(struct mc_b64_encoder *st, const char *chars, size_t nc, char *dst)
{
	size_t o = 0;

	if (!st->wrap) {
		memcpy(dst, chars, nc);
		return nc;
	}
	while (nc) {
		size_t take;

		if (st->col == st->wrap) {
			if (st->flags & MC_B64_CRLF)
				dst[o++] = '\r';
			dst[o++] = '\n';
			st->col = 0;
		}
		take = st->wrap - st->col;
		if (take > nc)
			take = nc;
		memcpy(dst + o, chars, take);
		o += take;
		chars += take;
		nc -= take;
		st->col += (unsigned)take;
	}
	return o;
}

/* Generic wrapped bulk encode: the kernel encodes into a stack buffer, which is
 * copied out line by line. Kernels with an enc_wrap of their own skip this. */
static size_t enc_bulk_wrapped(struct mc_b64_encoder *st, const uint8_t *src, size_t n, char *dst)
{
	char buf[1024];
	const size_t chunk = sizeof buf / 4 * 3;
	int url = (st->flags & MC_B64_URL) != 0;
	size_t o = 0;

	while (n >= 3) {
		size_t take = n < chunk ? n - n % 3 : chunk;
		size_t done = st->k->enc(src, take, buf, url);

		done += mc__b64_enc_scalar(src + done, take - done, buf + done / 3 * 4, url);
		o += put_wrapped(st, buf, take / 3 * 4, dst + o);
		src += take;
		n -= take;
	}
	return o;
}

static size_t enc_bulk(struct mc_b64_encoder *st, const uint8_t *src, size_t n, char *dst)
{
	int url = (st->flags & MC_B64_URL) != 0;
	int opt = url | ((st->flags & MC_B64_NOCACHE) ? MC__B64_NT : 0);
	size_t done, o;

	if (st->wrap) {
		if (!st->k->enc_wrap)
			return enc_bulk_wrapped(st, src, n, dst);
		done = st->k->enc_wrap(src, n, dst, &o, st->wrap, &st->col,
		                       (st->flags & MC_B64_CRLF) != 0, opt);
		if (n - done >= 3)
			o += enc_bulk_wrapped(st, src + done, n - done, dst + o);
		return o;
	}
	done = st->k->enc(src, n, dst, opt);
	done += mc__b64_enc_scalar(src + done, n - done, dst + done / 3 * 4, url);
	return done / 3 * 4;
}

size_t mc_b64_encode_update(struct mc_b64_encoder *st, const void *src_, size_t n, char *dst)
{
	const uint8_t *src = src_;
	size_t o = 0, whole;

	if (st->ncarry) {
		uint8_t g[3];
		char c[4];
		unsigned k = st->ncarry;

		memcpy(g, st->carry, k);
		while (k < 3 && n) {
			g[k++] = *src++;
			n--;
		}
		if (k < 3) {
			memcpy(st->carry, g, k);
			st->ncarry = k;
			return 0;
		}
		mc__b64_enc_scalar(g, 3, c, (st->flags & MC_B64_URL) != 0);
		o = put_wrapped(st, c, 4, dst);
		st->ncarry = 0;
	}
	whole = n - n % 3;
	o += enc_bulk(st, src, whole, dst + o);
	for (size_t i = whole; i < n; i++)
		st->carry[st->ncarry++] = src[i];
	return o;
}

size_t mc_b64_encode_final(struct mc_b64_encoder *st, char *dst)
{
	size_t o = 0;

	if (st->ncarry) {
		uint8_t g[3] = {st->carry[0], st->ncarry > 1 ? st->carry[1] : 0, 0};
		char c[4];
		size_t nc = st->ncarry + 1;

		mc__b64_enc_scalar(g, 3, c, (st->flags & MC_B64_URL) != 0);
		if (!(st->flags & MC_B64_NOPAD)) {
			for (size_t i = nc; i < 4; i++)
				c[i] = '=';
			nc = 4;
		}
		o = put_wrapped(st, c, nc, dst);
	}
	if (st->wrap && st->col) {
		if (st->flags & MC_B64_CRLF)
			dst[o++] = '\r';
		dst[o++] = '\n';
	}
	st->ncarry = 0;
	st->col = 0;
	return o;
}

size_t mc_b64_encode(const void *src, size_t n, char *dst, unsigned wrap, unsigned flags)
{
	struct mc_b64_encoder st;
	size_t o;

	mc_b64_encoder_init(&st, wrap, flags);
	o = mc_b64_encode_update(&st, src, n, dst);
	return o + mc_b64_encode_final(&st, dst + o);
}

/* ---- streaming decode ------------------------------------------------------- */

static void dec_init(struct mc_b64_decoder *st, const struct mc_b64_kernels *k, int mode,
                     unsigned flags)
{
	memset(st, 0, sizeof *st);
	st->k = k;
	st->mode = (unsigned char)mode;
	st->flags = flags;
}

void mc_b64_decoder_init(struct mc_b64_decoder *st, int mode, unsigned flags)
{
	dec_init(st, mc__b64_kernels_for(MC_ISA_AUTO), mode, flags);
}

mc_status mc_b64_decoder_init_isa(struct mc_b64_decoder *st, int mode, unsigned flags, int isa)
{
	const struct mc_b64_kernels *k = mc__b64_kernels_for(isa);

	if (!k || mode < MC_B64_MIME || mode > MC_B64_FORGIVING) {
		memset(st, 0, sizeof *st);
		st->status = k ? MC_EINVAL : MC_EUNSUPPORTED;
		return (mc_status)st->status;
	}
	dec_init(st, k, mode, flags);
	return MC_OK;
}

uint64_t mc_b64_decoder_error_offset(const struct mc_b64_decoder *st)
{
	return st->status ? st->err_offset : 0;
}

static mc_status dec_fail(struct mc_b64_decoder *st, mc_status s, uint64_t off)
{
	st->status = (short)s;
	st->err_offset = off;
	return s;
}

/* Writes the bytes of an open quantum of st->nacc (2 or 3) sextets. */
static size_t dec_flush(struct mc_b64_decoder *st, uint8_t *d)
{
	uint32_t v = st->acc << (6 * (4 - st->nacc));
	size_t o = st->nacc - 1;

	d[0] = (uint8_t)(v >> 16);
	if (o > 1)
		d[1] = (uint8_t)(v >> 8);
	st->acc = 0;
	st->nacc = 0;
	return o;
}

/* Trailing bits of an open quantum: the bits below the last whole byte. */
static int dec_trailing_bits(const struct mc_b64_decoder *st)
{
	return st->nacc == 2 ? (st->acc & 0xf) != 0 : st->nacc == 3 ? (st->acc & 0x3) != 0 : 0;
}

/* One input byte at offset off, per the mode rules in base64.h. */
static mc_status dec_step(struct mc_b64_decoder *st, unsigned char c, uint64_t off, uint8_t **d)
{
	unsigned v = dec_class(c, (st->flags & MC_B64_URL) != 0);

	if (v < 64) {
		if (st->mode == MC_B64_STRICT && (st->done || st->npad))
			return dec_fail(st, MC_EBADPAD, off); /* data after or inside padding */
		st->npad = 0;
		st->acc = st->acc << 6 | v;
		st->last_data = off;
		if (++st->nacc == 4) {
			uint8_t *o = *d;

			o[0] = (uint8_t)(st->acc >> 16);
			o[1] = (uint8_t)(st->acc >> 8);
			o[2] = (uint8_t)st->acc;
			*d = o + 3;
			st->acc = 0;
			st->nacc = 0;
		}
		return MC_OK;
	}
	if (v == 0x80)
		return MC_OK; /* whitespace */
	if (v == 0xff) {
		if (st->mode == MC_B64_FORGIVING)
			return MC_OK;
		return dec_fail(st, MC_EBADCHAR, off);
	}
	/* '=' */
	if (st->mode == MC_B64_STRICT) {
		if ((st->flags & MC_B64_NOPAD) || st->done)
			return dec_fail(st, MC_EBADPAD, off);
		if (st->npad) { /* inside a padding run: the quantum needs 2 */
			st->npad = 0;
			st->done = 1;
			return MC_OK;
		}
		if (st->nacc < 2)
			return dec_fail(st, MC_EBADPAD, off);
		if (dec_trailing_bits(st))
			return dec_fail(st, MC_ETRAILBITS, st->last_data);
		if (st->nacc == 2)
			st->npad = 1; /* one more '=' expected */
		else
			st->done = 1;
		*d += dec_flush(st, *d);
		return MC_OK;
	}
	if (st->nacc >= 2) {
		*d += dec_flush(st, *d);
	} else if (st->nacc == 1) {
		if (st->mode == MC_B64_MIME)
			return dec_fail(st, MC_EBADPAD, off);
		st->acc = 0; /* forgiving: 6 bits are not a byte */
		st->nacc = 0;
	}
	st->npad++;
	return MC_OK;
}

mc_status mc_b64_decode_update(struct mc_b64_decoder *st, const char *src, size_t n, void *dst,
                               size_t *written)
{
	const char *p = src, *end = src + n;
	uint8_t *d = dst;
	int url = (st->flags & MC_B64_URL) != 0;
	mc_status s = MC_OK;

	*written = 0;
	if (st->status)
		return (mc_status)st->status;
	while (p < end) {
		size_t w, used = 0;

		if (st->nacc == 0 && st->npad == 0 && !st->done) {
			/* A kernel may write up to ((len + 3) / 4) * 3 bytes (some of
			 * them scratch); give it no more input than the room left
			 * in the caller's mc_b64_decode_bound(n) buffer covers. */
			size_t room = mc_b64_decode_bound(n) - (size_t)(d - (uint8_t *)dst);
			size_t len = (size_t)(end - p);

			if (len > room / 3 * 4)
				len = room / 3 * 4;
			used = st->k->dec(p, len, d, &w, url);
			p += used;
			d += w;
			len -= used;
			if (len >= 4 && st->k != &mc__b64_scalar) {
				/* A SIMD kernel leaves a short tail: the scalar kernel
				 * takes its whole quanta faster than the state machine. */
				size_t more = mc__b64_dec_scalar(p, len, d, &w, url);

				p += more;
				d += w;
				used += more;
			}
			if (p == end)
				break;
		}
		/* The state machine takes over until the next quantum boundary;
		 * after a kernel that made no progress, for a few bytes more so a
		 * run of whitespace or garbage is not re-scanned byte by byte. */
		const char *stop = end - p > 64 ? p + (used ? 1 : 64) : end;
		do {
			s = dec_step(st, (unsigned char)*p, st->offset + (uint64_t)(p - src), &d);
			p++;
			if (s)
				goto out;
		} while (p < end && (p < stop || st->nacc || st->npad || st->done));
	}
out:
	st->offset += (uint64_t)(p - src);
	*written = (size_t)(d - (uint8_t *)dst);
	return s;
}

mc_status mc_b64_decode_final(struct mc_b64_decoder *st, void *dst, size_t *written)
{
	uint8_t *d = dst;
	mc_status s = MC_OK;

	*written = 0;
	if (st->status)
		return (mc_status)st->status;
	if (st->mode == MC_B64_STRICT) {
		if (st->npad)
			return dec_fail(st, MC_EBADPAD,
			                st->offset); /* "xx=" without its second '=' */
		if (st->nacc == 1)
			return dec_fail(st, MC_ETRUNC, st->offset);
		if (st->nacc >= 2) {
			if (dec_trailing_bits(st))
				return dec_fail(st, MC_ETRAILBITS, st->last_data);
			if (!(st->flags & MC_B64_NOPAD))
				s = dec_fail(st, MC_EBADPAD, st->offset); /* bytes kept */
			d += dec_flush(st, d);
		}
	} else if (st->nacc == 1) {
		st->acc = 0;
		st->nacc = 0;
		if (st->mode == MC_B64_MIME)
			s = dec_fail(st, MC_ETRUNC, st->offset);
	} else if (st->nacc >= 2) {
		d += dec_flush(st, d);
	}
	*written = (size_t)(d - (uint8_t *)dst);
	return s;
}

mc_status mc_b64_decode(const char *src, size_t n, void *dst, size_t *written, int mode,
                        unsigned flags, size_t *err_offset)
{
	struct mc_b64_decoder st;
	size_t w1 = 0, w2 = 0;
	mc_status s;

	if (err_offset)
		*err_offset = 0;
	*written = 0;
	if (mode < MC_B64_MIME || mode > MC_B64_FORGIVING)
		return MC_EINVAL;
	mc_b64_decoder_init(&st, mode, flags);
	s = mc_b64_decode_update(&st, src, n, dst, &w1);
	if (s == MC_OK)
		s = mc_b64_decode_final(&st, (uint8_t *)dst + w1, &w2);
	*written = w1 + w2;
	if (s && err_offset)
		*err_offset = (size_t)st.err_offset;
	return s;
}
