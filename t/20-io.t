#!/bin/sh
# Unit test t/unit/test_io.c (common/io.c: bounded line reader, timeouts,
# output buffering), built by the Makefile into $POSTERN_BUILD/t/.
exec "$(dirname "$0")/lib/run-unit" test_io
