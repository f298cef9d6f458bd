/*
 * monitor.c - the root process of one connection.
 *
 * It never reads the network: right after starting the login process it
 * points fds 0 and 1 at /dev/null.  What it reads are chan.h messages
 * from its two children: AUTH requests (at most auth_max_attempts, then
 * nothing more) and LOG records.  For a successful AUTH it starts the
 * mail session as the user and hands the login process its end of the
 * relay.  It keeps the PAM handle until the connection ends, so a PAM
 * session (pam_session = yes) is closed when the client leaves.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "chan.h"
#include "monitor.h"
#include "pam_auth.h"

struct monitor {
	const struct config *cfg;
	const struct proto *proto;
	struct conninfo ci;
	int implicit_tls;
	int login_chan, session_log;
	pid_t login_pid, session_pid;
	unsigned failures;
	int done_auth;		/* logged in, or out of attempts */
	struct pam_auth pam;
};

static const char *const mech_names[] = { "", "PLAIN", "LOGIN", "USER" };

static void
null_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0)
		fatal("cannot redirect the monitor's stdio: %m");
	if (fd > 1)
		close(fd);
}

static pid_t
start_login(struct monitor *m, const struct passwd *lpw)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		fatal("socketpair: %m");
	if ((pid = fork()) < 0)
		fatal("fork: %m");
	if (pid == 0) {
		close(sv[0]);
		login_child(m->proto, m->cfg, lpw, sv[1], &m->ci,
		    m->implicit_tls);
	}
	close(sv[1]);
	m->login_chan = sv[0];
	null_stdio();
	return pid;
}

/* The shape every credential must have before PAM sees it (SECURITY.md
 * G3, CVE-2008-1218): a non-empty user without control bytes, a password
 * without NUL, and no authorization identity other than the user. */
static const char *
check_shape(const struct chan_auth *a)
{
	if (a->ulen == 0 || memchr(a->user, '\0', a->ulen))
		return "bad-user";
	for (size_t i = 0; i < a->ulen; i++)
		if ((unsigned char)a->user[i] < 0x20 || a->user[i] == 0x7f)
			return "bad-user";
	if (memchr(a->pass, '\0', a->plen))
		return "bad-password";
	if (a->azlen && (a->azlen != a->ulen ||
	    memcmp(a->authzid, a->user, a->ulen) != 0))
		return "authzid";
	return NULL;
}

/* The account PAM accepted must be a mail user we may become. */
static const char *
check_account(const struct monitor *m, const struct passwd *pw)
{
	if (pw == NULL)
		return "no-passwd-entry";
	if (pw->pw_uid == 0 || pw->pw_uid < m->cfg->first_valid_uid ||
	    (m->cfg->last_valid_uid && pw->pw_uid > m->cfg->last_valid_uid))
		return "uid-not-allowed";
	return NULL;
}

static gid_t
privileged_gid(const struct config *cfg)
{
	struct group *gr;

	if (*cfg->mail_privileged_group == '\0')
		return (gid_t)-1;
	if ((gr = getgrnam(cfg->mail_privileged_group)) == NULL)
		fatal("mail_privileged_group %s: no such group",
		    cfg->mail_privileged_group);
	return gr->gr_gid;
}

/* Start the mail session; returns the login's end of the relay. */
static int
start_session(struct monitor *m, const struct passwd *pw)
{
	int relay[2], logp[2];
	gid_t priv = privileged_gid(m->cfg);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, relay) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, logp) < 0)
		fatal("socketpair: %m");
	if ((m->session_pid = fork()) < 0)
		fatal("fork: %m");
	if (m->session_pid == 0) {
		close(m->login_chan);
		close(relay[0]);
		close(logp[0]);
		session_child(m->proto, m->cfg, pw, priv, relay[1], logp[1],
		    m->ci.rip);
	}
	close(relay[1]);
	close(logp[1]);
	m->session_log = logp[0];
	return relay[0];
}

static void
log_auth(const struct monitor *m, const struct chan_auth *a,
    const char *reason)
{
	/* Escaped, a 255-byte name can take 1020 characters; cut it so the
	 * fields after it always fit in one record (LOG_MAX_TEXT) and the
	 * fail2ban filter sees rip= for every failure. */
	char user[LOG_USER_MAX + 4];

	if (log_escape(a->user, a->ulen, user, LOG_USER_MAX + 1))
		strcat(user, "...");
	if (reason == NULL)
		log_msg(LOG_INFO, "login: user=<%s> rip=%s lip=%s mech=%s tls=%s",
		    user, m->ci.rip, m->ci.lip, mech_names[a->mech],
		    a->tls ? "yes" : "no");
	else
		log_msg(LOG_NOTICE, "login failed: user=<%s> rip=%s lip=%s "
		    "mech=%s tls=%s reason=%s", user, m->ci.rip, m->ci.lip,
		    mech_names[a->mech], a->tls ? "yes" : "no", reason);
}

/* Credentials → AUTH_OK with the account in m->pam, or a failure. */
static enum auth_result
authenticate(struct monitor *m, const struct chan_auth *a,
    struct passwd **pw, const char **reason)
{
	enum auth_result r;

	if ((*reason = check_shape(a)) != NULL)
		return AUTH_FAIL;
	r = pam_auth_check(&m->pam, m->cfg, m->proto->name, a->user, a->pass,
	    m->ci.rip);
	if (r != AUTH_OK) {
		*reason = m->pam.reason;
		return r;
	}
	*pw = getpwnam(m->pam.account);
	/* a refused account is answered like a wrong password */
	if ((*reason = check_account(m, *pw)) != NULL) {
		pam_auth_end(&m->pam);
		return AUTH_FAIL;
	}
	if (m->cfg->pam_session && pam_auth_open_session(&m->pam) < 0) {
		*reason = "pam-session";
		pam_auth_end(&m->pam);
		return AUTH_TEMPFAIL;
	}
	/* Without a PAM session the handle is done with: ending it now wipes
	 * PAM's copy of the password before the session process is forked
	 * from us (applications cannot clear PAM_AUTHTOK themselves). */
	if (!m->cfg->pam_session)
		pam_auth_end(&m->pam);
	return AUTH_OK;
}

static void
sleep_until(int64_t deadline)
{
	int64_t left;

	while ((left = deadline - now_ms()) > 0) {
		struct timespec ts = { left / 1000, (left % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
}

static void
handle_auth(struct monitor *m, struct chan_auth *a)
{
	/* The failure delay runs from the request, so the answer for a
	 * wrong password takes as long as PAM's slowest path (G12).  +1:
	 * now_ms() truncates, and the delay must be the full one. */
	int64_t deadline = now_ms() + 1 +
	    (int64_t)m->cfg->auth_failure_delay * 1000;
	struct passwd *pw = NULL;
	const char *reason;
	enum auth_result r;

	if (m->done_auth)
		fatal("login process sent AUTH after authentication ended");
	r = authenticate(m, a, &pw, &reason);
	/* before anything is forked: the session must not inherit it */
	explicit_bzero(a->pass, sizeof(a->pass));
	if (r == AUTH_OK) {
		int relay = start_session(m, pw);

		log_set_user(m->pam.account);
		log_auth(m, a, NULL);
		m->done_auth = 1;
		if (chan_send_reply(m->login_chan, AUTH_OK, relay) < 0)
			log_msg(LOG_INFO, "login process went away");
		close(relay);
		return;
	}
	log_auth(m, a, reason);
	if (++m->failures >= m->cfg->auth_max_attempts) {
		r = AUTH_TOOMANY;
		m->done_auth = 1;
	}
	sleep_until(deadline);
	(void)chan_send_reply(m->login_chan, (uint8_t)r, -1);
}

/* Handle one message from fd; returns 0 when the child closed it. */
static int
handle_child(struct monitor *m, int fd)
{
	struct chan_msg msg;
	int r = chan_recv(fd, &msg);

	if (r == 0)
		return 0;
	if (r < 0)
		fatal("malformed message from a child process; closing");
	if (msg.type == CHAN_LOG)
		log_write(msg.u.log.prio, msg.u.log.text);
	else if (msg.type == CHAN_AUTH && fd == m->login_chan)
		handle_auth(m, &msg.u.auth);
	else
		fatal("unexpected message type %u from a child", msg.type);
	return 1;
}

static void
serve(struct monitor *m)
{
	while (m->login_chan >= 0 || m->session_log >= 0) {
		struct pollfd pfd[2] = {
			{ m->login_chan, POLLIN, 0 }, { m->session_log, POLLIN, 0 }
		};

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fatal("poll: %m");
		}
		for (int i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || !(pfd[i].revents &
			    (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (handle_child(m, pfd[i].fd) == 0) {
				close(pfd[i].fd);
				if (i == 0)
					m->login_chan = -1;
				else
					m->session_log = -1;
			}
		}
	}
}

int
monitor_main(const struct proto *p, const struct config *cfg,
    int implicit_tls)
{
	struct monitor m = { .cfg = cfg, .proto = p, .implicit_tls = implicit_tls,
	    .login_chan = -1, .session_log = -1, .session_pid = -1 };
	struct passwd *lpw;
	int status = 0;

	conn_addresses(0, &m.ci);
	log_set_rhost(m.ci.rip);
	if ((lpw = getpwnam(cfg->default_login_user)) == NULL)
		fatal("default_login_user %s: no such user",
		    cfg->default_login_user);
	if (lpw->pw_uid == 0)
		fatal("default_login_user %s must not be root",
		    cfg->default_login_user);
	m.login_pid = start_login(&m, lpw);
	serve(&m);
	/* Both channels are closed: the children are exiting. */
	waitpid(m.login_pid, NULL, 0);
	if (m.session_pid > 0 && waitpid(m.session_pid, &status, 0) > 0 &&
	    WIFSIGNALED(status))
		log_msg(LOG_ERR, "mail session killed by signal %d",
		    WTERMSIG(status));
	pam_auth_end(&m.pam);
	return 0;
}
