/* script_server.h: the scripted protocol server of the SMTP and POP3 tests.
 * A forked child on a loopback port plays one script per connection: after
 * each exact run of client bytes it sends a canned reply (optionally one
 * byte per write, then closing, or switching to TLS with a throwaway
 * self-signed certificate before or after the reply), records everything the
 * client sent, and hands the transcript back through a pipe. Include it
 * once, after the system headers it needs (sockets, poll, wait, OpenSSL). */
#ifndef MC_SCRIPT_SERVER_H
#define MC_SCRIPT_SERVER_H

#define TLS_AFTER  1  /* flag: start TLS (server side) after sending the reply */
#define CLOSE_NOW  2  /* flag: close the connection instead of replying */
#define TLS_BEFORE 4  /* flag: start TLS (server side) before sending the reply */
#define BYTEWISE   8  /* flag: send the reply one byte per write */
#define CLOSE_MID  16 /* flag: send the reply, then close at once */

struct step {
	const char *expect; /* exact client bytes before the reply */
	const char *reply;  /* server bytes (may hold several lines or junk) */
	int flags;
};

static SSL_CTX *server_ctx(void)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *nm;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pk);
	nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"test", -1, -1,
	                           0);
	X509_set_issuer_name(x, nm);
	X509_sign(x, pk, EVP_sha256());
	SSL_CTX_use_certificate(ctx, x);
	SSL_CTX_use_PrivateKey(ctx, pk);
	X509_free(x);
	EVP_PKEY_free(pk);
	return ctx;
}

struct conn {
	int fd;
	SSL *ssl;
};

static long conn_read(struct conn *c, char *p, size_t n)
{
	struct pollfd pf = {.fd = c->fd, .events = POLLIN};

	if (c->ssl) {
		if (SSL_pending(c->ssl) == 0 && poll(&pf, 1, 5000) <= 0)
			return -1;
		return SSL_read(c->ssl, p, (int)n);
	}
	if (poll(&pf, 1, 5000) <= 0)
		return -1;
	return read(c->fd, p, n);
}

static void conn_write(struct conn *c, const char *p, size_t n)
{
	if (c->ssl)
		SSL_write(c->ssl, p, (int)n);
	else if (write(c->fd, p, n) < 0)
		perror("write");
}

/* Child: serves one connection per script in scripts[] (NULL-terminated
 * list of step lists), writes everything each connection received to out_fd
 * as "<len>\n<bytes>", and exits. */
static void serve(int lfd, const struct step *const *scripts, int out_fd)
{
	SSL_CTX *ctx = server_ctx();

	for (; *scripts; scripts++) {
		const struct step *st = *scripts;
		struct conn c = {accept(lfd, NULL, NULL), NULL};
		char *got = malloc(1 << 20);
		size_t ng = 0;
		char hdr[32];
		int k;

		if (c.fd < 0)
			_exit(3);
		for (; st->expect || st->reply; st++) {
			size_t want = ng + (st->expect ? strlen(st->expect) : 0);

			while (ng < want) {
				long r = conn_read(&c, got + ng, want - ng);

				if (r <= 0)
					goto done;
				ng += (size_t)r;
			}
			if (st->flags & CLOSE_NOW)
				goto done;
			if (st->flags & TLS_BEFORE) {
				c.ssl = SSL_new(ctx);
				SSL_set_fd(c.ssl, c.fd);
				if (SSL_accept(c.ssl) != 1)
					goto done;
			}
			if (st->reply && (st->flags & BYTEWISE)) {
				for (const char *q = st->reply; *q; q++) {
					struct timespec ts = {0, 200000};

					conn_write(&c, q, 1);
					nanosleep(&ts, NULL);
				}
			} else if (st->reply) {
				conn_write(&c, st->reply, strlen(st->reply));
			}
			if (st->flags & CLOSE_MID)
				goto done;
			if (st->flags & TLS_AFTER) {
				c.ssl = SSL_new(ctx);
				SSL_set_fd(c.ssl, c.fd);
				if (SSL_accept(c.ssl) != 1)
					goto done;
			}
		}
		/* the rest, until the client closes */
		for (;;) {
			long r = conn_read(&c, got + ng, (1 << 20) - ng);

			if (r <= 0)
				break;
			ng += (size_t)r;
		}
	done:
		if (c.ssl) {
			SSL_shutdown(c.ssl);
			SSL_free(c.ssl);
		}
		close(c.fd);
		k = snprintf(hdr, sizeof hdr, "%zu\n", ng);
		if (write(out_fd, hdr, (size_t)k) < 0 || write(out_fd, got, ng) < 0)
			_exit(4);
		free(got);
	}
	SSL_CTX_free(ctx);
	_exit(0);
}

struct server {
	pid_t pid;
	int out;
	char port[8];
};

static void server_start(struct server *sv, const struct step *const *scripts)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof a;
	int lfd = socket(AF_INET, SOCK_STREAM, 0), p[2];

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 4) ||
	    getsockname(lfd, (struct sockaddr *)&a, &len) || pipe(p)) {
		perror("server");
		exit(2);
	}
	snprintf(sv->port, sizeof sv->port, "%u", ntohs(a.sin_port));
	fflush(NULL);
	sv->pid = fork();
	if (sv->pid == 0) {
		close(p[0]);
		serve(lfd, scripts, p[1]);
	}
	close(p[1]);
	close(lfd);
	sv->out = p[0];
}

/* Reads connection k's transcript (in order) into a malloc'ed string. */
static char *server_transcript(struct server *sv)
{
	char hdr[32];
	size_t i = 0, n;
	char *buf;

	while (i < sizeof hdr - 1 && read(sv->out, hdr + i, 1) == 1 && hdr[i] != '\n')
		i++;
	hdr[i] = '\0';
	n = strtoul(hdr, NULL, 10);
	buf = malloc(n + 1);
	for (i = 0; i < n;) {
		ssize_t r = read(sv->out, buf + i, n - i);

		if (r <= 0)
			break;
		i += (size_t)r;
	}
	buf[i] = '\0';
	return buf;
}

static void server_end(struct server *sv)
{
	int status;

	close(sv->out);
	waitpid(sv->pid, &status, 0);
}

#endif
