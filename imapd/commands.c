/*
 * commands.c - the commands of the authenticated and selected states
 * (RFC 3501 6.3, 6.4 and the extensions capability.c announces) and
 * where each may be given.  The not-authenticated state is login.c's.
 */
#include <strings.h>

#include "imap.h"

static const struct imap_command commands[] = {
	{ "CAPABILITY",	cmd_capability,	CMD_AUTH, 0 },
	{ "NOOP",	cmd_noop,	CMD_AUTH, 0 },
	{ "LOGOUT",	cmd_logout,	CMD_AUTH, 0 },
	{ "ID",		cmd_id,		CMD_AUTH, 0 },
	{ "ENABLE",	cmd_enable,	CMD_AUTH, 0 },
	{ "NAMESPACE",	cmd_namespace,	CMD_AUTH, 0 },
	{ "IDLE",	cmd_idle,	CMD_AUTH, 0 },
	{ "SELECT",	cmd_select,	CMD_AUTH, 0 },
	{ "EXAMINE",	cmd_select,	CMD_AUTH, 0 },
	{ "CREATE",	cmd_create,	CMD_AUTH, 0 },
	{ "DELETE",	cmd_delete,	CMD_AUTH, 0 },
	{ "RENAME",	cmd_rename,	CMD_AUTH, 0 },
	{ "SUBSCRIBE",	cmd_subscribe,	CMD_AUTH, 0 },
	{ "UNSUBSCRIBE", cmd_subscribe,	CMD_AUTH, 0 },
	{ "LIST",	cmd_list,	CMD_AUTH, 0 },
	{ "LSUB",	cmd_list,	CMD_AUTH, 0 },
	{ "STATUS",	cmd_status,	CMD_AUTH, 0 },
	{ "APPEND",	cmd_append,	CMD_AUTH | CMD_STREAM, 0 },
	{ "CHECK",	cmd_check,	CMD_SELECTED, 0 },
	{ "CLOSE",	cmd_close,	CMD_SELECTED, 0 },
	{ "UNSELECT",	cmd_unselect,	CMD_SELECTED, 0 },
	{ "EXPUNGE",	cmd_expunge,	CMD_SELECTED, 1 },
	{ "SEARCH",	cmd_search,	CMD_SELECTED | CMD_KEEP_EXPUNGED, 1 },
	{ "FETCH",	cmd_fetch,	CMD_SELECTED | CMD_KEEP_EXPUNGED, 1 },
	{ "STORE",	cmd_store,	CMD_SELECTED | CMD_KEEP_EXPUNGED, 1 },
	{ "COPY",	cmd_copy,	CMD_SELECTED, 1 },
	{ "MOVE",	cmd_copy,	CMD_SELECTED, 1 },
};

const struct imap_command *
imap_command_find(const char *name, int uid)
{
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		if (strcasecmp(commands[i].name, name) == 0)
			return (!uid || commands[i].uid_ok) ? &commands[i] : NULL;
	return NULL;
}
