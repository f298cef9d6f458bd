/*
 * index.c - the per-folder index file and its expunge log (format and
 * rules in index.h; doc/store.md "Index" describes the bytes).
 *
 * Trusts nothing in either file: the header is verified (magic, version,
 * sizes, kind, count <= cap <= STORE_MAX_MSGS, str_len, CRC-32C) and
 * checked against the file size before anything is read through it;
 * each record is verified (CRC-32C, string bounds, UID order) as it is
 * read; the expunge log is read through a fixed buffer and what it
 * yields is bounded.  Bad content reads as "no index" or as a failed
 * read, which the backend answers by rebuilding from the mailbox.
 *
 * Encoding, little-endian, written field by field:
 *
 *   header (INDEX_HDR_SIZE = 256 bytes)
 *     0 magic "PSTNIDX1"       8 version u32      12 header size u32
 *    16 record size u32       20 kind u32        24 uidvalidity u32
 *    28 uidnext u32           32 recent_uid u32  36 count u32
 *    40 cap u32               44 zero u32        48 generation u64
 *    56 change u64            64 highestmodseq   72 xlog_floor u64
 *    80 str_len u64           88 validity[96]   184 zero (68 bytes)
 *   252 CRC-32C of bytes 0..251
 *
 *   record (INDEX_REC_SIZE = 64 bytes)
 *     0 uid u32      4 flags u8     5 state u8     6 str_len u16
 *     8 kw u32      12 modseq u64  20 internal i64 28 wire i64
 *    36 raw i64     44 str_off, 48 bits (larger is refused: EINVAL)
 *    50 extra[10]   60 CRC-32C of bytes 0..59
 *
 *   strings at INDEX_HDR_SIZE + cap * INDEX_REC_SIZE, str_len bytes.
 *
 * The file may be longer than that (an append that died after writing
 * its string but before the header): the bytes past str_len are
 * unused and the next append overwrites them.  It may not be shorter.
 *
 * A record with str_len 0 has no string and its str_off is the
 * backend's (mbox: the offset of the From_ line), never checked against
 * the strings.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "index.h"
#include "store_int.h"
#include "util.h"

#define HDR_CRC_OFF (INDEX_HDR_SIZE - 4)
#define REC_CRC_OFF (INDEX_REC_SIZE - 4)
#define XLOG_ENTRY 16
/* str_off is stored in 48 bits: 256 TiB, beyond any mbox we open. */
#define STR_OFF_MAX (((uint64_t)1 << 48) - 1)
/* The string area: STORE_MAX_MSGS names of NAME_MAX (255) bytes fit
 * four times over, so appends between rewrites have room. */
#define STR_AREA_MAX ((uint64_t)1 << 30)
/* Records and log entries move through buffers of this many bytes. */
#define CHUNK 4096
/* Minimum slots in a rewritten index (index_rewrite: max(2n, 64)). */
#define MIN_CAP 64

struct index {
	int fd;			/* the index file, O_RDWR (O_RDONLY if the
				 * user may not write it) */
	int dirfd;		/* our own dup of the caller's */
	char *name;		/* relative to dirfd */
	uint32_t kind;
	dev_t dev;		/* identity of fd, to see a rename over name */
	ino_t ino;
	struct index_hdr hdr;	/* as last read or written by us */
	char *strs;		/* index_strs_load(): [0, strs_len) of the
				 * strings, which never change within a
				 * generation (appends go after them) */
	uint64_t strs_len;
};

/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78; RFC 3720 B.4). */
static const uint32_t crc32c_table[256] = {
	0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4,
	0xc79a971f, 0x35f1141c, 0x26a1e7e8, 0xd4ca64eb,
	0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
	0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24,
	0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b,
	0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
	0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54,
	0x5d1d08bf, 0xaf768bbc, 0xbc267848, 0x4e4dfb4b,
	0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
	0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
	0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5,
	0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
	0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45,
	0xf779deae, 0x05125dad, 0x1642ae59, 0xe4292d5a,
	0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
	0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595,
	0x417b1dbc, 0xb3109ebf, 0xa0406d4b, 0x522bee48,
	0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
	0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687,
	0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
	0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
	0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38,
	0xdbfc821c, 0x2997011f, 0x3ac7f2eb, 0xc8ac71e8,
	0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
	0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096,
	0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789,
	0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
	0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46,
	0x7198540d, 0x83f3d70e, 0x90a324fa, 0x62c8a7f9,
	0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
	0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36,
	0x3cdb9bdd, 0xceb018de, 0xdde0eb2a, 0x2f8b6829,
	0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
	0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93,
	0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043,
	0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
	0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3,
	0x55326b08, 0xa759e80b, 0xb4091bff, 0x466298fc,
	0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
	0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
	0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652,
	0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
	0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d,
	0xef087a76, 0x1d63f975, 0x0e330a81, 0xfc588982,
	0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
	0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622,
	0x38cc2a06, 0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2,
	0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
	0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530,
	0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
	0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
	0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0,
	0xd3d3e1ab, 0x21b862a8, 0x32e8915c, 0xc083125f,
	0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
	0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90,
	0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f,
	0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
	0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1,
	0x69e9f0d5, 0x9b8273d6, 0x88d28022, 0x7ab90321,
	0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
	0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81,
	0x34f4f86a, 0xc69f7b69, 0xd5cf889d, 0x27a40b9e,
	0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
	0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

uint32_t
index_crc32c(uint32_t crc, const void *p, size_t n)
{
	const uint8_t *b = p;

	crc = ~crc;
	while (n-- > 0)
		crc = crc32c_table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void
put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static void
put48(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 6; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static void
put64(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t
get16(const uint8_t *b)
{
	return (uint16_t)(b[0] | b[1] << 8);
}

static uint32_t
get32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 24;
}

static uint64_t
getn(const uint8_t *b, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

/* Exactly n bytes, or -1: a file shorter than its header says is
 * corrupt (EBADMSG). */
static int
pread_exact(int fd, void *buf, size_t n, uint64_t off)
{
	ssize_t r = pread_full(fd, buf, n, off);

	if (r < 0)
		return -1;
	if ((size_t)r != n) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

/* Where the strings begin for cap slots. */
static uint64_t
str_base(uint32_t cap)
{
	return INDEX_HDR_SIZE + (uint64_t)cap * INDEX_REC_SIZE;
}

static int
str_in_bounds(const struct index_hdr *h, uint64_t off, uint64_t len)
{
	return off <= h->str_len && len <= h->str_len - off;
}

static void
hdr_encode(const struct index_hdr *h, uint8_t *b)
{
	_Static_assert(88 + INDEX_VALIDITY_SIZE <= HDR_CRC_OFF,
	    "header fields overlap the CRC");
	memset(b, 0, INDEX_HDR_SIZE);
	memcpy(b, INDEX_MAGIC, 8);
	put32(b + 8, INDEX_VERSION);
	put32(b + 12, INDEX_HDR_SIZE);
	put32(b + 16, INDEX_REC_SIZE);
	put32(b + 20, h->kind);
	put32(b + 24, h->uidvalidity);
	put32(b + 28, h->uidnext);
	put32(b + 32, h->recent_uid);
	put32(b + 36, h->count);
	put32(b + 40, h->cap);
	put64(b + 48, h->generation);
	put64(b + 56, h->change);
	put64(b + 64, h->highestmodseq);
	put64(b + 72, h->xlog_floor);
	put64(b + 80, h->str_len);
	memcpy(b + 88, h->validity, INDEX_VALIDITY_SIZE);
	put32(b + HDR_CRC_OFF, index_crc32c(0, b, HDR_CRC_OFF));
}

/* 0 if b is a sound header of this kind (sizes not yet checked against
 * the file), else -1. */
static int
hdr_decode(const uint8_t *b, uint32_t kind, struct index_hdr *h)
{
	if (memcmp(b, INDEX_MAGIC, 8) != 0 || get32(b + 8) != INDEX_VERSION ||
	    get32(b + 12) != INDEX_HDR_SIZE ||
	    get32(b + 16) != INDEX_REC_SIZE || get32(b + 20) != kind ||
	    get32(b + HDR_CRC_OFF) != index_crc32c(0, b, HDR_CRC_OFF))
		return -1;
	h->kind = kind;
	h->uidvalidity = get32(b + 24);
	h->uidnext = get32(b + 28);
	h->recent_uid = get32(b + 32);
	h->count = get32(b + 36);
	h->cap = get32(b + 40);
	h->generation = getn(b + 48, 8);
	h->change = getn(b + 56, 8);
	h->highestmodseq = getn(b + 64, 8);
	h->xlog_floor = getn(b + 72, 8);
	h->str_len = getn(b + 80, 8);
	memcpy(h->validity, b + 88, INDEX_VALIDITY_SIZE);
	if (h->count > h->cap || h->cap > STORE_MAX_MSGS ||
	    h->str_len > STR_AREA_MAX)
		return -1;
	return 0;
}

/* -1 (EINVAL) if str_off does not fit its 48 bits. */
static int
rec_encode(const struct index_rec *r, uint8_t *b)
{
	if (r->str_off > STR_OFF_MAX) {
		errno = EINVAL;
		return -1;
	}
	put32(b, r->uid);
	b[4] = r->flags;
	b[5] = r->state;
	put16(b + 6, r->str_len);
	put32(b + 8, r->kw);
	put64(b + 12, r->modseq);
	put64(b + 20, (uint64_t)r->internal);
	put64(b + 28, (uint64_t)r->wire);
	put64(b + 36, (uint64_t)r->raw);
	put48(b + 44, r->str_off);
	memcpy(b + 50, r->extra, sizeof(r->extra));
	put32(b + REC_CRC_OFF, index_crc32c(0, b, REC_CRC_OFF));
	return 0;
}

static int
rec_decode(const uint8_t *b, struct index_rec *r)
{
	_Static_assert(50 + sizeof(r->extra) == REC_CRC_OFF,
	    "record fields and CRC must fill the slot");
	if (get32(b + REC_CRC_OFF) != index_crc32c(0, b, REC_CRC_OFF))
		return -1;
	r->uid = get32(b);
	r->flags = b[4];
	r->state = b[5];
	r->str_len = get16(b + 6);
	r->kw = get32(b + 8);
	r->modseq = getn(b + 12, 8);
	r->internal = (int64_t)getn(b + 20, 8);
	r->wire = (int64_t)getn(b + 28, 8);
	r->raw = (int64_t)getn(b + 36, 8);
	r->str_off = getn(b + 44, 6);
	memcpy(r->extra, b + 50, sizeof(r->extra));
	return 0;
}

/*
 * Read and verify the header of ix->fd into h: 0, 1 if it is not a
 * sound index of ix->kind (including one the file is too short for), -1
 * on I/O error.  Also notes the file's identity.
 */
static int
load_hdr(struct index *ix, struct index_hdr *h)
{
	uint8_t b[INDEX_HDR_SIZE];
	struct stat st;
	ssize_t r;

	if (fstat(ix->fd, &st) != 0)
		return -1;
	if (!S_ISREG(st.st_mode))
		return 1;
	r = pread_full(ix->fd, b, sizeof(b), 0);
	if (r < 0)
		return -1;
	if ((size_t)r != sizeof(b) || hdr_decode(b, ix->kind, h) != 0 ||
	    str_base(h->cap) + h->str_len > (uint64_t)st.st_size)
		return 1;
	ix->dev = st.st_dev;
	ix->ino = st.st_ino;
	return 0;
}

/* Open name for reading and writing, or only reading when the user may
 * not write it (a read-only view still benefits from the cache). */
static int
open_file(int dirfd, const char *name)
{
	int flags = O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
	int fd = openat(dirfd, name, O_RDWR | flags);

	if (fd < 0 && (errno == EACCES || errno == EROFS))
		fd = openat(dirfd, name, O_RDONLY | flags);
	return fd;
}

void
index_close(struct index *ix)
{
	int saved = errno;

	if (ix == NULL)
		return;
	if (ix->fd >= 0)
		close(ix->fd);
	if (ix->dirfd >= 0)
		close(ix->dirfd);
	free(ix->strs);
	free(ix->name);
	free(ix);
	errno = saved;
}

int
index_strs_load(struct index *ix)
{
	uint64_t len = ix->hdr.str_len;

	index_strs_drop(ix);
	if (len == 0 || len > INDEX_STRS_LOAD_MAX)
		return 0;	/* nothing to gain, or too much: pread each */
	ix->strs = xmalloc((size_t)len);
	if (pread_exact(ix->fd, ix->strs, (size_t)len,
	    str_base(ix->hdr.cap)) != 0) {
		index_strs_drop(ix);
		return -1;
	}
	ix->strs_len = len;
	return 0;
}

void
index_strs_drop(struct index *ix)
{
	free(ix->strs);
	ix->strs = NULL;
	ix->strs_len = 0;
}

/* A struct index around an open fd (taken over, closed on failure). */
static struct index *
index_new(int dirfd, const char *name, uint32_t kind, int fd)
{
	struct index *ix = xcalloc(1, sizeof(*ix));

	ix->fd = fd;
	ix->kind = kind;
	ix->name = xstrdup(name);
	ix->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (ix->dirfd < 0) {
		index_close(ix);
		return NULL;
	}
	return ix;
}

int
index_open(int dirfd, const char *name, uint32_t kind, struct index **out)
{
	struct index *ix;
	int fd, r;

	*out = NULL;
	fd = open_file(dirfd, name);
	if (fd < 0)	/* a symlink (ELOOP) is not ours: replace it */
		return errno == ENOENT || errno == ELOOP ? 1 : -1;
	ix = index_new(dirfd, name, kind, fd);
	if (ix == NULL)
		return -1;
	r = load_hdr(ix, &ix->hdr);
	if (r != 0) {
		index_close(ix);
		return r;
	}
	*out = ix;
	return 0;
}

const struct index_hdr *
index_header(const struct index *ix)
{
	return &ix->hdr;
}

/* 1 if name no longer names the file ix has open. */
static int
renamed_over(const struct index *ix)
{
	struct stat st;

	return fstatat(ix->dirfd, ix->name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    st.st_dev != ix->dev || st.st_ino != ix->ino;
}

int
index_changed(struct index *ix)
{
	uint8_t b[INDEX_HDR_SIZE];
	struct index_hdr h;

	if (pread_full(ix->fd, b, sizeof(b), 0) != (ssize_t)sizeof(b) ||
	    hdr_decode(b, ix->kind, &h) != 0)
		return 1;	/* torn (a write in progress) or damaged */
	if (h.generation != ix->hdr.generation || h.change != ix->hdr.change)
		return 1;
	return renamed_over(ix);
}

int
index_reload(struct index *ix)
{
	struct index_hdr h;
	int r = load_hdr(ix, &h);

	if (r < 0)
		return -1;
	/* In place, only the counters and contents move; a new generation
	 * or slot count means another file, whatever the inode says. */
	if (r > 0 || renamed_over(ix) || h.generation != ix->hdr.generation ||
	    h.cap != ix->hdr.cap) {
		errno = ESTALE;
		return -1;
	}
	ix->hdr = h;
	return 0;
}

int
index_read_recs(struct index *ix, uint32_t first, uint32_t n,
    struct index_rec *out)
{
	uint8_t b[CHUNK];
	const uint32_t per = CHUNK / INDEX_REC_SIZE;

	if (n > ix->hdr.count || first > ix->hdr.count - n) {
		errno = EINVAL;
		return -1;
	}
	for (uint32_t done = 0, k; done < n; done += k) {
		k = n - done < per ? n - done : per;
		if (pread_exact(ix->fd, b, (size_t)k * INDEX_REC_SIZE,
		    INDEX_HDR_SIZE + (uint64_t)(first + done) * INDEX_REC_SIZE))
			return -1;
		for (uint32_t i = 0; i < k; i++) {
			struct index_rec *r = &out[done + i];

			/* UIDs ascend (checked within this call). */
			if (rec_decode(b + (size_t)i * INDEX_REC_SIZE, r) ||
			    r->uid == 0 ||
			    (done + i > 0 && r[-1].uid >= r->uid) ||
			    (r->str_len > 0 &&
			    !str_in_bounds(&ix->hdr, r->str_off, r->str_len))) {
				errno = EBADMSG;
				return -1;
			}
		}
	}
	return 0;
}

int
index_read_str(struct index *ix, const struct index_rec *r, char *out,
    size_t outlen)
{
	if (outlen <= r->str_len) {
		errno = ERANGE;
		return -1;
	}
	if (r->str_len > 0) {
		if (!str_in_bounds(&ix->hdr, r->str_off, r->str_len)) {
			errno = EBADMSG;
			return -1;
		}
		if (r->str_off + r->str_len <= ix->strs_len)
			memcpy(out, ix->strs + r->str_off, r->str_len);
		else if (pread_exact(ix->fd, out, r->str_len,
		    str_base(ix->hdr.cap) + r->str_off) != 0)
			return -1;
		/* a NUL would make the name end early: not a name we wrote */
		if (memchr(out, '\0', r->str_len) != NULL) {
			errno = EBADMSG;
			return -1;
		}
	}
	out[r->str_len] = '\0';
	return 0;
}

/* Write h as the header and make it ours.  A torn header (crash in the
 * middle) fails its CRC and the index is rebuilt. */
static int
write_hdr(struct index *ix, const struct index_hdr *h)
{
	uint8_t b[INDEX_HDR_SIZE];

	hdr_encode(h, b);
	if (pwrite_all(ix->fd, b, sizeof(b), 0) != 0)
		return -1;
	ix->hdr = *h;
	return 0;
}

int
index_put_rec(struct index *ix, uint32_t pos, const struct index_rec *r)
{
	uint8_t b[INDEX_REC_SIZE];
	struct index_hdr h = ix->hdr;

	if (pos >= h.count || r->uid == 0 ||
	    (r->str_len > 0 && !str_in_bounds(&h, r->str_off, r->str_len))) {
		errno = EINVAL;
		return -1;
	}
	if (rec_encode(r, b) != 0 || pwrite_all(ix->fd, b, sizeof(b),
	    INDEX_HDR_SIZE + (uint64_t)pos * INDEX_REC_SIZE) != 0)
		return -1;
	h.change++;
	return write_hdr(ix, &h);
}

/* Record first, then its string, then the header: until the header is
 * written neither is part of the index, so a crash leaves the old one. */
int
index_append(struct index *ix, const struct index_rec *r, const char *str,
    size_t len)
{
	uint8_t b[INDEX_REC_SIZE];
	struct index_hdr h = ix->hdr;
	struct index_rec rec = *r;

	if (r->uid == 0 || len > UINT16_MAX ||
	    (len > 0 && memchr(str, '\0', len) != NULL)) {
		errno = EINVAL;
		return -1;
	}
	if (h.count >= h.cap || len > STR_AREA_MAX - h.str_len)
		return 1;
	if (len > 0)
		rec.str_off = h.str_len;	/* else the backend's own */
	rec.str_len = (uint16_t)len;
	if (rec_encode(&rec, b) != 0 || pwrite_all(ix->fd, b, sizeof(b),
	    INDEX_HDR_SIZE + (uint64_t)h.count * INDEX_REC_SIZE) != 0 ||
	    pwrite_all(ix->fd, str, len, str_base(h.cap) + h.str_len) != 0)
		return -1;
	h.count++;
	h.str_len += len;
	h.change++;
	return write_hdr(ix, &h);
}

int
index_put_hdr(struct index *ix, const struct index_hdr *h)
{
	struct index_hdr nh = ix->hdr;

	nh.uidnext = h->uidnext;
	nh.recent_uid = h->recent_uid;
	nh.highestmodseq = h->highestmodseq;
	memcpy(nh.validity, h->validity, INDEX_VALIDITY_SIZE);
	nh.change++;
	return write_hdr(ix, &nh);
}

/* 64 random bits; from the clock and pid if getrandom(2) cannot say. */
static uint64_t
random64(void)
{
	uint64_t v;
	struct timespec ts;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 24 ^
	    (uint64_t)getpid() << 44;
}

/* A new file beside name ("<name>.tmp.<random>", O_EXCL, 0600). */
static int
temp_open(int dirfd, const char *name, char **tmp)
{
	for (int tries = 0; tries < 16; tries++) {
		int fd;

		*tmp = xasprintf("%s.tmp.%016llx", name,
		    (unsigned long long)random64());
		fd = openat(dirfd, *tmp, O_RDWR | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		free(*tmp);
		*tmp = NULL;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

/* fsync the directory holding name, so a rename survives a crash. */
static int
fsync_dir(int dirfd, const char *name)
{
	const char *slash = strrchr(name, '/');
	char *dir = slash == NULL ? xstrdup(".") : slash == name ?
	    xstrdup("/") : xstrndup(name, (size_t)(slash - name));
	int fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = fd < 0 ? -1 : fsync(fd);

	if (fd >= 0)
		close(fd);
	free(dir);
	return r;
}

/* Temp files a crashed rewrite left beside name ("<name>.tmp.*"), an
 * hour old (a younger one may be another session's rewrite in progress),
 * are removed after a rewrite of our own: nothing else would. */
#define STALE_TEMP_SECS 3600

static void
drop_stale_temps(int dirfd, const char *name)
{
	char *prefix = xasprintf("%s.tmp.", name);
	size_t plen = strlen(prefix);
	time_t now = time(NULL);
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	if (strchr(name, '/') != NULL ||
	    (fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		free(prefix);
		return;
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		free(prefix);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, plen) == 0 &&
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && now - st.st_mtime > STALE_TEMP_SECS)
			(void)unlinkat(dirfd, de->d_name, 0);
	closedir(d);
	free(prefix);
}

/* Rename the finished temp file over name and make it durable; on
 * failure the temp file is gone and errno says why. */
static int
commit_temp(int dirfd, int fd, char *tmp, const char *name)
{
	int saved;

	if (fsync(fd) == 0 && renameat(dirfd, tmp, dirfd, name) == 0) {
		free(tmp);
		return fsync_dir(dirfd, name);
	}
	saved = errno;
	unlinkat(dirfd, tmp, 0);
	free(tmp);
	errno = saved;
	return -1;
}

/* Give up on a temp file: remove it, keeping errno. */
static void
drop_temp(int dirfd, int fd, char *tmp)
{
	int saved = errno;

	unlinkat(dirfd, tmp, 0);
	free(tmp);
	close(fd);
	errno = saved;
}

/* Check what index_rewrite() is given and sum the strings. */
static int
check_input(uint32_t kind, const struct index_rec *recs,
    const char *const *strs, uint32_t n, uint64_t *str_len)
{
	*str_len = 0;
	if (kind != INDEX_KIND_MAILDIR && kind != INDEX_KIND_MBOX) {
		errno = EINVAL;
		return -1;
	}
	if (n > STORE_MAX_MSGS) {
		errno = EFBIG;
		return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		size_t len = strs != NULL && strs[i] != NULL ?
		    strlen(strs[i]) : 0;

		if (recs[i].uid == 0 ||
		    (i > 0 && recs[i - 1].uid >= recs[i].uid) ||
		    len > UINT16_MAX ||
		    (len == 0 && recs[i].str_off > STR_OFF_MAX)) {
			errno = EINVAL;
			return -1;
		}
		*str_len += len;
	}
	if (*str_len > STR_AREA_MAX) {
		errno = EFBIG;
		return -1;
	}
	return 0;
}

/* The records of a new index, with their string offsets recomputed,
 * CHUNK bytes per write. */
static int
write_recs(int fd, const struct index_hdr *h, const struct index_rec *recs,
    const char *const *strs)
{
	uint8_t b[CHUNK];
	const uint32_t per = CHUNK / INDEX_REC_SIZE;
	uint64_t soff = 0;

	for (uint32_t i = 0; i < h->count; i++) {
		struct index_rec rec = recs[i];
		size_t len = strs != NULL && strs[i] != NULL ?
		    strlen(strs[i]) : 0;

		rec.str_len = (uint16_t)len;
		if (len > 0)
			rec.str_off = soff;
		soff += len;
		if (rec_encode(&rec, b + (size_t)(i % per) * INDEX_REC_SIZE))
			return -1;
		if ((i + 1) % per == 0 || i + 1 == h->count) {
			uint32_t k = i % per + 1;

			if (pwrite_all(fd, b, (size_t)k * INDEX_REC_SIZE,
			    INDEX_HDR_SIZE +
			    (uint64_t)(i + 1 - k) * INDEX_REC_SIZE) != 0)
				return -1;
		}
	}
	return 0;
}

/* The strings, gathered into CHUNK-byte writes. */
static int
write_strs(int fd, const struct index_hdr *h, const char *const *strs)
{
	uint8_t b[CHUNK];
	uint64_t pos = str_base(h->cap);
	size_t used = 0;

	for (uint32_t i = 0; strs != NULL && i < h->count; i++) {
		size_t len = strs[i] != NULL ? strlen(strs[i]) : 0;

		if (used + len > sizeof(b)) {
			if (pwrite_all(fd, b, used, pos) != 0)
				return -1;
			pos += used;
			used = 0;
		}
		if (len > sizeof(b)) {
			if (pwrite_all(fd, strs[i], len, pos) != 0)
				return -1;
			pos += len;
		} else if (len > 0) {
			memcpy(b + used, strs[i], len);
			used += len;
		}
	}
	return pwrite_all(fd, b, used, pos);
}

/* A whole new index into fd, sized first (sparse: unused slots read as
 * zeros), header last. */
static int
write_new(int fd, const struct index_hdr *h, const struct index_rec *recs,
    const char *const *strs)
{
	uint8_t b[INDEX_HDR_SIZE];

	if (ftruncate(fd, (off_t)(str_base(h->cap) + h->str_len)) != 0 ||
	    write_recs(fd, h, recs, strs) != 0 || write_strs(fd, h, strs) != 0)
		return -1;
	hdr_encode(h, b);
	return pwrite_all(fd, b, sizeof(b), 0);
}

/*
 * The expunge log, "<name>.expunged": XLOG_ENTRY-byte entries (modseq
 * u64, first UID u32, last UID u32), little-endian, appended.  A short
 * final entry is a torn append: readers ignore it and the next append
 * cuts it off first.
 */
static char *
xlog_name(const char *name)
{
	return xasprintf("%s.expunged", name);
}

/* Open the log; 1 if there is none. */
static int
xlog_open(int dirfd, const char *xname, int flags, int *fd, uint64_t *size)
{
	struct stat st;
	int bad;

	*fd = openat(dirfd, xname, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
	    0600);
	if (*fd < 0)
		return errno == ENOENT ? 1 : -1;
	bad = fstat(*fd, &st) != 0 ? errno : !S_ISREG(st.st_mode) ? EINVAL : 0;
	if (bad != 0) {
		close(*fd);
		*fd = -1;
		errno = bad;
		return -1;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

int
index_xlog_append(struct index *ix, uint64_t modseq, const uint32_t *uids,
    size_t n)
{
	uint8_t b[CHUNK];
	char *xname;
	uint64_t end;
	size_t used = 0;
	int fd, r;

	for (size_t i = 0; i < n; i++)
		if (uids[i] == 0) {
			errno = EINVAL;
			return -1;
		}
	if (n == 0)
		return 0;
	xname = xlog_name(ix->name);
	r = xlog_open(ix->dirfd, xname, O_RDWR | O_CREAT, &fd, &end);
	free(xname);
	if (r != 0)
		return -1;
	r = 0;
	if (end % XLOG_ENTRY != 0) {	/* a torn append: drop it */
		end -= end % XLOG_ENTRY;
		r = ftruncate(fd, (off_t)end);
	}
	for (size_t i = 0; i < n && r == 0;) {
		uint32_t first = uids[i], last = first;

		/* consecutive UIDs become one range */
		for (i++; i < n && last < UINT32_MAX && uids[i] == last + 1;
		    i++)
			last++;
		put64(b + used, modseq);
		put32(b + used + 8, first);
		put32(b + used + 12, last);
		used += XLOG_ENTRY;
		if (used == sizeof(b) || i == n) {
			r = pwrite_all(fd, b, used, end);
			end += used;
			used = 0;
		}
	}
	/* On disk before the caller's header says the modseq happened:
	 * unlike the rest of the index, the log cannot be rebuilt. */
	if (r == 0)
		r = fdatasync(fd);
	if (close(fd) != 0)
		r = -1;
	return r;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Add the UIDs of the entries in b[0..len) above since to *v.  1 when
 * that would pass STORE_MAX_MSGS: no folder held so many, so the log
 * is no use (the caller reports "unknown" and the client resyncs).
 */
static int
xlog_collect(const uint8_t *b, size_t len, uint64_t since, uint32_t **v,
    size_t *n, size_t *cap)
{
	for (size_t off = 0; off + XLOG_ENTRY <= len; off += XLOG_ENTRY) {
		uint64_t modseq = getn(b + off, 8);
		uint32_t first = get32(b + off + 8), last = get32(b + off + 12);

		if (modseq <= since || first == 0 || first > last)
			continue;
		if ((uint64_t)last - first + 1 > STORE_MAX_MSGS - *n)
			return 1;
		if (*n + (last - first + 1) > *cap) {
			*cap = *n + (last - first + 1) > 2 * *cap ?
			    *n + (last - first + 1) : 2 * *cap;
			*v = xreallocarray(*v, *cap, sizeof(**v));
		}
		for (uint64_t u = first; u <= last; u++)
			(*v)[(*n)++] = (uint32_t)u;
	}
	return 0;
}

/* Sort and drop duplicates (a damaged log may repeat a range). */
static void
sort_unique(uint32_t *v, size_t *n)
{
	size_t k = 0;

	if (*n == 0)
		return;
	qsort(v, *n, sizeof(*v), cmp_u32);
	for (size_t i = 1; i < *n; i++)
		if (v[i] != v[k])
			v[++k] = v[i];
	*n = k + 1;
}

int
index_xlog_since(struct index *ix, uint64_t since, uint32_t **uids,
    size_t *n)
{
	uint8_t b[CHUNK];
	char *xname;
	uint32_t *v = NULL;
	size_t cnt = 0, cap = 0;
	uint64_t size, off = 0;
	ssize_t got;
	int fd, r;

	*uids = NULL;
	*n = 0;
	if (since < ix->hdr.xlog_floor)
		return 1;
	xname = xlog_name(ix->name);
	r = xlog_open(ix->dirfd, xname, O_RDONLY, &fd, &size);
	free(xname);
	if (r != 0)
		return r > 0 ? 0 : -1;	/* no log: nothing expunged */
	do {
		got = pread_full(fd, b, sizeof(b), off);
		if (got < 0)
			r = -1;
		else
			r = xlog_collect(b, (size_t)got, since, &v, &cnt, &cap);
		off += (uint64_t)got;
	} while (r == 0 && got == (ssize_t)sizeof(b));
	close(fd);
	if (r != 0) {
		free(v);
		return r;
	}
	sort_unique(v, &cnt);
	*uids = v;
	*n = cnt;
	return 0;
}

/*
 * Before a rewrite: how many of the oldest entries must go for the log
 * to keep INDEX_XLOG_MAX, and the highest modseq among them (the log is
 * complete above it once they are gone; 0 if none go).
 */
static int
xlog_cut_plan(int dirfd, const char *xname, uint64_t *skip,
    uint64_t *floor)
{
	uint8_t b[CHUNK];
	uint64_t size, off = 0;
	int fd, r;

	*skip = *floor = 0;
	r = xlog_open(dirfd, xname, O_RDONLY, &fd, &size);
	if (r != 0)
		return r > 0 ? 0 : -1;
	if (size / XLOG_ENTRY > INDEX_XLOG_MAX)
		*skip = size / XLOG_ENTRY - INDEX_XLOG_MAX;
	for (r = 0; r == 0 && off < *skip * XLOG_ENTRY;) {
		size_t want = *skip * XLOG_ENTRY - off < sizeof(b) ?
		    (size_t)(*skip * XLOG_ENTRY - off) : sizeof(b);

		r = pread_exact(fd, b, want, off);
		for (size_t i = 0; r == 0 && i < want; i += XLOG_ENTRY)
			if (getn(b + i, 8) > *floor)
				*floor = getn(b + i, 8);
		off += want;
	}
	close(fd);
	return r;
}

/* Replace the log by its entries from skip on (temp file, rename). */
static int
xlog_cut(int dirfd, const char *xname, uint64_t skip)
{
	uint8_t b[CHUNK];
	uint64_t size, off = skip * XLOG_ENTRY, end;
	char *tmp;
	int fd, tfd, r;

	if (xlog_open(dirfd, xname, O_RDONLY, &fd, &size) != 0)
		return -1;
	tfd = temp_open(dirfd, xname, &tmp);
	if (tfd < 0) {
		close(fd);
		return -1;
	}
	end = size - size % XLOG_ENTRY;
	for (r = 0; r == 0 && off < end; off += sizeof(b)) {
		size_t want = end - off < sizeof(b) ? (size_t)(end - off) :
		    sizeof(b);

		r = pread_exact(fd, b, want, off);
		if (r == 0)
			r = pwrite_all(tfd, b, want, off - skip * XLOG_ENTRY);
	}
	close(fd);
	if (r != 0) {
		drop_temp(dirfd, tfd, tmp);
		return -1;
	}
	r = commit_temp(dirfd, tfd, tmp, xname);
	close(tfd);
	return r;
}

/* A generation other than old (and not 0, which no index has). */
static uint64_t
new_generation(uint64_t old)
{
	uint64_t g = random64();

	if (g == old || g == 0)
		g = old + 1 == 0 ? 1 : old + 1;
	return g;
}

/*
 * h is the base of the new header: count, cap, str_len, generation and
 * change are ours, and xlog_floor is raised when the expunge log is cut
 * (the log goes after the new index is in place, so a crash between the
 * two leaves a longer log, never a floor that is too low).  Failing to
 * cut the log is not an error: it only stays longer.
 */
int
index_rewrite(int dirfd, const char *name, const struct index_hdr *h,
    const struct index_rec *recs, const char *const *strs, uint32_t n,
    struct index **ix)
{
	struct index_hdr nh = *h;	/* h may be our own *ix's */
	struct index *nix;
	struct stat st;
	uint64_t skip, floor, cap = 2 * (uint64_t)n;
	char *xname, *tmp;
	int fd;

	if (check_input(nh.kind, recs, strs, n, &nh.str_len) != 0)
		return -1;
	nh.count = n;
	nh.cap = (uint32_t)(cap < MIN_CAP ? MIN_CAP :
	    cap > STORE_MAX_MSGS ? STORE_MAX_MSGS : cap);
	nh.change = 0;
	nh.generation = new_generation(*ix != NULL ? (*ix)->hdr.generation :
	    h->generation);
	xname = xlog_name(name);
	if (xlog_cut_plan(dirfd, xname, &skip, &floor) != 0 ||
	    (fd = temp_open(dirfd, name, &tmp)) < 0) {
		free(xname);
		return -1;
	}
	if (floor > nh.xlog_floor)
		nh.xlog_floor = floor;
	if (write_new(fd, &nh, recs, strs) != 0) {
		drop_temp(dirfd, fd, tmp);
		free(xname);
		return -1;
	}
	if (commit_temp(dirfd, fd, tmp, name) != 0 || fstat(fd, &st) != 0) {
		close(fd);
		free(xname);
		return -1;
	}
	nix = index_new(dirfd, name, nh.kind, fd);
	if (nix == NULL) {
		free(xname);
		return -1;
	}
	nix->dev = st.st_dev;
	nix->ino = st.st_ino;
	nix->hdr = nh;
	if (skip > 0)
		(void)xlog_cut(dirfd, xname, skip);
	free(xname);
	drop_stale_temps(dirfd, name);
	index_close(*ix);
	*ix = nix;
	return 0;
}

uint64_t
index_fresh_modseq(void)
{
	struct timespec ts;
	uint64_t us;

	clock_gettime(CLOCK_REALTIME, &ts);
	us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	return us > 0 ? us : 1;
}
