/*
 * maildir_noindex.c - stand-ins for index.c (index.h) so the Maildir
 * backend builds on a tree without it: every index reads as missing and
 * cannot be written, so each open lists cur/ and new/, and modseqs and
 * \Recent live only in the session.  Where common/index.c exists this
 * file compiles to nothing (__has_include looks beside this file first),
 * so the real index is always the one linked.  Remove this file once
 * index.c is in the tree.
 */
#if !__has_include("index.c")
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "index.h"

#define WEAK

WEAK int
index_open(int dirfd, const char *name, uint32_t kind, struct index **out)
{
	(void)dirfd, (void)name, (void)kind;
	*out = NULL;
	return 1;
}

WEAK void
index_close(struct index *ix)
{
	(void)ix;
}

WEAK const struct index_hdr *
index_header(const struct index *ix)
{
	static const struct index_hdr none;

	(void)ix;
	return &none;
}

WEAK int
index_changed(struct index *ix)
{
	(void)ix;
	return 1;
}

WEAK int
index_reload(struct index *ix)
{
	(void)ix;
	return -1;
}

WEAK int
index_read_recs(struct index *ix, uint32_t first, uint32_t n,
    struct index_rec *out)
{
	(void)ix, (void)first, (void)n, (void)out;
	return -1;
}

WEAK int
index_read_str(struct index *ix, const struct index_rec *r, char *out,
    size_t outlen)
{
	(void)ix, (void)r, (void)out, (void)outlen;
	return -1;
}

WEAK int
index_put_rec(struct index *ix, uint32_t pos, const struct index_rec *r)
{
	(void)ix, (void)pos, (void)r;
	return -1;
}

WEAK int
index_append(struct index *ix, const struct index_rec *r, const char *str,
    size_t len)
{
	(void)ix, (void)r, (void)str, (void)len;
	return -1;
}

WEAK int
index_put_hdr(struct index *ix, const struct index_hdr *h)
{
	(void)ix, (void)h;
	return -1;
}

WEAK int
index_rewrite(int dirfd, const char *name, const struct index_hdr *h,
    const struct index_rec *recs, const char *const *strs, uint32_t n,
    struct index **ix)
{
	(void)dirfd, (void)name, (void)h, (void)recs, (void)strs, (void)n;
	*ix = NULL;
	errno = ENOSYS;
	return -1;
}

WEAK int
index_xlog_append(struct index *ix, uint64_t modseq, const uint32_t *uids,
    size_t n)
{
	(void)ix, (void)modseq, (void)uids, (void)n;
	return -1;
}

WEAK int
index_xlog_since(struct index *ix, uint64_t since, uint32_t **uids,
    size_t *n)
{
	(void)ix, (void)since;
	*uids = NULL;
	*n = 0;
	return 1;
}

WEAK uint64_t
index_fresh_modseq(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000;
}
#else
/* ISO C wants a translation unit to declare something. */
typedef int maildir_noindex_unused;
#endif
