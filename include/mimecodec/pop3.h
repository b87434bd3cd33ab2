/* mimecodec/pop3.h: POP3 client and a lossless fetch into a Maildir.
 * RFC 1939 (POP3), 2449 (CAPA, response codes, PIPELINING), 2595 (STLS),
 * 5034 (SASL AUTH; PLAIN is RFC 4616, XOAUTH2 is Google's/Microsoft's
 * bearer form), 3206 (SYS/AUTH response codes), 8314 (implicit TLS).
 *
 * Security: credentials are never sent without TLS (a server that does not
 * offer STLS gets MC_ENOTLS and sees neither USER, PASS, APOP nor AUTH)
 * unless the caller sets MC_POP3_ALLOW_PLAINTEXT_AUTH; certificates are
 * verified unless MC_POP3_INSECURE; bytes received before the TLS handshake
 * are discarded; traces never show passwords, APOP digests or SASL payloads.
 *
 * Memory: a session allocates its transport (about 80 KiB) and the message
 * list; RETR and TOP stream the message to a sink in pieces, so no message
 * ever has to fit in memory. */
#ifndef MIMECODEC_POP3_H
#define MIMECODEC_POP3_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "export.h"
#include "status.h"
#include "transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- single-line responses ------------------------------------------------- */

#define MC_POP3_TEXT_MAX 512   /* response text kept, NUL included; the rest is cut */
#define MC_POP3_LINE_MAX 4096u /* default response line cap, CRLF included */
#define MC_POP3_UID_MAX  70    /* RFC 1939 7: a unique-id is 1 to 70 octets 0x21..0x7E */

enum mc_pop3_resp_kind {
	MC_POP3_NONE = 0,
	MC_POP3_OK = 1,   /* "+OK" */
	MC_POP3_ERR = 2,  /* "-ERR" */
	MC_POP3_CONT = 3, /* "+ " SASL continuation (RFC 5034 4); text holds the base64 */
};

/* One status line. */
struct mc_pop3_resp {
	int kind;                    /* enum mc_pop3_resp_kind */
	char code[40];               /* RFC 2449 8 response code "SYS/TEMP", "IN-USE", or "" */
	char text[MC_POP3_TEXT_MAX]; /* the rest of the line, controls replaced by '?' */
};

/* Parses one status line (without its line end) into r. "+OK" and "-ERR" are
 * case-insensitive and must be followed by a space or the end; a leading
 * "[CODE]" (RFC 2449 8, up to 39 characters of 0x21..0x7E except ']') is
 * taken into r->code. With allow_cont, "+" alone or "+ text" is a SASL
 * continuation. Returns MC_OK or MC_EPROTO (r->kind MC_POP3_NONE). Never
 * reads outside line[0..n). */
MC_API MC_MUST_CHECK mc_status mc_pop3_resp_line(struct mc_pop3_resp *r, const char *line, size_t n,
                                                 int allow_cont);

/* ---- multi-line responses: dot-unstuffing while streaming -------------------- */

/* Receives message data in order; p[0..n) is valid only during the call.
 * Any error return aborts the transfer (the session is then closed, since
 * the rest of the response cannot be skipped reliably). */
typedef mc_status (*mc_pop3_sink_fn)(void *ctx, const void *p, size_t n);

/* Caller-owned state of the multi-line decoder: any split of the input gives
 * the same output. */
struct mc_pop3_ml {
	unsigned state;     /* private */
	uint64_t in, out;   /* bytes consumed (terminator included) and delivered */
	const char *run;    /* private: the pending slice of the current input */
	size_t runlen;      /* private */
	unsigned char done; /* the terminating "." line has been consumed */
};

MC_API void mc_pop3_ml_init(struct mc_pop3_ml *m);

/* Decodes p[0..n), the bytes after a "+OK" line of a multi-line response:
 * a '.' starting a line is removed (RFC 1939 3), the line "." (CRLF or bare
 * LF after it) ends the response and is not delivered; everything else goes
 * to sink unchanged (CRLF stays CRLF), as slices of p (plus at most one
 * byte "\r" of static storage). *used receives the bytes consumed: n, or
 * fewer when the terminator ends inside p (the rest belongs to the next
 * response). After done, nothing more is consumed. Returns MC_OK or the
 * sink's error. */
MC_API MC_MUST_CHECK mc_status mc_pop3_ml_feed(struct mc_pop3_ml *m, const void *p, size_t n,
                                               size_t *used, mc_pop3_sink_fn sink, void *ctx);

/* ---- listing lines ----------------------------------------------------------- */

/* "NUM SIZE[ anything]" of a LIST response. Returns MC_OK or MC_EPROTO. */
MC_API MC_MUST_CHECK mc_status mc_pop3_list_line(const char *line, size_t n, unsigned *num,
                                                 uint64_t *size);

/* "NUM UID" of a UIDL response; uid receives 1..70 bytes of 0x21..0x7E and a
 * NUL. Returns MC_OK or MC_EPROTO. */
MC_API MC_MUST_CHECK mc_status mc_pop3_uidl_line(const char *line, size_t n, unsigned *num,
                                                 char uid[MC_POP3_UID_MAX + 1]);

/* ---- capabilities (CAPA, RFC 2449) ------------------------------------------- */

enum mc_pop3_cap {
	MC_POP3_CAP_TOP = 1u << 0,
	MC_POP3_CAP_USER = 1u << 1,
	MC_POP3_CAP_SASL = 1u << 2,
	MC_POP3_CAP_UIDL = 1u << 3,
	MC_POP3_CAP_PIPELINING = 1u << 4,
	MC_POP3_CAP_STLS = 1u << 5,
	MC_POP3_CAP_RESP_CODES = 1u << 6,
	MC_POP3_CAP_AUTH_RESP_CODE = 1u << 7,
	MC_POP3_CAP_APOP = 1u << 8, /* the greeting carried an APOP timestamp */
	MC_POP3_CAP_CAPA = 1u << 9, /* CAPA answered +OK */
};

/* Authentication mechanisms; also the bits of mc_pop3_opts.auth_mechs. */
enum mc_pop3_auth {
	MC_POP3_AUTH_USER = 1u << 0,    /* USER / PASS */
	MC_POP3_AUTH_APOP = 1u << 1,    /* APOP (MD5 of timestamp + password) */
	MC_POP3_AUTH_PLAIN = 1u << 2,   /* AUTH PLAIN (SASL) */
	MC_POP3_AUTH_XOAUTH2 = 1u << 3, /* AUTH XOAUTH2 (SASL, bearer token) */
	MC_POP3_AUTH_LOGIN = 1u << 4,   /* recognised in CAPA, never used */
};

struct mc_pop3_caps {
	unsigned flags; /* enum mc_pop3_cap */
	unsigned sasl;  /* enum mc_pop3_auth SASL mechanisms offered */
};

/* Adds what one CAPA line announces. Unknown capabilities are ignored;
 * names are case-insensitive. Never reads outside line[0..n). */
MC_API void mc_pop3_caps_line(struct mc_pop3_caps *caps, const char *line, size_t n);

/* ---- providers --------------------------------------------------------------- */

/* The POP3 server of a well-known mail provider for an address or domain
 * ("someone@gmail.com" or "gmail.com"): pop.gmail.com, outlook.office365.com,
 * pop.mail.yahoo.com, pop.163.com, pop.126.com, pop.qq.com; all implicit TLS
 * on port 995. Returns the host name (static storage) or NULL when unknown.
 * The table (smtp_pop/providers.c, mimecodec/providers.h) is the one place
 * these names live, shared with SMTP. */
MC_API const char *mc_pop3_provider_host(const char *addr_or_domain);

/* ---- options --------------------------------------------------------------------- */

enum mc_pop3_tls_mode {
	MC_POP3_STLS = 0,      /* pop3://: upgrade with STLS; required with credentials */
	MC_POP3_IMPLICIT = 1,  /* pop3s://: TLS from the first byte */
	MC_POP3_PLAINTEXT = 2, /* never TLS (tests); credentials need ALLOW_PLAINTEXT_AUTH */
};

enum mc_pop3_flags {
	MC_POP3_REQUIRE_TLS = 1u << 0,          /* STLS mode: fail even without credentials */
	MC_POP3_NO_PIPELINING = 1u << 1,        /* never pipeline, even when offered */
	MC_POP3_INSECURE = 1u << 2,             /* no certificate checks: tests only */
	MC_POP3_TRACE_STATES = 1u << 3,         /* trace state changes as MC_TRACE_INFO */
	MC_POP3_ALLOW_PLAINTEXT_AUTH = 1u << 4, /* send credentials without TLS (explicit) */
};

/* All strings are borrowed for the life of the session. Zero the struct,
 * then set what is needed. */
struct mc_pop3_opts {
	const char *host; /* name, IPv4, or IPv6 with or without brackets */
	const char *port; /* NULL: "995" for MC_POP3_IMPLICIT, else "110" */
	int tls;          /* enum mc_pop3_tls_mode */
	unsigned flags;   /* enum mc_pop3_flags */
	const char *user; /* with password or oauth_token: authenticate */
	const char *password;
	const char *oauth_token; /* XOAUTH2 bearer token (instead of a password) */
	unsigned auth_mechs;     /* mechanisms allowed, enum mc_pop3_auth; 0 = any */
	const char *cafile;      /* NULL: OpenSSL's default trust store */
	int timeout_ms;          /* per connect / read / write; 0 = 30 s */
	size_t max_line;         /* status/list line cap; 0 = MC_POP3_LINE_MAX */
	mc_trace_fn trace;       /* optional dialogue trace; secrets are redacted */
	void *trace_ctx;
};

/* What went wrong: the status, the step ("connect", "TLS", "greeting",
 * "CAPA", "STLS", "USER", "PASS", "APOP", "AUTH", "STAT", "LIST", "UIDL",
 * "TOP", "RETR", "DELE", "RSET", "NOOP", "QUIT"), the server's response when
 * the failure is one (kind MC_POP3_NONE otherwise) and a one-line
 * description that never contains secrets. */
struct mc_pop3_error {
	mc_status status;
	char step[16];
	struct mc_pop3_resp resp;
	char msg[768];
};

/* One message of the maildrop, from LIST and UIDL. */
struct mc_pop3_msg {
	unsigned num;                  /* message number in this session */
	uint64_t size;                 /* octets as LIST says (CRLF, before stuffing) */
	char uid[MC_POP3_UID_MAX + 1]; /* "" when the server has no UIDL */
	int deleted;                   /* 1: DELE acknowledged; -1: DELE refused */
};

/* ---- sessions --------------------------------------------------------------------- */

struct mc_pop3; /* opaque */

/* Allocates a session (no I/O). Returns NULL when out of memory. */
MC_API struct mc_pop3 *mc_pop3_new(const struct mc_pop3_opts *opts);

/* Frees the session, closing its connection WITHOUT QUIT: nothing marked
 * for deletion is deleted (RFC 1939 6). NULL is a no-op. */
MC_API void mc_pop3_free(struct mc_pop3 *p);

/* Connects, reads the greeting, CAPA, STLS and CAPA again when offered
 * (required when credentials are set or MC_POP3_REQUIRE_TLS), then logs in
 * with the strongest mechanism both sides allow: XOAUTH2 with a token; else
 * SASL PLAIN, APOP, USER/PASS. Returns MC_OK or the error (also in
 * mc_pop3_last_error): MC_ENOTLS (credentials not sent), MC_ETLS, MC_EAUTH,
 * MC_ETEMPFAIL ([IN-USE], [LOGIN-DELAY], [SYS/TEMP]), MC_EREJECTED,
 * MC_EPROTO, MC_ELIMIT, transport errors. */
MC_API MC_MUST_CHECK mc_status mc_pop3_connect(struct mc_pop3 *p);

/* STAT: message count and maildrop size. */
MC_API MC_MUST_CHECK mc_status mc_pop3_stat(struct mc_pop3 *p, unsigned *count, uint64_t *octets);

/* LIST and, when the server has it, UIDL (one write when PIPELINING is
 * offered). *msgs points at an array of *n entries owned by the session,
 * valid until the next mc_pop3_list or mc_pop3_free; uid is "" when UIDL is
 * not supported. Returns MC_OK, MC_EREJECTED (-ERR), MC_EPROTO, MC_ELIMIT
 * (more than 10 million messages) or a transport error. */
MC_API MC_MUST_CHECK mc_status mc_pop3_list(struct mc_pop3 *p, const struct mc_pop3_msg **msgs,
                                            size_t *n);

/* RETR num, or TOP num lines when top_lines >= 0: the message, dot-unstuffed,
 * CRLF line ends as the server sent them, streamed to sink. *octets
 * (optional) receives the bytes delivered. Returns MC_OK, MC_EREJECTED
 * (-ERR: no such message), the sink's error or a transport error (the
 * connection is closed after a sink or transport error). */
MC_API MC_MUST_CHECK mc_status mc_pop3_retr(struct mc_pop3 *p, unsigned num, long top_lines,
                                            mc_pop3_sink_fn sink, void *ctx, uint64_t *octets);

/* DELE num: marks the message for deletion at QUIT. With PIPELINING the
 * command is queued and its response read with the next command (so
 * "DELE n" and "RETR n+1" go out in one write); the outcome is then in the
 * message's `deleted` field after that command or mc_pop3_quit. Returns
 * MC_OK (or queued), MC_EREJECTED (-ERR in lock-step mode) or a transport
 * error. */
MC_API MC_MUST_CHECK mc_status mc_pop3_dele(struct mc_pop3 *p, unsigned num);

/* RSET (unmark every deletion) and NOOP. */
MC_API MC_MUST_CHECK mc_status mc_pop3_rset(struct mc_pop3 *p);
MC_API MC_MUST_CHECK mc_status mc_pop3_noop(struct mc_pop3 *p);

/* QUIT: the server deletes the marked messages (UPDATE state) and says +OK
 * when it did. Returns MC_OK only then; MC_EREJECTED when the server
 * refused (messages may or may not be gone: RFC 1939 6), a transport error
 * (nothing known), or MC_ECLOSED when the connection was already closed
 * (the error that closed it stays in mc_pop3_last_error). The connection
 * is closed either way. */
MC_API mc_status mc_pop3_quit(struct mc_pop3 *p);

MC_API const struct mc_pop3_caps *mc_pop3_get_caps(const struct mc_pop3 *p);

/* Nonzero when the connection is up and TLS is on. */
MC_API int mc_pop3_is_tls(const struct mc_pop3 *p);

/* The last error of the session. */
MC_API const struct mc_pop3_error *mc_pop3_last_error(const struct mc_pop3 *p);

/* ---- fetching into a Maildir without losing or duplicating mail -------------------- */

/* Design note (pop3.c [fetch]): each new message is streamed into the
 * Maildir's tmp/, fsync'ed, its UID appended to the state journal (fsync'ed),
 * renamed into new/ and the directory fsync'ed; only then is DELE sent
 * (unless keep). Deletions take effect at QUIT, so a session cut short
 * deletes nothing; a message whose UID is in the state is never fetched
 * again (it is only deleted, unless keep). The state file is compacted
 * atomically (write, fsync, rename) after a clean QUIT. */

enum mc_pop3_fetch_event {
	MC_POP3_FETCHED = 1, /* a message is now in new/ */
	MC_POP3_SKIPPED = 2, /* already fetched earlier (UID in the state) */
	MC_POP3_DELETED = 3, /* deleted: DELE acknowledged and QUIT committed it */
};

/* Called after each message event; file is the name in new/ (FETCHED), uid
 * may be "". A nonzero return stops the session cleanly (QUIT) after it. */
typedef int (*mc_pop3_fetch_fn)(void *ctx, int event, const struct mc_pop3_msg *m,
                                const char *file);

struct mc_pop3_fetch_opts {
	const char *maildir;    /* created (with tmp/ new/ cur/) if missing */
	const char *state_file; /* NULL: <maildir>/mimecodec-pop3.<user>@<host> */
	int keep;               /* leave messages on the server */
	/* Optional: checked between messages; when it becomes nonzero the
	 * session ends with QUIT after the current message. */
	volatile sig_atomic_t *stop;
	mc_pop3_fetch_fn on_event;
	void *ctx;
};

struct mc_pop3_fetch_result {
	unsigned listed, fetched, skipped, deleted;
	uint64_t bytes;     /* message bytes written into the Maildir */
	int quit_ok;        /* QUIT acknowledged: deletions committed */
	unsigned recovered; /* deliveries a previous crash left in tmp/, completed */
};

/* One session: connect, LIST/UIDL, fetch what is new into the Maildir, DELE
 * (unless keep), QUIT. res (optional) receives counts, err (optional) the
 * error. Returns MC_OK; MC_EUNSUPPORTED when keep is asked of a server
 * without UIDL; MC_EIO for Maildir/state failures (nothing is deleted
 * then); or any session error. */
MC_API MC_MUST_CHECK mc_status mc_pop3_fetch(const struct mc_pop3_opts *opts,
                                             const struct mc_pop3_fetch_opts *fo,
                                             struct mc_pop3_fetch_result *res,
                                             struct mc_pop3_error *err);

#ifdef __cplusplus
}
#endif
#endif
