/*
 * config.c - postern.conf parser, table-driven (see config.h).
 *
 * Each key names its type, its default and where it lives in struct
 * config; parsing, defaults and config_dump all walk the same table, so a
 * new setting is one line here plus its documentation in postern.conf(5).
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config.h"
#include "tls.h"
#include "util.h"

enum ktype { K_STR, K_BOOL, K_UINT, K_SSL };

struct key {
	const char *name;
	enum ktype type;
	size_t off;
	const char *def;
	unsigned max;		/* K_UINT upper bound */
	int secret;		/* never printed */
};

#define S(f, d) { #f, K_STR, offsetof(struct config, f), d, 0, 0 }
#define B(f, d) { #f, K_BOOL, offsetof(struct config, f), d, 0, 0 }
#define U(f, d, m) { #f, K_UINT, offsetof(struct config, f), d, m, 0 }

static const struct key keys[] = {
	S(mail_location, "maildir:~/Maildir"),
	S(mail_privileged_group, ""),
	/* Dovecot: namespace inbox { separator }; '/' or '.' (Maildir) */
	S(namespace_separator, "/"),
	U(first_valid_uid, "500", 0xffffffffu),
	U(last_valid_uid, "0", 0xffffffffu),
	S(pop3_uidl_format, "%08Xu%08Xv"),
	/* Dovecot: mailbox NAME { special_use = ...; auto = ... } */
	S(mailbox_drafts, "Drafts"),
	S(mailbox_sent, "Sent"),
	S(mailbox_trash, "Trash"),
	S(mailbox_junk, "Junk"),
	S(mailbox_archive, "Archive"),
	S(mailbox_autocreate, "subscribe"),
	/* RFC 7889 APPENDLIMIT; at most 4 GiB - 1 (RFC 3501 number) */
	U(imap_append_limit, "52428800", 0xffffffffu),
	{ "ssl", K_SSL, offsetof(struct config, ssl), "yes", 0, 0 },
	S(ssl_cert, "</etc/postern/tls/cert.pem"),
	S(ssl_key, "</etc/postern/tls/key.pem"),
	{ "ssl_key_password", K_STR, offsetof(struct config, ssl_key_password),
	  "", 0, 1 },
	S(ssl_min_protocol, "TLSv1.2"),
	S(ssl_cipher_list, TLS_DEFAULT_CIPHER_LIST),
	S(ssl_cipher_suites, TLS_DEFAULT_CIPHER_SUITES),
	B(ssl_prefer_server_ciphers, "yes"),
	S(ssl_dh, ""),
	S(auth_mechanisms, "plain login"),
	B(disable_plaintext_auth, "yes"),
	/* Dovecot's auth_failure_delay default; SECURITY.md G12 */
	U(auth_failure_delay, "2", 60),
	U(auth_max_attempts, "3", 100),
	S(pam_service, "postern"),
	B(pam_session, "no"),
	S(default_login_user, "postern"),
	S(login_chroot, "/run/postern/empty"),
	S(login_greeting, "postern ready."),
	S(log_path, ""),
	/* SECURITY.md G6: pre-auth idle <= 60 s, handshake <= 10 s */
	U(login_timeout, "60", 3600),
	U(ssl_handshake_timeout, "10", 600),
	/* RFC 1939 section 3: an autologout timer of at least 10 minutes */
	U(pop3_idle_timeout, "600", 86400),
	/* RFC 3501 5.4: an autologout timer of at least 30 minutes */
	U(imap_idle_timeout, "1800", 86400),
	U(output_timeout, "300", 86400),
};

static const struct key *
find_key(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(keys); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int
parse_bool(const char *v, int *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0)
		*out = 1;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

/* Validate value for key and store it; returns an error text or NULL. */
static const char *
set_value(struct config *cfg, const struct key *k, const char *v)
{
	void *field = (char *)cfg + k->off;
	uint64_t n;
	int b;

	switch (k->type) {
	case K_STR:
		free(*(char **)field);
		*(char **)field = xstrdup(v);
		return NULL;
	case K_BOOL:
		if (parse_bool(v, &b) < 0)
			return "expected yes or no";
		*(int *)field = b;
		return NULL;
	case K_UINT:
		if (parse_u64(v, k->max, &n) < 0)
			return "expected a number in range";
		*(unsigned *)field = (unsigned)n;
		return NULL;
	case K_SSL:
		if (strcmp(v, "no") == 0)
			*(enum ssl_mode *)field = SSL_NO;
		else if (strcmp(v, "yes") == 0)
			*(enum ssl_mode *)field = SSL_YES;
		else if (strcmp(v, "required") == 0)
			*(enum ssl_mode *)field = SSL_REQUIRED;
		else
			return "expected no, yes or required";
		return NULL;
	}
	return "bad key type";
}

void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < ARRAY_LEN(keys); i++)
		if (set_value(cfg, &keys[i], keys[i].def) != NULL)
			abort();	/* a bad built-in default is a bug */
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Checks across keys, after the whole file is read. */
static const char *
check_whole(const struct config *cfg)
{
	if (strncmp(cfg->mail_location, "maildir:", 8) != 0 &&
	    strncmp(cfg->mail_location, "mbox:", 5) != 0)
		return "mail_location: expected maildir:PATH or mbox:PATH";
	if (strcmp(cfg->namespace_separator, "/") != 0 &&
	    strcmp(cfg->namespace_separator, ".") != 0)
		return "namespace_separator must be / or .";
	if (cfg->namespace_separator[0] == '.' &&
	    strncmp(cfg->mail_location, "mbox:", 5) == 0)
		return "namespace_separator . needs maildir: mbox folder "
		    "names may contain dots";
	if (cfg->last_valid_uid != 0 &&
	    cfg->last_valid_uid < cfg->first_valid_uid)
		return "last_valid_uid is below first_valid_uid";
	if (strcmp(cfg->mailbox_autocreate, "no") != 0 &&
	    strcmp(cfg->mailbox_autocreate, "create") != 0 &&
	    strcmp(cfg->mailbox_autocreate, "subscribe") != 0)
		return "mailbox_autocreate must be no, create or subscribe";
	if (cfg->imap_append_limit < 1024)
		return "imap_append_limit must be at least 1024";
	if (cfg->auth_max_attempts == 0)
		return "auth_max_attempts must be at least 1";
	for (const char *m = cfg->auth_mechanisms; *m; ) {
		size_t len = strcspn(m, " \t");
		if (!(len == 5 && strncasecmp(m, "plain", 5) == 0) &&
		    !(len == 5 && strncasecmp(m, "login", 5) == 0) && len)
			return "auth_mechanisms: only plain and login are supported";
		m += len;
		m += strspn(m, " \t");
	}
	return NULL;
}

static int
parse_line(struct config *cfg, char *line, unsigned char *seen,
    const char **why)
{
	char *eq, *name, *value;
	const struct key *k;

	line = trim(line);
	if (*line == '\0' || *line == '#')
		return 0;
	if ((eq = strchr(line, '=')) == NULL) {
		*why = "expected key = value";
		return -1;
	}
	*eq = '\0';
	name = trim(line);
	value = trim(eq + 1);
	if ((k = find_key(name)) == NULL) {
		*why = "unknown setting";
		return -1;
	}
	if (seen[k - keys]++) {
		*why = "setting given twice";
		return -1;
	}
	*why = set_value(cfg, k, value);
	return *why ? -1 : 0;
}

int
config_load(struct config *cfg, const char *path, int explicit,
    char *err, size_t errlen)
{
	unsigned char seen[ARRAY_LEN(keys)] = { 0 };
	char line[4096];
	const char *why = NULL;
	unsigned lineno = 0;
	FILE *f = fopen(path, "re");
	struct stat st;

	if (f == NULL) {
		if (errno == ENOENT && !explicit)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			why = "line too long";
			break;
		}
		line[strcspn(line, "\n")] = '\0';
		if (parse_line(cfg, line, seen, &why) < 0)
			break;
	}
	fclose(f);
	if (why != NULL) {
		snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
		return -1;
	}
	if ((why = check_whole(cfg)) != NULL) {
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	return 0;
}

static void
format_value(const struct config *cfg, const struct key *k, char *out,
    size_t outlen)
{
	const void *field = (const char *)cfg + k->off;
	static const char *ssl_names[] = { "no", "yes", "required" };

	switch (k->type) {
	case K_STR:
		snprintf(out, outlen, "%s", *(char *const *)field);
		break;
	case K_BOOL:
		snprintf(out, outlen, "%s", *(const int *)field ? "yes" : "no");
		break;
	case K_UINT:
		snprintf(out, outlen, "%u", *(const unsigned *)field);
		break;
	case K_SSL:
		snprintf(out, outlen, "%s",
		    ssl_names[*(const enum ssl_mode *)field]);
		break;
	}
}

void
config_dump(const struct config *cfg, FILE *out, int only_changed)
{
	struct config def;
	char v[4096], dv[4096];

	config_defaults(&def);
	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		format_value(cfg, &keys[i], v, sizeof(v));
		format_value(&def, &keys[i], dv, sizeof(dv));
		if (only_changed && strcmp(v, dv) == 0)
			continue;
		if (keys[i].secret && *v)
			fprintf(out, "%s = # hidden\n",
			    keys[i].name);
		else
			fprintf(out, "%s = %s\n", keys[i].name, v);
	}
	config_free(&def);
}

void
config_free(struct config *cfg)
{
	for (size_t i = 0; i < ARRAY_LEN(keys); i++)
		if (keys[i].type == K_STR)
			free(*(char **)((char *)cfg + keys[i].off));
	memset(cfg, 0, sizeof(*cfg));
}

int
config_mech_enabled(const struct config *cfg, const char *mech)
{
	const char *m = cfg->auth_mechanisms;
	size_t n = strlen(mech);

	while (*m) {
		size_t len = strcspn(m, " \t");

		if (len == n && strncasecmp(m, mech, n) == 0)
			return 1;
		m += len;
		m += strspn(m, " \t");
	}
	return 0;
}
