/*
 * uidl.c - pop3_uidl_format, with Dovecot's meaning so that a mailbox
 * moved from Dovecot keeps its unique-ids and clients do not download it
 * again: %u the UID, %v the UIDVALIDITY, %f the Maildir file's unique
 * name, %% a percent sign; an optional zero flag and width and an X
 * (upper-case hex) modifier, as in the default %08Xu%08Xv.
 */
#include <stdio.h>
#include <string.h>

#include "pop3.h"

/* Expand one %-sequence starting after the '%'; returns chars consumed. */
static int
expand_one(const char *f, struct store *st, unsigned i, char *out,
    size_t outlen, size_t *o, const char **err)
{
	const char *p = f;
	int zero = 0, width = 0, hex = 0, n;
	unsigned long v;

	if (*p == '%') {
		n = snprintf(out + *o, outlen - *o, "%%");
		*o += (size_t)n;
		return 1;
	}
	if (*p == '0')
		zero = 1, p++;
	while (*p >= '0' && *p <= '9' && width < 100)
		width = width * 10 + (*p++ - '0');
	if (*p == 'X')
		hex = 1, p++;
	if (*p == 'f') {
		const char *name = store_filename(st, i);
		if (name == NULL) {
			*err = "%f needs a Maildir";
			return -1;
		}
		n = snprintf(out + *o, outlen - *o, "%*s", width, name);
	} else if (*p == 'u' || *p == 'v') {
		v = *p == 'u' ? store_uid(st, i) : store_uidvalidity(st);
		n = snprintf(out + *o, outlen - *o, hex ? (zero ? "%0*lX" : "%*lX") :
		    (zero ? "%0*lu" : "%*lu"), width, v);
	} else {
		*err = "unknown variable (supported: %u %v %f %%)";
		return -1;
	}
	if (n < 0 || (size_t)n >= outlen - *o) {
		*err = "result too long";
		return -1;
	}
	*o += (size_t)n;
	return (int)(p - f) + 1;
}

int
pop3_uidl(const char *fmt, struct store *st, unsigned i, char *out,
    size_t outlen, const char **err)
{
	size_t o = 0;

	for (const char *f = fmt; *f; ) {
		if (o + 1 >= outlen) {
			*err = "result too long";
			return -1;
		}
		if (*f != '%') {
			out[o++] = *f++;
			continue;
		}
		int n = expand_one(f + 1, st, i, out, outlen, &o, err);
		if (n < 0)
			return -1;
		f += 1 + n;
	}
	out[o] = '\0';
	/* RFC 1939 section 7: 1 to 70 characters in 0x21..0x7E */
	if (o == 0 || o > POP3_UIDL_MAX) {
		*err = "result is empty or longer than 70 characters";
		return -1;
	}
	for (size_t k = 0; k < o; k++)
		if (out[k] < 0x21 || out[k] > 0x7e) {
			*err = "result has characters outside 0x21-0x7E";
			return -1;
		}
	return 0;
}
