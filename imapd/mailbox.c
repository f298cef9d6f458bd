/*
 * mailbox.c - CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE and STATUS
 * (RFC 3501 6.3.3-6.3.7, 6.3.10), with CREATE (USE (...)) (RFC 6154 3,
 * CREATE-SPECIAL-USE), STATUS SIZE (RFC 8438) and STATUS APPENDLIMIT
 * (RFC 7889 3.1).
 *
 * Names are the client's, untrusted: folders.h validates every one
 * (modified UTF-7, no "..", the layout's rules) and store errors become
 * NO with their RFC 5530 code (cmd_store_error).  Syntax errors are BAD.
 */
#include <limits.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>

#include "log.h"
#include "specialuse.h"

/* A mailbox argument (RFC 3501 9: mailbox = "INBOX" / astring). */
static int
mailbox_arg(struct imap_cmd *c, const struct imap_arg *a, const char **name)
{
	if (!imap_arg_is_astring(a)) {
		cmd_bad(c, "Invalid mailbox name argument");
		return -1;
	}
	*name = a->str;
	return 0;
}

static int
no_more(struct imap_cmd *c, const struct imap_arg *a)
{
	if (a != NULL && a->type != IMAP_ARG_EOL) {
		cmd_bad(c, "Unexpected arguments");
		return -1;
	}
	return 0;
}

static int
is_mbox(const struct imap *im)
{
	return strncmp(im->cfg->mail_location, "mbox:", 5) == 0;
}

/*
 * Is the selected folder name, or (children set) below it?  DELETE and
 * RENAME then close it first, as Dovecot does: the folder's files move
 * or go, and pending flag changes (mbox) must be written before.
 */
static int
selected_is(struct imap *im, const char *name, int children)
{
	char a[PATH_MAX], b[PATH_MAX];
	size_t la;

	if (im->sel == NULL || im->sel_name == NULL ||
	    imap_canon_name(im, name, a, sizeof(a)) < 0 ||
	    imap_canon_name(im, im->sel_name, b, sizeof(b)) < 0)
		return 0;
	la = strlen(a);
	return strcmp(a, b) == 0 ||
	    (children && strncmp(a, b, la) == 0 && b[la] == im->sep);
}

static void
close_selected(struct imap *im)
{
	imap_unselect(im);
	/* RFC 7162 3.2.11 / RFC 9051 7.1: the client learns that it is
	 * back in the authenticated state */
	io_puts(im->io, "* OK [CLOSED] Previous mailbox closed.\r\n");
}

/* ---- CREATE ---- */

/*
 * The USE parameter's list (RFC 6154 3): its attributes into *uses.
 * 0; -1 for a BAD (c->resp set); -2 for an attribute we cannot give.
 */
static int
parse_use(struct imap_cmd *c, const struct imap_arg *l, unsigned *uses)
{
	int cannot = 0;

	if (l == NULL || l->type != IMAP_ARG_LIST) {
		cmd_bad(c, "USE needs a list of special-use attributes");
		return -1;
	}
	for (const struct imap_arg *a = l->list; a->type != IMAP_ARG_EOL; a++) {
		unsigned u;

		if (a->type != IMAP_ARG_ATOM || a->str[0] != '\\' ||
		    a->len < 2) {
			cmd_bad(c, "Invalid special-use attribute");
			return -1;
		}
		if ((u = specialuse_parse(a->str)) == 0)
			cannot = 1;
		*uses |= u;
	}
	return cannot ? -2 : 0;
}

/* create-params (RFC 4466 2.2): only USE is known. */
static int
parse_create_params(struct imap_cmd *c, const struct imap_arg *l,
    unsigned *uses)
{
	const struct imap_arg *a;
	int rc = 0, r;

	if (l->type != IMAP_ARG_LIST || l->len == 0) {
		cmd_bad(c, "Invalid CREATE parameters");
		return -1;
	}
	for (a = l->list; a->type != IMAP_ARG_EOL; a += 2) {
		if (!imap_arg_is_atom(a, "USE")) {
			cmd_bad(c, "Unknown CREATE parameter");
			return -1;
		}
		if ((r = parse_use(c, a + 1, uses)) == -1)
			return -1;
		if (r == -2)
			rc = -2;
	}
	return rc;
}

static enum cmd_result
create_with_uses(struct imap *im, struct imap_cmd *c, const char *name,
    unsigned uses)
{
	char canon[PATH_MAX], err[512] = "";
	enum store_result r;
	size_t len;

	if (imap_canon_name(im, name, canon, sizeof(canon)) < 0)
		return cmd_store_error(c, STORE_EBADNAME, "Name too long");
	len = strlen(canon);
	if (len > 1 && canon[len - 1] == im->sep) {
		/* mbox: "name/" makes a directory, which holds no mail */
		if (is_mbox(im))
			return cmd_no(c, "[USEATTR] A folder made to hold "
			    "only other folders cannot have a special use");
		canon[len - 1] = '\0';
	}
	if ((r = folder_create(im->folders, name, err, sizeof(err))) !=
	    STORE_OK)
		return cmd_store_error(c, r, err);
	if ((r = specialuse_add(im, canon, uses, err, sizeof(err))) !=
	    STORE_OK) {
		/* RFC 6154 3: without its use the folder must not exist */
		char err2[256] = "";

		if (folder_delete(im->folders, canon, err2, sizeof(err2)) !=
		    STORE_OK)
			log_msg(LOG_ERR, "CREATE %s: cannot undo: %s", canon,
			    err2);
		return cmd_store_error(c, r, err);
	}
	return cmd_ok(c, "Create completed.");
}

/* A name with a LIST wildcard could be created but never listed by
 * itself (RFC 3501 6.3.8: "%" and "*" match); Dovecot refuses them too. */
static int
has_wildcard(const char *name)
{
	return strpbrk(name, "%*") != NULL;
}

enum cmd_result
cmd_create(struct imap *im, struct imap_cmd *c)
{
	const struct imap_arg *a = c->args;
	char err[512] = "";
	enum store_result r;
	unsigned uses = 0;
	const char *name;
	int rc;

	if (mailbox_arg(c, &a[0], &name) < 0)
		return CMD_BAD;
	if (has_wildcard(name))
		return cmd_no(c, "[CANNOT] Mailbox names cannot contain %% or *.");
	if (a[1].type != IMAP_ARG_EOL) {
		if ((rc = parse_create_params(c, &a[1], &uses)) == -1 ||
		    no_more(c, &a[2]) < 0)
			return CMD_BAD;
		if (rc == -2)
			return cmd_no(c, "[USEATTR] Only \\Archive, \\Drafts, "
			    "\\Junk, \\Sent and \\Trash can be given");
	}
	if (uses != 0)
		return create_with_uses(im, c, name, uses);
	if ((r = folder_create(im->folders, name, err, sizeof(err))) !=
	    STORE_OK)
		return cmd_store_error(c, r, err);
	return cmd_ok(c, "Create completed.");
}

/* ---- DELETE, RENAME ---- */

enum cmd_result
cmd_delete(struct imap *im, struct imap_cmd *c)
{
	char canon[PATH_MAX], err[512] = "";
	enum store_result r;
	const char *name;

	if (mailbox_arg(c, &c->args[0], &name) < 0 ||
	    no_more(c, &c->args[1]) < 0)
		return CMD_BAD;
	if (imap_canon_name(im, name, canon, sizeof(canon)) < 0)
		return cmd_store_error(c, STORE_EBADNAME, "Name too long");
	if (strcmp(canon, "INBOX") != 0 && selected_is(im, canon, 0))
		close_selected(im);
	if ((r = folder_delete(im->folders, name, err, sizeof(err))) !=
	    STORE_OK)
		return cmd_store_error(c, r, err);
	specialuse_moved(im, canon, NULL);
	return cmd_ok(c, "Delete completed.");
}

/* Does the folder name exist (as a file or directory)? */
static int
exists(struct imap *im, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	return folder_path(im->folders, name, path, sizeof(path), NULL, 0) ==
	    STORE_OK && lstat(path, &st) == 0;
}

enum cmd_result
cmd_rename(struct imap *im, struct imap_cmd *c)
{
	char from[PATH_MAX], to[PATH_MAX], err[512] = "";
	const char *a, *b;
	enum store_result r;

	if (mailbox_arg(c, &c->args[0], &a) < 0 ||
	    mailbox_arg(c, &c->args[1], &b) < 0 ||
	    no_more(c, &c->args[2]) < 0)
		return CMD_BAD;
	if (has_wildcard(b))
		return cmd_no(c, "[CANNOT] Mailbox names cannot contain %% or *.");
	if (imap_canon_name(im, a, from, sizeof(from)) < 0 ||
	    imap_canon_name(im, b, to, sizeof(to)) < 0)
		return cmd_store_error(c, STORE_EBADNAME, "Name too long");
	/* RFC 3501 6.3.5: renaming INBOX moves its messages; INBOX stays,
	 * and so does the selection of it (the moved messages are
	 * reported as expunged) */
	if (strcmp(from, "INBOX") != 0 && selected_is(im, from, 1)) {
		if (exists(im, to))
			return cmd_store_error(c, STORE_EEXIST, NULL);
		close_selected(im);
	}
	if ((r = folder_rename(im->folders, a, b, err, sizeof(err))) !=
	    STORE_OK)
		return cmd_store_error(c, r, err);
	if (strcmp(from, "INBOX") != 0)
		specialuse_moved(im, from, to);
	return cmd_ok(c, "Rename completed.");
}

/* ---- SUBSCRIBE, UNSUBSCRIBE ---- */

enum cmd_result
cmd_subscribe(struct imap *im, struct imap_cmd *c)
{
	int on = strcasecmp(c->name, "SUBSCRIBE") == 0;
	char err[512] = "";
	enum store_result r;
	const char *name;

	if (mailbox_arg(c, &c->args[0], &name) < 0 ||
	    no_more(c, &c->args[1]) < 0)
		return CMD_BAD;
	/* RFC 3501 6.3.6: the name need not exist */
	if ((r = folder_subscribe(im->folders, name, on, err, sizeof(err))) !=
	    STORE_OK)
		return cmd_store_error(c, r, err);
	return cmd_ok(c, "%s completed.", on ? "Subscribe" : "Unsubscribe");
}

/* ---- STATUS ---- */

static const char *const item_names[ST_NITEMS] = {
	"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "SIZE",
	"APPENDLIMIT",
};

int
status_items_parse(struct imap_cmd *c, const struct imap_arg *l,
    struct status_items *out)
{
	unsigned seen = 0;

	out->n = 0;
	/* RFC 3501 9: "(" status-att *(SP status-att) ")" */
	if (l == NULL || l->type != IMAP_ARG_LIST || l->len == 0) {
		cmd_bad(c, "STATUS needs a list of data items");
		return -1;
	}
	for (const struct imap_arg *a = l->list; a->type != IMAP_ARG_EOL; a++) {
		size_t k;

		for (k = 0; k < ST_NITEMS; k++)
			if (imap_arg_is_atom(a, item_names[k]))
				break;
		if (k == ST_NITEMS) {
			cmd_bad(c, "Unknown STATUS data item");
			return -1;
		}
		if (!(seen & (1u << k)))
			out->item[out->n++] = (unsigned char)k;
		seen |= 1u << k;
	}
	return 0;
}

static int
wants(const struct status_items *it, unsigned k)
{
	for (size_t i = 0; i < it->n; i++)
		if (it->item[i] == k)
			return 1;
	return 0;
}

enum store_result
status_get(struct imap *im, const char *name, const struct status_items *it,
    struct store_status *st, char *err, size_t errlen)
{
	char canon[1024];
	enum store_result r;

	memset(st, 0, sizeof(*st));
	r = store_status(im->folders, name, wants(it, ST_SIZE), st, err,
	    errlen);
	/* \Recent messages of the selected folder are this session's, so
	 * a read-only look from outside sees none of them (RFC 3501
	 * 6.3.10: RECENT is what the session would see) */
	if (r == STORE_OK && im->sel != NULL && im->sel_name != NULL &&
	    imap_canon_name(im, name, canon, sizeof(canon)) == 0 &&
	    strcmp(canon, im->sel_name) == 0)
		st->recent = store_recent_count(im->sel);
	return r;
}

void
status_write(struct imap *im, const char *name, const struct status_items *it,
    const struct store_status *st)
{
	io_puts(im->io, "* STATUS ");
	imap_write_mailbox(im->io, name);
	io_puts(im->io, " (");
	for (size_t i = 0; i < it->n; i++) {
		const char *sp = i ? " " : "";
		const char *k = item_names[it->item[i]];

		switch (it->item[i]) {
		case ST_MESSAGES:
			io_printf(im->io, "%s%s %u", sp, k, st->messages);
			break;
		case ST_RECENT:
			io_printf(im->io, "%s%s %u", sp, k, st->recent);
			break;
		case ST_UIDNEXT:
			io_printf(im->io, "%s%s %u", sp, k, st->uidnext);
			break;
		case ST_UIDVALIDITY:
			io_printf(im->io, "%s%s %u", sp, k, st->uidvalidity);
			break;
		case ST_UNSEEN:
			io_printf(im->io, "%s%s %u", sp, k, st->unseen);
			break;
		case ST_SIZE:
			io_printf(im->io, "%s%s %llu", sp, k,
			    (unsigned long long)st->size);
			break;
		case ST_APPENDLIMIT:
			io_printf(im->io, "%s%s %u", sp, k,
			    im->cfg->imap_append_limit);
			break;
		}
	}
	io_puts(im->io, ")\r\n");
}

enum cmd_result
cmd_status(struct imap *im, struct imap_cmd *c)
{
	struct status_items it;
	struct store_status st;
	char err[512] = "";
	enum store_result r;
	const char *name;

	if (mailbox_arg(c, &c->args[0], &name) < 0 ||
	    status_items_parse(c, &c->args[1], &it) < 0 ||
	    no_more(c, &c->args[2]) < 0)
		return CMD_BAD;
	if ((r = status_get(im, name, &it, &st, err, sizeof(err))) !=
	    STORE_OK)
		return cmd_store_error(c, r, err);
	status_write(im, name, &it, &st);
	return cmd_ok(c, "Status completed.");
}
