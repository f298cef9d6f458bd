/*
 * mbox_index.c - the mbox's index cache (index.h, kind INDEX_KIND_MBOX,
 * statedir/.postern-index-<name>): what a scan would find, so that
 * opening an unchanged mbox reads a few KiB of it instead of all of it,
 * plus what the file cannot hold: modseqs shared by every session,
 * HIGHESTMODSEQ, the expunge log, and the \Recent claims (recent_uid).
 *
 * A record: uid, flags, keywords (bits of the X-IMAPbase list, which the
 * index is only written when it equals the view's table), modseq,
 * internal date, wire and raw sizes, and the position:
 *   str_off    offset of the From_ line (str_len 0: no string)
 *   extra[0-3] length of the From_ line incl. its LF, little-endian,
 *              bit 31 set when the line ends with LF (MB_FROM_NL)
 *   extra[4-9] length of the content (hdr to end), 48 bits
 *   state      0x80 (IREC_MB_OLD): Status holds O
 * The header's validity: device, inode, size, mtime in ns, a hash of the
 * last 4 KiB and a hash of the first message's X-IMAPbase field, and the
 * field's offset and length (8 bytes each, little-endian).  The index is
 * used only when all of them match the file as it is under the lock;
 * anything else means a full scan and a new index.  It is never trusted
 * over the file: records out of order or out of bounds also mean a scan.
 *
 * Written (always whole, index_rewrite, under the mbox's locks) only by
 * read-write views, when the view reflects the whole file with every
 * UID written, or when the file is empty (then the index alone keeps
 * the last UID given, mb_index_uidlast).  Without an index modseqs are
 * per view: HIGHESTMODSEQ starts at index_fresh_modseq() when the view
 * opens.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index.h"
#include "log.h"
#include "mbox_priv.h"
#include "util.h"

#define IREC_MB_OLD 0x80
#define RECS_CHUNK 4096

static char *
ix_name(struct mbox *mb)
{
	return xasprintf(".postern-index-%s", mb->name);
}

void
mb_index_open(struct mbox *mb)
{
	char *name = ix_name(mb);
	int dfd = open(mb->statedir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	mb->ix = NULL;
	if (dfd >= 0 && index_open(dfd, name, INDEX_KIND_MBOX, &mb->ix) < 0)
		mb->ix = NULL;
	if (dfd >= 0)
		close(dfd);
	free(name);
}

void
mb_index_close(struct mbox *mb)
{
	index_close(mb->ix);
	mb->ix = NULL;
}

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
getn(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The validity bytes for the file as mb->sig and mb->base say. */
static void
validity(const struct mbox *mb, uint8_t v[INDEX_VALIDITY_SIZE])
{
	memset(v, 0, INDEX_VALIDITY_SIZE);
	put64(v, mb->sig.dev);
	put64(v + 8, mb->sig.ino);
	/* A racy signature (mbox_sync.c) does not prove the file
	 * unchanged: such an index never matches. */
	put64(v + 16, mb->sig.racy ? UINT64_MAX : mb->sig.size);
	put64(v + 24, (uint64_t)mb->sig.mtime_ns);
	put64(v + 32, mb->sig.tailsum);
	put64(v + 40, mb->sig.basesum);
	put64(v + 48, mb->base.field_off);
	put64(v + 56, mb->base.field_len);
}

uint64_t
mb_next_modseq(struct mbox *mb)
{
	if (mb->st.highestmodseq == 0) {
		mb->st.highestmodseq = index_fresh_modseq();
		return mb->st.highestmodseq;
	}
	mb->ix_dirty = 1;
	return ++mb->st.highestmodseq;
}

/* The shared HIGHESTMODSEQ (re-read when another session changed the
 * index); 0 without an index.  Called under the locks. */
uint64_t
mb_index_modseq(struct mbox *mb)
{
	if (mb->ix == NULL)
		return 0;
	if (index_changed(mb->ix) && index_reload(mb->ix) < 0) {
		mb_index_close(mb);
		mb_index_open(mb);
		if (mb->ix == NULL)
			return 0;
	}
	return index_header(mb->ix)->uidvalidity == mb->st.uidvalidity ?
	    index_header(mb->ix)->highestmodseq : 0;
}

/*
 * A file without X-IMAPbase (every message expunged, the file deleted
 * when empty, or a new file put in its place): the UIDVALIDITY and last
 * UID the index remembers, so UIDs are not given out twice.  -1 if
 * there is no usable index.
 */
int
mb_index_base(struct mbox *mb, uint32_t *uidvalidity, uint32_t *uidlast)
{
	const struct index_hdr *h;

	if (mb->ix == NULL)
		return -1;
	h = index_header(mb->ix);
	if (h->uidvalidity == 0 || h->uidnext == 0)
		return -1;
	*uidvalidity = h->uidvalidity;
	*uidlast = h->uidnext - 1;
	return 0;
}

/*
 * The last UID the index says was handed out under the view's
 * UIDVALIDITY, 0 if none.  When every message was expunged the file
 * holds no X-IMAPbase: only the index (saved then, savable()) still
 * knows which UIDs were given, and they must never be given again
 * (RFC 3501 2.3.1.1).
 */
uint32_t
mb_index_uidlast(struct mbox *mb)
{
	const struct index_hdr *h;

	if (mb->ix == NULL)	/* another session may have made one */
		mb_index_open(mb);
	(void)mb_index_modseq(mb);	/* re-reads it if another changed it */
	if (mb->ix == NULL)
		return 0;
	h = index_header(mb->ix);
	if (h->uidvalidity != mb->st.uidvalidity || h->uidnext == 0)
		return 0;
	return h->uidnext - 1;
}

/* ---- loading ---- */

struct base_ctx {
	struct mbox *mb;
	int done;
};

static int
on_first(void *arg, const struct mbox_rec *r, const struct mbox_base *b)
{
	struct base_ctx *x = arg;

	if (b != NULL)
		x->mb->base = *b;
	if (r->pseudo) {
		memset(&x->mb->pseudo, 0, sizeof(x->mb->pseudo));
		x->mb->pseudo.from = r->from;
		x->mb->pseudo.hdr = r->hdr;
		x->mb->pseudo.bits = r->from_nl ? MB_FROM_NL : 0;
		x->mb->has_pseudo = 1;
	}
	x->done = 1;
	return 1;
}

/* The first message's X-IMAPbase (or UW's X-IMAP), reading only up to
 * the end of its header. */
static int
read_base(struct mbox *mb)
{
	struct base_ctx x = { mb, 0 };
	unsigned char buf[4096];
	struct mbox_scan s;
	uint64_t off = 0;
	ssize_t n;

	memset(&mb->base, 0, sizeof(mb->base));
	mb->has_pseudo = 0;
	mbox_scan_init(&s, 0, 1, on_first, &x);
	while (off < mb->sig.size && (n = pread(mb->fd, buf, sizeof(buf),
	    (off_t)off)) > 0) {
		mbox_scan_feed(&s, buf, (size_t)n);
		off += (uint64_t)n;
		if (x.done || (s.mode != 0 && s.mode != 1 && s.mode != 2 &&
		    !s.f.in_hdr))
			break;
		if (off > 1024 * 1024)
			return -1;	/* a huge header: scan instead */
	}
	if (!x.done)
		mbox_scan_end(&s);
	return mb->base.valid ? 0 : -1;
}

/* Records into the view; -1 if one does not fit the file. */
static int
load_recs(struct mbox *mb, const struct index_hdr *h)
{
	struct index_rec *r = xreallocarray(NULL, RECS_CHUNK, sizeof(*r));
	uint64_t prev_end = 0;
	uint32_t prev_uid = 0;
	unsigned n = 0;
	int ok = 1;

	free(mb->st.msgs);
	mb->st.msgs = xreallocarray(NULL, h->count + 1, sizeof(*mb->st.msgs));
	for (uint32_t at = 0; ok && at < h->count; at += RECS_CHUNK) {
		uint32_t k = h->count - at < RECS_CHUNK ? h->count - at :
		    RECS_CHUNK;

		if (index_read_recs(mb->ix, at, k, r) < 0)
			ok = 0;
		for (uint32_t j = 0; ok && j < k; j++) {
			struct store_msg *m = &mb->st.msgs[n];
			uint64_t fl = getn(r[j].extra, 4), cl = getn(r[j].extra
			    + 4, 6);

			if (r[j].state & IREC_EXPUNGED)
				continue;
			memset(m, 0, sizeof(*m));
			m->uid = r[j].uid;
			m->flags = r[j].flags & MF_ALL;
			m->kw = r[j].kw;
			m->modseq = r[j].modseq;
			m->internal = r[j].internal;
			m->wire = r[j].wire;
			m->raw = r[j].raw;
			m->u.mb.from = r[j].str_off;
			m->u.mb.hdr = m->u.mb.from + (fl & 0x7fffffff);
			m->u.mb.end = m->u.mb.hdr + cl;
			m->u.mb.bits = (fl & 0x80000000u) ? MB_FROM_NL : 0;
			if (r[j].state & IREC_MB_OLD)
				m->u.mb.bits |= MB_OLD;
			ok = m->uid > prev_uid && m->uid <= mb->base.uidlast &&
			    m->u.mb.from >= prev_end && m->u.mb.end <=
			    mb->sig.size && m->wire >= 0 && m->raw >= 0 &&
			    m->modseq <= h->highestmodseq &&
			    (m->kw >> mb->st.kw.n) == 0;
			prev_uid = m->uid;
			prev_end = m->u.mb.end;
			n++;
		}
	}
	free(r);
	mb->st.count = ok ? n : 0;
	return ok ? 0 : -1;
}

/* 1: the view was filled from the index; 0: scan the file. */
int
mb_index_load(struct mbox *mb)
{
	const struct index_hdr *h;
	uint8_t v[INDEX_VALIDITY_SIZE];

	if (mb->ix == NULL || mb->fd < 0)
		return 0;
	if (index_changed(mb->ix) && index_reload(mb->ix) < 0) {
		mb_index_close(mb);
		mb_index_open(mb);
		if (mb->ix == NULL)
			return 0;
	}
	h = index_header(mb->ix);
	mb_sig_take(mb);	/* size, mtime, tail hash; base hash below */
	if (h->count > STORE_MAX_MSGS || read_base(mb) < 0)
		return 0;
	mb->sig.basesum = mb_sig_base_hash(mb);
	validity(mb, v);
	if (memcmp(v, h->validity, sizeof(v)) != 0 ||
	    h->uidvalidity != mb->base.uidvalidity ||
	    h->uidnext != mb->base.uidlast + 1)
		return 0;
	mb_base_keywords(mb);
	if (load_recs(mb, h) < 0)
		return 0;
	mb->st.uidvalidity = h->uidvalidity;
	mb->uidlast = mb->base.uidlast;
	mb->st.highestmodseq = h->highestmodseq;
	mb->recent_uid = h->recent_uid;
	mb->xfloor = h->xlog_floor;
	return 1;
}

/*
 * \Recent with an index: UIDs at or above recent_uid are not claimed
 * yet.  A read-write view claims everything up to its UIDNEXT (saved
 * with the index).
 */
int
mb_index_claim_recent(struct mbox *mb, uint32_t *recent_uid)
{
	const struct index_hdr *h;

	if (mb->ix == NULL)
		return -1;
	h = index_header(mb->ix);
	if (h->uidvalidity != mb->st.uidvalidity && mb->st.uidvalidity != 0)
		return -1;
	*recent_uid = mb->recent_uid > h->recent_uid ? mb->recent_uid :
	    h->recent_uid;
	return 0;
}

/*
 * After a full read found flags changed by someone else: if that was a
 * postern session, the index (saved by it under the lock we hold now)
 * describes this very file and holds the modseqs it gave; take them, so
 * every session reports the same modseq for the same change.
 */
void
mb_index_adopt_modseqs(struct mbox *mb)
{
	struct index_rec *r;
	const struct index_hdr *h;
	uint8_t v[INDEX_VALIDITY_SIZE];
	unsigned i = 0;

	if (mb->ix == NULL || (index_changed(mb->ix) &&
	    index_reload(mb->ix) < 0))
		return;
	h = index_header(mb->ix);
	validity(mb, v);
	if (memcmp(v, h->validity, sizeof(v)) != 0 ||
	    h->uidvalidity != mb->st.uidvalidity)
		return;
	r = xreallocarray(NULL, RECS_CHUNK, sizeof(*r));
	for (uint32_t at = 0; at < h->count && i < mb->st.count;
	    at += RECS_CHUNK) {
		uint32_t k = h->count - at < RECS_CHUNK ? h->count - at :
		    RECS_CHUNK;

		if (index_read_recs(mb->ix, at, k, r) < 0)
			break;
		for (uint32_t j = 0; j < k && i < mb->st.count; j++) {
			struct store_msg *m;

			while (i < mb->st.count && mb->st.msgs[i].uid < r[j].uid)
				i++;
			if (i == mb->st.count)
				break;
			m = &mb->st.msgs[i];
			if (m->uid == r[j].uid && (m->u.mb.bits & MB_CHANGED) &&
			    m->flags == r[j].flags && m->kw == r[j].kw &&
			    r[j].modseq <= h->highestmodseq && r[j].modseq > 0)
				m->modseq = r[j].modseq;
		}
	}
	free(r);
}

/* ---- saving ---- */

/* Does the view (plus extra) describe the whole file, UIDs written? */
static int
savable(struct mbox *mb)
{
	if (mb->st.rdonly || mb->fd < 0 || mb->npend > 0 || mb->has_pseudo)
		return 0;
	/* An emptied file has no X-IMAPbase: the index alone keeps the
	 * last UID given. */
	if (mb->st.count == 0 && mb->extra.n == 0 && mb->sig.size == 0)
		return 1;
	if (mb->base_dirty || !mb->base.valid || mb->st.kw.n !=
	    mb->base_kwn || mb->base.uidlast != mb->uidlast)
		return 0;
	for (unsigned i = 0; i < mb->st.count; i++)
		if (mb->st.msgs[i].u.mb.bits & (MB_NEWUID | MB_SETOLD |
		    MB_VANISHED))
			return 0;
	for (unsigned j = 0; j < mb->extra.n; j++)
		if (mb->extra.v[j].u.mb.bits & MB_NEWUID)
			return 0;
	return 1;
}

static void
to_rec(const struct store_msg *m, struct index_rec *r)
{
	uint64_t fl = (m->u.mb.hdr - m->u.mb.from) & 0x7fffffff;
	uint64_t cl = m->u.mb.end - m->u.mb.hdr;

	memset(r, 0, sizeof(*r));
	if (m->u.mb.bits & MB_FROM_NL)
		fl |= 0x80000000u;
	r->uid = m->uid;
	r->flags = m->flags;
	r->state = (m->u.mb.bits & MB_OLD) ? IREC_MB_OLD : 0;
	r->kw = m->kw;
	r->modseq = m->modseq;
	r->internal = m->internal;
	r->wire = m->wire;
	r->raw = m->raw;
	r->str_off = m->u.mb.from;
	for (int i = 0; i < 4; i++)
		r->extra[i] = (uint8_t)(fl >> (8 * i));
	for (int i = 0; i < 6; i++)
		r->extra[4 + i] = (uint8_t)(cl >> (8 * i));
}

void
mb_index_save(struct mbox *mb)
{
	struct index_hdr h;
	struct index_rec *recs;
	char *name;
	unsigned n = 0;
	int dfd;

	if (!mb->ix_dirty && mb->ix != NULL && mb->nxlog_saved == mb->nxlog)
		return;
	if (!savable(mb)) {
		mb_index_xlog_flush(mb);
		return;
	}
	if (mb->sig.size == 0)	/* a stale view must not lower it */
		mb_uidlast_floor(mb);
	memset(&h, 0, sizeof(h));
	if (mb->ix != NULL) {
		h = *index_header(mb->ix);
		if (h.uidvalidity != mb->st.uidvalidity)
			h.xlog_floor = mb->xfloor;
	} else {
		h.xlog_floor = mb->xfloor;
	}
	h.kind = INDEX_KIND_MBOX;
	h.uidvalidity = mb->st.uidvalidity;
	h.uidnext = mb->uidlast + 1;
	if (mb->recent_uid > h.recent_uid)
		h.recent_uid = mb->recent_uid;
	if (mb->st.highestmodseq > h.highestmodseq)
		h.highestmodseq = mb->st.highestmodseq;
	mb_sig_take(mb);
	validity(mb, h.validity);
	recs = xreallocarray(NULL, mb->st.count + mb->extra.n + 1,
	    sizeof(*recs));
	for (unsigned i = 0; i < mb->st.count; i++)
		to_rec(&mb->st.msgs[i], &recs[n++]);
	for (unsigned j = 0; j < mb->extra.n; j++)
		to_rec(&mb->extra.v[j], &recs[n++]);
	name = ix_name(mb);
	dfd = open(mb->statedir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || index_rewrite(dfd, name, &h, recs, NULL, n,
	    &mb->ix) < 0)
		log_msg(LOG_WARNING, "%s/%s: %m (index not updated)",
		    mb->statedir, name);
	else
		mb->ix_dirty = 0;
	if (dfd >= 0)
		close(dfd);
	free(name);
	free(recs);
	mb_index_xlog_flush(mb);
}

/* ---- the expunge log ---- */

void
mb_index_xlog_flush(struct mbox *mb)
{
	if (mb->ix == NULL || mb->st.rdonly)
		return;
	for (size_t i = mb->nxlog_saved; i < mb->nxlog; i++)
		if (index_xlog_append(mb->ix, mb->xlog[i].modseq,
		    &mb->xlog[i].uid, 1) < 0)
			return;
	mb->nxlog_saved = mb->nxlog;
}

enum store_result
mb_index_xlog_since(struct mbox *mb, uint64_t since, uint32_t **uids,
    size_t *n)
{
	int r = index_xlog_since(mb->ix, since, uids, n);

	if (r == 0)
		return STORE_OK;
	*uids = NULL;
	*n = 0;
	return r == 1 ? STORE_ENOENT : STORE_ETEMP;
}
