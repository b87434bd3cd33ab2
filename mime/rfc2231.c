/* rfc2231.c: MIME parameter values. RFC 2231 sections 3 (continuations), 4
 * (charset and language), 7 (ABNF); RFC 2045 section 5.1 (token and
 * quoted-string values); RFC 2047 encoded words inside parameter values, a
 * violation old clients commit (filename="=?utf-8?B?...?=").
 *
 * Design note: decoding looks the parameter up among the caller's raw
 * (name, value) spans, sorts the sections of a continued value by number
 * (at most MAX_SECTIONS; insertion sort on the small array), and streams the
 * octets of every section, %-decoded or unquoted, through one charset
 * converter (see "ew design" in encword.c), so a character split between
 * sections survives and the charset is converted once, as TRICKY.md 12 asks.
 * Values without any charset go through the RFC 2047 decoder instead. */
#include <stdint.h>
#include <string.h>

#include "encword_internal.h"

#define MAX_SECTIONS 256
#define NAME_MAX_LEN 40
#define PIECE_MAX    76 /* " " + piece + ";" on a 78-column line */
#define JOIN_BUF     4096

/* ---- value iteration: unquoting, line breaks dropped ------------------------- */

struct vit {
	const char *p;
	size_t n, i;
	int quoted, unterminated;
};

static void trim(const char **p, size_t *n)
{
	while (*n && ((*p)[0] == ' ' || (*p)[0] == '\t' || (*p)[0] == '\r' || (*p)[0] == '\n')) {
		(*p)++;
		(*n)--;
	}
	while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t' || (*p)[*n - 1] == '\r' ||
	              (*p)[*n - 1] == '\n'))
		(*n)--;
}

static void vit_init(struct vit *v, const char *p, size_t n)
{
	if (!p)
		n = 0;
	trim(&p, &n);
	v->p = p;
	v->n = n;
	v->quoted = n > 0 && p[0] == '"';
	v->i = v->quoted ? 1 : 0;
	v->unterminated = v->quoted;
}

/* Next byte of the value's content; 0 at the end. *off: its offset in p. */
static int vit_next(struct vit *v, unsigned char *c, size_t *off)
{
	while (v->i < v->n) {
		char ch = v->p[v->i];

		if (ch == '\r' || ch == '\n') {
			v->i++;
			continue;
		}
		if (v->quoted) {
			if (ch == '"') {
				v->unterminated = 0;
				v->i = v->n;
				return 0;
			}
			if (ch == '\\' && v->i + 1 < v->n)
				v->i++;
		}
		*off = v->i;
		*c = (unsigned char)v->p[v->i++];
		return 1;
	}
	return 0;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ---- decoding ------------------------------------------------------------------ */

struct sect {
	unsigned long num;
	size_t idx;
	int enc;
};

struct p_dec {
	const struct mc_rfc2231_param *pr;
	struct mc_ew_result *res;
	struct mc_rfc2231_info *info;
};

static void p_warn(struct p_dec *d, unsigned bits, size_t idx, size_t off)
{
	if (!bits)
		return;
	if (!d->res->warnings) {
		d->info->warn_param = idx;
		d->res->warn_offset = off;
	}
	d->res->warnings |= bits;
}

/* Feeds the content of v from its current position, %-decoded if enc. */
static void feed_value(struct p_dec *d, struct mc__feed *f, struct vit *v, int enc, size_t idx)
{
	unsigned char buf[256], c;
	size_t k = 0, off;

	while (vit_next(v, &c, &off)) {
		if (enc && c == '%') {
			struct vit save = *v;
			unsigned char h1, h2;
			size_t o1, o2;

			if (vit_next(v, &h1, &o1) && vit_next(v, &h2, &o2) && hexval(h1) >= 0 &&
			    hexval(h2) >= 0) {
				c = (unsigned char)(hexval(h1) << 4 | hexval(h2));
			} else {
				*v = save;
				p_warn(d, MC_EW_W_PARAM, idx, off);
			}
		}
		buf[k++] = c;
		if (k == sizeof buf) {
			mc__feed_put(f, buf, k);
			k = 0;
		}
	}
	mc__feed_put(f, buf, k);
	if (v->unterminated)
		p_warn(d, MC_EW_W_PARAM, idx, v->n);
}

/* Positions of the first two '\'' in the raw value (SIZE_MAX: none). */
static void find_quotes(const struct vit *v, size_t *q1, size_t *q2)
{
	*q1 = *q2 = SIZE_MAX;
	for (size_t x = v->i; x < v->n; x++) {
		if (v->p[x] != '\'')
			continue;
		if (*q1 == SIZE_MAX) {
			*q1 = x;
		} else {
			*q2 = x;
			return;
		}
	}
}

/* Decodes extended sections s[0..ns) (one for name*) into f, opening its
 * converter with the charset of the first section. */
static void decode_extended(struct p_dec *d, const struct sect *s, size_t ns, struct mc__feed *f,
                            char *dst, size_t cap, size_t budget)
{
	const char *cs = NULL;
	size_t cslen = 0;

	for (size_t j = 0; j < ns; j++) {
		const struct mc_rfc2231_param *p = &d->pr[s[j].idx];
		struct vit v;

		vit_init(&v, p->value, p->value_len);
		if (j == 0) {
			size_t q1, q2;

			if (s[j].enc)
				find_quotes(&v, &q1, &q2);
			else
				q1 = q2 = SIZE_MAX;
			if (q1 != SIZE_MAX) {
				cs = v.p + v.i;
				cslen = q1 - v.i;
				d->info->charset = cs;
				d->info->charset_len = cslen;
				v.i = q1 + 1;
				if (q2 != SIZE_MAX) {
					d->info->lang = v.p + q1 + 1;
					d->info->lang_len = q2 - q1 - 1;
					v.i = q2 + 1;
				}
			}
			mc__conv_open(&f->conv, cs, cslen, dst, cap, 0);
			f->conv.budget = budget;
			f->n = 0;
			p_warn(d, f->conv.warnings, s[j].idx, 0);
		} else if (s[j].enc && cslen && v.n - v.i > cslen && v.p[v.i + cslen] == '\'' &&
		           mc__span_ieq(v.p + v.i, cslen, cs, cslen)) {
			/* the charset repeated in a later section (seen in the wild) */
			v.i += cslen + 1;
			if (v.i < v.n && v.p[v.i] == '\'')
				v.i++;
			p_warn(d, MC_EW_W_PARAM, s[j].idx, v.i);
		}
		feed_value(d, f, &v, s[j].enc, s[j].idx);
	}
}

/* Plain value(s) without charset: unquoted, RFC 2047 words decoded. */
static mc_status decode_plain(struct p_dec *d, const struct sect *s, size_t ns, char *dst,
                              size_t cap, size_t *o)
{
	char join[JOIN_BUF];
	size_t jn = 0, total = 0;
	struct mc_ew_result r;
	mc_status st;

	for (size_t j = 0; j < ns; j++)
		total += d->pr[s[j].idx].value_len;
	if (ns > 1 && total <= sizeof join) {
		/* Sections may split an encoded word: join them first. */
		for (size_t j = 0; j < ns; j++) {
			const struct mc_rfc2231_param *p = &d->pr[s[j].idx];
			struct vit v;
			unsigned char c;
			size_t off;

			vit_init(&v, p->value, p->value_len);
			while (vit_next(&v, &c, &off))
				join[jn++] = (char)c;
			if (v.unterminated)
				p_warn(d, MC_EW_W_PARAM, s[j].idx, v.n);
		}
		st = mc__ew_decode(join, jn, MC__EW_KEEPWS, dst, cap, &r);
		*o = r.written;
		p_warn(d, r.warnings, s[0].idx, 0);
		return st;
	}
	for (size_t j = 0; j < ns; j++) {
		const struct mc_rfc2231_param *p = &d->pr[s[j].idx];
		const char *v = p->value;
		size_t n = v ? p->value_len : 0;

		trim(&v, &n);
		st = mc__ew_decode(v, n, (n && v[0] == '"' ? MC_EW_PHRASE : 0) | MC__EW_KEEPWS,
		                   dst ? dst + *o : NULL, cap - *o, &r);
		*o += r.written;
		p_warn(d, r.warnings, s[j].idx, r.warn_offset);
		if (st != MC_OK)
			return st;
	}
	return MC_OK;
}

size_t mc_rfc2231_decode_bound(size_t total)
{
	return mc_ew_decode_bound(total);
}

static int parse_digits(const char *p, size_t n, unsigned long *num, size_t *used)
{
	size_t k = 0;

	*num = 0;
	while (k < n && k < 9 && p[k] >= '0' && p[k] <= '9')
		*num = *num * 10 + (unsigned long)(p[k++] - '0');
	*used = k;
	return k > 0 && !(k < n && p[k] >= '0' && p[k] <= '9');
}

mc_status mc_rfc2231_get(const struct mc_rfc2231_param *params, size_t count, const char *name,
                         size_t name_len, char *dst, size_t cap, struct mc_rfc2231_info *info,
                         struct mc_ew_result *res)
{
	struct sect sec[MAX_SECTIONS], one;
	struct p_dec d = {params, res, info};
	size_t nsec = 0, plain = SIZE_MAX, ext = SIZE_MAX, budget = 0, o = 0;
	struct mc__feed f;
	mc_status st = MC_OK;

	if (!res || !info)
		return MC_EINVAL;
	memset(res, 0, sizeof *res);
	memset(info, 0, sizeof *info);
	if ((!params && count) || !name || !name_len || (!dst && cap))
		return MC_EINVAL;
	for (size_t k = 0; k < count; k++) {
		const char *nm = params[k].name;
		size_t nl = nm ? params[k].name_len : 0, used;
		unsigned long num;
		int enc = 0;

		trim(&nm, &nl);
		if (nl < name_len || !mc__span_ieq(nm, name_len, name, name_len))
			continue;
		nm += name_len;
		nl -= name_len;
		if (nl == 0) {
			if (plain == SIZE_MAX)
				plain = k;
			else
				p_warn(&d, MC_EW_W_PARAM, k, 0);
			continue;
		}
		if (nm[0] != '*')
			continue; /* another parameter with a longer name */
		if (nl == 1) {
			if (ext == SIZE_MAX)
				ext = k;
			else
				p_warn(&d, MC_EW_W_PARAM, k, 0);
			continue;
		}
		if (!parse_digits(nm + 1, nl - 1, &num, &used))
			continue;
		if (1 + used < nl) {
			if (nm[1 + used] != '*' || 2 + used != nl)
				continue;
			enc = 1;
		}
		if (nsec == MAX_SECTIONS) {
			p_warn(&d, MC_EW_W_PARAM, k, 0);
			continue;
		}
		/* insertion sort, stable: duplicates keep their order */
		size_t j = nsec++;

		while (j > 0 && sec[j - 1].num > num) {
			sec[j] = sec[j - 1];
			j--;
		}
		sec[j].num = num;
		sec[j].idx = k;
		sec[j].enc = enc;
	}
	if (ext == SIZE_MAX && nsec == 0 && plain == SIZE_MAX)
		return MC_OK;
	info->found = 1;
	if (ext != SIZE_MAX || nsec) {
		int any_enc = ext != SIZE_MAX;
		size_t m = 0;

		info->extended = 1;
		if (ext != SIZE_MAX) {
			one.num = 0;
			one.idx = ext;
			one.enc = 1;
			memcpy(&sec[0], &one, sizeof one);
			nsec = 1;
		}
		/* drop duplicates, report gaps */
		for (size_t j = 0; j < nsec; j++) {
			if (m > 0 && sec[j].num == sec[m - 1].num) {
				p_warn(&d, MC_EW_W_PARAM, sec[j].idx, 0);
				continue;
			}
			if (sec[j].num != (m ? sec[m - 1].num + 1 : 0))
				p_warn(&d, MC_EW_W_PARAM, sec[j].idx, 0);
			any_enc |= sec[j].enc;
			budget += params[sec[j].idx].value ? params[sec[j].idx].value_len : 0;
			sec[m++] = sec[j];
		}
		nsec = m;
		if (!any_enc) {
			st = decode_plain(&d, sec, nsec, dst, cap, &o);
		} else {
			budget = mc_ew_decode_bound(budget);
			decode_extended(&d, sec, nsec, &f, dst, cap, budget);
			mc__feed_end(&f);
			mc__conv_close(&f.conv);
			o = f.conv.o;
			p_warn(&d, f.conv.warnings, sec[0].idx, 0);
			st = (mc_status)f.conv.status;
		}
	} else {
		one.num = 0;
		one.idx = plain;
		one.enc = 0;
		st = decode_plain(&d, &one, 1, dst, cap, &o);
	}
	res->written = o;
	if (st != MC_OK)
		res->err_offset = res->written;
	return st;
}

/* ---- encoding ------------------------------------------------------------------ */

/* RFC 2231 section 7 attribute-char */
static int attr_char(unsigned char c)
{
	return c > 0x20 && c < 0x7F && !strchr("*'%()<>@,;:\\\"/[]?=", c);
}

/* RFC 2045 token character */
static int token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7F && !strchr("()<>@,;:\\\"/[]?=", c);
}

struct p_out {
	char *dst;
	size_t cap, o, in_pos, fail_pos;
	int nospc;
	unsigned col;
	const char *eol;
};

static void p_put(struct p_out *w, const char *p, size_t k)
{
	if (w->nospc)
		return;
	if (w->dst) {
		if (k > w->cap - w->o) {
			w->nospc = 1;
			w->fail_pos = w->in_pos;
			return;
		}
		memcpy(w->dst + w->o, p, k);
	}
	w->o += k;
}

/* "; piece" or ";" fold " piece", keeping room for the next ';'. */
static void p_piece(struct p_out *w, const char *piece, size_t k)
{
	p_put(w, ";", 1);
	w->col++;
	if (w->col + 1 + k + 1 <= 78) {
		p_put(w, " ", 1);
		w->col++;
	} else {
		p_put(w, w->eol, strlen(w->eol));
		p_put(w, " ", 1);
		w->col = 1;
	}
	p_put(w, piece, k);
	w->col += (unsigned)k;
}

/* Appends "name*N" (N < 0: no section) to buf at *k. */
static void p_name(char *buf, size_t *k, const char *name, size_t nl, long sect)
{
	memcpy(buf + *k, name, nl);
	*k += nl;
	if (sect >= 0) {
		char digits[24];
		size_t nd = 0;
		unsigned long v = (unsigned long)sect;

		buf[(*k)++] = '*';
		do {
			digits[nd++] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		while (nd)
			buf[(*k)++] = digits[--nd];
	}
}

size_t mc_rfc2231_encode_bound(size_t name_len, size_t value_len)
{
	size_t per = name_len + 48;

	if (name_len > 4096 || value_len > (SIZE_MAX - 4096) / (3 + per))
		return SIZE_MAX;
	/* 3 per value byte; a section per 4 value bytes at worst, each costing
	 * the name, a number, "*=utf-8''" and a fold */
	return 3 * value_len + (value_len / 4 + 2) * per + 64;
}

mc_status mc_rfc2231_encode(const char *name, size_t name_len, const char *value, size_t value_len,
                            unsigned start_col, unsigned flags, char *dst, size_t cap,
                            struct mc_ew_result *res)
{
	static const char hex[] = "0123456789ABCDEF";
	struct p_out w = {
	    dst, dst ? cap : 0, 0, 0, 0, 0, start_col, (flags & MC_EW_LF) ? "\n" : "\r\n"};
	const unsigned char *s = (const unsigned char *)value;
	char piece[160];
	size_t k, x, bad, cost = 0;
	int printable = 1, tok = value_len > 0;
	long sect = 0;

	if (!res)
		return MC_EINVAL;
	memset(res, 0, sizeof *res);
	if (!name || name_len == 0 || name_len > NAME_MAX_LEN || (!value && value_len) ||
	    mc_rfc2231_encode_bound(name_len, value_len) == SIZE_MAX)
		return MC_EINVAL;
	for (x = 0; x < name_len; x++)
		if (!attr_char((unsigned char)name[x]))
			return MC_EINVAL;
	bad = mc__utf8_check(s, value_len);
	if (bad < value_len) {
		res->err_offset = bad;
		return MC_EBADCHAR;
	}
	for (x = 0; x < value_len; x++) {
		printable &= s[x] >= 0x20 && s[x] < 0x7F;
		/* "=?" in a plain value would read as an RFC 2047 word */
		printable &= !(s[x] == '=' && x + 1 < value_len && s[x + 1] == '?');
		tok &= token_char(s[x]);
		cost += attr_char(s[x]) ? 1 : 3;
	}
	if (printable) {
		size_t qlen = value_len + 2;

		for (x = 0; x < value_len; x++)
			qlen += s[x] == '"' || s[x] == '\\';
		if (name_len + 1 + (tok ? value_len : qlen) <= PIECE_MAX) {
			k = 0;
			p_name(piece, &k, name, name_len, -1);
			piece[k++] = '=';
			if (!tok)
				piece[k++] = '"';
			for (x = 0; x < value_len; x++) {
				if (!tok && (s[x] == '"' || s[x] == '\\'))
					piece[k++] = '\\';
				piece[k++] = (char)s[x];
			}
			if (!tok)
				piece[k++] = '"';
			p_piece(&w, piece, k);
			goto done;
		}
		/* name*0="..."; name*1="..." */
		for (x = 0; x < value_len; sect++) {
			k = 0;
			p_name(piece, &k, name, name_len, sect);
			piece[k++] = '=';
			piece[k++] = '"';
			w.in_pos = x;
			while (x < value_len) {
				int esc = s[x] == '"' || s[x] == '\\';

				if (k + 1 + (size_t)esc + 1 > PIECE_MAX)
					break;
				if (esc)
					piece[k++] = '\\';
				piece[k++] = (char)s[x++];
			}
			piece[k++] = '"';
			p_piece(&w, piece, k);
		}
		goto done;
	}
	if (name_len + 2 + 7 + cost <= PIECE_MAX)
		sect = -1; /* name*=utf-8''... fits one line */
	x = 0;
	do {
		k = 0;
		p_name(piece, &k, name, name_len, sect); /* sect -1: the single form */
		piece[k++] = '*';
		piece[k++] = '=';
		if (sect <= 0) {
			memcpy(piece + k, "utf-8''", 7);
			k += 7;
		}
		w.in_pos = x;
		while (x < value_len) {
			size_t cl = s[x] < 0x80 ? 1 : s[x] < 0xE0 ? 2 : s[x] < 0xF0 ? 3 : 4, c = 0;

			for (size_t j = 0; j < cl; j++)
				c += attr_char(s[x + j]) ? 1 : 3;
			if (k + c > PIECE_MAX)
				break;
			for (size_t j = 0; j < cl; j++, x++) {
				if (attr_char(s[x])) {
					piece[k++] = (char)s[x];
				} else {
					piece[k++] = '%';
					piece[k++] = hex[s[x] >> 4];
					piece[k++] = hex[s[x] & 15];
				}
			}
		}
		p_piece(&w, piece, k);
		sect++;
	} while (x < value_len);
done:
	res->written = w.o;
	if (w.nospc) {
		res->err_offset = w.fail_pos;
		return MC_ENOSPC;
	}
	return MC_OK;
}
