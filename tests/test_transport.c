/* test_transport.c: the TCP/TLS transport: lines split across reads with LF
 * or CRLF, the line cap, a partial last line, read and connect timeouts,
 * refused connections, unresolvable names, IPv6 literals with and without
 * brackets, and certificate verification failing against a self-signed
 * server without the insecure option. The server is a forked child. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "mimecodec/transport.h"
#include "test.h"

enum { SRV_SEND, SRV_SILENT, SRV_TLS };

struct srv {
	pid_t pid;
	char port[8];
};

/* One connection: sends the pieces of `script` (separated by '|', with a
 * pause between them), stays silent, or runs a TLS handshake. */
static int srv_start(struct srv *s, int family, int mode, const char *script)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int lfd = socket(family, SOCK_STREAM, 0), one = 1;

	memset(&ss, 0, sizeof ss);
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		len = sizeof *a;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof *a;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&ss, len) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&ss, &len))
		return -1;
	snprintf(s->port, sizeof s->port, "%u",
	         ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                  : ((struct sockaddr_in *)&ss)->sin_port));
	fflush(NULL);
	s->pid = fork();
	if (s->pid == 0) {
		int c = accept(lfd, NULL, NULL);
		char buf[256];

		if (mode == SRV_SEND) {
			for (const char *p = script; *p;) {
				const char *bar = strchr(p, '|');
				size_t n = bar ? (size_t)(bar - p) : strlen(p);

				if (write(c, p, n) < 0)
					break;
				nanosleep(&(struct timespec){0, 20000000}, NULL);
				p += n + (bar != NULL);
			}
		} else if (mode == SRV_SILENT) {
			sleep(3);
		} else {
			SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
			EVP_PKEY *pk = EVP_EC_gen("P-256");
			X509 *x = X509_new();
			SSL *ssl;

			X509_set_version(x, 2);
			X509_gmtime_adj(X509_getm_notBefore(x), -60);
			X509_gmtime_adj(X509_getm_notAfter(x), 3600);
			X509_set_pubkey(x, pk);
			X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
			                           (const unsigned char *)"127.0.0.1", -1, -1, 0);
			X509_set_issuer_name(x, X509_get_subject_name(x));
			X509_sign(x, pk, EVP_sha256());
			SSL_CTX_use_certificate(ctx, x);
			SSL_CTX_use_PrivateKey(ctx, pk);
			ssl = SSL_new(ctx);
			SSL_set_fd(ssl, c);
			if (SSL_accept(ssl) == 1)
				SSL_write(ssl, "hello over tls\r\n", 16);
			(void)SSL_read(ssl, buf, sizeof buf);
			SSL_free(ssl);
			SSL_CTX_free(ctx);
			X509_free(x);
			EVP_PKEY_free(pk);
		}
		close(c);
		_exit(0);
	}
	close(lfd);
	return 0;
}

static void srv_end(struct srv *s)
{
	int st;

	waitpid(s->pid, &st, 0);
}

static struct mc_transport t; /* large: not on the stack */

static void test_lines(int family, const char *host)
{
	struct srv s;
	struct mc_transport_opts o = {.timeout_ms = 2000, .max_line = 64};
	const char *l;
	size_t n;

	if (srv_start(&s, family, SRV_SEND,
	              "one\r\ntw|o\nthr|ee\r|\n|\r\n|" /* empty line */
	              "partial"))
		return;
	CHECK_EQ_INT(mc_transport_connect(&t, host, s.port, &o), MC_OK);
	CHECK_EQ_INT(mc_transport_read_line(&t, &l, &n), MC_OK);
	CHECK_EQ_MEM(l, n, "one", 3);
	CHECK_EQ_INT(mc_transport_read_line(&t, &l, &n), MC_OK);
	CHECK_EQ_MEM(l, n, "two", 3);
	CHECK_EQ_INT(mc_transport_read_line(&t, &l, &n), MC_OK);
	CHECK_EQ_MEM(l, n, "three", 5);
	CHECK_EQ_INT(mc_transport_read_line(&t, &l, &n), MC_OK);
	CHECK_EQ_SIZE(n, 0);
	CHECK_EQ_INT(mc_transport_read_line(&t, &l, &n), MC_ECLOSED); /* "partial", then EOF */
	CHECK(!mc_transport_is_tls(&t));
	mc_transport_close(&t);
	srv_end(&s);
	MC_TEST_CTX("lines over %s\n", host);
}

static void test_line_cap(void)
{
	struct srv s;
	struct mc_transport_opts o = {.timeout_ms = 2000, .max_line = 16};
	const char *l;
	size_t n;

	if (srv_start(&s, AF_INET, SRV_SEND, "0123456789abcd\r\n0123456789abcde\r\n"))
		return;
	CHECK_EQ_INT(mc_transport_connect(&t, "127.0.0.1", s.port, &o), MC_OK);
	CHECK_EQ_INT(mc_transport_read_line(&t, &l, &n), MC_OK); /* 16 with CRLF: fits */
	CHECK_EQ_SIZE(n, 14);
	CHECK_EQ_INT(mc_transport_read_line(&t, &l, &n), MC_ELIMIT);
	CHECK(strstr(mc_transport_errmsg(&t), "longer than 16") != NULL);
	mc_transport_close(&t);
	srv_end(&s);
}

static void test_timeout(void)
{
	struct srv s;
	struct mc_transport_opts o = {.timeout_ms = 300};
	struct timespec a, b;
	const char *l;
	size_t n;
	long ms;

	if (srv_start(&s, AF_INET, SRV_SILENT, NULL))
		return;
	CHECK_EQ_INT(mc_transport_connect(&t, "127.0.0.1", s.port, &o), MC_OK);
	clock_gettime(CLOCK_MONOTONIC, &a);
	CHECK_EQ_INT(mc_transport_read_line(&t, &l, &n), MC_ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	CHECK(ms >= 250 && ms < 2000);
	mc_transport_close(&t);
	kill(s.pid, SIGTERM);
	srv_end(&s);
}

static void test_connect_errors(void)
{
	struct srv s;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof a;
	char port[8];

	/* a port that was just free: bound, not listening, then closed */
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&a, sizeof a);
	getsockname(fd, (struct sockaddr *)&a, &len);
	snprintf(port, sizeof port, "%u", ntohs(a.sin_port));
	close(fd);
	CHECK_EQ_INT(mc_transport_connect(&t, "127.0.0.1", port, NULL), MC_ECONNECT);
	CHECK(strstr(mc_transport_errmsg(&t), "refused") != NULL);
	mc_transport_close(&t);
	CHECK_EQ_INT(mc_transport_connect(&t, "no-such-host.invalid", "25", NULL), MC_ERESOLVE);
	mc_transport_close(&t);
	CHECK_EQ_INT(mc_transport_connect(&t, "", "25", NULL), MC_EINVAL);
	CHECK_EQ_INT(mc_transport_connect(&t, "127.0.0.1", "smtp", NULL), MC_EINVAL);
	CHECK_EQ_INT(mc_transport_write(&t, "x", 1), MC_EINVAL); /* not connected */
	mc_transport_close(&t);
	mc_transport_close(&t); /* twice is fine */
	(void)s;
}

static void test_tls_verify(void)
{
	struct srv s;
	struct mc_transport_opts o = {.timeout_ms = 3000};
	const char *l;
	size_t n;

	/* self-signed, not in any store: refused with the verification error */
	if (srv_start(&s, AF_INET, SRV_TLS, NULL))
		return;
	CHECK_EQ_INT(mc_transport_connect(&t, "127.0.0.1", s.port, &o), MC_OK);
	CHECK_EQ_INT(mc_transport_start_tls(&t), MC_ETLS);
	CHECK(strstr(mc_transport_errmsg(&t), "certificate") != NULL);
	mc_transport_close(&t);
	srv_end(&s);
	/* insecure (tests only): accepted */
	o.insecure = 1;
	if (srv_start(&s, AF_INET, SRV_TLS, NULL))
		return;
	CHECK_EQ_INT(mc_transport_connect(&t, "127.0.0.1", s.port, &o), MC_OK);
	CHECK_EQ_INT(mc_transport_start_tls(&t), MC_OK);
	CHECK(mc_transport_is_tls(&t));
	CHECK_EQ_INT(mc_transport_read_line(&t, &l, &n), MC_OK);
	CHECK_EQ_MEM(l, n, "hello over tls", 14);
	CHECK_EQ_INT(mc_transport_write(&t, "bye\r\n", 5), MC_OK);
	CHECK_EQ_INT(mc_transport_flush(&t), MC_OK);
	CHECK_EQ_INT(mc_transport_start_tls(&t), MC_EINVAL); /* already on */
	mc_transport_close(&t);
	srv_end(&s);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	mc_transport_init(&t);
	test_lines(AF_INET, "127.0.0.1");
	test_lines(AF_INET6, "::1");
	test_lines(AF_INET6, "[::1]");
	test_line_cap();
	test_timeout();
	test_connect_errors();
	test_tls_verify();
	MC_TEST_END();
}
