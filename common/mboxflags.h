/*
 * mboxflags.h - message flags in mbox header fields, as mutt, UW imapd
 * (c-client's unix driver) and Dovecot keep them, and the folder's
 * keyword list in X-IMAPbase.
 *
 *   Status:     R -> MF_SEEN, O -> "old" (the message has been seen by
 *               a mail reader: not \Recent; reported through *old)
 *   X-Status:   A -> MF_ANSWERED, F -> MF_FLAGGED, T -> MF_DRAFT,
 *               D -> MF_DELETED
 *   X-Keywords: keyword names
 *   X-IMAPbase: <uidvalidity> <uidlast> [keyword ...]  (first message)
 *
 * What each program writes (read from their sources):
 * - mutt (copy.c, mutt_copy_header): "Status: RO" when read, "Status: O"
 *   when old, no Status field otherwise; "X-Status: " + A (replied) and
 *   F (flagged), no field when neither.  Mainline mutt writes no
 *   X-Keywords (its labels go in X-Label).
 * - Dovecot (mbox-sync-update.c): Status in the order R O, X-Status in
 *   the order A F T D, X-Keywords names separated by one space; a field
 *   that would be empty is not added.  X-IMAPbase is "%u %010u" then
 *   " name" per keyword; X-IMAPbase and X-Keywords are folded with
 *   "\n\t" once a line passes 1024 bytes.
 * - UW imapd (unix.c, unix_xstatus): always writes Status (R, then O),
 *   X-Status (in the order D F A T) and X-Keywords (" name" each, then
 *   padded with spaces so it can be updated in place), even when empty.
 * We write as Dovecot does, which is also what mutt writes for the
 * flags mutt knows: letters in Dovecot's order, no empty fields (every
 * reader treats a missing field as an empty one).
 *
 * Reading accepts all of them: flag letters in any order, repeated or
 * unknown letters and white space ignored; keyword names separated by
 * any run of SP, TAB, CR, LF and "," (Dovecot and UW write spaces;
 * commas are read because some tools write "a, b").  A consequence:
 * in an mbox a keyword name cannot contain ",", though IMAP allows it
 * (mbox_keyword_ok); X-IMAPbase, which UW and Dovecot split on white
 * space only, skips such names so the two fields agree.
 *
 * Values are counted and untrusted (any bytes, NUL included); a value
 * passed in may be the unfolded whole field, CR and LF included.
 */
#ifndef POSTERN_MBOXFLAGS_H
#define POSTERN_MBOXFLAGS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "flags.h"

/* Dovecot folds X-IMAPbase and X-Keywords past this line length. */
#define MBOX_KW_WRAP 1024

/* 1 if s[0..n) can be a keyword in an mbox: keyword_valid() and no
 * ",". */
int mbox_keyword_ok(const char *s, size_t n);

/* Status value: ORs MF_SEEN into *flags for R, sets *old to 1 if O is
 * there, else to 0.  Returns how many bytes were neither a known letter
 * nor white space (0 for a clean value). */
int mbox_status_parse(const char *v, size_t n, unsigned *flags, int *old);

/* X-Status value: ORs MF_ANSWERED, MF_FLAGGED, MF_DRAFT, MF_DELETED
 * into *flags.  Returns the count of other bytes, as above. */
int mbox_xstatus_parse(const char *v, size_t n, unsigned *flags);

/* X-Keywords value: ORs into *kw the bit of each name found in t
 * (case-insensitive); a name not in t is added to it when add is set.
 * Returns how many names were left out: not valid for mbox, not in t
 * (add not set), or t full. */
int mbox_xkeywords_parse(const char *v, size_t n, struct kwtable *t,
    int add, kwset_t *kw);

/* Append the whole field line ("Status: RO\n") to out, or nothing
 * when the value would be empty.  0, or -1 if out's maximum would be
 * passed or, for X-Keywords, a bit in kw has no name in t or its name
 * is not mbox_keyword_ok (out is then unchanged). */
int mbox_status_format(unsigned flags, int old, struct buf *out);
int mbox_xstatus_format(unsigned flags, struct buf *out);
int mbox_xkeywords_format(kwset_t kw, const struct kwtable *t,
    struct buf *out);

/*
 * X-IMAPbase value, read as common/mbox_parse.c reads it: white space,
 * 1-10 digits of UIDVALIDITY (not 0), white space, 1-10 digits of the
 * last UID (below UINT32_MAX), each number at most UINT32_MAX and not
 * followed by more digits, then the end or white space.  Then the
 * folder's keywords, added in order to the empty table t (names not
 * mbox_keyword_ok, repeats and names past KW_MAX are skipped).
 * Returns -1 if the numbers are unusable (t stays empty), else the
 * number of keyword names skipped.
 */
int mbox_imapbase_parse(const char *value, size_t n, uint32_t *uidvalidity,
    uint32_t *uidlast, struct kwtable *t);

/* Append "X-IMAPbase: <uidvalidity> <uidlast as 10 digits>[ name...]\n"
 * (the last UID zero-padded so it can be updated in place, as Dovecot
 * and mbox.c write it).  -1 (out unchanged) if uidvalidity is 0,
 * uidlast is UINT32_MAX, a name in t is not mbox_keyword_ok, t has a
 * hole (X-IMAPbase lists names by position), or out is full. */
int mbox_imapbase_format(uint32_t uidvalidity, uint32_t uidlast,
    const struct kwtable *t, struct buf *out);

#endif
