/*
 * test_imap_seqset.c - sequence sets (RFC 3501 9 sequence-set, RFC 5182
 * "$") and IMAP dates (RFC 3501 9 date, date-time) from parse.h: what
 * parses, what does not, "*" and reversed ranges, merging, membership,
 * the canonical form, and INTERNALDATE in the local time zone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parse.h"
#include "tap.h"
#include "util.h"

static const char *
fmt(const struct seqset *set)
{
	static char buf[256];

	seqset_format(set, buf, sizeof(buf));
	return buf;
}

/* s parses; its ranges as written, then resolved with star. */
static void
good(const char *s, const char *parsed, uint32_t star, const char *resolved)
{
	struct seqset set;
	char name[128];

	snprintf(name, sizeof(name), "seqset: \"%s\" parses", s);
	if (seqset_parse(s, strlen(s), &set) < 0) {
		tap_ok(0, "%s", name);
		return;
	}
	tap_is_str(fmt(&set), parsed, name);
	seqset_resolve(&set, star);
	snprintf(name, sizeof(name), "seqset: \"%s\" with * = %u", s, star);
	tap_is_str(fmt(&set), resolved, name);
	seqset_free(&set);
}

static void
invalid(const char *s, size_t len)
{
	struct seqset set;

	tap_ok(seqset_parse(s, len, &set) < 0 && set.r == NULL && set.n == 0,
	    "seqset: \"%.*s\" is invalid", (int)len, s);
}

#define INVALID(s) invalid(s, sizeof(s) - 1)

static void
test_parse(void)
{
	good("1", "1", 5, "1");
	good("2:4", "2:4", 5, "2:4");
	good("4:2", "2:4", 5, "2:4");
	good("*", "*", 5, "5");
	good("5:*", "5:*", 9, "5:9");
	good("*:5", "5:*", 9, "5:9");
	/* RFC 3501 6.4.8: "n:*" with n past the end still means the last */
	good("12:*", "12:*", 9, "9:12");
	good("1,3:5,7", "1,3:5,7", 9, "1,3:5,7");
	good("7,1,3", "7,1,3", 9, "1,3,7");
	good("1:3,2:6,8,9,10:12", "1:3,2:6,8,9,10:12", 20, "1:6,8:12");
	good("3,2,1", "3,2,1", 20, "1:3");
	good("5,5,5", "5,5,5", 20, "5");
	good("1:*,*", "1:*,*", 0, "0:1");
	good("4294967294", "4294967294", 1, "4294967294");
	/* 4294967295 is a valid nz-number, not "*" */
	good("4294967295", "4294967294", 1, "4294967294");
	good("1:4294967295", "1:4294967294", 7, "1:4294967294");
	good("4294967294,1:*", "4294967294,1:*", 4294967293u, "1:4294967294");
	good("$", "$", 5, "$");
	INVALID("");
	INVALID("0");
	INVALID("0:5");
	INVALID("5:0");
	INVALID("01");
	INVALID("4294967296");
	INVALID("99999999999999999999999");
	INVALID("1:4294967296");
	INVALID(",");
	INVALID("1,");
	INVALID(",1");
	INVALID("1,,2");
	INVALID("1:");
	INVALID(":1");
	INVALID("1:2:3");
	INVALID("1::2");
	INVALID("**");
	INVALID("*1");
	INVALID("$,1");
	INVALID("1,$");
	INVALID("$$");
	INVALID("$1");
	INVALID("1 2");
	INVALID("-1");
	INVALID("+1");
	INVALID("1.5");
	INVALID("a");
	INVALID("1\0");
	INVALID("1:2\0,3");
}

static void
test_limit(void)
{
	size_t n = SEQSET_MAX_RANGES;
	char *s = xmalloc(2 * n + 2);
	struct seqset set;

	for (size_t i = 0; i < n; i++) {
		s[2 * i] = '1';
		s[2 * i + 1] = ',';
	}
	tap_is_int(seqset_parse(s, 2 * n - 1, &set), 0,
	    "seqset: SEQSET_MAX_RANGES ranges are fine");
	tap_is_int(set.n, n, "  all kept");
	seqset_resolve(&set, 1);
	tap_is_int(set.n, 1, "  merged into one");
	seqset_free(&set);
	s[2 * n] = '1';
	tap_is_int(seqset_parse(s, 2 * n + 1, &set), -1,
	    "seqset: SEQSET_MAX_RANGES + 1 ranges are not");
	free(s);
}

static void
test_contains(void)
{
	struct seqset set;
	static const uint32_t in[] = { 1, 3, 7, 8, 9, 20, 4294967294u };
	static const uint32_t out[] = { 0, 2, 4, 6, 10, 19, 21, 4294967293u,
	    4294967295u };
	int all = 1;

	seqset_parse("9:7,1,20,3,4294967294", 21, &set);
	seqset_resolve(&set, 100);
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		all &= seqset_contains(&set, in[i]);
	tap_ok(all, "seqset: contains its members");
	all = 1;
	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++)
		all &= !seqset_contains(&set, out[i]);
	tap_ok(all, "seqset: and nothing else");
	seqset_free(&set);
	seqset_parse("$", 1, &set);
	seqset_resolve(&set, 5);
	tap_ok(!seqset_contains(&set, 1) && set.dollar,
	    "seqset: \"$\" holds no ranges itself");
	seqset_free(&set);
	seqset_parse("*", 1, &set);
	seqset_resolve(&set, 0);
	tap_ok(!seqset_contains(&set, 1) && set.n == 1 && set.r[0].lo == 0,
	    "seqset: \"*\" in an empty mailbox is 0 (invalid as a number)");
	seqset_free(&set);
}

static void
test_format(void)
{
	struct seqset set;
	char small[5];

	seqset_parse("1:3,5,10:20", 11, &set);
	tap_is_int(seqset_format(&set, small, sizeof(small)), 11,
	    "seqset: format returns the length needed");
	tap_is_str(small, "1:3,", "  and truncates with a NUL");
	tap_is_int(seqset_format(&set, NULL, 0), 11,
	    "  writes nothing for outlen 0");
	tap_is_int(seqset_format(&set, small, 1), 11, "  or 1");
	tap_is_str(small, "", "  then an empty string");
	seqset_free(&set);
	memset(&set, 0, sizeof(set));
	tap_is_int(seqset_format(&set, small, sizeof(small)), 0,
	    "seqset: an empty set is \"\"");
	tap_is_str(small, "", "  written");
}

static void
date_ok(const char *s, long long want)
{
	time_t t = 0;

	tap_ok(imap_parse_date(s, strlen(s), &t) == 0 && t == want,
	    "date: \"%s\" is %lld (got %lld)", s, want, (long long)t);
}

static void
date_bad(const char *s)
{
	time_t t;

	tap_ok(imap_parse_date(s, strlen(s), &t) < 0,
	    "date: \"%s\" is invalid", s);
}

static void
datetime_ok(const char *s, long long want)
{
	time_t t = 0;

	tap_ok(imap_parse_datetime(s, strlen(s), &t) == 0 && t == want,
	    "date-time: \"%s\" is %lld (got %lld)", s, want, (long long)t);
}

static void
datetime_bad(const char *s)
{
	time_t t;

	tap_ok(imap_parse_datetime(s, strlen(s), &t) < 0,
	    "date-time: \"%s\" is invalid", s);
}

static void
test_dates(void)
{
	date_ok("1-Feb-1994", 760060800);
	date_ok("01-Feb-1994", 760060800);
	date_ok("\"1-Feb-1994\"", 760060800);
	date_ok("1-FEB-1994", 760060800);
	date_ok("1-feb-1994", 760060800);
	date_ok("29-Feb-2020", 1582934400);
	date_ok("29-Feb-2000", 951782400);
	date_ok("31-Dec-1969", -86400);
	date_ok("1-Jan-0001", -62135596800LL);
	date_ok("31-Dec-9999", 253402214400LL);
	date_bad("");
	date_bad("29-Feb-2021");
	date_bad("29-Feb-1900");
	date_bad("31-Apr-2020");
	date_bad("32-Jan-2020");
	date_bad("0-Jan-2020");
	date_bad("001-Jan-2020");
	date_bad("1-Foo-2020");
	date_bad("1-Janu-2020");
	date_bad("1-Jan-20");
	date_bad("1-Jan-20201");
	date_bad("1-Jan-0000");
	date_bad(" 1-Jan-2020");
	date_bad("1 Jan 2020");
	date_bad("1-Jan-2020x");
	date_bad("\"1-Jan-2020");
	date_bad("1-Jan-2020\"");
	date_bad("2020-01-01");
	date_bad("1-Jan-2020 00:00:00 +0000");

	datetime_ok("17-Jul-1996 02:44:25 -0700", 837596665);
	datetime_ok("\"17-Jul-1996 02:44:25 -0700\"", 837596665);
	datetime_ok("17-Jul-1996 09:44:25 +0000", 837596665);
	datetime_ok("17-Jul-1996 15:14:25 +0530", 837596665);
	datetime_ok(" 7-Jul-1996 02:44:25 +0000", 836707465);
	datetime_ok("07-Jul-1996 02:44:25 +0000", 836707465);
	datetime_ok("7-Jul-1996 02:44:25 +0000", 836707465);
	datetime_ok("31-Dec-1998 23:59:60 +0000", 915148800);
	datetime_bad("17-Jul-1996 24:00:00 +0000");
	datetime_bad("17-Jul-1996 02:60:00 +0000");
	datetime_bad("17-Jul-1996 02:44:61 +0000");
	datetime_bad("17-Jul-1996 02:44:25 0700");
	datetime_bad("17-Jul-1996 02:44:25 +070");
	datetime_bad("17-Jul-1996 02:44:25 +07000");
	datetime_bad("17-Jul-1996 02:44:25 +0760");
	datetime_bad("17-Jul-1996 02:44:25");
	datetime_bad("17-Jul-1996 02:44:25 ");
	datetime_bad("17-Jul-1996 2:44:25 +0000");
	datetime_bad("17-Jul-1996  02:44:25 +0000");
	datetime_bad("17-Jul-1996T02:44:25 +0000");
	datetime_bad("17-Jul-1996 02:44:25 +0000x");
	datetime_bad("  7-Jul-1996 02:44:25 +0000");
	datetime_bad("30-Feb-1996 02:44:25 +0000");
	datetime_bad("17-Jul-1996");
}

static void
format_in(const char *tz, time_t t, const char *want)
{
	char out[27];
	time_t back;

	setenv("TZ", tz, 1);
	tzset();
	memset(out, 'x', sizeof(out));
	imap_format_datetime(t, out, sizeof(out));
	tap_is_str(out, want, "INTERNALDATE in the local zone");
	tap_ok(imap_parse_datetime(out, strlen(out), &back) == 0 && back == t,
	    "  reads back as the same time (TZ=%s)", tz);
}

static void
test_format_datetime(void)
{
	format_in("UTC0", 837596665, "17-Jul-1996 09:44:25 +0000");
	format_in("XST8XDT,M3.2.0,M11.1.0", 837596665,
	    "17-Jul-1996 02:44:25 -0700");
	format_in("XST8XDT,M3.2.0,M11.1.0", 820454400,
	    "31-Dec-1995 16:00:00 -0800");
	format_in("IST-5:30", 837596665, "17-Jul-1996 15:14:25 +0530");
	format_in("UTC0", 836707465, "07-Jul-1996 02:44:25 +0000");
	format_in("UTC0", 0, "01-Jan-1970 00:00:00 +0000");
}

int
main(void)
{
	test_parse();
	test_limit();
	test_contains();
	test_format();
	test_dates();
	test_format_datetime();
	return tap_done();
}
