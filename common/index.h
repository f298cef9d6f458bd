/*
 * index.h - a folder's index: what the store knows about each message
 * (UID, flags, keywords, modseq, dates, sizes, where it is), kept in one
 * file beside the mailbox and shared by every session on the folder.
 *
 * It is a cache (DESIGN.md "The mail store"): never trusted over the
 * mailbox files, rebuilt whenever it is missing, stale or corrupt.  What
 * it adds that the files cannot hold is shared session state: the
 * modseqs all sessions must agree on, HIGHESTMODSEQ, the log of expunged
 * UIDs (for QRESYNC) and which UIDs have been claimed as \Recent.
 *
 * File layout (all integers little-endian, fixed width):
 *
 *   header    INDEX_HDR_SIZE bytes (struct index_hdr, CRC-32C at the end)
 *   records   cap slots of INDEX_REC_SIZE bytes; the first count are in
 *             use, in ascending UID order, each with its own CRC-32C
 *   strings   str_len bytes: the records' names (Maildir unique names),
 *             appended, referenced by (offset, length) from a record
 *
 * Changes, all under the folder's lock (Maildir: postern-uidlist.lock;
 * mbox: the mbox's own fcntl + dot-lock), never without it:
 *   - in place: a record (flags, keywords, modseq, expunged mark, cached
 *     sizes/dates), then the header (change counter, HIGHESTMODSEQ);
 *   - append: a record into the next free slot and its name at the end of
 *     the strings, then the header (count, str_len);
 *   - rewrite: when the slots are full, when a third of the records are
 *     expunged, or when anything fails to verify: a new file (written,
 *     fsynced, renamed over the old one) with a new generation number.
 * Readers check the header without the lock (one pread): same generation
 * and change counter as last time means nothing changed.  Otherwise they
 * take the lock and read; a torn or bad record (CRC) makes the reader
 * rebuild the index from the mailbox.
 *
 * The expunge log is a second file, <name>.expunged: 16-byte entries
 * (modseq, first UID, last UID), appended under the same lock.  On
 * rewrite it is cut to its newest INDEX_XLOG_MAX entries and the header's
 * xlog_floor says from which modseq on it is complete.
 *
 * Modseqs after a rebuild: the old ones are lost, and HIGHESTMODSEQ must
 * not go down (RFC 7162 3.1.2.1), so a rebuilt index starts at the
 * current time in microseconds (which exceeds any counter a previous
 * index reached unless it saw more than a million changes a second), and
 * its xlog_floor is that value: QRESYNC from before it gets a full resync.
 *
 * Every byte is untrusted (the mail user owns the file): sizes and
 * offsets are checked against the file size before use, counts against
 * STORE_MAX_MSGS, and nothing is allocated from a number in the file
 * without that check.
 */
#ifndef POSTERN_INDEX_H
#define POSTERN_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "flags.h"

#define INDEX_MAGIC "PSTNIDX1"	/* 8 bytes, no NUL */
#define INDEX_VERSION 1
#define INDEX_HDR_SIZE 256
#define INDEX_REC_SIZE 64
#define INDEX_XLOG_MAX 100000
#define INDEX_VALIDITY_SIZE 96

/* Index kinds: a Maildir index is never read as an mbox's. */
#define INDEX_KIND_MAILDIR 1
#define INDEX_KIND_MBOX 2

struct index_hdr {
	uint32_t kind;
	uint32_t uidvalidity, uidnext;
	uint32_t recent_uid;	/* UIDs below this were claimed \Recent */
	uint32_t count, cap;	/* records in use, slots */
	uint64_t generation;	/* new for every rewrite */
	uint64_t change;	/* +1 on every change in place or append */
	uint64_t highestmodseq;
	uint64_t xlog_floor;	/* expunge log complete above this */
	uint64_t str_len;
	/* What the backend checks the mailbox against (Maildir: the ns
	 * mtimes of new/ and cur/ and the uid list's identity; mbox: inode,
	 * size, mtime, and a hash of the bytes around the last message). */
	uint8_t validity[INDEX_VALIDITY_SIZE];
};

/* Record flags (index_rec.state). */
#define IREC_EXPUNGED 0x01	/* tombstone, kept until the next rewrite */
#define IREC_NEWDIR 0x02	/* Maildir: the file is in new/ */
#define IREC_OTHERINFO 0x04	/* Maildir: the name has info we cannot
				 * rebuild from the flags (re-read the
				 * directory to find it) */

struct index_rec {
	uint32_t uid;
	uint8_t flags;		/* MF_* */
	uint8_t state;		/* IREC_* */
	uint32_t kw;		/* kwset_t */
	uint64_t modseq;
	int64_t internal;	/* seconds since the epoch, -1 unknown */
	int64_t wire;		/* -1 unknown */
	int64_t raw;		/* -1 unknown */
	/* Backend data: Maildir uses str_off/str_len for the unique name
	 * and extra[] for the "other" flag letters; mbox keeps no strings
	 * (str_len 0) and uses str_off for the offset of the From_ line and
	 * extra[] for the rest of its positions, as mbox.c documents. */
	uint64_t str_off;
	uint16_t str_len;
	uint8_t extra[10];
};

struct index;

/*
 * Open dirfd/name for reading and writing in place (created by
 * index_rewrite() when missing).  0 and *out set; 1 if there is no index
 * (or it is of another kind, version or record size: treat as missing);
 * -1 on I/O error (errno).  The whole header is verified (CRC, sizes
 * against the file size); a bad one reads as missing.
 */
int index_open(int dirfd, const char *name, uint32_t kind,
    struct index **out);
void index_close(struct index *ix);
const struct index_hdr *index_header(const struct index *ix);

/* Without the lock: 1 if the file on disk is no longer what ix last read
 * or wrote (another generation, another change counter, a rename over
 * it, or an unreadable header), else 0. */
int index_changed(struct index *ix);
/* Re-read the header (under the lock).  0, or -1 if it no longer
 * verifies or the file was replaced (index_close and index_open again). */
int index_reload(struct index *ix);

/* Records [first, first + n) into out.  0, or -1 if one fails its CRC or
 * names strings outside the file (rebuild). */
int index_read_recs(struct index *ix, uint32_t first, uint32_t n,
    struct index_rec *out);
/* A record's name (Maildir unique name) into out (NUL-terminated,
 * outlen > str_len).  0, or -1 if out of bounds. */
int index_read_str(struct index *ix, const struct index_rec *r, char *out,
    size_t outlen);
/* Reading many names: index_strs_load() reads the string area in one
 * pread (if it is at most INDEX_STRS_LOAD_MAX bytes), so index_read_str()
 * copies instead of reading one name at a time; index_strs_drop() frees
 * it (index_close() does too).  0, or -1 on I/O error (names are then
 * read one by one). */
#define INDEX_STRS_LOAD_MAX (64u << 20)
int index_strs_load(struct index *ix);
void index_strs_drop(struct index *ix);

/*
 * In-place changes (caller holds the folder lock).  Each bumps the
 * change counter; index_put_hdr() writes the header fields the caller may
 * change (uidnext, recent_uid, highestmodseq, validity) from h.
 * index_append() returns 1 when there is no free slot or the strings
 * would pass the format's limits: the caller rewrites instead.  With a
 * name (len > 0) it sets str_off/str_len; without one (mbox) the
 * record's str_off is kept as given and str_len is 0.
 */
int index_put_rec(struct index *ix, uint32_t pos, const struct index_rec *r);
int index_append(struct index *ix, const struct index_rec *r,
    const char *str, size_t len);
int index_put_hdr(struct index *ix, const struct index_hdr *h);

/*
 * Write a whole new index atomically (temp file, fsync, rename) with a
 * new generation, recs[0..n) (ascending UIDs; expunged ones left out by
 * the caller), strs[i] each record's name (or NULL; strs may be NULL),
 * and room for at least twice n records (at most STORE_MAX_MSGS).  For a
 * record with a name the caller's str_off/str_len are ignored and
 * recomputed; a record without one keeps its str_off (mbox: the From_
 * offset) with str_len 0.  h is the base of the new header: count, cap,
 * str_len, generation and change are recomputed, and xlog_floor is
 * raised when the expunge log is cut.  On success *ix (closed first if
 * not NULL) is the new file; on failure *ix is untouched.
 */
int index_rewrite(int dirfd, const char *name, const struct index_hdr *h,
    const struct index_rec *recs, const char *const *strs, uint32_t n,
    struct index **ix);

/* The expunge log: append ranges of UIDs expunged at modseq. */
int index_xlog_append(struct index *ix, uint64_t modseq,
    const uint32_t *uids, size_t n);
/* UIDs expunged with a modseq above since (ascending, malloc'd).
 * 0, or 1 if since is below the header's xlog_floor (unknown), -1 I/O. */
int index_xlog_since(struct index *ix, uint64_t since, uint32_t **uids,
    size_t *n);

/* CRC-32C (Castagnoli), as the format uses. */
uint32_t index_crc32c(uint32_t crc, const void *p, size_t n);

/* The HIGHESTMODSEQ a new or rebuilt index starts from (see above). */
uint64_t index_fresh_modseq(void);

#endif
