/*
 * test_mbox_imap.c - store.h on an mbox as IMAP uses it: read-write and
 * read-only views, flags and keywords written as Dovecot writes them and
 * read back by a second handle, mutt's and UW imapd's forms, pending
 * STOREs applied on top of a concurrent change, \Recent claimed once,
 * sync after an MTA delivery and after a mutt-style rewrite, append,
 * multi-append, abort and copy with UIDs and mboxrd quoting, expunge
 * and the expunge log, and commits killed at every step.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lock.h"
#include "log.h"
#include "store.h"
#include "store_int.h"
#include "tap.h"
#include "store_util.h"
#include "util.h"

#define LOC "mbox:~/mail:INBOX=~/inbox"

static char top[512];
static int seq;

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static void
put(const char *path, const char *data, int append)
{
	int fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC),
	    0600);

	if (fd < 0 || write_all(fd, data, strlen(data)) < 0)
		fprintf(stderr, "# cannot write %s\n", path);
	close(fd);
}

/* As an MTA delivers: fcntl + dot-lock, append, unlock. */
static void
deliver(const char *path, const char *data)
{
	char lock[1100];
	struct dotlock dl;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);

	snprintf(lock, sizeof(lock), "%s.lock", path);
	if (fd < 0 || lock_fcntl(fd, 5000) < 0 ||
	    dotlock_take(&dl, lock, 300, 5000, 0) < 0) {
		fprintf(stderr, "# cannot lock %s\n", path);
		return;
	}
	(void)write_all(fd, data, strlen(data));
	dotlock_release(&dl);
	close(fd);
}

static char *
slurp(const char *path)
{
	struct stat st;
	char *b;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		return calloc(1, 1);
	b = calloc(1, (size_t)st.st_size + 1);
	(void)!read(fd, b, (size_t)st.st_size);
	close(fd);
	return b;
}

static const char *
new_home(void)
{
	static char home[600];

	snprintf(home, sizeof(home), "%s/h%d", top, ++seq);
	mkdir(home, 0700);
	return home;
}

static char *
hpath(const char *home, const char *name)
{
	static char p[4][1024];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", home, name);
	return p[k];
}

static struct store *
open_home(const char *home, int flags)
{
	struct store_user u = { "alice", home };
	char err[512] = "";
	struct store *st = NULL;

	if (store_open_inbox(LOC, &u, flags, &st, err, sizeof(err)) !=
	    STORE_OK)
		tap_diag("open: %s", err);
	return st;
}

static int
body_is(struct store *st, unsigned i, const char *want)
{
	size_t len;
	char *b = stream(st, i, &len);
	int ok = b != NULL && strcmp(b, want) == 0;

	if (!ok)
		tap_diag("message %u: got \"%s\"", i, b ? b : "(null)");
	free(b);
	return ok;
}

static const char two[] =
    "From a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\nbody one\n\n"
    "From c@d Tue Jan  2 10:20:30 2024\nSubject: two\n\nbody two\n\n";

static void
test_flags_written_and_read_back(void)
{
	const char *home = new_home();
	struct store *a, *b;
	char *text;
	int k;

	put(hpath(home, "inbox"), two, 0);
	if ((a = open_home(home, 0)) == NULL)
		return;
	tap_is_int(store_recent_count(a), 2, "imap_new_messages_recent");
	k = store_keyword(a, "$Label1", 1);
	tap_is_int(k, 0, "imap_keyword_created");
	tap_is_int(store_set_flags(a, 0, STORE_FLAGS_ADD, MF_SEEN | MF_FLAGGED,
	    1u << k, 0, NULL, 0), STORE_OK, "imap_store_ok");
	tap_ok(store_flags(a, 0) == (MF_SEEN | MF_FLAGGED),
	    "imap_store_in_view_at_once");
	tap_is_int(store_set_flags(a, 1, STORE_FLAGS_ADD, MF_ANSWERED | MF_DRAFT |
	    MF_DELETED, 0, 0, NULL, 0), STORE_OK, "imap_store_second_ok");
	tap_is_int(store_flush(a, NULL, 0), STORE_OK, "imap_flush_ok");
	text = slurp(hpath(home, "inbox"));
	tap_ok(strstr(text, "Status: RO\nX-Status: F\nX-Keywords: $Label1\n") !=
	    NULL && strstr(text, "Status: O\nX-Status: ATD\n") != NULL &&
	    strstr(text, " $Label1\n") != NULL, "imap_flags_written_as_dovecot");
	if (getenv("TEST_VERBOSE"))
		tap_diag("%s", text);
	free(text);
	if ((b = open_home(home, STORE_RDONLY)) == NULL) {
		store_close(a);
		return;
	}
	tap_ok(store_count(b) == 2 && store_flags(b, 0) == (MF_SEEN |
	    MF_FLAGGED) && store_msg_keywords(b, 0) == 1 &&
	    store_flags(b, 1) == (MF_ANSWERED | MF_DRAFT | MF_DELETED) &&
	    store_keywords_table(b)->n == 1 &&
	    strcmp(store_keywords_table(b)->name[0], "$Label1") == 0,
	    "imap_second_handle_reads_flags_back");
	tap_is_int(store_recent_count(b), 0, "imap_recent_claimed_once");
	tap_ok(body_is(b, 0, "Subject: one\n\nbody one\n"),
	    "imap_flag_fields_hidden");
	tap_is_int(store_set_flags(b, 0, STORE_FLAGS_ADD, MF_SEEN, 0, 0, NULL,
	    0), STORE_ERDONLY, "imap_rdonly_store_refused");
	tap_is_int(store_internal_date(b, 1), 1704190830,
	    "imap_internal_date_from_from_line");
	store_close(b);
	store_close(a);
}

static void
test_mutt_and_uw_forms(void)
{
	const char *home = new_home();
	static const char text[] =
	    "From x Mon Jan  1 00:00:00 2024\nX-IMAPbase: 5 0000000003 a b\n"
	    "X-UID: 1\nStatus: RO\nX-Status: AF\n\n1\n\n"
	    "From x Mon Jan  1 00:00:00 2024\nX-UID: 2\nStatus: O\n"
	    "X-Status: DFAT\nX-Keywords: b c                    \n\n2\n\n"
	    "From x Mon Jan  1 00:00:00 2024\nX-UID: 3\n"
	    "X-Keywords: a,\n\tb\n\n3\n\n";
	struct store *st;

	put(hpath(home, "inbox"), text, 0);
	if ((st = open_home(home, STORE_RDONLY)) == NULL)
		return;
	tap_ok(store_uidvalidity(st) == 5 && store_count(st) == 3 &&
	    store_flags(st, 0) == (MF_SEEN | MF_ANSWERED | MF_FLAGGED) &&
	    store_flags(st, 1) == (MF_DELETED | MF_FLAGGED | MF_ANSWERED |
	    MF_DRAFT) && store_msg_keywords(st, 1) == 6 &&
	    store_msg_keywords(st, 2) == 3 && store_recent_count(st) == 1,
	    "imap_reads_mutt_and_uw_forms");
	store_close(st);
}

static void
test_pending_on_top_of_concurrent(void)
{
	const char *home = new_home();
	struct store *a, *b;
	struct store_changes ch;

	put(hpath(home, "inbox"), two, 0);
	if ((a = open_home(home, 0)) == NULL)
		return;
	if ((b = open_home(home, 0)) == NULL) {
		store_close(a);
		return;
	}
	store_set_flags(a, 0, STORE_FLAGS_ADD, MF_FLAGGED, 0, 0, NULL, 0);
	store_set_flags(b, 0, STORE_FLAGS_ADD, MF_ANSWERED, 0, 0, NULL, 0);
	tap_is_int(store_flush(b, NULL, 0), STORE_OK, "imap_concurrent_b_flush");
	tap_is_int(store_flush(a, NULL, 0), STORE_OK, "imap_concurrent_a_flush");
	tap_ok(store_flags(a, 0) == (MF_FLAGGED | MF_ANSWERED),
	    "imap_pending_applied_on_top_of_others");
	tap_is_int(store_sync(b, 0, &ch, NULL, 0), STORE_OK, "imap_b_sync");
	tap_ok(ch.nchanged == 1 && ch.changed[0] == 0 &&
	    store_flags(b, 0) == (MF_FLAGGED | MF_ANSWERED),
	    "imap_sync_reports_flag_change_by_other");
	store_changes_free(&ch);
	store_close(b);
	store_close(a);
}

/* Two read-write views: \Recent once, one modseq per change for both,
 * an append by one seen by the other. */
static void
test_two_sessions(void)
{
	const char *home = new_home();
	struct store *a, *b;
	struct store_changes ch;
	struct store_append *ap;
	uint32_t uids[2], uv;
	size_t n;

	put(hpath(home, "inbox"), two, 0);
	if ((a = open_home(home, 0)) == NULL)
		return;
	if ((b = open_home(home, 0)) == NULL) {
		store_close(a);
		return;
	}
	tap_ok(store_recent_count(a) == 2 && store_recent_count(b) == 0,
	    "imap_two_sessions_recent_once");
	store_set_flags(a, 1, STORE_FLAGS_ADD, MF_FLAGGED, 0, 0, NULL, 0);
	store_flush(a, NULL, 0);
	store_sync(b, 0, &ch, NULL, 0);
	tap_ok(ch.nchanged == 1 && store_flags(b, 1) == MF_FLAGGED &&
	    store_modseq(b, 1) == store_modseq(a, 1),
	    "imap_modseq_shared_through_index");
	store_changes_free(&ch);
	tap_is_int(store_set_flags(b, 1, STORE_FLAGS_ADD, MF_SEEN, 0,
	    store_modseq(b, 1) - 1, NULL, 0), STORE_EMODIFIED,
	    "imap_unchangedsince_fails");
	/* both change without syncing: the second gets a higher modseq */
	store_set_flags(a, 0, STORE_FLAGS_ADD, MF_DRAFT, 0, 0, NULL, 0);
	store_set_flags(b, 1, STORE_FLAGS_ADD, MF_SEEN, 0, 0, NULL, 0);
	store_flush(a, NULL, 0);
	store_flush(b, NULL, 0);
	tap_ok(store_modseq(b, 1) > store_modseq(a, 0) &&
	    store_highestmodseq(b) >= store_modseq(b, 1),
	    "imap_modseqs_ordered_across_sessions");
	store_sync(a, 0, &ch, NULL, 0);
	store_changes_free(&ch);
	store_sync(b, 0, &ch, NULL, 0);
	store_changes_free(&ch);
	store_append_begin(a, 0, 0, -1, &ap, NULL, 0);
	store_append_write(ap, "Subject: 3\n\nthree\n", 17);
	{
		char e[256] = "";

		store_append_end(ap, e, sizeof(e));
		if (store_append_commit(a, uids, &n, &uv, e, sizeof(e)) !=
		    STORE_OK)
			tap_diag("commit: %s", e);
	}
	store_sync(b, 0, &ch, NULL, 0);
	if (getenv("TEST_VERBOSE"))
		tap_diag("added %u count %u uid %u/%u recent %d n %zu", ch.added,
		    store_count(b), store_uid(b, 2), uids[0], store_recent(b, 2),
		    n);
	tap_ok(ch.added == 1 && store_uid(b, 2) == uids[0] &&
	    store_recent(b, 2) && body_is(b, 2, "Subject: 3\n\nthree\n"),
	    "imap_append_by_other_session_seen");
	store_changes_free(&ch);
	store_sync(a, 0, &ch, NULL, 0);
	tap_ok(ch.added == 1 && !store_recent(a, 2),
	    "imap_appended_recent_in_one_session");
	store_changes_free(&ch);
	store_close(b);
	store_close(a);
}

static void
test_external_append_and_rewrite(void)
{
	const char *home = new_home();
	struct store *a;
	struct store_changes ch;
	uint64_t ms;
	char *text;

	put(hpath(home, "inbox"), two, 0);
	if ((a = open_home(home, 0)) == NULL)
		return;
	tap_is_int(store_sync(a, 0, &ch, NULL, 0), STORE_OK, "imap_sync_noop");
	tap_ok(ch.added == 0 && ch.nexpunged == 0 && ch.nchanged == 0,
	    "imap_sync_nothing_changed");
	deliver(hpath(home, "inbox"),
	    "From mta Wed Jan  3 00:00:00 2024\nSubject: three\n\nbody 3\n\n");
	tap_is_int(store_sync(a, 0, &ch, NULL, 0), STORE_OK,
	    "imap_sync_after_delivery");
	tap_ok(ch.added == 1 && store_count(a) == 3 && store_uid(a, 2) == 3 &&
	    store_recent(a, 2) && body_is(a, 2, "Subject: three\n\nbody 3\n"),
	    "imap_delivery_added_with_next_uid");
	store_changes_free(&ch);
	/* mutt rewrites the file: the second message gone, the first
	 * read, the third flagged. */
	text = slurp(hpath(home, "inbox"));
	{
		char *p = strstr(text, "From c@d"), *q = strstr(text,
		    "From mta"), *nt;

		if (p && q) {
			memmove(p, q, strlen(q) + 1);
			nt = xasprintf("%s", text);
			free(text);
			text = nt;
		}
	}
	{
		char *s = strstr(text, "Status: O\n");

		if (s)
			memcpy(s, "Status: R\n", 10);
	}
	ms = store_highestmodseq(a);
	put(hpath(home, "inbox"), text, 0);
	free(text);
	tap_is_int(store_sync(a, 0, &ch, NULL, 0), STORE_OK,
	    "imap_sync_after_mutt_rewrite");
	tap_ok(ch.nexpunged == 1 && ch.expunged[0] == 2 && store_count(a) == 2 &&
	    store_uid(a, 1) == 3 && (store_flags(a, 0) & MF_SEEN) &&
	    ch.nchanged == 1 && store_modseq(a, 0) > ms,
	    "imap_mutt_rewrite_expunge_and_flags_reported");
	store_changes_free(&ch);
	{
		uint32_t *u;
		size_t n;

		tap_ok(store_expunged_since(a, ms, &u, &n) == STORE_OK &&
		    n == 1 && u[0] == 2, "imap_expunged_since_after_sync");
		free(u);
	}
	store_close(a);
}

static void
test_append_copy_expunge(void)
{
	const char *home = new_home();
	struct store *a, *b;
	struct store_append *ap;
	struct store_changes ch;
	uint32_t uids[4], uv, *xu;
	size_t n, xn;
	unsigned char del[5] = { 0 };
	uint64_t ms;
	char *text;

	/* no final newline */
	put(hpath(home, "inbox"), "From a Mon Jan  1 00:00:00 2024\n\nlast", 0);
	if ((a = open_home(home, 0)) == NULL)
		return;
	store_append_begin(a, MF_SEEN, 0, 1704067200, &ap, NULL, 0);
	store_append_write(ap, "Subject: q\r\n\r\nFrom here\r\n>From there\r\n"
	    "no newline", 48);
	tap_is_int(store_append_end(ap, NULL, 0), STORE_OK, "imap_append_end");
	store_append_begin(a, 0, 0, -1, &ap, NULL, 0);
	store_append_write(ap, "Subject: r\n\nsecond\n", 19);
	store_append_end(ap, NULL, 0);
	store_append_begin(a, 0, 0, -1, &ap, NULL, 0);
	tap_is_int(store_append_end(ap, NULL, 0), STORE_EBADNAME,
	    "imap_empty_append_refused");
	tap_is_int(store_append_commit(a, uids, &n, &uv, NULL, 0), STORE_OK,
	    "imap_multiappend_commit");
	tap_ok(n == 2 && uids[0] == 2 && uids[1] == 3 &&
	    uv == store_uidvalidity(a) && store_count(a) == 1,
	    "imap_append_uids_consecutive_view_unchanged");
	store_sync(a, 0, &ch, NULL, 0);
	tap_ok(ch.added == 2 && store_count(a) == 3 &&
	    body_is(a, 0, "\nlast\n") &&
	    body_is(a, 1, "Subject: q\n\nFrom here\n>From there\nno newline\n") &&
	    body_is(a, 2, "Subject: r\n\nsecond\n") &&
	    store_flags(a, 1) == MF_SEEN &&
	    store_internal_date(a, 1) == 1704067200,
	    "imap_append_round_trip_mboxrd");
	store_changes_free(&ch);
	text = slurp(hpath(home, "inbox"));
	tap_ok(strstr(text, "\n>From here\n>>From there\n") != NULL &&
	    strstr(text, "From MAILER-DAEMON Mon Jan  1 00:00:00 2024\n"
	    "X-UID: 2\nStatus: RO\n") != NULL, "imap_append_quoted_in_file");
	if (getenv("TEST_VERBOSE"))
		tap_diag("%s", text);
	free(text);
	store_append_begin(a, 0, 0, -1, &ap, NULL, 0);
	store_append_write(ap, "x\n", 2);
	store_append_end(ap, NULL, 0);
	store_append_abort(a);
	tap_ok(store_append_commit(a, uids, &n, &uv, NULL, 0) == STORE_OK &&
	    n == 0, "imap_abort_drops_staged");
	/* copy into a second folder */
	mkdir(hpath(home, "mail"), 0700);
	put(hpath(home, "mail/other"), "", 0);
	{
		char err[256];

		if (mbox_open(hpath(home, "mail/other"), hpath(home, "mail"),
		    "other", 0, &b, err, sizeof(err)) != STORE_OK) {
			tap_diag("other: %s", err);
			store_close(a);
			return;
		}
	}
	tap_is_int(store_copy(a, 1, b, NULL, 0), STORE_OK, "imap_copy_staged");
	tap_ok(store_append_commit(b, uids, &n, &uv, NULL, 0) == STORE_OK &&
	    n == 1 && uids[0] == 1, "imap_copy_committed");
	store_sync(b, 0, &ch, NULL, 0);
	{
		char *t = slurp(hpath(home, "mail/other"));

		tap_ok(strncmp(t, "From MAILER-DAEMON Mon Jan  1 00:00:00 2024\n",
		    44) == 0, "imap_copy_keeps_from_line_sender_and_date");
		free(t);
	}
	tap_ok(store_count(b) == 1 && store_flags(b, 0) == MF_SEEN &&
	    body_is(b, 0, "Subject: q\n\nFrom here\n>From there\nno newline\n") &&
	    store_internal_date(b, 0) == 1704067200, "imap_copy_round_trip");
	store_changes_free(&ch);
	tap_ok(store_copy(a, 0, b, NULL, 0) == STORE_OK &&
	    store_append_commit(b, uids, &n, &uv, NULL, 0) == STORE_OK &&
	    n == 1 && uids[0] == 2, "imap_copy_second");
	{
		char *t = slurp(hpath(home, "mail/other"));

		tap_ok(strstr(t, "\nFrom a Mon Jan  1 00:00:00 2024\n") != NULL,
		    "imap_copy_from_mbox_keeps_sender");
		free(t);
	}
	store_close(b);
	/* expunge */
	ms = store_highestmodseq(a);
	del[0] = del[2] = 1;
	tap_is_int(store_expunge(a, del, NULL, 0), STORE_OK, "imap_expunge_ok");
	tap_ok(store_count(a) == 1 && store_uid(a, 0) == 2 &&
	    store_expunged_since(a, ms, &xu, &xn) == STORE_OK && xn == 2 &&
	    xu[0] == 1 && xu[1] == 3, "imap_expunge_and_expunged_since");
	free(xu);
	store_close(a);
	if ((a = open_home(home, STORE_RDONLY)) == NULL)
		return;
	tap_ok(store_count(a) == 1 && store_uid(a, 0) == 2 &&
	    store_uidnext(a) == 4 && body_is(a, 0, "Subject: q\n\nFrom here\n"
	    ">From there\nno newline\n"), "imap_expunge_persisted_uids_kept");
	tap_is_int(store_expunge(a, del, NULL, 0), STORE_ERDONLY,
	    "imap_rdonly_expunge_refused");
	tap_is_int(store_append_begin(a, 0, 0, -1, &ap, NULL, 0), STORE_ERDONLY,
	    "imap_rdonly_append_refused");
	store_close(a);
}

/* ---- append commit killed at each step ---- */

static int crash_at;

static void
crash_hook(int point)
{
	if (point == crash_at)
		_exit(3);
}

static void
crash_case(int point, int extras, int noblank)
{
	const char *home = new_home();
	struct store *st;
	pid_t pid;
	int status = -1, ok;
	unsigned n;

	put(hpath(home, "inbox"), two, 0);
	if ((st = open_home(home, 0)) != NULL)
		store_close(st);
	if (noblank) {	/* the file ends "body two\n": no separator */
		struct stat sb;

		if (stat(hpath(home, "inbox"), &sb) == 0)
			(void)!truncate(hpath(home, "inbox"), sb.st_size - 1);
	}
	fflush(stdout);
	if ((pid = fork()) == 0) {
		struct store_append *ap;
		uint32_t uids[2], uv;
		size_t k;

		crash_at = point;
		mbox_crash_hook = crash_hook;
		if ((st = open_home(home, 0)) == NULL)
			_exit(1);
		store_append_begin(st, 0, 0, -1, &ap, NULL, 0);
		store_append_write(ap, "Subject: new\n\nappended\n", 23);
		store_append_end(ap, NULL, 0);
		store_append_commit(st, uids, &k, &uv, NULL, 0);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	if (extras)	/* as an MTA that only locks with fcntl appends */
		put(hpath(home, "inbox"), "From mta Wed Jan  3 00:00:00 2024\n"
		    "Subject: late\n\nlate\n\n", 1);
	unlink(hpath(home, "inbox.lock"));
	if ((st = open_home(home, 0)) == NULL) {
		tap_ok(0, "imap_append_crash_point%d_extras%d", point, extras);
		return;
	}
	n = store_count(st);
	ok = WIFEXITED(status) && WEXITSTATUS(status) == 3 &&
	    body_is(st, 0, "Subject: one\n\nbody one\n") &&
	    body_is(st, 1, "Subject: two\n\nbody two\n");
	if (point == MBOX_CRASH_APPEND_WRITTEN)
		ok &= n == 3u + (unsigned)extras &&
		    body_is(st, 2, "Subject: new\n\nappended\n");
	else
		ok &= n == 2u + (unsigned)extras;
	if (extras)
		ok &= body_is(st, n - 1, "Subject: late\n\nlate\n");
	for (unsigned i = 0; ok && i + 1 < n; i++)
		ok = store_uid(st, i) < store_uid(st, i + 1);
	store_close(st);
	if (!ok && getenv("TEST_VERBOSE")) {
		char *t = slurp(hpath(home, "inbox"));

		tap_diag("rc %d file:\n%s", status, t);
		free(t);
	}
	ok &= access(hpath(home, "mail/.postern-append-inbox"), F_OK) != 0;
	tap_ok(ok, "imap_append_crash_point%d_extras%d%s_recovered", point,
	    extras, noblank ? "_noblank" : "");
}

static void
test_append_crashes(void)
{
	for (int p = MBOX_CRASH_APPEND_MARKED; p <= MBOX_CRASH_APPEND_WRITTEN;
	    p++)
		for (int e = 0; e < 2; e++) {
			crash_case(p, e, 0);
			/* Without a final empty line an MTA's own append
			 * would join the last message anyway; from the
			 * extension on, our separator must serve it. */
			if (e && p != MBOX_CRASH_APPEND_MARKED)
				crash_case(p, e, 1);
		}
}

/* A session killed halfway through an append, while another has the
 * folder open: the other's next sync finishes it first, so its own
 * rewrite (a flag and a long keyword, which moves everything after the
 * first message) cannot shift the bytes the recovery will cut, and its
 * own append cannot replace the killed one's marker. */
static void
crash_hook_half(int point)
{
	if (point == MBOX_CRASH_APPEND_HALF)
		_exit(0);
}

static void
test_append_crash_beside_open_view(void)
{
	const char *home = new_home();
	struct store *b, *a, *c;
	struct store_append *ap;
	struct store_changes ch;
	uint32_t uids[2], uv;
	size_t n;
	char err[256];
	pid_t pid;
	int k;

	put(hpath(home, "inbox"), two, 0);
	if ((b = open_home(home, STORE_SELECT)) == NULL)
		return;
	if ((pid = fork()) == 0) {
		mbox_crash_hook = crash_hook_half;
		if ((a = open_home(home, 0)) == NULL ||
		    store_append_begin(a, 0, 0, -1, &ap, err, sizeof(err)) !=
		    STORE_OK)
			_exit(1);
		static const char m[] = "Subject: three\n\nCCCCCCCCCCCCCCCC"
		    "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC\n";

		store_append_write(ap, m, sizeof(m) - 1);
		store_append_end(ap, err, sizeof(err));
		store_append_commit(a, uids, &n, &uv, err, sizeof(err));
		_exit(1);
	}
	waitpid(pid, NULL, 0);
	tap_ok(store_sync(b, 0, &ch, err, sizeof(err)) == STORE_OK &&
	    store_count(b) == 2, "imap_killed_append_undone_at_next_sync");
	store_changes_free(&ch);
	k = store_keyword(b, "LongKeywordNameToShiftOffsets", 1);
	tap_ok(k >= 0 && store_set_flags(b, 0, STORE_FLAGS_ADD, MF_FLAGGED,
	    (kwset_t)1 << k, 0, err, sizeof(err)) == STORE_OK &&
	    store_flush(b, err, sizeof(err)) == STORE_OK,
	    "imap_rewrite_after_killed_append");
	store_close(b);
	if ((c = open_home(home, 0)) == NULL)
		return;
	tap_ok(store_count(c) == 2 &&
	    body_is(c, 1, "Subject: two\n\nbody two\n"),
	    "imap_killed_append_loses_no_other_message");
	store_close(c);
}

/* An X-IMAPbase over 4 KiB (long keyword names) whose UIDVALIDITY is
 * changed in place while mail is appended is still seen as changed: the
 * view learns its UIDs no longer hold. */
static void
test_long_imapbase_change(void)
{
	const char *home = new_home();
	static char text[8192];
	size_t o = 0;
	struct store *st;
	struct store_changes ch;
	char err[256];
	char *at;
	int fd;

	o += (size_t)snprintf(text, sizeof(text), "From x Mon Jan  1 00:00:00 "
	    "2024\nX-IMAPbase: 1111111111 0000000001");
	for (int i = 0; i < 26; i++) {
		o += (size_t)snprintf(text + o, sizeof(text) - o, " k%02d", i);
		memset(text + o, 'a', 180);
		o += 180;
	}
	snprintf(text + o, sizeof(text) - o, "\nX-UID: 1\nStatus: O\n\n"
	    "body\n\n");
	put(hpath(home, "inbox"), text, 0);
	if ((st = open_home(home, STORE_SELECT)) == NULL)
		return;
	tap_ok(store_count(st) == 1 && store_uidvalidity(st) == 1111111111u,
	    "imap_long_imapbase_read");
	at = strstr(text, "1111111111");
	memcpy(at, "2222222222", 10);
	if ((fd = open(hpath(home, "inbox"), O_WRONLY)) >= 0) {
		(void)!pwrite(fd, at, 10, at - text);
		close(fd);
	}
	deliver(hpath(home, "inbox"), "From y Tue Jan  2 00:00:00 2024\n"
	    "Subject: new\n\nnew\n\n");
	tap_is_int(store_sync(st, 0, &ch, err, sizeof(err)), STORE_EVALIDITY,
	    "imap_long_imapbase_change_is_noticed");
	store_changes_free(&ch);
	store_close(st);
}

static void
test_open_rules(void)
{
	const char *home = new_home();
	struct store *st = NULL;
	char err[256];

	mkdir(hpath(home, "dir"), 0700);
	tap_is_int(mbox_open(hpath(home, "dir"), home, "dir", 0, &st, err,
	    sizeof(err)), STORE_ENOENT, "imap_directory_cannot_hold_messages");
	tap_is_int(mbox_open(hpath(home, "none"), home, "none", 0, &st, err,
	    sizeof(err)), STORE_ENOENT, "imap_missing_folder_enoent");
	tap_is_int(mbox_open(hpath(home, "none"), home, "none",
	    STORE_OPEN_CREATE, &st, err, sizeof(err)), STORE_OK,
	    "imap_missing_inbox_is_empty");
	if (st != NULL) {
		tap_ok(store_count(st) == 0 && store_uidnext(st) == 1,
		    "imap_missing_inbox_empty_view");
		store_close(st);
	}
}

/* 26 keywords in X-IMAPbase fill the table; a 27th in X-Keywords is
 * kept when the message's flags are rewritten. */
static void
test_keywords_beyond_table(void)
{
	const char *home = new_home();
	char text[2048], *got;
	size_t o = 0;
	struct store *st;

	o += (size_t)snprintf(text + o, sizeof(text) - o, "From x Mon Jan  1 "
	    "00:00:00 2024\nX-IMAPbase: 9 0000000001");
	for (int i = 0; i < 26; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, " k%02d", i);
	snprintf(text + o, sizeof(text) - o, "\nX-UID: 1\nStatus: O\n"
	    "X-Keywords: k03 extra\n\nbody\n\n");
	put(hpath(home, "inbox"), text, 0);
	if ((st = open_home(home, 0)) == NULL)
		return;
	tap_ok(store_keywords_table(st)->n == 26 &&
	    store_msg_keywords(st, 0) == 8, "imap_table_full_names_kept_apart");
	store_set_flags(st, 0, STORE_FLAGS_ADD, MF_SEEN, 1, 0, NULL, 0);
	store_close(st);
	got = slurp(hpath(home, "inbox"));
	tap_ok(strstr(got, "X-Keywords: k00 k03 extra\n") != NULL &&
	    strstr(got, "Status: RO\n") != NULL,
	    "imap_keyword_beyond_table_not_lost");
	free(got);
}

static void
test_keep_expunged(void)
{
	const char *home = new_home();
	struct store *a, *b;
	struct store_changes ch;
	unsigned char del[2] = { 1, 0 };

	put(hpath(home, "inbox"), two, 0);
	if ((a = open_home(home, 0)) == NULL)
		return;
	if ((b = open_home(home, 0)) == NULL) {
		store_close(a);
		return;
	}
	store_expunge(b, del, NULL, 0);
	store_sync(a, STORE_SYNC_KEEP_EXPUNGED, &ch, NULL, 0);
	tap_ok(ch.nexpunged == 0 && store_count(a) == 2 && store_gone(a, 0) &&
	    !store_gone(a, 1), "imap_keep_expunged_marks_gone");
	{
		struct msg_stream *ms;

		tap_is_int(store_msg_open(a, 0, &ms), STORE_ENOENT,
		    "imap_gone_message_unreadable");
	}
	store_changes_free(&ch);
	store_sync(a, 0, &ch, NULL, 0);
	tap_ok(ch.nexpunged == 1 && ch.expunged[0] == 1 &&
	    store_count(a) == 1 && store_uid(a, 0) == 2,
	    "imap_gone_reported_at_next_sync");
	store_changes_free(&ch);
	store_close(b);
	store_close(a);
}

/* The expunge log is shared: a view opened after an expunge learns it
 * from the index (QRESYNC, RFC 7162 3.2.5.2). */
static void
test_xlog_shared(void)
{
	const char *home = new_home();
	struct store *a, *b;
	unsigned char del[2] = { 1, 0 };
	uint64_t ms;
	uint32_t *u;
	size_t n;

	put(hpath(home, "inbox"), two, 0);
	if ((a = open_home(home, 0)) == NULL)
		return;
	ms = store_highestmodseq(a);
	store_expunge(a, del, NULL, 0);
	store_close(a);
	if ((b = open_home(home, STORE_RDONLY)) == NULL)
		return;
	tap_ok(store_expunged_since(b, ms, &u, &n) == STORE_OK && n == 1 &&
	    u[0] == 1 && store_highestmodseq(b) > ms,
	    "imap_expunge_log_shared_through_index");
	free(u);
	tap_is_int(store_expunged_since(b, 1, &u, &n), STORE_ENOENT,
	    "imap_expunge_log_floor");
	store_close(b);
}

/* Every message expunged (or the file deleted when empty, as mutt may):
 * the UIDs given out are not given again. */
static void
test_uids_survive_empty(void)
{
	const char *home = new_home();
	struct store *a;
	struct store_append *ap;
	unsigned char del[2] = { 1, 1 };
	uint32_t uv, uv2, uids[1];
	size_t n;

	put(hpath(home, "inbox"), two, 0);
	if ((a = open_home(home, 0)) == NULL)
		return;
	uv = store_uidvalidity(a);
	store_expunge(a, del, NULL, 0);
	store_close(a);
	unlink(hpath(home, "inbox"));
	if ((a = open_home(home, 0)) == NULL)
		return;
	tap_ok(store_count(a) == 0 && store_uidvalidity(a) == uv &&
	    store_uidnext(a) == 3, "imap_empty_folder_keeps_uidnext");
	store_append_begin(a, 0, 0, -1, &ap, NULL, 0);
	store_append_write(ap, "Subject: x\n\nx\n", 14);
	store_append_end(ap, NULL, 0);
	tap_ok(store_append_commit(a, uids, &n, &uv2, NULL, 0) == STORE_OK &&
	    n == 1 && uids[0] == 3 && uv2 == uv,
	    "imap_uids_not_reused_after_empty");
	store_close(a);
	if ((a = open_home(home, STORE_RDONLY)) == NULL)
		return;
	tap_ok(store_count(a) == 1 && store_uid(a, 0) == 3 &&
	    store_uidvalidity(a) == uv, "imap_recreated_file_carries_base");
	store_close(a);
}

static void
test_validity_change(void)
{
	const char *home = new_home();
	struct store *a;
	struct store_changes ch;

	put(hpath(home, "inbox"), two, 0);
	if ((a = open_home(home, 0)) == NULL)
		return;
	put(hpath(home, "inbox.new"), "From x Mon Jan  1 00:00:00 2024\n"
	    "X-IMAPbase: 42 0000000001\nX-UID: 1\n\nnew\n\n", 0);
	rename(hpath(home, "inbox.new"), hpath(home, "inbox"));
	store_set_flags(a, 0, STORE_FLAGS_ADD, MF_SEEN, 0, 0, NULL, 0);
	tap_is_int(store_flush(a, NULL, 0), STORE_EVALIDITY,
	    "imap_flush_refuses_new_uidvalidity");
	tap_is_int(store_sync(a, 0, &ch, NULL, 0), STORE_EVALIDITY,
	    "imap_sync_reports_new_uidvalidity");
	store_changes_free(&ch);
	store_close(a);
	if ((a = open_home(home, STORE_RDONLY)) == NULL)
		return;
	tap_ok(store_uidvalidity(a) == 42 && store_count(a) == 1 &&
	    (store_flags(a, 0) & MF_SEEN) == 0,
	    "imap_new_file_left_alone");
	store_close(a);
}

static void
test_notify(void)
{
	const char *home = new_home();
	struct store *a;
	struct store_changes ch;
	char c;
	int fd;

	put(hpath(home, "inbox"), two, 0);
	if ((a = open_home(home, 0)) == NULL)
		return;
	fd = store_notify_fd(a);
	tap_ok(fd >= 0 && read(fd, &c, 1) < 0 && errno == EAGAIN,
	    "imap_notify_fd_quiet");
	deliver(hpath(home, "inbox"), "From m\n\nx\n\n");
	tap_ok(read(fd, &c, 1) < 0 && errno == EINVAL,
	    "imap_notify_fd_readable_after_delivery");
	store_sync(a, 0, &ch, NULL, 0);
	tap_ok(ch.added == 1, "imap_notify_then_sync_adds");
	store_changes_free(&ch);
	store_close(a);
}

/*
 * A writer that uses only the dot-lock (some MTAs, t/75's deliver) is
 * half way through a delivery while a read-only view opens or syncs:
 * the view waits for the dot-lock to go and then shows the whole
 * message once, under the UID a read-write open gives it.  The writer
 * is another process: a dot-lock naming this one is not waited for.
 */
static const char half1[] = "From b@example.org Thu Jan  1 00:00:00 2026\n"
    "From: b@example.org\nSubject: half\n\nfirst line\n";
static const char half2[] = "second line\nsecond line\nsecond line\n\n";

static pid_t
half_writer(const char *path, int *ready)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0 || (pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		char lock[1100];
		struct dotlock dl;
		int fd = open(path, O_WRONLY | O_APPEND);

		close(p[0]);
		snprintf(lock, sizeof(lock), "%s.lock", path);
		if (fd < 0 || dotlock_take(&dl, lock, 300, 5000, 0) < 0)
			_exit(1);
		(void)write_all(fd, half1, strlen(half1));
		(void)!write(p[1], "x", 1);
		usleep(400 * 1000);
		(void)write_all(fd, half2, strlen(half2));
		dotlock_release(&dl);
		_exit(0);
	}
	close(p[1]);
	*ready = p[0];
	return pid;
}

static void
test_rdonly_waits_for_dotlock(void)
{
	const char *home = new_home();
	char *path = hpath(home, "inbox"), c, full[512];
	struct store *ro, *rw;
	struct store_changes ch;
	int ready, status;
	uint32_t u[3];
	pid_t pid;

	/* the message, without its From_ line and the blank line after */
	snprintf(full, sizeof(full), "%s%s", strchr(half1, '\n') + 1, half2);
	full[strlen(full) - 1] = '\0';
	put(path, two, 0);
	/* open while the writer is half way */
	if ((pid = half_writer(path, &ready)) < 0)
		return;
	(void)!read(ready, &c, 1);
	close(ready);
	ro = open_home(home, STORE_RDONLY);
	waitpid(pid, &status, 0);
	tap_ok(ro != NULL && store_count(ro) == 3 &&
	    body_is(ro, 2, full), "imap_rdonly_open_waits_for_dotlock");
	if (ro != NULL) {
		for (unsigned i = 0; i < 3; i++)
			u[i] = store_uid(ro, i);
		store_close(ro);
	}
	if ((rw = open_home(home, 0)) != NULL) {
		tap_ok(ro != NULL && store_count(rw) == 3 &&
		    store_uid(rw, 0) == u[0] && store_uid(rw, 1) == u[1] &&
		    store_uid(rw, 2) == u[2],
		    "imap_rdonly_open_uids_as_read_write");
		store_close(rw);
	} else
		tap_ok(0, "imap_rdonly_open_uids_as_read_write");

	/* a read-only view open before the delivery, synced during it */
	home = new_home();
	path = hpath(home, "inbox");
	put(path, two, 0);
	if ((ro = open_home(home, STORE_RDONLY)) == NULL)
		return;
	if ((pid = half_writer(path, &ready)) < 0) {
		store_close(ro);
		return;
	}
	(void)!read(ready, &c, 1);
	close(ready);
	tap_is_int(store_sync(ro, 0, &ch, NULL, 0), STORE_OK,
	    "imap_rdonly_sync_waits_for_dotlock");
	waitpid(pid, &status, 0);
	tap_ok(ch.added == 1 && store_count(ro) == 3,
	    "imap_rdonly_sync_sees_whole_message_once");
	store_changes_free(&ch);
	for (unsigned i = 0; i < 3; i++)
		u[i] = store_uid(ro, i);
	store_sync(ro, 0, &ch, NULL, 0);
	tap_ok(ch.added == 0 && store_count(ro) == 3 &&
	    store_uid(ro, 2) == u[2], "imap_rdonly_sync_then_stable");
	store_changes_free(&ch);
	if ((rw = open_home(home, 0)) != NULL) {
		tap_ok(store_count(rw) == 3 && store_uid(rw, 0) == u[0] &&
		    store_uid(rw, 1) == u[1] && store_uid(rw, 2) == u[2],
		    "imap_rdonly_sync_uids_as_read_write");
		if (getenv("TEST_VERBOSE"))
			tap_diag("ro %u %u %u rw %u %u %u", u[0], u[1], u[2],
			    store_uid(rw, 0), store_uid(rw, 1),
			    store_uid(rw, 2));
		store_close(rw);
	}
	store_close(ro);
}

int
main(void)
{
	(void)wire_streamed;
	const char *tmp = getenv("TMPDIR");

	log_open("test_mbox_imap", getenv("TEST_VERBOSE") ? "/dev/stderr" :
	    "/dev/null");
	snprintf(top, sizeof(top), "%s/postern-mboxi.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(top) == NULL)
		return 1;
	test_flags_written_and_read_back();
	test_mutt_and_uw_forms();
	test_pending_on_top_of_concurrent();
	test_two_sessions();
	test_external_append_and_rewrite();
	test_append_copy_expunge();
	test_append_crashes();
	test_append_crash_beside_open_view();
	test_long_imapbase_change();
	test_notify();
	test_open_rules();
	test_keywords_beyond_table();
	test_keep_expunged();
	test_validity_change();
	test_uids_survive_empty();
	test_xlog_shared();
	test_rdonly_waits_for_dotlock();
	nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
