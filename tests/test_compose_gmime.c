/* test_compose_gmime.c: composer output read by GMime 3 (built only when
 * pkg-config finds gmime-3.0). For many compositions (text, HTML, inline
 * parts, attachments with ASCII, non-ASCII and long names, forwarded
 * messages), GMime's parser finds the same tree of parts in the same order,
 * the same decoded bodies and file names, the same decoded Subject, the same
 * display names and addresses, and our Content-Transfer-Encoding. */
#include <gmime/gmime.h>

#include "test.h"
#include "mimecodec/compose.h"

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

/* What we expect of each part, in pre-order. */
struct want {
	const char *type; /* "multipart/mixed", ... */
	const char *filename;
	const char *body;
	size_t n;
	int canon; /* 1: text (LF -> CRLF) */
};

static char *canon_text(const char *p, size_t n, size_t *outn)
{
	char *o = mc_t_xmalloc(2 * n + 1);
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			o[k++] = '\r';
		o[k++] = p[i];
	}
	*outn = k;
	return o;
}

struct walk {
	const struct want *w;
	size_t nw, i;
};

static void check_object(struct walk *wk, GMimeObject *obj)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	char *mt = g_mime_content_type_get_mime_type(ct);
	const struct want *w = wk->i < wk->nw ? &wk->w[wk->i] : NULL;

	wk->i++;
	if (!CHECK(w != NULL)) {
		g_free(mt);
		return;
	}
	CHECK_EQ_STR(mt, w->type);
	g_free(mt);
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);

		for (int k = 0; k < g_mime_multipart_get_count(mp); k++)
			check_object(wk, g_mime_multipart_get_part(mp, k));
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		CHECK(inner != NULL);
		if (inner) {
			CHECK_EQ_STR(g_mime_message_get_subject(inner), w->body);
			check_object(wk, g_mime_message_get_mime_part(inner));
		}
	} else if (GMIME_IS_PART(obj)) {
		GMimePart *part = GMIME_PART(obj);
		GMimeDataWrapper *dw = g_mime_part_get_content(part);
		GMimeStream *ms = g_mime_stream_mem_new();
		GByteArray *ba;
		size_t en;
		char *exp = w->canon ? canon_text(w->body, w->n, &en) : NULL;

		if (w->filename)
			CHECK_EQ_STR(g_mime_part_get_filename(part), w->filename);
		else
			CHECK(g_mime_part_get_filename(part) == NULL);
		CHECK(dw != NULL);
		if (dw)
			g_mime_data_wrapper_write_to_stream(dw, ms);
		ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
		if (exp)
			CHECK_EQ_MEM(ba->data, ba->len, exp, en);
		else
			CHECK_EQ_MEM(ba->data, ba->len, w->body, w->n);
		free(exp);
		g_object_unref(ms);
	}
}

static GMimeMessage *gmime_parse(const struct buf *b)
{
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(b->p, b->n);
	GMimeParser *ps = g_mime_parser_new_with_stream(st);
	GMimeMessage *m = g_mime_parser_construct_message(ps, NULL);

	g_object_unref(ps);
	g_object_unref(st);
	return m;
}

static void test_parts(void)
{
	static const char *const names[] = {
	    "report.pdf",
	    "r\xc3\xa9sum\xc3\xa9 final.docx",
	    ("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x95\xe3\x82\xa1\xe3\x82\xa4"
	     "\xe3\x83\xab.txt"),
	    "a very long attachment file name that needs rfc 2231 continuation lines.tar.gz",
	};
	static const char fwd[] = "From: x@example.com\nTo: y@example.com\nSubject: inner one\n"
	                          "MIME-Version: 1.0\nContent-Type: text/plain\n\ninner body\n";

	for (int iter = 0; iter < 40; iter++) {
		struct mc_compose *c = NULL;
		struct want w[24];
		size_t nw = 0, nown = 0;
		char *owned[16];
		int has_text = iter % 2, has_html = (iter / 2) % 2, ninl = (iter / 4) % 3;
		int natt = (iter / 12) % 4, fwd_on = iter % 5 == 3;
		struct want text = {"text/plain", NULL, NULL, 0, 1},
		            html = {"text/html", NULL, NULL, 0, 1};
		struct want inl[3], att[5];
		size_t natt_w = 0;
		struct buf b = {0};
		struct walk wk;
		GMimeMessage *m;

		CHECK_EQ_INT(mc_compose_new(&c, NULL), MC_OK);
		CHECK_EQ_INT(
		    mc_compose_set_from(c, "J\xc3\xb6rg M\xc3\xbcller", "joerg@example.de"), MC_OK);
		CHECK_EQ_INT(mc_compose_add_to(c, "Doe, John", "john@example.org"), MC_OK);
		CHECK_EQ_INT(mc_compose_set_subject(c, "Gr\xc3\xbc\xc3\x9f"
		                                       "e \xe2\x80\x94 a subject long enough to be "
		                                       "folded over more than one line, surely"),
		             MC_OK);
		if (has_text) {
			size_t n = (size_t)(mc_t_rand() % 3000);
			char *p = mc_t_xmalloc(n + 1);

			for (size_t i = 0; i < n; i++) {
				unsigned r = (unsigned)(mc_t_rand() % 100);

				p[i] = r < 5    ? '\n'
				       : r < 8  ? (char)0xc3
				       : r < 11 ? (char)0xa9
				                : (char)('a' + r % 26);
			}
			owned[nown++] = p;
			text.body = p;
			text.n = n;
			CHECK_EQ_INT(mc_compose_set_text(c, p, n), MC_OK);
		}
		if (has_html) {
			html.body = "<html><body><p>caf\xc3\xa9</p></body></html>\n";
			html.n = strlen(html.body);
			CHECK_EQ_INT(mc_compose_set_html(c, html.body, html.n), MC_OK);
		}
		for (int k = 0; k < ninl; k++) {
			struct mc_compose_attachment a = {0};
			size_t n = (size_t)(mc_t_rand() % 2000);
			char *p = mc_t_xmalloc(n + 1);
			static const char *const cids[] = {"one@x", "two@x"};

			mc_t_fill(p, n);
			owned[nown++] = p;
			a.content_id = cids[k];
			a.filename = k ? "b.gif" : "a.png";
			inl[k] = (struct want){k ? "image/gif" : "image/png", a.filename, p, n, 0};
			CHECK_EQ_INT(mc_compose_attach_mem(c, &a, p, n), MC_OK);
		}
		for (int k = 0; k < natt; k++) {
			struct mc_compose_attachment a = {0};
			size_t n = (size_t)(mc_t_rand() % 5000);
			char *p = mc_t_xmalloc(n + 1);
			static const char *const types[] = {"application/pdf",
			                                    "application/octet-stream",
			                                    "text/plain", "application/gzip"};

			if (k == 2) {
				for (size_t i = 0; i < n; i++)
					p[i] = i % 40 == 39 ? '\n' : (char)('A' + i % 26);
			} else {
				mc_t_fill(p, n);
			}
			owned[nown++] = p;
			a.filename = names[k];
			a.content_type = k == 1 ? "application/octet-stream" : NULL;
			att[natt_w++] = (struct want){types[k], names[k], p, n, 0};
			CHECK_EQ_INT(mc_compose_attach_mem(c, &a, p, n), MC_OK);
		}
		if (fwd_on) {
			struct mc_compose_attachment a = {0};

			a.content_type = "message/rfc822";
			att[natt_w++] = (struct want){"message/rfc822", NULL, "inner one", 0, 0};
			CHECK_EQ_INT(mc_compose_attach_mem(c, &a, fwd, sizeof fwd - 1), MC_OK);
		}
		/* Expected tree in pre-order. */
		{
			int doc = has_text || has_html;
			int mixed = natt_w || (ninl && !doc);
			int related = ninl && doc;

			if (mixed)
				w[nw++] = (struct want){"multipart/mixed", NULL, NULL, 0, 0};
			if (has_text && has_html)
				w[nw++] = (struct want){"multipart/alternative", NULL, NULL, 0, 0};
			if (has_text && has_html) {
				w[nw++] = text;
				if (related)
					w[nw++] =
					    (struct want){"multipart/related", NULL, NULL, 0, 0};
				w[nw++] = html;
			} else if (doc) {
				if (related)
					w[nw++] =
					    (struct want){"multipart/related", NULL, NULL, 0, 0};
				w[nw++] = has_text ? text : html;
			}
			for (int k = 0; k < ninl; k++)
				w[nw++] = inl[k];
			for (size_t k = 0; k < natt_w; k++) {
				w[nw++] = att[k];
				if (strcmp(att[k].type, "message/rfc822") == 0)
					w[nw++] = (struct want){"text/plain", NULL, "inner body\n",
					                        11, 1};
			}
			if (nw == 0)
				w[nw++] = (struct want){"text/plain", NULL, "", 0, 1};
		}
		CHECK_EQ_INT(mc_compose_write(c, buf_sink, &b), MC_OK);
		m = gmime_parse(&b);
		CHECK(m != NULL);
		if (m) {
			InternetAddressList *from = g_mime_message_get_from(m);
			InternetAddressList *to =
			    g_mime_message_get_addresses(m, GMIME_ADDRESS_TYPE_TO);

			CHECK_EQ_STR(g_mime_message_get_subject(m),
			             "Gr\xc3\xbc\xc3\x9f"
			             "e \xe2\x80\x94 a subject long enough to be folded over more "
			             "than one line, surely");
			CHECK_EQ_INT(internet_address_list_length(from), 1);
			if (internet_address_list_length(from) == 1) {
				InternetAddress *ia = internet_address_list_get_address(from, 0);

				CHECK_EQ_STR(internet_address_get_name(ia),
				             "J\xc3\xb6rg M\xc3\xbcller");
				CHECK_EQ_STR(
				    internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)),
				    "joerg@example.de");
			}
			CHECK_EQ_INT(internet_address_list_length(to), 1);
			if (internet_address_list_length(to) == 1)
				CHECK_EQ_STR(internet_address_get_name(
				                 internet_address_list_get_address(to, 0)),
				             "Doe, John");
			wk.w = w;
			wk.nw = nw;
			wk.i = 0;
			check_object(&wk, g_mime_message_get_mime_part(m));
			CHECK_EQ_SIZE(wk.i, nw);
			g_object_unref(m);
		}
		for (size_t i = 0; i < nown; i++)
			free(owned[i]);
		free(b.p);
		mc_compose_free(c);
		MC_TEST_CTX("gmime iteration %d\n", iter);
	}
}

int main(void)
{
	g_mime_init();
	test_parts();
	g_mime_shutdown();
	MC_TEST_END();
}
