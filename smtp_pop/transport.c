/* transport.c: TCP and TLS byte stream with timeouts and a line reader.
 * RFC 8314 (implicit TLS), RFC 3207 section 4.2 / RFC 2595 section 4
 * (discard what came before the handshake), RFC 6125 (server identity).
 *
 * Design note [nonblocking]: the socket is nonblocking from creation on; every
 * operation waits in poll() for at most timeout_ms without progress, so a
 * stalled server becomes MC_ETIMEDOUT instead of a hang. OpenSSL reads and
 * writes through a small BIO of our own that calls send(MSG_NOSIGNAL) and
 * recv(): a server closing the connection mid-write is an error return, never
 * a SIGPIPE in the caller's process, and the library changes no signal
 * disposition.
 *
 * Design note [coalesce]: SSL_write hands the BIO one TLS record (at most
 * 16 KiB of plaintext) at a time, and one send() per record costs more than
 * the encryption on loopback. Inside a large write (io_send) the BIO gathers
 * records into tlsout (MC_TLS_GATHER bytes, allocated on first use) and
 * sends them in one call when it is full and when the write ends, so a
 * 256 KiB body chunk leaves in one or two send() calls. Outside io_send
 * (handshake, alerts, close_notify) every record goes out at once, and
 * tlsout is always empty there, so bytes never change order. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls_api.h"

#include "mimecodec/transport.h"

#define MC_TLS_GATHER (256u * 1024u) /* see [coalesce] */

/* ================================================================ helpers */

static void tr_err(struct mc_transport *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void tr_err(struct mc_transport *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof t->err, fmt, ap);
	va_end(ap);
}

static void tr_info(struct mc_transport *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void tr_info(struct mc_transport *t, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	if (!t->trace)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	t->trace(t->trace_ctx, MC_TRACE_INFO, buf,
	         (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or timeout_ms pass without it
 * (see [nonblocking]). */
static mc_status wait_fd(struct mc_transport *t, short events, const char *what)
{
	int64_t end = now_ms() + t->timeout_ms;

	for (;;) {
		struct pollfd p = {.fd = t->fd, .events = events, .revents = 0};
		int64_t left = end - now_ms();
		int r;

		if (left < 0)
			left = 0;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return MC_OK; /* errors and hangups show in the following call */
		if (r == 0) {
			tr_err(t, "%s timed out after %d ms", what, t->timeout_ms);
			return MC_ETIMEDOUT;
		}
		if (errno != EINTR) {
			tr_err(t, "poll: %s", strerror(errno));
			return MC_EIO;
		}
	}
}

/* Strips the brackets of "[::1]" into out. Returns 0, or -1 if too long. */
static int host_unbracket(const char *host, char *out, size_t cap)
{
	size_t n = strlen(host);

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n == 0 || n >= cap)
		return -1;
	memcpy(out, host, n);
	out[n] = '\0';
	return 0;
}

/* A decimal port 1..65535. */
static int port_ok(const char *p)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; p[i]; i++) {
		if (p[i] < '0' || p[i] > '9' || i >= 5)
			return 0;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	return i > 0 && v >= 1 && v <= 65535;
}

static int is_ip_literal(const char *h)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

/* ================================================================ lifecycle */

void mc_transport_init(struct mc_transport *t)
{
	t->fd = -1;
	t->timeout_ms = MC_TRANSPORT_TIMEOUT_MS;
	t->insecure = 0;
	t->eof = 0;
	t->max_line = MC_TRANSPORT_LINE_MAX;
	t->ssl_ctx = t->ssl = t->bio_method = NULL;
	t->cafile = NULL;
	t->host[0] = '\0';
	t->trace = NULL;
	t->trace_ctx = NULL;
	t->discarded = 0;
	t->rpos = t->rlen = t->wlen = 0;
	t->err[0] = '\0';
	t->local[0] = '\0';
	t->tlsout = NULL;
	t->tlslen = t->tlsoff = 0;
	t->coalesce = 0;
}

void mc_transport_close(struct mc_transport *t)
{
	if (t->ssl) {
		/* One nonblocking close_notify; a peer that is gone just fails it. */
		ERR_clear_error();
		SSL_shutdown(t->ssl);
		SSL_free(t->ssl);
	}
	if (t->ssl_ctx)
		SSL_CTX_free(t->ssl_ctx);
	if (t->bio_method)
		BIO_meth_free(t->bio_method);
	if (mc__tls_loaded()) /* plain connections never load OpenSSL */
		ERR_clear_error();
	t->ssl = t->ssl_ctx = t->bio_method = NULL;
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->rpos = t->rlen = t->wlen = 0;
	t->eof = 0;
	free(t->tlsout);
	t->tlsout = NULL;
	t->tlslen = t->tlsoff = 0;
	t->coalesce = 0;
}

const char *mc_transport_errmsg(const struct mc_transport *t)
{
	return t->err;
}

int mc_transport_is_tls(const struct mc_transport *t)
{
	return t->ssl != NULL;
}

size_t mc_transport_pending(const struct mc_transport *t)
{
	return t->rlen - t->rpos;
}

static void record_local(struct mc_transport *t)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char a[INET6_ADDRSTRLEN];

	t->local[0] = '\0';
	if (getsockname(t->fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET &&
	    inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a, sizeof a))
		snprintf(t->local, sizeof t->local, "[%s]", a);
	else if (ss.ss_family == AF_INET6 &&
	         inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, a, sizeof a))
		snprintf(t->local, sizeof t->local, "[IPv6:%s]", a);
}

/* One address: nonblocking connect, then wait for it within the timeout. */
static mc_status connect_one(struct mc_transport *t, const struct addrinfo *ai, char *why,
                             size_t whycap)
{
	int fd =
	    socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	int one = 1, soerr = 0;
	socklen_t sl = sizeof soerr;
	mc_status s;

	if (fd < 0) {
		snprintf(why, whycap, "socket: %s", strerror(errno));
		return MC_ECONNECT;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS && errno != EINTR) {
			snprintf(why, whycap, "%s", strerror(errno));
			close(fd);
			return MC_ECONNECT;
		}
		t->fd = fd;
		s = wait_fd(t, POLLOUT, "connect");
		t->fd = -1;
		if (s != MC_OK) {
			snprintf(why, whycap, "%s", t->err);
			close(fd);
			return s;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
			snprintf(why, whycap, "%s", strerror(soerr ? soerr : errno));
			close(fd);
			return MC_ECONNECT;
		}
	}
	/* The client assembles whole commands itself: send segments at once. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	t->fd = fd;
	return MC_OK;
}

mc_status mc_transport_connect(struct mc_transport *t, const char *host, const char *port,
                               const struct mc_transport_opts *opts)
{
	struct addrinfo hints, *res = NULL, *ai;
	char why[300] = "no address";
	char addr[INET6_ADDRSTRLEN];
	mc_status s = MC_ECONNECT;
	int r;

	mc_transport_init(t);
	if (!host || !port || host_unbracket(host, t->host, sizeof t->host) || !port_ok(port)) {
		tr_err(t, "invalid host or port");
		return MC_EINVAL;
	}
	if (opts) {
		if (opts->timeout_ms > 0)
			t->timeout_ms = opts->timeout_ms;
		t->insecure = opts->insecure;
		t->cafile = opts->cafile;
		if (opts->max_line) {
			if (opts->max_line < 3 || opts->max_line > MC_TRANSPORT_RBUF) {
				tr_err(t, "line cap out of range");
				return MC_EINVAL;
			}
			t->max_line = opts->max_line;
		}
		t->trace = opts->trace;
		t->trace_ctx = opts->trace_ctx;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	r = getaddrinfo(t->host, port, &hints, &res);
	if (r != 0) {
		tr_err(t, "cannot resolve %s port %s: %s", t->host, port,
		       r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		return MC_ERESOLVE;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		const void *a = ai->ai_family == AF_INET6
		                    ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
		                    : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;

		if (!inet_ntop(ai->ai_family, a, addr, sizeof addr))
			snprintf(addr, sizeof addr, "?");
		s = connect_one(t, ai, why, sizeof why);
		if (s == MC_OK) {
			tr_info(t, "connected to %s port %s", addr, port);
			break;
		}
		tr_info(t, "connect to %s port %s: %s", addr, port, why);
	}
	freeaddrinfo(res);
	if (s != MC_OK) {
		tr_err(t, "cannot connect to %s port %s: %s", t->host, port, why);
		return s;
	}
	record_local(t);
	t->err[0] = '\0';
	return MC_OK;
}

/* ================================================================ socket BIO */
/* See [nonblocking]: OpenSSL's I/O through send(MSG_NOSIGNAL) and recv(). */

/* Sends tlsout[tlsoff, tlslen) without waiting (see [coalesce]). Returns 1
 * when it is all sent (and empties it), 0 when the socket is full, -1 on an
 * error (errno says which). */
static int gather_push(struct mc_transport *t)
{
	while (t->tlsoff < t->tlslen) {
		ssize_t w = send(t->fd, t->tlsout + t->tlsoff, t->tlslen - t->tlsoff, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		}
		t->tlsoff += (size_t)w;
	}
	t->tlsoff = t->tlslen = 0;
	return 1;
}

/* Sends all of tlsout, waiting for the socket as long as it makes progress
 * within the timeout. */
static mc_status gather_flush(struct mc_transport *t)
{
	for (;;) {
		int r = gather_push(t);
		mc_status s;

		if (r > 0)
			return MC_OK;
		if (r < 0) {
			int e = errno;

			tr_err(t, "write: %s", strerror(e));
			t->tlsoff = t->tlslen = 0;
			return e == EPIPE || e == ECONNRESET ? MC_ECLOSED : MC_EIO;
		}
		if ((s = wait_fd(t, POLLOUT, "write")) != MC_OK) {
			t->tlsoff = t->tlslen = 0;
			return s;
		}
	}
}

static int bio_write_cb(BIO *b, const char *p, size_t n, size_t *done)
{
	struct mc_transport *t = BIO_get_data(b);
	ssize_t w;

	BIO_clear_retry_flags(b);
	if (t->coalesce) {
		if (t->tlslen + n > MC_TLS_GATHER) {
			int r = gather_push(t);

			if (r <= 0) {
				if (r == 0)
					BIO_set_retry_write(b);
				return 0;
			}
		}
		if (n <= MC_TLS_GATHER - t->tlslen) {
			memcpy(t->tlsout + t->tlslen, p, n);
			t->tlslen += n;
			*done = n;
			return 1;
		}
	}
	do
		w = send(t->fd, p, n, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			BIO_set_retry_write(b);
		return 0;
	}
	*done = (size_t)w;
	return 1;
}

static int bio_read_cb(BIO *b, char *p, size_t n, size_t *done)
{
	struct mc_transport *t = BIO_get_data(b);
	ssize_t r;

	BIO_clear_retry_flags(b);
	do
		r = recv(t->fd, p, n, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			BIO_set_retry_read(b);
		return 0;
	}
	if (r == 0)
		t->eof = 1;
	*done = (size_t)r;
	return r > 0;
}

static long bio_ctrl_cb(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

/* ================================================================ TLS */

static void ssl_errmsg(struct mc_transport *t, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[200];

	if (e) {
		ERR_error_string_n(e, buf, sizeof buf);
		tr_err(t, "%s: %s", what, buf);
	} else {
		tr_err(t, "%s failed", what);
	}
	ERR_clear_error();
}

/* Waits for what SSL asked for after a call returned r. Returns MC_OK to
 * retry, or the error to give up with. */
static mc_status ssl_wait(struct mc_transport *t, int r, const char *what)
{
	int e = SSL_get_error(t->ssl, r);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return wait_fd(t, POLLIN, what);
	case SSL_ERROR_WANT_WRITE:
		return wait_fd(t, POLLOUT, what);
	case SSL_ERROR_ZERO_RETURN:
		tr_err(t, "%s: connection closed by the server", what);
		ERR_clear_error();
		return MC_ECLOSED;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_last_error() == 0) {
			tr_err(t, "%s: connection lost%s%s", what, errno ? ": " : "",
			       errno ? strerror(errno) : "");
			return MC_ECLOSED;
		}
		ssl_errmsg(t, what);
		return MC_EIO;
	default:
		ssl_errmsg(t, what);
		return MC_ETLS;
	}
}

mc_status mc_transport_start_tls(struct mc_transport *t)
{
	SSL_CTX *ctx;
	SSL *ssl;
	BIO_METHOD *m;
	BIO *bio;
	mc_status s;
	int r;

	if (t->fd < 0 || t->ssl) {
		tr_err(t, "start_tls: %s", t->fd < 0 ? "not connected" : "TLS already on");
		return MC_EINVAL;
	}
	if (mc__tls_load() != MC_OK) {
		tr_err(t, "%s", mc__tls_error());
		return MC_ENOTLS;
	}
	/* RFC 3207 4.2: whatever arrived before the handshake is not trusted. */
	t->discarded = t->rlen - t->rpos;
	if (t->discarded)
		tr_info(t, "discarded %llu bytes received before the TLS handshake",
		        (unsigned long long)t->discarded);
	t->rpos = t->rlen = 0;
	if (t->wlen) {
		s = mc_transport_flush(t);
		if (s)
			return s;
	}
	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		ssl_errmsg(t, "SSL_CTX_new");
		return MC_ENOMEM;
	}
	t->ssl_ctx = ctx;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* A server that closes without close_notify is a closed connection. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION |
	                             SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Read ahead into a 256 KiB buffer: a POP3S RETR of 68 MB took 33,651
	 * recv() calls one record at a time, 590 this way. Safe with io_fill,
	 * which waits in poll() only after SSL_read says it needs the socket. */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, 256 * 1024);
	if (!t->insecure) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		r = t->cafile ? SSL_CTX_load_verify_locations(ctx, t->cafile, NULL)
		              : SSL_CTX_set_default_verify_paths(ctx);
		if (r != 1) {
			ssl_errmsg(t, t->cafile ? "cannot load CA file" : "cannot load CA store");
			if (t->cafile)
				snprintf(t->err + strlen(t->err), sizeof t->err - strlen(t->err),
				         " (%s)", t->cafile);
			return MC_ETLS;
		}
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "mc_socket");
	if (!m || !BIO_meth_set_write_ex(m, bio_write_cb) ||
	    !BIO_meth_set_read_ex(m, bio_read_cb) || !BIO_meth_set_ctrl(m, bio_ctrl_cb)) {
		if (m)
			BIO_meth_free(m);
		ssl_errmsg(t, "BIO_meth_new");
		return MC_ENOMEM;
	}
	t->bio_method = m;
	ssl = SSL_new(ctx);
	bio = BIO_new(m);
	if (!ssl || !bio) {
		SSL_free(ssl);
		BIO_free(bio);
		ssl_errmsg(t, "SSL_new");
		return MC_ENOMEM;
	}
	BIO_set_data(bio, t);
	BIO_set_init(bio, 1);
	SSL_set_bio(ssl, bio, bio);
	t->ssl = ssl;
	if (is_ip_literal(t->host)) {
		/* RFC 6125: an IP address must match an iPAddress SAN; no SNI. */
		r = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), t->host);
	} else {
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		r = SSL_set_tlsext_host_name(ssl, t->host) == 1 && SSL_set1_host(ssl, t->host) == 1;
	}
	if (r != 1) {
		ssl_errmsg(t, "cannot set the expected server name");
		return MC_ETLS;
	}
	for (;;) {
		ERR_clear_error();
		r = SSL_connect(ssl);
		if (r == 1)
			break;
		s = ssl_wait(t, r, "TLS handshake");
		if (s == MC_OK)
			continue;
		if (!t->insecure && SSL_get_verify_result(ssl) != X509_V_OK) {
			long v = SSL_get_verify_result(ssl);

			tr_err(t, "certificate of %s not accepted: %s", t->host,
			       X509_verify_cert_error_string(v));
			return MC_ETLS;
		}
		if (s == MC_ECLOSED || s == MC_EIO) {
			/* A handshake cut short is a TLS failure for the caller. */
			return s == MC_ECLOSED ? MC_ETLS : s;
		}
		return s;
	}
	tr_info(t, "TLS established: %s %s, certificate %s", SSL_get_version(ssl),
	        SSL_get_cipher_name(ssl), t->insecure ? "NOT verified (insecure)" : "verified");
	return MC_OK;
}

/* ================================================================ I/O */

static mc_status io_send(struct mc_transport *t, const unsigned char *p, size_t n)
{
	if (t->ssl && n > 16384 && !t->coalesce &&
	    (t->tlsout || (t->tlsout = malloc(MC_TLS_GATHER)) != NULL)) {
		mc_status s, f;

		t->coalesce = 1; /* see [coalesce] */
		s = io_send(t, p, n);
		t->coalesce = 0;
		if (s) { /* the stream is broken: what is gathered can be dropped */
			t->tlsoff = t->tlslen = 0;
			return s;
		}
		f = gather_flush(t);
		return f;
	}
	while (n) {
		size_t done = 0;

		if (t->ssl) {
			int r;

			ERR_clear_error();
			r = SSL_write_ex(t->ssl, p, n, &done);
			if (r <= 0) {
				mc_status s = ssl_wait(t, r, "write");

				if (s)
					return s;
				continue;
			}
		} else {
			ssize_t w = send(t->fd, p, n, MSG_NOSIGNAL);

			if (w < 0) {
				mc_status s;

				if (errno == EINTR)
					continue;
				if (errno != EAGAIN && errno != EWOULDBLOCK) {
					tr_err(t, "write: %s", strerror(errno));
					return errno == EPIPE || errno == ECONNRESET ? MC_ECLOSED
					                                             : MC_EIO;
				}
				s = wait_fd(t, POLLOUT, "write");
				if (s)
					return s;
				continue;
			}
			done = (size_t)w;
		}
		p += done;
		n -= done;
	}
	return MC_OK;
}

/* Sends a[0..na) then b[0..nb) as one write: plaintext in sendmsg() calls
 * over both (the buffered command line and the body chunk after it leave
 * in one segment train), TLS inside one gathering window (see [coalesce]). */
static mc_status io_send_pair(struct mc_transport *t, const unsigned char *a, size_t na,
                              const unsigned char *b, size_t nb)
{
	struct iovec iov[2];
	int i = 0;

	if (t->ssl) {
		int outer = !t->coalesce && (t->tlsout || (t->tlsout = malloc(MC_TLS_GATHER)));
		mc_status s;

		if (outer)
			t->coalesce = 1;
		s = io_send(t, a, na);
		if (!s)
			s = io_send(t, b, nb);
		if (outer) {
			t->coalesce = 0;
			if (s)
				t->tlsoff = t->tlslen = 0; /* the stream is broken */
			else
				s = gather_flush(t);
		}
		return s;
	}
	iov[0].iov_base = (void *)(uintptr_t)a;
	iov[0].iov_len = na;
	iov[1].iov_base = (void *)(uintptr_t)b;
	iov[1].iov_len = nb;
	while (i < 2) {
		struct msghdr m;
		ssize_t w;

		if (iov[i].iov_len == 0) {
			i++;
			continue;
		}
		memset(&m, 0, sizeof m);
		m.msg_iov = iov + i;
		m.msg_iovlen = (size_t)(2 - i);
		w = sendmsg(t->fd, &m, MSG_NOSIGNAL);
		if (w < 0) {
			mc_status s;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				int e = errno;

				tr_err(t, "write: %s", strerror(e));
				return e == EPIPE || e == ECONNRESET ? MC_ECLOSED : MC_EIO;
			}
			if ((s = wait_fd(t, POLLOUT, "write")) != MC_OK)
				return s;
			continue;
		}
		while (w > 0 && i < 2) {
			size_t k = (size_t)w < iov[i].iov_len ? (size_t)w : iov[i].iov_len;

			iov[i].iov_base = (char *)iov[i].iov_base + k;
			iov[i].iov_len -= k;
			w -= (ssize_t)k;
			if (iov[i].iov_len == 0)
				i++;
		}
	}
	return MC_OK;
}

/* Reads at least one byte into rbuf[rlen..]. */
static mc_status io_fill(struct mc_transport *t)
{
	size_t cap = sizeof t->rbuf - t->rlen;

	for (;;) {
		size_t got = 0;

		if (t->ssl) {
			int r;

			ERR_clear_error();
			r = SSL_read_ex(t->ssl, t->rbuf + t->rlen, cap, &got);
			if (r <= 0) {
				mc_status s = ssl_wait(t, r, "read");

				if (s)
					return s;
				continue;
			}
		} else {
			ssize_t n = recv(t->fd, t->rbuf + t->rlen, cap, 0);

			if (n < 0) {
				mc_status s;

				if (errno == EINTR)
					continue;
				if (errno != EAGAIN && errno != EWOULDBLOCK) {
					tr_err(t, "read: %s", strerror(errno));
					return errno == ECONNRESET ? MC_ECLOSED : MC_EIO;
				}
				s = wait_fd(t, POLLIN, "read");
				if (s)
					return s;
				continue;
			}
			if (n == 0) {
				t->eof = 1;
				tr_err(t, "connection closed by the server");
				return MC_ECLOSED;
			}
			got = (size_t)n;
		}
		t->rlen += got;
		return MC_OK;
	}
}

mc_status mc_transport_flush(struct mc_transport *t)
{
	mc_status s;

	if (t->fd < 0) {
		tr_err(t, "not connected");
		return MC_EINVAL;
	}
	s = io_send(t, t->wbuf, t->wlen);
	t->wlen = 0;
	return s;
}

mc_status mc_transport_write(struct mc_transport *t, const void *p, size_t n)
{
	const unsigned char *c = p;

	if (t->fd < 0) {
		tr_err(t, "not connected");
		return MC_EINVAL;
	}
	if (t->wlen && n >= sizeof t->wbuf) { /* a command line before a body chunk */
		mc_status s = io_send_pair(t, t->wbuf, t->wlen, c, n);

		t->wlen = 0;
		return s;
	}
	while (n) {
		size_t room = sizeof t->wbuf - t->wlen;

		if (t->wlen == 0 && n >= sizeof t->wbuf)
			return io_send(t, c, n);
		if (room > n)
			room = n;
		memcpy(t->wbuf + t->wlen, c, room);
		t->wlen += room;
		c += room;
		n -= room;
		if (t->wlen == sizeof t->wbuf) {
			mc_status s = mc_transport_flush(t);

			if (s)
				return s;
		}
	}
	return MC_OK;
}

mc_status mc_transport_read_line(struct mc_transport *t, const char **line, size_t *n)
{
	size_t scanned = 0; /* bytes after rpos already known to hold no LF */

	if (t->fd < 0) {
		tr_err(t, "not connected");
		return MC_EINVAL;
	}
	if (t->wlen) {
		mc_status s = mc_transport_flush(t);

		if (s)
			return s;
	}
	for (;;) {
		unsigned char *start = t->rbuf + t->rpos;
		size_t avail = t->rlen - t->rpos;
		unsigned char *lf = memchr(start + scanned, '\n', avail - scanned);

		if (lf) {
			size_t len = (size_t)(lf - start);

			if (len + 1 > t->max_line) {
				tr_err(t, "line longer than %zu bytes", t->max_line);
				return MC_ELIMIT;
			}
			t->rpos += len + 1;
			if (len && start[len - 1] == '\r')
				len--;
			*line = (const char *)start;
			*n = len;
			return MC_OK;
		}
		scanned = avail;
		if (avail >= t->max_line) {
			tr_err(t, "line longer than %zu bytes", t->max_line);
			return MC_ELIMIT;
		}
		if (t->rpos) {
			memmove(t->rbuf, start, avail);
			t->rpos = 0;
			t->rlen = avail;
		}
		mc_status s = io_fill(t);

		if (s)
			return s;
	}
}
