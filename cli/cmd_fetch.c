/* cmd_fetch.c: `mimecodec fetch --server pop3://HOST[:PORT]|pop3s://HOST[:PORT]
 * --user U --password-file F [--cafile F] --maildir DIR [--keep]
 * [--loop SECONDS] [--json] [--timeout SECONDS]` and `fetch --config FILE`
 * (one thread per account). Every behaviour (no loss, no duplicates, TLS
 * rules) is mc_pop3_fetch's; this file parses options, reads the secrets,
 * loops and prints; --json summaries come from fetch_pipeline.c. */
#if MC_HAVE_NET
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "fetch_pipeline.h"
#include "mimecodec/pop3.h"

#define CMD "fetch"

static void help(FILE *f)
{
	fprintf(
	    f,
	    "usage: mimecodec fetch [--server pop3://HOST[:PORT] | pop3s://HOST[:PORT]]\n"
	    "                       --user U (--password-file F | --token-file F) [--cafile F]\n"
	    "                       --maildir DIR [--keep] [--loop SECONDS] [--json]\n"
	    "                       [--parsers N] [--text-max BYTES] [--timeout SECONDS] "
	    "[--trace]\n"
	    "       mimecodec fetch --config FILE [--cafile F] [--keep] [--loop SECONDS] [--json] "
	    "...\n"
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
	    "  --config FILE         several accounts, fetched in parallel (one thread each),\n"
	    "                        one per line: SERVER USER PASSWORD-FILE MAILDIR [keep]\n"
	    "                        (fields separated by blanks; blank lines and lines\n"
	    "                        starting with # are ignored); the other options apply\n"
	    "                        to every account; output lines start with USER@HOST:\n"
	    "  --loop SECONDS        fetch again every SECONDS until SIGINT/SIGTERM (errors:\n"
	    "                        waits double, up to 64 times SECONDS); a signal ends the\n"
	    "                        session cleanly after the current message (exit 0)\n"
	    "  --json                one JSON object per line. Each fetched message:\n"
	    "                        {\"event\": \"fetched\", \"account\", \"number\", \"uidl\",\n"
	    "                        \"file\": \"new/NAME\", \"path\", \"size\", \"from\": "
	    "{\"name\",\n"
	    "                        \"address\"}, \"subject\", \"date\", \"message_id\", "
	    "\"text\",\n"
	    "                        \"text_type\", \"text_truncated\", \"attachments\": "
	    "[{\"filename\",\n"
	    "                        \"content_type\", \"size\"}]} (UTF-8; absent fields null),\n"
	    "                        built by parser threads, so in any order; \"skipped\" and\n"
	    "                        \"deleted\" events; after each session, once every message\n"
	    "                        line is out, {\"event\": \"summary\", \"account\", "
	    "\"fetched\",\n"
	    "                        \"bytes\", ...}\n"
	    "  --parsers N           --json: parser threads (default 2, up to 64)\n"
	    "  --text-max BYTES      --json: longest \"text\" (default 65536; whole characters)\n"
	    "  --timeout SECONDS     per connect, read and write (default 30)\n"
	    "  --trace               the dialogue on standard error (secrets redacted)\n"
	    "  --no-pipelining       do not pipeline commands\n"
	    "  --insecure            do not verify the certificate (tests only)\n"
	    "Exit status: 0 success (every account); 1 an error (with --loop: a permanent\n"
	    "one, such as a refused login); 2 usage, or a bad --config line (FILE:LINE).\n");
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

/* ---- accounts ------------------------------------------------------------------- */

struct run {
	int json, multi, loop_set;
	unsigned loop;
	struct fp_pipeline *pl; /* --json: the parsers */
};

struct account {
	const struct run *run;
	struct mc_pop3_opts o;
	struct mc_pop3_fetch_opts fo;
	char host[256], port[8];
	char shown[300]; /* pop3[s]://host[:port] */
	char name[600];  /* user@host, "account" in --json */
	char *password, *token;
	struct fp_account fa;
	int rcode;
	pthread_t th;
};

/* ---- output ----------------------------------------------------------------------- */

static void account_head(struct fp_buf *b, const struct account *a, const char *event)
{
	fp_buf_fmt(b, "{\"event\": \"%s\", \"account\": ", event);
	fp_buf_json(b, a->name);
}

static int on_event(void *ctx, int ev, const struct mc_pop3_msg *m, const char *file)
{
	struct account *a = ctx;
	struct fp_buf b = {0};
	const char *what = ev == MC_POP3_FETCHED   ? "fetched"
	                   : ev == MC_POP3_SKIPPED ? "skipped"
	                                           : "deleted";

	if (a->run->json && ev == MC_POP3_FETCHED && file && a->run->pl) {
		fp_push(a->run->pl, &a->fa, m, file); /* the parsers print it */
		return 0;
	}
	if (a->run->json) {
		account_head(&b, a, what);
		fp_buf_fmt(&b, ", \"number\": %u, \"uidl\": ", m->num);
		fp_buf_json(&b, m->uid);
		fp_buf_fmt(&b, ", \"size\": %llu", (unsigned long long)m->size);
		fp_buf_str(&b, "}");
		fp_emit(&b);
	} else if (ev == MC_POP3_FETCHED) {
		if (a->run->multi) {
			fp_buf_str(&b, a->name);
			fp_buf_str(&b, ": ");
		}
		fp_buf_fmt(&b, "message %u (%s, %llu octets): new/", m->num,
		           m->uid[0] ? m->uid : "-", (unsigned long long)m->size);
		fp_buf_str(&b, file ? file : "");
		fp_emit(&b);
	}
	fp_buf_free(&b);
	return 0;
}

static void summary(const struct account *a, mc_status st, const struct mc_pop3_fetch_result *r,
                    const struct mc_pop3_error *e)
{
	struct fp_buf b = {0};

	if (a->run->json) {
		account_head(&b, a, "summary");
		fp_buf_str(&b, ", \"server\": ");
		fp_buf_json(&b, a->shown);
		fp_buf_fmt(&b,
		           ", \"listed\": %u, \"fetched\": %u, \"skipped\": %u, \"deleted\": %u, "
		           "\"bytes\": %llu, \"recovered\": %u, \"committed\": %s",
		           r->listed, r->fetched, r->skipped, r->deleted,
		           (unsigned long long)r->bytes, r->recovered,
		           r->quit_ok ? "true" : "false");
		fp_buf_fmt(&b, ", \"parsed\": %u, \"parse_failed\": %u, \"status\": ", a->fa.parsed,
		           a->fa.failed);
		fp_buf_json(&b, mc_status_name(st));
		if (st != MC_OK) {
			fp_buf_str(&b, ", \"error\": ");
			fp_buf_json(&b, e->msg[0] ? e->msg : mc_strerror(st));
			fp_buf_str(&b, ", \"step\": ");
			fp_buf_json(&b, e->step);
		}
		fp_buf_str(&b, "}");
	} else {
		if (a->run->multi) {
			fp_buf_str(&b, a->name);
			fp_buf_str(&b, ": ");
		}
		fp_buf_fmt(
		    &b,
		    "%u on the server, %u fetched (%llu bytes), %u already fetched, %u deleted%s",
		    r->listed, r->fetched, (unsigned long long)r->bytes, r->skipped, r->deleted,
		    r->recovered ? " (deliveries interrupted earlier were completed)" : "");
	}
	fp_emit(&b);
	fp_buf_free(&b);
	if (st != MC_OK)
		cli_err(CMD, "%s%s%s%s%s", a->run->multi ? a->name : "", a->run->multi ? ": " : "",
		        e->msg[0] ? e->msg : mc_strerror(st), e->step[0] ? " at " : "", e->step);
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

/* One account: fetch (again every --loop seconds, backing off on errors)
 * until done, a permanent error or a signal. Sets a->rcode. */
static void *account_main(void *arg)
{
	struct account *a = arg;
	const struct run *run = a->run;
	unsigned errors = 0;

	a->fo.on_event = on_event;
	a->fo.ctx = a;
	a->fo.stop = &stop_flag;
	for (;;) {
		struct mc_pop3_fetch_result r;
		struct mc_pop3_error e;
		mc_status st;

		memset(&r, 0, sizeof r);
		memset(&e, 0, sizeof e);
		st = mc_pop3_fetch(&a->o, &a->fo, &r, &e);
		if (run->pl)
			fp_wait(run->pl, &a->fa); /* every message line before the summary */
		summary(a, st, &r, &e);
		a->rcode = st == MC_OK ? 0 : 1;
		if (!run->loop_set || stop_flag || (st != MC_OK && permanent(st)))
			break;
		errors = st == MC_OK ? 0 : errors + 1;
		nap(run->loop << (errors < 6 ? errors : 6));
		if (stop_flag) {
			a->rcode = 0;
			break;
		}
	}
	return NULL;
}

/* ---- --config FILE ---------------------------------------------------------------------- */

#define MAX_ACCOUNTS 64

static void account_free(struct account *a)
{
	cli_secret_free(a->password);
	cli_secret_free(a->token);
	free((char *)a->o.user);
	free((char *)a->fo.maildir);
}

/* Splits s in place at blanks into at most max fields; returns the count
 * (max + 1 when there are more). */
static int split_fields(char *s, char **f, int max)
{
	int n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			return n;
		if (n == max)
			return max + 1;
		f[n++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		if (*s)
			*s++ = '\0';
	}
}

/* Reads the accounts of FILE into acc (template tmpl for the common
 * options). Returns the count, or -2 (syntax: usage) / -1 (unreadable) after
 * printing why; accounts read so far are freed then. */
static int load_config(const char *path, const struct account *tmpl, struct account *acc)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *fld[6];
	size_t cap = 0;
	ssize_t len;
	int n = 0, lineno = 0, rc = -2;

	if (!f) {
		cli_err(CMD, "--config %s: %s", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		struct account *a;
		char *pw;
		int nf;

		lineno++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		nf = split_fields(line, fld, 5);
		if (nf == 0 || fld[0][0] == '#')
			continue;
		if (nf < 4 || nf > 5) {
			cli_err(CMD,
			        "%s:%d: expected SERVER USER PASSWORD-FILE MAILDIR [keep], got %d "
			        "field%s",
			        path, lineno, nf > 5 ? 6 : nf, nf == 1 ? "" : "s");
			goto fail;
		}
		if (nf == 5 && strcmp(fld[4], "keep") != 0) {
			cli_err(CMD, "%s:%d: the fifth field may only be 'keep', not '%s'", path,
			        lineno, fld[4]);
			goto fail;
		}
		if (n == MAX_ACCOUNTS) {
			cli_err(CMD, "%s:%d: more than %d accounts", path, lineno, MAX_ACCOUNTS);
			goto fail;
		}
		a = &acc[n];
		*a = *tmpl;
		if (parse_server(fld[0], &a->o.tls, a->host, sizeof a->host, a->port,
		                 sizeof a->port)) {
			cli_err(
			    CMD,
			    "%s:%d: invalid server '%s': pop3://HOST[:PORT] or pop3s://HOST[:PORT]",
			    path, lineno, fld[0]);
			goto fail;
		}
		a->o.user = strdup(fld[1]);
		a->fo.maildir = strdup(fld[3]);
		n++;
		if (!a->o.user || !a->fo.maildir) {
			cli_err(CMD, "out of memory");
			rc = -1;
			goto fail;
		}
		if (nf == 5)
			a->fo.keep = 1;
		if (!(pw = cli_read_secret(CMD, fld[2], "password"))) {
			cli_err(CMD, "%s:%d: the password file of %s cannot be used", path, lineno,
			        fld[1]);
			rc = -1;
			goto fail;
		}
		a->password = pw;
		a->o.password = pw;
	}
	if (ferror(f)) {
		cli_err(CMD, "--config %s: read error", path);
		rc = -1;
		goto fail;
	}
	if (!n) {
		cli_err(CMD, "%s: no accounts", path);
		goto fail;
	}
	free(line);
	fclose(f);
	return n;
fail:
	for (int i = 0; i < n; i++)
		account_free(&acc[i]);
	free(line);
	fclose(f);
	return rc;
}

static void account_names(struct account *a)
{
	snprintf(a->shown, sizeof a->shown, "%s://%s%s%s",
	         a->o.tls == MC_POP3_IMPLICIT ? "pop3s" : "pop3", a->host, a->port[0] ? ":" : "",
	         a->port);
	snprintf(a->name, sizeof a->name, "%s@%s%s%s", a->o.user, a->host, a->port[0] ? ":" : "",
	         a->port);
	a->o.host = a->host;
	a->o.port = a->port[0] ? a->port : NULL;
	a->fa.name = a->name;
	a->fa.maildir = a->fo.maildir;
}

int cmd_fetch(int argc, char **argv)
{
	static struct account acc[MAX_ACCOUNTS];
	struct account tmpl;
	struct run run;
	const char *server = NULL, *pwfile = NULL, *tokfile = NULL, *config = NULL;
	const char *user = NULL, *maildir = NULL, *state = NULL;
	unsigned timeout = 30, parsers = 2, text_max = 65536;
	int rcode = 2, nacc = 0;

	memset(&tmpl, 0, sizeof tmpl);
	memset(&run, 0, sizeof run);
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
			user = v;
		} else if (strcmp(a, "--password-file") == 0) {
			VAL();
			pwfile = v;
		} else if (strcmp(a, "--token-file") == 0) {
			VAL();
			tokfile = v;
		} else if (strcmp(a, "--config") == 0) {
			VAL();
			config = v;
		} else if (strcmp(a, "--auth") == 0) {
			VAL();
			if (strcasecmp(v, "user") == 0)
				tmpl.o.auth_mechs = MC_POP3_AUTH_USER;
			else if (strcasecmp(v, "apop") == 0)
				tmpl.o.auth_mechs = MC_POP3_AUTH_APOP;
			else if (strcasecmp(v, "plain") == 0)
				tmpl.o.auth_mechs = MC_POP3_AUTH_PLAIN;
			else if (strcasecmp(v, "xoauth2") == 0)
				tmpl.o.auth_mechs = MC_POP3_AUTH_XOAUTH2;
			else {
				cli_err(CMD, "unknown mechanism '%s' (user, apop, plain, xoauth2)",
				        v);
				goto done;
			}
		} else if (strcmp(a, "--cafile") == 0) {
			VAL();
			tmpl.o.cafile = v;
		} else if (strcmp(a, "--maildir") == 0) {
			VAL();
			maildir = v;
		} else if (strcmp(a, "--state") == 0) {
			VAL();
			state = v;
		} else if (strcmp(a, "--keep") == 0) {
			tmpl.fo.keep = 1;
		} else if (strcmp(a, "--json") == 0) {
			run.json = 1;
		} else if (strcmp(a, "--trace") == 0) {
			tmpl.o.trace = cli_trace_stderr;
		} else if (strcmp(a, "--no-pipelining") == 0) {
			tmpl.o.flags |= MC_POP3_NO_PIPELINING;
		} else if (strcmp(a, "--insecure") == 0) {
			tmpl.o.flags |= MC_POP3_INSECURE;
		} else if (strcmp(a, "--parsers") == 0) {
			VAL();
			if (cli_parse_uint(v, &parsers) || parsers < 1 || parsers > 64) {
				cli_err(CMD, "invalid value '%s' for --parsers (1 to 64)", v);
				goto done;
			}
		} else if (strcmp(a, "--text-max") == 0) {
			VAL();
			if (cli_parse_uint(v, &text_max) || text_max > (1u << 30)) {
				cli_err(CMD, "invalid value '%s' for --text-max (0 to 1073741824)",
				        v);
				goto done;
			}
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
				run.loop = u;
				run.loop_set = 1;
			}
		} else {
			cli_err(CMD, "unknown option or operand '%s' (see --help)", a);
			goto done;
		}
#undef VAL
	}
	tmpl.run = &run;
	tmpl.o.timeout_ms = (int)(timeout * 1000);
	if (config) {
		if (server || user || pwfile || tokfile || maildir || state) {
			cli_err(CMD,
			        "--config gives the servers, users, password files and Maildirs: "
			        "--server, --user, --password-file, --token-file, --maildir and "
			        "--state cannot be used with it");
			goto done;
		}
		nacc = load_config(config, &tmpl, acc);
		if (nacc < 0) {
			rcode = nacc == -2 ? 2 : 1;
			nacc = 0;
			goto done;
		}
		run.multi = 1;
	} else {
		struct account *a = &acc[0];

		if (!user || !(pwfile || tokfile) || (pwfile && tokfile)) {
			cli_err(CMD,
			        "--user and exactly one of --password-file and --token-file are "
			        "required (or --config FILE)");
			goto done;
		}
		if (!maildir) {
			cli_err(CMD, "--maildir is required");
			goto done;
		}
		*a = tmpl;
		if (server) {
			if (parse_server(server, &a->o.tls, a->host, sizeof a->host, a->port,
			                 sizeof a->port)) {
				cli_err(CMD,
				        "invalid --server '%s': pop3://HOST[:PORT] or "
				        "pop3s://HOST[:PORT]",
				        server);
				goto done;
			}
		} else {
			const char *h = mc_pop3_provider_host(user);

			if (!h) {
				cli_err(CMD, "--server is required (no known provider for '%s')",
				        user);
				goto done;
			}
			snprintf(a->host, sizeof a->host, "%s", h);
			a->port[0] = '\0';
			a->o.tls = MC_POP3_IMPLICIT;
		}
		a->o.user = strdup(user);
		a->fo.maildir = strdup(maildir);
		a->fo.state_file = state;
		nacc = 1;
		rcode = 1;
		if (!a->o.user || !a->fo.maildir) {
			cli_err(CMD, "out of memory");
			goto done;
		}
		if (pwfile && !(a->password = cli_read_secret(CMD, pwfile, "password")))
			goto done;
		if (tokfile && !(a->token = cli_read_secret(CMD, tokfile, "token")))
			goto done;
		a->o.password = a->password;
		a->o.oauth_token = a->token;
	}
	rcode = 1;
	for (int i = 0; i < nacc; i++)
		account_names(&acc[i]);
	if (run.json && !(run.pl = fp_start(parsers, 16, text_max))) {
		cli_err(CMD, "cannot start the parser threads");
		goto done;
	}
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	if (nacc == 1 && !run.multi) {
		account_main(&acc[0]);
	} else {
		int started = 0;

		for (; started < nacc; started++) {
			if (pthread_create(&acc[started].th, NULL, account_main, &acc[started]) !=
			    0) {
				cli_err(CMD, "cannot start a thread for %s", acc[started].name);
				stop_flag = 1;
				acc[started].rcode = 1;
				for (int k = started + 1; k < nacc; k++)
					acc[k].rcode = 1;
				break;
			}
		}
		for (int i = 0; i < started; i++)
			pthread_join(acc[i].th, NULL);
	}
	rcode = 0;
	for (int i = 0; i < nacc; i++)
		if (acc[i].rcode)
			rcode = 1;
done:
	fp_stop(run.pl);
	for (int i = 0; i < nacc; i++)
		account_free(&acc[i]);
	return rcode;
}
#else
typedef int mc_cli_fetch_unavailable; /* ISO C wants a non-empty translation unit */
#endif
