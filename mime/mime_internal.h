/* mime_internal.h: shared internals of the MIME parser: the per-message
 * arena and the RFC 5322 lexical helpers (CFWS, tokens). Not installed. */
#ifndef MC_MIME_INTERNAL_H
#define MC_MIME_INTERNAL_H

#include <stddef.h>
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

/* RFC 2045 token character (lenient: bytes >= 0x80 accepted). */
static inline int mc__is_token(int c)
{
	c &= 0xff;
	if (c <= ' ' || c == 0x7f)
		return 0;
	return !strchr("()<>@,;:\\\"/[]?=", c);
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
