/*
 * mime_decode.c - streaming Content-Transfer-Encoding decoders for
 * SEARCH (RFC 2045 6.7 quoted-printable, 6.8 base64).  Mail in the wild
 * breaks both, so neither ever fails: base64 skips what is not in its
 * alphabet and restarts after padding (concatenated blocks); quoted-
 * printable passes a malformed "=" through as text.
 */
#include <string.h>

#include "mime.h"

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
	if (c == '/')
		return 63;
	return c == '=' ? -2 : -1;
}

void
mime_b64_init(struct mime_b64 *d)
{
	d->acc = 0;
	d->nbits = 0;
}

size_t
mime_b64_feed(struct mime_b64 *d, const void *in, size_t n,
    unsigned char *out)
{
	const unsigned char *s = in;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int v = b64_value(s[i]);

		if (v == -2) {		/* padding: the group is over */
			d->acc = 0;
			d->nbits = 0;
			continue;
		}
		if (v < 0)
			continue;
		d->acc = (d->acc << 6) | (uint32_t)v;
		d->nbits += 6;
		if (d->nbits >= 8) {
			d->nbits -= 8;
			out[o++] = (unsigned char)(d->acc >> d->nbits);
			d->acc &= (1u << d->nbits) - 1;
		}
	}
	return o;
}

size_t
mime_b64_finish(struct mime_b64 *d, unsigned char *out)
{
	(void)out;		/* fewer than 8 bits left: nothing whole */
	mime_b64_init(d);
	return 0;
}

enum { Q_TEXT, Q_EQ, Q_EQ1, Q_EQWS, Q_EQCR };

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void
mime_qp_init(struct mime_qp *d)
{
	d->nhold = 0;
	d->state = Q_TEXT;
	d->digit = 0;
}

static size_t
flush_hold(struct mime_qp *d, unsigned char *out)
{
	size_t n = d->nhold;

	memcpy(out, d->hold, n);
	d->nhold = 0;
	return n;
}

/* One byte in the text state. */
static size_t
qp_text(struct mime_qp *d, unsigned char c, unsigned char *out)
{
	size_t o = 0;

	if (c == '=') {
		o = flush_hold(d, out);
		d->state = Q_EQ;
	} else if (c == ' ' || c == '\t') {
		if (d->nhold == MIME_QP_HOLD)
			o = flush_hold(d, out);
		d->hold[d->nhold++] = c;
	} else if (c == '\r' || c == '\n') {
		d->nhold = 0;	/* rule 3: trailing white space is padding */
		out[o++] = c;
	} else {
		o = flush_hold(d, out);
		out[o++] = c;
	}
	return o;
}

size_t
mime_qp_feed(struct mime_qp *d, const void *in, size_t n, unsigned char *out)
{
	const unsigned char *s = in;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		int h = hex_value(c);

		switch (d->state) {
		case Q_TEXT:
			o += qp_text(d, c, out + o);
			break;
		case Q_EQ:
			if (h >= 0) {
				d->digit = c;
				d->state = Q_EQ1;
			} else if (c == '\r') {
				d->state = Q_EQCR;
			} else if (c == '\n') {
				d->state = Q_TEXT;	/* soft line break */
			} else if (c == ' ' || c == '\t') {
				d->state = Q_EQWS;
			} else {
				out[o++] = '=';
				d->state = Q_TEXT;
				o += qp_text(d, c, out + o);
			}
			break;
		case Q_EQ1:
			d->state = Q_TEXT;
			if (h >= 0) {
				int hi = hex_value((unsigned char)d->digit);

				out[o++] = (unsigned char)(hi * 16 + h);
			} else {
				out[o++] = '=';
				out[o++] = (unsigned char)d->digit;
				o += qp_text(d, c, out + o);
			}
			break;
		case Q_EQWS:	/* "=" then padding: a soft break too */
			if (c == '\r')
				d->state = Q_EQCR;
			else if (c == '\n')
				d->state = Q_TEXT;
			else if (c != ' ' && c != '\t') {
				out[o++] = '=';
				d->state = Q_TEXT;
				o += qp_text(d, c, out + o);
			}
			break;
		default:	/* Q_EQCR */
			d->state = Q_TEXT;
			if (c != '\n')
				o += qp_text(d, c, out + o);
			break;
		}
	}
	return o;
}

size_t
mime_qp_finish(struct mime_qp *d, unsigned char *out)
{
	size_t o = 0;

	if (d->state == Q_EQ || d->state == Q_EQWS)
		out[o++] = '=';
	else if (d->state == Q_EQ1) {
		out[o++] = '=';
		out[o++] = (unsigned char)d->digit;
	}
	mime_qp_init(d);
	return o;
}
