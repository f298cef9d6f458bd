/*
 * fuzz_imap_fetch.c - FETCH's writers (imapd/fetch.h) on arbitrary
 * messages.  The input is parsed with mime_parse(); its ENVELOPE, BODY,
 * BODYSTRUCTURE and a set of BODY[section]<partial> values are written
 * through a struct io into a memfd as one "x FETCH (...)" line, which
 * imapd's own command parser (parse.h) must read back as one balanced
 * command whose single list follows RFC 3501's grammar: the envelope has
 * ten fields of the right kinds, every body is a well-formed body-type
 * (1part, msg or mpart) with its extension data, every section value is
 * an nstring.  Literal sizes are checked by the parser itself (a wrong
 * count breaks the framing).  Outputs too deep, too many or too long
 * for the command parser's own limits (IMAP_MAX_DEPTH, IMAP_MAX_ARGS,
 * IO_LINE_MAX), which a response does not have, are only checked for
 * balance.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct io io;
static int out_fd = -1;

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "CHECK failed line %d\n", __LINE__); __builtin_trap(); } } while (0)

/* ---- the grammar of what came back ---- */

static int
is_str(const struct imap_arg *a)
{
	return a->type == IMAP_ARG_QUOTED || a->type == IMAP_ARG_LITERAL;
}

static int
is_nstr(const struct imap_arg *a)
{
	return a->type == IMAP_ARG_NIL || is_str(a);
}

static int
is_number(const struct imap_arg *a)
{
	if (a->type != IMAP_ARG_ATOM || a->len == 0 || a->len > 20)
		return 0;
	for (size_t k = 0; k < a->len; k++)
		if (a->str[k] < '0' || a->str[k] > '9')
			return 0;
	return 1;
}

static void
check_addrs(const struct imap_arg *a)
{
	if (a->type == IMAP_ARG_NIL)
		return;
	CHECK(a->type == IMAP_ARG_LIST && a->len >= 1);
	for (size_t k = 0; k < a->len; k++) {
		const struct imap_arg *ad = &a->list[k];

		CHECK(ad->type == IMAP_ARG_LIST && ad->len == 4);
		for (int f = 0; f < 4; f++)
			CHECK(is_nstr(&ad->list[f]));
	}
}

static void
check_envelope(const struct imap_arg *a)
{
	CHECK(a->type == IMAP_ARG_LIST && a->len == 10);
	for (int f = 0; f < 10; f++) {
		if (f >= 2 && f <= 7)
			check_addrs(&a->list[f]);
		else
			CHECK(is_nstr(&a->list[f]));
	}
}

/* body-fld-param */
static void
check_params(const struct imap_arg *a)
{
	if (a->type == IMAP_ARG_NIL)
		return;
	CHECK(a->type == IMAP_ARG_LIST && a->len >= 2 && a->len % 2 == 0);
	for (size_t k = 0; k < a->len; k++)
		CHECK(is_str(&a->list[k]));
}

/* body-fld-dsp SP body-fld-lang SP body-fld-loc at e[0..3) */
static void
check_ext_tail(const struct imap_arg *e)
{
	if (e[0].type != IMAP_ARG_NIL) {
		CHECK(e[0].type == IMAP_ARG_LIST && e[0].len == 2);
		CHECK(is_str(&e[0].list[0]));
		check_params(&e[0].list[1]);
	}
	if (e[1].type == IMAP_ARG_LIST) {
		CHECK(e[1].len >= 1);
		for (size_t k = 0; k < e[1].len; k++)
			CHECK(is_str(&e[1].list[k]));
	} else {
		CHECK(is_nstr(&e[1]));
	}
	CHECK(is_nstr(&e[2]));
}

static int
str_eq(const struct imap_arg *a, const char *s)
{
	return is_str(a) && a->len == strlen(s) && strcasecmp(a->str, s) == 0;
}

static void check_body(const struct imap_arg *a, int ext);

static void
check_mpart(const struct imap_arg *l, int ext)
{
	size_t k = 0;

	while (k < l->len && l->list[k].type == IMAP_ARG_LIST)
		check_body(&l->list[k++], ext);
	CHECK(k >= 1 && k < l->len && is_str(&l->list[k]));
	k++;
	if (!ext) {
		CHECK(k == l->len);
		return;
	}
	CHECK(l->len - k == 4);
	check_params(&l->list[k]);
	check_ext_tail(&l->list[k + 1]);
}

static void
check_1part(const struct imap_arg *l, int ext)
{
	const struct imap_arg *f = l->list;
	size_t k = 7, n = l->len;

	CHECK(n >= 7 && is_str(&f[0]) && is_str(&f[1]));
	check_params(&f[2]);
	CHECK(is_nstr(&f[3]) && is_nstr(&f[4]) && is_str(&f[5]) &&
	    is_number(&f[6]));
	if (str_eq(&f[0], "message") && str_eq(&f[1], "rfc822")) {
		CHECK(n >= 10);
		check_envelope(&f[7]);
		check_body(&f[8], ext);
		CHECK(is_number(&f[9]));
		k = 10;
	} else if (str_eq(&f[0], "text")) {
		CHECK(n >= 8 && is_number(&f[7]));
		k = 8;
	}
	if (!ext) {
		CHECK(k == n);
		return;
	}
	CHECK(n - k == 4);
	CHECK(is_nstr(&f[k]));
	check_ext_tail(&f[k + 1]);
}

static void
check_body(const struct imap_arg *a, int ext)
{
	CHECK(a->type == IMAP_ARG_LIST && a->len >= 1);
	if (a->list[0].type == IMAP_ARG_LIST)
		check_mpart(a, ext);
	else
		check_1part(a, ext);
}

/* ---- writing ---- */

static const char *const sections[] = {
	"", "HEADER", "TEXT", "1", "1.MIME", "2", "2.HEADER", "2.TEXT",
	"1.1", "2.1.MIME", "1.2.3", "HEADER.FIELDS", "HEADER.FIELDS.NOT",
	"2.HEADER.FIELDS",
};

static void
write_sections(const uint8_t *data, size_t size, const struct mime_tree *t)
{
	static struct imap_arg fields[] = {
		{ IMAP_ARG_ATOM, 0, (char *)"FROM", 4, NULL },
		{ IMAP_ARG_ATOM, 0, (char *)"subject", 7, NULL },
		{ IMAP_ARG_QUOTED, 0, (char *)"Content-Type", 12, NULL },
	};
	struct fetch_msg m = { NULL, 0, data, size };

	for (size_t k = 0; k < sizeof(sections) / sizeof(*sections); k++) {
		struct fetch_section sec = { 0 };

		CHECK(fetch_parse_section(sections[k], strlen(sections[k]),
		    &sec) == 0);
		sec.fields = fields;
		sec.nfields = 3;
		/* every other one partial, from the input's first byte */
		if (k % 2 == 1 && size > 0) {
			sec.partial = 1;
			sec.origin = data[0] % 64;
			sec.count = 1 + data[size - 1] % 128;
		}
		io_puts(&io, " ");
		fetch_write_section_key(&io, &sec);
		io_puts(&io, " ");
		CHECK(fetch_write_section(&io, &m, t, t->wire_size, &sec) ==
		    FB_OK);
		free(sec.nums);
	}
}

/* ---- reading back ---- */

/*
 * Balance and size of the output, independent of the parser: list depth
 * and token count, or -1 if quotes, literals or parentheses do not
 * balance.  The response grammar puts bodies (body-type-mpart) and
 * addresses (env-from...) side by side, ")(", where a command needs a
 * SP: out gets a copy with that SP, for the command parser.
 */
static int
scan(const char *b, size_t len, char *out, size_t *olen, size_t *maxdepth,
    size_t *tokens)
{
	size_t depth = 0, o = 0;

	*maxdepth = 0;
	*tokens = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = b[i];
		size_t from = i;

		if (ch == '(') {
			if (o > 0 && out[o - 1] == ')')
				out[o++] = ' ';
			if (++depth > *maxdepth)
				*maxdepth = depth;
			(*tokens)++;
		} else if (ch == ')') {
			if (depth-- == 0)
				return -1;
		} else if (ch == '"') {
			(*tokens)++;
			for (i++; i < len && b[i] != '"'; i++)
				if (b[i] == '\\')
					i++;
			if (i >= len)
				return -1;
		} else if (ch == '{') {
			char *end;
			unsigned long n = strtoul(b + i + 1, &end, 10);

			if (end[0] != '}' || end[1] != '\r' || end[2] != '\n')
				return -1;
			i = (size_t)(end + 2 - b) + n;
			if (i >= len)
				return -1;
			(*tokens)++;
		} else if (ch == ' ') {
			(*tokens)++;
		}
		memcpy(out + o, b + from, i - from + 1);
		o += i - from + 1;
	}
	*olen = o;
	return depth == 0 ? 0 : -1;
}

static void
parse_back(const char *b, size_t len, const struct mime_tree *t, int sects)
{
	struct imap_parser *p = imap_parser_new(IMAP_MAX_CMD);
	enum imap_parse_result r = IMAP_PARSE_ERROR;
	const struct imap_arg *args;
	size_t pos = 0, maxdepth, tokens, maxline = 0;
	char *norm = malloc(2 * len + 1);

	CHECK(norm != NULL);
	CHECK(scan(b, len, norm, &len, &maxdepth, &tokens) == 0);
	b = norm;
	while (pos < len) {
		const char *eol = memmem(b + pos, len - pos, "\r\n", 2);
		struct imap_literal_info li;

		CHECK(eol != NULL);
		if ((size_t)(eol - b) - pos > maxline)
			maxline = (size_t)(eol - b) - pos;
		r = imap_parser_feed_line(p, b + pos, (size_t)(eol - b - pos));
		pos = (size_t)(eol - b) + 2;
		if (r != IMAP_PARSE_LITERAL)
			break;
		imap_parser_literal_info(p, &li);
		CHECK(li.size <= len - pos);
		imap_parser_feed_literal(p, b + pos, li.size);
		pos += li.size;
	}
	/* a response has no line limit (RFC 3501 has none; a command line
	 * has IO_LINE_MAX here): a long BODYSTRUCTURE is not an error */
	if (r == IMAP_PARSE_ERROR && (maxdepth + 1 >= IMAP_MAX_DEPTH ||
	    tokens + 10 >= IMAP_MAX_ARGS || maxline > IO_LINE_MAX)) {
		imap_parser_free(p);
		free(norm);
		return;
	}
	if (r != IMAP_PARSE_DONE && getenv("FUZZ_FETCH_DEBUG") != NULL)
		fprintf(stderr, "parse error: %s\n%.*s\n",
		    imap_parser_error(p), (int)len, b);
	CHECK(r == IMAP_PARSE_DONE && pos == len);
	args = imap_parser_args(p);
	CHECK(args[0].type == IMAP_ARG_LIST && args[1].type == IMAP_ARG_EOL);
	args = args[0].list;
	CHECK(imap_arg_is_atom(&args[0], "ENVELOPE"));
	check_envelope(&args[1]);
	CHECK(imap_arg_is_atom(&args[2], "BODY"));
	check_body(&args[3], 0);
	CHECK(imap_arg_is_atom(&args[4], "BODYSTRUCTURE"));
	check_body(&args[5], 1);
	args += 6;
	for (size_t k = 0; sects && k < sizeof(sections) / sizeof(*sections);
	    k++) {
		/* the key may span three tokens (HEADER.FIELDS) */
		CHECK(args->type == IMAP_ARG_ATOM);
		if (args[1].type == IMAP_ARG_LIST)
			args += 2;
		CHECK(args->type == IMAP_ARG_ATOM && is_nstr(&args[1]));
		if (k == 0)
			CHECK(args[1].len == t->wire_size);
		args += 2;
	}
	CHECK(args->type == IMAP_ARG_EOL);
	imap_parser_free(p);
	free(norm);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_tree *t = mime_parse(data, size);
	/* literals may not hold NUL (RFC 3501 9 CHAR8), and message
	 * bodies are sent as they are: sections only without NUL */
	int sects = memchr(data, '\0', size) == NULL;
	char *b;
	off_t len;

	if (out_fd < 0 && (out_fd = memfd_create("fuzz", 0)) < 0)
		abort();
	CHECK(ftruncate(out_fd, 0) == 0 && lseek(out_fd, 0, SEEK_SET) == 0);
	io_init(&io, out_fd, out_fd);
	io_puts(&io, "x FETCH (ENVELOPE ");
	CHECK(t->parts[0].env != NULL);
	fetch_write_envelope(&io, t->parts[0].env);
	io_puts(&io, " BODY ");
	fetch_write_body(&io, t, 0, 0);
	io_puts(&io, " BODYSTRUCTURE ");
	fetch_write_body(&io, t, 0, 1);
	if (sects)
		write_sections(data, size, t);
	io_puts(&io, ")\r\n");
	CHECK(io_flush(&io) == IO_OK);
	len = lseek(out_fd, 0, SEEK_END);
	b = malloc((size_t)len + 1);
	CHECK(b != NULL && pread(out_fd, b, (size_t)len, 0) == len);
	parse_back(b, (size_t)len, t, sects);
	free(b);
	mime_tree_free(t);
	return 0;
}
