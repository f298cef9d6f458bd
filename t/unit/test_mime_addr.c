/*
 * test_mime_addr.c - address fields into RFC 3501 7.4.2 address
 * structures: display names, quoted local parts, comments, routes,
 * groups (start and end markers), and the malformed shapes mail really
 * has (unterminated quotes, comments and brackets, missing pieces).
 */
#include "test_mime.h"

/* The To field of a message with header "To: value", as
 * (name adl mailbox host) per address. */
static void
to_is(const char *value, const char *want, const char *name)
{
	char msg[4096], out[4096] = "";
	struct mime_tree *t;
	const struct mime_alist *l;

	snprintf(msg, sizeof(msg), "To: %s\n\nbody\n", value);
	t = check_parse(name, msg, strlen(msg));
	l = &t->parts[0].env->addr[MIME_ENV_TO];
	for (uint32_t i = 0; i < l->n; i++) {
		strcat(out, "(");
		str_cat(out, sizeof(out), &l->a[i].name);
		strcat(out, " ");
		str_cat(out, sizeof(out), &l->a[i].adl);
		strcat(out, " ");
		str_cat(out, sizeof(out), &l->a[i].mailbox);
		strcat(out, " ");
		str_cat(out, sizeof(out), &l->a[i].host);
		strcat(out, ")");
	}
	tap_is_str(out, want, name);
	mime_tree_free(t);
}

int
main(void)
{
	to_is("bob@example.com", "(NIL NIL bob example.com)", "addr-spec");
	to_is("Bob Smith <bob@example.com>",
	    "(Bob Smith NIL bob example.com)", "name-addr");
	to_is("\"Smith, Bob\" <bob@example.com>, carol@c.example",
	    "(Smith, Bob NIL bob example.com)(NIL NIL carol c.example)",
	    "quoted name with a comma");
	to_is("John Q. Public <jqp@x.example>",
	    "(John Q. Public NIL jqp x.example)", "name with a dot");
	to_is("\"john doe\"@example.org",
	    "(NIL NIL \"john doe\" example.org)", "quoted local part");
	to_is("first.last (Comment (nested)) @ example.org",
	    "(NIL NIL first.last example.org)", "comments and spaces");
	to_is("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
	    "(Pete NIL pete silly.test)", "RFC 5322 A.5 comments");
	to_is("<@a.example,@b.example:joe@c.example>",
	    "(NIL @a.example,@b.example joe c.example)", "route address");
	to_is("undisclosed-recipients:;",
	    "(NIL NIL undisclosed-recipients NIL)(NIL NIL NIL NIL)",
	    "empty group");
	to_is("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;"
	    ", after@x",
	    "(NIL NIL A Group NIL)(Ed Jones NIL c a.test)"
	    "(NIL NIL joe where.test)(John NIL jdoe one.test)(NIL NIL NIL NIL)"
	    "(NIL NIL after x)", "group with members (RFC 5322 A.1.3)");
	to_is("team: a@x", "(NIL NIL team NIL)(NIL NIL a x)(NIL NIL NIL NIL)",
	    "group without ';' is closed at the end");
	to_is("localonly", "(NIL NIL localonly MISSING_DOMAIN)",
	    "no domain");
	to_is("<>", "(NIL NIL  )", "null address");
	to_is("\"unterminated <a@b>",
	    "(NIL NIL \"unterminated <a@b> MISSING_DOMAIN)",
	    "unterminated quote runs to the end");
	to_is("Name <a@b", "(Name NIL a b)", "unterminated angle");
	to_is("x@y (unterminated comment", "(NIL NIL x y)",
	    "unterminated comment");
	to_is(",,a@b,,", "(NIL NIL a b)", "empty items");
	to_is("=?utf-8?q?J=C3=B6rg?= <j@x>", "(=?utf-8?q?J=C3=B6rg?= NIL j x)",
	    "encoded name kept raw");
	to_is("a@[192.0.2.1]", "(NIL NIL a [192.0.2.1])", "domain literal");
	to_is("a@b@c, d", "(NIL NIL a b@c)(NIL NIL d MISSING_DOMAIN)",
	    "two at signs");
	to_is("", "", "empty field");
	to_is("<a@b> trailing junk, c@d", "(NIL NIL a b)(NIL NIL c d)",
	    "junk after an address");
	to_is("a:b:c@d;", "(NIL NIL a NIL)(NIL NIL c d)(NIL NIL NIL NIL)",
	    "nested group name dropped");
	return tap_done();
}
