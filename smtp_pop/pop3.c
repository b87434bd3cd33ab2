/* pop3.c: POP3 client as one explicit state machine over the pingpong line
 * engine, and a lossless fetch into a Maildir. RFC 1939 (POP3), 2449 (CAPA,
 * response codes, PIPELINING), 2595 (STLS), 5034 (SASL; RFC 4616 PLAIN,
 * XOAUTH2), 3206, 8314.
 *
 * Design note [states]: the login dialogue is read by one loop
 * (pop3_statemach) that hands each response to the handler of the current
 * state; the handler sends the next command and moves on through
 * pop3_state(), the only place the state changes (traced with
 * MC_POP3_TRACE_STATES). Transaction commands (STAT, LIST, RETR, ...) are
 * single request/response pairs and are run directly in their state.
 *
 * Design note [pipelining]: with PIPELINING (RFC 2449 6.6) LIST and UIDL go
 * out in one write, and a DELE is only queued: its response is read after
 * the next command was written, so "DELE n" and "RETR n+1" share a write and
 * a round trip. Responses are always read in the order the commands were
 * queued, so lock-step and pipelined dialogues differ only in when commands
 * are written.
 *
 * Design note [multiline]: RETR and TOP bodies bypass the line reader: raw
 * buffered bytes go through mc_pop3_ml_feed, which removes a leading dot
 * and finds the "." line even when any of its bytes come in different reads,
 * scanning with memchr for dots rather than for every line end, and hands
 * the sink slices of the read buffer (no copy, no line length limit). Bytes
 * after the terminator are given back to the transport.
 *
 * Design note [secrets]: PASS, APOP digests and SASL payloads are sent with
 * mc__pp_send(..., shown) so the trace shows "PASS <redacted>"; SASL lines
 * are built in heap buffers that are cleansed after use. Credentials go out
 * only from pop3_auth_start, which runs only when TLS is on or the caller
 * set MC_POP3_ALLOW_PLAINTEXT_AUTH. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "mimecodec/base64.h"
#include "mimecodec/maildir.h"
#include "mimecodec/pop3.h"
#include "mimecodec/providers.h"
#include "pingpong.h"
#include "tls_api.h"

#define POP3_SASL_LINE_MAX 255      /* RFC 5034 4: initial response line limit */
#define POP3_MAX_MSGS      10000000 /* LIST entries accepted at most */
#define POP3_PENDING_MAX   64       /* queued DELE responses at most */

/* ================================================================ states */

#define POP3_STATES(X)          \
	X(STOP, "-")            \
	X(GREETING, "greeting") \
	X(CAPA, "CAPA")         \
	X(STLS, "STLS")         \
	X(USER, "USER")         \
	X(PASS, "PASS")         \
	X(APOP, "APOP")         \
	X(AUTH, "AUTH")         \
	X(STAT, "STAT")         \
	X(LIST, "LIST")         \
	X(UIDL, "UIDL")         \
	X(TOP, "TOP")           \
	X(RETR, "RETR")         \
	X(DELE, "DELE")         \
	X(RSET, "RSET")         \
	X(NOOP, "NOOP")         \
	X(QUIT, "QUIT")

enum pop3_state {
#define POP3_ENUM_(name, step) POP3_##name,
	POP3_STATES(POP3_ENUM_)
#undef POP3_ENUM_
};

static const char *const state_names[] = {
#define POP3_NAME_(name, step) #name,
    POP3_STATES(POP3_NAME_)
#undef POP3_NAME_
};

static const char *const state_steps[] = {
#define POP3_STEP_(name, step) step,
    POP3_STATES(POP3_STEP_)
#undef POP3_STEP_
};

struct mc_pop3 {
	struct mc_pop3_opts o;
	struct mc_pp pp;
	struct mc_pop3_caps caps;
	struct mc_pop3_error err;
	struct mc_pop3_resp resp; /* the response just read */
	enum pop3_state state;
	int connected;
	unsigned mech;       /* mechanism in use */
	int sasl_ir_pending; /* AUTH sent without its initial response */
	int sasl_cancelled;  /* answered a SASL error challenge */
	char timestamp[256]; /* APOP timestamp of the greeting, "" if none */
	struct mc_pop3_msg *msgs;
	size_t nmsgs, capmsgs;
	unsigned pending[POP3_PENDING_MAX]; /* queued DELEs: message numbers */
	size_t npending;
	struct mc_transport t; /* last: it is large */
};

static void pop3_state(struct mc_pop3 *p, enum pop3_state st)
{
	if (p->state != st && (p->o.flags & MC_POP3_TRACE_STATES))
		mc__pp_info(&p->pp, "state %s -> %s", state_names[p->state], state_names[st]);
	p->state = st;
}

/* ================================================================ responses */

static void text_copy(char *dst, size_t cap, const char *p, size_t n)
{
	if (n > cap - 1)
		n = cap - 1;
	for (size_t i = 0; i < n; i++) /* the text reaches traces and terminals */
		dst[i] = ((unsigned char)p[i] >= 0x20 && p[i] != 0x7f) ? p[i] : '?';
	dst[n] = '\0';
}

mc_status mc_pop3_resp_line(struct mc_pop3_resp *r, const char *line, size_t n, int allow_cont)
{
	size_t i;

	r->kind = MC_POP3_NONE;
	r->code[0] = '\0';
	r->text[0] = '\0';
	if (n >= 3 && strncasecmp(line, "+OK", 3) == 0 && (n == 3 || line[3] == ' ')) {
		r->kind = MC_POP3_OK;
		i = n == 3 ? 3 : 4;
	} else if (n >= 4 && strncasecmp(line, "-ERR", 4) == 0 && (n == 4 || line[4] == ' ')) {
		r->kind = MC_POP3_ERR;
		i = n == 4 ? 4 : 5;
	} else if (allow_cont && n >= 1 && line[0] == '+' && (n == 1 || line[1] == ' ')) {
		r->kind = MC_POP3_CONT;
		text_copy(r->text, sizeof r->text, line + (n == 1 ? 1 : 2), n == 1 ? 0 : n - 2);
		return MC_OK;
	} else {
		return MC_EPROTO;
	}
	/* RFC 2449 8: "[CODE]" right after the status indicator */
	if (i < n && line[i] == '[') {
		size_t j = i + 1;

		while (j < n && j - i - 1 < sizeof r->code - 1 && line[j] != ']' &&
		       (unsigned char)line[j] > 0x20 && (unsigned char)line[j] < 0x7f)
			j++;
		if (j < n && line[j] == ']' && j > i + 1) {
			memcpy(r->code, line + i + 1, j - i - 1);
			r->code[j - i - 1] = '\0';
			i = j + 1;
			if (i < n && line[i] == ' ')
				i++;
		}
	}
	text_copy(r->text, sizeof r->text, line + i, n - i);
	return MC_OK;
}

/* ================================================================ multi-line bodies */

enum { ML_BOL = 0, ML_MID, ML_DOT, ML_DOTCR };

void mc_pop3_ml_init(struct mc_pop3_ml *m)
{
	memset(m, 0, sizeof *m);
	m->state = ML_BOL;
}

/* See [multiline]. A run of input bytes that goes out unchanged is passed
 * to the sink as one slice: between dots that start a line nothing is
 * copied or split. The only byte not taken from the input is the CR of a
 * ".\r" that turned out not to be the terminator (its dot is dropped). */
mc_status mc_pop3_ml_feed(struct mc_pop3_ml *m, const void *in, size_t n, size_t *used,
                          mc_pop3_sink_fn sink, void *ctx)
{
	const char *s = in, *end = s + n, *run = s;
	mc_status st;

#define ML_FLUSH(to)                                                    \
	do {                                                            \
		size_t k_ = (size_t)((to)-run);                         \
		if (k_) {                                               \
			m->out += k_;                                   \
			if ((st = sink(ctx, run, k_)) != MC_OK) {       \
				*used = (size_t)(s - (const char *)in); \
				m->in += *used;                         \
				return st;                              \
			}                                               \
		}                                                       \
	} while (0)

	*used = 0;
	if (m->done)
		return MC_OK;
	while (s < end) {
		switch (m->state) {
		case ML_BOL:
			if (*s == '.') {
				ML_FLUSH(s);
				run = ++s;
				m->state = ML_DOT;
			} else {
				m->state = ML_MID;
			}
			break;
		case ML_MID: {
			/* Only a dot right after a LF matters, so the scan is for
			 * dots, not line ends: a base64 body has none, and memchr
			 * crosses the whole read in one call. A dot inside a line
			 * sends the scan to the end of that line (text full of
			 * dots costs two memchr per line, not one per dot).
			 * Bounds: d > s is checked before d[-1] is read; s is not
			 * at the start of a line in this state, so a dot at s is
			 * data. */
			const char *d = memchr(s, '.', (size_t)(end - s)), *lf;

			if (!d) {
				m->state = end[-1] == '\n' ? ML_BOL : ML_MID;
				s = end;
			} else if (d > s && d[-1] == '\n') {
				s = d;
				m->state = ML_BOL;
			} else if ((lf = memchr(d + 1, '\n', (size_t)(end - d - 1))) != NULL) {
				s = lf + 1;
				m->state = ML_BOL;
			} else {
				s = end;
			}
			break;
		}
		case ML_DOT: /* after a dot that started a line; run == s */
			if (*s == '\r') {
				run = ++s;
				m->state = ML_DOTCR;
			} else if (*s == '\n') {
				s++;
				m->done = 1;
			} else {
				m->state = ML_MID;
			}
			break;
		default: /* ML_DOTCR: ".\r" started the line; run == s */
			if (*s == '\n') {
				s++;
				m->done = 1;
			} else {
				static const char cr = '\r';

				m->out++;
				if ((st = sink(ctx, &cr, 1)) != MC_OK) {
					*used = (size_t)(s - (const char *)in);
					m->in += *used;
					return st;
				}
				m->state = ML_MID;
			}
			break;
		}
		if (m->done) {
			*used = (size_t)(s - (const char *)in);
			m->in += *used;
			return MC_OK;
		}
	}
	ML_FLUSH(s);
#undef ML_FLUSH
	*used = n;
	m->in += n;
	return MC_OK;
}

/* ================================================================ listing lines */

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* A decimal at line[*i] (no sign, at most 20 digits, fits in max). */
static int parse_num(const char *line, size_t n, size_t *i, uint64_t max, uint64_t *v)
{
	size_t start = *i;

	*v = 0;
	while (*i < n && is_digit(line[*i])) {
		unsigned d = (unsigned)(line[*i] - '0');

		if (*v > (max - d) / 10)
			return -1;
		*v = *v * 10 + d;
		(*i)++;
	}
	return *i > start ? 0 : -1;
}

static size_t skip_spaces(const char *line, size_t n, size_t i)
{
	while (i < n && line[i] == ' ')
		i++;
	return i;
}

mc_status mc_pop3_list_line(const char *line, size_t n, unsigned *num, uint64_t *size)
{
	size_t i = 0, j;
	uint64_t v;

	if (parse_num(line, n, &i, 0xffffffffu, &v) || v == 0)
		return MC_EPROTO;
	*num = (unsigned)v;
	j = skip_spaces(line, n, i);
	if (j == i || parse_num(line, n, &j, UINT64_MAX, size))
		return MC_EPROTO;
	return j == n || line[j] == ' ' ? MC_OK : MC_EPROTO;
}

mc_status mc_pop3_uidl_line(const char *line, size_t n, unsigned *num,
                            char uid[MC_POP3_UID_MAX + 1])
{
	size_t i = 0, j, k;
	uint64_t v;

	uid[0] = '\0';
	if (parse_num(line, n, &i, 0xffffffffu, &v) || v == 0)
		return MC_EPROTO;
	*num = (unsigned)v;
	j = skip_spaces(line, n, i);
	if (j == i)
		return MC_EPROTO;
	for (k = j; k < n && (unsigned char)line[k] > 0x20 && (unsigned char)line[k] < 0x7f; k++)
		;
	if (k == j || k - j > MC_POP3_UID_MAX || skip_spaces(line, n, k) != n)
		return MC_EPROTO;
	memcpy(uid, line + j, k - j);
	uid[k - j] = '\0';
	return MC_OK;
}

/* ================================================================ capabilities */

static int kw_is(const char *p, size_t n, const char *kw)
{
	size_t k = strlen(kw);

	return n >= k && strncasecmp(p, kw, k) == 0 && (n == k || p[k] == ' ');
}

void mc_pop3_caps_line(struct mc_pop3_caps *caps, const char *p, size_t n)
{
	static const struct {
		const char *kw;
		unsigned flag;
	} simple[] = {
	    {"TOP", MC_POP3_CAP_TOP},
	    {"USER", MC_POP3_CAP_USER},
	    {"UIDL", MC_POP3_CAP_UIDL},
	    {"PIPELINING", MC_POP3_CAP_PIPELINING},
	    {"STLS", MC_POP3_CAP_STLS},
	    {"RESP-CODES", MC_POP3_CAP_RESP_CODES},
	    {"AUTH-RESP-CODE", MC_POP3_CAP_AUTH_RESP_CODE},
	};
	static const struct {
		const char *name;
		unsigned bit;
	} mechs[] = {
	    {"PLAIN", MC_POP3_AUTH_PLAIN},
	    {"LOGIN", MC_POP3_AUTH_LOGIN},
	    {"XOAUTH2", MC_POP3_AUTH_XOAUTH2},
	};

	for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
		if (kw_is(p, n, simple[i].kw)) {
			caps->flags |= simple[i].flag;
			return;
		}
	if (kw_is(p, n, "SASL")) {
		size_t i = 4;

		caps->flags |= MC_POP3_CAP_SASL;
		while (i < n) {
			size_t j;

			i = skip_spaces(p, n, i);
			for (j = i; j < n && p[j] != ' '; j++)
				;
			for (size_t m = 0; m < sizeof mechs / sizeof mechs[0]; m++)
				if (j - i == strlen(mechs[m].name) &&
				    strncasecmp(p + i, mechs[m].name, j - i) == 0)
					caps->sasl |= mechs[m].bit;
			i = j;
		}
	}
}

/* ================================================================ providers */

/* The table is shared with SMTP: smtp_pop/providers.c. */
const char *mc_pop3_provider_host(const char *a)
{
	const struct mc_provider *p = mc_provider_find(a);

	return p ? p->pop3_host : NULL;
}

/* ================================================================ errors */

/* Status for a -ERR: RFC 2449/3206 codes tell temporary from permanent. */
static mc_status err_status(const struct mc_pop3_resp *r, mc_status dflt)
{
	if (strcasecmp(r->code, "IN-USE") == 0 || strcasecmp(r->code, "LOGIN-DELAY") == 0 ||
	    strcasecmp(r->code, "SYS/TEMP") == 0)
		return MC_ETEMPFAIL;
	if (strcasecmp(r->code, "AUTH") == 0)
		return MC_EAUTH;
	return dflt;
}

static mc_status pop3_fail(struct mc_pop3 *p, mc_status st, const struct mc_pop3_resp *r,
                           const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static mc_status pop3_fail(struct mc_pop3 *p, mc_status st, const struct mc_pop3_resp *r,
                           const char *fmt, ...)
{
	struct mc_pop3_error *e = &p->err;
	size_t len;
	va_list ap;

	e->status = st;
	snprintf(e->step, sizeof e->step, "%s", state_steps[p->state]);
	if (r)
		e->resp = *r;
	else
		memset(&e->resp, 0, sizeof e->resp);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	len = strlen(e->msg);
	if (r && r->kind && len < sizeof e->msg)
		snprintf(e->msg + len, sizeof e->msg - len, ": server said %s%s%s%s %s",
		         r->kind == MC_POP3_OK    ? "+OK"
		         : r->kind == MC_POP3_ERR ? "-ERR"
		                                  : "+",
		         r->code[0] ? " [" : "", r->code, r->code[0] ? "]" : "", r->text);
	mc__pp_info(&p->pp, "error: %s", e->msg);
	return st;
}

static void pop3_disconnect(struct mc_pop3 *p)
{
	mc_transport_close(&p->t);
	p->connected = 0;
	p->npending = 0;
	pop3_state(p, POP3_STOP);
}

static mc_status pop3_io_fail(struct mc_pop3 *p, mc_status st)
{
	pop3_fail(p, st, NULL, "%s: %s", state_steps[p->state], mc_transport_errmsg(&p->t));
	pop3_disconnect(p);
	return st;
}

/* ================================================================ line engine use */

static mc_status pop3_sendf(struct mc_pop3 *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static mc_status pop3_sendf(struct mc_pop3 *p, const char *fmt, ...)
{
	char buf[MC_PP_CMD_MAX];
	va_list ap;
	int n;
	mc_status st;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 2 > sizeof buf)
		return pop3_fail(p, MC_ELIMIT, NULL, "command too long");
	st = mc__pp_send(&p->pp, buf, (size_t)n, (size_t)n);
	if (st == MC_EINVAL)
		return pop3_fail(p, st, NULL, "refusing to send a command with CR or LF");
	return st ? pop3_io_fail(p, st) : MC_OK;
}

/* Reads one status line into p->resp. */
static mc_status pop3_read_resp(struct mc_pop3 *p, int allow_cont)
{
	const char *line;
	size_t n;
	mc_status st = mc__pp_readline(&p->pp, &line, &n);

	if (st == MC_ELIMIT) {
		pop3_fail(p, st, NULL, "%s: response line longer than %zu bytes",
		          state_steps[p->state], p->t.max_line);
		pop3_disconnect(p);
		return st;
	}
	if (st)
		return pop3_io_fail(p, st);
	if (mc_pop3_resp_line(&p->resp, line, n, allow_cont) != MC_OK) {
		pop3_fail(p, MC_EPROTO, NULL, "%s: malformed response \"%.*s\"",
		          state_steps[p->state], (int)(n > 80 ? 80 : n), line);
		pop3_disconnect(p);
		return MC_EPROTO;
	}
	return MC_OK;
}

/* Reads one line of a multi-line response (CAPA, LIST, UIDL) with the dot
 * removed; *end is set at the "." line. */
static mc_status pop3_read_ml_line(struct mc_pop3 *p, const char **line, size_t *n, int *end)
{
	mc_status st = mc__pp_readline(&p->pp, line, n);

	if (st == MC_ELIMIT) {
		pop3_fail(p, st, NULL, "%s: line longer than %zu bytes", state_steps[p->state],
		          p->t.max_line);
		pop3_disconnect(p);
		return st;
	}
	if (st)
		return pop3_io_fail(p, st);
	*end = *n == 1 && (*line)[0] == '.';
	if (!*end && *n && (*line)[0] == '.') {
		(*line)++;
		(*n)--;
	}
	return MC_OK;
}

/* Reads the responses of queued DELEs (see [pipelining]). */
static mc_status pop3_drain(struct mc_pop3 *p)
{
	enum pop3_state saved = p->state;

	for (size_t i = 0; i < p->npending; i++) {
		mc_status st;

		pop3_state(p, POP3_DELE);
		st = pop3_read_resp(p, 0);
		if (st)
			return st;
		for (size_t k = 0; k < p->nmsgs; k++)
			if (p->msgs[k].num == p->pending[i]) {
				p->msgs[k].deleted = p->resp.kind == MC_POP3_OK ? 1 : -1;
				break;
			}
		if (p->resp.kind != MC_POP3_OK)
			pop3_fail(p, err_status(&p->resp, MC_EREJECTED), &p->resp,
			          "DELE %u refused", p->pending[i]);
	}
	p->npending = 0;
	pop3_state(p, saved);
	return MC_OK;
}

/* ================================================================ login */

static int have_creds(const struct mc_pop3 *p)
{
	return p->o.user && (p->o.password || p->o.oauth_token);
}

/* Sends prefix + base64(parts...) with everything after `shown` redacted. */
static mc_status pop3_send_secret(struct mc_pop3 *p, const char *prefix, size_t shown,
                                  const char *const *parts, const size_t *lens, size_t nparts)
{
	size_t n = 0, k = 0, pl = strlen(prefix), bl, len;
	unsigned char *raw;
	char *line;
	mc_status st;

	for (size_t i = 0; i < nparts; i++)
		n += lens[i];
	if (n > 16384)
		return pop3_fail(p, MC_ELIMIT, NULL, "credentials too long");
	bl = mc_b64_encoded_size(n, 0, 0);
	raw = malloc(n + 1);
	line = malloc(pl + bl + 1);
	if (!raw || !line) {
		free(raw);
		free(line);
		return pop3_fail(p, MC_ENOMEM, NULL, "out of memory");
	}
	for (size_t i = 0; i < nparts; i++) {
		memcpy(raw + k, parts[i], lens[i]);
		k += lens[i];
	}
	memcpy(line, prefix, pl);
	mc_b64_encode(raw, n, line + pl, 0, 0);
	len = pl + bl;
	explicit_bzero(raw, n + 1);
	free(raw);
	st = mc__pp_send(&p->pp, line, len, shown);
	explicit_bzero(line, len);
	free(line);
	if (st == MC_OK)
		st = mc_transport_flush(&p->t);
	return st ? pop3_io_fail(p, st) : MC_OK;
}

/* The SASL payload of the mechanism in use, with prefix. */
static mc_status pop3_sasl_payload(struct mc_pop3 *p, const char *prefix, size_t shown)
{
	const char *u = p->o.user;

	if (p->mech == MC_POP3_AUTH_PLAIN) {
		/* RFC 4616: authzid (empty) NUL authcid NUL passwd */
		const char *parts[] = {"\0", u, "\0", p->o.password};
		size_t lens[] = {1, strlen(u), 1, strlen(p->o.password)};

		return pop3_send_secret(p, prefix, shown, parts, lens, 4);
	}
	{
		const char *parts[] = {"user=", u, "\001auth=Bearer ", p->o.oauth_token,
		                       "\001\001"};
		size_t lens[] = {5, strlen(u), 13, strlen(p->o.oauth_token), 2};

		return pop3_send_secret(p, prefix, shown, parts, lens, 5);
	}
}

static const char *mech_name(unsigned m)
{
	switch (m) {
	case MC_POP3_AUTH_PLAIN:
		return "PLAIN";
	case MC_POP3_AUTH_XOAUTH2:
		return "XOAUTH2";
	case MC_POP3_AUTH_APOP:
		return "APOP";
	default:
		return "USER/PASS";
	}
}

static mc_status pop3_auth_apop(struct mc_pop3 *p)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char line[MC_PP_CMD_MAX], hex[2 * EVP_MAX_MD_SIZE + 1];
	EVP_MD_CTX *c;
	EVP_MD *md5;
	int ok, n;
	mc_status st;

	if (mc__tls_load() != MC_OK) /* MD5 comes from libcrypto */
		return pop3_fail(p, MC_EAUTH, NULL, "APOP: %s", mc__tls_error());
	c = EVP_MD_CTX_new();
	md5 = EVP_MD_fetch(NULL, "MD5", NULL);
	ok = c && md5 && EVP_DigestInit_ex(c, md5, NULL) &&
	     EVP_DigestUpdate(c, p->timestamp, strlen(p->timestamp)) &&
	     EVP_DigestUpdate(c, p->o.password, strlen(p->o.password)) &&
	     EVP_DigestFinal_ex(c, md, &mdlen);
	EVP_MD_CTX_free(c);
	EVP_MD_free(md5);
	if (!ok)
		return pop3_fail(p, MC_EAUTH, NULL, "APOP: MD5 is not available");
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	n = snprintf(line, sizeof line, "APOP %s %s", p->o.user, hex);
	if (n < 0 || (size_t)n + 2 > sizeof line)
		return pop3_fail(p, MC_ELIMIT, NULL, "user name too long");
	st = mc__pp_send(&p->pp, line, (size_t)n, 5 + strlen(p->o.user));
	explicit_bzero(line, sizeof line);
	if (st == MC_EINVAL)
		return pop3_fail(p, st, NULL, "refusing to send a user name with CR or LF");
	return st ? pop3_io_fail(p, st) : MC_OK;
}

static mc_status pop3_auth_start(struct mc_pop3 *p)
{
	unsigned allowed = p->o.auth_mechs ? p->o.auth_mechs : ~0u;
	unsigned sasl = p->caps.sasl & allowed;
	int user_ok = (p->caps.flags & MC_POP3_CAP_USER) || !(p->caps.flags & MC_POP3_CAP_CAPA);

	if (strchr(p->o.user, '\r') || strchr(p->o.user, '\n') ||
	    (p->o.password && (strchr(p->o.password, '\r') || strchr(p->o.password, '\n'))))
		return pop3_fail(p, MC_EINVAL, NULL, "CR or LF in the user name or password");
	if (p->o.oauth_token)
		p->mech = sasl & MC_POP3_AUTH_XOAUTH2;
	else if (sasl & MC_POP3_AUTH_PLAIN)
		p->mech = MC_POP3_AUTH_PLAIN;
	else if ((allowed & MC_POP3_AUTH_APOP) && p->timestamp[0])
		p->mech = MC_POP3_AUTH_APOP;
	else if ((allowed & MC_POP3_AUTH_USER) && user_ok)
		p->mech = MC_POP3_AUTH_USER;
	else
		p->mech = 0;
	if (!p->mech) {
		pop3_state(p, POP3_AUTH);
		return pop3_fail(p, MC_EAUTH, NULL,
		                 "no usable login mechanism (server offers:%s%s%s%s%s)",
		                 p->caps.sasl & MC_POP3_AUTH_PLAIN ? " PLAIN" : "",
		                 p->caps.sasl & MC_POP3_AUTH_XOAUTH2 ? " XOAUTH2" : "",
		                 p->caps.sasl & MC_POP3_AUTH_LOGIN ? " LOGIN" : "",
		                 p->timestamp[0] ? " APOP" : "", user_ok ? " USER" : "");
	}
	p->sasl_cancelled = 0;
	if (p->mech == MC_POP3_AUTH_APOP) {
		pop3_state(p, POP3_APOP);
		return pop3_auth_apop(p);
	}
	if (p->mech == MC_POP3_AUTH_USER) {
		pop3_state(p, POP3_USER);
		return pop3_sendf(p, "USER %s", p->o.user);
	}
	pop3_state(p, POP3_AUTH);
	{
		/* RFC 5034 4: an initial response only when the line stays short */
		size_t raw = p->mech == MC_POP3_AUTH_PLAIN
		                 ? 2 + strlen(p->o.user) + strlen(p->o.password)
		                 : 22 + strlen(p->o.user) + strlen(p->o.oauth_token);
		size_t line = 6 + strlen(mech_name(p->mech)) + 4 * ((raw + 2) / 3);
		char prefix[32];
		int k = snprintf(prefix, sizeof prefix, "AUTH %s ", mech_name(p->mech));

		if (line <= POP3_SASL_LINE_MAX) {
			p->sasl_ir_pending = 0;
			return pop3_sasl_payload(p, prefix, (size_t)k - 1);
		}
		p->sasl_ir_pending = 1;
		return pop3_sendf(p, "%.*s", k - 1, prefix);
	}
}

/* After CAPA: upgrade, insist on TLS, log in, or be ready. */
static mc_status pop3_after_capa(struct mc_pop3 *p)
{
	int tls = mc_transport_is_tls(&p->t);
	int creds = have_creds(p);

	if (!tls && p->o.tls == MC_POP3_STLS && (p->caps.flags & MC_POP3_CAP_STLS)) {
		pop3_state(p, POP3_STLS);
		return pop3_sendf(p, "STLS");
	}
	if (!tls && ((p->o.flags & MC_POP3_REQUIRE_TLS) ||
	             (creds && !(p->o.flags & MC_POP3_ALLOW_PLAINTEXT_AUTH))))
		return pop3_fail(p, MC_ENOTLS, NULL,
		                 p->o.tls == MC_POP3_PLAINTEXT
		                     ? "TLS is off: refusing to send credentials in the clear"
		                     : "the server does not offer STLS: refusing to continue "
		                       "without TLS (credentials not sent)");
	if (creds)
		return pop3_auth_start(p);
	pop3_state(p, POP3_STOP);
	return MC_OK;
}

static mc_status pop3_send_capa(struct mc_pop3 *p)
{
	memset(&p->caps, 0, sizeof p->caps);
	if (p->timestamp[0])
		p->caps.flags |= MC_POP3_CAP_APOP;
	pop3_state(p, POP3_CAPA);
	return pop3_sendf(p, "CAPA");
}

static mc_status pop3_on_greeting(struct mc_pop3 *p)
{
	const char *lt, *gt;

	if (p->resp.kind != MC_POP3_OK)
		return pop3_fail(p, err_status(&p->resp, MC_EREJECTED), &p->resp,
		                 "greeting refused");
	/* RFC 1939 7: "<process-ID.clock@hostname>" enables APOP */
	p->timestamp[0] = '\0';
	lt = strchr(p->resp.text, '<');
	gt = lt ? strchr(lt, '>') : NULL;
	if (lt && gt && (size_t)(gt - lt + 1) < sizeof p->timestamp &&
	    memchr(lt, '@', (size_t)(gt - lt)) && !memchr(lt, ' ', (size_t)(gt - lt)) &&
	    !memchr(lt, '?', (size_t)(gt - lt))) {
		memcpy(p->timestamp, lt, (size_t)(gt - lt + 1));
		p->timestamp[gt - lt + 1] = '\0';
	}
	return pop3_send_capa(p);
}

static mc_status pop3_on_capa(struct mc_pop3 *p)
{
	if (p->resp.kind == MC_POP3_OK) {
		for (;;) {
			const char *line;
			size_t n;
			int end;
			mc_status st = pop3_read_ml_line(p, &line, &n, &end);

			if (st)
				return st;
			if (end)
				break;
			mc_pop3_caps_line(&p->caps, line, n);
		}
		p->caps.flags |= MC_POP3_CAP_CAPA;
	}
	/* -ERR: an RFC 1939-only server; nothing is known */
	return pop3_after_capa(p);
}

static mc_status pop3_on_stls(struct mc_pop3 *p)
{
	mc_status st;

	if (p->resp.kind != MC_POP3_OK) {
		if (have_creds(p) || (p->o.flags & MC_POP3_REQUIRE_TLS))
			return pop3_fail(p, MC_ENOTLS, &p->resp,
			                 "STLS refused: not continuing without TLS");
		p->caps.flags &= ~(unsigned)MC_POP3_CAP_STLS;
		return pop3_after_capa(p);
	}
	st = mc_transport_start_tls(&p->t); /* drops anything sent after the +OK */
	if (st) {
		pop3_fail(p, st == MC_ETIMEDOUT ? st : MC_ETLS, NULL, "TLS: %s",
		          mc_transport_errmsg(&p->t));
		pop3_disconnect(p);
		return p->err.status;
	}
	return pop3_send_capa(p); /* RFC 2595 4: capabilities may change */
}

static mc_status pop3_login_failed(struct mc_pop3 *p)
{
	return pop3_fail(p, err_status(&p->resp, MC_EAUTH), &p->resp, "login with %s failed",
	                 mech_name(p->mech));
}

static mc_status pop3_on_user(struct mc_pop3 *p)
{
	const char *pw = p->o.password;
	char *line;
	size_t n = strlen(pw);
	mc_status st;

	if (p->resp.kind != MC_POP3_OK)
		return pop3_login_failed(p);
	pop3_state(p, POP3_PASS);
	line = malloc(n + 6);
	if (!line)
		return pop3_fail(p, MC_ENOMEM, NULL, "out of memory");
	memcpy(line, "PASS ", 5);
	memcpy(line + 5, pw, n);
	st = mc__pp_send(&p->pp, line, n + 5, 4);
	if (st == MC_OK)
		st = mc_transport_flush(&p->t);
	explicit_bzero(line, n + 5);
	free(line);
	return st ? pop3_io_fail(p, st) : MC_OK;
}

static mc_status pop3_on_login(struct mc_pop3 *p)
{
	if (p->resp.kind != MC_POP3_OK)
		return pop3_login_failed(p);
	mc__pp_info(&p->pp, "logged in with %s", mech_name(p->mech));
	pop3_state(p, POP3_STOP);
	return MC_OK;
}

static mc_status pop3_on_auth(struct mc_pop3 *p)
{
	if (p->resp.kind == MC_POP3_CONT) {
		if (p->sasl_ir_pending) {
			p->sasl_ir_pending = 0;
			return pop3_sasl_payload(p, "", 0);
		}
		if (p->sasl_cancelled) /* a second challenge: the dialogue is off the rails */
			return pop3_fail(p, MC_EPROTO, &p->resp, "unexpected SASL challenge");
		/* an error challenge (XOAUTH2's JSON): an empty line makes the server
		 * say -ERR; for other mechanisms "*" cancels (RFC 5034 4) */
		p->sasl_cancelled = 1;
		return pop3_sendf(p, "%s", p->mech == MC_POP3_AUTH_XOAUTH2 ? "" : "*");
	}
	return pop3_on_login(p);
}

static mc_status pop3_statemach(struct mc_pop3 *p)
{
	while (p->state != POP3_STOP) {
		mc_status st = pop3_read_resp(p, p->state == POP3_AUTH);

		if (st)
			return st;
		switch (p->state) {
		case POP3_GREETING:
			st = pop3_on_greeting(p);
			break;
		case POP3_CAPA:
			st = pop3_on_capa(p);
			break;
		case POP3_STLS:
			st = pop3_on_stls(p);
			break;
		case POP3_USER:
			st = pop3_on_user(p);
			break;
		case POP3_PASS:
		case POP3_APOP:
			st = pop3_on_login(p);
			break;
		case POP3_AUTH:
			st = pop3_on_auth(p);
			break;
		default:
			st = pop3_fail(p, MC_EPROTO, NULL, "internal: no handler");
			break;
		}
		if (st)
			return st;
	}
	return MC_OK;
}

/* ================================================================ public API */

struct mc_pop3 *mc_pop3_new(const struct mc_pop3_opts *o)
{
	struct mc_pop3 *p = calloc(1, sizeof *p);

	if (!p)
		return NULL;
	if (o)
		p->o = *o;
	mc_transport_init(&p->t);
	p->pp.t = &p->t;
	p->pp.trace = p->o.trace;
	p->pp.trace_ctx = p->o.trace_ctx;
	p->state = POP3_STOP;
	return p;
}

void mc_pop3_free(struct mc_pop3 *p)
{
	if (!p)
		return;
	mc_transport_close(&p->t);
	free(p->msgs);
	free(p);
}

const struct mc_pop3_caps *mc_pop3_get_caps(const struct mc_pop3 *p)
{
	return &p->caps;
}

int mc_pop3_is_tls(const struct mc_pop3 *p)
{
	return p->connected && mc_transport_is_tls(&p->t);
}

const struct mc_pop3_error *mc_pop3_last_error(const struct mc_pop3 *p)
{
	return &p->err;
}

mc_status mc_pop3_connect(struct mc_pop3 *p)
{
	struct mc_transport_opts to = {0};
	const char *port = p->o.port;
	mc_status st;

	if (p->connected)
		pop3_disconnect(p);
	memset(&p->err, 0, sizeof p->err);
	pop3_state(p, POP3_STOP);
	if (!p->o.host || (p->o.user && !p->o.password && !p->o.oauth_token) ||
	    p->o.tls < MC_POP3_STLS || p->o.tls > MC_POP3_PLAINTEXT) {
		pop3_fail(p, MC_EINVAL, NULL, "invalid options");
		snprintf(p->err.step, sizeof p->err.step, "connect");
		return MC_EINVAL;
	}
	if (!port)
		port = p->o.tls == MC_POP3_IMPLICIT ? "995" : "110";
	to.timeout_ms = p->o.timeout_ms;
	to.cafile = p->o.cafile;
	to.insecure = (p->o.flags & MC_POP3_INSECURE) != 0;
	to.max_line = p->o.max_line ? p->o.max_line : MC_POP3_LINE_MAX;
	to.trace = p->o.trace;
	to.trace_ctx = p->o.trace_ctx;
	st = mc_transport_connect(&p->t, p->o.host, port, &to);
	if (st) {
		pop3_fail(p, st, NULL, "%s", mc_transport_errmsg(&p->t));
		snprintf(p->err.step, sizeof p->err.step, "connect");
		return st;
	}
	p->connected = 1;
	p->npending = 0;
	if (p->o.tls == MC_POP3_IMPLICIT) {
		st = mc_transport_start_tls(&p->t);
		if (st) {
			pop3_fail(p, st == MC_ETIMEDOUT ? st : MC_ETLS, NULL, "TLS: %s",
			          mc_transport_errmsg(&p->t));
			snprintf(p->err.step, sizeof p->err.step, "TLS");
			pop3_disconnect(p);
			return p->err.status;
		}
	}
	pop3_state(p, POP3_GREETING);
	st = pop3_statemach(p);
	if (st && p->connected)
		pop3_disconnect(p); /* a failed login leaves nothing to reuse */
	return st;
}

static int pipelining(const struct mc_pop3 *p)
{
	return (p->caps.flags & MC_POP3_CAP_PIPELINING) && !(p->o.flags & MC_POP3_NO_PIPELINING);
}

/* Sends a transaction command, reads queued DELE responses, then its own. */
static mc_status pop3_command(struct mc_pop3 *p, enum pop3_state st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static mc_status pop3_command(struct mc_pop3 *p, enum pop3_state state, const char *fmt, ...)
{
	char buf[MC_PP_CMD_MAX];
	va_list ap;
	mc_status st;

	if (!p->connected)
		return pop3_fail(p, MC_EINVAL, NULL, "not connected");
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	pop3_state(p, state);
	st = pop3_sendf(p, "%s", buf);
	if (st == MC_OK && p->npending)
		st = pop3_drain(p);
	if (st == MC_OK)
		st = pop3_read_resp(p, 0);
	return st;
}

mc_status mc_pop3_stat(struct mc_pop3 *p, unsigned *count, uint64_t *octets)
{
	mc_status st = pop3_command(p, POP3_STAT, "STAT");
	const char *t = p->resp.text;
	size_t n = strlen(t), i = 0, j;
	uint64_t v;

	pop3_state(p, POP3_STAT);
	if (st)
		return st;
	if (p->resp.kind != MC_POP3_OK)
		return pop3_fail(p, err_status(&p->resp, MC_EREJECTED), &p->resp, "STAT refused");
	/* RFC 1939 5: "+OK nn mm" */
	if (parse_num(t, n, &i, 0xffffffffu, &v) || (j = skip_spaces(t, n, i)) == i ||
	    parse_num(t, n, &j, UINT64_MAX, octets) || (j < n && t[j] != ' '))
		return pop3_fail(p, MC_EPROTO, &p->resp, "malformed STAT response");
	*count = (unsigned)v;
	pop3_state(p, POP3_STOP);
	return MC_OK;
}

static struct mc_pop3_msg *find_msg(struct mc_pop3 *p, unsigned num, size_t hint)
{
	size_t lo = 0, hi = p->nmsgs;

	if (hint < p->nmsgs && p->msgs[hint].num == num)
		return &p->msgs[hint];
	while (lo < hi) { /* LIST is in ascending order (checked while reading it) */
		size_t mid = lo + (hi - lo) / 2;

		if (p->msgs[mid].num == num)
			return &p->msgs[mid];
		if (p->msgs[mid].num < num)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

mc_status mc_pop3_list(struct mc_pop3 *p, const struct mc_pop3_msg **msgs, size_t *n)
{
	int uidl = (p->caps.flags & MC_POP3_CAP_UIDL) || !(p->caps.flags & MC_POP3_CAP_CAPA);
	mc_status st;

	*msgs = NULL;
	*n = 0;
	p->nmsgs = 0;
	if (!p->connected)
		return pop3_fail(p, MC_EINVAL, NULL, "not connected");
	if (uidl && pipelining(p)) {
		/* LIST and UIDL in one write: pop3_command queues UIDL behind LIST
		 * and reads LIST's status line; UIDL's comes after LIST's lines */
		pop3_state(p, POP3_LIST);
		st = pop3_sendf(p, "LIST");
		if (st == MC_OK)
			st = pop3_command(p, POP3_LIST, "UIDL");
	} else {
		st = pop3_command(p, POP3_LIST, "LIST");
	}
	if (st)
		return st;
	if (p->resp.kind != MC_POP3_OK) {
		st = pop3_fail(p, err_status(&p->resp, MC_EREJECTED), &p->resp, "LIST refused");
		if (uidl && pipelining(p))
			pop3_disconnect(p); /* UIDL's answer is on its way: not worth skipping */
		pop3_state(p, POP3_STOP);
		return st;
	}
	for (;;) {
		const char *line;
		size_t len;
		int end;
		unsigned num;
		uint64_t size;

		if ((st = pop3_read_ml_line(p, &line, &len, &end)) != MC_OK)
			return st;
		if (end)
			break;
		if (mc_pop3_list_line(line, len, &num, &size) != MC_OK ||
		    (p->nmsgs && num <= p->msgs[p->nmsgs - 1].num)) {
			pop3_fail(p, MC_EPROTO, NULL, "malformed LIST line \"%.*s\"",
			          (int)(len > 80 ? 80 : len), line);
			pop3_disconnect(p);
			return MC_EPROTO;
		}
		if (p->nmsgs == p->capmsgs) {
			size_t cap = p->capmsgs ? 2 * p->capmsgs : 256;
			struct mc_pop3_msg *m;

			if (cap > POP3_MAX_MSGS) {
				pop3_fail(p, MC_ELIMIT, NULL, "more than %d messages",
				          POP3_MAX_MSGS);
				pop3_disconnect(p);
				return MC_ELIMIT;
			}
			m = realloc(p->msgs, cap * sizeof *m);
			if (!m) {
				pop3_fail(p, MC_ENOMEM, NULL, "out of memory");
				pop3_disconnect(p);
				return MC_ENOMEM;
			}
			p->msgs = m;
			p->capmsgs = cap;
		}
		p->msgs[p->nmsgs] = (struct mc_pop3_msg){.num = num, .size = size};
		p->nmsgs++;
	}
	if (uidl) {
		if (pipelining(p)) {
			pop3_state(p, POP3_UIDL);
			st = pop3_read_resp(p, 0);
		} else {
			st = pop3_command(p, POP3_UIDL, "UIDL");
		}
		if (st)
			return st;
		if (p->resp.kind == MC_POP3_OK) {
			for (size_t i = 0;; i++) {
				const char *line;
				size_t len;
				int end;
				unsigned num;
				char uid[MC_POP3_UID_MAX + 1];
				struct mc_pop3_msg *m;

				if ((st = pop3_read_ml_line(p, &line, &len, &end)) != MC_OK)
					return st;
				if (end)
					break;
				if (mc_pop3_uidl_line(line, len, &num, uid) != MC_OK) {
					pop3_fail(p, MC_EPROTO, NULL,
					          "malformed UIDL line \"%.*s\"",
					          (int)(len > 80 ? 80 : len), line);
					pop3_disconnect(p);
					return MC_EPROTO;
				}
				m = find_msg(p, num, i);
				if (m)
					memcpy(m->uid, uid, sizeof m->uid);
			}
		}
	}
	pop3_state(p, POP3_STOP);
	*msgs = p->msgs;
	*n = p->nmsgs;
	return MC_OK;
}

mc_status mc_pop3_retr(struct mc_pop3 *p, unsigned num, long top_lines, mc_pop3_sink_fn sink,
                       void *ctx, uint64_t *octets)
{
	struct mc_pop3_ml ml;
	mc_status st;

	if (octets)
		*octets = 0;
	if (!sink)
		return pop3_fail(p, MC_EINVAL, NULL, "no sink");
	st = top_lines >= 0 ? pop3_command(p, POP3_TOP, "TOP %u %ld", num, top_lines)
	                    : pop3_command(p, POP3_RETR, "RETR %u", num);
	if (st)
		return st;
	if (p->resp.kind != MC_POP3_OK) {
		st = pop3_fail(p, err_status(&p->resp, MC_EREJECTED), &p->resp, "%s %u refused",
		               state_steps[p->state], num);
		pop3_state(p, POP3_STOP);
		return st;
	}
	mc_pop3_ml_init(&ml);
	while (!ml.done) {
		const char *buf;
		size_t n, used;

		st = mc__pp_read_raw(&p->pp, &buf, &n);
		if (st)
			return pop3_io_fail(p, st);
		st = mc_pop3_ml_feed(&ml, buf, n, &used, sink, ctx);
		if (st) {
			pop3_fail(p, st, NULL, "%s %u: the message could not be stored",
			          state_steps[p->state], num);
			pop3_disconnect(p); /* the rest of the body cannot be skipped */
			return st;
		}
		mc__pp_unread(&p->pp, n - used);
	}
	mc__pp_info(&p->pp, "message %u: %llu octets received, %llu stored", num,
	            (unsigned long long)ml.in, (unsigned long long)ml.out);
	if (octets)
		*octets = ml.out;
	pop3_state(p, POP3_STOP);
	return MC_OK;
}

mc_status mc_pop3_dele(struct mc_pop3 *p, unsigned num)
{
	mc_status st;
	struct mc_pop3_msg *m;

	if (pipelining(p)) {
		if (!p->connected)
			return pop3_fail(p, MC_EINVAL, NULL, "not connected");
		if (p->npending == POP3_PENDING_MAX && (st = pop3_drain(p)) != MC_OK)
			return st;
		pop3_state(p, POP3_DELE);
		st = pop3_sendf(p, "DELE %u", num);
		if (st)
			return st;
		p->pending[p->npending++] = num;
		pop3_state(p, POP3_STOP);
		return MC_OK;
	}
	st = pop3_command(p, POP3_DELE, "DELE %u", num);
	if (st)
		return st;
	m = find_msg(p, num, num - 1);
	if (m)
		m->deleted = p->resp.kind == MC_POP3_OK ? 1 : -1;
	pop3_state(p, POP3_STOP);
	if (p->resp.kind != MC_POP3_OK)
		return pop3_fail(p, err_status(&p->resp, MC_EREJECTED), &p->resp, "DELE %u refused",
		                 num);
	return MC_OK;
}

static mc_status simple_command(struct mc_pop3 *p, enum pop3_state state, const char *cmd)
{
	mc_status st = pop3_command(p, state, "%s", cmd);

	if (st)
		return st;
	if (p->resp.kind != MC_POP3_OK)
		st = pop3_fail(p, err_status(&p->resp, MC_EREJECTED), &p->resp, "%s refused", cmd);
	pop3_state(p, POP3_STOP);
	return st;
}

mc_status mc_pop3_rset(struct mc_pop3 *p)
{
	mc_status st = simple_command(p, POP3_RSET, "RSET");

	if (st == MC_OK)
		for (size_t i = 0; i < p->nmsgs; i++)
			p->msgs[i].deleted = 0;
	return st;
}

mc_status mc_pop3_noop(struct mc_pop3 *p)
{
	return simple_command(p, POP3_NOOP, "NOOP");
}

mc_status mc_pop3_quit(struct mc_pop3 *p)
{
	mc_status st;

	if (!p->connected)
		return MC_ECLOSED; /* the error that closed it stays the last one */
	st = simple_command(p, POP3_QUIT, "QUIT");
	if (st == MC_OK)
		mc__pp_info(&p->pp, "QUIT acknowledged: deletions committed");
	if (p->connected)
		pop3_disconnect(p);
	return st;
}

/* ================================================================ fetch */

/* Design note [fetch]: the state is a journal of lines "UID TMPNAME", one
 * appended (and fsync'ed) per message after its data is durable in tmp/ and
 * before the rename into new/. A crash anywhere leaves one of:
 *   - no line: the message is fetched again next time (its tmp/ file, if
 *     any, is an orphan that readers ignore);
 *   - a line whose tmp/ file still exists: the next run finishes the
 *     rename (mc_maildir_recover) and does not fetch it again;
 *   - a line whose file is in new/: done; the next run only DELEs it.
 * Nothing is deleted before its line exists, and deletions happen only at
 * QUIT. After a clean QUIT the journal is compacted: rewritten to a
 * temporary file, fsync'ed and renamed over the old one, keeping the UIDs
 * still on the server, each with "-" for its (finished) name. */

struct st_entry {
	char *uid, *tmp; /* tmp "-" when the delivery is known to be finished */
	int seen;        /* on the server in this session */
	int deleted;     /* DELE acknowledged in this session */
};

struct fstate {
	int dirfd;       /* where path is relative to */
	char path[1024]; /* the journal */
	int fd;          /* open for appending, or -1 */
	struct st_entry *e;
	size_t n, cap, nsorted; /* e[0..nsorted) sorted by uid */
};

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct st_entry *)a)->uid, ((const struct st_entry *)b)->uid);
}

static int entry_order_cmp(const void *a, const void *b)
{
	const struct st_entry *x = a, *y = b;
	int c = strcmp(x->uid, y->uid);

	return c ? c : (x->seen > y->seen) - (x->seen < y->seen);
}

static struct st_entry *state_find(struct fstate *s, const char *uid)
{
	struct st_entry key = {.uid = (char *)uid};

	return s->nsorted ? bsearch(&key, s->e, s->nsorted, sizeof *s->e, entry_cmp) : NULL;
}

/* A NUL-terminated copy of n bytes that need not be a C string (strndup would
 * scan for a NUL past them: the journal buffer is not terminated). */
static char *memdup_str(const char *p, size_t n)
{
	char *c = malloc(n + 1);

	if (c) {
		memcpy(c, p, n);
		c[n] = '\0';
	}
	return c;
}

static int state_add(struct fstate *s, const char *uid, size_t ul, const char *tmp, size_t tl)
{
	struct st_entry *e;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;

		e = realloc(s->e, cap * sizeof *e);
		if (!e)
			return -1;
		s->e = e;
		s->cap = cap;
	}
	e = &s->e[s->n];
	memset(e, 0, sizeof *e);
	e->uid = memdup_str(uid, ul);
	e->tmp = memdup_str(tmp, tl);
	if (!e->uid || !e->tmp) {
		free(e->uid);
		free(e->tmp);
		return -1;
	}
	s->n++;
	return 0;
}

static void state_free(struct fstate *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->e[i].uid);
		free(s->e[i].tmp);
	}
	free(s->e);
	if (s->fd >= 0)
		close(s->fd);
	s->e = NULL;
	s->n = s->cap = s->nsorted = 0;
	s->fd = -1;
}

#define STATE_MAGIC "mimecodec-pop3-state 1\n"

/* Loads the journal (a missing file is an empty state); a last line without
 * its LF (a crash mid-append) is ignored. Later lines for a UID win. */
static mc_status state_load(struct fstate *s, char *why, size_t whycap)
{
	int fd = openat(s->dirfd, s->path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	char *buf, *p, *end;
	size_t got = 0;

	if (fd < 0) {
		if (errno == ENOENT)
			return MC_OK;
		snprintf(why, whycap, "state file %.400s: %s", s->path, strerror(errno));
		return MC_EIO;
	}
	if (fstat(fd, &sb) != 0 || sb.st_size > (off_t)1 << 30 ||
	    !(buf = malloc((size_t)sb.st_size + 1))) {
		close(fd);
		snprintf(why, whycap, "state file %.400s: cannot read it", s->path);
		return MC_EIO;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	end = buf + got;
	p = buf;
	if (got >= sizeof STATE_MAGIC - 1 && memcmp(buf, STATE_MAGIC, sizeof STATE_MAGIC - 1) == 0)
		p += sizeof STATE_MAGIC - 1;
	else if (got) {
		free(buf);
		snprintf(why, whycap, "state file %.400s: not a mimecodec POP3 state file",
		         s->path);
		return MC_EIO;
	}
	while (p < end) {
		char *lf = memchr(p, '\n', (size_t)(end - p)), *sp;

		if (!lf)
			break; /* torn last append */
		sp = memchr(p, ' ', (size_t)(lf - p));
		if (sp && sp > p && sp + 1 < lf &&
		    state_add(s, p, (size_t)(sp - p), sp + 1, (size_t)(lf - sp - 1)) != 0) {
			free(buf);
			snprintf(why, whycap, "out of memory");
			return MC_ENOMEM;
		}
		p = lf + 1;
	}
	free(buf);
	if (s->n) { /* sort by UID, then line order; keep the last line of each */
		size_t o = 0;

		for (size_t i = 0; i < s->n; i++)
			s->e[i].seen = (int)i;
		qsort(s->e, s->n, sizeof *s->e, entry_order_cmp);
		for (size_t i = 0; i < s->n; i++) {
			if (i + 1 < s->n && strcmp(s->e[i].uid, s->e[i + 1].uid) == 0) {
				free(s->e[i].uid);
				free(s->e[i].tmp);
				continue;
			}
			s->e[o] = s->e[i];
			s->e[o++].seen = 0;
		}
		s->n = o;
	}
	s->nsorted = s->n;
	return MC_OK;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static mc_status state_append(struct fstate *s, const char *uid, const char *tmp, char *why,
                              size_t whycap)
{
	char line[MC_POP3_UID_MAX + MC_MAILDIR_NAME_MAX + 4];
	int n;

	if (s->fd < 0) {
		struct stat sb;

		s->fd = openat(s->dirfd, s->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (s->fd < 0 || fstat(s->fd, &sb) != 0 ||
		    (sb.st_size == 0 && write_all(s->fd, STATE_MAGIC, sizeof STATE_MAGIC - 1))) {
			snprintf(why, whycap, "state file %.400s: %s", s->path, strerror(errno));
			return MC_EIO;
		}
	}
	n = snprintf(line, sizeof line, "%s %s\n", uid, tmp);
	if (n < 0 || (size_t)n >= sizeof line || write_all(s->fd, line, (size_t)n) ||
	    fsync(s->fd) != 0) {
		snprintf(why, whycap, "state file %.400s: %s", s->path, strerror(errno));
		return MC_EIO;
	}
	return MC_OK;
}

/* See [fetch]: the compacted state, written atomically. */
static mc_status state_compact(struct fstate *s, char *why, size_t whycap)
{
	char tmp[1100];
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	int fd = -1, ok;
	const char *slash;

	if (!buf)
		return MC_ENOMEM;
	memcpy(buf, STATE_MAGIC, sizeof STATE_MAGIC - 1);
	len = sizeof STATE_MAGIC - 1;
	for (size_t i = 0; i < s->n; i++) {
		size_t need = strlen(s->e[i].uid) + 4;

		if (!s->e[i].seen || s->e[i].deleted)
			continue;
		if (len + need > cap) {
			char *b;

			cap = 2 * (len + need);
			b = realloc(buf, cap);
			if (!b) {
				free(buf);
				return MC_ENOMEM;
			}
			buf = b;
		}
		len += (size_t)snprintf(buf + len, cap - len, "%s -\n", s->e[i].uid);
	}
	snprintf(tmp, sizeof tmp, "%s.tmp", s->path);
	fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ok = fd >= 0 && write_all(fd, buf, len) == 0 && fsync(fd) == 0;
	if (fd >= 0 && close(fd) != 0)
		ok = 0;
	free(buf);
	if (!ok || renameat(s->dirfd, tmp, s->dirfd, s->path) != 0) {
		snprintf(why, whycap, "state file %.400s: %s", s->path, strerror(errno));
		unlinkat(s->dirfd, tmp, 0);
		return MC_EIO;
	}
	/* the rename itself must be durable: fsync the directory holding it */
	slash = strrchr(s->path, '/');
	if (slash) {
		char dir[1024];
		int dfd;

		snprintf(dir, sizeof dir, "%.*s", (int)(slash - s->path), s->path);
		dfd = openat(s->dirfd, dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	} else {
		fsync(s->dirfd);
	}
	return MC_OK;
}

/* The default state name: "mimecodec-pop3.<user>@<host>", unsafe bytes '_'. */
static void state_name(char *out, size_t cap, const char *user, const char *host)
{
	size_t o = (size_t)snprintf(out, cap, "mimecodec-pop3.");

	for (const char *s = user ? user : "", *h = host; o + 1 < cap; s++) {
		char c = *s;

		if (!c && h) {
			c = '@';
			s = h - 1;
			h = NULL;
		} else if (!c) {
			break;
		}
		out[o++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		                   (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '@' ||
		                   c == '+'
		               ? c
		               : '_';
	}
	out[o] = '\0';
}

struct fetch_ctx {
	const struct mc_pop3_fetch_opts *fo;
	struct mc_pop3_fetch_result r;
	struct mc_pop3_error err;
};

static mc_status fetch_fail(struct fetch_ctx *f, mc_status st, const char *step, const char *msg)
{
	memset(&f->err, 0, sizeof f->err);
	f->err.status = st;
	snprintf(f->err.step, sizeof f->err.step, "%s", step);
	snprintf(f->err.msg, sizeof f->err.msg, "%s", msg);
	return st;
}

static int fetch_event(struct fetch_ctx *f, int ev, const struct mc_pop3_msg *m, const char *file)
{
	return f->fo->on_event ? f->fo->on_event(f->fo->ctx, ev, m, file) : 0;
}

mc_status mc_pop3_fetch(const struct mc_pop3_opts *o, const struct mc_pop3_fetch_opts *fo,
                        struct mc_pop3_fetch_result *res, struct mc_pop3_error *err)
{
	struct fetch_ctx f;
	struct fstate s = {.fd = -1};
	struct mc_maildir md;
	struct mc_pop3 *p = NULL;
	const struct mc_pop3_msg *msgs;
	size_t nmsgs = 0;
	char why[600] = "", name[MC_MAILDIR_NAME_MAX + 32];
	mc_status st;
	int md_open = 0, stop = 0;

	memset(&f, 0, sizeof f);
	f.fo = fo;
	if (!o || !fo || !fo->maildir) {
		st = fetch_fail(&f, MC_EINVAL, "fetch", "invalid options");
		goto out;
	}
	st = mc_maildir_open(&md, fo->maildir);
	if (st) {
		fetch_fail(&f, st, "Maildir", mc_maildir_errmsg(&md));
		goto out;
	}
	md_open = 1;
	if (fo->state_file) {
		s.dirfd = AT_FDCWD;
		snprintf(s.path, sizeof s.path, "%s", fo->state_file);
	} else {
		s.dirfd = mc_maildir_dirfd(&md);
		state_name(s.path, sizeof s.path, o->user, o->host);
	}
	if ((st = state_load(&s, why, sizeof why)) != MC_OK) {
		fetch_fail(&f, st, "state", why);
		goto out;
	}
	/* deliveries a crash left between the journal line and the rename */
	for (size_t i = 0; i < s.n; i++) {
		if (strcmp(s.e[i].tmp, "-") == 0)
			continue;
		st = mc_maildir_recover(&md, s.e[i].tmp, name, sizeof name);
		if (st == MC_OK)
			f.r.recovered++;
		else if (st != MC_ECLOSED && st != MC_EINVAL) {
			fetch_fail(&f, st, "Maildir", mc_maildir_errmsg(&md));
			goto out;
		}
	}
	st = MC_OK;
	p = mc_pop3_new(o);
	if (!p) {
		st = fetch_fail(&f, MC_ENOMEM, "fetch", "out of memory");
		goto out;
	}
	if ((st = mc_pop3_connect(p)) != MC_OK || (st = mc_pop3_list(p, &msgs, &nmsgs)) != MC_OK) {
		f.err = p->err;
		goto out;
	}
	f.r.listed = (unsigned)nmsgs;
	if (fo->keep)
		for (size_t i = 0; i < nmsgs; i++)
			if (!msgs[i].uid[0]) {
				st = fetch_fail(
				    &f, MC_EUNSUPPORTED, "UIDL",
				    "the server gives no UIDL: with --keep every message "
				    "would be fetched again each time");
				(void)mc_pop3_quit(p);
				goto out;
			}
	for (size_t i = 0; i < nmsgs && !stop; i++) {
		const struct mc_pop3_msg *m = &msgs[i];
		struct st_entry *e = m->uid[0] ? state_find(&s, m->uid) : NULL;
		uint64_t got = 0;

		if (fo->stop && *fo->stop)
			break;
		if (e) {
			e->seen = 1;
			f.r.skipped++;
			stop = fetch_event(&f, MC_POP3_SKIPPED, m, NULL);
		} else {
			if ((st = mc_maildir_begin(&md)) != MC_OK) {
				fetch_fail(&f, st, "Maildir", mc_maildir_errmsg(&md));
				goto out; /* no QUIT: nothing is deleted */
			}
			st = mc_pop3_retr(p, m->num, -1, mc_maildir_sink, &md, &got);
			if (st == MC_EREJECTED && p->connected) { /* gone meanwhile */
				mc_maildir_abort(&md);
				continue;
			}
			if (st) {
				f.err = p->err;
				if (md.err[0] && st == MC_EIO)
					snprintf(f.err.msg, sizeof f.err.msg, "%s",
					         mc_maildir_errmsg(&md));
				mc_maildir_abort(&md);
				goto out;
			}
			if ((st = mc_maildir_sync(&md)) != MC_OK) {
				fetch_fail(&f, st, "Maildir", mc_maildir_errmsg(&md));
				mc_maildir_abort(&md);
				goto out;
			}
			if (m->uid[0] && (st = state_append(&s, m->uid, mc_maildir_tmpname(&md),
			                                    why, sizeof why)) != MC_OK) {
				fetch_fail(&f, st, "state", why);
				mc_maildir_abort(&md);
				goto out;
			}
			if ((st = mc_maildir_commit(&md, name, sizeof name)) != MC_OK) {
				fetch_fail(&f, st, "Maildir", mc_maildir_errmsg(&md));
				goto out;
			}
			if (m->uid[0] && state_add(&s, m->uid, strlen(m->uid), "-", 1) == 0)
				s.e[s.n - 1].seen = 1;
			f.r.fetched++;
			f.r.bytes += got;
			stop = fetch_event(&f, MC_POP3_FETCHED, m, name);
		}
		if (!fo->keep && (st = mc_pop3_dele(p, m->num)) != MC_OK && !p->connected) {
			f.err = p->err;
			goto out;
		}
		st = MC_OK;
	}
	st = mc_pop3_quit(p);
	if (st != MC_OK) {
		f.err = p->err;
		goto out;
	}
	f.r.quit_ok = 1;
	for (size_t i = 0; i < nmsgs; i++) {
		struct st_entry *e;

		if (msgs[i].deleted != 1)
			continue;
		f.r.deleted++;
		/* a UID of this session is in the sorted part or in the tail */
		e = state_find(&s, msgs[i].uid);
		for (size_t k = s.nsorted; !e && k < s.n; k++)
			if (strcmp(s.e[k].uid, msgs[i].uid) == 0)
				e = &s.e[k];
		if (e)
			e->deleted = 1;
		fetch_event(&f, MC_POP3_DELETED, &msgs[i], NULL);
	}
	if ((st = state_compact(&s, why, sizeof why)) != MC_OK)
		fetch_fail(&f, st, "state", why); /* the journal is still valid */
out:
	if (md_open)
		mc_maildir_close(&md);
	state_free(&s);
	mc_pop3_free(p);
	if (res)
		*res = f.r;
	if (err)
		*err = f.err;
	return st;
}
