/*
 * copy.c - COPY, UID COPY (RFC 3501 6.4.7, 6.4.8), MOVE and UID MOVE
 * (RFC 6851) with COPYUID (RFC 4315), and the target-side transaction
 * that APPEND shares (copy.h).
 *
 * A COPY is all or nothing: every message is staged in the target, then
 * committed at once; on any failure nothing stays in the target.  A
 * message another session expunged cannot be read any more, so a COPY
 * naming one fails with NO [EXPUNGEISSUED] and copies nothing (RFC 2180
 * 4.4.1); the pending EXPUNGEs follow from the loop's sync.  MOVE is a
 * COPY followed by an expunge of the sources; if that fails the copies
 * are removed again and the MOVE answers NO.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "copy.h"
#include "log.h"

/* ---- the target transaction ---- */

enum cmd_result
xfer_open(struct imap *im, struct imap_cmd *c, const char *name,
    struct xfer *x)
{
	enum store_result r;

	memset(x, 0, sizeof(*x));
	x->im = im;
	/* a read-only selected view cannot take new messages, and two
	 * read-write views of one folder in one session would each miss
	 * what the other did */
	if (imap_names_selected(im, name) && !im->sel_rdonly) {
		x->dst = im->sel;
		return CMD_OK;
	}
	r = store_open(im->folders, name, 0, &x->dst, x->err, sizeof(x->err));
	if (r == STORE_ENOENT)
		return cmd_no(c, "[TRYCREATE] Mailbox doesn't exist.");
	if (r != STORE_OK)
		return cmd_store_error(c, r, x->err);
	x->own = 1;
	return CMD_OK;
}

static enum store_result
commit_batch(struct xfer *x)
{
	enum store_result r;
	size_t n = x->staged;

	if (x->staged == 0)
		return STORE_OK;
	x->uids = xreallocarray(x->uids, x->nuids + x->staged,
	    sizeof(*x->uids));
	r = store_append_commit(x->dst, x->uids + x->nuids, &n,
	    &x->uidvalidity, x->err, sizeof(x->err));
	x->staged = 0;
	if (r == STORE_OK)
		x->nuids += n;
	return r;
}

enum store_result
xfer_before(struct xfer *x)
{
	if (x->staged < STORE_STAGE_MAX)
		return STORE_OK;
	return commit_batch(x);
}

void
xfer_staged(struct xfer *x)
{
	x->staged++;
}

enum store_result
xfer_commit(struct xfer *x)
{
	return commit_batch(x);
}

/* The committed messages into the view of dst, so they can be expunged.
 * For the selected folder the client hears of them (EXISTS) first. */
static int
undo_sync(struct xfer *x)
{
	struct store_changes ch;
	enum store_result r;

	if (!x->own) {
		imap_sync(x->im, 0);
		return x->im->sel == x->dst ? 0 : -1;	/* closed: BYE */
	}
	memset(&ch, 0, sizeof(ch));
	r = store_sync(x->dst, 0, &ch, x->err, sizeof(x->err));
	store_changes_free(&ch);
	return r == STORE_OK ? 0 : -1;
}

/* Remove the batches committed before a failure (those someone else
 * expunged meanwhile are gone already). */
static void
undo_committed(struct xfer *x)
{
	unsigned count, i;
	unsigned char *del;

	if (undo_sync(x) < 0)
		goto failed;
	count = store_count(x->dst);
	del = xcalloc(count ? count : 1, 1);
	for (size_t k = 0; k < x->nuids; k++)
		if (store_find_uid(x->dst, x->uids[k], &i))
			del[i] = 1;
	if (store_expunge(x->dst, del, x->err, sizeof(x->err)) != STORE_OK) {
		free(del);
		goto failed;
	}
	for (i = count; !x->own && i-- > 0; )
		if (del[i])
			io_printf(x->im->io, "* %u EXPUNGE\r\n", i + 1);
	free(del);
	return;
failed:
	log_msg(LOG_ERR, "could not remove %zu messages of an unfinished "
	    "copy or append: %s", x->nuids, x->err);
}

void
xfer_abort(struct xfer *x)
{
	if (x->dst == NULL)
		return;
	store_append_abort(x->dst);
	x->staged = 0;
	if (x->nuids > 0)
		undo_committed(x);
	x->nuids = 0;
}

void
xfer_close(struct xfer *x)
{
	/* keywords store_copy added to the selected folder's table */
	if (!x->own && x->dst != NULL && x->im->sel == x->dst &&
	    store_keywords_table(x->dst)->n > x->im->known_keywords)
		imap_send_flags(x->im);
	if (x->own && x->dst != NULL)
		store_close(x->dst);
	free(x->uids);
	memset(x, 0, sizeof(*x));
}

char *
uidset_format(const uint32_t *u, size_t n)
{
	/* "4294967295:4294967295," at most per run */
	char *out = xcalloc(n ? n : 1, 24), *p = out;

	for (size_t i = 0; i < n; ) {
		size_t j = i;
		while (j + 1 < n && u[j + 1] == u[j] + 1)
			j++;
		if (j > i)
			p += sprintf(p, "%s%u:%u", i ? "," : "", u[i], u[j]);
		else
			p += sprintf(p, "%s%u", i ? "," : "", u[i]);
		i = j + 1;
	}
	return out;
}

/* ---- COPY and MOVE ---- */

struct copy_job {
	int move;
	unsigned char *sel;	/* store_count bytes: the source messages */
	unsigned nsel;
	uint32_t *srcuids;
	struct xfer x;
};

/* Stage and commit every selected message into the target. */
static enum cmd_result
copy_all(struct imap *im, struct imap_cmd *c, struct copy_job *j)
{
	struct store *src = im->sel;
	enum store_result r = STORE_OK;
	size_t k = 0;

	for (unsigned i = 0, n = store_count(src); i < n; i++)
		if (j->sel[i] && store_gone(src, i))
			return cmd_no(c, "[EXPUNGEISSUED] Some of the requested "
			    "messages no longer exist.");
	for (unsigned i = 0, n = store_count(src); i < n && r == STORE_OK; i++) {
		if (!j->sel[i])
			continue;
		if ((r = xfer_before(&j->x)) != STORE_OK)
			break;
		r = store_copy(src, i, j->x.dst, j->x.err, sizeof(j->x.err));
		if (r == STORE_OK) {
			xfer_staged(&j->x);
			j->srcuids[k++] = store_uid(src, i);
		}
	}
	if (r == STORE_OK && (r = xfer_commit(&j->x)) == STORE_OK)
		return CMD_OK;
	xfer_abort(&j->x);
	if (r == STORE_ENOENT)	/* expunged on disk, not synced yet */
		return cmd_no(c, "[EXPUNGEISSUED] Some of the requested "
		    "messages no longer exist.");
	return cmd_store_error(c, r, j->x.err);
}

/* RFC 6851 3.3: the COPYUID goes in an untagged OK before the EXPUNGEs. */
static enum cmd_result
move_finish(struct imap *im, struct imap_cmd *c, struct copy_job *j,
    const char *copyuid)
{
	unsigned n = store_count(im->sel);
	enum store_result r;
	char err[256] = "";

	r = store_expunge(im->sel, j->sel, err, sizeof(err));
	if (r != STORE_OK) {
		xfer_abort(&j->x);
		return cmd_store_error(c, r, err);
	}
	if (copyuid != NULL)
		io_printf(im->io, "* OK [%s] Moved UIDs.\r\n", copyuid);
	/* highest first: no renumbering between the lines */
	for (unsigned i = n; i-- > 0; )
		if (j->sel[i])
			io_printf(im->io, "* %u EXPUNGE\r\n", i + 1);
	return cmd_ok(c, "Move completed.");
}

static enum cmd_result
copy_reply(struct imap *im, struct imap_cmd *c, struct copy_job *j)
{
	char *src, *dst, *copyuid = NULL;
	enum cmd_result cr;

	if (j->x.nuids == j->nsel && j->nsel > 0) {
		src = uidset_format(j->srcuids, j->nsel);
		dst = uidset_format(j->x.uids, j->x.nuids);
		copyuid = xasprintf("COPYUID %u %s %s", j->x.uidvalidity, src,
		    dst);
		free(src);
		free(dst);
	}
	if (j->move)
		cr = move_finish(im, c, j, copyuid);
	else if (copyuid == NULL)
		cr = cmd_ok(c, "Copy completed.");
	else if (strlen(copyuid) + 32 < sizeof(c->resp))
		cr = cmd_ok(c, "[%s] Copy completed.", copyuid);
	else {
		/* too long for the tagged line: untagged, as MOVE sends it */
		io_printf(im->io, "* OK [%s] Copied UIDs.\r\n", copyuid);
		cr = cmd_ok(c, "Copy completed.");
	}
	free(copyuid);
	return cr;
}

static enum cmd_result
copy_run(struct imap *im, struct imap_cmd *c, struct copy_job *j,
    const char *name)
{
	enum cmd_result cr;

	if (j->move && im->sel_rdonly)
		return cmd_no(c, "[READ-ONLY] Mailbox is read-only.");
	if ((cr = xfer_open(im, c, name, &j->x)) != CMD_OK)
		return cr;
	if (j->nsel == 0)
		cr = cmd_ok(c, "No messages copied.");
	else {
		j->srcuids = xcalloc(j->nsel, sizeof(*j->srcuids));
		if ((cr = copy_all(im, c, j)) == CMD_OK)
			cr = copy_reply(im, c, j);
	}
	xfer_close(&j->x);
	return cr;
}

enum cmd_result
cmd_copy(struct imap *im, struct imap_cmd *c)
{
	const struct imap_arg *a = c->args;
	struct copy_job j;
	enum cmd_result cr;

	memset(&j, 0, sizeof(j));
	j.move = strcasecmp(c->name, "MOVE") == 0;
	if (a == NULL || a->type != IMAP_ARG_ATOM ||
	    !imap_arg_is_astring(&a[1]) || a[2].type != IMAP_ARG_EOL)
		return cmd_bad(c, "Invalid arguments");
	if (imap_msgset(im, c, a, c->uid, &j.sel, &j.nsel) < 0)
		return CMD_BAD;
	cr = copy_run(im, c, &j, a[1].str);
	free(j.sel);
	free(j.srcuids);
	return cr;
}
