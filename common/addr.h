/*
 * addr.h - the addresses of the connection on fd 0, for logs, PAM_RHOST
 * and the "local connection" rule of disable_plaintext_auth.
 */
#ifndef POSTERN_ADDR_H
#define POSTERN_ADDR_H

struct conninfo {
	char rip[64], lip[64];	/* "unknown" when fd 0 is not an inet socket */
	unsigned rport, lport;
	int loopback;		/* remote address is 127.0.0.0/8 or ::1 */
};

void conn_addresses(int fd, struct conninfo *ci);

#endif
