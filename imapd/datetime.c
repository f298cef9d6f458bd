/*
 * datetime.c - IMAP dates (RFC 3501 9 date, date-time): SEARCH's
 * BEFORE/ON/SINCE dates, APPEND's date-time, INTERNALDATE.
 *
 * Parsing never consults the time zone database: the calendar
 * arithmetic is done here, so a date means the same in every process.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "parse.h"

static const char months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int y, int m)
{
	static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	return m == 1 && leap(y) ? 29 : d[m];
}

/* Days from 1970-01-01 to y-m-d (m 0-based), proleptic Gregorian. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;
	int mp = m >= 2 ? m - 2 : m + 10;

	y -= m < 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * mp + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* n decimal digits at s[*i]; -1 if they are not there. */
static int
digits(const char *s, size_t len, size_t *i, int n)
{
	int v = 0;

	for (int k = 0; k < n; k++, (*i)++) {
		if (*i >= len || s[*i] < '0' || s[*i] > '9')
			return -1;
		v = v * 10 + (s[*i] - '0');
	}
	return v;
}

static int
expect(const char *s, size_t len, size_t *i, char c)
{
	if (*i >= len || s[*i] != c)
		return -1;
	(*i)++;
	return 0;
}

/*
 * date-day "-" date-month "-" date-year at s[*i]; fixed: date-day-fixed
 * (SP DIGIT / 2DIGIT), else 1*2DIGIT.  One digit is taken in both forms:
 * clients send "1-Jan-2020" to APPEND too.
 */
static int
date_text(const char *s, size_t len, size_t *i, int fixed, int64_t *days)
{
	int d, m, y;

	if (fixed && *i < len && s[*i] == ' ')
		(*i)++;
	if ((d = digits(s, len, i, 1)) < 0)
		return -1;
	if (*i < len && s[*i] >= '0' && s[*i] <= '9')
		d = d * 10 + (s[(*i)++] - '0');
	if (expect(s, len, i, '-') < 0 || *i + 3 > len)
		return -1;
	for (m = 0; m < 12; m++)
		if (strncasecmp(s + *i, months[m], 3) == 0)
			break;
	*i += 3;
	if (m == 12 || expect(s, len, i, '-') < 0 ||
	    (y = digits(s, len, i, 4)) < 0)
		return -1;
	if (y < 1 || d < 1 || d > month_days(y, m))
		return -1;
	*days = days_from_civil(y, m, d);
	return 0;
}

/* Strip one pair of surrounding double quotes. */
static void
unquote(const char **s, size_t *len)
{
	if (*len >= 2 && (*s)[0] == '"' && (*s)[*len - 1] == '"') {
		(*s)++;
		*len -= 2;
	}
}

int
imap_parse_date(const char *s, size_t len, time_t *t)
{
	size_t i = 0;
	int64_t days;

	unquote(&s, &len);
	if (date_text(s, len, &i, 0, &days) < 0 || i != len)
		return -1;
	*t = (time_t)(days * 86400);
	return 0;
}

int
imap_parse_datetime(const char *s, size_t len, time_t *t)
{
	size_t i = 0;
	int64_t days;
	int hh, mm, ss, zh, zm, sign;

	unquote(&s, &len);
	if (date_text(s, len, &i, 1, &days) < 0 ||
	    expect(s, len, &i, ' ') < 0 ||
	    (hh = digits(s, len, &i, 2)) < 0 || expect(s, len, &i, ':') < 0 ||
	    (mm = digits(s, len, &i, 2)) < 0 || expect(s, len, &i, ':') < 0 ||
	    (ss = digits(s, len, &i, 2)) < 0 || expect(s, len, &i, ' ') < 0 ||
	    i >= len || (s[i] != '+' && s[i] != '-'))
		return -1;
	sign = s[i++] == '-' ? -1 : 1;
	if ((zh = digits(s, len, &i, 2)) < 0 ||
	    (zm = digits(s, len, &i, 2)) < 0 || i != len)
		return -1;
	/* ss 60: a leap second (RFC 5322 3.3) */
	if (hh > 23 || mm > 59 || ss > 60 || zm > 59)
		return -1;
	*t = (time_t)(days * 86400 + hh * 3600 + mm * 60 + ss -
	    sign * (zh * 3600 + zm * 60));
	return 0;
}

void
imap_format_datetime(time_t t, char *out, size_t outlen)
{
	struct tm tm;
	long off, a;

	if (localtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 1) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	off = tm.tm_gmtoff / 60;
	a = off < 0 ? -off : off;
	snprintf(out, outlen, "%02d-%s-%04d %02d:%02d:%02d %c%02ld%02ld",
	    tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+', a / 60 % 100, a % 60);
}
