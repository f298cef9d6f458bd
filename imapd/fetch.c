/*
 * fetch.c - FETCH and UID FETCH (RFC 3501 6.4.5, 6.4.8, 7.4.2): parsing
 * the fetch attributes to the letter of the grammar (section 9), and
 * answering each selected message with one "* n FETCH (...)" response.
 *
 * The attributes are untrusted client input: every form outside the
 * grammar is BAD.  Messages may have been removed by another session
 * (store_gone, RFC 2180 4.1.2): what is still known (FLAGS, UID) is
 * sent and the command ends NO [EXPUNGEISSUED], as Dovecot does; a
 * message that cannot be read ends it NO [UNAVAILABLE] or [SERVERBUG]
 * after every other message was sent.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fetch.h"
#include "log.h"
#include "util.h"

/* ---- parsing ---- */

/* number (RFC 3501 9: unsigned 32-bit) from s[*pos..len); nz forbids 0
 * and leading zeros (nz-number). */
static int
parse_number(const char *s, size_t len, size_t *pos, int nz, uint32_t *out)
{
	uint64_t v = 0;
	size_t start = *pos;

	while (*pos < len && isdigit((unsigned char)s[*pos])) {
		v = v * 10 + (uint64_t)(s[*pos] - '0');
		if (v > UINT32_MAX)
			return -1;
		(*pos)++;
	}
	if (*pos == start || (nz && (v == 0 || s[start] == '0')))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int
word_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

/* section-msgtext / "MIME" after the part numbers (or alone). */
static int
parse_section_text(const char *s, size_t len, int has_nums,
    enum fetch_spec *spec)
{
	static const struct { const char *name; enum fetch_spec spec; } t[] = {
		{ "HEADER", FS_HEADER }, { "HEADER.FIELDS", FS_FIELDS },
		{ "HEADER.FIELDS.NOT", FS_FIELDS_NOT }, { "TEXT", FS_TEXT },
		{ "MIME", FS_MIME },
	};

	for (size_t k = 0; k < ARRAY_LEN(t); k++)
		if (word_is(s, len, t[k].name)) {
			/* section-text's "MIME" needs a section-part */
			if (t[k].spec == FS_MIME && !has_nums)
				return -1;
			*spec = t[k].spec;
			return 0;
		}
	return -1;
}

int
fetch_parse_section(const char *s, size_t len, struct fetch_section *sec)
{
	size_t pos = 0;

	sec->spec = FS_ALL;
	sec->nnums = 0;
	sec->nums = NULL;
	while (pos < len && isdigit((unsigned char)s[pos])) {
		uint32_t n;

		if (parse_number(s, len, &pos, 1, &n) < 0)
			return -1;
		sec->nums = xreallocarray(sec->nums, sec->nnums + 1,
		    sizeof(*sec->nums));
		sec->nums[sec->nnums++] = n;
		if (pos == len)
			return 0;
		if (s[pos++] != '.' || pos == len)
			return -1;
	}
	if (pos == len)
		return 0;	/* "BODY[]" */
	return parse_section_text(s + pos, len - pos, sec->nnums > 0,
	    &sec->spec);
}

/* ["<" number "." nz-number ">"] after the section's "]". */
static int
parse_partial(const char *s, size_t len, struct fetch_section *sec)
{
	size_t pos = 1;

	if (len == 0)
		return 0;
	if (s[0] != '<' || s[len - 1] != '>')
		return -1;
	len--;
	if (parse_number(s, len, &pos, 0, &sec->origin) < 0 ||
	    pos >= len || s[pos++] != '.' ||
	    parse_number(s, len, &pos, 1, &sec->count) < 0 || pos != len)
		return -1;
	sec->partial = 1;
	return 0;
}

/* header-fld-name = astring: an atom without list-wildcards or "\\"
 * (parse.h's atoms may hold them), a quoted string or a literal. */
static int
is_astring(const struct imap_arg *a)
{
	if (a->type == IMAP_ARG_QUOTED || a->type == IMAP_ARG_LITERAL)
		return 1;
	return a->type == IMAP_ARG_ATOM && !(a->flags & IMAP_ARG_JOINED) &&
	    strpbrk(a->str, "%*\\") == NULL;
}

/* header-list: "(" header-fld-name *(SP header-fld-name) ")" */
static int
check_header_list(const struct imap_arg *l)
{
	if (l->type != IMAP_ARG_LIST || l->len == 0)
		return -1;
	for (size_t k = 0; k < l->len; k++)
		if (!is_astring(&l->list[k]) ||
		    (l->list[k].flags & IMAP_ARG_STREAMED))
			return -1;
	return 0;
}

/* "BODY[" or "BODY.PEEK[" and what follows, possibly spread over three
 * arguments (parse.h: atom, header-list, joined atom).  *used gets the
 * number of arguments taken. */
static int
parse_body_section(const struct imap_arg *a, const char *rest, size_t len,
    struct fetch_section *sec, size_t *used)
{
	const char *close = memchr(rest, ']', len);
	const char *tail;
	size_t taillen;

	*used = 1;
	if (close != NULL) {
		if (fetch_parse_section(rest, (size_t)(close - rest), sec) < 0 ||
		    sec->spec == FS_FIELDS || sec->spec == FS_FIELDS_NOT)
			return -1;
		tail = close + 1;
		taillen = len - (size_t)(tail - rest);
		return parse_partial(tail, taillen, sec);
	}
	if (fetch_parse_section(rest, len, sec) < 0 ||
	    (sec->spec != FS_FIELDS && sec->spec != FS_FIELDS_NOT))
		return -1;
	if (check_header_list(&a[1]) < 0 || a[2].type != IMAP_ARG_ATOM ||
	    !(a[2].flags & IMAP_ARG_JOINED) || a[2].str[0] != ']')
		return -1;
	sec->fields = a[1].list;
	sec->nfields = a[1].len;
	*used = 3;
	return parse_partial(a[2].str + 1, a[2].len - 1, sec);
}

static const struct {
	const char *name;
	enum fetch_att att;
	const char *rfc822;	/* RFC822 forms: the section they are */
	enum fetch_spec spec;
	int peek;
} simple_atts[] = {
	{ "FLAGS", FA_FLAGS, NULL, 0, 0 },
	{ "INTERNALDATE", FA_INTERNALDATE, NULL, 0, 0 },
	{ "RFC822.SIZE", FA_RFC822_SIZE, NULL, 0, 0 },
	{ "UID", FA_UID, NULL, 0, 0 },
	{ "ENVELOPE", FA_ENVELOPE, NULL, 0, 0 },
	{ "BODY", FA_BODY, NULL, 0, 0 },
	{ "BODYSTRUCTURE", FA_BODYSTRUCTURE, NULL, 0, 0 },
	/* RFC 3501 6.4.5: BODY[], BODY.PEEK[HEADER], BODY[TEXT] */
	{ "RFC822", FA_SECTION, "RFC822", FS_ALL, 0 },
	{ "RFC822.HEADER", FA_SECTION, "RFC822.HEADER", FS_HEADER, 1 },
	{ "RFC822.TEXT", FA_SECTION, "RFC822.TEXT", FS_TEXT, 0 },
};

/* One fetch-att starting at a[0]; *used: arguments taken. */
static int
parse_att(const struct imap_arg *a, struct fetch_item *it, size_t *used)
{
	const char *s = a->str;
	size_t len = a->len;

	memset(it, 0, sizeof(*it));
	*used = 1;
	if (a->type != IMAP_ARG_ATOM || (a->flags & IMAP_ARG_JOINED))
		return -1;
	for (size_t k = 0; k < ARRAY_LEN(simple_atts); k++)
		if (word_is(s, len, simple_atts[k].name)) {
			it->att = simple_atts[k].att;
			it->sec.rfc822 = simple_atts[k].rfc822;
			it->sec.spec = simple_atts[k].spec;
			it->sec.peek = simple_atts[k].peek;
			return 0;
		}
	it->att = FA_SECTION;
	if (len >= 5 && strncasecmp(s, "BODY[", 5) == 0)
		return parse_body_section(a, s + 5, len - 5, &it->sec, used);
	if (len >= 10 && strncasecmp(s, "BODY.PEEK[", 10) == 0) {
		it->sec.peek = 1;
		return parse_body_section(a, s + 10, len - 10, &it->sec, used);
	}
	return -1;
}

static void
add_item(struct fetch_req *req, const struct fetch_item *it)
{
	/* an attribute asked for twice is answered once */
	if (it->att != FA_SECTION && req->has[it->att])
		return;
	req->items = xreallocarray(req->items, req->n + 1, sizeof(*it));
	req->items[req->n++] = *it;
	req->has[it->att] = 1;
	if (it->att == FA_SECTION) {
		if (!it->sec.peek)
			req->sets_seen = 1;
		if (it->sec.nnums > 0 || it->sec.spec != FS_ALL)
			req->needs_tree = 1;
	}
	if (it->att == FA_ENVELOPE || it->att == FA_BODY ||
	    it->att == FA_BODYSTRUCTURE)
		req->needs_tree = 1;
}

/* "ALL" / "FULL" / "FAST" (RFC 3501 6.4.5): never inside a list. */
static int
parse_macro(const struct imap_arg *a, struct fetch_req *req)
{
	static const enum fetch_att fast[] = {
		FA_FLAGS, FA_INTERNALDATE, FA_RFC822_SIZE, FA_ENVELOPE, FA_BODY,
	};
	size_t n;

	if (a->type != IMAP_ARG_ATOM)
		return -1;
	if (word_is(a->str, a->len, "FAST"))
		n = 3;
	else if (word_is(a->str, a->len, "ALL"))
		n = 4;
	else if (word_is(a->str, a->len, "FULL"))
		n = 5;
	else
		return -1;
	for (size_t k = 0; k < n; k++) {
		struct fetch_item it = { .att = fast[k] };

		add_item(req, &it);
	}
	return 0;
}

/* fetch-att *(SP fetch-att) up to EOL; 0 or -1. */
static int
parse_atts(const struct imap_arg *a, struct fetch_req *req, int one)
{
	size_t used, count = 0;

	while (a->type != IMAP_ARG_EOL) {
		struct fetch_item it;

		if (parse_att(a, &it, &used) < 0) {
			free(it.sec.nums);
			return -1;
		}
		add_item(req, &it);
		a += used;
		count++;
	}
	return count == 0 || (one && count != 1) ? -1 : 0;
}

int
fetch_parse(const struct imap_arg *args, struct fetch_req *req, char *err,
    size_t errlen)
{
	int r;

	memset(req, 0, sizeof(*req));
	if (args == NULL || args->type == IMAP_ARG_EOL) {
		snprintf(err, errlen, "Missing fetch attributes");
		return -1;
	}
	if (args->type == IMAP_ARG_LIST)
		r = args[1].type == IMAP_ARG_EOL ?
		    parse_atts(args->list, req, 0) : -1;
	else if (args[1].type == IMAP_ARG_EOL && parse_macro(args, req) == 0)
		r = 0;
	else
		r = parse_atts(args, req, 1);
	if (r < 0) {
		fetch_req_free(req);
		snprintf(err, errlen, "Invalid fetch attributes");
	}
	return r;
}

void
fetch_req_free(struct fetch_req *req)
{
	for (size_t k = 0; k < req->n; k++)
		free(req->items[k].sec.nums);
	free(req->items);
	memset(req, 0, sizeof(*req));
}

/* ---- answering ---- */

/* What went wrong over the whole command. */
struct fetch_state {
	int gone;			/* asked for what a removed message
					 * no longer has */
	enum store_result error;	/* STORE_OK, or the first failure */
	int seen_set;			/* \Seen was added: flush */
};

/* What one message needs before its response line is started: anything
 * that can fail is read first, so a failure leaves no half response. */
struct fetch_msgdata {
	struct mime_tree *t;
	int64_t wire_size;
	time_t internal;
};

static void
note_error(struct fetch_state *fs, enum store_result r)
{
	if (r == STORE_ENOENT)
		fs->gone = 1;
	else if (fs->error == STORE_OK)
		fs->error = r;
}

static enum store_result
load(struct imap *im, const struct fetch_req *req, unsigned i,
    struct fetch_msgdata *d)
{
	enum store_result r;

	memset(d, 0, sizeof(*d));
	if (store_gone(im->sel, i))
		return STORE_ENOENT;
	if (req->needs_tree &&
	    (r = store_msg_mime(im->sel, i, &d->t)) != STORE_OK)
		return r;
	if (req->has[FA_RFC822_SIZE] || req->has[FA_SECTION]) {
		d->wire_size = store_wire_size(im->sel, i);
		if (d->wire_size < 0)
			return store_gone(im->sel, i) ? STORE_ENOENT : STORE_ETEMP;
	}
	if (req->has[FA_INTERNALDATE])
		d->internal = store_internal_date(im->sel, i);
	return STORE_OK;
}

/* Implicit \Seen (RFC 3501 6.4.5) on a read-write view; 1 if it was
 * added now. */
static int
set_seen(struct imap *im, const struct fetch_req *req, unsigned i)
{
	char err[256] = "";

	if (!req->sets_seen || im->sel_rdonly || store_readonly(im->sel) ||
	    (store_flags(im->sel, i) & MF_SEEN))
		return 0;
	if (store_set_flags(im->sel, i, STORE_FLAGS_ADD, MF_SEEN, 0, 0, err,
	    sizeof(err)) != STORE_OK)
		return 0;
	return (store_flags(im->sel, i) & MF_SEEN) != 0;
}

static void
write_flags(struct imap *im, unsigned i)
{
	io_puts(im->io, "FLAGS ");
	imap_write_flags(im->io, store_flags(im->sel, i),
	    store_msg_keywords(im->sel, i), store_keywords_table(im->sel),
	    store_recent(im->sel, i));
}

static void
write_item(struct imap *im, unsigned i, const struct fetch_item *it,
    const struct fetch_msgdata *d, struct fetch_state *fs)
{
	struct fetch_msg m = { im->sel, i, NULL, 0 };
	char date[64];

	switch (it->att) {
	case FA_FLAGS:
		write_flags(im, i);
		break;
	case FA_INTERNALDATE:
		imap_format_datetime(d->internal < 0 ? 0 : d->internal, date,
		    sizeof(date));
		io_printf(im->io, "INTERNALDATE \"%s\"", date);
		break;
	case FA_RFC822_SIZE:
		io_printf(im->io, "RFC822.SIZE %lld", (long long)d->wire_size);
		break;
	case FA_UID:
		io_printf(im->io, "UID %u", store_uid(im->sel, i));
		break;
	case FA_ENVELOPE:
		io_puts(im->io, "ENVELOPE ");
		if (d->t->parts[0].env != NULL)
			fetch_write_envelope(im->io, d->t->parts[0].env);
		else
			io_puts(im->io, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
		break;
	case FA_BODY:
	case FA_BODYSTRUCTURE:
		io_puts(im->io, it->att == FA_BODY ? "BODY " : "BODYSTRUCTURE ");
		fetch_write_body(im->io, d->t, 0, it->att == FA_BODYSTRUCTURE);
		break;
	case FA_SECTION:
		fetch_write_section_key(im->io, &it->sec);
		io_puts(im->io, " ");
		switch (fetch_write_section(im->io, &m, d->t,
		    (uint64_t)d->wire_size, &it->sec)) {
		case FB_OK:
			break;
		case FB_GONE:
			note_error(fs, STORE_ENOENT);
			break;
		case FB_ERROR:
			note_error(fs, STORE_ETEMP);
			break;
		}
		break;
	}
}

/* A message that is gone or unreadable: FLAGS and UID are still known
 * (RFC 2180 4.1.2); the rest is reported by the tagged NO. */
static void
fetch_known(struct imap *im, struct imap_cmd *c, const struct fetch_req *req,
    unsigned i, enum store_result r, struct fetch_state *fs)
{
	const char *sp = "";
	int wanted = 0;

	for (size_t k = 0; k < req->n; k++)
		if (req->items[k].att != FA_FLAGS && req->items[k].att != FA_UID)
			wanted = 1;
	if (wanted)
		note_error(fs, r);
	if (!c->uid && !req->has[FA_UID] && !req->has[FA_FLAGS])
		return;
	io_printf(im->io, "* %u FETCH (", i + 1);
	if (c->uid || req->has[FA_UID]) {
		io_printf(im->io, "UID %u", store_uid(im->sel, i));
		sp = " ";
	}
	if (req->has[FA_FLAGS]) {
		io_puts(im->io, sp);
		write_flags(im, i);
	}
	io_puts(im->io, ")\r\n");
}

static void
fetch_one(struct imap *im, struct imap_cmd *c, const struct fetch_req *req,
    unsigned i, struct fetch_state *fs)
{
	struct fetch_msgdata d;
	enum store_result r;
	const char *sp = "";
	int seen;

	if ((r = load(im, req, i, &d)) != STORE_OK) {
		mime_tree_free(d.t);
		fetch_known(im, c, req, i, r, fs);
		return;
	}
	/* before anything is written, so a FLAGS item shows \Seen */
	seen = set_seen(im, req, i);
	fs->seen_set |= seen;
	io_printf(im->io, "* %u FETCH (", i + 1);
	/* UID FETCH always answers with the UID (RFC 3501 6.4.8), first */
	if (c->uid) {
		io_printf(im->io, "UID %u", store_uid(im->sel, i));
		sp = " ";
	}
	for (size_t k = 0; k < req->n; k++) {
		if (c->uid && req->items[k].att == FA_UID)
			continue;
		io_puts(im->io, sp);
		write_item(im, i, &req->items[k], &d, fs);
		sp = " ";
	}
	/* the flags changed: the client learns it here (6.4.5) */
	if (seen && !req->has[FA_FLAGS]) {
		io_puts(im->io, sp);
		write_flags(im, i);
	}
	io_puts(im->io, ")\r\n");
	mime_tree_free(d.t);
}

static enum cmd_result
fetch_result(struct imap *im, struct imap_cmd *c, struct fetch_state *fs)
{
	char err[256] = "";

	if (fs->seen_set &&
	    store_flush(im->sel, err, sizeof(err)) != STORE_OK)
		log_msg(LOG_ERR, "FETCH: flags not written: %s", err);
	if (fs->error != STORE_OK)
		return cmd_store_error(c, fs->error, NULL);
	if (fs->gone)
		return cmd_no(c, "[EXPUNGEISSUED] Some messages were expunged");
	return cmd_ok(c, "Fetch completed.");
}

enum cmd_result
cmd_fetch(struct imap *im, struct imap_cmd *c)
{
	struct fetch_state fs = { 0, STORE_OK, 0 };
	struct fetch_req req;
	unsigned char *sel = NULL;
	unsigned nsel, count;
	char err[128];

	if (c->args == NULL || c->args[0].type != IMAP_ARG_ATOM)
		return cmd_bad(c, "Invalid arguments");
	if (fetch_parse(c->args + 1, &req, err, sizeof(err)) < 0)
		return cmd_bad(c, "%s", err);
	if (imap_msgset(im, c, &c->args[0], c->uid, &sel, &nsel) < 0) {
		fetch_req_free(&req);
		return CMD_BAD;
	}
	count = store_count(im->sel);
	for (unsigned i = 0; i < count && nsel > 0; i++)
		if (sel[i]) {
			fetch_one(im, c, &req, i, &fs);
			nsel--;
		}
	free(sel);
	fetch_req_free(&req);
	return fetch_result(im, c, &fs);
}
