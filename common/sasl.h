/*
 * sasl.h - decoding of the SASL mechanisms we offer, in the login
 * process: PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login), plus
 * strict base64 (RFC 4648 section 4: no whitespace, padding required,
 * zero padding bits).
 * All outputs are bounded by the caller's buffer sizes.
 */
#ifndef POSTERN_SASL_H
#define POSTERN_SASL_H

#include <stddef.h>

/* Decode base64 into out (at most outmax bytes); -1 on bad input or if
 * the result does not fit.  An empty input decodes to 0 bytes. */
int base64_decode(const char *in, size_t inlen, unsigned char *out,
    size_t outmax, size_t *outlen);
/* The size base64_decode would produce for a well-formed input of inlen
 * bytes (used to tell "too long" from "malformed"). */
size_t base64_decoded_len(const char *in, size_t inlen);
/* Encode; out must hold 4 * ((n + 2) / 3) + 1 bytes; NUL-terminated. */
void base64_encode(const unsigned char *in, size_t n, char *out);

struct sasl_creds {
	char authzid[256], user[256], pass[1025];
	size_t azlen, ulen, plen;
};

/*
 * Split a decoded PLAIN message "authzid NUL authcid NUL passwd".
 * RFC 4616 section 2: authcid and passwd must be non-empty, and neither
 * part may contain NUL.  Returns -1 when malformed or too long.
 */
int sasl_plain_parse(const unsigned char *msg, size_t n, struct sasl_creds *c);

/* Wipe credentials. */
void sasl_creds_wipe(struct sasl_creds *c);

#endif
