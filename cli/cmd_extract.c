/* cmd_extract.c: `mimecodec extract [-o DIR] [--mbox] FILE|-`: writes every leaf
 * body (attachments and inline text alike), transfer-decoded, into DIR.
 *
 * File names come from the message, so they are hostile input: only the last
 * path component is kept (after '/' or '\\'), control bytes and leading dots
 * and spaces are dropped, ".." can never survive, the length is capped, and
 * files are created with O_CREAT|O_EXCL|O_NOFOLLOW so nothing existing is
 * overwritten or followed: a taken name becomes name-1, name-2, ... (before
 * the extension). Parts without a name are part-<path>.<ext>. One line per
 * file written goes to stdout: "<path>\t<file>". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "mimecodec/mime.h"

#define CMD       "extract"
#define NAME_MAX_ 200 /* bytes of a sanitised name, before any -N suffix */

static const char *ext_for(const char *ctype)
{
	static const struct {
		const char *type, *ext;
	} map[] = {
	    {"text/plain", "txt"},
	    {"text/html", "html"},
	    {"text/calendar", "ics"},
	    {"text/csv", "csv"},
	    {"text/xml", "xml"},
	    {"text/rtf", "rtf"},
	    {"text/enriched", "txt"},
	    {"image/jpeg", "jpg"},
	    {"image/jpg", "jpg"},
	    {"image/png", "png"},
	    {"image/gif", "gif"},
	    {"image/bmp", "bmp"},
	    {"image/tiff", "tif"},
	    {"image/svg+xml", "svg"},
	    {"image/webp", "webp"},
	    {"application/pdf", "pdf"},
	    {"application/zip", "zip"},
	    {"application/json", "json"},
	    {"application/xml", "xml"},
	    {"application/msword", "doc"},
	    {"application/gzip", "gz"},
	    {"application/pgp-signature", "asc"},
	    {"application/pkcs7-signature", "p7s"},
	    {"application/x-pkcs7-signature", "p7s"},
	    {"audio/mpeg", "mp3"},
	    {"video/mp4", "mp4"},
	    {"message/rfc822", "eml"},
	    {"message/global", "eml"},
	    {"message/delivery-status", "txt"},
	};

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(ctype, map[i].type) == 0)
			return map[i].ext;
	if (strncmp(ctype, "text/", 5) == 0)
		return "txt";
	if (strncmp(ctype, "message/", 8) == 0)
		return "eml";
	return "bin";
}

/* Sanitises name[0..n) in place; returns the new length (0: unusable). */
static size_t sanitise(char *name, size_t n)
{
	size_t start = 0, o = 0;

	for (size_t i = 0; i < n; i++)
		if (name[i] == '/' || name[i] == '\\')
			start = i + 1;
	for (size_t i = start; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == 0x7f)
			continue;
		if (o == 0 && (c == '.' || c == ' '))
			continue; /* no hidden files, no "..", no leading blanks */
		name[o++] = (char)c;
	}
	while (o && (name[o - 1] == ' ' || name[o - 1] == '.'))
		o--; /* "name." and "name " are awkward elsewhere */
	if (o > NAME_MAX_) {
		o = NAME_MAX_;
		while (o && ((unsigned char)name[o] & 0xc0) == 0x80)
			o--; /* never cut a UTF-8 character */
	}
	name[o] = '\0';
	return o;
}

/* Creates DIR/name, or DIR/stem-N.ext for the first free N. Returns the fd
 * and leaves the final name in out. */
static int create_unique(int dirfd, const char *name, char *out, size_t cap)
{
	const char *dot = strrchr(name, '.');
	size_t stem = dot && dot != name ? (size_t)(dot - name) : strlen(name);

	for (unsigned k = 0; k < 100000; k++) {
		int fd;

		if (k == 0)
			snprintf(out, cap, "%s", name);
		else
			snprintf(out, cap, "%.*s-%u%s", (int)stem, name, k, name + stem);
		fd = openat(dirfd, out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

struct fdsink {
	int fd;
	int failed;
};

static int write_sink(void *ctx, const void *p, size_t n)
{
	struct fdsink *s = ctx;

	if (cli_write_all(s->fd, p, n, CMD)) {
		s->failed = 1;
		return 1;
	}
	return 0;
}

static int extract_message(const struct mc_mime_message *m, int dirfd, const char *dir)
{
	for (size_t i = 0; i < m->nparts; i++) {
		const struct mc_mime_part *pt = &m->parts[i];
		struct cli_part_info pi;
		char name[4096], final[4096 + 16];
		size_t nn = 0;
		struct fdsink sink;
		int fd;
		mc_status s;

		if (pt->kind != MC_MIME_LEAF)
			continue;
		if (cli_part_info(m, i, &pi))
			continue;
		if (mc_mime_filename(m, i, name, sizeof name - 1, &nn) != MC_OK)
			nn = 0;
		nn = sanitise(name, nn);
		if (!nn)
			snprintf(name, sizeof name, "part-%s.%s", pi.path[0] ? pi.path : "1",
			         ext_for(pi.ctype));
		fd = create_unique(dirfd, name, final, sizeof final);
		if (fd < 0) {
			cli_err(CMD, "%s/%s: %s", dir, name, strerror(errno));
			return 1;
		}
		sink.fd = fd;
		sink.failed = 0;
		s = mc_mime_decode(m, i, 0, write_sink, &sink);
		if (close(fd) != 0 && !sink.failed) {
			cli_err(CMD, "%s/%s: %s", dir, final, strerror(errno));
			return 1;
		}
		if (s != MC_OK) {
			if (!sink.failed)
				cli_err(CMD, "part %s: %s", pi.path, mc_strerror(s));
			return 1;
		}
		printf("%s\t%s\n", pi.path[0] ? pi.path : "(root)", final);
	}
	return 0;
}

static void help(FILE *f)
{
	fprintf(f, "usage: mimecodec extract [-o DIR] [--mbox] FILE|-\n"
	           "Write every attachment and leaf body of the message, transfer-decoded, into\n"
	           "DIR (default: the current directory; created if missing). Names come from\n"
	           "the message, sanitised; unnamed parts are part-<path>.<ext>; a name already\n"
	           "taken becomes name-1, name-2, ... Prints \"<part path>\\t<file>\" per file.\n");
}

int cmd_extract(int argc, char **argv)
{
	const char *path = NULL, *dir = ".", *data;
	int mbox = 0, rc = 0, dirfd;
	struct cli_input in;
	size_t len, pos = 0;
	char *owned;
	struct mc_span msgspan;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
			if (++i == argc) {
				cli_err(CMD, "%s needs a directory", a);
				return 2;
			}
			dir = argv[i];
		} else if (strncmp(a, "-o", 2) == 0 && a[2]) {
			dir = a + 2;
		} else if (strcmp(a, "--mbox") == 0) {
			mbox = 1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			help(stdout);
			return 0;
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
	if (!path) {
		cli_err(CMD, "missing FILE (use - for standard input)");
		return 2;
	}
	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		cli_err(CMD, "%s: %s", dir, strerror(errno));
		return 1;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		cli_err(CMD, "%s: %s", dir, strerror(errno));
		return 1;
	}
	if (cli_load(&in, path, CMD, &data, &len, &owned)) {
		close(dirfd);
		return 1;
	}
	msgspan.p = data;
	msgspan.n = len;
	while (rc == 0) {
		struct mc_mime_message *m;
		mc_status s;

		if (mbox && !mc_mime_mbox_next(data, len, &pos, &msgspan, NULL))
			break;
		s = mc_mime_parse(msgspan.p, msgspan.n, NULL, NULL, &m);
		if (s != MC_OK) {
			cli_err(CMD, "%s: %s", in.name, mc_strerror(s));
			rc = 1;
			break;
		}
		rc = extract_message(m, dirfd, dir);
		mc_mime_free(m);
		if (!mbox)
			break;
	}
	if (fflush(stdout) != 0) {
		cli_err(CMD, "write error");
		rc = 1;
	}
	close(dirfd);
	free(owned);
	cli_input_close(&in);
	return rc;
}
