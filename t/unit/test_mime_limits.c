/*
 * test_mime_limits.c - the parser's limits (mime.h) and its cost: huge
 * lines, many parts, deep nesting, huge fields and a message whose kept
 * strings pass the tree budget all give a valid tree that round-trips
 * through the blob, in time linear in the input.
 */
#include <time.h>

#include "test_mime.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parse m whole and in 4 KiB chunks; both valid and equal. */
static struct mime_tree *
big(const char *name, const char *m, size_t n)
{
	double t0 = now();
	struct mime_tree *t = parse_steps(m, n, n ? n : 1);
	double dt = now() - t0;
	struct mime_tree *c = parse_steps(m, n, 4096);
	const char *why = tree_problem(t, m, n);
	size_t l1, l2;
	unsigned char *b1 = mime_blob_encode(t, &l1);
	unsigned char *b2 = mime_blob_encode(c, &l2);

	tap_ok(why == NULL, "%s: tree consistent with input%s%s", name,
	    why ? ": " : "", why ? why : "");
	tap_ok(l1 == l2 && memcmp(b1, b2, l1) == 0,
	    "%s: same tree in 4 KiB chunks", name);
	tap_ok(blob_roundtrip(t), "%s: blob round trip", name);
	tap_diag("%s: %zu bytes, %u parts, parsed in %.3f s", name, n,
	    t->nparts, dt);
	free(b1);
	free(b2);
	mime_tree_free(c);
	return t;
}

struct text {
	char *p;
	size_t n, cap;
};

static void
add(struct text *x, const char *s, size_t n)
{
	if (x->n + n + 1 > x->cap) {
		x->cap = (x->n + n + 1) * 2;
		x->p = realloc(x->p, x->cap);
	}
	memcpy(x->p + x->n, s, n);
	x->n += n;
	x->p[x->n] = '\0';
}

static void
adds(struct text *x, const char *s)
{
	add(x, s, strlen(s));
}

static void
long_lines(void)
{
	size_t n = 10u << 20;
	char *m = malloc(n + 64);
	struct mime_tree *t;

	/* one 10 MB header line, no line break at all */
	memcpy(m, "Subject: ", 9);
	memset(m + 9, 'a', n - 9);
	t = big("10 MB single line", m, n);
	tap_is_int(t->parts[0].env->raw[MIME_ENV_SUBJECT].len,
	    MIME_MAX_FIELD - 9,
	    "10 MB line: the field (name included) cut at MIME_MAX_FIELD");
	tap_is_int((long long)t->wire_size, (long long)n + 2,
	    "10 MB line: wire size with the final CRLF");
	mime_tree_free(t);

	/* a 10 MB body line, then a delimiter padded with 1 MB of spaces */
	n = 0;
	strcpy(m, "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n");
	n = strlen(m);
	memset(m + n, 'x', 8u << 20);
	n += 8u << 20;
	memcpy(m + n, "\n--b--", 6);
	n += 6;
	memset(m + n, ' ', 1u << 20);
	n += 1u << 20;
	m[n++] = '\n';
	t = big("long body line, padded delimiter", m, n);
	tap_ok(t->nparts == 2 && !(t->parts[0].flags & MIME_PART_NOCLOSE),
	    "padded close delimiter recognised");
	mime_tree_free(t);
	free(m);
}

static void
many_parts(unsigned nparts, int over)
{
	struct text x = { 0 };
	struct mime_tree *t;
	char name[64];

	adds(&x, "Content-Type: multipart/mixed; boundary=p\n\n");
	for (unsigned i = 0; i < nparts; i++)
		adds(&x, "--p\nContent-Type: text/plain\n\nsome text\n");
	adds(&x, "--p--\n");
	snprintf(name, sizeof(name), "%u parts", nparts);
	t = big(name, x.p, x.n);
	if (over) {
		tap_is_int(t->nparts, MIME_MAX_PARTS, "parts capped");
		tap_ok(t->flags & MIME_TREE_PARTS, "parts limit flagged");
		tap_ok(t->parts[t->nparts - 1].end_off < x.n &&
		    t->parts[0].end_off == x.n,
		    "the rest is the multipart's epilogue");
	} else {
		tap_is_int(t->nparts, nparts + 1, "every part kept");
		tap_ok(t->flags == 0, "no limit flagged");
	}
	mime_tree_free(t);
	free(x.p);
}

static void
deep(int rfc822)
{
	struct text x = { 0 };
	struct mime_tree *t;
	char line[128];
	int levels = 150;
	uint32_t maxd = 0;

	for (int i = 0; i < levels; i++) {
		if (rfc822)
			snprintf(line, sizeof(line),
			    "Content-Type: message/rfc822\n\n");
		else
			snprintf(line, sizeof(line),
			    "Content-Type: multipart/mixed; "
			    "boundary=\"b%d\"\n\n--b%d\n", i, i);
		adds(&x, line);
	}
	adds(&x, "\ninnermost\n");
	for (int i = levels - 1; !rfc822 && i >= 0; i--) {
		snprintf(line, sizeof(line), "--b%d--\n", i);
		adds(&x, line);
	}
	t = big(rfc822 ? "150 nested messages" : "150 nested multiparts",
	    x.p, x.n);
	for (uint32_t i = 0; i < t->nparts; i++)
		if (t->parts[i].depth > maxd)
			maxd = t->parts[i].depth;
	tap_is_int(maxd, MIME_MAX_DEPTH, "depth capped");
	tap_ok(t->flags & MIME_TREE_DEPTH, "depth limit flagged");
	tap_ok(t->parts[t->nparts - 1].flags & MIME_PART_OPAQUE,
	    "the deepest part is opaque");
	mime_tree_free(t);
	free(x.p);
}

static void
budget(void)
{
	struct text x = { 0 };
	char *desc = malloc(MIME_MAX_FIELD);
	struct mime_tree *t;
	int parts = (int)(MIME_MAX_TREE_BYTES / (MIME_MAX_FIELD - 64)) + 10;

	memset(desc, 'd', MIME_MAX_FIELD - 64);
	desc[MIME_MAX_FIELD - 64] = '\0';
	adds(&x, "Content-Type: multipart/mixed; boundary=p\n\n");
	for (int i = 0; i < parts; i++) {
		adds(&x, "--p\nContent-Description: ");
		adds(&x, desc);
		adds(&x, "\n\nbody\n");
	}
	adds(&x, "--p--\n");
	t = big("strings past the tree budget", x.p, x.n);
	tap_ok(t->flags & MIME_TREE_BYTES, "budget flagged");
	tap_ok(t->nparts < (uint32_t)parts, "parts after the budget opaque");
	mime_tree_free(t);
	free(x.p);
	free(desc);
}

static void
many_addresses(void)
{
	struct text x = { 0 };
	struct mime_tree *t;

	adds(&x, "To: ");
	for (int i = 0; i < 20000; i++)
		adds(&x, "a@b,");
	adds(&x, "\n\n");
	t = big("20,000 addresses", x.p, x.n);
	tap_is_int(t->parts[0].env->addr[MIME_ENV_TO].n,
	    (MIME_MAX_FIELD - 1) / 4, "addresses up to the field limit");
	mime_tree_free(t);
	free(x.p);
}

static void
many_boundaries(void)
{
	struct text x = { 0 };
	struct mime_tree *t;
	char line[300];

	/* 100 open multiparts with long boundaries, then lines that
	 * nearly match all of them */
	memset(line, 'q', 190);
	for (int i = 0; i < 99; i++) {
		snprintf(line + 190, sizeof(line) - 190, "%02d", i);
		adds(&x, "Content-Type: multipart/mixed; boundary=");
		add(&x, line, 192);
		adds(&x, "\n\n--");
		add(&x, line, 192);
		adds(&x, "\n");
	}
	adds(&x, "\n");
	for (int i = 0; i < 20000; i++) {
		adds(&x, "--");
		add(&x, line, 190);
		adds(&x, "xx\n");
	}
	t = big("near-miss delimiter lines", x.p, x.n);
	tap_is_int(t->nparts, 100, "no delimiter matched");
	mime_tree_free(t);
	free(x.p);
}

int
main(void)
{
	long_lines();
	many_parts(MIME_MAX_PARTS - 1, 0);
	many_parts(MIME_MAX_PARTS + 500, 1);
	deep(0);
	deep(1);
	budget();
	many_addresses();
	many_boundaries();
	return tap_done();
}
