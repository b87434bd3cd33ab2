/* smtp_sink.c: a fast discard SMTP server for measuring SMTP clients.
 * RFC 5321 (the commands), 2920 (PIPELINING: replies are batched and sent
 * when the input runs dry), 3030 (CHUNKING/BDAT), 3207 (STARTTLS), 8314
 * (implicit TLS), 4954 (AUTH PLAIN/LOGIN; any credentials are accepted).
 *
 *   smtp_sink [--port N] [--cert PEM --key PEM] [--implicit] [--log FILE]
 *
 * Listens on 127.0.0.1 (port 0 = a free port; "port N" is printed on
 * standard output either way), one thread per connection. Not a test server:
 * a measurement tool that never stores anything. Every message ends with a
 * line "sink: message BYTES bytes (data|bdat, plain|tls) SECONDS s MB/s" on
 * standard error (or the log file).
 *
 * Design note [speed]: reads go into a 1 MiB buffer (TLS: as much as
 * OpenSSL has decrypted, with read-ahead so one recv() fetches many
 * records); the DATA terminator "\r\n.\r\n" is found with memchr for its
 * dot over the whole read, and across reads by keeping the last 4 bytes of the body seen
 * so far and matching them together with the first 4 of the next read. BDAT
 * chunks are counted down and never scanned. */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define RBUF    (1u << 20) /* input buffer */
#define CMD_MAX 4096u      /* longest command line */
#define OBUF    8192u      /* batched replies */

static SSL_CTX *g_ctx; /* NULL: no TLS (no STARTTLS offered) */
static int g_implicit; /* TLS from the first byte */
static FILE *g_log;    /* per-message lines */
static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;

struct conn {
	int fd;
	SSL *ssl;
	unsigned char *buf; /* [pos, len) not yet consumed */
	size_t pos, len;
	char out[OBUF];
	size_t olen;
	int eof;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void logf_(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&g_log_lock);
	va_start(ap, fmt);
	vfprintf(g_log, fmt, ap);
	va_end(ap);
	fflush(g_log);
	pthread_mutex_unlock(&g_log_lock);
}

/* ---- I/O -------------------------------------------------------------------- */

static int raw_write(struct conn *c, const void *p, size_t n)
{
	const char *q = p;

	while (n) {
		if (c->ssl) {
			size_t w = 0;

			if (SSL_write_ex(c->ssl, q, n, &w) <= 0)
				return -1;
			q += w;
			n -= w;
		} else {
			ssize_t w = send(c->fd, q, n, MSG_NOSIGNAL);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -1;
			q += w;
			n -= (size_t)w;
		}
	}
	return 0;
}

static int flush_out(struct conn *c)
{
	int r = c->olen ? raw_write(c, c->out, c->olen) : 0;

	c->olen = 0;
	return r;
}

/* Queues one reply; it goes out when the input runs dry (see [speed]). */
static void reply(struct conn *c, const char *s)
{
	size_t n = strlen(s);

	if (c->olen + n > sizeof c->out)
		flush_out(c);
	memcpy(c->out + c->olen, s, n);
	c->olen += n;
}

/* Reads more input after buf[len): at most cap bytes. Flushes the queued
 * replies first, so a pipelining client is never left waiting. Returns the
 * bytes read, 0 at end of stream or on error. */
static size_t fill(struct conn *c, size_t cap)
{
	if (flush_out(c))
		return 0;
	for (;;) {
		if (c->ssl) {
			size_t got = 0;

			if (SSL_read_ex(c->ssl, c->buf + c->len, cap, &got) > 0) {
				c->len += got;
				return got;
			}
			return 0;
		} else {
			ssize_t r = recv(c->fd, c->buf + c->len, cap, 0);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return 0;
			c->len += (size_t)r;
			return (size_t)r;
		}
	}
}

/* One command line into line (NUL-terminated, CRLF removed). Returns its
 * length or -1 at end of stream / overlong line. */
static long get_line(struct conn *c, char *line)
{
	for (;;) {
		unsigned char *p = c->buf + c->pos;
		unsigned char *lf = memchr(p, '\n', c->len - c->pos);

		if (lf) {
			size_t n = (size_t)(lf - p);

			c->pos += n + 1;
			if (n && p[n - 1] == '\r')
				n--;
			if (n >= CMD_MAX)
				n = CMD_MAX - 1;
			memcpy(line, p, n);
			line[n] = '\0';
			return (long)n;
		}
		if (c->len - c->pos >= CMD_MAX)
			return -1;
		if (c->pos) { /* compact */
			memmove(c->buf, c->buf + c->pos, c->len - c->pos);
			c->len -= c->pos;
			c->pos = 0;
		}
		if (!fill(c, RBUF - c->len))
			return -1;
	}
}

/* ---- the body ---------------------------------------------------------------- */

/* The first "\r\n.\r\n" wholly inside p[0..n), or NULL. memchr for the dot
 * (rare in mail bodies, absent from base64) is much faster than memmem. */
static unsigned char *find_term(unsigned char *p, size_t n)
{
	unsigned char *q = p + 2, *end = p + n;

	while (n >= 5 && q + 3 <= end) {
		q = memchr(q, '.', (size_t)(end - 2 - q));
		if (!q)
			return NULL;
		if (q[-2] == '\r' && q[-1] == '\n' && q[1] == '\r' && q[2] == '\n')
			return q - 2;
		q++;
	}
	return NULL;
}

/* Discards a DATA body up to and including "\r\n.\r\n"; the CRLF of the DATA
 * line counts as the first two bytes (an empty body is a lone ".\r\n").
 * Returns the body bytes (terminator included) or -1 at end of stream. */
static long long eat_data(struct conn *c)
{
	static const char term[] = "\r\n.\r\n";
	unsigned char tail[4] = {'\r', '\n', 0, 0}; /* last bytes of the body so far */
	size_t ntail = 2;
	long long total = 0;

	for (;;) {
		size_t avail = c->len - c->pos;
		unsigned char *p = c->buf + c->pos;

		if (avail) {
			unsigned char join[8];
			size_t k = avail < 4 ? avail : 4, end = 0;
			unsigned char *hit;

			/* a terminator across the previous read and this one */
			memcpy(join, tail, ntail);
			memcpy(join + ntail, p, k);
			hit = memmem(join, ntail + k, term, 5);
			if (hit)
				end = (size_t)(hit - join) + 5 - ntail;
			else if ((hit = find_term(p, avail)) != NULL)
				end = (size_t)(hit - p) + 5;
			if (hit) {
				c->pos += end;
				return total + (long long)end;
			}
			total += (long long)avail;
			if (avail >= 4) {
				memcpy(tail, p + avail - 4, 4);
				ntail = 4;
			} else {
				size_t keep = ntail + avail > 4 ? 4 - avail : ntail;

				memmove(tail, tail + ntail - keep, keep);
				memcpy(tail + keep, p, avail);
				ntail = keep + avail;
			}
		}
		c->pos = c->len = 0;
		if (!fill(c, RBUF))
			return -1;
	}
}

/* Discards exactly n bytes. Returns 0, or -1 at end of stream. */
static int eat_bytes(struct conn *c, unsigned long long n)
{
	for (;;) {
		size_t avail = c->len - c->pos;

		if ((unsigned long long)avail >= n) {
			c->pos += (size_t)n;
			return 0;
		}
		n -= avail;
		c->pos = c->len = 0;
		if (!fill(c, RBUF))
			return -1;
	}
}

/* ---- the dialogue ---------------------------------------------------------------- */

static int start_tls(struct conn *c)
{
	if (!(c->ssl = SSL_new(g_ctx)) || !SSL_set_fd(c->ssl, c->fd) || SSL_accept(c->ssl) <= 0) {
		logf_("sink: TLS handshake failed\n");
		return -1;
	}
	return 0;
}

static void ehlo(struct conn *c)
{
	reply(c, "250-sink.localhost\r\n250-PIPELINING\r\n250-SIZE 0\r\n250-8BITMIME\r\n"
	         "250-CHUNKING\r\n250-ENHANCEDSTATUSCODES\r\n250-AUTH PLAIN LOGIN\r\n");
	if (g_ctx && !c->ssl)
		reply(c, "250-STARTTLS\r\n");
	reply(c, "250 SMTPUTF8\r\n");
}

static void message_done(struct conn *c, const char *how, long long bytes, double t0)
{
	double dt = now_s() - t0;

	logf_("sink: message %lld bytes (%s, %s) %.6f s %.1f MB/s\n", bytes, how,
	      c->ssl ? "tls" : "plain", dt, dt > 0 ? (double)bytes / dt / 1e6 : 0.0);
}

static void session(struct conn *c)
{
	char line[CMD_MAX];
	long long bdat_total = 0;
	double t0 = 0;

	if (g_implicit && start_tls(c))
		return;
	reply(c, "220 sink.localhost ESMTP discard sink\r\n");
	for (;;) {
		long n = get_line(c, line);

		if (n < 0)
			return;
		if (!strncasecmp(line, "EHLO", 4) || !strncasecmp(line, "HELO", 4)) {
			ehlo(c);
		} else if (!strncasecmp(line, "STARTTLS", 8) && g_ctx && !c->ssl) {
			reply(c, "220 2.0.0 go ahead\r\n");
			if (flush_out(c))
				return;
			c->pos = c->len = 0; /* RFC 3207 4.2: nothing from before counts */
			if (start_tls(c))
				return;
		} else if (!strncasecmp(line, "AUTH", 4)) {
			const char *arg = line + 4;
			int login = !strncasecmp(arg, " LOGIN", 6);
			int initial = arg[0] && strchr(arg + 1, ' ') != NULL;

			if (login) {
				if (!initial) {
					reply(c, "334 VXNlcm5hbWU6\r\n");
					if (get_line(c, line) < 0)
						return;
				}
				reply(c, "334 UGFzc3dvcmQ6\r\n");
				if (get_line(c, line) < 0)
					return;
			} else if (!initial) {
				reply(c, "334 \r\n");
				if (get_line(c, line) < 0)
					return;
			}
			reply(c, "235 2.7.0 accepted\r\n");
		} else if (!strncasecmp(line, "MAIL", 4)) {
			bdat_total = 0;
			reply(c, "250 2.1.0 ok\r\n");
		} else if (!strncasecmp(line, "RCPT", 4)) {
			reply(c, "250 2.1.5 ok\r\n");
		} else if (!strncasecmp(line, "DATA", 4)) {
			long long got;

			reply(c, "354 go ahead\r\n");
			t0 = now_s();
			if ((got = eat_data(c)) < 0)
				return;
			message_done(c, "data", got, t0);
			reply(c, "250 2.0.0 queued (discarded)\r\n");
		} else if (!strncasecmp(line, "BDAT", 4)) {
			char *end;
			unsigned long long len = strtoull(line + 4, &end, 10);
			int last = strstr(end, "LAST") || strstr(end, "last");

			if (end == line + 4) {
				reply(c, "501 5.5.4 BDAT needs a length\r\n");
				continue;
			}
			if (!bdat_total)
				t0 = now_s();
			if (eat_bytes(c, len))
				return;
			bdat_total += (long long)len;
			if (last) {
				message_done(c, "bdat", bdat_total, t0);
				bdat_total = 0;
				reply(c, "250 2.0.0 queued (discarded)\r\n");
			} else {
				reply(c, "250 2.0.0 chunk ok\r\n");
			}
		} else if (!strncasecmp(line, "RSET", 4) || !strncasecmp(line, "NOOP", 4)) {
			bdat_total = 0;
			reply(c, "250 2.0.0 ok\r\n");
		} else if (!strncasecmp(line, "QUIT", 4)) {
			reply(c, "221 2.0.0 bye\r\n");
			flush_out(c);
			return;
		} else {
			reply(c, "502 5.5.2 not implemented\r\n");
		}
	}
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;

	c->buf = malloc(RBUF);
	if (c->buf)
		session(c);
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	close(c->fd);
	free(c->buf);
	free(c);
	return NULL;
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr, "usage: smtp_sink [--port N] [--cert PEM --key PEM] [--implicit] "
	                "[--log FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL, *logpath = NULL;
	unsigned long port = 0;
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	int one = 1, lfd;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--implicit")) {
			g_implicit = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (!strcmp(a, "--port")) {
			char *end;

			port = strtoul(argv[++i], &end, 10);
			if (*end || port > 65535)
				usage();
		} else if (!strcmp(a, "--cert")) {
			cert = argv[++i];
		} else if (!strcmp(a, "--key")) {
			key = argv[++i];
		} else if (!strcmp(a, "--log")) {
			logpath = argv[++i];
		} else {
			usage();
		}
	}
	if (!cert != !key || (g_implicit && !cert))
		usage();
	g_log = stderr;
	if (logpath && !(g_log = fopen(logpath, "a"))) {
		perror(logpath);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (cert) {
		g_ctx = SSL_CTX_new(TLS_server_method());
		if (!g_ctx || SSL_CTX_use_certificate_chain_file(g_ctx, cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(g_ctx, key, SSL_FILETYPE_PEM) != 1) {
			ERR_print_errors_fp(stderr);
			return 1;
		}
		/* one recv() fetches many records (see [speed]) */
		SSL_CTX_set_read_ahead(g_ctx, 1);
		SSL_CTX_set_default_read_buffer_len(g_ctx, 256 * 1024);
	}
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
		perror("socket");
		return 1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, 64) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
		perror("bind/listen");
		return 1;
	}
	printf("port %u\n", (unsigned)ntohs(sa.sin_port));
	fflush(stdout);
	for (;;) {
		pthread_t th;
		struct conn *c;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("accept");
			return 1;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (!(c = calloc(1, sizeof *c))) {
			close(fd);
			continue;
		}
		c->fd = fd;
		if (pthread_create(&th, NULL, conn_thread, c)) {
			close(fd);
			free(c);
			continue;
		}
		pthread_detach(th);
	}
}
