/*
 * privdrop.c - see privdrop.h.  Runs in the monitor's children right after
 * fork, while still root.  Every step is checked and a failure is fatal:
 * a process that could not drop privileges must not go on.
 */
#include <grp.h>
#include <unistd.h>
#include <sys/prctl.h>

#include "log.h"
#include "privdrop.h"

static gid_t user_gid = (gid_t)-1, extra_gid = (gid_t)-1;

/* After the drop: no id is 0 or anything but ours, and setuid(0) fails. */
static void
verify(uid_t uid, gid_t gid, gid_t priv_gid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) < 0 || ru != uid || eu != uid || su != uid)
		fatal("privdrop: uids not all %u", (unsigned)uid);
	if (getresgid(&rg, &eg, &sg) < 0 || rg != gid || eg != gid ||
	    sg != (priv_gid != (gid_t)-1 ? priv_gid : gid))
		fatal("privdrop: gids not as expected for %u", (unsigned)gid);
	if (uid != 0 && (setuid(0) != -1 || seteuid(0) != -1))
		fatal("privdrop: root could be regained");
}

void
privdrop(const char *user, uid_t uid, gid_t gid, int with_groups,
    gid_t priv_gid)
{
	if (uid == 0)
		fatal("privdrop: refusing to run as root");
	if (with_groups ? initgroups(user, gid) < 0 : setgroups(0, NULL) < 0)
		fatal("privdrop: setting groups for %s failed: %m", user);
	if (setresgid(gid, gid, priv_gid != (gid_t)-1 ? priv_gid : gid) < 0)
		fatal("privdrop: setresgid(%u) failed: %m", (unsigned)gid);
	if (setresuid(uid, uid, uid) < 0)
		fatal("privdrop: setresuid(%u) failed: %m", (unsigned)uid);
	verify(uid, gid, priv_gid);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fatal("privdrop: PR_SET_NO_NEW_PRIVS failed: %m");
	/* setuid re-enables dumping on some configurations */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	user_gid = gid;
	extra_gid = priv_gid;
}

void
privgroup_begin(void)
{
	if (extra_gid != (gid_t)-1 && setresgid((gid_t)-1, extra_gid,
	    (gid_t)-1) < 0)
		log_msg(LOG_WARNING, "cannot switch to mail_privileged_group: %m");
}

void
privgroup_end(void)
{
	if (extra_gid != (gid_t)-1 && setresgid((gid_t)-1, user_gid,
	    (gid_t)-1) < 0)
		fatal("cannot leave mail_privileged_group: %m");
}
