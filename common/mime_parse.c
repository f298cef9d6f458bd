/*
 * mime_parse.c - the push parser: message bytes in chunks of any size in,
 * the part tree out (mime.h).
 *
 * The input is cut into lines (LF ends a line; a CR before it is part of
 * the line break).  Of each line only a prefix is kept: a header field's
 * first MIME_MAX_FIELD bytes while in a header, else enough to recognise
 * a boundary delimiter, plus whether everything past the prefix is white
 * space (RFC 2046 5.1.1 transport padding).  So memory does not depend
 * on the input, and each byte is looked at a bounded number of times.
 *
 * Open parts form a stack: the root, then each multipart, its current
 * body part, a message/rfc822 part and its enclosed message, and so on.
 * A delimiter line of any open multipart (outermost first, as RFC 2046
 * 5.1.1 forbids a boundary inside its own parts) closes every part
 * opened after that multipart, which makes a missing close delimiter and
 * a boundary that is a prefix of another one harmless.
 */
#include <stdlib.h>
#include <string.h>

#include "mime_int.h"
#include "util.h"

/* "--" boundary "--" and a little transport padding */
#define KEEP_BODY (MIME_MAX_BOUNDARY + 8)

enum { S_HEADER, S_BODY, S_PREAMBLE, S_PARTS, S_EPILOGUE, S_ENCL };

/* A position in the input, its wire offset, the LFs before it, and
 * whether the byte before it ends an unterminated line (for lines). */
struct pos {
	uint64_t off, wire, lf;
	int partial;
};

struct open {
	uint32_t idx;
	int state;
	int active;		/* the boundary ends body parts */
	size_t blen;
	uint64_t hdr_lf, body_lf;
	char bnd[MIME_MAX_BOUNDARY];
};

struct mime_parser {
	struct mime_tree *t;
	struct open st[MIME_MAX_DEPTH + 1];
	int depth;
	int opaque;		/* a message-wide limit: no more structure */
	uint64_t off, bare, lf;	/* bytes, bare LFs and LFs so far */
	int last;		/* the last byte, -1 before any */
	/* the line being read */
	int in_line;
	struct pos l;		/* its start */
	uint64_t l_len;		/* bytes before its LF */
	size_t keep, nkept;
	int tail_ws, l_last;
	unsigned char *line;
	/* the line before it */
	int prev_brk;
	uint64_t prev_clen;
	/* the header being read */
	struct mime_hdr hdr;
	int cur_slot;
};

static struct mime_part *
part_of(struct mime_parser *p, const struct open *e)
{
	return &p->t->parts[e->idx];
}

static struct open *
push(struct mime_parser *p, uint32_t idx, const struct pos *hdr)
{
	struct open *e = &p->st[p->depth++];
	struct mime_part *pt = &p->t->parts[idx];

	memset(e, 0, sizeof(*e));
	e->idx = idx;
	e->state = S_HEADER;
	e->hdr_lf = hdr->lf;
	pt->hdr_off = hdr->off;
	pt->hdr_wire = hdr->wire;
	mime_hdr_reset(&p->hdr);
	p->cur_slot = -1;
	return e;
}

struct mime_parser *
mime_parser_init(void)
{
	struct mime_parser *p = xcalloc(1, sizeof(*p));
	struct pos zero = { 0, 0, 0, 0 };

	p->t = mime_tree_new();
	p->last = -1;
	p->line = xmalloc(MIME_MAX_FIELD);
	mime_tree_add(p->t, MIME_NONE);
	p->t->parts[0].flags = MIME_PART_MESSAGE;
	push(p, 0, &zero);
	return p;
}

/* Where the current line starts, and where the line break before it
 * starts (the end of a part whose delimiter this line is). */
static struct pos
line_start(const struct mime_parser *p)
{
	return p->l;
}

static struct pos
before_line(const struct mime_parser *p)
{
	struct pos e = p->l;

	if (p->prev_brk > 0) {
		e.off -= (uint64_t)p->prev_brk;
		e.wire -= 2;	/* CRLF, or a bare LF that becomes one */
		e.lf--;
		e.partial = p->prev_clen > 0;
	}
	return e;
}

static struct pos
after_line(const struct mime_parser *p, int nl)
{
	struct pos e = p->l;

	e.off += p->l_len + (uint64_t)nl;
	/* crlf.h: a CR before the LF stays; a bare LF and the end of an
	 * unterminated last line both give CRLF */
	e.wire += p->l_len +
	    (nl && p->l_len > 0 && p->l_last == '\r' ? 1 : 2);
	e.lf += (uint64_t)nl;
	e.partial = 0;
	return e;
}

static int
in_digest(struct mime_parser *p, const struct mime_part *pt)
{
	return pt->parent != MIME_NONE &&
	    mime_str_is(&p->t->parts[pt->parent].subtype, "digest") &&
	    mime_str_is(&p->t->parts[pt->parent].type, "multipart");
}

static int
may_enclose(const struct mime_part *pt)
{
	/* RFC 2046 5.2.1: no encoding but 7bit, 8bit or binary */
	return mime_str_is(&pt->encoding, "7bit") ||
	    mime_str_is(&pt->encoding, "8bit") ||
	    mime_str_is(&pt->encoding, "binary");
}

/* A child may be added (part and depth limits). */
static int
room_for_child(struct mime_parser *p, struct mime_part *pt)
{
	if (pt->depth + 1 > MIME_MAX_DEPTH) {
		p->t->flags |= MIME_TREE_DEPTH;
		pt->flags |= MIME_PART_OPAQUE;
		return 0;
	}
	if (p->t->nparts >= MIME_MAX_PARTS) {
		p->t->flags |= MIME_TREE_PARTS;
		pt->flags |= MIME_PART_OPAQUE;
		p->opaque = 1;
		return 0;
	}
	return 1;
}

static struct pos
set_end(struct mime_parser *p, struct open *e, struct pos end);

/* The envelope of a message whose header did not fit the budget: all
 * NIL, never written to. */
static struct mime_env no_env;

/* The header of e's part ended: the body starts at b.  closing: the
 * part also ends there (no children can follow). */
static void
start_body(struct mime_parser *p, struct open *e, struct pos b, int closing)
{
	struct mime_part *pt = part_of(p, e);
	const struct mime_param *bp;
	uint32_t c;

	pt->body_off = b.off;
	pt->body_wire = b.wire;
	e->body_lf = b.lf;
	e->state = S_BODY;
	if (mime_hdr_apply(&p->hdr, p->t, pt, in_digest(p, pt)) < 0) {
		p->t->flags |= MIME_TREE_BYTES;
		p->opaque = 1;
	}
	mime_hdr_reset(&p->hdr);
	p->cur_slot = -1;
	if (pt->encoding.p == NULL)
		pt->encoding = (struct mime_str){ "7bit", 4 };
	if ((pt->flags & MIME_PART_MESSAGE) && pt->env == NULL)
		pt->env = &no_env;
	if (pt->type.p == NULL || pt->subtype.p == NULL) {
		/* the budget ran out before the type was kept */
		pt->type = (struct mime_str){ "application", 11 };
		pt->subtype = (struct mime_str){ "octet-stream", 12 };
		return;
	}
	if (mime_str_is(&pt->type, "multipart")) {
		bp = mime_param_get(pt->params, pt->nparams, "boundary");
		if (bp == NULL || bp->value.len == 0 ||
		    bp->value.len > MIME_MAX_BOUNDARY || p->opaque) {
			pt->flags |= MIME_PART_OPAQUE;
			return;
		}
		if (closing || !room_for_child(p, pt))
			return;
		memcpy(e->bnd, bp->value.p, bp->value.len);
		e->blen = bp->value.len;
		e->active = 1;
		e->state = S_PREAMBLE;
	} else if (mime_str_is(&pt->type, "message") &&
	    mime_str_is(&pt->subtype, "rfc822")) {
		if (!may_enclose(pt) || p->opaque) {
			pt->flags |= MIME_PART_OPAQUE;
			return;
		}
		if (!room_for_child(p, pt))
			return;
		c = mime_tree_add(p->t, e->idx);
		p->t->parts[c].flags = MIME_PART_MESSAGE;
		e->state = S_ENCL;
		e = push(p, c, &b);
		if (closing) {
			start_body(p, e, b, 1);
			(void)set_end(p, e, b);
			p->depth--;
		}
	}
}

/* Part e ends at end (the body's end; clamped to where it started).
 * Returns where it ended, which its parent cannot end before. */
static struct pos
set_end(struct mime_parser *p, struct open *e, struct pos end)
{
	struct mime_part *pt = part_of(p, e);

	if (e->state == S_HEADER) {
		struct pos h = { pt->hdr_off, pt->hdr_wire, e->hdr_lf, 0 };

		if (end.off <= h.off)
			end = h;
		else
			pt->flags |= MIME_PART_NOHDR_END;
		start_body(p, e, end, 1);
		pt = part_of(p, e);
	}
	if (end.off <= pt->body_off) {
		end.off = pt->body_off;
		end.wire = pt->body_wire;
		end.lf = e->body_lf;
		end.partial = 0;
	}
	if (e->state == S_PREAMBLE || e->state == S_PARTS)
		pt->flags |= MIME_PART_NOCLOSE;
	pt->end_off = end.off;
	pt->end_wire = end.wire;
	pt->lines = end.lf - e->body_lf + (end.partial ? 1 : 0);
	return end;
}

/* Close the innermost open part; returns the end for its parent (an
 * empty body that starts after the line break before a delimiter ends
 * after it, and so must its parents). */
static struct pos
close_top(struct mime_parser *p, struct pos end)
{
	struct pos used = set_end(p, &p->st[p->depth - 1], end);

	p->depth--;
	return used.off > end.off ? used : end;
}

/* The open multipart whose delimiter line s[0..n) is, or -1. */
static int
match_delim(const struct mime_parser *p, const unsigned char *s, size_t n,
    int *close)
{
	if (n < 3 || s[0] != '-' || s[1] != '-')
		return -1;
	for (int k = 0; k < p->depth; k++) {
		const struct open *e = &p->st[k];
		size_t r = 2 + e->blen;

		if (!e->active || n < r || memcmp(s + 2, e->bnd, e->blen) != 0)
			continue;
		*close = n - r >= 2 && s[r] == '-' && s[r + 1] == '-';
		if (*close)
			r += 2;
		while (r < n && (s[r] == ' ' || s[r] == '\t' || s[r] == '\r'))
			r++;
		if (r == n && p->tail_ws)
			return k;
	}
	return -1;
}

static void
on_delim(struct mime_parser *p, int k, int close, struct pos next)
{
	struct pos end = before_line(p);
	struct open *e;
	uint32_t c;

	while (p->depth > k + 1)
		end = close_top(p, end);
	e = &p->st[k];
	if (close) {
		e->state = S_EPILOGUE;
		e->active = 0;
		return;
	}
	e->state = S_PARTS;
	if (!room_for_child(p, part_of(p, e))) {
		e->state = S_EPILOGUE;
		e->active = 0;
		return;
	}
	c = mime_tree_add(p->t, e->idx);
	push(p, c, &next);
}

/* RFC 5322 2.2 field name (with the obsolete white space before the
 * colon, 4.5). */
static int
field_name(const unsigned char *s, size_t n, size_t *len)
{
	const unsigned char *colon = memchr(s, ':', n);
	size_t k;

	if (colon == NULL)
		return 0;
	k = (size_t)(colon - s);
	while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t'))
		k--;
	if (k == 0)
		return 0;
	for (size_t i = 0; i < k; i++)
		if (s[i] < 33 || s[i] > 126)
			return 0;
	*len = k;
	return 1;
}

/* A header line; returns 1 if it was not one (the body starts with it). */
static int
header_line(struct mime_parser *p, struct open *e, const unsigned char *s,
    size_t n, uint64_t clen, int nl)
{
	size_t k;
	int slot;

	if (clen == 0) {
		start_body(p, e, after_line(p, nl), 0);
		return 0;
	}
	if (s[0] == ' ' || s[0] == '\t') {	/* folded (RFC 5322 2.2.3) */
		if (p->cur_slot >= 0)
			mime_hdr_append(&p->hdr, p->cur_slot, s, n);
		return 0;
	}
	if (!field_name(s, n, &k)) {
		part_of(p, e)->flags |= MIME_PART_NOHDR_END;
		start_body(p, e, line_start(p), 0);
		return 1;
	}
	p->cur_slot = -1;
	slot = mime_hdr_slot((const char *)s, k);
	if (slot >= 0 && !p->hdr.seen[slot]) {
		const unsigned char *v = memchr(s, ':', n);

		v++;

		p->hdr.seen[slot] = 1;
		p->cur_slot = slot;
		mime_hdr_append(&p->hdr, slot, v, n - (size_t)(v - s));
	}
	return 0;
}

static void
line_done(struct mime_parser *p, int nl)
{
	uint64_t clen = p->l_len;
	int brk = nl, close, k;
	size_t n;

	if (nl && p->l_len > 0 && p->l_last == '\r') {
		brk = 2;
		clen--;
	}
	n = p->nkept < clen ? p->nkept : (size_t)clen;
	if (!p->opaque) {
		struct open *top = &p->st[p->depth - 1];

		k = match_delim(p, p->line, n, &close);
		if (k >= 0)
			on_delim(p, k, close, after_line(p, nl));
		else if (top->state == S_HEADER &&
		    header_line(p, top, p->line, n, clen, nl) &&
		    !p->opaque &&
		    (k = match_delim(p, p->line, n, &close)) >= 0)
			on_delim(p, k, close, after_line(p, nl));
	}
	if (nl) {
		p->lf++;
		p->bare += brk == 1;
	}
	p->prev_brk = brk;
	p->prev_clen = clen;
	p->in_line = 0;
}

static void
line_begin(struct mime_parser *p)
{
	int hdr = p->st[p->depth - 1].state == S_HEADER;

	p->in_line = 1;
	p->l.off = p->off;
	p->l.wire = p->off + p->bare;
	p->l.lf = p->lf;
	p->l.partial = 0;
	p->l_len = 0;
	p->nkept = 0;
	p->keep = p->opaque ? 0 : hdr ? MIME_MAX_FIELD : KEEP_BODY;
	p->tail_ws = 1;
	p->l_last = -1;
}

/* Bytes of the current line before its LF. */
static void
line_add(struct mime_parser *p, const unsigned char *s, size_t n)
{
	size_t k = p->keep - p->nkept;

	if (n == 0)
		return;
	if (k > n)
		k = n;
	memcpy(p->line + p->nkept, s, k);
	p->nkept += k;
	for (size_t i = k; i < n && p->tail_ws; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			p->tail_ws = 0;
	p->l_len += n;
	p->l_last = s[n - 1];
}

void
mime_parser_feed(struct mime_parser *p, const void *data, size_t n)
{
	const unsigned char *s = data;

	while (n > 0) {
		const unsigned char *nl;
		size_t take;

		if (!p->in_line)
			line_begin(p);
		nl = memchr(s, '\n', n);
		take = nl != NULL ? (size_t)(nl - s) + 1 : n;
		line_add(p, s, nl != NULL ? take - 1 : take);
		p->off += take;
		p->last = s[take - 1];
		if (nl != NULL)
			line_done(p, 1);
		s += take;
		n -= take;
	}
}

struct mime_tree *
mime_parser_finish(struct mime_parser *p)
{
	struct mime_tree *t = p->t;
	struct pos end;

	if (p->in_line)
		line_done(p, 0);
	end.off = p->off;
	end.partial = p->off > 0 && p->last != '\n';
	end.wire = p->off + p->bare + (end.partial ? 2 : 0);
	end.lf = p->lf;
	while (p->depth > 0)
		end = close_top(p, end);
	t->size = end.off;
	t->wire_size = end.wire;
	mime_hdr_free(&p->hdr);
	free(p->line);
	free(p);
	return t;
}

struct mime_tree *
mime_parse(const void *data, size_t n)
{
	struct mime_parser *p = mime_parser_init();

	mime_parser_feed(p, data, n);
	return mime_parser_finish(p);
}
