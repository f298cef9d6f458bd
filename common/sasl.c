/*
 * sasl.c - base64 and SASL PLAIN parsing (see sasl.h).  Input here is
 * untrusted client data decoded in the unprivileged login process.
 */
#include <string.h>

#include "sasl.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64val(unsigned char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b64, c)) == NULL)
		return -1;
	return (int)(p - b64);
}

int
base64_decode(const char *in, size_t inlen, unsigned char *out,
    size_t outmax, size_t *outlen)
{
	size_t o = 0;

	if (inlen % 4 != 0)
		return -1;
	for (size_t i = 0; i < inlen; i += 4) {
		int v[4], pad = 0;

		for (int j = 0; j < 4; j++) {
			unsigned char c = (unsigned char)in[i + j];
			/* '=' only at the end: "xx==" or "xxx=" */
			if (c == '=' && i + 4 == inlen && j >= 2 &&
			    (j == 3 || in[i + 3] == '=')) {
				v[j] = 0;
				pad++;
			} else if ((v[j] = b64val(c)) < 0 || pad) {
				return -1;
			}
		}
		if (o + 3 - (size_t)pad > outmax)
			return -1;
		/* RFC 4648 section 3.5: the bits under padding must be zero;
		 * we reject non-canonical encodings rather than guess */
		if ((pad == 1 && (v[2] & 3)) || (pad == 2 && (v[1] & 15)))
			return -1;
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		if (pad < 1)
			out[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	*outlen = o;
	return 0;
}

size_t
base64_decoded_len(const char *in, size_t inlen)
{
	size_t n = inlen / 4 * 3;

	if (inlen % 4 != 0 || inlen == 0)
		return 0;	/* malformed or empty: base64_decode decides */
	if (in[inlen - 1] == '=')
		n--;
	if (in[inlen - 2] == '=')
		n--;
	return n;
}

void
base64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0, i;

	for (i = 0; i + 2 < n; i += 3) {
		out[o++] = b64[in[i] >> 2];
		out[o++] = b64[(in[i] & 3) << 4 | in[i + 1] >> 4];
		out[o++] = b64[(in[i + 1] & 15) << 2 | in[i + 2] >> 6];
		out[o++] = b64[in[i + 2] & 63];
	}
	if (i < n) {
		out[o++] = b64[in[i] >> 2];
		if (i + 1 < n) {
			out[o++] = b64[(in[i] & 3) << 4 | in[i + 1] >> 4];
			out[o++] = b64[(in[i + 1] & 15) << 2];
		} else {
			out[o++] = b64[(in[i] & 3) << 4];
			out[o++] = '=';
		}
		out[o++] = '=';
	}
	out[o] = '\0';
}

/* Copy part [p, p+n) into dst (max bytes), NUL-terminated. */
static int
take(char *dst, size_t max, size_t *len, const unsigned char *p, size_t n)
{
	if (n > max)
		return -1;
	memcpy(dst, p, n);
	dst[n] = '\0';
	*len = n;
	return 0;
}

int
sasl_plain_parse(const unsigned char *msg, size_t n, struct sasl_creds *c)
{
	const unsigned char *nul1, *nul2, *end = msg + n;

	memset(c, 0, sizeof(*c));
	if ((nul1 = memchr(msg, '\0', n)) == NULL)
		return -1;
	if ((nul2 = memchr(nul1 + 1, '\0', (size_t)(end - nul1 - 1))) == NULL)
		return -1;
	if (nul2 == nul1 + 1 || nul2 + 1 == end)
		return -1;	/* empty authcid or passwd */
	if (take(c->authzid, sizeof(c->authzid) - 1, &c->azlen, msg,
	    (size_t)(nul1 - msg)) < 0 ||
	    take(c->user, sizeof(c->user) - 1, &c->ulen, nul1 + 1,
	    (size_t)(nul2 - nul1 - 1)) < 0 ||
	    take(c->pass, sizeof(c->pass) - 1, &c->plen, nul2 + 1,
	    (size_t)(end - nul2 - 1)) < 0 ||
	    memchr(c->pass, '\0', c->plen) != NULL) {
		sasl_creds_wipe(c);
		return -1;
	}
	return 0;
}

void
sasl_creds_wipe(struct sasl_creds *c)
{
	explicit_bzero(c, sizeof(*c));
}
