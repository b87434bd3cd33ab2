/* fuzz_mime.c: the MIME parser on any input. Byte 0 picks the limits (so
 * the limit paths are reached with small inputs); the rest is the message.
 * Checks: the parse never fails but for memory; every span (header names
 * and values, bodies, preambles, epilogues) lies inside the input; the index
 * is a well-formed pre-order tree within the part and depth limits; every
 * warning offset is inside the input; decoding every part gives the same
 * length through the sink and into a buffer, identity encodings give the
 * body itself, base64/QP never grow; structured-field parsers and mbox
 * splitting run on everything without reading outside their spans. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mimecodec/mime.h"

#define FUZZ_ASSERT(c)           \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

static const char *B;
static size_t N;

static void in_input(struct mc_span s)
{
	if (!s.n)
		return;
	FUZZ_ASSERT(s.p >= B && s.p <= B + N && s.n <= (size_t)(B + N - s.p));
}

static int count_sink(void *ctx, const void *p, size_t n)
{
	size_t *c = ctx;

	(void)p;
	*c += n;
	return 0;
}

static void fields(struct mc_span v)
{
	struct mc_span a, b, c;
	struct mc_mime_addr ad;
	size_t pos = 0, k = 0;
	int64_t t;
	int z;
	char *tmp = malloc(v.n + 1);

	if (mc_mime_content_type(v, &a, &b, &c) == MC_OK) {
		struct mc_mime_param p;
		size_t pp = 0;
		in_input(a);
		in_input(b);
		while (mc_mime_param_next(c, &pp, &p)) {
			in_input(p.name);
			in_input(p.value);
			FUZZ_ASSERT(mc_mime_unquote(&p, tmp) <= p.value.n);
		}
	}
	if (mc_mime_msgid(v, &a) == MC_OK)
		in_input(a);
	if (mc_mime_date(v, &t, &z) == MC_OK)
		FUZZ_ASSERT(z >= -24 * 60 && z <= 24 * 60);
	while (mc_mime_addr_next(v, &pos, &ad) && k++ < 100000) {
		in_input(ad.name);
		in_input(ad.addr);
		in_input(ad.local);
		in_input(ad.domain);
		FUZZ_ASSERT(mc_mime_phrase(ad.name, tmp) <= ad.name.n);
	}
	FUZZ_ASSERT(mc_mime_unfold(v, tmp) <= v.n);
	free(tmp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mc_mime_limits lim;
	struct mc_mime_message *m;
	unsigned sel;

	if (size < 1)
		return 0;
	sel = data[0];
	B = (const char *)data + 1;
	N = size - 1;
	memset(&lim, 0, sizeof lim);
	if (sel & 1) {
		lim.max_depth = 1 + (sel >> 1 & 7);
		lim.max_parts = 1 + (sel >> 4);
		lim.max_headers = 1 + (sel >> 3 & 15);
		lim.max_header_bytes = 64;
		lim.max_line = 16;
		lim.max_warnings = 4;
	}
	if (mc_mime_parse(B, N, &lim, NULL, &m) != MC_OK)
		return 0;
	FUZZ_ASSERT(m->nparts >= 1 && m->nparts <= m->limits.max_parts);
	FUZZ_ASSERT(m->nheaders <= m->limits.max_headers);
	FUZZ_ASSERT(m->nwarnings <= m->limits.max_warnings);
	for (size_t w = 0; w < m->nwarnings; w++) {
		FUZZ_ASSERT(m->warnings[w].offset <= N);
		FUZZ_ASSERT(m->warnings[w].part < m->nparts);
	}
	for (size_t h = 0; h < m->nheaders; h++) {
		in_input(m->headers[h].name);
		in_input(m->headers[h].value);
		FUZZ_ASSERT(m->headers[h].offset < N);
		if (h < 64)
			fields(m->headers[h].value);
	}
	for (size_t i = 0; i < m->nparts; i++) {
		const struct mc_mime_part *pt = &m->parts[i];
		char path[4096], name[1024];
		size_t viasink = 0, viabuf = 0, fn;
		void *buf;

		FUZZ_ASSERT(pt->body_offset <= N && pt->body_length <= N - pt->body_offset);
		FUZZ_ASSERT(pt->offset <= pt->body_offset);
		in_input(pt->preamble);
		in_input(pt->epilogue);
		FUZZ_ASSERT(pt->first_header + pt->nheaders <= m->nheaders);
		FUZZ_ASSERT(pt->depth <= m->limits.max_depth);
		FUZZ_ASSERT(pt->next > i && pt->next <= m->nparts);
		if (i) {
			FUZZ_ASSERT(pt->parent < i && m->parts[pt->parent].kind != MC_MIME_LEAF);
			FUZZ_ASSERT(m->parts[pt->parent].next >= pt->next);
			FUZZ_ASSERT(pt->depth == m->parts[pt->parent].depth + 1);
		}
		if (pt->kind == MC_MIME_LEAF)
			FUZZ_ASSERT(pt->next == i + 1 && pt->nchildren == 0);
		FUZZ_ASSERT(mc_mime_part_path(m, i, path, sizeof path) >= 0);
		FUZZ_ASSERT(mc_mime_decode(m, i, 0, count_sink, &viasink) == MC_OK);
		buf = malloc(viasink + 1);
		FUZZ_ASSERT(mc_mime_decode_to(m, i, 0, buf, viasink, &viabuf) == MC_OK);
		FUZZ_ASSERT(viabuf == viasink);
		if (pt->encoding <= MC_MIME_ENC_BINARY || pt->encoding == MC_MIME_ENC_UNKNOWN)
			FUZZ_ASSERT(
			    viasink == pt->body_length &&
			    (viasink == 0 || memcmp(buf, B + pt->body_offset, viasink) == 0));
		if (pt->encoding == MC_MIME_ENC_BASE64)
			FUZZ_ASSERT(viasink <= pt->body_length / 4 * 3 + 3);
		if (pt->encoding == MC_MIME_ENC_QP)
			FUZZ_ASSERT(viasink <= pt->body_length);
		free(buf);
		if (mc_mime_filename(m, i, name, sizeof name, &fn) == MC_OK)
			FUZZ_ASSERT(fn <= sizeof name);
		FUZZ_ASSERT(mc_mime_decode_to(m, i, MC_MIME_DECODE_UUENCODE | MC_MIME_DECODE_MBOXRD,
		                              NULL, 0, &viabuf) != MC_EINVAL);
	}
	mc_mime_free(m);
	{
		struct mc_span msg, from;
		size_t pos = 0, last = 0, k = 0;

		while (mc_mime_mbox_next(B, N, &pos, &msg, &from)) {
			in_input(msg);
			in_input(from);
			FUZZ_ASSERT(pos > last || k == 0);
			last = pos;
			if (++k > N + 1)
				abort();
		}
	}
	return 0;
}
