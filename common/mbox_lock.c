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
 *   duration of a read, taken while no (live) dot-lock exists: a writer
 *   that uses only the dot-lock may be half way through a delivery, and
 *   the view must not show or number half a message.  It excludes every writer that uses fcntl (all
 *   of Debian's MTAs and MUAs do, and so do we while rewriting), which
 *   is what a consistent read needs; a dot-lock would also need the mail
 *   group and would stop deliveries for a mere look.  This is Dovecot's
 *   default too (mbox_read_locks = fcntl).
 * After locking, the path must still name the file locked; if it was
 * replaced meanwhile the new file is opened and locked instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
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

/*
 * Does someone hold <mbox>.lock?  Some MTAs (and t/75's deliver) write
 * under the dot-lock alone, so a read-only view that only took its fcntl
 * read lock could read, and number, half a delivery.  A lock that
 * dotlock_take() would break does not count: one not touched for
 * MBOX_STALE_SECS, or one whose "pid:host" names a process of this host
 * that is gone.  A lock naming this process is not waited for either (it
 * cannot go away while we wait).  Only looks: a read-only view creates
 * and removes nothing.
 */
static int
dotlock_held(const char *path)
{
	char buf[HOST_NAME_MAX + 40], host[HOST_NAME_MAX + 1] = "localhost";
	char *lock = xasprintf("%s.lock", path), *colon, *end;
	struct stat st;
	ssize_t n = -1;
	long pid;
	int fd;

	fd = open(lock, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int gone = errno == ENOENT || errno == ENOTDIR;

		/* unreadable but there: held, as far as we can tell */
		gone = gone || lstat(lock, &st) < 0;
		free(lock);
		return !gone;
	}
	free(lock);
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (time(NULL) - st.st_mtime > (time_t)MBOX_STALE_SECS)
		return 0;
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &colon, 10);
	if (errno != 0 || colon == buf || *colon != ':' || pid <= 0 ||
	    (end = strchr(colon + 1, '\n')) == NULL)
		return 1;
	*end = '\0';
	(void)gethostname(host, sizeof(host) - 1);
	if (strcmp(colon + 1, host) != 0)
		return 1;
	if (pid == (long)getpid())
		return 0;
	return !(kill((pid_t)pid, 0) < 0 && errno == ESRCH);
}

/*
 * The read-only lock: an fcntl read lock taken while no dot-lock is
 * held, waiting (until the deadline) for a dot-lock holder to finish.
 * The dot-lock is checked with the read lock held, so a writer that
 * uses both is excluded and one that uses only the dot-lock is seen.
 */
static int
read_lock_nodot(int fd, const char *path, int64_t deadline)
{
	unsigned wait = 10;

	for (;;) {
		if (read_lock(fd, deadline) < 0)
			return -1;
		if (!dotlock_held(path))
			return 0;
		fcntl_unlock(fd);
		if (now_ms() >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		usleep(wait * 1000);
		wait = wait < 200 ? wait * 2 : 200;
	}
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
	r = mb->st.rdonly ? read_lock_nodot(mb->fd, mb->path, deadline) :
	    lock_fcntl(mb->fd, left > 0 ? (unsigned)left : 0);
	if (r < 0 && errno == ETIMEDOUT)
		return store_fail(STORE_ETEMP, err, errlen, "%s.lock is "
		    "held by another process", mb->path);
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
