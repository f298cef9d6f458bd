/*
 * test_tls.c - common/tls.c and io_starttls() with real OpenSSL
 * handshakes.  A forked child is the client over a socketpair and reports
 * what it saw as one line on a pipe; the parent is the server and also
 * captures what the server logged.  Covers protocol versions and the
 * cipher policy (SECURITY.md G9), ALPN (G10, ALPACA), pipelined STARTTLS
 * (G11, CVE-2011-0411), the handshake timeout (CVE-2014-3430),
 * renegotiation, and the errors an administrator sees for bad settings.
 * The certificate and keys are made at run time in a temporary directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "io.h"
#include "log.h"
#include "tap.h"
#include "tls.h"
#include "util.h"

static char dir[] = "/tmp/postern-tls.XXXXXX";
static char cert[128], key[128], key_enc[128], other_key[128], dh[128];
static char logfile[128];
static struct config cfg;
static struct io io;

/* The first 10 bytes of a TLS 1.2 ClientHello record. */
static const char hello10[] = "\x16\x03\x01\x01\x00\x01\x00\x00\xfc\x03";

struct client {
	int min_v, max_v;		/* 0: OpenSSL's default */
	const char *ciphers;		/* TLS 1.2 list, NULL: default */
	int seclevel0;			/* allow TLS 1.0/1.1 */
	const char *alpn;		/* wire format, NULL: no ALPN */
	const char *plain;		/* sent in plaintext first, one write */
	int late_capa;			/* then "CAPA\r\n" 100 ms later */
	const char *send;		/* sent inside TLS */
	int renegotiate;		/* try a TLS 1.2 renegotiation */
	int abort;			/* close without close_notify */
	int stall;			/* send 10 bytes of ClientHello, wait */
	int drip;			/* the same, one byte every 300 ms */
};

struct server {
	const char *reply;		/* read a plaintext line, send this */
	int delay_ms;			/* then sleep before io_starttls */
	int timeout_s;			/* handshake timeout (default 5) */
	size_t big;			/* bytes to send after the reply */
};

struct result {
	char first[64];			/* plaintext line read */
	enum io_status st;		/* of io_starttls */
	size_t discarded;
	long long ms;			/* io_starttls took */
	char desc[128];			/* tls_describe */
	enum io_status rl;		/* readline after io_starttls */
	char line[128];
	char log[4096];			/* what the server logged */
	char client[4096];		/* the client's report */
};

static void PRINTF(1, 2)
sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0) {
		printf("Bail out! %s\n", cmd);
		exit(1);
	}
}

static void
make_files(void)
{
	if (mkdtemp(dir) == NULL)
		exit(1);
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(key_enc, sizeof(key_enc), "%s/key-enc.pem", dir);
	snprintf(other_key, sizeof(other_key), "%s/other.pem", dir);
	snprintf(dh, sizeof(dh), "%s/dh.pem", dir);
	snprintf(logfile, sizeof(logfile), "%s/log", dir);
	sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
	    "-nodes -keyout %s -out %s -days 2 -subj /CN=localhost 2>/dev/null",
	    key, cert);
	sh("openssl pkey -in %s -aes256 -passout pass:s3cret -out %s", key,
	    key_enc);
	sh("openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 "
	    "-out %s", other_key);
	sh("openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 "
	    "-out %s", dh);
}

static void
remove_files(void)
{
	const char *files[] = { cert, key, key_enc, other_key, dh, logfile };

	for (size_t i = 0; i < ARRAY_LEN(files); i++)
		unlink(files[i]);
	rmdir(dir);
}

/* What config_defaults() gives, with our files. */
static void
cfg_reset(void)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.ssl_cert = cert;
	cfg.ssl_key = key;
	cfg.ssl_key_password = "";
	cfg.ssl_min_protocol = "TLSv1.2";
	cfg.ssl_cipher_list = TLS_DEFAULT_CIPHER_LIST;
	cfg.ssl_cipher_suites = TLS_DEFAULT_CIPHER_SUITES;
	cfg.ssl_prefer_server_ciphers = 1;
	cfg.ssl_dh = "";
}

static void
put(int fd, const void *p, size_t n)
{
	if (write_all(fd, p, n) < 0)
		_exit(3);
}

/* --- the client (child process) --- */

static const char *
client_reason(void)
{
	unsigned long e = ERR_peek_error();
	const char *r = ERR_reason_error_string(e);

	return e == 0 ? "connection closed" : r != NULL ? r : "?";
}

/* Read one plaintext line byte by byte, so no TLS byte is consumed. */
static void
read_plain_line(int fd, char *out, size_t outlen)
{
	size_t o = 0;
	char c;

	while (o + 1 < outlen && read(fd, &c, 1) == 1 && c != '\n')
		if (c != '\r')
			out[o++] = c;
	out[o] = '\0';
}

static SSL *
client_ssl(int fd, const struct client *c)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl;

	if (c->seclevel0)
		SSL_CTX_set_security_level(ctx, 0);
	if (c->min_v)
		SSL_CTX_set_min_proto_version(ctx, c->min_v);
	if (c->max_v)
		SSL_CTX_set_max_proto_version(ctx, c->max_v);
	if (c->ciphers)
		SSL_CTX_set_cipher_list(ctx, c->ciphers);
	if (c->alpn)
		SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)c->alpn,
		    (unsigned)strlen(c->alpn));
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);
	SSL_set_fd(ssl, fd);
	return ssl;
}

/* After the handshake: send, then read to the end; report what came. */
static size_t
client_talk(SSL *ssl, const struct client *c, char *out, size_t outlen)
{
	char buf[16384], got[64] = "";
	size_t total = 0, o = 0;
	const char *end = "eof";
	int r;

	if (c->send)
		SSL_write(ssl, c->send, (int)strlen(c->send));
	while ((r = SSL_read(ssl, buf, sizeof(buf))) > 0) {
		for (int i = 0; i < r && o + 1 < sizeof(got); i++)
			if (buf[i] != '\r' && buf[i] != '\n')
				got[o++] = buf[i];
		got[o] = '\0';
		total += (size_t)r;
	}
	if (SSL_get_error(ssl, r) == SSL_ERROR_ZERO_RETURN)
		end = "notify";
	return (size_t)snprintf(out, outlen, " n=%zu got=%s end=%s", total,
	    got, end);
}

static void NORETURN
client_main(int fd, const struct client *c, int rep)
{
	char out[2048] = "", line[256];
	size_t o = 0;
	unsigned char const *sel = NULL;
	unsigned sel_len = 0;
	SSL *ssl;

	if (c->plain)
		put(fd, c->plain, strlen(c->plain));
	if (c->late_capa) {
		usleep(100000);
		put(fd, "CAPA\r\n", 6);
	}
	if (c->plain) {
		read_plain_line(fd, line, sizeof(line));
		o += (size_t)snprintf(out, sizeof(out), "PLAIN=%s ", line);
	}
	if (c->stall || c->drip) {
		for (int i = 0; i < 10 && c->drip; i++) {
			if (write(fd, hello10 + i, 1) != 1)
				break;
			usleep(300000);
		}
		if (c->stall)
			put(fd, hello10, 10);
		while (read(fd, line, sizeof(line)) > 0)
			;
		snprintf(out + o, sizeof(out) - o, "STALL closed");
		put(rep, out, strlen(out));
		_exit(0);
	}
	ssl = client_ssl(fd, c);
	if (SSL_connect(ssl) != 1) {
		snprintf(out + o, sizeof(out) - o, "ERR %s", client_reason());
		put(rep, out, strlen(out));
		_exit(0);
	}
	SSL_get0_alpn_selected(ssl, &sel, &sel_len);
	if (sel_len == 0) {
		sel = (const unsigned char *)"-";
		sel_len = 1;
	}
	o += (size_t)snprintf(out + o, sizeof(out) - o, "OK %s %s alpn=%.*s",
	    SSL_get_version(ssl), SSL_get_cipher_name(ssl), (int)sel_len,
	    (const char *)sel);
	if (c->renegotiate) {
		ERR_clear_error();
		SSL_renegotiate(ssl);
		snprintf(out + o, sizeof(out) - o, " RENEG=%s",
		    SSL_do_handshake(ssl) == 1 ? "done" : client_reason());
	} else if (!c->abort) {
		client_talk(ssl, c, out + o, sizeof(out) - o);
	}
	put(rep, out, strlen(out));
	_exit(0);
}

/* --- the server (this process) --- */

static int saved_stderr = -1;

static void
capture_start(void)
{
	int fd = open(logfile, O_RDWR | O_CREAT | O_TRUNC, 0600);

	fflush(stderr);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

static void
read_all(int fd, char *out, size_t outlen)
{
	size_t got = 0;
	ssize_t n;

	while (got + 1 < outlen &&
	    (n = read(fd, out + got, outlen - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
}

static void
capture_end(char *out, size_t outlen)
{
	int fd = open(logfile, O_RDONLY);

	read_all(fd, out, outlen);
	close(fd);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	if (*out)
		tap_diag("server log: %.*s", (int)strcspn(out, "\n"), out);
}

static void
serve(SSL_CTX *ctx, const struct server *s, struct result *r)
{
	size_t len;
	int64_t t0;

	if (s->reply) {
		io_readline(&io, r->first, sizeof(r->first) - 1, &len);
		io_puts(&io, s->reply);
	}
	if (s->delay_ms)
		usleep((useconds_t)s->delay_ms * 1000);
	t0 = now_ms();
	r->st = io_starttls(&io, ctx, s->timeout_s ? s->timeout_s : 5,
	    &r->discarded);
	r->ms = now_ms() - t0;
	tls_describe(io.ssl, r->desc, sizeof(r->desc));
	r->rl = io_readline(&io, r->line, sizeof(r->line) - 1, &len);
	if (r->rl == IO_OK) {
		io_printf(&io, "+OK got %s\r\n", r->line);
		for (size_t i = 0; i < s->big; i++)
			io_write(&io, "x", 1);
	}
	io_close(&io);
}

static void
run(SSL_CTX *ctx, const struct client *c, const struct server *s,
    struct result *r)
{
	static const struct server none;
	int sv[2], rp[2], status;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(rp) < 0)
		exit(2);
	if ((pid = fork()) == 0) {
		close(sv[0]);
		close(rp[0]);
		client_main(sv[1], c, rp[1]);
	}
	close(sv[1]);
	close(rp[1]);
	capture_start();
	io_init(&io, sv[0], sv[0]);
	io_set_timeouts(&io, 5, 5);
	serve(ctx, s ? s : &none, r);
	close(sv[0]);
	capture_end(r->log, sizeof(r->log));
	read_all(rp[0], r->client, sizeof(r->client));
	close(rp[0]);
	waitpid(pid, &status, 0);
	tap_diag("client: %s", r->client);
}

static int
has(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

static SSL_CTX *
ctx_new(const char *proto)
{
	char err[512] = "";
	SSL_CTX *ctx = tls_ctx_new(&cfg, proto, err, sizeof(err));

	if (ctx == NULL)
		tap_diag("tls_ctx_new: %s", err);
	return ctx;
}

/* --- the tests --- */

static void
test_versions(SSL_CTX *ctx)
{
	struct client c13 = { .send = "NOOP\r\n" };
	struct client c12 = { .max_v = TLS1_2_VERSION, .send = "NOOP\r\n" };
	struct client c11 = { .min_v = TLS1_1_VERSION, .max_v = TLS1_1_VERSION,
	    .seclevel0 = 1, .ciphers = "DEFAULT:@SECLEVEL=0" };
	struct result r;
	char cipher[80];

	run(ctx, &c13, NULL, &r);
	tap_is_int(r.st, IO_OK, "TLS 1.3 handshake");
	tap_is_str(r.desc, "TLSv1.3 TLS_AES_256_GCM_SHA384",
	    "tls_describe: TLS 1.3, server's first suite");
	tap_is_str(r.line, "NOOP", "server reads the line sent inside TLS");
	tap_ok(has(r.client, "got=+OK got NOOP end=notify"),
	    "client reads the reply, then our close_notify");
	tap_ok(has(r.client, "alpn=-"), "no ALPN offered: accepted, none chosen");

	run(ctx, &c12, NULL, &r);
	tap_is_int(r.st, IO_OK, "TLS 1.2 handshake");
	tap_ok(strncmp(r.desc, "TLSv1.2 ", 8) == 0, "TLS 1.2 negotiated");
	snprintf(cipher, sizeof(cipher), ":%.64s:", r.desc + 8);
	tap_ok(has(":" TLS_DEFAULT_CIPHER_LIST ":", cipher),
	    "TLS 1.2 cipher %s is in the ECDHE AEAD list", r.desc + 8);
	tap_is_str(r.desc + 8, "ECDHE-ECDSA-AES256-GCM-SHA384",
	    "server preference picks AES256-GCM");

	run(ctx, &c11, NULL, &r);
	tap_is_int(r.st, IO_ERROR, "TLS 1.1 client refused");
	tap_ok(has(r.client, "ERR "), "TLS 1.1 client sees a failure");
	tap_ok(has(r.log, "TLS handshake failed: ") &&
	    has(r.log, "unsupported protocol"),
	    "server logs the OpenSSL reason");
}

static void
test_ciphers(SSL_CTX *ctx)
{
	struct client cbc = { .max_v = TLS1_2_VERSION,
	    .ciphers = "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:"
	    "ECDHE-ECDSA-AES128-SHA256" };
	struct client pref = { .max_v = TLS1_2_VERSION,
	    .ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:"
	    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384",
	    .send = "X\r\n" };
	struct result r;

	run(ctx, &cbc, NULL, &r);
	tap_is_int(r.st, IO_ERROR, "TLS 1.2 client with only CBC suites refused");
	tap_ok(has(r.log, "no shared cipher"), "logged: no shared cipher");
	run(ctx, &pref, NULL, &r);
	tap_is_str(r.desc, "TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384",
	    "server cipher order wins over the client's");
}

static void
test_alpn(SSL_CTX *pop3, SSL_CTX *imap)
{
	struct client ok = { .alpn = "\x04pop3", .send = "A\r\n" };
	struct client http = { .alpn = "\x08http/1.1" };
	struct client h2 = { .alpn = "\x02h2\x08http/1.1" };
	struct client mixed = { .alpn = "\x08http/1.1\x04pop3", .send = "A\r\n" };
	struct client imap_c = { .alpn = "\x04imap", .send = "A\r\n" };
	struct result r;

	run(pop3, &ok, NULL, &r);
	tap_is_int(r.st, IO_OK, "ALPN pop3 accepted");
	tap_ok(has(r.client, "alpn=pop3"), "pop3 selected");
	run(pop3, &http, NULL, &r);
	tap_is_int(r.st, IO_ERROR, "ALPN http/1.1 refused (ALPACA)");
	tap_ok(has(r.client, "ERR tlsv1 alert no application protocol"),
	    "client gets alert 120 no_application_protocol");
	tap_ok(has(r.log, "no application protocol"), "server logs it");
	run(pop3, &h2, NULL, &r);
	tap_ok(r.st == IO_ERROR && has(r.client, "no application protocol"),
	    "ALPN h2,http/1.1 refused");
	run(pop3, &mixed, NULL, &r);
	tap_ok(r.st == IO_OK && has(r.client, "alpn=pop3"),
	    "ALPN http/1.1,pop3: pop3 selected");
	run(pop3, &imap_c, NULL, &r);
	tap_ok(r.st == IO_ERROR && has(r.client, "no application protocol"),
	    "ALPN imap refused by the pop3 server");
	run(imap, &imap_c, NULL, &r);
	tap_ok(r.st == IO_OK && has(r.client, "alpn=imap"),
	    "ALPN imap accepted by the imap server");
}

/* EAST payloads (SECURITY.md 3.4): never executed after STARTTLS. */
static void
test_pipelined(SSL_CTX *pop3, SSL_CTX *imap)
{
	struct client stls = { .plain = "STLS\r\nCAPA\r\n", .send = "NOOP\r\n" };
	struct client imapc = { .plain = "A STARTTLS\r\nX NOOP\r\n" };
	struct client clean = { .plain = "STLS\r\n", .send = "CAPA\r\n" };
	struct client late = { .plain = "STLS\r\n", .late_capa = 1 };
	struct server pop3s = { .reply = "+OK Begin TLS negotiation now.\r\n" };
	struct server imaps = { .reply = "A OK Begin TLS negotiation now.\r\n" };
	struct server slow = { .reply = "+OK Begin TLS negotiation now.\r\n",
	    .delay_ms = 400 };
	struct result r;

	run(pop3, &stls, &pop3s, &r);
	tap_is_str(r.first, "STLS", "STLS read");
	tap_is_int((long long)r.discarded, 6, "CAPA\\r\\n counted: 6 bytes");
	tap_is_int(r.st, IO_ERROR, "pipelined STLS: fail closed, no handshake");
	tap_is_int(r.rl, IO_ERROR, "and nothing more is read");
	tap_ok(has(r.client, "PLAIN=+OK Begin TLS negotiation now. ERR"),
	    "client saw only the STLS reply, then the close");
	tap_ok(!has(r.client, "CAPA") && !has(r.client, "TOP"),
	    "CAPA was not executed");

	run(imap, &imapc, &imaps, &r);
	tap_is_int((long long)r.discarded, 8, "IMAP: X NOOP\\r\\n discarded");
	tap_is_int(r.st, IO_ERROR, "IMAP pipelined STARTTLS: closed");

	run(pop3, &clean, &pop3s, &r);
	tap_is_int((long long)r.discarded, 0, "STLS alone: nothing discarded");
	tap_is_int(r.st, IO_OK, "STLS alone: handshake");
	tap_is_str(r.line, "CAPA", "CAPA inside TLS is read");

	/* Bytes that we had not read yet become the "ClientHello". */
	run(pop3, &late, &slow, &r);
	tap_is_int((long long)r.discarded, 0, "late CAPA: still in the kernel");
	tap_is_int(r.st, IO_ERROR, "late CAPA: the handshake fails");
	tap_ok(has(r.client, "ERR"), "client's handshake fails too");
}

static void
test_timeout(SSL_CTX *ctx)
{
	struct client stall = { .stall = 1 };
	struct server s = { .timeout_s = 1 };
	struct result r;

	run(ctx, &stall, &s, &r);
	tap_is_int(r.st, IO_ERROR, "half a ClientHello: dropped");
	tap_ok(r.ms >= 900 && r.ms < 2500, "after the 1 s timeout (%lld ms)",
	    r.ms);
	tap_ok(has(r.log, "TLS handshake timed out after 1 s"),
	    "timeout logged");
	tap_is_str(r.client, "STALL closed", "client sees the close");

	/* The deadline covers the whole handshake, not each read. */
	stall.stall = 0;
	stall.drip = 1;
	run(ctx, &stall, &s, &r);
	tap_is_int(r.st, IO_ERROR, "ClientHello a byte at a time: dropped");
	tap_ok(r.ms >= 900 && r.ms < 2500, "after the 1 s timeout (%lld ms)",
	    r.ms);
}

/*
 * tls.c promises that after tls_ctx_new() nothing needs a file: run it
 * as the first OpenSSL use in a fresh process, chroot to an empty
 * directory, and do a handshake there.  Needs root (CI runs as root).
 */
static void
test_chroot(void)
{
	struct client c = { .send = "IN\r\n" };
	char empty[160];
	int status = -1;
	pid_t pid;

	if (geteuid() != 0) {
		tap_ok(1, "handshake after chroot # SKIP not root");
		return;
	}
	snprintf(empty, sizeof(empty), "%s/empty", dir);
	if (mkdir(empty, 0755) < 0)
		exit(2);
	if ((pid = fork()) == 0) {
		SSL_CTX *ctx = ctx_new("pop3");
		struct result r;

		if (ctx == NULL || chroot(empty) < 0 || chdir("/") < 0)
			_exit(2);
		run(ctx, &c, NULL, &r);
		_exit(r.st == IO_OK && strcmp(r.line, "IN") == 0 ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	rmdir(empty);
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "handshake in an empty chroot after tls_ctx_new");
}

static void
test_session(SSL_CTX *ctx)
{
	struct client reneg = { .max_v = TLS1_2_VERSION, .renegotiate = 1 };
	struct client big = { .send = "NOOP\r\n" };
	struct client gone = { .abort = 1 };
	struct server s = { .big = 300000 };
	struct result r;
	char want[64];

	run(ctx, &reneg, NULL, &r);
	tap_ok(has(r.client, "RENEG=") && !has(r.client, "RENEG=done"),
	    "TLS 1.2 renegotiation refused");
	tap_ok(r.rl != IO_OK, "server does not go on after it");

	run(ctx, &big, &s, &r);
	snprintf(want, sizeof(want), " n=%zu ", strlen("+OK got NOOP\r\n") +
	    s.big);
	tap_ok(has(r.client, want), "300000 bytes through TLS");

	run(ctx, &gone, NULL, &r);
	tap_is_int(r.rl, IO_EOF, "client gone without close_notify: EOF");
}

static void
test_min_protocol(void)
{
	struct client c12 = { .max_v = TLS1_2_VERSION };
	struct client c13 = { .send = "A\r\n" };
	static const char *const ok[] = { "TLSv1", "TLSv1.1", "ANY", "TLSv1.2" };
	struct result r;
	char err[512];
	SSL_CTX *ctx;

	cfg_reset();
	cfg.ssl_min_protocol = "TLSv1.3";
	ctx = ctx_new("pop3");
	run(ctx, &c12, NULL, &r);
	tap_is_int(r.st, IO_ERROR, "ssl_min_protocol TLSv1.3: TLS 1.2 refused");
	run(ctx, &c13, NULL, &r);
	tap_is_int(r.st, IO_OK, "ssl_min_protocol TLSv1.3: TLS 1.3 accepted");
	tls_ctx_free(ctx);
	for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
		cfg.ssl_min_protocol = (char *)ok[i];
		ctx = tls_ctx_new(&cfg, "pop3", err, sizeof(err));
		tap_ok(ctx != NULL, "ssl_min_protocol %s accepted", ok[i]);
		tls_ctx_free(ctx);
	}
	cfg.ssl_min_protocol = "TLSv9";
	tap_ok(tls_ctx_new(&cfg, "pop3", err, sizeof(err)) == NULL &&
	    has(err, "ssl_min_protocol: unknown value 'TLSv9'"),
	    "bad ssl_min_protocol: %s", err);
	cfg_reset();
}

/* Expect tls_ctx_new to fail with a message containing want. */
static void
ctx_fails(const char *want, const char *name)
{
	char err[512] = "";
	SSL_CTX *ctx = tls_ctx_new(&cfg, "pop3", err, sizeof(err));

	tap_ok(ctx == NULL && has(err, want), "%s", name);
	tap_diag("error: %s", err);
	tls_ctx_free(ctx);
	cfg_reset();
}

static void
test_config_errors(void)
{
	char path[256], want[300], err[512];
	SSL_CTX *ctx;

	snprintf(path, sizeof(path), "<%s/nope.pem", dir);
	cfg.ssl_cert = path;
	snprintf(want, sizeof(want), "ssl_cert %s: No such file or directory",
	    path + 1);
	ctx_fails(want, "missing ssl_cert names the file");
	cfg.ssl_key = path;
	snprintf(want, sizeof(want), "ssl_key %s: No such file or directory",
	    path + 1);
	ctx_fails(want, "missing ssl_key names the file");

	cfg.ssl_key = key_enc;
	cfg.ssl_key_password = "s3cret";
	ctx = tls_ctx_new(&cfg, "pop3", err, sizeof(err));
	tap_ok(ctx != NULL, "encrypted key with ssl_key_password");
	tls_ctx_free(ctx);
	cfg.ssl_key = key_enc;
	cfg.ssl_key_password = "wrong";
	snprintf(want, sizeof(want), "ssl_key %s: bad decrypt (wrong "
	    "ssl_key_password?)", key_enc);
	ctx_fails(want, "wrong key password: clear error");
	cfg.ssl_key = key_enc;
	snprintf(want, sizeof(want), "ssl_key %s: ", key_enc);
	ctx_fails(want, "encrypted key, no password: error, no prompt");
	cfg.ssl_key = other_key;
	snprintf(want, sizeof(want), "ssl_key %s does not match ssl_cert %s",
	    other_key, cert);
	ctx_fails(want, "key of another certificate");
	cfg.ssl_cert = dh;
	snprintf(want, sizeof(want), "ssl_cert %s: ", dh);
	ctx_fails(want, "ssl_cert that is not a certificate");

	cfg.ssl_cipher_list = "NOPE";
	ctx_fails("ssl_cipher_list: no usable cipher in 'NOPE'",
	    "bad ssl_cipher_list");
	cfg.ssl_cipher_suites = "TLS_NOPE";
	ctx_fails("ssl_cipher_suites: bad value 'TLS_NOPE'",
	    "bad ssl_cipher_suites");
	tap_ok(tls_ctx_new(&cfg, "http/1.1", err, sizeof(err)) == NULL,
	    "unknown ALPN protocol refused: %s", err);

	cfg.ssl_dh = dh;
	ctx = tls_ctx_new(&cfg, "pop3", err, sizeof(err));
	tap_ok(ctx != NULL, "ssl_dh with ffdhe2048 parameters");
	tls_ctx_free(ctx);
	snprintf(path, sizeof(path), "%s/nodh.pem", dir);
	cfg.ssl_dh = path;
	snprintf(want, sizeof(want), "ssl_dh %s: No such file", path);
	ctx_fails(want, "missing ssl_dh names the file");
	cfg.ssl_dh = cert;
	ctx_fails("no DH PARAMETERS", "ssl_dh that holds no parameters");
}

static void
test_paths(void)
{
	tap_is_str(tls_path("</etc/x.pem"), "/etc/x.pem", "tls_path strips <");
	tap_is_str(tls_path("< /etc/x.pem"), "/etc/x.pem",
	    "tls_path strips < and blanks");
	tap_is_str(tls_path("/etc/x.pem"), "/etc/x.pem", "tls_path plain path");
}

int
main(void)
{
	SSL_CTX *pop3, *imap;

	signal(SIGPIPE, SIG_IGN);
	log_open("test_tls", "/dev/stderr");
	make_files();
	cfg_reset();
	test_chroot();		/* first: OpenSSL not yet used here */
	pop3 = ctx_new("pop3");
	imap = ctx_new("imap");
	tap_ok(pop3 != NULL && imap != NULL, "tls_ctx_new with defaults");
	if (pop3 == NULL || imap == NULL) {
		remove_files();
		return tap_done();
	}
	test_versions(pop3);
	test_ciphers(pop3);
	test_alpn(pop3, imap);
	test_pipelined(pop3, imap);
	test_timeout(pop3);
	test_session(pop3);
	test_min_protocol();
	test_config_errors();
	test_paths();
	tls_ctx_free(pop3);
	tls_ctx_free(imap);
	remove_files();
	return tap_done();
}
