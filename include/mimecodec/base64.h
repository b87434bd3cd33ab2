/* mimecodec/base64.h: base64 encoding and decoding.
 * RFC 4648 sections 4 (base64) and 5 (base64url); RFC 2045 section 6.8
 * (MIME: 76-column lines, CRLF, whitespace skipped on decode).
 *
 * Every function here is allocation-free and thread-safe. Streaming states are
 * caller-owned; any split of the input across update calls gives output
 * byte-identical to the one-shot call. */
#ifndef MIMECODEC_BASE64_H
#define MIMECODEC_BASE64_H

#include <stddef.h>
#include <stdint.h>
#include "export.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum mc_b64_flags {
	MC_B64_URL = 1u << 0,   /* alphabet of RFC 4648 section 5: '-' and '_' for '+' and '/' */
	MC_B64_NOPAD = 1u << 1, /* encode: write no '='. strict decode: '=' is an error */
	MC_B64_CRLF = 1u << 2,  /* encode: line breaks are CRLF (default: LF) */
	/* encode: the output is not read again soon by this thread (it goes to
	 * a file, a socket or another thread): the SIMD kernels store it around
	 * the caches (non-temporal stores) at any size, as they do on their own
	 * from 4-16 MiB per call. The output is the same. */
	MC_B64_NOCACHE = 1u << 3,
};

/* Decode modes. All of them accept a final quantum without padding except
 * MC_B64_STRICT (unless MC_B64_NOPAD is given, where padding is forbidden). */
enum mc_b64_mode {
	/* MIME: CR, LF, space and tab are skipped anywhere; any other byte outside
	 * the alphabet is MC_EBADCHAR. Padding is lenient: it ends the quantum,
	 * more data may follow (concatenated encodings), missing padding and
	 * non-zero trailing bits are accepted. A lone final character (6 bits,
	 * not a byte) is MC_ETRUNC. */
	MC_B64_MIME = 0,
	/* STRICT: CR, LF, space and tab are skipped; any other byte outside the
	 * alphabet, '=' anywhere but at the end of the last quantum, missing
	 * padding, data after padding and non-zero trailing bits are errors. */
	MC_B64_STRICT = 1,
	/* FORGIVING: every byte outside the alphabet is skipped ('=' included, as
	 * in MIME mode); a lone final character is dropped. Never fails. */
	MC_B64_FORGIVING = 2,
};

/* ---- sizes ------------------------------------------------------------- */

/* Exact length of the one-shot encoding of n bytes: 4 characters per 3 bytes
 * (fewer with MC_B64_NOPAD), plus, when wrap > 0, a line break (1 byte, 2 with
 * MC_B64_CRLF) after every wrap characters and after the last line. Returns
 * SIZE_MAX if the result would not fit in size_t. */
MC_API size_t mc_b64_encoded_size(size_t n, unsigned wrap, unsigned flags);

/* Upper bound on what one mc_b64_encode_update of n bytes followed by
 * mc_b64_encode_final can write, whatever the encoder's state. */
MC_API size_t mc_b64_encode_bound(size_t n, unsigned wrap, unsigned flags);

/* Upper bound on what one mc_b64_decode_update of n input bytes can write,
 * whatever the decoder's state (up to 3 sextets carried in, or a '=' that
 * flushes them): n / 4 * 3 + 3 for n > 0, 0 for n = 0. mc_b64_decode_final
 * writes at most 2 more. */
MC_API size_t mc_b64_decode_bound(size_t n);

/* ---- streaming encode ---------------------------------------------------- */

struct mc_b64_kernels; /* private */

/* Caller-owned; treat the fields as private. */
struct mc_b64_encoder {
	const struct mc_b64_kernels *k;
	unsigned flags;
	unsigned wrap;   /* 0: no line breaks */
	unsigned col;    /* characters on the current output line */
	unsigned ncarry; /* 0..2 input bytes waiting for a full group */
	unsigned char carry[2];
};

/* wrap: characters per line (0 = one unbroken line). flags: MC_B64_URL,
 * MC_B64_NOPAD, MC_B64_CRLF. Uses the process-wide kernel set. */
MC_API void mc_b64_encoder_init(struct mc_b64_encoder *st, unsigned wrap, unsigned flags);

/* As mc_b64_encoder_init, bound to one kernel set. Returns MC_EUNSUPPORTED
 * (and leaves st unusable) if isa is not supported here. */
MC_API MC_MUST_CHECK mc_status mc_b64_encoder_init_isa(struct mc_b64_encoder *st, unsigned wrap,
                                                       unsigned flags, int isa);

/* Encodes n bytes of src into dst, which must have room for
 * mc_b64_encode_bound(n, wrap, flags) bytes. Returns the bytes written. A line
 * break is written only when a character follows it, so the output never ends
 * with a break before final. src and dst must not overlap. */
MC_API size_t mc_b64_encode_update(struct mc_b64_encoder *st, const void *src, size_t n, char *dst);

/* Most mc_b64_encode_final can write: 4 characters and, at wrap 1 with CRLF,
 * a break before each and after the last (8 bytes is the most for wrap >= 4). */
#define MC_B64_FINAL_MAX 14

/* Writes the last group (with padding unless MC_B64_NOPAD) and, when wrap > 0
 * and anything was written, the final line break: at most MC_B64_FINAL_MAX
 * bytes. Returns the bytes written; the encoder may then be initialised again. */
MC_API size_t mc_b64_encode_final(struct mc_b64_encoder *st, char *dst);

/* One-shot: dst needs mc_b64_encoded_size(n, wrap, flags) bytes (no NUL is
 * written). Returns that length. */
MC_API size_t mc_b64_encode(const void *src, size_t n, char *dst, unsigned wrap, unsigned flags);

/* ---- streaming decode ---------------------------------------------------- */

/* Caller-owned; treat the fields as private. */
struct mc_b64_decoder {
	const struct mc_b64_kernels *k;
	uint64_t offset;     /* input bytes consumed so far */
	uint64_t last_data;  /* offset of the last alphabet character */
	uint64_t err_offset; /* offset of the first bad byte once status != MC_OK */
	uint32_t acc;        /* sextets of the open quantum, most significant first */
	unsigned nacc;       /* 0..3 sextets in acc */
	unsigned npad;       /* '=' seen in the current padding run */
	unsigned flags;
	unsigned char mode;
	unsigned char done; /* strict: padding complete, only whitespace may follow */
	short status;       /* sticky: once an error is returned, update/final repeat it */
};

/* mode: enum mc_b64_mode; flags: MC_B64_URL, MC_B64_NOPAD. */
MC_API void mc_b64_decoder_init(struct mc_b64_decoder *st, int mode, unsigned flags);
MC_API MC_MUST_CHECK mc_status mc_b64_decoder_init_isa(struct mc_b64_decoder *st, int mode,
                                                       unsigned flags, int isa);

/* Decodes n bytes of src into dst, which must have room for
 * mc_b64_decode_bound(n) bytes. *written receives the bytes written, also on
 * error: everything before the first bad byte is decoded and kept. Returns
 * MC_OK or an error (MC_EBADCHAR, MC_EBADPAD, MC_ETRAILBITS), whose input
 * offset, counted from the first byte given to this decoder, is returned by
 * mc_b64_decoder_error_offset. Errors are sticky. */
MC_API MC_MUST_CHECK mc_status mc_b64_decode_update(struct mc_b64_decoder *st, const char *src,
                                                    size_t n, void *dst, size_t *written);

/* Ends the input: flushes an unpadded last quantum (at most 2 bytes into dst)
 * and checks the end (MC_EBADPAD for missing padding in strict mode,
 * MC_ETRUNC for a lone final character). */
MC_API MC_MUST_CHECK mc_status mc_b64_decode_final(struct mc_b64_decoder *st, void *dst,
                                                   size_t *written);

/* The offset of the first bad byte after an error (the end of the input for
 * errors found by final); 0 while there is no error. */
MC_API uint64_t mc_b64_decoder_error_offset(const struct mc_b64_decoder *st);

/* One-shot: dst needs mc_b64_decode_bound(n) bytes. On return *written holds
 * the decoded length (on error: the bytes decoded before the bad byte) and,
 * if err_offset is not NULL, *err_offset the offset of the first bad byte. */
MC_API MC_MUST_CHECK mc_status mc_b64_decode(const char *src, size_t n, void *dst, size_t *written,
                                             int mode, unsigned flags, size_t *err_offset);

#ifdef __cplusplus
}
#endif
#endif
