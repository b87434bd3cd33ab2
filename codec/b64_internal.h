/* b64_internal.h: the contract between the base64 state machine (b64.c) and
 * its kernels (scalar in b64.c, b64_avx2.c, b64_avx512.c, b64_neon.c).
 *
 * Kernels only ever see the easy case: whole 3-byte groups to encode, or a
 * run of alphabet characters and whitespace to decode starting on a quantum
 * boundary. Everything else (partial groups, padding, bad bytes, error
 * offsets) stays in the scalar state machine, which is the specification. */
#ifndef MC_B64_INTERNAL_H
#define MC_B64_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "mimecodec/base64.h"
#include "mimecodec/isa.h"

#define MC__B64_NT 2 /* in the url argument of enc and enc_wrap */

struct mc_b64_kernels {
	int isa; /* enum mc_isa */
	const char *name;

	/* Encodes whole 3-byte groups of src[0..n) with no line breaks; writes
	 * 4 characters per group to dst. Returns the input bytes consumed: a
	 * multiple of 3, possibly less than n - n % 3 (the caller finishes the
	 * tail with the scalar kernel). Reads only src[0..n), writes only
	 * dst[0..consumed/3*4). Bit 0 of url selects the RFC 4648 section 5
	 * alphabet; MC__B64_NT may be set with it (MC_B64_NOCACHE: non-temporal
	 * stores welcome at any size; a kernel may ignore it). */
	size_t (*enc)(const uint8_t *src, size_t n, char *dst, int url);

	/* Optional (NULL: the generic wrapper in b64.c is used). As enc, but
	 * breaks lines: before each character, if *col == wrap, it writes the
	 * line break (LF, or CRLF when crlf) and sets *col = 0. wrap > 0.
	 * *written receives the output length; *col is updated. url as for enc. */
	size_t (*enc_wrap)(const uint8_t *src, size_t n, char *dst, size_t *written, unsigned wrap,
	                   unsigned *col, int crlf, int url);

	/* Decodes src[0..n), which starts on a quantum boundary, skipping CR, LF,
	 * space and tab. Stops before the first other non-alphabet byte (the
	 * scalar state machine deals with it) or wherever it likes. Returns the
	 * input bytes consumed, which must end on a quantum boundary: a multiple
	 * of 4 alphabet characters (plus whitespace) was consumed, and the
	 * 3-per-4 decoded bytes were written to dst ( *written ). Reads only
	 * src[0..n). */
	size_t (*dec)(const char *src, size_t n, uint8_t *dst, size_t *written, int url);
};

extern const struct mc_b64_kernels mc__b64_scalar;
#if MC_HAVE_AVX2
extern const struct mc_b64_kernels mc__b64_avx2;
#endif
#if MC_HAVE_AVX512
extern const struct mc_b64_kernels mc__b64_avx512;
#endif
#if MC_HAVE_NEON
extern const struct mc_b64_kernels mc__b64_neon;
#endif

/* The kernel table for isa (MC_ISA_AUTO: the active one); NULL if not
 * compiled in or not supported by this CPU. */
const struct mc_b64_kernels *mc__b64_kernels_for(int isa);

/* The scalar kernels, for SIMD kernels that want to finish a tail in place. */
size_t mc__b64_enc_scalar(const uint8_t *src, size_t n, char *dst, int url);
size_t mc__b64_dec_scalar(const char *src, size_t n, uint8_t *dst, size_t *written, int url);

/* Alphabets: [0] standard, [1] URL-safe. */
extern const char mc__b64_alphabet[2][65];

#endif
