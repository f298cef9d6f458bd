/*
 * util.h - allocation that never returns NULL, overflow-checked sizes,
 * and small string helpers used everywhere.
 *
 * Failure rule (STYLE.md 8): running out of memory is an internal error;
 * the process logs it and exits.  A connection's process serves one client,
 * so exiting is the right containment.
 */
#ifndef POSTERN_UTIL_H
#define POSTERN_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <sys/types.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define NORETURN __attribute__((noreturn))
#define PRINTF(f, a) __attribute__((format(printf, f, a)))

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PRINTF(1, 2);

/* Parse a decimal number in [0, max]; the whole string must be digits. */
int parse_u64(const char *s, uint64_t max, uint64_t *out);

/* write(2) the whole buffer, retrying on EINTR/short writes (blocking fds). */
int write_all(int fd, const void *buf, size_t len);

/* pread(2) until n bytes, the end of the file or an error, retrying
 * EINTR and short reads: the bytes read (fewer only at the end), or -1. */
ssize_t pread_full(int fd, void *buf, size_t n, uint64_t off);
/* pwrite(2) all n bytes at off, retrying EINTR and short writes: 0 or
 * -1. */
int pwrite_all(int fd, const void *buf, size_t n, uint64_t off);

/* Monotonic clock in milliseconds. */
int64_t now_ms(void);

/* Replace the directory entry "path" with "data" atomically: write a
 * temporary file beside it, fsync, rename, fsync the directory. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

#endif
