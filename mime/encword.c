/* encword.c: RFC 2047 encoded words. Decoding of unstructured header text and
 * phrases to UTF-8 (RFC 2047 sections 2-6, RFC 2231 section 5, RFC 6532),
 * encoding of UTF-8 into folded encoded words (RFC 2047 sections 2-5, RFC
 * 5322 section 2.2.3), and the charset converter shared with rfc2231.c.
 *
 * Design note ("ew design", referenced from rfc2231.c):
 * - Decoding is one left-to-right scan with no allocation. Each encoded word
 *   is decoded into a 1 KiB buffer (struct mc__feed) in front of one charset
 *   converter; adjacent words of the same charset share the converter, so a
 *   character split across words is joined before conversion, and the base64
 *   decoder stays open across them when a quantum is visibly split. The
 *   whitespace after an encoded word is held back until the next token shows
 *   whether it is dropped (another encoded word) or kept (text).
 * - Linear time: the end of an encoded word is the first "?=" after its
 *   text starts; one memo of the last such search makes every failed attempt
 *   O(1) beyond a bounded charset scan, so no input is scanned twice.
 * - The bound 3 * n holds by construction: text costs at most 3 bytes per
 *   byte (U+FFFD), and each run of encoded words may write at most 3 bytes
 *   per input byte of its words (mc__conv.budget); a charset that expands
 *   more (glibc's TSCII does) is cut and reported (MC_EW_W_TRUNCATED).
 * - Encoding splits the value at whitespace. Printable ASCII words stay as
 *   they are; runs of other words become encoded words with the whitespace
 *   between them; whitespace next to such a run, but one character, goes into
 *   it too, so what decoders drop or trim is always inside encoded text. Each
 *   encoded word greedily takes the longest prefix that fits the room left
 *   on the line, as B or Q, whichever carries more. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "mimecodec/base64.h"
#include "encword_internal.h"

#define LINE_MAX_COLS 78 /* RFC 5322 section 2.1.1 */
#define EW_MAX        75 /* RFC 2047 section 2 */
#define CS_MAX        64 /* longest charset name we accept */

/* ---- UTF-8 helpers ----------------------------------------------------------- */

size_t mc__utf8_seq(const unsigned char *p, size_t n, size_t *sub)
{
	unsigned c = p[0], lo = 0x80, hi = 0xBF;
	size_t need;

	*sub = 1;
	if (c < 0x80)
		return 1;
	if (c < 0xC2)
		return 0;
	if (c < 0xE0) {
		need = 2;
	} else if (c < 0xF0) {
		need = 3;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (c < 0xF5) {
		need = 4;
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	} else {
		return 0;
	}
	for (size_t k = 1; k < need; k++) {
		unsigned b;

		*sub = k;
		if (k >= n)
			return 0;
		b = p[k];
		if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
			return 0;
	}
	return need;
}

/* An invalid sequence that only failed because the input ended. */
static int utf8_cut(const unsigned char *p, size_t n, size_t sub)
{
	return p[0] >= 0xC2 && p[0] <= 0xF4 && sub == n;
}

size_t mc__utf8_check(const unsigned char *p, size_t n)
{
	size_t i = 0, sub;

	while (i < n) {
		size_t k = p[i] < 0x80 ? 1 : mc__utf8_seq(p + i, n - i, &sub);

		if (!k)
			return i;
		i += k;
	}
	return n;
}

static const char fffd[3] = {(char)0xEF, (char)0xBF, (char)0xBD};

int mc__utf8_copy(const unsigned char *p, size_t n, char *dst, size_t cap, size_t *o,
                  unsigned *warn)
{
	size_t i = 0, sub;

	while (i < n) {
		size_t j = i;

		while (j < n && p[j] < 0x80)
			j++;
		while (j < n) {
			size_t k = mc__utf8_seq(p + j, n - j, &sub);

			if (!k)
				break;
			j += k;
		}
		if (j > i) {
			if (j - i > cap - *o) {
				/* Only whole characters: back off to a lead byte. */
				size_t fit = cap - *o;

				while (fit > 0 && (p[i + fit] & 0xC0) == 0x80)
					fit--;
				if (fit)
					memcpy(dst + *o, p + i, fit);
				*o += fit;
				return MC_ENOSPC;
			}
			memcpy(dst + *o, p + i, j - i);
			*o += j - i;
			i = j;
			continue;
		}
		/* p[i] starts an invalid sequence of sub bytes */
		(void)mc__utf8_seq(p + i, n - i, &sub);
		if (cap - *o < 3)
			return MC_ENOSPC;
		memcpy(dst + *o, fffd, 3);
		*o += 3;
		*warn |= MC_EW_W_INVALID;
		i += sub;
	}
	return MC_OK;
}

int mc__span_ieq(const char *a, size_t na, const char *b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (x >= 'A' && x <= 'Z')
			x += 32;
		if (y >= 'A' && y <= 'Z')
			y += 32;
		if (x != y)
			return 0;
	}
	return 1;
}

/* ---- charset converter ------------------------------------------------------- */

enum { CONV_UTF8, CONV_LATIN1, CONV_ICONV };

/* Labels we handle ourselves or send to a superset; see the header's policy. */
static const struct {
	const char *label;
	int kind;
	const char *iconv_name;
} aliases[] = {
    {"utf-8", CONV_UTF8, NULL},
    {"utf8", CONV_UTF8, NULL},
    {"us-ascii", CONV_UTF8, NULL},
    {"ascii", CONV_UTF8, NULL},
    {"ansi_x3.4-1968", CONV_UTF8, NULL},
    {"ansi-x3.4-1968", CONV_UTF8, NULL},
    {"iso646-us", CONV_UTF8, NULL},
    {"us", CONV_UTF8, NULL},
    {"csascii", CONV_UTF8, NULL},
    {"unknown-8bit", CONV_UTF8, NULL},
    {"x-unknown", CONV_UTF8, NULL},
    {"unknown", CONV_UTF8, NULL},
    {"iso-8859-1", CONV_LATIN1, NULL},
    {"iso8859-1", CONV_LATIN1, NULL},
    {"iso_8859-1", CONV_LATIN1, NULL},
    {"iso_8859-1:1987", CONV_LATIN1, NULL},
    {"latin1", CONV_LATIN1, NULL},
    {"latin-1", CONV_LATIN1, NULL},
    {"l1", CONV_LATIN1, NULL},
    {"cp819", CONV_LATIN1, NULL},
    {"ibm819", CONV_LATIN1, NULL},
    {"iso-ir-100", CONV_LATIN1, NULL},
    {"csisolatin1", CONV_LATIN1, NULL},
    {"windows-1252", CONV_LATIN1, NULL},
    {"cp1252", CONV_LATIN1, NULL},
    {"x-cp1252", CONV_LATIN1, NULL},
    {"gb2312", CONV_ICONV, "GB18030"},
    {"gbk", CONV_ICONV, "GB18030"},
    {"cp936", CONV_ICONV, "GB18030"},
    {"x-gbk", CONV_ICONV, "GB18030"},
    {"euc-cn", CONV_ICONV, "GB18030"},
    {"csgb2312", CONV_ICONV, "GB18030"},
    {"gb_2312-80", CONV_ICONV, "GB18030"},
    {"euc-kr", CONV_ICONV, "CP949"},
    {"ks_c_5601-1987", CONV_ICONV, "CP949"},
    {"ks_c_5601", CONV_ICONV, "CP949"},
    {"ksc5601", CONV_ICONV, "CP949"},
    {"ksc_5601", CONV_ICONV, "CP949"},
    {"windows-949", CONV_ICONV, "CP949"},
    {"cseuckr", CONV_ICONV, "CP949"},
    {"shift_jis", CONV_ICONV, "CP932"},
    {"shift-jis", CONV_ICONV, "CP932"},
    {"sjis", CONV_ICONV, "CP932"},
    {"x-sjis", CONV_ICONV, "CP932"},
    {"ms_kanji", CONV_ICONV, "CP932"},
    {"csshiftjis", CONV_ICONV, "CP932"},
    {"windows-31j", CONV_ICONV, "CP932"},
    {"iso-8859-8-i", CONV_ICONV, "ISO-8859-8"},
    {"iso-8859-6-i", CONV_ICONV, "ISO-8859-6"},
};

/* cp1252 0x80..0x9F; its five holes map to the C1 controls. */
static const uint16_t cp1252_c1[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

static int cs_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c && strchr("-_.:+!#$%&'^`{|}~", c) != NULL;
}

void mc__conv_open(struct mc__conv *c, const char *cs, size_t cslen, char *dst, size_t cap,
                   size_t o)
{
	char name[CS_MAX + 1];
	size_t i;

	memset(c, 0, sizeof *c);
	c->cd = (iconv_t)-1;
	c->dst = dst;
	c->cap = cap;
	c->o = o;
	c->budget = SIZE_MAX;
	c->kind = CONV_UTF8;
	for (i = 0; i < cslen && cs[i] != '*'; i++)
		;
	cslen = i; /* RFC 2231 section 5: charset*lang */
	while (cslen && (cs[0] == ' ' || cs[0] == '\t' || cs[0] == '"')) {
		cs++;
		cslen--;
	}
	while (cslen && (cs[cslen - 1] == ' ' || cs[cslen - 1] == '\t' || cs[cslen - 1] == '"'))
		cslen--;
	if (cslen == 0)
		return; /* no charset: UTF-8 policy, nothing to report */
	for (i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
		if (mc__span_ieq(cs, cslen, aliases[i].label, strlen(aliases[i].label))) {
			c->kind = aliases[i].kind;
			if (c->kind != CONV_ICONV)
				return;
			c->cd = iconv_open("UTF-8", aliases[i].iconv_name);
			if (c->cd == (iconv_t)-1) {
				c->kind = CONV_UTF8;
				c->warnings |= MC_EW_W_CHARSET;
			}
			return;
		}
	}
	/* Names reach iconv_open only from a safe alphabet: no "//TRANSLIT",
	 * no ",", nothing glibc would read as an option. */
	if (cslen > CS_MAX) {
		c->warnings |= MC_EW_W_CHARSET;
		return;
	}
	for (i = 0; i < cslen; i++) {
		if (!cs_char((unsigned char)cs[i])) {
			c->warnings |= MC_EW_W_CHARSET;
			return;
		}
		name[i] = cs[i];
	}
	name[cslen] = '\0';
	c->cd = iconv_open("UTF-8", name);
	if (c->cd == (iconv_t)-1) {
		c->warnings |= MC_EW_W_CHARSET;
		return;
	}
	c->kind = CONV_ICONV;
}

void mc__conv_close(struct mc__conv *c)
{
	if (c->cd != (iconv_t)-1)
		iconv_close(c->cd);
	c->cd = (iconv_t)-1;
}

/* Room for k more bytes under both limits; on failure marks why. The budget
 * is checked first: past it the run is cut (a warning), past cap the whole
 * call fails with MC_ENOSPC. */
static int conv_room(struct mc__conv *c, size_t k)
{
	if (c->dead || c->status)
		return 0;
	if (c->o > c->budget || k > c->budget - c->o) {
		c->dead = 1;
		c->warnings |= MC_EW_W_TRUNCATED;
		return 0;
	}
	if (k > c->cap - c->o) {
		c->status = MC_ENOSPC;
		return 0;
	}
	return 1;
}

static int conv_put(struct mc__conv *c, const void *p, size_t k)
{
	if (!conv_room(c, k))
		return 0;
	if (k)
		memcpy(c->dst + c->o, p, k);
	c->o += k;
	return 1;
}

static int conv_put_cp(struct mc__conv *c, unsigned cp)
{
	unsigned char b[3];
	size_t k;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xC0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3F));
		k = 2;
	} else {
		b[0] = (unsigned char)(0xE0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (unsigned char)(0x80 | (cp & 0x3F));
		k = 3;
	}
	return conv_put(c, b, k);
}

static int conv_fffd(struct mc__conv *c)
{
	c->warnings |= MC_EW_W_INVALID;
	return conv_put(c, fffd, 3);
}

/* iconv's output is UTF-8 by contract; a glibc module bug must still not
 * break ours, so anything else becomes '?' in place (same length). */
static void sanitize_utf8(char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		i += mc__utf8_check((const unsigned char *)p + i, n - i);
		if (i < n)
			p[i++] = '?';
	}
}

static size_t conv_run_iconv(struct mc__conv *c, const unsigned char *p, size_t n, int final)
{
	char *in = (char *)(uintptr_t)p; /* iconv's prototype is not const-correct */
	size_t inleft = n;

	while (inleft > 0) {
		size_t lim = c->budget < c->cap ? c->budget : c->cap;
		size_t room = lim > c->o ? lim - c->o : 0, r;
		char *out = c->dst ? c->dst + c->o : NULL;
		size_t outleft = room;
		char dummy;

		if (!out) {
			out = &dummy; /* cap is 0: iconv must still see a pointer */
			outleft = 0;
		}
		errno = 0;
		r = iconv(c->cd, &in, &inleft, &out, &outleft);
		if (c->dst && room - outleft) {
			sanitize_utf8(c->dst + c->o, room - outleft);
			c->o += room - outleft;
		}
		if (r != (size_t)-1)
			break;
		if (errno == E2BIG) {
			if (c->budget <= c->cap) {
				c->dead = 1;
				c->warnings |= MC_EW_W_TRUNCATED;
				return n;
			}
			c->status = MC_ENOSPC;
			return (size_t)((const unsigned char *)in - p);
		}
		if (errno == EINVAL && !final)
			break; /* incomplete character: wait for more */
		/* EILSEQ, a cut character at the end, or anything else */
		if (!conv_fffd(c))
			return c->dead ? n : (size_t)((const unsigned char *)in - p);
		if (errno == EINVAL) {
			in += inleft;
			inleft = 0;
		} else {
			in++;
			inleft--;
		}
	}
	if (final)
		iconv(c->cd, NULL, NULL, NULL, NULL); /* back to the initial shift state */
	return (size_t)((const unsigned char *)in - p);
}

size_t mc__conv_run(struct mc__conv *c, const unsigned char *p, size_t n, int final)
{
	size_t i = 0, sub;

	if (c->dead || c->status)
		return n; /* dropped: the caller stops on status, a dead run drops */
	if (c->kind == CONV_ICONV)
		return conv_run_iconv(c, p, n, final);
	while (i < n) {
		unsigned char b = p[i];

		if (c->kind == CONV_LATIN1) {
			unsigned cp = b >= 0x80 && b < 0xA0 ? cp1252_c1[b - 0x80] : b;

			if (!conv_put_cp(c, cp))
				break;
			i++;
			continue;
		}
		if (b < 0x80) {
			size_t j = i + 1;

			while (j < n && p[j] < 0x80)
				j++;
			if (!conv_put(c, p + i, j - i))
				break;
			i = j;
			continue;
		}
		size_t k = mc__utf8_seq(p + i, n - i, &sub);

		if (k) {
			if (!conv_put(c, p + i, k))
				break;
			i += k;
		} else if (!final && utf8_cut(p + i, n - i, sub)) {
			return i; /* the rest may come with the next chunk */
		} else {
			if (!conv_fffd(c))
				break;
			i += sub;
		}
	}
	return c->dead ? n : i;
}

/* ---- buffered feed ------------------------------------------------------------- */

static void feed_flush(struct mc__feed *f, int final)
{
	size_t k = mc__conv_run(&f->conv, f->buf, f->n, final);

	if (!final && f->n - k > 64) /* no converter holds back that much */
		k = mc__conv_run(&f->conv, f->buf, f->n, 1);
	if (f->conv.status)
		k = f->n; /* out of space: the caller stops */
	memmove(f->buf, f->buf + k, f->n - k);
	f->n -= k;
}

unsigned char *mc__feed_room(struct mc__feed *f, size_t need)
{
	if (sizeof f->buf - f->n < need)
		feed_flush(f, 0);
	return f->buf + f->n;
}

void mc__feed_commit(struct mc__feed *f, size_t k)
{
	f->n += k;
}

void mc__feed_put(struct mc__feed *f, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n > 0) {
		size_t k = n < 512 ? n : 512;

		memcpy(mc__feed_room(f, k), s, k);
		f->n += k;
		s += k;
		n -= k;
	}
}

void mc__feed_end(struct mc__feed *f)
{
	feed_flush(f, 1);
	f->n = 0;
}

/* ---- decoding -------------------------------------------------------------------- */

enum { TOK_NONE, TOK_TEXT, TOK_EW };

struct ew_word {
	const char *cs;
	size_t cslen; /* without "*lang" */
	size_t start, t0, t1, end;
	char enc; /* 'B' or 'Q' */
};

struct ew_dec {
	const char *s;
	size_t n;
	unsigned flags;
	char *dst;
	size_t cap, o;
	unsigned warn;
	size_t warn_off;
	int status;
	/* memo: the first "?=" at or after qe_from is at qe_at (n: none) */
	size_t qe_from, qe_at;
	/* the open run of encoded words in one charset */
	int run_open, b64_open;
	unsigned b64_sextets; /* sextets of the open base64 quantum */
	const char *run_cs;
	size_t run_cslen, run_o0, run_span, run_last;
	struct mc_b64_decoder b64;
	struct mc__feed feed;
};

static void dec_warn(struct ew_dec *d, unsigned bits, size_t off)
{
	if (!bits)
		return;
	if (!d->warn)
		d->warn_off = off;
	d->warn |= bits;
}

static size_t qe_scan(const char *s, size_t from, size_t to, size_t n)
{
	for (size_t x = from; x < to && x + 1 < n; x++)
		if (s[x] == '?' && s[x + 1] == '=')
			return x;
	return n;
}

/* Position of the first "?=" at or after p, or n. See "ew design": linear. */
static size_t next_qe(struct ew_dec *d, size_t p)
{
	if (p >= d->qe_from && p <= d->qe_at)
		return d->qe_at;
	if (p < d->qe_from) { /* at most a charset's length back */
		size_t x = qe_scan(d->s, p, d->qe_from, d->n);

		return x < d->n ? x : d->qe_at;
	}
	d->qe_from = p;
	d->qe_at = qe_scan(d->s, p, d->n, d->n);
	return d->qe_at;
}

static int parse_ew(struct ew_dec *d, size_t i, struct ew_word *w)
{
	const char *s = d->s;
	size_t p = i + 2, q, k;
	char e;

	while (p < d->n && p - (i + 2) <= CS_MAX && (cs_char((unsigned char)s[p]) || s[p] == '*'))
		p++;
	if (p == i + 2 || p + 2 >= d->n || s[p] != '?' || s[p + 2] != '?')
		return 0;
	e = s[p + 1];
	if (e == 'b' || e == 'q')
		e = (char)(e - 32);
	if (e != 'B' && e != 'Q')
		return 0;
	q = next_qe(d, p + 3);
	if (q >= d->n)
		return 0;
	w->cs = s + i + 2;
	for (k = 0; k < p - (i + 2) && w->cs[k] != '*'; k++)
		;
	w->cslen = k;
	w->enc = e;
	w->start = i;
	w->t0 = p + 3;
	w->t1 = q;
	w->end = q + 2;
	return w->cslen > 0;
}

static int b64_val(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/* Sextets before the first '=' of a B word plus the '=' that follow them,
 * modulo 4: what the word adds to a quantum left open before it. */
static unsigned b64_prefix(const char *s, size_t t0, size_t t1)
{
	unsigned k = 0;
	size_t x = t0;

	for (; x < t1 && s[x] != '='; x++)
		k += b64_val((unsigned char)s[x]);
	for (; x < t1 && s[x] == '='; x++)
		k++;
	return k & 3;
}

static void b64_end(struct ew_dec *d)
{
	size_t w = 0;

	if (!d->b64_open)
		return;
	if (mc_b64_decode_final(&d->b64, mc__feed_room(&d->feed, 8), &w) != MC_OK)
		w = 0; /* forgiving mode has no errors; keep the compiler's contract */
	mc__feed_commit(&d->feed, w);
	d->b64_open = 0;
}

static void run_close(struct ew_dec *d)
{
	if (!d->run_open)
		return;
	b64_end(d);
	mc__feed_end(&d->feed);
	d->o = d->feed.conv.o;
	if (d->feed.conv.status)
		d->status = d->feed.conv.status;
	dec_warn(d, d->feed.conv.warnings & ~d->warn, d->run_last);
	mc__conv_close(&d->feed.conv);
	d->run_open = 0;
}

static void decode_q(struct ew_dec *d, const struct ew_word *w)
{
	const char *s = d->s;
	size_t x = w->t0;

	while (x < w->t1) {
		unsigned char *r = mc__feed_room(&d->feed, 512);
		size_t k = 0;

		while (x < w->t1 && k < 512) {
			unsigned char c = (unsigned char)s[x];

			if (c == '\r' || c == '\n') { /* a fold inside the word */
				dec_warn(d, MC_EW_W_SYNTAX, x);
				while (x < w->t1 && (s[x] == '\r' || s[x] == '\n' || s[x] == ' ' ||
				                     s[x] == '\t'))
					x++;
				continue;
			}
			if (c == '_') {
				c = ' ';
			} else if (c == '=') {
				static const char hex[] = "0123456789ABCDEF0123456789abcdef";
				const char *h1 =
				    x + 2 < w->t1 && s[x + 1] ? strchr(hex, s[x + 1]) : NULL;
				const char *h2 = h1 && s[x + 2] ? strchr(hex, s[x + 2]) : NULL;

				if (h1 && h2) {
					c = (unsigned char)(((h1 - hex) & 15) << 4 |
					                    ((h2 - hex) & 15));
					x += 2;
				} else {
					dec_warn(d, MC_EW_W_ENCODING, x);
				}
			}
			r[k++] = c;
			x++;
		}
		mc__feed_commit(&d->feed, k);
	}
}

static void decode_b(struct ew_dec *d, const struct ew_word *w)
{
	const char *s = d->s;
	unsigned open = d->b64_sextets;

	for (size_t x = w->t0; x < w->t1; x++) {
		unsigned char c = (unsigned char)s[x];

		if (b64_val(c))
			open = (open + 1) & 3;
		else if (c == '=')
			open = 0;
		else if (c == '\r' || c == '\n')
			dec_warn(d, MC_EW_W_SYNTAX, x);
		else if (c != ' ' && c != '\t')
			dec_warn(d, MC_EW_W_ENCODING, x);
	}
	d->b64_sextets = open;
	if (!d->b64_open) {
		mc_b64_decoder_init(&d->b64, MC_B64_FORGIVING, 0);
		d->b64_open = 1;
	}
	for (size_t x = w->t0; x < w->t1;) {
		size_t c = w->t1 - x < 676 ? w->t1 - x : 676; /* decode bound 510 <= 512 */
		size_t k = 0;

		if (mc_b64_decode_update(&d->b64, s + x, c, mc__feed_room(&d->feed, 512), &k) !=
		    MC_OK)
			dec_warn(d, MC_EW_W_ENCODING, x);
		mc__feed_commit(&d->feed, k);
		x += c;
	}
}

static void run_word(struct ew_dec *d, const struct ew_word *w)
{
	if (d->run_open && !mc__span_ieq(d->run_cs, d->run_cslen, w->cs, w->cslen))
		run_close(d);
	if (d->status)
		return;
	if (!d->run_open) {
		mc__conv_open(&d->feed.conv, w->cs, w->cslen, d->dst, d->cap, d->o);
		d->feed.n = 0;
		d->run_open = 1;
		d->run_cs = w->cs;
		d->run_cslen = w->cslen;
		d->run_o0 = d->o;
		d->run_span = 0;
		d->b64_open = 0;
		d->b64_sextets = 0;
	} else if (d->b64_open) {
		/* Keep the base64 quantum open only when the split is visible: a
		 * lone sextet, or one that this word's first sextets complete. */
		unsigned open = d->b64_sextets;
		int carry = w->enc == 'B' && open &&
		            (open == 1 || ((open + b64_prefix(d->s, w->t0, w->t1)) & 3) == 0);

		if (!carry) {
			b64_end(d);
			d->b64_sextets = 0;
		}
	}
	d->run_span += w->end - w->start;
	d->run_last = w->start;
	d->feed.conv.budget =
	    d->run_span > (SIZE_MAX - d->run_o0) / 3 ? SIZE_MAX : d->run_o0 + 3 * d->run_span;
	if (w->enc == 'Q') {
		b64_end(d);
		d->b64_sextets = 0;
		decode_q(d, w);
	} else {
		decode_b(d, w);
	}
	dec_warn(d, d->feed.conv.warnings & ~d->warn, w->start);
	if (d->feed.conv.status) {
		d->status = d->feed.conv.status;
		d->o = d->feed.conv.o;
	}
}

static void put_text(struct ew_dec *d, const char *p, size_t k, size_t off)
{
	unsigned w = 0;

	if (d->status)
		return;
	if (mc__utf8_copy((const unsigned char *)p, k, d->dst, d->cap, &d->o, &w) != MC_OK)
		d->status = MC_ENOSPC;
	dec_warn(d, w, off);
}

static void put_ws(struct ew_dec *d, size_t from, size_t to, int collapse)
{
	if (collapse) {
		put_text(d, " ", 1, from);
		return;
	}
	for (size_t x = from; x < to && !d->status; x++)
		if (d->s[x] == ' ' || d->s[x] == '\t')
			put_text(d, d->s + x, 1, x);
}

static int is_lwsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

size_t mc_ew_decode_bound(size_t n)
{
	return n > SIZE_MAX / 3 ? SIZE_MAX : 3 * n;
}

mc_status mc__ew_decode(const char *src, size_t n, unsigned flags, char *dst, size_t cap,
                        struct mc_ew_result *res)
{
	struct ew_dec d;
	int phrase = (flags & MC_EW_PHRASE) != 0, keep = (flags & MC__EW_KEEPWS) != 0;
	int in_quote = 0, prev = TOK_NONE, pending = 0, ws_quote = 0, started = 0;
	size_t i = 0, ws_from = 0;

	memset(res, 0, sizeof *res);
	if ((!src && n) || (!dst && cap))
		return MC_EINVAL;
	memset(&d, 0, sizeof d);
	d.s = src;
	d.n = n;
	d.flags = flags;
	d.dst = dst;
	d.cap = cap;
	d.qe_from = 0;
	d.qe_at = qe_scan(src, 0, n, n);
	while (i < n && !d.status) {
		char c = src[i];
		struct ew_word w;

		if (c == '=' && i + 1 < n && src[i + 1] == '?' && parse_ew(&d, i, &w)) {
			if (pending && prev != TOK_EW && (started || keep)) {
				run_close(&d);
				put_ws(&d, ws_from, i, phrase && !ws_quote && !keep);
			} else if (!pending && prev == TOK_TEXT) {
				dec_warn(&d, MC_EW_W_SYNTAX, i); /* text=?...?= */
			}
			pending = 0;
			if (in_quote)
				dec_warn(&d, MC_EW_W_SYNTAX, i);
			if (w.end - w.start > EW_MAX)
				dec_warn(&d, MC_EW_W_LONG, i);
			if (d.status)
				break;
			run_word(&d, &w);
			prev = TOK_EW;
			started = 1;
			i = w.end;
			continue;
		}
		if (is_lwsp(c)) {
			if (!pending) {
				pending = 1;
				ws_from = i;
				ws_quote = in_quote;
			}
			i++;
			continue;
		}
		if (phrase && c == '"') {
			in_quote = !in_quote;
			i++;
			continue;
		}
		size_t t0 = i, t1;

		if (phrase && in_quote && c == '\\' && i + 1 < n) {
			size_t sub,
			    k = mc__utf8_seq((const unsigned char *)src + i + 1, n - i - 1, &sub);

			t0 = i + 1;
			t1 = t0 + (k ? k : 1);
		} else {
			t1 = i + 1;
			while (t1 < n && !is_lwsp(src[t1]) &&
			       !(src[t1] == '=' && t1 + 1 < n && src[t1 + 1] == '?') &&
			       !(phrase && (src[t1] == '"' || (in_quote && src[t1] == '\\'))))
				t1++;
		}
		if (prev == TOK_EW && !pending)
			dec_warn(&d, MC_EW_W_SYNTAX, i); /* ?=text */
		run_close(&d);
		if (pending && (started || keep))
			put_ws(&d, ws_from, i, phrase && !ws_quote && !keep);
		pending = 0;
		put_text(&d, src + t0, t1 - t0, t0);
		prev = TOK_TEXT;
		started = 1;
		i = t1;
	}
	if (!d.status)
		run_close(&d);
	else if (d.run_open)
		mc__conv_close(&d.feed.conv);
	if (pending && keep && !d.status)
		put_ws(&d, ws_from, n, 0);
	if (in_quote)
		dec_warn(&d, MC_EW_W_SYNTAX, n);
	res->written = d.o;
	res->warnings = d.warn;
	res->warn_offset = d.warn_off;
	if (d.status) {
		res->err_offset = i;
		return (mc_status)d.status;
	}
	return MC_OK;
}

mc_status mc_ew_decode(const char *src, size_t n, unsigned flags, char *dst, size_t cap,
                       struct mc_ew_result *res)
{
	if (!res)
		return MC_EINVAL;
	return mc__ew_decode(src, n, flags & MC_EW_PHRASE, dst, cap, res);
}

mc_status mc_ew_charset_to_utf8(const char *cs, size_t cs_len, const char *src, size_t n, char *dst,
                                size_t cap, struct mc_ew_result *res)
{
	struct mc__feed f;

	if (!res)
		return MC_EINVAL;
	memset(res, 0, sizeof *res);
	if ((!src && n) || (!dst && cap) || (!cs && cs_len))
		return MC_EINVAL;
	mc__conv_open(&f.conv, cs, cs_len, dst, cap, 0);
	f.conv.budget = mc_ew_decode_bound(n);
	f.n = 0;
	mc__feed_put(&f, src, n);
	mc__feed_end(&f);
	mc__conv_close(&f.conv);
	res->written = f.conv.o;
	res->warnings = f.conv.warnings;
	if (f.conv.status) {
		res->err_offset = n; /* streamed: the exact input offset is not tracked */
		return (mc_status)f.conv.status;
	}
	return MC_OK;
}

/* ---- encoding ------------------------------------------------------------------- */

struct ew_out {
	char *dst;
	size_t cap, o;
	size_t in_pos, fail_pos; /* input position being written, and where it failed */
	int nospc;
	unsigned col;
	const char *eol;
};

static void out_put(struct ew_out *w, const char *p, size_t k)
{
	if (w->nospc)
		return;
	if (w->dst) {
		if (k > w->cap - w->o) {
			w->nospc = 1;
			w->fail_pos = w->in_pos;
			return;
		}
		memcpy(w->dst + w->o, p, k);
	}
	w->o += k;
}

static void out_eol(struct ew_out *w)
{
	out_put(w, w->eol, strlen(w->eol));
	w->col = 0;
}

/* RFC 2047 section 5 (3): the Q characters allowed in phrases, the strictest. */
static int q_safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

/* RFC 5322 atext */
static int atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static size_t utf8_len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* Longest prefix of s[a..b) (whole characters) whose encoded word fits in
 * width characters. Returns the bytes taken (0: not even one character);
 * *b_enc tells B (1) or Q (0), *len the encoded word's length. */
static size_t ew_chunk(const unsigned char *s, size_t a, size_t b, size_t width, int *b_enc,
                       size_t *len)
{
	size_t x = a, q = 0, okq = 0, okb = 0, lq = 0, lb = 0;
	int qstop = 0, bstop = 0;

	while (x < b && !(qstop && bstop)) {
		size_t k = utf8_len(s[x]), qc = 0, bl;

		if (k > b - x)
			k = b - x; /* valid UTF-8 never gets here */
		for (size_t j = 0; j < k; j++)
			qc += (q_safe(s[x + j]) || s[x + j] == ' ') ? 1 : 3;
		if (!qstop && 12 + q + qc <= width) {
			q += qc;
			okq = x + k - a;
			lq = 12 + q;
		} else {
			qstop = 1;
		}
		bl = (x + k - a + 2) / 3 * 4;
		if (!bstop && 12 + bl <= width) {
			okb = x + k - a;
			lb = 12 + bl;
		} else {
			bstop = 1;
		}
		x += k;
	}
	if (okq > okb || (okq == okb && lq <= lb)) {
		*b_enc = 0;
		*len = lq;
		return okq;
	}
	*b_enc = 1;
	*len = lb;
	return okb;
}

static void ew_emit(struct ew_out *w, const unsigned char *s, size_t a, size_t k, int b_enc)
{
	static const char hex[] = "0123456789ABCDEF";

	out_put(w, b_enc ? "=?UTF-8?B?" : "=?UTF-8?Q?", 10);
	if (b_enc) {
		char buf[64];

		/* k <= 45 bytes here (a word is at most 75 characters) */
		out_put(w, buf, mc_b64_encode(s + a, k, buf, 0, 0));
	} else {
		for (size_t j = a; j < a + k; j++) {
			char e[3] = {'=', hex[s[j] >> 4], hex[s[j] & 15]};

			if (s[j] == ' ')
				out_put(w, "_", 1);
			else if (q_safe(s[j]))
				out_put(w, (const char *)s + j, 1);
			else
				out_put(w, e, 3);
		}
	}
	out_put(w, "?=", 2);
}

/* Encoded words for s[a..b); sep: the whitespace character before the first
 * one (0: none, the value starts here). */
static void ew_segment(struct ew_out *w, const unsigned char *s, size_t a, size_t b, char sep)
{
	int first = 1;

	while (a < b) {
		char sp = first ? sep : ' ';
		size_t sw = sp ? 1 : 0, width, k, len;
		int b_enc;

		width = w->col + sw >= LINE_MAX_COLS ? 0 : LINE_MAX_COLS - w->col - sw;
		if (width > EW_MAX)
			width = EW_MAX;
		w->in_pos = a;
		k = ew_chunk(s, a, b, width, &b_enc, &len);
		if (!k) { /* fold; the new line starts with the separator */
			out_eol(w);
			if (!sp)
				sp = ' ';
			k = ew_chunk(s, a, b, EW_MAX, &b_enc, &len);
		}
		if (sp) {
			out_put(w, &sp, 1);
			w->col++;
		}
		ew_emit(w, s, a, k, b_enc);
		w->col += (unsigned)len;
		a += k;
		first = 0;
	}
}

static int is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static size_t skip_wsp(const unsigned char *s, size_t i, size_t n)
{
	while (i < n && is_wsp(s[i]))
		i++;
	return i;
}

static size_t skip_word(const unsigned char *s, size_t i, size_t n)
{
	while (i < n && !is_wsp(s[i]))
		i++;
	return i;
}

struct ew_enc {
	const unsigned char *s;
	size_t n;
	unsigned start_col;
	int phrase;
};

/* Does the word s[i..we), with whitespace s[wb..i) before and s[we..wa)
 * after, have to be encoded? See "ew design". */
static int needs_enc(const struct ew_enc *e, size_t wb, size_t i, size_t we, size_t wa)
{
	const unsigned char *s = e->s;
	int first = wb == 0, last = wa == e->n;
	size_t len = we - i;

	if ((first && i > 0) || (last && wa > we))
		return 1; /* leading or trailing whitespace: decoders trim it */
	if (e->phrase && ((!first && (i - wb != 1 || s[wb] != ' ')) ||
	                  (!last && (wa - we != 1 || s[we] != ' '))))
		return 1; /* phrase decoders collapse whitespace */
	if (first ? e->start_col + len > LINE_MAX_COLS : (i - wb) + len > LINE_MAX_COLS)
		return 1; /* cannot be folded into a line */
	for (size_t x = i; x < we; x++) {
		if (s[x] < 0x20 || s[x] >= 0x7F)
			return 1;
		if (s[x] == '=' && x + 1 < we && s[x + 1] == '?')
			return 1; /* would read as an encoded word */
		if (e->phrase && !atext(s[x]))
			return 1;
	}
	return 0;
}

size_t mc_ew_encode_bound(size_t n)
{
	return n > (SIZE_MAX - 128) / 20 ? SIZE_MAX : 20 * n + 128;
}

mc_status mc_ew_encode(const char *src, size_t n, unsigned start_col, unsigned flags, char *dst,
                       size_t cap, struct mc_ew_result *res)
{
	struct ew_enc e = {(const unsigned char *)src, n, start_col, (flags & MC_EW_PHRASE) != 0};
	struct ew_out w = {
	    dst, dst ? cap : 0, 0, 0, 0, 0, start_col, (flags & MC_EW_LF) ? "\n" : "\r\n"};
	const unsigned char *s = e.s;
	size_t i, wb = 0, bad;

	if (!res)
		return MC_EINVAL;
	memset(res, 0, sizeof *res);
	if ((!src && n) || n > (SIZE_MAX - 128) / 20)
		return MC_EINVAL;
	bad = mc__utf8_check(s, n);
	if (bad < n) {
		res->err_offset = bad;
		return MC_EBADCHAR;
	}
	if (e.start_col > LINE_MAX_COLS)
		e.start_col = LINE_MAX_COLS;
	i = skip_wsp(s, 0, n);
	if (n > 0 && i == n) /* only whitespace */
		ew_segment(&w, s, 0, n, 0);
	while (i < n) {
		size_t we = skip_word(s, i, n), wa = skip_wsp(s, we, n);

		w.in_pos = i;
		if (!needs_enc(&e, wb, i, we, wa)) {
			size_t width = we - wb;

			if (wb < i && w.col + width > LINE_MAX_COLS)
				out_eol(&w); /* fold before the whitespace */
			out_put(&w, (const char *)s + wb, width);
			w.col += (unsigned)width;
			wb = we;
			i = wa;
			continue;
		}
		/* a run of words to encode, with the whitespace between them */
		size_t seg_a, seg_b, end = we, next = wa;
		char sep = 0;

		while (next < n) {
			size_t we2 = skip_word(s, next, n), wa2 = skip_wsp(s, we2, n);

			if (!needs_enc(&e, end, next, we2, wa2))
				break;
			end = we2;
			next = wa2;
		}
		if (wb == 0) {
			seg_a = 0; /* leading whitespace goes in too */
		} else {
			sep = (char)s[wb];
			seg_a = wb + 1;
		}
		seg_b = next == n ? n : next - 1;
		ew_segment(&w, s, seg_a, seg_b, sep);
		wb = seg_b;
		i = next;
	}
	res->written = w.o;
	if (w.nospc) {
		res->err_offset = w.fail_pos;
		return MC_ENOSPC;
	}
	return MC_OK;
}
