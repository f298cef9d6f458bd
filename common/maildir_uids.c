/*
 * maildir_uids.c - a Maildir's durable UIDs: postern-uidlist (formats
 * in uidlist.h), imported from dovecot-uidlist or courierimapuiddb on
 * first use so a migration keeps UIDVALIDITY and UIDs.
 *
 * Everything here runs under postern-uidlist.lock.  New UIDs are
 * appended to the list and fsynced before any file or index names
 * them, so a UID once handed out is never handed out again, whatever
 * crashes.  The list is rewritten whole (temp file, fsync, rename) only
 * when it is first made, when it is unreadable at its end, and to drop
 * the entries of expunged messages once they are over a quarter of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store_int.h"
#include "maildir_int.h"
#include "uidlist.h"
#include "util.h"

static int
write_list(struct maildir *md, const struct uidlist *ul)
{
	char *path = xasprintf("%s/%s", md->path, UIDLIST_NAME);
	size_t len;
	char *data = uidlist_format(ul, &len);
	int r = write_file_atomic(path, data, len, 0600);

	if (r < 0)
		log_msg(LOG_ERR, "cannot write %s: %m", path);
	free(data);
	free(path);
	return r;
}

/* A UIDVALIDITY for a new list: the time (RFC 3501 2.3.1.1 suggests
 * it), but never the one the view or index has now. */
static uint32_t
new_validity(struct maildir *md)
{
	uint32_t v = (uint32_t)time(NULL), old = md->st.uidvalidity;
	char *file;
	const char *base = strrchr(md->path, '/');

	if (md->ix != NULL && old == 0)
		old = index_header(md->ix)->uidvalidity;
	if (md->st.rdonly)
		return v == 0 || v == old ? old + 1 : v;
	/* the counter lives beside the folders (a Maildir++ folder is
	 * ROOT/.name; INBOX is ROOT itself), so a folder deleted and made
	 * again gets a new value even within the same second */
	base = base != NULL ? base + 1 : md->path;
	if (base[0] == '.')
		file = xasprintf("%.*s/%s", (int)(base - md->path - 1),
		    md->path, STORE_UIDVALIDITY_FILE);
	else
		file = xasprintf("%s/%s", md->path, STORE_UIDVALIDITY_FILE);
	v = store_new_uidvalidity(file, old);
	free(file);
	return v;
}

static void
fresh_list(struct maildir *md, struct uidlist *ul)
{
	struct stat sb;

	uidlist_init(ul, UIDLIST_POSTERN);
	ul->header = 1;
	ul->uidvalidity = new_validity(md);
	ul->uidnext = 1;
	/* Replacing a damaged list: its UIDVALIDITY (a time, if ours) was
	 * given no later than the file was last written, so one past that
	 * differs from it even when no index remembers it. */
	if (fstatat(md->dfd, UIDLIST_NAME, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    sb.st_mtime >= (time_t)ul->uidvalidity &&
	    sb.st_mtime < (time_t)UINT32_MAX)
		ul->uidvalidity = (uint32_t)sb.st_mtime + 1;
}

/* A foreign UID list, so a migration keeps UIDVALIDITY and UIDs. */
static int
import(struct maildir *md, struct uidlist *ul, const char *name,
    enum uidlist_format fmt)
{
	int r = uidlist_read(ul, md->dfd, name, fmt);

	if (r == 1) {
		log_msg(LOG_INFO, "%s: imported %zu UIDs from %s (%u bad "
		    "lines)", md->path, ul->n, name, ul->bad_lines);
		return 1;
	}
	if (r == -1 || r == -2)
		log_msg(LOG_WARNING, "%s/%s: unusable, not imported", md->path,
		    name);
	return 0;
}

/* Our list, else an imported one, else a new one (both written). */
static enum store_result
load(struct maildir *md, struct uidlist *ul, char *err, size_t errlen)
{
	int r = uidlist_read(ul, md->dfd, UIDLIST_NAME, UIDLIST_POSTERN);

	if (r == 1) {
		if (ul->bad_lines > 0)
			log_msg(LOG_WARNING, "%s/%s: skipped %u bad lines",
			    md->path, UIDLIST_NAME, ul->bad_lines);
		return STORE_OK;
	}
	if (r == -2)
		return store_fail(STORE_ETEMP, err, errlen, "%s/%s: %m",
		    md->path, UIDLIST_NAME);
	if (r == -1) {
		/* Without a header the UIDs cannot be trusted to be unused:
		 * start over under a new UIDVALIDITY (RFC 3501 2.3.1.1). */
		log_msg(LOG_WARNING, "%s/%s: bad header; new UIDVALIDITY",
		    md->path, UIDLIST_NAME);
		fresh_list(md, ul);
	} else if (!import(md, ul, "dovecot-uidlist", UIDLIST_DOVECOT) &&
	    !import(md, ul, "courierimapuiddb", UIDLIST_COURIER)) {
		fresh_list(md, ul);
	}
	if (write_list(md, ul) < 0)
		return store_fail(STORE_ETEMP, err, errlen,
		    "cannot write %s/%s", md->path, UIDLIST_NAME);
	return STORE_OK;
}

enum store_result
md_uids_load(struct maildir *md, struct uidlist *out, char *err,
    size_t errlen)
{
	struct uidlist ul;
	enum store_result r = load(md, &ul, err, errlen);

	if (r != STORE_OK)
		return r;
	if (ul.uidvalidity != md->st.uidvalidity)
		md->st.uidnext = ul.uidnext;
	else if (ul.uidnext > md->st.uidnext)
		md->st.uidnext = ul.uidnext;
	md->st.uidvalidity = ul.uidvalidity;
	if (out != NULL)
		*out = ul;
	else
		uidlist_free(&ul);
	return STORE_OK;
}

/* Out of UIDs (uidnext would pass 2^32-1): a new UIDVALIDITY, and every
 * present message m[0..n) renumbered from 1 in name order. */
static enum store_result
renumber(struct maildir *md, struct store_msg *m, size_t n, char *err,
    size_t errlen)
{
	struct uidlist ul;

	log_msg(LOG_WARNING, "%s: UIDs exhausted; new UIDVALIDITY", md->path);
	fresh_list(md, &ul);
	for (size_t i = 0; i < n; i++) {
		m[i].uid = (uint32_t)i + 1;
		uidlist_add(&ul, m[i].uid, m[i].wire, m[i].u.md.uniq);
	}
	ul.uidnext = (uint32_t)n + 1;
	if (write_list(md, &ul) < 0) {
		uidlist_free(&ul);
		return store_fail(STORE_ETEMP, err, errlen,
		    "cannot write %s/%s", md->path, UIDLIST_NAME);
	}
	md->st.uidvalidity = ul.uidvalidity;
	md->st.uidnext = ul.uidnext;
	md->known_max = 0;
	md->want_rewrite = 1;
	uidlist_free(&ul);
	return STORE_OK;
}

/* The slow way: read it all, add the entries, rewrite it. */
static enum store_result
append_rewrite(struct maildir *md, struct uidlist_entry *e, size_t n,
    uint32_t *first, char *err, size_t errlen)
{
	struct uidlist ul;
	enum store_result r = md_uids_load(md, &ul, err, errlen);

	if (r != STORE_OK)
		return r;
	*first = ul.uidnext;
	for (size_t i = 0; i < n; i++)
		uidlist_add(&ul, e[i].uid = ul.uidnext++, e[i].wire,
		    e[i].name);
	if (write_list(md, &ul) < 0)
		r = store_fail(STORE_ETEMP, err, errlen, "cannot save new "
		    "UIDs in %s", md->path);
	else
		md->st.uidnext = ul.uidnext;
	uidlist_free(&ul);
	return r;
}

enum store_result
md_uids_append(struct maildir *md, char *const *names, const int64_t *wire,
    size_t n, uint32_t *first, char *err, size_t errlen)
{
	struct uidlist_entry *e = xreallocarray(NULL, n + 1, sizeof(*e));
	struct uidlist_tail t;
	enum store_result r = STORE_OK;
	int fd = uidlist_append_open(md->dfd, UIDLIST_NAME, &t);

	for (size_t i = 0; i < n; i++) {
		e[i].name = names[i];
		e[i].wire = wire != NULL ? wire[i] : -1;
	}
	if (fd >= 0 && t.uidvalidity == md->st.uidvalidity) {
		/* The list's tail is trusted only as far as what we know:
		 * a list edited out of UID order cannot take UIDs back. */
		if (md->st.uidnext > t.uidnext)
			t.uidnext = md->st.uidnext;
		if (md->ix != NULL && index_header(md->ix)->uidvalidity ==
		    t.uidvalidity && index_header(md->ix)->uidnext > t.uidnext)
			t.uidnext = index_header(md->ix)->uidnext;
	}
	if (fd < 0) {
		r = append_rewrite(md, e, n, first, err, errlen);
	} else if (t.uidvalidity != md->st.uidvalidity) {
		r = store_fail(STORE_EVALIDITY, err, errlen, "%s: UIDVALIDITY "
		    "changed", md->path);
	} else if ((uint64_t)t.uidnext + n >= UINT32_MAX) {
		r = store_fail(STORE_EFULL, err, errlen, "%s: out of UIDs",
		    md->path);
	} else {
		*first = t.uidnext;
		for (size_t i = 0; i < n; i++)
			e[i].uid = t.uidnext + (uint32_t)i;
		if (uidlist_append(fd, &t, e, n) < 0)
			r = store_fail(STORE_ETEMP, err, errlen, "cannot save "
			    "new UIDs in %s/%s: %m", md->path, UIDLIST_NAME);
		else
			md->st.uidnext = t.uidnext;
	}
	if (fd >= 0)
		close(fd);
	free(e);
	return r;
}

enum store_result
md_uids_assign(struct maildir *md, struct store_msg *m, size_t n, char *err,
    size_t errlen)
{
	struct uidlist ul;
	char **names = xreallocarray(NULL, n + 1, sizeof(*names));
	int64_t *wire = xreallocarray(NULL, n + 1, sizeof(*wire));
	size_t k = 0;
	uint32_t first, held = md->known_max > md->ix_max ? md->known_max :
	    md->ix_max;
	enum store_result r = md_uids_load(md, &ul, err, errlen);

	if (r != STORE_OK)
		goto out;
	uidlist_sort_names(&ul);
	for (size_t i = 0; i < n; i++) {
		struct uidlist_entry *e;

		if (m[i].uid != 0)
			continue;
		/* A UID this view or the index knew and that is not live
		 * belonged to a message that was expunged: a file coming
		 * back under that name (a duplicate left behind) gets a new
		 * one.  UIDs are handed out and indexed under one lock, so
		 * only a crash between the two leaves a listed UID at or
		 * below that unindexed; it then gets a new UID too. */
		e = uidlist_find_name(&ul, m[i].u.md.uniq);
		if (e != NULL && e->uid > held) {
			m[i].uid = e->uid;
			if (m[i].wire < 0)
				m[i].wire = e->wire;
			continue;
		}
		names[k] = m[i].u.md.uniq;
		wire[k++] = m[i].wire;
	}
	if (k > 0 && (uint64_t)ul.uidnext + k >= UINT32_MAX) {
		r = renumber(md, m, n, err, errlen);
		goto out;
	}
	if (k > 0 && (r = md_uids_append(md, names, wire, k, &first, err,
	    errlen)) == STORE_OK)
		for (size_t i = 0; i < n; i++)
			if (m[i].uid == 0)
				m[i].uid = first++;
out:
	uidlist_free(&ul);
	free(names);
	free(wire);
	return r;
}

/* The view's message with this UID, or NULL. */
static const struct store_msg *
in_view(const struct maildir *md, uint32_t uid)
{
	unsigned i;

	if (!store_find_uid(&md->st, uid, &i) ||
	    (md->st.msgs[i].state & SM_GONE))
		return NULL;
	return &md->st.msgs[i];
}

void
md_uids_compact(struct maildir *md)
{
	struct uidlist ul;
	size_t o = 0, dead = 0;

	if (md_uids_load(md, &ul, NULL, 0) != STORE_OK)
		return;
	/* UIDs above what the view knows may be other sessions' news. */
	for (size_t i = 0; i < ul.n; i++) {
		const struct store_msg *m = in_view(md, ul.e[i].uid);

		dead += ul.e[i].uid <= md->known_max && (m == NULL ||
		    strcmp(m->u.md.uniq, ul.e[i].name) != 0);
	}
	if (dead * 4 > ul.n) {
		for (size_t i = 0; i < ul.n; i++) {
			const struct store_msg *m = in_view(md, ul.e[i].uid);

			if (ul.e[i].uid <= md->known_max && (m == NULL ||
			    strcmp(m->u.md.uniq, ul.e[i].name) != 0)) {
				free(ul.e[i].name);
				continue;
			}
			if (m != NULL && ul.e[i].wire < 0)
				ul.e[i].wire = m->wire;
			ul.e[o++] = ul.e[i];
		}
		ul.n = o;
		ul.uidnext = md->st.uidnext > ul.uidnext ? md->st.uidnext :
		    ul.uidnext;
		(void)write_list(md, &ul);
	}
	uidlist_free(&ul);
}
