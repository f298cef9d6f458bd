/*
 * login.c - the IMAP not-authenticated state (RFC 3501 3.1, 6.1, 6.2), in
 * the unprivileged chrooted login process: CAPABILITY, NOOP, LOGOUT,
 * STARTTLS (RFC 2595), LOGIN, AUTHENTICATE PLAIN and LOGIN with SASL-IR
 * (RFC 4959), ID (RFC 2971).  Everything here comes from an
 * unauthenticated client.  Credentials go to the monitor through
 * login_auth(); on success the process becomes a relay and the session
 * answers the command's tag ("tag OK [CAPABILITY ...] Logged in").
 */
#include <string.h>
#include <strings.h>

#include "imap.h"
#include "log.h"
#include "sasl.h"


/* A SASL response line: the base64 of the longest PLAIN message we take
 * (2 * AUTH_USER_MAX + AUTH_PASS_MAX + 2 bytes) is about 2 KiB; Dovecot
 * allows LOGIN_MAX_AUTH_BUF_SIZE = 8192. */
#define IMAP_SASL_LINE_MAX 8192

/* RFC 2971 3.3: fields of at most 30 octets, values of at most 1024,
 * at most 30 pairs. */
#define ID_FIELD_MAX 30
#define ID_VALUE_MAX 1024
#define ID_PAIRS_MAX 30

struct ilogin {
	struct login *l;
	struct io *io;
	struct imap_parser *p;
	const char *tag;	/* the current command's */
};

/* What a handler tells the loop. */
enum next { NEXT_OK, NEXT_BAD, NEXT_CLOSE };

static void
untagged(struct ilogin *il, const char *text)
{
	io_printf(il->io, "* %s\r\n", text);
	io_flush(il->io);
}

static void PRINTF(3, 4)
tagged(struct ilogin *il, const char *result, const char *fmt, ...)
{
	char text[IMAP_RESP_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	io_printf(il->io, "%s %s %s\r\n", il->tag, result, text);
	io_flush(il->io);
}

static enum next
bad(struct ilogin *il, const char *text)
{
	tagged(il, "BAD", "%s", text);
	return NEXT_BAD;
}

static void
capability_list(const struct ilogin *il, char *out, size_t outlen)
{
	const struct login *l = il->l;
	int tls = l->io.ssl != NULL;

	imap_capability(l->cfg, tls ? CAP_PREAUTH_TLS : CAP_PREAUTH_PLAIN,
	    !tls && l->tls != NULL, login_plaintext_allowed(l), out, outlen);
}

static int
no_args(const struct imap_arg *a)
{
	return imap_args_count(a) == 0;
}

/* ---- CAPABILITY, NOOP, LOGOUT, ID, STARTTLS ---- */

static enum next
pre_capability(struct ilogin *il, const struct imap_arg *a)
{
	char caps[512];

	if (!no_args(a))
		return bad(il, "Unexpected arguments.");
	capability_list(il, caps, sizeof(caps));
	io_printf(il->io, "* CAPABILITY %s\r\n", caps);
	tagged(il, "OK", "Pre-login capabilities listed, post-login "
	    "capabilities have more.");
	return NEXT_OK;
}

static enum next
pre_noop(struct ilogin *il, const struct imap_arg *a)
{
	if (!no_args(a))
		return bad(il, "Unexpected arguments.");
	tagged(il, "OK", "NOOP completed.");
	return NEXT_OK;
}

static enum next
pre_logout(struct ilogin *il, const struct imap_arg *a)
{
	if (!no_args(a))
		return bad(il, "Unexpected arguments.");
	/* RFC 3501 6.1.3: BYE first, then the tagged OK */
	io_puts(il->io, "* BYE Logging out\r\n");
	tagged(il, "OK", "Logout completed.");
	return NEXT_CLOSE;
}

/* RFC 2971 4: "(" *(string SP nstring) ")" or NIL. */
static int
id_valid(const struct imap_arg *a)
{
	const struct imap_arg *f;

	if (a->type == IMAP_ARG_NIL)
		return 1;
	if (a->type != IMAP_ARG_LIST || a->len % 2 != 0 ||
	    a->len / 2 > ID_PAIRS_MAX)
		return 0;
	for (f = a->list; f->type != IMAP_ARG_EOL; f += 2) {
		if ((f->type != IMAP_ARG_QUOTED && f->type != IMAP_ARG_LITERAL) ||
		    f->len > ID_FIELD_MAX)
			return 0;
		if (f[1].type != IMAP_ARG_NIL && ((f[1].type != IMAP_ARG_QUOTED &&
		    f[1].type != IMAP_ARG_LITERAL) || f[1].len > ID_VALUE_MAX))
			return 0;
	}
	return 1;
}

static enum next
pre_id(struct ilogin *il, const struct imap_arg *a)
{
	if (imap_args_count(a) != 1 || !id_valid(a))
		return bad(il, "Invalid ID parameters.");
	io_puts(il->io, "* ID (\"name\" \"postern\")\r\n");
	tagged(il, "OK", "ID completed.");
	return NEXT_OK;
}

static enum next
pre_starttls(struct ilogin *il, const struct imap_arg *a)
{
	struct login *l = il->l;
	size_t discarded = 0;

	if (!no_args(a))
		return bad(il, "Unexpected arguments.");
	if (l->io.ssl != NULL)
		return bad(il, "TLS is already active.");
	if (l->tls == NULL)
		return bad(il, "TLS support isn't enabled.");
	tagged(il, "OK", "Begin TLS negotiation now.");
	/* Commands pipelined after STARTTLS are never executed: io_starttls
	 * logs them and fails closed (CVE-2011-0411, SECURITY.md G11). */
	if (io_starttls(&l->io, l->tls, (int)l->cfg->ssl_handshake_timeout,
	    &discarded) != IO_OK)
		return NEXT_CLOSE;
	/* RFC 3501 6.2.1: the client must ask for the capabilities again;
	 * nothing is sent unasked over the new channel. */
	return NEXT_OK;
}

/* ---- authentication ---- */

/* RFC 3501 6.2.3, RFC 2595 3.2: no cleartext credentials unless the
 * configuration allows them on this connection. */
static int
refuse_plaintext(struct ilogin *il)
{
	if (login_plaintext_allowed(il->l))
		return 0;
	tagged(il, "NO", "[PRIVACYREQUIRED] Plaintext authentication "
	    "disallowed on non-secure (SSL/TLS) connections.");
	return 1;
}

/* Wipe the strings among the command's arguments (the password of
 * LOGIN, an initial response) before the parser frees them. */
static void
wipe_args(const struct imap_arg *a)
{
	for (; a != NULL && a->type != IMAP_ARG_EOL; a++)
		if (a->str != NULL)
			explicit_bzero(a->str, a->len);
}

/*
 * Hand credentials to the monitor and act on its answer.  The
 * credentials are wiped as soon as the monitor has them: on success
 * this process becomes the relay and never returns here.
 */
static enum next
try_login(struct ilogin *il, enum auth_mech mech, struct sasl_creds *c)
{
	char tag[IMAP_TAG_MAX + 1];
	int fd;
	enum auth_result r = login_auth(il->l, mech, c->authzid, c->azlen,
	    c->user, c->ulen, c->pass, c->plen, &fd);

	sasl_creds_wipe(c);
	wipe_args(imap_parser_args(il->p));
	switch (r) {
	case AUTH_OK:
		/* the session answers the tag */
		snprintf(tag, sizeof(tag), "%s", il->tag);
		imap_parser_free(il->p);
		il->p = NULL;
		login_relay(il->l, fd, tag);
	case AUTH_TEMPFAIL:
		tagged(il, "NO", "[UNAVAILABLE] Temporary authentication "
		    "failure.");
		return NEXT_OK;
	case AUTH_TOOMANY:
		untagged(il, "BYE Too many invalid authentication attempts");
		return NEXT_CLOSE;
	default:
		tagged(il, "NO", "[AUTHENTICATIONFAILED] Authentication failed.");
		return NEXT_OK;
	}
}

static enum next
failed(struct ilogin *il)
{
	tagged(il, "NO", "[AUTHENTICATIONFAILED] Authentication failed.");
	return NEXT_OK;
}

/* RFC 3501 6.2.3: LOGIN SP userid SP password, both astrings. */
static enum next
pre_login(struct ilogin *il, const struct imap_arg *a)
{
	struct sasl_creds c;

	if (imap_args_count(a) != 2 || !imap_arg_is_astring(&a[0]) ||
	    !imap_arg_is_astring(&a[1])) {
		wipe_args(a);
		return bad(il, "Invalid arguments.");
	}
	if (refuse_plaintext(il)) {
		wipe_args(a);
		return NEXT_OK;
	}
	/* Longer than any account the monitor would take (AUTH_*_MAX). */
	if (a[0].len >= sizeof(c.user) || a[1].len >= sizeof(c.pass)) {
		wipe_args(a);
		return failed(il);
	}
	memset(&c, 0, sizeof(c));
	memcpy(c.user, a[0].str, c.ulen = a[0].len);
	memcpy(c.pass, a[1].str, c.plen = a[1].len);
	return try_login(il, MECH_USER, &c);
}

/* Outcome of reading one SASL step. */
enum step { STEP_OK, STEP_NO, STEP_BAD, STEP_CLOSE };

/* Decode base64 (strict) into out; "=" alone is the empty initial
 * response (RFC 4959 3). */
static enum step
decode(struct ilogin *il, const char *in, size_t inlen, int ir,
    unsigned char *out, size_t outmax, size_t *outlen)
{
	if (ir && inlen == 1 && in[0] == '=') {
		*outlen = 0;
		return STEP_OK;
	}
	if (base64_decoded_len(in, inlen) > outmax) {
		tagged(il, "NO", "[AUTHENTICATIONFAILED] Credentials too long.");
		return STEP_NO;
	}
	if (base64_decode(in, inlen, out, outmax, outlen) < 0) {
		tagged(il, "BAD", "Invalid base64 data in SASL response.");
		return STEP_BAD;
	}
	return STEP_OK;
}

/*
 * Send a continuation request (RFC 3501 7.5, with the base64 challenge)
 * and read the client's response line: "*" cancels the exchange with a
 * tagged BAD (RFC 3501 6.2.2).
 */
static enum step
sasl_step(struct ilogin *il, const char *challenge, unsigned char *out,
    size_t outmax, size_t *outlen)
{
	char line[IMAP_SASL_LINE_MAX + 1];
	size_t len;
	enum io_status st;
	enum step r;

	io_printf(il->io, "+ %s\r\n", challenge);
	io_flush(il->io);
	st = io_readline(il->io, line, IMAP_SASL_LINE_MAX, &len);
	if (st == IO_TIMEOUT) {
		untagged(il, "BYE Disconnected for inactivity.");
		return STEP_CLOSE;
	}
	if (st == IO_TOOLONG) {	/* past any credentials' size: not a login */
		untagged(il, "BYE [TOOBIG] SASL response too long.");
		return STEP_CLOSE;
	}
	if (st != IO_OK)
		return STEP_CLOSE;
	if (len == 1 && line[0] == '*') {
		tagged(il, "BAD", "Authentication aborted by client.");
		return STEP_BAD;
	}
	/* line holds a password: wiped on every path from here */
	r = decode(il, line, len, 0, out, outmax, outlen);
	explicit_bzero(line, sizeof(line));
	return r;
}

static enum next
step_next(enum step s)
{
	return s == STEP_CLOSE ? NEXT_CLOSE : s == STEP_NO ? NEXT_OK : NEXT_BAD;
}

/* RFC 4616: one message "authzid NUL authcid NUL passwd". */
static enum next
auth_plain(struct ilogin *il, const struct imap_arg *ir)
{
	unsigned char msg[AUTH_USER_MAX * 2 + AUTH_PASS_MAX + 3];
	struct sasl_creds c;
	size_t n = 0;
	enum step s;
	int r;

	if (ir != NULL)
		s = decode(il, ir->str, ir->len, 1, msg, sizeof(msg), &n);
	else
		s = sasl_step(il, "", msg, sizeof(msg), &n);
	if (s != STEP_OK) {
		explicit_bzero(msg, sizeof(msg));
		return step_next(s);
	}
	r = sasl_plain_parse(msg, n, &c);
	explicit_bzero(msg, sizeof(msg));
	if (r < 0) {
		sasl_creds_wipe(&c);
		return failed(il);
	}
	return try_login(il, MECH_PLAIN, &c);
}

/* draft-murchison-sasl-login: "Username:", then "Password:". */
static enum next
auth_login(struct ilogin *il, const struct imap_arg *ir)
{
	struct sasl_creds c;
	enum step s;

	memset(&c, 0, sizeof(c));
	if (ir != NULL)
		s = decode(il, ir->str, ir->len, 1, (unsigned char *)c.user,
		    AUTH_USER_MAX, &c.ulen);
	else
		s = sasl_step(il, "VXNlcm5hbWU6", (unsigned char *)c.user,
		    AUTH_USER_MAX, &c.ulen);
	if (s == STEP_OK)
		s = sasl_step(il, "UGFzc3dvcmQ6", (unsigned char *)c.pass,
		    AUTH_PASS_MAX, &c.plen);
	if (s != STEP_OK) {
		sasl_creds_wipe(&c);
		return step_next(s);
	}
	return try_login(il, MECH_LOGIN, &c);
}

/* RFC 3501 6.2.2, RFC 4959: AUTHENTICATE mechanism [initial-response]. */
static enum next
pre_authenticate(struct ilogin *il, const struct imap_arg *a)
{
	size_t n = imap_args_count(a);
	const struct imap_arg *ir = n == 2 ? &a[1] : NULL;
	enum next nx;

	if (n < 1 || n > 2 || a[0].type != IMAP_ARG_ATOM ||
	    (ir != NULL && (ir->type != IMAP_ARG_ATOM || ir->len == 0)))
		return bad(il, "Invalid arguments.");
	if (refuse_plaintext(il)) {
		wipe_args(a);
		return NEXT_OK;
	}
	if (strcasecmp(a[0].str, "PLAIN") == 0 &&
	    config_mech_enabled(il->l->cfg, "plain"))
		nx = auth_plain(il, ir);
	else if (strcasecmp(a[0].str, "LOGIN") == 0 &&
	    config_mech_enabled(il->l->cfg, "login"))
		nx = auth_login(il, ir);
	else {
		tagged(il, "NO", "Unsupported authentication mechanism.");
		nx = NEXT_OK;
	}
	wipe_args(a);
	return nx;
}

/* ---- the loop ---- */

/* RFC 5161 3.1: ENABLE is valid only after login; RFC 3501 3 lets the
 * server answer a command in the wrong state with BAD. */
static enum next
pre_later(struct ilogin *il, const struct imap_arg *a)
{
	(void)a;
	return bad(il, "Command not valid before authentication.");
}

static const struct {
	const char *name;
	enum next (*fn)(struct ilogin *, const struct imap_arg *);
} cmds[] = {
	{ "CAPABILITY", pre_capability }, { "NOOP", pre_noop },
	{ "LOGOUT", pre_logout }, { "STARTTLS", pre_starttls },
	{ "LOGIN", pre_login }, { "AUTHENTICATE", pre_authenticate },
	{ "ID", pre_id }, { "ENABLE", pre_later },
};

static enum next
dispatch(struct ilogin *il)
{
	const char *name = imap_parser_name(il->p);
	const struct imap_arg *a = imap_parser_args(il->p);

	for (size_t i = 0; i < ARRAY_LEN(cmds); i++)
		if (strcasecmp(name, cmds[i].name) == 0)
			return cmds[i].fn(il, a);
	if (imap_command_find(name, 0) != NULL)
		return pre_later(il, a);
	return bad(il, "Unknown command.");
}

/*
 * An HTTP request line as the very first line: a browser sent here by a
 * cross-protocol attack (ALPACA, SECURITY.md G10).  Hang up without
 * echoing anything.  The line is peeked at, not consumed: io_readline()
 * only moves in_start past the line it returns, so its bytes are still
 * in the buffer and are handed back to the command reader.
 */
static int
looks_like_http(const char *line, size_t len)
{
	const char *sp = memrchr(line, ' ', len);

	return sp != NULL && len - (size_t)(sp + 1 - line) >= 5 &&
	    strncmp(sp + 1, "HTTP/", 5) == 0;
}

static enum next
peek_first_line(struct ilogin *il)
{
	struct io *io = il->io;
	char line[IO_LINE_MAX + 1];
	size_t len, used, start;
	enum io_status st = io_readline(io, line, IO_LINE_MAX, &len);

	if (st == IO_TIMEOUT) {
		untagged(il, "BYE Disconnected for inactivity.");
		return NEXT_CLOSE;
	}
	if (st == IO_TOOLONG) {	/* as the reader does (parse.c too_long) */
		untagged(il, "BYE [TOOBIG] Line too long.");
		return NEXT_CLOSE;
	}
	if (st != IO_OK || looks_like_http(line, len))
		return NEXT_CLOSE;
	start = io->in_start;
	used = len + 1;
	if (start >= len + 2 && io->in[start - 2] == '\r')
		used++;
	if (used > start || memcmp(io->in + start - used, line, len) != 0)
		fatal("imap login: cannot put the first line back");
	io->in_start = start - used;
	explicit_bzero(line, sizeof(line));
	return NEXT_OK;
}

/* Read one command and act on it. */
static enum next
one_command(struct ilogin *il)
{
	enum imap_read_result r = imap_read_command(il->p, il->io, 0);

	il->tag = imap_parser_tag(il->p);
	if (*il->tag == '\0')
		il->tag = "*";
	switch (r) {
	case IMAP_READ_DONE:
		return dispatch(il);
	case IMAP_READ_BAD:
		/* SECURITY.md G6: a literal above the pre-auth budget ends
		 * the connection, as a client sending one is not logging in */
		if (strncmp(imap_parser_error(il->p), "[TOOBIG]", 8) == 0) {
			untagged(il, "BYE [TOOBIG] Command too long.");
			return NEXT_CLOSE;
		}
		tagged(il, "BAD", "%s", imap_parser_error(il->p));
		return NEXT_BAD;
	case IMAP_READ_TIMEOUT:
		untagged(il, "BYE Disconnected for inactivity.");
		return NEXT_CLOSE;
	default:
		return NEXT_CLOSE;
	}
}

void
imap_login_main(struct login *l)
{
	struct ilogin il = { .l = l, .io = &l->io };
	char caps[512];
	enum next nx;

	capability_list(&il, caps, sizeof(caps));
	io_printf(&l->io, "* OK [CAPABILITY %s] %s\r\n", caps,
	    l->cfg->login_greeting);
	io_flush(&l->io);
	if ((il.p = imap_parser_new(IMAP_LOGIN_MAX_CMD)) == NULL)
		fatal("out of memory");
	for (int first = 1;; first = 0) {
		nx = first ? peek_first_line(&il) : NEXT_OK;
		if (nx == NEXT_OK) {
			nx = one_command(&il);
			imap_parser_reset(il.p);
		}
		if (nx == NEXT_CLOSE)
			break;
		if (nx == NEXT_BAD && ++l->bad_commands >= IMAP_LOGIN_BAD_MAX) {
			untagged(&il, "BYE Too many invalid commands.");
			break;
		}
	}
	imap_parser_free(il.p);
}
