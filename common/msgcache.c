/*
 * msgcache.c - the per-folder message cache (format and rules in
 * msgcache.h).
 *
 * In memory: one entry (uid, kind, offset, length) per record read, kept
 * sorted by (uid, kind) with later records replacing earlier ones, built
 * by reading the file once and extended as this process appends or
 * another one is seen to have appended (the file grew).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index.h"
#include "msgcache.h"
#include "util.h"

#define HDR_SIZE 16
#define REC_HDR 16
#define READ_BUF 65536
/* Two kinds of record for every message of the largest folder. */
#define MSGCACHE_ENTRIES_MAX (2u * 1000000u)

struct entry {
	uint32_t uid;
	uint8_t kind;
	uint32_t len;
	uint64_t off;		/* of the data */
};

struct msgcache {
	int fd, dirfd;
	char *name;
	uint32_t uidvalidity;
	uint64_t scanned;	/* file bytes turned into entries */
	int broken;		/* a bad record: append nothing after it */
	struct entry *e;
	size_t n, cap;
};

static void
put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* Exactly n bytes at off, or -1. */
static int
pread_all(int fd, void *buf, size_t n, uint64_t off)
{
	return pread_full(fd, buf, n, off) == (ssize_t)n ? 0 : -1;
}

static void
header(unsigned char *h, uint32_t uidvalidity)
{
	memset(h, 0, HDR_SIZE);
	memcpy(h, MSGCACHE_MAGIC, 8);
	put32(h + 8, uidvalidity);
}

/* Position of (uid, kind) in the sorted entries, or where it would go. */
static size_t
find(const struct msgcache *c, uint32_t uid, uint8_t kind, int *found)
{
	size_t lo = 0, hi = c->n;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct entry *m = &c->e[mid];

		if (m->uid == uid && m->kind == kind) {
			*found = 1;
			return mid;
		}
		if (m->uid < uid || (m->uid == uid && m->kind < kind))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Entries from..n were just read in file order: put the whole array in
 * (uid, kind) order with one entry each, the record read last winning.
 * Sessions append in ascending UID order, so usually nothing moves. */
static void
settle(struct msgcache *c, size_t from)
{
	size_t o = 0;

	for (size_t i = from > 0 ? from : 1; i < c->n; i++)
		if (cmp_entry(&c->e[i - 1], &c->e[i]) >= 0 ||
		    (c->e[i - 1].uid == c->e[i].uid &&
		    c->e[i - 1].kind == c->e[i].kind))
			goto sort;
	return;
sort:
	qsort(c->e, c->n, sizeof(*c->e), cmp_entry);
	for (size_t i = 0; i < c->n; i++) {
		if (o > 0 && c->e[o - 1].uid == c->e[i].uid &&
		    c->e[o - 1].kind == c->e[i].kind)
			o--;		/* the later record wins */
		c->e[o++] = c->e[i];
	}
	c->n = o;
}

static void
push_entry(struct msgcache *c, uint32_t uid, uint8_t kind, uint64_t off,
    uint32_t len)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->e = xreallocarray(c->e, c->cap, sizeof(*c->e));
	}
	c->e[c->n++] = (struct entry){ uid, kind, len, off };
}

/* Turn the records the file has beyond c->scanned into entries.  The
 * data's CRC is checked when it is read (msgcache_get), the record
 * header's bounds here. */
static int
scan(struct msgcache *c)
{
	struct stat st;
	unsigned char h[REC_HDR];
	size_t from = c->n;

	if (fstat(c->fd, &st) < 0)
		return -1;
	while (!c->broken && c->scanned + REC_HDR <= (uint64_t)st.st_size) {
		uint32_t len;

		if (pread_all(c->fd, h, REC_HDR, c->scanned) < 0)
			return -1;
		len = get32(h + 8);
		if (h[5] != 0 || h[6] != 0 || h[7] != 0 ||
		    len > MSGCACHE_REC_MAX || get32(h) == 0) {
			c->broken = 1;	/* garbage: compaction cleans */
			break;
		}
		if (c->scanned + REC_HDR + len > (uint64_t)st.st_size)
			break;		/* still being written, or torn */
		/* a file no writer of ours makes: stop, compaction cleans */
		if (c->n >= MSGCACHE_ENTRIES_MAX) {
			c->broken = 1;
			break;
		}
		push_entry(c, get32(h), h[4], c->scanned + REC_HDR, len);
		c->scanned += REC_HDR + len;
	}
	if (c->n > from)
		settle(c, from);
	return 0;
}

/* Empty the file for this UIDVALIDITY (it was another folder's). */
static int
reset(struct msgcache *c)
{
	unsigned char h[HDR_SIZE];

	header(h, c->uidvalidity);
	if (ftruncate(c->fd, 0) < 0 || pwrite(c->fd, h, HDR_SIZE, 0) !=
	    HDR_SIZE)
		return -1;
	c->scanned = HDR_SIZE;
	c->n = 0;
	c->broken = 0;
	return 0;
}

int
msgcache_open(int dirfd, const char *name, uint32_t uidvalidity,
    struct msgcache **out)
{
	struct msgcache *c;
	unsigned char h[HDR_SIZE], want[HDR_SIZE];
	struct stat st;
	int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_APPEND |
	    O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);

	*out = NULL;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	/* our own, for compaction: the caller's may be closed first */
	if ((c->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) < 0) {
		close(fd);
		free(c);
		return -1;
	}
	c->name = xstrdup(name);
	c->uidvalidity = uidvalidity;
	c->scanned = HDR_SIZE;
	header(want, uidvalidity);
	if (st.st_size < HDR_SIZE || pread_all(fd, h, HDR_SIZE, 0) < 0 ||
	    memcmp(h, want, HDR_SIZE) != 0) {
		if (reset(c) < 0) {
			msgcache_close(c);
			return -1;
		}
	}
	*out = c;
	return 0;
}

size_t
msgcache_count(const struct msgcache *c)
{
	return c->n;
}

void
msgcache_close(struct msgcache *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	close(c->dirfd);
	free(c->name);
	free(c->e);
	free(c);
}

int
msgcache_get(struct msgcache *c, uint32_t uid, uint8_t kind, void **data,
    size_t *len)
{
	unsigned char h[REC_HDR];
	struct entry *e;
	int found;
	size_t at;
	uint32_t crc;

	*data = NULL;
	*len = 0;
	/* another session may have added it, or a newer one (one fstat) */
	if (scan(c) < 0)
		return -1;
	at = find(c, uid, kind, &found);
	if (!found)
		return 0;
	e = &c->e[at];
	*data = xmalloc(e->len ? e->len : 1);
	if (pread_all(c->fd, h, REC_HDR, e->off - REC_HDR) < 0 ||
	    pread_all(c->fd, *data, e->len, e->off) < 0)
		goto bad;
	crc = index_crc32c(0, h, 12);
	crc = index_crc32c(crc, *data, e->len);
	if (crc != get32(h + 12) || get32(h) != uid || h[4] != kind)
		goto bad;
	*len = e->len;
	return 1;
bad:
	free(*data);
	*data = NULL;
	return 0;
}

static int
keep_all(void *arg, uint32_t uid)
{
	(void)arg;
	(void)uid;
	return 1;
}

int
msgcache_put(struct msgcache *c, uint32_t uid, uint8_t kind,
    const void *data, size_t len)
{
	unsigned char *rec;
	struct stat st;
	uint32_t crc;
	ssize_t w;

	if (len > MSGCACHE_REC_MAX || uid == 0) {
		errno = EINVAL;
		return -1;
	}
	if (scan(c) < 0 || fstat(c->fd, &st) < 0)
		return -1;
	/* After a bad or torn record nothing appended could be found
	 * again (a torn one would swallow the start of the next): write
	 * the good records to a fresh file first. */
	if ((c->broken || c->scanned < (uint64_t)st.st_size) &&
	    (msgcache_compact(c, keep_all, NULL) < 0 || fstat(c->fd, &st) < 0))
		return -1;
	if ((uint64_t)st.st_size + REC_HDR + len > MSGCACHE_FILE_MAX) {
		errno = EFBIG;
		return -1;
	}
	rec = xmalloc(REC_HDR + len);
	put32(rec, uid);
	rec[4] = kind;
	rec[5] = rec[6] = rec[7] = 0;
	put32(rec + 8, (uint32_t)len);
	memcpy(rec + REC_HDR, data, len);
	crc = index_crc32c(0, rec, 12);
	crc = index_crc32c(crc, rec + REC_HDR, len);
	put32(rec + 12, crc);
	/* one write, O_APPEND: records of concurrent sessions do not mix */
	do
		w = write(c->fd, rec, REC_HDR + len);
	while (w < 0 && errno == EINTR);
	free(rec);
	if (w != (ssize_t)(REC_HDR + len))
		return -1;	/* a short record fails its CRC later */
	return scan(c);
}

int
msgcache_compact(struct msgcache *c, int (*alive)(void *, uint32_t),
    void *arg)
{
	char *tmp = xasprintf("%s.%ld.tmp", c->name, (long)getpid());
	unsigned char h[HDR_SIZE];
	int fd, rc = -1;
	struct msgcache *n;

	if (scan(c) < 0) {
		free(tmp);
		return -1;
	}
	fd = openat(c->dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_APPEND |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(tmp);
		return -1;
	}
	header(h, c->uidvalidity);
	n = xcalloc(1, sizeof(*n));
	n->fd = fd;
	n->dirfd = c->dirfd;
	n->name = xstrdup(tmp);
	n->uidvalidity = c->uidvalidity;
	n->scanned = HDR_SIZE;
	if (write(fd, h, HDR_SIZE) != HDR_SIZE)
		goto out;
	for (size_t i = 0; i < c->n; i++) {
		void *d;
		size_t len;

		if (!alive(arg, c->e[i].uid))
			continue;
		if (msgcache_get(c, c->e[i].uid, c->e[i].kind, &d, &len) != 1)
			continue;
		rc = msgcache_put(n, c->e[i].uid, c->e[i].kind, d, len);
		free(d);
		if (rc < 0)
			goto out;
	}
	if (fsync(fd) < 0 || renameat(c->dirfd, tmp, c->dirfd, c->name) < 0)
		goto out;
	/* the new file is ours now */
	close(c->fd);
	c->fd = n->fd;
	n->fd = -1;
	free(c->e);
	c->e = n->e;
	c->n = n->n;
	c->cap = n->cap;
	c->scanned = n->scanned;
	c->broken = 0;
	n->e = NULL;
	rc = 0;
out:
	if (rc < 0)
		(void)unlinkat(c->dirfd, tmp, 0);
	if (n->fd >= 0)
		close(n->fd);
	free(n->e);
	free(n->name);
	free(n);
	free(tmp);
	return rc;
}
