/*
 * mbox_update.c - everything postern writes into an existing mbox goes
 * through one plan and one journaled rewrite (mbox_write.c): X-UID for
 * messages that lack a usable one, the X-IMAPbase numbers and keyword
 * list, Status/X-Status/X-Keywords of messages with pending STOREs or a
 * claimed \Recent, and the removal of expunged messages.  The caller
 * holds the locks and has refreshed the view (mb_refresh), so every
 * offset used was found by the parser in the file as it is now.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "mbox_priv.h"
#include "mboxflags.h"
#include "util.h"

static int
live(const struct store_msg *m)
{
	return !(m->u.mb.bits & MB_VANISHED);
}

int
mb_needs_write(struct mbox *mb)
{
	unsigned n = 0;

	if (mb->fd < 0)
		return 0;
	for (unsigned i = 0; i < mb->st.count; i++) {
		const struct store_msg *m = &mb->st.msgs[i];

		if (live(m) && (m->u.mb.pend || (m->u.mb.bits &
		    (MB_NEWUID | MB_SETOLD))))
			return 1;
		n += live(m);
	}
	for (unsigned j = 0; j < mb->extra.n; j++)
		if (mb->extra.v[j].u.mb.bits & MB_NEWUID)
			return 1;
	if (n + mb->extra.n == 0 && !mb->has_pseudo)
		return 0;
	return mb->base_dirty || !mb->base.valid ||
	    mb->base.uidlast != mb->uidlast ||
	    mb->base.uidvalidity != mb->st.uidvalidity;
}

/* Insert a header line right after message m's From_ line. */
void
mb_insert_header(struct mbox_plan *pl, struct mb_msg *m, const char *line,
    size_t len)
{
	if (!(m->bits & MB_FROM_NL)) {
		/* "From x" at end of file: end that line first. */
		mbox_plan_edit(pl, m->hdr, 0, "\n", 1);
		m->bits |= MB_FROM_NL;
	}
	mbox_plan_edit(pl, m->hdr, 0, line, len);
}

/* The whole X-IMAPbase (X-IMAP for UW's pseudo message) line. */
static void
base_line(struct mbox *mb, struct buf *b)
{
	struct kwtable none = { 0 };

	if (mbox_imapbase_format(mb->st.uidvalidity, mb->uidlast, &mb->st.kw,
	    b) < 0)
		(void)mbox_imapbase_format(mb->st.uidvalidity, mb->uidlast,
		    &none, b);
	if (mb->has_pseudo && b->len > 10) {	/* "X-IMAPbase" -> "X-IMAP" */
		memmove(b->data + 6, b->data + 10, b->len - 10);
		b->len -= 4;
	}
}

/* X-IMAPbase must say uidvalidity, uidlast and the keywords: the
 * numbers in place when only they change, else the whole field (then
 * 1 is returned: its offsets must be read again). */
int
mb_plan_base(struct mbox *mb, struct mbox_plan *pl, struct mb_msg *first)
{
	const struct mbox_base *b = &mb->base;
	struct buf line;
	char num[16];
	int n;

	if (b->valid && !mb->base_dirty) {
		if (mb->st.uidvalidity != b->uidvalidity) {
			n = snprintf(num, sizeof(num), "%u", mb->st.uidvalidity);
			mbox_plan_edit(pl, b->v_off, b->v_len, num, (size_t)n);
		}
		if (mb->uidlast != b->uidlast) {
			n = snprintf(num, sizeof(num), "%010u", mb->uidlast);
			mbox_plan_edit(pl, b->l_off, b->l_len, num, (size_t)n);
		}
		return 0;
	}
	buf_init(&line, MBOX_FIELD_MAX);
	base_line(mb, &line);
	if (b->kind != MBOX_F_NONE)
		mbox_plan_edit(pl, b->field_off, b->field_len, line.data,
		    line.len);
	else if (first != NULL)
		mb_insert_header(pl, first, line.data, line.len);
	buf_free(&line);
	return 1;
}

/* The messages in the file, in file order: the view's, then extra. */
static struct store_msg **
file_order(struct mbox *mb, unsigned *n)
{
	struct store_msg **v = xreallocarray(NULL, mb->st.count +
	    mb->extra.n + 1, sizeof(*v));

	*n = 0;
	for (unsigned i = 0; i < mb->st.count; i++)
		if (live(&mb->st.msgs[i]))
			v[(*n)++] = &mb->st.msgs[i];
	for (unsigned j = 0; j < mb->extra.n; j++)
		v[(*n)++] = &mb->extra.v[j];
	return v;
}

static int
is_del(struct mbox *mb, const unsigned char *del, const struct store_msg *m)
{
	return del != NULL && m >= mb->st.msgs && m < mb->st.msgs +
	    mb->st.count && del[m - mb->st.msgs];
}

static void
plan_xuid(struct mbox_plan *pl, struct store_msg *m)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "X-UID: %u\n", m->uid);

	if (m->u.mb.xuid_len > 0)
		mbox_plan_edit(pl, m->u.mb.xuid_off, m->u.mb.xuid_len, line,
		    (size_t)n);
	else
		mb_insert_header(pl, &m->u.mb, line, (size_t)n);
}

/* X-IMAPbase first (before any X-UID inserted at the same place, as
 * it has always been written); whole (1) when offsets change. */
static int
plan_base_for(struct mbox *mb, struct mbox_plan *pl, struct store_msg *first,
    int first_gone)
{
	struct mbox_base keep = mb->base;
	int whole;

	if (mb->has_pseudo)
		return mb_plan_base(mb, pl, &mb->pseudo);
	if (first == NULL)
		return 0;
	if (!first_gone || mb->base.kind == MBOX_F_NONE)
		return mb_plan_base(mb, pl, &first->u.mb);
	/* The X-IMAPbase goes with the first message: write it into the
	 * new first one. */
	mb->base.kind = MBOX_F_NONE;
	mb->base.valid = 0;
	whole = mb_plan_base(mb, pl, &first->u.mb);
	mb->base = keep;
	return whole | 1;
}

/* Build the plan; -1 if a message could not be read. */
static int
build(struct mbox *mb, const unsigned char *del, struct mbox_plan *pl,
    int *whole)
{
	struct store_msg **v, *first = NULL;
	unsigned n, k;
	int r = 0;

	v = file_order(mb, &n);
	for (k = 0; k < n && is_del(mb, del, v[k]); k++)
		;
	if (k < n)
		first = v[k];
	*whole = plan_base_for(mb, pl, first, n > 0 && is_del(mb, del, v[0]));
	for (k = 0; k < n && r == 0; k++) {
		struct store_msg *m = v[k];
		int c;

		if (is_del(mb, del, m)) {
			uint64_t next = k + 1 < n ? v[k + 1]->u.mb.from :
			    mb->sig.size;

			mbox_plan_edit(pl, m->u.mb.from, next - m->u.mb.from,
			    "", 0);
			continue;
		}
		if (m->u.mb.bits & MB_NEWUID)
			plan_xuid(pl, m);
		if (m->u.mb.pend || (m->u.mb.bits & MB_SETOLD)) {
			if ((c = mb_plan_flags(mb, pl, m)) < 0)
				r = -1;
			else if (c > 0 && m->u.mb.pend == 0)
				m->u.mb.bits |= MB_CHANGED;
			/* The final modseq, above every other session's
			 * (mb_refresh took the index's HIGHESTMODSEQ). */
			if (r == 0 && m->u.mb.pend)
				m->modseq = mb_next_modseq(mb);
		}
	}
	free(v);
	return r;
}

/* Drop the removed messages from the view: they go to the expunge log
 * with one new modseq. */
static void
drop(struct mbox *mb, const unsigned char *del)
{
	struct store *st = &mb->st;
	uint64_t ms = mb_next_modseq(mb);
	unsigned o = 0;

	for (unsigned i = 0; i < st->count; i++) {
		if (del[i]) {
			mb_xlog_add(mb, st->msgs[i].uid, ms);
			if (st->msgs[i].state & SM_RECENT)
				st->nrecent--;
			continue;
		}
		st->msgs[o++] = st->msgs[i];
	}
	st->count = o;
}

/* Index of the last live view message starting at or before off. */
static unsigned
msg_at(const struct mbox *mb, uint64_t off)
{
	unsigned k = 0;

	for (unsigned i = 0; i < mb->st.count; i++) {
		if (!live(&mb->st.msgs[i]))
			continue;
		if (mb->st.msgs[i].u.mb.from > off)
			break;
		k = i;
	}
	return k;
}

enum store_result
mb_write(struct mbox *mb, const unsigned char *del, char *err,
    size_t errlen)
{
	struct mbox_plan pl;
	enum store_result r = STORE_OK;
	uint64_t moved;
	int whole;

	if (mb->fd < 0)
		return STORE_OK;
	if (mb->base.valid && mb->base.uidvalidity != mb->st.uidvalidity)
		/* Someone gave the folder a new UIDVALIDITY (store.h:
		 * the session must end); never write ours over it. */
		return store_fail(STORE_EVALIDITY, err, errlen, "%s: "
		    "UIDVALIDITY changed", mb->path);
	mbox_plan_init(&pl, mb->sig.size);
	if (build(mb, del, &pl, &whole) < 0) {
		mbox_plan_free(&pl);
		return store_fail(STORE_ETEMP, err, errlen, "reading %s: "
		    "cannot read a message again", mb->path);
	}
	if (mbox_rewrite(mb->fd, mb->jpath, &pl, &moved, err, errlen) < 0)
		r = STORE_ETEMP;
	mbox_plan_free(&pl);
	if (r != STORE_OK) {
		mb->sig.valid = 0;	/* read it all again next time */
		return r;
	}
	for (unsigned i = 0; i < mb->st.count; i++)
		mb->st.msgs[i].u.mb.bits &= (uint8_t)~(MB_NEWUID | MB_SETOLD);
	for (unsigned j = 0; j < mb->extra.n; j++)
		mb->extra.v[j].u.mb.bits &= (uint8_t)~MB_NEWUID;
	mb_pend_clear(mb);
	mb->base_dirty = 0;
	if (del != NULL)
		drop(mb, del);
	/* A whole new X-IMAPbase: read it back from the start; new
	 * numbers written in place: they are what we chose. */
	if (whole)
		moved = 0;
	mb->base.uidlast = mb->uidlast;
	mb->base.uidvalidity = mb->st.uidvalidity;
	if (moved >= mb->sig.size && del == NULL) {
		mb_sig_take(mb);
		return STORE_OK;
	}
	return mb_rescan_from(mb, moved == 0 ? 0 : msg_at(mb, moved), err,
	    errlen);
}
