/* mimecodec/sendq.h: a send queue with a small worker pool.
 *
 * Many messages are sent concurrently over a few SMTP connections: each
 * worker thread keeps one session (mimecodec/smtp.h) open and sends message
 * after message on it (RSET between transactions), reconnecting when the
 * connection is lost or the server closes it.
 *
 * Retries follow mc_smtp_send: a job whose outcome is temporary (4xx replies,
 * lost connections, timeouts) is tried again by the same worker, up to
 * opts->retries more times, after an equal-jitter exponential backoff
 * (opts->backoff_ms, opts->backoff_max_ms); 5xx replies are final. A lost
 * connection found when a reused session starts a new transaction (the
 * server closed an idle connection), before any of the body was read,
 * reconnects without counting as a retry (once per job).
 *
 * Exactly once: a job is taken by exactly one worker, and a recipient for
 * which the server accepted the message (the reply after the body) is never
 * sent that message again: a connection lost after that reply counts as
 * sent. As with any SMTP client, a connection lost after the body was sent
 * but before the server's reply leaves the outcome unknown; that is treated
 * as temporary and retried (the server may then hold two copies).
 *
 * Threads: the queue is thread-safe (any thread may add); the completion
 * callback and opts->trace are called from the worker threads, several at
 * once: they must be thread-safe. A job's body callbacks are called only
 * from the worker sending it. */
#ifndef MIMECODEC_SENDQ_H
#define MIMECODEC_SENDQ_H

#include <stddef.h>
#include "export.h"
#include "smtp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What became of one job, given to the completion callback. Everything it
 * points to is valid during the callback only. */
struct mc_sendq_result {
	void *job_ctx;                      /* as given to mc_sendq_add */
	size_t seq;                         /* 0, 1, ... in the order of mc_sendq_add */
	mc_status status;                   /* as mc_smtp_send: MC_OK, MC_EPARTIAL or the error */
	const struct mc_smtp_envelope *env; /* the queue's copy of the envelope */
	const struct mc_smtp_rcpt *rcpts;   /* env->nto outcomes, as mc_smtp_send; NULL only
	                                       when status is MC_ENOMEM */
	const struct mc_smtp_error *err;    /* the last error (status MC_OK when none) */
	unsigned attempts;                  /* transactions tried for the job */
	unsigned worker;                    /* 0 .. workers-1 */
};

/* Called once per job from the worker that sent it, after the job's last
 * attempt; the job's body is not used after it returns (free it here). */
typedef void (*mc_sendq_done_fn)(void *done_ctx, const struct mc_sendq_result *r);

struct mc_sendq_opts {
	unsigned workers;      /* connections at most; 0 = 1, at most 64 */
	size_t max_queued;     /* mc_sendq_add blocks while this many jobs wait; 0 = no limit */
	mc_sendq_done_fn done; /* optional */
	void *done_ctx;
};

struct mc_sendq; /* opaque */

/* Starts the workers. base is copied (its strings are borrowed until
 * mc_sendq_free); workers connect when they take their first job. Returns
 * NULL when out of memory, a thread cannot be started or an argument is
 * invalid (base NULL, base->host NULL, more than 64 workers). */
MC_API struct mc_sendq *mc_sendq_new(const struct mc_smtp_opts *base,
                                     const struct mc_sendq_opts *qopts);

/* Queues one message. The envelope is copied (from, to[] and their strings);
 * body is copied, but body->ctx is borrowed until the job's completion
 * callback returns. Jobs are taken in the order they are added. Blocks while
 * max_queued jobs wait. Returns MC_OK, MC_EINVAL (bad arguments, or the
 * queue is finished) or MC_ENOMEM; on error the job is not queued and no
 * callback follows. Thread-safe. */
MC_API MC_MUST_CHECK mc_status mc_sendq_add(struct mc_sendq *q, const struct mc_smtp_envelope *env,
                                            const struct mc_smtp_body *body, void *job_ctx);

/* Waits until every job added so far is done, then sends QUIT on each open
 * connection and stops the workers; no job may be added afterwards. Returns
 * the number of jobs whose status was not MC_OK. Call it once, from one
 * thread; a second call returns the same count. */
MC_API size_t mc_sendq_finish(struct mc_sendq *q);

/* Jobs done so far and, of those, failed (status not MC_OK). Thread-safe. */
MC_API void mc_sendq_counts(struct mc_sendq *q, size_t *done, size_t *failed);

/* Finishes the queue (mc_sendq_finish) when that was not done, and frees
 * it. NULL is a no-op. */
MC_API void mc_sendq_free(struct mc_sendq *q);

#ifdef __cplusplus
}
#endif
#endif
