/* test_maildir.c: the Maildir writer: the tree is created, a delivery is
 * invisible in new/ until committed and then holds exactly the bytes written
 * under a unique "<sec>.M<usec>P<pid>Q<seq>.<host>,S=<size>" name, tmp/ is
 * left empty, aborted deliveries vanish, a synced delivery left in tmp/ is
 * recovered, two handles on one directory never collide, and errors are
 * reported, not crashed on. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mimecodec/maildir.h"
#include "test.h"

static char root[256];

static size_t count_dir(const char *sub)
{
	char path[512];
	DIR *d;
	struct dirent *e;
	size_t n = 0;

	snprintf(path, sizeof path, "%s/%s", root, sub);
	d = opendir(path);
	if (!d)
		return (size_t)-1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long len;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = mc_t_xmalloc((size_t)len + 1);
	*n = fread(p, 1, (size_t)len, f);
	fclose(f);
	return p;
}

static int name_ok(const char *name, size_t size)
{
	char suffix[64];
	const char *s = name;

	/* <digits>.M<digits>P<digits>Q<digits>.<host>,S=<size> */
	if (!(*s >= '0' && *s <= '9'))
		return 0;
	while (*s >= '0' && *s <= '9')
		s++;
	if (strncmp(s, ".M", 2))
		return 0;
	snprintf(suffix, sizeof suffix, ",S=%zu", size);
	return strstr(name, "P") && strstr(name, "Q") && strlen(name) > strlen(suffix) &&
	       strcmp(name + strlen(name) - strlen(suffix), suffix) == 0 && !strchr(name, '/') &&
	       !strchr(name, ':');
}

static void test_deliver(void)
{
	struct mc_maildir md;
	char name[MC_MAILDIR_NAME_MAX + 32], path[1024], prev[MC_MAILDIR_NAME_MAX + 32] = "";
	size_t big = 3 * MC_MAILDIR_WBUF + 17;
	char *data = mc_t_xmalloc(big);

	mc_t_fill(data, big);
	snprintf(path, sizeof path, "%s/a/b/Maildir", root);
	CHECK_EQ_INT(mc_maildir_open(&md, path), MC_OK);
	snprintf(root + strlen(root), sizeof root - strlen(root), "/a/b/Maildir");
	CHECK_EQ_SIZE(count_dir("tmp"), 0);
	CHECK_EQ_SIZE(count_dir("new"), 0);
	CHECK_EQ_SIZE(count_dir("cur"), 0);
	for (size_t size = 0; size < big; size = size * 3 + 1) {
		size_t n = 0;
		char *got;

		CHECK_EQ_INT(mc_maildir_begin(&md), MC_OK);
		CHECK(mc_maildir_tmpname(&md)[0] != '\0');
		CHECK_EQ_INT(mc_maildir_begin(&md), MC_EINVAL); /* one at a time */
		for (size_t off = 0; off < size;) {             /* uneven pieces */
			size_t k = 1 + (size_t)(mc_t_rand() % 5000);

			if (k > size - off)
				k = size - off;
			CHECK_EQ_INT(mc_maildir_sink(&md, data + off, k), MC_OK);
			off += k;
		}
		CHECK_EQ_SIZE(count_dir("tmp"), 1);
		CHECK_EQ_INT(mc_maildir_commit(&md, name, sizeof name), MC_OK);
		CHECK(name_ok(name, size));
		CHECK(strcmp(name, prev) != 0);
		snprintf(prev, sizeof prev, "%s", name);
		CHECK_EQ_SIZE(count_dir("tmp"), 0);
		snprintf(path, sizeof path, "%s/new/%s", root, name);
		got = slurp(path, &n);
		CHECK(got != NULL);
		if (got)
			CHECK_EQ_MEM(got, n, data, size);
		free(got);
		MC_TEST_CTX("size %zu, name %s\n", size, name);
	}
	/* abort: nothing left anywhere */
	{
		size_t before = count_dir("new");

		CHECK_EQ_INT(mc_maildir_begin(&md), MC_OK);
		CHECK_EQ_INT(mc_maildir_write(&md, "x", 1), MC_OK);
		mc_maildir_abort(&md);
		CHECK_EQ_SIZE(count_dir("tmp"), 0);
		CHECK_EQ_SIZE(count_dir("new"), before);
		CHECK_EQ_INT(mc_maildir_write(&md, "x", 1), MC_EINVAL);
		CHECK_EQ_INT(mc_maildir_commit(&md, NULL, 0), MC_EINVAL);
	}
	/* a synced delivery left in tmp/ (a crash before the rename) is recovered */
	{
		char tmpname[MC_MAILDIR_NAME_MAX];
		size_t before = count_dir("new");
		struct mc_maildir md2;

		CHECK_EQ_INT(mc_maildir_begin(&md), MC_OK);
		CHECK_EQ_INT(mc_maildir_write(&md, "hello\r\n", 7), MC_OK);
		CHECK_EQ_INT(mc_maildir_sync(&md), MC_OK);
		snprintf(tmpname, sizeof tmpname, "%s", mc_maildir_tmpname(&md));
		md.name[0] = '\0'; /* "crash": forget the delivery */
		CHECK_EQ_SIZE(count_dir("tmp"), 1);
		CHECK_EQ_INT(mc_maildir_open(&md2, root), MC_OK);
		CHECK_EQ_INT(mc_maildir_recover(&md2, tmpname, name, sizeof name), MC_OK);
		CHECK(name_ok(name, 7));
		CHECK_EQ_SIZE(count_dir("tmp"), 0);
		CHECK_EQ_SIZE(count_dir("new"), before + 1);
		CHECK_EQ_INT(mc_maildir_recover(&md2, tmpname, name, sizeof name), MC_ECLOSED);
		CHECK_EQ_INT(mc_maildir_recover(&md2, "../new/x", name, sizeof name), MC_EINVAL);
		CHECK_EQ_INT(mc_maildir_recover(&md2, "", name, sizeof name), MC_EINVAL);
		/* two handles on one directory: interleaved deliveries, distinct names */
		for (int i = 0; i < 50; i++) {
			char n1[MC_MAILDIR_NAME_MAX + 32], n2[MC_MAILDIR_NAME_MAX + 32];

			CHECK_EQ_INT(mc_maildir_begin(&md), MC_OK);
			CHECK_EQ_INT(mc_maildir_begin(&md2), MC_OK);
			CHECK_EQ_INT(mc_maildir_write(&md, "1", 1), MC_OK);
			CHECK_EQ_INT(mc_maildir_write(&md2, "2", 1), MC_OK);
			CHECK_EQ_INT(mc_maildir_commit(&md2, n2, sizeof n2), MC_OK);
			CHECK_EQ_INT(mc_maildir_commit(&md, n1, sizeof n1), MC_OK);
			CHECK(strcmp(n1, n2) != 0);
		}
		CHECK_EQ_SIZE(count_dir("new"), before + 101);
		mc_maildir_close(&md2);
	}
	/* a crash between the link into new/ and the unlink from tmp/ leaves the
	 * file in both: recovery finishes the move (it used to fail for good with
	 * "new/... exists already", so no later fetch could complete) */
	{
		char tmpname[MC_MAILDIR_NAME_MAX], from[1024], to[1200], other[1200];
		size_t before = count_dir("new");
		struct mc_maildir md2;
		FILE *f;

		CHECK_EQ_INT(mc_maildir_begin(&md), MC_OK);
		CHECK_EQ_INT(mc_maildir_write(&md, "hello\r\n", 7), MC_OK);
		CHECK_EQ_INT(mc_maildir_sync(&md), MC_OK);
		snprintf(tmpname, sizeof tmpname, "%s", mc_maildir_tmpname(&md));
		md.name[0] = '\0'; /* "crash" right after the link */
		snprintf(from, sizeof from, "%s/tmp/%s", root, tmpname);
		snprintf(to, sizeof to, "%s/new/%s,S=7", root, tmpname);
		CHECK(link(from, to) == 0);
		CHECK_EQ_INT(mc_maildir_open(&md2, root), MC_OK);
		CHECK_EQ_INT(mc_maildir_recover(&md2, tmpname, name, sizeof name), MC_OK);
		CHECK(name_ok(name, 7));
		CHECK_EQ_SIZE(count_dir("tmp"), 0);
		CHECK_EQ_SIZE(count_dir("new"), before + 1);
		/* a different file under the name in new/ is never overwritten */
		CHECK_EQ_INT(mc_maildir_begin(&md), MC_OK);
		CHECK_EQ_INT(mc_maildir_write(&md, "world\r\n", 7), MC_OK);
		CHECK_EQ_INT(mc_maildir_sync(&md), MC_OK);
		snprintf(tmpname, sizeof tmpname, "%s", mc_maildir_tmpname(&md));
		md.name[0] = '\0';
		snprintf(other, sizeof other, "%s/new/%s,S=7", root, tmpname);
		f = fopen(other, "wb");
		CHECK(f != NULL);
		if (f)
			fclose(f);
		CHECK_EQ_INT(mc_maildir_recover(&md2, tmpname, name, sizeof name), MC_EIO);
		CHECK_EQ_SIZE(count_dir("tmp"), 1);
		unlink(other);
		CHECK_EQ_INT(mc_maildir_recover(&md2, tmpname, name, sizeof name), MC_OK);
		CHECK_EQ_SIZE(count_dir("tmp"), 0);
		CHECK_EQ_SIZE(count_dir("new"), before + 2);
		mc_maildir_close(&md2);
	}
	/* closing with a delivery in progress removes it */
	CHECK_EQ_INT(mc_maildir_begin(&md), MC_OK);
	mc_maildir_close(&md);
	CHECK_EQ_SIZE(count_dir("tmp"), 0);
	mc_maildir_close(&md); /* twice is fine */
	free(data);
}

/* Writes of every size class in one delivery, in a pattern of sizes that
 * lands on and across the write buffer's edges: small pieces (copied),
 * pieces of exactly and above MC_MAILDIR_WBUF with an empty buffer (written
 * directly) and with a partly full one (copied), more than MC_MAILDIR_KICK
 * in total (the writeback of the first part is started early): the file in
 * new/ holds exactly the bytes written, in order, and its size is in its
 * name. */
static void test_large(void)
{
	static const size_t sizes[] = {1,
	                               MC_MAILDIR_WBUF - 1,
	                               1,
	                               MC_MAILDIR_WBUF,
	                               MC_MAILDIR_WBUF + 1,
	                               7,
	                               3 * MC_MAILDIR_WBUF,
	                               MC_MAILDIR_KICK,
	                               MC_MAILDIR_WBUF / 2,
	                               MC_MAILDIR_WBUF / 2,
	                               2 * MC_MAILDIR_WBUF + 5,
	                               12345};
	struct mc_maildir md;
	size_t total = 0, pos = 0, got = 0;
	unsigned char *data;
	char name[MC_MAILDIR_NAME_MAX + 32], path[1024];
	char *back;

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		total += sizes[i];
	CHECK(total > MC_MAILDIR_KICK);
	data = mc_t_xmalloc(total);
	mc_t_fill(data, total);
	CHECK_EQ_INT(mc_maildir_open(&md, root), MC_OK);
	CHECK_EQ_INT(mc_maildir_begin(&md), MC_OK);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		CHECK_EQ_INT(mc_maildir_write(&md, data + pos, sizes[i]), MC_OK);
		pos += sizes[i];
	}
	CHECK_EQ_INT(mc_maildir_commit(&md, name, sizeof name), MC_OK);
	CHECK(name_ok(name, total));
	snprintf(path, sizeof path, "%s/new/%s", root, name);
	back = slurp(path, &got);
	CHECK(back != NULL);
	if (back)
		CHECK_EQ_MEM(back, got, data, total);
	free(back);
	unlink(path);
	mc_maildir_close(&md);
	CHECK_EQ_SIZE(count_dir("tmp"), 0);
	free(data);
}

static void test_errors(void)
{
	struct mc_maildir md;
	char path[512];
	FILE *f;

	CHECK_EQ_INT(mc_maildir_open(&md, ""), MC_EINVAL);
	mc_maildir_close(&md);
	CHECK_EQ_INT(mc_maildir_open(&md, NULL), MC_EINVAL);
	mc_maildir_close(&md);
	snprintf(path, sizeof path, "%s/file", root);
	f = fopen(path, "w");
	if (f)
		fclose(f);
	CHECK_EQ_INT(mc_maildir_open(&md, path), MC_EIO); /* a file, not a directory */
	CHECK(mc_maildir_errmsg(&md)[0] != '\0');
	mc_maildir_close(&md);
	CHECK_EQ_INT(mc_maildir_begin(&md), MC_EINVAL); /* closed handle */
}

int main(void)
{
	char cmd[600];
	const char *t = getenv("TMPDIR");

	snprintf(root, sizeof root, "%s/mc-maildir-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	test_errors();
	test_deliver();
	test_large();
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", root);
	MC_TEST_END();
}
