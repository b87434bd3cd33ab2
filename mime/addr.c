/* addr.c: address lists (RFC 5322 section 3.4 with the obsolete forms of
 * section 4.4: routes, empty list members, CFWS anywhere) as spans.
 *
 * Design note: one left-to-right pass per mailbox. Quoted strings and
 * comments are skipped as units (mc__skip_quoted, mc__skip_cfws are linear),
 * and the scan never goes back further than the start of the mailbox, so a
 * whole list costs O(n) however it is malformed. Nothing is decoded here;
 * mc_mime_phrase and mc_ew_decode (encword.h) turn names into text. */
#include <string.h>

#include "mime_internal.h"

static struct mc_span mk(const char *p, size_t a, size_t b)
{
	struct mc_span s;

	s.p = p + a;
	s.n = b > a ? b - a : 0;
	return s;
}

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static struct mc_span trim(struct mc_span s)
{
	while (s.n && is_space((unsigned char)*s.p)) {
		s.p++;
		s.n--;
	}
	while (s.n && is_space((unsigned char)s.p[s.n - 1]))
		s.n--;
	return s;
}

/* Splits an addr-spec at its last '@' outside quoted strings. */
static void split_addr(struct mc_mime_addr *a)
{
	const char *s = a->addr.p;
	size_t n = a->addr.n, at = n;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			i = mc__skip_quoted(s, n, i) - 1;
		else if (s[i] == '@')
			at = i;
	}
	a->local = trim(mk(s, 0, at));
	a->domain = at < n ? trim(mk(s, at + 1, n)) : mk(s, n, n);
	if (a->local.n && a->local.p[0] == '"')
		a->flags |= MC_ADDR_QUOTED_LOCAL;
}

/* Index after the comment starting at s[i] == '('. */
static size_t skip_comment(const char *s, size_t n, size_t i)
{
	size_t depth = 0;

	for (; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		else if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && --depth == 0)
			return i + 1;
	}
	return n;
}

int mc_mime_addr_next(struct mc_span v, size_t *pos, struct mc_mime_addr *a)
{
	const char *s = v.p;
	size_t n = v.n, i = *pos;

	memset(a, 0, sizeof *a);
	if (!s)
		return 0;
	for (;;) {
		size_t start, ph_end, c0 = 0, c1 = 0, ang0 = 0, ang1 = 0, end;
		int angle = 0, at = 0;

		for (;;) {
			i = mc__skip_cfws(s, n, i);
			if (i < n && s[i] == ',') {
				i++;
				continue;
			}
			break;
		}
		if (i >= n) {
			*pos = n;
			return 0;
		}
		if (s[i] == ';') {
			a->flags = MC_ADDR_GROUP_END;
			*pos = i + 1;
			return 1;
		}
		start = ph_end = i;
		while (i < n) {
			char c = s[i];

			if (c == '"') {
				i = mc__skip_quoted(s, n, i);
				ph_end = i;
				continue;
			}
			if (c == '(') {
				size_t e = skip_comment(s, n, i);
				if (!c1) {
					c0 = i + 1;
					c1 = e > c0 && s[e - 1] == ')' ? e - 1 : e;
				}
				i = e;
				continue;
			}
			if (c == '<') {
				angle = 1;
				ang0 = i + 1;
				for (i++; i < n && s[i] != '>'; i++)
					if (s[i] == '"')
						i = mc__skip_quoted(s, n, i) - 1;
				ang1 = i < n ? i : n;
				if (i < n)
					i++;
				/* anything up to the next separator is junk */
				while (i < n && s[i] != ',' && s[i] != ';') {
					if (s[i] == '"')
						i = mc__skip_quoted(s, n, i);
					else if (s[i] == '(')
						i = skip_comment(s, n, i);
					else
						i++;
				}
				break;
			}
			if (c == ':' && !at) {
				a->flags = MC_ADDR_GROUP_START;
				a->name = trim(mk(s, start, ph_end));
				*pos = i + 1;
				return 1;
			}
			if (c == ',' || c == ';')
				break;
			if (c == '@')
				at = 1;
			if (!is_space((unsigned char)c))
				ph_end = i + 1;
			i++;
		}
		end = i;
		if (angle) {
			size_t r = ang0;

			a->name = trim(mk(s, start, ang0 - 1));
			/* obs-route "@a,@b:" before the addr-spec */
			if (r < ang1 && s[r] == '@') {
				const char *colon = memchr(s + r, ':', ang1 - r);
				if (colon)
					r = (size_t)(colon - s) + 1;
			}
			a->addr = trim(mk(s, r, ang1));
		} else {
			a->addr = trim(mk(s, start, ph_end));
			if (c1)
				a->name = trim(mk(s, c0, c1));
		}
		/* strip a trailing comment inside the name, kept raw otherwise */
		split_addr(a);
		*pos = end < n && s[end] == ',' ? end + 1 : end;
		if (a->addr.n || a->name.n)
			return 1;
		i = *pos;
		if (i >= n)
			return 0;
		if (s[i] == ';')
			continue;
	}
}

size_t mc_mime_phrase(struct mc_span v, char *dst)
{
	const char *s = v.p;
	size_t n = v.n, o = 0, i = 0;
	int space = 0;

	while (i < n) {
		char c = s[i];

		if (is_space((unsigned char)c)) {
			space = o > 0;
			i++;
		} else if (c == '(') {
			i = skip_comment(s, n, i);
			space = o > 0;
		} else {
			if (space)
				dst[o++] = ' ';
			space = 0;
			if (c == '"') {
				for (i++; i < n && s[i] != '"'; i++) {
					if (s[i] == '\\' && i + 1 < n)
						i++;
					else if (s[i] == '\r' || s[i] == '\n')
						continue;
					dst[o++] = s[i];
				}
				i++;
			} else {
				dst[o++] = c;
				i++;
			}
		}
	}
	return o;
}
