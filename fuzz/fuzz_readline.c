/*
 * fuzz_readline.c - io_readline(), the one bounded reader every network
 * line goes through (STYLE.md 4), against a reference model.
 *
 * Input: two bytes choose max (0..65535, so above IO_LINE_MAX too), the
 * rest is the byte stream, sent through a pipe and closed.  Every result
 * must equal the model's: the line up to LF with one CR before it
 * removed, IO_TOOLONG when that is longer than max (capped at
 * IO_LINE_MAX), and IO_EOF for a final line without LF.  The stream is
 * longer than the 16 KiB input buffer whenever the fuzzer likes, so the
 * refill, compaction and skip paths all run.
 */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct io io;
static char line[IO_LINE_MAX + 1];

/* What io_readline must return for the line starting at *pos. */
static enum io_status
model(const uint8_t *p, size_t size, size_t *pos, size_t max, size_t *len)
{
	const uint8_t *nl = memchr(p + *pos, '\n', size - *pos);
	size_t n;

	if (nl == NULL)
		return IO_EOF;
	n = (size_t)(nl - (p + *pos));
	*len = n > 0 && p[*pos + n - 1] == '\r' ? n - 1 : n;
	*pos += n + 1;
	return *len > (max < IO_LINE_MAX ? max : IO_LINE_MAX) ?
	    IO_TOOLONG : IO_OK;
}

static void
check(const uint8_t *s, size_t size, size_t max)
{
	size_t pos = 0, start, want_len = 0, len;
	enum io_status want, got;

	do {
		start = pos;
		want = model(s, size, &pos, max, &want_len);
		got = io_readline(&io, line, max, &len);
		if (got != want)
			__builtin_trap();
		if (got == IO_OK && (len != want_len || line[len] != '\0' ||
		    memcmp(line, s + start, len) != 0))
			__builtin_trap();
	} while (want == IO_OK || want == IO_TOOLONG);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds[2];
	int cap;
	size_t max;

	if (size < 2 || pipe2(fds, O_CLOEXEC) < 0)
		return 0;
	max = (size_t)data[0] << 8 | data[1];
	data += 2;
	size -= 2;
	/* The whole stream must fit in the pipe: we are its only reader. */
	if ((cap = fcntl(fds[1], F_SETPIPE_SZ, 1 << 20)) < 0)
		cap = fcntl(fds[1], F_GETPIPE_SZ);
	if (cap > 0 && size > (size_t)cap)
		size = (size_t)cap;
	if (write_all(fds[1], data, size) == 0) {
		close(fds[1]);
		fds[1] = -1;
		io_init(&io, fds[0], fds[0]);
		io_set_timeouts(&io, 10, 10);
		check(data, size, max);
	}
	if (fds[1] >= 0)
		close(fds[1]);
	close(fds[0]);
	return 0;
}
