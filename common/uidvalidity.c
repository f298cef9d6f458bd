/*
 * uidvalidity.c - UIDVALIDITY values that are never handed out twice
 * in one directory of folders.
 *
 * RFC 3501 2.3.1.1: a folder that is deleted and created again under the
 * same name must get a new UIDVALIDITY, or "name, UIDVALIDITY, UID" would
 * name a different message than a client cached.  The time alone does
 * not do that when both happen within a second (or the clock steps
 * back), so the last value given is kept in a small file beside the
 * folders, as Dovecot keeps dovecot-uidvalidity: the next value is the
 * time, or one more than the last, whichever is larger.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store_int.h"
#include "util.h"

/* The last value in the file, or 0 if it holds none (the file is the
 * user's: anything but a plain number is ignored). */
static uint32_t
read_last(int fd)
{
	char buf[16];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	uint64_t v;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (parse_u64(buf, UINT32_MAX, &v) < 0)
		return 0;
	return (uint32_t)v;
}

uint32_t
store_new_uidvalidity(const char *file, uint32_t avoid)
{
	uint32_t v = (uint32_t)time(NULL), last;
	char buf[16];
	int fd, len;

	fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0 && flock(fd, LOCK_EX) == 0) {
		last = read_last(fd);
		if (v <= last)
			v = last == UINT32_MAX ? 1 : last + 1;
	}
	if (v == 0 || v == avoid)
		v = v == UINT32_MAX ? 1 : v + 1;
	if (fd >= 0) {
		/* durable before anyone sees the value: a crash must not
		 * let the next folder get it again */
		len = snprintf(buf, sizeof(buf), "%u\n", v);
		if (pwrite_all(fd, buf, (size_t)len, 0) < 0 ||
		    ftruncate(fd, len) < 0 || fsync(fd) < 0)
			log_msg(LOG_WARNING, "%s: %m", file);
		close(fd);
	} else {
		log_msg(LOG_WARNING, "%s: %s", file, strerror(errno));
	}
	return v;
}
