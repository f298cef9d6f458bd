/*
 * send.c - RETR and TOP output: stored bytes through crlf.h, dot-stuffed
 * (RFC 1939 section 3), ended with ".".  For TOP, the header, the blank
 * line and the first body_lines lines of the body (section 7).
 */
#include "crlf.h"
#include "pop3.h"

struct sender {
	struct io *io;
	long body_lines;	/* -1: everything */
	int at_line_start;
	int in_header;
	int done;
	unsigned char out[2 * 2 * 8192 + 4];
	size_t olen;
};

/* Pass converted (CRLF) bytes on, stuffing dots and counting TOP lines. */
static void
emit(struct sender *s, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n && !s->done; i++) {
		if (s->at_line_start) {
			if (s->in_header && p[i] == '\r')
				s->in_header = 0;	/* the blank line */
			else if (!s->in_header && s->body_lines >= 0 &&
			    s->body_lines-- == 0) {
				s->done = 1;
				break;
			}
			if (p[i] == '.')
				s->out[s->olen++] = '.';
		}
		s->out[s->olen++] = p[i];
		s->at_line_start = p[i] == '\n';
	}
	io_write(s->io, s->out, s->olen);
	s->olen = 0;
}

int64_t
pop3_send_message(struct io *io, struct msg_stream *ms, long body_lines)
{
	struct sender s = { .io = io, .body_lines = body_lines,
	    .at_line_start = 1, .in_header = 1 };
	unsigned char raw[8192], conv[2 * sizeof(raw)];
	struct crlf c;
	ssize_t n = 0;

	crlf_init(&c);
	while (!s.done && (n = msg_stream_read(ms, raw, sizeof(raw))) > 0)
		emit(&s, conv, crlf_convert(&c, raw, (size_t)n, conv));
	msg_stream_close(ms);
	if (n < 0 && !s.done)
		return -1;	/* the caller can only close: +OK was sent */
	if (!s.done)
		emit(&s, conv, crlf_finish(&c, conv));
	io_write(io, ".\r\n", 3);
	return (int64_t)c.out;
}
