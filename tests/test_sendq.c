/* test_sendq.c: the send queue (mimecodec/sendq.h).
 *
 * 1. One worker against the scripted server (script_server.h): the exact
 *    bytes of two messages on one connection, RSET between, one QUIT.
 * 2. Many messages over several workers against a small concurrent SMTP
 *    server in this process (one thread per connection) that counts, per
 *    message id (an "X-Id:" header), the bodies it received and the ones it
 *    accepted, and injects faults by id: 451 after the body once, 550 after
 *    the body, the connection dropped in the middle of the body once, and
 *    the connection dropped right after the final 250. Every message must be
 *    accepted exactly once (the 550 one never, and not retried), every job
 *    reported exactly once with the right status, and connections reused.
 * Retry waits are set to 1-2 ms; nothing here depends on timing. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mimecodec/sendq.h"
#include "mimecodec/smtp.h"
#include "test.h"

#include "script_server.h"

/* ================================================================ bodies */

struct msg {
	char text[256];
	size_t n, pos;
	int id;
};

static mc_status msg_read(void *ctx, void *buf, size_t cap, size_t *got)
{
	struct msg *m = ctx;
	size_t k = m->n - m->pos;

	if (k > cap)
		k = cap;
	if (k > 7) /* several reads per body */
		k = 7;
	memcpy(buf, m->text + m->pos, k);
	m->pos += k;
	*got = k;
	return MC_OK;
}

static mc_status msg_rewind(void *ctx)
{
	((struct msg *)ctx)->pos = 0;
	return MC_OK;
}

static void msg_init(struct msg *m, int id)
{
	int n = snprintf(m->text, sizeof m->text,
	                 "X-Id: %d\r\nSubject: message %d\r\n\r\nbody of message %d\r\n"
	                 ".a line with a leading dot\r\nlast line\r\n",
	                 id, id, id);

	m->n = (size_t)n;
	m->pos = 0;
	m->id = id;
}

/* ================================================================ results */

#define MAXMSG 64

struct results {
	pthread_mutex_t mu;
	int calls[MAXMSG];
	mc_status status[MAXMSG];
	int code[MAXMSG][2]; /* recipients' reply codes */
	unsigned attempts[MAXMSG];
	size_t seq[MAXMSG];
	int bad_ctx;
};

static void on_done(void *ctx, const struct mc_sendq_result *r)
{
	struct results *res = ctx;
	struct msg *m = r->job_ctx;

	pthread_mutex_lock(&res->mu);
	if (!m || m->id < 0 || m->id >= MAXMSG || !r->rcpts || !r->env || !r->err) {
		res->bad_ctx++;
	} else {
		res->calls[m->id]++;
		res->status[m->id] = r->status;
		for (size_t i = 0; i < r->env->nto && i < 2; i++)
			res->code[m->id][i] = r->rcpts[i].reply.code;
		res->attempts[m->id] = r->attempts;
		res->seq[m->id] = r->seq;
	}
	pthread_mutex_unlock(&res->mu);
}

/* ================================================================ 1: exact dialogue */

#define GREET "220 test ESMTP\r\n"
#define EHLO  "EHLO [127.0.0.1]\r\n"

static const struct step s_two[] = {{NULL, GREET, 0},
                                    {EHLO, "250-test\r\n250 8BITMIME\r\n", 0},
                                    {"MAIL FROM:<a@x.test>\r\n", "250 ok\r\n", 0},
                                    {"RCPT TO:<b@x.test>\r\n", "250 ok\r\n", 0},
                                    {"DATA\r\n", "354 go\r\n", 0},
                                    {"X-Id: 0\r\nSubject: message 0\r\n\r\nbody of message 0\r\n"
                                     "..a line with a leading dot\r\nlast line\r\n.\r\n",
                                     "250 queued 0\r\n", 0},
                                    {"RSET\r\n", "250 ok\r\n", 0},
                                    {"MAIL FROM:<a@x.test>\r\n", "250 ok\r\n", 0},
                                    {"RCPT TO:<b@x.test>\r\n", "250 ok\r\n", 0},
                                    {"DATA\r\n", "354 go\r\n", 0},
                                    {"X-Id: 1\r\nSubject: message 1\r\n\r\nbody of message 1\r\n"
                                     "..a line with a leading dot\r\nlast line\r\n.\r\n",
                                     "250 queued 1\r\n", 0},
                                    {"QUIT\r\n", "221 bye\r\n", 0},
                                    {NULL, NULL, 0}};

static void test_one_worker_exact(void)
{
	static const struct step *const scripts[] = {s_two, NULL};
	static const char *const to[] = {"b@x.test"};
	struct mc_smtp_envelope env = {"a@x.test", to, 1, 0};
	struct mc_smtp_opts o = {0};
	struct mc_sendq_opts qo = {0};
	struct results res = {0};
	struct msg m[2];
	struct server sv;
	struct mc_sendq *q;
	char *got;

	pthread_mutex_init(&res.mu, NULL);
	server_start(&sv, scripts);
	o.host = "127.0.0.1";
	o.port = sv.port;
	o.tls = MC_SMTP_PLAINTEXT;
	o.timeout_ms = 5000;
	qo.workers = 1;
	qo.done = on_done;
	qo.done_ctx = &res;
	q = mc_sendq_new(&o, &qo);
	CHECK(q != NULL);
	if (!q)
		return;
	for (int i = 0; i < 2; i++) {
		struct mc_smtp_body b = {msg_read, msg_rewind, &m[i], 0};

		msg_init(&m[i], i);
		CHECK_EQ_INT(mc_sendq_add(q, &env, &b, &m[i]), MC_OK);
	}
	CHECK_EQ_SIZE(mc_sendq_finish(q), 0);
	CHECK_EQ_SIZE(mc_sendq_finish(q), 0); /* a second call: same count */
	{
		struct mc_smtp_body b = {msg_read, msg_rewind, &m[0], 0};

		CHECK_EQ_INT(mc_sendq_add(q, &env, &b, &m[0]), MC_EINVAL); /* finished */
	}
	mc_sendq_free(q);
	got = server_transcript(&sv);
	CHECK_EQ_STR(got, EHLO "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n"
	                       "X-Id: 0\r\nSubject: message 0\r\n\r\nbody of message 0\r\n"
	                       "..a line with a leading dot\r\nlast line\r\n.\r\n"
	                       "RSET\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n"
	                       "X-Id: 1\r\nSubject: message 1\r\n\r\nbody of message 1\r\n"
	                       "..a line with a leading dot\r\nlast line\r\n.\r\nQUIT\r\n");
	CHECK_EQ_MEM(m[1].text, m[1].n,
	             "X-Id: 1\r\nSubject: message 1\r\n\r\nbody of message 1\r\n"
	             ".a line with a leading dot\r\nlast line\r\n",
	             m[1].n); /* the caller's body untouched */
	free(got);
	server_end(&sv);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ_INT(res.calls[i], 1);
		CHECK_EQ_INT(res.status[i], MC_OK);
		CHECK_EQ_INT(res.code[i][0], 250);
		CHECK_EQ_INT(res.attempts[i], 1);
		CHECK_EQ_SIZE(res.seq[i], (size_t)i);
	}
	CHECK_EQ_INT(res.bad_ctx, 0);
	pthread_mutex_destroy(&res.mu);
}

/* ================================================================ 2: concurrent server */

enum fault {
	F_NONE,
	F_451_ONCE,  /* 451 after the body, the first time */
	F_550,       /* 550 after the body, always */
	F_DROP_ONCE, /* the connection closed in the middle of the body, the first time */
	F_CLOSE_250, /* 250 after the body, then the connection closed at once (first time) */
	F_421_NEXT,  /* 250 after the body, then 421 and close on the next command (first time) */
};

struct msrv {
	int lfd;
	char port[8];
	int pipelining;
	pthread_t acceptor;
	pthread_mutex_t mu;
	pthread_t conns[256];
	int nconns;
	enum fault fault[MAXMSG];
	int bodies[MAXMSG];   /* complete bodies received */
	int accepted[MAXMSG]; /* bodies answered 250 */
	int intact[MAXMSG];   /* the accepted body was the one sent */
	int faulted[MAXMSG];  /* the one-time fault was played */
	int rsets, quits, unknown_id;
};

struct mconn {
	struct msrv *sv;
	int fd;
	char buf[4096];
	size_t n, pos;
};

/* One line without CRLF into line (cap bytes); -1 on EOF, error or timeout. */
static int m_readline(struct mconn *c, char *line, size_t cap)
{
	size_t k = 0;

	for (;;) {
		if (c->pos == c->n) {
			struct pollfd pf = {.fd = c->fd, .events = POLLIN};
			ssize_t r;

			if (poll(&pf, 1, 10000) <= 0)
				return -1;
			r = read(c->fd, c->buf, sizeof c->buf);
			if (r <= 0)
				return -1;
			c->n = (size_t)r;
			c->pos = 0;
		}
		while (c->pos < c->n) {
			char ch = c->buf[c->pos++];

			if (ch == '\n') {
				if (k && line[k - 1] == '\r')
					k--;
				line[k] = '\0';
				return (int)k;
			}
			if (k + 1 < cap)
				line[k++] = ch;
		}
	}
}

static void m_say(struct mconn *c, const char *s)
{
	size_t n = strlen(s), off = 0;

	while (off < n) {
		ssize_t w = write(c->fd, s + off, n - off);

		if (w <= 0)
			return;
		off += (size_t)w;
	}
}

static void *m_conn_main(void *arg)
{
	struct mconn *c = arg;
	struct msrv *sv = c->sv;
	char line[1024], body[2048];
	int bye = 0; /* F_421_NEXT: the next command gets 421 (an idle timeout) */

	m_say(c, "220 mini ESMTP\r\n");
	for (;;) {
		if (m_readline(c, line, sizeof line) < 0)
			break;
		if (bye) {
			m_say(c, "421 4.4.2 mini: timeout exceeded\r\n");
			break;
		}
		if (strncmp(line, "EHLO", 4) == 0) {
			m_say(c, sv->pipelining ? "250-mini\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
			                        : "250-mini\r\n250 8BITMIME\r\n");
		} else if (strncmp(line, "MAIL", 4) == 0 || strncmp(line, "RCPT", 4) == 0) {
			m_say(c,
			      strstr(line, "<bad@") ? "550 5.1.1 no such user\r\n" : "250 ok\r\n");
		} else if (strcmp(line, "RSET") == 0) {
			pthread_mutex_lock(&sv->mu);
			sv->rsets++;
			pthread_mutex_unlock(&sv->mu);
			m_say(c, "250 ok\r\n");
		} else if (strcmp(line, "QUIT") == 0) {
			pthread_mutex_lock(&sv->mu);
			sv->quits++;
			pthread_mutex_unlock(&sv->mu);
			m_say(c, "221 bye\r\n");
			break;
		} else if (strcmp(line, "DATA") == 0) {
			size_t bl = 0;
			int id = -1, drop = 0, ok = 1;
			enum fault f = F_NONE;
			const char *reply = "250 2.0.0 queued\r\n";

			m_say(c, "354 go\r\n");
			for (;;) {
				int k = m_readline(c, line, sizeof line);

				if (k < 0) {
					ok = 0;
					break;
				}
				if (strcmp(line, ".") == 0)
					break;
				if (id < 0 && sscanf(line, "X-Id: %d", &id) == 1) {
					if (id < 0 || id >= MAXMSG) {
						id = -1;
					} else {
						pthread_mutex_lock(&sv->mu);
						f = sv->fault[id];
						if (f == F_DROP_ONCE && !sv->faulted[id]) {
							sv->faulted[id] = 1;
							drop = 1;
						}
						pthread_mutex_unlock(&sv->mu);
						if (drop)
							break; /* mid-body: the rest is unread */
					}
				}
				if (bl + (size_t)k + 2 < sizeof body) {
					memcpy(body + bl, line, (size_t)k);
					bl += (size_t)k;
					body[bl++] = '\n';
				}
			}
			if (!ok || drop)
				break;
			body[bl] = '\0';
			pthread_mutex_lock(&sv->mu);
			if (id < 0) {
				sv->unknown_id++;
			} else {
				char want[256];

				sv->bodies[id]++;
				if (f == F_451_ONCE && !sv->faulted[id]) {
					sv->faulted[id] = 1;
					reply = "451 4.3.0 try again later\r\n";
				} else if (f == F_550) {
					reply = "550 5.7.1 message refused\r\n";
				} else {
					snprintf(want, sizeof want,
					         "X-Id: %d\nSubject: message %d\n\nbody of message "
					         "%d\n..a line with a leading dot\nlast line\n",
					         id, id, id);
					sv->accepted[id]++;
					sv->intact[id] = strcmp(body, want) == 0;
					if (f == F_CLOSE_250 && !sv->faulted[id]) {
						sv->faulted[id] = 1;
						drop = 1;
					}
					if (f == F_421_NEXT && !sv->faulted[id]) {
						sv->faulted[id] = 1;
						bye = 1;
					}
				}
			}
			pthread_mutex_unlock(&sv->mu);
			m_say(c, reply);
			if (drop)
				break;
		} else {
			m_say(c, "502 5.5.2 what\r\n");
		}
	}
	close(c->fd);
	free(c);
	return NULL;
}

static void *m_accept_main(void *arg)
{
	struct msrv *sv = arg;

	for (;;) {
		int fd = accept(sv->lfd, NULL, NULL);
		struct mconn *c;

		if (fd < 0)
			break;
		/* replies are written one by one: no Nagle wait between them */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
		c = calloc(1, sizeof *c);
		c->sv = sv;
		c->fd = fd;
		pthread_mutex_lock(&sv->mu);
		if (sv->nconns < 256 &&
		    pthread_create(&sv->conns[sv->nconns], NULL, m_conn_main, c) == 0)
			sv->nconns++;
		else {
			close(fd);
			free(c);
		}
		pthread_mutex_unlock(&sv->mu);
	}
	return NULL;
}

static void msrv_start(struct msrv *sv, int pipelining)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof a;

	memset(sv, 0, sizeof *sv);
	sv->pipelining = pipelining;
	pthread_mutex_init(&sv->mu, NULL);
	sv->lfd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (sv->lfd < 0 || bind(sv->lfd, (struct sockaddr *)&a, sizeof a) || listen(sv->lfd, 64) ||
	    getsockname(sv->lfd, (struct sockaddr *)&a, &len)) {
		perror("mini server");
		exit(2);
	}
	snprintf(sv->port, sizeof sv->port, "%u", ntohs(a.sin_port));
	pthread_create(&sv->acceptor, NULL, m_accept_main, sv);
}

/* After the client is done (every connection QUIT or closed). */
static void msrv_stop(struct msrv *sv)
{
	shutdown(sv->lfd, SHUT_RDWR);
	pthread_join(sv->acceptor, NULL);
	close(sv->lfd);
	for (int i = 0; i < sv->nconns; i++)
		pthread_join(sv->conns[i], NULL);
	pthread_mutex_destroy(&sv->mu);
}

/* n messages over w workers; faults by id; max_queued bounds the queue. */
static void run_many(const char *name, int n, unsigned w, int pipelining, size_t max_queued,
                     const enum fault *faults)
{
	static const char *const to[] = {"b@x.test"};
	struct mc_smtp_envelope env = {"a@x.test", to, 1, 0};
	struct mc_smtp_opts o = {0};
	struct mc_sendq_opts qo = {0};
	struct results res;
	struct msg *m = calloc((size_t)n, sizeof *m);
	struct msrv sv;
	struct mc_sendq *q;
	size_t failed, want_failed = 0, done = 0, nfailed = 0;

	fprintf(stderr, "-- %s: %d messages, %u workers%s\n", name, n, w,
	        pipelining ? ", pipelining" : "");
	memset(&res, 0, sizeof res);
	pthread_mutex_init(&res.mu, NULL);
	msrv_start(&sv, pipelining);
	for (int i = 0; i < n; i++)
		sv.fault[i] = faults ? faults[i] : F_NONE;
	o.host = "127.0.0.1";
	o.port = sv.port;
	o.tls = MC_SMTP_PLAINTEXT;
	o.timeout_ms = 10000;
	o.retries = 3;
	o.backoff_ms = 1;
	o.backoff_max_ms = 2;
	qo.workers = w;
	qo.max_queued = max_queued;
	qo.done = on_done;
	qo.done_ctx = &res;
	q = mc_sendq_new(&o, &qo);
	CHECK(q != NULL);
	if (!q || !m)
		exit(1);
	for (int i = 0; i < n; i++) {
		struct mc_smtp_body b = {msg_read, msg_rewind, &m[i], 0};

		msg_init(&m[i], i);
		CHECK_EQ_INT(mc_sendq_add(q, &env, &b, &m[i]), MC_OK);
	}
	failed = mc_sendq_finish(q);
	mc_sendq_counts(q, &done, &nfailed);
	mc_sendq_free(q);
	msrv_stop(&sv);

	CHECK_EQ_INT(res.bad_ctx, 0);
	CHECK_EQ_SIZE(done, (size_t)n);
	CHECK_EQ_INT(sv.unknown_id, 0);
	for (int i = 0; i < n; i++) {
		enum fault f = faults ? faults[i] : F_NONE;

		CHECK_EQ_INT(res.calls[i], 1); /* one completion per job */
		CHECK_EQ_SIZE(res.seq[i], (size_t)i);
		if (f == F_550) {
			want_failed++;
			CHECK_EQ_INT(sv.accepted[i], 0);
			CHECK_EQ_INT(sv.bodies[i], 1); /* not retried */
			CHECK_EQ_INT(res.status[i], MC_EREJECTED);
			CHECK_EQ_INT(res.code[i][0], 550);
			CHECK_EQ_INT(res.attempts[i], 1);
			continue;
		}
		CHECK_EQ_INT(sv.accepted[i], 1); /* exactly once */
		CHECK_EQ_INT(sv.intact[i], 1);
		CHECK_EQ_INT(res.status[i], MC_OK);
		CHECK_EQ_INT(res.code[i][0], 250);
		if (f == F_451_ONCE) {
			CHECK_EQ_INT(sv.bodies[i], 2);
			CHECK_EQ_INT(res.attempts[i], 2);
		} else if (f == F_DROP_ONCE) {
			CHECK_EQ_INT(sv.bodies[i], 1); /* the first one was cut */
			CHECK_EQ_INT(res.attempts[i], 2);
		} else {
			CHECK_EQ_INT(sv.bodies[i], 1);
			CHECK_EQ_INT(res.attempts[i], 1);
		}
		if (f != F_NONE)
			CHECK_EQ_INT(sv.faulted[i], 1);
		MC_TEST_CTX("%s, message %d (fault %d)\n", name, i, (int)f);
	}
	CHECK_EQ_SIZE(failed, want_failed);
	CHECK_EQ_SIZE(nfailed, want_failed);
	if (!faults) {
		/* one connection per worker at most, reused: RSET between messages */
		CHECK(sv.nconns >= 1 && sv.nconns <= (int)w);
		CHECK_EQ_INT(sv.rsets, n - sv.nconns);
		CHECK_EQ_INT(sv.quits, sv.nconns);
	}
	pthread_mutex_destroy(&res.mu);
	free(m);
}

/* An envelope with a refused recipient: MC_EPARTIAL, counted as failed. */
static void test_partial(void)
{
	static const char *const to[] = {"b@x.test", "bad@x.test"};
	struct mc_smtp_envelope env = {"a@x.test", to, 2, 0};
	struct mc_smtp_opts o = {0};
	struct mc_sendq_opts qo = {0};
	struct results res;
	struct msg m;
	struct msrv sv;
	struct mc_sendq *q;
	struct mc_smtp_body b = {msg_read, msg_rewind, &m, 0};

	memset(&res, 0, sizeof res);
	pthread_mutex_init(&res.mu, NULL);
	msrv_start(&sv, 1);
	o.host = "127.0.0.1";
	o.port = sv.port;
	o.tls = MC_SMTP_PLAINTEXT;
	o.timeout_ms = 10000;
	o.retries = 2;
	o.backoff_ms = 1;
	o.backoff_max_ms = 2;
	qo.workers = 2;
	qo.done = on_done;
	qo.done_ctx = &res;
	msg_init(&m, 3);
	q = mc_sendq_new(&o, &qo);
	CHECK(q != NULL);
	if (!q)
		exit(1);
	CHECK_EQ_INT(mc_sendq_add(q, &env, &b, &m), MC_OK);
	CHECK_EQ_SIZE(mc_sendq_finish(q), 1);
	mc_sendq_free(q);
	msrv_stop(&sv);
	CHECK_EQ_INT(res.calls[3], 1);
	CHECK_EQ_INT(res.status[3], MC_EPARTIAL);
	CHECK_EQ_INT(res.code[3][0], 250);
	CHECK_EQ_INT(res.code[3][1], 550);
	CHECK_EQ_INT(res.attempts[3], 1); /* a 5xx refusal is final */
	CHECK_EQ_INT(sv.accepted[3], 1);
	pthread_mutex_destroy(&res.mu);
}

/* Nothing listens: each attempt fails to connect; retries, then MC_ECONNECT. */
static void test_refused(void)
{
	static const char *const to[] = {"b@x.test"};
	struct mc_smtp_envelope env = {"a@x.test", to, 1, 0};
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof a;
	struct mc_smtp_opts o = {0};
	struct mc_sendq_opts qo = {0};
	struct results res;
	struct msg m;
	struct mc_smtp_body b = {msg_read, msg_rewind, &m, 0};
	struct mc_sendq *q;
	char port[8];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		perror("socket");
		exit(2);
	}
	snprintf(port, sizeof port, "%u", ntohs(a.sin_port));
	close(fd); /* bound, never listening: the port refuses */
	memset(&res, 0, sizeof res);
	pthread_mutex_init(&res.mu, NULL);
	o.host = "127.0.0.1";
	o.port = port;
	o.tls = MC_SMTP_PLAINTEXT;
	o.retries = 2;
	o.backoff_ms = 1;
	o.backoff_max_ms = 2;
	qo.done = on_done;
	qo.done_ctx = &res;
	msg_init(&m, 4);
	q = mc_sendq_new(&o, &qo);
	CHECK(q != NULL);
	if (!q)
		exit(1);
	CHECK_EQ_INT(mc_sendq_add(q, &env, &b, &m), MC_OK);
	CHECK_EQ_SIZE(mc_sendq_finish(q), 1);
	mc_sendq_free(q);
	CHECK_EQ_INT(res.calls[4], 1);
	CHECK_EQ_INT(res.status[4], MC_ECONNECT);
	CHECK_EQ_INT(res.attempts[4], 3); /* the first and two retries */
	CHECK_EQ_INT(res.code[4][0], 0);  /* not sent */
	pthread_mutex_destroy(&res.mu);
}

static void test_args(void)
{
	struct mc_smtp_opts o = {0};
	struct mc_sendq_opts qo = {0};

	CHECK(mc_sendq_new(NULL, NULL) == NULL);
	CHECK(mc_sendq_new(&o, NULL) == NULL); /* no host */
	o.host = "127.0.0.1";
	qo.workers = 65;
	CHECK(mc_sendq_new(&o, &qo) == NULL);
	mc_sendq_free(NULL);
	CHECK_EQ_SIZE(mc_sendq_finish(NULL), 0);
	{
		struct mc_sendq *q = mc_sendq_new(&o, NULL); /* never used: no connection */
		struct mc_smtp_envelope env = {"a@x.test", NULL, 0, 0};
		struct msg m;
		struct mc_smtp_body b = {msg_read, NULL, &m, 0};

		CHECK(q != NULL);
		CHECK_EQ_INT(mc_sendq_add(q, &env, &b, NULL), MC_EINVAL); /* no recipient */
		mc_sendq_free(q);
	}
}

int main(void)
{
	enum fault faults[30] = {0};

	signal(SIGPIPE, SIG_IGN);
	test_args();
	test_one_worker_exact();
	run_many("no faults", 40, 4, 1, 0, NULL);
	run_many("no faults, no pipelining, bounded queue", 24, 3, 0, 2, NULL);
	run_many("one worker", 10, 1, 1, 0, NULL);
	faults[5] = F_451_ONCE;
	faults[7] = F_550;
	faults[9] = F_DROP_ONCE;
	faults[11] = F_CLOSE_250;
	faults[20] = F_451_ONCE;
	faults[22] = F_DROP_ONCE;
	faults[29] = F_CLOSE_250;
	faults[15] = F_421_NEXT;
	faults[25] = F_421_NEXT;
	run_many("faults", 30, 3, 1, 0, faults);
	run_many("faults, no pipelining", 30, 2, 0, 0, faults);
	run_many("faults, one worker", 30, 1, 1, 0, faults);
	test_partial();
	test_refused();
	MC_TEST_END();
}
