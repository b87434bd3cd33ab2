/* cmd_send.c: `mimecodec send [--server smtp://HOST[:PORT]|smtps://HOST[:PORT]]
 * [--user U --password-file F] [--cafile F] [--retries N] [--timeout S]
 * [--trace] --from A --to B... (--eml FILE | compose options)`. The message
 * is streamed: from the file (mmap or read), or from the composer
 * (mimecodec/compose.h) straight into DATA/BDAT, attachments read from their
 * files in chunks, with SIZE= the composer's exact size; no temporary file,
 * constant memory. Without --server the server comes from the provider
 * table (mimecodec/providers.h) by the sender's domain. Every recipient's
 * outcome is printed; exit 0 only when every recipient got the message. */
#if MC_HAVE_NET
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "mimecodec/compose.h"
#include "mimecodec/providers.h"
#include "mimecodec/smtp.h"

#define CMD "send"

static void help(FILE *f)
{
	fprintf(
	    f,
	    "usage: mimecodec send [--server smtp://HOST[:PORT] | smtps://HOST[:PORT]]\n"
	    "                      [--user U (--password-file F | --token-file F)] [--cafile F]\n"
	    "                      [--retries N] [--timeout SECONDS] [--trace]\n"
	    "                      --from A --to B [--to C]... (--eml FILE|- | compose options)\n"
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
	    "  --eml FILE            the message, headers included, as it is to be sent\n"
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
	fprintf(f, "Exit status: 0 every recipient accepted the message; 3 some did; 1 none did\n"
	           "or an error; 2 usage.\n");
}

/* ---- the message source ---------------------------------------------------- */

struct eml_src {
	struct cli_input in;
};

static mc_status eml_read(void *ctx, void *buf, size_t cap, size_t *got)
{
	struct eml_src *e = ctx;
	const unsigned char *p;
	long n = cli_input_next(&e->in, &p, cap, CMD);

	if (n < 0)
		return MC_EIO;
	memcpy(buf, p, (size_t)n);
	*got = (size_t)n;
	return MC_OK;
}

static mc_status eml_rewind(void *ctx)
{
	struct eml_src *e = ctx;

	if (e->in.map) {
		e->in.pos = 0;
		return MC_OK;
	}
	return e->in.fd > 0 && lseek(e->in.fd, 0, SEEK_SET) == 0 ? MC_OK : MC_EUNSUPPORTED;
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
	struct mc_smtp_error err;
	struct mc_smtp_body body = {0};
	struct mc_smtp_rcpt *rc = NULL;
	struct mc_compose *c = NULL;
	struct cli_loaded text = {0}, html = {0};
	struct eml_src src;
	struct stat sb;
	const char *server = NULL, *pwfile = NULL, *tokfile = NULL, *eml = NULL, *from = NULL;
	const char *text_arg = NULL, *text_file = NULL, *html_file = NULL;
	const char **to = NULL, **shown = NULL;
	char **bufs = NULL, *is_cc = NULL;
	char host[256], port[8];
	char *password = NULL, *token = NULL;
	unsigned retries = 3, timeout = 30, backoff = 1000, attempts = 0;
	size_t nto = 0, nbufs = 0, ok = 0;
	mc_status st;
	int rcode = 2, have_src = 0, composing = 0, print_server = 0;

	memset(&o, 0, sizeof o);
	to = calloc((size_t)argc, sizeof *to);
	shown = calloc((size_t)argc, sizeof *shown);
	bufs = calloc((size_t)argc + 1, sizeof *bufs);
	is_cc = calloc((size_t)argc + 1, 1);
	if (!to || !shown || !bufs || !is_cc || mc_compose_new(&c, NULL) != MC_OK) {
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
		           strcmp(a, "--backoff") == 0) {
			VAL();
			if (cli_parse_uint(v, &u) || (a[2] == 't' && (u == 0 || u > 86400)) ||
			    (a[2] == 'r' && u > 100) || (a[2] == 'b' && u > 3600000)) {
				cli_err(CMD, "invalid value '%s' for %s", v, a);
				goto done;
			}
			*(a[2] == 'r' ? &retries : a[2] == 't' ? &timeout : &backoff) = u;
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
			eml = v;
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
	if (!eml == !composing) {
		cli_err(CMD,
		        eml ? "--eml excludes the compose options (--subject, --text, --attach "
		              "...)"
		            : "no message: give --eml FILE or compose options (--subject, "
		              "--text, --attach ...)");
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
	} else {
		if (cli_input_open(&src.in, eml, CMD))
			goto done;
		have_src = 1;
		body.read = eml_read;
		body.rewind = eml_rewind;
		body.ctx = &src;
		if (src.in.map)
			body.size = src.in.maplen;
		else if (fstat(src.in.fd, &sb) == 0 && S_ISREG(sb.st_mode))
			body.size = (uint64_t)sb.st_size;
	}
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
	rc = calloc(nto, sizeof *rc);
	if (!rc) {
		cli_err(CMD, "out of memory");
		goto done;
	}
	memset(&err, 0, sizeof err);
	st = mc_smtp_send(&o, &env, &body, rc, &err, &attempts);
	for (size_t i = 0; i < nto; i++) {
		const struct mc_smtp_reply *r = &rc[i].reply;

		ok += rc[i].delivered != 0;
		if (r->code)
			printf("%s: %s (%d%s%s %s)\n", to[i],
			       rc[i].delivered ? "accepted" : "refused", r->code,
			       r->enhanced[0] ? " " : "", r->enhanced, r->text);
		else
			printf("%s: not sent\n", to[i]);
	}
	fflush(stdout);
	if (st != MC_OK)
		cli_err(CMD, "%s%s%s (after %u attempt%s)", err.msg[0] ? err.msg : mc_strerror(st),
		        err.step[0] ? " at " : "", err.step, attempts, attempts == 1 ? "" : "s");
	rcode = st == MC_OK ? 0 : ok ? 3 : 1;
done:
	if (have_src)
		cli_input_close(&src.in);
	mc_compose_free(c);
	cli_unload(&text);
	cli_unload(&html);
	cli_secret_free(password);
	cli_secret_free(token);
	free(rc);
	if (bufs)
		for (size_t i = 0; i < nbufs; i++)
			free(bufs[i]);
	free(bufs);
	free(is_cc);
	free(shown);
	free(to);
	return rcode;
}
#else
typedef int mc_cli_send_unavailable; /* ISO C wants a non-empty translation unit */
#endif
