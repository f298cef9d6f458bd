/*
 * fuzz_index.c - the index readers (index.h) over any bytes.  The input
 * is split by its first two bytes into an index file and an expunge log
 * (the third byte's low bit picks the kind; its next bit asks for the
 * CRCs to be made right, so the checks behind them get fuzzed too),
 * written to a private temp directory, then opened and read.
 * Oracles: an index that opens has count <= cap <= STORE_MAX_MSGS;
 * records that read have ascending non-zero UIDs and names that read
 * are whole (no NUL, str_len bytes); what the log yields is ascending,
 * non-zero and bounded; an index whose records all read survives a
 * rewrite with the same records and names.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index.h"
#include "store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BATCH 256

static char dir[64];

/* Leave nothing behind in the shared temp directory. */
static void
cleanup(void)
{
	static const char *const names[] = { "idx", "idx.expunged", "copy",
	    "copy.expunged" };
	char path[128];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* A private directory, in memory when /dev/shm is there (rewrites
 * fsync). */
static int
tmpdir(void)
{
	static int fd = -1;

	if (fd < 0) {
		snprintf(dir, sizeof(dir), "%s/fuzz-index-XXXXXX",
		    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		if (mkdtemp(dir) == NULL)
			abort();
		fd = open(dir, O_RDONLY | O_DIRECTORY);
		atexit(cleanup);
	}
	return fd;
}

static void
put(int dirfd, const char *name, const uint8_t *b, size_t len)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || (len > 0 && write(fd, b, len) != (ssize_t)len))
		abort();
	close(fd);
}

static uint32_t
le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 24;
}

static void
seal(uint8_t *b, size_t n)
{
	uint32_t c = index_crc32c(0, b, n - 4);

	for (int i = 0; i < 4; i++)
		b[n - 4 + i] = (uint8_t)(c >> (8 * i));
}

/* Correct the header's CRC and those of the slots the file holds. */
static void
seal_all(uint8_t *b, size_t len)
{
	if (len < INDEX_HDR_SIZE)
		return;
	seal(b, INDEX_HDR_SIZE);
	for (uint64_t i = 0; i < le32(b + 40) &&
	    INDEX_HDR_SIZE + (i + 1) * INDEX_REC_SIZE <= len; i++)
		seal(b + INDEX_HDR_SIZE + i * INDEX_REC_SIZE, INDEX_REC_SIZE);
}

static void
check_xlog(struct index *ix, uint64_t since)
{
	uint32_t *u;
	size_t n;

	if (index_xlog_since(ix, since, &u, &n) != 0)
		return;
	if (n > STORE_MAX_MSGS)
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if (u[i] == 0 || (i > 0 && u[i - 1] >= u[i]))
			__builtin_trap();
	free(u);
}

/* Read every record and name; 0 if all of them read.  recs/strs get
 * copies when there is room (n <= max). */
static int
read_all(struct index *ix, struct index_rec *recs, char **strs, uint32_t max)
{
	const struct index_hdr *h = index_header(ix);
	struct index_rec r[BATCH];
	static char s[UINT16_MAX + 1];

	if (h->count > h->cap || h->cap > STORE_MAX_MSGS)
		__builtin_trap();
	for (uint32_t i = 0; i < h->count; i += BATCH) {
		uint32_t k = h->count - i < BATCH ? h->count - i : BATCH;

		if (index_read_recs(ix, i, k, r) != 0)
			return -1;
		for (uint32_t j = 0; j < k; j++) {
			if (r[j].uid == 0 ||
			    (j > 0 && r[j - 1].uid >= r[j].uid))
				__builtin_trap();
			if (index_read_str(ix, &r[j], s, sizeof(s)) != 0)
				return -1;
			if (strlen(s) != r[j].str_len)
				__builtin_trap();
			if (i + j < max) {
				recs[i + j] = r[j];
				strs[i + j] = r[j].str_len ? strdup(s) : NULL;
			}
		}
	}
	return 0;
}

/* Rewrite n records and names and read them back unchanged. */
static void
roundtrip(int dirfd, struct index *ix, const struct index_rec *recs,
    char **strs, uint32_t n)
{
	struct index *nix = NULL;
	struct index_rec got[BATCH];
	static char s[UINT16_MAX + 1];

	/* a UID out of order across batches is not caught by read_all */
	for (uint32_t i = 1; i < n; i++)
		if (recs[i - 1].uid >= recs[i].uid)
			return;
	if (index_rewrite(dirfd, "copy", index_header(ix), recs,
	    (const char *const *)strs, n, &nix) != 0)
		__builtin_trap();
	if (index_read_recs(nix, 0, n, got) != 0)
		__builtin_trap();
	for (uint32_t i = 0; i < n; i++)
		if (got[i].uid != recs[i].uid ||
		    got[i].modseq != recs[i].modseq ||
		    index_read_str(nix, &got[i], s, sizeof(s)) != 0 ||
		    strcmp(s, strs[i] ? strs[i] : "") != 0 ||
		    (strs[i] == NULL && got[i].str_off != recs[i].str_off))
			__builtin_trap();
	index_close(nix);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int dirfd = tmpdir();
	struct index *ix;
	struct index_rec recs[BATCH];
	char *strs[BATCH];
	uint8_t *copy;
	size_t split;
	uint32_t kind;

	if (size < 3)
		return 0;
	split = (size_t)(data[0] | data[1] << 8);
	kind = data[2] & 1 ? INDEX_KIND_MBOX : INDEX_KIND_MAILDIR;
	copy = malloc(size);
	memcpy(copy, data + 3, size - 3);
	if (data[2] & 2)
		seal_all(copy, split < size - 3 ? split : size - 3);
	data += 3, size -= 3;
	if (split > size)
		split = size;
	put(dirfd, "idx", copy, split);
	free(copy);
	put(dirfd, "idx.expunged", data + split, size - split);
	if (index_open(dirfd, "idx", kind, &ix) != 0)
		return 0;
	memset(strs, 0, sizeof(strs));
	if (read_all(ix, recs, strs, BATCH) == 0 &&
	    index_header(ix)->count <= BATCH)
		roundtrip(dirfd, ix, recs, strs, index_header(ix)->count);
	for (int i = 0; i < BATCH; i++)
		free(strs[i]);
	check_xlog(ix, index_header(ix)->xlog_floor);
	check_xlog(ix, UINT64_MAX / 2);
	index_close(ix);
	return 0;
}
