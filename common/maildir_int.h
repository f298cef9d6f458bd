/*
 * maildir_int.h - private to the Maildir backend (maildir*.c) and its
 * unit tests.
 *
 * Two parts.  The first, struct md_msg, is what store_int.h embeds in
 * struct store_msg, so store_int.h includes this file before it defines
 * struct store.  The second needs struct store: a backend file includes
 * store_int.h and then this file again, and only that second inclusion
 * (after store_int.h is complete, which STORE_OPEN_CREATE marks) defines
 * struct maildir and the functions the files share.
 */
#ifndef POSTERN_MAILDIR_INT_H
#define POSTERN_MAILDIR_INT_H

#include <stdint.h>

/*
 * A message's place in the Maildir.  uniq is the one allocation per
 * message: the unique name, a NUL, then the rest of the current file
 * name (":2,FS", or "" for a name without info), so the unique name
 * (store_filename) needs no copy and the file name is two strings.
 */
struct md_msg {
	char *uniq;
	uint32_t pos;		/* index record slot (MD_NOPOS: none) */
	uint16_t ulen;		/* strlen(uniq) */
	uint8_t sub;		/* MD_CUR or MD_NEW */
	uint8_t dirty;		/* a size or date to write to the index */
};

#define MD_CUR 0
#define MD_NEW 1
#define MD_NOPOS UINT32_MAX

#endif

#if defined(POSTERN_STORE_INT_H) && defined(STORE_OPEN_CREATE) && \
    !defined(POSTERN_MAILDIR_INT_FULL)
#define POSTERN_MAILDIR_INT_FULL

#include <time.h>

#include "index.h"
#include "lock.h"

#define MD_INDEX_NAME "postern-index"
#define MD_CACHE_NAME "postern-cache"
#define MD_SESSION_LOCK_NAME "postern-pop3.lock"
/* A postern-uidlist.lock older than this was left by a crash: no
 * update under it takes more than a few seconds. */
#define MD_LOCK_STALE_SECS 120
/* A directory mtime younger than this may still change within the same
 * timestamp tick (coarse clocks, NFS): it is recorded as unknown. */
#define MD_MTIME_SETTLE_SECS 2
/* The Maildir spec: tmp/ files untouched for 36 hours are debris. */
#define MD_TMP_STALE_SECS (36 * 3600)
/* How often a read-write open looks through tmp/ (Dovecot: 8 hours). */
#define MD_TMP_SCAN_SECS (8 * 3600)

extern const char *const md_subdir[2];

/* One message being staged by a transaction (maildir_append.c). */
struct md_staged {
	char *tmpname;		/* in tmp/ */
	char *uniq;		/* its unique name in cur/ (with ,S= ,W=) */
	unsigned flags;
	kwset_t kw;
	int64_t internal, wire, raw;
};

struct maildir {
	struct store st;
	char *path;
	int dfd, sub[2], tmpfd;	/* the Maildir, cur/ new/, tmp/ */
	int sess_fd;		/* POP3 session lock, or -1 */
	int notify_fd;		/* inotify, or -1 */
	int flags;		/* STORE_* open flags */
	int claim;		/* may claim \Recent and move new/ to cur/ */
	struct index *ix;	/* NULL: none (yet) */
	struct timespec seen[2];	/* cur/ new/ mtimes the view reflects */
	uint32_t known_max;	/* highest UID the view ever held */
	uint32_t ix_max;	/* highest UID the index has a record of */
	uint32_t recent_uid;	/* without an index: the next unclaimed */
	struct timespec kw_mtime;	/* postern-keywords as last read */
	off_t kw_size;
	int courier_failed;	/* this handle's Courier import failed */
	ino_t ul_ino;		/* without an index: the uid list seen */
	off_t ul_size;
	int dirty;		/* sizes or dates to write to the index */
	int want_rewrite;	/* the index has too many tombstones */
	struct md_staged *stage;
	size_t nstage;
	unsigned stage_seq;	/* Q<n> of unique names */
};

/* maildir.c */
enum store_result md_errno(void);
enum store_result md_lock(struct maildir *md, struct dotlock *dl, char *err,
    size_t errlen);
void md_msg_free(struct store_msg *m);
/* "<uniq>\0<info>" for file name fn (uniq: its part before ':'). */
void md_msg_setname(struct store_msg *m, const char *fn);
/* The current file name of m into buf (NAME_MAX + 1 bytes). */
const char *md_msg_file(const struct store_msg *m, char *buf, size_t n);
int64_t md_name_field(const char *uniq, char key);
int md_open_file(struct maildir *md, struct store_msg *m);

/* maildir_scan.c: directory listings and the view's reconciliation. */
int md_is_message(int dirfd, const char *name, unsigned char d_type);
/* Find m's file again by its unique name in cur/ and new/ (someone
 * renamed it): 0, or -1 with errno ENOENT if it is gone. */
int md_relocate(struct maildir *md, struct store_msg *m);
enum store_result md_refresh(struct maildir *md, int syncflags,
    struct store_changes *ch, char *err, size_t errlen);

/* maildir_uids.c: postern-uidlist, imports, UIDVALIDITY. */
struct uidlist;
enum store_result md_uids_load(struct maildir *md, struct uidlist *ul,
    char *err, size_t errlen);
/* Give the messages m[0..n) with uid 0 UIDs: from the list when it
 * names them (and the UID is one this view never held), else new ones,
 * appended to the list (fsynced).  Under the lock. */
enum store_result md_uids_assign(struct maildir *md, struct store_msg *m,
    size_t n, char *err, size_t errlen);
/* Consecutive new UIDs for n names, appended to the list: first UID. */
enum store_result md_uids_append(struct maildir *md, char *const *names,
    const int64_t *wire, size_t n, uint32_t *first, char *err,
    size_t errlen);
/* Rewrite the list without the entries of expunged messages when more
 * than a quarter of it is dead.  Under the lock; best effort. */
void md_uids_compact(struct maildir *md);

/* maildir_index.c: the index glue. */
int md_ix_usable(struct maildir *md, const struct timespec mt[2],
    int need_dir[2]);
int md_ix_read(struct maildir *md, struct store_msg **out, size_t *n);
void md_ix_validity(struct maildir *md, const struct timespec mt[2],
    struct index_hdr *h);
int md_ix_find(struct maildir *md, uint32_t uid, uint32_t *pos,
    struct index_rec *r);
void md_ix_rec(const struct store_msg *m, struct index_rec *r);
/* Write m's record: its cached date and sizes, its flags, keywords,
 * modseq and place, or both.  Sets m's pos.  0 or -1. */
#define MD_PUT_CACHE 1
#define MD_PUT_STATE 2
int md_ix_put(struct maildir *md, struct store_msg *m, int what);
/* Take the lock and make md->ix the index on disk now (NULL if it
 * is gone or of another UIDVALIDITY: a refresh rebuilds it). */
int md_ix_lock(struct maildir *md, struct dotlock *dl, char *err,
    size_t errlen);
int md_ix_rewrite(struct maildir *md, struct store_msg *m, size_t n,
    const struct timespec mt[2]);
int md_ix_append(struct maildir *md, struct store_msg *m, size_t n);
/* A new modseq (HIGHESTMODSEQ + 1, written to the index header). */
uint64_t md_ix_modseq(struct maildir *md);
void md_ix_writeback(struct maildir *md);

/* maildir_flags.c */
enum store_result md_kw_load(struct maildir *md, int *grew);
int md_keyword(struct store *st, const char *name, int create);
enum store_result md_set_flags(struct store *st, unsigned i,
    enum store_flag_op op, unsigned flags, kwset_t kw,
    uint64_t unchangedsince, char *err, size_t errlen);
/* Move m from new/ to cur/ (adding ":2,"), as a claimed \Recent
 * message is: 0 or -1. */
int md_move_to_cur(struct maildir *md, struct store_msg *m);

/* maildir_courier.c: Courier's courierimapkeywords/ imported into
 * postern-keywords and the file names when neither that nor
 * dovecot-keywords exists.  locked: the caller holds the lock.  1 if
 * imported (postern-keywords written), 0 if nothing to import, -1 if
 * it failed (tried again next time). */
int md_courier_import(struct maildir *md, int locked);

/* maildir_sync.c */
enum store_result md_sync(struct store *st, int flags,
    struct store_changes *ch, char *err, size_t errlen);
int md_notify_fd(struct store *st);
void md_stat_dirs(struct maildir *md, struct timespec mt[2]);

/* maildir_append.c */
enum store_result md_append_begin(struct store *st, unsigned flags,
    kwset_t kw, time_t internal, struct store_append **out, char *err,
    size_t errlen);
enum store_result md_copy(struct store *src, unsigned si, struct store *dst,
    char *err, size_t errlen);
enum store_result md_append_commit(struct store *dst, uint32_t *uids,
    size_t *n, uint32_t *uidvalidity, char *err, size_t errlen);
void md_append_abort(struct store *dst);
void md_tmp_cleanup(struct maildir *md);

/* maildir_expunge.c */
enum store_result md_expunge(struct store *st, const unsigned char *del,
    char *err, size_t errlen);
enum store_result md_expunged_since(struct store *st, uint64_t since,
    uint32_t **uids, size_t *n);

#endif
