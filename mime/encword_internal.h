/* encword_internal.h: the charset converter and UTF-8 helpers shared by
 * encword.c (RFC 2047) and rfc2231.c. Library-internal: mc__ names. */
#ifndef MC_ENCWORD_INTERNAL_H
#define MC_ENCWORD_INTERNAL_H

#include <iconv.h>
#include <stddef.h>

#include "mimecodec/encword.h"

/* A conversion from one charset to UTF-8 into dst[o..cap). budget caps the
 * output offset (the 3-bytes-per-input-byte bound; SIZE_MAX for none). */
struct mc__conv {
	iconv_t cd;
	int kind;   /* private: utf-8 policy, latin1-as-cp1252, or iconv */
	int status; /* MC_OK, or MC_ENOSPC once dst ran out (sticky) */
	int dead;   /* the budget ran out: further input is dropped */
	unsigned warnings;
	char *dst;
	size_t cap, o, budget;
};

/* Opens a converter for the charset named cs (cslen bytes; "*lang" ignored).
 * Unknown names get the UTF-8 policy and MC_EW_W_CHARSET. Never fails. */
void mc__conv_open(struct mc__conv *c, const char *cs, size_t cslen, char *dst, size_t cap,
                   size_t o);

/* Converts p[0..n). Without final, an incomplete character at the end is left
 * unconsumed; with final everything is consumed (a cut character becomes
 * U+FFFD) and shift state is reset. Returns the bytes consumed. */
size_t mc__conv_run(struct mc__conv *c, const unsigned char *p, size_t n, int final);

/* Releases the iconv descriptor. */
void mc__conv_close(struct mc__conv *c);

/* Buffered byte sink in front of a converter: bytes are put, converted in
 * chunks, the incomplete tail carried over. */
struct mc__feed {
	struct mc__conv conv;
	size_t n;
	unsigned char buf[1024];
};

/* Returns a pointer to at least need (<= 512) free bytes, converting what is
 * buffered if needed; commit what was written with mc__feed_commit. */
unsigned char *mc__feed_room(struct mc__feed *f, size_t need);
void mc__feed_commit(struct mc__feed *f, size_t k);
void mc__feed_put(struct mc__feed *f, const void *p, size_t n);
/* Converts the rest with final set. */
void mc__feed_end(struct mc__feed *f);

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if p[0..n) does not
 * start with one; *sub gets the length of the maximal invalid subpart. */
size_t mc__utf8_seq(const unsigned char *p, size_t n, size_t *sub);

/* Offset of the first byte of src that is not valid UTF-8, or n. */
size_t mc__utf8_check(const unsigned char *p, size_t n);

/* Writes p[0..n) as UTF-8 policy text (valid kept, invalid -> U+FFFD) at
 * dst[*o..cap). Returns MC_OK or MC_ENOSPC (*o at the last whole character);
 * *warn |= MC_EW_W_INVALID when something was replaced. */
int mc__utf8_copy(const unsigned char *p, size_t n, char *dst, size_t cap, size_t *o,
                  unsigned *warn);

/* mc_ew_decode with internal flags too: MC__EW_KEEPWS keeps whitespace as it
 * is (no trimming, no collapsing; rfc2231.c's parameter values). */
#define MC__EW_KEEPWS (1u << 16)
mc_status mc__ew_decode(const char *src, size_t n, unsigned flags, char *dst, size_t cap,
                        struct mc_ew_result *res);

/* Case-insensitive ASCII comparison of two spans. */
int mc__span_ieq(const char *a, size_t na, const char *b, size_t nb);

#endif
