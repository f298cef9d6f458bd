/*
 * monitor.h - the root process of a connection (see proc.h, DESIGN.md).
 */
#ifndef POSTERN_MONITOR_H
#define POSTERN_MONITOR_H

#include <pwd.h>
#include "addr.h"
#include "proc.h"

/* Run the connection on fds 0/1; returns the exit status. */
int monitor_main(const struct proto *p, const struct config *cfg,
    int implicit_tls);

/* The children, started by the monitor; neither returns. */
void NORETURN login_child(const struct proto *p, const struct config *cfg,
    const struct passwd *login_pw, int chan, const struct conninfo *ci,
    int implicit_tls);
/* Run the authenticated protocol for pw on fds in/out (already the user). */
void session_run(const struct proto *p, const struct config *cfg,
    const struct passwd *pw, int fd_in, int fd_out, const char *rip,
    int preauth);
void NORETURN session_child(const struct proto *p, const struct config *cfg,
    const struct passwd *pw, gid_t priv_gid, int client_fd, int log_fd,
    const char *rip);

#endif
