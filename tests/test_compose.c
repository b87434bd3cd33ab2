/* test_compose.c: the streaming MIME composer (mimecodec/compose.h).
 * Tables of part sets and the structure each gives; the transfer encoding
 * chosen for each kind of content; folded and encoded headers read back
 * through our parser and RFC 2047 decoder; header injection refused for
 * every caller string; the exact size against the real output for many
 * random compositions, read in random and 1-byte chunks and after rewind;
 * every line within 78 columns plus CRLF; boundaries that occur in the
 * content (forced through the test RNG hook); a 64 MiB attachment through
 * a pull callback in constant memory; round trips through mc_mime_parse
 * comparing every decoded body and file name. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "mimecodec/base64.h"
#include "mimecodec/compose.h"
#include "mimecodec/encword.h"
#include "mimecodec/mime.h"
#include "compose_internal.h"

/* ---- output helpers --------------------------------------------------------- */

static const void *find(const void *h, size_t hn, const void *nd, size_t nn)
{
	const char *p = h;

	for (size_t i = 0; nn <= hn && i <= hn - nn; i++)
		if (memcmp(p + i, nd, nn) == 0)
			return p + i;
	return NULL;
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
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
	return 0;
}

/* Reads everything with mc_compose_read in chunks of `chunk` bytes (0:
 * random sizes 1..5000). Returns the status. */
static mc_status read_all(struct mc_compose *c, size_t chunk, struct buf *out)
{
	size_t max = chunk ? chunk : 5000;
	char *tmp = mc_t_xmalloc(max);
	mc_status st;

	for (;;) {
		size_t cap = chunk ? chunk : 1 + (size_t)(mc_t_rand() % max);
		size_t got;

		st = mc_compose_read(c, tmp, cap, &got);
		if (st || got == 0)
			break;
		if (got > cap) {
			st = MC_EINVAL;
			break;
		}
		buf_sink(out, tmp, got);
	}
	free(tmp);
	return st;
}

/* Every line ends in CRLF (except possibly the last) and has at most 78
 * characters. Returns the number of bad lines. */
static int bad_lines(const char *p, size_t n)
{
	size_t start = 0;
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			if (i == 0 || p[i - 1] != '\r' || i - 1 - start > 78)
				bad++;
			start = i + 1;
		} else if (p[i] == '\r' && (i + 1 == n || p[i + 1] != '\n')) {
			bad++;
		}
	}
	if (n - start > 78)
		bad++;
	return bad;
}

/* Canonical text as the composer promises it: LF not after CR -> CRLF. */
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

/* Every CR, LF and CRLF -> CRLF. */
static char *canon_msg(const char *p, size_t n, size_t *outn)
{
	char *o = mc_t_xmalloc(2 * n + 1);
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' || p[i] == '\n') {
			o[k++] = '\r';
			o[k++] = '\n';
			if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
				i++;
		} else {
			o[k++] = p[i];
		}
	}
	*outn = k;
	return o;
}

static struct mc_compose *new_basic(void)
{
	struct mc_compose *c = NULL;

	if (mc_compose_new(&c, NULL) != MC_OK)
		abort();
	CHECK_EQ_INT(mc_compose_set_from(c, "Sender", "sender@example.com"), MC_OK);
	CHECK_EQ_INT(mc_compose_add_to(c, NULL, "rcpt@example.org"), MC_OK);
	CHECK_EQ_INT(mc_compose_set_date(c, 1700000000), MC_OK);
	return c;
}

/* Composes fully (prepare, write) and checks size == output length. */
static struct buf finish(struct mc_compose *c)
{
	struct buf b = {0};
	struct mc_compose_info info;

	CHECK_EQ_INT(mc_compose_prepare(c, &info), MC_OK);
	CHECK_EQ_INT(mc_compose_write(c, buf_sink, &b), MC_OK);
	CHECK_EQ_SIZE(info.size, b.n);
	CHECK_EQ_INT(bad_lines(b.p, b.n), 0);
	return b;
}

static int parse(const struct buf *b, struct mc_mime_message **m)
{
	mc_status st = mc_mime_parse(b->p, b->n, NULL, NULL, m);

	CHECK_EQ_INT(st, MC_OK);
	return st == MC_OK;
}

/* The lower-case "type/subtype" of every part in pre-order, joined by ' '. */
static void structure(const struct mc_mime_message *m, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < m->nparts; i++) {
		const struct mc_mime_part *p = &m->parts[i];
		int k = snprintf(out + o, cap - o, "%s%.*s/%.*s", i ? " " : "", (int)p->type.n,
		                 p->type.p, (int)p->subtype.n, p->subtype.p);

		if (k < 0 || (size_t)k >= cap - o)
			break;
		o += (size_t)k;
	}
	for (size_t i = 0; i < o; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] + 32);
}

/* The unfolded value of header `name` of part i into dst, or "" . */
static const char *header_value(const struct mc_mime_message *m, size_t i, const char *name,
                                char *dst, size_t cap)
{
	const struct mc_mime_header *h = mc_mime_header_find(m, i, name, NULL);
	size_t n;

	dst[0] = '\0';
	if (!h || h->value.n >= cap)
		return dst;
	n = mc_mime_unfold(h->value, dst);
	dst[n] = '\0';
	return dst;
}

static const char *cte(const struct mc_mime_message *m, size_t i)
{
	static char v[64];

	return header_value(m, i, "Content-Transfer-Encoding", v, sizeof v);
}

static char *decode_part(const struct mc_mime_message *m, size_t i, size_t *n)
{
	size_t need = 0;
	char *d;

	mc_status probe = mc_mime_decode_to(m, i, 0, NULL, 0, &need);

	(void)probe;
	d = mc_t_xmalloc(need + 1);
	CHECK_EQ_INT(mc_mime_decode_to(m, i, 0, d, need + 1, n), MC_OK);
	return d;
}

/* ---- structure ----------------------------------------------------------------- */

enum { P_TEXT = 1, P_HTML = 2, P_INLINE = 4, P_ATTACH = 8, P_MSG = 16, P_ATTACH2 = 32 };

static void add_parts(struct mc_compose *c, unsigned set)
{
	static const char msg[] = "From: a@example.com\nTo: b@example.com\nSubject: fwd\n\nbody\n";
	struct mc_compose_attachment a;

	if (set & P_TEXT)
		CHECK_EQ_INT(mc_compose_set_text(c, "plain text\n", 11), MC_OK);
	if (set & P_HTML)
		CHECK_EQ_INT(mc_compose_set_html(c, "<p>html</p>\n", 12), MC_OK);
	if (set & P_INLINE) {
		memset(&a, 0, sizeof a);
		a.filename = "logo.png";
		a.content_id = "logo@example.com";
		CHECK_EQ_INT(mc_compose_attach_mem(c, &a, "\x89PNG\r\n\x1a\n", 8), MC_OK);
	}
	if (set & P_ATTACH) {
		memset(&a, 0, sizeof a);
		a.filename = "data.bin";
		CHECK_EQ_INT(mc_compose_attach_mem(c, &a, "\x00\x01\x02\xff", 4), MC_OK);
	}
	if (set & P_MSG) {
		memset(&a, 0, sizeof a);
		a.content_type = "message/rfc822";
		CHECK_EQ_INT(mc_compose_attach_mem(c, &a, msg, sizeof msg - 1), MC_OK);
	}
	if (set & P_ATTACH2) {
		memset(&a, 0, sizeof a);
		a.filename = "notes.txt";
		CHECK_EQ_INT(mc_compose_attach_mem(c, &a, "line one\r\nline two\r\n", 20), MC_OK);
	}
}

static void test_structure(void)
{
	static const struct {
		unsigned set;
		const char *want;
	} cases[] = {
	    {0, "text/plain"},
	    {P_TEXT, "text/plain"},
	    {P_HTML, "text/html"},
	    {P_TEXT | P_HTML, "multipart/alternative text/plain text/html"},
	    {P_TEXT | P_ATTACH, "multipart/mixed text/plain application/octet-stream"},
	    {P_HTML | P_INLINE, "multipart/related text/html image/png"},
	    {P_TEXT | P_INLINE, "multipart/related text/plain image/png"},
	    {P_TEXT | P_HTML | P_INLINE,
	     "multipart/alternative text/plain multipart/related text/html image/png"},
	    {P_TEXT | P_HTML | P_INLINE | P_ATTACH,
	     "multipart/mixed multipart/alternative text/plain multipart/related text/html "
	     "image/png application/octet-stream"},
	    {P_TEXT | P_HTML | P_ATTACH | P_ATTACH2,
	     "multipart/mixed multipart/alternative text/plain text/html "
	     "application/octet-stream text/plain"},
	    {P_ATTACH, "multipart/mixed application/octet-stream"},
	    {P_INLINE, "multipart/mixed image/png"},
	    {P_TEXT | P_MSG, "multipart/mixed text/plain message/rfc822 text/plain"},
	    {P_TEXT | P_HTML | P_INLINE | P_ATTACH | P_MSG | P_ATTACH2,
	     "multipart/mixed multipart/alternative text/plain multipart/related text/html "
	     "image/png application/octet-stream message/rfc822 text/plain text/plain"},
	};

	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct mc_compose *c = new_basic();
		struct mc_mime_message *m;
		struct buf b;
		char got[512];

		add_parts(c, cases[k].set);
		b = finish(c);
		if (parse(&b, &m)) {
			structure(m, got, sizeof got);
			CHECK_EQ_STR(got, cases[k].want);
			CHECK_EQ_INT(m->nwarnings, 0);
			mc_mime_free(m);
		}
		free(b.p);
		mc_compose_free(c);
		MC_TEST_CTX("structure case %zu\n", k);
	}
}

/* ---- transfer encodings ------------------------------------------------------- */

static char *repeat(const char *unit, size_t times, size_t *n)
{
	size_t ul = strlen(unit);
	char *p = mc_t_xmalloc(ul * times + 1);

	for (size_t i = 0; i < times; i++)
		memcpy(p + i * ul, unit, ul);
	p[ul * times] = '\0';
	*n = ul * times;
	return p;
}

static void test_encodings(void)
{
	static const struct {
		int attach;        /* 0: text body; 1: attachment */
		const char *ctype; /* attachments */
		const char *unit;
		size_t times;
		const char *want;
	} cases[] = {
	    {0, NULL, "short ASCII line\n", 3, "7bit"},
	    {0, NULL, "", 1, "7bit"},
	    {0, NULL, "no final newline", 1, "7bit"},
	    {0, NULL, "x", 78, "7bit"},
	    {0, NULL, "x", 79, "quoted-printable"},
	    {0, NULL, "caf\xc3\xa9 au lait\n", 5, "quoted-printable"},
	    {0, NULL, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 ", 20, "base64"},
	    {0, NULL, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 30, "base64"},
	    {0, NULL, "bare\rCR\n", 2, "quoted-printable"},
	    {0, NULL, "nul\0byte", 1, "7bit"}, /* strlen stops at the NUL */
	    {0, NULL, "trailing space \n", 2, "7bit"},
	    {1, "application/octet-stream", "\x01\x02\x03\xfe\xff", 10, "base64"},
	    {1, "application/octet-stream", "ascii with crlf\r\n", 4, "7bit"},
	    {1, "application/octet-stream", "ascii with lf\n", 4, "base64"},
	    {1, "text/plain", "ascii with lf\n", 4, "base64"},
	    {1, "text/plain", "ascii with crlf\r\n", 4, "7bit"},
	    {1, "text/plain", "na\xc3\xafve text in mostly plain ASCII words\r\n", 10,
	     "quoted-printable"},
	    {1, "text/plain", "long line ", 20, "quoted-printable"},
	    {1, "image/png", "\x89PNG", 100, "base64"},
	};

	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct mc_compose *c = new_basic();
		struct mc_mime_message *m;
		struct buf b;
		size_t n, dn, en;
		char *body = repeat(cases[k].unit, cases[k].times, &n);

		if (!cases[k].attach) {
			CHECK_EQ_INT(mc_compose_set_text(c, body, n), MC_OK);
		} else {
			struct mc_compose_attachment a = {0};

			a.content_type = cases[k].ctype;
			a.filename = "f";
			CHECK_EQ_INT(mc_compose_attach_mem(c, &a, body, n), MC_OK);
		}
		b = finish(c);
		if (parse(&b, &m)) {
			size_t i = m->nparts - 1;
			char *d = decode_part(m, i, &dn);
			char *e = cases[k].attach ? NULL : canon_text(body, n, &en);

			CHECK_EQ_STR(cte(m, i), cases[k].want);
			if (cases[k].attach)
				CHECK_EQ_MEM(d, dn, body, n);
			else
				CHECK_EQ_MEM(d, dn, e, en);
			free(d);
			free(e);
			mc_mime_free(m);
		}
		free(body);
		free(b.p);
		mc_compose_free(c);
		MC_TEST_CTX("encoding case %zu\n", k);
	}
}

/* Encodings the caller asks for: always the bytes back. */
static void test_forced_encodings(void)
{
	static const struct {
		int enc;
		const char *ctype;
		const char *data;
		size_t n;
		const char *want;
	} cases[] = {
	    {MC_COMPOSE_ENC_QP, "application/octet-stream", "a\nb\rc\r\nd\0e\xff", 11,
	     "quoted-printable"},
	    {MC_COMPOSE_ENC_QP, "text/plain", "line\r\nline\r\n", 12, "quoted-printable"},
	    {MC_COMPOSE_ENC_QP, "text/plain", "unix\nlines\n", 11, "quoted-printable"},
	    {MC_COMPOSE_ENC_BASE64, "text/plain", "short\r\n", 7, "base64"},
	    {MC_COMPOSE_ENC_BASE64, "application/pdf", "", 0, "base64"},
	    {MC_COMPOSE_ENC_QP, "image/png", "", 0, "quoted-printable"},
	};

	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct mc_compose *c = new_basic();
		struct mc_compose_attachment a = {0};
		struct mc_mime_message *m;
		struct buf b;

		a.content_type = cases[k].ctype;
		a.encoding = cases[k].enc;
		CHECK_EQ_INT(mc_compose_attach_mem(c, &a, cases[k].data, cases[k].n), MC_OK);
		b = finish(c);
		if (parse(&b, &m)) {
			size_t dn;
			char *d = decode_part(m, 1, &dn);

			CHECK_EQ_STR(cte(m, 1), cases[k].want);
			CHECK_EQ_MEM(d, dn, cases[k].data, cases[k].n);
			free(d);
			mc_mime_free(m);
		}
		free(b.p);
		mc_compose_free(c);
		MC_TEST_CTX("forced encoding case %zu\n", k);
	}
}

/* ---- headers --------------------------------------------------------------------- */

/* Decodes an RFC 2047 value into a static buffer. */
static const char *ew_dec(const char *p, size_t n, unsigned flags)
{
	static char out[4096];
	struct mc_ew_result r;

	if (mc_ew_decode(p, n, flags, out, sizeof out - 1, &r) != MC_OK)
		return "(decode error)";
	out[r.written] = '\0';
	return out;
}

static void test_headers(void)
{
	static const char *const subjects[] = {
	    "Hello",
	    "",
	    "Caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9"
	    "e",
	    "A rather long subject line that goes past the seventy-eight column limit "
	    "and therefore needs to be folded onto continuation lines, twice even, "
	    "because it is so very long indeed",
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe4\xbb\xb6\xe5\x90\x8d "
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe4\xbb\xb6\xe5\x90\x8d "
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe4\xbb\xb6\xe5\x90\x8d "
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe4\xbb\xb6\xe5\x90\x8d",
	    "looks =?utf-8?q?encoded?= but is not",
	    "tab\there",
	    "Supercalifragilisticexpialidociousnessxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	};
	static const char *const names[] = {
	    "Plain Name",
	    "Doe, John",
	    "J\xc3\xb6rg M\xc3\xbcller",
	    "\"Quoted\" \\back",
	    "\xd0\x90\xd0\xbb\xd0\xb5\xd0\xba\xd1\x81\xd0\xb0\xd0\xbd\xd0\xb4\xd1\x80 "
	    "\xd0\x9f\xd1\x83\xd1\x88\xd0\xba\xd0\xb8\xd0\xbd \xd0\xb8 \xd0\xb5\xd0\xb3\xd0\xbe "
	    "\xd0\xb4\xd1\x80\xd1\x83\xd0\xb7\xd1\x8c\xd1\x8f",
	    "A very long display name that will not fit on one line with its address at all",
	    "x",
	    /* 77 characters that grow past a line once quoted and escaped */
	    "KKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKK\\\\\\\\",
	};

	for (size_t k = 0; k < sizeof subjects / sizeof subjects[0]; k++) {
		struct mc_compose *c = new_basic();
		struct mc_mime_message *m;
		struct buf b;
		char v[4096];

		CHECK_EQ_INT(mc_compose_set_subject(c, subjects[k]), MC_OK);
		CHECK_EQ_INT(mc_compose_add_header(c, "X-Extra", subjects[k]), MC_OK);
		b = finish(c);
		if (parse(&b, &m)) {
			header_value(m, 0, "Subject", v, sizeof v);
			CHECK_EQ_STR(ew_dec(v, strlen(v), 0), subjects[k]);
			header_value(m, 0, "X-Extra", v, sizeof v);
			CHECK_EQ_STR(ew_dec(v, strlen(v), 0), subjects[k]);
			mc_mime_free(m);
		}
		free(b.p);
		mc_compose_free(c);
		MC_TEST_CTX("subject %zu\n", k);
	}

	/* Display names: all in one To field and each in From. */
	{
		struct mc_compose *c = NULL;
		struct mc_mime_message *m;
		struct buf b;
		char v[8192], addr[64];
		size_t pos = 0, k = 0;
		struct mc_mime_addr a;

		CHECK_EQ_INT(mc_compose_new(&c, NULL), MC_OK);
		CHECK_EQ_INT(mc_compose_set_from(c, names[2], "joerg@example.de"), MC_OK);
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
			snprintf(addr, sizeof addr, "user%zu@example.com", i);
			CHECK_EQ_INT(mc_compose_add_to(c, names[i], addr), MC_OK);
			CHECK_EQ_INT(mc_compose_add_cc(c, NULL, addr), MC_OK);
		}
		CHECK_EQ_INT(mc_compose_add_reply_to(c, NULL, "reply@example.com"), MC_OK);
		b = finish(c);
		if (parse(&b, &m)) {
			struct mc_span sp;
			char ph[4096];
			size_t pn;

			header_value(m, 0, "To", v, sizeof v);
			sp.p = v;
			sp.n = strlen(v);
			while (mc_mime_addr_next(sp, &pos, &a)) {
				pn = a.name.n < sizeof ph ? a.name.n : 0;
				memcpy(ph, a.name.p, pn);
				if (k < sizeof names / sizeof names[0]) {
					CHECK_EQ_STR(ew_dec(ph, pn, MC_EW_PHRASE), names[k]);
					snprintf(addr, sizeof addr, "user%zu@example.com", k);
					CHECK_EQ_MEM(a.addr.p, a.addr.n, addr, strlen(addr));
				}
				k++;
			}
			CHECK_EQ_SIZE(k, sizeof names / sizeof names[0]);
			header_value(m, 0, "Cc", v, sizeof v);
			pos = 0;
			k = 0;
			while (mc_mime_addr_next(sp = (struct mc_span){v, strlen(v)}, &pos, &a))
				k++;
			CHECK_EQ_SIZE(k, sizeof names / sizeof names[0]);
			header_value(m, 0, "Reply-To", v, sizeof v);
			CHECK_EQ_STR(v, "reply@example.com");
			header_value(m, 0, "From", v, sizeof v);
			pos = 0;
			CHECK(mc_mime_addr_next((struct mc_span){v, strlen(v)}, &pos, &a));
			pn = a.name.n < sizeof ph ? a.name.n : 0;
			memcpy(ph, a.name.p, pn);
			CHECK_EQ_STR(ew_dec(ph, pn, MC_EW_PHRASE), names[2]);
			header_value(m, 0, "MIME-Version", v, sizeof v);
			CHECK_EQ_STR(v, "1.0");
			/* Message-ID: unique, with the sender's domain. */
			header_value(m, 0, "Message-ID", v, sizeof v);
			CHECK(strstr(v, "@example.de>") != NULL);
			CHECK(v[0] == '<');
			mc_mime_free(m);
		}
		free(b.p);
		mc_compose_free(c);
	}

	/* Date: RFC 5322 form in the local zone, parsed back to the same time. */
	{
		static const int64_t times[] = {0, 1700000000, 951782400, 4102444799LL, 1719792000};
		static const char *const zones[] = {"UTC0", "CET-1CEST,M3.5.0,M10.5.0/3",
		                                    "EST5EDT,M3.2.0,M11.1.0", "IST-5:30", NULL};

		for (size_t z = 0; zones[z]; z++) {
			setenv("TZ", zones[z], 1);
			tzset();
			for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
				struct mc_compose *c = new_basic();
				struct mc_mime_message *m;
				struct buf b;
				char v[128];
				int64_t t = 0;
				int zm = 0;

				CHECK_EQ_INT(mc_compose_set_date(c, times[i]), MC_OK);
				b = finish(c);
				if (parse(&b, &m)) {
					header_value(m, 0, "Date", v, sizeof v);
					CHECK_EQ_INT(
					    mc_mime_date((struct mc_span){v, strlen(v)}, &t, &zm),
					    MC_OK);
					CHECK_EQ_INT(t, times[i]);
					CHECK(strlen(v) >= 29 && v[3] == ',');
					if (z == 3)
						CHECK_EQ_INT(zm, 330);
					mc_mime_free(m);
				}
				free(b.p);
				mc_compose_free(c);
				MC_TEST_CTX("date %lld in %s\n", (long long)times[i], zones[z]);
			}
		}
		unsetenv("TZ");
		tzset();
	}

	/* Two compositions get different Message-IDs and boundaries. */
	{
		struct mc_compose *c1 = new_basic(), *c2 = new_basic();
		struct buf b1, b2;

		add_parts(c1, P_TEXT | P_ATTACH);
		add_parts(c2, P_TEXT | P_ATTACH);
		b1 = finish(c1);
		b2 = finish(c2);
		CHECK(b1.n == b2.n && memcmp(b1.p, b2.p, b1.n) != 0);
		CHECK(strcmp(mc__compose_boundary(c1, 0), mc__compose_boundary(c2, 0)) != 0);
		free(b1.p);
		free(b2.p);
		mc_compose_free(c1);
		mc_compose_free(c2);
	}

	/* A caller Message-ID, and a long domain that needs its own line. */
	{
		struct mc_compose *c = new_basic();
		struct buf b;

		CHECK_EQ_INT(mc_compose_set_message_id(c, "abc.123@host.example"), MC_OK);
		b = finish(c);
		CHECK(find(b.p, b.n, "\r\nMessage-ID: <abc.123@host.example>\r\n", 38) != NULL);
		free(b.p);
		mc_compose_free(c);
	}
}

/* ---- file names ------------------------------------------------------------------- */

static void test_filenames(void)
{
	static const char *const names[] = {
	    "report.pdf",
	    "with space.txt",
	    "r\xc3\xa9sum\xc3\xa9.pdf",
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x95\xe3\x82\xa1\xe3\x82\xa4"
	    "\xe3\x83\xab\xe5\x90\x8d.docx",
	    "a-very-long-file-name-that-goes-on-and-on-past-the-end-of-a-single-header-line-"
	    "and-further.tar.gz",
	    "quote\"and\\backslash.txt",
	    "=?utf-8?q?not_encoded?=.txt",
	    "semi;colon,comma (paren).dat",
	    "\xf0\x9f\x98\x80 emoji \xf0\x9f\x8e\x89 and a long tail of characters to force "
	    "continuations \xc3\xa9\xc3\xa8\xc3\xaa.bin",
	};

	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		struct mc_compose *c = new_basic();
		struct mc_compose_attachment a = {0};
		struct mc_mime_message *m;
		struct buf b;

		a.filename = names[k];
		CHECK_EQ_INT(mc_compose_set_text(c, "see attachment", 14), MC_OK);
		CHECK_EQ_INT(mc_compose_attach_mem(c, &a, "data", 4), MC_OK);
		b = finish(c);
		if (parse(&b, &m)) {
			char fn[1024];
			size_t w = 0;
			const struct mc_mime_header *h;
			struct mc_span tp, st, params;
			struct mc_mime_param np;

			CHECK_EQ_INT(m->nparts, 3);
			CHECK_EQ_INT(mc_mime_filename(m, 2, fn, sizeof fn, &w), MC_OK);
			CHECK_EQ_MEM(fn, w, names[k], strlen(names[k]));
			/* name= in Content-Type alone (old clients) gives it too. */
			h = mc_mime_header_find(m, 2, "Content-Type", NULL);
			CHECK(h != NULL);
			if (h && mc_mime_content_type(h->value, &tp, &st, &params) == MC_OK &&
			    mc_mime_param_get(params, "name", &np)) {
				char raw[1024], *dec = raw;
				size_t rn = mc_mime_unquote(&np, raw);

				dec = (char *)ew_dec(raw, rn, 0);
				CHECK_EQ_STR(dec, names[k]);
			} else {
				CHECK(0);
			}
			mc_mime_free(m);
		}
		free(b.p);
		mc_compose_free(c);
		MC_TEST_CTX("file name %zu\n", k);
	}
}

/* ---- injection -------------------------------------------------------------------- */

static void test_injection(void)
{
	static const char *const bad[] = {"a\r\nBcc: x@y.z", "a\rb", "a\nb", "\r\n", "end\n"};
	struct mc_compose *c = new_basic();

	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		struct mc_compose_attachment a = {0};
		char addr[64];

		CHECK_EQ_INT(mc_compose_set_subject(c, bad[k]), MC_EHEADER);
		CHECK_EQ_INT(mc_compose_add_header(c, "X-A", bad[k]), MC_EHEADER);
		CHECK_EQ_INT(mc_compose_add_header(c, bad[k], "v"), MC_EHEADER);
		CHECK_EQ_INT(mc_compose_set_from(c, bad[k], "a@b.c"), MC_EHEADER);
		CHECK_EQ_INT(mc_compose_add_to(c, bad[k], "a@b.c"), MC_EHEADER);
		CHECK_EQ_INT(mc_compose_add_cc(c, bad[k], "a@b.c"), MC_EHEADER);
		CHECK_EQ_INT(mc_compose_add_reply_to(c, bad[k], "a@b.c"), MC_EHEADER);
		snprintf(addr, sizeof addr, "x%s@b.c", bad[k]);
		CHECK_EQ_INT(mc_compose_set_from(c, NULL, addr), MC_EHEADER);
		CHECK_EQ_INT(mc_compose_add_to(c, NULL, addr), MC_EHEADER);
		CHECK_EQ_INT(mc_compose_add_cc(c, NULL, addr), MC_EHEADER);
		CHECK_EQ_INT(mc_compose_add_reply_to(c, NULL, addr), MC_EHEADER);
		snprintf(addr, sizeof addr, "x@b.c%s", bad[k]);
		CHECK_EQ_INT(mc_compose_add_to(c, NULL, addr), MC_EHEADER);
		CHECK_EQ_INT(mc_compose_check_addr(addr, strlen(addr)), MC_EHEADER);
		CHECK_EQ_INT(mc_compose_set_message_id(c, addr), MC_EHEADER);
		a.filename = bad[k];
		CHECK_EQ_INT(mc_compose_attach_mem(c, &a, "x", 1), MC_EHEADER);
		a.filename = NULL;
		a.content_id = addr;
		CHECK_EQ_INT(mc_compose_attach_mem(c, &a, "x", 1), MC_EHEADER);
		a.content_id = NULL;
		a.charset = bad[k];
		CHECK_EQ_INT(mc_compose_attach_mem(c, &a, "x", 1), MC_EHEADER);
		a.charset = NULL;
		snprintf(addr, sizeof addr, "text/plain%s", bad[k]);
		a.content_type = addr;
		CHECK_EQ_INT(mc_compose_attach_mem(c, &a, "x", 1), MC_EHEADER);
		MC_TEST_CTX("bad value %zu\n", k);
	}
	/* NUL inside an envelope address (length-counted). */
	CHECK_EQ_INT(mc_compose_check_addr("a@b\0.c", 6), MC_EHEADER);
	CHECK_EQ_INT(mc_compose_check_addr("a\0@b.c", 6), MC_EHEADER);
	CHECK_EQ_INT(mc_compose_check_addr("a@b.c", 5), MC_OK);
	CHECK_EQ_INT(mc_compose_check_addr("j\xc3\xb6rg@b\xc3\xbc.de", 12), MC_OK);
	/* Malformed but not injection. */
	CHECK_EQ_INT(mc_compose_check_addr("nobody", 6), MC_EINVAL);
	CHECK_EQ_INT(mc_compose_check_addr("@b.c", 4), MC_EINVAL);
	CHECK_EQ_INT(mc_compose_check_addr("a@", 2), MC_EINVAL);
	CHECK_EQ_INT(mc_compose_check_addr("a b@c.d", 7), MC_EINVAL);
	CHECK_EQ_INT(mc_compose_check_addr("<a@b.c>", 7), MC_EINVAL);
	CHECK_EQ_INT(mc_compose_check_addr("a@b.c, d@e.f", 12), MC_EINVAL);
	CHECK_EQ_INT(mc_compose_check_addr("", 0), MC_EINVAL);
	CHECK_EQ_INT(mc_compose_add_to(c, NULL, "a@b.c>, evil@x.y"), MC_EINVAL);
	CHECK_EQ_INT(mc_compose_set_subject(c, "bad \xff utf8"), MC_EBADCHAR);
	CHECK_EQ_INT(mc_compose_add_to(c, "bad \xc3", "a@b.c"), MC_EBADCHAR);
	/* Header names: field names only, and not the composer's own. */
	CHECK_EQ_INT(mc_compose_add_header(c, "X Space", "v"), MC_EINVAL);
	CHECK_EQ_INT(mc_compose_add_header(c, "X:Colon", "v"), MC_EINVAL);
	CHECK_EQ_INT(mc_compose_add_header(c, "", "v"), MC_EINVAL);
	CHECK_EQ_INT(mc_compose_add_header(c, "Content-Type", "text/html"), MC_EINVAL);
	CHECK_EQ_INT(mc_compose_add_header(c, "bcc", "a@b.c"), MC_EINVAL);
	CHECK_EQ_INT(mc_compose_add_header(c, "MIME-Version", "2.0"), MC_EINVAL);
	CHECK_EQ_INT(mc_compose_add_header(c, "X-Ok", "fine"), MC_OK);
	{
		struct mc_compose_attachment a = {0};

		a.content_type = "multipart/mixed";
		CHECK_EQ_INT(mc_compose_attach_mem(c, &a, "x", 1), MC_EINVAL);
		a.content_type = "text";
		CHECK_EQ_INT(mc_compose_attach_mem(c, &a, "x", 1), MC_EINVAL);
		a.content_type = "text/pla in";
		CHECK_EQ_INT(mc_compose_attach_mem(c, &a, "x", 1), MC_EINVAL);
		a.content_type = NULL;
		a.content_id = "<id@x>";
		CHECK_EQ_INT(mc_compose_attach_mem(c, &a, "x", 1), MC_EINVAL);
	}
	/* The composition is still valid and nothing bad reached it. */
	{
		struct buf b = finish(c);

		CHECK(find(b.p, b.n, "Bcc", 3) == NULL);
		CHECK(find(b.p, b.n, "X-Ok: fine\r\n", 12) != NULL);
		/* Frozen after prepare. */
		CHECK_EQ_INT(mc_compose_set_subject(c, "late"), MC_EINVAL);
		CHECK_EQ_INT(mc_compose_add_to(c, NULL, "late@x.y"), MC_EINVAL);
		free(b.p);
	}
	mc_compose_free(c);
	/* Missing From or recipients. */
	{
		struct mc_compose *d = NULL;

		CHECK_EQ_INT(mc_compose_new(&d, NULL), MC_OK);
		CHECK_EQ_INT(mc_compose_prepare(d, NULL), MC_EINVAL);
		mc_compose_free(d);
		CHECK_EQ_INT(mc_compose_new(&d, NULL), MC_OK);
		CHECK_EQ_INT(mc_compose_set_from(d, NULL, "a@b.c"), MC_OK);
		CHECK_EQ_INT(mc_compose_prepare(d, NULL), MC_EINVAL);
		mc_compose_free(d);
	}
}

/* ---- exact size, chunking, rewind: random compositions --------------------------- */

struct gen_src {
	uint64_t size, pos, seed;
	uint64_t lie; /* read() gives this many extra bytes */
	int text;     /* printable ASCII with CRLF */
};

static unsigned char gen_byte(const struct gen_src *g, uint64_t i)
{
	uint64_t x = (i / 8 + 1) * 0x9e3779b97f4a7c15ull ^ g->seed;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 32;
	if (g->text) {
		uint64_t k = i % 64;

		return k == 62 ? '\r' : k == 63 ? '\n' : (unsigned char)(' ' + (x >> (i % 8)) % 95);
	}
	return (unsigned char)(x >> (8 * (i % 8)));
}

static mc_status gen_read(void *ctx, void *buf, size_t cap, size_t *got)
{
	struct gen_src *g = ctx;
	uint64_t end = g->size + g->lie;
	size_t n = end - g->pos < cap ? (size_t)(end - g->pos) : cap;
	unsigned char *b = buf;

	for (size_t i = 0; i < n; i++)
		b[i] = gen_byte(g, g->pos + i);
	g->pos += n;
	*got = n;
	return MC_OK;
}

static mc_status gen_rewind(void *ctx)
{
	((struct gen_src *)ctx)->pos = 0;
	return MC_OK;
}

static char *rand_text(size_t n, int mode)
{
	char *p = mc_t_xmalloc(n + 1);

	for (size_t i = 0; i < n; i++) {
		unsigned r = (unsigned)(mc_t_rand() % 100);

		if (mode == 0)
			p[i] = r < 8 ? '\n' : (char)('a' + r % 26);
		else if (mode == 1)
			p[i] = r < 3   ? '\n'
			       : r < 6 ? (char)0xc3
			       : r < 9 ? (char)0xa9
			               : (char)(' ' + r);
		else
			p[i] = (char)(mc_t_rand() >> 24);
	}
	p[n] = '\0';
	return p;
}

static void test_exact_size(void)
{
	for (int iter = 0; iter < 150; iter++) {
		struct mc_compose *c = new_basic();
		struct mc_compose_info info;
		struct buf whole = {0}, piece = {0}, again = {0};
		char *bodies[8] = {0};
		struct gen_src gs[3];
		size_t nb = 0;
		unsigned set = (unsigned)mc_t_rand();

		if (set & 1) {
			size_t n = (size_t)(mc_t_rand() % 3000);

			bodies[nb] = rand_text(n, (int)(mc_t_rand() % 3));
			CHECK_EQ_INT(mc_compose_set_text(c, bodies[nb++], n), MC_OK);
		}
		if (set & 2) {
			size_t n = (size_t)(mc_t_rand() % 3000);

			bodies[nb] = rand_text(n, (int)(mc_t_rand() % 2));
			CHECK_EQ_INT(mc_compose_set_html(c, bodies[nb++], n), MC_OK);
		}
		for (int k = 0; k < 3; k++) {
			struct mc_compose_attachment a = {0};
			size_t n = (size_t)(mc_t_rand() % 5000);

			if (!(set & (4u << k)))
				continue;
			a.filename = k == 0 ? "one.txt" : k == 1 ? "t\xc3\xa9st file.bin" : NULL;
			a.content_id = (set & 64) && k == 2 ? "part@x.y" : NULL;
			a.encoding = (int)(mc_t_rand() % 3);
			if (set & (128u << k)) {
				gs[k].size = n;
				gs[k].pos = 0;
				gs[k].lie = 0;
				gs[k].seed = mc_t_rand();
				gs[k].text = (int)(mc_t_rand() & 1);
				{
					struct mc_compose_source s = {
					    gen_read, gen_rewind, &gs[k],
					    (set & 1024) ? MC_COMPOSE_SIZE_UNKNOWN : n};

					if (gs[k].text)
						a.content_type = "text/plain";
					CHECK_EQ_INT(mc_compose_attach_source(c, &a, &s), MC_OK);
				}
			} else {
				bodies[nb] = rand_text(n, (int)(mc_t_rand() % 3));
				if (mc_t_rand() & 1)
					a.content_type = "message/rfc822", a.encoding = 0;
				CHECK_EQ_INT(mc_compose_attach_mem(c, &a, bodies[nb++], n), MC_OK);
			}
		}
		CHECK_EQ_INT(mc_compose_prepare(c, &info), MC_OK);
		CHECK_EQ_INT(mc_compose_write(c, buf_sink, &whole), MC_OK);
		CHECK_EQ_SIZE(info.size, whole.n);
		CHECK_EQ_INT(mc_compose_rewind(c), MC_OK);
		CHECK_EQ_INT(read_all(c, iter % 5 == 0 ? 1 : 0, &piece), MC_OK);
		CHECK_EQ_MEM(piece.p, piece.n, whole.p, whole.n);
		CHECK_EQ_INT(mc_compose_rewind(c), MC_OK);
		CHECK_EQ_INT(read_all(c, 100000, &again), MC_OK);
		CHECK_EQ_MEM(again.p, again.n, whole.p, whole.n);
		{
			/* Forwarded messages keep their own lines: check the rest. */
			struct mc_mime_message *m;

			if (parse(&whole, &m)) {
				for (size_t i = 0; i < m->nparts; i++) {
					const struct mc_mime_part *p = &m->parts[i];

					if (p->kind == MC_MIME_LEAF && p->depth <= 3 &&
					    !p->is_inner &&
					    (i == 0 || m->parts[p->parent].kind != MC_MIME_MESSAGE))
						CHECK_EQ_INT(bad_lines(m->buf + p->body_offset,
						                       p->body_length),
						             0);
				}
				mc_mime_free(m);
			}
		}
		for (size_t i = 0; i < nb; i++)
			free(bodies[i]);
		free(whole.p);
		free(piece.p);
		free(again.p);
		mc_compose_free(c);
		MC_TEST_CTX("random composition %d (set %x)\n", iter, set);
	}
}

/* ---- round trip through our parser ---------------------------------------------------- */

/* Warnings about parts that are not inside a forwarded message. */
static size_t outer_warnings(const struct mc_mime_message *m)
{
	size_t k = 0;

	for (size_t w = 0; w < m->nwarnings; w++) {
		int inside = 0;

		for (uint32_t q = m->warnings[w].part; q != UINT32_MAX; q = m->parts[q].parent)
			if (m->parts[q].kind == MC_MIME_MESSAGE || m->parts[q].is_inner)
				inside = 1;
		if (!inside) {
			k++;
			fprintf(stderr, "    warning %s at %zu\n",
			        mc_mime_warning_name(m->warnings[w].code), m->warnings[w].offset);
		}
	}
	return k;
}

struct expect {
	const char *ctype;
	const char *filename;
	const char *body;
	size_t n;
	int canon; /* 0: exact, 1: text, 2: message */
};

static void test_roundtrip(void)
{
	for (int iter = 0; iter < 60; iter++) {
		struct mc_compose *c = new_basic();
		struct expect ex[16];
		char *owned[16];
		size_t nex = 0, nown = 0;
		int has_text = (int)(mc_t_rand() % 2), has_html = (int)(mc_t_rand() % 2);
		int ninl = (int)(mc_t_rand() % 3), natt = (int)(mc_t_rand() % 4);
		struct expect text = {0}, html = {0}, inl[3], att[4];
		struct mc_mime_message *m;
		struct buf b;

		if (has_text) {
			size_t n = (size_t)(mc_t_rand() % 2000);
			char *p = rand_text(n, (int)(mc_t_rand() % 3));

			owned[nown++] = p;
			text = (struct expect){"text/plain", NULL, p, n, 1};
			CHECK_EQ_INT(mc_compose_set_text(c, p, n), MC_OK);
		}
		if (has_html) {
			size_t n = (size_t)(mc_t_rand() % 2000);
			char *p = rand_text(n, (int)(mc_t_rand() % 2));

			owned[nown++] = p;
			html = (struct expect){"text/html", NULL, p, n, 1};
			CHECK_EQ_INT(mc_compose_set_html(c, p, n), MC_OK);
		}
		for (int k = 0; k < ninl; k++) {
			struct mc_compose_attachment a = {0};
			size_t n = (size_t)(mc_t_rand() % 3000);
			char *p = rand_text(n, 2);
			static const char *const cids[] = {"a@x", "b@x", "c@x"};
			static const char *const fns[] = {"a.png", "b\xc3\xa9.gif", "c.jpg"};

			owned[nown++] = p;
			a.content_id = cids[k];
			a.filename = fns[k];
			inl[k] = (struct expect){NULL, fns[k], p, n, 0};
			CHECK_EQ_INT(mc_compose_attach_mem(c, &a, p, n), MC_OK);
		}
		for (int k = 0; k < natt; k++) {
			struct mc_compose_attachment a = {0};
			size_t n = (size_t)(mc_t_rand() % 4000);
			int mode = (int)(mc_t_rand() % 3);
			char *p = rand_text(n, mode);
			static const char *const fns[] = {
			    "doc.pdf", "\xe6\x97\xa5\xe6\x9c\xac.txt", "notes.txt",
			    ("a long name of an attachment that surely needs RFC 2231 "
			     "continuations.dat")};

			owned[nown++] = p;
			a.filename = fns[k];
			att[k] = (struct expect){NULL, fns[k], p, n, 0};
			if (k == 2 && mode < 2) {
				/* Forwarded lines are kept: keep them short. */
				for (size_t i = 69; i < n; i += 70)
					p[i] = '\n';
				a.content_type = "message/rfc822";
				att[k].canon = 2;
			}
			CHECK_EQ_INT(mc_compose_attach_mem(c, &a, p, n), MC_OK);
		}
		/* The order the composer writes leaves in. */
		if (has_text)
			ex[nex++] = text;
		if (has_html)
			ex[nex++] = html;
		if (has_text || has_html) {
			for (int k = 0; k < ninl; k++)
				ex[nex++] = inl[k];
			for (int k = 0; k < natt; k++)
				ex[nex++] = att[k];
		} else {
			for (int k = 0; k < ninl; k++)
				ex[nex++] = inl[k];
			for (int k = 0; k < natt; k++)
				ex[nex++] = att[k];
		}
		if (nex == 0)
			ex[nex++] = (struct expect){"text/plain", NULL, "", 0, 1};
		b = finish(c);
		if (parse(&b, &m)) {
			size_t e = 0;

			CHECK_EQ_INT(outer_warnings(m), 0);
			for (size_t i = 0; i < m->nparts; i++) {
				const struct mc_mime_part *p = &m->parts[i];
				size_t dn, en, fw = 0;
				char *d, *want, fn[1024];

				if (p->kind == MC_MIME_MULTIPART || p->is_inner ||
				    (p->parent != UINT32_MAX &&
				     m->parts[p->parent].kind == MC_MIME_MESSAGE))
					continue;
				if (p->parent != UINT32_MAX &&
				    m->parts[p->parent].kind == MC_MIME_MULTIPART &&
				    m->parts[p->parent].is_inner)
					continue;
				if (!CHECK(e < nex))
					break;
				/* Skip everything inside a forwarded message. */
				{
					int inside = 0;

					for (uint32_t q = p->parent; q != UINT32_MAX;
					     q = m->parts[q].parent)
						if (m->parts[q].kind == MC_MIME_MESSAGE)
							inside = 1;
					if (inside)
						continue;
				}
				if (ex[e].canon == 2) {
					want = canon_msg(ex[e].body, ex[e].n, &en);
					CHECK_EQ_INT(p->kind, MC_MIME_MESSAGE);
					CHECK_EQ_MEM(m->buf + p->body_offset, p->body_length, want,
					             en);
				} else {
					want = ex[e].canon ? canon_text(ex[e].body, ex[e].n, &en)
					                   : (char *)ex[e].body;
					if (!ex[e].canon)
						en = ex[e].n;
					d = decode_part(m, i, &dn);
					CHECK_EQ_MEM(d, dn, want, en);
					free(d);
				}
				if (ex[e].filename) {
					CHECK_EQ_INT(mc_mime_filename(m, i, fn, sizeof fn, &fw),
					             MC_OK);
					CHECK_EQ_MEM(fn, fw, ex[e].filename,
					             strlen(ex[e].filename));
				}
				if (ex[e].ctype)
					CHECK(mc_mime_span_eq(p->subtype,
					                      strchr(ex[e].ctype, '/') + 1));
				if (want != ex[e].body)
					free(want);
				e++;
			}
			CHECK_EQ_SIZE(e, nex);
			mc_mime_free(m);
		}
		for (size_t i = 0; i < nown; i++)
			free(owned[i]);
		free(b.p);
		mc_compose_free(c);
		MC_TEST_CTX("round trip %d (text %d html %d inline %d attach %d)\n", iter, has_text,
		            has_html, ninl, natt);
	}
}

/* ---- boundaries found in the content --------------------------------------------------- */

/* A RNG that makes the same bytes every time: the first boundary drawn is
 * known in advance. The redraw after a collision must differ, so it counts. */
struct fixed_rng {
	unsigned calls;
};

static void fixed_rng(void *ctx, unsigned char *buf, size_t n)
{
	struct fixed_rng *r = ctx;

	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)(r->calls * 7 + i);
	r->calls++;
}

static void test_boundary_collision(void)
{
	char first[64];

	/* Learn the first boundary the fixed RNG makes. */
	{
		struct mc_compose *c = new_basic();
		struct fixed_rng r = {0};
		struct buf b;

		mc__compose_set_rng(c, fixed_rng, &r);
		add_parts(c, P_TEXT | P_ATTACH);
		b = finish(c);
		snprintf(first, sizeof first, "%s", mc__compose_boundary(c, 0));
		CHECK_EQ_SIZE(strlen(first), MC__COMPOSE_BOUNDARY_LEN);
		CHECK(strncmp(first, "=_mc", 4) == 0);
		free(b.p);
		mc_compose_free(c);
	}
	/* A forwarded message holding that delimiter line: new boundaries. */
	{
		struct mc_compose *c = new_basic();
		struct fixed_rng r = {0};
		struct mc_compose_attachment a = {0};
		struct mc_mime_message *m;
		char msg[256], got[256];
		struct buf b;

		snprintf(msg, sizeof msg, "Subject: inner\r\n\r\nbefore\r\n--%s\r\nafter\r\n",
		         first);
		mc__compose_set_rng(c, fixed_rng, &r);
		CHECK_EQ_INT(mc_compose_set_text(c, "hi", 2), MC_OK);
		a.content_type = "message/rfc822";
		CHECK_EQ_INT(mc_compose_attach_mem(c, &a, msg, strlen(msg)), MC_OK);
		b = finish(c);
		CHECK(strcmp(mc__compose_boundary(c, 0), first) != 0);
		if (parse(&b, &m)) {
			structure(m, got, sizeof got);
			CHECK_EQ_STR(got, "multipart/mixed text/plain message/rfc822 text/plain");
			CHECK_EQ_MEM(m->buf + m->parts[2].body_offset, m->parts[2].body_length, msg,
			             strlen(msg));
			mc_mime_free(m);
		}
		free(b.p);
		mc_compose_free(c);
	}
	/* A 7-bit text body holding it: encoded instead of written as it is. */
	{
		struct mc_compose *c = new_basic();
		struct fixed_rng r = {0};
		struct mc_mime_message *m;
		char text[128];
		struct buf b;

		snprintf(text, sizeof text, "a\r\n--%s--\r\nb\r\n", first);
		mc__compose_set_rng(c, fixed_rng, &r);
		CHECK_EQ_INT(mc_compose_set_text(c, text, strlen(text)), MC_OK);
		CHECK_EQ_INT(mc_compose_set_html(c, "<b>x</b>", 8), MC_OK);
		b = finish(c);
		CHECK_EQ_STR(mc__compose_boundary(c, 0), first);
		if (parse(&b, &m)) {
			size_t dn;
			char *d = decode_part(m, 1, &dn);

			CHECK_EQ_INT(m->nparts, 3);
			CHECK_EQ_STR(cte(m, 1), "quoted-printable");
			CHECK_EQ_MEM(d, dn, text, strlen(text));
			free(d);
			mc_mime_free(m);
		}
		free(b.p);
		mc_compose_free(c);
	}
	/* A prefix of a boundary line that is not the boundary stays 7bit. */
	{
		struct mc_compose *c = new_basic();
		struct mc_mime_message *m;
		struct buf b;

		CHECK_EQ_INT(mc_compose_set_text(c, "--=_mc\r\n-- \r\nsig\r\n", 18), MC_OK);
		CHECK_EQ_INT(mc_compose_set_html(c, "<b>x</b>", 8), MC_OK);
		b = finish(c);
		if (parse(&b, &m)) {
			CHECK_EQ_STR(cte(m, 1), "7bit");
			mc_mime_free(m);
		}
		free(b.p);
		mc_compose_free(c);
	}
}

/* ---- sources: files, lies, errors -------------------------------------------------------- */

static mc_status fail_read(void *ctx, void *buf, size_t cap, size_t *got)
{
	(void)ctx;
	(void)buf;
	(void)cap;
	*got = 0;
	return MC_ETIMEDOUT;
}

static void test_sources(void)
{
	char path[] = "/tmp/mc_compose_XXXXXX";
	int fd = mkstemp(path);
	unsigned char data[70000];

	mc_t_fill(data, sizeof data);
	CHECK(fd >= 0);
	CHECK(write(fd, data, sizeof data) == (ssize_t)sizeof data);
	close(fd);
	/* A file: base name as the file name, read in chunks. */
	{
		struct mc_compose *c = new_basic();
		struct mc_compose_attachment a = {0};
		struct mc_mime_message *m;
		struct buf b;

		CHECK_EQ_INT(mc_compose_attach_file(c, &a, path), MC_OK);
		CHECK_EQ_INT(mc_compose_attach_file(c, &a, "/nonexistent/file"), MC_EIO);
		CHECK_EQ_INT(mc_compose_attach_file(c, &a, "/tmp"), MC_EINVAL);
		b = finish(c);
		if (parse(&b, &m)) {
			char fn[256];
			size_t fw = 0, dn;
			char *d = decode_part(m, 1, &dn);

			CHECK_EQ_INT(mc_mime_filename(m, 1, fn, sizeof fn, &fw), MC_OK);
			CHECK_EQ_MEM(fn, fw, strrchr(path, '/') + 1,
			             strlen(strrchr(path, '/') + 1));
			CHECK_EQ_MEM(d, dn, data, sizeof data);
			CHECK_EQ_STR(cte(m, 1), "base64");
			free(d);
			mc_mime_free(m);
		}
		free(b.p);
		mc_compose_free(c);
	}
	unlink(path);
	/* A source giving more or fewer bytes than it said: MC_EIO. */
	for (int lie = 0; lie < 2; lie++) {
		struct mc_compose *c = new_basic();
		struct mc_compose_attachment a = {0};
		struct gen_src g = {1000, 0, 5, 0, 0};
		struct mc_compose_source s = {gen_read, NULL, &g, lie ? 1000 : 999};
		struct buf b = {0};

		a.encoding = MC_COMPOSE_ENC_BASE64;
		g.lie = 0;
		CHECK_EQ_INT(mc_compose_attach_source(c, &a, &s), MC_OK);
		CHECK_EQ_INT(mc_compose_prepare(c, NULL), MC_OK);
		if (lie)
			g.lie = 1;
		CHECK_EQ_INT(mc_compose_write(c, buf_sink, &b), MC_EIO);
		/* Sticky. */
		CHECK_EQ_INT(read_all(c, 10, &b), MC_EIO);
		/* No rewind: a second production is refused. */
		CHECK_EQ_INT(mc_compose_rewind(c), MC_EUNSUPPORTED);
		free(b.p);
		mc_compose_free(c);
	}
	/* A source error comes back as it is. */
	{
		struct mc_compose *c = new_basic();
		struct mc_compose_attachment a = {0};
		struct mc_compose_source s = {fail_read, NULL, NULL, 10};
		struct buf b = {0};

		CHECK_EQ_INT(mc_compose_attach_source(c, &a, &s), MC_OK);
		CHECK_EQ_INT(mc_compose_write(c, buf_sink, &b), MC_ETIMEDOUT);
		free(b.p);
		mc_compose_free(c);
	}
	/* No rewind and no size: produced, but the size is unknown. */
	{
		struct mc_compose *c = new_basic();
		struct mc_compose_attachment a = {0};
		struct gen_src g = {3333, 0, 9, 0, 1};
		struct mc_compose_source s = {gen_read, NULL, &g, MC_COMPOSE_SIZE_UNKNOWN};
		struct mc_compose_info info;
		struct buf b = {0};

		CHECK_EQ_INT(mc_compose_attach_source(c, &a, &s), MC_OK);
		CHECK_EQ_INT(mc_compose_prepare(c, &info), MC_OK);
		CHECK(info.size == MC_COMPOSE_SIZE_UNKNOWN);
		CHECK_EQ_INT(mc_compose_write(c, buf_sink, &b), MC_OK);
		CHECK_EQ_INT(bad_lines(b.p, b.n), 0);
		free(b.p);
		mc_compose_free(c);
	}
	/* Forwarding needs a rewindable source. */
	{
		struct mc_compose *c = new_basic();
		struct mc_compose_attachment a = {0};
		struct gen_src g = {10, 0, 9, 0, 1};
		struct mc_compose_source s = {gen_read, NULL, &g, 10};

		a.content_type = "message/rfc822";
		CHECK_EQ_INT(mc_compose_attach_source(c, &a, &s), MC_EINVAL);
		mc_compose_free(c);
	}
}

/* ---- a 64 MiB attachment in constant memory ---------------------------------------------- */

struct peak_alloc {
	size_t cur, peak;
};

static void *peak_malloc(void *ctx, size_t n)
{
	struct peak_alloc *a = ctx;
	size_t *p = malloc(n + 16);

	if (!p)
		return NULL;
	p[0] = n;
	a->cur += n;
	if (a->cur > a->peak)
		a->peak = a->cur;
	return (char *)p + 16;
}

static void peak_free(void *ctx, void *q)
{
	struct peak_alloc *a = ctx;
	size_t *p;

	if (!q)
		return;
	p = (size_t *)(void *)((char *)q - 16);
	a->cur -= p[0];
	free(p);
}

/* Checks the output as it streams: lines, and the attachment decoded and
 * compared with the generator, without keeping the message. */
struct stream_check {
	char line[128];
	size_t nline;
	int state; /* 0 before the attachment's body, 1 in it, 2 after */
	int headers_seen;
	struct mc_b64_decoder dec;
	const struct gen_src *g;
	uint64_t decoded, total, badlines, mismatches;
};

static void stream_line(struct stream_check *s)
{
	unsigned char out[128];
	size_t w;
	size_t n = s->nline;

	if (n > 80 || n < 2 || s->line[n - 2] != '\r')
		s->badlines++;
	if (s->state == 0) {
		if (n == 2 && ++s->headers_seen == 2)
			s->state = 1;
		return;
	}
	if (s->state == 1) {
		if (s->line[0] == '-') {
			s->state = 2;
			if (mc_b64_decode_final(&s->dec, out, &w) != MC_OK)
				s->mismatches++;
			return;
		}
		if (mc_b64_decode_update(&s->dec, s->line, n, out, &w) != MC_OK)
			s->mismatches++;
		for (size_t i = 0; i < w; i++)
			if (out[i] != gen_byte(s->g, s->decoded + i))
				s->mismatches++;
		s->decoded += w;
	}
}

static int stream_sink(void *ctx, const void *p, size_t n)
{
	struct stream_check *s = ctx;
	const char *c = p;

	s->total += n;
	for (size_t i = 0; i < n; i++) {
		if (s->nline < sizeof s->line)
			s->line[s->nline] = c[i];
		s->nline++;
		if (c[i] == '\n') {
			stream_line(s);
			s->nline = 0;
		}
	}
	return 0;
}

static void test_large(void)
{
	struct peak_alloc pa = {0, 0};
	struct mc_mime_allocator al = {peak_malloc, peak_free, &pa};
	struct mc_compose *c = NULL;
	struct gen_src g = {64ull << 20, 0, 77, 0, 0};
	struct mc_compose_source s = {gen_read, gen_rewind, &g, 64ull << 20};
	struct mc_compose_attachment a = {0};
	struct mc_compose_info info;
	struct stream_check sc;
	char small[777];
	size_t got, total = 0;

	memset(&sc, 0, sizeof sc);
	sc.g = &g;
	mc_b64_decoder_init(&sc.dec, MC_B64_STRICT, 0);
	CHECK_EQ_INT(mc_compose_new(&c, &al), MC_OK);
	CHECK_EQ_INT(mc_compose_set_from(c, NULL, "big@example.com"), MC_OK);
	CHECK_EQ_INT(mc_compose_add_to(c, NULL, "sink@example.com"), MC_OK);
	a.filename = "big.bin";
	CHECK_EQ_INT(mc_compose_attach_source(c, &a, &s), MC_OK);
	CHECK_EQ_INT(mc_compose_prepare(c, &info), MC_OK);
	CHECK_EQ_SIZE(info.body_type, MC_COMPOSE_BODY_7BIT);
	CHECK_EQ_INT(mc_compose_write(c, stream_sink, &sc), MC_OK);
	CHECK_EQ_SIZE(sc.total, info.size);
	CHECK_EQ_SIZE(sc.decoded, 64ull << 20);
	CHECK_EQ_SIZE(sc.badlines, 0);
	CHECK_EQ_SIZE(sc.mismatches, 0);
	CHECK_EQ_INT(sc.state, 2);
	/* Peak memory of the composition, whatever the attachment size. */
	CHECK(pa.peak < (1u << 20));
	if (pa.peak >= (1u << 20))
		fprintf(stderr, "    peak %zu bytes\n", pa.peak);
	/* Again through small reads: same size, no more memory. */
	CHECK_EQ_INT(mc_compose_rewind(c), MC_OK);
	for (;;) {
		CHECK_EQ_INT(mc_compose_read(c, small, sizeof small, &got), MC_OK);
		if (got == 0)
			break;
		total += got;
	}
	CHECK_EQ_SIZE(total, info.size);
	CHECK(pa.peak < (1u << 20));
	mc_compose_free(c);
	CHECK_EQ_SIZE(pa.cur, 0);
}

/* A large text file as QP: the size measured before equals the output. */
static void test_large_qp(void)
{
	struct mc_compose *c = new_basic();
	struct gen_src g = {3u << 20, 0, 99, 0, 1};
	struct mc_compose_source s = {gen_read, gen_rewind, &g, 3u << 20};
	struct mc_compose_attachment a = {0};
	struct mc_compose_info info;
	struct stream_check sc;

	memset(&sc, 0, sizeof sc);
	a.content_type = "text/plain";
	a.filename = "log.txt";
	CHECK_EQ_INT(mc_compose_attach_source(c, &a, &s), MC_OK);
	CHECK_EQ_INT(mc_compose_prepare(c, &info), MC_OK);
	sc.state = 2;
	CHECK_EQ_INT(mc_compose_write(c, stream_sink, &sc), MC_OK);
	CHECK_EQ_SIZE(sc.total, info.size);
	CHECK_EQ_SIZE(sc.badlines, 0);
	mc_compose_free(c);
}

int main(void)
{
	test_structure();
	test_encodings();
	test_forced_encodings();
	test_headers();
	test_filenames();
	test_injection();
	test_exact_size();
	test_roundtrip();
	test_boundary_collision();
	test_sources();
	test_large();
	test_large_qp();
	MC_TEST_END();
}
