/*
 * folders_int.h - private to folders.c, folders_maildir.c, folders_mbox.c,
 * subscriptions.c, and their unit test and fuzz target.  The interface is
 * folders.h.
 */
#ifndef POSTERN_FOLDERS_INT_H
#define POSTERN_FOLDERS_INT_H

#include <limits.h>
#include <stddef.h>

#include "folders.h"

/* At most this many folders are listed: 10x the largest trees reported
 * to Dovecot's list; a listing above it fails rather than half-lists. */
#define FOLDERS_MAX 10000
/* mbox directory depth walked by LIST; deeper trees are not listed. */
#define FOLDERS_MAX_DEPTH 32
/* Subscription files: one line per name, bounded like a name on the wire
 * (RFC 3501 gives no limit; Dovecot uses 4096), at most FOLDERS_MAX. */
#define SUBS_LINE_MAX 4096
#define SUBS_FILE "postern-subscriptions"

struct folders {
	int mbox;
	char sep;
	char root[PATH_MAX];	/* Maildir root / mbox ROOT */
	char inbox[PATH_MAX];	/* Maildir INBOX directory / mbox INBOX file */
	char home[PATH_MAX];	/* for UW imapd's ~/.mailboxlist; may be "" */
	unsigned ntmp;		/* counter for temporary names */
};

/*
 * Check a wire name and write its canonical form ("INBOX" upper-cased as
 * the first component) into out (PATH_MAX bytes).  trailing: a single
 * trailing separator is allowed (and kept).  STORE_OK or STORE_EBADNAME.
 */
enum store_result folders_norm(const struct folders *f, const char *name,
    int trailing, char *out, char *err, size_t errlen);
/* Canonical name -> storage path (PATH_MAX bytes). */
enum store_result folders_disk(const struct folders *f, const char *canon,
    char *out, char *err, size_t errlen);
int folders_is_inbox(const char *canon);

/* A growing list of names (each malloc'd) with attributes. */
struct namelist {
	struct folder_info *v;
	size_t n, cap;
};
void namelist_add(struct namelist *l, const char *name, size_t len,
    unsigned attrs);

enum store_result maildir_folders_scan(struct folders *f,
    struct namelist *l, char *err, size_t errlen);
enum store_result maildir_folder_create(struct folders *f, const char *canon,
    char *err, size_t errlen);
enum store_result maildir_folder_delete(struct folders *f, const char *canon,
    char *err, size_t errlen);
enum store_result maildir_folder_rename(struct folders *f, const char *from,
    const char *to, char *err, size_t errlen);

enum store_result mbox_folders_scan(struct folders *f, struct namelist *l,
    char *err, size_t errlen);
enum store_result mbox_folder_create(struct folders *f, const char *canon,
    int dir, char *err, size_t errlen);
enum store_result mbox_folder_delete(struct folders *f, const char *canon,
    char *err, size_t errlen);
enum store_result mbox_folder_rename(struct folders *f, const char *from,
    const char *to, char *err, size_t errlen);

/* Remove a directory tree below dirfd without following symlinks;
 * depth-bounded.  0 or -1 (errno). */
int folders_rmtree(int dirfd, const char *name, int depth);

/*
 * subscriptions.c.  The reader takes bytes in any chunking; each valid
 * name (canonical, checked by folders_norm) goes to add().
 */
enum subs_kind {
	SUBS_OURS,		/* one wire name per line */
	SUBS_DOVECOT,		/* v1 lines, or "V\t2\n\n" and TAB levels */
	SUBS_COURIER,		/* "INBOX.a.b" */
	SUBS_UW,		/* ~/.mailboxlist: paths relative to home */
};

struct subs_reader {
	const struct folders *f;
	enum subs_kind kind;
	int v2, bol_state, toolong;
	size_t nlines, len;
	void (*add)(void *arg, const char *canon);
	void *arg;
	char line[SUBS_LINE_MAX + 1];
};

void subs_reader_init(struct subs_reader *r, const struct folders *f,
    enum subs_kind kind, void (*add)(void *, const char *), void *arg);
void subs_reader_feed(struct subs_reader *r, const char *p, size_t n);
void subs_reader_end(struct subs_reader *r);

/* The current subscriptions, sorted, deduplicated (malloc'd). */
enum store_result subs_load(struct folders *f, char ***names, size_t *n,
    char *err, size_t errlen);
void subs_free(char **names, size_t n);
enum store_result subs_set(struct folders *f, const char *canon, int on,
    char *err, size_t errlen);
/* After RENAME: subscriptions of from and its children follow it to to
 * (as Dovecot does), so a renamed folder stays subscribed. */
enum store_result subs_rename(struct folders *f, const char *from,
    const char *to, char *err, size_t errlen);

#endif
