/*
 * lock.c - fcntl() locks and link()-method dot-locks (see lock.h).
 *
 * Trusts nothing in the lock files.  The dot-lock directory may be
 * shared (/var/mail, mode 2775 root:mail): creating and removing files
 * there needs the mail group, which privgroup_begin() lends us for just
 * those calls.  A temporary file name includes host and pid so that two
 * hosts on one NFS spool never collide.
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

#include "lock.h"
#include "log.h"
#include "privdrop.h"
#include "util.h"

/* Backoff between attempts: start short (an MTA delivery usually ends
 * within milliseconds), cap at one second. */
#define BACKOFF_FIRST_MS 10
#define BACKOFF_MAX_MS 1000

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Sleep the next backoff step; 0, or -1 when the deadline has passed. */
static int
backoff(int64_t deadline, unsigned *delay)
{
	int64_t left = deadline - now_ms();

	if (left <= 0)
		return -1;
	sleep_ms((unsigned)(left < *delay ? left : *delay));
	*delay = *delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : *delay * 2;
	return 0;
}

static int
try_fcntl(int fd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	if (fcntl(fd, F_SETLK, &fl) == 0)
		return 0;
	if (errno == EACCES)
		errno = EAGAIN;	/* POSIX allows either for "held" */
	return -1;
}

int
lock_fcntl(int fd, unsigned timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	unsigned delay = BACKOFF_FIRST_MS;

	for (;;) {
		if (try_fcntl(fd) == 0)
			return 0;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		if (backoff(deadline, &delay) < 0) {
			errno = EAGAIN;
			return -1;
		}
	}
}

int
lock_session_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	if (try_fcntl(fd) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Filesystem calls on the lock directory, with the mail group lent. */
static int
priv_open_excl(const char *path, int priv)
{
	int fd, e;

	if (priv)
		privgroup_begin();
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	e = errno;
	if (priv)
		privgroup_end();
	errno = e;
	return fd;
}

static int
priv_link(const char *from, const char *to, int priv)
{
	int r, e;

	if (priv)
		privgroup_begin();
	r = link(from, to);
	e = errno;
	if (priv)
		privgroup_end();
	errno = e;
	return r;
}

static int
priv_unlink(const char *path, int priv)
{
	int r, e;

	if (priv)
		privgroup_begin();
	r = unlink(path);
	e = errno;
	if (priv)
		privgroup_end();
	errno = e;
	return r;
}

/*
 * One attempt of the link() method: create a unique file, link it to the
 * lock name, and check the link count (link() may report failure over
 * NFS although it succeeded).  1 taken, 0 busy, -1 error.  *now gets
 * the mtime of our file: "now" as the lock's filesystem sees it.
 */
static int
try_dotlock(struct dotlock *dl, const char *path, const char *tmp,
    const char *host, time_t *now)
{
	char pid[HOST_NAME_MAX + 32];
	struct stat st;
	int fd, n, got;

	fd = priv_open_excl(tmp, dl->priv);
	if (fd < 0 && errno == EEXIST) {	/* left by a crash of a pid like ours */
		priv_unlink(tmp, dl->priv);
		fd = priv_open_excl(tmp, dl->priv);
	}
	if (fd < 0)
		return -1;
	/* "pid:host", as Dovecot writes it; liblockfile's readers take the
	 * leading number as the pid */
	n = snprintf(pid, sizeof(pid), "%ld:%s\n", (long)getpid(), host);
	(void)write_all(fd, pid, (size_t)n);
	close(fd);
	(void)priv_link(tmp, path, dl->priv);
	if (lstat(tmp, &st) < 0) {
		int e = errno;

		priv_unlink(tmp, dl->priv);
		errno = e;
		return -1;
	}
	*now = st.st_mtime;
	got = st.st_nlink == 2;
	dl->dev = st.st_dev;
	dl->ino = st.st_ino;
	priv_unlink(tmp, dl->priv);
	return got;
}

/* Remove path if it is (still) older than stale_secs; 1 if removed. */
static int
break_stale(const char *path, unsigned stale_secs, time_t now, int priv)
{
	struct stat a, b;

	if (lstat(path, &a) < 0 || now - a.st_mtime <= (time_t)stale_secs)
		return 0;
	/* Re-check just before removing: narrows the window in which a
	 * fresh lock taken by someone else could be removed instead. */
	if (lstat(path, &b) < 0 || a.st_ino != b.st_ino ||
	    a.st_mtime != b.st_mtime)
		return 0;
	if (priv_unlink(path, priv) < 0)
		return 0;
	log_msg(LOG_WARNING, "removed stale lock %s (%lds old)", path,
	    (long)(now - a.st_mtime));
	return 1;
}

/*
 * Remove path if it names a process of this host that no longer exists
 * ("pid:host" as try_dotlock writes it): a session killed while holding
 * the lock must not lock everyone out until the lock is stale.  Locks of
 * other hosts (NFS) and of other programs (no host) wait for staleness.
 * 1 if removed.
 */
static int
break_dead(const char *path, const char *host, int priv)
{
	char buf[HOST_NAME_MAX + 40], *colon, *end;
	struct stat a, b;
	ssize_t n;
	long pid;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = fstat(fd, &a) == 0 && S_ISREG(a.st_mode) ?
	    read(fd, buf, sizeof(buf) - 1) : -1;
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &colon, 10);
	if (errno != 0 || colon == buf || *colon != ':' || pid <= 0 ||
	    pid == (long)getpid() || (end = strchr(colon + 1, '\n')) == NULL)
		return 0;
	*end = '\0';
	if (strcmp(colon + 1, host) != 0 || kill((pid_t)pid, 0) == 0 ||
	    errno != ESRCH)
		return 0;
	if (lstat(path, &b) < 0 || a.st_ino != b.st_ino ||
	    a.st_mtime != b.st_mtime || priv_unlink(path, priv) < 0)
		return 0;
	log_msg(LOG_WARNING, "removed lock %s of process %ld, which is gone",
	    path, pid);
	return 1;
}

int
dotlock_take(struct dotlock *dl, const char *path, unsigned stale_secs,
    unsigned timeout_ms, int priv)
{
	int64_t deadline = now_ms() + timeout_ms;
	unsigned delay = BACKOFF_FIRST_MS;
	char host[HOST_NAME_MAX + 1] = "localhost", tmp[PATH_MAX];
	time_t now;
	int r;

	(void)gethostname(host, sizeof(host) - 1);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld.%.64s", path,
	    (long)getpid(), host) >= sizeof(tmp) || strchr(host, '/')) {
		errno = ENAMETOOLONG;
		return -1;
	}
	dl->path = NULL;
	dl->priv = priv;
	for (;;) {
		if ((r = try_dotlock(dl, path, tmp, host, &now)) != 0)
			break;
		if (break_stale(path, stale_secs, now, priv) ||
		    break_dead(path, host, priv))
			continue;
		if (backoff(deadline, &delay) < 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	if (r < 0)
		return -1;
	dl->path = xstrdup(path);
	return 0;
}

/* Is the file at dl->path still the one we created? */
static int
still_ours(const struct dotlock *dl, struct stat *st)
{
	return lstat(dl->path, st) == 0 && st->st_dev == dl->dev &&
	    st->st_ino == dl->ino;
}

void
dotlock_touch(struct dotlock *dl, unsigned min_age_secs)
{
	struct stat st;

	if (dl->path == NULL)
		return;
	if (!still_ours(dl, &st)) {
		log_msg(LOG_WARNING, "lock %s was removed by someone else",
		    dl->path);
		return;
	}
	if (time(NULL) - st.st_mtime < (time_t)min_age_secs)
		return;
	/* We own the file, so setting its times to now needs no group. */
	if (utimensat(AT_FDCWD, dl->path, NULL, AT_SYMLINK_NOFOLLOW) < 0)
		log_msg(LOG_WARNING, "cannot touch lock %s: %m", dl->path);
}

void
dotlock_release(struct dotlock *dl)
{
	struct stat st;

	if (dl->path == NULL)
		return;
	if (still_ours(dl, &st) && priv_unlink(dl->path, dl->priv) < 0)
		log_msg(LOG_WARNING, "cannot remove lock %s: %m", dl->path);
	free(dl->path);
	dl->path = NULL;
}
