/*
 * mbox_parse.c - reading an mbox file: where messages start and end,
 * which header fields are ours, what the client sees.
 *
 * Framing (the strict "mboxo/mboxrd" rule, as mutt and Dovecot read it):
 * a message starts at a line beginning "From " that is the file's first
 * line or follows an empty line; that empty line is the separator, not
 * message content.  A "From " line after a non-empty line is body text:
 * MTAs quote body "From " lines, so accepting it would split messages
 * on unquoted text and gain nothing.  The content runs from the line
 * after From_ to the separator, or to end of file (dropping one final
 * empty line, the last message's separator).  Bytes before the first
 * From_ line belong to no message.
 *
 * The filter (one per message) hides our internal header fields --
 * Status, X-Status, X-UID, X-IMAPbase, X-IMAP, X-Keywords,
 * Content-Length, with their continuation lines, in the header section
 * only -- and removes one '>' from lines matching ^>+From  (mboxrd).
 * The scanner runs the filter in counting mode, so wire sizes and the
 * streamed bytes come from one piece of code.
 *
 * Every byte is untrusted: the state is a few counters and fixed
 * buffers (a header name of at most MBOX_NAME_MAX bytes, the first
 * MBOX_VAL_MAX bytes of our own fields' values, with their offsets so a
 * longer value can be read back from the file); lines of any length pass
 * through without being stored; time is linear in the input.
 */
#include <string.h>
#include <strings.h>

#include "store_int.h"

enum { F_BOL, F_NAME, F_CR, F_GT, F_GTFROM, F_VIS, F_HID };

static void capture(struct mbox_filter *f, const unsigned char *p, size_t n);

static const struct {
	const char *name;
	int kind;
} hidden[] = {
	{ "Status", MBOX_F_STATUS }, { "X-Status", MBOX_F_XSTATUS },
	{ "X-UID", MBOX_F_XUID }, { "X-IMAPbase", MBOX_F_IMAPBASE },
	{ "X-IMAP", MBOX_F_IMAP }, { "X-Keywords", MBOX_F_XKEYWORDS },
	{ "Content-Length", MBOX_F_OTHER },
};

void
mbox_filter_init(struct mbox_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->in_hdr = 1;
}

static void
emit(struct mbox_filter *f, const unsigned char *p, size_t n)
{
	if (f->count != NULL) {
		crlf_count(f->count, p, n);
	} else if (f->out != NULL) {
		memcpy(f->out + f->olen, p, n);
		f->olen += n;
	}
}

static void
emit1(struct mbox_filter *f, unsigned char c)
{
	emit(f, &c, 1);
}

static void
release_hold(struct mbox_filter *f)
{
	emit(f, f->hold, f->nhold);
	f->nhold = 0;
}

static int
kind_of(const unsigned char *name, size_t n)
{
	for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
		if (strlen(hidden[i].name) == n &&
		    strncasecmp(hidden[i].name, (const char *)name, n) == 0)
			return hidden[i].kind;
	return MBOX_F_NONE;
}

/* A hidden field ends where the next line that is not a continuation
 * starts (or at the end of the header or the message). */
static void
field_done(struct mbox_filter *f, uint64_t end)
{
	if (!f->capturing)
		return;
	f->capturing = 0;
	f->cap.end = end;
	if (f->field != NULL)
		f->field(f->arg, &f->cap);
}

/* RFC 5322 2.2 ftext: printable US-ASCII except ':'. */
static int
ftext(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/* Rest of the line is visible; c is its next byte. */
static void
to_visible(struct mbox_filter *f, unsigned char c)
{
	emit1(f, c);
	f->st = c == '\n' ? F_BOL : F_VIS;
}

static void
at_bol(struct mbox_filter *f, unsigned char c)
{
	if (f->in_hdr && (c == ' ' || c == '\t')) {	/* continuation */
		if (f->hidden) {
			capture(f, &c, 1);
			f->st = F_HID;
			return;
		}
		to_visible(f, c);
		return;
	}
	if (f->in_hdr) {
		field_done(f, f->line_off);
		f->hidden = 0;
	}
	if (c == '>') {
		f->st = F_GT;	/* the first '>' is held, not stored */
	} else if (f->in_hdr && c == '\n') {
		f->in_hdr = 0;	/* the empty line ends the header */
		to_visible(f, c);
	} else if (f->in_hdr && (c == '\r' || ftext(c))) {
		f->hold[f->nhold++] = c;
		f->st = c == '\r' ? F_CR : F_NAME;
	} else {
		to_visible(f, c);
	}
}

static void
in_name(struct mbox_filter *f, unsigned char c)
{
	int kind;

	if (c == ':' && (kind = kind_of(f->hold, f->nhold)) != MBOX_F_NONE) {
		memset(&f->cap, 0, sizeof(f->cap));
		f->cap.kind = kind;
		f->cap.off = f->line_off;
		f->cap.val_off = f->off + 1;
		f->capturing = 1;
		f->hidden = 1;
		f->nhold = 0;
		f->st = F_HID;
	} else if (ftext(c) && f->nhold < MBOX_NAME_MAX) {
		f->hold[f->nhold++] = c;
	} else {
		release_hold(f);
		to_visible(f, c);
	}
}

/* mboxrd: ^>+From  loses one '>'.  Only the first '>' is held; the
 * others are all '>' too, so emitting them first changes nothing. */
static void
in_gt(struct mbox_filter *f, unsigned char c)
{
	static const char from[] = "From ";

	if (f->st == F_GT && c == '>') {
		emit1(f, c);
		return;
	}
	if (c == (unsigned char)from[f->nhold]) {
		f->hold[f->nhold++] = c;
		f->st = F_GTFROM;
		if (f->nhold == 5) {
			release_hold(f);	/* "From ", without the '>' */
			f->st = F_VIS;
		}
		return;
	}
	emit1(f, '>');
	release_hold(f);
	to_visible(f, c);
}

static void
step(struct mbox_filter *f, unsigned char c)
{
	switch (f->st) {
	case F_BOL:
		at_bol(f, c);
		break;
	case F_NAME:
		in_name(f, c);
		break;
	case F_CR:
		if (c == '\n')
			f->in_hdr = 0;	/* "\r\n": an empty line */
		release_hold(f);
		to_visible(f, c);
		break;
	default:
		in_gt(f, c);
		break;
	}
}

/* Hidden bytes after the ':' (continuation lines and line ends
 * included): keep the first MBOX_VAL_MAX of them; trunc says there were
 * more, which the reader then fetches from the file by offset. */
static void
capture(struct mbox_filter *f, const unsigned char *p, size_t n)
{
	size_t room = MBOX_VAL_MAX - f->cap.vlen;

	if (!f->capturing)
		return;
	if (n > room) {
		f->cap.trunc = 1;
		n = room;
	}
	memcpy(f->cap.val + f->cap.vlen, p, n);
	f->cap.vlen += n;
}

void
mbox_filter_run(struct mbox_filter *f, const unsigned char *p, size_t n)
{
	while (n > 0) {
		const unsigned char *nl;
		size_t k;

		if (f->st != F_VIS && f->st != F_HID) {
			step(f, *p);
			p++, n--, f->off++;
			if (f->st == F_BOL)
				f->line_off = f->off;
			continue;
		}
		/* The rest of a line in one piece. */
		nl = memchr(p, '\n', n);
		k = nl ? (size_t)(nl - p) + 1 : n;
		if (f->st == F_VIS)
			emit(f, p, k);
		else
			capture(f, p, k);
		p += k, n -= k, f->off += k;
		if (nl != NULL) {
			f->st = F_BOL;
			f->line_off = f->off;
		}
	}
}

void
mbox_filter_finish(struct mbox_filter *f)
{
	if (f->st == F_GT || f->st == F_GTFROM)
		emit1(f, '>');
	release_hold(f);
	f->st = F_BOL;
	field_done(f, f->off);
}

/* ---- the scanner ---- */

enum { S_JUNK_BOL, S_JUNK, S_FROM, S_BOL, S_LINE };

/* A field's value as the reader gets it: file offsets, and the bytes
 * when they all fit. */
static void
set_val(struct mbox_val *v, uint64_t hdr, const struct mbox_field *fl)
{
	v->present = 1;
	v->off = hdr + fl->off;
	v->end = hdr + fl->end;
	v->val_off = hdr + fl->val_off;
	v->n = fl->vlen;
	v->trunc = fl->trunc;
	memcpy(v->v, fl->val, fl->vlen);
}

/* Value of an X-UID: digits, optional blanks around them. */
static uint32_t
parse_xuid(const char *v, size_t n, int trunc)
{
	uint64_t x = 0;
	size_t i = 0, d;

	if (trunc)
		return 0;	/* not a short number: unusable */
	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	for (d = i; i < n && v[i] >= '0' && v[i] <= '9' && x <= UINT32_MAX;
	    i++)
		x = x * 10 + (uint64_t)(v[i] - '0');
	while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' ||
	    v[i] == '\n'))
		i++;
	return i == n && i > d && x < UINT32_MAX ? (uint32_t)x : 0;
}

/* Digits at v[*i] (at most 10, value < 2^32); their offset and length. */
static int
base_number(const char *v, size_t n, size_t *i, uint32_t *out, size_t *at,
    size_t *len)
{
	uint64_t x = 0;

	while (*i < n && (v[*i] == ' ' || v[*i] == '\t'))
		(*i)++;
	*at = *i;
	while (*i < n && v[*i] >= '0' && v[*i] <= '9' && *i - *at < 10)
		x = x * 10 + (uint64_t)(v[(*i)++] - '0');
	*len = *i - *at;
	if (*len == 0 || x > UINT32_MAX || (*i < n && v[*i] >= '0' &&
	    v[*i] <= '9'))
		return -1;
	*out = (uint32_t)x;
	return 0;
}

/* "X-IMAPbase: <uidvalidity> <uidlast> [keywords]" (X-IMAP alike). */
static void
parse_base(struct mbox_scan *s, const struct mbox_field *fl)
{
	struct mbox_base *b = &s->base;
	size_t i = 0, at, len;
	uint64_t val = s->cur.hdr + fl->val_off;

	b->kind = fl->kind;
	b->field_off = s->cur.hdr + fl->off;
	b->field_len = fl->end - fl->off;
	set_val(&b->val, s->cur.hdr, fl);
	if (base_number(fl->val, fl->vlen, &i, &b->uidvalidity, &at, &len) < 0)
		return;
	b->v_off = val + at, b->v_len = (uint32_t)len;
	if (i == fl->vlen || (fl->val[i] != ' ' && fl->val[i] != '\t') ||
	    base_number(fl->val, fl->vlen, &i, &b->uidlast, &at, &len) < 0)
		return;
	b->l_off = val + at, b->l_len = (uint32_t)len;
	if (i == fl->vlen && fl->trunc)
		return;		/* the number may go on past what we kept */
	if (i < fl->vlen && fl->val[i] != ' ' && fl->val[i] != '\t' &&
	    fl->val[i] != '\r' && fl->val[i] != '\n')
		return;
	b->valid = b->uidvalidity != 0 && b->uidlast < UINT32_MAX;
}

static void
on_field(void *arg, const struct mbox_field *fl)
{
	struct mbox_scan *s = arg;
	struct mbox_val *v = fl->kind == MBOX_F_STATUS ? &s->cur.status :
	    fl->kind == MBOX_F_XSTATUS ? &s->cur.xstatus :
	    fl->kind == MBOX_F_XKEYWORDS ? &s->cur.xkw : NULL;

	if (v != NULL) {
		if (!v->present)	/* the first one counts, as for X-UID */
			set_val(v, s->cur.hdr, fl);
	} else if (fl->kind == MBOX_F_XUID && s->cur.xuid_len == 0 &&
	    fl->end - fl->off <= UINT32_MAX) {
		s->cur.xuid_off = s->cur.hdr + fl->off;
		s->cur.xuid_len = (uint32_t)(fl->end - fl->off);
		s->cur.xuid = parse_xuid(fl->val, fl->vlen, fl->trunc);
	} else if ((fl->kind == MBOX_F_IMAPBASE || fl->kind == MBOX_F_IMAP) &&
	    s->first && s->base.kind == MBOX_F_NONE) {
		parse_base(s, fl);
	}
}

void
mbox_scan_init(struct mbox_scan *s, uint64_t start, int first,
    int (*msg)(void *, const struct mbox_rec *, const struct mbox_base *),
    void *arg)
{
	memset(s, 0, sizeof(*s));
	s->msg = msg;
	s->arg = arg;
	s->off = s->line_off = start;
	s->first = first;
	s->mode = S_JUNK_BOL;
}

static void
content(struct mbox_scan *s, const unsigned char *p, size_t n)
{
	mbox_filter_run(&s->f, p, n);
}

/* The message being read ends at end; report it. */
static void
end_msg(struct mbox_scan *s, uint64_t end)
{
	const struct mbox_base *b = NULL;

	mbox_filter_finish(&s->f);
	s->cur.end = end;
	s->cur.raw = (int64_t)s->crlf.in;
	s->cur.wire = (int64_t)crlf_count_finish(&s->crlf);
	if (s->first) {
		b = &s->base;
		s->cur.pseudo = s->base.kind == MBOX_F_IMAP;
		s->first = 0;
	}
	if (s->err == 0)
		s->err = s->msg(s->arg, &s->cur, b);
}

static void
start_msg(struct mbox_scan *s)
{
	memset(&s->cur, 0, sizeof(s->cur));
	s->cur.from = s->line_off;
	s->mode = S_FROM;
	s->pending = 0;
}

/* After the From_ line: the content begins. */
static void
begin_content(struct mbox_scan *s)
{
	s->cur.hdr = s->off;
	mbox_filter_init(&s->f);
	crlf_init(&s->crlf);
	s->f.count = &s->crlf;
	s->f.field = on_field;
	s->f.arg = s;
	s->mode = S_BOL;
	s->line_off = s->off;
}

static void
flush_pending(struct mbox_scan *s)
{
	static const unsigned char crlf[] = "\r\n";

	if (s->pending)
		content(s, crlf + 2 - s->pend_len, s->pend_len);
	s->pending = 0;
}

/* A line start in a message: decide once enough of it is known. */
static void
decide(struct mbox_scan *s)
{
	const unsigned char *p = s->pfx;
	size_t n = s->npfx;
	int blank = (n == 1 && p[0] == '\n') ||
	    (n == 2 && p[0] == '\r' && p[1] == '\n');

	if (blank) {
		flush_pending(s);	/* the earlier one was content */
		s->pending = 1;
		s->pend_off = s->line_off;
		s->pend_len = (uint8_t)n;
	} else if (s->pending && n == 5 && memcmp(p, "From ", 5) == 0) {
		end_msg(s, s->pend_off);
		start_msg(s);
		s->npfx = 0;
		return;
	} else if ((n == 1 && p[0] == '\r') || (s->pending && n < 5 &&
	    p[n - 1] != '\n' && memcmp(p, "From ", n) == 0)) {
		return;		/* need more bytes */
	} else {
		flush_pending(s);
		content(s, p, n);
		if (p[n - 1] != '\n')
			s->mode = S_LINE;
	}
	s->npfx = 0;
	if (s->mode == S_BOL)
		s->line_off = s->off;
}

/* A line start before the first message. */
static void
decide_junk(struct mbox_scan *s)
{
	const unsigned char *p = s->pfx;
	size_t n = s->npfx;

	if (n == 5 && memcmp(p, "From ", 5) == 0) {
		start_msg(s);
	} else if (p[n - 1] == '\n') {
		s->line_off = s->off;
	} else if (n == 5 || memcmp(p, "From ", n) != 0) {
		s->mode = S_JUNK;
	} else {
		return;
	}
	s->npfx = 0;
}

/* Skip to the end of the line in mode S_JUNK/S_FROM, feeding S_LINE. */
static size_t
rest_of_line(struct mbox_scan *s, const unsigned char *p, size_t n)
{
	const unsigned char *nl = memchr(p, '\n', n);
	size_t k = nl ? (size_t)(nl - p) + 1 : n;

	if (s->mode == S_LINE)
		content(s, p, k);
	s->off += k;
	if (nl == NULL)
		return k;
	if (s->mode == S_FROM) {
		s->cur.from_nl = 1;
		begin_content(s);
	} else {
		s->mode = s->mode == S_JUNK ? S_JUNK_BOL : S_BOL;
		s->line_off = s->off;
	}
	return k;
}

int
mbox_scan_feed(struct mbox_scan *s, const unsigned char *p, size_t n)
{
	while (n > 0 && s->err == 0) {
		size_t k = 1;

		if (s->mode == S_JUNK || s->mode == S_FROM || s->mode == S_LINE) {
			k = rest_of_line(s, p, n);
		} else {
			s->pfx[s->npfx++] = *p;
			s->off++;
			if (s->mode == S_BOL)
				decide(s);
			else
				decide_junk(s);
		}
		p += k, n -= k;
	}
	return s->err;
}

int
mbox_scan_end(struct mbox_scan *s)
{
	switch (s->mode) {
	case S_FROM:
		begin_content(s);	/* From_ line without LF: no content */
		end_msg(s, s->off);
		break;
	case S_BOL:
		if (s->npfx > 0) {	/* an unfinished line is content */
			flush_pending(s);
			content(s, s->pfx, s->npfx);
			end_msg(s, s->off);
		} else {		/* a final empty line is the separator */
			end_msg(s, s->pending ? s->pend_off : s->off);
		}
		break;
	case S_LINE:
		end_msg(s, s->off);
		break;
	default:
		break;
	}
	s->mode = S_JUNK;
	return s->err;
}
