/* transcode.c: quoted-printable <-> base64 through a fixed buffer (RFC 2045
 * sections 6.7, 6.8). The input goes to the source decoder in pieces small
 * enough that what one piece decodes to always fits st->buf, then straight
 * on to the target encoder, so memory stays constant. Text bodies use CRLF
 * in the decoded data: the QP decoder normalises hard breaks to CRLF, and
 * the QP encoder's text mode turns decoded CRLF/LF into hard breaks. */
#include <string.h>

#include "mimecodec/transcode.h"

/* Input per piece: its decode bound (plus what final may add) fits buf. */
#define QP_PIECE  ((MC_TRANSCODE_BUF - MC_QP_DECODE_FINAL_MAX) / 2)
#define B64_PIECE ((MC_TRANSCODE_BUF - 3) / 3 * 4)

static unsigned qp_dec_flags(unsigned flags)
{
	return (flags & MC_TRANSCODE_BINARY ? 0 : MC_QP_CRLF) |
	       (flags & MC_TRANSCODE_STRICT ? MC_QP_STRICT : 0);
}

static unsigned qp_enc_flags(unsigned flags)
{
	return (flags & MC_TRANSCODE_BINARY ? MC_QP_BINARY : 0) |
	       (flags & MC_TRANSCODE_CRLF ? MC_QP_CRLF : 0);
}

static unsigned b64_enc_flags(unsigned flags)
{
	return flags & MC_TRANSCODE_CRLF ? MC_B64_CRLF : 0;
}

mc_status mc_transcoder_init(struct mc_transcoder *st, int dir, unsigned flags)
{
	memset(st, 0, sizeof *st);
	st->dir = dir;
	st->flags = flags;
	if (dir == MC_TRANSCODE_QP_TO_B64) {
		mc_qp_decoder_init(&st->u.q2b.dec, qp_dec_flags(flags));
		mc_b64_encoder_init(&st->u.q2b.enc, MC_TRANSCODE_B64_WRAP, b64_enc_flags(flags));
		return MC_OK;
	}
	if (dir == MC_TRANSCODE_B64_TO_QP) {
		mc_b64_decoder_init(&st->u.b2q.dec,
		                    flags & MC_TRANSCODE_STRICT ? MC_B64_STRICT : MC_B64_MIME, 0);
		mc_qp_encoder_init(&st->u.b2q.enc, qp_enc_flags(flags));
		return MC_OK;
	}
	st->dir = -1;
	return MC_EINVAL;
}

size_t mc_transcode_bound(int dir, size_t n, unsigned flags)
{
	size_t d;

	if (dir == MC_TRANSCODE_QP_TO_B64) {
		d = mc_qp_decode_bound(n, qp_dec_flags(flags));
		if (d > SIZE_MAX - MC_QP_DECODE_FINAL_MAX)
			return SIZE_MAX;
		/* The encoder's output depends only on its total input, so the
		 * bound of the total covers the pieces. */
		return mc_b64_encode_bound(d + MC_QP_DECODE_FINAL_MAX, MC_TRANSCODE_B64_WRAP,
		                           b64_enc_flags(flags));
	}
	d = mc_b64_decode_bound(n);
	if (d > SIZE_MAX - 2)
		return SIZE_MAX;
	return mc_qp_encode_bound(d + 2, qp_enc_flags(flags));
}

mc_status mc_transcode_update(struct mc_transcoder *st, const char *src, size_t n, char *dst,
                              size_t *written)
{
	size_t o = 0, w;
	mc_status s = MC_OK;

	*written = 0;
	if (st->dir == MC_TRANSCODE_QP_TO_B64) {
		while (n && s == MC_OK) {
			size_t take = n < QP_PIECE ? n : QP_PIECE;

			s = mc_qp_decode_update(&st->u.q2b.dec, src, take, st->buf, &w);
			o += mc_b64_encode_update(&st->u.q2b.enc, st->buf, w, dst + o);
			src += take;
			n -= take;
		}
	} else if (st->dir == MC_TRANSCODE_B64_TO_QP) {
		while (n && s == MC_OK) {
			size_t take = n < B64_PIECE ? n : B64_PIECE;

			s = mc_b64_decode_update(&st->u.b2q.dec, src, take, st->buf, &w);
			o += mc_qp_encode_update(&st->u.b2q.enc, st->buf, w, dst + o);
			src += take;
			n -= take;
		}
	} else {
		return MC_EINVAL;
	}
	*written = o;
	return s;
}

mc_status mc_transcode_final(struct mc_transcoder *st, char *dst, size_t *written)
{
	size_t o = 0, w;
	mc_status s;

	*written = 0;
	if (st->dir == MC_TRANSCODE_QP_TO_B64) {
		s = mc_qp_decode_final(&st->u.q2b.dec, st->buf, &w);
		o = mc_b64_encode_update(&st->u.q2b.enc, st->buf, w, dst);
		if (s == MC_OK)
			o += mc_b64_encode_final(&st->u.q2b.enc, dst + o);
	} else if (st->dir == MC_TRANSCODE_B64_TO_QP) {
		s = mc_b64_decode_final(&st->u.b2q.dec, st->buf, &w);
		o = mc_qp_encode_update(&st->u.b2q.enc, st->buf, w, dst);
		if (s == MC_OK)
			o += mc_qp_encode_final(&st->u.b2q.enc, dst + o);
	} else {
		return MC_EINVAL;
	}
	*written = o;
	return s;
}

uint64_t mc_transcoder_error_offset(const struct mc_transcoder *st)
{
	if (st->dir == MC_TRANSCODE_QP_TO_B64)
		return mc_qp_decoder_error_offset(&st->u.q2b.dec);
	if (st->dir == MC_TRANSCODE_B64_TO_QP)
		return mc_b64_decoder_error_offset(&st->u.b2q.dec);
	return 0;
}
