/* cmd_parse.c: `mimecodec parse [--json] [--mbox] FILE|-`: the MIME tree of a
 * message, as an indented outline (with the parser's warnings) or as the
 * JSON object of DESIGN.md. Also the whole-input loader and SHA-256 shared
 * with `extract` (cli.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mimecodec/encword.h"
#include "mimecodec/mime.h"

#define CMD "parse"

/* ==== SHA-256 (FIPS 180-4), for decoded_sha256 ========================================= */

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) ((x) >> (n) | (x) << (32 - (n)))

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) +
		              K256[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void cli_sha256_init(struct cli_sha256 *s)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	memcpy(s->h, iv, sizeof iv);
	s->len = 0;
	s->n = 0;
}

void cli_sha256_update(struct cli_sha256 *s, const void *data, size_t n)
{
	const unsigned char *p = data;

	s->len += n;
	if (s->n) {
		size_t k = 64 - s->n < n ? 64 - s->n : n;
		memcpy(s->buf + s->n, p, k);
		s->n += k;
		p += k;
		n -= k;
		if (s->n < 64)
			return;
		sha256_block(s->h, s->buf);
		s->n = 0;
	}
	for (; n >= 64; p += 64, n -= 64)
		sha256_block(s->h, p);
	memcpy(s->buf, p, n);
	s->n = n;
}

void cli_sha256_hex(struct cli_sha256 *s, char out[65])
{
	uint64_t bits = s->len * 8;
	unsigned char pad = 0x80, z = 0, lenb[8];

	cli_sha256_update(s, &pad, 1);
	while (s->n != 56)
		cli_sha256_update(s, &z, 1);
	for (int i = 0; i < 8; i++)
		lenb[i] = (unsigned char)(bits >> (56 - 8 * i));
	cli_sha256_update(s, lenb, 8);
	for (int i = 0; i < 32; i++) {
		static const char hex[] = "0123456789abcdef";
		unsigned v = s->h[i / 4] >> (24 - 8 * (i % 4)) & 0xff;
		out[2 * i] = hex[v >> 4];
		out[2 * i + 1] = hex[v & 15];
	}
	out[64] = '\0';
}

/* ==== whole input ======================================================================= */

int cli_load(struct cli_input *in, const char *path, const char *cmd, const char **data,
             size_t *len, char **owned)
{
	const unsigned char *p;
	size_t cap = 0;
	long n;

	*owned = NULL;
	*len = 0;
	if (cli_input_open(in, path, cmd, CLI_IN_MAP))
		return -1;
	if (in->map) {
		*data = (const char *)in->map;
		*len = in->maplen;
		return 0;
	}
	while ((n = cli_input_next(in, &p, 1 << 20, cmd)) > 0) {
		if (*len + (size_t)n > cap) {
			char *b;
			cap = (*len + (size_t)n) * 2;
			b = realloc(*owned, cap);
			if (!b) {
				cli_err(cmd, "out of memory");
				free(*owned);
				*owned = NULL;
				cli_input_close(in);
				return -1;
			}
			*owned = b;
		}
		memcpy(*owned + *len, p, (size_t)n);
		*len += (size_t)n;
	}
	if (n < 0) {
		free(*owned);
		*owned = NULL;
		cli_input_close(in);
		return -1;
	}
	*data = *owned ? *owned : "";
	return 0;
}

/* ==== part facts ========================================================================= */

static size_t lower_copy(char *dst, size_t cap, struct mc_span s)
{
	size_t n = s.n < cap - 1 ? s.n : cap - 1;

	for (size_t i = 0; i < n; i++)
		dst[i] = (char)(s.p[i] >= 'A' && s.p[i] <= 'Z' ? s.p[i] + 32 : s.p[i]);
	dst[n] = '\0';
	return n;
}

int cli_part_info(const struct mc_mime_message *m, size_t i, struct cli_part_info *pi)
{
	const struct mc_mime_part *pt = &m->parts[i];
	const struct mc_mime_header *h;
	struct mc_mime_param prm;
	struct mc_span tok, params;
	size_t n;

	memset(pi, 0, sizeof *pi);
	if (mc_mime_part_path(m, i, pi->path, sizeof pi->path) < 0)
		return -1;
	n = lower_copy(pi->ctype, sizeof pi->ctype - 1, pt->type);
	pi->ctype[n++] = '/';
	lower_copy(pi->ctype + n, sizeof pi->ctype - n, pt->subtype);
	if (mc_mime_param_get(pt->params, "charset", &prm) && prm.value.n < sizeof pi->charset) {
		struct mc_span v;
		char tmp[sizeof pi->charset];

		v.n = mc_mime_unquote(&prm, tmp);
		v.p = tmp;
		while (v.n && (v.p[v.n - 1] == ' ' || v.p[v.n - 1] == '\t'))
			v.n--;
		lower_copy(pi->charset, sizeof pi->charset, v);
		pi->has_charset = 1;
	}
	h = mc_mime_header_find(m, i, "content-transfer-encoding", NULL);
	if (h) {
		struct mc_span v = h->value;
		char tmp[64];

		if (v.n >= sizeof tmp)
			v.n = sizeof tmp - 1;
		v.n = mc_mime_unfold(v, tmp);
		v.p = tmp;
		while (v.n && (*v.p == ' ' || *v.p == '\t')) {
			v.p++;
			v.n--;
		}
		while (v.n && (v.p[v.n - 1] == ' ' || v.p[v.n - 1] == '\t'))
			v.n--;
		lower_copy(pi->encoding, sizeof pi->encoding, v);
	} else {
		memcpy(pi->encoding, "7bit", 5);
	}
	h = mc_mime_header_find(m, i, "content-disposition", NULL);
	if (h && mc_mime_disposition(h->value, &tok, &params) == MC_OK) {
		lower_copy(pi->disposition, sizeof pi->disposition, tok);
		pi->has_disposition = 1;
	}
	return 0;
}

/* ==== output ============================================================================= */

/* JSON string: valid UTF-8 is kept, other bytes become U+FFFD, controls are
 * escaped. */
static void json_str(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t len;

		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
			i++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			i++;
			continue;
		}
		len = cli_utf8_len((const unsigned char *)s + i, n - i);
		if (!len) {
			fputs("\xef\xbf\xbd", f);
			i++;
			continue;
		}
		fwrite(s + i, 1, len, f);
		i += len;
	}
	fputc('"', f);
}

static void json_opt(FILE *f, int has, const char *s)
{
	if (has)
		json_str(f, s, strlen(s));
	else
		fputs("null", f);
}

static int hash_sink(void *ctx, const void *p, size_t n)
{
	struct cli_sha256 *s = ctx;

	s->total += n;
	cli_sha256_update(s, p, n);
	return 0;
}

static int print_json(const struct mc_mime_message *m, FILE *f)
{
	size_t scratch_cap = 0;
	char *scratch = NULL, *dec = NULL;
	int rc = 0;

	fputs("{\"headers\":[", f);
	for (size_t h = 0; h < m->parts[0].nheaders; h++) {
		const struct mc_mime_header *hd = &m->headers[h];
		size_t need = hd->value.n + 1, n;
		struct mc_ew_result res;

		if (need > scratch_cap) {
			free(scratch);
			free(dec);
			scratch_cap = need;
			scratch = malloc(need);
			dec = malloc(mc_ew_decode_bound(need));
			if (!scratch || !dec) {
				cli_err(CMD, "out of memory");
				rc = 1;
				goto out;
			}
		}
		n = mc_mime_unfold(hd->value, scratch);
		fputs(h ? ",\n {\"name\":" : "\n {\"name\":", f);
		json_str(f, hd->name.p, hd->name.n);
		fputs(",\"value\":", f);
		json_str(f, scratch, n);
		fputs(",\"decoded\":", f);
		if (mc_ew_decode(hd->value.p, hd->value.n, 0, dec, mc_ew_decode_bound(need),
		                 &res) == MC_OK)
			json_str(f, dec, res.written);
		else
			json_str(f, scratch, n);
		fputc('}', f);
	}
	fputs("],\n\"parts\":[", f);
	for (size_t i = 0; i < m->nparts; i++) {
		const struct mc_mime_part *pt = &m->parts[i];
		struct cli_part_info pi;
		struct cli_sha256 sh;
		char hex[65], name[4096];
		size_t nn = 0;
		int has_name;

		if (cli_part_info(m, i, &pi)) {
			cli_err(CMD, "part path too deep");
			rc = 1;
			goto out;
		}
		cli_sha256_init(&sh);
		sh.total = 0;
		if (mc_mime_decode(m, i, 0, hash_sink, &sh) != MC_OK) {
			cli_err(CMD, "cannot decode part %s", pi.path);
			rc = 1;
			goto out;
		}
		cli_sha256_hex(&sh, hex);
		has_name = mc_mime_filename(m, i, name, sizeof name, &nn) != MC_EINVAL;
		fputs(i ? ",\n {\"path\":" : "\n {\"path\":", f);
		json_str(f, pi.path, strlen(pi.path));
		fputs(",\"content_type\":", f);
		json_str(f, pi.ctype, strlen(pi.ctype));
		fputs(",\"charset\":", f);
		json_opt(f, pi.has_charset, pi.charset);
		fputs(",\"encoding\":", f);
		json_str(f, pi.encoding, strlen(pi.encoding));
		fputs(",\"disposition\":", f);
		json_opt(f, pi.has_disposition, pi.disposition);
		fputs(",\"filename\":", f);
		if (has_name)
			json_str(f, name, nn);
		else
			fputs("null", f);
		fprintf(f,
		        ",\"body_offset\":%zu,\"body_length\":%zu,\"decoded_length\":%llu,"
		        "\"decoded_sha256\":\"%s\"}",
		        pt->body_offset, pt->body_length, (unsigned long long)sh.total, hex);
	}
	fputs("]}\n", f);
out:
	free(scratch);
	free(dec);
	return rc;
}

static void print_tree(const struct mc_mime_message *m, FILE *f)
{
	for (size_t i = 0; i < m->nparts; i++) {
		const struct mc_mime_part *pt = &m->parts[i];
		struct cli_part_info pi;
		char name[1024];
		size_t nn = 0;

		if (cli_part_info(m, i, &pi))
			continue;
		for (uint32_t d = 0; d < pt->depth; d++)
			fputs("  ", f);
		fprintf(f, "%s %s", pi.path[0] ? pi.path : "(root)", pi.ctype);
		if (pi.has_charset)
			fprintf(f, "; charset=%s", pi.charset);
		if (pt->kind == MC_MIME_LEAF)
			fprintf(f, " [%s, %zu bytes at %zu]", pi.encoding, pt->body_length,
			        pt->body_offset);
		if (pi.has_disposition)
			fprintf(f, " %s", pi.disposition);
		if (mc_mime_filename(m, i, name, sizeof name - 1, &nn) == MC_OK) {
			name[nn] = '\0';
			for (size_t k = 0; k < nn; k++)
				if ((unsigned char)name[k] < 0x20)
					name[k] = '?';
			fprintf(f, " \"%s\"", name);
		}
		fputc('\n', f);
	}
	for (size_t w = 0; w < m->nwarnings; w++) {
		char path[256];
		const struct mc_mime_warning *wn = &m->warnings[w];

		if (mc_mime_part_path(m, wn->part, path, sizeof path) < 0)
			path[0] = '\0';
		fprintf(f, "warning: offset %zu, part %s: %s (%s)\n", wn->offset,
		        path[0] ? path : "(root)", mc_mime_warning_text(wn->code),
		        mc_mime_warning_name(wn->code));
	}
	if (m->warnings_dropped)
		fprintf(f, "warning: %zu more warnings not kept\n", m->warnings_dropped);
}

static void help(FILE *f)
{
	fprintf(f, "usage: mimecodec parse [--json] [--mbox] FILE|-\n"
	           "Print the MIME tree of a message (pre-order, IMAP part numbers) and the\n"
	           "parser's warnings, or with --json the object described in DESIGN.md.\n"
	           "  --json   machine-readable output\n"
	           "  --mbox   FILE is an mbox: one tree (or JSON line) per message\n");
}

int cmd_parse(int argc, char **argv)
{
	const char *path = NULL, *data;
	int json = 0, mbox = 0, rc = 0;
	struct cli_input in;
	size_t len, pos = 0;
	char *owned;
	struct mc_span msgspan;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--json") == 0) {
			json = 1;
		} else if (strcmp(a, "--mbox") == 0) {
			mbox = 1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			help(stdout);
			return 0;
		} else if (a[0] == '-' && a[1] != '\0') {
			cli_err(CMD, "unknown option '%s' (see --help)", a);
			return 2;
		} else if (path) {
			cli_err(CMD, "extra operand '%s': one FILE at most", a);
			return 2;
		} else {
			path = a;
		}
	}
	if (!path) {
		cli_err(CMD, "missing FILE (use - for standard input)");
		return 2;
	}
	if (cli_load(&in, path, CMD, &data, &len, &owned))
		return 1;
	msgspan.p = data;
	msgspan.n = len;
	for (int first = 1; rc == 0; first = 0) {
		struct mc_mime_message *m;
		mc_status s;

		if (mbox && !mc_mime_mbox_next(data, len, &pos, &msgspan, NULL))
			break;
		s = mc_mime_parse(msgspan.p, msgspan.n, NULL, NULL, &m);
		if (s != MC_OK) {
			cli_err(CMD, "%s: %s", in.name, mc_strerror(s));
			rc = 1;
			break;
		}
		if (json)
			rc = print_json(m, stdout);
		else {
			if (mbox)
				printf("%s--- message at offset %zu\n", first ? "" : "\n",
				       (size_t)(msgspan.p - data));
			print_tree(m, stdout);
		}
		mc_mime_free(m);
		if (!mbox)
			break;
	}
	if (fflush(stdout) != 0) {
		cli_err(CMD, "write error");
		rc = 1;
	}
	free(owned);
	cli_input_close(&in);
	return rc;
}
