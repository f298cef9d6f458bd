/*
 * test_index.c - the folder index (index.h): header, records and strings
 * round-trip; appends fill the slots and then say "rewrite"; a rewrite
 * grows the slots and changes the generation; another handle's changes
 * are seen without the lock; every damaged file reads as missing or as a
 * failed read, never as data; the expunge log keeps ranges, filters by
 * modseq, honours its floor and is cut on rewrite.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index.h"
#include "store_int.h"
#include "tap.h"

#define NAME "postern-index"
#define STRS(b) (INDEX_HDR_SIZE + (b) * INDEX_REC_SIZE)

static int dirfd_;

static void
le(uint8_t *b, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le(const uint8_t *b, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static uint8_t *
slurp(const char *name, size_t *len)
{
	int fd = openat(dirfd_, name, O_RDONLY);
	struct stat st;
	uint8_t *b;

	if (fd < 0 || fstat(fd, &st) != 0)
		return NULL;
	b = malloc((size_t)st.st_size + 1);
	*len = (size_t)pread(fd, b, (size_t)st.st_size, 0);
	close(fd);
	return b;
}

static void
put_file(const char *name, const void *b, size_t len)
{
	int fd = openat(dirfd_, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, b, len) != (ssize_t)len)
		abort();
	close(fd);
}

/* Flip the low bit of the byte at off in name, in place. */
static int
flip_bit(const char *name, off_t off)
{
	int fd = openat(dirfd_, name, O_RDWR);
	uint8_t c;
	int r = -1;

	if (fd >= 0 && pread(fd, &c, 1, off) == 1) {
		c ^= 1;
		r = pwrite(fd, &c, 1, off) == 1 ? 0 : -1;
	}
	close(fd);
	return r;
}

/* Re-seal a header or record after changing its bytes. */
static void
seal_hdr(uint8_t *b)
{
	le(b + INDEX_HDR_SIZE - 4, index_crc32c(0, b, INDEX_HDR_SIZE - 4), 4);
}

static void
seal_rec(uint8_t *r)
{
	le(r + INDEX_REC_SIZE - 4, index_crc32c(0, r, INDEX_REC_SIZE - 4), 4);
}

static struct index_rec
mkrec(uint32_t uid)
{
	struct index_rec r;

	memset(&r, 0, sizeof(r));
	r.uid = uid;
	r.flags = (uint8_t)(uid & 0x1f);
	r.state = (uint8_t)(uid % 3 == 0 ? IREC_NEWDIR : 0);
	r.kw = uid * 0x01010101u;
	r.modseq = 1000 + uid;
	r.internal = 1700000000 + uid;
	r.wire = uid % 2 ? -1 : (int64_t)(4000 + uid);
	r.raw = 3900 + uid;
	r.str_off = 0xdead;	/* recomputed when there is a name */
	for (int i = 0; i < 10; i++)
		r.extra[i] = (uint8_t)(uid + i);
	return r;
}

static struct index_hdr
mkhdr(uint32_t kind)
{
	struct index_hdr h;

	memset(&h, 0, sizeof(h));
	h.kind = kind;
	h.uidvalidity = 1234567;
	h.uidnext = 1000;
	h.recent_uid = 7;
	h.highestmodseq = 5000;
	h.xlog_floor = 10;
	for (int i = 0; i < INDEX_VALIDITY_SIZE; i++)
		h.validity[i] = (uint8_t)(i * 7 + 1);
	return h;
}

/* A Maildir index of n records, UIDs 1, 3, 5, ..., named "msg<uid>". */
static int
build(const char *name, uint32_t n, struct index **ix)
{
	struct index_hdr h = mkhdr(INDEX_KIND_MAILDIR);
	struct index_rec *recs = calloc(n + 1, sizeof(*recs));
	char **strs = calloc(n + 1, sizeof(*strs));
	int r;

	for (uint32_t i = 0; i < n; i++) {
		recs[i] = mkrec(2 * i + 1);
		strs[i] = malloc(32);
		snprintf(strs[i], 32, "msg%u", 2 * i + 1);
	}
	r = index_rewrite(dirfd_, name, &h, recs, (const char *const *)strs, n,
	    ix);
	for (uint32_t i = 0; i < n; i++)
		free(strs[i]);
	free(strs);
	free(recs);
	return r;
}

static int
same_rec(const struct index_rec *a, const struct index_rec *b)
{
	return a->uid == b->uid && a->flags == b->flags &&
	    a->state == b->state && a->kw == b->kw && a->modseq == b->modseq &&
	    a->internal == b->internal && a->wire == b->wire &&
	    a->raw == b->raw && memcmp(a->extra, b->extra, 10) == 0;
}

static void
test_crc(void)
{
	/* RFC 3720 B.4 check value for "123456789" */
	tap_is_int(index_crc32c(0, "123456789", 9), 0xe3069283,
	    "crc32c_check_value");
	tap_is_int(index_crc32c(index_crc32c(0, "1234", 4), "56789", 5),
	    0xe3069283, "crc32c_chains");
}

static void
test_roundtrip(void)
{
	struct index *ix = NULL, *rd;
	struct index_hdr want = mkhdr(INDEX_KIND_MAILDIR);
	const struct index_hdr *h;
	struct index_rec got[3];
	char s[64];
	int ok = 1;

	tap_is_int(build(NAME, 3, &ix), 0, "rewrite_creates_index");
	tap_is_int(index_open(dirfd_, NAME, INDEX_KIND_MAILDIR, &rd), 0,
	    "open_after_rewrite");
	h = index_header(rd);
	tap_ok(h->uidvalidity == want.uidvalidity && h->uidnext == 1000 &&
	    h->recent_uid == 7 && h->highestmodseq == 5000 &&
	    h->xlog_floor == 10 && h->count == 3 && h->cap == 64 &&
	    h->kind == INDEX_KIND_MAILDIR && h->change == 0 &&
	    h->generation == index_header(ix)->generation &&
	    h->str_len == strlen("msg1msg3msg5") &&
	    memcmp(h->validity, want.validity, INDEX_VALIDITY_SIZE) == 0,
	    "header_roundtrip");
	tap_is_int(index_read_recs(rd, 0, 3, got), 0, "read_recs_ok");
	for (uint32_t i = 0; i < 3; i++) {
		struct index_rec w = mkrec(2 * i + 1);

		snprintf(s, sizeof(s), "x");
		ok &= same_rec(&got[i], &w);
		ok &= index_read_str(rd, &got[i], s, sizeof(s)) == 0;
		ok &= strcmp(s, i == 0 ? "msg1" : i == 1 ? "msg3" :
		    "msg5") == 0;
	}
	tap_ok(ok, "records_and_strings_roundtrip");
	tap_ok(got[1].str_off == 4 && got[1].str_len == 4,
	    "string_offsets_recomputed");
	tap_is_int(index_read_str(rd, &got[0], s, 4), -1,
	    "read_str_needs_room_for_nul");
	tap_is_int(index_read_recs(rd, 2, 2, got), -1, "read_recs_past_count");
	tap_is_int(index_read_recs(rd, 3, 0, got), 0, "read_recs_empty_at_end");
	index_close(rd);
	index_close(ix);
}

/* mbox: no strings, str_off is the backend's and survives as it is. */
static void
test_mbox_offsets(void)
{
	struct index_hdr h = mkhdr(INDEX_KIND_MBOX);
	struct index_rec recs[2] = { mkrec(1), mkrec(2) }, got[2];
	struct index *ix = NULL, *rd;

	recs[0].str_off = 0;
	recs[1].str_off = ((uint64_t)1 << 48) - 1;
	recs[1].internal = recs[1].wire = recs[1].raw = -1;
	tap_is_int(index_rewrite(dirfd_, "mbox-index", &h, recs, NULL, 2, &ix),
	    0, "mbox_rewrite_without_strings");
	tap_is_int(index_open(dirfd_, "mbox-index", INDEX_KIND_MAILDIR, &rd),
	    1, "wrong_kind_is_missing");
	tap_is_int(index_open(dirfd_, "mbox-index", INDEX_KIND_MBOX, &rd), 0,
	    "mbox_open");
	tap_ok(index_read_recs(rd, 0, 2, got) == 0 && got[0].str_off == 0 &&
	    got[1].str_off == ((uint64_t)1 << 48) - 1 && got[1].str_len == 0 &&
	    got[1].internal == -1 && got[1].wire == -1 && got[1].raw == -1,
	    "mbox_offsets_48_bits_and_unknowns_roundtrip");
	recs[1].str_off = (uint64_t)1 << 48;
	errno = 0;
	tap_ok(index_put_rec(rd, 1, &recs[1]) == -1 && errno == EINVAL,
	    "str_off_over_48_bits_refused");
	tap_ok(index_rewrite(dirfd_, "mbox-index", &h, recs, NULL, 2, &ix) == -1
	    && errno == EINVAL, "rewrite_refuses_str_off_over_48_bits");
	recs[1].str_off = 0;
	h.kind = 3;
	tap_ok(index_rewrite(dirfd_, "mbox-index", &h, recs, NULL, 2, &ix) == -1
	    && errno == EINVAL, "rewrite_refuses_unknown_kind");
	h.kind = INDEX_KIND_MBOX;
	recs[1] = recs[0];
	tap_ok(index_rewrite(dirfd_, "mbox-index", &h, recs, NULL, 2, &ix) == -1
	    && errno == EINVAL, "rewrite_refuses_uids_out_of_order");
	index_close(rd);
	index_close(ix);
}

static void
test_append_until_full(void)
{
	struct index *ix = NULL, *rd;
	struct index_rec r, got[64];
	char name[32], s[32];
	int ok = 1;

	tap_is_int(build("app", 0, &ix), 0, "rewrite_empty");
	tap_is_int(index_header(ix)->cap, 64, "empty_index_has_64_slots");
	for (uint32_t u = 1; u <= 64; u++) {
		r = mkrec(u);
		snprintf(name, sizeof(name), "name-%u", u);
		ok &= index_append(ix, &r, name, strlen(name)) == 0;
	}
	tap_ok(ok, "append_64_records");
	r = mkrec(65);
	tap_is_int(index_append(ix, &r, "x", 1), 1, "append_when_full_is_1");
	tap_is_int(index_changed(ix), 0, "own_appends_not_a_change");
	tap_is_int(index_open(dirfd_, "app", INDEX_KIND_MAILDIR, &rd), 0,
	    "reopen_after_appends");
	tap_ok(index_header(rd)->count == 64 && index_header(rd)->change == 64,
	    "appends_counted");
	tap_is_int(index_read_recs(rd, 0, 64, got), 0, "read_appended");
	for (uint32_t i = 0; i < 64; i++) {
		struct index_rec w = mkrec(i + 1);

		snprintf(name, sizeof(name), "name-%u", i + 1);
		ok &= same_rec(&got[i], &w) &&
		    index_read_str(rd, &got[i], s, sizeof(s)) == 0 &&
		    strcmp(s, name) == 0;
	}
	tap_ok(ok, "appended_records_and_names_read_back");
	errno = 0;
	tap_ok(index_append(rd, &r, "a\0b", 3) == -1 && errno == EINVAL,
	    "append_refuses_nul_in_name");
	tap_ok(index_put_rec(rd, 64, &r) == -1 && errno == EINVAL,
	    "put_rec_past_count_refused");
	index_close(rd);
	index_close(ix);
}

static int
leftover_temps(void)
{
	DIR *d = fdopendir(dup(dirfd_));
	struct dirent *e;
	int n = 0;

	rewinddir(d);
	while ((e = readdir(d)) != NULL)
		n += strstr(e->d_name, ".tmp.") != NULL;
	closedir(d);
	return n;
}

static void
test_rewrite_grows(void)
{
	struct index *ix = NULL, *old;
	struct index_rec recs[100];
	uint64_t gen;
	struct stat st;

	build("grow", 10, &ix);
	gen = index_header(ix)->generation;
	old = ix;
	for (uint32_t i = 0; i < 100; i++)
		recs[i] = mkrec(i + 1);
	tap_is_int(index_rewrite(dirfd_, "grow", index_header(ix), recs, NULL,
	    100, &ix), 0, "rewrite_over_existing");
	tap_ok(ix != old, "rewrite_replaces_handle");
	tap_is_int(index_header(ix)->cap, 200, "rewrite_cap_is_twice_count");
	tap_ok(index_header(ix)->generation != gen, "rewrite_new_generation");
	tap_is_int(index_header(ix)->uidvalidity, 1234567,
	    "rewrite_keeps_callers_header");
	tap_is_int(index_changed(ix), 0, "own_rewrite_not_a_change");
	tap_ok(fstatat(dirfd_, "grow", &st, 0) == 0 &&
	    (st.st_mode & 07777) == 0600, "rewritten_file_mode_0600");
	tap_is_int(leftover_temps(), 0, "no_temp_files_left");
	index_close(ix);
}

/* A crashed rewrite's temp file is removed by the next rewrite once it
 * is an hour old; a young one may be another session's and stays. */
static void
test_stale_temps(void)
{
	struct index *ix = NULL;
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	struct stat st;
	int fd;

	fd = openat(dirfd_, "stale.tmp.0000000000000001", O_WRONLY | O_CREAT,
	    0600);
	if (fd >= 0)
		close(fd);
	utimensat(dirfd_, "stale.tmp.0000000000000001", old, 0);
	fd = openat(dirfd_, "stale.tmp.0000000000000002", O_WRONLY | O_CREAT,
	    0600);
	if (fd >= 0)
		close(fd);
	build("stale", 3, &ix);
	tap_ok(fstatat(dirfd_, "stale.tmp.0000000000000001", &st, 0) < 0,
	    "stale_temp_removed_by_rewrite");
	tap_ok(fstatat(dirfd_, "stale.tmp.0000000000000002", &st, 0) == 0,
	    "young_temp_kept");
	unlinkat(dirfd_, "stale.tmp.0000000000000002", 0);
	index_close(ix);
}

static void
test_changed(void)
{
	struct index *a = NULL, *b;
	struct index_rec r = mkrec(1);
	struct index_hdr h;

	build("chg", 5, &a);
	index_open(dirfd_, "chg", INDEX_KIND_MAILDIR, &b);
	tap_is_int(index_changed(a), 0, "changed_false_when_untouched");
	r.flags = MF_SEEN | MF_FLAGGED;
	tap_is_int(index_put_rec(a, 0, &r), 0, "put_rec");
	tap_is_int(index_changed(a), 0, "changed_false_after_own_put_rec");
	tap_is_int(index_changed(b), 1, "changed_after_other_put_rec");
	tap_is_int(index_reload(b), 0, "reload_after_put_rec");
	tap_is_int(index_changed(b), 0, "changed_false_after_reload");
	r = mkrec(11);
	tap_is_int(index_append(b, &r, "n11", 3), 0, "append_other");
	tap_is_int(index_changed(a), 1, "changed_after_other_append");
	tap_ok(index_reload(a) == 0 && index_header(a)->count == 6,
	    "reload_sees_append");
	h = *index_header(a);
	h.highestmodseq = 9999;
	h.uidnext = 12;
	tap_is_int(index_put_hdr(a, &h), 0, "put_hdr");
	tap_is_int(index_changed(a), 0, "changed_false_after_own_put_hdr");
	tap_is_int(index_changed(b), 1, "changed_after_other_put_hdr");
	tap_ok(index_reload(b) == 0 && index_header(b)->highestmodseq == 9999 &&
	    index_header(b)->uidnext == 12, "reload_sees_put_hdr");
	build("chg", 2, &a);
	tap_is_int(index_changed(b), 1, "changed_after_other_rewrite");
	tap_is_int(index_reload(b), -1, "reload_after_rewrite_fails");
	index_close(b);
	tap_is_int(index_open(dirfd_, "chg", INDEX_KIND_MAILDIR, &b), 0,
	    "reopen_after_rewrite");
	tap_is_int(index_changed(b), 0, "reopened_not_changed");
	/* a header caught half-written: its CRC fails */
	tap_is_int(flip_bit("chg", 100), 0, "tear_header");
	tap_is_int(index_changed(b), 1, "changed_when_header_torn");
	tap_is_int(index_reload(b), -1, "reload_fails_when_header_torn");
	tap_is_int(flip_bit("chg", 100), 0, "mend_header");
	tap_is_int(index_changed(b), 0, "mended_header_not_changed");
	unlinkat(dirfd_, "chg", 0);
	tap_is_int(index_changed(b), 1, "changed_after_unlink");
	index_close(a);
	index_close(b);
}

/* Open a copy of bytes as "bad": 0, 1 or -1. */
static int
open_bytes(const uint8_t *b, size_t len)
{
	struct index *ix;
	int r;

	put_file("bad", b, len);
	r = index_open(dirfd_, "bad", INDEX_KIND_MAILDIR, &ix);
	index_close(ix);
	return r;
}

/* Read all records of a copy of bytes: index_read_recs()'s result. */
static int
read_bytes(const uint8_t *b, size_t len)
{
	struct index *ix;
	struct index_rec got[8];
	int r;

	put_file("bad", b, len);
	if (index_open(dirfd_, "bad", INDEX_KIND_MAILDIR, &ix) != 0)
		return 99;
	r = index_read_recs(ix, 0, index_header(ix)->count, got);
	index_close(ix);
	return r;
}

static void
test_corrupt_header(const uint8_t *good, size_t len)
{
	uint8_t *b = malloc(len + 4);
	int ok = 1;

	tap_is_int(open_bytes(good, len), 0, "pristine_copy_opens");
	for (size_t n = 0; n < len; n++)
		ok &= open_bytes(good, n) == 1;
	tap_ok(ok, "every_truncation_is_missing");
	ok = 1;
	for (size_t i = 0; i < INDEX_HDR_SIZE; i++)
		for (int bit = 0; bit < 8; bit += 7) {
			memcpy(b, good, len);
			b[i] ^= (uint8_t)(1 << bit);
			ok &= open_bytes(b, len) == 1;
		}
	tap_ok(ok, "every_header_bit_flip_is_missing");
	memcpy(b, good, len);
	le(b + 36, get_le(b + 40, 4) + 1, 4);	/* count = cap + 1 */
	seal_hdr(b);
	tap_is_int(open_bytes(b, len), 1, "count_over_cap_is_missing");
	memcpy(b, good, len);
	le(b + 40, STORE_MAX_MSGS, 4);
	seal_hdr(b);
	tap_is_int(open_bytes(b, len), 1, "huge_cap_small_file_is_missing");
	le(b + 40, STORE_MAX_MSGS + 1, 4);
	le(b + 36, 0, 4);
	seal_hdr(b);
	tap_is_int(open_bytes(b, len), 1, "cap_over_store_max_is_missing");
	memcpy(b, good, len);
	le(b + 80, get_le(b + 80, 8) + 1, 8);	/* str_len past the end */
	seal_hdr(b);
	tap_is_int(open_bytes(b, len), 1, "str_len_past_file_is_missing");
	memcpy(b, good, len);
	le(b + 8, INDEX_VERSION + 1, 4);
	seal_hdr(b);
	tap_is_int(open_bytes(b, len), 1, "other_version_is_missing");
	memcpy(b, good, len);
	le(b + 16, INDEX_REC_SIZE * 2, 4);
	seal_hdr(b);
	tap_is_int(open_bytes(b, len), 1, "other_record_size_is_missing");
	/* an append that died after its string: bytes past str_len */
	memcpy(b, good, len);
	memcpy(b + len, "junk", 4);
	tap_is_int(open_bytes(b, len + 4), 0, "bytes_past_strings_allowed");
	free(b);
}

static void
test_corrupt_records(const uint8_t *good, size_t len)
{
	uint8_t *b = malloc(len + 16), *rec;
	struct index *ix;
	struct index_rec got[3];
	char s[32];
	int ok = 1, fd;

	for (size_t i = 0; i < INDEX_REC_SIZE; i++) {
		memcpy(b, good, len);
		b[INDEX_HDR_SIZE + INDEX_REC_SIZE + i] ^= 0x10;
		ok &= read_bytes(b, len) == -1;
	}
	tap_ok(ok, "every_record_byte_flip_fails_read");
	memcpy(b, good, len);
	rec = b + INDEX_HDR_SIZE + INDEX_REC_SIZE;
	le(rec + 44, get_le(b + 80, 8) - 1, 6);	/* str_off near the end */
	seal_rec(rec);
	tap_is_int(read_bytes(b, len), -1, "str_off_out_of_bounds_fails_read");
	memcpy(b, good, len);
	le(rec + 6, 0xffff, 2);
	seal_rec(rec);
	tap_is_int(read_bytes(b, len), -1, "str_len_out_of_bounds_fails_read");
	memcpy(b, good, len);
	le(rec, 1, 4);		/* UID 1 after UID 1 */
	seal_rec(rec);
	tap_is_int(read_bytes(b, len), -1, "uids_not_ascending_fails_read");
	memcpy(b, good, len);
	le(rec, 0, 4);
	seal_rec(rec);
	tap_is_int(read_bytes(b, len), -1, "uid_zero_fails_read");
	memcpy(b, good, len);
	memset(b + INDEX_HDR_SIZE + 2 * INDEX_REC_SIZE, 0, INDEX_REC_SIZE);
	tap_is_int(read_bytes(b, len), -1, "zeroed_record_fails_read");

	/* a name with a NUL in it is not a name we wrote */
	memcpy(b, good, len);
	b[STRS(64) + 5] = '\0';
	put_file("bad", b, len);
	index_open(dirfd_, "bad", INDEX_KIND_MAILDIR, &ix);
	index_read_recs(ix, 0, 3, got);
	tap_is_int(index_read_str(ix, &got[1], s, sizeof(s)), -1,
	    "nul_in_string_fails_read_str");
	got[1].str_off = 1000;
	tap_is_int(index_read_str(ix, &got[1], s, sizeof(s)), -1,
	    "read_str_checks_bounds");
	/* the file shrinks under an open handle */
	fd = openat(dirfd_, "bad", O_WRONLY);
	tap_ok(fd >= 0 && ftruncate(fd, INDEX_HDR_SIZE + 10) == 0,
	    "shrink_file");
	close(fd);
	tap_is_int(index_read_recs(ix, 0, 3, got), -1,
	    "read_recs_after_shrink_fails");
	index_close(ix);
	free(b);
}

static void
test_corruption(void)
{
	struct index *ix = NULL, *x;
	uint8_t *good;
	size_t len;
	int fd;

	build("good", 3, &ix);
	index_close(ix);
	good = slurp("good", &len);
	tap_is_int(len, STRS(64) + 12, "file_size_is_header_slots_strings");
	tap_ok(memcmp(good, INDEX_MAGIC, 8) == 0 && get_le(good + 12, 4) ==
	    INDEX_HDR_SIZE && get_le(good + 36, 4) == 3 &&
	    get_le(good + INDEX_HDR_SIZE, 4) == 1 &&
	    get_le(good + INDEX_HDR_SIZE + 6, 2) == 4 &&
	    memcmp(good + STRS(64), "msg1msg3msg5", 12) == 0,
	    "layout_as_documented");
	test_corrupt_header(good, len);
	test_corrupt_records(good, len);
	free(good);

	tap_is_int(index_open(dirfd_, "nonesuch", INDEX_KIND_MAILDIR, &x), 1,
	    "missing_file_is_1");
	tap_is_int(symlinkat("good", dirfd_, "link"), 0, "make_symlink");
	tap_is_int(index_open(dirfd_, "link", INDEX_KIND_MAILDIR, &x), 1,
	    "symlink_is_missing");
	mkfifoat(dirfd_, "fifo", 0600);
	tap_is_int(index_open(dirfd_, "fifo", INDEX_KIND_MAILDIR, &x), 1,
	    "fifo_is_missing_without_blocking");
	fd = openat(dirfd_, "empty", O_WRONLY | O_CREAT, 0600);
	close(fd);
	tap_is_int(index_open(dirfd_, "empty", INDEX_KIND_MAILDIR, &x), 1,
	    "empty_file_is_missing");
}

/* The UIDs since modseq as a string "3,4,5" ("unknown" for 1). */
static const char *
since(struct index *ix, uint64_t ms)
{
	static char out[256];
	uint32_t *u;
	size_t n, o = 0;
	int r = index_xlog_since(ix, ms, &u, &n);

	if (r != 0)
		return r > 0 ? "unknown" : "error";
	out[0] = '\0';
	for (size_t i = 0; i < n && o < sizeof(out) - 12; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%u",
		    i ? "," : "", u[i]);
	free(u);
	return out;
}

static void
test_xlog(void)
{
	struct index *ix = NULL;
	struct index_hdr h;
	uint32_t a[] = { 3, 4, 5, 9, 10, 20 }, b[] = { 7 }, c[] = { 30, 31 };
	uint8_t *log, junk[5] = { 1, 2, 3, 4, 5 };
	size_t len;
	int fd;

	build("xl", 0, &ix);
	tap_is_str(since(ix, 10), "", "xlog_missing_is_empty");
	tap_is_int(index_xlog_append(ix, 100, a, 6), 0, "xlog_append");
	tap_is_int(index_xlog_append(ix, 200, b, 1), 0, "xlog_append_more");
	log = slurp("xl.expunged", &len);
	tap_ok(len == 4 * 16 && get_le(log, 8) == 100 &&
	    get_le(log + 8, 4) == 3 && get_le(log + 12, 4) == 5 &&
	    get_le(log + 24, 4) == 9 && get_le(log + 28, 4) == 10 &&
	    get_le(log + 48, 8) == 200, "xlog_coalesces_ranges");
	free(log);
	tap_is_str(since(ix, 10), "3,4,5,7,9,10,20", "xlog_since_floor");
	tap_is_str(since(ix, 100), "7", "xlog_since_filters_by_modseq");
	tap_is_str(since(ix, 200), "", "xlog_since_newest_is_empty");
	tap_is_str(since(ix, 9), "unknown", "xlog_below_floor_is_unknown");

	/* a torn final entry is ignored, and cut off by the next append */
	fd = openat(dirfd_, "xl.expunged", O_WRONLY | O_APPEND);
	tap_ok(write(fd, junk, 5) == 5, "xlog_torn_tail_written");
	close(fd);
	tap_is_str(since(ix, 100), "7", "xlog_torn_tail_ignored");
	tap_is_int(index_xlog_append(ix, 300, c, 2), 0,
	    "xlog_append_after_tear");
	tap_is_str(since(ix, 100), "7,30,31", "xlog_append_realigns");

	h = *index_header(ix);
	h.xlog_floor = 150;
	tap_is_int(index_rewrite(dirfd_, "xl", &h, NULL, NULL, 0, &ix), 0,
	    "rewrite_with_higher_floor");
	tap_is_str(since(ix, 100), "unknown", "xlog_since_below_new_floor");
	tap_is_str(since(ix, 150), "7,30,31", "xlog_since_at_floor");
	index_close(ix);
}

static void
test_xlog_bounds(void)
{
	struct index *ix = NULL;
	uint8_t e[3 * 16];

	build("xb", 0, &ix);
	/* duplicates, a reversed range, UID 0: kept once, skipped, skipped */
	le(e, 50, 8), le(e + 8, 5, 4), le(e + 12, 6, 4);
	memcpy(e + 16, e, 16);
	le(e + 32, 50, 8), le(e + 40, 9, 4), le(e + 44, 8, 4);
	put_file("xb.expunged", e, sizeof(e));
	tap_is_str(since(ix, 20), "5,6", "xlog_dedups_and_skips_bad_ranges");
	le(e + 32, 60, 8), le(e + 40, 1, 4), le(e + 44, UINT32_MAX, 4);
	put_file("xb.expunged", e, sizeof(e));
	tap_is_str(since(ix, 20), "unknown", "xlog_over_store_max_is_unknown");
	tap_is_str(since(ix, 60), "", "xlog_huge_range_filtered_by_modseq");
	index_close(ix);
}

/* More than INDEX_XLOG_MAX entries: rewrite keeps the newest and raises
 * the floor to the newest modseq it dropped. */
static void
test_xlog_cut(void)
{
	const size_t extra = 10, n = INDEX_XLOG_MAX + extra;
	struct index *ix = NULL;
	uint8_t *log = malloc(n * 16), *after;
	uint32_t *u;
	size_t len, cnt;

	build("xc", 0, &ix);
	for (size_t i = 0; i < n; i++) {
		le(log + 16 * i, 100 + i, 8);
		le(log + 16 * i + 8, 2 * i + 1, 4);
		le(log + 16 * i + 12, 2 * i + 1, 4);
	}
	put_file("xc.expunged", log, n * 16);
	tap_is_int(index_rewrite(dirfd_, "xc", index_header(ix), NULL, NULL, 0,
	    &ix), 0, "rewrite_cuts_log");
	after = slurp("xc.expunged", &len);
	tap_ok(len == INDEX_XLOG_MAX * 16 &&
	    memcmp(after, log + extra * 16, len) == 0, "log_keeps_newest");
	tap_is_int((long long)index_header(ix)->xlog_floor, 100 + extra - 1,
	    "floor_is_newest_dropped_modseq");
	tap_is_str(since(ix, 100 + extra - 2), "unknown",
	    "cut_entries_unknown");
	tap_ok(index_xlog_since(ix, 100 + extra - 1, &u, &cnt) == 0 &&
	    cnt == INDEX_XLOG_MAX && u[0] == 2 * extra + 1,
	    "after_cut_complete");
	free(u);
	tap_is_int(leftover_temps(), 0, "no_temp_files_after_cut");
	free(after);
	free(log);
	index_close(ix);
}

static void
test_fresh_modseq(void)
{
	uint64_t a = index_fresh_modseq(), b = index_fresh_modseq();

	/* microseconds since the epoch: past 2020 and not going back */
	tap_ok(a > 1577836800ull * 1000000 && b >= a, "fresh_modseq_is_now_us");
}

int
main(void)
{
	char dir[] = "/tmp/postern-index-XXXXXX", cmd[64];

	if (mkdtemp(dir) == NULL || chdir(dir) != 0)
		return 1;
	dirfd_ = open(dir, O_RDONLY | O_DIRECTORY);
	test_crc();
	test_roundtrip();
	test_mbox_offsets();
	test_append_until_full();
	test_rewrite_grows();
	test_stale_temps();
	test_changed();
	test_corruption();
	test_xlog();
	test_xlog_bounds();
	test_xlog_cut();
	test_fresh_modseq();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
	return tap_done();
}
