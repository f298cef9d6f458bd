/*
 * test_maildir_imap.c - store.h on a Maildir as imapd uses it: flags
 * and keywords, modseqs shared between sessions, \Recent, store_sync()
 * reporting what a second handle, mutt (rename) or an MTA (new file)
 * did, append/copy/move transactions, the expunge log, read-only views,
 * migration from Dovecot, damaged files, and the system calls an
 * unchanged folder costs.
 *
 * Tests that need the shared index (modseqs across handles, the expunge
 * log, the no-readdir reopen) are skipped when the tree has no index.c.
 */
#include <errno.h>
#include <poll.h>
#include <sys/wait.h>
#include <time.h>

#include "log.h"
#include "maildir_util.h"
#include "store_int.h"

/* Longer than the index's mtime settling time (maildir_int.h). */
#define MD_SETTLE_WAIT 3

static int have_index;

static void
skip(const char *name)
{
	tap_ok(1, "%s # SKIP no index.c in this tree", name);
}

static enum store_result
set(struct store *st, const char *uniq, enum store_flag_op op,
    unsigned flags, kwset_t kw, uint64_t unchangedsince)
{
	int i = md_find(st, uniq);
	char err[256];
	enum store_result r;

	if (i < 0)
		return STORE_ENOENT;
	r = store_set_flags(st, (unsigned)i, op, flags, kw, unchangedsince,
	    err, sizeof(err));
	if (r != STORE_OK && r != STORE_EMODIFIED)
		tap_diag("set_flags: %s", err);
	return r;
}

static int64_t
wire_of(struct store *st, unsigned i)
{
	return store_wire_size(st, i);
}

static uint64_t
modseq(struct store *st, const char *uniq)
{
	int i = md_find(st, uniq);

	return i < 0 ? 0 : store_modseq(st, (unsigned)i);
}

static unsigned
flags(struct store *st, const char *uniq)
{
	int i = md_find(st, uniq);

	return i < 0 ? 0xffff : store_flags(st, (unsigned)i);
}

static void
test_flags(void)
{
	const char *home = md_home();
	struct store *st;
	uint64_t m0, m1, m2;
	char *kwf, name[16];
	int k, full = 0;

	md_put(md_path(home, "cur", "1000.a:2,P"), "a\n");
	md_put(md_path(home, "cur", "1001.b:2,S"), "b\n");
	if (md_open(home, STORE_SELECT, &st) != STORE_OK)
		return;
	m0 = modseq(st, "1000.a");
	tap_is_int(set(st, "1000.a", STORE_FLAGS_ADD, MF_SEEN, 0, 0), STORE_OK,
	    "flags_add_seen");
	tap_ok(md_exists(md_path(home, "cur", "1000.a:2,PS")),
	    "flags_add_renames_keeping_other_letters");
	m1 = modseq(st, "1000.a");
	tap_ok(m1 > m0 && store_highestmodseq(st) == m1,
	    "flags_change_raises_modseq_and_highestmodseq");
	k = store_keyword(st, "$Junk", 1);
	tap_is_int(k, 0, "keyword_created_at_index_0");
	kwf = md_slurp(md_path(home, "", "postern-keywords"));
	tap_ok(kwf != NULL && strcmp(kwf, "0 $Junk\n") == 0,
	    "keyword_written_to_postern_keywords");
	free(kwf);
	tap_is_int(store_keyword(st, "$junk", 0), 0,
	    "keyword_lookup_is_case_insensitive");
	set(st, "1000.a", STORE_FLAGS_ADD, 0, 1u << k, 0);
	tap_ok(md_exists(md_path(home, "cur", "1000.a:2,PSa")),
	    "keyword_add_is_letter_a");
	set(st, "1000.a", STORE_FLAGS_REMOVE, MF_SEEN, 0, 0);
	tap_ok(md_exists(md_path(home, "cur", "1000.a:2,Pa")),
	    "flags_remove");
	set(st, "1000.a", STORE_FLAGS_SET, MF_FLAGGED, 0, 0);
	tap_ok(md_exists(md_path(home, "cur", "1000.a:2,FP")) &&
	    flags(st, "1000.a") == MF_FLAGGED &&
	    store_msg_keywords(st, (unsigned)md_find(st, "1000.a")) == 0,
	    "flags_set_replaces_flags_and_keywords_keeps_other");
	m1 = modseq(st, "1000.a");
	tap_is_int(set(st, "1000.a", STORE_FLAGS_ADD, MF_FLAGGED, 0, 0),
	    STORE_OK, "flags_noop_ok");
	tap_ok(modseq(st, "1000.a") == m1, "flags_noop_keeps_modseq");
	tap_is_int(set(st, "1000.a", STORE_FLAGS_ADD, MF_SEEN, 0, m1 - 1),
	    STORE_EMODIFIED, "unchangedsince_below_modseq_fails");
	tap_ok(md_exists(md_path(home, "cur", "1000.a:2,FP")) &&
	    modseq(st, "1000.a") == m1, "unchangedsince_failure_changes_nothing");
	tap_is_int(set(st, "1000.a", STORE_FLAGS_ADD, MF_SEEN, 0, m1),
	    STORE_OK, "unchangedsince_equal_to_modseq_succeeds");
	m2 = modseq(st, "1000.a");
	tap_ok(m2 > m1 && md_exists(md_path(home, "cur", "1000.a:2,FPS")),
	    "unchangedsince_change_applied");
	for (int i = 1; i < 30; i++) {
		snprintf(name, sizeof(name), "kw%d", i);
		full += store_keyword(st, name, 1) == -2;
	}
	tap_is_int(full, 4, "keyword_table_full_at_26");
	store_close(st);
	if (md_open(home, STORE_RDONLY, &st) != STORE_OK)
		return;
	tap_ok(flags(st, "1000.a") == (MF_FLAGGED | MF_SEEN) &&
	    flags(st, "1001.b") == MF_SEEN, "flags_seen_after_reopen");
	tap_ok(store_keywords_table(st)->n == 26 &&
	    strcmp(store_keywords_table(st)->name[0], "$Junk") == 0,
	    "keywords_seen_after_reopen");
	if (have_index)
		tap_ok(modseq(st, "1000.a") == m2, "modseq_kept_across_reopen");
	else
		skip("modseq_kept_across_reopen");
	store_close(st);
}

static void
test_rename_conflict(void)
{
	const char *home = md_home();
	struct store *st;

	md_put(md_path(home, "cur", "2000.a:2,"), "a\n");
	md_put(md_path(home, "cur", "2001.b:2,"), "b\n");
	if (md_open(home, STORE_SELECT, &st) != STORE_OK)
		return;
	rename(md_path(home, "cur", "2000.a:2,"),
	    md_path(home, "cur", "2000.a:2,F"));
	tap_is_int(set(st, "2000.a", STORE_FLAGS_ADD, MF_SEEN, 0, 0), STORE_OK,
	    "rename_conflict_retried");
	tap_ok(md_exists(md_path(home, "cur", "2000.a:2,FS")) &&
	    flags(st, "2000.a") == (MF_FLAGGED | MF_SEEN),
	    "rename_conflict_keeps_the_other_programs_flag");
	unlink(md_path(home, "cur", "2001.b:2,"));
	tap_is_int(set(st, "2001.b", STORE_FLAGS_ADD, MF_SEEN, 0, 0),
	    STORE_ENOENT, "flags_on_removed_file_enoent");
	store_close(st);
}

static void
test_recent(void)
{
	const char *home = md_home();
	struct store *ro, *a, *b;
	struct store_changes ch;

	md_put(md_path(home, "new", "3000.a"), "a\n");
	if (md_open(home, STORE_RDONLY, &ro) != STORE_OK)
		return;
	tap_ok(store_recent_count(ro) == 1 && store_recent(ro, 0),
	    "recent_seen_by_readonly_view");
	store_close(ro);
	tap_ok(md_exists(md_path(home, "new", "3000.a")),
	    "recent_readonly_moves_nothing");
	if (md_open(home, STORE_SELECT, &a) != STORE_OK)
		return;
	tap_ok(store_recent_count(a) == 1 && store_recent(a, 0),
	    "recent_claimed_by_first_readwrite_session");
	tap_ok(!md_exists(md_path(home, "new", "3000.a")) &&
	    md_exists(md_path(home, "cur", "3000.a:2,")),
	    "recent_claim_moves_new_to_cur_with_info");
	if (md_open(home, STORE_SELECT, &b) != STORE_OK)
		return;
	tap_is_int(store_recent_count(b), 0, "recent_not_claimed_twice");
	md_put(md_path(home, "new", "3001.b"), "b\n");
	md_sync(a, 0, &ch);
	tap_ok(ch.added == 1 && store_recent_count(a) == 2,
	    "recent_new_mail_claimed_at_sync");
	store_changes_free(&ch);
	md_sync(b, 0, &ch);
	tap_ok(ch.added == 1 && store_recent_count(b) == 0,
	    "recent_other_session_sees_it_not_recent");
	store_changes_free(&ch);
	store_close(a);
	store_close(b);
}

static void
test_modseq_shared(void)
{
	const char *home = md_home();
	struct store *a, *b;
	struct store_changes ch;
	uint64_t m1, m2;

	md_put(md_path(home, "cur", "4000.a:2,"), "a\n");
	md_put(md_path(home, "cur", "4001.b:2,"), "b\n");
	if (md_open(home, STORE_SELECT, &a) != STORE_OK || md_open(home, STORE_SELECT, &b) !=
	    STORE_OK)
		return;
	set(a, "4000.a", STORE_FLAGS_ADD, MF_SEEN, 0, 0);
	m1 = modseq(a, "4000.a");
	md_sync(b, 0, &ch);
	tap_ok(ch.nchanged == 1 && ch.changed[0] == 0 && ch.nexpunged == 0 &&
	    ch.added == 0, "sync_reports_other_handles_flag_change");
	tap_ok(flags(b, "4000.a") == MF_SEEN, "sync_brings_the_new_flags");
	store_changes_free(&ch);
	if (have_index)
		tap_is_int((long long)modseq(b, "4000.a"), (long long)m1,
		    "modseq_shared_between_handles");
	else
		skip("modseq_shared_between_handles");
	set(b, "4001.b", STORE_FLAGS_ADD, MF_FLAGGED, 0, 0);
	m2 = modseq(b, "4001.b");
	tap_ok(m2 > m1, "modseq_monotonic_across_handles");
	md_sync(a, 0, &ch);
	tap_ok(ch.nchanged == 1 && ch.changed[0] == 1 &&
	    flags(a, "4001.b") == MF_FLAGGED, "sync_reports_the_reverse_too");
	store_changes_free(&ch);
	if (have_index)
		tap_ok(store_highestmodseq(a) == m2 &&
		    store_highestmodseq(b) == m2,
		    "highestmodseq_agrees_between_handles");
	else
		skip("highestmodseq_agrees_between_handles");
	set(a, "4000.a", STORE_FLAGS_ADD, MF_ANSWERED, 0, 0);
	md_sync(a, 0, &ch);
	tap_ok(ch.nchanged == 0 && ch.nexpunged == 0 && ch.added == 0,
	    "sync_never_reports_own_changes");
	store_changes_free(&ch);
	md_sync(a, 0, &ch);
	tap_ok(ch.nchanged == 0, "sync_twice_reports_nothing");
	store_changes_free(&ch);
	store_close(a);
	store_close(b);
}

static void
test_sync_second_handle(void)
{
	const char *home = md_home();
	unsigned char del[2] = { 1, 0 };
	struct store *a, *b, *ro;
	struct store_changes ch;
	uint32_t uid;

	md_put(md_path(home, "cur", "4500.a:2,"), "a\n");
	md_put(md_path(home, "cur", "4501.b:2,"), "b\n");
	if (md_open(home, STORE_SELECT, &a) != STORE_OK || md_open(home, STORE_SELECT, &b) !=
	    STORE_OK)
		return;
	uid = md_append1(b, "appended by b\n", MF_DRAFT, 0, -1);
	tap_is_int(store_expunge(b, del, NULL, 0), STORE_OK,
	    "second_handle_expunges");
	md_sync(a, 0, &ch);
	tap_ok(ch.nexpunged == 1 && ch.expunged[0] == 1 && ch.added == 1 &&
	    store_count(a) == 2 && store_uid(a, 1) == uid &&
	    store_flags(a, 1) == MF_DRAFT,
	    "sync_reports_second_handles_expunge_and_append");
	store_changes_free(&ch);
	md_sync(b, 0, &ch);
	tap_ok(ch.nexpunged == 0 && ch.added == 1 && store_count(b) == 2,
	    "appending_handle_sees_its_message_at_its_sync");
	store_changes_free(&ch);
	if (md_open(home, STORE_RDONLY, &ro) == STORE_OK) {
		tap_is_int(store_copy(a, 0, ro, NULL, 0), STORE_ERDONLY,
		    "copy_into_readonly_refused");
		tap_ok(wire_of(ro, 1) == 15 && store_internal_date(ro, 1) > 0,
		    "readonly_reads_sizes_and_dates");
		store_close(ro);
	}
	store_close(a);
	store_close(b);
}

static void
test_sync_outside(void)
{
	const char *home = md_home();
	struct store *a;
	struct store_changes ch;
	uint64_t h0;

	md_put(md_path(home, "cur", "5000.a:2,"), "a\n");
	md_put(md_path(home, "cur", "5001.b:2,"), "b\n");
	md_put(md_path(home, "cur", "5002.c:2,"), "c\n");
	if (md_open(home, STORE_SELECT, &a) != STORE_OK)
		return;
	h0 = store_highestmodseq(a);
	rename(md_path(home, "cur", "5001.b:2,"),
	    md_path(home, "cur", "5001.b:2,S"));	/* mutt */
	unlink(md_path(home, "cur", "5000.a:2,"));
	md_put(md_path(home, "new", "5003.d"), "d\n");	/* an MTA */
	md_sync(a, 0, &ch);
	tap_ok(ch.nexpunged == 1 && ch.expunged[0] == 1,
	    "sync_reports_unlink_as_expunge_seq_1");
	tap_ok(ch.added == 1 && store_count(a) == 3 &&
	    store_recent(a, (unsigned)md_find(a, "5003.d")),
	    "sync_reports_delivery_recent");
	tap_ok(ch.nchanged == 1 && ch.changed[0] ==
	    (unsigned)md_find(a, "5001.b") && flags(a, "5001.b") == MF_SEEN,
	    "sync_reports_rename_as_flag_change");
	tap_ok(modseq(a, "5001.b") > h0 && store_highestmodseq(a) >=
	    modseq(a, "5001.b"), "rename_by_mutt_gets_fresh_modseq");
	tap_ok(store_uid(a, (unsigned)md_find(a, "5003.d")) == 4 &&
	    store_uidnext(a) == 5, "delivery_gets_next_uid");
	store_changes_free(&ch);
	store_close(a);
}

static void
test_keep_expunged(void)
{
	const char *home = md_home();
	struct store *a;
	struct store_changes ch;
	struct msg_stream *ms;

	md_put(md_path(home, "cur", "6000.a:2,"), "a\n");
	md_put(md_path(home, "cur", "6001.b:2,"), "b\n");
	md_put(md_path(home, "cur", "6002.c:2,"), "c\n");
	if (md_open(home, STORE_SELECT, &a) != STORE_OK)
		return;
	unlink(md_path(home, "cur", "6000.a:2,"));
	unlink(md_path(home, "cur", "6002.c:2,"));
	md_sync(a, STORE_SYNC_KEEP_EXPUNGED, &ch);
	tap_ok(ch.nexpunged == 0 && store_count(a) == 3 && store_gone(a, 0) &&
	    !store_gone(a, 1) && store_gone(a, 2),
	    "keep_expunged_keeps_them_as_gone");
	tap_is_int(store_msg_open(a, 0, &ms), STORE_ENOENT,
	    "keep_expunged_gone_cannot_be_read");
	tap_is_int(store_set_flags(a, 0, STORE_FLAGS_ADD, MF_SEEN, 0, 0,
	    NULL, 0), STORE_ENOENT, "keep_expunged_gone_cannot_be_stored");
	store_changes_free(&ch);
	md_sync(a, 0, &ch);
	tap_ok(ch.nexpunged == 2 && ch.expunged[0] == 1 &&
	    ch.expunged[1] == 2 && store_count(a) == 1,
	    "keep_expunged_reported_at_next_sync");
	store_changes_free(&ch);
	store_close(a);
}

static void
test_append(void)
{
	const char *home = md_home();
	const char *text = "Subject: x\r\n\r\nbody\r\n";
	struct store *a;
	struct store_append *ap;
	struct store_changes ch;
	uint32_t uid, uids[3], uv;
	size_t n;
	struct stat sb;
	char *got, p[1100];
	int i;

	if (md_open(home, STORE_SELECT, &a) != STORE_OK)
		return;
	uid = md_append1(a, text, MF_SEEN, 0, 1000000000);
	tap_is_int(uid, 1, "append_first_uid_1");
	snprintf(p, sizeof(p), "%s", md_path(home, "cur", md_file(home, "cur",
	    "")));
	tap_ok(strstr(p, ",S=17,W=20:2,S") != NULL,
	    "append_name_has_sizes_and_flags");
	got = md_slurp(p);
	tap_ok(got != NULL && strcmp(got, "Subject: x\n\nbody\n") == 0,
	    "append_stores_lf_line_ends");
	free(got);
	tap_ok(stat(p, &sb) == 0 && sb.st_mtime == 1000000000,
	    "append_mtime_is_internal_date");
	tap_is_int(store_count(a), 0, "append_joins_view_only_at_sync");
	md_sync(a, 0, &ch);
	tap_ok(ch.added == 1 && store_count(a) == 1 && store_uid(a, 0) == 1,
	    "append_seen_at_sync");
	store_changes_free(&ch);
	tap_is_int(store_internal_date(a, 0), 1000000000,
	    "append_internal_date");
	tap_is_int(store_wire_size(a, 0), 20, "append_wire_size");
	for (i = 0; i < 2; i++) {
		store_append_begin(a, 0, 0, -1, &ap, NULL, 0);
		store_append_write(ap, "m\n", 2);
		store_append_end(ap, NULL, 0);
	}
	tap_is_int(store_append_commit(a, uids, &n, &uv, NULL, 0), STORE_OK,
	    "multiappend_commit");
	tap_ok(n == 2 && uids[0] == 2 && uids[1] == 3 &&
	    uv == store_uidvalidity(a), "multiappend_consecutive_uids");
	store_append_begin(a, 0, 0, -1, &ap, NULL, 0);
	store_append_write(ap, "x\n", 2);
	store_append_end(ap, NULL, 0);
	store_append_abort(a);
	tap_ok(md_nfiles(home, "tmp") == 0 && md_nfiles(home, "cur") == 3,
	    "append_abort_leaves_nothing");
	store_append_commit(a, uids, &n, &uv, NULL, 0);
	tap_is_int(n, 0, "commit_after_abort_is_empty");
	store_append_begin(a, 0, 0, -1, &ap, NULL, 0);
	tap_is_int(store_append_end(ap, NULL, 0), STORE_EBADNAME,
	    "append_empty_refused");
	store_append_begin(a, 0, 0, -1, &ap, NULL, 0);
	store_append_write(ap, "a\0b\n", 4);
	tap_is_int(store_append_end(ap, NULL, 0), STORE_EBADNAME,
	    "append_nul_refused");
	tap_is_int(md_nfiles(home, "tmp"), 0, "append_refused_leaves_nothing");
	uid = md_append1(a, "again\n", 0, 0, -1);
	tap_is_int(uid, 4, "append_after_refusals_next_uid");
	store_close(a);
}

static void
test_copy_move(void)
{
	char h1[600], h2[600];
	struct store *a, *b;
	struct store_changes ch;
	unsigned char del[1] = { 1 };
	uint32_t uids[2], uv;
	size_t n;
	struct stat s1, s2;
	int k;

	snprintf(h1, sizeof(h1), "%s", md_home());
	snprintf(h2, sizeof(h2), "%s", md_home());
	md_put(md_path(h1, "cur", "7000.a,S=2:2,S"), "a\n");
	if (md_open(h1, 0, &a) != STORE_OK || md_open(h2, 0, &b) != STORE_OK)
		return;
	k = store_keyword(a, "$Work", 1);
	set(a, "7000.a,S=2", STORE_FLAGS_ADD, MF_FLAGGED, 1u << k, 0);
	tap_is_int(store_copy(a, 0, b, NULL, 0), STORE_OK, "copy_ok");
	tap_is_int(store_append_commit(b, uids, &n, &uv, NULL, 0), STORE_OK,
	    "copy_commit");
	tap_ok(n == 1 && uids[0] == 1 && uv == store_uidvalidity(b),
	    "copy_uid_for_copyuid");
	stat(md_path(h1, "cur", md_file(h1, "cur", "7000.a")), &s1);
	stat(md_path(h2, "cur", md_file(h2, "cur", "")), &s2);
	tap_ok(s1.st_ino == s2.st_ino, "copy_maildir_to_maildir_hard_links");
	md_sync(b, 0, &ch);
	store_changes_free(&ch);
	tap_ok(store_count(b) == 1 && store_flags(b, 0) == (MF_FLAGGED |
	    MF_SEEN) && store_keywords_table(b)->n == 1 &&
	    store_msg_keywords(b, 0) == 1,
	    "copy_keeps_flags_and_adds_keywords");
	tap_is_int(store_internal_date(b, 0), s1.st_mtime,
	    "copy_keeps_internal_date");
	/* MOVE = COPY + EXPUNGE */
	tap_is_int(store_copy(a, 0, b, NULL, 0), STORE_OK, "move_copy");
	store_append_commit(b, uids, &n, &uv, NULL, 0);
	tap_is_int(store_expunge(a, del, NULL, 0), STORE_OK, "move_expunge");
	md_sync(b, 0, &ch);
	store_changes_free(&ch);
	tap_ok(store_count(a) == 0 && store_count(b) == 2 &&
	    store_uid(b, 1) == 2, "move_leaves_one_copy");
	store_close(a);
	store_close(b);
}

static void
test_expunged_since(void)
{
	const char *home = md_home();
	unsigned char del[3] = { 1, 0, 1 };
	struct store *a, *b;
	uint32_t *uids;
	size_t n;
	uint64_t h;

	md_put(md_path(home, "cur", "8000.a:2,"), "a\n");
	md_put(md_path(home, "cur", "8001.b:2,"), "b\n");
	md_put(md_path(home, "cur", "8002.c:2,"), "c\n");
	if (md_open(home, STORE_SELECT, &a) != STORE_OK)
		return;
	h = store_highestmodseq(a);
	tap_is_int(store_expunge(a, del, NULL, 0), STORE_OK, "expunge_ok");
	tap_ok(store_count(a) == 1 && store_uid(a, 0) == 2,
	    "expunge_view_drops_them");
	tap_ok(md_nfiles(home, "cur") == 1, "expunge_removes_files");
	if (!have_index) {
		skip("expunged_since_lists_uids");
		store_close(a);
		return;
	}
	tap_ok(store_highestmodseq(a) > h, "expunge_raises_highestmodseq");
	tap_ok(store_expunged_since(a, h, &uids, &n) == STORE_OK && n == 2 &&
	    uids[0] == 1 && uids[1] == 3, "expunged_since_lists_uids");
	free(uids);
	if (md_open(home, STORE_RDONLY, &b) == STORE_OK) {
		tap_ok(store_expunged_since(b, h, &uids, &n) == STORE_OK &&
		    n == 2, "expunged_since_shared_with_other_handle");
		free(uids);
		tap_ok(store_expunged_since(b, store_highestmodseq(b), &uids,
		    &n) == STORE_OK && n == 0, "expunged_since_now_is_empty");
		tap_is_int(store_expunged_since(b, 1, &uids, &n),
		    STORE_ENOENT, "expunged_since_before_the_log_unknown");
		store_close(b);
	}
	store_close(a);
}

static void
test_readonly(void)
{
	const char *home = md_home();
	struct store *ro;
	struct store_append *ap;
	struct store_changes ch;
	unsigned char del[1] = { 1 };

	md_put(md_path(home, "new", "9000.a"), "a\n");
	if (md_open(home, STORE_RDONLY, &ro) != STORE_OK)
		return;
	tap_is_int(store_set_flags(ro, 0, STORE_FLAGS_ADD, MF_SEEN, 0, 0,
	    NULL, 0), STORE_ERDONLY, "readonly_set_flags_refused");
	tap_is_int(store_expunge(ro, del, NULL, 0), STORE_ERDONLY,
	    "readonly_expunge_refused");
	tap_is_int(store_append_begin(ro, 0, 0, -1, &ap, NULL, 0),
	    STORE_ERDONLY, "readonly_append_refused");
	tap_is_int(store_keyword(ro, "new", 1), -2,
	    "readonly_keyword_create_refused");
	md_put(md_path(home, "new", "9001.b"), "b\n");
	md_sync(ro, 0, &ch);
	tap_ok(ch.added == 1 && store_count(ro) == 2 &&
	    store_recent_count(ro) == 2, "readonly_sync_sees_delivery");
	store_changes_free(&ch);
	tap_ok(md_nfiles(home, "new") == 2 && md_nfiles(home, "cur") == 0,
	    "readonly_moves_nothing");
	store_close(ro);
}

static void
test_notify(void)
{
	const char *home = md_home();
	struct store *a;
	struct store_changes ch;
	struct pollfd p;

	if (md_open(home, STORE_SELECT, &a) != STORE_OK)
		return;
	p.fd = store_notify_fd(a);
	p.events = POLLIN;
	tap_ok(p.fd >= 0 && poll(&p, 1, 0) == 0, "notify_fd_quiet");
	md_put(md_path(home, "new", "9100.a"), "a\n");
	tap_ok(poll(&p, 1, 2000) == 1, "notify_fd_readable_after_delivery");
	md_sync(a, 0, &ch);
	tap_is_int(ch.added, 1, "notify_sync_finds_the_delivery");
	store_changes_free(&ch);
	/* Claiming it moved it to cur/: our own event, drained by the
	 * next sync, which finds nothing new. */
	md_sync(a, 0, &ch);
	tap_ok(ch.added == 0 && poll(&p, 1, 0) == 0,
	    "notify_fd_drained_by_sync");
	store_changes_free(&ch);
	store_close(a);
}

static void
test_migration(void)
{
	const char *home = md_home();
	struct store *st;
	char *kw;
	int a, b;

	md_put(md_path(home, "", "dovecot-uidlist"), "3 V555 N20\n"
	    "7 :9200.a\n9 W3 :9201.b:2,F\n");
	md_put(md_path(home, "", "dovecot-keywords"), "0 $Junk\n1 NonJunk\n");
	md_put(md_path(home, "cur", "9200.a:2,Sa"), "a\n");
	md_put(md_path(home, "cur", "9201.b:2,Fb"), "b\n");
	if (md_open(home, STORE_SELECT, &st) != STORE_OK)
		return;
	a = md_find(st, "9200.a"), b = md_find(st, "9201.b");
	tap_ok(store_uidvalidity(st) == 555 && store_uid(st, a) == 7 &&
	    store_uid(st, b) == 9, "migration_dovecot_uids");
	tap_ok(store_flags(st, a) == MF_SEEN && store_msg_keywords(st, a) == 1 &&
	    store_flags(st, b) == MF_FLAGGED && store_msg_keywords(st, b) == 2,
	    "migration_flags_and_keyword_letters");
	tap_ok(store_keyword(st, "$junk", 0) == 0 &&
	    store_keyword(st, "nonjunk", 0) == 1,
	    "migration_dovecot_keywords_named");
	tap_is_int(store_keyword(st, "Later", 1), 2,
	    "migration_new_keyword_after_imported");
	kw = md_slurp(md_path(home, "", "postern-keywords"));
	tap_ok(kw != NULL && strcmp(kw, "0 $Junk\n1 NonJunk\n2 Later\n") == 0,
	    "migration_keywords_file_becomes_ours");
	free(kw);
	store_close(st);
	home = md_home();
	md_put(md_path(home, "", "courierimapuiddb"), "1 777 30\n"
	    "12 9300.a:2,S\n");
	md_put(md_path(home, "cur", "9300.a:2,S"), "a\n");
	md_put(md_path(home, "new", "9301.b"), "b\n");
	if (md_open(home, STORE_SELECT, &st) != STORE_OK)
		return;
	tap_ok(store_uidvalidity(st) == 777 && store_uid(st, 0) == 12 &&
	    store_uid(st, 1) == 30, "migration_courier_uids");
	store_close(st);
}

static void
test_corrupt(void)
{
	const char *home = md_home();
	struct store *st, *a;
	struct store_changes ch;
	char garbage[5000], err[256];
	uint32_t uv;
	int fd;

	md_put(md_path(home, "cur", "9400.a:2,S"), "a\n");
	md_put(md_path(home, "new", "9401.b"), "b\n");
	md_put(md_path(home, "cur", "9402.empty:2,"), "");
	md_put(md_path(home, "cur", "9403.noinfo"), "n\n");
	mkdir(md_path(home, "cur", "9404.dir:2,"), 0700);
	(void)!symlink("/etc/passwd", md_path(home, "cur", "9405.link:2,"));
	if (md_open(home, STORE_SELECT, &st) != STORE_OK)
		return;
	tap_ok(store_count(st) == 4 && md_find(st, "9404.dir") < 0 &&
	    md_find(st, "9405.link") < 0, "corrupt_dir_and_symlink_skipped");
	tap_is_int(store_wire_size(st, (unsigned)md_find(st, "9402.empty")), 0,
	    "corrupt_zero_byte_file_listed_size_0");
	tap_is_int(set(st, "9403.noinfo", STORE_FLAGS_ADD, MF_SEEN, 0, 0),
	    STORE_OK, "name_without_info_takes_flags");
	tap_ok(md_exists(md_path(home, "cur", "9403.noinfo:2,S")),
	    "name_without_info_gets_2_comma");
	uv = store_uidvalidity(st);
	store_close(st);
	md_put(md_path(home, "new", "9406.late"), "l\n");
	(void)!truncate(md_path(home, "", "postern-index"), 300);
	if (md_open(home, STORE_SELECT, &st) != STORE_OK)
		return;
	tap_ok(store_count(st) == 5 && store_uidvalidity(st) == uv &&
	    store_uid(st, (unsigned)md_find(st, "9401.b")) == 2 &&
	    flags(st, "9403.noinfo") == MF_SEEN,
	    "truncated_index_rebuilt_nothing_lost_uids_kept");
	tap_ok(store_recent_count(st) == 1 &&
	    store_recent(st, (unsigned)md_find(st, "9406.late")),
	    "rebuilt_index_recent_is_what_new_held");
	store_close(st);
	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)(i * 7919 + 13);
	fd = open(md_path(home, "", "postern-index"), O_WRONLY | O_TRUNC);
	write_all(fd, garbage, sizeof(garbage));
	close(fd);
	if (md_open(home, STORE_SELECT, &st) != STORE_OK)
		return;
	tap_ok(store_count(st) == 5 && store_uidvalidity(st) == uv &&
	    store_uid(st, (unsigned)md_find(st, "9403.noinfo")) == 4 &&
	    store_uid(st, (unsigned)md_find(st, "9406.late")) == 5,
	    "garbage_index_rebuilt_nothing_lost_uids_kept");
	store_close(st);
	md_put(md_path(home, "new", "9400.a"), "other content\n");
	if (md_open(home, STORE_SELECT, &st) != STORE_OK)
		return;
	tap_ok(store_count(st) == 5 &&
	    md_exists(md_path(home, "new", "9400.a")) &&
	    md_exists(md_path(home, "cur", "9400.a:2,S")),
	    "duplicate_unique_name_listed_once_both_files_kept");
	{
		unsigned char del[5] = { 0 };
		uint32_t old = store_uid(st, (unsigned)md_find(st, "9400.a"));

		del[md_find(st, "9400.a")] = 1;
		store_expunge(st, del, NULL, 0);
		store_close(st);
		if (md_open(home, STORE_SELECT, &st) != STORE_OK)
			return;
		if (have_index)
			tap_ok(md_find(st, "9400.a") >= 0 && store_uid(st,
			    (unsigned)md_find(st, "9400.a")) > old,
			    "duplicate_left_after_expunge_gets_a_new_uid");
		else
			skip("duplicate_left_after_expunge_gets_a_new_uid");
	}
	store_close(st);
	if (md_open(home, STORE_SELECT, &a) != STORE_OK)
		return;
	md_put(md_path(home, "", "postern-uidlist"), "\x7f" "ELF garbage\n");
	if (md_open(home, STORE_SELECT, &st) != STORE_OK)
		return;
	tap_ok(store_uidvalidity(st) != uv && store_count(st) == 5,
	    "garbage_uidlist_new_uidvalidity_nothing_lost");
	store_close(st);
	tap_is_int(store_sync(a, 0, &ch, err, sizeof(err)), STORE_EVALIDITY,
	    "open_view_gets_evalidity");
	store_changes_free(&ch);
	store_close(a);
}

static void
test_uidlist_appends(void)
{
	const char *home = md_home();
	struct store *a;
	struct stat s0, s1;
	char *list;
	int fd;

	md_put(md_path(home, "cur", "9500.a:2,"), "a\n");
	if (md_open(home, STORE_SELECT, &a) != STORE_OK)
		return;
	stat(md_path(home, "", "postern-uidlist"), &s0);
	md_append1(a, "new\n", 0, 0, -1);
	stat(md_path(home, "", "postern-uidlist"), &s1);
	list = md_slurp(md_path(home, "", "postern-uidlist"));
	tap_ok(s0.st_ino == s1.st_ino && s1.st_size > s0.st_size &&
	    list != NULL && strncmp(list, "postern-uidlist 1 V", 19) == 0 &&
	    strstr(list, "\n2 5 ") != NULL, "uidlist_new_uid_appended_in_place");
	free(list);
	fd = open(md_path(home, "", "postern-uidlist"), O_WRONLY | O_APPEND);
	write_all(fd, "77 - torn", 9);
	close(fd);
	tap_is_int(md_append1(a, "more\n", 0, 0, -1), 3,
	    "uidlist_torn_line_ignored");
	list = md_slurp(md_path(home, "", "postern-uidlist"));
	tap_ok(list != NULL && strstr(list, "torn") == NULL &&
	    strstr(list, "\n3 6 ") != NULL, "uidlist_torn_line_cut_before_append");
	free(list);
	store_close(a);
}

/* The states a crash can leave a commit in: UIDs listed but the files
 * still in tmp/ (dead entries), and files in cur/ under listed UIDs the
 * index never heard of. */
static void
test_crash_states(void)
{
	const char *home = md_home();
	struct store *a;
	int fd;

	md_put(md_path(home, "cur", "9600.a:2,"), "a\n");
	if (md_open(home, STORE_SELECT, &a) != STORE_OK)
		return;
	store_close(a);
	fd = open(md_path(home, "", "postern-uidlist"), O_WRONLY | O_APPEND);
	write_all(fd, "2 - 9601.staged\n3 - 9602.renamed\n", 33);
	close(fd);
	md_put(md_path(home, "tmp", "9601.staged"), "s\n");
	md_put(md_path(home, "cur", "9602.renamed:2,S"), "r\n");
	if (md_open(home, STORE_SELECT, &a) != STORE_OK)
		return;
	tap_ok(store_count(a) == 2 && md_find(a, "9601.staged") < 0 &&
	    store_uid(a, (unsigned)md_find(a, "9602.renamed")) == 3 &&
	    flags(a, "9602.renamed") == MF_SEEN,
	    "crash_after_rename_message_has_its_listed_uid");
	tap_is_int(md_append1(a, "next\n", 0, 0, -1), 4,
	    "crash_dead_entry_uid_never_reused");
	store_close(a);
}

/* Two processes appending at once: every message once, UIDs unique. */
static void
test_concurrent_appends(void)
{
	const char *home = md_home();
	struct store *a;
	int ok = 1;

	if (md_open(home, STORE_SELECT, &a) != STORE_OK)
		return;
	store_close(a);
	for (int c = 0; c < 2; c++) {
		if (fork() == 0) {
			int bad = 0;

			if (md_open(home, STORE_SELECT, &a) != STORE_OK)
				_exit(1);
			for (int i = 0; i < 20; i++)
				bad += md_append1(a, "x\n", 0, 0, -1) == 0;
			store_close(a);
			_exit(bad != 0);
		}
	}
	for (int c = 0; c < 2; c++) {
		int status;

		wait(&status);
		ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	if (md_open(home, STORE_RDONLY, &a) != STORE_OK)
		return;
	for (unsigned i = 0; i < store_count(a); i++)
		ok &= store_uid(a, i) == i + 1;
	tap_ok(ok && store_count(a) == 40 && md_nfiles(home, "cur") == 40,
	    "concurrent_appends_all_kept_uids_unique");
	store_close(a);
}

static void
test_tmp_cleanup(void)
{
	const char *home = md_home();
	time_t now = time(NULL);
	struct timespec old[2] = { { now - 40 * 3600, 0 },
	    { now - 40 * 3600, 0 } };
	struct timespec dir[2] = { { now - 9 * 3600, 0 }, { 0, UTIME_OMIT } };
	struct store *a;

	md_put(md_path(home, "tmp", "1.old"), "x\n");
	md_put(md_path(home, "tmp", "2.young"), "y\n");
	utimensat(AT_FDCWD, md_path(home, "tmp", "1.old"), old, 0);
	utimensat(AT_FDCWD, md_path(home, "tmp", ""), dir, 0);
	if (md_open(home, STORE_SELECT, &a) != STORE_OK)
		return;
	store_close(a);
	tap_ok(!md_exists(md_path(home, "tmp", "1.old")) &&
	    md_exists(md_path(home, "tmp", "2.young")),
	    "tmp_files_older_than_36h_removed");
}

/* Run ourselves under strace opening home; count getdents calls and
 * calls naming a message file.  -1 if strace cannot run. */
static int
traced_open(const char *self, const char *home, int flags, int *permsg)
{
	char cmd[4096], out[700], line[1024];
	FILE *f;
	int n = 0;

	snprintf(out, sizeof(out), "%s/strace.out", md_top);
	/* LeakSanitizer cannot run under ptrace: off for the helper. */
	snprintf(cmd, sizeof(cmd), "ASAN_OPTIONS=detect_leaks=0 strace -f -qq "
	    "-o %s -e trace=getdents64,getdents,openat,open,stat,newfstatat,"
	    "lstat,statx %s --open %s %d >/dev/null 2>&1", out, self, home,
	    flags);
	if (system(cmd) != 0 || (f = fopen(out, "r")) == NULL)
		return -1;
	*permsg = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		n += strstr(line, "getdents") != NULL;
		*permsg += strstr(line, "\"95") != NULL ||
		    strstr(line, "\"96") != NULL;
	}
	fclose(f);
	return n;
}

static void
test_syscall_shape(const char *self)
{
	const char *home = md_home();
	char name[64];
	struct store *a;
	int n, permsg;

	if (!have_index || system("strace -V >/dev/null 2>&1") != 0) {
		skip("reopen_unchanged_no_getdents");
		skip("reopen_unchanged_no_per_message_calls");
		return;
	}
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "95%02d.m:2,S", i);
		md_put(md_path(home, "cur", name), "m\n");
		snprintf(name, sizeof(name), "96%02d.n", i);
		md_put(md_path(home, "new", name), "n\n");
	}
	if (md_open(home, STORE_SELECT, &a) != STORE_OK)	/* claims, moves new/ */
		return;
	store_close(a);
	sleep(MD_SETTLE_WAIT);
	if (md_open(home, STORE_SELECT, &a) != STORE_OK)	/* records the mtimes */
		return;
	store_close(a);
	n = traced_open(self, home, 0, &permsg);
	tap_is_int(n, 0, "reopen_unchanged_no_getdents");
	tap_is_int(permsg, 0, "reopen_unchanged_no_per_message_calls");
	n = traced_open(self, home, STORE_RDONLY, &permsg);
	tap_ok(n == 0 && permsg == 0, "reopen_readonly_no_getdents");
	md_put(md_path(home, "new", "9999.x"), "x\n");
	n = traced_open(self, home, STORE_RDONLY, &permsg);
	tap_ok(n > 0 && n <= 4, "new_mail_reads_only_new_dir");
}

/* The helper strace runs: open, count, close. */
static int
helper(const char *home, const char *flags)
{
	struct store *st;

	if (md_open(home, atoi(flags), &st) != STORE_OK)
		return 1;
	printf("%u\n", store_count(st));
	store_close(st);
	return 0;
}

/* A keyword file longer than any table (16 KiB) is read only so far,
 * and a name cut in two at that point is not taken for a keyword. */
static void
test_keywords_file_cut(void)
{
	const char *home = md_home();
	static char text[20000];
	size_t o = 0;
	struct store *st;

	o += (size_t)snprintf(text, sizeof(text), "0 $Forwarded\n");
	while (o < 16384 - 6)
		text[o++] = '\n';	/* empty lines: skipped */
	snprintf(text + o, sizeof(text) - o, "1 LongKeywordName\n");
	md_put(md_path(home, "", "postern-keywords"), text);
	md_put(md_path(home, "cur", "1000.M1P1.x:2,ab"), "Subject: x\n\nx\n");
	if (md_open(home, STORE_SELECT, &st) != STORE_OK) {
		tap_ok(0, "kwcut_open");
		return;
	}
	tap_ok(store_keyword(st, "$Forwarded", 0) == 0,
	    "kwcut_names_before_the_limit_are_read");
	tap_ok(store_keywords_table(st)->n == 1 &&
	    store_keyword(st, "Lon", 0) < 0 && store_keyword(st, "L", 0) < 0,
	    "kwcut_a_name_cut_at_the_limit_is_not_a_keyword");
	store_close(st);
}

int
main(int argc, char **argv)
{
	struct store *st;
	const char *home;
	char self[1024];
	ssize_t n;

	if (argc == 4 && strcmp(argv[1], "--open") == 0)
		return helper(argv[2], argv[3]);
	log_open("test_maildir_imap", getenv("TEST_VERBOSE") ? "/dev/stderr" :
	    "/dev/null");
	if (md_scratch("mdimap") < 0)
		return 1;
	home = md_home();
	if (md_open(home, STORE_SELECT, &st) == STORE_OK) {
		store_close(st);
		have_index = md_exists(md_path(home, "", "postern-index"));
	}
	test_flags();
	test_rename_conflict();
	test_recent();
	test_modseq_shared();
	test_sync_second_handle();
	test_sync_outside();
	test_keep_expunged();
	test_append();
	test_copy_move();
	test_expunged_since();
	test_readonly();
	test_notify();
	test_migration();
	test_corrupt();
	test_uidlist_appends();
	test_crash_states();
	test_concurrent_appends();
	test_tmp_cleanup();
	test_keywords_file_cut();
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	test_syscall_shape(self);
	md_rm_rf(md_top);
	return tap_done();
}
