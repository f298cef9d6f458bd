/*
 * test_imap_fetch.c - FETCH's writers and attribute parser (imapd/fetch.h):
 * ENVELOPE, BODY and BODYSTRUCTURE of crafted messages compared with
 * strings written from RFC 3501's grammar (7.4.2, 9); BODY[section]
 * <partial> of messages in memory, stored with LF and with CRLF, which
 * must give the same wire bytes; and the fetch-att grammar, accepted and
 * refused.  Output goes through a struct io over a memfd.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fetch.h"
#include "tap.h"
#include "util.h"

static struct io io;

/* ---- capturing what a writer sends ---- */

static int out_fd = -1;

static void
cap_start(void)
{
	out_fd = memfd_create("fetch-out", 0);
	if (out_fd < 0) {
		perror("memfd_create");
		exit(2);
	}
	io_init(&io, out_fd, out_fd);
}

/* What was written since cap_start(), NUL-terminated, malloc'd. */
static char *
cap_end(size_t *lenp)
{
	off_t len;
	char *s;

	io_flush(&io);
	len = lseek(out_fd, 0, SEEK_END);
	s = malloc((size_t)len + 1);
	if (s == NULL || pread(out_fd, s, (size_t)len, 0) != len) {
		perror("pread");
		exit(2);
	}
	s[len] = '\0';
	close(out_fd);
	if (lenp != NULL)
		*lenp = (size_t)len;
	return s;
}

/* ---- structure ---- */

static void
is_struct(const char *msg, int what, const char *want, const char *name)
{
	struct mime_tree *t = mime_parse(msg, strlen(msg));
	char *got;

	cap_start();
	if (what == 0)
		fetch_write_envelope(&io, t->parts[0].env);
	else
		fetch_write_body(&io, t, 0, what == 2);
	got = cap_end(NULL);
	tap_is_str(got, want, name);
	free(got);
	mime_tree_free(t);
}

#define ENV(m, w, n) is_struct(m, 0, w, n)
#define BODY(m, w, n) is_struct(m, 1, w, n)
#define BSTRUCT(m, w, n) is_struct(m, 2, w, n)

static void
test_simple(void)
{
	static const char m[] =
	    "Date: Mon, 23 Nov 2026 10:00:00 +0000\n"
	    "From: Alice Example <alice@example.org>\n"
	    "Subject: hello \"world\"\n"
	    "To: bob@example.com, \"Carol C.\" <carol@example.net>\n"
	    "Message-ID: <1@example.org>\n"
	    "\n"
	    "Hi Bob,\n"
	    "see you.\n";

	ENV(m, "(\"Mon, 23 Nov 2026 10:00:00 +0000\" \"hello \\\"world\\\"\" "
	    "((\"Alice Example\" NIL \"alice\" \"example.org\")) "
	    "((\"Alice Example\" NIL \"alice\" \"example.org\")) "
	    "((\"Alice Example\" NIL \"alice\" \"example.org\")) "
	    "((NIL NIL \"bob\" \"example.com\")"
	    "(\"Carol C.\" NIL \"carol\" \"example.net\")) "
	    "NIL NIL NIL \"<1@example.org>\")",
	    "simple: ENVELOPE, Sender and Reply-To default to From");
	BODY(m, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
	    "\"7bit\" 19 2)", "simple: BODY, wire size and lines");
	BSTRUCT(m, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
	    "\"7bit\" 19 2 NIL NIL NIL NIL)",
	    "simple: BODYSTRUCTURE has md5, disposition, language, location");
}

static void
test_missing(void)
{
	static const char m[] = "X-Nothing: here\n\nbody";

	ENV(m, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	    "no envelope fields: all NIL");
	BODY(m, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
	    "\"7bit\" 6 1)", "body without final newline: CRLF counted");
}

static void
test_multipart(void)
{
	static const char m[] =
	    "From: a@example.org\n"
	    "Content-Type: multipart/mixed; boundary=\"outer\"\n"
	    "\n"
	    "preamble\n"
	    "--outer\n"
	    "Content-Type: multipart/alternative; boundary=inner\n"
	    "\n"
	    "--inner\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n"
	    "caf=C3=A9\n"
	    "--inner\n"
	    "Content-Type: text/html; charset=utf-8\n"
	    "\n"
	    "<p>cafe</p>\n"
	    "--inner--\n"
	    "--outer\n"
	    "Content-Type: application/pdf; name=\"a b.pdf\"\n"
	    "Content-Disposition: attachment; filename=\"a b.pdf\"\n"
	    "Content-Transfer-Encoding: base64\n"
	    "Content-ID: <pdf@x>\n"
	    "Content-Description: the file\n"
	    "Content-Language: en, de\n"
	    "Content-Location: http://x/a.pdf\n"
	    "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
	    "\n"
	    "JVBERi0=\n"
	    "--outer--\n"
	    "epilogue\n";

	BODY(m, "(((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL "
	    "\"quoted-printable\" 9 1)"
	    "(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 11 1)"
	    " \"alternative\")"
	    "(\"application\" \"pdf\" (\"name\" \"a b.pdf\") \"<pdf@x>\" "
	    "\"the file\" \"base64\" 8) \"mixed\")",
	    "multipart/mixed with alternative: BODY");
	BSTRUCT(m, "(((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL "
	    "\"quoted-printable\" 9 1 NIL NIL NIL NIL)"
	    "(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 11 1"
	    " NIL NIL NIL NIL)"
	    " \"alternative\" (\"boundary\" \"inner\") NIL NIL NIL)"
	    "(\"application\" \"pdf\" (\"name\" \"a b.pdf\") \"<pdf@x>\" "
	    "\"the file\" \"base64\" 8 \"Q2hlY2sgSW50ZWdyaXR5IQ==\" "
	    "(\"attachment\" (\"filename\" \"a b.pdf\")) (\"en\" \"de\") "
	    "\"http://x/a.pdf\") \"mixed\" (\"boundary\" \"outer\") NIL NIL "
	    "NIL)",
	    "multipart/mixed with alternative: BODYSTRUCTURE with extensions");
}

static void
test_rfc822(void)
{
	static const char m[] =
	    "From: a@example.org\n"
	    "Subject: fwd\n"
	    "Content-Type: multipart/mixed; boundary=b\n"
	    "\n"
	    "--b\n"
	    "\n"
	    "see below\n"
	    "--b\n"
	    "Content-Type: message/rfc822\n"
	    "\n"
	    "From: Inner <in@example.com>\n"
	    "Subject: inner\n"
	    "Content-Type: multipart/alternative; boundary=c\n"
	    "\n"
	    "--c\n"
	    "\n"
	    "plain\n"
	    "--c--\n"
	    "--b--\n";

	BODY(m, "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
	    "\"7bit\" 9 1)"
	    "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 116 "
	    "(NIL \"inner\" ((\"Inner\" NIL \"in\" \"example.com\")) "
	    "((\"Inner\" NIL \"in\" \"example.com\")) "
	    "((\"Inner\" NIL \"in\" \"example.com\")) NIL NIL NIL NIL NIL) "
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "5 1) \"alternative\") 8) \"mixed\")",
	    "nested message/rfc822: envelope and body of the enclosed message");
}

static void
test_digest(void)
{
	static const char m[] =
	    "Content-Type: multipart/digest; boundary=d\n"
	    "\n"
	    "--d\n"
	    "\n"
	    "Subject: one\n"
	    "\n"
	    "1\n"
	    "--d\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "2\n"
	    "--d--\n";

	BODY(m, "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 17 "
	    "(NIL \"one\" NIL NIL NIL NIL NIL NIL NIL NIL) "
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 1)"
	    " 3)(\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1) \"digest\")",
	    "digest: default type message/rfc822 (RFC 2046 5.1.5); a "
	    "Content-Type without charset gets none");
}

static void
test_groups_2047(void)
{
	static const char m[] =
	    "From: =?utf-8?q?J=C3=B6rg?= <j@example.de>\n"
	    "Subject: =?iso-8859-1?q?caf=E9?= ok\n"
	    "To: friends: a@x.org, \"B\" <b@y.org>;, undisclosed-recipients:;\n"
	    "Cc: nodomain\n"
	    "Reply-To: r@x.org\n"
	    "Sender: s@x.org\n"
	    "In-Reply-To: <0@x>\n"
	    "\n";

	ENV(m, "(NIL \"=?iso-8859-1?q?caf=E9?= ok\" "
	    "((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"example.de\")) "
	    "((NIL NIL \"s\" \"x.org\")) ((NIL NIL \"r\" \"x.org\")) "
	    "((NIL NIL \"friends\" NIL)(NIL NIL \"a\" \"x.org\")"
	    "(\"B\" NIL \"b\" \"y.org\")(NIL NIL NIL NIL)"
	    "(NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) "
	    "((NIL NIL \"nodomain\" \"MISSING_DOMAIN\")) NIL \"<0@x>\" NIL)",
	    "RFC 2047 words kept raw, groups, missing domain");
}

static void
test_empty_multipart(void)
{
	static const char m[] =
	    "Content-Type: multipart/mixed; boundary=zz\n"
	    "\n"
	    "no delimiter at all\n";

	BODY(m, "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) \"mixed\")",
	    "empty multipart: one empty text/plain part");
	BSTRUCT(m, "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL "
	    "NIL) \"mixed\" (\"boundary\" \"zz\") NIL NIL NIL)",
	    "empty multipart: BODYSTRUCTURE");
}

static void
is_env_n(const char *msg, size_t len, const char *want, size_t wantlen,
    const char *name)
{
	struct mime_tree *t = mime_parse(msg, len);
	size_t gotlen;
	char *got;

	cap_start();
	fetch_write_envelope(&io, t->parts[0].env);
	io_puts(&io, " ");
	fetch_write_body(&io, t, 0, 1);
	got = cap_end(&gotlen);
	tap_is_mem(got, gotlen, want, wantlen, name);
	free(got);
	mime_tree_free(t);
}

#define ENV_N(m, w, n) is_env_n(m, sizeof(m) - 1, w, sizeof(w) - 1, n)

static void
test_8bit(void)
{
	static const char m[] =
	    "Subject: caf\xc3\xa9\n"
	    "From: \"J\xc3\xb6rg\" <j@x.de>\n"
	    "Content-Type: text/plain; name=\"\xc3\xa9.txt\"\n"
	    "\n"
	    "x\n";
	static const char m_want[] =
	    "(NIL {5}\r\ncaf\xc3\xa9 (({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x.de\")) "
	    "(({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x.de\")) "
	    "(({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x.de\")) NIL NIL NIL NIL NIL) "
	    "(\"text\" \"plain\" (\"name\" {6}\r\n\xc3\xa9.txt) NIL NIL \"7bit\" "
	    "3 1 NIL NIL NIL NIL)";
	static const char nul[] = "Subject: a\0b\nTo: x\r@y\n\n";
	static const char nul_want[] =
	    "(NIL {3}\r\na\x80" "b NIL NIL NIL "
	    "((NIL NIL \"x\" \"y\")) NIL NIL NIL NIL) "
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 "
	    "NIL NIL NIL NIL)";

	ENV_N(m, m_want, "8-bit header values go out as literals");
	static const char cr[] = "Subject: a\rb\n\n";
	static const char cr_want[] =
	    "(NIL {3}\r\na\rb NIL NIL NIL NIL NIL NIL NIL NIL) "
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 "
	    "NIL NIL NIL NIL)";

	ENV_N(cr, cr_want, "a bare CR in a value forces a literal");
	ENV_N(nul, nul_want, "NUL becomes 0x80 in a literal, an address drops a bare CR");
}

static void
test_opaque_rfc822(void)
{
	static const char m[] =
	    "Content-Type: message/rfc822\n"
	    "Content-Transfer-Encoding: base64\n"
	    "\n"
	    "U3ViamVjdDogeAoKeQo=\n";

	BODY(m, "(\"message\" \"rfc822\" NIL NIL NIL \"base64\" 22 "
	    "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) "
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) 1)",
	    "encoded message/rfc822: empty envelope and body, so "
	    "body-type-msg stays well-formed");
}

/* ---- sections ---- */

static const char nested[] =
    "From: a@example.org\n"
    "To: b@example.org\n"
    "Subject: nest\n"
    "X-Long: one\n"
    " two\n"
    "Content-Type: multipart/mixed; boundary=b\n"
    "\n"
    "--b\n"
    "Content-Type: text/plain\n"
    "\n"
    "first\n"
    "--b\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: inner\n"
    "from: in@example.com\n"
    "\n"
    "inner body\n"
    "--b--\n";

/* LF -> CRLF, as a CRLF-stored copy of the message */
static char *
to_crlf(const char *m, size_t *len)
{
	char *out = malloc(2 * strlen(m) + 1), *o = out;

	for (; *m; m++) {
		if (*m == '\n')
			*o++ = '\r';
		*o++ = *m;
	}
	*o = '\0';
	*len = (size_t)(o - out);
	return out;
}

static char *
section_out(const char *m, size_t len, struct fetch_section *sec)
{
	struct mime_tree *t = mime_parse(m, len);
	struct fetch_msg msg = { NULL, 0, (const unsigned char *)m, len };

	cap_start();
	fetch_write_section_key(&io, sec);
	io_puts(&io, " ");
	fetch_write_section(&io, &msg, t, t->wire_size, sec);
	mime_tree_free(t);
	return cap_end(NULL);
}

/* BODY[spec] (fields: NULL-terminated names) of the LF and the CRLF
 * form of m, both compared with want. */
static void
is_section(const char *m, const char *spec, const char *const *fields,
    int partial, uint32_t origin, uint32_t count, const char *want)
{
	struct fetch_section sec = { 0 };
	struct imap_arg args[8];
	size_t clen;
	char *crlf = to_crlf(m, &clen), *got, name[128];

	if (fetch_parse_section(spec, strlen(spec), &sec) < 0) {
		tap_ok(0, "section %s parses", spec);
		return;
	}
	for (sec.nfields = 0; fields != NULL && fields[sec.nfields]; sec.nfields++)
		args[sec.nfields] = (struct imap_arg){ IMAP_ARG_ATOM, 0,
		    (char *)fields[sec.nfields], strlen(fields[sec.nfields]),
		    NULL };
	sec.fields = args;
	sec.partial = partial;
	sec.origin = origin;
	sec.count = count;
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(want, "\r"), want);
	got = section_out(m, strlen(m), &sec);
	tap_is_str(got, want, name);
	free(got);
	got = section_out(crlf, clen, &sec);
	tap_is_str(got, want, "... and stored with CRLF");
	free(got);
	free(crlf);
	free(sec.nums);
}

static void
test_sections(void)
{
	static const char *const from_to[] = { "from", "TO", NULL };
	static const char *const long_subj[] = { "x-long", "Subject", NULL };
	static const char *const none[] = { "X-Absent", NULL };

	is_section(nested, "", NULL, 0, 0, 0,
	    "BODY[] {255}\r\nFrom: a@example.org\r\nTo: b@example.org\r\n"
	    "Subject: nest\r\nX-Long: one\r\n two\r\n"
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	    "Content-Type: text/plain\r\n\r\nfirst\r\n--b\r\n"
	    "Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n"
	    "from: in@example.com\r\n\r\ninner body\r\n--b--\r\n");
	is_section(nested, "HEADER", NULL, 0, 0, 0,
	    "BODY[HEADER] {119}\r\nFrom: a@example.org\r\nTo: b@example.org\r\n"
	    "Subject: nest\r\nX-Long: one\r\n two\r\n"
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n");
	is_section(nested, "HEADER.FIELDS", from_to, 0, 0, 0,
	    "BODY[HEADER.FIELDS (FROM TO)] {42}\r\n"
	    "From: a@example.org\r\nTo: b@example.org\r\n\r\n");
	is_section(nested, "HEADER.FIELDS", long_subj, 0, 0, 0,
	    "BODY[HEADER.FIELDS (X-LONG SUBJECT)] {36}\r\n"
	    "Subject: nest\r\nX-Long: one\r\n two\r\n\r\n");
	is_section(nested, "HEADER.FIELDS.NOT", long_subj, 0, 0, 0,
	    "BODY[HEADER.FIELDS.NOT (X-LONG SUBJECT)] {85}\r\n"
	    "From: a@example.org\r\nTo: b@example.org\r\n"
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n");
	is_section(nested, "HEADER.FIELDS", none, 0, 0, 0,
	    "BODY[HEADER.FIELDS (X-ABSENT)] {2}\r\n\r\n");
	is_section(nested, "HEADER.FIELDS", from_to, 1, 6, 10,
	    "BODY[HEADER.FIELDS (FROM TO)]<6> {10}\r\na@example.");
	is_section(nested, "TEXT", NULL, 1, 0, 5,
	    "BODY[TEXT]<0> {5}\r\n--b\r\n");
	is_section(nested, "1", NULL, 0, 0, 0, "BODY[1] {5}\r\nfirst");
	is_section(nested, "1.MIME", NULL, 0, 0, 0,
	    "BODY[1.MIME] {28}\r\nContent-Type: text/plain\r\n\r\n");
	is_section(nested, "2", NULL, 0, 0, 0,
	    "BODY[2] {50}\r\nSubject: inner\r\nfrom: in@example.com\r\n\r\n"
	    "inner body");
	is_section(nested, "2.HEADER", NULL, 0, 0, 0,
	    "BODY[2.HEADER] {40}\r\nSubject: inner\r\nfrom: in@example.com\r\n"
	    "\r\n");
	is_section(nested, "2.HEADER.FIELDS", from_to, 0, 0, 0,
	    "BODY[2.HEADER.FIELDS (FROM TO)] {24}\r\n"
	    "from: in@example.com\r\n\r\n");
	is_section(nested, "2.TEXT", NULL, 0, 0, 0,
	    "BODY[2.TEXT] {10}\r\ninner body");
	is_section(nested, "2.1", NULL, 0, 0, 0,
	    "BODY[2.1] {10}\r\ninner body");
	is_section(nested, "2.MIME", NULL, 0, 0, 0,
	    "BODY[2.MIME] {32}\r\nContent-Type: message/rfc822\r\n\r\n");
	is_section(nested, "3", NULL, 0, 0, 0, "BODY[3] NIL");
	is_section(nested, "1.HEADER", NULL, 0, 0, 0, "BODY[1.HEADER] NIL");
	is_section(nested, "1.2", NULL, 0, 0, 0, "BODY[1.2] NIL");
	is_section(nested, "", NULL, 1, 255, 10, "BODY[]<255> \"\"");
	is_section(nested, "", NULL, 1, 254, 10, "BODY[]<254> {1}\r\n\n");
	is_section(nested, "1", NULL, 1, 4294967295u, 4294967295u,
	    "BODY[1]<4294967295> \"\"");
}

static void
test_single_part_sections(void)
{
	static const char m[] = "Subject: s\n\nline1\nline2";

	is_section(m, "1", NULL, 0, 0, 0, "BODY[1] {14}\r\nline1\r\nline2\r\n");
	is_section(m, "TEXT", NULL, 0, 0, 0,
	    "BODY[TEXT] {14}\r\nline1\r\nline2\r\n");
	is_section(m, "1.MIME", NULL, 0, 0, 0,
	    "BODY[1.MIME] {14}\r\nSubject: s\r\n\r\n");
	is_section(m, "2", NULL, 0, 0, 0, "BODY[2] NIL");
}

/* ---- big and hostile structures ---- */

/* Parentheses balance outside quoted strings and literals. */
static int
balanced(const char *b, size_t len)
{
	long depth = 0;

	for (size_t i = 0; i < len; i++) {
		if (b[i] == '(')
			depth++;
		else if (b[i] == ')' && --depth < 0)
			return 0;
		else if (b[i] == '"') {
			for (i++; i < len && b[i] != '"'; i++)
				if (b[i] == '\\')
					i++;
		} else if (b[i] == '{') {
			char *end;
			unsigned long n = strtoul(b + i + 1, &end, 10);

			if (*end != '}')
				return 0;
			i = (size_t)(end - b) + 2 + n;
		}
	}
	return depth == 0;
}

static char *
bodystructure_of(const char *m, size_t len, size_t *outlen)
{
	struct mime_tree *t = mime_parse(m, len);
	char *got;

	cap_start();
	fetch_write_body(&io, t, 0, 1);
	got = cap_end(outlen);
	mime_tree_free(t);
	return got;
}

static void
test_hostile(void)
{
	size_t cap = 1 << 20, n = 0, outlen;
	char *m = malloc(cap), *got;

	/* 300 nested multiparts: the tree stops at MIME_MAX_DEPTH */
	for (int d = 0; d < 300; d++)
		n += (size_t)snprintf(m + n, cap - n, "Content-Type: multipart/"
		    "mixed; boundary=b%d\n\n--b%d\n", d, d);
	got = bodystructure_of(m, n, &outlen);
	tap_ok(balanced(got, outlen), "300 nested multiparts: balanced output");
	tap_ok(strspn(got, "(") == MIME_MAX_DEPTH + 2,
	    "... nested as deep as the tree goes (MIME_MAX_DEPTH)");
	free(got);

	/* 5000 parameters */
	n = (size_t)snprintf(m, cap, "Content-Type: text/plain");
	for (int k = 0; k < 5000; k++)
		n += (size_t)snprintf(m + n, cap - n, "; p%d=\"v %d\"", k, k);
	n += (size_t)snprintf(m + n, cap - n, "\n\nx\n");
	got = bodystructure_of(m, n, &outlen);
	tap_ok(balanced(got, outlen) && strstr(got, "\"p4000\" \"v 4000\"") &&
	    strstr(got, "\"p4999\"") == NULL,
	    "5000 parameters: those within MIME_MAX_FIELD written, balanced");
	free(got);

	/* 12000 parts: the tree keeps MIME_MAX_PARTS */
	n = (size_t)snprintf(m, cap, "Content-Type: multipart/mixed; "
	    "boundary=z\n\n");
	for (int k = 0; k < 12000; k++)
		n += (size_t)snprintf(m + n, cap - n, "--z\n\n%d\n", k);
	got = bodystructure_of(m, n, &outlen);
	tap_ok(balanced(got, outlen), "12000 parts: balanced output");
	free(got);
	free(m);
}

/* Partial ranges of a big LF message cut the wire bytes exactly, also
 * across the streaming chunks. */
static void
test_big_partials(void)
{
	size_t cap = 1 << 20, n, wn = 0;
	char *m = malloc(cap), *wire = malloc(2 * cap);
	static const uint32_t cuts[][2] = {
		{ 0, 1 }, { 16383, 3 }, { 16384, 16384 }, { 32767, 40000 },
		{ 1, 4294967295u }, { 100000, 7 },
	};

	n = (size_t)snprintf(m, cap, "Subject: big\n\n");
	for (int k = 0; n + 64 < cap / 2; k++)
		n += (size_t)snprintf(m + n, cap - n, "line %d of the body\n", k);
	for (size_t i = 0; i < n; i++) {
		if (m[i] == '\n')
			wire[wn++] = '\r';
		wire[wn++] = m[i];
	}
	for (size_t k = 0; k < ARRAY_LEN(cuts); k++) {
		struct fetch_section sec = { 0 };
		struct mime_tree *t = mime_parse(m, n);
		struct fetch_msg msg = { NULL, 0, (const unsigned char *)m, n };
		uint64_t a = cuts[k][0], len = cuts[k][1];
		char head[64], *got;
		size_t gotlen, hl;

		if (a + len > wn)
			len = wn - a;
		sec.partial = 1;
		sec.origin = cuts[k][0];
		sec.count = cuts[k][1];
		cap_start();
		fetch_write_section(&io, &msg, t, t->wire_size, &sec);
		got = cap_end(&gotlen);
		hl = (size_t)snprintf(head, sizeof(head), "{%llu}\r\n",
		    (unsigned long long)len);
		tap_ok(gotlen == hl + len && memcmp(got, head, hl) == 0 &&
		    memcmp(got + hl, wire + a, len) == 0,
		    "BODY[]<%u.%u> of a %zu byte message", cuts[k][0],
		    cuts[k][1], wn);
		free(got);
		mime_tree_free(t);
	}
	free(m);
	free(wire);
}

/* ---- the fetch-att grammar ---- */

#define ATOM(s) { IMAP_ARG_ATOM, 0, (char *)(s), sizeof(s) - 1, NULL }
#define JOINED(s) { IMAP_ARG_ATOM, IMAP_ARG_JOINED, (char *)(s), \
	sizeof(s) - 1, NULL }
#define QUOTED(s) { IMAP_ARG_QUOTED, 0, (char *)(s), sizeof(s) - 1, NULL }
#define LIST(a) { IMAP_ARG_LIST, 0, NULL, ARRAY_LEN(a) - 1, a }
#define EOL { IMAP_ARG_EOL, 0, NULL, 0, NULL }

static const char *const att_names[] = {
	[FA_FLAGS] = "FLAGS", [FA_INTERNALDATE] = "INTERNALDATE",
	[FA_RFC822_SIZE] = "RFC822.SIZE", [FA_UID] = "UID",
	[FA_ENVELOPE] = "ENVELOPE", [FA_BODY] = "BODY",
	[FA_BODYSTRUCTURE] = "BODYSTRUCTURE",
};

/* The request as the response keys it would give, or "BAD". */
static char *
req_str(const struct imap_arg *args)
{
	struct fetch_req req;
	char err[128];

	if (fetch_parse(args, &req, err, sizeof(err)) < 0)
		return strdup("BAD");
	cap_start();
	for (size_t k = 0; k < req.n; k++) {
		if (k > 0)
			io_puts(&io, " ");
		if (req.items[k].att == FA_SECTION)
			fetch_write_section_key(&io, &req.items[k].sec);
		else
			io_puts(&io, att_names[req.items[k].att]);
		if (req.items[k].att == FA_SECTION && req.items[k].sec.peek)
			io_puts(&io, "(peek)");
	}
	if (req.sets_seen)
		io_puts(&io, " +seen");
	fetch_req_free(&req);
	return cap_end(NULL);
}

static void
is_req(const struct imap_arg *args, const char *want, const char *name)
{
	char *got = req_str(args);

	tap_is_str(got, want, name);
	free(got);
}

static void
test_parse(void)
{
	struct imap_arg all[] = { ATOM("all"), EOL };
	struct imap_arg fast[] = { ATOM("FAST"), EOL };
	struct imap_arg full[] = { ATOM("Full"), EOL };
	struct imap_arg one[] = { ATOM("BODY.PEEK[1.2.MIME]<0.100>"), EOL };
	struct imap_arg hl[] = { ATOM("From"), QUOTED("to"), EOL };
	struct imap_arg fields[] = { ATOM("body[header.fields"), LIST(hl),
		JOINED("]<5.10>"), EOL };
	struct imap_arg l1[] = { ATOM("UID"), ATOM("rfc822.size"),
		ATOM("BODY[]"), ATOM("BODY.PEEK[HEADER.FIELDS.NOT"), LIST(hl),
		JOINED("]"), ATOM("RFC822.HEADER"), ATOM("FLAGS"), ATOM("flags"),
		EOL };
	struct imap_arg list1[] = { LIST(l1), EOL };
	struct imap_arg l2[] = { ATOM("ALL"), EOL };
	struct imap_arg list2[] = { LIST(l2), EOL };
	struct imap_arg two[] = { ATOM("FLAGS"), ATOM("UID"), EOL };
	struct imap_arg empty[] = { EOL };
	struct imap_arg l3[] = { EOL };
	struct imap_arg list3[] = { LIST(l3), EOL };
	struct imap_arg l4[] = { ATOM("RFC822"), ATOM("RFC822.TEXT"),
		ATOM("BODY"), ATOM("BODYSTRUCTURE"), ATOM("ENVELOPE"),
		ATOM("INTERNALDATE"), EOL };
	struct imap_arg list4[] = { LIST(l4), EOL };

	is_req(all, "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE", "ALL macro");
	is_req(fast, "FLAGS INTERNALDATE RFC822.SIZE", "FAST macro");
	is_req(full, "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY",
	    "FULL macro");
	is_req(one, "BODY[1.2.MIME]<0>(peek)", "one BODY.PEEK att, no list");
	is_req(fields, "BODY[HEADER.FIELDS (FROM TO)]<5> +seen",
	    "HEADER.FIELDS over three arguments, echoed uppercase");
	is_req(list1, "UID RFC822.SIZE BODY[] "
	    "BODY[HEADER.FIELDS.NOT (FROM TO)](peek) "
	    "RFC822.HEADER(peek) FLAGS +seen",
	    "a list; a repeated attribute answered once");
	is_req(list4, "RFC822 RFC822.TEXT BODY BODYSTRUCTURE ENVELOPE "
	    "INTERNALDATE +seen", "RFC822 forms and structure");
	is_req(list2, "BAD", "a macro inside a list is BAD");
	is_req(two, "BAD", "two attributes without parentheses are BAD");
	is_req(empty, "BAD", "no attributes: BAD");
	is_req(list3, "BAD", "empty list: BAD");
}

static void
test_parse_bad(void)
{
	static const char *const bad[] = {
		"BODY[", "BODY[]<", "BODY[]<1>", "BODY[]<1.0>", "BODY[]<01.5>x",
		"BODY[0]", "BODY[1.]", "BODY[.1]", "BODY[01]", "BODY[MIME]",
		"BODY[1.MIME.TEXT]", "BODY[HEADER.FIELDS]", "BODY[TEXTX]",
		"BODY[]<4294967296.1>", "BODY[4294967296]", "BODY[1..2]",
		"BODY.PEEK", "RFC822.PEEK", "BINARY[]", "BODY[]x", "FLAGS[]",
		"BODY[] ", "BODY[]<1.2.3>", "BODY[]<-1.2>",
	};
	static const char *const good[] = {
		"BODY[]<01.5>", "BODY[]<0.4294967295>", "BODY[1.2.3.HEADER]",
		"body.peek[text]", "BODY[4294967295]",
	};

	for (size_t k = 0; k < ARRAY_LEN(bad); k++) {
		struct imap_arg a[] = { { IMAP_ARG_ATOM, 0, (char *)bad[k],
			strlen(bad[k]), NULL }, EOL };

		is_req(a, "BAD", bad[k]);
	}
	for (size_t k = 0; k < ARRAY_LEN(good); k++) {
		struct imap_arg a[] = { { IMAP_ARG_ATOM, 0, (char *)good[k],
			strlen(good[k]), NULL }, EOL };
		char *got = req_str(a);

		tap_ok(strcmp(got, "BAD") != 0, "accepted: %s", good[k]);
		free(got);
	}
}

static void
test_parse_bad_lists(void)
{
	struct imap_arg hl[] = { ATOM("From"), EOL };
	struct imap_arg wild[] = { ATOM("Fr*m"), EOL };
	struct imap_arg nested_l[] = { LIST(hl), EOL };
	struct imap_arg nojoin[] = { ATOM("BODY[HEADER.FIELDS"), LIST(hl),
		ATOM("]"), EOL };
	struct imap_arg nolist[] = { ATOM("BODY[HEADER.FIELDS"), ATOM("From"),
		JOINED("]"), EOL };
	struct imap_arg noclose[] = { ATOM("BODY[HEADER.FIELDS"), LIST(hl),
		EOL };
	struct imap_arg badwild[] = { ATOM("BODY[HEADER.FIELDS"), LIST(wild),
		JOINED("]"), EOL };
	struct imap_arg badnest[] = { ATOM("BODY[HEADER.FIELDS"),
		LIST(nested_l), JOINED("]"), EOL };
	struct imap_arg textlist[] = { ATOM("BODY[TEXT"), LIST(hl),
		JOINED("]"), EOL };
	struct imap_arg badtail[] = { ATOM("BODY[HEADER.FIELDS"), LIST(hl),
		JOINED("]<1>"), EOL };

	is_req(nojoin, "BAD", "header-list then a separate \"]\": BAD");
	is_req(nolist, "BAD", "HEADER.FIELDS without a list: BAD");
	is_req(noclose, "BAD", "HEADER.FIELDS list without \"]\": BAD");
	is_req(badwild, "BAD", "field name with a wildcard: BAD");
	is_req(badnest, "BAD", "nested list as field name: BAD");
	is_req(textlist, "BAD", "TEXT with a list: BAD");
	is_req(badtail, "BAD", "bad partial after the list: BAD");
}

int
main(void)
{
	test_simple();
	test_missing();
	test_multipart();
	test_rfc822();
	test_digest();
	test_groups_2047();
	test_empty_multipart();
	test_8bit();
	test_opaque_rfc822();
	test_sections();
	test_single_part_sections();
	test_hostile();
	test_big_partials();
	test_parse();
	test_parse_bad();
	test_parse_bad_lists();
	return tap_done();
}
