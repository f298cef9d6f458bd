/*
 * misc.c - the small commands of the authenticated state: CAPABILITY,
 * NOOP, CHECK, LOGOUT (RFC 3501 6.1, 6.4.1), ID (RFC 2971), ENABLE
 * (RFC 5161) and NAMESPACE (RFC 2342).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "imap.h"
#include "log.h"

static int
no_args(const struct imap_cmd *c)
{
	return c->args == NULL || c->args->type == IMAP_ARG_EOL;
}

enum cmd_result
cmd_capability(struct imap *im, struct imap_cmd *c)
{
	char caps[1024];

	if (!no_args(c))
		return cmd_bad(c, "Unexpected arguments.");
	imap_capability(im->cfg, CAP_AUTH, 0, 1, caps, sizeof(caps));
	io_printf(im->io, "* CAPABILITY %s\r\n", caps);
	return cmd_ok(c, "Capability completed.");
}

/* The untagged updates NOOP exists for are sent by the loop. */
enum cmd_result
cmd_noop(struct imap *im, struct imap_cmd *c)
{
	(void)im;
	if (!no_args(c))
		return cmd_bad(c, "Unexpected arguments.");
	return cmd_ok(c, "NOOP completed.");
}

/* RFC 3501 6.4.1: a checkpoint; for us, write pending flag changes. */
enum cmd_result
cmd_check(struct imap *im, struct imap_cmd *c)
{
	char err[512] = "";
	enum store_result r;

	if (!no_args(c))
		return cmd_bad(c, "Unexpected arguments.");
	if ((r = store_flush(im->sel, err, sizeof(err))) != STORE_OK) {
		log_msg(LOG_WARNING, "CHECK: %s", err);
		return cmd_store_error(c, r, NULL);
	}
	return cmd_ok(c, "Check completed.");
}

enum cmd_result
cmd_logout(struct imap *im, struct imap_cmd *c)
{
	if (!no_args(c))
		return cmd_bad(c, "Unexpected arguments.");
	io_puts(im->io, "* BYE Logging out\r\n");
	im->logout = 1;
	cmd_ok(c, "Logout completed.");
	return CMD_CLOSE;
}

/* RFC 2971 3.3: at most 30 pairs, fields up to 30 octets, values up to
 * 1024. */
#define ID_PAIRS_MAX 30
#define ID_FIELD_MAX 30
#define ID_VALUE_MAX 1024

static int
id_string(const struct imap_arg *a)
{
	return a->type == IMAP_ARG_QUOTED || a->type == IMAP_ARG_LITERAL;
}

/* Validate the list; name/version point at the client's values. */
static int
id_parse(const struct imap_arg *l, const struct imap_arg **name,
    const struct imap_arg **version)
{
	size_t n = l->len;

	/* RFC 2971 4: "(" string SP nstring *(SP string SP nstring) ")" */
	if (n == 0 || n % 2 != 0 || n / 2 > ID_PAIRS_MAX)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		const struct imap_arg *f = &l->list[i], *v = &l->list[i + 1];
		if (!id_string(f) || f->len > ID_FIELD_MAX)
			return -1;
		if (v->type != IMAP_ARG_NIL && (!id_string(v) ||
		    v->len > ID_VALUE_MAX))
			return -1;
		if (v->type == IMAP_ARG_NIL)
			continue;
		if (strcasecmp(f->str, "name") == 0)
			*name = v;
		else if (strcasecmp(f->str, "version") == 0)
			*version = v;
	}
	return 0;
}

static void
id_log(const struct imap_arg *name, const struct imap_arg *version)
{
	char n[128], v[128];

	if (name == NULL && version == NULL)
		return;
	log_escape(name ? name->str : "", name ? name->len : 0, n, sizeof(n));
	log_escape(version ? version->str : "", version ? version->len : 0,
	    v, sizeof(v));
	log_msg(LOG_INFO, "client id: name=<%s> version=<%s>", n, v);
}

enum cmd_result
cmd_id(struct imap *im, struct imap_cmd *c)
{
	const struct imap_arg *a = c->args, *name = NULL, *version = NULL;

	if (a == NULL || a->type == IMAP_ARG_EOL ||
	    a[1].type != IMAP_ARG_EOL)
		return cmd_bad(c, "Invalid arguments.");
	if (a->type == IMAP_ARG_LIST) {
		if (id_parse(a, &name, &version) < 0)
			return cmd_bad(c, "Invalid ID list.");
	} else if (a->type != IMAP_ARG_NIL) {
		return cmd_bad(c, "Invalid arguments.");
	}
	id_log(name, version);
	io_puts(im->io, "* ID (\"name\" \"postern\")\r\n");
	return cmd_ok(c, "ID completed.");
}

/*
 * RFC 5161: nothing we offer needs enabling, so ENABLED lists nothing;
 * unknown capability names are ignored as 3.1 requires.
 */
enum cmd_result
cmd_enable(struct imap *im, struct imap_cmd *c)
{
	if (no_args(c))
		return cmd_bad(c, "Missing capability names.");
	for (const struct imap_arg *a = c->args; a->type != IMAP_ARG_EOL; a++)
		if (a->type != IMAP_ARG_ATOM)
			return cmd_bad(c, "Invalid capability name.");
	io_puts(im->io, "* ENABLED\r\n");
	return cmd_ok(c, "ENABLE completed.");
}

/* RFC 2342: one personal namespace, no others. */
enum cmd_result
cmd_namespace(struct imap *im, struct imap_cmd *c)
{
	if (!no_args(c))
		return cmd_bad(c, "Unexpected arguments.");
	io_printf(im->io, "* NAMESPACE ((\"\" \"%c\")) NIL NIL\r\n", im->sep);
	return cmd_ok(c, "NAMESPACE completed.");
}
