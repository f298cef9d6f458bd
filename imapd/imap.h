/*
 * imap.h - imapd's pieces and what they share.
 *
 *   main.c        the struct proto that daemon.c runs
 *   parse.c       the command parser and reader (parse.h)
 *   seqset.c      sequence sets; datetime.c: dates (parse.h)
 *   resp.c        writing strings, flags and mailbox names (this file)
 *   capability.c  the CAPABILITY list for each state
 *   login.c       the not-authenticated state, in the login process
 *   session.c     the session loop: reading and dispatching commands,
 *                 untagged updates (RFC 3501 7, RFC 2180), IDLE
 *   commands.c    the table of commands and the states they are valid in
 *   misc.c        NOOP, CHECK, LOGOUT, CAPABILITY, ID, ENABLE, NAMESPACE
 *   msgset.c      sequence set argument -> messages of the view
 *   select.c      SELECT, EXAMINE, CLOSE, UNSELECT, EXPUNGE
 *   flagstore.c   STORE
 *   copy.c        COPY, MOVE
 *   append.c      APPEND, MULTIAPPEND
 *   list.c        LIST, LSUB (LIST-EXTENDED, LIST-STATUS, SPECIAL-USE)
 *   mailbox.c     CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS
 *   specialuse.c  special-use folders: names, attributes, auto-creation
 *   fetch.c       FETCH: attributes, FLAGS/UID/sizes/dates
 *   fetch_body.c  BODY[section]<partial>, RFC822*, BINARY is not offered
 *   fetch_struct.c ENVELOPE, BODY, BODYSTRUCTURE
 *   search*.c     SEARCH (ESEARCH, SEARCHRES, CHARSET)
 *
 * The session runs as the mail user; everything the client sends is
 * untrusted.  Handlers reply through struct imap_cmd: they write
 * untagged responses to im->io and return cmd_ok/cmd_no/cmd_bad; the
 * loop then sends the untagged updates that are due and the tagged line.
 */
#ifndef POSTERN_IMAP_H
#define POSTERN_IMAP_H

#include <stdarg.h>
#include <stdint.h>

#include "folders.h"
#include "parse.h"
#include "proc.h"
#include "store.h"

extern const struct proto imap_proto;

void imap_login_main(struct login *l);
void imap_session_main(struct session *s);

/* Bad commands before "* BYE": SECURITY.md G6 before login (in all),
 * Dovecot's 20 in a row after it. */
#define IMAP_LOGIN_BAD_MAX 3
#define IMAP_SESSION_BAD_MAX 20

/* ---- capabilities (capability.c) ---- */

enum imap_cap_state {
	CAP_PREAUTH_PLAIN,	/* not authenticated, no TLS yet */
	CAP_PREAUTH_TLS,	/* not authenticated, TLS active */
	CAP_AUTH,		/* authenticated */
};

/*
 * The capability list without "CAPABILITY" (e.g. "IMAP4rev1 LITERAL+
 * ...") into out.  For the pre-auth states: starttls says whether
 * STARTTLS can be offered, plaintext whether LOGIN and AUTH= may be
 * used (else LOGINDISABLED).  cfg gives the SASL mechanisms
 * (auth_mechanisms) and APPENDLIMIT.
 */
void imap_capability(const struct config *cfg, enum imap_cap_state state,
    int starttls, int plaintext, char *out, size_t outlen);

/* ---- the session ---- */

/* ENABLE'd extensions (RFC 5161). */
#define IMAP_ENABLED_UTF8 0x1	/* not offered yet */

struct imap {
	struct session *s;
	const struct config *cfg;
	struct io *io;
	struct folders *folders;
	char sep;			/* hierarchy separator, '/' or '.' */

	/* selected state: sel != NULL */
	struct store *sel;
	char *sel_name;			/* wire name, "INBOX" normalised */
	int sel_rdonly;			/* EXAMINE, or read-only folder */
	unsigned known_keywords;	/* keywords announced in FLAGS */
	unsigned known_recent;		/* last RECENT count sent */
	dev_t sel_dev;			/* the file or directory the name */
	ino_t sel_ino;			/* led to at SELECT (0: unknown) */

	/* SEARCHRES (RFC 5182): the saved result, as UIDs, ascending;
	 * emptied when a folder is selected or closed. */
	uint32_t *saved;
	size_t nsaved;

	unsigned enabled;		/* IMAP_ENABLED_* */
	unsigned bad;			/* BADs in a row */
	int logout;			/* LOGOUT or BYE: leave the loop */
};

/* ---- commands ---- */

/* Where a command may be given (RFC 3501 3).  Pre-auth commands are
 * handled in login.c. */
#define CMD_AUTH 0x1		/* authenticated state (and selected) */
#define CMD_SELECTED 0x2	/* only in the selected state */
#define CMD_STREAM 0x4		/* reads its own arguments (APPEND) */
#define CMD_KEEP_EXPUNGED 0x8	/* FETCH, STORE, SEARCH without UID: no
				 * EXPUNGE until after the next command
				 * (RFC 3501 7.4.1) */

enum cmd_result { CMD_OK, CMD_NO, CMD_BAD, CMD_CLOSE };

#define IMAP_RESP_MAX 1024

struct imap_cmd {
	char tag[IMAP_TAG_MAX + 1];
	char name[IMAP_CMDNAME_MAX + 1];	/* uppercased; after UID: the
						 * subcommand */
	int uid;				/* UID FETCH/STORE/... */
	const struct imap_arg *args;		/* after the name */
	struct imap_parser *parser;		/* for CMD_STREAM handlers */
	char resp[IMAP_RESP_MAX];		/* text after OK/NO/BAD */
	/* Set by a handler that must not have expunges sent before its
	 * tagged reply even with UID (unused by RFC 3501 commands). */
	int keep_expunged;
	/* Set by handlers whose reply already reports the folder's state
	 * (SELECT): the loop skips the untagged updates once. */
	int no_sync;
};

typedef enum cmd_result (*imap_cmd_fn)(struct imap *im, struct imap_cmd *c);

struct imap_command {
	const char *name;
	imap_cmd_fn fn;
	unsigned flags;		/* CMD_* */
	int uid_ok;		/* valid after "UID" */
};

/* The table (commands.c); lookup by name, ASCII case-insensitive. */
const struct imap_command *imap_command_find(const char *name, int uid);

/* Fill c->resp (printf-style) and return the result.  The text may
 * start with a response code: cmd_no(c, "[TRYCREATE] No such mailbox"). */
enum cmd_result cmd_ok(struct imap_cmd *c, const char *fmt, ...) PRINTF(2, 3);
enum cmd_result cmd_no(struct imap_cmd *c, const char *fmt, ...) PRINTF(2, 3);
enum cmd_result cmd_bad(struct imap_cmd *c, const char *fmt, ...) PRINTF(2, 3);
/* NO with the RFC 5530 code for a store_result (SERVERBUG, NONEXISTENT,
 * ALREADYEXISTS, INUSE, LIMIT, OVERQUOTA, CANNOT, UNAVAILABLE...), text
 * from err when set, else a generic one; logs server-side errors. */
enum cmd_result cmd_store_error(struct imap_cmd *c, enum store_result r,
    const char *err);

/* Handlers, one per command, in the files the list at the top names. */
enum cmd_result cmd_capability(struct imap *, struct imap_cmd *);
enum cmd_result cmd_noop(struct imap *, struct imap_cmd *);
enum cmd_result cmd_logout(struct imap *, struct imap_cmd *);
enum cmd_result cmd_id(struct imap *, struct imap_cmd *);
enum cmd_result cmd_enable(struct imap *, struct imap_cmd *);
enum cmd_result cmd_namespace(struct imap *, struct imap_cmd *);
enum cmd_result cmd_check(struct imap *, struct imap_cmd *);
enum cmd_result cmd_idle(struct imap *, struct imap_cmd *);
enum cmd_result cmd_select(struct imap *, struct imap_cmd *);	/* +EXAMINE */
enum cmd_result cmd_close(struct imap *, struct imap_cmd *);
enum cmd_result cmd_unselect(struct imap *, struct imap_cmd *);
enum cmd_result cmd_expunge(struct imap *, struct imap_cmd *);	/* +UID */
enum cmd_result cmd_store(struct imap *, struct imap_cmd *);
enum cmd_result cmd_copy(struct imap *, struct imap_cmd *);	/* +MOVE */
enum cmd_result cmd_append(struct imap *, struct imap_cmd *);
enum cmd_result cmd_list(struct imap *, struct imap_cmd *);	/* +LSUB */
enum cmd_result cmd_create(struct imap *, struct imap_cmd *);
enum cmd_result cmd_delete(struct imap *, struct imap_cmd *);
enum cmd_result cmd_rename(struct imap *, struct imap_cmd *);
enum cmd_result cmd_subscribe(struct imap *, struct imap_cmd *); /* +UN */
enum cmd_result cmd_status(struct imap *, struct imap_cmd *);
enum cmd_result cmd_fetch(struct imap *, struct imap_cmd *);
enum cmd_result cmd_search(struct imap *, struct imap_cmd *);

/* ---- the selected folder (session.c, select.c) ---- */

/*
 * Send the untagged updates that are due (RFC 3501 7.3.1, 7.4.1; RFC
 * 2180): store_sync() with STORE_SYNC_KEEP_EXPUNGED when keep is set,
 * then "* n EXPUNGE" for each message that left the view, "* n EXISTS"
 * and "* n RECENT" when they changed, "* FLAGS" and "* OK
 * [PERMANENTFLAGS]" when keywords were added, and "* n FETCH (UID u
 * FLAGS (...))" for flags others changed.  On STORE_EVALIDITY the
 * folder is closed with "* BYE" and im->logout set (RFC 3501 2.3.1.1:
 * the session cannot go on with stale UIDs).  No-op in the
 * authenticated state.
 */
void imap_sync(struct imap *im, int keep);

/* "* FLAGS (...)" and "* OK [PERMANENTFLAGS (...)]" for the selected
 * folder (select.c; also used when keywords are added). */
void imap_send_flags(struct imap *im);

/* Close the selected folder (flushes flags; expunges nothing). */
void imap_unselect(struct imap *im);

/* Does name (wire form) name the selected folder, the same one on disk
 * as at SELECT?  Not after another session renamed it away, or deleted
 * it and made a new one under that name (select.c). */
int imap_names_selected(struct imap *im, const char *name);

/*
 * Turn a sequence-set argument into the messages of the selected view
 * (msgset.c): sel[i] set to 1 for each index i (store_count bytes,
 * malloc'd, caller frees).  uid: the set names UIDs (UIDs that are not
 * there are ignored, RFC 3501 6.4.8); else sequence numbers, where a
 * number above the count is an error (BAD "Invalid messageset").  "$"
 * is the saved search result (RFC 5182).  Returns 0, or -1 with
 * c->resp set for a BAD.  *nsel gets the number of messages selected.
 */
int imap_msgset(struct imap *im, struct imap_cmd *c, const struct imap_arg *a,
    int uid, unsigned char **sel, unsigned *nsel);

/* ---- special-use folders (specialuse.c, RFC 6154) ---- */

/* At session start: create (and with mailbox_autocreate = subscribe,
 * subscribe) the configured special-use folders that are missing.
 * Failures are logged, never fatal. */
void specialuse_autocreate(struct imap *im);

/* ---- writing (resp.c) ---- */

/* A string as an atom when it is one (and not NIL), quoted when it can
 * be, else a literal.  astring: for mailbox names and other astrings. */
void imap_write_astring(struct io *io, const char *s, size_t len);
/* A string as quoted or literal (never an atom). */
void imap_write_string(struct io *io, const char *s, size_t len);
/* NIL when s == NULL, else imap_write_string. */
void imap_write_nstring(struct io *io, const char *s, size_t len);
/* A mailbox name (wire form): "INBOX" as is, else astring. */
void imap_write_mailbox(struct io *io, const char *name);
/* "(\Seen \Answered kw1 ...)" for a message of the selected folder, with
 * \Recent when recent is set. */
void imap_write_flags(struct io *io, unsigned flags, kwset_t kw,
    const struct kwtable *t, int recent);
/* "* n FETCH (UID u FLAGS (...))" for message i of the selected view. */
void imap_write_fetch_flags(struct imap *im, unsigned i, int with_uid);

/*
 * Parse a flag list argument (STORE, APPEND; flagstore.c): "\Seen" etc.
 * into flags, keywords into kw (pointers into the args; the caller maps
 * them with store_keyword()).  A list or a single flag.  \Recent is
 * refused (RFC 3501 6.4.6: it cannot be set), as are unknown system
 * flags ("\Foo") and invalid keywords.  0, or -1 with c->resp set (BAD
 * for syntax; more than IMAP_FLAGARGS_MAX keywords gives NO [LIMIT],
 * returned as -2).
 */
#define IMAP_FLAGARGS_MAX 64
struct imap_flagargs {
	unsigned flags;
	const char *kw[IMAP_FLAGARGS_MAX];
	size_t nkw;
};
int imap_parse_flags(struct imap_cmd *c, const struct imap_arg *a,
    struct imap_flagargs *out);

#endif
