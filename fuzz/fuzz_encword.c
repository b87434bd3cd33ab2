/* fuzz_encword.c: RFC 2047 decoding and encoding (mimecodec/encword.h).
 * Input: byte 0 picks the flags, a start column and a short output cap; the
 * rest is a header value. Decoding must succeed into mc_ew_decode_bound
 * bytes with valid UTF-8 out; a short buffer gives MC_ENOSPC with a prefix
 * of the full output. If the value is UTF-8, encoding must measure exactly,
 * stay within mc_ew_encode_bound, keep lines within 78 columns and decode
 * back to the value; otherwise it must fail with MC_EBADCHAR. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mimecodec/encword.h"

#define FUZZ_ASSERT(c)           \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

static int valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], lo = 0x80, hi = 0xBF;
		size_t k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			k = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			k = 2;
			lo = c == 0xE0 ? 0xA0 : 0x80;
			hi = c == 0xED ? 0x9F : 0xBF;
		} else if (c >= 0xF0 && c <= 0xF4) {
			k = 3;
			lo = c == 0xF0 ? 0x90 : 0x80;
			hi = c == 0xF4 ? 0x8F : 0xBF;
		} else {
			return 0;
		}
		if (i + k >= n || s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (size_t j = 2; j <= k; j++)
			if (s[i + j] < 0x80 || s[i + j] > 0xBF)
				return 0;
		i += k + 1;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned flags = (data[0] & 1) ? MC_EW_PHRASE : 0;
	unsigned col = (data[0] >> 1) * 3 % 90;
	const char *s = (const char *)data + 1;
	size_t n = size - 1, bound = mc_ew_decode_bound(n);
	struct mc_ew_result r, r2;
	char *out = malloc(bound ? bound : 1);

	FUZZ_ASSERT(mc_ew_decode(s, n, flags, out, bound, &r) == MC_OK);
	FUZZ_ASSERT(r.written <= bound);
	FUZZ_ASSERT(valid_utf8((unsigned char *)out, r.written));
	if (r.written > 0) {
		size_t cap = r.written * (data[0] & 7) / 8;
		char *small = malloc(cap ? cap : 1);
		mc_status st = mc_ew_decode(s, n, flags, small, cap, &r2);

		FUZZ_ASSERT(st == MC_ENOSPC);
		FUZZ_ASSERT(r2.written <= cap && r2.err_offset <= n);
		FUZZ_ASSERT(memcmp(small, out, r2.written) == 0);
		FUZZ_ASSERT(valid_utf8((unsigned char *)small, r2.written));
		free(small);
	}
	free(out);

	/* encode -> decode */
	if (!valid_utf8((const unsigned char *)s, n)) {
		FUZZ_ASSERT(mc_ew_encode(s, n, col, flags, NULL, 0, &r) == MC_EBADCHAR);
		FUZZ_ASSERT(r.err_offset < n);
		return 0;
	}
	FUZZ_ASSERT(mc_ew_encode(s, n, col, flags | MC_EW_LF, NULL, 0, &r) == MC_OK);
	FUZZ_ASSERT(r.written <= mc_ew_encode_bound(n));
	size_t elen = r.written, line = 0, start = 0;
	char *enc = malloc(elen ? elen : 1);

	FUZZ_ASSERT(mc_ew_encode(s, n, col, flags | MC_EW_LF, enc, elen, &r) == MC_OK);
	FUZZ_ASSERT(r.written == elen);
	for (size_t x = 0; x <= elen; x++) {
		if (x == elen || enc[x] == '\n') {
			size_t w = x - start + (line == 0 ? col : 0);

			FUZZ_ASSERT(w <= 78 || (line == 0 && x == start));
			start = x + 1;
			line++;
		}
	}
	bound = mc_ew_decode_bound(elen);
	out = malloc(bound ? bound : 1);
	FUZZ_ASSERT(mc_ew_decode(enc, elen, flags, out, bound, &r) == MC_OK);
	FUZZ_ASSERT(r.written == n && memcmp(out, s, n) == 0);
	free(out);
	free(enc);
	return 0;
}
