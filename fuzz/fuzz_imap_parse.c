/*
 * fuzz_imap_parse.c - the IMAP command parser, its reader, sequence sets
 * and dates (parse.h).
 *
 * Input: one flag byte, then the client's byte stream.
 *   bit 0   the pre-login parser (IMAP_LOGIN_MAX_CMD, nesting 1)
 *   bit 1   the reader in stream mode (APPEND)
 *   bit 2   stream mode: refuse every other literal
 *   bit 3   stream mode: read only part of accepted literals
 *   bit 4-5 literal piece size for the direct parser: 1, 7, 64 or all
 *   bit 6   stream mode: leave every third literal to the reader (kept)
 * The stream is fed twice: straight to the parser (lines split at LF, one
 * CR before it removed, as io_readline does; after a literal
 * announcement its bytes come next), and through a pipe to the reader.
 * Every command the parser completes must be well formed (strings
 * NUL-terminated at len with no NUL inside, list lengths right), must
 * come out the same when written back in canonical form and parsed
 * again, and each of its atoms and strings goes through seqset_* and
 * the date parsers, whose results are checked for consistency.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parse.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

/* ---- writing a command back ---- */

struct out {
	char *b;
	size_t len, cap;
};

static void
put(struct out *o, const void *p, size_t n)
{
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2;
		o->b = xreallocarray(o->b, o->cap, 1);
	}
	memcpy(o->b + o->len, p, n);
	o->len += n;
}

static void
put_args(struct out *o, const struct imap_arg *a);

static void
put_arg(struct out *o, const struct imap_arg *a)
{
	char num[32];

	switch (a->type) {
	case IMAP_ARG_ATOM:
	case IMAP_ARG_NIL:
		put(o, a->str, a->len);
		break;
	case IMAP_ARG_QUOTED:
		put(o, "\"", 1);
		for (size_t i = 0; i < a->len; i++) {
			if (a->str[i] == '"' || a->str[i] == '\\')
				put(o, "\\", 1);
			put(o, a->str + i, 1);
		}
		put(o, "\"", 1);
		break;
	case IMAP_ARG_LITERAL:
		put(o, num, (size_t)snprintf(num, sizeof(num), "{%zu+}\r\n",
		    a->len));
		put(o, a->str, a->len);
		break;
	case IMAP_ARG_LIST:
		put(o, "(", 1);
		put_args(o, a->list);
		put(o, ")", 1);
		break;
	case IMAP_ARG_EOL:
		break;
	}
}

static void
put_args(struct out *o, const struct imap_arg *a)
{
	for (size_t i = 0; a[i].type != IMAP_ARG_EOL; i++) {
		if (i > 0 && !(a[i].flags & IMAP_ARG_JOINED))
			put(o, " ", 1);
		put_arg(o, &a[i]);
	}
}

/* ---- checking a parsed command ---- */

static void
check_seqset(const char *s, size_t len)
{
	struct seqset set;
	char buf[64], *big;
	size_t need;

	if (seqset_parse(s, len, &set) < 0)
		return;
	CHECK(set.dollar ? set.n == 0 : set.n > 0);
	for (size_t i = 0; i < set.n; i++)
		CHECK(set.r[i].lo >= 1 && set.r[i].lo <= set.r[i].hi);
	seqset_resolve(&set, len % 3 == 0 ? 0 :
	    (uint32_t)(len * 1000 % 4000000000u));
	for (size_t i = 1; i < set.n; i++)
		CHECK((uint64_t)set.r[i - 1].hi + 1 < set.r[i].lo);
	for (size_t i = 0; i < set.n; i++) {
		CHECK(seqset_contains(&set, set.r[i].lo));
		CHECK(seqset_contains(&set, set.r[i].hi));
		if (set.r[i].lo > 0)
			CHECK(!seqset_contains(&set, set.r[i].lo - 1));
	}
	need = seqset_format(&set, buf, sizeof(buf));
	CHECK(strlen(buf) == (need < sizeof(buf) ? need : sizeof(buf) - 1));
	big = xmalloc(need + 1);
	CHECK(seqset_format(&set, big, need + 1) == need);
	CHECK(strlen(big) == need && strncmp(big, buf, strlen(buf)) == 0);
	/* the canonical form parses back to the same set */
	if (!set.dollar && set.n > 0 && set.r[0].lo > 0) {
		struct seqset again;

		CHECK(seqset_parse(big, need, &again) == 0);
		seqset_resolve(&again, 1);
		CHECK(again.n == set.n && memcmp(again.r, set.r,
		    set.n * sizeof(*set.r)) == 0);
		seqset_free(&again);
	}
	free(big);
	seqset_free(&set);
}

static void
check_date(const char *s, size_t len)
{
	time_t t;
	char buf[40];

	if (imap_parse_date(s, len, &t) == 0)
		CHECK(t % 86400 == 0);
	/* INTERNALDATE writes what APPEND reads, within years 1-9999 */
	if (imap_parse_datetime(s, len, &t) == 0 && t > -62135596800 + 2 *
	    86400 && t < 253402300799 - 2 * 86400) {
		time_t back;

		imap_format_datetime(t, buf, sizeof(buf));
		CHECK(strlen(buf) == 26);
		CHECK(imap_parse_datetime(buf, 26, &back) == 0 && back == t);
	}
}

static size_t
check_args(const struct imap_arg *a, size_t depth)
{
	size_t n = 0;

	CHECK(depth <= IMAP_MAX_DEPTH);
	for (; a[n].type != IMAP_ARG_EOL; n++) {
		const struct imap_arg *x = &a[n];

		if (x->type == IMAP_ARG_LIST) {
			CHECK(check_args(x->list, depth + 1) == x->len);
			continue;
		}
		if (x->flags & IMAP_ARG_STREAMED) {
			CHECK(x->type == IMAP_ARG_LITERAL && x->str == NULL);
			continue;
		}
		CHECK(x->str != NULL && x->str[x->len] == '\0');
		CHECK(memchr(x->str, '\0', x->len) == NULL);
		if (x->flags & IMAP_ARG_JOINED)
			CHECK(x->type == IMAP_ARG_ATOM && x->str[0] == ']');
		if (x->type == IMAP_ARG_ATOM || x->type == IMAP_ARG_NIL)
			check_seqset(x->str, x->len);
		check_date(x->str, x->len);
		CHECK(imap_arg_is_string(x));
	}
	CHECK(imap_args_count(a) == n);
	return n;
}

/* ---- driving the parser directly ---- */

static const size_t pieces[4] = { 1, 7, 64, SIZE_MAX };

/* One command from data[*pos]; the result, with *pos moved on. */
static enum imap_parse_result
parse_one(struct imap_parser *p, const uint8_t *data, size_t size,
    size_t *pos, size_t piece)
{
	enum imap_parse_result r;
	struct imap_literal_info li;

	imap_parser_reset(p);
	for (;;) {
		const uint8_t *nl = memchr(data + *pos, '\n', size - *pos);
		size_t end = nl != NULL ? (size_t)(nl - data) : size;
		size_t len = end - *pos;

		if (len > 0 && data[end - 1] == '\r')
			len--;
		r = imap_parser_feed_line(p, (const char *)data + *pos, len);
		*pos = nl != NULL ? end + 1 : size;
		if (r != IMAP_PARSE_LITERAL)
			return r;
		imap_parser_literal_info(p, &li);
		if (li.too_big && (li.size & 1)) {
			imap_parser_literal_streamed(p);
			li.size = li.size > size - *pos ? size - *pos : li.size;
			*pos += li.size;
			continue;
		}
		if (li.size > size - *pos)
			return IMAP_PARSE_ERROR;	/* EOF inside */
		for (uint64_t k = 0; k < li.size; k += piece) {
			size_t n = li.size - k < piece ? li.size - k : piece;

			imap_parser_feed_literal(p, data + *pos + k, n);
		}
		*pos += li.size;
	}
}

/* The canonical form of a command parses to the same canonical form. */
static void
roundtrip(struct imap_parser *p, struct imap_parser *q)
{
	struct out a = { 0 }, b = { 0 };
	size_t pos = 0;
	enum imap_parse_result r;

	put(&a, imap_parser_tag(p), strlen(imap_parser_tag(p)));
	put(&a, " ", 1);
	put(&a, imap_parser_name(p), strlen(imap_parser_name(p)));
	if (imap_parser_args(p)[0].type != IMAP_ARG_EOL)
		put(&a, " ", 1);
	put_args(&a, imap_parser_args(p));
	put(&a, "\r\n", 2);
	r = parse_one(q, (const uint8_t *)a.b, a.len, &pos, SIZE_MAX);
	CHECK(r == IMAP_PARSE_DONE);
	{
		CHECK(pos == a.len);
		put(&b, imap_parser_tag(q), strlen(imap_parser_tag(q)));
		put(&b, " ", 1);
		put(&b, imap_parser_name(q), strlen(imap_parser_name(q)));
		if (imap_parser_args(q)[0].type != IMAP_ARG_EOL)
			put(&b, " ", 1);
		put_args(&b, imap_parser_args(q));
		put(&b, "\r\n", 2);
		CHECK(a.len == b.len && memcmp(a.b, b.b, a.len) == 0);
	}
	free(a.b);
	free(b.b);
}

static int
has_streamed(const struct imap_arg *a)
{
	for (; a->type != IMAP_ARG_EOL; a++)
		if ((a->flags & IMAP_ARG_STREAMED) ||
		    (a->type == IMAP_ARG_LIST && has_streamed(a->list)))
			return 1;
	return 0;
}

static void
direct(struct imap_parser *p, struct imap_parser *q, const uint8_t *data,
    size_t size, size_t piece)
{
	size_t pos = 0;

	while (pos < size) {
		if (parse_one(p, data, size, &pos, piece) != IMAP_PARSE_DONE) {
			CHECK(imap_parser_error(p)[0] != '\0');
			continue;
		}
		CHECK(strlen(imap_parser_tag(p)) > 0 &&
		    strlen(imap_parser_tag(p)) <= IMAP_TAG_MAX);
		check_args(imap_parser_args(p), 0);
		if (!has_streamed(imap_parser_args(p)))
			roundtrip(p, q);
	}
}

/* ---- driving the reader through a pipe ---- */

static void
reader(struct imap_parser *p, const uint8_t *data, size_t size,
    unsigned flags)
{
	static int devnull = -1;
	struct io *io;
	int fds[2], cap, stream = (flags & 2) != 0, k = 0;
	enum imap_read_result r;
	char buf[512];

	if (devnull < 0)
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull < 0 || pipe2(fds, O_CLOEXEC) < 0)
		return;
	if ((cap = fcntl(fds[1], F_SETPIPE_SZ, 1 << 20)) < 0)
		cap = fcntl(fds[1], F_GETPIPE_SZ);
	if (cap > 0 && size > (size_t)cap)
		size = (size_t)cap;
	if (write_all(fds[1], data, size) < 0)
		goto out;
	io = xmalloc(sizeof(*io));
	io_init(io, fds[0], devnull);
	io_set_timeouts(io, 10, 10);
	close(fds[1]);
	fds[1] = -1;
	for (r = imap_read_command(p, io, stream); r != IMAP_READ_EOF;) {
		CHECK(r != IMAP_READ_TIMEOUT);
		if (r == IMAP_READ_DONE)
			check_args(imap_parser_args(p), 0);
		if (r != IMAP_READ_LITERAL) {
			r = imap_read_command(p, io, stream);
			continue;
		}
		k++;
		if ((flags & 0x40) && k % 3 == 0) {
			r = imap_read_continue(p, io, stream);
			continue;
		}
		if ((flags & 4) && (k & 1)) {
			if (imap_literal_refuse(p, io) != IO_OK)
				break;
			r = imap_read_command(p, io, stream);
			continue;
		}
		if (imap_literal_accept(p, io) != IO_OK)
			break;
		ssize_t n;
		while ((n = imap_literal_read(p, io, buf, sizeof(buf))) > 0)
			if (flags & 8)
				break;
		if (n < 0)
			break;
		r = imap_read_continue(p, io, stream);
	}
	free(io);
out:
	if (fds[1] >= 0)
		close(fds[1]);
	close(fds[0]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct imap_parser *full, *login, *again;
	struct imap_parser *p;
	unsigned flags;

	if (size < 1)
		return 0;
	if (full == NULL) {
		full = imap_parser_new(IMAP_MAX_CMD);
		login = imap_parser_new(IMAP_LOGIN_MAX_CMD);
		again = imap_parser_new(IMAP_MAX_CMD);
	}
	flags = data[0];
	p = flags & 1 ? login : full;
	direct(p, again, data + 1, size - 1, pieces[(flags >> 4) & 3]);
	reader(p, data + 1, size - 1, flags);
	imap_parser_reset(p);
	imap_parser_reset(again);
	return 0;
}
