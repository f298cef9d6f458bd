/*
 * search_parse.c - the arguments of SEARCH into a search program (RFC
 * 3501 6.4.4 and 9 "search", RFC 4466 2.6 search-return-opts, RFC 4731,
 * RFC 5182 "$").
 *
 * Everything here is client input: the program is bounded in keys and
 * nesting (search.h), the parser never recurses deeper than that, and
 * every error is a BAD with a reason, except an unknown CHARSET (NO
 * [BADCHARSET], RFC 3501 7.1) and a program over the limits (NO
 * [LIMIT], RFC 5530).  Search strings are converted to UTF-8 (iconv for
 * charsets other than US-ASCII and UTF-8) and case-folded here, once.
 */
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "search.h"
#include "util.h"

enum key_arg { KA_NONE, KA_STRING, KA_HEADER, KA_DATE, KA_NUMBER,
	KA_KEYWORD, KA_SEQSET, KA_KEY, KA_KEY2 };

struct keydef {
	const char *name;
	enum search_op op;
	enum key_arg arg;
	unsigned flag;
	const char *field;	/* the header field FROM, TO... search */
};

static const struct keydef keydefs[] = {
	{ "ALL",	SOP_ALL,	KA_NONE,	0, NULL },
	{ "ANSWERED",	SOP_FLAG,	KA_NONE,	MF_ANSWERED, NULL },
	{ "BCC",	SOP_HEADER,	KA_STRING,	0, "Bcc" },
	{ "BEFORE",	SOP_BEFORE,	KA_DATE,	0, NULL },
	{ "BODY",	SOP_BODY,	KA_STRING,	0, NULL },
	{ "CC",		SOP_HEADER,	KA_STRING,	0, "Cc" },
	{ "DELETED",	SOP_FLAG,	KA_NONE,	MF_DELETED, NULL },
	{ "DRAFT",	SOP_FLAG,	KA_NONE,	MF_DRAFT, NULL },
	{ "FLAGGED",	SOP_FLAG,	KA_NONE,	MF_FLAGGED, NULL },
	{ "FROM",	SOP_HEADER,	KA_STRING,	0, "From" },
	{ "HEADER",	SOP_HEADER,	KA_HEADER,	0, NULL },
	{ "KEYWORD",	SOP_KEYWORD,	KA_KEYWORD,	0, NULL },
	{ "LARGER",	SOP_LARGER,	KA_NUMBER,	0, NULL },
	{ "NEW",	SOP_NEW,	KA_NONE,	0, NULL },
	{ "NOT",	SOP_NOT,	KA_KEY,		0, NULL },
	{ "OLD",	SOP_OLD,	KA_NONE,	0, NULL },
	{ "ON",		SOP_ON,		KA_DATE,	0, NULL },
	{ "OR",		SOP_OR,		KA_KEY2,	0, NULL },
	{ "RECENT",	SOP_RECENT,	KA_NONE,	0, NULL },
	{ "SEEN",	SOP_FLAG,	KA_NONE,	MF_SEEN, NULL },
	{ "SENTBEFORE",	SOP_SENTBEFORE,	KA_DATE,	0, NULL },
	{ "SENTON",	SOP_SENTON,	KA_DATE,	0, NULL },
	{ "SENTSINCE",	SOP_SENTSINCE,	KA_DATE,	0, NULL },
	{ "SINCE",	SOP_SINCE,	KA_DATE,	0, NULL },
	{ "SMALLER",	SOP_SMALLER,	KA_NUMBER,	0, NULL },
	{ "SUBJECT",	SOP_HEADER,	KA_STRING,	0, "Subject" },
	{ "TEXT",	SOP_TEXT,	KA_STRING,	0, NULL },
	{ "TO",		SOP_HEADER,	KA_STRING,	0, "To" },
	{ "UID",	SOP_UID,	KA_SEQSET,	0, NULL },
	{ "UNANSWERED",	SOP_UNFLAG,	KA_NONE,	MF_ANSWERED, NULL },
	{ "UNDELETED",	SOP_UNFLAG,	KA_NONE,	MF_DELETED, NULL },
	{ "UNDRAFT",	SOP_UNFLAG,	KA_NONE,	MF_DRAFT, NULL },
	{ "UNFLAGGED",	SOP_UNFLAG,	KA_NONE,	MF_FLAGGED, NULL },
	{ "UNKEYWORD",	SOP_UNKEYWORD,	KA_KEYWORD,	0, NULL },
	{ "UNSEEN",	SOP_UNFLAG,	KA_NONE,	MF_SEEN, NULL },
};

struct pstate {
	struct search_prog *p;
	iconv_t cd;		/* (iconv_t)-1: strings are UTF-8 already */
	enum search_status st;
	char *err;
	size_t errlen;
	size_t ntext;
};

static struct search_node *
fail(struct pstate *ps, enum search_status st, const char *msg)
{
	if (ps->st == SEARCH_OK) {
		ps->st = st;
		snprintf(ps->err, ps->errlen, "%s", msg);
	}
	return NULL;
}

static struct search_node *
new_node(struct pstate *ps, enum search_op op)
{
	struct search_node *n;

	if (ps->p->nnodes >= SEARCH_MAX_KEYS)
		return fail(ps, SEARCH_LIMIT, "[LIMIT] Too many search keys");
	n = &ps->p->nodes[ps->p->nnodes++];
	memset(n, 0, sizeof(*n));
	n->op = op;
	n->kwbit = -1;
	return n;
}

/* ---- search strings ---- */

/* s in the command's charset -> UTF-8 in a malloc'd buffer. */
static unsigned char *
to_utf8(struct pstate *ps, const char *s, size_t len, size_t *outlen)
{
	size_t cap = len * 4 + 4, left = cap, inleft = len;
	unsigned char *out = xmalloc(cap);
	char *ip = (char *)s, *op = (char *)out;

	if (ps->cd == (iconv_t)-1) {
		memcpy(out, s, len);
		*outlen = len;
		return out;
	}
	iconv(ps->cd, NULL, NULL, NULL, NULL);
	while (inleft > 0) {
		if (iconv(ps->cd, &ip, &inleft, &op, &left) != (size_t)-1)
			break;
		if (errno == E2BIG)
			break;		/* cannot happen: 4 bytes per byte */
		/* an invalid or cut sequence: skip the byte */
		ip++;
		inleft--;
	}
	iconv(ps->cd, NULL, NULL, &op, &left);
	*outlen = cap - left;
	return out;
}

/* KMP failure table: fail[k] is the length of the longest proper
 * prefix of needle[0..k] that is also its suffix. */
static uint32_t *
kmp_table(const unsigned char *s, size_t n)
{
	uint32_t *f = xreallocarray(NULL, n ? n : 1, sizeof(*f));
	size_t k = 0;

	if (n > 0)
		f[0] = 0;
	for (size_t i = 1; i < n; i++) {
		while (k > 0 && s[i] != s[k])
			k = f[k - 1];
		if (s[i] == s[k])
			k++;
		f[i] = (uint32_t)k;
	}
	return f;
}

static int
set_needle(struct pstate *ps, struct search_node *n, const struct imap_arg *a)
{
	size_t len;
	unsigned char *u = to_utf8(ps, a->str, a->len, &len);
	unsigned char carry = 0;

	n->needle = xmalloc(len + 2);
	n->nlen = search_fold(u, len, n->needle, &carry);
	n->nlen += search_fold_end(n->needle + n->nlen, &carry);
	free(u);
	n->fail = kmp_table(n->needle, n->nlen);
	return 0;
}

/* ---- keys ---- */

static const struct keydef *
find_key(const struct imap_arg *a)
{
	if (a->type != IMAP_ARG_ATOM)
		return NULL;
	for (size_t i = 0; i < ARRAY_LEN(keydefs); i++)
		if (strcasecmp(keydefs[i].name, a->str) == 0)
			return &keydefs[i];
	return NULL;
}

/* A sequence set starts with a digit, "*" or is "$" (RFC 5182). */
static int
looks_like_set(const struct imap_arg *a)
{
	return a->type == IMAP_ARG_ATOM && a->len > 0 &&
	    ((a->str[0] >= '0' && a->str[0] <= '9') || a->str[0] == '*' ||
	    a->str[0] == '$');
}

static int
set_seqset(struct pstate *ps, struct search_node *n, const struct imap_arg *a)
{
	struct seqset set;

	if (!looks_like_set(a) || seqset_parse(a->str, a->len, &set) != 0) {
		fail(ps, SEARCH_BAD, "Invalid sequence set in SEARCH");
		return -1;
	}
	seqset_free(&set);
	n->str = xstrndup(a->str, a->len);
	return 0;
}

/* date = date-text / DQUOTE date-text DQUOTE (the parser unquoted it). */
static int
set_date(struct pstate *ps, struct search_node *n, const struct imap_arg *a)
{
	time_t t;

	if ((a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_QUOTED) ||
	    imap_parse_date(a->str, a->len, &t) != 0) {
		fail(ps, SEARCH_BAD, "Invalid date in SEARCH");
		return -1;
	}
	n->day = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	return 0;
}

static int
set_number(struct pstate *ps, struct search_node *n, const struct imap_arg *a)
{
	if (a->type != IMAP_ARG_ATOM ||
	    parse_u64(a->str, UINT32_MAX, &n->num) != 0) {
		fail(ps, SEARCH_BAD, "Invalid number in SEARCH");
		return -1;
	}
	return 0;
}

/* flag-keyword = atom: no "\" (system flags are keys of their own). */
static int
set_keyword(struct pstate *ps, struct search_node *n, const struct imap_arg *a)
{
	if ((a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_NIL) ||
	    a->str[0] == '\\' ||
	    strpbrk(a->str, "%*]") != NULL || a->len > KW_NAME_MAX) {
		fail(ps, SEARCH_BAD, "Invalid keyword in SEARCH");
		return -1;
	}
	n->str = xstrndup(a->str, a->len);
	return 0;
}

static int
set_string(struct pstate *ps, struct search_node *n, const struct imap_arg *a)
{
	if (!imap_arg_is_astring(a)) {
		fail(ps, SEARCH_BAD, "Invalid string in SEARCH");
		return -1;
	}
	if (n->op == SOP_BODY || n->op == SOP_TEXT) {
		if (++ps->ntext > SEARCH_MAX_TEXT) {
			fail(ps, SEARCH_LIMIT, "[LIMIT] Too many BODY/TEXT keys");
			return -1;
		}
		ps->p->need_body = 1;
	}
	return set_needle(ps, n, a);
}

static struct search_node *parse_key(struct pstate *ps,
    const struct imap_arg **ap, int depth);

/* The keys of a list up to its end, as one AND node (or the key). */
static struct search_node *
parse_list(struct pstate *ps, const struct imap_arg *a, int depth)
{
	struct search_node *and, *k, **tail;

	if (a == NULL || a->type == IMAP_ARG_EOL)
		return fail(ps, SEARCH_BAD, "Missing search key");
	if ((and = new_node(ps, SOP_AND)) == NULL)
		return NULL;
	tail = &and->kid;
	while (a->type != IMAP_ARG_EOL) {
		if ((k = parse_key(ps, &a, depth)) == NULL)
			return NULL;
		*tail = k;
		tail = &k->next;
	}
	return and->kid->next == NULL ? and->kid : and;
}

static int
key_args(struct pstate *ps, const struct keydef *d, struct search_node *n,
    const struct imap_arg **ap, int depth)
{
	const struct imap_arg *a = *ap;
	struct search_node *k;

	if (d->field != NULL)
		n->str = xstrdup(d->field);
	switch (d->arg) {
	case KA_NONE:
		return 0;
	case KA_KEY:
	case KA_KEY2:
		if ((n->kid = parse_key(ps, ap, depth + 1)) == NULL)
			return -1;
		if (d->arg == KA_KEY)
			return 0;
		if ((k = parse_key(ps, ap, depth + 1)) == NULL)
			return -1;
		n->kid->next = k;
		return 0;
	default:
		break;
	}
	if (a->type == IMAP_ARG_EOL) {
		fail(ps, SEARCH_BAD, "Missing argument to search key");
		return -1;
	}
	*ap = a + 1;
	switch (d->arg) {
	case KA_STRING:
		return set_string(ps, n, a);
	case KA_HEADER:
		/* header-fld-name = astring (a name no field has, such as
		 * "" or "To:", matches nothing); then the string */
		if (!imap_arg_is_astring(a) || a[1].type == IMAP_ARG_EOL) {
			fail(ps, SEARCH_BAD, "Invalid HEADER in SEARCH");
			return -1;
		}
		n->str = xstrndup(a->str, a->len);
		*ap = a + 2;
		return set_string(ps, n, a + 1);
	case KA_DATE:
		return set_date(ps, n, a);
	case KA_NUMBER:
		return set_number(ps, n, a);
	case KA_KEYWORD:
		return set_keyword(ps, n, a);
	default:
		return set_seqset(ps, n, a);
	}
}

static struct search_node *
parse_key(struct pstate *ps, const struct imap_arg **ap, int depth)
{
	const struct imap_arg *a = *ap;
	const struct keydef *d;
	struct search_node *n;

	if (depth > SEARCH_MAX_DEPTH)
		return fail(ps, SEARCH_LIMIT, "[LIMIT] Search keys nested too deep");
	if (a->type == IMAP_ARG_EOL)
		return fail(ps, SEARCH_BAD, "Missing search key");
	*ap = a + 1;
	if (a->type == IMAP_ARG_LIST)
		return parse_list(ps, a->list, depth + 1);
	if (looks_like_set(a)) {
		if ((n = new_node(ps, SOP_SEQ)) == NULL ||
		    set_seqset(ps, n, a) != 0)
			return NULL;
		return n;
	}
	if ((d = find_key(a)) == NULL)
		return fail(ps, SEARCH_BAD, "Unknown search key");
	if ((n = new_node(ps, d->op)) == NULL)
		return NULL;
	n->flag = d->flag;
	if (key_args(ps, d, n, ap, depth) != 0)
		return NULL;
	return n;
}

/* ---- RETURN and CHARSET ---- */

static const struct { const char *name; unsigned bit; } retopts[] = {
	{ "MIN", SEARCH_RET_MIN }, { "MAX", SEARCH_RET_MAX },
	{ "ALL", SEARCH_RET_ALL }, { "COUNT", SEARCH_RET_COUNT },
	{ "SAVE", SEARCH_RET_SAVE },
};

/* search-return-opts = SP "RETURN" SP "(" [opt *(SP opt)] ")";
 * "RETURN ()" is "RETURN (ALL)" (RFC 4731 3.1). */
static int
parse_return(struct pstate *ps, const struct imap_arg *a, unsigned *ret)
{
	size_t i;

	if (a->type != IMAP_ARG_LIST) {
		fail(ps, SEARCH_BAD, "RETURN needs a list of options");
		return -1;
	}
	for (a = a->list; a->type != IMAP_ARG_EOL; a++) {
		for (i = 0; i < ARRAY_LEN(retopts); i++)
			if (a->type == IMAP_ARG_ATOM &&
			    strcasecmp(a->str, retopts[i].name) == 0)
				break;
		if (i == ARRAY_LEN(retopts)) {
			fail(ps, SEARCH_BAD, "Unknown RETURN option");
			return -1;
		}
		*ret |= retopts[i].bit;
	}
	if (*ret == 0)
		*ret = SEARCH_RET_ALL;
	return 0;
}

/* Charset names as RFC 2978 allows them: no "//" suffixes or other
 * syntax of iconv's own reaches iconv_open(). */
int
search_charset_ok(const char *s, size_t len)
{
	if (len == 0 || len > 64)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    strchr("!#$%&'+-^_`{}~.:", s[i]) != NULL) || s[i] == 0)
			return 0;
	return 1;
}

static int
is_charset(const char *cs, const char *name)
{
	return strcasecmp(cs, name) == 0;
}

/* US-ASCII and UTF-8 need no conversion (RFC 3501 6.4.4: both MUST be
 * supported); anything iconv knows is converted; the rest is
 * BADCHARSET. */
static int
open_charset(struct pstate *ps, const struct imap_arg *a)
{
	if (!imap_arg_is_astring(a)) {
		fail(ps, SEARCH_BAD, "Invalid CHARSET");
		return -1;
	}
	if (is_charset(a->str, "US-ASCII") || is_charset(a->str, "UTF-8") ||
	    is_charset(a->str, "UTF8") || is_charset(a->str, "ASCII"))
		return 0;
	if (!search_charset_ok(a->str, a->len) ||
	    (ps->cd = iconv_open("UTF-8", a->str)) ==
	    (iconv_t)-1) {
		fail(ps, SEARCH_BADCHARSET,
		    "[BADCHARSET (US-ASCII UTF-8)] Unknown charset");
		return -1;
	}
	return 0;
}

static void
parse_program(struct pstate *ps, const struct imap_arg *a, unsigned *ret,
    int *esearch)
{
	if (a != NULL && imap_arg_is_atom(a, "RETURN")) {
		*esearch = 1;
		if (parse_return(ps, a + 1, ret) != 0)
			return;
		a += 2;
	}
	if (a != NULL && imap_arg_is_atom(a, "CHARSET")) {
		if (a[1].type == IMAP_ARG_EOL) {
			fail(ps, SEARCH_BAD, "Missing CHARSET name");
			return;
		}
		if (open_charset(ps, a + 1) != 0)
			return;
		a += 2;
	}
	ps->p->root = parse_list(ps, a, 0);
}

enum search_status
search_parse(const struct imap_arg *args, struct search_prog **out,
    unsigned *ret, int *esearch, char *err, size_t errlen)
{
	struct pstate ps = { .cd = (iconv_t)-1, .err = err,
		.errlen = errlen };

	*out = NULL;
	*ret = 0;
	*esearch = 0;
	ps.p = xcalloc(1, sizeof(*ps.p));
	ps.p->nodes = xcalloc(SEARCH_MAX_KEYS, sizeof(*ps.p->nodes));
	parse_program(&ps, args, ret, esearch);
	if (ps.cd != (iconv_t)-1)
		iconv_close(ps.cd);
	if (ps.st != SEARCH_OK || ps.p->root == NULL) {
		fail(&ps, SEARCH_BAD, "Invalid search program");
		search_prog_free(ps.p);
		return ps.st;
	}
	*out = ps.p;
	return SEARCH_OK;
}

void
search_prog_free(struct search_prog *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nnodes; i++) {
		struct search_node *n = &p->nodes[i];

		free(n->str);
		free(n->needle);
		free(n->fail);
		if (n->set_ok)
			seqset_free(&n->set);
	}
	free(p->nodes);
	free(p);
}
