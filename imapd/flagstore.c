/*
 * flagstore.c - STORE and UID STORE (RFC 3501 6.4.6, 6.4.8), and the
 * flag-list parser APPEND shares (imap_parse_flags, imap.h).
 *
 * Everything here comes from the client: flag names are checked against
 * the flag grammar (RFC 3501 9) before they reach the store, and the
 * number of keywords one command may name is capped.
 *
 * Expunged messages (RFC 2180 4.2): a message another session removed
 * is skipped.  With .SILENT the STORE answers OK (4.2.1); without it a
 * STORE that named only such messages answers NO (4.2.2), and one that
 * named some sets the flags of the others, sends their FETCH responses
 * and answers OK with [EXPUNGEISSUED] (RFC 5530) so the client knows to
 * look for the EXPUNGEs the next command brings (4.2.3 allows a NO
 * here; clients take a NO as "nothing happened", which would be false).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap.h"

/* WEAK-BEGIN */
#pragma weak imap_msgset
#pragma weak imap_send_flags
#pragma weak imap_sync
/* WEAK-END */

static const struct {
	const char *name;
	unsigned bit;
} sysflags[] = {
	{ "\\Seen", MF_SEEN }, { "\\Answered", MF_ANSWERED },
	{ "\\Flagged", MF_FLAGGED }, { "\\Deleted", MF_DELETED },
	{ "\\Draft", MF_DRAFT },
};

/* ATOM-CHAR (RFC 3501 9): CHAR except atom-specials. */
static int
atom_char(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && !strchr("(){%*\"\\]", ch);
}

static int
sysflag_add(struct imap_cmd *c, const char *s, struct imap_flagargs *out)
{
	for (size_t i = 0; i < ARRAY_LEN(sysflags); i++)
		if (strcasecmp(s, sysflags[i].name) == 0) {
			out->flags |= sysflags[i].bit;
			return 0;
		}
	/* \Recent belongs to the server (RFC 3501 2.3.2); flag-extension
	 * flags are not defined by anything we implement */
	if (strlen(s) > 32)
		cmd_bad(c, "Invalid system flag");
	else
		cmd_bad(c, "Invalid system flag %s", s);
	return -1;
}

static int
keyword_add(struct imap_cmd *c, const char *s, size_t len,
    struct imap_flagargs *out)
{
	if (len > KW_NAME_MAX) {
		cmd_bad(c, "Keyword too long");
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if (!atom_char((unsigned char)s[i])) {
			cmd_bad(c, "Invalid keyword");
			return -1;
		}
	for (size_t i = 0; i < out->nkw; i++)
		if (strcasecmp(out->kw[i], s) == 0)
			return 0;
	if (out->nkw == IMAP_FLAGARGS_MAX) {
		cmd_no(c, "[LIMIT] Too many keywords");
		return -2;
	}
	out->kw[out->nkw++] = s;
	return 0;
}

/* One flag (an atom: RFC 3501 9 "flag") into out. */
static int
flag_add(struct imap_cmd *c, const struct imap_arg *a,
    struct imap_flagargs *out)
{
	if (a == NULL || a->type != IMAP_ARG_ATOM ||
	    (a->flags & IMAP_ARG_JOINED) || a->len == 0) {
		cmd_bad(c, "Invalid flag");
		return -1;
	}
	if (a->str[0] == '\\')
		return sysflag_add(c, a->str, out);
	return keyword_add(c, a->str, a->len, out);
}

int
imap_parse_flags(struct imap_cmd *c, const struct imap_arg *a,
    struct imap_flagargs *out)
{
	memset(out, 0, sizeof(*out));
	if (a == NULL || a->type != IMAP_ARG_LIST)
		return flag_add(c, a, out);
	for (const struct imap_arg *e = a->list; e->type != IMAP_ARG_EOL; e++) {
		int r = flag_add(c, e, out);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- STORE ---- */

struct store_req {
	enum store_flag_op op;
	int silent;
	struct imap_flagargs fa;
};

/* store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP
 *                   (flag-list / (flag *(SP flag))) */
static int
parse_item(struct imap_cmd *c, const struct imap_arg *a, struct store_req *r)
{
	const char *s;

	if (a == NULL || a->type != IMAP_ARG_ATOM) {
		cmd_bad(c, "Invalid arguments");
		return -1;
	}
	s = a->str;
	r->op = STORE_FLAGS_SET;
	if (*s == '+' || *s == '-')
		r->op = *s++ == '+' ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE;
	if (strcasecmp(s, "FLAGS.SILENT") == 0)
		r->silent = 1;
	else if (strcasecmp(s, "FLAGS") != 0) {
		cmd_bad(c, "Invalid STORE item");
		return -1;
	}
	return 0;
}

/* The flags after the item: one list, or one or more bare flags. */
static int
parse_flags(struct imap_cmd *c, const struct imap_arg *a, struct store_req *r)
{
	int ret;

	if (a == NULL || a->type == IMAP_ARG_EOL) {
		cmd_bad(c, "Missing flags");
		return -1;
	}
	if (a->type == IMAP_ARG_LIST) {
		if (a[1].type != IMAP_ARG_EOL) {
			cmd_bad(c, "Invalid arguments");
			return -1;
		}
		return imap_parse_flags(c, a, &r->fa);
	}
	memset(&r->fa, 0, sizeof(r->fa));
	for (; a->type != IMAP_ARG_EOL; a++)
		if ((ret = flag_add(c, a, &r->fa)) < 0)
			return ret;
	return 0;
}

/*
 * The keyword names as bits of the folder's table, adding the new ones
 * (not for -FLAGS: no message has a keyword the table lacks).  New
 * keywords are announced with FLAGS/PERMANENTFLAGS before any FETCH
 * names them (RFC 3501 7.2.6).
 */
static int
map_keywords(struct imap *im, struct imap_cmd *c, const struct store_req *r,
    kwset_t *kw)
{
	int create = r->op != STORE_FLAGS_REMOVE, ret = 0;

	*kw = 0;
	for (size_t k = 0; k < r->fa.nkw && ret == 0; k++) {
		int bit = store_keyword(im->sel, r->fa.kw[k], create);
		if (bit >= 0)
			*kw |= (kwset_t)1 << bit;
		else if (!create)
			continue;
		else if (bit == -2)
			ret = (cmd_no(c, "[LIMIT] Too many keywords in this "
			    "mailbox"), -1);
		else
			ret = (cmd_no(c, "[CANNOT] Keyword cannot be stored"), -1);
	}
	if (store_keywords_table(im->sel)->n > im->known_keywords)
		imap_send_flags(im);
	return ret;
}

struct store_count {
	unsigned done, gone;
};

static enum cmd_result
apply(struct imap *im, struct imap_cmd *c, const struct store_req *r,
    kwset_t kw, const unsigned char *sel, struct store_count *n)
{
	struct store *st = im->sel;
	char err[256] = "";

	for (unsigned i = 0, count = store_count(st); i < count; i++) {
		enum store_result res;

		if (!sel[i])
			continue;
		if (store_gone(st, i)) {
			n->gone++;
			continue;
		}
		res = store_set_flags(st, i, r->op, r->fa.flags, kw, 0, err,
		    sizeof(err));
		if (res == STORE_ENOENT) {	/* removed, not synced yet */
			n->gone++;
			continue;
		}
		if (res != STORE_OK) {
			(void)store_flush(st, NULL, 0);
			return cmd_store_error(c, res, err);
		}
		n->done++;
		/* the new flags "as if a FETCH of those flags was done"
		 * (6.4.6), with the UID for UID STORE (6.4.8) */
		if (!r->silent)
			imap_write_fetch_flags(im, i, c->uid);
	}
	return CMD_OK;
}

static enum cmd_result
store_run(struct imap *im, struct imap_cmd *c, const struct store_req *r,
    const unsigned char *sel)
{
	struct store_count n = { 0, 0 };
	enum store_result res;
	enum cmd_result cr;
	char err[256] = "";
	kwset_t kw;

	if (im->sel_rdonly)
		return cmd_no(c, "[READ-ONLY] Mailbox is read-only.");
	if (map_keywords(im, c, r, &kw) < 0)
		return CMD_NO;
	if ((cr = apply(im, c, r, kw, sel, &n)) != CMD_OK)
		return cr;
	if ((res = store_flush(im->sel, err, sizeof(err))) != STORE_OK)
		return cmd_store_error(c, res, err);
	if (n.gone > 0 && n.done == 0 && !r->silent)
		return cmd_no(c, "[EXPUNGEISSUED] Some of the requested "
		    "messages no longer exist.");
	if (n.gone > 0 && !r->silent)
		return cmd_ok(c, "[EXPUNGEISSUED] Store completed, some "
		    "messages no longer exist.");
	return cmd_ok(c, "Store completed.");
}

enum cmd_result
cmd_store(struct imap *im, struct imap_cmd *c)
{
	const struct imap_arg *a = c->args;
	struct store_req r;
	unsigned char *sel = NULL;
	unsigned nsel = 0;
	enum cmd_result cr;
	int ret;

	memset(&r, 0, sizeof(r));
	if (a == NULL || a->type != IMAP_ARG_ATOM)
		return cmd_bad(c, "Invalid arguments");
	if (parse_item(c, &a[1], &r) < 0)
		return CMD_BAD;
	if ((ret = parse_flags(c, &a[2], &r)) < 0)
		return ret == -2 ? CMD_NO : CMD_BAD;
	/* Report what others changed first: an mbox flush takes their
	 * changes into the view without listing them for the next sync,
	 * so the client would never hear of them.  Sequence numbers stay
	 * (expunged messages are kept) unless the set is of UIDs. */
	imap_sync(im, !c->uid);
	if (im->sel == NULL)
		return cmd_no(c, "[UNAVAILABLE] Mailbox was closed.");
	if (imap_msgset(im, c, a, c->uid, &sel, &nsel) < 0)
		return CMD_BAD;
	cr = store_run(im, c, &r, sel);
	free(sel);
	return cr;
}
