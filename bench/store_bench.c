/*
 * store_bench.c - build big mailboxes and time opening them through
 * store.h, for `make bench` (bench/store.sh) and for the syscall test
 * (t/53-store-syscalls.t), which runs the "open" step under strace.
 *
 *   store_bench mkmaildir DIR N      a Maildir with N messages in cur/
 *   store_bench mkmbox FILE MB       an mbox of about MB MiB
 *   store_bench deliver DIR          one new message into DIR/new/
 *   store_bench open LOCATION        open INBOX once and report
 *   store_bench hold LOCATION SECS   hold INBOX as a POP3 session does
 *   store_bench session LOCATION     a selected INBOX driven from stdin:
 *       sync            -> "count=N added=A expunged=E changed=C"
 *       uids            -> "uids=U1,U2,..."
 *       flag I +S|-S    -> "ok" (\Seen on message index I, then flush)
 *       flags I         -> "flags=F" (MF_* bits)
 *   (t/56 drives it beside procmail and dotlockfile)
 *
 * "open" prints one line of key=value pairs: msgs, ms (wall time of the
 * open), heap (bytes the open left allocated, from mallinfo2: small
 * chunks and mmapped ones), names
 * (bytes of Maildir file names among them, estimated as the name
 * lengths plus malloc's 16-byte chunk overhead), rchar (bytes read by
 * the process during the open, from /proc/self/io).
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "util.h"

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

/* A message of about size bytes, numbered k. */
static size_t
message(char *buf, size_t cap, unsigned k, size_t size)
{
	size_t n = (size_t)snprintf(buf, cap, "From: bench%u@example.org\n"
	    "To: user@example.org\nSubject: message %u\n"
	    "Message-ID: <%u@bench>\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n"
	    "\n", k, k, k);

	while (n + 64 < size && n + 64 < cap)
		n += (size_t)snprintf(buf + n, cap - n, "%s line %08u of the "
		    "body, some words to fill it out\n", "body", k);
	return n;
}

static void
mkmaildir(const char *dir, unsigned n)
{
	char path[4096], buf[4096];
	time_t t0 = time(NULL) - 86400;

	static const char *const sub[] = { "", "/cur", "/new", "/tmp" };

	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", dir, sub[i]);
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			die(path);
	}
	for (unsigned k = 0; k < n; k++) {
		size_t len = message(buf, sizeof(buf), k, 2000);
		int fd;

		/* no S=/W=: the store must not need to read them to list */
		snprintf(path, sizeof(path), "%s/cur/%ld.M%uP1.bench:2,S",
		    dir, (long)(t0 + k / 100), k);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write_all(fd, buf, len) < 0 || close(fd) < 0)
			die(path);
	}
}

static void
mkmbox(const char *file, unsigned mb)
{
	static char buf[70000];
	FILE *fp = fopen(file, "w");
	uint64_t want = (uint64_t)mb << 20, have = 0;

	if (fp == NULL)
		die(file);
	for (unsigned k = 0; have < want; k++) {
		size_t len = message(buf, sizeof(buf), k, 60000);

		fprintf(fp, "From bench@example.org Mon Nov 23 10:00:00 2026\n");
		if (fwrite(buf, 1, len, fp) != len || fputc('\n', fp) == EOF)
			die(file);
		have += len + 50;
	}
	if (fclose(fp) != 0)
		die(file);
}

static void
deliver(const char *dir)
{
	char tmp[4096], dst[4096], buf[4096];
	size_t len = message(buf, sizeof(buf), 999999, 2000);
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/tmp/%ld.M1P%d.bench", dir,
	    (long)time(NULL), (int)getpid());
	snprintf(dst, sizeof(dst), "%s/new/%ld.M1P%d.bench", dir,
	    (long)time(NULL), (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write_all(fd, buf, len) < 0 || fsync(fd) < 0 ||
	    close(fd) < 0 || rename(tmp, dst) < 0)
		die(dst);
}

static long long
rchar(void)
{
	FILE *fp = fopen("/proc/self/io", "r");
	char line[128];
	long long v = -1;

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "rchar: %lld", &v) == 1)
			break;
	fclose(fp);
	return v;
}

static void
open_once(const char *loc)
{
	struct store_user u = { "bench", "/nonexistent" };
	struct store *st;
	struct mallinfo2 m0, m1;
	char err[512];
	long long r0, r1;
	int64_t t0, t1;
	size_t names = 0;

	m0 = mallinfo2();
	r0 = rchar();
	t0 = now_ms();
	if (store_open_inbox(loc, &u, 0, &st, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "store_bench: %s\n", err);
		exit(1);
	}
	t1 = now_ms();
	r1 = rchar();
	m1 = mallinfo2();
	for (unsigned i = 0; i < store_count(st); i++) {
		const char *f = store_filename(st, i);

		if (f != NULL)
			names += (strlen(f) + 1 + 8 + 15) / 16 * 16;
	}
	printf("msgs=%u ms=%lld heap=%zu names=%zu rchar=%lld\n",
	    store_count(st), (long long)(t1 - t0),
	    /* big arrays are mmapped: hblkhd counts those */
	    (m1.uordblks + m1.hblkhd) - (m0.uordblks + m0.hblkhd), names,
	    r1 - r0);
	store_close(st);
}

static struct store *
must_open(const char *loc, int flags)
{
	struct store_user u = { "bench", "/nonexistent" };
	struct store *st;
	char err[512];

	if (store_open_inbox(loc, &u, flags, &st, err, sizeof(err)) !=
	    STORE_OK) {
		fprintf(stderr, "store_bench: %s\n", err);
		exit(1);
	}
	return st;
}

static void
hold(const char *loc, unsigned secs)
{
	struct store *st = must_open(loc, STORE_SESSION_LOCK);

	printf("held\n");
	fflush(stdout);
	sleep(secs);
	store_close(st);
}

static void
session_cmd(struct store *st, const char *line)
{
	struct store_changes ch;
	char err[512], op;
	unsigned i;

	if (strcmp(line, "sync") == 0) {
		if (store_sync(st, 0, &ch, err, sizeof(err)) != STORE_OK) {
			printf("error %s\n", err);
			return;
		}
		printf("count=%u added=%u expunged=%zu changed=%zu\n",
		    store_count(st), ch.added, ch.nexpunged, ch.nchanged);
		store_changes_free(&ch);
	} else if (strcmp(line, "uids") == 0) {
		printf("uids=");
		for (i = 0; i < store_count(st); i++)
			printf("%s%u", i ? "," : "", store_uid(st, i));
		printf("\n");
	} else if (sscanf(line, "flag %u %c", &i, &op) == 2) {
		if (store_set_flags(st, i, op == '+' ? STORE_FLAGS_ADD :
		    STORE_FLAGS_REMOVE, MF_SEEN, 0, 0, err, sizeof(err)) !=
		    STORE_OK || store_flush(st, err, sizeof(err)) != STORE_OK)
			printf("error %s\n", err);
		else
			printf("ok\n");
	} else if (sscanf(line, "flags %u", &i) == 1) {
		printf("flags=%u\n", store_flags(st, i));
	} else {
		printf("error unknown command\n");
	}
}

static void
session(const char *loc)
{
	struct store *st = must_open(loc, STORE_SELECT);
	char line[256];

	printf("count=%u\n", store_count(st));
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		session_cmd(st, line);
		fflush(stdout);
	}
	store_close(st);
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "mkmaildir") == 0)
		mkmaildir(argv[2], (unsigned)strtoul(argv[3], NULL, 10));
	else if (argc == 4 && strcmp(argv[1], "mkmbox") == 0)
		mkmbox(argv[2], (unsigned)strtoul(argv[3], NULL, 10));
	else if (argc == 3 && strcmp(argv[1], "deliver") == 0)
		deliver(argv[2]);
	else if (argc == 3 && strcmp(argv[1], "open") == 0)
		open_once(argv[2]);
	else if (argc == 4 && strcmp(argv[1], "hold") == 0)
		hold(argv[2], (unsigned)strtoul(argv[3], NULL, 10));
	else if (argc == 3 && strcmp(argv[1], "session") == 0)
		session(argv[2]);
	else {
		fprintf(stderr, "usage: store_bench mkmaildir DIR N | mkmbox "
		    "FILE MB | deliver DIR | open LOCATION | hold LOCATION "
		    "SECS | session LOCATION\n");
		return 2;
	}
	return 0;
}
