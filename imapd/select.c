/*
 * select.c - SELECT and EXAMINE (RFC 3501 6.3.1-6.3.2), CLOSE (6.4.2),
 * UNSELECT (RFC 3691), EXPUNGE (6.4.3) and UID EXPUNGE (RFC 4315 2.1):
 * entering and leaving the selected state, and removing messages.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <strings.h>

#include "imap.h"
#include "log.h"

/*
 * NO for a failed store call.  The store's error text names paths, which
 * are the log's business; only a refused name is explained to the client
 * (a name that cannot be stored says why).
 */
static enum cmd_result
store_failed(struct imap_cmd *c, enum store_result r, const char *err)
{
	if (r == STORE_EBADNAME)
		return cmd_store_error(c, r, err);
	if (r != STORE_ENOENT && *err)
		log_msg(LOG_WARNING, "%s: %s", c->name, err);
	return cmd_store_error(c, r, NULL);
}

static const char system_flags[] =
    "\\Answered \\Flagged \\Deleted \\Seen \\Draft";

static void
write_keywords(struct imap *im)
{
	const struct kwtable *t = store_keywords_table(im->sel);

	for (unsigned k = 0; t != NULL && k < t->n && k < KW_MAX; k++)
		if (t->name[k] != NULL)
			io_printf(im->io, " %s", t->name[k]);
}

void
imap_send_flags(struct imap *im)
{
	const struct kwtable *t = store_keywords_table(im->sel);

	io_printf(im->io, "* FLAGS (%s", system_flags);
	write_keywords(im);
	io_puts(im->io, ")\r\n");
	if (im->sel_rdonly) {
		/* RFC 3501 7.1: nothing can be changed permanently */
		io_puts(im->io, "* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n");
	} else {
		io_printf(im->io, "* OK [PERMANENTFLAGS (%s", system_flags);
		write_keywords(im);
		/* "\*": new keywords can be created while there is room */
		io_printf(im->io, "%s)] Flags permitted.\r\n",
		    t == NULL || t->n < KW_MAX ? " \\*" : "");
	}
	im->known_keywords = t != NULL ? t->n : 0;
}

void
imap_unselect(struct imap *im)
{
	if (im->sel != NULL)
		store_close(im->sel);
	im->sel = NULL;
	free(im->sel_name);
	im->sel_name = NULL;
	im->sel_rdonly = 0;
	im->known_keywords = 0;
	im->known_recent = 0;
	free(im->saved);
	im->saved = NULL;
	im->nsaved = 0;
}

/* The sequence number of the first message without \Seen, or 0. */
static unsigned
first_unseen(struct store *st)
{
	unsigned n = store_count(st);

	for (unsigned i = 0; i < n; i++)
		if (!(store_flags(st, i) & MF_SEEN))
			return i + 1;
	return 0;
}

static void
send_select_data(struct imap *im)
{
	struct store *st = im->sel;
	unsigned unseen = first_unseen(st);

	imap_send_flags(im);
	io_printf(im->io, "* %u EXISTS\r\n", store_count(st));
	im->known_recent = store_recent_count(st);
	io_printf(im->io, "* %u RECENT\r\n", im->known_recent);
	if (unseen > 0)
		io_printf(im->io, "* OK [UNSEEN %u] First unseen.\r\n", unseen);
	io_printf(im->io, "* OK [UIDVALIDITY %u] UIDs valid\r\n",
	    store_uidvalidity(st));
	io_printf(im->io, "* OK [UIDNEXT %u] Predicted next UID\r\n",
	    store_uidnext(st));
}

/* The file or directory a folder name leads to now: 0, or -1. */
static int
folder_identity(struct imap *im, const char *name, struct stat *sb)
{
	char path[4096];

	if (folder_path(im->folders, name, path, sizeof(path), NULL, 0) !=
	    STORE_OK)
		return -1;
	return stat(path, sb);
}

static void
note_identity(struct imap *im)
{
	struct stat sb;

	im->sel_dev = 0;
	im->sel_ino = 0;
	if (folder_identity(im, im->sel_name, &sb) == 0) {
		im->sel_dev = sb.st_dev;
		im->sel_ino = sb.st_ino;
	}
}

int
imap_names_selected(struct imap *im, const char *name)
{
	const char *a = im->sel_name, *b = name;
	struct stat sb;

	if (im->sel == NULL || a == NULL)
		return 0;
	/* INBOX, also as the first level, in any case (folders.h) */
	if (strncasecmp(a, "INBOX", 5) == 0 && strncasecmp(b, "INBOX", 5) == 0 &&
	    (a[5] == '\0' || a[5] == im->sep) &&
	    (b[5] == '\0' || b[5] == im->sep)) {
		a += 5;
		b += 5;
	}
	if (strcmp(a, b) != 0)
		return 0;
	if (im->sel_ino == 0)
		return 1;
	return folder_identity(im, name, &sb) == 0 &&
	    sb.st_dev == im->sel_dev && sb.st_ino == im->sel_ino;
}

enum cmd_result
cmd_select(struct imap *im, struct imap_cmd *c)
{
	const struct imap_arg *a = c->args;
	int examine = strcmp(c->name, "EXAMINE") == 0;
	char err[512] = "";
	const char *name;
	struct store *st;
	enum store_result r;

	/* select-params (RFC 4466) name extensions we do not offer */
	if (!imap_arg_is_astring(a) || a[1].type != IMAP_ARG_EOL)
		return cmd_bad(c, "Invalid arguments.");
	name = strcasecmp(a->str, "INBOX") == 0 ? "INBOX" : a->str;
	if (im->sel != NULL) {
		/* RFC 3501 6.3.1: the old one is closed without expunging,
		 * even if this SELECT fails; RFC 7162 3.2.11's CLOSED code
		 * tells where its responses end */
		imap_unselect(im);
		io_puts(im->io, "* OK [CLOSED] Previous mailbox closed.\r\n");
	}
	r = store_open(im->folders, name, examine ? STORE_RDONLY : STORE_SELECT,
	    &st, err, sizeof(err));
	if (r != STORE_OK)
		return store_failed(c, r, err);
	im->sel = st;
	im->sel_name = xstrdup(name);
	note_identity(im);
	im->sel_rdonly = examine || store_readonly(st);
	send_select_data(im);
	c->no_sync = 1;
	return cmd_ok(c, "[%s] %s completed.", im->sel_rdonly ? "READ-ONLY" :
	    "READ-WRITE", examine ? "Examine" : "Select");
}

static int
no_args(const struct imap_cmd *c)
{
	return c->args == NULL || c->args->type == IMAP_ARG_EOL;
}

/* Messages with \Deleted, limited to those of only when it is set. */
static unsigned char *
deleted_set(struct imap *im, const unsigned char *only, unsigned *n)
{
	unsigned count = store_count(im->sel);
	unsigned char *del = xcalloc(count ? count : 1, 1);

	*n = 0;
	for (unsigned i = 0; i < count; i++)
		if ((store_flags(im->sel, i) & MF_DELETED) &&
		    (only == NULL || only[i])) {
			del[i] = 1;
			(*n)++;
		}
	return del;
}

/* RFC 3501 6.4.2: CLOSE removes the \Deleted messages silently, unless
 * the folder is read-only; it always succeeds in leaving it. */
enum cmd_result
cmd_close(struct imap *im, struct imap_cmd *c)
{
	char err[512] = "";
	unsigned n = 0;
	unsigned char *del;

	if (!no_args(c))
		return cmd_bad(c, "Unexpected arguments.");
	if (!im->sel_rdonly) {
		del = deleted_set(im, NULL, &n);
		if (n > 0 && store_expunge(im->sel, del, err, sizeof(err)) !=
		    STORE_OK)
			log_msg(LOG_ERR, "%s: CLOSE could not expunge: %s",
			    im->sel_name, err);
		free(del);
	}
	imap_unselect(im);
	c->no_sync = 1;
	return cmd_ok(c, "Close completed.");
}

enum cmd_result
cmd_unselect(struct imap *im, struct imap_cmd *c)
{
	if (!no_args(c))
		return cmd_bad(c, "Unexpected arguments.");
	imap_unselect(im);
	c->no_sync = 1;
	return cmd_ok(c, "Unselect completed.");
}

/*
 * EXPUNGE, and UID EXPUNGE set (RFC 4315 2.1: only the \Deleted messages
 * in the set).  store_expunge takes every marked message out of the
 * view; reporting them highest first keeps each number valid as the
 * client applies them (RFC 3501 7.4.1).
 */
enum cmd_result
cmd_expunge(struct imap *im, struct imap_cmd *c)
{
	unsigned char *only = NULL, *del;
	unsigned n, nsel, count;
	char err[512] = "";
	enum store_result r;

	if (c->uid) {
		if (c->args == NULL || c->args->type == IMAP_ARG_EOL ||
		    c->args[1].type != IMAP_ARG_EOL)
			return cmd_bad(c, "Invalid arguments.");
		if (imap_msgset(im, c, c->args, 1, &only, &nsel) < 0)
			return CMD_BAD;
	} else if (!no_args(c)) {
		return cmd_bad(c, "Unexpected arguments.");
	}
	if (im->sel_rdonly) {
		free(only);
		return cmd_store_error(c, STORE_ERDONLY, NULL);
	}
	count = store_count(im->sel);
	del = deleted_set(im, only, &n);
	free(only);
	r = n > 0 ? store_expunge(im->sel, del, err, sizeof(err)) : STORE_OK;
	if (r != STORE_OK) {
		free(del);
		return store_failed(c, r, err);
	}
	for (unsigned i = count; i-- > 0; )
		if (del[i])
			io_printf(im->io, "* %u EXPUNGE\r\n", i + 1);
	free(del);
	return cmd_ok(c, "Expunge completed.");
}
