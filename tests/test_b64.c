/* test_b64.c: base64 codec tests. Every kernel this machine supports runs the
 * same cases: RFC 4648 vectors, every length 0..300 against an independent
 * bit-by-bit reference, every split of small inputs, whitespace, every error
 * class with its offset, large random inputs, exactly sized buffers.
 * Usage: test_b64 [--expect-isa NAME]  (checks MIMECODEC_ISA took effect) */
#include "test.h"
#include "mimecodec/base64.h"
#include "mimecodec/isa.h"
#include "b64_internal.h" /* to check the SIMD kernels really take the bulk */

/* ---- independent reference (RFC 4648 section 4, written bit by bit) ------- */

static size_t ref_encode(const unsigned char *s, size_t n, char *out, unsigned wrap, unsigned flags)
{
	const char *a = (flags & MC_B64_URL)
	                    ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	                    : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *flat = mc_t_xmalloc(n / 3 * 4 + 8);
	size_t f = 0, o = 0, col = 0;
	unsigned long long bits = 0;
	int nbits = 0;

	for (size_t i = 0; i < n; i++) {
		bits = bits << 8 | s[i];
		nbits += 8;
		while (nbits >= 6) {
			flat[f++] = a[(bits >> (nbits - 6)) & 63];
			nbits -= 6;
		}
	}
	if (nbits)
		flat[f++] = a[(bits << (6 - nbits)) & 63];
	if (!(flags & MC_B64_NOPAD))
		while (f % 4)
			flat[f++] = '=';
	for (size_t i = 0; i < f; i++) {
		if (wrap && col == wrap) {
			if (flags & MC_B64_CRLF)
				out[o++] = '\r';
			out[o++] = '\n';
			col = 0;
		}
		out[o++] = flat[i];
		col++;
	}
	if (wrap && f) {
		if (flags & MC_B64_CRLF)
			out[o++] = '\r';
		out[o++] = '\n';
	}
	free(flat);
	return o;
}

/* ---- helpers driving one kernel through the streaming API -------------------- */

static int kernels[MC_ISA_COUNT_], nkernels;

/* Encodes src in chunks of `chunk` bytes (0: one update). Exactly sized dst. */
static char *enc_isa(int isa, const void *src, size_t n, unsigned wrap, unsigned flags,
                     size_t chunk, size_t *outlen)
{
	struct mc_b64_encoder st;
	size_t cap = mc_b64_encode_bound(n, wrap, flags), o = 0;
	char *dst = mc_t_xmalloc(cap);

	if (mc_b64_encoder_init_isa(&st, wrap, flags, isa) != MC_OK) {
		*outlen = 0;
		return dst;
	}
	if (!chunk)
		chunk = n ? n : 1;
	for (size_t i = 0; i < n; i += chunk) {
		size_t c = n - i < chunk ? n - i : chunk;
		char *exact = mc_t_xmalloc(c); /* an over-read of the chunk traps */

		memcpy(exact, (const char *)src + i, c);
		o += mc_b64_encode_update(&st, exact, c, dst + o);
		free(exact);
	}
	size_t fin = mc_b64_encode_final(&st, dst + o);
	CHECK(fin <= MC_B64_FINAL_MAX);
	o += fin;
	CHECK(o <= cap);
	*outlen = o;
	return dst;
}

struct dec_result {
	unsigned char *out;
	size_t len;
	int status;
	uint64_t err;
};

/* Decodes in chunks; each update gets an exactly sized (bound) buffer. */
static struct dec_result dec_isa(int isa, const char *src, size_t n, int mode, unsigned flags,
                                 size_t chunk)
{
	struct dec_result r = {mc_t_xmalloc(mc_b64_decode_bound(n) + 3), 0, 0, 0};
	struct mc_b64_decoder st;
	size_t w;

	if (mc_b64_decoder_init_isa(&st, mode, flags, isa) != MC_OK) {
		r.status = MC_EUNSUPPORTED;
		return r;
	}
	if (!chunk)
		chunk = n ? n : 1;
	for (size_t i = 0; i < n && r.status == MC_OK; i += chunk) {
		size_t c = n - i < chunk ? n - i : chunk;
		unsigned char *tmp = mc_t_xmalloc(mc_b64_decode_bound(c));
		char *exact = mc_t_xmalloc(c); /* an over-read of the chunk traps */

		memcpy(exact, src + i, c);
		r.status = mc_b64_decode_update(&st, exact, c, tmp, &w);
		free(exact);
		CHECK(w <= mc_b64_decode_bound(c));
		memcpy(r.out + r.len, tmp, w);
		r.len += w;
		free(tmp);
	}
	if (r.status == MC_OK) {
		unsigned char tmp[3];

		r.status = mc_b64_decode_final(&st, tmp, &w);
		CHECK(w <= 2);
		memcpy(r.out + r.len, tmp, w);
		r.len += w;
	}
	r.err = mc_b64_decoder_error_offset(&st);
	return r;
}

static void check_same(const struct dec_result *a, const struct dec_result *b)
{
	CHECK_EQ_INT(a->status, b->status);
	CHECK_EQ_SIZE(a->err, b->err);
	CHECK_EQ_MEM(a->out, a->len, b->out, b->len);
}

/* ---- cases ---------------------------------------------------------------- */

static void test_rfc4648_vectors(void)
{
	static const char *const v[][2] = {
	    {"", ""},
	    {"f", "Zg=="},
	    {"fo", "Zm8="},
	    {"foo", "Zm9v"},
	    {"foob", "Zm9vYg=="},
	    {"fooba", "Zm9vYmE="},
	    {"foobar", "Zm9vYmFy"},
	};
	char out[64];
	unsigned char dec[64];
	size_t w, eo;

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		size_t n = mc_b64_encode(v[i][0], strlen(v[i][0]), out, 0, 0);

		CHECK_EQ_MEM(out, n, v[i][1], strlen(v[i][1]));
		CHECK_EQ_SIZE(mc_b64_encoded_size(strlen(v[i][0]), 0, 0), n);
		for (int mode = MC_B64_MIME; mode <= MC_B64_FORGIVING; mode++) {
			CHECK_EQ_INT(mc_b64_decode(v[i][1], n, dec, &w, mode, 0, &eo), MC_OK);
			CHECK_EQ_MEM(dec, w, v[i][0], strlen(v[i][0]));
		}
	}
	/* RFC 4648 section 5 alphabet, and no padding (section 3.2). */
	unsigned char bin[] = {0xfb, 0xff, 0xbf, 0xfe};
	size_t n = mc_b64_encode(bin, 4, out, 0, MC_B64_URL | MC_B64_NOPAD);
	CHECK_EQ_MEM(out, n, "-_-__g", 6);
	n = mc_b64_encode(bin, 4, out, 0, 0);
	CHECK_EQ_MEM(out, n, "+/+//g==", 8);
	CHECK_EQ_INT(
	    mc_b64_decode("-_-__g", 6, dec, &w, MC_B64_STRICT, MC_B64_URL | MC_B64_NOPAD, &eo),
	    MC_OK);
	CHECK_EQ_MEM(dec, w, bin, 4);
	/* The other alphabet's characters are bad bytes. */
	CHECK_EQ_INT(mc_b64_decode("+/+/", 4, dec, &w, MC_B64_STRICT, MC_B64_URL, &eo),
	             MC_EBADCHAR);
	CHECK_EQ_SIZE(eo, 0);
}

static void test_sizes(void)
{
	static const unsigned wraps[] = {0, 1, 4, 5, 64, 76, 77};
	char *out = mc_t_xmalloc(4096);
	unsigned char in[600];

	mc_t_fill(in, sizeof in);
	for (size_t n = 0; n <= 600; n++)
		for (size_t w = 0; w < sizeof wraps / sizeof wraps[0]; w++)
			for (unsigned f = 0; f < 8; f++) {
				size_t len = ref_encode(in, n, out, wraps[w], f);
				CHECK_EQ_SIZE(mc_b64_encoded_size(n, wraps[w], f), len);
				CHECK(mc_b64_encode_bound(n, wraps[w], f) >= len);
			}
	CHECK_EQ_SIZE(mc_b64_encoded_size(SIZE_MAX, 76, 0), SIZE_MAX);
	CHECK_EQ_SIZE(mc_b64_decode_bound(0), 0);
	CHECK_EQ_SIZE(mc_b64_decode_bound(4), 6);
	CHECK_EQ_SIZE(mc_b64_decode_bound(8), 9);
	/* The bound is reached: 3 sextets carried in, then "x" + "jP=". */
	struct mc_b64_decoder st;
	unsigned char dec[16];
	size_t w;
	mc_b64_decoder_init(&st, MC_B64_FORGIVING, 0);
	CHECK_EQ_INT(mc_b64_decode_update(&st, "I3y", 3, dec, &w), MC_OK);
	CHECK_EQ_INT(mc_b64_decode_update(&st, "xH10QjP=", 8, dec, &w), MC_OK);
	CHECK_EQ_SIZE(w, 7);
	CHECK(w <= mc_b64_decode_bound(8));
	free(out);
}

/* Every length 0..300, several wraps and flags, every kernel, against the
 * reference; then decoded back in every mode. */
static void test_lengths(int isa)
{
	static const unsigned wraps[] = {0, 76, 64, 1, 4, 5, 77, 68, 72};
	char *ref = mc_t_xmalloc(2000);

	for (size_t n = 0; n <= 300; n++) {
		unsigned char *in = mc_t_xmalloc(n); /* exactly n: over-reads trap */

		mc_t_fill(in, n);
		for (size_t wi = 0; wi < sizeof wraps / sizeof wraps[0]; wi++)
			for (unsigned f = 0; f < 8; f++) {
				size_t rl = ref_encode(in, n, ref, wraps[wi], f), l;
				char *got = enc_isa(isa, in, n, wraps[wi], f, 0, &l);

				CHECK_EQ_MEM(got, l, ref, rl);
				if (isa == mc_isa_active()) {
					/* One-shot into an exactly sized buffer. */
					char *ex = mc_t_xmalloc(rl);
					size_t el = mc_b64_encode(in, n, ex, wraps[wi], f);
					CHECK_EQ_MEM(ex, el, ref, rl);
					free(ex);
				}
				MC_TEST_CTX("%s n=%zu wrap=%u flags=%u\n", mc_isa_name(isa), n,
				            wraps[wi], f);
				for (int mode = 0; mode <= 2; mode++) {
					unsigned df = f & MC_B64_URL;
					if (mode == MC_B64_STRICT)
						df |= f & MC_B64_NOPAD;
					struct dec_result r = dec_isa(isa, got, l, mode, df, 0);
					CHECK_EQ_INT(r.status, MC_OK);
					CHECK_EQ_MEM(r.out, r.len, in, n);
					free(r.out);
				}
				free(got);
			}
		free(in);
	}
	free(ref);
}

/* Every split point of small inputs into two updates, and 1-byte chunks. */
static void test_splits(int isa)
{
	unsigned char in[70];
	char ref[200];

	for (size_t n = 0; n <= 70; n++) {
		mc_t_fill(in, n);
		for (unsigned f = 0; f < 8; f += 4) {
			size_t rl = ref_encode(in, n, ref, 7, f), l;
			for (size_t cut = 0; cut <= n; cut++) {
				struct mc_b64_encoder st;
				char out[200];
				size_t o;

				if (mc_b64_encoder_init_isa(&st, 7, f, isa) != MC_OK)
					continue;
				o = mc_b64_encode_update(&st, in, cut, out);
				o += mc_b64_encode_update(&st, in + cut, n - cut, out + o);
				o += mc_b64_encode_final(&st, out + o);
				CHECK_EQ_MEM(out, o, ref, rl);
			}
			char *one = enc_isa(isa, in, n, 7, f, 1, &l);
			CHECK_EQ_MEM(one, l, ref, rl);
			free(one);
			/* Decode the wrapped (CRLF at 7: splits inside quanta and CRLFs). */
			for (size_t cut = 0; cut <= rl; cut++) {
				struct mc_b64_decoder st;
				unsigned char out[100];
				size_t w1, w2, w3;

				if (mc_b64_decoder_init_isa(&st, MC_B64_STRICT, 0, isa) != MC_OK)
					continue;
				CHECK_EQ_INT(mc_b64_decode_update(&st, ref, cut, out, &w1), MC_OK);
				CHECK_EQ_INT(
				    mc_b64_decode_update(&st, ref + cut, rl - cut, out + w1, &w2),
				    MC_OK);
				CHECK_EQ_INT(mc_b64_decode_final(&st, out + w1 + w2, &w3), MC_OK);
				CHECK_EQ_MEM(out, w1 + w2 + w3, in, n);
			}
			for (int mode = 0; mode <= 2; mode++) {
				struct dec_result r = dec_isa(isa, ref, rl, mode, 0, 1);
				CHECK_EQ_INT(r.status, MC_OK);
				CHECK_EQ_MEM(r.out, r.len, in, n);
				free(r.out);
			}
		}
	}
}

/* All 256 byte values, and large random inputs in random chunk sizes. */
static void test_large(int isa)
{
	size_t n = (1u << 20) + 7;
	unsigned char *in = mc_t_xmalloc(n);
	unsigned char all[256];
	size_t l1, l2;

	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	char *a = enc_isa(isa, all, 256, 76, MC_B64_CRLF, 0, &l1);
	char *b = enc_isa(MC_ISA_SCALAR, all, 256, 76, MC_B64_CRLF, 0, &l2);
	CHECK_EQ_MEM(a, l1, b, l2);
	free(a);
	free(b);

	mc_t_fill(in, n);
	static const unsigned wraps[] = {0, 76, 64};
	for (size_t wi = 0; wi < 3; wi++) {
		char *ref = mc_t_xmalloc(mc_b64_encoded_size(n, wraps[wi], MC_B64_CRLF));
		size_t rl = ref_encode(in, n, ref, wraps[wi], MC_B64_CRLF), l;
		size_t chunk = wi == 0 ? 0 : 4093 + wi * 1000;
		char *got = enc_isa(isa, in, n, wraps[wi], MC_B64_CRLF, chunk, &l);

		CHECK_EQ_MEM(got, l, ref, rl);
		for (int mode = 0; mode <= 2; mode++) {
			struct dec_result r = dec_isa(isa, got, l, mode, 0, wi ? 65537 : 0);
			CHECK_EQ_INT(r.status, MC_OK);
			CHECK_EQ_MEM(r.out, r.len, in, n);
			free(r.out);
		}
		free(got);
		free(ref);
	}
	free(in);
}

/* Out of the caches (16 MiB and more in one call) the kernels change their
 * stores (encode: non-temporal) or their loop (AVX-512 decode runs the AVX2
 * kernel): one call of 17 MiB + 5 bytes each way, against the reference. */
static void test_huge(int isa)
{
	size_t n = (17u << 20) + 5, rl, l;
	unsigned char *in = mc_t_xmalloc(n);
	char *ref, *got;

	mc_t_fill(in, n);
	ref = mc_t_xmalloc(mc_b64_encoded_size(n, 0, 0));
	rl = ref_encode(in, n, ref, 0, 0);
	got = enc_isa(isa, in, n, 0, 0, 0, &l);
	CHECK_EQ_MEM(got, l, ref, rl);
	for (int mode = 0; mode <= 2; mode++) {
		struct dec_result r = dec_isa(isa, ref, rl, mode, 0, 0);

		CHECK_EQ_INT(r.status, MC_OK);
		CHECK_EQ_MEM(r.out, r.len, in, n);
		free(r.out);
	}
	/* A bad byte deep inside: decoded bytes before it kept, its offset. */
	ref[rl - 1000] = '!';
	{
		struct dec_result r = dec_isa(isa, ref, rl, MC_B64_STRICT, 0, 0);

		CHECK_EQ_INT(r.status, MC_EBADCHAR);
		CHECK_EQ_INT(r.err, rl - 1000);
		CHECK_EQ_MEM(r.out, r.len, in, (rl - 1000) / 4 * 3);
		free(r.out);
	}
	free(got);
	free(ref);
	free(in);
}

/* Chunked encode where every update gets a buffer of exactly the size of its
 * own output (learnt from the scalar reference with the same chunking), so a
 * kernel that writes past its output, even bytes it would overwrite in a
 * later call, traps under ASan. The widths 64..76 take the AVX-512 line path
 * (a 16-byte store per line that runs past the line); 100 the generic one. */
static void test_update_exact(int isa)
{
	static const unsigned wraps[] = {64, 68, 72, 76, 100};
	static const unsigned flags[] = {0, MC_B64_CRLF, MC_B64_URL | MC_B64_CRLF, MC_B64_NOPAD};
	static const size_t chunks[] = {1, 2, 3, 7, 56, 57, 58, 64, 65, 121, 200, 1000, 2999};
	enum { N = 3000 };
	unsigned char *in = mc_t_xmalloc(N);

	mc_t_fill(in, N);
	for (size_t wi = 0; wi < sizeof wraps / sizeof wraps[0]; wi++)
		for (size_t fi = 0; fi < sizeof flags / sizeof flags[0]; fi++)
			for (size_t ci = 0; ci < sizeof chunks / sizeof chunks[0]; ci++) {
				struct mc_b64_encoder rs, ks;
				size_t bound =
				    mc_b64_encode_bound(chunks[ci], wraps[wi], flags[fi]);
				char *ref = mc_t_xmalloc(bound + MC_B64_FINAL_MAX);

				CHECK_EQ_INT(mc_b64_encoder_init_isa(&rs, wraps[wi], flags[fi],
				                                     MC_ISA_SCALAR),
				             MC_OK);
				CHECK_EQ_INT(
				    mc_b64_encoder_init_isa(&ks, wraps[wi], flags[fi], isa), MC_OK);
				for (size_t i = 0; i < N; i += chunks[ci]) {
					size_t c = N - i < chunks[ci] ? N - i : chunks[ci];
					size_t rl = mc_b64_encode_update(&rs, in + i, c, ref);
					char *got = mc_t_xmalloc(rl + 1);
					size_t gl;

					got[rl] = '#'; /* canary, for rl = 0 */
					gl = mc_b64_encode_update(&ks, in + i, c, got);
					CHECK_EQ_MEM(got, gl, ref, rl);
					CHECK(got[rl] == '#');
					free(got);
				}
				size_t kf = mc_b64_encode_final(&ks, ref + bound),
				       rf = mc_b64_encode_final(&rs, ref);
				CHECK_EQ_MEM(ref + bound, kf, ref, rf);
				MC_TEST_CTX("%s wrap=%u flags=%u chunk=%zu\n", mc_isa_name(isa),
				            wraps[wi], flags[fi], chunks[ci]);
				free(ref);
			}
	free(in);
}

/* MC_B64_NOCACHE switches the SIMD encoders to non-temporal stores at any
 * size (they start on their own at 4-16 MiB): the output must not change, for
 * every layout (the AVX-512 MIME tables, the generic wrap, no wrap), both
 * alphabets, sizes around the streaming loop's minimum, and chunked calls,
 * which leave dst at every alignment. */
static void test_nocache(int isa)
{
	static const struct {
		unsigned wrap, flags;
	} lay[] = {{0, 0},  {0, MC_B64_URL}, {76, MC_B64_CRLF},  {76, 0},
	           {64, 0}, {5, 0},          {100, MC_B64_CRLF}, {76, MC_B64_URL | MC_B64_CRLF}};
	static const size_t sizes[] = {0,   1,   47,  63,   64,    111,           112,
	                               113, 200, 300, 4093, 65537, (1u << 20) + 7};
	static const size_t chunks[] = {0, 1000, 4093};
	size_t nmax = (1u << 20) + 7;
	unsigned char *in = mc_t_xmalloc(nmax);

	mc_t_fill(in, nmax);
	for (size_t li = 0; li < sizeof lay / sizeof lay[0]; li++)
		for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
			for (size_t ci = 0; ci < sizeof chunks / sizeof chunks[0]; ci++) {
				size_t n = sizes[si], rl, l;
				char *ref, *got;

				if (chunks[ci] && chunks[ci] >= n)
					continue;
				ref = mc_t_xmalloc(
				    mc_b64_encoded_size(n, lay[li].wrap, lay[li].flags) + 1);
				rl = ref_encode(in, n, ref, lay[li].wrap, lay[li].flags);
				got = enc_isa(isa, in, n, lay[li].wrap,
				              lay[li].flags | MC_B64_NOCACHE, chunks[ci], &l);
				CHECK_EQ_MEM(got, l, ref, rl);
				free(got);
				free(ref);
			}
	free(in);
}

/* Error classes with their offsets (table), on every kernel. Each input is
 * embedded after a long valid prefix too, so SIMD kernels meet the bad byte
 * deep inside a block; the offset moves by the prefix length. */
static void test_errors(int isa)
{
	static const struct {
		const char *in;
		int mode;
		unsigned flags;
		int status;
		size_t off;
	} t[] = {
	    {"Zm9v!mFy", MC_B64_MIME, 0, MC_EBADCHAR, 4},
	    {"Zm9v!mFy", MC_B64_STRICT, 0, MC_EBADCHAR, 4},
	    {"Zm9v!mFy", MC_B64_FORGIVING, 0, MC_OK, 0},
	    {"Zm9vYmF\x80", MC_B64_MIME, 0, MC_EBADCHAR, 7},
	    {"Zm9vYg", MC_B64_STRICT, 0, MC_EBADPAD, 6}, /* missing padding */
	    {"Zm9vYg", MC_B64_STRICT, MC_B64_NOPAD, MC_OK, 0},
	    {"Zm9vYg", MC_B64_MIME, 0, MC_OK, 0},
	    {"Zm9vYg=", MC_B64_STRICT, 0, MC_EBADPAD, 7}, /* half the padding */
	    {"Zm9vYg==", MC_B64_STRICT, MC_B64_NOPAD, MC_EBADPAD, 6},
	    {"Zm9vY===", MC_B64_STRICT, 0, MC_EBADPAD, 5}, /* '=' after 1 char */
	    {"Zm9vY===", MC_B64_MIME, 0, MC_EBADPAD, 5},
	    {"Zm9vY===", MC_B64_FORGIVING, 0, MC_OK, 0},
	    {"Zm9vYh==", MC_B64_STRICT, 0, MC_ETRAILBITS, 5}, /* non-zero trailing bits */
	    {"Zm9vYh==", MC_B64_MIME, 0, MC_OK, 0},
	    {"Zm9vYmE=", MC_B64_STRICT, 0, MC_OK, 0},
	    {"Zm9vYmF=", MC_B64_STRICT, 0, MC_ETRAILBITS, 6},
	    {"Zm9vYmG=", MC_B64_STRICT, 0, MC_ETRAILBITS, 6},
	    {"Zm9vYmG", MC_B64_STRICT, MC_B64_NOPAD, MC_ETRAILBITS, 6},
	    {"Zm9vYg==Zm9v", MC_B64_STRICT, 0, MC_EBADPAD, 8}, /* data after padding */
	    {"Zm9vYg==Zm9v", MC_B64_MIME, 0, MC_OK, 0},        /* concatenation */
	    {"Zm9vYg===", MC_B64_STRICT, 0, MC_EBADPAD, 8},
	    {"Zm9vYg=\r\n=", MC_B64_STRICT, 0, MC_OK, 0}, /* whitespace in padding */
	    {"Zm9vY", MC_B64_STRICT, 0, MC_ETRUNC, 5},
	    {"Zm9vY", MC_B64_MIME, 0, MC_ETRUNC, 5},
	    {"Zm9vY", MC_B64_FORGIVING, 0, MC_OK, 0},
	    {"=Zm9v", MC_B64_STRICT, 0, MC_EBADPAD, 0},
	    {"Zm9v\x01", MC_B64_FORGIVING, 0, MC_OK, 0},
	    {"Zm 9v\tYm\rFy\n", MC_B64_STRICT, 0, MC_OK, 0},
	    {"Zm9v-_", MC_B64_MIME, 0, MC_EBADCHAR, 4}, /* URL chars, standard alphabet */
	    {"Zm9v+/", MC_B64_MIME, MC_B64_URL, MC_EBADCHAR, 4},
	};
	size_t plen = 400;
	char *buf = mc_t_xmalloc(plen + 32);

	for (size_t p = 0; p < plen; p++) /* "QUJD" repeated, CRLF every 76 */
		buf[p] = (p % 78 == 76) ? '\r' : (p % 78 == 77) ? '\n' : "QUJD"[(p % 78) % 4];
	/* 400 = 5*78 + 10: ends after 10 chars of a line; pad to a quantum. */
	plen = 5 * 78 + 8;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		for (int pre = 0; pre < 2; pre++) {
			size_t n = strlen(t[i].in), base = pre ? plen : 0;
			char *in = mc_t_xmalloc(base + n);

			memcpy(in, buf, base);
			memcpy(in + base, t[i].in, n);
			struct dec_result r = dec_isa(isa, in, base + n, t[i].mode, t[i].flags, 0);
			CHECK_EQ_INT(r.status, t[i].status);
			if (t[i].status)
				CHECK_EQ_SIZE(r.err, base + t[i].off);
			MC_TEST_CTX("%s case %zu (%s) prefix %zu\n", mc_isa_name(isa), i, t[i].in,
			            base);
			/* Same result whatever the chunking. */
			struct dec_result r1 = dec_isa(isa, in, base + n, t[i].mode, t[i].flags, 1);
			check_same(&r, &r1);
			free(r.out);
			free(r1.out);
			free(in);
		}
	}
	/* The bytes before a bad byte are decoded and kept. */
	struct dec_result r = dec_isa(isa, "Zm9vYmFy!Zm9v", 13, MC_B64_MIME, 0, 0);
	CHECK_EQ_MEM(r.out, r.len, "foobar", 6);
	free(r.out);
	/* Errors are sticky. */
	struct mc_b64_decoder st;
	unsigned char out[16];
	size_t w;
	if (mc_b64_decoder_init_isa(&st, MC_B64_MIME, 0, isa) == MC_OK) {
		CHECK_EQ_INT(mc_b64_decode_update(&st, "Zg!", 3, out, &w), MC_EBADCHAR);
		CHECK_EQ_INT(mc_b64_decode_update(&st, "Zm9v", 4, out, &w), MC_EBADCHAR);
		CHECK_EQ_SIZE(w, 0);
		CHECK_EQ_INT(mc_b64_decode_final(&st, out, &w), MC_EBADCHAR);
		CHECK_EQ_SIZE(mc_b64_decoder_error_offset(&st), 2);
	}
	free(buf);
}

/* Random mutations of valid MIME base64 (whitespace, garbage, '=' anywhere):
 * every kernel must agree with the scalar state machine on status, offset
 * and output, in every mode and chunking. */
static void test_mutations(int isa)
{
	static const char junk[] = " \r\n\t=!*\x00\x80-_+/.A";
	unsigned char in[700];

	for (int iter = 0; iter < 400; iter++) {
		size_t n = mc_t_rand() % sizeof in, l;
		mc_t_fill(in, n);
		char *enc = enc_isa(MC_ISA_SCALAR, in, n, 76, MC_B64_CRLF, 0, &l);
		char *mut = mc_t_xmalloc(l + 16);
		size_t m = 0, nmut = mc_t_rand() % 4;

		for (size_t i = 0; i < l; i++) {
			if (nmut && mc_t_rand() % (l + 1) < 3) {
				mut[m++] = junk[mc_t_rand() % (sizeof junk - 1)];
				nmut--;
			}
			mut[m++] = enc[i];
		}
		for (int mode = 0; mode <= 2; mode++) {
			unsigned flags = (iter & 1) ? MC_B64_URL : 0;
			size_t chunk = iter % 3 == 0 ? 0 : 1 + mc_t_rand() % 100;
			struct dec_result a = dec_isa(isa, mut, m, mode, flags, chunk);
			struct dec_result b = dec_isa(MC_ISA_SCALAR, mut, m, mode, flags, 0);

			check_same(&a, &b);
			MC_TEST_CTX("%s iter %d mode %d\n", mc_isa_name(isa), iter, mode);
			free(a.out);
			free(b.out);
		}
		free(enc);
		free(mut);
	}
}

/* Runs of whitespace of every length up to 100 between and inside quanta,
 * at every alignment: a SIMD block that is all whitespace must be skipped
 * (the fuzzer found an AVX2 ctz(0) here). */
static void test_whitespace_runs(int isa)
{
	static const char ws[] = "\r\n \t";
	char *in = mc_t_xmalloc(400);

	for (size_t lead = 0; lead < 40; lead += 3)
		for (size_t run = 1; run <= 100; run += (run < 40 ? 1 : 7))
			for (size_t cut = 0; cut <= 4; cut += 2) {
				size_t n = 0;

				for (size_t i = 0; i < lead; i++)
					in[n++] = "QUJD"[i % 4];
				for (size_t i = 0; i < cut; i++)
					in[n++] = "RUZH"[i];
				for (size_t i = 0; i < run; i++)
					in[n++] = ws[(i * 7 + lead) % 4];
				for (size_t i = cut; i < 4 + 64; i++)
					in[n++] = "RUZH"[i % 4];
				struct dec_result a = dec_isa(isa, in, n, MC_B64_STRICT, 0, 0);
				struct dec_result b =
				    dec_isa(MC_ISA_SCALAR, in, n, MC_B64_STRICT, 0, 1);
				if (lead % 4 == 0)
					CHECK_EQ_INT(a.status, MC_OK);
				check_same(&a, &b);
				MC_TEST_CTX("%s lead %zu run %zu cut %zu\n", mc_isa_name(isa), lead,
				            run, cut);
				free(a.out);
				free(b.out);
			}
	free(in);
}

/* The SIMD kernels must take the bulk themselves, also for MIME-formatted
 * data (wrapped encode, decode across CRLFs), rather than leave it to the
 * scalar code: a kernel that consumed nothing would pass every test above. */
static void test_kernels_take_the_bulk(int isa)
{
	const struct mc_b64_kernels *k = mc__b64_kernels_for(isa);
	size_t n = 3 * 4096, w, l, used;
	size_t cap = mc_b64_encoded_size(n, 76, MC_B64_CRLF);
	/* Kernel room per b64_internal.h: ((len + 3) / 4) * 3 for len = cap. */
	unsigned char *in = mc_t_xmalloc(n), *out = mc_t_xmalloc((cap + 3) / 4 * 3);
	char *enc = mc_t_xmalloc(cap);

	if (!k || isa == MC_ISA_SCALAR)
		goto out;
	mc_t_fill(in, n);
	used = k->enc(in, n, enc, 0);
	CHECK(used >= n - 256);
	CHECK(k->enc_wrap != NULL);
	if (k->enc_wrap) {
		unsigned col = 0;
		used = k->enc_wrap(in, n, enc, &w, 76, &col, 1, 0);
		CHECK(used >= n - 512);
	}
	l = mc_b64_encode(in, n, enc, 0, 0);
	used = k->dec(enc, l, out, &w, 0);
	CHECK(used >= l - 256);
	CHECK_EQ_MEM(out, w, in, used / 4 * 3);
	l = mc_b64_encode(in, n, enc, 76, MC_B64_CRLF);
	used = k->dec(enc, l, out, &w, 0);
	CHECK(used >= l - 512);
	MC_TEST_CTX("%s kernel bulk\n", mc_isa_name(isa));
out:
	free(in);
	free(out);
	free(enc);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--expect-isa") == 0) {
		int want = mc_isa_from_name(argv[2]);
		CHECK(want >= 0);
		if (mc_isa_supported(want))
			CHECK_EQ_STR(mc_isa_name(mc_isa_active()), argv[2]);
		else
			printf("%s not supported here: active is %s\n", argv[2],
			       mc_isa_name(mc_isa_active()));
	}
	for (int isa = 0; isa < MC_ISA_COUNT_; isa++)
		if (mc_isa_supported(isa))
			kernels[nkernels++] = isa;
	printf("kernels:");
	for (int i = 0; i < nkernels; i++)
		printf(" %s", mc_isa_name(kernels[i]));
	printf(" (active: %s)\n", mc_isa_name(mc_isa_active()));

	test_rfc4648_vectors();
	test_sizes();
	for (int i = 0; i < nkernels; i++) {
		test_lengths(kernels[i]);
		test_splits(kernels[i]);
		test_large(kernels[i]);
		test_huge(kernels[i]);
		test_nocache(kernels[i]);
		test_update_exact(kernels[i]);
		test_errors(kernels[i]);
		test_mutations(kernels[i]);
		test_whitespace_runs(kernels[i]);
		test_kernels_take_the_bulk(kernels[i]);
	}
	CHECK_EQ_STR(mc_strerror(MC_EBADPAD), "misplaced or missing padding");
	CHECK_EQ_STR(mc_status_name(MC_ETRAILBITS), "MC_ETRAILBITS");
	CHECK_EQ_STR(mc_strerror(12345), "unknown status");
	MC_TEST_END();
}
