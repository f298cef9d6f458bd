/*
 * store_int.h - private to the mail store (store.c, maildir.c, mbox.c,
 * mbox_parse.c, mbox_write.c) and to its unit tests and fuzz targets.
 * Nothing outside the store includes it; the interface is store.h.
 *
 * A store is a struct store embedded as the first member of a backend
 * struct (struct maildir, struct mbox); store.c dispatches through ops.
 */
#ifndef POSTERN_STORE_INT_H
#define POSTERN_STORE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crlf.h"
#include "store.h"

/* A sane ceiling for one folder: 10x the largest mailboxes we have seen
 * reported for POP3 use; above it open fails rather than half-listing. */
#define STORE_MAX_MSGS 1000000u
/* How long to wait for a lock held by someone else ("~10 s"): long
 * enough for an MTA to finish one delivery, short enough for a client. */
#define STORE_LOCK_TIMEOUT_MS 10000u
/* Read buffer for message files; a fixed size so nothing scales with
 * message or mailbox size. */
#define STORE_IOBUF 65536

struct store_msg {
	uint32_t uid;
	int64_t wire;		/* wire size, -1 until known */
	union {
		struct {
			char *uniq;	/* unique name (up to ':') */
			char *file;	/* current name in cur/ or new/ */
			uint8_t sub;	/* 0 = cur/, 1 = new/ */
			uint8_t gone;	/* expunged by this session */
		} md;
		struct {
			uint64_t from;	/* offset of the From_ line */
			uint64_t hdr;	/* first content byte */
			uint64_t end;	/* end of content (no separator) */
			uint64_t xuid_off;	/* first X-UID field, or 0 */
			uint32_t xuid_len;
			uint8_t from_nl;	/* From_ line ends with LF */
			uint8_t newuid;	/* UID not yet in the file */
		} mb;
	} u;
};

struct store_ops {
	void (*close)(struct store *st);
	int64_t (*wire_size)(struct store *st, unsigned i);
	enum store_result (*msg_open)(struct store *st, unsigned i,
	    struct msg_stream **out);
	enum store_result (*expunge)(struct store *st,
	    const unsigned char *del, char *err, size_t errlen);
	void (*touch)(struct store *st);
};

struct store {
	const struct store_ops *ops;
	int maildir;		/* msgs[].u.md is in use, else u.mb */
	uint32_t uidvalidity;
	unsigned count;
	struct store_msg *msgs;	/* count entries, ascending UID */
};

struct msg_stream {
	ssize_t (*read)(struct msg_stream *ms, void *buf, size_t n);
	void (*close)(struct msg_stream *ms);
};

/* Fill err (if any) and return r: every error path reads as one line. */
enum store_result store_fail(enum store_result r, char *err, size_t errlen,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * The parsed mail_location (store.c), for code beside the INBOX store that
 * needs the paths themselves (folders.c): path is the Maildir root or the
 * mbox ROOT, inbox the INBOX= value ("" when not given for Maildir; the
 * /var/mail/%u default for mbox).  Both are expanded and absolute.
 */
struct store_location {
	int mbox;
	char path[4096];	/* PATH_MAX */
	char inbox[4096];
};
enum store_result store_location_parse(const char *mail_location,
    const struct store_user *user, struct store_location *out, char *err,
    size_t errlen);

enum store_result maildir_open(const char *dir, int flags,
    struct store **out, char *err, size_t errlen);
enum store_result mbox_open(const char *root, const char *inbox, int flags,
    struct store **out, char *err, size_t errlen);

/*
 * mbox_parse.c: the mbox reader.  Both work on bytes handed to them in
 * any chunking (a file read with a fixed buffer, or a fuzzer's buffer).
 *
 * The filter turns one message's stored content into what the client
 * sees: internal headers hidden, mboxrd ">From " unquoted.  The scanner
 * finds message boundaries and runs the same filter to count wire sizes,
 * so a size can never disagree with the stream.
 */
#define MBOX_FILTER_SLACK 32	/* output one call may add beyond its input */
#define MBOX_VAL_MAX 64		/* captured bytes of an internal header value */
#define MBOX_NAME_MAX 14	/* strlen("Content-Length"), longest hidden name */

enum mbox_field_kind {
	MBOX_F_NONE = 0,
	MBOX_F_OTHER,		/* hidden, value unused */
	MBOX_F_XUID,
	MBOX_F_IMAPBASE,
	MBOX_F_IMAP,		/* UW imapd's pseudo message */
};

struct mbox_field {
	int kind;
	uint64_t off, end;	/* field bytes incl. continuation lines */
	uint64_t val_off;	/* first byte after the ':' */
	size_t vlen;
	char val[MBOX_VAL_MAX];	/* value bytes of the first line, bounded */
};

struct mbox_filter {
	uint8_t st, in_hdr, hidden, nhold, capturing;
	unsigned char hold[16];
	uint64_t off;		/* content bytes consumed */
	uint64_t line_off;	/* content offset of the current line */
	struct mbox_field cap;
	void (*field)(void *arg, const struct mbox_field *f);
	void *arg;
	struct crlf *count;	/* count output instead of storing it */
	unsigned char *out;
	size_t olen;
};

void mbox_filter_init(struct mbox_filter *f);
/* Filter n bytes: output goes to f->out + f->olen (room for
 * n + MBOX_FILTER_SLACK bytes needed) or into f->count. */
void mbox_filter_run(struct mbox_filter *f, const unsigned char *p,
    size_t n);
/* End of the message: release held bytes (at most MBOX_FILTER_SLACK). */
void mbox_filter_finish(struct mbox_filter *f);

struct mbox_base {
	int kind;		/* MBOX_F_NONE, MBOX_F_IMAPBASE or MBOX_F_IMAP */
	int valid;
	uint32_t uidvalidity, uidlast;
	uint64_t field_off, field_len;
	uint64_t v_off, l_off;	/* the two numbers, for in-place update */
	uint32_t v_len, l_len;
};

struct mbox_rec {
	uint64_t from, hdr, end;
	int64_t wire;
	uint32_t xuid;		/* value of the first X-UID, 0 if unusable */
	uint64_t xuid_off;
	uint32_t xuid_len;
	uint8_t from_nl;
	uint8_t pseudo;		/* first message carrying X-IMAP */
};

struct mbox_scan {
	/* Called per message; base is the first message's, else NULL.
	 * A nonzero return stops the scan (mbox_scan_end returns it). */
	int (*msg)(void *arg, const struct mbox_rec *r,
	    const struct mbox_base *base);
	void *arg;
	int mode, first, pending, err;
	unsigned char pfx[6];
	uint8_t npfx, pend_len;
	uint64_t off, line_off, pend_off;
	struct mbox_rec cur;
	struct mbox_base base;
	struct mbox_filter f;
	struct crlf crlf;
};

/* Start scanning at file offset start (a line start); first: the bytes
 * begin the file, so the first message found may carry X-IMAPbase. */
void mbox_scan_init(struct mbox_scan *s, uint64_t start, int first,
    int (*msg)(void *, const struct mbox_rec *, const struct mbox_base *),
    void *arg);
int mbox_scan_feed(struct mbox_scan *s, const unsigned char *p, size_t n);
int mbox_scan_end(struct mbox_scan *s);

/*
 * mbox_write.c: crash-safe in-place rewrite.  A plan is a list of edits
 * on the current file (replace del bytes at off by literal bytes), in
 * increasing offset order; the journal protocol is described there.
 */
struct mbox_edit {
	uint64_t off, del;
	size_t lit, litlen;	/* into plan->lit */
};

struct mbox_plan {
	struct mbox_edit *e;
	size_t n, cap;
	char *lit;
	size_t litlen, litcap;
	uint64_t size;		/* the file size the plan applies to */
};

void mbox_plan_init(struct mbox_plan *pl, uint64_t size);
void mbox_plan_edit(struct mbox_plan *pl, uint64_t off, uint64_t del,
    const char *lit, size_t litlen);
void mbox_plan_free(struct mbox_plan *pl);

/* Apply a plan to fd (locked by the caller) through the journal jpath.
 * *first_change: the lowest offset whose bytes moved.  0 or -1. */
int mbox_rewrite(int fd, const char *jpath, const struct mbox_plan *pl,
    uint64_t *first_change, char *err, size_t errlen);
/* Finish or discard a journal left by a crash: 0 none, 1 recovered,
 * -1 error (err says why; the mbox is left as it was). */
int mbox_recover(int fd, const char *jpath, char *err, size_t errlen);

/* Test hook: called at each step of a rewrite; a test makes it _exit()
 * to simulate a crash there.  NULL in production. */
enum mbox_crash_point {
	MBOX_CRASH_JOURNAL_PARTIAL = 1,	/* journal written, not marked */
	MBOX_CRASH_JOURNAL_DONE,	/* journal complete, mbox untouched */
	MBOX_CRASH_EXTENDED,		/* mbox grown, nothing written */
	MBOX_CRASH_HALF_WRITTEN,	/* part of the new content written */
	MBOX_CRASH_WRITTEN,		/* new content written, not cut */
	MBOX_CRASH_TRUNC_MARKED,	/* about to cut the mbox short */
	MBOX_CRASH_TRUNCATED,		/* cut, journal not yet removed */
};
extern void (*mbox_crash_hook)(int point);

#endif
