/* scan_internal.h: the line and boundary scanners of the MIME parser
 * (mime/parser.c): the contract between the parser and its kernels (scalar
 * in scan.c, scan_avx2.c, scan_avx512.c), chosen like the codecs' kernels
 * (isa.c, MIMECODEC_ISA). RFC 5322 section 2.2 (fields, folding), RFC 2046
 * section 5.1.1 (delimiter lines). Not installed.
 *
 * Every kernel returns an index into p[0..n), or n for "none"; all kernels
 * of one set return exactly what the scalar ones return, read only p[0..n)
 * and never look at bytes before p. */
#ifndef MC_SCAN_INTERNAL_H
#define MC_SCAN_INTERNAL_H

#include <stddef.h>
#include "mimecodec/isa.h"

struct mc_scan_kernels {
	int isa; /* enum mc_isa */
	const char *name;

	/* Line end: the first '\n' in p[0..n), or n. */
	size_t (*eol)(const char *p, size_t n);

	/* Delimiter candidate: the first i with p[i] == '\n', p[i + 1] == '-'
	 * and p[i + 2] == '-' (so i + 2 < n), or n. */
	size_t (*dashline)(const char *p, size_t n);

	/* Header field end: the first i with p[i] == '\0', or with p[i] == '\n'
	 * and either i + 1 == n or p[i + 1] neither SP nor HT (the '\n' that
	 * is not followed by a folded line), or n. */
	size_t (*field_end)(const char *p, size_t n);
};

extern const struct mc_scan_kernels mc__scan_scalar;
#if MC_HAVE_AVX2
extern const struct mc_scan_kernels mc__scan_avx2;
#endif
#if MC_HAVE_AVX512
extern const struct mc_scan_kernels mc__scan_avx512;
#endif

/* The kernel set for isa (MC_ISA_AUTO: the active one); NULL if it is not
 * supported here. ISAs without scanners of their own (NEON) get scalar. */
const struct mc_scan_kernels *mc__scan_kernels_for(int isa);

/* The scalar kernels, for SIMD kernels that finish a tail with them. */
size_t mc__scan_eol_scalar(const char *p, size_t n);
size_t mc__scan_dashline_scalar(const char *p, size_t n);
size_t mc__scan_field_end_scalar(const char *p, size_t n);

#endif
