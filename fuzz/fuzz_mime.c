/*
 * fuzz_mime.c - the message structure parser, its blob and decoders
 * (mime.h).  The input is a message fed in the chunk sizes its first
 * byte picks.  Oracles: the tree agrees with the input (wire offsets,
 * line counts, nesting; t/unit/test_mime.h), with the tree of the whole
 * input fed at once, and with its blob decoded again; the raw input as a
 * blob decodes to nothing or to a tree that encodes back to it; the
 * RFC 2047 and body decoders stay within their output bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../t/unit/test_mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
same_blob(const struct mime_tree *a, const struct mime_tree *b)
{
	size_t la, lb;
	unsigned char *ba = mime_blob_encode(a, &la);
	unsigned char *bb = mime_blob_encode(b, &lb);

	if (la != lb || memcmp(ba, bb, la) != 0)
		__builtin_trap();
	free(ba);
	free(bb);
}

static void
parse(const uint8_t *data, size_t size, size_t step)
{
	struct mime_tree *t = parse_steps(data, size, step);
	struct mime_tree *whole = mime_parse(data, size);
	struct mime_tree *d;
	size_t len;
	unsigned char *b;

	if (tree_problem(t, data, size) != NULL)
		__builtin_trap();
	same_blob(t, whole);
	b = mime_blob_encode(t, &len);
	if ((d = mime_blob_decode(b, len)) == NULL)
		__builtin_trap();
	same_blob(t, d);
	for (uint32_t i = 0; i < t->nparts; i++) {
		uint32_t nums[1] = { i + 1 };

		(void)mime_section(t, nums, 1);
	}
	free(b);
	mime_tree_free(d);
	mime_tree_free(t);
	mime_tree_free(whole);
}

static void
raw_blob(const uint8_t *data, size_t size)
{
	struct mime_tree *t = mime_blob_decode(data, size);
	unsigned char *b;
	size_t len;

	if (t == NULL)
		return;
	b = mime_blob_encode(t, &len);
	if (len != size || memcmp(b, data, size) != 0)
		__builtin_trap();
	free(b);
	mime_tree_free(t);
}

static void
decoders(const uint8_t *data, size_t size, size_t step)
{
	struct buf out;
	struct mime_b64 b;
	struct mime_qp q;
	unsigned char *o = malloc(MIME_DEC_OUT(step));

	buf_init(&out, 4096);
	(void)rfc2047_decode((const char *)data, size, &out);
	if (out.len > 4096)
		__builtin_trap();
	buf_free(&out);
	mime_b64_init(&b);
	mime_qp_init(&q);
	for (size_t i = 0; i < size; i += step) {
		size_t k = size - i < step ? size - i : step;

		if (mime_b64_feed(&b, data + i, k, o) > k ||
		    mime_qp_feed(&q, data + i, k, o) > MIME_DEC_OUT(k))
			__builtin_trap();
	}
	if (mime_qp_finish(&q, o) > MIME_DEC_OUT(0) ||
	    mime_b64_finish(&b, o) != 0)
		__builtin_trap();
	free(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t step;

	if (size < 1)
		return 0;
	step = 1 + data[0] % 64;
	raw_blob(data, size);
	data++, size--;
	parse(data, size, step);
	decoders(data, size, step);
	return 0;
}
