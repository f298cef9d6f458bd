/*
 * test_mime_blob.c - the cached form of the tree is untrusted (the mail
 * user owns the cache file): every prefix of a good blob, every one-byte
 * change, and trees that break one invariant each must fail cleanly or
 * decode to a valid tree that encodes back to the same bytes.
 */
#include "test_mime.h"

static const char msg[] =
    "From: a@b\n"
    "To: g: c@d, \"e f\" <e@f>;\n"
    "Subject: s\n"
    "Content-Type: multipart/mixed; boundary=x\n"
    "\n"
    "--x\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Disposition: inline; filename=a.txt\n"
    "Content-Language: en\n"
    "\n"
    "hello\n"
    "--x\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: inner\n"
    "Cc: h@i\n"
    "\n"
    "inner body\n"
    "--x--\n";

/* Decodes to a valid tree that re-encodes to exactly b, or fails. */
static int
clean(const unsigned char *b, size_t n)
{
	struct mime_tree *t = mime_blob_decode(b, n);
	unsigned char *again;
	size_t m;
	int ok;

	if (t == NULL)
		return 1;
	again = mime_blob_encode(t, &m);
	ok = m == n && memcmp(again, b, n) == 0;
	free(again);
	mime_tree_free(t);
	return ok;
}

static void
prefixes_and_flips(const struct mime_tree *t)
{
	size_t n;
	unsigned char *b = mime_blob_encode(t, &n);
	int prefixes = 1, flips = 1;

	for (size_t k = 0; k < n; k++) {
		struct mime_tree *d = mime_blob_decode(b, k);

		prefixes &= d == NULL;
		mime_tree_free(d);
	}
	tap_ok(prefixes, "every truncation of a %zu-byte blob fails", n);
	for (size_t k = 0; k < n; k++)
		for (int bit = 0; bit < 8; bit++) {
			b[k] ^= (unsigned char)(1 << bit);
			flips &= clean(b, n);
			b[k] ^= (unsigned char)(1 << bit);
		}
	tap_ok(flips, "every bit flip fails or decodes to the same bytes");
	for (size_t k = 0; k < n; k++) {
		unsigned char *c = malloc(n + 1);

		memcpy(c, b, k);
		c[k] = 0x80;	/* an inserted continuation byte */
		memcpy(c + k + 1, b + k, n - k);
		flips &= clean(c, n + 1);
		free(c);
	}
	tap_ok(flips, "every inserted byte fails or decodes cleanly");
	free(b);
}

/* Break the tree with f, encode it: decoding must refuse. */
static void
refused(void (*f)(struct mime_tree *), const char *name)
{
	struct mime_tree *t = mime_parse(msg, sizeof(msg) - 1);
	struct mime_tree *d;
	unsigned char *b;
	size_t n;

	f(t);
	b = mime_blob_encode(t, &n);
	d = mime_blob_decode(b, n);
	tap_ok(d == NULL, "refused: %s", name);
	mime_tree_free(d);
	mime_tree_free(t);
	free(b);
}

static void
child_outside(struct mime_tree *t)
{
	t->parts[1].end_off = t->parts[0].end_off + 1;
}

static void
siblings_overlap(struct mime_tree *t)
{
	t->parts[2].hdr_off = t->parts[1].end_off - 1;
}

static void
parent_forward(struct mime_tree *t)
{
	t->parts[2].parent = 3;
}

static void
parent_not_on_path(struct mime_tree *t)
{
	t->parts[3].parent = 1;	/* 1 is closed once 2 started */
}

static void
leaf_with_child(struct mime_tree *t)
{
	t->parts[1].type = t->parts[3].type;	/* text/plain parent */
	t->parts[2].parent = 1;
	t->parts[2].depth = 2;
	t->parts[2].hdr_off = t->parts[1].body_off;
	t->parts[2].end_off = t->parts[1].end_off;
}

static void
message_flag_lost(struct mime_tree *t)
{
	t->parts[3].flags &= ~(uint32_t)MIME_PART_MESSAGE;
}

static void
message_flag_added(struct mime_tree *t)
{
	t->parts[1].flags |= MIME_PART_MESSAGE;
	t->parts[1].env = t->parts[0].env;
}

static void
unknown_flag(struct mime_tree *t)
{
	t->parts[1].flags |= 0x100;
}

static void
nil_type(struct mime_tree *t)
{
	t->parts[2].subtype.p = NULL;
}

static void
root_not_whole(struct mime_tree *t)
{
	t->parts[0].end_off--;
}

static void
too_many_lines(struct mime_tree *t)
{
	t->parts[1].lines = 1000;
}

static void
big_size_small_parts(struct mime_tree *t)
{
	t->size = UINT64_MAX;
}

static void
handmade(void)
{
	static const unsigned char junk[][12] = {
		"", "PMIM", "PMIM\x02", "XMIM\x01", "PMIM\x01\x80\x00",
	};
	size_t n;
	struct mime_tree *t = mime_parse(msg, sizeof(msg) - 1), *t2;
	unsigned char *b = mime_blob_encode(t, &n), *c = malloc(n + 1);
	int all = 1;

	for (size_t i = 0; i < ARRAY_LEN(junk); i++)
		all &= mime_blob_decode(junk[i], strlen((const char *)junk[i]))
		    == NULL;
	tap_ok(all, "short or foreign blobs refused");
	memcpy(c, b, n);
	c[n] = 0;
	tap_ok(mime_blob_decode(c, n + 1) == NULL, "trailing byte refused");
	c[4] = 2;
	tap_ok(mime_blob_decode(c, n) == NULL, "other version refused");
	tap_ok((t2 = mime_blob_decode(b, n)) != NULL, "intact decodes");
	mime_tree_free(t2);
	mime_tree_free(t);
	free(b);
	free(c);
}

int
main(void)
{
	struct mime_tree *t = check_parse("blob message", msg, sizeof(msg) - 1);
	struct mime_tree *d;
	unsigned char *b;
	size_t n;

	tap_is_int(t->nparts, 4, "four parts");
	prefixes_and_flips(t);
	b = mime_blob_encode(t, &n);
	d = mime_blob_decode(b, n);
	tap_ok(d != NULL && d->parts[3].env != NULL &&
	    d->parts[0].env->addr[MIME_ENV_TO].n == 4 &&
	    d->parts[0].env->addr[MIME_ENV_TO].a[3].host.p == NULL &&
	    d->parts[1].nlanguage == 1 && d->parts[1].ndisp_params == 1 &&
	    d->parts[3].parent == 2 && d->parts[0].nchildren == 2 &&
	    d->parts[2].first_child == 3 && d->parts[1].next == 2,
	    "decoded tree has its fields and links");
	tap_ok(mime_section(d, (uint32_t[]){ 2, 1 }, 2) == 3,
	    "decoded tree resolves sections");
	free(b);
	mime_tree_free(d);
	mime_tree_free(t);
	refused(child_outside, "child outside its parent");
	refused(siblings_overlap, "overlapping siblings");
	refused(parent_forward, "parent after child");
	refused(parent_not_on_path, "parent out of depth-first order");
	refused(leaf_with_child, "a text part with a child");
	refused(message_flag_lost, "enclosed message without its flag");
	refused(message_flag_added, "message flag on a body part");
	refused(unknown_flag, "unknown part flag");
	refused(nil_type, "NIL subtype");
	refused(root_not_whole, "root not the whole message");
	refused(too_many_lines, "more lines than bytes");
	refused(big_size_small_parts, "size beyond what was parsed");
	handmade();
	return tap_done();
}
