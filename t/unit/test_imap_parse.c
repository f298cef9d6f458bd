/*
 * test_imap_parse.c - the IMAP command parser and reader (parse.h):
 * every token kind, every syntax error with its text, the limits at
 * limit-1/limit/limit+1, literal edge cases, LITERAL+ (RFC 7888), and the
 * reader over a real socketpair: "+ OK" only for synchronizing literals,
 * and after a bad command the next one is read in sync.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "parse.h"
#include "tap.h"
#include "util.h"

/* ---- a printable form of the argument tree ---- */

static void
dump_args(const struct imap_arg *a, char *out, size_t outlen);

static void
dump_one(const struct imap_arg *a, char *out, size_t outlen)
{
	size_t o = strlen(out);

	if (a->flags & IMAP_ARG_JOINED)
		snprintf(out + o, outlen - o, "^");
	o = strlen(out);
	switch (a->type) {
	case IMAP_ARG_ATOM:
		snprintf(out + o, outlen - o, "%s", a->str);
		break;
	case IMAP_ARG_NIL:
		snprintf(out + o, outlen - o, "NIL<%s>", a->str);
		break;
	case IMAP_ARG_QUOTED:
		snprintf(out + o, outlen - o, "\"%s\"", a->str);
		break;
	case IMAP_ARG_LITERAL:
		if (a->flags & IMAP_ARG_STREAMED)
			snprintf(out + o, outlen - o, "{%zu streamed}", a->len);
		else
			snprintf(out + o, outlen - o, "{%zu}%s", a->len, a->str);
		break;
	case IMAP_ARG_LIST:
		snprintf(out + o, outlen - o, "(");
		dump_args(a->list, out, outlen);
		o = strlen(out);
		snprintf(out + o, outlen - o, ")");
		break;
	case IMAP_ARG_EOL:
		break;
	}
}

static void
dump_args(const struct imap_arg *a, char *out, size_t outlen)
{
	for (size_t i = 0; a[i].type != IMAP_ARG_EOL; i++) {
		if (i > 0) {
			size_t o = strlen(out);
			snprintf(out + o, outlen - o, " ");
		}
		dump_one(&a[i], out, outlen);
	}
}

/*
 * Feed a wire transcript: lines end in "\r\n"; after a literal
 * announcement its bytes come straight from the transcript.  Returns the
 * last result; *dump gets "TAG NAME | args" or "TAG | error".
 */
static enum imap_parse_result
wire(struct imap_parser *p, const char *in, size_t n, char *dump,
    size_t dumplen)
{
	enum imap_parse_result r = IMAP_PARSE_ERROR;
	size_t i = 0;

	imap_parser_reset(p);
	for (;;) {
		const char *nl = memmem(in + i, n - i, "\r\n", 2);
		size_t len = nl != NULL ? (size_t)(nl - (in + i)) : n - i;
		struct imap_literal_info li;

		r = imap_parser_feed_line(p, in + i, len);
		i += len + (nl != NULL ? 2 : 0);
		if (r != IMAP_PARSE_LITERAL)
			break;
		imap_parser_literal_info(p, &li);
		if (li.size > n - i)
			break;
		imap_parser_feed_literal(p, in + i, (size_t)li.size);
		i += (size_t)li.size;
	}
	dump[0] = '\0';
	if (r == IMAP_PARSE_ERROR) {
		snprintf(dump, dumplen, "%s | %s", imap_parser_tag(p),
		    imap_parser_error(p));
	} else {
		snprintf(dump, dumplen, "%s %s | ", imap_parser_tag(p),
		    imap_parser_name(p));
		dump_args(imap_parser_args(p), dump, dumplen);
	}
	return r;
}

static struct imap_parser *P;

/* in, printable, for a test's name */
static const char *
show(const char *in, size_t n)
{
	static char out[128];
	size_t o = 0;

	for (size_t i = 0; i < n && o + 5 < sizeof(out); i++) {
		unsigned char c = (unsigned char)in[i];

		if (c >= 0x20 && c < 0x7f)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, sizeof(out) - o,
			    "\\x%02x", c);
	}
	out[o] = '\0';
	return out;
}

static enum imap_parse_result
feed(struct imap_parser *p, const char *s)
{
	return imap_parser_feed_line(p, s, strlen(s));
}

/* A complete command: in parses to want. */
static void
ok(const char *in, const char *want)
{
	char dump[4096];
	enum imap_parse_result r = wire(P, in, strlen(in), dump, sizeof(dump));

	tap_ok(r == IMAP_PARSE_DONE, "parses: %s", show(in, strlen(in)));
	tap_is_str(dump, want, "  its arguments");
}

/* A bad command: in gives "tag | error". */
static void
bad(const char *in, size_t n, const char *want)
{
	char dump[4096];
	enum imap_parse_result r = wire(P, in, n, dump, sizeof(dump));

	tap_ok(r == IMAP_PARSE_ERROR, "refused: %s", show(in, n));
	tap_is_str(dump, want, "  with the error");
}

#define BAD(in, want) bad(in, sizeof(in) - 1, want)

static void
test_tokens(void)
{
	ok("a NOOP", "a NOOP | ");
	ok("A1.2 noop", "A1.2 NOOP | ");
	ok("a] login", "a] LOGIN | ");
	ok("a LOGIN alice secret", "a LOGIN | alice secret");
	ok("a LOGIN \"al ice\" \"p\\\"w\\\\\"", "a LOGIN | \"al ice\" \"p\"w\\\"");
	ok("a LOGIN \"\" \"\"", "a LOGIN | \"\" \"\"");
	ok("a STORE 1 +FLAGS (\\Seen \\* $Junk)",
	    "a STORE | 1 +FLAGS (\\Seen \\* $Junk)");
	ok("a LIST \"\" %", "a LIST | \"\" %");
	ok("a LIST \"\" *", "a LIST | \"\" *");
	ok("a FETCH 1:*,3 (FLAGS BODY[1.MIME]<0.100>)",
	    "a FETCH | 1:*,3 (FLAGS BODY[1.MIME]<0.100>)");
	ok("a FETCH 1 BODY[HEADER.FIELDS (From To)]<0.100>",
	    "a FETCH | 1 BODY[HEADER.FIELDS (From To) ^]<0.100>");
	ok("a FETCH 1 (BODY.PEEK[HEADER.FIELDS (\"From\")] UID)",
	    "a FETCH | 1 (BODY.PEEK[HEADER.FIELDS (\"From\") ^] UID)");
	ok("a SEARCH $", "a SEARCH | $");
	ok("a X nil NIL Nil \"NIL\"",
	    "a X | NIL<nil> NIL<NIL> NIL<Nil> \"NIL\"");
	ok("a X () (()) (a (b c) d)", "a X | () (()) (a (b c) d)");
	ok("a SEARCH SUBJECT \"caf\xc3\xa9\"",
	    "a SEARCH | SUBJECT \"caf\xc3\xa9\"");
	ok("a SEARCH TEXT \"tab\there\"", "a SEARCH | TEXT \"tab\there\"");
	/* RFC 3501 9 rule 2 forbids it, clients send it: tolerated */
	ok("a NOOP ", "a NOOP | ");
	ok("a LOGIN a b ", "a LOGIN | a b");
}

static void
test_literals(void)
{
	ok("a LOGIN {5}\r\nalice {6}\r\nsecret", "a LOGIN | {5}alice {6}secret");
	ok("a LOGIN {5+}\r\nalice {6+}\r\nsecret",
	    "a LOGIN | {5}alice {6}secret");
	/* RFC 7888 3's example: the SP comes after the literal */
	ok("A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man",
	    "A001 LOGIN | {11}FRED FOOBAR {7}fat man");
	ok("a X {0}\r\n", "a X | {0}");
	ok("a X {0+}\r\n {0}\r\n", "a X | {0} {0}");
	ok("a X {4}\r\na\r\nb", "a X | {4}a\r\nb");
	ok("a X {005}\r\n(x) \"", "a X | {5}(x) \"");
	ok("a X ({1}\r\nx {1}\r\ny)", "a X | ({1}x {1}y)");
	ok("a X {1}\r\nx", "a X | {1}x");
	ok("a X {1}\r\nx ", "a X | {1}x");
	BAD("a X {3}\r\na\0b\r\n", "a | NUL in literal");
	BAD("a X {1}\r\nxy", "a | Missing space between arguments");
	BAD("a X {1}\r\nx(", "a | Missing space between arguments");
	BAD("a X {5", "a | Missing '}'");
	BAD("a X {5}x", "a | A literal must end the line");
	BAD("a X {5} {6}", "a | A literal must end the line");
	BAD("a X {}", "a | Invalid literal size");
	BAD("a X {+}", "a | Invalid literal size");
	BAD("a X {5-}", "a | Invalid literal size");
	BAD("a X {-5}", "a | Invalid literal size");
	BAD("a X {5++}", "a | Invalid literal size");
	BAD("a X { 5}", "a | Invalid literal size");
	BAD("a X {x}", "a | Invalid literal size");
	BAD("a X {9223372036854775808}", "a | Invalid literal size");
	BAD("a X {99999999999999999999999}", "a | Invalid literal size");
	BAD("a X ~{5}", "a | Binary literals are not supported");
	BAD("a X a{5}", "a | Missing space between arguments");
}

static void
test_errors(void)
{
	BAD("", " | Empty command line");
	BAD("a", "a | Missing command");
	BAD("a ", "a | Missing command");
	BAD("a  NOOP", "a | Missing command");
	BAD(" a NOOP", " | Invalid tag");
	BAD("a+ NOOP", " | Invalid tag");
	BAD("a* NOOP", " | Invalid tag");
	BAD("a% NOOP", " | Invalid tag");
	BAD("a\" NOOP", " | Invalid tag");
	BAD("a( NOOP", " | Invalid tag");
	BAD("a{ NOOP", " | Invalid tag");
	BAD("a\\ NOOP", " | Invalid tag");
	BAD("a\x01 NOOP", " | Invalid tag");
	BAD("\xc3\xa9 NOOP", " | Invalid tag");
	BAD("a\0b NOOP", " | NUL in command");
	BAD("a NO\0OP", "a | NUL in command");
	BAD("a LOGIN \"x\0yyyy\\\\z\" \"pw\"", "a | NUL in command");
	BAD("a LOGIN x\0 y", "a | NUL in command");
	BAD("a LOGIN x\ry", "a | CR in command line");
	BAD("a NOOP\r", "a | CR in command line");
	BAD("a N00P", "a | Invalid command name");
	BAD("a X-Y", "a | Invalid command name");
	BAD("a 123", "a | Invalid command name");
	BAD("a (NOOP)", "a | Invalid command name");
	BAD("a NOOP(", "a | Invalid command name");
	BAD("a NOOP (", "a | Missing ')'");
	BAD("a X  y", "a | Extra space");
	BAD("a X y  ", "a | Extra space");
	BAD("a X ( y)", "a | Extra space");
	BAD("a X (y )", "a | Extra space before ')'");
	BAD("a X (y", "a | Missing ')'");
	BAD("a X ((y)", "a | Missing ')'");
	BAD("a X (", "a | Missing ')'");
	BAD("a X (y ", "a | Missing ')'");
	BAD("a X y)", "a | Unexpected ')'");
	BAD("a X )", "a | Unexpected ')'");
	BAD("a X (a)(b)", "a | Missing space between arguments");
	BAD("a X (a)b", "a | Missing space between arguments");
	BAD("a X (a)\"b\"", "a | Missing space between arguments");
	BAD("a X \"a\"\"b\"", "a | Missing space between arguments");
	BAD("a X \"a\"b", "a | Missing space between arguments");
	BAD("a X b\"a\"", "a | Missing space between arguments");
	ok("a X ]", "a X | ]");
	BAD("a X \"abc", "a | Missing '\"'");
	BAD("a X \"abc\\", "a | Invalid escape in quoted string");
	BAD("a X \"a\\nb\"", "a | Invalid escape in quoted string");
	BAD("a X \\", "a | Invalid character in command");
	BAD("a X a\\b", "a | Missing space between arguments");
	BAD("a X \x01", "a | Invalid character in command");
	BAD("a X \x7f", "a | Invalid character in command");
	BAD("a X caf\xc3\xa9", "a | Missing space between arguments");
	BAD("a X \xc3\xa9", "a | 8-bit character outside a quoted string");
	/* Cyrus CVE-2004-1012/-1013: truncated section specs are atoms or
	 * unclosed lists here; fetch.c checks the rest */
	ok("a FETCH 1 BODY[", "a FETCH | 1 BODY[");
	ok("a FETCH 1 BODY[1.", "a FETCH | 1 BODY[1.");
	ok("a FETCH 1 BODY[]<0.", "a FETCH | 1 BODY[]<0.");
	ok("a FETCH 1 BODY[]<4294967295.4294967295>",
	    "a FETCH | 1 BODY[]<4294967295.4294967295>");
	BAD("a FETCH 1 BODY[HEADER.FIELDS (", "a | Missing ')'");
	ok("a FETCH 1 BODY[HEADER.FIELDS (a)", "a FETCH | 1 BODY[HEADER.FIELDS (a)");
	ok("a FETCH 1 (BODY[HEADER.FIELDS (a)])",
	    "a FETCH | 1 (BODY[HEADER.FIELDS (a) ^])");
	ok("a FETCH 1 (BODY[HEADER.FIELDS (a)]<1.2> FLAGS)",
	    "a FETCH | 1 (BODY[HEADER.FIELDS (a) ^]<1.2> FLAGS)");
	/* joined only right after ")" */
	ok("a FETCH 1 (BODY[HEADER.FIELDS (a)] ]x)",
	    "a FETCH | 1 (BODY[HEADER.FIELDS (a) ^] ]x)");
}

/* CVE-2019-11500: a NUL before an escape, at every offset the login
 * budget allows: refused, never read past (ASan runs this too). */
static void
test_nul_escape(void)
{
	struct imap_parser *lp = imap_parser_new(IMAP_LOGIN_MAX_CMD);
	char *buf = xmalloc(IMAP_LOGIN_MAX_CMD + 64);
	int all = 1;

	for (size_t n = 1; n <= 8190; n++) {
		size_t len = (size_t)sprintf(buf, "a LOGIN \"x");

		buf[len++] = '\0';
		memset(buf + len, 'y', n);
		len += n;
		len += (size_t)sprintf(buf + len, "\\\\z\" \"pw\"");
		imap_parser_reset(lp);
		all &= imap_parser_feed_line(lp, buf, len) == IMAP_PARSE_ERROR;
		all &= strcmp(imap_parser_error(lp), "NUL in command") == 0;
	}
	tap_ok(all, "G7: NUL before an escape, 1..8190 bytes apart: refused");
	free(buf);
	imap_parser_free(lp);
}

/* Feed tokens "x" on lines joined by {0+} literals: total tokens in all. */
static enum imap_parse_result
many_tokens(struct imap_parser *p, size_t total)
{
	static char line[IO_LINE_MAX + 1];
	enum imap_parse_result r;
	size_t len, left = total;
	int first = 1;

	imap_parser_reset(p);
	for (;;) {
		size_t k, m = left > 5000 ? 4999 : left;

		len = 0;
		if (first)
			len = (size_t)sprintf(line, "a X");
		for (k = 0; k < m; k++)
			len += (size_t)sprintf(line + len, " x");
		if (left > 5000)
			len += (size_t)sprintf(line + len, " {0+}");
		r = imap_parser_feed_line(p, first ? line : line, len);
		first = 0;
		left -= m;
		if (r != IMAP_PARSE_LITERAL)
			return r;
		left--;
	}
}

/* tap_is_int() with a printf name. */
static void __attribute__((format(printf, 3, 4)))
is_int_f(long long got, long long want, const char *fmt, ...)
{
	char name[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	tap_is_int(got, want, name);
}

/*
 * An APPEND-style command: message i takes shares[i] tokens, "x" atoms
 * then its literal, which is streamed; then tail atoms end the command.
 * IMAP_MAX_ARGS counts per message (nargs_base in parse.c).
 */
static enum imap_parse_result
stream_shares(struct imap_parser *p, const size_t *shares, size_t n,
    size_t tail)
{
	static char line[IO_LINE_MAX + 1];
	enum imap_parse_result r = IMAP_PARSE_ERROR;
	size_t len;

	imap_parser_reset(p);
	for (size_t i = 0; i <= n; i++) {
		size_t k = i < n ? shares[i] - 1 : tail;

		len = i == 0 ? (size_t)sprintf(line, "a APPEND") : 0;
		for (size_t j = 0; j < k; j++)
			len += (size_t)sprintf(line + len, " x");
		if (i < n)
			len += (size_t)sprintf(line + len, " {1+}");
		r = imap_parser_feed_line(p, line, len);
		if (i == n || r != IMAP_PARSE_LITERAL)
			break;
		imap_parser_literal_streamed(p);
	}
	return r;
}

/* A command of total bytes of line text: lines of one long atom each,
 * joined by {0+} literals (kept, but of no bytes). */
static enum imap_parse_result
cmd_of_bytes(struct imap_parser *p, size_t total)
{
	static char line[IO_LINE_MAX + 1];
	enum imap_parse_result r;
	size_t left = total, len;
	int first = 1;

	imap_parser_reset(p);
	for (;;) {
		int last = left <= 16000;

		len = last ? left : 16000;
		memset(line, 'x', len);
		if (first)
			memcpy(line, "a X ", 4);
		else
			line[0] = ' ';
		if (!last)
			memcpy(line + len - 5, " {0+}", 5);
		r = imap_parser_feed_line(p, line, len);
		left -= len;
		first = 0;
		if (last || r != IMAP_PARSE_LITERAL)
			return r;
	}
}

static void
test_limits(void)
{
	struct imap_parser *lp = imap_parser_new(IMAP_LOGIN_MAX_CMD);
	struct imap_literal_info li;
	char *buf = xmalloc(IO_LINE_MAX + 64), want[128];
	size_t n;

	/* list nesting: IMAP_MAX_DEPTH, and 1 before login (G6) */
	imap_parser_reset(P);
	n = (size_t)sprintf(buf, "a X ");
	for (int i = 0; i < IMAP_MAX_DEPTH; i++)
		buf[n++] = '(';
	for (int i = 0; i < IMAP_MAX_DEPTH; i++)
		buf[n++] = ')';
	tap_is_int(imap_parser_feed_line(P, buf, n), IMAP_PARSE_DONE,
	    "limits: IMAP_MAX_DEPTH nested lists are fine");
	imap_parser_reset(P);
	memmove(buf + 5, buf + 4, n - 4);
	buf[n + 1] = ')';
	tap_is_int(imap_parser_feed_line(P, buf, n + 2), IMAP_PARSE_ERROR,
	    "limits: IMAP_MAX_DEPTH + 1 nested lists are not");
	tap_is_str(imap_parser_error(P), "Lists nested too deeply",
	    "  with the error");
	imap_parser_reset(P);
	tap_is_int(feed(lp, "a ID (\"a\" \"b\")"),
	    IMAP_PARSE_DONE, "limits: one list level before login");
	imap_parser_reset(lp);
	tap_is_int(feed(lp, "a ID ((\"a\"))"),
	    IMAP_PARSE_ERROR, "limits: a list in a list before login is not");
	/* CVE-2026-27857: 8000 "(" cost nothing */
	imap_parser_reset(lp);
	n = (size_t)sprintf(buf, "a ID ");
	memset(buf + n, '(', 8000);
	tap_is_int(imap_parser_feed_line(lp, buf, n + 8000), IMAP_PARSE_ERROR,
	    "limits: 8000 '(' before login are refused");

	/* tokens */
	tap_is_int(many_tokens(P, IMAP_MAX_ARGS), IMAP_PARSE_DONE,
	    "limits: IMAP_MAX_ARGS tokens are fine");
	tap_is_int(imap_args_count(imap_parser_args(P)), IMAP_MAX_ARGS,
	    "  and all kept");
	tap_is_int(many_tokens(P, IMAP_MAX_ARGS - 1), IMAP_PARSE_DONE,
	    "limits: IMAP_MAX_ARGS - 1 tokens are fine");
	tap_is_int(many_tokens(P, IMAP_MAX_ARGS + 1), IMAP_PARSE_ERROR,
	    "limits: IMAP_MAX_ARGS + 1 tokens are not");
	tap_is_str(imap_parser_error(P), "Too many arguments",
	    "  with the error");
	/* a kept literal is a token of the same command: no new count */
	for (int d = -1; d <= 1; d++) {
		size_t k = IMAP_MAX_ARGS - 2 + (size_t)d;

		imap_parser_reset(P);
		n = (size_t)sprintf(buf, "a X");
		for (size_t j = 0; j < k; j++)
			n += (size_t)sprintf(buf + n, " x");
		n += (size_t)sprintf(buf + n, " {0}");
		is_int_f(imap_parser_feed_line(P, buf, n), IMAP_PARSE_LITERAL,
		    "limits: %zu atoms and a kept literal", k);
		is_int_f(feed(P, " x"), d <= 0 ? IMAP_PARSE_DONE :
		    IMAP_PARSE_ERROR, "  then one more token: IMAP_MAX_ARGS "
		    "%+d in all%s", d, d <= 0 ? "" : ": refused");
	}
	tap_is_str(imap_parser_error(P), "Too many arguments",
	    "  with the error");
	/* APPEND: the cap is per streamed message, not for the command */
	{
		size_t at[3] = { IMAP_MAX_ARGS, IMAP_MAX_ARGS, IMAP_MAX_ARGS };
		size_t below[3] = { IMAP_MAX_ARGS - 1, IMAP_MAX_ARGS - 1,
		    IMAP_MAX_ARGS - 1 };
		size_t over[2] = { IMAP_MAX_ARGS, IMAP_MAX_ARGS + 1 };

		tap_is_int(stream_shares(P, below, 3, IMAP_MAX_ARGS - 1),
		    IMAP_PARSE_DONE, "limits: APPEND stream, IMAP_MAX_ARGS - 1 "
		    "tokens per message: fine");
		tap_is_int(stream_shares(P, at, 3, IMAP_MAX_ARGS),
		    IMAP_PARSE_DONE, "limits: APPEND stream, IMAP_MAX_ARGS "
		    "tokens per message and after the last: fine");
		is_int_f(imap_args_count(imap_parser_args(P)),
		    4 * IMAP_MAX_ARGS, "  %d tokens in all, all kept",
		    4 * IMAP_MAX_ARGS);
		tap_is_int(stream_shares(P, over, 2, 0), IMAP_PARSE_ERROR,
		    "limits: APPEND stream, IMAP_MAX_ARGS + 1 in the second "
		    "message: refused");
		tap_is_str(imap_parser_error(P), "Too many arguments",
		    "  with the error");
		tap_is_int(stream_shares(P, at, 1, IMAP_MAX_ARGS + 1),
		    IMAP_PARSE_ERROR, "limits: APPEND stream, IMAP_MAX_ARGS + 1 "
		    "after the last message: refused");
		tap_is_str(imap_parser_error(P), "Too many arguments",
		    "  with the error");
	}

	/* bytes: IMAP_MAX_CMD of line text in all (lines joined by {0+}) */
	for (int d = -1; d <= 1; d++) {
		is_int_f(cmd_of_bytes(P, IMAP_MAX_CMD + (size_t)d),
		    d <= 0 ? IMAP_PARSE_DONE : IMAP_PARSE_ERROR,
		    "limits: IMAP_MAX_CMD %+d bytes of lines: %s", d,
		    d <= 0 ? "fine" : "refused");
	}
	tap_is_str(imap_parser_error(P), "Command too long", "  with the error");
	/* ... and of line and literal together */
	for (int d = -1; d <= 1; d++) {
		size_t size = IMAP_MAX_CMD - 11 + (size_t)d;
		char *lit = xmalloc(size);

		imap_parser_reset(P);
		n = (size_t)sprintf(buf, "a X {%zu}", size);
		is_int_f((long long)n, 11, "limits: \"%s\" is 11 bytes", buf);
		tap_is_int(imap_parser_feed_line(P, buf, n), IMAP_PARSE_LITERAL,
		    "  literal announced");
		imap_parser_literal_info(P, &li);
		is_int_f(li.too_big, d > 0, "limits: line and literal of "
		    "IMAP_MAX_CMD %+d bytes: too_big %d", d, d > 0);
		memset(lit, 'y', size);
		imap_parser_feed_literal(P, lit, size);
		is_int_f(feed(P, ""), d <= 0 ? IMAP_PARSE_DONE :
		    IMAP_PARSE_ERROR, "  fed: %s", d <= 0 ? "kept" :
		    "refused");
		if (d <= 0)
			tap_ok(imap_parser_args(P)[0].len == size,
			    "  the literal kept whole");
		else
			tap_is_str(imap_parser_error(P),
			    "[TOOBIG] Literal too large", "  with [TOOBIG]");
		free(lit);
	}
	imap_parser_reset(P);

	/* bytes: the login parser's budget is IMAP_LOGIN_MAX_CMD */
	for (int d = -1; d <= 1; d++) {
		n = IMAP_LOGIN_MAX_CMD + (size_t)d;
		memset(buf, 'x', n);
		memcpy(buf, "a X ", 4);
		imap_parser_reset(lp);
		tap_is_int(imap_parser_feed_line(lp, buf, n),
		    d <= 0 ? IMAP_PARSE_DONE : IMAP_PARSE_ERROR,
		    "limits: a line of IMAP_LOGIN_MAX_CMD bytes + (-1..1)");
	}
	tap_is_str(imap_parser_error(lp), "Command too long", "  with the error");
	for (int d = -1; d <= 1; d++) {
		imap_parser_reset(lp);
		n = (size_t)sprintf(buf, "a LOGIN {%zu}",
		    IMAP_LOGIN_MAX_CMD - 14 + (size_t)d);
		tap_is_int(imap_parser_feed_line(lp, buf, n), IMAP_PARSE_LITERAL,
		    "limits: literal announced");
		imap_parser_literal_info(lp, &li);
		tap_is_int(li.too_big, d > 0,
		    "limits: literal filling the budget + (-1..1): too_big");
	}
	/* a too big literal fed anyway is not kept */
	memset(buf, 'y', IMAP_LOGIN_MAX_CMD);
	imap_parser_feed_literal(lp, buf, (size_t)li.size);
	tap_is_int(feed(lp, ""), IMAP_PARSE_ERROR,
	    "limits: a too large literal fed anyway is an error");
	tap_is_str(imap_parser_error(lp), "[TOOBIG] Literal too large",
	    "  with [TOOBIG]");
	/* two literals together past the budget */
	imap_parser_reset(lp);
	feed(lp, "a LOGIN {5000}");
	imap_parser_feed_literal(lp, buf, 5000);
	tap_is_int(feed(lp, " {5000}"), IMAP_PARSE_LITERAL,
	    "limits: second literal announced");
	imap_parser_literal_info(lp, &li);
	tap_ok(li.too_big && li.sync && li.size == 5000,
	    "limits: literals are counted together");

	/* lines: at most IO_LINE_MAX */
	n = IO_LINE_MAX + 1;
	memset(buf, 'x', n);
	memcpy(buf, "a X ", 4);
	imap_parser_reset(P);
	tap_is_int(imap_parser_feed_line(P, buf, n), IMAP_PARSE_ERROR,
	    "limits: a line over IO_LINE_MAX is refused");
	tap_is_str(imap_parser_error(P), "Line too long", "  with the error");
	imap_parser_reset(P);
	tap_is_int(imap_parser_feed_line(P, buf, n - 1), IMAP_PARSE_DONE,
	    "limits: a line of IO_LINE_MAX is fine");

	/* tag and command name */
	for (int d = 0; d <= 1; d++) {
		n = IMAP_TAG_MAX + (size_t)d;
		memset(buf, 't', n);
		memcpy(buf + n, " NOOP", 5);
		imap_parser_reset(P);
		tap_ok(imap_parser_feed_line(P, buf, n + 5) ==
		    (d ? IMAP_PARSE_ERROR : IMAP_PARSE_DONE),
		    "limits: a tag of IMAP_TAG_MAX + %d bytes", d);
		tap_is_int(strlen(imap_parser_tag(P)), d ? 0 : n,
		    "  the tag kept");
	}
	tap_is_str(imap_parser_error(P), "Tag too long", "  with the error");
	for (int d = 0; d <= 1; d++) {
		n = IMAP_CMDNAME_MAX + (size_t)d;
		buf[0] = 'a';
		buf[1] = ' ';
		memset(buf + 2, 'n', n);
		imap_parser_reset(P);
		tap_ok(imap_parser_feed_line(P, buf, n + 2) ==
		    (d ? IMAP_PARSE_ERROR : IMAP_PARSE_DONE),
		    "limits: a command name of IMAP_CMDNAME_MAX + %d bytes", d);
	}
	snprintf(want, sizeof(want), "Command name too long");
	tap_is_str(imap_parser_error(P), want, "  with the error");
	imap_parser_reset(P);
	free(buf);
	imap_parser_free(lp);
}

/* Literals joined in one command: k of them, "{0}" each. */
static enum imap_parse_result
many_literals(struct imap_parser *p, size_t k)
{
	enum imap_parse_result r;

	imap_parser_reset(p);
	r = feed(p, "a X {0}");
	for (size_t i = 1; i < k && r == IMAP_PARSE_LITERAL; i++)
		r = feed(p, " {0}");
	if (r == IMAP_PARSE_LITERAL)
		r = feed(p, "");
	return r;
}

/* IMAP_MAX_LITERALS in parse.c: kept literals in one command. */
#define MAX_LITERALS 1000

/* before kept "{0}" literals, a streamed one, then after kept ones. */
static enum imap_parse_result
literals_around_stream(struct imap_parser *p, size_t before, size_t after)
{
	enum imap_parse_result r;

	imap_parser_reset(p);
	r = feed(p, "a APPEND X {0}");
	for (size_t i = 1; i < before && r == IMAP_PARSE_LITERAL; i++)
		r = feed(p, " {0}");
	if (r == IMAP_PARSE_LITERAL)
		r = feed(p, " {5+}");
	if (r != IMAP_PARSE_LITERAL)
		return r;
	imap_parser_literal_streamed(p);
	for (size_t i = 0; i < after && r == IMAP_PARSE_LITERAL; i++)
		r = feed(p, " {0}");
	if (r == IMAP_PARSE_LITERAL)
		r = feed(p, "");
	return r;
}

/* Peak memory growth, in KiB, of feeding the worst input to a parser:
 * "()" over and over (the cheapest token that allocates), in lines
 * joined by {0+}, until the parser stops it. */
static long
worst_case_kib(size_t max_cmd)
{
	struct imap_parser *p = imap_parser_new(max_cmd);
	struct rusage before, after;
	static char line[IO_LINE_MAX + 1];
	size_t n, linemax = max_cmd / 4 < IO_LINE_MAX ? max_cmd / 4 :
	    IO_LINE_MAX;
	enum imap_parse_result r;

	getrusage(RUSAGE_SELF, &before);
	r = feed(p, "a X {0+}");
	while (r == IMAP_PARSE_LITERAL) {
		n = 0;
		while (n + 8 < linemax) {
			memcpy(line + n, " ()", 3);
			n += 3;
		}
		memcpy(line + n, " {0+}", 5);
		r = imap_parser_feed_line(p, line, n + 5);
	}
	getrusage(RUSAGE_SELF, &after);
	imap_parser_free(p);
	return after.ru_maxrss - before.ru_maxrss;
}

/* SECURITY.md G6/G8: the parser's memory is bounded whatever the input
 * (measured in a child, so that the test's own memory does not count). */
static void
test_memory(void)
{
	/* in one message each literal is a token, and IMAP_MAX_ARGS is not
	 * above the literal cap: the argument cap comes first */
	tap_is_int(many_literals(P, IMAP_MAX_ARGS), IMAP_PARSE_DONE,
	    "limits: IMAP_MAX_ARGS literals in a command are fine");
	tap_is_int(many_literals(P, IMAP_MAX_ARGS + 1), IMAP_PARSE_ERROR,
	    "limits: IMAP_MAX_ARGS + 1 literals in one message are not: "
	    "the argument cap comes first");
	tap_is_str(imap_parser_error(P), "Too many arguments", "  with the error");
	/* the literal cap counts kept literals in the whole command: a
	 * streamed literal (APPEND) starts a new token count but not a new
	 * literal count */
	tap_is_int(literals_around_stream(P, 600, MAX_LITERALS - 601),
	    IMAP_PARSE_DONE, "limits: IMAP_MAX_LITERALS - 1 kept literals "
	    "around a streamed one are fine");
	tap_is_int(literals_around_stream(P, 600, MAX_LITERALS - 600),
	    IMAP_PARSE_DONE, "limits: IMAP_MAX_LITERALS kept literals "
	    "around a streamed one are fine");
	tap_is_int(literals_around_stream(P, 600, MAX_LITERALS - 599),
	    IMAP_PARSE_ERROR, "limits: IMAP_MAX_LITERALS + 1 kept literals "
	    "are not, with under IMAP_MAX_ARGS tokens per message");
	tap_is_str(imap_parser_error(P), "Too many literals", "  with the error");
	imap_parser_reset(P);
	for (int login = 0; login <= 1; login++) {
		pid_t pid = fork();
		int status;

		if (pid == 0) {
			long kib = worst_case_kib(login ? IMAP_LOGIN_MAX_CMD :
			    IMAP_MAX_CMD);

			_exit(kib < (login ? 2048 : 65536) ? 0 : 1);
		}
		waitpid(pid, &status, 0);
		tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "limits: worst-case input uses under %s",
		    login ? "2 MiB before login" : "64 MiB after");
	}
}

/* The parser's view while a literal is pending, and streamed literals. */
static void
test_partial(void)
{
	struct imap_literal_info li;
	const struct imap_arg *a;
	char dump[256] = "";

	imap_parser_reset(P);
	tap_is_int(feed(P, "t1 APPEND INBOX (\\Seen) {3+}"), IMAP_PARSE_LITERAL, "partial: literal at the end");
	imap_parser_literal_info(P, &li);
	tap_ok(li.size == 3 && !li.sync && !li.too_big, "partial: its info");
	tap_is_str(imap_parser_tag(P), "t1", "partial: the tag");
	tap_is_str(imap_parser_name(P), "APPEND", "partial: the name");
	dump_args(imap_parser_args(P), dump, sizeof(dump));
	tap_is_str(dump, "INBOX (\\Seen)", "partial: the arguments so far");
	imap_parser_literal_streamed(P);
	tap_is_int(feed(P, " ("), IMAP_PARSE_ERROR,
	    "partial: then an unclosed list");
	imap_parser_reset(P);
	feed(P, "t APPEND X (a (b {1}");
	dump[0] = '\0';
	dump_args(imap_parser_args(P), dump, sizeof(dump));
	tap_is_str(dump, "X (a (b))", "partial: open lists are visible");
	imap_parser_feed_literal(P, "c", 1);
	tap_is_int(feed(P, ") {2}"), IMAP_PARSE_LITERAL,
	    "partial: a second literal");
	imap_parser_literal_streamed(P);
	tap_is_int(feed(P, ")"), IMAP_PARSE_DONE,
	    "partial: done");
	dump[0] = '\0';
	dump_args(imap_parser_args(P), dump, sizeof(dump));
	tap_is_str(dump, "X (a (b {1}c) {2 streamed})",
	    "partial: streamed literal in the tree");
	a = imap_parser_args(P)[1].list;
	tap_ok(a[2].str == NULL && a[2].len == 2 &&
	    (a[2].flags & IMAP_ARG_STREAMED), "partial: streamed has no str");
	/* feed in pieces */
	imap_parser_reset(P);
	feed(P, "a X {6}");
	for (const char *c = "ab\r\ncd"; *c; c++)
		imap_parser_feed_literal(P, c, 1);
	tap_is_int(feed(P, ""), IMAP_PARSE_DONE,
	    "partial: literal fed a byte at a time");
	a = imap_parser_args(P);
	tap_is_mem(a[0].str, a[0].len, "ab\r\ncd", 6, "  and kept whole");
	tap_ok(a[0].str[6] == '\0', "  NUL-terminated");
	imap_parser_reset(P);
	feed(P, "a X {6}");
	imap_parser_feed_literal(P, "abc", 3);
	tap_is_int(feed(P, ""), IMAP_PARSE_ERROR,
	    "partial: a line before the literal's end is an error");
	imap_parser_reset(P);
	tap_is_int(feed(P, "a NOOP"), IMAP_PARSE_DONE,
	    "partial: a command");
	tap_is_int(feed(P, "b NOOP"), IMAP_PARSE_ERROR,
	    "partial: a line after the command's end needs a reset");
	imap_parser_reset(P);
}

static void
test_helpers(void)
{
	const struct imap_arg *a;

	tap_is_int(feed(P,
	    "a X atom \"q\" NIL %x \\Seen (l) ab]c () {2}"),
	    IMAP_PARSE_LITERAL, "helpers: command");
	imap_parser_literal_streamed(P);
	feed(P, " {1}");
	imap_parser_feed_literal(P, "L", 1);
	tap_is_int(feed(P, ""), IMAP_PARSE_DONE,
	    "helpers: command done");
	a = imap_parser_args(P);
	tap_is_int(imap_args_count(a), 10, "helpers: count");
	tap_is_int(imap_args_count(a[5].list), 1, "helpers: count in a list");
	tap_is_int(imap_args_count(NULL), 0, "helpers: count of NULL");
	tap_is_int(imap_args_count(a[7].list), 0, "helpers: count of ()");
	tap_ok(imap_arg_is_string(&a[0]) && imap_arg_is_string(&a[1]) &&
	    imap_arg_is_string(&a[2]) && imap_arg_is_string(&a[3]) &&
	    imap_arg_is_string(&a[4]) && imap_arg_is_string(&a[9]),
	    "helpers: atoms, quoted, NIL and literals are strings");
	tap_ok(!imap_arg_is_string(&a[5]) && !imap_arg_is_string(&a[8]) &&
	    !imap_arg_is_string(&a[10]) && !imap_arg_is_string(NULL),
	    "helpers: lists, streamed literals, EOL and NULL are not");
	tap_ok(imap_arg_is_astring(&a[0]) && imap_arg_is_astring(&a[1]) &&
	    imap_arg_is_astring(&a[2]) && imap_arg_is_astring(&a[6]) &&
	    imap_arg_is_astring(&a[9]),
	    "helpers: astring: atoms (with ']'), quoted, NIL, literals");
	tap_ok(!imap_arg_is_astring(&a[3]) && !imap_arg_is_astring(&a[4]) &&
	    !imap_arg_is_astring(&a[5]) && !imap_arg_is_astring(NULL),
	    "helpers: not astring: '%%', '\\', lists, NULL");
	tap_ok(imap_arg_is_atom(&a[0], "ATOM") && imap_arg_is_atom(&a[0],
	    "atom") && imap_arg_is_atom(&a[2], "nil"),
	    "helpers: is_atom ignores case");
	tap_ok(!imap_arg_is_atom(&a[0], "ATO") && !imap_arg_is_atom(&a[0],
	    "ATOMS") && !imap_arg_is_atom(&a[1], "q") &&
	    !imap_arg_is_atom(&a[9], "L") && !imap_arg_is_atom(NULL, "x") &&
	    !imap_arg_is_atom(&a[10], ""),
	    "helpers: is_atom wants the whole word and an atom");
	imap_parser_reset(P);
	tap_is_int(imap_args_count(imap_parser_args(P)), 0,
	    "helpers: no arguments after reset");
	tap_is_str(imap_parser_tag(P), "", "helpers: no tag after reset");
}

/* ---- the reader over a socketpair ---- */

static int peer;		/* the client's end */
static struct io io;

static void
reader_open(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	io_init(&io, sv[0], sv[0]);
	io_set_timeouts(&io, 5, 5);
	peer = sv[1];
}

static void
reader_close(void)
{
	close(io.fd_in);
	close(peer);
}

static void
send_peer(const char *s, size_t n)
{
	if (write_all(peer, s, n) < 0)
		abort();
}

#define SEND(s) send_peer(s, sizeof(s) - 1)

/* What the server has sent the client so far (without waiting). */
static const char *
sent(void)
{
	static char buf[4096];
	ssize_t n = recv(peer, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static const char *
args_dump(void)
{
	static char dump[4096];

	snprintf(dump, sizeof(dump), "%s %s | ", imap_parser_tag(P),
	    imap_parser_name(P));
	dump_args(imap_parser_args(P), dump, sizeof(dump));
	return dump;
}

static void
expect_cmd(int stream, const char *want, const char *what)
{
	tap_is_int(imap_read_command(P, &io, stream), IMAP_READ_DONE, what);
	tap_is_str(args_dump(), want, "  the command read");
}

static void
expect_bad(const char *tag, const char *err, const char *what)
{
	tap_is_int(imap_read_command(P, &io, 0), IMAP_READ_BAD, what);
	tap_is_str(imap_parser_tag(P), tag, "  the tag");
	tap_is_str(imap_parser_error(P), err, "  the error");
}

/* A client that waits for "+" before each synchronizing literal. */
static void
polite_client(void)
{
	char buf[64];
	ssize_t n;
	size_t got = 0;

	SEND("a LOGIN {5}\r\n");
	while (got < 6 && (n = read(peer, buf + got, 6 - got)) > 0)
		got += (size_t)n;
	if (got != 6 || memcmp(buf, "+ OK\r\n", 6) != 0)
		_exit(1);
	SEND("alice {6+}\r\nsecret\r\n");
	_exit(0);
}

static void
test_reader(void)
{
	static char big[IO_LINE_MAX + 100];
	pid_t pid, pid2;

	reader_open();
	pid = fork();
	if (pid == 0)
		polite_client();
	expect_cmd(0, "a LOGIN | {5}alice {6}secret",
	    "reader: a client that waits for the continuation request");
	tap_is_str(sent(), "", "  nothing more than one \"+ OK\" was sent");
	reader_close();

	reader_open();
	SEND("a LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n");
	expect_cmd(0, "a LOGIN | {5}alice {6}secret",
	    "reader: non-synchronizing literals");
	tap_is_str(sent(), "", "  no continuation request for them");
	SEND("b LOGIN {5}\r\nalice {6+}\r\nsecret\r\n");
	expect_cmd(0, "b LOGIN | {5}alice {6}secret", "reader: mixed");
	tap_is_str(sent(), "+ OK\r\n", "  one \"+ OK\" for the sync one");
	SEND("c X {0}\r\n\r\nd NOOP\r\n");
	expect_cmd(0, "c X | {0}", "reader: {0}");
	tap_is_str(sent(), "+ OK\r\n", "  \"+ OK\" for {0} too");
	expect_cmd(0, "d NOOP | ", "reader: next command");

	/* errors: the rest of the bad command is skipped */
	SEND("a X \"\0\" {5+}\r\nhello {3+}\r\nabc\r\nb NOOP\r\n");
	expect_bad("a", "NUL in command",
	    "reader: bad line ending in a non-sync literal");
	tap_is_str(sent(), "", "  no continuation request");
	expect_cmd(0, "b NOOP | ", "  the literals were skipped: in sync");
	SEND("a X \x01 {5}\r\nb NOOP\r\n");
	expect_bad("a", "Invalid character in command",
	    "reader: bad line ending in a sync literal");
	tap_is_str(sent(), "", "  no continuation request: not sent");
	expect_cmd(0, "b NOOP | ", "  next command");
	SEND("a X {3}\r\n");
	SEND("a\0b {2+}\r\nxy\r\nb NOOP\r\n");
	expect_bad("a", "NUL in literal", "reader: NUL in a literal");
	tap_is_str(sent(), "+ OK\r\n", "  after its continuation request");
	expect_cmd(0, "b NOOP | ", "  the rest was skipped");
	SEND("a X ~{3+}\r\nabc\r\nb NOOP\r\n");
	expect_bad("a", "Binary literals are not supported",
	    "reader: literal8 (BINARY is not offered)");
	expect_cmd(0, "b NOOP | ", "  its bytes were skipped: in sync");
	SEND("\r\nb NOOP\r\n");
	expect_bad("", "Empty command line", "reader: empty line");
	expect_cmd(0, "b NOOP | ", "  next command");
	memset(big, 'x', sizeof(big));
	send_peer(big, sizeof(big));
	SEND(" {5+}\r\nb NOOP\r\n");
	/* the skipped line's end is unseen: had it announced a literal, its
	 * bytes ("b NOOP") would be taken for commands, so the reader ends
	 * the connection instead */
	tap_is_int(imap_read_command(P, &io, 0), IMAP_READ_EOF,
	    "reader: line too long ends the connection");
	tap_is_str(imap_parser_error(P), "Line too long", "  the error");
	tap_is_str(sent(), "* BYE [TOOBIG] Line too long.\r\n",
	    "  with a BYE, and the literal's bytes are not read as a command");
	reader_close();

	/* literals over the budget (RFC 7888 4, G6) */
	imap_parser_free(P);
	P = imap_parser_new(IMAP_LOGIN_MAX_CMD);
	reader_open();
	SEND("a LOGIN {9000}\r\nb NOOP\r\n");
	expect_bad("a", "[TOOBIG] Literal too large",
	    "reader: sync literal too large");
	tap_is_str(sent(), "", "  refused before the client sends it");
	expect_cmd(0, "b NOOP | ", "  next command");
	SEND("a LOGIN {8180+}\r\n");
	memset(big, 'x', 8192);
	send_peer(big, 8180);
	SEND(" {3+}\r\nabc x\r\nb NOOP\r\n");
	expect_bad("a", "[TOOBIG] Literal too large",
	    "reader: non-sync literal over the budget before login");
	expect_cmd(0, "b NOOP | ", "  read and thrown away: in sync");
	tap_is_str(sent(), "", "  no continuation request");
	SEND("a LOGIN \x01 {8192+}\r\n");
	send_peer(big, 8192);
	SEND("\r\nb NOOP\r\n");
	expect_bad("a", "Invalid character in command",
	    "reader: bad line with a non-sync literal of the budget");
	expect_cmd(0, "b NOOP | ", "  read and thrown away: in sync");
	/* G6: past the whole budget before login: BYE and close */
	SEND("a LOGIN {8193+}\r\n");
	tap_is_int(imap_read_command(P, &io, 0), IMAP_READ_EOF,
	    "reader: non-sync literal past the budget before login ends it");
	tap_is_str(sent(), "* BYE [TOOBIG] Literal too large\r\n",
	    "  with BYE [TOOBIG]");
	reader_close();
	reader_open();
	SEND("a LOGIN \x01 {9000+}\r\n");
	tap_is_int(imap_read_command(P, &io, 0), IMAP_READ_EOF,
	    "reader: the same after a syntax error");
	tap_is_str(sent(), "* BYE [TOOBIG] Literal too large\r\n",
	    "  with BYE [TOOBIG]");
	reader_close();
	imap_parser_free(P);
	P = imap_parser_new(IMAP_MAX_CMD);

	/* after login a non-sync literal over the limit is thrown away
	 * (RFC 7888 4, choice 1), whatever its size: just over the limit,
	 * and the size of the old 1 MiB limit + 100 */
	for (int k = 0; k < 2; k++) {
		size_t hsize = k == 0 ? IMAP_MAX_CMD + 100 : 1048576 + 100;

		reader_open();
		pid2 = fork();
		if (pid2 == 0) {
			char *huge = xcalloc(1, hsize), ann[64];
			int an = snprintf(ann, sizeof(ann), "a X {%zu+}\r\n",
			    hsize);

			send_peer(ann, (size_t)an);
			memset(huge, 'z', hsize);
			send_peer(huge, hsize);
			SEND(" y\r\nb NOOP\r\n");
			_exit(0);
		}
		expect_bad("a", "[TOOBIG] Literal too large", k == 0 ?
		    "reader: non-sync literal of IMAP_MAX_CMD + 100 bytes" :
		    "reader: non-sync literal of 1 MiB + 100 bytes");
		expect_cmd(0, "b NOOP | ", "  read and thrown away: in sync");
		tap_is_str(sent(), "", "  no continuation request, no BYE");
		waitpid(pid2, NULL, 0);
		reader_close();
	}
	if (pid > 0) {
		int status;

		waitpid(pid, &status, 0);
		tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "reader: the polite client saw \"+ OK\"");
	}
}

static void
test_stream(void)
{
	char buf[64];
	ssize_t n;
	size_t got;
	struct imap_literal_info li;

	reader_open();
	SEND("a APPEND INBOX (\\Seen) {11}\r\nhello world\r\n");
	tap_is_int(imap_read_command(P, &io, 1), IMAP_READ_LITERAL,
	    "stream: stops before the literal");
	tap_is_str(args_dump(), "a APPEND | INBOX (\\Seen)",
	    "  the arguments before it");
	tap_is_str(sent(), "", "  nothing sent yet");
	imap_parser_literal_info(P, &li);
	tap_ok(li.size == 11 && li.sync, "  its size and kind");
	tap_is_int(imap_literal_accept(P, &io), IO_OK, "stream: accept");
	tap_is_str(sent(), "+ OK\r\n", "  sends the continuation request");
	got = 0;
	while ((n = imap_literal_read(P, &io, buf + got, 4)) > 0)
		got += (size_t)n;
	tap_is_int(n, 0, "stream: read to the end");
	tap_is_mem(buf, got, "hello world", 11, "  the literal's bytes");
	tap_is_int(imap_read_continue(P, &io, 1), IMAP_READ_DONE,
	    "stream: continue to the end");
	tap_is_str(args_dump(), "a APPEND | INBOX (\\Seen) {11 streamed}",
	    "  streamed literal in the arguments");

	/* MULTIAPPEND: accept the first, refuse the second */
	SEND("b APPEND INBOX {3+}\r\nabc {4+}\r\ndefg\r\nc NOOP\r\n");
	tap_is_int(imap_read_command(P, &io, 1), IMAP_READ_LITERAL,
	    "stream: multiappend first literal");
	tap_is_int(imap_literal_accept(P, &io), IO_OK, "  accepted");
	tap_is_str(sent(), "", "  no \"+\" for a non-sync literal");
	tap_is_int(imap_literal_read(P, &io, buf, 2), 2, "  read part of it");
	tap_is_int(imap_read_continue(P, &io, 1), IMAP_READ_LITERAL,
	    "stream: continue skips the unread rest, stops at the second");
	tap_is_str(args_dump(), "b APPEND | INBOX {3 streamed}",
	    "  the arguments so far");
	tap_is_int(imap_literal_refuse(P, &io), IO_OK, "stream: refuse it");
	expect_cmd(0, "c NOOP | ", "  the rest was skipped: in sync");
	SEND("d APPEND INBOX {30}\r\ne NOOP\r\n");
	tap_is_int(imap_read_command(P, &io, 1), IMAP_READ_LITERAL,
	    "stream: sync literal");
	tap_is_int(imap_literal_refuse(P, &io), IO_OK, "stream: refused");
	tap_is_str(sent(), "", "  without a continuation request");
	tap_is_int(imap_read_continue(P, &io, 1), IMAP_READ_BAD,
	    "  continue after refuse is BAD");
	expect_cmd(0, "e NOOP | ", "  next command");
	SEND("f NOOP\r\n");
	expect_cmd(1, "f NOOP | ", "stream: a command without literals");
	SEND("g LOGIN {5}\r\nalice {3+}\r\nabc\r\n");
	tap_is_int(imap_read_command(P, &io, 1), IMAP_READ_LITERAL,
	    "stream: literal of a command that does not stream");
	tap_is_int(imap_read_continue(P, &io, 1), IMAP_READ_LITERAL,
	    "  continue without accept keeps it");
	tap_is_str(sent(), "+ OK\r\n", "  after a continuation request");
	tap_is_int(imap_read_continue(P, &io, 0), IMAP_READ_DONE,
	    "  and the next one");
	tap_is_str(args_dump(), "g LOGIN | {5}alice {3}abc",
	    "  both in the arguments");
	tap_is_int(imap_read_continue(P, &io, 0), IMAP_READ_BAD,
	    "stream: continue after the end is BAD");

	/* EOF and timeout */
	SEND("g APPEND INBOX {5+}\r\nab");
	tap_is_int(imap_read_command(P, &io, 1), IMAP_READ_LITERAL,
	    "stream: literal then EOF");
	imap_literal_accept(P, &io);
	shutdown(peer, SHUT_WR);
	got = 0;
	while ((n = imap_literal_read(P, &io, buf, sizeof(buf))) > 0)
		got += (size_t)n;
	tap_ok(n == -1 && got == 2, "  read gives -1 at EOF");
	reader_close();
	reader_open();
	SEND("h LOGIN {3+}\r\nab");
	shutdown(peer, SHUT_WR);
	tap_is_int(imap_read_command(P, &io, 0), IMAP_READ_EOF,
	    "reader: EOF inside a literal");
	reader_close();
	reader_open();
	SEND("h NOOP");
	shutdown(peer, SHUT_WR);
	tap_is_int(imap_read_command(P, &io, 0), IMAP_READ_EOF,
	    "reader: EOF inside a line");
	reader_close();
	reader_open();
	io_set_timeouts(&io, 1, 1);
	SEND("i LOGIN {3}\r\n");
	tap_is_int(imap_read_command(P, &io, 0), IMAP_READ_TIMEOUT,
	    "reader: timeout waiting for a literal");
	reader_close();
}

int
main(void)
{
	P = imap_parser_new(IMAP_MAX_CMD);
	test_tokens();
	test_literals();
	test_errors();
	test_nul_escape();
	test_limits();
	test_memory();
	test_partial();
	test_helpers();
	test_reader();
	test_stream();
	imap_parser_free(P);
	return tap_done();
}
