/*
 * search.h - SEARCH and UID SEARCH (RFC 3501 6.4.4) with ESEARCH (RFC
 * 4731) and SEARCHRES (RFC 5182): the search program and its evaluator.
 *
 *   search_parse.c  arguments -> program: keys, CHARSET, RETURN options,
 *                   search strings converted to UTF-8 and case-folded
 *   search_eval.c   program x message -> match: flags, sizes and dates
 *                   first, then the header, then the decoded text parts,
 *                   streamed in bounded chunks
 *   search.c        the command: results as SEARCH or ESEARCH, SAVE
 *
 * The evaluator needs no session: search_bind() gives it the view's
 * numbers and search_match_store() or search_match_msg() (a message in
 * memory, for tests and the fuzz target) evaluate one message.
 */
#ifndef POSTERN_IMAP_SEARCH_H
#define POSTERN_IMAP_SEARCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "flags.h"
#include "parse.h"
#include "store.h"

/* Limits on one program (SECURITY.md G6).  Every BODY or TEXT key scans
 * every decoded body byte, so those are bounded tighter than the rest;
 * Dovecot has no fixed number, these are far above what clients send. */
#define SEARCH_MAX_KEYS 500	/* keys, parentheses, NOT and OR counted */
#define SEARCH_MAX_DEPTH 64	/* nesting of NOT, OR and parentheses */
#define SEARCH_MAX_TEXT 64	/* BODY and TEXT keys */

/* RETURN options (RFC 4731 3.1, RFC 5182 2.4). */
#define SEARCH_RET_MIN 0x01
#define SEARCH_RET_MAX 0x02
#define SEARCH_RET_ALL 0x04
#define SEARCH_RET_COUNT 0x08
#define SEARCH_RET_SAVE 0x10

enum search_status {
	SEARCH_OK,
	SEARCH_BAD,		/* syntax: BAD */
	SEARCH_BADCHARSET,	/* NO [BADCHARSET (US-ASCII UTF-8)] */
	SEARCH_LIMIT,		/* NO [LIMIT]: too many keys or too deep */
};

struct search_prog;

/*
 * Parse the arguments of SEARCH (after the command name, or after UID
 * SEARCH): [RETURN (opts)] [CHARSET astring] search-key *(SP search-key).
 * On success *out is the program.  Otherwise err says why; either way
 * *ret and *esearch say what RETURN asked for as far as it was parsed
 * (so a failed SEARCH ... SAVE can empty the saved result).
 */
enum search_status search_parse(const struct imap_arg *args,
    struct search_prog **out, unsigned *ret, int *esearch, char *err,
    size_t errlen);
void search_prog_free(struct search_prog *p);

/* What the program needs to know about the view before matching: "*"
 * for sequence numbers and UIDs, keyword names, the saved result "$". */
struct search_view {
	uint32_t count;			/* messages in the view */
	uint32_t maxuid;		/* UID of the last one, 0 if none */
	const struct kwtable *kw;	/* NULL: no keywords */
	const uint32_t *saved;		/* "$": UIDs, ascending */
	size_t nsaved;
};
void search_bind(struct search_prog *p, const struct search_view *v);

/*
 * Does message i of st match the program (bound to st's view)?  1 or 0;
 * -1 when the message cannot be read (*r says why).  A message that is
 * store_gone() never matches.
 */
int search_match_store(struct search_prog *p, struct store *st, unsigned i,
    enum store_result *r);

/* A message in memory, for unit tests and the fuzz target. */
struct search_msg {
	const char *data;	/* the message as stored (LF or CRLF) */
	size_t len;
	uint32_t seq, uid;
	unsigned flags;		/* MF_* */
	kwset_t kw;
	int recent;
	time_t internal;	/* INTERNALDATE, -1 unknown */
};
int search_match_msg(struct search_prog *p, const struct search_msg *m);

/* Case folding used for matching (UTF-8 in, the same length out): ASCII,
 * Latin-1, Latin Extended-A, Greek and Cyrillic letters to lower case.
 * *carry holds a lead byte split off at the end of in (0 at the start);
 * search_fold_end() writes it out.  Returns the bytes written to out
 * (at most n + 1). */
size_t search_fold(const unsigned char *in, size_t n, unsigned char *out,
    unsigned char *carry);
size_t search_fold_end(unsigned char *out, unsigned char *carry);

/* A charset name iconv may be asked about (RFC 2978 characters). */
int search_charset_ok(const char *s, size_t len);

/* The day of an RFC 5322 Date: value, as days since 1970-01-01 of the
 * date written (time and zone disregarded, RFC 3501 6.4.4): 0 and *day
 * set, or -1 if it is not a date. */
int search_sent_day(const char *s, size_t len, int64_t *day);

/* ---- inside search_*.c ---- */

enum search_op {
	SOP_ALL, SOP_AND, SOP_OR, SOP_NOT,
	SOP_FLAG, SOP_UNFLAG,		/* flag: an MF_* bit */
	SOP_RECENT, SOP_NEW, SOP_OLD,
	SOP_KEYWORD, SOP_UNKEYWORD,	/* str: the name */
	SOP_LARGER, SOP_SMALLER,	/* num: bytes */
	SOP_BEFORE, SOP_ON, SOP_SINCE,	/* day: days since 1970 */
	SOP_SENTBEFORE, SOP_SENTON, SOP_SENTSINCE,
	SOP_SEQ, SOP_UID,		/* str: the set as written */
	SOP_HEADER,			/* str: field name, needle */
	SOP_BODY, SOP_TEXT,		/* needle */
};

struct search_node {
	enum search_op op;
	struct search_node *kid, *next;	/* AND, OR, NOT operands */
	unsigned flag;
	uint64_t num;
	int64_t day;
	char *str;
	/* the search string in UTF-8, case-folded, and its KMP table */
	unsigned char *needle;
	size_t nlen;
	uint32_t *fail;
	/* bound to a view */
	struct seqset set;
	int set_ok;			/* set parsed and resolved */
	int kwbit;			/* -1: no such keyword */
	/* while one message is evaluated */
	int found;
	size_t kmp;
};

struct search_prog {
	struct search_node *root;
	struct search_node *nodes;	/* SEARCH_MAX_KEYS of them */
	size_t nnodes;
	int need_body;			/* BODY, TEXT keys */
	struct search_view view;
};

#endif
