/*
 * mbox_int.h - private to the mbox backend (mbox.c, mbox_parse.c,
 * mbox_write.c and the files split from them), its unit tests and fuzz
 * targets: the parser, the journaled rewrite, and the per-message data
 * the backend keeps in struct store_msg.
 */
#ifndef POSTERN_MBOX_INT_H
#define POSTERN_MBOX_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crlf.h"

/*
 * Per-message data in struct store_msg (store_int.h).  Offsets are into
 * the file as the view last read it (struct mbox.sig); every operation
 * that uses them first checks the file is still that one (mbox_refresh).
 */
struct mb_msg {
	uint64_t from;		/* offset of the From_ line */
	uint64_t hdr;		/* first content byte */
	uint64_t end;		/* end of content (no separator) */
	uint64_t xuid_off;	/* first X-UID field, or 0 */
	uint32_t xuid_len;
	uint32_t pend;		/* 1 + index into mbox.pend, or 0 */
	uint8_t bits;		/* MB_* */
};

#define MB_FROM_NL 0x01		/* From_ line ends with LF */
#define MB_NEWUID 0x02		/* UID not yet in the file */
#define MB_OLD 0x04		/* Status holds O: seen by a mail reader */
#define MB_VANISHED 0x08	/* no longer in the file (found by a refresh) */
#define MB_CHANGED 0x10		/* flags changed by others: report at sync */
#define MB_KWLOST 0x20		/* X-Keywords names the table could not take */
#define MB_SETOLD 0x40		/* claimed \Recent: write Status O */

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
#define MBOX_VAL_MAX 128	/* captured bytes of an internal header value */
/* A value longer than MBOX_VAL_MAX is read back from the file, up to
 * this many bytes (26 keywords of 255 bytes, folded, fit; the rest of a
 * longer one is ignored). */
#define MBOX_FIELD_MAX 16384
#define MBOX_NAME_MAX 14	/* strlen("Content-Length"), longest hidden name */

enum mbox_field_kind {
	MBOX_F_NONE = 0,
	MBOX_F_OTHER,		/* hidden, value unused */
	MBOX_F_STATUS,
	MBOX_F_XSTATUS,
	MBOX_F_XKEYWORDS,
	MBOX_F_XUID,
	MBOX_F_IMAPBASE,
	MBOX_F_IMAP,		/* UW imapd's pseudo message */
};

struct mbox_field {
	int kind;
	uint64_t off, end;	/* field bytes incl. continuation lines */
	uint64_t val_off;	/* first byte after the ':' */
	size_t vlen;		/* bytes in val */
	int trunc;		/* the value is longer than val */
	char val[MBOX_VAL_MAX];	/* value bytes, continuation lines and
				 * line ends included, bounded */
};

/* A field as the scanner reports it: file offsets of the whole field
 * [off, end) and of its value [val_off, end); the value's bytes in v
 * unless trunc (then read them from the file, mbox_val_read). */
struct mbox_val {
	int present, trunc;
	uint64_t off, end, val_off;
	size_t n;
	char v[MBOX_VAL_MAX];
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
	struct mbox_val val;	/* the whole value (keyword names) */
};

struct mbox_rec {
	uint64_t from, hdr, end;
	int64_t wire, raw;
	struct mbox_val status, xstatus, xkw;
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
	/* mbox_append.c's commit */
	MBOX_CRASH_APPEND_MARKED,	/* marker written, mbox untouched */
	MBOX_CRASH_APPEND_EXTENDED,	/* mbox grown (zeros), marker 'X' */
	MBOX_CRASH_APPEND_HALF,		/* half the new messages written */
	MBOX_CRASH_APPEND_WRITTEN,	/* all written, marker not removed */
};
extern void (*mbox_crash_hook)(int point);

#endif
