/* util.c: input, output and error plumbing for the CLI (see cli.h). */
#define _GNU_SOURCE /* fallocate */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cli.h"
#include "mimecodec/status.h"

void cli_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mimecodec: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_input_open(struct cli_input *in, const char *path, const char *cmd, int mode)
{
	struct stat sb;

	memset(in, 0, sizeof *in);
	if (!path || strcmp(path, "-") == 0) {
		in->name = "stdin";
		in->fd = 0;
	} else {
		in->name = path;
		in->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (in->fd < 0) {
			cli_err(cmd, "%s: %s", path, strerror(errno));
			return -1;
		}
	}
	if (mode == CLI_IN_MAP && fstat(in->fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    sb.st_size > 0) {
		void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, in->fd, 0);

		if (m != MAP_FAILED) {
			posix_madvise(m, (size_t)sb.st_size, POSIX_MADV_SEQUENTIAL);
			in->map = m;
			in->maplen = (size_t)sb.st_size;
			return 0;
		}
	}
	if (fstat(in->fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		cli_err(cmd, "%s: is a directory", in->name);
		cli_input_close(in);
		return -1;
	}
	return 0;
}

long cli_input_next(struct cli_input *in, const unsigned char **chunk, size_t max, const char *cmd)
{
	if (max > LONG_MAX)
		max = LONG_MAX;
	if (in->map) {
		size_t n = in->maplen - in->pos;
		if (n > max)
			n = max;
		*chunk = in->map + in->pos;
		in->pos += n;
		return (long)n;
	}
	if (in->bufcap < max) {
		unsigned char *b = realloc(in->buf, max);

		if (!b) {
			cli_err(cmd, "out of memory");
			return -1;
		}
		in->buf = b;
		in->bufcap = max;
	}
	for (size_t got = 0;;) {
		ssize_t r = read(in->fd, in->buf + got, max - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cli_err(cmd, "%s: %s", in->name, strerror(errno));
			return -1;
		}
		got += (size_t)r;
		if (r == 0 || got == max) {
			*chunk = in->buf;
			return (long)got;
		}
	}
}

void cli_input_close(struct cli_input *in)
{
	if (in->map)
		munmap((void *)in->map, in->maplen);
	if (in->fd > 0)
		close(in->fd);
	free(in->buf);
	memset(in, 0, sizeof *in);
}

int cli_write_all(int fd, const void *p, size_t n, const char *cmd)
{
	struct iovec v = {(void *)(uintptr_t)p, n}; /* writev only reads it */

	return cli_writev_all(fd, &v, 1, cmd);
}

int cli_writev_all(int fd, struct iovec *iov, int cnt, const char *cmd)
{
	while (cnt) {
		ssize_t w = writev(fd, iov, cnt);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			cli_err(cmd, "write error: %s", strerror(errno));
			return -1;
		}
		/* Skip what went out; after a short write, resume mid-buffer. */
		size_t left = (size_t)w;

		while (cnt && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt) {
			iov->iov_base = (char *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return 0;
}

static struct {
	int on;
	uint64_t end; /* where the reserved range ends */
} reserved;

void cli_out_reserve(uint64_t len)
{
	struct stat sb;
	off_t at;

	if (len == 0 || len > (uint64_t)INT64_MAX || fstat(1, &sb) || !S_ISREG(sb.st_mode))
		return;
	at = lseek(1, 0, SEEK_CUR);
	if (at < 0 || at != sb.st_size || (uint64_t)at > (uint64_t)INT64_MAX - len)
		return; /* not at the end: the bytes there are the file's */
	if (fallocate(1, FALLOC_FL_KEEP_SIZE, at, (off_t)len) == 0) {
		reserved.on = 1;
		reserved.end = (uint64_t)at + len;
	}
}

void cli_out_unreserve(void)
{
	struct stat sb;

	if (!reserved.on)
		return;
	reserved.on = 0;
	/* Truncating to the size the file has drops the blocks reserved past
	 * its end (ext4, XFS; punching a hole there does nothing on ext4), and
	 * only when this process's writes are what ended it. */
	if (fstat(1, &sb) == 0 && (uint64_t)sb.st_size < reserved.end &&
	    lseek(1, 0, SEEK_CUR) == sb.st_size)
		(void)ftruncate(1, sb.st_size);
}

void cli_decode_error(const char *cmd, const char *name, int status, uint64_t off,
                      const unsigned char *chunk, uint64_t chunk_start, long chunk_len)
{
	if (status == MC_EBADCHAR && chunk && chunk_len > 0 && off >= chunk_start &&
	    off - chunk_start < (uint64_t)chunk_len)
		cli_err(cmd, "%s: %s (byte 0x%02x) at byte offset %llu", name, mc_strerror(status),
		        chunk[off - chunk_start], (unsigned long long)off);
	else
		cli_err(cmd, "%s: %s at byte offset %llu", name, mc_strerror(status),
		        (unsigned long long)off);
}

int cli_parse_uint(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT_MAX)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* ---- compose and send options ---------------------------------------------- */

/* "Name <addr>" or "addr": the address part (a pointer into s or into *buf,
 * a copy the caller frees) and the display name (NULL when none). */
int cli_split_addr(const char *s, char **buf, const char **name, const char **addr)
{
	size_t len = strlen(s), n;
	char *b = malloc(len + 1), *lt, *gt;

	if (!b)
		return -1;
	memcpy(b, s, len + 1);
	*buf = b;
	*name = NULL;
	*addr = b;
	for (const unsigned char *q = (const unsigned char *)s; *q; q++)
		if (*q < 0x20 || *q == 0x7f)
			return 0; /* kept whole: refused as an address, never split around CR LF */
	lt = strrchr(b, '<');
	gt = strrchr(b, '>');
	if (!lt || !gt || gt < lt || gt[1] != '\0')
		return 0;
	*gt = '\0';
	*addr = lt + 1;
	*lt = '\0';
	n = strlen(b);
	while (n && (b[n - 1] == ' ' || b[n - 1] == '\t'))
		b[--n] = '\0';
	while (*b == ' ' || *b == '\t')
		b++, n--;
	if (n >= 2 && b[0] == '"' && b[n - 1] == '"') {
		b[n - 1] = '\0';
		b++;
	}
	*name = *b ? b : NULL;
	return 0;
}

void cli_unload(struct cli_loaded *l)
{
	if (!l->open)
		return;
	free(l->owned);
	cli_input_close(&l->in);
	l->open = 0;
}

size_t cli_utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], c1 = n > 1 ? p[1] : 0;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t k = 1; k < len; k++)
		if ((p[k] & 0xc0) != 0x80)
			return 0;
	/* overlong 3- and 4-byte forms, surrogates, above U+10FFFF */
	if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 > 0x9f) || (c == 0xf0 && c1 < 0x90) ||
	    (c == 0xf4 && c1 > 0x8f))
		return 0;
	return len;
}
