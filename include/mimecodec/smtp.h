/* mimecodec/smtp.h: SMTP submission client.
 * RFC 5321 (SMTP), 3207 (STARTTLS), 4954 (AUTH; PLAIN is RFC 4616, LOGIN is
 * draft-murchison-sasl-login, XOAUTH2 is Google's/Microsoft's bearer form),
 * 1870 (SIZE), 2920 (PIPELINING), 3030 (CHUNKING/BDAT), 6152 (8BITMIME),
 * 6531 (SMTPUTF8), 2034/3463 (enhanced status codes), 8314 (implicit TLS).
 *
 * Security: credentials are never sent without TLS (a server that does not
 * offer STARTTLS gets MC_ENOTLS and sees no AUTH); certificates are verified
 * unless MC_SMTP_INSECURE is set; envelope addresses with CR, LF, other
 * controls or angle brackets are refused (no command injection); the body is
 * sent with bare CR and bare LF turned into CRLF and leading dots doubled
 * (no SMTP smuggling); traces never show AUTH payloads.
 *
 * Memory: a session allocates once (about 1 MiB of buffers, 256 KiB more
 * with TLS) whatever the message size; the body is pulled from the caller in
 * chunks. */
#ifndef MIMECODEC_SMTP_H
#define MIMECODEC_SMTP_H

#include <stddef.h>
#include <stdint.h>
#include "export.h"
#include "status.h"
#include "transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- replies --------------------------------------------------------------- */

#define MC_SMTP_TEXT_MAX        512   /* reply text kept, NUL included; the rest is cut */
#define MC_SMTP_REPLY_MAX_LINES 256   /* longer multi-line replies are MC_ELIMIT */
#define MC_SMTP_LINE_MAX        2048u /* default reply line cap, CRLF included */

/* One server reply. */
struct mc_smtp_reply {
	int code;                    /* 200..599; 0 when there is none (yet) */
	char enhanced[16];           /* RFC 3463 "5.1.1", or "" when the server gave none */
	char text[MC_SMTP_TEXT_MAX]; /* the lines' text, codes removed, joined by spaces */
	unsigned nlines;             /* lines so far */
	int complete;                /* the last line has been seen */
};

/* Feeds one reply line (without its line end) into r, which must be zeroed
 * before the first line of each reply. Checks the form "DDD", "DDD text" or
 * "DDD-text" with the same code on every line and a first digit of 2 to 5;
 * takes an enhanced status code off the front of each line's text when its
 * class matches the code. Sets r->complete on the last line. Returns MC_OK,
 * MC_EPROTO (malformed; r->complete stays 0) or MC_ELIMIT (more than
 * MC_SMTP_REPLY_MAX_LINES lines). Never reads outside line[0..n). */
MC_API MC_MUST_CHECK mc_status mc_smtp_reply_line(struct mc_smtp_reply *r, const char *line,
                                                  size_t n);

/* ---- capabilities (EHLO keywords) ------------------------------------------- */

enum mc_smtp_cap {
	MC_SMTP_CAP_SIZE = 1u << 0,
	MC_SMTP_CAP_PIPELINING = 1u << 1,
	MC_SMTP_CAP_8BITMIME = 1u << 2,
	MC_SMTP_CAP_SMTPUTF8 = 1u << 3,
	MC_SMTP_CAP_AUTH = 1u << 4,
	MC_SMTP_CAP_STARTTLS = 1u << 5,
	MC_SMTP_CAP_CHUNKING = 1u << 6,
	MC_SMTP_CAP_ENHANCEDSTATUSCODES = 1u << 7,
	MC_SMTP_CAP_DSN = 1u << 8,
};

/* SASL mechanisms; also the bits of mc_smtp_opts.auth_mechs. */
enum mc_smtp_auth {
	MC_SMTP_AUTH_PLAIN = 1u << 0,
	MC_SMTP_AUTH_LOGIN = 1u << 1,
	MC_SMTP_AUTH_XOAUTH2 = 1u << 2,
	MC_SMTP_AUTH_CRAM_MD5 = 1u << 3, /* recognised, never used */
};

struct mc_smtp_caps {
	unsigned flags;    /* enum mc_smtp_cap */
	unsigned auth;     /* enum mc_smtp_auth offered */
	uint64_t size_max; /* SIZE limit, 0 when none was announced */
};

/* Adds what one EHLO reply line's text (the part after "250-" or "250 ")
 * announces to caps. Unknown keywords are ignored; keywords are
 * case-insensitive. Never reads outside text[0..n). */
MC_API void mc_smtp_caps_line(struct mc_smtp_caps *caps, const char *text, size_t n);

/* ---- body transformation (DATA) --------------------------------------------- */

/* Caller-owned state of the streaming DATA encoder: any split of the input
 * gives the same output. */
struct mc_smtp_stuffer {
	unsigned char bol;      /* at the start of a line */
	unsigned char cr;       /* the previous input byte was a CR */
	unsigned char dotstuff; /* double leading dots (DATA; not BDAT) */
};

MC_API void mc_smtp_stuffer_init(struct mc_smtp_stuffer *st, int dotstuff);

/* Upper bound of what update writes for n input bytes: 2n + 1 (a CR that
 * ended the previous chunk gets its LF here). */
#define MC_SMTP_STUFF_BOUND(n) (2 * (n) + 1)

/* Copies src[0..n) to dst turning CRLF, a bare CR and a bare LF each into
 * CRLF and, with dotstuff, doubling a '.' at the start of a line (RFC 5321
 * 4.5.2). dst needs MC_SMTP_STUFF_BOUND(n) bytes. Returns the bytes written. */
MC_API size_t mc_smtp_stuffer_update(struct mc_smtp_stuffer *st, const void *src, size_t n,
                                     void *dst);

/* Ends the body: writes a CRLF when the body did not end with a line break
 * (at most 2 bytes into dst; the DATA terminator ".\r\n" is not included).
 * Returns the bytes written. */
MC_API size_t mc_smtp_stuffer_final(struct mc_smtp_stuffer *st, void *dst);

/* ---- options ------------------------------------------------------------------ */

enum mc_smtp_tls_mode {
	MC_SMTP_STARTTLS = 0,  /* smtp://: upgrade when offered; required with credentials */
	MC_SMTP_IMPLICIT = 1,  /* smtps://: TLS from the first byte */
	MC_SMTP_PLAINTEXT = 2, /* never TLS (tests, local relays); credentials are refused */
};

enum mc_smtp_flags {
	MC_SMTP_REQUIRE_TLS = 1u << 0,   /* STARTTLS mode: fail even without credentials */
	MC_SMTP_NO_PIPELINING = 1u << 1, /* do not pipeline even when offered */
	MC_SMTP_NO_CHUNKING = 1u << 2,   /* use DATA even when CHUNKING is offered */
	MC_SMTP_INSECURE = 1u << 3,      /* no certificate checks: tests only */
	MC_SMTP_TRACE_STATES = 1u << 4,  /* trace state changes as MC_TRACE_INFO */
};

/* The body, pulled in chunks. read() stores up to cap bytes in buf and their
 * number in *got (0 = end of body) and returns MC_OK or an error that aborts
 * the send. rewind() (optional) restarts the body for a retry; without it a
 * body already started is not sent again. size: the bytes read() will give,
 * for SIZE= (0 = unknown). */
struct mc_smtp_body {
	mc_status (*read)(void *ctx, void *buf, size_t cap, size_t *got);
	mc_status (*rewind)(void *ctx);
	void *ctx;
	uint64_t size;
};

/* All strings are borrowed for the life of the session (mc_smtp_send: of the
 * call). Zero the struct, then set what is needed. */
struct mc_smtp_opts {
	const char *host; /* name, IPv4, or IPv6 with or without brackets */
	const char *port; /* NULL: "465" for MC_SMTP_IMPLICIT, else "587" */
	int tls;          /* enum mc_smtp_tls_mode */
	unsigned flags;   /* enum mc_smtp_flags */
	const char *user; /* with password or oauth_token: authenticate */
	const char *password;
	const char *oauth_token; /* XOAUTH2 bearer token (instead of a password) */
	unsigned auth_mechs;     /* mechanisms allowed, enum mc_smtp_auth; 0 = any */
	const char *cafile;      /* NULL: OpenSSL's default trust store */
	int timeout_ms;          /* per connect / read / write; 0 = 30 s */
	const char *helo_name;   /* NULL: the local address as a literal, "[127.0.0.1]" */
	size_t max_line;         /* reply line cap; 0 = MC_SMTP_LINE_MAX */
	mc_trace_fn trace;       /* optional dialogue trace; AUTH payloads are redacted */
	void *trace_ctx;
	/* mc_smtp_send only: attempts after the first for 4xx replies, lost
	 * connections and timeouts (never for 5xx); the wait before retry k
	 * (k = 0, 1, ...) is a random time between half of and the full
	 * min(backoff_ms * 2^k, backoff_max_ms). 0 = 1000 / 30000 ms. */
	unsigned retries;
	unsigned backoff_ms, backoff_max_ms;
};

/* ---- results ------------------------------------------------------------------- */

/* What went wrong: the status, the step ("connect", "TLS", "greeting", "EHLO",
 * "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "QUIT"), the
 * server's reply when the failure is one (code 0 otherwise) and a one-line
 * description that never contains secrets. */
struct mc_smtp_error {
	mc_status status;
	char step[16];
	struct mc_smtp_reply reply;
	char msg[768];
};

/* Per-recipient outcome, in the order of mc_smtp_envelope.to. reply.code
 * 2xx: accepted (and the message delivered to it when the call returned MC_OK
 * or MC_EPARTIAL); 4xx/5xx: refused, with the server's words; 0: not tried. */
struct mc_smtp_rcpt {
	struct mc_smtp_reply reply;
	int delivered; /* the server took responsibility for the message for it */
};

enum mc_smtp_env_flags {
	MC_SMTP_ENV_8BIT = 1u << 0, /* body has 8-bit text: BODY=8BITMIME when offered */
};

struct mc_smtp_envelope {
	const char *from;      /* reverse-path without <>; "" is the null sender */
	const char *const *to; /* forward-paths without <> */
	size_t nto;            /* 1 or more */
	unsigned flags;        /* enum mc_smtp_env_flags */
};

/* Checks one envelope address: at most 254 bytes, no control characters
 * (CR, LF, NUL, ...), no '<' or '>', spaces only inside a quoted local part,
 * and (unless utf8) ASCII only. Returns MC_OK or MC_EINVAL. */
MC_API MC_MUST_CHECK mc_status mc_smtp_check_address(const char *addr, int utf8);

/* ---- sessions -------------------------------------------------------------------- */

struct mc_smtp; /* opaque */

/* Allocates a session (no I/O). Returns NULL when out of memory. */
MC_API struct mc_smtp *mc_smtp_new(const struct mc_smtp_opts *opts);

/* Frees the session, closing its connection without QUIT. NULL is a no-op. */
MC_API void mc_smtp_free(struct mc_smtp *s);

/* Connects, reads the greeting, EHLO (HELO when EHLO is refused), STARTTLS
 * and EHLO again when offered (required when credentials are set or
 * MC_SMTP_REQUIRE_TLS), then AUTH when credentials are set, with the
 * strongest mechanism both sides allow (XOAUTH2 with a token; else PLAIN,
 * then LOGIN). Returns MC_OK or the error (also in mc_smtp_last_error):
 * MC_ENOTLS (credentials not sent), MC_ETLS, MC_EAUTH (reply in the error),
 * MC_ETEMPFAIL / MC_EREJECTED (4xx / 5xx replies), MC_EPROTO, MC_ELIMIT,
 * transport errors. */
MC_API MC_MUST_CHECK mc_status mc_smtp_connect(struct mc_smtp *s);

/* One mail transaction on a connected session: RSET when it is not the
 * first, MAIL FROM (SIZE= when offered and body->size is known), RCPT TO per
 * recipient, then the body with DATA or, when CHUNKING is offered, BDAT;
 * MAIL, RCPT and DATA go in one write when PIPELINING is offered. rcpts
 * (env->nto entries) receives each recipient's reply. Returns MC_OK (every
 * recipient accepted, message accepted), MC_EPARTIAL (message accepted for
 * the recipients marked delivered, others refused), MC_EREJECTED or
 * MC_ETEMPFAIL (message not accepted: see mc_smtp_last_error), MC_EINVAL (bad
 * address; nothing sent), or a transport error (connection unusable). */
MC_API MC_MUST_CHECK mc_status mc_smtp_transaction(struct mc_smtp *s,
                                                   const struct mc_smtp_envelope *env,
                                                   const struct mc_smtp_body *body,
                                                   struct mc_smtp_rcpt *rcpts);

/* Sends QUIT, waits for the reply and closes. Returns MC_OK or an error
 * (the connection is closed either way). */
MC_API mc_status mc_smtp_quit(struct mc_smtp *s);

/* The server's capabilities after the last EHLO. */
MC_API const struct mc_smtp_caps *mc_smtp_get_caps(const struct mc_smtp *s);

/* Nonzero when the connection is up and TLS is on. */
MC_API int mc_smtp_is_tls(const struct mc_smtp *s);

/* The last error of the session. */
MC_API const struct mc_smtp_error *mc_smtp_last_error(const struct mc_smtp *s);

/* ---- one call: send with retries ----------------------------------------------- */

/* Sends one message: connect, transaction, QUIT, with up to opts->retries
 * further attempts (after backoff) for recipients whose outcome was
 * temporary: 4xx replies, lost connections, timeouts. 5xx replies are final.
 * Recipients already delivered are not sent again. rcpts as in
 * mc_smtp_transaction; err (optional) receives the last error; attempts
 * (optional) the number of connections made. Returns MC_OK when every
 * recipient got the message, MC_EPARTIAL when some did, else the error. */
MC_API MC_MUST_CHECK mc_status mc_smtp_send(const struct mc_smtp_opts *opts,
                                            const struct mc_smtp_envelope *env,
                                            const struct mc_smtp_body *body,
                                            struct mc_smtp_rcpt *rcpts, struct mc_smtp_error *err,
                                            unsigned *attempts);

#ifdef __cplusplus
}
#endif
#endif
