/*
 * io.h - bounded, buffered I/O over a plain file descriptor pair or an
 * OpenSSL connection (STYLE.md 4: every network byte passes through here).
 *
 * Input: a fixed-size buffer.  io_readline() returns one line of at most
 * max bytes (CRLF or LF ending removed); a longer line is reported as
 * IO_TOOLONG after the rest of it has been skipped, so the caller can send
 * one error and carry on or close.  Memory never grows with input.
 *
 * Timeouts: a whole io_readline() call (including skipping an overlong
 * line) must finish within the idle timeout; io_read_exact() and
 * io_read_some() wait at most the idle timeout for each piece of data, so
 * a big literal on a slow link is fine as long as it keeps moving.
 *
 * Output: buffered and flushed in large writes; io_flush() waits at most
 * the output timeout for the peer to take the data.  After a failed write
 * the connection is dead: further output is dropped and reads fail.
 *
 * TLS: io_starttls() discards every byte the client sent after the
 * STARTTLS/STLS line (CVE-2011-0411 class) before the handshake starts,
 * and returns how many it discarded so the caller can log it.
 *
 * io_init() makes sockets O_NONBLOCK (pipes and terminals are left alone:
 * they may be shared with the shell that started us) and sets SIGPIPE to
 * SIG_IGN, so a peer that goes away is an IO_ERROR, never a silent death.
 */
#ifndef POSTERN_IO_H
#define POSTERN_IO_H

#include <stddef.h>
#include <sys/types.h>
#include "util.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

/* > the longest line any state accepts: an IMAP command line may be as
 * long as Dovecot's imap_max_line_length (64 KiB), for the long UID sets
 * clients send; pop3d and the pre-auth states ask for far less */
#define IO_INBUF_SIZE  65536
#define IO_OUTBUF_SIZE 65536	/* flushed in writes of up to this size */
/* The longest line io_readline() can return: the line plus CRLF must fit. */
#define IO_LINE_MAX (IO_INBUF_SIZE - 2)
/* Skipping an overlong line gives up (IO_ERROR) after this much input
 * without a newline: such a peer is not speaking our protocol. */
#define IO_DISCARD_MAX (1024 * 1024)
/* Until io_set_timeouts(): SECURITY.md G6 pre-auth idle limit, and
 * config.h's output_timeout default. */
#define IO_DEFAULT_IDLE_S 60
#define IO_DEFAULT_OUTPUT_S 300
/* Used when io_starttls() is given a timeout <= 0 (G6: at most 10 s). */
#define IO_DEFAULT_HANDSHAKE_S 10

enum io_status {
	IO_OK = 0,
	IO_EOF = -1,		/* peer closed */
	IO_TIMEOUT = -2,	/* idle or output timeout */
	IO_ERROR = -3,		/* read/write/TLS error (errno or TLS detail logged) */
	IO_TOOLONG = -4,	/* line longer than max; rest of the line skipped */
};

struct io {
	int fd_in, fd_out;
	SSL *ssl;			/* NULL while plaintext */
	int idle_timeout_ms;		/* for reads; <= 0 means wait forever */
	int output_timeout_ms;		/* for writes */
	unsigned char in[IO_INBUF_SIZE];
	size_t in_start, in_end;	/* unread bytes are in[in_start..in_end) */
	unsigned char out[IO_OUTBUF_SIZE];
	size_t out_len;
	int failed;			/* a write, the TLS session or STARTTLS
					 * failed, or io_close() ran: output is
					 * dropped and reads return IO_ERROR */
	unsigned long long bytes_in, bytes_out;
	int out_is_socket;		/* send(MSG_NOSIGNAL) rather than write */
	int out_blocking;		/* pipe/tty: write PIPE_BUF at a time */
};

void io_init(struct io *io, int fd_in, int fd_out);
/* Seconds; <= 0 means wait forever. */
void io_set_timeouts(struct io *io, int idle_s, int output_s);

/*
 * Read one line into line[0..*len) (not NUL-terminated; line[*len] is set
 * to 0 for convenience, so line needs max + 1 bytes).  The line ending
 * (CRLF or a bare LF) is removed.  A NUL byte inside the line is returned
 * as is; callers that must reject NUL check with memchr.  max is capped
 * at IO_LINE_MAX.  IO_EOF at end of input, also when a line was cut off
 * (an unfinished command is never returned); IO_ERROR also when an
 * overlong line has no newline within IO_DISCARD_MAX bytes.
 */
enum io_status io_readline(struct io *io, char *line, size_t max, size_t *len);

/* Read exactly n bytes (IMAP literals). */
enum io_status io_read_exact(struct io *io, void *dst, size_t n);

/* Read whatever is available (at least 1 byte, at most n); for relays. */
enum io_status io_read_some(struct io *io, void *dst, size_t n, size_t *got);

/* Bytes already buffered (or decrypted inside TLS) that can be read now,
 * without waiting: a relay polls the fd only when this is 0. */
size_t io_pending(const struct io *io);

/* Buffer output; flushes when the buffer fills.  Return IO_OK or error
 * (IO_TIMEOUT: the peer did not take a buffer's worth, at most
 * IO_OUTBUF_SIZE bytes, within the output timeout). */
enum io_status io_write(struct io *io, const void *p, size_t n);
enum io_status io_puts(struct io *io, const char *s);
enum io_status io_printf(struct io *io, const char *fmt, ...) PRINTF(2, 3);
enum io_status io_flush(struct io *io);

/*
 * Start TLS as the server on this io with ctx.  Buffered output (the
 * "OK Begin TLS" reply) is flushed in plaintext first.  Any buffered
 * input is discarded (its length stored in *discarded); if there was any,
 * the client pipelined commands after STARTTLS/STLS and we fail closed
 * with IO_ERROR without a handshake (SECURITY.md G11).  Bytes still in
 * the kernel are fed to OpenSSL as the ClientHello and fail it, which is
 * the same outcome.  The handshake must finish within handshake_timeout_s
 * (<= 0: IO_DEFAULT_HANDSHAKE_S).  Sets the fds O_NONBLOCK, even pipes,
 * because OpenSSL must never block past the deadline.  Returns IO_OK or
 * IO_ERROR (details logged at LOG_INFO: handshake failures are the
 * client's business); after IO_ERROR the io is dead (failed is set), so
 * nothing can go out in plaintext by mistake.
 */
enum io_status io_starttls(struct io *io, SSL_CTX *ctx, int handshake_timeout_s,
    size_t *discarded);

/* Flush, send close_notify once if TLS is on (without waiting for the
 * peer's), then free the SSL state.  The fds stay open (the caller owns
 * them); the io is marked failed so nothing more goes out. */
void io_close(struct io *io);

#endif
