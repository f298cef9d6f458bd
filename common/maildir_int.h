/*
 * maildir_int.h - private to the Maildir backend (maildir.c and the
 * files split from it) and its unit tests: the per-message data the
 * backend keeps in struct store_msg.
 */
#ifndef POSTERN_MAILDIR_INT_H
#define POSTERN_MAILDIR_INT_H

#include <stdint.h>

struct md_msg {
	char *uniq;		/* unique name (up to ':') */
	char *file;		/* current name in cur/ or new/ */
	uint8_t sub;		/* 0 = cur/, 1 = new/ */
	uint8_t gone;		/* expunged by this session */
};

#endif
