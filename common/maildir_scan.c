/*
 * maildir_scan.c - build the view from the index and the directories,
 * and bring it up to date (store open and store_sync).
 *
 * The rule that keeps this cheap: a file can only enter or leave cur/
 * or new/ by changing that directory's mtime.  The index records, in
 * its validity, the mtimes of cur/ and new/ as seen before the readdir
 * its content came from (0 when the mtime was too fresh to trust, see
 * MD_MTIME_SETTLE_SECS).  A directory whose mtime still matches is
 * taken from the index records; only the others are read again.  So an
 * unchanged folder opens with no readdir and no per-message system
 * call, and a new message costs one readdir of new/.
 *
 * Everything that may assign UIDs happens under postern-uidlist.lock,
 * with the readdir inside the lock (as Dovecot does): whoever lists a
 * file first gives it its UID, and anyone listing later finds it in
 * the list, so UIDs always grow in the order sessions learn of them.
 *
 * The steps, each O(n log n) at worst over memory: list (or take from
 * the index) what is present, sorted by unique name; join it with the
 * index records by name; names not in the index get UIDs from the list
 * or new ones; records whose file is gone are tombstoned; then the
 * result, sorted by UID, is merged into the view, which reports what
 * changed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mdflags.h"
#include "store_int.h"
#include "maildir_int.h"
#include "uidlist.h"
#include "util.h"

struct mlist {
	struct store_msg *m;
	size_t n, cap;
};

static struct store_msg *
mlist_push(struct mlist *l)
{
	struct store_msg *m;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->m = xreallocarray(l->m, l->cap, sizeof(*l->m));
	}
	m = &l->m[l->n++];
	memset(m, 0, sizeof(*m));
	m->internal = m->wire = m->raw = -1;
	m->u.md.pos = MD_NOPOS;
	return m;
}

static void
mlist_free(struct mlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		md_msg_free(&l->m[i]);
	free(l->m);
	memset(l, 0, sizeof(*l));
}

int
md_is_message(int dirfd, const char *name, unsigned char d_type)
{
	struct stat st;

	/* Dot files, and names the UID list could not hold (so their UIDs
	 * could not be kept). */
	if (!uidlist_name_ok(name, strcspn(name, ":")) ||
	    strchr(name, '\n') != NULL || strlen(name) > NAME_MAX)
		return 0;
	if (d_type == DT_REG)
		return 1;
	if (d_type != DT_UNKNOWN)
		return 0;
	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode);
}

static DIR *
open_dir(struct maildir *md, int sub)
{
	int fd = openat(md->sub[sub], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;

	if (fd < 0)
		return NULL;
	if ((d = fdopendir(fd)) == NULL)
		close(fd);
	return d;
}

/* W= if present and consistent with S=: LF to CRLF never shrinks and
 * at most doubles, plus one final CRLF. */
static int64_t
wire_from_name(const char *uniq)
{
	int64_t w = md_name_field(uniq, 'W'), s = md_name_field(uniq, 'S');

	if (w >= 0 && s >= 0 && (w < s || w > 2 * s + 2))
		return -1;
	return w;
}

static void
from_name(struct store_msg *m, const char *fn, int sub)
{
	char other[MD_OTHER_MAX];
	unsigned flags;

	md_msg_setname(m, fn);
	(void)md_info_parse(fn, &flags, &m->kw, other);
	m->flags = (uint8_t)flags;
	m->u.md.sub = (uint8_t)sub;
	m->wire = wire_from_name(m->u.md.uniq);
}

static enum store_result
list_dir(struct maildir *md, int sub, struct mlist *l, char *err,
    size_t errlen)
{
	DIR *d = open_dir(md, sub);
	struct dirent *de;

	if (d == NULL)
		return store_fail(md_errno(), err, errlen, "%s/%s: %m",
		    md->path, md_subdir[sub]);
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (!md_is_message(md->sub[sub], de->d_name, de->d_type))
			continue;
		if (l->n >= STORE_MAX_MSGS) {
			closedir(d);
			return store_fail(STORE_EPERM, err, errlen, "%s holds "
			    "more than %u messages", md->path, STORE_MAX_MSGS);
		}
		from_name(mlist_push(l), de->d_name, sub);
	}
	if (errno != 0) {
		closedir(d);
		return store_fail(STORE_ETEMP, err, errlen, "reading %s/%s: %m",
		    md->path, md_subdir[sub]);
	}
	closedir(d);
	return STORE_OK;
}

int
md_relocate(struct maildir *md, struct store_msg *m)
{
	const char *u = m->u.md.uniq;
	size_t n = m->u.md.ulen;

	for (int sub = 0; sub < 2; sub++) {
		DIR *d = open_dir(md, sub);
		struct dirent *de;

		while (d != NULL && (de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, u, n) != 0 ||
			    (de->d_name[n] != ':' && de->d_name[n] != '\0') ||
			    !md_is_message(md->sub[sub], de->d_name,
			    de->d_type))
				continue;
			md_msg_setname(m, de->d_name);
			m->u.md.sub = (uint8_t)sub;
			closedir(d);
			return 0;
		}
		if (d != NULL)
			closedir(d);
	}
	errno = ENOENT;
	return -1;
}

static int
cmp_name(const void *a, const void *b)
{
	const struct store_msg *x = a, *y = b;
	int c = strcmp(x->u.md.uniq, y->u.md.uniq);

	/* cur/ before new/: of two files with one unique name, the one
	 * in cur/ is kept (it has been seen already). */
	return c ? c : (int)x->u.md.sub - (int)y->u.md.sub;
}

static int
cmp_uid(const void *a, const void *b)
{
	const struct store_msg *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* Sorted by name: keep one file per unique name.  The other stays on
 * disk untouched (its content is never lost); it is only logged. */
static void
dedup_names(struct maildir *md, struct mlist *p)
{
	size_t o = 0;

	if (p->n > 1)
		qsort(p->m, p->n, sizeof(*p->m), cmp_name);
	for (size_t i = 0; i < p->n; i++) {
		if (o > 0 && strcmp(p->m[o - 1].u.md.uniq,
		    p->m[i].u.md.uniq) == 0) {
			log_msg(LOG_WARNING, "%s: two files named %s; ignoring "
			    "the one in %s/", md->path, p->m[i].u.md.uniq,
			    md_subdir[p->m[i].u.md.sub]);
			md_msg_free(&p->m[i]);
			continue;
		}
		p->m[o++] = p->m[i];
	}
	p->n = o;
}

/* The records of r that live in sub, copied into p. */
static void
take_records(struct mlist *r, int sub, struct mlist *p)
{
	char fn[NAME_MAX + 1];

	for (size_t i = 0; i < r->n; i++) {
		struct store_msg *m;

		if (r->m[i].u.md.sub != sub)
			continue;
		m = mlist_push(p);
		*m = r->m[i];
		m->u.md.uniq = NULL;
		md_msg_setname(m, md_msg_file(&r->m[i], fn, sizeof(fn)));
	}
}

/* State of one refresh. */
struct refresh {
	struct timespec mt[2];	/* before the readdir */
	int need[2];		/* directories to read */
	int usable;		/* the index was read */
	uint64_t modseq;	/* highest so far */
	struct mlist r;		/* index records (or the old view) */
	struct mlist p;		/* present now */
	uint32_t *gone;		/* UIDs of records whose file left */
	size_t ngone;
	int fresh;		/* messages that got UIDs now */
};

/*
 * Join p (sorted by name) with r: a present file takes its record's
 * UID and what the index caches; when its name says other flags than
 * the record (mutt, another server), it gets a new modseq.  Records
 * with no file are gone.
 */
static void
join(struct refresh *f)
{
	size_t i = 0, j = 0;

	if (f->r.n > 1)
		qsort(f->r.m, f->r.n, sizeof(*f->r.m), cmp_name);
	while (i < f->p.n || j < f->r.n) {
		int c = i >= f->p.n ? 1 : j >= f->r.n ? -1 :
		    strcmp(f->p.m[i].u.md.uniq, f->r.m[j].u.md.uniq);
		struct store_msg *p = i < f->p.n ? &f->p.m[i] : NULL;
		struct store_msg *r = j < f->r.n ? &f->r.m[j] : NULL;

		if (c < 0) {
			i++;		/* new: no UID yet */
			continue;
		}
		if (c > 0) {
			f->gone = xreallocarray(f->gone, f->ngone + 1,
			    sizeof(*f->gone));
			f->gone[f->ngone++] = r->uid;
			j++;
			continue;
		}
		p->uid = r->uid;
		p->u.md.pos = r->u.md.pos;
		p->internal = r->internal;
		p->raw = r->raw;
		if (p->wire < 0)
			p->wire = r->wire;
		if (p->flags != r->flags || p->kw != r->kw) {
			p->modseq = ++f->modseq;
			p->u.md.dirty = 1;
		} else {
			p->modseq = r->modseq;
			p->u.md.dirty = p->u.md.sub != r->u.md.sub;
		}
		i++, j++;
	}
}

/* The index (or, without one, the view we have) and the directories. */
static enum store_result
gather(struct maildir *md, struct refresh *f, char *err, size_t errlen)
{
	enum store_result r;

	f->usable = md_ix_usable(md, f->mt, f->need);
	if (f->usable && md_ix_read(md, &f->r.m, &f->r.n) < 0)
		f->usable = 0;
	if (!f->usable) {
		md->ix_max = 0;
		f->need[0] = f->need[1] = 1;
		if ((r = md_uids_load(md, NULL, err, errlen)) != STORE_OK)
			return r;
		/* Keep what the view knew (modseqs, sizes) when the index
		 * is lost under us, or when there is none at all. */
		for (unsigned i = 0; i < md->st.count; i++) {
			struct store_msg *m;
			char fn[NAME_MAX + 1];

			if (md->st.msgs[i].state & SM_GONE)
				continue;
			m = mlist_push(&f->r);
			*m = md->st.msgs[i];
			m->u.md.uniq = NULL;
			m->state = 0;
			md_msg_setname(m, md_msg_file(&md->st.msgs[i], fn,
			    sizeof(fn)));
		}
		f->modseq = md->st.highestmodseq > index_fresh_modseq() ?
		    md->st.highestmodseq : index_fresh_modseq();
	} else {
		const struct index_hdr *h = index_header(md->ix);

		f->modseq = h->highestmodseq;
		md->st.uidvalidity = h->uidvalidity;
		if (h->uidnext > md->st.uidnext)
			md->st.uidnext = h->uidnext;
	}
	for (int sub = 0; sub < 2; sub++) {
		if (!f->need[sub])
			take_records(&f->r, sub, &f->p);
		else if ((r = list_dir(md, sub, &f->p, err, errlen)) !=
		    STORE_OK)
			return r;
	}
	dedup_names(md, &f->p);
	return STORE_OK;
}

/* New files: UIDs from the list or new ones, a modseq each. */
static enum store_result
number(struct maildir *md, struct refresh *f, char *err, size_t errlen)
{
	enum store_result r;
	size_t unknown = 0;

	for (size_t i = 0; i < f->p.n; i++)
		unknown += f->p.m[i].uid == 0;
	if (unknown == 0)
		return STORE_OK;
	if ((r = md_uids_assign(md, f->p.m, f->p.n, err, errlen)) != STORE_OK)
		return r;
	for (size_t i = 0; i < f->p.n; i++) {
		if (f->p.m[i].modseq == 0) {
			f->p.m[i].modseq = ++f->modseq;
			f->fresh++;
		}
	}
	return STORE_OK;
}

/* A new index's recent_uid: what new/ held was unseen (Courier's
 * meaning of new/); a claiming session has just seen everything. */
static uint32_t
rebuilt_recent(const struct maildir *md, const struct refresh *f)
{
	uint32_t lo = 0, hi = 0;

	for (size_t i = 0; i < f->p.n; i++) {
		const struct store_msg *m = &f->p.m[i];

		if (m->uid >= hi)
			hi = m->uid + 1;
		if (!md->claim && (m->state & SM_RECENT) &&
		    (lo == 0 || m->uid < lo))
			lo = m->uid;
	}
	return lo != 0 ? lo : hi;
}

/*
 * \Recent (RFC 3501 2.3.2): UIDs at or above the index's recent_uid
 * have been seen by no read-write session yet.  We claim them: \Recent
 * in our view only, recent_uid raised past them, and (as Dovecot does)
 * the files move from new/ to cur/.  Without an index, a file in new/
 * is what is recent.  Read-only views and POP3 only look.
 */
static uint32_t
recent(struct maildir *md, struct refresh *f)
{
	uint32_t from = f->usable ? index_header(md->ix)->recent_uid :
	    md->recent_uid, next = from;

	for (size_t i = 0; i < f->p.n; i++) {
		struct store_msg *m = &f->p.m[i];

		if (f->usable ? m->uid < from : m->u.md.sub != MD_NEW)
			continue;
		if (md->known_max > 0 && m->uid <= md->known_max)
			continue;	/* ours already; flags kept by merge */
		m->state |= SM_RECENT;
		if (!md->claim)
			continue;
		if (m->uid >= next)
			next = m->uid + 1;
		if (m->u.md.sub == MD_NEW && md_move_to_cur(md, m) == 0)
			m->u.md.dirty = 1;
	}
	return f->usable ? next : rebuilt_recent(md, f);
}

/* Write what changed to the index, or build a new one. */
static void
store_index(struct maildir *md, struct refresh *f, uint32_t recent_uid)
{
	struct index_hdr h;

	if (!f->usable || md->want_rewrite) {
		md->st.highestmodseq = f->modseq;
		md->recent_uid = recent_uid;
		md_ix_rewrite(md, f->p.m, f->p.n, f->mt);
		md->want_rewrite = 0;
		return;
	}
	for (size_t i = 0; i < f->p.n; i++)
		if (f->p.m[i].u.md.dirty && f->p.m[i].u.md.pos != MD_NOPOS)
			md_ix_put(md, &f->p.m[i],
			    MD_PUT_CACHE | MD_PUT_STATE);
	if (f->ngone > 0) {
		uint64_t ms = ++f->modseq;

		for (size_t i = 0; i < f->ngone; i++) {
			uint32_t pos;
			struct index_rec rec;

			if (md_ix_find(md, f->gone[i], &pos, &rec) == 0) {
				rec.state |= IREC_EXPUNGED;
				index_put_rec(md->ix, pos, &rec);
			}
		}
		index_xlog_append(md->ix, ms, f->gone, f->ngone);
	}
	/* The validity written below vouches for every message we saw: if
	 * one did not fit, a rewrite must hold them all, or the next open
	 * would trust an index that lacks them. */
	if (md_ix_append(md, f->p.m, f->p.n) != 0) {
		md->st.highestmodseq = f->modseq;
		md->recent_uid = recent_uid;
		md_ix_rewrite(md, f->p.m, f->p.n, f->mt);
		md->want_rewrite = 0;
		return;
	}
	h = *index_header(md->ix);
	h.highestmodseq = f->modseq;
	h.recent_uid = recent_uid;
	h.uidnext = md->st.uidnext;
	md_ix_validity(md, f->mt, &h);
	index_put_hdr(md->ix, &h);
}

/* One changed index in the view (ascending, so a push at the end). */
static void
note_changed(struct store_changes *ch, unsigned i)
{
	if (ch->nchanged == 0 || ch->changed[ch->nchanged - 1] != i)
		store_changes_push(&ch->changed, &ch->nchanged, i);
}

/*
 * Merge p (sorted by UID) into the view.  Messages only in the view
 * left: reported as expunged (the sequence number each has once the
 * ones before it are gone), or kept as gone when asked.  Messages in
 * both take p's state; a modseq that differs from the view's is someone
 * else's change (ours are in the view already).  Messages only in p
 * join at the end.
 */
static void
merge(struct maildir *md, struct refresh *f, int syncflags,
    struct store_changes *ch)
{
	struct store *st = &md->st;
	struct mlist n = { 0 };
	size_t i = 0, j = 0;

	while (i < st->count || j < f->p.n) {
		struct store_msg *v = i < st->count ? &st->msgs[i] : NULL;
		struct store_msg *p = j < f->p.n ? &f->p.m[j] : NULL;
		struct store_msg *o;

		if (p == NULL || (v != NULL && v->uid < p->uid)) {
			if ((syncflags & STORE_SYNC_KEEP_EXPUNGED) &&
			    v->state & SM_GONE) {
				*mlist_push(&n) = *v;
			} else if (syncflags & STORE_SYNC_KEEP_EXPUNGED) {
				v->state |= SM_GONE;
				v->u.md.pos = MD_NOPOS;
				*mlist_push(&n) = *v;
			} else {
				store_changes_push(&ch->expunged,
				    &ch->nexpunged, (unsigned)n.n + 1);
				md_msg_free(v);
			}
			i++;
			continue;
		}
		o = mlist_push(&n);
		*o = *p;
		p->u.md.uniq = NULL;
		if (v != NULL && v->uid == p->uid) {
			o->state = (p->state | v->state) & SM_RECENT;
			o->u.md.dirty |= v->u.md.dirty;
			if (o->internal < 0)
				o->internal = v->internal;
			if (o->wire < 0)
				o->wire = v->wire;
			if (o->raw < 0)
				o->raw = v->raw;
			if (o->modseq != v->modseq || o->flags != v->flags ||
			    o->kw != v->kw)
				note_changed(ch, (unsigned)n.n - 1);
			md_msg_free(v);
			i++;
		} else {
			ch->added++;
		}
		j++;
	}
	free(st->msgs);
	/* the view lives as long as the session: no doubling slack
	 * (the memory target is per message) */
	if (n.cap > n.n + n.n / 16 + 64)
		n.m = xreallocarray(n.m, n.n ? n.n : 1, sizeof(*n.m));
	st->msgs = n.m;
	st->count = (unsigned)n.n;
	free(f->p.m);
	f->p.m = NULL;
	f->p.n = f->p.cap = 0;
}

static void
finish(struct maildir *md, struct refresh *f)
{
	struct store *st = &md->st;
	struct timespec now;

	st->nrecent = 0;
	for (unsigned i = 0; i < st->count; i++) {
		st->nrecent += (st->msgs[i].state & SM_RECENT) != 0;
		if (st->msgs[i].uid > md->known_max)
			md->known_max = st->msgs[i].uid;
	}
	if (f->modseq > st->highestmodseq)
		st->highestmodseq = f->modseq;
	if (st->uidnext <= md->known_max)
		st->uidnext = md->known_max + 1;
	/* A directory changed within the same timestamp tick as our
	 * readdir may change again without a new mtime: until its mtime
	 * has settled, the next sync reads it again. */
	clock_gettime(CLOCK_REALTIME, &now);
	for (int s = 0; s < 2; s++) {
		md->seen[s] = f->mt[s];
		if (now.tv_sec - f->mt[s].tv_sec < MD_MTIME_SETTLE_SECS)
			memset(&md->seen[s], 0, sizeof(md->seen[s]));
	}
}

static void
refresh_free(struct refresh *f)
{
	mlist_free(&f->r);
	mlist_free(&f->p);
	free(f->gone);
}

/* Sorted by UID, for the merge; a view's own sizes and dates learned
 * meanwhile are carried over by merge(). */
static void
by_uid(struct mlist *p)
{
	if (p->n > 1)
		qsort(p->m, p->n, sizeof(*p->m), cmp_uid);
}

/* The view from f->p (sorted by UID), and what changed. */
static void
apply_view(struct maildir *md, struct refresh *f, int syncflags,
    struct store_changes *ch)
{
	merge(md, f, syncflags, ch);
	finish(md, f);
}

/*
 * Without the lock: the index is current for both directories and we
 * have nothing to claim or write.  Records are read whole and checked
 * (CRC), so a concurrent in-place change makes this fail, never lie;
 * then the locked path runs.  1 done, 0 take the lock.
 */
static int
fast(struct maildir *md, struct refresh *f, int syncflags,
    struct store_changes *ch)
{
	uint32_t uv = md->st.uidvalidity;

	if (md->want_rewrite || !md_ix_usable(md, f->mt, f->need) ||
	    f->need[0] || f->need[1] ||
	    (uv != 0 && index_header(md->ix)->uidvalidity != uv) ||
	    md_ix_read(md, &f->p.m, &f->p.n) < 0)
		return 0;
	f->p.cap = f->p.n;
	if (md->claim)
		for (size_t i = 0; i < f->p.n; i++)
			if (f->p.m[i].uid >= index_header(md->ix)->recent_uid &&
			    f->p.m[i].uid > md->known_max)
				return 0;	/* \Recent to claim */
	f->usable = 1;
	f->modseq = index_header(md->ix)->highestmodseq;
	md->st.uidvalidity = index_header(md->ix)->uidvalidity;
	if (index_header(md->ix)->uidnext > md->st.uidnext)
		md->st.uidnext = index_header(md->ix)->uidnext;
	(void)recent(md, f);
	apply_view(md, f, syncflags, ch);
	return 1;
}

/* Under the lock: read what changed, number what is new, tell the
 * index. */
static enum store_result
slow(struct maildir *md, struct refresh *f, int syncflags,
    struct store_changes *ch, char *err, size_t errlen)
{
	uint32_t recent_uid, uv = md->st.uidvalidity;
	enum store_result r;

	r = gather(md, f, err, errlen);
	if (r == STORE_OK && uv != 0 && md->st.uidvalidity != uv)
		r = store_fail(STORE_EVALIDITY, err, errlen, "%s: UIDVALIDITY "
		    "changed from %u to %u", md->path, uv, md->st.uidvalidity);
	if (r == STORE_OK) {
		join(f);
		r = number(md, f, err, errlen);
		if (md->want_rewrite)
			f->usable = 0;	/* renumbered, or too many tombstones */
	}
	if (r != STORE_OK)
		return r;
	by_uid(&f->p);
	recent_uid = recent(md, f);
	merge(md, f, syncflags, ch);
	/* merge() moved the entries into the view: index them from
	 * there. */
	f->p.m = md->st.msgs;
	f->p.n = md->st.count;
	store_index(md, f, recent_uid);
	f->p.m = NULL;
	f->p.n = f->p.cap = 0;
	for (unsigned i = 0; i < md->st.count; i++)
		md->st.msgs[i].u.md.dirty = 0;
	md->dirty = 0;
	finish(md, f);
	return STORE_OK;
}

enum store_result
md_refresh(struct maildir *md, int syncflags, struct store_changes *ch,
    char *err, size_t errlen)
{
	struct refresh f;
	struct dotlock dl;
	enum store_result r;

	memset(&f, 0, sizeof(f));
	md_stat_dirs(md, f.mt);
	if (fast(md, &f, syncflags, ch)) {
		refresh_free(&f);
		md_ix_writeback(md);
		return STORE_OK;
	}
	refresh_free(&f);
	memset(&f, 0, sizeof(f));
	md_stat_dirs(md, f.mt);
	if ((r = md_lock(md, &dl, err, errlen)) != STORE_OK)
		return r;
	r = slow(md, &f, syncflags, ch, err, errlen);
	dotlock_release(&dl);
	refresh_free(&f);
	return r;
}
