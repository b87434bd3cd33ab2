/* smtp_internal.h: what smtp.c shares with the other smtp_pop/ files (the
 * send queue); not installed, not exported (the library is built with
 * hidden visibility and these carry no MC_API). */
#ifndef MC_SMTP_INTERNAL_H
#define MC_SMTP_INTERNAL_H

#include <stdint.h>
#include "mimecodec/smtp.h"

/* The wait in milliseconds before retry k (k = 0, 1, ...): a random time
 * between half of and the full min(backoff_ms * 2^k, backoff_max_ms), the
 * equal-jitter backoff documented at mc_smtp_opts. *rng is the caller's
 * xorshift64 state (nonzero). */
unsigned mc__smtp_backoff_ms(const struct mc_smtp_opts *o, unsigned k, uint64_t *rng);

/* Nonzero for the outcomes mc_smtp_send retries: 4xx replies, lost
 * connections, timeouts, failed connects. */
int mc__smtp_transient(mc_status st);

/* Sleeps ms milliseconds (nanosleep, resumed after signals). */
void mc__smtp_sleep_ms(unsigned ms);

#endif
