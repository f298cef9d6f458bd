/*
 * mbox.c - an mbox INBOX (/var/mail/USER by default) as store.h
 * describes it: locked for the whole session, listed with the UIDs kept
 * in its own X-IMAPbase / X-UID headers, streamed through the filter of
 * mbox_parse.c, changed only through the journal of mbox_write.c.
 *
 * Locking follows Debian Policy 11.6: fcntl() on the mbox first, then
 * the dot-lock <mbox>.lock (created with the mail group lent by
 * privgroup_begin(), since /var/mail is 2775 root:mail), both held
 * until store_close(), so the snapshot is the file itself: no delivery
 * can change it under us, and an MTA queues mail until we are done.
 * STORE_SESSION_LOCK adds <ROOT>/.postern-pop3-<name>.lock, which tells a
 * second POP3 session "in use" at once instead of after a lock timeout.
 *
 * UIDs use the format mutt, UW imapd and Dovecot share: the first
 * message holds "X-IMAPbase: <uidvalidity> <uidlast>" (the last UID
 * given; Dovecot and UW write it as 10 digits so it can be updated in
 * place), or UW imapd's hidden first message holds "X-IMAP:"; each
 * message holds "X-UID: <uid>".  An X-UID counts only if it is above the
 * previous message's UID and not above uidlast; otherwise (and for new
 * mail) the message gets the next UID, written into the file at open.
 *
 * Trusts nothing in the file: parsing is bounded (mbox_parse.c), at most
 * STORE_MAX_MSGS messages, and every offset used to write was found by
 * that parser in the file we hold locked.
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

#include "lock.h"
#include "log.h"
#include "store_int.h"
#include "util.h"

/* Debian Policy 11.6 and liblockfile: a dot-lock not touched for five
 * minutes is stale. */
#define MBOX_STALE_SECS 300
/* Refresh our dot-lock's mtime once it is this old (well within 300). */
#define MBOX_TOUCH_SECS 60
/* An X-IMAPbase field longer than this is rewritten without keywords
 * when it moves to a new first message. */
#define BASE_FIELD_MAX 4096

struct mbox {
	struct store st;
	char *path, *root, *jpath;
	int fd;			/* the mbox, read-write; -1 if absent */
	int sess_fd;		/* POP3 session lock, or -1 */
	struct dotlock dl;
	uint64_t size;
	size_t cap;
	struct mbox_base base;	/* of the first message */
	int has_pseudo;		/* UW imapd's folder-internal message */
	struct mbox_rec pseudo;
};

static const struct store_ops mbox_ops;

static enum store_result
errno_result(void)
{
	return errno == EACCES || errno == EPERM || errno == ENOENT ||
	    errno == ENOTDIR || errno == ELOOP || errno == EROFS ?
	    STORE_EPERM : STORE_ETEMP;
}

/* ---- reading ---- */

static int
on_msg(void *arg, const struct mbox_rec *r, const struct mbox_base *b)
{
	struct mbox *mb = arg;
	struct store_msg *m;

	if (b != NULL)
		mb->base = *b;
	if (r->pseudo) {
		mb->pseudo = *r;
		mb->has_pseudo = 1;
		return 0;
	}
	if (mb->st.count >= STORE_MAX_MSGS)
		return 1;
	if (mb->st.count == mb->cap) {
		mb->cap = mb->cap ? mb->cap * 2 : 256;
		mb->st.msgs = xreallocarray(mb->st.msgs, mb->cap, sizeof(*m));
	}
	m = &mb->st.msgs[mb->st.count++];
	memset(m, 0, sizeof(*m));
	m->uid = r->xuid;	/* a candidate until number() has checked it */
	m->wire = r->wire;
	m->u.mb.from = r->from;
	m->u.mb.hdr = r->hdr;
	m->u.mb.end = r->end;
	m->u.mb.xuid_off = r->xuid_off;
	m->u.mb.xuid_len = r->xuid_len;
	m->u.mb.from_nl = r->from_nl;
	return 0;
}

/* (Re)read the messages from msgs[keep] on (all if keep is 0). */
static enum store_result
scan(struct mbox *mb, unsigned keep, char *err, size_t errlen)
{
	uint64_t off = keep > 0 ? mb->st.msgs[keep].u.mb.from : 0;
	unsigned char *buf;
	struct mbox_scan s;
	struct stat st;
	ssize_t n = 0;
	int r;

	if (fstat(mb->fd, &st) < 0)
		return store_fail(STORE_ETEMP, err, errlen, "%s: %m", mb->path);
	mb->size = (uint64_t)st.st_size;
	mb->st.count = keep;
	if (keep == 0) {
		memset(&mb->base, 0, sizeof(mb->base));
		mb->has_pseudo = 0;
	}
	mbox_scan_init(&s, off, keep == 0, on_msg, mb);
	buf = xmalloc(STORE_IOBUF);
	/* Up to the size we saw: the snapshot, even if someone ignoring
	 * the locks appends. */
	while (off < mb->size && (n = pread(mb->fd, buf, mb->size - off <
	    STORE_IOBUF ? (size_t)(mb->size - off) : STORE_IOBUF,
	    (off_t)off)) > 0 && mbox_scan_feed(&s, buf, (size_t)n) == 0)
		off += (uint64_t)n;
	free(buf);
	if (n < 0)
		return store_fail(STORE_ETEMP, err, errlen, "reading %s: %m",
		    mb->path);
	if ((r = mbox_scan_end(&s)) != 0)
		return store_fail(STORE_EPERM, err, errlen, "%s holds more "
		    "than %u messages", mb->path, STORE_MAX_MSGS);
	return STORE_OK;
}

/* ---- UIDs ---- */

/*
 * Check each message's X-UID in file order against the one before and
 * against uidlast; give the next UID to each that fails (RFC 3501
 * 2.3.1.1: UIDs ascend with the order of the mailbox).  Returns how
 * many changed; *uv and *last get what X-IMAPbase must say.
 */
static unsigned
number(struct mbox *mb, uint32_t *uv, uint32_t *last)
{
	const struct mbox_base *b = &mb->base;
	uint32_t limit = b->valid ? b->uidlast : 0, next = limit + 1, prev = 0;
	unsigned changed = 0, i;

	*uv = b->valid ? b->uidvalidity : (uint32_t)time(NULL);
	for (i = 0; i < mb->st.count; i++) {
		struct store_msg *m = &mb->st.msgs[i];

		if (m->uid > prev && m->uid <= limit) {
			prev = m->uid;
			continue;
		}
		if (next == UINT32_MAX)
			break;
		m->uid = prev = next++;
		m->u.mb.newuid = 1;
		changed++;
	}
	if (i < mb->st.count) {
		/* Out of UIDs: start over under a new UIDVALIDITY. */
		log_msg(LOG_WARNING, "%s: UIDs exhausted; new UIDVALIDITY",
		    mb->path);
		*uv = *uv + 1 != 0 ? *uv + 1 : 1;
		for (i = 0; i < mb->st.count; i++) {
			mb->st.msgs[i].uid = i + 1;
			mb->st.msgs[i].u.mb.newuid = 1;
		}
		next = mb->st.count + 1;
		changed = mb->st.count;
	}
	*last = next - 1;
	return changed;
}

/* Insert a header line right after message m's From_ line. */
static void
insert_header(struct mbox_plan *pl, struct store_msg *m, const char *line,
    size_t len)
{
	if (!m->u.mb.from_nl) {
		/* "From x" at end of file: end that line first. */
		mbox_plan_edit(pl, m->u.mb.hdr, 0, "\n", 1);
		m->u.mb.from_nl = 1;
	}
	mbox_plan_edit(pl, m->u.mb.hdr, 0, line, len);
}

/* The first message as a store_msg (the pseudo message, if any). */
static struct store_msg
first_msg(const struct mbox *mb)
{
	struct store_msg m = { 0 };

	if (!mb->has_pseudo)
		return mb->st.msgs[0];
	m.u.mb.from = mb->pseudo.from;
	m.u.mb.hdr = mb->pseudo.hdr;
	m.u.mb.from_nl = mb->pseudo.from_nl;
	return m;
}

static void
plan_base(struct mbox *mb, struct mbox_plan *pl, uint32_t uv, uint32_t last)
{
	const struct mbox_base *b = &mb->base;
	struct store_msg first;
	char line[64];
	int n;

	if (b->valid) {		/* update the numbers in place */
		if (uv != b->uidvalidity) {
			n = snprintf(line, sizeof(line), "%u", uv);
			mbox_plan_edit(pl, b->v_off, b->v_len, line, (size_t)n);
		}
		if (last != b->uidlast) {
			n = snprintf(line, sizeof(line), "%010u", last);
			mbox_plan_edit(pl, b->l_off, b->l_len, line, (size_t)n);
		}
		return;
	}
	n = snprintf(line, sizeof(line), "%s: %u %010u\n", mb->has_pseudo ?
	    "X-IMAP" : "X-IMAPbase", uv, last);
	if (b->kind != MBOX_F_NONE) {	/* unusable: replace it */
		mbox_plan_edit(pl, b->field_off, b->field_len, line, (size_t)n);
		return;
	}
	first = first_msg(mb);
	insert_header(pl, mb->has_pseudo ? &first : &mb->st.msgs[0], line,
	    (size_t)n);
}

static void
plan_uids(struct mbox *mb, struct mbox_plan *pl, uint32_t uv, uint32_t last)
{
	const struct mbox_base *b = &mb->base;
	char line[32];

	if (!b->valid || uv != b->uidvalidity || last != b->uidlast)
		plan_base(mb, pl, uv, last);
	for (unsigned i = 0; i < mb->st.count; i++) {
		struct store_msg *m = &mb->st.msgs[i];
		int n;

		if (!m->u.mb.newuid)
			continue;
		n = snprintf(line, sizeof(line), "X-UID: %u\n", m->uid);
		if (m->u.mb.xuid_len > 0)
			mbox_plan_edit(pl, m->u.mb.xuid_off, m->u.mb.xuid_len,
			    line, (size_t)n);
		else
			insert_header(pl, m, line, (size_t)n);
	}
}

/* Index of the last message starting at or before off; 0 if none (a
 * full rescan: the first message holds X-IMAPbase). */
static unsigned
msg_at(const struct mbox *mb, uint64_t off)
{
	unsigned j = 0;

	while (j + 1 < mb->st.count && mb->st.msgs[j + 1].u.mb.from <= off)
		j++;
	return j;
}

/* Run a plan, then reread what moved.  Same-length changes before the
 * first move only touch the X-IMAPbase numbers we chose: patch them. */
static enum store_result
rewrite(struct mbox *mb, struct mbox_plan *pl, uint32_t uv, uint32_t last,
    char *err, size_t errlen)
{
	uint64_t moved;

	if (mbox_rewrite(mb->fd, mb->jpath, pl, &moved, err, errlen) < 0)
		return STORE_ETEMP;
	if (!mb->base.valid)
		moved = 0;	/* a new X-IMAPbase: read it back */
	if (mb->base.valid) {
		mb->base.uidvalidity = uv;
		mb->base.uidlast = last;
	}
	for (unsigned i = 0; i < mb->st.count; i++)
		mb->st.msgs[i].u.mb.newuid = 0;
	if (moved >= mb->size)
		return STORE_OK;
	return scan(mb, msg_at(mb, moved), err, errlen);
}

/* Give every message a UID and make sure the file says so. */
static enum store_result
assign_uids(struct mbox *mb, char *err, size_t errlen)
{
	struct mbox_plan pl;
	uint32_t uv, last;
	enum store_result r;

	if (mb->st.count == 0 && !mb->has_pseudo) {
		mb->st.uidvalidity = mb->base.valid ? mb->base.uidvalidity :
		    (uint32_t)time(NULL);
		return STORE_OK;
	}
	if (number(mb, &uv, &last) == 0 && mb->base.valid) {
		mb->st.uidvalidity = uv;
		return STORE_OK;
	}
	mbox_plan_init(&pl, mb->size);
	plan_uids(mb, &pl, uv, last);
	r = rewrite(mb, &pl, uv, last, err, errlen);
	mbox_plan_free(&pl);
	/* Reread: the file must now carry every UID, or we would assign
	 * them again next time (UIDL must be stable). */
	if (r == STORE_OK && (number(mb, &uv, &last) != 0 || !mb->base.valid))
		r = store_fail(STORE_ETEMP, err, errlen, "%s: UIDs did not "
		    "persist", mb->path);
	mb->st.uidvalidity = uv;
	return r;
}

/* ---- locking ---- */

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

/* fcntl, then the dot-lock, each for what is left of the time limit.
 * Then check the path still names the file we locked. */
static enum store_result
lock_mbox(struct mbox *mb, int64_t deadline, int *again, char *err,
    size_t errlen)
{
	char *lock = xasprintf("%s.lock", mb->path);
	int64_t left = deadline - now_ms();
	struct stat a, b;
	int r;

	*again = 0;
	if (lock_fcntl(mb->fd, left > 0 ? (unsigned)left : 0) < 0) {
		free(lock);
		if (errno == EAGAIN)
			return store_fail(STORE_ETEMP, err, errlen, "%s is "
			    "locked (fcntl) by another process", mb->path);
		return store_fail(errno_result(), err, errlen, "%s: fcntl "
		    "lock: %m", mb->path);
	}
	left = deadline - now_ms();
	r = dotlock_take(&mb->dl, lock, MBOX_STALE_SECS, left > 0 ?
	    (unsigned)left : 0, 1);
	free(lock);
	if (r < 0 && errno == ETIMEDOUT)
		return store_fail(STORE_ETEMP, err, errlen, "%s.lock is held "
		    "by another process", mb->path);
	if (r < 0)
		return store_fail(errno_result(), err, errlen, "cannot create "
		    "%s.lock: %m (mail_privileged_group?)", mb->path);
	if (fstat(mb->fd, &a) == 0 && stat(mb->path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return STORE_OK;
	*again = 1;		/* replaced while we waited: lock the new one */
	return STORE_ETEMP;
}

static enum store_result
open_locked(struct mbox *mb, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + STORE_LOCK_TIMEOUT_MS;
	enum store_result r = STORE_ETEMP;
	struct stat st;
	int again = 1;

	for (int tries = 0; again && tries < 3; tries++) {
		if (mb->fd >= 0) {	/* a retry: let go of the old file */
			dotlock_release(&mb->dl);
			close(mb->fd);
		}
		mb->fd = open(mb->path, O_RDWR | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
		if (mb->fd < 0 && errno == ENOENT)
			return STORE_OK;	/* no mail yet: empty */
		if (mb->fd < 0)
			return store_fail(errno_result(), err, errlen, "%s: %m",
			    mb->path);
		if (fstat(mb->fd, &st) < 0 || !S_ISREG(st.st_mode))
			return store_fail(STORE_EPERM, err, errlen, "%s is not "
			    "a regular file", mb->path);
		r = lock_mbox(mb, deadline, &again, err, errlen);
	}
	if (again)
		return store_fail(STORE_ETEMP, err, errlen, "%s keeps being "
		    "replaced", mb->path);
	return r;
}

static enum store_result
session_lock(struct mbox *mb, const char *name, char *err, size_t errlen)
{
	char *path = xasprintf("%s/.postern-pop3-%s.lock", mb->root, name);
	enum store_result r = STORE_OK;

	if ((mb->sess_fd = lock_session_file(path)) < 0 && errno == EAGAIN)
		r = store_fail(STORE_EINUSE, err, errlen, "%s is in use by "
		    "another POP3 session", mb->path);
	else if (mb->sess_fd < 0)
		r = store_fail(errno_result(), err, errlen, "%s: %m", path);
	free(path);
	return r;
}

/* ---- the store ---- */

static enum store_result
load(struct mbox *mb, char *err, size_t errlen)
{
	enum store_result r;

	if (mb->fd < 0) {
		mb->st.uidvalidity = (uint32_t)time(NULL);
		return STORE_OK;
	}
	if (mbox_recover(mb->fd, mb->jpath, err, errlen) < 0)
		return STORE_ETEMP;
	if ((r = scan(mb, 0, err, errlen)) != STORE_OK)
		return r;
	return assign_uids(mb, err, errlen);
}

enum store_result
mbox_open(const char *inbox, const char *root, const char *name, int flags,
    struct store **out, char *err, size_t errlen)
{
	struct mbox *mb = xcalloc(1, sizeof(*mb));
	enum store_result r;

	mb->st.ops = &mbox_ops;
	mb->fd = mb->sess_fd = -1;
	mb->path = xstrdup(inbox);
	mb->root = xstrdup(root);
	mb->jpath = xasprintf("%s/.postern-journal-%s", root, name);
	if (*name == '\0')
		r = store_fail(STORE_EPERM, err, errlen, "INBOX=%s is a "
		    "directory", inbox);
	else if (mkdir_p(mb->root, 0700) < 0)	/* for the journal */
		r = store_fail(errno_result(), err, errlen, "mbox root %s: %m",
		    root);
	else
		r = STORE_OK;
	if (r == STORE_OK && (flags & STORE_SESSION_LOCK))
		r = session_lock(mb, name, err, errlen);
	if (r == STORE_OK)
		r = open_locked(mb, err, errlen);
	if (r == STORE_OK)
		r = load(mb, err, errlen);
	if (r == STORE_OK) {
		*out = &mb->st;
		return STORE_OK;
	}
	mb->st.ops->close(&mb->st);
	return r;
}

static int64_t
mb_wire_size(struct store *st, unsigned i)
{
	return st->msgs[i].wire;	/* always known after the scan */
}

struct mb_stream {
	struct msg_stream ms;
	int fd, done;
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
		if ((r = pread(s->fd, s->in, k, (off_t)s->pos)) <= 0)
			return -1;	/* we hold the locks: cannot shrink */
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
	free(ms);
}

static enum store_result
mb_msg_open(struct store *st, unsigned i, struct msg_stream **out)
{
	struct mbox *mb = (struct mbox *)st;
	struct mb_stream *s = xcalloc(1, sizeof(*s));

	s->ms.read = mb_stream_read;
	s->ms.close = mb_stream_close;
	s->fd = mb->fd;	/* never a second fd: closing it would drop the
			 * fcntl lock (POSIX record locks are per process) */
	s->pos = st->msgs[i].u.mb.hdr;
	s->end = st->msgs[i].u.mb.end;
	mbox_filter_init(&s->f);
	s->f.out = s->out;
	*out = &s->ms;
	return STORE_OK;
}

/* The first message is going: its X-IMAPbase moves to the new first. */
static void
plan_move_base(struct mbox *mb, struct mbox_plan *pl, struct store_msg *to)
{
	const struct mbox_base *b = &mb->base;
	char *field;

	if (b->field_len <= BASE_FIELD_MAX) {
		field = xmalloc(b->field_len);
		if (pread(mb->fd, field, b->field_len, (off_t)b->field_off) ==
		    (ssize_t)b->field_len && b->field_len > 0 &&
		    field[b->field_len - 1] == '\n') {
			insert_header(pl, to, field, b->field_len);
			free(field);
			return;
		}
		free(field);
	}
	field = xasprintf("X-IMAPbase: %u %010u\n", b->uidvalidity,
	    b->uidlast);
	insert_header(pl, to, field, strlen(field));
	free(field);
}

static enum store_result
mb_expunge(struct store *st, const unsigned char *del, char *err,
    size_t errlen)
{
	struct mbox *mb = (struct mbox *)st;
	struct mbox_plan pl;
	unsigned first, keep;
	enum store_result r = STORE_OK;
	uint64_t moved;

	for (first = 0; first < st->count && !del[first]; first++)
		;
	for (keep = 0; keep < st->count && del[keep]; keep++)
		;
	if (first == st->count)
		return STORE_OK;
	mbox_plan_init(&pl, mb->size);
	for (unsigned i = first; i < st->count; i++) {
		uint64_t next = i + 1 < st->count ?
		    st->msgs[i + 1].u.mb.from : mb->size;

		if (del[i])
			mbox_plan_edit(&pl, st->msgs[i].u.mb.from,
			    next - st->msgs[i].u.mb.from, "", 0);
	}
	if (first == 0 && !mb->has_pseudo && mb->base.valid &&
	    keep < st->count)
		plan_move_base(mb, &pl, &st->msgs[keep]);
	if (mbox_rewrite(mb->fd, mb->jpath, &pl, &moved, err, errlen) < 0)
		r = STORE_ETEMP;
	mbox_plan_free(&pl);
	if (r == STORE_OK)
		r = scan(mb, first, err, errlen);
	return r;
}

static void
mb_touch(struct store *st)
{
	dotlock_touch(&((struct mbox *)st)->dl, MBOX_TOUCH_SECS);
}

static void
mb_close(struct store *st)
{
	struct mbox *mb = (struct mbox *)st;

	dotlock_release(&mb->dl);
	if (mb->fd >= 0)
		close(mb->fd);	/* releases the fcntl lock */
	if (mb->sess_fd >= 0)
		close(mb->sess_fd);
	free(st->msgs);
	free(mb->path);
	free(mb->root);
	free(mb->jpath);
	free(mb);
}

static const struct store_ops mbox_ops = {
	.close = mb_close,
	.wire_size = mb_wire_size,
	.msg_open = mb_msg_open,
	.expunge = mb_expunge,
	.touch = mb_touch,
};
