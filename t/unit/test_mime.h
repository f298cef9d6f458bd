/*
 * test_mime.h - what the mime tests share: parsing in chunks, the
 * invariants every tree must keep (checked against the input itself),
 * the blob round trip, and a one-line-per-part dump to compare with.
 */
#ifndef POSTERN_TEST_MIME_H
#define POSTERN_TEST_MIME_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"
#include "tap.h"

static inline struct mime_tree *
parse_steps(const void *m, size_t n, size_t step)
{
	struct mime_parser *p = mime_parser_init();

	for (size_t i = 0; i < n; i += step)
		mime_parser_feed(p, (const char *)m + i,
		    n - i < step ? n - i : step);
	return mime_parser_finish(p);
}

/* An offset of some part, with what the input says about it. */
struct at {
	uint64_t off, wire, lf;
	int partial;		/* the byte before it is not LF */
	uint32_t part, which;
};

static inline int
at_cmp(const void *a, const void *b)
{
	const struct at *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Fill in wire offsets (crlf.h's rule, computed independently), LFs
 * before, for every entry, in one pass over the input. */
static inline void
sweep(const unsigned char *m, size_t n, struct at *v, size_t nv)
{
	uint64_t w = 0, lf = 0, i = 0;

	qsort(v, nv, sizeof(*v), at_cmp);
	for (size_t k = 0; k < nv; k++) {
		for (; i < v[k].off && i < n; i++) {
			w += (m[i] == '\n' && (i == 0 || m[i - 1] != '\r')) ?
			    2 : 1;
			lf += m[i] == '\n';
		}
		v[k].wire = w + (v[k].off == n && n > 0 && m[n - 1] != '\n' ?
		    2 : 0);
		v[k].lf = lf;
		v[k].partial = v[k].off > 0 && m[v[k].off - 1] != '\n';
	}
}

/* Every part: ranges ordered and nested, wire offsets and line counts
 * as the input says.  Returns NULL or what is wrong. */
static inline const char *
tree_problem(const struct mime_tree *t, const void *msg, size_t n)
{
	const unsigned char *m = msg;
	struct at *v = calloc(3 * (size_t)t->nparts + 1, sizeof(*v));
	uint64_t *lfs = calloc(3 * (size_t)t->nparts + 1, sizeof(*lfs));
	unsigned char *partial = calloc((size_t)t->nparts + 1, 1);
	const char *why = NULL;

	for (uint32_t i = 0; i < t->nparts; i++) {
		const struct mime_part *p = &t->parts[i];
		uint64_t offs[3] = { p->hdr_off, p->body_off, p->end_off };

		for (uint32_t k = 0; k < 3; k++)
			v[3 * i + k] = (struct at){ offs[k], 0, 0, 0, i, k };
	}
	v[3 * t->nparts] = (struct at){ n, 0, 0, 0, MIME_NONE, 0 };
	sweep(m, n, v, 3 * (size_t)t->nparts + 1);
	for (size_t k = 0; k <= 3 * (size_t)t->nparts; k++) {
		const struct mime_part *p;
		uint64_t want;

		if (v[k].part == MIME_NONE) {
			if (t->size != n || t->wire_size != v[k].wire)
				why = "sizes";
			continue;
		}
		p = &t->parts[v[k].part];
		want = v[k].which == 0 ? p->hdr_wire :
		    v[k].which == 1 ? p->body_wire : p->end_wire;
		if (want != v[k].wire)
			why = "wire";
		lfs[3 * v[k].part + v[k].which] = v[k].lf;
		if (v[k].which == 2)
			partial[v[k].part] = (unsigned char)v[k].partial;
	}
	for (uint32_t i = 0; i < t->nparts && why == NULL; i++) {
		const struct mime_part *p = &t->parts[i];
		uint64_t lines = lfs[3 * i + 2] - lfs[3 * i + 1] +
		    (p->end_off > p->body_off ? partial[i] : 0);

		if (p->hdr_off > p->body_off || p->body_off > p->end_off ||
		    p->end_off > n)
			why = "order";
		else if (p->lines != lines)
			why = "lines";
		else if (p->type.p == NULL || p->subtype.p == NULL ||
		    p->encoding.p == NULL)
			why = "type";
		else if (!(p->flags & MIME_PART_MESSAGE) != !p->env)
			why = "env";
		else if (i > 0 && (p->parent >= i ||
		    p->hdr_off < t->parts[p->parent].body_off ||
		    p->end_off > t->parts[p->parent].end_off))
			why = "nesting";
	}
	free(v);
	free(lfs);
	free(partial);
	return t->nparts == 0 ? "no parts" : why;
}

/* encode, decode, encode: the same bytes. */
static inline int
blob_roundtrip(const struct mime_tree *t)
{
	size_t n1, n2;
	unsigned char *b1 = mime_blob_encode(t, &n1), *b2 = NULL;
	struct mime_tree *d = mime_blob_decode(b1, n1);
	int ok = d != NULL;

	if (ok) {
		b2 = mime_blob_encode(d, &n2);
		ok = n1 == n2 && memcmp(b1, b2, n1) == 0 &&
		    d->nparts == t->nparts;
	}
	free(b1);
	free(b2);
	mime_tree_free(d);
	return ok;
}

static inline void
str_cat(char *out, size_t cap, const struct mime_str *s)
{
	size_t o = strlen(out);

	if (s->p == NULL)
		snprintf(out + o, cap - o, "NIL");
	else
		snprintf(out + o, cap - o, "%.*s", (int)s->len, s->p);
}

/* One line per part: depth dots, type/subtype, offsets, lines. */
static inline void
dump(const struct mime_tree *t, char *out, size_t cap)
{
	out[0] = '\0';
	for (uint32_t i = 0; i < t->nparts; i++) {
		const struct mime_part *p = &t->parts[i];
		size_t o = strlen(out);

		for (uint32_t d = 0; d < p->depth; d++)
			snprintf(out + strlen(out), cap - strlen(out), ".");
		str_cat(out, cap, &p->type);
		snprintf(out + strlen(out), cap - strlen(out), "/");
		str_cat(out, cap, &p->subtype);
		o = strlen(out);
		snprintf(out + o, cap - o, " %llu,%llu,%llu l%llu\n",
		    (unsigned long long)p->hdr_off,
		    (unsigned long long)p->body_off,
		    (unsigned long long)p->end_off,
		    (unsigned long long)p->lines);
	}
}

/* Parse m whole, byte by byte and in 7-byte chunks: the same blob each
 * time, a tree without problems, and an exact round trip.  Returns the
 * whole-input tree. */
static inline struct mime_tree *
check_parse(const char *name, const char *m, size_t n)
{
	struct mime_tree *t = parse_steps(m, n, n ? n : 1);
	size_t l0, l1;
	unsigned char *b0 = mime_blob_encode(t, &l0);
	const char *why = tree_problem(t, m, n);
	int same = 1;

	for (size_t step = 1; step <= 7; step += 6) {
		struct mime_tree *t1 = parse_steps(m, n, step);
		unsigned char *b1 = mime_blob_encode(t1, &l1);

		same &= l0 == l1 && memcmp(b0, b1, l0) == 0;
		free(b1);
		mime_tree_free(t1);
	}
	free(b0);
	tap_ok(why == NULL, "%s: tree consistent with input%s%s", name,
	    why ? ": " : "", why ? why : "");
	tap_ok(same, "%s: same tree whatever the chunk size", name);
	tap_ok(blob_roundtrip(t), "%s: blob round trip", name);
	return t;
}

#endif
