/*
 * pop3d - POP3 server (RFC 1939, 2449, 2595, 5034), one process tree per
 * connection.
 *
 * Contract: started as root with the client connection on fds 0 and 1
 * (systemd Accept=yes with StandardInput=socket, xinetd/inetd wait=no,
 * or any pair of fds), or as an ordinary user with --preauth.  Nothing is
 * written to fd 2 when it is a socket.  See daemon.c for the options and
 * exit codes, proc.h for the processes, man pop3d(8) for the whole story.
 */
#include "pop3.h"

static unsigned
idle_timeout(const struct config *cfg)
{
	return cfg->pop3_idle_timeout;
}

const struct proto pop3_proto = {
	.name = "pop3",
	.ident = "pop3d",
	.login_main = pop3_login_main,
	.session_main = pop3_session_main,
	.idle_timeout = idle_timeout,
};

int
main(int argc, char **argv)
{
	return daemon_main(&pop3_proto, argc, argv);
}
