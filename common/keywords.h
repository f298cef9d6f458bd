/*
 * keywords.h - IMAP keyword names, and a Maildir folder's keyword table
 * file (postern-keywords, in the same format as Dovecot's
 * dovecot-keywords so that file can be imported with the same parser).
 *
 * A keyword name is an RFC 3501 / RFC 9051 flag-keyword, which is an
 * atom: 1 to KW_NAME_MAX bytes of ATOM-CHAR, that is printable US-ASCII
 * (0x21-0x7e) except the atom-specials ( ) { % * " \ ].  Since "\" is
 * one of them, a valid keyword never starts with "\" (RFC 3501 2.3.2:
 * "Keywords do not begin with \"), so it can never be taken for a
 * system flag.  No NUL, no CTL, no SP, no 8-bit byte.
 *
 * Case: neither RFC says in 2.3.2 whether keywords are case-sensitive,
 * but RFC 9051's grammar spells flag-keyword as "$MDNSent" /
 * "$Forwarded" / ... / atom, and its formal-syntax rule 1 makes those
 * quoted strings case-insensitive, so "$mdnsent" must be the same
 * keyword as "$MDNSent".  Doing that for some keywords and not others
 * would be odd, so every lookup here is ASCII case-insensitive and a
 * table keeps the spelling it first saw (as Dovecot does).
 *
 * The file: one line per keyword, "<index> <name>\n", index 0-25 being
 * the Maildir letters a-z.  Indexes are baked into message file names,
 * so a table may have holes and an index never changes meaning: new
 * names are only ever appended after the highest index in use, never
 * put into a hole (a hole may still be named by stale file names).
 *
 * Every byte of the file is untrusted (the mail user owns it): a line
 * that is malformed, names an index >= KW_MAX or one already named, or
 * a name that is invalid or already present (in any case) is skipped;
 * the first good line wins.  Memory is bounded by KW_MAX names of at
 * most KW_NAME_MAX bytes, whatever the input; time is linear.
 */
#ifndef POSTERN_KEYWORDS_H
#define POSTERN_KEYWORDS_H

#include <stddef.h>

#include "buf.h"
#include "flags.h"

#define KWTABLE_NAME "postern-keywords"
#define KWTABLE_DOVECOT "dovecot-keywords"	/* imported on first use */

/* 1 if s[0..n) is a valid keyword name, else 0. */
int keyword_valid(const char *s, size_t n);

/*
 * struct kwtable (flags.h): name[i] is keyword i's name, or NULL for a
 * hole; n is one more than the highest index in use (0 when empty), so
 * name[n..KW_MAX) are all NULL.  A zeroed struct is an empty table.
 */

/* Fill the empty table t from file bytes buf[0..len).  The last line
 * may lack its LF; a CR before the LF is ignored.  Returns the number
 * of lines skipped as bad (0 for a clean file); never fails. */
int kwtable_parse(const char *buf, size_t len, struct kwtable *t);

/* Append the file form of t ("<index> <name>\n" per name, in index
 * order) to out.  0, or -1 if out's maximum would be passed (out is
 * then unchanged). */
int kwtable_format(const struct kwtable *t, struct buf *out);

/* Index of name (case-insensitive), or -1 if absent. */
int kwtable_find(const struct kwtable *t, const char *name);
int kwtable_findn(const struct kwtable *t, const char *name, size_t n);

/* Index of name, adding it after the highest index in use if absent.
 * -1 if the name is not valid or the table is full (index KW_MAX - 1
 * is taken). */
int kwtable_add(struct kwtable *t, const char *name);
int kwtable_addn(struct kwtable *t, const char *name, size_t n);

/* Free the names; t is left an empty table. */
void kwtable_free(struct kwtable *t);

#endif
