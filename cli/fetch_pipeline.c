/* fetch_pipeline.c: bounded queue of committed Maildir files, parser threads
 * that print one JSON summary line per message (fetch_pipeline.h). */
#if MC_HAVE_NET
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "fetch_pipeline.h"
#include "mimecodec/mime.h"
#include "mimecodec/summary.h"

/* ==== JSON lines =========================================================================== */

static int fp_reserve(struct fp_buf *b, size_t n)
{
	size_t cap;
	char *np;

	if (b->oom)
		return -1;
	if (n <= b->cap - b->n)
		return 0;
	cap = b->cap ? b->cap : 512;
	while (cap - b->n < n) {
		if (cap > SIZE_MAX / 2) {
			b->oom = 1;
			return -1;
		}
		cap *= 2;
	}
	if (!(np = realloc(b->p, cap))) {
		b->oom = 1;
		return -1;
	}
	b->p = np;
	b->cap = cap;
	return 0;
}

void fp_buf_raw(struct fp_buf *b, const char *s, size_t n)
{
	if (n && fp_reserve(b, n) == 0) {
		memcpy(b->p + b->n, s, n);
		b->n += n;
	}
}

void fp_buf_str(struct fp_buf *b, const char *s)
{
	fp_buf_raw(b, s, strlen(s));
}

void fp_buf_fmt(struct fp_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		fp_buf_raw(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void fp_buf_json(struct fp_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, i = 0;

	if (!s) {
		fp_buf_str(b, "null");
		return;
	}
	n = strlen(s);
	fp_buf_raw(b, "\"", 1);
	while (i < n) {
		unsigned char c = p[i];
		size_t len, run = i;

		/* plain ASCII runs are copied in one piece */
		while (run < n && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' &&
		       p[run] != '\\')
			run++;
		if (run > i) {
			fp_buf_raw(b, s + i, run - i);
			i = run;
			continue;
		}
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};

			fp_buf_raw(b, e, 2);
			i++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			if (c == '\n')
				fp_buf_raw(b, "\\n", 2);
			else if (c == '\r')
				fp_buf_raw(b, "\\r", 2);
			else if (c == '\t')
				fp_buf_raw(b, "\\t", 2);
			else
				fp_buf_fmt(b, "\\u%04x", c);
			i++;
			continue;
		}
		len = cli_utf8_len(p + i, n - i);
		if (!len) {
			fp_buf_raw(b, "\xef\xbf\xbd", 3);
			i++;
			continue;
		}
		fp_buf_raw(b, s + i, len);
		i += len;
	}
	fp_buf_raw(b, "\"", 1);
}

void fp_buf_free(struct fp_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

int fp_emit(struct fp_buf *b)
{
	int rc = -1;

	fp_buf_raw(b, "\n", 1);
	if (!b->oom) {
		pthread_mutex_lock(&out_lock);
		rc = fwrite(b->p, 1, b->n, stdout) == b->n && fflush(stdout) == 0 ? 0 : -1;
		pthread_mutex_unlock(&out_lock);
	}
	b->n = 0;
	b->oom = 0;
	return rc;
}

/* ==== one message ============================================================================ */

struct item {
	struct fp_account *acct;
	unsigned num;
	uint64_t list_size;
	char uid[MC_POP3_UID_MAX + 1];
	char *file; /* name in new/ */
};

/* The head of every per-message line; the caller closes the object. */
static void msg_head(struct fp_buf *b, const struct item *it, const char *path)
{
	char rel[4096];

	fp_buf_str(b, "{\"event\": \"fetched\", \"account\": ");
	fp_buf_json(b, it->acct->name);
	fp_buf_fmt(b, ", \"number\": %u, \"uidl\": ", it->num);
	fp_buf_json(b, it->uid);
	snprintf(rel, sizeof rel, "new/%s", it->file);
	fp_buf_str(b, ", \"file\": ");
	fp_buf_json(b, rel);
	fp_buf_str(b, ", \"path\": ");
	fp_buf_json(b, path);
}

static void msg_line(struct fp_buf *b, const struct item *it, size_t text_cap, int *failed)
{
	char path[4096];
	const char *what = NULL;
	struct mc_mime_message *m = NULL;
	struct mc_summary s;
	struct stat sb;
	void *map = NULL;
	size_t len = 0;
	int fd;

	*failed = 1;
	memset(&s, 0, sizeof s);
	snprintf(path, sizeof path, "%s/new/%s", it->acct->maildir, it->file);
	msg_head(b, it, path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) != 0) {
		what = "cannot open the message in the Maildir";
		goto out;
	}
	len = (size_t)sb.st_size;
	fp_buf_fmt(b, ", \"size\": %llu", (unsigned long long)len);
	if (len) {
		map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			map = NULL;
			what = "cannot map the message";
			goto out;
		}
	}
	if (mc_mime_parse(map ? map : "", len, NULL, NULL, &m) != MC_OK ||
	    mc_summary_build(m, text_cap, &s) != MC_OK) {
		what = "out of memory";
		goto out;
	}
	fp_buf_str(b, ", \"from\": ");
	if (s.from_addr || s.from_name) {
		fp_buf_str(b, "{\"name\": ");
		fp_buf_json(b, s.from_name);
		fp_buf_str(b, ", \"address\": ");
		fp_buf_json(b, s.from_addr);
		fp_buf_str(b, "}");
	} else {
		fp_buf_str(b, "null");
	}
	fp_buf_str(b, ", \"subject\": ");
	fp_buf_json(b, s.subject);
	fp_buf_str(b, ", \"date\": ");
	fp_buf_json(b, s.date);
	fp_buf_str(b, ", \"message_id\": ");
	fp_buf_json(b, s.message_id);
	fp_buf_str(b, ", \"text\": ");
	fp_buf_json(b, s.text);
	fp_buf_fmt(b, ", \"text_type\": %s, \"text_truncated\": %s, \"attachments\": [",
	           !s.text          ? "null"
	           : s.text_is_html ? "\"text/html\""
	                            : "\"text/plain\"",
	           s.text_truncated ? "true" : "false");
	for (size_t i = 0; i < s.nattachments; i++) {
		fp_buf_str(b, i ? ", {\"filename\": " : "{\"filename\": ");
		fp_buf_json(b, s.attachments[i].filename);
		fp_buf_str(b, ", \"content_type\": ");
		fp_buf_json(b, s.attachments[i].content_type);
		fp_buf_fmt(b, ", \"size\": %llu}", (unsigned long long)s.attachments[i].size);
	}
	fp_buf_str(b, "]");
	*failed = 0;
out:
	if (what) {
		fp_buf_str(b, ", \"error\": ");
		fp_buf_json(b, what);
	}
	fp_buf_str(b, "}");
	mc_summary_free(&s);
	mc_mime_free(m);
	if (map)
		munmap(map, len);
	if (fd >= 0)
		close(fd);
}

/* ==== the queue ============================================================================== */

struct fp_pipeline {
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full, done;
	struct item *q;
	unsigned qcap, head, count;
	int closing;
	size_t text_cap;
	unsigned nthreads;
	pthread_t threads[64];
};

static void *parser_main(void *arg)
{
	struct fp_pipeline *pl = arg;
	struct fp_buf b = {0};

	for (;;) {
		struct item it;
		int failed;

		pthread_mutex_lock(&pl->lock);
		while (!pl->count && !pl->closing)
			pthread_cond_wait(&pl->not_empty, &pl->lock);
		if (!pl->count) {
			pthread_mutex_unlock(&pl->lock);
			break;
		}
		it = pl->q[pl->head];
		pl->head = (pl->head + 1) % pl->qcap;
		pl->count--;
		pthread_cond_signal(&pl->not_full);
		pthread_mutex_unlock(&pl->lock);

		msg_line(&b, &it, pl->text_cap, &failed);
		if (fp_emit(&b))
			failed = 1;
		free(it.file);

		pthread_mutex_lock(&pl->lock);
		it.acct->pending--;
		if (failed)
			it.acct->failed++;
		else
			it.acct->parsed++;
		pthread_cond_broadcast(&pl->done);
		pthread_mutex_unlock(&pl->lock);
	}
	fp_buf_free(&b);
	return NULL;
}

struct fp_pipeline *fp_start(unsigned nparsers, unsigned qcap, size_t text_cap)
{
	struct fp_pipeline *pl = calloc(1, sizeof *pl);

	if (!pl || nparsers < 1 || nparsers > 64 || qcap < 1)
		goto fail;
	if (!(pl->q = calloc(qcap, sizeof *pl->q)))
		goto fail;
	pl->qcap = qcap;
	pl->text_cap = text_cap;
	pthread_mutex_init(&pl->lock, NULL);
	pthread_cond_init(&pl->not_empty, NULL);
	pthread_cond_init(&pl->not_full, NULL);
	pthread_cond_init(&pl->done, NULL);
	for (; pl->nthreads < nparsers; pl->nthreads++) {
		if (pthread_create(&pl->threads[pl->nthreads], NULL, parser_main, pl) != 0) {
			fp_stop(pl);
			return NULL;
		}
	}
	return pl;
fail:
	if (pl)
		free(pl->q);
	free(pl);
	return NULL;
}

int fp_push(struct fp_pipeline *pl, struct fp_account *a, const struct mc_pop3_msg *m,
            const char *file)
{
	struct item it;

	memset(&it, 0, sizeof it);
	it.acct = a;
	it.num = m->num;
	it.list_size = m->size;
	memcpy(it.uid, m->uid, sizeof it.uid);
	it.file = malloc(strlen(file) + 1);
	if (!it.file) {
		struct fp_buf b = {0};

		it.file = (char *)file;
		msg_head(&b, &it, file);
		fp_buf_str(&b, ", \"error\": \"out of memory\"}");
		fp_emit(&b);
		fp_buf_free(&b);
		return -1;
	}
	memcpy(it.file, file, strlen(file) + 1);
	pthread_mutex_lock(&pl->lock);
	while (pl->count == pl->qcap)
		pthread_cond_wait(&pl->not_full, &pl->lock);
	pl->q[(pl->head + pl->count) % pl->qcap] = it;
	pl->count++;
	a->pending++;
	pthread_cond_signal(&pl->not_empty);
	pthread_mutex_unlock(&pl->lock);
	return 0;
}

void fp_wait(struct fp_pipeline *pl, struct fp_account *a)
{
	pthread_mutex_lock(&pl->lock);
	while (a->pending)
		pthread_cond_wait(&pl->done, &pl->lock);
	pthread_mutex_unlock(&pl->lock);
}

void fp_stop(struct fp_pipeline *pl)
{
	if (!pl)
		return;
	pthread_mutex_lock(&pl->lock);
	pl->closing = 1;
	pthread_cond_broadcast(&pl->not_empty);
	pthread_mutex_unlock(&pl->lock);
	for (unsigned i = 0; i < pl->nthreads; i++)
		pthread_join(pl->threads[i], NULL);
	pthread_mutex_destroy(&pl->lock);
	pthread_cond_destroy(&pl->not_empty);
	pthread_cond_destroy(&pl->not_full);
	pthread_cond_destroy(&pl->done);
	free(pl->q);
	free(pl);
}
#else
typedef int mc_cli_fetch_pipeline_unavailable; /* ISO C wants a non-empty translation unit */
#endif
