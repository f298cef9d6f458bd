/*
 * fuzz_flags.c - every flag and keyword parser (keywords.h, mdflags.h,
 * mboxflags.h) on arbitrary bytes: the input is read as a keyword table
 * file, as a Maildir file name (whole, and as the info after "u:2,"),
 * as Status / X-Status / X-Keywords values and as an X-IMAPbase value.
 * Oracles:
 *   - whatever a parser accepts, formatting it and parsing the result
 *     gives the same flags, keywords, other letters, numbers and table;
 *   - our own output parses clean (no skipped lines or names);
 *   - every name a parser stored is a valid keyword.
 * The input is libFuzzer's exactly-sized copy, so ASan sees a read past
 * the counted length; file names are NUL-terminated copies, as
 * readdir() gives them.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keywords.h"
#include "mboxflags.h"
#include "mdflags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static void
same_table(const struct kwtable *a, const struct kwtable *b)
{
	CHECK(a->n == b->n);
	for (unsigned i = 0; i < KW_MAX; i++) {
		CHECK((a->name[i] == NULL) == (b->name[i] == NULL));
		if (a->name[i] != NULL) {
			CHECK(strcmp(a->name[i], b->name[i]) == 0);
			CHECK(keyword_valid(a->name[i], strlen(a->name[i])));
		}
	}
	for (unsigned i = a->n; i < KW_MAX; i++)
		CHECK(a->name[i] == NULL);
}

static void
kwtable_side(const char *p, size_t n)
{
	struct kwtable t = { 0 }, t2 = { 0 };
	struct buf b;

	kwtable_parse(p, n, &t);
	buf_init(&b, 1 << 16);
	CHECK(kwtable_format(&t, &b) == 0);
	CHECK(kwtable_parse(b.data ? b.data : "", b.len, &t2) == 0);
	same_table(&t, &t2);
	buf_free(&b);
	kwtable_free(&t);
	kwtable_free(&t2);
}

/* A file name: parse, rewrite with the same unique part, parse again. */
static void
md_name(const char *fn)
{
	char other[MD_OTHER_MAX], o2[MD_OTHER_MAX], out[NAME_MAX + 1];
	char unique[NAME_MAX + 1];
	unsigned f, f2;
	kwset_t kw, kw2;
	size_t ulen = (size_t)(md_unique_end(fn) - fn);

	if (md_info_parse(fn, &f, &kw, other) != 0)
		return;
	CHECK((f & ~(unsigned)MF_ALL) == 0 && (kw >> KW_MAX) == 0);
	if (ulen > NAME_MAX)
		return;
	memcpy(unique, fn, ulen);
	unique[ulen] = '\0';
	if (md_info_format(unique, f, kw, other, out, sizeof(out)) != 0)
		return;		/* empty unique, '/', or too long */
	CHECK(strncmp(out, fn, ulen) == 0);
	CHECK(md_info_parse(out, &f2, &kw2, o2) == 0);
	CHECK(f == f2 && kw == kw2 && strcmp(other, o2) == 0);
}

static void
md_side(const uint8_t *data, size_t size)
{
	char fn[NAME_MAX + 8];
	size_t n = strnlen((const char *)data, size < NAME_MAX + 2 ?
	    size : NAME_MAX + 2);

	memcpy(fn, data, n);
	fn[n] = '\0';
	md_name(fn);
	if (n > NAME_MAX - 4)
		n = NAME_MAX - 4;
	memcpy(fn, "u:2,", 4);
	memcpy(fn + 4, data, n);
	fn[4 + n] = '\0';
	md_name(fn);
}

/* The value of the field name in the lines of b, folding included. */
static const char *
field(const struct buf *b, const char *name, size_t *n)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < b->len; ) {
		size_t e = i;

		while (e < b->len && b->data[e] != '\n')
			e++;
		while (e + 1 < b->len && b->data[e + 1] == '\t')
			for (e++; e < b->len && b->data[e] != '\n'; e++)
				;
		if (e - i >= nl && memcmp(b->data + i, name, nl) == 0) {
			*n = e - i - nl;
			return b->data + i + nl;
		}
		i = e + 1;
	}
	return NULL;
}

static void
status_side(const char *p, size_t n)
{
	struct kwtable t = { 0 };
	struct buf b;
	unsigned f = 0, f2 = 0;
	int old, old2 = 0;
	kwset_t kw = 0, kw2 = 0;
	const char *v;
	size_t vn;

	mbox_status_parse(p, n, &f, &old);
	mbox_xstatus_parse(p, n, &f);
	mbox_xkeywords_parse(p, n, &t, 1, &kw);
	CHECK((f & ~(unsigned)MF_ALL) == 0 && (kw >> t.n) == 0);
	buf_init(&b, 1 << 16);
	CHECK(mbox_status_format(f, old, &b) == 0);
	CHECK(mbox_xstatus_format(f, &b) == 0);
	CHECK(mbox_xkeywords_format(kw, &t, &b) == 0);
	if ((v = field(&b, "Status: ", &vn)) != NULL)
		CHECK(mbox_status_parse(v, vn, &f2, &old2) == 0);
	if ((v = field(&b, "X-Status: ", &vn)) != NULL)
		CHECK(mbox_xstatus_parse(v, vn, &f2) == 0);
	if ((v = field(&b, "X-Keywords:", &vn)) != NULL)
		CHECK(mbox_xkeywords_parse(v, vn, &t, 0, &kw2) == 0);
	CHECK(f == f2 && old == old2 && kw == kw2);
	buf_free(&b);
	kwtable_free(&t);
}

static void
imapbase_side(const char *p, size_t n)
{
	struct kwtable t = { 0 }, t2 = { 0 };
	struct buf b;
	uint32_t uv, last, uv2, last2;
	const char *v;
	size_t vn;
	kwset_t kw = 0;

	if (mbox_imapbase_parse(p, n, &uv, &last, &t) < 0) {
		CHECK(t.n == 0);
		return;
	}
	CHECK(uv != 0 && last != UINT32_MAX);
	buf_init(&b, 1 << 16);
	CHECK(mbox_imapbase_format(uv, last, &t, &b) == 0);
	CHECK((v = field(&b, "X-IMAPbase: ", &vn)) != NULL);
	CHECK(mbox_imapbase_parse(v, vn, &uv2, &last2, &t2) == 0);
	CHECK(uv == uv2 && last == last2);
	same_table(&t, &t2);
	/* the folder's keywords read as a message's X-Keywords */
	mbox_xkeywords_parse(p, n, &t, 0, &kw);
	CHECK((kw >> t.n) == 0);
	buf_free(&b);
	kwtable_free(&t);
	kwtable_free(&t2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;

	kwtable_side(p, size);
	md_side(data, size);
	status_side(p, size);
	imapbase_side(p, size);
	return 0;
}
