/*
 * test_sasl.c - strict base64 (RFC 4648 section 4: padding required, no
 * whitespace, no other alphabet) and SASL PLAIN splitting (RFC 4616),
 * in common/sasl.c.  This code sees untrusted client bytes in the login
 * process, so every malformed shape must be refused, never read past.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasl.h"
#include "tap.h"

/* Decode a C string; returns the result and the output in out/outlen. */
static int
dec(const char *in, size_t outmax, unsigned char *out, size_t *outlen)
{
	*outlen = 9999;
	return base64_decode(in, strlen(in), out, outmax, outlen);
}

static void
test_vectors(void)
{
	/* RFC 4648 section 10 */
	static const char *const v[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	unsigned char out[64];
	char enc[64];
	size_t n;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		base64_encode((const unsigned char *)v[i][0], strlen(v[i][0]), enc);
		tap_is_str(enc, v[i][1], "encode RFC 4648 vector");
		tap_is_int(dec(v[i][1], sizeof(out), out, &n), 0,
		    "decode RFC 4648 vector");
		tap_is_mem(out, n, v[i][0], strlen(v[i][0]), v[i][1]);
	}
	/* every byte value, every length mod 3 */
	{
		unsigned char all[256], back[256];
		char e[400];
		int good = 1;

		for (int i = 0; i < 256; i++)
			all[i] = (unsigned char)i;
		for (size_t len = 0; len <= 256; len++) {
			base64_encode(all + (256 - len), len, e);
			if (strlen(e) != 4 * ((len + 2) / 3) ||
			    base64_decode(e, strlen(e), back, sizeof(back), &n) != 0 ||
			    n != len || memcmp(back, all + (256 - len), len) != 0) {
				good = 0;
				tap_diag("round trip failed at length %zu", len);
				break;
			}
		}
		tap_ok(good, "round trip of all byte values, lengths 0..256");
	}
	tap_is_int(dec("+/+/", sizeof(out), out, &n), 0, "'+' and '/' decode");
	tap_ok(n == 3 && out[0] == 0xfb && out[1] == 0xff && out[2] == 0xbf,
	    "'+/+/' is fb ff bf");
	tap_is_int(dec("", 0, out, &n), 0, "empty input into a 0-byte buffer");
	tap_is_int((long long)n, 0, "empty input decodes to 0 bytes");
}

static void
test_bad(void)
{
	static const char *const bad[] = {
		"Zg", "Zg=", "Zm9", "Zm9vY", "Z", "=", "==", "===", "====",
		"Z===", "Zg==Zg==", "Zg==Zm9v", "Zm=v", "Zg=a", "=Zm9", "Zm9v=",
		"Zm9v====", "Zm9-", "Zm9_", "Zm9.", "Zm9!", "!!!!", "Zm9v\r\n",
		"Zm9v\n", " Zm9v", "Zm9v ", "Zm 9v", "Zm9v Zm9v", "\tZm9v",
		"Zm9\tv", "Zm9v\r", "Zm9\xff", "\x80Zm9",
	};
	unsigned char out[64];
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char name[64];
		int r = dec(bad[i], sizeof(out), out, &n);

		snprintf(name, sizeof(name), "reject base64 #%zu (len %zu)", i,
		    strlen(bad[i]));
		tap_is_int(r, -1, name);
	}
	/* NUL inside: length says 4, but a NUL is not base64 */
	tap_is_int(base64_decode("Zm\0v", 4, out, sizeof(out), &n), -1,
	    "reject a NUL byte inside the input");
	tap_is_int(base64_decode("Zg=\0", 4, out, sizeof(out), &n), -1,
	    "reject a NUL in the padding position");
	/* output limits */
	tap_is_int(dec("Zm9vYmFy", 6, out, &n), 0, "6 bytes fit in 6");
	tap_is_int(dec("Zm9vYmFy", 5, out, &n), -1, "6 bytes overflow 5");
	tap_is_int(dec("Zm9vYg==", 4, out, &n), 0, "4 bytes (padded) fit in 4");
	tap_is_int(dec("Zm9vYg==", 3, out, &n), -1, "4 bytes (padded) overflow 3");
	tap_is_int(dec("Zm9vYmE=", 5, out, &n), 0, "5 bytes fit in 5");
	tap_is_int(dec("Zm9vYmE=", 4, out, &n), -1, "5 bytes overflow 4");
	tap_is_int(dec("Zg==", 0, out, &n), -1, "1 byte overflows 0");
	{
		/* the guard byte after outmax is never written */
		unsigned char g[8];

		memset(g, 0xA5, sizeof(g));
		(void)dec("Zm9vYmFy", 5, g, &n);
		tap_ok(g[5] == 0xA5 && g[6] == 0xA5,
		    "a refused decode writes nothing past outmax");
	}
}

static size_t
mk(unsigned char *m, const char *az, size_t azl, const char *u, size_t ul,
    const char *p, size_t pl)
{
	size_t n = 0;

	memcpy(m + n, az, azl);
	n += azl;
	m[n++] = 0;
	memcpy(m + n, u, ul);
	n += ul;
	m[n++] = 0;
	memcpy(m + n, p, pl);
	return n + pl;
}

static int
all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i])
			return 0;
	return 1;
}

static void
test_plain(void)
{
	struct sasl_creds c;
	static unsigned char m[2000];
	static char u[300], p[1100];
	size_t n;

	memset(u, 'u', sizeof(u));
	memset(p, 'p', sizeof(p));

	tap_is_int(sasl_plain_parse((const unsigned char *)"\0alice\0secret", 13,
	    &c), 0, "\\0alice\\0secret");
	tap_is_mem(c.authzid, c.azlen, "", 0, "authzid empty");
	tap_is_mem(c.user, c.ulen, "alice", 5, "authcid alice");
	tap_is_mem(c.pass, c.plen, "secret", 6, "passwd secret");
	tap_ok(c.user[c.ulen] == '\0' && c.pass[c.plen] == '\0',
	    "fields are NUL-terminated");

	tap_is_int(sasl_plain_parse((const unsigned char *)"alice\0alice\0pw", 14,
	    &c), 0, "alice\\0alice\\0pw");
	tap_is_mem(c.authzid, c.azlen, "alice", 5, "authzid alice");
	tap_is_mem(c.user, c.ulen, "alice", 5, "authcid alice");
	tap_is_mem(c.pass, c.plen, "pw", 2, "passwd pw");

	tap_is_int(sasl_plain_parse((const unsigned char *)"\0\0pw", 4, &c), -1,
	    "empty authcid rejected");
	tap_is_int(sasl_plain_parse((const unsigned char *)"\0alice\0", 7, &c), -1,
	    "empty passwd rejected");
	tap_is_int(sasl_plain_parse((const unsigned char *)"\0\0", 2, &c), -1,
	    "both empty rejected");
	tap_is_int(sasl_plain_parse((const unsigned char *)"alice", 5, &c), -1,
	    "no NUL rejected");
	tap_is_int(sasl_plain_parse((const unsigned char *)"\0alice", 6, &c), -1,
	    "one NUL rejected");
	tap_is_int(sasl_plain_parse((const unsigned char *)"alice\0secret", 12,
	    &c), -1, "one NUL (authcid\\0passwd) rejected");
	tap_is_int(sasl_plain_parse((const unsigned char *)"", 0, &c), -1,
	    "empty message rejected");
	tap_is_int(sasl_plain_parse((const unsigned char *)"\0alice\0se\0cret",
	    15, &c), -1, "a third NUL (in passwd) rejected (RFC 4616)");
	tap_ok(all_zero(&c, sizeof(c)), "creds are wiped after a rejection");
	tap_is_int(sasl_plain_parse((const unsigned char *)"\0alice\0secret\0",
	    14, &c), -1, "a trailing NUL rejected");
	tap_is_int(sasl_plain_parse((const unsigned char *)"\0\0\0", 3, &c), -1,
	    "three NULs rejected");

	n = mk(m, "", 0, u, 255, "pw", 2);
	tap_is_int(sasl_plain_parse(m, n, &c), 0, "authcid of 255 accepted");
	tap_is_int((long long)c.ulen, 255, "length 255");
	n = mk(m, "", 0, u, 256, "pw", 2);
	tap_is_int(sasl_plain_parse(m, n, &c), -1, "authcid of 256 rejected");
	tap_ok(all_zero(&c, sizeof(c)), "creds wiped");
	n = mk(m, u, 255, "a", 1, "pw", 2);
	tap_is_int(sasl_plain_parse(m, n, &c), 0, "authzid of 255 accepted");
	n = mk(m, u, 256, "a", 1, "pw", 2);
	tap_is_int(sasl_plain_parse(m, n, &c), -1, "authzid of 256 rejected");
	n = mk(m, "", 0, "a", 1, p, 1024);
	tap_is_int(sasl_plain_parse(m, n, &c), 0, "passwd of 1024 accepted");
	tap_is_int((long long)c.plen, 1024, "length 1024");
	n = mk(m, "", 0, "a", 1, p, 1025);
	tap_is_int(sasl_plain_parse(m, n, &c), -1, "passwd of 1025 rejected");
	tap_ok(all_zero(&c, sizeof(c)), "creds wiped");

	sasl_plain_parse((const unsigned char *)"\0alice\0secret", 13, &c);
	sasl_creds_wipe(&c);
	tap_ok(all_zero(&c, sizeof(c)), "sasl_creds_wipe zeroes everything");

	/* parse never reads past n: a message cut right after the 2nd NUL */
	{
		unsigned char *h = malloc(7);

		memcpy(h, "\0alice\0", 7);
		tap_is_int(sasl_plain_parse(h, 7, &c), -1,
		    "exact-size heap buffer, empty passwd: rejected in bounds");
		free(h);
	}
}

/* base64_decoded_len agrees with base64_decode, and leaves malformed
 * lengths (where padding must not be subtracted) to the decoder. */
static void
test_decoded_len(void)
{
	static const char *const good[] = { "", "Zg==", "Zm8=", "Zm9v",
	    "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	unsigned char out[16];
	size_t n;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		base64_decode(good[i], strlen(good[i]), out, sizeof(out), &n);
		tap_is_int((long long)base64_decoded_len(good[i], strlen(good[i])),
		    (long long)n, good[i]);
	}
	tap_is_int((long long)base64_decoded_len("=", 1), 0,
	    "decoded_len of \"=\" is 0, not an underflow");
	tap_is_int((long long)base64_decoded_len("==", 2), 0,
	    "decoded_len of \"==\" is 0");
	tap_is_int((long long)base64_decoded_len("Zm9", 3), 0,
	    "decoded_len of a length not a multiple of 4 is 0");
}

int
main(void)
{
	test_decoded_len();
	test_vectors();
	test_bad();
	test_plain();
	return tap_done();
}
