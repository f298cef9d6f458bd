/*
 * test_msgcache.c - the per-folder message cache (msgcache.h): what is
 * put comes back, from this handle and from another; a cache of another
 * UIDVALIDITY is emptied; damage anywhere costs entries, never a wrong
 * answer; compaction keeps exactly the live UIDs.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msgcache.h"
#include "tap.h"

static int dfd;

static int
get_is(struct msgcache *c, uint32_t uid, const char *want)
{
	void *d;
	size_t len;
	int r = msgcache_get(c, uid, MSGCACHE_MIME, &d, &len);
	int ok = want == NULL ? r == 0 : r == 1 && len == strlen(want) &&
	    memcmp(d, want, len) == 0;

	free(d);
	return ok;
}

static off_t
fsize(void)
{
	struct stat st;

	return fstatat(dfd, "cache", &st, 0) == 0 ? st.st_size : -1;
}

static void
damage(off_t off, unsigned char x)
{
	int fd = openat(dfd, "cache", O_RDWR);
	unsigned char b;

	if (fd < 0 || pread(fd, &b, 1, off) != 1)
		abort();
	b ^= x;
	if (pwrite(fd, &b, 1, off) != 1)
		abort();
	close(fd);
}

static int
odd(void *arg, uint32_t uid)
{
	(void)arg;
	return uid % 2;
}

int
main(void)
{
	char tmpl[] = "/tmp/postern-cache-XXXXXX";
	struct msgcache *a, *b;
	char big[5000];

	if (mkdtemp(tmpl) == NULL || (dfd = open(tmpl, O_RDONLY |
	    O_DIRECTORY)) < 0)
		return 2;
	tap_ok(msgcache_open(dfd, "cache", 7, &a) == 0, "open creates");
	tap_ok(get_is(a, 1, NULL), "empty: nothing cached");
	tap_ok(msgcache_put(a, 1, MSGCACHE_MIME, "one", 3) == 0 &&
	    msgcache_put(a, 2, MSGCACHE_MIME, "two", 3) == 0 &&
	    msgcache_put(a, 5, MSGCACHE_MIME, "", 0) == 0, "three puts");
	tap_ok(get_is(a, 1, "one") && get_is(a, 2, "two") && get_is(a, 5, ""),
	    "they come back");
	tap_ok(msgcache_open(dfd, "cache", 7, &b) == 0 && get_is(b, 2, "two"),
	    "a second handle reads them");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	tap_ok(msgcache_put(b, 9, MSGCACHE_MIME, big, strlen(big)) == 0 &&
	    get_is(a, 9, big), "what the other handle appends is found");
	tap_ok(msgcache_put(a, 2, MSGCACHE_MIME, "TWO", 3) == 0 &&
	    get_is(b, 2, "TWO"), "a later record for the same UID wins");
	tap_ok(msgcache_put(a, 3, MSGCACHE_MIME, big, MSGCACHE_REC_MAX + 1) <
	    0, "a record over the limit is refused");
	msgcache_close(b);

	/* a torn final record: earlier ones stay, the torn one is a miss */
	tap_ok(msgcache_put(a, 11, MSGCACHE_MIME, "eleven", 6) == 0,
	    "put 11");
	msgcache_close(a);
	{
		int fd = openat(dfd, "cache", O_RDWR);

		if (fd < 0 || ftruncate(fd, fsize() - 2) < 0)
			abort();
		close(fd);
	}
	tap_ok(msgcache_open(dfd, "cache", 7, &a) == 0 && get_is(a, 9, big) &&
	    get_is(a, 11, NULL), "torn tail: earlier records stay, the torn "
	    "one is not returned");
	tap_ok(msgcache_put(a, 12, MSGCACHE_MIME, "twelve", 6) == 0 &&
	    get_is(a, 12, "twelve") && get_is(a, 1, "one"),
	    "appending after a torn tail still works");
	msgcache_close(a);

	/* a flipped byte in a record's data: that record is a miss */
	damage(16 + 16 + 1, 0x20);	/* the data of UID 1 */
	tap_ok(msgcache_open(dfd, "cache", 7, &a) == 0 && get_is(a, 1, NULL) &&
	    get_is(a, 5, ""), "damaged data fails its CRC; others are fine");
	msgcache_close(a);
	/* a flipped length: garbage from there on, never a wrong answer */
	damage(16 + 8, 0x40);
	tap_ok(msgcache_open(dfd, "cache", 7, &a) == 0 && get_is(a, 1, NULL),
	    "a damaged length: no wrong data");
	tap_ok(msgcache_put(a, 20, MSGCACHE_MIME, "twenty", 6) == 0 &&
	    get_is(a, 20, "twenty"), "after garbage, a put compacts and "
	    "works");
	msgcache_close(a);

	tap_ok(msgcache_open(dfd, "cache", 7, &a) == 0, "reopen");
	tap_ok(msgcache_put(a, 21, MSGCACHE_MIME, "21", 2) == 0 &&
	    msgcache_put(a, 22, MSGCACHE_MIME, "22", 2) == 0, "two more");
	tap_ok(msgcache_compact(a, odd, NULL) == 0, "compact to odd UIDs");
	tap_ok(get_is(a, 21, "21") && get_is(a, 22, NULL) &&
	    get_is(a, 20, NULL), "compaction kept exactly the live ones");
	msgcache_close(a);
	tap_ok(msgcache_open(dfd, "cache", 7, &a) == 0 && get_is(a, 21, "21") &&
	    get_is(a, 22, NULL), "and so does a new handle");
	msgcache_close(a);

	tap_ok(msgcache_open(dfd, "cache", 8, &a) == 0 && get_is(a, 21, NULL),
	    "another UIDVALIDITY empties the cache");
	tap_is_int(fsize(), 16, "down to its header");
	msgcache_close(a);

	unlinkat(dfd, "cache", 0);
	if (symlinkat("/etc/passwd", dfd, "cache") < 0)
		abort();
	tap_ok(msgcache_open(dfd, "cache", 8, &a) < 0, "a symlink is not "
	    "followed");
	unlinkat(dfd, "cache", 0);
	close(dfd);
	rmdir(tmpl);
	return tap_done();
}
