/* cmd_compose.c: `mimecodec compose --from A --to B [--cc C] [--subject S]
 * [--text T | --text-file F] [--html-file F] [--attach FILE]... [-o OUT]`.
 * Builds a MIME message with the composer (mimecodec/compose.h): addresses
 * as "addr@host" or "Display Name <addr@host>"; --to, --cc and --attach
 * repeat. Attachments stream from their files, so any size works in
 * constant memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mimecodec/compose.h"

#define CMD "compose"

static void help(FILE *f)
{
	fprintf(f, "usage: mimecodec compose --from A --to B [--cc C] [--subject S]\n"
	           "                         [--text T | --text-file F] [--html-file F]\n"
	           "                         [--attach FILE]... [-o OUT]\n"
	           "Write a MIME message (RFC 5322, 2045-2047, 2231) to standard output or OUT.\n"
	           "  --from A          sender: addr@host or \"Name <addr@host>\"\n"
	           "  --to B, --cc C    recipients (repeatable, at least one --to or --cc)\n"
	           "  --reply-to R      Reply-To address (repeatable)\n"
	           "  --subject S       subject (UTF-8)\n"
	           "  --text T          text/plain body; --text-file F reads it from F\n"
	           "  --html-file F     text/html body (with a text body: multipart/alternative)\n"
	           "  --attach FILE     attachment, read in chunks (repeatable)\n"
	           "  --header 'N: V'   an extra header field (repeatable)\n"
	           "  -o, --output OUT  write the message to OUT instead of standard output\n"
	           "  --size            print the exact size in bytes instead of the message\n");
}

enum { A_FROM, A_TO, A_CC, A_REPLY };

static int add_address(struct mc_compose *c, int kind, const char *opt, const char *val)
{
	const char *name, *addr;
	char *buf;
	mc_status st;

	if (cli_split_addr(val, &buf, &name, &addr)) {
		cli_err(CMD, "out of memory");
		return -1;
	}
	switch (kind) {
	case A_FROM:
		st = mc_compose_set_from(c, name, addr);
		break;
	case A_TO:
		st = mc_compose_add_to(c, name, addr);
		break;
	case A_CC:
		st = mc_compose_add_cc(c, name, addr);
		break;
	default:
		st = mc_compose_add_reply_to(c, name, addr);
	}
	free(buf);
	if (st) {
		cli_err(CMD, "%s: %s", opt,
		        st == MC_EINVAL ? "not an address (addr@host or \"Name <addr@host>\")"
		                        : mc_strerror(st));
		return -1;
	}
	return 0;
}

int cmd_compose(int argc, char **argv)
{
	struct mc_compose *c = NULL;
	struct cli_loaded text = {0}, html = {0};
	const char *text_arg = NULL, *text_file = NULL, *html_file = NULL, *out = NULL;
	int rc = 1, have_from = 0, nrcpt = 0, size_only = 0, fd = 1;
	mc_status st;

	if (mc_compose_new(&c, NULL) != MC_OK) {
		cli_err(CMD, "out of memory");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			help(stdout);
			rc = 0;
			goto done;
		}
		if (strcmp(a, "--size") == 0) {
			size_only = 1;
			continue;
		}
		if (a[0] != '-') {
			cli_err(CMD, "unexpected operand '%s' (see --help)", a);
			rc = 2;
			goto done;
		}
		if (i + 1 == argc) {
			cli_err(CMD, "%s needs a value (see --help)", a);
			rc = 2;
			goto done;
		}
		val = argv[++i];
		if (strcmp(a, "--from") == 0) {
			if (add_address(c, A_FROM, a, val))
				goto done;
			have_from = 1;
		} else if (strcmp(a, "--to") == 0 || strcmp(a, "--cc") == 0) {
			if (add_address(c, a[2] == 't' ? A_TO : A_CC, a, val))
				goto done;
			nrcpt++;
		} else if (strcmp(a, "--reply-to") == 0) {
			if (add_address(c, A_REPLY, a, val))
				goto done;
		} else if (strcmp(a, "--subject") == 0) {
			if ((st = mc_compose_set_subject(c, val))) {
				cli_err(CMD, "--subject: %s", mc_strerror(st));
				goto done;
			}
		} else if (strcmp(a, "--header") == 0) {
			const char *colon = strchr(val, ':');
			char name[128];

			if (!colon || (size_t)(colon - val) >= sizeof name) {
				cli_err(CMD, "--header: expected 'Name: value'");
				goto done;
			}
			memcpy(name, val, (size_t)(colon - val));
			name[colon - val] = '\0';
			colon++;
			while (*colon == ' ' || *colon == '\t')
				colon++;
			if ((st = mc_compose_add_header(c, name, colon))) {
				cli_err(CMD, "--header '%s': %s", name,
				        st == MC_EINVAL ? "not a header this option may set"
				                        : mc_strerror(st));
				goto done;
			}
		} else if (strcmp(a, "--text") == 0) {
			text_arg = val;
		} else if (strcmp(a, "--text-file") == 0) {
			text_file = val;
		} else if (strcmp(a, "--html-file") == 0) {
			html_file = val;
		} else if (strcmp(a, "--attach") == 0) {
			struct mc_compose_attachment at = {0};

			if ((st = mc_compose_attach_file(c, &at, val))) {
				if (st == MC_EIO)
					cli_err(CMD, "--attach %s: %s", val, strerror(errno));
				else if (st == MC_EINVAL)
					cli_err(CMD, "--attach %s: not a regular file", val);
				else
					cli_err(CMD, "--attach %s: %s", val, mc_strerror(st));
				goto done;
			}
		} else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
			out = val;
		} else {
			cli_err(CMD, "unknown option '%s' (see --help)", a);
			rc = 2;
			goto done;
		}
	}
	if (!have_from || nrcpt == 0) {
		cli_err(CMD, "--from and at least one --to or --cc are required");
		rc = 2;
		goto done;
	}
	if (text_arg && text_file) {
		cli_err(CMD, "--text and --text-file exclude each other");
		rc = 2;
		goto done;
	}
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
	if (size_only) {
		struct mc_compose_info info;

		if ((st = mc_compose_prepare(c, &info))) {
			cli_err(CMD, "%s", mc_strerror(st));
			goto done;
		}
		printf("%llu\n", (unsigned long long)info.size);
		rc = 0;
		goto done;
	}
	if (out && (fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		cli_err(CMD, "%s: %s", out, strerror(errno));
		fd = 1;
		goto done;
	}
	errno = 0;
	if ((st = mc_compose_write_fd(c, fd))) {
		if (st == MC_EIO && errno)
			cli_err(CMD, "%s: %s", out ? out : "stdout", strerror(errno));
		else
			cli_err(CMD, "%s", mc_strerror(st));
		goto done;
	}
	if (out && close(fd) != 0) {
		fd = 1;
		cli_err(CMD, "%s: %s", out, strerror(errno));
		goto done;
	}
	fd = 1;
	rc = 0;
done:
	if (fd > 1) {
		close(fd);
		unlink(out);
	}
	mc_compose_free(c);
	cli_unload(&text);
	cli_unload(&html);
	return rc;
}
