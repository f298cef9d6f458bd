/*
 * tls.h - the OpenSSL server context built from the ssl_* settings.
 *
 * Policy (SECURITY.md G9-G10): TLS 1.2 or newer by default, forward-secret
 * AEAD suites only, server cipher order, no renegotiation, no compression,
 * no session tickets (a per-connection process has nowhere to keep keys).
 * ALPN: a client that offers ALPN without our protocol ("imap" or "pop3")
 * gets the fatal no_application_protocol alert (RFC 7301 section 3.2;
 * ALPACA); a client that offers no ALPN is accepted.
 *
 * tls_ctx_new() must run before the login process chroots and drops root:
 * it is the only place that reads the private key.  It also makes OpenSSL
 * do now what it would otherwise do lazily (read openssl.cnf, load error
 * strings, seed the random generator), so after it no handshake needs a
 * file and the chroot may be empty (t/unit/test_tls.c checks this).
 *
 * ssl_min_protocol: "TLSv1.2" or "TLSv1.3"; Dovecot's "TLSv1", "TLSv1.1"
 * and "ANY" are accepted and lower the floor, but OpenSSL 3 negotiates
 * TLS 1.0/1.1 only at security level 0 ("...:@SECLEVEL=0" in
 * ssl_cipher_list).  Renegotiation is refused in every case.
 */
#ifndef POSTERN_TLS_H
#define POSTERN_TLS_H

#include <stddef.h>
#include "config.h"
#include "io.h"

/* Default TLS 1.2 cipher list: ECDHE with AES-GCM or ChaCha20 only. */
#define TLS_DEFAULT_CIPHER_LIST \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
#define TLS_DEFAULT_CIPHER_SUITES \
	"TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"

/*
 * Build the context.  alpn_proto is "imap" or "pop3" (anything else is an
 * error).  On error returns NULL and writes a message for the
 * administrator into err, naming the setting and file that failed, e.g.
 * "ssl_cert /etc/x.pem: No such file or directory".  The key is read with
 * ssl_key_password, never by prompting on a terminal; the context keeps no
 * pointer to the password, so the caller may wipe it afterwards.
 */
SSL_CTX *tls_ctx_new(const struct config *cfg, const char *alpn_proto,
    char *err, size_t errlen);
void tls_ctx_free(SSL_CTX *ctx);

/* Strip Dovecot's "<" prefix from an ssl_cert/ssl_key value. */
const char *tls_path(const char *value);

/* Protocol and cipher of an established connection, for log lines:
 * "TLSv1.3 TLS_AES_256_GCM_SHA384" ("plaintext" for NULL).  Returns out. */
const char *tls_describe(SSL *ssl, char *out, size_t outlen);

#endif
