/*
 * log.c - logging for the monitor and forwarding for its children.
 *
 * Destinations (log_path): "" means the systemd journal when its socket
 * exists, else syslog; "syslog"; "/dev/stderr"; or a file that is opened
 * once, in append mode, by the process that calls log_open (the monitor).
 * Children never write a destination themselves: log_set_forward() makes
 * every record go to the monitor, which writes it with log_write().
 * Text is sanitized on the way out: control bytes become \xHH, so a
 * client-controlled string cannot break a line or forge a field.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "log.h"

enum dest { DEST_STDERR, DEST_SYSLOG, DEST_JOURNAL, DEST_FILE };

static struct {
	const char *ident;
	enum dest dest;
	int fd;				/* DEST_FILE, DEST_STDERR */
	char user[128];
	char rhost[64];
	int fwd_fd;
	void (*fwd)(int fd, int prio, const char *text);
	int in_fatal;
} lg = { "postern", DEST_STDERR, 2, "", "", -1, NULL, 0 };

int
log_open(const char *ident, const char *path)
{
	lg.ident = ident;
	if (path == NULL || *path == '\0') {
		if (access("/run/systemd/journal/socket", W_OK) == 0) {
			lg.dest = DEST_JOURNAL;
			return 0;
		}
		path = "syslog";
	}
	if (strcmp(path, "syslog") == 0) {
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
		lg.dest = DEST_SYSLOG;
	} else if (strcmp(path, "/dev/stderr") == 0) {
		lg.dest = DEST_STDERR;
		lg.fd = 2;
	} else {
		int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
		    O_NOFOLLOW, 0640);
		if (fd < 0)
			return -1;
		lg.dest = DEST_FILE;
		lg.fd = fd;
	}
	return 0;
}

int
log_escape(const char *s, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	if (outlen == 0)
		return len > 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int plain = c >= 0x20 && c < 0x7f && c != '<' && c != '>' &&
		    c != '\\';

		if (o + (plain ? 1 : 4) >= outlen)
			break;	/* never split an escape */
		if (plain) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return i < len;
}

void
log_set_user(const char *user)
{
	log_escape(user, strlen(user), lg.user, sizeof(lg.user));
}

void
log_set_rhost(const char *rip)
{
	snprintf(lg.rhost, sizeof(lg.rhost), "%s", rip);
}

void
log_set_forward(int fd, void (*fn)(int fd, int prio, const char *text))
{
	lg.fwd_fd = fd;
	lg.fwd = fn;
	if (lg.dest == DEST_FILE && lg.fd >= 0) {
		close(lg.fd);
		lg.fd = -1;
	}
}

/* Control bytes to \xHH; everything else (including UTF-8) as is. */
static void
sanitize(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (; *in && o + 4 < outlen; in++) {
		unsigned char c = (unsigned char)*in;

		if (c < 0x20 || c == 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

static void
write_line(int prio, const char *text)
{
	char line[LOG_MAX_TEXT + 128], stamp[32];
	time_t t = time(NULL);
	struct tm tm;
	int n;

	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s %s[%ld]: %s%s\n", stamp, lg.ident,
	    (long)getpid(), prio <= LOG_ERR ? "error: " :
	    prio == LOG_WARNING ? "warning: " : "", text);
	if (n > 0 && lg.fd >= 0)
		(void)write_all(lg.fd, line, (size_t)n < sizeof(line) ?
		    (size_t)n : sizeof(line) - 1);
}

void
log_write(int prio, const char *text)
{
	char clean[LOG_MAX_TEXT * 4 + 8];

	prio &= LOG_PRIMASK;
	sanitize(text, clean, sizeof(clean));
	switch (lg.dest) {
	case DEST_JOURNAL:
		sd_journal_send("MESSAGE=%s", clean, "PRIORITY=%d", prio,
		    "SYSLOG_IDENTIFIER=%s", lg.ident, "SYSLOG_FACILITY=%d",
		    LOG_MAIL >> 3, "POSTERN_USER=%s", lg.user,
		    "REMOTE_ADDR=%s", lg.rhost, NULL);
		break;
	case DEST_SYSLOG:
		syslog(prio, "%s", clean);
		break;
	case DEST_FILE:
	case DEST_STDERR:
		write_line(prio, clean);
		break;
	}
}

static void
vlog(int prio, const char *fmt, va_list ap)
{
	char text[LOG_MAX_TEXT + 1];
	int n = vsnprintf(text, sizeof(text), fmt, ap);

	if (n >= (int)sizeof(text))
		memcpy(text + sizeof(text) - 4, "...", 4);
	if (lg.fwd != NULL)
		lg.fwd(lg.fwd_fd, prio, text);
	else
		log_write(prio, text);
}

void
log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	if (!lg.in_fatal) {
		lg.in_fatal = 1;
		va_start(ap, fmt);
		vlog(LOG_ERR, fmt, ap);
		va_end(ap);
	}
	_exit(1);
}
