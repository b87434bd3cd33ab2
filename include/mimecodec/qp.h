/* mimecodec/qp.h: quoted-printable encoding and decoding.
 * RFC 2045 section 6.7 (rules 1-5: escapes, literal bytes, trailing white
 * space, line breaks, 76-character lines with soft breaks).
 *
 * Every function here is allocation-free and thread-safe. Streaming states are
 * caller-owned; any split of the input across update calls (inside "=XX",
 * inside a soft break, inside CRLF) gives output byte-identical to the
 * one-shot call. */
#ifndef MIMECODEC_QP_H
#define MIMECODEC_QP_H

#include <stddef.h>
#include <stdint.h>
#include "export.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum mc_qp_flags {
	/* encode: binary mode: CR and LF are escaped (=0D, =0A) like any control
	 * byte, so there are no hard line breaks, only soft ones. Default: text
	 * mode, where an input LF or CRLF is a hard line break. */
	MC_QP_BINARY = 1u << 0,
	/* encode: hard and soft line breaks are written as CRLF (default: LF).
	 * decode: every hard line break (LF or CRLF in the input) is written as
	 * CRLF (default: as it was in the input). Escaped =0D =0A are data and
	 * never touched. */
	MC_QP_CRLF = 1u << 1,
	/* encode: a '.' that would start an output line is written as =2E, so a
	 * line holding a single '.' never reaches SMTP (RFC 5321 section 4.5.2). */
	MC_QP_DOT = 1u << 2,
	/* encode: "From " at the start of an output line is written as "=46rom ",
	 * so mbox readers never see a message separator. */
	MC_QP_FROM = 1u << 3,
	/* decode: strict mode (see mc_qp_decoder_init). */
	MC_QP_STRICT = 1u << 4,
};

/* Longest encoded line, not counting its line break (RFC 2045 rule 5). The
 * encoder writes at most 75 characters plus the '=' of a soft break, and at
 * most 75 before a hard break. */
#define MC_QP_LINE_MAX 76

/* Decoder: trailing white space is held back until the decoder knows whether
 * a line break follows it; a run longer than this releases its first half
 * (as data) so the state stays small. Such runs never come from encoders. */
#define MC_QP_WS_HOLD 128

/* Most bytes mc_qp_encode_final and mc_qp_decode_final can write. */
#define MC_QP_ENCODE_FINAL_MAX 16
#define MC_QP_DECODE_FINAL_MAX (MC_QP_WS_HOLD + 8)

/* ---- sizes ------------------------------------------------------------- */

/* Upper bound on what one mc_qp_encode_update of n bytes followed by
 * mc_qp_encode_final can write, whatever the encoder's state: every byte
 * escaped (3 characters), plus soft line breaks. Roughly 3.1 * n + 30.
 * Returns SIZE_MAX if the result would not fit in size_t. */
MC_API size_t mc_qp_encode_bound(size_t n, unsigned flags);

/* Upper bound on what one mc_qp_decode_update of n input bytes can write,
 * whatever the decoder's state: n plus the bytes it may hold back (n * 2 with
 * MC_QP_CRLF, as a bare LF becomes CRLF). mc_qp_decode_final writes at most
 * MC_QP_DECODE_FINAL_MAX more. */
MC_API size_t mc_qp_decode_bound(size_t n, unsigned flags);

/* ---- streaming encode ---------------------------------------------------- */

struct mc_qp_kernels; /* private */

/* Caller-owned; treat the fields as private. */
struct mc_qp_encoder {
	const struct mc_qp_kernels *k;
	unsigned flags;
	unsigned col;          /* characters on the current output line */
	unsigned char pend_ws; /* 0, or a space/tab that may end a line */
	unsigned char pend_cr; /* text mode: a CR waiting to see if LF follows */
	unsigned char nfrom;   /* MC_QP_FROM: bytes of "From " matched at a line start */
};

/* flags: MC_QP_BINARY, MC_QP_CRLF, MC_QP_DOT, MC_QP_FROM. Uses the
 * process-wide kernel set. */
MC_API void mc_qp_encoder_init(struct mc_qp_encoder *st, unsigned flags);

/* As mc_qp_encoder_init, bound to one kernel set (enum mc_isa). Returns
 * MC_EUNSUPPORTED (and leaves st unusable) if isa is not supported here. */
MC_API MC_MUST_CHECK mc_status mc_qp_encoder_init_isa(struct mc_qp_encoder *st, unsigned flags,
                                                      int isa);

/* Encodes n bytes of src into dst, which must have room for
 * mc_qp_encode_bound(n, flags) bytes. Returns the bytes written. Bytes whose
 * encoding depends on what follows (a space or tab, a CR, the start of
 * "From ") are held in st until it is known. src and dst must not overlap.
 *
 * Rules: bytes 33..126 except '=' and, when not at the end of a line, space
 * and tab are literal; every other byte is =XX (upper-case hex). Text mode:
 * LF or CRLF in the input is a hard line break; a lone CR is =0D. A space or
 * tab before a line break or at the end of the input is escaped. An encoded
 * unit is never split by a soft break ("=" + line break). */
MC_API size_t mc_qp_encode_update(struct mc_qp_encoder *st, const void *src, size_t n, char *dst);

/* Writes what the encoder holds (at most MC_QP_ENCODE_FINAL_MAX bytes). No
 * line break is added: output ends where the input ended. Returns the bytes
 * written; the encoder may then be used again for a new input. */
MC_API size_t mc_qp_encode_final(struct mc_qp_encoder *st, char *dst);

/* One-shot: dst needs mc_qp_encode_bound(n, flags) bytes (no NUL is written).
 * Returns the encoded length. */
MC_API size_t mc_qp_encode(const void *src, size_t n, char *dst, unsigned flags);

/* ---- streaming decode ---------------------------------------------------- */

/* Caller-owned; treat the fields as private. */
struct mc_qp_decoder {
	const struct mc_qp_kernels *k;
	uint64_t offset;     /* input bytes consumed so far */
	uint64_t err_offset; /* offset of the first bad byte once status != MC_OK */
	uint64_t eq_offset;  /* offset of the held '=' */
	unsigned flags;
	unsigned char eq;  /* a '=' is held (escape or soft break in progress) */
	unsigned char hex; /* after '=': the first hex digit, or 0 */
	unsigned char cr;  /* a CR is held (after the white space, if any) */
	unsigned char nws; /* white space held in ws[] */
	short status;      /* sticky: once an error is returned, update/final repeat it */
	unsigned char ws[MC_QP_WS_HOLD];
};

/* flags: MC_QP_CRLF (hard line breaks out as CRLF), MC_QP_STRICT.
 *
 * Both modes: "=XX" with hex digits in either case is the byte XX; "=" then
 * optional spaces/tabs then a line break (LF or CRLF) is a soft break and
 * vanishes, as does "=" (plus optional white space) at the very end of the
 * input (a body whose final CRLF went to the MIME boundary); spaces and tabs
 * before a line break or at the end of the input are dropped (RFC 2045
 * rule 3).
 *
 * Lenient (default): a '=' not starting a valid escape or soft break is kept
 * literally with what follows it; a lone CR or LF is kept (a lone LF is a line
 * break); any other byte passes through. Never fails.
 *
 * MC_QP_STRICT: a '=' that starts neither is MC_EBADESC at the '='; a byte
 * above 126, a control byte other than tab/CR/LF, or a CR not followed by LF
 * is MC_EBADCHAR at that byte. */
MC_API void mc_qp_decoder_init(struct mc_qp_decoder *st, unsigned flags);
MC_API MC_MUST_CHECK mc_status mc_qp_decoder_init_isa(struct mc_qp_decoder *st, unsigned flags,
                                                      int isa);

/* Decodes n bytes of src into dst, which must have room for
 * mc_qp_decode_bound(n, flags) bytes. *written receives the bytes written,
 * also on error: everything before the bad sequence is decoded and kept.
 * Returns MC_OK or (strict) MC_EBADESC / MC_EBADCHAR, whose input offset,
 * counted from the first byte given to this decoder, is returned by
 * mc_qp_decoder_error_offset. Errors are sticky. */
MC_API MC_MUST_CHECK mc_status mc_qp_decode_update(struct mc_qp_decoder *st, const char *src,
                                                   size_t n, void *dst, size_t *written);

/* Ends the input: writes what the decoder held that is data (at most
 * MC_QP_DECODE_FINAL_MAX bytes) and, in strict mode, reports an unfinished
 * escape. */
MC_API MC_MUST_CHECK mc_status mc_qp_decode_final(struct mc_qp_decoder *st, void *dst,
                                                  size_t *written);

/* The offset of the first bad byte after an error; 0 while there is none. */
MC_API uint64_t mc_qp_decoder_error_offset(const struct mc_qp_decoder *st);

/* One-shot: dst needs mc_qp_decode_bound(n, flags) bytes. On return *written
 * holds the decoded length (on error: the bytes decoded before the bad
 * sequence) and, if err_offset is not NULL, *err_offset the offset of the
 * first bad byte. */
MC_API MC_MUST_CHECK mc_status mc_qp_decode(const char *src, size_t n, void *dst, size_t *written,
                                            unsigned flags, size_t *err_offset);

#ifdef __cplusplus
}
#endif
#endif
