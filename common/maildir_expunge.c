/*
 * maildir_expunge.c - EXPUNGE (and POP3's QUIT) on a Maildir, and the
 * log of expunged UIDs that QRESYNC reads (RFC 7162 3.2.5).
 *
 * A file is removed by its exact current name, found again by its
 * unique name if someone renamed it; ENOENT means someone else removed
 * it, which is as good.  Mail delivered meanwhile is never touched: only
 * the marked messages' names are unlinked.  Then, under the lock, their
 * index records become tombstones and their UIDs go to the expunge log
 * with one new modseq.  Their uid list entries stay (appends never
 * rewrite the list) until they are a quarter of it.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store_int.h"
#include "maildir_int.h"
#include "util.h"

/* 0 when the file is gone (also when someone else removed it). */
static int
unlink_msg(struct maildir *md, struct store_msg *m)
{
	char fn[NAME_MAX + 1];

	if (m->state & SM_GONE)
		return 0;
	if (unlinkat(md->sub[m->u.md.sub], md_msg_file(m, fn, sizeof(fn)),
	    0) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	if (md_relocate(md, m) < 0)
		return 0;
	if (unlinkat(md->sub[m->u.md.sub], md_msg_file(m, fn, sizeof(fn)),
	    0) == 0 || errno == ENOENT)
		return 0;
	return -1;
}

/* Tombstones and the expunge log for uids[0..n). */
static void
record(struct maildir *md, const uint32_t *uids, size_t n)
{
	struct dotlock dl;
	uint64_t ms;

	if (md_ix_lock(md, &dl, NULL, 0) != STORE_OK) {
		log_msg(LOG_WARNING, "%s: index busy; the next session "
		    "repairs it", md->path);
		return;
	}
	ms = md_ix_modseq(md);
	for (size_t i = 0; i < n && md->ix != NULL; i++) {
		struct index_rec rec;
		uint32_t pos;

		if (md_ix_find(md, uids[i], &pos, &rec) == 0) {
			rec.state |= IREC_EXPUNGED;
			(void)index_put_rec(md->ix, pos, &rec);
		}
	}
	if (md->ix != NULL) {
		(void)index_xlog_append(md->ix, ms, uids, n);
		/* index.h: rewrite once a third are tombstones. */
		if ((uint64_t)(index_header(md->ix)->count - md->st.count) * 3 >=
		    index_header(md->ix)->count)
			md->want_rewrite = 1;
	}
	if (md->ix == NULL || md->want_rewrite)
		md_uids_compact(md);
	dotlock_release(&dl);
}

enum store_result
md_expunge(struct store *st, const unsigned char *del, char *err,
    size_t errlen)
{
	struct maildir *md = (struct maildir *)st;
	enum store_result r = STORE_OK;
	uint32_t *uids = xcalloc(st->count + 1, sizeof(*uids));
	unsigned o = 0, nfail = 0;
	size_t n = 0;

	for (unsigned i = 0; i < st->count; i++) {
		struct store_msg *m = &st->msgs[i];

		if (del[i] && unlink_msg(md, m) < 0) {
			r = store_fail(STORE_ETEMP, err, errlen, "%s: cannot "
			    "remove %s: %m", md->path, m->u.md.uniq);
			nfail++;
		} else if (del[i]) {
			if (!(m->state & SM_GONE))
				uids[n] = m->uid, n++;
			md_msg_free(m);
			continue;
		}
		st->msgs[o++] = *m;
	}
	st->count = o;
	st->nrecent = 0;
	for (unsigned i = 0; i < st->count; i++)
		st->nrecent += (st->msgs[i].state & SM_RECENT) != 0;
	if (n > 0)
		record(md, uids, n);
	free(uids);
	if (nfail > 1)
		log_msg(LOG_ERR, "%s: %u messages could not be removed",
		    md->path, nfail);
	return r;
}

enum store_result
md_expunged_since(struct store *st, uint64_t since, uint32_t **uids,
    size_t *n)
{
	struct maildir *md = (struct maildir *)st;
	int r;

	if (md->ix == NULL)
		return STORE_ENOENT;
	r = index_xlog_since(md->ix, since, uids, n);
	return r == 0 ? STORE_OK : r > 0 ? STORE_ENOENT : STORE_ETEMP;
}
