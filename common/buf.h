/*
 * buf.h - the counted byte string (STYLE.md 5).
 *
 * A buf carries its length, may hold NUL bytes, and has a hard maximum
 * set when it is created: an append that would pass the maximum fails and
 * leaves the buf unchanged, it never truncates.  data is always followed
 * by a NUL byte (not counted in len) so it can be handed to libc at the
 * edges once the caller has checked that len == strlen(data).
 */
#ifndef POSTERN_BUF_H
#define POSTERN_BUF_H

#include <stddef.h>
#include "util.h"

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);		/* wipes nothing; see buf_wipe */
void buf_wipe(struct buf *b);		/* explicit_bzero, then free */
void buf_reset(struct buf *b);
int buf_append(struct buf *b, const void *p, size_t n);	/* 0 or -1 */
int buf_addc(struct buf *b, char c);
int buf_adds(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) PRINTF(2, 3);
/* 1 when the buf contains a NUL byte (so it is not a C string). */
int buf_has_nul(const struct buf *b);

#endif
