/*
 * session.c - the authenticated and selected states (RFC 3501 3.2-3.3),
 * in the mail-session process as the user: reading commands,
 * dispatching them through the command table, and the untagged updates
 * that follow each one (RFC 3501 7.3.1, 7.4.1; RFC 2180 4).
 *
 * Everything the client sends is untrusted: commands come through the
 * bounded reader of parse.c, and BADs in a row end the session.
 * A handler's result is written by the loop:
 *   CMD_OK, CMD_NO, CMD_BAD   untagged updates, then "tag OK/NO/BAD resp"
 *   CMD_CLOSE                 "tag OK resp" if resp is set, then the end
 *                             (LOGOUT; a handler that lost the client
 *                             leaves resp empty)
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "imap.h"
#include "log.h"

/* What ended the session, for the log line. */
struct session_stats {
	unsigned commands;
	const char *reason;
};

static void
write_tagged(struct imap *im, const char *tag, enum cmd_result r,
    const char *resp)
{
	static const char *const word[] = { "OK", "NO", "BAD", "OK" };

	io_printf(im->io, "%s %s %s\r\n", *tag ? tag : "*", word[r],
	    *resp ? resp : "Completed.");
}

/* The capability list of the authenticated state: "IMAP4rev1 ...". */
static void
capability_list(const struct config *cfg, char *out, size_t outlen)
{
	imap_capability(cfg, CAP_AUTH, 0, 1, out, outlen);
}

/*
 * RFC 3501 7.4.1: no EXPUNGE while answering FETCH, STORE or SEARCH
 * (their UID forms may have them: RFC 3501 6.4.8 and RFC 2180 4.1).
 */
static int
keep_expunged(const struct imap_command *cmd, const struct imap_cmd *c)
{
	return ((cmd->flags & CMD_KEEP_EXPUNGED) && !c->uid) ||
	    c->keep_expunged;
}

/*
 * Look the command up, with "UID" taking its subcommand from the first
 * argument.  NULL with c->resp set when it cannot run here.
 */
static const struct imap_command *
find_command(struct imap *im, struct imap_cmd *c)
{
	const struct imap_command *cmd;

	if (strcasecmp(c->name, "UID") == 0) {
		const struct imap_arg *a = c->args;
		if (a == NULL || a->type != IMAP_ARG_ATOM ||
		    a->len > IMAP_CMDNAME_MAX) {
			cmd_bad(c, "Missing UID command.");
			return NULL;
		}
		memcpy(c->name, a->str, a->len + 1);
		for (char *p = c->name; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		c->args = a + 1;
		c->uid = 1;
	}
	cmd = imap_command_find(c->name, c->uid);
	if (cmd == NULL) {
		if (!c->uid && (!strcasecmp(c->name, "LOGIN") ||
		    !strcasecmp(c->name, "AUTHENTICATE") ||
		    !strcasecmp(c->name, "STARTTLS")))
			cmd_bad(c, "Already logged in.");
		else
			cmd_bad(c, "Unknown command.");
		return NULL;
	}
	if ((cmd->flags & CMD_SELECTED) && im->sel == NULL) {
		cmd_bad(c, "No mailbox selected.");
		return NULL;
	}
	return cmd;
}

/* Run one parsed command; returns the result the loop answers with. */
static enum cmd_result
dispatch(struct imap *im, struct imap_cmd *c, const struct imap_command **cmdp)
{
	const struct imap_command *cmd = find_command(im, c);

	*cmdp = cmd;
	if (cmd == NULL)
		return CMD_BAD;
	return cmd->fn(im, c);
}

/* ---- reading commands ---- */

/*
 * Read the next command.  Stream mode is chosen before the command's
 * name is known, so every command is read in stream mode: one that reads
 * its own literals (APPEND) is returned at its first literal with the
 * arguments so far; for any other, imap_read_continue() without an
 * accept keeps the literal and reads the rest as non-stream mode would.
 */
static enum imap_read_result
read_command(struct imap_parser *p, struct io *io)
{
	enum imap_read_result rr = imap_read_command(p, io, 1);
	const struct imap_command *cmd;

	if (rr != IMAP_READ_LITERAL)
		return rr;
	cmd = imap_command_find(imap_parser_name(p), 0);
	if (cmd != NULL && (cmd->flags & CMD_STREAM))
		return rr;
	return imap_read_continue(p, io, 0);
}

static void
fill_cmd(struct imap_cmd *c, struct imap_parser *p)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->tag, sizeof(c->tag), "%s", imap_parser_tag(p));
	snprintf(c->name, sizeof(c->name), "%s", imap_parser_name(p));
	c->args = imap_parser_args(p);
	c->parser = p;
}

/* One command: read, run, report.  0 to go on, -1 to end. */
static int
one_command(struct imap *im, struct imap_parser *p, struct session_stats *st)
{
	struct imap_cmd c;
	const struct imap_command *cmd = NULL;
	enum cmd_result r;
	enum imap_read_result rr;

	/* pipelined commands' answers go out together (RFC 3501 5.5) */
	if (io_pending(im->io) == 0 && io_flush(im->io) != IO_OK) {
		st->reason = "connection closed";
		return -1;
	}
	rr = read_command(p, im->io);
	if (rr == IMAP_READ_EOF) {
		st->reason = "connection closed";
		return -1;
	}
	if (rr == IMAP_READ_TIMEOUT) {
		io_puts(im->io, "* BYE Disconnected for inactivity.\r\n");
		st->reason = "inactivity";
		return -1;
	}
	fill_cmd(&c, p);
	st->commands++;
	if (rr == IMAP_READ_BAD)
		r = cmd_bad(&c, "%s", imap_parser_error(p));
	else
		r = dispatch(im, &c, &cmd);
	/* a streaming command that did not run leaves its literal unread:
	 * it must not be taken for commands */
	if (rr == IMAP_READ_LITERAL && cmd == NULL &&
	    imap_literal_refuse(p, im->io) != IO_OK)
		return -1;
	if (im->sel != NULL)
		store_touch(im->sel);
	if (r == CMD_CLOSE || im->logout) {
		if (r == CMD_CLOSE && c.resp[0])
			write_tagged(im, c.tag, r, c.resp);
		st->reason = r == CMD_CLOSE && c.resp[0] ? "logged out" :
		    "connection closed";
		return -1;
	}
	/* The updates come before the tagged line (RFC 3501 7), but not
	 * after a command that could not even be parsed or found. */
	if (cmd != NULL && !c.no_sync)
		imap_sync(im, keep_expunged(cmd, &c));
	/* The command ran even if the sync then found the selected folder
	 * gone and said BYE: its result still goes out, or a client would
	 * repeat an APPEND or COPY that took place. */
	write_tagged(im, c.tag, r, c.resp);
	if (im->logout) {
		st->reason = "selected mailbox replaced or deleted";
		return -1;
	}
	im->bad = r == CMD_BAD ? im->bad + 1 : 0;
	if (im->bad >= IMAP_SESSION_BAD_MAX) {
		io_puts(im->io, "* BYE Too many invalid commands.\r\n");
		st->reason = "too many invalid commands";
		return -1;
	}
	return 0;
}

/* The greeting that completes the login (RFC 3501 6.2.3, 7.1.4). */
static void
greet(struct imap *im, const char *tag)
{
	char caps[1024];

	capability_list(im->cfg, caps, sizeof(caps));
	if (im->s->preauth)
		io_printf(im->io, "* PREAUTH [CAPABILITY %s] Logged in as %s\r\n",
		    caps, im->s->user);
	else
		io_printf(im->io, "%s OK [CAPABILITY %s] Logged in\r\n",
		    *tag ? tag : "*", caps);
}

static int
open_folders(struct imap *im, const char *tag)
{
	struct store_user u = { im->s->user, im->s->home };
	char err[512] = "";
	enum store_result r = folders_open(im->cfg->mail_location, &u,
	    im->sep, &im->folders, err, sizeof(err));

	if (r == STORE_OK)
		return 0;
	log_msg(LOG_ERR, "cannot open the mail folders: %s", err);
	if (*tag && !im->s->preauth)
		io_printf(im->io, "%s NO [UNAVAILABLE] Cannot open the "
		    "mailboxes.\r\n", tag);
	else
		io_puts(im->io, "* BYE [UNAVAILABLE] Cannot open the "
		    "mailboxes.\r\n");
	io_flush(im->io);
	return -1;
}

void
imap_session_main(struct session *s)
{
	struct imap im = { .s = s, .cfg = s->cfg, .io = &s->io };
	struct session_stats st = { 0, "connection closed" };
	struct imap_parser *p;
	char tag[IMAP_TAG_MAX + 1];

	io_set_timeouts(&s->io, (int)s->cfg->imap_idle_timeout,
	    (int)s->cfg->output_timeout);
	if (session_preamble(s, tag, sizeof(tag)) < 0)
		return;
	log_set_user(s->user);
	im.sep = s->cfg->namespace_separator[0] ? s->cfg->namespace_separator[0]
	    : '/';
	if (open_folders(&im, tag) < 0)
		return;
	specialuse_autocreate(&im);
	greet(&im, tag);
	p = imap_parser_new(IMAP_MAX_CMD);
	while (one_command(&im, p, &st) == 0)
		;
	io_flush(im.io);
	log_msg(LOG_INFO, "disconnected (%s): commands=%u in=%llu out=%llu",
	    st.reason, st.commands, s->io.bytes_in, s->io.bytes_out);
	imap_parser_free(p);
	if (im.sel != NULL)
		imap_unselect(&im);
	free(im.saved);
	folders_close(im.folders);
}

/* ---- untagged updates (RFC 3501 7.3.1, 7.4.1; RFC 2180 4) ---- */

/* The folder's UIDVALIDITY changed (RFC 3501 2.3.1.1): the client's
 * UIDs are worthless and there is no response to say so in the
 * selected state, so the session ends. */
static void
validity_lost(struct imap *im)
{
	log_msg(LOG_WARNING, "%s: UIDVALIDITY changed, disconnecting",
	    im->sel_name);
	io_puts(im->io, "* BYE [UNAVAILABLE] Mailbox UIDVALIDITY changed, "
	    "please reconnect.\r\n");
	imap_unselect(im);
	im->logout = 1;
}

/*
 * A sync failed: was the folder deleted under us (by another session's
 * DELETE, say)?  Then no later sync can work, and there is no response
 * that says so in the selected state: end the session as Dovecot does.
 */
static int
selected_gone(struct imap *im)
{
	char path[PATH_MAX];
	struct stat sb;

	if (folder_path(im->folders, im->sel_name, path, sizeof(path), NULL,
	    0) != STORE_OK || stat(path, &sb) == 0 || errno != ENOENT)
		return 0;
	log_msg(LOG_INFO, "%s: deleted while selected, disconnecting",
	    im->sel_name);
	io_puts(im->io, "* BYE Selected mailbox was deleted, have to "
	    "disconnect.\r\n");
	imap_unselect(im);
	im->logout = 1;
	return 1;
}

static void
report_changes(struct imap *im, const struct store_changes *ch)
{
	struct store *st = im->sel;
	unsigned count = store_count(st), recent = store_recent_count(st);
	const struct kwtable *kt = store_keywords_table(st);

	for (size_t i = 0; i < ch->nexpunged; i++)
		io_printf(im->io, "* %u EXPUNGE\r\n", ch->expunged[i]);
	/* FLAGS before any FETCH that shows a new keyword (RFC 3501 7.2.6) */
	if (ch->keywords_added || (kt != NULL && kt->n != im->known_keywords))
		imap_send_flags(im);
	/* RECENT goes with a new size (RFC 3501 7.3.2), as in Dovecot */
	if (ch->added > 0) {
		io_printf(im->io, "* %u EXISTS\r\n", count);
		io_printf(im->io, "* %u RECENT\r\n", recent);
		im->known_recent = recent;
	}
	for (size_t i = 0; i < ch->nchanged; i++)
		if (ch->changed[i] < count)
			imap_write_fetch_flags(im, ch->changed[i], 1);
}

void
imap_sync(struct imap *im, int keep)
{
	struct store_changes ch;
	char err[512] = "";
	enum store_result r;

	if (im->sel == NULL)
		return;
	memset(&ch, 0, sizeof(ch));
	r = store_sync(im->sel, keep ? STORE_SYNC_KEEP_EXPUNGED : 0, &ch, err,
	    sizeof(err));
	if (r == STORE_EVALIDITY) {
		store_changes_free(&ch);
		validity_lost(im);
		return;
	}
	if (r != STORE_OK) {
		/* nothing reported: the view is unchanged, try next time */
		store_changes_free(&ch);
		if (selected_gone(im))
			return;
		log_msg(LOG_WARNING, "%s: sync: %s", im->sel_name, err);
		return;
	}
	report_changes(im, &ch);
	store_changes_free(&ch);
}
