/*
 * test_config.c - postern.conf parsing (common/config.c): built-in
 * defaults, each value type, the errors that must name file and line,
 * the cross-key checks, and the -n/-a dump.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"

static char dir[] = "/tmp/postern-test-config-XXXXXX";
static char path[256];

/* Write text to a fresh config file; returns its path. */
static const char *
conf(const char *text)
{
	FILE *f;

	snprintf(path, sizeof(path), "%s/postern.conf", dir);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
	return path;
}

/* Load text over defaults; returns config_load's result, err filled. */
static int
load(struct config *cfg, const char *text, char *err, size_t errlen)
{
	config_defaults(cfg);
	err[0] = '\0';
	return config_load(cfg, conf(text), 1, err, errlen);
}

/* The expected error: "<path>:<line>: <what>". */
static void
expect_error(const char *text, unsigned line, const char *what,
    const char *name)
{
	struct config cfg;
	char err[1024], want[512];
	int r = load(&cfg, text, err, sizeof(err));

	if (line)
		snprintf(want, sizeof(want), "%s:%u: %s", path, line, what);
	else
		snprintf(want, sizeof(want), "%s: %s", path, what);
	tap_is_int(r, -1, name);
	tap_is_str(err, want, name);
	config_free(&cfg);
}

static void
expect_fail(const char *text, unsigned line, const char *name)
{
	struct config cfg;
	char err[1024], want[512];
	int r = load(&cfg, text, err, sizeof(err));

	snprintf(want, sizeof(want), "%s:%u: ", path, line);
	tap_is_int(r, -1, name);
	tap_ok(strncmp(err, want, strlen(want)) == 0, "%s: error names %s",
	    name, want);
	if (strncmp(err, want, strlen(want)) != 0)
		tap_diag("error was \"%s\"", err);
	config_free(&cfg);
}

static void
test_defaults(void)
{
	struct config c;

	config_defaults(&c);
	tap_is_str(c.mail_location, "maildir:~/Maildir", "default mail_location");
	tap_is_str(c.namespace_separator, "/", "default namespace_separator");
	tap_is_str(c.mail_privileged_group, "", "default mail_privileged_group");
	tap_is_int(c.first_valid_uid, 500, "default first_valid_uid");
	tap_is_int(c.last_valid_uid, 0, "default last_valid_uid");
	tap_is_str(c.pop3_uidl_format, "%08Xu%08Xv", "default pop3_uidl_format");
	tap_is_int(c.ssl, SSL_YES, "default ssl = yes");
	tap_is_str(c.ssl_cert, "</etc/postern/tls/cert.pem", "default ssl_cert");
	tap_is_str(c.ssl_key, "</etc/postern/tls/key.pem", "default ssl_key");
	tap_is_str(c.ssl_key_password, "", "default ssl_key_password");
	tap_is_str(c.ssl_min_protocol, "TLSv1.2", "default ssl_min_protocol");
	tap_ok(c.ssl_cipher_list != NULL && *c.ssl_cipher_list != '\0',
	    "default ssl_cipher_list is set");
	tap_ok(c.ssl_cipher_suites != NULL && *c.ssl_cipher_suites != '\0',
	    "default ssl_cipher_suites is set");
	tap_is_int(c.ssl_prefer_server_ciphers, 1,
	    "default ssl_prefer_server_ciphers");
	tap_is_str(c.ssl_dh, "", "default ssl_dh");
	tap_is_str(c.auth_mechanisms, "plain login", "default auth_mechanisms");
	tap_is_int(c.disable_plaintext_auth, 1, "default disable_plaintext_auth");
	tap_is_int(c.auth_failure_delay, 2, "default auth_failure_delay (Dovecot's)");
	tap_is_int(c.auth_max_attempts, 3, "default auth_max_attempts");
	tap_is_str(c.pam_service, "postern", "default pam_service");
	tap_is_int(c.pam_session, 0, "default pam_session");
	tap_is_str(c.default_login_user, "postern", "default default_login_user");
	tap_is_str(c.login_chroot, "/run/postern/empty", "default login_chroot");
	tap_is_str(c.login_greeting, "postern ready.", "default login_greeting");
	tap_is_str(c.log_path, "", "default log_path");
	tap_is_int(c.login_timeout, 60, "default login_timeout (G6: <= 60)");
	tap_ok(c.ssl_handshake_timeout > 0 && c.ssl_handshake_timeout <= 10,
	    "default ssl_handshake_timeout within G6 (<= 10 s)");
	tap_ok(c.pop3_idle_timeout >= 600,
	    "default pop3_idle_timeout >= 10 minutes (RFC 1939 section 3)");
	tap_is_int(c.output_timeout, 300, "default output_timeout");
	config_free(&c);
}

static void
test_types(void)
{
	struct config c;
	char err[1024];
	int r;

	r = load(&c,
	    "# a comment\n"
	    "   # an indented comment\n"
	    "\n"
	    "  \t \n"
	    "ssl = required\n"
	    "auth_failure_delay = 5\n"
	    "pam_session = yes\n"
	    "disable_plaintext_auth = false\n"
	    "ssl_prefer_server_ciphers = no\n"
	    "login_greeting =   Hello there, world.  \t\n"
	    "\tfirst_valid_uid\t=\t1000\t\n"
	    "last_valid_uid = 4294967295\n"
	    "mail_privileged_group =\n"
	    "ssl_cert = </srv/tls/cert.pem\n"
	    "pop3_uidl_format = %v.%u\n"
	    "mail_location = mbox:~/mail:INBOX=/var/mail/%u\n"
	    "auth_mechanisms = PLAIN\n"
	    "log_path = a=b\n", err, sizeof(err));
	tap_is_int(r, 0, "a file using every value type loads");
	if (r != 0)
		tap_diag("error: %s", err);
	tap_is_int(c.ssl, SSL_REQUIRED, "ssl = required");
	tap_is_int(c.auth_failure_delay, 5, "number");
	tap_is_int(c.pam_session, 1, "bool yes");
	tap_is_int(c.disable_plaintext_auth, 0, "bool false");
	tap_is_int(c.ssl_prefer_server_ciphers, 0, "bool no");
	tap_is_str(c.login_greeting, "Hello there, world.",
	    "string value is trimmed at both ends, inner spaces kept");
	tap_is_int(c.first_valid_uid, 1000, "tabs around key and value");
	tap_is_int(c.last_valid_uid, 4294967295u, "uint max 2^32-1");
	tap_is_str(c.mail_privileged_group, "", "empty string value");
	tap_is_str(c.ssl_cert, "</srv/tls/cert.pem", "Dovecot's <path form kept");
	tap_is_str(c.pop3_uidl_format, "%v.%u", "percent signs kept verbatim");
	tap_is_str(c.mail_location, "mbox:~/mail:INBOX=/var/mail/%u",
	    "value may contain '=' and ':'");
	tap_is_str(c.auth_mechanisms, "PLAIN", "mechanism names are case-insensitive");
	tap_is_str(c.log_path, "a=b", "only the first '=' separates");
	/* untouched keys keep their defaults */
	tap_is_int(c.auth_max_attempts, 3, "keys not in the file keep defaults");
	config_free(&c);

	r = load(&c, "ssl = no\r\nauth_max_attempts = 1\r\npam_session = true",
	    err, sizeof(err));
	tap_is_int(r, 0, "CRLF line ends and a last line without newline");
	tap_is_int(c.ssl, SSL_NO, "ssl = no");
	tap_is_int(c.auth_max_attempts, 1, "auth_max_attempts = 1 (CRLF line)");
	tap_is_int(c.pam_session, 1, "bool true on the unterminated last line");
	config_free(&c);

	r = load(&c, "ssl = yes\nauth_failure_delay = 60\n"
	    "auth_failure_delay_x = 1\n", err, sizeof(err));
	tap_is_int(r, -1, "a key that only starts like a known key is unknown");
	config_free(&c);

	r = load(&c, "auth_failure_delay = 60\nauth_failure_delay2 = 0\n", err,
	    sizeof(err));
	tap_ok(r == -1 && strstr(err, ":2: unknown setting") != NULL,
	    "prefix match is not accepted as the key (line 2)");
	config_free(&c);

	r = load(&c, "auth_failure_delay = 0\n", err, sizeof(err));
	tap_ok(r == 0 && c.auth_failure_delay == 0, "auth_failure_delay = 0 allowed");
	config_free(&c);
	r = load(&c, "auth_failure_delay = 60\n", err, sizeof(err));
	tap_ok(r == 0 && c.auth_failure_delay == 60, "auth_failure_delay = 60 (its max)");
	config_free(&c);
}

static void
test_errors(void)
{
	char big[12000];

	expect_error("ssl = yes\n\nfrobnicate = 1\n", 3, "unknown setting",
	    "unknown key names file:line");
	expect_error("# c\nssl = yes\nssl = no\n", 3, "setting given twice",
	    "repeated key is an error at the second line");
	expect_error("ssl = yes\nlogin_greeting hello\n", 2,
	    "expected key = value", "a line without '='");
	expect_error("mailbox_autocreate = always\n", 0,
	    "mailbox_autocreate must be no, create or subscribe",
	    "mailbox_autocreate takes one of three words");
	expect_error("imap_append_limit = 100\n", 0,
	    "imap_append_limit must be at least 1024",
	    "an APPENDLIMIT too small for any message is refused");
	expect_error("pam_session = maybe\n", 1, "expected yes or no", "bad bool");
	expect_error("pam_session =\n", 1, "expected yes or no", "empty bool");
	expect_error("pam_session = YES\n", 1, "expected yes or no",
	    "bool values are lowercase like Dovecot's");
	expect_error("\nauth_failure_delay = 61\n", 2, "expected a number in range",
	    "number above its maximum");
	expect_error("auth_failure_delay = -1\n", 1, "expected a number in range",
	    "negative number");
	expect_error("auth_failure_delay = 1x\n", 1, "expected a number in range",
	    "number with trailing junk");
	expect_error("auth_failure_delay = 1 2\n", 1, "expected a number in range",
	    "two numbers");
	expect_error("auth_failure_delay =\n", 1, "expected a number in range",
	    "empty number");
	expect_error("auth_failure_delay = 0x10\n", 1, "expected a number in range",
	    "hex is not a decimal number");
	expect_error("first_valid_uid = 4294967296\n", 1,
	    "expected a number in range", "uint 2^32 overflows");
	expect_error("first_valid_uid = 99999999999999999999999\n", 1,
	    "expected a number in range", "uint far past 2^64");
	expect_error("ssl = maybe\n", 1, "expected no, yes or required", "bad ssl");
	expect_error("ssl = \n", 1, "expected no, yes or required", "empty ssl");
	expect_error(" = yes\n", 1, "unknown setting", "empty key");

	/* a line longer than the parser's buffer: an error, not a split */
	memset(big, 'x', sizeof(big));
	memcpy(big, "ssl = yes\nlogin_greeting = ", 27);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	expect_fail(big, 2, "overlong line is an error naming its line");
	{
		struct config c;
		char err[1024];
		int r = load(&c, big, err, sizeof(err));

		tap_ok(r == -1 && strstr(err, "too long") != NULL,
		    "overlong line error says so");
		config_free(&c);
	}
	/* a long but acceptable line (1000 bytes) */
	{
		struct config c;
		char err[1024], line[1100], want[1000];
		int r;

		memset(want, 'g', sizeof(want) - 1);
		want[sizeof(want) - 1] = '\0';
		snprintf(line, sizeof(line), "login_greeting = %s\n", want);
		r = load(&c, line, err, sizeof(err));
		tap_ok(r == 0 && strcmp(c.login_greeting, want) == 0,
		    "a 1000-byte value is read whole");
		config_free(&c);
	}

	/* whole-file checks: these name the file */
	{
		struct config c;
		char err[1024];
		int r;

		r = load(&c, "mail_location = /var/mail/%u\n", err, sizeof(err));
		tap_ok(r == -1 && strstr(err, path) && strstr(err, "mail_location"),
		    "mail_location without maildir:/mbox: is refused");
		config_free(&c);
		r = load(&c, "first_valid_uid = 1000\nlast_valid_uid = 999\n", err,
		    sizeof(err));
		tap_ok(r == -1 && strstr(err, "last_valid_uid"),
		    "last_valid_uid below first_valid_uid is refused");
		config_free(&c);
		r = load(&c, "auth_max_attempts = 0\n", err, sizeof(err));
		tap_ok(r == -1 && strstr(err, "auth_max_attempts"),
		    "auth_max_attempts = 0 is refused");
		config_free(&c);
		r = load(&c, "auth_mechanisms = plain cram-md5\n", err, sizeof(err));
		tap_ok(r == -1 && strstr(err, "auth_mechanisms"),
		    "an unsupported mechanism is refused");
		config_free(&c);
		r = load(&c, "auth_mechanisms = plainlogin\n", err, sizeof(err));
		tap_is_int(r, -1, "\"plainlogin\" is not two mechanisms");
		config_free(&c);
		r = load(&c, "namespace_separator = .\n", err, sizeof(err));
		tap_ok(r == 0 && strcmp(c.namespace_separator, ".") == 0,
		    "namespace_separator . with Maildir");
		config_free(&c);
		r = load(&c, "namespace_separator = :\n", err, sizeof(err));
		tap_ok(r == -1 && strstr(err, "namespace_separator"),
		    "namespace_separator other than / or . is refused");
		config_free(&c);
		r = load(&c, "mail_location = mbox:~/mail\n"
		    "namespace_separator = .\n", err, sizeof(err));
		tap_ok(r == -1 && strstr(err, "needs maildir"),
		    "namespace_separator . is refused for mbox");
		config_free(&c);
	}
}

static void
test_missing(void)
{
	struct config c;
	char err[1024], missing[300];
	int r;

	snprintf(missing, sizeof(missing), "%s/no-such.conf", dir);
	config_defaults(&c);
	err[0] = '\0';
	r = config_load(&c, missing, 1, err, sizeof(err));
	tap_is_int(r, -1, "a missing file named with -c is an error");
	tap_ok(strstr(err, missing) != NULL, "the error names the missing file");
	config_free(&c);

	config_defaults(&c);
	r = config_load(&c, missing, 0, err, sizeof(err));
	tap_is_int(r, 0, "a missing default file means built-in defaults");
	tap_is_str(c.login_greeting, "postern ready.", "defaults after missing file");
	config_free(&c);

	/* a directory is not a config file even when not explicit */
	config_defaults(&c);
	err[0] = '\0';
	r = config_load(&c, dir, 0, err, sizeof(err));
	tap_is_int(r, -1, "a directory as the config file is an error");
	config_free(&c);
}

/* Run config_dump into a string. */
static char *
dump(const struct config *c, int only_changed)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	config_dump(c, f, only_changed);
	fclose(f);
	return s;
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void
test_dump(void)
{
	struct config c;
	char err[1024];
	char *s;
	int r;

	config_defaults(&c);
	s = dump(&c, 1);
	tap_is_str(s, "", "-n on defaults prints nothing");
	free(s);
	s = dump(&c, 0);
	{
		static const char *const names[] = { "mail_location",
		    "mail_privileged_group", "first_valid_uid", "last_valid_uid",
		    "pop3_uidl_format", "ssl", "ssl_cert", "ssl_key",
		    "ssl_key_password", "ssl_min_protocol", "ssl_cipher_list",
		    "ssl_cipher_suites", "ssl_prefer_server_ciphers", "ssl_dh",
		    "auth_mechanisms", "disable_plaintext_auth",
		    "auth_failure_delay", "auth_max_attempts", "pam_service",
		    "pam_session", "default_login_user", "login_chroot",
		    "login_greeting", "log_path", "login_timeout",
		    "ssl_handshake_timeout", "pop3_idle_timeout",
		    "output_timeout", "mailbox_drafts", "mailbox_sent",
		    "mailbox_trash", "mailbox_junk", "mailbox_archive",
		    "mailbox_autocreate", "imap_append_limit",
		    "imap_idle_timeout" };
		int missing = 0;
		char want[64];

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(want, sizeof(want), "\n%s = ", names[i]);
			if (strncmp(s, want + 1, strlen(want + 1)) != 0 &&
			    strstr(s, want) == NULL) {
				missing++;
				tap_diag("-a lacks %s", names[i]);
			}
		}
		tap_is_int(missing, 0, "-a prints every documented key");
		tap_ok(count_lines(s) >= 28, "-a prints at least 28 lines");
	}
	tap_ok(strstr(s, "\nssl = yes\n") != NULL, "-a shows ssl = yes");
	tap_ok(strstr(s, "first_valid_uid = 500\n") != NULL,
	    "-a shows first_valid_uid = 500");
	tap_ok(strstr(s, "disable_plaintext_auth = yes\n") != NULL,
	    "-a shows bools as yes/no");
	free(s);
	config_free(&c);

	r = load(&c, "login_greeting = hi there\nfirst_valid_uid = 500\n"
	    "ssl = required\npam_session = no\n", err, sizeof(err));
	tap_is_int(r, 0, "dump test config loads");
	s = dump(&c, 1);
	tap_is_str(s, "ssl = required\nlogin_greeting = hi there\n",
	    "-n prints only the keys that differ from the defaults, in table order");
	free(s);
	config_free(&c);

	r = load(&c, "ssl_key_password = s3cr3t-pw\n", err, sizeof(err));
	s = dump(&c, 1);
	tap_ok(r == 0 && strstr(s, "s3cr3t-pw") == NULL,
	    "the key password is never printed");
	tap_ok(strstr(s, "ssl_key_password = # hidden\n") != NULL,
	    "the key password shows as # hidden");
	free(s);
	s = dump(&c, 0);
	tap_ok(strstr(s, "s3cr3t-pw") == NULL, "nor with -a");
	free(s);
	config_free(&c);

	/* what -n prints loads back to the same configuration */
	r = load(&c, "ssl = no\nauth_failure_delay = 7\nmail_location = "
	    "mbox:~/mail\nlogin_greeting = Welcome, friend.\n", err, sizeof(err));
	s = dump(&c, 1);
	{
		struct config d;
		char *s2;

		r = load(&d, s, err, sizeof(err));
		tap_is_int(r, 0, "the -n output is a valid config file");
		s2 = dump(&d, 1);
		tap_is_str(s2, s, "and loads back to the same settings");
		free(s2);
		config_free(&d);
	}
	free(s);
	config_free(&c);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_defaults();
	test_types();
	test_errors();
	test_missing();
	test_dump();
	unlink(path);
	rmdir(dir);
	return tap_done();
}
