/* compose.c: streaming MIME composer (mimecodec/compose.h).
 * RFC 5322 sections 2.1.1, 2.2.3, 3.3, 3.4, 3.6; RFC 2045 sections 5, 6;
 * RFC 2046 sections 4.1.1, 5.1, 5.2.1; RFC 2047; RFC 2231; RFC 2183;
 * RFC 2387; RFC 2392.
 *
 * Design note ("compose design"). mc_compose_prepare turns the parts into a
 * flat program of ops: literal text (every header block and boundary line,
 * laid out once into one capped buffer) and body ops (one per leaf, naming
 * its source, its canonicalisation and its transfer encoding). The exact
 * output size is the sum of the literal lengths and of each body's encoded
 * size, which is known before anything is produced: arithmetic for base64
 * and for copied bodies, measured by running the quoted-printable encoder
 * over the content for QP (the same pass that decides the encoding).
 * mc_compose_read then walks the program: literals are copied, a body is
 * read from its source in IN_CHUNK pieces, canonicalised and encoded either
 * straight into the caller's buffer (when it has room for the worst case of
 * one piece) or into a staging buffer drained on later calls. Nothing grows
 * with the body sizes.
 *
 * Boundaries: "=_mc" and 28 random characters of [0-9A-Za-z] (166 bits).
 * Base64 and quoted-printable output cannot contain a boundary line: base64
 * lines hold only [A-Za-z0-9+/] and final '=' padding, never '-' or '_', and
 * in quoted-printable every '=' is followed by two hex digits or ends the
 * line, so "=_" never occurs. Those bodies are not scanned. Every body
 * written as it is (7bit, 8bit, binary) was read in full while its encoding
 * was chosen, and that pass compares the start of each of its lines with
 * "--" and every boundary; a match makes a text or attachment body take
 * QP or base64 and makes a forwarded message draw new boundaries. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/random.h>
#endif

#include "mimecodec/base64.h"
#include "mimecodec/compose.h"
#include "mimecodec/encword.h"
#include "mimecodec/qp.h"
#include "compose_internal.h"
#include "encword_internal.h"

#define BLEN          MC__COMPOSE_BOUNDARY_LEN
#define IN_CHUNK      (64u * 1024u) /* source bytes per body step */
#define WRITE_CHUNK   (256u * 1024u)
#define MAX_PARTS     1000
#define MAX_ADDRS     10000
#define MAX_HEADERS   1000
#define MAX_LIT_BYTES (8u << 20) /* all header text of one message */
#define MAX_STR       (64u * 1024u)
#define LINE_MAX_COLS 78
#define MAX_RETRIES   8
#define QP_FLAGS      MC_QP_CRLF
#define B64_WRAP      76
#define B64_FLAGS     MC_B64_CRLF

/* ---- allocation ----------------------------------------------------------------- */

struct mc_compose;
static void *xalloc(struct mc_compose *c, size_t n);
static void xfree(struct mc_compose *c, void *p);

/* ---- the composition ------------------------------------------------------------ */

enum src_type { SRC_MEM, SRC_FILE, SRC_USER };
enum part_kind { K_TEXT, K_ATTACH, K_MESSAGE };
enum part_role { R_TEXT, R_HTML, R_ATTACH, R_INLINE };
enum part_enc { PE_7BIT, PE_8BIT, PE_BINARY, PE_QP, PE_B64 };
enum canon_mode { CANON_NONE, CANON_TEXT, CANON_MSG };

struct src {
	int type;
	const unsigned char *mem;
	size_t memlen;
	int fd;
	struct mc_compose_source user;
	uint64_t pos;  /* mem, file: next offset */
	uint64_t size; /* bytes the source gives, or MC_COMPOSE_SIZE_UNKNOWN */
	int dirty;     /* read since the last rewind */
};

struct part {
	int kind, role, req_enc;
	char *ctype, *filename, *cid, *charset;
	struct src src;
	int enc;           /* enum part_enc, chosen by prepare */
	unsigned qp_flags; /* PE_QP: QP_FLAGS, plus MC_QP_BINARY for content with
	                      bare CR or LF that must come back exactly */
	uint64_t out_size; /* exact encoded size, or MC_COMPOSE_SIZE_UNKNOWN */
	uint64_t in_size;  /* exact source bytes, or MC_COMPOSE_SIZE_UNKNOWN */
};

struct addr {
	char *name, *addr;
};

struct addrlist {
	struct addr *v;
	size_t n, cap;
};

struct xheader {
	char *name, *value;
};

struct sbuf {
	char *p;
	size_t n, cap;
	mc_status err;
};

/* Canonical line ends: CANON_TEXT turns a LF not preceded by CR into CRLF
 * (RFC 2046 section 4.1.1; a lone CR stays, as quoted-printable keeps it
 * as =0D); CANON_MSG turns every CR, LF and CRLF into CRLF (a message as
 * SMTP will carry it). Output is at most twice the input. */
struct canon {
	int mode;
	int prev_cr;
};

enum op_type { OP_LIT, OP_BODY, OP_END };

struct op {
	int type;
	size_t off, len; /* OP_LIT: span of c->lit */
	struct part *p;  /* OP_BODY */
};

struct ent {
	int multi;
	const char *sub;      /* multipart subtype */
	const char *rel_type; /* multipart/related: type= */
	struct part *leaf;
	struct ent **kids;
	size_t nkids;
	int bidx; /* boundary index */
	int cls;  /* PE_7BIT, PE_8BIT or PE_BINARY: what its content needs */
};

struct mc_compose {
	struct mc_mime_allocator a;
	size_t held;
	mc__compose_rng rng;
	void *rng_ctx;

	struct addr from;
	struct addrlist to, cc, reply_to;
	char *subject, *msgid;
	int64_t date;
	int have_date;
	struct xheader *xh;
	size_t nxh, xhcap;
	struct part **parts;
	size_t nparts, partcap;
	struct part *text, *html;

	/* prepared */
	int prepared;
	char bnd[3][BLEN + 1];
	size_t nbnd;
	struct sbuf lit;
	struct op *ops;
	size_t nops, opcap;
	struct ent *ents;
	struct ent **kidv;
	size_t nents;
	struct mc_compose_info info;

	/* production */
	unsigned char *ibuf, *cbuf; /* source staging (IN_CHUNK), canonical (2 * IN_CHUNK) */
	char *obuf;                 /* encoder staging */
	size_t obuf_cap, olen, opos;
	char *wbuf;
	size_t opi, litpos;
	int body_open, body_eof;
	uint64_t body_in, body_out;
	struct canon cn;
	struct mc_b64_encoder b64;
	struct mc_qp_encoder qp;
	mc_status prep_err; /* sticky: from prepare */
	mc_status err;      /* sticky until rewind: from production */
};

static void *def_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n);
}

static void def_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

/* Every block carries its size in front so held bytes can be counted. */
static void *xalloc(struct mc_compose *c, size_t n)
{
	size_t *b;

	if (n > SIZE_MAX - 16)
		return NULL;
	b = c->a.alloc(c->a.ctx, n + 16);
	if (!b)
		return NULL;
	b[0] = n;
	c->held += n;
	return (char *)b + 16;
}

static void xfree(struct mc_compose *c, void *p)
{
	size_t *b;

	if (!p)
		return;
	b = (size_t *)(void *)((char *)p - 16);
	c->held -= b[0];
	c->a.free(c->a.ctx, b);
}

/* Grows an array to hold `need` elements; returns MC_OK, MC_ENOMEM. */
static mc_status grow(struct mc_compose *c, void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *nv;

	if (need <= *cap)
		return MC_OK;
	ncap = *cap ? *cap * 2 : 8;
	while (ncap < need)
		ncap *= 2;
	nv = xalloc(c, ncap * elem);
	if (!nv)
		return MC_ENOMEM;
	if (*arr && *cap)
		memcpy(nv, *arr, *cap * elem);
	xfree(c, *arr);
	*arr = nv;
	*cap = ncap;
	return MC_OK;
}

static char *xstrdup(struct mc_compose *c, const char *s)
{
	size_t n = strlen(s);
	char *d = xalloc(c, n + 1);

	if (d)
		memcpy(d, s, n + 1);
	return d;
}

/* ---- the capped literal buffer ---------------------------------------------------- */

static char *sb_room(struct mc_compose *c, struct sbuf *b, size_t n)
{
	if (b->err)
		return NULL;
	if (n > MAX_LIT_BYTES || b->n > MAX_LIT_BYTES - n) {
		b->err = MC_ELIMIT;
		return NULL;
	}
	if (b->n + n > b->cap) {
		size_t ncap = b->cap ? b->cap : 4096;
		char *np;

		while (ncap < b->n + n)
			ncap *= 2;
		np = xalloc(c, ncap);
		if (!np) {
			b->err = MC_ENOMEM;
			return NULL;
		}
		if (b->n)
			memcpy(np, b->p, b->n);
		xfree(c, b->p);
		b->p = np;
		b->cap = ncap;
	}
	return b->p + b->n;
}

static void sb_put(struct mc_compose *c, struct sbuf *b, const void *p, size_t n)
{
	char *d = sb_room(c, b, n);

	if (d && n) {
		memcpy(d, p, n);
		b->n += n;
	}
}

static void sb_puts(struct mc_compose *c, struct sbuf *b, const char *s)
{
	sb_put(c, b, s, strlen(s));
}

/* Column of the end of the buffer: bytes since the last LF. */
static size_t sb_col(const struct sbuf *b)
{
	size_t i = b->n;

	while (i > 0 && b->p[i - 1] != '\n')
		i--;
	return b->n - i;
}

/* ---- validation ---------------------------------------------------------------------- */

/* CR, LF or NUL anywhere: MC_EHEADER. */
static mc_status check_inj(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
			return MC_EHEADER;
	return MC_OK;
}

static mc_status check_text(const char *s)
{
	size_t n;

	if (!s)
		return MC_EINVAL;
	n = strlen(s);
	if (n > MAX_STR)
		return MC_ELIMIT;
	if (check_inj(s, n))
		return MC_EHEADER;
	if (mc__utf8_check((const unsigned char *)s, n) != n)
		return MC_EBADCHAR;
	return MC_OK;
}

mc_status mc_compose_check_addr(const char *s, size_t n)
{
	size_t at = SIZE_MAX;

	if (!s)
		return MC_EINVAL;
	if (check_inj(s, n))
		return MC_EHEADER;
	if (n == 0 || n > 998)
		return MC_EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)s[i];

		if (b <= ' ' || b == 0x7f || strchr("<>(),;\"\\", b))
			return MC_EINVAL;
		if (b == '@')
			at = i;
	}
	if (at == SIZE_MAX || at == 0 || at == n - 1)
		return MC_EINVAL;
	if (mc__utf8_check((const unsigned char *)s, n) != n)
		return MC_EINVAL;
	return MC_OK;
}

/* Printable ASCII without white space and angle brackets: Message-ID and
 * Content-ID. */
static mc_status check_id(const char *s, int need_at)
{
	size_t n;

	if (!s)
		return MC_EINVAL;
	n = strlen(s);
	if (check_inj(s, n))
		return MC_EHEADER;
	if (n == 0 || n > 900)
		return MC_EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)s[i];

		if (b <= ' ' || b >= 0x7f || b == '<' || b == '>' || b == '"' || b == '\\')
			return MC_EINVAL;
	}
	if (need_at && !strchr(s, '@'))
		return MC_EINVAL;
	return MC_OK;
}

static int is_tok(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)s[i];

		if (b <= ' ' || b >= 0x7f || strchr("()<>@,;:\\\"/[]?=", b))
			return 0;
	}
	return 1;
}

static mc_status check_ctype(const char *s)
{
	const char *sl;
	size_t n = strlen(s);

	if (check_inj(s, n))
		return MC_EHEADER;
	sl = strchr(s, '/');
	if (!sl || n > 127 || !is_tok(s, (size_t)(sl - s)) ||
	    !is_tok(sl + 1, n - (size_t)(sl - s) - 1))
		return MC_EINVAL;
	return MC_OK;
}

static int ieq_n(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x += 32;
		if (y >= 'A' && y <= 'Z')
			y += 32;
		if (x != y)
			return 0;
	}
	return 1;
}

static int ieq(const char *a, const char *b)
{
	size_t n = strlen(a);

	return n == strlen(b) && ieq_n(a, b, n);
}

static int iprefix(const char *s, const char *pre)
{
	size_t n = strlen(pre);

	return strlen(s) >= n && ieq_n(s, pre, n);
}

/* ---- randomness -------------------------------------------------------------------- */

static void rnd_bytes(struct mc_compose *c, unsigned char *buf, size_t n)
{
	size_t got = 0;

	if (c->rng) {
		c->rng(c->rng_ctx, buf, n);
		return;
	}
#if defined(__linux__)
	while (got < n) {
		ssize_t r = getrandom(buf + got, n - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
#endif
	if (got < n) {
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

		while (fd >= 0 && got < n) {
			ssize_t r = read(fd, buf + got, n - got);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		if (fd >= 0)
			close(fd);
	}
	/* Last resort (no entropy source at all): a clock- and address-mixed
	 * xorshift. Uniqueness, not secrecy, is what boundaries need, and they
	 * are checked against the content anyway. */
	if (got < n) {
		struct timespec ts;
		uint64_t x;

		clock_gettime(CLOCK_REALTIME, &ts);
		x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)(uintptr_t)c;
		for (; got < n; got++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[got] = (unsigned char)(x >> 32);
		}
	}
}

/* n characters of [0-9A-Za-z], unbiased (bytes >= 248 are redrawn). */
static void rnd_alnum(struct mc_compose *c, char *out, size_t n)
{
	static const char al[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned char b[64];
	size_t k = 0;

	while (k < n) {
		rnd_bytes(c, b, sizeof b);
		for (size_t i = 0; i < sizeof b && k < n; i++)
			if (b[i] < 248)
				out[k++] = al[b[i] % 62];
	}
}

void mc__compose_set_rng(struct mc_compose *c, mc__compose_rng fn, void *ctx)
{
	c->rng = fn;
	c->rng_ctx = ctx;
}

const char *mc__compose_boundary(const struct mc_compose *c, size_t k)
{
	return c->prepared && k < c->nbnd ? c->bnd[k] : NULL;
}

size_t mc__compose_held(const struct mc_compose *c)
{
	return c->held;
}

/* ---- sources ---------------------------------------------------------------------- */

static mc_status src_rewind(struct src *s)
{
	if (!s->dirty)
		return MC_OK;
	s->pos = 0;
	if (s->type == SRC_USER) {
		mc_status st;

		if (!s->user.rewind)
			return MC_EUNSUPPORTED;
		st = s->user.rewind(s->user.ctx);
		if (st)
			return st;
	}
	s->dirty = 0;
	return MC_OK;
}

/* Next piece of at most cap bytes: *p points into the source (memory) or
 * buf. *n = 0 at the end. */
static mc_status src_read(struct src *s, unsigned char *buf, size_t cap, const unsigned char **p,
                          size_t *n)
{
	s->dirty = 1;
	*n = 0;
	*p = buf;
	if (s->type == SRC_MEM) {
		size_t left = s->memlen - (size_t)s->pos;

		*n = left < cap ? left : cap;
		*p = s->mem + s->pos;
		s->pos += *n;
		return MC_OK;
	}
	if (s->type == SRC_FILE) {
		for (;;) {
			ssize_t r = pread(s->fd, buf, cap, (off_t)s->pos);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return MC_EIO;
			*n = (size_t)r;
			s->pos += *n;
			return MC_OK;
		}
	}
	{
		size_t got = 0;
		mc_status st = s->user.read(s->user.ctx, buf, cap, &got);

		if (st)
			return st;
		if (got > cap)
			return MC_EIO;
		*n = got;
		return MC_OK;
	}
}

static int src_can_rewind(const struct src *s)
{
	return s->type != SRC_USER || s->user.rewind;
}

/* ---- canonical line ends ----------------------------------------------------------- */

static size_t canon_update(struct canon *cn, const unsigned char *p, size_t n, unsigned char *out)
{
	size_t o = 0;

	if (cn->mode == CANON_TEXT) {
		for (size_t i = 0; i < n; i++) {
			unsigned char b = p[i];

			if (b == '\n' && !cn->prev_cr)
				out[o++] = '\r';
			out[o++] = b;
			cn->prev_cr = b == '\r';
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			unsigned char b = p[i];

			if (b == '\r') {
				out[o++] = '\r';
				out[o++] = '\n';
				cn->prev_cr = 1;
				continue;
			}
			if (b == '\n' && cn->prev_cr) {
				cn->prev_cr = 0;
				continue;
			}
			if (b == '\n')
				out[o++] = '\r';
			out[o++] = b;
			cn->prev_cr = 0;
		}
	}
	return o;
}

/* ---- building ---------------------------------------------------------------------- */

mc_status mc_compose_new(struct mc_compose **out, const struct mc_mime_allocator *alloc)
{
	struct mc_mime_allocator a = {def_alloc, def_free, NULL};
	struct mc_compose tmp, *c;

	if (!out)
		return MC_EINVAL;
	*out = NULL;
	if (alloc) {
		if (!alloc->alloc || !alloc->free)
			return MC_EINVAL;
		a = *alloc;
	}
	memset(&tmp, 0, sizeof tmp);
	tmp.a = a;
	c = xalloc(&tmp, sizeof *c);
	if (!c)
		return MC_ENOMEM;
	*c = tmp;
	*out = c;
	return MC_OK;
}

static void free_part(struct mc_compose *c, struct part *p)
{
	if (!p)
		return;
	xfree(c, p->ctype);
	xfree(c, p->filename);
	xfree(c, p->cid);
	xfree(c, p->charset);
	if (p->src.type == SRC_FILE && p->src.fd >= 0)
		close(p->src.fd);
	xfree(c, p);
}

static void free_addrs(struct mc_compose *c, struct addrlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		xfree(c, l->v[i].name);
		xfree(c, l->v[i].addr);
	}
	xfree(c, l->v);
}

void mc_compose_free(struct mc_compose *c)
{
	struct mc_compose tmp;

	if (!c)
		return;
	xfree(c, c->from.name);
	xfree(c, c->from.addr);
	free_addrs(c, &c->to);
	free_addrs(c, &c->cc);
	free_addrs(c, &c->reply_to);
	xfree(c, c->subject);
	xfree(c, c->msgid);
	for (size_t i = 0; i < c->nxh; i++) {
		xfree(c, c->xh[i].name);
		xfree(c, c->xh[i].value);
	}
	xfree(c, c->xh);
	for (size_t i = 0; i < c->nparts; i++)
		free_part(c, c->parts[i]);
	xfree(c, c->parts);
	free_part(c, c->text);
	free_part(c, c->html);
	xfree(c, c->lit.p);
	xfree(c, c->ops);
	xfree(c, c->ents);
	xfree(c, c->kidv);
	xfree(c, c->ibuf);
	xfree(c, c->cbuf);
	xfree(c, c->obuf);
	xfree(c, c->wbuf);
	tmp = *c;
	xfree(&tmp, c);
}

static mc_status make_addr(struct mc_compose *c, const char *name, const char *addr,
                           struct addr *out)
{
	mc_status st;

	if (!c || !addr)
		return MC_EINVAL;
	if (c->prepared)
		return MC_EINVAL;
	st = mc_compose_check_addr(addr, strlen(addr));
	if (st)
		return st;
	if (name && *name && (st = check_text(name)))
		return st;
	out->addr = xstrdup(c, addr);
	out->name = name && *name ? xstrdup(c, name) : NULL;
	if (!out->addr || (name && *name && !out->name)) {
		xfree(c, out->addr);
		xfree(c, out->name);
		return MC_ENOMEM;
	}
	return MC_OK;
}

static mc_status add_addr(struct mc_compose *c, struct addrlist *l, const char *name,
                          const char *addr)
{
	struct addr a;
	mc_status st;

	if (!c)
		return MC_EINVAL;
	if (c->to.n + c->cc.n + c->reply_to.n >= MAX_ADDRS)
		return MC_ELIMIT;
	if ((st = make_addr(c, name, addr, &a)))
		return st;
	if ((st = grow(c, (void **)&l->v, &l->cap, l->n + 1, sizeof *l->v))) {
		xfree(c, a.addr);
		xfree(c, a.name);
		return st;
	}
	l->v[l->n++] = a;
	return MC_OK;
}

mc_status mc_compose_set_from(struct mc_compose *c, const char *name, const char *addr)
{
	struct addr a;
	mc_status st;

	if (!c)
		return MC_EINVAL;
	if ((st = make_addr(c, name, addr, &a)))
		return st;
	xfree(c, c->from.name);
	xfree(c, c->from.addr);
	c->from = a;
	return MC_OK;
}

mc_status mc_compose_add_to(struct mc_compose *c, const char *name, const char *addr)
{
	return c ? add_addr(c, &c->to, name, addr) : MC_EINVAL;
}

mc_status mc_compose_add_cc(struct mc_compose *c, const char *name, const char *addr)
{
	return c ? add_addr(c, &c->cc, name, addr) : MC_EINVAL;
}

mc_status mc_compose_add_reply_to(struct mc_compose *c, const char *name, const char *addr)
{
	return c ? add_addr(c, &c->reply_to, name, addr) : MC_EINVAL;
}

mc_status mc_compose_set_subject(struct mc_compose *c, const char *subject)
{
	mc_status st;
	char *d;

	if (!c || c->prepared)
		return MC_EINVAL;
	if ((st = check_text(subject)))
		return st;
	if (!(d = xstrdup(c, subject)))
		return MC_ENOMEM;
	xfree(c, c->subject);
	c->subject = d;
	return MC_OK;
}

mc_status mc_compose_set_date(struct mc_compose *c, int64_t t)
{
	if (!c || c->prepared)
		return MC_EINVAL;
	/* Years 1900..9999, so the date always has four digits. */
	if (t < -2208988800LL || t > 253402300799LL)
		return MC_EINVAL;
	c->date = t;
	c->have_date = 1;
	return MC_OK;
}

mc_status mc_compose_set_message_id(struct mc_compose *c, const char *id)
{
	mc_status st;
	char *d;

	if (!c || c->prepared)
		return MC_EINVAL;
	if ((st = check_id(id, 1)))
		return st;
	if (!(d = xstrdup(c, id)))
		return MC_ENOMEM;
	xfree(c, c->msgid);
	c->msgid = d;
	return MC_OK;
}

static int reserved_name(const char *n)
{
	static const char *const names[] = {"from",     "to",          "cc",   "bcc",
	                                    "reply-to", "subject",     "date", "message-id",
	                                    "sender",   "mime-version"};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (ieq(n, names[i]))
			return 1;
	return iprefix(n, "content-");
}

mc_status mc_compose_add_header(struct mc_compose *c, const char *name, const char *value)
{
	struct xheader h;
	size_t n;
	mc_status st;

	if (!c || !name || !value || c->prepared)
		return MC_EINVAL;
	n = strlen(name);
	if (check_inj(name, n))
		return MC_EHEADER;
	if (n == 0 || n > 76 || reserved_name(name))
		return MC_EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] <= ' ' || (unsigned char)name[i] >= 0x7f ||
		    name[i] == ':')
			return MC_EINVAL;
	if ((st = check_text(value)))
		return st;
	if (c->nxh >= MAX_HEADERS)
		return MC_ELIMIT;
	h.name = xstrdup(c, name);
	h.value = xstrdup(c, value);
	if (!h.name || !h.value ||
	    grow(c, (void **)&c->xh, &c->xhcap, c->nxh + 1, sizeof *c->xh) != MC_OK) {
		xfree(c, h.name);
		xfree(c, h.value);
		return MC_ENOMEM;
	}
	c->xh[c->nxh++] = h;
	return MC_OK;
}

static struct part *new_part(struct mc_compose *c)
{
	struct part *p = xalloc(c, sizeof *p);

	if (p) {
		memset(p, 0, sizeof *p);
		p->src.fd = -1;
		p->out_size = p->in_size = MC_COMPOSE_SIZE_UNKNOWN;
		p->qp_flags = QP_FLAGS;
	}
	return p;
}

static mc_status set_body(struct mc_compose *c, struct part **slot, int role, const void *p,
                          size_t n)
{
	struct part *pt;

	if (!c || (!p && n) || c->prepared)
		return MC_EINVAL;
	if (!(pt = new_part(c)))
		return MC_ENOMEM;
	pt->kind = K_TEXT;
	pt->role = role;
	pt->ctype = xstrdup(c, role == R_HTML ? "text/html" : "text/plain");
	pt->charset = xstrdup(c, "utf-8");
	if (!pt->ctype || !pt->charset) {
		free_part(c, pt);
		return MC_ENOMEM;
	}
	pt->src.type = SRC_MEM;
	pt->src.mem = p;
	pt->src.memlen = n;
	pt->src.size = n;
	free_part(c, *slot);
	*slot = pt;
	return MC_OK;
}

mc_status mc_compose_set_text(struct mc_compose *c, const void *p, size_t n)
{
	return c ? set_body(c, &c->text, R_TEXT, p, n) : MC_EINVAL;
}

mc_status mc_compose_set_html(struct mc_compose *c, const void *p, size_t n)
{
	return c ? set_body(c, &c->html, R_HTML, p, n) : MC_EINVAL;
}

/* Media type from a file name's extension. */
static const char *guess_type(const char *fn)
{
	static const char *const map[][2] = {
	    {"txt", "text/plain"},        {"text", "text/plain"},
	    {"log", "text/plain"},        {"csv", "text/csv"},
	    {"htm", "text/html"},         {"html", "text/html"},
	    {"css", "text/css"},          {"md", "text/markdown"},
	    {"ics", "text/calendar"},     {"xml", "application/xml"},
	    {"json", "application/json"}, {"pdf", "application/pdf"},
	    {"zip", "application/zip"},   {"gz", "application/gzip"},
	    {"png", "image/png"},         {"jpg", "image/jpeg"},
	    {"jpeg", "image/jpeg"},       {"gif", "image/gif"},
	    {"webp", "image/webp"},       {"svg", "image/svg+xml"},
	    {"mp3", "audio/mpeg"},        {"mp4", "video/mp4"},
	    {"eml", "message/rfc822"},    {"doc", "application/msword"},
	    {"tar", "application/x-tar"}, {"bin", "application/octet-stream"},
	};
	const char *dot = fn ? strrchr(fn, '.') : NULL;

	if (dot && dot[1])
		for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
			if (ieq(dot + 1, map[i][0]))
				return map[i][1];
	return "application/octet-stream";
}

static int is_message_type(const char *t)
{
	return ieq(t, "message/rfc822") || ieq(t, "message/global");
}

static mc_status add_part(struct mc_compose *c, const struct mc_compose_attachment *a,
                          const struct src *src, const char *fallback_name)
{
	const char *fn = a->filename ? a->filename : fallback_name;
	const char *ct = a->content_type;
	size_t fnl = 0;
	struct part *p;
	mc_status st;

	if (c->prepared)
		return MC_EINVAL;
	if (fn && (st = check_text(fn)))
		return st;
	/* White space at the ends of a file name is dropped: readers (ours,
	 * Python's, GMime) trim parameter values, so it would not survive. */
	if (fn) {
		while (*fn == ' ' || *fn == '\t')
			fn++;
		fnl = strlen(fn);
		while (fnl && (fn[fnl - 1] == ' ' || fn[fnl - 1] == '\t'))
			fnl--;
		if (fnl == 0)
			fn = NULL;
	}
	if (!ct)
		ct = guess_type(fn);
	if ((st = check_ctype(ct)))
		return st;
	if (iprefix(ct, "multipart/"))
		return MC_EINVAL;
	if (a->content_id && (st = check_id(a->content_id, 0)))
		return st;
	if (a->charset) {
		size_t n = strlen(a->charset);

		if (check_inj(a->charset, n))
			return MC_EHEADER;
		if (!is_tok(a->charset, n) || n > 60)
			return MC_EINVAL;
	}
	if (a->encoding < MC_COMPOSE_ENC_AUTO || a->encoding > MC_COMPOSE_ENC_QP)
		return MC_EINVAL;
	if (is_message_type(ct) && (a->encoding != MC_COMPOSE_ENC_AUTO || !src_can_rewind(src)))
		return MC_EINVAL;
	if (a->encoding == MC_COMPOSE_ENC_QP && !src_can_rewind(src))
		return MC_EINVAL;
	if (c->nparts >= MAX_PARTS)
		return MC_ELIMIT;
	if ((st = grow(c, (void **)&c->parts, &c->partcap, c->nparts + 1, sizeof *c->parts)))
		return st;
	if (!(p = new_part(c)))
		return MC_ENOMEM;
	p->kind = is_message_type(ct) ? K_MESSAGE : K_ATTACH;
	p->role = a->content_id ? R_INLINE : R_ATTACH;
	p->req_enc = a->encoding;
	p->ctype = xstrdup(c, ct);
	if (fn && (p->filename = xalloc(c, fnl + 1))) {
		memcpy(p->filename, fn, fnl);
		p->filename[fnl] = '\0';
	}
	p->cid = a->content_id ? xstrdup(c, a->content_id) : NULL;
	p->charset = a->charset ? xstrdup(c, a->charset) : NULL;
	p->src = *src;
	if (!p->ctype || (fn && !p->filename) || (a->content_id && !p->cid) ||
	    (a->charset && !p->charset)) {
		p->src.fd = -1; /* the caller closes it on error */
		free_part(c, p);
		return MC_ENOMEM;
	}
	c->parts[c->nparts++] = p;
	return MC_OK;
}

mc_status mc_compose_attach_mem(struct mc_compose *c, const struct mc_compose_attachment *a,
                                const void *p, size_t n)
{
	struct src s;

	if (!c || !a || (!p && n))
		return MC_EINVAL;
	memset(&s, 0, sizeof s);
	s.type = SRC_MEM;
	s.fd = -1;
	s.mem = p;
	s.memlen = n;
	s.size = n;
	return add_part(c, a, &s, NULL);
}

mc_status mc_compose_attach_file(struct mc_compose *c, const struct mc_compose_attachment *a,
                                 const char *path)
{
	struct src s;
	struct stat sb;
	const char *base;
	mc_status st;

	if (!c || !a || !path || c->prepared)
		return MC_EINVAL;
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	/* Check the name before opening, so a bad one leaks nothing. */
	if (!a->filename && *base && (st = check_text(base)))
		return st;
	memset(&s, 0, sizeof s);
	s.type = SRC_FILE;
	s.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s.fd < 0)
		return MC_EIO;
	if (fstat(s.fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		int e = errno;

		close(s.fd);
		errno = e;
		return S_ISREG(sb.st_mode) ? MC_EIO : MC_EINVAL;
	}
	s.size = (uint64_t)sb.st_size;
	st = add_part(c, a, &s, *base ? base : NULL);
	if (st)
		close(s.fd);
	return st;
}

mc_status mc_compose_attach_source(struct mc_compose *c, const struct mc_compose_attachment *a,
                                   const struct mc_compose_source *src)
{
	struct src s;

	if (!c || !a || !src || !src->read)
		return MC_EINVAL;
	memset(&s, 0, sizeof s);
	s.type = SRC_USER;
	s.fd = -1;
	s.user = *src;
	s.size = src->size;
	return add_part(c, a, &s, NULL);
}

/* ---- choosing transfer encodings ------------------------------------------------------ */

struct scan {
	uint64_t raw, out, qp, qpbin;
	uint64_t col, maxline;
	int prev_cr, bol;
	int has8bit, hasnul, lonecr, lonelf, collide;
	size_t nhead;
	char head[2 + BLEN];
};

static void scan_feed(struct mc_compose *c, struct scan *s, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char b = p[i];

		if (s->prev_cr && b != '\n')
			s->lonecr = 1;
		if (b == '\n') {
			uint64_t len = s->col - (s->prev_cr ? 1 : 0);

			if (len > s->maxline)
				s->maxline = len;
			if (!s->prev_cr)
				s->lonelf = 1;
			s->col = 0;
			s->bol = 1;
			s->nhead = 0;
			s->prev_cr = 0;
			continue;
		}
		s->prev_cr = b == '\r';
		s->has8bit |= b >= 0x80;
		s->hasnul |= b == 0;
		s->col++;
		if (s->bol) {
			s->head[s->nhead++] = (char)b;
			if (s->nhead == sizeof s->head) {
				s->bol = 0;
				for (size_t k = 0; k < c->nbnd; k++)
					if (s->head[0] == '-' && s->head[1] == '-' &&
					    memcmp(s->head + 2, c->bnd[k], BLEN) == 0)
						s->collide = 1;
			}
		}
	}
	s->out += n;
}

static void scan_end(struct scan *s)
{
	if (s->col - (s->prev_cr ? 1 : 0) > s->maxline)
		s->maxline = s->col - (s->prev_cr ? 1 : 0);
	if (s->prev_cr)
		s->lonecr = 1;
}

static uint64_t b64_size(uint64_t n)
{
	if (n == MC_COMPOSE_SIZE_UNKNOWN || n > SIZE_MAX)
		return MC_COMPOSE_SIZE_UNKNOWN;
	return mc_b64_encoded_size((size_t)n, B64_WRAP, B64_FLAGS);
}

static int is_text_type(const char *t)
{
	return iprefix(t, "text/");
}

static int part_canon(const struct part *p)
{
	return p->kind == K_TEXT ? CANON_TEXT : p->kind == K_MESSAGE ? CANON_MSG : CANON_NONE;
}

/* Reads the part once (when that can change the decision) and sets its
 * encoding and sizes. Returns MC_OK or a source error; *redraw is set when
 * a forwarded message holds a line that is one of the boundaries. */
static mc_status choose_encoding(struct mc_compose *c, struct part *p, int *redraw)
{
	struct scan s;
	struct canon cn = {part_canon(p), 0};
	struct mc_qp_encoder qe, qeb;
	int measure_qp, qp_ok, text = is_text_type(p->ctype) || p->kind == K_TEXT;
	uint64_t known = p->src.size;
	mc_status st;

	if (p->kind == K_ATTACH && p->req_enc == MC_COMPOSE_ENC_BASE64) {
		p->enc = PE_B64;
		p->in_size = known;
		p->out_size = b64_size(known);
		if (known != MC_COMPOSE_SIZE_UNKNOWN || !src_can_rewind(&p->src))
			return MC_OK;
	} else if (p->kind == K_ATTACH && !src_can_rewind(&p->src)) {
		p->enc = PE_B64;
		p->in_size = known;
		p->out_size = b64_size(known);
		return MC_OK;
	}
	if ((st = src_rewind(&p->src)))
		return st;
	memset(&s, 0, sizeof s);
	s.bol = 1;
	measure_qp =
	    p->kind == K_TEXT || (p->kind == K_ATTACH && text) || p->req_enc == MC_COMPOSE_ENC_QP;
	if (p->req_enc == MC_COMPOSE_ENC_BASE64)
		measure_qp = 0;
	mc_qp_encoder_init(&qe, QP_FLAGS);
	mc_qp_encoder_init(&qeb, QP_FLAGS | MC_QP_BINARY);
	p->qp_flags = QP_FLAGS;
	for (;;) {
		const unsigned char *in;
		size_t n, m;

		if ((st = src_read(&p->src, c->ibuf,
		                   cn.mode != CANON_NONE ? IN_CHUNK / 2 : IN_CHUNK, &in, &n)))
			return st;
		if (n == 0)
			break;
		s.raw += n;
		if (p->req_enc == MC_COMPOSE_ENC_BASE64)
			continue; /* counting the size only */
		if (cn.mode != CANON_NONE) {
			m = canon_update(&cn, in, n, c->cbuf);
			in = c->cbuf;
		} else {
			m = n;
		}
		scan_feed(c, &s, in, m);
		if (measure_qp)
			s.qp += mc_qp_encode_update(&qe, in, m, c->obuf);
		/* Asked-for QP of an attachment must give its bytes back even
		 * with bare CR or LF: binary QP is measured too. */
		if (p->kind == K_ATTACH && p->req_enc == MC_COMPOSE_ENC_QP)
			s.qpbin += mc_qp_encode_update(&qeb, in, m, c->obuf);
		/* An attachment that can be neither 7bit nor QP is base64: stop
		 * reading when its size is known anyway. */
		if (p->kind == K_ATTACH && known != MC_COMPOSE_SIZE_UNKNOWN) {
			int no7 = s.has8bit || s.hasnul || s.lonecr || s.lonelf || s.maxline > 78 ||
			          s.col > 78;
			int noqp = !measure_qp || s.lonecr || s.lonelf || s.qp > b64_size(known);

			if (no7 && noqp && p->req_enc == MC_COMPOSE_ENC_AUTO) {
				p->enc = PE_B64;
				p->in_size = known;
				p->out_size = b64_size(known);
				return MC_OK;
			}
		}
	}
	if (known != MC_COMPOSE_SIZE_UNKNOWN && s.raw != known)
		return MC_EIO;
	p->in_size = s.raw;
	if (p->req_enc == MC_COMPOSE_ENC_BASE64) {
		p->out_size = b64_size(s.raw);
		return MC_OK;
	}
	if (measure_qp)
		s.qp += mc_qp_encode_final(&qe, c->obuf);
	s.qpbin += mc_qp_encode_final(&qeb, c->obuf);
	scan_end(&s);
	if (p->kind == K_MESSAGE) {
		if (s.collide) {
			*redraw = 1;
			return MC_OK;
		}
		p->enc = s.hasnul || s.maxline > 998 ? PE_BINARY : s.has8bit ? PE_8BIT : PE_7BIT;
		p->out_size = s.out;
		return MC_OK;
	}
	if (p->req_enc == MC_COMPOSE_ENC_QP) {
		p->enc = PE_QP;
		p->out_size = s.qp;
		if (p->kind == K_ATTACH && (s.lonecr || s.lonelf)) {
			p->qp_flags = QP_FLAGS | MC_QP_BINARY;
			p->out_size = s.qpbin;
		}
		return MC_OK;
	}
	if (!s.has8bit && !s.hasnul && !s.lonecr && !s.lonelf && s.maxline <= LINE_MAX_COLS &&
	    !s.collide) {
		p->enc = PE_7BIT;
		p->out_size = s.out;
		return MC_OK;
	}
	qp_ok = measure_qp && (p->kind == K_TEXT || (!s.lonecr && !s.lonelf));
	if (qp_ok && s.qp <= b64_size(s.out)) {
		p->enc = PE_QP;
		p->out_size = s.qp;
	} else {
		p->enc = PE_B64;
		p->out_size = b64_size(s.out);
	}
	return MC_OK;
}

/* ---- header text ------------------------------------------------------------------- */

static void put_crlf(struct mc_compose *c)
{
	sb_put(c, &c->lit, "\r\n", 2);
}

/* Encoded-word or parameter output of one of the encword calls, measured
 * first, then written into the literal buffer. */
static mc_status put_ew(struct mc_compose *c, const char *v, size_t n, unsigned col, unsigned flags)
{
	struct mc_ew_result r;
	mc_status st = mc_ew_encode(v, n, col, flags, NULL, 0, &r);
	char *d;

	if (st)
		return st;
	if (!(d = sb_room(c, &c->lit, r.written)))
		return c->lit.err;
	st = mc_ew_encode(v, n, col, flags, d, r.written, &r);
	if (st)
		return st;
	c->lit.n += r.written;
	return MC_OK;
}

static mc_status put_param(struct mc_compose *c, const char *name, const char *v)
{
	struct mc_ew_result r;
	size_t nn = strlen(name), vn = strlen(v);
	unsigned col = (unsigned)sb_col(&c->lit);
	mc_status st = mc_rfc2231_encode(name, nn, v, vn, col, 0, NULL, 0, &r);
	char *d;

	if (st)
		return st;
	if (!(d = sb_room(c, &c->lit, r.written)))
		return c->lit.err;
	st = mc_rfc2231_encode(name, nn, v, vn, col, 0, d, r.written, &r);
	if (st)
		return st;
	c->lit.n += r.written;
	return MC_OK;
}

/* Unstructured field: "Name: value" with encoded words and folding. */
static mc_status put_unstructured(struct mc_compose *c, const char *name, const char *v)
{
	size_t nl = strlen(name);
	mc_status st;

	sb_put(c, &c->lit, name, nl);
	if (!*v) {
		sb_puts(c, &c->lit, ":\r\n");
		return c->lit.err;
	}
	sb_puts(c, &c->lit, ": ");
	if ((st = put_ew(c, v, strlen(v), (unsigned)nl + 2, 0)))
		return st;
	put_crlf(c);
	return c->lit.err;
}

/* A display name that can go out as it is or as one quoted string: printable
 * ASCII with single inner spaces. *quote: it needs the quotes. */
static int plain_name(const char *s, int *quote)
{
	size_t n = strlen(s);

	*quote = 0;
	if (n == 0 || s[0] == ' ' || s[n - 1] == ' ')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)s[i];

		if (b < ' ' || b > '~')
			return 0;
		if (b == ' ' && s[i + 1] == ' ')
			return 0;
		if (!((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
		      b == ' ' || strchr("!#$%&'*+-/=?^_`{|}~", b)))
			*quote = 1;
	}
	/* "=?" would read as an encoded word. */
	return strstr(s, "=?") == NULL;
}

/* One address field, folded between and inside mailboxes. */
static mc_status put_addrs(struct mc_compose *c, const char *field, const struct addr *v, size_t n)
{
	size_t col;
	mc_status st;

	sb_puts(c, &c->lit, field);
	sb_put(c, &c->lit, ":", 1);
	col = strlen(field) + 1;
	for (size_t i = 0; i < n; i++) {
		size_t al = strlen(v[i].addr), tail = i + 1 < n ? 1 : 0;
		int quote;

		if (i > 0) {
			sb_put(c, &c->lit, ",", 1);
			col++;
		}
		if (v[i].name) {
			size_t nl = strlen(v[i].name), w = 0;

			if (plain_name(v[i].name, &quote)) {
				w = nl + (quote ? 2 : 0);
				for (size_t k = 0; quote && k < nl; k++)
					w += v[i].name[k] == '"' || v[i].name[k] == '\\';
			}
			if (w && 1 + w <= LINE_MAX_COLS) {
				if (col + 1 + w > LINE_MAX_COLS) {
					sb_puts(c, &c->lit, "\r\n");
					col = 0;
				}
				sb_put(c, &c->lit, " ", 1);
				if (quote)
					sb_put(c, &c->lit, "\"", 1);
				for (size_t k = 0; k < nl; k++) {
					if (quote && (v[i].name[k] == '"' || v[i].name[k] == '\\'))
						sb_put(c, &c->lit, "\\", 1);
					sb_put(c, &c->lit, v[i].name + k, 1);
				}
				if (quote)
					sb_put(c, &c->lit, "\"", 1);
				col += 1 + w;
			} else {
				/* A name that does not fit where it would start begins a
				 * line: adjacent encoded words of one phrase are then
				 * rarer, which matters to Python's email package (policy
				 * default keeps the white space between them in
				 * address fields, against RFC 2047 section 6.2). */
				struct mc_ew_result r;

				if (col > 1 && (mc_ew_encode(v[i].name, nl, (unsigned)col + 1,
				                             MC_EW_PHRASE, NULL, 0, &r) != MC_OK ||
				                col + 1 + r.written > LINE_MAX_COLS)) {
					sb_puts(c, &c->lit, "\r\n");
					col = 0;
				}
				sb_put(c, &c->lit, " ", 1);
				if ((st =
				         put_ew(c, v[i].name, nl, (unsigned)col + 1, MC_EW_PHRASE)))
					return st;
				if (c->lit.err)
					return c->lit.err;
				col = sb_col(&c->lit);
			}
			if (col + 3 + al + tail > LINE_MAX_COLS) {
				sb_puts(c, &c->lit, "\r\n");
				col = 0;
			}
			sb_puts(c, &c->lit, " <");
			sb_puts(c, &c->lit, v[i].addr);
			sb_puts(c, &c->lit, ">");
			col += 3 + al;
		} else {
			if (col + 1 + al + tail > LINE_MAX_COLS && col > 1) {
				sb_puts(c, &c->lit, "\r\n");
				col = 0;
			}
			sb_put(c, &c->lit, " ", 1);
			sb_puts(c, &c->lit, v[i].addr);
			col += 1 + al;
		}
	}
	put_crlf(c);
	return c->lit.err;
}

/* "Name: <id>", or "Name:" CRLF " <id>" when it does not fit. */
static void put_id_field(struct mc_compose *c, const char *field, const char *id)
{
	sb_puts(c, &c->lit, field);
	if (strlen(field) + 4 + strlen(id) > LINE_MAX_COLS)
		sb_puts(c, &c->lit, ":\r\n <");
	else
		sb_puts(c, &c->lit, ": <");
	sb_puts(c, &c->lit, id);
	sb_puts(c, &c->lit, ">\r\n");
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's
 * algorithm), to get the zone offset without timegm. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int64_t tm_seconds(const struct tm *t)
{
	return days_from_civil((int64_t)t->tm_year + 1900, (unsigned)t->tm_mon + 1,
	                       (unsigned)t->tm_mday) *
	           86400 +
	       t->tm_hour * 3600 + t->tm_min * 60 + t->tm_sec;
}

static mc_status put_date(struct mc_compose *c)
{
	static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)c->date;
	struct tm lt, gt;
	char buf[64];
	long off;
	int len;

	if (!localtime_r(&t, &lt) || !gmtime_r(&t, &gt))
		return MC_EINVAL;
	off = (long)((tm_seconds(&lt) - tm_seconds(&gt)) / 60);
	len = snprintf(buf, sizeof buf, "Date: %s, %d %s %04d %02d:%02d:%02d %c%02ld%02ld\r\n",
	               wd[lt.tm_wday % 7], lt.tm_mday, mo[lt.tm_mon % 12], lt.tm_year + 1900,
	               lt.tm_hour, lt.tm_min, lt.tm_sec, off < 0 ? '-' : '+', labs(off) / 60,
	               labs(off) % 60);
	if (len <= 0 || (size_t)len >= sizeof buf)
		return MC_EINVAL;
	sb_put(c, &c->lit, buf, (size_t)len);
	return c->lit.err;
}

/* name="=?UTF-8?B?...?=" for old clients: base64 words of at most 42 bytes
 * (56 characters, 68 with the delimiters), never splitting a character,
 * one per line after the first, so every line stays within 78 columns
 * with the quotes and a following ';'. */
static mc_status put_name2047(struct mc_compose *c, const char *fn)
{
	const unsigned char *s = (const unsigned char *)fn;
	size_t n = strlen(fn), i = 0;
	char enc[64];

	sb_puts(c, &c->lit, ";\r\n name=\"");
	while (i < n) {
		size_t k = i, sub;

		while (k < n) {
			size_t l = mc__utf8_seq(s + k, n - k, &sub);

			if (l == 0)
				l = 1;
			if (k + l - i > 42)
				break;
			k += l;
		}
		if (i > 0)
			sb_puts(c, &c->lit, "\r\n ");
		sb_puts(c, &c->lit, "=?UTF-8?B?");
		sb_put(c, &c->lit, enc, mc_b64_encode(s + i, k - i, enc, 0, 0));
		sb_puts(c, &c->lit, "?=");
		i = k;
	}
	sb_puts(c, &c->lit, "\"");
	return c->lit.err;
}

static const char *enc_name(int e)
{
	switch (e) {
	case PE_8BIT:
		return "8bit";
	case PE_BINARY:
		return "binary";
	case PE_QP:
		return "quoted-printable";
	case PE_B64:
		return "base64";
	default:
		return "7bit";
	}
}

static mc_status put_leaf_headers(struct mc_compose *c, const struct part *p)
{
	mc_status st;

	sb_puts(c, &c->lit, "Content-Type: ");
	sb_puts(c, &c->lit, p->ctype);
	if (p->charset && (st = put_param(c, "charset", p->charset)))
		return st;
	if (p->filename) {
		/* Plain name= when filename= is plain too; else encoded words. */
		struct mc_ew_result r;
		size_t fl = strlen(p->filename);
		char probe[160];

		st = mc_rfc2231_encode("name", 4, p->filename, fl, 1, 0, NULL, 0, &r);
		if (st)
			return st;
		if (r.written < sizeof probe &&
		    mc_rfc2231_encode("name", 4, p->filename, fl, 1, 0, probe, sizeof probe, &r) ==
		        MC_OK &&
		    !memchr(probe, '*', r.written))
			st = put_param(c, "name", p->filename);
		else
			st = put_name2047(c, p->filename);
		if (st)
			return st;
	}
	put_crlf(c);
	sb_puts(c, &c->lit, "Content-Transfer-Encoding: ");
	sb_puts(c, &c->lit, enc_name(p->enc));
	put_crlf(c);
	if (p->cid)
		put_id_field(c, "Content-ID", p->cid);
	if (p->kind != K_TEXT) {
		sb_puts(c, &c->lit,
		        p->role == R_INLINE ? "Content-Disposition: inline"
		                            : "Content-Disposition: attachment");
		if (p->filename && (st = put_param(c, "filename", p->filename)))
			return st;
		put_crlf(c);
	}
	return c->lit.err;
}

static mc_status put_top_headers(struct mc_compose *c)
{
	mc_status st;

	if ((st = put_date(c)))
		return st;
	if ((st = put_addrs(c, "From", &c->from, 1)))
		return st;
	if (c->reply_to.n && (st = put_addrs(c, "Reply-To", c->reply_to.v, c->reply_to.n)))
		return st;
	if (c->to.n && (st = put_addrs(c, "To", c->to.v, c->to.n)))
		return st;
	if (c->cc.n && (st = put_addrs(c, "Cc", c->cc.v, c->cc.n)))
		return st;
	if (c->subject && (st = put_unstructured(c, "Subject", c->subject)))
		return st;
	put_id_field(c, "Message-ID", c->msgid);
	for (size_t i = 0; i < c->nxh; i++)
		if ((st = put_unstructured(c, c->xh[i].name, c->xh[i].value)))
			return st;
	sb_puts(c, &c->lit, "MIME-Version: 1.0\r\n");
	return c->lit.err;
}

/* ---- the program of ops ---------------------------------------------------------------- */

static mc_status op_lit_end(struct mc_compose *c, size_t start)
{
	struct op *o;

	if (c->lit.err)
		return c->lit.err;
	if (c->lit.n == start)
		return MC_OK;
	if (c->nops && c->ops[c->nops - 1].type == OP_LIT &&
	    c->ops[c->nops - 1].off + c->ops[c->nops - 1].len == start) {
		c->ops[c->nops - 1].len += c->lit.n - start;
		return MC_OK;
	}
	if (grow(c, (void **)&c->ops, &c->opcap, c->nops + 2, sizeof *c->ops))
		return MC_ENOMEM;
	o = &c->ops[c->nops++];
	o->type = OP_LIT;
	o->off = start;
	o->len = c->lit.n - start;
	o->p = NULL;
	return MC_OK;
}

static mc_status op_body(struct mc_compose *c, struct part *p)
{
	struct op *o;

	if (grow(c, (void **)&c->ops, &c->opcap, c->nops + 2, sizeof *c->ops))
		return MC_ENOMEM;
	o = &c->ops[c->nops++];
	memset(o, 0, sizeof *o);
	o->type = OP_BODY;
	o->p = p;
	return MC_OK;
}

static int ent_class(struct ent *e)
{
	int cls = PE_7BIT;

	if (!e->multi) {
		int en = e->leaf->enc;

		return en == PE_8BIT || en == PE_BINARY ? en : PE_7BIT;
	}
	for (size_t i = 0; i < e->nkids; i++) {
		int k = ent_class(e->kids[i]);

		if (k > cls)
			cls = k;
	}
	return e->cls = cls;
}

/* Lays out one entity (headers and body). Depth is at most 4. */
static mc_status emit(struct mc_compose *c, struct ent *e, int root)
{
	size_t start = c->lit.n;
	mc_status st;

	if (root && (st = put_top_headers(c)))
		return st;
	if (!e->multi) {
		if ((st = put_leaf_headers(c, e->leaf)))
			return st;
		put_crlf(c);
		if ((st = op_lit_end(c, start)))
			return st;
		return op_body(c, e->leaf);
	}
	sb_puts(c, &c->lit, "Content-Type: multipart/");
	sb_puts(c, &c->lit, e->sub);
	if (e->rel_type && (st = put_param(c, "type", e->rel_type)))
		return st;
	if ((st = put_param(c, "boundary", c->bnd[e->bidx])))
		return st;
	put_crlf(c);
	if (e->cls != PE_7BIT) {
		sb_puts(c, &c->lit, "Content-Transfer-Encoding: ");
		sb_puts(c, &c->lit, enc_name(e->cls));
		put_crlf(c);
	}
	put_crlf(c);
	for (size_t i = 0; i < e->nkids; i++) {
		sb_puts(c, &c->lit, i ? "\r\n--" : "--");
		sb_put(c, &c->lit, c->bnd[e->bidx], BLEN);
		put_crlf(c);
		if ((st = op_lit_end(c, start)))
			return st;
		if ((st = emit(c, e->kids[i], 0)))
			return st;
		start = c->lit.n;
	}
	sb_puts(c, &c->lit, "\r\n--");
	sb_put(c, &c->lit, c->bnd[e->bidx], BLEN);
	sb_puts(c, &c->lit, "--");
	if (root)
		put_crlf(c);
	return op_lit_end(c, start);
}

/* Builds the entity tree (see compose.h for the structure). */
static mc_status build_tree(struct mc_compose *c, struct ent **root)
{
	size_t nleaf = c->nparts + 2, ninl = 0, natt = 0;
	struct ent *html = NULL, *text = NULL, *body = NULL, *e;
	size_t kv = 0;

	c->nents = 0;
	c->ents = xalloc(c, (nleaf + 4) * sizeof *c->ents);
	c->kidv = xalloc(c, (nleaf + 8) * sizeof *c->kidv);
	if (!c->ents || !c->kidv)
		return MC_ENOMEM;
	memset(c->ents, 0, (nleaf + 4) * sizeof *c->ents);
#define NEW_ENT() (&c->ents[c->nents++])
	for (size_t i = 0; i < c->nparts; i++) {
		if (c->parts[i]->role == R_INLINE)
			ninl++;
		else
			natt++;
	}
	if (c->text) {
		text = NEW_ENT();
		text->leaf = c->text;
	}
	if (c->html) {
		html = NEW_ENT();
		html->leaf = c->html;
	}
	if (ninl && (html || text)) {
		struct ent *doc = html ? html : text;

		e = NEW_ENT();
		e->multi = 1;
		e->sub = "related";
		e->rel_type = html ? "text/html" : "text/plain";
		e->kids = c->kidv + kv;
		e->kids[e->nkids++] = doc;
		for (size_t i = 0; i < c->nparts; i++)
			if (c->parts[i]->role == R_INLINE) {
				struct ent *l = NEW_ENT();

				l->leaf = c->parts[i];
				e->kids[e->nkids++] = l;
			}
		kv += e->nkids;
		if (html)
			html = e;
		else
			text = e;
	}
	if (text && html) {
		body = NEW_ENT();
		body->multi = 1;
		body->sub = "alternative";
		body->kids = c->kidv + kv;
		body->kids[body->nkids++] = text;
		body->kids[body->nkids++] = html;
		kv += 2;
	} else {
		body = text ? text : html;
	}
	if (natt || (ninl && !body)) {
		e = NEW_ENT();
		e->multi = 1;
		e->sub = "mixed";
		e->kids = c->kidv + kv;
		if (body)
			e->kids[e->nkids++] = body;
		for (size_t i = 0; i < c->nparts; i++)
			if (c->parts[i]->role == R_ATTACH || !(html || text)) {
				struct ent *l = NEW_ENT();

				l->leaf = c->parts[i];
				e->kids[e->nkids++] = l;
			}
		kv += e->nkids;
		body = e;
	}
	if (!body) {
		/* No part at all: an empty text/plain body. */
		mc_status st = mc_compose_set_text(c, "", 0);

		if (st)
			return st;
		body = NEW_ENT();
		body->leaf = c->text;
	}
#undef NEW_ENT
	*root = body;
	return MC_OK;
}

/* Numbers the multiparts in the order they are written. */
static void number_multis(struct mc_compose *c, struct ent *e)
{
	if (!e->multi)
		return;
	e->bidx = (int)c->nbnd++;
	for (size_t i = 0; i < e->nkids; i++)
		number_multis(c, e->kids[i]);
}

static void draw_boundaries(struct mc_compose *c)
{
	for (size_t k = 0; k < c->nbnd; k++) {
		memcpy(c->bnd[k], "=_mc", 4);
		rnd_alnum(c, c->bnd[k] + 4, BLEN - 4);
		c->bnd[k][BLEN] = '\0';
		/* Distinct, so none is a prefix of another (same length). */
		for (size_t j = 0; j < k; j++)
			if (memcmp(c->bnd[j], c->bnd[k], BLEN) == 0)
				k--;
	}
}

static mc_status make_msgid(struct mc_compose *c)
{
	const char *dom = strrchr(c->from.addr, '@') + 1;
	char id[1024];
	size_t dl = strlen(dom);
	int ascii = dl > 0 && dl < 900;
	int len;

	for (size_t i = 0; ascii && i < dl; i++)
		if ((unsigned char)dom[i] <= ' ' || (unsigned char)dom[i] >= 0x7f ||
		    strchr("<>\"\\[]", dom[i]))
			ascii = 0;
	rnd_alnum(c, id, 32);
	len = snprintf(id + 32, sizeof id - 32, ".%lld@%s", (long long)c->date,
	               ascii ? dom : "mimecodec.invalid");
	if (len <= 0 || (size_t)len >= sizeof id - 32)
		return MC_EINVAL;
	if (!(c->msgid = xstrdup(c, id)))
		return MC_ENOMEM;
	return MC_OK;
}

static mc_status alloc_buffers(struct mc_compose *c)
{
	size_t qb = mc_qp_encode_bound(IN_CHUNK, QP_FLAGS);
	size_t bb = mc_b64_encode_bound(IN_CHUNK, B64_WRAP, B64_FLAGS);

	c->obuf_cap = (qb > bb ? qb : bb) + MC_QP_ENCODE_FINAL_MAX + MC_B64_FINAL_MAX;
	c->ibuf = xalloc(c, IN_CHUNK);
	c->cbuf = xalloc(c, IN_CHUNK); /* canonical text of IN_CHUNK / 2 source bytes */
	c->obuf = xalloc(c, c->obuf_cap);
	return c->ibuf && c->cbuf && c->obuf ? MC_OK : MC_ENOMEM;
}

static void all_parts(struct mc_compose *c, struct part **v, size_t *n)
{
	*n = 0;
	if (c->text)
		v[(*n)++] = c->text;
	if (c->html)
		v[(*n)++] = c->html;
	for (size_t i = 0; i < c->nparts; i++)
		v[(*n)++] = c->parts[i];
}

static mc_status do_prepare(struct mc_compose *c)
{
	struct ent *root;
	struct part **pv;
	size_t np;
	mc_status st = MC_OK;
	int tries = 0;

	if (!c->from.addr || (c->to.n == 0 && c->cc.n == 0))
		return MC_EINVAL;
	if (!c->have_date) {
		c->date = (int64_t)time(NULL);
		c->have_date = 1;
	}
	if ((st = alloc_buffers(c)))
		return st;
	if ((st = build_tree(c, &root)))
		return st;
	c->nbnd = 0;
	number_multis(c, root);
	pv = xalloc(c, (c->nparts + 2) * sizeof *pv);
	if (!pv)
		return MC_ENOMEM;
	all_parts(c, pv, &np);
	for (int redraw = 1; redraw && st == MC_OK; tries++) {
		if (tries == MAX_RETRIES) {
			st = MC_ELIMIT;
			break;
		}
		redraw = 0;
		draw_boundaries(c);
		for (size_t i = 0; i < np && st == MC_OK && !redraw; i++)
			st = choose_encoding(c, pv[i], &redraw);
	}
	xfree(c, pv);
	if (st)
		return st;
	if (!c->msgid && (st = make_msgid(c)))
		return st;
	ent_class(root);
	if ((st = emit(c, root, 1)))
		return st;
	if (grow(c, (void **)&c->ops, &c->opcap, c->nops + 1, sizeof *c->ops))
		return MC_ENOMEM;
	c->ops[c->nops].type = OP_END;
	c->info.size = c->lit.n;
	c->info.body_type = root->multi ? root->cls : ent_class(root);
	c->info.body_type = c->info.body_type == PE_BINARY ? MC_COMPOSE_BODY_BINARYMIME
	                    : c->info.body_type == PE_8BIT ? MC_COMPOSE_BODY_8BITMIME
	                                                   : MC_COMPOSE_BODY_7BIT;
	c->info.nparts = c->nents;
	for (size_t i = 0; i < c->nops; i++) {
		struct part *p = c->ops[i].p;

		if (c->ops[i].type != OP_BODY)
			continue;
		if (p->out_size == MC_COMPOSE_SIZE_UNKNOWN ||
		    c->info.size == MC_COMPOSE_SIZE_UNKNOWN)
			c->info.size = MC_COMPOSE_SIZE_UNKNOWN;
		else
			c->info.size += p->out_size;
	}
	return MC_OK;
}

mc_status mc_compose_prepare(struct mc_compose *c, struct mc_compose_info *info)
{
	if (!c)
		return MC_EINVAL;
	if (!c->prepared) {
		mc_status st = do_prepare(c);

		c->prepared = 1;
		c->prep_err = st; /* sticky: every later call repeats it */
	}
	if (c->prep_err)
		return c->prep_err;
	if (info)
		*info = c->info;
	return MC_OK;
}

/* ---- production ------------------------------------------------------------------ */

/* Worst case one body step writes. */
static size_t step_bound(const struct part *p)
{
	switch (p->enc) {
	case PE_QP:
		return mc_qp_encode_bound(IN_CHUNK, QP_FLAGS) + MC_QP_ENCODE_FINAL_MAX;
	case PE_B64:
		return mc_b64_encode_bound(IN_CHUNK, B64_WRAP, B64_FLAGS) + MC_B64_FINAL_MAX;
	default:
		return IN_CHUNK;
	}
}

/* One step of a body into dst (room for step_bound): returns bytes written,
 * sets c->err on failure, advances to the next op at the end. */
static size_t body_step(struct mc_compose *c, struct part *p, char *dst)
{
	const unsigned char *in;
	size_t n, m, o = 0;
	mc_status st;

	if (!c->body_open) {
		if ((st = src_rewind(&p->src))) {
			c->err = st;
			return 0;
		}
		c->cn.mode = part_canon(p);
		c->cn.prev_cr = 0;
		mc_b64_encoder_init(&c->b64, B64_WRAP, B64_FLAGS);
		mc_qp_encoder_init(&c->qp, p->qp_flags);
		c->body_in = c->body_out = 0;
		c->body_open = 1;
	}
	/* Canonicalised kinds read half a chunk: their output may double. */
	if ((st = src_read(&p->src, c->ibuf, c->cn.mode != CANON_NONE ? IN_CHUNK / 2 : IN_CHUNK,
	                   &in, &n))) {
		c->err = st;
		return 0;
	}
	c->body_in += n;
	if (n == 0) {
		if (p->enc == PE_B64)
			o = mc_b64_encode_final(&c->b64, dst);
		else if (p->enc == PE_QP)
			o = mc_qp_encode_final(&c->qp, dst);
		c->body_out += o;
		if ((p->in_size != MC_COMPOSE_SIZE_UNKNOWN && c->body_in != p->in_size) ||
		    (p->out_size != MC_COMPOSE_SIZE_UNKNOWN && c->body_out != p->out_size)) {
			c->err = MC_EIO;
			return 0;
		}
		c->body_open = 0;
		c->opi++;
		return o;
	}
	if (p->in_size != MC_COMPOSE_SIZE_UNKNOWN && c->body_in > p->in_size) {
		c->err = MC_EIO;
		return 0;
	}
	if (c->cn.mode != CANON_NONE) {
		m = canon_update(&c->cn, in, n, c->cbuf);
		in = c->cbuf;
	} else {
		m = n;
	}
	switch (p->enc) {
	case PE_B64:
		o = mc_b64_encode_update(&c->b64, in, m, dst);
		break;
	case PE_QP:
		o = mc_qp_encode_update(&c->qp, in, m, dst);
		break;
	default:
		memcpy(dst, in, m);
		o = m;
	}
	c->body_out += o;
	if (p->out_size != MC_COMPOSE_SIZE_UNKNOWN && c->body_out > p->out_size) {
		c->err = MC_EIO;
		return 0;
	}
	return o;
}

mc_status mc_compose_read(struct mc_compose *c, void *buf, size_t cap, size_t *got)
{
	char *out = buf;
	size_t g = 0;
	mc_status st;

	if (got)
		*got = 0;
	if (!c || !got || (!buf && cap))
		return MC_EINVAL;
	if ((st = mc_compose_prepare(c, NULL)))
		return st;
	while (g < cap && !c->err) {
		struct op *op;

		if (c->opos < c->olen) {
			size_t k = c->olen - c->opos < cap - g ? c->olen - c->opos : cap - g;

			memcpy(out + g, c->obuf + c->opos, k);
			c->opos += k;
			g += k;
			continue;
		}
		op = &c->ops[c->opi];
		if (op->type == OP_END)
			break;
		if (op->type == OP_LIT) {
			size_t left = op->len - c->litpos;
			size_t k = left < cap - g ? left : cap - g;

			memcpy(out + g, c->lit.p + op->off + c->litpos, k);
			c->litpos += k;
			g += k;
			if (c->litpos == op->len) {
				c->litpos = 0;
				c->opi++;
			}
			continue;
		}
		if (cap - g >= step_bound(op->p)) {
			g += body_step(c, op->p, out + g);
		} else {
			c->olen = body_step(c, op->p, c->obuf);
			c->opos = 0;
		}
	}
	*got = g;
	/* Bytes already produced are returned with the error on the next call. */
	return g ? MC_OK : c->err;
}

mc_status mc_compose_rewind(struct mc_compose *c)
{
	mc_status st;

	if (!c)
		return MC_EINVAL;
	if ((st = mc_compose_prepare(c, NULL)))
		return st;
	for (size_t i = 0; i < c->nops; i++)
		if (c->ops[i].type == OP_BODY && c->ops[i].p->src.dirty &&
		    !src_can_rewind(&c->ops[i].p->src))
			return MC_EUNSUPPORTED;
	c->opi = c->litpos = c->olen = c->opos = 0;
	c->body_open = 0;
	c->err = MC_OK;
	return MC_OK;
}

mc_status mc_compose_pull(void *ctx, void *buf, size_t cap, size_t *got)
{
	return mc_compose_read(ctx, buf, cap, got);
}

mc_status mc_compose_pull_rewind(void *ctx)
{
	return mc_compose_rewind(ctx);
}

mc_status mc_compose_write(struct mc_compose *c, mc_compose_sink sink, void *ctx)
{
	mc_status st;

	if (!c || !sink)
		return MC_EINVAL;
	if ((st = mc_compose_prepare(c, NULL)))
		return st;
	if (!c->wbuf && !(c->wbuf = xalloc(c, WRITE_CHUNK)))
		return MC_ENOMEM;
	for (;;) {
		size_t got;

		if ((st = mc_compose_read(c, c->wbuf, WRITE_CHUNK, &got)))
			return st;
		if (got == 0)
			return MC_OK;
		if (sink(ctx, c->wbuf, got))
			return MC_EIO;
	}
}

static int fd_sink(void *ctx, const void *p, size_t n)
{
	int fd = *(int *)ctx;
	const char *s = p;

	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

mc_status mc_compose_write_fd(struct mc_compose *c, int fd)
{
	return mc_compose_write(c, fd_sink, &fd);
}
