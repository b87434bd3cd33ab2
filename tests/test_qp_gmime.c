/* test_qp_gmime.c: quoted-printable interop with GMime 3 (built only when
 * pkg-config finds gmime-3.0). GMime decodes our encodings exactly (text in
 * LF and CRLF form, binary, real UTF-8 text from tests/data/text, all 256
 * byte values, random data), and we decode GMime's encodings exactly, strict
 * and lenient, on every kernel and in small chunks (GMime's encoder turns an
 * input CRLF into a hard break, so those come back as LF). */
#include <gmime/gmime.h>

#include "test.h"
#include "mimecodec/qp.h"
#include "mimecodec/isa.h"

static unsigned char *gmime_decode(const char *in, size_t n, size_t *outlen)
{
	unsigned char *out = mc_t_xmalloc(n + 4);
	int state = 0;
	guint32 save = 0;

	*outlen =
	    g_mime_encoding_quoted_decode_step((const unsigned char *)in, n, out, &state, &save);
	return out;
}

static char *gmime_encode(const unsigned char *in, size_t n, size_t *outlen)
{
	unsigned char *out = mc_t_xmalloc(GMIME_QP_ENCODE_LEN(n) + 8);
	int state = -1;
	guint32 save = 0;

	*outlen = g_mime_encoding_quoted_encode_close(in, n, out, &state, &save);
	return (char *)out;
}

static char *our_encode(const unsigned char *in, size_t n, unsigned flags, size_t *outlen)
{
	char *out = mc_t_xmalloc(mc_qp_encode_bound(n, flags));

	*outlen = mc_qp_encode(in, n, out, flags);
	return out;
}

/* Decodes with one kernel in chunks of `chunk` bytes. */
static unsigned char *our_decode(int isa, const char *in, size_t n, unsigned flags, size_t chunk,
                                 size_t *outlen, int *status)
{
	unsigned char *out = mc_t_xmalloc(mc_qp_decode_bound(n, flags) + MC_QP_DECODE_FINAL_MAX);
	struct mc_qp_decoder st;
	size_t o = 0, w;
	mc_status s = MC_OK;

	*status = mc_qp_decoder_init_isa(&st, flags, isa);
	if (*status)
		return out;
	for (size_t i = 0; i < n && s == MC_OK; i += chunk) {
		size_t c = n - i < chunk ? n - i : chunk;
		s = mc_qp_decode_update(&st, in + i, c, out + o, &w);
		o += w;
	}
	if (s == MC_OK) {
		s = mc_qp_decode_final(&st, out + o, &w);
		o += w;
	}
	*status = s;
	*outlen = o;
	return out;
}

/* The data as a text-mode decode gives it back: CRLF -> LF, or every line
 * break as CRLF. */
static unsigned char *breaks(const unsigned char *in, size_t n, int crlf, size_t *outlen)
{
	unsigned char *out = mc_t_xmalloc(2 * n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
			continue;
		if (in[i] == '\n' && crlf)
			out[o++] = '\r';
		out[o++] = in[i];
	}
	*outlen = o;
	return out;
}

static void check_data(const char *what, const unsigned char *data, size_t n, int binary)
{
	size_t el, gl, ol;

	/* Ours -> GMime. */
	for (unsigned f = 0; f < 16; f++) {
		unsigned flags = f | (binary ? MC_QP_BINARY : 0);
		char *enc = our_encode(data, n, flags, &el);
		unsigned char *dec = gmime_decode(enc, el, &gl);

		if (flags & MC_QP_BINARY) {
			CHECK_EQ_MEM(dec, gl, data, n);
		} else {
			unsigned char *want = breaks(data, n, (flags & MC_QP_CRLF) != 0, &ol);
			CHECK_EQ_MEM(dec, gl, want, ol);
			free(want);
		}
		MC_TEST_CTX("GMime decodes ours: %s flags %u\n", what, flags);
		free(enc);
		free(dec);
	}
	/* GMime -> ours, every kernel, strict and lenient, chunked. */
	char *genc = gmime_encode(data, n, &el);
	/* GMime's encoder writes an input CRLF as a (LF) hard break. */
	size_t wl;
	unsigned char *want = breaks(data, n, 0, &wl);
	for (int isa = 0; isa < MC_ISA_COUNT_; isa++) {
		static const size_t chunks[] = {1, 7, 1 << 20};
		if (!mc_isa_supported(isa))
			continue;
		for (size_t c = 0; c < 3; c++) {
			for (unsigned strict = 0; strict < 2; strict++) {
				int s;
				unsigned char *dec = our_decode(
				    isa, genc, el, strict ? MC_QP_STRICT : 0, chunks[c], &ol, &s);
				/* Strict mode rejects nothing GMime writes. */
				CHECK_EQ_INT(s, MC_OK);
				CHECK_EQ_MEM(dec, ol, want, wl);
				free(dec);
			}
			if (n > 100000)
				break;
		}
		MC_TEST_CTX("ours decode GMime: %s isa %s\n", what, mc_isa_name(isa));
	}
	free(genc);
	free(want);
}

int main(void)
{
	static const char *const names[] = {"en", "de", "fr", "el",   "ru",
	                                    "ja", "zh", "ar", "emoji"};
	char path[4200];
	const char *slash = strrchr(__FILE__, '/');
	unsigned char all[512];

	g_mime_init();
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		unsigned char buf[8192];
		size_t n;
		FILE *f;

		snprintf(path, sizeof path, "%.*s/data/text/%s.txt",
		         slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".", names[i]);
		f = fopen(path, "rb");
		if (!CHECK(f != NULL))
			continue;
		n = fread(buf, 1, sizeof buf, f);
		fclose(f);
		check_data(names[i], buf, n, 0);
		check_data(names[i], buf, n, 1);
	}
	for (int i = 0; i < 256; i++)
		all[i] = all[511 - i] = (unsigned char)i;
	check_data("all bytes", all, sizeof all, 1);
	check_data("all bytes (text)", all, sizeof all, 0);
	static const char *const specials[] = {
	    "trailing \nspace\t\n",
	    "= signs == =\n",
	    "From x\n.\n",
	    "a \r\nb\r\n",
	    "0123456789012345678901234567890123456789012345678901234567890123456789012345 67",
	    "                                                                             x",
	};
	for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
		check_data(specials[i], (const unsigned char *)specials[i], strlen(specials[i]), 0);

	size_t n = 3u << 20;
	unsigned char *rnd = mc_t_xmalloc(n);
	mc_t_fill(rnd, n);
	check_data("random", rnd, n, 1);
	for (size_t i = 0; i < n; i++) /* mostly ASCII text with 8-bit bytes */
		if (rnd[i] & 0x80 && rnd[i] & 0x60)
			rnd[i] = (unsigned char)"abcdefgh \n"[rnd[i] % 10];
	check_data("texty", rnd, n, 0);
	free(rnd);
	g_mime_shutdown();
	MC_TEST_END();
}
