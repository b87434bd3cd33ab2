/* fuzz_b64.c: base64 decode, differential across kernels, plus round trips.
 * Input: byte 0 picks mode (0..2), flags and a chunk size; the rest is the
 * encoded text. Every supported kernel, fed in chunks, must match the scalar
 * one-shot decode in status, error offset and output; the output must fit
 * the advertised bound; and encode then decode of the raw input must give it
 * back for every kernel, wrap and alphabet, with MC_B64_NOCACHE the same
 * encoding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mimecodec/base64.h"
#include "mimecodec/isa.h"

#define FUZZ_ASSERT(c)           \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

static size_t dec_chunked(int isa, const char *s, size_t n, int mode, unsigned flags, size_t chunk,
                          unsigned char *out, int *status, uint64_t *off)
{
	struct mc_b64_decoder st;
	size_t o = 0, w;
	mc_status r = MC_OK;

	if (mc_b64_decoder_init_isa(&st, mode, flags, isa) != MC_OK)
		return (size_t)-1;
	for (size_t i = 0; i < n && r == MC_OK; i += chunk) {
		size_t c = n - i < chunk ? n - i : chunk;
		r = mc_b64_decode_update(&st, s + i, c, out + o, &w);
		FUZZ_ASSERT(w <= mc_b64_decode_bound(c));
		o += w;
	}
	if (r == MC_OK) {
		r = mc_b64_decode_final(&st, out + o, &w);
		FUZZ_ASSERT(w <= 2);
		o += w;
	}
	*status = r;
	*off = mc_b64_decoder_error_offset(&st);
	if (r)
		FUZZ_ASSERT(*off <= n);
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int mode = data[0] % 3;
	unsigned flags = (data[0] >> 2) & (MC_B64_URL | MC_B64_NOPAD);
	size_t chunk = 1 + (data[0] >> 4) * 7;
	const char *s = (const char *)data + 1;
	size_t n = size - 1;
	unsigned char *ref = malloc(mc_b64_decode_bound(n) + 1);
	unsigned char *out = malloc(mc_b64_decode_bound(n) + 8);
	size_t refn, w;
	int rs;
	size_t roff;

	rs = mc_b64_decode(s, n, ref, &refn, mode, flags, &roff);
	FUZZ_ASSERT(refn <= mc_b64_decode_bound(n));
	for (int isa = 0; isa < MC_ISA_COUNT_; isa++) {
		int st = MC_OK;
		uint64_t off = 0;

		if (!mc_isa_supported(isa))
			continue;
		w = dec_chunked(isa, s, n, mode, flags, chunk, out, &st, &off);
		FUZZ_ASSERT(st == rs);
		FUZZ_ASSERT(!rs || off == roff);
		FUZZ_ASSERT(w == refn && memcmp(out, ref, w) == 0);
	}
	free(ref);
	free(out);

	/* Round trip of the raw input on every kernel. */
	static const unsigned wraps[] = {0, 76, 5};
	unsigned ef = (data[0] & 1) ? MC_B64_CRLF : 0;
	unsigned wrap = wraps[(data[0] >> 1) % 3];
	for (int isa = 0; isa < MC_ISA_COUNT_; isa++) {
		struct mc_b64_encoder e;
		size_t len = mc_b64_encoded_size(size, wrap, ef | flags), o;
		char *enc = malloc(mc_b64_encode_bound(size, wrap, ef | flags));
		char *nt = malloc(mc_b64_encode_bound(size, wrap, ef | flags));
		unsigned char *back = malloc(mc_b64_decode_bound(len) + 1);
		int st = MC_OK;
		uint64_t off = 0;

		if (mc_b64_encoder_init_isa(&e, wrap, ef | flags, isa) == MC_OK) {
			o = mc_b64_encode_update(&e, data, size, enc);
			o += mc_b64_encode_final(&e, enc + o);
			FUZZ_ASSERT(o == len);
			w = dec_chunked(isa, enc, o, MC_B64_STRICT, flags, chunk, back, &st, &off);
			FUZZ_ASSERT(st == MC_OK && w == size && memcmp(back, data, size) == 0);
			/* Non-temporal stores give the same bytes. */
			FUZZ_ASSERT(mc_b64_encoder_init_isa(&e, wrap, ef | flags | MC_B64_NOCACHE,
			                                    isa) == MC_OK);
			o = mc_b64_encode_update(&e, data, size, nt);
			o += mc_b64_encode_final(&e, nt + o);
			FUZZ_ASSERT(o == len && memcmp(nt, enc, len) == 0);
		}
		free(nt);
		free(enc);
		free(back);
	}
	return 0;
}
