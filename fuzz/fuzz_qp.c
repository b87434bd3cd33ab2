/* fuzz_qp.c: quoted-printable decode, differential across kernels, plus
 * encode round trips. Input: byte 0 picks decode flags (strict, CRLF),
 * encode flags (binary, CRLF, '.', "From ") and a chunk size; the rest is
 * the data. Every supported kernel, fed in chunks, must match the scalar
 * one-shot decode in status, error offset and output, within the advertised
 * bounds; and encoding the data on every kernel in chunks must match the
 * one-shot scalar encoding, keep lines within 76 characters, and decode
 * (strictly) back to the data. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mimecodec/qp.h"
#include "mimecodec/isa.h"

#define FUZZ_ASSERT(c)           \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

static size_t dec_chunked(int isa, const char *s, size_t n, unsigned flags, size_t chunk,
                          unsigned char *out, int *status, uint64_t *off)
{
	struct mc_qp_decoder st;
	size_t o = 0, w;
	mc_status r = MC_OK;

	if (mc_qp_decoder_init_isa(&st, flags, isa) != MC_OK)
		return (size_t)-1;
	for (size_t i = 0; i < n && r == MC_OK; i += chunk) {
		size_t c = n - i < chunk ? n - i : chunk;
		r = mc_qp_decode_update(&st, s + i, c, out + o, &w);
		FUZZ_ASSERT(w <= mc_qp_decode_bound(c, flags));
		o += w;
	}
	if (r == MC_OK) {
		r = mc_qp_decode_final(&st, out + o, &w);
		FUZZ_ASSERT(w <= MC_QP_DECODE_FINAL_MAX);
		o += w;
	}
	*status = r;
	*off = mc_qp_decoder_error_offset(&st);
	if (r)
		FUZZ_ASSERT(*off < n);
	return o;
}

static void check_lines(const char *e, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || e[i] == '\n') {
			size_t end = i;
			if (end > start && e[end - 1] == '\r' && i < n)
				end--;
			FUZZ_ASSERT(end - start <= MC_QP_LINE_MAX);
			FUZZ_ASSERT(end == start || (e[end - 1] != ' ' && e[end - 1] != '\t'));
			start = i + 1;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned dflags = (data[0] & 1 ? MC_QP_STRICT : 0) | (data[0] & 2 ? MC_QP_CRLF : 0);
	unsigned eflags = (data[0] >> 2) & (MC_QP_BINARY | MC_QP_CRLF | MC_QP_DOT | MC_QP_FROM);
	size_t chunk = 1 + (data[0] >> 6) * 29;
	const char *s = (const char *)data + 1;
	size_t n = size - 1;
	unsigned char *ref = malloc(mc_qp_decode_bound(n, dflags) + MC_QP_DECODE_FINAL_MAX + 1);
	unsigned char *out = malloc(mc_qp_decode_bound(n, dflags) + MC_QP_DECODE_FINAL_MAX + 1);
	size_t refn, w, roff;
	int rs;

	rs = mc_qp_decode(s, n, ref, &refn, dflags, &roff);
	FUZZ_ASSERT(refn <= mc_qp_decode_bound(n, dflags));
	for (int isa = 0; isa < MC_ISA_COUNT_; isa++) {
		int st = MC_OK;
		uint64_t off = 0;

		if (!mc_isa_supported(isa))
			continue;
		w = dec_chunked(isa, s, n, dflags, chunk, out, &st, &off);
		FUZZ_ASSERT(st == rs);
		FUZZ_ASSERT(!rs || off == roff);
		FUZZ_ASSERT(w == refn && memcmp(out, ref, w) == 0);
	}
	free(ref);
	free(out);

	/* Encode the data on every kernel, chunked; decode it back. */
	size_t bound = mc_qp_encode_bound(n, eflags);
	char *eref = malloc(bound), *enc = malloc(bound);
	size_t el = mc_qp_encode(s, n, eref, eflags);
	FUZZ_ASSERT(el <= bound);
	check_lines(eref, el);
	for (int isa = 0; isa < MC_ISA_COUNT_; isa++) {
		struct mc_qp_encoder e;
		size_t o = 0;

		if (mc_qp_encoder_init_isa(&e, eflags, isa) != MC_OK)
			continue;
		for (size_t i = 0; i < n; i += chunk) {
			size_t c = n - i < chunk ? n - i : chunk;
			size_t wr = mc_qp_encode_update(&e, s + i, c, enc + o);
			FUZZ_ASSERT(wr <= mc_qp_encode_bound(c, eflags));
			o += wr;
		}
		o += mc_qp_encode_final(&e, enc + o);
		FUZZ_ASSERT(o == el && memcmp(enc, eref, el) == 0);
	}
	unsigned char *back =
	    malloc(mc_qp_decode_bound(el, MC_QP_CRLF) + MC_QP_DECODE_FINAL_MAX + 1);
	size_t bl, eo;
	FUZZ_ASSERT(mc_qp_decode(eref, el, back, &bl, MC_QP_STRICT, &eo) == MC_OK);
	if (eflags & MC_QP_BINARY) {
		FUZZ_ASSERT(bl == n && memcmp(back, s, n) == 0);
	} else {
		/* Text: input CRLF and LF come back as the encoder's breaks. */
		size_t j = 0;
		int crlf = (eflags & MC_QP_CRLF) != 0;
		for (size_t i = 0; i < n; i++) {
			if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
				continue;
			if (s[i] == '\n' && crlf) {
				FUZZ_ASSERT(j < bl && back[j] == '\r');
				j++;
			}
			FUZZ_ASSERT(j < bl && back[j] == (unsigned char)s[i]);
			j++;
		}
		FUZZ_ASSERT(j == bl);
	}
	free(back);
	free(eref);
	free(enc);
	return 0;
}
