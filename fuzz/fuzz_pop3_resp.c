/* fuzz_pop3_resp.c: the POP3 response parsers and the multi-line decoder.
 * Every LF-separated line (a CR before it dropped, as the transport does)
 * goes to mc_pop3_resp_line (with and without continuations), the LIST,
 * UIDL and CAPA line parsers, each in an exact-size buffer so ASan traps any
 * over-read; results must be NUL-terminated, bounded and free of controls.
 * The whole input is also a multi-line body for mc_pop3_ml_feed: fed in one
 * piece, then split at every read boundary (or at 64 points for long
 * inputs), then in 1-byte pieces: the output, the bytes consumed and the
 * terminator flag must be identical, the output never longer than the
 * input, and nothing may be consumed after the terminator. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if MC_HAVE_NET
#include "mimecodec/pop3.h"

#define FUZZ_ASSERT(c)           \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

struct out {
	unsigned char *p;
	size_t n, cap;
};

static mc_status sink(void *ctx, const void *p, size_t n)
{
	struct out *o = ctx;

	FUZZ_ASSERT(n > 0 && o->n + n <= o->cap);
	memcpy(o->p + o->n, p, n);
	o->n += n;
	return MC_OK;
}

static void check_str(const char *s, size_t cap)
{
	const char *z = memchr(s, '\0', cap);

	FUZZ_ASSERT(z != NULL);
	for (; s < z; s++)
		FUZZ_ASSERT((unsigned char)*s >= 0x20 && *s != 0x7f);
}

static void lines(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct mc_pop3_caps caps = {0};

	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((lf ? lf : end) - p);
		char *line, uid[MC_POP3_UID_MAX + 1];
		struct mc_pop3_resp r;
		unsigned num;
		uint64_t sz;

		if (n && p[n - 1] == '\r')
			n--;
		line = malloc(n ? n : 1);
		memcpy(line, p, n);
		for (int cont = 0; cont < 2; cont++) {
			if (mc_pop3_resp_line(&r, line, n, cont) == MC_OK) {
				FUZZ_ASSERT(r.kind >= MC_POP3_OK && r.kind <= MC_POP3_CONT);
				FUZZ_ASSERT(cont || r.kind != MC_POP3_CONT);
				check_str(r.text, sizeof r.text);
				check_str(r.code, sizeof r.code);
			} else {
				FUZZ_ASSERT(r.kind == MC_POP3_NONE);
			}
		}
		if (mc_pop3_list_line(line, n, &num, &sz) == MC_OK)
			FUZZ_ASSERT(num > 0);
		if (mc_pop3_uidl_line(line, n, &num, uid) == MC_OK) {
			size_t k = strlen(uid);

			FUZZ_ASSERT(num > 0 && k >= 1 && k <= MC_POP3_UID_MAX);
			for (size_t i = 0; i < k; i++)
				FUZZ_ASSERT((unsigned char)uid[i] > 0x20 &&
				            (unsigned char)uid[i] < 0x7f);
		}
		mc_pop3_caps_line(&caps, line, n);
		free(line);
		p = lf ? lf + 1 : end;
	}
}

/* Feeds data in pieces ending at the offsets in cuts (ascending, last = size). */
static void decode(const uint8_t *data, size_t size, const size_t *cuts, size_t ncuts,
                   struct out *o, size_t *used_total, int *done)
{
	struct mc_pop3_ml m;
	size_t pos = 0;

	mc_pop3_ml_init(&m);
	o->n = 0;
	*used_total = 0;
	for (size_t c = 0; c < ncuts && pos < size; c++) {
		size_t k = cuts[c] - pos, used = 0;
		uint8_t *piece;

		if (cuts[c] <= pos)
			continue;
		piece = malloc(k); /* exact size */
		memcpy(piece, data + pos, k);
		FUZZ_ASSERT(mc_pop3_ml_feed(&m, piece, k, &used, sink, o) == MC_OK);
		free(piece);
		FUZZ_ASSERT(used <= k);
		FUZZ_ASSERT(used == k || m.done);
		*used_total += used;
		pos += used;
		if (m.done) {
			size_t again = 1;

			/* after the terminator nothing more is consumed */
			FUZZ_ASSERT(mc_pop3_ml_feed(&m, "x", 1, &again, sink, o) == MC_OK &&
			            again == 0);
			break;
		}
	}
	FUZZ_ASSERT(o->n <= *used_total && m.out == o->n && m.in == *used_total);
	*done = m.done;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out ref = {0}, got = {0};
	size_t ref_used, used, cut2[2], step;
	size_t *cuts;
	int ref_done, done;

	lines(data, size);
	ref.cap = got.cap = size + 1;
	ref.p = malloc(ref.cap);
	got.p = malloc(got.cap);
	cut2[0] = size;
	decode(data, size, cut2, 1, &ref, &ref_used, &ref_done);
	step = size <= 256 ? 1 : size / 64;
	for (size_t split = 0; split <= size; split += step) {
		cut2[0] = split;
		cut2[1] = size;
		decode(data, size, cut2, 2, &got, &used, &done);
		FUZZ_ASSERT(used == ref_used && done == ref_done && got.n == ref.n &&
		            (ref.n == 0 || memcmp(got.p, ref.p, ref.n) == 0));
	}
	cuts = malloc((size ? size : 1) * sizeof *cuts);
	for (size_t i = 0; i < size; i++)
		cuts[i] = i + 1;
	decode(data, size, cuts, size, &got, &used, &done);
	FUZZ_ASSERT(used == ref_used && done == ref_done && got.n == ref.n &&
	            (ref.n == 0 || memcmp(got.p, ref.p, ref.n) == 0));
	free(cuts);
	free(ref.p);
	free(got.p);
	return 0;
}
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)data;
	(void)size;
	return 0;
}
#endif
