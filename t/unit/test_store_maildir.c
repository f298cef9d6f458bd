/*
 * test_store_maildir.c - store.h on a Maildir, and mail_location parsing.
 *
 * Each test builds a Maildir in its own directory under a fresh mkdtemp
 * directory (removed at the end), opens it through store_open_inbox()
 * exactly as pop3d does, and checks one behaviour named by the test.
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
#include "log.h"
#include "store.h"
#include "store_int.h"
#include "tap.h"
#include "store_util.h"
#include "util.h"

/* pop3d's open: the session lock, no \Recent claimed, nothing moved. */
#define POP3 STORE_SESSION_LOCK

static char top[512];
static int seq;

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static void
rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
put(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write_all(fd, data, len) < 0)
		fprintf(stderr, "# cannot write %s\n", path);
	close(fd);
}

static void
puts0(const char *path, const char *data)
{
	put(path, data, strlen(data));
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* A new home with an empty Maildir; returns its path (static). */
static const char *
new_home(void)
{
	static char home[600];
	char p[700];

	snprintf(home, sizeof(home), "%s/h%d", top, ++seq);
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

/* home/Maildir/<sub>/<name> */
static char *
mpath(const char *home, const char *sub, const char *name)
{
	static char p[2][1024];
	static int k;

	k ^= 1;
	snprintf(p[k], sizeof(p[k]), "%s/Maildir/%s%s%s", home, sub,
	    *name ? "/" : "", name);
	return p[k];
}

static enum store_result
open_home(const char *home, int flags, struct store **st)
{
	struct store_user u = { "alice", home };
	char err[512] = "";
	enum store_result r = store_open_inbox("maildir:~/Maildir", &u, flags,
	    st, err, sizeof(err));

	if (r != STORE_OK)
		tap_diag("open: %s", err);
	return r;
}



static int
find(struct store *st, const char *uniq)
{
	for (unsigned i = 0; i < store_count(st); i++)
		if (strcmp(store_filename(st, i), uniq) == 0)
			return (int)i;
	return -1;
}

static enum store_result
open_loc(const char *loc, const char *user, const char *home, char *err,
    size_t errlen)
{
	struct store_user u = { user, home };
	struct store *st;
	enum store_result r = store_open_inbox(loc, &u, 0, &st, err, errlen);

	store_close(st);
	return r;
}

static void
test_location(void)
{
	const char *home = new_home();
	char err[512], p[700];

	tap_is_int(open_loc("maildir:~/Maildir", "alice", home, err,
	    sizeof(err)), STORE_OK, "location_maildir_home");
	tap_is_int(open_loc("maildir:~/M%%d", "alice", home, err,
	    sizeof(err)), STORE_OK, "location_percent_percent");
	snprintf(p, sizeof(p), "%s/M%%d/cur", home);
	tap_ok(exists(p), "location_percent_percent_makes_literal_percent");
	tap_is_int(open_loc("maildir:~/A::B/", "alice", home, err,
	    sizeof(err)), STORE_OK, "location_double_colon_escape");
	snprintf(p, sizeof(p), "%s/A:B/new", home);
	tap_ok(exists(p), "location_double_colon_is_literal_colon");
	tap_is_int(open_loc("maildir:~/Maildir:INBOX=~/in-%u", "bob", home,
	    err, sizeof(err)), STORE_OK, "location_inbox_param");
	snprintf(p, sizeof(p), "%s/in-bob/cur", home);
	tap_ok(exists(p), "location_inbox_param_and_user_expanded");
	tap_is_int(open_loc("maildir:~/x:LAYOUT=fs", "alice", home, err,
	    sizeof(err)), STORE_EPERM, "location_unknown_param_refused");
	tap_ok(strstr(err, "LAYOUT") != NULL, "location_error_names_param");
	tap_is_int(open_loc("maildir:~/x:INBOX=/a:INBOX=/b", "alice", home,
	    err, sizeof(err)), STORE_EPERM, "location_inbox_twice_refused");
	tap_is_int(open_loc("sdbox:~/x", "alice", home, err, sizeof(err)),
	    STORE_EPERM, "location_unknown_format_refused");
	tap_is_int(open_loc("maildir:", "alice", home, err, sizeof(err)),
	    STORE_EPERM, "location_empty_path_refused");
	tap_is_int(open_loc("maildir:Maildir", "alice", home, err,
	    sizeof(err)), STORE_EPERM, "location_relative_path_refused");
	tap_is_int(open_loc("maildir:~/%n", "alice", home, err, sizeof(err)),
	    STORE_EPERM, "location_unknown_variable_refused");
	tap_is_int(open_loc("maildir:/tmp/%u", "../etc", home, err,
	    sizeof(err)), STORE_EPERM, "location_user_with_slash_refused");
	tap_is_int(open_loc("maildir:/tmp/%u", ".hidden", home, err,
	    sizeof(err)), STORE_EPERM, "location_user_with_leading_dot_refused");
	tap_is_int(open_loc("maildir:~/x", "alice", "relative", err,
	    sizeof(err)), STORE_EPERM, "location_relative_home_refused");
}

static void
test_listing(void)
{
	const char *home = new_home();
	struct store *st;

	puts0(mpath(home, "cur", "1000.M2.h:2,S"), "b\n");
	puts0(mpath(home, "new", "1000.M1.h"), "a\n");
	puts0(mpath(home, "cur", "1000.M3.h"), "c\n");	/* no ":2," */
	puts0(mpath(home, "cur", ".hidden"), "x\n");
	if (open_home(home, POP3, &st) != STORE_OK)
		return;
	tap_is_int(store_count(st), 3, "maildir_lists_cur_and_new");
	tap_is_str(store_filename(st, 0), "1000.M1.h",
	    "maildir_uids_in_unique_name_order");
	tap_ok(store_uid(st, 0) == 1 && store_uid(st, 1) == 2 &&
	    store_uid(st, 2) == 3, "maildir_first_uids_are_1_2_3");
	tap_is_str(store_filename(st, 1), "1000.M2.h",
	    "maildir_unique_name_stops_at_colon");
	tap_is_str(store_filename(st, 2), "1000.M3.h",
	    "maildir_name_without_info_is_unique_name");
	tap_ok(store_uidvalidity(st) != 0, "maildir_uidvalidity_set");
	store_close(st);
}

static void
test_wire_sizes(void)
{
	static const struct { const char *name, *body; } m[] = {
		{ "2000.lf", "Subject: a\n\nline\n" },
		{ "2001.crlf", "Subject: a\r\n\r\nline\r\n" },
		{ "2002.mixed", "a\r\nb\nc\r\n" },
		{ "2003.barecr", "a\rb\n\r" },
		{ "2004.nofinal", "Subject: x\n\nno newline" },
		{ "2005.empty", "" },
		{ "2006.from", "From me\n>From you\n" },
	};
	const char *home = new_home();
	struct store *st;
	int ok = 1;

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		puts0(mpath(home, "cur", m[i].name), m[i].body);
	if (open_home(home, POP3, &st) != STORE_OK)
		return;
	for (unsigned i = 0; i < store_count(st); i++) {
		int64_t w = store_wire_size(st, i), s = wire_streamed(st, i);

		if (w != s) {
			tap_diag("%s: size %lld, streamed %lld",
			    store_filename(st, i), (long long)w, (long long)s);
			ok = 0;
		}
	}
	tap_ok(ok && store_count(st) == 7, "maildir_wire_size_equals_streamed"
	    "_bytes_for_all_shapes");
	tap_is_int(store_wire_size(st, (unsigned)find(st, "2005.empty")), 0,
	    "maildir_zero_byte_file_size_0");
	tap_is_int(store_wire_size(st, (unsigned)find(st, "2004.nofinal")),
	    26, "maildir_no_final_newline_gets_crlf");
	store_close(st);
}

static void
test_w_and_s_fields(void)
{
	const char *home = new_home();
	struct store *st;

	puts0(mpath(home, "cur", "3000.a,S=2,W=4:2,S"), "x\n");
	puts0(mpath(home, "cur", "3001.b,W=777:2,"), "x\n");
	puts0(mpath(home, "cur", "3002.c,S=2,W=999:2,"), "x\n");
	if (open_home(home, POP3, &st) != STORE_OK)
		return;
	tap_is_int(st->msgs[find(st, "3000.a,S=2,W=4")].wire, 4,
	    "maildir_w_field_known_without_reading");
	tap_is_int(store_wire_size(st, (unsigned)find(st, "3001.b,W=777")),
	    777, "maildir_w_field_trusted_like_dovecot");
	tap_is_int(store_wire_size(st, (unsigned)find(st, "3002.c,S=2,W=999")),
	    3, "maildir_w_inconsistent_with_s_ignored");
	store_close(st);
}

static void
test_uid_stability(void)
{
	const char *home = new_home();
	struct store *st;
	uint32_t uv, u1, u2;

	puts0(mpath(home, "new", "4000.a"), "a\n");
	puts0(mpath(home, "new", "4001.b"), "b\n");
	if (open_home(home, POP3, &st) != STORE_OK)
		return;
	uv = store_uidvalidity(st);
	u1 = store_uid(st, 0);
	u2 = store_uid(st, 1);
	store_close(st);
	rename(mpath(home, "new", "4000.a"), mpath(home, "cur", "4000.a:2,S"));
	unlink(mpath(home, "new", "4001.b"));
	puts0(mpath(home, "new", "3999.z"), "z\n");	/* sorts first */
	if (open_home(home, POP3, &st) != STORE_OK)
		return;
	tap_is_int(store_uidvalidity(st), uv, "maildir_uidvalidity_stable");
	tap_ok(store_count(st) == 2 && store_uid(st, find(st, "4000.a")) == u1,
	    "maildir_uid_stable_across_reopen_and_flag_change");
	tap_is_int(store_uid(st, find(st, "3999.z")), u2 + 1,
	    "maildir_uid_never_reused_new_mail_gets_uidnext");
	store_close(st);
}

static void
test_snapshot(void)
{
	const char *home = new_home();
	struct store *st;
	unsigned char del[2] = { 1, 1 };

	puts0(mpath(home, "new", "5000.a"), "a\n");
	puts0(mpath(home, "new", "5001.b"), "b\n");
	if (open_home(home, STORE_SESSION_LOCK, &st) != STORE_OK)
		return;
	puts0(mpath(home, "new", "5002.late"), "late\n");
	tap_is_int(store_count(st), 2, "maildir_delivery_after_open_not_listed");
	tap_is_int(store_expunge(st, del, NULL, 0), STORE_OK,
	    "maildir_expunge_all_listed");
	store_close(st);
	tap_ok(exists(mpath(home, "new", "5002.late")) &&
	    !exists(mpath(home, "new", "5000.a")) &&
	    !exists(mpath(home, "new", "5001.b")),
	    "maildir_delivery_after_open_not_deleted_by_expunge");
	if (open_home(home, POP3, &st) != STORE_OK)
		return;
	tap_ok(store_count(st) == 1 && store_uid(st, 0) == 3,
	    "maildir_late_delivery_listed_next_session");
	store_close(st);
}

static void
test_expunge_exact(void)
{
	const char *home = new_home();
	/* sorted: 6000.m 6001.m 6001.mx 6002.m 6003.m 6004.m */
	unsigned char del[6] = { 0, 1, 0, 1, 0, 0 };
	struct store *st;
	char name[32], list[8192] = "";
	int fd;

	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "600%d.m:2,S", i);
		puts0(mpath(home, "cur", name), "m\n");
	}
	puts0(mpath(home, "cur", "6001.mx:2,"), "similar prefix\n");
	if (open_home(home, POP3, &st) != STORE_OK)
		return;
	tap_is_int(store_count(st), 6, "maildir_expunge_setup");
	tap_is_int(store_expunge(st, del, NULL, 0), STORE_OK,
	    "maildir_expunge_ok");
	tap_is_int(store_count(st), 4, "maildir_expunge_leaves_the_rest_listed");
	store_close(st);
	tap_ok(exists(mpath(home, "cur", "6000.m:2,S")) &&
	    !exists(mpath(home, "cur", "6001.m:2,S")) &&
	    exists(mpath(home, "cur", "6001.mx:2,")) &&
	    !exists(mpath(home, "cur", "6002.m:2,S")) &&
	    exists(mpath(home, "cur", "6003.m:2,S")) &&
	    exists(mpath(home, "cur", "6004.m:2,S")),
	    "maildir_expunge_removes_exactly_the_marked");
	fd = open(mpath(home, "", "postern-uidlist"), O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, list, sizeof(list) - 1);

		list[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	tap_ok(strstr(list, " 6001.m\n") == NULL && strstr(list, "6002.m\n") ==
	    NULL && strstr(list, " 6001.mx\n") != NULL,
	    "maildir_expunge_updates_uid_list");
}

static void
test_renamed_by_other_client(void)
{
	const char *home = new_home();
	unsigned char del[1] = { 1 };
	struct store *st;
	size_t len;
	char *b;

	puts0(mpath(home, "new", "7000.a"), "hello\n");
	if (open_home(home, POP3, &st) != STORE_OK)
		return;
	rename(mpath(home, "new", "7000.a"), mpath(home, "cur", "7000.a:2,S"));
	b = stream(st, 0, &len);
	tap_ok(b != NULL && strcmp(b, "hello\n") == 0,
	    "maildir_stream_finds_renamed_message");
	free(b);
	rename(mpath(home, "cur", "7000.a:2,S"), mpath(home, "cur",
	    "7000.a:2,RS"));
	tap_is_int(store_expunge(st, del, NULL, 0), STORE_OK,
	    "maildir_expunge_finds_renamed_message");
	tap_ok(!exists(mpath(home, "cur", "7000.a:2,RS")),
	    "maildir_expunge_removed_renamed_message");
	store_close(st);
}

static void
test_gone_message(void)
{
	const char *home = new_home();
	unsigned char del[1] = { 1 };
	struct msg_stream *ms;
	struct store *st;

	puts0(mpath(home, "new", "7100.a"), "x\n");
	if (open_home(home, POP3, &st) != STORE_OK)
		return;
	unlink(mpath(home, "new", "7100.a"));
	tap_is_int(store_msg_open(st, 0, &ms), STORE_ENOENT,
	    "maildir_message_removed_by_other_is_error_not_crash");
	tap_is_int(store_wire_size(st, 0), -1,
	    "maildir_size_of_removed_message_is_minus_1");
	tap_is_int(store_expunge(st, del, NULL, 0), STORE_OK,
	    "maildir_expunge_of_already_gone_is_ok");
	store_close(st);
}

static void
test_odd_entries(void)
{
	const char *home = new_home();
	struct store *st;
	char target[700];

	snprintf(target, sizeof(target), "%s/secret", home);
	puts0(target, "do not read\n");
	if (symlink(target, mpath(home, "cur", "8000.link:2,S")) < 0)
		tap_diag("symlink: %s", strerror(errno));
	mkdir(mpath(home, "cur", "8001.dir:2,"), 0700);
	mkfifo(mpath(home, "new", "8002.fifo"), 0600);
	puts0(mpath(home, "cur", "8003.real:2,"), "ok\n");
	if (open_home(home, POP3, &st) != STORE_OK)
		return;
	tap_ok(store_count(st) == 1 && find(st, "8003.real") == 0,
	    "maildir_symlink_dir_fifo_skipped");
	store_close(st);
}

static void
test_session_lock(void)
{
	const char *home = new_home();
	struct store *st;
	int go[2], done[2];
	pid_t pid;
	char c;

	if (pipe(go) < 0 || pipe(done) < 0)
		return;
	if ((pid = fork()) == 0) {
		close(go[0]);
		if (open_home(home, STORE_SESSION_LOCK, &st) == STORE_OK) {
			if (write(go[1], "x", 1) == 1)
				(void)!read(done[0], &c, 1);
			store_close(st);
		}
		_exit(0);
	}
	close(go[1]);
	tap_ok(read(go[0], &c, 1) == 1, "maildir_child_holds_session");
	tap_is_int(open_home(home, STORE_SESSION_LOCK, &st), STORE_EINUSE,
	    "maildir_second_session_in_use");
	tap_is_int(open_home(home, 0, &st), STORE_OK,
	    "maildir_open_without_session_lock_allowed");
	store_close(st);
	(void)!write(done[1], "x", 1);
	waitpid(pid, NULL, 0);
	tap_is_int(open_home(home, STORE_SESSION_LOCK, &st), STORE_OK,
	    "maildir_session_lock_released_at_close");
	store_close(st);
	close(go[0]), close(done[0]), close(done[1]);
}

static void
test_import(const char *file, const char *text, const char *what)
{
	const char *home = new_home();
	struct store *st;
	char name[96];

	puts0(mpath(home, "", file), text);
	puts0(mpath(home, "cur", "9000.a:2,S"), "a\n");
	puts0(mpath(home, "cur", "9001.b:2,"), "bb\n");
	puts0(mpath(home, "new", "9002.new"), "c\n");
	if (open_home(home, POP3, &st) != STORE_OK)
		return;
	snprintf(name, sizeof(name), "maildir_import_%s_keeps_uidvalidity",
	    what);
	tap_is_int(store_uidvalidity(st), 1234567, name);
	snprintf(name, sizeof(name), "maildir_import_%s_keeps_uids", what);
	tap_ok(store_uid(st, find(st, "9000.a")) == 17 &&
	    store_uid(st, find(st, "9001.b")) == 42, "%s", name);
	snprintf(name, sizeof(name), "maildir_import_%s_new_mail_after_uidnext",
	    what);
	tap_is_int(store_uid(st, find(st, "9002.new")), 50, name);
	store_close(st);
	snprintf(name, sizeof(name), "maildir_import_%s_writes_our_list", what);
	tap_ok(exists(mpath(home, "", "postern-uidlist")), "%s", name);
}

static void
test_imports(void)
{
	const char *home;
	struct store *st;

	test_import("dovecot-uidlist", "1 1234567 50\n17 9000.a:2,S\n"
	    "42 9001.b\n30 9999.gone\n", "dovecot_v1");
	test_import("dovecot-uidlist", "3 V1234567 N50 Gabc\n"
	    "17 :9000.a:2,S\n42 W5 :9001.b:2,\n", "dovecot_v3");
	test_import("courierimapuiddb", "1 1234567 50\n17 9000.a\n"
	    "42 9001.b:2,F\n", "courier");
	home = new_home();
	puts0(mpath(home, "", "dovecot-uidlist"),
	    "3 V77 N10\n4 W12345 :9100.x:2,S\n");
	puts0(mpath(home, "cur", "9100.x:2,S"), "x\n");
	if (open_home(home, POP3, &st) != STORE_OK)
		return;
	tap_is_int(st->msgs[0].wire, 12345, "maildir_import_dovecot_w_size");
	store_close(st);
}

static void
test_corrupt_list(void)
{
	const char *home = new_home();
	struct store *st;

	puts0(mpath(home, "cur", "9200.a"), "a\n");
	puts0(mpath(home, "cur", "9201.b"), "b\n");
	puts0(mpath(home, "", "postern-uidlist"), "postern-uidlist 1 V99 N20\n"
	    "5 - 9200.a\n\x01\xff garbage\n7 x 9201.b\n12345678901 - z\n");
	if (open_home(home, POP3, &st) != STORE_OK)
		return;
	tap_ok(store_uidvalidity(st) == 99 && store_uid(st, 0) == 5 &&
	    store_uid(st, 1) == 20, "maildir_bad_lines_skipped_good_kept");
	store_close(st);
	puts0(mpath(home, "", "postern-uidlist"), "\x7f" "ELF garbage");
	if (open_home(home, POP3, &st) != STORE_OK)
		return;
	tap_ok(store_uidvalidity(st) != 99 && store_count(st) == 2 &&
	    store_uid(st, 0) == 1, "maildir_bad_header_new_uidvalidity");
	store_close(st);
	puts0(mpath(home, "", "postern-uidlist"), "postern-uidlist 1 V5 N9\n"
	    "3 - 9200.a\n4 - 9201");	/* torn last line */
	if (open_home(home, POP3, &st) != STORE_OK)
		return;
	tap_ok(store_uid(st, 0) == 3 && store_uid(st, 1) == 9,
	    "maildir_torn_line_not_matched");
	store_close(st);
}

/* Sizes computed by a STAT pass are cached in the index (postern-index)
 * and known at the next open without reading a message. */
static void
test_sizes_persisted(void)
{
	const char *home = new_home();
	struct store *st;
	int known = 1;

	puts0(mpath(home, "cur", "9300.a"), "aaa\n");
	puts0(mpath(home, "cur", "9301.b"), "b\nb\n");
	if (open_home(home, POP3, &st) != STORE_OK)
		return;
	for (unsigned i = 0; i < store_count(st); i++)
		store_wire_size(st, i);		/* a STAT pass */
	store_close(st);
	if (!exists(mpath(home, "", "postern-index"))) {
		tap_ok(1, "maildir_sizes_known_at_next_open_without_reading "
		    "# SKIP no index.c in this tree");
		return;
	}
	if (open_home(home, POP3, &st) != STORE_OK)
		return;
	for (unsigned i = 0; i < store_count(st); i++)
		known &= st->msgs[i].wire >= 0;
	tap_ok(known && st->msgs[0].wire == 5 && st->msgs[1].wire == 6,
	    "maildir_sizes_known_at_next_open_without_reading");
	store_close(st);
}

static void
test_list_lock(void)
{
	const char *home = new_home();
	struct timespec old[2] = { { time(NULL) - 200, 0 },
	    { time(NULL) - 200, 0 } };
	struct store *st;
	int64_t t0;

	puts0(mpath(home, "cur", "9400.a"), "a\n");
	puts0(mpath(home, "", "postern-uidlist.lock"), "1\n");
	utimensat(AT_FDCWD, mpath(home, "", "postern-uidlist.lock"), old, 0);
	tap_is_int(open_home(home, POP3, &st), STORE_OK,
	    "maildir_stale_list_lock_broken");
	store_close(st);
	tap_ok(!exists(mpath(home, "", "postern-uidlist.lock")),
	    "maildir_list_lock_removed_after_use");
	puts0(mpath(home, "", "postern-uidlist.lock"), "1\n");
	t0 = now_ms();
	tap_is_int(open_home(home, POP3, &st), STORE_ETEMP,
	    "maildir_fresh_list_lock_gives_etemp");
	tap_ok(now_ms() - t0 >= 9000, "maildir_list_lock_waited_about_10s");
	unlink(mpath(home, "", "postern-uidlist.lock"));
}

static void
test_exhausted(void)
{
	const char *home = new_home();
	struct store *st;

	puts0(mpath(home, "cur", "9500.a"), "a\n");
	puts0(mpath(home, "cur", "9501.b"), "b\n");
	puts0(mpath(home, "", "postern-uidlist"), "postern-uidlist 1 V8 "
	    "N4294967295\n4294967294 - 9500.a\n");
	if (open_home(home, POP3, &st) != STORE_OK)
		return;
	tap_ok(store_uidvalidity(st) != 8 && store_uid(st, 0) == 1 &&
	    store_uid(st, 1) == 2, "maildir_uids_exhausted_new_uidvalidity");
	store_close(st);
}

static void
test_absent_maildir_created(void)
{
	char home[600], p[700];
	struct store *st;

	snprintf(home, sizeof(home), "%s/fresh", top);
	mkdir(home, 0700);
	tap_is_int(open_home(home, STORE_SESSION_LOCK, &st), STORE_OK,
	    "maildir_absent_is_created_empty");
	tap_is_int(store_count(st), 0, "maildir_absent_lists_nothing");
	store_close(st);
	snprintf(p, sizeof(p), "%s/Maildir/tmp", home);
	tap_ok(exists(p), "maildir_absent_gets_cur_new_tmp");
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	log_open("test_store_maildir", getenv("TEST_VERBOSE") ? "/dev/stderr" :
	    "/dev/null");
	snprintf(top, sizeof(top), "%s/postern-md.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_location();
	test_listing();
	test_wire_sizes();
	test_w_and_s_fields();
	test_uid_stability();
	test_snapshot();
	test_expunge_exact();
	test_renamed_by_other_client();
	test_gone_message();
	test_odd_entries();
	test_session_lock();
	test_imports();
	test_corrupt_list();
	test_sizes_persisted();
	test_exhausted();
	test_absent_maildir_created();
	test_list_lock();
	rm_rf(top);
	return tap_done();
}
