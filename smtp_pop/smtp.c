/* smtp.c: SMTP submission client as one explicit state machine over the
 * pingpong line engine. RFC 5321, 3207, 4954 (+ RFC 4616 PLAIN, LOGIN,
 * XOAUTH2), 1870, 2920, 3030, 6152, 6531, 2034/3463, 8314.
 *
 * Design note [states]: every reply the server sends is read by one loop
 * (smtp_statemach) and handed to the handler of the current state, which
 * sends the next command(s) and moves to the next state through smtp_state(),
 * the only place the state changes (traced with MC_SMTP_TRACE_STATES). With
 * PIPELINING the commands of a transaction are queued at once and the same
 * handlers consume their replies in order, so pipelined and lock-step
 * dialogues differ only in when commands are written, never in how replies
 * are interpreted.
 *
 * Design note [secrets]: AUTH payloads are built in a heap buffer that is
 * cleansed after use and sent with mc__pp_send(..., shown) so the trace shows
 * only "AUTH PLAIN <redacted>". Credentials are sent only when TLS is on
 * (checked in smtp_after_ehlo, the one place AUTH can start).
 *
 * Design note [body]: the body is pulled in MC_SMTP_IN chunks, normalised
 * (bare CR/LF to CRLF, leading dots doubled for DATA) into a buffer of twice
 * that size and written out; memory is constant whatever the message size.
 * With CHUNKING each normalised chunk is one BDAT; with PIPELINING up to
 * BDAT_INFLIGHT BDAT replies may be outstanding (bounded, so the server's
 * replies can never fill the socket buffers while we write). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "mimecodec/base64.h"
#include "mimecodec/smtp.h"
#include "pingpong.h"
#include "smtp_internal.h"

#define MC_SMTP_IN    (256u * 1024u) /* body bytes pulled per read */
#define BDAT_INFLIGHT 4              /* pipelined BDAT replies outstanding at most */

/* ================================================================ states */

/* clang-format off: one state per line (clang-format 14 oscillates here) */
#define SMTP_STATES(X)              \
	X(STOP, "-")                \
	X(GREETING, "greeting")     \
	X(EHLO, "EHLO")             \
	X(HELO, "HELO")             \
	X(STARTTLS, "STARTTLS")     \
	X(AUTH, "AUTH")             \
	X(AUTH_LOGIN_USER, "AUTH")  \
	X(AUTH_LOGIN_PASS, "AUTH")  \
	X(AUTH_XOAUTH2_ERR, "AUTH") \
	X(RSET, "RSET")             \
	X(MAIL, "MAIL")             \
	X(RCPT, "RCPT")             \
	X(DATA, "DATA")             \
	X(POSTDATA, "DATA")         \
	X(BDAT, "BDAT")             \
	X(QUIT, "QUIT")
/* clang-format on */

enum smtp_state {
#define SMTP_ENUM_(name, step) SMTP_##name,
	SMTP_STATES(SMTP_ENUM_)
#undef SMTP_ENUM_
};

static const char *const state_names[] = {
#define SMTP_NAME_(name, step) #name,
    SMTP_STATES(SMTP_NAME_)
#undef SMTP_NAME_
};

static const char *const state_steps[] = {
#define SMTP_STEP_(name, step) step,
    SMTP_STATES(SMTP_STEP_)
#undef SMTP_STEP_
};

struct mc_smtp {
	struct mc_smtp_opts o;
	struct mc_pp pp;
	struct mc_smtp_caps caps;
	struct mc_smtp_error err;
	struct mc_smtp_reply reply; /* the reply being read / just read */
	enum smtp_state state;
	int connected;   /* the transport is open */
	unsigned ntrans; /* transactions begun on this connection */
	unsigned mech;   /* AUTH mechanism in use */
	/* the current transaction */
	const struct mc_smtp_envelope *env;
	const struct mc_smtp_body *body;
	struct mc_smtp_rcpt *rcpts;
	size_t rcpt_next; /* index of the next RCPT reply */
	size_t accepted;
	int pipelining, chunking, data_queued;
	mc_status result;
	unsigned char *in, *out; /* body buffers: MC_SMTP_IN and its bound */
	struct mc_transport t;   /* last: it is large */
};

static void smtp_state(struct mc_smtp *s, enum smtp_state st)
{
	if (s->state != st && (s->o.flags & MC_SMTP_TRACE_STATES))
		mc__pp_info(&s->pp, "state %s -> %s", state_names[s->state], state_names[st]);
	s->state = st;
}

/* ================================================================ replies */

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Length of an RFC 3463 code "C.SSS.DDD" at the front of p[0..n) whose class
 * is cls, followed by a space or the end; 0 when there is none. */
static size_t enhanced_len(const char *p, size_t n, char cls)
{
	size_t i = 0, k;

	if (n < 5 || p[0] != cls || p[1] != '.')
		return 0;
	i = 2;
	for (k = 0; i < n && is_digit(p[i]) && k < 3; i++, k++)
		;
	if (k == 0 || i >= n || p[i] != '.')
		return 0;
	i++;
	for (k = 0; i < n && is_digit(p[i]) && k < 3; i++, k++)
		;
	if (k == 0 || (i < n && p[i] != ' '))
		return 0;
	return i;
}

static void text_append(struct mc_smtp_reply *r, const char *p, size_t n)
{
	size_t len = strlen(r->text), room;

	if (len && len + 1 < sizeof r->text)
		r->text[len++] = ' ';
	room = sizeof r->text - 1 - len;
	if (n > room)
		n = room;
	for (size_t i = 0; i < n; i++) /* the text reaches traces and terminals */
		r->text[len + i] = (p[i] >= 0x20 && p[i] != 0x7f) || (p[i] & 0x80) ? p[i] : '?';
	r->text[len + n] = '\0';
}

mc_status mc_smtp_reply_line(struct mc_smtp_reply *r, const char *line, size_t n)
{
	int code, last;
	size_t e;

	if (r->complete)
		return MC_EPROTO;
	if (n < 3 || line[0] < '2' || line[0] > '5' || !is_digit(line[1]) || !is_digit(line[2]))
		return MC_EPROTO;
	if (n > 3 && line[3] != ' ' && line[3] != '-')
		return MC_EPROTO;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->nlines && code != r->code)
		return MC_EPROTO;
	if (r->nlines >= MC_SMTP_REPLY_MAX_LINES)
		return MC_ELIMIT;
	last = n == 3 || line[3] == ' ';
	r->code = code;
	r->nlines++;
	if (n > 4) {
		line += 4;
		n -= 4;
		e = enhanced_len(line, n, (char)('0' + code / 100));
		if (e) {
			if (r->enhanced[0] == '\0') {
				memcpy(r->enhanced, line, e);
				r->enhanced[e] = '\0';
			}
			line += e;
			n -= e;
			if (n) { /* the space after the code */
				line++;
				n--;
			}
		}
		text_append(r, line, n);
	}
	r->complete = last;
	return MC_OK;
}

/* ================================================================ capabilities */

/* Case-insensitive match of the keyword at p[0..n) (up to a space or the end). */
static int kw_is(const char *p, size_t n, const char *kw)
{
	size_t k = strlen(kw);

	return n >= k && strncasecmp(p, kw, k) == 0 && (n == k || p[k] == ' ' || p[k] == '=');
}

void mc_smtp_caps_line(struct mc_smtp_caps *caps, const char *p, size_t n)
{
	static const struct {
		const char *kw;
		unsigned flag;
	} simple[] = {
	    {"PIPELINING", MC_SMTP_CAP_PIPELINING},
	    {"8BITMIME", MC_SMTP_CAP_8BITMIME},
	    {"SMTPUTF8", MC_SMTP_CAP_SMTPUTF8},
	    {"STARTTLS", MC_SMTP_CAP_STARTTLS},
	    {"CHUNKING", MC_SMTP_CAP_CHUNKING},
	    {"ENHANCEDSTATUSCODES", MC_SMTP_CAP_ENHANCEDSTATUSCODES},
	    {"DSN", MC_SMTP_CAP_DSN},
	};
	static const struct {
		const char *name;
		unsigned bit;
	} mechs[] = {
	    {"PLAIN", MC_SMTP_AUTH_PLAIN},
	    {"LOGIN", MC_SMTP_AUTH_LOGIN},
	    {"XOAUTH2", MC_SMTP_AUTH_XOAUTH2},
	    {"CRAM-MD5", MC_SMTP_AUTH_CRAM_MD5},
	};

	for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
		if (kw_is(p, n, simple[i].kw)) {
			caps->flags |= simple[i].flag;
			return;
		}
	if (kw_is(p, n, "SIZE")) {
		uint64_t v = 0;
		size_t i = 4;

		caps->flags |= MC_SMTP_CAP_SIZE;
		while (i < n && (p[i] == ' ' || p[i] == '='))
			i++;
		for (; i < n && is_digit(p[i]); i++) {
			if (v > (UINT64_MAX - 9) / 10) { /* absurd: treat as no limit */
				v = 0;
				break;
			}
			v = v * 10 + (uint64_t)(p[i] - '0');
		}
		caps->size_max = v;
		return;
	}
	/* "AUTH PLAIN LOGIN" and the pre-RFC "AUTH=PLAIN LOGIN" */
	if (kw_is(p, n, "AUTH")) {
		size_t i = 4;

		caps->flags |= MC_SMTP_CAP_AUTH;
		while (i < n) {
			size_t j;

			while (i < n && (p[i] == ' ' || p[i] == '='))
				i++;
			for (j = i; j < n && p[j] != ' '; j++)
				;
			for (size_t m = 0; m < sizeof mechs / sizeof mechs[0]; m++)
				if (j - i == strlen(mechs[m].name) &&
				    strncasecmp(p + i, mechs[m].name, j - i) == 0)
					caps->auth |= mechs[m].bit;
			i = j;
		}
	}
}

/* ================================================================ body */

void mc_smtp_stuffer_init(struct mc_smtp_stuffer *st, int dotstuff)
{
	st->bol = 1;
	st->cr = 0;
	st->dotstuff = dotstuff != 0;
}

/* A CR is written at once and its LF when the next byte shows whether the
 * CR was bare. Each byte writes at most 2 bytes of its own ("\r\n" for a bare
 * LF, ".." for a leading dot) plus the "\n" of a bare CR before it, which is
 * already counted for a CR in the same call (it wrote only 1): so n bytes
 * write at most 2n + 1, the 1 for a CR left by the previous call.
 *
 * Speed: mail is mostly lines that already end in CRLF (base64 is 76 columns
 * and CRLF), so after the first byte of a line, memchr (vectorised in libc)
 * finds the next LF and then any CR before it; a line whose only CR is the
 * one before its LF is copied whole, CRLF included. Everything else (bare
 * CR, bare LF, a CR at the end of the input) goes through the byte steps
 * above. The next LF is remembered (nl) until it is passed, so input with
 * many bare CRs and a far-away LF is still scanned once: linear time. */
size_t mc_smtp_stuffer_update(struct mc_smtp_stuffer *st, const void *src, size_t n, void *dst)
{
	const unsigned char *p = src, *end = p + n, *nl = NULL;
	unsigned char *o = dst;

	while (p < end) {
		unsigned char c = *p;
		const unsigned char *cr;

		if (st->cr) {
			st->cr = 0;
			*o++ = '\n';
			st->bol = 1;
			if (c == '\n') {
				p++;
				continue;
			}
		}
		if (c == '\r') {
			*o++ = '\r';
			st->cr = 1;
			p++;
			continue;
		}
		if (c == '\n') { /* bare LF */
			*o++ = '\r';
			*o++ = '\n';
			st->bol = 1;
			p++;
			continue;
		}
		if (st->bol) {
			st->bol = 0;
			if (c == '.' && st->dotstuff)
				*o++ = '.';
		}
		/* p[0] is neither CR nor LF; nl: the next LF at or after p, or end */
		if (!nl || nl < p) {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl)
				nl = end;
		}
		cr = memchr(p, '\r', (size_t)(nl - p));
		if (cr && cr + 1 == nl && nl < end) { /* the line ends in CRLF: copy it whole */
			memcpy(o, p, (size_t)(nl + 1 - p));
			o += nl + 1 - p;
			p = nl + 1;
			st->bol = 1;
			continue;
		}
		if (!cr)
			cr = nl; /* copy up to the bare LF (or the end) */
		memcpy(o, p, (size_t)(cr - p));
		o += cr - p;
		p = cr;
	}
	return (size_t)(o - (unsigned char *)dst);
}

size_t mc_smtp_stuffer_final(struct mc_smtp_stuffer *st, void *dst)
{
	unsigned char *o = dst;

	if (st->cr) {
		*o++ = '\n';
		st->cr = 0;
		st->bol = 1;
	}
	if (!st->bol) {
		*o++ = '\r';
		*o++ = '\n';
		st->bol = 1;
	}
	return (size_t)(o - (unsigned char *)dst);
}

/* ================================================================ addresses */

mc_status mc_smtp_check_address(const char *a, int utf8)
{
	int inq = 0;
	size_t i;

	if (!a)
		return MC_EINVAL;
	for (i = 0; a[i]; i++) {
		unsigned char c = (unsigned char)a[i];

		if (i >= 254 || c < 0x20 || c == 0x7f || c == '<' || c == '>')
			return MC_EINVAL;
		if (c >= 0x80 && !utf8)
			return MC_EINVAL;
		if (c == '"')
			inq = !inq;
		else if (c == '\\' && inq) {
			c = (unsigned char)a[++i];
			if (c < 0x20 || c == 0x7f)
				return MC_EINVAL;
		} else if (c == ' ' && !inq)
			return MC_EINVAL;
	}
	return inq ? MC_EINVAL : MC_OK;
}

static int has_8bit(const char *a)
{
	for (; *a; a++)
		if ((unsigned char)*a >= 0x80)
			return 1;
	return 0;
}

/* ================================================================ errors */

static mc_status reply_status(int code)
{
	return code >= 400 && code < 500 ? MC_ETEMPFAIL : MC_EREJECTED;
}

/* Records an error; with r, the server's reply is kept and quoted. */
static mc_status smtp_fail(struct mc_smtp *s, mc_status st, const struct mc_smtp_reply *r,
                           const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static mc_status smtp_fail(struct mc_smtp *s, mc_status st, const struct mc_smtp_reply *r,
                           const char *fmt, ...)
{
	struct mc_smtp_error *e = &s->err;
	size_t len;
	va_list ap;

	e->status = st;
	snprintf(e->step, sizeof e->step, "%s", state_steps[s->state]);
	if (r)
		e->reply = *r;
	else
		memset(&e->reply, 0, sizeof e->reply);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	len = strlen(e->msg);
	if (r && r->code && len < sizeof e->msg)
		snprintf(e->msg + len, sizeof e->msg - len, ": server said %d%s%s %s", r->code,
		         r->enhanced[0] ? " " : "", r->enhanced, r->text);
	mc__pp_info(&s->pp, "error: %s", e->msg);
	return st;
}

static void smtp_disconnect(struct mc_smtp *s)
{
	mc_transport_close(&s->t);
	s->connected = 0;
	s->ntrans = 0;
	memset(&s->caps, 0, sizeof s->caps);
	smtp_state(s, SMTP_STOP);
}

/* A transport failure: the connection is unusable from here on. */
static mc_status smtp_io_fail(struct mc_smtp *s, mc_status st)
{
	smtp_fail(s, st, NULL, "%s: %s", state_steps[s->state], mc_transport_errmsg(&s->t));
	smtp_disconnect(s);
	return st;
}

/* ================================================================ line engine use */

static mc_status smtp_sendf(struct mc_smtp *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static mc_status smtp_sendf(struct mc_smtp *s, const char *fmt, ...)
{
	char buf[MC_PP_CMD_MAX];
	va_list ap;
	int n;
	mc_status st;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 2 > sizeof buf)
		return smtp_fail(s, MC_ELIMIT, NULL, "command too long");
	st = mc__pp_send(&s->pp, buf, (size_t)n, (size_t)n);
	if (st == MC_EINVAL)
		return smtp_fail(s, st, NULL, "refusing to send a command with CR or LF");
	return st ? smtp_io_fail(s, st) : MC_OK;
}

/* Reads one complete reply into s->reply; EHLO lines feed the capabilities.
 * A 421 (service closing) ends the connection wherever it comes. */
static mc_status smtp_read_reply(struct mc_smtp *s)
{
	struct mc_smtp_reply *r = &s->reply;

	memset(r, 0, sizeof *r);
	while (!r->complete) {
		const char *line;
		size_t n;
		mc_status st = mc__pp_readline(&s->pp, &line, &n);

		if (st == MC_ELIMIT) {
			smtp_fail(s, st, NULL, "%s: reply line longer than %zu bytes",
			          state_steps[s->state], s->t.max_line);
			smtp_disconnect(s);
			return st;
		}
		if (st)
			return smtp_io_fail(s, st);
		st = mc_smtp_reply_line(r, line, n);
		if (st) {
			smtp_fail(s, st == MC_ELIMIT ? st : MC_EPROTO, NULL,
			          "%s: malformed reply line \"%.*s\"", state_steps[s->state],
			          (int)(n > 80 ? 80 : n), line);
			smtp_disconnect(s);
			return s->err.status;
		}
		if (s->state == SMTP_EHLO && r->code == 250 && r->nlines > 1 && n > 4)
			mc_smtp_caps_line(&s->caps, line + 4, n - 4);
	}
	if (r->code == 421 && s->state != SMTP_QUIT) {
		smtp_fail(s, MC_ETEMPFAIL, r, "%s: server is closing the connection",
		          state_steps[s->state]);
		smtp_disconnect(s);
		return MC_ETEMPFAIL;
	}
	return MC_OK;
}

/* ================================================================ session setup */

static int have_creds(const struct mc_smtp *s)
{
	return s->o.user && (s->o.password || s->o.oauth_token);
}

static mc_status smtp_send_ehlo(struct mc_smtp *s)
{
	memset(&s->caps, 0, sizeof s->caps);
	smtp_state(s, SMTP_EHLO);
	return smtp_sendf(s, "EHLO %s", s->o.helo_name ? s->o.helo_name : s->t.local);
}

/* base64 of raw[0..n) after prefix into a fresh heap line; *shown is the
 * length of the part that may be traced. Caller cleanses and frees. */
static char *auth_line(const char *prefix, const unsigned char *raw, size_t n, size_t *len)
{
	size_t pl = strlen(prefix), bl = mc_b64_encoded_size(n, 0, 0);
	char *l = malloc(pl + bl + 1);

	if (!l)
		return NULL;
	memcpy(l, prefix, pl);
	mc_b64_encode(raw, n, l + pl, 0, 0);
	l[pl + bl] = '\0';
	*len = pl + bl;
	return l;
}

/* Sends prefix + base64(a 0 b 0 c ...) with everything after `shown` redacted. */
static mc_status smtp_send_secret(struct mc_smtp *s, const char *prefix, size_t shown,
                                  const char *const *parts, const size_t *lens, size_t nparts)
{
	size_t n = 0, len = 0, k = 0;
	unsigned char *raw;
	char *line;
	mc_status st;

	for (size_t i = 0; i < nparts; i++)
		n += lens[i];
	if (n > 16384)
		return smtp_fail(s, MC_ELIMIT, NULL, "credentials too long");
	raw = malloc(n + 1);
	if (!raw)
		return smtp_fail(s, MC_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < nparts; i++) {
		memcpy(raw + k, parts[i], lens[i]);
		k += lens[i];
	}
	line = auth_line(prefix, raw, n, &len);
	explicit_bzero(raw, n + 1);
	free(raw);
	if (!line)
		return smtp_fail(s, MC_ENOMEM, NULL, "out of memory");
	st = mc__pp_send(&s->pp, line, len, shown);
	explicit_bzero(line, len);
	free(line);
	if (st == MC_OK)
		st = mc_transport_flush(&s->t);
	return st ? smtp_io_fail(s, st) : MC_OK;
}

static const char *mech_name(unsigned m)
{
	return m == MC_SMTP_AUTH_XOAUTH2 ? "XOAUTH2" : m == MC_SMTP_AUTH_PLAIN ? "PLAIN" : "LOGIN";
}

static mc_status smtp_auth_start(struct mc_smtp *s)
{
	unsigned allowed = s->o.auth_mechs ? s->o.auth_mechs : ~0u;
	unsigned offered = s->caps.auth & allowed;
	const char *u = s->o.user;

	if (s->o.oauth_token)
		s->mech = offered & MC_SMTP_AUTH_XOAUTH2;
	else if (offered & MC_SMTP_AUTH_PLAIN)
		s->mech = MC_SMTP_AUTH_PLAIN;
	else
		s->mech = offered & MC_SMTP_AUTH_LOGIN;
	smtp_state(s, SMTP_AUTH);
	if (!s->mech)
		return smtp_fail(s, MC_EAUTH, NULL,
		                 "the server offers no usable AUTH mechanism (offered:%s%s%s%s)",
		                 s->caps.auth & MC_SMTP_AUTH_PLAIN ? " PLAIN" : "",
		                 s->caps.auth & MC_SMTP_AUTH_LOGIN ? " LOGIN" : "",
		                 s->caps.auth & MC_SMTP_AUTH_XOAUTH2 ? " XOAUTH2" : "",
		                 s->caps.flags & MC_SMTP_CAP_AUTH ? "" : " none");
	if (s->mech == MC_SMTP_AUTH_PLAIN) {
		/* RFC 4616: authzid NUL authcid NUL passwd, as the initial response */
		const char *parts[] = {"", "", u, "", s->o.password};
		size_t lens[] = {0, 1, strlen(u), 1, strlen(s->o.password)};

		parts[1] = parts[3] = "\0"; /* the NUL separators */
		return smtp_send_secret(s, "AUTH PLAIN ", 10, parts, lens, 5);
	}
	if (s->mech == MC_SMTP_AUTH_XOAUTH2) {
		const char *parts[] = {"user=", u, "\001auth=Bearer ", s->o.oauth_token,
		                       "\001\001"};
		size_t lens[] = {5, strlen(u), 13, strlen(s->o.oauth_token), 2};

		return smtp_send_secret(s, "AUTH XOAUTH2 ", 12, parts, lens, 5);
	}
	smtp_state(s, SMTP_AUTH_LOGIN_USER);
	return smtp_sendf(s, "AUTH LOGIN");
}

/* After an EHLO/HELO: upgrade, insist on TLS, authenticate, or be ready. */
static mc_status smtp_after_ehlo(struct mc_smtp *s)
{
	int tls = mc_transport_is_tls(&s->t);
	int need_tls = have_creds(s) || (s->o.flags & MC_SMTP_REQUIRE_TLS);

	if (!tls && s->o.tls == MC_SMTP_STARTTLS && (s->caps.flags & MC_SMTP_CAP_STARTTLS)) {
		smtp_state(s, SMTP_STARTTLS);
		return smtp_sendf(s, "STARTTLS");
	}
	if (!tls && need_tls)
		return smtp_fail(s, MC_ENOTLS, NULL,
		                 s->o.tls == MC_SMTP_PLAINTEXT
		                     ? "TLS is off: refusing to send credentials in the clear"
		                     : "the server does not offer STARTTLS: refusing to continue "
		                       "without TLS (credentials not sent)");
	if (have_creds(s))
		return smtp_auth_start(s);
	smtp_state(s, SMTP_STOP);
	return MC_OK;
}

static mc_status smtp_on_greeting(struct mc_smtp *s)
{
	if (s->reply.code != 220)
		return smtp_fail(s, reply_status(s->reply.code), &s->reply, "greeting refused");
	return smtp_send_ehlo(s);
}

static mc_status smtp_on_ehlo(struct mc_smtp *s)
{
	int c = s->reply.code;

	if (c == 250)
		return smtp_after_ehlo(s);
	if (c >= 500 && c <= 504) { /* no ESMTP: RFC 5321 4.1.4 fallback */
		memset(&s->caps, 0, sizeof s->caps);
		smtp_state(s, SMTP_HELO);
		return smtp_sendf(s, "HELO %s", s->o.helo_name ? s->o.helo_name : s->t.local);
	}
	return smtp_fail(s, reply_status(c), &s->reply, "EHLO refused");
}

static mc_status smtp_on_helo(struct mc_smtp *s)
{
	if (s->reply.code != 250)
		return smtp_fail(s, reply_status(s->reply.code), &s->reply, "HELO refused");
	return smtp_after_ehlo(s);
}

static mc_status smtp_on_starttls(struct mc_smtp *s)
{
	mc_status st;

	if (s->reply.code != 220) {
		if (have_creds(s) || (s->o.flags & MC_SMTP_REQUIRE_TLS))
			return smtp_fail(s, MC_ENOTLS, &s->reply,
			                 "STARTTLS refused: not continuing without TLS");
		s->caps.flags &= ~(unsigned)MC_SMTP_CAP_STARTTLS; /* go on in the clear */
		return smtp_after_ehlo(s);
	}
	st = mc_transport_start_tls(&s->t); /* drops anything pipelined after the 220 */
	if (st) {
		smtp_fail(s, st == MC_ETIMEDOUT ? st : MC_ETLS, NULL, "TLS: %s",
		          mc_transport_errmsg(&s->t));
		smtp_disconnect(s);
		return s->err.status;
	}
	return smtp_send_ehlo(s); /* RFC 3207 4.2: forget everything, ask again */
}

static mc_status smtp_on_auth(struct mc_smtp *s)
{
	int c = s->reply.code;

	if (c == 235) {
		mc__pp_info(&s->pp, "authenticated with %s", mech_name(s->mech));
		smtp_state(s, SMTP_STOP);
		return MC_OK;
	}
	if (c == 334 && s->mech == MC_SMTP_AUTH_XOAUTH2) {
		/* The server's error details; an empty line makes it send the 5xx. */
		smtp_state(s, SMTP_AUTH_XOAUTH2_ERR);
		return smtp_sendf(s, "%s", "");
	}
	if (c == 334) { /* a challenge where none belongs: cancel (RFC 4954 4) */
		smtp_state(s, SMTP_AUTH_XOAUTH2_ERR);
		return smtp_sendf(s, "*");
	}
	return smtp_fail(s, c >= 400 && c < 500 ? MC_ETEMPFAIL : MC_EAUTH, &s->reply,
	                 "authentication with %s failed", mech_name(s->mech));
}

static mc_status smtp_on_auth_login(struct mc_smtp *s)
{
	const char *v = s->state == SMTP_AUTH_LOGIN_USER ? s->o.user : s->o.password;
	size_t len = strlen(v);

	if (s->reply.code != 334)
		return smtp_fail(s, s->reply.code < 500 ? MC_ETEMPFAIL : MC_EAUTH, &s->reply,
		                 "AUTH LOGIN refused");
	smtp_state(s, s->state == SMTP_AUTH_LOGIN_USER ? SMTP_AUTH_LOGIN_PASS : SMTP_AUTH);
	return smtp_send_secret(s, "", 0, &v, &len, 1);
}

static mc_status smtp_on_auth_err(struct mc_smtp *s)
{
	return smtp_fail(s, s->reply.code >= 400 && s->reply.code < 500 ? MC_ETEMPFAIL : MC_EAUTH,
	                 &s->reply, "authentication with %s failed", mech_name(s->mech));
}

/* ================================================================ transaction */

static int is2xx(int c)
{
	return c >= 200 && c < 300;
}

static mc_status smtp_send_rcpt(struct mc_smtp *s, size_t i)
{
	return smtp_sendf(s, "RCPT TO:<%s>", s->env->to[i]);
}

/* MAIL FROM, and with PIPELINING every RCPT TO and the DATA after it. */
static mc_status smtp_send_mail(struct mc_smtp *s)
{
	const struct mc_smtp_envelope *env = s->env;
	char params[96] = "";
	size_t pl = 0;
	int utf8 = has_8bit(env->from);
	mc_status st;

	for (size_t i = 0; i < env->nto; i++)
		utf8 |= has_8bit(env->to[i]);
	if ((s->caps.flags & MC_SMTP_CAP_SIZE) && s->body->size)
		pl += (size_t)snprintf(params + pl, sizeof params - pl, " SIZE=%llu",
		                       (unsigned long long)s->body->size);
	if ((env->flags & MC_SMTP_ENV_8BIT) && (s->caps.flags & MC_SMTP_CAP_8BITMIME))
		pl += (size_t)snprintf(params + pl, sizeof params - pl, " BODY=8BITMIME");
	if (utf8)
		snprintf(params + pl, sizeof params - pl, " SMTPUTF8");
	smtp_state(s, SMTP_MAIL);
	st = smtp_sendf(s, "MAIL FROM:<%s>%s", env->from, params);
	if (st || !s->pipelining)
		return st;
	for (size_t i = 0; i < env->nto && !st; i++)
		st = smtp_send_rcpt(s, i);
	if (!st && !s->chunking) {
		st = smtp_sendf(s, "DATA");
		s->data_queued = 1;
	}
	return st;
}

/* Reads and drops the replies of commands already pipelined after a failure,
 * so the dialogue stays in step (RFC 2920 3.1). */
static mc_status smtp_drain(struct mc_smtp *s, size_t n)
{
	while (n--) {
		mc_status st = smtp_read_reply(s);

		if (st)
			return st;
		if (s->reply.code == 354) { /* DATA accepted after all: send an empty body */
			st = mc_transport_write(&s->t, ".\r\n", 3);
			if (st)
				return smtp_io_fail(s, st);
			n++;
		}
	}
	return MC_OK;
}

/* Ends the transaction with the message refused (no recipient or a bad
 * reply): status from the reply, or from the recipients' replies. */
static mc_status smtp_refused(struct mc_smtp *s, const struct mc_smtp_reply *r, const char *what)
{
	mc_status st = smtp_fail(s, reply_status(r->code), r, "%s", what);

	smtp_state(s, SMTP_STOP);
	s->result = st;
	return MC_OK;
}

static mc_status smtp_on_rset(struct mc_smtp *s)
{
	if (s->reply.code != 250) {
		mc_status st = smtp_fail(s, reply_status(s->reply.code), &s->reply, "RSET refused");

		smtp_disconnect(s); /* the session state is unknown: start afresh */
		return st;
	}
	return s->pipelining ? (smtp_state(s, SMTP_MAIL), MC_OK) : smtp_send_mail(s);
}

static mc_status smtp_on_mail(struct mc_smtp *s)
{
	if (!is2xx(s->reply.code)) {
		struct mc_smtp_reply r = s->reply;
		mc_status st = MC_OK;

		if (s->pipelining)
			st = smtp_drain(s, s->env->nto + (size_t)s->data_queued);
		if (st)
			return st;
		return smtp_refused(s, &r, "sender refused");
	}
	smtp_state(s, SMTP_RCPT);
	s->rcpt_next = 0;
	return s->pipelining ? MC_OK : smtp_send_rcpt(s, 0);
}

static mc_status smtp_send_data_body(struct mc_smtp *s);
static mc_status smtp_send_bdat_body(struct mc_smtp *s);

static mc_status smtp_on_rcpt(struct mc_smtp *s)
{
	size_t i = s->rcpt_next++;
	int any4xx = 0;

	s->rcpts[i].reply = s->reply;
	if (is2xx(s->reply.code))
		s->accepted++;
	else
		mc__pp_info(&s->pp, "recipient <%s> refused", s->env->to[i]);
	if (s->rcpt_next < s->env->nto)
		return s->pipelining ? MC_OK : smtp_send_rcpt(s, s->rcpt_next);
	if (s->accepted == 0) {
		mc_status st = MC_OK;

		for (size_t k = 0; k < s->env->nto; k++)
			any4xx |= s->rcpts[k].reply.code / 100 == 4;
		if (s->data_queued)
			st = smtp_drain(s, 1);
		if (st)
			return st;
		st = smtp_fail(s, any4xx ? MC_ETEMPFAIL : MC_EREJECTED, &s->rcpts[i].reply,
		               "no recipient accepted");
		smtp_state(s, SMTP_STOP);
		s->result = st;
		return MC_OK;
	}
	if (s->chunking)
		return smtp_send_bdat_body(s);
	smtp_state(s, SMTP_DATA);
	return s->data_queued ? MC_OK : smtp_sendf(s, "DATA");
}

static mc_status smtp_on_data(struct mc_smtp *s)
{
	if (s->reply.code != 354)
		return smtp_refused(s, &s->reply, "DATA refused");
	return smtp_send_data_body(s);
}

static void smtp_mark_delivered(struct mc_smtp *s)
{
	for (size_t k = 0; k < s->env->nto; k++)
		s->rcpts[k].delivered = is2xx(s->rcpts[k].reply.code);
	s->result = s->accepted == s->env->nto ? MC_OK : MC_EPARTIAL;
	if (s->result == MC_EPARTIAL) {
		smtp_fail(s, MC_EPARTIAL, NULL, "%zu of %zu recipients refused",
		          s->env->nto - s->accepted, s->env->nto);
		snprintf(s->err.step, sizeof s->err.step, "RCPT");
	}
	smtp_state(s, SMTP_STOP);
}

static mc_status smtp_on_postdata(struct mc_smtp *s)
{
	if (!is2xx(s->reply.code))
		return smtp_refused(s, &s->reply, "message refused");
	smtp_mark_delivered(s);
	return MC_OK;
}

/* Fills s->in from the body (short reads are pulled again, so BDAT chunks
 * do not depend on the source's read sizes); *got 0 at the end. */
static mc_status smtp_body_read(struct mc_smtp *s, size_t *got)
{
	*got = 0;
	while (*got < MC_SMTP_IN) {
		size_t k = 0;
		mc_status st = s->body->read(s->body->ctx, s->in + *got, MC_SMTP_IN - *got, &k);

		if (st || k > MC_SMTP_IN - *got) {
			smtp_fail(s, st ? st : MC_EINVAL, NULL, "reading the message body failed");
			smtp_disconnect(s); /* a half-sent body cannot be taken back */
			return s->err.status;
		}
		if (k == 0)
			break;
		*got += k;
	}
	return MC_OK;
}

/* See [body]. */
static mc_status smtp_send_data_body(struct mc_smtp *s)
{
	struct mc_smtp_stuffer sf;
	uint64_t total = 0;
	size_t got = 1;
	mc_status st;

	mc_smtp_stuffer_init(&sf, 1);
	while (got) {
		size_t n;

		st = smtp_body_read(s, &got);
		if (st)
			return st;
		n = got ? mc_smtp_stuffer_update(&sf, s->in, got, s->out)
		        : mc_smtp_stuffer_final(&sf, s->out);
		if (n && (st = mc_transport_write(&s->t, s->out, n)) != MC_OK)
			return smtp_io_fail(s, st);
		total += n;
	}
	st = mc_transport_write(&s->t, ".\r\n", 3);
	if (st)
		return smtp_io_fail(s, st);
	mc__pp_info(&s->pp, "message body sent: %llu bytes, dot-stuffed, then \".\"",
	            (unsigned long long)total);
	smtp_state(s, SMTP_POSTDATA);
	return MC_OK;
}

/* See [body]: one BDAT per normalised chunk. The next raw chunk is read
 * before a chunk is sent, so the last one carries LAST itself (no empty
 * "BDAT 0 LAST" round trip). */
static mc_status smtp_send_bdat_body(struct mc_smtp *s)
{
	struct mc_smtp_stuffer sf;
	struct mc_smtp_reply bad = {0};
	size_t inflight = 0, limit = s->pipelining ? BDAT_INFLIGHT : 0, n = 0, got;
	uint64_t total = 0;
	int eof;
	mc_status st;

	smtp_state(s, SMTP_BDAT);
	mc_smtp_stuffer_init(&sf, 0);
	if ((st = smtp_body_read(s, &got)) != MC_OK)
		return st;
	eof = got == 0;
	if (got)
		n = mc_smtp_stuffer_update(&sf, s->in, got, s->out);
	for (;;) {
		/* s->out[0..n) is the chunk to send; s->in holds the next one */
		if (!eof) {
			if ((st = smtp_body_read(s, &got)) != MC_OK)
				return st;
			eof = got == 0;
		}
		if (eof)
			n += mc_smtp_stuffer_final(&sf, s->out + n);
		st = smtp_sendf(s, eof ? "BDAT %zu LAST" : "BDAT %zu", n);
		if (st)
			return st;
		if (n && (st = mc_transport_write(&s->t, s->out, n)) != MC_OK)
			return smtp_io_fail(s, st);
		total += n;
		inflight++;
		while (inflight > (eof ? 0 : limit)) {
			if ((st = smtp_read_reply(s)) != MC_OK)
				return st;
			inflight--;
			if (!is2xx(s->reply.code) && !bad.code)
				bad = s->reply; /* RFC 3030 2: no more chunks after a failure */
		}
		if (eof || bad.code)
			break;
		n = mc_smtp_stuffer_update(&sf, s->in, got, s->out);
	}
	while (inflight--) {
		if ((st = smtp_read_reply(s)) != MC_OK)
			return st;
		if (!is2xx(s->reply.code) && !bad.code)
			bad = s->reply;
	}
	mc__pp_info(&s->pp, "message body sent: %llu bytes in BDAT chunks",
	            (unsigned long long)total);
	if (bad.code)
		return smtp_refused(s, &bad, "message refused");
	smtp_mark_delivered(s);
	return MC_OK;
}

/* ================================================================ the machine */

static mc_status smtp_statemach(struct mc_smtp *s)
{
	while (s->state != SMTP_STOP) {
		mc_status st = smtp_read_reply(s);

		if (st)
			return st;
		switch (s->state) {
		case SMTP_GREETING:
			st = smtp_on_greeting(s);
			break;
		case SMTP_EHLO:
			st = smtp_on_ehlo(s);
			break;
		case SMTP_HELO:
			st = smtp_on_helo(s);
			break;
		case SMTP_STARTTLS:
			st = smtp_on_starttls(s);
			break;
		case SMTP_AUTH:
			st = smtp_on_auth(s);
			break;
		case SMTP_AUTH_LOGIN_USER:
		case SMTP_AUTH_LOGIN_PASS:
			st = smtp_on_auth_login(s);
			break;
		case SMTP_AUTH_XOAUTH2_ERR:
			st = smtp_on_auth_err(s);
			break;
		case SMTP_RSET:
			st = smtp_on_rset(s);
			break;
		case SMTP_MAIL:
			st = smtp_on_mail(s);
			break;
		case SMTP_RCPT:
			st = smtp_on_rcpt(s);
			break;
		case SMTP_DATA:
			st = smtp_on_data(s);
			break;
		case SMTP_POSTDATA:
			st = smtp_on_postdata(s);
			break;
		case SMTP_QUIT:
			smtp_state(s, SMTP_STOP);
			break;
		case SMTP_BDAT: /* replies are read by smtp_send_bdat_body */
		case SMTP_STOP:
			st = smtp_fail(s, MC_EPROTO, NULL, "internal: no handler");
			break;
		}
		if (st)
			return st;
	}
	return MC_OK;
}

/* ================================================================ public API */

struct mc_smtp *mc_smtp_new(const struct mc_smtp_opts *o)
{
	struct mc_smtp *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	s->in = malloc(MC_SMTP_IN);
	s->out = malloc(MC_SMTP_STUFF_BOUND(MC_SMTP_IN) + 8);
	if (!s->in || !s->out) {
		mc_smtp_free(s);
		return NULL;
	}
	if (o)
		s->o = *o;
	mc_transport_init(&s->t);
	s->pp.t = &s->t;
	s->pp.trace = s->o.trace;
	s->pp.trace_ctx = s->o.trace_ctx;
	s->state = SMTP_STOP;
	return s;
}

void mc_smtp_free(struct mc_smtp *s)
{
	if (!s)
		return;
	mc_transport_close(&s->t);
	free(s->in);
	free(s->out);
	free(s);
}

const struct mc_smtp_caps *mc_smtp_get_caps(const struct mc_smtp *s)
{
	return &s->caps;
}

int mc_smtp_is_tls(const struct mc_smtp *s)
{
	return s->connected && mc_transport_is_tls(&s->t);
}

const struct mc_smtp_error *mc_smtp_last_error(const struct mc_smtp *s)
{
	return &s->err;
}

mc_status mc_smtp_connect(struct mc_smtp *s)
{
	struct mc_transport_opts to = {0};
	const char *port = s->o.port;
	mc_status st;

	if (s->connected)
		smtp_disconnect(s);
	memset(&s->err, 0, sizeof s->err);
	if (!s->o.host || (s->o.user && !s->o.password && !s->o.oauth_token) ||
	    s->o.tls < MC_SMTP_STARTTLS || s->o.tls > MC_SMTP_PLAINTEXT)
		return smtp_fail(s, MC_EINVAL, NULL, "invalid options");
	if (!port)
		port = s->o.tls == MC_SMTP_IMPLICIT ? "465" : "587";
	to.timeout_ms = s->o.timeout_ms;
	to.cafile = s->o.cafile;
	to.insecure = (s->o.flags & MC_SMTP_INSECURE) != 0;
	to.max_line = s->o.max_line ? s->o.max_line : MC_SMTP_LINE_MAX;
	to.trace = s->o.trace;
	to.trace_ctx = s->o.trace_ctx;
	smtp_state(s, SMTP_STOP);
	st = mc_transport_connect(&s->t, s->o.host, port, &to);
	if (st) {
		smtp_fail(s, st, NULL, "%s", mc_transport_errmsg(&s->t));
		snprintf(s->err.step, sizeof s->err.step, "connect");
		return st;
	}
	s->connected = 1;
	s->ntrans = 0;
	if (s->o.tls == MC_SMTP_IMPLICIT) {
		st = mc_transport_start_tls(&s->t);
		if (st) {
			smtp_fail(s, st == MC_ETIMEDOUT ? st : MC_ETLS, NULL, "TLS: %s",
			          mc_transport_errmsg(&s->t));
			snprintf(s->err.step, sizeof s->err.step, "TLS");
			smtp_disconnect(s);
			return s->err.status;
		}
	}
	smtp_state(s, SMTP_GREETING);
	st = smtp_statemach(s);
	if (st && s->connected)
		smtp_disconnect(s); /* a failed setup leaves nothing to reuse */
	return st;
}

mc_status mc_smtp_transaction(struct mc_smtp *s, const struct mc_smtp_envelope *env,
                              const struct mc_smtp_body *body, struct mc_smtp_rcpt *rcpts)
{
	int utf8 = (s->caps.flags & MC_SMTP_CAP_SMTPUTF8) != 0;
	mc_status st;

	if (!env || !body || !body->read || !rcpts || !env->from || !env->to || env->nto == 0)
		return smtp_fail(s, MC_EINVAL, NULL, "invalid envelope");
	memset(rcpts, 0, env->nto * sizeof *rcpts);
	if (!s->connected)
		return smtp_fail(s, MC_EINVAL, NULL, "not connected");
	if (mc_smtp_check_address(env->from, utf8))
		return smtp_fail(s, MC_EINVAL, NULL,
		                 "invalid sender address (control characters, <, > or "
		                 "non-ASCII without SMTPUTF8)");
	for (size_t i = 0; i < env->nto; i++)
		if (!env->to[i][0] || mc_smtp_check_address(env->to[i], utf8))
			return smtp_fail(s, MC_EINVAL, NULL,
			                 "invalid recipient address #%zu (empty, control "
			                 "characters, <, > or non-ASCII without SMTPUTF8)",
			                 i + 1);
	if (s->caps.size_max && body->size > s->caps.size_max) {
		struct mc_smtp_reply r = {.code = 552};

		snprintf(r.enhanced, sizeof r.enhanced, "5.3.4");
		snprintf(r.text, sizeof r.text, "message size %llu exceeds the server's limit %llu",
		         (unsigned long long)body->size, (unsigned long long)s->caps.size_max);
		return smtp_fail(s, MC_EREJECTED, &r, "not sent");
	}
	s->env = env;
	s->body = body;
	s->rcpts = rcpts;
	s->accepted = 0;
	s->rcpt_next = 0;
	s->data_queued = 0;
	s->result = MC_OK;
	s->pipelining =
	    (s->caps.flags & MC_SMTP_CAP_PIPELINING) && !(s->o.flags & MC_SMTP_NO_PIPELINING);
	s->chunking = (s->caps.flags & MC_SMTP_CAP_CHUNKING) && !(s->o.flags & MC_SMTP_NO_CHUNKING);
	memset(&s->err, 0, sizeof s->err);
	if (s->ntrans++) {
		smtp_state(s, SMTP_RSET);
		st = smtp_sendf(s, "RSET");
		if (st == MC_OK && s->pipelining)
			st = smtp_send_mail(s);
		if (st == MC_OK)
			smtp_state(s, SMTP_RSET);
	} else {
		st = smtp_send_mail(s);
	}
	if (st == MC_OK)
		st = smtp_statemach(s);
	s->env = NULL;
	s->body = NULL;
	s->rcpts = NULL;
	return st ? st : s->result;
}

mc_status mc_smtp_quit(struct mc_smtp *s)
{
	mc_status st = MC_OK;

	if (!s->connected)
		return MC_OK;
	smtp_state(s, SMTP_QUIT);
	st = smtp_sendf(s, "QUIT");
	if (st == MC_OK)
		st = smtp_statemach(s);
	if (s->connected)
		smtp_disconnect(s);
	return st;
}

/* ================================================================ retries */

struct body_watch {
	const struct mc_smtp_body *b;
	int started;
};

static mc_status watch_read(void *ctx, void *buf, size_t cap, size_t *got)
{
	struct body_watch *w = ctx;

	w->started = 1;
	return w->b->read(w->b->ctx, buf, cap, got);
}

mc_status mc__smtp_retry_status(mc_status st, const struct mc_smtp_rcpt *rc, const size_t *idx,
                                size_t n)
{
	mc_status last = st;

	if (st == MC_EPARTIAL) { /* worth another attempt only for a 4xx refusal */
		last = MC_EREJECTED;
		for (size_t k = 0; k < n; k++)
			if (rc[idx[k]].reply.code / 100 == 4)
				last = MC_ETEMPFAIL;
	}
	return last;
}

mc_status mc__smtp_outcome(mc_status st, const struct mc_smtp_rcpt *rc, size_t nto)
{
	size_t delivered = 0;

	for (size_t i = 0; i < nto; i++)
		delivered += rc[i].delivered != 0;
	if (delivered == nto)
		return MC_OK;
	if (delivered)
		return MC_EPARTIAL;
	return st == MC_OK || st == MC_EPARTIAL ? MC_EREJECTED : st;
}

int mc__smtp_transient(mc_status st)
{
	return st == MC_ETEMPFAIL || st == MC_ECLOSED || st == MC_ETIMEDOUT || st == MC_ECONNECT ||
	       st == MC_EIO;
}

/* Equal-jitter exponential backoff (see mc_smtp_opts). */
unsigned mc__smtp_backoff_ms(const struct mc_smtp_opts *o, unsigned k, uint64_t *rng)
{
	uint64_t base = o->backoff_ms ? o->backoff_ms : 1000, cap = o->backoff_max_ms;
	uint64_t d;

	if (!cap)
		cap = 30000;
	d = k >= 20 ? cap : base << k;
	if (d > cap)
		d = cap;
	*rng ^= *rng << 13;
	*rng ^= *rng >> 7;
	*rng ^= *rng << 17;
	return (unsigned)(d / 2 + *rng % (d / 2 + 1));
}

void mc__smtp_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

mc_status mc_smtp_send(const struct mc_smtp_opts *o, const struct mc_smtp_envelope *env,
                       const struct mc_smtp_body *body, struct mc_smtp_rcpt *rcpts,
                       struct mc_smtp_error *err, unsigned *attempts)
{
	struct body_watch w = {body, 0};
	struct mc_smtp_body wb;
	struct mc_smtp_envelope sub;
	struct mc_smtp *s;
	struct timespec ts;
	const char **to = NULL;
	size_t *idx = NULL;
	struct mc_smtp_rcpt *sr = NULL;
	mc_status st = MC_OK, last = MC_OK;
	unsigned tries = 0;
	uint64_t rng;

	if (attempts)
		*attempts = 0;
	if (!o || !env || !body || !body->read || !rcpts || !env->to || env->nto == 0)
		return MC_EINVAL;
	memset(rcpts, 0, env->nto * sizeof *rcpts);
	s = mc_smtp_new(o);
	to = malloc(env->nto * sizeof *to);
	idx = malloc(env->nto * sizeof *idx);
	sr = malloc(env->nto * sizeof *sr);
	if (!s || !to || !idx || !sr) {
		st = MC_ENOMEM;
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^
	      (uint64_t)(uintptr_t)s;
	rng |= 1;
	wb = *body;
	wb.read = watch_read;
	wb.ctx = &w;
	sub = *env;
	for (;;) {
		size_t n = 0;

		for (size_t i = 0; i < env->nto; i++) {
			int c = rcpts[i].reply.code;

			if (!rcpts[i].delivered && (c == 0 || c / 100 == 4 || c / 100 == 2)) {
				idx[n] = i;
				to[n++] = env->to[i];
			}
		}
		if (n == 0)
			break;
		if (tries > 0) {
			unsigned ms;

			if (tries > o->retries || !mc__smtp_transient(last))
				break;
			if (w.started) {
				if (!body->rewind || body->rewind(body->ctx) != MC_OK) {
					mc__pp_info(&s->pp,
					            "cannot retry: the body cannot be rewound");
					break;
				}
				w.started = 0;
			}
			ms = mc__smtp_backoff_ms(o, tries - 1, &rng);
			mc__pp_info(&s->pp, "retry %u of %u in %u ms (%zu recipient%s pending)",
			            tries, o->retries, ms, n, n == 1 ? "" : "s");
			mc__smtp_sleep_ms(ms);
		}
		tries++;
		sub.to = to;
		sub.nto = n;
		st = mc_smtp_connect(s);
		if (st == MC_OK) {
			st = mc_smtp_transaction(s, &sub, &wb, sr);
			for (size_t k = 0; k < n; k++) {
				struct mc_smtp_rcpt *r = &rcpts[idx[k]];

				*r = sr[k];
				/* accepted at RCPT but the message was not taken */
				if (!r->delivered && is2xx(r->reply.code))
					r->reply = s->err.reply.code ? s->err.reply
					                             : (struct mc_smtp_reply){0};
			}
			if (st != MC_OK && err)
				*err = s->err; /* before QUIT can replace it */
			if (s->connected)
				(void)mc_smtp_quit(s);
		} else if (err) {
			*err = s->err;
		}
		last = mc__smtp_retry_status(st, rcpts, idx, n);
		if (st == MC_EINVAL)
			break;
	}
	st = mc__smtp_outcome(st, rcpts, env->nto);
out:
	if (attempts)
		*attempts = tries;
	if (st == MC_ENOMEM && err) {
		memset(err, 0, sizeof *err);
		err->status = st;
		snprintf(err->msg, sizeof err->msg, "out of memory");
	}
	mc_smtp_free(s);
	free(to);
	free(idx);
	free(sr);
	return st;
}
