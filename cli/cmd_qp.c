/* cmd_qp.c: `mimecodec qp [-d] [--binary] [--crlf] [--strict] [--escape-dot]
 * [--escape-from] [FILE|-]`: RFC 2045 quoted-printable. Input of any size
 * streams through in constant memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mimecodec/qp.h"

#define CMD   "qp"
#define CHUNK (64u * 1024u)

static void help(FILE *f)
{
	fprintf(
	    f,
	    "usage: mimecodec qp [-d] [--binary] [--crlf] [--strict] [--escape-dot]\n"
	    "                    [--escape-from] [FILE|-]\n"
	    "Encode FILE (default: standard input) as quoted-printable (RFC 2045 section\n"
	    "6.7) on standard output, or decode with -d. Encoded lines are at most 76\n"
	    "characters; no line break is added after the last input byte.\n"
	    "  -d, --decode     decode: =XX in either case, soft breaks removed, white space\n"
	    "                   at line ends dropped; bad escapes pass through literally\n"
	    "      --binary     encode: binary data: CR and LF are written as =0D =0A\n"
	    "                   (default: text, input LF or CRLF are hard line breaks)\n"
	    "      --crlf       encode: CRLF line breaks (MIME canonical form; default LF)\n"
	    "                   decode: write every line break as CRLF (default: as input)\n"
	    "      --strict     decode: reject a bad escape, a lone CR, control and 8-bit\n"
	    "                   bytes, naming the byte offset\n"
	    "      --escape-dot   encode: '.' at a line start as =2E (safe for SMTP)\n"
	    "      --escape-from  encode: \"From \" at a line start as =46rom (safe for mbox)\n");
}

static int encode(struct cli_input *in, unsigned flags)
{
	struct mc_qp_encoder st;
	char *out = malloc(mc_qp_encode_bound(CHUNK, flags));
	const unsigned char *p;
	long n;
	int rc = 1;

	if (!out) {
		cli_err(CMD, "out of memory");
		return 1;
	}
	mc_qp_encoder_init(&st, flags);
	while ((n = cli_input_next(in, &p, CHUNK, CMD)) > 0) {
		size_t o = mc_qp_encode_update(&st, p, (size_t)n, out);

		if (cli_write_all(1, out, o, CMD))
			goto done;
	}
	if (n == 0 && cli_write_all(1, out, mc_qp_encode_final(&st, out), CMD) == 0)
		rc = 0;
done:
	free(out);
	return rc;
}

static int decode(struct cli_input *in, unsigned flags)
{
	struct mc_qp_decoder st;
	unsigned char *out = malloc(mc_qp_decode_bound(CHUNK, flags));
	const unsigned char *p = NULL;
	uint64_t start = 0;
	size_t w;
	long n = 0;
	mc_status s = MC_OK;
	int rc = 1;

	if (!out) {
		cli_err(CMD, "out of memory");
		return 1;
	}
	mc_qp_decoder_init(&st, flags);
	while ((n = cli_input_next(in, &p, CHUNK, CMD)) > 0) {
		s = mc_qp_decode_update(&st, (const char *)p, (size_t)n, out, &w);
		/* Whatever decoded before a bad sequence is written, then the error. */
		if (cli_write_all(1, out, w, CMD))
			goto done;
		if (s)
			break;
		start += (uint64_t)n;
	}
	if (n < 0)
		goto done;
	if (s == MC_OK) {
		s = mc_qp_decode_final(&st, out, &w);
		if (cli_write_all(1, out, w, CMD))
			goto done;
	}
	if (s) {
		uint64_t off = mc_qp_decoder_error_offset(&st);

		cli_decode_error(CMD, in->name, s, off, p, start, n);
		goto done;
	}
	rc = 0;
done:
	free(out);
	return rc;
}

int cmd_qp(int argc, char **argv)
{
	unsigned flags = 0;
	int dec = 0, rc;
	const char *path = NULL;
	struct cli_input in;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-d") == 0 || strcmp(a, "--decode") == 0) {
			dec = 1;
		} else if (strcmp(a, "--binary") == 0) {
			flags |= MC_QP_BINARY;
		} else if (strcmp(a, "--crlf") == 0) {
			flags |= MC_QP_CRLF;
		} else if (strcmp(a, "--strict") == 0) {
			flags |= MC_QP_STRICT;
		} else if (strcmp(a, "--escape-dot") == 0) {
			flags |= MC_QP_DOT;
		} else if (strcmp(a, "--escape-from") == 0) {
			flags |= MC_QP_FROM;
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
	}
	if (cli_input_open(&in, path, CMD, CLI_IN_READ))
		return 1;
	rc = dec ? decode(&in, flags) : encode(&in, flags);
	cli_input_close(&in);
	return rc;
}
