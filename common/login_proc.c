/*
 * login_proc.c - the unprivileged, chrooted login process.
 *
 * Started by the monitor as root; reads the TLS key (tls_ctx_new), then
 * chroots to the empty login_chroot, becomes default_login_user with no
 * supplementary groups and no_new_privs, and only then reads a byte from
 * the client.  Everything it learns from the client it may pass on only
 * as a chan.h AUTH message.  After a successful login it is the relay
 * between the client (TLS) and the mail session (plaintext socketpair).
 */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "chan.h"
#include "monitor.h"
#include "privdrop.h"
#include "tls.h"

static void
check_chroot_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		fatal("login_chroot %s: %m", dir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		fatal("login_chroot %s must be a directory owned by root and "
		    "writable by nobody else", dir);
}

/* Take away a resource the login process has no use for, so that code
 * running in it after an exploited bug cannot use it either. */
static void
limit(int resource)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(resource, &rl) < 0)
		fatal("setrlimit(%d): %m", resource);
}

static void
confine(const struct config *cfg, const struct passwd *lpw)
{
	check_chroot_dir(cfg->login_chroot);
	if (chroot(cfg->login_chroot) < 0 || chdir("/") < 0)
		fatal("chroot %s: %m", cfg->login_chroot);
	privdrop(lpw->pw_name, lpw->pw_uid, lpw->pw_gid, 0, (gid_t)-1);
	limit(RLIMIT_NPROC);	/* the login process never forks */
	limit(RLIMIT_FSIZE);	/* nor writes a file */
}

/* Load TLS as root; a context that fails to load is fatal only when
 * TLS is needed right away (implicit TLS) or required. */
static SSL_CTX *
load_tls(const struct proto *p, const struct config *cfg, int implicit_tls)
{
	char err[512];
	SSL_CTX *ctx;

	if (cfg->ssl == SSL_NO && !implicit_tls)
		return NULL;
	if ((ctx = tls_ctx_new(cfg, p->name, err, sizeof(err))) == NULL) {
		if (implicit_tls || cfg->ssl == SSL_REQUIRED)
			fatal("TLS unavailable: %s", err);
		log_msg(LOG_ERR, "TLS unavailable, STARTTLS disabled: %s", err);
	}
	return ctx;
}

void
login_child(const struct proto *p, const struct config *cfg,
    const struct passwd *lpw, int chan, const struct conninfo *ci,
    int implicit_tls)
{
	struct login l;
	size_t discarded;

	memset(&l, 0, sizeof(l));
	log_set_forward(chan, chan_log_forward);
	(void)prctl(PR_SET_NAME, "login", 0, 0, 0);
	l.cfg = cfg;
	l.proto = p;
	l.chan = chan;
	memcpy(l.rip, ci->rip, sizeof(l.rip));
	memcpy(l.lip, ci->lip, sizeof(l.lip));
	l.rport = ci->rport;
	l.lport = ci->lport;
	l.loopback = ci->loopback;
	l.tls = load_tls(p, cfg, implicit_tls);
	confine(cfg, lpw);
	/* The whole pre-auth phase, however busy the client keeps it, ends
	 * after LOGIN_LIFETIME_FACTOR idle timeouts (180 s by default, as
	 * Dovecot's MASTER_LOGIN_TIMEOUT_SECS).  SIGALRM's default action
	 * ends the process: no handler runs (STYLE.md 11). */
	alarm(cfg->login_timeout * LOGIN_LIFETIME_FACTOR);
	io_init(&l.io, 0, 1);
	io_set_timeouts(&l.io, (int)cfg->login_timeout, (int)cfg->output_timeout);
	if (implicit_tls && io_starttls(&l.io, l.tls,
	    (int)cfg->ssl_handshake_timeout, &discarded) != IO_OK)
		_exit(0);
	p->login_main(&l);
	io_close(&l.io);
	_exit(0);
}

int
login_secured(const struct login *l)
{
	return l->io.ssl != NULL || l->loopback;
}

/*
 * Dovecot's rule: ssl = required refuses cleartext credentials before TLS
 * even from localhost; disable_plaintext_auth refuses them unless the
 * connection is TLS or local (RFC 2595 section 2.3, RFC 8314).
 */
int
login_plaintext_allowed(const struct login *l)
{
	if (l->cfg->ssl == SSL_REQUIRED)
		return l->io.ssl != NULL;
	if (l->cfg->disable_plaintext_auth)
		return login_secured(l);
	return 1;
}

enum auth_result
login_auth(struct login *l, enum auth_mech mech, const char *authzid,
    size_t azlen, const char *user, size_t ulen, const char *pass,
    size_t plen, int *session_fd)
{
	struct chan_auth a;
	struct chan_msg m;
	int r;

	*session_fd = -1;
	if (azlen > AUTH_USER_MAX || ulen > AUTH_USER_MAX ||
	    plen > AUTH_PASS_MAX)
		return AUTH_FAIL;
	memset(&a, 0, sizeof(a));
	a.mech = (uint8_t)mech;
	a.tls = l->io.ssl != NULL;
	memcpy(a.authzid, authzid, a.azlen = azlen);
	memcpy(a.user, user, a.ulen = ulen);
	memcpy(a.pass, pass, a.plen = plen);
	r = chan_send_auth(l->chan, &a);
	explicit_bzero(&a, sizeof(a));
	if (r < 0 || chan_recv(l->chan, &m) != 1 || m.type != CHAN_REPLY)
		fatal("lost the monitor");
	*session_fd = m.fd;
	return (enum auth_result)m.u.result;
}

/* Copy what the session sends to the client. */
static int
relay_from_session(struct login *l, int fd)
{
	char buf[16384];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1;
	if (io_write(&l->io, buf, (size_t)n) != IO_OK || io_flush(&l->io) != IO_OK)
		return -1;
	return 0;
}

/* Copy what the client sends (or already sent) to the session. */
static int
relay_from_client(struct login *l, int fd)
{
	char buf[16384];
	size_t got;

	if (io_read_some(&l->io, buf, sizeof(buf), &got) != IO_OK)
		return -1;
	return write_all(fd, buf, got);
}

void
login_relay(struct login *l, int fd, const char *preamble)
{
	size_t plen = strlen(preamble);

	alarm(0);	/* logged in: the pre-auth lifetime no longer applies */
	if (write_all(fd, preamble, plen) < 0 || write_all(fd, "\n", 1) < 0)
		_exit(0);
	/* The session enforces the idle timeout after login; this one only
	 * ends a relay stuck on a client that sent half a TLS record. */
	io_set_timeouts(&l->io, (int)l->proto->idle_timeout(l->cfg) + 60,
	    (int)l->cfg->output_timeout);
	for (;;) {
		struct pollfd pfd[2] = { { l->io.fd_in, POLLIN, 0 },
		    { fd, POLLIN, 0 } };
		int timeout = io_pending(&l->io) ? 0 : -1;

		if (poll(pfd, 2, timeout) < 0 && errno != EINTR)
			break;
		if ((pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    relay_from_session(l, fd) < 0)
			break;
		if ((io_pending(&l->io) || (pfd[0].revents &
		    (POLLIN | POLLHUP | POLLERR))) && relay_from_client(l, fd) < 0)
			break;
	}
	close(fd);
	io_close(&l->io);
	_exit(0);
}
