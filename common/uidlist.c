/*
 * uidlist.c - read and write UID list files (formats in uidlist.h).
 *
 * Trusts nothing in the files: each line is at most UIDLIST_LINE_MAX
 * bytes (longer ones are skipped whole), numbers are range-checked,
 * names are checked like directory entries of a Maildir, the entry
 * count is capped.  An unterminated last line is ignored: it is a torn
 * append (ours or Dovecot's), and a torn name must never be matched;
 * the next append cuts it off first.
 *
 * postern-uidlist grows by appending (uidlist_append_open, _append):
 * a new message costs one short write and an fsync, not a rewrite of a
 * file that may have 100,000 lines.  So the header's N may lag behind
 * the UIDs listed (readers raise uidnext above every UID), and a name
 * may be listed twice (a message that came back after its expunge gets
 * a new UID): the later, higher UID wins.  uidlist_write() compacts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"
#include "uidlist.h"
#include "util.h"

#define NAME_MAXLEN 255		/* NAME_MAX of the filesystems we run on */
#define WIRE_MAX ((int64_t)1 << 53)	/* larger is nonsense, not a size */

void
uidlist_init(struct uidlist *ul, enum uidlist_format fmt)
{
	memset(ul, 0, sizeof(*ul));
	ul->fmt = fmt;
}

void
uidlist_free(struct uidlist *ul)
{
	for (size_t i = 0; i < ul->n; i++)
		free(ul->e[i].name);
	free(ul->e);
	ul->e = NULL;
	ul->n = ul->cap = 0;
}

void
uidlist_add(struct uidlist *ul, uint32_t uid, int64_t wire, const char *name)
{
	if (ul->n == ul->cap) {
		ul->cap = ul->cap ? ul->cap * 2 : 64;
		ul->e = xreallocarray(ul->e, ul->cap, sizeof(*ul->e));
	}
	ul->e[ul->n].uid = uid;
	ul->e[ul->n].wire = wire;
	ul->e[ul->n].name = xstrdup(name);
	ul->n++;
}

/* Decimal digits at *p into *v (at most max); advances *p. */
static int
num(const char **p, uint64_t max, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (x > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*v = x;
	return 0;
}

/* "<prefix><number>" as a whole token ending at a space or the end. */
static int
num_token(const char **p, const char *prefix, uint64_t max, uint64_t *v)
{
	size_t n = strlen(prefix);

	if (strncmp(*p, prefix, n) != 0)
		return -1;
	*p += n;
	if (num(p, max, v) < 0 || (**p != ' ' && **p != '\0'))
		return -1;
	return 0;
}

static int
set_header(struct uidlist *ul, uint64_t v, uint64_t n)
{
	if (v == 0 || n == 0)
		return -1;
	ul->uidvalidity = (uint32_t)v;
	ul->uidnext = (uint32_t)n;
	return 0;
}

/* "1 <uidvalidity> <uidnext>": Courier, and Dovecot's version 1. */
static int
header_v1(struct uidlist *ul, const char *s)
{
	uint64_t v, n;

	if (strncmp(s, "1 ", 2) != 0)
		return -1;
	s += 2;
	if (num(&s, UINT32_MAX, &v) < 0 || *s++ != ' ' ||
	    num(&s, UINT32_MAX, &n) < 0 || *s != '\0')
		return -1;
	ul->version = 1;
	return set_header(ul, v, n);
}

/* "3 V<uidvalidity> N<uidnext> ..." in any order, others ignored. */
static int
header_dovecot3(struct uidlist *ul, const char *s)
{
	uint64_t v = 0, n = 0, x;

	if (strncmp(s, "3 ", 2) != 0)
		return -1;
	for (s += 2; *s; ) {
		if (*s == ' ') {
			s++;
		} else if (*s == 'V' || *s == 'N') {
			char k = *s++;

			if (num(&s, UINT32_MAX, &x) < 0 || (*s && *s != ' '))
				return -1;
			*(k == 'V' ? &v : &n) = x;
		} else {
			s += strcspn(s, " ");
		}
	}
	ul->version = 3;
	return set_header(ul, v, n);
}

static int
parse_header(struct uidlist *ul, const char *s)
{
	uint64_t v, n;

	switch (ul->fmt) {
	case UIDLIST_POSTERN:
		if (strncmp(s, "postern-uidlist 1 ", 18) != 0)
			return -1;
		s += 18;
		if (num_token(&s, "V", UINT32_MAX, &v) < 0 || *s++ != ' ' ||
		    num_token(&s, "N", UINT32_MAX, &n) < 0 || *s != '\0')
			return -1;
		ul->version = 1;
		return set_header(ul, v, n);
	case UIDLIST_DOVECOT:
		return s[0] == '3' ? header_dovecot3(ul, s) : header_v1(ul, s);
	case UIDLIST_COURIER:
		return header_v1(ul, s);
	}
	return -1;
}

int
uidlist_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > NAME_MAXLEN || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == '\r' || s[i] == '\n' ||
		    s[i] == ':' || s[i] == '\0')
			return 0;
	return 1;
}

static int
add_record(struct uidlist *ul, uint64_t uid, int64_t wire, const char *name)
{
	size_t n = strcspn(name, ":");	/* drop ":2,<flags>" */
	char *copy;

	if (uid == 0 || uid >= UINT32_MAX || !uidlist_name_ok(name, n))
		return -1;
	copy = xstrndup(name, n);
	uidlist_add(ul, (uint32_t)uid, wire, copy);
	free(copy);
	return 0;
}

/* "<uid> <wire|-> <name>" */
static int
record_postern(struct uidlist *ul, const char *s)
{
	uint64_t uid, w;
	int64_t wire = -1;

	if (num(&s, UINT32_MAX, &uid) < 0 || *s++ != ' ')
		return -1;
	if (*s == '-')
		s++;
	else if (num(&s, UINT64_MAX, &w) < 0)
		return -1;
	else
		wire = w <= (uint64_t)WIRE_MAX ? (int64_t)w : -1;
	if (*s++ != ' ')
		return -1;
	return add_record(ul, uid, wire, s);
}

/* "<uid> [fields] :<name>"; field W<n> is the wire size (vsize). */
static int
record_dovecot3(struct uidlist *ul, const char *s)
{
	uint64_t uid, w;
	int64_t wire = -1;

	if (num(&s, UINT32_MAX, &uid) < 0 || *s != ' ')
		return -1;
	for (;;) {
		while (*s == ' ')
			s++;
		if (*s == ':')
			return add_record(ul, uid, wire, s + 1);
		if (*s == '\0')
			return -1;
		if (*s == 'W') {
			const char *t = s + 1;

			if (num(&t, UINT64_MAX, &w) == 0 && (*t == ' ' || !*t))
				wire = w <= (uint64_t)WIRE_MAX ? (int64_t)w : -1;
		}
		s += strcspn(s, " ");
	}
}

/* "<uid> <name>" (Courier; Dovecot version 1) */
static int
record_v1(struct uidlist *ul, const char *s)
{
	uint64_t uid;

	if (num(&s, UINT32_MAX, &uid) < 0 || *s++ != ' ')
		return -1;
	return add_record(ul, uid, -1, s);
}

static void
parse_line(struct uidlist *ul, char *s, size_t len)
{
	int r;

	if (len > 0 && s[len - 1] == '\r')
		s[--len] = '\0';
	if (ul->header == 0) {
		ul->header = memchr(s, '\0', len) == NULL &&
		    parse_header(ul, s) == 0 ? 1 : -1;
		return;
	}
	if (memchr(s, '\0', len) != NULL) {
		r = -1;
	} else if (ul->header < 0) {
		return;
	} else if (len == 0) {
		return;		/* tolerate blank lines */
	} else if (ul->n >= UIDLIST_ENTRIES_MAX) {
		r = -1;
	} else if (ul->fmt == UIDLIST_POSTERN) {
		r = record_postern(ul, s);
	} else if (ul->fmt == UIDLIST_DOVECOT && ul->version == 3) {
		r = record_dovecot3(ul, s);
	} else {
		r = record_v1(ul, s);
	}
	if (r < 0)
		ul->bad_lines++;
}

void
uidlist_feed(struct uidlist *ul, const char *p, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) : n;

		if (!ul->overlong && k <= UIDLIST_LINE_MAX - ul->llen) {
			memcpy(ul->line + ul->llen, p, k);
			ul->llen += k;
		} else {
			ul->overlong = 1;
		}
		if (nl == NULL)
			return;
		if (ul->overlong) {
			if (ul->header == 0)
				ul->header = -1;
			ul->bad_lines++;
		} else {
			ul->line[ul->llen] = '\0';
			parse_line(ul, ul->line, ul->llen);
		}
		ul->llen = 0;
		ul->overlong = 0;
		p += k + 1;
		n -= k + 1;
	}
}

/* Total orders (UID then name, name then UID): deterministic dedup. */
static int
cmp_uid(const void *a, const void *b)
{
	const struct uidlist_entry *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int
cmp_name(const void *a, const void *b)
{
	const struct uidlist_entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : x->uid < y->uid ? -1 : x->uid > y->uid;
}

void
uidlist_sort_uids(struct uidlist *ul)
{
	if (ul->n > 1)
		qsort(ul->e, ul->n, sizeof(*ul->e), cmp_uid);
}

void
uidlist_sort_names(struct uidlist *ul)
{
	if (ul->n > 1)
		qsort(ul->e, ul->n, sizeof(*ul->e), cmp_name);
}

/* Of each run of entries equal by cmp (the list is sorted), keep the
 * last: sorted by name then UID, that is the highest UID. */
static void
dedup_keep_last(struct uidlist *ul, int (*cmp)(const struct uidlist_entry *,
    const struct uidlist_entry *))
{
	size_t o = 0;

	for (size_t i = 0; i < ul->n; i++) {
		if (i + 1 < ul->n && cmp(&ul->e[i], &ul->e[i + 1]) == 0) {
			free(ul->e[i].name);
			continue;
		}
		ul->e[o++] = ul->e[i];
	}
	ul->n = o;
}

/* Drop entries equal (by cmp) to the one before; the list is sorted. */
static void
dedup(struct uidlist *ul, int (*cmp)(const struct uidlist_entry *,
    const struct uidlist_entry *))
{
	size_t o = 0;

	for (size_t i = 0; i < ul->n; i++) {
		if (o > 0 && cmp(&ul->e[o - 1], &ul->e[i]) == 0) {
			free(ul->e[i].name);
			ul->bad_lines++;
			continue;
		}
		ul->e[o++] = ul->e[i];
	}
	ul->n = o;
}

static int
diff_uid(const struct uidlist_entry *a, const struct uidlist_entry *b)
{
	return a->uid != b->uid;
}

static int
diff_name(const struct uidlist_entry *a, const struct uidlist_entry *b)
{
	return strcmp(a->name, b->name);
}

int
uidlist_finish(struct uidlist *ul)
{
	if (ul->llen > 0 || ul->overlong)
		ul->bad_lines++;	/* torn last line */
	ul->llen = 0;
	if (ul->header != 1) {
		uidlist_free(ul);
		ul->header = -1;
		return -1;
	}
	/* One UID per name, the latest given (the highest), then one name
	 * per UID. */
	uidlist_sort_names(ul);
	dedup_keep_last(ul, diff_name);
	uidlist_sort_uids(ul);
	dedup(ul, diff_uid);
	/* UIDs are never reused: uidnext must pass every UID listed. */
	if (ul->n > 0 && ul->uidnext <= ul->e[ul->n - 1].uid)
		ul->uidnext = ul->e[ul->n - 1].uid + 1;
	return 0;
}

int
uidlist_read(struct uidlist *ul, int dirfd, const char *name,
    enum uidlist_format fmt)
{
	char *buf;
	struct stat st;
	ssize_t r;
	int fd;

	uidlist_init(ul, fmt);
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 0 : -2;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -2;
	}
	buf = xmalloc(STORE_IOBUF);
	while ((r = read(fd, buf, STORE_IOBUF)) > 0)
		uidlist_feed(ul, buf, (size_t)r);
	free(buf);
	close(fd);
	if (r < 0) {
		uidlist_free(ul);
		return -2;
	}
	return uidlist_finish(ul) == 0 ? 1 : -1;
}

char *
uidlist_format(const struct uidlist *ul, size_t *len)
{
	size_t cap = 64 + ul->n * 32, o;
	char *s = xmalloc(cap);

	o = (size_t)snprintf(s, cap, "postern-uidlist 1 V%u N%u\n",
	    ul->uidvalidity, ul->uidnext);
	for (size_t i = 0; i < ul->n; i++) {
		size_t need = strlen(ul->e[i].name) + 48;
		int k;

		if (cap - o < need) {
			cap = cap * 2 + need;
			s = xreallocarray(s, cap, 1);
		}
		if (ul->e[i].wire >= 0)
			k = snprintf(s + o, cap - o, "%u %lld %s\n", ul->e[i].uid,
			    (long long)ul->e[i].wire, ul->e[i].name);
		else
			k = snprintf(s + o, cap - o, "%u - %s\n", ul->e[i].uid,
			    ul->e[i].name);
		o += (size_t)k;
	}
	*len = o;
	return s;
}

struct uidlist_entry *
uidlist_find_name(const struct uidlist *ul, const char *name)
{
	size_t lo = 0, hi = ul->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(ul->e[mid].name, name);

		if (c == 0)
			return &ul->e[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* pread all of [off, off + n) or fail. */
static int
pread_all(int fd, char *buf, size_t n, off_t off)
{
	return pread_full(fd, buf, n, (uint64_t)off) == (ssize_t)n ? 0 : -1;
}

/* The header line at the start of fd into ul (fmt postern). */
static int
read_head(int fd, struct uidlist *ul, off_t size)
{
	char buf[UIDLIST_LINE_MAX + 2];
	size_t n = size < (off_t)sizeof(buf) - 1 ? (size_t)size :
	    sizeof(buf) - 1;
	char *nl;

	if (pread_all(fd, buf, n, 0) < 0 || (nl = memchr(buf, '\n', n)) ==
	    NULL)
		return -1;
	*nl = '\0';
	uidlist_init(ul, UIDLIST_POSTERN);
	parse_line(ul, buf, (size_t)(nl - buf));
	return ul->header == 1 ? 0 : -1;
}

int
uidlist_head(int dirfd, const char *name, uint32_t *uidvalidity)
{
	struct uidlist ul;
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK), r = -1;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    read_head(fd, &ul, st.st_size) == 0) {
		*uidvalidity = ul.uidvalidity;
		r = 0;
	}
	close(fd);
	return r;
}

/* The last complete line of fd (size bytes) into t: t->end is just
 * after its LF, t->uidnext above its UID.  Lines are at most
 * UIDLIST_LINE_MAX bytes, so two of them always hold one whole line. */
static int
read_tail(int fd, off_t size, struct uidlist_tail *t)
{
	char buf[2 * (UIDLIST_LINE_MAX + 1)];
	size_t n = size < (off_t)sizeof(buf) ? (size_t)size : sizeof(buf);
	off_t base = size - (off_t)n;
	struct uidlist ul;
	char *end, *start;

	if (pread_all(fd, buf, n, base) < 0 ||
	    (end = memrchr(buf, '\n', n)) == NULL)
		return -1;
	t->end = (uint64_t)base + (uint64_t)(end - buf) + 1;
	start = memrchr(buf, '\n', (size_t)(end - buf));
	start = start != NULL ? start + 1 : buf;
	if (base + (start - buf) == 0)
		return 0;	/* only the header */
	if (start == buf && base > 0)
		return -1;	/* cannot happen with bounded lines */
	*end = '\0';
	uidlist_init(&ul, UIDLIST_POSTERN);
	ul.header = 1;
	parse_line(&ul, start, (size_t)(end - start));
	if (ul.n != 1) {
		uidlist_free(&ul);
		return -1;
	}
	if (ul.e[0].uid >= t->uidnext)
		t->uidnext = ul.e[0].uid + 1;
	uidlist_free(&ul);
	return 0;
}

int
uidlist_append_open(int dirfd, const char *name, struct uidlist_tail *t)
{
	struct uidlist ul;
	struct stat st;
	int fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK);

	memset(t, 0, sizeof(*t));
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    read_head(fd, &ul, st.st_size) < 0) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	t->uidvalidity = ul.uidvalidity;
	t->uidnext = ul.uidnext;
	if (read_tail(fd, st.st_size, t) < 0 || t->uidnext == 0) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

int
uidlist_append(int fd, struct uidlist_tail *t, const struct uidlist_entry *e,
    size_t n)
{
	struct uidlist ul;
	size_t len;
	char *text, *body;
	int r;

	/* A torn last line (a crash during an append) is cut off first, so
	 * it cannot glue itself to our first line. */
	if (ftruncate(fd, (off_t)t->end) < 0)
		return -1;
	uidlist_init(&ul, UIDLIST_POSTERN);
	ul.e = (struct uidlist_entry *)e;
	ul.n = n;
	text = uidlist_format(&ul, &len);
	body = strchr(text, '\n') + 1;	/* without the header */
	len -= (size_t)(body - text);
	r = pwrite(fd, body, len, (off_t)t->end) == (ssize_t)len &&
	    fdatasync(fd) == 0 ? 0 : -1;
	free(text);
	if (r == 0) {
		t->end += len;
		for (size_t i = 0; i < n; i++)
			if (e[i].uid >= t->uidnext)
				t->uidnext = e[i].uid + 1;
	}
	return r;
}
