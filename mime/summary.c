/* summary.c: sender, subject, date, message-id, first text body and the
 * attachment list of a parsed message, copied out as valid UTF-8.
 * RFC 5322 3.6, RFC 2047, RFC 2231, RFC 2045/2046; the rules for which part
 * is the text and which are attachments are in mimecodec/summary.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mimecodec/encword.h"
#include "mimecodec/mime.h"
#include "mimecodec/summary.h"

/* ==== valid UTF-8 ============================================================ */

/* Length of the well-formed UTF-8 sequence at p[0..n): 1 to 4; 0 when p[0]
 * starts no valid sequence; -1 when p[0..n) is a valid prefix cut by the end. */
static int utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	int len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	for (int k = 1; k < len; k++) {
		if ((size_t)k >= n)
			return -1;
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		/* overlongs, surrogates, above U+10FFFF: second byte ranges */
		if (k == 1 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
		               (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f)))
			return 0;
	}
	return len;
}

/* Copies s[0..n) into dst (cap bytes, NUL excluded) with invalid bytes as
 * U+FFFD; stops before a character that would not fit (*cut = 1). With
 * tail_cut, a valid prefix cut by the end of s is dropped instead of
 * replaced (the input itself was truncated there). Returns the length. */
static size_t utf8_clean(const char *s, size_t n, char *dst, size_t cap, int tail_cut, int *cut)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0;

	*cut = 0;
	while (i < n) {
		int len = utf8_len(p + i, n - i);

		if (len < 0 && tail_cut)
			break;
		if (len <= 0) {
			if (o + 3 > cap) {
				*cut = 1;
				break;
			}
			memcpy(dst + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		if (o + (size_t)len > cap) {
			*cut = 1;
			break;
		}
		memcpy(dst + o, s + i, (size_t)len);
		o += (size_t)len;
		i += (size_t)len;
	}
	return o;
}

/* A fresh NUL-terminated valid UTF-8 copy of s[0..n); NULL when out of memory. */
static char *utf8_dup(const char *s, size_t n)
{
	char *d;
	int cut;
	size_t len;

	if (n > (SIZE_MAX - 1) / 3)
		return NULL;
	d = malloc(3 * n + 1);
	if (!d)
		return NULL;
	len = utf8_clean(s, n, d, 3 * n, 0, &cut);
	d[len] = '\0';
	return d;
}

/* ==== header fields ============================================================= */

static struct mc_span trim(struct mc_span v)
{
	while (v.n && (*v.p == ' ' || *v.p == '\t' || *v.p == '\r' || *v.p == '\n')) {
		v.p++;
		v.n--;
	}
	while (v.n && (v.p[v.n - 1] == ' ' || v.p[v.n - 1] == '\t' || v.p[v.n - 1] == '\r' ||
	               v.p[v.n - 1] == '\n'))
		v.n--;
	return v;
}

/* The unfolded, trimmed value as valid UTF-8 (encoded words kept). */
static char *unfolded_dup(struct mc_span v)
{
	char *tmp = malloc(v.n + 1), *d;
	struct mc_span u;

	if (!tmp)
		return NULL;
	u.n = mc_mime_unfold(v, tmp);
	u.p = tmp;
	u = trim(u);
	d = utf8_dup(u.p, u.n);
	free(tmp);
	return d;
}

/* RFC 2047 decoding of a value into a fresh string. */
static char *ew_dup(struct mc_span v, unsigned flags)
{
	size_t cap = mc_ew_decode_bound(v.n);
	struct mc_ew_result res;
	char *d;

	if (cap == SIZE_MAX || !(d = malloc(cap + 1)))
		return NULL;
	memset(&res, 0, sizeof res);
	if (mc_ew_decode(v.p ? v.p : "", v.n, flags, d, cap, &res) != MC_OK) {
		free(d); /* cannot happen with the bound; treat as absent */
		return utf8_dup("", 0);
	}
	d[res.written] = '\0';
	return d;
}

static mc_status from_field(const struct mc_mime_message *msg, struct mc_summary *s)
{
	const struct mc_mime_header *h = mc_mime_header_find(msg, 0, "from", NULL);
	struct mc_mime_addr a;
	size_t pos = 0;

	if (!h)
		return MC_OK;
	while (mc_mime_addr_next(h->value, &pos, &a)) {
		if (a.flags & (MC_ADDR_GROUP_START | MC_ADDR_GROUP_END))
			continue;
		if (!(s->from_addr = unfolded_dup(a.addr)))
			return MC_ENOMEM;
		if (a.name.n) {
			if (!(s->from_name = ew_dup(a.name, MC_EW_PHRASE)))
				return MC_ENOMEM;
			if (!s->from_name[0]) {
				free(s->from_name);
				s->from_name = NULL;
			}
		}
		break;
	}
	return MC_OK;
}

static mc_status fields(const struct mc_mime_message *msg, struct mc_summary *s)
{
	const struct mc_mime_header *h;
	struct mc_span id;
	mc_status st = from_field(msg, s);

	if (st != MC_OK)
		return st;
	if ((h = mc_mime_header_find(msg, 0, "subject", NULL)) &&
	    !(s->subject = ew_dup(h->value, 0)))
		return MC_ENOMEM;
	if ((h = mc_mime_header_find(msg, 0, "date", NULL))) {
		if (!(s->date = unfolded_dup(h->value)))
			return MC_ENOMEM;
		s->has_date_utc = mc_mime_date(h->value, &s->date_utc, &s->date_zone) == MC_OK;
	}
	if ((h = mc_mime_header_find(msg, 0, "message-id", NULL)) &&
	    mc_mime_msgid(h->value, &id) == MC_OK && !(s->message_id = unfolded_dup(id)))
		return MC_ENOMEM;
	return MC_OK;
}

/* ==== parts ===================================================================== */

static int is_attachment_disposition(const struct mc_mime_message *msg, size_t i)
{
	const struct mc_mime_header *h = mc_mime_header_find(msg, i, "content-disposition", NULL);
	struct mc_span tok, params;

	return h && mc_mime_disposition(h->value, &tok, &params) == MC_OK &&
	       mc_mime_span_eq(tok, "attachment");
}

/* The decoded file name of parts[i] (NULL in *name when unnamed). */
static mc_status part_filename(const struct mc_mime_message *msg, size_t i, char **name)
{
	const struct mc_mime_header *h;
	size_t need = 16, n = 0;
	mc_status st;
	char *d;

	*name = NULL;
	for (h = NULL; (h = mc_mime_header_find(msg, i, "content-disposition", h));)
		need += 3 * h->value.n;
	for (h = NULL; (h = mc_mime_header_find(msg, i, "content-type", h));)
		need += 3 * h->value.n;
	if (!(d = malloc(need + 1)))
		return MC_ENOMEM;
	st = mc_mime_filename(msg, i, d, need, &n);
	if (st != MC_OK && st != MC_ENOSPC) {
		free(d);
		return MC_OK;
	}
	d[n] = '\0';
	*name = utf8_dup(d, n);
	free(d);
	return *name ? MC_OK : MC_ENOMEM;
}

static int has_filename(const struct mc_mime_message *msg, size_t i)
{
	char tiny[1];
	size_t n;

	return mc_mime_filename(msg, i, tiny, sizeof tiny, &n) != MC_EINVAL;
}

static char *ctype_dup(const struct mc_mime_part *pt)
{
	char *d = malloc(pt->type.n + pt->subtype.n + 2), *c;
	size_t n = 0;

	if (!d)
		return NULL;
	memcpy(d, pt->type.p, pt->type.n);
	n = pt->type.n;
	d[n++] = '/';
	memcpy(d + n, pt->subtype.p, pt->subtype.n);
	n += pt->subtype.n;
	d[n] = '\0';
	for (size_t k = 0; k < n; k++)
		if (d[k] >= 'A' && d[k] <= 'Z')
			d[k] = (char)(d[k] + 32);
	c = utf8_dup(d, n);
	free(d);
	return c;
}

static int count_sink(void *ctx, const void *p, size_t n)
{
	(void)p;
	*(uint64_t *)ctx += n;
	return 0;
}

/* ==== the text body ================================================================ */

/* Collects decoded text with CR LF made LF, up to cap bytes; one byte more
 * stops the decode (over = 1). */
struct text_sink {
	char *buf;
	size_t len, alloc, cap;
	int pending_cr, over, nomem;
};

static int text_put(struct text_sink *t, const char *p, size_t n)
{
	if (n > t->cap - t->len) {
		n = t->cap - t->len;
		t->over = 1;
	}
	if (!n)
		return t->over;
	if (n > t->alloc - t->len) {
		size_t a = t->alloc ? t->alloc : 4096;
		char *nb;

		while (a - t->len < n)
			a = a > SIZE_MAX / 2 ? SIZE_MAX : a * 2;
		if (!(nb = realloc(t->buf, a))) {
			t->nomem = 1;
			return 1;
		}
		t->buf = nb;
		t->alloc = a;
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
	return t->over;
}

static int text_sink_fn(void *ctx, const void *data, size_t n)
{
	struct text_sink *t = ctx;
	const char *p = data, *end = p + n;

	while (p < end) {
		const char *cr;

		if (t->pending_cr) {
			t->pending_cr = 0;
			if (*p != '\n' && text_put(t, "\r", 1))
				return 1;
		}
		cr = memchr(p, '\r', (size_t)(end - p));
		if (!cr)
			return text_put(t, p, (size_t)(end - p));
		if (text_put(t, p, (size_t)(cr - p)))
			return 1;
		t->pending_cr = 1;
		p = cr + 1;
	}
	return 0;
}

static mc_status body_text(const struct mc_mime_message *msg, size_t i, size_t cap,
                           struct mc_summary *s)
{
	struct text_sink t;
	mc_status st;
	size_t out;
	int cut = 0;

	memset(&t, 0, sizeof t);
	t.cap = cap;
	st = mc_mime_decode(msg, i, MC_MIME_DECODE_UTF8, text_sink_fn, &t);
	if (st == MC_EUNSUPPORTED) { /* charset unknown to iconv: bytes as they are */
		memset(&t, 0, sizeof t);
		t.cap = cap;
		st = mc_mime_decode(msg, i, 0, text_sink_fn, &t);
	}
	if (!t.over && !t.nomem && t.pending_cr)
		text_put(&t, "\r", 1);
	if (t.nomem || st == MC_ENOMEM) {
		free(t.buf);
		return MC_ENOMEM;
	}
	/* invalid bytes grow to U+FFFD (3 bytes), still within the caller's cap */
	out = t.len <= (SIZE_MAX - 1) / 3 ? 3 * t.len : SIZE_MAX - 1;
	if (out > cap)
		out = cap;
	if (!(s->text = malloc(out + 1))) {
		free(t.buf);
		return MC_ENOMEM;
	}
	s->text_len = utf8_clean(t.buf ? t.buf : "", t.len, s->text, out, t.over, &cut);
	s->text[s->text_len] = '\0';
	s->text_truncated = t.over || cut;
	s->text_part = (uint32_t)i;
	free(t.buf);
	return MC_OK;
}

/* Is parts[i] a candidate for the text body of the given subtype? */
static int text_candidate(const struct mc_mime_message *msg, size_t i, const char *subtype)
{
	const struct mc_mime_part *pt = &msg->parts[i];

	return pt->kind == MC_MIME_LEAF && mc_mime_span_eq(pt->type, "text") &&
	       mc_mime_span_eq(pt->subtype, subtype) && !is_attachment_disposition(msg, i) &&
	       !has_filename(msg, i);
}

/* First candidate in document order outside encapsulated messages. */
static size_t find_text(const struct mc_mime_message *msg, const char *subtype)
{
	for (size_t i = 0; i < msg->nparts;) {
		const struct mc_mime_part *pt = &msg->parts[i];

		if (i > 0 && pt->kind == MC_MIME_MESSAGE) {
			i = pt->next > i ? pt->next : i + 1;
			continue;
		}
		if (text_candidate(msg, i, subtype))
			return i;
		i++;
	}
	return SIZE_MAX;
}

static mc_status attachments(const struct mc_mime_message *msg, struct mc_summary *s)
{
	size_t cap = 0;

	for (size_t i = 0; i < msg->nparts;) {
		const struct mc_mime_part *pt = &msg->parts[i];
		size_t next = i + 1;
		int take;
		struct mc_summary_attachment *a;
		mc_status st;

		if (i > 0 && pt->kind == MC_MIME_MESSAGE) {
			take = 1;
			if (pt->next > i)
				next = pt->next;
		} else {
			take = pt->kind == MC_MIME_LEAF && i != s->text_part &&
			       !mc_mime_span_eq(pt->type, "multipart") &&
			       (!mc_mime_span_eq(pt->type, "text") ||
			        is_attachment_disposition(msg, i) || has_filename(msg, i));
		}
		if (!take) {
			i = next;
			continue;
		}
		if (s->nattachments == cap) {
			size_t nc = cap ? cap * 2 : 4;
			void *na = realloc(s->attachments, nc * sizeof *s->attachments);

			if (!na)
				return MC_ENOMEM;
			s->attachments = na;
			cap = nc;
		}
		a = &s->attachments[s->nattachments++];
		memset(a, 0, sizeof *a);
		a->part = (uint32_t)i;
		if ((st = part_filename(msg, i, &a->filename)) != MC_OK)
			return st;
		if (!(a->content_type = ctype_dup(pt)))
			return MC_ENOMEM;
		st = mc_mime_decode(msg, i, 0, count_sink, &a->size);
		if (st == MC_ENOMEM)
			return st;
		i = next;
	}
	return MC_OK;
}

/* ==== public ============================================================================ */

mc_status mc_summary_build(const struct mc_mime_message *msg, size_t text_cap,
                           struct mc_summary *out)
{
	mc_status st;
	size_t t;

	if (!out)
		return MC_EINVAL;
	memset(out, 0, sizeof *out);
	out->text_part = UINT32_MAX;
	if (!msg || !msg->nparts)
		return MC_EINVAL;
	if ((st = fields(msg, out)) != MC_OK)
		goto fail;
	t = find_text(msg, "plain");
	if (t == SIZE_MAX && (t = find_text(msg, "html")) != SIZE_MAX)
		out->text_is_html = 1;
	if (t != SIZE_MAX && (st = body_text(msg, t, text_cap, out)) != MC_OK)
		goto fail;
	if ((st = attachments(msg, out)) != MC_OK)
		goto fail;
	return MC_OK;
fail:
	mc_summary_free(out);
	out->text_part = UINT32_MAX;
	return st;
}

void mc_summary_free(struct mc_summary *s)
{
	if (!s)
		return;
	free(s->from_addr);
	free(s->from_name);
	free(s->subject);
	free(s->date);
	free(s->message_id);
	free(s->text);
	for (size_t i = 0; i < s->nattachments; i++) {
		free(s->attachments[i].filename);
		free(s->attachments[i].content_type);
	}
	free(s->attachments);
	memset(s, 0, sizeof *s);
}
