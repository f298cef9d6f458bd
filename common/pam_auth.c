/*
 * pam_auth.c - see pam_auth.h.  Runs as root in the monitor.  The
 * credentials come from the login process, already bounded and checked
 * by chan.c and monitor.c; PAM sees them through the conversation only.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pam_auth.h"

struct conv_data {
	const char *user, *pass;
};

static int conv(int, const struct pam_message **, struct pam_response **,
    void *);
static const struct pam_conv pc_none = { conv, NULL };

/* Answer prompts: echo-on gets the user name, echo-off the password;
 * informational messages are dropped (a POP3/IMAP client cannot see them). */
static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *appdata)
{
	const struct conv_data *cd = appdata;
	struct pam_response *r;

	if (n <= 0 || n > PAM_MAX_NUM_MSG || cd == NULL)
		return PAM_CONV_ERR;
	r = calloc((size_t)n, sizeof(*r));
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		const char *ans = NULL;

		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF)
			ans = cd->pass;
		else if (msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			ans = cd->user;
		if (ans != NULL && (r[i].resp = strdup(ans)) == NULL) {
			for (int j = 0; j < i; j++) {
				if (r[j].resp)
					explicit_bzero(r[j].resp, strlen(r[j].resp));
				free(r[j].resp);
			}
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* Map a PAM error to our answer and a log word. */
static enum auth_result
classify(struct pam_auth *pa, int rc)
{
	switch (rc) {
	case PAM_AUTH_ERR:
	case PAM_USER_UNKNOWN:
	case PAM_MAXTRIES:
		pa->reason = "password";
		return AUTH_FAIL;
	case PAM_ACCT_EXPIRED:
	case PAM_NEW_AUTHTOK_REQD:
	case PAM_PERM_DENIED:
		pa->reason = "account";
		return AUTH_FAIL;
	default:
		pa->reason = "pam-error";
		return AUTH_TEMPFAIL;
	}
}

enum auth_result
pam_auth_check(struct pam_auth *pa, const struct config *cfg,
    const char *tty, const char *user, const char *pass, const char *rip)
{
	struct conv_data cd = { user, pass };
	struct pam_conv pc = { conv, &cd };
	const void *item = NULL;
	int rc;

	memset(pa, 0, sizeof(*pa));
	rc = pam_start(cfg->pam_service, user, &pc, &pa->h);
	if (rc != PAM_SUCCESS) {
		log_msg(LOG_ERR, "pam_start(%s) failed: %s", cfg->pam_service,
		    pam_strerror(NULL, rc));
		pa->h = NULL;
		pa->reason = "pam-error";
		return AUTH_TEMPFAIL;
	}
	(void)pam_set_item(pa->h, PAM_RHOST, rip);
	(void)pam_set_item(pa->h, PAM_TTY, tty);
	rc = pam_authenticate(pa->h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(pa->h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS && (pam_get_item(pa->h, PAM_USER, &item) !=
	    PAM_SUCCESS || item == NULL || strlen(item) > AUTH_USER_MAX))
		rc = PAM_SYSTEM_ERR;
	if (rc != PAM_SUCCESS) {
		enum auth_result ar = classify(pa, rc);
		pam_end(pa->h, rc | PAM_DATA_SILENT);
		pa->h = NULL;
		return ar;
	}
	strcpy(pa->account, item);
	/* PAM keeps its own copy of the conversation, whose appdata points
	 * at this stack frame: replace it before returning (session modules
	 * may still converse, and then get PAM_CONV_ERR). */
	(void)pam_set_item(pa->h, PAM_CONV, &pc_none);
	return AUTH_OK;
}

int
pam_auth_open_session(struct pam_auth *pa)
{
	int rc = pam_setcred(pa->h, PAM_ESTABLISH_CRED | PAM_SILENT);

	if (rc == PAM_SUCCESS)
		rc = pam_open_session(pa->h, PAM_SILENT);
	if (rc != PAM_SUCCESS) {
		log_msg(LOG_ERR, "PAM session for %s failed: %s", pa->account,
		    pam_strerror(pa->h, rc));
		return -1;
	}
	pa->session_open = 1;
	return 0;
}

void
pam_auth_end(struct pam_auth *pa)
{
	if (pa->h == NULL)
		return;
	if (pa->session_open) {
		(void)pam_close_session(pa->h, PAM_SILENT);
		(void)pam_setcred(pa->h, PAM_DELETE_CRED | PAM_SILENT);
	}
	pam_end(pa->h, PAM_SUCCESS);
	pa->h = NULL;
}
