/*
 * fuzz_mutf7.c - the modified UTF-7 codec (mutf7.h) on arbitrary bytes,
 * read both as a mailbox name on the wire (decode) and as a UTF-8 name
 * (encode).  Oracles:
 *   - decode accepts x  =>  encode(decode(x)) is byte-identical to x;
 *   - encode accepts x  =>  decode(encode(x)) is byte-identical to x;
 *   - mutf7_valid and utf8_valid agree with decode and encode;
 *   - the output fits an outmax of exactly its length + 1 and fails with
 *     ERANGE at one byte less.  Output buffers are malloc'd to the size
 *     passed as outmax, so ASan sees a write past it; the input is
 *     libFuzzer's own exactly-sized copy, so it sees a read past inlen.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mutf7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*conv_fn)(const char *, size_t, char *, size_t, size_t *);

/* Convert into a buffer of exactly outmax bytes; NULL when conv fails. */
static char *
run(conv_fn conv, const char *in, size_t n, size_t outmax, size_t *outlen)
{
	char *out = malloc(outmax);	/* outmax 0: write nothing */
	int err;

	if (out == NULL && outmax != 0)
		abort();
	if (conv(in, n, out, outmax, outlen) != 0) {
		err = errno;
		if ((err != EILSEQ && err != ERANGE) || *outlen != 0)
			__builtin_trap();
		free(out);
		errno = err;
		return NULL;
	}
	if (strlen(out) != *outlen)
		__builtin_trap();
	return out;
}

/* The output is there at outmax = len + 1 and refused at len. */
static void
tight(conv_fn conv, const char *in, size_t n, const char *want, size_t len)
{
	size_t olen;
	char *out = run(conv, in, n, len + 1, &olen);

	if (out == NULL || olen != len || memcmp(out, want, len) != 0)
		__builtin_trap();
	free(out);
	out = run(conv, in, n, len, &olen);
	if (out != NULL || errno != ERANGE || olen != 0)
		__builtin_trap();
}

/* x -> decode -> encode == x.  Decoding at most doubles the size (a base64
 * character carries 6 bits, at most 9 UTF-8 bytes per 8 characters). */
static void
decode_side(const char *x, size_t n)
{
	size_t dlen;
	char *d = run(mutf7_decode, x, n, 2 * n + 1, &dlen);

	if ((d != NULL) != mutf7_valid(x, n))
		__builtin_trap();
	if (d == NULL) {
		if (errno != EILSEQ)
			__builtin_trap();	/* 2n + 1 is always enough */
		return;
	}
	if (!utf8_valid(d, dlen))
		__builtin_trap();
	tight(mutf7_decode, x, n, d, dlen);
	tight(mutf7_encode, d, dlen, x, n);
	free(d);
}

/* x -> encode -> decode == x.  Encoding at most triples the size (one
 * 2-byte character alone becomes "&" + 3 base64 + "-"). */
static void
encode_side(const char *x, size_t n)
{
	size_t elen;
	char *e = run(mutf7_encode, x, n, 3 * n + 1, &elen);

	if ((e != NULL) != utf8_valid(x, n))
		__builtin_trap();
	if (e == NULL) {
		if (errno != EILSEQ)
			__builtin_trap();
		return;
	}
	if (!mutf7_valid(e, elen))
		__builtin_trap();
	tight(mutf7_encode, x, n, e, elen);
	tight(mutf7_decode, e, elen, x, n);
	free(e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	decode_side((const char *)data, size);
	encode_side((const char *)data, size);
	return 0;
}
