/*
 * mutf7.h - modified UTF-7 (RFC 3501 section 5.1.3) for mailbox names,
 * and the UTF-8 check that goes with it.
 *
 * imapd speaks modified UTF-7 on the wire; the Maildir++ store keeps the
 * same form in folder names on disk, as Dovecot and Courier do.  Both
 * directions trust nothing: input is a counted byte string straight from
 * a client or a directory entry, it may hold NUL (which is rejected, never
 * treated as the end), and output never passes outmax.
 *
 * Strict in both directions, so that there is exactly one spelling of
 * each name (RFC 3501 5.1.3 problem 5: "UTF-7 permits multiple alternate
 * forms to represent the same string").  A name is valid when it is a
 * sequence of Unicode scalar values none of which is a C0 control, DEL
 * or a C1 control (U+0000-001F, U+007F-009F).  RFC 3501 would let those be
 * base64-encoded; we refuse them on both sides so that a name that cannot
 * be shown or stored is refused at the edge.  mutf7_decode accepts exactly
 * the strings mutf7_encode produces, so for any x:
 *   mutf7_decode(x) succeeds  =>  mutf7_encode(mutf7_decode(x)) == x
 *   mutf7_encode(x) succeeds  =>  mutf7_decode(mutf7_encode(x)) == x
 * (t/unit/test_mutf7.c and fuzz/fuzz_mutf7.c check both.)
 *
 * The codec knows nothing of hierarchy separators: "/" and "." are
 * ordinary direct characters here.
 *
 * Each function returns 0 on success.  On failure it returns -1, sets
 * errno to EILSEQ (input not valid; the whole input is checked, so this
 * wins over a short buffer) or ERANGE (output would not fit in outmax - 1
 * bytes), sets *outlen to 0 and leaves out as "" when outmax is not 0 -
 * never a partial result.  On success out is NUL-terminated and *outlen
 * is its length without the NUL.  out must hold outmax bytes; a NULL out
 * counts as outmax 0 (always ERANGE).  outlen may be NULL.
 */
#ifndef POSTERN_MUTF7_H
#define POSTERN_MUTF7_H

#include <stddef.h>

/* UTF-8 -> modified UTF-7.  -1 if in is not valid UTF-8 (overlong forms,
 * surrogates U+D800-DFFF, above U+10FFFF, truncated sequences) or holds
 * NUL, any other C0 control, DEL or a C1 control; -1 also if the result
 * does not fit in outmax - 1 bytes. */
int mutf7_encode(const char *in, size_t inlen, char *out, size_t outmax,
    size_t *outlen);

/* Modified UTF-7 -> UTF-8.  -1 for anything mutf7_encode would not
 * produce: a byte outside 0x20-0x7e; "&" with no closing "-"; a character
 * outside the modified base64 alphabet inside a shifted run; base64 that
 * encodes a printable US-ASCII character (it must be direct) or a control;
 * leftover bits that are not zero or make up a whole base64 character;
 * an odd number of UTF-16 bytes; an unpaired surrogate; and a shifted run
 * that follows another at once ("&AOQ-&AOQ-", a null shift).  "&-" is
 * the literal "&". */
int mutf7_decode(const char *in, size_t inlen, char *out, size_t outmax,
    size_t *outlen);

/* 1 if in is valid modified UTF-7 as mutf7_decode defines it. */
int mutf7_valid(const char *in, size_t inlen);

/* 1 if in is valid UTF-8 with no control characters, as mutf7_encode
 * defines it: a valid mailbox name, not merely well-formed UTF-8. */
int utf8_valid(const char *in, size_t inlen);

#endif
