/* tool_encword.c: test driver for tests/cli/test_encword_python.py. Runs one
 * mimecodec encoded-word function over a batch of records so the Python side
 * can compare with its email package without a process per case.
 *
 * Usage: tool_encword MODE [COL]
 *   MODE: decode | decode-phrase | encode | encode-phrase | param | param-encode
 *   COL:  start column for the encoders (default 9, "Subject: ")
 * stdin: records "LEN\n" + LEN bytes. For param: the record is NAME, a NUL,
 * then the parameter list after the media type ("; a=b; c*=..."); for
 * param-encode: NAME, a NUL, the value.
 * stdout: per record "STATUS WARNINGS LEN\n" + LEN bytes of output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mimecodec/encword.h"

static char *read_record(size_t *n)
{
	char line[64];
	char *buf;

	if (!fgets(line, sizeof line, stdin))
		return NULL;
	*n = (size_t)strtoull(line, NULL, 10);
	buf = malloc(*n ? *n : 1);
	if (!buf || fread(buf, 1, *n, stdin) != *n) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void write_record(int st, unsigned warn, const char *p, size_t n)
{
	printf("%d %u %zu\n", st, warn, n);
	fwrite(p, 1, n, stdout);
}

/* Splits "; a=b; c="d;e"" into spans (names and raw values, quotes kept). */
static size_t split_params(const char *s, size_t n, struct mc_rfc2231_param *out, size_t max)
{
	size_t i = 0, k = 0;

	while (i < n && k < max) {
		size_t a, e;

		while (i < n &&
		       (s[i] == ';' || s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
			i++;
		a = i;
		while (i < n && s[i] != '=' && s[i] != ';')
			i++;
		if (i >= n || s[i] != '=')
			continue;
		out[k].name = s + a;
		out[k].name_len = i - a;
		e = ++i;
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		e = i;
		if (i < n && s[i] == '"') {
			for (i++; i < n && s[i] != '"'; i++)
				if (s[i] == '\\' && i + 1 < n)
					i++;
			if (i < n)
				i++;
		} else {
			while (i < n && s[i] != ';')
				i++;
		}
		out[k].value = s + e;
		out[k].value_len = i - e;
		k++;
	}
	return k;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "decode";
	unsigned col = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 9;
	char *in;
	size_t n;

	while ((in = read_record(&n))) {
		struct mc_ew_result r;
		mc_status st;
		char *out;

		if (!strcmp(mode, "decode") || !strcmp(mode, "decode-phrase")) {
			out = malloc(mc_ew_decode_bound(n) + 1);
			st = mc_ew_decode(in, n, strcmp(mode, "decode") ? MC_EW_PHRASE : 0, out,
			                  mc_ew_decode_bound(n), &r);
		} else if (!strcmp(mode, "encode") || !strcmp(mode, "encode-phrase")) {
			out = malloc(mc_ew_encode_bound(n));
			st = mc_ew_encode(in, n, col, strcmp(mode, "encode") ? MC_EW_PHRASE : 0,
			                  out, mc_ew_encode_bound(n), &r);
		} else if (!strcmp(mode, "param") || !strcmp(mode, "param-encode")) {
			const char *z = memchr(in, 0, n);
			size_t nl = z ? (size_t)(z - in) : n, rest = z ? n - nl - 1 : 0;

			if (!strcmp(mode, "param")) {
				struct mc_rfc2231_param ps[64];
				struct mc_rfc2231_info info;
				size_t np = split_params(in + nl + 1, rest, ps, 64);

				out = malloc(mc_rfc2231_decode_bound(rest) + 1);
				st = mc_rfc2231_get(ps, np, in, nl, out,
				                    mc_rfc2231_decode_bound(rest), &info, &r);
				if (st == MC_OK && !info.found)
					st = (mc_status)1; /* not found */
			} else {
				size_t cap = mc_rfc2231_encode_bound(nl, rest);

				out = malloc(cap);
				st = mc_rfc2231_encode(in, nl, in + nl + 1, rest, col, 0, out, cap,
				                       &r);
			}
		} else {
			fprintf(stderr, "tool_encword: unknown mode %s\n", mode);
			return 2;
		}
		write_record(st, r.warnings, out, st == MC_OK ? r.written : 0);
		free(out);
		free(in);
	}
	return 0;
}
