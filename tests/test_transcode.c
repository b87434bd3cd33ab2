/* test_transcode.c: quoted-printable <-> base64 transcoding. The streaming
 * transcoder must equal decoding the whole body and encoding it again (with
 * CRLF line breaks in decoded text), in any chunking, with exactly sized
 * buffers; errors carry input offsets; text and binary bodies round-trip. */
#include "test.h"
#include "mimecodec/transcode.h"

struct out {
	char *p;
	size_t len;
	int status;
	uint64_t err;
};

/* Runs the transcoder in chunks; each call gets an exactly sized buffer. */
static struct out run(int dir, unsigned flags, const char *src, size_t n, size_t chunk)
{
	struct out r = {mc_t_xmalloc(mc_transcode_bound(dir, n, flags)), 0, 0, 0};
	struct mc_transcoder *st = mc_t_xmalloc(sizeof *st);
	size_t w;

	if (mc_transcoder_init(st, dir, flags) != MC_OK) {
		r.status = MC_EINVAL;
		free(st);
		return r;
	}
	if (!chunk)
		chunk = n ? n : 1;
	for (size_t i = 0; i < n && r.status == MC_OK; i += chunk) {
		size_t c = n - i < chunk ? n - i : chunk;
		char *tmp = mc_t_xmalloc(mc_transcode_bound(dir, c, flags));

		r.status = mc_transcode_update(st, src + i, c, tmp, &w);
		CHECK(w <= mc_transcode_bound(dir, c, flags));
		memcpy(r.p + r.len, tmp, w);
		r.len += w;
		free(tmp);
	}
	if (r.status == MC_OK) {
		char *tmp = mc_t_xmalloc(mc_transcode_bound(dir, 0, flags));

		r.status = mc_transcode_final(st, tmp, &w);
		CHECK(w <= mc_transcode_bound(dir, 0, flags));
		memcpy(r.p + r.len, tmp, w);
		r.len += w;
		free(tmp);
	}
	CHECK(r.len <= mc_transcode_bound(dir, n, flags));
	r.err = mc_transcoder_error_offset(st);
	free(st);
	return r;
}

/* The definition: whole-body decode, then whole-body encode. */
static struct out expect_q2b(unsigned flags, const char *src, size_t n)
{
	unsigned qf = (flags & MC_TRANSCODE_BINARY ? 0 : MC_QP_CRLF) |
	              (flags & MC_TRANSCODE_STRICT ? MC_QP_STRICT : 0);
	unsigned char *d = mc_t_xmalloc(mc_qp_decode_bound(n, qf));
	size_t dl, eo = 0;
	struct out r = {0, 0, 0, 0};

	r.status = mc_qp_decode(src, n, d, &dl, qf, &eo);
	r.err = eo;
	r.p = mc_t_xmalloc(mc_b64_encoded_size(dl, 76, MC_B64_CRLF));
	if (r.status) { /* the transcoder stops at the error, unfinished */
		struct mc_b64_encoder e;
		mc_b64_encoder_init(&e, 76, flags & MC_TRANSCODE_CRLF ? MC_B64_CRLF : 0);
		r.len = mc_b64_encode_update(&e, d, dl, r.p);
	} else {
		r.len = mc_b64_encode(d, dl, r.p, 76, flags & MC_TRANSCODE_CRLF ? MC_B64_CRLF : 0);
	}
	free(d);
	return r;
}

static struct out expect_b2q(unsigned flags, const char *src, size_t n)
{
	unsigned char *d = mc_t_xmalloc(mc_b64_decode_bound(n) + 2);
	size_t dl, eo = 0;
	struct out r = {0, 0, 0, 0};
	unsigned qf = (flags & MC_TRANSCODE_BINARY ? MC_QP_BINARY : 0) |
	              (flags & MC_TRANSCODE_CRLF ? MC_QP_CRLF : 0);

	r.status = mc_b64_decode(src, n, d, &dl,
	                         flags & MC_TRANSCODE_STRICT ? MC_B64_STRICT : MC_B64_MIME, 0, &eo);
	r.err = eo;
	r.p = mc_t_xmalloc(mc_qp_encode_bound(dl, qf));
	/* On error the transcoder stops too, keeping the data before it; the
	 * QP encoder is then not finished (held bytes stay held). */
	if (r.status) {
		struct mc_qp_encoder e;
		mc_qp_encoder_init(&e, qf);
		r.len = mc_qp_encode_update(&e, d, dl, r.p);
	} else {
		r.len = mc_qp_encode(d, dl, r.p, qf);
	}
	free(d);
	return r;
}

static void check_same(const struct out *a, const struct out *b)
{
	CHECK_EQ_INT(a->status, b->status);
	if (a->status)
		CHECK_EQ_SIZE(a->err, b->err);
	CHECK_EQ_MEM(a->p, a->len, b->p, b->len);
}

static void check_both(unsigned flags, const char *qp, size_t qn, const char *b64, size_t bn)
{
	static const size_t chunks[] = {0, 1, 3, 77, 1000, 5000};

	for (size_t ci = 0; ci < sizeof chunks / sizeof chunks[0]; ci++) {
		if (ci && chunks[ci] < 64 && qn + bn > 20000)
			continue;
		if (qp) {
			struct out a = run(MC_TRANSCODE_QP_TO_B64, flags, qp, qn, chunks[ci]);
			struct out b = expect_q2b(flags, qp, qn);
			check_same(&a, &b);
			free(a.p);
			free(b.p);
		}
		if (b64) {
			struct out a = run(MC_TRANSCODE_B64_TO_QP, flags, b64, bn, chunks[ci]);
			struct out b = expect_b2q(flags, b64, bn);
			check_same(&a, &b);
			free(a.p);
			free(b.p);
		}
	}
}

static void test_text(void)
{
	/* A QP text body with LF hard breaks becomes base64 of CRLF text. */
	static const char qp[] = "caf=C3=A9 au lait=\nand more\nline two  \nend";
	static const char want[] = "caf\xc3\xa9 au laitand more\r\nline two\r\nend";
	struct out a = run(MC_TRANSCODE_QP_TO_B64, 0, qp, strlen(qp), 0);
	unsigned char dec[200];
	size_t w, eo;

	CHECK_EQ_INT(a.status, MC_OK);
	CHECK_EQ_INT(mc_b64_decode(a.p, a.len, dec, &w, MC_B64_STRICT, 0, &eo), MC_OK);
	CHECK_EQ_MEM(dec, w, want, strlen(want));
	/* And back: CRLF text becomes QP hard breaks (LF by default). */
	struct out b = run(MC_TRANSCODE_B64_TO_QP, 0, a.p, a.len, 1);
	CHECK_EQ_INT(b.status, MC_OK);
	CHECK_EQ_MEM(b.p, b.len, "caf=C3=A9 au laitand more\nline two\nend", 38);
	struct out c = run(MC_TRANSCODE_B64_TO_QP, MC_TRANSCODE_CRLF, a.p, a.len, 2);
	CHECK_EQ_MEM(c.p, c.len, "caf=C3=A9 au laitand more\r\nline two\r\nend", 40);
	free(a.p);
	free(b.p);
	free(c.p);
	/* Base64 of LF text: LF also becomes a hard break. */
	static const char lf[] = "YQpiCg=="; /* "a\nb\n" */
	struct out d = run(MC_TRANSCODE_B64_TO_QP, 0, lf, 8, 0);
	CHECK_EQ_MEM(d.p, d.len, "a\nb\n", 4);
	free(d.p);
	/* Base64 output lines: 76 columns, LF or CRLF. */
	char body[400];
	memset(body, 'x', sizeof body);
	struct out e = run(MC_TRANSCODE_QP_TO_B64, MC_TRANSCODE_CRLF, body, sizeof body, 7);
	CHECK(e.len > 78 && e.p[76] == '\r' && e.p[77] == '\n' && e.p[e.len - 1] == '\n');
	free(e.p);
}

static void test_binary(void)
{
	size_t n = (1u << 20) + 5;
	unsigned char *bin = mc_t_xmalloc(n);
	mc_t_fill(bin, n);

	/* binary -> base64 -> QP -> base64 gives the same base64 back. */
	char *b64 = mc_t_xmalloc(mc_b64_encoded_size(n, 76, 0));
	size_t bl = mc_b64_encode(bin, n, b64, 76, 0);
	struct out q = run(MC_TRANSCODE_B64_TO_QP, MC_TRANSCODE_BINARY, b64, bl, 65536);
	CHECK_EQ_INT(q.status, MC_OK);
	struct out back = run(MC_TRANSCODE_QP_TO_B64, MC_TRANSCODE_BINARY, q.p, q.len, 4097);
	CHECK_EQ_INT(back.status, MC_OK);
	CHECK_EQ_MEM(back.p, back.len, b64, bl);
	check_both(MC_TRANSCODE_BINARY, q.p, q.len, b64, bl);
	/* And the QP decodes to the bytes. */
	unsigned char *dec = mc_t_xmalloc(mc_qp_decode_bound(q.len, 0));
	size_t w, eo;
	CHECK_EQ_INT(mc_qp_decode(q.p, q.len, dec, &w, MC_QP_STRICT, &eo), MC_OK);
	CHECK_EQ_MEM(dec, w, bin, n);
	free(dec);
	free(q.p);
	free(back.p);
	free(b64);
	free(bin);
}

/* Random small bodies, text and binary, every flag combination and chunking,
 * against the whole-body definition; also malformed inputs (errors). */
static void test_random(void)
{
	static const char junk[] = " \t\r\n=\r\n=AaG0\x80!";
	char qp[1400], b64[700];
	unsigned char raw[400];

	for (int iter = 0; iter < 300; iter++) {
		size_t n = mc_t_rand() % sizeof raw;
		for (size_t i = 0; i < n; i++)
			raw[i] =
			    (unsigned char)(iter & 1
			                        ? (unsigned char)(mc_t_rand() >> 24)
			                        : (unsigned char)" \r\nabc\xc3\xa9=."[mc_t_rand() %
			                                                              10]);
		unsigned flags = (unsigned)(mc_t_rand() % 8);
		size_t ql = mc_qp_encode(raw, n, qp, iter & 1 ? MC_QP_BINARY : 0);
		size_t bl = mc_b64_encode(raw, n, b64, 76, MC_B64_CRLF);
		if (iter % 3 == 0) { /* some damage */
			if (ql)
				qp[mc_t_rand() % ql] = junk[mc_t_rand() % (sizeof junk - 1)];
			if (bl)
				b64[mc_t_rand() % bl] = junk[mc_t_rand() % (sizeof junk - 1)];
		}
		check_both(flags, qp, ql, b64, bl);
		MC_TEST_CTX("transcode iter %d flags %u\n", iter, flags);
	}
}

static void test_errors(void)
{
	struct out a = run(MC_TRANSCODE_QP_TO_B64, MC_TRANSCODE_STRICT, "abc=4xdef", 9, 1);
	CHECK_EQ_INT(a.status, MC_EBADESC);
	CHECK_EQ_SIZE(a.err, 3);
	free(a.p);
	struct out b = run(MC_TRANSCODE_B64_TO_QP, 0, "Zm9vYmFy!Zm9v", 13, 2);
	CHECK_EQ_INT(b.status, MC_EBADCHAR);
	CHECK_EQ_SIZE(b.err, 8);
	CHECK_EQ_MEM(b.p, b.len, "foobar", 6);
	free(b.p);
	struct mc_transcoder st;
	CHECK_EQ_INT(mc_transcoder_init(&st, 7, 0), MC_EINVAL);
}

int main(void)
{
	test_text();
	test_binary();
	test_random();
	test_errors();
	MC_TEST_END();
}
