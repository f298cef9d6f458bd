/*
 * mbox_date.c - a message's INTERNALDATE in an mbox: the date on its
 * From_ line, "From sender Www Mmm dd hh:mm:ss yyyy" (asctime(3) form,
 * the time zone unstated; MTAs write local time, Dovecot reads it as
 * UTC and so do we), optionally with a zone or year variant some
 * writers use ("... hh:mm yyyy", "... hh:mm:ss ZZZ yyyy").  Unparsable:
 * the mbox file's mtime, as Dovecot falls back.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mbox_priv.h"

static int
month_of(const char *s)
{
	static const char m[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	for (int i = 0; i < 12; i++)
		if (strncmp(s, m + 3 * i, 3) == 0)
			return i;
	return -1;
}

/* Digits at *p (1 to max of them); -1 if none. */
static int
num(const char **p, const char *end, int max)
{
	int v = 0, k = 0;

	while (*p < end && k < max && isdigit((unsigned char)**p)) {
		v = v * 10 + (**p - '0');
		(*p)++, k++;
	}
	return k > 0 ? v : -1;
}

/* "Mmm dd hh:mm[:ss] [ZONE ]yyyy" at p. */
static time_t
parse_at(const char *p, const char *end)
{
	struct tm tm = { 0 };
	int mon, sec = 0;

	if (end - p < 16 || (mon = month_of(p)) < 0 || p[3] != ' ')
		return -1;
	p += 4;
	while (p < end && *p == ' ')
		p++;
	tm.tm_mday = num(&p, end, 2);
	if (p >= end || *p++ != ' ' || (tm.tm_hour = num(&p, end, 2)) < 0 ||
	    p >= end || *p++ != ':' || (tm.tm_min = num(&p, end, 2)) < 0)
		return -1;
	if (p < end && *p == ':') {
		p++;
		if ((sec = num(&p, end, 2)) < 0)
			return -1;
	}
	while (p < end && *p == ' ')
		p++;
	while (p < end && isalpha((unsigned char)*p))	/* a zone name */
		p++;
	while (p < end && *p == ' ')
		p++;
	if ((tm.tm_year = num(&p, end, 4)) < 1970 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon = mon;
	tm.tm_sec = sec;
	return timegm(&tm);
}

time_t
mb_from_date(const char *line, size_t n)
{
	static const char *const days[] = { "Mon ", "Tue ", "Wed ", "Thu ",
	    "Fri ", "Sat ", "Sun " };
	const char *end = line + n;

	if (n < 24)
		return -1;	/* shorter than "From  Www Mmm d hh:mm yyyy" */
	/* The sender may contain spaces: find a day name followed by a
	 * date that parses, from the right. */
	for (const char *p = end - 4; p > line; p--) {
		time_t t;

		if (p[-1] != ' ')
			continue;
		for (int d = 0; d < 7; d++)
			if (memcmp(p, days[d], 4) == 0 &&
			    (t = parse_at(p + 4, end)) >= 0)
				return t;
	}
	return -1;
}

time_t
mb_internal_date(struct store *st, unsigned i)
{
	struct mbox *mb = (struct mbox *)st;
	struct store_msg *m = &st->msgs[i];
	char line[MB_FROMLINE_MAX];
	uint64_t len = m->u.mb.hdr - m->u.mb.from;
	struct stat sb;
	ssize_t r = -1;
	time_t t = -1;

	if (len > sizeof(line))
		len = sizeof(line);
	if (mb->fd >= 0 && !(m->state & SM_GONE))
		r = pread(mb->fd, line, (size_t)len, (off_t)m->u.mb.from);
	if (r > 5 && memcmp(line, "From ", 5) == 0) {
		while (r > 0 && (line[r - 1] == '\n' || line[r - 1] == '\r'))
			r--;
		t = mb_from_date(line, (size_t)r);
	}
	if (t < 0 && mb->fd >= 0 && fstat(mb->fd, &sb) == 0)
		t = sb.st_mtime;
	m->internal = t;
	return t;
}
