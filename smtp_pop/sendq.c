/* sendq.c: the send queue (mimecodec/sendq.h). A FIFO of jobs under one
 * mutex, taken by a fixed pool of worker threads; each worker owns one
 * session (mc_smtp_new) for its whole life and runs the same retry loop as
 * mc_smtp_send over it, reconnecting only when the session was lost.
 *
 * Design note [exactly once]: a job leaves the list under the mutex, so one
 * worker has it. Per recipient, the outcome of mc_smtp_transaction is kept
 * and only recipients not yet delivered (no reply, 4xx, or accepted at RCPT
 * but the message not taken) are in the next attempt's envelope; a recipient
 * marked delivered (the reply after the body was 2xx) is never sent again,
 * whatever happens to the connection afterwards.
 *
 * Design note [live]: the session API does not say whether a failed
 * transaction left the connection open, so the worker keeps its own flag:
 * the connection is kept after MC_OK, MC_EPARTIAL and after 4xx / 5xx
 * replies other than 421 and a refused RSET (smtp.c closes the connection
 * on those, on every transport error and on a failed body read); otherwise,
 * MC_EINVAL included (cheap and rare), the next transaction reconnects
 * first. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mimecodec/sendq.h"
#include "smtp_internal.h"

#define SENDQ_MAX_WORKERS 64u

/* ================================================================ types */

struct job {
	struct job *next;
	size_t seq;
	struct mc_smtp_envelope env; /* env.to and the strings live after the struct */
	struct mc_smtp_body body;
	void *ctx;
};

struct worker {
	struct mc_sendq *q;
	unsigned id;
	pthread_t th;
	struct mc_smtp *s;
	int live;     /* the session's connection is believed open */
	unsigned use; /* transactions on the current connection */
	uint64_t rng;
};

struct mc_sendq {
	struct mc_smtp_opts o;
	struct mc_sendq_opts qo;
	pthread_mutex_t mu;
	pthread_cond_t work, space;
	struct job *head, *tail;
	size_t queued, added, done, failed;
	int closing, joined;
	unsigned nworkers; /* threads started */
	struct worker *w;
};

/* ================================================================ one job */

struct body_watch {
	const struct mc_smtp_body *b;
	int started, failed;
};

static mc_status watch_read(void *ctx, void *buf, size_t cap, size_t *got)
{
	struct body_watch *bw = ctx;
	mc_status st;

	bw->started = 1;
	st = bw->b->read(bw->b->ctx, buf, cap, got);
	if (st)
		bw->failed = 1;
	return st;
}

static int is2xx(int code)
{
	return code >= 200 && code < 300;
}

/* An MC_TRACE_INFO line "queue: worker W, message #N: ..." when tracing. */
static void info(const struct mc_sendq *q, unsigned wid, size_t seq, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void info(const struct mc_sendq *q, unsigned wid, size_t seq, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n, k;

	if (!q->o.trace)
		return;
	n = snprintf(line, sizeof line, "queue: worker %u, message #%zu: ", wid, seq + 1);
	if (n < 0 || (size_t)n >= sizeof line)
		return;
	va_start(ap, fmt);
	k = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	n += k;
	q->o.trace(q->o.trace_ctx, MC_TRACE_INFO, line,
	           (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* Whether the session is still open after a transaction returned st (see
 * [live]). */
static int still_live(mc_status st, const struct mc_smtp_error *e, const struct body_watch *bw)
{
	if (bw->failed)
		return 0;
	if (st == MC_OK || st == MC_EPARTIAL)
		return 1;
	if (st != MC_ETEMPFAIL && st != MC_EREJECTED)
		return 0;
	return e->reply.code != 421 && strcmp(e->step, "RSET") != 0;
}

/* Sends job j on w's session with mc_smtp_send's retry rules; rc receives
 * the outcomes, err the last error, *tries the attempts. */
static mc_status run_job(struct worker *w, struct job *j, struct mc_smtp_rcpt *rc,
                         struct mc_smtp_error *err, unsigned *tries, const char **to, size_t *idx,
                         struct mc_smtp_rcpt *sr)
{
	struct mc_sendq *q = w->q;
	const struct mc_smtp_envelope *env = &j->env;
	struct body_watch bw = {&j->body, 0, 0};
	struct mc_smtp_body wb = j->body;
	struct mc_smtp_envelope sub = *env;
	mc_status st = MC_OK, last = MC_OK;
	int free_retry = 0, free_used = 0;

	wb.read = watch_read;
	wb.ctx = &bw;
	memset(rc, 0, env->nto * sizeof *rc);
	memset(err, 0, sizeof *err);
	*tries = 0;
	for (;;) {
		size_t n = 0;

		for (size_t i = 0; i < env->nto; i++) {
			int c = rc[i].reply.code;

			if (!rc[i].delivered && (c == 0 || c / 100 == 4 || c / 100 == 2)) {
				idx[n] = i;
				to[n++] = env->to[i];
			}
		}
		if (n == 0)
			break;
		if (free_retry) {
			free_retry = 0; /* the body was not started: nothing to rewind */
		} else if (*tries > 0) {
			unsigned ms;

			if (*tries > q->o.retries || !mc__smtp_transient(last))
				break;
			if (bw.started) {
				if (!j->body.rewind || j->body.rewind(j->body.ctx) != MC_OK) {
					info(q, w->id, j->seq,
					     "cannot retry: the body cannot be rewound");
					break;
				}
				bw.started = 0;
			}
			bw.failed = 0;
			ms = mc__smtp_backoff_ms(&q->o, *tries - 1, &w->rng);
			info(q, w->id, j->seq, "retry %u of %u in %u ms", *tries, q->o.retries, ms);
			mc__smtp_sleep_ms(ms);
		}
		++*tries;
		if (!w->live) {
			st = mc_smtp_connect(w->s);
			if (st) {
				*err = *mc_smtp_last_error(w->s);
				last = st;
				continue;
			}
			w->live = 1;
			w->use = 0;
		}
		sub.to = to;
		sub.nto = n;
		st = mc_smtp_transaction(w->s, &sub, &wb, sr);
		for (size_t k = 0; k < n; k++) {
			struct mc_smtp_rcpt *r = &rc[idx[k]];

			*r = sr[k];
			/* accepted at RCPT but the message was not taken */
			if (!r->delivered && is2xx(r->reply.code)) {
				const struct mc_smtp_error *e = mc_smtp_last_error(w->s);

				r->reply = e->reply.code ? e->reply : (struct mc_smtp_reply){0};
			}
		}
		if (st != MC_OK)
			*err = *mc_smtp_last_error(w->s);
		if (still_live(st, mc_smtp_last_error(w->s), &bw)) {
			w->use++;
		} else {
			/* a reused connection found closed before the body: the
			 * server dropped an idle session; reconnect, not a retry */
			if (w->use > 0 && !bw.started && !free_used && mc__smtp_transient(st)) {
				free_retry = free_used = 1;
				--*tries;
				info(q, w->id, j->seq, "connection lost, reconnecting");
			}
			w->live = 0;
			w->use = 0;
		}
		last = mc__smtp_retry_status(st, rc, idx, n);
		if (st == MC_EINVAL)
			break;
	}
	st = mc__smtp_outcome(st, rc, env->nto);
	if (st == MC_OK)
		memset(err, 0, sizeof *err);
	return st;
}

/* ================================================================ workers */

static void finish_job(struct worker *w, struct job *j, mc_status st, struct mc_smtp_rcpt *rc,
                       const struct mc_smtp_error *err, unsigned tries)
{
	struct mc_sendq *q = w->q;
	struct mc_sendq_result r = {
	    .job_ctx = j->ctx,
	    .seq = j->seq,
	    .status = st,
	    .env = &j->env,
	    .rcpts = rc,
	    .err = err,
	    .attempts = tries,
	    .worker = w->id,
	};

	if (q->qo.done)
		q->qo.done(q->qo.done_ctx, &r);
	pthread_mutex_lock(&q->mu);
	q->done++;
	q->failed += st != MC_OK;
	pthread_mutex_unlock(&q->mu);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct mc_sendq *q = w->q;

	for (;;) {
		struct job *j;
		struct mc_smtp_rcpt *rc = NULL, *sr = NULL;
		struct mc_smtp_error err;
		const char **to = NULL;
		size_t *idx = NULL;
		unsigned tries = 0;
		mc_status st;

		pthread_mutex_lock(&q->mu);
		while (!q->head && !q->closing)
			pthread_cond_wait(&q->work, &q->mu);
		j = q->head;
		if (j) {
			q->head = j->next;
			if (!q->head)
				q->tail = NULL;
			q->queued--;
			pthread_cond_signal(&q->space);
		}
		pthread_mutex_unlock(&q->mu);
		if (!j)
			break;
		rc = calloc(j->env.nto, sizeof *rc);
		sr = calloc(j->env.nto, sizeof *sr);
		to = calloc(j->env.nto, sizeof *to);
		idx = calloc(j->env.nto, sizeof *idx);
		memset(&err, 0, sizeof err);
		if (!w->s)
			w->s = mc_smtp_new(&q->o);
		if (!rc || !sr || !to || !idx || !w->s) {
			st = MC_ENOMEM;
			err.status = st;
			snprintf(err.msg, sizeof err.msg, "out of memory");
		} else {
			st = run_job(w, j, rc, &err, &tries, to, idx, sr);
		}
		finish_job(w, j, st, rc, &err, tries);
		free(rc);
		free(sr);
		free(to);
		free(idx);
		free(j);
	}
	if (w->s && w->live)
		(void)mc_smtp_quit(w->s);
	mc_smtp_free(w->s);
	w->s = NULL;
	return NULL;
}

/* ================================================================ public API */

static void sendq_join(struct mc_sendq *q)
{
	pthread_mutex_lock(&q->mu);
	q->closing = 1;
	pthread_cond_broadcast(&q->work);
	pthread_cond_broadcast(&q->space);
	pthread_mutex_unlock(&q->mu);
	for (unsigned i = 0; i < q->nworkers; i++)
		pthread_join(q->w[i].th, NULL);
	q->joined = 1;
}

struct mc_sendq *mc_sendq_new(const struct mc_smtp_opts *base, const struct mc_sendq_opts *qo)
{
	struct mc_sendq *q;
	unsigned n = qo && qo->workers ? qo->workers : 1;
	struct timespec ts;

	if (!base || !base->host || n > SENDQ_MAX_WORKERS)
		return NULL;
	q = calloc(1, sizeof *q);
	if (!q)
		return NULL;
	q->w = calloc(n, sizeof *q->w);
	if (!q->w) {
		free(q);
		return NULL;
	}
	q->o = *base;
	if (qo)
		q->qo = *qo;
	q->qo.workers = n;
	if (pthread_mutex_init(&q->mu, NULL) != 0) {
		free(q->w);
		free(q);
		return NULL;
	}
	if (pthread_cond_init(&q->work, NULL) != 0) {
		pthread_mutex_destroy(&q->mu);
		free(q->w);
		free(q);
		return NULL;
	}
	if (pthread_cond_init(&q->space, NULL) != 0) {
		pthread_cond_destroy(&q->work);
		pthread_mutex_destroy(&q->mu);
		free(q->w);
		free(q);
		return NULL;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	for (unsigned i = 0; i < n; i++) {
		struct worker *w = &q->w[i];

		w->q = q;
		w->id = i;
		w->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
		         ((uint64_t)getpid() << 40) ^
		         ((uint64_t)(uintptr_t)w * 0x9e3779b97f4a7c15u);
		w->rng |= 1;
		if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
			mc_sendq_free(q); /* joins the ones started */
			return NULL;
		}
		q->nworkers++;
	}
	return q;
}

mc_status mc_sendq_add(struct mc_sendq *q, const struct mc_smtp_envelope *env,
                       const struct mc_smtp_body *body, void *job_ctx)
{
	size_t need, fl;
	struct job *j;
	char *p;

	if (!q || !env || !body || !body->read || !env->from || !env->to || env->nto == 0)
		return MC_EINVAL;
	fl = strlen(env->from) + 1;
	need = sizeof *j + env->nto * sizeof(const char *) + fl;
	for (size_t i = 0; i < env->nto; i++) {
		if (!env->to[i])
			return MC_EINVAL;
		need += strlen(env->to[i]) + 1;
	}
	j = malloc(need);
	if (!j)
		return MC_ENOMEM;
	memset(j, 0, sizeof *j);
	{
		const char **to = (const char **)(void *)(j + 1);

		p = (char *)(to + env->nto);
		memcpy(p, env->from, fl);
		j->env.from = p;
		p += fl;
		for (size_t i = 0; i < env->nto; i++) {
			size_t l = strlen(env->to[i]) + 1;

			memcpy(p, env->to[i], l);
			to[i] = p;
			p += l;
		}
		j->env.to = to;
	}
	j->env.nto = env->nto;
	j->env.flags = env->flags;
	j->body = *body;
	j->ctx = job_ctx;
	pthread_mutex_lock(&q->mu);
	while (!q->closing && q->qo.max_queued && q->queued >= q->qo.max_queued)
		pthread_cond_wait(&q->space, &q->mu);
	if (q->closing) {
		pthread_mutex_unlock(&q->mu);
		free(j);
		return MC_EINVAL;
	}
	j->seq = q->added++;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->queued++;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->mu);
	return MC_OK;
}

size_t mc_sendq_finish(struct mc_sendq *q)
{
	size_t failed;

	if (!q)
		return 0;
	if (!q->joined)
		sendq_join(q);
	pthread_mutex_lock(&q->mu);
	failed = q->failed;
	pthread_mutex_unlock(&q->mu);
	return failed;
}

void mc_sendq_counts(struct mc_sendq *q, size_t *done, size_t *failed)
{
	pthread_mutex_lock(&q->mu);
	if (done)
		*done = q->done;
	if (failed)
		*failed = q->failed;
	pthread_mutex_unlock(&q->mu);
}

void mc_sendq_free(struct mc_sendq *q)
{
	if (!q)
		return;
	if (!q->joined)
		sendq_join(q);
	pthread_cond_destroy(&q->space);
	pthread_cond_destroy(&q->work);
	pthread_mutex_destroy(&q->mu);
	free(q->w);
	free(q);
}
