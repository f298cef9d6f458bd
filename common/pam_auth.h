/*
 * pam_auth.h - PAM in the monitor: authenticate, check the account, and
 * (when pam_session = yes) hold a session open for the connection.
 */
#ifndef POSTERN_PAM_AUTH_H
#define POSTERN_PAM_AUTH_H

#include <stddef.h>
#include <security/pam_appl.h>
#include "config.h"
#include "proc.h"

struct pam_auth {
	pam_handle_t *h;
	int session_open;
	char account[AUTH_USER_MAX + 1];	/* PAM_USER after success */
	const char *reason;			/* short word for the log line */
};

/*
 * Run pam_authenticate and pam_acct_mgmt for user/pass with PAM_RHOST =
 * rip and PAM_TTY = tty.  On AUTH_OK the handle stays in pa for the
 * session calls; otherwise it has been ended.
 */
enum auth_result pam_auth_check(struct pam_auth *pa, const struct config *cfg,
    const char *tty, const char *user, const char *pass, const char *rip);

/* pam_setcred + pam_open_session; -1 on failure (then login must fail). */
int pam_auth_open_session(struct pam_auth *pa);

/* Close the session (if open) and end the handle. */
void pam_auth_end(struct pam_auth *pa);

#endif
