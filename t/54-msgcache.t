#!/bin/sh
# Unit test t/unit/test_msgcache.c: the per-folder message cache.
exec "$(dirname "$0")/lib/run-unit" test_msgcache
