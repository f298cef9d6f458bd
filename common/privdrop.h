/*
 * privdrop.h - give up root, in one function, in one order (STYLE.md 9):
 * setgroups, setresgid, setresuid, prove root cannot come back,
 * PR_SET_NO_NEW_PRIVS.
 */
#ifndef POSTERN_PRIVDROP_H
#define POSTERN_PRIVDROP_H

#include <sys/types.h>

/*
 * Become uid/gid.  with_groups: also the user's supplementary groups
 * (initgroups); else none.  priv_gid: the mail_privileged_group kept as
 * the saved gid so privgroup_begin() can switch to it for dotlocking in
 * /var/mail, or (gid_t)-1.  Any failure is fatal: the process exits.
 */
void privdrop(const char *user, uid_t uid, gid_t gid, int with_groups,
    gid_t priv_gid);

/* Switch the effective gid to mail_privileged_group and back (no-ops
 * when none is configured). */
void privgroup_begin(void);
void privgroup_end(void);

#endif
