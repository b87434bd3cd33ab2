/* cmd_demo.c: `mimecodec demo`, the main job on this machine.
 * Stage 1, the codec (in a child process, so its big buffers do not count
 * in the mail stage's peak memory): a generated attachment encoded as MIME
 * base64 and decoded back on every kernel this CPU has, timed beside memcpy
 * in the same run, with the round trip checked byte for byte.
 * Stage 2, the mail (with --smtp/--pop3, as scripts/demo.sh gives them):
 * file --> composer --> SMTP (STARTTLS, AUTH) --> real MTA --> Maildir -->
 * real POP3 server --> POP3 (STLS) --> our Maildir --> mmap --> parser -->
 * decoded attachment, SHA-256 equal; each stage timed, peak RSS reported. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mimecodec/base64.h"
#include "mimecodec/isa.h"
#if MC_HAVE_NET
#include <dirent.h>
#include <openssl/evp.h>

#include "tls_api.h" /* libcrypto's SHA-256, loaded on first use */
#include "mimecodec/compose.h"
#include "mimecodec/maildir.h"
#include "mimecodec/mime.h"
#include "mimecodec/pop3.h"
#include "mimecodec/providers.h"
#include "mimecodec/smtp.h"
#endif

#define CMD "demo"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Deterministic "attachment": xorshift bytes (incompressible, like a zip). */
static void fill(unsigned char *p, size_t n)
{
	uint64_t x = 0x2545f4914f6cdd1dull;

	for (size_t i = 0; i < n; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, n - i < 8 ? n - i : 8);
	}
}

struct job {
	unsigned char *src, *back;
	char *enc;
	size_t n;
};

static double best_of(int reps, double (*fn)(struct job *, int, unsigned, unsigned), struct job *j,
                      int isa, unsigned wrap, unsigned flags)
{
	double best = 1e30;

	for (int r = 0; r < reps; r++) {
		double t = fn(j, isa, wrap, flags);
		if (t < best)
			best = t;
	}
	return best;
}

static double run_memcpy(struct job *j, int isa, unsigned wrap, unsigned flags)
{
	double t0 = now();

	(void)isa, (void)wrap, (void)flags;
	memcpy(j->back, j->src, j->n);
	return now() - t0;
}

static size_t enc_len;

static double run_encode(struct job *j, int isa, unsigned wrap, unsigned flags)
{
	struct mc_b64_encoder st;
	double t0 = now();
	size_t o;

	if (mc_b64_encoder_init_isa(&st, wrap, flags, isa) != MC_OK)
		return 1e30;
	o = mc_b64_encode_update(&st, j->src, j->n, j->enc);
	o += mc_b64_encode_final(&st, j->enc + o);
	enc_len = o;
	return now() - t0;
}

static int dec_ok;

static double run_decode(struct job *j, int isa, unsigned wrap, unsigned flags)
{
	struct mc_b64_decoder st;
	double t0 = now(), t;
	size_t w1 = 0, w2 = 0;
	int mode = wrap ? MC_B64_MIME : MC_B64_STRICT;

	if (mc_b64_decoder_init_isa(&st, mode, flags & MC_B64_URL, isa) != MC_OK)
		return 1e30;
	dec_ok = mc_b64_decode_update(&st, j->enc, enc_len, j->back, &w1) == MC_OK &&
	         mc_b64_decode_final(&st, j->back + w1, &w2) == MC_OK;
	t = now() - t0;
	dec_ok = dec_ok && w1 + w2 == j->n && memcmp(j->back, j->src, j->n) == 0;
	return t;
}

/* The codec stage's figures, written by the child into a shared page for
 * the JSON of the mail stage (the chart draws them beside memcpy). */
struct codec_figs {
	double memcpy_gbs;
	int n;
	struct {
		char kernel[16], format[16];
		double enc_gbs, dec_gbs;
	} k[2 * MC_ISA_COUNT_];
};

static int codec_stage(unsigned mib, struct codec_figs *figs)
{
	struct job j;
	int failed = 0, reps = 3;

	j.n = (size_t)mib << 20;
	j.src = malloc(j.n);
	/* The decoder's contract: room for mc_b64_decode_bound(input) bytes. */
	j.back = malloc(mc_b64_decode_bound(mc_b64_encoded_size(j.n, 76, MC_B64_CRLF)));
	j.enc = malloc(mc_b64_encoded_size(j.n, 76, MC_B64_CRLF));
	if (!j.src || !j.back || !j.enc) {
		cli_err(CMD, "out of memory for a %u MiB attachment", mib);
		failed = 1;
		goto out;
	}
	fill(j.src, j.n);
	memset(j.back, 0, j.n); /* fault the pages in before timing */
	memset(j.enc, 0, mc_b64_encoded_size(j.n, 76, MC_B64_CRLF));

	double gb = (double)j.n / 1e9, tm = best_of(reps, run_memcpy, &j, 0, 0, 0);
	printf("mimecodec demo: a %u MiB attachment, base64 on every kernel (active: %s)\n", mib,
	       mc_isa_name(mc_isa_active()));
	printf("GB/s of attachment bytes, best of %d; memcpy of the same buffer: %.2f GB/s\n\n",
	       reps, gb / tm);
	if (figs)
		figs->memcpy_gbs = gb / tm;
	printf("%-8s %-16s %10s %8s %10s %8s  %s\n", "kernel", "format", "encode", "x memcpy",
	       "decode", "x memcpy", "round trip");
	for (int isa = 0; isa < MC_ISA_COUNT_; isa++) {
		if (!mc_isa_supported(isa))
			continue;
		for (int f = 0; f < 2; f++) {
			unsigned wrap = f ? 76 : 0, flags = f ? MC_B64_CRLF : 0;
			double te = best_of(reps, run_encode, &j, isa, wrap, flags);
			int ok = enc_len == mc_b64_encoded_size(j.n, wrap, flags);
			double td = best_of(reps, run_decode, &j, isa, wrap, flags);

			ok = ok && dec_ok;
			failed |= !ok;
			printf("%-8s %-16s %10.2f %8.2f %10.2f %8.2f  %s\n", mc_isa_name(isa),
			       f ? "MIME 76+CRLF" : "plain", gb / te, tm / te, gb / td, tm / td,
			       ok ? "ok" : "FAILED");
			if (figs && figs->n < (int)(sizeof figs->k / sizeof figs->k[0])) {
				snprintf(figs->k[figs->n].kernel, sizeof figs->k[0].kernel, "%s",
				         mc_isa_name(isa));
				snprintf(figs->k[figs->n].format, sizeof figs->k[0].format, "%s",
				         f ? "MIME 76+CRLF" : "plain");
				figs->k[figs->n].enc_gbs = gb / te;
				figs->k[figs->n].dec_gbs = gb / td;
				figs->n++;
			}
		}
	}
	printf("\n%s\n", failed ? "round trip FAILED" : "every round trip is byte-identical");
out:
	free(j.src);
	free(j.back);
	free(j.enc);
	return failed;
}

static long peak_rss_kib(int who)
{
	struct rusage ru;

	return getrusage(who, &ru) == 0 ? ru.ru_maxrss : 0;
}

#if MC_HAVE_NET
/* ---- the mail stage ------------------------------------------------------------ */

static const char demo_text[] =
    "mimecodec demo: this message carries a generated attachment.\n"
    "English: hello, world\n"
    "Fran\xc3\xa7"
    "ais : bonjour le monde\n"
    "\xce\x95\xce\xbb\xce\xbb\xce\xb7\xce\xbd\xce\xb9\xce\xba\xce\xac: "
    "\xce\xb3\xce\xb5\xce\xb9\xce\xac \xcf\x83\xce\xbf\xcf\x85 \xce\xba\xcf\x8c\xcf\x83\xce\xbc"
    "\xce\xb5\n"
    "\xd0\xa0\xd1\x83\xd1\x81\xd1\x81\xd0\xba\xd0\xb8\xd0\xb9: \xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2"
    "\xd0\xb5\xd1\x82, \xd0\xbc\xd0\xb8\xd1\x80\n"
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e: \xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3"
    "\x81\xaf\xe4\xb8\x96\xe7\x95\x8c\n"
    "\xe4\xb8\xad\xe6\x96\x87: \xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe4\xb8\x96\xe7\x95\x8c\n"
    "\xd7\xa2\xd7\x91\xd7\xa8\xd7\x99\xd7\xaa: \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xd7\xa2\xd7\x95"
    "\xd7\x9c\xd7\x9d\n"
    "\xd8\xa7\xd9\x84\xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a\xd8\xa9: \xd9\x85\xd8\xb1\xd8\xad\xd8\xa8"
    "\xd8\xa7 \xd8\xa8\xd8\xa7\xd9\x84\xd8\xb9\xd8\xa7\xd9\x84\xd9\x85\n"
    "\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xa8\xe0\xa5\x8d\xe0\xa4\xa6\xe0\xa5\x80: \xe0\xa4\xa8\xe0"
    "\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa5\x87\n";

#define ATT_NAME "demo-attachment.bin"

struct mail_opts {
	const char *smtp, *pop3, *user, *pwfile, *cafile, *from, *to, *workdir, *json;
	int keep_files;
	unsigned timeout;
};

struct row {
	const char *stage;
	uint64_t bytes;
	double secs;
	long rss_kib;
};

struct demo {
	struct row rows[12];
	int nrows;
	char dir[512];
	char smtp_notes[160], auth[32];
	char token[40];
	char found[MC_MAILDIR_NAME_MAX];
	char maildir[600];
};

static void add_row(struct demo *d, const char *stage, uint64_t bytes, double secs)
{
	struct row *r = &d->rows[d->nrows++];

	r->stage = stage;
	r->bytes = bytes;
	r->secs = secs;
	r->rss_kib = peak_rss_kib(RUSAGE_SELF);
}

static void hex(const unsigned char *d, size_t n, char *out)
{
	static const char x[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = x[d[i] >> 4];
		out[2 * i + 1] = x[d[i] & 15];
	}
	out[2 * n] = '\0';
}

/* SHA-256 of a file, read in 1 MiB chunks. */
static int sha256_file(const char *path, char out[65], uint64_t *bytes)
{
	unsigned char md[32], *buf;
	EVP_MD_CTX *m;
	int fd, rc = -1;
	ssize_t r;

	*bytes = 0;
	if (mc__tls_load() != MC_OK) {
		cli_err("demo", "%s", mc__tls_error());
		return -1;
	}
	buf = malloc(1 << 20);
	m = EVP_MD_CTX_new();
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !buf || !m || !EVP_DigestInit_ex(m, EVP_sha256(), NULL))
		goto out;
	while ((r = read(fd, buf, 1 << 20)) > 0) {
		EVP_DigestUpdate(m, buf, (size_t)r);
		*bytes += (uint64_t)r;
	}
	if (r == 0 && EVP_DigestFinal_ex(m, md, NULL)) {
		hex(md, 32, out);
		rc = 0;
	}
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(m);
	free(buf);
	return rc;
}

/* The attachment: xorshift bytes (incompressible), written in 1 MiB chunks. */
static int generate(const char *path, uint64_t n)
{
	unsigned char *buf = malloc(1 << 20);
	uint64_t x = 0x2545f4914f6cdd1dull, done = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc = -1;

	if (fd < 0 || !buf)
		goto out;
	while (done < n) {
		size_t k = n - done < (1u << 20) ? (size_t)(n - done) : (1u << 20);

		for (size_t i = 0; i < k; i += 8) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(buf + i, &x, k - i < 8 ? k - i : 8);
		}
		if (cli_write_all(fd, buf, k, CMD))
			goto out;
		done += k;
	}
	rc = 0;
out:
	if (fd >= 0 && close(fd) != 0)
		rc = -1;
	free(buf);
	return rc;
}

static int null_sink(void *ctx, const void *p, size_t n)
{
	(void)p;
	*(uint64_t *)ctx += n;
	return 0;
}

static void smtp_trace(void *ctx, int kind, const char *text, size_t n)
{
	struct demo *d = ctx;

	if (kind == MC_TRACE_INFO && n > 19 && memcmp(text, "authenticated with ", 19) == 0)
		snprintf(d->auth, sizeof d->auth, "%.*s", (int)(n - 19), text + 19);
	else if (kind == MC_TRACE_INFO && n > 22 && memcmp(text, "message body sent: ", 19) == 0)
		snprintf(d->smtp_notes, sizeof d->smtp_notes, "%.*s", (int)(n - 19), text + 19);
}

static int has_token(const char *path, const char *token)
{
	char buf[65536];
	size_t tl = strlen(token);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf);

	if (fd >= 0)
		close(fd);
	for (ssize_t i = 0; n > 0 && i + (ssize_t)tl <= n; i++)
		if (memcmp(buf + i, token, tl) == 0)
			return 1;
	return 0;
}

static int on_fetch(void *ctx, int event, const struct mc_pop3_msg *m, const char *file)
{
	struct demo *d = ctx;
	char path[1200];

	(void)m;
	if (event != MC_POP3_FETCHED || d->found[0])
		return 0;
	snprintf(path, sizeof path, "%s/new/%s", d->maildir, file);
	if (has_token(path, d->token))
		snprintf(d->found, sizeof d->found, "%s", file);
	return 0;
}

/* STAT in a session of its own (POP3 shows no new mail within a session). */
static mc_status pop3_count(const struct mc_pop3_opts *o, unsigned *count, char *why, size_t cap)
{
	struct mc_pop3 *p = mc_pop3_new(o);
	uint64_t oct;
	mc_status st;

	if (!p)
		return MC_ENOMEM;
	st = mc_pop3_connect(p);
	if (st == MC_OK)
		st = mc_pop3_stat(p, count, &oct);
	if (st != MC_OK)
		snprintf(why, cap, "%s", mc_pop3_last_error(p)->msg);
	else
		(void)mc_pop3_quit(p);
	mc_pop3_free(p);
	return st;
}

struct extract_ctx {
	int fd;
	uint64_t n;
	int failed;
};

static int extract_sink(void *ctx, const void *p, size_t n)
{
	struct extract_ctx *x = ctx;

	if (cli_write_all(x->fd, p, n, CMD)) {
		x->failed = 1;
		return 1;
	}
	x->n += n;
	return 0;
}

/* Removes what the demo wrote under dir (files, the Maildir), then dir. */
static void rm_tree(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *dp = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *e;

	if (!dp) {
		if (fd >= 0)
			close(fd);
		unlinkat(parent, name, 0);
		return;
	}
	while ((e = readdir(dp)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			rm_tree(dirfd(dp), e->d_name);
	closedir(dp);
	unlinkat(parent, name, AT_REMOVEDIR);
}

static void print_table(const struct demo *d, FILE *f)
{
	fprintf(f, "%-44s %12s %9s %9s %12s\n", "stage", "bytes", "seconds", "MB/s",
	        "peak RSS MiB");
	for (int i = 0; i < d->nrows; i++) {
		const struct row *r = &d->rows[i];

		if (r->bytes)
			fprintf(f, "%-44s %12llu %9.3f %9.1f %12.1f\n", r->stage,
			        (unsigned long long)r->bytes, r->secs,
			        r->secs > 0 ? (double)r->bytes / 1e6 / r->secs : 0.0,
			        (double)r->rss_kib / 1024.0);
		else
			fprintf(f, "%-44s %12s %9.3f %9s %12.1f\n", r->stage, "-", r->secs, "-",
			        (double)r->rss_kib / 1024.0);
	}
}

static void write_json(const struct demo *d, const char *path, unsigned mib, int ok,
                       const char *sha, long codec_rss, const struct codec_figs *figs)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		cli_err(CMD, "--json %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f,
	        "{\"size_mib\": %u, \"ok\": %s, \"sha256\": \"%s\", \"codec_peak_rss_kib\": %ld,\n",
	        mib, ok ? "true" : "false", sha, codec_rss);
	fprintf(f, " \"stages\": [");
	for (int i = 0; i < d->nrows; i++) {
		const struct row *r = &d->rows[i];

		fprintf(
		    f,
		    "%s\n  {\"stage\": \"%s\", \"bytes\": %llu, \"seconds\": %.6f, \"mb_s\": %.1f, "
		    "\"peak_rss_kib\": %ld}",
		    i ? "," : "", r->stage, (unsigned long long)r->bytes, r->secs,
		    r->secs > 0 && r->bytes ? (double)r->bytes / 1e6 / r->secs : 0.0, r->rss_kib);
	}
	fprintf(f, "\n]");
	if (figs && figs->n) {
		fprintf(f, ",\n \"memcpy_gb_s\": %.3f,\n \"kernels\": [", figs->memcpy_gbs);
		for (int i = 0; i < figs->n; i++)
			fprintf(
			    f,
			    "%s\n  {\"kernel\": \"%s\", \"format\": \"%s\", \"encode_gb_s\": %.3f, "
			    "\"decode_gb_s\": %.3f}",
			    i ? "," : "", figs->k[i].kernel, figs->k[i].format, figs->k[i].enc_gbs,
			    figs->k[i].dec_gbs);
		fprintf(f, "\n]");
	}
	fprintf(f, "}\n");
	fclose(f);
}

static int mail_stage(const struct mail_opts *mo, unsigned mib, long codec_rss,
                      const struct codec_figs *figs)
{
	struct demo *d = calloc(1, sizeof *d);
	struct mc_smtp_opts so;
	struct mc_pop3_opts po;
	struct mc_compose *c = NULL;
	struct mc_mime_message *msg = NULL;
	char shost[256], sport[8], phost[256], pport[8], path[1200], out[1200], why[768];
	char sha_in[65] = "", sha_out[65] = "", *password = NULL;
	const char *from = mo->from ? mo->from : mo->user, *to = mo->to ? mo->to : from;
	const unsigned char *map = MAP_FAILED;
	uint64_t n = (uint64_t)mib << 20, hashed = 0, msg_size = 0;
	size_t maplen = 0, att = SIZE_MAX, txt = SIZE_MAX;
	unsigned count0 = 0, count = 0;
	int stls, ptls, ok = 0, made_dir = 0, fd = -1;
	double t0;
	mc_status st;

	if (!d) {
		cli_err(CMD, "out of memory");
		return 1;
	}
	memset(&so, 0, sizeof so);
	memset(&po, 0, sizeof po);
	/* servers: given, or the provider table by the user's domain */
	if (mo->smtp) {
		if (cli_parse_url(mo->smtp, "smtp", "smtps", &stls, shost, sizeof shost, sport,
		                  sizeof sport)) {
			cli_err(CMD,
			        "invalid --smtp '%s': smtp://HOST[:PORT] or smtps://HOST[:PORT]",
			        mo->smtp);
			goto fail;
		}
	} else {
		const struct mc_provider *p = mc_provider_find(mo->user);

		if (!p) {
			cli_err(CMD, "--smtp is required (no known provider for '%s')", mo->user);
			goto fail;
		}
		snprintf(shost, sizeof shost, "%s", p->smtp_host);
		snprintf(sport, sizeof sport, "%s", p->smtp_port);
		stls = p->smtp_tls == MC_SMTP_IMPLICIT;
	}
	if (mo->pop3) {
		if (cli_parse_url(mo->pop3, "pop3", "pop3s", &ptls, phost, sizeof phost, pport,
		                  sizeof pport)) {
			cli_err(CMD,
			        "invalid --pop3 '%s': pop3://HOST[:PORT] or pop3s://HOST[:PORT]",
			        mo->pop3);
			goto fail;
		}
	} else {
		const struct mc_provider *p = mc_provider_find(mo->user);

		if (!p) {
			cli_err(CMD, "--pop3 is required (no known provider for '%s')", mo->user);
			goto fail;
		}
		snprintf(phost, sizeof phost, "%s", p->pop3_host);
		snprintf(pport, sizeof pport, "%s", p->pop3_port);
		ptls = 1;
	}
	if (!strchr(from, '@') || !strchr(to, '@')) {
		cli_err(CMD, "--from/--to (default: --user) must be addresses");
		goto fail;
	}
	if (!(password = cli_read_secret(CMD, mo->pwfile, "password")))
		goto fail;
	so.host = shost;
	so.port = sport[0] ? sport : NULL;
	so.tls = stls ? MC_SMTP_IMPLICIT : MC_SMTP_STARTTLS;
	so.user = mo->user;
	so.password = password;
	so.cafile = mo->cafile;
	so.timeout_ms = (int)mo->timeout * 1000;
	so.retries = 2;
	so.trace = smtp_trace;
	so.trace_ctx = d;
	po.host = phost;
	po.port = pport[0] ? pport : NULL;
	po.tls = ptls ? MC_POP3_IMPLICIT : MC_POP3_STLS;
	po.user = mo->user;
	po.password = password;
	po.cafile = mo->cafile;
	po.timeout_ms = (int)mo->timeout * 1000;

	/* the working directory: given, or a fresh one */
	if (mo->workdir) {
		if (mkdir(mo->workdir, 0700) != 0 && errno != EEXIST) {
			cli_err(CMD, "--workdir %s: %s", mo->workdir, strerror(errno));
			goto fail;
		}
		snprintf(d->dir, sizeof d->dir, "%s", mo->workdir);
	} else {
		const char *tmp = getenv("TMPDIR");

		snprintf(d->dir, sizeof d->dir, "%s/mimecodec-demo.XXXXXX",
		         tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(d->dir)) {
			cli_err(CMD, "mkdtemp %s: %s", d->dir, strerror(errno));
			goto fail;
		}
		made_dir = 1;
	}
	snprintf(d->maildir, sizeof d->maildir, "%s/Maildir", d->dir);
	{
		unsigned char r[12];
		int rf = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

		if (rf < 0 || read(rf, r, sizeof r) != (ssize_t)sizeof r) {
			cli_err(CMD, "/dev/urandom: %s", strerror(errno));
			if (rf >= 0)
				close(rf);
			goto fail;
		}
		close(rf);
		memcpy(d->token, "mcdemo-", 7);
		hex(r, sizeof r, d->token + 7);
	}

	printf("\nmail stage: %s -> %s://%s%s%s (AUTH as %s) -> %s -> %s://%s%s%s -> %s\n", from,
	       stls ? "smtps" : "smtp", shost, sport[0] ? ":" : "", sport, mo->user, to,
	       ptls ? "pop3s" : "pop3", phost, pport[0] ? ":" : "", pport, d->maildir);
	fflush(stdout);

	/* 1. the attachment file */
	snprintf(path, sizeof path, "%s/" ATT_NAME, d->dir);
	t0 = now();
	if (generate(path, n)) {
		cli_err(CMD, "writing %s: %s", path, strerror(errno));
		goto fail;
	}
	add_row(d, "generate attachment file", n, now() - t0);
	t0 = now();
	if (sha256_file(path, sha_in, &hashed) || hashed != n) {
		cli_err(CMD, "reading %s back: %s", path, strerror(errno));
		goto fail;
	}
	add_row(d, "sha256 of the attachment file", n, now() - t0);

	/* 2. compose: the exact size first, then the whole message to nowhere */
	{
		struct mc_compose_attachment a = {0};
		struct mc_compose_info info;
		char subject[160], mid[200];
		uint64_t produced = 0;

		snprintf(
		    subject, sizeof subject,
		    "mimecodec demo %s: %u MiB \xce\xb1\xcf\x80\xce\xbf \xe6\x97\xa5\xe6\x9c\xac "
		    "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",
		    d->token, mib);
		snprintf(mid, sizeof mid, "%s@%s", d->token, strrchr(from, '@') + 1);
		a.content_type = "application/octet-stream";
		a.filename = ATT_NAME;
		a.encoding = MC_COMPOSE_ENC_BASE64;
		if ((st = mc_compose_new(&c, NULL)) ||
		    (st = mc_compose_set_from(c, "mimecodec demo", from)) ||
		    (st = mc_compose_add_to(c, NULL, to)) ||
		    (st = mc_compose_set_subject(c, subject)) ||
		    (st = mc_compose_set_message_id(c, mid)) ||
		    (st = mc_compose_set_text(c, demo_text, sizeof demo_text - 1)) ||
		    (st = mc_compose_attach_file(c, &a, path)) ||
		    (st = mc_compose_prepare(c, &info))) {
			cli_err(CMD, "composing: %s", mc_strerror(st));
			goto fail;
		}
		msg_size = info.size;
		t0 = now();
		if ((st = mc_compose_write(c, null_sink, &produced)) || produced != msg_size) {
			cli_err(CMD, "composing: %s (%llu of %llu bytes)", mc_strerror(st),
			        (unsigned long long)produced, (unsigned long long)msg_size);
			goto fail;
		}
		add_row(d, "compose + base64 from the file, no output", msg_size, now() - t0);
		if ((st = mc_compose_rewind(c))) {
			cli_err(CMD, "composer rewind: %s", mc_strerror(st));
			goto fail;
		}
	}

	/* 3. what the maildrop holds before (a re-run may find leftovers) */
	if ((st = pop3_count(&po, &count0, why, sizeof why))) {
		cli_err(CMD, "POP3 %s: %s", phost, why);
		goto fail;
	}

	/* 4. compose + send, streamed: no temporary file */
	{
		struct mc_smtp_body body = {mc_compose_pull, mc_compose_pull_rewind, c, msg_size};
		const char *rcpt[1] = {to};
		struct mc_smtp_envelope env = {from, rcpt, 1, 0};
		struct mc_smtp_rcpt rc;
		struct mc_smtp_error err;
		unsigned attempts = 0;

		memset(&rc, 0, sizeof rc);
		memset(&err, 0, sizeof err);
		t0 = now();
		st = mc_smtp_send(&so, &env, &body, &rc, &err, &attempts);
		if (st != MC_OK) {
			cli_err(CMD, "SMTP %s: %s%s%s", shost,
			        err.msg[0] ? err.msg : mc_strerror(st), err.step[0] ? " at " : "",
			        err.step);
			goto fail;
		}
		add_row(d,
		        stls ? "compose + SMTP send (TLS, AUTH)"
		             : "compose + SMTP send (STARTTLS, AUTH)",
		        msg_size, now() - t0);
	}
	mc_compose_free(c);
	c = NULL;

	/* 5. the MTA delivers into the server's Maildir */
	t0 = now();
	for (;;) {
		if ((st = pop3_count(&po, &count, why, sizeof why))) {
			cli_err(CMD, "POP3 %s: %s", phost, why);
			goto fail;
		}
		if (count > count0)
			break;
		if (now() - t0 > (double)mo->timeout * 10) {
			cli_err(CMD, "the message did not arrive in the maildrop within %u s",
			        mo->timeout * 10);
			goto fail;
		}
		nanosleep(&(struct timespec){0, 50000000}, NULL);
	}
	add_row(d, "delivery wait (MTA -> Maildir, POP3 STAT)", 0, now() - t0);

	/* 6. POP3 fetch into our Maildir (tmp/, fsync, rename, then DELE) */
	{
		struct mc_pop3_fetch_opts fo;
		struct mc_pop3_fetch_result res;
		struct mc_pop3_error err;

		memset(&fo, 0, sizeof fo);
		memset(&res, 0, sizeof res);
		memset(&err, 0, sizeof err);
		fo.maildir = d->maildir;
		fo.on_event = on_fetch;
		fo.ctx = d;
		t0 = now();
		st = mc_pop3_fetch(&po, &fo, &res, &err);
		if (st != MC_OK) {
			cli_err(CMD, "POP3 fetch: %s", err.msg[0] ? err.msg : mc_strerror(st));
			goto fail;
		}
		add_row(d,
		        ptls ? "POP3 fetch (implicit TLS) -> Maildir, fsync"
		             : "POP3 fetch (STLS) -> Maildir, fsync",
		        res.bytes, now() - t0);
		if (!d->found[0]) {
			cli_err(CMD, "fetched %u message(s), none is the demo's (%s)", res.fetched,
			        d->token);
			goto fail;
		}
	}

	/* 7. mmap + parse */
	snprintf(path, sizeof path, "%s/new/%s", d->maildir, d->found);
	{
		struct stat sb;

		t0 = now();
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) != 0 ||
		    sb.st_size == 0) {
			cli_err(CMD, "%s: %s", path, strerror(errno));
			goto fail;
		}
		maplen = (size_t)sb.st_size;
		map = mmap(NULL, maplen, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			cli_err(CMD, "mmap %s: %s", path, strerror(errno));
			goto fail;
		}
		(void)posix_madvise((void *)map, maplen, POSIX_MADV_SEQUENTIAL);
		if ((st = mc_mime_parse(map, maplen, NULL, NULL, &msg))) {
			cli_err(CMD, "parse: %s", mc_strerror(st));
			goto fail;
		}
		for (size_t i = 0; i < msg->nparts; i++) {
			const struct mc_mime_part *p = &msg->parts[i];
			char name[256];
			size_t w;

			if (p->kind != MC_MIME_LEAF)
				continue;
			if (mc_mime_filename(msg, i, name, sizeof name, &w) == MC_OK &&
			    w == strlen(ATT_NAME) && memcmp(name, ATT_NAME, w) == 0)
				att = i;
			else if (txt == SIZE_MAX && mc_mime_span_eq(p->type, "text") &&
			         mc_mime_span_eq(p->subtype, "plain"))
				txt = i;
		}
		add_row(d, "mmap + parse the fetched message", maplen, now() - t0);
		if (att == SIZE_MAX) {
			cli_err(CMD, "no part named " ATT_NAME " in %s", path);
			goto fail;
		}
	}

	/* 8. decode the attachment into a file */
	snprintf(out, sizeof out, "%s/extracted-" ATT_NAME, d->dir);
	{
		struct extract_ctx x = {-1, 0, 0};

		t0 = now();
		x.fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (x.fd < 0) {
			cli_err(CMD, "%s: %s", out, strerror(errno));
			goto fail;
		}
		st = mc_mime_decode(msg, att, 0, extract_sink, &x);
		if (close(x.fd) != 0)
			x.failed = 1;
		if (st || x.failed) {
			cli_err(CMD, "decoding the attachment: %s", mc_strerror(st ? st : MC_EIO));
			goto fail;
		}
		add_row(d, "decode base64 attachment -> file", x.n, now() - t0);
	}

	/* 9. the proof */
	t0 = now();
	if (sha256_file(out, sha_out, &hashed)) {
		cli_err(CMD, "reading %s: %s", out, strerror(errno));
		goto fail;
	}
	add_row(d, "sha256 of the extracted file", hashed, now() - t0);
	ok = hashed == n && strcmp(sha_in, sha_out) == 0;
	{
		/* the text body in its several scripts, decoded, must match too */
		char want[sizeof demo_text * 2], got[sizeof demo_text * 2];
		size_t wn = 0, gn = 0;

		for (size_t i = 0; i + 1 < sizeof demo_text; i++) {
			if (demo_text[i] == '\n')
				want[wn++] = '\r';
			want[wn++] = demo_text[i];
		}
		if (txt == SIZE_MAX ||
		    mc_mime_decode_to(msg, txt, 0, got, sizeof got, &gn) != MC_OK || gn != wn ||
		    memcmp(got, want, wn) != 0) {
			cli_err(CMD, "the text body did not come back identical");
			ok = 0;
		}
	}
	printf("\nmessage: %llu bytes composed, %zu bytes in the Maildir (%s)\n",
	       (unsigned long long)msg_size, maplen, d->found);
	printf("SMTP: AUTH %s; body %s\n", d->auth[0] ? d->auth : "?",
	       d->smtp_notes[0] ? d->smtp_notes : "sent");
	print_table(d, stdout);
	printf("codec stage (child process) peak RSS: %.1f MiB; mail stage peak RSS includes the\n"
	       "mmap'd message's file pages (page cache, not heap)\n",
	       (double)codec_rss / 1024.0);
	printf("sha256 sent:      %s\nsha256 extracted: %s\n", sha_in, sha_out);
	if (mo->json)
		write_json(d, mo->json, mib, ok, sha_out, codec_rss, figs);
	goto end;
fail:
	ok = 0;
	if (d->nrows)
		print_table(d, stdout);
end:
	if (msg)
		mc_mime_free(msg);
	if (map != MAP_FAILED)
		munmap((void *)map, maplen);
	if (fd >= 0)
		close(fd);
	mc_compose_free(c);
	cli_secret_free(password);
	if (ok)
		printf("demo: PASS: the %u MiB attachment went through SMTP, the MTA, POP3 and the "
		       "parser and came back byte-identical (sha256 %.16s...)\n",
		       mib, sha_out);
	else
		printf("demo: FAIL: the mail stage did not complete (see the error above)\n");
	if (d->dir[0]) {
		if (mo->keep_files)
			printf("files kept in %s\n", d->dir);
		else if (made_dir)
			rm_tree(AT_FDCWD, d->dir);
		else {
			char p2[700];

			snprintf(p2, sizeof p2, "%s/" ATT_NAME, d->dir);
			unlink(p2);
			unlink(out);
			rm_tree(AT_FDCWD, d->maildir);
		}
	}
	free(d);
	return ok ? 0 : 1;
}
#endif

static void demo_help(void)
{
	printf("usage: mimecodec demo [--size-mib N] [--smtp URL --pop3 URL --user U\n"
	       "                      --password-file F [--cafile F] [--from A] [--to B]\n"
	       "                      [--workdir DIR] [--keep-files] [--json FILE]\n"
	       "                      [--timeout SECONDS]]\n"
	       "The main job on this machine, with an N MiB (default 256) generated attachment.\n"
	       "Codec stage: base64 encode and decode on every kernel this CPU has, beside\n"
	       "memcpy (in a child process). Mail stage (with --user): compose the message\n"
	       "(a text body in several scripts + the attachment, streamed from its file),\n"
	       "send it by SMTP with AUTH, wait for the MTA to deliver it, fetch it by POP3\n"
	       "into a Maildir, mmap + parse it, decode the attachment into a file and check\n"
	       "its SHA-256; a table of MB/s and peak RSS per stage, then a verdict line\n"
	       "\"demo: PASS: ...\" or \"demo: FAIL: ...\" (exit 1).\n"
	       "scripts/demo.sh starts local Postfix + Dovecot and passes all of this.\n"
	       "  --smtp URL            smtp://HOST[:PORT] (STARTTLS) or smtps://HOST[:PORT];\n"
	       "                        omitted: the provider table by the --user domain\n"
	       "  --pop3 URL            pop3://HOST[:PORT] (STLS) or pop3s://HOST[:PORT];\n"
	       "                        omitted: the provider table by the --user domain\n"
	       "  --user U              the account (SMTP AUTH and POP3 login)\n"
	       "  --password-file F     its password, the first line of F\n"
	       "  --cafile F            trust the CA certificates in F (PEM)\n"
	       "  --from A, --to B      addresses (default: --user); the message is fetched from\n"
	       "                        the --user maildrop, so --to should reach it\n"
	       "  --workdir DIR         where the files go (default: a fresh dir in $TMPDIR)\n"
	       "  --keep-files          keep the attachment, the Maildir and the extracted file\n"
	       "  --json FILE           the figures as JSON\n"
	       "  --timeout SECONDS     network timeout (default 60; delivery wait: 10 times)\n");
}

int cmd_demo(int argc, char **argv)
{
	unsigned mib = 256;
	int failed = 0, status = 0;
	long codec_rss;
	pid_t pid;
	struct codec_figs *figs; /* shared with the codec stage child; lives until exit */
#if MC_HAVE_NET
	struct mail_opts mo = {0};

	mo.timeout = 60;
#endif

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			demo_help();
			return 0;
		}
		if (!v) {
			cli_err(CMD, "unknown option '%s' or missing value (see --help)", a);
			return 2;
		}
		i++;
		if (strcmp(a, "--size-mib") == 0) {
			if (cli_parse_uint(v, &mib) || mib == 0 || mib > 4096) {
				cli_err(CMD, "--size-mib takes 1..4096");
				return 2;
			}
#if MC_HAVE_NET
		} else if (strcmp(a, "--smtp") == 0) {
			mo.smtp = v;
		} else if (strcmp(a, "--pop3") == 0) {
			mo.pop3 = v;
		} else if (strcmp(a, "--user") == 0) {
			mo.user = v;
		} else if (strcmp(a, "--password-file") == 0) {
			mo.pwfile = v;
		} else if (strcmp(a, "--cafile") == 0) {
			mo.cafile = v;
		} else if (strcmp(a, "--from") == 0) {
			mo.from = v;
		} else if (strcmp(a, "--to") == 0) {
			mo.to = v;
		} else if (strcmp(a, "--workdir") == 0) {
			mo.workdir = v;
		} else if (strcmp(a, "--json") == 0) {
			mo.json = v;
		} else if (strcmp(a, "--timeout") == 0) {
			if (cli_parse_uint(v, &mo.timeout) || mo.timeout == 0 ||
			    mo.timeout > 3600) {
				cli_err(CMD, "--timeout takes 1..3600");
				return 2;
			}
#endif
		} else if (strcmp(a, "--keep-files") == 0) {
#if MC_HAVE_NET
			mo.keep_files = 1;
#endif
			i--;
		} else {
			cli_err(CMD, "unknown option '%s' (see --help)", a);
			return 2;
		}
	}
#if MC_HAVE_NET
	if ((mo.smtp || mo.pop3 || mo.pwfile) && (!mo.user || !mo.pwfile)) {
		cli_err(CMD, "the mail stage needs --user and --password-file");
		return 2;
	}
#endif
	/* stage 1 in a child: its buffers (3 times the attachment) stay out of
	 * the mail stage's peak memory */
	fflush(stdout);
	figs = mmap(NULL, sizeof *figs, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (figs == MAP_FAILED)
		figs = NULL; /* the JSON goes without the kernel figures */
	pid = fork();
	if (pid < 0) {
		cli_err(CMD, "fork: %s", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		int rc = codec_stage(mib, figs);

		fflush(stdout);
		_exit(rc);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	codec_rss = peak_rss_kib(RUSAGE_CHILDREN);
	printf("codec stage peak RSS: %.1f MiB\n", (double)codec_rss / 1024.0);
#if MC_HAVE_NET
	if (mo.user) {
		failed |= mail_stage(&mo, mib, codec_rss, figs);
		return failed;
	}
#endif
	printf("\nmail stage skipped: it needs SMTP and POP3 servers (--smtp, --pop3, --user,\n"
	       "--password-file); scripts/demo.sh starts local Postfix and Dovecot and runs it.\n");
	printf("demo: %s: codec stage only\n", failed ? "FAIL" : "PASS");
	return failed;
}
