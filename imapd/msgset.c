/*
 * msgset.c - a sequence-set argument (RFC 3501 9) as the messages of the
 * selected view: by sequence number, by UID (RFC 3501 6.4.8), or "$",
 * the saved search result (RFC 5182 2.1).
 */
#include <stdlib.h>

#include "imap.h"

/* "$": the saved UIDs still in the view; missing ones are skipped
 * (RFC 5182 2.1: expunged messages just drop out of the result). */
static unsigned
mark_saved(struct imap *im, unsigned char *sel)
{
	unsigned n = 0, i;

	for (size_t k = 0; k < im->nsaved; k++)
		if (store_find_uid(im->sel, im->saved[k], &i) && !sel[i]) {
			sel[i] = 1;
			n++;
		}
	return n;
}

/* UIDs: every message whose UID is in the set; UIDs not there are
 * ignored, and "n:*" always includes the last message (6.4.8). */
static unsigned
mark_uids(struct imap *im, const struct seqset *set, unsigned char *sel)
{
	unsigned count = store_count(im->sel), n = 0;

	for (unsigned i = 0; i < count; i++)
		if (seqset_contains(set, store_uid(im->sel, i))) {
			sel[i] = 1;
			n++;
		}
	return n;
}

/* Sequence numbers: each must name a message (RFC 3501 9
 * seq-number: "*" and numbers above the count are invalid when
 * there are no such messages). */
static int
mark_seqs(const struct seqset *set, unsigned count, unsigned char *sel,
    unsigned *nsel)
{
	unsigned n = 0;

	for (size_t k = 0; k < set->n; k++) {
		const struct seq_range *r = &set->r[k];
		if (r->lo == 0 || r->hi == 0 || r->lo > count || r->hi > count)
			return -1;
		for (uint32_t s = r->lo; s <= r->hi; s++)
			if (!sel[s - 1]) {
				sel[s - 1] = 1;
				n++;
			}
	}
	*nsel = n;
	return 0;
}

int
imap_msgset(struct imap *im, struct imap_cmd *c, const struct imap_arg *a,
    int uid, unsigned char **selp, unsigned *nsel)
{
	unsigned count = store_count(im->sel);
	unsigned char *sel;
	struct seqset set = { 0 };

	*selp = NULL;
	*nsel = 0;
	if (a == NULL || a->type != IMAP_ARG_ATOM ||
	    seqset_parse(a->str, a->len, &set) < 0) {
		cmd_bad(c, "Invalid messageset.");
		return -1;
	}
	sel = xcalloc(count ? count : 1, 1);
	if (set.dollar) {
		*nsel = mark_saved(im, sel);
	} else if (uid) {
		seqset_resolve(&set, count ? store_uid(im->sel, count - 1) : 0);
		*nsel = mark_uids(im, &set, sel);
	} else {
		seqset_resolve(&set, count);
		if (mark_seqs(&set, count, sel, nsel) < 0) {
			seqset_free(&set);
			free(sel);
			cmd_bad(c, "Invalid messageset.");
			return -1;
		}
	}
	seqset_free(&set);
	*selp = sel;
	return 0;
}
