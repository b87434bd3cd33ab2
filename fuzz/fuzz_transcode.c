/* fuzz_transcode.c: quoted-printable <-> base64 transcoding. Input: byte 0
 * picks the flags (binary, CRLF output, strict) and a chunk size; the rest is
 * the data.
 *
 * 1. Round trip QP -> base64 -> QP: the data is QP-encoded, transcoded to
 *    base64 and back, each step fed in chunks. The base64 must be exactly the
 *    wrapped encoding of what the QP decodes to (text: line breaks as CRLF),
 *    and the QP that comes back must be byte for byte the QP that went in.
 * 2. The data itself as hostile input in both directions: chunked transcoding
 *    must match one update over the whole input in status, error offset
 *    (at most the input length: end of input for truncation) and output, and
 *    stay within mc_transcode_bound. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mimecodec/transcode.h"

#define FUZZ_ASSERT(c)           \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

struct run {
	char *out;
	size_t len;
	mc_status status;
	uint64_t offset;
};

/* Transcodes s[0..n) in chunks of `chunk` bytes (n + 1 = one update). */
static struct run transcode(int dir, unsigned flags, const char *s, size_t n, size_t chunk)
{
	struct mc_transcoder t;
	struct run r = {0};
	size_t w;

	FUZZ_ASSERT(mc_transcoder_init(&t, dir, flags) == MC_OK);
	/* Room for the bound of every chunk plus the final flush. */
	size_t chunks = n / chunk + 1, cap = mc_transcode_bound(dir, 0, flags);
	for (size_t i = 0; i < chunks; i++)
		cap += mc_transcode_bound(dir, chunk < n ? chunk : n, flags);
	r.out = malloc(cap + 1);
	FUZZ_ASSERT(r.out != NULL);
	for (size_t i = 0; i < n && r.status == MC_OK; i += chunk) {
		size_t c = n - i < chunk ? n - i : chunk;
		r.status = mc_transcode_update(&t, s + i, c, r.out + r.len, &w);
		FUZZ_ASSERT(w <= mc_transcode_bound(dir, c, flags));
		r.len += w;
	}
	if (r.status == MC_OK) {
		r.status = mc_transcode_final(&t, r.out + r.len, &w);
		FUZZ_ASSERT(w <= mc_transcode_bound(dir, 0, flags));
		r.len += w;
	}
	r.offset = mc_transcoder_error_offset(&t);
	if (r.status != MC_OK)
		FUZZ_ASSERT(r.offset <= n);
	else
		FUZZ_ASSERT(r.offset == 0);
	return r;
}

static void same(const struct run *a, const struct run *b)
{
	FUZZ_ASSERT(a->status == b->status);
	FUZZ_ASSERT(a->offset == b->offset);
	FUZZ_ASSERT(a->len == b->len && memcmp(a->out, b->out, a->len) == 0);
}

static void round_trip(unsigned flags, const char *s, size_t n, size_t chunk)
{
	unsigned qflags = (flags & MC_TRANSCODE_BINARY ? MC_QP_BINARY : 0) |
	                  (flags & MC_TRANSCODE_CRLF ? MC_QP_CRLF : 0);
	unsigned bflags = flags & MC_TRANSCODE_CRLF ? MC_B64_CRLF : 0;
	char *qp = malloc(mc_qp_encode_bound(n, qflags) + 1);
	FUZZ_ASSERT(qp != NULL);
	size_t qn = mc_qp_encode(s, n, qp, qflags);

	/* What the QP stands for: the data, with text line breaks as CRLF. */
	unsigned char *dec =
	    malloc(mc_qp_decode_bound(qn, MC_QP_CRLF) + MC_QP_DECODE_FINAL_MAX + 1);
	size_t dn, doff;
	FUZZ_ASSERT(dec != NULL);
	FUZZ_ASSERT(mc_qp_decode(qp, qn, dec, &dn,
	                         MC_QP_STRICT | (flags & MC_TRANSCODE_BINARY ? 0 : MC_QP_CRLF),
	                         &doff) == MC_OK);

	struct run b64 = transcode(MC_TRANSCODE_QP_TO_B64, flags, qp, qn, chunk);
	FUZZ_ASSERT(b64.status == MC_OK);
	char *want = malloc(mc_b64_encoded_size(dn, MC_TRANSCODE_B64_WRAP, bflags) + 1);
	FUZZ_ASSERT(want != NULL);
	size_t wn = mc_b64_encode(dec, dn, want, MC_TRANSCODE_B64_WRAP, bflags);
	FUZZ_ASSERT(b64.len == wn && memcmp(b64.out, want, wn) == 0);

	struct run back = transcode(MC_TRANSCODE_B64_TO_QP, flags, b64.out, b64.len, chunk);
	FUZZ_ASSERT(back.status == MC_OK);
	FUZZ_ASSERT(back.len == qn && memcmp(back.out, qp, qn) == 0);

	free(back.out);
	free(want);
	free(b64.out);
	free(dec);
	free(qp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned flags = data[0] & (MC_TRANSCODE_BINARY | MC_TRANSCODE_CRLF | MC_TRANSCODE_STRICT);
	size_t chunk = 1 + (data[0] >> 3) * 7; /* 1 .. 218 */
	const char *s = (const char *)data + 1;
	size_t n = size - 1;

	round_trip(flags & ~(unsigned)MC_TRANSCODE_STRICT, s, n, chunk);

	for (int dir = MC_TRANSCODE_QP_TO_B64; dir <= MC_TRANSCODE_B64_TO_QP; dir++) {
		struct run whole = transcode(dir, flags, s, n, n + 1);
		struct run part = transcode(dir, flags, s, n, chunk);
		same(&whole, &part);
		free(whole.out);
		free(part.out);
	}
	return 0;
}
