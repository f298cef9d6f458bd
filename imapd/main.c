/*
 * imapd - IMAP4rev1 server (RFC 3501 and the extensions capability.c
 * lists), one process tree per connection.
 *
 * Contract: started as root with the client connection on fds 0 and 1
 * (systemd Accept=yes with StandardInput=socket, xinetd/inetd wait=no,
 * or any pair of fds), or as an ordinary user with --preauth (a PREAUTH
 * greeting, for "ssh host imapd --preauth" and mutt's tunnel).  See
 * daemon.c for the options and exit codes, proc.h for the processes,
 * man imapd(8) for the whole story.
 */
#include "imap.h"

static unsigned
idle_timeout(const struct config *cfg)
{
	return cfg->imap_idle_timeout;
}

const struct proto imap_proto = {
	.name = "imap",
	.ident = "imapd",
	.login_main = imap_login_main,
	.session_main = imap_session_main,
	.idle_timeout = idle_timeout,
};

int
main(int argc, char **argv)
{
	return daemon_main(&imap_proto, argc, argv);
}
