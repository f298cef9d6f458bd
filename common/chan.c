/*
 * chan.c - encoding and strict decoding of monitor messages (chan.h).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "chan.h"

static size_t
put_field(unsigned char *p, const char *s, size_t len)
{
	p[0] = (unsigned char)(len & 0xff);
	p[1] = (unsigned char)(len >> 8);
	memcpy(p + 2, s, len);
	return 2 + len;
}

/* Read a field of at most max bytes into out (NUL-terminated). */
static int
get_field(const unsigned char **p, const unsigned char *end, char *out,
    size_t max, size_t *len)
{
	size_t n;

	if (end - *p < 2)
		return -1;
	n = (size_t)(*p)[0] | (size_t)(*p)[1] << 8;
	*p += 2;
	if (n > max || (size_t)(end - *p) < n)
		return -1;
	memcpy(out, *p, n);
	out[n] = '\0';
	*len = n;
	*p += n;
	return 0;
}

static int
send_msg(int fd, const unsigned char *p, size_t n, int pass_fd)
{
	struct iovec iov = { (void *)p, n };
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } cm;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r;

	if (pass_fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.b;
		mh.msg_controllen = sizeof(cm.b);
		cm.h.cmsg_len = CMSG_LEN(sizeof(int));
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(&cm.h), &pass_fd, sizeof(int));
	}
	do
		r = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)n ? 0 : -1;
}

int
chan_send_auth(int fd, const struct chan_auth *a)
{
	unsigned char msg[CHAN_MAX_MSG];
	size_t n = 0;
	int r;

	if (a->azlen > AUTH_USER_MAX || a->ulen > AUTH_USER_MAX ||
	    a->plen > AUTH_PASS_MAX)
		return -1;
	msg[n++] = CHAN_AUTH;
	msg[n++] = a->mech;
	msg[n++] = a->tls;
	n += put_field(msg + n, a->authzid, a->azlen);
	n += put_field(msg + n, a->user, a->ulen);
	n += put_field(msg + n, a->pass, a->plen);
	r = send_msg(fd, msg, n, -1);
	explicit_bzero(msg, sizeof(msg));
	return r;
}

int
chan_send_reply(int fd, uint8_t result, int pass_fd)
{
	unsigned char msg[2] = { CHAN_REPLY, result };

	return send_msg(fd, msg, sizeof(msg), pass_fd);
}

int
chan_send_log(int fd, int prio, const char *text)
{
	unsigned char msg[2 + 2 + LOG_MAX_TEXT];
	size_t len = strnlen(text, LOG_MAX_TEXT);

	msg[0] = CHAN_LOG;
	msg[1] = (unsigned char)(prio & LOG_PRIMASK);
	return send_msg(fd, msg, 2 + put_field(msg + 2, text, len), -1);
}

void
chan_log_forward(int fd, int prio, const char *text)
{
	(void)chan_send_log(fd, prio, text);
}

static int
decode_auth(const unsigned char *p, const unsigned char *end,
    struct chan_auth *a)
{
	if (end - p < 2)
		return -1;
	a->mech = p[0];
	a->tls = p[1];
	p += 2;
	if (a->mech < MECH_PLAIN || a->mech > MECH_USER || a->tls > 1)
		return -1;
	if (get_field(&p, end, a->authzid, AUTH_USER_MAX, &a->azlen) < 0 ||
	    get_field(&p, end, a->user, AUTH_USER_MAX, &a->ulen) < 0 ||
	    get_field(&p, end, a->pass, AUTH_PASS_MAX, &a->plen) < 0)
		return -1;
	return p == end ? 0 : -1;
}

int
chan_decode(const unsigned char *p, size_t n, struct chan_msg *m)
{
	const unsigned char *end = p + n;
	size_t len;

	if (n < 2)
		return -1;
	m->type = p[0];
	switch (m->type) {
	case CHAN_AUTH:
		return decode_auth(p + 1, end, &m->u.auth);
	case CHAN_REPLY:
		m->u.result = p[1];
		return n == 2 && p[1] <= AUTH_TOOMANY ? 0 : -1;
	case CHAN_LOG:
		m->u.log.prio = p[1];
		p += 2;
		if (m->u.log.prio > LOG_DEBUG || get_field(&p, end,
		    m->u.log.text, LOG_MAX_TEXT, &len) < 0 || p != end)
			return -1;
		/* a NUL inside would cut the text; refuse it */
		return memchr(m->u.log.text, '\0', len) ? -1 : 0;
	}
	return -1;
}

/* Room for more descriptors than we accept, so that extra ones arrive
 * (and get closed) instead of being silently cut off by the kernel. */
#define CHAN_MAX_FDS 8

/* Take at most one passed fd out of the control data; any other
 * descriptor, or anything else in the control data, is closed and the
 * message refused. */
static int
take_fd(struct msghdr *mh, int *fd)
{
	struct cmsghdr *c;
	int n = 0, bad = (mh->msg_flags & (MSG_CTRUNC | MSG_TRUNC)) != 0;

	*fd = -1;
	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t k, count;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			bad = 1;
			continue;
		}
		count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < count; k++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
			if (n++ == 0)
				*fd = got;
			else
				close(got);
		}
	}
	if (bad || n > 1) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -1;
	}
	return 0;
}

int
chan_recv(int fd, struct chan_msg *m)
{
	unsigned char msg[CHAN_MAX_MSG + 1];
	union { struct cmsghdr h; char b[CMSG_SPACE(CHAN_MAX_FDS * sizeof(int))]; } cm;
	struct iovec iov = { msg, sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cm.b, .msg_controllen = sizeof(cm.b) };
	ssize_t n;
	int r;

	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n < 0)
		return errno == ECONNRESET ? 0 : -1;
	if (take_fd(&mh, &m->fd) < 0)
		return -1;
	r = chan_decode(msg, (size_t)n, m);
	explicit_bzero(msg, sizeof(msg));
	/* only an AUTH_OK reply carries a descriptor */
	if (r == 0 && m->fd >= 0 && !(m->type == CHAN_REPLY &&
	    m->u.result == AUTH_OK))
		r = -1;
	if (r < 0 && m->fd >= 0) {
		close(m->fd);
		m->fd = -1;
	}
	return r < 0 ? -1 : 1;
}
