/*
 * fuzz_pop3_login.c - the whole POP3 pre-auth state machine, as the
 * login process runs it, over real sockets: the input is what a client
 * sends; the "monitor" has queued AUTH_FAIL answers in advance.
 */
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "chan.h"
#include "../pop3d/pop3.h"

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
	static int init;
	struct login l;
	int client[2], chan[2];
	int big = 1 << 20;

	if (size > 8192)
		return 0;
	if (!init) {
		config_defaults(&cfg);
		log_open("fuzz", "/dev/null");
		init = 1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, client) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, chan) < 0)
		return 0;
	setsockopt(client[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(client[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	(void)write_all(client[0], data, size);
	shutdown(client[0], SHUT_WR);
	for (unsigned i = 0; i < cfg.auth_max_attempts; i++)
		chan_send_reply(chan[0], i + 1 < cfg.auth_max_attempts ?
		    AUTH_FAIL : AUTH_TOOMANY, -1);
	memset(&l, 0, sizeof(l));
	l.cfg = &cfg;
	l.chan = chan[1];
	l.loopback = 1;
	strcpy(l.rip, "127.0.0.1");
	io_init(&l.io, client[1], client[1]);
	io_set_timeouts(&l.io, 1, 1);
	pop3_login_main(&l);
	io_close(&l.io);
	drain(client[0]);
	drain(chan[0]);
	close(client[0]); close(client[1]); close(chan[0]); close(chan[1]);
	return 0;
}
