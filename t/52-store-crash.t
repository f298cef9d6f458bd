#!/bin/sh
# Unit test t/unit/test_store_crash.c: kill -9 inside every store write, then check nothing is lost.
exec "$(dirname "$0")/lib/run-unit" test_store_crash
