/* mimecodec/compose.h: streaming MIME composer.
 * RFC 5322 (message format: sections 2.1.1 line length, 2.2.3 folding, 3.3
 * date, 3.4 addresses, 3.6 fields), RFC 2045 (MIME headers, transfer
 * encodings), RFC 2046 section 5.1 (multipart, boundaries), RFC 2047
 * (encoded words in display names, subjects, old-style name=), RFC 2231
 * (filename*= parameters), RFC 2183 (Content-Disposition), RFC 2387
 * (multipart/related), RFC 2392 (Content-ID).
 *
 * A composition is built from parts (text and HTML bodies, attachments,
 * inline parts, forwarded messages) and header values, then produced in
 * chunks: pulled with mc_compose_read (the shape of an SMTP body callback)
 * or pushed to a sink. Attachments are read from their file or source in
 * chunks while the output is produced, so memory stays constant whatever
 * their size. mc_compose_prepare gives the exact size of the output before
 * a byte of it is produced (for the SMTP SIZE extension).
 *
 * Structure: text alone is text/plain, HTML alone text/html, both a
 * multipart/alternative; inline parts (with a Content-ID) go with the HTML
 * into a multipart/related; attachments and forwarded messages (type
 * message/rfc822) make the whole a multipart/mixed.
 *
 * Output guarantees: CRLF line ends; every line the composer writes is at
 * most 78 characters plus CRLF (headers folded, bodies 7bit only when their
 * lines fit, else quoted-printable or base64 at 76 columns). Two things
 * cannot be folded and are kept whole on a line of their own: an address or
 * a Message-ID longer than a line, and the lines of a forwarded message,
 * which RFC 2046 section 5.2.1 forbids encoding.
 *
 * Security: a CR, LF or NUL in any header value, display name, parameter
 * or address supplied by the caller is refused with MC_EHEADER, so no
 * caller string can add a header field or an SMTP command.
 *
 * Thread safety: a composition is used by one thread at a time; distinct
 * compositions are independent. There is no global mutable state. */
#ifndef MIMECODEC_COMPOSE_H
#define MIMECODEC_COMPOSE_H

#include <stddef.h>
#include <stdint.h>
#include "export.h"
#include "status.h"
#include "mime.h" /* struct mc_mime_allocator */

#ifdef __cplusplus
extern "C" {
#endif

struct mc_compose; /* opaque */

/* ---- sources -------------------------------------------------------------------- */

/* An attachment pulled in chunks. read() stores up to cap bytes in buf and
 * their number in *got (0 = end) and returns MC_OK or an error that aborts
 * the composition. rewind() (optional) restarts from the first byte; the
 * composer needs it to look at the content before choosing a transfer
 * encoding and to produce the message twice (mc_compose_rewind). size: the
 * exact number of bytes read() gives, or MC_COMPOSE_SIZE_UNKNOWN. A source
 * that gives fewer or more bytes than its size, or than it gave while being
 * scanned, fails the composition with MC_EIO. The struct is copied; ctx must
 * live until mc_compose_free. */
struct mc_compose_source {
	mc_status (*read)(void *ctx, void *buf, size_t cap, size_t *got);
	mc_status (*rewind)(void *ctx);
	void *ctx;
	uint64_t size;
};

#define MC_COMPOSE_SIZE_UNKNOWN UINT64_MAX

/* ---- building --------------------------------------------------------------------- */

/* Creates an empty composition. alloc may be NULL (malloc). Every buffer
 * the composition holds is capped: memory does not depend on the size of
 * the bodies. Returns MC_OK, MC_EINVAL or MC_ENOMEM. */
MC_API MC_MUST_CHECK mc_status mc_compose_new(struct mc_compose **out,
                                              const struct mc_mime_allocator *alloc);

/* Releases the composition and closes the files it opened. NULL is fine. */
MC_API void mc_compose_free(struct mc_compose *c);

/* Every setter below copies its strings (except where a body is said to be
 * borrowed), validates them and returns MC_OK or:
 *   MC_EHEADER   a CR, LF or NUL in a value, name, parameter or address;
 *   MC_EBADCHAR  a display name, subject, header value or file name that is
 *                not UTF-8;
 *   MC_EINVAL    anything else malformed (an address without '@', a header
 *                name that is not a field name or is one the composer
 *                writes itself, a bad media type), or the composition was
 *                already prepared;
 *   MC_ELIMIT    too many parts, addresses or header bytes;
 *   MC_ENOMEM.
 * Strings are NUL-terminated UTF-8. */

/* Address fields. name: display name (UTF-8, NULL or "" for none); addr:
 * the addr-spec "local@domain": printable ASCII or UTF-8 (RFC 6531), no
 * white space, no quotes, no '<', '>', '(', ')', ',', ';', one '@' at
 * least, with a non-empty local part and domain. The same check serves
 * SMTP envelopes: see mc_compose_check_addr. set_from replaces, add_* append. */
MC_API MC_MUST_CHECK mc_status mc_compose_set_from(struct mc_compose *c, const char *name,
                                                   const char *addr);
MC_API MC_MUST_CHECK mc_status mc_compose_add_to(struct mc_compose *c, const char *name,
                                                 const char *addr);
MC_API MC_MUST_CHECK mc_status mc_compose_add_cc(struct mc_compose *c, const char *name,
                                                 const char *addr);
MC_API MC_MUST_CHECK mc_status mc_compose_add_reply_to(struct mc_compose *c, const char *name,
                                                       const char *addr);

/* Checks an address as the setters do, for callers that put addresses
 * elsewhere (SMTP MAIL FROM and RCPT TO). Returns MC_OK, MC_EHEADER (CR,
 * LF or NUL) or MC_EINVAL. n bytes at addr (NULs included, so an embedded
 * NUL is seen). */
MC_API MC_MUST_CHECK mc_status mc_compose_check_addr(const char *addr, size_t n);

/* Subject (UTF-8; RFC 2047-encoded where it is not ASCII, folded). */
MC_API MC_MUST_CHECK mc_status mc_compose_set_subject(struct mc_compose *c, const char *subject);

/* Date: seconds since the epoch, written in the local zone (RFC 5322
 * section 3.3, e.g. "Tue, 1 Jul 2003 10:52:37 +0200"). Default: the time of
 * mc_compose_prepare. */
MC_API MC_MUST_CHECK mc_status mc_compose_set_date(struct mc_compose *c, int64_t t);

/* Message-ID without angle brackets ("id@domain": printable ASCII, one '@',
 * no white space, '<' or '>'). Default: 32 random characters, '.', the
 * time, '@' and the domain of the From address. */
MC_API MC_MUST_CHECK mc_status mc_compose_set_message_id(struct mc_compose *c, const char *id);

/* Any other header field, written after the standard ones in the order
 * added. name: a field name (printable ASCII but ':', at most 76 bytes),
 * not one the composer writes (From, To, Cc, Reply-To, Subject, Date,
 * Message-ID, MIME-Version, Content-*) nor Bcc. value: UTF-8, encoded
 * (RFC 2047) where it is not printable ASCII and folded at 78 columns. */
MC_API MC_MUST_CHECK mc_status mc_compose_add_header(struct mc_compose *c, const char *name,
                                                     const char *value);

/* The text/plain and text/html bodies (UTF-8; charset=utf-8 is declared).
 * The n bytes at p are borrowed: they must stay valid and unchanged until
 * mc_compose_free. Line breaks (LF or CRLF) become CRLF, as RFC 2046
 * section 4.1.1 wants for text: the decoded body is the input with every
 * LF not preceded by CR turned into CRLF. A second call replaces. */
MC_API MC_MUST_CHECK mc_status mc_compose_set_text(struct mc_compose *c, const void *p, size_t n);
MC_API MC_MUST_CHECK mc_status mc_compose_set_html(struct mc_compose *c, const void *p, size_t n);

/* Transfer encodings an attachment may ask for. */
enum mc_compose_encoding {
	/* 7bit when the content is 7-bit, without NUL or bare CR or LF, and its
	 * lines fit in 78 columns; else quoted-printable for text/ * content with
	 * only CRLF line ends when that is no larger than base64; else base64. */
	MC_COMPOSE_ENC_AUTO = 0,
	MC_COMPOSE_ENC_BASE64 = 1,
	/* Quoted-printable; content with a bare CR or LF is encoded in binary
	 * mode (CR and LF as =0D, =0A), so every attachment comes back exact. */
	MC_COMPOSE_ENC_QP = 2,
};

/* Describes one attachment, inline part or forwarded message. */
struct mc_compose_attachment {
	/* "type/subtype" (no parameters), or NULL to guess it from the file
	 * name's extension (application/octet-stream when unknown).
	 * "message/rfc822" forwards a message: it is included as it is (line
	 * breaks made CRLF; 7bit, 8bit or binary, never encoded). */
	const char *content_type;
	/* UTF-8 file name for Content-Disposition (filename=, RFC 2231
	 * filename*= when long or not ASCII) and Content-Type (name=, RFC
	 * 2047 encoded words for old clients). NULL: none (mc_compose_attach_file
	 * uses the last component of the path). Spaces and tabs at its ends are
	 * dropped, as readers would drop them. */
	const char *filename;
	/* Content-ID without angle brackets (printable ASCII, no white space,
	 * '<' or '>'). Set: an inline part (Content-Disposition: inline) that
	 * the HTML refers to as "cid:..."; it goes into a multipart/related with
	 * the HTML body. NULL: an attachment (Content-Disposition: attachment). */
	const char *content_id;
	/* For text/ * content: the charset parameter (token), or NULL. */
	const char *charset;
	int encoding; /* enum mc_compose_encoding */
};

/* Adds an attachment whose n bytes at p are borrowed until mc_compose_free. */
MC_API MC_MUST_CHECK mc_status mc_compose_attach_mem(struct mc_compose *c,
                                                     const struct mc_compose_attachment *a,
                                                     const void *p, size_t n);

/* Adds an attachment read from a file, opened now (a regular file: MC_EIO
 * with errno set when it cannot be opened, MC_EINVAL when it is not a
 * regular file) and read in chunks with pread while the message is
 * produced. The file must not change until mc_compose_free. */
MC_API MC_MUST_CHECK mc_status mc_compose_attach_file(struct mc_compose *c,
                                                      const struct mc_compose_attachment *a,
                                                      const char *path);

/* Adds an attachment pulled from a caller source (see above). Without
 * rewind(), MC_COMPOSE_ENC_AUTO means base64 (the content cannot be looked
 * at first) and forwarding a message is refused (MC_EINVAL). */
MC_API MC_MUST_CHECK mc_status mc_compose_attach_source(struct mc_compose *c,
                                                        const struct mc_compose_attachment *a,
                                                        const struct mc_compose_source *src);

/* ---- producing -------------------------------------------------------------------- */

/* What the message needs from the transport. */
enum mc_compose_body_type {
	MC_COMPOSE_BODY_7BIT = 0,
	MC_COMPOSE_BODY_8BITMIME = 1,   /* 8-bit bytes (a forwarded message has them) */
	MC_COMPOSE_BODY_BINARYMIME = 2, /* NUL or lines over 998 bytes in a forwarded message */
};

struct mc_compose_info {
	uint64_t size; /* exact bytes of the output; MC_COMPOSE_SIZE_UNKNOWN only
	                   when a source without rewind did not say its size */
	int body_type; /* enum mc_compose_body_type */
	size_t nparts; /* entities written, containers included */
};

/* Freezes the composition: picks the transfer encodings (reading the
 * content of attachments that may not need base64: binary content is
 * recognised in its first bytes, text is read to the end once), the
 * boundaries (random, and checked against every line the composer does not
 * encode), the Date and the Message-ID, and lays the headers out. Called by
 * the first read or write if not before; calling it again only fills info.
 * A From address and at least one of To and Cc are required (MC_EINVAL).
 * info may be NULL. Returns MC_OK, MC_EINVAL, MC_EIO or a source's error,
 * MC_ENOMEM, MC_ELIMIT. */
MC_API MC_MUST_CHECK mc_status mc_compose_prepare(struct mc_compose *c,
                                                  struct mc_compose_info *info);

/* Produces the next at most cap bytes into buf; *got is their number, 0 at
 * the end. Any sequence of cap values (1 included) gives the same bytes.
 * Returns MC_OK or an error (a source's, or MC_EIO when a source gave a
 * different number of bytes than announced); errors are sticky. */
MC_API MC_MUST_CHECK mc_status mc_compose_read(struct mc_compose *c, void *buf, size_t cap,
                                               size_t *got);

/* Restarts the output from its first byte; the same bytes follow (same
 * boundaries, Date, Message-ID). MC_EUNSUPPORTED when a source without
 * rewind was already read. */
MC_API MC_MUST_CHECK mc_status mc_compose_rewind(struct mc_compose *c);

/* Callback-shaped forms of read and rewind (ctx is the struct mc_compose),
 * to plug a composition into struct mc_smtp_body. */
MC_API mc_status mc_compose_pull(void *ctx, void *buf, size_t cap, size_t *got);
MC_API mc_status mc_compose_pull_rewind(void *ctx);

/* Receives output; return 0 to continue, non-zero to stop (MC_EIO). */
typedef int (*mc_compose_sink)(void *ctx, const void *p, size_t n);

/* Produces the whole (remaining) message into sink, in chunks of at most
 * 256 KiB. Returns as mc_compose_read, or MC_EIO when the sink stopped. */
MC_API MC_MUST_CHECK mc_status mc_compose_write(struct mc_compose *c, mc_compose_sink sink,
                                                void *ctx);

/* As mc_compose_write to a file descriptor (EINTR and short writes
 * handled). MC_EIO with errno set on a write error. */
MC_API MC_MUST_CHECK mc_status mc_compose_write_fd(struct mc_compose *c, int fd);

#ifdef __cplusplus
}
#endif
#endif
