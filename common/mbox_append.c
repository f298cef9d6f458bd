/*
 * mbox_append.c - APPEND, MULTIAPPEND and COPY into an mbox.
 *
 * Staging: each transaction has one temporary file in the state
 * directory, unlinked as soon as it is created (nothing to clean up
 * after a crash).  A staged message is stored as it will be in the mbox,
 * except for its X-UID: the From_ line "From <sender> <asctime of the
 * internal date, UTC>" (the sender of the From_ line a message copied
 * from an mbox had, else MAILER-DAEMON as Dovecot writes), Status/X-Status/X-Keywords as Dovecot
 * writes them (no O: the message is new to mail readers), the message
 * with LF line ends (CRLF converted) and mboxrd quoting (a line matching
 * ^>*From  gets one more '>'), a final LF if it lacked one, and the
 * empty separator line.  The file is fsynced by store_append_end().
 *
 * Commit, under the mbox's locks, after bringing the view up to date:
 *   1. the new UIDs are reserved: X-IMAPbase's uidlast is raised through
 *      a journaled rewrite (a crash after it only skips UIDs);
 *   2. the marker statedir/.postern-append-<name> is written and fsynced:
 *      file identity, the size S before, the length L to append, and a
 *      checksum of those L bytes; state 'P';
 *   3. the mbox is extended to S + L with ftruncate (zeros), fsynced;
 *      marker state 'X';
 *   4. the bytes are written at S (a newline or two first if the file
 *      did not end with an empty line, so "From " starts a message), each
 *      message with "X-UID: n" after its From_ line; fsync;
 *   5. the marker is removed.
 * Recovery at the next open (under the locks): 'P' with a NUL at S
 * means step 3 happened, else nothing of ours is in the file; 'X' means
 * [S, S + L) is ours: kept if its checksum matches (the append was
 * complete), else cut out with a journaled rewrite.  Mail an MTA
 * appended after the crash lies past S + L (or at S when step 3 never
 * happened) and is never touched; when there is some, the cut region is
 * replaced by the separator our messages would have had, so that mail
 * still follows an empty line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "mbox_priv.h"
#include "mboxflags.h"
#include "util.h"

#define A_MAGIC "PSTNAPP1"
#define A_SIZE 72		/* magic, state, dev, ino, S, L, sum, check */
#define OUTBUF 8192

struct mb_staged {
	uint64_t off, len;
	uint32_t fromlen;
};

struct mb_txn {
	int fd;
	uint64_t size;
	struct mb_staged *v;
	unsigned n, cap;
};

struct mb_app {
	struct store_append a;
	struct mbox *mb;
	uint64_t start;
	uint32_t fromlen;
	int err, nul, cr, bol;
	uint64_t ngt, body;
	unsigned nfrom;
	unsigned char last[2];
	size_t olen;
	unsigned char out[OUTBUF];
};

static void
crash(int point)
{
	if (mbox_crash_hook != NULL)
		mbox_crash_hook(point);
}

/* ---- staging ---- */

static void
flush_out(struct mb_app *a)
{
	if (a->olen > 0 && !a->err && write_all(a->mb->txn->fd, a->out,
	    a->olen) < 0)
		a->err = errno ? errno : EIO;
	a->mb->txn->size += a->olen;
	a->olen = 0;
}

static void
out(struct mb_app *a, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		if (a->olen == sizeof(a->out))
			flush_out(a);
		a->out[a->olen++] = s[i];
		a->last[0] = a->last[1];
		a->last[1] = s[i];
	}
}

static void
out_held(struct mb_app *a)
{
	for (; a->ngt > 0; a->ngt--)
		out(a, ">", 1);
	out(a, "From ", a->nfrom);
	a->nfrom = 0;
	a->bol = 0;
}

/* One byte of the message, after CRLF -> LF: mboxrd quoting. */
static void
put_c(struct mb_app *a, unsigned char c)
{
	a->body++;
	if (a->bol) {
		if (a->nfrom == 0 && c == '>') {
			a->ngt++;
			return;
		}
		if (c == (unsigned char)"From "[a->nfrom]) {
			if (++a->nfrom == 5) {
				out(a, ">", 1);
				out_held(a);
			}
			return;
		}
		out_held(a);
	}
	out(a, &c, 1);
	a->bol = c == '\n';
}

static enum store_result
app_write(struct store_append *sa, const void *p, size_t n)
{
	struct mb_app *a = (struct mb_app *)sa;
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == 0)
			a->nul = 1;
		if (a->cr) {
			a->cr = 0;
			if (c != '\n')
				put_c(a, '\r');
		}
		if (c == '\r') {
			a->cr = 1;
			continue;
		}
		put_c(a, c);
	}
	return a->err ? STORE_ETEMP : STORE_OK;
}

static enum store_result
app_end(struct store_append *sa, char *err, size_t errlen)
{
	struct mb_app *a = (struct mb_app *)sa;
	struct mb_txn *t = a->mb->txn;
	enum store_result r = STORE_OK;

	if (a->cr)
		put_c(a, '\r');
	if (a->bol || a->ngt || a->nfrom)
		out_held(a);
	if (a->last[1] != '\n')
		out(a, "\n", 1);
	out(a, "\n", 1);
	flush_out(a);
	if (a->body == 0 || a->nul)
		r = store_fail(STORE_EBADNAME, err, errlen, a->nul ?
		    "the message holds a NUL byte" : "empty message");
	else if (a->err || fsync(t->fd) < 0)
		r = store_fail(STORE_ETEMP, err, errlen, "staging: %s",
		    strerror(a->err ? a->err : errno));
	if (r != STORE_OK) {
		t->size = a->start;
		(void)!ftruncate(t->fd, (off_t)a->start);
		(void)lseek(t->fd, (off_t)a->start, SEEK_SET);
	} else {
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 8;
			t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
		}
		t->v[t->n++] = (struct mb_staged){ a->start,
		    t->size - a->start, a->fromlen };
	}
	free(a);
	return r;
}

static enum store_result
txn_start(struct mbox *mb, char *err, size_t errlen)
{
	char *path;
	int fd;

	if (mb->txn != NULL)
		return STORE_OK;
	path = xasprintf("%s/.postern-stage-%s.XXXXXX", mb->statedir,
	    mb->name);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		(void)unlink(path);
	free(path);
	if (fd < 0)
		return store_fail(mb_errno_result(), err, errlen, "staging in "
		    "%s: %m", mb->statedir);
	mb->txn = xcalloc(1, sizeof(*mb->txn));
	mb->txn->fd = fd;
	return STORE_OK;
}

static enum store_result
begin(struct store *st, unsigned flags, kwset_t kw, time_t internal,
    const char *sender, struct store_append **outp, char *err, size_t errlen)
{
	struct mbox *mb = (struct mbox *)st;
	struct mb_app *a;
	struct buf h;
	struct tm tm;
	char date[64];
	enum store_result r;

	if ((r = txn_start(mb, err, errlen)) != STORE_OK)
		return r;
	if (mb->txn->n >= STORE_STAGE_MAX)
		return store_fail(STORE_EFULL, err, errlen, "more than %u "
		    "messages in one transaction", STORE_STAGE_MAX);
	if (internal < 0)
		internal = time(NULL);
	if (gmtime_r(&internal, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		return store_fail(STORE_EBADNAME, err, errlen, "bad date");
	a = xcalloc(1, sizeof(*a));
	a->a.write = app_write;
	a->a.end = app_end;
	a->mb = mb;
	a->start = mb->txn->size;
	a->bol = 1;
	buf_init(&h, MBOX_FIELD_MAX + 256);
	(void)buf_printf(&h, "From %s %s\n", sender, date);
	a->fromlen = (uint32_t)h.len;
	(void)mbox_status_format(flags, 0, &h);
	(void)mbox_xstatus_format(flags, &h);
	if (mbox_xkeywords_format(kw, &st->kw, &h) < 0) {
		buf_free(&h);
		free(a);
		return store_fail(STORE_EBADNAME, err, errlen, "keyword "
		    "cannot be stored in an mbox");
	}
	out(a, h.data, h.len);
	buf_free(&h);
	a->last[0] = a->last[1] = 0;
	*outp = &a->a;
	return STORE_OK;
}

enum store_result
mb_append_begin(struct store *st, unsigned flags, kwset_t kw,
    time_t internal, struct store_append **outp, char *err, size_t errlen)
{
	return begin(st, flags, kw, internal, "MAILER-DAEMON", outp, err,
	    errlen);
}

/* The sender on an mbox message's From_ line, if it is one plain
 * word (printable, no space), into out; else MAILER-DAEMON. */
static void
from_sender(struct store *src, unsigned si, char *out, size_t outlen)
{
	struct mbox *mb = (struct mbox *)src;
	char line[300];
	ssize_t r = -1;
	size_t i = 5, k = 0;

	snprintf(out, outlen, "MAILER-DAEMON");
	if (src->maildir || mb->fd < 0 || mb_lock(mb, NULL, 0) != STORE_OK)
		return;
	if (mb_refresh(mb, NULL, 0) == STORE_OK && mb_locate(mb, si) ==
	    STORE_OK)
		r = pread(mb->fd, line, sizeof(line), (off_t)
		    src->msgs[si].u.mb.from);
	mb_unlock(mb);
	if (r < 6 || memcmp(line, "From ", 5) != 0)
		return;
	while (i < (size_t)r && line[i] > ' ' && line[i] < 127 && k + 1 < outlen)
		i++, k++;
	if (k == 0 || i == (size_t)r || line[i] != ' ' || k + 1 >= outlen)
		return;
	memcpy(out, line + 5, k);
	out[k] = '\0';
}

enum store_result
mb_copy(struct store *src, unsigned si, struct store *dst, char *err,
    size_t errlen)
{
	const struct kwtable *skw = store_keywords_table(src);
	kwset_t skset = store_msg_keywords(src, si), kw = 0;
	struct store_append *a;
	struct msg_stream *ms;
	enum store_result r;
	char buf[16384], sender[256];
	ssize_t n;

	for (unsigned b = 0; b < KW_MAX; b++) {
		int k;

		if (!(skset & ((kwset_t)1 << b)) || b >= skw->n ||
		    skw->name[b] == NULL)
			continue;
		if ((k = store_keyword(dst, skw->name[b], 1)) == -2)
			return store_fail(STORE_EFULL, err, errlen, "too "
			    "many keywords in the target folder");
		if (k < 0)
			return store_fail(STORE_EBADNAME, err, errlen,
			    "keyword %s cannot be stored in an mbox",
			    skw->name[b]);
		kw |= (kwset_t)1 << k;
	}
	from_sender(src, si, sender, sizeof(sender));
	if ((r = store_msg_open(src, si, &ms)) != STORE_OK)
		return store_fail(r, err, errlen, "the message has been "
		    "expunged");
	r = begin(dst, store_flags(src, si), kw, store_internal_date(src, si),
	    sender, &a, err, errlen);
	if (r != STORE_OK) {
		msg_stream_close(ms);
		return r;
	}
	while ((n = msg_stream_read(ms, buf, sizeof(buf))) > 0)
		(void)app_write(a, buf, (size_t)n);
	msg_stream_close(ms);
	if (n < 0) {
		((struct mb_app *)a)->err = EIO;
	}
	return app_end(a, err, errlen);
}

void
mb_append_abort(struct store *dst)
{
	struct mbox *mb = (struct mbox *)dst;

	if (mb->txn == NULL)
		return;
	close(mb->txn->fd);
	free(mb->txn->v);
	free(mb->txn);
	mb->txn = NULL;
}

/* ---- commit ---- */

struct gen {
	int fd;			/* mbox to write, or -1: only count */
	uint64_t pos, sum, half;
	int err;
};

static void
gen_put(struct gen *g, const void *p, size_t n)
{
	if (g->err || n == 0)
		return;
	if (g->fd >= 0) {
		if (g->half > 0 && g->pos < g->half && g->pos + n >= g->half) {
			size_t k = (size_t)(g->half - g->pos);

			if (pwrite(g->fd, p, k, (off_t)g->pos) != (ssize_t)k)
				g->err = errno ? errno : EIO;
			crash(MBOX_CRASH_APPEND_HALF);
			g->pos += k;
			p = (const char *)p + k;
			n -= k;
			g->half = 0;
		}
		if (n > 0 && pwrite(g->fd, p, n, (off_t)g->pos) != (ssize_t)n)
			g->err = errno ? errno : EIO;
	}
	g->sum = mb_hash(g->sum, p, n);
	g->pos += n;
}

static void
gen_copy(struct gen *g, int sfd, uint64_t off, uint64_t len, char *buf)
{
	while (len > 0 && !g->err) {
		size_t k = len < STORE_IOBUF ? (size_t)len : STORE_IOBUF;
		ssize_t r = pread(sfd, buf, k, (off_t)off);

		if (r <= 0) {
			g->err = r < 0 ? errno : EIO;
			return;
		}
		gen_put(g, buf, (size_t)r);
		off += (uint64_t)r, len -= (uint64_t)r;
	}
}

/* The bytes to append: prefix, then each staged message with its X-UID
 * (and the X-IMAPbase in the first when the file has no message). */
static void
generate(struct mbox *mb, struct gen *g, const char *prefix, uint32_t uid0,
    const struct buf *base)
{
	struct mb_txn *t = mb->txn;
	char *buf = xmalloc(STORE_IOBUF), line[32];

	gen_put(g, prefix, strlen(prefix));
	for (unsigned i = 0; i < t->n; i++) {
		const struct mb_staged *s = &t->v[i];
		int n = snprintf(line, sizeof(line), "X-UID: %u\n", uid0 + i);

		gen_copy(g, t->fd, s->off, s->fromlen, buf);
		if (i == 0 && base != NULL)
			gen_put(g, base->data, base->len);
		gen_put(g, line, (size_t)n);
		gen_copy(g, t->fd, s->off + s->fromlen, s->len - s->fromlen,
		    buf);
	}
	free(buf);
}

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

static int
fsync_statedir(struct mbox *mb)
{
	int fd = open(mb->statedir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

static int
marker_write(int afd, int state, const uint64_t v[5])
{
	unsigned char b[A_SIZE] = { 0 };

	memcpy(b, A_MAGIC, 8);
	b[8] = (unsigned char)state;
	for (int i = 0; i < 5; i++)
		put64(b + 16 + 8 * i, v[i]);
	put64(b + 56, mb_hash(MB_HASH_INIT, b + 16, 40));
	return pwrite(afd, b, A_SIZE, 0) == A_SIZE && fsync(afd) == 0 ? 0 : -1;
}

/* The separator needed before a new From_ line at the end. */
static const char *
prefix_for(int fd, uint64_t size)
{
	unsigned char b[2];

	if (size == 0)
		return "";
	if (size == 1) {
		if (pread(fd, b, 1, 0) != 1)
			return "\n\n";
		return b[0] == '\n' ? "\n" : "\n\n";
	}
	if (pread(fd, b, 2, (off_t)(size - 2)) != 2 || b[1] != '\n')
		return "\n\n";
	return b[0] == '\n' ? "" : "\n";
}

static enum store_result
create_file(struct mbox *mb, char *err, size_t errlen)
{
	int fd;

	if (mb->fd >= 0)
		return STORE_OK;
	fd = open(mb->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return store_fail(mb_errno_result(), err, errlen, "creating "
		    "%s: %m", mb->path);
	close(fd);
	return mb_lock(mb, err, errlen);
}

/* Steps 2-5 of the top comment; the locks are held. */
static enum store_result
append_bytes(struct mbox *mb, uint32_t uid0, const struct buf *base,
    char *err, size_t errlen)
{
	struct gen g = { .fd = -1, .sum = MB_HASH_INIT };
	struct stat st;
	const char *prefix;
	uint64_t v[5], S;
	int afd;

	if (fstat(mb->fd, &st) < 0)
		return store_fail(STORE_ETEMP, err, errlen, "%s: %m", mb->path);
	S = (uint64_t)st.st_size;
	prefix = prefix_for(mb->fd, S);
	generate(mb, &g, prefix, uid0, base);
	if (g.err)
		return store_fail(STORE_ETEMP, err, errlen, "reading the "
		    "staged messages: %s", strerror(g.err));
	v[0] = (uint64_t)st.st_dev, v[1] = (uint64_t)st.st_ino;
	v[2] = S, v[3] = g.pos, v[4] = g.sum;
	afd = open(mb->apath, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (afd < 0 || marker_write(afd, 'P', v) < 0 ||
	    fsync_statedir(mb) < 0) {
		if (afd >= 0) {
			close(afd);
			unlink(mb->apath);
		}
		return store_fail(STORE_ETEMP, err, errlen, "%s: %m",
		    mb->apath);
	}
	crash(MBOX_CRASH_APPEND_MARKED);
	if (ftruncate(mb->fd, (off_t)(S + g.pos)) < 0 || fsync(mb->fd) < 0 ||
	    marker_write(afd, 'X', v) < 0)
		goto fail;
	crash(MBOX_CRASH_APPEND_EXTENDED);
	g = (struct gen){ .fd = mb->fd, .pos = S, .sum = MB_HASH_INIT,
	    .half = mbox_crash_hook ? S + v[3] / 2 : 0 };
	generate(mb, &g, prefix, uid0, base);
	if (g.err || fsync(mb->fd) < 0)
		goto fail;
	crash(MBOX_CRASH_APPEND_WRITTEN);
	close(afd);
	if (unlink(mb->apath) < 0 || fsync_statedir(mb) < 0)
		log_msg(LOG_WARNING, "%s: %m", mb->apath);
	return STORE_OK;
fail:
	/* Undo now if we can; else the marker makes the next open do it. */
	{
		int e = errno;

		close(afd);
		if (mb_append_recover(mb, NULL, 0) < 0)
			log_msg(LOG_ERR, "%s: append not undone; the next "
			    "open will", mb->path);
		errno = e;
	}
	return store_fail(STORE_ETEMP, err, errlen, "appending to %s: %m",
	    mb->path);
}

static unsigned
file_messages(struct mbox *mb)
{
	unsigned n = mb->extra.n;

	for (unsigned i = 0; i < mb->st.count; i++)
		n += !(mb->st.msgs[i].u.mb.bits & MB_VANISHED);
	return n + (unsigned)mb->has_pseudo;
}

enum store_result
mb_append_commit(struct store *dst, uint32_t *uids, size_t *n,
    uint32_t *uidvalidity, char *err, size_t errlen)
{
	struct mbox *mb = (struct mbox *)dst;
	struct buf base;
	enum store_result r;
	uint32_t uid0;
	int need_base;

	*uidvalidity = dst->uidvalidity;
	if (mb->txn == NULL || mb->txn->n == 0) {
		mb_append_abort(dst);
		return STORE_OK;
	}
	if ((r = mb_lock(mb, err, errlen)) != STORE_OK ||
	    (r = create_file(mb, err, errlen)) != STORE_OK ||
	    (r = mb_refresh(mb, err, errlen)) != STORE_OK)
		goto out;
	if (mb->base.valid && mb->base.uidvalidity != dst->uidvalidity &&
	    dst->count > 0) {
		r = store_fail(STORE_EVALIDITY, err, errlen, "%s: "
		    "UIDVALIDITY changed", mb->path);
		goto out;
	}
	need_base = file_messages(mb) == 0;
	if (need_base)
		mb_uidlast_floor(mb);
	if (mb->uidlast > UINT32_MAX - 2 - mb->txn->n) {
		r = store_fail(STORE_EFULL, err, errlen, "%s: out of UIDs",
		    mb->path);
		goto out;
	}
	uid0 = mb->uidlast + 1;
	if (!need_base) {
		/* Step 1: reserve the UIDs in X-IMAPbase (with any
		 * pending change). */
		mb->uidlast += mb->txn->n;
		if ((r = mb_write(mb, NULL, err, errlen)) != STORE_OK)
			goto out;
	} else {
		/* No message to hold X-IMAPbase: the first new one will. */
		mb->uidlast += mb->txn->n;
	}
	buf_init(&base, MBOX_FIELD_MAX);
	if (need_base && mbox_imapbase_format(dst->uidvalidity, mb->uidlast,
	    &dst->kw, &base) < 0)
		(void)mbox_imapbase_format(dst->uidvalidity, mb->uidlast,
		    &(struct kwtable){ 0 }, &base);
	r = append_bytes(mb, uid0, need_base ? &base : NULL, err, errlen);
	buf_free(&base);
	if (r == STORE_OK) {
		for (unsigned i = 0; i < mb->txn->n; i++)
			uids[i] = uid0 + i;
		*n = mb->txn->n;
		*uidvalidity = dst->uidvalidity;
		mb->base_dirty = 0;
		r = mb_refresh(mb, err, errlen);
		mb_index_save(mb);
	}
out:
	mb_unlock(mb);
	mb_append_abort(dst);
	return r;
}

/* ---- recovery ---- */

static int
byte_at(int fd, uint64_t off)
{
	unsigned char c;

	return pread(fd, &c, 1, (off_t)off) == 1 ? c : -1;
}

static uint64_t
sum_range(int fd, uint64_t off, uint64_t len)
{
	char *buf = xmalloc(STORE_IOBUF);
	uint64_t h = MB_HASH_INIT;

	while (len > 0) {
		size_t k = len < STORE_IOBUF ? (size_t)len : STORE_IOBUF;
		ssize_t r = pread(fd, buf, k, (off_t)off);

		if (r <= 0) {
			h = 0;
			break;
		}
		h = mb_hash(h, buf, (size_t)r);
		off += (uint64_t)r, len -= (uint64_t)r;
	}
	free(buf);
	return h;
}

/* Replace [S, S + L) of the mbox by lit (journaled). */
static int
cut_out(struct mbox *mb, uint64_t S, uint64_t L, uint64_t C, const char *lit,
    char *err, size_t errlen)
{
	struct mbox_plan pl;
	uint64_t moved;
	int r;

	mbox_plan_init(&pl, C);
	mbox_plan_edit(&pl, S, L, lit, strlen(lit));
	r = mbox_rewrite(mb->fd, mb->jpath, &pl, &moved, err, errlen);
	mbox_plan_free(&pl);
	return r;
}

int
mb_append_recover(struct mbox *mb, char *err, size_t errlen)
{
	unsigned char b[A_SIZE];
	struct stat st;
	uint64_t S, L, C;
	int afd, r = 0, ours;

	if ((afd = open(mb->apath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -1;
	if (pread(afd, b, A_SIZE, 0) != A_SIZE || memcmp(b, A_MAGIC, 8) != 0 ||
	    get64(b + 56) != mb_hash(MB_HASH_INIT, b + 16, 40) ||
	    (b[8] != 'P' && b[8] != 'X') || fstat(mb->fd, &st) < 0 ||
	    get64(b + 16) != (uint64_t)st.st_dev ||
	    get64(b + 24) != (uint64_t)st.st_ino) {
		/* Torn before it was complete (the mbox was not touched
		 * then), or for another file. */
		close(afd);
		unlink(mb->apath);
		return 0;
	}
	close(afd);
	S = get64(b + 32), L = get64(b + 40), C = (uint64_t)st.st_size;
	ours = C >= S + L && L > 0 && (b[8] == 'X' || byte_at(mb->fd, S) == 0);
	if (ours && b[8] == 'X' && sum_range(mb->fd, S, L) == get64(b + 48)) {
		log_msg(LOG_NOTICE, "%s: an interrupted append was complete",
		    mb->path);
	} else if (ours) {
		/* Mail appended after the crash gets the separator we
		 * meant to put before ours (it may still be zeros), or it
		 * would join the last message. */
		const char *sep = C > S + L ? prefix_for(mb->fd, S) : "";

		log_msg(LOG_WARNING, "%s: removing an interrupted append "
		    "(%llu bytes at %llu)", mb->path, (unsigned long long)L,
		    (unsigned long long)S);
		r = cut_out(mb, S, L, C, sep, err, errlen);
	}
	if (r == 0 && (unlink(mb->apath) < 0 || fsync_statedir(mb) < 0))
		r = -1;
	mb->sig.valid = 0;
	return r;
}
