/*
 * maildir_append.c - APPEND, COPY and MOVE into a Maildir: transactions
 * as store.h describes them.
 *
 * Staging writes each message into tmp/ under a Maildir-spec unique
 * name (<sec>.M<usec>P<pid>Q<n>.<host>), fsyncs it and sets its mtime to
 * the internal date; a copy from another Maildir on the same file system
 * is a hard link instead.  The commit, under postern-uidlist.lock:
 * consecutive UIDs appended to postern-uidlist and fsynced, then each
 * file renamed into cur/ as <uniq>,S=<size>,W=<wire>:2,<flags>, cur/
 * fsynced, then the index records appended.  A crash at any point
 * leaves each message either in tmp/ (invisible, removed after 36
 * hours) or in cur/ exactly once under the UID the list gave it; a UID
 * listed for a file that never arrived is only a dead entry.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "crlf.h"
#include "log.h"
#include "mdflags.h"
#include "store_int.h"
#include "maildir_int.h"
#include "util.h"

struct md_append {
	struct store_append a;
	struct maildir *md;
	int fd;
	char *tmpname;
	unsigned flags;
	kwset_t kw;
	time_t internal;
	int cr, nul, failed;
	int64_t raw;
	struct crlf c;		/* the wire size of what is stored */
};

/* The host part of a unique name: the spec replaces '/' with \057 and
 * ':' with \072; we keep it short and printable as well. */
static void
host_part(char *out, size_t n)
{
	char h[256] = "localhost";
	size_t o = 0;

	(void)gethostname(h, sizeof(h) - 1);
	h[sizeof(h) - 1] = '\0';
	for (const char *p = h; *p != '\0' && o + 5 < n && o < 64; p++) {
		if (*p == '/' || *p == ':')
			o += (size_t)snprintf(out + o, n - o, "\\%03o",
			    (unsigned char)*p);
		else if (*p > 0x20 && *p < 0x7f && *p != '.' && *p != ',')
			out[o++] = *p;
	}
	out[o] = '\0';
	if (o == 0)
		snprintf(out, n, "localhost");
}

/* A new file in tmp/ with a fresh unique name: its fd, name in *name. */
static int
create_tmp(struct maildir *md, char **name)
{
	char host[80];

	host_part(host, sizeof(host));
	for (int tries = 0; tries < 100; tries++) {
		struct timeval tv;
		int fd;

		gettimeofday(&tv, NULL);
		*name = xasprintf("%lld.M%ldP%ldQ%u.%s", (long long)tv.tv_sec,
		    (long)tv.tv_usec, (long)getpid(), ++md->stage_seq, host);
		fd = openat(md->tmpfd, *name, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
		free(*name);
	}
	*name = NULL;
	errno = EEXIST;
	return -1;
}

/* Queue a staged file for the commit. */
static void
stage(struct maildir *md, char *tmpname, unsigned flags, kwset_t kw,
    int64_t internal, int64_t raw, int64_t wire)
{
	struct md_staged *s;

	/* grown by doubling: a COPY may stage STORE_STAGE_MAX messages */
	if (md->nstage < 8 || (md->nstage & (md->nstage - 1)) == 0)
		md->stage = xreallocarray(md->stage, md->nstage < 8 ? 8 :
		    md->nstage * 2, sizeof(*md->stage));
	s = &md->stage[md->nstage++];
	s->tmpname = tmpname;
	if (raw >= 0 && wire >= 0)
		s->uniq = xasprintf("%s,S=%lld,W=%lld", tmpname,
		    (long long)raw, (long long)wire);
	else
		s->uniq = xstrdup(tmpname);
	s->flags = flags;
	s->kw = kw;
	s->internal = internal;
	s->raw = raw;
	s->wire = wire;
}

static int
put(struct md_append *ap, const char *p, size_t n)
{
	if (n == 0 || ap->failed)
		return 0;
	crlf_count(&ap->c, (const unsigned char *)p, n);
	ap->raw += (int64_t)n;
	if (write_all(ap->fd, p, n) < 0)
		ap->failed = errno ? errno : EIO;
	return 0;
}

/* CRLF to LF as the bytes pass: Maildir keeps LF, as MDAs write it. */
static enum store_result
md_append_write(struct store_append *a, const void *p, size_t n)
{
	struct md_append *ap = (struct md_append *)a;
	const char *s = p, *start = s;

	if (memchr(s, '\0', n) != NULL)
		ap->nul = 1;
	for (size_t i = 0; i < n; i++) {
		if (ap->cr) {
			ap->cr = 0;
			if (s[i] != '\n')
				put(ap, "\r", 1);
		}
		if (s[i] == '\r') {
			put(ap, start, (size_t)(s + i - start));
			ap->cr = 1;
			start = s + i + 1;
		}
	}
	put(ap, start, (size_t)(s + n - start));
	return ap->failed ? STORE_ETEMP : STORE_OK;
}

static void
drop(struct md_append *ap)
{
	if (ap->fd >= 0)
		close(ap->fd);
	if (ap->tmpname != NULL) {
		unlinkat(ap->md->tmpfd, ap->tmpname, 0);
		free(ap->tmpname);
	}
	free(ap);
}

static enum store_result
md_append_end(struct store_append *a, char *err, size_t errlen)
{
	struct md_append *ap = (struct md_append *)a;
	struct timespec t[2] = { { 0, UTIME_NOW }, { ap->internal, 0 } };
	enum store_result r;

	if (ap->cr)
		put(ap, "\r", 1);
	if (ap->raw == 0 || ap->nul)
		r = store_fail(STORE_EBADNAME, err, errlen, ap->nul ?
		    "a message with a NUL byte" : "an empty message");
	else if (ap->failed || fsync(ap->fd) < 0 || futimens(ap->fd, t) < 0)
		r = store_fail(errno == ENOSPC || errno == EDQUOT ? STORE_EFULL :
		    STORE_ETEMP, err, errlen, "%s/tmp: %s", ap->md->path,
		    strerror(ap->failed ? ap->failed : errno));
	else
		r = STORE_OK;
	if (r != STORE_OK) {
		drop(ap);
		return r;
	}
	close(ap->fd);
	stage(ap->md, ap->tmpname, ap->flags, ap->kw, ap->internal, ap->raw,
	    (int64_t)crlf_count_finish(&ap->c));
	free(ap);
	return STORE_OK;
}

enum store_result
md_append_begin(struct store *st, unsigned flags, kwset_t kw, time_t internal,
    struct store_append **out, char *err, size_t errlen)
{
	struct maildir *md = (struct maildir *)st;
	struct md_append *ap;

	if (md->nstage >= STORE_STAGE_MAX)
		return store_fail(STORE_EFULL, err, errlen, "at most %u "
		    "messages per transaction", STORE_STAGE_MAX);
	ap = xcalloc(1, sizeof(*ap));
	ap->a.write = md_append_write;
	ap->a.end = md_append_end;
	ap->md = md;
	ap->flags = flags;
	ap->kw = kw;
	ap->internal = internal >= 0 ? internal : time(NULL);
	crlf_init(&ap->c);
	if ((ap->fd = create_tmp(md, &ap->tmpname)) < 0) {
		enum store_result r = store_fail(md_errno(), err, errlen,
		    "%s/tmp: %m", md->path);

		drop(ap);
		return r;
	}
	*out = &ap->a;
	return STORE_OK;
}

/* src's keywords as bits of dst's table, adding names dst lacks. */
static enum store_result
map_keywords(struct store *src, kwset_t kw, struct store *dst, kwset_t *out,
    char *err, size_t errlen)
{
	*out = 0;
	for (unsigned b = 0; b < KW_MAX; b++) {
		int k;

		if (!(kw & ((kwset_t)1 << b)) || b >= src->kw.n ||
		    src->kw.name[b] == NULL)
			continue;
		if ((k = store_keyword(dst, src->kw.name[b], 1)) < 0)
			return store_fail(k == -2 ? STORE_EFULL :
			    STORE_EBADNAME, err, errlen, "keyword %s does not "
			    "fit the target folder", src->kw.name[b]);
		*out |= (kwset_t)1 << k;
	}
	return STORE_OK;
}

/* Maildir to Maildir: a hard link into dst's tmp/.  1 linked, 0 not
 * possible (another file system: copy), or a store result. */
static int
link_copy(struct maildir *smd, unsigned si, struct maildir *dmd,
    unsigned flags, kwset_t kw, char *err, size_t errlen)
{
	struct store_msg *m = &smd->st.msgs[si];
	struct timespec t[2] = { { 0, UTIME_NOW }, { 0, UTIME_OMIT } };
	char fn[NAME_MAX + 1], *name = NULL;
	int64_t raw = store_raw_size(&smd->st, si);
	int64_t wire = store_wire_size(&smd->st, si);
	time_t internal = store_internal_date(&smd->st, si);

	for (int tries = 0; tries < 2; tries++) {
		struct timeval tv;
		char host[80];

		host_part(host, sizeof(host));
		gettimeofday(&tv, NULL);
		name = xasprintf("%lld.M%ldP%ldQ%u.%s", (long long)tv.tv_sec,
		    (long)tv.tv_usec, (long)getpid(), ++dmd->stage_seq, host);
		if (linkat(smd->sub[m->u.md.sub], md_msg_file(m, fn,
		    sizeof(fn)), dmd->tmpfd, name, 0) == 0)
			break;
		free(name);
		name = NULL;
		if (errno == EXDEV || errno == EPERM || errno == EMLINK)
			return 0;
		if (errno != ENOENT && errno != EEXIST)
			return store_fail(STORE_ETEMP, err, errlen,
			    "link into %s/tmp: %m", dmd->path);
		if (errno == ENOENT && md_relocate(smd, m) < 0)
			return store_fail(STORE_ENOENT, err, errlen,
			    "the message has been expunged");
	}
	if (name == NULL)
		return store_fail(STORE_ETEMP, err, errlen, "cannot link into "
		    "%s/tmp", dmd->path);
	/* Recently touched, so no tmp/ cleaning takes it for debris. */
	(void)utimensat(dmd->tmpfd, name, t, AT_SYMLINK_NOFOLLOW);
	stage(dmd, name, flags, kw, internal, raw, wire);
	return 1;
}

static enum store_result
stream_copy(struct store *src, unsigned si, struct store *dst,
    unsigned flags, kwset_t kw, char *err, size_t errlen)
{
	struct store_append *a;
	struct msg_stream *ms;
	enum store_result r;
	char *buf;
	ssize_t n;

	if ((r = store_msg_open(src, si, &ms)) != STORE_OK)
		return store_fail(r, err, errlen, "cannot read the message");
	if ((r = md_append_begin(dst, flags, kw, store_internal_date(src, si),
	    &a, err, errlen)) != STORE_OK) {
		msg_stream_close(ms);
		return r;
	}
	buf = xmalloc(STORE_IOBUF);
	while ((n = msg_stream_read(ms, buf, STORE_IOBUF)) > 0)
		if ((r = a->write(a, buf, (size_t)n)) != STORE_OK)
			break;
	free(buf);
	msg_stream_close(ms);
	if (n < 0)
		((struct md_append *)a)->failed = EIO;
	return a->end(a, err, errlen);
}

enum store_result
md_copy(struct store *src, unsigned si, struct store *dst, char *err,
    size_t errlen)
{
	struct maildir *dmd = (struct maildir *)dst;
	unsigned flags = src->msgs[si].flags;
	kwset_t kw;
	enum store_result r;
	int l;

	if (dmd->nstage >= STORE_STAGE_MAX)
		return store_fail(STORE_EFULL, err, errlen, "at most %u "
		    "messages per transaction", STORE_STAGE_MAX);
	if ((r = map_keywords(src, src->msgs[si].kw, dst, &kw, err,
	    errlen)) != STORE_OK)
		return r;
	if (src->maildir) {
		l = link_copy((struct maildir *)src, si, dmd, flags, kw, err,
		    errlen);
		if (l != 0)
			return l > 0 ? STORE_OK : (enum store_result)l;
	}
	return stream_copy(src, si, dst, flags, kw, err, errlen);
}

static void
free_stage(struct maildir *md, int unlink_files)
{
	for (size_t i = 0; i < md->nstage; i++) {
		if (unlink_files)
			unlinkat(md->tmpfd, md->stage[i].tmpname, 0);
		free(md->stage[i].tmpname);
		free(md->stage[i].uniq);
	}
	free(md->stage);
	md->stage = NULL;
	md->nstage = 0;
}

void
md_append_abort(struct store *dst)
{
	free_stage((struct maildir *)dst, 1);
}

/* The staged files into cur/, all or none. */
static enum store_result
publish(struct maildir *md, char **final, char *err, size_t errlen)
{
	for (size_t i = 0; i < md->nstage; i++) {
		struct md_staged *s = &md->stage[i];
		char to[NAME_MAX + 1];

		if (md_info_format(s->uniq, s->flags, s->kw, "", to,
		    sizeof(to)) == 0 && renameat(md->tmpfd, s->tmpname,
		    md->sub[MD_CUR], to) == 0) {
			final[i] = xstrdup(to);
			continue;
		}
		while (i-- > 0) {	/* put the others back */
			(void)renameat(md->sub[MD_CUR], final[i], md->tmpfd,
			    md->stage[i].tmpname);
			free(final[i]);
			final[i] = NULL;
		}
		return store_fail(STORE_ETEMP, err, errlen, "%s: cannot move "
		    "into cur/: %m", md->path);
	}
	if (fsync(md->sub[MD_CUR]) < 0)
		log_msg(LOG_WARNING, "%s/cur: fsync: %m", md->path);
	return STORE_OK;
}

/* Index records for the new messages (a cache: failures only log). */
static void
index_new(struct maildir *md, char **final, uint32_t first)
{
	struct store_msg *m = xcalloc(md->nstage + 1, sizeof(*m));
	uint64_t ms = md_ix_modseq(md);
	struct index_hdr h;

	for (size_t i = 0; i < md->nstage; i++) {
		m[i].uid = first + (uint32_t)i;
		m[i].flags = (uint8_t)md->stage[i].flags;
		m[i].kw = md->stage[i].kw;
		m[i].modseq = ms;
		m[i].internal = md->stage[i].internal;
		m[i].wire = md->stage[i].wire;
		m[i].raw = md->stage[i].raw;
		m[i].u.md.pos = MD_NOPOS;
		md_msg_setname(&m[i], final[i]);
	}
	if (md->ix != NULL && md_ix_append(md, m, md->nstage) == 0) {
		h = *index_header(md->ix);
		if (h.uidnext < md->st.uidnext)
			h.uidnext = md->st.uidnext;
		(void)index_put_hdr(md->ix, &h);
	}
	for (size_t i = 0; i < md->nstage; i++)
		md_msg_free(&m[i]);
	free(m);
}

enum store_result
md_append_commit(struct store *dst, uint32_t *uids, size_t *n,
    uint32_t *uidvalidity, char *err, size_t errlen)
{
	struct maildir *md = (struct maildir *)dst;
	char **names, **final;
	int64_t *wire;
	struct dotlock dl;
	uint32_t first = 0;
	enum store_result r;

	*uidvalidity = dst->uidvalidity;
	if (md->nstage == 0)
		return STORE_OK;
	if ((r = md_ix_lock(md, &dl, err, errlen)) != STORE_OK)
		return r;
	names = xcalloc(md->nstage, sizeof(*names));
	final = xcalloc(md->nstage, sizeof(*final));
	wire = xcalloc(md->nstage, sizeof(*wire));
	for (size_t i = 0; i < md->nstage; i++) {
		names[i] = md->stage[i].uniq;
		wire[i] = md->stage[i].wire;
	}
	if ((r = md_uids_append(md, names, wire, md->nstage, &first, err,
	    errlen)) == STORE_OK &&
	    (r = publish(md, final, err, errlen)) == STORE_OK) {
		index_new(md, final, first);
		for (size_t i = 0; i < md->nstage; i++)
			uids[i] = first + (uint32_t)i;
		*n = md->nstage;
	}
	dotlock_release(&dl);
	for (size_t i = 0; i < md->nstage; i++)
		free(final[i]);
	free(final);
	free(names);
	free(wire);
	/* Committed files are in cur/ now; failed ones stay staged for
	 * a retry or store_append_abort(). */
	if (r == STORE_OK)
		free_stage(md, 0);
	return r;
}

/* The Maildir spec: "if a file in tmp/ hasn't been accessed in 36
 * hours, delete it".  Looked at every MD_TMP_SCAN_SECS at most (tmp/'s
 * atime, set after each look, says when), as Dovecot does. */
void
md_tmp_cleanup(struct maildir *md)
{
	struct timespec t[2] = { { 0, UTIME_NOW }, { 0, UTIME_OMIT } };
	time_t now = time(NULL);
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int fd;

	if (md->tmpfd < 0 || fstat(md->tmpfd, &sb) < 0 ||
	    now - sb.st_atime < MD_TMP_SCAN_SECS)
		return;
	if ((fd = openat(md->tmpfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || fstatat(md->tmpfd, de->d_name, &sb,
		    AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(sb.st_mode))
			continue;
		if (now - sb.st_atime > MD_TMP_STALE_SECS &&
		    now - sb.st_mtime > MD_TMP_STALE_SECS &&
		    unlinkat(md->tmpfd, de->d_name, 0) == 0)
			log_msg(LOG_INFO, "%s/tmp: removed stale %s", md->path,
			    de->d_name);
	}
	closedir(d);
	(void)futimens(md->tmpfd, t);
}
