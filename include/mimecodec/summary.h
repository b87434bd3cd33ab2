/* mimecodec/summary.h: what a mail client shows of a parsed message.
 * RFC 5322 (From, Subject, Date, Message-ID), RFC 2047 (encoded words),
 * RFC 2231 (file names), RFC 2045/2046 (bodies, multipart/alternative).
 *
 * mc_summary_build reads a parsed message (mime.h) and copies out, all as
 * NUL-terminated valid UTF-8 (bytes invalid in their charset become
 * U+FFFD): the sender, the subject, the date, the message-id, the first
 * text body (decoded: transfer encoding, then charset) and the list of
 * attachments with their decoded sizes.
 *
 * Which part is the text: the first leaf text/plain in document order that
 * is not an attachment (Content-Disposition: attachment or a file name) and
 * not inside an attached message (message/rfc822); when there is none, the
 * first such text/html (kept as HTML). Its line breaks become LF.
 *
 * Which parts are attachments: every other leaf that has a file name, or
 * Content-Disposition: attachment, or a type other than text/ *; and every
 * encapsulated message (message/rfc822 ...) as one attachment whose size is
 * its body's (the parts inside it are not listed). Inline text parts without
 * a name (the HTML alternative of a text/plain body, a footer) are not.
 *
 * Memory: the summary owns copies (malloc); release with mc_summary_free.
 * The message and its buffer may be released after mc_summary_build.
 * Thread safety: none needed; distinct summaries on distinct threads. */
#ifndef MIMECODEC_SUMMARY_H
#define MIMECODEC_SUMMARY_H

#include <stddef.h>
#include <stdint.h>
#include "export.h"
#include "mime.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct mc_summary_attachment {
	char *filename;     /* decoded (RFC 2231, RFC 2047); NULL when unnamed */
	char *content_type; /* lower case "type/subtype" */
	uint64_t size;      /* bytes after transfer decoding */
	uint32_t part;      /* index into msg->parts */
};

/* Every string is NULL when the message has no such field (an empty field
 * gives ""). */
struct mc_summary {
	char *from_addr;    /* the first mailbox's addr-spec, as written */
	char *from_name;    /* its display name, decoded; NULL when none */
	char *subject;      /* decoded, unfolded, trimmed */
	char *date;         /* the Date field unfolded and trimmed, as written */
	int has_date_utc;   /* 1 when Date parsed (mc_mime_date) */
	int64_t date_utc;   /* seconds since the epoch */
	int date_zone;      /* minutes east of UTC */
	char *message_id;   /* without angle brackets */
	char *text;         /* the text body (see above), NULL when none */
	size_t text_len;    /* bytes in text, NUL excluded */
	int text_truncated; /* 1 when the body was longer than the cap */
	int text_is_html;   /* 1 when it came from text/html */
	uint32_t text_part; /* index into msg->parts; UINT32_MAX when none */
	struct mc_summary_attachment *attachments;
	size_t nattachments;
};

/* Builds *out from msg. text_cap caps text_len (bytes; a character is never
 * cut: the text ends before a character that would not fit, and
 * text_truncated is set); with 0 the text is "" (truncated when the body is
 * not empty).
 * Returns MC_OK, MC_EINVAL (NULL arguments) or MC_ENOMEM (*out is then
 * empty). A charset iconv does not know is not an error: the bytes are
 * taken as UTF-8 with invalid ones replaced. */
MC_API MC_MUST_CHECK mc_status mc_summary_build(const struct mc_mime_message *msg, size_t text_cap,
                                                struct mc_summary *out);

/* Frees everything the summary owns and zeroes it. NULL is accepted. */
MC_API void mc_summary_free(struct mc_summary *s);

#ifdef __cplusplus
}
#endif
#endif
