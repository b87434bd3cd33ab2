/* test_smtp.c: the SMTP client as data. Each case is a server script (what
 * the server says after each exact run of client bytes) and the test checks
 * the exact bytes the client sent, the status and the per-recipient
 * results. The server is a forked child on a loopback port; it can switch to
 * TLS (a throwaway self-signed certificate; the client runs insecure there,
 * certificate checks are tested against the real servers). Plus table tests
 * of the reply parser, the EHLO keyword parser, address checks and the
 * chunk-split invariance of the DATA stuffer. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mimecodec/smtp.h"
#include "test.h"

/* ================================================================ scripted server */
#include "script_server.h"

/* ================================================================ bodies and traces */

struct membody {
	const char *p;
	size_t n, pos, chunk;
};

static mc_status mem_read(void *ctx, void *buf, size_t cap, size_t *got)
{
	struct membody *m = ctx;
	size_t k = m->n - m->pos;

	if (k > cap)
		k = cap;
	if (k > m->chunk)
		k = m->chunk;
	memcpy(buf, m->p + m->pos, k);
	m->pos += k;
	*got = k;
	return MC_OK;
}

static mc_status mem_rewind(void *ctx)
{
	((struct membody *)ctx)->pos = 0;
	return MC_OK;
}

static char tracebuf[8192];
static size_t tracelen;

static void trace_cb(void *ctx, int kind, const char *text, size_t n)
{
	(void)ctx;
	if (kind == MC_TRACE_INFO)
		return;
	tracelen += (size_t)snprintf(tracebuf + tracelen, sizeof tracebuf - tracelen, "%c %.*s\n",
	                             kind == MC_TRACE_SEND ? '>' : '<', (int)n, text);
}

/* ================================================================ dialogue cases */

#define GREET "220 test ESMTP\r\n"
#define EHLO  "EHLO [127.0.0.1]\r\n"

struct dcase {
	const char *name;
	const struct step *script;
	int tls;
	unsigned flags;
	const char *user, *password, *token;
	const char *from;
	const char *to[3];
	const char *body;
	size_t chunk;
	int transactions;          /* 0 = 1 */
	mc_status want_connect;    /* expected from mc_smtp_connect */
	mc_status want;            /* expected from the (last) transaction */
	int want_codes[3];         /* per recipient */
	const char *want_step;     /* of the error, when want != MC_OK */
	int want_reply;            /* the error reply's code */
	const char *want_enhanced; /* and its enhanced code */
};

static const struct step s_plain[] = {
    {NULL, GREET, 0},
    {EHLO, "250-test\r\n250-SIZE 1000\r\n250 8BITMIME\r\n", 0},
    {"MAIL FROM:<a@x.test> SIZE=16\r\n", "250 2.1.0 ok\r\n", 0},
    {"RCPT TO:<b@x.test>\r\n", "250 2.1.5 ok\r\n", 0},
    {"DATA\r\n", "354 go\r\n", 0},
    /* bare LF and bare CR become CRLF; leading dots are doubled; CRLF added */
    {"a\r\n..b\r\n...c\r\nd\r\n\r\n..\r\ne\r\n.\r\n", "250 2.0.0 queued\r\n", 0},
    {"QUIT\r\n", "221 bye\r\n", 0},
    {NULL, NULL, 0}};

static const struct step s_helo[] = {{NULL, GREET, 0},
                                     {EHLO, "502 5.5.1 what\r\n", 0},
                                     {"HELO [127.0.0.1]\r\n", "250 hi\r\n", 0},
                                     {"MAIL FROM:<>\r\n", "250 ok\r\n", 0},
                                     {"RCPT TO:<b@x.test>\r\n", "250 ok\r\n", 0},
                                     {"DATA\r\n", "354 go\r\n", 0},
                                     {".\r\n", "250 ok\r\n", 0},
                                     {"QUIT\r\n", "221 bye\r\n", 0},
                                     {NULL, NULL, 0}};

static const struct step s_pipe[] = {
    {NULL, GREET, 0},
    {EHLO, "250-test\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n", 0},
    {"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\n"
     "RCPT TO:<d@x.test>\r\nDATA\r\n",
     "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n451 4.3.0 try later\r\n"
     "354 go\r\n",
     0},
    {"hi\r\n.\r\n", "250 2.0.0 queued\r\n", 0},
    {"QUIT\r\n", "221 bye\r\n", 0},
    {NULL, NULL, 0}};

static const struct step s_bdat[] = {{NULL, GREET, 0},
                                     {EHLO, "250-test\r\n250 CHUNKING\r\n", 0},
                                     {"MAIL FROM:<a@x.test>\r\n", "250 ok\r\n", 0},
                                     {"RCPT TO:<b@x.test>\r\n", "250 ok\r\n", 0},
                                     {"BDAT 12 LAST\r\n.x\r\n..y\r\nz\r\n", "250 ok\r\n", 0},
                                     {"QUIT\r\n", "221 bye\r\n", 0},
                                     {NULL, NULL, 0}};

static const struct step s_nostarttls[] = {
    {NULL, GREET, 0}, {EHLO, "250-test\r\n250 AUTH PLAIN LOGIN\r\n", 0}, {NULL, NULL, 0}};

/* STARTTLS with a pipelined plaintext reply injected after the 220: it must
 * be discarded, and the client must ask EHLO again over TLS. */
static const struct step s_starttls_auth_plain[] = {
    {NULL, GREET, 0},
    {EHLO, "250-test\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n", 0},
    {"STARTTLS\r\n", "220 go ahead\r\n250-INJECTED\r\n250 AUTH PLAIN\r\n", TLS_AFTER},
    {EHLO, "250-test\r\n250 AUTH LOGIN PLAIN XOAUTH2\r\n", 0},
    {"AUTH PLAIN AHVzZXIAc2VjcmV0\r\n", "235 2.7.0 ok\r\n", 0},
    {"QUIT\r\n", "221 bye\r\n", 0},
    {NULL, NULL, 0}};

static const struct step s_implicit_login[] = {{NULL, GREET, TLS_BEFORE},
                                               {EHLO, "250-test\r\n250 AUTH LOGIN\r\n", 0},
                                               {"AUTH LOGIN\r\n", "334 VXNlcm5hbWU6\r\n", 0},
                                               {"dXNlcg==\r\n", "334 UGFzc3dvcmQ6\r\n", 0},
                                               {"c2VjcmV0\r\n", "535 5.7.8 bad credentials\r\n", 0},
                                               {NULL, NULL, 0}};

static const struct step s_xoauth2[] = {
    {NULL, GREET, TLS_BEFORE},
    {EHLO, "250-test\r\n250 AUTH PLAIN LOGIN XOAUTH2\r\n", 0},
    {"AUTH XOAUTH2 dXNlcj11c2VyAWF1dGg9QmVhcmVyIHRvay0xMjMBAQ==\r\n",
     "334 eyJzdGF0dXMiOiI0MDEifQ==\r\n", 0},
    {"\r\n", "535 5.7.8 token expired\r\n", 0},
    {NULL, NULL, 0}};

static const struct step s_421[] = {{NULL, GREET, 0},
                                    {EHLO, "250 test\r\n", 0},
                                    {"MAIL FROM:<a@x.test>\r\n", "421 4.3.2 shutting down\r\n", 0},
                                    {NULL, NULL, 0}};

static struct step s_long[3]; /* filled at run time: a 5000-byte EHLO line */

static const struct step s_twomsg[] = {
    {NULL, GREET, 0},
    {EHLO, "250-test\r\n250 PIPELINING\r\n", 0},
    {"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n", "250 ok\r\n250 ok\r\n354 go\r\n", 0},
    {"m\r\n.\r\n", "250 ok\r\n", 0},
    {"RSET\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n",
     "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", 0},
    {"m\r\n.\r\n", "452 4.3.1 full\r\n", 0},
    {"QUIT\r\n", "221 bye\r\n", 0},
    {NULL, NULL, 0}};

static const struct step s_mailfail_pipe[] = {
    {NULL, GREET, 0},
    {EHLO, "250-test\r\n250 PIPELINING\r\n", 0},
    {"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n",
     "553 5.7.1 sender rejected\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need RCPT\r\n", 0},
    {"QUIT\r\n", "221 bye\r\n", 0},
    {NULL, NULL, 0}};

static const struct step s_inject_addr[] = {
    {NULL, GREET, 0}, {EHLO, "250 test\r\n", 0}, {"QUIT\r\n", "221 bye\r\n", 0}, {NULL, NULL, 0}};

static char longline[5000];

static void expected_bytes(const struct step *s, char *buf, size_t cap)
{
	size_t n = 0;

	for (; s->expect || s->reply; s++)
		if (s->expect)
			n += (size_t)snprintf(buf + n, cap - n, "%s", s->expect);
	buf[n] = '\0';
}

static void run_case(const struct dcase *dc)
{
	const struct step *scripts[] = {dc->script, NULL};
	struct server sv;
	struct mc_smtp_opts o = {0};
	struct mc_smtp *s;
	struct mc_smtp_rcpt rc[3];
	struct mc_smtp_envelope env = {dc->from ? dc->from : "a@x.test", dc->to, 0, 0};
	struct membody mb = {dc->body ? dc->body : "", 0, 0, dc->chunk ? dc->chunk : 1 << 20};
	struct mc_smtp_body body = {mem_read, mem_rewind, &mb, 0};
	mc_status st;
	char want[4096], *got;

	while (env.nto < 3 && dc->to[env.nto])
		env.nto++;
	mb.n = strlen(mb.p);
	body.size = mb.n;
	server_start(&sv, scripts);
	o.host = "127.0.0.1";
	o.port = sv.port;
	o.tls = dc->tls;
	o.flags = dc->flags | MC_SMTP_INSECURE;
	o.user = dc->user;
	o.password = dc->password;
	o.oauth_token = dc->token;
	o.timeout_ms = 3000;
	o.trace = trace_cb;
	tracelen = 0;
	tracebuf[0] = '\0';
	s = mc_smtp_new(&o);
	st = mc_smtp_connect(s);
	CHECK_EQ_STR(mc_status_name(st), mc_status_name(dc->want_connect));
	if (st == MC_OK) {
		for (int t = 0; t < (dc->transactions ? dc->transactions : 1); t++) {
			mb.pos = 0;
			st = mc_smtp_transaction(s, &env, &body, rc);
		}
		CHECK_EQ_STR(mc_status_name(st), mc_status_name(dc->want));
		for (size_t i = 0; i < env.nto; i++)
			CHECK_EQ_INT(rc[i].reply.code, dc->want_codes[i]);
		(void)mc_smtp_quit(s);
	}
	if (dc->want_step)
		CHECK_EQ_STR(mc_smtp_last_error(s)->step, dc->want_step);
	if (dc->want_reply)
		CHECK_EQ_INT(mc_smtp_last_error(s)->reply.code, dc->want_reply);
	if (dc->want_enhanced)
		CHECK_EQ_STR(mc_smtp_last_error(s)->reply.enhanced, dc->want_enhanced);
	mc_smtp_free(s);
	got = server_transcript(&sv);
	server_end(&sv);
	expected_bytes(dc->script, want, sizeof want);
	CHECK_EQ_STR(got, want);
	/* secrets never reach the trace */
	CHECK(strstr(tracebuf, "c2VjcmV0") == NULL &&
	      strstr(tracebuf, "AHVzZXIAc2VjcmV0") == NULL && strstr(tracebuf, "dG9r") == NULL &&
	      strstr(tracebuf, "dXNlcj") == NULL);
	MC_TEST_CTX("case %s; last error: %s\n", dc->name, mc_status_name(st));
	free(got);
}

static void test_dialogues(void)
{
	static const struct dcase cases[] = {
	    {.name = "plain DATA, dot-stuffing, bare CR/LF",
	     .script = s_plain,
	     .tls = MC_SMTP_STARTTLS,
	     .to = {"b@x.test"},
	     .body = "a\n.b\r\n..c\rd\n\n.\ne",
	     .chunk = 1,
	     .want_codes = {250}},
	    {.name = "EHLO refused: HELO",
	     .script = s_helo,
	     .from = "",
	     .to = {"b@x.test"},
	     .want_codes = {250}},
	    {.name = "pipelining, one refused, one deferred",
	     .script = s_pipe,
	     .to = {"b@x.test", "c@x.test", "d@x.test"},
	     .body = "hi",
	     .want = MC_EPARTIAL,
	     .want_codes = {250, 550, 451},
	     .want_step = "RCPT"},
	    {.name = "BDAT, no dot-stuffing",
	     .script = s_bdat,
	     .to = {"b@x.test"},
	     .body = ".x\n..y\rz",
	     .chunk = 3,
	     .want_codes = {250}},
	    {.name = "credentials, no STARTTLS offered",
	     .script = s_nostarttls,
	     .user = "user",
	     .password = "secret",
	     .want_connect = MC_ENOTLS,
	     .want_step = "EHLO"},
	    {.name = "STARTTLS with injected replies, EHLO again, AUTH PLAIN",
	     .script = s_starttls_auth_plain,
	     .user = "user",
	     .password = "secret",
	     .transactions = -1},
	    {.name = "plaintext mode never sends credentials",
	     .script = s_nostarttls,
	     .tls = MC_SMTP_PLAINTEXT,
	     .user = "user",
	     .password = "secret",
	     .want_connect = MC_ENOTLS},
	    {.name = "implicit TLS, AUTH LOGIN, wrong password",
	     .script = s_implicit_login,
	     .tls = MC_SMTP_IMPLICIT,
	     .user = "user",
	     .password = "secret",
	     .want_connect = MC_EAUTH,
	     .want_step = "AUTH",
	     .want_reply = 535},
	    {.name = "XOAUTH2 error challenge",
	     .script = s_xoauth2,
	     .tls = MC_SMTP_IMPLICIT,
	     .user = "user",
	     .token = "tok-123",
	     .want_connect = MC_EAUTH,
	     .want_step = "AUTH",
	     .want_reply = 535,
	     .want_enhanced = "5.7.8"},
	    {.name = "421 at MAIL",
	     .script = s_421,
	     .to = {"b@x.test"},
	     .want = MC_ETEMPFAIL,
	     .want_step = "MAIL",
	     .want_reply = 421},
	    {.name = "two messages, RSET between, 452 after the body",
	     .script = s_twomsg,
	     .to = {"b@x.test"},
	     .body = "m",
	     .transactions = 2,
	     .want = MC_ETEMPFAIL,
	     .want_codes = {250}, /* accepted at RCPT; the message was not taken */
	     .want_step = "DATA",
	     .want_reply = 452,
	     .want_enhanced = "4.3.1"},
	    {.name = "sender refused while pipelining: replies drained",
	     .script = s_mailfail_pipe,
	     .to = {"b@x.test"},
	     .want = MC_EREJECTED,
	     .want_codes = {0},
	     .want_step = "MAIL",
	     .want_reply = 553},
	    {.name = "CRLF in a recipient: nothing sent",
	     .script = s_inject_addr,
	     .to = {"b@x.test>\r\nRCPT TO:<evil@x.test"},
	     .want = MC_EINVAL},
	    {.name = "over-long reply line",
	     .script = s_long,
	     .want_connect = MC_ELIMIT,
	     .want_step = "EHLO"},
	};

	memset(longline, 'x', sizeof longline - 3);
	memcpy(longline, "250 ", 4);
	memcpy(longline + sizeof longline - 3, "\r\n", 3);
	s_long[0] = (struct step){NULL, GREET, 0};
	s_long[1] = (struct step){EHLO, longline, 0};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct dcase *dc = &cases[i];
		const struct step *scripts[] = {dc->script, NULL};
		struct server sv;
		struct mc_smtp_opts o = {0};
		struct mc_smtp *s;
		char want[4096], *got;

		if (dc->transactions >= 0) {
			run_case(dc);
			continue;
		}
		/* connect only: STARTTLS, injection, EHLO again, AUTH */
		server_start(&sv, scripts);
		o.host = "127.0.0.1";
		o.port = sv.port;
		o.flags = MC_SMTP_INSECURE;
		o.user = dc->user;
		o.password = dc->password;
		o.trace = trace_cb;
		tracelen = 0;
		s = mc_smtp_new(&o);
		CHECK_EQ_STR(mc_status_name(mc_smtp_connect(s)), "MC_OK");
		CHECK(mc_smtp_is_tls(s));
		CHECK(mc_smtp_get_caps(s)->auth ==
		      (MC_SMTP_AUTH_LOGIN | MC_SMTP_AUTH_PLAIN | MC_SMTP_AUTH_XOAUTH2));
		CHECK(mc_smtp_quit(s) == MC_OK);
		mc_smtp_free(s);
		got = server_transcript(&sv);
		server_end(&sv);
		expected_bytes(dc->script, want, sizeof want);
		CHECK_EQ_STR(got, want);
		CHECK(strstr(tracebuf, "> AUTH PLAIN <redacted>\n") != NULL);
		CHECK(strstr(tracebuf, "INJECTED") == NULL);
		CHECK(strstr(tracebuf, "AHVzZXIAc2VjcmV0") == NULL);
		MC_TEST_CTX("case %s\n", dc->name);
		free(got);
	}
}

/* ================================================================ table tests */

static void test_reply_parser(void)
{
	static const struct {
		const char *lines[4];
		mc_status want;
		int code, complete;
		const char *enhanced, *text;
	} t[] = {
	    {{"250 ok"}, MC_OK, 250, 1, "", "ok"},
	    {{"250"}, MC_OK, 250, 1, "", ""},
	    {{"250-a", "250-b", "250 c"}, MC_OK, 250, 1, "", "a b c"},
	    {{"550 5.1.1 no such user"}, MC_OK, 550, 1, "5.1.1", "no such user"},
	    {{"451-4.3.0 first", "451 4.3.0 second"}, MC_OK, 451, 1, "4.3.0", "first second"},
	    {{"250 5.1.1 class mismatch"}, MC_OK, 250, 1, "", "5.1.1 class mismatch"},
	    {{"250 2.0.0"}, MC_OK, 250, 1, "2.0.0", ""},
	    {{"250 2.1234.0 too long"}, MC_OK, 250, 1, "", "2.1234.0 too long"},
	    {{"250-a", "251 b"}, MC_EPROTO, 250, 0, "", "a"},
	    {{"25"}, MC_EPROTO, 0, 0, "", ""},
	    {{"250x"}, MC_EPROTO, 0, 0, "", ""},
	    {{"650 no"}, MC_EPROTO, 0, 0, "", ""},
	    {{"1a0 no"}, MC_EPROTO, 0, 0, "", ""},
	    {{"250 a\001b"}, MC_OK, 250, 1, "", "a?b"},
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct mc_smtp_reply r;
		mc_status st = MC_OK;

		memset(&r, 0, sizeof r);
		for (int k = 0; k < 4 && t[i].lines[k] && st == MC_OK; k++)
			st = mc_smtp_reply_line(&r, t[i].lines[k], strlen(t[i].lines[k]));
		CHECK_EQ_INT(st, t[i].want);
		CHECK_EQ_INT(r.code, t[i].code);
		CHECK_EQ_INT(r.complete, t[i].complete);
		CHECK_EQ_STR(r.enhanced, t[i].enhanced);
		CHECK_EQ_STR(r.text, t[i].text);
		MC_TEST_CTX("reply case %zu\n", i);
	}
	{
		struct mc_smtp_reply r;
		mc_status st = MC_OK;
		int k;

		memset(&r, 0, sizeof r);
		for (k = 0; k < 1000 && st == MC_OK; k++)
			st = mc_smtp_reply_line(&r, "250-x", 5);
		CHECK_EQ_INT(st, MC_ELIMIT);
		CHECK_EQ_INT(k, MC_SMTP_REPLY_MAX_LINES + 1);
		CHECK(strlen(r.text) < MC_SMTP_TEXT_MAX);
	}
}

static void test_caps(void)
{
	struct mc_smtp_caps c = {0};
	static const char *lines[] = {"PIPELINING",
	                              "SIZE 35882577",
	                              "8BITMIME",
	                              "AUTH=LOGIN",
	                              "auth plain xoauth2 cram-md5",
	                              "ENHANCEDSTATUSCODES",
	                              "DSN",
	                              "SMTPUTF8",
	                              "CHUNKING",
	                              "STARTTLS",
	                              "PIPELININGX",
	                              "X-UNKNOWN"};

	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
		mc_smtp_caps_line(&c, lines[i], strlen(lines[i]));
	CHECK_EQ_INT(c.flags, 0x1ff);
	CHECK_EQ_INT(c.auth, 0xf);
	CHECK_EQ_SIZE(c.size_max, 35882577u);
	memset(&c, 0, sizeof c);
	mc_smtp_caps_line(&c, "SIZE", 4);
	CHECK_EQ_INT(c.flags, MC_SMTP_CAP_SIZE);
	CHECK_EQ_SIZE(c.size_max, 0);
	mc_smtp_caps_line(&c, "SIZE 99999999999999999999999", 27);
	CHECK_EQ_SIZE(c.size_max, 0);
}

static void test_addresses(void)
{
	static const struct {
		const char *a;
		int utf8;
		mc_status want;
	} t[] = {
	    {"a@b.test", 0, MC_OK},
	    {"", 0, MC_OK},
	    {"\"john doe\"@b.test", 0, MC_OK},
	    {"john doe@b.test", 0, MC_EINVAL},
	    {"a@b.test\r\nRCPT TO:<c@d>", 0, MC_EINVAL},
	    {"a@b.test\n", 0, MC_EINVAL},
	    {"a@b.test>", 0, MC_EINVAL},
	    {"<a@b.test", 0, MC_EINVAL},
	    {"a@b.test\x7f", 0, MC_EINVAL},
	    {"\xc3\xa9@b.test", 0, MC_EINVAL},
	    {"\xc3\xa9@b.test", 1, MC_OK},
	    {"\"unterminated@b.test", 0, MC_EINVAL},
	    {"\"a\\\"b\"@b.test", 0, MC_OK},
	};
	char big[300];

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		CHECK_EQ_INT(mc_smtp_check_address(t[i].a, t[i].utf8), t[i].want);
		MC_TEST_CTX("address case %zu\n", i);
	}
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK_EQ_INT(mc_smtp_check_address(big, 0), MC_EINVAL);
	CHECK_EQ_INT(mc_smtp_check_address(NULL, 0), MC_EINVAL);
}

/* One-shot reference of the stuffer, written the obvious way. */
static size_t stuff_ref(const unsigned char *p, size_t n, unsigned char *o, int dot)
{
	size_t k = 0;
	int bol = 1;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' || p[i] == '\n') {
			o[k++] = '\r';
			o[k++] = '\n';
			if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
				i++;
			bol = 1;
			continue;
		}
		if (bol && dot && p[i] == '.')
			o[k++] = '.';
		bol = 0;
		o[k++] = p[i];
	}
	if (!bol) {
		o[k++] = '\r';
		o[k++] = '\n';
	}
	return k;
}

static void test_stuffer(void)
{
	static const unsigned char alpha[] = {'.', '\r', '\n', 'a', '.', '\r'};
	unsigned char in[64], ref[200], out[200];

	for (int iter = 0; iter < 20000; iter++) {
		size_t n = mc_t_rand() % sizeof in, rn, on = 0, chunk = 1 + mc_t_rand() % 7;
		int dot = (int)(mc_t_rand() & 1);
		struct mc_smtp_stuffer st;

		for (size_t i = 0; i < n; i++)
			in[i] = alpha[mc_t_rand() % sizeof alpha];
		rn = stuff_ref(in, n, ref, dot);
		mc_smtp_stuffer_init(&st, dot);
		for (size_t i = 0; i < n; i += chunk) {
			size_t c = n - i < chunk ? n - i : chunk, w;

			w = mc_smtp_stuffer_update(&st, in + i, c, out + on);
			CHECK(w <= MC_SMTP_STUFF_BOUND(c));
			on += w;
		}
		on += mc_smtp_stuffer_final(&st, out + on);
		if (!mc_t_check_mem(out, on, ref, rn, __FILE__, __LINE__, "stuffer == reference"))
			break;
	}
}

/* The memchr line path: long lines, CRLF-terminated as in base64 bodies,
 * with bare CR, bare LF and leading dots sprinkled in, split at every point
 * into two chunks and at random into many. */
static void run_stuffer(const unsigned char *in, size_t n, const size_t *cuts, size_t ncuts,
                        int dot, unsigned char *ref, unsigned char *out, const char *what)
{
	struct mc_smtp_stuffer st;
	size_t rn = stuff_ref(in, n, ref, dot), on = 0, at = 0;

	mc_smtp_stuffer_init(&st, dot);
	for (size_t k = 0; k <= ncuts; k++) {
		size_t to = k < ncuts ? cuts[k] : n, w;

		w = mc_smtp_stuffer_update(&st, in + at, to - at, out + on);
		CHECK(w <= MC_SMTP_STUFF_BOUND(to - at));
		on += w;
		at = to;
	}
	on += mc_smtp_stuffer_final(&st, out + on);
	mc_t_check_mem(out, on, ref, rn, __FILE__, __LINE__, what);
}

static void test_stuffer_lines(void)
{
	enum { N = 1200 };
	static unsigned char in[N], ref[2 * N + 8], out[2 * N + 8];

	for (int iter = 0; iter < 300; iter++) {
		size_t n = 1 + mc_t_rand() % N, cuts[16], ncuts;
		int dot = (int)(mc_t_rand() & 1);
		unsigned odd = mc_t_rand() % 4; /* 0: clean CRLF lines only */

		for (size_t i = 0; i < n;) {
			size_t len = mc_t_rand() % 100;

			for (size_t j = 0; j < len && i < n; j++, i++) {
				unsigned r = mc_t_rand() % 64;

				in[i] = (unsigned char)('A' + r % 26);
				if (j == 0 && r < 8)
					in[i] = '.';
				else if (odd && r == 1)
					in[i] = '\r';
				else if (odd && r == 2)
					in[i] = '\n';
			}
			if (i < n)
				in[i++] = '\r';
			if (i < n)
				in[i++] = '\n';
		}
		/* every two-chunk split */
		for (size_t c = 0; c <= n; c += 1 + (n > 300 ? mc_t_rand() % 5 : 0)) {
			cuts[0] = c;
			run_stuffer(in, n, cuts, 1, dot, ref, out, "stuffer, two chunks");
		}
		/* random splits */
		ncuts = mc_t_rand() % 16;
		for (size_t k = 0; k < ncuts; k++)
			cuts[k] = mc_t_rand() % (n + 1);
		for (size_t a = 1; a < ncuts; a++) /* sort */
			for (size_t b = a; b > 0 && cuts[b - 1] > cuts[b]; b--) {
				size_t t = cuts[b];

				cuts[b] = cuts[b - 1];
				cuts[b - 1] = t;
			}
		run_stuffer(in, n, cuts, ncuts, dot, ref, out, "stuffer, random chunks");
	}
	/* many bare CRs before one far LF (linear time path) and a CR at a chunk end */
	{
		size_t n = N, cut = N / 2 + 1;

		for (size_t i = 0; i < n; i++)
			in[i] = (i & 1) ? '\r' : '.';
		in[n - 1] = '\n';
		run_stuffer(in, n, &cut, 1, 1, ref, out, "stuffer, bare CRs");
		run_stuffer(in, n, &cut, 1, 0, ref, out, "stuffer, bare CRs, no dots");
	}
}

/* A body of many 256 KiB pulls over implicit TLS with DATA: the transport
 * gathers TLS records into large sends inside a write (transport.c
 * [coalesce]) and the stuffer takes its memchr line path; the server must
 * receive exactly the dot-stuffed body, in order, and the reply after it. */
static void test_tls_big_body(void)
{
	enum { LINES = 9000, COLS = 76 };
	size_t n = LINES * (COLS + 2), en, wn;
	char *body = malloc(n + 1), *stuffed = malloc(2 * n + 8), *want, *got;
	struct step script[8];
	const struct step *scripts[] = {script, NULL};
	const char *to[] = {"b@x.test"};
	struct mc_smtp_envelope env = {"a@x.test", to, 1, 0};
	struct membody mb = {NULL, 0, 0, 100000};
	struct mc_smtp_body mbody = {mem_read, mem_rewind, &mb, 0};
	struct mc_smtp_opts o = {0};
	struct mc_smtp_rcpt rc[1];
	struct server sv;
	struct mc_smtp *s;

	CHECK(body && stuffed);
	if (!body || !stuffed)
		return;
	for (size_t l = 0; l < LINES; l++) {
		char *line = body + l * (COLS + 2);

		for (size_t c = 0; c < COLS; c++)
			line[c] = (char)('A' + (l * 7 + c) % 26);
		if (l % 7 == 3)
			line[0] = '.';
		line[COLS] = '\r';
		line[COLS + 1] = '\n';
	}
	body[n] = '\0';
	en = stuff_ref((const unsigned char *)body, n, (unsigned char *)stuffed, 1);
	memcpy(stuffed + en, ".\r\n", 4); /* NUL included */
	script[0] = (struct step){NULL, GREET, TLS_BEFORE};
	script[1] = (struct step){EHLO, "250-test\r\n250 8BITMIME\r\n", 0};
	script[2] = (struct step){"MAIL FROM:<a@x.test>\r\n", "250 ok\r\n", 0};
	script[3] = (struct step){"RCPT TO:<b@x.test>\r\n", "250 ok\r\n", 0};
	script[4] = (struct step){"DATA\r\n", "354 go\r\n", 0};
	script[5] = (struct step){stuffed, "250 2.0.0 queued\r\n", 0};
	script[6] = (struct step){"QUIT\r\n", "221 bye\r\n", 0};
	script[7] = (struct step){NULL, NULL, 0};
	mb.p = body;
	mb.n = n;
	server_start(&sv, scripts);
	o.host = "127.0.0.1";
	o.port = sv.port;
	o.tls = MC_SMTP_IMPLICIT;
	o.flags = MC_SMTP_INSECURE;
	o.timeout_ms = 5000;
	s = mc_smtp_new(&o);
	CHECK(s != NULL);
	if (s) {
		CHECK_EQ_INT(mc_smtp_connect(s), MC_OK);
		CHECK_EQ_INT(mc_smtp_transaction(s, &env, &mbody, rc), MC_OK);
		CHECK_EQ_INT(rc[0].reply.code, 250);
		CHECK_EQ_INT(mc_smtp_quit(s), MC_OK);
		mc_smtp_free(s);
	}
	got = server_transcript(&sv);
	server_end(&sv);
	wn = strlen(EHLO) + strlen(script[2].expect) + strlen(script[3].expect) + 6 + en + 3 + 6;
	want = malloc(wn + 1);
	if (want) {
		expected_bytes(script, want, wn + 1);
		CHECK_EQ_MEM(got, strlen(got), want, strlen(want));
	}
	free(want);
	free(got);
	free(body);
	free(stuffed);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_reply_parser();
	test_caps();
	test_addresses();
	test_stuffer();
	test_stuffer_lines();
	test_dialogues();
	test_tls_big_body();
	MC_TEST_END();
}
