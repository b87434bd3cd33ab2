/* test_cli_writev.c: cli_writev_all (cli/util.c) over a writev that takes at
 * most a few bytes per call (the linker's --wrap), so every short write, one
 * ending inside a buffer and one ending exactly at a buffer's end, has to be
 * resumed at the right byte; and an error after a short write is reported. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../cli/cli.h"
#include "test.h"

static size_t take = 7; /* bytes one writev call accepts */
static int fail_after = -1;
static int calls;
static char sink[4096];
static size_t sunk;

ssize_t __wrap_writev(int fd, const struct iovec *iov, int cnt);
ssize_t __wrap_writev(int fd, const struct iovec *iov, int cnt)
{
	size_t n = 0;

	(void)fd;
	if (calls++ == fail_after) {
		errno = ENOSPC;
		return -1;
	}
	for (int i = 0; i < cnt && n < take; i++) {
		size_t k = iov[i].iov_len < take - n ? iov[i].iov_len : take - n;

		memcpy(sink + sunk, iov[i].iov_base, k);
		sunk += k;
		n += k;
	}
	return (ssize_t)n;
}

static void run(size_t step, int failing)
{
	char a[] = "0123456789", b[] = "abc", c[] = "", d[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	struct iovec iov[4] = {{a, 10}, {b, 3}, {c, 0}, {d, 26}};
	int rc;

	take = step;
	fail_after = failing;
	calls = 0;
	sunk = 0;
	rc = cli_writev_all(1, iov, 4, "test");
	if (failing < 0) {
		CHECK_EQ_INT(rc, 0);
		CHECK_EQ_MEM(sink, sunk, "0123456789abcABCDEFGHIJKLMNOPQRSTUVWXYZ", 39);
	} else {
		CHECK_EQ_INT(rc, -1);
		CHECK_EQ_SIZE(sunk, (size_t)failing * step);
	}
	MC_TEST_CTX("take=%zu fail_after=%d\n", step, failing);
}

int main(void)
{
	for (size_t step = 1; step <= 40; step++)
		run(step, -1);
	run(5, 2);
	MC_TEST_END();
}
