#!/usr/bin/env bash
# Times variants of migrate.sql (variants.py) and server settings on one kept bench database.
#
#   pgmig-bench --scales 100 --runs 1 --client-max-scale 0 --plpgsql-max-scale 0 --compile-model 0 --keep
#   bench/experiments/experiments.sh SOCKET_DIR PORT DB [RUNS]
#
# Every timing starts from an empty V2 (TRUNCATE, DROP SCHEMA _pgmig, CHECKPOINT), as in
# `pgmig-bench`. Prints "variant seconds…" lines, median last.
set -euo pipefail
cd "$(dirname "$0")/../.."
SOCK=$1 PORT=$2 DB=$3 RUNS=${4:-2}
PSQL=/usr/lib/postgresql/15/bin/psql
URL="host=$SOCK port=$PORT dbname=$DB user=postgres"
PGMIG=${PGMIG:-./target/release/pgmig}
V=$(mktemp -d)
python3 bench/experiments/variants.py out/workout/migrate.sql "$V" >/dev/null

reset() {
  $PSQL -X -q -d "$URL" -c "DROP SCHEMA IF EXISTS _pgmig CASCADE" \
    -c "TRUNCATE public.workout_plans, public.workout_weeks, public.workout_days, public.exercises, public.workout_sessions, public.exercise_logs" \
    -c "CHECKPOINT"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

time_migrate() {  # name dir options
  local name=$1 dir=$2 opts=$3 ts=()
  for _ in $(seq "$RUNS"); do
    reset
    local url="$URL"
    [ -n "$opts" ] && url="$URL options='$opts'"
    local s=$(date +%s.%N)
    "$PGMIG" run migrate --dir "$dir" --db "$url" >/dev/null 2>"$V/err" || { echo "$name FAILED"; tail -5 "$V/err"; return; }
    ts+=("$(echo "$(date +%s.%N) - $s" | bc)")
  done
  echo "$name ${ts[*]} median $(printf '%s\n' "${ts[@]}" | median)"
}

time_floor() {  # name options
  local name=$1 opts=$2 ts=()
  for _ in $(seq "$RUNS"); do
    reset
    local s=$(date +%s.%N)
    PGOPTIONS="$opts" $PSQL -X -q -v ON_ERROR_STOP=1 -1 -d "$URL" -f bench/sql/floor.sql
    ts+=("$(echo "$(date +%s.%N) - $s" | bc)")
  done
  echo "$name ${ts[*]} median $(printf '%s\n' "${ts[@]}" | median)"
}

time_floor floor ""
time_migrate baseline "$V/baseline" ""
for v in unlogged_maps map_pk_after_insert one_reject_scan no_reject_scans no_count_scan; do
  time_migrate "$v" "$V/$v" ""
done
time_migrate "work_mem=4MB" "$V/baseline" "-c work_mem=4MB"
time_migrate "work_mem=256MB" "$V/baseline" "-c work_mem=256MB"
# FK (RI) triggers and all other triggers off: what checking each row's parent costs
time_migrate "no_fk_triggers" "$V/baseline" "-c session_replication_role=replica"
time_floor "floor_no_fk_triggers" "-c session_replication_role=replica"
reset
rm -rf "$V"
