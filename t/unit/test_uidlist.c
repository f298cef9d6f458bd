/*
 * test_uidlist.c - the UID list reader/writer (uidlist.h): our format
 * round-trips; Dovecot (v1, v3) and Courier files import with their
 * UIDVALIDITY and UIDs; damaged files never crash and never yield an
 * entry that was not whole and valid.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"
#include "uidlist.h"

/* Parse text fed in chunks of step bytes; returns uidlist_finish(). */
static int
parse(struct uidlist *ul, enum uidlist_format fmt, const char *text,
    size_t step)
{
	size_t n = strlen(text);

	uidlist_init(ul, fmt);
	for (size_t i = 0; i < n; i += step)
		uidlist_feed(ul, text + i, n - i < step ? n - i : step);
	return uidlist_finish(ul);
}

static void
test_postern_roundtrip(void)
{
	struct uidlist ul, again;
	const char *text = "postern-uidlist 1 V1700000000 N8\n"
	    "3 120 1700000001.M1P1.host,S=100\n"
	    "7 - 1700000002.M2P2.host\n";
	size_t len;
	char *out;

	tap_is_int(parse(&ul, UIDLIST_POSTERN, text, 1), 0,
	    "uidlist_postern_parses_byte_by_byte");
	tap_ok(ul.uidvalidity == 1700000000u && ul.uidnext == 8 && ul.n == 2,
	    "uidlist_postern_header_and_entries");
	tap_ok(ul.e[0].uid == 3 && ul.e[0].wire == 120 && ul.e[1].wire == -1,
	    "uidlist_postern_sizes_and_unknown");
	out = uidlist_format(&ul, &len);
	tap_is_mem(out, len, text, strlen(text), "uidlist_postern_roundtrip");
	tap_is_int(parse(&again, UIDLIST_POSTERN, out, 7), 0,
	    "uidlist_postern_reparse");
	free(out);
	uidlist_free(&ul);
	uidlist_free(&again);
}

static void
test_dovecot_v1(void)
{
	struct uidlist ul;

	tap_is_int(parse(&ul, UIDLIST_DOVECOT, "1 1234567 50\n"
	    "10 1600000000.M1P1.a:2,S\n12 1600000001.M2P2.a\n", 5), 0,
	    "uidlist_dovecot_v1_parses");
	tap_ok(ul.uidvalidity == 1234567 && ul.uidnext == 50 && ul.n == 2 &&
	    ul.e[0].uid == 10 && strcmp(ul.e[0].name, "1600000000.M1P1.a") == 0,
	    "uidlist_dovecot_v1_keeps_uids_strips_flags");
	uidlist_free(&ul);
}

static void
test_dovecot_v3(void)
{
	struct uidlist ul;

	tap_is_int(parse(&ul, UIDLIST_DOVECOT,
	    "3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1\n"
	    "25006 :1276528487.M364837P9451.kurkku,S=1355,W=1394:2,\n"
	    "25017 W2481 :1276533073.M242911P3632.kurkku:2,F\n"
	    "25018 P1234 O5 W77 G00ff :a b:2,\n", 3), 0,
	    "uidlist_dovecot_v3_parses");
	tap_ok(ul.uidvalidity == 1275660208u && ul.uidnext == 25022 &&
	    ul.n == 3, "uidlist_dovecot_v3_header");
	tap_ok(ul.e[0].wire == -1 && ul.e[1].wire == 2481 &&
	    ul.e[2].wire == 77 && strcmp(ul.e[2].name, "a b") == 0 &&
	    strcmp(ul.e[1].name, "1276533073.M242911P3632.kurkku") == 0,
	    "uidlist_dovecot_v3_vsize_and_names");
	uidlist_free(&ul);
	tap_is_int(parse(&ul, UIDLIST_DOVECOT, "2 V1 N2\n", 4), -1,
	    "uidlist_dovecot_v2_refused");
	uidlist_free(&ul);
}

static void
test_courier(void)
{
	struct uidlist ul;

	tap_is_int(parse(&ul, UIDLIST_COURIER, "1 987654 4\n"
	    "1 1100000000.1.x:2,S\n3 1100000001.2.x\n", 64), 0,
	    "uidlist_courier_parses");
	tap_ok(ul.uidvalidity == 987654 && ul.uidnext == 4 && ul.n == 2 &&
	    ul.e[1].uid == 3 && strcmp(ul.e[0].name, "1100000000.1.x") == 0,
	    "uidlist_courier_keeps_uids");
	uidlist_free(&ul);
}

static void
test_bad_header(void)
{
	static const char *bad[] = {
		"", "garbage\n1 - a\n", "postern-uidlist 1 V0 N1\n",
		"postern-uidlist 1 V1 N0\n", "postern-uidlist 2 V1 N1\n",
		"postern-uidlist 1 V99999999999 N1\n",
		"postern-uidlist 1 V1 N1 extra\n",
		"postern-uidlist 1 V1\0 N1\n", "postern-uidlist 1 V1 N1",
	};
	struct uidlist ul;
	int all = 1;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		all &= parse(&ul, UIDLIST_POSTERN, bad[i], 2) == -1 &&
		    ul.n == 0;
		uidlist_free(&ul);
	}
	tap_ok(all, "uidlist_bad_header_rejected");
}

static void
test_bad_lines_skipped(void)
{
	struct uidlist ul;

	tap_is_int(parse(&ul, UIDLIST_POSTERN, "postern-uidlist 1 V5 N3\n"
	    "1 - good\n"
	    "x - nouid\n0 - zero\n4294967295 - maxuid\n2 12 \n2 - .dot\n"
	    "2 - sl/ash\n2 -5 neg\n2 - ok2\n2 - dupuid\n9 - good\n"
	    "5 - torn", 3), 0, "uidlist_bad_lines_file_usable");
	tap_ok(ul.n == 2 && ul.e[0].uid == 2 && ul.e[1].uid == 9 &&
	    strcmp(ul.e[0].name, "dupuid") == 0 &&
	    strcmp(ul.e[1].name, "good") == 0,
	    "uidlist_bad_lines_skipped_name_listed_twice_takes_higher_uid");
	tap_ok(ul.uidnext == 10 && ul.bad_lines == 9,
	    "uidlist_bad_lines_counted");
	uidlist_free(&ul);
}

static void
test_uidnext_raised(void)
{
	struct uidlist ul;

	parse(&ul, UIDLIST_POSTERN, "postern-uidlist 1 V5 N2\n"
	    "40 - a\n", 8);
	tap_is_int(ul.uidnext, 41, "uidlist_uidnext_raised_above_every_uid");
	uidlist_free(&ul);
}

static void
test_long_line(void)
{
	size_t n = UIDLIST_LINE_MAX * 3;
	char *text = malloc(n + 200);
	struct uidlist ul;

	strcpy(text, "postern-uidlist 1 V5 N9\n1 - ");
	memset(text + strlen(text), 'a', n);
	strcpy(text + 28 + n, "\n2 - b\n");
	tap_is_int(parse(&ul, UIDLIST_POSTERN, text, 1000), 0,
	    "uidlist_long_line_file_usable");
	tap_ok(ul.n == 1 && ul.e[0].uid == 2 && ul.bad_lines == 1,
	    "uidlist_long_line_skipped_whole");
	uidlist_free(&ul);
	free(text);
}

static void
test_garbage(void)
{
	char text[4096];
	struct uidlist ul;
	unsigned seed = 12345;
	int ok = 1;

	for (int round = 0; round < 200; round++) {
		size_t n = (size_t)(rand_r(&seed) % (sizeof(text) - 1));

		for (size_t i = 0; i < n; i++)
			text[i] = "0123456789 -:VNW\nab./\r"[rand_r(&seed) % 22];
		text[n] = '\0';
		memcpy(text, "1 5 9\n", n > 6 ? 6 : 0);
		if (parse(&ul, UIDLIST_COURIER, text, 1 + (size_t)round) == 0)
			for (size_t i = 0; i < ul.n; i++)
				ok &= ul.e[i].uid > 0 && ul.e[i].uid < ul.uidnext &&
				    ul.e[i].name[0] != '.' &&
				    strchr(ul.e[i].name, '/') == NULL;
		uidlist_free(&ul);
	}
	tap_ok(ok, "uidlist_random_garbage_yields_only_valid_entries");
}

static void
test_find_name(void)
{
	struct uidlist ul;

	parse(&ul, UIDLIST_POSTERN, "postern-uidlist 1 V5 N9\n"
	    "3 - c\n1 - a\n2 - b\n", 100);
	uidlist_sort_names(&ul);
	tap_ok(uidlist_find_name(&ul, "b") != NULL &&
	    uidlist_find_name(&ul, "b")->uid == 2 &&
	    uidlist_find_name(&ul, "d") == NULL, "uidlist_find_name");
	uidlist_free(&ul);
}

/* A scratch directory holding one postern-uidlist with text. */
static int
scratch(const char *text, char *dir, size_t len)
{
	const char *tmp = getenv("TMPDIR");
	int dfd, fd;

	snprintf(dir, len, "%s/postern-ul.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL || (dfd = open(dir, O_RDONLY |
	    O_DIRECTORY)) < 0)
		return -1;
	fd = openat(dfd, UIDLIST_NAME, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return -1;
	close(fd);
	return dfd;
}

static char *
contents(int dfd)
{
	static char buf[4096];
	int fd = openat(dfd, UIDLIST_NAME, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
	return buf;
}

static void
cleanup(int dfd, const char *dir)
{
	unlinkat(dfd, UIDLIST_NAME, 0);
	close(dfd);
	rmdir(dir);
}

static void
test_append(void)
{
	struct uidlist_entry e[2] = { { 0, 12, (char *)"new.1" },
	    { 0, -1, (char *)"new.2" } };
	struct uidlist_tail t;
	char dir[512];
	int dfd = scratch("postern-uidlist 1 V9 N3\n1 - a\n5 7 b\n6 - tor",
	    dir, sizeof(dir)), fd;
	uint32_t v;

	if (dfd < 0)
		return;
	fd = uidlist_append_open(dfd, UIDLIST_NAME, &t);
	tap_ok(fd >= 0 && t.uidvalidity == 9 && t.uidnext == 6 && t.end == 36,
	    "uidlist_tail_from_last_whole_line_not_header_n");
	e[0].uid = t.uidnext, e[1].uid = t.uidnext + 1;
	tap_is_int(uidlist_append(fd, &t, e, 2), 0, "uidlist_append_ok");
	close(fd);
	tap_is_str(contents(dfd), "postern-uidlist 1 V9 N3\n1 - a\n5 7 b\n"
	    "6 12 new.1\n7 - new.2\n", "uidlist_append_cuts_torn_line_first");
	tap_ok(t.uidnext == 8 && uidlist_head(dfd, UIDLIST_NAME, &v) == 0 &&
	    v == 9, "uidlist_append_raises_uidnext_head_reads_validity");
	cleanup(dfd, dir);
	dfd = scratch("postern-uidlist 1 V9 N40\n", dir, sizeof(dir));
	fd = uidlist_append_open(dfd, UIDLIST_NAME, &t);
	tap_ok(fd >= 0 && t.uidnext == 40, "uidlist_tail_header_only_uses_n");
	if (fd >= 0)
		close(fd);
	cleanup(dfd, dir);
	dfd = scratch("postern-uidlist 1 V9 N4\n1 - a\n\x01garbage\n", dir,
	    sizeof(dir));
	tap_ok(uidlist_append_open(dfd, UIDLIST_NAME, &t) < 0 &&
	    errno == EINVAL, "uidlist_tail_bad_last_line_needs_full_read");
	cleanup(dfd, dir);
	dfd = scratch("garbage\n1 - a\n", dir, sizeof(dir));
	tap_ok(uidlist_append_open(dfd, UIDLIST_NAME, &t) < 0 &&
	    uidlist_head(dfd, UIDLIST_NAME, &v) < 0,
	    "uidlist_tail_bad_header_refused");
	cleanup(dfd, dir);
}

static void
test_name_twice(void)
{
	struct uidlist ul;

	parse(&ul, UIDLIST_POSTERN, "postern-uidlist 1 V5 N2\n"
	    "3 - back\n4 - other\n9 - back\n", 5);
	uidlist_sort_names(&ul);
	tap_ok(ul.n == 2 && uidlist_find_name(&ul, "back")->uid == 9 &&
	    ul.bad_lines == 0 && ul.uidnext == 10,
	    "uidlist_name_listed_twice_higher_uid_wins");
	uidlist_free(&ul);
}

int
main(void)
{
	log_open("test_uidlist", getenv("TEST_VERBOSE") ? "/dev/stderr" :
	    "/dev/null");
	test_postern_roundtrip();
	test_dovecot_v1();
	test_dovecot_v3();
	test_courier();
	test_bad_header();
	test_bad_lines_skipped();
	test_uidnext_raised();
	test_long_line();
	test_garbage();
	test_find_name();
	test_append();
	test_name_twice();
	return tap_done();
}
