/*
 * maildir.c - the INBOX of a Maildir (cr.yp.to/proto/maildir.html, with
 * Dovecot's ,S= and ,W= name fields) as store.h describes it.
 *
 * A message is a regular file in cur/ or new/; its unique name is the
 * file name up to the first ':' (what follows, ":2,<flags>", changes
 * when a client sets flags).  UIDs live in postern-uidlist (uidlist.h),
 * changed only under the postern-uidlist.lock dot-lock and replaced
 * atomically; on first use dovecot-uidlist or courierimapuiddb are
 * imported.  The wire size of a message without ,W= is computed once
 * and cached in the same file: message files never change content.
 *
 * Trusts nothing in the directory: entries that are not regular files
 * (symlinks, directories, fifos) are skipped and never followed, names
 * are bounded by the filesystem, and a file is only ever deleted when
 * its unique name is exactly that of a message the client marked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lock.h"
#include "log.h"
#include "store_int.h"
#include "uidlist.h"
#include "util.h"

/* A postern-uidlist.lock older than this was left by a crash: no
 * update under it takes more than a few seconds. */
#define UIDLIST_STALE_SECS 120
#define SESSION_LOCK_NAME "postern-pop3.lock"

struct maildir {
	struct store st;
	char *path;
	int dfd, sub[2];	/* the maildir, cur/, new/ */
	int sess_fd;		/* POP3 session lock, or -1 */
	unsigned unknown;	/* messages whose wire size is not known */
	int sizes_dirty;	/* computed sizes not yet in the UID list */
};

static const char *const subdir[2] = { "cur", "new" };

static const struct store_ops maildir_ops;

/* errno after a failed system call on the maildir: permanent or not. */
static enum store_result
errno_result(void)
{
	return errno == EACCES || errno == ENOENT || errno == ENOTDIR ||
	    errno == ELOOP || errno == EPERM ? STORE_EPERM : STORE_ETEMP;
}

/* ",<key>=<digits>" in the unique name, or -1. */
static int64_t
name_field(const char *uniq, char key)
{
	for (const char *p = strchr(uniq, ','); p; p = strchr(p + 1, ',')) {
		int64_t v = 0;
		const char *s = p + 3;

		if (p[1] != key || p[2] != '=' || *s < '0' || *s > '9')
			continue;
		for (; *s >= '0' && *s <= '9' && v < ((int64_t)1 << 53); s++)
			v = v * 10 + (*s - '0');
		if (*s == ',' || *s == '\0')
			return v;
	}
	return -1;
}

/* W= if present and consistent with S=: LF to CRLF never shrinks and
 * at most doubles, plus one final CRLF. */
static int64_t
wire_from_name(const char *uniq)
{
	int64_t w = name_field(uniq, 'W'), s = name_field(uniq, 'S');

	if (w >= 0 && s >= 0 && (w < s || w > 2 * s + 2))
		return -1;
	return w;
}

static void
add_msg(struct maildir *md, size_t *cap, const char *name, int sub)
{
	struct store_msg *m;

	if (md->st.count == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		md->st.msgs = xreallocarray(md->st.msgs, *cap, sizeof(*m));
	}
	m = &md->st.msgs[md->st.count++];
	memset(m, 0, sizeof(*m));
	m->u.md.uniq = xstrndup(name, strcspn(name, ":"));
	m->u.md.file = xstrdup(name);
	m->u.md.sub = (uint8_t)sub;
	m->wire = wire_from_name(m->u.md.uniq);
}

/* Could this directory entry be a message?  Never follows a symlink. */
static int
is_message(int dirfd, const struct dirent *de)
{
	struct stat st;

	/* Dot files, and names the UID list could not hold (so their UIDs
	 * could not be kept). */
	if (!uidlist_name_ok(de->d_name, strcspn(de->d_name, ":")) ||
	    strchr(de->d_name, '\n') != NULL)
		return 0;
	if (de->d_type == DT_REG)
		return 1;
	if (de->d_type != DT_UNKNOWN)
		return 0;
	return fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode);
}

static DIR *
open_sub(struct maildir *md, int sub)
{
	int fd = openat(md->sub[sub], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;

	if (fd < 0)
		return NULL;
	if ((d = fdopendir(fd)) == NULL)
		close(fd);
	return d;
}

static enum store_result
scan_sub(struct maildir *md, int sub, size_t *cap, char *err, size_t errlen)
{
	DIR *d = open_sub(md, sub);
	struct dirent *de;

	if (d == NULL)
		return store_fail(errno_result(), err, errlen, "%s/%s: %m",
		    md->path, subdir[sub]);
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (!is_message(md->sub[sub], de))
			continue;
		if (md->st.count >= STORE_MAX_MSGS) {
			closedir(d);
			return store_fail(STORE_EPERM, err, errlen, "%s holds "
			    "more than %u messages", md->path, STORE_MAX_MSGS);
		}
		add_msg(md, cap, de->d_name, sub);
	}
	if (errno != 0) {
		closedir(d);
		return store_fail(STORE_ETEMP, err, errlen, "reading %s/%s: %m",
		    md->path, subdir[sub]);
	}
	closedir(d);
	return STORE_OK;
}

static int
cmp_uniq(const void *a, const void *b)
{
	const struct store_msg *x = a, *y = b;

	return strcmp(x->u.md.uniq, y->u.md.uniq);
}

/* UID order; messages without one (0) last, by unique name. */
static int
cmp_uid(const void *a, const void *b)
{
	const struct store_msg *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid == 0 ? 1 : y->uid == 0 ? -1 : x->uid < y->uid ?
		    -1 : 1;
	return cmp_uniq(a, b);
}

static void
free_msg(struct store_msg *m)
{
	free(m->u.md.uniq);
	free(m->u.md.file);
}

/* cur/ and new/ into st.msgs, sorted by unique name, one per name (a
 * concurrent flag change can show one file under two names). */
static enum store_result
scan(struct maildir *md, char *err, size_t errlen)
{
	size_t cap = 0, o = 0;
	enum store_result r;

	for (int sub = 0; sub < 2; sub++)
		if ((r = scan_sub(md, sub, &cap, err, errlen)) != STORE_OK)
			return r;
	if (md->st.count > 1)
		qsort(md->st.msgs, md->st.count, sizeof(*md->st.msgs), cmp_uniq);
	for (unsigned i = 0; i < md->st.count; i++) {
		if (o > 0 && cmp_uniq(&md->st.msgs[o - 1], &md->st.msgs[i]) == 0)
			free_msg(&md->st.msgs[i]);
		else
			md->st.msgs[o++] = md->st.msgs[i];
	}
	md->st.count = (unsigned)o;
	return STORE_OK;
}

static void
fresh_list(struct uidlist *ul)
{
	uidlist_init(ul, UIDLIST_POSTERN);
	ul->header = 1;
	ul->uidvalidity = (uint32_t)time(NULL);
	ul->uidnext = 1;
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

/* Our list, else an imported one, else a new one.  *dirty: the file
 * must be (re)written. */
static enum store_result
load_list(struct maildir *md, struct uidlist *ul, int *dirty, char *err,
    size_t errlen)
{
	int r = uidlist_read(ul, md->dfd, UIDLIST_NAME, UIDLIST_POSTERN);

	if (r == 1) {
		if (ul->bad_lines > 0) {
			log_msg(LOG_WARNING, "%s/%s: skipped %u bad lines",
			    md->path, UIDLIST_NAME, ul->bad_lines);
			*dirty = 1;
		}
		return STORE_OK;
	}
	if (r == -2)
		return store_fail(STORE_ETEMP, err, errlen, "%s/%s: %m",
		    md->path, UIDLIST_NAME);
	*dirty = 1;
	if (r == -1) {
		/* Without a header the UIDs cannot be trusted to be unused:
		 * start over under a new UIDVALIDITY (RFC 3501 2.3.1.1). */
		log_msg(LOG_WARNING, "%s/%s: bad header; new UIDVALIDITY",
		    md->path, UIDLIST_NAME);
	} else if (import(md, ul, "dovecot-uidlist", UIDLIST_DOVECOT) ||
	    import(md, ul, "courierimapuiddb", UIDLIST_COURIER)) {
		return STORE_OK;
	}
	fresh_list(ul);
	return STORE_OK;
}

/* Out of UIDs (uidnext would pass 2^32-1): new UIDVALIDITY, renumber
 * from 1 in the current order. */
static void
renumber(struct maildir *md, struct uidlist *ul)
{
	uint32_t v = (uint32_t)time(NULL);

	log_msg(LOG_WARNING, "%s: UIDs exhausted; new UIDVALIDITY", md->path);
	ul->uidvalidity = v != ul->uidvalidity && v != 0 ? v :
	    ul->uidvalidity + 1;
	if (md->st.count > 1)
		qsort(md->st.msgs, md->st.count, sizeof(*md->st.msgs), cmp_uid);
	for (unsigned i = 0; i < md->st.count; i++)
		md->st.msgs[i].uid = i + 1;
	ul->uidnext = md->st.count + 1;
}

/* Give each message its listed UID and cached size; new messages get
 * the next UIDs in unique-name order (names start with the delivery
 * time, so this is arrival order).  Returns how many were new. */
static unsigned
merge(struct maildir *md, struct uidlist *ul, int *dirty)
{
	unsigned found = 0, fresh = 0;

	uidlist_sort_names(ul);
	for (unsigned i = 0; i < md->st.count; i++) {
		struct store_msg *m = &md->st.msgs[i];
		struct uidlist_entry *e = uidlist_find_name(ul, m->u.md.uniq);

		if (e == NULL) {
			fresh++;
			continue;
		}
		found++;
		m->uid = e->uid;
		if (m->wire < 0)
			m->wire = e->wire;
	}
	if (found != ul->n || fresh > 0)
		*dirty = 1;	/* entries of vanished files are dropped */
	if ((uint64_t)ul->uidnext + fresh > UINT32_MAX)
		renumber(md, ul);
	else
		for (unsigned i = 0; i < md->st.count; i++)
			if (md->st.msgs[i].uid == 0)
				md->st.msgs[i].uid = ul->uidnext++;
	if (md->st.count > 1)
		qsort(md->st.msgs, md->st.count, sizeof(*md->st.msgs), cmp_uid);
	uidlist_free(ul);
	for (unsigned i = 0; i < md->st.count; i++)
		uidlist_add(ul, md->st.msgs[i].uid, md->st.msgs[i].wire,
		    md->st.msgs[i].u.md.uniq);
	return fresh;
}

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

static enum store_result
take_list_lock(struct maildir *md, struct dotlock *dl, char *err,
    size_t errlen)
{
	char *lock = xasprintf("%s/%s.lock", md->path, UIDLIST_NAME);
	int r = dotlock_take(dl, lock, UIDLIST_STALE_SECS,
	    STORE_LOCK_TIMEOUT_MS, 0);

	free(lock);
	if (r == 0)
		return STORE_OK;
	if (errno == ETIMEDOUT)
		return store_fail(STORE_ETEMP, err, errlen, "%s/%s.lock is "
		    "held by another process", md->path, UIDLIST_NAME);
	return store_fail(errno_result(), err, errlen, "%s/%s.lock: %m",
	    md->path, UIDLIST_NAME);
}

/* The snapshot: scan and assign UIDs under the UID list lock, so the
 * list we read is at least as new as the directories we saw. */
static enum store_result
sync_uids(struct maildir *md, char *err, size_t errlen)
{
	struct dotlock dl;
	struct uidlist ul;
	int dirty = 0;
	unsigned fresh = 0;
	enum store_result r;

	uidlist_init(&ul, UIDLIST_POSTERN);
	if ((r = take_list_lock(md, &dl, err, errlen)) != STORE_OK)
		return r;
	if ((r = scan(md, err, errlen)) == STORE_OK &&
	    (r = load_list(md, &ul, &dirty, err, errlen)) == STORE_OK) {
		fresh = merge(md, &ul, &dirty);
		md->st.uidvalidity = ul.uidvalidity;
		/* UIDs handed out must be on disk, or a later session could
		 * give them to other messages; a cache refresh may fail. */
		if (dirty && write_list(md, &ul) < 0 && fresh > 0)
			r = store_fail(STORE_ETEMP, err, errlen,
			    "cannot save new UIDs in %s", md->path);
	}
	dotlock_release(&dl);
	uidlist_free(&ul);
	for (unsigned i = 0; i < md->st.count; i++)
		md->unknown += md->st.msgs[i].wire < 0;
	return r;
}

/* Message with this UID in our (UID-sorted) list, or NULL. */
static struct store_msg *
find_uid(struct maildir *md, uint32_t uid)
{
	unsigned lo = 0, hi = md->st.count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (md->st.msgs[mid].uid == uid)
			return &md->st.msgs[mid];
		if (md->st.msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * Bring the UID list up to date with this session: drop expunged
 * messages, record computed sizes.  The list is re-read under the lock
 * (other sessions may have added UIDs); only entries whose UID and name
 * match ours are touched.  Best effort: the next open repairs the list.
 */
static void
flush(struct maildir *md)
{
	struct dotlock dl;
	struct uidlist ul;
	size_t o = 0;
	int changed = 0;

	if (take_list_lock(md, &dl, NULL, 0) != STORE_OK) {
		log_msg(LOG_WARNING, "%s: UID list busy; not updated", md->path);
		return;
	}
	if (uidlist_read(&ul, md->dfd, UIDLIST_NAME, UIDLIST_POSTERN) == 1 &&
	    ul.uidvalidity == md->st.uidvalidity) {
		for (size_t i = 0; i < ul.n; i++) {
			struct uidlist_entry *e = &ul.e[i];
			struct store_msg *m = find_uid(md, e->uid);

			if (m != NULL && strcmp(m->u.md.uniq, e->name) == 0) {
				if (m->u.md.gone) {
					free(e->name);
					changed = 1;
					continue;
				}
				if (e->wire < 0 && m->wire >= 0) {
					e->wire = m->wire;
					changed = 1;
				}
			}
			ul.e[o++] = *e;
		}
		ul.n = o;
		if (changed)
			(void)write_list(md, &ul);
	}
	uidlist_free(&ul);
	dotlock_release(&dl);
	md->sizes_dirty = 0;
}

/* Open a directory entry for reading, only if it is a regular file
 * (O_NONBLOCK so a fifo swapped in cannot hang us). */
static int
open_entry(int dirfd, const char *name)
{
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

/* The message was renamed (its flags changed) since we looked: find
 * its current name by unique name.  0, or -1 with errno ENOENT. */
static int
relocate(struct maildir *md, struct store_msg *m)
{
	size_t n = strlen(m->u.md.uniq);

	for (int sub = 0; sub < 2; sub++) {
		DIR *d = open_sub(md, sub);
		struct dirent *de;

		while (d != NULL && (de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, m->u.md.uniq, n) != 0 ||
			    (de->d_name[n] != ':' && de->d_name[n] != '\0') ||
			    !is_message(md->sub[sub], de))
				continue;
			free(m->u.md.file);
			m->u.md.file = xstrdup(de->d_name);
			m->u.md.sub = (uint8_t)sub;
			closedir(d);
			return 0;
		}
		if (d != NULL)
			closedir(d);
	}
	errno = ENOENT;
	return -1;
}

static int
open_msg(struct maildir *md, struct store_msg *m)
{
	int fd = open_entry(md->sub[m->u.md.sub], m->u.md.file);

	if (fd < 0 && errno == ENOENT && relocate(md, m) == 0)
		fd = open_entry(md->sub[m->u.md.sub], m->u.md.file);
	return fd;
}

static int64_t
md_wire_size(struct store *st, unsigned i)
{
	struct maildir *md = (struct maildir *)st;
	struct store_msg *m = &st->msgs[i];
	unsigned char *buf;
	struct crlf c;
	ssize_t n;
	int fd;

	if ((fd = open_msg(md, m)) < 0)
		return -1;
	buf = xmalloc(STORE_IOBUF);
	crlf_init(&c);
	while ((n = read(fd, buf, STORE_IOBUF)) > 0)
		crlf_count(&c, buf, (size_t)n);
	free(buf);
	close(fd);
	if (n < 0)
		return -1;
	m->wire = (int64_t)crlf_count_finish(&c);
	md->sizes_dirty = 1;
	if (md->unknown > 0 && --md->unknown == 0)
		flush(md);	/* the first STAT/LIST pass is complete */
	return m->wire;
}

struct md_stream {
	struct msg_stream ms;
	int fd;
};

static ssize_t
md_stream_read(struct msg_stream *ms, void *buf, size_t n)
{
	struct md_stream *s = (struct md_stream *)ms;
	ssize_t r;

	while ((r = read(s->fd, buf, n)) < 0 && errno == EINTR)
		;
	return r;
}

static void
md_stream_close(struct msg_stream *ms)
{
	struct md_stream *s = (struct md_stream *)ms;

	close(s->fd);
	free(s);
}

static enum store_result
md_msg_open(struct store *st, unsigned i, struct msg_stream **out)
{
	struct maildir *md = (struct maildir *)st;
	struct md_stream *s;
	int fd = open_msg(md, &st->msgs[i]);

	if (fd < 0)
		return errno == ENOENT ? STORE_EPERM : STORE_ETEMP;
	s = xcalloc(1, sizeof(*s));
	s->ms.read = md_stream_read;
	s->ms.close = md_stream_close;
	s->fd = fd;
	*out = &s->ms;
	return STORE_OK;
}

/* 0 when the message is gone (also if someone else removed it). */
static int
unlink_msg(struct maildir *md, struct store_msg *m)
{
	if (unlinkat(md->sub[m->u.md.sub], m->u.md.file, 0) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	if (relocate(md, m) < 0)
		return 0;
	if (unlinkat(md->sub[m->u.md.sub], m->u.md.file, 0) == 0 ||
	    errno == ENOENT)
		return 0;
	return -1;
}

static enum store_result
md_expunge(struct store *st, const unsigned char *del, char *err,
    size_t errlen)
{
	struct maildir *md = (struct maildir *)st;
	enum store_result r = STORE_OK;
	unsigned o = 0, nfail = 0;

	for (unsigned i = 0; i < st->count; i++) {
		if (!del[i])
			continue;
		if (unlink_msg(md, &st->msgs[i]) < 0) {
			r = store_fail(STORE_ETEMP, err, errlen, "%s: cannot "
			    "remove %s: %m", md->path, st->msgs[i].u.md.file);
			nfail++;
		} else {
			st->msgs[i].u.md.gone = 1;
		}
	}
	flush(md);
	md->unknown = 0;
	for (unsigned i = 0; i < st->count; i++) {
		if (st->msgs[i].u.md.gone) {
			free_msg(&st->msgs[i]);
			continue;
		}
		md->unknown += st->msgs[i].wire < 0;
		st->msgs[o++] = st->msgs[i];
	}
	st->count = o;
	if (nfail > 1)
		log_msg(LOG_ERR, "%s: %u messages could not be removed",
		    md->path, nfail);
	return r;
}

static void
md_close(struct store *st)
{
	struct maildir *md = (struct maildir *)st;

	if (md->sizes_dirty)
		flush(md);
	for (unsigned i = 0; i < st->count; i++)
		free_msg(&st->msgs[i]);
	free(st->msgs);
	for (int i = 0; i < 2; i++)
		if (md->sub[i] >= 0)
			close(md->sub[i]);
	if (md->dfd >= 0)
		close(md->dfd);
	if (md->sess_fd >= 0)
		close(md->sess_fd);
	free(md->path);
	free(md);
}

static const struct store_ops maildir_ops = {
	.close = md_close,
	.wire_size = md_wire_size,
	.msg_open = md_msg_open,
	.expunge = md_expunge,
	.touch = NULL,
};

/* Open the maildir and cur/ new/, creating them (and tmp/) like an MDA
 * would if the user has never received mail. */
static enum store_result
open_dirs(struct maildir *md, char *err, size_t errlen)
{
	if (mkdir(md->path, 0700) < 0 && errno != EEXIST)
		return store_fail(errno_result(), err, errlen, "mkdir %s: %m",
		    md->path);
	md->dfd = open(md->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (md->dfd < 0)
		return store_fail(errno_result(), err, errlen, "%s: %m",
		    md->path);
	for (int i = 0; i < 3; i++) {
		const char *name = i < 2 ? subdir[i] : "tmp";

		if (mkdirat(md->dfd, name, 0700) < 0 && errno != EEXIST)
			return store_fail(errno_result(), err, errlen,
			    "mkdir %s/%s: %m", md->path, name);
		if (i < 2 && (md->sub[i] = openat(md->dfd, name, O_RDONLY |
		    O_DIRECTORY | O_CLOEXEC)) < 0)
			return store_fail(errno_result(), err, errlen,
			    "%s/%s: %m", md->path, name);
	}
	return STORE_OK;
}

static enum store_result
session_lock(struct maildir *md, char *err, size_t errlen)
{
	char *path = xasprintf("%s/%s", md->path, SESSION_LOCK_NAME);

	md->sess_fd = lock_session_file(path);
	free(path);
	if (md->sess_fd >= 0)
		return STORE_OK;
	if (errno == EAGAIN)
		return store_fail(STORE_EINUSE, err, errlen, "%s is in use by "
		    "another POP3 session", md->path);
	return store_fail(errno_result(), err, errlen, "%s/%s: %m", md->path,
	    SESSION_LOCK_NAME);
}

enum store_result
maildir_open(const char *dir, int flags, struct store **out, char *err,
    size_t errlen)
{
	struct maildir *md = xcalloc(1, sizeof(*md));
	enum store_result r;

	md->st.ops = &maildir_ops;
	md->st.maildir = 1;
	md->path = xstrdup(dir);
	md->dfd = md->sub[0] = md->sub[1] = md->sess_fd = -1;
	if ((r = open_dirs(md, err, errlen)) == STORE_OK &&
	    (!(flags & STORE_SESSION_LOCK) ||
	    (r = session_lock(md, err, errlen)) == STORE_OK) &&
	    (r = sync_uids(md, err, errlen)) == STORE_OK) {
		*out = &md->st;
		return STORE_OK;
	}
	md->sizes_dirty = 0;
	md_close(&md->st);
	return r;
}
