/*
 * resp.c - writing IMAP data (RFC 3501 4, 9): strings in the form the
 * grammar allows for their bytes, flag lists, mailbox names, and the
 * tagged result text of a command.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "imap.h"
#include "log.h"

static enum cmd_result
vreply(struct imap_cmd *c, enum cmd_result r, const char *fmt, va_list ap)
{
	vsnprintf(c->resp, sizeof(c->resp), fmt, ap);
	/* a response line must not be broken by what a client sent */
	for (char *p = c->resp; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	return r;
}

enum cmd_result
cmd_ok(struct imap_cmd *c, const char *fmt, ...)
{
	va_list ap;
	enum cmd_result r;

	va_start(ap, fmt);
	r = vreply(c, CMD_OK, fmt, ap);
	va_end(ap);
	return r;
}

enum cmd_result
cmd_no(struct imap_cmd *c, const char *fmt, ...)
{
	va_list ap;
	enum cmd_result r;

	va_start(ap, fmt);
	r = vreply(c, CMD_NO, fmt, ap);
	va_end(ap);
	return r;
}

enum cmd_result
cmd_bad(struct imap_cmd *c, const char *fmt, ...)
{
	va_list ap;
	enum cmd_result r;

	va_start(ap, fmt);
	r = vreply(c, CMD_BAD, fmt, ap);
	va_end(ap);
	return r;
}

enum cmd_result
cmd_store_error(struct imap_cmd *c, enum store_result r, const char *err)
{
	const char *code, *text;
	int logit = 0;

	switch (r) {
	case STORE_ENOENT:
		code = "NONEXISTENT"; text = "Mailbox doesn't exist.";
		break;
	case STORE_EEXIST:
		code = "ALREADYEXISTS"; text = "Mailbox already exists.";
		break;
	case STORE_EBADNAME:
		code = "CANNOT"; text = "Invalid mailbox name.";
		break;
	case STORE_EINUSE:
		code = "INUSE"; text = "Mailbox is in use.";
		break;
	case STORE_EFULL:
		code = (errno == EDQUOT || errno == ENOSPC) ? "OVERQUOTA" : "LIMIT";
		text = "Not enough room.";
		break;
	case STORE_ERDONLY:
		code = "READ-ONLY"; text = "Mailbox is read-only.";
		break;
	case STORE_EPERM:
		code = "NOPERM"; text = "Permission denied.";
		break;
	case STORE_EMODIFIED:
		code = "MODIFIED"; text = "Changed meanwhile.";
		break;
	case STORE_ETEMP:
		code = "UNAVAILABLE"; text = "Temporary failure, try again.";
		logit = 1;
		break;
	default:
		code = "SERVERBUG"; text = "Internal error.";
		logit = 1;
		break;
	}
	if (logit && err != NULL && *err)
		log_msg(LOG_ERR, "%s: %s", c->name, err);
	if (err != NULL && *err && !logit)
		return cmd_no(c, "[%s] %s", code, err);
	return cmd_no(c, "[%s] %s", code, text);
}

/* ATOM-CHAR (RFC 3501 9): CHAR except atom-specials. */
static int
atom_char(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && !strchr("(){%*\"\\]", ch);
}

/* May s be sent as a quoted string?  TEXT-CHAR only, no 8-bit. */
static int
quotable(const char *s, size_t len)
{
	if (len > 1024)
		return 0;	/* long values read better as literals */
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == 0 || ch == '\r' || ch == '\n' || ch >= 0x80)
			return 0;
	}
	return 1;
}

void
imap_write_string(struct io *io, const char *s, size_t len)
{
	if (!quotable(s, len)) {
		io_printf(io, "{%zu}\r\n", len);
		io_write(io, s, len);
		return;
	}
	io_puts(io, "\"");
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			io_write(io, "\\", 1);
		io_write(io, s + i, 1);
	}
	io_puts(io, "\"");
}

void
imap_write_nstring(struct io *io, const char *s, size_t len)
{
	if (s == NULL)
		io_puts(io, "NIL");
	else
		imap_write_string(io, s, len);
}

void
imap_write_astring(struct io *io, const char *s, size_t len)
{
	int atom = len > 0 && !(len == 3 && strncasecmp(s, "NIL", 3) == 0);

	for (size_t i = 0; atom && i < len; i++)
		if (!atom_char((unsigned char)s[i]) && s[i] != ']')
			atom = 0;
	if (atom)
		io_write(io, s, len);
	else
		imap_write_string(io, s, len);
}

void
imap_write_mailbox(struct io *io, const char *name)
{
	if (strcasecmp(name, "INBOX") == 0)
		io_puts(io, "INBOX");
	else
		imap_write_string(io, name, strlen(name));
}

void
imap_write_flags(struct io *io, unsigned flags, kwset_t kw,
    const struct kwtable *t, int recent)
{
	static const struct { unsigned bit; const char *name; } sys[] = {
		{ MF_ANSWERED, "\\Answered" }, { MF_FLAGGED, "\\Flagged" },
		{ MF_DELETED, "\\Deleted" }, { MF_SEEN, "\\Seen" },
		{ MF_DRAFT, "\\Draft" },
	};
	const char *sp = "";

	io_puts(io, "(");
	for (size_t i = 0; i < ARRAY_LEN(sys); i++)
		if (flags & sys[i].bit) {
			io_printf(io, "%s%s", sp, sys[i].name);
			sp = " ";
		}
	if (recent) {
		io_printf(io, "%s\\Recent", sp);
		sp = " ";
	}
	for (unsigned k = 0; t != NULL && k < t->n && k < KW_MAX; k++)
		if ((kw & ((kwset_t)1 << k)) && t->name[k] != NULL) {
			io_printf(io, "%s%s", sp, t->name[k]);
			sp = " ";
		}
	io_puts(io, ")");
}

void
imap_write_fetch_flags(struct imap *im, unsigned i, int with_uid)
{
	struct store *st = im->sel;

	io_printf(im->io, "* %u FETCH (", i + 1);
	if (with_uid)
		io_printf(im->io, "UID %u ", store_uid(st, i));
	io_puts(im->io, "FLAGS ");
	imap_write_flags(im->io, store_flags(st, i), store_msg_keywords(st, i),
	    store_keywords_table(st), store_recent(st, i));
	io_puts(im->io, ")\r\n");
}
