/*
 * mdflags.h - message flags in a Maildir file name, "UNIQUE:2,<info>".
 *
 * The Maildir spec (cr.yp.to/proto/maildir.html): info starting "2,"
 * holds one character per flag, "Flags must be stored in ASCII order":
 * D draft, F flagged, P passed, R replied, S seen, T trashed.  Dovecot
 * and Courier add the keywords as the lowercase letters a-z, letter
 * i meaning index i of the folder's keyword table (keywords.h).
 *
 *   D -> MF_DRAFT   F -> MF_FLAGGED   R -> MF_ANSWERED
 *   S -> MF_SEEN    T -> MF_DELETED   a-z -> keyword bit (c - 'a')
 *
 * Anything else after ":2," (P, unknown capitals, digits, any byte a
 * directory entry can hold) is an "other" flag: it means nothing to
 * IMAP but is kept, so that rewriting the name after a flag change
 * does not lose what another program put there.  Repeated letters are
 * tolerated on input and written once.
 *
 * A name without ':' has no flags.  One whose info does not start
 * "2," (":1,..." is the spec's experimental form) reports no flags and
 * should be left as it is.  The unique part, which names the message
 * for good, is everything before the first ':'.
 */
#ifndef POSTERN_MDFLAGS_H
#define POSTERN_MDFLAGS_H

#include <stddef.h>

#include "flags.h"

#define MD_OTHER_MAX 32		/* other[]: 31 distinct characters + NUL */

/* Where the unique part of filename ends: its first ':' or its NUL. */
const char *md_unique_end(const char *filename);

/*
 * Read the flags from a file name (a directory entry: NUL-terminated,
 * at most NAME_MAX bytes are looked at).  *flags gets MF_* bits, *kw
 * the keyword bits, other the distinct other characters in ASCII
 * (unsigned byte) order, NUL-terminated.
 *   0   ":2," info, or no info at all (no flags);
 *   1   some other info (":1,..."): no flags; keep the name as it is;
 *  -1   the name is longer than NAME_MAX, or holds more than 31
 *       distinct other characters (flags and kw are still filled, other
 *       holds the first 31): do not rewrite it, letters would be lost.
 */
int md_info_parse(const char *filename, unsigned *flags, kwset_t *kw,
    char other[MD_OTHER_MAX]);

/*
 * Write "UNIQUE:2,<letters>" into out (outmax bytes, NUL included):
 * the letters for flags, kw and other, merged in ASCII order.  unique
 * is the part before the first ':' (no ':' or '/'; not empty).  -1,
 * with out "" when outmax > 0, if: flags has bits outside MF_ALL, kw
 * has bits at or above KW_MAX, other holds '/', a flag letter (DFRST)
 * or a keyword letter (a-z); or the name would be longer than
 * NAME_MAX or not fit in outmax.
 */
int md_info_format(const char *unique, unsigned flags, kwset_t kw,
    const char *other, char *out, size_t outmax);

#endif
