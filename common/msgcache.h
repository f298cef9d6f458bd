/*
 * msgcache.h - a folder's cache of per-message data that is costly to
 * compute and never changes (a message's bytes never change): the parsed
 * MIME structure and envelope (mime.h's blob) that FETCH BODYSTRUCTURE,
 * ENVELOPE and BODY[section] need, so a message is parsed once, not once
 * per FETCH.
 *
 * A cache in DESIGN.md's sense: never trusted over the mailbox, dropped
 * whenever it is damaged.  File: a 16-byte header ("PSTNCCH1", the
 * folder's UIDVALIDITY, zero), then records appended one write() each:
 *
 *   uid u32 | kind u8 | 3 zero bytes | len u32 | CRC-32C u32 | len bytes
 *
 * (little-endian; the CRC covers the first 12 bytes and the data).  Any
 * session may append with O_APPEND at any time without a lock: a record
 * torn by a crash or by a file system without atomic appends fails its
 * CRC and ends the read, and the next compaction drops it.  The same UID
 * and kind appearing twice (two sessions parsed the same message) is
 * harmless: the last one wins.  A cache of another UIDVALIDITY is
 * emptied.  Compaction (after expunges) writes the live records to a
 * new file and renames it over the old one; a session still appending to
 * the old file loses only cache entries.
 *
 * Every byte is untrusted: lengths are checked against MSGCACHE_REC_MAX
 * and the file size, the whole file is read at most once per open with
 * a fixed buffer, and memory is one small entry per cached record.
 */
#ifndef POSTERN_MSGCACHE_H
#define POSTERN_MSGCACHE_H

#include <stddef.h>
#include <stdint.h>

#define MSGCACHE_MAGIC "PSTNCCH1"
#define MSGCACHE_REC_MAX (1u << 20)	/* one record's data, at most */
#define MSGCACHE_FILE_MAX (1ull << 31)	/* stop appending past 2 GiB */

/* Record kinds. */
#define MSGCACHE_MIME 1		/* mime.h blob */

struct msgcache;

/* Open (creating) dirfd/name for the folder's uidvalidity.  0 or -1
 * (errno); a read-only folder may give -1, and the caller goes on
 * without a cache. */
int msgcache_open(int dirfd, const char *name, uint32_t uidvalidity,
    struct msgcache **out);
void msgcache_close(struct msgcache *c);

/* The data cached for (uid, kind), malloc'd into *data: 1, or 0 if there
 * is none (or it is damaged), -1 on I/O error. */
int msgcache_get(struct msgcache *c, uint32_t uid, uint8_t kind,
    void **data, size_t *len);
/* Append a record.  0, or -1 (errno; EFBIG past the limits). */
int msgcache_put(struct msgcache *c, uint32_t uid, uint8_t kind,
    const void *data, size_t len);
/* Records this handle knows of (one per UID and kind). */
size_t msgcache_count(const struct msgcache *c);
/* Rewrite the file with only the records whose UID alive() accepts. */
int msgcache_compact(struct msgcache *c, int (*alive)(void *arg,
    uint32_t uid), void *arg);

#endif
