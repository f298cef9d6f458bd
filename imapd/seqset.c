/*
 * seqset.c - sequence sets (RFC 3501 9 sequence-set, RFC 5182 "$").
 *
 * The client's text: at most SEQSET_MAX_RANGES ranges, so memory is bounded
 * by that whatever the set looks like; resolving sorts and merges, so
 * membership is a binary search over disjoint ranges.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "util.h"

/*
 * nz-number (RFC 3501 9: 0 < n < 4294967296, no leading zero) or "*" at
 * s[*i].  The number 4294967295 would read as "*" (SEQ_STAR), so it
 * becomes 4294967294: no UID or sequence number that high is ever
 * assigned, so the set selects the same messages.
 */
static int
seq_number(const char *s, size_t len, size_t *i, uint32_t *out)
{
	uint64_t n = 0;
	size_t j = *i;

	if (j < len && s[j] == '*') {
		*out = SEQ_STAR;
		*i = j + 1;
		return 0;
	}
	if (j >= len || s[j] < '1' || s[j] > '9')
		return -1;
	for (; j < len && s[j] >= '0' && s[j] <= '9'; j++) {
		n = n * 10 + (uint64_t)(s[j] - '0');
		if (n > UINT32_MAX)
			return -1;
	}
	*out = n == SEQ_STAR ? SEQ_STAR - 1 : (uint32_t)n;
	*i = j;
	return 0;
}

static void
add_range(struct seqset *set, size_t *cap, uint32_t a, uint32_t b)
{
	if (set->n == *cap) {
		*cap = *cap == 0 ? 8 : *cap * 2;
		set->r = xreallocarray(set->r, *cap, sizeof(*set->r));
	}
	set->r[set->n].lo = a < b ? a : b;
	set->r[set->n].hi = a < b ? b : a;
	set->n++;
}

int
seqset_parse(const char *s, size_t len, struct seqset *out)
{
	size_t i = 0, cap = 0;
	uint32_t a, b;

	memset(out, 0, sizeof(*out));
	if (len == 1 && s[0] == '$') {
		out->dollar = 1;
		return 0;
	}
	for (;;) {
		if (out->n >= SEQSET_MAX_RANGES || seq_number(s, len, &i, &a) < 0)
			break;
		b = a;
		if (i < len && s[i] == ':' &&
		    (++i, seq_number(s, len, &i, &b)) < 0)
			break;
		add_range(out, &cap, a, b);
		if (i == len)
			return 0;
		if (s[i++] != ',')
			break;
	}
	seqset_free(out);
	return -1;
}

void
seqset_free(struct seqset *set)
{
	free(set->r);
	memset(set, 0, sizeof(*set));
}

static int
range_cmp(const void *a, const void *b)
{
	const struct seq_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

void
seqset_resolve(struct seqset *set, uint32_t star)
{
	size_t i, k;

	for (i = 0; i < set->n; i++) {
		struct seq_range *r = &set->r[i];
		uint32_t a = r->lo == SEQ_STAR ? star : r->lo;
		uint32_t b = r->hi == SEQ_STAR ? star : r->hi;

		r->lo = a < b ? a : b;
		r->hi = a < b ? b : a;
	}
	if (set->n == 0)
		return;
	qsort(set->r, set->n, sizeof(*set->r), range_cmp);
	/* merge overlapping and adjacent ranges */
	for (k = 0, i = 1; i < set->n; i++) {
		if ((uint64_t)set->r[i].lo <= (uint64_t)set->r[k].hi + 1) {
			if (set->r[i].hi > set->r[k].hi)
				set->r[k].hi = set->r[i].hi;
		} else {
			set->r[++k] = set->r[i];
		}
	}
	set->n = k + 1;
}

int
seqset_contains(const struct seqset *set, uint32_t n)
{
	size_t lo = 0, hi = set->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (n < set->r[mid].lo)
			hi = mid;
		else if (n > set->r[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

/* One number, "*" for an unresolved star. */
static size_t
put_number(uint32_t n, char *out, size_t outlen, size_t pos)
{
	char tmp[16];
	int w;

	if (n == SEQ_STAR)
		w = snprintf(tmp, sizeof(tmp), "*");
	else
		w = snprintf(tmp, sizeof(tmp), "%u", n);
	for (int j = 0; j < w; j++, pos++)
		if (pos + 1 < outlen)
			out[pos] = tmp[j];
	return pos;
}

size_t
seqset_format(const struct seqset *set, char *out, size_t outlen)
{
	size_t pos = 0;

	if (set->dollar) {
		if (outlen > 1)
			out[pos] = '$';
		pos++;
	}
	for (size_t i = 0; i < set->n; i++) {
		if (i > 0) {
			if (pos + 1 < outlen)
				out[pos] = ',';
			pos++;
		}
		pos = put_number(set->r[i].lo, out, outlen, pos);
		if (set->r[i].hi != set->r[i].lo) {
			if (pos + 1 < outlen)
				out[pos] = ':';
			pos++;
			pos = put_number(set->r[i].hi, out, outlen, pos);
		}
	}
	if (outlen > 0)
		out[pos < outlen ? pos : outlen - 1] = '\0';
	return pos;
}
