/*
 * fetch_body.c - BODY[section]<partial> and RFC822, RFC822.HEADER,
 * RFC822.TEXT (RFC 3501 6.4.5, 7.4.2): which wire bytes a section names,
 * and streaming them.
 *
 * Every offset is in wire terms (crlf.h): the MIME tree gives each
 * part's header and body as wire ranges of the whole message, so the
 * message is streamed through the CRLF converter and the range is cut
 * from the converted bytes.  A message is never held in memory whole.
 * HEADER.FIELDS(.NOT) is computed from the raw header bytes by a
 * streaming filter, once to count and once to send (the literal's size
 * comes first).  The literal's announced size is always what is sent:
 * a message that ends early (changed under us) is padded and reported.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crlf.h"
#include "fetch.h"
#include "log.h"
#include "util.h"

#define CHUNK 16384
/* A header field name longer than this matches no requested name: RFC
 * 5322 2.1.1 limits a whole line to 998 bytes. */
#define NAME_MAX_LEN 1000

/* ---- sources ---- */

struct src {
	struct msg_stream *ms;
	const unsigned char *mem;
	size_t len, pos;
};

static enum store_result
src_open(const struct fetch_msg *m, struct src *s)
{
	memset(s, 0, sizeof(*s));
	if (m->st == NULL) {
		s->mem = m->mem;
		s->len = m->memlen;
		return STORE_OK;
	}
	return store_msg_open(m->st, m->i, &s->ms);
}

static ssize_t
src_read(struct src *s, void *buf, size_t n)
{
	if (s->ms != NULL)
		return msg_stream_read(s->ms, buf, n);
	if (n > s->len - s->pos)
		n = s->len - s->pos;
	memcpy(buf, s->mem + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

static void
src_close(struct src *s)
{
	if (s->ms != NULL)
		msg_stream_close(s->ms);
	s->ms = NULL;
}

/* ---- the response key ---- */

static const char *const spec_names[] = {
	[FS_ALL] = "", [FS_HEADER] = "HEADER", [FS_FIELDS] = "HEADER.FIELDS",
	[FS_FIELDS_NOT] = "HEADER.FIELDS.NOT", [FS_TEXT] = "TEXT",
	[FS_MIME] = "MIME",
};

/* The header-list as sent back: each name uppercased, as a string
 * (RFC 3501 7.4.2: the key is the section the client asked for). */
static void
write_field_list(struct io *io, const struct fetch_section *sec)
{
	io_puts(io, " (");
	for (size_t k = 0; k < sec->nfields; k++) {
		const struct imap_arg *a = &sec->fields[k];
		char *up = xmalloc(a->len + 1);

		for (size_t j = 0; j < a->len; j++)
			up[j] = (char)toupper((unsigned char)a->str[j]);
		if (k > 0)
			io_puts(io, " ");
		imap_write_string(io, up, a->len);
		free(up);
	}
	io_puts(io, ")");
}

void
fetch_write_section_key(struct io *io, const struct fetch_section *sec)
{
	if (sec->rfc822 != NULL) {
		io_puts(io, sec->rfc822);
		return;
	}
	io_puts(io, "BODY[");
	for (size_t k = 0; k < sec->nnums; k++)
		io_printf(io, "%s%u", k ? "." : "", sec->nums[k]);
	if (sec->nnums > 0 && sec->spec != FS_ALL)
		io_puts(io, ".");
	io_puts(io, spec_names[sec->spec]);
	if (sec->spec == FS_FIELDS || sec->spec == FS_FIELDS_NOT)
		write_field_list(io, sec);
	io_puts(io, "]");
	/* only the origin is echoed: the count may be cut short */
	if (sec->partial)
		io_printf(io, "<%u>", sec->origin);
}

/* ---- which bytes ---- */

static int
str_is(const struct mime_str *s, const char *word)
{
	size_t n = strlen(word);

	return s->p != NULL && s->len == n && memcmp(s->p, word, n) == 0;
}

/* The part whose header HEADER, TEXT and HEADER.FIELDS mean: the root,
 * or the message a message/rfc822 part encloses (RFC 3501 6.4.5), or
 * MIME_NONE. */
static uint32_t
message_part(const struct mime_tree *t, uint32_t p, size_t nnums)
{
	const struct mime_part *mp = &t->parts[p];

	if (nnums == 0)
		return p;
	if (str_is(&mp->type, "message") && str_is(&mp->subtype, "rfc822") &&
	    mp->first_child != MIME_NONE)
		return mp->first_child;
	return MIME_NONE;
}

/* The part a section's spec applies to (after the numbers), or
 * MIME_NONE when there is none. */
static uint32_t
section_part(const struct mime_tree *t, const struct fetch_section *sec)
{
	uint32_t p = mime_section(t, sec->nums, sec->nnums);

	if (p == MIME_NONE || sec->spec == FS_ALL || sec->spec == FS_MIME)
		return p;
	return message_part(t, p, sec->nnums);
}

/* The wire range [*a, *b) of a section without header-list; -1 if the
 * part does not exist. */
static int
section_range(const struct mime_tree *t, uint64_t wire_size,
    const struct fetch_section *sec, uint64_t *a, uint64_t *b)
{
	const struct mime_part *mp;
	uint32_t p;

	/* the size RFC822.SIZE reports, so the two always agree */
	if (sec->nnums == 0 && sec->spec == FS_ALL) {
		*a = 0;
		*b = wire_size;
		return 0;
	}
	if (t == NULL || (p = section_part(t, sec)) == MIME_NONE)
		return -1;
	mp = &t->parts[p];
	if (sec->spec == FS_HEADER || sec->spec == FS_MIME) {
		*a = mp->hdr_wire;
		*b = mp->body_wire;
	} else {
		*a = mp->body_wire;
		*b = mp->end_wire;
	}
	return 0;
}

/* Cut [a, b) to the partial range: RFC 3501 6.4.5, an origin past the
 * end gives an empty string. */
static void
cut_partial(const struct fetch_section *sec, uint64_t *a, uint64_t *b)
{
	uint64_t len = *b - *a;

	if (!sec->partial)
		return;
	if (sec->origin >= len) {
		*a = *b;
		return;
	}
	*a += sec->origin;
	if (*b - *a > sec->count)
		*b = *a + sec->count;
}

/* ---- sinks: count, or write a window of what is produced ---- */

struct sink {
	struct io *io;		/* NULL: count only */
	uint64_t pos;		/* bytes produced so far */
	uint64_t start, end;	/* the window written */
};

static void
sink_put(struct sink *k, const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t lo = k->pos, hi = k->pos + n;

	k->pos = hi;
	if (k->io == NULL || hi <= k->start || lo >= k->end)
		return;
	if (lo < k->start) {
		b += k->start - lo;
		lo = k->start;
	}
	if (hi > k->end)
		hi = k->end;
	io_write(k->io, b, (size_t)(hi - lo));
}

/* Make the literal as long as announced; 1 if padding was needed. */
static int
sink_pad(struct sink *k)
{
	static const char spaces[64] = "                                "
	    "                                ";
	int short_by = k->io != NULL && k->pos < k->end;

	while (k->io != NULL && k->pos < k->end) {
		uint64_t n = k->end - k->pos;

		if (n > sizeof(spaces))
			n = sizeof(spaces);
		sink_put(k, spaces, (size_t)n);
	}
	return short_by;
}

/* ---- streaming a wire range ---- */

/* Stream the message through the CRLF converter into k until k->end. */
static int
stream_wire(struct src *s, struct sink *k)
{
	unsigned char in[CHUNK], out[2 * CHUNK];
	struct crlf c;
	ssize_t n = 0;

	crlf_init(&c);
	while (k->pos < k->end && (n = src_read(s, in, sizeof(in))) > 0)
		sink_put(k, out, crlf_convert(&c, in, (size_t)n, out));
	if (k->pos < k->end && n == 0)
		sink_put(k, out, crlf_finish(&c, out));
	return n < 0 ? -1 : 0;
}

/* ---- HEADER.FIELDS(.NOT): the filter over raw header bytes ---- */

enum fstate { F_LINE, F_NAME, F_KEEP, F_DROP, F_DONE };

struct filter {
	const struct fetch_section *sec;
	struct sink *k;
	enum fstate st;
	int keep;		/* the current field's fate (continuations) */
	int prev;		/* last byte of the line emitted, or -1 */
	char name[NAME_MAX_LEN + 2];
	size_t nlen;
};

/* Emit line bytes, turning a bare LF into CRLF (crlf.h's rule). */
static void
emit(struct filter *f, const char *p, size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' && f->prev != '\r') {
			sink_put(f->k, p + run, i - run);
			sink_put(f->k, "\r", 1);
			run = i;
		}
		f->prev = (unsigned char)p[i];
	}
	sink_put(f->k, p + run, n - run);
}

/* Is the field name (len bytes, trailing white space before the colon
 * allowed, RFC 5322 4.5.4... obs-optional) one the client listed? */
static int
name_listed(const struct fetch_section *sec, const char *name, size_t len)
{
	while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
		len--;
	for (size_t k = 0; k < sec->nfields; k++) {
		const struct imap_arg *a = &sec->fields[k];

		if (a->len == len && strncasecmp(a->str, name, len) == 0)
			return 1;
	}
	return 0;
}

/* The buffered start of a line is decided: a field named name[0..len)
 * (listed says whether the client named it). */
static void
decide(struct filter *f, int listed)
{
	f->keep = (f->sec->spec == FS_FIELDS) ? listed : !listed;
	f->st = f->keep ? F_KEEP : F_DROP;
	if (f->keep)
		emit(f, f->name, f->nlen);
	f->nlen = 0;
}

static int
blank_line(const struct filter *f)
{
	return f->nlen == 0 || (f->nlen == 1 && f->name[0] == '\r');
}

static void
filter_byte(struct filter *f, char ch)
{
	switch (f->st) {
	case F_LINE:
		f->prev = -1;
		if (ch == ' ' || ch == '\t') {
			/* a continuation shares its field's fate */
			f->st = f->keep ? F_KEEP : F_DROP;
			if (f->keep)
				emit(f, &ch, 1);
			return;
		}
		f->st = F_NAME;
		f->nlen = 0;
		/* FALLTHROUGH */
	case F_NAME:
		if (ch == '\n' && blank_line(f)) {
			f->st = F_DONE;		/* the header ends here */
			return;
		}
		f->name[f->nlen++] = ch;
		if (ch == ':')
			decide(f, name_listed(f->sec, f->name, f->nlen - 1));
		else if (ch == '\n') {
			/* not a field: no name can match it */
			decide(f, 0);
			f->st = F_LINE;
		} else if (f->nlen > NAME_MAX_LEN)
			decide(f, 0);
		return;
	case F_KEEP:
		emit(f, &ch, 1);
		/* FALLTHROUGH */
	case F_DROP:
		if (ch == '\n')
			f->st = F_LINE;
		return;
	case F_DONE:
		return;
	}
}

/* End of the header bytes: finish a cut line, then the blank line that
 * ends the header (RFC 3501 6.4.5: it is part of the result). */
static void
filter_end(struct filter *f)
{
	if (f->st == F_NAME && f->nlen > 0)
		decide(f, 0);
	if (f->st == F_KEEP && f->prev != '\n')
		emit(f, "\n", 1);
	sink_put(f->k, "\r\n", 2);
}

/* Skip to raw offset off, then filter len header bytes into k. */
static int
filter_header(struct src *s, uint64_t off, uint64_t len,
    const struct fetch_section *sec, struct sink *k)
{
	struct filter *f = xcalloc(1, sizeof(*f));
	char buf[CHUNK];
	uint64_t pos = 0;
	ssize_t n = 1;
	int r = 0;

	f->sec = sec;
	f->k = k;
	f->prev = -1;
	while (pos < off + len && f->st != F_DONE &&
	    (n = src_read(s, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n && f->st != F_DONE; i++, pos++)
			if (pos >= off && pos < off + len)
				filter_byte(f, buf[i]);
	}
	if (n < 0)
		r = -1;
	filter_end(f);
	free(f);
	return r;
}

/* ---- writing a section ---- */

static enum fetch_body_result
open_failed(struct io *io, enum store_result r)
{
	io_puts(io, "NIL");
	return r == STORE_ENOENT ? FB_GONE : FB_ERROR;
}

static enum fetch_body_result
finish(struct sink *k, int rd, const struct fetch_msg *m)
{
	if (sink_pad(k) || rd < 0) {
		if (m->st != NULL)
			log_msg(LOG_ERR, "FETCH: message %u could not be read "
			    "as its size said", m->i + 1);
		return FB_ERROR;
	}
	return FB_OK;
}

static enum fetch_body_result
write_fields_section(struct io *io, const struct fetch_msg *m,
    const struct mime_tree *t, const struct fetch_section *sec)
{
	struct sink k = { NULL, 0, 0, UINT64_MAX };
	const struct mime_part *mp;
	enum store_result r;
	uint64_t a = 0, b;
	struct src s;
	uint32_t p;
	int rd;

	if (t == NULL || (p = section_part(t, sec)) == MIME_NONE) {
		io_puts(io, "NIL");
		return FB_OK;
	}
	mp = &t->parts[p];
	if ((r = src_open(m, &s)) != STORE_OK)
		return open_failed(io, r);
	rd = filter_header(&s, mp->hdr_off, mp->body_off - mp->hdr_off, sec, &k);
	src_close(&s);
	if (rd < 0)
		return open_failed(io, STORE_ETEMP);
	b = k.pos;
	cut_partial(sec, &a, &b);
	if (a == b) {
		io_puts(io, "\"\"");
		return FB_OK;
	}
	if ((r = src_open(m, &s)) != STORE_OK)
		return open_failed(io, r);
	io_printf(io, "{%llu}\r\n", (unsigned long long)(b - a));
	k = (struct sink){ io, 0, a, b };
	rd = filter_header(&s, mp->hdr_off, mp->body_off - mp->hdr_off, sec, &k);
	src_close(&s);
	return finish(&k, rd, m);
}

enum fetch_body_result
fetch_write_section(struct io *io, const struct fetch_msg *m,
    const struct mime_tree *t, uint64_t wire_size,
    const struct fetch_section *sec)
{
	enum store_result r;
	uint64_t a, b;
	struct src s;
	struct sink k;
	int rd;

	if (sec->spec == FS_FIELDS || sec->spec == FS_FIELDS_NOT)
		return write_fields_section(io, m, t, sec);
	if (section_range(t, wire_size, sec, &a, &b) < 0) {
		io_puts(io, "NIL");
		return FB_OK;
	}
	cut_partial(sec, &a, &b);
	if (a == b) {
		io_puts(io, "\"\"");
		return FB_OK;
	}
	if ((r = src_open(m, &s)) != STORE_OK)
		return open_failed(io, r);
	io_printf(io, "{%llu}\r\n", (unsigned long long)(b - a));
	k = (struct sink){ io, 0, a, b };
	rd = stream_wire(&s, &k);
	src_close(&s);
	return finish(&k, rd, m);
}
