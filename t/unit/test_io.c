/*
 * test_io.c - common/io.c over socketpairs and pipes: line framing and its
 * limits at limit-1/limit/limit+1, NUL bytes, EOF, idle and output
 * timeouts, exact reads, output buffering.  A forked child plays the peer
 * when the data must arrive in pieces or be more than a socket holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "tap.h"
#include "util.h"

static struct io io;
static char line[IO_LINE_MAX + 2];

/* A connected pair: [0] for the io under test, [1] for the peer. */
static void
pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		perror("socketpair");
		exit(2);
	}
}

static void
put(int fd, const void *p, size_t n)
{
	if (write_all(fd, p, n) < 0) {
		perror("write");
		exit(2);
	}
}

/* Fork a peer that writes data in chunk-sized writes, delay_us apart,
 * then closes.  The parent's copy of fd is closed so EOF can happen. */
static pid_t
writer(int sv[2], const void *data, size_t len, size_t chunk, int delay_us)
{
	const unsigned char *p = data;
	pid_t pid = fork();

	if (pid == 0) {
		close(sv[0]);
		while (len > 0) {
			size_t n = len < chunk ? len : chunk;

			if (write_all(sv[1], p, n) < 0)
				_exit(1);
			p += n;
			len -= n;
			if (delay_us)
				usleep((useconds_t)delay_us);
		}
		_exit(0);
	}
	close(sv[1]);
	return pid;
}

static void
reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

/* Fork a peer that reads everything and reports "count sum" on a pipe. */
static pid_t
reader(int sv[2], int *report)
{
	int rp[2];
	pid_t pid;

	if (pipe(rp) < 0)
		exit(2);
	if ((pid = fork()) == 0) {
		unsigned char buf[8192];
		unsigned long long count = 0, sum = 0;
		char out[64];
		ssize_t n;

		close(sv[0]);
		close(rp[0]);
		while ((n = read(sv[1], buf, sizeof(buf))) > 0)
			for (ssize_t i = 0; i < n; i++, count++)
				sum = sum * 31 + buf[i];
		snprintf(out, sizeof(out), "%llu %llu", count, sum);
		put(rp[1], out, strlen(out));
		_exit(0);
	}
	close(sv[1]);
	close(rp[1]);
	*report = rp[0];
	return pid;
}

static void
read_report(int fd, char *out, size_t outlen)
{
	ssize_t n, got = 0;

	while ((n = read(fd, out + got, outlen - 1 - (size_t)got)) > 0)
		got += n;
	out[got > 0 ? got : 0] = '\0';
	close(fd);
}

static void
expected_sum(const unsigned char *p, size_t n, char *out, size_t outlen)
{
	unsigned long long sum = 0;

	for (size_t i = 0; i < n; i++)
		sum = sum * 31 + p[i];
	snprintf(out, outlen, "%zu %llu", n, sum);
}

static void
fill_pattern(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)('a' + (i * 7 + i / 251) % 26);
}

static void
is_line(enum io_status want_st, const char *want, size_t max, const char *name)
{
	size_t len = 99;
	enum io_status st = io_readline(&io, line, max, &len);
	char what[128];

	tap_is_int(st, want_st, name);
	snprintf(what, sizeof(what), "%s: content", name);
	if (want != NULL && st == IO_OK)
		tap_is_mem(line, len, want, strlen(want), what);
}

static void
test_basic(void)
{
	int sv[2];

	pair(sv);
	io_init(&io, sv[0], sv[0]);
	put(sv[1], "a\r\nbb\nccc\r\n\r\nx\ry\r\n\r\r\n", 21);
	shutdown(sv[1], SHUT_WR);
	is_line(IO_OK, "a", 100, "CRLF line");
	is_line(IO_OK, "bb", 100, "bare LF line");
	is_line(IO_OK, "ccc", 100, "CRLF after LF");
	is_line(IO_OK, "", 100, "empty line");
	is_line(IO_OK, "x\ry", 100, "CR inside the line is kept");
	is_line(IO_OK, "\r", 100, "only the CR before LF is removed");
	is_line(IO_EOF, NULL, 100, "EOF after the last line");
	tap_ok(line[0] == '\0', "line is NUL-terminated on EOF");
	close(sv[0]);
	close(sv[1]);
}

static void
check_limits(void)
{
	is_line(IO_OK, "123456789", 10, "limit-1 with CRLF");
	is_line(IO_OK, "1234567890", 10, "limit with CRLF");
	is_line(IO_TOOLONG, NULL, 10, "limit+1 with CRLF");
	is_line(IO_OK, "after", 10, "next line after a too long one");
	is_line(IO_OK, "1234567890", 10, "limit with LF");
	is_line(IO_TOOLONG, NULL, 10, "limit+1 with LF");
	is_line(IO_TOOLONG, NULL, 10, "limit+2 with LF");
	is_line(IO_OK, "end", 10, "last line");
	is_line(IO_EOF, NULL, 10, "EOF");
}

static const char limits_input[] =
    "123456789\r\n1234567890\r\n12345678901\r\nafter\r\n"
    "1234567890\n12345678901\n123456789012\nend\r\n";

static void
test_limits(void)
{
	int sv[2];

	pair(sv);
	io_init(&io, sv[0], sv[0]);
	put(sv[1], limits_input, strlen(limits_input));
	shutdown(sv[1], SHUT_WR);
	check_limits();
	close(sv[0]);
	close(sv[1]);
}

/* The same input one byte per write: every partial-line path runs. */
static void
test_limits_bytewise(void)
{
	int sv[2];
	pid_t pid;

	pair(sv);
	io_init(&io, sv[0], sv[0]);
	pid = writer(sv, limits_input, strlen(limits_input), 1, 300);
	tap_diag("same limits, one byte per write");
	check_limits();
	close(sv[0]);
	reap(pid);
}

static void
test_nul(void)
{
	int sv[2];
	size_t len = 0;

	pair(sv);
	io_init(&io, sv[0], sv[0]);
	put(sv[1], "a\0b\r\n\0\n", 7);
	tap_is_int(io_readline(&io, line, 100, &len), IO_OK, "line with NUL");
	tap_is_mem(line, len, "a\0b", 3, "NUL inside the line kept, length 3");
	tap_is_int(io_readline(&io, line, 100, &len), IO_OK, "line of one NUL");
	tap_is_int((long long)len, 1, "its length is 1");
	close(sv[0]);
	close(sv[1]);
}

static void
test_eof_midline(void)
{
	int sv[2];

	pair(sv);
	io_init(&io, sv[0], sv[0]);
	put(sv[1], "ok\r\nabc", 7);
	shutdown(sv[1], SHUT_WR);
	is_line(IO_OK, "ok", 100, "line before the cut");
	is_line(IO_EOF, NULL, 100, "EOF mid-line: the partial line is not returned");
	close(sv[0]);
	close(sv[1]);
}

/* Longer than the input buffer, then a good line. */
static void
test_huge_line(void)
{
	size_t n = 100000;
	char *data = xmalloc(n + 9);
	int sv[2];
	pid_t pid;

	memset(data, 'x', n);
	memcpy(data + n, "\r\nafter\n", 8);
	pair(sv);
	io_init(&io, sv[0], sv[0]);
	pid = writer(sv, data, n + 8, 4096, 0);
	is_line(IO_TOOLONG, NULL, 1000, "100000-byte line is too long");
	is_line(IO_OK, "after", 1000, "the line after it is read");
	is_line(IO_EOF, NULL, 1000, "then EOF");
	close(sv[0]);
	reap(pid);
	free(data);
}

/* The longest line the buffer can frame, and one byte more. */
static void
test_line_max(void)
{
	size_t n = IO_LINE_MAX + 1;
	char *data = xmalloc(2 * n + 4);
	size_t len = 0;
	int sv[2];
	pid_t pid;

	memset(data, 'm', IO_LINE_MAX);
	memcpy(data + IO_LINE_MAX, "\r\n", 2);
	memset(data + IO_LINE_MAX + 2, 'n', n);
	memcpy(data + IO_LINE_MAX + 2 + n, "\r\n", 2);
	pair(sv);
	io_init(&io, sv[0], sv[0]);
	pid = writer(sv, data, 2 * n + 3, 1000, 0);
	tap_is_int(io_readline(&io, line, SIZE_MAX, &len), IO_OK,
	    "IO_LINE_MAX line with a larger max");
	tap_is_int((long long)len, IO_LINE_MAX, "its full length");
	is_line(IO_TOOLONG, NULL, SIZE_MAX, "IO_LINE_MAX+1 is too long");
	close(sv[0]);
	reap(pid);
	free(data);
}

/* No newline at all: give up after IO_DISCARD_MAX bytes. */
static void
test_endless_line(void)
{
	size_t n = IO_DISCARD_MAX + 100000;
	char *data = xmalloc(n);
	int sv[2];
	pid_t pid;

	memset(data, 'y', n);
	pair(sv);
	io_init(&io, sv[0], sv[0]);
	pid = writer(sv, data, n, 65536, 0);
	is_line(IO_ERROR, NULL, 100, "1.1 MiB without newline is an error");
	close(sv[0]);
	reap(pid);
	free(data);
}

static void
test_idle_timeout(void)
{
	int64_t t0;
	int sv[2];
	pid_t pid;

	pair(sv);
	io_init(&io, sv[0], sv[0]);
	io_set_timeouts(&io, 1, 1);
	t0 = now_ms();
	is_line(IO_TIMEOUT, NULL, 100, "silent peer: idle timeout");
	tap_ok(now_ms() - t0 >= 900 && now_ms() - t0 < 2500,
	    "after about 1 s (%lld ms)", (long long)(now_ms() - t0));
	close(sv[0]);
	close(sv[1]);

	/* One byte every 300 ms never finishes a line: the timeout covers
	 * the whole line, not each byte. */
	pair(sv);
	io_init(&io, sv[0], sv[0]);
	io_set_timeouts(&io, 1, 1);
	pid = writer(sv, "abcdefghijklmn\r\n", 16, 1, 300000);
	t0 = now_ms();
	is_line(IO_TIMEOUT, NULL, 100, "slow drip: timeout for the whole line");
	tap_ok(now_ms() - t0 < 2500, "within the timeout (%lld ms)",
	    (long long)(now_ms() - t0));
	close(sv[0]);
	kill(pid, SIGKILL);
	reap(pid);
}

static void
test_read_exact(void)
{
	size_t n = 200000;
	unsigned char *data = xmalloc(n + 16), *got = xmalloc(n);
	char small[8];
	int sv[2];
	pid_t pid;

	pair(sv);
	io_init(&io, sv[0], sv[0]);
	put(sv[1], "{5}\r\nhelloX\r\nabc", 16);
	shutdown(sv[1], SHUT_WR);
	is_line(IO_OK, "{5}", 100, "literal announcement");
	tap_is_int(io_read_exact(&io, small, 5), IO_OK, "read_exact 5");
	tap_is_mem(small, 5, "hello", 5, "literal bytes");
	is_line(IO_OK, "X", 100, "line after the literal");
	tap_is_int(io_read_exact(&io, small, 5), IO_EOF, "read_exact past EOF");
	close(sv[0]);
	close(sv[1]);

	fill_pattern(data, n);
	memcpy(data + n, "tail\r\n", 6);
	pair(sv);
	io_init(&io, sv[0], sv[0]);
	pid = writer(sv, data, n + 6, 3000, 0);
	tap_is_int(io_read_exact(&io, got, n), IO_OK, "read_exact 200000");
	tap_ok(memcmp(got, data, n) == 0, "200000 bytes intact");
	is_line(IO_OK, "tail", 100, "line after the big literal");
	tap_is_int((long long)io.bytes_in, (long long)n + 6, "bytes_in counted");
	close(sv[0]);
	reap(pid);
	free(data);
	free(got);
}

static void
test_read_some(void)
{
	char buf[8];
	size_t got = 0;
	int sv[2];

	pair(sv);
	io_init(&io, sv[0], sv[0]);
	tap_is_int((long long)io_pending(&io), 0, "nothing pending at start");
	put(sv[1], "abcdef", 6);
	tap_is_int(io_read_some(&io, buf, 4, &got), IO_OK, "read_some");
	tap_is_mem(buf, got, "abcd", 4, "at most n bytes");
	tap_is_int((long long)io_pending(&io), 2, "2 bytes pending");
	tap_is_int(io_read_some(&io, buf, 8, &got), IO_OK, "read_some rest");
	tap_is_mem(buf, got, "ef", 2, "the buffered rest, no waiting");
	shutdown(sv[1], SHUT_WR);
	tap_is_int(io_read_some(&io, buf, 8, &got), IO_EOF, "read_some at EOF");
	close(sv[0]);
	close(sv[1]);
}

static void
test_output(void)
{
	size_t n = 300000;
	unsigned char *data = xmalloc(n);
	char buf[16], report[64], want[64];
	int sv[2], rfd;
	pid_t pid;

	pair(sv);
	io_init(&io, sv[0], sv[0]);
	io_puts(&io, "buffered");
	tap_ok(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) < 0 &&
	    errno == EAGAIN, "output is buffered until a flush");
	tap_is_int(io_flush(&io), IO_OK, "flush");
	tap_ok(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) == 8,
	    "flush sends it");
	fill_pattern(data, n);
	pid = reader(sv, &rfd);
	tap_is_int(io_write(&io, data, n), IO_OK, "write 300000 bytes");
	tap_is_int(io_flush(&io), IO_OK, "flush them");
	tap_is_int((long long)io.bytes_out, (long long)n + 8, "bytes_out");
	close(sv[0]);
	read_report(rfd, report, sizeof(report));
	reap(pid);
	expected_sum(data, n, want, sizeof(want));
	tap_is_str(report, want, "peer got every byte in order");
	free(data);
}

static void
test_printf(void)
{
	size_t big = IO_OUTBUF_SIZE + 5000;
	size_t total = (IO_OUTBUF_SIZE - 5) + 17 + 2 + (big + 3) + 4;
	unsigned char *expect = xmalloc(total), *p = expect;
	char *s = xmalloc(big + 1);
	char report[64], want[64];
	int sv[2], rfd;
	pid_t pid;

	memset(s, 'b', big);
	s[big] = '\0';
	pair(sv);
	io_init(&io, sv[0], sv[0]);
	pid = reader(sv, &rfd);
	/* Nearly full buffer, then text that does not fit the rest. */
	memset(p, 'f', IO_OUTBUF_SIZE - 5);
	io_write(&io, p, IO_OUTBUF_SIZE - 5);
	p += IO_OUTBUF_SIZE - 5;
	tap_is_int(io_printf(&io, "%s %d %s\r\n", "printf", 12345, "ok"),
	    IO_OK, "printf into a nearly full buffer");
	memcpy(p, "printf 12345 ok\r\n", 17);
	p += 17;
	memcpy(p, "<<", 2);
	p += 2;
	io_puts(&io, "<<");
	tap_is_int(io_printf(&io, "%s>\r\n", s), IO_OK,
	    "printf longer than the output buffer");
	memcpy(p, s, big);
	memcpy(p + big, ">\r\n", 3);
	p += big + 3;
	io_printf(&io, "%c%c\r\n", 'e', 'n');
	memcpy(p, "en\r\n", 4);
	tap_is_int(io_flush(&io), IO_OK, "flush");
	close(sv[0]);
	read_report(rfd, report, sizeof(report));
	reap(pid);
	expected_sum(expect, total, want, sizeof(want));
	tap_is_str(report, want, "peer got the formatted text in order");
	free(expect);
	free(s);
}

static void
test_output_timeout(void)
{
	size_t n = 4 << 20;
	char *data = xcalloc(1, n);
	enum io_status st;
	int64_t t0;
	int sv[2];

	pair(sv);
	io_init(&io, sv[0], sv[0]);
	io_set_timeouts(&io, 1, 1);
	t0 = now_ms();
	st = io_write(&io, data, n);
	if (st == IO_OK)
		st = io_flush(&io);
	tap_is_int(st, IO_TIMEOUT, "peer that does not read: output timeout");
	tap_ok(now_ms() - t0 >= 900 && now_ms() - t0 < 3000,
	    "after about 1 s (%lld ms)", (long long)(now_ms() - t0));
	tap_ok(io.failed, "io marked failed");
	tap_is_int(io_puts(&io, "x"), IO_ERROR, "further output refused");
	tap_is_int(io_flush(&io), IO_ERROR, "flush refused");
	is_line(IO_ERROR, NULL, 100, "reads refused too");
	close(sv[0]);
	close(sv[1]);
	free(data);
}

static void
test_peer_gone(void)
{
	int sv[2];

	pair(sv);
	io_init(&io, sv[0], sv[0]);
	close(sv[1]);
	io_puts(&io, "hello\r\n");
	tap_is_int(io_flush(&io), IO_ERROR, "write to a closed peer: error, "
	    "no SIGPIPE");
	close(sv[0]);
}

/* A pipe pair (a shell, xinetd wrappers): not made non-blocking. */
static void
test_pipes(void)
{
	int in[2], out[2], sv[2], rfd;
	size_t n = 100000;
	unsigned char *data;
	char report[64], want[64];
	pid_t pid;

	if (pipe(in) < 0 || pipe(out) < 0)
		exit(2);
	pair(sv);
	io_init(&io, in[0], out[1]);
	tap_ok(!(fcntl(in[0], F_GETFL) & O_NONBLOCK), "input pipe left blocking");
	tap_ok(!(fcntl(out[1], F_GETFL) & O_NONBLOCK), "output pipe left blocking");
	io_init(&io, sv[0], sv[0]);
	tap_ok(fcntl(sv[0], F_GETFL) & O_NONBLOCK, "socket made non-blocking");
	close(sv[0]);
	close(sv[1]);

	io_init(&io, in[0], out[1]);
	put(in[1], "pipe line\n", 10);
	is_line(IO_OK, "pipe line", 100, "line over a pipe");
	close(in[1]);
	is_line(IO_EOF, NULL, 100, "EOF over a pipe");
	/* reader() wants a pair: give it the output pipe. */
	sv[0] = out[1];
	sv[1] = out[0];
	pid = reader(sv, &rfd);
	/* allocated after the fork, so the reader child does not inherit it */
	data = xmalloc(n);
	fill_pattern(data, n);
	tap_is_int(io_write(&io, data, n), IO_OK, "write 100000 to a pipe");
	tap_is_int(io_flush(&io), IO_OK, "flush to a pipe");
	io_close(&io);
	close(out[1]);
	close(in[0]);
	read_report(rfd, report, sizeof(report));
	reap(pid);
	expected_sum(data, n, want, sizeof(want));
	tap_is_str(report, want, "pipe reader got every byte");
	free(data);
}

static void
test_close(void)
{
	int sv[2];
	char buf[16];

	pair(sv);
	io_init(&io, sv[0], sv[0]);
	io_puts(&io, "bye\r\n");
	io_close(&io);
	tap_ok(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) == 5,
	    "io_close flushes");
	tap_is_int(io_puts(&io, "x"), IO_ERROR, "no output after io_close");
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	log_open("test_io", "/dev/stderr");
	test_basic();
	test_limits();
	test_limits_bytewise();
	test_nul();
	test_eof_midline();
	test_huge_line();
	test_line_max();
	test_endless_line();
	test_idle_timeout();
	test_read_exact();
	test_read_some();
	test_output();
	test_printf();
	test_output_timeout();
	test_peer_gone();
	test_pipes();
	test_close();
	return tap_done();
}
