/*
 * maildir_flags.c - flags and keywords of Maildir messages: the letters
 * after ":2," in the file name (mdflags.h), the keyword table in
 * postern-keywords (keywords.h; dovecot-keywords is read while ours
 * does not exist yet, and becomes ours at the first new keyword; else
 * Courier's courierimapkeywords/ is imported into it once,
 * maildir_courier.c), and the move from new/ to cur/.
 *
 * A flag change is a rename, computed from the file's current name so
 * that a flag another program set meanwhile is not undone (RFC 3501
 * 6.4.6 +FLAGS); a rename that finds the name gone looks for the file's
 * new name and tries again.  The modseq is given under the lock, shared
 * through the index (RFC 7162 3.1).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "keywords.h"
#include "log.h"
#include "mdflags.h"
#include "store_int.h"
#include "maildir_int.h"
#include "util.h"

/* Larger is not a keyword table: 26 lines of at most ~260 bytes. */
#define KW_FILE_MAX 16384

/* Bytes of dir/name (regular file, at most KW_FILE_MAX), or NULL. */
static char *
read_small(int dirfd, const char *name, size_t *len, struct stat *sb)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK);
	char *buf;
	ssize_t n;

	if (fd < 0)
		return NULL;
	if (fstat(fd, sb) < 0 || !S_ISREG(sb->st_mode)) {
		close(fd);
		return NULL;
	}
	buf = xmalloc(KW_FILE_MAX);
	n = read(fd, buf, KW_FILE_MAX);
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	/* Cut short (a file longer than any table we write, or a single
	 * short read): a last line without its LF may be a name cut in
	 * two, which would then be given an index for good.  Drop it. */
	if ((off_t)n < sb->st_size) {
		char *nl = memrchr(buf, '\n', (size_t)n);

		n = nl != NULL ? nl - buf + 1 : 0;
	}
	*len = (size_t)n;
	return buf;
}

/* Names of t not yet in ours, at their indexes: an index never changes
 * meaning (keywords.h), so a name we have is kept whatever the file
 * says now. */
static int
merge_table(struct kwtable *ours, struct kwtable *t)
{
	int grew = 0;

	for (unsigned i = 0; i < KW_MAX; i++) {
		if (t->name[i] == NULL || ours->name[i] != NULL ||
		    kwtable_find(ours, t->name[i]) >= 0)
			continue;
		ours->name[i] = t->name[i];
		t->name[i] = NULL;
		if (i >= ours->n)
			ours->n = i + 1;
		grew = 1;
	}
	kwtable_free(t);
	return grew;
}

/* locked: the caller holds the folder's lock (the Courier import
 * needs it). */
static enum store_result
kw_load(struct maildir *md, int *grew, int locked)
{
	struct kwtable t = { { 0 }, 0 };
	struct stat sb;
	size_t len;
	char *buf;

	*grew = 0;
	if (fstatat(md->dfd, KWTABLE_NAME, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
		if (sb.st_size == md->kw_size &&
		    sb.st_mtim.tv_sec == md->kw_mtime.tv_sec &&
		    sb.st_mtim.tv_nsec == md->kw_mtime.tv_nsec)
			return STORE_OK;
		buf = read_small(md->dfd, KWTABLE_NAME, &len, &sb);
	} else if (md->st.kw.n == 0) {
		buf = read_small(md->dfd, KWTABLE_DOVECOT, &len, &sb);
		/* Neither ours nor Dovecot's: Courier's, once. */
		if (buf == NULL && errno == ENOENT &&
		    md_courier_import(md, locked) == 1 &&
		    fstatat(md->dfd, KWTABLE_NAME, &sb,
		    AT_SYMLINK_NOFOLLOW) == 0)
			return kw_load(md, grew, locked);
		memset(&sb.st_mtim, 0, sizeof(sb.st_mtim));
		sb.st_size = -1;
	} else {
		return STORE_OK;
	}
	if (buf == NULL)
		return STORE_OK;
	if (kwtable_parse(buf, len, &t) > 0)
		log_msg(LOG_WARNING, "%s: keyword table has bad lines",
		    md->path);
	free(buf);
	*grew = merge_table(&md->st.kw, &t);
	md->kw_mtime = sb.st_mtim;
	md->kw_size = sb.st_size;
	return STORE_OK;
}

enum store_result
md_kw_load(struct maildir *md, int *grew)
{
	return kw_load(md, grew, 0);
}

static int
write_table(struct maildir *md)
{
	struct buf b;
	char *path = xasprintf("%s/%s", md->path, KWTABLE_NAME);
	struct stat sb;
	int r;

	buf_init(&b, KW_FILE_MAX);
	r = kwtable_format(&md->st.kw, &b);
	if (r == 0)
		r = write_file_atomic(path, b.data != NULL ? b.data : "",
		    b.len, 0600);
	if (r == 0 && fstatat(md->dfd, KWTABLE_NAME, &sb,
	    AT_SYMLINK_NOFOLLOW) == 0) {
		md->kw_mtime = sb.st_mtim;
		md->kw_size = sb.st_size;
	}
	buf_free(&b);
	free(path);
	return r;
}

int
md_keyword(struct store *st, const char *name, int create)
{
	struct maildir *md = (struct maildir *)st;
	struct dotlock dl;
	int grew, k;

	(void)create;
	if (md_lock(md, &dl, NULL, 0) != STORE_OK)
		return -2;
	(void)kw_load(md, &grew, 1);	/* another session may have it */
	if ((k = kwtable_find(&st->kw, name)) < 0) {
		if ((k = kwtable_add(&st->kw, name)) < 0)
			k = -2;		/* full: 26 letters */
		else if (write_table(md) < 0) {
			log_msg(LOG_ERR, "%s/%s: cannot write: %m", md->path,
			    KWTABLE_NAME);
			free(st->kw.name[k]);
			st->kw.name[k] = NULL;
			st->kw.n = (unsigned)k;
			k = -2;
		}
	}
	dotlock_release(&dl);
	return k;
}

/* Keyword bits that have a name in the table. */
static kwset_t
named(const struct kwtable *t)
{
	kwset_t m = 0;

	for (unsigned i = 0; i < t->n && i < KW_MAX; i++)
		if (t->name[i] != NULL)
			m |= (kwset_t)1 << i;
	return m;
}

int
md_move_to_cur(struct maildir *md, struct store_msg *m)
{
	char from[NAME_MAX + 1], to[NAME_MAX + 4];
	const char *info = m->u.md.uniq + m->u.md.ulen + 1;
	size_t len;

	md_msg_file(m, from, sizeof(from));
	/* A name without info gets ":2," (the spec: "info" is added when
	 * a message moves to cur/); any other is kept as it is. */
	len = strlen(from);
	memcpy(to, from, len + 1);
	if (*info == '\0')
		memcpy(to + len, ":2,", 4);
	if (strlen(to) > NAME_MAX)
		return -1;
	if (renameat(md->sub[MD_NEW], from, md->sub[MD_CUR], to) < 0) {
		if (errno == ENOENT)
			(void)md_relocate(md, m);
		return -1;
	}
	md_msg_setname(m, to);
	m->u.md.sub = MD_CUR;
	return 0;
}

struct change {
	enum store_flag_op op;
	unsigned flags;
	kwset_t kw, keep;	/* keep: unnamed letters SET leaves alone */
};

static void
apply(const struct change *c, unsigned *fl, kwset_t *kw)
{
	switch (c->op) {
	case STORE_FLAGS_SET:
		*fl = c->flags;
		*kw = c->kw | (*kw & c->keep);
		break;
	case STORE_FLAGS_ADD:
		*fl |= c->flags;
		*kw |= c->kw;
		break;
	case STORE_FLAGS_REMOVE:
		*fl &= ~c->flags;
		*kw &= ~c->kw;
		break;
	}
}

/*
 * Rename m to carry the change, starting from the name the file has
 * now.  1 if renamed, 0 if nothing needed changing, else a store
 * result (< 0).
 */
static int
rename_flags(struct maildir *md, struct store_msg *m, const struct change *c,
    char *err, size_t errlen)
{
	char from[NAME_MAX + 1], to[NAME_MAX + 1], other[MD_OTHER_MAX];

	for (int tries = 0; tries < 5; tries++) {
		unsigned fl, nfl;
		kwset_t kw, nkw;

		md_msg_file(m, from, sizeof(from));
		if (md_info_parse(from, &fl, &kw, other) != 0)
			return store_fail(STORE_EPERM, err, errlen, "%s: the "
			    "name of %s cannot hold flags", md->path, from);
		nfl = fl, nkw = kw;
		apply(c, &nfl, &nkw);
		m->flags = (uint8_t)fl;
		m->kw = kw;
		if (nfl == fl && nkw == kw)
			return 0;
		if (md_info_format(m->u.md.uniq, nfl, nkw, other, to,
		    sizeof(to)) < 0)
			return store_fail(STORE_EPERM, err, errlen, "%s: no "
			    "room for the flags of %s", md->path, from);
		if (renameat(md->sub[m->u.md.sub], from, md->sub[MD_CUR],
		    to) == 0) {
			md_msg_setname(m, to);
			m->u.md.sub = MD_CUR;
			m->flags = (uint8_t)nfl;
			m->kw = nkw;
			return 1;
		}
		if (errno != ENOENT)
			return store_fail(STORE_ETEMP, err, errlen,
			    "%s: rename %s: %m", md->path, from);
		/* Renamed (or removed) by someone else since we looked. */
		if (md_relocate(md, m) < 0)
			return store_fail(STORE_ENOENT, err, errlen,
			    "the message has been expunged");
	}
	return store_fail(STORE_ETEMP, err, errlen, "%s: %s keeps being "
	    "renamed", md->path, m->u.md.uniq);
}

enum store_result
md_set_flags(struct store *st, unsigned i, enum store_flag_op op,
    unsigned flags, kwset_t kw, uint64_t unchangedsince, char *err,
    size_t errlen)
{
	struct maildir *md = (struct maildir *)st;
	struct store_msg *m = &st->msgs[i];
	struct change c = { op, flags, kw, ~named(&st->kw) };
	struct index_rec rec;
	struct dotlock dl;
	uint64_t cur = m->modseq;
	uint32_t pos;
	int r;

	if ((r = md_ix_lock(md, &dl, err, errlen)) != STORE_OK)
		return (enum store_result)r;
	/* The modseq all sessions agree on is the index's. */
	if (md_ix_find(md, m->uid, &pos, &rec) == 0 && rec.modseq > cur)
		cur = rec.modseq;
	if (unchangedsince != 0 && cur > unchangedsince)
		r = STORE_EMODIFIED;
	else if ((r = rename_flags(md, m, &c, err, errlen)) == 1) {
		m->modseq = md_ix_modseq(md);
		(void)md_ix_put(md, m, MD_PUT_STATE);
		r = STORE_OK;
	}
	dotlock_release(&dl);
	if (r == STORE_EMODIFIED)
		return store_fail(STORE_EMODIFIED, err, errlen,
		    "modified since %llu", (unsigned long long)unchangedsince);
	return (enum store_result)r;
}
