/* test_providers.c: the provider table (mimecodec/providers.h) that gives
 * SMTP and POP3 servers when --server is omitted: every documented domain,
 * case, addresses vs bare domains, unknown domains, and the POP3 wrapper. */
#include <string.h>

#include "mimecodec/pop3.h"
#include "mimecodec/providers.h"
#include "mimecodec/smtp.h"
#include "test.h"

static void smtp_is(const char *a, const char *host, const char *port, int tls)
{
	const struct mc_provider *p = mc_provider_find(a);

	CHECK(p != NULL);
	if (p) {
		CHECK_EQ_MEM(p->smtp_host, strlen(p->smtp_host), host, strlen(host));
		CHECK_EQ_STR(p->smtp_port, port);
		CHECK_EQ_INT(p->smtp_tls, tls);
		CHECK_EQ_STR(p->pop3_port, "995");
		CHECK_EQ_INT(p->pop3_tls, MC_POP3_IMPLICIT);
	}
	MC_TEST_CTX("%s\n", a);
}

int main(void)
{
	size_t n = 0;
	const struct mc_provider *t = mc_provider_table(&n);

	smtp_is("someone@gmail.com", "smtp.gmail.com", "587", MC_SMTP_STARTTLS);
	smtp_is("GMAIL.COM", "smtp.gmail.com", "587", MC_SMTP_STARTTLS);
	smtp_is("a@outlook.com", "smtp-mail.outlook.com", "587", MC_SMTP_STARTTLS);
	smtp_is("a@Hotmail.com", "smtp-mail.outlook.com", "587", MC_SMTP_STARTTLS);
	smtp_is("a@live.com", "smtp-mail.outlook.com", "587", MC_SMTP_STARTTLS);
	smtp_is("a@office365.com", "smtp.office365.com", "587", MC_SMTP_STARTTLS);
	smtp_is("a@yahoo.com", "smtp.mail.yahoo.com", "465", MC_SMTP_IMPLICIT);
	smtp_is("a@163.com", "smtp.163.com", "465", MC_SMTP_IMPLICIT);
	smtp_is("a@126.com", "smtp.126.com", "465", MC_SMTP_IMPLICIT);
	smtp_is("a@qq.com", "smtp.qq.com", "465", MC_SMTP_IMPLICIT);
	/* the last '@' decides; "x@gmail.com@evil.test" is evil.test */
	CHECK(mc_provider_find("x@gmail.com@evil.test") == NULL);
	CHECK(mc_provider_find("a@example.test") == NULL);
	CHECK(mc_provider_find("gmail.com.evil.test") == NULL);
	CHECK(mc_provider_find("mail.gmail.com") == NULL);
	CHECK(mc_provider_find("") == NULL);
	CHECK(mc_provider_find("a@") == NULL);
	CHECK(mc_provider_find(NULL) == NULL);
	/* POP3 reads the same table */
	CHECK_EQ_STR(mc_pop3_provider_host("x@Gmail.com"), "pop.gmail.com");
	CHECK_EQ_STR(mc_pop3_provider_host("hotmail.com"), "outlook.office365.com");
	CHECK_EQ_STR(mc_pop3_provider_host("x@qq.com"), "pop.qq.com");
	CHECK(mc_pop3_provider_host("x@example.test") == NULL);
	/* every entry is complete, lower case, and listed once */
	CHECK(n >= 10);
	for (size_t i = 0; i < n; i++) {
		CHECK(t[i].domain && t[i].smtp_host && t[i].smtp_port && t[i].pop3_host &&
		      t[i].pop3_port);
		CHECK(mc_provider_find(t[i].domain) == &t[i]);
		for (const char *c = t[i].domain; *c; c++)
			CHECK(!(*c >= 'A' && *c <= 'Z'));
		CHECK(strcmp(t[i].smtp_port, "587") == 0 ? t[i].smtp_tls == MC_SMTP_STARTTLS
		                                         : t[i].smtp_tls == MC_SMTP_IMPLICIT);
		MC_TEST_CTX("entry %zu\n", i);
	}
	MC_TEST_END();
}
