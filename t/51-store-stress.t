#!/bin/sh
# Unit test t/unit/test_store_stress.c: concurrent sessions and deliveries on one folder.
exec "$(dirname "$0")/lib/run-unit" test_store_stress
