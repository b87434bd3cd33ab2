/* mime_internal.h: shared internals of the MIME parser: the per-message
 * arena and the RFC 5322 lexical helpers (CFWS, tokens). Not installed. */
#ifndef MC_MIME_INTERNAL_H
#define MC_MIME_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mimecodec/mime.h"

/* ---- arena: blocks from the caller's allocator, freed together ---------------- */

struct mc__arena_block {
	struct mc__arena_block *next;
	size_t size, used;
	/* data follows, max_align_t aligned */
};

struct mc__arena {
	struct mc_mime_allocator a;
	struct mc__arena_block *head;
};

void *mc__arena_alloc(struct mc__arena *ar, size_t n);
void mc__arena_release(struct mc__arena *ar);

/* ---- lexical helpers ------------------------------------------------------------- */

static inline int mc__lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static inline int mc__is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* Skips white space, line breaks and (nested) comments from i; returns the
 * new index. Comments are skipped with a depth counter, so this is linear. */
size_t mc__skip_cfws(const char *p, size_t n, size_t i);

/* Index after the quoted string starting at p[i] == '"' (quoted pairs
 * honoured); n if it is not terminated. */
size_t mc__skip_quoted(const char *p, size_t n, size_t i);

/* RFC 2045 token character (lenient: bytes >= 0x80 accepted). A switch,
 * which compilers turn into one bit test, not strchr: Content-Type parsing
 * calls this for every byte of every value. */
static inline int mc__is_token(int c)
{
	c &= 0xff;
	if (c <= ' ' || c == 0x7f)
		return 0;
	switch (c) {
	case '(':
	case ')':
	case '<':
	case '>':
	case '@':
	case ',':
	case ';':
	case ':':
	case '\\':
	case '"':
	case '/':
	case '[':
	case ']':
	case '?':
	case '=':
		return 0;
	default:
		return 1;
	}
}

/* Eight bytes at once in ASCII lower case: 'A'..'Z' get 0x20 added and no
 * other byte changes (h + 0x3f has bit 7 set for h >= 'A', h + 0x25 for
 * h > 'Z'; h <= 0x7f, so no carry crosses a byte). */
static inline uint64_t mc__lower8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101u;
	uint64_t h = x & (ones * 0x7f);
	uint64_t up = (h + ones * 0x3f) & ~(h + ones * 0x25) & ~x & (ones * 0x80);

	return x | up >> 2;
}

/* ASCII case-insensitive equality of a[0..n) and b[0..n). */
static inline int mc__ieq_n(const char *a, const char *b, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x, y;

		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (mc__lower8(x) != mc__lower8(y))
			return 0;
	}
	for (; i < n; i++)
		if (mc__lower((unsigned char)a[i]) != mc__lower((unsigned char)b[i]))
			return 0;
	return 1;
}

/* Case-insensitive equality of a span and a NUL-terminated ASCII string. */
int mc__mime_ieq(const char *p, size_t n, const char *z);

/* RFC 2231 value of parameter `name` (name*, or name*0, name*1 ... with
 * optional '*' marking percent-encoding) decoded to its octets into dst
 * (needs params.n bytes; NULL: into the arena ar). *charset (if not NULL)
 * gets the charset of the first section. Returns 1 and sets *out when found.
 * (A local decoder: mime/rfc2231.c was not there when this was written.) */
int mc__param_2231(struct mc_span params, const char *name, struct mc__arena *ar, char *dst,
                   struct mc_span *out, struct mc_span *charset);

#endif
