/* qp_internal.h: the contract between the quoted-printable state machines
 * (qp.c) and their bulk kernels (scalar in qp.c, qp_avx2.c, qp_avx512.c).
 *
 * Kernels only ever see the easy case: they start with nothing held (no
 * pending white space, CR, '=' or "From" prefix) and stop wherever they like,
 * as long as nothing would be held at the stop either; what they write must
 * be exactly what the byte-at-a-time state machine in qp.c writes for the
 * bytes they consumed. They may look at any byte of src[0..n), never beyond,
 * to decide; a byte whose fate depends on bytes past n is left to the state
 * machine. Everything else (held bytes, errors, offsets) stays in qp.c, which
 * is the specification. */
#ifndef MC_QP_INTERNAL_H
#define MC_QP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "mimecodec/qp.h"
#include "mimecodec/isa.h"

/* Encoded units never go past column 75, so a soft break's '=' fits in 76. */
#define MC_QP_COL_MAX (MC_QP_LINE_MAX - 1)

struct mc_qp_kernels {
	int isa; /* enum mc_isa */
	const char *name;

	/* Encodes a prefix of src[0..n) with the encoder in the clean state
	 * (col = *col, nothing held) under flags (enum mc_qp_flags). Returns
	 * the input bytes consumed; *written receives the output length and
	 * *col the new column. dst has room for 3 bytes per input byte plus
	 * a soft break (3 bytes) per 73 output characters plus 3. */
	size_t (*enc)(const uint8_t *src, size_t n, char *dst, size_t *written, unsigned *col,
	              unsigned flags);

	/* Decodes a prefix of src[0..n) with the decoder in the clean state
	 * (nothing held), under flags (MC_QP_CRLF, MC_QP_STRICT). Stops before
	 * anything that is an error in strict mode. Returns the input bytes
	 * consumed; *written receives the output length (at most the bytes
	 * consumed, twice that with MC_QP_CRLF). */
	size_t (*dec)(const char *src, size_t n, uint8_t *dst, size_t *written, unsigned flags);
};

extern const struct mc_qp_kernels mc__qp_scalar;
#if MC_HAVE_AVX2
extern const struct mc_qp_kernels mc__qp_avx2;
#endif
#if MC_HAVE_AVX512
extern const struct mc_qp_kernels mc__qp_avx512;
#endif

/* The kernel table for isa (MC_ISA_AUTO: the active one); NULL if not
 * supported here. An ISA without QP kernels of its own (NEON for now) gets
 * the scalar ones; AVX2 has its own decoder and the scalar encoder. */
const struct mc_qp_kernels *mc__qp_kernels_for(int isa);

/* The scalar kernels, for SIMD kernels that finish a stretch with them. */
size_t mc__qp_enc_scalar(const uint8_t *src, size_t n, char *dst, size_t *written, unsigned *col,
                         unsigned flags);
size_t mc__qp_dec_scalar(const char *src, size_t n, uint8_t *dst, size_t *written, unsigned flags);

/* Decoder kernels: white space in a block of w bytes (w = 32 or 64; bit k is
 * byte k). A run of spaces/tabs is data when the byte after it is data or
 * '=' (lit), and vanishes when it is a single byte before a line break
 * (drop); brnext / litnext say that of the byte after each one, ws1 whether
 * it is white space too. Returns the start of the first other run (a longer
 * run before a break, one that goes past the block), or w: the kernel stops
 * there and the state machine, which holds white space, takes the run. */
static inline unsigned mc__qp_ws_runs(uint64_t ws, uint64_t ws1, uint64_t litnext, uint64_t brnext,
                                      unsigned w, uint64_t *lit, uint64_t *drop)
{
	uint64_t starts = ws & ~(ws << 1), ends = ws & ~ws1;
	uint64_t single = starts & ends & brnext;
	uint64_t badend = (ends & ~litnext & ~single) | (ws & ws1 & (uint64_t)1 << (w - 1));
	unsigned cut = w;

	if (badend) {
		unsigned e = (unsigned)__builtin_ctzll(badend);
		uint64_t upto = e == 63 ? ~(uint64_t)0 : ((uint64_t)2 << e) - 1;
		cut = 63 - (unsigned)__builtin_clzll(starts & upto); /* its run's start */
	}
	uint64_t below = cut >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << cut) - 1;
	*lit = ws & below & ~single;
	*drop = single & below;
	return cut;
}

/* Per-byte classes for the encoder: bit 0 set when the byte is written as
 * =XX wherever it is (not counting text-mode CR/LF, space/tab at a line end,
 * '.' and 'F' at a line start). */
extern const uint8_t mc__qp_enc_escape[256];
/* Upper-case hex digits. */
extern const char mc__qp_hex[16];

#endif
