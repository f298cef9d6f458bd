/*
 * test_mbox_index.c - the mbox's index cache: a second open of an
 * unchanged 200 MB mbox reads a few KiB of it (counted with rchar in
 * /proc/self/io), gives the same view, and any change to the file or
 * damage to the index means a full read that is still right.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "tap.h"
#include "util.h"

#define LOC "mbox:~/mail:INBOX=~/inbox"
#define BODY 32768
#define NMSG 6400		/* 6400 x ~32 KiB: about 200 MB */

static char top[512];

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static long long
rchar(void)
{
	FILE *f = fopen("/proc/self/io", "r");
	char line[128];
	long long v = -1;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "rchar: %lld", &v) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return v;
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

/* An mbox whose every message already has its X-UID and Status O, so
 * opening it writes nothing. */
static void
make_big(const char *path)
{
	char *body = xmalloc(BODY), hdr[256];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	for (int i = 0; i < BODY; i++)
		body[i] = (i % 64 == 63) ? '\n' : 'a' + i % 26;
	body[BODY - 2] = '\n';
	body[BODY - 1] = '\n';
	for (int i = 0; i < NMSG; i++) {
		int n = i == 0 ? snprintf(hdr, sizeof(hdr), "From x Mon Jan  1 "
		    "00:00:00 2024\nX-IMAPbase: 1234 %010d $Big\nX-UID: 1\n"
		    "Status: RO\nX-Keywords: $Big\nSubject: %d\n\n", NMSG, i) :
		    snprintf(hdr, sizeof(hdr), "From x Mon Jan  1 00:00:00 "
		    "2024\nX-UID: %d\nStatus: O\nX-Status: F\nSubject: %d\n\n",
		    i + 1, i);

		if (write_all(fd, hdr, (size_t)n) < 0 ||
		    write_all(fd, body, BODY) < 0)
			break;
	}
	close(fd);
	free(body);
}

static int
same_view(struct store *a, struct store *b)
{
	if (store_count(a) != store_count(b) ||
	    store_uidvalidity(a) != store_uidvalidity(b) ||
	    store_uidnext(a) != store_uidnext(b))
		return 0;
	for (unsigned i = 0; i < store_count(a); i++)
		if (store_uid(a, i) != store_uid(b, i) ||
		    store_flags(a, i) != store_flags(b, i) ||
		    store_msg_keywords(a, i) != store_msg_keywords(b, i) ||
		    store_wire_size(a, i) != store_wire_size(b, i) ||
		    store_raw_size(a, i) != store_raw_size(b, i))
			return 0;
	return 1;
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	char home[600], inbox[700], ix[700];
	struct store *a, *b;
	long long before, used;

	log_open("test_mbox_index", getenv("TEST_VERBOSE") ? "/dev/stderr" :
	    "/dev/null");
	snprintf(top, sizeof(top), "%s/postern-mboxx.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(top) == NULL)
		return 1;
	snprintf(home, sizeof(home), "%s/h", top);
	mkdir(home, 0700);
	snprintf(inbox, sizeof(inbox), "%s/inbox", home);
	snprintf(ix, sizeof(ix), "%s/mail/.postern-index-inbox", home);
	make_big(inbox);
	before = rchar();
	a = open_home(home, 0);
	used = rchar() - before;
	tap_ok(a != NULL && store_count(a) == NMSG && used > 200000000LL,
	    "index_first_open_reads_the_file (%lld bytes)", used);
	tap_ok(access(ix, F_OK) == 0, "index_written_beside_the_mbox");
	before = rchar();
	b = open_home(home, 0);
	used = rchar() - before;
	{
		struct stat sb = { 0 };

		/* the index itself, and a few KiB of the mbox */
		(void)stat(ix, &sb);
		tap_ok(b != NULL && used < sb.st_size + 64 * 1024,
		    "index_second_open_reads_little (%lld bytes, index %lld)",
		    used, (long long)sb.st_size);
	}
	tap_ok(a != NULL && b != NULL && same_view(a, b),
	    "index_view_equals_scanned_view");
	tap_ok(b != NULL && store_internal_date(b, 5) == 1704067200 &&
	    store_flags(b, 5) == MF_FLAGGED && store_msg_keywords(b, 0) == 1,
	    "index_dates_flags_keywords");
	store_close(b);
	/* damage the index: a full read, same view */
	{
		int fd = open(ix, O_WRONLY);

		(void)!pwrite(fd, "garbage garbage garbage", 23, 300);
		close(fd);
	}
	before = rchar();
	b = open_home(home, STORE_RDONLY);
	used = rchar() - before;
	tap_ok(b != NULL && used > 200000000LL && same_view(a, b),
	    "index_damaged_means_full_read_same_view");
	store_close(b);
	/* the rewritten index is used again */
	store_close(a);
	a = open_home(home, 0);
	store_close(a);
	before = rchar();
	b = open_home(home, STORE_RDONLY);
	used = rchar() - before;
	tap_ok(b != NULL && used < 1024 * 1024, "index_rebuilt_and_used "
	    "(%lld bytes)", used);
	store_close(b);
	/* an MTA delivers while a view is open: sync reads the tail only,
	 * and gives the new message the next UID */
	{
		struct store_changes ch;
		int fd;

		a = open_home(home, 0);
		fd = open(inbox, O_WRONLY | O_APPEND);
		(void)!write(fd, "From mta Mon Jan  1 00:00:00 2024\nSubject: new\n"
		    "\nnew\n\n", 53);
		close(fd);
		before = rchar();
		tap_ok(a != NULL && store_sync(a, 0, &ch, NULL, 0) == STORE_OK &&
		    ch.added == 1 && store_uid(a, NMSG) == NMSG + 1,
		    "index_sync_after_delivery");
		used = rchar() - before;
		tap_ok(used < 2 * 1024 * 1024, "index_sync_reads_the_tail_only "
		    "(%lld bytes)", used);
		store_changes_free(&ch);
		store_close(a);
		before = rchar();
		b = open_home(home, STORE_RDONLY);
		used = rchar() - before;
		tap_ok(b != NULL && store_count(b) == NMSG + 1 &&
		    used < 2 * 1024 * 1024, "index_current_after_sync "
		    "(%lld bytes)", used);
		store_close(b);
	}
	/* a change to the file (same size: a flag letter) is noticed */
	{
		int fd = open(inbox, O_RDWR);
		char *p = NULL;
		char buf[200];

		(void)!pread(fd, buf, sizeof(buf), 0);
		buf[sizeof(buf) - 1] = 0;
		p = strstr(buf, "Status: RO");
		if (p != NULL)
			(void)!pwrite(fd, "Status: O ", 10, p - buf);
		close(fd);
	}
	{
		struct timespec ts[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };

		utimensat(AT_FDCWD, inbox, ts, 0);
	}
	b = open_home(home, STORE_RDONLY);
	tap_ok(b != NULL && store_count(b) == NMSG + 1 &&
	    store_flags(b, 0) == 0, "index_not_trusted_over_changed_file");
	store_close(b);
	nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
