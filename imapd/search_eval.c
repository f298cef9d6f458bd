/*
 * search_eval.c - does a message match a search program?
 *
 * Three-valued evaluation (yes, no, not known yet) lets the cheap keys
 * decide first: flags, UIDs, sizes and internal dates are evaluated
 * without reading the message.  Only when the answer still depends on
 * content is the message streamed, once, in CHUNK-sized pieces: the top
 * header's fields (unfolded, RFC 2047-decoded) settle HEADER, FROM...,
 * SENT keys; then the text parts (text leaves, and the headers of
 * enclosed messages) are decoded (base64, quoted-printable), converted
 * to UTF-8 (iconv) and case-folded, and BODY/TEXT strings are found
 * with one KMP automaton each, so a match across chunk borders is found
 * without keeping more than a chunk.  Reading stops as soon as the
 * program's value is known.
 *
 * Matching is a case-insensitive substring test (RFC 3501 6.4.4) after
 * search_fold() on both sides.  Dates ignore time and zone: the
 * internal date's day is its day in the server's zone (the zone
 * INTERNALDATE is shown in), the Date: field's day is the one written.
 */
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crlf.h"
#include "mime.h"
#include "search.h"
#include "util.h"

/* WEAK-BEGIN */
#pragma weak seqset_parse
#pragma weak seqset_free
#pragma weak seqset_resolve
#pragma weak seqset_contains
/* WEAK-END */

#define CHUNK 16384
#define FIELD_MAX MIME_MAX_FIELD	/* bytes of one header field kept */
#define DECODED_MAX (4 * FIELD_MAX)	/* one field after RFC 2047 */
#define ICONV_HOLD 16			/* a cut multibyte sequence */

enum { NO = 0, YES = 1, UNKNOWN = 2 };

/* ---- case folding ---- */

/* Lower case of a two-byte UTF-8 code point (U+0080..U+07FF); others
 * are returned as they are.  Every mapping stays in that range, so a
 * folded string is as long as the original. */
static uint32_t
fold_cp(uint32_t c)
{
	if ((c >= 0xc0 && c <= 0xde && c != 0xd7) ||
	    (c >= 0x391 && c <= 0x3ab && c != 0x3a2) ||
	    (c >= 0x410 && c <= 0x42f))
		return c + 0x20;
	if (c >= 0x400 && c <= 0x40f)
		return c + 0x50;
	if (c == 0x178)
		return 0xff;
	if (c == 0x3c2)			/* final sigma */
		return 0x3c3;
	if (c == 0x130 || c == 0x138 || c == 0x149 || c < 0x100 || c > 0x17e)
		return c;
	/* Latin Extended-A: pairs, upper case first, but 0x139..0x148 and
	 * 0x179..0x17e start on odd numbers */
	if ((c >= 0x139 && c <= 0x148) || c >= 0x179)
		return (c & 1) ? c + 1 : c;
	return (c & 1) ? c : c + 1;
}

size_t
search_fold(const unsigned char *in, size_t n, unsigned char *out,
    unsigned char *carry)
{
	size_t o = 0, i = 0;

	if (*carry && n > 0) {
		unsigned char pair[2] = { *carry, in[0] };
		unsigned char c = 0;

		*carry = 0;
		if ((in[0] & 0xc0) == 0x80) {
			o = search_fold(pair, 2, out, &c);
			i = 1;
		} else
			out[o++] = pair[0];
	}
	for (; i < n; i++) {
		unsigned char b = in[i];

		if (b >= 'A' && b <= 'Z') {
			out[o++] = b + 32;
		} else if (b >= 0xc2 && b <= 0xdf) {
			if (i + 1 == n) {
				*carry = b;
				break;
			}
			if ((in[i + 1] & 0xc0) != 0x80) {
				out[o++] = b;
				continue;
			}
			uint32_t c = fold_cp(((uint32_t)(b & 0x1f) << 6) |
			    (in[i + 1] & 0x3f));
			out[o++] = 0xc0 | (c >> 6);
			out[o++] = 0x80 | (c & 0x3f);
			i++;
		} else
			out[o++] = b;
	}
	return o;
}

size_t
search_fold_end(unsigned char *out, unsigned char *carry)
{
	if (*carry == 0)
		return 0;
	out[0] = *carry;
	*carry = 0;
	return 1;
}

/* Is the folded needle in the folded text? */
static int
contains(const unsigned char *hay, size_t n, const struct search_node *k)
{
	return k->nlen == 0 || memmem(hay, n, k->needle, k->nlen) != NULL;
}

/* ---- dates ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard
 * Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static const char *const months[] = { "jan", "feb", "mar", "apr", "may",
	"jun", "jul", "aug", "sep", "oct", "nov", "dec" };

static size_t
skip_cfws(const char *s, size_t i, size_t len)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
	    s[i] == '\n'))
		i++;
	return i;
}

static int
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static size_t
read_num(const char *s, size_t i, size_t len, unsigned max_digits,
    unsigned *v, unsigned *nd)
{
	*v = 0;
	*nd = 0;
	while (i < len && s[i] >= '0' && s[i] <= '9' && *nd < max_digits) {
		*v = *v * 10 + (unsigned)(s[i++] - '0');
		(*nd)++;
	}
	return i;
}

/* RFC 5322 3.3: [day-name ","] day month year time zone; obsolete forms
 * (4.3): two- and three-digit years.  Only day, month and year count. */
int
search_sent_day(const char *s, size_t len, int64_t *day)
{
	size_t i = skip_cfws(s, 0, len);
	unsigned d, y, nd, ny, m;

	/* the day name, with or without its comma */
	while (i < len && is_alpha(s[i]))
		i++;
	if (i < len && s[i] == ',')
		i++;
	i = skip_cfws(s, i, len);
	i = read_num(s, i, len, 2, &d, &nd);
	if (nd == 0 || d < 1 || d > 31)
		return -1;
	i = skip_cfws(s, i, len);
	if (i + 3 > len)
		return -1;
	for (m = 0; m < 12; m++)
		if (strncasecmp(s + i, months[m], 3) == 0)
			break;
	if (m == 12)
		return -1;
	/* "January" is not RFC 5322, but mailers write it */
	for (i += 3; i < len && is_alpha(s[i]); i++)
		;
	i = skip_cfws(s, i, len);
	i = read_num(s, i, len, 4, &y, &ny);
	if (ny < 2)
		return -1;
	if (ny == 2)
		y += y < 50 ? 2000 : 1900;
	else if (ny == 3)
		y += 1900;
	*day = days_from_civil(y, m + 1, d);
	return 0;
}

/* The internal date's day in the server's zone. */
static int64_t
local_day(time_t t)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return INT64_MIN;
	return days_from_civil((int64_t)tm.tm_year + 1900,
	    (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday);
}

/* ---- the message being evaluated ---- */

struct reader {
	struct msg_stream *ms;
	const char *data;
	size_t len, pos;
};

struct msgctx {
	struct search_prog *p;
	struct store *st;		/* or m */
	unsigned i;
	const struct search_msg *m;
	int64_t size;			/* -2: not asked yet */
	int64_t iday;			/* INT64_MAX: not asked yet */
	int64_t sday;			/* Date: field, INT64_MIN if none */
	int hdr_done, body_done;
	int changed;			/* a key was found since the last eval */
};

static uint32_t
msg_seq(const struct msgctx *c)
{
	return c->m ? c->m->seq : c->i + 1;
}

static uint32_t
msg_uid(const struct msgctx *c)
{
	return c->m ? c->m->uid : store_uid(c->st, c->i);
}

static unsigned
msg_flags(const struct msgctx *c)
{
	return c->m ? c->m->flags : store_flags(c->st, c->i);
}

static kwset_t
msg_kw(const struct msgctx *c)
{
	return c->m ? c->m->kw : store_msg_keywords(c->st, c->i);
}

static int
msg_recent(const struct msgctx *c)
{
	return c->m ? c->m->recent : store_recent(c->st, c->i);
}

static int64_t
msg_size(struct msgctx *c)
{
	struct crlf cr;

	if (c->size != -2)
		return c->size;
	if (c->m != NULL) {
		crlf_init(&cr);
		crlf_count(&cr, (const unsigned char *)c->m->data, c->m->len);
		c->size = (int64_t)crlf_count_finish(&cr);
	} else
		c->size = store_wire_size(c->st, c->i);
	return c->size;
}

static int64_t
msg_day(struct msgctx *c)
{
	time_t t;

	if (c->iday != INT64_MAX)
		return c->iday;
	t = c->m ? c->m->internal : store_internal_date(c->st, c->i);
	c->iday = t == (time_t)-1 ? INT64_MIN : local_day(t);
	return c->iday;
}

/* ---- evaluation ---- */

static int
in_saved(const struct search_view *v, uint32_t uid)
{
	size_t lo = 0, hi = v->nsaved;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->saved[mid] == uid)
			return 1;
		if (v->saved[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int
in_set(struct msgctx *c, const struct search_node *n)
{
	uint32_t v = n->op == SOP_UID ? msg_uid(c) : msg_seq(c);

	if (!n->set_ok)
		return 0;
	if (n->set.dollar)
		return in_saved(&c->p->view, msg_uid(c));
	return seqset_contains(&n->set, v);
}

static int
date_cmp(int64_t day, const struct search_node *n, enum search_op on)
{
	if (day == INT64_MIN)
		return NO;
	switch ((int)n->op - (int)on) {
	case 0:	return day < n->day;	/* BEFORE */
	case 1:	return day == n->day;	/* ON */
	default: return day >= n->day;	/* SINCE */
	}
}

static int eval(struct msgctx *c, const struct search_node *n);

static int
eval_and(struct msgctx *c, const struct search_node *k)
{
	int r = YES;

	for (; k != NULL; k = k->next) {
		int v = eval(c, k);

		if (v == NO)
			return NO;
		if (v == UNKNOWN)
			r = UNKNOWN;
	}
	return r;
}

static int
eval_or(struct msgctx *c, const struct search_node *k)
{
	int a = eval(c, k), b;

	if (a == YES)
		return YES;
	b = eval(c, k->next);
	if (b == YES)
		return YES;
	return a == UNKNOWN || b == UNKNOWN ? UNKNOWN : NO;
}

static int
eval_content(const struct search_node *n, int done)
{
	if (n->found || (n->nlen == 0 && n->op != SOP_HEADER))
		return YES;
	return done ? NO : UNKNOWN;
}

static int
eval(struct msgctx *c, const struct search_node *n)
{
	int v;

	switch (n->op) {
	case SOP_ALL:		return YES;
	case SOP_AND:		return eval_and(c, n->kid);
	case SOP_OR:		return eval_or(c, n->kid);
	case SOP_NOT:
		v = eval(c, n->kid);
		return v == UNKNOWN ? UNKNOWN : !v;
	case SOP_FLAG:		return (msg_flags(c) & n->flag) != 0;
	case SOP_UNFLAG:	return (msg_flags(c) & n->flag) == 0;
	case SOP_RECENT:	return msg_recent(c) != 0;
	case SOP_OLD:		return msg_recent(c) == 0;
	case SOP_NEW:
		return msg_recent(c) && !(msg_flags(c) & MF_SEEN);
	case SOP_KEYWORD:
		return n->kwbit >= 0 && (msg_kw(c) >> n->kwbit & 1);
	case SOP_UNKEYWORD:
		return n->kwbit < 0 || !(msg_kw(c) >> n->kwbit & 1);
	case SOP_LARGER:	return msg_size(c) > (int64_t)n->num;
	case SOP_SMALLER:
		return msg_size(c) >= 0 && msg_size(c) < (int64_t)n->num;
	case SOP_BEFORE: case SOP_ON: case SOP_SINCE:
		return date_cmp(msg_day(c), n, SOP_BEFORE);
	case SOP_SENTBEFORE: case SOP_SENTON: case SOP_SENTSINCE:
		if (!c->hdr_done)
			return UNKNOWN;
		return date_cmp(c->sday, n, SOP_SENTBEFORE);
	case SOP_SEQ: case SOP_UID:
		return in_set(c, n);
	case SOP_HEADER:
		return eval_content(n, c->hdr_done);
	case SOP_BODY: case SOP_TEXT:
		return eval_content(n, c->body_done);
	}
	return NO;
}

/* ---- header fields ---- */

struct hdrscan {
	struct buf field;	/* the field being read, unfolded */
	int state;		/* HS_* */
	int top;		/* the message's own header, not an enclosed
				 * one's */
	int cut;		/* the field passed FIELD_MAX */
};

enum { HS_LINESTART, HS_CR, HS_IN, HS_DONE };

/* One whole field: decode its value and test the keys that care. */
static void
field_done(struct msgctx *c, struct hdrscan *h)
{
	const char *f = h->field.data, *colon;
	size_t nlen, flen = h->field.len;
	struct buf dec;
	unsigned char *folded, carry = 0;
	size_t n;

	h->field.len = 0;
	h->cut = 0;
	if (flen == 0 || (colon = memchr(f, ':', flen)) == NULL)
		return;
	nlen = (size_t)(colon - f);
	while (nlen > 0 && (f[nlen - 1] == ' ' || f[nlen - 1] == '\t'))
		nlen--;
	if (h->top && c->sday == INT64_MIN && nlen == 4 &&
	    strncasecmp(f, "Date", 4) == 0 &&
	    search_sent_day(colon + 1, flen - (size_t)(colon + 1 - f),
	    &c->sday) != 0)
		c->sday = INT64_MIN;
	buf_init(&dec, DECODED_MAX);
	rfc2047_decode(colon + 1, flen - (size_t)(colon + 1 - f), &dec);
	folded = xmalloc(dec.len + nlen + 2);
	n = search_fold((const unsigned char *)dec.data, dec.len, folded,
	    &carry);
	n += search_fold_end(folded + n, &carry);
	for (size_t k = 0; k < c->p->nnodes; k++) {
		struct search_node *x = &c->p->nodes[k];

		if (x->found)
			continue;
		if ((x->op == SOP_HEADER && h->top && strlen(x->str) == nlen &&
		    strncasecmp(x->str, f, nlen) == 0) ||
		    (x->op == SOP_TEXT || (x->op == SOP_BODY && !h->top))) {
			if (contains(folded, n, x)) {
				x->found = 1;
				c->changed = 1;
			}
		}
	}
	free(folded);
	buf_free(&dec);
}

static void
field_addc(struct hdrscan *h, char ch)
{
	if (buf_addc(&h->field, ch) != 0)
		h->cut = 1;	/* the rest of a huge field is not searched */
}

/* Feed header bytes; unfolding drops each line break before a
 * continuation line (RFC 5322 2.2.3).  Stops at the empty line. */
static void
hdr_feed(struct msgctx *c, struct hdrscan *h, const char *p, size_t n)
{
	for (size_t i = 0; i < n && h->state != HS_DONE; i++) {
		char ch = p[i];

		switch (h->state) {
		case HS_LINESTART:
			if (ch == '\n') {
				field_done(c, h);
				h->state = HS_DONE;
			} else if (ch == '\r') {
				h->state = HS_CR;
			} else {
				if (ch != ' ' && ch != '\t')
					field_done(c, h);
				field_addc(h, ch);
				h->state = HS_IN;
			}
			break;
		case HS_CR:
			if (ch == '\n') {
				field_done(c, h);
				h->state = HS_DONE;
				break;
			}
			field_done(c, h);
			field_addc(h, ch);
			h->state = HS_IN;
			break;
		default:
			if (ch == '\n') {
				if (h->field.len > 0 &&
				    h->field.data[h->field.len - 1] == '\r')
					h->field.len--;
				h->state = HS_LINESTART;
			} else
				field_addc(h, ch);
		}
	}
}

static void
hdr_end(struct msgctx *c, struct hdrscan *h)
{
	if (h->state != HS_DONE)
		field_done(c, h);
	h->state = HS_DONE;
}

/* ---- text parts ---- */

enum { ENC_NONE, ENC_B64, ENC_QP };

struct textscan {
	int enc;
	struct mime_b64 b64;
	struct mime_qp qp;
	iconv_t cd;			/* (iconv_t)-1: already UTF-8 */
	char hold[ICONV_HOLD];		/* input iconv could not finish */
	size_t nhold;
	unsigned char carry;		/* search_fold() */
};

/* The folded text: advance every BODY/TEXT automaton over it. */
static void
match_text(struct msgctx *c, const unsigned char *s, size_t n)
{
	for (size_t k = 0; k < c->p->nnodes; k++) {
		struct search_node *x = &c->p->nodes[k];
		size_t q = x->kmp;

		if ((x->op != SOP_BODY && x->op != SOP_TEXT) || x->found ||
		    x->nlen == 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (q == 0) {
				const unsigned char *f = memchr(s + i,
				    x->needle[0], n - i);

				if (f == NULL)
					break;
				i = (size_t)(f - s);
			}
			while (q > 0 && s[i] != x->needle[q])
				q = x->fail[q - 1];
			if (s[i] == x->needle[q])
				q++;
			if (q == x->nlen) {
				x->found = 1;
				c->changed = 1;
				break;
			}
		}
		x->kmp = q;
	}
}

static void
fold_match(struct msgctx *c, struct textscan *t, const unsigned char *s,
    size_t n)
{
	unsigned char out[CHUNK + 1];

	while (n > 0) {
		size_t take = n < CHUNK ? n : CHUNK;
		size_t o = search_fold(s, take, out, &t->carry);

		match_text(c, out, o);
		s += take;
		n -= take;
	}
}

/* Decoded bytes in the part's charset -> UTF-8 -> folded -> matched. */
static void
convert_match(struct msgctx *c, struct textscan *t, const unsigned char *s,
    size_t n, int last)
{
	char out[CHUNK];
	char in[CHUNK + ICONV_HOLD];

	if (t->cd == (iconv_t)-1) {
		fold_match(c, t, s, n);
		return;
	}
	while (n > 0 || (last && t->nhold > 0)) {
		size_t take = n < CHUNK ? n : CHUNK, inleft, left = sizeof(out);
		char *ip = in, *op = out;

		memcpy(in, t->hold, t->nhold);
		memcpy(in + t->nhold, s, take);
		inleft = t->nhold + take;
		s += take;
		n -= take;
		t->nhold = 0;
		while (inleft > 0) {
			if (iconv(t->cd, &ip, &inleft, &op, &left) !=
			    (size_t)-1)
				break;
			if (errno == E2BIG) {
				fold_match(c, t, (unsigned char *)out,
				    sizeof(out) - left);
				op = out;
				left = sizeof(out);
			} else if (errno == EINVAL && (!last || n > 0) &&
			    inleft < ICONV_HOLD) {
				/* a sequence cut at the end of the input:
				 * finish it with the next bytes */
				memcpy(t->hold, ip, inleft);
				t->nhold = inleft;
				break;
			} else {
				ip++;		/* invalid: skip a byte */
				inleft--;
			}
		}
		fold_match(c, t, (unsigned char *)out, sizeof(out) - left);
	}
}

static void
text_feed(struct msgctx *c, struct textscan *t, const char *p, size_t n)
{
	unsigned char dec[MIME_DEC_OUT(CHUNK)];
	size_t o;

	while (n > 0) {
		size_t take = n < CHUNK ? n : CHUNK;

		if (t->enc == ENC_B64)
			o = mime_b64_feed(&t->b64, p, take, dec);
		else if (t->enc == ENC_QP)
			o = mime_qp_feed(&t->qp, p, take, dec);
		else {
			o = take;
			memcpy(dec, p, take);
		}
		convert_match(c, t, dec, o, 0);
		p += take;
		n -= take;
	}
}

static void
text_end(struct msgctx *c, struct textscan *t)
{
	unsigned char dec[MIME_DEC_OUT(0)];
	unsigned char f[2];
	size_t o = 0;

	if (t->enc == ENC_B64)
		o = mime_b64_finish(&t->b64, dec);
	else if (t->enc == ENC_QP)
		o = mime_qp_finish(&t->qp, dec);
	convert_match(c, t, dec, o, 1);
	o = search_fold_end(f, &t->carry);
	match_text(c, f, o);
	if (t->cd != (iconv_t)-1)
		iconv_close(t->cd);
	t->cd = (iconv_t)-1;
}

static int
str_is(const struct mime_str *s, const char *w)
{
	return s->p != NULL && strlen(w) == s->len &&
	    strncasecmp(s->p, w, s->len) == 0;
}

static void
text_begin(struct textscan *t, const struct mime_part *pt)
{
	const struct mime_param *cs = mime_param_get(pt->params, pt->nparams,
	    "charset");

	memset(t, 0, sizeof(*t));
	t->enc = str_is(&pt->encoding, "base64") ? ENC_B64 :
	    str_is(&pt->encoding, "quoted-printable") ? ENC_QP : ENC_NONE;
	mime_b64_init(&t->b64);
	mime_qp_init(&t->qp);
	t->cd = (iconv_t)-1;
	/* 8-bit text without a charset is taken as UTF-8, as it is sent */
	if (cs == NULL || cs->value.p == NULL ||
	    !search_charset_ok(cs->value.p, cs->value.len) ||
	    str_is(&cs->value, "utf-8") || str_is(&cs->value, "us-ascii") ||
	    str_is(&cs->value, "utf8"))
		return;
	t->cd = iconv_open("UTF-8", cs->value.p);
}

/* ---- streaming the message ---- */

enum seg_kind { SEG_TOPHDR, SEG_HDR, SEG_TEXT };

struct segment {
	enum seg_kind kind;
	uint64_t start, end;
	uint32_t part;
};

static int
is_text_leaf(const struct mime_part *pt)
{
	return pt->nchildren == 0 && str_is(&pt->type, "text");
}

/* The ranges to scan, ascending: the top header, then every enclosed
 * message's header and every text leaf's body. */
static struct segment *
segments(const struct mime_tree *t, int body, size_t *nseg)
{
	struct segment *s = xreallocarray(NULL, (size_t)t->nparts * 2 + 1,
	    sizeof(*s));
	size_t n = 0;

	s[n++] = (struct segment){ SEG_TOPHDR, 0, t->parts[0].body_off, 0 };
	for (uint32_t k = 0; body && k < t->nparts; k++) {
		const struct mime_part *pt = &t->parts[k];

		if (k > 0 && (pt->flags & MIME_PART_MESSAGE))
			s[n++] = (struct segment){ SEG_HDR, pt->hdr_off,
			    pt->body_off, k };
		if (is_text_leaf(pt))
			s[n++] = (struct segment){ SEG_TEXT, pt->body_off,
			    pt->end_off, k };
	}
	*nseg = n;
	return s;
}

static ssize_t
reader_read(struct reader *r, char *buf, size_t n)
{
	if (r->ms != NULL)
		return msg_stream_read(r->ms, buf, n);
	if (n > r->len - r->pos)
		n = r->len - r->pos;
	memcpy(buf, r->data + r->pos, n);
	r->pos += n;
	return (ssize_t)n;
}

struct scan {
	struct hdrscan hdr;
	struct textscan text;
	const struct mime_tree *tree;
	struct segment *seg;
	size_t nseg, cur;
	int active;		/* seg[cur] has begun */
};

static void
seg_begin(struct msgctx *c, struct scan *s, const struct segment *g)
{
	(void)c;
	s->active = 1;
	if (g->kind == SEG_TEXT) {
		for (size_t k = 0; k < c->p->nnodes; k++)
			c->p->nodes[k].kmp = 0;
		text_begin(&s->text, &s->tree->parts[g->part]);
		return;
	}
	buf_reset(&s->hdr.field);
	s->hdr.state = HS_LINESTART;
	s->hdr.top = g->kind == SEG_TOPHDR;
}

static void
seg_end(struct msgctx *c, struct scan *s, const struct segment *g)
{
	s->active = 0;
	if (g->kind == SEG_TEXT) {
		text_end(c, &s->text);
		return;
	}
	hdr_end(c, &s->hdr);
	if (g->kind == SEG_TOPHDR) {
		c->hdr_done = 1;
		c->changed = 1;
	}
}

/* Bytes [off, off + n) of the message. */
static void
scan_feed(struct msgctx *c, struct scan *s, uint64_t off, const char *p,
    size_t n)
{
	uint64_t end = off + n;

	while (s->cur < s->nseg) {
		const struct segment *g = &s->seg[s->cur];
		uint64_t a = g->start > off ? g->start : off;
		uint64_t b = g->end < end ? g->end : end;

		if (g->start >= end)
			return;
		if (!s->active)
			seg_begin(c, s, g);
		if (b > a) {
			if (g->kind == SEG_TEXT)
				text_feed(c, &s->text, p + (a - off),
				    (size_t)(b - a));
			else
				hdr_feed(c, &s->hdr, p + (a - off),
				    (size_t)(b - a));
		}
		/* a header ends at its empty line (the header-only scan
		 * does not know where that is beforehand) */
		if (g->end > end && (g->kind == SEG_TEXT ||
		    s->hdr.state != HS_DONE))
			return;
		seg_end(c, s, g);
		s->cur++;
	}
}

static void
scan_finish(struct msgctx *c, struct scan *s)
{
	for (; s->cur < s->nseg; s->cur++) {
		if (!s->active)
			seg_begin(c, s, &s->seg[s->cur]);
		seg_end(c, s, &s->seg[s->cur]);
	}
	c->hdr_done = c->body_done = 1;
}

static enum store_result
get_tree(struct msgctx *c, struct mime_tree **t)
{
	if (c->m != NULL) {
		*t = mime_parse(c->m->data, c->m->len);
		return STORE_OK;
	}
	return store_msg_mime(c->st, c->i, t);
}

static enum store_result
open_reader(struct msgctx *c, struct reader *r)
{
	memset(r, 0, sizeof(*r));
	if (c->m != NULL) {
		r->data = c->m->data;
		r->len = c->m->len;
		return STORE_OK;
	}
	return store_msg_open(c->st, c->i, &r->ms);
}

/* Stream the message until the program's value is known. */
static int
scan_message(struct msgctx *c, struct scan *s, struct reader *r)
{
	char buf[CHUNK];
	uint64_t off = 0;
	ssize_t got;
	int v = UNKNOWN;

	while ((got = reader_read(r, buf, sizeof(buf))) > 0) {
		scan_feed(c, s, off, buf, (size_t)got);
		off += (uint64_t)got;
		if (s->cur >= s->nseg)
			break;
		if (c->changed) {
			c->changed = 0;
			if ((v = eval(c, c->p->root)) != UNKNOWN)
				return v;
		}
	}
	if (got < 0)
		return -1;
	scan_finish(c, s);
	return eval(c, c->p->root);
}

static int
match_content(struct msgctx *c, enum store_result *res)
{
	struct mime_tree *tree = NULL;
	struct mime_part top = { 0 };
	struct mime_tree hdronly = { .parts = &top, .nparts = 1 };
	struct scan s = { 0 };
	struct reader r;
	int v;

	top.body_off = UINT64_MAX;	/* to the empty line */
	if (c->p->need_body) {
		if ((*res = get_tree(c, &tree)) != STORE_OK)
			return -1;
		s.tree = tree != NULL ? tree : &hdronly;
	} else
		s.tree = &hdronly;
	s.seg = segments(s.tree, c->p->need_body, &s.nseg);
	buf_init(&s.hdr.field, FIELD_MAX);
	if ((*res = open_reader(c, &r)) != STORE_OK)
		v = -1;
	else if ((v = scan_message(c, &s, &r)) < 0)
		*res = STORE_ETEMP;
	if (s.active && s.cur < s.nseg && s.seg[s.cur].kind == SEG_TEXT &&
	    s.text.cd != (iconv_t)-1)
		iconv_close(s.text.cd);
	if (r.ms != NULL)
		msg_stream_close(r.ms);
	buf_free(&s.hdr.field);
	free(s.seg);
	if (tree != NULL)
		mime_tree_free(tree);
	return v;
}

static int
match(struct msgctx *c, enum store_result *res)
{
	int v;

	*res = STORE_OK;
	c->size = -2;
	c->iday = INT64_MAX;
	c->sday = INT64_MIN;
	for (size_t k = 0; k < c->p->nnodes; k++) {
		c->p->nodes[k].found = 0;
		c->p->nodes[k].kmp = 0;
	}
	if ((v = eval(c, c->p->root)) != UNKNOWN)
		return v;
	return match_content(c, res);
}

int
search_match_store(struct search_prog *p, struct store *st, unsigned i,
    enum store_result *r)
{
	struct msgctx c = { .p = p, .st = st, .i = i };

	*r = STORE_OK;
	if (store_gone(st, i))
		return 0;
	return match(&c, r);
}

int
search_match_msg(struct search_prog *p, const struct search_msg *m)
{
	struct msgctx c = { .p = p, .m = m };
	enum store_result r;

	return match(&c, &r);
}

/* ---- binding to a view ---- */

static void
bind_node(struct search_node *n, const struct search_view *v)
{
	if (n->set_ok) {
		seqset_free(&n->set);
		n->set_ok = 0;
	}
	if ((n->op == SOP_SEQ || n->op == SOP_UID) &&
	    seqset_parse(n->str, strlen(n->str), &n->set) == 0) {
		n->set_ok = 1;
		seqset_resolve(&n->set, n->op == SOP_UID ? v->maxuid :
		    v->count);
	}
	if (n->op == SOP_KEYWORD || n->op == SOP_UNKEYWORD) {
		n->kwbit = -1;
		for (unsigned k = 0; v->kw != NULL && k < v->kw->n; k++)
			if (v->kw->name[k] != NULL &&
			    strcasecmp(v->kw->name[k], n->str) == 0)
				n->kwbit = (int)k;
	}
}

void
search_bind(struct search_prog *p, const struct search_view *v)
{
	p->view = *v;
	for (size_t k = 0; k < p->nnodes; k++)
		bind_node(&p->nodes[k], v);
}
