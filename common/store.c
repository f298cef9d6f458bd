/*
 * store.c - mail_location parsing, shared by store_api.c (the store.h
 * entry points) and the folder layer (folders.c).
 *
 * mail_location comes from the administrator's config, the user name
 * and home from the password database; both are checked anyway: a user
 * name used for %u may not contain '/' or start with '.', so it can
 * never point outside the directory the administrator meant.  Syntax is
 * Dovecot's: FORMAT:PATH[:KEY=VALUE...], "::" for a literal ':', "~/"
 * for the home directory, %u for the user name, %% for '%'.  The only
 * key we support is INBOX; any other is refused rather than ignored, so
 * a configuration copied from Dovecot never silently means less.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store_int.h"
#include "util.h"

enum store_result
store_fail(enum store_result r, char *err, size_t errlen, const char *fmt,
    ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

struct location {
	int mbox;
	char path[PATH_MAX];
	char inbox[PATH_MAX];
};

/* Append n bytes to out[*o]; -1 if they do not fit. */
static int
put(char *out, size_t *o, const char *s, size_t n)
{
	if (n >= PATH_MAX - *o)
		return -1;
	memcpy(out + *o, s, n);
	*o += n;
	out[*o] = '\0';
	return 0;
}

static int
good_user(const char *u)
{
	return u != NULL && *u != '\0' && *u != '.' && strchr(u, '/') == NULL;
}

/* Expand ~/, %u and %% in s[0..len) into out (PATH_MAX bytes). */
static enum store_result
expand(const char *s, size_t len, const struct store_user *u, char *out,
    char *err, size_t errlen)
{
	size_t o = 0, i = 0;

	out[0] = '\0';
	if (len > 0 && s[0] == '~' && (len == 1 || s[1] == '/')) {
		if (u->home == NULL || u->home[0] != '/')
			return store_fail(STORE_EPERM, err, errlen,
			    "mail_location uses ~ but the home directory is "
			    "not an absolute path");
		if (put(out, &o, u->home, strlen(u->home)) < 0)
			goto toolong;
		i = 1;
	}
	for (; i < len; i++) {
		if (s[i] != '%') {
			if (put(out, &o, s + i, 1) < 0)
				goto toolong;
			continue;
		}
		if (++i < len && s[i] == '%') {
			if (put(out, &o, "%", 1) < 0)
				goto toolong;
		} else if (i < len && s[i] == 'u') {
			if (!good_user(u->name))
				return store_fail(STORE_EPERM, err, errlen,
				    "user name unusable for %%u in "
				    "mail_location");
			if (put(out, &o, u->name, strlen(u->name)) < 0)
				goto toolong;
		} else {
			return store_fail(STORE_EPERM, err, errlen,
			    "mail_location: unsupported variable %%%.1s",
			    i < len ? s + i : "");
		}
	}
	while (o > 1 && out[o - 1] == '/')	/* "~/Maildir/" */
		out[--o] = '\0';
	if (out[0] != '/')
		return store_fail(STORE_EPERM, err, errlen,
		    "mail_location path \"%s\" is not absolute", out);
	return STORE_OK;
toolong:
	return store_fail(STORE_EPERM, err, errlen,
	    "mail_location path too long");
}

/* Next ':'-separated field of *p ("::" is a literal ':'), unescaped
 * into f (PATH_MAX bytes); *p is left after the separator. */
static int
next_field(const char **p, char *f)
{
	size_t o = 0;
	const char *s = *p;

	for (; *s; s++) {
		if (*s == ':' && s[1] == ':')
			s++;
		else if (*s == ':')
			break;
		if (o + 1 >= PATH_MAX)
			return -1;
		f[o++] = *s;
	}
	f[o] = '\0';
	*p = *s ? s + 1 : s;
	return 0;
}

static enum store_result
parse_params(const char *p, const struct store_user *u, struct location *l,
    char *err, size_t errlen)
{
	char f[PATH_MAX];
	enum store_result r;

	while (*p) {
		if (next_field(&p, f) < 0)
			return store_fail(STORE_EPERM, err, errlen,
			    "mail_location too long");
		if (strncmp(f, "INBOX=", 6) != 0 || l->inbox[0] != '\0') {
			size_t k = strcspn(f, "=");

			return store_fail(STORE_EPERM, err, errlen,
			    "mail_location: unsupported parameter \"%.*s\" "
			    "(only INBOX= is, once)", (int)(k > 64 ? 64 : k), f);
		}
		if ((r = expand(f + 6, strlen(f + 6), u, l->inbox, err,
		    errlen)) != STORE_OK)
			return r;
	}
	return STORE_OK;
}

static enum store_result
parse_location(const char *loc, const struct store_user *u,
    struct location *l, char *err, size_t errlen)
{
	char f[PATH_MAX];
	const char *p;
	enum store_result r;

	memset(l, 0, sizeof(*l));
	if (strncmp(loc, "maildir:", 8) == 0)
		p = loc + 8;
	else if (strncmp(loc, "mbox:", 5) == 0)
		p = loc + 5, l->mbox = 1;
	else
		return store_fail(STORE_EPERM, err, errlen,
		    "mail_location \"%.64s\": unsupported format (use "
		    "maildir:PATH or mbox:PATH)", loc);
	if (next_field(&p, f) < 0 || f[0] == '\0')
		return store_fail(STORE_EPERM, err, errlen,
		    "mail_location has no usable path");
	if ((r = expand(f, strlen(f), u, l->path, err, errlen)) != STORE_OK)
		return r;
	if ((r = parse_params(p, u, l, err, errlen)) != STORE_OK)
		return r;
	/* Debian's system mailbox, Dovecot's default for mbox INBOX. */
	if (l->mbox && l->inbox[0] == '\0')
		return expand("/var/mail/%u", 12, u, l->inbox, err, errlen);
	return STORE_OK;
}

enum store_result
store_location_parse(const char *mail_location, const struct store_user *user,
    struct store_location *out, char *err, size_t errlen)
{
	struct location l;
	enum store_result r;

	_Static_assert(sizeof(out->path) == sizeof(l.path) &&
	    sizeof(out->inbox) == sizeof(l.inbox), "store_location size");
	memset(out, 0, sizeof(*out));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (mail_location == NULL || user == NULL)
		return store_fail(STORE_EPERM, err, errlen,
		    "no mail_location configured");
	if ((r = parse_location(mail_location, user, &l, err, errlen)) !=
	    STORE_OK)
		return r;
	out->mbox = l.mbox;
	memcpy(out->path, l.path, sizeof(out->path));
	memcpy(out->inbox, l.inbox, sizeof(out->inbox));
	return STORE_OK;
}
