/*
 * maildir_courier.c - Courier-IMAP's keywords imported once, the way
 * Dovecot's courier-dovecot-migrate.pl converts them, so a Maildir
 * moved from Courier keeps them.
 *
 * Courier keeps them in courierimapkeywords/ in the folder:
 *   :list       keyword names one per line (line k is index k), an
 *               empty line, then "<unique name>:<k> <k> ..." lines;
 *   .<N>.<uniq> a message's complete keyword set, one name per line,
 *               overriding :list (the highest N wins);
 *   <uniq>      the same, overriding every .<N>. form.
 * Names an update file gives that :list lacks are added to the table.
 *
 * The import runs under the folder's lock when neither postern-keywords
 * nor dovecot-keywords (which keeps priority) exists: it builds the
 * table, renames each listed message so its keyword letters are
 * Courier's set (the other letters kept; a file gone is skipped; one
 * in new/, which Courier's APPEND can give keywords, moves to cur/ as
 * a flag change would take it), and writes postern-keywords last,
 * so a crash before that only repeats the import, which is idempotent.
 * Courier's files are only read.
 *
 * Every byte is untrusted: the files are bounded in size, lines in
 * length, the directory in entries; symlinks are never followed; an
 * update file name with '/' or ':', or starting with '.' other than
 * the .<N>. form, is skipped.
 */
#include <dirent.h>
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

#define CK_DIR "courierimapkeywords"
#define CK_LIST ":list"
#define CK_LIST_MAX (32 << 20)	/* :list bytes read */
#define CK_UPDATE_MAX 16384	/* one update file's bytes */
#define CK_LINE_MAX 4096	/* a longer line is bad */
#define CK_NAMES_MAX 1024	/* :list names looked at */
#define CK_ENTRIES_MAX STORE_MAX_MSGS	/* messages, update files */
#define CK_KW_FILE_MAX 16384

/* One message: its :list set, or an update file naming it. */
struct ck_ent {
	char *uniq;
	kwset_t kw;
	int upd;		/* 0: from :list; 1: .N. file; 2: plain file */
	unsigned long long n;	/* N of a .N. file */
};

struct ck {
	struct maildir *md;
	int kdfd;		/* courierimapkeywords/ */
	struct kwtable t;
	int map[CK_NAMES_MAX];	/* :list index -> ours, -1: none */
	unsigned nnames;
	struct ck_ent *e;
	size_t n, cap;
	unsigned bad, dropped;
	int full;		/* CK_ENTRIES_MAX reached */
};

/* Up to max bytes of a regular file, NUL-terminated, or NULL. */
static char *
read_bounded(int dirfd, const char *name, size_t max, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK);
	struct stat sb;
	char *buf;
	size_t n = 0;
	ssize_t r;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return NULL;
	}
	buf = xmalloc(max + 1);
	while (n < max && (r = read(fd, buf + n, max - n)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			free(buf);
			return NULL;
		}
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Next line of buf[*off..len): its start and length (CR dropped), or
 * NULL at the end.  A line without LF at the end is one only if the
 * file was read whole (complete); one too long is bad: len -1. */
static const char *
next_line(const char *buf, size_t len, size_t *off, int complete,
    long *llen)
{
	const char *s = buf + *off, *nl;
	size_t l;

	if (*off >= len)
		return NULL;
	nl = memchr(s, '\n', len - *off);
	if (nl == NULL && !complete) {
		*off = len;
		return NULL;
	}
	l = nl != NULL ? (size_t)(nl - s) : len - *off;
	*off += l + (nl != NULL);
	if (l > 0 && s[l - 1] == '\r')
		l--;
	*llen = l > CK_LINE_MAX || memchr(s, '\0', l) != NULL ? -1 : (long)l;
	return s;
}

/* Our index for name, adding it; -1 if invalid or the table is full. */
static int
add_name(struct ck *c, const char *s, size_t l)
{
	int k;

	if (!keyword_valid(s, l)) {
		c->bad++;
		return -1;
	}
	if ((k = kwtable_findn(&c->t, s, l)) >= 0)
		return k;
	if ((k = kwtable_addn(&c->t, s, l)) < 0 && c->dropped++ == 0)
		log_msg(LOG_WARNING, "%s: Courier keyword %.*s (and any "
		    "after it) dropped: more than %d keywords", c->md->path,
		    (int)l, s, KW_MAX);
	return k;
}

/* A new entry, or NULL once there are CK_ENTRIES_MAX. */
static struct ck_ent *
push(struct ck *c, const char *uniq, size_t ulen)
{
	struct ck_ent *e;

	if (c->n >= CK_ENTRIES_MAX) {
		if (!c->full)
			log_msg(LOG_WARNING, "%s/%s: more than %u entries; "
			    "the rest ignored", c->md->path, CK_DIR,
			    CK_ENTRIES_MAX);
		c->full = 1;
		return NULL;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->e = xreallocarray(c->e, c->cap, sizeof(*c->e));
	}
	e = &c->e[c->n++];
	memset(e, 0, sizeof(*e));
	e->uniq = xstrndup(uniq, ulen);
	return e;
}

/* A unique name as a Maildir file name can hold it. */
static int
uniq_ok(const char *s, size_t l)
{
	return l > 0 && l <= NAME_MAX && s[0] != '.' &&
	    memchr(s, '/', l) == NULL && memchr(s, ':', l) == NULL;
}

/* "<uniq>:<k> <k> ...": an unknown index is skipped, the rest kept. */
static void
list_entry(struct ck *c, const char *s, size_t l)
{
	const char *colon = memchr(s, ':', l), *p, *end = s + l;
	struct ck_ent *e;
	kwset_t kw = 0;

	if (colon == NULL || !uniq_ok(s, (size_t)(colon - s))) {
		c->bad++;
		return;
	}
	for (p = colon + 1; p < end;) {
		unsigned long k = 0;
		int digits = 0;

		while (p < end && *p == ' ')
			p++;
		while (p < end && *p >= '0' && *p <= '9') {
			if (k < 1000000)
				k = k * 10 + (unsigned long)(*p - '0');
			p++, digits++;
		}
		if (p < end && *p != ' ') {
			c->bad++;
			return;
		}
		if (digits == 0)
			continue;
		if (k < c->nnames && c->map[k] >= 0)
			kw |= (kwset_t)1 << c->map[k];
		else
			c->bad++;
	}
	if ((e = push(c, s, (size_t)(colon - s))) != NULL)
		e->kw = kw;
}

static void
read_list(struct ck *c)
{
	size_t len, off = 0;
	char *buf = read_bounded(c->kdfd, CK_LIST, CK_LIST_MAX, &len);
	const char *s;
	long l;
	int names = 1;

	if (buf == NULL)
		return;
	if (len == CK_LIST_MAX)
		log_msg(LOG_WARNING, "%s/%s/%s: only the first %d bytes read",
		    c->md->path, CK_DIR, CK_LIST, CK_LIST_MAX);
	while ((s = next_line(buf, len, &off, len < CK_LIST_MAX, &l))) {
		if (names && l == 0) {
			names = 0;
		} else if (names) {
			/* Line k is index k, whether or not we can use it. */
			if (c->nnames < CK_NAMES_MAX)
				c->map[c->nnames++] = l < 0 ? -1 :
				    add_name(c, s, (size_t)l);
			else
				c->dropped++;
		} else if (l < 0) {
			c->bad++;
		} else if (l > 0) {
			list_entry(c, s, (size_t)l);
		}
	}
	free(buf);
}

/* The update files, as entries to be read once the winners are known. */
static void
list_updates(struct ck *c)
{
	int fd = dup(c->kdfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		const char *s = de->d_name, *u = s;
		unsigned long long n = 0;
		struct ck_ent *e;
		int upd = 2;

		if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0 ||
		    strcmp(s, CK_LIST) == 0)
			continue;
		if (s[0] == '.') {
			int digits = 0;

			for (u = s + 1; *u >= '0' && *u <= '9'; u++, digits++)
				if (digits < 18)
					n = n * 10 + (unsigned long long)(*u -
					    '0');
			/* Courier writes N without leading zeros; the file
			 * is opened again by ".<N>.<uniq>". */
			if (digits == 0 || digits > 18 || *u != '.' ||
			    (s[1] == '0' && digits > 1))
				continue;
			u++;
			upd = 1;
		}
		if (!uniq_ok(u, strlen(u)))
			continue;
		if ((e = push(c, u, strlen(u))) == NULL)
			break;
		e->upd = upd;
		e->n = n;
	}
	closedir(d);
}

static int
ent_cmp(const void *a, const void *b)
{
	const struct ck_ent *x = a, *y = b;
	int r = strcmp(x->uniq, y->uniq);

	if (r != 0)
		return r;
	if (x->upd != y->upd)
		return x->upd < y->upd ? -1 : 1;
	return x->n < y->n ? -1 : x->n > y->n;
}

/* The keyword set an update file gives, or -1 if it cannot be read. */
static int
read_update(struct ck *c, const struct ck_ent *e, kwset_t *kw)
{
	char name[NAME_MAX + 32];
	size_t len, off = 0;
	const char *s;
	char *buf;
	long l;
	int k;

	if (e->upd == 1)
		snprintf(name, sizeof(name), ".%llu.%s", e->n, e->uniq);
	else
		snprintf(name, sizeof(name), "%s", e->uniq);
	if ((buf = read_bounded(c->kdfd, name, CK_UPDATE_MAX, &len)) == NULL)
		return -1;
	*kw = 0;
	while ((s = next_line(buf, len, &off, len < CK_UPDATE_MAX, &l)))
		if (l > 0 && (k = add_name(c, s, (size_t)l)) >= 0)
			*kw |= (kwset_t)1 << k;
		else if (l < 0)
			c->bad++;
	free(buf);
	return 0;
}

/* Sort by name and keep one entry per message: the best update file
 * that can be read, else the :list set. */
static void
resolve(struct ck *c)
{
	size_t i = 0, out = 0;

	if (c->n > 0)
		qsort(c->e, c->n, sizeof(*c->e), ent_cmp);
	while (i < c->n) {
		size_t j = i, best;
		kwset_t kw = 0;
		int found = 0;

		while (j < c->n && strcmp(c->e[j].uniq, c->e[i].uniq) == 0)
			j++;
		for (best = j; best > i && !found; best--)
			if (c->e[best - 1].upd == 0) {
				kw = c->e[best - 1].kw;
				found = 1;
			} else if (read_update(c, &c->e[best - 1], &kw) == 0) {
				found = 1;
			}
		c->e[out] = c->e[i];
		c->e[out].kw = kw;
		for (size_t k = i + 1; k < j; k++)
			free(c->e[k].uniq);
		if (found)
			out++;
		else
			free(c->e[out].uniq);
		i = j;
	}
	c->n = out;
}

static const struct ck_ent *
find(const struct ck *c, const char *uniq, size_t ulen)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strncmp(c->e[mid].uniq, uniq, ulen);

		if (r == 0 && c->e[mid].uniq[ulen] != '\0')
			r = 1;
		if (r == 0)
			return &c->e[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* rename() that never replaces a file: two files with one unique name
 * (in cur/ and new/, say) can want the same new name, and neither may
 * be lost.  Without RENAME_NOREPLACE (some network file systems) the
 * lock makes looking first enough against our own sessions. */
static int
rename_new_name(int fromfd, const char *from, int tofd, const char *to)
{
	struct stat sb;

	if (renameat2(fromfd, from, tofd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (fstatat(tofd, to, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	return renameat(fromfd, from, tofd, to);
}

/* Give one file Courier's set, keeping its other letters; one in new/
 * goes to cur/ as any flag change takes it there.  0, or -1 if the
 * rename failed for a reason other than the file being gone. */
static int
relabel(struct ck *c, int sub, const char *name, kwset_t want)
{
	char to[NAME_MAX + 1], other[MD_OTHER_MAX], uniq[NAME_MAX + 1];
	size_t ulen = (size_t)(md_unique_end(name) - name);
	unsigned fl;
	kwset_t kw;

	if (md_info_parse(name, &fl, &kw, other) != 0) {
		log_msg(LOG_WARNING, "%s: %s/%s cannot hold keywords; Courier's"
		    " not imported for it", c->md->path, md_subdir[sub], name);
		return 0;
	}
	if (kw == want)
		return 0;
	memcpy(uniq, name, ulen);
	uniq[ulen] = '\0';
	if (md_info_format(uniq, fl, want, other, to, sizeof(to)) < 0) {
		log_msg(LOG_WARNING, "%s: no room for the keywords of %s/%s",
		    c->md->path, md_subdir[sub], name);
		return 0;
	}
	if (rename_new_name(c->md->sub[sub], name, c->md->sub[MD_CUR],
	    to) == 0 || errno == ENOENT)
		return 0;
	if (errno == EEXIST) {
		log_msg(LOG_WARNING, "%s: cur/%s exists; %s/%s keeps its "
		    "name", c->md->path, to, md_subdir[sub], name);
		return 0;
	}
	log_msg(LOG_ERR, "%s: rename %s/%s: %m", c->md->path, md_subdir[sub],
	    name);
	return -1;
}

/* The names in sub of the messages Courier lists (malloc'd). */
static char **
listed(struct ck *c, int sub, size_t *n)
{
	int fd = dup(c->md->sub[sub]);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	char **names = NULL;
	size_t cap = 0;

	*n = 0;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		const char *s = de->d_name;

		if (!md_is_message(c->md->sub[sub], s, de->d_type) ||
		    find(c, s, (size_t)(md_unique_end(s) - s)) == NULL)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			names = xreallocarray(names, cap, sizeof(*names));
		}
		names[(*n)++] = xstrdup(s);
	}
	closedir(d);
	return names;
}

/* Rename the listed messages: 0, or -1 if one failed. */
static int
relabel_all(struct ck *c)
{
	int r = 0, renamed = 0;

	for (int sub = 0; sub < 2; sub++) {
		/* Names first: renaming while reading may show a file
		 * twice, or not at all. */
		size_t n;
		char **names = listed(c, sub, &n);

		for (size_t i = 0; i < n; i++) {
			const char *s = names[i];
			const struct ck_ent *e = find(c, s,
			    (size_t)(md_unique_end(s) - s));

			if (r == 0 && relabel(c, sub, s, e->kw) < 0)
				r = -1;
			free(names[i]);
		}
		free(names);
		renamed |= n > 0;
	}
	if (r == 0 && renamed && (fsync(c->md->sub[MD_CUR]) < 0 ||
	    fsync(c->md->sub[MD_NEW]) < 0))
		r = -1;
	return r;
}

static int
write_table(struct ck *c)
{
	struct buf b;
	char *path = xasprintf("%s/%s", c->md->path, KWTABLE_NAME);
	int r;

	buf_init(&b, CK_KW_FILE_MAX);
	r = kwtable_format(&c->t, &b);
	if (r == 0)
		r = write_file_atomic(path, b.data != NULL ? b.data : "",
		    b.len, 0600);
	if (r < 0)
		log_msg(LOG_ERR, "cannot write %s: %m", path);
	buf_free(&b);
	free(path);
	return r;
}

static int
absent(int dfd, const char *name)
{
	struct stat sb;

	return fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0 &&
	    errno == ENOENT;
}

/* Under the lock. */
static int
import_locked(struct maildir *md)
{
	struct ck c;
	int r = -1;

	if (!absent(md->dfd, KWTABLE_NAME) || !absent(md->dfd, KWTABLE_DOVECOT))
		return 0;	/* another session did it, or not ours */
	memset(&c, 0, sizeof(c));
	c.md = md;
	c.kdfd = openat(md->dfd, CK_DIR, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (c.kdfd < 0)
		return 0;
	read_list(&c);
	list_updates(&c);
	resolve(&c);
	if (relabel_all(&c) == 0 && write_table(&c) == 0) {
		log_msg(LOG_INFO, "%s: imported %u Courier keywords for %zu "
		    "messages (%u bad, %u dropped)", md->path, c.t.n, c.n,
		    c.bad, c.dropped);
		r = 1;
	}
	for (size_t i = 0; i < c.n; i++)
		free(c.e[i].uniq);
	free(c.e);
	kwtable_free(&c.t);
	close(c.kdfd);
	return r;
}

int
md_courier_import(struct maildir *md, int locked)
{
	struct dotlock dl;
	struct stat sb;
	int r;

	/* A failed import is tried again by the next open, not by every
	 * sync of this one; the stat is the cheap test that keeps every
	 * folder without Courier's files quiet. */
	if (md->courier_failed)
		return 0;
	if (fstatat(md->dfd, CK_DIR, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISDIR(sb.st_mode))
		return 0;
	if (locked) {
		r = import_locked(md);
		md->courier_failed = r < 0;
		return r;
	}
	if (md_lock(md, &dl, NULL, 0) != STORE_OK) {
		md->courier_failed = 1;
		return -1;
	}
	r = import_locked(md);
	dotlock_release(&dl);
	md->courier_failed = r < 0;
	return r;
}
