/*
 * test_mime.c - the part tree (mime.h) of real-world shaped messages:
 * each is parsed whole and in small chunks, checked against the input
 * (wire offsets, line counts), round-tripped through the blob, and its
 * structure compared with what RFC 2045/2046 and RFC 3501 say.
 */
#include "test_mime.h"

#define CHECK(name, msg, want) check(name, msg, sizeof(msg) - 1, want)

static char dumpbuf[65536];

static struct mime_tree *
check(const char *name, const char *m, size_t n, const char *want)
{
	struct mime_tree *t = check_parse(name, m, n);

	dump(t, dumpbuf, sizeof(dumpbuf));
	tap_is_str(dumpbuf, want, name);
	return t;
}

static const struct mime_part *
part(const struct mime_tree *t, const char *sec)
{
	uint32_t nums[32];
	size_t n = 0;
	uint32_t i;

	while (*sec != '\0' && n < 32) {
		nums[n++] = (uint32_t)strtoul(sec, (char **)&sec, 10);
		if (*sec == '.')
			sec++;
	}
	i = mime_section(t, nums, n);
	return i == MIME_NONE ? NULL : &t->parts[i];
}

static void
is_s(const struct mime_str *s, const char *want, const char *name)
{
	char buf[4096] = "";

	str_cat(buf, sizeof(buf), s);
	tap_is_str(buf, want ? want : "NIL", name);
}

static void
plain(void)
{
	static const char m[] =
	    "From: Alice <alice@example.org>\n"
	    "To: bob@example.com\n"
	    "Subject: hello\n"
	    "Date: Mon, 23 Nov 2026 10:00:00 +0000\n"
	    "Message-ID: <1@example.org>\n"
	    "\n"
	    "Hi Bob,\n"
	    "see you.\n";
	struct mime_tree *t = CHECK("plain", m, "text/plain 0,134,151 l2\n");
	const struct mime_part *p = &t->parts[0];
	const struct mime_env *e = p->env;

	is_s(&p->params[0].name, "charset", "plain: default charset");
	is_s(&p->params[0].value, "us-ascii", "plain: us-ascii");
	is_s(&p->encoding, "7bit", "plain: default 7bit");
	is_s(&e->raw[MIME_ENV_SUBJECT], "hello", "plain: subject");
	is_s(&e->raw[MIME_ENV_MESSAGE_ID], "<1@example.org>", "plain: msgid");
	is_s(&e->raw[MIME_ENV_DATE], "Mon, 23 Nov 2026 10:00:00 +0000",
	    "plain: date");
	is_s(&e->addr[MIME_ENV_FROM].a[0].name, "Alice", "plain: from name");
	is_s(&e->addr[MIME_ENV_FROM].a[0].mailbox, "alice", "plain: from mbox");
	is_s(&e->addr[MIME_ENV_FROM].a[0].host, "example.org",
	    "plain: from host");
	tap_is_int(e->addr[MIME_ENV_SENDER].n, 0, "plain: no Sender field");
	tap_ok(mime_env_addr(e, MIME_ENV_SENDER) == &e->addr[MIME_ENV_FROM],
	    "plain: Sender defaults to From (RFC 3501 7.4.2)");
	tap_ok(mime_env_addr(e, MIME_ENV_REPLY_TO) == &e->addr[MIME_ENV_FROM],
	    "plain: Reply-To defaults to From");
	is_s(&e->raw[MIME_ENV_CC], NULL, "plain: Cc NIL");
	tap_ok(part(t, "1") == p, "plain: part 1 is the body");
	tap_ok(part(t, "2") == NULL && part(t, "1.1") == NULL,
	    "plain: no part 2 or 1.1");
	mime_tree_free(t);
}

static void
alternative(void)
{
	static const char m[] =
	    "From: a@example.org\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/alternative; boundary=\"b1\"\n"
	    "\n"
	    "This is a multi-part message in MIME format.\n"
	    "--b1\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n"
	    "caf=C3=A9\n"
	    "--b1\n"
	    "Content-Type: text/html; charset=\"utf-8\"\n"
	    "\n"
	    "<p>caf&eacute;</p>\n"
	    "\n"
	    "--b1--\n"
	    "epilogue\n";
	struct mime_tree *t = CHECK("alternative", m,
	    "multipart/alternative 0,90,318 l13\n"
	    ".text/plain 140,225,234 l1\n"
	    ".text/html 240,282,301 l1\n");
	const struct mime_part *p1 = part(t, "1"), *p2 = part(t, "2");

	is_s(&p1->encoding, "quoted-printable", "alternative: 1 encoding");
	is_s(&mime_param_get(p1->params, p1->nparams, "CHARSET")->value,
	    "utf-8", "alternative: 1 charset");
	is_s(&p2->params[0].raw, "\"utf-8\"", "alternative: raw keeps quotes");
	is_s(&p2->params[0].value, "utf-8", "alternative: value unquoted");
	is_s(&mime_param_get(t->parts[0].params, t->parts[0].nparams,
	    "boundary")->value, "b1", "alternative: boundary");
	tap_ok(!(t->parts[0].flags & MIME_PART_NOCLOSE),
	    "alternative: closed");
	mime_tree_free(t);
}

static void
mixed_attachment(void)
{
	static const char m[] =
	    "Subject: report\n"
	    "Content-Type: multipart/mixed;\n"
	    "\tboundary=\"----=_Part_0_1.2\"\n"
	    "\n"
	    "------=_Part_0_1.2\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "See attached.\n"
	    "------=_Part_0_1.2\n"
	    "Content-Type: application/pdf; name=\"r e.pdf\"\n"
	    "Content-Transfer-Encoding: BASE64\n"
	    "Content-Disposition: attachment; filename=\"r e.pdf\";\n"
	    " size=5\n"
	    "Content-ID: <pdf@x>\n"
	    "Content-Description: the report\n"
	    "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
	    "Content-Language: en, de (German)\n"
	    "Content-Location: http://example.org/r.pdf\n"
	    "\n"
	    "JVBERi0=\n"
	    "------=_Part_0_1.2--\n";
	struct mime_tree *t = CHECK("mixed", m,
	    "multipart/mixed 0,77,494 l17\n"
	    ".text/plain 96,122,135 l1\n"
	    ".application/pdf 155,464,472 l1\n");
	const struct mime_part *a = part(t, "2");

	is_s(&a->encoding, "base64", "mixed: encoding lowercased");
	is_s(&a->disposition, "attachment", "mixed: disposition");
	tap_is_int(a->ndisp_params, 2, "mixed: two disposition params");
	is_s(&a->disp_params[0].value, "r e.pdf", "mixed: filename");
	is_s(&a->disp_params[1].name, "size", "mixed: folded param");
	is_s(&a->id, "<pdf@x>", "mixed: Content-ID");
	is_s(&a->description, "the report", "mixed: Content-Description");
	is_s(&a->md5, "Q2hlY2sgSW50ZWdyaXR5IQ==", "mixed: Content-MD5");
	tap_is_int(a->nlanguage, 2, "mixed: two languages");
	is_s(&a->language[1], "de", "mixed: second language");
	is_s(&a->location, "http://example.org/r.pdf", "mixed: location");
	tap_is_int(part(t, "1")->nparams, 0,
	    "mixed: a Content-Type without charset gets none added");
	mime_tree_free(t);
}

static void
nested(void)
{
	static const char m[] =
	    "Content-Type: multipart/mixed; boundary=outer\n"
	    "\n"
	    "--outer\n"
	    "Content-Type: multipart/alternative; boundary=inner\n"
	    "\n"
	    "--inner\n"
	    "\n"
	    "text\n"
	    "--inner\n"
	    "Content-Type: text/html\n"
	    "\n"
	    "<b>text</b>\n"
	    "--inner--\n"
	    "--outer\n"
	    "Content-Type: image/png\n"
	    "\n"
	    "PNG\n"
	    "--outer--\n";
	struct mime_tree *t = CHECK("nested", m,
	    "multipart/mixed 0,47,224 l16\n"
	    ".multipart/alternative 55,108,176 l8\n"
	    "..text/plain 116,117,121 l1\n"
	    "..text/html 130,155,166 l1\n"
	    ".image/png 185,210,213 l1\n");

	tap_ok(part(t, "1.2") == &t->parts[3], "nested: 1.2 is the html");
	tap_ok(part(t, "2") == &t->parts[4], "nested: 2 is the image");
	tap_ok(part(t, "1.3") == NULL && part(t, "3") == NULL &&
	    part(t, "2.1") == NULL, "nested: no 1.3, 3, 2.1");
	mime_tree_free(t);
}

static void
rfc822(void)
{
	static const char m[] =
	    "Subject: fwd\n"
	    "Content-Type: multipart/mixed; boundary=X\n"
	    "\n"
	    "--X\n"
	    "\n"
	    "see below\n"
	    "--X\n"
	    "Content-Type: message/rfc822\n"
	    "\n"
	    "Subject: inner\n"
	    "From: \"Carol C.\" <carol@c.example>\n"
	    "Content-Type: multipart/alternative; boundary=Y\n"
	    "\n"
	    "--Y\n"
	    "\n"
	    "one\n"
	    "--Y\n"
	    "\n"
	    "two\n"
	    "--Y--\n"
	    "--X--\n";
	struct mime_tree *t = CHECK("rfc822", m,
	    "multipart/mixed 0,56,234 l18\n"
	    ".text/plain 60,61,70 l1\n"
	    ".message/rfc822 75,105,227 l11\n"
	    "..multipart/alternative 105,204,227 l7\n"
	    "...text/plain 208,209,212 l1\n"
	    "...text/plain 217,218,221 l1\n");
	const struct mime_part *m2 = part(t, "2"), *enc = &t->parts[3];

	tap_ok(enc->flags & MIME_PART_MESSAGE, "rfc822: enclosed message");
	is_s(&enc->env->raw[MIME_ENV_SUBJECT], "inner",
	    "rfc822: inner subject");
	is_s(&enc->env->addr[MIME_ENV_FROM].a[0].name, "Carol C.",
	    "rfc822: inner from name");
	tap_is_int(m2->nchildren, 1, "rfc822: one child");
	tap_ok(part(t, "2.1") == &t->parts[4], "rfc822: 2.1 is inner part 1");
	tap_ok(part(t, "2.2") == &t->parts[5], "rfc822: 2.2 is inner part 2");
	tap_ok(part(t, "2.3") == NULL, "rfc822: no 2.3");
	is_s(&t->parts[0].env->raw[MIME_ENV_SUBJECT], "fwd",
	    "rfc822: outer subject");
	mime_tree_free(t);
}

static void
rfc822_simple(void)
{
	static const char m[] =
	    "Content-Type: message/rfc822\n"
	    "\n"
	    "Subject: in\n"
	    "\n"
	    "body\n";
	struct mime_tree *t = CHECK("rfc822 top", m,
	    "message/rfc822 0,30,48 l3\n"
	    ".text/plain 30,43,48 l1\n");

	tap_ok(part(t, "1") == &t->parts[0], "rfc822 top: 1 is the root");
	tap_ok(part(t, "1.1") == &t->parts[1],
	    "rfc822 top: 1.1 is the inner body");
	tap_ok(part(t, "1.1.1") == NULL, "rfc822 top: no 1.1.1");
	mime_tree_free(t);
}

static void
digest(void)
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
	    "not a message\n"
	    "--d--\n";
	struct mime_tree *t = CHECK("digest", m,
	    "multipart/digest 0,44,115 l10\n"
	    ".message/rfc822 48,49,64 l3\n"
	    "..text/plain 49,63,64 l1\n"
	    ".text/plain 69,95,108 l1\n");

	tap_is_int(t->parts[1].nparams, 0, "digest: default has no params");
	is_s(&t->parts[2].env->raw[MIME_ENV_SUBJECT], "one",
	    "digest: enclosed subject");
	mime_tree_free(t);
}

static void
missing_close(void)
{
	static const char m[] =
	    "Content-Type: multipart/mixed; boundary=\"a b\"\n"
	    "\n"
	    "--a b\n"
	    "\n"
	    "first\n"
	    "--a b  \n"
	    "\n"
	    "second, and no close delimiter\n";
	struct mime_tree *t = CHECK("missing close", m,
	    "multipart/mixed 0,47,100 l6\n"
	    ".text/plain 53,54,59 l1\n"
	    ".text/plain 68,69,100 l1\n");

	tap_ok(t->parts[0].flags & MIME_PART_NOCLOSE,
	    "missing close: flagged");
	mime_tree_free(t);
}

static void
prefix_boundary(void)
{
	/* the inner boundary is a prefix of the outer one, and the inner
	 * multipart never closes: the outer delimiter ends it */
	static const char m[] =
	    "Content-Type: multipart/mixed; boundary=\"foo-bar\"\n"
	    "\n"
	    "--foo-bar\n"
	    "Content-Type: multipart/alternative; boundary=foo\n"
	    "\n"
	    "--foo\n"
	    "\n"
	    "a\n"
	    "--foo-bar\n"
	    "\n"
	    "b\n"
	    "--foo-bar--\n";
	mime_tree_free(CHECK("prefix boundary", m,
	    "multipart/mixed 0,51,146 l10\n"
	    ".multipart/alternative 61,112,120 l3\n"
	    "..text/plain 118,119,120 l1\n"
	    ".text/plain 131,132,133 l1\n"));
}

/* The same message with LF and with CRLF line ends: the same wire
 * offsets, sizes and line counts for every part. */
static void
crlf_same(void)
{
	static const char m[] =
	    "Subject: x\n"
	    "Content-Type: multipart/mixed; boundary=z\n"
	    "\n"
	    "pre\n"
	    "--z\n"
	    "Content-Type: message/rfc822\n"
	    "\n"
	    "Subject: y\n"
	    "\n"
	    "inner\n"
	    "\n"
	    "--z\n"
	    "\n"
	    "last line without break\n"
	    "--z--\n"
	    "post";
	char crlf[sizeof(m) * 2];
	size_t n = 0;
	struct mime_tree *a, *b;
	int same = 1;

	for (size_t i = 0; i < sizeof(m) - 1; i++) {
		if (m[i] == '\n')
			crlf[n++] = '\r';
		crlf[n++] = m[i];
	}
	a = check_parse("lf", m, sizeof(m) - 1);
	b = check_parse("crlf", crlf, n);
	same = a->nparts == b->nparts && a->wire_size == b->wire_size;
	for (uint32_t i = 0; same && i < a->nparts; i++) {
		const struct mime_part *x = &a->parts[i], *y = &b->parts[i];

		same = x->hdr_wire == y->hdr_wire &&
		    x->body_wire == y->body_wire &&
		    x->end_wire == y->end_wire && x->lines == y->lines &&
		    x->type.len == y->type.len &&
		    memcmp(x->type.p, y->type.p, x->type.len) == 0;
	}
	tap_ok(same, "LF and CRLF: identical wire offsets and lines");
	tap_is_int((long long)b->wire_size, (long long)n + 2,
	    "CRLF: the wire size is the size plus the final CRLF");
	tap_is_int(a->nparts, 4, "LF: four parts");
	mime_tree_free(a);
	mime_tree_free(b);
}

static void
odd_shapes(void)
{
	struct mime_tree *t;

	mime_tree_free(CHECK("empty message", "", "text/plain 0,0,0 l0\n"));
	t = CHECK("header without body", "Subject: only\n",
	    "text/plain 0,14,14 l0\n");
	tap_ok(t->parts[0].flags & MIME_PART_NOHDR_END,
	    "header without body: flagged");
	is_s(&t->parts[0].env->raw[MIME_ENV_SUBJECT], "only",
	    "header without body: subject");
	mime_tree_free(t);
	t = CHECK("header, no final LF", "Subject: x",
	    "text/plain 0,10,10 l0\n");
	tap_is_int((long long)t->parts[0].body_wire, 12,
	    "header, no final LF: body at the wire end");
	mime_tree_free(t);
	t = CHECK("body without separator", "Subject: a\nthis is body\nmore\n",
	    "text/plain 0,11,29 l2\n");
	is_s(&t->parts[0].env->raw[MIME_ENV_SUBJECT], "a",
	    "body without separator: header kept");
	mime_tree_free(t);
	mime_tree_free(CHECK("no header at all", "\nbody\n",
	    "text/plain 0,1,6 l1\n"));
	t = CHECK("mixed line ends", "Subject: a\r\n\nb\r\r\nc\n",
	    "text/plain 0,13,19 l2\n");
	tap_is_int((long long)t->parts[0].body_wire, 14,
	    "mixed line ends: a bare LF after a CRLF line counts 2");
	mime_tree_free(t);
	t = CHECK("folded", "Subject: a\n very\n\tlong one\nTo: x@y,\n z@w\n\n",
	    "text/plain 0,42,42 l0\n");
	is_s(&t->parts[0].env->raw[MIME_ENV_SUBJECT], "a very\tlong one",
	    "folded: unfolded subject");
	tap_is_int(t->parts[0].env->addr[MIME_ENV_TO].n, 2,
	    "folded: two To addresses");
	mime_tree_free(t);
	t = CHECK("encoded subject",
	    "Subject: =?UTF-8?B?w6lt?= =?UTF-8?Q?_ok?=\n\n",
	    "text/plain 0,43,43 l0\n");
	is_s(&t->parts[0].env->raw[MIME_ENV_SUBJECT],
	    "=?UTF-8?B?w6lt?= =?UTF-8?Q?_ok?=", "encoded subject: kept raw");
	mime_tree_free(t);
	t = CHECK("nul and 8-bit",
	    "Subject: caf\xc3\xa9\0x\nX-8: \xff\xfe\nTo: \xe9@x\n\n\0\n",
	    "text/plain 0,34,36 l1\n");
	tap_is_int(t->parts[0].env->raw[MIME_ENV_SUBJECT].len, 7,
	    "nul and 8-bit: subject with its NUL byte");
	is_s(&t->parts[0].env->addr[MIME_ENV_TO].a[0].mailbox, "\xe9",
	    "nul and 8-bit: 8-bit local part");
	mime_tree_free(t);
	t = CHECK("8-bit field name", "Subject: a\nX-\xff: y\n\nz\n",
	    "text/plain 0,11,21 l3\n");
	tap_ok(t->parts[0].flags & MIME_PART_NOHDR_END,
	    "8-bit field name: not a field, the body starts there");
	mime_tree_free(t);
	t = CHECK("duplicate fields", "Subject: one\nSubject: two\n\n",
	    "text/plain 0,27,27 l0\n");
	is_s(&t->parts[0].env->raw[MIME_ENV_SUBJECT], "one",
	    "duplicate fields: the first counts");
	mime_tree_free(t);
}

static void
odd_mime(void)
{
	struct mime_tree *t;

	t = CHECK("multipart without boundary",
	    "Content-Type: multipart/mixed\n\n--x\n\nbody\n--x--\n",
	    "multipart/mixed 0,31,47 l4\n");
	tap_ok(t->parts[0].flags & MIME_PART_OPAQUE,
	    "multipart without boundary: opaque, no children");
	mime_tree_free(t);
	mime_tree_free(CHECK("no delimiter at all",
	    "Content-Type: multipart/mixed; boundary=q\n\njust text\n",
	    "multipart/mixed 0,43,53 l1\n"));
	t = CHECK("encoded message/rfc822",
	    "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n"
	    "\nU3ViamVjdDogeAoK\n", "message/rfc822 0,64,81 l1\n");
	tap_ok(t->parts[0].flags & MIME_PART_OPAQUE,
	    "encoded message/rfc822: opaque");
	mime_tree_free(t);
	t = CHECK("invalid content-type",
	    "Content-Type: text\n"
	    "Content-Transfer-Encoding: (c) 8BIT (c)\n\nx\n",
	    "text/plain 0,60,62 l1\n");
	is_s(&t->parts[0].params[0].value, "us-ascii",
	    "invalid content-type: default with charset");
	is_s(&t->parts[0].encoding, "8bit",
	    "invalid content-type: encoding with comments");
	mime_tree_free(t);
	t = CHECK("part header cut by a delimiter",
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Type: image/gif\n--b\nContent-Type: text/html\n--b--\n",
	    "multipart/mixed 0,43,105 l5\n"
	    ".image/gif 47,70,70 l0\n"
	    ".text/html 75,98,98 l0\n");
	tap_ok(t->parts[1].flags & MIME_PART_NOHDR_END,
	    "part header cut by a delimiter: flagged");
	mime_tree_free(t);
	mime_tree_free(CHECK("enclosed header, then the delimiter",
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Type: message/rfc822\n\nSubject: s\n\n--b--\n",
	    "multipart/mixed 0,43,95 l6\n"
	    ".message/rfc822 47,77,89 l2\n"
	    "..text/plain 77,89,89 l0\n"));
	t = CHECK("delimiter right after a header",
	    "Content-Type: multipart/mixed; boundary=b\n--b\n\nx\n--b--\n",
	    "multipart/mixed 0,42,55 l4\n.text/plain 46,47,48 l1\n");
	mime_tree_free(t);
	t = CHECK("rfc2231",
	    "Content-Type: application/x-stuff;\n"
	    " title*0*=us-ascii'en'This%20is%20even%20more%20;\n"
	    " title*1*=%2A%2A%2Afun%2A%2A%2A%20;\n"
	    " title*2=\"isn't it!\"\n\n",
	    "application/x-stuff 0,143,143 l0\n");
	tap_is_int(t->parts[0].nparams, 3, "rfc2231: three sections kept");
	is_s(&t->parts[0].params[0].name, "title*0*", "rfc2231: raw name");
	is_s(&t->parts[0].params[0].value,
	    "us-ascii'en'This%20is%20even%20more%20", "rfc2231: raw value");
	is_s(&t->parts[0].params[2].value, "isn't it!",
	    "rfc2231: quoted section unquoted");
	mime_tree_free(t);
	t = CHECK("odd params",
	    "Content-Type: text/plain; charset=us-ascii (Plain text);"
	    " ; junk; name=a\\\"b; x=\"unterminated\n\n",
	    "text/plain 0,93,93 l0\n");
	tap_is_int(t->parts[0].nparams, 3, "odd params: three params");
	is_s(&t->parts[0].params[0].value, "us-ascii",
	    "odd params: comment after value dropped");
	is_s(&t->parts[0].params[2].value, "unterminated",
	    "odd params: unterminated quote runs to the end");
	mime_tree_free(t);
}

int
main(void)
{
	plain();
	alternative();
	mixed_attachment();
	nested();
	rfc822();
	rfc822_simple();
	digest();
	missing_close();
	prefix_boundary();
	crlf_same();
	odd_shapes();
	odd_mime();
	return tap_done();
}
