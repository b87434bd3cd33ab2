/* mimecodec/transport.h: the byte stream under the mail protocols: TCP
 * (IPv4 and IPv6 through getaddrinfo) with connect, read and write timeouts,
 * TLS through OpenSSL (implicit, or a STARTTLS upgrade of the same stream),
 * buffered writes and a buffered line reader with a line length cap.
 * RFC 8314 (implicit TLS), RFC 3207 section 4.2 and RFC 2595 section 4
 * (nothing received before the TLS handshake may be used after it),
 * RFC 6125 (server identity: certificate host name or IP address).
 *
 * Security defaults: the server certificate is verified against the system
 * trust store (or a CA file) and the host name or IP address the caller
 * connected to; TLS 1.2 is the minimum. Turning verification off takes an
 * explicit option meant for tests only.
 *
 * A transport is caller-owned and single-threaded; different transports are
 * independent (no global state). Built only when OpenSSL 3 is available
 * (MC_HAVE_NET). */
#ifndef MIMECODEC_TRANSPORT_H
#define MIMECODEC_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include "export.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- tracing (shared by every protocol client) -------------------------- */

enum mc_trace_kind {
	MC_TRACE_SEND = 0, /* a command line the client sent (secrets replaced) */
	MC_TRACE_RECV = 1, /* a reply line the server sent */
	MC_TRACE_INFO = 2, /* a note: connection, TLS, state changes, retries */
};

/* Receives one line without its line end; text is not NUL-terminated and is
 * valid only during the call. Never receives passwords or tokens. */
typedef void (*mc_trace_fn)(void *ctx, int kind, const char *text, size_t n);

/* ---- options ------------------------------------------------------------- */

#define MC_TRANSPORT_RBUF       16384u /* read buffer: the longest line possible */
#define MC_TRANSPORT_WBUF       65536u /* write buffer: filled before a send/SSL_write */
#define MC_TRANSPORT_TIMEOUT_MS 30000  /* default for connect, each read, each write */
#define MC_TRANSPORT_LINE_MAX   4096u  /* default line cap, CRLF included */

struct mc_transport_opts {
	/* Milliseconds without progress before connect, a read or a write fails
	 * with MC_ETIMEDOUT; 0 means MC_TRANSPORT_TIMEOUT_MS. */
	int timeout_ms;
	/* PEM file of trusted CAs; NULL uses OpenSSL's default store. */
	const char *cafile;
	/* Nonzero: no certificate or host-name verification. For tests only. */
	int insecure;
	/* Longest accepted line, line end included; 0 means
	 * MC_TRANSPORT_LINE_MAX; at most MC_TRANSPORT_RBUF. */
	size_t max_line;
	/* Optional: notes about connection and TLS (MC_TRACE_INFO). */
	mc_trace_fn trace;
	void *trace_ctx;
};

/* ---- the transport --------------------------------------------------------- */

/* Caller-owned; treat the fields as private. About 80 KiB: allocate it on the
 * heap or in a long-lived object. Zero it (or call mc_transport_init) before
 * the first use. With TLS, the first large write also allocates 256 KiB to
 * gather TLS records into large send() calls; mc_transport_close frees it. */
struct mc_transport {
	int fd; /* -1 when closed */
	int timeout_ms;
	int insecure;
	int eof; /* the peer closed its side */
	size_t max_line;
	void *ssl_ctx, *ssl; /* SSL_CTX *, SSL * while TLS is on */
	void *bio_method;    /* BIO_METHOD * of the non-SIGPIPE socket BIO */
	const char *cafile;  /* borrowed from the options */
	char host[256];      /* name or address connected to: checked against the certificate */
	mc_trace_fn trace;
	void *trace_ctx;
	uint64_t discarded;      /* bytes dropped at the last STARTTLS upgrade */
	size_t rpos, rlen, wlen; /* read buffer [rpos, rlen); write buffer [0, wlen) */
	char err[256];           /* last error, human-readable, never holds secrets */
	char local[64];          /* local address as an SMTP address literal */
	unsigned char *tlsout;   /* TLS records gathered for one send() (heap, lazily) */
	size_t tlslen, tlsoff;   /* tlsout[tlsoff, tlslen) not yet sent */
	int coalesce;            /* gathering records: inside a large TLS write */
	unsigned char rbuf[MC_TRANSPORT_RBUF];
	unsigned char wbuf[MC_TRANSPORT_WBUF];
};

/* Prepares t (closed, no error). Cannot fail. */
MC_API void mc_transport_init(struct mc_transport *t);

/* Resolves host (a name, an IPv4 address, or an IPv6 address with or without
 * brackets) and connects by TCP to the first address that answers within the
 * timeout, trying each address getaddrinfo returns. port is a decimal string.
 * opts may be NULL (defaults). host is copied; opts->cafile is borrowed until
 * mc_transport_close. Returns MC_OK, MC_ERESOLVE, MC_ECONNECT, MC_ETIMEDOUT
 * or MC_EINVAL; mc_transport_errmsg says why. */
MC_API MC_MUST_CHECK mc_status mc_transport_connect(struct mc_transport *t, const char *host,
                                                    const char *port,
                                                    const struct mc_transport_opts *opts);

/* Starts TLS on the connected stream: call it right after connect for
 * implicit TLS, or after the server accepted STARTTLS/STLS. Everything still
 * in the read buffer is discarded first (its length is kept in t->discarded)
 * so that plaintext injected before the handshake can never be taken as a
 * reply after it. Verifies the certificate chain and the host name / IP
 * address unless the insecure option was given. Returns MC_OK, MC_ETLS (why
 * in mc_transport_errmsg), MC_ETIMEDOUT, MC_ECLOSED or MC_EINVAL (no
 * connection, or TLS already on). */
MC_API MC_MUST_CHECK mc_status mc_transport_start_tls(struct mc_transport *t);

/* Nonzero once TLS is on. */
MC_API int mc_transport_is_tls(const struct mc_transport *t);

/* Appends n bytes to the write buffer, sending full buffers as they fill.
 * Large writes (MC_TRANSPORT_WBUF bytes or more) go out directly, together
 * with what was buffered before them. Returns MC_OK,
 * MC_ETIMEDOUT, MC_ECLOSED or MC_EIO. */
MC_API MC_MUST_CHECK mc_status mc_transport_write(struct mc_transport *t, const void *p, size_t n);

/* Sends everything buffered. Same returns as mc_transport_write. */
MC_API MC_MUST_CHECK mc_status mc_transport_flush(struct mc_transport *t);

/* Reads one line. On MC_OK, *line points at it inside the transport (valid
 * until the next read or close) and *n is its length without the line end
 * (LF or CRLF). Fails with MC_ELIMIT when no LF comes within the line cap,
 * MC_ECLOSED at end of stream (also after a partial last line),
 * MC_ETIMEDOUT, MC_ETLS or MC_EIO. Buffered writes are flushed first, so a
 * command is never left waiting behind its reply. */
MC_API MC_MUST_CHECK mc_status mc_transport_read_line(struct mc_transport *t, const char **line,
                                                      size_t *n);

/* Bytes received and not yet consumed by mc_transport_read_line. */
MC_API size_t mc_transport_pending(const struct mc_transport *t);

/* The last error's description ("" when none). */
MC_API const char *mc_transport_errmsg(const struct mc_transport *t);

/* Sends a TLS close_notify (best effort, no waiting), closes the socket and
 * frees the TLS state. Safe on a closed or initialised transport. */
MC_API void mc_transport_close(struct mc_transport *t);

#ifdef __cplusplus
}
#endif
#endif
