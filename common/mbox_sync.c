/*
 * mbox_sync.c - reading the mbox into the view and keeping it current.
 *
 * The view's offsets describe the file as it was when last read (struct
 * mb_sig: device, inode, size, mtime in ns, a hash of the last MB_TAIL
 * bytes and of the X-IMAPbase field).  mb_refresh(), run under the locks
 * by every operation that reads or writes by offset, compares:
 *   - same identity, size and mtime: nothing to read (unless the
 *     signature is racy, below: then the whole file is read);
 *   - grown, the tail hash and X-IMAPbase unchanged, the old end after
 *     an empty line and a "From " line there: only the new tail is read
 *     (an MTA delivered);
 *   - anything else (mutt rewrote the file, another session expunged,
 *     the file was replaced): the whole file is read again and matched
 *     with the view by X-UID (UIDs only increase, RFC 3501 2.3.1.1).
 * Messages found in the file but not in the view wait in mb->extra
 * until store_sync() adds them; view messages no longer in the file are
 * marked MB_VANISHED until store_sync() reports them; flags changed by
 * others are taken into the view with a fresh modseq (MB_CHANGED).
 *
 * UIDs use the format mutt, UW imapd and Dovecot share: the first
 * message holds "X-IMAPbase: <uidvalidity> <uidlast>" (UW imapd's hidden
 * first message "X-IMAP:"), each message "X-UID: <uid>".  An X-UID counts
 * only if it is above the previous message's, not above uidlast, and for
 * a message new to the view not below the view's UIDNEXT; otherwise the
 * message gets the next UID, written into the file by mbox_update.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mbox_priv.h"
#include "util.h"

uint64_t
mb_hash(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL;
	return h;
}

void
mb_list_push(struct mb_list *l, const struct store_msg *m)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = *m;
}

/* ---- the file's signature ---- */

/* Hash of [off, off + n) of the file; 0 if it cannot be read. */
static uint64_t
hash_range(int fd, uint64_t off, uint64_t n)
{
	unsigned char buf[MB_TAIL];
	uint64_t h = MB_HASH_INIT;

	if (n > sizeof(buf) || pread(fd, buf, (size_t)n, (off_t)off) !=
	    (ssize_t)n)
		return 0;
	return mb_hash(h, buf, (size_t)n);
}

static uint64_t
tail_hash(int fd, uint64_t size)
{
	uint64_t n = size < MB_TAIL ? size : MB_TAIL;

	return hash_range(fd, size - n, n);
}

/* Hash n bytes at off into h, MB_TAIL at a time; 0 on a read error. */
static uint64_t
hash_span(int fd, uint64_t h, uint64_t off, uint64_t n)
{
	unsigned char buf[MB_TAIL];

	while (n > 0) {
		size_t k = n < sizeof(buf) ? (size_t)n : sizeof(buf);

		if (pread_full(fd, buf, k, off) != (ssize_t)k)
			return 0;
		h = mb_hash(h, buf, k);
		off += k;
		n -= k;
	}
	return h;
}

/* An X-IMAPbase longer than this is not read to be compared: it
 * counts as changed every time (a full re-read, never a wrong view). */
#define MB_BASE_HASH_MAX (1u << 20)

/* Hash of the X-IMAPbase field without its uidlast digits: another
 * session raising uidlast in place (an append) is not a rewrite.  A
 * long field (many keywords) is hashed whole, in pieces: hashing only
 * short ones would let a change to a long one pass for no change. */
uint64_t
mb_sig_base_hash(struct mbox *mb)
{
	const struct mbox_base *b = &mb->base;
	uint64_t end = b->field_off + b->field_len, h = MB_HASH_INIT;
	struct timespec ts;

	if (b->kind == MBOX_F_NONE)
		return 0;
	if (b->field_len > MB_BASE_HASH_MAX) {
		clock_gettime(CLOCK_REALTIME, &ts);
		return (uint64_t)ts.tv_sec << 30 ^ (uint64_t)ts.tv_nsec ^ 1;
	}
	if (!b->valid || b->l_off < b->field_off || b->l_off + b->l_len > end)
		return hash_span(mb->fd, h, b->field_off, b->field_len);
	h = hash_span(mb->fd, h, b->field_off, b->l_off - b->field_off);
	return h == 0 ? 0 : hash_span(mb->fd, h, b->l_off + b->l_len,
	    end - (b->l_off + b->l_len));
}

/* uidlast as the file says now (same place, same width); 0 if not
 * digits. */
static uint32_t
base_uidlast_now(struct mbox *mb)
{
	char d[16];
	uint64_t v = 0;

	if (!mb->base.valid || mb->base.l_len == 0 || mb->base.l_len > 10 ||
	    pread(mb->fd, d, mb->base.l_len, (off_t)mb->base.l_off) !=
	    (ssize_t)mb->base.l_len)
		return 0;
	for (uint32_t i = 0; i < mb->base.l_len; i++) {
		if (d[i] < '0' || d[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(d[i] - '0');
	}
	return v < UINT32_MAX ? (uint32_t)v : 0;
}

/*
 * Racy timestamps (as git calls them): a kernel that stamps changes
 * with its coarse clock (a tick of 1-10 ms; whole seconds on file
 * systems that keep no nanoseconds) may give a change made in the tick
 * the view read the file in the same mtime, so size and mtime stay as
 * they were (another session expunging one message and appending one
 * of the same size).  The mtime is then the current tick's value
 * exactly; one the coarse clock has passed, or a fine-grained one
 * (Linux 6.13 multigrain timestamps: a change after a stat() gets a
 * newer one), cannot be repeated.  The caller holds the locks, so
 * nobody changes the file meanwhile: wait for the next tick (a few
 * ms) rather than read the file whole at every later operation; on a
 * whole-second file system, mark the signature racy instead
 * (mb_refresh then reads the file whole).
 */
static int
mtime_is_current(int64_t mtime_ns)
{
	struct timespec now;
	int64_t t;

	if (clock_gettime(CLOCK_REALTIME_COARSE, &now) < 0)
		return 1;
	t = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	if (mtime_ns % 1000000000 == 0)	/* seconds only */
		t -= t % 1000000000;
	return mtime_ns == t;
}

static int
sig_racy(int64_t mtime_ns)
{
	struct timespec ms = { 0, 1000000 };

	if (mtime_ns % 1000000000 == 0)
		return mtime_is_current(mtime_ns);
	for (int i = 0; i < 20 && mtime_is_current(mtime_ns); i++)
		nanosleep(&ms, NULL);
	return mtime_is_current(mtime_ns);
}

void
mb_sig_take(struct mbox *mb)
{
	struct stat st;

	memset(&mb->sig, 0, sizeof(mb->sig));
	if (mb->fd < 0 || fstat(mb->fd, &st) < 0)
		return;
	mb->sig.valid = 1;
	mb->sig.dev = (uint64_t)st.st_dev;
	mb->sig.ino = (uint64_t)st.st_ino;
	mb->sig.size = (uint64_t)st.st_size;
	mb->sig.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
	    st.st_mtim.tv_nsec;
	mb->sig.tailsum = tail_hash(mb->fd, mb->sig.size);
	mb->sig.basesum = mb_sig_base_hash(mb);
	mb->sig.racy = sig_racy(mb->sig.mtime_ns);
}

/* Without reading: is the file (by path) the one the view describes? */
int
mb_sig_same(struct mbox *mb)
{
	struct stat st;

	if (stat(mb->path, &st) < 0)
		return !mb->sig.valid && mb->fd < 0;
	return mb->sig.valid && !mb->sig.racy &&
	    mb->sig.dev == (uint64_t)st.st_dev &&
	    mb->sig.ino == (uint64_t)st.st_ino &&
	    mb->sig.size == (uint64_t)st.st_size &&
	    mb->sig.mtime_ns == (int64_t)st.st_mtim.tv_sec * 1000000000 +
	    st.st_mtim.tv_nsec;
}

/* ---- scanning ---- */

struct scanctx {
	struct mbox *mb;
	struct mb_list *out;
};

static int
on_msg(void *arg, const struct mbox_rec *r, const struct mbox_base *b)
{
	struct scanctx *x = arg;
	struct mbox *mb = x->mb;
	struct store_msg m;

	if (b != NULL) {
		mb->base = *b;
		mb_base_keywords(mb);
	}
	if (r->pseudo) {
		memset(&mb->pseudo, 0, sizeof(mb->pseudo));
		mb->pseudo.from = r->from;
		mb->pseudo.hdr = r->hdr;
		mb->pseudo.end = r->end;
		mb->pseudo.bits = r->from_nl ? MB_FROM_NL : 0;
		mb->has_pseudo = 1;
		return 0;
	}
	if (x->out->n >= STORE_MAX_MSGS)
		return 1;
	memset(&m, 0, sizeof(m));
	m.uid = r->xuid;	/* a candidate until number() checks it */
	m.wire = r->wire;
	m.raw = r->raw;
	m.internal = -1;
	m.u.mb.from = r->from;
	m.u.mb.hdr = r->hdr;
	m.u.mb.end = r->end;
	m.u.mb.xuid_off = r->xuid_off;
	m.u.mb.xuid_len = r->xuid_len;
	m.u.mb.bits = r->from_nl ? MB_FROM_NL : 0;
	mb_msg_flags(mb, r, &m);
	mb_list_push(x->out, &m);
	return 0;
}

/* Read the messages from file offset start (a message's From_ line, or
 * 0: then the first message's X-IMAPbase is read too) to the end. */
static enum store_result
scan(struct mbox *mb, uint64_t start, struct mb_list *out, char *err,
    size_t errlen)
{
	struct scanctx x = { mb, out };
	uint64_t off = start, size;
	unsigned char *buf;
	struct mbox_scan s;
	struct stat st;
	ssize_t n = 0;

	if (fstat(mb->fd, &st) < 0)
		return store_fail(STORE_ETEMP, err, errlen, "%s: %m", mb->path);
	size = (uint64_t)st.st_size;
	if (start == 0) {
		memset(&mb->base, 0, sizeof(mb->base));
		mb->has_pseudo = 0;
	}
	mbox_scan_init(&s, start, start == 0, on_msg, &x);
	buf = xmalloc(STORE_IOBUF);
	/* Up to the size we saw, even if someone ignoring the locks
	 * appends meanwhile. */
	while (off < size && (n = pread(mb->fd, buf, size - off < STORE_IOBUF ?
	    (size_t)(size - off) : STORE_IOBUF, (off_t)off)) > 0 &&
	    mbox_scan_feed(&s, buf, (size_t)n) == 0)
		off += (uint64_t)n;
	free(buf);
	if (n < 0)
		return store_fail(STORE_ETEMP, err, errlen, "reading %s: %m",
		    mb->path);
	if (mbox_scan_end(&s) != 0)
		return store_fail(STORE_EPERM, err, errlen, "%s holds more "
		    "than %u messages", mb->path, STORE_MAX_MSGS);
	return STORE_OK;
}

/* ---- UIDs ---- */

static int
in_view(const struct store *st, uint32_t uid)
{
	unsigned i;

	return store_find_uid(st, uid, &i);
}

/* New UIDs come after every UID given out, also those only the index
 * remembers (the file was emptied since the view read it). */
void
mb_uidlast_floor(struct mbox *mb)
{
	uint32_t ix = mb_index_uidlast(mb);

	if (mb->uidlast < ix)
		mb->uidlast = ix;
}

/*
 * Check the candidate UIDs of l[0..n) (file order, after a message with
 * UID prev) and give the next UID to each that fails.  check: the view
 * exists, so a UID below its UIDNEXT must be one of its messages.
 * -1 when UIDs run out.
 */
static int
number(struct mbox *mb, struct store_msg *l, unsigned n, uint32_t prev,
    int check)
{
	uint32_t limit = mb->base.valid ? mb->base.uidlast : 0;

	/* An X-UID counts up to what the file says was given out, and in a
	 * view also up to what the view gave out; new ones come after
	 * both (and after what the index remembers). */
	if (check && limit < mb->uidlast)
		limit = mb->uidlast;
	if (mb->uidlast < limit)
		mb->uidlast = limit;
	if (check)
		mb_uidlast_floor(mb);
	for (unsigned i = 0; i < n; i++) {
		struct store_msg *m = &l[i];

		if (m->uid > prev && m->uid <= limit && (!check ||
		    m->uid >= mb->st.uidnext || in_view(&mb->st, m->uid))) {
			prev = m->uid;
			continue;
		}
		if (mb->uidlast >= UINT32_MAX - 1)
			return -1;
		m->uid = prev = ++mb->uidlast;
		m->u.mb.bits |= MB_NEWUID;
	}
	return 0;
}

/* At open, out of UIDs: start over under a new UIDVALIDITY. */
static void
renumber_all(struct mbox *mb)
{
	log_msg(LOG_WARNING, "%s: UIDs exhausted; new UIDVALIDITY", mb->path);
	mb->st.uidvalidity = mb->st.uidvalidity + 1 != 0 ?
	    mb->st.uidvalidity + 1 : 1;
	for (unsigned i = 0; i < mb->st.count; i++) {
		mb->st.msgs[i].uid = i + 1;
		mb->st.msgs[i].u.mb.bits |= MB_NEWUID;
	}
	mb->uidlast = mb->st.count;
	mb->base.valid = 0;	/* rewrite X-IMAPbase whole */
}

/* ---- \Recent ---- */

/*
 * A message is new to mail readers while its Status lacks O.  The first
 * read-write IMAP view that sees it claims it: \Recent there, and O is
 * written at once (with its X-UID, in the same rewrite), so no other
 * session sees it as new; this is what Dovecot does.  With an index,
 * recent_uid also keeps a message mutt marked "new" again from being
 * \Recent twice.  Read-only views and POP3 count such messages as
 * \Recent but claim nothing.
 */
static void
mark_recent(struct mbox *mb, struct store_msg *v, unsigned n)
{
	int claim = !mb->st.rdonly && !(mb->flags & STORE_SESSION_LOCK);
	uint32_t floor = 0;

	if (mb->ix != NULL && mb_index_claim_recent(mb, &floor) < 0)
		floor = 0;
	for (unsigned i = 0; i < n; i++) {
		struct store_msg *m = &v[i];

		if ((m->u.mb.bits & MB_OLD) || m->uid < floor)
			continue;
		m->state |= SM_RECENT;
		mb->st.nrecent++;
		if (claim)
			m->u.mb.bits |= MB_SETOLD;
	}
	if (claim && mb->recent_uid <= mb->uidlast) {
		mb->recent_uid = mb->uidlast + 1;
		mb->ix_dirty = 1;
	}
}

/* ---- open ---- */

static void
view_init_modseqs(struct mbox *mb)
{
	uint64_t ms = mb->st.highestmodseq;

	for (unsigned i = 0; i < mb->st.count; i++)
		if (mb->st.msgs[i].modseq == 0)
			mb->st.msgs[i].modseq = ms;
}

static enum store_result
load_locked(struct mbox *mb, char *err, size_t errlen)
{
	struct mb_list l = { 0 };
	enum store_result r;

	if (!mb->st.rdonly) {
		if (mbox_recover(mb->fd, mb->jpath, err, errlen) < 0 ||
		    mb_append_recover(mb, err, errlen) < 0)
			return STORE_ETEMP;
	} else if (access(mb->jpath, F_OK) == 0 ||
	    access(mb->apath, F_OK) == 0) {
		/* A read-only view cannot finish an interrupted change and
		 * must not read the file half-changed. */
		return store_fail(STORE_ETEMP, err, errlen, "%s: an "
		    "interrupted change is pending; a read-write open "
		    "finishes it", mb->path);
	}
	if (mb_index_load(mb) != 1) {
		if ((r = scan(mb, 0, &l, err, errlen)) != STORE_OK) {
			free(l.v);
			return r;
		}
		free(mb->st.msgs);
		mb->st.msgs = l.v;
		mb->st.count = l.n;
		mb->uidlast = 0;
		if (mb->base.valid)
			mb->st.uidvalidity = mb->base.uidvalidity;
		else if (mb_index_base(mb, &mb->st.uidvalidity,
		    &mb->uidlast) < 0)
			mb->st.uidvalidity = (uint32_t)time(NULL);
		mb_uidlast_floor(mb);
		if (number(mb, mb->st.msgs, mb->st.count, 0, 0) < 0)
			renumber_all(mb);
		if (mb->st.highestmodseq == 0)
			mb->st.highestmodseq = mb_next_modseq(mb);
		if (mb->ix != NULL && mb_index_modseq(mb) >
		    mb->st.highestmodseq)
			mb->st.highestmodseq = mb_index_modseq(mb);
		mb->xfloor = mb->st.highestmodseq;
		view_init_modseqs(mb);
		mb->ix_dirty = 1;
		mb_sig_take(mb);
	}
	mark_recent(mb, mb->st.msgs, mb->st.count);
	if (!mb->st.rdonly && mb_needs_write(mb) &&
	    (r = mb_write(mb, NULL, err, errlen)) != STORE_OK)
		return r;
	mb_index_save(mb);
	return STORE_OK;
}

enum store_result
mb_load(struct mbox *mb, char *err, size_t errlen)
{
	enum store_result r;

	if ((r = mb_lock(mb, err, errlen)) != STORE_OK)
		return r;
	if (mb->fd < 0) {
		/* No file (never had mail, or deleted when empty): the
		 * index remembers the UIDs given out. */
		if (mb_index_base(mb, &mb->st.uidvalidity, &mb->uidlast) < 0)
			/* nothing is written until the first append, which
			 * finds the file and keeps the value: every view of
			 * the missing file within the second agrees */
			mb->st.uidvalidity = (uint32_t)time(NULL);
		mb->st.highestmodseq = mb_next_modseq(mb);
		if (mb_index_modseq(mb) > mb->st.highestmodseq)
			mb->st.highestmodseq = mb_index_modseq(mb);
		mb->xfloor = mb->st.highestmodseq;
		mb->st.uidnext = mb->uidlast + 1;
		mb_sig_take(mb);
		return STORE_OK;
	}
	r = load_locked(mb, err, errlen);
	mb->st.uidnext = mb->uidlast + 1;
	mb_unlock(mb);
	return r;
}

/* ---- refresh (under the locks) ---- */

/* Can the file have only grown at the end since the view read it? */
static int
grown_only(struct mbox *mb, const struct stat *st)
{
	uint64_t old = mb->sig.size;
	unsigned char b[5];

	if (!mb->sig.valid || old == 0 || (uint64_t)st->st_dev !=
	    mb->sig.dev || (uint64_t)st->st_ino != mb->sig.ino ||
	    (uint64_t)st->st_size <= old)
		return 0;
	if (tail_hash(mb->fd, old) != mb->sig.tailsum ||
	    mb_sig_base_hash(mb) != mb->sig.basesum)
		return 0;
	if (mb->base.valid) {	/* raised in place by another session */
		uint32_t last = base_uidlast_now(mb);

		if (last < mb->base.uidlast)
			return 0;
		mb->base.uidlast = last;
	}
	if (old < 2 || pread(mb->fd, b, 2, (off_t)(old - 2)) != 2 ||
	    b[0] != '\n' || b[1] != '\n')
		return 0;	/* no separator: the framing may change */
	return pread(mb->fd, b, 5, (off_t)old) == 5 &&
	    memcmp(b, "From ", 5) == 0;
}

/* Merge a scan of the file from view message k on (all if k is 0) into
 * the view: match by UID, update offsets and flags, queue new ones. */
static void
merge(struct mbox *mb, unsigned k, struct mb_list *l)
{
	struct store *st = &mb->st;
	unsigned j = 0;

	for (unsigned i = k; i < st->count; i++) {
		struct store_msg *m = &st->msgs[i], *f;
		unsigned fl;
		kwset_t kw;

		while (j < l->n && l->v[j].uid < m->uid)
			mb_list_push(&mb->extra, &l->v[j++]);
		if (j == l->n || l->v[j].uid != m->uid) {
			m->u.mb.bits |= MB_VANISHED;
			mb->unreported = 1;
			continue;
		}
		f = &l->v[j++];
		fl = f->flags, kw = f->kw;
		if (m->u.mb.pend) {
			struct mb_pend *p = &mb->pend[m->u.mb.pend - 1];

			fl = (fl & ~p->rem) | p->add;
			kw = (kw & ~p->krem) | p->kadd;
		}
		if (fl != m->flags || kw != m->kw) {
			m->flags = (uint8_t)fl;
			m->kw = kw;
			m->modseq = mb_next_modseq(mb);
			m->u.mb.bits |= MB_CHANGED;
			mb->unreported = 1;
		}
		m->u.mb.from = f->u.mb.from;
		m->u.mb.hdr = f->u.mb.hdr;
		m->u.mb.end = f->u.mb.end;
		m->u.mb.xuid_off = f->u.mb.xuid_off;
		m->u.mb.xuid_len = f->u.mb.xuid_len;
		m->u.mb.bits = (m->u.mb.bits & (MB_CHANGED | MB_SETOLD)) |
		    (f->u.mb.bits & ~(MB_CHANGED | MB_SETOLD));
		m->u.mb.bits &= (uint8_t)~MB_VANISHED;
		m->wire = f->wire;
		m->raw = f->raw;
	}
	while (j < l->n)
		mb_list_push(&mb->extra, &l->v[j++]);
}

/* The last view message before k that is still in the file: its UID. */
static uint32_t
uid_before(struct mbox *mb, unsigned k)
{
	while (k > 0 && (mb->st.msgs[k - 1].u.mb.bits & MB_VANISHED))
		k--;
	return k > 0 ? mb->st.msgs[k - 1].uid : 0;
}

enum store_result
mb_rescan_from(struct mbox *mb, unsigned k, char *err, size_t errlen)
{
	struct mb_list l = { 0 };
	enum store_result r;
	uint64_t start = 0;

	while (k > 0 && (mb->st.msgs[k].u.mb.bits & MB_VANISHED))
		k--;
	if (k >= mb->st.count || (k > 0 && mb->has_pseudo))
		k = 0;
	if (k > 0)
		start = mb->st.msgs[k].u.mb.from;
	mb->extra.n = 0;
	if (mb->fd < 0) {
		merge(mb, 0, &l);
		memset(&mb->base, 0, sizeof(mb->base));
		mb_sig_take(mb);
		return STORE_OK;
	}
	if ((r = scan(mb, start, &l, err, errlen)) != STORE_OK) {
		free(l.v);
		return r;
	}
	if (number(mb, l.v, l.n, uid_before(mb, k), 1) < 0) {
		free(l.v);
		return store_fail(STORE_EFULL, err, errlen, "%s: out of "
		    "UIDs", mb->path);
	}
	merge(mb, k, &l);
	free(l.v);
	mb_sig_take(mb);
	mb_index_adopt_modseqs(mb);
	mb->ix_dirty = 1;
	return STORE_OK;
}

/* The UID an "X-UID: n" field in b[0..n) gives, or 0. */
static uint32_t
xuid_value(const char *b, size_t n)
{
	uint64_t v = 0;
	size_t k = 6;

	if (n < 6 || strncasecmp(b, "X-UID:", 6) != 0)
		return 0;
	while (k < n && (b[k] == ' ' || b[k] == '\t'))
		k++;
	while (k < n && b[k] >= '0' && b[k] <= '9' && v <= UINT32_MAX)
		v = v * 10 + (uint64_t)(b[k++] - '0');
	return v <= UINT32_MAX ? (uint32_t)v : 0;
}

/* A view filled from the index does not know where the X-UID field
 * is: find it in the first MB_XUID_LOOK bytes of the header and
 * remember it.  0 if it is not there. */
#define MB_XUID_LOOK 4096
static int
find_xuid(struct mbox *mb, struct store_msg *m)
{
	char *b = xmalloc(MB_XUID_LOOK + 1);
	uint64_t n = m->u.mb.end - m->u.mb.hdr;
	ssize_t r;
	int found = 0;

	if (n > MB_XUID_LOOK)
		n = MB_XUID_LOOK;
	r = pread(mb->fd, b, (size_t)n, (off_t)m->u.mb.hdr);
	for (ssize_t k = 0; r > 0 && k < r && b[k] != '\n'; ) {
		char *e = memchr(b + k, '\n', (size_t)(r - k));

		if (e == NULL)
			break;
		if (e - (b + k) >= 6 && strncasecmp(b + k, "X-UID:", 6) == 0) {
			m->u.mb.xuid_off = m->u.mb.hdr + (uint64_t)k;
			m->u.mb.xuid_len = (uint32_t)(e + 1 - (b + k));
			found = 1;
			break;
		}
		k = e + 1 - b;
	}
	free(b);
	return found;
}

/* Does the file still hold view message i where the view says: a From_
 * line at its offset, and its X-UID (when the file has it) there? */
static int
still_there(struct mbox *mb, unsigned i)
{
	struct store_msg *m = &mb->st.msgs[i];
	char b[64];
	size_t n;

	if (pread(mb->fd, b, 5, (off_t)m->u.mb.from) != 5 ||
	    memcmp(b, "From ", 5) != 0)
		return 0;
	if (m->u.mb.bits & MB_NEWUID)
		return 1;	/* no X-UID in the file yet */
	if (m->u.mb.xuid_len == 0 && !find_xuid(mb, m))
		/* Every UID of a read-write view is in the file; a
		 * read-only one may number a message in memory. */
		return mb->st.rdonly || m->u.mb.end - m->u.mb.hdr >
		    MB_XUID_LOOK;
	n = m->u.mb.xuid_len;
	return n < sizeof(b) && pread(mb->fd, b, n, (off_t)m->u.mb.xuid_off) ==
	    (ssize_t)n && xuid_value(b, n) == m->uid;
}

/*
 * Under the locks, after mb_refresh: is view message i still where the
 * view's offsets say?  The signature cannot see every change (a
 * same-size rewrite within the file system's timestamp granularity), so
 * before a message's bytes are used its position is checked, and on a
 * mismatch the file is read whole again (the view's numbering stays;
 * the next store_sync reports what changed).  STORE_ENOENT if the
 * message is no longer in the file.
 */
enum store_result
mb_locate(struct mbox *mb, unsigned i)
{
	if (mb->fd < 0 || (mb->st.msgs[i].u.mb.bits & MB_VANISHED))
		return STORE_ENOENT;
	if (still_there(mb, i))
		return STORE_OK;
	if (mb_rescan_from(mb, 0, NULL, 0) != STORE_OK)
		return STORE_ETEMP;
	if (mb->st.msgs[i].u.mb.bits & MB_VANISHED)
		return STORE_ENOENT;
	return still_there(mb, i) ? STORE_OK : STORE_ETEMP;
}

static enum store_result
refresh(struct mbox *mb, char *err, size_t errlen)
{
	struct mb_list l = { 0 };
	enum store_result r;
	struct stat st;
	uint32_t prev;

	if (mb->ix != NULL && mb_index_modseq(mb) > mb->st.highestmodseq)
		mb->st.highestmodseq = mb_index_modseq(mb);
	if (mb->fd < 0) {
		if (!mb->sig.valid)
			return STORE_OK;
		return mb_rescan_from(mb, 0, err, errlen);
	}
	if (fstat(mb->fd, &st) < 0)
		return store_fail(STORE_ETEMP, err, errlen, "%s: %m", mb->path);
	if (mb->sig.valid && !mb->sig.racy &&
	    (uint64_t)st.st_dev == mb->sig.dev &&
	    (uint64_t)st.st_ino == mb->sig.ino &&
	    (uint64_t)st.st_size == mb->sig.size &&
	    (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec ==
	    mb->sig.mtime_ns)
		return STORE_OK;
	mb->ix_dirty = 1;
	if (!grown_only(mb, &st))
		return mb_rescan_from(mb, 0, err, errlen);
	if ((r = scan(mb, mb->sig.size, &l, err, errlen)) != STORE_OK) {
		free(l.v);
		return r;
	}
	prev = mb->extra.n > 0 ? mb->extra.v[mb->extra.n - 1].uid :
	    uid_before(mb, mb->st.count);
	if (number(mb, l.v, l.n, prev, 1) < 0) {
		free(l.v);
		return store_fail(STORE_EFULL, err, errlen, "%s: out of "
		    "UIDs", mb->path);
	}
	for (unsigned j = 0; j < l.n; j++)
		mb_list_push(&mb->extra, &l.v[j]);
	free(l.v);
	mb_sig_take(mb);
	return STORE_OK;
}

/*
 * A view of an empty mbox took the time as its UIDVALIDITY without
 * writing it: there is no message to keep X-IMAPbase in.  Once another
 * session has written one, that is the folder's value; a view that holds
 * no message yet takes it, as none of its UIDs can disagree (two sessions
 * that opened the empty file in different seconds would otherwise each
 * refuse the other's mail as "UIDVALIDITY changed").
 */
enum store_result
mb_refresh(struct mbox *mb, char *err, size_t errlen)
{
	enum store_result r = refresh(mb, err, errlen);

	if (r == STORE_OK && mb->base.valid && mb->st.count == 0 &&
	    mb->base.uidvalidity != mb->st.uidvalidity)
		mb->st.uidvalidity = mb->base.uidvalidity;
	return r;
}

/* ---- store_sync ---- */

/* Has the file's UIDVALIDITY changed under a view with messages? */
static int
validity_lost(struct mbox *mb)
{
	if (mb->st.count == 0)
		return 0;
	if (mb->fd < 0)
		return 0;	/* deleted: every message was expunged */
	return mb->base.valid && mb->base.uidvalidity != mb->st.uidvalidity;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The UIDs of the view's vanished messages that the shared expunge log
 * already holds (sorted, malloc'd, or NULL): a postern session that
 * expunged them logged them under its modseq, and logging them again
 * under a later one would make a view that has seen that expunge
 * report it again (store_expunged_since at its HIGHESTMODSEQ, RFC 7162
 * 3.2.5.2).  An expunge is logged after the message's last change, so
 * the log is read from the oldest such modseq on.
 */
static uint32_t *
already_logged(struct mbox *mb, size_t *n)
{
	uint64_t since = UINT64_MAX;
	uint32_t *uids = NULL;

	*n = 0;
	if (mb->ix == NULL)
		return NULL;
	for (unsigned i = 0; i < mb->st.count; i++)
		if ((mb->st.msgs[i].u.mb.bits & MB_VANISHED) &&
		    mb->st.msgs[i].modseq < since)
			since = mb->st.msgs[i].modseq;
	if (since == UINT64_MAX)
		return NULL;
	if (mb_index_xlog_since(mb, since > 0 ? since - 1 : 0, &uids, n) !=
	    STORE_OK) {
		*n = 0;
		return NULL;
	}
	return uids;		/* ascending (index.h) */
}

static void
report(struct mbox *mb, int flags, struct store_changes *ch)
{
	struct store *st = &mb->st;
	unsigned o = 0, removed = 0;
	uint64_t ms = 0;
	size_t nlogged = 0;
	uint32_t *logged = (flags & STORE_SYNC_KEEP_EXPUNGED) ? NULL :
	    already_logged(mb, &nlogged);

	mb->kept_gone = 0;
	mb->unreported = 0;
	for (unsigned i = 0; i < st->count; i++) {
		struct store_msg *m = &st->msgs[i];

		if (m->u.mb.bits & MB_VANISHED) {
			if (flags & STORE_SYNC_KEEP_EXPUNGED) {
				m->state |= SM_GONE;
				mb->kept_gone = 1;
			} else {
				if (logged == NULL || bsearch(&m->uid, logged,
				    nlogged, sizeof(*logged), cmp_u32) == NULL) {
					if (ms == 0)
						ms = mb_next_modseq(mb);
					mb_xlog_add(mb, m->uid, ms);
				}
				store_changes_push(&ch->expunged,
				    &ch->nexpunged, i + 1 - removed);
				removed++;
				if (m->state & SM_RECENT)
					st->nrecent--;
				continue;
			}
		}
		st->msgs[o++] = *m;
	}
	free(logged);
	st->count = o;
	for (unsigned i = 0; i < st->count; i++)
		if (st->msgs[i].u.mb.bits & MB_CHANGED) {
			st->msgs[i].u.mb.bits &= (uint8_t)~MB_CHANGED;
			store_changes_push(&ch->changed, &ch->nchanged, i);
		}
}

/* Messages waiting in extra join the view (with KEEP_EXPUNGED only if
 * nothing is pending removal: new ones go after the gone ones anyway). */
static void
add_extra(struct mbox *mb, struct store_changes *ch)
{
	struct store *st = &mb->st;
	unsigned first = st->count;

	if (mb->extra.n == 0)
		return;
	st->msgs = xreallocarray(st->msgs, st->count + mb->extra.n,
	    sizeof(*st->msgs));
	for (unsigned j = 0; j < mb->extra.n; j++) {
		struct store_msg *m = &st->msgs[st->count++];

		*m = mb->extra.v[j];
		m->modseq = mb_next_modseq(mb);
		m->u.mb.pend = 0;
	}
	mb->extra.n = 0;
	mark_recent(mb, st->msgs + first, st->count - first);
	ch->added = st->count - first;
}

static void
drain(struct mbox *mb)
{
	char buf[4096];

	if (mb->nfd >= 0)
		while (read(mb->nfd, buf, sizeof(buf)) > 0)
			;
}

enum store_result
mb_sync(struct store *st, int flags, struct store_changes *ch, char *err,
    size_t errlen)
{
	struct mbox *mb = (struct mbox *)st;
	enum store_result r;
	unsigned nkw = st->kw.n;
	uint64_t ino = mb->sig.ino;

	drain(mb);
	if (mb->npend == 0 && mb->extra.n == 0 && !mb->kept_gone &&
	    !mb->unreported && mb_sig_same(mb))
		return STORE_OK;
	if ((r = mb_lock(mb, err, errlen)) != STORE_OK)
		return r;
	r = mb_refresh(mb, err, errlen);
	if (r == STORE_OK && validity_lost(mb))
		r = store_fail(STORE_EVALIDITY, err, errlen, "%s: "
		    "UIDVALIDITY changed", mb->path);
	if (r == STORE_OK) {
		report(mb, flags, ch);
		add_extra(mb, ch);
		if (!st->rdonly && mb_needs_write(mb))
			r = mb_write(mb, NULL, err, errlen);
	}
	if (r == STORE_OK)
		mb_index_save(mb);
	/* Our own lock files, writes and index wake the fd too; anyone
	 * else's change before this point is in the view already (read
	 * under the locks we still hold), so what they signalled is
	 * done. */
	drain(mb);
	mb_unlock(mb);
	if (mb->nfd >= 0 && mb->sig.ino != ino)	/* replaced: watch it */
		(void)inotify_add_watch(mb->nfd, mb->path, IN_MODIFY |
		    IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF);
	st->uidnext = mb->uidlast + 1;
	ch->keywords_added = st->kw.n != nkw;
	return r;
}

/* ---- notify ---- */

int
mb_notify_fd(struct store *st)
{
	struct mbox *mb = (struct mbox *)st;
	char *dir;

	if (mb->nfd >= 0)
		return mb->nfd;
	if ((mb->nfd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
		return -1;
	/* The file itself (delivery, rewrite, replacement), and its
	 * directory for a file created or renamed into place. */
	(void)inotify_add_watch(mb->nfd, mb->path, IN_MODIFY | IN_ATTRIB |
	    IN_MOVE_SELF | IN_DELETE_SELF);
	dir = xstrdup(mb->path);
	*strrchr(dir, '/') = '\0';
	if (inotify_add_watch(mb->nfd, *dir ? dir : "/", IN_CREATE |
	    IN_MOVED_TO) < 0) {
		close(mb->nfd);
		mb->nfd = -1;
	}
	free(dir);
	return mb->nfd;
}

void
mb_notify_close(struct mbox *mb)
{
	if (mb->nfd >= 0)
		close(mb->nfd);
	mb->nfd = -1;
}
