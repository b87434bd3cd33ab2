/* pop3_raw.c: the POP3 server's own ceiling for scripts/bench_pop3.sh.
 * RFC 1939 (USER, PASS, RETR), RFC 2595 (STLS), RFC 8314 (implicit TLS).
 *
 *   pop3_raw raw HOST PORT plain|stls|tls USER PASSWORD MSGNO [CAFILE]
 *   pop3_raw lib HOST PORT plain|stls|tls USER PASSWORD MAILDIR STATE [CAFILE]
 *
 * raw: logs in with USER/PASS, sends RETR MSGNO and reads the response in
 * 1 MiB reads, discarding it, until the last bytes seen are CRLF "." CRLF.
 * No dot-unstuffing, no storage: what is left is the server's sending speed
 * and the kernel/TLS cost of receiving, a bound no client can beat.
 * lib: mc_pop3_fetch (keep) into MAILDIR with the state file STATE; for
 * "plain" it sets MC_POP3_PLAINTEXT + MC_POP3_ALLOW_PLAINTEXT_AUTH, which the
 * CLI deliberately never does (it refuses credentials without TLS).
 * Both print "BYTES bytes" on standard output; exit 0 on success. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "mimecodec/pop3.h"

#define RAW_BUF (1u << 20)

struct conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	char line[4096];
	size_t llen;
};

static void die(const char *what)
{
	fprintf(stderr, "pop3_raw: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static ssize_t c_read(struct conn *c, void *p, size_t n)
{
	if (c->ssl) {
		size_t got = 0;

		if (SSL_read_ex(c->ssl, p, n, &got) <= 0)
			return -1;
		return (ssize_t)got;
	}
	for (;;) {
		ssize_t r = recv(c->fd, p, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		return r <= 0 ? -1 : r;
	}
}

static void c_write(struct conn *c, const char *s)
{
	size_t n = strlen(s), done = 0;

	if (c->ssl) {
		if (SSL_write_ex(c->ssl, s, n, &done) <= 0)
			die("SSL_write failed");
		return;
	}
	while (done < n) {
		ssize_t w = send(c->fd, s + done, n - done, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("send failed");
		done += (size_t)w;
	}
}

/* One status line, byte by byte (only the few login lines come this way, so
 * nothing of the message body is ever read ahead and lost). */
static void c_status(struct conn *c, const char *step)
{
	c->llen = 0;
	for (;;) {
		char ch;

		if (c_read(c, &ch, 1) != 1)
			die("connection closed during login");
		if (ch == '\n')
			break;
		if (c->llen < sizeof c->line - 1)
			c->line[c->llen++] = ch;
	}
	c->line[c->llen] = '\0';
	if (strncmp(c->line, "+OK", 3) != 0) {
		fprintf(stderr, "pop3_raw: %s: %s\n", step, c->line);
		exit(1);
	}
}

static void c_tls(struct conn *c, const char *host, const char *cafile)
{
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx)
		die("SSL_CTX_new");
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	if (cafile) {
		if (SSL_CTX_load_verify_locations(c->ctx, cafile, NULL) != 1)
			die("cannot load CA file");
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	}
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl)
		die("SSL_new");
	if (cafile)
		SSL_set1_host(c->ssl, host);
	SSL_set_fd(c->ssl, c->fd);
	if (SSL_connect(c->ssl) != 1)
		die("TLS handshake failed");
}

static int c_connect(const char *host, const char *port)
{
	struct addrinfo hints = {0}, *res, *ai;
	int fd = -1;

	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		die("cannot resolve host");
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		die("cannot connect");
	return fd;
}

static int run_raw(char **a, const char *cafile)
{
	const char *host = a[0], *port = a[1], *mode = a[2];
	struct conn c = {0};
	char cmd[600], tail[5] = {0};
	unsigned long long total = 0;
	unsigned char *buf = malloc(RAW_BUF);

	if (!buf)
		die("out of memory");
	c.fd = c_connect(host, port);
	if (strcmp(mode, "tls") == 0)
		c_tls(&c, host, cafile);
	c_status(&c, "greeting");
	if (strcmp(mode, "stls") == 0) {
		c_write(&c, "STLS\r\n");
		c_status(&c, "STLS");
		c_tls(&c, host, cafile);
	}
	snprintf(cmd, sizeof cmd, "USER %s\r\n", a[3]);
	c_write(&c, cmd);
	c_status(&c, "USER");
	snprintf(cmd, sizeof cmd, "PASS %s\r\n", a[4]);
	c_write(&c, cmd);
	c_status(&c, "PASS");
	snprintf(cmd, sizeof cmd, "RETR %s\r\n", a[5]);
	c_write(&c, cmd);
	c_status(&c, "RETR");
	/* the body ends with CRLF "." CRLF and nothing follows it (lock-step) */
	for (;;) {
		ssize_t r = c_read(&c, buf, RAW_BUF);
		size_t n;

		if (r <= 0)
			die("connection closed during RETR");
		n = (size_t)r;
		total += n;
		if (n >= 5) {
			memcpy(tail, buf + n - 5, 5);
		} else {
			memmove(tail, tail + n, 5 - n);
			memcpy(tail + 5 - n, buf, n);
		}
		if (total >= 5 && memcmp(tail, "\r\n.\r\n", 5) == 0)
			break;
	}
	c_write(&c, "QUIT\r\n");
	c_status(&c, "QUIT");
	if (c.ssl) {
		SSL_shutdown(c.ssl);
		SSL_free(c.ssl);
		SSL_CTX_free(c.ctx);
	}
	close(c.fd);
	free(buf);
	printf("%llu bytes\n", total);
	return 0;
}

static int run_lib(char **a, const char *cafile)
{
	struct mc_pop3_opts o;
	struct mc_pop3_fetch_opts fo;
	struct mc_pop3_fetch_result r;
	struct mc_pop3_error e;
	mc_status st;

	memset(&o, 0, sizeof o);
	memset(&fo, 0, sizeof fo);
	o.host = a[0];
	o.port = a[1];
	if (strcmp(a[2], "plain") == 0) {
		o.tls = MC_POP3_PLAINTEXT;
		o.flags |= MC_POP3_ALLOW_PLAINTEXT_AUTH;
	} else {
		o.tls = strcmp(a[2], "tls") == 0 ? MC_POP3_IMPLICIT : MC_POP3_STLS;
	}
	o.user = a[3];
	o.password = a[4];
	o.cafile = cafile;
	fo.maildir = a[5];
	fo.state_file = a[6];
	fo.keep = 1;
	st = mc_pop3_fetch(&o, &fo, &r, &e);
	if (st != MC_OK) {
		fprintf(stderr, "pop3_raw: fetch: %s at %s\n", e.msg[0] ? e.msg : mc_strerror(st),
		        e.step);
		return 1;
	}
	printf("%llu bytes\n", (unsigned long long)r.bytes);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 8 && argc <= 9 && strcmp(argv[1], "raw") == 0)
		return run_raw(argv + 2, argc == 9 ? argv[8] : NULL);
	if (argc >= 9 && argc <= 10 && strcmp(argv[1], "lib") == 0)
		return run_lib(argv + 2, argc == 10 ? argv[9] : NULL);
	fprintf(stderr,
	        "usage: pop3_raw raw HOST PORT plain|stls|tls USER PASSWORD MSGNO [CAFILE]\n"
	        "       pop3_raw lib HOST PORT plain|stls|tls USER PASSWORD MAILDIR STATE "
	        "[CAFILE]\n");
	return 2;
}
