/*
 * mutf7.c - modified UTF-7 <-> UTF-8 for mailbox names; see mutf7.h for
 * the contract.  Input is counted and untrusted; every read is checked
 * against inlen and every write goes through put(), which stops at the
 * caller's outmax.
 *
 * The rules, and where they come from:
 *   - RFC 3501 5.1.3: 0x20-0x7e except "&" represent themselves; "&" is
 *     "&-"; everything else is modified BASE64 of UTF-16 between "&" and
 *     "-", with "," for "/" and no "=" padding (RFC 2152).  "Modified
 *     BASE64 MUST NOT be used to represent any printing US-ASCII
 *     character which can represent itself."  "There is no implicit shift
 *     from BASE64 to US-ASCII, and null shifts ("-&" while in BASE64 ...)
 *     are not permitted."  So a run of non-ASCII characters is one shifted
 *     run, and "&AOQ-&AOQ-" is refused as Dovecot refuses it.
 *   - RFC 2152 rule 2: bits at the end of a run that "do not constitute a
 *     complete 16-bit Unicode character are discarded.  If such discarded
 *     bits are non-zero the sequence is ill-formed."  We go further and
 *     refuse six or more leftover bits (a whole spare base64 character, or
 *     an odd UTF-16 byte): an encoder pads only to the next character.
 *   - UTF-8 as in Unicode 15 table 3-7 (RFC 3629 section 4): no overlong
 *     forms, no surrogates, nothing above U+10FFFF.
 */
#include <errno.h>
#include <stdint.h>

#include "mutf7.h"

/* RFC 2152 base64 with "," for "/" (RFC 3501 5.1.3) */
static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* Where output goes: out[0..size-2] plus the NUL, or nowhere when p is
 * NULL (validation only).  full is set by the first byte that does not
 * fit; nothing is written after it, but the converter still reads the
 * whole input, so invalid input is EILSEQ whatever the buffer size. */
struct sink {
	char *p;
	size_t len, size;
	int full;
};

static void
put(struct sink *s, char c)
{
	if (s->full || s->len + 1 >= s->size) {
		s->full = 1;
		return;
	}
	if (s->p != NULL)
		s->p[s->len] = c;
	s->len++;
}

/* rc is the converter's verdict; turn it and the sink into the result
 * the caller sees (mutf7.h: "" and 0 on any failure). */
static int
sink_close(struct sink *s, int rc, size_t *outlen)
{
	if (rc != 0) {
		errno = EILSEQ;
		rc = -1;
	} else if (s->full || s->size == 0) {
		errno = ERANGE;	/* size 0: no room even for the NUL */
		rc = -1;
	}
	if (rc != 0)
		s->len = 0;
	if (s->p != NULL && s->size > 0)
		s->p[s->len] = '\0';
	if (outlen != NULL)
		*outlen = s->len;
	return rc;
}

/* printable US-ASCII: represents itself, except "&" (RFC 3501 5.1.3) */
static int
is_printable(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* C0, DEL and C1: refused in names (mutf7.h) */
static int
is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* One UTF-8 character at in[*i], which is < n; advances *i past it.
 * Returns the code point, or -1 for anything not well-formed. */
static int32_t
utf8_next(const unsigned char *in, size_t n, size_t *i)
{
	unsigned char c = in[*i];
	uint32_t cp, min;
	size_t len;

	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07, min = 0x10000;
	else
		return -1;	/* continuation byte, C0/C1 or F5-FF lead */
	if (n - *i < len)
		return -1;	/* truncated */
	for (size_t k = 1; k < len; k++) {
		if ((in[*i + k] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (in[*i + k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;	/* overlong, too large, surrogate */
	*i += len;
	return (int32_t)cp;
}

static void
put_utf8(struct sink *s, uint32_t cp)
{
	if (cp < 0x80) {
		put(s, (char)cp);
	} else if (cp < 0x800) {
		put(s, (char)(0xc0 | cp >> 6));
		put(s, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		put(s, (char)(0xe0 | cp >> 12));
		put(s, (char)(0x80 | (cp >> 6 & 0x3f)));
		put(s, (char)(0x80 | (cp & 0x3f)));
	} else {
		put(s, (char)(0xf0 | cp >> 18));
		put(s, (char)(0x80 | (cp >> 12 & 0x3f)));
		put(s, (char)(0x80 | (cp >> 6 & 0x3f)));
		put(s, (char)(0x80 | (cp & 0x3f)));
	}
}

int
utf8_valid(const char *in, size_t inlen)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t i = 0;
	int32_t cp;

	while (i < inlen) {
		cp = utf8_next(u, inlen, &i);
		if (cp < 0 || is_control((uint32_t)cp))
			return 0;
	}
	return 1;
}

/* ---- UTF-8 -> modified UTF-7 ---- */

/* Bits not yet written as base64; fewer than 6 between calls. */
struct b64 {
	uint32_t bits;
	unsigned nbits;
};

static void
b64_put16(struct sink *s, struct b64 *b, uint32_t unit)
{
	b->bits = b->bits << 16 | unit;
	b->nbits += 16;
	while (b->nbits >= 6) {
		b->nbits -= 6;
		put(s, b64_alphabet[b->bits >> b->nbits & 63]);
	}
	b->bits &= (1u << b->nbits) - 1;
}

/* Pad the last bits with zeros to a whole character (RFC 2152). */
static void
b64_flush(struct sink *s, struct b64 *b)
{
	if (b->nbits > 0)
		put(s, b64_alphabet[b->bits << (6 - b->nbits) & 63]);
}

/* One shifted run: every character from in[*i] up to the next
 * printable ASCII byte or the end, as UTF-16BE in one "&...-" (RFC 3501:
 * no null shifts, so the run is as long as it can be). */
static int
encode_run(const unsigned char *in, size_t n, size_t *i, struct sink *s)
{
	struct b64 b = { 0, 0 };
	int32_t cp;

	put(s, '&');
	while (*i < n && !is_printable(in[*i])) {
		cp = utf8_next(in, n, i);
		if (cp < 0 || is_control((uint32_t)cp))
			return -1;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			b64_put16(s, &b, 0xd800 | (uint32_t)cp >> 10);
			b64_put16(s, &b, 0xdc00 | ((uint32_t)cp & 0x3ff));
		} else {
			b64_put16(s, &b, (uint32_t)cp);
		}
	}
	b64_flush(s, &b);
	put(s, '-');
	return 0;
}

static int
encode(const unsigned char *in, size_t n, struct sink *s)
{
	size_t i = 0;

	while (i < n) {
		if (in[i] == '&') {
			put(s, '&');
			put(s, '-');
			i++;
		} else if (is_printable(in[i])) {
			put(s, (char)in[i++]);
		} else if (encode_run(in, n, &i, s) != 0) {
			return -1;
		}
	}
	return 0;
}

int
mutf7_encode(const char *in, size_t inlen, char *out, size_t outmax,
    size_t *outlen)
{
	struct sink s = { out, 0, out != NULL ? outmax : 0, 0 };

	return sink_close(&s, encode((const unsigned char *)in, inlen, &s),
	    outlen);
}

/* ---- modified UTF-7 -> UTF-8 ---- */

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

/* One UTF-16 unit from a shifted run; *high holds a high surrogate
 * waiting for its low half (0 if none). */
static int
utf16_unit(struct sink *s, uint32_t *high, uint32_t unit)
{
	uint32_t cp;

	if (unit >= 0xdc00 && unit <= 0xdfff) {
		if (*high == 0)
			return -1;	/* low surrogate first */
		cp = 0x10000 + ((*high - 0xd800) << 10) + (unit - 0xdc00);
		*high = 0;
	} else if (*high != 0) {
		return -1;	/* high surrogate without its low half */
	} else if (unit >= 0xd800 && unit <= 0xdbff) {
		*high = unit;
		return 0;
	} else if (unit < 0xa0) {
		return -1;	/* ASCII must be direct; or a control */
	} else {
		cp = unit;
	}
	put_utf8(s, cp);
	return 0;
}

/* A shifted run; *i is just past its "&" and not at a "-".  On success
 * *i is just past the closing "-". */
static int
decode_run(const unsigned char *in, size_t n, size_t *i, struct sink *s)
{
	uint32_t bits = 0, high = 0;
	unsigned nbits = 0;
	int v;

	for (; *i < n && in[*i] != '-'; (*i)++) {
		if ((v = b64_value(in[*i])) < 0)
			return -1;	/* no implicit shift back to ASCII */
		bits = bits << 6 | (uint32_t)v;
		nbits += 6;
		if (nbits >= 16) {
			nbits -= 16;
			if (utf16_unit(s, &high, bits >> nbits) != 0)
				return -1;
			bits &= (1u << nbits) - 1;
		}
	}
	if (*i == n || high != 0 || nbits >= 6 || bits != 0)
		return -1;	/* no "-", lone surrogate, spare bits */
	(*i)++;
	return 0;
}

static int
decode(const unsigned char *in, size_t n, struct sink *s)
{
	size_t i = 0;

	while (i < n) {
		if (!is_printable(in[i]))
			return -1;
		if (in[i] != '&') {
			put(s, (char)in[i++]);
		} else if (i + 1 < n && in[i + 1] == '-') {
			put(s, '&');
			i += 2;
		} else {
			i++;
			if (decode_run(in, n, &i, s) != 0)
				return -1;
			/* null shift "-&": two runs where one would do */
			if (i + 1 < n && in[i] == '&' && in[i + 1] != '-')
				return -1;
		}
	}
	return 0;
}

int
mutf7_decode(const char *in, size_t inlen, char *out, size_t outmax,
    size_t *outlen)
{
	struct sink s = { out, 0, out != NULL ? outmax : 0, 0 };

	return sink_close(&s, decode((const unsigned char *)in, inlen, &s),
	    outlen);
}

int
mutf7_valid(const char *in, size_t inlen)
{
	struct sink s = { NULL, 0, SIZE_MAX, 0 };

	return decode((const unsigned char *)in, inlen, &s) == 0;
}
