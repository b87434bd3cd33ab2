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

/* What a transaction's status st means for a retry: with some recipients
 * refused (MC_EPARTIAL), MC_ETEMPFAIL when one of the n still undelivered
 * ones (rc[idx[k]]) got a 4xx, else MC_EREJECTED; st otherwise. */
mc_status mc__smtp_retry_status(mc_status st, const struct mc_smtp_rcpt *rc, const size_t *idx,
                                size_t n);

/* The send's final status from the recipients' delivered flags: MC_OK when
 * all nto were, MC_EPARTIAL when some, else st (MC_EREJECTED for OK/partial). */
mc_status mc__smtp_outcome(mc_status st, const struct mc_smtp_rcpt *rc, size_t nto);

/* Sleeps ms milliseconds (nanosleep, resumed after signals). */
void mc__smtp_sleep_ms(unsigned ms);

#endif
