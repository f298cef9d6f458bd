#!/bin/sh
# Unit test t/unit/test_store_api.c: every store.h operation on Maildir and mbox.
exec "$(dirname "$0")/lib/run-unit" test_store_api
