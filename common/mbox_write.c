/*
 * mbox_write.c - change an mbox in place, crash-safely, with a journal.
 *
 * The mbox is never replaced by rename(): an MTA or mutt may have it
 * open, and its owner, mode and inode must stay.  So a change (a plan of
 * edits, store_int.h) is first written whole to a journal beside the
 * folders, then copied over the mbox:
 *
 *   1. journal: header + records "write these bytes at this offset";
 *      same-length edits become small records, everything from the first
 *      edit that changes the size up to the new end is one tail record.
 *      fsync, then the state byte 'C' (complete), fsync, fsync the dir.
 *   2. if the mbox grows: ftruncate it to the new length L, fsync.
 *   3. state 'W'; copy the records into the mbox; fsync.
 *   4. if it shrinks: write one NUL byte at L, fsync, state 'T',
 *      ftruncate to L, fsync.
 *   5. unlink the journal, fsync the dir.
 *
 * After a crash the locks are gone and an MTA may append mail at the
 * then end of file, which is the old size S, or L after step 2 or 4.
 * Recovery (at the next open, under the locks) works out which: in
 * state 'C' a grown file reads NUL at S (ftruncate fills with zeros; an
 * appended message begins "From "); 'W' means the size change of step 2
 * happened; in 'T' a NUL at L means the cut has not happened.  Bytes
 * past that point are the appended mail: when they are not already
 * where they belong, a new journal (tail + appended bytes) replaces the
 * old one atomically first.  Then steps 2-5 are redone; they are
 * idempotent.  A journal without its 'C' was never used: it is deleted.
 * A journal for another file (inode) is set aside, never applied.
 *
 * The journal is the user's file, like the mbox: it is validated (magic,
 * checksums, record bounds) so a damaged one is refused, not applied.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store_int.h"
#include "util.h"

#define J_MAGIC "PSTNJRN1"
#define J_HDR 80		/* header bytes, layout in put_header() */
#define J_REC 16		/* record header: offset, length */
#define J_MAXREC 1000000u	/* at most one patch per message, + tail */

enum { J_INCOMPLETE = 0, J_COMPLETE = 'C', J_WRITING = 'W',
    J_TRUNCATING = 'T' };

void (*mbox_crash_hook)(int point);

struct jhdr {
	int state;
	uint64_t S, L, nrec, plen, psum, dev, ino;
};

static void
crash_point(int point)
{
	if (mbox_crash_hook != NULL)
		mbox_crash_hook(point);
}

/* Describe an error in err; returns -1. */
static int PRINTF(3, 4)
failf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void
mbox_plan_init(struct mbox_plan *pl, uint64_t size)
{
	memset(pl, 0, sizeof(*pl));
	pl->size = size;
}

void
mbox_plan_free(struct mbox_plan *pl)
{
	free(pl->e);
	free(pl->lit);
	memset(pl, 0, sizeof(*pl));
}

/* Edits stay sorted by offset; at one offset insertions come before a
 * replacement, otherwise in the order they were made. */
void
mbox_plan_edit(struct mbox_plan *pl, uint64_t off, uint64_t del,
    const char *lit, size_t litlen)
{
	size_t i;

	if (pl->n == pl->cap) {
		pl->cap = pl->cap ? pl->cap * 2 : 16;
		pl->e = xreallocarray(pl->e, pl->cap, sizeof(*pl->e));
	}
	if (litlen > pl->litcap - pl->litlen) {
		pl->litcap = pl->litcap * 2 + litlen;
		pl->lit = xreallocarray(pl->lit, pl->litcap, 1);
	}
	if (litlen > 0)
		memcpy(pl->lit + pl->litlen, lit, litlen);
	for (i = pl->n; i > 0 && (pl->e[i - 1].off > off ||
	    (pl->e[i - 1].off == off && pl->e[i - 1].del > 0 && del == 0)); i--)
		pl->e[i] = pl->e[i - 1];
	pl->e[i] = (struct mbox_edit){ off, del, pl->litlen, litlen };
	pl->litlen += litlen;
	pl->n++;
}

static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL;
	return h;
}
#define FNV_INIT 0xcbf29ce484222325ULL

static void
put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* magic, state, S, L, nrec, plen, psum, dev, ino, header sum (state 0) */
static void
put_header(unsigned char *b, const struct jhdr *h)
{
	memset(b, 0, J_HDR);
	memcpy(b, J_MAGIC, 8);
	put64(b + 16, h->S);
	put64(b + 24, h->L);
	put64(b + 32, h->nrec);
	put64(b + 40, h->plen);
	put64(b + 48, h->psum);
	put64(b + 56, h->dev);
	put64(b + 64, h->ino);
	put64(b + 72, fnv(FNV_INIT, b, 72));
	b[8] = (unsigned char)h->state;
}

/* 1 good, 0 incomplete (discard), -1 damaged */
static int
get_header(const unsigned char *b, size_t n, struct jhdr *h)
{
	unsigned char c[J_HDR];

	if (n < J_HDR || b[8] == J_INCOMPLETE)
		return 0;
	memcpy(c, b, J_HDR);
	c[8] = 0;
	if (memcmp(b, J_MAGIC, 8) != 0 || get64(b + 72) != fnv(FNV_INIT, c, 72))
		return -1;
	h->state = b[8];
	h->S = get64(b + 16), h->L = get64(b + 24), h->nrec = get64(b + 32);
	h->plen = get64(b + 40), h->psum = get64(b + 48);
	h->dev = get64(b + 56), h->ino = get64(b + 64);
	if ((h->state != J_COMPLETE && h->state != J_WRITING &&
	    h->state != J_TRUNCATING) || h->nrec == 0 || h->nrec > J_MAXREC ||
	    h->L > (uint64_t)INT64_MAX || h->S > (uint64_t)INT64_MAX)
		return -1;
	return 1;
}

static int
set_state(int jfd, struct jhdr *h, int state)
{
	unsigned char c = (unsigned char)state;

	if (pwrite(jfd, &c, 1, 8) != 1 || fsync(jfd) < 0)
		return -1;
	h->state = state;
	return 0;
}

static int
fsync_dir(const char *path)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int fd, r = -1;

	if (slash != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		r = fsync(fd);
		close(fd);
	}
	free(dir);
	return r;
}

/* ---- writing a journal ---- */

struct jw {
	int fd, err;
	uint64_t sum, len;
	unsigned char *buf;
};

static void
jw_put(struct jw *w, const void *p, size_t n)
{
	if (w->err || n == 0)
		return;
	if (write_all(w->fd, p, n) < 0)
		w->err = errno ? errno : EIO;
	w->sum = fnv(w->sum, p, n);
	w->len += n;
}

static void
jw_rec(struct jw *w, uint64_t off, uint64_t len)
{
	unsigned char r[J_REC];

	put64(r, off);
	put64(r + 8, len);
	jw_put(w, r, sizeof(r));
}

/* Copy [off, off+len) of fd into the journal. */
static void
jw_copy(struct jw *w, int fd, uint64_t off, uint64_t len)
{
	while (len > 0 && !w->err) {
		size_t k = len < STORE_IOBUF ? (size_t)len : STORE_IOBUF;
		ssize_t r = pread(fd, w->buf, k, (off_t)off);

		if (r <= 0) {
			w->err = r < 0 ? errno : EIO;	/* file shrank */
			return;
		}
		jw_put(w, w->buf, (size_t)r);
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
}

/* Index of the first edit that changes the size (pl->n if none). */
static size_t
first_resize(const struct mbox_plan *pl)
{
	for (size_t i = 0; i < pl->n; i++)
		if (pl->e[i].del != pl->e[i].litlen)
			return i;
	return pl->n;
}

static uint64_t
new_length(const struct mbox_plan *pl)
{
	uint64_t L = pl->size;

	for (size_t i = 0; i < pl->n; i++)
		L = L - pl->e[i].del + pl->e[i].litlen;
	return L;
}

/* The records of the plan: patches, then the tail. */
static void
jw_plan(struct jw *w, int fd, const struct mbox_plan *pl, struct jhdr *h)
{
	size_t k = first_resize(pl);
	uint64_t cur;

	for (size_t i = 0; i < k; i++) {
		if (pl->e[i].litlen == 0)
			continue;
		jw_rec(w, pl->e[i].off, pl->e[i].litlen);
		jw_put(w, pl->lit + pl->e[i].lit, pl->e[i].litlen);
		h->nrec++;
	}
	if (k == pl->n)
		return;
	cur = pl->e[k].off;
	jw_rec(w, cur, h->L - cur);
	h->nrec++;
	for (size_t i = k; i < pl->n; i++) {
		jw_copy(w, fd, cur, pl->e[i].off - cur);
		jw_put(w, pl->lit + pl->e[i].lit, pl->e[i].litlen);
		cur = pl->e[i].off + pl->e[i].del;
	}
	jw_copy(w, fd, cur, pl->size - cur);
}

/* Header with state 0, fsync, then 'C', fsync, dir fsync. */
static int
jw_seal(struct jw *w, struct jhdr *h, const char *path)
{
	unsigned char b[J_HDR];

	h->plen = w->len;
	h->psum = w->sum;
	h->state = J_INCOMPLETE;
	put_header(b, h);
	if (w->err || pwrite(w->fd, b, J_HDR, 0) != J_HDR || fsync(w->fd) < 0)
		return -1;
	crash_point(MBOX_CRASH_JOURNAL_PARTIAL);
	if (set_state(w->fd, h, J_COMPLETE) < 0 || fsync_dir(path) < 0)
		return -1;
	return 0;
}

static int
jw_open(struct jw *w, const char *path)
{
	static const unsigned char zero[J_HDR];

	memset(w, 0, sizeof(*w));
	w->sum = FNV_INIT;	/* over the payload: the header comes last */
	w->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (w->fd < 0)
		return -1;
	w->buf = xmalloc(STORE_IOBUF);
	if (write_all(w->fd, zero, J_HDR) < 0)
		w->err = errno;
	return 0;
}

/* ---- applying a journal ---- */

/* Copy the journal's records into the mbox. */
static int
copy_records(int mfd, int jfd, const struct jhdr *h, unsigned char *buf)
{
	/* For the test hook: the middle of the data (headers excluded). */
	uint64_t pos = J_HDR, done = 0, half = (h->plen - J_REC * h->nrec) / 2;
	unsigned char r[J_REC];

	for (uint64_t i = 0; i < h->nrec; i++) {
		uint64_t off, len;

		if (pread(jfd, r, J_REC, (off_t)pos) != J_REC)
			return -1;
		off = get64(r), len = get64(r + 8);
		pos += J_REC;
		while (len > 0) {
			size_t k = len < STORE_IOBUF ? (size_t)len : STORE_IOBUF;

			if (mbox_crash_hook && done < half && k > half - done)
				k = (size_t)(half - done);
			if (pread(jfd, buf, k, (off_t)pos) != (ssize_t)k ||
			    pwrite(mfd, buf, k, (off_t)off) != (ssize_t)k)
				return -1;
			pos += k, off += k, len -= k, done += k;
			if (done == half)
				crash_point(MBOX_CRASH_HALF_WRITTEN);
		}
	}
	return 0;
}

static int
cut(int mfd, int jfd, struct jhdr *h, uint64_t final)
{
	static const unsigned char nul;

	if (h->state != J_TRUNCATING) {
		if (pwrite(mfd, &nul, 1, (off_t)final) != 1 || fsync(mfd) < 0 ||
		    set_state(jfd, h, J_TRUNCATING) < 0)
			return -1;
	}
	crash_point(MBOX_CRASH_TRUNC_MARKED);
	if (ftruncate(mfd, (off_t)final) < 0 || fsync(mfd) < 0)
		return -1;
	crash_point(MBOX_CRASH_TRUNCATED);
	return 0;
}

/* Steps 2-5 from the journal's state; final is the length to end with. */
static int
apply(int mfd, int jfd, struct jhdr *h, uint64_t final, const char *jpath)
{
	unsigned char *buf;
	struct stat st;
	int r;

	if (fstat(mfd, &st) < 0)
		return -1;
	if (h->state == J_COMPLETE) {
		if ((uint64_t)st.st_size < h->L && (ftruncate(mfd,
		    (off_t)h->L) < 0 || fsync(mfd) < 0))
			return -1;
		crash_point(MBOX_CRASH_EXTENDED);
		if (set_state(jfd, h, J_WRITING) < 0)
			return -1;
	}
	buf = xmalloc(STORE_IOBUF);
	r = copy_records(mfd, jfd, h, buf);
	free(buf);
	if (r < 0 || fsync(mfd) < 0 || fstat(mfd, &st) < 0)
		return -1;
	crash_point(MBOX_CRASH_WRITTEN);
	if ((uint64_t)st.st_size > final && cut(mfd, jfd, h, final) < 0)
		return -1;
	if (unlink(jpath) < 0 || fsync_dir(jpath) < 0)
		return -1;
	return 0;
}

static int
check_plan(const struct mbox_plan *pl)
{
	uint64_t prev = 0;

	for (size_t i = 0; i < pl->n; i++) {
		if (pl->e[i].off < prev || pl->e[i].del > pl->size ||
		    pl->e[i].off > pl->size - pl->e[i].del)
			return -1;
		prev = pl->e[i].off + pl->e[i].del;
	}
	return pl->n + 1 > J_MAXREC ? -1 : 0;
}

int
mbox_rewrite(int fd, const char *jpath, const struct mbox_plan *pl,
    uint64_t *first_change, char *err, size_t errlen)
{
	struct jhdr h = { 0 };
	struct stat st;
	struct jw w;
	size_t k = first_resize(pl);

	*first_change = k < pl->n ? pl->e[k].off : pl->size;
	if (pl->n == 0)
		return 0;
	if (check_plan(pl) < 0 || fstat(fd, &st) < 0 ||
	    (uint64_t)st.st_size != pl->size)
		return failf(err, errlen, "mbox rewrite: plan does "
		    "not fit the file");
	h.S = pl->size;
	h.L = new_length(pl);
	h.dev = (uint64_t)st.st_dev;
	h.ino = (uint64_t)st.st_ino;
	if (jw_open(&w, jpath) < 0)
		return failf(err, errlen, "%s: %m", jpath);
	jw_plan(&w, fd, pl, &h);
	if (jw_seal(&w, &h, jpath) < 0) {
		errno = w.err ? w.err : errno;
		failf(err, errlen, "writing %s: %m", jpath);
		close(w.fd);
		free(w.buf);
		unlink(jpath);	/* never marked complete: the mbox is intact */
		return -1;
	}
	free(w.buf);
	crash_point(MBOX_CRASH_JOURNAL_DONE);
	if (apply(fd, w.fd, &h, h.L, jpath) < 0) {
		failf(err, errlen, "rewriting the mbox (journal %s "
		    "kept for recovery): %m", jpath);
		close(w.fd);
		return -1;
	}
	close(w.fd);
	return 0;
}

/* ---- recovery ---- */

/* Walk the payload: records inside [0, L), sizes adding up, checksum. */
static int
verify_payload(int jfd, const struct jhdr *h)
{
	unsigned char *buf = xmalloc(STORE_IOBUF);
	uint64_t pos = J_HDR, end = J_HDR + h->plen, sum = FNV_INIT;
	int ok = 1;

	for (uint64_t i = 0; i < h->nrec && ok; i++) {
		uint64_t off, len;

		if (end - pos < J_REC || pread(jfd, buf, J_REC, (off_t)pos) !=
		    J_REC)
			ok = 0;
		off = get64(buf), len = get64(buf + 8);
		sum = fnv(sum, buf, J_REC);
		pos += J_REC;
		if (!ok || len > end - pos || off > h->L || len > h->L - off)
			ok = 0;
		while (ok && len > 0) {
			size_t k = len < STORE_IOBUF ? (size_t)len : STORE_IOBUF;

			if (pread(jfd, buf, k, (off_t)pos) != (ssize_t)k)
				ok = 0;
			sum = fnv(sum, buf, k);
			pos += k, len -= k;
		}
	}
	free(buf);
	return ok && pos == end && sum == h->psum ? 0 : -1;
}

static int
byte_at(int fd, uint64_t off)
{
	unsigned char c;

	return pread(fd, &c, 1, (off_t)off) == 1 ? c : -1;
}

/* Where mail appended after the crash begins (see the top comment). */
static uint64_t
extras_start(int mfd, const struct jhdr *h, uint64_t C)
{
	switch (h->state) {
	case J_COMPLETE:
		return h->L > h->S && C >= h->L && byte_at(mfd, h->S) == 0 ?
		    h->L : h->S;
	case J_WRITING:
		return h->L > h->S ? h->L : h->S;
	default:
		return C > h->L && byte_at(mfd, h->L) == 0 ? h->S : h->L;
	}
}

/* Last record's offset, which must be the tail's: it ends at L. */
static int
tail_record(int jfd, const struct jhdr *h, uint64_t *at)
{
	unsigned char r[J_REC] = { 0 };
	uint64_t pos = J_HDR;

	for (uint64_t i = 0; i < h->nrec; i++) {
		if (pread(jfd, r, J_REC, (off_t)pos) != J_REC)
			return -1;
		*at = pos;
		pos += J_REC + get64(r + 8);
	}
	return get64(r) + get64(r + 8) == h->L ? 0 : -1;
}

/* New journal = old records, the tail extended by the mbox's bytes
 * [X, C) (mail appended after the crash); replaces the old atomically. */
static int
extend_journal(int mfd, int jfd, const char *jpath, struct jhdr *h,
    uint64_t X, uint64_t C)
{
	char *tmp = xasprintf("%s.new", jpath);
	unsigned char r[J_REC];
	struct jhdr n = *h;
	struct jw w;
	uint64_t tail = 0;
	int ok;

	n.S = C;
	n.L = h->L + (C - X);
	(void)unlink(tmp);
	if (tail_record(jfd, h, &tail) < 0 || pread(jfd, r, J_REC,
	    (off_t)tail) != J_REC || jw_open(&w, tmp) < 0) {
		free(tmp);
		return -1;
	}
	jw_copy(&w, jfd, J_HDR, tail - J_HDR);		/* the patches */
	jw_rec(&w, get64(r), get64(r + 8) + (C - X));
	jw_copy(&w, jfd, tail + J_REC, get64(r + 8));	/* the old tail */
	jw_copy(&w, mfd, X, C - X);			/* the new mail */
	ok = jw_seal(&w, &n, tmp) == 0 && rename(tmp, jpath) == 0 &&
	    fsync_dir(jpath) == 0;
	if (!ok)
		(void)unlink(tmp);
	close(w.fd);
	free(w.buf);
	free(tmp);
	return ok ? 0 : -1;
}

/* Read and check the journal header; 1 good, 0 discard, -1 damaged. */
static int
read_header(int jfd, struct jhdr *h)
{
	unsigned char b[J_HDR];
	struct stat st;
	ssize_t n = pread(jfd, b, J_HDR, 0);
	int r;

	if (n < 0 || fstat(jfd, &st) < 0)
		return -1;
	if ((r = get_header(b, (size_t)n, h)) <= 0)
		return r;
	return (uint64_t)st.st_size - J_HDR == h->plen ? 1 : -1;
}

/* A journal written for another file: keep it for the administrator. */
static void
set_aside(const char *jpath)
{
	char *to = xasprintf("%s.orphan.%lld", jpath, (long long)time(NULL));

	if (rename(jpath, to) == 0)
		log_msg(LOG_ERR, "%s belongs to another mbox file; moved to %s",
		    jpath, to);
	free(to);
}

/* Open, check and (for appended mail) extend the journal.  1 ready
 * (*jfd, *h, *final set), 0 nothing to do, -1 error. */
static int
prepare(int mfd, const char *jpath, int *jfd, struct jhdr *h,
    uint64_t *final, char *err, size_t errlen)
{
	struct stat st;
	uint64_t C, X;
	int r;

	if ((*jfd = open(jpath, O_RDWR | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;
		return failf(err, errlen, "%s: %m", jpath);
	}
	if ((r = read_header(*jfd, h)) == 0) {
		log_msg(LOG_WARNING, "%s: incomplete journal discarded; the "
		    "mbox was not touched", jpath);
		(void)unlink(jpath);
		return 0;
	}
	if (r < 0 || verify_payload(*jfd, h) < 0)
		return failf(err, errlen, "%s: damaged journal of an "
		    "interrupted mbox rewrite; repair by hand", jpath);
	if (fstat(mfd, &st) < 0)
		return failf(err, errlen, "fstat mbox: %m");
	if ((uint64_t)st.st_dev != h->dev || (uint64_t)st.st_ino != h->ino) {
		set_aside(jpath);
		return 0;
	}
	C = (uint64_t)st.st_size;
	X = extras_start(mfd, h, C);
	*final = C > X ? C : h->L;
	if (C > X && X != h->L) {
		if (extend_journal(mfd, *jfd, jpath, h, X, C) < 0)
			return failf(err, errlen, "%s: cannot add "
			    "new mail to the journal: %m", jpath);
		close(*jfd);
		if ((*jfd = open(jpath, O_RDWR | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
		    read_header(*jfd, h) != 1)
			return failf(err, errlen, "%s: reopen: %m",
			    jpath);
		*final = h->L;
	}
	return 1;
}

int
mbox_recover(int fd, const char *jpath, char *err, size_t errlen)
{
	char *tmp = xasprintf("%s.new", jpath);
	struct jhdr h;
	uint64_t final = 0;
	int jfd = -1, r;

	(void)unlink(tmp);	/* a journal extension that never finished */
	free(tmp);
	r = prepare(fd, jpath, &jfd, &h, &final, err, errlen);
	if (r == 1 && apply(fd, jfd, &h, final, jpath) < 0)
		r = failf(err, errlen, "recovering from %s: %m",
		    jpath);
	if (r == 1)
		log_msg(LOG_WARNING, "finished an interrupted mbox rewrite "
		    "from %s", jpath);
	if (jfd >= 0)
		close(jfd);
	return r;
}
