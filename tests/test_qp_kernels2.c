/* test_qp_kernels2.c: the AVX-512 quoted-printable text encoder's two-pass
 * path (codec/qp_avx512.c, enc_text_loop: text mode without MC_QP_DOT /
 * MC_QP_FROM, input of more than one 2048-byte chunk) against the scalar
 * encoder, byte for byte: lines of every length around the limit with
 * escapes before and on column 75, CRLF, lone CR and trailing white space
 * on and around the chunk edges, escape-dense input (room), entry at every
 * column, and streaming in chunks of many sizes. The kernel is also called
 * directly with exactly the room of its contract (under ASan a write past
 * it traps); its output and the scalar encoder from where it stopped must
 * give the scalar encoding. Skipped where AVX-512 is not available. */
#include "test.h"
#include "mimecodec/qp.h"
#include "mimecodec/isa.h"
#include "qp_internal.h" /* to drive the kernels directly */

#define CHUNK 2048 /* enc_text_loop's chunk */

/* The encoding of in[0, n) by isa from column col0 (white box: the
 * encoder's col), fed in pieces of chunk bytes (0: one), into out (room for
 * it, checked against the bound); returns its length. */
static size_t encode_into(int isa, const unsigned char *in, size_t n, unsigned flags, size_t chunk,
                          unsigned col0, char *out)
{
	struct mc_qp_encoder st;
	size_t o = 0, i = 0;

	CHECK_EQ_INT(mc_qp_encoder_init_isa(&st, flags, isa), MC_OK);
	st.col = col0;
	do {
		size_t c = chunk && n - i > chunk ? chunk : n - i;

		o += mc_qp_encode_update(&st, in + i, c, out + o);
		i += c;
	} while (i < n);
	o += mc_qp_encode_final(&st, out + o);
	CHECK(o <= mc_qp_encode_bound(n, flags) + col0);
	return o;
}

static char *encode(int isa, const unsigned char *in, size_t n, unsigned flags, size_t chunk,
                    size_t *len)
{
	char *out = mc_t_xmalloc(mc_qp_encode_bound(n, flags));

	*len = encode_into(isa, in, n, flags, chunk, 0, out);
	return out;
}

#if MC_HAVE_AVX512
/* The kernel called directly from column col0 with exactly the room of its
 * contract, then the scalar encoder from where it stopped: together they
 * must write what the scalar encoder writes from col0. */
static void check_kernel(const unsigned char *in, size_t n, unsigned flags, unsigned col0)
{
	size_t room = 3 * n + 3 * (3 * n / 73 + 1) + 3, w = 0, rl, used;
	size_t bound = mc_qp_encode_bound(n, flags);
	char *out = mc_t_xmalloc(room), *ref = mc_t_xmalloc(bound),
	     *got = mc_t_xmalloc(room + bound);
	unsigned col = col0;

	used = mc__qp_avx512.enc(in, n, out, &w, &col, flags);
	CHECK(used <= n && w <= room && col <= MC_QP_COL_MAX);
	if (n > 4 * CHUNK) /* a large input: the kernel takes the bulk */
		CHECK(used + 4 * CHUNK >= n);
	rl = encode_into(MC_ISA_SCALAR, in, n, flags, 0, col0, ref);
	memcpy(got, out, w);
	w += encode_into(MC_ISA_SCALAR, in + used, n - used, flags, 0, col, got + w);
	CHECK_EQ_MEM(got, w, ref, rl);
	free(got);
	free(ref);
	free(out);
}
#endif

/* The text flags (the two-pass path) and two with MC_QP_DOT / MC_QP_FROM
 * (the per-block loop) for contrast. */
static const unsigned text_flags[] = {0, MC_QP_CRLF, MC_QP_DOT, MC_QP_CRLF | MC_QP_FROM};

/* Streamed in pieces of several sizes and the kernel called directly from
 * several columns (deep: all of them, else the first two). */
static void check_all(const unsigned char *in, size_t n, int deep)
{
	static const size_t chunks[6] = {0, 1, 997, CHUNK + 65, CHUNK + 66, 2 * CHUNK + 67};
#if MC_HAVE_AVX512
	static const unsigned cols[6] = {0, MC_QP_COL_MAX, 1, 40, 73, 74};
#endif

	for (size_t f = 0; f < sizeof text_flags / sizeof text_flags[0]; f++) {
		size_t rl, l;
		char *ref = encode(MC_ISA_SCALAR, in, n, text_flags[f], 0, &rl);

		for (size_t c = 0; c < (deep ? 6u : 2u); c++) {
			char *got = encode(MC_ISA_AVX512, in, n, text_flags[f], chunks[c], &l);

			CHECK_EQ_MEM(got, l, ref, rl);
			free(got);
#if MC_HAVE_AVX512
			check_kernel(in, n, text_flags[f], cols[c]);
#endif
		}
		free(ref);
	}
}

/* Lines of every length from 60 to 160 one after another, an escape every
 * e bytes (none for e = 0), LF or CRLF line ends, a space or tab before
 * some of them: soft breaks on and around escapes at every column, and the
 * line ends at every offset of the chunks. */
static void test_lines(void)
{
	static const size_t every[] = {0, 2, 3, 7, 11, 29};
	size_t n = 3 * CHUNK + 700;
	unsigned char *in = mc_t_xmalloc(n);

	for (size_t ei = 0; ei < sizeof every / sizeof every[0]; ei++) {
		for (int crlf = 0; crlf < 2; crlf++) {
			size_t len = 60, c = 0;

			for (size_t j = 0; j < n; j++, c++) {
				if (c == len) {
					if (len % 5 == 0 && j >= 1)
						in[j - 1] = len % 2 ? ' ' : '\t';
					if (crlf && j + 1 < n)
						in[j++] = '\r';
					in[j] = '\n';
					c = (size_t)-1;
					len = len == 160 ? 60 : len + 1;
				} else if (every[ei] && j % every[ei] == 0) {
					in[j] = (unsigned char)(j & 2 ? 0xc3 : '=');
				} else {
					in[j] = (unsigned char)('a' + j % 26);
				}
			}
			check_all(in, n, ei < 3);
			MC_TEST_CTX("lines every=%zu crlf=%d\n", every[ei], crlf);
		}
	}
	free(in);
}

/* Line ends, lone CRs, white space and escapes on the chunk edges: a short
 * pattern put at every offset around the first and second edge. */
static void test_chunk_edges(void)
{
	static const char *const pats[] = {"\r\n",  "\n",       "\r", " \n",    "\t\r\n",
	                                   " \r\n", "\xc3\xa9", "=",  "\r\r\n", "\n\n"};
	size_t n = 2 * CHUNK + 300;
	unsigned char *in = mc_t_xmalloc(n);

	for (size_t p = 0; p < sizeof pats / sizeof pats[0]; p++) {
		for (int off = -4; off <= 3; off++) {
			for (size_t j = 0; j < n; j++) /* lines of 70 and 81 */
				in[j] = j % 151 == 70 || j % 151 == 150
				            ? '\n'
				            : (unsigned char)('a' + j % 23);
			size_t pl = strlen(pats[p]);
			for (size_t e = CHUNK; e <= 2 * CHUNK; e += CHUNK)
				memcpy(in + e + off, pats[p], pl);
			check_all(in, n, off == -1 || off == 0);
		}
		MC_TEST_CTX("chunk edges pattern %zu\n", p);
	}
	free(in);
}

/* Escape-dense input (the room) and random bytes from a text alphabet. */
static void test_dense_and_random(void)
{
	static const char alpha[] = "abcdefgh      \t\r\n\n\n=.F\xc3\xa9\x01\x7f";
	size_t n = 3 * CHUNK + 130;
	unsigned char *in = mc_t_xmalloc(n);

	for (int b = 0; b < 3; b++) {
		memset(in, b == 0 ? 0xff : b == 1 ? '=' : '\r', n);
		check_all(in, n, 0);
	}
	for (int r = 0; r < 12; r++) {
		for (size_t j = 0; j < n; j++)
			in[j] = (unsigned char)alpha[mc_t_rand() % (sizeof alpha - 1)];
		check_all(in, n - (size_t)r * 37, r < 3);
		MC_TEST_CTX("random r=%d\n", r);
	}
	free(in);
}

int main(void)
{
	if (mc_isa_supported(MC_ISA_AVX512)) {
		test_lines();
		test_chunk_edges();
		test_dense_and_random();
	} else {
		printf("AVX-512 not available: skipped\n");
	}
	MC_TEST_END();
}
