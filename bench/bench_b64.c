/* bench_b64.c: mimecodec base64 through the public streaming API
 * (init_isa + update + final), for every kernel set this CPU runs.
 * RFC 4648 section 4 (plain, strict) and RFC 2045 section 6.8 (MIME).
 *
 * Names: b64_<op>/<isa>/<size>, op one of
 *   encode       plain, one unbroken line (wrap 0)
 *   decode       strict mode, input without whitespace
 *   mime_encode  76 columns, CRLF
 *   mime_decode  MIME mode, input with CRLF after every 76 characters
 * <size> is always the payload (decoded) size. Bytes processed, and so
 * bytes_per_second, count the INPUT: the payload for encode, the ENCODED text
 * (4/3 of the payload, plus 2 bytes per 76 characters for MIME) for decode.
 * Every run checks its output against the reference afterwards and fails
 * the run (mc_bench_skip) on a mismatch. */
#include <stdio.h>
#include <string.h>

#include "mimecodec/base64.h"
#include "mimecodec/isa.h"
#include "mc_bench.h"

enum op { OP_ENCODE, OP_DECODE, OP_MIME_ENCODE, OP_MIME_DECODE, OP_COUNT };

static const char *const op_names[OP_COUNT] = {"b64_encode", "b64_decode", "b64_mime_encode",
                                               "b64_mime_decode"};

#define USER(op, isa) ((intptr_t)(op)*16 + (isa))
#define USER_OP(u)    ((int)((u) / 16))
#define USER_ISA(u)   ((int)((u) % 16))

/* Bodies shorter than ~50 ns are run in batches, so the ~1 ns cross-language
 * KeepRunning call does not show in the figures. */
static int64_t batch_for(size_t n)
{
	return n < 4096 ? (int64_t)(4096 / n) : 1;
}

static void bench_encode(mc_bench_state *s)
{
	size_t n = (size_t)mc_bench_arg(s, 0);
	intptr_t u = mc_bench_user(s);
	int isa = USER_ISA(u);
	int mime = USER_OP(u) == OP_MIME_ENCODE;
	unsigned wrap = mime ? 76 : 0;
	unsigned flags = mime ? MC_B64_CRLF : 0;
	const unsigned char *src = mc_bench_random();
	size_t ref_len = 0;
	const char *ref =
	    mc_bench_encoded(mime ? MC_BENCH_ENC_MIME : MC_BENCH_ENC_PLAIN, n, &ref_len);
	char *dst = mc_bench_scratch(mc_b64_encode_bound(n, wrap, flags) + 6);
	struct mc_b64_encoder e0;
	if (!src || !ref || !dst) {
		mc_bench_skip(s, "out of memory");
		return;
	}
	if (mc_b64_encoder_init_isa(&e0, wrap, flags, isa) != MC_OK) {
		mc_bench_skip(s, "kernel set not supported");
		return;
	}
	int64_t batch = batch_for(n);
	size_t out = 0;
	while (mc_bench_next_batch(s, batch)) {
		for (int64_t i = 0; i < batch; i++) {
			struct mc_b64_encoder e = e0;
			out = mc_b64_encode_update(&e, src, n, dst);
			out += mc_b64_encode_final(&e, dst + out);
			mc_bench_keep(dst);
		}
	}
	if (out != ref_len || memcmp(dst, ref, ref_len) != 0) {
		mc_bench_skip(s, "output differs from the scalar reference encoding");
		return;
	}
	mc_bench_set_bytes(s, (int64_t)n);
}

static void bench_decode(mc_bench_state *s)
{
	size_t n = (size_t)mc_bench_arg(s, 0);
	intptr_t u = mc_bench_user(s);
	int isa = USER_ISA(u);
	int mime = USER_OP(u) == OP_MIME_DECODE;
	const unsigned char *raw = mc_bench_random();
	size_t len = 0;
	const char *src = mc_bench_encoded(mime ? MC_BENCH_ENC_MIME : MC_BENCH_ENC_PLAIN, n, &len);
	unsigned char *dst = mc_bench_scratch(mc_b64_decode_bound(len));
	struct mc_b64_decoder d0;
	if (!raw || !src || !dst) {
		mc_bench_skip(s, "out of memory");
		return;
	}
	if (mc_b64_decoder_init_isa(&d0, mime ? MC_B64_MIME : MC_B64_STRICT, 0, isa) != MC_OK) {
		mc_bench_skip(s, "kernel set not supported");
		return;
	}
	int64_t batch = batch_for(n);
	size_t out = 0;
	mc_status r = MC_OK;
	while (mc_bench_next_batch(s, batch)) {
		for (int64_t i = 0; i < batch; i++) {
			struct mc_b64_decoder d = d0;
			size_t w1 = 0, w2 = 0;
			r = mc_b64_decode_update(&d, src, len, dst, &w1);
			if (r == MC_OK)
				r = mc_b64_decode_final(&d, dst + w1, &w2);
			out = w1 + w2;
			mc_bench_keep(dst);
		}
		if (r != MC_OK)
			break;
	}
	if (r != MC_OK) {
		char why[96];
		snprintf(why, sizeof why, "decode failed: %s", mc_status_name(r));
		mc_bench_skip(s, why);
		return;
	}
	if (out != n || memcmp(dst, raw, n) != 0) {
		mc_bench_skip(s, "decoded output differs from the payload");
		return;
	}
	mc_bench_set_bytes(s, (int64_t)len);
}

static void register_b64(void)
{
	for (int isa = MC_ISA_SCALAR; isa <= MC_ISA_AVX512; isa++) {
		if (!mc_isa_supported(isa))
			continue;
		for (int op = 0; op < OP_COUNT; op++) {
			char name[64];
			snprintf(name, sizeof name, "%s/%s", op_names[op], mc_isa_name(isa));
			int dec = op == OP_DECODE || op == OP_MIME_DECODE;
			mc_bench_register_sizes(name, dec ? bench_decode : bench_encode,
			                        USER(op, isa), mc_bench_sizes, mc_bench_nsizes);
		}
	}
}
MC_BENCH_REGISTRAR(register_b64)
