/*
 * session.c - POP3 TRANSACTION and UPDATE states (RFC 1939 sections 5-6),
 * in the mail-session process as the user.
 *
 * The maildrop is a snapshot taken at login (store.h): message numbers
 * never change during the session, mail that arrives meanwhile waits for
 * the next one.  DELE only marks; the marked messages are removed at QUIT
 * and only then, so a dropped connection removes nothing.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "pop3.h"

struct pop3 {
	struct session *s;
	struct store *st;
	unsigned count;
	unsigned char *del;	/* marked for deletion */
	unsigned ndel;
	unsigned retr, top;
	uint64_t retr_bytes;
	int bad;
};

enum next { NEXT_OK, NEXT_BAD, NEXT_CLOSE };

static void
reply(struct pop3 *p, const char *s)
{
	io_puts(&p->s->io, s);
	io_puts(&p->s->io, "\r\n");
	io_flush(&p->s->io);
}

/* Parse a message number; replies and returns 0 when it is not usable. */
static unsigned
msgno(struct pop3 *p, const char *arg, int allow_deleted)
{
	uint64_t n;

	if (parse_u64(arg, p->count ? p->count : 1, &n) < 0 || n == 0) {
		if (parse_u64(arg, UINT32_MAX, &n) == 0 && n > 0)
			reply(p, "-ERR No such message.");
		else
			reply(p, "-ERR Invalid message number.");
		return 0;
	}
	if (n > p->count) {
		reply(p, "-ERR No such message.");
		return 0;
	}
	if (!allow_deleted && p->del[n - 1]) {
		reply(p, "-ERR Message is deleted.");
		return 0;
	}
	return (unsigned)n;
}

/* Sum of the sizes of the messages not marked; -1 if one is unreadable. */
static int64_t
total_size(struct pop3 *p, unsigned *n)
{
	int64_t sum = 0;

	*n = 0;
	for (unsigned i = 0; i < p->count; i++) {
		int64_t sz;
		if (p->del[i])
			continue;
		if ((sz = store_wire_size(p->st, i)) < 0)
			return -1;
		sum += sz;
		(*n)++;
	}
	return sum;
}

static enum next
cmd_stat(struct pop3 *p, char *arg)
{
	unsigned n;
	int64_t size = total_size(p, &n);

	(void)arg;
	if (size < 0) {
		reply(p, "-ERR [SYS/TEMP] Cannot read the mailbox.");
		return NEXT_OK;
	}
	io_printf(&p->s->io, "+OK %u %lld\r\n", n, (long long)size);
	io_flush(&p->s->io);
	return NEXT_OK;
}

static enum next
cmd_list(struct pop3 *p, char *arg)
{
	unsigned n, i;
	int64_t size;

	if (*arg) {
		if ((i = msgno(p, arg, 0)) == 0)
			return NEXT_OK;
		if ((size = store_wire_size(p->st, i - 1)) < 0) {
			reply(p, "-ERR [SYS/TEMP] Cannot read the message.");
			return NEXT_OK;
		}
		io_printf(&p->s->io, "+OK %u %lld\r\n", i, (long long)size);
		io_flush(&p->s->io);
		return NEXT_OK;
	}
	if ((size = total_size(p, &n)) < 0) {
		reply(p, "-ERR [SYS/TEMP] Cannot read the mailbox.");
		return NEXT_OK;
	}
	io_printf(&p->s->io, "+OK %u messages (%lld octets)\r\n", n,
	    (long long)size);
	for (i = 0; i < p->count; i++)
		if (!p->del[i])
			io_printf(&p->s->io, "%u %lld\r\n", i + 1,
			    (long long)store_wire_size(p->st, i));
	reply(p, ".");
	return NEXT_OK;
}

/* RETR and TOP.  The message is opened before +OK, so one that another
 * program removed meanwhile gets -ERR; a read error after +OK can only
 * be answered by closing the connection (RFC 1939 has no other way). */
static enum next
send_msg(struct pop3 *p, unsigned i, long lines)
{
	int64_t size = store_wire_size(p->st, i - 1), sent;
	struct msg_stream *ms;

	if (size < 0 || store_msg_open(p->st, i - 1, &ms) != STORE_OK) {
		reply(p, "-ERR [SYS/TEMP] The message is gone or unreadable.");
		return NEXT_OK;
	}
	io_printf(&p->s->io, "+OK %lld octets\r\n", (long long)size);
	sent = pop3_send_message(&p->s->io, ms, lines);
	io_flush(&p->s->io);
	if (sent < 0) {
		log_msg(LOG_ERR, "message %u became unreadable while sending", i);
		return NEXT_CLOSE;
	}
	if (lines < 0 && sent != size)
		log_msg(LOG_ERR, "message %u: sent %lld octets, LIST said %lld",
		    i, (long long)sent, (long long)size);
	if (lines < 0) {
		p->retr++;
		p->retr_bytes += (uint64_t)sent;
	} else {
		p->top++;
	}
	return NEXT_OK;
}

static enum next
cmd_retr(struct pop3 *p, char *arg)
{
	unsigned i = msgno(p, arg, 0);

	if (i == 0)
		return NEXT_OK;
	return send_msg(p, i, -1);
}

static enum next
cmd_top(struct pop3 *p, char *arg)
{
	char *sp = strchr(arg, ' ');
	uint64_t lines;
	unsigned i;

	if (sp == NULL || parse_u64(sp + 1, 0x7fffffff, &lines) < 0) {
		reply(p, "-ERR Usage: TOP <message> <lines>");
		return NEXT_BAD;
	}
	*sp = '\0';
	if ((i = msgno(p, arg, 0)) == 0)
		return NEXT_OK;
	return send_msg(p, i, (long)lines);
}

static enum next
cmd_dele(struct pop3 *p, char *arg)
{
	unsigned i = msgno(p, arg, 0);

	if (i == 0)
		return NEXT_OK;
	p->del[i - 1] = 1;
	p->ndel++;
	reply(p, "+OK Marked to be deleted.");
	return NEXT_OK;
}

static enum next
cmd_noop(struct pop3 *p, char *arg)
{
	(void)arg;
	reply(p, "+OK");
	return NEXT_OK;
}

static enum next
cmd_rset(struct pop3 *p, char *arg)
{
	(void)arg;
	memset(p->del, 0, p->count);
	p->ndel = 0;
	reply(p, "+OK");
	return NEXT_OK;
}

static void
uidl_line(struct pop3 *p, unsigned i, const char *prefix)
{
	char id[POP3_UIDL_MAX + 1];
	const char *err = NULL;

	if (pop3_uidl(p->s->cfg->pop3_uidl_format, p->st, i - 1, id,
	    sizeof(id), &err) < 0) {
		log_msg(LOG_ERR, "pop3_uidl_format %s: %s",
		    p->s->cfg->pop3_uidl_format, err);
		snprintf(id, sizeof(id), "%08X%08X", store_uid(p->st, i - 1),
		    store_uidvalidity(p->st));
	}
	io_printf(&p->s->io, "%s%u %s\r\n", prefix, i, id);
}

static enum next
cmd_uidl(struct pop3 *p, char *arg)
{
	unsigned i;

	if (*arg) {
		if ((i = msgno(p, arg, 0)) != 0)
			uidl_line(p, i, "+OK ");
		io_flush(&p->s->io);
		return NEXT_OK;
	}
	io_puts(&p->s->io, "+OK\r\n");
	for (i = 1; i <= p->count; i++)
		if (!p->del[i - 1])
			uidl_line(p, i, "");
	reply(p, ".");
	return NEXT_OK;
}

static enum next
cmd_capa(struct pop3 *p, char *arg)
{
	(void)arg;
	io_puts(&p->s->io, "+OK Capability list follows\r\nCAPA\r\nTOP\r\n"
	    "UIDL\r\nRESP-CODES\r\nPIPELINING\r\nIMPLEMENTATION postern\r\n");
	reply(p, ".");
	return NEXT_OK;
}

/* QUIT: the UPDATE state (RFC 1939 section 6). */
static enum next
cmd_quit(struct pop3 *p, char *arg)
{
	char err[256];

	(void)arg;
	if (p->ndel > 0 && store_expunge(p->st, p->del, err, sizeof(err)) !=
	    STORE_OK) {
		log_msg(LOG_ERR, "removing messages failed: %s", err);
		reply(p, "-ERR [SYS/TEMP] Some deleted messages were not removed.");
		return NEXT_CLOSE;
	}
	reply(p, "+OK Logging out.");
	return NEXT_CLOSE;
}

static const struct {
	const char *name;
	enum next (*fn)(struct pop3 *, char *);
	int needs_arg;		/* -1 none allowed, 0 optional, 1 required */
} cmds[] = {
	{ "STAT", cmd_stat, -1 }, { "LIST", cmd_list, 0 },
	{ "RETR", cmd_retr, 1 }, { "DELE", cmd_dele, 1 },
	{ "NOOP", cmd_noop, -1 }, { "RSET", cmd_rset, -1 },
	{ "TOP", cmd_top, 1 }, { "UIDL", cmd_uidl, 0 },
	{ "CAPA", cmd_capa, -1 }, { "QUIT", cmd_quit, -1 },
};

static enum next
dispatch(struct pop3 *p, char *line, size_t len)
{
	char *arg = strchr(line, ' ');

	if (memchr(line, '\0', len) != NULL) {
		reply(p, "-ERR Invalid characters in command.");
		return NEXT_BAD;
	}
	if (arg != NULL)
		*arg++ = '\0';
	for (size_t i = 0; i < ARRAY_LEN(cmds); i++) {
		if (strcasecmp(line, cmds[i].name) != 0)
			continue;
		if ((cmds[i].needs_arg == 1 && (arg == NULL || !*arg)) ||
		    (cmds[i].needs_arg == -1 && arg != NULL)) {
			reply(p, "-ERR Wrong number of arguments.");
			return NEXT_BAD;
		}
		return cmds[i].fn(p, arg ? arg : line + len);
	}
	reply(p, "-ERR Unknown command.");
	return NEXT_BAD;
}

static int
open_maildrop(struct pop3 *p)
{
	struct store_user u = { p->s->user, p->s->home };
	char err[512] = "";
	enum store_result r = store_open_inbox(p->s->cfg->mail_location, &u,
	    STORE_SESSION_LOCK, &p->st, err, sizeof(err));

	if (r == STORE_OK)
		return 0;
	if (r == STORE_EINUSE) {
		reply(p, "-ERR [IN-USE] Mailbox is locked by another POP3 session.");
		log_msg(LOG_INFO, "maildrop in use by another session");
	} else {
		reply(p, r == STORE_ETEMP ?
		    "-ERR [SYS/TEMP] Cannot open the mailbox right now." :
		    "-ERR [SYS/PERM] Cannot open the mailbox.");
		log_msg(LOG_ERR, "cannot open the mailbox: %s", err);
	}
	return -1;
}

/* An mbox dot-lock older than 5 minutes may be broken by an MTA as
 * stale; refresh it at least this often while the client is idle. */
#define TOUCH_INTERVAL_MS (120 * 1000)

/*
 * Wait for the next command for at most the idle timeout, refreshing
 * the maildrop lock while waiting.  Returns 0 when input is ready (or
 * the connection changed state), -1 on idle timeout.
 */
static int
wait_for_command(struct pop3 *p)
{
	int64_t deadline = now_ms() + (int64_t)p->s->cfg->pop3_idle_timeout * 1000;

	for (;;) {
		struct pollfd pfd = { p->s->io.fd_in, POLLIN, 0 };
		int64_t left = deadline - now_ms();
		int r;

		store_touch(p->st);
		if (io_pending(&p->s->io) > 0)
			return 0;
		if (left <= 0)
			return -1;
		r = poll(&pfd, 1, (int)(left < TOUCH_INTERVAL_MS ? left :
		    TOUCH_INTERVAL_MS));
		if (r != 0)
			return 0;	/* readable, or an error io will see */
	}
}

static void
serve(struct pop3 *p)
{
	char line[POP3_SESSION_LINE_MAX + 1];
	size_t len;
	enum next nx;

	for (;;) {
		enum io_status st = wait_for_command(p) < 0 ? IO_TIMEOUT :
		    io_readline(&p->s->io, line, POP3_SESSION_LINE_MAX, &len);

		if (st == IO_TIMEOUT)
			reply(p, "-ERR Disconnected for inactivity.");
		if (st == IO_TOOLONG) {
			reply(p, "-ERR Line too long.");
			nx = NEXT_BAD;
		} else if (st != IO_OK) {
			log_msg(LOG_INFO, "connection closed without QUIT; "
			    "nothing deleted");
			return;
		} else {
			nx = dispatch(p, line, len);
		}
		if (nx == NEXT_CLOSE)
			return;
		if (nx == NEXT_BAD && ++p->bad >= POP3_SESSION_BAD_MAX) {
			reply(p, "-ERR Too many bad commands.");
			return;
		}
	}
}

void
pop3_session_main(struct session *s)
{
	struct pop3 p = { .s = s };
	char tag[64];

	io_set_timeouts(&s->io, (int)s->cfg->pop3_idle_timeout,
	    (int)s->cfg->output_timeout);
	if (session_preamble(s, tag, sizeof(tag)) < 0)
		return;
	log_set_user(s->user);
	if (open_maildrop(&p) < 0)
		return;
	p.count = store_count(p.st);
	p.del = xcalloc(p.count ? p.count : 1, 1);
	reply(&p, s->preauth ? "+OK postern ready (preauthenticated)." :
	    "+OK Logged in.");
	serve(&p);
	log_msg(LOG_INFO, "disconnected: messages=%u retr=%u/%llu top=%u "
	    "dele=%u", p.count, p.retr, (unsigned long long)p.retr_bytes,
	    p.top, p.ndel);
	store_close(p.st);
	free(p.del);
}
