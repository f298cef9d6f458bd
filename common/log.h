/*
 * log.h - one logging call for every process.
 *
 * The monitor (root) writes to the journal (with USER= and REMOTE_ADDR=
 * fields), to syslog, or to the file named by log_path.  The login and
 * mail-session processes cannot reach any of these safely (the login
 * process is chrooted; the session must not hold a root-owned log file),
 * so they forward each record to the monitor over their channel with
 * log_set_forward(); the monitor sanitizes and writes it.
 *
 * Login success and failure lines have a fixed, documented format that
 * the shipped fail2ban filter matches (see man/postern.conf.5):
 *   login: user=<NAME> rip=IP lip=IP mech=MECH tls=yes|no
 *   login failed: user=<NAME> rip=IP lip=IP mech=MECH tls=yes|no reason=WORD
 * NAME is escaped: bytes outside printable ASCII and '<', '>', '\\' become
 * \xHH, so a user name can never end the field or forge another line;
 * past LOG_USER_MAX escaped characters it is cut and ends in "...".
 */
#ifndef POSTERN_LOG_H
#define POSTERN_LOG_H

#include <syslog.h>
#include <stddef.h>
#include "util.h"

/* Largest message text; longer messages are cut and marked with "...". */
#define LOG_MAX_TEXT 1024
/* Longest escaped user name in a login line (then cut and marked "..."):
 * leaves room for every other field of the line within LOG_MAX_TEXT. */
#define LOG_USER_MAX 256

/*
 * ident: "pop3d" or "imapd".  path: config log_path ("" = journal when
 * available, else syslog; "syslog"; "/dev/stderr"; or a file path).
 * Returns -1 if the file cannot be opened.
 */
int log_open(const char *ident, const char *path);
void log_set_user(const char *user);
void log_set_rhost(const char *rip);

/* In a child process: send records to the monitor over fd (log_forward). */
void log_set_forward(int fd, void (*fn)(int fd, int prio, const char *text));

void log_msg(int prio, const char *fmt, ...) PRINTF(2, 3);
void NORETURN fatal(const char *fmt, ...) PRINTF(1, 2);

/* Write a record received from a child (text already bounded). */
void log_write(int prio, const char *text);

/* Escape s into out (for user names in log lines), always NUL-terminated;
 * returns 1 when it had to stop early because out was full. */
int log_escape(const char *s, size_t len, char *out, size_t outlen);

#endif
