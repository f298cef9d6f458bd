/*
 * specialuse.c - special-use folders (RFC 6154): which folder is for
 * drafts, sent mail, trash, junk and archives; creating the configured
 * ones at session start; and the uses a user gives a folder with
 * CREATE name (USE (\Sent)) (CREATE-SPECIAL-USE).
 *
 * The configured uses come from postern.conf (mailbox_drafts...,
 * trusted).  The user's are kept in ROOT/postern-specialuse, one
 * "<Use> <name>" line each (doc/store.md): the user owns that file, so
 * it is parsed as untrusted input, bounded, and a line that is not
 * exactly right is skipped.  It is rewritten whole (write_file_atomic)
 * under the dot-lock ROOT/postern-specialuse.lock.  "postern-" names
 * are reserved (folders.c), so the file is never taken for a folder.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "lock.h"
#include "log.h"
#include "specialuse.h"
#include "util.h"

#define SU_FILE "postern-specialuse"
/* A line is a use word and a name; names are shorter than PATH_MAX. */
#define SU_LINE_MAX (PATH_MAX + 16)
/* Few users have more than a handful; a file beyond these limits is not
 * ours to trust and is read only this far. */
#define SU_ENTRIES_MAX 1000
#define SU_FILE_MAX ((size_t)SU_ENTRIES_MAX * 64)
/* The same lock timing as the subscription list (subscriptions.c). */
#define SU_LOCK_STALE 120
#define SU_LOCK_TIMEOUT_MS 10000

static const struct {
	unsigned bit;
	const char *word;	/* in the file; the attribute is "\" word */
	const char *key;	/* postern.conf */
} uses[] = {
	{ SU_ARCHIVE, "Archive", "mailbox_archive" },
	{ SU_DRAFTS, "Drafts", "mailbox_drafts" },
	{ SU_JUNK, "Junk", "mailbox_junk" },
	{ SU_SENT, "Sent", "mailbox_sent" },
	{ SU_TRASH, "Trash", "mailbox_trash" },
};

/* The configured name of each use (config.h), "" for none. */
static const char *
config_name(const struct config *cfg, unsigned bit)
{
	switch (bit) {
	case SU_ARCHIVE: return cfg->mailbox_archive;
	case SU_DRAFTS: return cfg->mailbox_drafts;
	case SU_JUNK: return cfg->mailbox_junk;
	case SU_SENT: return cfg->mailbox_sent;
	case SU_TRASH: return cfg->mailbox_trash;
	}
	return "";
}

unsigned
specialuse_parse(const char *attr)
{
	if (attr[0] != '\\')
		return 0;
	for (size_t i = 0; i < ARRAY_LEN(uses); i++)
		if (strcasecmp(attr + 1, uses[i].word) == 0)
			return uses[i].bit;
	return 0;
}

void
specialuse_write(struct io *io, unsigned u, const char **sp)
{
	for (size_t i = 0; i < ARRAY_LEN(uses); i++)
		if (u & uses[i].bit) {
			io_printf(io, "%s\\%s", *sp, uses[i].word);
			*sp = " ";
		}
}

int
imap_canon_name(const struct imap *im, const char *name, char *out,
    size_t outlen)
{
	size_t len = strlen(name);

	if (len >= outlen)
		return -1;
	memcpy(out, name, len + 1);
	if (strncasecmp(name, "INBOX", 5) == 0 &&
	    (name[5] == '\0' || name[5] == im->sep))
		memcpy(out, "INBOX", 5);
	return 0;
}

/* ---- the map ---- */

static void
map_add(struct su_map *m, const char *name, unsigned u)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->v[i].name, name) == 0) {
			m->v[i].uses |= u;
			return;
		}
	m->v = xreallocarray(m->v, m->n + 1, sizeof(*m->v));
	m->v[m->n].name = xstrdup(name);
	m->v[m->n].uses = u;
	m->n++;
}

void
specialuse_map_free(struct su_map *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].name);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

unsigned
specialuse_uses(const struct su_map *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->v[i].name, name) == 0)
			return m->v[i].uses;
	return 0;
}

/* ---- the user's file ---- */

/*
 * ROOT (the Maildir root or the mbox directory) into out: folders.h
 * says where folder "a" lives (ROOT/.a or ROOT/a), so that path less
 * its last level is ROOT.
 */
static int
root_path(struct imap *im, char *out, size_t outlen)
{
	char *slash;

	if (folder_path(im->folders, "a", out, outlen, NULL, 0) != STORE_OK ||
	    (slash = strrchr(out, '/')) == NULL || slash == out)
		return -1;
	*slash = '\0';
	return 0;
}

static int
file_path(struct imap *im, const char *suffix, char *out, size_t outlen)
{
	char root[PATH_MAX];

	if (root_path(im, root, sizeof(root)) < 0 ||
	    (size_t)snprintf(out, outlen, "%s/%s%s", root, SU_FILE, suffix) >=
	    outlen)
		return -1;
	return 0;
}

/* One line "<Use> <name>" of the file into m, if it is valid. */
static void
parse_line(struct imap *im, char *line, struct su_map *m)
{
	char canon[PATH_MAX], path[PATH_MAX];
	char *sp = strchr(line, ' ');
	unsigned u = 0;

	if (sp == NULL || m->n >= SU_ENTRIES_MAX)
		return;
	*sp = '\0';
	for (size_t i = 0; i < ARRAY_LEN(uses); i++)
		if (strcmp(line, uses[i].word) == 0)
			u = uses[i].bit;
	/* the name must be valid and already canonical: never repaired */
	if (u == 0 || imap_canon_name(im, sp + 1, canon, sizeof(canon)) < 0 ||
	    strcmp(canon, sp + 1) != 0 ||
	    folder_path(im->folders, canon, path, sizeof(path), NULL, 0) !=
	    STORE_OK)
		return;
	map_add(m, canon, u);
}

/* Read the user's file into m: 0 (also when there is none), -1. */
static int
read_file(struct imap *im, struct su_map *m)
{
	char path[PATH_MAX], *buf, *line, *nl;
	size_t len = 0;
	struct stat st;
	ssize_t got;
	int fd;

	if (file_path(im, "", path, sizeof(path)) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	buf = xmalloc(SU_FILE_MAX + 1);
	while (len < SU_FILE_MAX &&
	    (got = read(fd, buf + len, SU_FILE_MAX - len)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;
		len += (size_t)got;
	}
	close(fd);
	buf[len] = '\0';
	/* an unterminated last line is a cut one: skipped */
	for (line = buf; (nl = memchr(line, '\n', len - (size_t)(line -
	    buf))) != NULL; line = nl + 1) {
		*nl = '\0';
		if (strlen(line) == (size_t)(nl - line) &&
		    (size_t)(nl - line) < SU_LINE_MAX)
			parse_line(im, line, m);
	}
	free(buf);
	return 0;
}

void
specialuse_load(struct imap *im, struct su_map *m)
{
	char canon[PATH_MAX];

	m->v = NULL;
	m->n = 0;
	for (size_t i = 0; i < ARRAY_LEN(uses); i++) {
		const char *n = config_name(im->cfg, uses[i].bit);

		if (n[0] != '\0' &&
		    imap_canon_name(im, n, canon, sizeof(canon)) == 0)
			map_add(m, canon, uses[i].bit);
	}
	if (read_file(im, m) < 0)
		log_msg(LOG_WARNING, "cannot read %s: %s", SU_FILE,
		    strerror(errno));
}

/* Write m (the user's entries only) as the file. */
static int
write_map(struct imap *im, const struct su_map *m)
{
	char path[PATH_MAX];
	struct buf_s { char *p; size_t len, cap; } b = { NULL, 0, 0 };
	int rc;

	if (file_path(im, "", path, sizeof(path)) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (size_t i = 0; i < m->n; i++)
		for (size_t k = 0; k < ARRAY_LEN(uses); k++) {
			size_t need;

			if (!(m->v[i].uses & uses[k].bit))
				continue;
			need = strlen(uses[k].word) + strlen(m->v[i].name) + 2;
			if (b.len + need > b.cap) {
				b.cap = (b.len + need) * 2;
				b.p = xreallocarray(b.p, b.cap, 1);
			}
			b.len += (size_t)snprintf(b.p + b.len, b.cap - b.len,
			    "%s %s\n", uses[k].word, m->v[i].name);
		}
	rc = write_file_atomic(path, b.p != NULL ? b.p : "", b.len, 0600);
	free(b.p);
	return rc;
}

static int
lock(struct imap *im, struct dotlock *dl)
{
	char path[PATH_MAX];

	if (file_path(im, ".lock", path, sizeof(path)) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return dotlock_take(dl, path, SU_LOCK_STALE, SU_LOCK_TIMEOUT_MS, 0);
}

enum store_result
specialuse_add(struct imap *im, const char *name, unsigned u, char *err,
    size_t errlen)
{
	struct su_map m = { NULL, 0 };
	struct dotlock dl;
	enum store_result r = STORE_OK;

	if (lock(im, &dl) < 0) {
		snprintf(err, errlen, "cannot lock %s: %s", SU_FILE,
		    strerror(errno));
		return STORE_ETEMP;
	}
	if (read_file(im, &m) < 0 || m.n >= SU_ENTRIES_MAX) {
		snprintf(err, errlen, "cannot read %s", SU_FILE);
		r = STORE_ETEMP;
	} else {
		map_add(&m, name, u);
		if (write_map(im, &m) < 0) {
			snprintf(err, errlen, "cannot write %s: %s", SU_FILE,
			    strerror(errno));
			r = STORE_ETEMP;
		}
	}
	specialuse_map_free(&m);
	dotlock_release(&dl);
	return r;
}

/* Does name lie at or below from? */
static int
below(const struct imap *im, const char *name, const char *from)
{
	size_t la = strlen(from);

	return strncmp(name, from, la) == 0 &&
	    (name[la] == '\0' || name[la] == im->sep);
}

void
specialuse_moved(struct imap *im, const char *from, const char *to)
{
	struct su_map m = { NULL, 0 }, out = { NULL, 0 };
	struct dotlock dl;
	int changed = 0;

	if (lock(im, &dl) < 0) {
		log_msg(LOG_WARNING, "cannot lock %s: %s", SU_FILE,
		    strerror(errno));
		return;
	}
	if (read_file(im, &m) == 0) {
		for (size_t i = 0; i < m.n; i++) {
			char *nn;

			if (to == NULL ? strcmp(m.v[i].name, from) != 0 :
			    !below(im, m.v[i].name, from)) {
				map_add(&out, m.v[i].name, m.v[i].uses);
				continue;
			}
			changed = 1;
			if (to == NULL)
				continue;	/* deleted */
			nn = xasprintf("%s%s", to, m.v[i].name + strlen(from));
			map_add(&out, nn, m.v[i].uses);
			free(nn);
		}
		if (changed && write_map(im, &out) < 0)
			log_msg(LOG_WARNING, "cannot write %s: %s", SU_FILE,
			    strerror(errno));
	}
	specialuse_map_free(&m);
	specialuse_map_free(&out);
	dotlock_release(&dl);
}

/* ---- auto-creation ---- */

void
specialuse_autocreate(struct imap *im)
{
	const char *mode = im->cfg->mailbox_autocreate;
	char err[256];
	enum store_result r;

	if (strcmp(mode, "create") != 0 && strcmp(mode, "subscribe") != 0)
		return;
	for (size_t i = 0; i < ARRAY_LEN(uses); i++) {
		const char *n = config_name(im->cfg, uses[i].bit);

		if (n[0] == '\0')
			continue;
		err[0] = '\0';
		r = folder_create(im->folders, n, err, sizeof(err));
		if (r == STORE_EEXIST)
			continue;	/* there already: left as the user has it */
		if (r == STORE_OK && strcmp(mode, "subscribe") == 0)
			r = folder_subscribe(im->folders, n, 1, err,
			    sizeof(err));
		if (r != STORE_OK)
			log_msg(LOG_WARNING, "%s = %s: %s", uses[i].key, n,
			    err);
	}
}
