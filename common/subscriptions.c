/*
 * subscriptions.c - the subscription list (RFC 3501 6.3.6, 6.3.7, 6.3.9).
 *
 * Ours is ROOT/postern-subscriptions: one canonical wire name per line,
 * LF, sorted, rewritten whole (write_file_atomic) under the dot-lock
 * postern-subscriptions.lock.  Until it exists, the files other servers
 * left are read instead (and become ours at the first change):
 *   Maildir: Dovecot's "subscriptions", Courier's "courierimapsubscribed";
 *   mbox:    Dovecot's ".subscriptions" in ROOT, UW imapd's ~/.mailboxlist.
 * Dovecot's file is version 1 (one name per line, in the namespace's
 * separator) or, when it begins with "V\t2\n\n", version 2: one name per
 * line with a TAB between hierarchy levels, and inside a level \001
 * escaping TAB, LF, CR and \001 itself (lib/strescape.c).  A name that
 * needs the escape holds a control character, which no valid name does,
 * so such lines are skipped.  For Maildir a version 1 line may use '.'
 * (Dovecot's default) or '/': neither can be part of a Maildir++ level,
 * so both are read as separators.  Courier names are "INBOX.a.b" for
 * "a/b"; UW imapd's are paths relative to the home directory.
 *
 * Every byte is untrusted: lines are bounded (SUBS_LINE_MAX; longer ones
 * are skipped whole), names checked by folders_norm (invalid ones are
 * skipped, never repaired), at most FOLDERS_MAX names are kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "folders_int.h"
#include "lock.h"
#include "store_int.h"
#include "util.h"

/* Read no more of a foreign file than FOLDERS_MAX full lines. */
#define SUBS_FILE_MAX ((off_t)FOLDERS_MAX * (SUBS_LINE_MAX + 1))
/* Dovecot's subscription lock goes stale after 30 s of no change; a
 * rewrite of our file takes milliseconds, so 120 s is generous. */
#define SUBS_LOCK_STALE 120

void
subs_reader_init(struct subs_reader *r, const struct folders *f,
    enum subs_kind kind, void (*add)(void *, const char *), void *arg)
{
	memset(r, 0, sizeof(*r));
	r->f = f;
	r->kind = kind;
	r->add = add;
	r->arg = arg;
}

static void
replace(char *s, char from, char to)
{
	for (; *s; s++)
		if (*s == from)
			*s = to;
}

/* The line as a wire name in place, or NULL to skip it. */
static char *
to_wire(struct subs_reader *r, char *s)
{
	const struct folders *f = r->f;
	char sep = f->sep;
	size_t k;

	switch (r->kind) {
	case SUBS_OURS:
		return s;
	case SUBS_DOVECOT:
		if (r->v2) {
			if (strchr(s, '\001') != NULL || strchr(s, sep))
				return NULL;
			replace(s, '\t', sep);
		} else if (!f->mbox) {
			replace(s, '.', sep);
			replace(s, '/', sep);
		}
		return s;
	case SUBS_COURIER:
		if (strcmp(s, "INBOX") == 0)
			return s;
		if (strncmp(s, "INBOX.", 6) != 0 || strchr(s, '/') != NULL)
			return NULL;	/* shared folders, or not storable */
		replace(s + 6, '.', sep);
		return s + 6;
	case SUBS_UW:
		if (strcasecmp(s, "INBOX") == 0)
			return s;
		k = strlen(f->root);
		if (s[0] != '/') {
			/* relative to home: compare ROOT without home/ */
			size_t h = strlen(f->home);

			if (h == 0 || strncmp(f->root, f->home, h) != 0 ||
			    f->root[h] != '/')
				return NULL;
			k -= h + 1;
			if (strncmp(s, f->root + h + 1, k) != 0)
				return NULL;
		} else if (strncmp(s, f->root, k) != 0) {
			return NULL;
		}
		return s[k] == '/' ? s + k + 1 : NULL;
	}
	return NULL;
}

static void
line_done(struct subs_reader *r)
{
	char canon[PATH_MAX], *w;

	r->line[r->len] = '\0';
	if (r->len > 0 && r->line[r->len - 1] == '\r')
		r->line[--r->len] = '\0';
	if (r->kind == SUBS_DOVECOT && r->bol_state == 0 &&
	    strcmp(r->line, "V\t2") == 0) {
		r->v2 = 1;	/* the header; the empty line after it is
				 * skipped like any empty line */
		r->bol_state = 1;
		return;
	}
	r->bol_state = 1;
	if (r->len == 0 || r->nlines >= FOLDERS_MAX ||
	    (w = to_wire(r, r->line)) == NULL ||
	    folders_norm(r->f, w, 0, canon, NULL, 0) != STORE_OK)
		return;
	r->nlines++;
	r->add(r->arg, canon);
}

void
subs_reader_feed(struct subs_reader *r, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			if (!r->toolong)
				line_done(r);
			r->toolong = 0;
			r->len = 0;
			r->bol_state = 1;
		} else if (r->len < SUBS_LINE_MAX) {
			r->line[r->len++] = p[i];
		} else {
			r->toolong = 1;
		}
	}
}

void
subs_reader_end(struct subs_reader *r)
{
	if (r->len > 0 && !r->toolong)
		line_done(r);	/* last line without LF */
	r->len = 0;
}

struct subs_set {
	char **v;
	size_t n, cap;
};

static void
collect(void *arg, const char *canon)
{
	struct subs_set *s = arg;

	if (s->n >= FOLDERS_MAX)
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 32;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
	}
	s->v[s->n++] = xstrdup(canon);
}

/* Feed the file at path to a reader: 1 read, 0 absent, -1 error. */
static int
read_file(const struct folders *f, const char *path, enum subs_kind kind,
    struct subs_set *s)
{
	struct subs_reader *r = xmalloc(sizeof(*r));
	char buf[16384];
	struct stat st;
	off_t total = 0;
	ssize_t got;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int absent = fd < 0 && (errno == ENOENT || errno == ELOOP ||
		    errno == ENOTDIR);

		if (fd >= 0)
			close(fd);
		free(r);
		return absent || fd >= 0 ? 0 : -1;
	}
	subs_reader_init(r, f, kind, collect, s);
	while (total < SUBS_FILE_MAX &&
	    (got = read(fd, buf, sizeof(buf))) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			close(fd);
			free(r);
			return -1;
		}
		subs_reader_feed(r, buf, (size_t)got);
		total += got;
	}
	subs_reader_end(r);
	close(fd);
	free(r);
	return 1;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
sort_uniq(struct subs_set *s)
{
	size_t i, o = 0;

	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof(*s->v), cmp_str);
	for (i = 0; i < s->n; i++) {
		if (o > 0 && strcmp(s->v[o - 1], s->v[i]) == 0)
			free(s->v[i]);
		else
			s->v[o++] = s->v[i];
	}
	s->n = o;
}

enum store_result
subs_load(struct folders *f, char ***names, size_t *n, char *err,
    size_t errlen)
{
	struct subs_set s = { 0 };
	char p[PATH_MAX + 32];
	int rc;

	snprintf(p, sizeof(p), "%s/%s", f->root, SUBS_FILE);
	rc = read_file(f, p, SUBS_OURS, &s);
	if (rc == 0 && !f->mbox) {
		snprintf(p, sizeof(p), "%s/subscriptions", f->root);
		rc = read_file(f, p, SUBS_DOVECOT, &s);
		snprintf(p, sizeof(p), "%s/courierimapsubscribed", f->root);
		rc |= read_file(f, p, SUBS_COURIER, &s);
	} else if (rc == 0) {
		snprintf(p, sizeof(p), "%s/.subscriptions", f->root);
		rc = read_file(f, p, SUBS_DOVECOT, &s);
		if (f->home[0] != '\0') {
			snprintf(p, sizeof(p), "%s/.mailboxlist", f->home);
			rc |= read_file(f, p, SUBS_UW, &s);
		}
	}
	if (rc < 0) {
		subs_free(s.v, s.n);
		return store_fail(STORE_ETEMP, err, errlen,
		    "cannot read subscriptions: %s", strerror(errno));
	}
	sort_uniq(&s);
	*names = s.v;
	*n = s.n;
	return STORE_OK;
}

void
subs_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Write the list as our file; 0 or -1 (errno). */
static int
save(struct folders *f, char **v, size_t n)
{
	char p[PATH_MAX + 32], *buf;
	size_t len = 0, i, k;
	int rc;

	for (i = 0; i < n; i++)
		len += strlen(v[i]) + 1;
	buf = xmalloc(len + 1);
	for (len = 0, i = 0; i < n; i++) {
		k = strlen(v[i]);
		memcpy(buf + len, v[i], k);
		buf[len + k] = '\n';
		len += k + 1;
	}
	snprintf(p, sizeof(p), "%s/%s", f->root, SUBS_FILE);
	rc = write_file_atomic(p, buf, len, 0600);
	free(buf);
	return rc;
}

enum store_result
subs_set(struct folders *f, const char *canon, int on, char *err,
    size_t errlen)
{
	struct subs_set s = { 0 };
	struct dotlock dl;
	char lock[PATH_MAX + 32];
	enum store_result r;
	size_t i;
	int found = -1;

	if (f->mbox && mkdir(f->root, 0700) < 0 && errno != EEXIST)
		return store_fail(STORE_ETEMP, err, errlen, "mkdir %s: %s",
		    f->root, strerror(errno));
	snprintf(lock, sizeof(lock), "%s/%s.lock", f->root, SUBS_FILE);
	if (dotlock_take(&dl, lock, SUBS_LOCK_STALE, STORE_LOCK_TIMEOUT_MS,
	    0) < 0)
		return store_fail(STORE_ETEMP, err, errlen,
		    "cannot lock subscriptions: %s", strerror(errno));
	/* read again under the lock: another session may have changed it */
	if ((r = subs_load(f, &s.v, &s.n, err, errlen)) != STORE_OK)
		goto out;
	s.cap = s.n;
	for (i = 0; i < s.n && found < 0; i++)
		if (strcmp(s.v[i], canon) == 0)
			found = (int)i;
	if ((found >= 0) == (on != 0))
		goto out;	/* nothing to change */
	if (on && s.n >= FOLDERS_MAX) {
		r = store_fail(STORE_EPERM, err, errlen,
		    "too many subscriptions (%d at most)", FOLDERS_MAX);
		goto out;
	}
	if (on) {
		collect(&s, canon);
		sort_uniq(&s);
	} else {
		free(s.v[found]);
		memmove(s.v + found, s.v + found + 1,
		    (s.n - (size_t)found - 1) * sizeof(*s.v));
		s.n--;
	}
	if (save(f, s.v, s.n) < 0)
		r = store_fail(STORE_ETEMP, err, errlen,
		    "cannot write subscriptions: %s", strerror(errno));
out:
	subs_free(s.v, s.n);
	dotlock_release(&dl);
	return r;
}

/* from's new name under to, if name is from or one of its children; else
 * NULL.  malloc'd. */
static char *
renamed(const struct folders *f, const char *name, const char *from,
    const char *to)
{
	size_t la = strlen(from);

	if (strncmp(name, from, la) != 0 ||
	    (name[la] != '\0' && name[la] != f->sep))
		return NULL;
	return xasprintf("%s%s", to, name + la);
}

/* Rename in s what follows from; 1 if anything changed. */
static int
rename_in(struct folders *f, struct subs_set *s, const char *from,
    const char *to)
{
	char canon[PATH_MAX];
	int changed = 0;

	for (size_t i = 0; i < s->n; i++) {
		char *nn = renamed(f, s->v[i], from, to);

		/* a new name that could not be stored keeps the old one */
		if (nn == NULL || folders_norm(f, nn, 0, canon, NULL, 0) !=
		    STORE_OK) {
			free(nn);
			continue;
		}
		free(s->v[i]);
		s->v[i] = nn;
		changed = 1;
	}
	return changed;
}

enum store_result
subs_rename(struct folders *f, const char *from, const char *to, char *err,
    size_t errlen)
{
	struct subs_set s = { 0 };
	struct dotlock dl;
	char lock[PATH_MAX + 32];
	enum store_result r;
	int changed;

	/* most renames touch no subscription: look before locking */
	if ((r = subs_load(f, &s.v, &s.n, err, errlen)) != STORE_OK)
		return r;
	changed = rename_in(f, &s, from, to);
	subs_free(s.v, s.n);
	if (!changed)
		return STORE_OK;
	memset(&s, 0, sizeof(s));
	if (f->mbox && mkdir(f->root, 0700) < 0 && errno != EEXIST)
		return store_fail(STORE_ETEMP, err, errlen, "mkdir %s: %s",
		    f->root, strerror(errno));
	snprintf(lock, sizeof(lock), "%s/%s.lock", f->root, SUBS_FILE);
	if (dotlock_take(&dl, lock, SUBS_LOCK_STALE, STORE_LOCK_TIMEOUT_MS,
	    0) < 0)
		return store_fail(STORE_ETEMP, err, errlen,
		    "cannot lock subscriptions: %s", strerror(errno));
	if ((r = subs_load(f, &s.v, &s.n, err, errlen)) == STORE_OK &&
	    rename_in(f, &s, from, to)) {
		s.cap = s.n;
		sort_uniq(&s);
		if (save(f, s.v, s.n) < 0)
			r = store_fail(STORE_ETEMP, err, errlen,
			    "cannot write subscriptions: %s", strerror(errno));
	}
	subs_free(s.v, s.n);
	dotlock_release(&dl);
	return r;
}
