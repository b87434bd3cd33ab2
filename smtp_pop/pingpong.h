/* pingpong.h: the command/response line engine shared by the SMTP and POP3
 * clients (library-internal). It owns nothing but the tracing policy: every
 * command goes out as one CRLF-terminated line through the transport's write
 * buffer, every line read in is traced, and a command's secret part is
 * replaced by "<redacted>" in the trace before it is ever formatted for it.
 * Replies are assembled by the protocol (SMTP multi-line replies, POP3
 * +OK/-ERR and dot-terminated lists). */
#ifndef MC_PINGPONG_H
#define MC_PINGPONG_H

#include <stdarg.h>
#include <stddef.h>

#include "mimecodec/transport.h"

#define MC_PP_CMD_MAX 2048 /* longest command line built by mc__pp_sendf, CRLF included */

struct mc_pp {
	struct mc_transport *t;
	mc_trace_fn trace;
	void *trace_ctx;
};

/* Queues line[0..n) plus CRLF. The trace shows the first `shown` bytes and, if
 * shown < n, " <redacted>" (shown 0: just "<redacted>"). Sent on the next
 * flush or read (pipelining is therefore the default: a command waits in the
 * buffer until its reply is wanted). The line must not contain CR or LF. */
mc_status mc__pp_send(struct mc_pp *pp, const char *line, size_t n, size_t shown);

/* printf-style mc__pp_send of a whole, non-secret command. MC_ELIMIT if it
 * does not fit in MC_PP_CMD_MAX; MC_EINVAL if it contains CR, LF or NUL. */
mc_status mc__pp_sendf(struct mc_pp *pp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reads one line (see mc_transport_read_line) and traces it. */
mc_status mc__pp_readline(struct mc_pp *pp, const char **line, size_t *n);

/* Raw bytes for a multi-line body (POP3 RETR and TOP), bypassing the line
 * reader: *p and *n receive everything the transport has buffered or, when it
 * has nothing, what the next read brings (at least up to one LF, at most the
 * read buffer). The bytes are consumed; hand back an unused tail (after a
 * terminator) with mc__pp_unread before any other read. Not traced. */
mc_status mc__pp_read_raw(struct mc_pp *pp, const char **p, size_t *n);

/* Returns the last k bytes given by mc__pp_read_raw to the read buffer. */
void mc__pp_unread(struct mc_pp *pp, size_t k);

/* A note for the trace (MC_TRACE_INFO). */
void mc__pp_info(struct mc_pp *pp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
