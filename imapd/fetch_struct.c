/*
 * fetch_struct.c - ENVELOPE, BODY and BODYSTRUCTURE (RFC 3501 7.4.2 and
 * the grammar of section 9) from a parsed MIME tree (mime.h).
 *
 * The tree comes from untrusted message bytes: strings may hold 8-bit
 * bytes, CR, LF or NUL, lists may be empty, nesting may be deep.  What
 * is written must still be one well-formed response: 8-bit and control
 * bytes go out as literals, NUL (which no IMAP string may hold) as 0x80,
 * and the places where the grammar needs at least one element get a
 * neutral one, as Dovecot writes them (doc/mime.md).
 */
#include <string.h>

#include "fetch.h"

/* The part RFC 3501's grammar needs where a multipart has none, as
 * Dovecot writes it (with the RFC 2045 5.2 default charset). */
#define EMPTY_PART \
	"\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0"
/* An envelope with nothing known, for a message/rfc822 part whose
 * content was not parsed (body-type-msg needs one). */
#define EMPTY_ENVELOPE "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"

void
fetch_write_nstring(struct io *io, const struct mime_str *s)
{
	const char *nul;
	char chunk[4096];

	if (s->p == NULL) {
		io_puts(io, "NIL");
		return;
	}
	if ((nul = memchr(s->p, '\0', s->len)) == NULL) {
		imap_write_string(io, s->p, s->len);
		return;
	}
	/* 0x80 makes it 8-bit, so it is a literal of the same length */
	io_printf(io, "{%u}\r\n", (unsigned)s->len);
	for (uint32_t off = 0; off < s->len; ) {
		uint32_t n = s->len - off;

		if (n > sizeof(chunk))
			n = sizeof(chunk);
		memcpy(chunk, s->p + off, n);
		for (uint32_t k = 0; k < n; k++)
			if (chunk[k] == '\0')
				chunk[k] = (char)0x80;
		io_write(io, chunk, n);
		off += n;
	}
}

static void
write_cstr(struct io *io, const char *s)
{
	struct mime_str m = { s, (uint32_t)strlen(s) };

	fetch_write_nstring(io, &m);
}

/* env-from etc.: "(" 1*address ")" / nil */
static void
write_addrs(struct io *io, const struct mime_alist *l)
{
	if (l == NULL || l->n == 0) {
		io_puts(io, "NIL");
		return;
	}
	io_puts(io, "(");
	for (uint32_t k = 0; k < l->n; k++) {
		const struct mime_addr *a = &l->a[k];

		io_puts(io, "(");
		fetch_write_nstring(io, &a->name);
		io_puts(io, " ");
		fetch_write_nstring(io, &a->adl);
		io_puts(io, " ");
		fetch_write_nstring(io, &a->mailbox);
		io_puts(io, " ");
		fetch_write_nstring(io, &a->host);
		io_puts(io, ")");
	}
	io_puts(io, ")");
}

void
fetch_write_envelope(struct io *io, const struct mime_env *env)
{
	io_puts(io, "(");
	for (int f = 0; f < MIME_ENV_NFIELDS; f++) {
		if (f > 0)
			io_puts(io, " ");
		/* Sender and Reply-To default to From (RFC 3501 7.4.2) */
		if (MIME_ENV_IS_ADDR(f))
			write_addrs(io, mime_env_addr(env, f));
		else
			fetch_write_nstring(io, &env->raw[f]);
	}
	io_puts(io, ")");
}

/* body-fld-param: "(" string SP string *(SP string SP string) ")" / nil */
static void
write_params(struct io *io, const struct mime_param *ps, uint32_t n)
{
	static const struct mime_str empty = { "", 0 };

	if (n == 0) {
		io_puts(io, "NIL");
		return;
	}
	io_puts(io, "(");
	for (uint32_t k = 0; k < n; k++) {
		if (k > 0)
			io_puts(io, " ");
		fetch_write_nstring(io, ps[k].name.p ? &ps[k].name : &empty);
		io_puts(io, " ");
		fetch_write_nstring(io, ps[k].value.p ? &ps[k].value : &empty);
	}
	io_puts(io, ")");
}

/* body-fld-dsp: "(" string SP body-fld-param ")" / nil */
static void
write_disposition(struct io *io, const struct mime_part *p)
{
	if (p->disposition.p == NULL) {
		io_puts(io, "NIL");
		return;
	}
	io_puts(io, "(");
	fetch_write_nstring(io, &p->disposition);
	io_puts(io, " ");
	write_params(io, p->disp_params, p->ndisp_params);
	io_puts(io, ")");
}

/* body-fld-lang: nstring / "(" string *(SP string) ")" */
static void
write_language(struct io *io, const struct mime_part *p)
{
	if (p->nlanguage == 0) {
		io_puts(io, "NIL");
		return;
	}
	if (p->nlanguage == 1) {
		fetch_write_nstring(io, &p->language[0]);
		return;
	}
	io_puts(io, "(");
	for (uint32_t k = 0; k < p->nlanguage; k++) {
		if (k > 0)
			io_puts(io, " ");
		fetch_write_nstring(io, &p->language[k]);
	}
	io_puts(io, ")");
}

/* SP body-fld-dsp SP body-fld-lang SP body-fld-loc, shared by both
 * extension forms. */
static void
write_ext_tail(struct io *io, const struct mime_part *p)
{
	io_puts(io, " ");
	write_disposition(io, p);
	io_puts(io, " ");
	write_language(io, p);
	io_puts(io, " ");
	fetch_write_nstring(io, &p->location);
}

static int
str_is(const struct mime_str *s, const char *word)
{
	size_t n = strlen(word);

	return s->p != NULL && s->len == n && memcmp(s->p, word, n) == 0;
}

static void write_part(struct io *io, const struct mime_tree *t, uint32_t p,
    int extended);

/* body-type-mpart: 1*body SP media-subtype [SP body-ext-mpart] */
static void
write_multipart(struct io *io, const struct mime_tree *t, uint32_t p,
    int extended)
{
	const struct mime_part *mp = &t->parts[p];

	if (mp->first_child == MIME_NONE) {
		io_puts(io, "(" EMPTY_PART);
		io_puts(io, extended ? " NIL NIL NIL NIL)" : ")");
	}
	for (uint32_t c = mp->first_child; c != MIME_NONE; c = t->parts[c].next)
		write_part(io, t, c, extended);
	io_puts(io, " ");
	write_cstr(io, mp->subtype.p ? mp->subtype.p : "mixed");
	if (!extended)
		return;
	io_puts(io, " ");
	write_params(io, mp->params, mp->nparams);
	write_ext_tail(io, mp);
}

/* body-fields: param SP id SP desc SP enc SP octets */
static void
write_fields(struct io *io, const struct mime_part *p)
{
	write_params(io, p->params, p->nparams);
	io_puts(io, " ");
	fetch_write_nstring(io, &p->id);
	io_puts(io, " ");
	fetch_write_nstring(io, &p->description);
	io_puts(io, " ");
	if (p->encoding.p != NULL)
		fetch_write_nstring(io, &p->encoding);
	else
		io_puts(io, "\"7bit\"");
	io_printf(io, " %llu", (unsigned long long)(p->end_wire - p->body_wire));
}

/* body-type-1part: basic, text or message/rfc822 part */
static void
write_single(struct io *io, const struct mime_tree *t, uint32_t p,
    int extended)
{
	const struct mime_part *sp = &t->parts[p];
	int is_msg = str_is(&sp->type, "message") &&
	    str_is(&sp->subtype, "rfc822");

	fetch_write_nstring(io, &sp->type);
	io_puts(io, " ");
	fetch_write_nstring(io, &sp->subtype);
	io_puts(io, " ");
	write_fields(io, sp);
	if (is_msg) {
		/* media-message SP body-fields SP envelope SP body SP lines */
		uint32_t c = sp->first_child;

		io_puts(io, " ");
		if (c != MIME_NONE && t->parts[c].env != NULL) {
			fetch_write_envelope(io, t->parts[c].env);
			io_puts(io, " ");
			write_part(io, t, c, extended);
		} else {
			io_puts(io, EMPTY_ENVELOPE " (" EMPTY_PART);
			io_puts(io, extended ? " NIL NIL NIL NIL)" : ")");
		}
		io_printf(io, " %llu", (unsigned long long)sp->lines);
	} else if (str_is(&sp->type, "text")) {
		io_printf(io, " %llu", (unsigned long long)sp->lines);
	}
	if (!extended)
		return;
	/* body-ext-1part: md5 SP dsp SP lang SP loc */
	io_puts(io, " ");
	fetch_write_nstring(io, &sp->md5);
	write_ext_tail(io, sp);
}

static void
write_part(struct io *io, const struct mime_tree *t, uint32_t p, int extended)
{
	const struct mime_part *mp = &t->parts[p];

	io_puts(io, "(");
	/* an opaque multipart (no boundary, a limit) has no children and
	 * is written like an empty one: the grammar allows nothing else */
	if (str_is(&mp->type, "multipart"))
		write_multipart(io, t, p, extended);
	else
		write_single(io, t, p, extended);
	io_puts(io, ")");
}

void
fetch_write_body(struct io *io, const struct mime_tree *t, uint32_t p,
    int extended)
{
	if (t == NULL || p >= t->nparts) {
		io_puts(io, "(" EMPTY_PART ")");
		return;
	}
	write_part(io, t, p, extended);
}
