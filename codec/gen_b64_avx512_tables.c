/* gen_b64_avx512_tables.c: writes codec/b64_avx512_tables.h, the per-block
 * tables of the AVX-512 wrapped (MIME) encoder and the line tables of the
 * MIME decoder in b64_avx512.c. A build tool, not part of the library.
 * Regenerate (from the repository root) with:
 *   cc -std=c11 -O2 -o /tmp/gen codec/gen_b64_avx512_tables.c &&
 *   /tmp/gen > codec/b64_avx512_tables.h && clang-format-14 -i codec/b64_avx512_tables.h
 *
 * Design note ("b64 avx512 wrap tables"): with W characters per line and an
 * E-byte line break, the output is periodic with a line of L = W + E bytes.
 * Cut the output into 64-byte blocks from a line start: block k starts at
 * output offset 64k, at phase 64k mod L, and the blocks repeat after
 * P = L / gcd(64, L) blocks (64P / L lines). Row k of a table describes
 * block k of that period:
 *   in     input offset of the load, relative to the period's first input
 *          byte: the start of the 3-byte group of the block's first character
 *          (so the block reads the 64 bytes in[in..in+64), of which at most
 *          the first 51 matter);
 *   perm   vpermb index: output qword q gathers the input bytes its
 *          characters need, byte-reversed (the first into byte 7), so that
 *          the qword read as a little-endian integer is the big-endian bit
 *          stream. Bit 7 (ignored by vpermb) is set for the output bytes that
 *          are characters: vpmovb2m makes it the character mask on port 0,
 *          instead of a mask load that gcc turns into a port-5 GPR move;
 *   shift  vpmultishiftqb control: character c of the qword starts at bit
 *          shift of that integer (bits shift..shift+5; the top 2 bits of the
 *          byte are junk, which the alphabet vpermb ignores). Bit 7 (ignored
 *          by vpmultishiftqb) marks the CRs of the line breaks; the other
 *          non-characters are LFs;
 *   rout, rcol: where the other paths resume when the table loop stops
 *          before this block: at the start of the 3-byte group of the block's
 *          first character (input offset in), the output offset of that
 *          group (or of the line break before it when the group starts a
 *          line: breaks are lazy) and the column there.
 *   start[col / 4]: the row whose block starts at phase col (col a multiple
 *          of 4, 0..W): the kernel's entry point for that column. */
#include <stdio.h>
#include <stdlib.h>

static unsigned gcd(unsigned a, unsigned b)
{
	while (b) {
		unsigned t = a % b;

		a = b;
		b = t;
	}
	return a;
}

static void fail(const char *what)
{
	fprintf(stderr, "gen_b64_avx512_tables: %s\n", what);
	exit(1);
}

static void gen(const char *name, unsigned W, unsigned E)
{
	unsigned L = W + E, P = L / gcd(64, L);
	unsigned char perm[256][64], shift[256][64];
	unsigned long long chars[256];
	long in[256], rout[256], rcol[256];
	int start[256];

	if (W % 4 || W < 64 || P > 256)
		fail("unsupported wrap");
	for (unsigned c = 0; c <= W; c += 4)
		start[c / 4] = -1;
	for (unsigned k = 0; k < P; k++) {
		long O = 64L * k, line = O / L, pos = O % L;
		/* first character at or after O, as a stream index */
		long c0 = pos < W ? line * W + pos : (line + 1) * W;
		long base = c0 / 4 * 3, cl = c0 % W, cline = c0 / W;

		if (pos % 4 == 0 && pos <= W)
			start[pos / 4] = (int)k;
		in[k] = base;
		if (cl == 0) {
			/* Before the lazy break (at -E for row 0: the end of the
			 * previous period, only used once a block has run). */
			rout[k] = cline * L - E;
			rcol[k] = W;
		} else {
			rout[k] = cline * L + cl / 4 * 4;
			rcol[k] = cl / 4 * 4;
		}
		chars[k] = 0;
		for (unsigned q = 0; q < 8; q++) {
			long first = -1; /* first character of the qword */
			long sb = 0;

			for (unsigned j = 8 * q; j < 8 * q + 8; j++) {
				long x = O + j, l = x / L, p = x % L;

				perm[k][j] = shift[k][j] = 0;
				if (p >= W) {
					if (E == 2 && p == W)
						shift[k][j] = 0x80; /* CR */
					continue;
				}
				long c = l * W + p;

				if (first < 0) {
					first = c;
					sb = 6 * c / 8 - base; /* first input byte, load-relative */
				}
				long b = 6 * c - 8 * (base + sb); /* bit in the big-endian qword */

				if (b < 0 || b + 6 > 56)
					fail("qword span");
				chars[k] |= 1ull << j;
				shift[k][j] = (unsigned char)(58 - b);
			}
			for (unsigned m = 0; m < 8; m++) {
				long idx = sb + m;

				if (first >= 0 && m < 7 && idx > 63)
					fail("load span");
				perm[k][8 * q + 7 - m] = (unsigned char)(idx > 63 ? 63 : idx);
			}
			for (unsigned j = 8 * q; j < 8 * q + 8; j++)
				if (chars[k] >> j & 1)
					perm[k][j] |= 0x80;
		}
	}
	/* With CRLF only even phases are visited from phase 0, but every
	 * col % 4 == 0 is even. */
	for (unsigned c = 0; c <= W; c += 4)
		if (start[c / 4] < 0)
			fail("unreachable start phase");

	printf("\n/* W = %u, E = %u: L = %u, P = %u blocks = %u lines = %u input bytes. */\n", W, E,
	       L, P, 64 * P / L, 64 * P / L * W / 4 * 3);
	printf("static const struct encw_row encw_%s_rows[%u] = {\n", name, P);
	for (unsigned k = 0; k < P; k++) {
		printf("    {.perm = {");
		for (unsigned j = 0; j < 64; j++)
			printf("%u,", perm[k][j]);
		printf("},\n     .shift = {");
		for (unsigned j = 0; j < 64; j++)
			printf("%u,", shift[k][j]);
		printf("}},\n");
	}
	printf("};\n");
	printf("static const struct encw_meta encw_%s_meta[%u] = {\n", name, P);
	for (unsigned k = 0; k < P; k++)
		printf("    {%ld, %ld, %ld},\n", in[k], rout[k], rcol[k]);
	printf("};\n");
	printf("static const struct encw_table encw_%s = {\n", name);
	printf("    %u, %u, %u, {", P, 64 * P / L * W / 4 * 3, 64 * P);
	for (unsigned c = 0; c <= W; c += 4)
		printf("%d,", start[c / 4]);
	printf("}, encw_%s_rows, encw_%s_meta};\n", name, name);
}

/* Decode ("b64 avx512 line tables"): lines of W characters plus an E-byte
 * break, read in windows of 64 characters from a line start. After
 * P = W / gcd(W, 64) windows (64P / W lines) the pattern repeats. Row k:
 *   off   input offset of window k from the period's first byte;
 *   brk   offset of the next line break at or after the window's start
 *         (inside the window, or the one just after it);
 *   bmo   16 at, where at (<= 64, a multiple of 4) is the window offset of
 *         the break: the byte offset of decl_blend[at / 4], which has 0xff
 *         in bytes at..63, the blend mask (an aligned load: unaligned ones
 *         split a cache line);
 *   r     characters left on the line at the window's start.
 * Rows P..P+2 repeat rows 0..2 one period on, so that four windows from any
 * row j < P read rows j..j+3 with no wrap test between them. */
static void gen_dec(const char *name, unsigned W, unsigned E)
{
	unsigned P = W / gcd(W, 64), lines = 64 * P / W;
	unsigned long i = 0, r = W;

	printf("\n/* W = %u, E = %u: P = %u windows = %u lines. */\n", W, E, P, lines);
	printf("static const struct decl_row decl_%s_rows[%u] = {", name, P + 3);
	for (unsigned k = 0; k < P + 3; k++) {
		unsigned long at = r < 64 ? r : 64;

		if (k == P && (r != W || i != (unsigned long)lines * (W + E)))
			fail("decode period");
		if (at % 4 || i + r > 65535)
			fail("decode row");
		printf("{%lu, %lu, %lu, %lu},", i, i + r, 16 * at, r);
		i += r <= 64 ? 64 + E : 64;
		r = r <= 64 ? r + W - 64 : r - 64;
	}
	printf("};\n");
	i = (unsigned long)lines * (W + E);
	printf("static const struct decl_table decl_%s = {%u, %u, %lu, decl_%s_rows};\n", name, W,
	       P, i, name);
}

int main(void)
{
	printf("/* b64_avx512_tables.h: generated by codec/gen_b64_avx512_tables.c (see its\n"
	       " * header for the design note and how to regenerate); do not edit. */\n");
	printf("#ifndef MC_B64_AVX512_TABLES_H\n#define MC_B64_AVX512_TABLES_H\n\n");
	printf("#include <stdint.h>\n\n");
	printf("struct encw_row {\n"
	       "\t_Alignas(64) uint8_t perm[64];\n"
	       "\tuint8_t shift[64];\n"
	       "};\n\n"
	       "struct encw_meta {\n"
	       "\tint32_t in, rout, rcol;\n"
	       "};\n\n"
	       "struct encw_table {\n"
	       "\tunsigned rows, period_in, period_out;\n"
	       "\tint8_t start[20]; /* by col / 4 */\n"
	       "\tconst struct encw_row *row;\n"
	       "\tconst struct encw_meta *meta;\n"
	       "};\n");
	gen("76crlf", 76, 2);
	gen("76lf", 76, 1);
	gen("64lf", 64, 1);
	printf("\nstruct decl_row {\n"
	       "\tuint16_t off, brk, bmo, r;\n"
	       "};\n\n"
	       "struct decl_table {\n"
	       "\tunsigned W, rows, period_in;\n"
	       "\tconst struct decl_row *row;\n"
	       "};\n");
	printf("\nstatic const _Alignas(64) uint8_t decl_blend[17][64] = {\n");
	for (unsigned a = 0; a <= 16; a++) {
		printf("    {");
		for (unsigned j = 0; j < 64; j++)
			printf("%s,", j >= 4 * a ? "0xff" : "0");
		printf("},\n");
	}
	printf("};\n");
	gen_dec("76crlf", 76, 2);
	gen_dec("76lf", 76, 1);
	gen_dec("64crlf", 64, 2);
	gen_dec("64lf", 64, 1);
	printf("\n#endif\n");
	return 0;
}
