/* scan.c: the scalar line and boundary scanners of the MIME parser and their
 * dispatch (contract: scan_internal.h). RFC 5322 section 2.2 (header fields
 * and folding), RFC 2046 section 5.1.1 (delimiter lines).
 *
 * The scalar kernels are the specification. They lean on memchr, which libc
 * already vectorises, so even the scalar set skips a base64 body at memory
 * speed; the SIMD sets (scan_avx2.c, scan_avx512.c) save the calls and the
 * second passes on the short lines of header blocks. */
#include <string.h>

#include "isa_internal.h"
#include "scan_internal.h"

size_t mc__scan_eol_scalar(const char *p, size_t n)
{
	const char *r = n ? memchr(p, '\n', n) : NULL;

	return r ? (size_t)(r - p) : n;
}

/* Walks the '-' bytes: a body without any (base64) costs one memchr. */
size_t mc__scan_dashline_scalar(const char *p, size_t n)
{
	size_t j = 0; /* candidates for the first '-' are j + 1 .. n - 2 */

	while (j + 2 < n) {
		const char *r = memchr(p + j + 1, '-', n - j - 2);

		if (!r)
			break;
		j = (size_t)(r - p);
		if (p[j + 1] != '-') {
			j++; /* p[j + 1] is not a '-' either: the next one is later */
			continue;
		}
		if (p[j - 1] == '\n')
			return j - 1;
	}
	return n;
}

size_t mc__scan_field_end_scalar(const char *p, size_t n)
{
	size_t i = 0;

	for (;;) {
		size_t e = i + mc__scan_eol_scalar(p + i, n - i);
		const char *z = e > i ? memchr(p + i, '\0', e - i) : NULL;

		if (z)
			return (size_t)(z - p);
		if (e + 1 >= n) /* no line break, or the last byte is one */
			return e;
		if (p[e + 1] != ' ' && p[e + 1] != '\t')
			return e;
		i = e + 1;
	}
}

const struct mc_scan_kernels mc__scan_scalar = {
    .isa = MC_ISA_SCALAR,
    .name = "scalar",
    .eol = mc__scan_eol_scalar,
    .dashline = mc__scan_dashline_scalar,
    .field_end = mc__scan_field_end_scalar,
};

const struct mc_scan_kernels *mc__scan_kernels_for(int isa)
{
	if (isa == MC_ISA_AUTO)
		isa = mc_isa_active();
	if (!mc_isa_supported(isa))
		return NULL;
	switch (isa) {
#if MC_HAVE_AVX2
	case MC_ISA_AVX2:
		return &mc__scan_avx2;
#endif
#if MC_HAVE_AVX512
	case MC_ISA_AVX512:
		return &mc__scan_avx512;
#endif
	default:
		return &mc__scan_scalar;
	}
}
