/*
 * mbox_expunge.c - EXPUNGE on an mbox: one journaled rewrite removes the
 * marked messages (and writes any pending flag changes with them), so a
 * crash at any point leaves every other message intact and mail
 * delivered meanwhile kept (mbox_write.c).  UIDs are never reused: the
 * X-IMAPbase keeps uidlast, and moves to the new first message when the
 * first one goes.
 *
 * The expunged UIDs go to the index's log (QRESYNC, RFC 7162 3.2.5.2)
 * with one new modseq; without an index they are kept in the view only,
 * so store_expunged_since() answers for what this view saw since it
 * opened (and STORE_ENOENT for anything older).
 */
#include <stdlib.h>
#include <string.h>

#include "mbox_priv.h"
#include "util.h"

void
mb_xlog_add(struct mbox *mb, uint32_t uid, uint64_t modseq)
{
	if (mb->nxlog == mb->xlogcap) {
		mb->xlogcap = mb->xlogcap ? mb->xlogcap * 2 : 64;
		mb->xlog = xreallocarray(mb->xlog, mb->xlogcap,
		    sizeof(*mb->xlog));
	}
	mb->xlog[mb->nxlog++] = (struct mb_xlog){ modseq, uid };
}

enum store_result
mb_expunge(struct store *st, const unsigned char *del, char *err,
    size_t errlen)
{
	struct mbox *mb = (struct mbox *)st;
	enum store_result r;
	unsigned any = 0;

	for (unsigned i = 0; i < st->count; i++)
		any += del[i] != 0;
	if (any == 0 && mb->npend == 0)
		return STORE_OK;
	if ((r = mb_lock(mb, err, errlen)) != STORE_OK)
		return r;
	if ((r = mb_refresh(mb, err, errlen)) != STORE_OK) {
		mb_unlock(mb);
		return r;
	}
	/* Marked messages someone else removed already leave the view
	 * too (mb_write only cuts the ones still in the file). */
	if ((r = mb_write(mb, del, err, errlen)) == STORE_OK)
		mb_index_save(mb);
	mb_unlock(mb);
	return r;
}

static int
cmp_uid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

enum store_result
mb_expunged_since(struct store *st, uint64_t since, uint32_t **uids,
    size_t *n)
{
	struct mbox *mb = (struct mbox *)st;
	size_t k = 0;

	if (mb->ix != NULL)
		return mb_index_xlog_since(mb, since, uids, n);
	if (since < mb->xfloor)
		return STORE_ENOENT;
	for (size_t i = 0; i < mb->nxlog; i++)
		k += mb->xlog[i].modseq > since;
	if (k == 0)
		return STORE_OK;
	*uids = xreallocarray(NULL, k, sizeof(**uids));
	for (size_t i = 0; i < mb->nxlog; i++)
		if (mb->xlog[i].modseq > since)
			(*uids)[(*n)++] = mb->xlog[i].uid;
	qsort(*uids, *n, sizeof(**uids), cmp_uid);
	return STORE_OK;
}
