/*
 * crlf.h - the one rule that turns stored message bytes into wire bytes.
 *
 * Messages are stored with LF (Maildir files written by most MTAs, mbox)
 * or CRLF line endings; IMAP and POP3 send CRLF.  Sizes we report (POP3
 * LIST/STAT, IMAP RFC822.SIZE) must equal the bytes we then send, so both
 * the size computation and the sender use this converter:
 *   - an LF not preceded by CR becomes CRLF;
 *   - every other byte (including a CR not followed by LF) passes as is;
 *   - a non-empty message that does not end with LF gets CRLF appended
 *     (POP3 must end the message with CRLF before the terminating dot,
 *     RFC 1939 section 3; IMAP counts the same bytes so the two agree).
 */
#ifndef POSTERN_CRLF_H
#define POSTERN_CRLF_H

#include <stddef.h>
#include <stdint.h>

struct crlf {
	int prev;		/* last input byte, or -1 at the start */
	uint64_t in, out;	/* bytes consumed and produced so far */
};

void crlf_init(struct crlf *c);
/* Convert in[0..n) into out, which must hold 2 * n bytes; returns the
 * number of bytes written. */
size_t crlf_convert(struct crlf *c, const unsigned char *in, size_t n,
    unsigned char *out);
/* At the end of the message: writes the final CRLF if one is needed
 * (out must hold 2 bytes); returns 0 or 2. */
size_t crlf_finish(struct crlf *c, unsigned char *out);
/* Count only: the wire size the same bytes would produce. */
void crlf_count(struct crlf *c, const unsigned char *in, size_t n);
uint64_t crlf_count_finish(struct crlf *c);

#endif
