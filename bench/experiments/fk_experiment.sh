#!/usr/bin/env bash
# Foreign keys: per-row RI triggers vs dropping V2's FKs for the load and re-adding them
# (validated) at the end, in the same transaction; for the floor and for migrate.sql.
#   bench/experiments/fk_experiment.sh SOCKET_DIR PORT DB [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
SOCK=$1 PORT=$2 DB=$3 RUNS=${4:-2}
PSQL=/usr/lib/postgresql/15/bin/psql
URL="host=$SOCK port=$PORT dbname=$DB user=postgres"
PGMIG=${PGMIG:-./target/release/pgmig}
E=bench/experiments
V=$(mktemp -d)
reset() {
  $PSQL -X -q -d "$URL" -c "DROP SCHEMA IF EXISTS _pgmig CASCADE" \
    -c "TRUNCATE public.workout_plans, public.workout_weeks, public.workout_days, public.exercises, public.workout_sessions, public.exercise_logs" \
    -c "CHECKPOINT" 2>/dev/null
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# migrate.sql with the drops right after BEGIN and the re-adds before the final log row
python3 - "$V" <<'PY'
import sys
s = open("out/workout/migrate.sql").read()
drop = open("bench/experiments/fk_drop.sql").read()
add = open("bench/experiments/fk_add.sql").read()
s = s.replace("\nBEGIN;\n", "\nBEGIN;\n" + drop, 1)
i = s.rindex("INSERT INTO _pgmig.log (model, script, step, finished_at, status)")
s = s[:i] + add + s[i:]
open(sys.argv[1] + "/migrate.sql", "w").write(s)
PY
run() {  # name command...
  local name=$1; shift; local ts=()
  for _ in $(seq "$RUNS"); do
    reset; local s=$(date +%s.%N); "$@" >/dev/null 2>"$V/err" || { echo "$name FAILED"; tail -5 "$V/err"; return; }
    ts+=("$(echo "$(date +%s.%N) - $s" | bc)")
  done
  echo "$name ${ts[*]} median $(printf '%s\n' "${ts[@]}" | median)"
}
run floor $PSQL -X -q -v ON_ERROR_STOP=1 -1 -d "$URL" -f bench/sql/floor.sql
run floor_fk_readd $PSQL -X -q -v ON_ERROR_STOP=1 -1 -d "$URL" -f $E/fk_drop.sql -f bench/sql/floor.sql -f $E/fk_add.sql
run migrate "$PGMIG" run migrate --dir out/workout --db "$URL"
run migrate_fk_readd "$PGMIG" run migrate --dir "$V" --db "$URL"
# time of the re-adds alone, on a loaded V2
reset; $PSQL -X -q -v ON_ERROR_STOP=1 -1 -d "$URL" -f $E/fk_drop.sql -f bench/sql/floor.sql -f $E/fk_add.sql
$PSQL -X -q -v ON_ERROR_STOP=1 -d "$URL" -f $E/fk_drop.sql
s=$(date +%s.%N); $PSQL -X -q -v ON_ERROR_STOP=1 -1 -d "$URL" -f $E/fk_add.sql; echo "fk_add_alone $(echo "$(date +%s.%N) - $s" | bc)"
reset; rm -rf "$V"
