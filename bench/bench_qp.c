/* bench_qp.c: quoted-printable encode and decode on every kernel set, beside
 * GMime 3's QP step functions, on two inputs of the same sizes:
 *   text    English-like prose with about 2% non-ASCII UTF-8 bytes, LF lines of
 *           40-110 characters (some need soft breaks), text mode;
 *   binary  the shared random payload, binary mode (CR and LF escaped).
 * GB/s count the input of each call: the raw bytes for encode, the encoded text
 * for decode (issue 3's figures are of input). Every run's output is checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_bench.h"
#include "mimecodec/isa.h"
#include "mimecodec/qp.h"

#if MC_BENCH_HAVE_GMIME
#include <gmime/gmime-encodings.h>
#endif

enum { IN_TEXT, IN_BINARY };
static const int64_t qp_sizes[] = {4096, 65536, 1 << 20};
#define QP_MAX ((size_t)1 << 20)

#define USER(op, in, isa) ((intptr_t)(((op)*4 + (in)) * 16 + (isa)))
#define USER_OP(u)        ((int)((u) / 64))
#define USER_IN(u)        ((int)((u) / 16 % 4))
#define USER_ISA(u)       ((int)((u) % 16))

/* Deterministic prose: words from a small list, ~2% of bytes non-ASCII. */
static const unsigned char *text_input(void)
{
	static unsigned char *t;
	static const char *const words[] = {
	    "the",   "mail",     "server", "message", "attachment", "of",   "and",  "to",
	    "with",  "encoding", "line",   "header",  "body",       "a",    "is",   "for",
	    "which", "quoted",   "print",  "able",    "data",       "from", "that", "will"};
	static const char *const accents[] = {"\xc3\xa9", "\xc3\xbc", "\xe2\x80\x94", "\xc3\xb1"};
	uint64_t x = 0x9e3779b97f4a7c15ull;
	size_t n = 0, col = 0, limit = 60;

	if (t)
		return t;
	t = malloc(QP_MAX);
	if (!t)
		return NULL;
	while (n < QP_MAX) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		const char *w = x % 97 < 9 ? accents[x % 4] : words[(x >> 8) % 24];
		size_t wl = strlen(w);

		if (n + wl + 1 > QP_MAX)
			break;
		memcpy(t + n, w, wl);
		n += wl;
		col += wl;
		if (col > limit) {
			t[n++] = '\n';
			col = 0;
			limit = 40 + (x >> 20) % 70;
		} else {
			t[n++] = ' ';
			col++;
		}
	}
	memset(t + n, '\n', QP_MAX - n);
	return t;
}

static const unsigned char *input(int in)
{
	return in == IN_TEXT ? text_input() : mc_bench_random();
}

static unsigned flags_of(int in)
{
	return in == IN_TEXT ? 0 : MC_QP_BINARY;
}

/* The scalar encoding of the first n bytes of an input, cached. */
static const char *encoded(int in, size_t n, size_t *len)
{
	static char *cache[2][3];
	static size_t clen[2][3];
	int k = n == 4096 ? 0 : n == 65536 ? 1 : 2;
	struct mc_qp_encoder e;

	if (!cache[in][k]) {
		const unsigned char *src = input(in);
		char *dst = src ? malloc(mc_qp_encode_bound(n, flags_of(in))) : NULL;

		if (!dst || mc_qp_encoder_init_isa(&e, flags_of(in), MC_ISA_SCALAR) != MC_OK) {
			free(dst);
			return NULL;
		}
		clen[in][k] = mc_qp_encode_update(&e, src, n, dst);
		clen[in][k] += mc_qp_encode_final(&e, dst + clen[in][k]);
		cache[in][k] = dst;
	}
	*len = clen[in][k];
	return cache[in][k];
}

static void bench_encode(mc_bench_state *s)
{
	size_t n = (size_t)mc_bench_arg(s, 0), ref_len = 0, out = 0;
	intptr_t u = mc_bench_user(s);
	int in = USER_IN(u);
	const unsigned char *src = input(in);
	const char *ref = encoded(in, n, &ref_len);
	char *dst = mc_bench_scratch(mc_qp_encode_bound(n, flags_of(in)));
	struct mc_qp_encoder e0;

	if (!src || !ref || !dst) {
		mc_bench_skip(s, "out of memory");
		return;
	}
	if (mc_qp_encoder_init_isa(&e0, flags_of(in), USER_ISA(u)) != MC_OK) {
		mc_bench_skip(s, "kernel set not supported");
		return;
	}
	while (mc_bench_next(s)) {
		struct mc_qp_encoder e = e0;

		out = mc_qp_encode_update(&e, src, n, dst);
		out += mc_qp_encode_final(&e, dst + out);
		mc_bench_keep(dst);
	}
	if (out != ref_len || memcmp(dst, ref, ref_len) != 0) {
		mc_bench_skip(s, "output differs from the scalar reference encoding");
		return;
	}
	mc_bench_set_bytes(s, (int64_t)n);
}

static void bench_decode(mc_bench_state *s)
{
	size_t n = (size_t)mc_bench_arg(s, 0), len = 0, out = 0;
	intptr_t u = mc_bench_user(s);
	int in = USER_IN(u);
	const unsigned char *raw = input(in);
	const char *src = encoded(in, n, &len);
	unsigned char *dst = mc_bench_scratch(mc_qp_decode_bound(len, 0) + MC_QP_DECODE_FINAL_MAX);
	struct mc_qp_decoder d0;
	mc_status r = MC_OK;

	if (!raw || !src || !dst) {
		mc_bench_skip(s, "out of memory");
		return;
	}
	if (mc_qp_decoder_init_isa(&d0, 0, USER_ISA(u)) != MC_OK) {
		mc_bench_skip(s, "kernel set not supported");
		return;
	}
	while (mc_bench_next(s)) {
		struct mc_qp_decoder d = d0;
		size_t w1 = 0, w2 = 0;

		r = mc_qp_decode_update(&d, src, len, dst, &w1);
		if (r == MC_OK)
			r = mc_qp_decode_final(&d, dst + w1, &w2);
		out = w1 + w2;
		mc_bench_keep(dst);
	}
	if (r != MC_OK || out != n || memcmp(dst, raw, n) != 0) {
		mc_bench_skip(s, "decoded output differs from the input");
		return;
	}
	mc_bench_set_bytes(s, (int64_t)len);
}

#if MC_BENCH_HAVE_GMIME
/* GMime's encoder writes its own line layout (and CRLF-less text), so its
 * output is checked by decoding it back with GMime, not against ours. */
static void bench_gmime_encode(mc_bench_state *s)
{
	size_t n = (size_t)mc_bench_arg(s, 0), out = 0;
	int in = USER_IN(mc_bench_user(s));
	const unsigned char *src = input(in);
	unsigned char *dst = mc_bench_scratch(GMIME_QP_ENCODE_LEN(n) + 64);
	unsigned char *back = malloc(n + 64);

	if (!src || !dst || !back) {
		free(back);
		mc_bench_skip(s, "out of memory");
		return;
	}
	while (mc_bench_next(s)) {
		int state = -1;
		guint32 save = 0;

		out = g_mime_encoding_quoted_encode_close(src, n, dst, &state, &save);
		mc_bench_keep(dst);
	}
	int state = 0;
	guint32 save = 0;
	size_t bl = g_mime_encoding_quoted_decode_step(dst, out, back, &state, &save);
	if (in == IN_TEXT && (bl != n || memcmp(back, src, n) != 0))
		mc_bench_skip(s, "GMime's encoding does not decode back");
	else
		mc_bench_set_bytes(s, (int64_t)n);
	free(back);
}

static void bench_gmime_decode(mc_bench_state *s)
{
	size_t n = (size_t)mc_bench_arg(s, 0), len = 0, out = 0;
	int in = USER_IN(mc_bench_user(s));
	const unsigned char *raw = input(in);
	const char *src = encoded(in, n, &len);
	unsigned char *dst = mc_bench_scratch(len + 64);

	if (!raw || !src || !dst) {
		mc_bench_skip(s, "out of memory");
		return;
	}
	while (mc_bench_next(s)) {
		int state = 0;
		guint32 save = 0;

		out = g_mime_encoding_quoted_decode_step((const unsigned char *)src, len, dst,
		                                         &state, &save);
		mc_bench_keep(dst);
	}
	if (out != n || memcmp(dst, raw, n) != 0)
		mc_bench_skip(s, "GMime decoded something else");
	else
		mc_bench_set_bytes(s, (int64_t)len);
}
#endif

static void register_qp(void)
{
	static const char *const in_names[] = {"text", "binary"};
	char name[64];

	for (int in = IN_TEXT; in <= IN_BINARY; in++) {
		for (int isa = MC_ISA_SCALAR; isa <= MC_ISA_AVX512; isa++) {
			if (!mc_isa_supported(isa))
				continue;
			snprintf(name, sizeof name, "qp_encode/%s/%s", in_names[in],
			         mc_isa_name(isa));
			mc_bench_register_sizes(name, bench_encode, USER(0, in, isa), qp_sizes, 3);
			snprintf(name, sizeof name, "qp_decode/%s/%s", in_names[in],
			         mc_isa_name(isa));
			mc_bench_register_sizes(name, bench_decode, USER(1, in, isa), qp_sizes, 3);
		}
#if MC_BENCH_HAVE_GMIME
		snprintf(name, sizeof name, "peer_gmime_qp/encode/%s", in_names[in]);
		mc_bench_register_sizes(name, bench_gmime_encode, USER(0, in, 0), qp_sizes, 3);
		snprintf(name, sizeof name, "peer_gmime_qp/decode/%s", in_names[in]);
		mc_bench_register_sizes(name, bench_gmime_decode, USER(1, in, 0), qp_sizes, 3);
#endif
	}
}
MC_BENCH_REGISTRAR(register_qp)
