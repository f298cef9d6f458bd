/*
 * copy.h - the target side of APPEND, COPY and MOVE (copy.c).
 *
 * A struct xfer is one store transaction on the target folder that may
 * hold more messages than one store commit takes (STORE_STAGE_MAX): a
 * full batch is committed before the next message is staged, and an
 * abort after that removes the committed batches again, so the command
 * stays all or nothing as the client sees it (RFC 3501 6.3.11, 6.4.7).
 * A crash between batches leaves the committed ones in place.
 */
#ifndef POSTERN_IMAP_COPY_H
#define POSTERN_IMAP_COPY_H

#include "imap.h"

struct xfer {
	struct imap *im;
	struct store *dst;
	int own;		/* dst opened here; else it is im->sel */
	unsigned staged;	/* in the batch not committed yet */
	uint32_t *uids;		/* committed, in staging order */
	size_t nuids;
	uint32_t uidvalidity;
	char err[256];
};

/* Open the target name (a wire name): im->sel when it is the selected
 * folder and that is read-write.  CMD_OK, or CMD_NO with c->resp set
 * ([TRYCREATE] when there is no such folder, RFC 3501 6.3.11). */
enum cmd_result xfer_open(struct imap *im, struct imap_cmd *c,
    const char *name, struct xfer *x);
/* Before staging a message: commits the batch when it is full. */
enum store_result xfer_before(struct xfer *x);
/* A message was staged successfully. */
void xfer_staged(struct xfer *x);
/* Commit what is staged; on failure the caller calls xfer_abort. */
enum store_result xfer_commit(struct xfer *x);
/* Drop what is staged and remove what was committed. */
void xfer_abort(struct xfer *x);
/* Release the target (after commit or abort). */
void xfer_close(struct xfer *x);

/* A uid-set (RFC 4315 9) of u[0..n) in that order, consecutive runs as
 * ranges, into a malloc'd string. */
char *uidset_format(const uint32_t *u, size_t n);

#endif
