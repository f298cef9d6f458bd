/*
 * test_chan.c - the monitor's message format (common/chan.c): AUTH,
 * REPLY and LOG round trips through a real SOCK_SEQPACKET socketpair,
 * descriptor passing, and the strict decoder (SECURITY.md G3): every
 * truncation, the field limits at limit and limit + 1, trailing bytes,
 * unknown types, out-of-range values, NUL in LOG text, and descriptors
 * that arrive where none belongs (they must be closed, not leaked).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "chan.h"
#include "tap.h"

static int
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the DIR's own descriptor */
}

static void
pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("socketpair");
		exit(2);
	}
}

/* Send raw bytes (and optionally fds) as one datagram. */
static void
send_raw(int fd, const void *p, size_t n, const int *fds, int nfds)
{
	struct iovec iov = { (void *)p, n };
	union { struct cmsghdr h; char b[CMSG_SPACE(4 * sizeof(int))]; } cm;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds > 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.b;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		cm.h.cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(&cm.h), fds, (size_t)nfds * sizeof(int));
	}
	if (sendmsg(fd, &mh, 0) != (ssize_t)n) {
		perror("sendmsg");
		exit(2);
	}
}

/* Build an AUTH datagram by hand; field lengths as given. */
static size_t
build_auth(unsigned char *p, unsigned mech, unsigned tls,
    const char *az, size_t azlen, const char *u, size_t ulen,
    const char *pw, size_t plen)
{
	size_t n = 0;

	p[n++] = CHAN_AUTH;
	p[n++] = (unsigned char)mech;
	p[n++] = (unsigned char)tls;
	p[n++] = (unsigned char)(azlen & 0xff);
	p[n++] = (unsigned char)(azlen >> 8);
	memcpy(p + n, az, azlen);
	n += azlen;
	p[n++] = (unsigned char)(ulen & 0xff);
	p[n++] = (unsigned char)(ulen >> 8);
	memcpy(p + n, u, ulen);
	n += ulen;
	p[n++] = (unsigned char)(plen & 0xff);
	p[n++] = (unsigned char)(plen >> 8);
	memcpy(p + n, pw, plen);
	n += plen;
	return n;
}

static void
fill_auth(struct chan_auth *a, int mech, int tls, const char *az,
    const char *u, size_t ulen, const char *pw, size_t plen)
{
	memset(a, 0, sizeof(*a));
	a->mech = (uint8_t)mech;
	a->tls = (uint8_t)tls;
	a->azlen = strlen(az);
	memcpy(a->authzid, az, a->azlen);
	a->ulen = ulen;
	memcpy(a->user, u, ulen);
	a->plen = plen;
	memcpy(a->pass, pw, plen);
}

static void
test_auth_roundtrip(void)
{
	int sv[2];
	struct chan_auth a;
	struct chan_msg m;
	static char user[AUTH_USER_MAX + 2], pass[AUTH_PASS_MAX + 2];

	pair(sv);
	fill_auth(&a, MECH_PLAIN, 1, "", "alice", 5, "secret", 6);
	tap_is_int(chan_send_auth(sv[0], &a), 0, "send AUTH");
	memset(&m, 0x55, sizeof(m));
	tap_is_int(chan_recv(sv[1], &m), 1, "receive AUTH");
	tap_is_int(m.type, CHAN_AUTH, "type AUTH");
	tap_is_int(m.u.auth.mech, MECH_PLAIN, "mech PLAIN");
	tap_is_int(m.u.auth.tls, 1, "tls flag");
	tap_is_mem(m.u.auth.authzid, m.u.auth.azlen, "", 0, "empty authzid");
	tap_is_mem(m.u.auth.user, m.u.auth.ulen, "alice", 5, "user");
	tap_is_mem(m.u.auth.pass, m.u.auth.plen, "secret", 6, "password");
	tap_is_int(m.fd, -1, "no descriptor with AUTH");

	/* bytes the monitor must judge (not the transport): passed intact */
	fill_auth(&a, MECH_USER, 0, "bob", "a\tb\r\n", 5,
	    "\tmaster_user=root\tskip_password_check=1", 39);
	tap_is_int(chan_send_auth(sv[0], &a), 0, "send AUTH with control bytes");
	tap_is_int(chan_recv(sv[1], &m), 1, "receive it");
	tap_is_int(m.u.auth.mech, MECH_USER, "mech USER");
	tap_is_int(m.u.auth.tls, 0, "tls 0");
	tap_is_mem(m.u.auth.authzid, m.u.auth.azlen, "bob", 3, "authzid");
	tap_is_mem(m.u.auth.user, m.u.auth.ulen, "a\tb\r\n", 5,
	    "user bytes kept exactly (CVE-2008-1218 is a length-prefixed non-issue)");
	tap_is_mem(m.u.auth.pass, m.u.auth.plen,
	    "\tmaster_user=root\tskip_password_check=1", 39, "password kept exactly");

	/* limits: user 255 ok, 256 refused by the sender; password 1024/1025 */
	memset(user, 'u', sizeof(user));
	memset(pass, 'p', sizeof(pass));
	fill_auth(&a, MECH_LOGIN, 1, "", user, AUTH_USER_MAX, pass, AUTH_PASS_MAX);
	memcpy(a.authzid, user, AUTH_USER_MAX);
	a.azlen = AUTH_USER_MAX;
	tap_is_int(chan_send_auth(sv[0], &a), 0,
	    "send AUTH with authzid 255, user 255, password 1024 bytes");
	tap_is_int(chan_recv(sv[1], &m), 1, "the largest AUTH is received");
	tap_ok(m.u.auth.ulen == 255 && m.u.auth.plen == 1024 &&
	    m.u.auth.azlen == 255 && memcmp(m.u.auth.pass, pass, 1024) == 0,
	    "largest fields intact");
	a.ulen = AUTH_USER_MAX + 1;
	tap_is_int(chan_send_auth(sv[0], &a), -1, "sender refuses user of 256");
	a.ulen = 5;
	a.azlen = AUTH_USER_MAX + 1;
	tap_is_int(chan_send_auth(sv[0], &a), -1, "sender refuses authzid of 256");
	a.azlen = 0;
	a.plen = AUTH_PASS_MAX + 1;
	tap_is_int(chan_send_auth(sv[0], &a), -1, "sender refuses password of 1025");
	close(sv[0]);
	tap_is_int(chan_recv(sv[1], &m), 0,
	    "nothing was sent by the refused calls; then peer closed -> 0");
	close(sv[1]);
}

static void
test_reply_and_fd(void)
{
	int sv[2], p[2], before;
	struct chan_msg m;
	struct stat a, b;

	pair(sv);
	tap_is_int(chan_send_reply(sv[0], AUTH_FAIL, -1), 0, "send REPLY FAIL");
	tap_is_int(chan_recv(sv[1], &m), 1, "receive REPLY");
	tap_ok(m.type == CHAN_REPLY && m.u.result == AUTH_FAIL && m.fd == -1,
	    "REPLY FAIL, no fd");
	chan_send_reply(sv[0], AUTH_TEMPFAIL, -1);
	tap_ok(chan_recv(sv[1], &m) == 1 && m.u.result == AUTH_TEMPFAIL,
	    "REPLY TEMPFAIL");
	chan_send_reply(sv[0], AUTH_TOOMANY, -1);
	tap_ok(chan_recv(sv[1], &m) == 1 && m.u.result == AUTH_TOOMANY,
	    "REPLY TOOMANY");

	if (pipe(p) < 0)
		exit(2);
	tap_is_int(chan_send_reply(sv[0], AUTH_OK, p[1]), 0,
	    "send REPLY OK with a descriptor");
	tap_is_int(chan_recv(sv[1], &m), 1, "receive REPLY OK");
	tap_ok(m.u.result == AUTH_OK && m.fd >= 0, "AUTH_OK carries a descriptor");
	fstat(p[1], &a);
	if (m.fd >= 0) {
		fstat(m.fd, &b);
		tap_ok(a.st_ino == b.st_ino && a.st_dev == b.st_dev,
		    "it is the descriptor that was sent");
		tap_ok(fcntl(m.fd, F_GETFD) & FD_CLOEXEC,
		    "received descriptor is close-on-exec");
		close(m.fd);
	} else {
		tap_ok(0, "it is the descriptor that was sent");
		tap_ok(0, "received descriptor is close-on-exec");
	}
	chan_send_reply(sv[0], AUTH_OK, -1);
	tap_ok(chan_recv(sv[1], &m) == 1 && m.u.result == AUTH_OK && m.fd == -1,
	    "AUTH_OK without a descriptor decodes (fd -1)");

	/* a descriptor with a non-OK reply: rejected and closed */
	before = open_fds();
	tap_is_int(chan_send_reply(sv[0], AUTH_FAIL, p[1]), 0,
	    "send REPLY FAIL with a descriptor");
	tap_is_int(chan_recv(sv[1], &m), -1, "fd with a non-OK reply is rejected");
	tap_is_int(open_fds(), before, "and the passed fd was closed (no leak)");
	tap_is_int(m.fd, -1, "m.fd is -1 after rejection");

	/* a descriptor with AUTH or LOG */
	{
		unsigned char msg[64];
		size_t n = build_auth(msg, MECH_PLAIN, 0, "", 0, "a", 1, "b", 1);
		unsigned char logmsg[] = { CHAN_LOG, 6, 2, 0, 'h', 'i' };

		send_raw(sv[0], msg, n, &p[1], 1);
		tap_is_int(chan_recv(sv[1], &m), -1, "fd with AUTH is rejected");
		tap_is_int(open_fds(), before, "and closed");
		send_raw(sv[0], logmsg, sizeof(logmsg), &p[1], 1);
		tap_is_int(chan_recv(sv[1], &m), -1, "fd with LOG is rejected");
		tap_is_int(open_fds(), before, "and closed");
	}
	/* two descriptors in one message */
	{
		unsigned char msg[2] = { CHAN_REPLY, AUTH_OK };
		int two[2] = { p[0], p[1] };

		send_raw(sv[0], msg, 2, two, 2);
		tap_is_int(chan_recv(sv[1], &m), -1, "two descriptors are rejected");
		tap_is_int(open_fds(), before, "and both closed");
	}
	/* the connection still works after a rejected message */
	chan_send_reply(sv[0], AUTH_FAIL, -1);
	tap_ok(chan_recv(sv[1], &m) == 1 && m.u.result == AUTH_FAIL,
	    "channel usable after rejections");
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

static void
test_log(void)
{
	int sv[2];
	struct chan_msg m;
	char big[LOG_MAX_TEXT + 100];

	pair(sv);
	tap_is_int(chan_send_log(sv[0], LOG_INFO, "hello, monitor"), 0, "send LOG");
	tap_is_int(chan_recv(sv[1], &m), 1, "receive LOG");
	tap_ok(m.type == CHAN_LOG && m.u.log.prio == LOG_INFO, "LOG type and prio");
	tap_is_str(m.u.log.text, "hello, monitor", "LOG text");
	chan_send_log(sv[0], LOG_ERR, "");
	tap_ok(chan_recv(sv[1], &m) == 1 && m.u.log.text[0] == '\0' &&
	    m.u.log.prio == LOG_ERR, "empty LOG text");
	chan_log_forward(sv[0], LOG_DEBUG, "via forwarder\n\x01");
	tap_ok(chan_recv(sv[1], &m) == 1 && m.u.log.prio == LOG_DEBUG &&
	    strcmp(m.u.log.text, "via forwarder\n\x01") == 0,
	    "chan_log_forward sends a LOG (control bytes are the writer's job)");
	memset(big, 'L', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	tap_is_int(chan_send_log(sv[0], LOG_NOTICE, big), 0, "send overlong LOG");
	tap_ok(chan_recv(sv[1], &m) == 1 &&
	    strlen(m.u.log.text) == LOG_MAX_TEXT,
	    "overlong LOG text is cut to LOG_MAX_TEXT");
	tap_is_int(chan_send_log(sv[0], LOG_INFO | LOG_MAIL, "fac"), 0,
	    "LOG with a facility bit");
	tap_ok(chan_recv(sv[1], &m) == 1 && m.u.log.prio == LOG_INFO,
	    "facility bits are masked off");
	close(sv[0]);
	close(sv[1]);
}

static void
test_decoder(void)
{
	static unsigned char msg[CHAN_MAX_MSG + 16];
	static char user[300], pass[1100];
	struct chan_msg m;
	size_t n, i;
	int bad;

	memset(user, 'u', sizeof(user));
	memset(pass, 'p', sizeof(pass));

	n = build_auth(msg, MECH_PLAIN, 1, "az", 2, "alice", 5, "pw", 2);
	tap_is_int(chan_decode(msg, n, &m), 0, "hand-built AUTH decodes");
	for (bad = 0, i = 0; i < n; i++)
		if (chan_decode(msg, i, &m) != -1) {
			bad++;
			tap_diag("truncated AUTH of %zu bytes accepted", i);
		}
	tap_is_int(bad, 0, "every truncation of AUTH is rejected");
	msg[n] = 0;
	tap_is_int(chan_decode(msg, n + 1, &m), -1, "AUTH with a trailing byte");
	msg[n] = 'x';
	tap_is_int(chan_decode(msg, n + 5, &m), -1, "AUTH with trailing bytes");

	for (unsigned mech = 0; mech < 256; mech++) {
		int want = mech >= MECH_PLAIN && mech <= MECH_USER ? 0 : -1;

		n = build_auth(msg, mech, 0, "", 0, "a", 1, "b", 1);
		if (chan_decode(msg, n, &m) != want) {
			tap_ok(0, "mech %u decodes as %d", mech, want);
			goto mech_done;
		}
	}
	tap_ok(1, "mech values outside PLAIN..USER (0, 4..255) are rejected");
mech_done:
	n = build_auth(msg, MECH_PLAIN, 2, "", 0, "a", 1, "b", 1);
	tap_is_int(chan_decode(msg, n, &m), -1, "tls flag 2 is rejected");

	n = build_auth(msg, MECH_PLAIN, 0, "", 0, user, 255, "b", 1);
	tap_is_int(chan_decode(msg, n, &m), 0, "user of 255 bytes accepted");
	n = build_auth(msg, MECH_PLAIN, 0, "", 0, user, 256, "b", 1);
	tap_is_int(chan_decode(msg, n, &m), -1, "user of 256 bytes rejected");
	n = build_auth(msg, MECH_PLAIN, 0, user, 255, "a", 1, "b", 1);
	tap_is_int(chan_decode(msg, n, &m), 0, "authzid of 255 bytes accepted");
	n = build_auth(msg, MECH_PLAIN, 0, user, 256, "a", 1, "b", 1);
	tap_is_int(chan_decode(msg, n, &m), -1, "authzid of 256 bytes rejected");
	n = build_auth(msg, MECH_PLAIN, 0, "", 0, "a", 1, pass, 1024);
	tap_is_int(chan_decode(msg, n, &m), 0, "password of 1024 bytes accepted");
	tap_is_int((long long)m.u.auth.plen, 1024, "password length 1024");
	n = build_auth(msg, MECH_PLAIN, 0, "", 0, "a", 1, pass, 1025);
	tap_is_int(chan_decode(msg, n, &m), -1, "password of 1025 bytes rejected");
	/* a length field that points past the datagram */
	n = build_auth(msg, MECH_PLAIN, 0, "", 0, "a", 1, "b", 1);
	msg[n - 3] = 2;		/* password length 2, one byte present */
	tap_is_int(chan_decode(msg, n, &m), -1, "field length past the end");
	msg[n - 3] = 1;
	msg[n - 2] = 0x01;	/* high byte: 257 */
	tap_is_int(chan_decode(msg, n, &m), -1, "field length high byte honoured");

	/* types */
	{
		unsigned char t[4] = { 0, 0, 0, 0 };

		tap_is_int(chan_decode(t, 0, &m), -1, "empty datagram");
		t[0] = CHAN_REPLY;
		tap_is_int(chan_decode(t, 1, &m), -1, "one-byte REPLY");
		for (unsigned ty = 0; ty < 256; ty++) {
			if (ty == CHAN_AUTH || ty == CHAN_REPLY || ty == CHAN_LOG)
				continue;
			t[0] = (unsigned char)ty;
			if (chan_decode(t, 2, &m) != -1 ||
			    chan_decode(t, 4, &m) != -1) {
				tap_ok(0, "unknown type %u rejected", ty);
				goto types_done;
			}
		}
		tap_ok(1, "every unknown type (0, 4..255) is rejected");
types_done:
		t[0] = CHAN_REPLY;
		t[1] = AUTH_OK;
		tap_is_int(chan_decode(t, 2, &m), 0, "REPLY OK decodes");
		tap_is_int(chan_decode(t, 3, &m), -1, "REPLY with a trailing byte");
		t[1] = AUTH_TOOMANY;
		tap_is_int(chan_decode(t, 2, &m), 0, "REPLY TOOMANY decodes");
		t[1] = AUTH_TOOMANY + 1;
		tap_is_int(chan_decode(t, 2, &m), -1, "REPLY result out of range");
		t[1] = 255;
		tap_is_int(chan_decode(t, 2, &m), -1, "REPLY result 255");
	}
	/* LOG */
	{
		unsigned char l[2 + 2 + LOG_MAX_TEXT + 8];
		size_t len;

		l[0] = CHAN_LOG;
		l[1] = LOG_INFO;
		l[2] = 3;
		l[3] = 0;
		memcpy(l + 4, "a\0b", 3);
		tap_is_int(chan_decode(l, 7, &m), -1, "LOG with NUL in the text");
		memcpy(l + 4, "abc", 3);
		tap_is_int(chan_decode(l, 7, &m), 0, "LOG without NUL decodes");
		tap_is_str(m.u.log.text, "abc", "LOG text");
		tap_is_int(chan_decode(l, 8, &m), -1, "LOG with a trailing byte");
		tap_is_int(chan_decode(l, 6, &m), -1, "truncated LOG text");
		tap_is_int(chan_decode(l, 3, &m), -1, "LOG with half a length");
		tap_is_int(chan_decode(l, 2, &m), -1, "LOG without a text field");
		l[1] = LOG_DEBUG + 1;
		tap_is_int(chan_decode(l, 7, &m), -1, "LOG priority out of range");
		l[1] = LOG_INFO;
		len = LOG_MAX_TEXT;
		l[2] = (unsigned char)(len & 0xff);
		l[3] = (unsigned char)(len >> 8);
		memset(l + 4, 't', len + 1);
		tap_is_int(chan_decode(l, 4 + len, &m), 0, "LOG text of LOG_MAX_TEXT");
		len++;
		l[2] = (unsigned char)(len & 0xff);
		l[3] = (unsigned char)(len >> 8);
		tap_is_int(chan_decode(l, 4 + len, &m), -1,
		    "LOG text of LOG_MAX_TEXT + 1 rejected");
	}
}

/* chan_recv on datagrams that are too big or malformed. */
static void
test_recv_bad(void)
{
	int sv[2], before;
	struct chan_msg m;
	static unsigned char big[CHAN_MAX_MSG + 100];

	pair(sv);
	before = open_fds();
	memset(big, 'x', sizeof(big));
	big[0] = CHAN_LOG;
	send_raw(sv[0], big, sizeof(big), NULL, 0);
	tap_is_int(chan_recv(sv[1], &m), -1, "datagram larger than any message");
	big[0] = 9;
	send_raw(sv[0], big, 2, NULL, 0);
	tap_is_int(chan_recv(sv[1], &m), -1, "unknown type through chan_recv");
	{
		unsigned char msg[2048];
		static char pass[1100];
		size_t n;

		memset(pass, 'p', sizeof(pass));
		n = build_auth(msg, MECH_PLAIN, 0, "", 0, "alice", 5, pass, 1025);
		send_raw(sv[0], msg, n, NULL, 0);
		tap_is_int(chan_recv(sv[1], &m), -1,
		    "AUTH with a 1025-byte password through chan_recv");
	}
	tap_is_int(open_fds(), before, "no descriptors leaked");
	close(sv[0]);
	tap_is_int(chan_recv(sv[1], &m), 0, "peer closed -> 0");
	close(sv[1]);
}

int
main(void)
{
	test_auth_roundtrip();
	test_reply_and_fd();
	test_log();
	test_decoder();
	test_recv_bad();
	return tap_done();
}
