/*
 * test_store_mbox.c - store.h on an mbox: framing, the client's view
 * (hidden headers, mboxrd), UIDs kept in the file, locking, expunge, and
 * the journal: a rewrite killed at every step (a child process exits at
 * a test hook) loses no message, also when an "MTA" appends mail before
 * the next open.
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

#include "crlf.h"
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
put(const char *path, const char *data, size_t len, int append)
{
	int fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC),
	    0600);

	if (fd < 0 || write_all(fd, data, len) < 0)
		fprintf(stderr, "# cannot write %s\n", path);
	close(fd);
}

/* The whole file (malloc'd, NUL-terminated); *len its size. */
static char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	char *b;
	int fd = open(path, O_RDONLY);

	*len = 0;
	if (fd < 0 || fstat(fd, &st) < 0)
		return calloc(1, 1);
	b = calloc(1, (size_t)st.st_size + 1);
	*len = (size_t)read(fd, b, (size_t)st.st_size);
	close(fd);
	return b;
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
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

static enum store_result
open_home(const char *home, int flags, struct store **st)
{
	struct store_user u = { "alice", home };
	char err[512] = "";
	enum store_result r = store_open_inbox(LOC, &u, flags, st, err,
	    sizeof(err));

	if (r != STORE_OK)
		tap_diag("open: %s", err);
	return r;
}



/* Do all messages stream as the expected texts, in order? */
static int
bodies_are(struct store *st, const char *const *want, unsigned n)
{
	int ok = store_count(st) == n;

	for (unsigned i = 0; ok && i < n; i++) {
		size_t len;
		char *b = stream(st, i, &len);

		ok = b != NULL && strcmp(b, want[i]) == 0;
		if (!ok)
			tap_diag("message %u: \"%s\", want \"%s\"", i,
			    b ? b : "(null)", want[i]);
		free(b);
	}
	if (store_count(st) != n)
		tap_diag("%u messages, want %u", store_count(st), n);
	return ok;
}

static void
make_stale(const char *path)
{
	struct timespec old[2] = { { time(NULL) - 600, 0 },
	    { time(NULL) - 600, 0 } };

	utimensat(AT_FDCWD, path, old, AT_SYMLINK_NOFOLLOW);
}

static const char sample[] =
    "From a@b Mon Jan  1 00:00:00 2024\n"
    "Status: RO\n"
    "X-UID: 5\n"
    "Subject: one\n"
    "X-Keywords: $Junk\n"
    " continued\n"
    "content-LENGTH: 10\n"
    "\n"
    ">From quoted\n"
    ">>From double\n"
    ">Fromage\n"
    "From unquoted after text\n"
    "\n"
    "From b@c Mon Jan  1 00:00:00 2024\n"
    "Subject: two\n"
    "X-UIDx: keep\n"
    "\n"
    "Status: body\n"
    "\n";

static const char *const sample_want[] = {
	"Subject: one\n\nFrom quoted\n>From double\n>Fromage\n"
	    "From unquoted after text\n",
	"Subject: two\nX-UIDx: keep\n\nStatus: body\n",
};

static void
test_absent(void)
{
	const char *home = new_home();
	struct store_user u = { "postern-no-such-user-xyz", home };
	struct store *st;
	char err[256];

	tap_is_int(open_home(home, STORE_SESSION_LOCK, &st), STORE_OK,
	    "mbox_absent_inbox_opens");
	tap_is_int(store_count(st), 0, "mbox_absent_inbox_is_empty");
	store_close(st);
	tap_ok(!exists(hpath(home, "inbox")) && exists(hpath(home, "mail")),
	    "mbox_absent_inbox_not_created_root_created");
	tap_is_int(store_open_inbox("mbox:~/mail", &u, 0, &st, err,
	    sizeof(err)), STORE_OK, "mbox_default_inbox_is_var_mail_user");
	store_close(st);
}

static void
test_view(void)
{
	const char *home = new_home();
	struct store *st;

	put(hpath(home, "inbox"), sample, strlen(sample), 0);
	if (open_home(home, 0, &st) != STORE_OK)
		return;
	tap_ok(bodies_are(st, sample_want, 2), "mbox_stream_hides_internal_"
	    "headers_unquotes_mboxrd_keeps_body_from");
	tap_is_str(store_filename(st, 0), NULL, "mbox_filename_is_null");
	for (unsigned i = 0; i < store_count(st); i++)
		tap_is_int(store_wire_size(st, i), wire_streamed(st, i),
		    "mbox_wire_size_equals_streamed_bytes");
	store_close(st);
}

static void
check_shape(const char *name, const char *text, unsigned nmsg)
{
	const char *home = new_home();
	struct store *st;
	int ok;

	put(hpath(home, "inbox"), text, strlen(text), 0);
	if (open_home(home, 0, &st) != STORE_OK) {
		tap_ok(0, "%s", name);
		return;
	}
	ok = store_count(st) == nmsg;
	for (unsigned i = 0; i < store_count(st); i++)
		ok &= store_wire_size(st, i) == wire_streamed(st, i);
	tap_ok(ok, "%s", name);
	store_close(st);
}

static void
test_shapes(void)
{
	check_shape("mbox_shape_lf", "From x\nA: b\n\nbody\n\n", 1);
	check_shape("mbox_shape_crlf", "From x\r\nA: b\r\n\r\nbody\r\n\r\n"
	    "From y\r\n\r\nz\r\n", 2);
	check_shape("mbox_shape_mixed", "From x\nA: b\r\n\nc\r\nd\n", 1);
	check_shape("mbox_shape_bare_cr", "From x\nA: \rb\n\n\rc\r", 1);
	check_shape("mbox_shape_no_final_newline", "From x\nA: b\n\nlast", 1);
	check_shape("mbox_shape_empty_message", "From x\n\nFrom y\n", 2);
	check_shape("mbox_shape_from_line_only_no_newline", "From x", 1);
	check_shape("mbox_shape_hidden_and_folded", "From x\nStatus: O\n"
	    "X-Status: A\n\tmore\nX-Keywords: k\nA: b\n\n", 1);
	check_shape("mbox_shape_mboxrd", "From x\n\n>From a\n>>>From b\n"
	    ">From\n>\n>>", 1);
	check_shape("mbox_shape_cr_header_end", "From x\nA: b\r\n\r\n"
	    "Status: not hidden in body\n", 1);
	check_shape("mbox_shape_from_in_body_quoted_or_not", "From x\n\n"
	    "text\nFrom not a separator\n>From quoted\n\n", 1);
	check_shape("mbox_shape_two_blank_lines", "From x\n\na\n\n\n"
	    "From y\n\nb\n", 2);
	check_shape("mbox_shape_junk_before_first", "junk\nmore junk\n\n"
	    "From x\n\nbody\n", 1);
	check_shape("mbox_shape_empty_file", "", 0);
	check_shape("mbox_shape_garbage_no_from", "\x01\x02 no mbox\n\n", 0);
	check_shape("mbox_shape_long_header_name", "From x\n"
	    "Content-Length-And-More: 1\nX-UIDX: 2\n\n", 1);
}

static void
test_uids_persist(void)
{
	const char *home = new_home();
	struct store *st;
	char *before, *after;
	size_t lb, la;
	uint32_t uv;

	put(hpath(home, "inbox"), sample, strlen(sample), 0);
	if (open_home(home, 0, &st) != STORE_OK)
		return;
	uv = store_uidvalidity(st);
	tap_ok(store_uid(st, 0) == 1 && store_uid(st, 1) == 2,
	    "mbox_uids_assigned_ignoring_x_uid_without_base");
	store_close(st);
	before = slurp(hpath(home, "inbox"), &lb);
	tap_ok(strstr(before, "X-IMAPbase: ") == before + 34 &&
	    strstr(before, "X-UID: 1\n") && strstr(before, "X-UID: 2\n") &&
	    strstr(before, "X-UID: 5") == NULL,
	    "mbox_uids_written_into_the_file");
	if (open_home(home, 0, &st) != STORE_OK)
		return;
	tap_ok(store_uidvalidity(st) == uv && store_uid(st, 0) == 1 &&
	    store_uid(st, 1) == 2 && bodies_are(st, sample_want, 2),
	    "mbox_uids_stable_across_reopen");
	store_close(st);
	after = slurp(hpath(home, "inbox"), &la);
	tap_ok(la == lb && memcmp(before, after, la) == 0,
	    "mbox_reopen_without_changes_leaves_file_identical");
	free(before);
	free(after);
}

static void
test_new_mail_appended(void)
{
	const char *home = new_home();
	static const char late[] = "From late\nSubject: late\n\nnew\n\n";
	struct store *st;
	char *text;
	size_t len;
	uint32_t uv;

	put(hpath(home, "inbox"), sample, strlen(sample), 0);
	if (open_home(home, STORE_SESSION_LOCK, &st) != STORE_OK)
		return;
	uv = store_uidvalidity(st);
	store_close(st);
	put(hpath(home, "inbox"), late, strlen(late), 1);
	if (open_home(home, STORE_SESSION_LOCK, &st) != STORE_OK)
		return;
	tap_ok(store_count(st) == 3 && store_uid(st, 2) == 3 &&
	    store_uid(st, 0) == 1 && store_uidvalidity(st) == uv,
	    "mbox_new_mail_gets_next_uid_old_uids_kept");
	store_close(st);
	text = slurp(hpath(home, "inbox"), &len);
	tap_ok(strstr(text, "0000000003 $Junk continued\n") != NULL &&
	    strstr(text, "From late\nX-UID: 3\nSubject: late\n\nnew\n\n") != NULL,
	    "mbox_uidlast_updated_in_place_x_uid_added");
	if (getenv("TEST_VERBOSE"))
		tap_diag("%s", text);
	free(text);
}

static void
test_bad_x_uids(void)
{
	const char *home = new_home();
	static const char text[] =
	    "From a\nX-IMAPbase: 77 0000000010\nX-UID: 4\n\n1\n\n"
	    "From b\nX-UID: 0\n\n2\n\n"
	    "From c\nX-UID: 11\n\n3\n\n"
	    "From d\nX-UID: 3\n\n4\n\n"
	    "From e\nX-UID: 7 junk\n\n5\n\n"
	    "From f\nX-UID: 9\n\n6\n\n";
	struct store *st;
	uint32_t want[] = { 4, 11, 12, 13, 14, 15 };
	int ok;

	put(hpath(home, "inbox"), text, strlen(text), 0);
	if (open_home(home, STORE_SESSION_LOCK, &st) != STORE_OK)
		return;
	ok = store_uidvalidity(st) == 77 && store_count(st) == 6;
	for (unsigned i = 0; ok && i < 6; i++)
		ok = store_uid(st, i) == want[i];
	tap_ok(ok, "mbox_x_uid_zero_too_big_or_not_increasing_replaced");
	store_close(st);
	if (open_home(home, STORE_SESSION_LOCK, &st) != STORE_OK)
		return;
	ok = store_count(st) == 6;
	for (unsigned i = 0; ok && i < 6; i++)
		ok = store_uid(st, i) == want[i];
	tap_ok(ok, "mbox_replaced_uids_stable");
	store_close(st);
}

static void
test_bytes_preserved(void)
{
	const char *home = new_home();
	static const char text[] = "junk line kept\n\n"
	    "From a Mon\nX-Foo:  odd   spacing \nSubject: a\n\nbody\r\n\n"
	    "From b\n\nno headers\nno final newline";
	static const char want[] = "junk line kept\n\n"
	    "From a Mon\nX-IMAPbase: %u 0000000002\nX-UID: 1\n"
	    "X-Foo:  odd   spacing \nSubject: a\n\nbody\r\n\n"
	    "From b\nX-UID: 2\n\nno headers\nno final newline";
	struct store *st;
	char expect[512], *got;
	size_t len;

	put(hpath(home, "inbox"), text, strlen(text), 0);
	if (open_home(home, STORE_SESSION_LOCK, &st) != STORE_OK)
		return;
	snprintf(expect, sizeof(expect), want, store_uidvalidity(st));
	store_close(st);
	got = slurp(hpath(home, "inbox"), &len);
	tap_is_mem(got, len, expect, strlen(expect),
	    "mbox_rewrite_keeps_every_other_byte");
	free(got);
}

static void
test_pseudo(void)
{
	const char *home = new_home();
	static const char text[] =
	    "From MAILER-DAEMON Mon Jan  1 00:00:00 2024\n"
	    "Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
	    "X-IMAP: 1100000000 0000000020 $Junk\n\nInternal.\n\n"
	    "From a\nX-UID: 20\n\nreal\n\n"
	    "From b\n\nnew\n\n";
	struct store *st;
	unsigned char del[2] = { 1, 1 };
	char *got;
	size_t len;

	put(hpath(home, "inbox"), text, strlen(text), 0);
	if (open_home(home, 0, &st) != STORE_OK)
		return;
	tap_ok(store_count(st) == 2 && store_uidvalidity(st) == 1100000000u &&
	    store_uid(st, 0) == 20 && store_uid(st, 1) == 21,
	    "mbox_uw_pseudo_message_hidden_and_used");
	store_expunge(st, del, NULL, 0);
	store_close(st);
	got = slurp(hpath(home, "inbox"), &len);
	tap_ok(strstr(got, "X-IMAP: 1100000000 0000000021 $Junk\n") &&
	    strstr(got, "From a") == NULL,
	    "mbox_pseudo_message_survives_expunge_of_all");
	free(got);
}

static void
test_expunge(void)
{
	const char *home = new_home();
	static const char text[] = "From a\nSubject: 1\n\none\n\n"
	    "From b\nSubject: 2\n\ntwo\n\nFrom c\nSubject: 3\n\nthree\n\n"
	    "From d\nSubject: 4\n\nfour\n";
	static const char *const left[] = { "Subject: 1\n\none\n",
	    "Subject: 3\n\nthree\n" };
	static const char *const last[] = { "Subject: 3\n\nthree\n" };
	unsigned char del[4] = { 0, 1, 0, 1 }, del1[2] = { 1, 0 };
	struct store *st;
	uint32_t uv;

	put(hpath(home, "inbox"), text, strlen(text), 0);
	if (open_home(home, STORE_SESSION_LOCK, &st) != STORE_OK)
		return;
	uv = store_uidvalidity(st);
	tap_is_int(store_expunge(st, del, NULL, 0), STORE_OK, "mbox_expunge_ok");
	tap_ok(bodies_are(st, left, 2), "mbox_expunge_list_updated");
	store_close(st);
	if (open_home(home, 0, &st) != STORE_OK)
		return;
	tap_ok(bodies_are(st, left, 2) && store_uid(st, 0) == 1 &&
	    store_uid(st, 1) == 3, "mbox_expunge_removes_exactly_the_marked");
	tap_is_int(store_expunge(st, del1, NULL, 0), STORE_OK,
	    "mbox_expunge_first_message");
	store_close(st);
	if (open_home(home, 0, &st) != STORE_OK)
		return;
	tap_ok(bodies_are(st, last, 1) && store_uidvalidity(st) == uv &&
	    store_uid(st, 0) == 3, "mbox_expunge_first_moves_x_imapbase");
	store_close(st);
}

/* Append one message through the store; its UID, or 0. */
static uint32_t
append_text(struct store *st, const char *text)
{
	struct store_append *a;
	uint32_t uid = 0, uv;
	size_t n = 0;

	if (store_append_begin(st, 0, 0, -1, &a, NULL, 0) != STORE_OK)
		return 0;
	if (store_append_write(a, text, strlen(text)) != STORE_OK) {
		(void)store_append_end(a, NULL, 0);
		store_append_abort(st);
		return 0;
	}
	if (store_append_end(a, NULL, 0) != STORE_OK ||
	    store_append_commit(st, &uid, &n, &uv, NULL, 0) != STORE_OK ||
	    n != 1)
		return 0;
	return uid;
}

/*
 * Every message expunged: the file keeps no X-IMAPbase, so only the
 * index remembers the UIDs given.  A view opened before (when there was
 * no file at all) and one opened after must both give new UIDs after
 * them (RFC 3501 2.3.1.1: a UID is never given twice).
 */
static void
test_emptied_keeps_uids(void)
{
	const char *home = new_home();
	unsigned char del[2] = { 1, 1 };
	struct store *early, *a, *late;
	uint32_t u1, u2, u3, u4;

	/* Without file and index, each view takes the time as its
	 * UIDVALIDITY: retry if a second began in between. */
	for (int tries = 0; ; tries++) {
		if (open_home(home, STORE_SELECT, &early) != STORE_OK)
			return;
		if (open_home(home, 0, &a) != STORE_OK) {
			store_close(early);
			return;
		}
		if (store_uidvalidity(a) == store_uidvalidity(early) ||
		    tries == 2)
			break;
		store_close(a);
		store_close(early);
	}
	u1 = append_text(a, "Subject: 1\n\none\n");
	u2 = append_text(a, "Subject: 2\n\ntwo\n");
	tap_ok(u1 != 0 && u2 > u1, "mbox_emptied_two_appended");
	{
		struct store_changes ch;

		tap_ok(store_sync(a, 0, &ch, NULL, 0) == STORE_OK &&
		    store_count(a) == 2, "mbox_emptied_two_in_view");
		store_changes_free(&ch);
	}
	tap_ok(store_expunge(a, del, NULL, 0) == STORE_OK &&
	    store_count(a) == 0, "mbox_emptied_expunge_all");
	store_close(a);
	u3 = append_text(early, "Subject: 3\n\nthree\n");
	tap_ok(u3 > u2, "mbox_emptied_early_view_gives_a_new_uid");
	{
		struct store_changes ch;

		char err[256] = "";
		enum store_result r = store_sync(early, 0, &ch, err,
		    sizeof(err));

		tap_ok(r == STORE_OK && store_count(early) == 1,
		    "mbox_emptied_early_view_syncs");
		if (r != STORE_OK || store_count(early) != 1)
			tap_diag("sync %d (%s), %u messages", r, err,
			    store_count(early));
		store_changes_free(&ch);
	}
	tap_is_int(store_expunge(early, del, NULL, 0), STORE_OK,
	    "mbox_emptied_expunge_again");
	store_close(early);
	if (open_home(home, 0, &late) != STORE_OK)
		return;
	u4 = append_text(late, "Subject: 4\n\nfour\n");
	tap_ok(u4 > u3, "mbox_emptied_late_view_gives_a_new_uid");
	store_close(late);
}

static void
test_session_and_locks(void)
{
	const char *home = new_home();
	static const char text[] = "From a\n\nx\n";
	struct store *st;
	struct dotlock dl;
	int go[2], done[2];
	pid_t pid;
	char c;

	put(hpath(home, "inbox"), text, strlen(text), 0);
	if (pipe(go) < 0 || pipe(done) < 0)
		return;
	if ((pid = fork()) == 0) {
		if (open_home(home, STORE_SESSION_LOCK, &st) == STORE_OK &&
		    write(go[1], "x", 1) == 1)
			(void)!read(done[0], &c, 1);
		store_close(st);
		_exit(0);
	}
	tap_ok(read(go[0], &c, 1) == 1, "mbox_child_holds_session");
	tap_is_int(open_home(home, STORE_SESSION_LOCK, &st), STORE_EINUSE,
	    "mbox_second_session_in_use");
	tap_ok(exists(hpath(home, "inbox.lock")),
	    "mbox_dotlock_held_for_the_session");
	tap_ok(dotlock_take(&dl, hpath(home, "inbox.lock"), 300, 300, 0) < 0 &&
	    errno == ETIMEDOUT, "mbox_mta_dotlock_waits_while_session_open");
	(void)!write(done[1], "x", 1);
	waitpid(pid, NULL, 0);
	tap_ok(!exists(hpath(home, "inbox.lock")),
	    "mbox_dotlock_removed_at_close");
	tap_is_int(open_home(home, STORE_SESSION_LOCK, &st), STORE_OK,
	    "mbox_session_free_after_close");
	make_stale(hpath(home, "inbox.lock"));
	store_touch(st);
	{
		struct stat sb;

		tap_ok(lstat(hpath(home, "inbox.lock"), &sb) == 0 &&
		    time(NULL) - sb.st_mtime < 5,
		    "mbox_store_touch_refreshes_dotlock");
	}
	store_close(st);
	close(go[0]), close(go[1]), close(done[0]), close(done[1]);
}

static void
test_stale_and_busy_dotlock(void)
{
	const char *home = new_home();
	static const char text[] = "From a\n\nx\n";
	struct store *st;
	int64_t t0;

	put(hpath(home, "inbox"), text, strlen(text), 0);
	put(hpath(home, "inbox.lock"), "", 0, 0);
	make_stale(hpath(home, "inbox.lock"));
	tap_is_int(open_home(home, 0, &st), STORE_OK,
	    "mbox_stale_dotlock_broken");
	store_close(st);
	put(hpath(home, "inbox.lock"), "", 0, 0);
	t0 = now_ms();
	tap_is_int(open_home(home, 0, &st), STORE_ETEMP,
	    "mbox_fresh_dotlock_gives_etemp");
	tap_ok(now_ms() - t0 >= 9000, "mbox_dotlock_waited_about_10s");
	unlink(hpath(home, "inbox.lock"));
}

/* For test_parser_random: filter the message's range in one go and
 * compare with the size the scanner counted. */
static int
random_msg(void *arg, const struct mbox_rec *r, const struct mbox_base *b)
{
	struct { const char *b; size_t n; int ok; } *cx = arg;
	unsigned char out[2048 + MBOX_FILTER_SLACK], conv[2 * sizeof(out)];
	struct mbox_filter f;
	struct crlf c;
	size_t o;

	(void)b;
	mbox_filter_init(&f);
	f.out = out;
	mbox_filter_run(&f, (const unsigned char *)cx->b + r->hdr,
	    r->end - r->hdr);
	mbox_filter_finish(&f);
	crlf_init(&c);
	o = crlf_convert(&c, out, f.olen, conv);
	o += crlf_finish(&c, conv + o);
	if ((int64_t)o != r->wire || r->end > cx->n || r->hdr > r->end)
		cx->ok = 0;
	return 0;
}

/* Messages larger than the read buffers, lines split across reads,
 * random bytes: sizes still match the stream; expunge of every third
 * keeps the others byte for byte. */
static void
test_large(void)
{
	const char *home = new_home();
	unsigned seed = 7, n = 60, k = 0;
	struct store *st;
	unsigned char *del;
	char **want = calloc(n, sizeof(*want));
	const char **left = calloc(n, sizeof(*left));
	int ok = 1;

	for (unsigned i = 0; i < n; i++) {
		size_t len = 1000 + (size_t)(rand_r(&seed) % 150000), o;
		char *m = malloc(len + 64);

		o = (size_t)sprintf(m, "Subject: %u\n\n", i);
		for (; o < len; o++) {
			static const char set[] = "ab \r\n\n>F";

			m[o] = set[rand_r(&seed) % (sizeof(set) - 1)];
			if (m[o] == '>' || (m[o] == 'F' && o > 0 &&
			    m[o - 1] == '\n'))
				m[o] = 'x';	/* no From_ lines, no quoting */
		}
		memcpy(m + o, "\nend\n", 6);
		m[o + 6] = '\0';
		want[i] = m;
		put(hpath(home, "inbox"), "From x\n", 7, 1);
		put(hpath(home, "inbox"), m, strlen(m), 1);
		put(hpath(home, "inbox"), "\n", 1, 1);
	}
	if (open_home(home, 0, &st) != STORE_OK)
		return;
	ok = bodies_are(st, (const char *const *)want, n);
	for (unsigned i = 0; ok && i < n; i++)
		ok = store_wire_size(st, i) == wire_streamed(st, i);
	tap_ok(ok, "mbox_large_messages_stream_and_sizes_match");
	del = calloc(n, 1);
	for (unsigned i = 0; i < n; i++)
		if (i % 3 == 1)
			del[i] = 1;
		else
			left[k++] = want[i];
	tap_is_int(store_expunge(st, del, NULL, 0), STORE_OK,
	    "mbox_large_expunge_ok");
	store_close(st);
	if (open_home(home, 0, &st) != STORE_OK)
		return;
	tap_ok(bodies_are(st, left, k), "mbox_large_expunge_keeps_the_rest");
	store_close(st);
	for (unsigned i = 0; i < n; i++)
		free(want[i]);
	free(want);
	free(left);
	free(del);
}

/* The scanner and the stream filter on random mbox-like bytes fed in
 * random pieces must agree on every size (what fuzz_mbox checks). */
static void
test_parser_random(void)
{
	unsigned seed = 99;
	int ok = 1;

	for (int round = 0; round < 300 && ok; round++) {
		static const char *const tok[] = { "From ", "\n", "\r\n",
		    ">", ">From ", "X-UID: 3", "Status: O", " cont", "\t",
		    "X-IMAPbase: 1 2", "A: b", "x", "\r", ":", "" };
		char buf[2048];
		size_t len = 0;
		struct mbox_scan sc;
		struct { const char *b; size_t n; int ok; } cx;

		while (len < sizeof(buf) - 32) {
			const char *t = tok[rand_r(&seed) % 15];

			memcpy(buf + len, t, strlen(t));
			len += strlen(t);
		}
		cx.b = buf, cx.n = len, cx.ok = 1;
		mbox_scan_init(&sc, 0, 1, random_msg, &cx);
		for (size_t i = 0; i < len; ) {
			size_t k = 1 + (size_t)(rand_r(&seed) % 40);

			k = k > len - i ? len - i : k;
			mbox_scan_feed(&sc, (unsigned char *)buf + i, k);
			i += k;
		}
		mbox_scan_end(&sc);
		ok = cx.ok;
	}
	tap_ok(ok, "mbox_parser_random_chunks_scan_and_stream_agree");
}

/* ---- crash recovery ---- */

static int crash_at;

static void
crash_hook(int point)
{
	if (point == crash_at)
		_exit(3);
}

static const char three[] = "From a\nSubject: 1\n\none\n\n"
    "From b\nSubject: 2\n\ntwo\n\nFrom c\nSubject: 3\n\nthree\n\n";
static const char late[] = "From mta\nSubject: late\n\nlate\n\n";

/* In a child: open (and expunge the second message if shrink), with the
 * hook exiting at point.  Returns the child's exit status. */
static int
crash_child(const char *home, int point, int shrink)
{
	pid_t pid;
	int status = -1;

	fflush(stdout);
	if ((pid = fork()) == 0) {
		unsigned char del[3] = { 0, 1, 0 };
		struct store *st;

		crash_at = point;
		mbox_crash_hook = crash_hook;
		if (open_home(home, 0, &st) != STORE_OK)
			_exit(1);
		if (shrink)
			store_expunge(st, del, NULL, 0);
		store_close(st);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
crash_case(int point, int shrink, int extras)
{
	static const char *const all[] = { "Subject: 1\n\none\n",
	    "Subject: 2\n\ntwo\n", "Subject: 3\n\nthree\n",
	    "Subject: late\n\nlate\n" };
	const char *want[4];
	const char *home = new_home();
	struct store *st;
	unsigned n = 0;
	int rc, ok;

	put(hpath(home, "inbox"), three, strlen(three), 0);
	if (shrink && open_home(home, 0, &st) == STORE_OK)
		store_close(st);	/* UIDs first; the crash is in expunge */
	rc = crash_child(home, point, shrink);
	if (extras)	/* an MTA delivers after the crash */
		put(hpath(home, "inbox"), late, strlen(late), 1);
	make_stale(hpath(home, "inbox.lock"));
	for (unsigned i = 0; i < 3; i++)
		if (!shrink || i != 1 || point == MBOX_CRASH_JOURNAL_PARTIAL)
			want[n++] = all[i];
	if (extras)
		want[n++] = all[3];
	if (open_home(home, 0, &st) != STORE_OK) {
		tap_ok(0, "mbox_crash_%s_point%d_extras%d", shrink ? "expunge" :
		    "uids", point, extras);
		return;
	}
	ok = bodies_are(st, want, n);
	for (unsigned i = 0; ok && i + 1 < n; i++)
		ok = store_uid(st, i) < store_uid(st, i + 1);
	if (!shrink || point == MBOX_CRASH_JOURNAL_PARTIAL)
		ok &= store_uid(st, 0) == 1 && store_uid(st, 2) == 3;
	else
		ok &= store_uid(st, 0) == 1 && store_uid(st, 1) == 3;
	store_close(st);
	ok &= !exists(hpath(home, "mail/.postern-journal-inbox"));
	tap_ok(ok && rc == 3, "mbox_crash_%s_point%d_extras%d_recovered",
	    shrink ? "expunge" : "uids", point, extras);
}

static void
test_crashes(void)
{
	for (int point = MBOX_CRASH_JOURNAL_PARTIAL;
	    point <= MBOX_CRASH_TRUNCATED; point++)
		for (int extras = 0; extras < 2; extras++) {
			if (point < MBOX_CRASH_TRUNC_MARKED)
				crash_case(point, 0, extras);
			if (point != MBOX_CRASH_EXTENDED)
				crash_case(point, 1, extras);
		}
}

static void
test_journal_other_file(void)
{
	const char *home = new_home();
	struct store *st;
	char *copy;
	size_t len;

	put(hpath(home, "inbox"), three, strlen(three), 0);
	crash_child(home, MBOX_CRASH_JOURNAL_DONE, 0);
	copy = slurp(hpath(home, "inbox"), &len);
	/* Another file (a new inode: made before the old one goes) now
	 * has the name, as if someone replaced the mbox after the crash. */
	put(hpath(home, "inbox.new"), copy, len, 0);
	rename(hpath(home, "inbox.new"), hpath(home, "inbox"));
	make_stale(hpath(home, "inbox.lock"));
	if (open_home(home, 0, &st) != STORE_OK)
		return;
	tap_is_int(store_count(st), 3, "mbox_journal_for_other_inode_not_"
	    "applied");
	store_close(st);
	tap_ok(!exists(hpath(home, "mail/.postern-journal-inbox")),
	    "mbox_journal_for_other_inode_set_aside");
	free(copy);
}

static void
test_journal_damaged(void)
{
	const char *home = new_home();
	struct store *st;
	char *before, *after;
	size_t lb, la;
	int fd;

	put(hpath(home, "inbox"), three, strlen(three), 0);
	crash_child(home, MBOX_CRASH_JOURNAL_DONE, 0);
	fd = open(hpath(home, "mail/.postern-journal-inbox"), O_WRONLY);
	(void)!pwrite(fd, "XXXX", 4, 100);	/* flip payload bytes */
	close(fd);
	make_stale(hpath(home, "inbox.lock"));
	before = slurp(hpath(home, "inbox"), &lb);
	tap_is_int(open_home(home, 0, &st), STORE_ETEMP,
	    "mbox_damaged_journal_refused");
	after = slurp(hpath(home, "inbox"), &la);
	tap_ok(la == lb && memcmp(before, after, la) == 0,
	    "mbox_damaged_journal_leaves_mbox_alone");
	free(before);
	free(after);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	log_open("test_store_mbox", getenv("TEST_VERBOSE") ? "/dev/stderr" :
	    "/dev/null");
	snprintf(top, sizeof(top), "%s/postern-mbox.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_absent();
	test_view();
	test_shapes();
	test_uids_persist();
	test_new_mail_appended();
	test_bad_x_uids();
	test_bytes_preserved();
	test_pseudo();
	test_expunge();
	test_emptied_keeps_uids();
	test_session_and_locks();
	test_large();
	test_parser_random();
	test_crashes();
	test_journal_other_file();
	test_journal_damaged();
	test_stale_and_busy_dotlock();
	nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
