/* test_rfc2231.c: MIME parameter values. RFC 2231 section 3, 4 and 7
 * examples; continuations out of order, mixed encoded and plain sections,
 * gaps and duplicates, characters split between sections; RFC 2047 words in
 * quoted values (inputs from the shared corpus, see tests/data/SOURCES.md);
 * exact MC_ENOSPC; encoding properties (lines <= 78, sections never split a
 * character, round trip through mc_rfc2231_get). */
#include "test.h"
#include "mimecodec/encword.h"

/* Splits "; a=b; c="d;e"" into raw spans, quotes kept (what the MIME
 * parser hands over). */
static size_t split(const char *s, struct mc_rfc2231_param *out, size_t max)
{
	size_t i = 0, k = 0, n = strlen(s);

	while (i < n && k < max) {
		size_t a, e;

		while (i < n && strchr("; \t\r\n", s[i]))
			i++;
		a = i;
		while (i < n && s[i] != '=' && s[i] != ';')
			i++;
		if (i >= n || s[i] != '=')
			continue;
		out[k].name = s + a;
		out[k].name_len = i - a;
		e = ++i;
		if (i < n && s[i] == '"') {
			for (i++; i < n && s[i] != '"'; i++)
				if (s[i] == '\\' && i + 1 < n)
					i++;
			if (i < n)
				i++;
		} else {
			while (i < n && s[i] != ';' && s[i] != ' ' && s[i] != '\r' && s[i] != '\n')
				i++;
		}
		out[k].value = s + e;
		out[k].value_len = i - e;
		k++;
	}
	return k;
}

/* Looks name up in the parameter list, exactly sized output. */
static char *get(const char *list, const char *name, struct mc_rfc2231_info *info, unsigned *warn,
                 size_t *len)
{
	struct mc_rfc2231_param ps[300];
	size_t np = split(list, ps, 300), cap = mc_rfc2231_decode_bound(strlen(list));
	char *out = mc_t_xmalloc(cap + 1);
	struct mc_ew_result r;

	CHECK_EQ_INT(mc_rfc2231_get(ps, np, name, strlen(name), out, cap, info, &r), MC_OK);
	CHECK(r.written <= cap);
	out[r.written] = '\0';
	*warn = r.warnings;
	if (len)
		*len = r.written;
	return out;
}

static const struct {
	const char *list, *name, *want, *lang;
	unsigned warn; /* bits that must be set (0: none may be) */
} cases[] = {
    /* RFC 2231 section 3 */
    {"; access-type=URL; URL*0=\"ftp://\"; URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/"
     "bulk-mailer.tar\"",
     "url", "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar", NULL, 0},
    /* section 4 */
    {"; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A", "title", "This is ***fun***",
     "en-us", 0},
    /* section 4.1: mixed encoded and plain sections */
    {"; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20;"
     " title*2=\"isn't it!\"",
     "title", "This is even more ***fun*** isn't it!", "en", 0},
    /* out of order */
    {"; title*2=\"isn't it!\"; title*1*=%2A%2A%2Afun%2A%2A%2A%20;"
     " title*0*=us-ascii'en'This%20is%20even%20more%20",
     "title", "This is even more ***fun*** isn't it!", "en", 0},
    /* a character split between sections; quoted extended value */
    {"; filename*1*=%82%AC.txt; filename*0*=\"utf-8''%E2\"", "filename", "\xe2\x82\xac.txt", "", 0},
    /* the charset is converted once, over all sections */
    {"; name*0*=iso-2022-jp''%1B%24BF%7CK%5C; name*1*=8l%1B%28B", "name",
     "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "", 0},
    {"; name*0*=iso-8859-1''Fr%F6sche; name*1=.txt", "NAME", "Fr\xc3\xb6sche.txt", "", 0},
    /* extended wins over plain */
    {"; filename=\"fallback.txt\"; filename*=utf-8''%C3%A9t%C3%A9.txt", "filename",
     "\xc3\xa9t\xc3\xa9.txt", "", 0},
    /* no charset: UTF-8 policy */
    {"; filename*=caf%C3%A9", "filename", "caf\xc3\xa9", NULL, 0},
    {"; filename*=''caf%E9", "filename", "caf\xef\xbf\xbd", "", MC_EW_W_INVALID},
    /* unknown charset reported, bytes kept */
    {"; filename*=x-klingon''caf%C3%A9", "filename", "caf\xc3\xa9", "", MC_EW_W_CHARSET},
    /* gaps, duplicates, bad escapes */
    {"; a*0=x; a*2=z", "a", "xz", NULL, MC_EW_W_PARAM},
    {"; a*0=x; a*0=y; a*1=z", "a", "xz", NULL, MC_EW_W_PARAM},
    {"; a*=utf-8''100%; b=1", "a", "100%", "", MC_EW_W_PARAM},
    {"; a*=utf-8''%4g", "a", "%4g", "", MC_EW_W_PARAM},
    /* names: prefixes and odd suffixes are other parameters */
    {"; filenamex=1; filename*x=2; filename**=3; filename=ok", "filename", "ok", NULL, 0},
    /* stalwart-mail-parser fields/content_type.json */
    {"; key4*=us-ascii''foo; key*9999=ba%; key2*0=a; key3*0*=us-ascii'en'xyz; key*0=\"foo\";"
     " key2*1*=b%25; key3*1=plop%; key*1=baz",
     "key", "foobazba%", NULL, MC_EW_W_PARAM},
    {"; key2*0=a; key2*1*=b%25", "key2", "ab%", NULL, 0},
    {"; key3*0*=us-ascii'en'xyz; key3*1=plop%", "key3", "xyzplop%", "en", 0},
    {"; name*=\"iso-8859-1''HasenundFr%F6sche.txt\"", "name", "HasenundFr\xc3\xb6sche.txt", "", 0},
    {"; filename*0*=iso-8859-1'es'%D1and%FA; filename*1*=iso-8859-1'%20r%E1pido;"
     " filename*2*=\"iso-8859-1' (versi%F3n \\'99 \\\"oficial\\\").pdf\"",
     "filename",
     "\xc3\x91"
     "and\xc3\xba r\xc3\xa1pido (versi\xc3\xb3n '99 \"oficial\").pdf",
     "es", MC_EW_W_PARAM},
    {"; name=\"=?utf-8?q?=E3=83=8F=E3=83=AD=E3=83=BC?=.png\"", "name",
     "\xe3\x83\x8f\xe3\x83\xad\xe3\x83\xbc.png", NULL, MC_EW_W_SYNTAX},
    {"; name==?iso-8859-6?b?5dHNyMcgyMfk2cfk5S5naWY=?=", "name",
     "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 \xd8\xa8\xd8\xa7\xd9\x84\xd8\xb9\xd8\xa7\xd9\x84"
     "\xd9\x85.gif",
     NULL, 0},
    {"; filename=\"=?utf-8?Q?Auftragsbest=C3=A4tigung_Xxxxx_Xxxxxx_XXXXXXXXXX=2EPD?=\r\n"
     " =?utf-8?Q?F?=\"",
     "filename", "Auftragsbest\xc3\xa4tigung Xxxxx Xxxxxx XXXXXXXXXX.PDF", NULL, MC_EW_W_SYNTAX},
    /* ruby-mail multi_charset/japanese_attachment_long_name.eml */
    {"; x-unix-mode=0644; name=\"=?utf-8?B?44GL44GN44GP44GR44GT44GL44GN44GP44GR44GT44GL44GN44GP?=\n"
     " =?utf-8?B?44GR44GT44GL44GN44GP44GR44GT44GL44GN44GP44GR44GTLnR4?=\n =?utf-8?B?dA==?=\"",
     "name",
     "\xe3\x81\x8b\xe3\x81\x8d\xe3\x81\x8f\xe3\x81\x91\xe3\x81\x93\xe3\x81\x8b\xe3\x81\x8d\xe3"
     "\x81\x8f\xe3\x81\x91\xe3\x81\x93\xe3\x81\x8b\xe3\x81\x8d\xe3\x81\x8f\xe3\x81\x91\xe3\x81"
     "\x93\xe3\x81\x8b\xe3\x81\x8d\xe3\x81\x8f\xe3\x81\x91\xe3\x81\x93\xe3\x81\x8b\xe3\x81\x8d"
     "\xe3\x81\x8f\xe3\x81\x91\xe3\x81\x93.txt",
     NULL, MC_EW_W_SYNTAX},
    {"; filename*0*=utf-8''%E3%81%8B%E3%81%8D%E3%81%8F%E3%81%91%E3%81%93%E3%81%8B%E3%81%8D%E3%81"
     "%8F%E3%81%91%E3%81%93%E3%81%8B;\n\tfilename*1*=%E3%81%8D%E3%81%8F%E3%81%91%E3%81%93.txt",
     "filename",
     "\xe3\x81\x8b\xe3\x81\x8d\xe3\x81\x8f\xe3\x81\x91\xe3\x81\x93\xe3\x81\x8b\xe3\x81\x8d\xe3"
     "\x81\x8f\xe3\x81\x91\xe3\x81\x93\xe3\x81\x8b\xe3\x81\x8d\xe3\x81\x8f\xe3\x81\x91\xe3\x81"
     "\x93.txt",
     "", 0},
    /* mime4j mimetools-testmsgs/russian.msg: unquoted encoded word */
    {"; filename==?koi8-r?B?89DJ08/LLmRvYw==?=", "filename",
     "\xd0\xa1\xd0\xbf\xd0\xb8\xd1\x81\xd0\xbe\xd0\xba.doc", NULL, 0},
    /* mime4j mimetools-testmsgs/multi-2evil.msg */
    {"; filename=\"/evil/because:of\\path\\3d-=?ISO-8859-1?Q?=63?=om=?US-ASCII*EN?Q?pr?=ess.gif\"",
     "filename", "/evil/because:ofpath3d-compress.gif", NULL, MC_EW_W_SYNTAX},
    /* cpython-test_email data/msg_33.txt: an RFC 2231 boundary */
    {"; boundary*=\"ansi-x3.4-1968''EeQfGwPcQSOJBaQU\"", "boundary", "EeQfGwPcQSOJBaQU", "", 0},
    /* plain sections carrying one encoded word between them */
    {"; n*0=\"=?utf-8?Q?caf\"; n*1=\"=C3=A9?=\"", "n", "caf\xc3\xa9", NULL, 0},
    /* whitespace inside quotes is part of the value */
    {"; filename=\"  two  spaces .txt\"", "filename", "  two  spaces .txt", NULL, 0},
};

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mc_rfc2231_info info;
		unsigned w;
		char *got = get(cases[i].list, cases[i].name, &info, &w, NULL);

		CHECK(info.found);
		CHECK_EQ_STR(got, cases[i].want);
		CHECK((w & cases[i].warn) == cases[i].warn && (cases[i].warn || !w));
		if (cases[i].lang) {
			CHECK(info.lang != NULL);
			CHECK(info.lang && info.lang_len == strlen(cases[i].lang) &&
			      memcmp(info.lang, cases[i].lang, info.lang_len) == 0);
		}
		free(got);
		MC_TEST_CTX("case %zu: %s (warnings 0x%x)\n", i, cases[i].list, w);
	}
}

static void test_misc(void)
{
	struct mc_rfc2231_param ps[4];
	struct mc_rfc2231_info info;
	struct mc_ew_result r;
	char out[64];
	size_t np = split("; a*0*=utf-8''%C3%A9%C3%A9; a*1=xyz; b=2", ps, 4);

	CHECK_EQ_INT(mc_rfc2231_get(ps, np, "c", 1, out, sizeof out, &info, &r), MC_OK);
	CHECK(!info.found);
	CHECK_EQ_INT(mc_rfc2231_get(ps, np, "a", 1, out, sizeof out, &info, &r), MC_OK);
	CHECK(info.found && info.extended && info.charset_len == 5);
	CHECK_EQ_MEM(out, r.written, "\xc3\xa9\xc3\xa9xyz", 7);
	for (size_t cap = 0; cap < 7; cap++) {
		char *o = mc_t_xmalloc(cap);

		CHECK_EQ_INT(mc_rfc2231_get(ps, np, "a", 1, cap ? o : NULL, cap, &info, &r),
		             MC_ENOSPC);
		CHECK(r.written <= cap);
		free(o);
	}
	CHECK_EQ_INT(mc_rfc2231_get(ps, np, NULL, 1, out, sizeof out, &info, &r), MC_EINVAL);
	CHECK_EQ_INT(mc_rfc2231_get(NULL, 1, "a", 1, out, sizeof out, &info, &r), MC_EINVAL);
	CHECK_EQ_INT(mc_rfc2231_get(ps, np, "a", 1, out, sizeof out, NULL, &r), MC_EINVAL);
	/* more sections than the limit: warned, no overflow */
	{
		static char big[300 * 16];
		size_t o = 0;
		unsigned w;
		char *got;

		for (int i = 299; i >= 0; i--)
			o +=
			    (size_t)snprintf(big + o, sizeof big - o, "; x*%d=%c", i, 'a' + i % 26);
		got = get(big, "x", &info, &w, NULL);
		CHECK(w & MC_EW_W_PARAM);
		CHECK(strlen(got) <= 256);
		free(got);
	}
}

/* ---- encoding ------------------------------------------------------------------ */

static void check_encode(const char *name, const char *v, size_t n, unsigned col)
{
	struct mc_ew_result r;
	struct mc_rfc2231_param ps[4096];
	struct mc_rfc2231_info info;
	size_t need, np, line = 0, x, start = 0;
	char *out, *text, *back;

	CHECK_EQ_INT(mc_rfc2231_encode(name, strlen(name), v, n, col, 0, NULL, 0, &r), MC_OK);
	need = r.written;
	CHECK(need <= mc_rfc2231_encode_bound(strlen(name), n));
	out = mc_t_xmalloc(need);
	CHECK_EQ_INT(mc_rfc2231_encode(name, strlen(name), v, n, col, 0, out, need, &r), MC_OK);
	CHECK_EQ_SIZE(r.written, need);
	CHECK_EQ_INT(mc_rfc2231_encode(name, strlen(name), v, n, col, 0, out, need - 1, &r),
	             MC_ENOSPC);
	CHECK(need > 0 && out[0] == ';');
	for (x = 0; x <= need; x++) {
		if (x == need || out[x] == '\r') {
			CHECK(x - start + (line ? 0 : col) <= 78 || (line == 0 && col >= 77));
			if (x < need)
				CHECK(x + 2 < need && out[x + 1] == '\n' && out[x + 2] == ' ');
			start = x + 2;
			line++;
			x++;
		}
	}
	/* round trip: the text as a parser would see it */
	text = mc_t_xmalloc(need + 1);
	memcpy(text, out, need);
	text[need] = '\0';
	np = split(text, ps, 4096);
	back = mc_t_xmalloc(mc_rfc2231_decode_bound(need) + 1);
	CHECK_EQ_INT(mc_rfc2231_get(ps, np, name, strlen(name), back, mc_rfc2231_decode_bound(need),
	                            &info, &r),
	             MC_OK);
	if (!CHECK_EQ_MEM(back, r.written, v, n))
		fprintf(stderr, "    encoded: %s\n", text);
	CHECK(r.warnings == 0);
	/* each encoded section alone is valid UTF-8: nothing split */
	for (size_t i = 0; i < np; i++) {
		struct mc_rfc2231_param one = ps[i];
		char tmp[256];

		if (one.name_len && one.name[one.name_len - 1] == '*' && one.name_len > 2 &&
		    one.name[one.name_len - 2] != '0') {
			const char *p = one.value;
			size_t k = 0;

			for (size_t j = 0; j < one.value_len && k < sizeof tmp; j++) {
				unsigned h;

				if (p[j] == '%' && j + 2 < one.value_len &&
				    sscanf(p + j + 1, "%2x", &h) == 1) {
					tmp[k++] = (char)h;
					j += 2;
				} else {
					tmp[k++] = p[j];
				}
			}
			for (size_t j = 0; j < k; j++)
				CHECK(((unsigned char)tmp[0] & 0xC0) != 0x80);
		}
	}
	free(text);
	free(back);
	free(out);
}

static void test_encode(void)
{
	static const struct {
		const char *name, *v;
		unsigned col;
		const char *want;
	} t[] = {
	    {"filename", "report.pdf", 31, "; filename=report.pdf"},
	    {"filename", "my file.txt", 31, "; filename=\"my file.txt\""},
	    {"filename", "a\"b\\c", 31, "; filename=\"a\\\"b\\\\c\""},
	    {"filename", "", 31, "; filename=\"\""},
	    {"filename", "\xc3\xa9t\xc3\xa9.txt", 31, "; filename*=utf-8''%C3%A9t%C3%A9.txt"},
	    {"filename", "x", 77, ";\r\n filename=x"},
	};
	static const char *atoms[] = {
	    "a", "report", " ", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\"", "\\", "%",
	    "'", "*",      ";", "\t",       ".pdf",         "\xe3\x81\x8b"};
	char v[600];

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char out[256];
		struct mc_ew_result r;

		CHECK_EQ_INT(mc_rfc2231_encode(t[i].name, strlen(t[i].name), t[i].v, strlen(t[i].v),
		                               t[i].col, 0, out, sizeof out, &r),
		             MC_OK);
		CHECK_EQ_MEM(out, r.written, t[i].want, strlen(t[i].want));
		MC_TEST_CTX("encode case %zu\n", i);
	}
	{
		struct mc_ew_result r;
		char out[64];

		CHECK_EQ_INT(mc_rfc2231_encode("file name", 9, "a", 1, 0, 0, out, sizeof out, &r),
		             MC_EINVAL);
		CHECK_EQ_INT(mc_rfc2231_encode("f*", 2, "a", 1, 0, 0, out, sizeof out, &r),
		             MC_EINVAL);
		CHECK_EQ_INT(mc_rfc2231_encode("f", 1, "a\xc3", 2, 0, 0, out, sizeof out, &r),
		             MC_EBADCHAR);
		CHECK_EQ_SIZE(r.err_offset, 1);
	}
	for (int iter = 0; iter < 3000; iter++) {
		size_t n = 0;
		int parts = (int)(mc_t_rand() % 80);
		static const char *names[] = {"filename", "name", "x",
		                              "a-forty-character-parameter-name-xxxxxxx"};

		for (int p = 0; p < parts; p++) {
			const char *a = atoms[mc_t_rand() % (sizeof atoms / sizeof atoms[0])];
			size_t k = strlen(a);

			if (n + k > sizeof v)
				break;
			memcpy(v + n, a, k);
			n += k;
		}
		check_encode(names[iter % 4], v, n, (unsigned)(iter % 80));
		MC_TEST_CTX("iteration %d: \"%.*s\"\n", iter, (int)n, v);
	}
}

int main(void)
{
	test_cases();
	test_misc();
	test_encode();
	MC_TEST_END();
}
