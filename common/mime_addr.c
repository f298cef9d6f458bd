/*
 * mime_addr.c - address lists (RFC 5322 3.4, with the obsolete forms of
 * 4.4: routes, missing pieces) into RFC 3501 7.4.2 address structures.
 *
 * The value is split into tokens first (comments dropped), then read
 * item by item up to each ',' so one bad item cannot hide the others:
 * unterminated quotes, comments, literals and angle brackets run to the
 * end of the value; a mailbox without "@" gets host MISSING_DOMAIN (a
 * NIL host would read as a group marker).  Display names and local
 * parts are kept as written (encoded words, quotes of a local part), so
 * the formatter can send them back unchanged.
 */
#include <stdlib.h>
#include <string.h>

#include "mime_int.h"
#include "util.h"

#define MISSING_DOMAIN "MISSING_DOMAIN"

enum { T_WORD, T_QUOTED, T_LITERAL, T_SPECIAL };

struct tok {
	int kind;
	int ws;			/* white space or a comment before it */
	const char *p;
	size_t n;
};

static int
is_special(int c)
{
	return strchr("()<>@,;:\\\".[]", c) != NULL && c != '\0';
}

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Past a quoted string or domain literal starting at s[i], to its
 * closing byte or the end. */
static size_t
skip_quoted(const char *s, size_t i, size_t n, char close)
{
	for (i++; i < n && s[i] != close; i++)
		if (s[i] == '\\')
			i++;
	return i < n ? i + 1 : n;
}

static size_t
skip_comment(const char *s, size_t i, size_t n)
{
	int level = 0;

	for (; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '(')
			level++;
		else if (s[i] == ')' && --level == 0)
			return i + 1;
	}
	return n;
}

/* Split s into tokens (at most n of them). */
static size_t
tokenize(const char *s, size_t n, struct tok *t)
{
	size_t i = 0, nt = 0;
	int ws = 0, w;

	while (i < n) {
		size_t b = i;

		if (is_wsp(s[i])) {
			i++;
			ws = 1;
			continue;
		}
		if (s[i] == '(') {
			i = skip_comment(s, i, n);
			ws = 1;
			continue;
		}
		w = ws;
		ws = 0;
		if (s[i] == '"') {
			i = skip_quoted(s, i, n, '"');
			t[nt++] = (struct tok){ T_QUOTED, w, s + b, i - b };
		} else if (s[i] == '[') {
			i = skip_quoted(s, i, n, ']');
			t[nt++] = (struct tok){ T_LITERAL, w, s + b, i - b };
		} else if (is_special((unsigned char)s[i])) {
			t[nt++] = (struct tok){ T_SPECIAL, w, s + b, 1 };
			i++;
		} else {
			while (i < n && !is_wsp(s[i]) &&
			    !is_special((unsigned char)s[i]))
				i++;
			t[nt++] = (struct tok){ T_WORD, w, s + b, i - b };
		}
	}
	return nt;
}

static int
is_sp(const struct tok *t, char c)
{
	return t->kind == T_SPECIAL && t->p[0] == c;
}

struct ctx {
	struct mime_arena *a;
	struct tok *t;
	size_t nt;
	char *tmp;		/* scratch as long as the value */
	struct mime_addr *out;
	size_t n, cap;
	int full;
};

/* Tokens [b, e) joined without spaces (local parts, domains, routes). */
static struct mime_str
join(struct ctx *c, size_t b, size_t e)
{
	struct mime_str s = { NULL, 0 };
	size_t n = 0;

	for (size_t i = b; i < e; i++) {
		memcpy(c->tmp + n, c->t[i].p, c->t[i].n);
		n += c->t[i].n;
	}
	if (mime_arena_str(c->a, c->tmp, n, &s) < 0)
		c->full = 1;
	return s;
}

/* A phrase (display name or group name): tokens with one space where
 * the value had white space or a comment, quoted strings unquoted.  NIL
 * when empty. */
static struct mime_str
phrase(struct ctx *c, size_t b, size_t e)
{
	struct mime_str s = { NULL, 0 };
	size_t n = 0;

	for (size_t i = b; i < e; i++) {
		const struct tok *t = &c->t[i];

		if (n > 0 && t->ws)
			c->tmp[n++] = ' ';
		if (t->kind == T_QUOTED) {
			for (size_t k = 1; k < t->n; k++) {
				if (t->p[k] == '\\' && k + 1 < t->n)
					k++;
				else if (t->p[k] == '"')
					break;
				c->tmp[n++] = t->p[k];
			}
		} else {
			memcpy(c->tmp + n, t->p, t->n);
			n += t->n;
		}
	}
	if (n > 0 && mime_arena_str(c->a, c->tmp, n, &s) < 0)
		c->full = 1;
	return s;
}

static struct mime_addr *
emit(struct ctx *c)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 8;
		c->out = xreallocarray(c->out, c->cap, sizeof(*c->out));
	}
	memset(&c->out[c->n], 0, sizeof(c->out[0]));
	return &c->out[c->n++];
}

static void
set_host(struct ctx *c, struct mime_addr *ad, size_t b, size_t e, int at)
{
	if (at && e > b)
		ad->host = join(c, b, e);
	else if (at)
		ad->host = join(c, b, b);	/* "" */
	else if (mime_arena_str(c->a, MISSING_DOMAIN,
	    sizeof(MISSING_DOMAIN) - 1, &ad->host) < 0)
		c->full = 1;
}

/* addr-spec in tokens [b, e): local-part ["@" domain]. */
static void
addr_spec(struct ctx *c, struct mime_addr *ad, size_t b, size_t e)
{
	size_t at = b;

	while (at < e && !is_sp(&c->t[at], '@'))
		at++;
	ad->mailbox = join(c, b, at);
	if (at == e && at == b) {
		set_host(c, ad, e, e, 1);	/* "<>": the null address */
		return;
	}
	set_host(c, ad, at + 1, e, at < e);
}

/* "<" [route ":"] addr-spec ">" from token i (just past "<"); returns
 * the index past ">". */
static size_t
angle(struct ctx *c, struct mime_addr *ad, size_t i)
{
	size_t e = i, colon = i;

	while (e < c->nt && !is_sp(&c->t[e], '>'))
		e++;
	/* obs-route: "@a,@b:" before the address (RFC 5322 4.4) */
	if (i < e && is_sp(&c->t[i], '@')) {
		while (colon < e && !is_sp(&c->t[colon], ':'))
			colon++;
		if (colon < e) {
			ad->adl = join(c, i, colon);
			i = colon + 1;
		}
	}
	addr_spec(c, ad, i, e);
	return e < c->nt ? e + 1 : e;
}

/* The end of the item starting at i: the next "<", ":", ",", ";", "@"
 * or ">". */
static size_t
item_end(struct ctx *c, size_t i)
{
	while (i < c->nt && !(c->t[i].kind == T_SPECIAL &&
	    strchr("<:,;@>", c->t[i].p[0]) != NULL))
		i++;
	return i;
}

/* Past everything up to (not including) the next "," or ";". */
static size_t
skip_rest(struct ctx *c, size_t i)
{
	while (i < c->nt && !is_sp(&c->t[i], ',') && !is_sp(&c->t[i], ';'))
		i++;
	return i;
}

static size_t
one_item(struct ctx *c, size_t i, int *in_group)
{
	size_t j = item_end(c, i);
	struct mime_addr *ad;

	if (j < c->nt && is_sp(&c->t[j], ':')) {
		if (*in_group)	/* nested group: not valid, drop the name */
			return j + 1;
		ad = emit(c);
		ad->mailbox = phrase(c, i, j);
		if (ad->mailbox.p == NULL)
			ad->mailbox = join(c, i, i);	/* "" not NIL */
		*in_group = 1;
		return j + 1;
	}
	if (j < c->nt && is_sp(&c->t[j], '<')) {
		ad = emit(c);
		ad->name = phrase(c, i, j);
		return skip_rest(c, angle(c, ad, j + 1));
	}
	if (j < c->nt && is_sp(&c->t[j], '@')) {
		size_t e = skip_rest(c, j);

		/* "user@host <x>": the angle part is garbage here */
		for (size_t k = j; k < e; k++)
			if (is_sp(&c->t[k], '<') || is_sp(&c->t[k], '>')) {
				e = k;
				break;
			}
		ad = emit(c);
		addr_spec(c, ad, i, e);
		return skip_rest(c, e);
	}
	if (j > i) {		/* a bare word: local part, no domain */
		ad = emit(c);
		ad->mailbox = join(c, i, j);
		set_host(c, ad, j, j, 0);
	}
	return j < c->nt && is_sp(&c->t[j], '>') ? j + 1 : j;
}

int
mime_addr_parse(struct mime_arena *a, const char *s, size_t n,
    struct mime_alist *out)
{
	struct ctx c = { .a = a };
	int in_group = 0;
	size_t i = 0;

	out->a = NULL;
	out->n = 0;
	c.t = xreallocarray(NULL, n + 1, sizeof(*c.t));
	c.tmp = xmalloc(n + 1);
	c.nt = tokenize(s, n, c.t);
	while (i < c.nt && !c.full) {
		if (is_sp(&c.t[i], ',')) {
			i++;
		} else if (is_sp(&c.t[i], ';')) {
			if (in_group)
				emit(&c);	/* group end: all NIL */
			in_group = 0;
			i++;
		} else
			i = one_item(&c, i, &in_group);
	}
	if (in_group)
		emit(&c);
	if (!c.full && c.n > 0) {
		out->a = mime_arena_alloc(a, c.n * sizeof(*c.out));
		if (out->a == NULL)
			c.full = 1;
		else {
			memcpy(out->a, c.out, c.n * sizeof(*c.out));
			out->n = (uint32_t)c.n;
		}
	}
	free(c.t);
	free(c.tmp);
	free(c.out);
	return c.full ? -1 : 0;
}
