/*
 * lock.h - the locks the mail store takes: fcntl() record locks and
 * NFS-safe dot-lock files.
 *
 * Debian Policy 11.6 ("Mail transport, delivery and user agents"): mbox
 * accessors "must lock the mailbox in an NFS-safe way", fcntl() combined
 * with dot locking, fcntl() first.  The dot-lock is created with the
 * link() method (liblockfile's), which is atomic on NFSv2/3 where
 * O_EXCL was not.  A lock holds "pid:host" (as Dovecot's do); that
 * content is read for one thing only: a lock of this host whose process
 * is gone (a session killed while holding it) is removed at once instead
 * of after stale_secs.  Otherwise only existence, inode and mtime count.
 * A lock file's content is written by the mail user's own processes,
 * so a forged one can only delay or break that user's own lock.
 */
#ifndef POSTERN_LOCK_H
#define POSTERN_LOCK_H

#include <stdint.h>
#include <sys/types.h>

/* Whole-file write lock on fd (opened for writing), retrying with
 * backoff for up to timeout_ms.  0, or -1 with errno EAGAIN if another
 * process still holds a conflicting lock, or another errno. */
int lock_fcntl(int fd, unsigned timeout_ms);

/* Open (creating, mode 0600, never through a symlink) path and take a
 * write lock without waiting: the per-session "maildrop in use" lock.
 * Returns the fd (keep it open: closing releases the lock), or -1 with
 * errno EAGAIN if another process holds it. */
int lock_session_file(const char *path);

struct dotlock {
	char *path;		/* NULL when not held */
	dev_t dev;
	ino_t ino;
	int priv;		/* create/remove under privgroup_begin() */
};

/*
 * Create the dot-lock path.  A lock whose mtime is older than
 * stale_secs is broken (the age is measured against the mtime of our
 * own freshly created file, so clock skew on NFS does not matter).
 * Waits with backoff for up to timeout_ms.  0, or -1 with errno
 * ETIMEDOUT (still held) or the error of the failing call.
 */
int dotlock_take(struct dotlock *dl, const char *path, unsigned stale_secs,
    unsigned timeout_ms, int priv);
/* Set the lock's mtime to now if it is older than min_age_secs; logs
 * when the lock is no longer ours (someone broke it). */
void dotlock_touch(struct dotlock *dl, unsigned min_age_secs);
/* Remove the lock if it is still ours; safe to call when not held. */
void dotlock_release(struct dotlock *dl);

#endif
