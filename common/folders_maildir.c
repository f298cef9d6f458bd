/*
 * folders_maildir.c - Maildir++ folders (folders.h): folder "a/b" is the
 * directory ROOT/.a.b holding cur/ new/ tmp/ and an empty maildirfolder
 * file (the Maildir++ marker Courier and Dovecot write).
 *
 * Every change is a rename(2), so another session (or mutt, or the MTA)
 * never sees half a folder: CREATE builds the folder under a hidden
 * temporary name first, DELETE renames it to a hidden name before
 * removing it.  The hidden names start with ".postern-", which no valid
 * folder name maps to.  Symlinks are never listed, followed or removed
 * through: a symlink inside a deleted folder is unlinked, its target kept.
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

#include "folders_int.h"
#include "log.h"
#include "store_int.h"
#include "util.h"

/* Maildir folders hold cur/new/tmp and nothing deeper that we made;
 * anything deeper than this is left in place rather than recursed into. */
#define RMTREE_MAX_DEPTH 16

static int
is_dir_at(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode);
}

static int
is_dir(const char *path)
{
	return is_dir_at(AT_FDCWD, path);
}

/* One pass over dir fd: remove every entry; how many were removed. */
static long
rm_entries(int fd, int depth, int *failed)
{
	DIR *d;
	struct dirent *de;
	long n = 0;
	int dup_fd = dup(fd);

	if (dup_fd < 0 || (d = fdopendir(dup_fd)) == NULL) {
		if (dup_fd >= 0)
			close(dup_fd);
		*failed = 1;
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (is_dir_at(fd, de->d_name)) {
			if (folders_rmtree(fd, de->d_name, depth + 1) < 0)
				*failed = 1;
			else
				n++;
		} else if (unlinkat(fd, de->d_name, 0) == 0) {
			n++;
		} else {
			*failed = 1;
		}
	}
	closedir(d);
	return n;
}

int
folders_rmtree(int dirfd, const char *name, int depth)
{
	int fd, failed = 0, pass;

	if (depth > RMTREE_MAX_DEPTH) {
		errno = ELOOP;
		return -1;
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* entries removed while reading may hide others: a second pass */
	for (pass = 0; pass < 3; pass++) {
		failed = 0;
		if (rm_entries(fd, depth, &failed) == 0)
			break;
	}
	close(fd);
	if (failed) {
		errno = EIO;
		return -1;
	}
	return unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* Leftovers of a create or delete cut short by a crash: a folder being
 * deleted was already gone for clients, so it can go at once; one being
 * created may still be in another session's hands for a moment. */
#define LEFTOVER_NEW_SECS 3600

static void
remove_leftover(int dfd, const char *dname)
{
	struct stat st;

	if (fstatat(dfd, dname, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISDIR(st.st_mode))
		return;		/* not ours: we only make directories */
	if (strncmp(dname, ".postern-new.", 13) == 0 &&
	    time(NULL) - st.st_mtime < LEFTOVER_NEW_SECS)
		return;
	if (folders_rmtree(dfd, dname, 0) < 0)
		log_msg(LOG_WARNING, "cannot remove %s: %m", dname);
}

/* ROOT/.a.b -> "a<sep>b" and whether it is a listable folder. */
static void
scan_entry(struct folders *f, int dfd, const char *dname,
    struct namelist *l)
{
	char wire[NAME_MAX + 1], canon[PATH_MAX], sub[NAME_MAX + 8];
	size_t i;

	if (dname[0] != '.' || dname[1] == '\0' || strcmp(dname, "..") == 0)
		return;
	for (i = 0; dname[i + 1] && i < NAME_MAX; i++)
		wire[i] = dname[i + 1] == '.' ? f->sep : dname[i + 1];
	wire[i] = '\0';
	if (folders_norm(f, wire, 0, canon, NULL, 0) != STORE_OK ||
	    strcmp(canon, wire) != 0 || folders_is_inbox(canon))
		return;		/* not a name we could have written */
	snprintf(sub, sizeof(sub), "%s/cur", dname);
	if (!is_dir_at(dfd, dname) || !is_dir_at(dfd, sub))
		return;
	namelist_add(l, canon, strlen(canon), 0);
}

enum store_result
maildir_folders_scan(struct folders *f, struct namelist *l, char *err,
    size_t errlen)
{
	DIR *d;
	struct dirent *de;
	size_t n0 = l->n;

	if ((d = opendir(f->root)) == NULL) {
		if (errno == ENOENT)
			return STORE_OK;	/* no Maildir yet: only INBOX */
		return store_fail(STORE_ETEMP, err, errlen, "opendir %s: %s",
		    f->root, strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, ".postern-deleted.", 17) == 0 ||
		    strncmp(de->d_name, ".postern-new.", 13) == 0) {
			remove_leftover(dirfd(d), de->d_name);
			continue;
		}
		scan_entry(f, dirfd(d), de->d_name, l);
		if (l->n - n0 > FOLDERS_MAX) {
			closedir(d);
			return store_fail(STORE_EPERM, err, errlen,
			    "more than %d folders in %s", FOLDERS_MAX,
			    f->root);
		}
	}
	closedir(d);
	return STORE_OK;
}

/* A hidden name in ROOT for a folder being made or removed. */
static void
tmpname(struct folders *f, const char *what, char *out)
{
	/* folders_norm keeps names 64 bytes short of PATH_MAX with ROOT,
	 * so this fits; truncation would only make the rename fail */
	if (snprintf(out, PATH_MAX, "%s/.postern-%s.%ld.%u", f->root, what,
	    (long)getpid(), f->ntmp++) >= PATH_MAX)
		out[0] = '\0';
}

static int
rename_noreplace(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* a file system without RENAME_NOREPLACE: check, then rename */
	if (access(to, F_OK) == 0 || errno != ENOENT) {
		errno = EEXIST;
		return -1;
	}
	return rename(from, to);
}

static int
make_maildir(const char *dir)
{
	static const char *const subs[] = { "cur", "new", "tmp" };
	int fd, dfd;

	if (mkdir(dir, 0700) < 0)
		return -1;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_LEN(subs); i++)
		if (mkdirat(dfd, subs[i], 0700) < 0)
			goto fail;
	fd = openat(dfd, "maildirfolder", O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	close(fd);
	close(dfd);
	return 0;
fail:
	close(dfd);
	return -1;
}

enum store_result
maildir_folder_create(struct folders *f, const char *canon, char *err,
    size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	enum store_result r;
	int e;

	if ((r = folders_disk(f, canon, path, err, errlen)) != STORE_OK)
		return r;
	if (access(path, F_OK) == 0 || errno != ENOENT)
		return store_fail(STORE_EEXIST, err, errlen,
		    "folder %s exists already", canon);
	/* a user who never got mail may have no Maildir yet */
	if (mkdir(f->root, 0700) < 0 && errno != EEXIST)
		return store_fail(errno == ENOENT ? STORE_EPERM : STORE_ETEMP,
		    err, errlen, "cannot create %s: %s", f->root,
		    strerror(errno));
	tmpname(f, "new", tmp);
	if (make_maildir(tmp) < 0) {
		e = errno;
		(void)folders_rmtree(AT_FDCWD, tmp, 0);
		return store_fail(e == ENOENT ? STORE_EPERM : STORE_ETEMP,
		    err, errlen, "cannot create folder %s: %s", canon,
		    strerror(e));
	}
	if (rename_noreplace(tmp, path) < 0) {
		e = errno;
		(void)folders_rmtree(AT_FDCWD, tmp, 0);
		if (e == EEXIST || e == ENOTEMPTY)
			return store_fail(STORE_EEXIST, err, errlen,
			    "folder %s exists already", canon);
		return store_fail(STORE_ETEMP, err, errlen,
		    "cannot create folder %s: %s", canon, strerror(e));
	}
	return STORE_OK;
}

enum store_result
maildir_folder_delete(struct folders *f, const char *canon, char *err,
    size_t errlen)
{
	char path[PATH_MAX], trash[PATH_MAX];
	enum store_result r;

	if ((r = folders_disk(f, canon, path, err, errlen)) != STORE_OK)
		return r;
	if (!is_dir(path))
		return store_fail(STORE_ENOENT, err, errlen,
		    "no folder %s", canon);
	/* children (".a.x") stay, as with Dovecot: "a" becomes implied */
	tmpname(f, "deleted", trash);
	if (rename(path, trash) < 0)
		return store_fail(errno == ENOENT ? STORE_ENOENT :
		    STORE_ETEMP, err, errlen, "cannot delete folder %s: %s",
		    canon, strerror(errno));
	/* The folder is gone for every client now.  What cannot be
	 * removed stays hidden under the .postern-deleted name. */
	(void)folders_rmtree(AT_FDCWD, trash, 0);
	return STORE_OK;
}

/* Move INBOX's messages into folder to (RFC 3501 6.3.5). */
static enum store_result
rename_inbox(struct folders *f, const char *to, char *err, size_t errlen)
{
	static const char *const subs[] = { "cur", "new" };
	char dst[PATH_MAX], p[PATH_MAX * 2];
	enum store_result r;
	struct dirent *de;
	DIR *d;
	int tfd;

	if ((r = maildir_folder_create(f, to, err, errlen)) != STORE_OK ||
	    (r = folders_disk(f, to, dst, err, errlen)) != STORE_OK)
		return r;
	for (size_t i = 0; i < ARRAY_LEN(subs); i++) {
		snprintf(p, sizeof(p), "%s/%s", dst, subs[i]);
		tfd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		snprintf(p, sizeof(p), "%s/%s", f->inbox, subs[i]);
		d = opendir(p);
		if (tfd < 0 || d == NULL) {
			if (tfd >= 0)
				close(tfd);
			if (d != NULL)
				closedir(d);
			return store_fail(STORE_ETEMP, err, errlen,
			    "rename INBOX: cannot open %s", p);
		}
		while ((de = readdir(d)) != NULL) {
			struct stat st;

			if (de->d_name[0] == '.' || fstatat(dirfd(d),
			    de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISREG(st.st_mode))
				continue;
			/* same name: the flags in it stay; ENOENT means
			 * another session moved or expunged it first */
			if (renameat(dirfd(d), de->d_name, tfd, de->d_name) <
			    0 && errno != ENOENT) {
				r = store_fail(STORE_ETEMP, err, errlen,
				    "rename INBOX: %s: %s", de->d_name,
				    strerror(errno));
				break;
			}
		}
		closedir(d);
		close(tfd);
		if (r != STORE_OK)
			return r;
	}
	return STORE_OK;
}

/* Directory entries of ROOT that are children of the folder whose entry
 * is fromdisk (".a" -> ".a.*"), at most FOLDERS_MAX. */
static enum store_result
children(struct folders *f, const char *fromdisk, struct namelist *l,
    char *err, size_t errlen)
{
	size_t k = strlen(fromdisk);
	struct dirent *de;
	DIR *d;

	if ((d = opendir(f->root)) == NULL)
		return store_fail(STORE_ETEMP, err, errlen, "opendir %s: %s",
		    f->root, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, fromdisk, k) != 0 ||
		    de->d_name[k] != '.' || !is_dir_at(dirfd(d), de->d_name))
			continue;
		if (l->n >= FOLDERS_MAX) {
			closedir(d);
			return store_fail(STORE_EPERM, err, errlen,
			    "too many child folders");
		}
		namelist_add(l, de->d_name, strlen(de->d_name), 0);
	}
	closedir(d);
	return STORE_OK;
}

/* Rename ".a" and every ".a.*" to ".b" and ".b.*"; all targets are
 * checked before anything moves. */
static enum store_result
rename_tree(struct folders *f, const char *from, const char *to,
    const char *a, const char *b, char *err, size_t errlen)
{
	struct namelist kids = { 0 };
	const char *fa = strrchr(a, '/') + 1, *fb = strrchr(b, '/') + 1;
	char s[PATH_MAX], t[PATH_MAX];
	enum store_result r;
	size_t i;

	if ((r = children(f, fa, &kids, err, errlen)) != STORE_OK)
		goto out;
	for (i = 0; i < kids.n && r == STORE_OK; i++) {
		const char *rest = kids.v[i].name + strlen(fa);

		if (strlen(fb) + strlen(rest) > NAME_MAX)
			r = store_fail(STORE_EBADNAME, err, errlen,
			    "the new name of child %s would be too long",
			    kids.v[i].name);
		else if (snprintf(t, sizeof(t), "%s/%s%s", f->root, fb,
		    rest) < (int)sizeof(t) && access(t, F_OK) == 0)
			r = store_fail(STORE_EEXIST, err, errlen,
			    "a child of %s exists already under %s", from,
			    to);
	}
	if (r != STORE_OK)
		goto out;
	if (rename_noreplace(a, b) < 0) {
		r = store_fail(errno == EEXIST || errno == ENOTEMPTY ?
		    STORE_EEXIST : errno == ENOENT ? STORE_ENOENT :
		    STORE_ETEMP, err, errlen, "rename %s to %s: %s", from, to,
		    strerror(errno));
		goto out;
	}
	for (i = 0; i < kids.n; i++) {
		if (snprintf(s, sizeof(s), "%s/%s", f->root,
		    kids.v[i].name) >= (int)sizeof(s) ||
		    snprintf(t, sizeof(t), "%s/%s%s", f->root, fb,
		    kids.v[i].name + strlen(fa)) >= (int)sizeof(t))
			errno = ENAMETOOLONG;
		else if (rename_noreplace(s, t) == 0 || errno == ENOENT)
			continue;
		r = store_fail(STORE_ETEMP, err, errlen,
		    "rename %s: %s", kids.v[i].name, strerror(errno));
	}
out:
	folder_list_free(kids.v, kids.n);
	return r;
}

enum store_result
maildir_folder_rename(struct folders *f, const char *from, const char *to,
    char *err, size_t errlen)
{
	char a[PATH_MAX], b[PATH_MAX];
	enum store_result r;

	if (folders_is_inbox(from))
		return rename_inbox(f, to, err, errlen);
	if ((r = folders_disk(f, from, a, err, errlen)) != STORE_OK ||
	    (r = folders_disk(f, to, b, err, errlen)) != STORE_OK)
		return r;
	if (!is_dir(a))
		return store_fail(STORE_ENOENT, err, errlen, "no folder %s",
		    from);
	if (access(b, F_OK) == 0 || errno != ENOENT)
		return store_fail(STORE_EEXIST, err, errlen,
		    "folder %s exists already", to);
	return rename_tree(f, from, to, a, b, err, errlen);
}
