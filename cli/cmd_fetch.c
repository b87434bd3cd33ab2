/* cmd_fetch.c: `mimecodec fetch --server pop3://HOST[:PORT]|pop3s://HOST[:PORT]
 * --user U --password-file F [--cafile F] --maildir DIR [--keep]
 * [--loop SECONDS] [--json] [--timeout SECONDS]`. Every behaviour (no loss,
 * no duplicates, TLS rules) is mc_pop3_fetch's; this file parses options,
 * reads the secret, loops and prints. */
#if MC_HAVE_NET
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "mimecodec/pop3.h"

#define CMD "fetch"

static void help(FILE *f)
{
	fprintf(
	    f,
	    "usage: mimecodec fetch [--server pop3://HOST[:PORT] | pop3s://HOST[:PORT]]\n"
	    "                       --user U (--password-file F | --token-file F) [--cafile F]\n"
	    "                       --maildir DIR [--keep] [--loop SECONDS] [--json]\n"
	    "                       [--timeout SECONDS] [--trace]\n"
	    "Download new mail by POP3 into a Maildir. pop3:// (default port 110) upgrades\n"
	    "with STLS and refuses to send credentials without it; pop3s:// (default port\n"
	    "995) is TLS from the start. Certificates and host names are always verified.\n"
	    "Each message is in DIR/new (written to tmp/, fsync'ed, renamed) before it is\n"
	    "deleted on the server; deletions take effect only when the session ends\n"
	    "cleanly, so an interrupted fetch loses and deletes nothing. A state file in\n"
	    "DIR (mimecodec-pop3.USER@HOST) remembers what was fetched, so nothing is\n"
	    "fetched twice.\n"
	    "  --server URL          the POP3 server; omitted: from the provider table for\n"
	    "                        the --user domain (gmail.com, outlook.com, hotmail.com,\n"
	    "                        live.com, yahoo.com, 163.com, 126.com, qq.com: pop3s, 995)\n"
	    "  --user U              log in as U\n"
	    "  --password-file F     the password is the first line of F\n"
	    "  --token-file F        an OAuth2 bearer token (AUTH XOAUTH2) in F\n"
	    "  --auth MECH           only this mechanism: user, apop, plain or xoauth2\n"
	    "  --cafile F            trust the CA certificates in F (PEM)\n"
	    "  --maildir DIR         deliver into DIR (tmp/ new/ cur/ created when missing)\n"
	    "  --keep                leave the messages on the server\n"
	    "  --state FILE          the state file (default: in DIR)\n"
	    "  --loop SECONDS        fetch again every SECONDS until SIGINT/SIGTERM (errors:\n"
	    "                        waits double, up to 64 times SECONDS)\n"
	    "  --json                one JSON object per line: each message, then a summary\n"
	    "  --timeout SECONDS     per connect, read and write (default 30)\n"
	    "  --trace               the dialogue on standard error (secrets redacted)\n"
	    "  --no-pipelining       do not pipeline commands\n"
	    "  --insecure            do not verify the certificate (tests only)\n"
	    "Exit status: 0 success; 1 an error (with --loop: a permanent one, such as a\n"
	    "refused login); 2 usage.\n");
}

/* ---- options ------------------------------------------------------------------ */

/* URL to transport options through the shared parser (netopts.c). */
static int parse_server(const char *url, int *tls, char *host, size_t hcap, char *port, size_t pcap)
{
	int implicit;

	if (cli_parse_url(url, "pop3", "pop3s", &implicit, host, hcap, port, pcap))
		return -1;
	*tls = implicit ? MC_POP3_IMPLICIT : MC_POP3_STLS;
	return 0;
}

/* ---- output ----------------------------------------------------------------------- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

struct out {
	int json;
	const char *maildir;
};

static int on_event(void *ctx, int ev, const struct mc_pop3_msg *m, const char *file)
{
	struct out *o = ctx;
	char path[4096];
	const char *what = ev == MC_POP3_FETCHED   ? "fetched"
	                   : ev == MC_POP3_SKIPPED ? "skipped"
	                                           : "deleted";

	if (o->json) {
		printf("{\"event\": \"%s\", \"number\": %u, \"uidl\": ", what, m->num);
		json_str(stdout, m->uid);
		printf(", \"size\": %llu", (unsigned long long)m->size);
		if (file) {
			printf(", \"file\": ");
			json_str(stdout, file);
			snprintf(path, sizeof path, "%s/new/%s", o->maildir, file);
			printf(", \"path\": ");
			json_str(stdout, path);
		}
		printf("}\n");
	} else if (ev == MC_POP3_FETCHED) {
		printf("message %u (%s, %llu octets): new/%s\n", m->num, m->uid[0] ? m->uid : "-",
		       (unsigned long long)m->size, file);
	}
	fflush(stdout);
	return 0;
}

static void summary(const struct out *o, mc_status st, const struct mc_pop3_fetch_result *r,
                    const struct mc_pop3_error *e, const char *server)
{
	if (o->json) {
		printf("{\"event\": \"summary\", \"server\": ");
		json_str(stdout, server);
		printf(", \"listed\": %u, \"fetched\": %u, \"skipped\": %u, \"deleted\": %u, "
		       "\"bytes\": %llu, \"recovered\": %u, \"committed\": %s, \"status\": ",
		       r->listed, r->fetched, r->skipped, r->deleted, (unsigned long long)r->bytes,
		       r->recovered, r->quit_ok ? "true" : "false");
		json_str(stdout, mc_status_name(st));
		if (st != MC_OK) {
			printf(", \"error\": ");
			json_str(stdout, e->msg[0] ? e->msg : mc_strerror(st));
			printf(", \"step\": ");
			json_str(stdout, e->step);
		}
		printf("}\n");
	} else {
		printf(
		    "%u on the server, %u fetched (%llu bytes), %u already fetched, %u deleted%s\n",
		    r->listed, r->fetched, (unsigned long long)r->bytes, r->skipped, r->deleted,
		    r->recovered ? " (deliveries interrupted earlier were completed)" : "");
	}
	fflush(stdout);
	if (st != MC_OK)
		cli_err(CMD, "%s%s%s", e->msg[0] ? e->msg : mc_strerror(st),
		        e->step[0] ? " at " : "", e->step);
}

/* ---- the loop ----------------------------------------------------------------------- */

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void nap(unsigned seconds)
{
	for (unsigned long ms = (unsigned long)seconds * 1000; ms && !stop_flag;) {
		unsigned long step = ms < 100 ? ms : 100;
		struct timespec ts = {0, (long)step * 1000000L};

		nanosleep(&ts, NULL);
		ms -= step;
	}
}

static int permanent(mc_status st)
{
	return st == MC_EAUTH || st == MC_ENOTLS || st == MC_ETLS || st == MC_EINVAL ||
	       st == MC_EUNSUPPORTED || st == MC_ERESOLVE;
}

int cmd_fetch(int argc, char **argv)
{
	struct mc_pop3_opts o;
	struct mc_pop3_fetch_opts fo;
	struct out out = {0};
	const char *server = NULL, *pwfile = NULL, *tokfile = NULL;
	char host[256], port[8], shown[300];
	char *password = NULL, *token = NULL;
	unsigned timeout = 30, loop = 0, errors = 0;
	int rcode = 2, loop_set = 0;
	mc_status st;

	memset(&o, 0, sizeof o);
	memset(&fo, 0, sizeof fo);
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
			if (strcasecmp(v, "user") == 0)
				o.auth_mechs = MC_POP3_AUTH_USER;
			else if (strcasecmp(v, "apop") == 0)
				o.auth_mechs = MC_POP3_AUTH_APOP;
			else if (strcasecmp(v, "plain") == 0)
				o.auth_mechs = MC_POP3_AUTH_PLAIN;
			else if (strcasecmp(v, "xoauth2") == 0)
				o.auth_mechs = MC_POP3_AUTH_XOAUTH2;
			else {
				cli_err(CMD, "unknown mechanism '%s' (user, apop, plain, xoauth2)",
				        v);
				goto done;
			}
		} else if (strcmp(a, "--cafile") == 0) {
			VAL();
			o.cafile = v;
		} else if (strcmp(a, "--maildir") == 0) {
			VAL();
			fo.maildir = v;
		} else if (strcmp(a, "--state") == 0) {
			VAL();
			fo.state_file = v;
		} else if (strcmp(a, "--keep") == 0) {
			fo.keep = 1;
		} else if (strcmp(a, "--json") == 0) {
			out.json = 1;
		} else if (strcmp(a, "--trace") == 0) {
			o.trace = cli_trace_stderr;
		} else if (strcmp(a, "--no-pipelining") == 0) {
			o.flags |= MC_POP3_NO_PIPELINING;
		} else if (strcmp(a, "--insecure") == 0) {
			o.flags |= MC_POP3_INSECURE;
		} else if (strcmp(a, "--timeout") == 0 || strcmp(a, "--loop") == 0) {
			VAL();
			if (cli_parse_uint(v, &u) || u == 0 || u > 86400) {
				cli_err(CMD, "invalid value '%s' for %s (1 to 86400 seconds)", v,
				        a);
				goto done;
			}
			if (a[2] == 't') {
				timeout = u;
			} else {
				loop = u;
				loop_set = 1;
			}
		} else {
			cli_err(CMD, "unknown option or operand '%s' (see --help)", a);
			goto done;
		}
#undef VAL
	}
	if (!o.user || !(pwfile || tokfile) || (pwfile && tokfile)) {
		cli_err(CMD,
		        "--user and exactly one of --password-file and --token-file are required");
		goto done;
	}
	if (!fo.maildir) {
		cli_err(CMD, "--maildir is required");
		goto done;
	}
	if (server) {
		if (parse_server(server, &o.tls, host, sizeof host, port, sizeof port)) {
			cli_err(CMD,
			        "invalid --server '%s': pop3://HOST[:PORT] or pop3s://HOST[:PORT]",
			        server);
			goto done;
		}
	} else {
		const char *h = mc_pop3_provider_host(o.user);

		if (!h) {
			cli_err(CMD, "--server is required (no known provider for '%s')", o.user);
			goto done;
		}
		snprintf(host, sizeof host, "%s", h);
		port[0] = '\0';
		o.tls = MC_POP3_IMPLICIT;
	}
	snprintf(shown, sizeof shown, "%s://%s%s%s", o.tls == MC_POP3_IMPLICIT ? "pop3s" : "pop3",
	         host, port[0] ? ":" : "", port);
	rcode = 1;
	if (pwfile && !(password = cli_read_secret(CMD, pwfile, "password")))
		goto done;
	if (tokfile && !(token = cli_read_secret(CMD, tokfile, "token")))
		goto done;
	o.password = password;
	o.oauth_token = token;
	o.host = host;
	o.port = port[0] ? port : NULL;
	o.timeout_ms = (int)(timeout * 1000);
	out.maildir = fo.maildir;
	fo.on_event = on_event;
	fo.ctx = &out;
	fo.stop = &stop_flag;
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	for (;;) {
		struct mc_pop3_fetch_result r;
		struct mc_pop3_error e;

		st = mc_pop3_fetch(&o, &fo, &r, &e);
		summary(&out, st, &r, &e, shown);
		rcode = st == MC_OK ? 0 : 1;
		if (!loop_set || stop_flag || (st != MC_OK && permanent(st)))
			break;
		errors = st == MC_OK ? 0 : errors + 1;
		nap(loop << (errors < 6 ? errors : 6));
		if (stop_flag) {
			rcode = 0;
			break;
		}
	}
done:
	cli_secret_free(password);
	cli_secret_free(token);
	return rcode;
}
#else
typedef int mc_cli_fetch_unavailable; /* ISO C wants a non-empty translation unit */
#endif
