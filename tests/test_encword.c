/* test_encword.c: RFC 2047 encoded words. Decoding: the RFC 2047 section 8
 * and RFC 2231 section 5 examples, a table of real-world violations taken
 * from the shared corpus (tests/data/SOURCES.md), thirteen charsets in B and
 * Q, characters split across words at every byte, charset policy (unknown,
 * us-ascii, latin1 aliases), phrases, exact MC_ENOSPC behaviour, the 3n
 * bound and linear time on adversarial input. Encoding: expected outputs and
 * properties over generated values (words <= 75, lines <= 78, never a split
 * character, round trip through the decoder, exact measuring). */
#include <time.h>

#include "test.h"
#include "mimecodec/encword.h"
#include "mimecodec/base64.h"

/* ---- helpers ------------------------------------------------------------------- */

/* Independent UTF-8 validator (RFC 3629 table 3-7). */
static int valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i];
		size_t k;
		unsigned lo = 0x80, hi = 0xBF;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			k = 1;
		else if (c >= 0xE0 && c <= 0xEF)
			k = 2, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
		else if (c >= 0xF0 && c <= 0xF4)
			k = 3, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
		else
			return 0;
		if (i + k >= n + 0 && i + k > n - 1 + 1)
			return 0;
		if (i + k >= n)
			return 0;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (size_t j = 2; j <= k; j++)
			if (s[i + j] < 0x80 || s[i + j] > 0xBF)
				return 0;
		i += k + 1;
	}
	return 1;
}

/* Decodes into an exactly sized heap block; returns a NUL-terminated copy. */
static char *dec(const char *in, size_t n, unsigned flags, unsigned *warn, size_t *len)
{
	size_t cap = mc_ew_decode_bound(n);
	char *out = mc_t_xmalloc(cap + 1);
	struct mc_ew_result r;
	mc_status st = mc_ew_decode(in, n, flags, out, cap, &r);

	CHECK_EQ_INT(st, MC_OK);
	CHECK(r.written <= cap);
	CHECK(valid_utf8((unsigned char *)out, r.written));
	out[r.written] = '\0';
	if (warn)
		*warn = r.warnings;
	if (len)
		*len = r.written;
	return out;
}

static void check_dec(const char *in, const char *want, unsigned flags, unsigned want_warn,
                      int line)
{
	unsigned w;
	char *got = dec(in, strlen(in), flags, &w, NULL);

	if (!mc_t_report(strcmp(got, want) == 0, __FILE__, line, "decoded text"))
		fprintf(stderr, "    in: \"%s\"\n    got \"%s\"\n    want \"%s\"\n", in, got, want);
	if (!mc_t_report((w & want_warn) == want_warn && (want_warn || !w), __FILE__, line,
	                 "warnings"))
		fprintf(stderr, "    in: \"%s\": warnings 0x%x, want 0x%x\n", in, w, want_warn);
	free(got);
}

struct dcase {
	const char *in, *out;
	unsigned flags, warn; /* warn: bits that must be set (0: none may be) */
};

/* ---- RFC 2047 section 8 and RFC 2231 section 5 --------------------------------- */

static const struct dcase rfc_cases[] = {
    {"(=?ISO-8859-1?Q?a?=)", "(a)", 0, MC_EW_W_SYNTAX},
    {"(=?ISO-8859-1?Q?a?= b)", "(a b)", 0, MC_EW_W_SYNTAX},
    {"(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)", 0, MC_EW_W_SYNTAX},
    {"(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)", 0, MC_EW_W_SYNTAX},
    {"(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)", 0, MC_EW_W_SYNTAX},
    {"(=?ISO-8859-1?Q?a_b?=)", "(a b)", 0, MC_EW_W_SYNTAX},
    {"(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)", 0, MC_EW_W_SYNTAX},
    {"=?ISO-8859-1?Q?a?=", "a", 0, 0},
    {"=?ISO-8859-1?Q?a?= b", "a b", 0, 0},
    {"=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab", 0, 0},
    {"=?US-ASCII?Q?Keith_Moore?=", "Keith Moore", MC_EW_PHRASE, 0},
    {"=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=", "Keld J\xc3\xb8rn Simonsen", MC_EW_PHRASE, 0},
    {"=?ISO-8859-1?Q?Andr=E9?= Pirard", "Andr\xc3\xa9 Pirard", MC_EW_PHRASE, 0},
    {"=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n"
     "    =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
     "If you can read this you understand the example.", 0, 0},
    {"=?ISO-8859-8?b?7eXs+SDv4SDp7Oj08A==?=",
     "\xd7\x9d\xd7\x95\xd7\x9c\xd7\xa9 \xd7\x9f\xd7\x91 \xd7\x99\xd7\x9c\xd7\x98\xd7\xa4\xd7\xa0",
     MC_EW_PHRASE, 0},
    /* RFC 2231 section 5 */
    {"=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore", 0, 0},
    {"=?utf-8*de-CH?B?R3LDvGV6aQ==?=",
     "Gr\xc3\xbc"
     "ezi",
     0, 0},
};

/* ---- real-world violations ------------------------------------------------------- */

/* Inputs copied from the shared corpus; tests/data/SOURCES.md names the
 * repositories, commits and licenses. */
static const struct dcase wild_cases[] = {
    /* stalwart-mail-parser fields/unstructured.json */
    {"[SUSPECTED SPAM]=?utf-8?B?VGhpcyBpcyB0aGUgb3JpZ2luYWwgc3ViamVjdA==?=",
     "[SUSPECTED SPAM]This is the original subject", 0, MC_EW_W_SYNTAX},
    {"[SUSPECTED SPAM]=?utf-8?B?VGhpcyBpcyB0aGUgb\r\n 3JpZ2luYWwgc3ViamVjdA==?=\r\n",
     "[SUSPECTED SPAM]This is the original subject", 0, MC_EW_W_SYNTAX},
    {"=?utf-8?Q?Hello\r\n   \t  _there!?=\r\n", "Hello there!", 0, MC_EW_W_SYNTAX},
    {"=?utf-8?Q?Hello\n _there!?=\n", "Hello there!", 0, MC_EW_W_SYNTAX},
    {"=?iso-8859-1?q?this is some text?=", "this is some text", 0, 0},
    {"=?ISO-8859-1?Q?a?==?ISO-8859-1?Q?b?==?ISO-8859-1?Q?c?= =?ISO-8859-1?Q?d?=", "abcd", 0, 0},
    {"Some text =?utf-8?Q?\?=here", "Some text here", 0, MC_EW_W_SYNTAX},
    {" let's = try =?iso-8859-1? to break\n =? the \n parser\n",
     "let's = try =?iso-8859-1? to break =? the  parser", 0, 0},
    {" this =?iso-8859-1?q?is?= some =?iso-8859-1?q?t?=\n =?iso-8859-1?q?e?= \n"
     " =?iso-8859-1?q?x?=\n =?iso-8859-1?q?t?=\n",
     "this is some text", 0, 0},
    {"Les Communs - =?utf-8?Q?R=C3=A9capitulatif?= de la\r\n =?utf-8?Q?r=C3=A9servation?= "
     "13510164434879\r\n",
     "Les Communs - R\xc3\xa9"
     "capitulatif de la r\xc3\xa9servation 13510164434879",
     0, 0},
    {" =?", "=?", 0, 0},
    {"=?utf-8? \n", "=?utf-8?", 0, 0},
    /* mimekit messages/japanese.txt: ISO-2022-JP over two words */
    {"=?ISO-2022-JP?B?GyRCRnxLXDhsJWEhPCVrJUYlOSVIGyhCICh0ZXN0aW5nIEph?=\n"
     " =?ISO-2022-JP?B?cGFuZXNlIGVtYWlscyk=?=",
     "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x83\xa1\xe3\x83\xbc\xe3\x83\xab\xe3\x83\x86"
     "\xe3\x82\xb9\xe3\x83\x88 (testing Japanese emails)",
     0, 0},
    /* ruby-mail plain_emails/raw_email.eml: EUC-KR */
    {"=?EUC-KR?Q?NOTE:_=C7=D1=B1=B9=B8=BB=B7=CE_=C7=CF=B4=C2_=B0=CD?=",
     "NOTE: \xed\x95\x9c\xea\xb5\xad\xeb\xa7\x90\xeb\xa1\x9c \xed\x95\x98\xeb\x8a\x94 "
     "\xea\xb2\x83",
     0, 0},
    /* ruby-mail plain_emails/raw_email_bad_time.eml: a word in a quoted string */
    {"\"=?windows-1251?B?wPLo6u7iYQ==?=\"",
     "\xd0\x90\xd1\x82\xd0\xb8\xd0\xba\xd0\xbe\xd0\xb2"
     "a",
     MC_EW_PHRASE, MC_EW_W_SYNTAX},
    /* ruby-mail error_emails/invalid_subject_characters.eml */
    {"\"=?Windows-1252?B?Rm9ybWHn428gRnJlbmV0aWtwb2xpcw==?=\"",
     "Forma\xc3\xa7\xc3\xa3o Frenetikpolis", MC_EW_PHRASE, MC_EW_W_SYNTAX},
    /* ruby-mail error_emails/bad_encoded_subject.eml: charset "NONE", bad padding */
    {"=?NONE?B?VEVTVA=?=", "TEST", 0, MC_EW_W_CHARSET},
    /* stalwart legacy/034.eml: UTF-7 in Q */
    {"=?utf-7?Q?Die_Hasen_und_die_Fr+APY-sche_=28Microsoft_Outlook_00=29?=",
     "Die Hasen und die Fr\xc3\xb6sche (Microsoft Outlook 00)", 0, 0},
    /* stalwart legacy/001.eml: UTF-7 in B, display name */
    {"=?utf-7?B?SitBUHctcmdlbiBTY2htK0FQdy1yZ2Vu?=", "J\xc3\xbcrgen Schm\xc3\xbcrgen", MC_EW_PHRASE,
     0},
    /* mime4j mimetools-testmsgs/multi-2evil.msg (quoted value of a filename) */
    {"\"/evil/because:of\\path\\3d-=?ISO-8859-1?Q?=63?=om=?US-ASCII*EN?Q?pr?=ess.gif\"",
     "/evil/because:ofpath3d-compress.gif", MC_EW_PHRASE, MC_EW_W_SYNTAX},
    /* stalwart fields/address.json: a language suffix inside a phrase */
    {"John =?US-ASCII*EN?Q?Doe?=", "John Doe", MC_EW_PHRASE, 0},
    /* over-long word (stalwart legacy) and a lower-case encoding letter */
    {"=?utf-8?q?0123456789012345678901234567890123456789012345678901234567890123456789?=",
     "0123456789012345678901234567890123456789012345678901234567890123456789", 0, MC_EW_W_LONG},
    /* base64 quanta split across words; unpadded words */
    {"=?utf-8?B?SGVsbG8gV29yb?= =?utf-8?B?GQ=?=", "Hello World", 0, 0},
    {"=?utf-8?B?SGVsbG8gV29ybG?= =?utf-8?B?Q=?=", "Hello World", 0, 0},
    {"=?utf-8?B?QQ?= =?utf-8?B?QUI?=", "AAB", 0, 0},
    {"=?utf-8?B?QUJD?==?utf-8?B?REVG?=", "ABCDEF", 0, 0},
    /* bad encodings are repaired, not fatal */
    {"=?utf-8?B?QU@JD?=", "ABC", 0, MC_EW_W_ENCODING},
    {"=?utf-8?Q?100=?=", "100=", 0, MC_EW_W_ENCODING},
    {"=?utf-8?Q?=4x=41?=", "=4xA", 0, MC_EW_W_ENCODING},
    /* not encoded words */
    {"=?utf-8?X?abc?=", "=?utf-8?X?abc?=", 0, 0},
    {"=??Q?abc?=", "=??Q?abc?=", 0, 0},
    {"a =?utf-8?Q?b", "a =?utf-8?Q?b", 0, 0},
    {"=?utf-8?Q?", "=?utf-8?Q?", 0, 0},
    /* RFC 6532 raw UTF-8, and raw 8-bit that is not UTF-8 */
    {"\xe3\x83\x8f\xe3\x83\xad\xe3\x83\xbc \n", "\xe3\x83\x8f\xe3\x83\xad\xe3\x83\xbc", 0, 0},
    {"caf\xe9 =?utf-8?Q?=C3=A9?=", "caf\xef\xbf\xbd \xc3\xa9", 0, MC_EW_W_INVALID},
    {"", "", 0, 0},
    {" \r\n\t ", "", 0, 0},
};

/* ---- phrases --------------------------------------------------------------------- */

static const struct dcase phrase_cases[] = {
    {"\"Doe, John\"", "Doe, John", MC_EW_PHRASE, 0},
    {"\"a \\\"quoted\\\" \\\\ word\"", "a \"quoted\" \\ word", MC_EW_PHRASE, 0},
    {"John   Q.\r\n Public", "John Q. Public", MC_EW_PHRASE, 0},
    {"\"  two  spaces  \" kept", "two  spaces   kept", MC_EW_PHRASE, 0},
    {"\"=?utf-8?Q?a?= =?utf-8?Q?b?=\"", "ab", MC_EW_PHRASE, MC_EW_W_SYNTAX},
    {"=?utf-8?Q?J=C3=B6rg?= \"Sch\\\"n\"", "J\xc3\xb6rg Sch\"n", MC_EW_PHRASE, 0},
    {"\"unterminated =?utf-8?Q?x?=", "unterminated x", MC_EW_PHRASE, MC_EW_W_SYNTAX},
    {"\"Doe, John\"", "\"Doe, John\"", 0, 0}, /* unstructured: quotes are text */
};

static void run_table(const struct dcase *t, size_t n, int line)
{
	for (size_t i = 0; i < n; i++) {
		check_dec(t[i].in, t[i].out, t[i].flags, t[i].warn, line);
		MC_TEST_CTX("case %zu of the table at line %d\n", i, line);
	}
}

/* ---- charsets -------------------------------------------------------------------- */

static const struct {
	const char *cs, *b, *q, *want;
} charsets[] = {
    {"utf-8", "=?utf-8?B?R3LDvMOfZSwg5LiW55WMIPCfmIA=?=",
     "=?utf-8?Q?Gr=C3=BC=C3=9Fe=2C_=E4=B8=96=E7=95=8C_=F0=9F=98=80?=",
     "Gr\xc3\xbc\xc3\x9f"
     "e, \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x98\x80"},
    {"iso-8859-1", "=?iso-8859-1?B?Q2Fm6SBjcuhtZQ==?=", "=?iso-8859-1?Q?Caf=E9_cr=E8me?=",
     "Caf\xc3\xa9 cr\xc3\xa8me"},
    {"ISO-8859-2",
     "=?ISO-8859-2?B?WmG/87PmIGfqtmyx?=", "=?ISO-8859-2?Q?Za=BF=F3=B3=E6_g=EA=B6l=B1?=",
     "Za\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87 g\xc4\x99\xc5\x9bl\xc4\x85"},
    {"iso-8859-15", "=?iso-8859-15?B?pHVybyC9dXZyZQ==?=", "=?iso-8859-15?Q?=A4uro_=BDuvre?=",
     "\xe2\x82\xacuro \xc5\x93uvre"},
    {"windows-1251",
     "=?windows-1251?B?z/Do4uXyIOzo8A==?=", "=?windows-1251?Q?=CF=F0=E8=E2=E5=F2_=EC=E8=F0?=",
     "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd0\xbc\xd0\xb8\xd1\x80"},
    {"windows-1252",
     "=?windows-1252?B?k1NtYXJ0lCBxdW90ZXMgliCA?=", "=?windows-1252?Q?=93Smart=94_quotes_=96_=80?=",
     "\xe2\x80\x9cSmart\xe2\x80\x9d quotes \xe2\x80\x93 \xe2\x82\xac"},
    {"koi8-r", "=?koi8-r?B?89/F29gg1sUgxd2j?=", "=?koi8-r?Q?=F3=DF=C5=DB=D8_=D6=C5_=C5=DD=A3?=",
     "\xd0\xa1\xd1\x8a\xd0\xb5\xd1\x88\xd1\x8c \xd0\xb6\xd0\xb5 \xd0\xb5\xd1\x89\xd1\x91"},
    {"gb2312", "=?gb2312?B?1tDOxNPKvP4=?=", "=?gb2312?Q?=D6=D0=CE=C4=D3=CA=BC=FE?=",
     "\xe4\xb8\xad\xe6\x96\x87\xe9\x82\xae\xe4\xbb\xb6"},
    {"GBK", "=?GBK?B?1tDOxOBdvP4=?=", "=?GBK?Q?=D6=D0=CE=C4=E0=5D=BC=FE?=",
     "\xe4\xb8\xad\xe6\x96\x87\xe9\x83\xb5\xe4\xbb\xb6"},
    {"big5", "=?big5?B?wWPF6aSkpOU=?=", "=?big5?Q?=C1c=C5=E9=A4=A4=A4=E5?=",
     "\xe7\xb9\x81\xe9\xab\x94\xe4\xb8\xad\xe6\x96\x87"},
    {"Shift_JIS", "=?Shift_JIS?B?k/qWe4zqgsyDgYFbg4s=?=",
     "=?Shift_JIS?Q?=93=FA=96=7B=8C=EA=82=CC=83=81=81=5B=83=8B?=",
     "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\xa1\xe3\x83\xbc\xe3\x83\xab"},
    {"euc-kr", "=?euc-kr?B?x9Gxub7uILjewM8=?=", "=?euc-kr?Q?=C7=D1=B1=B9=BE=EE_=B8=DE=C0=CF?=",
     "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4 \xeb\xa9\x94\xec\x9d\xbc"},
    {"iso-2022-jp", "=?iso-2022-jp?B?GyRCRnxLXDhsJWEhPCVrGyhC?=",
     "=?iso-2022-jp?Q?=1B=24BF=7CK=5C8l=25a=21=3C=25k=1B=28B?=",
     "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x83\xa1\xe3\x83\xbc\xe3\x83\xab"},
};

/* Raw bytes of a B or Q word (test-side decoding, independent of the library). */
static size_t raw_of_word(const char *w, unsigned char *raw)
{
	const char *p = strchr(w + 2, '?'), *t = p + 3, *e = strstr(t, "?=");
	size_t n = 0;

	if (p[1] == 'B') {
		size_t k;
		mc_status st = mc_b64_decode(t, (size_t)(e - t), raw, &k, MC_B64_STRICT, 0, NULL);

		CHECK_EQ_INT(st, MC_OK);
		return k;
	}
	for (; t < e; t++) {
		if (*t == '_') {
			raw[n++] = ' ';
		} else if (*t == '=') {
			unsigned v;

			sscanf(t + 1, "%2x", &v);
			raw[n++] = (unsigned char)v;
			t += 2;
		} else {
			raw[n++] = (unsigned char)*t;
		}
	}
	return n;
}

static void q_word(char *out, const char *cs, const unsigned char *raw, size_t n)
{
	size_t o = (size_t)snprintf(out, 64, "=?%s?Q?", cs);

	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, 8, "=%02X", raw[i]);
	snprintf(out + o, 4, "?=");
}

static void b_word(char *out, const char *cs, const unsigned char *raw, size_t n)
{
	size_t o = (size_t)snprintf(out, 64, "=?%s?b?", cs);

	o += mc_b64_encode(raw, n, out + o, 0, 0);
	snprintf(out + o, 4, "?=");
}

static void test_charsets(void)
{
	for (size_t i = 0; i < sizeof charsets / sizeof charsets[0]; i++) {
		unsigned char raw[256];
		size_t n;

		check_dec(charsets[i].b, charsets[i].want, 0, 0, __LINE__);
		check_dec(charsets[i].q, charsets[i].want, 0, 0, __LINE__);
		/* Every split of the raw bytes into two words, B then Q and Q then
		 * B, and three words: characters cut anywhere survive. */
		n = raw_of_word(charsets[i].b, raw);
		for (size_t k = 0; k <= n; k++) {
			char w1[512], w2[512], w3[512], in[1600];

			b_word(w1, charsets[i].cs, raw, k);
			q_word(w2, charsets[i].cs, raw + k, n - k);
			snprintf(in, sizeof in, "%s\r\n %s", w1, w2);
			check_dec(in, charsets[i].want, 0, 0, __LINE__);
			q_word(w1, charsets[i].cs, raw, k / 2);
			b_word(w2, charsets[i].cs, raw + k / 2, k - k / 2);
			q_word(w3, charsets[i].cs, raw + k, n - k);
			snprintf(in, sizeof in, "%s %s\t%s", w1, w2, w3);
			check_dec(in, charsets[i].want, 0, 0, __LINE__);
			MC_TEST_CTX("charset %s split at %zu\n", charsets[i].cs, k);
		}
	}
}

static void test_charset_policy(void)
{
	static const char *latin1[] = {"latin1", "ISO8859-1",  "l1",           "iso_8859-1:1987",
	                               "CP819",  "iso-8859-1", "windows-1252", "Latin-1"};
	char in[128];
	unsigned w;
	char *got;

	for (size_t i = 0; i < sizeof latin1 / sizeof latin1[0]; i++) {
		snprintf(in, sizeof in, "=?%s?Q?=80=E9=81=FF?=", latin1[i]);
		check_dec(in, "\xe2\x82\xac\xc3\xa9\xc2\x81\xc3\xbf", 0, 0, __LINE__);
		MC_TEST_CTX("%s\n", latin1[i]);
	}
	/* unknown charset: valid UTF-8 kept, the rest U+FFFD, reported */
	check_dec("=?x-klingon?Q?caf=C3=A9?=", "caf\xc3\xa9", 0, MC_EW_W_CHARSET, __LINE__);
	check_dec("=?x-klingon?Q?caf=E9?=", "caf\xef\xbf\xbd", 0, MC_EW_W_CHARSET | MC_EW_W_INVALID,
	          __LINE__);
	/* '/' is not in a charset name: no "//TRANSLIT" reaches iconv_open */
	check_dec("=?utf-8//TRANSLIT?Q?a?=", "=?utf-8//TRANSLIT?Q?a?=", 0, 0, __LINE__);
	/* us-ascii and unknown-8bit: UTF-8 policy, no charset warning */
	check_dec("=?us-ascii?Q?caf=E9?=", "caf\xef\xbf\xbd", 0, MC_EW_W_INVALID, __LINE__);
	check_dec("=?unknown-8bit?Q?caf=C3=A9?=", "caf\xc3\xa9", 0, 0, __LINE__);
	/* invalid bytes in a real charset */
	check_dec("=?utf-8?Q?a=FFb=E2=82?=",
	          "a\xef\xbf\xbd"
	          "b\xef\xbf\xbd",
	          0, MC_EW_W_INVALID, __LINE__);
	check_dec("=?shift_jis?Q?=82?=", "\xef\xbf\xbd", 0, MC_EW_W_INVALID, __LINE__);
	/* same charset in different case joins; a different one does not */
	check_dec("=?UTF-8?Q?=E2=82?= =?utf-8?Q?=AC?=", "\xe2\x82\xac", 0, 0, __LINE__);
	check_dec("=?utf-8?Q?=E2=82?= =?utf-8*en?Q?=AC?=", "\xe2\x82\xac", 0, 0, __LINE__);
	check_dec("=?utf-8?Q?=E2=82?= =?latin1?Q?=AC?=", "\xef\xbf\xbd\xc2\xac", 0, MC_EW_W_INVALID,
	          __LINE__);
	/* mc_ew_charset_to_utf8 directly */
	{
		char out[64];
		struct mc_ew_result r;

		CHECK_EQ_INT(mc_ew_charset_to_utf8("koi8-r", 6, "\xf3\xdf", 2, out, sizeof out, &r),
		             MC_OK);
		CHECK_EQ_MEM(out, r.written, "\xd0\xa1\xd1\x8a", 4);
		CHECK_EQ_INT(mc_ew_charset_to_utf8("x-none", 6, "ok", 2, out, sizeof out, &r),
		             MC_OK);
		CHECK(r.warnings & MC_EW_W_CHARSET);
		CHECK_EQ_INT(mc_ew_charset_to_utf8("utf-8", 5, "abc", 3, out, 2, &r), MC_ENOSPC);
		CHECK_EQ_INT(
		    mc_ew_charset_to_utf8("utf-8//TRANSLIT", 15, "ok", 2, out, sizeof out, &r),
		    MC_OK);
		CHECK(r.warnings & MC_EW_W_CHARSET);
	}
	/* a charset that expands more than 3 bytes per byte (glibc TSCII) is
	 * cut at the bound, never past it */
	{
		char big[4096];
		size_t o = (size_t)snprintf(big, sizeof big, "=?TSCII?Q?");

		for (int i = 0; i < 300; i++)
			o += (size_t)snprintf(big + o, sizeof big - o, "=82=87=88");
		snprintf(big + o, sizeof big - o, "?=");
		got = dec(big, strlen(big), 0, &w, NULL);
		free(got);
	}
}

/* ---- output space -------------------------------------------------------------- */

static void test_enospc(void)
{
	static const char *ins[] = {
	    "=?utf-8?B?R3LDvMOfZSwg5LiW55WMIPCfmIA=?= raw \xe2\x82\xac and caf\xe9",
	    "=?iso-2022-jp?B?GyRCRnxLXDhsJWEhPCVrGyhC?= =?koi8-r?Q?=F3=DF?=",
	    "\"=?utf-8?Q?a?=\" b   c",
	};

	for (size_t i = 0; i < sizeof ins / sizeof ins[0]; i++) {
		size_t n = strlen(ins[i]), full;
		char *want = dec(ins[i], n, MC_EW_PHRASE, NULL, &full);

		for (size_t cap = 0; cap < full; cap++) {
			char *out = mc_t_xmalloc(cap);
			struct mc_ew_result r;

			CHECK_EQ_INT(
			    mc_ew_decode(ins[i], n, MC_EW_PHRASE, cap ? out : NULL, cap, &r),
			    MC_ENOSPC);
			CHECK(r.written <= cap);
			CHECK(r.err_offset <= n);
			CHECK(valid_utf8((unsigned char *)out, r.written));
			CHECK(memcmp(out, want, r.written) == 0);
			free(out);
			MC_TEST_CTX("input %zu cap %zu\n", i, cap);
		}
		free(want);
	}
	{
		struct mc_ew_result r;
		char c;

		CHECK_EQ_INT(mc_ew_decode(NULL, 1, 0, &c, 1, &r), MC_EINVAL);
		CHECK_EQ_INT(mc_ew_decode("a", 1, 0, NULL, 1, &r), MC_EINVAL);
		CHECK_EQ_INT(mc_ew_decode("a", 1, 0, &c, 1, NULL), MC_EINVAL);
		CHECK_EQ_INT(mc_ew_decode("", 0, 0, NULL, 0, &r), MC_OK);
	}
}

/* ---- bound, robustness, linear time ---------------------------------------------- */

static void test_random_decode(void)
{
	static const char *atoms[] = {
	    "=?",        "?=",   "?",   "=",     "utf-8", "UTF-8*en", "koi8-r", "iso-2022-jp",
	    "shift_jis", "?B?",  "?Q?", "?b?",   "=E2",   "=82",      "=AC",    "8J+Y",
	    "gA==",      "GyRC", "_",   " ",     "\r\n ", "\"",       "\\",     "\xe2\x82",
	    "\xac",      "\xff", "x",   "TSCII", "=87",   "=?x?q?"};
	unsigned char in[512];

	for (int iter = 0; iter < 20000; iter++) {
		size_t n = 0, len;
		unsigned flags = (unsigned)(mc_t_rand() & 1);
		int parts = (int)(mc_t_rand() % 40);

		for (int p = 0; p < parts; p++) {
			const char *a = atoms[mc_t_rand() % (sizeof atoms / sizeof atoms[0])];
			size_t k = strlen(a);

			if (n + k > sizeof in)
				break;
			memcpy(in + n, a, k);
			n += k;
		}
		char *got = dec((const char *)in, n, flags, NULL, &len);

		CHECK(len <= mc_ew_decode_bound(n));
		free(got);
		MC_TEST_CTX("iteration %d\n", iter);
	}
}

static void test_linear_time(void)
{
	static const char *units[] = {"=?a?q?",   "=?utf-8?B?",   "=?",
	                              "=?a?q?=?", "\"=?a?q?a\" ", "=?utf-8?q?=E2?= "};
	size_t n = 1u << 20;
	char *in = mc_t_xmalloc(n);

	for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
		size_t k = strlen(units[u]), len;
		clock_t t0 = clock();
		char *got;

		for (size_t i = 0; i < n; i++)
			in[i] = units[u][i % k];
		in[n - 2] = '?';
		in[n - 1] = '='; /* one "?=" at the very end */
		got = dec(in, n, MC_EW_PHRASE, NULL, &len);
		free(got);
		CHECK((double)(clock() - t0) / CLOCKS_PER_SEC < 10.0);
		MC_TEST_CTX("unit %zu\n", u);
	}
	free(in);
}

/* ---- encoding ---------------------------------------------------------------------- */

/* Checks every property of mc_ew_encode on one value. */
static void check_encode(const char *in, size_t n, unsigned col, unsigned flags)
{
	struct mc_ew_result r;
	size_t need, lines = 0;
	char *out, *back;
	const char *eol = (flags & MC_EW_LF) ? "\n" : "\r\n";
	size_t eoll = strlen(eol), len, line_start = 0, x;

	CHECK_EQ_INT(mc_ew_encode(in, n, col, flags, NULL, 0, &r), MC_OK);
	need = r.written;
	CHECK(need <= mc_ew_encode_bound(n));
	out = mc_t_xmalloc(need);
	CHECK_EQ_INT(mc_ew_encode(in, n, col, flags, out, need, &r), MC_OK);
	CHECK_EQ_SIZE(r.written, need);
	if (need > 0) {
		char *small = mc_t_xmalloc(need - 1);

		CHECK_EQ_INT(mc_ew_encode(in, n, col, flags, small, need - 1, &r), MC_ENOSPC);
		CHECK(r.written <= need - 1);
		free(small);
	}
	/* lines: at most 78 columns, the first one counted from col; line
	 * breaks only as folds (followed by whitespace) */
	for (x = 0; x <= need; x++) {
		if (x == need || (x + eoll <= need && memcmp(out + x, eol, eoll) == 0)) {
			size_t w = x - line_start + (lines == 0 ? (col > 78 ? 78 : col) : 0);

			if (!CHECK(w <= 78 || (lines == 0 && x == line_start)))
				fprintf(stderr, "    line %zu is %zu columns\n", lines, w);
			if (x < need)
				CHECK(x + eoll < need &&
				      (out[x + eoll] == ' ' || out[x + eoll] == '\t'));
			lines++;
			line_start = x + eoll;
			x += eoll - 1;
		} else {
			CHECK(out[x] != '\r' && out[x] != '\n');
		}
	}
	/* encoded words: at most 75 characters, each alone valid UTF-8 */
	for (const char *p = out; (p = memchr(p, '=', (size_t)(out + need - p))) != NULL; p++) {
		const char *e;
		unsigned char raw[128];
		size_t k;

		if (p + 10 > out + need || memcmp(p, "=?UTF-8?", 8) != 0)
			continue;
		e = p + 10;
		while (e + 1 < out + need && !(e[0] == '?' && e[1] == '='))
			e++;
		CHECK(e + 2 - p <= 75);
		{
			char w[128];

			memcpy(w, p, (size_t)(e + 2 - p));
			w[e + 2 - p] = '\0';
			k = raw_of_word(w, raw);
		}
		CHECK(valid_utf8(raw, k));
		p = e + 1;
	}
	/* round trip */
	back = dec(out, need, flags & MC_EW_PHRASE, NULL, &len);
	if (!CHECK_EQ_MEM(back, len, in, n))
		fprintf(stderr, "    encoded: \"%.*s\"\n", (int)need, out);
	free(back);
	free(out);
}

static void test_encode_expected(void)
{
	static const struct {
		const char *in;
		unsigned col, flags;
		const char *want;
	} t[] = {
	    {"Hello world", 9, 0, "Hello world"},
	    {"", 9, 0, ""},
	    {"Caf\xc3\xa9", 9, 0, "=?UTF-8?B?Q2Fmw6k=?="},
	    {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 9, 0, "=?UTF-8?B?5pel5pys6Kqe?="},
	    {"Re: Caf\xc3\xa9 ok", 9, 0, "Re: =?UTF-8?B?Q2Fmw6k=?= ok"},
	    {"a \xc3\xa9 \xc3\xa9 b", 9, 0, "a =?UTF-8?B?w6kgw6k=?= b"},
	    {" lead", 9, 0, "=?UTF-8?Q?_lead?="},
	    {"trail ", 9, 0, "=?UTF-8?Q?trail_?="},
	    {"a =?x?q?y?= b", 9, 0, "a =?UTF-8?B?PT94P3E/eT89?= b"},
	    {"x\xc3\xa9  y", 9, 0, "=?UTF-8?Q?x=C3=A9_?= y"},
	    {"Doe, John", 0, MC_EW_PHRASE, "=?UTF-8?Q?Doe=2C?= John"},
	    {"aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee ffffffffff gggggggggg "
	     "hhhhhhhhhh",
	     9, MC_EW_LF,
	     "aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee ffffffffff\n gggggggggg "
	     "hhhhhhhhhh"},
	    {"\xc3\xa9", 78, 0, "\r\n =?UTF-8?B?w6k=?="},
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char out[512];
		struct mc_ew_result r;

		CHECK_EQ_INT(mc_ew_encode(t[i].in, strlen(t[i].in), t[i].col, t[i].flags, out,
		                          sizeof out, &r),
		             MC_OK);
		CHECK_EQ_MEM(out, r.written, t[i].want, strlen(t[i].want));
		MC_TEST_CTX("encode case %zu\n", i);
	}
	{
		struct mc_ew_result r;
		char out[16];

		CHECK_EQ_INT(mc_ew_encode("a\xffz", 3, 0, 0, out, sizeof out, &r), MC_EBADCHAR);
		CHECK_EQ_SIZE(r.err_offset, 1);
		CHECK_EQ_INT(mc_ew_encode("\xe2\x82", 2, 0, 0, out, sizeof out, &r), MC_EBADCHAR);
		CHECK_EQ_INT(mc_ew_encode("a", 1, 0, 0, out, sizeof out, NULL), MC_EINVAL);
	}
}

static void test_encode_properties(void)
{
	static const char *atoms[] = {
	    "a",
	    "word",
	    "Hello",
	    " ",
	    "  ",
	    "\t",
	    "\xc3\xa9",
	    "\xe2\x82\xac",
	    "\xf0\x9f\x98\x80",
	    "\xe6\x97\xa5\xe6\x9c\xac",
	    "=?",
	    "?=",
	    "_",
	    "=",
	    "\x01",
	    "\r\n",
	    "\"",
	    "\\",
	    "(",
	    ".",
	    ",",
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"};
	static const unsigned cols[] = {0, 9, 30, 60, 70, 76, 77, 78, 200};
	static const unsigned flagsets[] = {0, MC_EW_PHRASE, MC_EW_LF, MC_EW_PHRASE | MC_EW_LF};
	char in[1024];

	for (int iter = 0; iter < 3000; iter++) {
		size_t n = 0;
		int parts = (int)(mc_t_rand() % 60);

		for (int p = 0; p < parts; p++) {
			const char *a = atoms[mc_t_rand() % (sizeof atoms / sizeof atoms[0])];
			size_t k = strlen(a);

			if (n + k > sizeof in)
				break;
			memcpy(in + n, a, k);
			n += k;
		}
		check_encode(in, n, cols[iter % 9], flagsets[(iter / 9) % 4]);
		MC_TEST_CTX("iteration %d: \"%.*s\"\n", iter, (int)n, in);
	}
	/* long values of one kind each */
	for (size_t len = 0; len < 400; len += 7) {
		char *s = mc_t_xmalloc(len * 4 + 1);

		for (int kind = 0; kind < 4; kind++) {
			static const char *unit[] = {"x", "\xc3\xa9", "\xe2\x82\xac",
			                             "\xf0\x9f\x98\x80"};
			size_t k = strlen(unit[kind]), n = 0;

			for (size_t i = 0; i < len; i++, n += k)
				memcpy(s + n, unit[kind], k);
			check_encode(s, n, 9, 0);
			check_encode(s, n, 40, MC_EW_PHRASE);
			MC_TEST_CTX("length %zu kind %d\n", len, kind);
		}
		free(s);
	}
}

int main(void)
{
	run_table(rfc_cases, sizeof rfc_cases / sizeof rfc_cases[0], __LINE__);
	run_table(wild_cases, sizeof wild_cases / sizeof wild_cases[0], __LINE__);
	run_table(phrase_cases, sizeof phrase_cases / sizeof phrase_cases[0], __LINE__);
	test_charsets();
	test_charset_policy();
	test_enospc();
	test_random_decode();
	test_linear_time();
	test_encode_expected();
	test_encode_properties();
	MC_TEST_END();
}
