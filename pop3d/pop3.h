/*
 * pop3.h - pop3d's pieces: the pre-auth state (login.c, in the login
 * process), the transaction state (session.c, in the mail session),
 * message sending (send.c) and UIDL strings (uidl.c).
 */
#ifndef POSTERN_POP3_H
#define POSTERN_POP3_H

#include <stdint.h>
#include "proc.h"
#include "store.h"

/* RFC 2449 section 4 caps a command line at 255 octets with CRLF; we
 * accept twice that (SECURITY.md G6 asks for at most 512 with CRLF). */
#define POP3_LOGIN_LINE_MAX 510
/* A SASL response line: base64 of authzid, user and password at their
 * limits (chan.h) fits comfortably. */
#define POP3_SASL_LINE_MAX 4096
/* After login, as Dovecot's pop3 MAX_INBUF_SIZE (2048 with CRLF). */
#define POP3_SESSION_LINE_MAX 2046
/* Bad commands before we hang up: Dovecot's pop3-login and pop3 limits. */
#define POP3_LOGIN_BAD_MAX 3
#define POP3_SESSION_BAD_MAX 20
/* RFC 1939 section 7: a unique-id is 1 to 70 characters 0x21-0x7E. */
#define POP3_UIDL_MAX 70

extern const struct proto pop3_proto;

void pop3_login_main(struct login *l);
void pop3_session_main(struct session *s);

/* Send an opened message (RFC 1939 RETR; with body_lines >= 0, TOP):
 * CRLF line ends, dot-stuffing, the terminating ".".  Closes ms.
 * Returns wire bytes sent (before stuffing), or -1 on a read error. */
int64_t pop3_send_message(struct io *io, struct msg_stream *ms,
    long body_lines);

/* Expand pop3_uidl_format for message i; -1 if the format is invalid or
 * the result is not a valid unique-id (err says why). */
int pop3_uidl(const char *fmt, struct store *st, unsigned i, char *out,
    size_t outlen, const char **err);

#endif
