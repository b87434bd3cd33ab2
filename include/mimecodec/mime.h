/* mimecodec/mime.h: zero-copy MIME parser.
 * RFC 5322 (message format), RFC 2045-2049 (MIME), RFC 2183 (Content-
 * Disposition), RFC 2231 (parameter continuations), RFC 6532 (raw UTF-8
 * headers), RFC 4155 (mbox).
 *
 * mc_mime_parse indexes a message held in a caller-owned buffer: every
 * entity (the message itself, each body part, each encapsulated message)
 * with its header fields and body, as spans (pointer, length) into that
 * buffer. Nothing is copied or decoded until asked.
 *
 * Lifetime: the index (struct mc_mime_message and everything reached through
 * it) lives in one arena that mc_mime_free releases; every span points into
 * the caller's buffer, which must outlive the message and not change.
 *
 * Malformed mail is not an error: the parser recovers as GMime and Python's
 * email package do and records each recovery as a warning with the byte
 * offset where it happened. Limits (nesting, parts, headers, line length)
 * have safe defaults; reaching one is a warning too. Parsing is linear in
 * the input and iterative (no recursion), so no input can exhaust the stack.
 *
 * Thread safety: distinct messages may be used from distinct threads; one
 * message is read-only after parsing and may be shared. */
#ifndef MIMECODEC_MIME_H
#define MIMECODEC_MIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "export.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A slice of the caller's buffer (never NUL-terminated). p is NULL only
 * when n is 0 and the item is absent. */
struct mc_span {
	const char *p;
	size_t n;
};

/* ---- allocation and limits ------------------------------------------------- */

/* Optional allocator for the arena. alloc may return NULL (the parse then
 * fails with MC_ENOMEM and frees what it took). */
struct mc_mime_allocator {
	void *(*alloc)(void *ctx, size_t n);
	void (*free)(void *ctx, void *p);
	void *ctx;
};

/* Zero in any field means "the default". Reaching a limit is a warning. */
struct mc_mime_limits {
	unsigned max_depth;      /* nesting of multiparts and messages (64); deeper
	                            containers are kept as leaves */
	size_t max_parts;        /* entities per message (10,000); further parts
	                            are skipped */
	size_t max_headers;      /* header fields indexed per message (20,000) */
	size_t max_header_bytes; /* bytes of one entity's header block that are
	                            indexed (1 MiB); the block is still skipped */
	size_t max_line;         /* longest line without a warning (998, RFC 5322
	                            section 2.1.1); only ever a warning */
	size_t max_warnings;     /* warnings kept (1,000); the rest are counted */
};

/* Fills in the defaults. */
MC_API void mc_mime_limits_default(struct mc_mime_limits *lim);

/* ---- the index --------------------------------------------------------------- */

enum mc_mime_kind {
	MC_MIME_LEAF = 0,      /* a body that is not parsed further */
	MC_MIME_MULTIPART = 1, /* multipart/ *: children are its body parts */
	MC_MIME_MESSAGE = 2,   /* message/rfc822, message/global: one child, the
	                          encapsulated message */
};

/* Content-Transfer-Encoding, RFC 2045 section 6. */
enum mc_mime_encoding {
	MC_MIME_ENC_7BIT = 0, /* also when the field is absent */
	MC_MIME_ENC_8BIT = 1,
	MC_MIME_ENC_BINARY = 2,
	MC_MIME_ENC_BASE64 = 3,
	MC_MIME_ENC_QP = 4,
	MC_MIME_ENC_UUENCODE = 5, /* x-uuencode, uuencode, x-uue, uue */
	MC_MIME_ENC_UNKNOWN = 6,  /* any other token: bodies pass through as binary */
};

struct mc_mime_header {
	struct mc_span name;  /* as written, without white space before the colon */
	struct mc_span value; /* raw: after the colon and leading white space, up
	                         to (not including) the final line break; folding
	                         line breaks are kept (see mc_mime_unfold) */
	size_t offset;        /* of the field's first byte in the buffer */
};

struct mc_mime_part {
	uint32_t parent;       /* index of the parent, UINT32_MAX for the root */
	uint32_t nchildren;    /* children follow in pre-order */
	uint32_t next;         /* index after this entity's subtree */
	uint32_t depth;        /* 0 for the root */
	uint32_t ordinal;      /* 1-based position among its parent's children */
	uint32_t first_header; /* into mc_mime_message.headers */
	uint32_t nheaders;
	unsigned char kind;      /* enum mc_mime_kind */
	unsigned char encoding;  /* enum mc_mime_encoding */
	unsigned char ctype_set; /* 1 if a valid Content-Type field gave the type */
	unsigned char is_inner;  /* 1 for the message inside a message/ * part */
	struct mc_span type;     /* e.g. "text" (as written; compare ignoring case);
	                            "text"/"plain" or "message"/"rfc822" by default */
	struct mc_span subtype;
	struct mc_span params;   /* the parameter list of Content-Type (after the
	                            first ';'), for mc_mime_param_get */
	struct mc_span boundary; /* multipart: the boundary without quotes; points
	                            into the arena when it had to be unescaped or
	                            came from RFC 2231 parameters */
	size_t offset;           /* first byte of the header block */
	size_t body_offset;      /* first byte of the body */
	size_t body_length;      /* the body, without the line break that belongs to
	                            the next boundary (RFC 2046 section 5.1.1) */
	struct mc_span preamble; /* multipart only */
	struct mc_span epilogue;
};

enum mc_mime_warning_code {
	MC_MIME_W_LEADING_JUNK = 1,       /* blank/white-space lines or a BOM before the headers */
	MC_MIME_W_NO_COLON,               /* a line in the header block that is not a field:
	                                   the body starts there */
	MC_MIME_W_EMPTY_NAME,             /* ":value": field ignored */
	MC_MIME_W_ORPHAN_CONTINUATION,    /* folded line with no field before it: ignored */
	MC_MIME_W_MISPLACED_FROM,         /* "From " inside a header block: ignored */
	MC_MIME_W_NO_BOUNDARY_PARAM,      /* multipart without a boundary: kept as a leaf */
	MC_MIME_W_NO_START_BOUNDARY,      /* no delimiter found: kept as a leaf */
	MC_MIME_W_NO_CLOSE_BOUNDARY,      /* a multipart ended without its close delimiter */
	MC_MIME_W_UNKNOWN_ENCODING,       /* Content-Transfer-Encoding not understood */
	MC_MIME_W_BAD_CONTENT_TYPE,       /* unparsable Content-Type: text/plain assumed */
	MC_MIME_W_ENCODED_CONTAINER,      /* multipart or message with base64/QP encoding */
	MC_MIME_W_NUL,                    /* NUL byte in a header block */
	MC_MIME_W_LONG_LINE,              /* a line longer than max_line */
	MC_MIME_W_DEPTH_LIMIT,            /* container kept as a leaf: too deep */
	MC_MIME_W_PART_LIMIT,             /* part skipped: too many parts */
	MC_MIME_W_HEADER_LIMIT,           /* header field not indexed: too many or too large */
	MC_MIME_W_TRUNCATED,              /* input ended inside a header block */
	MC_MIME_W_DUPLICATE_CONTENT_TYPE, /* several Content-Type fields: the first wins */
	MC_MIME_W_COUNT_
};

struct mc_mime_warning {
	int code;      /* enum mc_mime_warning_code */
	uint32_t part; /* index of the entity it concerns */
	size_t offset; /* byte offset in the buffer */
};

/* Short stable name ("no-close-boundary") and a sentence for a warning code;
 * "unknown" for others. */
MC_API const char *mc_mime_warning_name(int code);
MC_API const char *mc_mime_warning_text(int code);

struct mc_mime_message {
	const char *buf; /* the caller's buffer */
	size_t len;
	struct mc_mime_part *parts; /* pre-order; parts[0] is the root */
	size_t nparts;
	struct mc_mime_header *headers; /* grouped by entity, in input order */
	size_t nheaders;
	struct mc_mime_warning *warnings; /* in input order */
	size_t nwarnings;
	size_t warnings_dropped; /* beyond max_warnings */
	struct mc_mime_limits limits;
	void *arena_; /* private */
};

/* Parses buf[0..len) (CRLF, bare LF or mixed line ends; any bytes, NULs
 * included). lim and alloc may be NULL for the defaults and malloc.
 * On MC_OK, *out is the message; release it with mc_mime_free. Fails only
 * with MC_EINVAL (NULL arguments) or MC_ENOMEM. */
MC_API MC_MUST_CHECK mc_status mc_mime_parse(const void *buf, size_t len,
                                             const struct mc_mime_limits *lim,
                                             const struct mc_mime_allocator *alloc,
                                             struct mc_mime_message **out);

/* Releases the index (not the buffer). NULL is accepted. */
MC_API void mc_mime_free(struct mc_mime_message *msg);

/* IMAP-style path of parts[i] into buf (NUL-terminated): "" for the root,
 * "1", "1.2", ...; the message inside a message/ * part at "P" is "P" when
 * it is multipart (its parts are "P.1", ...) and "P.1" when it is not (RFC
 * 3501 section 6.4.5). Returns the length, or MC_ENOSPC (cap too small; 12
 * bytes per level always suffice). */
MC_API int mc_mime_part_path(const struct mc_mime_message *msg, size_t i, char *buf, size_t cap);

/* The first header field of parts[i] named name (ASCII case-insensitive),
 * starting at the field after *from (pass from = NULL to start; pass the
 * previous result to find duplicates in order). NULL when there is none. */
MC_API const struct mc_mime_header *mc_mime_header_find(const struct mc_mime_message *msg, size_t i,
                                                        const char *name,
                                                        const struct mc_mime_header *from);

/* ---- header values ------------------------------------------------------------- */

/* Unfolds a raw field value (RFC 5322 section 2.2.3: every CRLF or LF that
 * folds the field is removed; a lone CR is kept) into dst, which needs
 * v.n bytes at most. Returns the length written. */
MC_API size_t mc_mime_unfold(struct mc_span v, char *dst);

/* ASCII case-insensitive comparison of a span with a C string. */
MC_API int mc_mime_span_eq(struct mc_span s, const char *z);

/* Content-Type (RFC 2045 section 5.1): "type/subtype *(; param)". Comments
 * and white space (folding included) are skipped. On failure (no '/', empty
 * token) returns MC_EINVAL and sets text/plain. params covers the rest of
 * the field after the first ';' (empty if none). */
MC_API MC_MUST_CHECK mc_status mc_mime_content_type(struct mc_span v, struct mc_span *type,
                                                    struct mc_span *subtype,
                                                    struct mc_span *params);

/* Content-Disposition (RFC 2183): the disposition token and the parameter
 * list. MC_EINVAL if there is no token. */
MC_API MC_MUST_CHECK mc_status mc_mime_disposition(struct mc_span v, struct mc_span *token,
                                                   struct mc_span *params);

/* One parameter of a list. value is raw: a quoted string keeps its quotes
 * and backslashes (quoted = 1); use mc_mime_unquote. */
struct mc_mime_param {
	struct mc_span name;
	struct mc_span value;
	int quoted;
};

/* Iterates a parameter list: *pos starts at 0; returns 1 and fills *p, or 0
 * at the end. Malformed pieces are skipped up to the next ';'. */
MC_API int mc_mime_param_next(struct mc_span params, size_t *pos, struct mc_mime_param *p);

/* The first parameter named name (case-insensitive, exact: no RFC 2231
 * processing). Returns 1 if found. */
MC_API int mc_mime_param_get(struct mc_span params, const char *name, struct mc_mime_param *p);

/* Copies a parameter value without its quotes and quoted-pair backslashes
 * into dst (needs value.n bytes at most). Returns the length. */
MC_API size_t mc_mime_unquote(const struct mc_mime_param *p, char *dst);

/* The file name of parts[i] as UTF-8 into dst (cap bytes; 3 times the
 * header length always suffices): the Content-Disposition filename
 * parameter, else the Content-Type name parameter; RFC 2231 forms
 * (filename*=charset'lang'..., continuations) win over plain ones; plain
 * values have their RFC 2047 encoded words decoded (a common violation).
 * *written gets the length. Returns MC_OK, MC_EINVAL when there is no name,
 * MC_ENOSPC (a prefix was written). */
MC_API MC_MUST_CHECK mc_status mc_mime_filename(const struct mc_mime_message *msg, size_t i,
                                                char *dst, size_t cap, size_t *written);

/* Content-ID, Message-ID (RFC 5322 section 3.6.4): the first "<...>" msg-id,
 * without the angle brackets, comments skipped. Accepts a bare id without
 * brackets (common in the wild). MC_EINVAL if none. */
MC_API MC_MUST_CHECK mc_status mc_mime_msgid(struct mc_span v, struct mc_span *id);

/* Date (RFC 5322 section 3.3, with the obsolete forms of section 4.3:
 * two-digit years, alphabetic zones, missing seconds, missing day name,
 * comments). *t is seconds since the epoch (UTC), *zone_minutes the zone
 * offset east of UTC ("-0500" is -300). MC_EINVAL if not a date. */
MC_API MC_MUST_CHECK mc_status mc_mime_date(struct mc_span v, int64_t *t, int *zone_minutes);

/* ---- addresses (RFC 5322 section 3.4) --------------------------------------- */

enum mc_mime_addr_flags {
	MC_ADDR_GROUP_START = 1u << 0,  /* "name:" of a group; name is the display name */
	MC_ADDR_GROUP_END = 1u << 1,    /* the ';' that closes a group */
	MC_ADDR_QUOTED_LOCAL = 1u << 2, /* local part is a quoted string */
};

struct mc_mime_addr {
	unsigned flags;
	struct mc_span name;   /* display name, raw (quotes, encoded words kept;
	                           comments removed only at the ends); empty if none
	                           (a trailing "(comment)" is used when there is no
	                           phrase, as in "a@b (Name)") */
	struct mc_span local;  /* raw local part (quoted strings keep quotes) */
	struct mc_span domain; /* raw domain, empty for a bare local part */
	struct mc_span addr;   /* the whole addr-spec "local@domain" as written */
};

/* Iterates an address list (From, To, Cc, Reply-To, ...): *pos starts at
 * 0; returns 1 and fills *a for each mailbox, group start and group end,
 * 0 at the end. Garbage between commas is skipped; linear time. */
MC_API int mc_mime_addr_next(struct mc_span v, size_t *pos, struct mc_mime_addr *a);

/* Copies a display name (or any phrase) into dst without the quotes and
 * quoted-pair backslashes of its quoted strings and with comments and
 * folding removed; runs of white space become one space. dst needs s.n
 * bytes at most. Returns the length. (Encoded words are left as they are.) */
MC_API size_t mc_mime_phrase(struct mc_span s, char *dst);

/* ---- bodies ----------------------------------------------------------------- */

/* Receives decoded output; return 0 to continue, non-zero to stop (the
 * decode then returns MC_EIO). */
typedef int (*mc_mime_sink)(void *ctx, const void *p, size_t n);

enum mc_mime_decode_flags {
	MC_MIME_DECODE_UTF8 = 1u << 0,     /* text parts: convert from the charset
	                                  parameter to UTF-8 (iconv; bytes that
	                                  do not convert become U+FFFD) */
	MC_MIME_DECODE_UUENCODE = 1u << 1, /* text parts: decode the first
	                                      "begin NNN name" ... "end" block
	                                      instead of the body */
	MC_MIME_DECODE_MBOXRD = 1u << 2,   /* the message came from an mboxrd file:
	                                    ">From ", ">>From ", ... at a line
	                                    start lose one '>' (RFC 4155) */
};

/* Decodes the body of parts[i] by its Content-Transfer-Encoding (base64
 * forgiving, quoted-printable lenient, uuencode, 7bit/8bit/binary/unknown as
 * they are) and streams it to sink in pieces. Returns MC_OK, MC_EIO (the
 * sink stopped), MC_EUNSUPPORTED (charset iconv does not know), MC_ENOMEM. */
MC_API MC_MUST_CHECK mc_status mc_mime_decode(const struct mc_mime_message *msg, size_t i,
                                              unsigned flags, mc_mime_sink sink, void *ctx);

/* As mc_mime_decode into dst[0..cap): *written is the decoded length; on
 * MC_ENOSPC it is the length needed and dst holds a prefix. */
MC_API MC_MUST_CHECK mc_status mc_mime_decode_to(const struct mc_mime_message *msg, size_t i,
                                                 unsigned flags, void *dst, size_t cap,
                                                 size_t *written);

/* ---- mbox (RFC 4155) ------------------------------------------------------------ */

/* Iterates the messages of an mbox: *pos starts at 0. Each message begins
 * with a "From " line at the start of the buffer or after a line break; the
 * span returned excludes that line (given in *from_line, if not NULL) and
 * the line break before the next one. Returns 1 per message, 0 at the end.
 * Text before the first "From " line is returned as a message too. */
MC_API int mc_mime_mbox_next(const void *buf, size_t len, size_t *pos, struct mc_span *msg,
                             struct mc_span *from_line);

#ifdef __cplusplus
}
#endif
#endif
