/* body.c: body decoding on demand (RFC 2045 section 6: base64, quoted-
 * printable, 7bit/8bit/binary; uuencode as mailers use it), optional charset
 * conversion to UTF-8 (iconv), and mbox splitting (RFC 4155).
 *
 * Decoding streams: the encoded body is fed in slices through a small stack
 * buffer to the caller's sink, so memory stays constant for any body size. */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <string.h>

#include "mime_internal.h"
#include "mimecodec/base64.h"
#include "mimecodec/qp.h"

#define SLICE 16384 /* encoded bytes per decoder step */

/* ==== output stage: optional charset conversion, then the sink ===================== */

struct out {
	mc_mime_sink sink;
	void *ctx;
	int stopped;
	iconv_t cd; /* (iconv_t)-1: no conversion */
	size_t ncarry;
	char carry[32]; /* an incomplete character between slices */
};

static void emit(struct out *o, const void *p, size_t n)
{
	if (!o->stopped && n && o->sink(o->ctx, p, n))
		o->stopped = 1;
}

static void convert(struct out *o, const char *p, size_t n, int final)
{
	char obuf[4096];
	char *in = (char *)p;
	size_t inleft = n;

	while (inleft && !o->stopped) {
		char *op = obuf;
		size_t oleft = sizeof obuf;
		size_t r = iconv(o->cd, &in, &inleft, &op, &oleft);
		int err = r == (size_t)-1 ? errno : 0;

		emit(o, obuf, sizeof obuf - oleft);
		if (!err || err == E2BIG)
			continue;
		if (err == EINVAL && !final)
			break; /* incomplete character: wait for more */
		/* invalid (or cut at the very end): U+FFFD for one byte */
		emit(o, "\xef\xbf\xbd", 3);
		in++;
		inleft--;
		iconv(o->cd, NULL, NULL, NULL, NULL);
	}
	if (inleft > sizeof o->carry) { /* cannot happen for real charsets */
		emit(o, "\xef\xbf\xbd", 3);
		inleft = 0;
	}
	memmove(o->carry, in, inleft);
	o->ncarry = inleft;
	if (final) {
		char *op = obuf;
		size_t oleft = sizeof obuf;

		iconv(o->cd, NULL, NULL, &op, &oleft);
		emit(o, obuf, sizeof obuf - oleft);
	}
}

static void put(struct out *o, const void *p, size_t n)
{
	const char *s = p;

	if (o->cd == (iconv_t)-1) {
		emit(o, p, n);
		return;
	}
	/* Complete the carried character first, then convert the rest. */
	while (o->ncarry && n && !o->stopped) {
		char tmp[sizeof o->carry + 8];
		size_t k = sizeof tmp - o->ncarry < n ? sizeof tmp - o->ncarry : n;

		memcpy(tmp, o->carry, o->ncarry);
		memcpy(tmp + o->ncarry, s, k);
		{
			size_t before = o->ncarry + k;
			convert(o, tmp, before, 0);
			/* bytes of s consumed = k - what is carried again beyond the old carry */
			if (o->ncarry > k) {
				/* still incomplete: everything went into the carry */
				s += k;
				n -= k;
				continue;
			}
			s += k - o->ncarry;
			n -= k - o->ncarry;
			o->ncarry = 0;
		}
	}
	if (n && !o->stopped)
		convert(o, s, n, 0);
}

/* ==== transfer decoders ========================================================== */

static int b64_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/* Where a base64 body ends: after the '=' that completes a quantum (the
 * rule of Python's binascii and most MIME readers): whatever follows is not
 * decoded. '=' where no quantum can end (after 0 or 1 characters) is skipped
 * like any other stray byte. q is the first '='. The usual body, with padding
 * only at its end, costs nothing more than finding q. */
static size_t b64_end_at(const char *p, size_t n, size_t q)
{
	size_t i, quad = 0, pads = 0;

	for (i = q; i < n && !b64_alpha((unsigned char)p[i]); i++)
		;
	if (i == n)
		return n; /* only padding and stray bytes after the first '=' */
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '=') {
			if (quad >= 2 && quad + ++pads >= 4)
				return i + 1;
		} else if (b64_alpha(c)) {
			quad = (quad + 1) & 3;
			pads = 0;
		}
	}
	return n;
}

static void decode_b64(struct out *o, const char *p, size_t n)
{
	struct mc_b64_decoder st;
	unsigned char buf[SLICE / 4 * 3 + 8];
	size_t w;
	int seen_eq = 0;

	mc_b64_decoder_init(&st, MC_B64_FORGIVING, 0);
	/* The first '=' is looked for slice by slice, just before the decoder
	 * reads the slice (so in cache), instead of in a pass of its own over
	 * the whole body; where it is, b64_end_at tells where the body ends,
	 * always after it, so the slices before are decoded as they were. */
	for (size_t i = 0; i < n && !o->stopped; i += SLICE) {
		size_t k = n - i < SLICE ? n - i : SLICE;
		mc_status r;

		if (!seen_eq) {
			const char *eq = memchr(p + i, '=', k);

			if (eq) {
				seen_eq = 1;
				n = b64_end_at(p, n, (size_t)(eq - p)); /* > eq - p >= i */
				k = n - i < SLICE ? n - i : SLICE;
			}
		}
		r = mc_b64_decode_update(&st, p + i, k, buf, &w);

		put(o, buf, w);
		if (r != MC_OK) /* forgiving mode never fails; stop if it ever did */
			return;
	}
	if (mc_b64_decode_final(&st, buf, &w) == MC_OK)
		put(o, buf, w);
}

static void decode_qp(struct out *o, const char *p, size_t n)
{
	static struct mc_qp_decoder zero;
	struct mc_qp_decoder st = zero;
	unsigned char buf[SLICE + MC_QP_DECODE_FINAL_MAX + 64];
	size_t w;

	mc_qp_decoder_init(&st, 0);
	for (size_t i = 0; i < n && !o->stopped; i += SLICE) {
		size_t k = n - i < SLICE ? n - i : SLICE;

		mc_status r = mc_qp_decode_update(&st, p + i, k, buf, &w);

		put(o, buf, w);
		if (r != MC_OK) /* lenient mode never fails; stop if it ever did */
			return;
	}
	if (mc_qp_decode_final(&st, buf, &w) == MC_OK)
		put(o, buf, w);
}

/* uuencode: skip to "begin <octal mode> ...", decode lines up to "end". */
static int decode_uu(struct out *o, const char *p, size_t n)
{
	size_t i = 0;
	int begun = 0;

	while (i < n && !o->stopped) {
		const char *nl = memchr(p + i, '\n', n - i);
		size_t le = nl ? (size_t)(nl - p) + 1 : n, ce = nl ? le - 1 : n;
		const char *l = p + i;
		size_t ln;

		if (ce > i && p[ce - 1] == '\r')
			ce--;
		ln = ce - i;
		i = le;
		if (!begun) {
			if (ln > 6 && memcmp(l, "begin ", 6) == 0 && l[6] >= '0' && l[6] <= '7')
				begun = 1;
			continue;
		}
		{
			size_t s = 0, e = ln;
			while (s < e && (l[s] == ' ' || l[s] == '\t'))
				s++;
			while (e > s && (l[e - 1] == ' ' || l[e - 1] == '\t'))
				e--;
			if (e - s == 3 && memcmp(l + s, "end", 3) == 0)
				break;
		}
		if (!ln)
			break;
		{
			unsigned char out[64];
			size_t want = (size_t)((l[0] - 32) & 63), got = 0, k = 1;

			while (got < want) {
				unsigned c[4];
				for (int j = 0; j < 4; j++, k++)
					c[j] = k < ln ? (unsigned)((l[k] - 32) & 63) : 0;
				out[got++] = (unsigned char)(c[0] << 2 | c[1] >> 4);
				if (got < want)
					out[got++] = (unsigned char)(c[1] << 4 | c[2] >> 2);
				if (got < want)
					out[got++] = (unsigned char)(c[2] << 6 | c[3]);
			}
			put(o, out, want);
		}
	}
	return begun;
}

/* mboxrd: ">From " (any number of '>') at a line start loses one '>'. */
static void identity(struct out *o, const char *p, size_t n, int mboxrd)
{
	size_t i = 0, start = 0;

	if (!mboxrd) {
		put(o, p, n);
		return;
	}
	while (i < n) {
		size_t j = i;

		while (j < n && p[j] == '>')
			j++;
		if (j > i && n - j >= 5 && memcmp(p + j, "From ", 5) == 0) {
			put(o, p + start, i - start);
			start = i + 1;
		}
		{
			const char *nl = memchr(p + i, '\n', n - i);
			i = nl ? (size_t)(nl - p) + 1 : n;
		}
	}
	put(o, p + start, n - start);
}

mc_status mc_mime_decode(const struct mc_mime_message *msg, size_t i, unsigned flags,
                         mc_mime_sink sink, void *ctx)
{
	const struct mc_mime_part *pt;
	const char *p;
	size_t n;
	struct out o;
	int text;

	if (!msg || i >= msg->nparts || !sink)
		return MC_EINVAL;
	pt = &msg->parts[i];
	p = msg->buf + pt->body_offset;
	n = pt->body_length;
	memset(&o, 0, sizeof o);
	o.sink = sink;
	o.ctx = ctx;
	o.cd = (iconv_t)-1;
	text = mc_mime_span_eq(pt->type, "text");
	if ((flags & MC_MIME_DECODE_UTF8) && text) {
		struct mc_mime_param prm;
		char cs[64];
		size_t csn = 0;

		if (mc_mime_param_get(pt->params, "charset", &prm) && prm.value.n < sizeof cs) {
			csn = mc_mime_unquote(&prm, cs);
			while (csn && (cs[csn - 1] == ' ' || cs[csn - 1] == '\t'))
				csn--;
		}
		cs[csn] = '\0';
		if (csn && !mc__mime_ieq(cs, csn, "utf-8") && !mc__mime_ieq(cs, csn, "utf8") &&
		    !mc__mime_ieq(cs, csn, "us-ascii")) {
			o.cd = iconv_open("UTF-8", cs);
			if (o.cd == (iconv_t)-1)
				return MC_EUNSUPPORTED;
		}
	}
	if ((flags & MC_MIME_DECODE_UUENCODE) && text && pt->encoding <= MC_MIME_ENC_BINARY) {
		/* the first uuencoded block of a text body, when there is one */
		struct out probe = o;

		if (decode_uu(&o, p, n) || o.stopped)
			goto done;
		o = probe;
	}
	switch (pt->encoding) {
	case MC_MIME_ENC_BASE64:
		decode_b64(&o, p, n);
		break;
	case MC_MIME_ENC_QP:
		decode_qp(&o, p, n);
		break;
	case MC_MIME_ENC_UUENCODE:
		if (!decode_uu(&o, p, n))
			identity(&o, p, n, 0); /* no begin line: kept as it is (Python) */
		break;
	default:
		identity(&o, p, n, (flags & MC_MIME_DECODE_MBOXRD) != 0);
		break;
	}
done:
	if (o.cd != (iconv_t)-1) {
		if (!o.stopped)
			convert(&o, o.carry, o.ncarry, 1);
		iconv_close(o.cd);
	}
	return o.stopped ? MC_EIO : MC_OK;
}

struct bufsink {
	char *dst;
	size_t cap, n;
};

static int to_buf(void *ctx, const void *p, size_t n)
{
	struct bufsink *b = ctx;

	if (b->n < b->cap) {
		size_t k = b->cap - b->n < n ? b->cap - b->n : n;
		memcpy(b->dst + b->n, p, k);
	}
	b->n += n;
	return 0;
}

mc_status mc_mime_decode_to(const struct mc_mime_message *msg, size_t i, unsigned flags, void *dst,
                            size_t cap, size_t *written)
{
	struct bufsink b = {dst, dst ? cap : 0, 0};
	mc_status s;

	if (!written)
		return MC_EINVAL;
	s = mc_mime_decode(msg, i, flags, to_buf, &b);
	*written = b.n;
	if (s == MC_OK && b.n > b.cap)
		return MC_ENOSPC;
	return s;
}

/* ==== mbox ========================================================================== */

int mc_mime_mbox_next(const void *buf, size_t len, size_t *pos, struct mc_span *msg,
                      struct mc_span *from_line)
{
	const char *b = buf;
	size_t i = *pos, start, end, q;

	if (!b || i >= len)
		return 0;
	if (from_line) {
		from_line->p = NULL;
		from_line->n = 0;
	}
	if (len - i >= 5 && memcmp(b + i, "From ", 5) == 0) {
		const char *nl = memchr(b + i, '\n', len - i);
		size_t le = nl ? (size_t)(nl - b) + 1 : len;

		if (from_line) {
			from_line->p = b + i;
			from_line->n = le - i;
		}
		i = le;
	}
	start = i;
	/* the next "\nFrom " ends this message */
	for (q = i;;) {
		const char *nl = q < len ? memchr(b + q, '\n', len - q) : NULL;

		if (!nl) {
			end = len;
			*pos = len;
			break;
		}
		q = (size_t)(nl - b) + 1;
		if (len - q >= 5 && memcmp(b + q, "From ", 5) == 0) {
			end = q - 1; /* the line break before "From " is the separator's */
			if (end > start && b[end - 1] == '\r')
				end--;
			*pos = q;
			break;
		}
	}
	msg->p = b + start;
	msg->n = end - start;
	return 1;
}
