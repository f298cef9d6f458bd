/*
 * uidlist.h - a Maildir folder's UID list: our own postern-uidlist, and
 * the readers that import Dovecot's dovecot-uidlist and Courier's
 * courierimapuiddb on first use so UIDs survive a migration.
 *
 * Formats (one record per line, LF-terminated; a name listed twice
 * means the higher UID, see uidlist.c):
 *   postern-uidlist:   "postern-uidlist 1 V<uidvalidity> N<uidnext>"
 *                      then "<uid> <wire size or -> <unique name>"
 *   dovecot-uidlist 1: "1 <uidvalidity> <uidnext>"  then "<uid> <file>"
 *   dovecot-uidlist 3: "3 V<uidvalidity> N<uidnext> [G<guid> ...]"
 *                      then "<uid> [W<vsize> other fields] :<file>"
 *   courierimapuiddb:  "1 <uidvalidity> <uidnext>"  then "<uid> <file>"
 *                      (Courier's only version, IMAPDBVERSION 1)
 * File names in the foreign formats may carry ":2,<flags>"; only the part
 * before the first ':' (the unique name) is kept.
 *
 * Every byte is untrusted (the mail user owns the file): lines are
 * bounded, malformed lines are skipped, a bad header makes the whole
 * file unusable; nothing here can crash or allocate without bound.
 */
#ifndef POSTERN_UIDLIST_H
#define POSTERN_UIDLIST_H

#include <stddef.h>
#include <stdint.h>

#define UIDLIST_LINE_MAX 4096	/* a name is <= 255 bytes (NAME_MAX) */
#define UIDLIST_ENTRIES_MAX 1000000u	/* = STORE_MAX_MSGS */
#define UIDLIST_NAME "postern-uidlist"

enum uidlist_format { UIDLIST_POSTERN, UIDLIST_DOVECOT, UIDLIST_COURIER };

struct uidlist_entry {
	uint32_t uid;
	int64_t wire;		/* -1 when unknown */
	char *name;		/* unique name */
};

struct uidlist {
	enum uidlist_format fmt;
	int version;		/* of the header read */
	int header;		/* 0 not seen yet, 1 good, -1 bad */
	uint32_t uidvalidity, uidnext;
	struct uidlist_entry *e;
	size_t n, cap;
	unsigned bad_lines;	/* records skipped as malformed */
	/* line assembly while feeding */
	size_t llen;
	int overlong;
	char line[UIDLIST_LINE_MAX + 1];
};

void uidlist_init(struct uidlist *ul, enum uidlist_format fmt);
void uidlist_free(struct uidlist *ul);
/* Parse file bytes, in any chunking. */
void uidlist_feed(struct uidlist *ul, const char *p, size_t n);
/* At end of file: sort by UID, drop duplicate UIDs and names, raise
 * uidnext above every UID.  0, or -1 if the header was unusable (the
 * list is then empty). */
int uidlist_finish(struct uidlist *ul);
/* Read dir/name: 1 read, 0 no such file, -1 bad header, -2 I/O error. */
int uidlist_read(struct uidlist *ul, int dirfd, const char *name,
    enum uidlist_format fmt);
/*
 * Appending (the caller holds postern-uidlist.lock): open dir/name and
 * find where the next line goes, cutting off a torn last line.  The fd,
 * or -1 (errno; EINVAL: header or last line unusable, read the whole
 * list and rewrite it).  Then write entries (ascending UIDs from
 * t->uidnext on) and fsync: 0 or -1.
 */
struct uidlist_tail {
	uint32_t uidvalidity;
	uint32_t uidnext;	/* above the header's N and the last UID */
	uint64_t end;		/* just after the last complete line */
};
int uidlist_append_open(int dirfd, const char *name, struct uidlist_tail *t);
int uidlist_append(int fd, struct uidlist_tail *t,
    const struct uidlist_entry *e, size_t n);
/* The UIDVALIDITY in the header of dir/name (postern format): 0 or -1. */
int uidlist_head(int dirfd, const char *name, uint32_t *uidvalidity);

/* Append an entry (no checks; the caller keeps the list sorted). */
void uidlist_add(struct uidlist *ul, uint32_t uid, int64_t wire,
    const char *name);
/* The list in postern-uidlist format; free() the result. */
char *uidlist_format(const struct uidlist *ul, size_t *len);
/* Can name[0..n) be a unique name in a list (and so a message)? Not
 * empty, at most 255 bytes, no leading '.', no '/', CR, LF, ':' or NUL. */
int uidlist_name_ok(const char *name, size_t n);
void uidlist_sort_uids(struct uidlist *ul);
void uidlist_sort_names(struct uidlist *ul);
/* The entry called name, in a list sorted by uidlist_sort_names(); NULL
 * if there is none. */
struct uidlist_entry *uidlist_find_name(const struct uidlist *ul,
    const char *name);

#endif
