/*
 * crlf.c - stored line endings to wire line endings; see crlf.h for the
 * rule.  Converting and counting share step() so they cannot disagree.
 */
#include "crlf.h"

void
crlf_init(struct crlf *c)
{
	c->prev = -1;
	c->in = c->out = 0;
}

/* Wire bytes produced by input byte ch given the byte before it. */
static inline unsigned
step(int prev, unsigned char ch)
{
	return (ch == '\n' && prev != '\r') ? 2 : 1;
}

size_t
crlf_convert(struct crlf *c, const unsigned char *in, size_t n,
    unsigned char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (step(c->prev, in[i]) == 2)
			out[o++] = '\r';
		out[o++] = in[i];
		c->prev = in[i];
	}
	c->in += n;
	c->out += o;
	return o;
}

size_t
crlf_finish(struct crlf *c, unsigned char *out)
{
	if (c->prev == -1 || c->prev == '\n')
		return 0;
	out[0] = '\r';
	out[1] = '\n';
	c->prev = '\n';
	c->out += 2;
	return 2;
}

void
crlf_count(struct crlf *c, const unsigned char *in, size_t n)
{
	uint64_t o = 0;

	for (size_t i = 0; i < n; i++) {
		o += step(c->prev, in[i]);
		c->prev = in[i];
	}
	c->in += n;
	c->out += o;
}

uint64_t
crlf_count_finish(struct crlf *c)
{
	unsigned char tail[2];

	crlf_finish(c, tail);
	return c->out;
}
