/*
 * config.h - postern.conf: "key = value" lines, '#' comments.
 *
 * Names and meanings follow Dovecot where Dovecot has the setting, so an
 * administrator who knows doveconf already knows ours (DESIGN.md).  The
 * file is trusted (root-owned) but still parsed strictly: an unknown key,
 * a repeated key or a bad value is an error naming file and line, and the
 * daemon refuses to serve.  A missing file at the default path means the
 * built-in defaults; a missing file named with -c is an error.
 */
#ifndef POSTERN_CONFIG_H
#define POSTERN_CONFIG_H

#include <stdio.h>

#define CONFIG_DEFAULT_PATH "/etc/postern/postern.conf"

enum ssl_mode { SSL_NO, SSL_YES, SSL_REQUIRED };

struct config {
	/* mail store */
	char *mail_location;		/* maildir:~/Maildir */
	char *mail_privileged_group;	/* "" = none */
	char *namespace_separator;	/* "/" or "." */
	unsigned first_valid_uid;	/* 500 */
	unsigned last_valid_uid;	/* 0 = no limit */
	char *pop3_uidl_format;		/* %08Xu%08Xv */
	/* IMAP special-use folders (RFC 6154); "" = none of that use */
	char *mailbox_drafts;		/* Drafts */
	char *mailbox_sent;		/* Sent */
	char *mailbox_trash;		/* Trash */
	char *mailbox_junk;		/* Junk */
	char *mailbox_archive;		/* Archive */
	char *mailbox_autocreate;	/* no | create | subscribe */
	unsigned imap_append_limit;	/* bytes per message, 52428800 */
	/* TLS */
	enum ssl_mode ssl;		/* yes */
	char *ssl_cert;			/* path, "<path" accepted */
	char *ssl_key;
	char *ssl_key_password;
	char *ssl_min_protocol;		/* TLSv1.2 */
	char *ssl_cipher_list;		/* TLS <= 1.2 */
	char *ssl_cipher_suites;	/* TLS 1.3 */
	int ssl_prefer_server_ciphers;	/* yes */
	char *ssl_dh;			/* "" = OpenSSL's automatic groups */
	/* authentication */
	char *auth_mechanisms;		/* "plain login" */
	int disable_plaintext_auth;	/* yes */
	unsigned auth_failure_delay;	/* seconds, 2 */
	unsigned auth_max_attempts;	/* per connection, 3 */
	char *pam_service;		/* postern */
	int pam_session;		/* no */
	/* login process */
	char *default_login_user;	/* postern */
	char *login_chroot;		/* /run/postern/empty */
	char *login_greeting;		/* "postern ready." */
	/* logging */
	char *log_path;			/* "" = journal, else syslog; or a file */
	/* timeouts, seconds */
	unsigned login_timeout;		/* pre-auth idle, 60 */
	unsigned ssl_handshake_timeout;	/* 10 */
	unsigned pop3_idle_timeout;	/* 600 (RFC 1939 section 3: >= 10 min) */
	unsigned imap_idle_timeout;	/* 1800 (RFC 3501 5.4: >= 30 min) */
	unsigned output_timeout;	/* 300 */
};

/* Fill cfg with the built-in defaults. */
void config_defaults(struct config *cfg);

/*
 * Read path into cfg (which must hold defaults already).  explicit says
 * whether the user named the file (-c): then a missing file is an error.
 * On error returns -1 and writes "file:line: message" into err.
 */
int config_load(struct config *cfg, const char *path, int explicit,
    char *err, size_t errlen);

/* Print the effective configuration as "key = value" lines; with
 * only_changed, only the settings that differ from the defaults
 * (like doveconf -n).  The key password is printed as "# hidden". */
void config_dump(const struct config *cfg, FILE *out, int only_changed);

/* Is mech ("plain", "login") in auth_mechanisms?  ASCII case-insensitive. */
int config_mech_enabled(const struct config *cfg, const char *mech);

void config_free(struct config *cfg);

#endif
