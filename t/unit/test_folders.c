/*
 * test_folders.c - the folder layer (folders.h): the name check (a table
 * of good and bad names with the reason each bad one gives), the LIST
 * matcher (RFC 3501 6.3.8 examples, INBOX case, a pathological pattern),
 * Maildir++ and mbox create/list/delete/rename, subscriptions and the
 * import of Dovecot's, Courier's and UW imapd's files.  Each test works
 * in its own temp dir under $TMPDIR.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "folders.h"
#include "folders_int.h"
#include "tap.h"

static char home[PATH_MAX];
static struct store_user user = { "alice", home };

static void
fresh(void)
{
	const char *t = getenv("TMPDIR");
	char tmpl[PATH_MAX];

	snprintf(tmpl, sizeof(tmpl), "%s/postern-folders.XXXXXX",
	    t ? t : "/tmp");
	if (mkdtemp(tmpl) == NULL)
		abort();
	strcpy(home, tmpl);
}

/* Entries of home/rel whose names start with prefix. */
static int
count_prefix(const char *rel, const char *prefix)
{
	char p[PATH_MAX + 64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(p, sizeof(p), "%s/%s", home, rel);
	if ((d = opendir(p)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

static char *
slurp(const char *rel)
{
	static char buf[65536];
	char p[PATH_MAX + 64];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", home, rel);
	buf[0] = '\0';
	if ((fd = open(p, O_RDONLY)) < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

static void
put(const char *rel, const char *data)
{
	char p[PATH_MAX + 64];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", home, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, strlen(data)) < 0)
		tap_diag("put %s: %s", p, strerror(errno));
	close(fd);
}

static int
exists(const char *rel)
{
	char p[PATH_MAX + 64];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", home, rel);
	return lstat(p, &st) == 0;
}

static struct folders *
md_open(char sep)
{
	struct folders *f;
	char err[256];

	fresh();
	{
		char cmd[PATH_MAX * 4];

		snprintf(cmd, sizeof(cmd), "mkdir -p %s/Maildir/cur "
		    "%s/Maildir/new %s/Maildir/tmp", home, home, home);
		if (system(cmd) != 0)
			abort();
	}
	if (folders_open("maildir:~/Maildir", &user, sep, &f, err,
	    sizeof(err)) != STORE_OK) {
		tap_diag("open: %s", err);
		abort();
	}
	return f;
}

static struct folders *
mb_open(void)
{
	struct folders *f;
	char err[256];

	fresh();
	if (folders_open("mbox:~/mail:INBOX=~/inbox", &user, '/', &f, err,
	    sizeof(err)) != STORE_OK) {
		tap_diag("open: %s", err);
		abort();
	}
	return f;
}

/* "name[attrs] ..." with S=\Noselect I=\Noinferiors C=\HasChildren
 * N=\HasNoChildren X=\NonExistent U=subscribed. */
static char *
listing(struct folders *f)
{
	static char out[8192];
	struct folder_info *l;
	size_t n, i, o = 0;
	char err[256];

	out[0] = '\0';
	if (folders_list(f, &l, &n, err, sizeof(err)) != STORE_OK) {
		snprintf(out, sizeof(out), "ERROR %s", err);
		return out;
	}
	for (i = 0; i < n; i++) {
		unsigned a = l[i].attrs;

		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s[%s%s%s%s%s%s]",
		    i ? " " : "", l[i].name,
		    a & FOLDER_NOSELECT ? "S" : "", a & FOLDER_NOINFERIORS ? "I" : "",
		    a & FOLDER_HASCHILDREN ? "C" : "",
		    a & FOLDER_HASNOCHILDREN ? "N" : "",
		    a & FOLDER_NONEXISTENT ? "X" : "",
		    a & FOLDER_SUBSCRIBED ? "U" : "");
	}
	folder_list_free(l, n);
	return out;
}

/* ---- names ---- */

struct namecase {
	char sep;
	int mbox;
	const char *name;
	const char *want;	/* path below home, or NULL: refused */
	const char *why;	/* substring of the reason */
};

static const struct namecase names[] = {
	{ '/', 0, "a", "Maildir/.a", NULL },
	{ '/', 0, "a/b", "Maildir/.a.b", NULL },
	{ '/', 0, "INBOX", "Maildir", NULL },
	{ '/', 0, "inbox", "Maildir", NULL },
	{ '/', 0, "iNbOx/x", "Maildir/.INBOX.x", NULL },
	{ '/', 0, "inboxes", "Maildir/.inboxes", NULL },
	{ '/', 0, "&AOQ-pfel", "Maildir/.&AOQ-pfel", NULL },
	{ '/', 0, "a b", "Maildir/.a b", NULL },
	{ '.', 0, "a.b", "Maildir/.a.b", NULL },
	{ '.', 0, "INBOX.x", "Maildir/.INBOX.x", NULL },
	{ '/', 0, "", NULL, "empty" },
	{ '/', 0, "a//b", NULL, "empty hierarchy" },
	{ '/', 0, "/a", NULL, "empty hierarchy" },
	{ '/', 0, "a/", NULL, "empty hierarchy" },
	{ '/', 0, "a/../b", NULL, "\"..\"" },
	{ '/', 0, ".", NULL, "\".\"" },
	{ '/', 0, "a.b", NULL, "'.' cannot" },
	{ '.', 0, "a/b", NULL, "'/' cannot" },
	{ '.', 0, "a..b", NULL, "empty hierarchy" },
	{ '/', 0, "~a", NULL, "'~'" },
	{ '/', 0, "a\tb", NULL, "UTF-7" },
	{ '/', 0, "&AOQ", NULL, "UTF-7" },
	{ '/', 0, "\xc3\xa4", NULL, "UTF-7" },
	{ '/', 0, "postern-uidlist", NULL, "reserved" },
	{ '/', 0, "postern-deleted/1/2", NULL, "reserved" },
	{ '/', 1, "a/b", "mail/a/b", NULL },
	{ '/', 1, "a.b", "mail/a.b", NULL },
	{ '/', 1, "INBOX", "inbox", NULL },
	{ '/', 1, "INBOX/x", NULL, "INBOX cannot have child" },
	{ '/', 1, ".hidden", NULL, "hidden" },
	{ '/', 1, "a/.x", NULL, "hidden" },
	{ '/', 1, "x.lock", NULL, "lock files" },
	{ '/', 1, "postern-subscriptions", NULL, "reserved" },
};

static void
test_names(void)
{
	char longname[300], err[256], got[PATH_MAX], want[PATH_MAX + 64];
	struct folders *f;
	enum store_result r;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct namecase *c = &names[i];

		f = c->mbox ? mb_open() : md_open(c->sep);
		err[0] = '\0';
		r = folder_path(f, c->name, got, sizeof(got), err,
		    sizeof(err));
		if (c->want != NULL) {
			snprintf(want, sizeof(want), "%s/%s", home, c->want);
			tap_ok(r == STORE_OK && strcmp(got, want) == 0,
			    "name %s \"%s\" (sep %c) -> %s",
			    c->mbox ? "mbox" : "maildir", c->name, c->sep,
			    c->want);
			if (r != STORE_OK || strcmp(got, want) != 0)
				tap_diag("got %d %s %s", r, got, err);
		} else {
			tap_ok(r == STORE_EBADNAME && strstr(err, c->why),
			    "name %s \"%s\" (sep %c) refused: %s",
			    c->mbox ? "mbox" : "maildir", c->name, c->sep,
			    err);
		}
		folders_close(f);
	}
	f = md_open('/');
	memset(longname, 'x', 256);
	longname[256] = '\0';
	tap_ok(folder_path(f, longname, got, sizeof(got), err, sizeof(err))
	    == STORE_EBADNAME && strstr(err, "too long"),
	    "name longer than NAME_MAX on disk refused: %s", err);
	longname[254] = '\0';
	tap_ok(folder_path(f, longname, got, sizeof(got), err, sizeof(err))
	    == STORE_OK, "name of 254 bytes (\".\" + 254 = 255) accepted");
	folders_close(f);
	fresh();
	tap_is_int(folders_open("mbox:~/mail", &user, '.', &f, err,
	    sizeof(err)), STORE_EPERM, "mbox with separator '.' refused");
	tap_ok(strstr(err, "separator") != NULL, "... with a reason: %s",
	    err);
}

/* ---- matching ---- */

static void
test_match(void)
{
	static const struct {
		const char *pat, *name;
		int want;
	} t[] = {
		{ "*", "a", 1 }, { "*", "a/b/c", 1 }, { "%", "a", 1 },
		{ "%", "a/b", 0 }, { "a/%", "a/b", 1 }, { "a/%", "a/b/c", 0 },
		{ "a/*", "a/b/c", 1 }, { "a/%", "a", 0 }, { "%/%", "a/b", 1 },
		{ "%/%", "a", 0 }, { "%/%", "a/b/c", 0 }, { "INBOX", "INBOX", 1 },
		{ "inbox", "INBOX", 1 }, { "InBoX/%", "INBOX/x", 1 },
		{ "inbox", "inboxes", 0 }, { "inb*", "INBOX", 1 },
		{ "INBOX", "inbox2", 0 }, { "abcdef", "abc", 0 },
		{ "abc", "abcdef", 0 }, { "", "", 1 }, { "", "a", 0 },
		{ "a%c", "abc", 1 }, { "a%c", "a/c", 0 }, { "a*c", "a/c", 1 },
		{ "*b", "abc", 0 }, { "%%%", "ab", 1 }, { "Foo", "foo", 0 },
		{ "*/x", "a/b/x", 1 }, { "%/x", "a/b/x", 0 },
	};
	char *name, *pat;
	clock_t t0;
	int ok = 1;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		tap_is_int(folder_match(t[i].pat, t[i].name, '/'), t[i].want,
		    t[i].pat);
	tap_is_int(folder_match("a.%", "a.b", '.'), 1, "sep '.': a.% ~ a.b");
	tap_is_int(folder_match("a.%", "a.b.c", '.'), 0,
	    "sep '.': a.% !~ a.b.c");

	name = malloc(1001);
	pat = malloc(2002);
	memset(name, 'a', 1000);
	name[1000] = '\0';
	for (int i = 0; i < 1000; i++)
		pat[2 * i] = '*', pat[2 * i + 1] = 'a';
	pat[2000] = 'b';
	pat[2001] = '\0';
	t0 = clock();
	ok = folder_match(pat, name, '/') == 0;
	pat[2000] = '\0';
	ok &= folder_match(pat, name, '/') == 1;
	memset(pat, '%', 1000);
	pat[1000] = 'b';
	pat[1001] = '\0';
	ok &= folder_match(pat, name, '/') == 0;
	tap_ok(ok && clock() - t0 < 20 * CLOCKS_PER_SEC,
	    "pathological *a*a*...b against 1000 bytes finishes (%.3f s)",
	    (double)(clock() - t0) / CLOCKS_PER_SEC);
	free(name);
	free(pat);
}

/* ---- Maildir ---- */

static void
test_maildir_create_list(void)
{
	struct folders *f = md_open('/');
	char err[256];

	tap_is_str(listing(f), "INBOX[N]", "maildir: fresh tree lists INBOX");
	tap_is_int(folder_create(f, "a", err, sizeof(err)), STORE_OK,
	    "maildir: create a");
	tap_ok(exists("Maildir/.a/cur") && exists("Maildir/.a/new") &&
	    exists("Maildir/.a/tmp") && exists("Maildir/.a/maildirfolder"),
	    "maildir: .a has cur new tmp maildirfolder");
	tap_is_int(folder_create(f, "a", err, sizeof(err)), STORE_EEXIST,
	    "maildir: create existing -> EEXIST");
	tap_is_int(folder_create(f, "inbox", err, sizeof(err)), STORE_EEXIST,
	    "maildir: create INBOX -> EEXIST");
	tap_is_int(folder_create(f, "x/y/z", err, sizeof(err)), STORE_OK,
	    "maildir: create x/y/z");
	tap_is_int(folder_create(f, "a/b/", err, sizeof(err)), STORE_OK,
	    "maildir: create a/b/ (trailing separator dropped)");
	tap_ok(exists("Maildir/.a.b/cur"), "maildir: a/b/ made .a.b");
	tap_is_int(folder_create(f, "INBOX/sent", err, sizeof(err)), STORE_OK,
	    "maildir: create INBOX/sent");
	tap_ok(exists("Maildir/.INBOX.sent/cur"),
	    "maildir: INBOX/sent is .INBOX.sent");
	/* junk the listing must skip */
	{
		char cmd[PATH_MAX * 6];

		snprintf(cmd, sizeof(cmd), "mkdir -p %s/Maildir/.nocur "
		    "%s/Maildir/.inbox.low/cur %s/elsewhere/cur && "
		    "ln -s %s/elsewhere %s/Maildir/.link", home, home, home,
		    home, home);
		if (system(cmd) != 0)
			tap_diag("setup failed");
	}
	tap_is_str(listing(f), "INBOX[C] INBOX/sent[N] a[C] a/b[N] x[SCX] "
	    "x/y[SCX] x/y/z[N]",
	    "maildir: list with children, implied parents, junk skipped");
	tap_ok(!exists("Maildir/.postern-new.0"), "maildir: no temp left");
	folders_close(f);

	f = md_open('.');
	tap_is_int(folder_create(f, "a.b", err, sizeof(err)), STORE_OK,
	    "maildir sep '.': create a.b");
	tap_is_str(listing(f), "INBOX[N] a[SCX] a.b[N]",
	    "maildir sep '.': listed with '.'");
	folders_close(f);
}

static void
test_maildir_delete(void)
{
	struct folders *f = md_open('/');
	char err[256], cmd[PATH_MAX * 6];

	tap_is_int(folder_delete(f, "INBOX", err, sizeof(err)),
	    STORE_EBADNAME, "maildir: delete INBOX refused");
	tap_is_int(folder_delete(f, "nope", err, sizeof(err)), STORE_ENOENT,
	    "maildir: delete missing -> ENOENT");
	folder_create(f, "a", err, sizeof(err));
	folder_create(f, "a/b", err, sizeof(err));
	put("outside", "keep me\n");
	put("Maildir/.a/cur/1.host:2,S", "msg\n");
	snprintf(cmd, sizeof(cmd), "ln -s %s/outside %s/Maildir/.a/cur/link "
	    "&& ln -s %s %s/Maildir/.a/new/dirlink", home, home, home, home);
	if (system(cmd) != 0)
		tap_diag("setup failed");
	tap_is_int(folder_delete(f, "a", err, sizeof(err)), STORE_OK,
	    "maildir: delete a (has a child)");
	tap_ok(!exists("Maildir/.a"), "maildir: .a is gone");
	tap_ok(exists("outside") && exists("Maildir/cur"),
	    "maildir: symlinks inside were unlinked, targets kept");
	tap_ok(exists("Maildir/.a.b/cur"), "maildir: child a/b kept");
	tap_is_str(listing(f), "INBOX[N] a[SCX] a/b[N]",
	    "maildir: a is now an implied parent");
	tap_is_int(folder_delete(f, "a", err, sizeof(err)), STORE_ENOENT,
	    "maildir: delete implied parent -> ENOENT");
	tap_is_int(count_prefix("Maildir", ".postern-"), 0,
	    "maildir: nothing hidden left behind");
	folders_close(f);
}

static void
test_maildir_rename(void)
{
	struct folders *f = md_open('/');
	char err[256];

	folder_create(f, "a", err, sizeof(err));
	folder_create(f, "a/x", err, sizeof(err));
	folder_create(f, "a/x/y", err, sizeof(err));
	folder_create(f, "ab", err, sizeof(err));
	put("Maildir/.a.x/cur/1.h:2,F", "m\n");
	tap_is_int(folder_rename(f, "a", "a/z", err, sizeof(err)),
	    STORE_EBADNAME, "maildir: rename into own child refused");
	tap_is_int(folder_rename(f, "a", "ab", err, sizeof(err)),
	    STORE_EEXIST, "maildir: rename onto existing -> EEXIST");
	tap_is_int(folder_rename(f, "nope", "q", err, sizeof(err)),
	    STORE_ENOENT, "maildir: rename missing -> ENOENT");
	tap_is_int(folder_rename(f, "a", "b", err, sizeof(err)), STORE_OK,
	    "maildir: rename a -> b");
	tap_is_str(listing(f), "INBOX[N] ab[N] b[C] b/x[C] b/x/y[N]",
	    "maildir: children moved along, ab untouched");
	tap_ok(exists("Maildir/.b.x/cur/1.h:2,F"),
	    "maildir: message in child moved with its flags");
	folders_close(f);

	f = md_open('/');
	put("Maildir/cur/1.h:2,S", "one\n");
	put("Maildir/new/2.h", "two\n");
	folder_create(f, "INBOX/keep", err, sizeof(err));
	tap_is_int(folder_rename(f, "INBOX", "old", err, sizeof(err)),
	    STORE_OK, "maildir: rename INBOX -> old");
	tap_ok(exists("Maildir/.old/cur/1.h:2,S") &&
	    exists("Maildir/.old/new/2.h"),
	    "maildir: INBOX messages moved, names (flags) kept");
	tap_ok(!exists("Maildir/cur/1.h:2,S") && !exists("Maildir/new/2.h"),
	    "maildir: INBOX left empty");
	tap_is_str(listing(f), "INBOX[C] INBOX/keep[N] old[N]",
	    "maildir: INBOX and its children stay");
	tap_is_int(folder_rename(f, "INBOX", "old", err, sizeof(err)),
	    STORE_EEXIST, "maildir: rename INBOX onto existing -> EEXIST");
	tap_is_int(folder_rename(f, "old", "inbox", err, sizeof(err)),
	    STORE_EEXIST, "maildir: rename to INBOX -> EEXIST");
	folders_close(f);
}

/* ---- mbox ---- */

static void
test_mbox(void)
{
	struct folders *f = mb_open();
	char err[256];

	tap_is_str(listing(f), "INBOX[IN]",
	    "mbox: INBOX listed even when absent");
	tap_is_int(folder_create(f, "a/b", err, sizeof(err)), STORE_OK,
	    "mbox: create a/b");
	tap_is_int(folder_create(f, "d/", err, sizeof(err)), STORE_OK,
	    "mbox: create d/ makes a directory");
	tap_is_int(folder_create(f, "a/b/c", err, sizeof(err)),
	    STORE_EBADNAME, "mbox: create under a mailbox file refused");
	tap_is_int(folder_create(f, "a/b", err, sizeof(err)), STORE_EEXIST,
	    "mbox: create existing -> EEXIST");
	put("mail/.subscriptions", "");
	put("mail/d/x.lock", "");
	put("mail/postern-subscriptions.lock", "");
	put("mail/.postern-journal-x", "");
	put("mail/inbox", "");
	tap_is_str(listing(f), "INBOX[IN] a[SC] a/b[IN] d[SN]",
	    "mbox: files \\NoInferiors, dirs \\Noselect, our files hidden");
	tap_is_int(folder_delete(f, "a", err, sizeof(err)), STORE_EBADNAME,
	    "mbox: delete non-empty directory refused");
	tap_ok(strstr(err, "6.3.4") != NULL, "... with a reason: %s", err);
	tap_is_int(folder_rename(f, "a", "e/f", err, sizeof(err)), STORE_OK,
	    "mbox: rename a -> e/f (parents made)");
	tap_ok(exists("mail/e/f/b"), "mbox: child file moved along");
	tap_is_int(folder_rename(f, "d", "e", err, sizeof(err)), STORE_EEXIST,
	    "mbox: rename onto existing -> EEXIST");
	tap_is_int(folder_rename(f, "INBOX", "x", err, sizeof(err)),
	    STORE_EBADNAME, "mbox: rename INBOX refused");
	tap_is_int(folder_delete(f, "e/f/b", err, sizeof(err)), STORE_OK,
	    "mbox: delete a file");
	tap_is_int(folder_delete(f, "e/f", err, sizeof(err)), STORE_OK,
	    "mbox: delete an empty directory");
	tap_is_int(folder_delete(f, "e/f", err, sizeof(err)), STORE_ENOENT,
	    "mbox: delete missing -> ENOENT");
	tap_is_int(folder_delete(f, "inbox", err, sizeof(err)),
	    STORE_EBADNAME, "mbox: delete INBOX refused");
	tap_is_str(listing(f), "INBOX[IN] d[SN] e[SN]", "mbox: final list");
	folders_close(f);
}

/* ---- subscriptions ---- */

static void
test_subs(void)
{
	struct folders *f = md_open('/');
	char err[256];

	folder_create(f, "a", err, sizeof(err));
	tap_is_int(folder_subscribe(f, "a", 1, err, sizeof(err)), STORE_OK,
	    "subs: subscribe a");
	tap_is_int(folder_subscribe(f, "gone/x", 1, err, sizeof(err)),
	    STORE_OK, "subs: subscribe a nonexistent folder");
	tap_is_int(folder_subscribe(f, "inbox", 1, err, sizeof(err)),
	    STORE_OK, "subs: subscribe inbox");
	tap_is_int(folder_subscribe(f, "a//b", 1, err, sizeof(err)),
	    STORE_EBADNAME, "subs: invalid name refused");
	tap_is_str(listing(f), "INBOX[NU] a[NU] gone/x[XU]",
	    "subs: listed as subscribed, nonexistent kept");
	tap_is_int(folder_subscribe(f, "a", 0, err, sizeof(err)), STORE_OK,
	    "subs: unsubscribe a");
	tap_is_int(folder_subscribe(f, "a", 0, err, sizeof(err)), STORE_OK,
	    "subs: unsubscribe again is fine");
	tap_is_str(listing(f), "INBOX[NU] a[N] gone/x[XU]",
	    "subs: a no longer subscribed");
	tap_is_str(slurp("Maildir/postern-subscriptions"), "INBOX\ngone/x\n",
	    "subs: our file holds one name per line");
	tap_ok(!exists("Maildir/postern-subscriptions.lock"),
	    "subs: lock released");
	folders_close(f);
}

/* RENAME takes the subscriptions of the folder and its children along;
 * names merely starting with the same letters stay. */
static void
test_subs_rename(void)
{
	struct folders *f = md_open('/');
	char err[256];

	folder_create(f, "work", err, sizeof(err));
	folder_create(f, "work/x", err, sizeof(err));
	folder_create(f, "workshop", err, sizeof(err));
	folder_subscribe(f, "work", 1, err, sizeof(err));
	folder_subscribe(f, "work/x", 1, err, sizeof(err));
	folder_subscribe(f, "workshop", 1, err, sizeof(err));
	folder_subscribe(f, "INBOX", 1, err, sizeof(err));
	tap_is_int(folder_rename(f, "work", "done", err, sizeof(err)),
	    STORE_OK, "subs rename: RENAME work done");
	tap_is_str(slurp("Maildir/postern-subscriptions"),
	    "INBOX\ndone\ndone/x\nworkshop\n",
	    "subs rename: work and work/x follow, workshop stays");
	tap_is_int(folder_rename(f, "INBOX", "old", err, sizeof(err)),
	    STORE_OK, "subs rename: RENAME INBOX old");
	tap_is_str(slurp("Maildir/postern-subscriptions"),
	    "INBOX\ndone\ndone/x\nworkshop\n",
	    "subs rename: INBOX stays subscribed (it still exists)");
	folders_close(f);
}

/* A crash in the middle of CREATE or DELETE leaves a hidden directory;
 * the next LIST removes it (a fresh .postern-new one may still be in use
 * by another session and stays). */
static void
test_leftovers(void)
{
	struct folders *f = md_open('/');
	struct folder_info *l;
	size_t n;
	char err[256], p[PATH_MAX + 64];
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

	folder_create(f, "keep", err, sizeof(err));
	snprintf(p, sizeof(p), "%s/Maildir/.postern-deleted.1.0", home);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/Maildir/.postern-deleted.1.0/cur", home);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/Maildir/.postern-new.2.0", home);
	mkdir(p, 0700);
	utimensat(AT_FDCWD, p, old, 0);
	snprintf(p, sizeof(p), "%s/Maildir/.postern-new.3.0", home);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/Maildir/.postern-deleted.4.0", home);
	if (symlink("/etc", p) < 0)
		abort();
	tap_is_int(folders_list(f, &l, &n, err, sizeof(err)), STORE_OK,
	    "leftovers: LIST");
	folder_list_free(l, n);
	tap_is_int(count_prefix("Maildir", ".postern-deleted.1"), 0,
	    "leftovers: a half-deleted folder is removed");
	tap_is_int(count_prefix("Maildir", ".postern-new.2"), 0,
	    "leftovers: an old half-created folder is removed");
	tap_is_int(count_prefix("Maildir", ".postern-new.3"), 1,
	    "leftovers: a fresh one is left to its creator");
	tap_is_int(count_prefix("Maildir", ".postern-deleted.4"), 1,
	    "leftovers: a symlink is neither followed nor removed");
	tap_is_int(count_prefix("Maildir", ".keep"), 1,
	    "leftovers: real folders stay");
	folders_close(f);
}

static void
test_subs_import(void)
{
	struct folders *f;

	f = md_open('/');
	put("Maildir/subscriptions", "V\t2\n\nINBOX\nwork\tproj\n"
	    "bad\001t\nINBOX\tsent\n");
	tap_is_str(listing(f), "INBOX[NU] INBOX/sent[XU] work/proj[XU]",
	    "import: Dovecot v2 (TAB levels, escaped line skipped)");
	folders_close(f);

	f = md_open('/');
	put("Maildir/subscriptions", "INBOX\nwork.proj\nlists/x\n");
	tap_is_str(listing(f), "INBOX[NU] lists/x[XU] work/proj[XU]",
	    "import: Dovecot v1 ('.' or '/' as separator)");
	folders_close(f);

	f = md_open('.');
	put("Maildir/courierimapsubscribed", "INBOX\nINBOX.a.b\n"
	    "shared.x\nINBOX.Sent\n");
	tap_is_str(listing(f), "INBOX[NU] Sent[XU] a.b[XU]",
	    "import: Courier (INBOX. stripped, shared skipped)");
	folders_close(f);

	f = md_open('/');
	put("Maildir/subscriptions", "a\n");
	put("Maildir/postern-subscriptions", "b\n");
	tap_is_str(listing(f), "INBOX[N] b[XU]",
	    "import: our file wins once it exists");
	folders_close(f);

	f = mb_open();
	{
		char p[PATH_MAX + 8];

		snprintf(p, sizeof(p), "%s/mail", home);
		mkdir(p, 0700);
	}
	put("mail/.subscriptions", "V\t2\n\nlists\tdebian\n");
	put(".mailboxlist", "mail/sent\nINBOX\n/etc/passwd\nother/x\n");
	tap_is_str(listing(f), "INBOX[INU] lists/debian[XU] sent[XU]",
	    "import: mbox Dovecot .subscriptions and UW .mailboxlist");
	folders_close(f);
}

static void
test_subs_corrupt(void)
{
	struct folders *f = md_open('/');
	char *big = malloc(20000);

	memset(big, 'x', 19999);
	big[19999] = '\0';
	memcpy(big + 9000, "\nok\n", 4);
	put("Maildir/postern-subscriptions", big);
	tap_is_str(listing(f), "INBOX[N] ok[XU]",
	    "corrupt: over-long lines skipped whole");
	folders_close(f);

	f = md_open('/');
	put("Maildir/postern-subscriptions", "a//b\n..\n\n\r\n&AOQ\n"
	    "postern-x\nINBOX\r\nlast-no-lf");
	tap_is_str(listing(f), "INBOX[NU] last-no-lf[XU]",
	    "corrupt: invalid names skipped, CRLF and missing LF handled");
	folders_close(f);

	f = md_open('/');
	{
		size_t n = 0, cap = 12 * 12000;
		char *many = malloc(cap);
		struct folder_info *l;
		size_t cnt;
		char err[256];

		for (int i = 0; i < 12000; i++)
			n += (size_t)snprintf(many + n, cap - n, "f%d\n", i);
		put("Maildir/postern-subscriptions", many);
		free(many);
		tap_ok(folders_list(f, &l, &cnt, err, sizeof(err)) == STORE_OK
		    && cnt == 1 + FOLDERS_MAX,
		    "corrupt: at most %d subscriptions read", FOLDERS_MAX);
		folder_list_free(l, cnt);
	}
	folders_close(f);
	free(big);
}

int
main(void)
{
	test_names();
	test_match();
	test_maildir_create_list();
	test_maildir_delete();
	test_maildir_rename();
	test_mbox();
	test_subs();
	test_subs_rename();
	test_leftovers();
	test_subs_import();
	test_subs_corrupt();
	return tap_done();
}
