#!/bin/sh
# Unit test t/unit/test_imap_search.c, built by the Makefile into $POSTERN_BUILD/t/.
exec "$(dirname "$0")/lib/run-unit" test_imap_search
