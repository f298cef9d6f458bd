/*
 * test_flags.c - flags and keywords in both storage formats: keyword
 * names (keywords.h), the postern-keywords / dovecot-keywords table,
 * Maildir ":2," names (mdflags.h) and mbox Status / X-Status /
 * X-Keywords / X-IMAPbase fields (mboxflags.h).  Every letter and field
 * both ways, ASCII order and kept unknown letters, holes and garbage in
 * the table file, the 26-keyword cap, NUL and 8-bit bytes everywhere,
 * and round trips over pseudo-random inputs (fixed seed).
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keywords.h"
#include "mboxflags.h"
#include "mdflags.h"
#include "tap.h"

#define S(lit) lit, sizeof(lit) - 1	/* counted literal, NULs included */

/* An exactly-sized heap copy, so that under ASan a read past n is
 * reported instead of landing on the literal's NUL. */
static char *
exact(const char *p, size_t n)
{
	char *c = malloc(n ? n : 1);

	if (c == NULL)
		abort();
	memcpy(c, p, n);
	return c;
}

static uint32_t seed = 12345;

static uint32_t
rnd(uint32_t n)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 8) % n;
}

/* ---- keyword names ---- */

static void
test_keyword_valid(void)
{
	static const struct {
		const char *s;
		size_t n;
		int ok;
		const char *what;
	} cases[] = {
		{ S("$Forwarded"), 1, "dollar keyword" },
		{ S("Junk"), 1, "plain word" },
		{ S("a,b"), 1, "comma is an ATOM-CHAR" },
		{ S("x"), 1, "one byte" },
		{ S(""), 0, "empty" },
		{ S("\\Seen"), 0, "leading backslash" },
		{ S("a b"), 0, "space" },
		{ S("a(b"), 0, "open paren" },
		{ S("a)b"), 0, "close paren" },
		{ S("a{b"), 0, "brace" },
		{ S("a%b"), 0, "percent" },
		{ S("a*b"), 0, "star" },
		{ S("a\"b"), 0, "double quote" },
		{ S("a\\b"), 0, "inner backslash" },
		{ S("a]b"), 0, "close bracket" },
		{ S("a\tb"), 0, "tab (CTL)" },
		{ S("a\x7f"), 0, "DEL (CTL)" },
		{ S("a\x01"), 0, "C0 control" },
		{ S("a\0b"), 0, "NUL" },
		{ S("caf\xc3\xa9"), 0, "8-bit (UTF-8)" },
		{ S("\xff"), 0, "8-bit byte" },
	};
	char name[80], big[KW_NAME_MAX + 2];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *c = exact(cases[i].s, cases[i].n);

		snprintf(name, sizeof(name), "keyword_valid: %s %s",
		    cases[i].what, cases[i].ok ? "accepted" : "refused");
		tap_is_int(keyword_valid(c, cases[i].n), cases[i].ok, name);
		free(c);
	}
	memset(big, 'k', sizeof(big));
	tap_ok(keyword_valid(big, KW_NAME_MAX),
	    "keyword_valid: KW_NAME_MAX bytes accepted");
	tap_ok(!keyword_valid(big, KW_NAME_MAX + 1),
	    "keyword_valid: KW_NAME_MAX + 1 bytes refused");
}

/* ---- the keyword table ---- */

static void
test_kwtable_add_find(void)
{
	struct kwtable t = { 0 };
	char name[16];
	int ok = 1;

	tap_is_int(kwtable_add(&t, "$Junk"), 0, "kwtable_add: first is 0");
	tap_is_int(kwtable_add(&t, "Work"), 1, "kwtable_add: second is 1");
	tap_is_int(kwtable_add(&t, "work"), 1,
	    "kwtable_add: same name in other case gives the same index");
	tap_is_str(t.name[1], "Work", "kwtable_add: first spelling kept");
	tap_is_int(kwtable_find(&t, "$JUNK"), 0,
	    "kwtable_find: case-insensitive");
	tap_is_int(kwtable_find(&t, "Play"), -1, "kwtable_find: absent is -1");
	tap_is_int(kwtable_findn(&t, "Workshop", 4), 1,
	    "kwtable_findn: counted name");
	tap_is_int(kwtable_add(&t, "bad name"), -1,
	    "kwtable_add: invalid name refused");
	tap_is_int(kwtable_add(&t, "\\Seen"), -1,
	    "kwtable_add: system flag refused");
	for (int i = 2; i < KW_MAX; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		ok &= kwtable_add(&t, name) == i;
	}
	tap_ok(ok && t.n == KW_MAX, "kwtable_add: 26 keywords fit");
	tap_is_int(kwtable_add(&t, "k26"), -1,
	    "kwtable_add: 27th keyword refused");
	tap_is_int(kwtable_add(&t, "K25"), 25,
	    "kwtable_add: existing name still found when full");
	kwtable_free(&t);
	tap_ok(t.n == 0 && t.name[0] == NULL, "kwtable_free: empty again");
}

static void
test_kwtable_parse(void)
{
	static const char file[] =
	    "0 $Junk\n"
	    "3 Work\n"		/* holes at 1 and 2 */
	    "garbage line\n"
	    "\n"
	    "3 Again\n"		/* duplicate index */
	    "5 work\n"		/* duplicate name, other case */
	    "26 TooFar\n"	/* index >= KW_MAX */
	    "99999999999999999999 Big\n"
	    "-1 Neg\n"
	    "+4 Plus\n"
	    "4  Twospace\n"	/* name " Twospace" invalid */
	    "4\tTab\n"
	    "4 bad(name\n"
	    "4 nul\0byte\n"
	    "4 eight\xe9\n"
	    "4\n"
	    "4 \n"
	    "6 Crlf\r\n"
	    "07 Seven\n"
	    "25 Last";		/* no final LF */
	struct kwtable t = { 0 };
	struct buf b;
	char *c = exact(file, sizeof(file) - 1);
	int bad = kwtable_parse(c, sizeof(file) - 1, &t);

	tap_is_int(bad, 14, "kwtable_parse: 14 bad lines skipped");
	tap_is_int(t.n, 26, "kwtable_parse: n is highest index + 1");
	tap_is_str(t.name[0], "$Junk", "kwtable_parse: index 0");
	tap_ok(t.name[1] == NULL && t.name[2] == NULL && t.name[4] == NULL,
	    "kwtable_parse: holes stay holes");
	tap_is_str(t.name[3], "Work",
	    "kwtable_parse: first line for an index wins");
	tap_ok(t.name[5] == NULL,
	    "kwtable_parse: a name already present in other case skipped");
	tap_is_str(t.name[6], "Crlf", "kwtable_parse: CR before LF ignored");
	tap_is_str(t.name[7], "Seven", "kwtable_parse: leading zero");
	tap_is_str(t.name[25], "Last", "kwtable_parse: last line without LF");
	tap_is_int(kwtable_add(&t, "New"), -1,
	    "kwtable_add: holes are never reused (index 25 taken)");

	buf_init(&b, 4096);
	tap_ok(kwtable_format(&t, &b) == 0 && strcmp(b.data,
	    "0 $Junk\n3 Work\n6 Crlf\n7 Seven\n25 Last\n") == 0,
	    "kwtable_format: index order, holes left out");
	kwtable_free(&t);
	tap_is_int(kwtable_parse(b.data, b.len, &t), 0,
	    "kwtable_parse: our own output is clean");
	tap_ok(t.n == 26 && kwtable_find(&t, "work") == 3 &&
	    kwtable_find(&t, "last") == 25, "kwtable: format/parse round trip");
	buf_free(&b);

	buf_init(&b, 10);
	buf_adds(&b, "x");
	tap_ok(kwtable_format(&t, &b) == -1 && b.len == 1 &&
	    strcmp(b.data, "x") == 0,
	    "kwtable_format: full buf fails, left unchanged");
	buf_free(&b);
	kwtable_free(&t);
	free(c);

	/* Dovecot's own file, as maildir-keywords.c writes it */
	c = exact(S("0 $Forwarded\n1 $MDNSent\n2 NonJunk\n"));
	tap_ok(kwtable_parse(c, sizeof("0 $Forwarded\n1 $MDNSent\n2 NonJunk\n")
	    - 1, &t) == 0 && t.n == 3 &&
	    kwtable_find(&t, "nonjunk") == 2,
	    "kwtable_parse: a dovecot-keywords file");
	kwtable_free(&t);
	free(c);
	tap_ok(kwtable_parse("", 0, &t) == 0 && t.n == 0,
	    "kwtable_parse: empty file");
}

/* ---- Maildir ---- */

static void
md_case(const char *fn, int rc, unsigned flags, kwset_t kw,
    const char *other, const char *what)
{
	unsigned f;
	kwset_t k;
	char o[MD_OTHER_MAX], name[120];
	int r = md_info_parse(fn, &f, &k, o);

	snprintf(name, sizeof(name), "md_info_parse: %s", what);
	tap_ok(r == rc && f == flags && k == kw && strcmp(o, other) == 0,
	    "%s", name);
	if (r != rc || f != flags || k != kw || strcmp(o, other) != 0)
		tap_diag("rc %d flags %#x kw %#x other \"%s\"", r, f,
		    (unsigned)k, o);
}

static void
test_md_parse(void)
{
	char big[NAME_MAX + 8];

	md_case("u:2,D", 0, MF_DRAFT, 0, "", "D is \\Draft");
	md_case("u:2,F", 0, MF_FLAGGED, 0, "", "F is \\Flagged");
	md_case("u:2,R", 0, MF_ANSWERED, 0, "", "R is \\Answered");
	md_case("u:2,S", 0, MF_SEEN, 0, "", "S is \\Seen");
	md_case("u:2,T", 0, MF_DELETED, 0, "", "T is \\Deleted");
	md_case("u:2,a", 0, 0, 1, "", "a is keyword 0");
	md_case("u:2,z", 0, 0, 1u << 25, "", "z is keyword 25");
	md_case("u:2,DFRSTabcz", 0, MF_ALL, 0x2000007, "",
	    "all flags and keywords");
	md_case("u:2,P", 0, 0, 0, "P", "P (passed) kept as other");
	md_case("u:2,SSaa", 0, MF_SEEN, 1, "", "duplicates tolerated");
	md_case("u:2,ZP9S", 0, MF_SEEN, 0, "9PZ",
	    "unknown letters and digits kept, sorted");
	md_case("u:2,S\xe9", 0, MF_SEEN, 0, "\xe9", "8-bit byte kept");
	md_case("u:2,", 0, 0, 0, "", "empty info");
	md_case("u", 0, 0, 0, "", "no info at all");
	md_case("u,S=12,W=14:2,RS", 0, MF_SEEN | MF_ANSWERED, 0, "",
	    "size fields in the unique part");
	md_case("u:1,S", 1, 0, 0, "", "experimental :1, reports no flags");
	md_case("u:", 1, 0, 0, "", "bare colon");
	md_case("u:2", 1, 0, 0, "", ":2 without comma");
	md_case("u:3,S", 1, 0, 0, "", "unknown info version");
	md_case("u:2,S:T", 0, MF_SEEN | MF_DELETED, 0, ":",
	    "second colon is an other character");
	md_case("u:2,!\"#$%&'()*+,-./0123456789;<=>?@ABCEGHIJ", -1, 0, 0,
	    "!\"#$%&'()*+,-./0123456789;<=>?@",
	    "39 distinct others: -1, first 31 kept");
	memset(big, 'x', sizeof(big));
	memcpy(big + NAME_MAX - 4, ":2,S", 5);
	md_case(big, 0, MF_SEEN, 0, "", "NAME_MAX bytes accepted");
	memset(big, 'x', sizeof(big));
	memcpy(big + NAME_MAX - 3, ":2,S", 5);
	md_case(big, -1, 0, 0, "", "NAME_MAX + 1 bytes refused");

	tap_is_str(md_unique_end("abc:2,S"), ":2,S",
	    "md_unique_end: at the first colon");
	tap_is_str(md_unique_end("a:b:c"), ":b:c",
	    "md_unique_end: first of several colons");
	tap_ok(*md_unique_end("abc") == '\0',
	    "md_unique_end: no colon, the end");
}

static void
md_fmt(const char *unique, unsigned flags, kwset_t kw, const char *other,
    const char *want, const char *what)
{
	char out[NAME_MAX + 1], name[120];
	int r = md_info_format(unique, flags, kw, other, out, sizeof(out));

	snprintf(name, sizeof(name), "md_info_format: %s", what);
	if (want == NULL) {
		tap_ok(r == -1 && out[0] == '\0', "%s", name);
		return;
	}
	tap_ok(r == 0 && strcmp(out, want) == 0, "%s", name);
	if (r != 0 || strcmp(out, want) != 0)
		tap_diag("rc %d got \"%s\" want \"%s\"", r, out, want);
}

static void
test_md_format(void)
{
	char big[NAME_MAX + 2], want[NAME_MAX + 8], out[16];

	md_fmt("u", MF_DRAFT, 0, "", "u:2,D", "\\Draft is D");
	md_fmt("u", MF_FLAGGED, 0, "", "u:2,F", "\\Flagged is F");
	md_fmt("u", MF_ANSWERED, 0, "", "u:2,R", "\\Answered is R");
	md_fmt("u", MF_SEEN, 0, "", "u:2,S", "\\Seen is S");
	md_fmt("u", MF_DELETED, 0, "", "u:2,T", "\\Deleted is T");
	md_fmt("u", 0, 1, "", "u:2,a", "keyword 0 is a");
	md_fmt("u", 0, 1u << 25, "", "u:2,z", "keyword 25 is z");
	md_fmt("u", 0, 0, "", "u:2,", "no flags: empty info");
	md_fmt("u", MF_ALL, 0x2000005, "", "u:2,DFRSTacz",
	    "ASCII order, uppercase before lowercase");
	md_fmt("u", MF_SEEN | MF_DRAFT, 2, "P", "u:2,DPSb",
	    "P merged in ASCII order");
	md_fmt("u", MF_SEEN, 0, "9Z\xe9", "u:2,9SZ\xe9",
	    "digit, capital and 8-bit others merged in byte order");
	md_fmt("u", MF_SEEN, 0, "PP", "u:2,PS", "repeated other written once");
	md_fmt("u", 1u << 5, 0, "", NULL, "unknown flag bit refused");
	md_fmt("u", 0, 1u << 26, "", NULL, "keyword bit 26 refused");
	md_fmt("u", 0, 0, "S", NULL, "flag letter in other refused");
	md_fmt("u", 0, 0, "a", NULL, "keyword letter in other refused");
	md_fmt("u", 0, 0, "/", NULL, "slash in other refused");
	md_fmt("a:b", 0, 0, "", NULL, "colon in unique refused");
	md_fmt("a/b", 0, 0, "", NULL, "slash in unique refused");
	md_fmt("", 0, 0, "", NULL, "empty unique refused");
	memset(big, 'x', sizeof(big));
	big[NAME_MAX - 3] = '\0';
	snprintf(want, sizeof(want), "%s:2,", big);
	md_fmt(big, 0, 0, "", want, "exactly NAME_MAX bytes");
	big[NAME_MAX - 3] = 'x';
	big[NAME_MAX - 2] = '\0';
	md_fmt(big, 0, 0, "", NULL, "NAME_MAX + 1 bytes refused");
	tap_ok(md_info_format("u", MF_SEEN, 0, "", out, 6) == 0 &&
	    strcmp(out, "u:2,S") == 0 &&
	    md_info_format("u", MF_SEEN, 0, "", out, 5) == -1 &&
	    out[0] == '\0', "md_info_format: outmax to the byte");

	/* rewrite keeps what another program put there */
	{
		unsigned f;
		kwset_t k;
		char o[MD_OTHER_MAX], n2[64];

		md_info_parse("1700000000.M1P2.host,S=10:2,PRZb", &f, &k, o);
		md_info_format("1700000000.M1P2.host,S=10",
		    f | MF_SEEN, k | 1, o, n2, sizeof(n2));
		tap_is_str(n2, "1700000000.M1P2.host,S=10:2,PRSZab",
		    "md: rewrite after STORE +\\Seen keeps P and Z");
	}
}

static void
test_md_roundtrip(void)
{
	int ok = 1;

	for (int r = 0; r < 20000; r++) {
		char fn[64], o[MD_OTHER_MAX], o2[MD_OTHER_MAX], out[300];
		unsigned f, f2;
		kwset_t k, k2;
		size_t n = 3 + rnd(20);

		memcpy(fn, "u:2,", 4);
		for (size_t i = 4; i < n + 4; i++) {
			do
				fn[i] = (char)(1 + rnd(255));
			while (fn[i] == '/');
		}
		fn[n + 4] = '\0';
		if (md_info_parse(fn, &f, &k, o) != 0)
			continue;
		if (md_info_format("u", f, k, o, out, sizeof(out)) != 0 ||
		    md_info_parse(out, &f2, &k2, o2) != 0 || f != f2 ||
		    k != k2 || strcmp(o, o2) != 0) {
			ok = 0;
			tap_diag("round trip failed for \"%s\"", fn);
			break;
		}
	}
	tap_ok(ok, "md: parse/format/parse identity on random info");
}

/* ---- mbox ---- */

static void
test_mbox_status(void)
{
	static const struct {
		const char *v;
		size_t n;
		unsigned flags;
		int old, junk;
		const char *what;
	} st[] = {
		{ S("R"), MF_SEEN, 0, 0, "R is \\Seen" },
		{ S("O"), 0, 1, 0, "O is old, not a flag" },
		{ S("RO"), MF_SEEN, 1, 0, "RO" },
		{ S("OR"), MF_SEEN, 1, 0, "any order" },
		{ S(" RO  "), MF_SEEN, 1, 0, "white space ignored" },
		{ S(""), 0, 0, 0, "empty" },
		{ S("RRX"), MF_SEEN, 0, 1, "repeat and unknown letter" },
		{ S("r"), 0, 0, 1, "lowercase is not R" },
		{ S("A"), 0, 0, 1, "X-Status letters mean nothing here" },
		{ S("R\0O"), MF_SEEN, 1, 1, "NUL is an unknown byte" },
		{ S("\xd2O"), 0, 1, 1, "8-bit byte is unknown" },
	};
	static const struct {
		const char *v;
		size_t n;
		unsigned flags;
		const char *what;
	} xs[] = {
		{ S("A"), MF_ANSWERED, "A is \\Answered" },
		{ S("F"), MF_FLAGGED, "F is \\Flagged" },
		{ S("T"), MF_DRAFT, "T is \\Draft" },
		{ S("D"), MF_DELETED, "D is \\Deleted" },
		{ S("DFAT"), MF_ANSWERED | MF_FLAGGED | MF_DRAFT | MF_DELETED,
		    "UW's order DFAT" },
		{ S("R"), 0, "R means nothing here" },
		{ S("A\0\xffZ"), MF_ANSWERED, "NUL, 8-bit, unknown ignored" },
	};
	char name[120];
	struct buf b;

	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		char *c = exact(st[i].v, st[i].n);
		unsigned f = 0;
		int old = 7, junk = mbox_status_parse(c, st[i].n, &f, &old);

		snprintf(name, sizeof(name), "mbox_status_parse: %s",
		    st[i].what);
		tap_ok(f == st[i].flags && old == st[i].old &&
		    junk == st[i].junk, "%s", name);
		free(c);
	}
	for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
		char *c = exact(xs[i].v, xs[i].n);
		unsigned f = 0;

		mbox_xstatus_parse(c, xs[i].n, &f);
		snprintf(name, sizeof(name), "mbox_xstatus_parse: %s",
		    xs[i].what);
		tap_is_int(f, xs[i].flags, name);
		free(c);
	}
	{
		unsigned f = MF_DELETED;
		int old;

		mbox_status_parse("R", 1, &f, &old);
		tap_is_int(f, MF_DELETED | MF_SEEN,
		    "mbox_status_parse: ORs into flags");
	}

	buf_init(&b, 256);
	mbox_status_format(MF_SEEN, 1, &b);
	tap_is_str(b.data, "Status: RO\n", "mbox_status_format: RO (mutt)");
	buf_reset(&b);
	mbox_status_format(0, 1, &b);
	tap_is_str(b.data, "Status: O\n", "mbox_status_format: O");
	buf_reset(&b);
	mbox_status_format(MF_SEEN, 0, &b);
	tap_is_str(b.data, "Status: R\n", "mbox_status_format: R");
	buf_reset(&b);
	mbox_status_format(MF_ALL & ~MF_SEEN, 0, &b);
	tap_ok(b.len == 0, "mbox_status_format: empty value, no field");
	mbox_xstatus_format(MF_ALL, &b);
	tap_is_str(b.data, "X-Status: AFTD\n",
	    "mbox_xstatus_format: Dovecot's order AFTD");
	buf_reset(&b);
	mbox_xstatus_format(MF_ANSWERED | MF_FLAGGED, &b);
	tap_is_str(b.data, "X-Status: AF\n", "mbox_xstatus_format: AF (mutt)");
	buf_reset(&b);
	mbox_xstatus_format(MF_DELETED, &b);
	tap_is_str(b.data, "X-Status: D\n", "mbox_xstatus_format: D");
	buf_reset(&b);
	mbox_xstatus_format(MF_DRAFT, &b);
	tap_is_str(b.data, "X-Status: T\n", "mbox_xstatus_format: T");
	buf_reset(&b);
	mbox_xstatus_format(MF_SEEN, &b);
	tap_ok(b.len == 0, "mbox_xstatus_format: empty value, no field");
	buf_free(&b);
	buf_init(&b, 5);
	tap_ok(mbox_status_format(MF_SEEN, 1, &b) == -1 && b.len == 0,
	    "mbox_status_format: full buf fails, unchanged");
	buf_free(&b);
}

/* Parse a literal X-Keywords value from an exactly-sized copy. */
#define XKW(lit, add) (c = exact(S(lit)), \
	mbox_xkeywords_parse(c, sizeof(lit) - 1, &t, add, &kw))

static void
test_mbox_keywords(void)
{
	struct kwtable t = { 0 };
	struct buf b;
	kwset_t kw = 0;
	char *c;
	int left;

	kwtable_add(&t, "$Junk");
	kwtable_add(&t, "Work");
	left = XKW("work,$junk", 0);
	tap_ok(left == 0 && kw == 3,
	    "mbox_xkeywords_parse: comma, case-insensitive");
	free(c);
	kw = 0;
	left = XKW(" Work , \t$Junk,,Work\r\n\tWork ", 0);
	tap_ok(left == 0 && kw == 3,
	    "mbox_xkeywords_parse: spaces, commas, folding, duplicates");
	free(c);
	kw = 0;
	left = XKW("Work Play", 0);
	tap_ok(left == 1 && kw == 2 && t.n == 2,
	    "mbox_xkeywords_parse: unknown name left out without add");
	free(c);
	kw = 0;
	left = XKW("Work Play", 1);
	tap_ok(left == 0 && kw == 6 && kwtable_find(&t, "play") == 2,
	    "mbox_xkeywords_parse: unknown name added with add");
	free(c);
	kw = 0;
	left = XKW("Work\0Play b(d caf\xc3\xa9 \\Seen", 1);
	tap_ok(left == 4 && kw == 0 && t.n == 3,
	    "mbox_xkeywords_parse: NUL, atom-special, 8-bit, backslash "
	    "names left out");
	free(c);
	kw = 0;
	tap_ok(mbox_xkeywords_parse("", 0, &t, 1, &kw) == 0 && kw == 0,
	    "mbox_xkeywords_parse: empty value");

	buf_init(&b, 4096);
	tap_ok(mbox_xkeywords_format(5, &t, &b) == 0 &&
	    strcmp(b.data, "X-Keywords: $Junk Play\n") == 0,
	    "mbox_xkeywords_format: index order, one space");
	buf_reset(&b);
	tap_ok(mbox_xkeywords_format(0, &t, &b) == 0 && b.len == 0,
	    "mbox_xkeywords_format: no keywords, no field");
	tap_ok(mbox_xkeywords_format(1u << 7, &t, &b) == -1 && b.len == 0,
	    "mbox_xkeywords_format: bit without a name refused");
	kwtable_free(&t);

	/* 26 names of 100 bytes: folded as Dovecot folds */
	for (int i = 0; i < KW_MAX; i++) {
		char n[101];

		memset(n, 'a' + i, 100);
		n[100] = '\0';
		kwtable_add(&t, n);
	}
	tap_ok(mbox_xkeywords_format((1u << KW_MAX) - 1, &t, &b) == 0,
	    "mbox_xkeywords_format: 26 long names");
	{
		size_t line = 0, longest = 0;

		for (size_t i = 0; i < b.len; i++) {
			if (b.data[i] == '\n') {
				longest = line > longest ? line : longest;
				line = 0;
			} else {
				line++;
			}
		}
		tap_ok(longest < MBOX_KW_WRAP + 110 &&
		    strstr(b.data, "\n\t") != NULL,
		    "mbox_xkeywords_format: folded near 1024 bytes");
	}
	kw = 0;
	tap_ok(mbox_xkeywords_parse(b.data + 11, b.len - 11, &t, 0, &kw) == 0 &&
	    kw == (1u << KW_MAX) - 1,
	    "mbox_xkeywords: folded field parses back");
	kwtable_free(&t);
	buf_free(&b);

	tap_ok(mbox_keyword_ok(S("abc")) && !mbox_keyword_ok(S("a,b")),
	    "mbox_keyword_ok: comma refused in mbox");
}

static void
test_mbox_imapbase(void)
{
	static const struct {
		const char *v;
		size_t n;
		int rc;
		uint32_t uv, last;
		unsigned nkw;
		const char *what;
	} cases[] = {
		{ S("1700000000 0000000042"), 0, 1700000000, 42, 0,
		    "numbers, padded last UID" },
		{ S("1700000000 42"), 0, 1700000000, 42, 0, "unpadded (UW)" },
		{ S(" \t5\t7 "), 0, 5, 7, 0, "tabs and spaces" },
		{ S("5 7\r"), 0, 5, 7, 0, "CR at the end" },
		{ S("5 0000000007 $Junk NonJunk"), 0, 5, 7, 2, "keywords" },
		{ S("5 7 a b a B c"), 2, 5, 7, 3,
		    "repeated keywords skipped" },
		{ S("5 7 a,b ok"), 1, 5, 7, 1, "comma name skipped" },
		{ S("5 7 a\n\tb"), 0, 5, 7, 2, "folded keyword list" },
		{ S("5 7 ok caf\xc3\xa9 x\0y"), 2, 5, 7, 1,
		    "8-bit and NUL names skipped" },
		{ S("4294967295 4294967294"), 0, 4294967295u, 4294967294u, 0,
		    "largest values" },
		{ S("0 7"), -1, 0, 0, 0, "UIDVALIDITY 0 refused" },
		{ S("5 4294967295"), -1, 0, 0, 0, "last UID 2^32-1 refused" },
		{ S("4294967296 7"), -1, 0, 0, 0, "above 2^32-1 refused" },
		{ S("00000000005 7"), -1, 0, 0, 0, "11 digits refused" },
		{ S("5"), -1, 0, 0, 0, "one number refused" },
		{ S("5 "), -1, 0, 0, 0, "missing last UID refused" },
		{ S("5x 7"), -1, 0, 0, 0, "junk after UIDVALIDITY refused" },
		{ S("5 7x"), -1, 0, 0, 0, "junk after last UID refused" },
		{ S("5\0 7"), -1, 0, 0, 0, "NUL in the numbers refused" },
		{ S("\xb5 7"), -1, 0, 0, 0, "8-bit digit refused" },
		{ S(""), -1, 0, 0, 0, "empty refused" },
	};
	char name[120];
	struct kwtable t = { 0 };
	struct buf b;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *c = exact(cases[i].v, cases[i].n);
		uint32_t uv = 0, last = 0;
		int rc = mbox_imapbase_parse(c, cases[i].n, &uv, &last, &t);

		snprintf(name, sizeof(name), "mbox_imapbase_parse: %s",
		    cases[i].what);
		tap_ok(rc == cases[i].rc && t.n == cases[i].nkw &&
		    (rc < 0 || (uv == cases[i].uv && last == cases[i].last)),
		    "%s", name);
		if (!(rc == cases[i].rc && t.n == cases[i].nkw))
			tap_diag("rc %d n %u uv %u last %u", rc, t.n, uv, last);
		kwtable_free(&t);
		free(c);
	}

	buf_init(&b, 4096);
	tap_ok(mbox_imapbase_format(1700000000, 42, &t, &b) == 0 &&
	    strcmp(b.data, "X-IMAPbase: 1700000000 0000000042\n") == 0,
	    "mbox_imapbase_format: 10-digit last UID, as mbox.c writes it");
	buf_reset(&b);
	kwtable_add(&t, "$Junk");
	kwtable_add(&t, "NonJunk");
	tap_ok(mbox_imapbase_format(5, 0, &t, &b) == 0 &&
	    strcmp(b.data, "X-IMAPbase: 5 0000000000 $Junk NonJunk\n") == 0,
	    "mbox_imapbase_format: keywords in index order");
	{
		struct kwtable t2 = { 0 };
		uint32_t uv, last;

		tap_ok(mbox_imapbase_parse(b.data + 12, b.len - 12, &uv,
		    &last, &t2) == 0 && uv == 5 && last == 0 && t2.n == 2 &&
		    strcmp(t2.name[1], "NonJunk") == 0,
		    "mbox_imapbase: format/parse round trip");
		kwtable_free(&t2);
	}
	buf_reset(&b);
	tap_ok(mbox_imapbase_format(0, 1, &t, &b) == -1 && b.len == 0,
	    "mbox_imapbase_format: UIDVALIDITY 0 refused");
	tap_ok(mbox_imapbase_format(1, UINT32_MAX, &t, &b) == -1,
	    "mbox_imapbase_format: last UID 2^32-1 refused");
	t.name[5] = strdup("Gap");
	t.n = 6;
	tap_ok(mbox_imapbase_format(1, 1, &t, &b) == -1 && b.len == 0,
	    "mbox_imapbase_format: table with holes refused");
	kwtable_free(&t);
	t.name[0] = strdup("a,b");
	t.n = 1;
	tap_ok(mbox_imapbase_format(1, 1, &t, &b) == -1 && b.len == 0,
	    "mbox_imapbase_format: comma name refused");
	kwtable_free(&t);
	buf_free(&b);
}

/* The value of field name in the lines of b (b->len bytes), or NULL. */
static const char *
field(const struct buf *b, const char *name, size_t *n)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < b->len; ) {
		size_t e = i;

		while (e < b->len && b->data[e] != '\n')
			e++;
		/* a folded continuation belongs to the field */
		while (e + 1 < b->len && b->data[e + 1] == '\t')
			for (e++; e < b->len && b->data[e] != '\n'; e++)
				;
		if (e - i >= nl && memcmp(b->data + i, name, nl) == 0) {
			*n = e - i - nl;
			return b->data + i + nl;
		}
		i = e + 1;
	}
	return NULL;
}

/* Random field values: parse, format, parse gives the same. */
static void
test_mbox_roundtrip(void)
{
	static const char alpha[] = "ROAFTDXrq ,\t\r\n\0\xff$Junkab";
	int ok = 1;

	for (int r = 0; r < 5000 && ok; r++) {
		char v[40];
		const char *p;
		size_t n = rnd(sizeof(v)), pn;
		unsigned f = 0, f2 = 0;
		int old, old2 = 0;
		kwset_t kw = 0, kw2 = 0;
		struct kwtable t = { 0 };
		struct buf b;

		for (size_t i = 0; i < n; i++)
			v[i] = alpha[rnd(sizeof(alpha) - 1)];
		mbox_status_parse(v, n, &f, &old);
		mbox_xstatus_parse(v, n, &f);
		mbox_xkeywords_parse(v, n, &t, 1, &kw);
		buf_init(&b, 8192);
		if (mbox_status_format(f, old, &b) < 0 ||
		    mbox_xstatus_format(f, &b) < 0 ||
		    mbox_xkeywords_format(kw, &t, &b) < 0)
			ok = 0;
		if ((p = field(&b, "Status: ", &pn)) != NULL)
			mbox_status_parse(p, pn, &f2, &old2);
		if ((p = field(&b, "X-Status: ", &pn)) != NULL)
			mbox_xstatus_parse(p, pn, &f2);
		if ((p = field(&b, "X-Keywords:", &pn)) != NULL)
			mbox_xkeywords_parse(p, pn, &t, 0, &kw2);
		if (f2 != f || kw2 != kw || old2 != old) {
			ok = 0;
			tap_diag("round trip failed for \"%.*s\"", (int)n, v);
		}
		buf_free(&b);
		kwtable_free(&t);
	}
	tap_ok(ok, "mbox: parse/format/parse identity on random values");
}

int
main(void)
{
	test_keyword_valid();
	test_kwtable_add_find();
	test_kwtable_parse();
	test_md_parse();
	test_md_format();
	test_md_roundtrip();
	test_mbox_status();
	test_mbox_keywords();
	test_mbox_imapbase();
	test_mbox_roundtrip();
	return tap_done();
}
