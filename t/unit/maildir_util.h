/*
 * maildir_util.h - helpers for the Maildir store tests: a scratch tree
 * of Maildirs, files put into them the way an MDA or mutt would, and
 * opening them through store.h.
 */
#ifndef POSTERN_T_MAILDIR_UTIL_H
#define POSTERN_T_MAILDIR_UTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "tap.h"
#include "util.h"

static char md_top[512];
static int md_seq;

static int
md_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static void
md_rm_rf(const char *dir)
{
	nftw(dir, md_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int
md_scratch(const char *what)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(md_top, sizeof(md_top), "%s/postern-%s.XXXXXX",
	    tmp ? tmp : "/tmp", what);
	return mkdtemp(md_top) != NULL ? 0 : -1;
}

static void
md_put(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write_all(fd, data, strlen(data)) < 0)
		fprintf(stderr, "# cannot write %s\n", path);
	close(fd);
}

static int
md_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* A new home with an empty Maildir; its path (static). */
static const char *
md_home(void)
{
	static char home[600];
	char p[700];

	snprintf(home, sizeof(home), "%s/h%d", md_top, ++md_seq);
	mkdir(home, 0700);
	snprintf(p, sizeof(p), "%s/Maildir", home);
	mkdir(p, 0700);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/Maildir/%s", home,
		    (const char *[]){ "cur", "new", "tmp" }[i]);
		mkdir(p, 0700);
	}
	return home;
}

/* home/Maildir/<sub>/<name>; four rotating buffers. */
static char *
md_path(const char *home, const char *sub, const char *name)
{
	static char p[4][1024];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/Maildir/%s%s%s", home, sub,
	    *name && *sub ? "/" : "", name);
	return p[k];
}

static enum store_result
md_open(const char *home, int flags, struct store **st)
{
	struct store_user u = { "alice", home };
	char err[512] = "";
	enum store_result r = store_open_inbox("maildir:~/Maildir", &u, flags,
	    st, err, sizeof(err));

	if (r != STORE_OK)
		tap_diag("open: %s", err);
	return r;
}

/* Index of the message with this unique name, or -1. */
static int
md_find(struct store *st, const char *uniq)
{
	for (unsigned i = 0; i < store_count(st); i++)
		if (strcmp(store_filename(st, i), uniq) == 0)
			return (int)i;
	return -1;
}

/* The name of the one file in home/Maildir/sub starting with prefix
 * (static), or "" if there is none. */
static const char *
md_file(const char *home, const char *sub, const char *prefix)
{
	static char name[512];
	DIR *d = opendir(md_path(home, sub, ""));
	struct dirent *de;

	name[0] = '\0';
	while (d != NULL && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' &&
		    strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			snprintf(name, sizeof(name), "%s", de->d_name);
	if (d != NULL)
		closedir(d);
	return name;
}

/* Number of entries in home/Maildir/sub other than . and .. */
static int
md_nfiles(const char *home, const char *sub)
{
	DIR *d = opendir(md_path(home, sub, ""));
	struct dirent *de;
	int n = 0;

	while (d != NULL && (de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	if (d != NULL)
		closedir(d);
	return n;
}

/* Whole file (malloc'd, NUL-terminated) or NULL. */
static char *
md_slurp(const char *path)
{
	int fd = open(path, O_RDONLY);
	char *buf = NULL;
	size_t n = 0;
	ssize_t r;

	if (fd < 0)
		return NULL;
	do {
		buf = realloc(buf, n + 4097);
		r = read(fd, buf + n, 4096);
		n += r > 0 ? (size_t)r : 0;
	} while (r > 0);
	close(fd);
	buf[n] = '\0';
	return buf;
}

/* Append one message through a transaction and commit it: its UID, or
 * 0. */
static uint32_t
md_append1(struct store *st, const char *text, unsigned flags, kwset_t kw,
    time_t internal)
{
	struct store_append *a;
	uint32_t uid = 0, uv;
	size_t n;

	if (store_append_begin(st, flags, kw, internal, &a, NULL, 0) !=
	    STORE_OK)
		return 0;
	store_append_write(a, text, strlen(text));
	if (store_append_end(a, NULL, 0) != STORE_OK ||
	    store_append_commit(st, &uid, &n, &uv, NULL, 0) != STORE_OK)
		return 0;
	return n == 1 ? uid : 0;
}

/* store_sync() with the changes freed; returns the result. */
static enum store_result
md_sync(struct store *st, int flags, struct store_changes *ch)
{
	char err[256];
	enum store_result r = store_sync(st, flags, ch, err, sizeof(err));

	if (r != STORE_OK)
		tap_diag("sync: %s", err);
	return r;
}

#endif
