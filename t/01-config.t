#!/bin/sh
# Unit test t/unit/test_config.c, built by the Makefile into $POSTERN_BUILD/t/.
: "${POSTERN_BUILD:=$(cd "$(dirname "$0")/.." && pwd)/build}"
exec "$POSTERN_BUILD/t/test_config"
