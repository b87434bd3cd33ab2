/* mimecodec/providers.h: the submission (SMTP) and POP3 servers of the
 * well-known mail providers, in one table (smtp_pop/providers.c), used when
 * the caller gives an address but no server.
 *
 * | domains                                   | SMTP                           | POP3                          |
 * |-------------------------------------------|--------------------------------|-------------------------------|
 * | gmail.com, googlemail.com                 | smtp.gmail.com 587 STARTTLS    | pop.gmail.com 995 TLS         |
 * | outlook.com, hotmail.com, live.com, msn.com | smtp-mail.outlook.com 587 STARTTLS | outlook.office365.com 995 TLS |
 * | office365.com                             | smtp.office365.com 587 STARTTLS | outlook.office365.com 995 TLS |
 * | yahoo.com, ymail.com                      | smtp.mail.yahoo.com 465 TLS    | pop.mail.yahoo.com 995 TLS    |
 * | 163.com, 126.com                          | smtp.<domain> 465 TLS          | pop.<domain> 995 TLS          |
 * | qq.com, foxmail.com                       | smtp.qq.com 465 TLS            | pop.qq.com 995 TLS            |
 *
 * Domains compare ignoring ASCII case. There is no global mutable state. */
#ifndef MIMECODEC_PROVIDERS_H
#define MIMECODEC_PROVIDERS_H

#include <stddef.h>
#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

struct mc_provider {
	const char *domain;    /* "gmail.com" */
	const char *smtp_host; /* submission server */
	const char *smtp_port; /* "587" or "465" */
	int smtp_tls;          /* enum mc_smtp_tls_mode: MC_SMTP_STARTTLS or MC_SMTP_IMPLICIT */
	const char *pop3_host; /* POP3 server */
	const char *pop3_port; /* "995" */
	int pop3_tls;          /* enum mc_pop3_tls_mode: MC_POP3_IMPLICIT */
};

/* The entry for an address ("someone@Gmail.com": the part after the last
 * '@') or a bare domain ("gmail.com"), or NULL when the domain is not in
 * the table (or addr_or_domain is NULL). Static storage. */
MC_API const struct mc_provider *mc_provider_find(const char *addr_or_domain);

/* The whole table (for documentation and tests): *n receives its length. */
MC_API const struct mc_provider *mc_provider_table(size_t *n);

#ifdef __cplusplus
}
#endif
#endif
