/* pingpong.c: the command/response line engine (see pingpong.h). */
#include <stdio.h>
#include <string.h>

#include "pingpong.h"

static void pp_trace(struct mc_pp *pp, int kind, const char *p, size_t n)
{
	if (pp->trace)
		pp->trace(pp->trace_ctx, kind, p, n);
}

mc_status mc__pp_send(struct mc_pp *pp, const char *line, size_t n, size_t shown)
{
	mc_status s;

	if (memchr(line, '\r', n) || memchr(line, '\n', n))
		return MC_EINVAL;
	if (pp->trace) {
		char buf[MC_PP_CMD_MAX + 16];

		if (shown >= n) {
			pp_trace(pp, MC_TRACE_SEND, line, n);
		} else {
			int k = snprintf(buf, sizeof buf, "%.*s%s<redacted>", (int)shown, line,
			                 shown ? " " : "");

			if (k > 0)
				pp_trace(pp, MC_TRACE_SEND, buf,
				         (size_t)k < sizeof buf ? (size_t)k : sizeof buf - 1);
		}
	}
	s = mc_transport_write(pp->t, line, n);
	if (s == MC_OK)
		s = mc_transport_write(pp->t, "\r\n", 2);
	return s;
}

mc_status mc__pp_sendf(struct mc_pp *pp, const char *fmt, ...)
{
	char buf[MC_PP_CMD_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return MC_EINVAL;
	if ((size_t)n + 2 > sizeof buf)
		return MC_ELIMIT;
	if (strlen(buf) != (size_t)n)
		return MC_EINVAL; /* an embedded NUL */
	return mc__pp_send(pp, buf, (size_t)n, (size_t)n);
}

mc_status mc__pp_readline(struct mc_pp *pp, const char **line, size_t *n)
{
	mc_status s = mc_transport_read_line(pp->t, line, n);

	if (s == MC_OK)
		pp_trace(pp, MC_TRACE_RECV, *line, *n);
	return s;
}

/* Built on the public line reader so the transport keeps one read path: a
 * line read with the cap raised to the whole buffer fills the buffer with
 * at least one line (or a full buffer without LF: MC_ELIMIT, not an error
 * here); rewinding to the line's start then hands out every byte read. */
mc_status mc__pp_read_raw(struct mc_pp *pp, const char **p, size_t *n)
{
	struct mc_transport *t = pp->t;

	if (t->rpos == t->rlen) {
		size_t cap = t->max_line, len;
		const char *line;
		mc_status s;

		t->max_line = sizeof t->rbuf;
		s = mc_transport_read_line(t, &line, &len);
		t->max_line = cap;
		if (s == MC_OK)
			t->rpos = (size_t)((const unsigned char *)line - t->rbuf);
		else if (s == MC_ELIMIT)
			t->err[0] = '\0'; /* a full buffer without LF: fine for raw data */
		else
			return s;
	}
	*p = (const char *)t->rbuf + t->rpos;
	*n = t->rlen - t->rpos;
	t->rpos = t->rlen;
	return MC_OK;
}

void mc__pp_unread(struct mc_pp *pp, size_t k)
{
	if (k <= pp->t->rpos)
		pp->t->rpos -= k;
}

void mc__pp_info(struct mc_pp *pp, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	if (!pp->trace)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > 0)
		pp_trace(pp, MC_TRACE_INFO, buf,
		         (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}
