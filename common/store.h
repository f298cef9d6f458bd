/*
 * store.h - the mail store as the POP3 server sees it: open the user's
 * INBOX for one session, list its messages with stable UIDs and exact wire
 * sizes, stream a message, remove messages at the end of the session.
 *
 * Runs in the mail-session process, as the mail user (never root).  The
 * mailbox files are the truth; everything kept beside them (UID list,
 * size cache) is either updated atomically or rebuilt from the files.
 * Every byte read from the store's files is untrusted (the user owns
 * them): all parsers here are bounded and fuzzed.
 *
 * mail_location (Dovecot syntax):
 *   maildir:PATH[:INBOX=PATH]       PATH may start with ~/ ; %u = user name
 *   mbox:ROOT[:INBOX=PATH]          INBOX defaults to /var/mail/%u
 */
#ifndef POSTERN_STORE_H
#define POSTERN_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum store_result {
	STORE_OK = 0,
	STORE_EINUSE = -1,	/* another session holds the maildrop lock */
	STORE_ETEMP = -2,	/* try later: lock timeout, I/O error */
	STORE_EPERM = -3,	/* permanent: bad mail_location, no access */
	STORE_ENOENT = -4,	/* no such folder (IMAP NONEXISTENT) */
	STORE_EEXIST = -5,	/* folder exists already (ALREADYEXISTS) */
	STORE_EBADNAME = -6,	/* a name that cannot be stored (CANNOT) */
};

struct store_user {
	const char *name;	/* for %u */
	const char *home;	/* for ~/ */
};

struct store;
struct msg_stream;

/* Take the POP3 maildrop lock for the whole session ([IN-USE] if taken). */
#define STORE_SESSION_LOCK 0x1

/*
 * Open INBOX.  On failure *out is NULL and err holds a message for the
 * log (not for the client).  The message list is a snapshot: mail
 * delivered after the open is neither listed nor touched by this session.
 */
enum store_result store_open_inbox(const char *mail_location,
    const struct store_user *user, int flags, struct store **out,
    char *err, size_t errlen);
void store_close(struct store *st);

unsigned store_count(const struct store *st);
uint32_t store_uidvalidity(const struct store *st);
uint32_t store_uid(const struct store *st, unsigned i);
/* Maildir: the file's unique name (up to ':'); mbox: NULL. */
const char *store_filename(const struct store *st, unsigned i);

/*
 * Size of message i as sent on the wire: CRLF endings as crlf.h defines
 * them.  Computed once and cached beside the mailbox; W= in a Maildir file
 * name is used when present.  Returns -1 if the message cannot be read.
 */
int64_t store_wire_size(struct store *st, unsigned i);

/*
 * Stream message i's stored bytes as the client must see them (for mbox:
 * without the From_ line, with mboxrd ">From " unquoted, without the
 * internal Status/X-Status/X-UID/X-IMAPbase/X-IMAP/X-Keywords/
 * Content-Length headers).  Line endings are as stored; the caller
 * converts with crlf.h.
 */
enum store_result store_msg_open(struct store *st, unsigned i,
    struct msg_stream **out);
/* Returns bytes read, 0 at the end, -1 on error. */
ssize_t msg_stream_read(struct msg_stream *ms, void *buf, size_t n);
void msg_stream_close(struct msg_stream *ms);

/*
 * Remove the messages whose del[i] is nonzero, crash-safely: afterwards
 * (or after a crash at any point and the next open) every message not
 * removed is intact, and mail delivered meanwhile is kept.  On success
 * the list holds only the remaining messages (indices shift down).
 */
enum store_result store_expunge(struct store *st, const unsigned char *del,
    char *err, size_t errlen);

/*
 * Call once per client command (and at least every couple of minutes
 * while a session idles): for mbox it refreshes the mtime of the
 * <mbox>.lock dot-lock held for the session, so MTAs do not break it as
 * stale (they may after 5 minutes).  Cheap (one lstat) and a no-op for
 * Maildir.
 */
void store_touch(struct store *st);

#endif
