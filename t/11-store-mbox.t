#!/bin/sh
exec "$POSTERN_BUILD/t/test_store_mbox"
