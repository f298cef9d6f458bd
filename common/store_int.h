/*
 * store_int.h - private to the mail store (store.c, index.c, the Maildir
 * and mbox backends, the folder layer) and to its unit tests and fuzz
 * targets.  Nothing outside the store includes it; the interface is
 * store.h.  Each backend's own private header is maildir_int.h or
 * mbox_int.h.
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
#include "maildir_int.h"
#include "mbox_int.h"
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

/* store_msg.state bits */
#define SM_RECENT 0x01		/* \Recent in this session */
#define SM_GONE 0x02		/* removed by someone else, still in the
				 * view (store_gone) */

/*
 * One message of the view.  The common part is what store.h's accessors
 * return; u is the backend's (maildir_int.h, mbox_int.h).  Kept small:
 * a session holds one per message (issue target: under 100 bytes plus
 * the file name).
 */
struct store_msg {
	uint32_t uid;
	uint8_t flags;		/* MF_* */
	uint8_t state;		/* SM_* */
	kwset_t kw;
	uint64_t modseq;
	int64_t internal;	/* -1 until known */
	int64_t wire;		/* -1 until known */
	int64_t raw;		/* -1 until known */
	union {
		struct md_msg md;
		struct mb_msg mb;
	} u;
};

/*
 * The backend's operations.  store.c checks what it can (index in range,
 * read-only views, arguments) before calling, so a backend may assume
 * i < count and, for changes, a read-write view.
 */
struct store_ops {
	void (*close)(struct store *st);
	time_t (*internal_date)(struct store *st, unsigned i);
	int64_t (*wire_size)(struct store *st, unsigned i);
	int64_t (*raw_size)(struct store *st, unsigned i);
	enum store_result (*msg_open)(struct store *st, unsigned i,
	    struct msg_stream **out);
	int (*keyword)(struct store *st, const char *name, int create);
	enum store_result (*set_flags)(struct store *st, unsigned i,
	    enum store_flag_op op, unsigned flags, kwset_t kw,
	    uint64_t unchangedsince, char *err, size_t errlen);
	enum store_result (*flush)(struct store *st, char *err, size_t errlen);
	enum store_result (*expunge)(struct store *st,
	    const unsigned char *del, char *err, size_t errlen);
	enum store_result (*expunged_since)(struct store *st, uint64_t since,
	    uint32_t **uids, size_t *n);
	enum store_result (*append_begin)(struct store *st, unsigned flags,
	    kwset_t kw, time_t internal, struct store_append **out, char *err,
	    size_t errlen);
	/* Called on dst's ops; src may be of either format. */
	enum store_result (*copy)(struct store *src, unsigned si,
	    struct store *dst, char *err, size_t errlen);
	enum store_result (*append_commit)(struct store *dst, uint32_t *uids,
	    size_t *n, uint32_t *uidvalidity, char *err, size_t errlen);
	void (*append_abort)(struct store *dst);
	enum store_result (*sync)(struct store *st, int flags,
	    struct store_changes *ch, char *err, size_t errlen);
	int (*notify_fd)(struct store *st);
	void (*touch)(struct store *st);
	/* The folder's message cache (msgcache.h), or NULL if it cannot be
	 * opened (read-only file system, no permission). */
	struct msgcache *(*cache_open)(struct store *st);
};

struct store {
	const struct store_ops *ops;
	int maildir;		/* msgs[].u.md is in use, else u.mb */
	int rdonly;		/* STORE_RDONLY */
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
	unsigned count, nrecent;
	struct store_msg *msgs;	/* count entries, ascending UID */
	struct kwtable kw;	/* the folder's keywords */
	struct msgcache *cache;	/* opened on first use (store_msg_mime) */
	int cache_tried;
};

/* store_api.c: a backend's close calls this first (the message cache). */
void store_cache_close(struct store *st);

/* A message being staged (store_append_begin); the backend's struct
 * embeds this first. */
struct store_append {
	enum store_result (*write)(struct store_append *a, const void *p,
	    size_t n);
	enum store_result (*end)(struct store_append *a, char *err,
	    size_t errlen);
};

struct msg_stream {
	ssize_t (*read)(struct msg_stream *ms, void *buf, size_t n);
	void (*close)(struct msg_stream *ms);
};

/* Append to a growing unsigned array in store_changes (util's xrealloc
 * with doubling). */
void store_changes_push(unsigned **v, size_t *n, unsigned x);

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

/* Internal open flag: create the folder if missing (INBOX only, as an
 * MDA would for a user who never got mail); without it a missing folder
 * is STORE_ENOENT. */
#define STORE_OPEN_CREATE 0x100

/* The Maildir (folder directory) dir. */
enum store_result maildir_open(const char *dir, int flags,
    struct store **out, char *err, size_t errlen);
/* The mbox file path; its state files (journal, index, POP3 lock) are
 * statedir/.postern-journal-<name>, .postern-index-<name> and
 * .postern-pop3-<name>.lock.  INBOX: statedir is the mbox ROOT and name
 * the INBOX file's base name; folder "a/b": ROOT/a and "b". */
enum store_result mbox_open(const char *path, const char *statedir,
    const char *name, int flags, struct store **out, char *err,
    size_t errlen);

/*
 * A UIDVALIDITY for a folder that starts a new UID list (uidvalidity.c):
 * the time, or one more than the last value kept in file (which is then
 * updated), and never avoid.  Maildir only; read-only views do not call
 * it.
 */
#define STORE_UIDVALIDITY_FILE ".postern-uidvalidity"
uint32_t store_new_uidvalidity(const char *file, uint32_t avoid);

#endif
