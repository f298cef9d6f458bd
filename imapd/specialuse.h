/*
 * specialuse.h - what list.c and mailbox.c share beyond imap.h: the
 * special-use uses of every folder (specialuse.c, RFC 6154), and the
 * STATUS data items (mailbox.c), which LIST RETURN (STATUS ...) also
 * answers (RFC 5819).
 */
#ifndef POSTERN_IMAP_SPECIALUSE_H
#define POSTERN_IMAP_SPECIALUSE_H

#include "imap.h"

/* ---- special uses (specialuse.c) ---- */

/* The uses we can give a folder.  \All and \Flagged (RFC 6154 2) are
 * virtual mailboxes, which the store does not have. */
#define SU_ARCHIVE	0x01
#define SU_DRAFTS	0x02
#define SU_JUNK		0x04
#define SU_SENT		0x08
#define SU_TRASH	0x10

/* Every folder that has a use: the configured ones (mailbox_drafts...)
 * and those the user gave one with CREATE (USE (...)).  Canonical names
 * ("INBOX" upper-cased as the first level). */
struct su_map {
	struct su_entry {
		char *name;
		unsigned uses;		/* SU_* */
	} *v;
	size_t n;
};

/* Load the map (never fails: an unreadable or bad user file only loses
 * the user's assignments, and is logged). */
void specialuse_load(struct imap *im, struct su_map *m);
unsigned specialuse_uses(const struct su_map *m, const char *name);
void specialuse_map_free(struct su_map *m);
/* Write "\Archive \Sent..." for uses, each after *sp (then " "). */
void specialuse_write(struct io *io, unsigned uses, const char **sp);
/* "\Sent" -> SU_SENT (any case); 0 for anything else, including the
 * uses we cannot give (\All, \Flagged). */
unsigned specialuse_parse(const char *attr);

/*
 * The user's assignments (ROOT/postern-specialuse, doc/store.md).  add:
 * give canonical name the uses (CREATE (USE ...)); STORE_OK, or a store
 * error with err.  moved: after RENAME the assignments of from and its
 * children follow it to to; after DELETE (to == NULL) from's own is
 * dropped (a Maildir folder's children outlive it).  Failures are only
 * logged: the folder was already renamed or deleted.
 */
enum store_result specialuse_add(struct imap *im, const char *name,
    unsigned uses, char *err, size_t errlen);
void specialuse_moved(struct imap *im, const char *from, const char *to);

/* name's canonical form into out (size outlen): the first level "INBOX"
 * in any case becomes "INBOX".  0, or -1 if it does not fit. */
int imap_canon_name(const struct imap *im, const char *name, char *out,
    size_t outlen);

/* ---- STATUS data items (mailbox.c) ---- */

#define ST_MESSAGES	0
#define ST_RECENT	1
#define ST_UIDNEXT	2
#define ST_UIDVALIDITY	3
#define ST_UNSEEN	4
#define ST_SIZE		5	/* RFC 8438 */
#define ST_APPENDLIMIT	6	/* RFC 7889 3.1 */
#define ST_NITEMS	7

/* The items asked for, in the client's order, each once. */
struct status_items {
	unsigned char item[ST_NITEMS];
	size_t n;
};

/* Parse "(MESSAGES UNSEEN ...)": 0, or -1 with c->resp set for a BAD. */
int status_items_parse(struct imap_cmd *c, const struct imap_arg *a,
    struct status_items *out);
/* The folder's status (only the items asked for need be right).  The
 * store result; err gets the reason. */
enum store_result status_get(struct imap *im, const char *name,
    const struct status_items *it, struct store_status *st, char *err,
    size_t errlen);
/* "* STATUS name (...)". */
void status_write(struct imap *im, const char *name,
    const struct status_items *it, const struct store_status *st);

#endif
