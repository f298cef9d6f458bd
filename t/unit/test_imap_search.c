/*
 * test_imap_search.c - the SEARCH program (imapd/search*.c) without a
 * session: every key of RFC 3501 6.4.4 against crafted messages in
 * memory (encoded words, folded headers, base64 and quoted-printable
 * bodies, ISO-8859-1 parts, multipart, an enclosed message, no Date:),
 * OR/NOT nesting, "*" and "$", CHARSET, RETURN options, syntax errors
 * and the limits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "search.h"
#include "tap.h"
#include "util.h"

static const char m1[] =
    "Return-Path: <alice@example.org>\n"
    "From: \"Alice Example\" <alice@example.org>\n"
    "To: bob@example.com\n"
    "Cc: Carol <carol@example.net>\n"
    "Bcc: dave@example.invalid\n"
    "Subject: Hello World\n"
    "Date: Mon, 2 Jan 2006 23:04:05 -0700\n"
    "\n"
    "The quick brown fox jumps over the lazy dog.\n";

static const char m2[] =
    "From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.de>\r\n"
    "To: =?UTF-8?B?w4lsb8Ovc2U=?= <eloise@example.fr>\r\n"
    "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?=\r\n"
    "X-Long: part one\r\n"
    " part two\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    /* "Ünïcödé body text with SECRETWORD\n" */
    "w5xuw69jw7Zkw6kgYm9keSB0ZXh0IHdpdGggU0VDUkVUV09SRAo=\r\n";

static const char m3[] =
    "From: Zed <zed@example.com>\n"
    "Subject: multipart\n"
    "Date: 2 Jan 06 10:00 GMT\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\n"
    "\n"
    "preamble prelude\n"
    "--XX\n"
    "Content-Type: text/plain; charset=ISO-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Caf=E9 cr=E8me, =C9COLE soft=\n"
    "break\n"
    "--XX\n"
    "Content-Type: application/octet-stream\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "aGlkZGVud29yZA==\n"		/* "hiddenword" */
    "--XX\n"
    "Content-Type: text/html; charset=iso-8859-15\n"
    "\n"
    "<p>price 5\xa4</p>\n"
    "--XX--\n";

static const char m4[] =
    "From: outer@example.com\n"
    "Subject: forward\n"
    "Date: Tue, 31 Dec 2019 12:00:00 +1400\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=b\n"
    "\n"
    "--b\n"
    "Content-Type: text/plain\n"
    "\n"
    "see attached\n"
    "--b\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: inner@example.com\n"
    "Subject: Inner subject\n"
    "\n"
    "nested body text\n"
    "--b--\n";

#define NMSG 5
static struct search_msg msgs[NMSG];
static char *m5;	/* a long base64 body, built at start */
static kwset_t kwjunk = 1u << 1;
static struct kwtable kwt = { { "Work", "$Junk" }, 2 };
static uint32_t saved[] = { 20, 40 };

/* A body whose decoded text puts "needle in haystack" across the
 * evaluator's 16 KiB chunk border, base64-encoded. */
static void
build_m5(void)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t tlen = 39999, pos = 16384 - 7, o = 0;
	char *text = xmalloc(tlen);
	const char *needle = "needle in haystack";

	for (size_t i = 0; i < tlen; i++)
		text[i] = (i % 61 == 60) ? '\n' : 'x';
	memcpy(text + pos, needle, strlen(needle));
	m5 = xmalloc(tlen * 2 + 512);
	o = (size_t)sprintf(m5, "Subject: long\nContent-Transfer-Encoding: "
	    "base64\n\n");
	for (size_t i = 0; i < tlen; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)text[i] << 16 |
		    (uint32_t)(unsigned char)text[i + 1] << 8 |
		    (unsigned char)text[i + 2];

		m5[o++] = b64[v >> 18 & 63];
		m5[o++] = b64[v >> 12 & 63];
		m5[o++] = b64[v >> 6 & 63];
		m5[o++] = b64[v & 63];
		if (i % 57 == 54)
			m5[o++] = '\n';
	}
	m5[o] = 0;
	free(text);
}

static time_t
utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
		.tm_hour = h, .tm_min = mi };

	return timegm(&tm);
}

static void
setup(void)
{
	const char *data[NMSG] = { m1, m2, m3, m4, NULL };

	build_m5();
	data[4] = m5;
	for (int i = 0; i < NMSG; i++) {
		msgs[i].data = data[i];
		msgs[i].len = strlen(data[i]);
		msgs[i].seq = (uint32_t)i + 1;
		msgs[i].uid = (uint32_t)(i + 1) * 10;
		msgs[i].internal = utc(2006, 1, 3 + i, 12, 0);
	}
	msgs[0].flags = MF_SEEN;
	msgs[1].flags = MF_FLAGGED | MF_ANSWERED;
	msgs[1].recent = 1;
	msgs[2].flags = MF_DELETED | MF_DRAFT | MF_SEEN;
	msgs[2].kw = kwjunk;
	msgs[2].recent = 1;
	msgs[3].kw = 1;
	msgs[4].internal = -1;
}

/* Parse "args" as a SEARCH command's arguments. */
static enum search_status
parse(const char *args, struct search_prog **p, unsigned *ret, int *es,
    char *err, size_t errlen)
{
	struct imap_parser *ip = imap_parser_new(IMAP_MAX_CMD);
	char line[8192];
	enum search_status st;

	snprintf(line, sizeof(line), "t SEARCH %s", args);
	if (imap_parser_feed_line(ip, line, strlen(line)) != IMAP_PARSE_DONE) {
		snprintf(err, errlen, "parser: %s", imap_parser_error(ip));
		imap_parser_free(ip);
		*p = NULL;
		return SEARCH_BAD;
	}
	st = search_parse(imap_parser_args(ip), p, ret, es, err, errlen);
	imap_parser_free(ip);
	return st;
}

static void
bind(struct search_prog *p)
{
	struct search_view v = { .count = NMSG, .maxuid = NMSG * 10,
		.kw = &kwt, .saved = saved, .nsaved = 2 };

	search_bind(p, &v);
}

/* The sequence numbers that match, as "1 3", or "BAD: why". */
static char *
run(const char *args)
{
	static char out[512];
	struct search_prog *p;
	unsigned ret;
	int es;
	char err[128];
	size_t o = 0;

	if (parse(args, &p, &ret, &es, err, sizeof(err)) != SEARCH_OK) {
		snprintf(out, sizeof(out), "ERR: %s", err);
		return out;
	}
	bind(p);
	out[0] = 0;
	for (int i = 0; i < NMSG; i++)
		if (search_match_msg(p, &msgs[i]) == 1)
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%d",
			    o ? " " : "", i + 1);
	search_prog_free(p);
	return out;
}

static void
is(const char *args, const char *want)
{
	tap_is_str(run(args), want, args);
}

static void
status_is(const char *args, enum search_status want, const char *name)
{
	struct search_prog *p = NULL;
	unsigned ret;
	int es;
	char err[128];
	enum search_status st = parse(args, &p, &ret, &es, err, sizeof(err));

	tap_is_int(st, want, name);
	if (st != SEARCH_OK)
		tap_ok(err[0] != 0, "%s: says why (%s)", name, err);
	search_prog_free(p);
}

static void
flags_keys(void)
{
	is("ALL", "1 2 3 4 5");
	is("ANSWERED", "2");
	is("UNANSWERED", "1 3 4 5");
	is("DELETED", "3");
	is("UNDELETED", "1 2 4 5");
	is("DRAFT", "3");
	is("UNDRAFT", "1 2 4 5");
	is("FLAGGED", "2");
	is("UNFLAGGED", "1 3 4 5");
	is("SEEN", "1 3");
	is("UNSEEN", "2 4 5");
	is("RECENT", "2 3");
	is("NEW", "2");
	is("OLD", "1 4 5");
	is("KEYWORD $Junk", "3");
	is("keyword $junk", "3");
	is("UNKEYWORD $Junk", "1 2 4 5");
	is("KEYWORD Work", "4");
	is("KEYWORD Missing", "");
	is("UNKEYWORD Missing", "1 2 3 4 5");
}

static void
size_date_keys(void)
{
	char q[64];
	/* m1 is LF-only: its wire size counts a CR per line */
	size_t w1 = strlen(m1) + 9;

	snprintf(q, sizeof(q), "LARGER %zu", w1 - 1);
	tap_ok(strstr(run(q), "1") == run(q), "LARGER size-1 has message 1");
	snprintf(q, sizeof(q), "LARGER %zu UID 10", w1);
	is(q, "");
	snprintf(q, sizeof(q), "SMALLER %zu UID 10", w1 + 1);
	is(q, "1");
	snprintf(q, sizeof(q), "SMALLER %zu UID 10", w1);
	is(q, "");
	is("SMALLER 1", "");
	/* internal dates: 3..6 Jan 2006 at noon UTC, message 5 unknown */
	is("BEFORE 4-Jan-2006", "1");
	is("ON 4-Jan-2006", "2");
	is("ON \"4-Jan-2006\"", "2");
	is("SINCE 4-Jan-2006", "2 3 4");
	is("since 5-JAN-2006", "3 4");
	is("BEFORE 1-Jan-1990", "");
	/* Date: fields, time and zone disregarded: m1 says 2 Jan 2006
	 * 23:04 -0700 (3 Jan in UTC), m3 "2 Jan 06", m4 31 Dec 2019
	 * +1400, m2 and m5 have none */
	is("SENTON 2-Jan-2006", "1 3");
	is("SENTBEFORE 2-Jan-2006", "");
	is("SENTBEFORE 3-Jan-2006", "1 3");
	is("SENTSINCE 3-Jan-2006", "4");
	is("SENTON 31-Dec-2019", "4");
	is("NOT SENTON 2-Jan-2006", "2 4 5");
}

static void
header_keys(void)
{
	is("FROM alice", "1");
	is("FROM \"ALICE EXAMPLE\"", "1");
	is("FROM example.org", "1");
	is("FROM \"J\xc3\xb6rg\"", "2");
	is("FROM \"J\xc3\x96RG M\xc3\x9cLLER\"", "2");
	is("FROM joerg@example.de", "2");
	is("TO bob", "1");
	is("TO \"\xc3\xa9lo\xc3\xafse\"", "2");
	is("CC carol", "1");
	is("CC nobody", "");
	is("BCC dave", "1");
	is("SUBJECT hello", "1");
	is("SUBJECT \"gr\xc3\xbc\xc3\x9f" "e aus M\xc3\x9cNCHEN\"", "2");
	is("SUBJECT \"\"", "1 2 3 4 5");
	is("SUBJECT \"Inner\"", "");
	is("HEADER X-Long \"one part two\"", "2");
	is("HEADER x-long \"\"", "2");
	is("HEADER Return-Path alice", "1");
	is("HEADER Content-Type multipart", "3 4");
	is("HEADER X-None \"\"", "");
	is("HEADER From \"\"", "1 2 3 4");
}

static void
body_keys(void)
{
	is("BODY \"lazy DOG\"", "1");
	is("BODY hello", "");
	is("BODY secretword", "2");
	is("BODY \"\xc3\xbcn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9\"", "2");
	is("BODY \"caf\xc3\xa9 cr\xc3\xa8me\"", "3");
	is("BODY \"\xc3\xa9" "cole\"", "3");
	is("BODY softbreak", "3");
	is("BODY \"5\xe2\x82\xac\"", "3");
	is("BODY hiddenword", "");
	is("BODY prelude", "");
	is("BODY \"nested body\"", "4");
	is("BODY \"inner subject\"", "4");
	is("BODY \"needle in haystack\"", "5");
	is("BODY \"needle in haystacks\"", "");
	is("BODY \"\"", "1 2 3 4 5");
	is("TEXT \"hello world\"", "1");
	is("TEXT lazy", "1");
	is("TEXT alice", "1");
	is("TEXT \"M\xc3\xbcnchen\"", "2");
	is("TEXT haystack", "5");
	is("TEXT nowhere", "");
	is("NOT TEXT nowhere", "1 2 3 4 5");
}

static void
set_keys(void)
{
	is("1", "1");
	is("2:3", "2 3");
	is("3:2", "2 3");
	is("*", "5");
	is("4:*", "4 5");
	is("1,3,5", "1 3 5");
	is("7", "");
	is("UID 10", "1");
	is("UID 15:35", "2 3");
	is("UID *", "5");
	is("UID 45:*", "5");
	is("$", "2 4");
	is("UID $", "2 4");
	is("NOT $", "1 3 5");
}

static void
logic(void)
{
	is("SEEN FLAGGED", "");
	is("OR SEEN FLAGGED", "1 2 3");
	is("NOT SEEN", "2 4 5");
	is("NOT NOT SEEN", "1 3");
	is("(SEEN)", "1 3");
	is("(SEEN DELETED)", "3");
	is("OR (SEEN DELETED) FLAGGED", "2 3");
	is("OR SEEN OR FLAGGED KEYWORD Work", "1 2 3 4");
	is("NOT (OR SEEN FLAGGED)", "4 5");
	is("OR NOT SEEN BODY lazy", "1 2 4 5");
	is("((((UID 10:30))) NOT (UID 20))", "1 3");
	is("OR BODY lazy SUBJECT forward", "1 4");
	is("NOT OR BODY nothing SUBJECT nothing", "1 2 3 4 5");
	is("SEEN BODY lazy", "1");
	is("UNSEEN BODY lazy", "");
}

static void
strings(void)
{
	struct imap_parser *ip = imap_parser_new(IMAP_MAX_CMD);
	const char *l1 = "t SEARCH CHARSET ISO-8859-1 BODY {4}";
	struct search_prog *p;
	unsigned ret;
	int es;
	char err[128];

	/* a literal in ISO-8859-1: "Café" is 4 bytes */
	tap_is_int(imap_parser_feed_line(ip, l1, strlen(l1)),
	    IMAP_PARSE_LITERAL, "literal announced");
	imap_parser_feed_literal(ip, "caf\xe9", 4);
	tap_is_int(imap_parser_feed_line(ip, "", 0), IMAP_PARSE_DONE,
	    "literal command parsed");
	tap_is_int(search_parse(imap_parser_args(ip), &p, &ret, &es, err,
	    sizeof(err)), SEARCH_OK, "CHARSET ISO-8859-1 accepted");
	bind(p);
	tap_ok(search_match_msg(p, &msgs[2]) == 1 &&
	    search_match_msg(p, &msgs[0]) == 0,
	    "ISO-8859-1 literal converted to UTF-8 and matched");
	search_prog_free(p);
	imap_parser_free(ip);

	is("CHARSET UTF-8 BODY \"CAF\xc3\x89\"", "3");
	is("CHARSET us-ascii SUBJECT hello", "1");
	is("CHARSET \"UTF-8\" SUBJECT hello", "1");
	status_is("CHARSET X-NO-SUCH BODY x", SEARCH_BADCHARSET,
	    "unknown charset: BADCHARSET");
	status_is("CHARSET utf-7//TRANSLIT BODY x", SEARCH_BADCHARSET,
	    "charset name with // refused");
	tap_ok(strstr(run("CHARSET KOI8-XYZ ALL"), "[BADCHARSET (US-ASCII "
	    "UTF-8)]") != NULL, "BADCHARSET lists the charsets (7.1)");
}

static void
returns(void)
{
	struct search_prog *p;
	unsigned ret;
	int es;
	char err[128];

	tap_is_int(parse("RETURN () ALL", &p, &ret, &es, err, sizeof(err)),
	    SEARCH_OK, "RETURN () parses");
	tap_ok(es && ret == SEARCH_RET_ALL, "RETURN () is RETURN (ALL)");
	search_prog_free(p);
	parse("RETURN (min MAX count ALL save) CHARSET UTF-8 1:*", &p, &ret,
	    &es, err, sizeof(err));
	tap_is_int(ret, SEARCH_RET_MIN | SEARCH_RET_MAX | SEARCH_RET_COUNT |
	    SEARCH_RET_ALL | SEARCH_RET_SAVE, "every option, any case");
	search_prog_free(p);
	parse("ALL", &p, &ret, &es, err, sizeof(err));
	tap_ok(!es && ret == 0, "no RETURN: plain SEARCH");
	search_prog_free(p);
	tap_is_int(parse("RETURN (SAVE) CHARSET BOGUS-9 ALL", &p, &ret, &es,
	    err, sizeof(err)), SEARCH_BADCHARSET, "SAVE with a bad charset");
	tap_ok(ret == SEARCH_RET_SAVE && p == NULL,
	    "the failed SEARCH still reports SAVE");
	status_is("RETURN (FOO) ALL", SEARCH_BAD, "unknown RETURN option");
	status_is("RETURN ALL", SEARCH_BAD, "RETURN without a list");
	status_is("RETURN (ALL)", SEARCH_BAD, "RETURN without keys");
}

static void
syntax(void)
{
	status_is("", SEARCH_BAD, "no key");
	status_is("FOO", SEARCH_BAD, "unknown key");
	status_is("SUBJECT", SEARCH_BAD, "missing string");
	status_is("HEADER Subject", SEARCH_BAD, "HEADER without string");
	status_is("HEADER \"\" x", SEARCH_OK, "HEADER with an empty name");
	is("HEADER \"\" \"\"", "");
	is("HEADER Subject: \"\"", "");
	status_is("BEFORE 32-Jan-2006", SEARCH_BAD, "bad date");
	status_is("BEFORE 1-Foo-2006", SEARCH_BAD, "bad month");
	status_is("ON {10}", SEARCH_BAD, "literal announcement is no date");
	status_is("LARGER abc", SEARCH_BAD, "LARGER needs a number");
	status_is("SMALLER -1", SEARCH_BAD, "no negative sizes");
	status_is("LARGER 99999999999", SEARCH_BAD, "number over 32 bits");
	status_is("KEYWORD \\Seen", SEARCH_BAD, "system flag is no keyword");
	status_is("KEYWORD (a)", SEARCH_BAD, "keyword is an atom");
	status_is("UID abc", SEARCH_BAD, "UID needs a set");
	status_is("UID 0", SEARCH_BAD, "0 is no UID");
	status_is("1:0", SEARCH_BAD, "0 in a set");
	status_is("1,,2", SEARCH_BAD, "bad set");
	status_is("$x", SEARCH_BAD, "$ with more");
	status_is("()", SEARCH_BAD, "empty parentheses");
	status_is("NOT", SEARCH_BAD, "NOT without key");
	status_is("OR SEEN", SEARCH_BAD, "OR with one key");
	status_is("SUBJECT a*", SEARCH_BAD, "* is no ASTRING-CHAR");
	status_is("CHARSET", SEARCH_BAD, "CHARSET without name");
	status_is("ALL CHARSET UTF-8", SEARCH_BAD, "CHARSET only first");
	status_is("SUBJECT NIL", SEARCH_OK, "NIL as an astring atom");
	status_is("KEYWORD NIL", SEARCH_OK, "NIL as a keyword atom");
}

static void
limits(void)
{
	char *q = xmalloc(200000);
	size_t o = 0;

	for (int i = 0; i < SEARCH_MAX_DEPTH + 2; i++)
		o += (size_t)sprintf(q + o, "NOT ");
	sprintf(q + o, "ALL");
	status_is(q, SEARCH_LIMIT, "NOT nested too deep: LIMIT");
	o = 0;
	for (int i = 0; i < SEARCH_MAX_DEPTH - 1; i++)
		o += (size_t)sprintf(q + o, "NOT ");
	sprintf(q + o, "ALL");
	is(q, "");
	o = 0;
	for (int i = 0; i < SEARCH_MAX_KEYS + 1; i++)
		o += (size_t)sprintf(q + o, "%sSEEN", i ? " " : "");
	status_is(q, SEARCH_LIMIT, "too many keys: LIMIT");
	o = 0;
	for (int i = 0; i < SEARCH_MAX_KEYS - 1; i++)
		o += (size_t)sprintf(q + o, "%sSEEN", i ? " " : "");
	is(q, "1 3");
	o = 0;
	for (int i = 0; i < SEARCH_MAX_TEXT + 1; i++)
		o += (size_t)sprintf(q + o, "%sBODY x", i ? " " : "");
	status_is(q, SEARCH_LIMIT, "too many BODY keys: LIMIT");
	free(q);
}

static void
helpers(void)
{
	int64_t d;
	unsigned char out[64], carry = 0;
	const char *up = "\xc3\x89T\xc3\x89 \xce\xa3\xce\xa9 \xd0\x96 \xc5\x81";
	size_t n;
	struct seqset set;
	time_t t;

	/* the parser's pieces search_parse builds on (and a strong
	 * reference that links them in) */
	tap_ok(seqset_parse("1:3", 3, &set) == 0, "seqset_parse works");
	seqset_free(&set);
	tap_ok(imap_parse_date("1-Feb-1994", 10, &t) == 0 && t == 760060800,
	    "imap_parse_date works");
	tap_ok(search_sent_day("Thu, 1 Jan 1970 00:00:00 +0000", 30, &d) ==
	    0 && d == 0, "Date: epoch");
	tap_ok(search_sent_day("29 Feb 2000 12:00 -0500", 23, &d) == 0 &&
	    d == 11016, "Date: no weekday, leap day");
	tap_ok(search_sent_day("1 Jan 99 1:00", 13, &d) == 0 && d == 10592,
	    "Date: two-digit year is 1999");
	tap_ok(search_sent_day("Mon 2 January 2006 10:00", 24, &d) == 0 &&
	    d == 13150, "Date: no comma, month spelt out");
	tap_ok(search_sent_day("  Fri, 01 Feb 1994 (comment)", 28, &d) ==
	    0 && d == 8797, "Date: leading space, two-digit day");
	tap_ok(search_sent_day("garbage", 7, &d) == -1, "Date: garbage");
	tap_ok(search_sent_day("Mon, 32 Jan 2000", 16, &d) == -1,
	    "Date: day 32");
	tap_ok(search_sent_day("", 0, &d) == -1, "Date: empty");
	n = search_fold((const unsigned char *)up, strlen(up), out, &carry);
	n += search_fold_end(out + n, &carry);
	tap_is_mem(out, n, "\xc3\xa9t\xc3\xa9 \xcf\x83\xcf\x89 \xd0\xb6 \xc5\x82",
	    strlen(up), "fold: Latin-1, Greek, Cyrillic, Latin Extended-A");
	/* one byte at a time: the lead byte is carried */
	n = 0;
	for (size_t i = 0; i < strlen(up); i++)
		n += search_fold((const unsigned char *)up + i, 1, out + n,
		    &carry);
	n += search_fold_end(out + n, &carry);
	tap_is_mem(out, n, "\xc3\xa9t\xc3\xa9 \xcf\x83\xcf\x89 \xd0\xb6 \xc5\x82",
	    strlen(up), "fold: fed a byte at a time");
	n = search_fold((const unsigned char *)"\xc3", 1, out, &carry);
	n += search_fold_end(out + n, &carry);
	tap_is_mem(out, n, "\xc3", 1, "fold: a cut sequence is kept");
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	setup();
	flags_keys();
	size_date_keys();
	header_keys();
	body_keys();
	set_keys();
	logic();
	strings();
	returns();
	syntax();
	limits();
	helpers();
	free(m5);
	return tap_done();
}
