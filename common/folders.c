/*
 * folders.c - folder names and the hierarchy (folders.h): opening the
 * tree, the one name check every path goes through, the LIST wildcard
 * matcher, and the listing with its attributes.  The backends are
 * folders_maildir.c and folders_mbox.c; subscriptions.c keeps the
 * subscription list.
 *
 * Trust: every name is untrusted, whether a client sent it or it was read
 * from a directory entry or a subscription file; folders_norm decides.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "folders_int.h"
#include "log.h"
#include "mutf7.h"
#include "store_int.h"
#include "util.h"

enum store_result
folders_open(const char *mail_location, const struct store_user *u,
    char sep, struct folders **out, char *err, size_t errlen)
{
	struct store_location l;
	struct folders *f;
	enum store_result r;

	*out = NULL;
	if (sep != '/' && sep != '.')
		return store_fail(STORE_EPERM, err, errlen,
		    "hierarchy separator must be '/' or '.'");
	if ((r = store_location_parse(mail_location, u, &l, err, errlen)) !=
	    STORE_OK)
		return r;
	if (l.mbox && sep != '/')
		return store_fail(STORE_EPERM, err, errlen,
		    "mbox folders need the separator '/' (a '.' is an "
		    "ordinary character in mbox file names)");
	f = xcalloc(1, sizeof(*f));
	f->mbox = l.mbox;
	f->sep = sep;
	memcpy(f->root, l.path, sizeof(f->root));
	memcpy(f->inbox, l.inbox[0] ? l.inbox : l.path, sizeof(f->inbox));
	if (u->home != NULL && u->home[0] == '/' &&
	    strlen(u->home) < sizeof(f->home))
		strcpy(f->home, u->home);
	*out = f;
	return STORE_OK;
}

void
folders_close(struct folders *f)
{
	free(f);
}

int
folders_is_inbox(const char *canon)
{
	return strcmp(canon, "INBOX") == 0;
}

/* Check one component c[0..n) of a name; NULL if fine, else why not. */
static const char *
bad_component(const struct folders *f, const char *c, size_t n, int first)
{
	if (n == 0)
		return "empty hierarchy level (\"a//b\", or a separator at "
		    "either end)";
	if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
		return "\".\" and \"..\" are not folder names";
	if (f->sep == '.' && memchr(c, '/', n) != NULL)
		return "'/' cannot be part of a name (it is a path separator "
		    "on disk)";
	if (!f->mbox && f->sep == '/' && memchr(c, '.', n) != NULL)
		return "'.' cannot be part of a Maildir++ name (it is the "
		    "hierarchy separator on disk)";
	if (first && n >= 8 && memcmp(c, "postern-", 8) == 0)
		return "names starting with \"postern-\" are reserved";
	if (f->mbox && c[0] == '.')
		return "mbox names cannot start with '.' (hidden files)";
	if (f->mbox && n >= 5 && memcmp(c + n - 5, ".lock", 5) == 0)
		return "mbox names ending in \".lock\" are lock files";
	/* mbox: room for the dot-lock "<name>.lock" beside the file */
	if (f->mbox && n > NAME_MAX - 5)
		return "a hierarchy level is too long for a file name";
	return NULL;
}

enum store_result
folders_norm(const struct folders *f, const char *name, int trailing,
    char *out, char *err, size_t errlen)
{
	size_t len = name != NULL ? strlen(name) : 0, i, start;
	const char *why;
	int ninbox;

	if (len == 0)
		return store_fail(STORE_EBADNAME, err, errlen, "empty name");
	if (len >= PATH_MAX - 1)
		return store_fail(STORE_EBADNAME, err, errlen,
		    "name too long");
	if (!mutf7_valid(name, len))
		return store_fail(STORE_EBADNAME, err, errlen,
		    "name is not valid modified UTF-7 (RFC 3501 5.1.3)");
	if (name[0] == '~')
		return store_fail(STORE_EBADNAME, err, errlen,
		    "names cannot start with '~'");
	if (trailing && len > 1 && name[len - 1] == f->sep)
		len--;
	memcpy(out, name, len);
	if (len < strlen(name))
		out[len] = f->sep, out[len + 1] = '\0';
	else
		out[len] = '\0';
	ninbox = strcspn(name, (char[]){ f->sep, 0 }) == 5 &&
	    strncasecmp(name, "INBOX", 5) == 0;
	if (ninbox)
		memcpy(out, "INBOX", 5);
	for (start = 0, i = 0; i <= len; i++) {
		if (i < len && name[i] != f->sep)
			continue;
		if ((why = bad_component(f, name + start, i - start,
		    start == 0)) != NULL)
			return store_fail(STORE_EBADNAME, err, errlen, "%s",
			    why);
		start = i + 1;
	}
	if (f->mbox && ninbox && len > 5)
		return store_fail(STORE_EBADNAME, err, errlen,
		    "INBOX cannot have child folders in mbox");
	/* Maildir++ keeps the whole name in one directory entry ".a.b" */
	if (!f->mbox && len + 1 > NAME_MAX)
		return store_fail(STORE_EBADNAME, err, errlen,
		    "name too long for a Maildir++ folder (%d bytes at most)",
		    NAME_MAX - 1);
	if (strlen(f->root) + len + 64 >= PATH_MAX)
		return store_fail(STORE_EBADNAME, err, errlen,
		    "name too long for a path");
	return STORE_OK;
}

enum store_result
folders_disk(const struct folders *f, const char *canon, char *out,
    char *err, size_t errlen)
{
	size_t o, i;

	if (folders_is_inbox(canon)) {
		strcpy(out, f->inbox);
		return STORE_OK;
	}
	o = strlen(f->root);
	if (o + strlen(canon) + 3 > PATH_MAX)
		return store_fail(STORE_EBADNAME, err, errlen,
		    "name too long for a path");
	memcpy(out, f->root, o);
	out[o++] = '/';
	if (!f->mbox)
		out[o++] = '.';
	for (i = 0; canon[i]; i++)
		out[o++] = canon[i] == f->sep ? (f->mbox ? '/' : '.') :
		    canon[i];
	out[o] = '\0';
	return STORE_OK;
}

enum store_result
folder_path(struct folders *f, const char *name, char *out, size_t outlen,
    char *err, size_t errlen)
{
	char canon[PATH_MAX], path[PATH_MAX];
	enum store_result r;

	if ((r = folders_norm(f, name, 0, canon, err, errlen)) != STORE_OK ||
	    (r = folders_disk(f, canon, path, err, errlen)) != STORE_OK)
		return r;
	if (strlen(path) >= outlen)
		return store_fail(STORE_EBADNAME, err, errlen,
		    "path does not fit the buffer");
	strcpy(out, path);
	return STORE_OK;
}

/* ---- wildcard matching (RFC 3501 6.3.8) ---- */

/*
 * Row-by-row dynamic programming over the pattern: row[j] says whether
 * the pattern so far matches the first j bytes of the name.  No
 * backtracking, so "*a*a*a...b" costs the same as any other pattern.
 */
static int
match_dp(const char *pat, const char *name, char sep)
{
	size_t n = strlen(name), j;
	unsigned char stackrow[1024], *row;
	int any;

	row = n + 1 <= sizeof(stackrow) ? stackrow : xmalloc(n + 1);
	memset(row, 0, n + 1);
	row[0] = 1;
	for (; *pat; pat++) {
		if (*pat == '*' && pat[1] == '*')
			continue;	/* "**" is "*" */
		if (*pat == '*' || *pat == '%') {
			for (j = 1; j <= n; j++)
				row[j] |= row[j - 1] &&
				    (*pat == '*' || name[j - 1] != sep);
			continue;
		}
		any = 0;
		for (j = n; j >= 1; j--) {
			row[j] = row[j - 1] && name[j - 1] == *pat;
			any |= row[j];
		}
		row[0] = 0;
		if (!any)
			break;
	}
	any = *pat == '\0' && row[n];
	if (row != stackrow)
		free(row);
	return any;
}

int
folder_match(const char *pattern, const char *name, char sep)
{
	size_t k;

	if (match_dp(pattern, name, sep))
		return 1;
	/* INBOX is case-insensitive: retry with the pattern's literal
	 * start upper-cased, when the name's first component is INBOX. */
	if (strncasecmp(name, "INBOX", 5) != 0 ||
	    (name[5] != '\0' && name[5] != sep))
		return 0;
	for (k = 0; k < 5 && pattern[k] && pattern[k] != '*' &&
	    pattern[k] != '%' && pattern[k] != sep; k++)
		if ((pattern[k] & ~0x20) != "INBOX"[k])
			return 0;
	if (k == 0)
		return 0;
	{
		size_t plen = strlen(pattern), nlen = strlen(name);
		char *p = xmalloc(plen + 1), *nm = xmalloc(nlen + 1);
		int m;

		memcpy(p, pattern, plen + 1);
		memcpy(p, "INBOX", k);
		memcpy(nm, name, nlen + 1);
		memcpy(nm, "INBOX", 5);
		m = match_dp(p, nm, sep);
		free(p);
		free(nm);
		return m;
	}
}

/* ---- listing ---- */

void
namelist_add(struct namelist *l, const char *name, size_t len,
    unsigned attrs)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n].name = xstrndup(name, len);
	l->v[l->n].attrs = attrs;
	l->n++;
}

static int
cmp_info(const void *a, const void *b)
{
	return strcmp(((const struct folder_info *)a)->name,
	    ((const struct folder_info *)b)->name);
}

static struct folder_info *
find(struct namelist *l, const char *name)
{
	struct folder_info key = { (char *)name, 0 };

	return bsearch(&key, l->v, l->n, sizeof(*l->v), cmp_info);
}

/* Sort and drop duplicate names (an existing folder wins over an
 * implied one). */
static void
sort_uniq(struct namelist *l)
{
	size_t i, o = 0;

	if (l->n == 0)
		return;
	qsort(l->v, l->n, sizeof(*l->v), cmp_info);
	for (i = 0; i < l->n; i++) {
		if (o > 0 && strcmp(l->v[o - 1].name, l->v[i].name) == 0) {
			if (l->v[o - 1].attrs & FOLDER_NONEXISTENT)
				l->v[o - 1].attrs = l->v[i].attrs;
			free(l->v[i].name);
			continue;
		}
		l->v[o++] = l->v[i];
	}
	l->n = o;
}

/* Add implied parents, then set (no)children (RFC 3348). */
static void
settle(struct folders *f, struct namelist *l)
{
	size_t i, n0;
	struct folder_info *p;
	const char *s;
	char *par;

	sort_uniq(l);
	n0 = l->n;
	for (i = 0; i < n0; i++) {
		for (s = l->v[i].name; (s = strchr(s, f->sep)) != NULL; s++) {
			size_t len = (size_t)(s - l->v[i].name);
			struct folder_info key;

			par = xstrndup(l->v[i].name, len);
			key.name = par;
			if (bsearch(&key, l->v, n0, sizeof(*l->v),
			    cmp_info) == NULL)
				namelist_add(l, par, len,
				    FOLDER_NONEXISTENT | FOLDER_NOSELECT);
			free(par);
		}
	}
	sort_uniq(l);
	for (i = 0; i < l->n; i++) {
		s = strrchr(l->v[i].name, f->sep);
		if (s == NULL)
			continue;
		par = xstrndup(l->v[i].name, (size_t)(s - l->v[i].name));
		if ((p = find(l, par)) != NULL)
			p->attrs |= FOLDER_HASCHILDREN;
		free(par);
	}
	for (i = 0; i < l->n; i++)
		if (!(l->v[i].attrs & FOLDER_HASCHILDREN))
			l->v[i].attrs |= FOLDER_HASNOCHILDREN;
}

/* Mark subscribed folders; add subscribed names that do not exist. */
static void
merge_subs(struct folders *f, struct namelist *l, char **subs, size_t ns)
{
	size_t i, n0 = l->n;
	struct folder_info *p;

	(void)f;
	for (i = 0; i < ns; i++) {
		struct folder_info key = { subs[i], 0 };

		p = bsearch(&key, l->v, n0, sizeof(*l->v), cmp_info);
		if (p != NULL)
			p->attrs |= FOLDER_SUBSCRIBED;
		else if (l->n < FOLDERS_MAX * 2)
			namelist_add(l, subs[i], strlen(subs[i]),
			    FOLDER_NONEXISTENT | FOLDER_SUBSCRIBED);
	}
	qsort(l->v, l->n, sizeof(*l->v), cmp_info);
}

enum store_result
folders_list(struct folders *f, struct folder_info **list, size_t *n,
    char *err, size_t errlen)
{
	struct namelist l = { 0 };
	struct folder_info *p, tmp;
	enum store_result r;
	char **subs;
	size_t ns;

	*list = NULL;
	*n = 0;
	namelist_add(&l, "INBOX", 5, f->mbox ? FOLDER_NOINFERIORS : 0);
	r = f->mbox ? mbox_folders_scan(f, &l, err, errlen) :
	    maildir_folders_scan(f, &l, err, errlen);
	if (r == STORE_OK)
		r = subs_load(f, &subs, &ns, err, errlen);
	if (r != STORE_OK) {
		folder_list_free(l.v, l.n);
		return r;
	}
	settle(f, &l);
	merge_subs(f, &l, subs, ns);
	subs_free(subs, ns);
	/* INBOX first (RFC 3501 does not require it; clients like it) */
	p = find(&l, "INBOX");
	if (p != NULL && p != l.v) {
		tmp = *p;
		memmove(l.v + 1, l.v, (size_t)(p - l.v) * sizeof(*p));
		l.v[0] = tmp;
	}
	*list = l.v;
	*n = l.n;
	return STORE_OK;
}

void
folder_list_free(struct folder_info *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i].name);
	free(list);
}

/* ---- changes ---- */

enum store_result
folder_create(struct folders *f, const char *name, char *err, size_t errlen)
{
	char canon[PATH_MAX];
	enum store_result r;
	size_t len;
	int dir;

	if ((r = folders_norm(f, name, 1, canon, err, errlen)) != STORE_OK)
		return r;
	len = strlen(canon);
	dir = canon[len - 1] == f->sep;
	if (dir)
		canon[len - 1] = '\0';
	if (folders_is_inbox(canon))
		return store_fail(STORE_EEXIST, err, errlen,
		    "INBOX always exists");
	if (f->mbox)
		return mbox_folder_create(f, canon, dir, err, errlen);
	return maildir_folder_create(f, canon, err, errlen);
}

enum store_result
folder_delete(struct folders *f, const char *name, char *err, size_t errlen)
{
	char canon[PATH_MAX];
	enum store_result r;

	if ((r = folders_norm(f, name, 0, canon, err, errlen)) != STORE_OK)
		return r;
	if (folders_is_inbox(canon))
		return store_fail(STORE_EBADNAME, err, errlen,
		    "INBOX cannot be deleted (RFC 3501 6.3.4)");
	if (f->mbox)
		return mbox_folder_delete(f, canon, err, errlen);
	return maildir_folder_delete(f, canon, err, errlen);
}

enum store_result
folder_rename(struct folders *f, const char *from, const char *to,
    char *err, size_t errlen)
{
	char a[PATH_MAX], b[PATH_MAX];
	enum store_result r;
	size_t la;

	if ((r = folders_norm(f, from, 0, a, err, errlen)) != STORE_OK ||
	    (r = folders_norm(f, to, 0, b, err, errlen)) != STORE_OK)
		return r;
	if (folders_is_inbox(b))
		return store_fail(STORE_EEXIST, err, errlen,
		    "INBOX always exists");
	la = strlen(a);
	if (strcmp(a, b) == 0 || (strncmp(a, b, la) == 0 && b[la] == f->sep))
		return store_fail(STORE_EBADNAME, err, errlen,
		    "a folder cannot be renamed to itself or into itself");
	r = f->mbox ? mbox_folder_rename(f, a, b, err, errlen) :
	    maildir_folder_rename(f, a, b, err, errlen);
	/* INBOX stays where it is (its messages moved), and so do its
	 * subscriptions.  The rename is done either way: a failure to
	 * update the subscriptions is only logged. */
	if (r == STORE_OK && !folders_is_inbox(a) &&
	    subs_rename(f, a, b, err, errlen) != STORE_OK) {
		log_msg(LOG_WARNING, "RENAME %s: %s", a, err);
		if (err != NULL && errlen > 0)
			err[0] = '\0';
	}
	return r;
}

enum store_result
folder_subscribe(struct folders *f, const char *name, int on, char *err,
    size_t errlen)
{
	char canon[PATH_MAX];
	enum store_result r;

	if ((r = folders_norm(f, name, 0, canon, err, errlen)) != STORE_OK)
		return r;
	return subs_set(f, canon, on, err, errlen);
}
