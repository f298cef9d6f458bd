#!/bin/sh
# Unit test t/unit/test_lock.c: dot-locks of killed sessions are taken over at once.
exec "$(dirname "$0")/lib/run-unit" test_lock
