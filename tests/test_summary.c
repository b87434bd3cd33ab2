/* test_summary.c: mc_summary_build on messages of the shared corpus
 * (tests/data/corpus, see tests/data/SOURCES.md): ISO-2022-JP and EUC-KR
 * subjects and bodies, RFC 2231 file names in ISO-8859-1 and UTF-8 (with
 * continuations), RFC 2047 names, nested multiparts (mixed > alternative,
 * mixed > related > alternative), an attached message, HTML-only and
 * text-less messages, truncation on a character boundary; expected values
 * checked against Python's email package. Plus in-memory cases: CR LF
 * becomes LF, an unknown charset, invalid UTF-8, a cap of 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mimecodec/mime.h"
#include "mimecodec/summary.h"
#include "test.h"

static char corpus[4096];

static void locate(void)
{
	const char *slash = strrchr(__FILE__, '/');
	size_t n = slash ? (size_t)(slash - __FILE__) : 0;

	if (n + 20 >= sizeof corpus)
		n = 0;
	memcpy(corpus, __FILE__, n);
	memcpy(corpus + n, n ? "/data/corpus" : "data/corpus", n ? 13 : 12);
}

struct loaded {
	char *buf;
	struct mc_mime_message *m;
	struct mc_summary s;
	int ok;
};

static void load_mem(struct loaded *l, const char *data, size_t n, size_t cap)
{
	memset(l, 0, sizeof *l);
	l->buf = malloc(n ? n : 1);
	if (!CHECK(l->buf != NULL))
		return;
	memcpy(l->buf, data, n);
	if (!CHECK(mc_mime_parse(l->buf, n, NULL, NULL, &l->m) == MC_OK))
		return;
	l->ok = mc_summary_build(l->m, cap, &l->s) == MC_OK;
	CHECK(l->ok);
}

static void load(struct loaded *l, const char *rel, size_t cap)
{
	char path[4300];
	FILE *f;
	long n;
	char *data;

	memset(l, 0, sizeof *l);
	snprintf(path, sizeof path, "%s/%s", corpus, rel);
	f = fopen(path, "rb");
	if (!CHECK(f != NULL)) {
		fprintf(stderr, "    cannot open %s\n", path);
		return;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc(n > 0 ? (size_t)n : 1);
	if (CHECK(data != NULL) && CHECK(fread(data, 1, (size_t)n, f) == (size_t)n))
		load_mem(l, data, (size_t)n, cap);
	free(data);
	fclose(f);
}

static void unload(struct loaded *l)
{
	mc_summary_free(&l->s);
	mc_mime_free(l->m);
	free(l->buf);
}

#define CHECK_NULL(x) CHECK((x) == NULL)

static void check_att(const struct mc_summary *s, size_t k, const char *name, const char *ctype,
                      unsigned long long size)
{
	if (!CHECK(k < s->nattachments))
		return;
	if (name)
		CHECK_EQ_STR(s->attachments[k].filename, name);
	else
		CHECK_NULL(s->attachments[k].filename);
	CHECK_EQ_STR(s->attachments[k].content_type, ctype);
	CHECK_EQ_SIZE(s->attachments[k].size, size);
}

static const char JA_TEXT[] = "Let's see if both subject and body works fine...\n\n"
                              "日本語が\n正常に\n送れているか\nテスト.\n";

/* ISO-2022-JP in the subject (two encoded words) and the body. */
static void test_japanese(void)
{
	struct loaded l;

	load(&l, "mimekit/messages/japanese.txt", 1 << 20);
	if (l.ok) {
		CHECK_EQ_STR(l.s.from_addr, "x@x.com");
		CHECK_EQ_STR(l.s.from_name, "Atsushi Eno");
		CHECK_EQ_STR(l.s.subject, "日本語メールテスト (testing Japanese emails)");
		CHECK_EQ_STR(l.s.date, "Wed, 22 Jul 2015 01:02:29 +0900");
		CHECK_EQ_INT(l.s.has_date_utc, 1);
		CHECK_EQ_INT(l.s.date_utc, 1437494549);
		CHECK_EQ_INT(l.s.date_zone, 540);
		CHECK_EQ_STR(l.s.message_id, "55AE6D15.4010805@veritas-vos-liberabit.com");
		CHECK_EQ_STR(l.s.text, JA_TEXT);
		CHECK_EQ_SIZE(l.s.text_len, sizeof JA_TEXT - 1);
		CHECK_EQ_INT(l.s.text_truncated, 0);
		CHECK_EQ_INT(l.s.text_is_html, 0);
		CHECK_EQ_INT(l.s.text_part, 0);
		CHECK_EQ_SIZE(l.s.nattachments, 0);
	}
	unload(&l);

	/* 60 bytes: "...\n\n" is 50, then three 3-byte characters fit (59), the
	 * fourth would end at 62: never half a character. */
	load(&l, "mimekit/messages/japanese.txt", 60);
	if (l.ok) {
		CHECK_EQ_STR(l.s.text,
		             "Let's see if both subject and body works fine...\n\n日本語");
		CHECK_EQ_SIZE(l.s.text_len, 59);
		CHECK_EQ_INT(l.s.text_truncated, 1);
	}
	unload(&l);

	/* exactly the body's length: not truncated; one less: truncated */
	load(&l, "mimekit/messages/japanese.txt", sizeof JA_TEXT - 1);
	if (l.ok) {
		CHECK_EQ_STR(l.s.text, JA_TEXT);
		CHECK_EQ_INT(l.s.text_truncated, 0);
	}
	unload(&l);
	load(&l, "mimekit/messages/japanese.txt", sizeof JA_TEXT - 2);
	if (l.ok) {
		CHECK_EQ_SIZE(l.s.text_len, sizeof JA_TEXT - 2);
		CHECK_EQ_INT(l.s.text_truncated, 1);
	}
	unload(&l);
}

/* EUC-KR body, UTF-8 encoded words in the subject. */
static void test_korean(void)
{
	struct loaded l;

	load(&l, "ruby-mail/emails/plain_emails/raw_email.eml", 4096);
	if (l.ok) {
		CHECK_EQ_STR(l.s.from_addr, "jamis@37signals.com");
		CHECK_EQ_STR(l.s.from_name, "Jamis Buck");
		CHECK_EQ_STR(l.s.subject, "NOTE: 한국말로 하는 것");
		CHECK_EQ_STR(l.s.message_id, "d3b8cf8e49f04480850c28713a1f473e@37signals.com");
		CHECK_EQ_INT(l.s.date_utc, 1115071625);
		CHECK_EQ_INT(l.s.date_zone, -360);
		CHECK_EQ_STR(l.s.text, "대부분의 마찬가지로, 우리는 하나님을 믿습니다.\n\n"
		                       "제 이름은 Jamis입니다.");
		CHECK_EQ_SIZE(l.s.nattachments, 0);
	}
	unload(&l);
}

/* RFC 2231 name in ISO-8859-1 (and an RFC 2047 one in name=, which loses):
 * a text/plain part that is an attachment, not the body. No From, Subject. */
static void test_rfc2231_latin1(void)
{
	struct loaded l;

	load(&l, "mime4j/mimetools-testmsgs/attachment-filename-encoding-Latin1.msg", 4096);
	if (l.ok) {
		CHECK_NULL(l.s.from_addr);
		CHECK_NULL(l.s.from_name);
		CHECK_NULL(l.s.subject);
		CHECK_NULL(l.s.date);
		CHECK_NULL(l.s.message_id);
		CHECK_EQ_INT(l.s.has_date_utc, 0);
		CHECK_EQ_STR(l.s.text, "Attachment Test\n");
		CHECK_EQ_INT(l.s.text_part, 1);
		CHECK_EQ_SIZE(l.s.nattachments, 1);
		check_att(&l.s, 0, "attachment.äöü", "text/plain", 5);
	}
	unload(&l);
}

/* No text part at all: the only text/plain has an RFC 2231 UTF-8 name with
 * continuations, so it is an attachment. */
static void test_no_text(void)
{
	struct loaded l;

	load(&l, "ruby-mail/emails/multi_charset/japanese_attachment_long_name.eml", 4096);
	if (l.ok) {
		CHECK_EQ_STR(l.s.from_addr, "mikel@test.lindsaar.net");
		CHECK_EQ_STR(l.s.subject, "まみむめもまみむめもまみむめもまみむめもまみむめも"
		                          "まみむめもまみむめもまみむめもまみむめもまみむめも");
		CHECK_EQ_STR(l.s.message_id,
		             "60A112A8-F26C-4E23-95B8-4EB9F139D6A0@test.lindsaar.net");
		CHECK_NULL(l.s.text);
		CHECK_EQ_SIZE(l.s.text_len, 0);
		CHECK_EQ_INT(l.s.text_part, UINT32_MAX);
		CHECK_EQ_SIZE(l.s.nattachments, 1);
		check_att(&l.s, 0, "かきくけこかきくけこかきくけこかきくけこかきくけこ.txt",
		          "text/plain", 18);
	}
	unload(&l);
}

/* mixed > alternative (plain, html) + image with an RFC 2047 Cyrillic name:
 * the HTML alternative is not an attachment. The name was cut inside a
 * character by the sender: U+FFFD, as Python gives. */
static void test_nested_alternative(void)
{
	struct loaded l;

	load(&l, "flanker/messages/russian-attachment-yahoo.eml", 4096);
	if (l.ok) {
		CHECK_EQ_STR(l.s.from_addr, "mailboxaddr1234567@yahoo.com");
		CHECK_EQ_STR(l.s.from_name, "Bob");
		CHECK_EQ_STR(l.s.subject, "Hello");
		CHECK_EQ_STR(l.s.text, "Hello");
		CHECK_EQ_INT(l.s.text_part, 2);
		CHECK_EQ_INT(l.s.text_is_html, 0);
		CHECK_EQ_SIZE(l.s.nattachments, 1);
		check_att(&l.s, 0,
		          "Картинка с очень, очень длинным предлинным именем преименем таким "
		          "чт\xef\xbf\xbd",
		          "image/png", 178213);
		CHECK_EQ_INT(l.s.attachments[0].part, 4);
	}
	unload(&l);
	MC_TEST_CTX("russian-attachment-yahoo.eml\n");
}

/* mixed > related > alternative > html only, an inline image, an attached
 * message (one attachment; its own parts are not listed). */
static void test_html_and_message(void)
{
	struct loaded l;

	load(&l, "ruby-mail/emails/attachment_emails/attachment_message_rfc822_inline_image.eml",
	     4096);
	if (l.ok) {
		CHECK_EQ_STR(l.s.from_addr, "test@example.com");
		CHECK_NULL(l.s.from_name);
		CHECK_EQ_STR(l.s.subject, "test");
		CHECK_EQ_STR(l.s.date, "Tue, 21 Apr 2020 15:40:22 +0200 (CEST)");
		CHECK_EQ_INT(l.s.text_is_html, 1);
		CHECK_EQ_STR(l.s.text, "<html><body><img "
		                       "src=\"cid:emedfeb92f-a786-4718-a446-98db8afb53fb@kronos\" "
		                       "/></body></html>\n");
		CHECK_EQ_SIZE(l.s.nattachments, 2);
		check_att(&l.s, 0, "img.png", "image/png", 370);
		check_att(&l.s, 1, "Testmail.eml", "message/rfc822", 1851);
	}
	unload(&l);

	load(&l, "jsmime/data/multipart2", 4096);
	if (l.ok) {
		CHECK_EQ_INT(l.s.text_is_html, 1);
		CHECK_EQ_STR(l.s.text,
		             "<html><body>Multipart HTML message with just a single part!\n"
		             "</body></html>\n");
		CHECK_EQ_SIZE(l.s.nattachments, 0);
	}
	unload(&l);
}

/* In memory: CR LF to LF (a lone CR stays), quoted-printable, an encoded
 * display name in quotes, a group before the mailbox. */
static void test_memory(void)
{
	static const char m1[] = "From: Team: \"=?utf-8?q?J=C3=BCrgen?= M.\" <j@example.org>;\r\n"
	                         "Subject: =?iso-8859-1?q?caf=E9?= ok\r\n"
	                         "Message-ID: <a@b>\r\n"
	                         "Content-Type: text/plain; charset=iso-8859-1\r\n"
	                         "Content-Transfer-Encoding: quoted-printable\r\n"
	                         "\r\n"
	                         "line=E9 1\r\nline 2\rx\r\n";
	static const char m2[] = "Subject: x\n"
	                         "Content-Type: text/plain; charset=x-no-such-charset\n"
	                         "\n"
	                         "ok \xff\xfe end\n";
	static const char m3[] = "Content-Type: application/pdf\n\n%PDF\n";
	struct loaded l;

	load_mem(&l, m1, sizeof m1 - 1, 4096);
	if (l.ok) {
		CHECK_EQ_STR(l.s.from_addr, "j@example.org");
		CHECK_EQ_STR(l.s.from_name, "Jürgen M.");
		CHECK_EQ_STR(l.s.subject, "café ok");
		CHECK_EQ_STR(l.s.message_id, "a@b");
		CHECK_EQ_STR(l.s.text, "line\xc3\xa9 1\nline 2\rx\n");
		CHECK_EQ_MEM(l.s.text, l.s.text_len, "line\xc3\xa9 1\nline 2\rx\n", 18);
	}
	unload(&l);

	load_mem(&l, m2, sizeof m2 - 1, 4096);
	if (l.ok)
		CHECK_EQ_STR(l.s.text, "ok \xef\xbf\xbd\xef\xbf\xbd end\n");
	unload(&l);

	load_mem(&l, m2, sizeof m2 - 1, 0);
	if (l.ok) {
		CHECK_EQ_STR(l.s.text, "");
		CHECK_EQ_INT(l.s.text_truncated, 1);
	}
	unload(&l);

	/* a message that is one PDF: no text, one unnamed attachment */
	load_mem(&l, m3, sizeof m3 - 1, 4096);
	if (l.ok) {
		CHECK_NULL(l.s.text);
		CHECK_EQ_SIZE(l.s.nattachments, 1);
		check_att(&l.s, 0, NULL, "application/pdf", 5);
	}
	unload(&l);

	CHECK(mc_summary_build(NULL, 1, &l.s) == MC_EINVAL);
}

int main(void)
{
	locate();
	test_japanese();
	test_korean();
	test_rfc2231_latin1();
	test_no_text();
	test_nested_alternative();
	test_html_and_message();
	test_memory();
	MC_TEST_END();
}
