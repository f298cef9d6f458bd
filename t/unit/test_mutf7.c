/*
 * test_mutf7.c - the modified UTF-7 codec (mutf7.h): the RFC 3501 5.1.3
 * example both ways, "&-", surrogate pairs, one named test per thing the
 * decoder or encoder must refuse, output bounded by outmax to the byte,
 * and the round-trip property over pseudo-random names (fixed seed):
 * decode(encode(x)) == x, and encode(decode(y)) == y whenever decode
 * accepts y.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mutf7.h"
#include "tap.h"

#define S(lit) lit, sizeof(lit) - 1	/* counted literal, NULs included */

/* An exactly-sized heap copy, so that under ASan (make SANITIZE=1) a read
 * past inlen is reported instead of landing on the literal's NUL. */
static char *
exact(const char *p, size_t n)
{
	char *c = malloc(n ? n : 1);

	if (c == NULL)
		abort();
	memcpy(c, p, n);
	return c;
}

/* ---- fixtures both ways ---- */

static void
both_ways(const char *name, const char *utf8, size_t ulen, const char *m7,
    size_t mlen)
{
	char out[512], label[160];
	size_t olen = 99;
	int rc;

	utf8 = exact(utf8, ulen);
	m7 = exact(m7, mlen);
	rc = mutf7_encode(utf8, ulen, out, sizeof(out), &olen);
	snprintf(label, sizeof(label), "%s: encodes", name);
	tap_ok(rc == 0 && olen == strlen(out) && olen == mlen &&
	    memcmp(out, m7, mlen) == 0, "%s", label);
	if (rc != 0 || olen != mlen || memcmp(out, m7, mlen) != 0)
		tap_diag("rc %d, got \"%s\", want \"%.*s\"", rc, out,
		    (int)mlen, m7);

	olen = 99;
	rc = mutf7_decode(m7, mlen, out, sizeof(out), &olen);
	snprintf(label, sizeof(label), "%s: decodes", name);
	tap_ok(rc == 0 && olen == strlen(out) && olen == ulen &&
	    memcmp(out, utf8, ulen) == 0, "%s", label);

	snprintf(label, sizeof(label), "%s: both sides valid", name);
	tap_ok(utf8_valid(utf8, ulen) && mutf7_valid(m7, mlen), "%s", label);
	free((char *)utf8);
	free((char *)m7);
}

static void
test_fixtures(void)
{
	both_ways("rfc3501_example",
	    S("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"),
	    S("~peter/mail/&U,BTFw-/&ZeVnLIqe-"));
	both_ways("ampersand", S("&"), S("&-"));
	both_ways("ampersands_dovecot", S("&&x&&"), S("&-&-x&-&-"));
	both_ways("empty_name", S(""), S(""));
	both_ways("latin1_runs", S("tiet\xc3\xa4j\xc3\xa4"),
	    S("tiet&AOQ-j&AOQ-"));
	both_ways("one_run_three_chars", S("\xc3\xa4\xc3\xb6\xc3\xbc"),
	    S("&AOQA9gD8-"));
	both_ways("run_amp_run_is_not_a_null_shift",
	    S("\xc3\xa4&\xc3\xa4"), S("&AOQ-&-&AOQ-"));
	both_ways("astral_u1f600_surrogate_pair", S("\xf0\x9f\x98\x80"),
	    S("&2D3eAA-"));
	both_ways("astral_between_ascii", S("a\xf0\x9f\x98\x80" "b"),
	    S("a&2D3eAA-b"));
	both_ways("astral_u10ffff_highest", S("\xf4\x8f\xbf\xbf"),
	    S("&2,,f,w-"));
	both_ways("astral_and_bmp_in_one_run",
	    S("\xc3\xa4\xf0\x9f\x98\x80\xc3\xa4"), S("&AOTYPd4AAOQ-"));
	both_ways("u00a0_lowest_encoded", S("\xc2\xa0"), S("&AKA-"));
	both_ways("uffff_top_of_bmp", S("\xef\xbf\xbf"), S("&,,8-"));
	both_ways("dash_after_run", S("\xc3\xa4-"), S("&AOQ--"));
	both_ways("maildir_dots_untouched", S(".INBOX.f\xc3\xb6o"),
	    S(".INBOX.f&APY-o"));
}

static void
test_plain_ascii(void)
{
	char in[128], want[256], out[256], back[256];
	size_t n = 0, w = 0, olen, blen;
	int ok;

	for (int c = 0x20; c <= 0x7e; c++) {
		in[n++] = (char)c;
		want[w++] = (char)c;
		if (c == '&')
			want[w++] = '-';
	}
	ok = mutf7_encode(in, n, out, sizeof(out), &olen) == 0 &&
	    olen == w && memcmp(out, want, w) == 0 &&
	    mutf7_decode(out, olen, back, sizeof(back), &blen) == 0 &&
	    blen == n && memcmp(back, in, n) == 0;
	tap_ok(ok, "plain_ascii_0x20_0x7e_roundtrips_direct");
}

/* ---- refusals ---- */

static void
enc_rejects(const char *name, const char *lit, size_t n)
{
	char out[64], *in = exact(lit, n);
	size_t olen = 99;
	int rc;

	memset(out, 'X', sizeof(out));
	errno = 0;
	rc = mutf7_encode(in, n, out, sizeof(out), &olen);
	tap_ok(rc == -1 && errno == EILSEQ && olen == 0 && out[0] == '\0' &&
	    !utf8_valid(in, n), "encode_rejects_%s", name);
	free(in);
}

static void
dec_rejects(const char *name, const char *lit, size_t n)
{
	char out[64], *in = exact(lit, n);
	size_t olen = 99;
	int rc;

	memset(out, 'X', sizeof(out));
	errno = 0;
	rc = mutf7_decode(in, n, out, sizeof(out), &olen);
	tap_ok(rc == -1 && errno == EILSEQ && olen == 0 && out[0] == '\0' &&
	    !mutf7_valid(in, n), "decode_rejects_%s", name);
	if (rc != -1)
		tap_diag("accepted, gave \"%s\"", out);
	free(in);
}

static void
test_encode_rejects(void)
{
	enc_rejects("overlong_2byte_slash", S("\xc0\xaf"));
	enc_rejects("overlong_2byte_nul", S("\xc0\x80"));
	enc_rejects("overlong_c1_lead", S("\xc1\xbf"));
	enc_rejects("overlong_3byte", S("\xe0\x80\xaf"));
	enc_rejects("overlong_3byte_u07ff", S("\xe0\x9f\xbf"));
	enc_rejects("overlong_4byte", S("\xf0\x80\x80\xaf"));
	enc_rejects("overlong_4byte_uffff", S("\xf0\x8f\xbf\xbf"));
	enc_rejects("surrogate_high_ud800", S("\xed\xa0\x80"));
	enc_rejects("surrogate_low_udfff", S("\xed\xbf\xbf"));
	enc_rejects("surrogate_pair_cesu8", S("\xed\xa0\xbd\xed\xb8\x80"));
	enc_rejects("above_u10ffff", S("\xf4\x90\x80\x80"));
	enc_rejects("lead_f5", S("\xf5\x80\x80\x80"));
	enc_rejects("lead_ff", S("\xff"));
	enc_rejects("lone_continuation", S("a\x80" "b"));
	enc_rejects("truncated_2byte_at_end", S("a\xc3"));
	enc_rejects("truncated_3byte_at_end", S("\xe6\x97"));
	enc_rejects("truncated_4byte_at_end", S("\xf0\x9f\x98"));
	enc_rejects("truncated_then_ascii", S("\xc3" "a"));
	enc_rejects("nul_inside", S("a\0b"));
	enc_rejects("nul_alone", S("\0"));
	enc_rejects("c0_control_01", S("\x01"));
	enc_rejects("c0_tab", S("a\tb"));
	enc_rejects("c0_newline", S("a\nb"));
	enc_rejects("c0_control_1f", S("\x1f"));
	enc_rejects("del_7f", S("a\x7f"));
	enc_rejects("c1_u0080", S("\xc2\x80"));
	enc_rejects("c1_u009f", S("\xc2\x9f"));
	enc_rejects("control_inside_run", S("\xc3\xa4\x01\xc3\xa4"));
}

static void
test_decode_rejects(void)
{
	dec_rejects("amp_alone", S("&"));
	dec_rejects("amp_at_end", S("a&"));
	dec_rejects("run_without_dash", S("&AOQ"));
	dec_rejects("rfc_example_without_dash", S("~peter/&U,BTFw"));
	dec_rejects("implicit_shift_back", S("&Jjo!"));
	dec_rejects("amp_inside_run", S("&AOQ&-"));
	dec_rejects("slash_not_comma", S("&U/BTFw-"));
	dec_rejects("base64_padding", S("&AOQ=-"));
	dec_rejects("encoded_a_noncanonical", S("&AGE-"));
	dec_rejects("encoded_amp", S("&ACY-"));
	dec_rejects("encoded_dash", S("&AC0-"));
	dec_rejects("encoded_space", S("&ACA-"));
	dec_rejects("encoded_tilde", S("&AH4-"));
	dec_rejects("encoded_a_inside_run", S("&AOQAYQ-"));
	dec_rejects("encoded_nul", S("&AAA-"));
	dec_rejects("encoded_c0_01", S("&AAE-"));
	dec_rejects("encoded_c0_1f", S("&AB8-"));
	dec_rejects("encoded_del", S("&AH8-"));
	dec_rejects("encoded_c1_0080", S("&AIA-"));
	dec_rejects("encoded_c1_009f", S("&AJ8-"));
	dec_rejects("leftover_bits_nonzero", S("&AOR-"));
	dec_rejects("leftover_bits_nonzero_astral", S("&2D3eAB-"));
	dec_rejects("spare_base64_char", S("&AOQA5ADkA-"));
	dec_rejects("one_base64_char", S("&A-"));
	dec_rejects("two_base64_chars_odd_byte", S("&AA-"));
	dec_rejects("odd_utf16_bytes", S("&AOQA-"));
	dec_rejects("base64_is_case_sensitive", S("&aoq-"));
	dec_rejects("unpaired_high_surrogate_at_end", S("&2D0-"));
	dec_rejects("unpaired_low_surrogate", S("&3gA-"));
	dec_rejects("high_surrogate_then_bmp", S("&2D0A5A-"));
	dec_rejects("low_then_high_surrogate", S("&3gDYPQ-"));
	dec_rejects("high_high_low_surrogates", S("&2D3YPd4A-"));
	dec_rejects("null_shift_adjacent_runs", S("&U,BTFw-&ZeVnLIqe-"));
	dec_rejects("null_shift_short_runs", S("&AOQ-&AOQ-"));
	dec_rejects("byte_nul_inside", S("a\0b"));
	dec_rejects("byte_tab", S("a\tb"));
	dec_rejects("byte_crlf", S("a\r\n"));
	dec_rejects("byte_1f", S("\x1f"));
	dec_rejects("byte_del", S("a\x7f"));
	dec_rejects("byte_80", S("\x80"));
	dec_rejects("byte_ff", S("\xff"));
	dec_rejects("raw_utf8", S("\xc3\xa4"));
	dec_rejects("nul_inside_run", S("&AO\0Q-"));
}

/* ---- outmax ---- */

/* Every outmax from 0 to len + 2: success exactly when len + 1 fits,
 * ERANGE below that, and no byte at or past outmax is ever written. */
static void
bounded(const char *name, int (*conv)(const char *, size_t, char *, size_t,
    size_t *), const char *in, size_t n, size_t want)
{
	char out[256];
	size_t olen;
	int ok = 1, rc;

	for (size_t max = 0; max <= want + 2; max++) {
		memset(out, 'X', sizeof(out));
		errno = 0;
		rc = conv(in, n, out, max, &olen);
		if (max > want)
			ok &= rc == 0 && olen == want && out[want] == '\0';
		else
			ok &= rc == -1 && errno == ERANGE && olen == 0 &&
			    (max == 0 || out[0] == '\0');
		for (size_t k = max; k < sizeof(out); k++)
			ok &= out[k] == 'X';
		if (!ok) {
			tap_diag("outmax %zu: rc %d", max, rc);
			break;
		}
	}
	tap_ok(ok, "%s_bounded_by_outmax_at_every_size", name);
}

static void
test_outmax(void)
{
	static const char u[] = "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e";
	static const char m[] = "~peter/mail/&U,BTFw-/&ZeVnLIqe-";
	char out[64];
	size_t olen;

	bounded("encode", mutf7_encode, u, strlen(u), strlen(m));
	bounded("decode", mutf7_decode, m, strlen(m), strlen(u));
	bounded("decode_astral", mutf7_decode, S("a&2D3eAA-"), 5);

	tap_ok(mutf7_encode(u, strlen(u), out, strlen(m) + 1, &olen) == 0 &&
	    olen == strlen(m) && strcmp(out, m) == 0,
	    "encode_output_exactly_fitting");
	errno = 0;
	tap_ok(mutf7_encode(u, strlen(u), out, strlen(m), &olen) == -1 &&
	    errno == ERANGE && out[0] == '\0',
	    "encode_output_one_byte_short");
	tap_ok(mutf7_decode(m, strlen(m), out, strlen(u) + 1, &olen) == 0 &&
	    olen == strlen(u) && strcmp(out, u) == 0,
	    "decode_output_exactly_fitting");
	errno = 0;
	tap_ok(mutf7_decode(m, strlen(m), out, strlen(u), &olen) == -1 &&
	    errno == ERANGE && out[0] == '\0',
	    "decode_output_one_byte_short");
	tap_ok(mutf7_encode("", 0, out, 1, &olen) == 0 && olen == 0 &&
	    out[0] == '\0', "empty_name_fits_outmax_1");
	errno = 0;
	tap_ok(mutf7_encode("", 0, out, 0, &olen) == -1 && errno == ERANGE &&
	    mutf7_decode("", 0, out, 0, &olen) == -1 && errno == ERANGE,
	    "empty_name_outmax_0_has_no_room_for_nul");
	errno = 0;
	tap_ok(mutf7_decode(S("&AOR-"), out, 2, &olen) == -1 &&
	    errno == EILSEQ, "invalid_input_is_eilseq_even_when_short");
	tap_ok(mutf7_encode(S("a"), out, sizeof(out), NULL) == 0 &&
	    strcmp(out, "a") == 0, "outlen_may_be_null");
	errno = 0;
	tap_ok(mutf7_decode(S("a"), NULL, 16, &olen) == -1 &&
	    errno == ERANGE && olen == 0, "null_out_is_no_room");
}

/* ---- exhaustive over the BMP ---- */

static size_t
put_utf8(char *p, uint32_t cp)
{
	if (cp < 0x80) {
		p[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		p[0] = (char)(0xc0 | cp >> 6);
		p[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		p[0] = (char)(0xe0 | cp >> 12);
		p[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		p[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	p[0] = (char)(0xf0 | cp >> 18);
	p[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	p[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	p[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Each BMP character alone: controls refused, printable ASCII direct,
 * everything else a run that decodes back; surrogates refused. */
static void
test_every_bmp_char(void)
{
	char in[4], out[16], back[16];
	size_t n, olen, blen;
	uint32_t bad = 0;
	int ctl, sur, rc;

	for (uint32_t cp = 0; cp <= 0xffff && bad == 0; cp++) {
		n = put_utf8(in, cp);
		ctl = cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
		sur = cp >= 0xd800 && cp <= 0xdfff;
		rc = mutf7_encode(in, n, out, sizeof(out), &olen);
		if (ctl || sur) {
			if (rc != -1 || utf8_valid(in, n))
				bad = cp + 1;
			continue;
		}
		if (rc != 0 || (cp >= 0x20 && cp < 0x7f && cp != '&' &&
		    (olen != 1 || out[0] != (char)cp)) ||
		    mutf7_decode(out, olen, back, sizeof(back), &blen) != 0 ||
		    blen != n || memcmp(back, in, n) != 0)
			bad = cp + 1;
	}
	tap_ok(bad == 0, "every_bmp_char_alone_roundtrips_or_is_refused");
	if (bad)
		tap_diag("first failure at U+%04X", (unsigned)(bad - 1));
}

/* ---- pseudo-random round trips ---- */

static uint64_t rng = 0x9e3779b97f4a7c15u;	/* fixed: reproducible runs */

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

/* A valid name of up to 24 characters from every length class. */
static size_t
random_name(char *p)
{
	size_t n = 0, chars = rnd(25);
	uint32_t cp;

	for (size_t k = 0; k < chars; k++) {
		switch (rnd(4)) {
		case 0:
			cp = 0x20 + rnd(0x5f);
			break;
		case 1:
			cp = 0xa0 + rnd(0x800 - 0xa0);
			break;
		case 2:
			cp = 0x800 + rnd(0x10000 - 0x800 - 0x800);
			if (cp >= 0xd800)
				cp += 0x800;	/* skip the surrogates */
			break;
		default:
			cp = 0x10000 + rnd(0x100000);
			break;
		}
		n += put_utf8(p + n, cp);
	}
	return n;
}

#define ROUNDS 500

static void
test_random_roundtrip(void)
{
	char in[128], enc[512], dec[128];
	size_t n, elen, dlen;
	int bad = 0;

	for (int r = 0; r < ROUNDS && !bad; r++) {
		n = random_name(in);
		if (!utf8_valid(in, n) ||
		    mutf7_encode(in, n, enc, sizeof(enc), &elen) != 0 ||
		    !mutf7_valid(enc, elen) ||
		    mutf7_decode(enc, elen, dec, sizeof(dec), &dlen) != 0 ||
		    dlen != n || memcmp(dec, in, n) != 0)
			bad = r + 1;
		for (size_t k = 0; k < elen && !bad; k++)
			if (enc[k] < 0x20 || enc[k] > 0x7e)
				bad = r + 1;
	}
	tap_ok(!bad, "random_utf8_encode_then_decode_is_identity_%d_names",
	    ROUNDS);
	if (bad)
		tap_diag("round %d", bad - 1);
}

/* y -> decode -> encode gives back y, for y that decode accepts. */
static int
reencodes(const char *y, size_t n)
{
	char dec[512], enc[512];
	size_t dlen, elen;

	if (mutf7_decode(y, n, dec, sizeof(dec), &dlen) != 0)
		return -1;
	return mutf7_encode(dec, dlen, enc, sizeof(enc), &elen) == 0 &&
	    elen == n && memcmp(enc, y, n) == 0;
}

static void
test_reencode(void)
{
	static const char *valid[] = {
		"", "INBOX", "&-", "&-&-x&-&-",
		"~peter/mail/&U,BTFw-/&ZeVnLIqe-",
		"tiet&AOQ-j&AOQ-", "&AOQ-&-&AOQ-", "a&2D3eAA-b", "&2,,f,w-",
		"&AOTYPd4AAOQ-", "&AOQ--", ".INBOX.f&APY-o", "&,,8-",
	};
	char in[128], enc[512], mut[512];
	size_t n, elen;
	int ok = 1, accepted = 0;

	for (size_t k = 0; k < sizeof(valid) / sizeof(valid[0]); k++)
		ok &= reencodes(valid[k], strlen(valid[k])) == 1;
	tap_ok(ok, "encode_decode_is_identity_on_fixtures");

	/* Mutate one byte of a valid encoding to another printable byte:
	 * whatever decode still accepts must encode back to itself. */
	ok = 1;
	for (int r = 0; r < ROUNDS; r++) {
		n = random_name(in);
		if (mutf7_encode(in, n, enc, sizeof(enc), &elen) != 0 ||
		    elen == 0)
			continue;
		memcpy(mut, enc, elen);
		mut[rnd((uint32_t)elen)] = (char)(0x20 + rnd(0x5f));
		switch (reencodes(mut, elen)) {
		case 1:
			accepted++;
			break;
		case 0:
			ok = 0;
			tap_diag("not canonical: \"%.*s\"", (int)elen, mut);
			break;
		}
	}
	tap_ok(ok, "encode_decode_is_identity_on_mutated_names");
	tap_diag("%d of %d mutated names still valid", accepted, ROUNDS);
}

int
main(void)
{
	test_fixtures();
	test_plain_ascii();
	test_encode_rejects();
	test_decode_rejects();
	test_outmax();
	test_every_bmp_char();
	test_random_roundtrip();
	test_reencode();
	return tap_done();
}
