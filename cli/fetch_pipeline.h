/* fetch_pipeline.h: `fetch --json`'s message pipeline. The POP3 download
 * threads (one per account) hand each message committed into a Maildir's
 * new/ to a bounded queue; parser threads map the file, parse it, build an
 * mc_summary and print one JSON line per message. Every line of the fetch
 * command goes through fp_emit, so lines from different threads never mix.
 * Design note: the queue holds file names, not data, so a full queue only
 * makes the downloader wait (the message is already safe on disk) and memory
 * stays bounded by the queue length times one mapped message per parser. */
#ifndef MC_CLI_FETCH_PIPELINE_H
#define MC_CLI_FETCH_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "mimecodec/pop3.h"

/* ---- JSON lines ------------------------------------------------------------------- */

/* A growing line buffer; on allocation failure it is marked and emits nothing. */
struct fp_buf {
	char *p;
	size_t n, cap;
	int oom;
};

void fp_buf_raw(struct fp_buf *b, const char *s, size_t n);
void fp_buf_str(struct fp_buf *b, const char *s); /* C string, raw */
void fp_buf_fmt(struct fp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string: valid UTF-8 kept, other bytes U+FFFD, controls escaped;
 * NULL gives null. */
void fp_buf_json(struct fp_buf *b, const char *s);
void fp_buf_free(struct fp_buf *b);

/* Writes the buffer plus "\n" to stdout in one locked write and flushes;
 * then empties the buffer. Returns 0 or -1 (out of memory, write error). */
int fp_emit(struct fp_buf *b);

/* ---- the pipeline ------------------------------------------------------------------- */

/* Per-account bookkeeping of messages in flight; zero it before use. */
struct fp_account {
	const char *name;    /* "user@host", shown as "account" */
	const char *maildir; /* the message is maildir/new/<file> */
	unsigned pending;    /* queued or being parsed (under the pipeline's lock) */
	unsigned parsed, failed;
};

struct fp_pipeline;

/* Starts nparsers threads (1 to 64) over a queue of qcap entries (>= 1).
 * text_cap is mc_summary_build's. Returns NULL when out of memory or the
 * threads cannot be started. */
struct fp_pipeline *fp_start(unsigned nparsers, unsigned qcap, size_t text_cap);

/* Queues one committed message of account a; blocks while the queue is
 * full. Returns 0, or -1 when out of memory (the message is then reported
 * at once, without a summary). */
int fp_push(struct fp_pipeline *pl, struct fp_account *a, const struct mc_pop3_msg *m,
            const char *file);

/* Waits until every message of account a queued so far has been printed. */
void fp_wait(struct fp_pipeline *pl, struct fp_account *a);

/* Processes what is queued, stops the threads and frees. NULL is accepted. */
void fp_stop(struct fp_pipeline *pl);

#endif
