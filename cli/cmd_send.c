/* cmd_send.c: `mimecodec send [--server smtp://HOST[:PORT]|smtps://HOST[:PORT]]
 * [--user U --password-file F] [--cafile F] [--retries N] [--timeout S]
 * [--trace] [--jobs N] [--progress|--no-progress] --from A --to B...
 * (--eml FILE... | compose options)`. The message is streamed: from the
 * file (mmap or read), or from the composer
 * (mimecodec/compose.h) straight into DATA/BDAT, attachments read from their
 * files in chunks, with SIZE= the composer's exact size; no temporary file,
 * constant memory. Without --server the server comes from the provider
 * table (mimecodec/providers.h) by the sender's domain. Every recipient's
 * outcome is printed; exit 0 only when every recipient got the message.
 * Several --eml files are several messages with the same envelope, sent
 * through the send queue (mimecodec/sendq.h) over --jobs connections. A
 * progress bar goes to stderr when it is a terminal and the data is large. */
#if MC_HAVE_NET
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mimecodec/compose.h"
#include "mimecodec/providers.h"
#include "mimecodec/sendq.h"
#include "mimecodec/smtp.h"

#define CMD "send"

static void help(FILE *f)
{
	fprintf(
	    f,
	    "usage: mimecodec send [--server smtp://HOST[:PORT] | smtps://HOST[:PORT]]\n"
	    "                      [--user U (--password-file F | --token-file F)] [--cafile F]\n"
	    "                      [--retries N] [--timeout SECONDS] [--trace]\n"
	    "                      [--jobs N] [--progress | --no-progress]\n"
	    "                      --from A --to B [--to C]...\n"
	    "                      (--eml FILE|- [--eml FILE]... | compose options)\n"
	    "Send a message by SMTP. smtp:// (default port 587) upgrades with STARTTLS when\n"
	    "the server offers it and refuses to send credentials without it; smtps://\n"
	    "(default port 465) is TLS from the start. Certificates and host names are\n"
	    "always verified. Each recipient's outcome goes to standard output.\n"
	    "  --server URL          the submission server; omitted: from the sender's domain\n"
	    "                        (provider table below), else an error\n"
	    "  --print-server        print the server that would be used and exit (no network)\n"
	    "  --user U              authenticate as U (needs --password-file or --token-file)\n"
	    "  --password-file F     the password is the first line of F\n"
	    "  --token-file F        an OAuth2 bearer token (AUTH XOAUTH2) in F\n"
	    "  --auth MECH           only this mechanism: plain, login or xoauth2\n"
	    "  --cafile F            trust the CA certificates in F (PEM)\n"
	    "  --retries N           retries for 4xx replies and lost connections (default 3)\n"
	    "  --backoff MS          first retry delay in milliseconds (default 1000; doubles)\n"
	    "  --timeout SECONDS     per connect, read and write (default 30)\n"
	    "  --trace               the dialogue on standard error (AUTH lines redacted)\n"
	    "  --from A              sender: addr@host or \"Name <addr@host>\" (the envelope\n"
	    "                        gets addr@host; with --eml, \"\" is the null sender)\n"
	    "  --to B                recipient; repeat for more\n"
	    "  --eml FILE            the message, headers included, as it is to be sent;\n"
	    "                        repeat for more messages (same envelope, each sent once)\n"
	    "  --jobs N              send over N connections at once (default 1, at most 64);\n"
	    "                        with several messages or N > 1 a summary goes to stderr\n"
	    "  --progress            a progress bar on standard error (default: only when it\n"
	    "                        is a terminal, the data is over 1 MiB and no --trace)\n"
	    "  --no-progress         never a progress bar\n"
	    "  --require-tls         fail when TLS is not available, even without credentials\n"
	    "  --no-pipelining       do not pipeline commands\n"
	    "  --no-chunking         use DATA even when the server offers BDAT\n"
	    "  --insecure            do not verify the certificate (tests only)\n"
	    "Compose options (as `mimecodec compose`; instead of --eml): the message is\n"
	    "composed while it is sent, attachments read from their files in chunks, the\n"
	    "exact size announced with SIZE=; no temporary file, constant memory.\n"
	    "  --cc C                Cc recipient (also an envelope recipient; repeatable)\n"
	    "  --reply-to R          Reply-To address (repeatable)\n"
	    "  --subject S           subject (UTF-8)\n"
	    "  --text T              text/plain body; --text-file F reads it from F\n"
	    "  --html-file F         text/html body (with a text body: multipart/alternative)\n"
	    "  --attach FILE         attachment (repeatable)\n"
	    "  --header 'N: V'       an extra header field (repeatable)\n"
	    "Providers (when --server is omitted, by the domain of --from):\n");
	{
		size_t n;
		const struct mc_provider *t = mc_provider_table(&n);

		for (size_t i = 0; i < n; i++)
			fprintf(f, "  %-16s %s://%s:%s\n", t[i].domain,
			        t[i].smtp_tls == MC_SMTP_IMPLICIT ? "smtps" : "smtp",
			        t[i].smtp_host, t[i].smtp_port);
	}
	fprintf(f, "Exit status: 0 every recipient accepted every message; 3 some did; 1 none\n"
	           "did or an error; 2 usage.\n");
}

/* ---- progress bar ------------------------------------------------------------- */

#define PROGRESS_MIN   (1024u * 1024u) /* auto: only for more than this many bytes */
#define PROGRESS_WIDTH 30

/* Shared by the workers: bytes pulled from the message sources so far. A
 * retry takes back what its message had counted. */
struct progress {
	pthread_mutex_t mu;
	int on, drawn;
	uint64_t total; /* the bytes to send, 0 = unknown */
	int64_t bytes;
	double t0, last;
};

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One redraw of the line (mu held): "\r[####------]  42%   12.3 MB/s  5.0/12.0 MiB". */
static void progress_draw(struct progress *p, double t)
{
	uint64_t b = p->bytes > 0 ? (uint64_t)p->bytes : 0;
	double el = t - p->t0, rate = el > 0 ? (double)b / el / 1e6 : 0;

	if (p->total) {
		char bar[PROGRESS_WIDTH + 1];
		size_t fill;

		if (b > p->total)
			b = p->total;
		fill = (size_t)(b * PROGRESS_WIDTH / p->total);
		memset(bar, '#', fill);
		memset(bar + fill, '-', PROGRESS_WIDTH - fill);
		bar[PROGRESS_WIDTH] = '\0';
		fprintf(stderr, "\r[%s] %3u%% %7.1f MB/s %8.1f/%.1f MiB", bar,
		        (unsigned)(b * 100 / p->total), rate, (double)b / 1048576.0,
		        (double)p->total / 1048576.0);
	} else {
		fprintf(stderr, "\r%8.1f MiB %7.1f MB/s", (double)b / 1048576.0, rate);
	}
	fflush(stderr);
	p->drawn = 1;
	p->last = t;
}

/* Counts delta bytes; redraws at most 10 times a second. */
static void progress_add(struct progress *p, int64_t delta)
{
	double t;

	if (!p || !p->on)
		return;
	pthread_mutex_lock(&p->mu);
	p->bytes += delta;
	t = mono_s();
	if (t - p->last >= 0.1)
		progress_draw(p, t);
	pthread_mutex_unlock(&p->mu);
}

/* The final state and the newline that ends the bar's line. */
static void progress_end(struct progress *p)
{
	if (!p->on)
		return;
	pthread_mutex_lock(&p->mu);
	if (p->drawn) {
		progress_draw(p, mono_s());
		fputc('\n', stderr);
		fflush(stderr);
	}
	p->on = 0;
	pthread_mutex_unlock(&p->mu);
}

/* ---- the message sources ---------------------------------------------------- */

/* One message: an .eml file (opened on the first read, so many messages do
 * not hold many descriptors; closed when the message is done) or the
 * composer (inner), with its outcome. */
struct src {
	const char *path; /* NULL: composed (inner) */
	struct cli_input in;
	int open;
	struct mc_smtp_body inner;
	struct progress *pg;
	uint64_t counted; /* bytes counted into pg by the current attempt */
	/* outcome */
	mc_status st;
	struct mc_smtp_rcpt *rc;
	struct mc_smtp_error err;
	unsigned attempts;
};

static mc_status src_read(void *ctx, void *buf, size_t cap, size_t *got)
{
	struct src *e = ctx;
	mc_status st = MC_OK;

	if (e->path) {
		const unsigned char *p;
		long n;

		if (!e->open) {
			if (cli_input_open(&e->in, e->path, CMD, CLI_IN_READ))
				return MC_EIO;
			e->open = 1;
		}
		n = cli_input_next(&e->in, &p, cap, CMD);
		if (n < 0)
			return MC_EIO;
		memcpy(buf, p, (size_t)n);
		*got = (size_t)n;
	} else {
		st = e->inner.read(e->inner.ctx, buf, cap, got);
	}
	if (st == MC_OK && *got) {
		e->counted += *got;
		progress_add(e->pg, (int64_t)*got);
	}
	return st;
}

static mc_status src_rewind(void *ctx)
{
	struct src *e = ctx;

	progress_add(e->pg, -(int64_t)e->counted);
	e->counted = 0;
	if (!e->path)
		return e->inner.rewind ? e->inner.rewind(e->inner.ctx) : MC_EUNSUPPORTED;
	if (!e->open)
		return MC_OK;
	if (e->in.map) {
		e->in.pos = 0;
		return MC_OK;
	}
	return e->in.fd > 0 && lseek(e->in.fd, 0, SEEK_SET) == 0 ? MC_OK : MC_EUNSUPPORTED;
}

static void src_close(struct src *e)
{
	if (e->open)
		cli_input_close(&e->in);
	e->open = 0;
}

/* The queue's completion callback (a worker thread): keep the outcome,
 * release the file. */
static void src_done(void *ctx, const struct mc_sendq_result *r)
{
	struct src *e = r->job_ctx;

	(void)ctx;
	e->st = r->status;
	if (r->rcpts)
		memcpy(e->rc, r->rcpts, r->env->nto * sizeof *e->rc);
	e->err = *r->err;
	e->attempts = r->attempts;
	src_close(e);
}

/* Prints one message's recipients (prefix "LABEL: " when label) and its
 * error; returns the recipients that got it. */
static size_t report(const struct src *e, const char *label, const char *const *to, size_t nto)
{
	size_t ok = 0;

	for (size_t i = 0; i < nto; i++) {
		const struct mc_smtp_reply *r = &e->rc[i].reply;

		ok += e->rc[i].delivered != 0;
		if (r->code)
			printf("%s%s%s: %s (%d%s%s %s)\n", label ? label : "", label ? ": " : "",
			       to[i], e->rc[i].delivered ? "accepted" : "refused", r->code,
			       r->enhanced[0] ? " " : "", r->enhanced, r->text);
		else
			printf("%s%s%s: not sent\n", label ? label : "", label ? ": " : "", to[i]);
	}
	fflush(stdout);
	if (e->st != MC_OK)
		cli_err(CMD, "%s%s%s%s%s (after %u attempt%s)", label ? label : "",
		        label ? ": " : "", e->err.msg[0] ? e->err.msg : mc_strerror(e->st),
		        e->err.step[0] ? " at " : "", e->err.step, e->attempts,
		        e->attempts == 1 ? "" : "s");
	return ok;
}

/* ---- options ------------------------------------------------------------------ */

/* URL to transport options through the shared parser (netopts.c). */
static int parse_server(const char *url, int *tls, char *host, size_t hcap, char *port, size_t pcap)
{
	int implicit;

	if (cli_parse_url(url, "smtp", "smtps", &implicit, host, hcap, port, pcap))
		return -1;
	*tls = implicit ? MC_SMTP_IMPLICIT : MC_SMTP_STARTTLS;
	return 0;
}

/* ---- composing from options -------------------------------------------------- */

/* One compose option into c; returns 0 or -1 after printing why. */
static int compose_opt(struct mc_compose *c, const char *a, const char *v)
{
	mc_status st = MC_OK;

	if (strcmp(a, "--cc") == 0 || strcmp(a, "--reply-to") == 0 || strcmp(a, "--to") == 0 ||
	    strcmp(a, "--from") == 0) {
		const char *name, *addr;
		char *buf;

		if (cli_split_addr(v, &buf, &name, &addr)) {
			cli_err(CMD, "out of memory");
			return -1;
		}
		st = a[2] == 'c'   ? mc_compose_add_cc(c, name, addr)
		     : a[2] == 'r' ? mc_compose_add_reply_to(c, name, addr)
		     : a[2] == 't' ? mc_compose_add_to(c, name, addr)
		                   : mc_compose_set_from(c, name, addr);
		free(buf);
		if (st) {
			cli_err(CMD, "%s: %s", a,
			        st == MC_EINVAL
			            ? "not an address (addr@host or \"Name <addr@host>\")"
			            : mc_strerror(st));
			return -1;
		}
	} else if (strcmp(a, "--subject") == 0) {
		if ((st = mc_compose_set_subject(c, v))) {
			cli_err(CMD, "--subject: %s", mc_strerror(st));
			return -1;
		}
	} else if (strcmp(a, "--header") == 0) {
		const char *colon = strchr(v, ':');
		char name[128];

		if (!colon || (size_t)(colon - v) >= sizeof name) {
			cli_err(CMD, "--header: expected 'Name: value'");
			return -1;
		}
		memcpy(name, v, (size_t)(colon - v));
		name[colon - v] = '\0';
		colon++;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		if ((st = mc_compose_add_header(c, name, colon))) {
			cli_err(CMD, "--header '%s': %s", name,
			        st == MC_EINVAL ? "not a header this option may set"
			                        : mc_strerror(st));
			return -1;
		}
	} else if (strcmp(a, "--attach") == 0) {
		struct mc_compose_attachment at = {0};

		errno = 0;
		if ((st = mc_compose_attach_file(c, &at, v))) {
			if (st == MC_EIO)
				cli_err(CMD, "--attach %s: %s", v, strerror(errno));
			else if (st == MC_EINVAL)
				cli_err(CMD, "--attach %s: not a regular file", v);
			else
				cli_err(CMD, "--attach %s: %s", v, mc_strerror(st));
			return -1;
		}
	}
	return 0;
}

static int is_compose_opt(const char *a)
{
	static const char *const opts[] = {"--reply-to",  "--subject",   "--header", "--text",
	                                   "--text-file", "--html-file", "--attach"};

	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
		if (strcmp(a, opts[i]) == 0)
			return 1;
	return 0;
}

/* ---- the command ----------------------------------------------------------------- */

int cmd_send(int argc, char **argv)
{
	struct mc_smtp_opts o;
	struct mc_smtp_envelope env = {0};
	struct mc_smtp_body body = {0};
	struct mc_compose *c = NULL;
	struct cli_loaded text = {0}, html = {0};
	struct progress pg;
	struct src *srcs = NULL;
	struct mc_smtp_rcpt *rcs = NULL;
	struct mc_sendq *q = NULL;
	struct stat sb;
	const char *server = NULL, *pwfile = NULL, *tokfile = NULL, *from = NULL;
	const char *text_arg = NULL, *text_file = NULL, *html_file = NULL;
	const char **to = NULL, **shown = NULL, **emls = NULL;
	char **bufs = NULL, *is_cc = NULL;
	char host[256], port[8];
	char *password = NULL, *token = NULL;
	unsigned retries = 3, timeout = 30, backoff = 1000, jobs = 1;
	size_t nto = 0, nbufs = 0, neml = 0, nmsg = 0, ok = 0, nstdin = 0;
	mc_status st;
	int rcode = 2, composing = 0, print_server = 0, progress = -1, queued = 0;

	memset(&o, 0, sizeof o);
	memset(&pg, 0, sizeof pg);
	pthread_mutex_init(&pg.mu, NULL);
	to = calloc((size_t)argc, sizeof *to);
	shown = calloc((size_t)argc, sizeof *shown);
	emls = calloc((size_t)argc, sizeof *emls);
	bufs = calloc((size_t)argc + 1, sizeof *bufs);
	is_cc = calloc((size_t)argc + 1, 1);
	if (!to || !shown || !emls || !bufs || !is_cc || mc_compose_new(&c, NULL) != MC_OK) {
		cli_err(CMD, "out of memory");
		rcode = 1;
		goto done;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		unsigned u;

#define VAL()                                                 \
	do {                                                  \
		if (!(v = cli_need_arg(CMD, argc, argv, &i))) \
			goto done;                            \
	} while (0)
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			help(stdout);
			rcode = 0;
			goto done;
		} else if (strcmp(a, "--server") == 0) {
			VAL();
			server = v;
		} else if (strcmp(a, "--print-server") == 0) {
			print_server = 1;
		} else if (strcmp(a, "--user") == 0) {
			VAL();
			o.user = v;
		} else if (strcmp(a, "--password-file") == 0) {
			VAL();
			pwfile = v;
		} else if (strcmp(a, "--token-file") == 0) {
			VAL();
			tokfile = v;
		} else if (strcmp(a, "--auth") == 0) {
			VAL();
			if (strcmp(v, "plain") == 0 || strcmp(v, "PLAIN") == 0)
				o.auth_mechs = MC_SMTP_AUTH_PLAIN;
			else if (strcmp(v, "login") == 0 || strcmp(v, "LOGIN") == 0)
				o.auth_mechs = MC_SMTP_AUTH_LOGIN;
			else if (strcmp(v, "xoauth2") == 0 || strcmp(v, "XOAUTH2") == 0)
				o.auth_mechs = MC_SMTP_AUTH_XOAUTH2;
			else {
				cli_err(CMD, "unknown AUTH mechanism '%s' (plain, login, xoauth2)",
				        v);
				goto done;
			}
		} else if (strcmp(a, "--cafile") == 0) {
			VAL();
			o.cafile = v;
		} else if (strcmp(a, "--retries") == 0 || strcmp(a, "--timeout") == 0 ||
		           strcmp(a, "--backoff") == 0 || strcmp(a, "--jobs") == 0) {
			VAL();
			if (cli_parse_uint(v, &u) || (a[2] == 't' && (u == 0 || u > 86400)) ||
			    (a[2] == 'r' && u > 100) || (a[2] == 'b' && u > 3600000) ||
			    (a[2] == 'j' && (u == 0 || u > 64))) {
				cli_err(CMD, "invalid value '%s' for %s", v, a);
				goto done;
			}
			*(a[2] == 'r'   ? &retries
			  : a[2] == 't' ? &timeout
			  : a[2] == 'j' ? &jobs
			                : &backoff) = u;
		} else if (strcmp(a, "--progress") == 0 || strcmp(a, "--no-progress") == 0) {
			progress = a[2] == 'p';
		} else if (strcmp(a, "--trace") == 0) {
			o.trace = cli_trace_stderr;
		} else if (strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0 ||
		           strcmp(a, "--cc") == 0) {
			const char *name, *addr;

			VAL();
			if (cli_split_addr(v, &bufs[nbufs], &name, &addr)) {
				cli_err(CMD, "out of memory");
				rcode = 1;
				goto done;
			}
			nbufs++;
			if (a[2] == 'f') {
				from = addr;
				shown[0] = v; /* kept for the From: header */
			} else {
				shown[++nto] = v;
				to[nto - 1] = addr;
				is_cc[nto] = a[2] == 'c';
			}
			if (a[2] == 'c')
				composing = 1;
		} else if (strcmp(a, "--eml") == 0) {
			VAL();
			emls[neml++] = v;
			nstdin += strcmp(v, "-") == 0;
		} else if (strcmp(a, "--text") == 0) {
			VAL();
			text_arg = v;
			composing = 1;
		} else if (strcmp(a, "--text-file") == 0) {
			VAL();
			text_file = v;
			composing = 1;
		} else if (strcmp(a, "--html-file") == 0) {
			VAL();
			html_file = v;
			composing = 1;
		} else if (is_compose_opt(a)) {
			VAL();
			if (compose_opt(c, a, v)) {
				rcode = 1;
				goto done;
			}
			composing = 1;
		} else if (strcmp(a, "--require-tls") == 0) {
			o.flags |= MC_SMTP_REQUIRE_TLS;
		} else if (strcmp(a, "--no-pipelining") == 0) {
			o.flags |= MC_SMTP_NO_PIPELINING;
		} else if (strcmp(a, "--no-chunking") == 0) {
			o.flags |= MC_SMTP_NO_CHUNKING;
		} else if (strcmp(a, "--insecure") == 0) {
			o.flags |= MC_SMTP_INSECURE;
		} else {
			cli_err(CMD, "unknown option or operand '%s' (see --help)", a);
			goto done;
		}
#undef VAL
	}
	if (!from || nto == 0) {
		cli_err(CMD, "--from and at least one --to are required");
		goto done;
	}
	if (server) {
		if (parse_server(server, &o.tls, host, sizeof host, port, sizeof port)) {
			cli_err(CMD,
			        "invalid --server '%s': smtp://HOST[:PORT] or smtps://HOST[:PORT]",
			        server);
			goto done;
		}
	} else {
		const struct mc_provider *pv = mc_provider_find(from);

		if (!pv || !strchr(from, '@')) {
			cli_err(CMD,
			        "no known provider for '%s': give --server smtp://HOST[:PORT] or "
			        "smtps://HOST[:PORT] (known: see --help)",
			        from);
			goto done;
		}
		snprintf(host, sizeof host, "%s", pv->smtp_host);
		snprintf(port, sizeof port, "%s", pv->smtp_port);
		o.tls = pv->smtp_tls;
	}
	if (print_server) {
		printf("%s://%s%s%s\n", o.tls == MC_SMTP_IMPLICIT ? "smtps" : "smtp", host,
		       port[0] ? ":" : "", port);
		rcode = 0;
		goto done;
	}
	if (!neml == !composing) {
		cli_err(CMD,
		        neml ? "--eml excludes the compose options (--subject, --text, --attach "
		               "...)"
		             : "no message: give --eml FILE or compose options (--subject, "
		               "--text, --attach ...)");
		goto done;
	}
	if (nstdin > 1) {
		cli_err(CMD, "--eml - (standard input) may be given once");
		goto done;
	}
	if (text_arg && text_file) {
		cli_err(CMD, "--text and --text-file exclude each other");
		goto done;
	}
	if (!o.user != !(pwfile || tokfile) || (pwfile && tokfile)) {
		cli_err(CMD, "--user needs exactly one of --password-file and --token-file");
		goto done;
	}
	rcode = 1;
	if (composing) {
		struct mc_compose_info info;

		/* From, To and Cc as given (display names kept), in order. */
		if (compose_opt(c, "--from", shown[0]))
			goto done;
		for (size_t i = 1; i <= nto; i++)
			if (compose_opt(c, is_cc[i] ? "--cc" : "--to", shown[i]))
				goto done;
		if (text_arg && (st = mc_compose_set_text(c, text_arg, strlen(text_arg)))) {
			cli_err(CMD, "--text: %s", mc_strerror(st));
			goto done;
		}
		if (text_file) {
			if (cli_load(&text.in, text_file, CMD, &text.data, &text.len, &text.owned))
				goto done;
			text.open = 1;
			if ((st = mc_compose_set_text(c, text.data, text.len))) {
				cli_err(CMD, "--text-file: %s", mc_strerror(st));
				goto done;
			}
		}
		if (html_file) {
			if (cli_load(&html.in, html_file, CMD, &html.data, &html.len, &html.owned))
				goto done;
			html.open = 1;
			if ((st = mc_compose_set_html(c, html.data, html.len))) {
				cli_err(CMD, "--html-file: %s", mc_strerror(st));
				goto done;
			}
		}
		errno = 0;
		if ((st = mc_compose_prepare(c, &info))) {
			cli_err(CMD, "composing: %s%s%s", mc_strerror(st),
			        st == MC_EIO && errno ? ": " : "",
			        st == MC_EIO && errno ? strerror(errno) : "");
			goto done;
		}
		body.read = mc_compose_pull;
		body.rewind = mc_compose_pull_rewind;
		body.ctx = c;
		body.size = info.size == MC_COMPOSE_SIZE_UNKNOWN ? 0 : info.size;
		if (info.body_type != MC_COMPOSE_BODY_7BIT)
			env.flags |= MC_SMTP_ENV_8BIT;
	}
	nmsg = composing ? 1 : neml;
	srcs = calloc(nmsg, sizeof *srcs);
	rcs = calloc(nmsg * nto, sizeof *rcs);
	if (!srcs || !rcs) {
		cli_err(CMD, "out of memory");
		goto done;
	}
	for (size_t m = 0; m < nmsg; m++) {
		srcs[m].rc = rcs + m * nto;
		srcs[m].pg = &pg;
		srcs[m].inner = body; /* composing */
	}
	pg.total = body.size;
	/* every file is checked before anything is sent; one message or
	 * standard input is opened at once, several files as they are sent */
	for (size_t m = 0; m < neml; m++) {
		struct src *e = &srcs[m];

		e->path = emls[m];
		if (nmsg == 1 || strcmp(emls[m], "-") == 0) {
			if (cli_input_open(&e->in, emls[m], CMD, CLI_IN_READ))
				goto done;
			e->open = 1;
			if (e->in.map)
				e->inner.size = e->in.maplen;
			else if (fstat(e->in.fd, &sb) == 0 && S_ISREG(sb.st_mode))
				e->inner.size = (uint64_t)sb.st_size;
			else
				e->inner.size = 0;
		} else if (stat(emls[m], &sb) != 0 || access(emls[m], R_OK) != 0) {
			cli_err(CMD, "%s: %s", emls[m], strerror(errno));
			goto done;
		} else if (S_ISDIR(sb.st_mode)) {
			cli_err(CMD, "%s: is a directory", emls[m]);
			goto done;
		} else {
			e->inner.size = S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
		}
		if (m == 0)
			pg.total = 0;
		if (pg.total != UINT64_MAX)
			pg.total = e->inner.size ? pg.total + e->inner.size : UINT64_MAX;
	}
	if (pg.total == UINT64_MAX) /* some size unknown */
		pg.total = 0;
	if (pwfile && !(password = cli_read_secret(CMD, pwfile, "password")))
		goto done;
	if (tokfile && !(token = cli_read_secret(CMD, tokfile, "token")))
		goto done;
	o.password = password;
	o.oauth_token = token;
	o.host = host;
	o.port = port[0] ? port : NULL;
	o.timeout_ms = (int)(timeout * 1000);
	o.retries = retries;
	o.backoff_ms = backoff ? backoff : 1;
	o.backoff_max_ms = backoff ? 30 * backoff : 1;
	env.from = from;
	env.to = to;
	env.nto = nto;
	/* the bar: forced, or on a terminal for more than 1 MiB and no trace */
	pg.on = progress == 1 || (progress < 0 && !o.trace && isatty(2) && pg.total > PROGRESS_MIN);
	pg.t0 = mono_s();
	pg.last = -1;
	queued = nmsg > 1 || jobs > 1;
	if (!queued) {
		struct mc_smtp_body b = {src_read, src_rewind, &srcs[0], srcs[0].inner.size};

		srcs[0].st =
		    mc_smtp_send(&o, &env, &b, srcs[0].rc, &srcs[0].err, &srcs[0].attempts);
	} else {
		struct mc_sendq_opts qo = {0};

		if (jobs > nmsg) /* no idle threads */
			jobs = (unsigned)nmsg;
		qo.workers = jobs;
		qo.done = src_done;
		q = mc_sendq_new(&o, &qo);
		if (!q) {
			cli_err(CMD, "cannot start the send queue (out of memory or threads)");
			goto done;
		}
		for (size_t m = 0; m < nmsg; m++) {
			struct mc_smtp_body b = {src_read, src_rewind, &srcs[m],
			                         srcs[m].inner.size};

			if ((st = mc_sendq_add(q, &env, &b, &srcs[m])) != MC_OK) {
				srcs[m].st = st;
				snprintf(srcs[m].err.msg, sizeof srcs[m].err.msg, "not queued: %s",
				         mc_strerror(st));
			}
		}
		(void)mc_sendq_finish(q);
	}
	progress_end(&pg);
	{
		size_t full = 0, some = 0;

		for (size_t m = 0; m < nmsg; m++) {
			size_t k = report(
			    &srcs[m], queued ? (srcs[m].path ? srcs[m].path : "composed") : NULL,
			    to, nto);

			ok += k;
			full += k == nto;
			some += k && k < nto;
		}
		if (queued)
			cli_err(
			    CMD,
			    "%zu message%s over %u connection%s at most: %zu to every recipient, "
			    "%zu to some, %zu to none",
			    nmsg, nmsg == 1 ? "" : "s", jobs, jobs == 1 ? "" : "s", full, some,
			    nmsg - full - some);
		rcode = full == nmsg ? 0 : ok ? 3 : 1;
	}
done:
	progress_end(&pg);
	mc_sendq_free(q);
	for (size_t m = 0; m < nmsg && srcs; m++)
		src_close(&srcs[m]);
	free(srcs);
	free(rcs);
	pthread_mutex_destroy(&pg.mu);
	mc_compose_free(c);
	cli_unload(&text);
	cli_unload(&html);
	cli_secret_free(password);
	cli_secret_free(token);
	if (bufs)
		for (size_t i = 0; i < nbufs; i++)
			free(bufs[i]);
	free(bufs);
	free(is_cc);
	free(shown);
	free(emls);
	free(to);
	return rcode;
}
#else
typedef int mc_cli_send_unavailable; /* ISO C wants a non-empty translation unit */
#endif
