/*
 * test_crlf.c - the stored-to-wire line ending rule (crlf.h): counting
 * and converting agree for every shape of input and every chunking, and
 * the output is what RFC 1939 section 3 needs (CRLF lines, final CRLF).
 */
#include <stdio.h>
#include <string.h>

#include "crlf.h"
#include "tap.h"

/* Convert in with chunks of size step; returns the output length. */
static size_t
convert(const char *in, size_t n, size_t step, unsigned char *out)
{
	struct crlf c;
	size_t o = 0;

	crlf_init(&c);
	for (size_t i = 0; i < n; i += step)
		o += crlf_convert(&c, (const unsigned char *)in + i,
		    n - i < step ? n - i : step, out + o);
	o += crlf_finish(&c, out + o);
	return o;
}

static uint64_t
count(const char *in, size_t n, size_t step)
{
	struct crlf c;

	crlf_init(&c);
	for (size_t i = 0; i < n; i += step)
		crlf_count(&c, (const unsigned char *)in + i,
		    n - i < step ? n - i : step);
	return crlf_count_finish(&c);
}

static void
shape(const char *name, const char *in, const char *want)
{
	unsigned char out[512];
	size_t n = strlen(in), o;
	char label[128];

	for (size_t step = 1; step <= n + 1; step++) {
		o = convert(in, n, step, out);
		if (o != strlen(want) || memcmp(out, want, o) != 0 ||
		    count(in, n, step) != o)
			break;
		if (step == n + 1) {
			snprintf(label, sizeof(label), "%s: converts and counts "
			    "alike at every chunk size", name);
			tap_is_mem(out, o, want, strlen(want), label);
			return;
		}
	}
	snprintf(label, sizeof(label), "%s: converts and counts alike", name);
	tap_is_mem(out, o, want, strlen(want), label);
}

int
main(void)
{
	shape("crlf_lf_only", "a\nb\n", "a\r\nb\r\n");
	shape("crlf_crlf_kept", "a\r\nb\r\n", "a\r\nb\r\n");
	shape("crlf_mixed", "a\r\nb\nc\r\n", "a\r\nb\r\nc\r\n");
	shape("crlf_bare_cr_passes", "a\rb\n", "a\rb\r\n");
	shape("crlf_no_final_newline", "a\nb", "a\r\nb\r\n");
	shape("crlf_final_cr_only", "a\r", "a\r\r\n");
	shape("crlf_empty_message", "", "");
	shape("crlf_only_newlines", "\n\n", "\r\n\r\n");
	shape("crlf_cr_then_lf_across_chunks", "x\r\n", "x\r\n");
	return tap_done();
}
