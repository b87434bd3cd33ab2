/* test_scan.c: the MIME parser's line and boundary scanners (codec/scan*.c,
 * contract in codec/scan_internal.h). Every kernel set this CPU runs is
 * compared with the scalar one, and the scalar one with a byte-by-byte
 * reference, on every length 0..300: random text over the bytes that
 * matter, and a plain background with a match planted at every offset
 * (with decoys around it). Inputs sit flush against PROT_NONE pages on both
 * sides, so a read past either end faults even where ASan cannot see it
 * (masked AVX-512 loads). Closes with "N passed, N failed". */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mimecodec/isa.h"
#include "scan_internal.h"
#include "test.h"

#define MAXLEN 300

/* ---- byte-by-byte references ---------------------------------------------------- */

static size_t ref_eol(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] == '\n')
			return i;
	return n;
}

static size_t ref_dashline(const char *p, size_t n)
{
	for (size_t i = 0; i + 2 < n; i++)
		if (p[i] == '\n' && p[i + 1] == '-' && p[i + 2] == '-')
			return i;
	return n;
}

static size_t ref_field_end(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\0')
			return i;
		if (p[i] == '\n' && (i + 1 == n || (p[i + 1] != ' ' && p[i + 1] != '\t')))
			return i;
	}
	return n;
}

/* ---- guarded buffers -------------------------------------------------------------- */

static size_t page;
static char *region; /* guard | 2 data pages | guard */

static int guard_init(void)
{
	page = (size_t)sysconf(_SC_PAGESIZE);
	region = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		return 0;
	return mprotect(region, page, PROT_NONE) == 0 &&
	       mprotect(region + 3 * page, page, PROT_NONE) == 0;
}

/* n bytes ending at the upper guard page, or starting at the lower one. */
static char *at_end(size_t n)
{
	return region + 3 * page - n;
}

static char *at_start(void)
{
	return region + page;
}

static uint64_t rng = 0x5ca75ca75ca75ca7u;

static unsigned rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng >> 11);
}

/* ---- the checks --------------------------------------------------------------------- */

static const struct mc_scan_kernels *sets[MC_ISA_COUNT_];
static int nsets;

/* Every kernel of every set on src[0..n), copied flush against each guard. */
static void check_all(const char *src, size_t n, const char *what, size_t arg)
{
	size_t want_eol = ref_eol(src, n), want_dash = ref_dashline(src, n),
	       want_field = ref_field_end(src, n);

	for (int side = 0; side < 2; side++) {
		char *p = side ? at_start() : at_end(n);

		if (n)
			memcpy(p, src, n);
		for (int s = 0; s < nsets; s++) {
			CHECK_EQ_SIZE(sets[s]->eol(p, n), want_eol);
			CHECK_EQ_SIZE(sets[s]->dashline(p, n), want_dash);
			CHECK_EQ_SIZE(sets[s]->field_end(p, n), want_field);
			MC_TEST_CTX("%s, %s n=%zu arg=%zu side=%d\n", sets[s]->name, what, n, arg,
			            side);
		}
		CHECK_EQ_MEM(p, n, src, n); /* the kernels only read */
	}
}

static void test_random(void)
{
	static const char alphabet[] = "\n\n\n---  \t\r\0ab:";
	char buf[MAXLEN];

	for (size_t n = 0; n <= MAXLEN; n++) {
		for (int rep = 0; rep < 40; rep++) {
			/* sparse (mostly 'a') or dense in the interesting bytes */
			unsigned dense = (unsigned)rep % 4;
			for (size_t i = 0; i < n; i++)
				buf[i] = rnd() % 8 < dense * 2
				             ? alphabet[rnd() % (sizeof alphabet - 1)]
				             : 'a';
			check_all(buf, n, "random", (size_t)rep);
		}
	}
}

/* One match planted at each offset o; decoys (half matches) before it. */
static void test_planted(void)
{
	static const char *const plants[] = {"\n--", "\n-",  "\n",     "\n\n", "\n \n",
	                                     "\0",   "\n\t", "\r\n--", "-\n--"};
	char buf[MAXLEN];

	for (size_t n = 0; n <= MAXLEN; n++) {
		for (size_t pi = 0; pi < sizeof plants / sizeof plants[0]; pi++) {
			size_t pl = pi == 5 ? 1 : strlen(plants[pi]);

			for (size_t o = 0; o < n; o++) {
				memset(buf, 'x', n);
				/* decoys: "-" and "\n " and "-\n-" well before o */
				for (size_t d = o % 7; d + 4 < o; d += 23) {
					buf[d] = '-';
					buf[d + 1] = '\n';
					buf[d + 2] = ' ';
					buf[d + 3] = '-';
				}
				for (size_t k = 0; k < pl && o + k < n; k++)
					buf[o + k] = plants[pi][k];
				check_all(buf, n, plants[pi][0] == '\0' ? "planted NUL" : "planted",
				          o * 100 + pi);
			}
		}
	}
}

/* Longer inputs: the unrolled loops and their exits. */
static void test_long(void)
{
	static char buf[3 * 4096];
	size_t n = page + page / 2;

	if (n > sizeof buf)
		n = sizeof buf;
	for (size_t o = 0; o < n; o += 37) {
		memset(buf, 'Q', n);
		buf[o] = '\n';
		if (o + 1 < n)
			buf[o + 1] = '-';
		if (o + 2 < n)
			buf[o + 2] = '-';
		check_all(buf, n, "long", o);
		check_all(buf, n - o % 131, "long, cut", o);
	}
}

int main(void)
{
	if (!guard_init()) {
		fprintf(stderr, "test_scan: cannot map guard pages\n");
		return 1;
	}
	for (int isa = MC_ISA_SCALAR; isa < MC_ISA_COUNT_; isa++) {
		const struct mc_scan_kernels *k = mc__scan_kernels_for(isa);
		if (k && (isa == MC_ISA_SCALAR || k != &mc__scan_scalar)) {
			sets[nsets++] = k;
			printf("kernel set %s\n", k->name);
		}
	}
	CHECK(nsets >= 1);
	CHECK(mc__scan_kernels_for(MC_ISA_AUTO) != NULL);
	test_random();
	test_planted();
	test_long();
	MC_TEST_END();
}
