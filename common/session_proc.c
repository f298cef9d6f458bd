/*
 * session_proc.c - the mail-session process: the user's own process.
 *
 * The monitor forks it as root after PAM said yes; it becomes the user
 * (with the user's groups, plus mail_privileged_group as saved gid when
 * configured), changes to the home directory and runs the protocol's
 * authenticated state.  Its "client" is the relay socket to the login
 * process; it logs through the monitor.
 */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>

#include "chan.h"
#include "monitor.h"
#include "privdrop.h"

void
session_run(const struct proto *p, const struct config *cfg,
    const struct passwd *pw, int fd_in, int fd_out, const char *rip,
    int preauth)
{
	struct session s;

	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	s.proto = p;
	s.user = pw->pw_name;
	s.home = pw->pw_dir;
	s.uid = pw->pw_uid;
	s.gid = pw->pw_gid;
	s.rip = rip;
	s.preauth = preauth;
	io_init(&s.io, fd_in, fd_out);
	p->session_main(&s);
	io_close(&s.io);
}

void
session_child(const struct proto *p, const struct config *cfg,
    const struct passwd *pw, gid_t priv_gid, int client_fd, int log_fd,
    const char *rip)
{
	log_set_forward(log_fd, chan_log_forward);
	(void)prctl(PR_SET_NAME, "session", 0, 0, 0);
	privdrop(pw->pw_name, pw->pw_uid, pw->pw_gid, 1, priv_gid);
	if (chdir(pw->pw_dir) < 0)
		log_msg(LOG_WARNING, "home directory %s: %m", pw->pw_dir);
	setenv("HOME", pw->pw_dir, 1);
	setenv("USER", pw->pw_name, 1);
	session_run(p, cfg, pw, client_fd, client_fd, rip, 0);
	_exit(0);
}

int
session_preamble(struct session *s, char *out, size_t outlen)
{
	size_t len;

	if (s->preauth) {
		*out = '\0';
		return 0;
	}
	if (io_readline(&s->io, out, outlen - 1, &len) != IO_OK ||
	    memchr(out, '\0', len) != NULL)
		return -1;
	return 0;
}
