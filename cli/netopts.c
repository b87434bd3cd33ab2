/* netopts.c: what send, fetch and demo share on their command lines: server
 * URLs, secret files (wiped after use) and the --trace printer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mimecodec/transport.h"

int cli_parse_url(const char *url, const char *plain, const char *tls_scheme, int *tls, char *host,
                  size_t hcap, char *port, size_t pcap)
{
	size_t pl = strlen(plain), tl = strlen(tls_scheme);
	const char *p, *h, *he, *pe;
	unsigned v;

	if (strncmp(url, plain, pl) == 0 && strncmp(url + pl, "://", 3) == 0) {
		*tls = 0;
		p = url + pl + 3;
	} else if (strncmp(url, tls_scheme, tl) == 0 && strncmp(url + tl, "://", 3) == 0) {
		*tls = 1;
		p = url + tl + 3;
	} else {
		return -1;
	}
	h = p;
	if (*p == '[') {
		if (!(he = strchr(p, ']')))
			return -1;
		h = p + 1;
		p = he + 1;
	} else {
		for (he = p; *he && *he != ':' && *he != '/'; he++)
			;
		p = he;
	}
	if (he == h || (size_t)(he - h) >= hcap)
		return -1;
	memcpy(host, h, (size_t)(he - h));
	host[he - h] = '\0';
	port[0] = '\0';
	if (*p == ':') {
		for (pe = ++p; *pe >= '0' && *pe <= '9'; pe++)
			;
		if (pe == p || (size_t)(pe - p) >= pcap)
			return -1;
		memcpy(port, p, (size_t)(pe - p));
		port[pe - p] = '\0';
		if (cli_parse_uint(port, &v) || v == 0 || v > 65535)
			return -1;
		p = pe;
	}
	if (*p == '/')
		p++;
	return *p ? -1 : 0;
}

char *cli_read_secret(const char *cmd, const char *path, const char *what)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (!f) {
		cli_err(cmd, "%s file %s: %s", what, path, strerror(errno));
		return NULL;
	}
	buf = calloc(1, 16384);
	if (!buf) {
		fclose(f);
		cli_err(cmd, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, 16383, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0]) {
		cli_err(cmd, "%s file %s is empty", what, path);
		free(buf);
		return NULL;
	}
	return buf;
}

void cli_secret_free(char *p)
{
	if (p) {
		volatile char *v = p;

		while (*v)
			*v++ = '\0';
		free(p);
	}
}

void cli_trace_stderr(void *ctx, int kind, const char *text, size_t n)
{
	(void)ctx;
	fprintf(stderr, "%s %.*s\n",
	        kind == MC_TRACE_SEND   ? ">"
	        : kind == MC_TRACE_RECV ? "<"
	                                : "*",
	        (int)n, text);
}

const char *cli_need_arg(const char *cmd, int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		cli_err(cmd, "%s needs a value", argv[*i]);
		return NULL;
	}
	return argv[++*i];
}
