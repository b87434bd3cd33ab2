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

enum {
	CLI_IN_READ = 0, /* read(2) in chunks */
	CLI_IN_MAP = 1,  /* map a regular file whole */
};

/* path NULL or "-" is standard input. mode CLI_IN_MAP: a regular file is
 * mapped whole (in->map; for the parser, which wants all of it); otherwise it
 * is read in chunks: streaming commands read, because on this kind of VM the
 * page faults of a mapping cost 3-4x more than read(2)'s copy (base64 of 256
 * MiB: 0.33 s mapped, 0.09 s read) and a mapping's pages stay resident.
 * Returns 0, or -1 after printing why. */
int cli_input_open(struct cli_input *in, const char *path, const char *cmd, int mode);

/* Next chunk of at most max bytes in *chunk (valid until the next call).
 * Returns its length, 0 at end of input, -1 after printing an error. */
long cli_input_next(struct cli_input *in, const unsigned char **chunk, size_t max, const char *cmd);

void cli_input_close(struct cli_input *in);

/* base64 on a large regular file, one thread per CPU (b64_par.c). Each does
 * the file's leading part, when that pays, and leaves the file offset where
 * the sequential loop goes on in CLI_B64_CHUNK steps: encode from column 0
 * with a fresh encoder; decode from *st with the input offset *done.
 * Return -1 after printing an error (output before it written), 0 when they
 * did nothing, 1 when they did. MIMECODEC_THREADS=N sets the thread count. */
#define CLI_B64_CHUNK (192u * 1024u) /* input per step: the output stays in L2 */
struct mc_b64_decoder;
int cli_b64_encode_par(struct cli_input *in, unsigned wrap, unsigned flags);
int cli_b64_decode_par(struct cli_input *in, int mode, unsigned flags, struct mc_b64_decoder *st,
                       uint64_t *done);

/* Length of the well-formed UTF-8 sequence at p[0..n) (n >= 1): 1 for
 * ASCII, 2-4, or 0 when p[0] does not start one (the JSON writers put
 * U+FFFD there). */
size_t cli_utf8_len(const unsigned char *p, size_t n);

/* Writes all n bytes to fd; returns 0, or -1 after printing an error. */
int cli_write_all(int fd, const void *p, size_t n, const char *cmd);

/* The same for cnt buffers in one writev(2) (one call, so the kernel sees
 * the whole range at once). Changes iov[] when a write comes up short. */
struct iovec;
int cli_writev_all(int fd, struct iovec *iov, int cnt, const char *cmd);

/* When standard output is a regular file written at its end, reserves the
 * disk space for the len bytes about to be written past the end, without
 * changing the file's size (fallocate with FALLOC_FL_KEEP_SIZE), so the
 * writes do not allocate block by block. Best effort: nothing happens where
 * the file system cannot, or the output is anything else. After a failed
 * run, cli_out_unreserve gives back what was reserved past where the output
 * ended. */
void cli_out_reserve(uint64_t len);
void cli_out_unreserve(void);

/* "mimecodec: CMD: NAME: <status> [(byte 0xNN)] at byte offset OFF": the bad
 * byte is shown when OFF falls inside the current chunk (chunk[0] is at input
 * offset chunk_start, chunk_len bytes long). */
void cli_decode_error(const char *cmd, const char *name, int status, uint64_t off,
                      const unsigned char *chunk, uint64_t chunk_start, long chunk_len);

/* Parses a non-negative decimal that fits in unsigned; returns 0 or -1. */
int cli_parse_uint(const char *s, unsigned *out);

/* SHA-256 (cmd_parse.c), for decoded_sha256 and tests. */
struct cli_sha256 {
	uint32_t h[8];
	uint64_t len, total; /* total: free for the caller */
	size_t n;
	unsigned char buf[64];
};
void cli_sha256_init(struct cli_sha256 *s);
void cli_sha256_update(struct cli_sha256 *s, const void *p, size_t n);
void cli_sha256_hex(struct cli_sha256 *s, char out[65]);

/* Whole input in memory (cmd_parse.c): mapped files stay mapped, pipes are
 * read into *owned (free it, then cli_input_close). Returns 0 or -1. */
int cli_load(struct cli_input *in, const char *path, const char *cmd, const char **data,
             size_t *len, char **owned);

/* Normalised facts of one part for parse and extract (cmd_parse.c). */
struct mc_mime_message;
struct cli_part_info {
	char path[1024];
	char ctype[256];   /* lower case type/subtype */
	char charset[64];  /* lower case, when has_charset */
	char encoding[64]; /* lower case Content-Transfer-Encoding, "7bit" if absent */
	char disposition[64];
	int has_charset, has_disposition;
};
int cli_part_info(const struct mc_mime_message *m, size_t i, struct cli_part_info *pi);

/* "Name <addr>" or "addr" (compose, send): *addr and *name (NULL when none)
 * point into *buf, a copy the caller frees. A value with control characters
 * is kept whole, so it is refused as an address rather than split around a
 * CR LF. Returns 0, or -1 when out of memory. */
int cli_split_addr(const char *s, char **buf, const char **name, const char **addr);

/* A --text-file / --html-file loaded whole (cli_load), for compose and send. */
struct cli_loaded {
	struct cli_input in;
	const char *data;
	size_t len;
	char *owned;
	int open;
};
void cli_unload(struct cli_loaded *l);

/* Shared by send, fetch and demo (netopts.c). */
/* plain://HOST[:PORT] or tls_scheme://HOST[:PORT] (HOST may be [IPv6]); *tls is
 * 1 for tls_scheme. Returns 0, or -1 for anything else. */
int cli_parse_url(const char *url, const char *plain, const char *tls_scheme, int *tls, char *host,
                  size_t hcap, char *port, size_t pcap);
/* First line of a secret file, in a fresh buffer for cli_secret_free; NULL
 * after printing why. */
char *cli_read_secret(const char *cmd, const char *path, const char *what);
void cli_secret_free(char *p); /* wipes, then frees */
void cli_trace_stderr(void *ctx, int kind, const char *text, size_t n);
const char *cli_need_arg(const char *cmd, int argc, char **argv, int *i);

int cmd_base64(int argc, char **argv);
int cmd_parse(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_demo(int argc, char **argv);
#if MC_HAVE_NET
int cmd_send(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
#endif
int cmd_qp(int argc, char **argv);
int cmd_transcode(int argc, char **argv);
int cmd_compose(int argc, char **argv);

#endif
