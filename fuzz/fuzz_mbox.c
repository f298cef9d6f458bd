/*
 * fuzz_mbox.c - the mbox reader (mbox_parse.c) on arbitrary bytes, fed
 * in the chunk sizes the first input byte picks.  Oracles: message
 * ranges are ordered and inside the input; the wire size the scanner
 * counted equals what the stream filter produces from the same range
 * (converted with crlf.h), whatever the chunking; X-UID and X-IMAPbase
 * offsets point into the input at the field names; a captured Status,
 * X-Status, X-Keywords or X-IMAPbase value is exactly the input's bytes
 * at its offsets (all of them, or a prefix of MBOX_VAL_MAX with trunc
 * set), inside the message's header.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
	const uint8_t *data;
	size_t size, step;
	uint64_t last_end;
	unsigned count;
};

/* The stream's view of [hdr, end), filtered in pieces of step bytes. */
static uint64_t
streamed_wire(const uint8_t *p, size_t n, size_t step)
{
	unsigned char *out = malloc(step + MBOX_FILTER_SLACK), conv[2 *
	    (64 + MBOX_FILTER_SLACK)];
	struct mbox_filter f;
	struct crlf c;

	mbox_filter_init(&f);
	crlf_init(&c);
	f.out = out;
	for (size_t i = 0; i < n; i += step) {
		f.olen = 0;
		mbox_filter_run(&f, p + i, n - i < step ? n - i : step);
		crlf_convert(&c, out, f.olen, conv);
	}
	f.olen = 0;
	mbox_filter_finish(&f);
	crlf_convert(&c, out, f.olen, conv);
	crlf_finish(&c, conv);
	free(out);
	return c.out;
}

/* A captured value against the input. */
static void
check_val(const struct ctx *x, const struct mbox_rec *r,
    const struct mbox_val *v)
{
	uint64_t len;

	if (!v->present)
		return;
	if (v->off < r->hdr || v->val_off < v->off || v->end < v->val_off ||
	    v->end > r->end || v->n > MBOX_VAL_MAX)
		__builtin_trap();
	len = v->end - v->val_off;
	if ((v->trunc ? v->n != MBOX_VAL_MAX || len <= MBOX_VAL_MAX :
	    v->n != len) || memcmp(v->v, x->data + v->val_off, v->n) != 0)
		__builtin_trap();
}

static int
on_msg(void *arg, const struct mbox_rec *r, const struct mbox_base *b)
{
	struct ctx *x = arg;

	if (r->from < x->last_end || r->hdr < r->from || r->end < r->hdr ||
	    r->end > x->size || memcmp(x->data + r->from, "From ", 5) != 0)
		__builtin_trap();
	if (r->xuid_len > 0 && (r->xuid_off < r->hdr || r->xuid_off +
	    r->xuid_len > r->end || strncasecmp((const char *)x->data +
	    r->xuid_off, "X-UID:", 6) != 0))
		__builtin_trap();
	if (b != NULL && b->valid && (b->l_off + b->l_len > r->end ||
	    b->v_off < r->hdr))
		__builtin_trap();
	check_val(x, r, &r->status);
	check_val(x, r, &r->xstatus);
	check_val(x, r, &r->xkw);
	if (b != NULL)
		check_val(x, r, &b->val);
	if ((uint64_t)r->wire != streamed_wire(x->data + r->hdr,
	    r->end - r->hdr, x->step))
		__builtin_trap();
	x->last_end = r->end;
	return ++x->count > 100000;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx x = { 0 };
	struct mbox_scan s;

	if (size < 1)
		return 0;
	x.step = 1 + data[0] % 64;
	x.data = data + 1;
	x.size = size - 1;
	mbox_scan_init(&s, 0, 1, on_msg, &x);
	for (size_t i = 0; i < x.size && s.err == 0; i += x.step)
		mbox_scan_feed(&s, x.data + i, x.size - i < x.step ?
		    x.size - i : x.step);
	mbox_scan_end(&s);
	return 0;
}
