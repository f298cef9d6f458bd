/*
 * io.c - bounded, buffered reads and writes for one client connection,
 * over plain fds (a socket, a pipe pair or a terminal) or OpenSSL.
 *
 * Trusts nothing the peer sends: every wait is bounded by a poll()
 * deadline, both buffers are fixed arrays inside struct io, and an
 * overlong line is skipped, never stored (STYLE.md 4).  Trusts the caller
 * to pass the fds it was given and an SSL_CTX from tls_ctx_new().
 *
 * Why O_NONBLOCK on sockets: OpenSSL may need several reads for one
 * record; on a blocking socket a client that sends half a record would
 * hold SSL_read past our deadline.  Pipes and terminals stay as they are
 * (the shell that started us shares them); poll() says when a read will
 * not block, and writes to them go in PIPE_BUF pieces, which poll(POLLOUT)
 * means there is room for.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "io.h"
#include "log.h"
#include "util.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* A deadline in now_ms() time, or -1 for "never". */
static int64_t
deadline_after(int timeout_ms)
{
	return timeout_ms > 0 ? now_ms() + timeout_ms : -1;
}

static int
seconds_to_ms(int s)
{
	if (s <= 0)
		return 0;
	return s > INT_MAX / 1000 ? INT_MAX / 1000 * 1000 : s * 1000;
}

/* Wait until fd is ready for events (errors and hangups count as ready:
 * the read or write that follows reports them) or the deadline passes. */
static enum io_status
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int r;

	for (;;) {
		left = -1;
		if (deadline >= 0 && (left = deadline - now_ms()) <= 0)
			return IO_TIMEOUT;
		r = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r > 0 && (pfd.revents & POLLNVAL)) {
			log_msg(LOG_INFO, "poll: fd %d is not open", fd);
			return IO_ERROR;
		}
		if (r > 0)
			return IO_OK;
		if (r < 0 && errno != EINTR) {
			log_msg(LOG_INFO, "poll: %s", strerror(errno));
			return IO_ERROR;
		}
	}
}

static int
is_socket(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

static int
is_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && (fl & O_NONBLOCK);
}

static void
set_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && !(fl & O_NONBLOCK))
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

void
io_init(struct io *io, int fd_in, int fd_out)
{
	memset(io, 0, sizeof(*io));
	io->fd_in = fd_in;
	io->fd_out = fd_out;
	io_set_timeouts(io, IO_DEFAULT_IDLE_S, IO_DEFAULT_OUTPUT_S);
	/* A write to a vanished peer must come back as EPIPE, not kill us
	 * before we log; OpenSSL writes with plain write(2). */
	signal(SIGPIPE, SIG_IGN);
	if (is_socket(fd_in))
		set_nonblocking(fd_in);
	io->out_is_socket = is_socket(fd_out);
	if (io->out_is_socket)
		set_nonblocking(fd_out);
	io->out_blocking = !is_nonblocking(fd_out);
}

void
io_set_timeouts(struct io *io, int idle_s, int output_s)
{
	io->idle_timeout_ms = seconds_to_ms(idle_s);
	io->output_timeout_ms = seconds_to_ms(output_s);
}

/*
 * After an SSL_* call returned ret <= 0 (err_no: errno right after it):
 * wait for what OpenSSL asks for (IO_OK: call it again), or classify the
 * failure and put the reason for a log line in why.
 */
static enum io_status
tls_wait(struct io *io, int ret, int err_no, int64_t deadline, char *why,
    size_t whylen)
{
	unsigned long e;

	snprintf(why, whylen, "connection closed");
	switch (SSL_get_error(io->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return wait_fd(io->fd_in, POLLIN, deadline);
	case SSL_ERROR_WANT_WRITE:
		return wait_fd(io->fd_out, POLLOUT, deadline);
	case SSL_ERROR_ZERO_RETURN:	/* the peer's close_notify */
		return IO_EOF;
	case SSL_ERROR_SYSCALL:
		/* The session is unusable; SSL_shutdown must not run. */
		io->failed = 1;
		if ((e = ERR_peek_error()) == 0) {
			if (err_no == 0 || err_no == ECONNRESET)
				return IO_EOF;
			snprintf(why, whylen, "%s", strerror(err_no));
			return IO_ERROR;
		}
		break;
	default:
		io->failed = 1;
		e = ERR_peek_error();
		/* OpenSSL 3 reports a TCP close without close_notify so. */
		if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
		    ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
			return IO_EOF;
		break;
	}
	if (e != 0)
		ERR_error_string_n(e, why, whylen);
	return IO_ERROR;
}

static enum io_status
tls_read(struct io *io, void *buf, size_t n, int64_t deadline, size_t *got)
{
	enum io_status st;
	char why[256];
	int r;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_read(io->ssl, buf, (int)MIN(n, INT_MAX));
		if (r > 0) {
			*got = (size_t)r;
			return IO_OK;
		}
		st = tls_wait(io, r, errno, deadline, why, sizeof(why));
		if (st == IO_ERROR)
			log_msg(LOG_INFO, "TLS read failed: %s", why);
		if (st != IO_OK)
			return st;
	}
}

static enum io_status
plain_read(struct io *io, void *buf, size_t n, int64_t deadline, size_t *got)
{
	enum io_status st;
	ssize_t r;

	for (;;) {
		if ((st = wait_fd(io->fd_in, POLLIN, deadline)) != IO_OK)
			return st;
		r = read(io->fd_in, buf, n);
		if (r > 0) {
			*got = (size_t)r;
			return IO_OK;
		}
		if (r == 0 || errno == ECONNRESET)
			return IO_EOF;
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
			log_msg(LOG_INFO, "read: %s", strerror(errno));
			return IO_ERROR;
		}
	}
}

/* Read more input after the unread bytes (moved to the front first). */
static enum io_status
fill(struct io *io, int64_t deadline)
{
	size_t got = 0, unread = io->in_end - io->in_start;
	enum io_status st;

	if (io->failed)
		return IO_ERROR;
	memmove(io->in, io->in + io->in_start, unread);
	io->in_start = 0;
	io->in_end = unread;
	if (unread == sizeof(io->in))
		return IO_ERROR;	/* callers never let this happen */
	if (io->ssl != NULL)
		st = tls_read(io, io->in + unread, sizeof(io->in) - unread,
		    deadline, &got);
	else
		st = plain_read(io, io->in + unread, sizeof(io->in) - unread,
		    deadline, &got);
	if (st == IO_OK) {
		io->in_end += got;
		io->bytes_in += got;
	}
	return st;
}

/* Hand out the buffered line ending at nl (which is consumed either way). */
static enum io_status
take_line(struct io *io, const unsigned char *nl, char *line, size_t max,
    size_t *len)
{
	const unsigned char *p = io->in + io->in_start;
	size_t n = (size_t)(nl - p);

	io->in_start += n + 1;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n > max)
		return IO_TOOLONG;
	memcpy(line, p, n);
	line[n] = '\0';
	*len = n;
	return IO_OK;
}

/*
 * The current line is longer than the caller accepts: drop input up to
 * and including its newline.  The client gets one error reply, we never
 * grow a buffer (STYLE.md 4), and we give up on a peer that sends
 * IO_DISCARD_MAX bytes without any newline at all.
 */
static enum io_status
skip_line(struct io *io, int64_t deadline)
{
	size_t skipped = 0;
	unsigned char *nl;
	enum io_status st;

	for (;;) {
		nl = memchr(io->in + io->in_start, '\n',
		    io->in_end - io->in_start);
		if (nl != NULL) {
			io->in_start = (size_t)(nl - io->in) + 1;
			return IO_TOOLONG;
		}
		skipped += io->in_end - io->in_start;
		io->in_start = io->in_end = 0;
		if (skipped > IO_DISCARD_MAX) {
			log_msg(LOG_INFO, "no end of line in %zu bytes of input",
			    skipped);
			return IO_ERROR;
		}
		if ((st = fill(io, deadline)) != IO_OK)
			return st;
	}
}

enum io_status
io_readline(struct io *io, char *line, size_t max, size_t *len)
{
	int64_t deadline = deadline_after(io->idle_timeout_ms);
	size_t scanned = 0, unread;
	unsigned char *nl;
	enum io_status st;

	*len = 0;
	line[0] = '\0';
	max = MIN(max, IO_LINE_MAX);
	for (;;) {
		unread = io->in_end - io->in_start;
		/* scanned stays valid across fill(): it counts from in_start. */
		nl = memchr(io->in + io->in_start + scanned, '\n',
		    unread - scanned);
		if (nl != NULL)
			return take_line(io, nl, line, max, len);
		scanned = unread;
		/* max bytes and a CR may still end well; one more cannot. */
		if (unread > max + 1)
			return skip_line(io, deadline);
		if ((st = fill(io, deadline)) != IO_OK)
			return st;
	}
}

/* Move up to n buffered bytes to dst. */
static size_t
take_buffered(struct io *io, unsigned char *dst, size_t n)
{
	size_t take = MIN(n, io->in_end - io->in_start);

	memcpy(dst, io->in + io->in_start, take);
	io->in_start += take;
	return take;
}

enum io_status
io_read_exact(struct io *io, void *dst, size_t n)
{
	unsigned char *d = dst;
	enum io_status st;
	size_t took;

	while (n > 0) {
		if (io->in_start == io->in_end &&
		    (st = fill(io, deadline_after(io->idle_timeout_ms))) != IO_OK)
			return st;
		took = take_buffered(io, d, n);
		d += took;
		n -= took;
	}
	return IO_OK;
}

enum io_status
io_read_some(struct io *io, void *dst, size_t n, size_t *got)
{
	enum io_status st;

	*got = 0;
	if (n == 0)
		return IO_OK;
	if (io->in_start == io->in_end &&
	    (st = fill(io, deadline_after(io->idle_timeout_ms))) != IO_OK)
		return st;
	*got = take_buffered(io, dst, n);
	return IO_OK;
}

size_t
io_pending(const struct io *io)
{
	size_t n = io->in_end - io->in_start;
	int p;

	/* SSL_pending, not SSL_has_pending: a half-received record is not
	 * readable yet, and counting it would make a relay spin. */
	if (io->ssl != NULL && (p = SSL_pending(io->ssl)) > 0)
		n += (size_t)p;
	return n;
}

static enum io_status
tls_write(struct io *io, const void *p, size_t n, int64_t deadline,
    size_t *done)
{
	enum io_status st;
	char why[256];
	int r;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		/* After WANT_*, OpenSSL needs the same arguments again: the
		 * caller only advances on success. */
		r = SSL_write(io->ssl, p, (int)MIN(n, INT_MAX));
		if (r > 0) {
			*done = (size_t)r;
			return IO_OK;
		}
		st = tls_wait(io, r, errno, deadline, why, sizeof(why));
		if (st == IO_EOF || st == IO_ERROR) {
			log_msg(LOG_INFO, "TLS write failed: %s", why);
			return IO_ERROR;
		}
		if (st != IO_OK)
			return st;
	}
}

static enum io_status
plain_write(struct io *io, const void *p, size_t n, int64_t deadline,
    size_t *done)
{
	enum io_status st;
	ssize_t r;

	for (;;) {
		if ((st = wait_fd(io->fd_out, POLLOUT, deadline)) != IO_OK)
			return st;
		if (io->out_is_socket)
			r = send(io->fd_out, p, n, MSG_NOSIGNAL);
		else
			r = write(io->fd_out, p,
			    io->out_blocking ? MIN(n, PIPE_BUF) : n);
		if (r >= 0) {
			*done = (size_t)r;
			return IO_OK;
		}
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
			log_msg(LOG_INFO, "write: %s", strerror(errno));
			return IO_ERROR;
		}
	}
}

enum io_status
io_flush(struct io *io)
{
	int64_t deadline = deadline_after(io->output_timeout_ms);
	enum io_status st = io->failed ? IO_ERROR : IO_OK;
	size_t off = 0, done;

	while (st == IO_OK && off < io->out_len) {
		done = 0;
		if (io->ssl != NULL)
			st = tls_write(io, io->out + off, io->out_len - off,
			    deadline, &done);
		else
			st = plain_write(io, io->out + off, io->out_len - off,
			    deadline, &done);
		off += done;
		io->bytes_out += done;
	}
	/* Written, or dropped: a peer that does not read is gone for us. */
	io->out_len = 0;
	if (st != IO_OK)
		io->failed = 1;
	return st;
}

enum io_status
io_write(struct io *io, const void *p, size_t n)
{
	const unsigned char *s = p;
	enum io_status st;
	size_t take;

	if (io->failed)
		return IO_ERROR;
	while (n > 0) {
		if (io->out_len == sizeof(io->out) &&
		    (st = io_flush(io)) != IO_OK)
			return st;
		take = MIN(n, sizeof(io->out) - io->out_len);
		memcpy(io->out + io->out_len, s, take);
		io->out_len += take;
		s += take;
		n -= take;
	}
	return IO_OK;
}

enum io_status
io_puts(struct io *io, const char *s)
{
	return io_write(io, s, strlen(s));
}

/* Text too long for the output buffer: format it on the heap. */
static enum io_status PRINTF(2, 0)
vprintf_big(struct io *io, const char *fmt, va_list ap, size_t n)
{
	enum io_status st;
	char *tmp = xmalloc(n + 1);

	vsnprintf(tmp, n + 1, fmt, ap);
	st = io_write(io, tmp, n);
	free(tmp);
	return st;
}

static enum io_status PRINTF(2, 0)
io_vprintf(struct io *io, const char *fmt, va_list ap)
{
	size_t room = sizeof(io->out) - io->out_len;
	enum io_status st;
	va_list again;
	int n;

	if (io->failed)
		return IO_ERROR;
	va_copy(again, ap);
	/* Usually it fits where it lands; if not, the text past out_len is
	 * scratch and gets overwritten. */
	n = vsnprintf((char *)io->out + io->out_len, room, fmt, ap);
	if (n < 0) {
		st = IO_ERROR;
	} else if ((size_t)n < room) {
		io->out_len += (size_t)n;
		st = IO_OK;
	} else if ((size_t)n < sizeof(io->out)) {
		if ((st = io_flush(io)) == IO_OK) {
			vsnprintf((char *)io->out, sizeof(io->out), fmt, again);
			io->out_len = (size_t)n;
		}
	} else {
		st = vprintf_big(io, fmt, again, (size_t)n);
	}
	va_end(again);
	return st;
}

enum io_status
io_printf(struct io *io, const char *fmt, ...)
{
	enum io_status st;
	va_list ap;

	va_start(ap, fmt);
	st = io_vprintf(io, fmt, ap);
	va_end(ap);
	return st;
}

/* Run SSL_accept to the end or the deadline; log why it failed. */
static enum io_status
tls_accept(struct io *io, int timeout_s)
{
	int64_t deadline = now_ms() + (int64_t)timeout_s * 1000;
	enum io_status st;
	char why[256];
	int r;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_accept(io->ssl);
		if (r == 1)
			return IO_OK;
		st = tls_wait(io, r, errno, deadline, why, sizeof(why));
		if (st == IO_OK)
			continue;
		if (st == IO_TIMEOUT)
			log_msg(LOG_INFO, "TLS handshake timed out after %d s",
			    timeout_s);
		else
			log_msg(LOG_INFO, "TLS handshake failed: %s", why);
		return IO_ERROR;
	}
}

/* Create the SSL object on our fds; failing here is an internal error. */
static void
tls_new(struct io *io, SSL_CTX *ctx)
{
	char why[256];

	ERR_clear_error();
	if ((io->ssl = SSL_new(ctx)) == NULL ||
	    SSL_set_rfd(io->ssl, io->fd_in) != 1 ||
	    SSL_set_wfd(io->ssl, io->fd_out) != 1) {
		ERR_error_string_n(ERR_get_error(), why, sizeof(why));
		fatal("cannot set up TLS: %s", why);
	}
}

enum io_status
io_starttls(struct io *io, SSL_CTX *ctx, int handshake_timeout_s,
    size_t *discarded)
{
	*discarded = io->in_end - io->in_start;
	io->in_start = io->in_end = 0;
	/* The "OK Begin TLS" reply still goes out in plaintext. */
	if (io_flush(io) != IO_OK || io->ssl != NULL) {
		io->failed = 1;
		return IO_ERROR;
	}
	/* The client sent more after STARTTLS/STLS, before our reply:
	 * RFC 3501 6.2.1 and RFC 2595 4 forbid that, and running it as if
	 * it came inside TLS is CVE-2011-0411.  Fail closed (G11). */
	if (*discarded > 0) {
		log_msg(LOG_INFO, "STARTTLS: %zu bytes pipelined after the "
		    "command discarded, closing", *discarded);
		io->failed = 1;
		return IO_ERROR;
	}
	set_nonblocking(io->fd_in);
	set_nonblocking(io->fd_out);
	io->out_blocking = 0;
	tls_new(io, ctx);
	if (tls_accept(io, handshake_timeout_s > 0 ? handshake_timeout_s :
	    IO_DEFAULT_HANDSHAKE_S) != IO_OK) {
		SSL_free(io->ssl);
		io->ssl = NULL;
		io->failed = 1;
		ERR_clear_error();
		return IO_ERROR;
	}
	return IO_OK;
}

void
io_close(struct io *io)
{
	if (!io->failed)
		(void)io_flush(io);
	if (io->ssl != NULL) {
		/* One close_notify, no wait for the peer's: we exit next.
		 * Not after a fatal error (failed), as OpenSSL requires. */
		ERR_clear_error();
		if (!io->failed && SSL_is_init_finished(io->ssl))
			(void)SSL_shutdown(io->ssl);
		SSL_free(io->ssl);
		io->ssl = NULL;
		ERR_clear_error();
	}
	io->failed = 1;
}
