/*
 * fuzz_msgcache.c - the message cache (msgcache.c) on an arbitrary file:
 * open it, look up every UID its records name, append, compact.  Nothing
 * may crash, and a lookup may only return data whose CRC matched.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msgcache.h"

static int dfd = -1;

static int
some(void *arg, uint32_t uid)
{
	(void)arg;
	return uid % 3 != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msgcache *c;
	int fd;

	if (dfd < 0) {
		char tmpl[] = "/tmp/fuzz-msgcache-XXXXXX";

		if (mkdtemp(tmpl) == NULL ||
		    (dfd = open(tmpl, O_RDONLY | O_DIRECTORY)) < 0)
			abort();
	}
	fd = openat(dfd, "cache", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
		abort();
	close(fd);
	/* the UIDVALIDITY the file claims, so its records are read */
	if (msgcache_open(dfd, "cache", size >= 12 ? (uint32_t)data[8] |
	    (uint32_t)data[9] << 8 | (uint32_t)data[10] << 16 |
	    (uint32_t)data[11] << 24 : 1, &c) < 0)
		return 0;
	for (size_t off = 16; off + 5 <= size; off += 16) {
		uint32_t uid = (uint32_t)data[off] | (uint32_t)data[off + 1] <<
		    8 | (uint32_t)data[off + 2] << 16 |
		    (uint32_t)data[off + 3] << 24;
		void *d;
		size_t len;

		if (msgcache_get(c, uid, data[off + 4], &d, &len) == 1)
			free(d);
	}
	(void)msgcache_put(c, 42, MSGCACHE_MIME, "x", 1);
	(void)msgcache_compact(c, some, NULL);
	msgcache_close(c);
	return 0;
}
