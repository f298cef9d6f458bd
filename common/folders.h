/*
 * folders.h - the user's folder tree: IMAP mailbox names, the hierarchy,
 * and subscriptions (RFC 3501 5.1, 6.3.3-6.3.9; RFC 3348 CHILDREN;
 * RFC 5258 \NonExistent).  Messages are not handled here (store.h).
 *
 * Runs in the mail-session process as the mail user.  Names come from the
 * client, from directory entries and from subscription files: all are
 * untrusted and validated by one function (folder_path and every entry
 * point use it).  A name that cannot be stored is refused with
 * STORE_EBADNAME and a reason, never mangled.
 *
 * Names are IMAP wire names: modified UTF-7 (mutf7.h) with the hierarchy
 * separator chosen at open ('/' or '.').  The wire name is the on-disk
 * name (Dovecot and Courier keep Maildir++ names in modified UTF-7), so
 * there is no transcoding.  "INBOX" in any case is the INBOX, also as the
 * first component ("inbox/x" is "INBOX/x").
 *
 * Maildir (maildir:PATH): INBOX is PATH (or INBOX=); folder "a/b" is the
 * Maildir++ directory PATH/.a.b; "INBOX/x" is PATH/.INBOX.x.
 * mbox (mbox:ROOT): folder "a/b" is the file ROOT/a/b; directories are
 * \Noselect, files \NoInferiors; INBOX is the INBOX= file.  Only '/' is
 * supported as separator for mbox.  See doc/store.md for the details.
 *
 * Results are enum store_result; err (if not NULL) gets one line for the
 * log or the client's NO.
 */
#ifndef POSTERN_FOLDERS_H
#define POSTERN_FOLDERS_H

#include <stddef.h>

#include "store.h"

/* Attributes of a listed folder (RFC 3501 7.2.2, RFC 3348, RFC 5258). */
#define FOLDER_NOSELECT		0x01
#define FOLDER_NOINFERIORS	0x02
#define FOLDER_HASCHILDREN	0x04
#define FOLDER_HASNOCHILDREN	0x08
#define FOLDER_NONEXISTENT	0x10	/* implied parent, or subscribed only */
#define FOLDER_SUBSCRIBED	0x20

struct folders;

struct folder_info {
	char *name;		/* wire name */
	unsigned attrs;
};

/* sep: the separator clients see, '/' or '.' ('.' only for Maildir). */
enum store_result folders_open(const char *mail_location,
    const struct store_user *u, char sep, struct folders **out, char *err,
    size_t errlen);
void folders_close(struct folders *f);

/*
 * Every folder: INBOX first, then the rest sorted bytewise.  Implied
 * parents ("a" when only "a/b" exists) carry FOLDER_NONEXISTENT |
 * FOLDER_NOSELECT.  Subscribed names that do not exist and have no
 * children are listed too, as FOLDER_NONEXISTENT | FOLDER_SUBSCRIBED with
 * neither HASCHILDREN nor HASNOCHILDREN (for LSUB and LIST (SUBSCRIBED));
 * a plain LIST skips entries that are NONEXISTENT without HASCHILDREN.
 * Symlinks are never listed or followed.
 */
enum store_result folders_list(struct folders *f, struct folder_info **list,
    size_t *n, char *err, size_t errlen);
void folder_list_free(struct folder_info *list, size_t n);

/*
 * RFC 3501 6.3.8 wildcards: '*' matches anything, '%' anything but sep.
 * The literal start of the pattern compares case-insensitively with a
 * name whose first component is INBOX.  O(len(pattern) * len(name)) time
 * and O(len(name)) memory, whatever the pattern.  1 on a match.
 */
int folder_match(const char *pattern, const char *name, char sep);

/* Validate name and write its storage path (Maildir folder directory or
 * mbox file) into out. */
enum store_result folder_path(struct folders *f, const char *name,
    char *out, size_t outlen, char *err, size_t errlen);

/* CREATE: STORE_EEXIST for INBOX or an existing folder.  A trailing
 * separator is accepted: for mbox it creates a directory (a \Noselect
 * name meant to hold others, RFC 3501 6.3.3), for Maildir it is dropped
 * (a Maildir++ folder holds both messages and children). */
enum store_result folder_create(struct folders *f, const char *name,
    char *err, size_t errlen);
/* DELETE: never INBOX (STORE_EBADNAME).  Maildir: children are kept, as
 * Dovecot does.  mbox: a directory only when empty (RFC 3501 6.3.4). */
enum store_result folder_delete(struct folders *f, const char *name,
    char *err, size_t errlen);
/* RENAME with all children.  Maildir INBOX: its messages move into the
 * new folder (same file names, so flags stay; they get new UIDs under a
 * new UIDVALIDITY there, which RFC 3501 6.3.5 allows); INBOX stays, empty,
 * and keeps its own children.  mbox INBOX cannot be renamed. */
enum store_result folder_rename(struct folders *f, const char *from,
    const char *to, char *err, size_t errlen);
/* SUBSCRIBE (on) / UNSUBSCRIBE: the name must be valid, need not exist
 * (RFC 3501 6.3.6). */
enum store_result folder_subscribe(struct folders *f, const char *name,
    int on, char *err, size_t errlen);

#endif
