/*
 * store_fmt.h - helpers for the format-independent store tests: a fresh
 * mail tree of either format in a temporary directory, and messages
 * appended and read back through store.h only.
 */
#ifndef POSTERN_T_STORE_FMT_H
#define POSTERN_T_STORE_FMT_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "folders.h"
#include "store.h"
#include "store_util.h"

struct tree {
	const char *fmt;	/* "maildir" or "mbox" */
	char dir[PATH_MAX];
	char loc[PATH_MAX + 64];
	struct store_user u;
};

/* A new empty tree of format fmt under a fresh temporary directory. */
static __attribute__((unused)) void
tree_init(struct tree *t, const char *fmt)
{
	char tmpl[] = "/tmp/postern-st-XXXXXX";

	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	t->fmt = fmt;
	snprintf(t->dir, sizeof(t->dir), "%s", tmpl);
	if (strcmp(fmt, "mbox") == 0)
		snprintf(t->loc, sizeof(t->loc), "mbox:%s/mail:INBOX=%s/inbox",
		    tmpl, tmpl);
	else
		snprintf(t->loc, sizeof(t->loc), "maildir:%s/Maildir", tmpl);
	t->u.name = "tester";
	t->u.home = t->dir;
}

static __attribute__((unused)) void
tree_remove(struct tree *t)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# cannot remove %s\n", t->dir);
}

static __attribute__((unused)) struct folders *
tree_folders(struct tree *t)
{
	struct folders *f;
	char err[256];

	if (folders_open(t->loc, &t->u, '/', &f, err, sizeof(err)) !=
	    STORE_OK) {
		fprintf(stderr, "# folders_open: %s\n", err);
		exit(2);
	}
	return f;
}

/* Open name with flags or die (the tests cannot go on without it). */
static __attribute__((unused)) struct store *
must_open(struct folders *f, const char *name, int flags)
{
	struct store *st;
	char err[256];
	enum store_result r = store_open(f, name, flags, &st, err,
	    sizeof(err));

	if (r != STORE_OK) {
		fprintf(stderr, "# store_open %s: %d %s\n", name, r, err);
		exit(2);
	}
	return st;
}

/* The body of test message "id": LF line ends, a From_-looking line in
 * the body so mbox quoting is exercised. */
static __attribute__((unused)) char *
msg_text(const char *id)
{
	char *s = NULL;

	if (asprintf(&s, "From: a@example.org\nTo: b@example.org\n"
	    "Subject: test %s\nMessage-ID: <%s@t>\n\nbody of %s\n"
	    "From here on the body has a From_ line.\n>From quoted\nend\n",
	    id, id, id) < 0)
		exit(2);
	return s;
}

/* Stage message id into st.  STORE_OK or the failure. */
static __attribute__((unused)) enum store_result
stage(struct store *st, const char *id, unsigned flags, kwset_t kw,
    time_t when)
{
	struct store_append *a;
	char err[256], *text = msg_text(id);
	enum store_result r = store_append_begin(st, flags, kw, when, &a, err,
	    sizeof(err));

	if (r == STORE_OK) {
		size_t len = strlen(text);

		/* in two pieces, the second starting mid-line */
		r = store_append_write(a, text, len / 2);
		if (r == STORE_OK)
			r = store_append_write(a, text + len / 2,
			    len - len / 2);
		if (r == STORE_OK)
			r = store_append_end(a, err, sizeof(err));
		else
			(void)store_append_end(a, err, sizeof(err));
	}
	if (r != STORE_OK)
		fprintf(stderr, "# stage %s: %d %s\n", id, r, err);
	free(text);
	return r;
}

/* Append the messages ids[0..n) in one transaction; uids[] gets their
 * UIDs.  Returns the number committed (n on success, 0 on failure). */
static __attribute__((unused)) size_t
append_ids(struct store *st, const char *const *ids, size_t n,
    unsigned flags, uint32_t *uids)
{
	uint32_t uv;
	size_t got = 0;
	char err[256];

	for (size_t k = 0; k < n; k++)
		if (stage(st, ids[k], flags, 0, -1) != STORE_OK) {
			store_append_abort(st);
			return 0;
		}
	if (store_append_commit(st, uids, &got, &uv, err, sizeof(err)) !=
	    STORE_OK) {
		fprintf(stderr, "# commit: %s\n", err);
		return 0;
	}
	return got;
}

/* The Message-ID local part of message i ("" if unreadable), into out. */
static __attribute__((unused)) void
msg_id(struct store *st, unsigned i, char *out, size_t outlen)
{
	size_t len;
	char *b = stream(st, i, &len), *p, *e;

	out[0] = '\0';
	if (b == NULL)
		return;
	if ((p = strstr(b, "Message-ID: <")) != NULL &&
	    (e = strchr(p + 13, '@')) != NULL &&
	    (size_t)(e - (p + 13)) < outlen) {
		memcpy(out, p + 13, (size_t)(e - (p + 13)));
		out[e - (p + 13)] = '\0';
	}
	free(b);
}

#endif
