/*
 * mboxflags.c - flags in mbox header fields and the X-IMAPbase keyword
 * list (see mboxflags.h for who writes what).
 *
 * Values come from the mbox, which anyone who can send mail writes
 * into: every function takes a counted value, reads nothing past it,
 * stores at most KW_MAX names of at most KW_NAME_MAX bytes, and runs in
 * time linear in the value (times KW_MAX for the name lookups).
 */
#include <string.h>

#include "keywords.h"
#include "mboxflags.h"
#include "util.h"

struct letter {
	char c;
	unsigned flag;
};

/* In the order Dovecot writes them (mbox-sync-parse.c). */
static const struct letter xstatus_letters[] = {
	{ 'A', MF_ANSWERED }, { 'F', MF_FLAGGED }, { 'T', MF_DRAFT },
	{ 'D', MF_DELETED },
};

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* X-Keywords separators: white space and ",". */
static int
is_kwsep(char c)
{
	return is_space(c) || c == ',';
}

int
mbox_keyword_ok(const char *s, size_t n)
{
	return keyword_valid(s, n) && memchr(s, ',', n) == NULL;
}

int
mbox_status_parse(const char *v, size_t n, unsigned *flags, int *old)
{
	int junk = 0;

	*old = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] == 'R')
			*flags |= MF_SEEN;
		else if (v[i] == 'O')
			*old = 1;
		else if (!is_space(v[i]))
			junk++;
	}
	return junk;
}

int
mbox_xstatus_parse(const char *v, size_t n, unsigned *flags)
{
	int junk = 0;

	for (size_t i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < ARRAY_LEN(xstatus_letters); k++)
			if (v[i] == xstatus_letters[k].c)
				break;
		if (k < ARRAY_LEN(xstatus_letters))
			*flags |= xstatus_letters[k].flag;
		else if (!is_space(v[i]))
			junk++;
	}
	return junk;
}

/* The next name in v[*i..n) split by sep: its start and length, or 0
 * at the end. */
static size_t
next_name(const char *v, size_t n, size_t *i, int (*sep)(char),
    const char **name)
{
	size_t at;

	while (*i < n && sep(v[*i]))
		(*i)++;
	at = *i;
	while (*i < n && !sep(v[*i]))
		(*i)++;
	*name = v + at;
	return *i - at;
}

int
mbox_xkeywords_parse(const char *v, size_t n, struct kwtable *t, int add,
    kwset_t *kw)
{
	const char *name;
	size_t i = 0, len;
	int left = 0, k;

	while ((len = next_name(v, n, &i, is_kwsep, &name)) > 0) {
		if (!mbox_keyword_ok(name, len))
			k = -1;
		else if ((k = kwtable_findn(t, name, len)) < 0 && add)
			k = kwtable_addn(t, name, len);
		if (k < 0)
			left++;
		else
			*kw |= (kwset_t)1 << k;
	}
	return left;
}

/* Undo a partial append. */
static int
undo(struct buf *out, size_t keep)
{
	if (out->data != NULL)
		out->data[out->len = keep] = '\0';
	return -1;
}

/* "Name: letters\n" from the table, or nothing if no letter is set. */
static int
letters_field(const char *field, const struct letter *l, size_t nl,
    unsigned flags, struct buf *out)
{
	char v[8];
	size_t n = 0;

	for (size_t i = 0; i < nl; i++)
		if (flags & l[i].flag)
			v[n++] = l[i].c;
	if (n == 0)
		return 0;
	return buf_printf(out, "%s: %.*s\n", field, (int)n, v);
}

int
mbox_status_format(unsigned flags, int old, struct buf *out)
{
	/* R then O, as mutt ("RO") and Dovecot write it; 1 << 31 stands
	 * for "old", which is no MF_ bit. */
	const struct letter status_letters[] = {
		{ 'R', MF_SEEN }, { 'O', 1u << 31 },
	};

	flags &= MF_SEEN;
	if (old)
		flags |= 1u << 31;
	return letters_field("Status", status_letters,
	    ARRAY_LEN(status_letters), flags, out);
}

int
mbox_xstatus_format(unsigned flags, struct buf *out)
{
	return letters_field("X-Status", xstatus_letters,
	    ARRAY_LEN(xstatus_letters), flags, out);
}

/* Append " name", or "\n\tname" once the line is MBOX_KW_WRAP long
 * (Dovecot's folding); *line_start is where the current line began. */
static int
add_name(struct buf *out, size_t *line_start, const char *name, int first)
{
	if (!mbox_keyword_ok(name, strlen(name)))
		return -1;
	if (!first && out->len - *line_start >= MBOX_KW_WRAP) {
		if (buf_adds(out, "\n\t") < 0)
			return -1;
		*line_start = out->len - 1;
	} else if (buf_addc(out, ' ') < 0) {
		return -1;
	}
	return buf_adds(out, name);
}

int
mbox_xkeywords_format(kwset_t kw, const struct kwtable *t, struct buf *out)
{
	size_t keep = out->len, line = out->len;
	int first = 1;

	if (kw == 0)
		return 0;
	if (buf_adds(out, "X-Keywords:") < 0)
		return undo(out, keep);
	for (unsigned i = 0; i < 32; i++) {
		if (!(kw & ((kwset_t)1 << i)))
			continue;
		if (i >= KW_MAX || i >= t->n || t->name[i] == NULL ||
		    add_name(out, &line, t->name[i], first) < 0)
			return undo(out, keep);
		first = 0;
	}
	if (buf_addc(out, '\n') < 0)
		return undo(out, keep);
	return 0;
}

/* As base_number() in mbox_parse.c: white space, 1-10 digits, not
 * followed by another digit, at most UINT32_MAX. */
static int
base_number(const char *v, size_t n, size_t *i, uint32_t *out)
{
	uint64_t x = 0;
	size_t at;

	while (*i < n && (v[*i] == ' ' || v[*i] == '\t'))
		(*i)++;
	at = *i;
	while (*i < n && v[*i] >= '0' && v[*i] <= '9' && *i - at < 10)
		x = x * 10 + (uint64_t)(v[(*i)++] - '0');
	if (*i == at || x > UINT32_MAX ||
	    (*i < n && v[*i] >= '0' && v[*i] <= '9'))
		return -1;
	*out = (uint32_t)x;
	return 0;
}

int
mbox_imapbase_parse(const char *value, size_t n, uint32_t *uidvalidity,
    uint32_t *uidlast, struct kwtable *t)
{
	const char *name;
	size_t i = 0, len;
	uint32_t uv, last;
	int skipped = 0;

	if (base_number(value, n, &i, &uv) < 0 || i == n ||
	    (value[i] != ' ' && value[i] != '\t') ||
	    base_number(value, n, &i, &last) < 0 ||
	    (i < n && !is_space(value[i])) || uv == 0 || last == UINT32_MAX)
		return -1;
	*uidvalidity = uv;
	*uidlast = last;
	while ((len = next_name(value, n, &i, is_space, &name)) > 0) {
		if (!mbox_keyword_ok(name, len) ||
		    kwtable_findn(t, name, len) >= 0 ||
		    kwtable_addn(t, name, len) < 0)
			skipped++;
	}
	return skipped;
}

int
mbox_imapbase_format(uint32_t uidvalidity, uint32_t uidlast,
    const struct kwtable *t, struct buf *out)
{
	size_t keep = out->len, line = out->len;

	if (uidvalidity == 0 || uidlast == UINT32_MAX)
		return -1;
	if (buf_printf(out, "X-IMAPbase: %u %010u", uidvalidity, uidlast) < 0)
		return undo(out, keep);
	for (unsigned i = 0; i < t->n && i < KW_MAX; i++)
		if (t->name[i] == NULL ||
		    add_name(out, &line, t->name[i], 0) < 0)
			return undo(out, keep);
	if (buf_addc(out, '\n') < 0)
		return undo(out, keep);
	return 0;
}
