/*
 * mbox_flags.c - flags and keywords of mbox messages: read from Status,
 * X-Status and X-Keywords (mboxflags.h: mutt's, UW imapd's and
 * Dovecot's forms), the folder's keyword table from X-IMAPbase, and
 * STORE.
 *
 * STORE changes the view at once and remembers the operation per
 * message (flags to add, flags to remove); store_flush() -- and sync,
 * expunge and close -- applies the operations on top of the flags the
 * file holds then (so a flag mutt set meanwhile survives a +FLAGS) and
 * writes every changed header in one journaled rewrite (mbox_update.c),
 * as Dovecot writes them: Status "RO" order, X-Status "AFTD" order,
 * X-Keywords names separated by a space, no empty fields.
 *
 * A message's keywords that do not fit the table (KW_MAX) are kept in
 * the file: its X-Keywords is rewritten with them appended.
 *
 * Modseqs: STORE gives the message the view's next modseq at once; the
 * write under the lock gives it its final one, the index's
 * HIGHESTMODSEQ + 1 (RFC 7162 3.1: shared by every session), so a
 * caller reports MODSEQ after store_flush().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "keywords.h"
#include "mbox_priv.h"
#include "mboxflags.h"
#include "util.h"

/* A field's whole value: the captured bytes, or read back from the file
 * (bounded by MBOX_FIELD_MAX) when they did not fit.  *out is malloc'd
 * when it is not v->v.  0, or -1 if it cannot be read. */
int
mb_val_read(struct mbox *mb, const struct mbox_val *v, char **out,
    size_t *n)
{
	uint64_t len;
	char *b;
	ssize_t r;

	if (!v->trunc) {
		*out = (char *)v->v;
		*n = v->n;
		return 0;
	}
	len = v->end - v->val_off;
	if (len > MBOX_FIELD_MAX)
		len = MBOX_FIELD_MAX;
	b = xmalloc((size_t)len + 1);
	if ((r = pread(mb->fd, b, (size_t)len, (off_t)v->val_off)) < 0) {
		free(b);
		return -1;
	}
	*out = b;
	*n = (size_t)r;
	return 0;
}

static void
val_done(const struct mbox_val *v, char *p)
{
	if (p != v->v)
		free(p);
}

/* The keyword names of X-IMAPbase join the view's table in order (a
 * name is never removed or renamed: store.h). */
void
mb_base_keywords(struct mbox *mb)
{
	struct kwtable t = { 0 };
	uint32_t uv, last;
	char *v;
	size_t n;

	if (!mb->base.valid || !mb->base.val.present ||
	    mb_val_read(mb, &mb->base.val, &v, &n) < 0)
		return;
	mb->base_kwn = 0;
	if (mbox_imapbase_parse(v, n, &uv, &last, &t) >= 0)
		for (unsigned i = 0; i < t.n; i++)
			if (t.name[i] != NULL &&
			    kwtable_add(&mb->st.kw, t.name[i]) ==
			    (int)mb->base_kwn)
				mb->base_kwn++;
	kwtable_free(&t);
	val_done(&mb->base.val, v);
}

/* Flags, keywords and the O (old) mark of a scanned message. */
void
mb_msg_flags(struct mbox *mb, const struct mbox_rec *r, struct store_msg *m)
{
	unsigned fl = 0;
	int old = 0;
	char *v;
	size_t n;

	if (r->status.present && mb_val_read(mb, &r->status, &v, &n) == 0) {
		mbox_status_parse(v, n, &fl, &old);
		val_done(&r->status, v);
	}
	if (r->xstatus.present && mb_val_read(mb, &r->xstatus, &v, &n) == 0) {
		mbox_xstatus_parse(v, n, &fl);
		val_done(&r->xstatus, v);
	}
	m->flags = (uint8_t)(fl & MF_ALL);
	if (old)
		m->u.mb.bits |= MB_OLD;
	if (r->xkw.present && mb_val_read(mb, &r->xkw, &v, &n) == 0) {
		unsigned had = mb->st.kw.n;

		if (mbox_xkeywords_parse(v, n, &mb->st.kw, 1, &m->kw) > 0)
			m->u.mb.bits |= MB_KWLOST;
		if (mb->st.kw.n != had)	/* list them in X-IMAPbase too */
			mb->base_dirty = 1;
		val_done(&r->xkw, v);
	}
}

/* ---- pending operations ---- */

struct mb_pend *
mb_pend_of(struct mbox *mb, struct store_msg *m)
{
	if (m->u.mb.pend == 0) {
		if (mb->npend == mb->pendcap) {
			mb->pendcap = mb->pendcap ? mb->pendcap * 2 : 64;
			mb->pend = xreallocarray(mb->pend, mb->pendcap,
			    sizeof(*mb->pend));
		}
		memset(&mb->pend[mb->npend], 0, sizeof(*mb->pend));
		m->u.mb.pend = ++mb->npend;
	}
	return &mb->pend[m->u.mb.pend - 1];
}

void
mb_pend_clear(struct mbox *mb)
{
	for (unsigned i = 0; i < mb->st.count; i++)
		mb->st.msgs[i].u.mb.pend = 0;
	mb->npend = 0;
}

int
mb_keyword(struct store *st, const char *name, int create)
{
	struct mbox *mb = (struct mbox *)st;
	int k;

	(void)create;
	if (!mbox_keyword_ok(name, strlen(name)))
		return -1;
	if ((k = kwtable_add(&st->kw, name)) < 0)
		return -2;
	/* Written into X-IMAPbase at the next write, as Dovecot does: a
	 * keyword no message carries yet changes nothing in the file. */
	mb->base_dirty = 1;
	return k;
}

enum store_result
mb_set_flags(struct store *st, unsigned i, enum store_flag_op op,
    unsigned flags, kwset_t kw, uint64_t unchangedsince, char *err,
    size_t errlen)
{
	struct mbox *mb = (struct mbox *)st;
	struct store_msg *m = &st->msgs[i];
	unsigned add = 0, rem = 0, nf;
	kwset_t kadd = 0, krem = 0, nk;
	struct mb_pend *p;

	if (unchangedsince != 0 && m->modseq > unchangedsince)
		return store_fail(STORE_EMODIFIED, err, errlen, "modified "
		    "since %llu", (unsigned long long)unchangedsince);
	switch (op) {
	case STORE_FLAGS_SET:
		add = flags, rem = MF_ALL & ~flags;
		kadd = kw, krem = ~kw;
		break;
	case STORE_FLAGS_ADD:
		add = flags, kadd = kw;
		break;
	default:
		rem = flags, krem = kw;
		break;
	}
	nf = (m->flags & ~rem) | add;
	nk = (m->kw & ~krem) | kadd;
	if (nf == m->flags && nk == m->kw)
		return STORE_OK;	/* keeps its modseq */
	p = mb_pend_of(mb, m);
	p->add = (p->add & ~rem) | add;
	p->rem = (p->rem & ~add) | rem;
	p->kadd = (p->kadd & ~krem) | kadd;
	p->krem = (p->krem & ~kadd) | krem;
	m->flags = (uint8_t)nf;
	m->kw = nk;
	m->modseq = mb_next_modseq(mb);
	return STORE_OK;
}

enum store_result
mb_flush(struct store *st, char *err, size_t errlen)
{
	struct mbox *mb = (struct mbox *)st;
	enum store_result r;

	if (mb->npend == 0 && !mb->base_dirty)
		return STORE_OK;
	if ((r = mb_lock(mb, err, errlen)) != STORE_OK)
		return r;
	r = mb_refresh(mb, err, errlen);
	if (r == STORE_OK)
		r = mb_write(mb, NULL, err, errlen);
	if (r == STORE_OK)
		mb_index_save(mb);
	mb_unlock(mb);
	return r;
}

/* ---- writing a message's flag fields ---- */

struct one {
	struct mbox_rec r;
	int found;
};

static int
on_one(void *arg, const struct mbox_rec *r, const struct mbox_base *b)
{
	struct one *o = arg;

	(void)b;
	if (o->found)
		return 1;
	o->r = *r;
	o->found = 1;
	return 1;
}

/* Read message m's fields again (their offsets are not kept). */
static int
read_rec(struct mbox *mb, const struct mb_msg *m, struct mbox_rec *out)
{
	unsigned char *buf = xmalloc(STORE_IOBUF);
	uint64_t off = m->from;
	struct mbox_scan s;
	struct one o = { .found = 0 };
	ssize_t n = 0;

	mbox_scan_init(&s, off, 0, on_one, &o);
	while (off < m->end && (n = pread(mb->fd, buf, m->end - off <
	    STORE_IOBUF ? (size_t)(m->end - off) : STORE_IOBUF,
	    (off_t)off)) > 0 && mbox_scan_feed(&s, buf, (size_t)n) == 0)
		off += (uint64_t)n;
	free(buf);
	if (n < 0)
		return -1;
	mbox_scan_end(&s);
	if (!o.found)
		return -1;
	*out = o.r;
	return 0;
}

/* Names in X-Keywords value v that t lacks, each " name", into out. */
static void
lost_names(const char *v, size_t n, const struct kwtable *t, struct buf *out)
{
	size_t i = 0;

	while (i < n) {
		size_t s;

		while (i < n && strchr(" \t\r\n,", v[i]) != NULL)
			i++;
		for (s = i; i < n && strchr(" \t\r\n,", v[i]) == NULL; i++)
			;
		if (i > s && mbox_keyword_ok(v + s, i - s) &&
		    kwtable_findn(t, v + s, i - s) < 0 &&
		    (buf_addc(out, ' ') < 0 || buf_append(out, v + s, i - s) <
		    0))
			return;
	}
}

/* Replace field f by text, or insert it after the field before it
 * (anchor: Status, X-Status, X-Keywords stay together as Dovecot writes
 * them) or after the From_ line; nothing if it already reads so. */
static void
plan_field(struct mbox *mb, struct mbox_plan *pl, struct mb_msg *m,
    const struct mbox_val *f, const struct buf *text, uint64_t anchor)
{
	char *old;
	size_t n;

	if (f->present) {
		uint64_t len = f->end - f->off;

		if (len == text->len && len <= MBOX_FIELD_MAX &&
		    mb_val_read(mb, &(struct mbox_val){ .present = 1,
		    .trunc = 1, .off = f->off, .end = f->end,
		    .val_off = f->off }, &old, &n) == 0) {
			int same = n == len && memcmp(old, text->data, n) == 0;

			free(old);
			if (same)
				return;
		}
		mbox_plan_edit(pl, f->off, len, text->data, text->len);
	} else if (text->len > 0 && anchor > 0) {
		mbox_plan_edit(pl, anchor, 0, text->data, text->len);
	} else if (text->len > 0) {
		mb_insert_header(pl, m, text->data, text->len);
	}
}

/*
 * Plan message m's Status, X-Status and X-Keywords: the file's flags now
 * with m's pending operation (and the O of a claimed \Recent) applied.
 * m's flags and keywords become the result.  1 if they differ from what
 * the view showed, 0 if not, -1 if the message cannot be read.
 */
int
mb_plan_flags(struct mbox *mb, struct mbox_plan *pl, struct store_msg *m)
{
	struct store_msg cur = { 0 };
	struct mbox_rec r;
	struct buf b;
	unsigned fl;
	kwset_t kw;
	int old, changed;

	if (read_rec(mb, &m->u.mb, &r) < 0)
		return -1;
	mb_msg_flags(mb, &r, &cur);
	fl = cur.flags, kw = cur.kw;
	old = (cur.u.mb.bits & MB_OLD) || (m->u.mb.bits & MB_SETOLD);
	if (m->u.mb.pend) {
		struct mb_pend *p = &mb->pend[m->u.mb.pend - 1];

		fl = (fl & ~p->rem) | p->add;
		kw = (kw & ~p->krem) | p->kadd;
	}
	changed = fl != m->flags || kw != m->kw;
	m->flags = (uint8_t)fl;
	m->kw = kw;
	buf_init(&b, MBOX_FIELD_MAX + 64);
	(void)mbox_status_format(fl, old, &b);
	plan_field(mb, pl, &m->u.mb, &r.status, &b, 0);
	buf_reset(&b);
	(void)mbox_xstatus_format(fl, &b);
	plan_field(mb, pl, &m->u.mb, &r.xstatus, &b, r.status.present ?
	    r.status.end : 0);
	buf_reset(&b);
	if (mbox_xkeywords_format(kw, &mb->st.kw, &b) == 0 &&
	    (cur.u.mb.bits & MB_KWLOST) && r.xkw.present) {
		char *v;
		size_t n;

		if (b.len == 0)
			(void)buf_adds(&b, "X-Keywords:");
		else
			b.len--;	/* the LF */
		if (mb_val_read(mb, &r.xkw, &v, &n) == 0) {
			lost_names(v, n, &mb->st.kw, &b);
			val_done(&r.xkw, v);
		}
		(void)buf_addc(&b, '\n');
	}
	plan_field(mb, pl, &m->u.mb, &r.xkw, &b, r.xstatus.present ?
	    r.xstatus.end : r.status.present ? r.status.end : 0);
	buf_free(&b);
	if (old)
		m->u.mb.bits |= MB_OLD;
	return changed;
}
