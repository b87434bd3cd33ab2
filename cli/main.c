/* main.c: the mimecodec command-line tool: dispatch to one command. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
    {"base64", cmd_base64, "base64 encode (default) or decode (-d), RFC 4648 / RFC 2045"},
    {"qp", cmd_qp, "quoted-printable encode (default) or decode (-d), RFC 2045"},
    {"transcode", cmd_transcode, "quoted-printable <-> base64 without a decoded copy"},
    {"parse", cmd_parse, "the MIME tree of a message (--json: machine-readable)"},
    {"extract", cmd_extract, "write every attachment and leaf body, decoded, into a directory"},
    {"compose", cmd_compose, "build a MIME message from addresses, text, HTML and files"},
#if MC_HAVE_NET
    {"send", cmd_send, "send a message by SMTP (STARTTLS or implicit TLS)"},
    {"fetch", cmd_fetch, "download mail by POP3 into a Maildir (STLS or implicit TLS)"},
#endif
    {"demo", cmd_demo, "the main job on this machine (see README)"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: mimecodec COMMAND [OPTIONS] [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'mimecodec COMMAND --help' describes one command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "mimecodec: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
