/*
 * folders_mbox.c - mbox folders (folders.h): folder "a/b" is the file
 * ROOT/a/b, where "a" is a directory.  A file is a mailbox that cannot
 * hold others (\NoInferiors); a directory holds others and no mail
 * (\Noselect).  INBOX is a file elsewhere (INBOX=), with no children.
 *
 * Hidden from the listing: dot files (our .postern-* journals and locks,
 * Dovecot's .subscriptions and .imap/), names starting with "postern-",
 * "*.lock" dot-locks, and symlinks (never followed, so a listing cannot
 * leave ROOT).  Paths below ROOT are walked with openat(O_NOFOLLOW), so a
 * symlink planted in the tree is never traversed by a change either.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "folders_int.h"
#include "store_int.h"
#include "util.h"

static void
walk(struct folders *f, int dfd, const char *prefix, int depth,
    struct namelist *l, int *toomany)
{
	char wire[PATH_MAX], canon[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int sub;

	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL && !*toomany) {
		if (de->d_name[0] == '.' || (prefix[0] == '\0' &&
		    strcasecmp(de->d_name, "INBOX") == 0))
			continue;
		if ((size_t)snprintf(wire, sizeof(wire), "%s%s%s", prefix,
		    prefix[0] ? "/" : "", de->d_name) >= sizeof(wire))
			continue;
		if (folders_norm(f, wire, 0, canon, NULL, 0) != STORE_OK ||
		    strcmp(wire, canon) != 0 ||
		    fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode)) {
			namelist_add(l, wire, strlen(wire),
			    FOLDER_NOINFERIORS);
		} else if (S_ISDIR(st.st_mode)) {
			namelist_add(l, wire, strlen(wire), FOLDER_NOSELECT);
			sub = depth + 1 < FOLDERS_MAX_DEPTH ? openat(dirfd(d),
			    de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			    O_CLOEXEC) : -1;
			if (sub >= 0)
				walk(f, sub, wire, depth + 1, l, toomany);
		}
		if (l->n > FOLDERS_MAX)
			*toomany = 1;
	}
	closedir(d);
}

enum store_result
mbox_folders_scan(struct folders *f, struct namelist *l, char *err,
    size_t errlen)
{
	int fd, toomany = 0;

	fd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return STORE_OK;	/* no ROOT yet: only INBOX */
		return store_fail(STORE_ETEMP, err, errlen, "open %s: %s",
		    f->root, strerror(errno));
	}
	walk(f, fd, "", 0, l, &toomany);
	if (toomany)
		return store_fail(STORE_EPERM, err, errlen,
		    "more than %d folders in %s", FOLDERS_MAX, f->root);
	return STORE_OK;
}

/*
 * Open the directory that holds canon's last component, walking from
 * ROOT without following symlinks; mk: create missing directories (and
 * ROOT itself).  *last points into canon.  Returns an fd or -1 with err.
 */
static int
open_parent(struct folders *f, const char *canon, int mk, const char **last,
    enum store_result *r, char *err, size_t errlen)
{
	char comp[NAME_MAX + 1];
	const char *s = canon, *e;
	int dfd, nfd;

	if (mk && mkdir(f->root, 0700) < 0 && errno != EEXIST)
		goto sysfail;
	if ((dfd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		goto sysfail;
	while ((e = strchr(s, '/')) != NULL) {
		/* folders_norm bounds every component to NAME_MAX - 5 */
		memcpy(comp, s, (size_t)(e - s));
		comp[e - s] = '\0';
		if (mk && mkdirat(dfd, comp, 0700) < 0 && errno != EEXIST) {
			close(dfd);
			goto sysfail;
		}
		nfd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		close(dfd);
		if (nfd < 0 && (errno == ENOTDIR || errno == ELOOP)) {
			*r = store_fail(STORE_EBADNAME, err, errlen,
			    "%.*s is a mailbox file; mbox mailboxes cannot "
			    "hold folders", (int)(e - canon), canon);
			return -1;
		}
		if (nfd < 0)
			goto sysfail;
		dfd = nfd;
		s = e + 1;
	}
	*last = s;
	return dfd;
sysfail:
	*r = store_fail(errno == ENOENT ? STORE_ENOENT : STORE_ETEMP, err,
	    errlen, "%s: %s", canon, strerror(errno));
	return -1;
}

enum store_result
mbox_folder_create(struct folders *f, const char *canon, int dir,
    char *err, size_t errlen)
{
	enum store_result r = STORE_OK;
	const char *last;
	int dfd, fd, rc;

	if ((dfd = open_parent(f, canon, 1, &last, &r, err, errlen)) < 0)
		return r;
	if (dir) {
		rc = mkdirat(dfd, last, 0700);
	} else {
		fd = openat(dfd, last, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		rc = fd < 0 ? -1 : close(fd);
	}
	if (rc < 0)
		r = store_fail(errno == EEXIST ? STORE_EEXIST : STORE_ETEMP,
		    err, errlen, "cannot create %s: %s", canon,
		    errno == EEXIST ? "it exists already" : strerror(errno));
	close(dfd);
	return r;
}

/* The state files mbox.c keeps beside folder file <name> in the same
 * directory (doc/store.md): caches first, then the crash-recovery ones. */
static const struct {
	const char *pre, *post;
} state_kinds[] = {
	{ ".postern-index-", "" }, { ".postern-index-", ".expunged" },
	{ ".postern-cache-", "" }, { ".postern-journal-", "" },
	{ ".postern-append-", "" }, { ".postern-pop3-", ".lock" },
};

static char *
state_name(size_t kind, const char *name)
{
	return xasprintf("%s%s%s", state_kinds[kind].pre, name,
	    state_kinds[kind].post);
}

/* A deleted folder's state goes with it. */
static void
drop_state(int dfd, const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(state_kinds); i++) {
		char *p = state_name(i, name);

		(void)unlinkat(dfd, p, 0);
		free(p);
	}
}

/* A renamed folder keeps its index and cache (they name the file by
 * inode, which a rename keeps); what cannot move is dropped. */
static void
move_state(int fa, const char *la, int fb, const char *lb)
{
	for (size_t i = 0; i < 3; i++) {
		char *a = state_name(i, la);
		char *b = state_name(i, lb);

		if (renameat(fa, a, fb, b) < 0 && errno != ENOENT)
			(void)unlinkat(fa, a, 0);
		free(a);
		free(b);
	}
}

/* Finish what a crashed session left half done in folder canon (the
 * journal of a rewrite, an append marker) before the file moves away
 * from them: opening it does that. */
static enum store_result
recover(struct folders *f, const char *canon, char *err, size_t errlen)
{
	struct store *st;
	enum store_result r = store_open(f, canon, 0, &st, err, errlen);

	if (r == STORE_OK)
		store_close(st);
	return r;
}

enum store_result
mbox_folder_delete(struct folders *f, const char *canon, char *err,
    size_t errlen)
{
	enum store_result r = STORE_OK;
	const char *last;
	struct stat st;
	int dfd, rc;

	if ((dfd = open_parent(f, canon, 0, &last, &r, err, errlen)) < 0)
		return r == STORE_EBADNAME ? STORE_ENOENT : r;
	if (fstatat(dfd, last, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
		close(dfd);
		return store_fail(STORE_ENOENT, err, errlen, "no folder %s",
		    canon);
	}
	rc = unlinkat(dfd, last, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
	if (rc == 0 && S_ISREG(st.st_mode))
		drop_state(dfd, last);
	if (rc < 0 && (errno == ENOTEMPTY || errno == EEXIST))
		r = store_fail(STORE_EBADNAME, err, errlen,
		    "%s holds other folders; delete them first "
		    "(RFC 3501 6.3.4)", canon);
	else if (rc < 0)
		r = store_fail(STORE_ETEMP, err, errlen, "delete %s: %s",
		    canon, strerror(errno));
	close(dfd);
	return r;
}

enum store_result
mbox_folder_rename(struct folders *f, const char *from, const char *to,
    char *err, size_t errlen)
{
	enum store_result r = STORE_OK;
	const char *la, *lb;
	struct stat st;
	int fa, fb;

	if (folders_is_inbox(from))
		return store_fail(STORE_EBADNAME, err, errlen,
		    "renaming INBOX is not supported for mbox");
	if ((fa = open_parent(f, from, 0, &la, &r, err, errlen)) < 0)
		return r == STORE_EBADNAME ? STORE_ENOENT : r;
	if (fstatat(fa, la, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
		close(fa);
		return store_fail(STORE_ENOENT, err, errlen, "no folder %s",
		    from);
	}
	if (S_ISREG(st.st_mode) &&
	    (r = recover(f, from, err, errlen)) != STORE_OK) {
		close(fa);
		return r;
	}
	if ((fb = open_parent(f, to, 1, &lb, &r, err, errlen)) < 0) {
		close(fa);
		return r;
	}
	if (renameat2(fa, la, fb, lb, RENAME_NOREPLACE) < 0)
		r = store_fail(errno == EEXIST ? STORE_EEXIST : STORE_ETEMP,
		    err, errlen, "rename %s to %s: %s", from, to,
		    errno == EEXIST ? "the target exists" : strerror(errno));
	else if (S_ISREG(st.st_mode))
		move_state(fa, la, fb, lb);
	close(fa);
	close(fb);
	return r;
}
