/*
 * append.c - APPEND (RFC 3501 6.3.11) and MULTIAPPEND (RFC 3502), with
 * APPENDUID (RFC 4315), TOOBIG (RFC 4469, RFC 7889) and LITERAL+
 * (RFC 7888).
 *
 *   append         = "APPEND" SP mailbox 1*append-message
 *   append-message = [SP flag-list] [SP date-time] SP literal
 *
 * A CMD_STREAM command: the loop hands it over at the first literal
 * with the arguments before it, and each message's literal is read here
 * piece by piece straight into the store (store_append_write), so a
 * message is never held in memory; its size is bounded by
 * imap_append_limit instead of the parser's command limit.  A literal
 * that is too big, empty, or for a mailbox that does not exist is
 * refused before the client sends it (a synchronizing literal gets no
 * "+"), or read and thrown away if it is non-synchronizing.
 *
 * All or nothing (RFC 3502 2): every message is staged, and the
 * transaction is committed only after the last one; any failure drops
 * them all and the rest of the command is skipped.
 */
#include <stdlib.h>
#include <string.h>

#include "copy.h"

/* Read from the literal into the store in pieces of this size. */
#define APPEND_CHUNK 16384

struct append_job {
	struct imap *im;
	struct imap_cmd *c;
	struct imap_parser *p;
	struct xfer x;
	size_t pos;		/* index of the next message's options */
	int accepted;		/* the pending literal was taken already */
};

/* The options of one message: args[pos..] up to the end of what has
 * been parsed (the pending literal is not among them). */
struct append_opts {
	unsigned flags;
	kwset_t kw;
	time_t date;		/* -1: now */
};

static int
parse_opts(struct append_job *j, const struct imap_arg *a,
    struct append_opts *o, struct imap_flagargs *fa)
{
	struct imap_cmd *c = j->c;
	int r;

	memset(fa, 0, sizeof(*fa));
	o->date = -1;
	if (a->type == IMAP_ARG_LIST) {
		if ((r = imap_parse_flags(c, a, fa)) < 0)
			return r;
		a++;
	}
	if (a->type == IMAP_ARG_QUOTED) {
		if (imap_parse_datetime(a->str, a->len, &o->date) < 0) {
			cmd_bad(c, "Invalid date-time");
			return -1;
		}
		a++;
	}
	if (a->type != IMAP_ARG_EOL) {
		cmd_bad(c, "Invalid arguments");
		return -1;
	}
	o->flags = fa->flags;
	return 0;
}

/* Keyword names as bits of the target's table (adding new ones). */
static int
map_keywords(struct append_job *j, const struct imap_flagargs *fa,
    kwset_t *kw)
{
	*kw = 0;
	for (size_t k = 0; k < fa->nkw; k++) {
		int bit = store_keyword(j->x.dst, fa->kw[k], 1);
		if (bit == -2) {
			cmd_no(j->c, "[LIMIT] Too many keywords in this mailbox");
			return -1;
		}
		if (bit < 0) {
			cmd_no(j->c, "[CANNOT] Keyword cannot be stored");
			return -1;
		}
		*kw |= (kwset_t)1 << bit;
	}
	return 0;
}

/* Give up on the pending literal: nothing more of the command is read.
 * CMD_CLOSE if the connection broke meanwhile. */
static enum cmd_result skip_rest(struct append_job *j, enum cmd_result r);

static enum cmd_result
refuse(struct append_job *j, enum cmd_result r)
{
	if (j->accepted) {
		j->accepted = 0;
		return skip_rest(j, r);
	}
	if (imap_literal_refuse(j->p, j->im->io) != IO_OK) {
		j->c->resp[0] = '\0';
		return CMD_CLOSE;
	}
	return r;
}

/* After a failure with a message read whole: skip what is left of the
 * command (refusing the next literal ends it). */
static enum cmd_result
skip_rest(struct append_job *j, enum cmd_result r)
{
	switch (imap_read_continue(j->p, j->im->io, 1)) {
	case IMAP_READ_LITERAL:
		return refuse(j, r);
	case IMAP_READ_DONE:
	case IMAP_READ_BAD:
		return r;
	default:
		j->c->resp[0] = '\0';
		return CMD_CLOSE;
	}
}

/* Check the pending literal and the options before it; stage nothing.
 * Returns CMD_OK to go on, else the answer (the literal not taken). */
static enum cmd_result
check_message(struct append_job *j, struct append_opts *o)
{
	const struct imap_arg *a = imap_parser_args(j->p) + j->pos;
	struct imap_literal_info li;
	struct imap_flagargs fa;
	int r;

	if ((r = parse_opts(j, a, o, &fa)) < 0)
		return r == -2 ? CMD_NO : CMD_BAD;
	imap_parser_literal_info(j->p, &li);
	if (li.size > j->im->cfg->imap_append_limit)
		return cmd_no(j->c, "[TOOBIG] Message is larger than the "
		    "APPENDLIMIT (%u bytes).", j->im->cfg->imap_append_limit);
	if (li.size == 0)
		return cmd_no(j->c, "Can't save an empty message.");
	if (map_keywords(j, &fa, &o->kw) < 0)
		return CMD_NO;
	return CMD_OK;
}

/*
 * Copy the accepted literal into a.  Every byte is read even after a
 * failure, so the connection stays in step with the client.  0 if the
 * message is good, 1 if it must be refused (NUL, store error in *sr),
 * -1 if the connection broke.
 */
static int
stream_literal(struct append_job *j, struct store_append *a,
    enum store_result *sr)
{
	char buf[APPEND_CHUNK];
	int bad = 0;
	ssize_t n;

	*sr = STORE_OK;
	while ((n = imap_literal_read(j->p, j->im->io, buf, sizeof(buf))) > 0) {
		if (bad)
			continue;
		/* RFC 3501 4.3: NUL only in literal8, which needs BINARY */
		if (memchr(buf, '\0', (size_t)n) != NULL)
			bad = 1;
		else if ((*sr = store_append_write(a, buf, (size_t)n)) !=
		    STORE_OK)
			bad = 1;
	}
	return n < 0 ? -1 : bad;
}

/* Stage one message: its literal is pending and checked. */
static enum cmd_result
stage_message(struct append_job *j, const struct append_opts *o)
{
	struct store_append *a;
	enum store_result r;
	int s;

	if ((r = xfer_before(&j->x)) != STORE_OK ||
	    (r = store_append_begin(j->x.dst, o->flags, o->kw, o->date, &a,
	    j->x.err, sizeof(j->x.err))) != STORE_OK)
		return refuse(j, cmd_store_error(j->c, r, j->x.err));
	if (!j->accepted && imap_literal_accept(j->p, j->im->io) != IO_OK) {
		(void)store_append_end(a, NULL, 0);
		j->c->resp[0] = '\0';
		return CMD_CLOSE;
	}
	j->accepted = 0;
	s = stream_literal(j, a, &r);
	if (s == 0)
		r = store_append_end(a, j->x.err, sizeof(j->x.err));
	else
		(void)store_append_end(a, NULL, 0);
	if (s < 0) {
		j->c->resp[0] = '\0';
		return CMD_CLOSE;
	}
	if (s == 0 && r == STORE_OK) {
		xfer_staged(&j->x);
		return CMD_OK;
	}
	if (r == STORE_OK || r == STORE_EBADNAME)
		return skip_rest(j, cmd_no(j->c, "Message contains NUL "
		    "characters or is empty."));
	return skip_rest(j, cmd_store_error(j->c, r, j->x.err));
}

static enum cmd_result
append_reply(struct append_job *j)
{
	char *set;
	enum cmd_result cr;
	enum store_result r;

	if ((r = xfer_commit(&j->x)) != STORE_OK)
		return cmd_store_error(j->c, r, j->x.err);
	set = uidset_format(j->x.uids, j->x.nuids);
	if (j->x.nuids > 0 && strlen(set) + 64 < sizeof(j->c->resp))
		cr = cmd_ok(j->c, "[APPENDUID %u %s] Append completed.",
		    j->x.uidvalidity, set);
	else
		cr = cmd_ok(j->c, "Append completed.");
	free(set);
	return cr;
}

/* Every message: stage it, then read on to the next literal or the
 * end of the command. */
static enum cmd_result
append_all(struct append_job *j)
{
	struct append_opts o;
	enum cmd_result cr;
	size_t n;

	for (;;) {
		if ((cr = check_message(j, &o)) != CMD_OK)
			return refuse(j, cr);
		if ((cr = stage_message(j, &o)) != CMD_OK)
			return cr;
		/* the literal joins the arguments as the one after these */
		n = imap_args_count(imap_parser_args(j->p)) + 1;
		switch (imap_read_continue(j->p, j->im->io, 1)) {
		case IMAP_READ_LITERAL:
			j->pos = n;
			break;
		case IMAP_READ_DONE:
			if (imap_args_count(imap_parser_args(j->p)) != n)
				return cmd_bad(j->c, "Invalid arguments");
			return append_reply(j);
		case IMAP_READ_BAD:
			return cmd_bad(j->c, "%s", imap_parser_error(j->p));
		default:
			j->c->resp[0] = '\0';
			return CMD_CLOSE;
		}
	}
}

/*
 * Is the message literal pending?  The loop hands the command over at
 * its first literal, or when it ended without one.  A literal of size 0
 * that is non-synchronizing looks like no literal at all to
 * imap_parser_literal_info; accepting it (which sends nothing) tells.
 */
static int
literal_pending(struct append_job *j)
{
	struct imap_literal_info li;

	imap_parser_literal_info(j->p, &li);
	if (li.size > 0 || li.sync)
		return 1;
	if (imap_literal_accept(j->p, j->im->io) != IO_OK)
		return 0;
	j->accepted = 1;
	return 1;
}

/* The mailbox name was sent as a literal (the first one): read it. */
static enum cmd_result
literal_name(struct append_job *j, char *name, size_t size)
{
	struct imap_literal_info li;
	size_t len = 0;
	ssize_t n;

	imap_parser_literal_info(j->p, &li);
	if (li.size == 0 || li.size >= size)
		return refuse(j, cmd_bad(j->c, "Invalid mailbox name"));
	if (imap_literal_accept(j->p, j->im->io) != IO_OK)
		return (j->c->resp[0] = '\0', CMD_CLOSE);
	while ((n = imap_literal_read(j->p, j->im->io, name + len,
	    size - 1 - len)) > 0)
		len += (size_t)n;
	if (n < 0)
		return (j->c->resp[0] = '\0', CMD_CLOSE);
	name[len] = '\0';
	if (strlen(name) != len)
		return skip_rest(j, cmd_bad(j->c, "Invalid mailbox name"));
	switch (imap_read_continue(j->p, j->im->io, 1)) {
	case IMAP_READ_LITERAL:
		return CMD_OK;
	case IMAP_READ_DONE:
		return cmd_bad(j->c, "Missing message literal");
	case IMAP_READ_BAD:
		return cmd_bad(j->c, "%s", imap_parser_error(j->p));
	default:
		return (j->c->resp[0] = '\0', CMD_CLOSE);
	}
}

enum cmd_result
cmd_append(struct imap *im, struct imap_cmd *c)
{
	const struct imap_arg *a = c->args;
	char namebuf[1024];	/* a longer name is no folder's (folders.c) */
	const char *name = namebuf;
	struct append_job j;
	enum cmd_result cr;

	memset(&j, 0, sizeof(j));
	j.im = im;
	j.c = c;
	j.p = c->parser;
	j.pos = 1;
	if (!literal_pending(&j))
		return cmd_bad(c, "Missing message literal");
	if (a == NULL || a->type == IMAP_ARG_EOL) {
		if ((cr = literal_name(&j, namebuf, sizeof(namebuf))) != CMD_OK)
			return cr;
		j.accepted = 0;
	} else if (!imap_arg_is_astring(a))
		return refuse(&j, cmd_bad(c, "Invalid mailbox name"));
	else
		name = a->str;
	if ((cr = xfer_open(im, c, name, &j.x)) != CMD_OK)
		return refuse(&j, cr);
	cr = append_all(&j);
	if (cr != CMD_OK)
		xfer_abort(&j.x);
	xfer_close(&j.x);
	return cr;
}
