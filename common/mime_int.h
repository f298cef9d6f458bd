/*
 * mime_int.h - what the mime_*.c files share and nothing else uses: the
 * arena that owns a tree's strings and arrays, tree building, and the
 * header field collector the parser fills and mime_header.c reads.
 */
#ifndef POSTERN_MIME_INT_H
#define POSTERN_MIME_INT_H

#include "mime.h"

/* The arena: blocks freed together with the tree.  Allocation fails
 * (NULL) once its budget (MIME_MAX_TREE_BYTES unless set) would be
 * passed. */
struct mime_arena *mime_arena_new(void);
void mime_arena_budget(struct mime_arena *a, size_t budget);
void mime_arena_free(struct mime_arena *a);
void *mime_arena_alloc(struct mime_arena *a, size_t n);	/* zeroed */
/* Copy p[0..n) (NUL-terminated) into *out; 0, or -1 when full. */
int mime_arena_str(struct mime_arena *a, const void *p, size_t n,
    struct mime_str *out);

struct mime_tree *mime_tree_new(void);
/* Append a part under parent (MIME_NONE for the root), linked as its
 * last child; returns its index. */
uint32_t mime_tree_add(struct mime_tree *t, uint32_t parent);

/* The header fields the parser keeps: the first of each, unfolded. */
enum {
	MH_CTYPE, MH_CID, MH_CDESC, MH_CTE, MH_CMD5, MH_CDISP, MH_CLANG,
	MH_CLOC, MH_ENV,	/* MH_ENV + MIME_ENV_* */
	MH_NSLOTS = MH_ENV + MIME_ENV_NFIELDS
};

struct mime_hdr {
	unsigned char *val[MH_NSLOTS];	/* MIME_MAX_FIELD bytes each */
	size_t len[MH_NSLOTS];
	unsigned char seen[MH_NSLOTS];
};

/* The slot of header field name[0..n), or -1 if it is not kept. */
int mime_hdr_slot(const char *name, size_t n);
void mime_hdr_append(struct mime_hdr *h, int slot, const void *p, size_t n);
void mime_hdr_reset(struct mime_hdr *h);
void mime_hdr_free(struct mime_hdr *h);
/* Fill part p's fields from h (the envelope too if p is a message);
 * digest: the parent is multipart/digest.  -1 if the arena is full. */
int mime_hdr_apply(const struct mime_hdr *h, struct mime_tree *t,
    struct mime_part *p, int digest);

/* Parse an address list (RFC 5322 3.4) into out; -1 if the arena is
 * full. */
int mime_addr_parse(struct mime_arena *a, const char *s, size_t n,
    struct mime_alist *out);

/* Lowercase ASCII, in place. */
void mime_lower(struct mime_str *s);
int mime_str_is(const struct mime_str *s, const char *lit);

#endif
