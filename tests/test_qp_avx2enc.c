/* test_qp_avx2enc.c: the AVX2 quoted-printable encoder (codec/qp_avx2.c)
 * against the scalar one, byte for byte, in every mode (text/binary, LF/CRLF
 * out, MC_QP_DOT, MC_QP_FROM) and chunking: its three paths (literal blocks,
 * the walk over a few escapes and line breaks, the group expansion of
 * escape-dense blocks) at every column and block offset, soft breaks landing
 * on and around escapes, '.'/"From " at line starts after LF, CRLF and soft
 * breaks, CRLF and trailing white space across 32-byte block edges, and the
 * kernel called directly with exactly the room its contract promises (under
 * ASan a write past it traps), whose output must be a prefix of the scalar
 * encoding with the matching column. Skipped where AVX2 is not available. */
#include "test.h"
#include "mimecodec/qp.h"
#include "mimecodec/isa.h"
#include "qp_internal.h" /* to drive the kernels directly */

/* Streams src through isa's encoder in chunks (0: one update). */
static char *enc_stream(int isa, const unsigned char *src, size_t n, unsigned flags, size_t chunk,
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
		size_t c = n - i < chunk ? n - i : chunk;

		o += mc_qp_encode_update(&st, src + i, c, dst + o);
		CHECK(o <= mc_qp_encode_bound(n, flags));
	}
	o += mc_qp_encode_final(&st, dst + o);
	CHECK(o <= mc_qp_encode_bound(n, flags));
	*outlen = o;
	return dst;
}

/* Every output line at most 76 characters (with a soft break's '='). */
static int lines_ok(const char *s, size_t n)
{
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			col = 0;
			continue;
		}
		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
			continue;
		if (++col > MC_QP_LINE_MAX)
			return 0;
	}
	return 1;
}

#if MC_HAVE_AVX2
/* The AVX2 kernel called directly from column col0 with exactly the room of
 * its contract; its output and then the scalar encoder from where it
 * stopped must give the scalar encoding (of col0 'y's and the input). */
static void check_kernel(const unsigned char *in, size_t n, unsigned flags, unsigned col0)
{
	size_t room = 3 * n + 3 * (3 * n / 73 + 1) + 3, w = 0, used, fl, rl = 0;
	char *out = mc_t_xmalloc(room);
	unsigned char *buf = mc_t_xmalloc(col0 + n);
	unsigned col = col0;
	struct mc_qp_encoder st;

	used = mc__qp_avx2.enc(in, n, out, &w, &col, flags);
	CHECK(used <= n);
	CHECK(w <= room);
	CHECK(col <= MC_QP_COL_MAX);
	if (n >= 256) /* a large clean input: the kernel takes the bulk */
		CHECK(used + 80 >= n);
	memset(buf, 'y', col0);
	memcpy(buf + col0, in, n);
	char *full = enc_stream(MC_ISA_SCALAR, buf, col0 + n, flags, 0, &fl);
	char *got = mc_t_xmalloc(col0 + w + mc_qp_encode_bound(n - used, flags));
	memcpy(got, buf, col0);
	memcpy(got + col0, out, w);
	if (mc_qp_encoder_init_isa(&st, flags, MC_ISA_SCALAR) == MC_OK) {
		st.col = col; /* white box: the state the kernel left */
		rl = mc_qp_encode_update(&st, in + used, n - used, got + col0 + w);
		rl += mc_qp_encode_final(&st, got + col0 + w + rl);
	}
	CHECK_EQ_MEM(got, col0 + w + rl, full, fl);
	free(got);
	free(full);
	free(buf);
	free(out);
}
#endif

static void check_all(const unsigned char *in, size_t n, unsigned flags)
{
	static const size_t chunks[] = {0, 1, 31, 33, 64, 97, 1000};

	size_t rl;
	char *ref = enc_stream(MC_ISA_SCALAR, in, n, flags, 0, &rl);
	CHECK(lines_ok(ref, rl));
	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		if (chunks[c] && chunks[c] > n)
			continue;
		size_t l;
		char *got = enc_stream(MC_ISA_AVX2, in, n, flags, chunks[c], &l);
		CHECK_EQ_MEM(got, l, ref, rl);
		free(got);
	}
	free(ref);
#if MC_HAVE_AVX2
	static const unsigned cols[] = {0, 1, 2, 31, 44, 60, 71, 72, 73, 74, MC_QP_COL_MAX};
	for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++)
		check_kernel(in, n, flags, cols[c]);
#endif
}

/* Random bytes drawn from an alphabet weighted toward what matters. */
static void fill_from(unsigned char *p, size_t n, const char *alpha, size_t na)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)alpha[mc_t_rand() % na];
}

/* Soft breaks at every column against escapes and line ends: a run of
 * literals of every length, then a unit of every kind, in every mode. */
static void test_soft_breaks(void)
{
	static const char units[] = "=\xc3 \t\r\n.Fx";
	unsigned char in[300];

	for (size_t len = 60; len <= 140; len++) {
		for (size_t u = 0; u < sizeof units - 1; u++) {
			memset(in, 'a', sizeof in);
			in[len] = (unsigned char)units[u];
			in[len + 1] = (unsigned char)units[(u + 5) % (sizeof units - 1)];
			in[len + 2] = '\n';
			memcpy(in + len + 3, "From .x", 7);
			for (unsigned fl = 0; fl < 16; fl += 1 + (unsigned)(len % 3))
				check_all(in, 200 + len % 37, fl);
		}
		MC_TEST_CTX("soft breaks len=%zu\n", len);
	}
}

/* CR, LF, CRLF and white space at every offset of two 32-byte blocks, and a
 * '.'/'F' after them. */
static void test_block_edges(void)
{
	static const char *const pats[] = {"\r\n",       " \n",    "\t\r\n", "\r",  "\n",
	                                   " ",          "\r\r\n", "=\n",    "\n.", "\nFrom ",
	                                   "\r\nFrom x", "\n\n",   " \r\n."};
	unsigned char in[256];

	for (size_t off = 0; off < 70; off++) {
		for (size_t p = 0; p < sizeof pats / sizeof pats[0]; p++) {
			size_t pl = strlen(pats[p]);

			for (size_t j = 0; j < sizeof in; j++)
				in[j] = (unsigned char)('a' + j % 23);
			for (size_t at = off; at + pl <= sizeof in; at += 41 + off % 5)
				memcpy(in + at, pats[p], pl);
			for (unsigned fl = 0; fl < 16; fl++)
				check_all(in, sizeof in - off % 3, fl);
		}
		MC_TEST_CTX("block edges off=%zu\n", off);
	}
}

/* Escape-dense lines after an LF inside a block: the line after it may or
 * may not fit (31 bytes can make 93 characters). */
static void test_dense_lines(void)
{
	unsigned char in[320];

	for (size_t lead = 0; lead < 40; lead++) {
		for (size_t e = 18; e <= 31; e++) {
			size_t i = 0;

			while (i < lead)
				in[i++] = 'a';
			while (i < sizeof in) {
				in[i++] = '\n';
				for (size_t k = 0; k < e && i < sizeof in; k++)
					in[i++] = k % 7 == 3 ? 'b' : 0xc3;
				for (size_t k = 0; k < lead % 5 && i < sizeof in; k++)
					in[i++] = 'c';
			}
			check_all(in, sizeof in, 0);
			check_all(in, sizeof in - 1, MC_QP_CRLF | MC_QP_DOT);
		}
		MC_TEST_CTX("dense lines lead=%zu\n", lead);
	}
}

/* Prose with UTF-8 (the text benchmark's kind), long and short lines. */
static void make_prose(unsigned char *p, size_t n, int crlf, size_t wmax)
{
	static const char *const words[] = {
	    "the", "mail", "\xc3\xa9t\xc3\xa9", "quoted", "a", "\xe2\x80\x94", "From", ".",
	    "=",   "x\ty"};
	size_t i = 0, col = 0, width = 70;

	while (i < n) {
		const char *w = words[mc_t_rand() % 10];
		size_t l = strlen(w);

		if (col + l + 1 > width) {
			if (mc_t_rand() % 6 == 0 && i < n)
				p[i++] = mc_t_rand() & 1 ? ' ' : '\t';
			if (crlf && i < n)
				p[i++] = '\r';
			if (i < n)
				p[i++] = '\n';
			col = 0;
			width = 30 + mc_t_rand() % wmax;
			continue;
		}
		for (size_t k = 0; k < l && i < n; k++)
			p[i++] = (unsigned char)w[k];
		if (i < n)
			p[i++] = ' ';
		col += l + 1;
	}
}

static void test_prose(void)
{
	size_t n = 6000;
	unsigned char *in = mc_t_xmalloc(n);

	for (int it = 0; it < 24; it++) {
		make_prose(in, n, it & 1, it & 2 ? 50 : 150);
		for (unsigned fl = 0; fl < 16; fl++)
			check_all(in, n - (size_t)it, fl);
		MC_TEST_CTX("prose %d\n", it);
	}
	free(in);
}

/* Random data over small alphabets: escape-dense, mixed, sparse. */
static void test_random(void)
{
	static const char *const alphas[] = {"\x00\xff=\r\n \t.Fa",   "abcdefgh=\xc3 \n",
	                                     "aaaaaaaaaaaaaaa\xc3\n", "\r\n\r\n \t .F\xe2\x80",
	                                     "\xff\xfe\x01\x7f\x80",  "From \n.xyz \t\r"};
	unsigned char *in = mc_t_xmalloc(3000);

	for (int it = 0; it < 60; it++) {
		const char *a = alphas[it % 6];
		size_t na = it % 6 == 0 ? 10 : strlen(a); /* the first holds a NUL */
		size_t n = 64 + mc_t_rand() % 2900;

		fill_from(in, n, a, na);
		for (unsigned fl = 0; fl < 16; fl++)
			check_all(in, n, fl);
		MC_TEST_CTX("random %d\n", it);
	}
	mc_t_fill(in, 3000);
	for (unsigned fl = 0; fl < 16; fl++)
		check_all(in, 3000, fl);
	MC_TEST_CTX("random bytes\n");
	free(in);
}

/* The worst case for room: every byte escaped, from every column. */
static void test_room(void)
{
	unsigned char in[1024];

	for (int b = 0; b < 4; b++) {
		memset(in, b == 0 ? 0xff : b == 1 ? '=' : b == 2 ? '\r' : '\n', sizeof in);
		for (size_t n = 64; n <= sizeof in; n += 97)
			for (unsigned fl = 0; fl < 16; fl++)
				check_all(in, n, fl);
		MC_TEST_CTX("room b=%d\n", b);
	}
}

int main(void)
{
	const struct mc_qp_kernels *k = mc__qp_kernels_for(MC_ISA_AVX2);

	if (!k || k->isa != MC_ISA_AVX2) {
		printf("AVX2 not available: skipped\n");
		MC_TEST_END();
	}
	test_soft_breaks();
	test_block_edges();
	test_dense_lines();
	test_prose();
	test_random();
	test_room();
	MC_TEST_END();
}
