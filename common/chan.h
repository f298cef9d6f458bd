/*
 * chan.h - the fixed-format messages between the monitor and its children
 * (STYLE.md 3).  Each message is one SOCK_SEQPACKET datagram:
 *
 *   AUTH   (login -> monitor)  u8 type, u8 mech, u8 tls,
 *                              field authzid, field user, field password
 *   REPLY  (monitor -> login)  u8 type, u8 result [+ one fd on AUTH_OK]
 *   LOG    (child -> monitor)  u8 type, u8 priority, field text
 *
 * where a field is a u16 length (little endian) followed by that many
 * bytes.  The decoder rejects anything else: unknown type, a field longer
 * than its limit, a short or truncated datagram, trailing bytes, a
 * passed fd where none belongs.  A bad message from a child means the
 * child is broken or compromised; the monitor logs it and ends the
 * connection.  Passwords are wiped from every buffer once used.
 */
#ifndef POSTERN_CHAN_H
#define POSTERN_CHAN_H

#include <stddef.h>
#include <stdint.h>
#include "proc.h"
#include "log.h"

enum chan_type { CHAN_AUTH = 1, CHAN_REPLY = 2, CHAN_LOG = 3 };

#define CHAN_MAX_MSG (3 + 3 * 2 + AUTH_USER_MAX * 2 + AUTH_PASS_MAX)

struct chan_auth {
	uint8_t mech, tls;
	char authzid[AUTH_USER_MAX + 1];
	char user[AUTH_USER_MAX + 1];
	char pass[AUTH_PASS_MAX + 1];
	size_t azlen, ulen, plen;
};

struct chan_msg {
	uint8_t type;
	union {
		struct chan_auth auth;
		uint8_t result;
		struct { uint8_t prio; char text[LOG_MAX_TEXT + 1]; } log;
	} u;
	int fd;			/* passed descriptor, or -1 */
};

int chan_send_auth(int fd, const struct chan_auth *a);
int chan_send_reply(int fd, uint8_t result, int pass_fd);
int chan_send_log(int fd, int prio, const char *text);
/* log.h forwarder: log_set_forward(fd, chan_log_forward). */
void chan_log_forward(int fd, int prio, const char *text);

/* Receive one message: 1 = got one, 0 = peer closed, -1 = bad message. */
int chan_recv(int fd, struct chan_msg *m);
/* Decode a datagram (exposed for the unit test and the fuzzer). */
int chan_decode(const unsigned char *p, size_t n, struct chan_msg *m);

#endif
