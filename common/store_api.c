/*
 * store_api.c - the store.h entry points: argument and state checks
 * common to both formats, then dispatch to the backend (maildir*.c or
 * mbox*.c) through struct store_ops.
 *
 * The checks here are the ones a backend must never have to repeat:
 * index in range, a read-write view for changes, flags within MF_ALL
 * and keywords within the folder's table.  A protocol bug thus reads as
 * an error, never as a write to the wrong message.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "folders_int.h"
#include "keywords.h"
#include "mime.h"
#include "msgcache.h"
#include "store_int.h"
#include "util.h"

/* 1 if kw names only keywords of st's table. */
static int
kw_known(const struct store *st, kwset_t kw)
{
	kwset_t all = st->kw.n >= 32 ? ~(kwset_t)0 :
	    ((kwset_t)1 << st->kw.n) - 1;

	return (kw & ~all) == 0;
}

static void
clear_err(char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		err[0] = '\0';
}

/* The mbox state directory and base name of path (absolute). */
static enum store_result
open_mbox_file(const char *path, int flags, struct store **out, char *err,
    size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t dlen = slash != NULL ? (size_t)(slash - path) : 0;

	if (slash == NULL || slash[1] == '\0' || dlen >= sizeof(dir))
		return store_fail(STORE_EPERM, err, errlen,
		    "mbox path %s is not a file name", path);
	memcpy(dir, path, dlen);
	dir[dlen] = '\0';
	return mbox_open(path, dlen > 0 ? dir : "/", slash + 1, flags, out,
	    err, errlen);
}

enum store_result
store_open_inbox(const char *mail_location, const struct store_user *user,
    int flags, struct store **out, char *err, size_t errlen)
{
	struct store_location l;
	enum store_result r;

	*out = NULL;
	clear_err(err, errlen);
	if ((r = store_location_parse(mail_location, user, &l, err, errlen)) !=
	    STORE_OK)
		return r;
	flags |= STORE_OPEN_CREATE;
	if (l.mbox) {
		const char *base = strrchr(l.inbox, '/') + 1;

		if (*base == '\0')
			return store_fail(STORE_EPERM, err, errlen,
			    "INBOX=%s is a directory", l.inbox);
		return mbox_open(l.inbox, l.path, base, flags, out, err,
		    errlen);
	}
	return maildir_open(l.inbox[0] ? l.inbox : l.path, flags, out, err,
	    errlen);
}

enum store_result
store_open(struct folders *f, const char *name, int flags,
    struct store **out, char *err, size_t errlen)
{
	char canon[PATH_MAX], path[PATH_MAX];
	enum store_result r;

	*out = NULL;
	clear_err(err, errlen);
	if ((r = folders_norm(f, name, 0, canon, err, errlen)) != STORE_OK)
		return r;
	if (folders_is_inbox(canon)) {
		flags |= STORE_OPEN_CREATE;
		if (f->mbox)
			return mbox_open(f->inbox, f->root,
			    strrchr(f->inbox, '/') + 1, flags, out, err,
			    errlen);
		return maildir_open(f->inbox, flags, out, err, errlen);
	}
	if ((r = folders_disk(f, canon, path, err, errlen)) != STORE_OK)
		return r;
	if (f->mbox)
		return open_mbox_file(path, flags, out, err, errlen);
	return maildir_open(path, flags, out, err, errlen);
}

void
store_close(struct store *st)
{
	if (st != NULL)
		st->ops->close(st);
}

unsigned
store_count(const struct store *st)
{
	return st->count;
}

uint32_t
store_uidvalidity(const struct store *st)
{
	return st->uidvalidity;
}

uint32_t
store_uidnext(const struct store *st)
{
	return st->uidnext;
}

uint64_t
store_highestmodseq(const struct store *st)
{
	return st->highestmodseq;
}

unsigned
store_recent_count(const struct store *st)
{
	return st->nrecent;
}

int
store_readonly(const struct store *st)
{
	return st->rdonly;
}

const struct kwtable *
store_keywords_table(const struct store *st)
{
	return &st->kw;
}

int
store_keyword(struct store *st, const char *name, int create)
{
	int k = kwtable_find(&st->kw, name);

	if (k >= 0)
		return k;
	if (!keyword_valid(name, strlen(name)))
		return -1;
	if (!create || st->rdonly)
		return -2;
	return st->ops->keyword(st, name, create);
}

uint32_t
store_uid(const struct store *st, unsigned i)
{
	return i < st->count ? st->msgs[i].uid : 0;
}

int
store_find_uid(const struct store *st, uint32_t uid, unsigned *i)
{
	unsigned lo = 0, hi = st->count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (st->msgs[mid].uid == uid) {
			*i = mid;
			return 1;
		}
		if (st->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

unsigned
store_flags(const struct store *st, unsigned i)
{
	return i < st->count ? st->msgs[i].flags : 0;
}

kwset_t
store_msg_keywords(const struct store *st, unsigned i)
{
	return i < st->count ? st->msgs[i].kw : 0;
}

int
store_recent(const struct store *st, unsigned i)
{
	return i < st->count && (st->msgs[i].state & SM_RECENT) != 0;
}

uint64_t
store_modseq(const struct store *st, unsigned i)
{
	return i < st->count ? st->msgs[i].modseq : 0;
}

int
store_gone(const struct store *st, unsigned i)
{
	return i < st->count && (st->msgs[i].state & SM_GONE) != 0;
}

const char *
store_filename(const struct store *st, unsigned i)
{
	if (i >= st->count || !st->maildir)
		return NULL;
	return st->msgs[i].u.md.uniq;
}

time_t
store_internal_date(struct store *st, unsigned i)
{
	if (i >= st->count)
		return -1;
	if (st->msgs[i].internal >= 0)
		return (time_t)st->msgs[i].internal;
	return st->ops->internal_date(st, i);
}

int64_t
store_wire_size(struct store *st, unsigned i)
{
	if (i >= st->count)
		return -1;
	if (st->msgs[i].wire >= 0)
		return st->msgs[i].wire;
	return st->ops->wire_size(st, i);
}

int64_t
store_raw_size(struct store *st, unsigned i)
{
	if (i >= st->count)
		return -1;
	if (st->msgs[i].raw >= 0)
		return st->msgs[i].raw;
	return st->ops->raw_size(st, i);
}

enum store_result
store_msg_open(struct store *st, unsigned i, struct msg_stream **out)
{
	*out = NULL;
	if (i >= st->count || (st->msgs[i].state & SM_GONE))
		return STORE_ENOENT;
	return st->ops->msg_open(st, i, out);
}

ssize_t
msg_stream_read(struct msg_stream *ms, void *buf, size_t n)
{
	return ms->read(ms, buf, n);
}

void
msg_stream_close(struct msg_stream *ms)
{
	if (ms != NULL)
		ms->close(ms);
}

enum store_result
store_set_flags(struct store *st, unsigned i, enum store_flag_op op,
    unsigned flags, kwset_t kw, uint64_t unchangedsince, char *err,
    size_t errlen)
{
	clear_err(err, errlen);
	if (st->rdonly)
		return store_fail(STORE_ERDONLY, err, errlen,
		    "the folder is open read-only");
	if (i >= st->count || (st->msgs[i].state & SM_GONE))
		return store_fail(STORE_ENOENT, err, errlen,
		    "the message has been expunged");
	if ((flags & ~(unsigned)MF_ALL) != 0 || !kw_known(st, kw))
		return store_fail(STORE_EBADNAME, err, errlen,
		    "unknown flag or keyword");
	if (op != STORE_FLAGS_SET && op != STORE_FLAGS_ADD &&
	    op != STORE_FLAGS_REMOVE)
		return store_fail(STORE_EPERM, err, errlen, "bad flag operation");
	return st->ops->set_flags(st, i, op, flags, kw, unchangedsince, err,
	    errlen);
}

enum store_result
store_flush(struct store *st, char *err, size_t errlen)
{
	clear_err(err, errlen);
	if (st->rdonly || st->ops->flush == NULL)
		return STORE_OK;
	return st->ops->flush(st, err, errlen);
}

enum store_result
store_expunge(struct store *st, const unsigned char *del, char *err,
    size_t errlen)
{
	clear_err(err, errlen);
	if (st->rdonly)
		return store_fail(STORE_ERDONLY, err, errlen,
		    "the folder is open read-only");
	return st->ops->expunge(st, del, err, errlen);
}

enum store_result
store_expunged_since(struct store *st, uint64_t since, uint32_t **uids,
    size_t *n)
{
	*uids = NULL;
	*n = 0;
	return st->ops->expunged_since(st, since, uids, n);
}

enum store_result
store_append_begin(struct store *st, unsigned flags, kwset_t kw,
    time_t internal, struct store_append **out, char *err, size_t errlen)
{
	*out = NULL;
	clear_err(err, errlen);
	if (st->rdonly)
		return store_fail(STORE_ERDONLY, err, errlen,
		    "the folder is open read-only");
	if ((flags & ~(unsigned)MF_ALL) != 0 || !kw_known(st, kw))
		return store_fail(STORE_EBADNAME, err, errlen,
		    "unknown flag or keyword");
	return st->ops->append_begin(st, flags, kw, internal, out, err,
	    errlen);
}

enum store_result
store_append_write(struct store_append *a, const void *p, size_t n)
{
	return a->write(a, p, n);
}

enum store_result
store_append_end(struct store_append *a, char *err, size_t errlen)
{
	clear_err(err, errlen);
	return a->end(a, err, errlen);
}

enum store_result
store_copy(struct store *src, unsigned si, struct store *dst, char *err,
    size_t errlen)
{
	clear_err(err, errlen);
	if (dst->rdonly)
		return store_fail(STORE_ERDONLY, err, errlen,
		    "the target folder is open read-only");
	if (si >= src->count || (src->msgs[si].state & SM_GONE))
		return store_fail(STORE_ENOENT, err, errlen,
		    "the message has been expunged");
	return dst->ops->copy(src, si, dst, err, errlen);
}

enum store_result
store_append_commit(struct store *dst, uint32_t *uids, size_t *n,
    uint32_t *uidvalidity, char *err, size_t errlen)
{
	clear_err(err, errlen);
	*n = 0;
	return dst->ops->append_commit(dst, uids, n, uidvalidity, err,
	    errlen);
}

void
store_append_abort(struct store *dst)
{
	dst->ops->append_abort(dst);
}

void
store_changes_push(unsigned **v, size_t *n, unsigned x)
{
	/* Grow at powers of two: *n alone says when. */
	if ((*n & (*n - 1)) == 0)
		*v = xreallocarray(*v, *n == 0 ? 1 : *n * 2, sizeof(**v));
	(*v)[(*n)++] = x;
}

enum store_result
store_sync(struct store *st, int flags, struct store_changes *ch, char *err,
    size_t errlen)
{
	memset(ch, 0, sizeof(*ch));
	clear_err(err, errlen);
	return st->ops->sync(st, flags, ch, err, errlen);
}

void
store_changes_free(struct store_changes *ch)
{
	free(ch->expunged);
	free(ch->changed);
	memset(ch, 0, sizeof(*ch));
}

int
store_notify_fd(struct store *st)
{
	return st->ops->notify_fd != NULL ? st->ops->notify_fd(st) : -1;
}

void
store_touch(struct store *st)
{
	if (st != NULL && st->ops->touch != NULL)
		st->ops->touch(st);
}

enum store_result
store_status(struct folders *f, const char *name, int want_size,
    struct store_status *out, char *err, size_t errlen)
{
	struct store *st;
	enum store_result r;

	memset(out, 0, sizeof(*out));
	if ((r = store_open(f, name, STORE_RDONLY, &st, err, errlen)) !=
	    STORE_OK)
		return r;
	out->messages = st->count;
	out->recent = st->nrecent;
	out->uidnext = st->uidnext;
	out->uidvalidity = st->uidvalidity;
	out->highestmodseq = st->highestmodseq;
	for (unsigned i = 0; i < st->count; i++) {
		int64_t w = want_size ? store_wire_size(st, i) : 0;

		out->unseen += !(st->msgs[i].flags & MF_SEEN);
		out->deleted += (st->msgs[i].flags & MF_DELETED) != 0;
		if (w > 0)
			out->size += (uint64_t)w;
	}
	store_close(st);
	return STORE_OK;
}

/* ---- the message cache ---- */

/* A cache holding many records of expunged messages is rewritten when
 * the folder is closed. */
static int
cache_alive(void *arg, uint32_t uid)
{
	unsigned i;

	return store_find_uid(arg, uid, &i);
}

void
store_cache_close(struct store *st)
{
	if (st->cache == NULL)
		return;
	if (!st->rdonly && msgcache_count(st->cache) > 2 * (size_t)st->count +
	    100)
		(void)msgcache_compact(st->cache, cache_alive, st);
	msgcache_close(st->cache);
	st->cache = NULL;
}

/* Parse message i through the store's stream. */
static enum store_result
parse_msg(struct store *st, unsigned i, struct mime_tree **out)
{
	struct mime_parser *p;
	struct msg_stream *ms;
	enum store_result r = store_msg_open(st, i, &ms);
	char buf[STORE_IOBUF];
	ssize_t n;

	if (r != STORE_OK)
		return r;
	p = mime_parser_init();
	while ((n = msg_stream_read(ms, buf, sizeof(buf))) > 0)
		mime_parser_feed(p, buf, (size_t)n);
	msg_stream_close(ms);
	*out = mime_parser_finish(p);
	if (n < 0) {
		mime_tree_free(*out);
		*out = NULL;
		return STORE_ETEMP;
	}
	return STORE_OK;
}

enum store_result
store_msg_mime(struct store *st, unsigned i, struct mime_tree **out)
{
	uint32_t uid;
	unsigned char *blob;
	void *data;
	size_t len;
	enum store_result r;

	*out = NULL;
	if (i >= st->count || (st->msgs[i].state & SM_GONE))
		return STORE_ENOENT;
	uid = st->msgs[i].uid;
	if (!st->cache_tried) {
		st->cache_tried = 1;
		if (st->ops->cache_open != NULL)
			st->cache = st->ops->cache_open(st);
	}
	if (st->cache != NULL && msgcache_get(st->cache, uid, MSGCACHE_MIME,
	    &data, &len) == 1) {
		*out = mime_blob_decode(data, len);
		free(data);
		if (*out != NULL)
			return STORE_OK;	/* else: damaged, parse again */
	}
	if ((r = parse_msg(st, i, out)) != STORE_OK)
		return r;
	if (st->cache != NULL &&
	    (blob = mime_blob_encode(*out, &len)) != NULL) {
		(void)msgcache_put(st->cache, uid, MSGCACHE_MIME, blob, len);
		free(blob);
	}
	return STORE_OK;
}
