/* fuzz_smtp_reply.c: the SMTP reply parser and EHLO keyword parser.
 * Input: lines separated by LF (a CR before it is dropped, as the transport
 * does). Each line goes to mc_smtp_reply_line; after a complete reply or an
 * error a fresh reply starts. Checks: the parser never reads outside the
 * line (ASan), a complete reply has a code in 200..599 and text within its
 * buffer, NUL-terminated, with no control characters; the enhanced code is
 * short and of the reply's class. Every line also feeds mc_smtp_caps_line.
 * The DATA stuffer gets the whole input too: its output must stay within the
 * bound and contain no bare CR or LF and no line starting with a single '.'. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if MC_HAVE_NET
#include "mimecodec/smtp.h"

#define FUZZ_ASSERT(c)           \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

static size_t bounded_len(const char *p, size_t cap)
{
	const char *z = memchr(p, '\0', cap);

	return z ? (size_t)(z - p) : cap;
}

static void check_reply(const struct mc_smtp_reply *r)
{
	size_t n = bounded_len(r->text, sizeof r->text);

	FUZZ_ASSERT(n < sizeof r->text);
	FUZZ_ASSERT(r->code >= 200 && r->code <= 599);
	for (size_t i = 0; i < n; i++)
		FUZZ_ASSERT((unsigned char)r->text[i] >= 0x20 && r->text[i] != 0x7f);
	n = bounded_len(r->enhanced, sizeof r->enhanced);
	FUZZ_ASSERT(n < 10);
	if (n)
		FUZZ_ASSERT(r->enhanced[0] == '0' + r->code / 100);
}

static void fuzz_stuffer(const uint8_t *data, size_t size)
{
	struct mc_smtp_stuffer st;
	unsigned char *out = malloc(MC_SMTP_STUFF_BOUND(size) + 2);
	size_t n, half = size / 2;

	mc_smtp_stuffer_init(&st, 1);
	n = mc_smtp_stuffer_update(&st, data, half, out);
	FUZZ_ASSERT(n <= MC_SMTP_STUFF_BOUND(half));
	n += mc_smtp_stuffer_update(&st, data + half, size - half, out + n);
	n += mc_smtp_stuffer_final(&st, out + n);
	FUZZ_ASSERT(n <= MC_SMTP_STUFF_BOUND(size) + 2);
	for (size_t i = 0; i < n; i++) {
		if (out[i] == '\r')
			FUZZ_ASSERT(i + 1 < n && out[i + 1] == '\n');
		if (out[i] == '\n')
			FUZZ_ASSERT(i > 0 && out[i - 1] == '\r');
		if (out[i] == '.' && (i == 0 || out[i - 1] == '\n'))
			FUZZ_ASSERT(i + 1 < n && out[i + 1] == '.');
	}
	FUZZ_ASSERT(n == 0 || (n >= 2 && out[n - 2] == '\r' && out[n - 1] == '\n'));
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mc_smtp_reply r;
	struct mc_smtp_caps caps = {0};
	const char *p = (const char *)data, *end = p + size;

	memset(&r, 0, sizeof r);
	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((lf ? lf : end) - p);
		char *line = malloc(n ? n : 1); /* exact size: ASan traps over-reads */
		mc_status st;

		if (n && p[n - 1] == '\r')
			n--;
		memcpy(line, p, n);
		st = mc_smtp_reply_line(&r, line, n);
		if (n > 4)
			mc_smtp_caps_line(&caps, line + 4, n - 4);
		free(line);
		if (st == MC_OK && r.complete)
			check_reply(&r);
		if (st != MC_OK || r.complete)
			memset(&r, 0, sizeof r);
		p = lf ? lf + 1 : end;
	}
	fuzz_stuffer(data, size);
	return 0;
}
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)data;
	(void)size;
	return 0;
}
#endif
