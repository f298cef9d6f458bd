/*
 * store_util.h - helpers shared by the store unit tests: read a message
 * back through store.h exactly as pop3d does.
 */
#ifndef POSTERN_T_STORE_UTIL_H
#define POSTERN_T_STORE_UTIL_H

#include <stdlib.h>
#include <string.h>
#include "crlf.h"
#include "store.h"

/* The streamed bytes of message i (malloc'd, NUL-terminated) and their
 * length, read in small pieces on purpose; NULL if it cannot be read. */
static __attribute__((unused)) char *
stream(struct store *st, unsigned i, size_t *len)
{
	struct msg_stream *ms;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	ssize_t r;
	char tmp[7];	/* small on purpose: many reads */

	*len = 0;
	if (store_msg_open(st, i, &ms) != STORE_OK)
		return NULL;
	while ((r = msg_stream_read(ms, tmp, sizeof(tmp))) > 0) {
		if (n + (size_t)r + 1 > cap) {	/* small reads on purpose */
			cap = (cap + (size_t)r + 1) * 2;
			buf = realloc(buf, cap);
		}
		memcpy(buf + n, tmp, (size_t)r);
		n += (size_t)r;
	}
	msg_stream_close(ms);
	if (r < 0) {
		free(buf);
		return NULL;
	}
	if (buf == NULL)
		buf = calloc(1, 1);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Wire bytes of message i the way pop3d produces them. */
static __attribute__((unused)) int64_t
wire_streamed(struct store *st, unsigned i)
{
	unsigned char out[64];
	size_t len;
	char *b = stream(st, i, &len);
	struct crlf c;
	uint64_t n = 0;

	if (b == NULL)
		return -2;
	crlf_init(&c);
	for (size_t k = 0; k < len; k++)
		n += crlf_convert(&c, (unsigned char *)b + k, 1, out);
	n += crlf_finish(&c, out);
	free(b);
	return (int64_t)n;
}

#endif
