/* mimecodec/encword.h: header text in other charsets.
 * RFC 2047 encoded words (=?charset?B|Q?text?=) in unstructured header values
 * and phrases, RFC 2231 section 5 language suffixes (=?charset*lang?Q?...?=),
 * RFC 2231 parameter values (name*=utf-8''..., continuations name*0*=...),
 * RFC 6532 raw UTF-8 headers. Everything decodes to UTF-8; everything encodes
 * from UTF-8.
 *
 * Every function here is thread-safe and keeps no global mutable state:
 * iconv(3) descriptors are opened and closed inside each call. Output goes to
 * caller buffers; nothing is NUL-terminated. Each function has a size function
 * giving a worst case for its output, and returns MC_ENOSPC (with the bytes
 * that fitted) when the caller's buffer is smaller than what it needs.
 *
 * Charset policy (decoding):
 * - utf-8 / utf8, us-ascii and its aliases, unknown-8bit, x-unknown and the
 *   empty name: valid UTF-8 is kept, every other byte sequence becomes U+FFFD
 *   (one per maximal invalid subpart, as WHATWG and Python do).
 * - iso-8859-1 and its aliases (latin1, l1, iso8859-1, cp819, ...) decode as
 *   windows-1252, as browsers do: mail labelled latin1 is usually cp1252.
 *   The five bytes cp1252 leaves undefined map to the C1 controls.
 * - gb2312/gbk decode as GB18030, euc-kr/ks_c_5601-1987 as CP949 and
 *   shift_jis/sjis as CP932 (the supersets mailers actually produce).
 * - Any other name goes to iconv_open(3): every charset glibc knows works.
 * - A name iconv does not know sets MC_EW_W_CHARSET and the bytes get the
 *   UTF-8 policy above (kept if valid UTF-8, else U+FFFD): never dropped.
 * - Bytes invalid in their charset become U+FFFD and set MC_EW_W_INVALID.
 * The output is always valid UTF-8. */
#ifndef MIMECODEC_ENCWORD_H
#define MIMECODEC_ENCWORD_H

#include <stddef.h>
#include "export.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flags of mc_ew_decode and mc_ew_encode. */
enum mc_ew_flags {
	/* The input is (decode) / the output must be (encode) an RFC 5322 phrase,
	 * e.g. a display name. Decode: quoted strings lose their quotes and
	 * quoted-pairs their backslash, encoded words inside quoted strings are
	 * decoded anyway (a common violation), runs of whitespace outside quotes
	 * become one space. Encode: words that are not atoms are encoded too. */
	MC_EW_PHRASE = 1u << 0,
	/* encode: fold with LF instead of CRLF */
	MC_EW_LF = 1u << 1,
};

/* Warnings: decoding never fails on bad input, it repairs and reports. */
enum mc_ew_warning {
	MC_EW_W_CHARSET = 1u << 0,   /* a charset iconv does not know (bytes kept, see above) */
	MC_EW_W_INVALID = 1u << 1,   /* bytes invalid in their charset became U+FFFD */
	MC_EW_W_ENCODING = 1u << 2,  /* bad B or Q text (bad bytes skipped or kept) */
	MC_EW_W_SYNTAX = 1u << 3,    /* tolerated: no whitespace around an encoded word, a
				      * word in a quoted string, a line break inside a word */
	MC_EW_W_LONG = 1u << 4,      /* an encoded word longer than 75 characters */
	MC_EW_W_TRUNCATED = 1u << 5, /* a charset produced over 3 output bytes per input
				      * byte; the excess was dropped to keep the bound */
	MC_EW_W_PARAM = 1u << 6,     /* RFC 2231: missing or duplicate sections, bad
				      * %-escape, unterminated quoted string */
};

/* Result of every call in this header. */
struct mc_ew_result {
	size_t written;     /* bytes written to dst (on MC_ENOSPC: the bytes that fitted) */
	size_t err_offset;  /* on error: input offset of the first bad byte (MC_EBADCHAR)
			     * or of the input being converted when dst ran out (MC_ENOSPC) */
	unsigned warnings;  /* MC_EW_W_* bits (decoding) */
	size_t warn_offset; /* input offset of the first warning (RFC 2231: see below) */
};

/* ---- RFC 2047 decoding ---------------------------------------------------- */

/* Upper bound on what mc_ew_decode writes for n input bytes: 3 * n (a byte
 * never becomes more than U+FFFD or a 3-byte character; the decoder enforces
 * it, see MC_EW_W_TRUNCATED). Returns SIZE_MAX on overflow. */
MC_API size_t mc_ew_decode_bound(size_t n);

/* Decodes a header value (src, n: the raw value after the colon, folded or
 * not) into UTF-8 at dst (cap bytes; mc_ew_decode_bound(n) always suffices).
 *
 * - Folding is removed: every CR and LF is dropped, so "a\r\n b" gives "a b".
 *   Leading and trailing whitespace is trimmed.
 * - Encoded words are recognised anywhere, also without whitespace around
 *   them, inside quoted strings, over 75 characters, with a lower-case
 *   encoding letter, with a line break inside. Linear whitespace between two
 *   encoded words is dropped. The raw bytes of adjacent encoded words with the
 *   same charset are joined before conversion, so a character split across
 *   words survives; a base64 quantum split across words is rejoined too.
 * - B text is decoded forgivingly (missing padding, stray bytes skipped); Q
 *   text maps '_' to space and =XX to a byte, a bad '=' stays literal.
 * - Text outside encoded words is kept byte for byte if it is UTF-8 (RFC
 *   6532); other bytes become U+FFFD (MC_EW_W_INVALID).
 * Never fails on bad input: res->warnings tells what was repaired (offset in
 * res->warn_offset). Returns MC_OK, MC_EINVAL (NULL arguments) or MC_ENOSPC
 * (res->written bytes of valid UTF-8 were written, res->err_offset says where
 * the input stopped). res may not be NULL. Runs in time linear in n. */
MC_API MC_MUST_CHECK mc_status mc_ew_decode(const char *src, size_t n, unsigned flags, char *dst,
                                            size_t cap, struct mc_ew_result *res);

/* Converts n bytes in the charset named cs (cs_len bytes, not NUL-terminated;
 * a "*lang" suffix is ignored) to UTF-8 with the policy at the top of this
 * header. dst needs mc_ew_decode_bound(n) bytes at most. Returns MC_OK,
 * MC_EINVAL or MC_ENOSPC; warnings as for mc_ew_decode. */
MC_API MC_MUST_CHECK mc_status mc_ew_charset_to_utf8(const char *cs, size_t cs_len, const char *src,
                                                     size_t n, char *dst, size_t cap,
                                                     struct mc_ew_result *res);

/* ---- RFC 2047 encoding ---------------------------------------------------- */

/* Upper bound on what mc_ew_encode writes for n input bytes (any start_col
 * and flags). Returns SIZE_MAX on overflow. For the exact size, call
 * mc_ew_encode with dst == NULL. */
MC_API size_t mc_ew_encode_bound(size_t n);

/* Encodes the UTF-8 value src (n bytes) for a header whose value starts at
 * column start_col (the length of "Subject: ", say) into dst (cap bytes).
 *
 * - Words that are printable ASCII are kept as they are; words that are not
 *   (8-bit, control characters, "=?", words too long for one line, leading
 *   or trailing whitespace, and with MC_EW_PHRASE anything but atoms and
 *   single spaces) become encoded words "=?UTF-8?B?...?=" or "=?UTF-8?Q?...?="
 *   (per word, whichever carries more text in the room left on the line;
 *   the Q alphabet is the one safe in phrases), each at most 75 characters,
 *   never splitting a UTF-8 character. Adjacent such words share encoded
 *   words, with the whitespace between them encoded.
 * - Lines are folded (CRLF + whitespace, or LF with MC_EW_LF) so that no line
 *   is longer than 78 characters, the first counted from start_col. If not
 *   even one encoded word fits on the first line, the value starts with a fold.
 * - mc_ew_decode gives src back exactly, and so do other RFC 2047 decoders
 *   (Python's email.header is tested).
 * dst == NULL (cap ignored) measures: res->written gets the exact length.
 * Returns MC_OK, MC_EINVAL, MC_EBADCHAR (src is not UTF-8; res->err_offset
 * is the first bad byte) or MC_ENOSPC. */
MC_API MC_MUST_CHECK mc_status mc_ew_encode(const char *src, size_t n, unsigned start_col,
                                            unsigned flags, char *dst, size_t cap,
                                            struct mc_ew_result *res);

/* ---- RFC 2231 parameter values ------------------------------------------- */

/* One raw parameter of a Content-Type or Content-Disposition header, as spans
 * into the caller's buffer (valid for the duration of the call): the name as
 * written ("filename", "filename*", "filename*0*", ...) and the value after
 * '=' as written: a token, or a quoted-string with its quotes (an already
 * unquoted value works too, unless it starts with '"'). */
struct mc_rfc2231_param {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/* Decoded parameter details. */
struct mc_rfc2231_info {
	int found;           /* 0: no parameter of that name (dst untouched) */
	int extended;        /* 1: the value came from name* or name*N sections */
	const char *charset; /* RFC 2231 charset span into the params, or NULL */
	size_t charset_len;
	const char *lang; /* RFC 2231 language tag span into the params, or NULL */
	size_t lang_len;
	size_t warn_param; /* index into params of the first warning */
};

/* Upper bound on the decoded value: 3 * total, where total is the sum of the
 * value_len of all the params (or any larger number, such as the length of
 * the header). */
MC_API size_t mc_rfc2231_decode_bound(size_t total);

/* Looks up parameter name (name_len bytes, case-insensitive) in params and
 * decodes its value to UTF-8 into dst (cap bytes):
 * - name*=charset'lang'%XX... (RFC 2231 section 4), with or without quotes;
 * - name*0*=charset'lang'..., name*1*=..., name*2="..." continuations
 *   (section 3): sections in any order, mixed encoded (%-decoded) and plain
 *   (unquoted) ones; the octets of all sections are joined, then converted
 *   once from the charset of the first section; gaps and duplicates are
 *   tolerated (present sections in order; first of duplicates) and warned;
 * - otherwise name=value, unquoted, with RFC 2047 encoded words decoded (old
 *   clients send filename="=?utf-8?B?...?=", even without the quotes); plain
 *   sections without any charset get the same treatment.
 * Extended forms win over plain ones. Charset policy as for mc_ew_decode.
 * Returns MC_OK (found or not: see info->found), MC_EINVAL or MC_ENOSPC.
 * res->warn_offset is an offset into params[info->warn_param].value. */
MC_API MC_MUST_CHECK mc_status mc_rfc2231_get(const struct mc_rfc2231_param *params, size_t count,
                                              const char *name, size_t name_len, char *dst,
                                              size_t cap, struct mc_rfc2231_info *info,
                                              struct mc_ew_result *res);

/* Upper bound on what mc_rfc2231_encode writes for a name of name_len bytes
 * and a value of value_len bytes. Returns SIZE_MAX on overflow. */
MC_API size_t mc_rfc2231_encode_bound(size_t name_len, size_t value_len);

/* Writes parameter name (a token of 1..40 characters) with the UTF-8 value
 * for a header line currently at column start_col, as text to append after
 * the media type or disposition: "; name=value" pieces, each starting with
 * ';' and then a space or a fold (CRLF + space; LF with MC_EW_LF), so that no
 * line exceeds 78 characters:
 * - a short printable ASCII value: name=token or name="quoted string";
 * - a longer one: name*0="...", name*1="...";
 *   (a value containing "=?" never takes these plain forms: readers, ours
 *   included, would take it for an RFC 2047 word)
 * - anything else: name*=utf-8''%XX... or, when longer than a line,
 *   name*0*=utf-8''..., name*1*=..., never splitting a UTF-8 character or
 *   an escape across sections.
 * dst == NULL measures (res->written). Returns MC_OK, MC_EINVAL (bad name),
 * MC_EBADCHAR (value not UTF-8; res->err_offset) or MC_ENOSPC. */
MC_API MC_MUST_CHECK mc_status mc_rfc2231_encode(const char *name, size_t name_len,
                                                 const char *value, size_t value_len,
                                                 unsigned start_col, unsigned flags, char *dst,
                                                 size_t cap, struct mc_ew_result *res);

#ifdef __cplusplus
}
#endif
#endif
