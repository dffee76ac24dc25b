#!/bin/sh
# Builds the ThyWill v1 SQLite database: models/thywill/build.sh thywill-v1.db
set -eu
out=${1:?usage: build.sh FILE.db}
rm -f "$out"
sqlite3 -bail "$out" < "$(dirname "$0")/v1.sql"
