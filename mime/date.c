/* date.c: the Date field (RFC 5322 section 3.3, obsolete forms of section
 * 4.3: two- and three-digit years, alphabetic zones, CFWS anywhere) to a
 * UTC time and a zone offset. Also accepted as mailers write them: missing
 * seconds, missing zone (UTC), full month and day names, "-" between day,
 * month and year, a trailing "(PST)" comment. */
#include <stdint.h>
#include <string.h>

#include "mime_internal.h"

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's method). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static size_t skip(const char *s, size_t n, size_t i)
{
	for (;;) {
		i = mc__skip_cfws(s, n, i);
		if (i < n && (s[i] == ',' || s[i] == '-') &&
		    !(i + 1 < n && is_digit(s[i + 1]) && s[i] == '-'))
			i++;
		else
			return i;
	}
}

static size_t number(const char *s, size_t n, size_t i, int maxd, long *v, int *nd)
{
	*v = 0;
	*nd = 0;
	while (i < n && is_digit((unsigned char)s[i]) && *nd < maxd) {
		*v = *v * 10 + (s[i] - '0');
		(*nd)++;
		i++;
	}
	return i;
}

mc_status mc_mime_date(struct mc_span v, int64_t *t, int *zone_minutes)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	const char *s = v.p;
	size_t n = v.n, i;
	long day, year, hh, mm, ss = 0;
	int nd, mon = -1, zone = 0;

	if (!s || !t || !zone_minutes)
		return MC_EINVAL;
	i = skip(s, n, 0);
	/* optional day name */
	if (i < n && is_alpha((unsigned char)s[i])) {
		while (i < n && is_alpha((unsigned char)s[i]))
			i++;
		i = skip(s, n, i);
	}
	i = number(s, n, i, 2, &day, &nd);
	if (!nd || day < 1 || day > 31)
		return MC_EINVAL;
	i = skip(s, n, i);
	if (n - i < 3 || !is_alpha((unsigned char)s[i]))
		return MC_EINVAL;
	for (int k = 0; k < 12; k++)
		if (mc__lower((unsigned char)s[i]) == months[3 * k] &&
		    mc__lower((unsigned char)s[i + 1]) == months[3 * k + 1] &&
		    mc__lower((unsigned char)s[i + 2]) == months[3 * k + 2])
			mon = k + 1;
	if (mon < 0)
		return MC_EINVAL;
	while (i < n && is_alpha((unsigned char)s[i]))
		i++;
	i = skip(s, n, i);
	i = number(s, n, i, 4, &year, &nd);
	if (nd < 2)
		return MC_EINVAL;
	if (nd == 2)
		year += year < 50 ? 2000 : 1900; /* RFC 5322 section 4.3 */
	else if (nd == 3)
		year += 1900;
	i = skip(s, n, i);
	i = number(s, n, i, 2, &hh, &nd);
	i = mc__skip_cfws(s, n, i); /* obs-time: CFWS around the colons */
	if (!nd || i >= n || s[i] != ':')
		return MC_EINVAL;
	i = number(s, n, mc__skip_cfws(s, n, i + 1), 2, &mm, &nd);
	if (!nd)
		return MC_EINVAL;
	{
		size_t j = mc__skip_cfws(s, n, i);

		if (j < n && s[j] == ':') {
			i = number(s, n, mc__skip_cfws(s, n, j + 1), 2, &ss, &nd);
			if (!nd)
				return MC_EINVAL;
		}
	}
	if (hh > 23 || mm > 59 || ss > 60)
		return MC_EINVAL;
	i = mc__skip_cfws(s, n, i);
	if (i < n && (s[i] == '+' || s[i] == '-')) {
		int sign = s[i] == '-' ? -1 : 1;
		long z;

		i = number(s, n, i + 1, 4, &z, &nd);
		if (nd == 4 && z % 100 < 60 && z / 100 < 24) /* else: -0000 */
			zone = sign * (int)(z / 100 * 60 + z % 100);
	} else if (i < n && is_alpha((unsigned char)s[i])) {
		static const struct {
			const char *name;
			int off;
		} zones[] = {{"ut", 0},        {"utc", 0},       {"gmt", 0},
		             {"z", 0},         {"est", -5 * 60}, {"edt", -4 * 60},
		             {"cst", -6 * 60}, {"cdt", -5 * 60}, {"mst", -7 * 60},
		             {"mdt", -6 * 60}, {"pst", -8 * 60}, {"pdt", -7 * 60}};
		size_t j = i;

		while (j < n && is_alpha((unsigned char)s[j]))
			j++;
		/* Unknown names and military letters mean -0000 (section 4.3). */
		for (size_t k = 0; k < sizeof zones / sizeof zones[0]; k++)
			if (mc__mime_ieq(s + i, j - i, zones[k].name))
				zone = zones[k].off;
	}
	*t = days_from_civil(year, mon, (int)day) * 86400 + hh * 3600 + mm * 60 + ss -
	     (int64_t)zone * 60;
	*zone_minutes = zone;
	return MC_OK;
}
