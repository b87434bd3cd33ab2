/* header.c: header field values of the MIME parser: unfolding (RFC 5322
 * section 2.2.3), Content-Type and parameters (RFC 2045 section 5.1, RFC 2231
 * sections 3-4 for the boundary), Content-Disposition (RFC 2183), msg-id
 * (RFC 5322 section 3.6.4), lookup by name; and the per-message arena. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime_internal.h"
#include "mimecodec/encword.h"

/* ==== arena ======================================================================= */

static void *default_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n);
}

static void default_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

#define ARENA_ALIGN 16u
#define ARENA_HEADER \
	((sizeof(struct mc__arena_block) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))

void *mc__arena_alloc(struct mc__arena *ar, size_t n)
{
	struct mc__arena_block *b = ar->head;
	size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);

	if (!ar->a.alloc) {
		ar->a.alloc = default_alloc;
		ar->a.free = default_free;
	}
	if (need < n)
		return NULL;
	if (!b || b->size - b->used < need) {
		size_t size = 16384;

		/* Blocks grow with the arena so the block count stays logarithmic. */
		if (b && b->size < ((size_t)1 << 24))
			size = b->size * 2;
		if (size < need)
			size = need;
		if (size > SIZE_MAX - ARENA_HEADER)
			return NULL;
		b = ar->a.alloc(ar->a.ctx, ARENA_HEADER + size);
		if (!b)
			return NULL;
		b->size = size;
		b->used = 0;
		b->next = ar->head;
		ar->head = b;
	}
	b->used += need;
	return (char *)b + ARENA_HEADER + b->used - need;
}

void mc__arena_release(struct mc__arena *ar)
{
	struct mc__arena_block *b = ar->head, *next;

	while (b) {
		next = b->next;
		ar->a.free(ar->a.ctx, b);
		b = next;
	}
	ar->head = NULL;
}

/* ==== lexical helpers ============================================================== */

size_t mc__skip_cfws(const char *p, size_t n, size_t i)
{
	while (i < n) {
		char c = p[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			i++;
		} else if (c == '(') {
			size_t depth = 1;

			for (i++; i < n && depth; i++) {
				if (p[i] == '\\' && i + 1 < n)
					i++;
				else if (p[i] == '(')
					depth++;
				else if (p[i] == ')')
					depth--;
			}
		} else {
			break;
		}
	}
	return i;
}

size_t mc__skip_quoted(const char *p, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n)
			i++;
		else if (p[i] == '"')
			return i + 1;
	}
	return n;
}

int mc__mime_ieq(const char *p, size_t n, const char *z)
{
	return strlen(z) == n && mc__ieq_n(p, z, n);
}

int mc_mime_span_eq(struct mc_span s, const char *z)
{
	return z && (s.p || !s.n) && mc__mime_ieq(s.p, s.n, z);
}

/* ==== header fields ================================================================ */

size_t mc_mime_unfold(struct mc_span v, char *dst)
{
	size_t o = 0;

	for (size_t i = 0; i < v.n; i++) {
		char c = v.p[i];

		if (c == '\n')
			continue;
		if (c == '\r' && i + 1 < v.n && v.p[i + 1] == '\n')
			continue;
		dst[o++] = c;
	}
	return o;
}

const struct mc_mime_header *mc_mime_header_find(const struct mc_mime_message *msg, size_t i,
                                                 const char *name,
                                                 const struct mc_mime_header *from)
{
	const struct mc_mime_part *pt;
	const struct mc_mime_header *h, *end;

	if (!msg || i >= msg->nparts || !name)
		return NULL;
	pt = &msg->parts[i];
	if (!pt->nheaders)
		return NULL;
	h = msg->headers + pt->first_header;
	end = h + pt->nheaders;
	if (from) {
		if (from < h || from >= end)
			return NULL;
		h = from + 1;
	}
	for (; h < end; h++)
		if (mc__mime_ieq(h->name.p, h->name.n, name))
			return h;
	return NULL;
}

/* ==== structured values ============================================================ */

static size_t token_end(const char *p, size_t n, size_t i)
{
	while (i < n && mc__is_token((unsigned char)p[i]))
		i++;
	return i;
}

static struct mc_span span(const char *p, size_t n)
{
	struct mc_span s = {p, n};
	return s;
}

static struct mc_span params_after(struct mc_span v, size_t i)
{
	while (i < v.n && v.p[i] != ';') {
		if (v.p[i] == '"')
			i = mc__skip_quoted(v.p, v.n, i);
		else
			i++;
	}
	if (i < v.n)
		return span(v.p + i + 1, v.n - i - 1);
	return span(v.p ? v.p + v.n : NULL, 0);
}

mc_status mc_mime_content_type(struct mc_span v, struct mc_span *type, struct mc_span *subtype,
                               struct mc_span *params)
{
	size_t i, t0, t1, s0, s1;

	*type = span("text", 4);
	*subtype = span("plain", 5);
	*params = span(NULL, 0);
	if (!v.p)
		return MC_EINVAL;
	i = mc__skip_cfws(v.p, v.n, 0);
	t0 = i;
	t1 = i = token_end(v.p, v.n, i);
	i = mc__skip_cfws(v.p, v.n, i);
	if (t1 == t0 || i >= v.n || v.p[i] != '/') {
		*params = params_after(v, i);
		return MC_EINVAL;
	}
	i = mc__skip_cfws(v.p, v.n, i + 1);
	s0 = i;
	s1 = i = token_end(v.p, v.n, i);
	*params = params_after(v, i);
	if (s1 == s0)
		return MC_EINVAL;
	*type = span(v.p + t0, t1 - t0);
	*subtype = span(v.p + s0, s1 - s0);
	return MC_OK;
}

mc_status mc_mime_disposition(struct mc_span v, struct mc_span *token, struct mc_span *params)
{
	size_t i, t0;

	*token = span(NULL, 0);
	*params = span(NULL, 0);
	if (!v.p)
		return MC_EINVAL;
	i = t0 = mc__skip_cfws(v.p, v.n, 0);
	i = token_end(v.p, v.n, i);
	*params = params_after(v, i);
	if (i == t0)
		return MC_EINVAL;
	*token = span(v.p + t0, i - t0);
	return MC_OK;
}

/* Parameter lists are parsed leniently, as mailers write them: an unquoted
 * value runs to the next ';' (spaces included, as Python's email does), minus
 * a trailing comment and white space. */
int mc_mime_param_next(struct mc_span params, size_t *pos, struct mc_mime_param *p)
{
	const char *s = params.p;
	size_t n = params.n, i = *pos;

	while (i < n) {
		size_t n0, n1, v0, v1;

		i = mc__skip_cfws(s, n, i);
		if (i < n && s[i] == ';') {
			i++;
			continue;
		}
		if (i >= n)
			break;
		n0 = i;
		while (i < n && s[i] != '=' && s[i] != ';' && s[i] != '"')
			i++;
		n1 = i;
		while (n1 > n0 && (mc__is_wsp((unsigned char)s[n1 - 1]) || s[n1 - 1] == '\r' ||
		                   s[n1 - 1] == '\n'))
			n1--;
		if (i >= n || s[i] != '=' || n1 == n0) {
			/* a bare attribute or junk: skip to the next ';' */
			struct mc_span rest = params_after(span(s, n), i);
			i = rest.p ? (size_t)(rest.p - s) : n;
			continue;
		}
		i = mc__skip_cfws(s, n, i + 1);
		v0 = i;
		if (i < n && s[i] == '"') {
			v1 = mc__skip_quoted(s, n, i);
			p->quoted = 1;
			i = v1;
			while (i < n && s[i] != ';')
				i++;
		} else {
			while (i < n && s[i] != ';')
				i++;
			v1 = i;
			for (size_t k = v0; k + 1 < v1; k++)
				if (s[k + 1] == '(' && (mc__is_wsp((unsigned char)s[k]) ||
				                        s[k] == '\n' || s[k] == '\r')) {
					v1 = k + 1;
					break;
				}
			while (v1 > v0 && (mc__is_wsp((unsigned char)s[v1 - 1]) ||
			                   s[v1 - 1] == '\r' || s[v1 - 1] == '\n'))
				v1--;
			p->quoted = 0;
		}
		p->name = span(s + n0, n1 - n0);
		p->value = span(s + v0, v1 - v0);
		*pos = i;
		return 1;
	}
	*pos = n;
	return 0;
}

int mc_mime_param_get(struct mc_span params, const char *name, struct mc_mime_param *p)
{
	size_t pos = 0;

	while (mc_mime_param_next(params, &pos, p))
		if (mc__mime_ieq(p->name.p, p->name.n, name))
			return 1;
	return 0;
}

size_t mc_mime_unquote(const struct mc_mime_param *p, char *dst)
{
	const char *s = p->value.p;
	size_t n = p->value.n, o = 0, i = 0;

	if (!p->quoted) {
		if (n)
			memcpy(dst, s, n);
		return n;
	}
	i = 1; /* opening quote */
	if (n >= 2 && s[n - 1] == '"')
		n--;
	for (; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		else if (s[i] == '\r' || s[i] == '\n')
			continue; /* folding inside a quoted string */
		dst[o++] = s[i];
	}
	return o;
}

mc_status mc_mime_msgid(struct mc_span v, struct mc_span *id)
{
	size_t i, j;

	*id = span(NULL, 0);
	if (!v.p)
		return MC_EINVAL;
	i = mc__skip_cfws(v.p, v.n, 0);
	if (i < v.n && v.p[i] == '<') {
		for (j = i + 1; j < v.n && v.p[j] != '>'; j++)
			if (v.p[j] == '"')
				j = mc__skip_quoted(v.p, v.n, j) - 1;
		if (j >= v.n)
			return MC_EINVAL;
		while (i + 1 < j && mc__is_wsp((unsigned char)v.p[i + 1]))
			i++;
		*id = span(v.p + i + 1, j - i - 1);
		while (id->n && mc__is_wsp((unsigned char)id->p[id->n - 1]))
			id->n--;
		return id->n ? MC_OK : MC_EINVAL;
	}
	/* bare id: up to white space or a comment */
	for (j = i; j < v.n && !mc__is_wsp((unsigned char)v.p[j]) && v.p[j] != '(' &&
	            v.p[j] != '\r' && v.p[j] != '\n';
	     j++)
		;
	if (j == i || !memchr(v.p + i, '@', j - i))
		return MC_EINVAL;
	*id = span(v.p + i, j - i);
	return MC_OK;
}

/* ==== RFC 2231 for the boundary ======================================================= */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = mc__lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parses "name*" or "name*N" or "name*N*": returns the section number (0 for
 * name*), -1 if p is not one of them; *enc says whether it is %-encoded. */
static long section_of(struct mc_span pn, const char *name, int *enc)
{
	size_t k = strlen(name), i;
	long sec = 0;

	if (pn.n <= k || !mc__mime_ieq(pn.p, k, name) || pn.p[k] != '*')
		return -1;
	if (pn.n == k + 1) {
		*enc = 1;
		return 0;
	}
	for (i = k + 1; i < pn.n && pn.p[i] >= '0' && pn.p[i] <= '9'; i++) {
		if (sec > 100000)
			return -1;
		sec = sec * 10 + (pn.p[i] - '0');
	}
	if (i == k + 1)
		return -1;
	*enc = 0;
	if (i < pn.n && pn.p[i] == '*') {
		*enc = 1;
		i++;
	}
	return i == pn.n ? sec : -1;
}

int mc__param_2231(struct mc_span params, const char *name, struct mc__arena *ar, char *dst,
                   struct mc_span *out, struct mc_span *charset)
{
	struct mc_mime_param p;
	size_t pos = 0, total = 0, o = 0;
	long want = 0;
	int any = 0;

	/* sizing pass: the sum of the value lengths bounds the octets */
	while (mc_mime_param_next(params, &pos, &p)) {
		int enc;
		if (section_of(p.name, name, &enc) >= 0) {
			total += p.value.n;
			any = 1;
		}
	}
	if (!any)
		return 0;
	if (charset) {
		charset->p = NULL;
		charset->n = 0;
	}
	if (!dst)
		dst = mc__arena_alloc(ar, total + 1);
	if (!dst)
		return 0;
	/* Sections in order 0, 1, 2...: one pass per section present, capped so
	 * an adversarial list stays linear enough (sections beyond 64 dropped). */
	for (want = 0; want < 64; want++) {
		int found = 0;

		pos = 0;
		while (mc_mime_param_next(params, &pos, &p)) {
			int enc;
			long sec = section_of(p.name, name, &enc);
			char tmp_is_quoted = (char)p.quoted;
			const char *s = p.value.p;
			size_t n = p.value.n, i = 0;

			if (sec != want)
				continue;
			found = 1;
			if (tmp_is_quoted && n >= 2) {
				s++;
				n -= 2;
			}
			if (enc && sec == 0) {
				/* charset'language'value */
				const char *q1 = memchr(s, '\'', n);
				const char *q2 =
				    q1 ? memchr(q1 + 1, '\'', n - (size_t)(q1 + 1 - s)) : NULL;

				if (q2) {
					i = (size_t)(q2 + 1 - s);
					if (charset) {
						charset->p = s;
						charset->n = (size_t)(q1 - s);
					}
				}
			}
			for (; i < n; i++) {
				int h, l;

				if (enc && s[i] == '%' && i + 2 < n &&
				    (h = hexval((unsigned char)s[i + 1])) >= 0 &&
				    (l = hexval((unsigned char)s[i + 2])) >= 0) {
					dst[o++] = (char)(h << 4 | l);
					i += 2;
				} else if (tmp_is_quoted && s[i] == '\\' && i + 1 < n) {
					dst[o++] = s[++i];
				} else {
					dst[o++] = s[i];
				}
			}
			break;
		}
		if (!found)
			break;
	}
	out->p = dst;
	out->n = o;
	return o > 0;
}

mc_status mc_mime_filename(const struct mc_mime_message *msg, size_t i, char *dst, size_t cap,
                           size_t *written)
{
	static const char *const where[2][2] = {{"content-disposition", "filename"},
	                                        {"content-type", "name"}};

	if (!msg || i >= msg->nparts || !written || (!dst && cap))
		return MC_EINVAL;
	*written = 0;
	for (int w = 0; w < 2; w++) {
		const struct mc_mime_header *h = mc_mime_header_find(msg, i, where[w][0], NULL);
		struct mc_span tok, params, val, cs;
		struct mc_mime_param prm;
		struct mc_ew_result res;
		mc_status s;
		char *tmp;

		if (!h)
			continue;
		/* a bad token still leaves the parameters usable */
		if (w == 0)
			s = mc_mime_disposition(h->value, &tok, &params);
		else
			s = mc_mime_content_type(h->value, &tok, &val, &params);
		(void)s;
		if (!params.n)
			continue;
		tmp = malloc(params.n + 1);
		if (!tmp)
			return MC_ENOMEM;
		if (mc__param_2231(params, where[w][1], NULL, tmp, &val, &cs)) {
			s = mc_ew_charset_to_utf8(cs.p ? cs.p : "utf-8", cs.p ? cs.n : 5, val.p,
			                          val.n, dst, cap, &res);
		} else if (mc_mime_param_get(params, where[w][1], &prm)) {
			size_t n = mc_mime_unquote(&prm, tmp);
			s = mc_ew_decode(tmp, n, 0, dst, cap, &res);
		} else {
			free(tmp);
			continue;
		}
		free(tmp);
		*written = res.written;
		return s;
	}
	return MC_EINVAL;
}
