/* test_mime.c: MIME parser tests. Tables of messages with their expected
 * structure (paths, types, bodies) and warnings (name@offset); every case is
 * also run with bare LF turned into CRLF, which must give the same structure.
 * Then headers, parameters, addresses, dates, body decoding, limits, mbox and
 * a linear-time check on adversarial input. */
#include <time.h>

#include "test.h"
#include "mimecodec/mime.h"

/* "path=type/subtype[body]" per entity, ';'-separated, then " | " and the
 * warnings "name@offset". Bodies are shown for leaves only. */
static void summary(const struct mc_mime_message *m, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < m->nparts && o < cap; i++) {
		const struct mc_mime_part *pt = &m->parts[i];
		char path[64];

		if (mc_mime_part_path(m, i, path, sizeof path) < 0)
			path[0] = '?', path[1] = '\0';
		o += (size_t)snprintf(out + o, cap - o, "%s%s=%.*s/%.*s", i ? ";" : "", path,
		                      (int)pt->type.n, pt->type.p, (int)pt->subtype.n,
		                      pt->subtype.p);
		if (pt->kind == MC_MIME_LEAF && o < cap)
			o += (size_t)snprintf(out + o, cap - o, "[%.*s]", (int)pt->body_length,
			                      m->buf + pt->body_offset);
	}
	if (o < cap)
		o += (size_t)snprintf(out + o, cap - o, " |");
	for (size_t w = 0; w < m->nwarnings && o < cap; w++)
		o += (size_t)snprintf(out + o, cap - o, " %s@%zu",
		                      mc_mime_warning_name(m->warnings[w].code),
		                      m->warnings[w].offset);
}

static char *to_crlf(const char *s, size_t n, size_t *outn)
{
	char *d = mc_t_xmalloc(2 * n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			d[o++] = '\r';
		d[o++] = s[i];
	}
	*outn = o;
	return d;
}

/* Structure without warnings, CR removed from bodies: for the CRLF run. */
static void structure_only(const char *sum, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; sum[i] && o + 1 < cap; i++) {
		if (sum[i] == '|')
			break;
		if (sum[i] != '\r')
			out[o++] = sum[i];
	}
	out[o] = '\0';
}

static const struct {
	const char *in;
	const char *want;
	size_t len; /* 0: strlen(in) */
} structure[] = {
    /* plain messages */
    {"", "=text/plain[] |", 0},
    {"Subject: x\n\nbody\n", "=text/plain[body\n] |", 0},
    {"Subject: x\n", "=text/plain[] |", 0},
    {"\nbody", "=text/plain[body] |", 0},
    {"Content-Type: text/html; charset=utf-8\n\n<p>", "=text/html[<p>] |", 0},
    {"Content-Type: garbage\n\nx", "=text/plain[x] | bad-content-type@0", 0},
    {"Content-Type: image/png\nContent-Type: text/html\n\nx",
     "=image/png[x] | duplicate-content-type@24", 0},
    /* header block recoveries */
    {"Subject: x\nthis is body\n", "=text/plain[this is body\n] | no-colon@11", 0},
    {"   \nSubject: x\n\nb", "=text/plain[b] | leading-junk@0", 0},
    {"\xef\xbb\xbfSubject: x\n\nb", "=text/plain[b] | leading-junk@0", 0},
    {"From a@b Mon Jan 1\nSubject: x\n\nb", "=text/plain[b] |", 0},
    {"Subject: x\nFrom a@b\n\nb", "=text/plain[b] | misplaced-from@11", 0},
    {": y\nSubject: x\n\nb", "=text/plain[b] | empty-name@0", 0},
    {"Subject: x\n folded\nTo: y\n\nb", "=text/plain[b] |", 0},
    {"Subject : obs\n\nb", "=text/plain[b] |", 0},
    {"Subject: a\0b\n\nb", "=text/plain[b] | nul@10", 16},
    {"Content-Transfer-Encoding: x-foo\n\nb", "=text/plain[b] | unknown-encoding@0", 0},
    /* multipart basics */
    {"Content-Type: multipart/mixed; boundary=b\n\npre\n--b\n\none\n--b\nContent-Type: "
     "text/html\n\ntwo\n--b--\nepi\n",
     "=multipart/mixed;1=text/plain[one];2=text/html[two] |", 0},
    {"Content-Type: multipart/mixed; boundary=\"b c\"\n\n--b c \t\n\none\n--b c-- \n",
     "=multipart/mixed;1=text/plain[one] |", 0},
    /* near misses: not delimiters */
    {"Content-Type: multipart/mixed; boundary=a\n\n--a\n\n--ab\n x --a\n--a--\n",
     "=multipart/mixed;1=text/plain[--ab\n x --a] |", 0},
    /* a boundary that ends in "--" */
    {"Content-Type: multipart/mixed; boundary=\"x--\"\n\n--x--\n\none\n--x----\n",
     "=multipart/mixed;1=text/plain[one] |", 0},
    /* consecutive delimiters make no empty part */
    {"Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n\none\n--b--\n",
     "=multipart/mixed;1=text/plain[one] |", 0},
    /* part headers directly followed by a delimiter */
    {"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/html\n--b\n\nx\n--b--\n",
     "=multipart/mixed;1=text/html[];2=text/plain[x] |", 0},
    /* missing close delimiter: the last part runs to the end, minus its line break */
    {"Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n",
     "=multipart/mixed;1=text/plain[one] | no-close-boundary@52", 0},
    /* no delimiter at all; no boundary parameter */
    {"Content-Type: multipart/mixed; boundary=b\n\njust text\n",
     "=multipart/mixed[just text\n] | no-start-boundary@43", 0},
    {"Content-Type: multipart/mixed\n\njust text\n",
     "=multipart/mixed[just text\n] | no-boundary-param@0", 0},
    /* nested: an outer delimiter closes the inner multipart */
    {"Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/alternative; "
     "boundary=i\n\n--i\n\nA\n--o\n\nB\n--o--\n",
     "=multipart/mixed;1=multipart/alternative;1.1=text/plain[A];2=text/plain[B] | "
     "no-close-boundary@103",
     0},
    /* nested multiparts with one boundary: the innermost wins */
    {"Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; "
     "boundary=a\n\n--a\n\nin\n--a--\n--a\n\nout\n--a--\n",
     "=multipart/mixed;1=multipart/mixed;1.1=text/plain[in];2=text/plain[out] |", 0},
    /* prefix boundaries: inner "ab" inside outer "a" */
    {"Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; "
     "boundary=ab\n\n--ab\n\nin\n--ab--\n--a--\n",
     "=multipart/mixed;1=multipart/mixed;1.1=text/plain[in] |", 0},
    /* message/rfc822: inner leaf is P.1, inner multipart is P */
    {"Content-Type: message/rfc822\n\nSubject: in\n\nhello",
     "=message/rfc822;1=text/plain[hello] |", 0},
    {"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\n"
     "Content-Type: multipart/mixed; boundary=c\n\n--c\n\nx\n--c--\n--b--\n",
     "=multipart/mixed;1=message/rfc822;1=multipart/mixed;1.1=text/plain[x] |", 0},
    {"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeA==",
     "=message/rfc822[U3ViamVjdDogeA==] | encoded-container@29", 0},
    /* multipart/digest: parts default to message/rfc822 */
    {"Content-Type: multipart/digest; boundary=b\n\n--b\n\nSubject: a\n\nA\n--b--\n",
     "=multipart/digest;1=message/rfc822;1.1=text/plain[A] |", 0},
    /* RFC 2231 boundary and a quoted boundary with an escape */
    {"Content-Type: multipart/mixed; boundary*=us-ascii'en'b%20c\n\n--b c\n\nx\n--b c--\n",
     "=multipart/mixed;1=text/plain[x] |", 0},
    {"Content-Type: multipart/mixed; boundary=\"b\\\\c\"\n\n--b\\c\n\nx\n--b\\c--\n",
     "=multipart/mixed;1=text/plain[x] |", 0},
    /* boundary folded inside the quoted string: unfolded */
    {"Content-Type: multipart/mixed; boundary=\"simple\n boundary\"\n\n--simple boundary\n\nx\n"
     "--simple boundary--\n",
     "=multipart/mixed;1=text/plain[x] |", 0},
    /* truncated inside a part's header */
    {"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/ht",
     "=multipart/mixed;1=text/ht[] | truncated@68 no-close-boundary@68", 0},
};

static void test_structure(void)
{
	char got[4096], a[4096], b[4096];

	for (size_t i = 0; i < sizeof structure / sizeof structure[0]; i++) {
		struct mc_mime_message *m;
		size_t n = structure[i].len ? structure[i].len : strlen(structure[i].in), cn, nw;
		char *crlf;

		if (!CHECK(mc_mime_parse(structure[i].in, n, NULL, NULL, &m) == MC_OK))
			continue;
		summary(m, got, sizeof got);
		CHECK_EQ_STR(got, structure[i].want);
		/* the same message with CRLF line ends has the same structure */
		crlf = to_crlf(structure[i].in, n, &cn);
		structure_only(got, a, sizeof a);
		nw = m->nwarnings;
		mc_mime_free(m);
		if (CHECK(mc_mime_parse(crlf, cn, NULL, NULL, &m) == MC_OK)) {
			summary(m, got, sizeof got);
			structure_only(got, b, sizeof b);
			CHECK_EQ_STR(b, a);
			CHECK_EQ_SIZE(m->nwarnings, nw); /* and as many warnings */
			mc_mime_free(m);
		}
		free(crlf);
		MC_TEST_CTX("structure case %zu: %s\n", i, structure[i].in);
	}
}

static void test_spans(void)
{
	static const char in[] = "Subject: a\r\n\tb\r\nsubject: c\r\nContent-Type: multipart/mixed;"
	                         " boundary=b\r\n\r\npre\r\n--b\r\n\r\none\r\n--b--\r\nepi\r\n";
	struct mc_mime_message *m;
	const struct mc_mime_header *h;
	char buf[64];
	size_t n;

	if (!CHECK(mc_mime_parse(in, sizeof in - 1, NULL, NULL, &m) == MC_OK))
		return;
	h = mc_mime_header_find(m, 0, "SUBJECT", NULL);
	CHECK(h && h->offset == 0);
	CHECK_EQ_MEM(h->value.p, h->value.n, "a\r\n\tb", 5);
	n = mc_mime_unfold(h->value, buf);
	CHECK_EQ_MEM(buf, n, "a\tb", 3);
	h = mc_mime_header_find(m, 0, "subject", h);
	CHECK(h && h->value.n == 1 && h->value.p[0] == 'c');
	CHECK(mc_mime_header_find(m, 0, "subject", h) == NULL);
	CHECK(mc_mime_header_find(m, 0, "x-missing", NULL) == NULL);
	CHECK_EQ_MEM(m->parts[0].preamble.p, m->parts[0].preamble.n, "pre", 3);
	CHECK_EQ_MEM(m->parts[0].epilogue.p, m->parts[0].epilogue.n, "epi\r\n", 5);
	CHECK_EQ_SIZE(m->nparts, 2);
	CHECK_EQ_INT(m->parts[0].kind, MC_MIME_MULTIPART);
	CHECK_EQ_INT(m->parts[0].nchildren, 1);
	CHECK_EQ_INT(m->parts[0].next, 2);
	CHECK_EQ_INT(m->parts[1].parent, 0);
	CHECK_EQ_MEM(m->parts[1].boundary.p, m->parts[1].boundary.n, "", 0);
	CHECK_EQ_MEM(m->parts[0].boundary.p, m->parts[0].boundary.n, "b", 1);
	mc_mime_free(m);
	mc_mime_free(NULL);
	CHECK(mc_mime_parse(NULL, 1, NULL, NULL, &m) == MC_EINVAL);
}

/* ---- parameters -------------------------------------------------------------------- */

static void test_params(void)
{
	static const struct {
		const char *v, *type, *sub, *pname, *pval;
	} t[] = {
	    {"text/plain; charset=utf-8", "text", "plain", "charset", "utf-8"},
	    {" (c) Text / HTML (x) ; CHARSET = \"iso-8859-1\" ", "Text", "HTML", "charset",
	     "iso-8859-1"},
	    {"text/plain; format=flowed; charset=\"a\\\"b\"", "text", "plain", "charset", "a\"b"},
	    {"text/plain; charset=us-ascii (Plain text)", "text", "plain", "charset", "us-ascii"},
	    {"application/pdf; name=my file.pdf", "application", "pdf", "name", "my file.pdf"},
	    {"multipart/mixed;\r\n boundary=\"----=_Part_1\"", "multipart", "mixed", "boundary",
	     "----=_Part_1"},
	    {"text/plain; junk; charset=x", "text", "plain", "charset", "x"},
	    {"image/png;name=\"a;b.png\"", "image", "png", "name", "a;b.png"},
	};
	char buf[256];

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct mc_span v = {t[i].v, strlen(t[i].v)}, ty, st, pr;
		struct mc_mime_param p;

		CHECK(mc_mime_content_type(v, &ty, &st, &pr) == MC_OK);
		CHECK_EQ_MEM(ty.p, ty.n, t[i].type, strlen(t[i].type));
		CHECK_EQ_MEM(st.p, st.n, t[i].sub, strlen(t[i].sub));
		if (CHECK(mc_mime_param_get(pr, t[i].pname, &p))) {
			size_t n = mc_mime_unquote(&p, buf);
			CHECK_EQ_MEM(buf, n, t[i].pval, strlen(t[i].pval));
		}
		MC_TEST_CTX("param case %zu: %s\n", i, t[i].v);
	}
	{
		struct mc_span v = {"text", 4}, ty, st, pr, tok;
		CHECK(mc_mime_content_type(v, &ty, &st, &pr) == MC_EINVAL);
		CHECK(mc_mime_span_eq(ty, "TEXT") && mc_mime_span_eq(st, "plain"));
		v.p = "attachment; filename=\"a.txt\"";
		v.n = strlen(v.p);
		CHECK(mc_mime_disposition(v, &tok, &pr) == MC_OK &&
		      mc_mime_span_eq(tok, "attachment"));
		v.p = "<abc@def> (comment)";
		v.n = strlen(v.p);
		CHECK(mc_mime_msgid(v, &tok) == MC_OK);
		CHECK_EQ_MEM(tok.p, tok.n, "abc@def", 7);
		v.p = "(c) bare@id";
		v.n = strlen(v.p);
		CHECK(mc_mime_msgid(v, &tok) == MC_OK);
		CHECK_EQ_MEM(tok.p, tok.n, "bare@id", 7);
		v.p = "nothing";
		v.n = 7;
		CHECK(mc_mime_msgid(v, &tok) == MC_EINVAL);
	}
	/* filename: RFC 2231 continuations with a charset win; RFC 2047 in plain values */
	{
		static const struct {
			const char *msg, *want;
		} f[] = {
		    {"Content-Disposition: attachment; filename*0*=utf-8''%E2%82;\n "
		     "filename*1*=%AC;"
		     " filename*2=\".txt\"; filename=\"plain.txt\"\n\nx",
		     "\xe2\x82\xac.txt"},
		    {"Content-Disposition: attachment; filename=\"=?utf-8?B?w6k=?=.txt\"\n\nx",
		     "\xc3\xa9.txt"},
		    {"Content-Type: application/pdf; name=\"doc.pdf\"\n\nx", "doc.pdf"},
		    {"Content-Disposition: attachment; filename*=iso-8859-1''%E9\n\nx", "\xc3\xa9"},
		};
		for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
			struct mc_mime_message *m;
			size_t n = 0;

			if (!CHECK(mc_mime_parse(f[i].msg, strlen(f[i].msg), NULL, NULL, &m) ==
			           MC_OK))
				continue;
			CHECK(mc_mime_filename(m, 0, buf, sizeof buf, &n) == MC_OK);
			CHECK_EQ_MEM(buf, n, f[i].want, strlen(f[i].want));
			mc_mime_free(m);
			MC_TEST_CTX("filename case %zu\n", i);
		}
	}
}

/* ---- addresses ---------------------------------------------------------------------- */

static void addr_summary(const char *v, char *out, size_t cap)
{
	struct mc_span s = {v, strlen(v)};
	struct mc_mime_addr a;
	size_t pos = 0, o = 0;
	char name[256];

	out[0] = '\0';
	while (mc_mime_addr_next(s, &pos, &a) && o < cap) {
		size_t nn = mc_mime_phrase(a.name, name);

		if (a.flags & MC_ADDR_GROUP_START)
			o += (size_t)snprintf(out + o, cap - o, "%s[%.*s:", o ? " " : "", (int)nn,
			                      name);
		else if (a.flags & MC_ADDR_GROUP_END)
			o += (size_t)snprintf(out + o, cap - o, "]");
		else
			o += (size_t)snprintf(out + o, cap - o, "%s{%.*s|%.*s|%.*s%s}",
			                      o ? " " : "", (int)nn, name, (int)a.local.n,
			                      a.local.p, (int)a.domain.n, a.domain.p,
			                      (a.flags & MC_ADDR_QUOTED_LOCAL) ? "|q" : "");
	}
}

static void test_addresses(void)
{
	static const struct {
		const char *in, *want;
	} t[] = {
	    {"a@b.c", "{|a|b.c}"},
	    {"John Doe <jdoe@example.com>", "{John Doe|jdoe|example.com}"},
	    {"\"Doe, John\" <jdoe@example.com>, b@c", "{Doe, John|jdoe|example.com} {|b|c}"},
	    {"jdoe@example.com (John Doe)", "{John Doe|jdoe|example.com}"},
	    {"\"a b\"@example.com", "{|\"a b\"|example.com|q}"},
	    {"A Group: a@b, C <c@d>; e@f", "[A Group: {|a|b} {C|c|d}] {|e|f}"},
	    {"undisclosed-recipients:;", "[undisclosed-recipients:]"},
	    {"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
	     "{Pete|pete(his account)|silly.test(his host)}"},
	    {"<@route1,@route2:user@host>", "{|user|host}"},
	    {",, ,a@b,,", "{|a|b}"},
	    {"=?utf-8?q?J=C3=B6rg?= <j@x>", "{=?utf-8?q?J=C3=B6rg?=|j|x}"},
	    {"Mary Smith\r\n <mary@x.test>", "{Mary Smith|mary|x.test}"},
	    {"\xc3\xa9l\xc3\xa8ve <\xc3\xa9@\xc3\xa9.fr>",
	     "{\xc3\xa9l\xc3\xa8ve|\xc3\xa9|\xc3\xa9.fr}"},
	    {"<unterminated@x", "{|unterminated|x}"},
	    {"bare", "{|bare|}"},
	    {"", ""},
	};
	char got[1024];

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		addr_summary(t[i].in, got, sizeof got);
		CHECK_EQ_STR(got, t[i].want);
		MC_TEST_CTX("address case %zu: %s\n", i, t[i].in);
	}
}

/* ---- dates ----------------------------------------------------------------------------- */

static void test_dates(void)
{
	static const struct {
		const char *in;
		int64_t t;
		int zone;
		int ok;
	} t[] = {
	    {"Fri, 21 Nov 1997 09:55:06 -0600", 880127706, -360, 1},
	    {"21 Nov 97 09:55:06 GMT", 880106106, 0, 1},
	    {"Thu, 13 Feb 1969 23:32:54 -0330", -27723426 + 0, -210, 1},
	    {"Tue, 1 Jul 2003 10:52:37 +0200", 1057049557, 120, 1},
	    {"Fri, 21 Nov 1997 09(comment):   55  :  06 -0600", 880127706, -360, 1},
	    {"1 Jan 2000 00:00 EST", 946702800, -300, 1},
	    {"Mon, 1 January 2024 12:00:00 +0000 (UTC)", 1704110400, 0, 1},
	    {"Sat, 29 Feb 2020 23:59:60 +0000", 1583020800, 0, 1},
	    {"Malformed Date.", 0, 0, 0},
	    {"", 0, 0, 0},
	    {"32 Jan 2000 00:00:00 +0000", 0, 0, 0},
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct mc_span v = {t[i].in, strlen(t[i].in)};
		int64_t tt = 0;
		int z = 0;
		mc_status s = mc_mime_date(v, &tt, &z);

		CHECK_EQ_INT(s == MC_OK, t[i].ok);
		if (t[i].ok) {
			CHECK_EQ_INT(tt, t[i].t);
			CHECK_EQ_INT(z, t[i].zone);
		}
		MC_TEST_CTX("date case %zu: %s\n", i, t[i].in);
	}
}

/* ---- bodies ------------------------------------------------------------------------------ */

struct collect {
	char buf[4096];
	size_t n, calls;
	size_t stop_after;
};

static int collect_sink(void *ctx, const void *p, size_t n)
{
	struct collect *c = ctx;

	if (c->n + n <= sizeof c->buf)
		memcpy(c->buf + c->n, p, n);
	c->n += n;
	c->calls++;
	return c->stop_after && c->calls >= c->stop_after;
}

static void test_bodies(void)
{
	static const struct {
		const char *msg, *want;
		unsigned flags;
		size_t len; /* 0: strlen(msg) */
	} t[] = {
	    {"Content-Transfer-Encoding: base64\n\naGVs\nbG8=\n", "hello", 0, 0},
	    {"Content-Transfer-Encoding: BASE64 \n\naGVs bG8\n", "hello", 0, 0},
	    {"Content-Transfer-Encoding: base64\n\naGk=\n--junk after padding", "hi", 0, 0},
	    {"Content-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 =\nbar  \n",
	     "caf\xc3\xa9 bar\n", 0, 0},
	    {"Content-Transfer-Encoding: 8bit\n\nraw \xff bytes", "raw \xff bytes", 0, 0},
	    {"Content-Transfer-Encoding: x-uuencode\n\nbegin 644 f\n%:&5L;&\\`\n`\nend\n", "hello",
	     0, 0},
	    {"\n\nsee:\nbegin 600 a.txt\n#86)C\n`\nend\n", "abc", MC_MIME_DECODE_UUENCODE, 0},
	    {"\nno uuencode here\n", "no uuencode here\n", MC_MIME_DECODE_UUENCODE, 0},
	    {"Content-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9", "caf\xc3\xa9",
	     MC_MIME_DECODE_UTF8, 0},
	    {"Content-Type: text/plain; charset=\"UTF-8\"\n\ncaf\xc3\xa9", "caf\xc3\xa9",
	     MC_MIME_DECODE_UTF8, 0},
	    {"Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: "
	     "quoted-printable\n\n=E9t=E9",
	     "\xc3\xa9t\xc3\xa9", MC_MIME_DECODE_UTF8, 0},
	    {"Content-Type: text/plain; charset=utf-16le\n\na\0b\0", "ab", MC_MIME_DECODE_UTF8, 48},
	    {"\n>From me\n>>From you\nFrom x", "From me\n>From you\nFrom x", MC_MIME_DECODE_MBOXRD,
	     0},
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct mc_mime_message *m;
		struct collect c;
		size_t n = t[i].len ? t[i].len : strlen(t[i].msg), w = 0;
		char small[3];

		memset(&c, 0, sizeof c);
		if (!CHECK(mc_mime_parse(t[i].msg, n, NULL, NULL, &m) == MC_OK))
			continue;
		CHECK(mc_mime_decode(m, 0, t[i].flags, collect_sink, &c) == MC_OK);
		CHECK_EQ_MEM(c.buf, c.n, t[i].want, strlen(t[i].want));
		/* into a buffer: exact, and too small */
		CHECK(mc_mime_decode_to(m, 0, t[i].flags, c.buf, sizeof c.buf, &w) == MC_OK);
		CHECK_EQ_SIZE(w, strlen(t[i].want));
		if (strlen(t[i].want) > sizeof small) {
			CHECK(mc_mime_decode_to(m, 0, t[i].flags, small, sizeof small, &w) ==
			      MC_ENOSPC);
			CHECK_EQ_SIZE(w, strlen(t[i].want));
		}
		mc_mime_free(m);
		MC_TEST_CTX("body case %zu\n", i);
	}
	/* a sink that stops */
	{
		static const char msg[] = "Content-Transfer-Encoding: 8bit\n\nbody";
		struct mc_mime_message *m;
		struct collect c;

		memset(&c, 0, sizeof c);
		c.stop_after = 1;
		if (CHECK(mc_mime_parse(msg, sizeof msg - 1, NULL, NULL, &m) == MC_OK)) {
			CHECK(mc_mime_decode(m, 0, 0, collect_sink, &c) == MC_EIO);
			CHECK(mc_mime_decode(m, 5, 0, collect_sink, &c) == MC_EINVAL);
			mc_mime_free(m);
		}
	}
	/* unknown charset */
	{
		static const char msg[] = "Content-Type: text/plain; charset=x-no-such\n\nbody";
		struct mc_mime_message *m;
		struct collect c;

		memset(&c, 0, sizeof c);
		if (CHECK(mc_mime_parse(msg, sizeof msg - 1, NULL, NULL, &m) == MC_OK)) {
			CHECK(mc_mime_decode(m, 0, MC_MIME_DECODE_UTF8, collect_sink, &c) ==
			      MC_EUNSUPPORTED);
			mc_mime_free(m);
		}
	}
}

/* ---- limits -------------------------------------------------------------------------------- */

static int count_warn(const struct mc_mime_message *m, int code)
{
	int n = 0;

	for (size_t i = 0; i < m->nwarnings; i++)
		n += m->warnings[i].code == code;
	return n;
}

static size_t allocs, frees;

static void *count_alloc(void *ctx, size_t n)
{
	(void)ctx;
	allocs++;
	return malloc(n);
}

static void count_free(void *ctx, void *p)
{
	(void)ctx;
	frees++;
	free(p);
}

static void *fail_alloc(void *ctx, size_t n)
{
	(void)ctx;
	(void)n;
	return NULL;
}

static void test_limits(void)
{
	size_t cap = 1 << 20, n = 0;
	char *b = mc_t_xmalloc(cap);
	struct mc_mime_message *m;
	struct mc_mime_limits lim;
	struct mc_mime_allocator al = {count_alloc, count_free, NULL};

	/* 200 nested multiparts, depth limit 10 */
	for (int d = 0; d < 200; d++)
		n += (size_t)snprintf(
		    b + n, cap - n, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", d, d);
	n += (size_t)snprintf(b + n, cap - n, "\nleaf\n");
	memset(&lim, 0, sizeof lim);
	lim.max_depth = 10;
	if (CHECK(mc_mime_parse(b, n, &lim, &al, &m) == MC_OK)) {
		CHECK_EQ_SIZE(m->nparts, 11);
		CHECK_EQ_INT(count_warn(m, MC_MIME_W_DEPTH_LIMIT), 1);
		CHECK_EQ_INT(m->parts[10].kind, MC_MIME_LEAF);
		CHECK_EQ_INT(m->parts[10].depth, 10);
		mc_mime_free(m);
		CHECK(allocs > 0 && allocs == frees);
	}
	/* default depth: 200 levels stop at 64 */
	if (CHECK(mc_mime_parse(b, n, NULL, NULL, &m) == MC_OK)) {
		CHECK_EQ_SIZE(m->nparts, 65);
		mc_mime_free(m);
	}
	/* part limit */
	n = (size_t)snprintf(b, cap, "Content-Type: multipart/mixed; boundary=b\n\n");
	for (int i = 0; i < 50; i++)
		n += (size_t)snprintf(b + n, cap - n, "--b\n\npart %d\n", i);
	n += (size_t)snprintf(b + n, cap - n, "--b--\n");
	memset(&lim, 0, sizeof lim);
	lim.max_parts = 5;
	if (CHECK(mc_mime_parse(b, n, &lim, NULL, &m) == MC_OK)) {
		CHECK_EQ_SIZE(m->nparts, 5);
		CHECK_EQ_INT(count_warn(m, MC_MIME_W_PART_LIMIT), 46);
		CHECK_EQ_MEM(m->buf + m->parts[4].body_offset, m->parts[4].body_length, "part 3",
		             6);
		mc_mime_free(m);
	}
	/* warnings limit */
	lim.max_warnings = 10;
	if (CHECK(mc_mime_parse(b, n, &lim, NULL, &m) == MC_OK)) {
		CHECK_EQ_SIZE(m->nwarnings, 10);
		CHECK_EQ_SIZE(m->warnings_dropped, 36);
		mc_mime_free(m);
	}
	/* header count and line length */
	n = 0;
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(b + n, cap - n, "X-H%d: v\n", i);
	memset(b + n, 'x', 2000);
	memcpy(b + n, "X-Long: ", 8);
	n += 2000;
	n += (size_t)snprintf(b + n, cap - n, "\n\nbody");
	memset(&lim, 0, sizeof lim);
	lim.max_headers = 20;
	if (CHECK(mc_mime_parse(b, n, &lim, NULL, &m) == MC_OK)) {
		CHECK_EQ_SIZE(m->nheaders, 20);
		CHECK_EQ_INT(count_warn(m, MC_MIME_W_HEADER_LIMIT), 1);
		CHECK_EQ_INT(count_warn(m, MC_MIME_W_LONG_LINE), 1);
		CHECK_EQ_MEM(m->buf + m->parts[0].body_offset, m->parts[0].body_length, "body", 4);
		mc_mime_free(m);
	}
	/* allocation failure is MC_ENOMEM, never a crash */
	al.alloc = fail_alloc;
	CHECK(mc_mime_parse(b, n, NULL, &al, &m) == MC_ENOMEM);
	free(b);
}

/* Adversarial input: deep boundary stack with long boundaries and many
 * near-miss lines. Must stay linear: 4 MiB in well under a second. */
static void test_linear(void)
{
	size_t cap = 6 << 20, n = 0;
	char *b = mc_t_xmalloc(cap);
	char bound[1001];
	struct mc_mime_message *m;
	memset(bound, 'q', 1000);
	bound[1000] = '\0';
	for (int d = 0; d < 60; d++) {
		bound[999] = (char)('A' + d % 26);
		bound[998] = (char)('A' + d / 26);
		n += (size_t)snprintf(b + n, cap - n,
		                      "Content-Type: multipart/mixed; boundary=\"%s\"\n\n--%s\n",
		                      bound, bound);
	}
	n += (size_t)snprintf(b + n, cap - n, "\n");
	while (n + 1100 < (size_t)4 << 20) {
		b[n++] = '-';
		b[n++] = '-';
		memset(b + n, 'q', 1000);
		n += 1000;
		b[n++] = '\n';
	}
	/* Tests assert outcomes, not time (the machine's load would decide):
	 * quadratic behaviour here shows in bench/ and as libFuzzer timeouts. */
	if (CHECK(mc_mime_parse(b, n, NULL, NULL, &m) == MC_OK)) {
		CHECK_EQ_SIZE(m->nparts, 61);
		mc_mime_free(m);
	}
	/* 2,700 folded lines of one To: field */
	n = (size_t)snprintf(b, cap, "To: ");
	for (int i = 0; i < 2700; i++)
		n += (size_t)snprintf(b + n, cap - n, "=?utf-8?q?x?= <a%d@b>,\n ", i);
	n += (size_t)snprintf(b + n, cap - n, "z@y\n\nbody");
	if (CHECK(mc_mime_parse(b, n, NULL, NULL, &m) == MC_OK)) {
		const struct mc_mime_header *h = mc_mime_header_find(m, 0, "to", NULL);
		struct mc_mime_addr a;
		size_t pos = 0, count = 0;

		while (h && mc_mime_addr_next(h->value, &pos, &a))
			count++;
		CHECK_EQ_SIZE(count, 2701);
		mc_mime_free(m);
	}
	free(b);
}

static void test_mbox(void)
{
	static const char box[] =
	    "From a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\nbody1\n"
	    "From c@d Mon Jan  1 00:00:00 2024\nSubject: two\n\nbody2\n>From x\n";
	struct mc_span msg, from;
	size_t pos = 0, count = 0;

	while (mc_mime_mbox_next(box, sizeof box - 1, &pos, &msg, &from)) {
		struct mc_mime_message *m;

		count++;
		CHECK(from.n > 5 && memcmp(from.p, "From ", 5) == 0);
		if (CHECK(mc_mime_parse(msg.p, msg.n, NULL, NULL, &m) == MC_OK)) {
			const struct mc_mime_header *h = mc_mime_header_find(m, 0, "subject", NULL);
			CHECK(h && h->value.n == 3);
			if (count == 1)
				CHECK_EQ_MEM(m->buf + m->parts[0].body_offset,
				             m->parts[0].body_length, "body1", 5);
			mc_mime_free(m);
		}
	}
	CHECK_EQ_SIZE(count, 2);
	pos = 0;
	CHECK(mc_mime_mbox_next("", 0, &pos, &msg, NULL) == 0);
}

static void test_names(void)
{
	for (int c = 1; c < MC_MIME_W_COUNT_; c++) {
		CHECK(strcmp(mc_mime_warning_name(c), "unknown") != 0);
		CHECK(strcmp(mc_mime_warning_text(c), "unknown warning") != 0);
	}
	CHECK_EQ_STR(mc_mime_warning_name(0), "unknown");
	CHECK_EQ_STR(mc_mime_warning_name(MC_MIME_W_COUNT_), "unknown");
}

int main(void)
{
	test_structure();
	test_spans();
	test_params();
	test_addresses();
	test_dates();
	test_bodies();
	test_limits();
	test_linear();
	test_mbox();
	test_names();
	MC_TEST_END();
}
