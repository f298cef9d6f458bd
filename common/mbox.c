/*
 * mbox.c - an mbox folder as store.h describes it: opening, closing,
 * the operations table, and reading messages (through the filter of
 * mbox_parse.c: internal headers hidden, mboxrd ">From " unquoted).
 * The rest is split by what it does; mbox_priv.h lists the files.
 *
 * Trusts nothing in the file: parsing is bounded (mbox_parse.c), at most
 * STORE_MAX_MSGS messages, and every offset used to write was found by
 * that parser in the file we hold locked (mbox_lock.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keywords.h"
#include "log.h"
#include "mbox_priv.h"
#include "msgcache.h"
#include "util.h"

/* Refresh our POP3 dot-lock's mtime once it is this old (well within
 * the 300 s after which MTAs break it). */
#define MBOX_TOUCH_SECS 60

_Static_assert(sizeof(struct store_msg) <= 96,
    "struct store_msg: at most 96 bytes per message");

static const struct store_ops mbox_ops;

static int
mkdir_p(char *path, mode_t mode)
{
	for (char *p = strchr(path + 1, '/'); ; p = strchr(p + 1, '/')) {
		if (p != NULL)
			*p = '\0';
		if (mkdir(path, mode) < 0 && errno != EEXIST)
			return -1;
		if (p == NULL)
			return 0;
		*p = '/';
	}
}

/* Is there a folder at path that can hold messages? */
static enum store_result
check_path(struct mbox *mb, int flags, char *err, size_t errlen)
{
	struct stat st;

	if (stat(mb->path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return store_fail(STORE_ENOENT, err, errlen, "%s is a "
			    "directory: it cannot hold messages", mb->path);
		return STORE_OK;
	}
	if (errno == ENOENT && !(flags & STORE_OPEN_CREATE))
		return store_fail(STORE_ENOENT, err, errlen, "%s: no such "
		    "folder", mb->path);
	if (errno == ENOENT)
		return STORE_OK;	/* INBOX without mail yet: empty */
	return store_fail(mb_errno_result(), err, errlen, "%s: %m", mb->path);
}

enum store_result
mbox_open(const char *path, const char *statedir, const char *name,
    int flags, struct store **out, char *err, size_t errlen)
{
	struct mbox *mb = xcalloc(1, sizeof(*mb));
	enum store_result r;
	char *dir;

	*out = NULL;
	mb->st.ops = &mbox_ops;
	mb->st.rdonly = (flags & STORE_RDONLY) != 0;
	mb->flags = flags;
	mb->fd = mb->sess_fd = mb->nfd = -1;
	mb->path = xstrdup(path);
	mb->statedir = xstrdup(statedir);
	mb->name = xstrdup(name);
	mb->jpath = xasprintf("%s/.postern-journal-%s", statedir, name);
	mb->apath = xasprintf("%s/.postern-append-%s", statedir, name);
	dir = xstrdup(statedir);
	if (*name == '\0')
		r = store_fail(STORE_EPERM, err, errlen, "%s is a directory",
		    path);
	else
		r = check_path(mb, flags, err, errlen);
	if (r == STORE_OK && !mb->st.rdonly && mkdir_p(dir, 0700) < 0)
		r = store_fail(mb_errno_result(), err, errlen, "mbox state "
		    "directory %s: %m", statedir);
	free(dir);
	if (r == STORE_OK && (flags & STORE_SESSION_LOCK))
		r = mb_session_lock(mb, err, errlen);
	if (r == STORE_OK) {
		mb_index_open(mb);
		r = mb_load(mb, err, errlen);
	}
	if (r == STORE_OK) {
		*out = &mb->st;
		return STORE_OK;
	}
	mb->npend = 0;
	mb->st.ops->close(&mb->st);
	return r;
}

static int64_t
mb_size(struct store *st, unsigned i)
{
	(void)i, (void)st;
	return -1;	/* known from the scan or the index, else unreadable */
}

/* ---- streaming ---- */

/* The locks are held while a message is read (as Dovecot does), so a
 * rewrite cannot move it under the reader; they are released at
 * msg_stream_close. */
struct mb_stream {
	struct msg_stream ms;
	struct mbox *mb;
	int done;
	uint64_t pos, end;
	size_t opos;
	struct mbox_filter f;
	unsigned char in[16384];
	unsigned char out[16384 + MBOX_FILTER_SLACK];
};

static ssize_t
mb_stream_read(struct msg_stream *ms, void *buf, size_t n)
{
	struct mb_stream *s = (struct mb_stream *)ms;
	size_t k;

	while (s->opos == s->f.olen) {
		ssize_t r;

		if (s->done)
			return 0;
		s->f.olen = s->opos = 0;
		if (s->pos == s->end) {
			mbox_filter_finish(&s->f);
			s->done = 1;
			continue;
		}
		k = s->end - s->pos < sizeof(s->in) ? s->end - s->pos :
		    sizeof(s->in);
		if ((r = pread(s->mb->fd, s->in, k, (off_t)s->pos)) <= 0)
			return -1;	/* locked: it cannot shrink */
		s->pos += (uint64_t)r;
		mbox_filter_run(&s->f, s->in, (size_t)r);
	}
	k = s->f.olen - s->opos < n ? s->f.olen - s->opos : n;
	memcpy(buf, s->out + s->opos, k);
	s->opos += k;
	return (ssize_t)k;
}

static void
mb_stream_close(struct msg_stream *ms)
{
	struct mb_stream *s = (struct mb_stream *)ms;

	mb_unlock(s->mb);
	free(s);
}

static enum store_result
mb_msg_open(struct store *st, unsigned i, struct msg_stream **out)
{
	struct mbox *mb = (struct mbox *)st;
	struct mb_stream *s;
	enum store_result r;

	if (mb_lock(mb, NULL, 0) != STORE_OK)
		return STORE_ETEMP;
	if (mb_refresh(mb, NULL, 0) != STORE_OK) {
		mb_unlock(mb);
		return STORE_ETEMP;
	}
	/* Never another message's bytes: check it is still there. */
	if ((r = mb_locate(mb, i)) != STORE_OK) {
		mb_unlock(mb);
		return r;
	}
	s = xcalloc(1, sizeof(*s));
	s->ms.read = mb_stream_read;
	s->ms.close = mb_stream_close;
	/* The view's fd, never a second one: closing it would drop the
	 * fcntl lock (POSIX record locks are per process). */
	s->mb = mb;
	s->pos = st->msgs[i].u.mb.hdr;
	s->end = st->msgs[i].u.mb.end;
	mbox_filter_init(&s->f);
	s->f.out = s->out;
	*out = &s->ms;
	return STORE_OK;
}

static time_t
mb_date(struct store *st, unsigned i)
{
	struct mbox *mb = (struct mbox *)st;
	time_t t;

	if (mb_lock(mb, NULL, 0) != STORE_OK)
		return -1;
	if (mb_refresh(mb, NULL, 0) != STORE_OK) {
		mb_unlock(mb);
		return -1;
	}
	switch (mb_locate(mb, i)) {
	case STORE_OK:
		t = mb_internal_date(st, i);
		break;
	case STORE_ENOENT:	/* gone: never another message's date */
		t = st->msgs[i].internal;
		break;
	default:
		t = -1;
	}
	mb_unlock(mb);
	return t;
}

/* ---- the rest ---- */

static void
mb_touch(struct store *st)
{
	struct mbox *mb = (struct mbox *)st;

	if (mb->flags & STORE_SESSION_LOCK)
		dotlock_touch(&mb->dl, MBOX_TOUCH_SECS);
}

static void
mb_close(struct store *st)
{
	struct mbox *mb = (struct mbox *)st;

	store_cache_close(st);
	if (!st->rdonly && (mb->npend > 0 || mb->base_dirty) && mb->fd >= 0)
		(void)mb_flush(st, NULL, 0);
	mb_append_abort(st);
	mb_notify_close(mb);
	mb_index_close(mb);
	dotlock_release(&mb->dl);
	if (mb->fd >= 0)
		close(mb->fd);	/* releases the fcntl lock */
	if (mb->sess_fd >= 0)
		close(mb->sess_fd);
	kwtable_free(&st->kw);
	free(st->msgs);
	free(mb->extra.v);
	free(mb->pend);
	free(mb->xlog);
	free(mb->path);
	free(mb->statedir);
	free(mb->name);
	free(mb->jpath);
	free(mb->apath);
	free(mb);
}

/* <statedir>/.postern-cache-<name> (msgcache.h), beside the journal. */
static struct msgcache *
mb_cache_open(struct store *st)
{
	struct mbox *mb = (struct mbox *)st;
	struct msgcache *c = NULL;
	char *name = xasprintf(".postern-cache-%s", mb->name);
	int dfd = open(mb->statedir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0 || msgcache_open(dfd, name, st->uidvalidity, &c) < 0) {
		log_msg(LOG_INFO, "%s/%s: no cache: %m", mb->statedir, name);
		c = NULL;
	}
	if (dfd >= 0)
		close(dfd);
	free(name);
	return c;
}

static const struct store_ops mbox_ops = {
	.close = mb_close,
	.internal_date = mb_date,
	.wire_size = mb_size,
	.raw_size = mb_size,
	.msg_open = mb_msg_open,
	.keyword = mb_keyword,
	.set_flags = mb_set_flags,
	.flush = mb_flush,
	.expunge = mb_expunge,
	.expunged_since = mb_expunged_since,
	.append_begin = mb_append_begin,
	.copy = mb_copy,
	.append_commit = mb_append_commit,
	.append_abort = mb_append_abort,
	.sync = mb_sync,
	.notify_fd = mb_notify_fd,
	.touch = mb_touch,
	.cache_open = mb_cache_open,
};
