/*
 * rfc2047.c - encoded words in header values (RFC 2047) to UTF-8, for
 * SEARCH.  Adjacent encoded words separated only by white space are one
 * run (6.2); a run in one charset is converted as a whole so a character
 * split across words survives.  UTF-8 and US-ASCII pass through,
 * ISO-8859-1 is widened here, anything else goes through iconv(3); a
 * charset iconv does not know keeps its encoded words as written.
 * Lenient where mailers are sloppy: encoded words inside other text, and
 * lower-case "b"/"q".
 */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime.h"
#include "util.h"

#define EW_MAX_CHARSET 64	/* RFC 2978 names are at most 40 bytes */
#define EW_MAX_TEXT 1024	/* RFC 2047 2 says 75 for the whole word;
				 * we allow more, but bound each attempt */

struct ew {
	const char *cs;		/* charset (without an RFC 2231 *language) */
	size_t cslen;
	int enc;		/* 'B' or 'Q' */
	const char *text;
	size_t tlen;
	size_t end;		/* index past "?=" */
};

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* "=?" charset "?" encoding "?" encoded-text "?=" at in[i]. */
static int
parse_ew(const char *in, size_t i, size_t len, struct ew *w)
{
	size_t k = i + 2, t;

	if (i + 1 >= len || in[i] != '=' || in[i + 1] != '?')
		return 0;
	while (k < len && in[k] != '?' && !is_wsp(in[k]) &&
	    k - i - 2 <= EW_MAX_CHARSET)
		k++;
	if (k + 2 >= len || in[k] != '?' || k == i + 2 ||
	    k - i - 2 > EW_MAX_CHARSET || in[k + 2] != '?')
		return 0;
	w->enc = in[k + 1] & ~0x20;
	if (w->enc != 'B' && w->enc != 'Q')
		return 0;
	w->cs = in + i + 2;
	w->cslen = k - i - 2;
	if (memchr(w->cs, '*', w->cslen) != NULL)
		w->cslen = (size_t)((const char *)memchr(w->cs, '*',
		    w->cslen) - w->cs);
	for (t = k + 3; t + 1 < len && t - k - 3 <= EW_MAX_TEXT; t++) {
		if (is_wsp(in[t]))
			return 0;
		if (in[t] == '?' && in[t + 1] == '=') {
			w->text = in + k + 3;
			w->tlen = t - k - 3;
			w->end = t + 2;
			return w->cslen > 0;
		}
	}
	return 0;
}

static int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c &= ~0x20;
	return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The word's bytes, decoded, appended to raw[*n]. */
static void
ew_bytes(const struct ew *w, unsigned char *raw, size_t *n)
{
	const char *t = w->text;

	if (w->enc == 'B') {
		struct mime_b64 d;

		mime_b64_init(&d);
		*n += mime_b64_feed(&d, t, w->tlen, raw + *n);
		return;
	}
	for (size_t i = 0; i < w->tlen; i++) {
		unsigned char c = (unsigned char)t[i];

		if (c == '_')	/* 4.2 (2) */
			c = ' ';
		else if (c == '=' && i + 2 < w->tlen &&
		    hex_value(t[i + 1]) >= 0 && hex_value(t[i + 2]) >= 0) {
			c = (unsigned char)(hex_value(t[i + 1]) * 16 +
			    hex_value(t[i + 2]));
			i += 2;
		}
		raw[(*n)++] = c;
	}
}

enum { CS_UTF8, CS_LATIN1, CS_ICONV, CS_UNKNOWN };

static int
cs_is(const struct ew *w, const char *name)
{
	return strlen(name) == w->cslen &&
	    strncasecmp(w->cs, name, w->cslen) == 0;
}

/* How to convert charset w->cs; *cd is opened for CS_ICONV. */
static int
cs_kind(const struct ew *w, iconv_t *cd)
{
	char name[EW_MAX_CHARSET + 1];

	if (cs_is(w, "utf-8") || cs_is(w, "us-ascii") || cs_is(w, "utf8"))
		return CS_UTF8;
	if (cs_is(w, "iso-8859-1") || cs_is(w, "latin1"))
		return CS_LATIN1;
	/* RFC 2978 mime-charset characters only: nothing reaches iconv
	 * that it could read as options ("//") or a path */
	for (size_t i = 0; i < w->cslen; i++)
		if (!isalnum((unsigned char)w->cs[i]) &&
		    strchr("!#$%&'+-^_`{}~.:", w->cs[i]) == NULL)
			return CS_UNKNOWN;
	memcpy(name, w->cs, w->cslen);
	name[w->cslen] = '\0';
	*cd = iconv_open("UTF-8", name);
	return *cd == (iconv_t)-1 ? CS_UNKNOWN : CS_ICONV;
}

struct run {
	struct buf *out;
	int full;
	int kind;
	iconv_t cd;
	char cs[EW_MAX_CHARSET];	/* the run's charset */
	size_t cslen;		/* 0: no run */
	unsigned char *raw;	/* decoded bytes of the run */
	size_t n;
};

static void
emit(struct run *r, const void *p, size_t n)
{
	if (!r->full && buf_append(r->out, p, n) < 0)
		r->full = 1;
}

static void
convert_iconv(struct run *r)
{
	char *in = (char *)r->raw, chunk[1024];
	size_t left = r->n;

	while (left > 0 && !r->full) {
		char *o = chunk;
		size_t room = sizeof(chunk);
		size_t rc = iconv(r->cd, &in, &left, &o, &room);

		emit(r, chunk, (size_t)(o - chunk));
		if (rc == (size_t)-1 && errno != E2BIG) {
			emit(r, "\xef\xbf\xbd", 3);	/* U+FFFD */
			in++;
			left--;
		}
	}
}

/* Convert and write out the run so far. */
static void
flush(struct run *r)
{
	if (r->cslen == 0)
		return;
	if (r->kind == CS_UTF8)
		emit(r, r->raw, r->n);
	else if (r->kind == CS_LATIN1) {
		for (size_t i = 0; i < r->n; i++) {
			unsigned char u[2] = { (unsigned char)(0xc0 |
			    r->raw[i] >> 6), (unsigned char)(0x80 |
			    (r->raw[i] & 0x3f)) };

			if (r->raw[i] < 0x80)
				emit(r, r->raw + i, 1);
			else
				emit(r, u, 2);
		}
	} else {
		convert_iconv(r);
		iconv_close(r->cd);
	}
	r->cslen = 0;
	r->n = 0;
}

static int
same_run(const struct run *r, const struct ew *w)
{
	return r->cslen > 0 && r->cslen == w->cslen &&
	    strncasecmp(r->cs, w->cs, w->cslen) == 0;
}

/* Can the word be decoded (is its charset known)? */
static int
known(const struct run *r, const struct ew *w)
{
	iconv_t cd = (iconv_t)-1;
	int kind;

	if (same_run(r, w))
		return 1;
	kind = cs_kind(w, &cd);
	if (kind == CS_ICONV)
		iconv_close(cd);
	return kind != CS_UNKNOWN;
}

/* Add an encoded word to the run; 0 if its charset is unknown. */
static int
add_word(struct run *r, const struct ew *w)
{
	iconv_t cd = (iconv_t)-1;
	int kind;

	if (!same_run(r, w)) {
		if ((kind = cs_kind(w, &cd)) == CS_UNKNOWN)
			return 0;
		flush(r);
		r->kind = kind;
		r->cd = cd;
		memcpy(r->cs, w->cs, w->cslen);
		r->cslen = w->cslen;
	}
	ew_bytes(w, r->raw, &r->n);
	return 1;
}

int
rfc2047_decode(const char *in, size_t len, struct buf *out)
{
	struct run r = { .out = out };
	struct ew w;
	int after_word = 0;
	size_t i = 0;

	r.raw = xmalloc(len + 1);	/* decoded words never grow */
	while (i < len && !r.full) {
		size_t j = i;

		while (after_word && j < len && is_wsp(in[j]))
			j++;
		if (after_word && j > i && j < len &&
		    parse_ew(in, j, len, &w) && known(&r, &w)) {
			i = j;	/* 6.2: white space between words goes */
			continue;
		}
		if (parse_ew(in, i, len, &w) && add_word(&r, &w)) {
			i = w.end;
			after_word = 1;
			continue;
		}
		flush(&r);
		after_word = 0;
		if (parse_ew(in, i, len, &w)) {	/* unknown charset */
			emit(&r, in + i, w.end - i);
			i = w.end;
		} else
			emit(&r, in + i++, 1);
	}
	flush(&r);
	free(r.raw);
	return r.full;
}
