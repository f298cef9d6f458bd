#!/bin/sh
exec "$POSTERN_BUILD/t/test_uidlist"
