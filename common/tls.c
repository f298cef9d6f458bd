/*
 * tls.c - the OpenSSL server context built from the ssl_* settings, and
 * the ALPN check (policy in tls.h; SECURITY.md G9, G10).
 *
 * Trusts the configuration and the certificate, key and DH files it names
 * (all root's).  Runs in the login process before it chroots and drops
 * root, and is the only code that reads the private key.  Because nothing
 * may need a file after the chroot, tls_ctx_new() makes OpenSSL do now
 * everything it would otherwise do lazily: read openssl.cnf (so a system
 * policy or provider set there applies, loaded from the real root), load
 * the error strings (for the handshake failure log lines) and seed the
 * random generator.  The handshake itself then needs no file.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls.h"

/* A struct config not filled by config_defaults() has NULLs. */
#define OR(s, dflt) ((s) != NULL ? (s) : (dflt))

/* ssl_min_protocol values, Dovecot's spelling.  They mean what they say,
 * but OpenSSL 3 only negotiates TLS 1.0/1.1 at security level 0, which
 * the administrator has to ask for in ssl_cipher_list (@SECLEVEL=0). */
static const struct {
	const char *name;
	int version;
} protocols[] = {
	{ "ANY", 0 },			/* the lowest OpenSSL supports */
	{ "TLSv1", TLS1_VERSION },
	{ "TLSv1.1", TLS1_1_VERSION },
	{ "TLSv1.2", TLS1_2_VERSION },
	{ "TLSv1.3", TLS1_3_VERSION },
};

/* ALPN protocol IDs we answer to (IANA registry, RFC 7301 section 6). */
static const char *const alpn_ids[] = { "imap", "pop3" };

static int PRINTF(3, 4)
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* "setting file: reason" from the oldest queued OpenSSL error, which is
 * the cause (later ones only say which call failed). */
static int
fail_file(char *err, size_t errlen, const char *setting, const char *path)
{
	unsigned long e = ERR_peek_error();
	const char *reason = ERR_reason_error_string(e);
	char buf[256];

	if (e != 0 && ERR_SYSTEM_ERROR(e))
		reason = strerror(ERR_GET_REASON(e));
	if (reason == NULL) {
		ERR_error_string_n(e, buf, sizeof(buf));
		reason = e != 0 ? buf : "failed";
	}
	fail(err, errlen, "%s %s: %s", setting, path, reason);
	ERR_clear_error();
	return -1;
}

static void
library_init(void)
{
	unsigned char seed;

	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG |
	    OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS,
	    NULL);
	/* Instantiate the DRBG now, in case it would need /dev/urandom. */
	(void)RAND_bytes(&seed, 1);
	ERR_clear_error();
}

static int
set_min_protocol(SSL_CTX *ctx, const char *name, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(protocols); i++)
		if (strcmp(name, protocols[i].name) == 0)
			break;
	if (i == ARRAY_LEN(protocols))
		return fail(err, errlen, "ssl_min_protocol: unknown value '%s'"
		    " (TLSv1.2 or TLSv1.3)", name);
	if (SSL_CTX_set_min_proto_version(ctx, protocols[i].version) != 1)
		return fail(err, errlen, "ssl_min_protocol: %s not supported "
		    "by OpenSSL", name);
	return 0;
}

/* Protocol versions, suites and options: SECURITY.md G9. */
static int
set_policy(SSL_CTX *ctx, const struct config *cfg, char *err, size_t errlen)
{
	uint64_t opts = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_TICKET;

	const char *min = OR(cfg->ssl_min_protocol, "TLSv1.2");
	const char *list = OR(cfg->ssl_cipher_list, TLS_DEFAULT_CIPHER_LIST);
	const char *suites = OR(cfg->ssl_cipher_suites, TLS_DEFAULT_CIPHER_SUITES);

	if (set_min_protocol(ctx, min, err, errlen) < 0)
		return -1;
	if (SSL_CTX_set_cipher_list(ctx, list) != 1)
		return fail(err, errlen, "ssl_cipher_list: no usable cipher "
		    "in '%s'", list);
	if (SSL_CTX_set_ciphersuites(ctx, suites) != 1)
		return fail(err, errlen, "ssl_cipher_suites: bad value '%s'",
		    suites);
	if (cfg->ssl_prefer_server_ciphers)
		opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;
	SSL_CTX_set_options(ctx, opts);
	/* OpenSSL 3 spells "no client renegotiation" as the absence of this
	 * (openssl.cnf could have set it). */
	SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
	/* One process per connection: nowhere to resume a session from,
	 * and tickets would need key rotation we cannot do. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	/* io.c writes from a fixed buffer; partial writes show progress. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
	return 0;
}

/* The key's passphrase, never a terminal prompt (OpenSSL's default). */
static int
key_password(char *buf, int size, int rwflag, void *u)
{
	const char *pw = u;
	size_t n = pw != NULL ? strlen(pw) : 0;

	(void)rwflag;
	if (n == 0 || size <= 0 || n > (size_t)size)
		return 0;
	memcpy(buf, pw, n);
	return (int)n;
}

/* Say what the administrator most likely has to fix. */
static int
key_error(const struct config *cfg, const char *key, const char *cert,
    char *err, size_t errlen)
{
	unsigned long e = ERR_peek_error();
	const char *pw = cfg->ssl_key_password;
	size_t n;

	/* SSL_CTX_use_PrivateKey_file compares the key with the cert. */
	if (ERR_GET_LIB(e) == ERR_LIB_X509 &&
	    ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH) {
		ERR_clear_error();
		return fail(err, errlen, "ssl_key %s does not match ssl_cert %s",
		    key, cert);
	}
	fail_file(err, errlen, "ssl_key", key);
	n = strlen(err);
	if (strstr(err, "bad decrypt") != NULL && n < errlen)
		snprintf(err + n, errlen - n, pw == NULL || *pw == '\0' ?
		    " (encrypted key and no ssl_key_password)" :
		    " (wrong ssl_key_password?)");
	return -1;
}

static int
load_cert_key(SSL_CTX *ctx, const struct config *cfg, char *err,
    size_t errlen)
{
	const char *cert = tls_path(cfg->ssl_cert), *key = tls_path(cfg->ssl_key);
	int ok;

	if (*cert == '\0' || *key == '\0')
		return fail(err, errlen, "ssl_cert and ssl_key must be set");
	SSL_CTX_set_default_passwd_cb(ctx, key_password);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		return fail_file(err, errlen, "ssl_cert", cert);
	SSL_CTX_set_default_passwd_cb_userdata(ctx, cfg->ssl_key_password);
	ok = SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM);
	/* Keep no pointer to the password in the context. */
	SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
	if (ok != 1)
		return key_error(cfg, key, cert, err, errlen);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return fail(err, errlen, "ssl_key %s does not match ssl_cert %s",
		    key, cert);
	return 0;
}

/* ssl_dh: finite-field DH parameters for DHE suites (only used if
 * ssl_cipher_list enables them); empty means OpenSSL's built-in groups. */
static int
load_dh(SSL_CTX *ctx, const char *value, char *err, size_t errlen)
{
	const char *path = tls_path(value);
	EVP_PKEY *dh = NULL;
	BIO *bio;

	if (*path == '\0') {
		SSL_CTX_set_dh_auto(ctx, 1);
		return 0;
	}
	if ((bio = BIO_new_file(path, "r")) == NULL)
		return fail_file(err, errlen, "ssl_dh", path);
	dh = PEM_read_bio_Parameters(bio, NULL);
	BIO_free(bio);
	if (dh == NULL || !(EVP_PKEY_is_a(dh, "DH") || EVP_PKEY_is_a(dh, "DHX"))) {
		EVP_PKEY_free(dh);
		ERR_clear_error();
		return fail(err, errlen, "ssl_dh %s: no DH PARAMETERS", path);
	}
	if (SSL_CTX_set0_tmp_dh_pkey(ctx, dh) != 1) {
		EVP_PKEY_free(dh);
		return fail_file(err, errlen, "ssl_dh", path);
	}
	return 0;
}

/*
 * RFC 7301 section 3.2: a client that offers ALPN but not our protocol
 * gets the fatal no_application_protocol alert.  That stops a browser
 * redirected to us by a MitM (ALPACA), which offers "http/1.1" or "h2".
 * A client without ALPN never gets here and is accepted.
 */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	const char *want = arg;
	size_t wantlen = strlen(want);
	unsigned int i = 0, n;

	(void)ssl;
	while (i < inlen) {
		n = in[i++];
		if (n > inlen - i)
			break;	/* OpenSSL checked the list; stay in bounds */
		if (n == wantlen && memcmp(in + i, want, n) == 0) {
			*out = in + i;
			*outlen = (unsigned char)n;
			return SSL_TLSEXT_ERR_OK;
		}
		i += n;
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static int
set_alpn(SSL_CTX *ctx, const char *proto, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(alpn_ids); i++)
		if (proto != NULL && strcmp(proto, alpn_ids[i]) == 0)
			break;
	if (i == ARRAY_LEN(alpn_ids))
		return fail(err, errlen, "unknown ALPN protocol '%s'",
		    proto != NULL ? proto : "(null)");
	/* A static string: the context can outlive the caller's. */
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, (void *)alpn_ids[i]);
	return 0;
}

SSL_CTX *
tls_ctx_new(const struct config *cfg, const char *alpn_proto, char *err,
    size_t errlen)
{
	SSL_CTX *ctx;

	library_init();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		fail_file(err, errlen, "TLS", "context");
		return NULL;
	}
	if (set_alpn(ctx, alpn_proto, err, errlen) < 0 ||
	    set_policy(ctx, cfg, err, errlen) < 0 ||
	    load_cert_key(ctx, cfg, err, errlen) < 0 ||
	    load_dh(ctx, cfg->ssl_dh, err, errlen) < 0) {
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return NULL;
	}
	ERR_clear_error();
	return ctx;
}

void
tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

const char *
tls_path(const char *value)
{
	if (value == NULL)
		return "";
	/* Dovecot's "ssl_cert = </etc/..." form: "<" means "read from". */
	if (*value == '<')
		value++;
	while (*value == ' ' || *value == '\t')
		value++;
	return value;
}

const char *
tls_describe(SSL *ssl, char *out, size_t outlen)
{
	if (ssl == NULL)
		snprintf(out, outlen, "plaintext");
	else
		snprintf(out, outlen, "%s %s", SSL_get_version(ssl),
		    SSL_get_cipher_name(ssl));
	return out;
}
