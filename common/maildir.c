/*
 * maildir.c - a Maildir folder (cr.yp.to/proto/maildir.html, with
 * Dovecot's ,S= and ,W= name fields) as store.h describes it: opening
 * and closing, the operations table, and reading one message.
 *
 * A message is a regular file in cur/ or new/; its unique name is the
 * file name up to the first ':' (what follows, ":2,<flags>", changes
 * when flags do).  Beside the mail: postern-uidlist, the durable UID
 * assignments (maildir_uids.c, uidlist.c); postern-index, the shared
 * cache of flags, modseqs, sizes and dates (maildir_index.c, index.h);
 * postern-keywords (maildir_flags.c).  How the view is built and kept
 * up to date is maildir_scan.c; the rest is split by operation.
 *
 * Trusts nothing in the directory: entries that are not regular files
 * (symlinks, directories, fifos) are skipped and never followed, names
 * are bounded by the filesystem, and a file is only ever deleted when
 * its unique name is exactly that of a message the client marked.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crlf.h"
#include "keywords.h"
#include "lock.h"
#include "log.h"
#include "msgcache.h"
#include "store_int.h"
#include "maildir_int.h"
#include "uidlist.h"
#include "util.h"

const char *const md_subdir[2] = { "cur", "new" };

_Static_assert(sizeof(struct store_msg) <= 96,
    "a session holds one struct store_msg per message");

enum store_result
md_errno(void)
{
	return errno == EACCES || errno == ENOENT || errno == ENOTDIR ||
	    errno == ELOOP || errno == EPERM ? STORE_EPERM : STORE_ETEMP;
}

enum store_result
md_lock(struct maildir *md, struct dotlock *dl, char *err, size_t errlen)
{
	char *lock = xasprintf("%s/%s.lock", md->path, UIDLIST_NAME);
	int r = dotlock_take(dl, lock, MD_LOCK_STALE_SECS,
	    STORE_LOCK_TIMEOUT_MS, 0);

	free(lock);
	if (r == 0)
		return STORE_OK;
	if (errno == ETIMEDOUT)
		return store_fail(STORE_ETEMP, err, errlen, "%s/%s.lock is "
		    "held by another process", md->path, UIDLIST_NAME);
	return store_fail(md_errno(), err, errlen, "%s/%s.lock: %m",
	    md->path, UIDLIST_NAME);
}

void
md_msg_free(struct store_msg *m)
{
	free(m->u.md.uniq);
	m->u.md.uniq = NULL;
}

void
md_msg_setname(struct store_msg *m, const char *fn)
{
	size_t u = strcspn(fn, ":"), len = strlen(fn);
	char *s = xmalloc(len + 2);

	memcpy(s, fn, u);
	s[u] = '\0';
	memcpy(s + u + 1, fn + u, len - u + 1);
	free(m->u.md.uniq);
	m->u.md.uniq = s;
	m->u.md.ulen = (uint16_t)u;
}

const char *
md_msg_file(const struct store_msg *m, char *buf, size_t n)
{
	const char *u = m->u.md.uniq;

	snprintf(buf, n, "%s%s", u, u + m->u.md.ulen + 1);
	return buf;
}

/* ",<key>=<digits>" in the unique name, or -1. */
int64_t
md_name_field(const char *uniq, char key)
{
	for (const char *p = strchr(uniq, ','); p; p = strchr(p + 1, ',')) {
		int64_t v = 0;
		const char *s = p + 3;

		if (p[1] != key || p[2] != '=' || *s < '0' || *s > '9')
			continue;
		for (; *s >= '0' && *s <= '9' && v < ((int64_t)1 << 53); s++)
			v = v * 10 + (*s - '0');
		if (*s == ',' || *s == '\0')
			return v;
	}
	return -1;
}

/* Open a directory entry for reading, only if it is a regular file
 * (O_NONBLOCK so a fifo swapped in cannot hang us). */
static int
open_entry(int dirfd, const char *name)
{
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

/* m's file, found again if someone renamed it since we looked. */
int
md_open_file(struct maildir *md, struct store_msg *m)
{
	char fn[NAME_MAX + 1];
	int fd = open_entry(md->sub[m->u.md.sub], md_msg_file(m, fn,
	    sizeof(fn)));

	if (fd < 0 && errno == ENOENT && md_relocate(md, m) == 0)
		fd = open_entry(md->sub[m->u.md.sub], md_msg_file(m, fn,
		    sizeof(fn)));
	return fd;
}

static void
cached(struct maildir *md, struct store_msg *m)
{
	m->u.md.dirty = 1;
	md->dirty = 1;
}

/* stat() of m's file without following a symlink: 0 or -1. */
static int
stat_msg(struct maildir *md, struct store_msg *m, struct stat *sb)
{
	int fd = md_open_file(md, m), r;

	if (fd < 0)
		return -1;
	r = fstat(fd, sb);
	close(fd);
	return r;
}

static time_t
md_internal_date(struct store *st, unsigned i)
{
	struct maildir *md = (struct maildir *)st;
	struct store_msg *m = &st->msgs[i];
	struct stat sb;

	if (stat_msg(md, m, &sb) < 0)
		return -1;
	m->internal = sb.st_mtime;
	if (m->raw < 0)
		m->raw = sb.st_size;
	cached(md, m);
	return (time_t)m->internal;
}

static int64_t
md_raw_size(struct store *st, unsigned i)
{
	struct maildir *md = (struct maildir *)st;
	struct store_msg *m = &st->msgs[i];
	int64_t s = md_name_field(m->u.md.uniq, 'S');
	struct stat sb;

	if (s < 0) {
		if (stat_msg(md, m, &sb) < 0)
			return -1;
		s = sb.st_size;
		if (m->internal < 0)
			m->internal = sb.st_mtime;
	}
	m->raw = s;
	cached(md, m);
	return s;
}

static int64_t
md_wire_size(struct store *st, unsigned i)
{
	struct maildir *md = (struct maildir *)st;
	struct store_msg *m = &st->msgs[i];
	unsigned char *buf;
	struct crlf c;
	ssize_t n;
	int64_t raw = 0;
	int fd;

	if ((fd = md_open_file(md, m)) < 0)
		return -1;
	buf = xmalloc(STORE_IOBUF);
	crlf_init(&c);
	while ((n = read(fd, buf, STORE_IOBUF)) > 0) {
		crlf_count(&c, buf, (size_t)n);
		raw += n;
	}
	free(buf);
	close(fd);
	if (n < 0)
		return -1;
	m->wire = (int64_t)crlf_count_finish(&c);
	m->raw = raw;
	cached(md, m);
	return m->wire;
}

struct md_stream {
	struct msg_stream ms;
	int fd;
};

static ssize_t
md_stream_read(struct msg_stream *ms, void *buf, size_t n)
{
	struct md_stream *s = (struct md_stream *)ms;
	ssize_t r;

	while ((r = read(s->fd, buf, n)) < 0 && errno == EINTR)
		;
	return r;
}

static void
md_stream_close(struct msg_stream *ms)
{
	struct md_stream *s = (struct md_stream *)ms;

	close(s->fd);
	free(s);
}

static enum store_result
md_msg_open(struct store *st, unsigned i, struct msg_stream **out)
{
	struct maildir *md = (struct maildir *)st;
	struct md_stream *s;
	int fd = md_open_file(md, &st->msgs[i]);

	if (fd < 0)
		return errno == ENOENT ? STORE_ENOENT : STORE_ETEMP;
	s = xcalloc(1, sizeof(*s));
	s->ms.read = md_stream_read;
	s->ms.close = md_stream_close;
	s->fd = fd;
	*out = &s->ms;
	return STORE_OK;
}

/* Maildir renames at once: nothing is pending but cached sizes. */
static enum store_result
md_flush(struct store *st, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	md_ix_writeback((struct maildir *)st);
	return STORE_OK;
}

static void
md_close(struct store *st)
{
	struct maildir *md = (struct maildir *)st;

	store_cache_close(st);
	md_append_abort(st);
	md_ix_writeback(md);
	for (unsigned i = 0; i < st->count; i++)
		md_msg_free(&st->msgs[i]);
	free(st->msgs);
	kwtable_free(&st->kw);
	if (md->ix != NULL)
		index_close(md->ix);
	for (int i = 0; i < 2; i++)
		if (md->sub[i] >= 0)
			close(md->sub[i]);
	if (md->tmpfd >= 0)
		close(md->tmpfd);
	if (md->dfd >= 0)
		close(md->dfd);
	if (md->sess_fd >= 0)
		close(md->sess_fd);
	if (md->notify_fd >= 0)
		close(md->notify_fd);
	free(md->path);
	free(md);
}

/* postern-cache in the folder (msgcache.h); POP3 never asks for it. */
static struct msgcache *
md_cache_open(struct store *st)
{
	struct maildir *md = (struct maildir *)st;
	struct msgcache *c;

	if (msgcache_open(md->dfd, MD_CACHE_NAME, st->uidvalidity, &c) < 0) {
		log_msg(LOG_INFO, "%s/%s: no cache: %m", md->path,
		    MD_CACHE_NAME);
		return NULL;
	}
	return c;
}

static const struct store_ops maildir_ops = {
	.close = md_close,
	.internal_date = md_internal_date,
	.wire_size = md_wire_size,
	.raw_size = md_raw_size,
	.msg_open = md_msg_open,
	.keyword = md_keyword,
	.set_flags = md_set_flags,
	.flush = md_flush,
	.expunge = md_expunge,
	.expunged_since = md_expunged_since,
	.append_begin = md_append_begin,
	.copy = md_copy,
	.append_commit = md_append_commit,
	.append_abort = md_append_abort,
	.sync = md_sync,
	.notify_fd = md_notify_fd,
	.touch = NULL,
	.cache_open = md_cache_open,
};

static int
open_sub(struct maildir *md, const char *name, int create)
{
	if (create && mkdirat(md->dfd, name, 0700) < 0 && errno != EEXIST)
		return -1;
	return openat(md->dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Open the Maildir and cur/ new/ tmp/; INBOX is created like an MDA
 * would for a user who has never received mail. */
static enum store_result
open_dirs(struct maildir *md, char *err, size_t errlen)
{
	int create = (md->flags & STORE_OPEN_CREATE) != 0;

	if (create && mkdir(md->path, 0700) < 0 && errno != EEXIST)
		return store_fail(md_errno(), err, errlen, "mkdir %s: %m",
		    md->path);
	md->dfd = open(md->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (md->dfd < 0)
		return store_fail(errno == ENOENT ? STORE_ENOENT : md_errno(),
		    err, errlen, "%s: %m", md->path);
	for (int i = 0; i < 2; i++)
		if ((md->sub[i] = open_sub(md, md_subdir[i], create)) < 0)
			return store_fail(errno == ENOENT ? STORE_ENOENT :
			    md_errno(), err, errlen, "%s/%s: %m", md->path,
			    md_subdir[i]);
	if ((md->tmpfd = open_sub(md, "tmp", create)) < 0 &&
	    !(md->flags & STORE_RDONLY))
		return store_fail(md_errno(), err, errlen, "%s/tmp: %m",
		    md->path);
	return STORE_OK;
}

static enum store_result
session_lock(struct maildir *md, char *err, size_t errlen)
{
	char *path = xasprintf("%s/%s", md->path, MD_SESSION_LOCK_NAME);

	md->sess_fd = lock_session_file(path);
	free(path);
	if (md->sess_fd >= 0)
		return STORE_OK;
	if (errno == EAGAIN)
		return store_fail(STORE_EINUSE, err, errlen, "%s is in use by "
		    "another POP3 session", md->path);
	return store_fail(md_errno(), err, errlen, "%s/%s: %m", md->path,
	    MD_SESSION_LOCK_NAME);
}

enum store_result
maildir_open(const char *dir, int flags, struct store **out, char *err,
    size_t errlen)
{
	struct maildir *md = xcalloc(1, sizeof(*md));
	struct store_changes ch;
	enum store_result r;
	int grew;

	md->st.ops = &maildir_ops;
	md->st.maildir = 1;
	md->st.rdonly = (flags & STORE_RDONLY) != 0;
	md->flags = flags;
	/* Only the selected folder of an IMAP session claims \Recent and
	 * moves new/ to cur/; POP3, read-only views, and APPEND or COPY
	 * targets only look. */
	md->claim = (flags & STORE_SELECT) &&
	    !(flags & (STORE_RDONLY | STORE_SESSION_LOCK));
	md->path = xstrdup(dir);
	md->dfd = md->sub[0] = md->sub[1] = md->tmpfd = md->sess_fd =
	    md->notify_fd = -1;
	memset(&ch, 0, sizeof(ch));
	if ((r = open_dirs(md, err, errlen)) == STORE_OK &&
	    (!(flags & STORE_SESSION_LOCK) ||
	    (r = session_lock(md, err, errlen)) == STORE_OK) &&
	    (r = md_kw_load(md, &grew)) == STORE_OK &&
	    (r = md_refresh(md, 0, &ch, err, errlen)) == STORE_OK) {
		store_changes_free(&ch);
		if (!md->st.rdonly)
			md_tmp_cleanup(md);
		*out = &md->st;
		return STORE_OK;
	}
	store_changes_free(&ch);
	md_close(&md->st);
	return r;
}
