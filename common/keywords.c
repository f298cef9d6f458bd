/*
 * keywords.c - keyword names and the per-folder keyword table file
 * (see keywords.h for the format and the rules).
 *
 * Trusts nothing in the file: lines are looked at in place, never
 * copied unless they are good; at most KW_MAX names are ever stored.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keywords.h"
#include "util.h"

/* RFC 3501 section 9: atom-specials = "(" / ")" / "{" / SP / CTL /
 * list-wildcards ("%" / "*") / quoted-specials (DQUOTE / "\") /
 * resp-specials ("]").  SP and CTL are outside 0x21-0x7e. */
static const char atom_specials[] = "(){%*\"\\]";

/* "25 " + a name, and a CR: anything longer is not a good line. */
#define KW_LINE_MAX (3 + KW_NAME_MAX + 1)

int
keyword_valid(const char *s, size_t n)
{
	if (n == 0 || n > KW_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x21 || c > 0x7e || strchr(atom_specials, c) != NULL)
			return 0;
	}
	return 1;
}

int
kwtable_findn(const struct kwtable *t, const char *name, size_t n)
{
	for (unsigned i = 0; i < t->n && i < KW_MAX; i++) {
		const char *k = t->name[i];

		if (k != NULL && strlen(k) == n && strncasecmp(k, name, n) == 0)
			return (int)i;
	}
	return -1;
}

int
kwtable_find(const struct kwtable *t, const char *name)
{
	return kwtable_findn(t, name, strlen(name));
}

int
kwtable_addn(struct kwtable *t, const char *name, size_t n)
{
	int i;

	if (!keyword_valid(name, n))
		return -1;
	if ((i = kwtable_findn(t, name, n)) >= 0)
		return i;
	if (t->n >= KW_MAX)
		return -1;	/* full: a hole is never reused */
	t->name[t->n] = xstrndup(name, n);
	return (int)t->n++;
}

int
kwtable_add(struct kwtable *t, const char *name)
{
	return kwtable_addn(t, name, strnlen(name, KW_NAME_MAX + 1));
}

void
kwtable_free(struct kwtable *t)
{
	for (unsigned i = 0; i < KW_MAX; i++)
		free(t->name[i]);
	memset(t, 0, sizeof(*t));
}

/* One line p[0..n) without its LF: 0 if stored, -1 if skipped. */
static int
parse_line(const char *p, size_t n, struct kwtable *t)
{
	size_t i = 0;
	unsigned idx = 0;

	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n > KW_LINE_MAX)
		return -1;
	/* Dovecot writes "%u"; allow a leading zero or two, no sign. */
	while (i < n && i < 3 && p[i] >= '0' && p[i] <= '9')
		idx = idx * 10 + (unsigned)(p[i++] - '0');
	if (i == 0 || i == n || p[i] != ' ' || idx >= KW_MAX)
		return -1;
	i++;
	if (t->name[idx] != NULL || !keyword_valid(p + i, n - i) ||
	    kwtable_findn(t, p + i, n - i) >= 0)
		return -1;
	t->name[idx] = xstrndup(p + i, n - i);
	if (idx >= t->n)
		t->n = idx + 1;
	return 0;
}

int
kwtable_parse(const char *buf, size_t len, struct kwtable *t)
{
	size_t off = 0;
	int bad = 0;

	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl != NULL ? (size_t)(nl - (buf + off)) : len - off;

		if (n > 0 && parse_line(buf + off, n, t) < 0)
			bad++;
		off += n + (nl != NULL);
	}
	return bad;
}

int
kwtable_format(const struct kwtable *t, struct buf *out)
{
	size_t keep = out->len;

	for (unsigned i = 0; i < t->n && i < KW_MAX; i++) {
		if (t->name[i] == NULL)
			continue;
		if (buf_printf(out, "%u %s\n", i, t->name[i]) < 0) {
			if (out->data != NULL)
				out->data[out->len = keep] = '\0';
			return -1;
		}
	}
	return 0;
}
