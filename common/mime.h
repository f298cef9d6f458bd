/*
 * mime.h - the structure of a message as IMAP FETCH needs it (RFC 3501
 * 6.4.5, 7.4.2): the part tree with offsets, the MIME header fields of
 * every part, the envelope of every message, and the compact blob the
 * store caches per message.  doc/mime.md describes what the parser
 * accepts, its limits, and the blob format.
 *
 * Everything here is pure computation on untrusted bytes: the parser
 * takes the message in chunks of any size and never holds more than its
 * fixed buffers (MIME_MAX_FIELD per kept header field); every limit below
 * ends structure parsing (the rest is opaque body), never the process.
 */
#ifndef POSTERN_MIME_H
#define POSTERN_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Limits.  Past one, the rest of the affected part (or, for the part and
 * byte budgets, of the message) is opaque body and the tree records it
 * in its flags. */
#define MIME_MAX_FIELD 65536	/* bytes of one header field kept for
				 * parsing (RFC 5322 2.1.1 allows 998 per
				 * line; folded fields run longer) */
#define MIME_MAX_PARTS 10000	/* parts in one message (Dovecot's limit
				 * is in the same range) */
#define MIME_MAX_DEPTH 100	/* nesting of multipart and message/rfc822 */
#define MIME_MAX_BOUNDARY 200	/* RFC 2046 5.1.1 says 70; mailers exceed it */
#define MIME_MAX_TREE_BYTES (16u << 20)	/* strings and arrays kept for one
					 * message's tree */

/* No part (parent of the root, missing child or sibling). */
#define MIME_NONE UINT32_MAX

/* A counted string.  p == NULL is absent (IMAP NIL).  p is followed by a
 * NUL byte, but the value may contain NUL bytes: use len. */
struct mime_str {
	const char *p;
	uint32_t len;
};

/* A Content-Type or Content-Disposition parameter.  name as written
 * (RFC 2231 sections such as "title*0*" are not joined); value unquoted;
 * raw as written after the "=" (with quotes, if any). */
struct mime_param {
	struct mime_str name, value, raw;
};

/* An address as RFC 3501 7.4.2 defines it.  A group start has host NIL
 * and mailbox the group's name; a group end has mailbox and host NIL. */
struct mime_addr {
	struct mime_str name, adl, mailbox, host;
};

struct mime_alist {
	struct mime_addr *a;
	uint32_t n;
};

/* Envelope fields, in RFC 3501 order. */
enum {
	MIME_ENV_DATE, MIME_ENV_SUBJECT, MIME_ENV_FROM, MIME_ENV_SENDER,
	MIME_ENV_REPLY_TO, MIME_ENV_TO, MIME_ENV_CC, MIME_ENV_BCC,
	MIME_ENV_IN_REPLY_TO, MIME_ENV_MESSAGE_ID, MIME_ENV_NFIELDS
};
#define MIME_ENV_IS_ADDR(f) ((f) >= MIME_ENV_FROM && (f) <= MIME_ENV_BCC)

/* The header of a message (the root, or what a message/rfc822 part
 * encloses).  raw[f] is the first such field's value, unfolded (line
 * breaks removed), outer white space trimmed; NIL when absent.  addr[f]
 * is the parsed list for the address fields, empty otherwise.  Sender
 * and Reply-To are what the message says: use mime_env_addr() for the
 * RFC 3501 defaults. */
struct mime_env {
	struct mime_str raw[MIME_ENV_NFIELDS];
	struct mime_alist addr[MIME_ENV_NFIELDS];
};

/* Part flags. */
#define MIME_PART_MESSAGE 0x01	/* has a message header: root, or the
				 * child of a message/rfc822 part */
#define MIME_PART_NOHDR_END 0x02	/* the header had no blank line */
#define MIME_PART_OPAQUE 0x04	/* multipart or message/rfc822 whose
				 * content was not parsed (a limit, no
				 * boundary, or an encoded message) */
#define MIME_PART_NOCLOSE 0x08	/* multipart without close delimiter */
#define MIME_PART_FLAGS 0x0f

/* Tree flags: which limits were reached. */
#define MIME_TREE_PARTS 0x01
#define MIME_TREE_DEPTH 0x02
#define MIME_TREE_BYTES 0x04
#define MIME_TREE_FLAGS 0x07

/*
 * One part.  Offsets are into the message as fed (off) and into its wire
 * form (wire: crlf.h's conversion of the whole message; an offset equal
 * to the message's length maps to the whole wire size, final CRLF
 * included).  The header is [hdr, body), the body [body, end); the line
 * break before a boundary delimiter belongs to the delimiter (RFC 2046
 * 5.1.1), so it is in neither.  lines: line breaks in the body, plus one
 * for a last line without one.
 *
 * type, subtype, encoding and disposition are lowercased; the defaults
 * (RFC 2045 5.2, 6.1; RFC 2046 5.1.5) are text/plain; charset=us-ascii,
 * or message/rfc822 inside multipart/digest, and 7bit.
 *
 * A multipart part's children are its body parts (possibly none: the
 * formatter then writes an empty text/plain part, as RFC 3501's grammar
 * needs one).  A message/rfc822 part has one child, the enclosed message
 * (flag MIME_PART_MESSAGE, with env), unless MIME_PART_OPAQUE.
 */
struct mime_part {
	uint32_t parent, first_child, next;
	uint32_t nchildren, depth, flags;
	uint64_t hdr_off, body_off, end_off;
	uint64_t hdr_wire, body_wire, end_wire;
	uint64_t lines;
	struct mime_str type, subtype;
	struct mime_param *params;
	uint32_t nparams;
	struct mime_str id, description, encoding, md5, location;
	struct mime_str disposition;	/* NIL when there is no header */
	struct mime_param *disp_params;
	uint32_t ndisp_params;
	struct mime_str *language;	/* Content-Language tags */
	uint32_t nlanguage;
	struct mime_env *env;		/* MIME_PART_MESSAGE parts only */
};

struct mime_arena;

/* parts[0] is the root (the whole message); parts are in depth-first
 * order, which is also the order of their offsets. */
struct mime_tree {
	struct mime_part *parts;
	uint32_t nparts;
	uint32_t flags;
	uint64_t size, wire_size;
	struct mime_arena *arena;
};

/* The push parser. */
struct mime_parser;
struct mime_parser *mime_parser_init(void);
void mime_parser_feed(struct mime_parser *p, const void *data, size_t n);
/* The tree of everything fed; frees the parser. */
struct mime_tree *mime_parser_finish(struct mime_parser *p);
/* Parse a whole message in memory. */
struct mime_tree *mime_parse(const void *data, size_t n);
void mime_tree_free(struct mime_tree *t);

/* Sender and Reply-To when absent or empty are From (RFC 3501 7.4.2);
 * every other field as parsed. */
const struct mime_alist *mime_env_addr(const struct mime_env *e, int field);

/* The first parameter named name (case-insensitive), or NULL. */
const struct mime_param *mime_param_get(const struct mime_param *ps,
    uint32_t n, const char *name);

/*
 * The part a numeric section names (RFC 3501 6.4.5): nums[0..n) are the
 * part numbers, 1-based.  Part 1 of a message that is not multipart is
 * the message itself (its body); inside a message/rfc822 part the
 * numbers count the enclosed message's parts.  n == 0 is the root.
 * Returns the part index, or MIME_NONE if there is no such part.
 */
uint32_t mime_section(const struct mime_tree *t, const uint32_t *nums,
    size_t n);

/* The blob: see doc/mime.md.  encode returns malloc'd bytes; decode
 * verifies every byte and returns NULL on anything but a valid tree. */
unsigned char *mime_blob_encode(const struct mime_tree *t, size_t *len);
struct mime_tree *mime_blob_decode(const void *blob, size_t len);

/*
 * RFC 2047 encoded words in a header value, decoded into UTF-8 appended
 * to out (whose maximum bounds the output: decoding stops where an
 * append would fail, and 1 is returned; else 0).  White space between
 * adjacent encoded words is dropped (6.2); encoded words in an unknown
 * charset and malformed ones are kept as written.  Text outside encoded
 * words is copied as is.
 */
int rfc2047_decode(const char *in, size_t len, struct buf *out);

/* Streaming body decoders (RFC 2045 6.7, 6.8), tolerant: bad input is
 * skipped (base64) or passed through (quoted-printable).  out must hold
 * MIME_DEC_OUT(n) bytes. */
#define MIME_QP_HOLD 256	/* white space held back at most, to drop it
				 * at a line end (RFC 2045 6.7 rule 3) */
#define MIME_DEC_OUT(n) ((n) + MIME_QP_HOLD + 3)

struct mime_b64 {
	uint32_t acc;
	int nbits;
};
void mime_b64_init(struct mime_b64 *d);
size_t mime_b64_feed(struct mime_b64 *d, const void *in, size_t n,
    unsigned char *out);
size_t mime_b64_finish(struct mime_b64 *d, unsigned char *out);

struct mime_qp {
	unsigned char hold[MIME_QP_HOLD];	/* white space not yet sent */
	size_t nhold;
	int state;
	int digit;		/* the first hex digit after "=" */
};
void mime_qp_init(struct mime_qp *d);
size_t mime_qp_feed(struct mime_qp *d, const void *in, size_t n,
    unsigned char *out);
size_t mime_qp_finish(struct mime_qp *d, unsigned char *out);

#endif
