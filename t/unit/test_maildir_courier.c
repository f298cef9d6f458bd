/*
 * test_maildir_courier.c - a Maildir migrated from Courier-IMAP keeps
 * its keywords: courierimapkeywords/:list and its update files are
 * imported once on first open (maildir_courier.c), into the file names
 * and postern-keywords, with Courier's UIDs, other flags kept, damaged
 * and hostile input skipped, and Courier's files left as they were.
 */
#include <errno.h>
#include <time.h>

#include "keywords.h"
#include "log.h"
#include "maildir_util.h"

/* A file's bytes and mtime, to show it was not changed. */
struct snap {
	char path[1024];
	char *data;
	struct timespec mtime;
	ino_t ino;
};

static void
snap_take(struct snap *s, const char *path)
{
	struct stat sb;

	snprintf(s->path, sizeof(s->path), "%s", path);
	s->data = md_slurp(path);
	memset(&s->mtime, 0, sizeof(s->mtime));
	s->ino = 0;
	if (lstat(path, &sb) == 0) {
		s->mtime = sb.st_mtim;
		s->ino = sb.st_ino;
	}
}

static int
snap_same(const struct snap *s)
{
	struct stat sb;
	char *now = md_slurp(s->path);
	int same = now != NULL && s->data != NULL &&
	    strcmp(now, s->data) == 0 && lstat(s->path, &sb) == 0 &&
	    sb.st_ino == s->ino && sb.st_mtim.tv_sec == s->mtime.tv_sec &&
	    sb.st_mtim.tv_nsec == s->mtime.tv_nsec;

	free(now);
	return same;
}

static int
not_dots(const struct dirent *de)
{
	return strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
}

/* The names in home/Maildir/sub, sorted, one per line (malloc'd). */
static char *
listing(const char *home, const char *sub)
{
	struct dirent **v;
	int n = scandir(md_path(home, sub, ""), &v, not_dots, alphasort);
	size_t len = 0;
	char *out = xstrdup("");

	for (int i = 0; i < n; i++) {
		size_t l = strlen(v[i]->d_name);

		out = realloc(out, len + l + 2);
		memcpy(out + len, v[i]->d_name, l);
		out[len + l] = '\n';
		len += l + 1;
		out[len] = '\0';
		free(v[i]);
	}
	if (n >= 0)
		free(v);
	return out;
}

static const char *
kwname(struct store *st, int k)
{
	const struct kwtable *t = store_keywords_table(st);

	return t != NULL && k >= 0 && k < KW_MAX && t->name[k] != NULL ?
	    t->name[k] : "";
}

static kwset_t
kw_of(struct store *st, const char *uniq)
{
	int i = md_find(st, uniq);

	return i < 0 ? (kwset_t)-1 : store_msg_keywords(st, (unsigned)i);
}

static uint32_t
uid_of(struct store *st, const char *uniq)
{
	int i = md_find(st, uniq);

	return i < 0 ? 0 : store_uid(st, (unsigned)i);
}

static void
test_import(void)
{
	const char *home = md_home();
	const char *upd[] = { ".1.9301.b", ".2.9301.b", "9303.d", ".5.9303.d",
	    ".x.9300.a", "..9300.a" };
	struct snap s[9];
	struct store *st;
	char long_line[6000], *before, *after, *kwdir_before, *kw;
	struct stat sb1, sb2;
	struct store_changes ch;
	int i;

	md_put(md_path(home, "", "courierimapuiddb"), "1 777 30\n"
	    "12 9300.a\n13 9301.b\n14 9302.c\n15 9303.d\n");
	md_put(md_path(home, "cur", "9300.a:2,S"), "a\n");
	md_put(md_path(home, "cur", "9301.b:2,RS"), "b\n");
	md_put(md_path(home, "cur", "9302.c:2,F"), "c\n");
	md_put(md_path(home, "cur", "9303.d:2,"), "d\n");
	md_put(md_path(home, "cur", "9304.e:2,PS"), "e\n");
	md_put(md_path(home, "new", "9305.f"), "f\n");
	mkdir(md_path(home, "", "courierimapkeywords"), 0700);
	memset(long_line, 'x', sizeof(long_line) - 1);
	long_line[sizeof(long_line) - 1] = '\0';
	{
		char *list = xasprintf("$Junk\nNonJunk\nbad name\nWork\n\n"
		    "9300.a:0 3\n"
		    "9301.b:1\n"
		    "9302.c:0 7\n"		/* 7: unknown index */
		    "no colon here\n"		/* bad line */
		    "9303.d:1 x\n"		/* bad line */
		    "9399.gone:0\n"		/* no such message */
		    "9305.f:3\n"		/* in new/ */
		    "../etc:0\n"		/* not a unique name */
		    "%s:0\n"			/* too long */
		    "9303.d:1\n", long_line);

		md_put(md_path(home, "courierimapkeywords", ":list"), list);
		free(list);
	}
	md_put(md_path(home, "courierimapkeywords", ".1.9301.b"), "Old\n");
	md_put(md_path(home, "courierimapkeywords", ".2.9301.b"),
	    "NonJunk\nLater\nbad name\n");
	md_put(md_path(home, "courierimapkeywords", "9303.d"), "Work\n");
	md_put(md_path(home, "courierimapkeywords", ".5.9303.d"), "$Junk\n");
	md_put(md_path(home, "courierimapkeywords", ".x.9300.a"), "Evil\n");
	md_put(md_path(home, "courierimapkeywords", "..9300.a"), "Evil\n");
	md_put(md_path(home, "", "secret"), "Evil\n");
	(void)!symlink("../secret", md_path(home, "courierimapkeywords",
	    "9302.c"));
	snap_take(&s[0], md_path(home, "", "courierimapuiddb"));
	snap_take(&s[1], md_path(home, "courierimapkeywords", ":list"));
	for (i = 0; i < 6; i++)
		snap_take(&s[2 + i], md_path(home, "courierimapkeywords",
		    upd[i]));
	snap_take(&s[8], md_path(home, "courierimapkeywords", "9302.c"));
	kwdir_before = listing(home, "courierimapkeywords");

	if (md_open(home, STORE_SELECT, &st) != STORE_OK)
		return;
	tap_ok(store_uidvalidity(st) == 777 && uid_of(st, "9300.a") == 12 &&
	    uid_of(st, "9301.b") == 13 && uid_of(st, "9302.c") == 14 &&
	    uid_of(st, "9303.d") == 15 && uid_of(st, "9304.e") >= 30,
	    "courier_uids_kept");
	tap_ok(store_keywords_table(st) != NULL &&
	    store_keywords_table(st)->n == 4, "courier_table_size");
	tap_is_str(kwname(st, 0), "$Junk", "courier_table_0");
	tap_is_str(kwname(st, 1), "NonJunk", "courier_table_1");
	tap_is_str(kwname(st, 2), "Work", "courier_table_invalid_name_skipped");
	tap_is_str(kwname(st, 3), "Later", "courier_table_name_from_update");
	tap_is_int(kw_of(st, "9300.a"), 1 | 4, "courier_list_keywords");
	tap_is_int(kw_of(st, "9301.b"), 2 | 8, "courier_highest_update_wins");
	tap_is_int(kw_of(st, "9302.c"), 1,
	    "courier_unknown_index_dropped_symlink_not_followed");
	tap_is_int(kw_of(st, "9303.d"), 4, "courier_plain_update_wins");
	tap_is_int(kw_of(st, "9304.e"), 0, "courier_unlisted_untouched");
	tap_is_int(kw_of(st, "9305.f"), 4, "courier_new_gets_keywords");
	tap_ok(store_flags(st, (unsigned)md_find(st, "9300.a")) == MF_SEEN &&
	    store_flags(st, (unsigned)md_find(st, "9301.b")) ==
	    (MF_SEEN | MF_ANSWERED) &&
	    store_flags(st, (unsigned)md_find(st, "9302.c")) == MF_FLAGGED,
	    "courier_flags_survive");
	before = listing(home, "cur");
	tap_is_str(before, "9300.a:2,Sac\n9301.b:2,RSbd\n9302.c:2,Fa\n"
	    "9303.d:2,c\n9304.e:2,PS\n9305.f:2,c\n", "courier_file_names");
	tap_ok(md_nfiles(home, "new") == 0, "courier_new_moved_to_cur");
	kw = md_slurp(md_path(home, "", "postern-keywords"));
	tap_is_str(kw != NULL ? kw : "", "0 $Junk\n1 NonJunk\n2 Work\n"
	    "3 Later\n", "courier_postern_keywords_written");
	free(kw);
	store_close(st);

	for (i = 0; i < 9; i++)
		if (!snap_same(&s[i]))
			break;
	tap_ok(i == 9, "courier_files_untouched");
	after = listing(home, "courierimapkeywords");
	tap_is_str(after, kwdir_before, "courier_dir_unchanged");
	free(after);

	/* A second open (even after Courier's files change) renames
	 * nothing: the import was done once. */
	stat(md_path(home, "cur", ""), &sb1);
	md_put(md_path(home, "courierimapkeywords", ":list"),
	    "Other\n\n9300.a:0\n");
	if (md_open(home, STORE_SELECT, &st) != STORE_OK)
		return;
	after = listing(home, "cur");
	stat(md_path(home, "cur", ""), &sb2);
	tap_ok(strcmp(after, before) == 0 &&
	    sb1.st_mtim.tv_sec == sb2.st_mtim.tv_sec &&
	    sb1.st_mtim.tv_nsec == sb2.st_mtim.tv_nsec &&
	    kw_of(st, "9300.a") == (1 | 4), "courier_second_open_no_rename");
	tap_ok(md_sync(st, 0, &ch) == STORE_OK &&
	    strcmp(md_file(home, "cur", "9301.b"), "9301.b:2,RSbd") == 0,
	    "courier_sync_no_rename");
	store_changes_free(&ch);
	tap_is_int(store_keyword(st, "Fresh", 1), 4,
	    "courier_new_keyword_after_import");
	tap_ok(md_append1(st, "x\n", MF_SEEN, (kwset_t)1 << 4, 0) != 0 &&
	    kw_of(st, "9300.a") == (1 | 4), "courier_append_after_import");
	store_close(st);
	free(after);
	free(before);
	free(kwdir_before);
	for (i = 0; i < 9; i++)
		free(s[i].data);
}

/* dovecot-keywords keeps priority: Courier's are not imported. */
static void
test_dovecot_first(void)
{
	const char *home = md_home();
	struct store *st;

	md_put(md_path(home, "", "dovecot-keywords"), "0 Dove\n");
	md_put(md_path(home, "cur", "9400.a:2,S"), "a\n");
	mkdir(md_path(home, "", "courierimapkeywords"), 0700);
	md_put(md_path(home, "courierimapkeywords", ":list"),
	    "Courier\n\n9400.a:0\n");
	if (md_open(home, STORE_SELECT, &st) != STORE_OK)
		return;
	tap_ok(md_exists(md_path(home, "cur", "9400.a:2,S")) &&
	    strcmp(kwname(st, 0), "Dove") == 0 &&
	    kw_of(st, "9400.a") == 0, "courier_dovecot_keeps_priority");
	store_close(st);
}

/* More than KW_MAX names: the rest dropped; a symlinked keyword
 * directory is not followed. */
static void
test_limits(void)
{
	const char *home = md_home();
	struct store *st;
	char list[2048];
	size_t off = 0;

	for (int i = 0; i < 30; i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off,
		    "k%d\n", i);
	snprintf(list + off, sizeof(list) - off, "\n9500.a:0 25 26 29\n");
	md_put(md_path(home, "cur", "9500.a:2,"), "a\n");
	mkdir(md_path(home, "", "courierimapkeywords"), 0700);
	md_put(md_path(home, "courierimapkeywords", ":list"), list);
	if (md_open(home, STORE_SELECT, &st) != STORE_OK)
		return;
	tap_ok(store_keywords_table(st)->n == KW_MAX &&
	    strcmp(kwname(st, 25), "k25") == 0 &&
	    kw_of(st, "9500.a") == ((kwset_t)1 | (kwset_t)1 << 25),
	    "courier_at_most_26_keywords");
	store_close(st);

	home = md_home();
	md_put(md_path(home, "cur", "9501.a:2,"), "a\n");
	mkdir(md_path(home, "", "elsewhere"), 0700);
	md_put(md_path(home, "elsewhere", ":list"), "X\n\n9501.a:0\n");
	(void)!symlink("elsewhere", md_path(home, "", "courierimapkeywords"));
	if (md_open(home, STORE_SELECT, &st) != STORE_OK)
		return;
	tap_ok(md_exists(md_path(home, "cur", "9501.a:2,")) &&
	    kw_of(st, "9501.a") == 0 &&
	    !md_exists(md_path(home, "", "postern-keywords")),
	    "courier_symlinked_dir_not_followed");
	store_close(st);
}

/* An import that cannot finish (here: postern-keywords cannot be
 * written) leaves no postern-keywords, so the next open imports again;
 * letters already given are given again harmlessly. */
static void
test_retry(void)
{
	const char *home = md_home();
	struct store *st;
	char tmp[64];

	md_put(md_path(home, "cur", "9600.a:2,S"), "a\n");
	mkdir(md_path(home, "", "courierimapkeywords"), 0700);
	md_put(md_path(home, "courierimapkeywords", ":list"),
	    "Later\n\n9600.a:0\n");
	/* A directory where write_file_atomic() puts its temp file. */
	snprintf(tmp, sizeof(tmp), "postern-keywords.tmp.%ld",
	    (long)getpid());
	mkdir(md_path(home, "", tmp), 0700);
	if (md_open(home, STORE_SELECT, &st) == STORE_OK)
		store_close(st);
	rmdir(md_path(home, "", tmp));
	if (md_exists(md_path(home, "", "postern-keywords"))) {
		tap_ok(0, "courier_failed_import_retried");
		return;
	}
	if (md_open(home, STORE_SELECT, &st) != STORE_OK)
		return;
	tap_ok(md_exists(md_path(home, "cur", "9600.a:2,Sa")) &&
	    kw_of(st, "9600.a") == 1 && strcmp(kwname(st, 0), "Later") == 0 &&
	    md_exists(md_path(home, "", "postern-keywords")),
	    "courier_failed_import_retried");
	store_close(st);
}

/* Two files with one unique name that would get the same new name:
 * neither is replaced. */
static void
test_same_unique(void)
{
	const char *home = md_home();
	struct store *st;

	md_put(md_path(home, "cur", "9700.a:2,"), "cur\n");
	md_put(md_path(home, "new", "9700.a"), "new\n");
	mkdir(md_path(home, "", "courierimapkeywords"), 0700);
	md_put(md_path(home, "courierimapkeywords", ":list"),
	    "K\n\n9700.a:0\n");
	if (md_open(home, STORE_RDONLY, &st) != STORE_OK)
		return;
	store_close(st);
	tap_ok(md_nfiles(home, "cur") + md_nfiles(home, "new") == 2 &&
	    md_exists(md_path(home, "cur", "9700.a:2,a")),
	    "courier_same_unique_name_nothing_replaced");
}

int
main(void)
{
	log_open("test_maildir_courier", getenv("TEST_VERBOSE") ?
	    "/dev/stderr" : "/dev/null");
	if (md_scratch("mdcourier") < 0)
		return 1;
	test_import();
	test_dovecot_first();
	test_limits();
	test_retry();
	test_same_unique();
	md_rm_rf(md_top);
	return tap_done();
}
