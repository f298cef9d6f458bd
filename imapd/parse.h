/*
 * parse.h - reading IMAP commands (RFC 3501 9, RFC 7888 LITERAL+/-).
 *
 * Two layers.  The parser proper (struct imap_parser) is a pure state
 * machine: it is fed one line at a time (without its CRLF) and, when a
 * line ends in a literal announcement, the literal's bytes; it builds the
 * command's tag, name and argument tree.  It never reads or writes the
 * network, so the fuzz target drives it directly.  The reader
 * (imap_read_*) drives it from a struct io: it reads lines, sends the
 * continuation request for synchronizing literals, reads the literal
 * bytes, and enforces the limits.
 *
 * Tokens (what the parser accepts; handlers check the finer grammar, for
 * example that a mailbox is an astring or a flag is a flag):
 *   atom     1*(0x21-0x7e except ( ) " { and \ ) with an optional
 *            leading "\" (flags: "\Seen", "\*").  "%", "*", "]", "[",
 *            "<", ">", ":" and "," are atom bytes: LIST patterns,
 *            sequence sets, "BODY[1.MIME]<0.100>" and "$" are atoms.
 *            The atom "NIL" (any case) is ARG_NIL.
 *   quoted   DQUOTE *(any byte but NUL, CR, LF, with \" and \\ as the
 *            only escapes) DQUOTE.  8-bit bytes are accepted (UTF-8
 *            SEARCH strings, RFC 6855).
 *   literal  "{" number ["+" / "-"... see below] "}" at the very end of
 *            a line, then exactly number bytes, then the command goes on
 *            on the next line.  "{n+}" is non-synchronizing (LITERAL+).
 *            "~{n}" (literal8, RFC 3516) is refused: BINARY is not
 *            offered.  Literal bytes may be anything except NUL (refused,
 *            RFC 3501 9 rule "CHAR8 except NUL"); handlers that need
 *            text check for 8-bit themselves.
 *   list     "(" [token *(SP token)] ")", nested up to
 *            IMAP_MAX_DEPTH.
 *   A FETCH section spec needs one extra rule: in
 *   "BODY[HEADER.FIELDS (From To)]<0.100>" the atom "]<0.100>" follows
 *   ")" without a space.  The parser accepts an atom starting with "]"
 *   right after ")" and marks it IMAP_ARG_JOINED; fetch.c puts the
 *   pieces back together.  Nowhere else may tokens touch.
 * Exactly one SP between tokens; no SP at the start or the end of a
 * line (RFC 3501 9 rule 2), except that a trailing SP is tolerated as
 * many clients send one (Dovecot does the same).  NUL anywhere, or a bare
 * CR inside a line, is a syntax error.
 *
 * The tag: 1*(ASTRING-CHAR except "+"), at most IMAP_TAG_MAX bytes.
 * The command name: an atom of letters (uppercased in cmd).  Everything
 * after it are the arguments.
 *
 * Limits (SECURITY.md G6): a line is at most IO_LINE_MAX bytes (the io
 * layer cuts longer ones); a command holds at most IMAP_MAX_ARGS tokens
 * in all and IMAP_MAX_CMD bytes of strings and literals counted
 * together, except literals the caller streams (APPEND's message, which
 * is bounded by imap_append_limit instead).  A synchronizing literal
 * over the limit is refused before the client sends it (no continuation
 * request); a non-synchronizing one is read and thrown away (RFC 7888
 * 4), then BAD [TOOBIG]... is answered.
 */
#ifndef POSTERN_IMAP_PARSE_H
#define POSTERN_IMAP_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "io.h"

#define IMAP_TAG_MAX 64
#define IMAP_CMDNAME_MAX 32
#define IMAP_MAX_DEPTH 32		/* list nesting */
/* SECURITY.md G8, as Dovecot after CVE-2024-34055: 1000 tokens (for
 * APPEND: per message) and 64 KiB of command text and kept literals */
#define IMAP_MAX_ARGS 1000		/* tokens in one command */
#define IMAP_MAX_CMD (64 * 1024)	/* string and literal bytes */
/* Ranges in one sequence set: bounded by the line length anyway, but
 * clients send long UID lists ("1,3,5,...") in one atom */
#define SEQSET_MAX_RANGES 100000
#define IMAP_LOGIN_MAX_CMD 8192		/* the same before login */

enum imap_arg_type {
	IMAP_ARG_EOL = 0,	/* ends every argument array */
	IMAP_ARG_ATOM,
	IMAP_ARG_QUOTED,
	IMAP_ARG_LITERAL,
	IMAP_ARG_NIL,
	IMAP_ARG_LIST,
};

/* Argument flags. */
#define IMAP_ARG_JOINED 0x1	/* atom that followed ")" with no SP */
#define IMAP_ARG_STREAMED 0x2	/* literal read by the caller, not kept:
				 * str is NULL, len its size */

struct imap_arg {
	enum imap_arg_type type;
	unsigned flags;
	/* ATOM, QUOTED, LITERAL: the bytes (unescaped), len of them, then
	 * a NUL not counted in len.  Atoms and quoted strings never hold
	 * NUL, literals neither (refused), so str is a C string. */
	char *str;
	size_t len;
	/* LIST: its elements, ended by an IMAP_ARG_EOL entry; len is the
	 * number of elements. */
	struct imap_arg *list;
};

/* ---- the parser ---- */

enum imap_parse_result {
	IMAP_PARSE_DONE,	/* the command is complete */
	IMAP_PARSE_LITERAL,	/* the line ended with a literal announcement:
				 * see imap_parser_literal_info(), then feed
				 * the bytes (or skip them) and the next line */
	IMAP_PARSE_ERROR,	/* syntax error or limit: imap_parser_error() */
};

struct imap_parser;

/* max_cmd: IMAP_MAX_CMD or IMAP_LOGIN_MAX_CMD. */
struct imap_parser *imap_parser_new(size_t max_cmd);
void imap_parser_free(struct imap_parser *p);
/* Forget the command (free its arguments), ready for the next one. */
void imap_parser_reset(struct imap_parser *p);

/*
 * Feed the next line of the command (the first line starts with the
 * tag).  After IMAP_PARSE_LITERAL, the literal's bytes come first
 * (imap_parser_feed_literal, or imap_parser_literal_streamed when the
 * caller consumed them itself), then the line that follows it.
 */
enum imap_parse_result imap_parser_feed_line(struct imap_parser *p,
    const char *line, size_t len);

/* The pending literal: its size, whether it is synchronizing (the
 * client waits for "+"), and whether it would pass the command's byte
 * limit if kept. */
struct imap_literal_info {
	uint64_t size;
	int sync;
	int too_big;
};
void imap_parser_literal_info(const struct imap_parser *p,
    struct imap_literal_info *li);
/* Literal bytes, in any number of pieces adding up to its size; NUL is
 * remembered and turns into IMAP_PARSE_ERROR at the next feed_line. */
void imap_parser_feed_literal(struct imap_parser *p, const void *data,
    size_t n);
/* The caller read (streamed) the literal's bytes itself: the argument
 * becomes an IMAP_ARG_STREAMED literal. */
void imap_parser_literal_streamed(struct imap_parser *p);

/* What has been parsed.  The tag and the name as soon as the first line
 * got that far (else ""); the arguments after the name so far (complete
 * after IMAP_PARSE_DONE; at IMAP_PARSE_LITERAL the pending literal is
 * not yet among them, and open lists are visible up to the last
 * complete element). */
const char *imap_parser_tag(const struct imap_parser *p);
const char *imap_parser_name(const struct imap_parser *p);
const struct imap_arg *imap_parser_args(const struct imap_parser *p);
/* Error text for "tag BAD <text>", e.g. "Missing ')'" or
 * "[TOOBIG] Literal too large". */
const char *imap_parser_error(const struct imap_parser *p);

/* ---- reading a command from the network ---- */

enum imap_read_result {
	IMAP_READ_DONE,		/* imap_parser_args() complete */
	IMAP_READ_LITERAL,	/* stream mode only: a literal is next, the
				 * caller must call imap_literal_accept or
				 * imap_literal_refuse */
	IMAP_READ_BAD,		/* answer "tag BAD error" (tag may be "":
				 * then "* BAD"); the rest of the command
				 * has been skipped */
	IMAP_READ_EOF,		/* client gone, or an I/O error */
	IMAP_READ_TIMEOUT,	/* idle timeout */
};

/*
 * Read one command from io.  With stream set, stop before each literal
 * (IMAP_READ_LITERAL) so the caller can read it itself (APPEND), else
 * keep every literal (sending "+ OK" for synchronizing ones).  The
 * first line is read with the io's idle timeout; the rest of the
 * command too.
 */
enum imap_read_result imap_read_command(struct imap_parser *p,
    struct io *io, int stream);
/* After IMAP_READ_LITERAL: go on reading the command (after the caller
 * accepted and read the literal, or refused it). */
enum imap_read_result imap_read_continue(struct imap_parser *p,
    struct io *io, int stream);

/* Stream mode: take the pending literal.  Sends "+ OK" if it is
 * synchronizing.  Then read its bytes with imap_literal_read until it
 * returns 0, and call imap_read_continue. */
enum io_status imap_literal_accept(struct imap_parser *p, struct io *io);
/* Up to n bytes of the accepted literal into buf; returns the count
 * (0 when it is all read) or -1 on EOF/error/timeout. */
ssize_t imap_literal_read(struct imap_parser *p, struct io *io, void *buf,
    size_t n);
/*
 * Stream mode: refuse the pending literal.  A synchronizing literal is
 * never sent by the client (no "+" is sent); a non-synchronizing one is
 * read and discarded.  Either way the rest of the command is skipped
 * as far as it can be: the caller then answers "tag NO/BAD ..." itself.
 * IO_OK, or the io error.
 */
enum io_status imap_literal_refuse(struct imap_parser *p, struct io *io);

/* ---- argument helpers (NULL/0-safe; a == NULL counts as EOL) ---- */

/* 1 for ATOM, QUOTED or LITERAL (an RFC 3501 string or atom).  astring
 * also requires an atom to be ASTRING-CHARs only (no "%", "*", "\\"). */
int imap_arg_is_string(const struct imap_arg *a);
int imap_arg_is_astring(const struct imap_arg *a);
/* nstring: NIL or string (quoted/literal). */
int imap_arg_is_atom(const struct imap_arg *a, const char *word);
	/* ATOM equal to word, ASCII case-insensitive */
size_t imap_args_count(const struct imap_arg *a);	/* up to EOL */

/* ---- sequence sets (RFC 3501 9 sequence-set, RFC 5182 "$") ---- */

#define SEQ_STAR UINT32_MAX	/* "*": the largest number in use */

struct seq_range {
	uint32_t lo, hi;	/* lo <= hi after parsing; either may be
				 * SEQ_STAR until resolved */
};

struct seqset {
	struct seq_range *r;
	size_t n;
	int dollar;		/* the set was "$" (SEARCHRES) */
};

/*
 * Parse a sequence-set atom: "1", "2:4", "4:2" (same as 2:4), "*",
 * "5:*", "1,3:5,7", or "$" alone.  0 is never valid.  At most
 * SEQSET_MAX_RANGES ranges.  0 on success, -1 on a syntax error.
 */
int seqset_parse(const char *s, size_t len, struct seqset *out);
void seqset_free(struct seqset *set);
/*
 * Resolve "*" to star (the last sequence number, or the largest UID;
 * 0 in an empty mailbox, when "*" matches nothing for UIDs and the set
 * is invalid for sequence numbers) and sort and merge the ranges.
 */
void seqset_resolve(struct seqset *set, uint32_t star);
/* Membership after seqset_resolve (binary search). */
int seqset_contains(const struct seqset *set, uint32_t n);
/* Append the set in canonical form ("1:3,5") to a buf-like string:
 * returns the bytes needed (snprintf-style). */
size_t seqset_format(const struct seqset *set, char *out, size_t outlen);

/* ---- dates (RFC 3501 9 date, date-time) ---- */

/* SEARCH date "1-Feb-1994" or "\"1-Feb-1994\"" content (day 1 or 2
 * digits): the day, as midnight UTC of that date in *t; 0 or -1. */
int imap_parse_date(const char *s, size_t len, time_t *t);
/* APPEND date-time "dd-Mon-yyyy hh:mm:ss +zzzz" (day may start with
 * SP): 0 or -1. */
int imap_parse_datetime(const char *s, size_t len, time_t *t);
/* Format t as a date-time with the local time zone offset, into out
 * (at least 27 bytes): "17-Jul-1996 02:44:25 -0700". */
void imap_format_datetime(time_t t, char *out, size_t outlen);

#endif
