/*
 * maildir_index.c - what a Maildir keeps in its index (index.h), and how
 * the index is checked against the folder.
 *
 * A record holds the message's UID, flags, keywords, modseq, cached
 * date and sizes, whether it is in new/ (IREC_NEWDIR) and its unique
 * name; extra[0] says how its file name goes on (0: ":2," and the flag
 * letters, 1: nothing), extra[1..9] the "other" flag letters (mdflags.h).
 * A name that cannot be rebuilt from that (":1," info, more than nine
 * other letters) is IREC_OTHERINFO: it is looked up again in the
 * directory when the message is opened or renamed.
 *
 * The validity (index.h) is, little-endian: the mtimes (seconds,
 * nanoseconds) of cur/ and new/ as seen before the readdir the records
 * came from, each 0 when that mtime was younger than
 * MD_MTIME_SETTLE_SECS; then postern-uidlist's device, inode, size and
 * mtime.  A directory whose mtime differs is read again; a uid list that
 * differs is checked for its UIDVALIDITY (one pread), since appends to
 * it are normal.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "mdflags.h"
#include "store_int.h"
#include "maildir_int.h"
#include "uidlist.h"
#include "util.h"

#define X_KIND 0
#define X_OTHER 1
#define X_OTHER_MAX 9	/* extra[1..9] */

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void
put_time(uint8_t *p, const struct timespec *t)
{
	put64(p, (uint64_t)t->tv_sec);
	put64(p + 8, (uint64_t)t->tv_nsec);
}

static int
same_time(const uint8_t *p, const struct timespec *t)
{
	uint64_t s = get64(p);

	return s != 0 && s == (uint64_t)t->tv_sec &&
	    get64(p + 8) == (uint64_t)t->tv_nsec;
}

/* postern-uidlist's identity into p (40 bytes); zeros if absent. */
static void
uidlist_identity(struct maildir *md, uint8_t *p)
{
	struct stat sb;

	memset(p, 0, 40);
	if (fstatat(md->dfd, UIDLIST_NAME, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	put64(p, (uint64_t)sb.st_dev);
	put64(p + 8, (uint64_t)sb.st_ino);
	put64(p + 16, (uint64_t)sb.st_size);
	put_time(p + 24, &sb.st_mtim);
}

void
md_ix_validity(struct maildir *md, const struct timespec mt[2],
    struct index_hdr *h)
{
	struct timespec now, zero = { 0, 0 };

	clock_gettime(CLOCK_REALTIME, &now);
	memset(h->validity, 0, sizeof(h->validity));
	for (int s = 0; s < 2; s++)
		put_time(h->validity + 16 * s, now.tv_sec - mt[s].tv_sec <
		    MD_MTIME_SETTLE_SECS ? &zero : &mt[s]);
	uidlist_identity(md, h->validity + 32);
}

/* The index as it is now on disk (under the lock): 0, or -1 if there
 * is none to use. */
static int
ix_current(struct maildir *md)
{
	if (md->ix != NULL && index_changed(md->ix) &&
	    index_reload(md->ix) < 0) {
		index_close(md->ix);
		md->ix = NULL;
	}
	if (md->ix == NULL && index_open(md->dfd, MD_INDEX_NAME,
	    INDEX_KIND_MAILDIR, &md->ix) != 0) {
		md->ix = NULL;
		return -1;
	}
	return 0;
}

int
md_ix_usable(struct maildir *md, const struct timespec mt[2],
    int need_dir[2])
{
	const struct index_hdr *h;
	uint8_t id[40];
	uint32_t v;

	if (ix_current(md) < 0)
		return 0;
	h = index_header(md->ix);
	uidlist_identity(md, id);
	if (memcmp(id, h->validity + 32, sizeof(id)) != 0 &&
	    (uidlist_head(md->dfd, UIDLIST_NAME, &v) < 0 ||
	    v != h->uidvalidity))
		return 0;
	if (h->uidvalidity == 0 || h->count > STORE_MAX_MSGS)
		return 0;
	for (int s = 0; s < 2; s++)
		need_dir[s] = !same_time(h->validity + 16 * s, &mt[s]);
	return 1;
}

/* The file name a record stands for into fn (NAME_MAX + 1 bytes). */
static int
rec_name(const struct index_rec *r, const char *uniq, char *fn, size_t n)
{
	char other[X_OTHER_MAX + 1];

	if ((r->state & IREC_OTHERINFO) || r->extra[X_KIND] == 1) {
		snprintf(fn, n, "%s", uniq);
		return 0;
	}
	memcpy(other, r->extra + X_OTHER, X_OTHER_MAX);
	other[X_OTHER_MAX] = '\0';
	return md_info_format(uniq, r->flags & MF_ALL, r->kw, other, fn, n);
}

/* A record's unique name: a UID names one message for good (within a
 * UIDVALIDITY), so the view's copy saves a pread when it has one. */
static int
rec_uniq(struct maildir *md, const struct index_rec *r, char *uniq)
{
	unsigned i;

	if (r->str_len == 0 || r->str_len > NAME_MAX)
		return -1;
	if (md->st.uidvalidity == index_header(md->ix)->uidvalidity &&
	    store_find_uid(&md->st, r->uid, &i) &&
	    md->st.msgs[i].u.md.ulen == r->str_len) {
		memcpy(uniq, md->st.msgs[i].u.md.uniq, r->str_len + 1u);
		return 0;
	}
	return index_read_str(md->ix, r, uniq, NAME_MAX + 1);
}

static int
rec_to_msg(struct maildir *md, const struct index_rec *r, uint32_t pos,
    struct store_msg *m)
{
	char uniq[NAME_MAX + 1], fn[NAME_MAX + 1];

	if (rec_uniq(md, r, uniq) < 0 ||
	    !uidlist_name_ok(uniq, strlen(uniq)) ||
	    rec_name(r, uniq, fn, sizeof(fn)) < 0)
		return -1;
	memset(m, 0, sizeof(*m));
	m->uid = r->uid;
	m->flags = r->flags & MF_ALL;
	m->kw = r->kw & (((kwset_t)1 << KW_MAX) - 1);
	m->modseq = r->modseq;
	m->internal = r->internal;
	m->wire = r->wire;
	m->raw = r->raw;
	m->u.md.pos = pos;
	m->u.md.sub = (r->state & IREC_NEWDIR) ? MD_NEW : MD_CUR;
	md_msg_setname(m, fn);
	return 0;
}

#define READ_CHUNK 1024

int
md_ix_read(struct maildir *md, struct store_msg **out, size_t *n)
{
	const struct index_hdr *h = index_header(md->ix);
	struct index_rec *rec = xreallocarray(NULL, READ_CHUNK, sizeof(*rec));
	struct store_msg *m = xreallocarray(NULL, h->count + 1, sizeof(*m));
	uint32_t last = 0;
	size_t k = 0;

	/* the names in one read, not one pread each */
	(void)index_strs_load(md->ix);
	for (uint32_t at = 0; at < h->count; at += READ_CHUNK) {
		uint32_t c = h->count - at < READ_CHUNK ? h->count - at :
		    READ_CHUNK;

		if (index_read_recs(md->ix, at, c, rec) < 0)
			goto bad;
		for (uint32_t i = 0; i < c; i++) {
			if (rec[i].uid <= last)
				goto bad;	/* not ascending: rebuild */
			last = rec[i].uid;
			if (rec[i].state & IREC_EXPUNGED)
				continue;
			if (rec_to_msg(md, &rec[i], at + i, &m[k]) < 0)
				goto bad;
			k++;
		}
	}
	free(rec);
	index_strs_drop(md->ix);
	md->ix_max = last;
	*out = m;
	*n = k;
	return 0;
bad:
	index_strs_drop(md->ix);
	log_msg(LOG_WARNING, "%s/%s: damaged; rebuilding it", md->path,
	    MD_INDEX_NAME);
	while (k > 0)
		md_msg_free(&m[--k]);
	free(m);
	free(rec);
	return -1;
}

void
md_ix_rec(const struct store_msg *m, struct index_rec *r)
{
	char fn[NAME_MAX + 1], other[MD_OTHER_MAX];
	const char *info = m->u.md.uniq + m->u.md.ulen + 1;
	unsigned fl;
	kwset_t kw;

	r->uid = m->uid;
	r->flags = m->flags;
	r->kw = m->kw;
	r->modseq = m->modseq;
	r->internal = m->internal;
	r->wire = m->wire;
	r->raw = m->raw;
	r->state = m->u.md.sub == MD_NEW ? IREC_NEWDIR : 0;
	memset(r->extra, 0, sizeof(r->extra));
	if (*info == '\0') {
		r->extra[X_KIND] = 1;
	} else if (md_info_parse(md_msg_file(m, fn, sizeof(fn)), &fl, &kw,
	    other) != 0 || strlen(other) > X_OTHER_MAX) {
		r->state |= IREC_OTHERINFO;
	} else {
		memcpy(r->extra + X_OTHER, other, strlen(other));
	}
}

/* Record of uid: the view's slot if it still holds it, else a binary
 * search (the records ascend by UID).  0 or -1. */
int
md_ix_find(struct maildir *md, uint32_t uid, uint32_t *pos,
    struct index_rec *r)
{
	uint32_t lo = 0, hi;
	unsigned i;

	if (md->ix == NULL)
		return -1;
	hi = index_header(md->ix)->count;
	if (store_find_uid(&md->st, uid, &i) && md->st.msgs[i].u.md.pos < hi &&
	    index_read_recs(md->ix, md->st.msgs[i].u.md.pos, 1, r) == 0 &&
	    r->uid == uid) {
		*pos = md->st.msgs[i].u.md.pos;
		return 0;
	}
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (index_read_recs(md->ix, mid, 1, r) < 0)
			return -1;
		if (r->uid == uid) {
			*pos = mid;
			return 0;
		}
		if (r->uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int
md_ix_put(struct maildir *md, struct store_msg *m, int what)
{
	struct index_rec r, n;
	uint32_t pos;

	if (md_ix_find(md, m->uid, &pos, &r) < 0 ||
	    (r.state & IREC_EXPUNGED))
		return -1;
	m->u.md.pos = pos;
	md_ix_rec(m, &n);
	if (what & MD_PUT_CACHE) {
		r.internal = n.internal;
		r.wire = n.wire;
		r.raw = n.raw;
	}
	if (what & MD_PUT_STATE) {
		r.flags = n.flags;
		r.kw = n.kw;
		r.modseq = n.modseq;
		r.state = n.state;
		memcpy(r.extra, n.extra, sizeof(r.extra));
	}
	return index_put_rec(md->ix, pos, &r);
}

int
md_ix_rewrite(struct maildir *md, struct store_msg *m, size_t n,
    const struct timespec mt[2])
{
	struct index_rec *recs = xreallocarray(NULL, n + 1, sizeof(*recs));
	const char **strs = xreallocarray(NULL, n + 1, sizeof(*strs));
	struct index_hdr h;
	uint32_t k = 0;
	int r;

	memset(&h, 0, sizeof(h));
	if (md->ix != NULL)
		h = *index_header(md->ix);
	if (md->ix == NULL || h.uidvalidity != md->st.uidvalidity)
		h.xlog_floor = md->st.highestmodseq;	/* a rebuild */
	h.kind = INDEX_KIND_MAILDIR;
	h.uidvalidity = md->st.uidvalidity;
	h.uidnext = md->st.uidnext;
	h.recent_uid = md->recent_uid;
	h.highestmodseq = md->st.highestmodseq;
	md_ix_validity(md, mt, &h);
	for (size_t i = 0; i < n; i++) {
		if (m[i].state & SM_GONE) {
			m[i].u.md.pos = MD_NOPOS;
			continue;
		}
		memset(&recs[k], 0, sizeof(recs[k]));
		md_ix_rec(&m[i], &recs[k]);
		strs[k] = m[i].u.md.uniq;
		m[i].u.md.pos = k++;
	}
	/* Our handle goes first: whatever index_rewrite() does with it
	 * on failure, it is never used twice. */
	if (md->ix != NULL)
		index_close(md->ix);
	md->ix = NULL;
	r = index_rewrite(md->dfd, MD_INDEX_NAME, &h, recs, strs, k, &md->ix);
	if (r != 0) {
		if (errno != ENOSYS)
			log_msg(LOG_WARNING, "%s/%s: cannot write: %m",
			    md->path, MD_INDEX_NAME);
		md->ix = NULL;
		for (size_t i = 0; i < n; i++)
			m[i].u.md.pos = MD_NOPOS;
	}
	free(recs);
	free(strs);
	return r;
}

int
md_ix_append(struct maildir *md, struct store_msg *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct index_rec r;
		uint32_t pos;
		int rc;

		if ((m[i].state & SM_GONE) || m[i].u.md.pos != MD_NOPOS)
			continue;
		if (md->ix == NULL)
			return -1;
		memset(&r, 0, sizeof(r));
		md_ix_rec(&m[i], &r);
		pos = index_header(md->ix)->count;
		rc = index_append(md->ix, &r, m[i].u.md.uniq, m[i].u.md.ulen);
		if (rc != 0) {
			/* Full (or failing): the next refresh rewrites it;
			 * until then the message is found by its name. */
			md->want_rewrite = 1;
			return rc;
		}
		m[i].u.md.pos = pos;
	}
	return 0;
}

uint64_t
md_ix_modseq(struct maildir *md)
{
	struct index_hdr h;

	if (md->ix == NULL)
		return ++md->st.highestmodseq;
	h = *index_header(md->ix);
	if (h.highestmodseq < md->st.highestmodseq)
		h.highestmodseq = md->st.highestmodseq;
	h.highestmodseq++;
	if (index_put_hdr(md->ix, &h) < 0)
		log_msg(LOG_WARNING, "%s/%s: cannot write: %m", md->path,
		    MD_INDEX_NAME);
	md->st.highestmodseq = h.highestmodseq;
	return h.highestmodseq;
}

int
md_ix_lock(struct maildir *md, struct dotlock *dl, char *err, size_t errlen)
{
	enum store_result r = md_lock(md, dl, err, errlen);

	if (r != STORE_OK)
		return r;
	if (md->ix != NULL && ix_current(md) == 0 &&
	    index_header(md->ix)->uidvalidity != md->st.uidvalidity) {
		index_close(md->ix);
		md->ix = NULL;
	}
	return STORE_OK;
}

void
md_ix_writeback(struct maildir *md)
{
	struct dotlock dl;

	if (!md->dirty || md->ix == NULL)
		return;
	md->dirty = 0;
	if (md_ix_lock(md, &dl, NULL, 0) != STORE_OK)
		return;		/* a cache: the next session fills it */
	for (unsigned i = 0; i < md->st.count && md->ix != NULL; i++) {
		struct store_msg *m = &md->st.msgs[i];

		if (m->u.md.dirty && !(m->state & SM_GONE))
			(void)md_ix_put(md, m, MD_PUT_CACHE);
		m->u.md.dirty = 0;
	}
	dotlock_release(&dl);
}
