/*
 * flags.h - message flags as the store keeps them in memory.
 *
 * The IMAP system flags (RFC 3501 section 2.3.2) are bits.  \Recent is
 * not here: it belongs to a session, not to the message.  Keywords are
 * names kept in a per-folder table; a message holds a set of indices into
 * that table.  Maildir can name at most 26 keywords per folder (the
 * letters a-z in a file name), so a 32-bit set is enough for both formats;
 * a keyword that would not fit is refused rather than dropped.
 */
#ifndef POSTERN_FLAGS_H
#define POSTERN_FLAGS_H

#include <stddef.h>
#include <stdint.h>

enum msg_flag {
	MF_SEEN = 1 << 0,
	MF_ANSWERED = 1 << 1,
	MF_FLAGGED = 1 << 2,
	MF_DELETED = 1 << 3,
	MF_DRAFT = 1 << 4,
};
#define MF_ALL (MF_SEEN | MF_ANSWERED | MF_FLAGGED | MF_DELETED | MF_DRAFT)

typedef uint32_t kwset_t;	/* bit i = keyword i of the folder's table */
#define KW_MAX 26		/* Maildir's a-z; mbox uses the same cap */
#define KW_NAME_MAX 255

struct kwtable {
	char *name[KW_MAX];
	unsigned n;
};

#endif
