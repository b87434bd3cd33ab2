/* parser.c: the zero-copy MIME structure parser.
 * RFC 5322 section 2 (header block, body), RFC 2045 sections 5-6, RFC 2046
 * section 5.1 (multipart: delimiters, preamble, epilogue, nesting) and 5.2
 * (message/rfc822), RFC 6532 section 3.7 (message/global).
 *
 * Design note (see GMime's gmime-parser.c for the model):
 * - One forward pass over lines, iterative. Open containers live on an
 *   explicit frame stack (capped by max_depth); a multipart frame carries its
 *   boundary. Every line that starts with "--" is matched against the open
 *   boundaries innermost first, so an outer delimiter ends every inner part
 *   (RFC 2046 section 5.1.2) and a boundary reused by a nested multipart
 *   belongs to the innermost one. A delimiter is "--" boundary, optionally
 *   "--", then only spaces and tabs to the end of the line (so boundary "a"
 *   does not match "--ab"). Matching costs O(depth * line) per candidate
 *   line, so the whole parse is linear for a fixed depth cap.
 * - Bodies are not walked line by line: the scanner jumps to the next "\n--"
 *   (codec/scan*.c: memchr for '-' in the scalar set, one compare per 64
 *   bytes in the SIMD ones), so a base64 body costs one pass at memory speed.
 * - Header fields are taken whole: one scan finds the line break that is not
 *   followed by a folded line (or a NUL), and a field with a name, a colon,
 *   no NUL and no line that could be too long is indexed without looking at
 *   its lines one by one. Anything else goes line by line (header_line),
 *   which is the specification; the fast path (header_field) gives the same
 *   index and warnings.
 * - The line break before a delimiter belongs to the delimiter; so does the
 *   last line break of a part that runs to the end of the input inside a
 *   multipart (as Python's email does). Bodies of multipart/ * entities kept
 *   as leaves keep theirs (also as Python does).
 * - Recovery follows Python's email.feedparser (and GMime where Python has
 *   no answer): a header line without a colon starts the body; a folded
 *   line with no field before it is dropped; "From " first lines are
 *   envelopes; consecutive delimiters make no empty parts; a multipart with
 *   no delimiter at all, or no boundary parameter, is a leaf; missing close
 *   delimiters close at the outer delimiter or the end. Each is a warning. */
#include <stdint.h>
#include <string.h>

#include "mime_internal.h"
#include "scan_internal.h"

#define NONE UINT32_MAX

/* mc_mime_span_eq against a string literal, lengths compared first */
#define SPAN_IS(s, lit) ((s).n == sizeof(lit) - 1 && mc__ieq_n((s).p, lit, (s).n))

enum { S_HEADER, S_BODY, S_FRAME };
enum { F_PREAMBLE, F_PART, F_SKIP, F_EPILOGUE };

struct frame {
	uint32_t part;
	unsigned char kind;  /* MC_MIME_MULTIPART or MC_MIME_MESSAGE */
	unsigned char state; /* F_*, multipart only */
	struct mc_span boundary;
};

struct parser {
	struct mc_mime_message *msg;
	struct mc__arena ar;
	const char *buf;
	size_t len;
	const struct mc_scan_kernels *scan; /* line and boundary scanners */
	struct mc_mime_limits lim;
	size_t cap_parts, cap_headers, cap_warnings;
	struct frame *frames;
	unsigned nframes, nactive; /* frames; multipart frames still matching */
	uint32_t cur;              /* entity in S_HEADER or S_BODY */
	int st;
	/* header block of cur */
	long curhdr;      /* header being extended by folded lines, -1 */
	int dropping;     /* the current field was not indexed (limit) */
	size_t hdr_bytes; /* bytes of cur's header block so far */
	size_t hdr_lines;
	uint32_t warned_long, warned_nul, warned_limit; /* once per entity */
	int oom;
};

/* ==== growable arrays in the arena ================================================ */

static int grow(struct parser *P, void **arr, size_t *cap, size_t n, size_t elem)
{
	void *a;
	size_t nc;

	if (n < *cap)
		return 1;
	nc = *cap ? *cap * 2 : 16;
	if (nc > SIZE_MAX / elem)
		return 0;
	a = mc__arena_alloc(&P->ar, nc * elem);
	if (!a) {
		P->oom = 1;
		return 0;
	}
	if (n)
		memcpy(a, *arr, n * elem);
	*arr = a;
	*cap = nc;
	return 1;
}

static void warn(struct parser *P, int code, uint32_t part, size_t offset)
{
	struct mc_mime_message *m = P->msg;

	if (m->nwarnings >= P->lim.max_warnings) {
		m->warnings_dropped++;
		return;
	}
	if (!grow(P, (void **)&m->warnings, &P->cap_warnings, m->nwarnings, sizeof *m->warnings))
		return;
	m->warnings[m->nwarnings].code = code;
	m->warnings[m->nwarnings].part = part;
	m->warnings[m->nwarnings].offset = offset;
	m->nwarnings++;
}

static uint32_t new_part(struct parser *P, uint32_t parent, size_t offset, int inner)
{
	struct mc_mime_message *m = P->msg;
	struct mc_mime_part *pt;

	if (m->nparts >= P->lim.max_parts || m->nparts >= NONE - 1) {
		warn(P, MC_MIME_W_PART_LIMIT, parent == NONE ? 0 : parent, offset);
		return NONE;
	}
	if (!grow(P, (void **)&m->parts, &P->cap_parts, m->nparts, sizeof *m->parts))
		return NONE;
	pt = &m->parts[m->nparts];
	memset(pt, 0, sizeof *pt);
	pt->parent = parent;
	pt->depth = parent == NONE ? 0 : m->parts[parent].depth + 1;
	pt->first_header = (uint32_t)m->nheaders;
	pt->kind = MC_MIME_LEAF;
	pt->is_inner = (unsigned char)inner;
	pt->type.p = "text";
	pt->type.n = 4;
	pt->subtype.p = "plain";
	pt->subtype.n = 5;
	pt->offset = offset;
	pt->body_offset = offset;
	if (parent != NONE)
		pt->ordinal = ++m->parts[parent].nchildren;
	P->curhdr = -1;
	P->dropping = 0;
	P->hdr_bytes = 0;
	P->hdr_lines = 0;
	return (uint32_t)m->nparts++;
}

/* ==== classification after the header block ======================================== */

static struct mc_span trim(struct mc_span s)
{
	while (s.n && (mc__is_wsp((unsigned char)*s.p) || *s.p == '\r' || *s.p == '\n')) {
		s.p++;
		s.n--;
	}
	while (s.n && (mc__is_wsp((unsigned char)s.p[s.n - 1]) || s.p[s.n - 1] == '\r' ||
	               s.p[s.n - 1] == '\n'))
		s.n--;
	return s;
}

static int encoding_of(struct mc_span v)
{
	static const struct {
		const char *name;
		int enc;
	} map[] = {
	    {"7bit", MC_MIME_ENC_7BIT},           {"8bit", MC_MIME_ENC_8BIT},
	    {"binary", MC_MIME_ENC_BINARY},       {"base64", MC_MIME_ENC_BASE64},
	    {"quoted-printable", MC_MIME_ENC_QP}, {"x-uuencode", MC_MIME_ENC_UUENCODE},
	    {"uuencode", MC_MIME_ENC_UUENCODE},   {"x-uue", MC_MIME_ENC_UUENCODE},
	    {"uue", MC_MIME_ENC_UUENCODE},
	};

	v = trim(v);
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (v.n == strlen(map[i].name) && mc__mime_ieq(v.p, v.n, map[i].name))
			return map[i].enc;
	return MC_MIME_ENC_UNKNOWN;
}

/* The boundary parameter, quotes removed (unescaped into the arena only when
 * it holds a backslash), trailing white space dropped as Python does. */
static struct mc_span boundary_of(struct parser *P, struct mc_span params)
{
	struct mc_mime_param prm;
	struct mc_span b = {NULL, 0};

	if (mc_mime_param_get(params, "boundary", &prm)) {
		b = prm.value;
		if (prm.quoted) {
			if (memchr(b.p, '\\', b.n) || memchr(b.p, '\n', b.n)) {
				char *d = mc__arena_alloc(&P->ar, b.n + 1);
				if (!d) {
					P->oom = 1;
					b.n = 0;
					return b;
				}
				b.n = mc_mime_unquote(&prm, d);
				b.p = d;
			} else {
				b.p++;
				b.n = b.n >= 2 && b.p[b.n - 2] == '"' ? b.n - 2 : b.n - 1;
			}
		}
	} else {
		mc__param_2231(params, "boundary", &P->ar, NULL, &b, NULL);
	}
	while (b.n && mc__is_wsp((unsigned char)b.p[b.n - 1]))
		b.n--;
	return b;
}

static int push_frame(struct parser *P, uint32_t part, int kind, struct mc_span boundary)
{
	struct frame *f;

	if (P->nframes >= P->lim.max_depth + 2u)
		return 0; /* cannot happen: depth is checked before */
	f = &P->frames[P->nframes++];
	f->part = part;
	f->kind = (unsigned char)kind;
	f->state = F_PREAMBLE;
	f->boundary = boundary;
	if (kind == MC_MIME_MULTIPART)
		P->nactive++;
	return 1;
}

/* The header block of cur ended; its body starts at body. Decides what the
 * entity is and moves to the state that reads its body. */
static void end_headers(struct parser *P, size_t body)
{
	struct mc_mime_message *m = P->msg;
	uint32_t e = P->cur;
	struct mc_mime_part *pt = &m->parts[e];
	const struct mc_mime_header *ct = NULL, *cte = NULL;
	int multipart, message;

	pt->body_offset = body;
	pt->body_length = 0;
	P->curhdr = -1;
	for (uint32_t h = 0; h < pt->nheaders; h++) {
		const struct mc_mime_header *hd = &m->headers[pt->first_header + h];

		/* the lengths first: most fields are neither */
		if (hd->name.n == 12 && mc__ieq_n(hd->name.p, "content-type", 12)) {
			if (ct)
				warn(P, MC_MIME_W_DUPLICATE_CONTENT_TYPE, e, hd->offset);
			else
				ct = hd;
		} else if (!cte && hd->name.n == 25 &&
		           mc__ieq_n(hd->name.p, "content-transfer-encoding", 25)) {
			cte = hd;
		}
	}
	if (ct) {
		if (mc_mime_content_type(ct->value, &pt->type, &pt->subtype, &pt->params) == MC_OK)
			pt->ctype_set = 1;
		else
			warn(P, MC_MIME_W_BAD_CONTENT_TYPE, e, ct->offset);
	} else if (pt->parent != NONE && m->parts[pt->parent].kind == MC_MIME_MULTIPART &&
	           SPAN_IS(m->parts[pt->parent].subtype, "digest")) {
		pt->type.p = "message"; /* RFC 2046 section 5.1.5 */
		pt->type.n = 7;
		pt->subtype.p = "rfc822";
		pt->subtype.n = 6;
	}
	if (cte) {
		pt->encoding = (unsigned char)encoding_of(cte->value);
		if (pt->encoding == MC_MIME_ENC_UNKNOWN)
			warn(P, MC_MIME_W_UNKNOWN_ENCODING, e, cte->offset);
	}
	multipart = SPAN_IS(pt->type, "multipart");
	message = SPAN_IS(pt->type, "message") &&
	          (SPAN_IS(pt->subtype, "rfc822") || SPAN_IS(pt->subtype, "global") ||
	           SPAN_IS(pt->subtype, "news"));
	if (multipart || message) {
		int identity = pt->encoding <= MC_MIME_ENC_BINARY;

		if (multipart) {
			pt->boundary = boundary_of(P, pt->params);
			if (!pt->boundary.n) {
				warn(P, MC_MIME_W_NO_BOUNDARY_PARAM, e,
				     ct ? ct->offset : pt->offset);
				goto leaf;
			}
		}
		if (pt->depth >= P->lim.max_depth) {
			warn(P, MC_MIME_W_DEPTH_LIMIT, e, body);
			goto leaf;
		}
		if (!identity) {
			warn(P, MC_MIME_W_ENCODED_CONTAINER, e, cte->offset);
			/* A multipart is still parsed (Python, GMime); an encoded
			 * message cannot be indexed in place, so it stays a leaf
			 * that the caller may decode and parse on its own. */
			if (message)
				goto leaf;
		}
		if (multipart) {
			pt->kind = MC_MIME_MULTIPART;
			push_frame(P, e, MC_MIME_MULTIPART, pt->boundary);
			P->st = S_FRAME;
			P->cur = NONE;
			return;
		} else {
			uint32_t inner = new_part(P, e, body, 1);

			pt = &m->parts[e]; /* the array may have moved */
			if (inner == NONE)
				goto leaf;
			pt->kind = MC_MIME_MESSAGE;
			push_frame(P, e, MC_MIME_MESSAGE, pt->boundary);
			P->cur = inner;
			P->st = S_HEADER;
			return;
		}
	}
leaf:
	P->st = S_BODY;
}

/* ==== header lines =============================================================== */

static int is_ftext(int c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/* The first i' >= i with b[i'] not ftext, or end: eight bytes at a time on
 * little-endian machines (bit 7 of each byte of "bad" flags a byte < 0x21,
 * > 0x7e or ':'; a borrow or carry can only flag bytes above a truly flagged
 * one, so the lowest flag is exact). */
static size_t ftext_end(const char *b, size_t i, size_t end)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101u, high = ones * 0x80;

	for (; i + 8 <= end; i += 8) {
		uint64_t x, c, bad;

		memcpy(&x, b + i, 8);
		c = x ^ (ones * ':');
		bad = ((x - ones * 0x21) & ~x) | (x + ones * 0x01) | x | ((c - ones) & ~c);
		bad &= high;
		if (bad)
			return i + (size_t)__builtin_ctzll(bad) / 8;
	}
#endif
	while (i < end && is_ftext((unsigned char)b[i]))
		i++;
	return i;
}

static void add_header(struct parser *P, size_t ls, size_t n1, size_t vs, size_t ce)
{
	struct mc_mime_message *m = P->msg;
	struct mc_mime_header *h;

	if (m->nheaders >= P->lim.max_headers || P->hdr_bytes > P->lim.max_header_bytes ||
	    !grow(P, (void **)&m->headers, &P->cap_headers, m->nheaders, sizeof *m->headers)) {
		if (P->warned_limit != P->cur) {
			warn(P, MC_MIME_W_HEADER_LIMIT, P->cur, ls);
			P->warned_limit = P->cur;
		}
		P->curhdr = -1;
		P->dropping = 1;
		return;
	}
	h = &m->headers[m->nheaders];
	h->name.p = P->buf + ls;
	h->name.n = n1 - ls;
	h->value.p = P->buf + vs;
	h->value.n = ce - vs;
	h->offset = ls;
	P->curhdr = (long)m->nheaders++;
	P->dropping = 0;
	m->parts[P->cur].nheaders++;
}

/* One line [ls, ce) (le: after its line break) of cur's header block.
 * Returns 1 when the line is not part of the header and must be scanned
 * again as the first line of the body (it may be a delimiter). */
static int header_line(struct parser *P, size_t ls, size_t ce, size_t le)
{
	const char *b = P->buf;
	size_t i;

	P->hdr_bytes += le - ls;
	if (ce - ls > P->lim.max_line && P->warned_long != P->cur) {
		warn(P, MC_MIME_W_LONG_LINE, P->cur, ls);
		P->warned_long = P->cur;
	}
	if (ce == ls) { /* the blank line */
		end_headers(P, le);
		return 0;
	}
	if (P->warned_nul != P->cur && memchr(b + ls, '\0', ce - ls)) {
		warn(P, MC_MIME_W_NUL, P->cur,
		     ls + (size_t)((const char *)memchr(b + ls, '\0', ce - ls) - (b + ls)));
		P->warned_nul = P->cur;
	}
	P->hdr_lines++;
	if (b[ls] == ' ' || b[ls] == '\t') {
		if (P->curhdr >= 0) {
			struct mc_mime_header *h = &P->msg->headers[P->curhdr];
			h->value.n = (size_t)(b + ce - h->value.p);
		} else if (!P->dropping) {
			int blank = 1;

			for (i = ls; i < ce && blank; i++)
				blank = mc__is_wsp((unsigned char)b[i]) || b[i] == '\r';
			warn(P,
			     blank && P->msg->parts[P->cur].nheaders == 0
			         ? MC_MIME_W_LEADING_JUNK
			         : MC_MIME_W_ORPHAN_CONTINUATION,
			     P->cur, ls);
		}
		return 0;
	}
	if (ce - ls >= 5 && memcmp(b + ls, "From ", 5) == 0) {
		if (P->hdr_lines != 1)
			warn(P, MC_MIME_W_MISPLACED_FROM, P->cur, ls);
		P->curhdr = -1;
		P->dropping = 1; /* folded lines after it are part of it */
		return 0;
	}
	for (i = ls; i < ce && is_ftext((unsigned char)b[i]); i++)
		;
	{
		size_t n1 = i;

		while (i < ce && mc__is_wsp((unsigned char)b[i]))
			i++;
		if (i < ce && b[i] == ':') {
			if (n1 == ls) {
				warn(P, MC_MIME_W_EMPTY_NAME, P->cur, ls);
				P->curhdr = -1;
				P->dropping = 1;
				return 0;
			}
			for (i++; i < ce && mc__is_wsp((unsigned char)b[i]); i++)
				;
			add_header(P, ls, n1, i, ce);
			return 0;
		}
	}
	warn(P, MC_MIME_W_NO_COLON, P->cur, ls);
	end_headers(P, ls);
	return 1;
}

/* The field starting at the line start pos, taken whole when it is plain:
 * the name starts with a field character other than '-' (a '-' line may be a
 * delimiter), it is not a "From " line, a colon follows the name, it ends
 * with a line break, holds no NUL, is no longer than max_line (so none of its
 * lines is) and fits under max_header_bytes. Then it is indexed as
 * header_line would index its lines one by one, and the index after its
 * last line break is returned; otherwise 0 (take it line by line). */
static size_t header_field(struct parser *P, size_t pos)
{
	const char *b = P->buf;
	size_t fe, i, n1, ce;
	unsigned char c = (unsigned char)b[pos];

	if (!is_ftext(c) || c == '-' ||
	    (c == 'F' && P->len - pos >= 5 && memcmp(b + pos, "From ", 5) == 0))
		return 0;
	fe = pos + P->scan->field_end(b + pos, P->len - pos);
	if (fe >= P->len || b[fe] != '\n' || fe - pos > P->lim.max_line ||
	    P->hdr_bytes > P->lim.max_header_bytes ||
	    fe + 1 - pos > P->lim.max_header_bytes - P->hdr_bytes)
		return 0;
	/* name, white space, colon: none of these cross a line break */
	i = ftext_end(b, pos + 1, fe); /* b[fe] is '\n': not ftext either */
	n1 = i;
	while (mc__is_wsp((unsigned char)b[i]))
		i++;
	if (b[i] != ':')
		return 0;
	for (i++; mc__is_wsp((unsigned char)b[i]); i++)
		;
	/* the value ends before the last line's CR LF (fe - 1 > pos: the
	 * name and the colon come first) */
	ce = b[fe - 1] == '\r' ? fe - 1 : fe;
	P->hdr_bytes += fe + 1 - pos;
	/* hdr_lines is only compared with 0 and 1 (the envelope "From " line
	 * must be the first): one per field is as good as one per line */
	P->hdr_lines++;
	add_header(P, pos, n1, i, i > ce ? i : ce);
	return fe + 1;
}

/* ==== delimiters ==================================================================== */

/* Index of the innermost open multipart frame whose delimiter the line
 * [ls, ce) is, or -1; *close is set for a close delimiter. */
static int match_boundary(struct parser *P, size_t ls, size_t ce, int *close)
{
	const char *l = P->buf + ls + 2;
	size_t n = ce - ls - 2;

	for (int k = (int)P->nframes - 1; k >= 0; k--) {
		const struct frame *f = &P->frames[k];
		size_t bn = f->boundary.n, i;

		if (f->kind != MC_MIME_MULTIPART || f->state == F_EPILOGUE || n < bn ||
		    memcmp(l, f->boundary.p, bn) != 0)
			continue;
		i = bn;
		*close = 0;
		if (i + 2 <= n && l[i] == '-' && l[i + 1] == '-') {
			*close = 1;
			i += 2;
		}
		while (i < n && mc__is_wsp((unsigned char)l[i]))
			i++;
		if (i == n)
			return k;
	}
	return -1;
}

/* Where content ending before the line at ls ends: without the line break
 * that belongs to the delimiter, never before start. */
static size_t strip_eol(const char *b, size_t ls, size_t start)
{
	size_t e = ls;

	if (e > start && b[e - 1] == '\n') {
		e--;
		if (e > start && b[e - 1] == '\r')
			e--;
	}
	return e < start ? start : e;
}

static size_t clamp_len(size_t end, size_t start)
{
	return end > start ? end - start : 0;
}

/* Is the content owner (cur, or the top frame's entity) a multipart/ * kept
 * as a leaf? Python keeps their last line break. */
static int owner_is_multipart_leaf(struct parser *P)
{
	const struct mc_mime_part *pt;

	if (P->st == S_BODY)
		pt = &P->msg->parts[P->cur];
	else if (P->nframes && P->frames[P->nframes - 1].kind == MC_MIME_MULTIPART &&
	         P->frames[P->nframes - 1].state == F_PREAMBLE)
		return 1;
	else
		return 0;
	return SPAN_IS(pt->type, "multipart");
}

/* Ends the open content and every frame above index k (k = -1: all). e is
 * where stripped content ends, raw where the delimiter line (or input) is. */
static void close_above(struct parser *P, int k, size_t raw, int strip)
{
	struct mc_mime_message *m = P->msg;
	const char *b = P->buf;

	while (P->st == S_HEADER)
		end_headers(P, raw);
	if (P->st == S_BODY) {
		struct mc_mime_part *pt = &m->parts[P->cur];
		size_t e = strip ? strip_eol(b, raw, pt->body_offset) : raw;

		pt->body_length = clamp_len(e, pt->body_offset);
		P->st = S_FRAME;
		P->cur = NONE;
	}
	while ((int)P->nframes > k + 1) {
		struct frame *f = &P->frames[P->nframes - 1];
		struct mc_mime_part *pt = &m->parts[f->part];

		if (f->kind == MC_MIME_MULTIPART) {
			if (f->state == F_PREAMBLE) {
				warn(P, MC_MIME_W_NO_START_BOUNDARY, f->part, pt->body_offset);
				pt->kind = MC_MIME_LEAF;
				pt->body_length = clamp_len(raw, pt->body_offset);
				strip = 1; /* for the containers around it */
			} else {
				size_t e = strip ? strip_eol(b, raw, pt->body_offset) : raw;

				if (pt->kind == MC_MIME_LEAF) {
					/* closed before any delimiter: body already set */
					P->nframes--;
					continue;
				}
				if (f->state == F_EPILOGUE) {
					size_t s = (size_t)(pt->epilogue.p - b);
					pt->epilogue.n =
					    clamp_len(strip ? strip_eol(b, raw, s) : raw, s);
				} else {
					warn(P, MC_MIME_W_NO_CLOSE_BOUNDARY, f->part, raw);
				}
				pt->body_length = clamp_len(e, pt->body_offset);
				P->nactive -= f->state != F_EPILOGUE;
			}
			if (f->state == F_PREAMBLE)
				P->nactive--;
		} else {
			size_t e = strip ? strip_eol(b, raw, pt->body_offset) : raw;
			pt->body_length = clamp_len(e, pt->body_offset);
		}
		P->nframes--;
	}
}

static void on_delimiter(struct parser *P, int k, int close, size_t ls, size_t le)
{
	struct mc_mime_message *m = P->msg;
	struct frame *f = &P->frames[k];
	uint32_t mp = f->part;

	if (P->st == S_HEADER && P->cur == m->nparts - 1 && m->parts[P->cur].offset == ls &&
	    m->parts[P->cur].parent == mp && (int)P->nframes == k + 1 &&
	    m->parts[P->cur].nheaders == 0) {
		/* Consecutive delimiters: no empty part between them (Python). */
		m->nparts--;
		m->parts[mp].nchildren--;
		P->st = S_FRAME;
		P->cur = NONE;
	} else {
		close_above(P, k, ls, !owner_is_multipart_leaf(P));
	}
	f = &P->frames[k];
	if (f->state == F_PREAMBLE) {
		struct mc_mime_part *pt = &m->parts[mp];
		pt->preamble.p = P->buf + pt->body_offset;
		pt->preamble.n = clamp_len(strip_eol(P->buf, ls, pt->body_offset), pt->body_offset);
	}
	if (close && f->state == F_PREAMBLE) {
		/* A close delimiter before any delimiter: no parts at all. Kept
		 * as a leaf holding the preamble, as Python does. */
		struct mc_mime_part *pt = &m->parts[mp];
		warn(P, MC_MIME_W_NO_START_BOUNDARY, mp, ls);
		pt->kind = MC_MIME_LEAF;
		pt->body_length = clamp_len(ls, pt->body_offset);
	}
	if (close) {
		f->state = F_EPILOGUE;
		P->nactive--;
		m->parts[mp].epilogue.p = P->buf + le;
		m->parts[mp].epilogue.n = 0;
		P->st = S_FRAME;
		return;
	}
	if (m->parts[mp].nchildren >= P->lim.max_parts) {
		f->state = F_SKIP;
		P->st = S_FRAME;
		return;
	}
	P->cur = new_part(P, mp, le, 0);
	if (P->cur == NONE) {
		f->state = F_SKIP;
		P->st = S_FRAME;
		return;
	}
	f->state = F_PART;
	P->st = S_HEADER;
}

/* ==== the scan ===================================================================== */

/* Next line start >= pos that begins with "--" (pos is a line start), or len. */
static size_t next_dash_line(const struct parser *P, size_t pos)
{
	const char *b = P->buf;
	size_t len = P->len, q;

	if (pos + 1 >= len)
		return len;
	if (b[pos] == '-' && b[pos + 1] == '-')
		return pos;
	q = P->scan->dashline(b + pos, len - pos); /* the "\n" of "\n--" */
	return q < len - pos ? pos + q + 1 : len;
}

static void scan(struct parser *P)
{
	const char *b = P->buf;
	size_t len = P->len, pos = 0;

	if (len >= 3 && memcmp(b, "\xef\xbb\xbf", 3) == 0) {
		warn(P, MC_MIME_W_LEADING_JUNK, 0, 0);
		pos = 3;
	}
	P->cur = new_part(P, NONE, 0, 0);
	if (P->cur == NONE)
		return;
	P->st = S_HEADER;
	while (pos < len && !P->oom) {
		size_t le, ce;
		int k = -1, close = 0;

		if (P->st != S_HEADER) {
			if (!P->nactive)
				break; /* nothing can end this content but the input */
			pos = next_dash_line(P, pos);
			if (pos >= len)
				break;
		} else {
			size_t next = header_field(P, pos);

			if (next) {
				pos = next;
				continue;
			}
		}
		ce = pos + P->scan->eol(b + pos, len - pos);
		le = ce < len ? ce + 1 : len;
		if (ce > pos && b[ce - 1] == '\r')
			ce--;
		if (P->nactive && ce - pos >= 2 && b[pos] == '-' && b[pos + 1] == '-')
			k = match_boundary(P, pos, ce, &close);
		if (k >= 0)
			on_delimiter(P, k, close, pos, le);
		else if (P->st == S_HEADER && header_line(P, pos, ce, le))
			continue; /* scan the line again in the new state */
		pos = le;
	}
	if (P->oom)
		return;
	/* End of input. */
	if (P->st == S_HEADER && P->nframes && (P->hdr_lines || P->msg->parts[P->cur].offset < len))
		warn(P, MC_MIME_W_TRUNCATED, P->cur, len);
	{
		int strip = 0;
		unsigned below = P->st == S_FRAME && P->nframes ? P->nframes - 1 : P->nframes;

		for (unsigned i = 0; i < below; i++)
			if (P->frames[i].kind == MC_MIME_MULTIPART)
				strip = 1;
		/* a part whose headers reach the end: its (empty) body is at len */
		if (P->st == S_HEADER)
			strip = 0;
		close_above(P, -1, len, strip && !owner_is_multipart_leaf(P));
	}
}

/* ==== public entry points ============================================================ */

void mc_mime_limits_default(struct mc_mime_limits *lim)
{
	lim->max_depth = 64;
	lim->max_parts = 10000;
	lim->max_headers = 20000;
	lim->max_header_bytes = (size_t)1 << 20;
	lim->max_line = 998;
	lim->max_warnings = 1000;
}

mc_status mc_mime_parse(const void *buf, size_t len, const struct mc_mime_limits *lim,
                        const struct mc_mime_allocator *alloc, struct mc_mime_message **out)
{
	struct parser P;
	struct mc_mime_limits def;
	struct mc_mime_message *m;

	if (!out || (!buf && len))
		return MC_EINVAL;
	*out = NULL;
	memset(&P, 0, sizeof P);
	if (alloc && alloc->alloc && alloc->free)
		P.ar.a = *alloc;
	mc_mime_limits_default(&def);
	if (lim) {
		if (lim->max_depth)
			def.max_depth = lim->max_depth > 100000 ? 100000 : lim->max_depth;
		if (lim->max_parts)
			def.max_parts = lim->max_parts;
		if (lim->max_headers)
			def.max_headers = lim->max_headers;
		if (lim->max_header_bytes)
			def.max_header_bytes = lim->max_header_bytes;
		if (lim->max_line)
			def.max_line = lim->max_line;
		if (lim->max_warnings)
			def.max_warnings = lim->max_warnings;
	}
	P.lim = def;
	P.buf = buf ? buf : "";
	P.len = len;
	P.scan = mc__scan_kernels_for(MC_ISA_AUTO);
	if (!P.scan)
		P.scan = &mc__scan_scalar;
	P.warned_long = P.warned_nul = P.warned_limit = NONE;
	m = mc__arena_alloc(&P.ar, sizeof *m + sizeof(struct mc__arena));
	P.frames = mc__arena_alloc(&P.ar, (def.max_depth + 2u) * sizeof *P.frames);
	if (!m || !P.frames) {
		mc__arena_release(&P.ar);
		return MC_ENOMEM;
	}
	memset(m, 0, sizeof *m);
	m->buf = P.buf;
	m->len = len;
	m->limits = def;
	P.msg = m;
	scan(&P);
	if (P.oom || m->nparts == 0) {
		mc__arena_release(&P.ar);
		return MC_ENOMEM;
	}
	/* Subtree ends, children before parents. */
	for (size_t i = m->nparts; i-- > 0;) {
		struct mc_mime_part *pt = &m->parts[i];

		if (pt->next < i + 1)
			pt->next = (uint32_t)(i + 1);
		if (pt->parent != NONE && m->parts[pt->parent].next < pt->next)
			m->parts[pt->parent].next = pt->next;
		if (pt->kind == MC_MIME_LEAF)
			pt->nchildren = 0;
	}
	/* The arena header lives inside the arena itself. */
	m->arena_ = (char *)m + sizeof *m;
	memcpy(m->arena_, &P.ar, sizeof P.ar);
	*out = m;
	return MC_OK;
}

void mc_mime_free(struct mc_mime_message *msg)
{
	struct mc__arena ar;

	if (!msg)
		return;
	memcpy(&ar, msg->arena_, sizeof ar);
	mc__arena_release(&ar);
}

int mc_mime_part_path(const struct mc_mime_message *msg, size_t i, char *buf, size_t cap)
{
	uint32_t chain[128];
	size_t depth = 0, o = 0;
	uint32_t x;

	if (!msg || i >= msg->nparts || !buf || !cap)
		return MC_EINVAL;
	/* Collect the numbered steps from i up to the root (at most one per
	 * level; deeper than the chain holds cannot happen with sane limits). */
	for (x = (uint32_t)i; x != 0 && x != NONE; x = msg->parts[x].parent) {
		const struct mc_mime_part *pt = &msg->parts[x];
		uint32_t n;

		if (pt->is_inner)
			n = pt->kind == MC_MIME_MULTIPART ? 0 : 1;
		else
			n = pt->ordinal;
		if (n) {
			if (depth == sizeof chain / sizeof chain[0])
				return MC_ENOSPC;
			chain[depth++] = n;
		}
	}
	while (depth--) {
		char tmp[12];
		size_t t = 0;
		uint32_t v = chain[depth];

		do {
			tmp[t++] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		if (o + t + 2 > cap)
			return MC_ENOSPC;
		if (o)
			buf[o++] = '.';
		while (t)
			buf[o++] = tmp[--t];
	}
	buf[o] = '\0';
	return (int)o;
}

const char *mc_mime_warning_name(int code)
{
	static const char *const names[] = {
	    "unknown",
	    "leading-junk",
	    "no-colon",
	    "empty-name",
	    "orphan-continuation",
	    "misplaced-from",
	    "no-boundary-param",
	    "no-start-boundary",
	    "no-close-boundary",
	    "unknown-encoding",
	    "bad-content-type",
	    "encoded-container",
	    "nul",
	    "long-line",
	    "depth-limit",
	    "part-limit",
	    "header-limit",
	    "truncated",
	    "duplicate-content-type",
	};
	return code > 0 && code < MC_MIME_W_COUNT_ ? names[code] : names[0];
}

const char *mc_mime_warning_text(int code)
{
	static const char *const text[] = {
	    "unknown warning",
	    "blank lines or a byte order mark before the header: skipped",
	    "header line without a colon: the body starts here",
	    "header field without a name: ignored",
	    "folded line without a field before it: ignored",
	    "\"From \" line inside the header: ignored",
	    "multipart without a boundary parameter: kept as one body",
	    "multipart without any delimiter line: kept as one body",
	    "multipart without its close delimiter",
	    "unknown Content-Transfer-Encoding: body kept as it is",
	    "unparsable Content-Type: text/plain assumed",
	    "multipart or message with a transfer encoding",
	    "NUL byte in the header",
	    "line longer than the line limit",
	    "nesting limit reached: container kept as one body",
	    "part limit reached: part skipped",
	    "header limit reached: field not indexed",
	    "input ends inside a header",
	    "several Content-Type fields: the first one is used",
	};
	return code > 0 && code < MC_MIME_W_COUNT_ ? text[code] : text[0];
}
