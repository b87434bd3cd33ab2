/* bench_peers.c: the yardsticks mimecodec is measured against, on the same
 * sizes and the same random payload as bench_b64.c, in the same binary.
 *
 *   memcpy/<size>                     copying the payload: the ceiling
 *   peer_openssl_block/{encode,decode} EVP_EncodeBlock / EVP_DecodeBlock:
 *                                     one unbroken line, like b64_encode and
 *                                     b64_decode (strict, no whitespace)
 *   peer_openssl_evp/{encode,decode}  EVP_EncodeUpdate / EVP_DecodeUpdate:
 *                                     OpenSSL's streaming PEM form, 64 columns
 *                                     + LF; decode reads our MIME input
 *   peer_gmime/{encode,decode}        g_mime_encoding_base64_encode_step /
 *                                     decode_step (+ encode_close): 76 columns
 *                                     + LF; decode reads our MIME input
 *   peer_libb64/{encode,decode}       base64_encode_block (+ blockend) /
 *                                     base64_decode_block; Debian's libb64
 *                                     breaks lines every 72 characters with LF
 *                                     (CHARS_PER_LINE in cencode.c, not
 *                                     settable); decode reads our MIME input
 *
 * The MIME input is 76 columns + CRLF (mc_bench_encoded(MC_BENCH_ENC_MIME)),
 * the same text b64_mime_decode reads. As in bench_b64.c, <size> is the
 * payload size and bytes processed count the input: payload bytes for
 * encode and memcpy, encoded bytes for decode. Output buffers are sized as
 * each package documents. Every run checks its output afterwards. */
#include <stdio.h>
#include <string.h>

#include "mc_bench.h"

#if MC_BENCH_HAVE_OPENSSL
#include <openssl/evp.h>
#endif
#if MC_BENCH_HAVE_GMIME
#include <gmime/gmime-encodings.h>
#endif
#if MC_BENCH_HAVE_LIBB64
#include <b64/cdecode.h>
#include <b64/cencode.h>
#endif

static int64_t batch_for(size_t n)
{
	return n < 4096 ? (int64_t)(4096 / n) : 1;
}

#if MC_BENCH_HAVE_OPENSSL || MC_BENCH_HAVE_GMIME || MC_BENCH_HAVE_LIBB64
/* 1 if text (with line breaks of any kind) is the plain reference once
 * CR and LF are dropped: checks a wrapped encoding without a second buffer. */
static int same_unwrapped(const char *text, size_t len, const char *ref, size_t ref_len)
{
	size_t j = 0;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\r' || text[i] == '\n')
			continue;
		if (j == ref_len || text[i] != ref[j])
			return 0;
		j++;
	}
	return j == ref_len;
}

/* Runs after the timed loop of an encoder: compares with the plain reference. */
static void check_encoded(mc_bench_state *s, size_t n, const char *out, size_t len)
{
	size_t ref_len = 0;
	const char *ref = mc_bench_encoded(MC_BENCH_ENC_PLAIN, n, &ref_len);
	if (!ref)
		mc_bench_skip(s, "out of memory");
	else if (!same_unwrapped(out, len, ref, ref_len))
		mc_bench_skip(s, "encoding differs from the reference");
	else
		mc_bench_set_bytes(s, (int64_t)n);
}

/* Runs after the timed loop of a decoder. */
static void check_decoded(mc_bench_state *s, size_t n, const void *out, size_t len, size_t in_len)
{
	if (len != n || memcmp(out, mc_bench_random(), n) != 0)
		mc_bench_skip(s, "decoded output differs from the payload");
	else
		mc_bench_set_bytes(s, (int64_t)in_len);
}
#endif

/* ---- memcpy -------------------------------------------------------------- */

static void bench_memcpy(mc_bench_state *s)
{
	size_t n = (size_t)mc_bench_arg(s, 0);
	const unsigned char *src = mc_bench_random();
	unsigned char *dst = mc_bench_scratch(n);
	if (!src || !dst) {
		mc_bench_skip(s, "out of memory");
		return;
	}
	int64_t batch = batch_for(n);
	while (mc_bench_next_batch(s, batch)) {
		for (int64_t i = 0; i < batch; i++) {
			memcpy(dst, src, n);
			mc_bench_keep(dst);
		}
	}
	if (memcmp(dst, src, n) != 0) {
		mc_bench_skip(s, "memcpy mismatch");
		return;
	}
	mc_bench_set_bytes(s, (int64_t)n);
}

/* ---- OpenSSL --------------------------------------------------------------- */
#if MC_BENCH_HAVE_OPENSSL

static void bench_openssl_block_encode(mc_bench_state *s)
{
	size_t n = (size_t)mc_bench_arg(s, 0);
	const unsigned char *src = mc_bench_random();
	/* 4 per 3 input bytes, padded, plus the NUL it writes */
	unsigned char *dst = mc_bench_scratch((n + 2) / 3 * 4 + 1);
	if (!src || !dst) {
		mc_bench_skip(s, "out of memory");
		return;
	}
	int64_t batch = batch_for(n);
	int out = 0;
	while (mc_bench_next_batch(s, batch)) {
		for (int64_t i = 0; i < batch; i++) {
			out = EVP_EncodeBlock(dst, src, (int)n);
			mc_bench_keep(dst);
		}
	}
	check_encoded(s, n, (const char *)dst, (size_t)out);
}

static void bench_openssl_block_decode(mc_bench_state *s)
{
	size_t n = (size_t)mc_bench_arg(s, 0);
	size_t len = 0;
	const char *src = mc_bench_encoded(MC_BENCH_ENC_PLAIN, n, &len);
	/* exactly 3 per 4 input characters, padding included */
	unsigned char *dst = mc_bench_scratch(len / 4 * 3);
	if (!src || !dst) {
		mc_bench_skip(s, "out of memory");
		return;
	}
	int64_t batch = batch_for(n);
	int out = 0;
	while (mc_bench_next_batch(s, batch)) {
		for (int64_t i = 0; i < batch; i++) {
			out = EVP_DecodeBlock(dst, (const unsigned char *)src, (int)len);
			mc_bench_keep(dst);
		}
	}
	/* EVP_DecodeBlock counts the bytes the padding stands for as well */
	if (out != (int)(len / 4 * 3)) {
		mc_bench_skip(s, "EVP_DecodeBlock failed");
		return;
	}
	check_decoded(s, n, dst, n, len);
}

static void bench_openssl_evp_encode(mc_bench_state *s)
{
	size_t n = (size_t)mc_bench_arg(s, 0);
	const unsigned char *src = mc_bench_random();
	/* 65 bytes per full 48-byte block + NUL for update; at most 66 for final */
	unsigned char *dst = mc_bench_scratch(n / 48 * 65 + 1 + 66);
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	if (!src || !dst || !ctx) {
		mc_bench_skip(s, "out of memory");
		EVP_ENCODE_CTX_free(ctx);
		return;
	}
	int64_t batch = batch_for(n);
	int out = 0, ok = 1;
	while (mc_bench_next_batch(s, batch)) {
		for (int64_t i = 0; i < batch; i++) {
			int w1 = 0, w2 = 0;
			EVP_EncodeInit(ctx);
			ok &= EVP_EncodeUpdate(ctx, dst, &w1, src, (int)n);
			EVP_EncodeFinal(ctx, dst + w1, &w2);
			out = w1 + w2;
			mc_bench_keep(dst);
		}
	}
	EVP_ENCODE_CTX_free(ctx);
	if (!ok) {
		mc_bench_skip(s, "EVP_EncodeUpdate failed");
		return;
	}
	check_encoded(s, n, (const char *)dst, (size_t)out);
}

static void bench_openssl_evp_decode(mc_bench_state *s)
{
	size_t n = (size_t)mc_bench_arg(s, 0);
	size_t len = 0;
	const char *src = mc_bench_encoded(MC_BENCH_ENC_MIME, n, &len);
	/* 3 bytes per 4 characters that are not whitespace: len / 4 * 3 is
	 * more than enough (the CRLFs are counted too) */
	unsigned char *dst = mc_bench_scratch(len / 4 * 3 + 3);
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	if (!src || !dst || !ctx) {
		mc_bench_skip(s, "out of memory");
		EVP_ENCODE_CTX_free(ctx);
		return;
	}
	int64_t batch = batch_for(n);
	int out = 0, ok = 1;
	while (mc_bench_next_batch(s, batch)) {
		for (int64_t i = 0; i < batch; i++) {
			int w1 = 0, w2 = 0;
			EVP_DecodeInit(ctx);
			ok &= EVP_DecodeUpdate(ctx, dst, &w1, (const unsigned char *)src,
			                       (int)len) >= 0;
			ok &= EVP_DecodeFinal(ctx, dst + w1, &w2) == 1;
			out = w1 + w2;
			mc_bench_keep(dst);
		}
	}
	EVP_ENCODE_CTX_free(ctx);
	if (!ok) {
		mc_bench_skip(s, "EVP_DecodeUpdate/Final failed");
		return;
	}
	check_decoded(s, n, dst, (size_t)out, len);
}

#endif /* MC_BENCH_HAVE_OPENSSL */

/* ---- GMime 3 ------------------------------------------------------------- */
#if MC_BENCH_HAVE_GMIME

static void bench_gmime_encode(mc_bench_state *s)
{
	size_t n = (size_t)mc_bench_arg(s, 0);
	const unsigned char *src = mc_bench_random();
	/* gmime-encodings.h: the most one step + close can write */
	unsigned char *dst = mc_bench_scratch(GMIME_BASE64_ENCODE_LEN(n));
	if (!src || !dst) {
		mc_bench_skip(s, "out of memory");
		return;
	}
	int64_t batch = batch_for(n);
	size_t out = 0;
	while (mc_bench_next_batch(s, batch)) {
		for (int64_t i = 0; i < batch; i++) {
			int state = 0;
			guint32 save = 0;
			out = g_mime_encoding_base64_encode_step(src, n, dst, &state, &save);
			out +=
			    g_mime_encoding_base64_encode_close(NULL, 0, dst + out, &state, &save);
			mc_bench_keep(dst);
		}
	}
	check_encoded(s, n, (const char *)dst, out);
}

static void bench_gmime_decode(mc_bench_state *s)
{
	size_t n = (size_t)mc_bench_arg(s, 0);
	size_t len = 0;
	const char *src = mc_bench_encoded(MC_BENCH_ENC_MIME, n, &len);
	GMimeEncoding enc;
	g_mime_encoding_init_decode(&enc, GMIME_CONTENT_ENCODING_BASE64);
	/* the documented sizing call for one decode step */
	unsigned char *dst = mc_bench_scratch(g_mime_encoding_outlen(&enc, len));
	if (!src || !dst) {
		mc_bench_skip(s, "out of memory");
		return;
	}
	int64_t batch = batch_for(n);
	size_t out = 0;
	while (mc_bench_next_batch(s, batch)) {
		for (int64_t i = 0; i < batch; i++) {
			int state = 0;
			guint32 save = 0;
			out = g_mime_encoding_base64_decode_step((const unsigned char *)src, len,
			                                         dst, &state, &save);
			mc_bench_keep(dst);
		}
	}
	check_decoded(s, n, dst, out, len);
}

#endif /* MC_BENCH_HAVE_GMIME */

/* ---- libb64 -------------------------------------------------------------- */
#if MC_BENCH_HAVE_LIBB64

static void bench_libb64_encode(mc_bench_state *s)
{
	size_t n = (size_t)mc_bench_arg(s, 0);
	const unsigned char *src = mc_bench_random();
	/* libb64's own C++ wrapper (b64/encode.h) gives the encoder 2 * N bytes
	 * of output for N input bytes; blockend adds at most 4 + '\n' */
	char *dst = mc_bench_scratch(2 * n + 8);
	if (!src || !dst) {
		mc_bench_skip(s, "out of memory");
		return;
	}
	int64_t batch = batch_for(n);
	int out = 0;
	while (mc_bench_next_batch(s, batch)) {
		for (int64_t i = 0; i < batch; i++) {
			base64_encodestate st;
			base64_init_encodestate(&st);
			out = base64_encode_block((const char *)src, (int)n, dst, &st);
			out += base64_encode_blockend(dst + out, &st);
			mc_bench_keep(dst);
		}
	}
	check_encoded(s, n, dst, (size_t)out);
}

static void bench_libb64_decode(mc_bench_state *s)
{
	size_t n = (size_t)mc_bench_arg(s, 0);
	size_t len = 0;
	const char *src = mc_bench_encoded(MC_BENCH_ENC_MIME, n, &len);
	/* b64/decode.h gives the decoder N bytes of output for N input bytes */
	char *dst = mc_bench_scratch(len);
	if (!src || !dst) {
		mc_bench_skip(s, "out of memory");
		return;
	}
	int64_t batch = batch_for(n);
	int out = 0;
	while (mc_bench_next_batch(s, batch)) {
		for (int64_t i = 0; i < batch; i++) {
			base64_decodestate st;
			base64_init_decodestate(&st);
			out = base64_decode_block(src, (int)len, dst, &st);
			mc_bench_keep(dst);
		}
	}
	check_decoded(s, n, dst, (size_t)out, len);
}

#endif /* MC_BENCH_HAVE_LIBB64 */

static void register_peers(void)
{
	static const struct {
		const char *name;
		mc_bench_fn fn;
	} peers[] = {
		{"memcpy", bench_memcpy},
#if MC_BENCH_HAVE_OPENSSL
		{"peer_openssl_block/encode", bench_openssl_block_encode},
		{"peer_openssl_block/decode", bench_openssl_block_decode},
		{"peer_openssl_evp/encode", bench_openssl_evp_encode},
		{"peer_openssl_evp/decode", bench_openssl_evp_decode},
#endif
#if MC_BENCH_HAVE_GMIME
		{"peer_gmime/encode", bench_gmime_encode},
		{"peer_gmime/decode", bench_gmime_decode},
#endif
#if MC_BENCH_HAVE_LIBB64
		{"peer_libb64/encode", bench_libb64_encode},
		{"peer_libb64/decode", bench_libb64_decode},
#endif
	};
	for (size_t i = 0; i < sizeof peers / sizeof peers[0]; i++)
		mc_bench_register_sizes(peers[i].name, peers[i].fn, 0, mc_bench_sizes,
		                        mc_bench_nsizes);
}
MC_BENCH_REGISTRAR(register_peers)
