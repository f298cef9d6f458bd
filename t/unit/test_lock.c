/*
 * test_lock.c - dot-locks (lock.h): a lock left by a process of this
 * host that was killed is taken over at once; a lock of a live process,
 * of another host, or of another program (no host in it) is respected
 * until it is stale.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lock.h"
#include "tap.h"
#include "util.h"

static char dir[] = "/tmp/postern-lock-XXXXXX";
static char path[PATH_MAX];

static void
write_lock(const char *content)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(content, fp) == EOF || fclose(fp) != 0)
		abort();
}

/* dotlock_take with a 120 s stale time and a short wait: 0 if taken. */
static int
take(int64_t *ms)
{
	struct dotlock dl;
	int64_t t0 = now_ms();
	int r = dotlock_take(&dl, path, 120, 600, 0);

	*ms = now_ms() - t0;
	if (r == 0)
		dotlock_release(&dl);
	return r;
}

/* A pid that is certainly not running: a child that has been reaped. */
static pid_t
dead_pid(void)
{
	pid_t p = fork();

	if (p == 0)
		_exit(0);
	waitpid(p, NULL, 0);
	return p;
}

int
main(void)
{
	char host[HOST_NAME_MAX + 1] = "localhost", buf[HOST_NAME_MAX + 64];
	int64_t ms;
	pid_t p;
	int fds[2];

	if (mkdtemp(dir) == NULL || pipe(fds) < 0)
		return 2;
	(void)gethostname(host, sizeof(host) - 1);
	snprintf(path, sizeof(path), "%s/x.lock", dir);

	/* a session killed while it holds the lock */
	if ((p = fork()) == 0) {
		struct dotlock dl;

		if (dotlock_take(&dl, path, 120, 1000, 0) < 0)
			_exit(1);
		(void)!write(fds[1], "t", 1);
		pause();
		_exit(0);
	}
	(void)!read(fds[0], buf, 1);
	tap_ok(take(&ms) < 0, "a live holder keeps its lock");
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	tap_ok(access(path, F_OK) == 0, "the killed holder's lock is left");
	{
		int r = take(&ms);

		tap_ok(r == 0 && ms < 300, "and taken over at once (%lld ms)",
		    (long long)ms);
	}

	snprintf(buf, sizeof(buf), "%ld:%s\n", (long)dead_pid(), host);
	write_lock(buf);
	tap_ok(take(&ms) == 0, "a lock of a dead pid of this host is broken");
	snprintf(buf, sizeof(buf), "%ld:other.example.org\n", (long)dead_pid());
	write_lock(buf);
	tap_ok(take(&ms) < 0, "one of another host (NFS) is respected");
	snprintf(buf, sizeof(buf), "%ld\n", (long)dead_pid());
	write_lock(buf);
	tap_ok(take(&ms) < 0, "one without a host (an MTA's) is respected");
	snprintf(buf, sizeof(buf), "%ld:%s\n", (long)getppid(), host);
	write_lock(buf);
	tap_ok(take(&ms) < 0, "one of a live process is respected");
	write_lock("garbage:\n");
	tap_ok(take(&ms) < 0, "garbage is respected");
	write_lock("-1:x\n");
	tap_ok(take(&ms) < 0, "a negative pid is respected");
	unlink(path);
	tap_ok(take(&ms) == 0, "a free lock is taken");
	{
		struct dotlock dl;
		FILE *fp;

		if (dotlock_take(&dl, path, 120, 600, 0) == 0 &&
		    (fp = fopen(path, "r")) != NULL) {
			char want[HOST_NAME_MAX + 40];

			snprintf(want, sizeof(want), "%ld:%s\n", (long)getpid(),
			    host);
			tap_ok(fgets(buf, sizeof(buf), fp) != NULL &&
			    strcmp(buf, want) == 0, "the lock says pid:host");
			fclose(fp);
			dotlock_release(&dl);
		} else {
			tap_ok(0, "the lock says pid:host");
		}
	}
	rmdir(dir);
	return tap_done();
}
