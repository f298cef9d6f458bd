/*
 * fuzz_imap_search.c - the SEARCH program (imapd/search*.c): arbitrary
 * argument text through the imapd parser (parse.h) into search_parse(),
 * then evaluated against a few built-in messages (MIME, encoded words,
 * base64, quoted-printable, Latin-1) and against the rest of the input
 * as one more message.
 *
 * Input: lines of "t SEARCH " arguments, where a line ending in a
 * literal announcement takes the literal's bytes from what follows; the
 * bytes after the command are the extra message.  Oracles: no crash or
 * sanitizer report; every match is 0 or 1; when the arguments parse
 * without RETURN or CHARSET, "NOT (args)" parses too and matches
 * exactly the other messages; folding keeps the length.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const builtin[] = {
	"From: \"Alice\" <alice@example.org>\nTo: bob@example.com\n"
	"Subject: Hello World\nDate: Mon, 2 Jan 2006 23:04:05 -0700\n\n"
	"The quick brown fox.\n",

	"From: =?ISO-8859-1?Q?J=F6rg?= <j@example.de>\r\n"
	"Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\nX-Long: a\r\n b\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-Transfer-Encoding: base64\r\n\r\n"
	"w5xuw69jw7Zkw6kgYm9keQo=\r\n",

	"Subject: multi\nContent-Type: multipart/mixed; boundary=X\n\n"
	"--X\nContent-Type: text/plain; charset=ISO-8859-1\n"
	"Content-Transfer-Encoding: quoted-printable\n\nCaf=E9 cr=E8me=\n"
	"\n--X\nContent-Type: message/rfc822\n\nSubject: inner\n\nnested\n"
	"--X\nContent-Type: text/html; charset=koi8-r\n\n\xf0\xd2\xc9\n"
	"--X--\n",
};

#define NMSG (ARRAY_LEN(builtin) + 1)

static struct kwtable kwt = { { "$Junk", "Work" }, 2 };
static const uint32_t saved[] = { 2, 4 };

/* Feed the command; *used: the bytes it took. */
static int
feed(struct imap_parser *p, const uint8_t *d, size_t n, size_t *used)
{
	char line[4096];
	size_t o = 0, len;
	struct imap_literal_info li;
	enum imap_parse_result r;
	int first = 1;

	for (;;) {
		const uint8_t *nl = memchr(d + o, '\n', n - o);
		size_t ll = nl ? (size_t)(nl - (d + o)) : n - o;

		len = 0;
		if (first)
			len = (size_t)snprintf(line, sizeof(line), "t SEARCH ");
		first = 0;
		if (ll > sizeof(line) - len)
			ll = sizeof(line) - len;
		memcpy(line + len, d + o, ll);
		len += ll;
		o += ll + (nl != NULL);
		r = imap_parser_feed_line(p, line, len);
		if (r != IMAP_PARSE_LITERAL)
			break;
		imap_parser_literal_info(p, &li);
		if (li.too_big || li.size > n - o)
			return -1;
		imap_parser_feed_literal(p, d + o, (size_t)li.size);
		o += (size_t)li.size;
	}
	*used = o > n ? n : o;
	return r == IMAP_PARSE_DONE ? 0 : -1;
}

static void
fill(struct search_msg *m, const uint8_t *d, size_t n)
{
	for (size_t i = 0; i < NMSG; i++) {
		memset(&m[i], 0, sizeof(m[i]));
		m[i].data = i < ARRAY_LEN(builtin) ? builtin[i] : (const char *)d;
		m[i].len = i < ARRAY_LEN(builtin) ? strlen(builtin[i]) : n;
		m[i].seq = (uint32_t)i + 1;
		m[i].uid = (uint32_t)i * 2 + 1;
		m[i].flags = (unsigned)i * 7 & MF_ALL;
		m[i].kw = (kwset_t)i & 3;
		m[i].recent = (int)(i & 1);
		m[i].internal = 1136000000 + (time_t)i * 86400;
	}
}

static void
evaluate(struct search_prog *p, const struct search_msg *m, int *res)
{
	struct search_view v = { .count = NMSG, .maxuid = NMSG * 2 - 1,
		.kw = &kwt, .saved = saved, .nsaved = 2 };

	search_bind(p, &v);
	for (size_t i = 0; i < NMSG; i++) {
		res[i] = search_match_msg(p, &m[i]);
		if (res[i] != 0 && res[i] != 1)
			__builtin_trap();
	}
}

/* NOT (args) must match exactly the messages args does not. */
static void
negation(const uint8_t *d, size_t used, const struct search_msg *m,
    const int *res)
{
	struct imap_parser *ip = imap_parser_new(IMAP_MAX_CMD);
	char *line = xmalloc(used + 16);
	struct search_prog *p;
	unsigned ret;
	int es, neg[NMSG];
	char err[128];

	if (memchr(d, '{', used) != NULL) {
		free(line);
		imap_parser_free(ip);
		return;
	}
	memcpy(line, "t SEARCH NOT (", 14);
	memcpy(line + 14, d, used);
	line[14 + used] = ')';
	if (imap_parser_feed_line(ip, line, used + 15) == IMAP_PARSE_DONE &&
	    search_parse(imap_parser_args(ip), &p, &ret, &es, err,
	    sizeof(err)) == SEARCH_OK) {
		evaluate(p, m, neg);
		for (size_t i = 0; i < NMSG; i++)
			if (neg[i] == res[i])
				__builtin_trap();
		search_prog_free(p);
	}
	free(line);
	imap_parser_free(ip);
}

static void
fold_check(const uint8_t *d, size_t n)
{
	unsigned char *out = xmalloc(n + 2), carry = 0;
	size_t o = search_fold(d, n, out, &carry);

	o += search_fold_end(out + o, &carry);
	if (o != n)
		__builtin_trap();
	free(out);
}

static size_t
first_line(const uint8_t *d, size_t n)
{
	const uint8_t *nl = memchr(d, '\n', n);

	return nl ? (size_t)(nl - d) : n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser *ip = imap_parser_new(IMAP_MAX_CMD);
	struct search_msg m[NMSG];
	struct search_prog *p;
	size_t used = 0;
	unsigned ret;
	int es, res[NMSG];
	char err[128];

	if (getenv("TZ") == NULL)
		setenv("TZ", "UTC", 1);
	fold_check(data, size);
	if (feed(ip, data, size, &used) == 0 &&
	    search_parse(imap_parser_args(ip), &p, &ret, &es, err,
	    sizeof(err)) == SEARCH_OK) {
		fill(m, data + used, size - used);
		evaluate(p, m, res);
		search_prog_free(p);
		if (!es && first_line(data, size) < 4000)
			negation(data, first_line(data, size), m, res);
	}
	imap_parser_free(ip);
	return 0;
}
