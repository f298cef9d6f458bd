/*
 * login.c - POP3 AUTHORIZATION state, in the unprivileged chrooted login
 * process: CAPA, USER, PASS, AUTH (PLAIN, LOGIN; RFC 5034), STLS
 * (RFC 2595), QUIT.  Credentials go to the monitor through login_auth();
 * on success the process becomes a relay and the session answers PASS.
 */
#include <string.h>
#include <strings.h>

#include "log.h"
#include "pop3.h"
#include "sasl.h"

struct plogin {
	struct login *l;
	char user[AUTH_USER_MAX + 1];
	size_t ulen;
	int have_user;
	int lines;		/* commands read so far */
};

/* What a handler tells the loop. */
enum next { NEXT_OK, NEXT_BAD, NEXT_CLOSE };

static void
reply(struct plogin *p, const char *s)
{
	io_puts(&p->l->io, s);
	io_puts(&p->l->io, "\r\n");
	io_flush(&p->l->io);
}

static enum next
cmd_capa(struct plogin *p, char *arg)
{
	struct io *io = &p->l->io;

	(void)arg;
	io_puts(io, "+OK Capability list follows\r\nCAPA\r\nTOP\r\nUIDL\r\n"
	    "RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n");
	if (login_plaintext_allowed(p->l)) {
		io_puts(io, "USER\r\nSASL");
		if (config_mech_enabled(p->l->cfg, "plain"))
			io_puts(io, " PLAIN");
		if (config_mech_enabled(p->l->cfg, "login"))
			io_puts(io, " LOGIN");
		io_puts(io, "\r\n");
	}
	if (p->l->tls != NULL && p->l->io.ssl == NULL)
		io_puts(io, "STLS\r\n");
	io_puts(io, "IMPLEMENTATION postern\r\n.\r\n");
	io_flush(io);
	return NEXT_OK;
}

static int
refuse_plaintext(struct plogin *p)
{
	if (login_plaintext_allowed(p->l))
		return 0;
	reply(p, "-ERR [AUTH] Plaintext authentication disallowed on "
	    "non-secure (SSL/TLS) connections.");
	return 1;
}

static enum next
cmd_user(struct plogin *p, char *arg)
{
	size_t n = strlen(arg);

	if (refuse_plaintext(p))
		return NEXT_OK;
	if (n == 0 || n > AUTH_USER_MAX) {
		reply(p, "-ERR Invalid user name.");
		return NEXT_BAD;
	}
	memcpy(p->user, arg, n + 1);
	p->ulen = n;
	p->have_user = 1;
	reply(p, "+OK");
	return NEXT_OK;
}

/* Hand credentials to the monitor and act on its answer. */
static enum next
try_login(struct plogin *p, enum auth_mech mech, const char *az, size_t azlen,
    const char *user, size_t ulen, const char *pass, size_t plen)
{
	int fd;
	enum auth_result r = login_auth(p->l, mech, az, azlen, user, ulen,
	    pass, plen, &fd);

	p->have_user = 0;
	switch (r) {
	case AUTH_OK:
		login_relay(p->l, fd, "");
	case AUTH_TEMPFAIL:
		reply(p, "-ERR [SYS/TEMP] Temporary authentication failure.");
		return NEXT_OK;
	case AUTH_TOOMANY:
		reply(p, "-ERR [AUTH] Authentication failed; too many attempts.");
		return NEXT_CLOSE;
	default:
		reply(p, "-ERR [AUTH] Authentication failed.");
		return NEXT_OK;
	}
}

static enum next
cmd_pass(struct plogin *p, char *arg)
{
	enum next r;
	size_t n = strlen(arg);

	if (refuse_plaintext(p))
		return NEXT_OK;
	if (!p->have_user) {
		reply(p, "-ERR No username given.");
		return NEXT_BAD;
	}
	if (n > AUTH_PASS_MAX) {
		reply(p, "-ERR [AUTH] Authentication failed.");
		return NEXT_BAD;
	}
	r = try_login(p, MECH_USER, "", 0, p->user, p->ulen, arg, n);
	explicit_bzero(arg, n);
	return r;
}

/* Read one SASL response line and base64-decode it; -1 = cancelled or bad
 * (the reply has been sent), -2 = connection gone. */
static int
sasl_read(struct plogin *p, const char *challenge, unsigned char *out,
    size_t outmax, size_t *outlen)
{
	char line[POP3_SASL_LINE_MAX + 1];
	size_t len;
	enum io_status st;
	int r;

	reply(p, challenge);
	if ((st = io_readline(&p->l->io, line, POP3_SASL_LINE_MAX, &len)) != IO_OK)
		return st == IO_TOOLONG ? (reply(p, "-ERR Line too long."), -1) : -2;
	if (len == 1 && line[0] == '*') {
		reply(p, "-ERR Authentication aborted.");
		return -1;
	}
	if (base64_decoded_len(line, len) > outmax) {
		explicit_bzero(line, sizeof(line));
		reply(p, "-ERR [AUTH] Credentials too long.");
		return -1;
	}
	r = base64_decode(line, len, out, outmax, outlen);
	explicit_bzero(line, sizeof(line));
	if (r < 0) {
		reply(p, "-ERR [AUTH] Invalid base64 data.");
		return -1;
	}
	return 0;
}

/* Decode an initial response ("=" is the empty one, RFC 5034 section 4). */
static int
decode_ir(struct plogin *p, const char *ir, unsigned char *out, size_t outmax,
    size_t *outlen)
{
	if (strcmp(ir, "=") == 0) {
		*outlen = 0;
		return 0;
	}
	if (base64_decode(ir, strlen(ir), out, outmax, outlen) < 0) {
		reply(p, "-ERR [AUTH] Invalid base64 data.");
		return -1;
	}
	return 0;
}

static enum next
auth_plain(struct plogin *p, const char *ir)
{
	unsigned char msg[AUTH_USER_MAX * 2 + AUTH_PASS_MAX + 3];
	struct sasl_creds c;
	size_t n;
	int r;
	enum next nx;

	if (ir != NULL)
		r = decode_ir(p, ir, msg, sizeof(msg), &n);
	else
		r = sasl_read(p, "+ ", msg, sizeof(msg), &n);
	if (r < 0)
		return r == -2 ? NEXT_CLOSE : NEXT_BAD;
	r = sasl_plain_parse(msg, n, &c);
	explicit_bzero(msg, sizeof(msg));
	if (r < 0) {
		reply(p, "-ERR [AUTH] Authentication failed.");
		return NEXT_BAD;
	}
	nx = try_login(p, MECH_PLAIN, c.authzid, c.azlen, c.user, c.ulen,
	    c.pass, c.plen);
	sasl_creds_wipe(&c);
	return nx;
}

static enum next
auth_login(struct plogin *p, const char *ir)
{
	struct sasl_creds c;
	int r;
	enum next nx;

	memset(&c, 0, sizeof(c));
	if (ir != NULL)
		r = decode_ir(p, ir, (unsigned char *)c.user, AUTH_USER_MAX, &c.ulen);
	else	/* "Username:" */
		r = sasl_read(p, "+ VXNlcm5hbWU6", (unsigned char *)c.user,
		    AUTH_USER_MAX, &c.ulen);
	if (r == 0)	/* "Password:" */
		r = sasl_read(p, "+ UGFzc3dvcmQ6", (unsigned char *)c.pass,
		    AUTH_PASS_MAX, &c.plen);
	if (r < 0) {
		sasl_creds_wipe(&c);
		return r == -2 ? NEXT_CLOSE : NEXT_BAD;
	}
	nx = try_login(p, MECH_LOGIN, "", 0, c.user, c.ulen, c.pass, c.plen);
	sasl_creds_wipe(&c);
	return nx;
}

static enum next
cmd_auth(struct plogin *p, char *arg)
{
	char *ir = strchr(arg, ' ');

	if (*arg == '\0') {	/* RFC 1734 style list of mechanisms */
		io_puts(&p->l->io, "+OK\r\n");
		if (config_mech_enabled(p->l->cfg, "plain"))
			io_puts(&p->l->io, "PLAIN\r\n");
		if (config_mech_enabled(p->l->cfg, "login"))
			io_puts(&p->l->io, "LOGIN\r\n");
		reply(p, ".");
		return NEXT_OK;
	}
	if (refuse_plaintext(p))
		return NEXT_OK;
	if (ir != NULL)
		*ir++ = '\0';
	if (strcasecmp(arg, "PLAIN") == 0 &&
	    config_mech_enabled(p->l->cfg, "plain"))
		return auth_plain(p, ir);
	if (strcasecmp(arg, "LOGIN") == 0 &&
	    config_mech_enabled(p->l->cfg, "login"))
		return auth_login(p, ir);
	reply(p, "-ERR [AUTH] Unsupported authentication mechanism.");
	return NEXT_BAD;
}

static enum next
cmd_stls(struct plogin *p, char *arg)
{
	size_t discarded = 0;

	(void)arg;
	if (p->l->io.ssl != NULL) {
		reply(p, "-ERR TLS is already active.");
		return NEXT_BAD;
	}
	if (p->l->tls == NULL) {
		reply(p, "-ERR TLS support isn't enabled.");
		return NEXT_BAD;
	}
	reply(p, "+OK Begin TLS negotiation now.");
	/* Bytes pipelined after STLS are never executed: io_starttls drops
	 * the connection when there are any (CVE-2011-0411, SECURITY.md G11) */
	if (io_starttls(&p->l->io, p->l->tls,
	    (int)p->l->cfg->ssl_handshake_timeout, &discarded) != IO_OK)
		return NEXT_CLOSE;
	p->have_user = 0;	/* RFC 2595 section 4: forget what came before */
	return NEXT_OK;
}

static enum next
cmd_quit(struct plogin *p, char *arg)
{
	(void)arg;
	reply(p, "+OK Logging out.");
	return NEXT_CLOSE;
}

static const struct {
	const char *name;
	enum next (*fn)(struct plogin *, char *);
} cmds[] = {
	{ "CAPA", cmd_capa }, { "USER", cmd_user }, { "PASS", cmd_pass },
	{ "AUTH", cmd_auth }, { "STLS", cmd_stls }, { "QUIT", cmd_quit },
};

/* An HTTP request line: a browser sent here by a cross-protocol attack
 * (ALPACA).  Hang up without echoing anything. */
static int
looks_like_http(const char *line)
{
	const char *sp = strrchr(line, ' ');

	return sp != NULL && strncmp(sp + 1, "HTTP/", 5) == 0;
}

static enum next
dispatch(struct plogin *p, char *line, size_t len)
{
	char *arg = strchr(line, ' ');

	if (memchr(line, '\0', len) != NULL) {
		reply(p, "-ERR Invalid characters in command.");
		return NEXT_BAD;
	}
	if (p->lines++ == 0 && looks_like_http(line))
		return NEXT_CLOSE;
	if (arg != NULL)
		*arg++ = '\0';
	else
		arg = line + len;
	for (size_t i = 0; i < ARRAY_LEN(cmds); i++)
		if (strcasecmp(line, cmds[i].name) == 0)
			return cmds[i].fn(p, arg);
	reply(p, "-ERR Unknown command.");
	return NEXT_BAD;
}

void
pop3_login_main(struct login *l)
{
	struct plogin p = { .l = l };
	char line[POP3_LOGIN_LINE_MAX + 1];
	size_t len;
	enum next nx;

	io_printf(&l->io, "+OK %s\r\n", l->cfg->login_greeting);
	io_flush(&l->io);
	for (;;) {
		enum io_status st = io_readline(&l->io, line, POP3_LOGIN_LINE_MAX,
		    &len);

		if (st == IO_TIMEOUT)
			reply(&p, "-ERR Disconnected for inactivity.");
		if (st == IO_TOOLONG) {
			reply(&p, "-ERR Line too long.");
			nx = NEXT_BAD;
		} else if (st != IO_OK) {
			break;
		} else {
			nx = dispatch(&p, line, len);
		}
		explicit_bzero(line, sizeof(line));
		if (nx == NEXT_CLOSE)
			break;
		if (nx == NEXT_BAD && ++l->bad_commands >= POP3_LOGIN_BAD_MAX) {
			reply(&p, "-ERR Too many bad commands.");
			break;
		}
	}
}
