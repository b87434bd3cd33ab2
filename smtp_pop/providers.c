/* providers.c: the one table of well-known providers' SMTP and POP3 servers
 * (see mimecodec/providers.h). Add providers here only. */
#include <string.h>
#include <strings.h>

#include "mimecodec/pop3.h"
#include "mimecodec/providers.h"
#include "mimecodec/smtp.h"

#define STARTTLS MC_SMTP_STARTTLS
#define SMTPS    MC_SMTP_IMPLICIT
#define POP3S    MC_POP3_IMPLICIT

/* clang-format off */
static const struct mc_provider table[] = {
    {"gmail.com",      "smtp.gmail.com",        "587", STARTTLS, "pop.gmail.com",         "995", POP3S},
    {"googlemail.com", "smtp.gmail.com",        "587", STARTTLS, "pop.gmail.com",         "995", POP3S},
    {"outlook.com",    "smtp-mail.outlook.com", "587", STARTTLS, "outlook.office365.com", "995", POP3S},
    {"hotmail.com",    "smtp-mail.outlook.com", "587", STARTTLS, "outlook.office365.com", "995", POP3S},
    {"live.com",       "smtp-mail.outlook.com", "587", STARTTLS, "outlook.office365.com", "995", POP3S},
    {"msn.com",        "smtp-mail.outlook.com", "587", STARTTLS, "outlook.office365.com", "995", POP3S},
    {"office365.com",  "smtp.office365.com",    "587", STARTTLS, "outlook.office365.com", "995", POP3S},
    {"yahoo.com",      "smtp.mail.yahoo.com",   "465", SMTPS,    "pop.mail.yahoo.com",    "995", POP3S},
    {"ymail.com",      "smtp.mail.yahoo.com",   "465", SMTPS,    "pop.mail.yahoo.com",    "995", POP3S},
    {"163.com",        "smtp.163.com",          "465", SMTPS,    "pop.163.com",           "995", POP3S},
    {"126.com",        "smtp.126.com",          "465", SMTPS,    "pop.126.com",           "995", POP3S},
    {"qq.com",         "smtp.qq.com",           "465", SMTPS,    "pop.qq.com",            "995", POP3S},
    {"foxmail.com",    "smtp.qq.com",           "465", SMTPS,    "pop.qq.com",            "995", POP3S},
};
/* clang-format on */

const struct mc_provider *mc_provider_find(const char *a)
{
	const char *at;

	if (!a)
		return NULL;
	at = strrchr(a, '@');
	if (at)
		a = at + 1;
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (strcasecmp(a, table[i].domain) == 0)
			return &table[i];
	return NULL;
}

const struct mc_provider *mc_provider_table(size_t *n)
{
	*n = sizeof table / sizeof table[0];
	return table;
}
