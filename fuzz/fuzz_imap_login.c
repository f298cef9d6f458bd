/*
 * fuzz_imap_login.c - the whole IMAP pre-auth state machine, as the login
 * process runs it, over real sockets: the input is what a client sends;
 * the "monitor" has queued AUTH_FAIL answers in advance.  The first byte
 * picks the connection: bit 0 offers STARTTLS (a context without a
 * certificate, so a handshake never succeeds), bit 1 makes the client
 * non-local (LOGINDISABLED paths).
 */
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <openssl/ssl.h>

#include "chan.h"
#include "imap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
drain(int fd)
{
	char buf[65536];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	static SSL_CTX *tls;
	static int init;
	struct login l;
	int client[2], chan[2];
	int big = 1 << 20;

	if (size < 1 || size > 8192)
		return 0;
	if (!init) {
		config_defaults(&cfg);
		log_open("fuzz", "/dev/null");
		tls = SSL_CTX_new(TLS_server_method());
		init = 1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, client) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, chan) < 0)
		return 0;
	setsockopt(client[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(client[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	(void)write_all(client[0], data + 1, size - 1);
	shutdown(client[0], SHUT_WR);
	for (unsigned i = 0; i < cfg.auth_max_attempts; i++)
		chan_send_reply(chan[0], i + 1 < cfg.auth_max_attempts ?
		    AUTH_FAIL : AUTH_TOOMANY, -1);
	memset(&l, 0, sizeof(l));
	l.cfg = &cfg;
	l.chan = chan[1];
	l.tls = (data[0] & 1) ? tls : NULL;
	l.loopback = !(data[0] & 2);
	strcpy(l.rip, "127.0.0.1");
	io_init(&l.io, client[1], client[1]);
	io_set_timeouts(&l.io, 1, 1);
	imap_login_main(&l);
	io_close(&l.io);
	drain(client[0]);
	drain(chan[0]);
	close(client[0]); close(client[1]); close(chan[0]); close(chan[1]);
	return 0;
}
