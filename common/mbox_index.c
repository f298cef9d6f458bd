/*
 * mbox_index.c - modseqs, the expunge log and \Recent claims of an mbox
 * view.
 *
 * Without an index (the state kept here when .postern-index-<name> is
 * not used) they are per view: HIGHESTMODSEQ starts at the current time
 * in microseconds when the view opens (so it never goes down across
 * views, as RFC 7162 3.1.2.1 requires of one UIDVALIDITY, unless the
 * clock does), every change this view makes or sees gets the next one,
 * and the expunge log holds what this view saw (mbox_expunge.c).
 * \Recent is claimed through the file itself: Status O (mbox_sync.c).
 */
#include <stdlib.h>
#include <sys/time.h>

#include "mbox_priv.h"

void
mb_index_open(struct mbox *mb)
{
	mb->ix = NULL;
}

int
mb_index_load(struct mbox *mb)
{
	(void)mb;
	return 0;
}

void
mb_index_save(struct mbox *mb)
{
	(void)mb;
}

void
mb_index_close(struct mbox *mb)
{
	mb->ix = NULL;
}

uint64_t
mb_next_modseq(struct mbox *mb)
{
	struct timeval tv;

	if (mb->st.highestmodseq == 0) {
		gettimeofday(&tv, NULL);
		mb->st.highestmodseq = (uint64_t)tv.tv_sec * 1000000 +
		    (uint64_t)tv.tv_usec;
		return mb->st.highestmodseq;
	}
	return ++mb->st.highestmodseq;
}

int
mb_index_claim_recent(struct mbox *mb, uint32_t *recent_uid)
{
	(void)mb;
	*recent_uid = 0;
	return 0;
}

enum store_result
mb_index_xlog_since(struct mbox *mb, uint64_t since, uint32_t **uids,
    size_t *n)
{
	(void)mb, (void)since, (void)uids, (void)n;
	return STORE_ENOENT;
}
