/*
 * daemon.c - the command line shared by pop3d and imapd.
 *
 *   -c FILE     configuration (default /etc/postern/postern.conf)
 *   -t, --tls   implicit TLS: handshake before the greeting (993, 995)
 *   --preauth   serve the invoking (non-root) user on stdin/stdout:
 *               no TLS, no PAM, no other processes
 *   -n / -a     print the non-default / all settings and exit
 *   -V          print the version and exit
 *
 * Exit status: 0 after a normal session, 1 on a configuration or
 * internal error, 2 on a usage error.
 */
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>

#include "log.h"
#include "monitor.h"

#define POSTERN_VERSION "0.1"

struct args {
	const char *conf;
	int explicit_conf, tls, preauth, dump;	/* dump: 1 = -n, 2 = -a */
};

static int
usage(const char *ident)
{
	fprintf(stderr, "usage: %s [-c FILE] [--tls | --preauth] [-n | -a | -V]\n",
	    ident);
	return 2;
}

static int
parse_args(int argc, char **argv, struct args *a, const char *ident)
{
	static const struct option opts[] = {
		{ "tls", no_argument, NULL, 't' },
		{ "preauth", no_argument, NULL, 'P' },
		{ "config", required_argument, NULL, 'c' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->conf = CONFIG_DEFAULT_PATH;
	while ((c = getopt_long(argc, argv, "c:tnaV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->conf = optarg; a->explicit_conf = 1; break;
		case 't': a->tls = 1; break;
		case 'P': a->preauth = 1; break;
		case 'n': a->dump = 1; break;
		case 'a': a->dump = 2; break;
		case 'V': printf("%s (postern) %s\n", ident, POSTERN_VERSION);
			  return 1;
		default: return -1;
		}
	}
	if (optind != argc || (a->tls && a->preauth))
		return -1;
	return 0;
}

/* Under xinetd (and systemd without StandardError=) fd 2 may be the
 * client's socket: nothing must ever be written there. */
static void
guard_stderr(void)
{
	struct stat st;

	if (fstat(2, &st) < 0 || S_ISSOCK(st.st_mode)) {
		FILE *f = freopen("/dev/null", "w", stderr);
		(void)f;
	}
}

static int
run_preauth(const struct proto *p, const struct config *cfg)
{
	struct passwd *pw = getpwuid(getuid());

	if (getuid() == 0 || geteuid() == 0) {
		log_msg(LOG_ERR, "--preauth refuses to run as root");
		return 1;
	}
	if (pw == NULL) {
		log_msg(LOG_ERR, "--preauth: no passwd entry for uid %u",
		    (unsigned)getuid());
		return 1;
	}
	session_run(p, cfg, pw, 0, 1, "local", 1);
	return 0;
}

/* Everything after the configuration is loaded; returns the exit status. */
static int
run(const struct proto *p, const struct config *cfg, const struct args *a)
{
	if (a->dump) {
		config_dump(cfg, stdout, a->dump == 1);
		return 0;
	}
	if (log_open(p->ident, a->preauth && *cfg->log_path == '\0' ?
	    "syslog" : cfg->log_path) < 0) {
		fprintf(stderr, "%s: log_path %s: cannot open\n", p->ident,
		    cfg->log_path);
		return 1;
	}
	if (a->preauth)
		return run_preauth(p, cfg);
	if (geteuid() != 0) {
		log_msg(LOG_ERR, "must be started as root (or use --preauth)");
		return 1;
	}
	return monitor_main(p, cfg, a->tls);
}

int
daemon_main(const struct proto *p, int argc, char **argv)
{
	struct config cfg;
	struct args a;
	char err[1024];
	int r;

	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	guard_stderr();
	if ((r = parse_args(argc, argv, &a, p->ident)) != 0)
		return r < 0 ? usage(p->ident) : 0;
	config_defaults(&cfg);
	if (config_load(&cfg, a.conf, a.explicit_conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", p->ident, err);
		log_open(p->ident, "");
		log_msg(LOG_ERR, "configuration error: %s", err);
		r = 1;
	} else {
		r = run(p, &cfg, &a);
	}
	config_free(&cfg);
	return r;
}
