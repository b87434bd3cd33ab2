/* qp.c: quoted-printable (RFC 2045 section 6.7): sizes, the streaming state
 * machines, the scalar bulk kernels and kernel dispatch.
 *
 * Design note (referenced as "qp design" elsewhere):
 * - The byte-at-a-time state machines below (enc_step, dec_step) are the
 *   specification. A byte whose encoding depends on what follows is held in
 *   the state: on encode a space/tab (escaped if a line break or the end
 *   follows), a text-mode CR (hard break if LF follows, else =0D) and, with
 *   MC_QP_FROM, "F", "Fr", ... at a line start; on decode a '=' and what
 *   follows it until it is an escape or a soft break, white space until it is
 *   known not to end a line, and a CR until it is known to start CRLF.
 * - Kernels take the bulk only in the clean state (nothing held) and stop
 *   in it; they decide with lookahead inside their input what the state
 *   machine decides by holding. See qp_internal.h.
 * - Line length: an encoded unit (1 or 3 characters) goes on the current line
 *   only if the line stays within 75 characters, else a soft break comes
 *   first, so every output line is at most 76 characters with its '='. The
 *   rule looks only backwards, which keeps any chunking byte-identical. */
#include <string.h>

#include "qp_internal.h"

const char mc__qp_hex[16] = "0123456789ABCDEF";

/* 1: written as =XX wherever it is: '=', bytes above 126 and control bytes
 * other than tab (CR and LF too; text mode handles them before looking). */
#define ESC(c) ((c) == '=' || (c) > 126 || ((c) < 32 && (c) != '\t'))
#define E1(c)  ESC(c),
#define E4(c)  E1(c) E1(c + 1) E1(c + 2) E1(c + 3)
#define E16(c) E4(c) E4(c + 4) E4(c + 8) E4(c + 12)
#define E64(c) E16(c) E16(c + 16) E16(c + 32) E16(c + 48)
const uint8_t mc__qp_enc_escape[256] = {E64(0) E64(64) E64(128) E64(192)};

/* Each byte as a unit of the encoder where it is not special: "=XX" or the
 * byte itself (padded to 4 for one copy). */
#define HD(x)  ((x) < 10 ? '0' + (x) : 'A' + (x)-10)
#define U1(c)  {ESC(c) ? '=' : (c), HD((c) >> 4), HD((c)&15), 0},
#define U4(c)  U1(c) U1(c + 1) U1(c + 2) U1(c + 3)
#define U16(c) U4(c) U4(c + 4) U4(c + 8) U4(c + 12)
#define U64(c) U16(c) U16(c + 16) U16(c + 32) U16(c + 48)
static const char enc_unit4[256][4] = {U64(0) U64(64) U64(128) U64(192)};

/* Hex digit value (either case), or 0xff. */
#define HV(c)                                        \
	((c) >= '0' && (c) <= '9'   ? (c) - '0'      \
	 : (c) >= 'A' && (c) <= 'F' ? (c) - 'A' + 10 \
	 : (c) >= 'a' && (c) <= 'f' ? (c) - 'a' + 10 \
	                            : 0xff)
#define H1(c)  HV(c),
#define H4(c)  H1(c) H1(c + 1) H1(c + 2) H1(c + 3)
#define H16(c) H4(c) H4(c + 4) H4(c + 8) H4(c + 12)
#define H64(c) H16(c) H16(c + 16) H16(c + 32) H16(c + 48)
static const uint8_t hexval[256] = {H64(0) H64(64) H64(128) H64(192)};

/* Decoder classes: plain data, '=', space/tab, CR, LF, and bytes that are
 * plain when lenient but errors when strict. */
enum { D_PLAIN, D_EQ, D_WS, D_CR, D_LF, D_BAD };
#define DC(c)                                \
	((c) == '='                  ? D_EQ  \
	 : (c) == ' ' || (c) == '\t' ? D_WS  \
	 : (c) == '\r'               ? D_CR  \
	 : (c) == '\n'               ? D_LF  \
	 : (c) > 126 || (c) < 32     ? D_BAD \
	                             : D_PLAIN)
#define C1(c)  DC(c),
#define C4(c)  C1(c) C1(c + 1) C1(c + 2) C1(c + 3)
#define C16(c) C4(c) C4(c + 4) C4(c + 8) C4(c + 12)
#define C64(c) C16(c) C16(c + 16) C16(c + 32) C16(c + 48)
static const uint8_t dclass[256] = {C64(0) C64(64) C64(128) C64(192)};

static inline int is_ws(unsigned c)
{
	return c == ' ' || c == '\t';
}

static inline char *put_eol(char *d, unsigned flags)
{
	if (flags & MC_QP_CRLF)
		*d++ = '\r';
	*d++ = '\n';
	return d;
}

static inline char *put_soft(char *d, unsigned flags)
{
	*d++ = '=';
	return put_eol(d, flags);
}

static inline char *put_hex(char *d, unsigned c)
{
	d[0] = '=';
	d[1] = mc__qp_hex[c >> 4];
	d[2] = mc__qp_hex[c & 15];
	return d + 3;
}

/* ---- scalar kernels ---------------------------------------------------------- */

/* SWAR: eight bytes per 64-bit word, little-endian only (the first byte is
 * the low one, so the first hit is the lowest set bit). Each test leaves the
 * high bit of every byte where it holds, exactly (no borrows between bytes). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define QP_SWAR 1
#define SW_L    0x0101010101010101ull
#define SW_H    0x8080808080808080ull

static inline uint64_t sw_load(const void *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

static inline void sw_store(void *p, uint64_t w)
{
	memcpy(p, &w, 8);
}

static inline uint64_t sw_zero(uint64_t x) /* bytes == 0 */
{
	return ~(((x & ~SW_H) + ~SW_H) | x) & SW_H;
}

static inline uint64_t sw_eq(uint64_t w, unsigned c)
{
	return sw_zero(w ^ (SW_L * c));
}

static inline uint64_t sw_ge33(uint64_t w) /* bytes >= 33 (unsigned) */
{
	return (((w & ~SW_H) + SW_L * (128 - 33)) | w) & SW_H;
}

static inline uint64_t sw_33_126(uint64_t w) /* bytes in 33..126 */
{
	uint64_t lo = w & ~SW_H;
	return ((lo + SW_L * (128 - 33)) & ~(lo + SW_L) & ~w) & SW_H;
}

/* Encoder: bytes written literally where they are (not at a line start):
 * 33..126 but '=', and a space or tab that does not end a line. w1 is the
 * word one byte on. */
static inline uint64_t sw_enc_lit(uint64_t w, uint64_t w1, int text)
{
	uint64_t ws = sw_eq(w, ' ') | sw_eq(w, '\t');

	if (text)
		ws &= ~(sw_eq(w1, '\n') | sw_eq(w1, '\r'));
	return (sw_33_126(w) & ~sw_eq(w, '=')) | ws;
}
#else
#define QP_SWAR 0
#endif

size_t mc__qp_enc_scalar(const uint8_t *src, size_t n, char *dst, size_t *written, unsigned *colp,
                         unsigned flags)
{
	const int text = !(flags & MC_QP_BINARY);
	const int dot = (flags & MC_QP_DOT) != 0, from = (flags & MC_QP_FROM) != 0;
	unsigned col = *colp;
	char *d = dst;
	size_t i = 0;

	while (i < n) {
		unsigned c = src[i];
		int esc;

		if (mc__qp_enc_escape[c] && !(text && (c == '\n' || c == '\r'))) {
			/* An escape, and what follows it up to a byte that needs a
			 * look around (text-mode white space and line breaks, a
			 * '.' or 'F' at a line start, the last byte): one table
			 * copy per byte, no branch on the byte's kind, as binary
			 * data mixes both at random. Bounds: the 4-byte copy
			 * writes one byte past a unit's 3, inside the room of the
			 * next input byte (i + 1 < n). */
			for (;;) {
				unsigned len = mc__qp_enc_escape[c] ? 3 : 1;

				if (col + len > MC_QP_COL_MAX) {
					d = put_soft(d, flags);
					col = 0;
					if (len == 1 && ((c == '.' && dot) || (c == 'F' && from)))
						break;
				}
				memcpy(d, enc_unit4[c], 4);
				d += len;
				col += len;
				if (++i + 2 > n)
					break;
				c = src[i];
				if (text && (is_ws(c) || c == '\n' || c == '\r'))
					break;
			}
			continue;
		}
		if (!mc__qp_enc_escape[c] && !is_ws(c)) {
			/* Literal. A line start is col 0, or a full line (a soft
			 * break comes first): '.' and 'F' there need a look. */
			if ((col == 0 || col >= MC_QP_COL_MAX) &&
			    ((c == '.' && dot) || (c == 'F' && from))) {
				if (c == 'F') {
					if (n - i < 5)
						break; /* the state machine holds it */
					if (col)
						d = put_soft(d, flags);
					if (memcmp(src + i, "From ", 5) == 0) {
						memcpy(d, "=46rom", 6);
						d += 6;
						col = 6;
						i += 4; /* the space is next, as white space */
						continue;
					}
					*d++ = 'F';
					col = 1;
					i++;
					continue;
				}
				if (col)
					d = put_soft(d, flags);
				d = put_hex(d, '.');
				col = 3;
				i++;
				continue;
			}
			if (col >= MC_QP_COL_MAX) {
				d = put_soft(d, flags);
				col = 0;
			}
			/* A run of literals up to the end of the line; the first was
			 * checked above, the rest are not at a line start. */
			size_t lim = i + (MC_QP_COL_MAX - col), j = i + 1;
			if (lim > n)
				lim = n;
			*d++ = (char)c;
#if QP_SWAR
			/* Bounds: reads src[j, j + 9) while j + 9 <= n; writes 8
			 * bytes at d for the 8 input bytes at j (room: 3 each).
			 * Short runs (binary data) skip it. */
			while (j + 8 <= lim && j + 9 <= n && !mc__qp_enc_escape[src[j]]) {
				uint64_t w = sw_load(src + j);
				uint64_t bad = ~sw_enc_lit(w, sw_load(src + j + 1), text) & SW_H;

				sw_store(d, w);
				if (bad) {
					unsigned k = (unsigned)__builtin_ctzll(bad) >> 3;
					d += k;
					j += k;
					goto run_done;
				}
				d += 8;
				j += 8;
			}
#endif
			while (j < lim && !mc__qp_enc_escape[src[j]] && !is_ws(src[j]))
				*d++ = (char)src[j++];
#if QP_SWAR
		run_done:
#endif
			col += (unsigned)(j - i);
			i = j;
			continue;
		}
		if (is_ws(c)) {
			/* Escaped when it ends a line: text-mode LF or CRLF next. */
			if (n - i < 2)
				break;
			esc = 0;
			if (text && src[i + 1] == '\n') {
				esc = 1;
			} else if (text && src[i + 1] == '\r') {
				if (n - i < 3)
					break;
				esc = src[i + 2] == '\n';
			}
		} else if (text && c == '\n') {
			d = put_eol(d, flags);
			col = 0;
			i++;
			continue;
		} else if (text && c == '\r') {
			if (n - i < 2)
				break;
			if (src[i + 1] == '\n') {
				d = put_eol(d, flags);
				col = 0;
				i += 2;
				continue;
			}
			esc = 1; /* a lone CR */
		} else {
			esc = 1;
		}
		if (col + (esc ? 3 : 1) > MC_QP_COL_MAX) {
			d = put_soft(d, flags);
			col = 0;
		}
		if (esc) {
			d = put_hex(d, c);
			col += 3;
		} else {
			*d++ = (char)c;
			col++;
		}
		i++;
	}
	*colp = col;
	*written = (size_t)(d - dst);
	return i;
}

size_t mc__qp_dec_scalar(const char *src, size_t n, uint8_t *dst, size_t *written, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)src;
	const unsigned bad = (flags & MC_QP_STRICT) ? D_BAD : 0xff; /* lenient: D_BAD is plain */
	uint8_t *d = dst;
	size_t i = 0;

	while (i < n) {
		unsigned k = dclass[s[i]];

		if (k == D_PLAIN || (k == D_BAD && bad == 0xff)) {
			size_t j = i + 1;

#if QP_SWAR
			/* Words of bytes that are copied as they are: data (above
			 * 32 but '='; strict: up to 126), a space or tab before a
			 * byte above 32, CR before LF (not as the last byte, so a
			 * CRLF is never split) and LF (with MC_QP_CRLF: only after
			 * a CR). Bounds: reads s[j, j + 9) while j + 9 <= n; writes
			 * 8 bytes at d for 8 input bytes at j (room: 1 each, and
			 * d - dst <= j). */
			*d++ = s[i];
			if (j + 9 <= n && dclass[s[j]] == D_PLAIN) {
				const int crlf = (flags & MC_QP_CRLF) != 0, strict = bad == D_BAD;

				while (j + 9 <= n) {
					uint64_t w = sw_load(s + j), w1 = sw_load(s + j + 1);
					uint64_t data = strict ? sw_33_126(w) : sw_ge33(w);
					uint64_t cr =
					    sw_eq(w, '\r') & sw_eq(w1, '\n') & ~(1ull << 63);
					uint64_t lf = sw_eq(w, '\n');
					uint64_t ok;

					if (crlf) /* an LF at 0 never follows a CR here */
						lf &= cr << 8;
					ok = (data & ~sw_eq(w, '=')) | cr | lf |
					     ((sw_eq(w, ' ') | sw_eq(w, '\t')) & sw_ge33(w1));
					sw_store(d, w);
					if (~ok & SW_H) {
						unsigned m =
						    (unsigned)__builtin_ctzll(~ok & SW_H) >> 3;
						d += m;
						j += m;
						break;
					}
					d += 8;
					j += 8;
				}
			}
			i = j;
			continue;
#else
			while (j < n) {
				unsigned kj = dclass[s[j]];
				if (kj != D_PLAIN && (kj != D_BAD || bad == D_BAD))
					break;
				j++;
			}
			memcpy(d, s + i, j - i);
			d += j - i;
			i = j;
			continue;
#endif
		}
		if (k == D_EQ) {
			unsigned a, b;

			if (n - i < 3)
				break; /* "=X" or "=\r" might go either way */
			a = hexval[s[i + 1]];
			b = hexval[s[i + 2]];
			if ((a | b) < 16) {
				*d++ = (uint8_t)(a << 4 | b);
				i += 3;
			} else if (s[i + 1] == '\n') {
				i += 2;
			} else if (s[i + 1] == '\r' && s[i + 2] == '\n') {
				i += 3;
			} else {
				break; /* bad escape or white space before a soft break */
			}
			continue;
		}
		if (k == D_WS) {
			size_t j = i + 1;

			while (j < n && is_ws(s[j]))
				j++;
			if (j == n)
				break;
			if (s[j] == '\n' || s[j] == '\r') {
				/* Dropped before a line break, as long as the state
				 * machine would have held it all. */
				if (j - i > MC_QP_WS_HOLD ||
				    (s[j] == '\r' && (n - j < 2 || s[j + 1] != '\n')))
					break;
				i = j;
				continue;
			}
			memcpy(d, s + i, j - i);
			d += j - i;
			i = j;
			continue;
		}
		if (k == D_CR) {
			if (n - i < 2 || s[i + 1] != '\n')
				break;
			*d++ = '\r';
			*d++ = '\n';
			i += 2;
			continue;
		}
		if (k == D_LF) {
			if (flags & MC_QP_CRLF)
				*d++ = '\r';
			*d++ = '\n';
			i++;
			continue;
		}
		break; /* strict: a bad byte */
	}
	*written = (size_t)(d - dst);
	return i;
}

const struct mc_qp_kernels mc__qp_scalar = {
    .isa = MC_ISA_SCALAR,
    .name = "scalar",
    .enc = mc__qp_enc_scalar,
    .dec = mc__qp_dec_scalar,
};

const struct mc_qp_kernels *mc__qp_kernels_for(int isa)
{
	if (isa == MC_ISA_AUTO)
		isa = mc_isa_active();
	if (!mc_isa_supported(isa))
		return NULL;
	switch (isa) {
#if MC_HAVE_AVX2
	case MC_ISA_AVX2:
		return &mc__qp_avx2;
#endif
#if MC_HAVE_AVX512
	case MC_ISA_AVX512:
		return &mc__qp_avx512;
#endif
	default:
		return &mc__qp_scalar;
	}
}

/* ---- sizes --------------------------------------------------------------- */

size_t mc_qp_encode_bound(size_t n, unsigned flags)
{
	size_t chars;

	(void)flags;
	if (n > SIZE_MAX / 4 - 64)
		return SIZE_MAX;
	/* Up to 4 held bytes join n; each byte is at most 3 characters (a hard
	 * break at most 2). A soft break (at most 3) comes only after at least
	 * 73 characters on its line, but possibly at once. */
	chars = (n + 4) * 3;
	return chars + (chars / 73 + 1) * 3;
}

size_t mc_qp_decode_bound(size_t n, unsigned flags)
{
	if (!n)
		return 0;
	if (n > (SIZE_MAX - 2 * MC_QP_DECODE_FINAL_MAX) / 2)
		return SIZE_MAX;
	/* Each input byte gives at most one byte (LF as CRLF: two), plus held
	 * bytes released: '=', white space and a CR. */
	return ((flags & MC_QP_CRLF) ? 2 * n : n) + MC_QP_DECODE_FINAL_MAX;
}

/* ---- streaming encode ------------------------------------------------------- */

static void enc_init(struct mc_qp_encoder *st, const struct mc_qp_kernels *k, unsigned flags)
{
	memset(st, 0, sizeof *st);
	st->k = k;
	st->flags = flags;
}

void mc_qp_encoder_init(struct mc_qp_encoder *st, unsigned flags)
{
	enc_init(st, mc__qp_kernels_for(MC_ISA_AUTO), flags);
}

mc_status mc_qp_encoder_init_isa(struct mc_qp_encoder *st, unsigned flags, int isa)
{
	const struct mc_qp_kernels *k = mc__qp_kernels_for(isa);

	if (!k) {
		memset(st, 0, sizeof *st);
		return MC_EUNSUPPORTED;
	}
	enc_init(st, k, flags);
	return MC_OK;
}

static char *enc_soft_if(struct mc_qp_encoder *st, char *d, unsigned len)
{
	if (st->col + len > MC_QP_COL_MAX) {
		d = put_soft(d, st->flags);
		st->col = 0;
	}
	return d;
}

static char *enc_escaped(struct mc_qp_encoder *st, char *d, unsigned c)
{
	d = enc_soft_if(st, d, 3);
	st->col += 3;
	return put_hex(d, c);
}

/* One byte with nothing pending before it, that is not a text-mode line
 * break: literal or escaped; '.' and "From " at a line start per flags. */
static char *enc_unit(struct mc_qp_encoder *st, char *d, unsigned c)
{
	if (mc__qp_enc_escape[c])
		return enc_escaped(st, d, c);
	d = enc_soft_if(st, d, 1);
	if (st->col == 0) {
		if (c == '.' && (st->flags & MC_QP_DOT))
			return enc_escaped(st, d, c);
		if (c == 'F' && (st->flags & MC_QP_FROM)) {
			st->nfrom = 1; /* held until "From " is known */
			return d;
		}
	}
	*d++ = (char)c;
	st->col++;
	return d;
}

static char *enc_flush_ws(struct mc_qp_encoder *st, char *d, int escaped)
{
	unsigned c = st->pend_ws;

	if (!c)
		return d;
	st->pend_ws = 0;
	return escaped ? enc_escaped(st, d, c) : enc_unit(st, d, c);
}

/* The specification: one input byte. */
static char *enc_step(struct mc_qp_encoder *st, unsigned c, char *d)
{
	static const char from[] = "From ";
	const int text = !(st->flags & MC_QP_BINARY);

	if (st->nfrom) {
		if (c == (unsigned char)from[st->nfrom]) {
			if (++st->nfrom < 5)
				return d;
			memcpy(d, "=46rom", 6); /* col is 0: the match began a line */
			st->col = 6;
			st->nfrom = 0;
			st->pend_ws = ' ';
			return d + 6;
		}
		memcpy(d, from, st->nfrom);
		d += st->nfrom;
		st->col = st->nfrom;
		st->nfrom = 0;
	}
	if (st->pend_cr) {
		st->pend_cr = 0;
		if (c == '\n') {
			d = enc_flush_ws(st, d, 1);
			st->col = 0;
			return put_eol(d, st->flags);
		}
		d = enc_flush_ws(st, d, 0);
		d = enc_escaped(st, d, '\r');
	}
	if (text && c == '\n') {
		d = enc_flush_ws(st, d, 1);
		st->col = 0;
		return put_eol(d, st->flags);
	}
	if (text && c == '\r') {
		st->pend_cr = 1;
		return d;
	}
	d = enc_flush_ws(st, d, 0);
	if (is_ws(c)) {
		st->pend_ws = (unsigned char)c;
		return d;
	}
	return enc_unit(st, d, c);
}

static int enc_clean(const struct mc_qp_encoder *st)
{
	return !st->pend_ws && !st->pend_cr && !st->nfrom;
}

size_t mc_qp_encode_update(struct mc_qp_encoder *st, const void *src_, size_t n, char *dst)
{
	const uint8_t *p = src_, *end = p + n;
	char *d = dst;

	while (p < end) {
		size_t used = 0;

		if (enc_clean(st)) {
			size_t w;

			used = st->k->enc(p, (size_t)(end - p), d, &w, &st->col, st->flags);
			p += used;
			d += w;
			if (p == end)
				break;
		}
		/* The state machine until it is clean again (a kernel that made
		 * no progress gets a few more bytes done for it). */
		const uint8_t *stop = end - p > 16 ? p + (used ? 1 : 16) : end;
		do
			d = enc_step(st, *p++, d);
		while (p < end && (p < stop || !enc_clean(st)));
	}
	return (size_t)(d - dst);
}

size_t mc_qp_encode_final(struct mc_qp_encoder *st, char *dst)
{
	char *d = dst;

	if (st->nfrom) {
		memcpy(d, "From", st->nfrom);
		d += st->nfrom;
	} else if (st->pend_cr) {
		d = enc_flush_ws(st, d, 0);
		d = enc_escaped(st, d, '\r');
	} else {
		d = enc_flush_ws(st, d, 1); /* white space at the end of the input */
	}
	st->nfrom = 0;
	st->pend_cr = 0;
	st->pend_ws = 0;
	st->col = 0;
	return (size_t)(d - dst);
}

size_t mc_qp_encode(const void *src, size_t n, char *dst, unsigned flags)
{
	struct mc_qp_encoder st;
	size_t o;

	mc_qp_encoder_init(&st, flags);
	o = mc_qp_encode_update(&st, src, n, dst);
	return o + mc_qp_encode_final(&st, dst + o);
}

/* ---- streaming decode ------------------------------------------------------- */

static void dec_init(struct mc_qp_decoder *st, const struct mc_qp_kernels *k, unsigned flags)
{
	memset(st, 0, sizeof *st);
	st->k = k;
	st->flags = flags;
}

void mc_qp_decoder_init(struct mc_qp_decoder *st, unsigned flags)
{
	dec_init(st, mc__qp_kernels_for(MC_ISA_AUTO), flags);
}

mc_status mc_qp_decoder_init_isa(struct mc_qp_decoder *st, unsigned flags, int isa)
{
	const struct mc_qp_kernels *k = mc__qp_kernels_for(isa);

	if (!k) {
		memset(st, 0, sizeof *st);
		st->status = MC_EUNSUPPORTED;
		return MC_EUNSUPPORTED;
	}
	dec_init(st, k, flags);
	return MC_OK;
}

uint64_t mc_qp_decoder_error_offset(const struct mc_qp_decoder *st)
{
	return st->status ? st->err_offset : 0;
}

static mc_status dec_fail(struct mc_qp_decoder *st, mc_status s, uint64_t off)
{
	st->status = (short)s;
	st->err_offset = off;
	return s;
}

/* Held white space turns out to be data. */
static uint8_t *dec_flush_ws(struct mc_qp_decoder *st, uint8_t *d)
{
	memcpy(d, st->ws, st->nws);
	d += st->nws;
	st->nws = 0;
	return d;
}

static uint8_t *dec_push_ws(struct mc_qp_decoder *st, uint8_t *d, unsigned c)
{
	if (st->nws == MC_QP_WS_HOLD) { /* too long to be padding: release half */
		memcpy(d, st->ws, MC_QP_WS_HOLD / 2);
		d += MC_QP_WS_HOLD / 2;
		memmove(st->ws, st->ws + MC_QP_WS_HOLD / 2, MC_QP_WS_HOLD / 2);
		st->nws = MC_QP_WS_HOLD / 2;
	}
	st->ws[st->nws++] = (unsigned char)c;
	return d;
}

/* The specification: one input byte at offset off (see qp.h for the rules). */
static mc_status dec_step(struct mc_qp_decoder *st, unsigned c, uint64_t off, uint8_t **dp)
{
	uint8_t *d = *dp;
	const int strict = (st->flags & MC_QP_STRICT) != 0;
	unsigned k = dclass[c];

	if (st->eq) {
		if (st->hex) {
			unsigned v = hexval[c];

			if (v < 16) {
				*d++ = (uint8_t)(hexval[st->hex] << 4 | v);
				st->eq = 0;
				st->hex = 0;
				goto done;
			}
		} else if (st->cr) {
			if (k == D_LF) { /* "=" [white space] CRLF: soft break */
				st->eq = st->cr = 0;
				st->nws = 0;
				goto done;
			}
		} else if (k == D_LF) { /* "=" [white space] LF */
			st->eq = 0;
			st->nws = 0;
			goto done;
		} else if (k == D_CR) {
			st->cr = 1;
			goto done;
		} else if (k == D_WS && st->nws < MC_QP_WS_HOLD) {
			st->ws[st->nws++] = (unsigned char)c;
			goto done;
		} else if (!st->nws && hexval[c] < 16) {
			st->hex = (unsigned char)c;
			goto done;
		}
		/* Not an escape nor a soft break. */
		if (strict)
			return dec_fail(st, MC_EBADESC, st->eq_offset);
		*d++ = '=';
		if (st->hex)
			*d++ = st->hex;
		st->eq = 0;
		st->hex = 0;
		/* What else was held (white space, CR) is now text: go on. */
	}
	if (st->cr) {
		if (k == D_LF) {
			st->cr = 0;
			st->nws = 0; /* trailing white space */
			*d++ = '\r';
			*d++ = '\n';
			goto done;
		}
		d = dec_flush_ws(st, d);
		if (strict) {
			*dp = d;
			return dec_fail(st, MC_EBADCHAR, off - 1);
		}
		*d++ = '\r'; /* a lone CR is data */
		st->cr = 0;
	}
	switch (k) {
	case D_WS:
		d = dec_push_ws(st, d, c);
		break;
	case D_CR:
		st->cr = 1;
		break;
	case D_LF:
		st->nws = 0; /* trailing white space */
		if (st->flags & MC_QP_CRLF)
			*d++ = '\r';
		*d++ = '\n';
		break;
	case D_EQ:
		d = dec_flush_ws(st, d);
		st->eq = 1;
		st->eq_offset = off;
		break;
	case D_BAD:
		d = dec_flush_ws(st, d);
		if (strict) {
			*dp = d;
			return dec_fail(st, MC_EBADCHAR, off);
		}
		*d++ = (uint8_t)c;
		break;
	default:
		d = dec_flush_ws(st, d);
		*d++ = (uint8_t)c;
		break;
	}
done:
	*dp = d;
	return MC_OK;
}

static int dec_clean(const struct mc_qp_decoder *st)
{
	return !st->eq && !st->cr && !st->nws;
}

mc_status mc_qp_decode_update(struct mc_qp_decoder *st, const char *src, size_t n, void *dst,
                              size_t *written)
{
	const char *p = src, *end = src + n;
	uint8_t *d = dst;
	mc_status s = MC_OK;

	*written = 0;
	if (st->status)
		return (mc_status)st->status;
	while (p < end) {
		size_t used = 0;

		if (dec_clean(st)) {
			size_t w;

			used = st->k->dec(p, (size_t)(end - p), d, &w, st->flags);
			p += used;
			d += w;
			if (p == end)
				break;
		}
		const char *stop = end - p > 16 ? p + (used ? 1 : 16) : end;
		do {
			s = dec_step(st, (unsigned char)*p, st->offset + (uint64_t)(p - src), &d);
			p++;
			if (s)
				goto out;
		} while (p < end && (p < stop || !dec_clean(st)));
	}
out:
	st->offset += (uint64_t)(p - src);
	*written = (size_t)(d - (uint8_t *)dst);
	return s;
}

mc_status mc_qp_decode_final(struct mc_qp_decoder *st, void *dst, size_t *written)
{
	uint8_t *d = dst;
	mc_status s = MC_OK;

	*written = 0;
	if (st->status)
		return (mc_status)st->status;
	if (st->eq && st->hex) {
		if (st->flags & MC_QP_STRICT)
			return dec_fail(st, MC_EBADESC, st->eq_offset);
		*d++ = '=';
		*d++ = st->hex;
	} else if (st->eq) {
		/* "=" [white space] [CR] at the end: a soft break whose line
		 * break went elsewhere (e.g. to the MIME boundary). */
		if (st->cr && (st->flags & MC_QP_STRICT))
			s = dec_fail(st, MC_EBADCHAR, st->offset - 1);
	} else if (st->cr) {
		d = dec_flush_ws(st, d);
		if (st->flags & MC_QP_STRICT)
			s = dec_fail(st, MC_EBADCHAR, st->offset - 1);
		else
			*d++ = '\r';
	}
	/* White space still held ends the input: trailing, dropped. */
	st->eq = st->hex = st->cr = 0;
	st->nws = 0;
	*written = (size_t)(d - (uint8_t *)dst);
	return s;
}

mc_status mc_qp_decode(const char *src, size_t n, void *dst, size_t *written, unsigned flags,
                       size_t *err_offset)
{
	struct mc_qp_decoder st;
	size_t w1 = 0, w2 = 0;
	mc_status s;

	if (err_offset)
		*err_offset = 0;
	mc_qp_decoder_init(&st, flags);
	s = mc_qp_decode_update(&st, src, n, dst, &w1);
	if (s == MC_OK)
		s = mc_qp_decode_final(&st, (uint8_t *)dst + w1, &w2);
	*written = w1 + w2;
	if (s && err_offset)
		*err_offset = (size_t)st.err_offset;
	return s;
}
