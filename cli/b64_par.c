/* b64_par.c: `mimecodec base64` on a large regular file with one thread per
 * CPU (cmd_base64.c runs the sequential loop for the rest and for anything
 * else). The file is cut into chunks, read with pread; the output goes out
 * in file order and is the sequential loop's, byte for byte.
 *
 * Encode: a chunk is a multiple of 3 * wrap input bytes, whole output lines,
 * so each chunk encodes on its own from column 0 with nothing carried. The
 * threads claim chunks in order and encode each into one of a ring of output
 * slots; thread 0 alone writes the slots out, in order, and encodes a chunk
 * itself whenever the next slot is not ready. Writing to a file costs the
 * kernel more than encoding costs us, and the writes to one file are
 * serialized anyway: taking turns at writing moved the file's page-cache
 * state from core to core and made each write twice as slow (256 MiB to a
 * file: 0.095 s, against 0.05 s with one writer). To /dev/null thread 0
 * mostly encodes.
 *
 * Decode: each worker t takes chunks t, t + T, t + 2T, ... and writes its
 * chunk's output when its turn comes. Where a quantum starts is known only after everything before it,
 * so each chunk is decoded speculatively from a fresh decoder, as if it
 * started on a quantum boundary; its boundaries are moved to line starts
 * (base64 lines are whole quanta: 76 columns in MIME and coreutils), found
 * the same way by both workers that share one. At its turn a chunk's result
 * is kept when the chunk before it ended clean (no open quantum, no padding,
 * no error: the state a fresh decoder has); otherwise the chunk is decoded
 * again from the real state the chunk before it left. The decoder's offset
 * starts at the chunk's file offset, so error offsets are the file's. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cli.h"
#include "mimecodec/base64.h"

#define CMD         "base64"
#define MIN_CHUNKS  8 /* per worker: fewer and the threads do not pay */
#define MAX_WORKERS 8
#define SCAN        4096                  /* decode: a line start is looked for this far */
#define SLOTS       (2 * MAX_WORKERS)     /* encode: output slots, at most */
#define SPINS       16384                 /* polls of a counter before sleeping */
#define WRITE_ALIGN ((uint64_t)256 << 10) /* encode: file offsets the writes end at */

struct par {
	int fd;
	const char *name;
	int dec;
	unsigned wrap, flags; /* encode */
	int mode;             /* decode */
	size_t chunk;         /* nominal input bytes per chunk */
	uint64_t nchunks;     /* chunks done in parallel */
	unsigned workers;
	unsigned spins; /* polls before sleeping: 0 with more workers than CPUs */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_uint sleepers; /* threads in pthread_cond_wait, or about to be */
	atomic_int failed;
	_Atomic uint64_t turn; /* decode: the chunk whose output goes out next */
	/* encode: the next chunk to claim, the chunks written so far, and the
	 * ring: chunk i goes into slot i % nslots once chunk i - nslots is
	 * written, and seq[slot] becomes i + 1 when it is there */
	_Atomic uint64_t next, written;
	unsigned nslots;
	unsigned char *slot[SLOTS];
	size_t len[SLOTS];
	_Atomic uint64_t seq[SLOTS];
	/* decode: the state the chunks so far left, and whether it is clean */
	struct mc_b64_decoder prev;
	int prev_clean;
	uint64_t end; /* decode: file offset where the parallel part ends */
};

struct worker {
	struct par *p;
	unsigned t;
	pthread_t th;
	unsigned char *src;
	unsigned char *out;
};

static void fail(struct par *p, const char *what, int err)
{
	pthread_mutex_lock(&p->mu);
	if (!atomic_load(&p->failed) && what) /* one message: the first error counts */
		cli_err(CMD, "%s: %s", p->name, err ? strerror(err) : what);
	atomic_store(&p->failed, 1);
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* Reads n bytes at off; a short read is an error (the file shrank). */
static int read_at(struct par *p, unsigned char *b, size_t n, uint64_t off)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = pread(p->fd, b + got, n - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fail(p, "file shrank while being read", r < 0 ? errno : 0);
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

/* Decode: the start of chunk i (i >= 1) is the first line start at or after
 * its nominal offset, within SCAN bytes; else the nominal offset. w holds
 * the SCAN bytes from the nominal offset. */
static uint64_t line_start(const unsigned char *w, uint64_t nominal)
{
	const unsigned char *nl = memchr(w, '\n', SCAN);

	return nl ? nominal + (uint64_t)(nl - w) + 1 : nominal;
}

static int clean(const struct mc_b64_decoder *st)
{
	return st->status == MC_OK && st->nacc == 0 && st->npad == 0 && !st->done;
}

/* Waits until the counter *c reaches v; returns 0, or -1 when the run
 * failed. What is waited for usually comes within microseconds, sooner than
 * a sleeping thread wakes up on this kind of VM, so the waiter polls first
 * when every worker has a CPU of its own. The counters and the sleepers
 * count are sequentially consistent: a thread that moves a counter either
 * sees the sleeper in bump, or the sleeper sees the new value before it
 * sleeps. */
static int wait_for(struct par *p, _Atomic uint64_t *c, uint64_t v)
{
	for (unsigned k = 0; k < p->spins; k++) {
		if (atomic_load(c) >= v || atomic_load(&p->failed))
			return atomic_load(&p->failed) ? -1 : 0;
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
	pthread_mutex_lock(&p->mu);
	atomic_fetch_add(&p->sleepers, 1);
	while (atomic_load(c) < v && !atomic_load(&p->failed))
		pthread_cond_wait(&p->cv, &p->mu);
	atomic_fetch_sub(&p->sleepers, 1);
	pthread_mutex_unlock(&p->mu);
	return atomic_load(&p->failed) ? -1 : 0;
}

/* Sets the counter *c to v and wakes whoever sleeps. */
static void bump(struct par *p, _Atomic uint64_t *c, uint64_t v)
{
	atomic_store(c, v);
	if (atomic_load(&p->sleepers)) {
		pthread_mutex_lock(&p->mu);
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
}

/* Encodes chunk i, claimed by this thread, into its slot once the slot is
 * free. */
static int encode_chunk(struct worker *w, uint64_t i)
{
	struct par *p = w->p;
	unsigned k = (unsigned)(i % p->nslots);
	unsigned char *out = p->slot[k];
	struct mc_b64_encoder st;
	size_t o;

	if (read_at(p, w->src, p->chunk, i * p->chunk))
		return -1;
	if (i >= p->nslots && wait_for(p, &p->written, i - p->nslots + 1))
		return -1;
	/* The slots go around the caches: thread 0 reads most of them from
	 * another core's (256 MiB to a file: 0.062 s against 0.069 s; keeping
	 * thread 0's own chunks in its cache gained nothing measurable). */
	mc_b64_encoder_init(&st, p->wrap, p->flags | MC_B64_NOCACHE);
	o = mc_b64_encode_update(&st, w->src, p->chunk, (char *)out);
	/* The encoder breaks a full line before the next character; the next
	 * chunk starts a new encoder, so the break goes here. */
	if (p->wrap && st.col == p->wrap) {
		if (p->flags & MC_B64_CRLF)
			out[o++] = '\r';
		out[o++] = '\n';
	}
	p->len[k] = o;
	bump(p, &p->seq[k], i + 1);
	return 0;
}

/* Claims the next chunk, when there is one and, for thread 0 (which must
 * not wait for a slot: it is the one that frees them), when its slot is
 * free. Returns the chunk, or UINT64_MAX. */
static uint64_t claim(struct par *p, int writer)
{
	uint64_t i = atomic_load(&p->next);

	do {
		if (i >= p->nchunks || (writer && i >= atomic_load(&p->written) + p->nslots))
			return UINT64_MAX;
	} while (!atomic_compare_exchange_weak(&p->next, &i, i + 1));
	return i;
}

/* Thread 0: writes the slots in order; encodes while what it needs is not
 * ready. The writes end on WRITE_ALIGN boundaries of the output file (but the
 * last), whatever the slot lengths (which are whole lines: 77 or 78 bytes
 * each): the page cache then takes the bytes in large folios. 362 MB into a
 * new file from one thread, best of 7 in one run (bench/write_speed, see its
 * header): 6.9 GB/s in the slots' 265,496-byte writes, 9.2 in 256 KiB writes,
 * 9.8 in 1 MiB writes. A write may span all the ready slots; chunk i's slot
 * is freed once its last byte is out. */
static void write_slots(struct worker *w)
{
	struct par *p = w->p;
	struct iovec iov[SLOTS];
	off_t at = lseek(1, 0, SEEK_CUR);
	uint64_t pos = at < 0 ? 0 : (uint64_t)at; /* file offset of slot i's byte done */
	size_t done = 0;                          /* bytes of chunk i already written */

	for (uint64_t i = 0; i < p->nchunks;) {
		uint64_t j = i, end = pos, wend, jj;
		int cnt = 0;
		size_t off = done;

		if (atomic_load(&p->failed))
			return;
		/* The ready chunks from i on, and where their bytes end. */
		while (j < p->nchunks && j < i + p->nslots &&
		       atomic_load(&p->seq[j % p->nslots]) == j + 1) {
			end += p->len[j % p->nslots] - (j == i ? done : 0);
			j++;
		}
		/* Up to the last boundary; all of it at the end, and when every
		 * slot is ready and still short of a boundary (which chunks of
		 * 256 KiB of output never are): never wait on one's own slot. */
		wend = end - end % WRITE_ALIGN;
		if (j == p->nchunks || (wend <= pos && j == i + p->nslots))
			wend = end;
		if (wend <= pos) { /* nothing to write up to a boundary yet */
			if ((jj = claim(p, 1)) != UINT64_MAX) {
				if (encode_chunk(w, jj))
					return;
			} else if (wait_for(p, &p->seq[j % p->nslots], j + 1)) {
				return; /* chunk j is another thread's: wait for it */
			}
			continue;
		}
		/* Bytes pos..wend: the rest of chunk i, then whole chunks, then
		 * maybe the head of the last one. */
		for (uint64_t left = wend - pos; left; i++, off = 0) {
			unsigned k = (unsigned)(i % p->nslots);
			size_t n = p->len[k] - off;

			iov[cnt].iov_base = p->slot[k] + off;
			iov[cnt++].iov_len = n < left ? n : (size_t)left;
			if (n > left) {
				done = off + (size_t)left;
				break;
			}
			left -= n;
			done = 0;
		}
		if (cli_writev_all(1, iov, cnt, CMD)) {
			fail(p, NULL, 0); /* cli_writev_all said why */
			return;
		}
		pos = wend;
		bump(p, &p->written, i);
	}
}

static int decode_chunk(struct worker *w, uint64_t i)
{
	struct par *p = w->p;
	uint64_t nominal = i * p->chunk, start = 0, end;
	const unsigned char *in;
	size_t n, wr;
	struct mc_b64_decoder st;
	mc_status s;

	/* The chunk and SCAN bytes past it, where the next one starts. */
	if (read_at(p, w->src, p->chunk + SCAN, nominal))
		return -1;
	if (i > 0)
		start = line_start(w->src, nominal);
	end = line_start(w->src + p->chunk, nominal + p->chunk);
	in = w->src + (start - nominal);
	n = (size_t)(end - start);
	mc_b64_decoder_init(&st, p->mode, p->flags);
	st.offset = start;
	s = mc_b64_decode_update(&st, (const char *)in, n, w->out, &wr);
	if (wait_for(p, &p->turn, i))
		return -1;
	if (!p->prev_clean) { /* the guess was wrong: go on from the real state */
		st = p->prev;
		s = mc_b64_decode_update(&st, (const char *)in, n, w->out, &wr);
	}
	if (cli_write_all(1, w->out, wr, CMD)) {
		fail(p, NULL, 0);
		return -1;
	}
	if (s) {
		pthread_mutex_lock(&p->mu);
		if (!atomic_load(&p->failed))
			cli_decode_error(CMD, p->name, s, st.err_offset, in, start, (long)n);
		atomic_store(&p->failed, 1);
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		return -1;
	}
	p->prev = st; /* only the turn holder touches prev */
	p->prev_clean = clean(&st);
	if (i + 1 == p->nchunks)
		p->end = end;
	bump(p, &p->turn, i + 1);
	return 0;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct par *p = w->p;
	uint64_t i;

	if (p->dec) {
		for (i = w->t; i < p->nchunks; i += p->workers)
			if (decode_chunk(w, i) < 0)
				break;
	} else if (w->t == 0) {
		write_slots(w);
	} else {
		while ((i = claim(p, 0)) != UINT64_MAX)
			if (encode_chunk(w, i) < 0)
				break;
	}
	return NULL;
}

static unsigned count_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof set, &set) == 0)
		return (unsigned)CPU_COUNT(&set);
	return 1;
}

/* MIMECODEC_THREADS when set (1 keeps the work on one core), else the CPUs
 * this process may run on. */
static unsigned count_workers(void)
{
	const char *e = getenv("MIMECODEC_THREADS");
	unsigned n;

	if (e && *e && cli_parse_uint(e, &n) == 0)
		return n ? n : 1;
	return count_cpus();
}

/* Runs the parallel part. Returns -1 after an error, 0 when it did nothing,
 * 1 when it did: the file offset is then at p->end. */
static int run_all(struct par *p, uint64_t size, size_t unit, size_t over)
{
	struct worker w[MAX_WORKERS];
	unsigned n = count_workers(), started;
	size_t in_cap, out_cap;
	off_t at;
	int rc = 1;

	if (n > MAX_WORKERS)
		n = MAX_WORKERS;
	at = lseek(p->fd, 0, SEEK_CUR);
	if (n < 2 || at != 0 || unit > CLI_B64_CHUNK)
		return 0;
	p->chunk = CLI_B64_CHUNK / unit * unit;
	p->nchunks = size < over ? 0 : (size - over) / p->chunk;
	if (p->nchunks < (uint64_t)n * MIN_CHUNKS)
		return 0;
	p->workers = n;
	p->spins = n <= count_cpus() ? SPINS : 0;
	p->nslots = 2 * n;
	p->end = p->nchunks * p->chunk;
	p->prev_clean = 1;
	in_cap = p->chunk + over;
	out_cap = p->dec ? mc_b64_decode_bound(in_cap)
	                 : mc_b64_encode_bound(in_cap, p->wrap, p->flags) + 2;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	memset(w, 0, sizeof w);
	for (unsigned k = 0; !p->dec && k < p->nslots; k++)
		if (!(p->slot[k] = malloc(out_cap)))
			goto nomem;
	for (unsigned t = 0; t < n; t++) {
		w[t].p = p;
		w[t].t = t;
		w[t].src = malloc(in_cap);
		w[t].out = p->dec ? malloc(out_cap) : NULL;
		if (!w[t].src || (p->dec && !w[t].out))
			goto nomem;
	}
	for (started = 1; started < n; started++)
		if (pthread_create(&w[started].th, NULL, run, &w[started]))
			break;
	if (started < n) {
		/* Chunks t >= started would have no worker. Nothing is written
		 * before chunk 0 (this thread's), so the started ones stop unseen
		 * and the sequential loop does it all. */
		fail(p, NULL, 0);
		for (unsigned t = 1; t < started; t++)
			pthread_join(w[t].th, NULL);
		rc = 0;
		goto out;
	}
	run(&w[0]);
	for (unsigned t = 1; t < n; t++)
		pthread_join(w[t].th, NULL);
	if (atomic_load(&p->failed))
		rc = -1;
	else if (lseek(p->fd, (off_t)p->end, SEEK_SET) < 0) {
		cli_err(CMD, "%s: %s", p->name, strerror(errno));
		rc = -1;
	}
	goto out;
nomem:
	cli_err(CMD, "out of memory");
	rc = -1;
out:
	for (unsigned t = 0; t < n; t++) {
		free(w[t].src);
		free(w[t].out);
	}
	for (unsigned k = 0; k < p->nslots; k++)
		free(p->slot[k]);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	return rc;
}

static int regular_size(int fd, uint64_t *size)
{
	struct stat sb;

	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode))
		return -1;
	*size = (uint64_t)sb.st_size;
	return 0;
}

int cli_b64_encode_par(struct cli_input *in, unsigned wrap, unsigned flags)
{
	struct par p = {.fd = in->fd, .name = in->name, .wrap = wrap, .flags = flags};
	uint64_t size;

	if (in->map || regular_size(in->fd, &size))
		return 0;
	return run_all(&p, size, wrap ? (size_t)3 * wrap : 3, 0);
}

int cli_b64_decode_par(struct cli_input *in, int mode, unsigned flags, struct mc_b64_decoder *st,
                       uint64_t *done)
{
	struct par p = {.fd = in->fd, .name = in->name, .dec = 1, .mode = mode, .flags = flags};
	uint64_t size;
	int rc;

	*done = 0;
	if (in->map || regular_size(in->fd, &size))
		return 0;
	/* Whole quanta when no line start is found: the guess then holds for
	 * unwrapped input. */
	rc = run_all(&p, size, 4, SCAN);
	if (rc == 1) {
		*st = p.prev;
		*done = p.end;
	}
	return rc;
}
