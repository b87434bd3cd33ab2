/* bench_data.c: the data every codec benchmark shares: one random payload,
 * its encodings per size, and one pre-faulted output buffer. Built once and
 * kept for the whole run, so no benchmark times page faults or set-up. */
#include <stdlib.h>
#include <string.h>

#include "mimecodec/base64.h"
#include "mimecodec/isa.h"
#include "mc_bench.h"

const int64_t mc_bench_sizes[] = {
    64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
};
const size_t mc_bench_nsizes = sizeof mc_bench_sizes / sizeof mc_bench_sizes[0];

/* splitmix64: fast, fixed seed, so every run (and every implementation in
 * one run) sees the same bytes. */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

const unsigned char *mc_bench_random(void)
{
	static unsigned char *buf;
	if (!buf) {
		unsigned char *p = malloc(MC_BENCH_MAX_SIZE);
		if (!p)
			return NULL;
		uint64_t seed = 0x6d696d65636f6465u; /* "mimecode" */
		for (size_t i = 0; i < MC_BENCH_MAX_SIZE; i += 8) {
			uint64_t r = splitmix64(&seed);
			memcpy(p + i, &r, 8); /* MC_BENCH_MAX_SIZE is a multiple of 8 */
		}
		buf = p;
	}
	return buf;
}

struct enc_entry {
	size_t n;
	size_t len;
	char *text;
};

/* A handful of sizes per kind; a linear search is plenty. */
#define ENC_CACHE 64
static struct enc_entry enc_cache[2][ENC_CACHE];

const char *mc_bench_encoded(int kind, size_t n, size_t *len)
{
	static const unsigned wrap[2] = {0, 76};
	static const unsigned flags[2] = {0, MC_B64_CRLF};
	if ((kind != MC_BENCH_ENC_PLAIN && kind != MC_BENCH_ENC_MIME) || n > MC_BENCH_MAX_SIZE)
		return NULL;
	struct enc_entry *slot = NULL;
	for (size_t i = 0; i < ENC_CACHE; i++) {
		struct enc_entry *e = &enc_cache[kind][i];
		if (e->text && e->n == n) {
			*len = e->len;
			return e->text;
		}
		if (!e->text && !slot)
			slot = e;
	}
	const unsigned char *raw = mc_bench_random();
	if (!slot || !raw)
		return NULL;
	/* the scalar kernels, whatever this CPU has: the reference that the SIMD
	 * kernels' output is compared with */
	struct mc_b64_encoder e;
	if (mc_b64_encoder_init_isa(&e, wrap[kind], flags[kind], MC_ISA_SCALAR) != MC_OK)
		return NULL;
	char *text = malloc(mc_b64_encode_bound(n, wrap[kind], flags[kind]) + 6);
	if (!text)
		return NULL;
	size_t w = mc_b64_encode_update(&e, raw, n, text);
	slot->len = w + mc_b64_encode_final(&e, text + w);
	slot->n = n;
	slot->text = text;
	*len = slot->len;
	return text;
}

void *mc_bench_scratch(size_t n)
{
	static unsigned char *buf;
	static size_t cap;
	if (n > cap) {
		free(buf);
		/* round up so the few larger requests of the peers do not keep
		 * reallocating */
		size_t want = n + (n >> 2) + 4096;
		buf = malloc(want);
		if (!buf) {
			cap = 0;
			return NULL;
		}
		memset(buf, 0, want); /* fault every page in now, not in a timed loop */
		cap = want;
	}
	return buf;
}
