/* test_qp.c: quoted-printable codec tests (RFC 2045 section 6.7). Every
 * kernel this machine supports runs the same cases: a table per rule for
 * encode and decode, RFC 2045 examples, an independent whole-buffer reference
 * on random and adversarial inputs, every split point of small inputs and
 * 1-byte chunks, all 256 byte values, large random inputs, real UTF-8 text
 * from tests/data/text, every output line at most 76 characters, strict-mode
 * errors with their offsets, and exactly sized buffers throughout.
 * Usage: test_qp [--expect-isa NAME]  (checks MIMECODEC_ISA took effect) */
#if defined(__linux__)
#define _DEFAULT_SOURCE 1 /* mmap, MAP_ANONYMOUS */
#include <sys/mman.h>
#include <unistd.h>
#endif
#include "test.h"
#include "mimecodec/qp.h"
#include "mimecodec/isa.h"
#include "qp_internal.h" /* to drive the kernels directly */

/* ---- independent reference (whole buffer, lookahead instead of state) ------ */

static int r_ws(unsigned c)
{
	return c == ' ' || c == '\t';
}

static int r_hex(unsigned c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

static unsigned r_hv(unsigned c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static size_t ref_encode(const unsigned char *s, size_t n, char *out, unsigned flags)
{
	const int text = !(flags & MC_QP_BINARY);
	const char *eol = (flags & MC_QP_CRLF) ? "\r\n" : "\n";
	size_t o = 0, col = 0, i = 0;

	while (i < n) {
		unsigned c = s[i];
		int esc;

		if (text && (c == '\n' || (c == '\r' && i + 1 < n && s[i + 1] == '\n'))) {
			for (const char *e = eol; *e; e++)
				out[o++] = *e;
			col = 0;
			i += c == '\r' ? 2 : 1;
			continue;
		}
		esc = c == '=' || c > 126 || (c < 32 && c != '\t');
		if (r_ws(c)) {
			size_t j = i + 1;
			esc = j == n || (text && (s[j] == '\n' ||
			                          (s[j] == '\r' && j + 1 < n && s[j + 1] == '\n')));
		}
		if (col + (esc ? 3 : 1) > 75) {
			out[o++] = '=';
			for (const char *e = eol; *e; e++)
				out[o++] = *e;
			col = 0;
		}
		if (col == 0 && !esc) {
			if (c == '.' && (flags & MC_QP_DOT))
				esc = 1;
			if (c == 'F' && (flags & MC_QP_FROM) && n - i >= 5 &&
			    memcmp(s + i, "From ", 5) == 0)
				esc = 1;
		}
		if (esc) {
			out[o++] = '=';
			out[o++] = "0123456789ABCDEF"[c >> 4];
			out[o++] = "0123456789ABCDEF"[c & 15];
			col += 3;
		} else {
			out[o++] = (char)c;
			col++;
		}
		i++;
	}
	return o;
}

/* Returns the status; *outlen the bytes decoded (before the error); *err the
 * offset. White-space runs stay below MC_QP_WS_HOLD in the inputs given. */
static int ref_decode(const unsigned char *s, size_t n, unsigned char *out, size_t *outlen,
                      unsigned flags, size_t *err)
{
	const int strict = (flags & MC_QP_STRICT) != 0;
	size_t o = 0, i = 0;
	int st = MC_OK;

	while (i < n) {
		unsigned c = s[i];

		if (c == '=') {
			if (i + 3 <= n && r_hex(s[i + 1]) && r_hex(s[i + 2])) {
				out[o++] = (unsigned char)(r_hv(s[i + 1]) << 4 | r_hv(s[i + 2]));
				i += 3;
				continue;
			}
			size_t j = i + 1;
			while (j < n && r_ws(s[j]))
				j++;
			if (j == n) { /* soft break at the end */
				i = n;
				continue;
			}
			if (s[j] == '\n') {
				i = j + 1;
				continue;
			}
			if (s[j] == '\r' && j + 1 < n && s[j + 1] == '\n') {
				i = j + 2;
				continue;
			}
			if (s[j] == '\r' && j + 1 == n) {
				if (strict) {
					st = MC_EBADCHAR;
					*err = j;
					break;
				}
				i = n;
				continue;
			}
			if (strict) {
				st = MC_EBADESC;
				*err = i;
				break;
			}
			out[o++] = '=';
			i++;
			continue;
		}
		if (r_ws(c)) {
			size_t j = i;
			while (j < n && r_ws(s[j]))
				j++;
			if (j == n || s[j] == '\n' ||
			    (s[j] == '\r' && j + 1 < n && s[j + 1] == '\n')) {
				i = j;
				continue;
			}
			memcpy(out + o, s + i, j - i);
			o += j - i;
			i = j;
			continue;
		}
		if (c == '\r') {
			if (i + 1 < n && s[i + 1] == '\n') {
				out[o++] = '\r';
				out[o++] = '\n';
				i += 2;
				continue;
			}
			if (strict) {
				st = MC_EBADCHAR;
				*err = i;
				break;
			}
			out[o++] = '\r';
			i++;
			continue;
		}
		if (c == '\n') {
			if (flags & MC_QP_CRLF)
				out[o++] = '\r';
			out[o++] = '\n';
			i++;
			continue;
		}
		if (strict && (c > 126 || c < 32)) {
			st = MC_EBADCHAR;
			*err = i;
			break;
		}
		out[o++] = (unsigned char)c;
		i++;
	}
	*outlen = o;
	return st;
}

/* ---- helpers driving one kernel through the streaming API -------------------- */

static int kernels[MC_ISA_COUNT_], nkernels;

/* Encodes in chunks of `chunk` bytes (0: one update); every update gets an
 * exactly sized buffer, as does final. */
static char *enc_isa(int isa, const void *src, size_t n, unsigned flags, size_t chunk,
                     size_t *outlen)
{
	struct mc_qp_encoder st;
	char *dst = mc_t_xmalloc(mc_qp_encode_bound(n, flags));
	size_t o = 0;

	*outlen = 0;
	if (mc_qp_encoder_init_isa(&st, flags, isa) != MC_OK)
		return dst;
	if (!chunk)
		chunk = n ? n : 1;
	for (size_t i = 0; i < n; i += chunk) {
		size_t c = n - i < chunk ? n - i : chunk, w;
		char *tmp = mc_t_xmalloc(mc_qp_encode_bound(c, flags));

		w = mc_qp_encode_update(&st, (const char *)src + i, c, tmp);
		CHECK(w <= mc_qp_encode_bound(c, flags));
		memcpy(dst + o, tmp, w);
		o += w;
		free(tmp);
	}
	char fin[MC_QP_ENCODE_FINAL_MAX];
	size_t w = mc_qp_encode_final(&st, fin);
	CHECK(w <= MC_QP_ENCODE_FINAL_MAX);
	memcpy(dst + o, fin, w);
	o += w;
	CHECK(o <= mc_qp_encode_bound(n, flags));
	*outlen = o;
	return dst;
}

struct dec_result {
	unsigned char *out;
	size_t len;
	int status;
	uint64_t err;
};

static struct dec_result dec_isa(int isa, const char *src, size_t n, unsigned flags, size_t chunk)
{
	struct dec_result r = {mc_t_xmalloc(mc_qp_decode_bound(n, flags) + MC_QP_DECODE_FINAL_MAX),
	                       0, 0, 0};
	struct mc_qp_decoder st;
	size_t w;

	if (mc_qp_decoder_init_isa(&st, flags, isa) != MC_OK) {
		r.status = MC_EUNSUPPORTED;
		return r;
	}
	if (!chunk)
		chunk = n ? n : 1;
	for (size_t i = 0; i < n && r.status == MC_OK; i += chunk) {
		size_t c = n - i < chunk ? n - i : chunk;
		unsigned char *tmp = mc_t_xmalloc(mc_qp_decode_bound(c, flags));

		r.status = mc_qp_decode_update(&st, src + i, c, tmp, &w);
		CHECK(w <= mc_qp_decode_bound(c, flags));
		memcpy(r.out + r.len, tmp, w);
		r.len += w;
		free(tmp);
	}
	if (r.status == MC_OK) {
		unsigned char *tmp = mc_t_xmalloc(MC_QP_DECODE_FINAL_MAX);

		r.status = mc_qp_decode_final(&st, tmp, &w);
		CHECK(w <= MC_QP_DECODE_FINAL_MAX);
		memcpy(r.out + r.len, tmp, w);
		r.len += w;
		free(tmp);
	}
	r.err = mc_qp_decoder_error_offset(&st);
	return r;
}

/* Every line of an encoding at most 76 characters; only '=' may end a line
 * as a soft break, and no line ends in a space or tab. */
static void check_lines(const char *e, size_t n)
{
	size_t start = 0, bad = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || e[i] == '\n') {
			size_t end = i;

			if (end > start && e[end - 1] == '\r' && i < n)
				end--;
			if (end - start > MC_QP_LINE_MAX)
				bad++;
			if (end > start && (e[end - 1] == ' ' || e[end - 1] == '\t'))
				bad++;
			start = i + 1;
		}
	}
	CHECK_EQ_SIZE(bad, 0);
}

/* Encodes with isa in several chunkings, compares with the reference, checks
 * line lengths and that every kernel and the reference decode it back. */
static void check_encode(int isa, const unsigned char *in, size_t n, unsigned flags)
{
	char *ref = mc_t_xmalloc(mc_qp_encode_bound(n, flags));
	size_t rl = ref_encode(in, n, ref, flags);
	static const size_t chunks[] = {0, 1, 2, 3, 7, 64, 77};

	for (size_t ci = 0; ci < sizeof chunks / sizeof chunks[0]; ci++) {
		size_t l;
		char *got = enc_isa(isa, in, n, flags, chunks[ci], &l);

		CHECK_EQ_MEM(got, l, ref, rl);
		free(got);
		if (n > 3000 && ci > 0)
			break;
	}
	check_lines(ref, rl);
	/* Back: text mode keeps line breaks as given unless asked for CRLF. */
	struct dec_result r = dec_isa(isa, ref, rl, MC_QP_STRICT, 0);
	CHECK_EQ_INT(r.status, MC_OK);
	if (flags & MC_QP_BINARY) {
		CHECK_EQ_MEM(r.out, r.len, in, n);
	} else if (!(flags & MC_QP_CRLF)) {
		/* LF stays LF; input CRLF became LF. */
		unsigned char *exp = mc_t_xmalloc(n);
		size_t e = 0;
		for (size_t i = 0; i < n; i++)
			if (!(in[i] == '\r' && i + 1 < n && in[i + 1] == '\n'))
				exp[e++] = in[i];
		CHECK_EQ_MEM(r.out, r.len, exp, e);
		free(exp);
	} else {
		/* Every line break is CRLF now. */
		unsigned char *exp = mc_t_xmalloc(2 * n);
		size_t e = 0;
		for (size_t i = 0; i < n; i++) {
			if (in[i] == '\n' && !(i > 0 && in[i - 1] == '\r'))
				exp[e++] = '\r';
			exp[e++] = in[i];
		}
		CHECK_EQ_MEM(r.out, r.len, exp, e);
		free(exp);
	}
	free(r.out);
	free(ref);
}

/* Decodes with isa in several chunkings against the reference (status,
 * offset, output). */
static void check_decode(int isa, const char *in, size_t n, unsigned flags)
{
	unsigned char *ref = mc_t_xmalloc(2 * n + 1);
	size_t rl, roff = 0;
	int rs = ref_decode((const unsigned char *)in, n, ref, &rl, flags, &roff);
	static const size_t chunks[] = {0, 1, 2, 3, 5, 64};

	for (size_t ci = 0; ci < sizeof chunks / sizeof chunks[0]; ci++) {
		struct dec_result r = dec_isa(isa, in, n, flags, chunks[ci]);

		CHECK_EQ_INT(r.status, rs);
		if (rs)
			CHECK_EQ_SIZE(r.err, roff);
		CHECK_EQ_MEM(r.out, r.len, ref, rl);
		free(r.out);
		if (n > 3000 && ci > 0)
			break;
	}
	free(ref);
}

/* ---- cases ---------------------------------------------------------------- */

struct enc_case {
	const char *in;
	unsigned flags;
	const char *out;
};

/* One table per rule; lengths via strlen, so inputs hold no NUL here. */
static const struct enc_case enc_cases[] = {
    /* rule 2: literal representation */
    {"", 0, ""},
    {"hello, world", 0, "hello, world"},
    {"!\"#$%&'()*+,-./0123456789:;<>?@AZ[\\]^_`az{|}~", 0,
     "!\"#$%&'()*+,-./0123456789:;<>?@AZ[\\]^_`az{|}~"},
    /* rule 1: '=', 8-bit and control bytes escaped, upper-case hex */
    {"a=b", 0, "a=3Db"},
    {"caf\xc3\xa9", 0, "caf=C3=A9"},
    {"\x7f\x01\x1b\xff", 0, "=7F=01=1B=FF"},
    {"tab\tinside", 0, "tab\tinside"},
    /* rule 3: white space before a line break or at the end */
    {"a \nb", 0, "a=20\nb"},
    {"a\t\nb", 0, "a=09\nb"},
    {"a  \r\nb", 0, "a =20\nb"},
    {"end ", 0, "end=20"},
    {"end\t", 0, "end=09"},
    {"  ", 0, " =20"},
    {"a \rb", 0, "a =0Db"}, /* lone CR: the space is not at a line end */
    {"a \r", 0, "a =0D"},
    {" \n", MC_QP_BINARY, " =0A"}, /* binary: no line ends */
    {"a ", MC_QP_BINARY, "a=20"},
    /* rule 4: line breaks */
    {"a\nb\n", 0, "a\nb\n"},
    {"a\r\nb\r\n", 0, "a\nb\n"},
    {"a\nb\r\n", MC_QP_CRLF, "a\r\nb\r\n"},
    {"\n\n", MC_QP_CRLF, "\r\n\r\n"},
    {"a\rb", 0, "a=0Db"},
    {"a\r\r\nb", 0, "a=0D\nb"},
    {"\r", 0, "=0D"},
    {"a\r\nb\n", MC_QP_BINARY, "a=0D=0Ab=0A"},
    /* '.' and "From " at a line start */
    {".\n", MC_QP_DOT, "=2E\n"},
    {".", MC_QP_DOT, "=2E"},
    {"a\n.b\n..", MC_QP_DOT, "a\n=2Eb\n=2E."},
    {"a.\n", MC_QP_DOT, "a.\n"},
    {".\n", 0, ".\n"},
    {"From me\nFrom\nFrom  \nFromage\nsaid From x", MC_QP_FROM,
     "=46rom me\nFrom\n=46rom =20\nFromage\nsaid From x"},
    {"From ", MC_QP_FROM, "=46rom=20"},
    {"Fro", MC_QP_FROM, "Fro"},
    {"From x", 0, "From x"},
    {"F", MC_QP_FROM | MC_QP_DOT, "F"},
    /* rule 5: soft breaks, 75 characters + '=' */
    {"0123456789012345678901234567890123456789012345678901234567890123456789012345", 0,
     "012345678901234567890123456789012345678901234567890123456789012345678901234=\n5"},
    {"012345678901234567890123456789012345678901234567890123456789012345678901234", 0,
     "012345678901234567890123456789012345678901234567890123456789012345678901234"},
    {"012345678901234567890123456789012345678901234567890123456789012345678901=", 0,
     "012345678901234567890123456789012345678901234567890123456789012345678901=3D"},
    {"0123456789012345678901234567890123456789012345678901234567890123456789012=", 0,
     "0123456789012345678901234567890123456789012345678901234567890123456789012=\n=3D"},
    {"01234567890123456789012345678901234567890123456789012345678901234567890123=", 0,
     "01234567890123456789012345678901234567890123456789012345678901234567890123=\n=3D"},
    {"012345678901234567890123456789012345678901234567890123456789012345678901234 x", MC_QP_CRLF,
     "012345678901234567890123456789012345678901234567890123456789012345678901234=\r\n x"},
    {"012345678901234567890123456789012345678901234567890123456789012345678901234.", MC_QP_DOT,
     "012345678901234567890123456789012345678901234567890123456789012345678901234=\n=2E"},
    {"012345678901234567890123456789012345678901234567890123456789012345678901234From x",
     MC_QP_FROM,
     "012345678901234567890123456789012345678901234567890123456789012345678901234=\n=46rom x"},
};

static void test_encode_table(int isa)
{
	for (size_t i = 0; i < sizeof enc_cases / sizeof enc_cases[0]; i++) {
		const struct enc_case *t = &enc_cases[i];
		size_t n = strlen(t->in), l, rl;
		char ref[400];

		for (size_t chunk = 0; chunk <= 3; chunk++) {
			char *got = enc_isa(isa, t->in, n, t->flags, chunk, &l);
			CHECK_EQ_MEM(got, l, t->out, strlen(t->out));
			free(got);
		}
		rl = ref_encode((const unsigned char *)t->in, n, ref, t->flags);
		CHECK_EQ_MEM(ref, rl, t->out, strlen(t->out));
		MC_TEST_CTX("%s encode case %zu\n", mc_isa_name(isa), i);
	}
}

struct dec_case {
	const char *in;
	unsigned flags;
	int status;
	size_t off; /* error offset */
	const char *out;
};

static const struct dec_case dec_cases[] = {
    {"", 0, MC_OK, 0, ""},
    {"plain text", MC_QP_STRICT, MC_OK, 0, "plain text"},
    /* escapes, either case */
    {"a=3Db=3db=C3=A9", MC_QP_STRICT, MC_OK, 0, "a=b=b\xc3\xa9"},
    {"=00=ff=FF", 0, MC_OK, 0, "\0\xff\xff"},
    /* soft breaks: LF, CRLF, white space before them, at the end */
    {"ab=\ncd", MC_QP_STRICT, MC_OK, 0, "abcd"},
    {"ab=\r\ncd", MC_QP_STRICT, MC_OK, 0, "abcd"},
    {"ab= \t \r\ncd", MC_QP_STRICT, MC_OK, 0, "abcd"},
    {"ab=  \ncd", MC_QP_STRICT, MC_OK, 0, "abcd"},
    {"ab=", MC_QP_STRICT, MC_OK, 0, "ab"},
    {"ab=  ", MC_QP_STRICT, MC_OK, 0, "ab"},
    {"ab=\r", 0, MC_OK, 0, "ab"},
    {"ab=\r", MC_QP_STRICT, MC_EBADCHAR, 3, "ab"},
    /* rule 3: trailing white space dropped */
    {"a  \nb", MC_QP_STRICT, MC_OK, 0, "a\nb"},
    {"a \t \r\nb", MC_QP_STRICT, MC_OK, 0, "a\r\nb"},
    {"a b\t\tc ", MC_QP_STRICT, MC_OK, 0, "a b\t\tc"},
    {"a =20\n", MC_QP_STRICT, MC_OK, 0, "a  \n"},
    {" = x", 0, MC_OK, 0, " = x"},
    /* line breaks: kept, or CRLF */
    {"a\nb\r\nc", 0, MC_OK, 0, "a\nb\r\nc"},
    {"a\nb\r\nc\n", MC_QP_CRLF, MC_OK, 0, "a\r\nb\r\nc\r\n"},
    {"=0D=0A\n", MC_QP_CRLF, MC_OK, 0, "\r\n\r\n"},
    {"=0A", MC_QP_CRLF, MC_OK, 0, "\n"},
    /* lenient: bad escapes pass through */
    {"a=G1b", 0, MC_OK, 0, "a=G1b"},
    {"a=1", 0, MC_OK, 0, "a=1"},
    {"a=1=41", 0, MC_OK, 0, "a=1A"},
    {"a==41", 0, MC_OK, 0, "a=A"},
    {"a=\rb", 0, MC_OK, 0, "a=\rb"},
    {"a= b", 0, MC_OK, 0, "a= b"},
    {"a=1\n", 0, MC_OK, 0, "a=1\n"},
    {"lone\rcr", 0, MC_OK, 0, "lone\rcr"},
    {"a \rb", 0, MC_OK, 0, "a \rb"},
    {"8bit \xe9\x01", 0, MC_OK, 0, "8bit \xe9\x01"},
    /* strict: the offset of the first bad sequence */
    {"a=G1b", MC_QP_STRICT, MC_EBADESC, 1, "a"},
    {"abc=1", MC_QP_STRICT, MC_EBADESC, 3, "abc"},
    {"abc=1x", MC_QP_STRICT, MC_EBADESC, 3, "abc"},
    {"ab =x", MC_QP_STRICT, MC_EBADESC, 3, "ab "},
    {"ab= x", MC_QP_STRICT, MC_EBADESC, 2, "ab"},
    {"ab= \rx", MC_QP_STRICT, MC_EBADESC, 2, "ab"},
    {"ab\rcd", MC_QP_STRICT, MC_EBADCHAR, 2, "ab"},
    {"ab \rcd", MC_QP_STRICT, MC_EBADCHAR, 3, "ab "},
    {"ab\r", MC_QP_STRICT, MC_EBADCHAR, 2, "ab"},
    {"ab \xe9", MC_QP_STRICT, MC_EBADCHAR, 3, "ab "},
    {"ab\x01", MC_QP_STRICT, MC_EBADCHAR, 2, "ab"},
    {"ab\x7f", MC_QP_STRICT, MC_EBADCHAR, 2, "ab"},
    {"=41=4", MC_QP_STRICT, MC_EBADESC, 3, "A"},
    /* RFC 2045 section 6.7, rule 5's example and the note on soft breaks */
    {"Now's the time =\r\nfor all folk to come=\r\n to the aid of their country.", MC_QP_STRICT,
     MC_OK, 0, "Now's the time for all folk to come to the aid of their country."},
};

static void test_decode_table(int isa)
{
	for (size_t i = 0; i < sizeof dec_cases / sizeof dec_cases[0]; i++) {
		const struct dec_case *t = &dec_cases[i];
		size_t n = strlen(t->in), olen = strlen(t->out);

		if (i == 3)
			olen = 3; /* holds a NUL */
		for (size_t chunk = 0; chunk <= 3; chunk++) {
			struct dec_result r = dec_isa(isa, t->in, n, t->flags, chunk);
			CHECK_EQ_INT(r.status, t->status);
			CHECK_EQ_SIZE(r.err, t->off);
			CHECK_EQ_MEM(r.out, r.len, t->out, olen);
			free(r.out);
		}
		check_decode(isa, t->in, n, t->flags);
		MC_TEST_CTX("%s decode case %zu (%s)\n", mc_isa_name(isa), i, t->in);
	}
	/* Errors are sticky; bytes before the error are kept. */
	struct mc_qp_decoder st;
	unsigned char out[600];
	size_t w;
	if (mc_qp_decoder_init_isa(&st, MC_QP_STRICT, isa) == MC_OK) {
		CHECK_EQ_INT(mc_qp_decode_update(&st, "ok=", 3, out, &w), MC_OK);
		CHECK_EQ_MEM(out, w, "ok", 2);
		CHECK_EQ_INT(mc_qp_decode_update(&st, "zz", 2, out, &w), MC_EBADESC);
		CHECK_EQ_SIZE(w, 0);
		CHECK_EQ_INT(mc_qp_decode_update(&st, "ok", 2, out, &w), MC_EBADESC);
		CHECK_EQ_INT(mc_qp_decode_final(&st, out, &w), MC_EBADESC);
		CHECK_EQ_SIZE(mc_qp_decoder_error_offset(&st), 2);
	}
	/* White space longer than the hold: the first half is released as
	 * data, whatever the chunking; shorter runs vanish before a break. */
	char in[400];
	memset(in, ' ', 300);
	memcpy(in + 300, "\nx", 2);
	for (size_t chunk = 0; chunk < 4; chunk++) {
		struct dec_result r = dec_isa(isa, in, 302, 0, chunk == 3 ? 37 : chunk);
		CHECK_EQ_INT(r.status, MC_OK);
		/* 300 spaces: released in halves while over 128: 64 * 3 = 192 out, 108 dropped */
		CHECK_EQ_SIZE(r.len, 192 + 2);
		free(r.out);
		r = dec_isa(isa, in + 172, 130, 0, chunk); /* 128 spaces + "\nx" */
		CHECK_EQ_MEM(r.out, r.len, "\nx", 2);
		free(r.out);
	}
}

/* The other RFC 2045 text: rules 1-5 together, and round trips of its
 * examples through encode. */
static void test_rfc2045(int isa)
{
	static const char enc[] =
	    "J'interdis aux marchands de vanter trop leur marchandises. Car "
	    "ils se font vite p=C3=A9dagogues et t'enseignent comme but ce "
	    "qui n'est par essence qu'un moyen, et te trompant ainsi sur la "
	    "route =C3=A0 suivre les voil=C3=A0 bient=C3=B4t qui te d=C3=A9gradent,";
	size_t l;
	struct dec_result r = dec_isa(isa, enc, strlen(enc), MC_QP_STRICT, 0);
	CHECK_EQ_INT(r.status, MC_OK);
	char *back = enc_isa(isa, r.out, r.len, 0, 0, &l);
	check_lines(back, l);
	struct dec_result r2 = dec_isa(isa, back, l, MC_QP_STRICT, 1);
	CHECK_EQ_MEM(r2.out, r2.len, r.out, r.len);
	free(r.out);
	free(r2.out);
	free(back);
}

/* Every split point of small inputs into two updates. */
static void test_splits(int isa)
{
	static const char *const texts[] = {
	    "a=3D b \r\n=\r\n=41=\nx  \nFrom y\n.\r\n\xc3\xa9 \t\r",
	    "=\r\n= \r\n=4",
	    "ab=4=41= x\r\r\n \t \n",
	};
	unsigned char in[90];

	for (size_t n = 0; n <= 90; n++) {
		for (size_t i = 0; i < n; i++) /* text-like bytes with all the specials */
			in[i] = (unsigned char)" \t\r\n=.Fxé\x01"[mc_t_rand() % 11];
		for (unsigned f = 0; f < 16; f++) {
			char ref[400];
			size_t rl = ref_encode(in, n, ref, f);
			for (size_t cut = 0; cut <= n; cut++) {
				struct mc_qp_encoder st;
				char out[400];
				size_t o;

				if (mc_qp_encoder_init_isa(&st, f, isa) != MC_OK)
					continue;
				o = mc_qp_encode_update(&st, in, cut, out);
				o += mc_qp_encode_update(&st, in + cut, n - cut, out + o);
				o += mc_qp_encode_final(&st, out + o);
				CHECK_EQ_MEM(out, o, ref, rl);
			}
			/* Decode the encoding at every split too. */
			for (size_t cut = 0; cut <= rl; cut++) {
				struct mc_qp_decoder st;
				unsigned char out[900];
				size_t w1, w2, w3;
				unsigned char exp[900];
				size_t el, eo;

				if (mc_qp_decoder_init_isa(&st, MC_QP_STRICT, isa) != MC_OK)
					continue;
				ref_decode((const unsigned char *)ref, rl, exp, &el, MC_QP_STRICT,
				           &eo);
				CHECK_EQ_INT(mc_qp_decode_update(&st, ref, cut, out, &w1), MC_OK);
				CHECK_EQ_INT(
				    mc_qp_decode_update(&st, ref + cut, rl - cut, out + w1, &w2),
				    MC_OK);
				CHECK_EQ_INT(mc_qp_decode_final(&st, out + w1 + w2, &w3), MC_OK);
				CHECK_EQ_MEM(out, w1 + w2 + w3, exp, el);
			}
			MC_TEST_CTX("%s splits n=%zu flags=%u\n", mc_isa_name(isa), n, f);
		}
	}
	/* Hand-written encodings at every split, lenient and strict. */
	for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
		size_t n = strlen(texts[t]);
		for (unsigned f = 0; f < 4; f++) {
			unsigned flags = (f & 1 ? MC_QP_STRICT : 0) | (f & 2 ? MC_QP_CRLF : 0);
			unsigned char exp[200];
			size_t el, eo = 0;
			int es =
			    ref_decode((const unsigned char *)texts[t], n, exp, &el, flags, &eo);
			for (size_t cut = 0; cut <= n; cut++) {
				struct mc_qp_decoder st;
				unsigned char out[600];
				size_t w1 = 0, w2 = 0, w3 = 0;
				mc_status s;

				if (mc_qp_decoder_init_isa(&st, flags, isa) != MC_OK)
					continue;
				s = mc_qp_decode_update(&st, texts[t], cut, out, &w1);
				if (!s)
					s = mc_qp_decode_update(&st, texts[t] + cut, n - cut,
					                        out + w1, &w2);
				if (!s)
					s = mc_qp_decode_final(&st, out + w1 + w2, &w3);
				CHECK_EQ_INT(s, es);
				if (es)
					CHECK_EQ_SIZE(mc_qp_decoder_error_offset(&st), eo);
				CHECK_EQ_MEM(out, w1 + w2 + w3, exp, el);
			}
			MC_TEST_CTX("%s text %zu flags %u\n", mc_isa_name(isa), t, flags);
		}
	}
}

/* All 256 byte values in every mode; random binary and random "texty"
 * inputs of every length up to 300, and a large input in random chunks. */
static void test_roundtrips(int isa)
{
	unsigned char all[512];

	for (int i = 0; i < 256; i++)
		all[i] = all[511 - i] = (unsigned char)i;
	for (unsigned f = 0; f < 16; f++) {
		check_encode(isa, all, 256, f);
		check_encode(isa, all, 512, f);
		MC_TEST_CTX("%s 256 values flags %u\n", mc_isa_name(isa), f);
	}
	unsigned char *in = mc_t_xmalloc(301);
	for (size_t n = 0; n <= 300; n++) {
		mc_t_fill(in, n);
		check_encode(isa, in, n, MC_QP_BINARY | (n & 1 ? MC_QP_CRLF : 0));
		for (size_t i = 0; i < n; i++)
			if (in[i] & 0x80 && (in[i] & 0x70))
				in[i] = (unsigned char)" \t\r\nabcdef.F="[in[i] % 13];
		check_encode(isa, in, n, (unsigned)(n % 16));
		MC_TEST_CTX("%s roundtrip n=%zu\n", mc_isa_name(isa), n);
	}
	free(in);

	size_t big = (1u << 20) + 13, l;
	in = mc_t_xmalloc(big);
	mc_t_fill(in, big);
	for (unsigned f = 0; f < 2; f++) {
		unsigned flags = f ? 0 : MC_QP_BINARY;
		char *ref = mc_t_xmalloc(mc_qp_encode_bound(big, flags));
		size_t rl = ref_encode(in, big, ref, flags);
		char *got = enc_isa(isa, in, big, flags, 4093 + 1000 * f, &l);
		CHECK_EQ_MEM(got, l, ref, rl);
		check_lines(got, l);
		struct dec_result r = dec_isa(isa, got, l, MC_QP_STRICT, 65537);
		CHECK_EQ_INT(r.status, MC_OK);
		if (flags & MC_QP_BINARY)
			CHECK_EQ_MEM(r.out, r.len, in, big);
		free(r.out);
		free(ref);
		free(got);
	}
	free(in);
}

/* Real text in several languages (tests/data/text), next to this file. */
static void test_texts(int isa)
{
	static const char *const names[] = {"en", "de", "fr", "el",   "ru",
	                                    "ja", "zh", "ar", "emoji"};
	char dir[4096], path[4200];
	const char *slash = strrchr(__FILE__, '/');

	if (!slash || (size_t)(slash - __FILE__) >= sizeof dir) {
		CHECK(!"cannot locate tests/data/text");
		return;
	}
	memcpy(dir, __FILE__, (size_t)(slash - __FILE__));
	dir[slash - __FILE__] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/data/text/%s.txt", dir, names[i]);
		FILE *f = fopen(path, "rb");
		unsigned char buf[8192];
		size_t n;

		if (!CHECK(f != NULL)) {
			fprintf(stderr, "    %s\n", path);
			continue;
		}
		n = fread(buf, 1, sizeof buf, f);
		fclose(f);
		CHECK(n > 100);
		/* A larger text: the sample repeated, for the bulk paths. */
		size_t reps = 40;
		unsigned char *many = mc_t_xmalloc(n * reps);
		for (size_t r = 0; r < reps; r++)
			memcpy(many + r * n, buf, n);
		for (unsigned fl = 0; fl < 16; fl++) {
			check_encode(isa, buf, n, fl);
			if (fl % 4 == 0)
				check_encode(isa, many, n * reps, fl);
		}
		/* The encoding decodes (lenient, strict, CRLF) the same on every
		 * kernel and chunking as in the reference. */
		size_t l;
		char *e = enc_isa(MC_ISA_SCALAR, buf, n, MC_QP_CRLF, 0, &l);
		check_decode(isa, e, l, 0);
		check_decode(isa, e, l, MC_QP_STRICT | MC_QP_CRLF);
		free(e);
		free(many);
		MC_TEST_CTX("%s text %s\n", mc_isa_name(isa), names[i]);
	}
}

/* Random mutations of valid encodings (bad escapes, stray CR, white space,
 * 8-bit bytes): every kernel must agree with the reference on status,
 * offset and output, lenient and strict, in any chunking. */
static void test_mutations(int isa)
{
	static const char junk[] = " \t\r\n=\r\n=AaG0\x80\x01.";
	unsigned char in[800];

	for (int iter = 0; iter < 600; iter++) {
		size_t n = mc_t_rand() % sizeof in, l;
		for (size_t i = 0; i < n; i++)
			in[i] = (unsigned char)(mc_t_rand() % 5 ? 'a' + mc_t_rand() % 26
			                                        : mc_t_rand() >> 24);
		char *enc = enc_isa(MC_ISA_SCALAR, in, n, (unsigned)iter & 3, 0, &l);
		char *mut = mc_t_xmalloc(l + 40);
		size_t m = 0, nmut = mc_t_rand() % 6;

		for (size_t i = 0; i < l; i++) {
			if (nmut && mc_t_rand() % (l + 1) < 4) {
				mut[m++] = junk[mc_t_rand() % (sizeof junk - 1)];
				nmut--;
			}
			mut[m++] = enc[i];
		}
		for (unsigned f = 0; f < 4; f++)
			check_decode(isa, mut, m,
			             (f & 1 ? MC_QP_STRICT : 0) | (f & 2 ? MC_QP_CRLF : 0));
		MC_TEST_CTX("%s mutation %d\n", mc_isa_name(isa), iter);
		free(enc);
		free(mut);
	}
}

/* Mail-like text: words, ~2% 8-bit bytes, '=', line breaks (LF or CRLF),
 * now and then a long line, trailing white space, "." and "From " lines. */
static void make_text(unsigned char *p, size_t n, int crlf)
{
	static const char *const words[] = {"the", "quoted", "printable",   "From",  "mail",
	                                    "a",   "=",      "caf\xc3\xa9", "line.", "x\ty"};
	size_t i = 0, col = 0, width = 70;

	while (i < n) {
		const char *w = words[mc_t_rand() % 10];
		size_t l = strlen(w);

		if (col + l + 1 > width) {
			if (mc_t_rand() % 8 == 0 && i < n)
				p[i++] = ' ';
			if (crlf && i < n)
				p[i++] = '\r';
			if (i < n)
				p[i++] = '\n';
			if (mc_t_rand() % 6 == 0 && i < n)
				p[i++] = mc_t_rand() & 1 ? '.' : 'F';
			col = 0;
			width = mc_t_rand() % 5 ? 60 + mc_t_rand() % 20 : 80 + mc_t_rand() % 150;
			continue;
		}
		for (size_t k = 0; k < l && i < n; k++)
			p[i++] = (unsigned char)w[k];
		if (i < n)
			p[i++] = ' ';
		col += l + 1;
	}
}

/* The SIMD paths around line ends: every column a run can start a block at,
 * escape-dense data, CR/LF/white space at every offset of a 64-byte block,
 * in every mode. */
static void test_block_edges(int isa)
{
	unsigned char in[400];
	static const char fill[] = "=\xff \t\r\n.Fa";

	for (size_t k = 0; k <= 80; k++) {
		for (size_t f = 0; f < sizeof fill - 1; f++) {
			memset(in, 'x', sizeof in);
			for (size_t j = k; j < sizeof in; j += 67)
				in[j] = (unsigned char)fill[f];
			in[k / 2] = (unsigned char)fill[(f + 3) % (sizeof fill - 1)];
			for (unsigned fl = 0; fl < 16; fl += (k % 3) + 1)
				check_encode(isa, in, 130 + k, fl);
		}
		/* Escape-dense: every byte or every other one escaped. */
		for (size_t j = 0; j < sizeof in; j++)
			in[j] = (unsigned char)(j % (2 + k % 3) ? 0xc3 : 'a' + j % 26);
		check_encode(isa, in, 200 + k, k & 1 ? MC_QP_BINARY : 0);
		check_encode(isa, in, 200 + k, MC_QP_CRLF | MC_QP_DOT);
		MC_TEST_CTX("%s block edges k=%zu\n", mc_isa_name(isa), k);
	}
	/* Text, LF and CRLF, long enough for many blocks, every flag. */
	unsigned char *t = mc_t_xmalloc(20000);
	for (int crlf = 0; crlf < 2; crlf++) {
		make_text(t, 20000, crlf);
		for (unsigned fl = 0; fl < 16; fl++)
			check_encode(isa, t, 20000 - fl, fl);
		size_t l;
		char *e = enc_isa(MC_ISA_SCALAR, t, 20000, crlf ? MC_QP_CRLF : 0, 0, &l);
		for (unsigned f = 0; f < 4; f++)
			check_decode(isa, e, l,
			             (f & 1 ? MC_QP_STRICT : 0) | (f & 2 ? MC_QP_CRLF : 0));
		free(e);
		MC_TEST_CTX("%s text blocks crlf=%d\n", mc_isa_name(isa), crlf);
	}
	free(t);
}

/* Soft breaks against 64-byte blocks: lines of lengths around the limit
 * (none, one or two soft breaks per block), escapes every few bytes or none,
 * the line end on the line start or not, so each unit length, line start
 * and column meets every block offset (AVX-512: a line's end checked against
 * its limit before the unit-by-unit compare). */
static void test_soft_break_blocks(int isa)
{
	static const size_t lens[] = {1, 2, 40, 72, 73, 74, 75, 76, 77, 100, 149, 150, 230};
	static const size_t every[] = {0, 3, 5, 9, 26};
	static const unsigned flags[] = {0, MC_QP_CRLF, MC_QP_BINARY, MC_QP_DOT | MC_QP_FROM};
	unsigned char in[700];

	for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
		for (size_t ei = 0; ei < sizeof every / sizeof every[0]; ei++) {
			for (size_t k = 0; k < 64; k += 9) {
				size_t n = sizeof in - k % 5;

				for (size_t j = 0, c = 0; j < n; j++, c++) {
					if (j >= k && c >= lens[li]) {
						in[j] = '\n';
						c = (size_t)-1;
					} else if (every[ei] && j % every[ei] == 0) {
						in[j] = (unsigned char)(j & 1 ? 0xc3 : '=');
					} else {
						in[j] = (unsigned char)('a' + j % 26);
					}
				}
				check_encode(isa, in, n, flags[(li + k) % 4]);
			}
			MC_TEST_CTX("%s soft breaks len=%zu every=%zu\n", mc_isa_name(isa),
			            lens[li], every[ei]);
		}
	}
}

/* The SIMD kernels must consume nearly all of a large clean input, or the
 * state machine is doing their work. */
static void test_kernels_take_the_bulk(int isa)
{
	const struct mc_qp_kernels *k = mc__qp_kernels_for(isa);
	size_t n = 1 << 16, w, l, used;
	unsigned char *in = mc_t_xmalloc(n), *out = mc_t_xmalloc(2 * 4 * n);
	char *enc = mc_t_xmalloc(mc_qp_encode_bound(n, 0));

	if (!k || isa == MC_ISA_SCALAR)
		goto out;
	for (int crlf = 0; crlf < 2; crlf++) {
		unsigned col = 0;

		make_text(in, n, crlf);
		if (k->enc != mc__qp_enc_scalar) {
			used = k->enc(in, n, enc, &w, &col, crlf ? MC_QP_CRLF : 0);
			CHECK(used >= n - 128);
		}
		l = mc_qp_encode(in, n, enc, crlf ? MC_QP_CRLF : 0);
		used = k->dec(enc, l, out, &w, 0);
		CHECK(used >= l - 128);
		used = k->dec(enc, l, out, &w, MC_QP_STRICT | MC_QP_CRLF);
		CHECK(used >= l - 128);
	}
	mc_t_fill(in, n);
	if (k->enc != mc__qp_enc_scalar) {
		unsigned col = 0;
		used = k->enc(in, n, enc, &w, &col, MC_QP_BINARY);
		CHECK(used >= n - 128);
	}
	l = mc_qp_encode(in, n, enc, MC_QP_BINARY);
	used = k->dec(enc, l, out, &w, MC_QP_STRICT);
	CHECK(used >= l - 128);
	MC_TEST_CTX("%s kernel bulk\n", mc_isa_name(isa));
out:
	free(in);
	free(out);
	free(enc);
}

#if defined(__linux__)
/* Masked loads and stores escape ASan: run the kernels on inputs that end
 * right before a PROT_NONE page and into outputs of exactly the contract's
 * room that end right before another. */
static void test_guard_pages(int isa)
{
	const struct mc_qp_kernels *k = mc__qp_kernels_for(isa);
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), span = 4 * pg;
	unsigned char *a =
	    mmap(NULL, 2 * span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *b =
	    mmap(NULL, 2 * span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *src = mc_t_xmalloc(1000);

	if (!CHECK(a != MAP_FAILED && b != MAP_FAILED) || !k)
		goto out;
	CHECK_EQ_INT(mprotect(a + span, span, PROT_NONE), 0);
	CHECK_EQ_INT(mprotect(b + span, span, PROT_NONE), 0);
	for (size_t n = 0; n <= 700; n += n < 200 ? 1 : 37) {
		for (int kind = 0; kind < 3; kind++) {
			if (kind == 0)
				mc_t_fill(src, n);
			else
				make_text(src, n, kind == 2);
			unsigned char *in = a + span - n;
			memcpy(in, src, n);
			for (unsigned fl = 0; fl < 16; fl += 3) {
				size_t room = 3 * n + 3 * (3 * n / 73) + 3, w;
				unsigned col = (unsigned)(n % 76);
				size_t used = k->enc(in, n, (char *)b + span - room, &w, &col, fl);
				CHECK(used <= n && w <= room);
			}
			/* Decode the input as it is and as an encoding. */
			for (unsigned fl = 0; fl < 4; fl++) {
				unsigned df =
				    (fl & 1 ? MC_QP_STRICT : 0) | (fl & 2 ? MC_QP_CRLF : 0);
				size_t room = fl & 2 ? 2 * n : n, w;
				size_t used = k->dec((const char *)in, n, b + span - room, &w, df);
				CHECK(used <= n && w <= room);
			}
			size_t el = mc_qp_encode_bound(n, 0);
			if (el <= span) {
				char *e = mc_t_xmalloc(el);
				size_t l = mc_qp_encode(src, n, e, kind == 2 ? MC_QP_CRLF : 0), w;
				memcpy(a + span - l, e, l);
				for (unsigned fl = 0; fl < 4; fl++) {
					unsigned df =
					    (fl & 1 ? MC_QP_STRICT : 0) | (fl & 2 ? MC_QP_CRLF : 0);
					size_t room = fl & 2 ? 2 * l : l;
					size_t used = k->dec((const char *)a + span - l, l,
					                     b + span - room, &w, df);
					CHECK(used <= l && w <= room);
				}
				free(e);
			}
		}
		MC_TEST_CTX("%s guard pages n=%zu\n", mc_isa_name(isa), n);
	}
out:
	if (a != MAP_FAILED)
		munmap(a, 2 * span);
	if (b != MAP_FAILED)
		munmap(b, 2 * span);
	free(src);
}
#endif

static void test_sizes(void)
{
	CHECK_EQ_SIZE(mc_qp_decode_bound(0, 0), 0);
	CHECK(mc_qp_decode_bound(10, 0) >= 10);
	CHECK(mc_qp_decode_bound(10, MC_QP_CRLF) >= 20);
	CHECK_EQ_SIZE(mc_qp_encode_bound(SIZE_MAX, 0), SIZE_MAX);
	CHECK_EQ_SIZE(mc_qp_decode_bound(SIZE_MAX, 0), SIZE_MAX);
	/* The encode bound holds for the worst case: every byte escaped, in
	 * every chunking (enc_isa checks each update against it). */
	unsigned char worst[1000];
	memset(worst, 0xff, sizeof worst);
	for (size_t n = 0; n <= 1000; n += 37) {
		size_t l;
		char *e = enc_isa(MC_ISA_SCALAR, worst, n, 0, 0, &l);
		CHECK(l <= mc_qp_encode_bound(n, 0));
		free(e);
	}
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--expect-isa") == 0) {
		int want = mc_isa_from_name(argv[2]);
		CHECK(want >= 0);
		if (mc_isa_supported(want))
			CHECK_EQ_STR(mc_isa_name(mc_isa_active()), argv[2]);
	}
	for (int isa = 0; isa < MC_ISA_COUNT_; isa++)
		if (mc_isa_supported(isa))
			kernels[nkernels++] = isa;
	printf("kernels:");
	for (int i = 0; i < nkernels; i++)
		printf(" %s", mc_isa_name(kernels[i]));
	printf(" (active: %s)\n", mc_isa_name(mc_isa_active()));

	test_sizes();
	for (int i = 0; i < nkernels; i++) {
		test_encode_table(kernels[i]);
		test_decode_table(kernels[i]);
		test_rfc2045(kernels[i]);
		test_splits(kernels[i]);
		test_roundtrips(kernels[i]);
		test_texts(kernels[i]);
		test_mutations(kernels[i]);
		test_block_edges(kernels[i]);
		test_soft_break_blocks(kernels[i]);
		test_kernels_take_the_bulk(kernels[i]);
#if defined(__linux__)
		test_guard_pages(kernels[i]);
#endif
	}
	/* The one-shot wrappers. */
	char e[64];
	unsigned char d[64];
	size_t w, eo;
	size_t l = mc_qp_encode("a=b \n", 5, e, 0);
	CHECK_EQ_MEM(e, l, "a=3Db=20\n", 9);
	CHECK_EQ_INT(mc_qp_decode(e, l, d, &w, MC_QP_STRICT, &eo), MC_OK);
	CHECK_EQ_MEM(d, w, "a=b \n", 5);
	CHECK_EQ_INT(mc_qp_decode("x=zz", 4, d, &w, MC_QP_STRICT, &eo), MC_EBADESC);
	CHECK_EQ_SIZE(eo, 1);
	CHECK_EQ_SIZE(w, 1);
	MC_TEST_END();
}
