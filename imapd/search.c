/*
 * search.c - SEARCH and UID SEARCH (RFC 3501 6.4.4, 7.2.5), answered as
 * "* SEARCH n..." or, with RETURN, as one "* ESEARCH" (RFC 4731), and
 * the saved result "$" (RFC 5182).
 *
 * The program is parsed and bound to the selected view, then every
 * message is matched in order (search_eval.c reads content only when
 * the cheap keys leave the answer open).  Messages another session
 * expunged meanwhile (store_gone) never match.  A SEARCH with SAVE that
 * fails with NO empties the saved result; one that fails with BAD
 * leaves it alone (RFC 5182 2.1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap.h"
#include "search.h"
#include "util.h"

#define SEARCH_RET_DATA (SEARCH_RET_MIN | SEARCH_RET_MAX | SEARCH_RET_ALL | \
	SEARCH_RET_COUNT)

struct results {
	uint32_t *v;		/* sequence numbers or UIDs, ascending */
	uint32_t *uid;		/* the same messages' UIDs */
	size_t n;
};

static void
save_clear(struct imap *im)
{
	free(im->saved);
	im->saved = NULL;
	im->nsaved = 0;
}

/* RFC 5182 2.4: with MIN and/or MAX but neither ALL nor COUNT, "$" is
 * just those messages; otherwise every message found. */
static void
save_results(struct imap *im, const struct results *r, unsigned ret)
{
	save_clear(im);
	if (r->n == 0)
		return;
	im->saved = xreallocarray(NULL, r->n, sizeof(*im->saved));
	if ((ret & SEARCH_RET_DATA) & (SEARCH_RET_ALL | SEARCH_RET_COUNT) ||
	    !(ret & (SEARCH_RET_MIN | SEARCH_RET_MAX))) {
		memcpy(im->saved, r->uid, r->n * sizeof(*r->uid));
		im->nsaved = r->n;
		return;
	}
	if (ret & SEARCH_RET_MIN)
		im->saved[im->nsaved++] = r->uid[0];
	if ((ret & SEARCH_RET_MAX) && (im->nsaved == 0 ||
	    r->uid[r->n - 1] != im->saved[0]))
		im->saved[im->nsaved++] = r->uid[r->n - 1];
}

/* ALL: the set in sequence-set syntax, "2,10:11" (RFC 4731 3.1). */
static void
write_all_set(struct io *io, const struct results *r)
{
	struct seqset set = { 0 };
	size_t need;
	char *s;

	set.r = xreallocarray(NULL, r->n, sizeof(*set.r));
	for (size_t k = 0; k < r->n; k++) {
		if (set.n > 0 && set.r[set.n - 1].hi + 1 == r->v[k])
			set.r[set.n - 1].hi = r->v[k];
		else
			set.r[set.n++] = (struct seq_range){ r->v[k], r->v[k] };
	}
	need = seqset_format(&set, NULL, 0);
	s = xmalloc(need + 1);
	seqset_format(&set, s, need + 1);
	io_printf(io, " ALL %s", s);
	free(s);
	free(set.r);
}

static void
write_esearch(struct imap *im, struct imap_cmd *c, const struct results *r,
    unsigned ret)
{
	io_puts(im->io, "* ESEARCH (TAG ");
	imap_write_string(im->io, c->tag, strlen(c->tag));
	io_puts(im->io, ")");
	if (c->uid)
		io_puts(im->io, " UID");
	/* MIN, MAX and ALL only when something matched (RFC 4731 3.1) */
	if ((ret & SEARCH_RET_MIN) && r->n > 0)
		io_printf(im->io, " MIN %u", r->v[0]);
	if ((ret & SEARCH_RET_MAX) && r->n > 0)
		io_printf(im->io, " MAX %u", r->v[r->n - 1]);
	if ((ret & SEARCH_RET_ALL) && r->n > 0)
		write_all_set(im->io, r);
	if (ret & SEARCH_RET_COUNT)
		io_printf(im->io, " COUNT %zu", r->n);
	io_puts(im->io, "\r\n");
}

static void
write_search(struct imap *im, const struct results *r)
{
	io_puts(im->io, "* SEARCH");
	for (size_t k = 0; k < r->n; k++)
		io_printf(im->io, " %u", r->v[k]);
	io_puts(im->io, "\r\n");
}

/* Match every message of the view; -1 with *sr set on a read error. */
static int
run(struct imap *im, struct imap_cmd *c, struct search_prog *p,
    struct results *r, enum store_result *sr)
{
	struct store *st = im->sel;
	unsigned count = store_count(st);
	struct search_view v = {
		.count = count,
		.maxuid = count > 0 ? store_uid(st, count - 1) : 0,
		.kw = store_keywords_table(st),
		.saved = im->saved, .nsaved = im->nsaved,
	};

	search_bind(p, &v);
	r->v = xreallocarray(NULL, count ? count : 1, sizeof(*r->v));
	r->uid = xreallocarray(NULL, count ? count : 1, sizeof(*r->uid));
	for (unsigned i = 0; i < count; i++) {
		int m = search_match_store(p, st, i, sr);

		/* a message removed under us (its file gone before the
		 * next sync) is one that does not match (RFC 2180
		 * 4.1.2); the EXPUNGE follows */
		if (m < 0 && *sr == STORE_ENOENT)
			m = 0;
		if (m < 0)
			return -1;
		if (m == 0)
			continue;
		r->uid[r->n] = store_uid(st, i);
		r->v[r->n] = c->uid ? r->uid[r->n] : i + 1;
		r->n++;
	}
	return 0;
}

static enum cmd_result
parse_failed(struct imap *im, struct imap_cmd *c, enum search_status st,
    unsigned ret, const char *err)
{
	if (st == SEARCH_BAD)
		return cmd_bad(c, "%s", err);
	if (ret & SEARCH_RET_SAVE)
		save_clear(im);
	return cmd_no(c, "%s", err);
}

enum cmd_result
cmd_search(struct imap *im, struct imap_cmd *c)
{
	struct search_prog *p;
	struct results r = { 0 };
	enum store_result sr = STORE_OK;
	enum search_status st;
	unsigned ret;
	int esearch, rc;
	char err[128];

	st = search_parse(c->args, &p, &ret, &esearch, err, sizeof(err));
	if (st != SEARCH_OK)
		return parse_failed(im, c, st, ret, err);
	rc = run(im, c, p, &r, &sr);
	search_prog_free(p);
	if (rc != 0) {
		free(r.v);
		free(r.uid);
		if (ret & SEARCH_RET_SAVE)
			save_clear(im);
		return cmd_store_error(c, sr, NULL);
	}
	if (!esearch)
		write_search(im, &r);
	else if (ret & SEARCH_RET_DATA)
		write_esearch(im, c, &r, ret);
	if (ret & SEARCH_RET_SAVE)
		save_results(im, &r, ret);
	free(r.v);
	free(r.uid);
	return cmd_ok(c, "%s completed", c->uid ? "UID SEARCH" : "SEARCH");
}
