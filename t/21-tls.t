#!/bin/sh
# Unit test t/unit/test_tls.c (common/tls.c and io_starttls: versions,
# ciphers, ALPN, STARTTLS injection, handshake timeout, config errors),
# built by the Makefile into $POSTERN_BUILD/t/.  Needs the openssl command.
exec "$(dirname "$0")/lib/run-unit" test_tls
