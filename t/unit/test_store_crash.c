/*
 * test_store_crash.c - kill -9 a session at random points inside
 * append, multi-append, copy, expunge and flag write-back (for mbox a
 * flag write-back and an expunge are journaled rewrites), on Maildir
 * and on mbox, then open the folder as the next session would and check
 * what a user would:
 *   - every message is intact, byte for byte;
 *   - no message is lost: each one is there exactly once, except one the
 *     killed session was expunging (there or not, never damaged) or
 *     appending (there complete or not at all);
 *   - nothing is duplicated, UIDs ascend, and a message keeps its UID
 *     and the folder its UIDVALIDITY;
 *   - a second open agrees with the first (the index was repaired).
 * The child reports each finished step on a pipe before going on, so the
 * parent knows what was acknowledged when the kill came.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "store_fmt.h"
#include "util.h"

#define ROUNDS 30
#define BASE 12
#define MAX_IDS 2048

enum op { OP_APPEND, OP_MULTI, OP_COPY, OP_EXPUNGE, OP_FLAGS, OP_N };
static const char *const op_name[OP_N] = {
	"append", "multi-append", "copy", "expunge", "flag write-back",
};

static const char *fmt;

struct known {
	char id[32];
	uint32_t uid;
	int state;		/* 0 unknown, 1 must be there, 2 may be gone,
				 * 3 gone for good, 4 may be there */
};
static struct known known[MAX_IDS];
static int nknown;

static struct known *
kfind(const char *id, int add)
{
	for (int i = 0; i < nknown; i++)
		if (strcmp(known[i].id, id) == 0)
			return &known[i];
	if (!add || nknown == MAX_IDS || strlen(id) >= sizeof(known[0].id))
		return NULL;
	memset(&known[nknown], 0, sizeof(known[0]));	/* a previous run's */
	snprintf(known[nknown].id, sizeof(known[0].id), "%s", id);
	return &known[nknown++];
}

/* ---- the child: one operation, over and over, until killed ---- */

static void
report(int fd, char what, const char *id)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "%c %s\n", what, id);

	(void)!write(fd, line, (size_t)n);
}

static void
child(struct folders *f, enum op op, int round, int fd)
{
	struct store *st = must_open(f, "INBOX", STORE_SELECT), *dst;
	char err[256], id[32], ida[32];
	uint32_t uids[3], uv;
	size_t got;

	srandom((unsigned)getpid());
	for (unsigned k = 0; ; k++) {
		unsigned n = store_count(st), i = n ? (unsigned)random() % n : 0;

		switch (op) {
		case OP_APPEND:
		case OP_MULTI:
			snprintf(id, sizeof(id), "c%d-%u", round, k);
			snprintf(ida, sizeof(ida), "c%d-%ua", round, k);
			report(fd, 'P', id);
			if (op == OP_MULTI)
				report(fd, 'P', ida);
			{
				const char *ids[2] = { id, ida };

				if (append_ids(st, ids, op == OP_MULTI ? 2 : 1,
				    0, uids) == 0)
					_exit(5);
			}
			report(fd, 'C', id);
			if (op == OP_MULTI)
				report(fd, 'C', ida);
			break;
		case OP_COPY:
			if (n == 0)
				_exit(0);
			dst = must_open(f, "Other", 0);
			if (store_copy(st, i, dst, err, sizeof(err)) !=
			    STORE_OK || store_append_commit(dst, uids, &got,
			    &uv, err, sizeof(err)) != STORE_OK)
				_exit(5);
			store_close(dst);
			break;
		case OP_EXPUNGE: {
			unsigned char *del;

			if (n <= BASE / 2)
				_exit(0);	/* keep some to work on */
			msg_id(st, i, id, sizeof(id));
			report(fd, 'D', id);
			del = xcalloc(n, 1);
			del[i] = 1;
			if (store_set_flags(st, i, STORE_FLAGS_ADD, MF_DELETED,
			    0, 0, err, sizeof(err)) != STORE_OK ||
			    store_expunge(st, del, err, sizeof(err)) !=
			    STORE_OK)
				_exit(5);
			report(fd, 'X', id);
			free(del);
			break;
		}
		case OP_FLAGS:
			for (unsigned j = 0; j < n; j++)
				(void)store_set_flags(st, j, k % 2 ?
				    STORE_FLAGS_ADD : STORE_FLAGS_REMOVE,
				    MF_FLAGGED | (j % 2 ? MF_SEEN : 0), 0, 0,
				    err, sizeof(err));
			if (store_flush(st, err, sizeof(err)) != STORE_OK)
				_exit(5);
			break;
		default:
			_exit(6);
		}
	}
}

/* Apply what the child acknowledged before it died. */
static void
read_reports(int fd)
{
	char buf[65536], line[64], a[40];
	ssize_t n;
	size_t len = 0;

	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	for (char *p = buf, *e; (e = strchr(p, '\n')) != NULL; p = e + 1) {
		struct known *k;

		snprintf(line, sizeof(line), "%.*s", (int)(e - p), p);
		if (sscanf(line, "%*c %39s", a) != 1 ||
		    (k = kfind(a, line[0] == 'P')) == NULL)
			continue;
		if (line[0] == 'P')
			k->state = 4;
		else if (line[0] == 'C')
			k->state = 1;
		else if (line[0] == 'D')
			k->state = 2;
		else if (line[0] == 'X')
			k->state = 3;
	}
}

/* ---- the check, as the next session ---- */

struct seen {
	int count, bad_content, uid_changed;
};

static int
check_folder(struct folders *f, uint32_t uv0, int round, enum op op)
{
	struct store *st = must_open(f, "INBOX", STORE_SELECT);
	int fails = 0;
	uint32_t prev = 0;
	static int count[MAX_IDS];
	char id[64];

	memset(count, 0, sizeof(count));
	if (store_uidvalidity(st) != uv0) {
		tap_diag("%s %s round %d: UIDVALIDITY changed", fmt,
		    op_name[op], round);
		fails++;
	}
	for (unsigned i = 0; i < store_count(st); i++) {
		struct known *k;
		size_t len;
		char *b = stream(st, i, &len), *want;

		msg_id(st, i, id, sizeof(id));
		if (store_uid(st, i) <= prev) {
			tap_diag("%s: UIDs not ascending at %u", fmt, i);
			fails++;
		}
		prev = store_uid(st, i);
		if ((k = kfind(id, 0)) == NULL) {
			tap_diag("%s %s round %d: unknown message %u (%s)",
			    fmt, op_name[op], round, store_uid(st, i), id);
			fails++;
			free(b);
			continue;
		}
		want = msg_text(k->id);
		if (b == NULL || len != strlen(want) ||
		    memcmp(b, want, len) != 0) {
			tap_diag("%s %s round %d: %s damaged", fmt,
			    op_name[op], round, k->id);
			fails++;
		}
		free(want);
		free(b);
		if (k->uid != 0 && k->uid != store_uid(st, i)) {
			tap_diag("%s %s round %d: %s changed UID %u -> %u", fmt,
			    op_name[op], round, k->id, k->uid,
			    store_uid(st, i));
			fails++;
		}
		k->uid = store_uid(st, i);
		count[k - known]++;
	}
	for (int j = 0; j < nknown; j++) {
		struct known *k = &known[j];
		int ok = k->state == 1 ? count[j] == 1 :
		    k->state == 2 || k->state == 4 ? count[j] <= 1 :
		    k->state == 3 ? count[j] == 0 : 1;

		if (!ok) {
			tap_diag("%s %s round %d: %s (state %d) is there %d "
			    "times", fmt, op_name[op], round, k->id, k->state,
			    count[j]);
			fails++;
		}
		/* settle: what is there now must stay; what is not, stays
		 * gone */
		k->state = count[j] ? 1 : 3;
	}
	store_close(st);
	return fails;
}

static void
run(const char *format)
{
	struct tree t;
	struct folders *f;
	struct store *st;
	char err[256], id[32];
	uint32_t uv0, uids[BASE];
	const char *ids[BASE];
	char names[BASE][16];
	int total_fails = 0;

	fmt = format;
	nknown = 0;
	tree_init(&t, format);
	f = tree_folders(&t);
	(void)folder_create(f, "Other", err, sizeof(err));
	st = must_open(f, "INBOX", STORE_SELECT);
	for (int i = 0; i < BASE; i++) {
		snprintf(names[i], sizeof(names[i]), "b-%d", i);
		ids[i] = names[i];
		kfind(names[i], 1)->state = 1;
	}
	if (append_ids(st, ids, BASE, 0, uids) != BASE) {
		tap_ok(0, "%s: fixture", fmt);
		return;
	}
	uv0 = store_uidvalidity(st);
	store_close(st);

	for (enum op op = 0; op < OP_N; op++) {
		int fails = 0, killed = 0;

		for (int round = 0; round < ROUNDS; round++) {
			int p[2], status;
			pid_t pid;

			if (pipe(p) < 0)
				exit(2);
			if ((pid = fork()) == 0) {
				close(p[0]);
				child(f, op, round + 100 * (int)op, p[1]);
			}
			close(p[1]);
			/* 0-40 ms: from before the first step to deep
			 * inside the third or fourth */
			usleep((useconds_t)(random() % 40000));
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			killed += WIFSIGNALED(status);
			if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
				tap_diag("%s %s: the session failed (%d)", fmt,
				    op_name[op], WEXITSTATUS(status));
				fails++;
			}
			read_reports(p[0]);
			close(p[0]);
			fails += check_folder(f, uv0, round, op);
			fails += check_folder(f, uv0, round, op);
		}
		tap_ok(fails == 0, "%s: %d kills during %s (%d mid-run): "
		    "nothing lost, damaged or duplicated, UIDs kept", fmt,
		    ROUNDS, op_name[op], killed);
		total_fails += fails;
	}
	/* Other: every copy intact */
	st = must_open(f, "Other", 0);
	{
		int bad = 0;

		for (unsigned i = 0; i < store_count(st); i++) {
			size_t len;
			char *b = stream(st, i, &len), *want;

			msg_id(st, i, id, sizeof(id));
			want = msg_text(id);
			bad += b == NULL || strcmp(b, want) != 0;
			free(b);
			free(want);
		}
		tap_ok(bad == 0, "%s: all %u copies in Other are intact", fmt,
		    store_count(st));
	}
	store_close(st);
	(void)total_fails;
	folders_close(f);
	tree_remove(&t);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	run("maildir");
	run("mbox");
	return tap_done();
}
