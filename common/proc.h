/*
 * proc.h - the three processes of one connection and what a protocol
 * (pop3d, imapd) plugs into them.  DESIGN.md draws the picture:
 *
 *   monitor (root)  -- PAM, failure delay, attempt limit; reads only
 *      |               fixed-format messages from its children (chan.h)
 *      +- login      -- unprivileged, chrooted, no_new_privs: TLS and every
 *      |               pre-auth byte; after login it relays plaintext
 *      |               between the client and the session
 *      +- session    -- the mail user: the authenticated protocol
 *
 * A protocol supplies two entry points.  login_main runs the pre-auth
 * state and calls login_auth(); on success it calls login_relay(), which
 * never returns.  session_main runs the authenticated state; it first
 * reads the preamble that login_relay sends (see session_preamble()).
 */
#ifndef POSTERN_PROC_H
#define POSTERN_PROC_H

#include <sys/types.h>
#include "config.h"
#include "io.h"

struct login;
struct session;

struct proto {
	const char *name;	/* "pop3" or "imap": ALPN, PAM_TTY, logs */
	const char *ident;	/* "pop3d" or "imapd": syslog identifier */
	void (*login_main)(struct login *l);
	void (*session_main)(struct session *s);
	/* The session's idle timeout, in seconds; the relay gives up on a
	 * silent client a little after the session would have. */
	unsigned (*idle_timeout)(const struct config *cfg);
};

/* Result of an authentication request (monitor's answer). */
enum auth_result {
	AUTH_OK = 0,
	AUTH_FAIL = 1,		/* wrong credentials, or refused account */
	AUTH_TEMPFAIL = 2,	/* PAM or system trouble: try later */
	AUTH_TOOMANY = 3,	/* attempt limit reached: disconnect */
};

enum auth_mech { MECH_PLAIN = 1, MECH_LOGIN = 2, MECH_USER = 3 };

/* The pre-auth phase lasts at most this many login_timeouts in all. */
#define LOGIN_LIFETIME_FACTOR 3

/* Limits on credentials (SECURITY.md G3). */
#define AUTH_USER_MAX 255
#define AUTH_PASS_MAX 1024

struct login {
	const struct config *cfg;
	const struct proto *proto;
	struct io io;
	SSL_CTX *tls;		/* NULL when ssl = no or TLS failed to load */
	int chan;		/* to the monitor */
	char rip[64], lip[64];
	unsigned rport, lport;
	int loopback;		/* client on a loopback address */
	int bad_commands;
};

struct session {
	const struct config *cfg;
	const struct proto *proto;
	struct io io;
	const char *user;	/* the account PAM authenticated */
	const char *home;
	uid_t uid;
	gid_t gid;
	const char *rip;
	int preauth;		/* started with --preauth: no login process */
};

/* In the login process: is the connection protected (TLS, or local)? */
int login_secured(const struct login *l);
/* May cleartext credentials be accepted now (ssl, disable_plaintext_auth)? */
int login_plaintext_allowed(const struct login *l);

/*
 * Ask the monitor to authenticate.  authzid must be empty or equal to
 * user (there are no master users).  On AUTH_OK *session_fd is the
 * session's end of the relay.  Waits for the failure delay on failure.
 */
enum auth_result login_auth(struct login *l, enum auth_mech mech,
    const char *authzid, size_t azlen, const char *user, size_t ulen,
    const char *pass, size_t plen, int *session_fd);

/*
 * Become a relay: send preamble (e.g. the IMAP tag; "" for POP3) and any
 * client bytes already buffered to the session, then copy both ways until
 * either side closes.  Never returns.
 */
void NORETURN login_relay(struct login *l, int session_fd, const char *preamble);

/* In the session: read the preamble line the login process sent. */
int session_preamble(struct session *s, char *out, size_t outlen);

/*
 * The daemon's main: parses the command line (-c FILE, --tls, --preauth,
 * -n, -a, -V), loads the configuration and runs the monitor, or the
 * session directly with --preauth.  Returns the exit status.
 */
int daemon_main(const struct proto *p, int argc, char **argv);

#endif
