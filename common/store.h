/*
 * store.h - the mail store that imapd and pop3d share: open a folder,
 * list its messages with stable UIDs, flags, keywords, dates and exact
 * wire sizes, stream a message, change flags, append, copy, move,
 * expunge, and learn what other sessions, the MTA or mutt changed.
 *
 * Runs in the mail-session process, as the mail user (never root).  The
 * mailbox files are the truth; what is kept beside them is durable state
 * updated atomically (UID assignments) or a cache rebuilt from the files
 * whenever it is missing, stale or corrupt (the index: sizes, dates,
 * flags, modseqs).  Every byte read from the store's files is untrusted
 * (the user owns them): all parsers here are bounded and fuzzed.
 *
 * mail_location (Dovecot syntax):
 *   maildir:PATH[:INBOX=PATH]       PATH may start with ~/ ; %u = user name
 *   mbox:ROOT[:INBOX=PATH]          INBOX defaults to /var/mail/%u
 *
 * The view.  An open store holds a view: the messages 0..count-1 in
 * ascending UID order, index i being IMAP message sequence number i + 1.
 * The view changes only when the caller asks: store_sync() brings in what
 * others did (new mail, expunges, flag changes), and the caller's own
 * store_set_flags(), store_expunge() and store_append_commit() (into the
 * open folder) change it directly.  So sequence numbers stay what the
 * client was last told until the caller reports the changes (RFC 3501
 * 7.4.1, RFC 2180 4.1).  POP3 never calls store_sync(): its view is the
 * snapshot taken at open.
 *
 * Modification sequences (RFC 7162): every message has a modseq, raised
 * whenever its flags or keywords change, by us or by anyone (changes made
 * outside postern get a fresh modseq when store_sync() notices them); the
 * folder's HIGHESTMODSEQ never goes down within a UIDVALIDITY, and the
 * UIDs expunged since a given modseq are kept, so CONDSTORE and QRESYNC
 * need nothing more from the store.
 *
 * \Recent (RFC 3501 2.3.2): a new message is \Recent in exactly one
 * session, the first one opened with STORE_SELECT (read-write) that
 * sees it.  Other opens (EXAMINE, STATUS, APPEND or COPY targets, POP3)
 * see which messages are still unclaimed (store_recent_count) but claim
 * nothing.
 */
#ifndef POSTERN_STORE_H
#define POSTERN_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "flags.h"

enum store_result {
	STORE_OK = 0,
	STORE_EINUSE = -1,	/* another session holds the maildrop lock */
	STORE_ETEMP = -2,	/* try later: lock timeout, I/O error */
	STORE_EPERM = -3,	/* permanent: bad mail_location, no access */
	STORE_ENOENT = -4,	/* no such folder/message (NONEXISTENT) */
	STORE_EEXIST = -5,	/* folder exists already (ALREADYEXISTS) */
	STORE_EBADNAME = -6,	/* a name that cannot be stored (CANNOT) */
	STORE_EFULL = -7,	/* no room: 26 keywords, UIDs, disk (LIMIT,
				 * OVERQUOTA when errno says so) */
	STORE_ERDONLY = -8,	/* the folder is open read-only */
	STORE_EMODIFIED = -9,	/* UNCHANGEDSINCE failed (RFC 7162 3.1.3) */
	STORE_EVALIDITY = -10,	/* UIDVALIDITY changed under an open view:
				 * the session must end (RFC 3501 2.3.1.1) */
};

struct store_user {
	const char *name;	/* for %u */
	const char *home;	/* for ~/ */
};

struct store;
struct msg_stream;
struct folders;

/* ---- opening ---- */

/* Open flags. */
#define STORE_SESSION_LOCK 0x1	/* POP3: hold the maildrop lock for the
				 * whole session ([IN-USE] if taken) */
#define STORE_RDONLY 0x2	/* EXAMINE/STATUS: change nothing on disk
				 * except caches; claim no \Recent */
#define STORE_SELECT 0x4	/* the client's selected folder: claims
				 * \Recent (ignored with STORE_RDONLY) */

/*
 * Open INBOX (POP3).  On failure *out is NULL and err holds a message
 * for the log (not for the client).
 */
enum store_result store_open_inbox(const char *mail_location,
    const struct store_user *user, int flags, struct store **out,
    char *err, size_t errlen);

/*
 * Open the folder called name (a wire name, folders.h) in the tree f.
 * STORE_ENOENT if there is no such folder or it cannot hold messages
 * (\Noselect); err then says which.
 */
enum store_result store_open(struct folders *f, const char *name, int flags,
    struct store **out, char *err, size_t errlen);
/* Writes pending flag changes (store_flush) and releases everything. */
void store_close(struct store *st);

/* ---- the folder ---- */

unsigned store_count(const struct store *st);
uint32_t store_uidvalidity(const struct store *st);
/* The UID the next new message will get, at least (RFC 3501 2.3.1.1). */
uint32_t store_uidnext(const struct store *st);
uint64_t store_highestmodseq(const struct store *st);
/* Messages of the view that are \Recent in this session. */
unsigned store_recent_count(const struct store *st);
int store_readonly(const struct store *st);

/*
 * The folder's keyword table (flags.h): keyword bit i of a message is
 * name[i].  Entries are never renamed or reused; new ones appear after
 * store_keyword() or store_sync().
 */
const struct kwtable *store_keywords_table(const struct store *st);
/* Bit index of keyword name (any case), adding it to the table when
 * create is set.  -1 if name is not a valid keyword for this folder
 * (STORE_EBADNAME), -2 if the table is full (STORE_EFULL) or the folder
 * is read-only and the name is new. */
int store_keyword(struct store *st, const char *name, int create);

/* ---- messages (i: 0..count-1) ---- */

uint32_t store_uid(const struct store *st, unsigned i);
/* Index of the message with this UID: 1 and *i set, or 0. */
int store_find_uid(const struct store *st, uint32_t uid, unsigned *i);
/* MF_* bits (flags.h) and keyword bits. */
unsigned store_flags(const struct store *st, unsigned i);
kwset_t store_msg_keywords(const struct store *st, unsigned i);
int store_recent(const struct store *st, unsigned i);
uint64_t store_modseq(const struct store *st, unsigned i);
/* 1 if another session or program removed the message while it is still
 * in our view (only after store_sync(STORE_SYNC_KEEP_EXPUNGED)); its
 * content can no longer be read (RFC 2180 4.1.2). */
int store_gone(const struct store *st, unsigned i);
/* Maildir: the file's unique name (up to ':'); mbox: NULL. */
const char *store_filename(const struct store *st, unsigned i);

/*
 * IMAP's INTERNALDATE: for Maildir the file's mtime (set by APPEND, as
 * Dovecot and Courier do), for mbox the date on the From_ line.  Cached;
 * -1 if it cannot be read.
 */
time_t store_internal_date(struct store *st, unsigned i);
/*
 * Size of message i as sent on the wire: CRLF endings as crlf.h defines
 * them (RFC822.SIZE).  Computed once and cached beside the mailbox; W= in
 * a Maildir file name is used when present.  -1 if it cannot be read.
 */
int64_t store_wire_size(struct store *st, unsigned i);
/* Size as stored (what store_msg_open streams, before CRLF conversion),
 * for STATUS SIZE and quotas.  -1 if it cannot be read. */
int64_t store_raw_size(struct store *st, unsigned i);

/*
 * Stream message i's stored bytes as the client must see them (for mbox:
 * without the From_ line, with mboxrd ">From " unquoted, without the
 * internal Status/X-Status/X-UID/X-IMAPbase/X-IMAP/X-Keywords/
 * Content-Length headers).  Line endings are as stored; the caller
 * converts with crlf.h.  STORE_ENOENT if the message is gone.
 */
enum store_result store_msg_open(struct store *st, unsigned i,
    struct msg_stream **out);
/* Returns bytes read, 0 at the end, -1 on error. */
ssize_t msg_stream_read(struct msg_stream *ms, void *buf, size_t n);
void msg_stream_close(struct msg_stream *ms);

/*
 * The parsed MIME structure and envelopes of message i (mime.h), for
 * FETCH BODYSTRUCTURE, ENVELOPE and BODY[section]: from the folder's
 * message cache (msgcache.h), or parsed now and cached, so a message is
 * parsed once.  Free with mime_tree_free().  STORE_ENOENT if the message
 * is gone, STORE_ETEMP if it cannot be read.
 */
struct mime_tree;
enum store_result store_msg_mime(struct store *st, unsigned i,
    struct mime_tree **out);

/* ---- changing flags ---- */

enum store_flag_op { STORE_FLAGS_SET, STORE_FLAGS_ADD, STORE_FLAGS_REMOVE };

/*
 * STORE: change message i's flags (MF_* bits) and keywords.  The change
 * is applied to the message's current state on disk (so a flag another
 * session set meanwhile is not undone by +FLAGS), takes effect in the
 * view at once, and is on disk at the latest after store_flush().
 * unchangedsince: 0, or fail with STORE_EMODIFIED (nothing changed) if
 * the message's modseq is above it (RFC 7162 3.1.3).  A change that
 * changes nothing keeps the modseq.  STORE_ERDONLY on a read-only view;
 * STORE_ENOENT if the message is gone.
 */
enum store_result store_set_flags(struct store *st, unsigned i,
    enum store_flag_op op, unsigned flags, kwset_t kw,
    uint64_t unchangedsince, char *err, size_t errlen);
/* Write every pending flag change (mbox batches them into one journaled
 * rewrite; Maildir renames at once and has nothing pending). */
enum store_result store_flush(struct store *st, char *err, size_t errlen);

/* ---- expunging ---- */

/*
 * Remove the messages whose del[i] is nonzero (del has count entries),
 * crash-safely: afterwards (or after a crash at any point and the next
 * open) every message not removed is intact, and mail delivered
 * meanwhile is kept.  On success every marked message has left the view
 * (indices shift down) whether we removed it or someone else already
 * had; the caller reports them (EXPUNGE, highest index first needs no
 * renumbering).  Their UIDs go to the expunged log with a new modseq.
 */
enum store_result store_expunge(struct store *st, const unsigned char *del,
    char *err, size_t errlen);

/*
 * UIDs expunged with a modseq above since, ascending, into a malloc'd
 * array (*uids NULL when *n is 0).  STORE_ENOENT if the log does not
 * reach back that far (the index was rebuilt since): QRESYNC then
 * reports nothing it cannot know and the client resyncs.
 */
enum store_result store_expunged_since(struct store *st, uint64_t since,
    uint32_t **uids, size_t *n);

/* ---- appending, copying, moving ---- */

/*
 * APPEND, MULTIAPPEND, COPY and MOVE are transactions on the target
 * store (open, read-write; it may be the folder the session has
 * selected, or one opened only for this): messages are staged one by
 * one (written and fsynced beside the folder, invisible to everyone),
 * then store_append_commit() makes them all appear at once with
 * consecutive UIDs in staging order, or store_append_abort() drops them.
 * A crash before the commit leaves nothing visible (Maildir tmp/ files
 * are cleaned after 36 hours as the Maildir spec says; mbox stages in a
 * temporary file beside the journal).  At most STORE_STAGE_MAX messages
 * per transaction: enough that a COPY, MOVE or MULTIAPPEND of any
 * folder of ordinary size is one all-or-nothing commit, also across a
 * crash (imapd commits larger ones in batches).
 *
 * When the target is the caller's selected view, the committed messages
 * join it only through the next store_sync() (the caller reports EXISTS
 * then), so untagged responses stay in order.
 */
#define STORE_STAGE_MAX 100000
struct store_append;

/* Start staging a message with these flags, keywords (of the target's
 * table) and internal date (-1: now). */
enum store_result store_append_begin(struct store *st, unsigned flags,
    kwset_t kw, time_t internal, struct store_append **out, char *err,
    size_t errlen);
/* Message bytes, CRLF or LF line ends (stored as the format prefers:
 * Maildir and mbox keep LF, as delivery agents write them). */
enum store_result store_append_write(struct store_append *a, const void *p,
    size_t n);
/* The message is complete: fsync it and queue it for the commit.  The
 * handle is freed in every case.  STORE_EBADNAME for an empty message
 * or one with a NUL byte (RFC 3501 4.3: 8-bit data only with
 * literal8), which is dropped. */
enum store_result store_append_end(struct store_append *a, char *err,
    size_t errlen);

/*
 * COPY/MOVE: stage message si of src (any open store, possibly of the
 * other format) into dst with its flags and keywords (keywords missing
 * from dst's table are added; STORE_EFULL if they do not fit) and its
 * internal date.  Maildir to Maildir on one file system hard-links
 * instead of copying.  STORE_ENOENT if the message is gone.
 */
enum store_result store_copy(struct store *src, unsigned si,
    struct store *dst, char *err, size_t errlen);

/* Make every staged message visible.  uids[0..n) get their UIDs, in
 * staging order (n as returned; uids must have room for every message
 * staged); *uidvalidity the target's, for APPENDUID/COPYUID (RFC 4315).
 * All or none: on failure nothing is visible and nothing is lost. */
enum store_result store_append_commit(struct store *dst, uint32_t *uids,
    size_t *n, uint32_t *uidvalidity, char *err, size_t errlen);
void store_append_abort(struct store *dst);

/* ---- changes by others ---- */

/* store_sync() flags. */
#define STORE_SYNC_KEEP_EXPUNGED 0x1	/* during FETCH, STORE, SEARCH:
					 * keep removed messages in the view
					 * (store_gone) and report them
					 * later (RFC 3501 7.4.1) */

struct store_changes {
	/* Messages that left the view, each as the sequence number to put
	 * in "* n EXPUNGE" in this order (each already counts the ones
	 * reported before it). */
	unsigned *expunged;
	size_t nexpunged;
	/* Messages now in the view (EXISTS is count after the call) and
	 * how many of those are \Recent for us. */
	unsigned added;
	/* Indices (in the view after the call) whose flags, keywords or
	 * modseq changed by someone else (FETCH FLAGS), ascending. */
	unsigned *changed;
	size_t nchanged;
	int keywords_added;	/* the table grew: FLAGS/PERMANENTFLAGS */
};

/*
 * Bring the view up to date with the folder and fill *ch (zeroed on
 * entry; free with store_changes_free).  Cheap when nothing changed: a
 * few stat() calls.  STORE_EVALIDITY when the folder's UIDVALIDITY is
 * no longer the view's (it was deleted and re-created, or its UID list
 * was lost): the session must close the folder.
 */
enum store_result store_sync(struct store *st, int flags,
    struct store_changes *ch, char *err, size_t errlen);
void store_changes_free(struct store_changes *ch);

/*
 * A descriptor that becomes readable when the folder may have changed
 * (inotify on the Maildir's new/ and cur/ or on the mbox file): IDLE
 * waits on it with poll() and then calls store_sync(), which also drains
 * it.  -1 if inotify is not available; the caller then polls with
 * store_sync() every few seconds.
 */
int store_notify_fd(struct store *st);

/*
 * Call once per client command (and at least every couple of minutes
 * while a session idles): for a POP3 mbox session it refreshes the
 * mtime of the <mbox>.lock dot-lock held for the session, so MTAs do not
 * break it as stale (they may after 5 minutes).  Cheap (one lstat) and a
 * no-op otherwise.
 */
void store_touch(struct store *st);

/* ---- STATUS ---- */

struct store_status {
	unsigned messages, recent, unseen, deleted;
	uint32_t uidnext, uidvalidity;
	uint64_t highestmodseq;
	uint64_t size;		/* RFC 8438 STATUS=SIZE: sum of wire sizes */
};
/* STATUS name without selecting it (opens it read-only, from the index
 * when it is fresh).  size is only summed when want_size is set: it may
 * read messages whose size is not cached yet. */
enum store_result store_status(struct folders *f, const char *name,
    int want_size, struct store_status *out, char *err, size_t errlen);

#endif
