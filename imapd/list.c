/*
 * list.c - LIST and LSUB (RFC 3501 6.3.8, 6.3.9) with CHILDREN (RFC
 * 3348), LIST-EXTENDED (RFC 5258), SPECIAL-USE (RFC 6154) and
 * LIST-STATUS (RFC 5819).
 *
 * folders_list() gives every folder with its attributes; here the
 * client's reference and patterns pick names, the selection options
 * filter them, and the attributes asked for are written.
 *
 * Which attributes:
 *   plain LIST   \Noselect, \NoInferiors, \HasChildren/\HasNoChildren
 *                (RFC 3348; none beside \NoInferiors, 3348 section 3),
 *                and the special uses (RFC 6154 2 allows them on the
 *                non-extended LIST, and Dovecot sends them).
 *   extended     \NonExistent instead of \Noselect for a name that does
 *                not exist (RFC 5258 3: it implies \Noselect, and the
 *                RFC 3501 grammar allows one of the two), \Subscribed
 *                with SUBSCRIBED, children with RETURN (CHILDREN),
 *                special uses with SPECIAL-USE, as Dovecot does.
 *   LSUB         \Noselect for an existing folder that cannot be
 *                selected and for an unsubscribed parent (RFC 3501
 *                6.3.9), \NoInferiors.
 *   \Marked and \Unmarked are never sent (optional; they would cost a
 *   look into every folder).
 *
 * A name that does not meet the criteria itself (a parent that does not
 * exist, in LIST; an unsubscribed parent, in LSUB; a parent with
 * RECURSIVEMATCH) is listed only to show a descendant that meets them
 * and that the patterns do not match: so "%" shows "a" for "a/b", "*"
 * does not repeat it (RFC 5258 3.5: redundant CHILDINFO SHOULD NOT be
 * sent; example 11).
 *
 * The client chooses the patterns: their number and length are bounded
 * and runs of wildcards collapsed, so matching stays linear in what the
 * client sent times the names (folder_match is O(pattern * name)).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "log.h"
#include "specialuse.h"
#include "util.h"

/* Patterns in one LIST (RFC 5258 3 sets no limit; clients send a few). */
#define LIST_PATTERNS_MAX 100
/* A pattern longer than this cannot match a name (shorter than PATH_MAX)
 * once runs of wildcards are collapsed. */
#define LIST_PATTERN_MAX (2 * PATH_MAX + 2)
/* All patterns together: each name is matched against every byte of
 * them (folder_match), so this bounds the work per name. */
#define LIST_PATTERN_BYTES 65536

/* selection options */
#define SEL_SUBSCRIBED	0x1
#define SEL_REMOTE	0x2
#define SEL_RECURSIVE	0x4
#define SEL_SPECIALUSE	0x8
/* return options */
#define RET_SUBSCRIBED	0x1
#define RET_CHILDREN	0x2
#define RET_SPECIALUSE	0x4
#define RET_STATUS	0x8

struct list_req {
	int lsub;
	int extended;		/* RFC 5258 3: any of the three extensions */
	unsigned sel, ret;
	struct status_items st;
	char *pat[LIST_PATTERNS_MAX];
	size_t npat;
	int empty;		/* the plain pattern was "" */
};

/* A name to consider: a folder, or a parent only implied by names. */
struct ent {
	char *name;
	unsigned attrs;		/* FOLDER_* */
	unsigned uses;		/* SU_* */
	int match;		/* some pattern matches the name */
};

static void
req_free(struct list_req *q)
{
	for (size_t i = 0; i < q->npat; i++)
		free(q->pat[i]);
	q->npat = 0;
}

/* ---- parsing ---- */

static int
parse_select(struct imap_cmd *c, const struct imap_arg *l, unsigned *sel)
{
	static const struct { const char *w; unsigned bit; } opt[] = {
		{ "SUBSCRIBED", SEL_SUBSCRIBED }, { "REMOTE", SEL_REMOTE },
		{ "RECURSIVEMATCH", SEL_RECURSIVE },
		{ "SPECIAL-USE", SEL_SPECIALUSE },
	};

	for (const struct imap_arg *a = l->list; a->type != IMAP_ARG_EOL; a++) {
		size_t k;

		for (k = 0; k < ARRAY_LEN(opt); k++)
			if (imap_arg_is_atom(a, opt[k].w))
				break;
		if (k == ARRAY_LEN(opt)) {
			cmd_bad(c, "Unknown LIST selection option");
			return -1;
		}
		*sel |= opt[k].bit;
	}
	/* RFC 5258 3.1: RECURSIVEMATCH needs a base option */
	if ((*sel & SEL_RECURSIVE) &&
	    !(*sel & (SEL_SUBSCRIBED | SEL_SPECIALUSE))) {
		cmd_bad(c, "RECURSIVEMATCH needs another selection option");
		return -1;
	}
	return 0;
}

static int
parse_return(struct imap_cmd *c, const struct imap_arg *l,
    struct list_req *q)
{
	if (l->type != IMAP_ARG_LIST) {
		cmd_bad(c, "RETURN needs a list of options");
		return -1;
	}
	for (const struct imap_arg *a = l->list; a->type != IMAP_ARG_EOL; a++) {
		if (imap_arg_is_atom(a, "SUBSCRIBED"))
			q->ret |= RET_SUBSCRIBED;
		else if (imap_arg_is_atom(a, "CHILDREN"))
			q->ret |= RET_CHILDREN;
		else if (imap_arg_is_atom(a, "SPECIAL-USE"))
			q->ret |= RET_SPECIALUSE;
		else if (imap_arg_is_atom(a, "STATUS")) {
			/* RFC 5819 4: STATUS SP "(" status-att ... ")" */
			if (status_items_parse(c, a + 1, &q->st) < 0)
				return -1;
			q->ret |= RET_STATUS;
			a++;
		} else {
			cmd_bad(c, "Unknown LIST return option");
			return -1;
		}
	}
	return 0;
}

/* list-mailbox (RFC 3501 9): 1*list-char / string. */
static int
is_list_mailbox(const struct imap_arg *a)
{
	return imap_arg_is_string(a) &&
	    !(a->type == IMAP_ARG_ATOM && a->str[0] == '\\');
}

/*
 * The canonical pattern (RFC 3501 6.3.8): the reference, then the
 * pattern, with one separator where both give one; runs of wildcards
 * become one ("%*" matches what "*" does).  Kept in q unless it cannot
 * match anything.
 */
static void
add_pattern(struct imap *im, struct list_req *q, const char *ref,
    const char *pat)
{
	size_t lr = strlen(ref), lp = strlen(pat), o = 0;
	char *s, *p;

	if (lp == 0)
		return;		/* RFC 5258 3: "" is ignored when extended */
	if (lr > 0 && ref[lr - 1] == im->sep && pat[0] == im->sep)
		lr--;
	s = xasprintf("%.*s%s", (int)lr, ref, pat);
	for (p = s; *p; p++) {
		int wild = *p == '*' || *p == '%';

		if (wild && o > 0 && (s[o - 1] == '*' || s[o - 1] == '%')) {
			if (*p == '*')
				s[o - 1] = '*';
			continue;
		}
		s[o++] = *p;
	}
	s[o] = '\0';
	if (o > LIST_PATTERN_MAX) {
		free(s);
		return;
	}
	q->pat[q->npat++] = s;
}

/* The pattern argument: list-mailbox, or with LIST-EXTENDED a list of
 * them (RFC 5258 6 "patterns").  0, -1 (BAD), -2 (NO). */
static int
check_patterns(struct imap_cmd *c, struct list_req *q,
    const struct imap_arg *a)
{
	if (q->lsub || a->type != IMAP_ARG_LIST) {
		if (is_list_mailbox(a))
			return 0;
		cmd_bad(c, "Invalid pattern argument");
		return -1;
	}
	q->extended = 1;
	if (a->len == 0) {
		cmd_bad(c, "Empty list of patterns");
		return -1;
	}
	if (a->len > LIST_PATTERNS_MAX) {
		cmd_no(c, "[LIMIT] Too many patterns");
		return -2;
	}
	for (const struct imap_arg *p = a->list; p->type != IMAP_ARG_EOL; p++)
		if (!is_list_mailbox(p)) {
			cmd_bad(c, "Invalid pattern");
			return -1;
		}
	return 0;
}

/* The canonical patterns into q.  0, or -2 (NO) when too long. */
static int
add_patterns(struct imap *im, struct imap_cmd *c, struct list_req *q,
    const char *ref, const struct imap_arg *pats)
{
	size_t total = 0;

	if (pats->type == IMAP_ARG_LIST) {
		for (const struct imap_arg *p = pats->list; p->type !=
		    IMAP_ARG_EOL; p++)
			add_pattern(im, q, ref, p->str);
	} else if (pats->len == 0 && !q->extended) {
		q->empty = 1;	/* RFC 3501 6.3.8: the separator */
	} else {
		add_pattern(im, q, ref, pats->str);
	}
	for (size_t i = 0; i < q->npat; i++)
		if ((total += strlen(q->pat[i])) > LIST_PATTERN_BYTES) {
			cmd_no(c, "[LIMIT] Patterns too long");
			return -2;
		}
	return 0;
}

/*
 * The arguments after LIST or LSUB into q (RFC 5258 6: "LIST" [SP
 * list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]).
 * 0, -1 (BAD), -2 (NO).
 */
static int
parse(struct imap *im, struct imap_cmd *c, struct list_req *q)
{
	const struct imap_arg *a = c->args, *pats;
	const char *ref;
	int rc;

	if (!q->lsub && a->type == IMAP_ARG_LIST) {
		q->extended = 1;
		if (parse_select(c, a, &q->sel) < 0)
			return -1;
		a++;
	}
	if (!imap_arg_is_string(a)) {
		cmd_bad(c, "Invalid reference argument");
		return -1;
	}
	ref = a->str;
	pats = ++a;
	if ((rc = check_patterns(c, q, pats)) < 0)
		return rc;
	a++;
	if (!q->lsub && imap_arg_is_atom(a, "RETURN")) {
		q->extended = 1;
		if (parse_return(c, a + 1, q) < 0)
			return -1;
		a += 2;
	}
	if (a->type != IMAP_ARG_EOL) {
		cmd_bad(c, "Unexpected arguments");
		return -1;
	}
	/* RFC 5258 3.1: the selection options imply their return options */
	if (q->sel & SEL_SUBSCRIBED)
		q->ret |= RET_SUBSCRIBED;
	if (q->sel & SEL_SPECIALUSE)
		q->ret |= RET_SPECIALUSE;
	return add_patterns(im, c, q, ref, pats);
}

/* ---- the names ---- */

static int
cmp_ent(const void *x, const void *y)
{
	const struct ent *a = x, *b = y;
	int ia = strcmp(a->name, "INBOX") == 0, ib = strcmp(b->name,
	    "INBOX") == 0;

	/* INBOX first (clients like it), then bytewise */
	if (ia != ib)
		return ia ? -1 : 1;
	return strcmp(a->name, b->name);
}

/*
 * Every folder, plus the parents of subscribed names that neither exist
 * nor have a folder below them (folders_list leaves those out), sorted
 * as cmp_ent says.
 */
static struct ent *
gather(struct imap *im, struct folder_info *fl, size_t n, size_t *nout)
{
	struct ent *v = xreallocarray(NULL, n + 1, sizeof(*v));
	size_t nv = 0, cap = n + 1;
	struct su_map su;

	specialuse_load(im, &su);
	for (size_t i = 0; i < n; i++) {
		v[nv].name = xstrdup(fl[i].name);
		v[nv].attrs = fl[i].attrs;
		v[nv].uses = (fl[i].attrs & (FOLDER_NOSELECT |
		    FOLDER_NONEXISTENT)) ? 0 : specialuse_uses(&su, fl[i].name);
		nv++;
	}
	specialuse_map_free(&su);
	qsort(v, nv, sizeof(*v), cmp_ent);
	for (size_t i = 0, n0 = nv; i < n0; i++) {
		if ((v[i].attrs & (FOLDER_NONEXISTENT | FOLDER_HASCHILDREN)) !=
		    FOLDER_NONEXISTENT)
			continue;
		for (const char *s = v[i].name; (s = strchr(s, im->sep)) !=
		    NULL; s++) {
			struct ent key = { xstrndup(v[i].name,
			    (size_t)(s - v[i].name)), 0, 0, 0 };

			if (bsearch(&key, v, n0, sizeof(*v), cmp_ent) != NULL) {
				free(key.name);
				continue;
			}
			if (nv == cap)
				v = xreallocarray(v, cap *= 2, sizeof(*v));
			v[nv].name = key.name;
			/* no folder below it: that would have made it
			 * a parent in folders_list already */
			v[nv].attrs = FOLDER_NONEXISTENT | FOLDER_NOSELECT |
			    FOLDER_HASNOCHILDREN;
			v[nv].uses = 0;
			nv++;
		}
	}
	qsort(v, nv, sizeof(*v), cmp_ent);
	/* the same parent added for two names: keep one */
	size_t o = 0;
	for (size_t i = 0; i < nv; i++) {
		if (o > 0 && strcmp(v[o - 1].name, v[i].name) == 0) {
			free(v[i].name);
			continue;
		}
		v[o++] = v[i];
	}
	*nout = o;
	return v;
}

static int
matches(const struct imap *im, const struct list_req *q, const char *name)
{
	for (size_t i = 0; i < q->npat; i++)
		if (folder_match(q->pat[i], name, im->sep))
			return 1;
	return 0;
}

/* Does e itself meet the selection criteria? */
static int
meets(const struct list_req *q, const struct ent *e)
{
	if (q->lsub)
		return (e->attrs & FOLDER_SUBSCRIBED) != 0;
	if ((q->sel & SEL_SUBSCRIBED) && !(e->attrs & FOLDER_SUBSCRIBED))
		return 0;
	if ((q->sel & SEL_SPECIALUSE) && e->uses == 0)
		return 0;
	if (!(q->sel & (SEL_SUBSCRIBED | SEL_SPECIALUSE)))
		return !(e->attrs & FOLDER_NONEXISTENT);
	return 1;
}

/* Is there a descendant of v[i] that meets the criteria and that no
 * pattern matches?  The descendants follow it in the sorted array as
 * one run of names starting with "name" + sep. */
static int
hidden_descendant(const struct imap *im, const struct list_req *q,
    const struct ent *v, size_t n, size_t i)
{
	size_t len = strlen(v[i].name), lo = 0, hi = n;
	char *prefix = xasprintf("%s%c", v[i].name, im->sep);
	struct ent key = { prefix, 0, 0, 0 };
	int found = 0;

	while (lo < hi) {		/* first name >= prefix */
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_ent(&v[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && !found && strncmp(v[lo].name, prefix, len + 1) == 0;
	    lo++)
		found = meets(q, &v[lo]) && !v[lo].match;
	free(prefix);
	return found;
}

/* ---- writing ---- */

struct attrs_out {
	struct io *io;
	const char *sp;
};

static void
attr(struct attrs_out *o, const char *a)
{
	io_printf(o->io, "%s%s", o->sp, a);
	o->sp = " ";
}

static void
write_attrs(struct imap *im, const struct list_req *q, const struct ent *e,
    int noselect)
{
	struct attrs_out o = { im->io, "" };
	unsigned a = e->attrs;
	int children = !q->extended || (q->ret & RET_CHILDREN);

	/* Dovecot's order, which clients and test suites are used to */
	io_puts(im->io, "(");
	if (q->extended && (q->ret & RET_SUBSCRIBED) &&
	    (a & FOLDER_SUBSCRIBED))
		attr(&o, "\\Subscribed");
	if (q->extended && (a & FOLDER_NONEXISTENT))
		attr(&o, "\\NonExistent");
	else if (noselect || (a & (FOLDER_NOSELECT | FOLDER_NONEXISTENT)))
		attr(&o, "\\Noselect");
	if (a & FOLDER_NOINFERIORS)
		attr(&o, "\\NoInferiors");
	if (!q->lsub && children && (a & FOLDER_HASCHILDREN))
		attr(&o, "\\HasChildren");
	else if (!q->lsub && children && !(a & FOLDER_NOINFERIORS))
		attr(&o, "\\HasNoChildren");	/* RFC 3348 3: not with it */
	if (!q->lsub && (!q->extended || (q->ret & RET_SPECIALUSE)) &&
	    e->uses)
		specialuse_write(im->io, e->uses, &o.sp);
	io_puts(im->io, ")");
}

static void
write_childinfo(struct imap *im, const struct list_req *q)
{
	const char *sp = "";

	io_puts(im->io, " (\"CHILDINFO\" (");
	if (q->sel & SEL_SUBSCRIBED) {
		io_puts(im->io, "\"SUBSCRIBED\"");
		sp = " ";
	}
	if (q->sel & SEL_SPECIALUSE)
		io_printf(im->io, "%s\"SPECIAL-USE\"", sp);
	io_puts(im->io, "))");
}

static void
write_line(struct imap *im, const struct list_req *q, const struct ent *e,
    int noselect, int childinfo)
{
	io_printf(im->io, "* %s ", q->lsub ? "LSUB" : "LIST");
	write_attrs(im, q, e, noselect);
	io_printf(im->io, " \"%c\" ", im->sep);
	imap_write_mailbox(im->io, e->name);
	if (childinfo)
		write_childinfo(im, q);
	io_puts(im->io, "\r\n");
}

/* One name: whether and how to list it (RFC 5258 3.3 and 3.5). */
static void
list_one(struct imap *im, const struct list_req *q, const struct ent *v,
    size_t n, size_t i)
{
	const struct ent *e = &v[i];
	int ok = meets(q, e), childinfo = 0, noselect = 0;
	struct store_status st;
	char err[256];

	if (q->lsub && !ok) {
		/* RFC 3501 6.3.9: an unsubscribed parent as \Noselect */
		if (!hidden_descendant(im, q, v, n, i))
			return;
		noselect = 1;
	} else if (q->extended && (q->sel & SEL_RECURSIVE)) {
		childinfo = hidden_descendant(im, q, v, n, i);
		if (!ok && !childinfo)
			return;
	} else if (!ok) {
		/* a parent that does not exist, shown for its children */
		if (!(q->sel & (SEL_SUBSCRIBED | SEL_SPECIALUSE)) &&
		    (e->attrs & FOLDER_HASCHILDREN) &&
		    hidden_descendant(im, q, v, n, i))
			ok = -1;
		if (!ok)
			return;
	}
	/* RFC 5819 2: STATUS first, so that a folder that turns out not
	 * to be selectable is listed \Noselect and without STATUS */
	if ((q->ret & RET_STATUS) && ok == 1 &&
	    !(e->attrs & (FOLDER_NOSELECT | FOLDER_NONEXISTENT))) {
		enum store_result r = status_get(im, e->name, &q->st, &st,
		    err, sizeof(err));

		if (r == STORE_ENOENT)
			noselect = 1;
		else if (r != STORE_OK)
			log_msg(LOG_WARNING, "LIST STATUS %s: %s", e->name, err);
		write_line(im, q, e, noselect, childinfo);
		if (r == STORE_OK)
			status_write(im, e->name, &q->st, &st);
		return;
	}
	write_line(im, q, e, noselect, childinfo);
}

static enum cmd_result
run(struct imap *im, struct imap_cmd *c, struct list_req *q)
{
	struct folder_info *fl;
	struct ent *v;
	size_t n, nv;
	char err[512] = "";
	enum store_result r;

	if (q->empty) {
		/* RFC 3501 6.3.8: the separator, and "" as the root: our
		 * names are never rooted */
		io_printf(im->io, "* %s (\\Noselect) \"%c\" \"\"\r\n",
		    q->lsub ? "LSUB" : "LIST", im->sep);
		return cmd_ok(c, "%s completed.", q->lsub ? "Lsub" : "List");
	}
	if (q->npat > 0) {
		if ((r = folders_list(im->folders, &fl, &n, err,
		    sizeof(err))) != STORE_OK)
			return cmd_store_error(c, r, err);
		v = gather(im, fl, n, &nv);
		folder_list_free(fl, n);
		/* each name is matched once: hidden_descendant looks
		 * at the same names again and again */
		for (size_t i = 0; i < nv; i++)
			v[i].match = matches(im, q, v[i].name);
		for (size_t i = 0; i < nv; i++)
			if (v[i].match)
				list_one(im, q, v, nv, i);
		for (size_t i = 0; i < nv; i++)
			free(v[i].name);
		free(v);
	}
	return cmd_ok(c, "%s completed.", q->lsub ? "Lsub" : "List");
}

enum cmd_result
cmd_list(struct imap *im, struct imap_cmd *c)
{
	struct list_req q;
	enum cmd_result res;
	int rc;

	memset(&q, 0, sizeof(q));
	q.lsub = strcasecmp(c->name, "LSUB") == 0;
	if ((rc = parse(im, c, &q)) < 0) {
		req_free(&q);
		return rc == -1 ? CMD_BAD : CMD_NO;
	}
	res = run(im, c, &q);
	req_free(&q);
	return res;
}
