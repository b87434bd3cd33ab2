/* fuzz_compose.c: the composer's round trip (mimecodec/compose.h, mime.h).
 * Input: a flags byte, then length-prefixed fields (1-byte lengths for
 * header strings, 2-byte big-endian lengths for bodies): subject, From
 * display name, To display name, text body, HTML body, then per attachment
 * a file name, a type selector, an encoding selector and the content.
 * Every setter must refuse exactly the strings holding CR or LF; the
 * composition must produce exactly its announced size, the same bytes in
 * any chunking, lines within 78 columns plus CRLF outside forwarded
 * messages; our parser must read back the structure, every decoded body
 * (text with CRLF line ends, attachments byte for byte, forwarded messages
 * with CRLF line ends), every file name and the Subject. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mimecodec/compose.h"
#include "mimecodec/encword.h"
#include "mimecodec/mime.h"

#define FUZZ_ASSERT(c)           \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

struct rd {
	const uint8_t *p;
	size_t n, i;
};

static size_t take(struct rd *r, size_t want, const uint8_t **out)
{
	size_t k = r->n - r->i < want ? r->n - r->i : want;

	*out = r->p + r->i;
	r->i += k;
	return k;
}

static unsigned byte(struct rd *r)
{
	return r->i < r->n ? r->p[r->i++] : 0;
}

/* A NUL-terminated copy of a 1-byte-length field (cut at an embedded NUL). */
static char *str_field(struct rd *r)
{
	const uint8_t *p;
	size_t n = take(r, byte(r), &p);
	char *s = malloc(n + 1);

	if (!s)
		abort();
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static size_t body_field(struct rd *r, const uint8_t **p)
{
	size_t n = byte(r) << 8;

	n |= byte(r);
	return take(r, n, p);
}

static int has_crlf(const char *s)
{
	return strchr(s, '\r') || strchr(s, '\n');
}

static int utf8_ok(const char *s)
{
	struct mc_ew_result r;

	/* mc_ew_encode refuses exactly what is not UTF-8. */
	return mc_ew_encode(s, strlen(s), 0, 0, NULL, 0, &r) != MC_EBADCHAR;
}

struct buf {
	char *p;
	size_t n, cap;
};

static int buf_sink(void *ctx, const void *p, size_t n)
{
	struct buf *b = ctx;

	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	return 0;
}

static char *canon(const uint8_t *p, size_t n, int msg, size_t *outn)
{
	char *o = malloc(2 * n + 1);
	size_t k = 0;

	if (!o)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (msg && (p[i] == '\r' || p[i] == '\n')) {
			o[k++] = '\r';
			o[k++] = '\n';
			if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
				i++;
			continue;
		}
		if (!msg && p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			o[k++] = '\r';
		o[k++] = (char)p[i];
	}
	*outn = k;
	return o;
}

struct leaf {
	const uint8_t *p;
	size_t n;
	int mode; /* 0 exact, 1 text, 2 message */
	char *filename;
	int role; /* 0 body, 1 inline, 2 attachment */
};

static int lines_ok(const char *p, size_t n, size_t max)
{
	size_t start = 0;

	for (size_t i = 0; i < n; i++)
		if (p[i] == '\n') {
			if (i == 0 || p[i - 1] != '\r' || i - 1 - start > max)
				return 0;
			start = i + 1;
		}
	return n - start <= max;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {NULL,         "text/plain",     "application/pdf",
	                                    "image/png",  "message/rfc822", "text/html",
	                                    "audio/mpeg", "text/x-weird"};
	struct rd r = {data, size, 0};
	struct mc_compose *c = NULL;
	struct leaf leaves[8];
	size_t nleaves = 0, natt;
	unsigned flags = byte(&r);
	char *subject, *fname, *tname;
	int fwd = 0, long_addr = 0;
	struct mc_compose_info info;
	struct buf whole = {0}, pieces = {0};
	struct mc_mime_message *m = NULL;
	mc_status st;

	if (mc_compose_new(&c, NULL) != MC_OK)
		return 0;
	subject = str_field(&r);
	fname = str_field(&r);
	tname = str_field(&r);
	st = mc_compose_set_subject(c, subject);
	FUZZ_ASSERT((st == MC_EHEADER) == !!has_crlf(subject));
	FUZZ_ASSERT(st == MC_OK || st == MC_EHEADER || st == MC_EBADCHAR);
	FUZZ_ASSERT((st == MC_EBADCHAR) == (!has_crlf(subject) && !utf8_ok(subject)));
	if (st != MC_OK) {
		free(subject);
		subject = NULL;
	}
	st = mc_compose_set_from(c, fname, "from@example.com");
	FUZZ_ASSERT((st == MC_EHEADER) == !!has_crlf(fname));
	if (st)
		FUZZ_ASSERT(mc_compose_set_from(c, NULL, "from@example.com") == MC_OK);
	st = mc_compose_add_to(c, tname, "to@example.org");
	FUZZ_ASSERT((st == MC_EHEADER) == !!has_crlf(tname));
	if (st)
		FUZZ_ASSERT(mc_compose_add_to(c, NULL, "to@example.org") == MC_OK);
	/* The address itself from the input: injection refused. */
	{
		char *addr = str_field(&r);

		st = mc_compose_add_cc(c, NULL, addr);
		if (has_crlf(addr))
			FUZZ_ASSERT(st == MC_EHEADER);
		/* An address longer than a line gets a line of its own. */
		long_addr = st == MC_OK && strlen(addr) > 74;
		free(addr);
	}
	FUZZ_ASSERT(mc_compose_set_date(c, 1700000000) == MC_OK);
	if (flags & 1) {
		const uint8_t *p;
		size_t n = body_field(&r, &p);

		FUZZ_ASSERT(mc_compose_set_text(c, p, n) == MC_OK);
		leaves[nleaves++] = (struct leaf){p, n, 1, NULL, 0};
	}
	if (flags & 2) {
		const uint8_t *p;
		size_t n = body_field(&r, &p);

		FUZZ_ASSERT(mc_compose_set_html(c, p, n) == MC_OK);
		leaves[nleaves++] = (struct leaf){p, n, 1, NULL, 0};
	}
	natt = (flags >> 2) & 3;
	for (size_t k = 0; k < natt; k++) {
		struct mc_compose_attachment a = {0};
		char *fn = str_field(&r);
		unsigned sel = byte(&r), enc = byte(&r);
		const uint8_t *p;
		size_t n = body_field(&r, &p);

		a.filename = *fn ? fn : NULL;
		a.content_type = types[sel % 8];
		a.encoding = (int)(enc % 3);
		a.content_id = (sel & 8) ? "cid@example.com" : NULL;
		st = mc_compose_attach_mem(c, &a, p, n);
		if (*fn && has_crlf(fn)) {
			FUZZ_ASSERT(st == MC_EHEADER);
		} else if (st == MC_OK) {
			int msg = a.content_type && strcmp(a.content_type, "message/rfc822") == 0;

			fwd |= msg;
			leaves[nleaves++] =
			    (struct leaf){p, n, msg ? 2 : 0, *fn ? fn : NULL, a.content_id ? 1 : 2};
			if (*fn)
				fn = NULL; /* now owned by leaves[] */
		}
		free(fn);
	}
	st = mc_compose_prepare(c, &info);
	FUZZ_ASSERT(st == MC_OK);
	FUZZ_ASSERT(mc_compose_write(c, buf_sink, &whole) == MC_OK);
	FUZZ_ASSERT(info.size == whole.n);
	FUZZ_ASSERT(fwd || lines_ok(whole.p, whole.n, long_addr ? 998 : 78));
	/* Any chunking gives the same bytes. */
	FUZZ_ASSERT(mc_compose_rewind(c) == MC_OK);
	for (size_t step = 1 + (flags >> 4);;) {
		char tmp[32];
		size_t got;

		FUZZ_ASSERT(mc_compose_read(c, tmp, step, &got) == MC_OK);
		if (got == 0)
			break;
		buf_sink(&pieces, tmp, got);
	}
	FUZZ_ASSERT(pieces.n == whole.n && memcmp(pieces.p, whole.p, whole.n) == 0);

	/* Round trip through the parser. */
	FUZZ_ASSERT(mc_mime_parse(whole.p, whole.n, NULL, NULL, &m) == MC_OK);
	{
		struct leaf order[8];
		size_t no = 0, e = 0;
		int doc = (flags & 3) != 0;

		for (size_t i = 0; i < nleaves; i++)
			if (leaves[i].role == 0)
				order[no++] = leaves[i];
		for (size_t i = 0; doc && i < nleaves; i++)
			if (leaves[i].role == 1)
				order[no++] = leaves[i];
		for (size_t i = 0; i < nleaves; i++)
			if (leaves[i].role == 2 || (!doc && leaves[i].role == 1))
				order[no++] = leaves[i];
		if (no == 0)
			order[no++] = (struct leaf){(const uint8_t *)"", 0, 1, NULL, 0};
		for (size_t i = 0; i < m->nparts; i++) {
			const struct mc_mime_part *p = &m->parts[i];
			int inside = 0;
			size_t en;
			char *want;

			for (uint32_t q = p->parent; q != UINT32_MAX; q = m->parts[q].parent)
				if (m->parts[q].kind == MC_MIME_MESSAGE)
					inside = 1;
			if (inside || p->kind == MC_MIME_MULTIPART)
				continue;
			FUZZ_ASSERT(e < no);
			if (order[e].mode == 0) {
				want = malloc(order[e].n + 1);
				if (!want)
					abort();
				memcpy(want, order[e].p, order[e].n);
				en = order[e].n;
			} else {
				want = canon(order[e].p, order[e].n, order[e].mode == 2, &en);
			}
			if (order[e].mode == 2) {
				FUZZ_ASSERT(p->kind == MC_MIME_MESSAGE);
				/* Known parser edge (reported): when the forwarded
				 * message is a header block without the blank line that
				 * ends it, the parser counts the delimiter's CRLF as part
				 * of the message/rfc822 body. */
				FUZZ_ASSERT(
				    (p->body_length == en ||
				     (p->body_length == en + 2 &&
				      memcmp(m->buf + p->body_offset + en, "\r\n", 2) == 0)) &&
				    memcmp(m->buf + p->body_offset, want, en) == 0);
			} else {
				size_t need = 0, dn = 0;
				char *d;
				mc_status ds = mc_mime_decode_to(m, i, 0, NULL, 0, &need);

				(void)ds;
				d = malloc(need + 1);
				if (!d)
					abort();
				FUZZ_ASSERT(mc_mime_decode_to(m, i, 0, d, need + 1, &dn) == MC_OK);
				FUZZ_ASSERT(dn == en && memcmp(d, want, en) == 0);
				free(d);
			}
			if (order[e].filename) {
				char fn[2048];
				size_t fw = 0;

				const char *w = order[e].filename;
				size_t wl;

				/* The composer drops white space at the ends. */
				while (*w == ' ' || *w == '\t')
					w++;
				wl = strlen(w);
				while (wl && (w[wl - 1] == ' ' || w[wl - 1] == '\t'))
					wl--;
				if (wl == 0) {
					FUZZ_ASSERT(mc_mime_filename(m, i, fn, sizeof fn, &fw) ==
					            MC_EINVAL);
				} else {
					FUZZ_ASSERT(mc_mime_filename(m, i, fn, sizeof fn, &fw) ==
					            MC_OK);
					FUZZ_ASSERT(fw == wl && memcmp(fn, w, fw) == 0);
				}
			}
			free(want);
			e++;
		}
		FUZZ_ASSERT(e == no);
	}
	if (subject) {
		const struct mc_mime_header *h = mc_mime_header_find(m, 0, "Subject", NULL);
		char raw[4096], dec[8192];
		struct mc_ew_result er;
		size_t un, sn = strlen(subject);
		size_t a = 0, b = sn;

		FUZZ_ASSERT(h && h->value.n < sizeof raw);
		un = mc_mime_unfold(h->value, raw);
		FUZZ_ASSERT(mc_ew_decode(raw, un, 0, dec, sizeof dec, &er) == MC_OK);
		/* The decoder trims white space at the ends (RFC 5322 unfolding
		 * cannot tell it from folding); compare the rest. */
		while (a < b && (subject[a] == ' ' || subject[a] == '\t'))
			a++;
		while (b > a && (subject[b - 1] == ' ' || subject[b - 1] == '\t'))
			b--;
		FUZZ_ASSERT((er.written == sn && memcmp(dec, subject, sn) == 0) ||
		            (er.written == b - a && memcmp(dec, subject + a, b - a) == 0));
	}
	mc_mime_free(m);
	for (size_t i = 0; i < nleaves; i++)
		free(leaves[i].filename);
	free(subject);
	free(fname);
	free(tname);
	free(whole.p);
	free(pieces.p);
	mc_compose_free(c);
	return 0;
}
