/*
 * idle.c - IDLE (RFC 2177): after "+ idling" the client waits for
 * untagged updates until it sends "DONE".  Changes to the selected
 * folder are seen through store_notify_fd() (inotify) as they happen,
 * or by looking every few seconds when there is no notify descriptor.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <strings.h>

#include "imap.h"
#include "log.h"

/* Without inotify, look for changes this often (ms). */
#define IDLE_POLL_MS 2000
/* With inotify, still look now and then: a change that left no event
 * (an NFS-mounted mailbox, say) is noticed anyway. */
#define IDLE_RESYNC_MS 30000
/* Refresh locks (store_touch) at least this often; mbox dot-locks older
 * than 5 minutes may be broken as stale. */
#define IDLE_TOUCH_MS (120 * 1000)

/* The idle timeout applies to IDLE too (RFC 2177 asks clients to
 * re-issue it every 29 minutes). */
static int64_t
idle_deadline(const struct imap *im)
{
	return now_ms() + (int64_t)im->cfg->imap_idle_timeout * 1000;
}

/*
 * Wait until the client sent something (1), the folder may have changed
 * (0), or the deadline passed (-1).
 */
static int
idle_wait(struct imap *im, int nfd, int64_t deadline)
{
	struct pollfd pfd[2] = {
		{ im->io->fd_in, POLLIN, 0 }, { nfd, POLLIN, 0 },
	};
	int64_t left = deadline - now_ms();
	int period = nfd >= 0 ? IDLE_RESYNC_MS : IDLE_POLL_MS, r;

	if (im->sel == NULL)
		period = IDLE_TOUCH_MS;
	if (io_pending(im->io) > 0)
		return 1;
	if (left <= 0)
		return -1;
	r = poll(pfd, nfd >= 0 ? 2 : 1, (int)(left < period ? left : period));
	if (r < 0 && errno != EINTR)
		return 1;	/* let the read report the error */
	if (r > 0 && pfd[0].revents)
		return 1;
	return 0;
}

/* The client's line ending IDLE: "DONE" (any case, RFC 2177 3). */
static enum cmd_result
idle_done(struct imap *im, struct imap_cmd *c)
{
	char line[64];
	size_t len;
	enum io_status st = io_readline(im->io, line, sizeof(line) - 1, &len);

	if (st == IO_TOOLONG) {
		/* the skipped line may have announced a literal whose bytes
		 * would be read as commands (parse.c too_long) */
		io_puts(im->io, "* BYE [TOOBIG] Line too long.\r\n");
		return CMD_CLOSE;
	}
	if (st != IO_OK)
		return CMD_CLOSE;
	if (len != 4 || strncasecmp(line, "DONE", 4) != 0)
		return cmd_bad(c, "Expected DONE.");
	return cmd_ok(c, "Idle completed.");
}

enum cmd_result
cmd_idle(struct imap *im, struct imap_cmd *c)
{
	int64_t deadline = idle_deadline(im);
	int nfd, w;

	if (c->args != NULL && c->args->type != IMAP_ARG_EOL)
		return cmd_bad(c, "Unexpected arguments.");
	nfd = im->sel != NULL ? store_notify_fd(im->sel) : -1;
	io_puts(im->io, "+ idling\r\n");
	imap_sync(im, 0);
	for (;;) {
		if (im->logout || io_flush(im->io) != IO_OK)
			return CMD_CLOSE;
		if ((w = idle_wait(im, nfd, deadline)) > 0)
			return idle_done(im, c);
		if (w < 0) {
			io_puts(im->io, "* BYE Disconnected for inactivity.\r\n");
			return CMD_CLOSE;
		}
		if (im->sel != NULL) {
			store_touch(im->sel);
			imap_sync(im, 0);
		}
	}
}
