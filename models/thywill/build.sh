#!/bin/sh
# Builds the ThyWill v1 SQLite database: models/thywill/build.sh thywill-v1.db
# Then plants the seed's real corruption: the row of user c0ffee…0001 stays in the table but
# its entry in the primary key's index (sqlite_autoindex_user_1) is gone, so a lookup by id
# misses it, count(*) (which reads that index) says 65 where a full scan reads 66, and
# PRAGMA quick_check still answers ok; PRAGMA integrity_check names the index.
set -eu
out=${1:?usage: build.sh FILE.db}
rm -f "$out"
sqlite3 -bail "$out" < "$(dirname "$0")/v1.sql"
lost="c0ffee00000000000000000000000001"
# 1. An index like the key's, without that row.
sqlite3 -bail "$out" "CREATE UNIQUE INDEX unfindable ON user (id) WHERE id <> '$lost'"
# 2. The two indexes trade their b-trees (each process reads the schema afresh).
sqlite3 -bail "$out" "PRAGMA writable_schema = ON;
  CREATE TEMP TABLE roots AS SELECT name, rootpage FROM main.sqlite_master WHERE name IN ('unfindable', 'sqlite_autoindex_user_1');
  UPDATE main.sqlite_master AS s SET rootpage = (SELECT r.rootpage FROM roots r WHERE r.name <> s.name) WHERE s.name IN ('unfindable', 'sqlite_autoindex_user_1');"
# 3. Dropping the helper frees the complete b-tree it now points at: the file is sound but for the one entry.
sqlite3 -bail "$out" "DROP INDEX unfindable"
