/*
 * addr.c - see addr.h.  IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, what
 * a dual-stack socket reports for IPv4 clients) are shown as IPv4.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"

static void
format(const struct sockaddr_storage *ss, char *ip, size_t iplen,
    unsigned *port, int *loop)
{
	*loop = 0;
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		struct in_addr v4;

		*port = ntohs(s6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			memcpy(&v4, &s6->sin6_addr.s6_addr[12], 4);
			inet_ntop(AF_INET, &v4, ip, (socklen_t)iplen);
			*loop = (ntohl(v4.s_addr) >> 24) == 127;
		} else {
			inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)iplen);
			*loop = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
		}
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		*port = ntohs(s4->sin_port);
		inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)iplen);
		*loop = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	} else {
		snprintf(ip, iplen, "unknown");
		*port = 0;
	}
}

void
conn_addresses(int fd, struct conninfo *ci)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int loop;

	memset(ci, 0, sizeof(*ci));
	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		ss.ss_family = AF_UNSPEC;
	format(&ss, ci->rip, sizeof(ci->rip), &ci->rport, &ci->loopback);
	len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		ss.ss_family = AF_UNSPEC;
	format(&ss, ci->lip, sizeof(ci->lip), &ci->lport, &loop);
}
