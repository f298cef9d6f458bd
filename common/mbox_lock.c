/*
 * mbox_lock.c - locking an mbox as Debian Policy 11.6 asks: fcntl() on
 * the file first, then the dot-lock <mbox>.lock (created with the mail
 * group lent by privgroup_begin(), since /var/mail is 2775 root:mail).
 *
 * How long the locks are held depends on the view:
 * - STORE_SESSION_LOCK (POP3): from open to close, as RFC 1939 expects of
 *   a maildrop; the snapshot is then the file itself, and an MTA queues
 *   mail until the session ends.  <statedir>/.postern-pop3-<name>.lock
 *   tells a second POP3 session "in use" at once.
 * - IMAP, read-write: only for one operation (open and scan, sync,
 *   flush, expunge, append commit), never across a client round trip,
 *   so mail is delivered while a client idles.
 * - read-only (EXAMINE, STATUS): an fcntl read lock only, for the
 *   duration of a read.  It excludes every writer that uses fcntl (all
 *   of Debian's MTAs and MUAs do, and so do we while rewriting), which
 *   is what a consistent read needs; a dot-lock would also need the mail
 *   group and would stop deliveries for a mere look.  This is Dovecot's
 *   default too (mbox_read_locks = fcntl).
 * After locking, the path must still name the file locked; if it was
 * replaced meanwhile the new file is opened and locked instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mbox_priv.h"
#include "util.h"

/* Debian Policy 11.6 and liblockfile: a dot-lock not touched for five
 * minutes is stale. */
#define MBOX_STALE_SECS 300

enum store_result
mb_errno_result(void)
{
	return errno == EACCES || errno == EPERM || errno == ENOENT ||
	    errno == ENOTDIR || errno == ELOOP || errno == EROFS ?
	    STORE_EPERM : STORE_ETEMP;
}

/* A shared lock, retried with backoff until the deadline (lock_fcntl
 * takes only exclusive ones). */
static int
read_lock(int fd, int64_t deadline)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	unsigned wait = 10;

	for (;;) {
		if (fcntl(fd, F_SETLK, &fl) == 0)
			return 0;
		if ((errno != EAGAIN && errno != EACCES) || now_ms() >= deadline) {
			if (errno == EACCES)
				errno = EAGAIN;
			return -1;
		}
		usleep(wait * 1000);
		wait = wait < 200 ? wait * 2 : 200;
	}
}

static void
fcntl_unlock(int fd)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

	(void)fcntl(fd, F_SETLK, &fl);
}

/* Open the path again (it may have appeared, or been replaced). */
static enum store_result
reopen(struct mbox *mb, char *err, size_t errlen)
{
	struct stat st;

	if (mb->fd >= 0)
		close(mb->fd);
	mb->fd = open(mb->path, (mb->st.rdonly ? O_RDONLY : O_RDWR) |
	    O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (mb->fd < 0 && errno == ENOENT)
		return STORE_OK;	/* no file: an empty folder */
	if (mb->fd < 0)
		return store_fail(mb_errno_result(), err, errlen, "%s: %m",
		    mb->path);
	if (fstat(mb->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(mb->fd);
		mb->fd = -1;
		return store_fail(STORE_EPERM, err, errlen, "%s is not a "
		    "regular file", mb->path);
	}
	return STORE_OK;
}

/* fcntl, then (read-write) the dot-lock, each for what is left of the
 * time limit; *again if the path no longer names the locked file. */
static enum store_result
lock_fd(struct mbox *mb, int64_t deadline, int *again, char *err,
    size_t errlen)
{
	int64_t left = deadline - now_ms();
	struct stat a, b;
	char *lock;
	int r;

	*again = 0;
	r = mb->st.rdonly ? read_lock(mb->fd, deadline) :
	    lock_fcntl(mb->fd, left > 0 ? (unsigned)left : 0);
	if (r < 0 && errno == EAGAIN)
		return store_fail(STORE_ETEMP, err, errlen, "%s is locked "
		    "(fcntl) by another process", mb->path);
	if (r < 0)
		return store_fail(mb_errno_result(), err, errlen, "%s: fcntl "
		    "lock: %m", mb->path);
	if (!mb->st.rdonly) {
		lock = xasprintf("%s.lock", mb->path);
		left = deadline - now_ms();
		r = dotlock_take(&mb->dl, lock, MBOX_STALE_SECS, left > 0 ?
		    (unsigned)left : 0, 1);
		free(lock);
		if (r < 0) {
			enum store_result e = errno == ETIMEDOUT ?
			    STORE_ETEMP : mb_errno_result();

			fcntl_unlock(mb->fd);
			if (e == STORE_ETEMP && errno == ETIMEDOUT)
				return store_fail(e, err, errlen, "%s.lock is "
				    "held by another process", mb->path);
			return store_fail(e, err, errlen, "cannot create "
			    "%s.lock: %m (mail_privileged_group?)", mb->path);
		}
	}
	if (fstat(mb->fd, &a) == 0 && stat(mb->path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return STORE_OK;
	dotlock_release(&mb->dl);
	fcntl_unlock(mb->fd);
	*again = 1;
	return STORE_ETEMP;
}

/*
 * A session killed in the middle of a rewrite or an append leaves the
 * journal or the append marker.  Whoever takes the locks next finishes
 * or undoes that change before anything reads or writes the file: the
 * offsets they hold are only right for the file as the killed session
 * left it.  Two access() calls when there is nothing to do.
 */
static enum store_result
finish_pending(struct mbox *mb, char *err, size_t errlen)
{
	if (access(mb->jpath, F_OK) != 0 && access(mb->apath, F_OK) != 0)
		return STORE_OK;
	if (mb->st.rdonly)
		return store_fail(STORE_ETEMP, err, errlen, "%s: an "
		    "interrupted change is pending; a read-write open "
		    "finishes it", mb->path);
	if (mbox_recover(mb->fd, mb->jpath, err, errlen) < 0 ||
	    mb_append_recover(mb, err, errlen) < 0)
		return STORE_ETEMP;
	return STORE_OK;
}

enum store_result
mb_lock(struct mbox *mb, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + STORE_LOCK_TIMEOUT_MS;
	enum store_result r;
	int again = 1;

	if (mb->locked) {
		mb->nlock++;
		return STORE_OK;
	}
	for (int tries = 0; tries < 3; tries++) {
		if ((tries > 0 || mb->fd < 0) &&
		    (r = reopen(mb, err, errlen)) != STORE_OK)
			return r;
		if (mb->fd < 0) {
			/* Nothing to lock; a commit creates the file and
			 * locks it then. */
			return STORE_OK;
		}
		r = lock_fd(mb, deadline, &again, err, errlen);
		if (!again) {
			if (r == STORE_OK) {
				mb->locked = mb->st.rdonly ? MB_LK_READ :
				    MB_LK_WRITE;
				mb->nlock = 1;
				if ((r = finish_pending(mb, err, errlen)) !=
				    STORE_OK)
					mb_unlock(mb);
			}
			return r;
		}
	}
	return store_fail(STORE_ETEMP, err, errlen, "%s keeps being "
	    "replaced", mb->path);
}

void
mb_unlock(struct mbox *mb)
{
	if (!mb->locked || --mb->nlock > 0)
		return;
	if (mb->flags & STORE_SESSION_LOCK) {
		mb->nlock = 1;	/* held until close */
		return;
	}
	dotlock_release(&mb->dl);
	if (mb->fd >= 0)
		fcntl_unlock(mb->fd);
	mb->locked = 0;
}

enum store_result
mb_session_lock(struct mbox *mb, char *err, size_t errlen)
{
	char *path = xasprintf("%s/.postern-pop3-%s.lock", mb->statedir,
	    mb->name);
	enum store_result r = STORE_OK;

	if ((mb->sess_fd = lock_session_file(path)) < 0 && errno == EAGAIN)
		r = store_fail(STORE_EINUSE, err, errlen, "%s is in use by "
		    "another POP3 session", mb->path);
	else if (mb->sess_fd < 0)
		r = store_fail(mb_errno_result(), err, errlen, "%s: %m", path);
	free(path);
	return r;
}
