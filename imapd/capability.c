/*
 * capability.c - what imapd announces in CAPABILITY, in the greeting's
 * [CAPABILITY] code and after login (RFC 3501 6.1.1, 7.2.1).
 *
 * Before login the list says how to log in: STARTTLS while TLS can still
 * be started (RFC 3501 6.2.1), AUTH=<mech> for each enabled SASL
 * mechanism when cleartext credentials are welcome, else LOGINDISABLED
 * (RFC 3501 6.2.3, RFC 2595 3.2).  After login it lists the extensions
 * the session implements; each name is spelled as its RFC registers it.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "imap.h"

/* Pre-auth: IMAP4rev1, LITERAL+ (RFC 7888), SASL-IR (RFC 4959), ID (RFC
 * 2971), ENABLE (RFC 5161), IDLE (RFC 2177).  IDLE and ENABLE are only
 * usable after login, but clients decide early whether to rely on them,
 * as Dovecot's greeting lets them. */
#define CAPS_PREAUTH "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE"

/* After login: NAMESPACE (RFC 2342), UIDPLUS (RFC 4315), MOVE (RFC
 * 6851), UNSELECT (RFC 3691), CHILDREN (RFC 3348), SPECIAL-USE and
 * CREATE-SPECIAL-USE (RFC 6154), LIST-EXTENDED (RFC 5258), LIST-STATUS
 * (RFC 5819), ESEARCH (RFC 4731), SEARCHRES (RFC 5182), MULTIAPPEND (RFC
 * 3502), STATUS=SIZE (RFC 8438), APPENDLIMIT=n (RFC 7889 2: the limit
 * for every mailbox). */
#define CAPS_AUTH "IMAP4rev1 LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS MOVE " \
	"UNSELECT CHILDREN SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED " \
	"LIST-STATUS ESEARCH SEARCHRES MULTIAPPEND STATUS=SIZE"

/* Append s to out (always NUL-terminated; a list that does not fit is
 * cut, which the callers' buffers make impossible). */
static void
add(char *out, size_t outlen, const char *s)
{
	size_t used = strlen(out);

	if (used < outlen)
		snprintf(out + used, outlen - used, "%s", s);
}

void
imap_capability(const struct config *cfg, enum imap_cap_state state,
    int starttls, int plaintext, char *out, size_t outlen)
{
	char limit[32];

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (state == CAP_AUTH) {
		add(out, outlen, CAPS_AUTH);
		snprintf(limit, sizeof(limit), " APPENDLIMIT=%u",
		    cfg->imap_append_limit);
		add(out, outlen, limit);
		return;
	}
	add(out, outlen, CAPS_PREAUTH);
	if (starttls && state == CAP_PREAUTH_PLAIN)
		add(out, outlen, " STARTTLS");
	if (!plaintext) {
		add(out, outlen, " LOGINDISABLED");
		return;
	}
	if (config_mech_enabled(cfg, "plain"))
		add(out, outlen, " AUTH=PLAIN");
	if (config_mech_enabled(cfg, "login"))
		add(out, outlen, " AUTH=LOGIN");
}
