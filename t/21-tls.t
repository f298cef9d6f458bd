#!/bin/sh
# Unit test t/unit/test_tls.c (common/tls.c and io_starttls: versions,
# ciphers, ALPN, STARTTLS injection, handshake timeout, config errors),
# built by the Makefile into $POSTERN_BUILD/t/.  Needs the openssl command.
: "${POSTERN_BUILD:=$(cd "$(dirname "$0")/.." && pwd)/build}"
exec "$POSTERN_BUILD/t/test_tls"
