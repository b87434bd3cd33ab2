/* cli.h: shared plumbing of the mimecodec command-line tool: error messages
 * in the contract's form, chunked input (mmap for regular files, read(2) for
 * pipes), complete writes. Behaviour lives in the libraries, not here. */
#ifndef MC_CLI_H
#define MC_CLI_H

#include <stddef.h>
#include <stdint.h>

/* Prints "mimecodec: <cmd>: <message>\n" to stderr. */
void cli_err(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct cli_input {
	const char *name; /* for messages: the path, or "stdin" */
	int fd;
	const unsigned char *map; /* whole file when mapped */
	size_t maplen, pos;
	unsigned char *buf; /* read buffer when not mapped */
	size_t bufcap;
};

/* path NULL or "-" is standard input. Returns 0, or -1 after printing why. */
int cli_input_open(struct cli_input *in, const char *path, const char *cmd);

/* Next chunk of at most max bytes in *chunk (valid until the next call).
 * Returns its length, 0 at end of input, -1 after printing an error. */
long cli_input_next(struct cli_input *in, const unsigned char **chunk, size_t max, const char *cmd);

void cli_input_close(struct cli_input *in);

/* Writes all n bytes to fd; returns 0, or -1 after printing an error. */
int cli_write_all(int fd, const void *p, size_t n, const char *cmd);

/* Parses a non-negative decimal that fits in unsigned; returns 0 or -1. */
int cli_parse_uint(const char *s, unsigned *out);

int cmd_base64(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_qp(int argc, char **argv);
int cmd_transcode(int argc, char **argv);

#endif
