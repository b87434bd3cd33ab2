/* cmd_transcode.c: `mimecodec transcode --to base64|qp [--text|--binary]
 * [--crlf] [--strict] [FILE|-]`: quoted-printable <-> base64 through the
 * library's fixed-buffer transcoder; constant memory on any input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mimecodec/transcode.h"

#define CMD   "transcode"
#define CHUNK (64u * 1024u)

static void help(FILE *f)
{
	fprintf(f,
	        "usage: mimecodec transcode --to base64|qp [--text|--binary] [--crlf] [--strict]\n"
	        "                           [FILE|-]\n"
	        "Re-encode a quoted-printable body as base64 (--to base64) or a base64 body as\n"
	        "quoted-printable (--to qp), streaming, without a decoded copy of the body.\n"
	        "  --to base64|qp   the target encoding; the input is the other one\n"
	        "  --text           (default) the body is text: line breaks are CRLF in the\n"
	        "                   decoded data (QP hard breaks become CRLF inside the base64;\n"
	        "                   CRLF or LF in decoded base64 become QP hard line breaks)\n"
	        "  --binary         the body is binary: decoded bytes pass unchanged (QP in\n"
	        "                   binary mode: CR and LF as =0D =0A)\n"
	        "  --crlf           output line breaks CRLF, as on the wire (default LF, as in\n"
	        "                   local files). Base64 lines are 76 characters; QP lines at\n"
	        "                   most 76 with soft breaks.\n"
	        "  --strict         reject malformed input, naming the byte offset\n");
}

int cmd_transcode(int argc, char **argv)
{
	unsigned flags = 0;
	int dir = -1, rc = 1;
	const char *path = NULL;
	struct cli_input in;
	struct mc_transcoder *st;
	char *out;
	const unsigned char *p = NULL;
	uint64_t start = 0;
	long n = 0;
	size_t w;
	mc_status s = MC_OK;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *to = NULL;

		if (strcmp(a, "--to") == 0) {
			if (++i == argc) {
				cli_err(CMD, "--to needs base64 or qp");
				return 2;
			}
			to = argv[i];
		} else if (strncmp(a, "--to=", 5) == 0) {
			to = a + 5;
		} else if (strcmp(a, "--text") == 0) {
			flags &= ~(unsigned)MC_TRANSCODE_BINARY;
		} else if (strcmp(a, "--binary") == 0) {
			flags |= MC_TRANSCODE_BINARY;
		} else if (strcmp(a, "--crlf") == 0) {
			flags |= MC_TRANSCODE_CRLF;
		} else if (strcmp(a, "--strict") == 0) {
			flags |= MC_TRANSCODE_STRICT;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			help(stdout);
			return 0;
		} else if (strcmp(a, "--") == 0 && i + 1 < argc && !path && i + 2 == argc) {
			path = argv[++i];
		} else if (a[0] == '-' && a[1] != '\0') {
			cli_err(CMD, "unknown option '%s' (see --help)", a);
			return 2;
		} else if (path) {
			cli_err(CMD, "extra operand '%s': one FILE at most", a);
			return 2;
		} else {
			path = a;
		}
		if (to) {
			if (strcmp(to, "base64") == 0) {
				dir = MC_TRANSCODE_QP_TO_B64;
			} else if (strcmp(to, "qp") == 0) {
				dir = MC_TRANSCODE_B64_TO_QP;
			} else {
				cli_err(CMD, "--to: unknown encoding '%s' (base64 or qp)", to);
				return 2;
			}
		}
	}
	if (dir < 0) {
		cli_err(CMD, "--to base64 or --to qp is required (see --help)");
		return 2;
	}
	st = malloc(sizeof *st);
	out = malloc(mc_transcode_bound(dir, CHUNK, flags));
	if (!st || !out) {
		cli_err(CMD, "out of memory");
		free(st);
		free(out);
		return 1;
	}
	if (mc_transcoder_init(st, dir, flags) != MC_OK ||
	    cli_input_open(&in, path, CMD, CLI_IN_READ)) {
		free(st);
		free(out);
		return 1;
	}
	while ((n = cli_input_next(&in, &p, CHUNK, CMD)) > 0) {
		s = mc_transcode_update(st, (const char *)p, (size_t)n, out, &w);
		if (cli_write_all(1, out, w, CMD))
			goto done;
		if (s)
			break;
		start += (uint64_t)n;
	}
	if (n < 0)
		goto done;
	if (s == MC_OK) {
		s = mc_transcode_final(st, out, &w);
		if (cli_write_all(1, out, w, CMD))
			goto done;
	}
	if (s) {
		uint64_t off = mc_transcoder_error_offset(st);

		cli_decode_error(CMD, in.name, s, off, p, start, n);
		goto done;
	}
	rc = 0;
done:
	cli_input_close(&in);
	free(st);
	free(out);
	return rc;
}
