/* write_speed.c: how fast this machine's page cache takes one large file in
 * writes of a given size, the figure behind the CLI's aligned writes
 * (cli/b64_par.c: writes ending on 256 KiB boundaries of the file).
 *
 * usage: write_speed FILE TOTAL_BYTES CHUNK_BYTES [REPS]
 *
 * Each repetition removes FILE, reserves TOTAL_BYTES past its end as the CLI
 * does (fallocate, FALLOC_FL_KEEP_SIZE; skipped where unsupported), then
 * writes TOTAL_BYTES rounded down to whole chunks from one buffer that stays
 * in cache, and prints the time and GB/s of the writes alone; the last line
 * is the best. Compare, in one run:
 *   write_speed /tmp/w 362623338 262144 7    (256 KiB, aligned offsets)
 *   write_speed /tmp/w 362623338 265496 7    (the CLI's 265,496-byte slots)
 */
#define _GNU_SOURCE /* fallocate */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	unsigned long long total, chunk, reps = 5;
	double best = 0;
	char *buf, *end;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: write_speed FILE TOTAL_BYTES CHUNK_BYTES [REPS]\n");
		return 2;
	}
	total = strtoull(argv[2], &end, 10);
	chunk = strtoull(argv[3], &end, 10);
	if (argc == 5)
		reps = strtoull(argv[4], &end, 10);
	if (!chunk || chunk > total || !reps || !(buf = malloc(chunk))) {
		fprintf(stderr, "write_speed: bad sizes\n");
		return 2;
	}
	memset(buf, 'A', chunk);
	total -= total % chunk;
	for (unsigned long long r = 0; r < reps; r++) {
		int fd;
		double t0, t;

		unlink(argv[1]);
		fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0) {
			perror(argv[1]);
			return 1;
		}
		(void)fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)total);
		t0 = now();
		for (unsigned long long o = 0; o < total; o += chunk)
			if (write(fd, buf, chunk) != (ssize_t)chunk) {
				perror("write");
				return 1;
			}
		t = now() - t0;
		close(fd);
		printf("%llu bytes in %llu-byte writes: %.4f s, %.2f GB/s\n", total, chunk, t,
		       (double)total / t / 1e9);
		if (!best || t < best)
			best = t;
	}
	unlink(argv[1]);
	printf("best: %.4f s, %.2f GB/s\n", best, (double)total / best / 1e9);
	free(buf);
	return 0;
}
