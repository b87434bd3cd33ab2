/* mimecodec/transcode.h: re-encode a body between quoted-printable and base64
 * without a decoded copy of the whole body. RFC 2045 sections 6.7 and 6.8.
 *
 * The input streams through the source decoder into a small fixed buffer in
 * the caller-owned state and from there through the target encoder; nothing
 * is allocated. Text versus binary (RFC 2045 section 6.8, "canonical form"):
 * for text, line breaks are CRLF in the decoded data: QP hard line breaks
 * become CRLF before base64 encoding, and the CRLF or LF line breaks of
 * decoded base64 text become QP hard line breaks. For binary, the decoded
 * bytes pass unchanged (QP binary mode: CR and LF as =0D =0A). */
#ifndef MIMECODEC_TRANSCODE_H
#define MIMECODEC_TRANSCODE_H

#include <stddef.h>
#include <stdint.h>
#include "export.h"
#include "status.h"
#include "base64.h"
#include "qp.h"

#ifdef __cplusplus
extern "C" {
#endif

enum mc_transcode_dir {
	MC_TRANSCODE_QP_TO_B64 = 0,
	MC_TRANSCODE_B64_TO_QP = 1,
};

enum mc_transcode_flags {
	MC_TRANSCODE_BINARY = 1u << 0, /* binary body (default: text) */
	MC_TRANSCODE_CRLF = 1u << 1,   /* output line breaks CRLF (default: LF) */
	MC_TRANSCODE_STRICT = 1u << 2, /* decode the input strictly (MC_QP_STRICT, MC_B64_STRICT) */
};

/* Base64 output is wrapped at this many columns (RFC 2045 section 6.8). */
#define MC_TRANSCODE_B64_WRAP 76
/* Size of the decoded-data buffer inside the state. */
#define MC_TRANSCODE_BUF      2048

/* Caller-owned; treat the fields as private. */
struct mc_transcoder {
	int dir;
	unsigned flags;
	union {
		struct {
			struct mc_qp_decoder dec;
			struct mc_b64_encoder enc;
		} q2b;
		struct {
			struct mc_b64_decoder dec;
			struct mc_qp_encoder enc;
		} b2q;
	} u;
	unsigned char buf[MC_TRANSCODE_BUF];
};

/* dir: enum mc_transcode_dir; flags: enum mc_transcode_flags. Returns
 * MC_EINVAL for an unknown direction. Uses the process-wide kernel sets. */
MC_API MC_MUST_CHECK mc_status mc_transcoder_init(struct mc_transcoder *st, int dir,
                                                  unsigned flags);

/* Upper bound on what one mc_transcode_update of n bytes followed by
 * mc_transcode_final can write (SIZE_MAX on overflow). */
MC_API size_t mc_transcode_bound(int dir, size_t n, unsigned flags);

/* Re-encodes n bytes of src into dst, which must have room for
 * mc_transcode_bound(dir, n, flags) bytes; *written receives the bytes
 * written, also on error (the data decoded before the bad input is
 * re-encoded). Returns MC_OK or the source decoder's error, whose offset in
 * the input is given by mc_transcoder_error_offset. Errors are sticky. */
MC_API MC_MUST_CHECK mc_status mc_transcode_update(struct mc_transcoder *st, const char *src,
                                                   size_t n, char *dst, size_t *written);

/* Ends the input: flushes both codecs into dst (room for
 * mc_transcode_bound(dir, 0, flags) bytes). */
MC_API MC_MUST_CHECK mc_status mc_transcode_final(struct mc_transcoder *st, char *dst,
                                                  size_t *written);

/* Offset in the input of the first bad byte after an error; 0 otherwise. */
MC_API uint64_t mc_transcoder_error_offset(const struct mc_transcoder *st);

#ifdef __cplusplus
}
#endif
#endif
