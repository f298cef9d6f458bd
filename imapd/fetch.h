/*
 * fetch.h - FETCH's pieces (RFC 3501 6.4.5, 7.4.2): the parsed request
 * (fetch.c), the structure writers ENVELOPE, BODY and BODYSTRUCTURE
 * (fetch_struct.c) and the section writers BODY[section]<partial>
 * (fetch_body.c).
 *
 * The writers take a struct io and a message source that is either a
 * message of a store or bytes in memory, so the unit tests and the fuzz
 * target drive the same code the session does.  Every size written is in
 * wire (CRLF, crlf.h) terms, whatever the stored line ending.
 */
#ifndef POSTERN_IMAP_FETCH_H
#define POSTERN_IMAP_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "imap.h"
#include "mime.h"

/* What a section names (RFC 3501 9 section-spec). */
enum fetch_spec {
	FS_ALL,			/* BODY[] or BODY[1.2]: no section-text */
	FS_HEADER,
	FS_FIELDS,		/* HEADER.FIELDS */
	FS_FIELDS_NOT,		/* HEADER.FIELDS.NOT */
	FS_TEXT,
	FS_MIME,
};

/* One BODY[section]<partial> (also RFC822, RFC822.HEADER, RFC822.TEXT,
 * which are sections with another response key). */
struct fetch_section {
	uint32_t *nums;			/* section-part, 1-based */
	size_t nnums;
	enum fetch_spec spec;
	const struct imap_arg *fields;	/* header-list elements (astrings) */
	size_t nfields;
	int partial;			/* <origin.count> was given */
	uint32_t origin, count;
	int peek;			/* BODY.PEEK, RFC822.HEADER */
	const char *rfc822;		/* "RFC822", ...: the response key,
					 * or NULL for BODY[...] */
};

/* Fetch attributes without a section. */
enum fetch_att {
	FA_FLAGS, FA_INTERNALDATE, FA_RFC822_SIZE, FA_UID, FA_ENVELOPE,
	FA_BODY, FA_BODYSTRUCTURE, FA_SECTION,
};

struct fetch_item {
	enum fetch_att att;
	struct fetch_section sec;	/* FA_SECTION */
};

struct fetch_req {
	struct fetch_item *items;
	size_t n;
	int has[FA_SECTION + 1];	/* which attributes occur */
	int sets_seen;			/* a non-peek body section */
	int needs_tree;			/* ENVELOPE, BODY*, sections */
};

/*
 * Parse the fetch attributes (RFC 3501 9 "fetch" after the sequence
 * set): a macro, one fetch-att, or a list of them.  The request points
 * into args (which must outlive it).  0, or -1 with an error text for
 * "tag BAD" in err.
 */
int fetch_parse(const struct imap_arg *args, struct fetch_req *req,
    char *err, size_t errlen);
void fetch_req_free(struct fetch_req *req);
/* The parse of one section spec, for the unit tests and the fuzz
 * target: spec is the text between "[" and "]" (no header-list). */
int fetch_parse_section(const char *s, size_t len, struct fetch_section *sec);

/* ---- message sources ---- */

/* A message as the client sees it before CRLF conversion: message i of
 * a store (store_msg_open), or bytes in memory. */
struct fetch_msg {
	struct store *st;
	unsigned i;
	const unsigned char *mem;	/* used when st is NULL */
	size_t memlen;
};

/* ---- structure (fetch_struct.c) ---- */

/* A string of message data as an IMAP string: quoted when it can be,
 * else a literal; NUL bytes (which no IMAP string may hold, RFC 3501 9
 * CHAR8) become 0x80; NIL for an absent string. */
void fetch_write_nstring(struct io *io, const struct mime_str *s);
/* "(date subject from ...)" (RFC 3501 7.4.2 ENVELOPE). */
void fetch_write_envelope(struct io *io, const struct mime_env *env);
/* BODY (extended == 0) or BODYSTRUCTURE of part p of t. */
void fetch_write_body(struct io *io, const struct mime_tree *t, uint32_t p,
    int extended);

/* ---- sections (fetch_body.c) ---- */

/* Result of writing a section's value. */
enum fetch_body_result {
	FB_OK,
	FB_GONE,		/* the message was removed: NIL was sent */
	FB_ERROR,		/* it could not be read: NIL or padding sent */
};

/* The response key: "BODY[1.HEADER.FIELDS (\"FROM\")]<0>" or "RFC822". */
void fetch_write_section_key(struct io *io, const struct fetch_section *sec);
/*
 * The section's value as an nstring: a literal of the wire bytes the
 * section names (cut to the partial range; "" when the origin is past
 * the end), NIL when the part does not exist.  wire_size is the whole
 * message's (BODY[], RFC822); t may be NULL for those only.
 */
enum fetch_body_result fetch_write_section(struct io *io,
    const struct fetch_msg *m, const struct mime_tree *t, uint64_t wire_size,
    const struct fetch_section *sec);

#endif
