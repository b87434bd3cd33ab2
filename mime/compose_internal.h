/* compose_internal.h: test hooks of the composer (mime/compose.c). Not
 * installed. */
#ifndef MC_COMPOSE_INTERNAL_H
#define MC_COMPOSE_INTERNAL_H

#include <stddef.h>

#include "mimecodec/compose.h"

/* Replaces the random source of one composition (boundaries, Message-ID):
 * fn fills buf with n bytes. Tests use it to choose boundaries that occur in
 * the content and check that the composer notices. NULL restores
 * getrandom(2). */
typedef void (*mc__compose_rng)(void *ctx, unsigned char *buf, size_t n);
void mc__compose_set_rng(struct mc_compose *c, mc__compose_rng fn, void *ctx);

/* Length of every boundary the composer makes ("=_mc" and 28 characters of
 * [0-9A-Za-z]). */
#define MC__COMPOSE_BOUNDARY_LEN 32

/* The boundary of the k-th multipart (in the order they are written), or
 * NULL: valid after mc_compose_prepare. */
const char *mc__compose_boundary(const struct mc_compose *c, size_t k);

/* Bytes currently held from the allocator by the composition. */
size_t mc__compose_held(const struct mc_compose *c);

#endif
