/*
 * mime_header.c - the MIME header fields of one part (RFC 2045 5, 6, 7,
 * 8; RFC 2183; RFC 3066 via RFC 3501's body-fld-lang; RFC 2557's
 * Content-Location) and, for a message, its envelope fields.  Values are
 * what mime_parse.c collected: the first field of each name, unfolded,
 * at most MIME_MAX_FIELD bytes.  Parsing is lenient: what cannot be read
 * takes the RFC's default rather than failing.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime_int.h"
#include "util.h"

static const char *const slot_names[MH_NSLOTS] = {
	[MH_CTYPE] = "content-type",
	[MH_CID] = "content-id",
	[MH_CDESC] = "content-description",
	[MH_CTE] = "content-transfer-encoding",
	[MH_CMD5] = "content-md5",
	[MH_CDISP] = "content-disposition",
	[MH_CLANG] = "content-language",
	[MH_CLOC] = "content-location",
	[MH_ENV + MIME_ENV_DATE] = "date",
	[MH_ENV + MIME_ENV_SUBJECT] = "subject",
	[MH_ENV + MIME_ENV_FROM] = "from",
	[MH_ENV + MIME_ENV_SENDER] = "sender",
	[MH_ENV + MIME_ENV_REPLY_TO] = "reply-to",
	[MH_ENV + MIME_ENV_TO] = "to",
	[MH_ENV + MIME_ENV_CC] = "cc",
	[MH_ENV + MIME_ENV_BCC] = "bcc",
	[MH_ENV + MIME_ENV_IN_REPLY_TO] = "in-reply-to",
	[MH_ENV + MIME_ENV_MESSAGE_ID] = "message-id",
};

int
mime_hdr_slot(const char *name, size_t n)
{
	for (int i = 0; i < MH_NSLOTS; i++)
		if (strlen(slot_names[i]) == n &&
		    strncasecmp(slot_names[i], name, n) == 0)
			return i;
	return -1;
}

void
mime_hdr_append(struct mime_hdr *h, int slot, const void *p, size_t n)
{
	size_t room;

	if (h->val[slot] == NULL)
		h->val[slot] = xmalloc(MIME_MAX_FIELD);
	room = MIME_MAX_FIELD - h->len[slot];
	if (n > room)
		n = room;	/* the rest is cut for parsing only */
	memcpy(h->val[slot] + h->len[slot], p, n);
	h->len[slot] += n;
}

void
mime_hdr_reset(struct mime_hdr *h)
{
	memset(h->len, 0, sizeof(h->len));
	memset(h->seen, 0, sizeof(h->seen));
}

void
mime_hdr_free(struct mime_hdr *h)
{
	for (int i = 0; i < MH_NSLOTS; i++)
		free(h->val[i]);
	memset(h, 0, sizeof(*h));
}

/* A cursor over one field value. */
struct cur {
	const unsigned char *s;
	size_t i, n;
};

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skip white space and (nested) comments, RFC 5322 3.2.2 CFWS; an
 * unterminated comment runs to the end. */
static void
skip_cfws(struct cur *c)
{
	while (c->i < c->n) {
		if (is_wsp(c->s[c->i])) {
			c->i++;
		} else if (c->s[c->i] == '(') {
			int level = 0;

			for (; c->i < c->n; c->i++) {
				if (c->s[c->i] == '\\')
					c->i++;
				else if (c->s[c->i] == '(')
					level++;
				else if (c->s[c->i] == ')' && --level == 0) {
					c->i++;
					break;
				}
			}
		} else
			break;
	}
}

/* RFC 2045 5.1 token characters. */
static int
is_tok(int c)
{
	return c > ' ' && c != 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static size_t
take_token(struct cur *c)
{
	size_t start = c->i;

	while (c->i < c->n && is_tok(c->s[c->i]))
		c->i++;
	return c->i - start;
}

/* A parameter value: a quoted-string (unquoted into v) or, leniently,
 * everything up to white space or ';' (unquoted "=_Part" boundaries
 * and file names with tspecials are common).  raw is what was written. */
static int
param_value(struct mime_arena *a, struct cur *c, struct mime_param *pm)
{
	size_t start = c->i;

	if (c->i < c->n && c->s[c->i] == '"') {
		unsigned char *v = xmalloc(c->n - c->i + 1);
		size_t vn = 0;
		int r;

		for (c->i++; c->i < c->n && c->s[c->i] != '"'; c->i++) {
			if (c->s[c->i] == '\\' && c->i + 1 < c->n)
				c->i++;
			v[vn++] = c->s[c->i];
		}
		if (c->i < c->n)
			c->i++;
		r = mime_arena_str(a, v, vn, &pm->value);
		free(v);
		if (r < 0)
			return -1;
	} else {
		while (c->i < c->n && !is_wsp(c->s[c->i]) &&
		    c->s[c->i] != ';')
			c->i++;
		if (mime_arena_str(a, c->s + start, c->i - start,
		    &pm->value) < 0)
			return -1;
	}
	return mime_arena_str(a, c->s + start, c->i - start, &pm->raw);
}

/* Skip to just past the next ';' (garbage after a value). */
static void
next_param(struct cur *c)
{
	while (c->i < c->n && c->s[c->i] != ';')
		c->i++;
	if (c->i < c->n)
		c->i++;
}

/* *(";" attribute "=" value) (RFC 2045 5.1, RFC 2231 names kept). */
static int
parse_params(struct mime_arena *a, struct cur *c, struct mime_param **out,
    uint32_t *nout)
{
	struct mime_param *ps = NULL, *pm;
	size_t n = 0, cap = 0;
	int r = 0;

	while (c->i < c->n) {
		size_t an;
		const unsigned char *attr;

		skip_cfws(c);
		if (c->i < c->n && c->s[c->i] == ';') {
			c->i++;
			continue;
		}
		attr = c->s + c->i;
		an = take_token(c);
		skip_cfws(c);
		if (an == 0 || c->i >= c->n || c->s[c->i] != '=') {
			next_param(c);
			continue;
		}
		c->i++;
		skip_cfws(c);
		if (n == cap) {
			cap = cap ? 2 * cap : 4;
			ps = xreallocarray(ps, cap, sizeof(*ps));
		}
		pm = &ps[n++];
		memset(pm, 0, sizeof(*pm));
		if (mime_arena_str(a, attr, an, &pm->name) < 0 ||
		    param_value(a, c, pm) < 0) {
			r = -1;
			break;
		}
		next_param(c);
	}
	if (r == 0 && n > 0) {
		*out = mime_arena_alloc(a, n * sizeof(*ps));
		if (*out == NULL)
			r = -1;
		else {
			memcpy(*out, ps, n * sizeof(*ps));
			*nout = (uint32_t)n;
		}
	}
	free(ps);
	return r;
}

static int
set_default_type(struct mime_arena *a, struct mime_part *p, int digest)
{
	static const char ascii[] = "us-ascii";

	p->params = NULL;
	p->nparams = 0;
	if (digest)
		return mime_arena_str(a, "message", 7, &p->type) |
		    mime_arena_str(a, "rfc822", 6, &p->subtype);
	if (mime_arena_str(a, "text", 4, &p->type) < 0 ||
	    mime_arena_str(a, "plain", 5, &p->subtype) < 0 ||
	    (p->params = mime_arena_alloc(a, sizeof(*p->params))) == NULL)
		return -1;
	p->nparams = 1;
	return mime_arena_str(a, "charset", 7, &p->params[0].name) |
	    mime_arena_str(a, ascii, 8, &p->params[0].value) |
	    mime_arena_str(a, ascii, 8, &p->params[0].raw);
}

/* type "/" subtype params; invalid or absent: the default (RFC 2045
 * 5.2; RFC 2046 5.1.5 for digests). */
static int
parse_ctype(struct mime_arena *a, const struct mime_hdr *h,
    struct mime_part *p, int digest)
{
	struct cur c = { h->val[MH_CTYPE], 0, h->len[MH_CTYPE] };
	size_t t0, tn, s0, sn;

	if (!h->seen[MH_CTYPE])
		return set_default_type(a, p, digest);
	skip_cfws(&c);
	t0 = c.i;
	tn = take_token(&c);
	skip_cfws(&c);
	if (tn == 0 || c.i >= c.n || c.s[c.i] != '/')
		return set_default_type(a, p, digest);
	c.i++;
	skip_cfws(&c);
	s0 = c.i;
	sn = take_token(&c);
	if (sn == 0)
		return set_default_type(a, p, digest);
	if (mime_arena_str(a, c.s + t0, tn, &p->type) < 0 ||
	    mime_arena_str(a, c.s + s0, sn, &p->subtype) < 0)
		return -1;
	mime_lower(&p->type);
	mime_lower(&p->subtype);
	return parse_params(a, &c, &p->params, &p->nparams);
}

/* A single lowercased token (encoding, disposition type), or NIL. */
static int
parse_token(struct mime_arena *a, const struct mime_hdr *h, int slot,
    struct mime_str *out, struct cur *rest)
{
	struct cur c = { h->val[slot], 0, h->len[slot] };
	size_t t0, tn;

	out->p = NULL;
	if (!h->seen[slot])
		return 0;
	skip_cfws(&c);
	t0 = c.i;
	if ((tn = take_token(&c)) == 0)
		return 0;
	if (mime_arena_str(a, c.s + t0, tn, out) < 0)
		return -1;
	mime_lower(out);
	if (rest != NULL)
		*rest = c;
	return 0;
}

/* The value trimmed of outer white space, or NIL when absent. */
static int
raw_value(struct mime_arena *a, const struct mime_hdr *h, int slot,
    struct mime_str *out)
{
	const unsigned char *s = h->val[slot];
	size_t b = 0, e = h->len[slot];

	out->p = NULL;
	if (!h->seen[slot])
		return 0;
	while (b < e && is_wsp(s[b]))
		b++;
	while (e > b && is_wsp(s[e - 1]))
		e--;
	return mime_arena_str(a, s ? s + b : (const unsigned char *)"",
	    e - b, out);
}

/* Content-Language: a comma separated list of tags (RFC 3282). */
static int
parse_lang(struct mime_arena *a, const struct mime_hdr *h,
    struct mime_part *p)
{
	struct cur c = { h->val[MH_CLANG], 0, h->len[MH_CLANG] };
	struct mime_str tags[64];
	uint32_t n = 0;

	while (c.i < c.n && n < ARRAY_LEN(tags)) {
		size_t t0;

		skip_cfws(&c);
		t0 = c.i;
		while (c.i < c.n && !is_wsp(c.s[c.i]) && c.s[c.i] != ',' &&
		    c.s[c.i] != '(')
			c.i++;
		if (c.i > t0 && mime_arena_str(a, c.s + t0, c.i - t0,
		    &tags[n++]) < 0)
			return -1;
		skip_cfws(&c);
		if (c.i < c.n && c.s[c.i] != ',' && c.s[c.i] != '(')
			break;	/* garbage: stop at what was readable */
		if (c.i < c.n && c.s[c.i] == ',')
			c.i++;
	}
	if (n == 0)
		return 0;
	if ((p->language = mime_arena_alloc(a, n * sizeof(*tags))) == NULL)
		return -1;
	memcpy(p->language, tags, n * sizeof(*tags));
	p->nlanguage = n;
	return 0;
}

static int
apply_env(const struct mime_hdr *h, struct mime_arena *a,
    struct mime_part *p)
{
	if ((p->env = mime_arena_alloc(a, sizeof(*p->env))) == NULL)
		return -1;
	for (int f = 0; f < MIME_ENV_NFIELDS; f++) {
		struct mime_str *r = &p->env->raw[f];

		if (raw_value(a, h, MH_ENV + f, r) < 0)
			return -1;
		if (MIME_ENV_IS_ADDR(f) && r->p != NULL &&
		    mime_addr_parse(a, r->p, r->len, &p->env->addr[f]) < 0)
			return -1;
	}
	return 0;
}

int
mime_hdr_apply(const struct mime_hdr *h, struct mime_tree *t,
    struct mime_part *p, int digest)
{
	struct mime_arena *a = t->arena;
	struct cur rest;

	if (parse_ctype(a, h, p, digest) < 0 ||
	    parse_token(a, h, MH_CTE, &p->encoding, NULL) < 0 ||
	    raw_value(a, h, MH_CID, &p->id) < 0 ||
	    raw_value(a, h, MH_CDESC, &p->description) < 0 ||
	    raw_value(a, h, MH_CMD5, &p->md5) < 0 ||
	    raw_value(a, h, MH_CLOC, &p->location) < 0 ||
	    parse_lang(a, h, p) < 0)
		return -1;
	if (p->encoding.p == NULL &&
	    mime_arena_str(a, "7bit", 4, &p->encoding) < 0)
		return -1;
	if (parse_token(a, h, MH_CDISP, &p->disposition, &rest) < 0 ||
	    (p->disposition.p != NULL && parse_params(a, &rest,
	    &p->disp_params, &p->ndisp_params) < 0))
		return -1;
	if ((p->flags & MIME_PART_MESSAGE) && apply_env(h, a, p) < 0)
		return -1;
	return 0;
}
