/*
 * parse.c - the IMAP command parser (RFC 3501 9, RFC 7888) and the
 * reader that drives it from the network.  The token rules are in
 * parse.h.
 *
 * Everything here is client input.  Memory is bounded by the parser's
 * limits: every line and every kept literal counts against max_cmd
 * bytes (so a token costs at least one byte of the budget), tokens
 * against IMAP_MAX_ARGS, kept literals against IMAP_MAX_LITERALS, list
 * nesting against the depth limit (1 before login); nothing recurses
 * deeper than the nesting.  The argument tree is built in place, one
 * array per open list, each always ended by an EOL entry, so the
 * arguments are valid to look at after every call.
 *
 * After a syntax error the reader skips the rest of the command: a
 * non-synchronizing literal announced at the end of the bad line is read
 * and thrown away, with the lines after it while they end in one; a
 * synchronizing one gets no "+", so the client never sends it.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"
#include "util.h"

/* Tokens on one level: a[0..n) then an EOL entry; cap allocated. */
struct level {
	struct imap_arg *a;
	size_t n, cap;
};

enum pstate {
	P_START,	/* nothing fed yet */
	P_ARGS,		/* in the arguments */
	P_LITERAL,	/* a literal announced, its bytes are due */
	P_DONE,
	P_ERROR,
};

/* What may come next in the line. */
enum expect {
	X_SEP,		/* after a token: SP, ")" or the end */
	X_JOIN,		/* after ")": the same, or a joined "]..." atom */
	X_TOKEN,	/* after SP: a token (or the end: trailing SP) */
	X_OPEN,		/* after "(": a token or ")" */
};

struct imap_parser {
	size_t max_cmd;
	size_t max_depth;
	enum pstate state;
	enum expect expect;
	char tag[IMAP_TAG_MAX + 1];
	char name[IMAP_CMDNAME_MAX + 1];
	struct level lv[IMAP_MAX_DEPTH + 1];
	size_t depth;			/* open lists */
	size_t nargs;			/* tokens so far */
	size_t nargs_base;		/* nargs at the last streamed literal:
					 * the token cap is per APPEND message */
	size_t nlits;			/* literals kept */
	size_t bytes;			/* line and kept literal bytes */
	const char *err;

	/* the pending literal */
	uint64_t lit_size, lit_got;
	int lit_sync, lit_too_big, lit_nul;
	char *lit_buf;			/* allocated on the first byte */

	/* the literal announced at the end of a bad line (resync) */
	int skip_lit, skip_sync;
	uint64_t skip_size;

	/* the reader */
	int accepted;			/* stream mode: literal accepted */
	uint64_t stream_left;
	char line[IO_LINE_MAX + 1];
};

/* RFC 7888 number64: 0 <= n <= 2^63 - 1. */
#define NUMBER64_MAX ((uint64_t)INT64_MAX)

/* Literals kept in one command (SECURITY.md G8, CVE-2024-34055);
 * streamed ones (APPEND's messages) are not kept and not counted. */
#define IMAP_MAX_LITERALS 1000

/* Before login no command needs a list in a list (ID has one level);
 * SECURITY.md G6 caps the nesting there at 1 (CVE-2026-27857). */
#define IMAP_LOGIN_MAX_DEPTH 1

static const struct imap_arg eol_arg;

/* ---- the argument tree ---- */

static void
free_args(struct imap_arg *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i].type == IMAP_ARG_LIST)
			free_args(a[i].list, a[i].len);	/* depth-bounded */
		else
			free(a[i].str);
	}
	free(a);
}

static void
tree_free(struct imap_parser *p)
{
	if (p->lv[0].a != NULL)
		free_args(p->lv[0].a, p->lv[0].n);
	memset(p->lv, 0, sizeof(p->lv));
	p->depth = 0;
}

/* Room for one more element on the current level; returns it. */
static struct imap_arg *
push_arg(struct imap_parser *p, enum imap_arg_type type)
{
	struct level *l = &p->lv[p->depth];
	struct imap_arg *a;

	if (l->n + 1 >= l->cap) {
		l->cap = l->cap == 0 ? 4 : l->cap * 2;
		l->a = xreallocarray(l->a, l->cap, sizeof(*l->a));
		if (p->depth > 0) {
			/* the parent's LIST entry points at this array */
			struct level *up = &p->lv[p->depth - 1];
			up->a[up->n - 1].list = l->a;
		}
	}
	a = &l->a[l->n++];
	memset(a, 0, 2 * sizeof(*a));	/* the element and the EOL after */
	a->type = type;
	if (p->depth > 0)
		p->lv[p->depth - 1].a[p->lv[p->depth - 1].n - 1].len = l->n;
	p->nargs++;
	return a;
}

static int
fail(struct imap_parser *p, const char *err)
{
	p->state = P_ERROR;
	p->err = err;
	return -1;
}

/* Make room for a token; -1 when the command has too many. */
static int
count_token(struct imap_parser *p)
{
	if (p->nargs - p->nargs_base >= IMAP_MAX_ARGS)
		return fail(p, "Too many arguments");
	return 0;
}

static void
add_string(struct imap_parser *p, enum imap_arg_type type, char *s,
    size_t len, unsigned flags)
{
	struct imap_arg *a = push_arg(p, type);

	a->str = s;
	a->len = len;
	a->flags = flags;
}

/* ---- tokens ---- */

static int
is_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '"' &&
	    c != '{' && c != '\\';
}

/* RFC 3501 9: tag = 1*<any ASTRING-CHAR except "+">. */
static int
is_tag_char(unsigned char c)
{
	return is_atom_char(c) && c != '%' && c != '*' && c != '+';
}

static int
open_list(struct imap_parser *p)
{
	struct imap_arg *a;

	if (p->depth >= p->max_depth)
		return fail(p, "Lists nested too deeply");
	if (count_token(p) < 0)
		return -1;
	a = push_arg(p, IMAP_ARG_LIST);
	p->depth++;
	/* "()" costs 2 bytes of input: keep an empty list small */
	p->lv[p->depth].cap = 2;
	p->lv[p->depth].n = 0;
	p->lv[p->depth].a = xcalloc(2, sizeof(struct imap_arg));
	a->list = p->lv[p->depth].a;
	a->len = 0;
	p->expect = X_OPEN;
	return 0;
}

static int
close_list(struct imap_parser *p)
{
	if (p->depth == 0)
		return fail(p, "Unexpected ')'");
	if (p->expect == X_TOKEN)
		return fail(p, "Extra space before ')'");
	memset(&p->lv[p->depth], 0, sizeof(p->lv[0]));	/* owned by parent */
	p->depth--;
	p->expect = X_JOIN;
	return 0;
}

/* An atom at line[*i]; leading "\" allowed (flags). */
static int
atom(struct imap_parser *p, const char *line, size_t len, size_t *i,
    unsigned flags)
{
	size_t start = *i, j = *i;
	struct imap_arg *a;

	if (j < len && line[j] == '\\')
		j++;
	while (j < len && is_atom_char((unsigned char)line[j]))
		j++;
	if (j == start || (j == start + 1 && line[start] == '\\'))
		return fail(p, (unsigned char)line[start] >= 0x80 ?
		    "8-bit character outside a quoted string" :
		    "Invalid character in command");
	if (j < len && line[j] == '{' && j == start + 1 && line[start] == '~')
		return fail(p, "Binary literals are not supported");
	if (count_token(p) < 0)
		return -1;
	a = push_arg(p, j - start == 3 && strncasecmp(line + start, "NIL", 3)
	    == 0 ? IMAP_ARG_NIL : IMAP_ARG_ATOM);
	a->str = xstrndup(line + start, j - start);
	a->len = j - start;
	a->flags = flags;
	*i = j;
	p->expect = X_SEP;
	return 0;
}

/* A quoted string at line[*i] == '"'. */
static int
quoted(struct imap_parser *p, const char *line, size_t len, size_t *i)
{
	size_t j = *i + 1, n = 0;
	char *s;

	/* first pass: find the end and check the escapes */
	for (; j < len && line[j] != '"'; j++) {
		if (line[j] == '\\') {
			if (++j == len || (line[j] != '"' && line[j] != '\\'))
				return fail(p, "Invalid escape in quoted string");
		}
		n++;
	}
	if (j == len)
		return fail(p, "Missing '\"'");
	if (count_token(p) < 0)
		return -1;
	s = xmalloc(n + 1);
	n = 0;
	for (size_t k = *i + 1; k < j; k++) {
		if (line[k] == '\\')
			k++;
		s[n++] = line[k];
	}
	s[n] = '\0';
	add_string(p, IMAP_ARG_QUOTED, s, n, 0);
	*i = j + 1;
	p->expect = X_SEP;
	return 0;
}

/*
 * "{" number ["+"] "}" from line[start] to the end of the line: 0 with
 * the size and whether it is synchronizing, or -1.
 */
static int
literal_syntax(const char *line, size_t start, size_t len, uint64_t *size,
    int *sync)
{
	size_t j = start + 1;
	uint64_t n = 0;

	if (j >= len || line[j] < '0' || line[j] > '9')
		return -1;
	for (; j < len && line[j] >= '0' && line[j] <= '9'; j++) {
		if (n > (NUMBER64_MAX - (uint64_t)(line[j] - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(line[j] - '0');
	}
	*sync = 1;
	if (j < len && line[j] == '+') {
		*sync = 0;
		j++;
	}
	if (j + 1 != len || line[j] != '}')
		return -1;
	*size = n;
	return 0;
}

/* A literal announcement at line[*i] == '{'. */
static int
literal(struct imap_parser *p, const char *line, size_t len, size_t *i)
{
	const char *close = memchr(line + *i, '}', len - *i);
	uint64_t size;
	int sync;

	if (close == NULL || close != line + len - 1)
		return fail(p, close == NULL ? "Missing '}'" :
		    "A literal must end the line");
	if (literal_syntax(line, *i, len, &size, &sync) < 0)
		return fail(p, "Invalid literal size");
	if (count_token(p) < 0)
		return -1;
	if (p->nlits >= IMAP_MAX_LITERALS)
		return fail(p, "Too many literals");
	p->lit_size = size;
	p->lit_sync = sync;
	p->lit_got = 0;
	p->lit_nul = 0;
	p->lit_too_big = size > p->max_cmd - p->bytes;
	p->state = P_LITERAL;
	*i = len;
	return 0;
}

/* One token or separator at line[*i]. */
static int
step(struct imap_parser *p, const char *line, size_t len, size_t *i)
{
	char c = line[*i];

	if (c == ' ') {
		if (p->expect == X_TOKEN || p->expect == X_OPEN)
			return fail(p, "Extra space");
		p->expect = X_TOKEN;
		(*i)++;
		return 0;
	}
	if (c == ')') {
		(*i)++;
		return close_list(p);
	}
	if (p->expect == X_JOIN && c == ']')
		return atom(p, line, len, i, IMAP_ARG_JOINED);
	if (p->expect == X_SEP || p->expect == X_JOIN)
		return fail(p, "Missing space between arguments");
	switch (c) {
	case '(':
		(*i)++;
		return open_list(p);
	case '"':
		return quoted(p, line, len, i);
	case '{':
		return literal(p, line, len, i);
	default:
		return atom(p, line, len, i, 0);
	}
}

/* The end of a line that announced no literal: the end of the command. */
static int
end_of_command(struct imap_parser *p)
{
	/* RFC 3501 9 rule 2 forbids the trailing SP; clients send it. */
	if (p->depth > 0)
		return fail(p, "Missing ')'");
	p->state = P_DONE;
	return 0;
}

static int
tokens(struct imap_parser *p, const char *line, size_t len, size_t i)
{
	while (i < len && p->state == P_ARGS)
		if (step(p, line, len, &i) < 0)
			return -1;
	if (p->state == P_ARGS)
		return end_of_command(p);
	return 0;
}

/* "tag SP name" at the start of the first line; *i after the name. */
static int
tag_and_name(struct imap_parser *p, const char *line, size_t len,
    size_t *i)
{
	size_t t = 0, n;

	if (len == 0)
		return fail(p, "Empty command line");
	while (t < len && line[t] != ' ')
		if (!is_tag_char((unsigned char)line[t++]))
			return fail(p, "Invalid tag");
	if (t == 0)
		return fail(p, "Invalid tag");
	if (t > IMAP_TAG_MAX)
		return fail(p, "Tag too long");
	memcpy(p->tag, line, t);
	p->tag[t] = '\0';
	if (t == len || t + 1 == len)
		return fail(p, "Missing command");
	for (n = t + 1; n < len && line[n] != ' '; n++)
		if (!((line[n] >= 'A' && line[n] <= 'Z') ||
		    (line[n] >= 'a' && line[n] <= 'z')))
			return fail(p, "Invalid command name");
	if (n == t + 1)
		return fail(p, "Missing command");
	if (n - t - 1 > IMAP_CMDNAME_MAX)
		return fail(p, "Command name too long");
	for (size_t k = t + 1; k < n; k++)
		p->name[k - t - 1] = (char)(line[k] & ~0x20);
	p->name[n - t - 1] = '\0';
	*i = n;
	return 0;
}

/* Remember a literal announced at the end of a bad line, so that the
 * reader can keep the stream in sync (RFC 7888 4). */
static void
note_trailing_literal(struct imap_parser *p, const char *line, size_t len)
{
	const char *open;

	p->skip_lit = 0;
	if (len < 3 || line[len - 1] != '}')
		return;
	open = memrchr(line, '{', len);
	if (open != NULL && literal_syntax(line, (size_t)(open - line), len,
	    &p->skip_size, &p->skip_sync) == 0)
		p->skip_lit = 1;
}

/* The pending literal's bytes are all in: it becomes an argument. */
static int
finish_literal(struct imap_parser *p)
{
	if (p->lit_got < p->lit_size)
		return fail(p, "Literal shorter than announced");
	if (p->lit_nul)
		return fail(p, "NUL in literal");
	if (p->lit_too_big)
		return fail(p, "[TOOBIG] Literal too large");
	if (p->lit_buf == NULL)
		p->lit_buf = xmalloc(1);
	p->lit_buf[p->lit_size] = '\0';
	add_string(p, IMAP_ARG_LITERAL, p->lit_buf, p->lit_size, 0);
	p->bytes += p->lit_size;
	p->nlits++;
	p->lit_buf = NULL;
	p->state = P_ARGS;
	p->expect = X_SEP;
	return 0;
}

static int
feed(struct imap_parser *p, const char *line, size_t len)
{
	/* G7: NUL anywhere is refused (CVE-2019-11500); a CR inside a
	 * line is no line ending we know */
	const char *bad = memchr(line, '\0', len) != NULL ? "NUL in command" :
	    memchr(line, '\r', len) != NULL ? "CR in command line" : NULL;
	size_t i = 0;

	switch (p->state) {
	case P_START:
		p->state = P_ARGS;
		if (tag_and_name(p, line, len, &i) < 0) {
			if (bad != NULL)
				p->err = bad;
			return -1;
		}
		p->expect = X_SEP;
		break;
	case P_LITERAL:
		if (finish_literal(p) < 0)
			return -1;
		break;
	case P_ARGS:
		break;
	case P_DONE:
		return fail(p, "Command already complete");
	case P_ERROR:
		return -1;
	}
	if (bad != NULL)
		return fail(p, bad);
	if (len > IO_LINE_MAX)
		return fail(p, "Line too long");
	if (len > p->max_cmd - p->bytes)
		return fail(p, "Command too long");
	p->bytes += len;
	return tokens(p, line, len, i);
}

/* ---- the parser's interface ---- */

struct imap_parser *
imap_parser_new(size_t max_cmd)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));

	p->max_cmd = max_cmd;
	p->max_depth = max_cmd <= IMAP_LOGIN_MAX_CMD ? IMAP_LOGIN_MAX_DEPTH :
	    IMAP_MAX_DEPTH;
	return p;
}

void
imap_parser_free(struct imap_parser *p)
{
	if (p == NULL)
		return;
	imap_parser_reset(p);
	free(p);
}

void
imap_parser_reset(struct imap_parser *p)
{
	tree_free(p);
	free(p->lit_buf);
	p->lit_buf = NULL;
	p->state = P_START;
	p->expect = X_SEP;
	p->tag[0] = p->name[0] = '\0';
	p->nargs = p->nargs_base = p->bytes = p->nlits = 0;
	p->err = NULL;
	p->lit_size = p->lit_got = 0;
	p->lit_sync = p->lit_too_big = p->lit_nul = 0;
	p->skip_lit = p->skip_sync = 0;
	p->skip_size = 0;
	p->accepted = 0;
	p->stream_left = 0;
}

enum imap_parse_result
imap_parser_feed_line(struct imap_parser *p, const char *line, size_t len)
{
	if (feed(p, line, len) < 0) {
		note_trailing_literal(p, line, len);
		return IMAP_PARSE_ERROR;
	}
	return p->state == P_LITERAL ? IMAP_PARSE_LITERAL : IMAP_PARSE_DONE;
}

void
imap_parser_literal_info(const struct imap_parser *p,
    struct imap_literal_info *li)
{
	memset(li, 0, sizeof(*li));
	if (p->state != P_LITERAL)
		return;
	li->size = p->lit_size;
	li->sync = p->lit_sync;
	li->too_big = p->lit_too_big;
}

void
imap_parser_feed_literal(struct imap_parser *p, const void *data, size_t n)
{
	uint64_t left;

	if (p->state != P_LITERAL)
		return;
	left = p->lit_size - p->lit_got;
	if (n > left)
		n = (size_t)left;
	if (n == 0)
		return;
	if (memchr(data, '\0', n) != NULL)
		p->lit_nul = 1;
	if (!p->lit_too_big) {
		if (p->lit_buf == NULL)
			p->lit_buf = xmalloc((size_t)p->lit_size + 1);
		memcpy(p->lit_buf + p->lit_got, data, n);
	}
	p->lit_got += n;
}

void
imap_parser_literal_streamed(struct imap_parser *p)
{
	if (p->state != P_LITERAL)
		return;
	free(p->lit_buf);
	p->lit_buf = NULL;
	add_string(p, IMAP_ARG_LITERAL, NULL, (size_t)p->lit_size,
	    IMAP_ARG_STREAMED);
	p->nargs_base = p->nargs;
	p->state = P_ARGS;
	p->expect = X_SEP;
}

const char *
imap_parser_tag(const struct imap_parser *p)
{
	return p->tag;
}

const char *
imap_parser_name(const struct imap_parser *p)
{
	return p->name;
}

const struct imap_arg *
imap_parser_args(const struct imap_parser *p)
{
	return p->lv[0].a != NULL ? p->lv[0].a : &eol_arg;
}

const char *
imap_parser_error(const struct imap_parser *p)
{
	return p->err != NULL ? p->err : "Syntax error";
}

/* ---- the reader ---- */

static enum imap_read_result
io_result(enum io_status st)
{
	return st == IO_TIMEOUT ? IMAP_READ_TIMEOUT : IMAP_READ_EOF;
}

/* Read and throw away n bytes. */
static enum io_status
discard(struct imap_parser *p, struct io *io, uint64_t n)
{
	enum io_status st;
	size_t got;

	while (n > 0) {
		st = io_read_some(io, p->line, n < sizeof(p->line) ?
		    (size_t)n : sizeof(p->line), &got);
		if (st != IO_OK)
			return st;
		n -= got;
	}
	return IO_OK;
}

/*
 * Throw away a non-synchronizing literal the command cannot use, to stay
 * in sync (RFC 7888 4, choice 1).  Before login a literal past the whole
 * budget gets "* BYE" and the connection ends instead (RFC 7888 4,
 * choice 2; SECURITY.md G6): reading it would only let an anonymous
 * client keep the process busy.
 */
static enum io_status
discard_literal(struct imap_parser *p, struct io *io, uint64_t n)
{
	if (p->max_cmd <= IMAP_LOGIN_MAX_CMD && n > p->max_cmd) {
		io_puts(io, "* BYE [TOOBIG] Literal too large\r\n");
		io_flush(io);
		return IO_ERROR;
	}
	return discard(p, io, n);
}

/*
 * A line longer than IO_LINE_MAX: io_readline() skipped it, so what it
 * ended with cannot be seen.  If that was "{n+}", the client is sending
 * n bytes of literal now, and reading them as commands would run
 * whatever the literal holds (a search string, a message).  So the
 * connection ends, as RFC 7888 4 allows for a literal the server will
 * not take.
 */
static enum io_status
too_long(struct io *io)
{
	io_puts(io, "* BYE [TOOBIG] Line too long.\r\n");
	io_flush(io);
	return IO_ERROR;
}

/*
 * A non-synchronizing literal of the command being skipped has been
 * read: the next line is still part of the command, and so on while
 * lines end in non-synchronizing literals.  A synchronizing one ends it:
 * no "+" is sent, so the client never sends it.
 */
static enum io_status
skip_rest(struct imap_parser *p, struct io *io)
{
	enum io_status st;
	size_t len;

	for (;;) {
		st = io_readline(io, p->line, IO_LINE_MAX, &len);
		if (st == IO_TOOLONG)
			return too_long(io);
		if (st != IO_OK)
			return st;
		note_trailing_literal(p, p->line, len);
		if (!p->skip_lit || p->skip_sync)
			return IO_OK;
		if ((st = discard_literal(p, io, p->skip_size)) != IO_OK)
			return st;
	}
}

/* After a syntax error: skip what is left of the command. */
static enum imap_read_result
skip_bad(struct imap_parser *p, struct io *io)
{
	enum io_status st;

	p->state = P_ERROR;
	if (p->skip_lit && !p->skip_sync) {
		if ((st = discard_literal(p, io, p->skip_size)) != IO_OK ||
		    (st = skip_rest(p, io)) != IO_OK)
			return io_result(st);
	}
	return IMAP_READ_BAD;
}

/* A literal the command cannot keep (RFC 7888 4, RFC 4469 TOOBIG). */
static enum imap_read_result
too_big(struct imap_parser *p, struct io *io)
{
	p->skip_lit = 1;
	p->skip_sync = p->lit_sync;
	p->skip_size = p->lit_size;
	fail(p, "[TOOBIG] Literal too large");
	return skip_bad(p, io);
}

/* Non-stream mode: send "+" if needed and keep the literal's bytes. */
static enum io_status
keep_literal(struct imap_parser *p, struct io *io)
{
	enum io_status st;
	size_t got;

	if (p->lit_sync && ((st = io_puts(io, "+ OK\r\n")) != IO_OK ||
	    (st = io_flush(io)) != IO_OK))
		return st;
	while (p->lit_got < p->lit_size) {
		uint64_t left = p->lit_size - p->lit_got;

		st = io_read_some(io, p->line, left < sizeof(p->line) ?
		    (size_t)left : sizeof(p->line), &got);
		if (st != IO_OK)
			return st;
		imap_parser_feed_literal(p, p->line, got);
	}
	return IO_OK;
}

static enum imap_read_result
read_lines(struct imap_parser *p, struct io *io, int stream)
{
	enum io_status st;
	size_t len;

	for (;;) {
		st = io_readline(io, p->line, IO_LINE_MAX, &len);
		if (st == IO_TOOLONG) {
			fail(p, "Line too long");
			return io_result(too_long(io));
		}
		if (st != IO_OK)
			return io_result(st);
		switch (imap_parser_feed_line(p, p->line, len)) {
		case IMAP_PARSE_DONE:
			return IMAP_READ_DONE;
		case IMAP_PARSE_ERROR:
			return skip_bad(p, io);
		case IMAP_PARSE_LITERAL:
			break;
		}
		if (stream)
			return IMAP_READ_LITERAL;
		if (p->lit_too_big)
			return too_big(p, io);
		if ((st = keep_literal(p, io)) != IO_OK)
			return io_result(st);
	}
}

enum imap_read_result
imap_read_command(struct imap_parser *p, struct io *io, int stream)
{
	imap_parser_reset(p);
	return read_lines(p, io, stream);
}

enum imap_read_result
imap_read_continue(struct imap_parser *p, struct io *io, int stream)
{
	enum io_status st;

	if (p->state != P_LITERAL)
		return IMAP_READ_BAD;	/* refused, or nothing pending */
	if (!p->accepted) {
		/* neither accepted nor refused: kept, as without stream
		 * mode (a command that turned out not to be APPEND) */
		if (p->lit_too_big)
			return too_big(p, io);
		if ((st = keep_literal(p, io)) != IO_OK)
			return io_result(st);
		return read_lines(p, io, stream);
	}
	/* bytes the caller left unread are not the next command's */
	if (p->stream_left > 0 &&
	    (st = discard(p, io, p->stream_left)) != IO_OK)
		return io_result(st);
	p->accepted = 0;
	p->stream_left = 0;
	imap_parser_literal_streamed(p);
	return read_lines(p, io, stream);
}

enum io_status
imap_literal_accept(struct imap_parser *p, struct io *io)
{
	enum io_status st;

	if (p->state != P_LITERAL || p->accepted)
		return IO_ERROR;
	if (p->lit_sync && ((st = io_puts(io, "+ OK\r\n")) != IO_OK ||
	    (st = io_flush(io)) != IO_OK))
		return st;
	p->accepted = 1;
	p->stream_left = p->lit_size;
	return IO_OK;
}

ssize_t
imap_literal_read(struct imap_parser *p, struct io *io, void *buf, size_t n)
{
	size_t got;

	if (p->state != P_LITERAL || !p->accepted)
		return -1;
	if (p->stream_left == 0 || n == 0)
		return 0;
	if (n > p->stream_left)
		n = (size_t)p->stream_left;
	if (n > SSIZE_MAX)
		n = SSIZE_MAX;
	if (io_read_some(io, buf, n, &got) != IO_OK)
		return -1;
	p->stream_left -= got;
	return (ssize_t)got;
}

enum io_status
imap_literal_refuse(struct imap_parser *p, struct io *io)
{
	enum io_status st = IO_OK;
	int sync = p->lit_sync;
	uint64_t size = p->lit_size;

	if (p->state != P_LITERAL || p->accepted)
		return IO_OK;
	fail(p, "Literal refused");
	if (!sync && (st = discard_literal(p, io, size)) == IO_OK)
		st = skip_rest(p, io);
	return st;
}

/* ---- argument helpers ---- */

int
imap_arg_is_string(const struct imap_arg *a)
{
	if (a == NULL || a->str == NULL)
		return 0;
	return a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_NIL ||
	    a->type == IMAP_ARG_QUOTED || a->type == IMAP_ARG_LITERAL;
}

int
imap_arg_is_astring(const struct imap_arg *a)
{
	if (!imap_arg_is_string(a))
		return 0;
	if (a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_NIL)
		return 1;
	/* ASTRING-CHAR: ATOM-CHAR or "]"; no list-wildcards or "\" */
	return (a->flags & IMAP_ARG_JOINED) == 0 &&
	    strpbrk(a->str, "%*\\") == NULL;
}

int
imap_arg_is_atom(const struct imap_arg *a, const char *word)
{
	if (a == NULL || a->str == NULL ||
	    (a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_NIL))
		return 0;
	return strlen(word) == a->len && strcasecmp(a->str, word) == 0;
}

size_t
imap_args_count(const struct imap_arg *a)
{
	size_t n = 0;

	if (a == NULL)
		return 0;
	while (a[n].type != IMAP_ARG_EOL)
		n++;
	return n;
}
