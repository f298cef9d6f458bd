/*
 * mbox_priv.h - the mbox backend's own state (struct mbox) and the
 * functions its files share.  Separate from mbox_int.h because struct
 * mbox embeds struct store, which store_int.h defines after including
 * mbox_int.h.
 *
 * Files: mbox.c (open, close, the ops table, reading messages),
 * mbox_lock.c (fcntl + dot-lock, per operation or per session),
 * mbox_sync.c (scanning, UIDs, refresh, store_sync, notify fd),
 * mbox_flags.c (flag fields, STORE, keywords), mbox_update.c (one
 * journaled rewrite for UIDs, flags and removals), mbox_expunge.c,
 * mbox_append.c (staging, commit, crash recovery of a commit),
 * mbox_date.c (From_ line dates), mbox_index.c (the index cache),
 * mbox_parse.c (the reader), mbox_write.c (the journal).
 */
#ifndef POSTERN_MBOX_PRIV_H
#define POSTERN_MBOX_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lock.h"
#include "store_int.h"

/* What the view's offsets describe: the file as last read.  Equal
 * identity, size and mtime means unchanged (no read needed), unless
 * racy: the file was changed in the clock tick it was read in, so a
 * later change may carry the same mtime (mbox_sync.c). */
struct mb_sig {
	int valid, racy;
	uint64_t dev, ino, size;
	int64_t mtime_ns;
	uint64_t tailsum;	/* hash of up to MB_TAIL bytes before size */
	uint64_t basesum;	/* hash of the X-IMAPbase field */
};
#define MB_TAIL 4096

/* A pending STORE on one message: applied on top of the file's flags
 * at the next write (RFC 3501 6.4.6 +FLAGS/-FLAGS semantics). */
struct mb_pend {
	unsigned add, rem;
	kwset_t kadd, krem;
};

/* A growing list of messages (the view, or a scan's result). */
struct mb_list {
	struct store_msg *v;
	unsigned n, cap;
};

struct mb_xlog {
	uint64_t modseq;
	uint32_t uid;
};

struct mb_txn;			/* mbox_append.c */
struct index;

struct mbox {
	struct store st;
	char *path, *statedir, *name, *jpath, *apath;
	int flags;		/* open flags */
	int fd;			/* the mbox; -1 when there is no file */
	int sess_fd;		/* POP3 session lock, or -1 */
	int locked;		/* MB_LK_* held now */
	int nlock;		/* nested mb_lock() calls (streams, ops) */
	struct dotlock dl;
	struct mb_sig sig;
	struct mbox_base base;	/* of the first message */
	int has_pseudo;		/* UW imapd's folder-internal message */
	struct mb_msg pseudo;
	uint32_t uidlast;	/* highest UID given (file or us) */
	int base_dirty;		/* X-IMAPbase must be rewritten (keywords) */
	/* Messages in the file but not yet in the view (store_sync adds
	 * them), in file order after the view's. */
	struct mb_list extra;
	struct mb_pend *pend;
	unsigned npend, pendcap;
	/* Expunges seen by this view, when there is no index. */
	struct mb_xlog *xlog;
	size_t nxlog, xlogcap;
	uint64_t xfloor;
	int nfd;		/* inotify, or -1 */
	struct mb_txn *txn;	/* append transaction, or NULL */
	struct index *ix;	/* the index cache, or NULL */
	int ix_dirty;		/* the view differs from what ix holds */
	int kept_gone;		/* the view holds SM_GONE messages */
	int unreported;		/* a read under the locks (a flush, an
				 * expunge, an append) found changes by
				 * others: the next store_sync must report
				 * them even if the file is unchanged since */
	uint32_t recent_uid;	/* UIDs below were claimed \Recent */
	unsigned base_kwn;	/* keyword names X-IMAPbase lists */
	size_t nxlog_saved;	/* xlog entries already in the index */
};

#define MB_LK_READ 1
#define MB_LK_WRITE 2

/* A sane bound for a From_ line we parse for its date. */
#define MB_FROMLINE_MAX 1024

/* mbox_lock.c */
enum store_result mb_lock(struct mbox *mb, char *err, size_t errlen);
void mb_unlock(struct mbox *mb);
enum store_result mb_session_lock(struct mbox *mb, char *err,
    size_t errlen);
enum store_result mb_errno_result(void);

/* mbox_sync.c */
enum store_result mb_load(struct mbox *mb, char *err, size_t errlen);
enum store_result mb_refresh(struct mbox *mb, char *err, size_t errlen);
enum store_result mb_locate(struct mbox *mb, unsigned i);
enum store_result mb_rescan_from(struct mbox *mb, unsigned k, char *err,
    size_t errlen);
void mb_sig_take(struct mbox *mb);
uint64_t mb_sig_base_hash(struct mbox *mb);
int mb_sig_same(struct mbox *mb);
enum store_result mb_sync(struct store *st, int flags,
    struct store_changes *ch, char *err, size_t errlen);
int mb_notify_fd(struct store *st);
void mb_notify_close(struct mbox *mb);
uint64_t mb_hash(uint64_t h, const void *p, size_t n);
#define MB_HASH_INIT 0xcbf29ce484222325ULL
void mb_list_push(struct mb_list *l, const struct store_msg *m);
void mb_uidlast_floor(struct mbox *mb);

/* mbox_flags.c */
void mb_msg_flags(struct mbox *mb, const struct mbox_rec *r,
    struct store_msg *m);
void mb_base_keywords(struct mbox *mb);
int mb_val_read(struct mbox *mb, const struct mbox_val *v, char **out,
    size_t *n);
struct mb_pend *mb_pend_of(struct mbox *mb, struct store_msg *m);
void mb_pend_clear(struct mbox *mb);
int mb_keyword(struct store *st, const char *name, int create);
enum store_result mb_set_flags(struct store *st, unsigned i,
    enum store_flag_op op, unsigned flags, kwset_t kw,
    uint64_t unchangedsince, char *err, size_t errlen);
enum store_result mb_flush(struct store *st, char *err, size_t errlen);
int mb_plan_flags(struct mbox *mb, struct mbox_plan *pl,
    struct store_msg *m);

/* mbox_update.c */
int mb_needs_write(struct mbox *mb);
enum store_result mb_write(struct mbox *mb, const unsigned char *del,
    char *err, size_t errlen);
void mb_insert_header(struct mbox_plan *pl, struct mb_msg *m,
    const char *line, size_t len);
int mb_plan_base(struct mbox *mb, struct mbox_plan *pl, struct mb_msg *first);

/* mbox_expunge.c */
enum store_result mb_expunge(struct store *st, const unsigned char *del,
    char *err, size_t errlen);
enum store_result mb_expunged_since(struct store *st, uint64_t since,
    uint32_t **uids, size_t *n);
void mb_xlog_add(struct mbox *mb, uint32_t uid, uint64_t modseq);

/* mbox_append.c */
enum store_result mb_append_begin(struct store *st, unsigned flags,
    kwset_t kw, time_t internal, struct store_append **out, char *err,
    size_t errlen);
enum store_result mb_copy(struct store *src, unsigned si, struct store *dst,
    char *err, size_t errlen);
enum store_result mb_append_commit(struct store *dst, uint32_t *uids,
    size_t *n, uint32_t *uidvalidity, char *err, size_t errlen);
void mb_append_abort(struct store *dst);
int mb_append_recover(struct mbox *mb, char *err, size_t errlen);

/* mbox_date.c */
time_t mb_from_date(const char *line, size_t n);
time_t mb_internal_date(struct store *st, unsigned i);

/* mbox_index.c */
void mb_index_open(struct mbox *mb);
int mb_index_load(struct mbox *mb);
void mb_index_save(struct mbox *mb);
void mb_index_close(struct mbox *mb);
uint64_t mb_next_modseq(struct mbox *mb);
int mb_index_claim_recent(struct mbox *mb, uint32_t *recent_uid);
void mb_index_xlog_flush(struct mbox *mb);
void mb_index_adopt_modseqs(struct mbox *mb);
int mb_index_base(struct mbox *mb, uint32_t *uidvalidity, uint32_t *uidlast);
uint64_t mb_index_modseq(struct mbox *mb);
uint32_t mb_index_uidlast(struct mbox *mb);
enum store_result mb_index_xlog_since(struct mbox *mb, uint64_t since,
    uint32_t **uids, size_t *n);

#endif
