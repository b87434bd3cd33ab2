/* fuzz_rfc2231.c: RFC 2231 parameter values (mimecodec/encword.h).
 * Input: a parameter name, a NUL, then a parameter list ("; a*0*=...; b=c")
 * split into raw spans as a MIME parser would. The lookup must succeed into
 * mc_rfc2231_decode_bound bytes with valid UTF-8 out. Then the list, used as
 * a value, is encoded as a parameter when it is UTF-8: exact measuring,
 * within the bound, lines within 78 columns, and the lookup of the encoded
 * text gives the value back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mimecodec/encword.h"

#define FUZZ_ASSERT(c)           \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

#define MAXP 1024

static size_t split(const char *s, size_t n, struct mc_rfc2231_param *out, size_t max)
{
	size_t i = 0, k = 0;

	while (i < n && k < max) {
		size_t a, e;

		while (i < n &&
		       (s[i] == ';' || s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
			i++;
		a = i;
		while (i < n && s[i] != '=' && s[i] != ';')
			i++;
		if (i >= n || s[i] != '=')
			continue;
		out[k].name = s + a;
		out[k].name_len = i - a;
		e = ++i;
		if (i < n && s[i] == '"') {
			for (i++; i < n && s[i] != '"'; i++)
				if (s[i] == '\\' && i + 1 < n)
					i++;
			if (i < n)
				i++;
		} else {
			while (i < n && s[i] != ';' && s[i] != ' ' && s[i] != '\r' && s[i] != '\n')
				i++;
		}
		out[k].value = s + e;
		out[k].value_len = i - e;
		k++;
	}
	return k;
}

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
	const char *s = (const char *)data, *z = memchr(s, 0, size);
	size_t nl = z ? (size_t)(z - s) : 0, rest = z ? size - nl - 1 : size, total = 0, np, bound;
	const char *list = z ? z + 1 : s, *name = nl ? s : "filename";
	struct mc_rfc2231_param *ps = malloc(sizeof *ps * MAXP);
	struct mc_rfc2231_info info;
	struct mc_ew_result r;
	char *out;

	if (!nl)
		nl = 8;
	np = split(list, rest, ps, MAXP);
	for (size_t i = 0; i < np; i++)
		total += ps[i].value_len;
	bound = mc_rfc2231_decode_bound(total);
	out = malloc(bound ? bound : 1);
	FUZZ_ASSERT(mc_rfc2231_get(ps, np, name, nl, out, bound, &info, &r) == MC_OK);
	FUZZ_ASSERT(r.written <= bound);
	FUZZ_ASSERT(valid_utf8((unsigned char *)out, r.written));
	FUZZ_ASSERT(info.found || r.written == 0);
	free(out);

	/* encode the list as a value, then read it back */
	if (valid_utf8((const unsigned char *)list, rest)) {
		static const char pname[] = "filename";
		unsigned col = size % 79;
		size_t elen, line = 0, start = 0;
		char *enc;

		FUZZ_ASSERT(mc_rfc2231_encode(pname, 8, list, rest, col, 0, NULL, 0, &r) == MC_OK);
		elen = r.written;
		FUZZ_ASSERT(elen <= mc_rfc2231_encode_bound(8, rest));
		enc = malloc(elen);
		FUZZ_ASSERT(mc_rfc2231_encode(pname, 8, list, rest, col, 0, enc, elen, &r) ==
		            MC_OK);
		FUZZ_ASSERT(r.written == elen);
		for (size_t x = 0; x <= elen; x++) {
			if (x == elen || enc[x] == '\r') {
				FUZZ_ASSERT(x - start + (line ? 0 : col) <= 78 ||
				            (!line && col >= 77));
				start = x + 2;
				line++;
			}
		}
		np = split(enc, elen, ps, MAXP);
		FUZZ_ASSERT(np < MAXP);
		bound = mc_rfc2231_decode_bound(elen);
		out = malloc(bound);
		FUZZ_ASSERT(mc_rfc2231_get(ps, np, pname, 8, out, bound, &info, &r) == MC_OK);
		FUZZ_ASSERT(info.found && r.written == rest && memcmp(out, list, rest) == 0);
		free(out);
		free(enc);
	}
	free(ps);
	return 0;
}
