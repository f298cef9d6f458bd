/*
 * mime_blob.c - the part tree as the compact bytes the store caches per
 * message, and back.  doc/mime.md gives the format: a magic and version,
 * then LEB128 varints (little-endian base 128) and length-prefixed
 * strings, parts in depth-first order.
 *
 * The cache file belongs to the mail user, so decoding trusts nothing:
 * every count is checked against the bytes left before anything is
 * allocated, every string against the end, every offset against its
 * parent and siblings, and the arena's budget bounds the whole tree.
 * Varints must be minimal and nothing may follow the tree, so a blob
 * that decodes encodes back to the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "mime_int.h"
#include "util.h"

#define BLOB_MAGIC "PMIM"
#define BLOB_VERSION 1
/* A parsed tree that met its budget may point at strings and an empty
 * envelope kept outside the arena; decoding copies those in, so it may
 * use this much more. */
#define DECODE_SLACK ((size_t)MIME_MAX_PARTS * \
	(sizeof(struct mime_env) + 4 * 16))

/* The writer. */
struct wr {
	unsigned char *p;
	size_t len, cap;
};

static void
put(struct wr *w, const void *p, size_t n)
{
	if (w->cap - w->len < n) {
		while (w->cap - w->len < n)
			w->cap = w->cap ? 2 * w->cap : 256;
		w->p = xreallocarray(w->p, w->cap, 1);
	}
	memcpy(w->p + w->len, p, n);
	w->len += n;
}

static void
put_u(struct wr *w, uint64_t v)
{
	unsigned char b[10];
	size_t n = 0;

	do {
		b[n] = v & 0x7f;
		v >>= 7;
		if (v != 0)
			b[n] |= 0x80;
		n++;
	} while (v != 0);
	put(w, b, n);
}

/* 0 is NIL, else the length plus one and the bytes. */
static void
put_s(struct wr *w, const struct mime_str *s)
{
	if (s->p == NULL) {
		put_u(w, 0);
		return;
	}
	put_u(w, (uint64_t)s->len + 1);
	put(w, s->p, s->len);
}

static void
put_params(struct wr *w, const struct mime_param *ps, uint32_t n)
{
	put_u(w, n);
	for (uint32_t i = 0; i < n; i++) {
		put_s(w, &ps[i].name);
		put_s(w, &ps[i].value);
		put_s(w, &ps[i].raw);
	}
}

static void
put_env(struct wr *w, const struct mime_env *e)
{
	for (int f = 0; f < MIME_ENV_NFIELDS; f++)
		put_s(w, &e->raw[f]);
	for (int f = MIME_ENV_FROM; f <= MIME_ENV_BCC; f++) {
		put_u(w, e->addr[f].n);
		for (uint32_t i = 0; i < e->addr[f].n; i++) {
			const struct mime_addr *a = &e->addr[f].a[i];

			put_s(w, &a->name);
			put_s(w, &a->adl);
			put_s(w, &a->mailbox);
			put_s(w, &a->host);
		}
	}
}

static void
put_part(struct wr *w, const struct mime_part *p, uint32_t i)
{
	static const struct mime_env no_env;

	if (i > 0)
		put_u(w, p->parent);
	put_u(w, p->flags);
	put_u(w, p->hdr_off);
	put_u(w, p->body_off - p->hdr_off);
	put_u(w, p->end_off - p->body_off);
	put_u(w, p->hdr_wire);
	put_u(w, p->body_wire - p->hdr_wire);
	put_u(w, p->end_wire - p->body_wire);
	put_u(w, p->lines);
	put_s(w, &p->type);
	put_s(w, &p->subtype);
	put_params(w, p->params, p->nparams);
	put_s(w, &p->id);
	put_s(w, &p->description);
	put_s(w, &p->encoding);
	put_s(w, &p->md5);
	put_s(w, &p->location);
	put_s(w, &p->disposition);
	put_params(w, p->disp_params, p->ndisp_params);
	put_u(w, p->nlanguage);
	for (uint32_t k = 0; k < p->nlanguage; k++)
		put_s(w, &p->language[k]);
	if (p->flags & MIME_PART_MESSAGE)
		put_env(w, p->env != NULL ? p->env : &no_env);
}

unsigned char *
mime_blob_encode(const struct mime_tree *t, size_t *len)
{
	struct wr w = { NULL, 0, 0 };
	unsigned char v = BLOB_VERSION;

	put(&w, BLOB_MAGIC, 4);
	put(&w, &v, 1);
	put_u(&w, t->size);
	put_u(&w, t->wire_size);
	put_u(&w, t->flags);
	put_u(&w, t->nparts);
	for (uint32_t i = 0; i < t->nparts; i++)
		put_part(&w, &t->parts[i], i);
	*len = w.len;
	return w.p;
}

/* The reader: any failure sets bad and every later read fails too. */
struct rd {
	const unsigned char *p;
	size_t i, n;
	struct mime_arena *a;
	int bad;
};

static uint64_t
get_u(struct rd *r)
{
	uint64_t v = 0;

	for (int k = 0; k < 10 && !r->bad; k++) {
		unsigned char b;

		if (r->i >= r->n)
			break;
		b = r->p[r->i++];
		if (k == 9 && b > 1)
			break;		/* past 64 bits */
		v |= (uint64_t)(b & 0x7f) << (7 * k);
		if (!(b & 0x80)) {
			if (b == 0 && k > 0)
				break;	/* not minimal */
			return v;
		}
	}
	r->bad = 1;
	return 0;
}

/* A count of items of at least min_size bytes each, up to max. */
static uint32_t
get_n(struct rd *r, uint64_t max, size_t min_size)
{
	uint64_t n = get_u(r);

	if (n > max || n > (r->n - r->i) / min_size)
		r->bad = 1;
	return r->bad ? 0 : (uint32_t)n;
}

static void
get_s(struct rd *r, struct mime_str *s)
{
	uint64_t n = get_u(r);

	s->p = NULL;
	s->len = 0;
	if (r->bad || n == 0)
		return;
	if (n - 1 > r->n - r->i ||
	    mime_arena_str(r->a, r->p + r->i, n - 1, s) < 0) {
		r->bad = 1;
		return;
	}
	r->i += n - 1;
}

static void *
get_array(struct rd *r, uint32_t n, size_t size)
{
	void *p;

	if (r->bad || n == 0)
		return NULL;
	if ((p = mime_arena_alloc(r->a, (size_t)n * size)) == NULL)
		r->bad = 1;
	return p;
}

static void
get_params(struct rd *r, struct mime_param **ps, uint32_t *np)
{
	*np = get_n(r, UINT32_MAX, 3);
	*ps = get_array(r, *np, sizeof(**ps));
	for (uint32_t i = 0; i < *np && !r->bad; i++) {
		get_s(r, &(*ps)[i].name);
		get_s(r, &(*ps)[i].value);
		get_s(r, &(*ps)[i].raw);
	}
	if (r->bad)
		*np = 0;
}

static void
get_env(struct rd *r, struct mime_part *p)
{
	struct mime_env *e = get_array(r, 1, sizeof(*e));

	p->env = e;
	for (int f = 0; f < MIME_ENV_NFIELDS && !r->bad; f++)
		get_s(r, &e->raw[f]);
	for (int f = MIME_ENV_FROM; f <= MIME_ENV_BCC && !r->bad; f++) {
		uint32_t n = get_n(r, UINT32_MAX, 4);

		e->addr[f].a = get_array(r, n, sizeof(struct mime_addr));
		for (uint32_t i = 0; i < n && !r->bad; i++) {
			struct mime_addr *a = &e->addr[f].a[i];

			get_s(r, &a->name);
			get_s(r, &a->adl);
			get_s(r, &a->mailbox);
			get_s(r, &a->host);
		}
		e->addr[f].n = r->bad ? 0 : n;
	}
}

/* a + b without wrapping. */
static uint64_t
add(struct rd *r, uint64_t a, uint64_t b)
{
	if (a > UINT64_MAX - b)
		r->bad = 1;
	return a + b;
}

static void
get_part(struct rd *r, struct mime_part *p)
{
	p->flags = (uint32_t)get_u(r);
	p->hdr_off = get_u(r);
	p->body_off = add(r, p->hdr_off, get_u(r));
	p->end_off = add(r, p->body_off, get_u(r));
	p->hdr_wire = get_u(r);
	p->body_wire = add(r, p->hdr_wire, get_u(r));
	p->end_wire = add(r, p->body_wire, get_u(r));
	p->lines = get_u(r);
	get_s(r, &p->type);
	get_s(r, &p->subtype);
	get_params(r, &p->params, &p->nparams);
	get_s(r, &p->id);
	get_s(r, &p->description);
	get_s(r, &p->encoding);
	get_s(r, &p->md5);
	get_s(r, &p->location);
	get_s(r, &p->disposition);
	get_params(r, &p->disp_params, &p->ndisp_params);
	p->nlanguage = get_n(r, UINT32_MAX, 1);
	p->language = get_array(r, p->nlanguage, sizeof(*p->language));
	for (uint32_t k = 0; k < p->nlanguage && !r->bad; k++)
		get_s(r, &p->language[k]);
	if (r->bad)
		p->nlanguage = 0;
	if ((p->flags & MIME_PART_MESSAGE) && !r->bad)
		get_env(r, p);
}

/* Is parent on the path from the root to part i - 1 (so that adding i
 * under it keeps the depth-first order)? */
static int
on_last_path(const struct mime_tree *t, uint32_t i, uint32_t parent)
{
	for (uint32_t k = i - 1; k != MIME_NONE; k = t->parts[k].parent)
		if (k == parent)
			return 1;
	return 0;
}

static int
is_type(const struct mime_part *p, const char *type, const char *sub)
{
	return mime_str_is(&p->type, type) &&
	    (sub == NULL || mime_str_is(&p->subtype, sub));
}

/* What the formatter relies on: ranges nest and ascend, only multiparts
 * and message/rfc822 have children, envelopes where messages are. */
static int
part_ok(const struct mime_tree *t, uint32_t i, uint32_t prev_sib)
{
	const struct mime_part *p = &t->parts[i];
	int message = i == 0 || is_type(&t->parts[p->parent], "message",
	    "rfc822");

	if ((p->flags & ~(uint32_t)MIME_PART_FLAGS) != 0 ||
	    !(p->flags & MIME_PART_MESSAGE) != !message ||
	    p->type.p == NULL || p->subtype.p == NULL ||
	    p->encoding.p == NULL || p->end_off > t->size ||
	    p->end_wire > t->wire_size ||
	    p->lines > p->end_off - p->body_off + 1)
		return 0;
	if (i == 0)
		return p->hdr_off == 0 && p->hdr_wire == 0 &&
		    p->end_off == t->size && p->end_wire == t->wire_size;
	{
		const struct mime_part *pp = &t->parts[p->parent];

		if (!is_type(pp, "multipart", NULL) &&
		    !(is_type(pp, "message", "rfc822") && pp->nchildren == 1))
			return 0;
		if (p->hdr_off < pp->body_off || p->end_off > pp->end_off ||
		    p->hdr_wire < pp->body_wire || p->end_wire > pp->end_wire)
			return 0;
	}
	if (prev_sib != MIME_NONE &&
	    (p->hdr_off < t->parts[prev_sib].end_off ||
	    p->hdr_wire < t->parts[prev_sib].end_wire))
		return 0;
	return 1;
}

static int
link_part(struct mime_tree *t, uint32_t i, uint32_t parent)
{
	struct mime_part *p = &t->parts[i], *pp;
	uint32_t prev = MIME_NONE;

	p->first_child = p->next = MIME_NONE;
	p->parent = parent;
	if (i == 0)
		return part_ok(t, 0, MIME_NONE);
	if (parent >= i || !on_last_path(t, i, parent))
		return 0;
	pp = &t->parts[parent];
	if ((p->depth = pp->depth + 1) > MIME_MAX_DEPTH)
		return 0;
	if (pp->first_child == MIME_NONE)
		pp->first_child = i;
	else {
		/* the previous sibling is the child of parent on the path
		 * to i - 1 */
		for (prev = i - 1; t->parts[prev].parent != parent;)
			prev = t->parts[prev].parent;
		t->parts[prev].next = i;
	}
	pp->nchildren++;
	return part_ok(t, i, prev);
}

struct mime_tree *
mime_blob_decode(const void *blob, size_t len)
{
	struct mime_tree *t = mime_tree_new();
	struct rd r = { blob, 5, len, t->arena, 0 };
	uint32_t n;

	mime_arena_budget(t->arena, MIME_MAX_TREE_BYTES + DECODE_SLACK);
	if (len < 5 || memcmp(blob, BLOB_MAGIC, 4) != 0 ||
	    r.p[4] != BLOB_VERSION)
		goto bad;
	t->size = get_u(&r);
	t->wire_size = get_u(&r);
	t->flags = (uint32_t)get_u(&r);
	n = get_n(&r, MIME_MAX_PARTS, 19);
	if (r.bad || n == 0 || (t->flags & ~(uint32_t)MIME_TREE_FLAGS))
		goto bad;
	t->parts = xcalloc(n, sizeof(*t->parts));
	for (uint32_t i = 0; i < n; i++) {
		uint64_t parent = i == 0 ? MIME_NONE : get_u(&r);

		get_part(&r, &t->parts[i]);
		t->nparts = i + 1;
		/* children are counted as they arrive, so a message/rfc822
		 * part with a second child fails in part_ok */
		if (r.bad || parent > MIME_NONE ||
		    !link_part(t, i, (uint32_t)parent))
			goto bad;
		if (i > 0 && is_type(&t->parts[parent], "message", "rfc822") &&
		    t->parts[parent].nchildren > 1)
			goto bad;
	}
	if (r.i != r.n)
		goto bad;
	return t;
bad:
	mime_tree_free(t);
	return NULL;
}
