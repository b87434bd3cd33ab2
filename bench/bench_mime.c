/* bench_mime.c: the MIME parser (mc_mime_parse, mc_mime_decode) beside
 * GMime 3 and mimetic, in the same binary, on the same bytes. RFC 5322,
 * RFC 2045-2046.
 *
 *   mime_corpus_parse/<impl>   every message of tests/data/corpus up to
 *                              64 KiB (mbox files left out), parsed and every
 *                              entity visited (its content type looked at);
 *                              items/s = messages/s
 *   mime_corpus_decode/<impl>  the same, and every leaf decoded by its
 *                              Content-Transfer-Encoding into a sink that
 *                              counts bytes; bytes/s = corpus bytes/s
 *   mime_large_parse/<impl>    a generated 32 MiB message (multipart/mixed:
 *                              a text part, a quoted-printable HTML part,
 *                              a 24 MiB base64 attachment), parse and walk
 *   mime_large_decode/<impl>   the same, and the attachment decoded
 *   mime_large_memchr          memchr for a byte that is not there over the
 *                              same 32 MiB: the reference line
 *
 * bytes/s always count the INPUT (the message bytes). <impl> is mimecodec
 * (the kernel set MIMECODEC_ISA or the CPU chose: see the label), gmime
 * (g_mime_parser on a memory stream; decode through g_mime_part_get_content
 * into a null stream) or mimetic (MimeEntity from a char range; decode with
 * its Base64/QP decoders, bench/peer_mimetic.cc). Every run checks its
 * result after timing: the number of entities and the decoded length must
 * be what mimecodec finds (the peers' figures are reported as counters, and
 * for the large message, where all three must agree, a mismatch fails the
 * run). The corpus directory is MC_BENCH_CORPUS (environment) or the source
 * tree's tests/data/corpus. */
#define _DEFAULT_SOURCE /* DT_DIR, strdup */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mimecodec/base64.h"
#include "mimecodec/isa.h"
#include "mimecodec/mime.h"
#include "mc_bench.h"

#if MC_BENCH_HAVE_GMIME
#include <gmime/gmime.h>
#endif

#if MC_BENCH_HAVE_MIMETIC
/* bench/peer_mimetic.cc: parse buf[0..len), visit every entity; with decode,
 * decode every leaf (or with decode == 2, only base64 leaves). Returns 0 and
 * the entity count and decoded bytes, or -1 if mimetic threw. */
int mc_peer_mimetic(const char *buf, size_t len, int decode, uint64_t *parts, uint64_t *decoded);
#endif

#ifndef MC_BENCH_CORPUS_DIR
#define MC_BENCH_CORPUS_DIR "tests/data/corpus"
#endif
#define CORPUS_MAX ((size_t)64 << 10)
#define LARGE_SIZE ((size_t)32 << 20)
#define LARGE_B64  ((size_t)24 << 20)

/* ==== data ========================================================================= */

struct msg {
	char *p;
	size_t n;
};

static struct {
	struct msg *m;
	size_t n, cap, bytes;
	int loaded;
} corpus;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *p;

	if (!f)
		return;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > CORPUS_MAX ||
	    st.st_size == 0) {
		fclose(f);
		return;
	}
	p = malloc((size_t)st.st_size);
	if (p && fread(p, 1, (size_t)st.st_size, f) == (size_t)st.st_size) {
		if (corpus.n == corpus.cap) {
			size_t nc = corpus.cap ? corpus.cap * 2 : 256;
			struct msg *m = realloc(corpus.m, nc * sizeof *m);
			if (!m) {
				free(p);
				fclose(f);
				return;
			}
			corpus.m = m;
			corpus.cap = nc;
		}
		corpus.m[corpus.n].p = p;
		corpus.m[corpus.n].n = (size_t)st.st_size;
		corpus.n++;
		corpus.bytes += (size_t)st.st_size;
	} else {
		free(p);
	}
	fclose(f);
}

/* Depth-first, names sorted, so every run sees the messages in one order. */
static void add_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *nn);
			if (!nn)
				break;
			names = nn;
		}
		names[n] = strdup(e->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		/* mbox files are streams of messages, not one message */
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (strcmp(names[i], "mbox") != 0)
				add_dir(path);
		} else {
			add_file(path);
		}
		free(names[i]);
	}
	free(names);
}

static int corpus_load(void)
{
	if (!corpus.loaded) {
		const char *dir = getenv("MC_BENCH_CORPUS");
		add_dir(dir && *dir ? dir : MC_BENCH_CORPUS_DIR);
		corpus.loaded = 1;
	}
	return corpus.n > 0;
}

/* splitmix64, fixed seed */
static uint64_t mix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static const char *const words[] = {
    "the",    "message", "parser", "boundary", "line", "of",      "a",    "mail",
    "header", "body",    "and",    "is",       "to",   "in",      "text", "attachment",
    "--",     "well-",   "known",  "e-mail",   "=",    "re-read", "with", "part",
};

/* Text lines of about 70 columns (CRLF) until o reaches end; qp: escape '='
 * and add soft breaks as quoted-printable does. Lines never start with "--". */
static size_t gen_text(char *d, size_t o, size_t end, uint64_t *seed, int qp)
{
	while (o + 100 < end) {
		size_t col = 0;

		while (col < 68) {
			const char *w = words[mix(seed) % (sizeof words / sizeof words[0])];
			size_t wl = strlen(w);

			if (col == 0 && w[0] == '-')
				w = "x", wl = 1;
			if (qp && w[0] == '=')
				w = "=3D", wl = 3;
			memcpy(d + o, w, wl);
			o += wl;
			col += wl;
			d[o++] = ' ';
			col++;
		}
		if (qp) /* a soft break: the trailing space is data */
			d[o++] = '=';
		d[o++] = '\r';
		d[o++] = '\n';
	}
	return o;
}

static struct {
	char *p;
	size_t n;
	size_t payload; /* decoded size of the attachment */
} large;

/* The 32 MiB message; the text parts fill what the attachment leaves. */
static int large_load(void)
{
	static const char head[] =
	    "From: Sender <sender@example.org>\r\n"
	    "To: Receiver <receiver@example.net>\r\n"
	    "Subject: a large attachment\r\n"
	    "Date: Sat, 21 Nov 2026 10:00:00 +0000\r\n"
	    "Message-ID: <large.1@example.org>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"=_outer_boundary_0123456789\"\r\n"
	    "\r\n"
	    "This is a multi-part message in MIME format.\r\n"
	    "\r\n"
	    "--=_outer_boundary_0123456789\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "\r\n";
	static const char mid[] = "\r\n--=_outer_boundary_0123456789\r\n"
	                          "Content-Type: text/html; charset=utf-8\r\n"
	                          "Content-Transfer-Encoding: quoted-printable\r\n"
	                          "\r\n";
	static const char att[] = "\r\n--=_outer_boundary_0123456789\r\n"
	                          "Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
	                          "Content-Disposition: attachment; filename=\"data.bin\"\r\n"
	                          "Content-Transfer-Encoding: base64\r\n"
	                          "\r\n";
	static const char tail[] = "\r\n--=_outer_boundary_0123456789--\r\n";
	size_t b64len = 0, o, text_end;
	const char *b64;
	uint64_t seed = 42;
	char *d;

	if (large.p)
		return 1;
	/* payload bytes whose 76-column CRLF encoding is about 24 MiB */
	large.payload = LARGE_B64 / 78 * 57;
	b64 = mc_bench_encoded(MC_BENCH_ENC_MIME, large.payload, &b64len);
	d = malloc(LARGE_SIZE);
	if (!b64 || !d) {
		free(d);
		return 0;
	}
	o = 0;
	memcpy(d + o, head, sizeof head - 1);
	o += sizeof head - 1;
	/* the text parts split what is left: half plain, half QP */
	text_end = LARGE_SIZE - b64len - (sizeof mid - 1) - (sizeof att - 1) - (sizeof tail - 1);
	o = gen_text(d, o, o + (text_end - o) / 2, &seed, 0);
	memcpy(d + o, mid, sizeof mid - 1);
	o += sizeof mid - 1;
	o = gen_text(d, o, text_end - (sizeof mid - 1), &seed, 1);
	memcpy(d + o, "end\r\n", 5); /* last QP line, no soft break */
	o += 5;
	memcpy(d + o, att, sizeof att - 1);
	o += sizeof att - 1;
	memcpy(d + o, b64, b64len);
	o += b64len;
	if (o >= 2 && d[o - 1] == '\n') /* the encoding ends with CRLF: the */
		o -= 2;                 /* delimiter brings its own */
	memcpy(d + o, tail, sizeof tail - 1);
	o += sizeof tail - 1;
	large.p = d;
	large.n = o;
	return 1;
}

/* ==== mimecodec ===================================================================== */

static int count_sink(void *ctx, const void *p, size_t n)
{
	(void)p;
	*(uint64_t *)ctx += n;
	return 0;
}

static uint64_t walked;

/* Parse, visit every entity (its type, as a walk that uses it would), and
 * with decode, decode the leaves (decode == 2: base64 leaves only). */
static int mc_one(const char *p, size_t n, int decode, uint64_t *parts, uint64_t *decoded)
{
	struct mc_mime_message *m;

	if (mc_mime_parse(p, n, NULL, NULL, &m) != MC_OK)
		return -1;
	for (size_t i = 0; i < m->nparts; i++) {
		const struct mc_mime_part *pt = &m->parts[i];

		*parts += 1;
		walked += pt->type.n + pt->subtype.n; /* a walk looks at the type */
		if (!decode || pt->kind != MC_MIME_LEAF)
			continue;
		if (decode == 2 && pt->encoding != MC_MIME_ENC_BASE64)
			continue;
		if (mc_mime_decode(m, i, 0, count_sink, decoded) != MC_OK) {
			mc_mime_free(m);
			return -1;
		}
	}
	mc_mime_free(m);
	return 0;
}

/* ==== GMime ========================================================================= */
#if MC_BENCH_HAVE_GMIME

struct gm_walk {
	int decode;
	uint64_t parts, decoded;
	GMimeStream *null;
};

static void gm_visit(GMimeObject *parent, GMimeObject *part, gpointer data);

static void gm_message(GMimeMessage *msg, struct gm_walk *w)
{
	GMimeObject *top = g_mime_message_get_mime_part(msg);

	if (!top) { /* no body: mimecodec still has the root entity */
		w->parts++;
		return;
	}
	gm_visit(NULL, top, w);
	if (GMIME_IS_MULTIPART(top))
		g_mime_multipart_foreach((GMimeMultipart *)top, gm_visit, w);
}

static void gm_visit(GMimeObject *parent, GMimeObject *part, gpointer data)
{
	struct gm_walk *w = data;
	GMimeContentType *ct = g_mime_object_get_content_type(part);

	(void)parent;
	(void)g_mime_content_type_get_media_type(ct);
	if (GMIME_IS_MESSAGE_PART(part)) {
		GMimeMessage *inner = g_mime_message_part_get_message((GMimeMessagePart *)part);
		w->parts++;
		if (inner)
			gm_message(inner, w);
		return;
	}
	if (GMIME_IS_MULTIPART(part)) {
		w->parts++;
		return; /* its children come from g_mime_multipart_foreach */
	}
	w->parts++;
	if (w->decode && GMIME_IS_PART(part)) {
		GMimePart *leaf = (GMimePart *)part;
		GMimeDataWrapper *c;

		if (w->decode == 2 &&
		    g_mime_part_get_content_encoding(leaf) != GMIME_CONTENT_ENCODING_BASE64)
			return;
		c = g_mime_part_get_content(leaf);
		if (c) {
			g_mime_stream_reset(w->null);
			g_mime_data_wrapper_write_to_stream(c, w->null);
			w->decoded += ((GMimeStreamNull *)w->null)->written;
		}
	}
}

static int gm_one(const char *p, size_t n, int decode, uint64_t *parts, uint64_t *decoded,
                  GMimeStream *null)
{
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(p, n);
	GMimeParser *parser = g_mime_parser_new_with_stream(st);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
	struct gm_walk w = {decode, 0, 0, null};

	if (msg) {
		gm_message(msg, &w);
		g_object_unref(msg);
	}
	g_object_unref(parser);
	g_object_unref(st);
	*parts += w.parts;
	*decoded += w.decoded;
	return msg ? 0 : 1; /* 1: GMime gave up on it (counted, not an error) */
}
#endif

/* ==== the benchmarks ================================================================= */

enum impl { IMPL_MC, IMPL_GMIME, IMPL_MIMETIC, IMPL_COUNT };
static const char *const impl_names[IMPL_COUNT] = {"mimecodec", "gmime", "mimetic"};

/* One message through one implementation. */
static int run_one(int impl, const char *p, size_t n, int decode, uint64_t *parts,
                   uint64_t *decoded, void *aux)
{
	(void)aux;
	switch (impl) {
	case IMPL_MC:
		return mc_one(p, n, decode, parts, decoded);
#if MC_BENCH_HAVE_GMIME
	case IMPL_GMIME:
		return gm_one(p, n, decode, parts, decoded, aux);
#endif
#if MC_BENCH_HAVE_MIMETIC
	case IMPL_MIMETIC:
		return mc_peer_mimetic(p, n, decode, parts, decoded);
#endif
	default:
		return -1;
	}
}

/* mimecodec's entity and decoded-byte counts, the reference for the peers */
static uint64_t ref_parts[2], ref_decoded[2];

#define USER(impl, what) ((intptr_t)(impl)*16 + (what))
enum what { W_CORPUS_PARSE, W_CORPUS_DECODE, W_LARGE_PARSE, W_LARGE_DECODE };

static void bench_mime(mc_bench_state *s)
{
	intptr_t u = mc_bench_user(s);
	int impl = (int)(u / 16), what = (int)(u % 16);
	int large_input = what >= W_LARGE_PARSE;
	int decode = what == W_CORPUS_DECODE ? 1 : what == W_LARGE_DECODE ? 2 : 0;
	uint64_t parts = 0, decoded = 0, refused = 0;
	void *aux = NULL;
	int bad = 0;

	if (large_input ? !large_load() : !corpus_load()) {
		mc_bench_skip(s,
		              large_input ? "out of memory" : "corpus not found (MC_BENCH_CORPUS)");
		return;
	}
#if MC_BENCH_HAVE_GMIME
	GMimeStream *null = g_mime_stream_null_new();
	aux = null;
#endif
	while (mc_bench_next(s)) {
		parts = decoded = refused = 0;
		if (large_input) {
			int r = run_one(impl, large.p, large.n, decode, &parts, &decoded, aux);
			bad |= r != 0;
		} else {
			for (size_t i = 0; i < corpus.n; i++) {
				int r = run_one(impl, corpus.m[i].p, corpus.m[i].n, decode, &parts,
				                &decoded, aux);
				bad |= r < 0;
				refused += r > 0;
			}
		}
	}
#if MC_BENCH_HAVE_GMIME
	g_object_unref(null);
#endif
	if (bad) {
		mc_bench_skip(s, "a message failed to parse");
		return;
	}
	mc_bench_counter(s, "entities", (double)parts);
	if (refused)
		mc_bench_counter(s, "refused", (double)refused);
	mc_bench_counter(s, "decoded_bytes", (double)decoded);
	mc_bench_keep(&walked);
	if (impl == IMPL_MC) {
		ref_parts[large_input] = parts;
		if (decode)
			ref_decoded[large_input] = decoded;
		if (large_input && decode && decoded != large.payload) {
			mc_bench_skip(s, "attachment decoded to the wrong length");
			return;
		}
	} else if (large_input && (parts != ref_parts[1] || (decode && decoded != large.payload))) {
		/* the generated message is plain: every parser must agree */
		mc_bench_skip(s, "entities or decoded length differ from mimecodec's");
		return;
	}
	if (large_input) {
		mc_bench_set_bytes(s, (int64_t)large.n);
		mc_bench_label(s, impl == IMPL_MC ? mc_isa_name(mc_isa_active()) : "32 MiB");
	} else {
		mc_bench_set_bytes(s, (int64_t)corpus.bytes);
		mc_bench_set_items(s, (int64_t)corpus.n);
		if (impl == IMPL_MC)
			mc_bench_label(s, mc_isa_name(mc_isa_active()));
	}
}

static void bench_large_memchr(mc_bench_state *s)
{
	const char *r = NULL;

	if (!large_load()) {
		mc_bench_skip(s, "out of memory");
		return;
	}
	while (mc_bench_next(s)) {
		r = memchr(large.p, '\x01', large.n);
		mc_bench_keep(&r);
	}
	if (r) {
		mc_bench_skip(s, "memchr found a byte that is not there");
		return;
	}
	mc_bench_set_bytes(s, (int64_t)large.n);
}

static void register_mime(void)
{
	static const char *const what_names[] = {"mime_corpus_parse", "mime_corpus_decode",
	                                         "mime_large_parse", "mime_large_decode"};
	static const int have[IMPL_COUNT] = {1, MC_BENCH_HAVE_GMIME, MC_BENCH_HAVE_MIMETIC};

#if MC_BENCH_HAVE_GMIME
	g_mime_init();
#endif
	for (int w = 0; w < 4; w++) {
		for (int impl = 0; impl < IMPL_COUNT; impl++) {
			char name[64];

			if (!have[impl])
				continue;
			snprintf(name, sizeof name, "%s/%s", what_names[w], impl_names[impl]);
			mc_bench_register_sizes(name, bench_mime, USER(impl, w), NULL, 0);
		}
		if (w == W_LARGE_PARSE)
			mc_bench_register("mime_large_memchr", bench_large_memchr);
	}
}
MC_BENCH_REGISTRAR(register_mime)
