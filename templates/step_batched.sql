{%- import "step_keys.sql" as keys -%}{%- import "step_stage.sql" as stage -%}{%- import "step_batch_stage.sql" as bstage -%}
-- ----------------------------------------------------------------------------
-- Step {{ s.number }}/{{ s.total }}: {{ s.target|comment }}  ({{ plan.model_file|comment }}:{{ s.line }})
{%- for a in s.after %}
--   after {{ a|comment }}
{%- endfor %}
-- First run, one transaction: the step's source read once into a staging table (each row's
-- class, batch and V2 values), then the counts, the rejects and the id map from it; then one
-- transaction per batch, each copying its rows from the stage with a checkpoint row in
-- _pgmig.batches. The batches are claimed from a queue, so other sessions may copy them
-- too (`pgmig run --jobs N`; under psql, see {{ s.jobs.batches_procedure|comment }} below).
-- ----------------------------------------------------------------------------
{{ s.marker(plan.model, true) }}
CREATE OR REPLACE PROCEDURE {{ s.procedure }}(batch_size bigint)
LANGUAGE plpgsql
AS {% filter dollar("step") %}
DECLARE
  log_id bigint;
  log_status text;
  n_in bigint;
  n_filtered bigint;
  n_rejected bigint;
  last_batch bigint;
  staged_now boolean := false;
  err_detail text;
  err_hint text;
{%- if s.hierarchy.is_some() %}
  n_cycle bigint;
  cycle_keys text;
  hierarchy_level bigint;
{%- endif %}
BEGIN
  IF batch_size IS NULL OR batch_size < 1 THEN
    RAISE EXCEPTION 'batch_size must be a positive whole number, not %', batch_size;
  END IF;
  SELECT id, status INTO log_id, log_status
  FROM _pgmig.log
  WHERE model = {{ plan.model|lit }} AND script = 'migrate' AND step = {{ s.name|lit }} AND status IN ('running', 'done')
  ORDER BY id DESC
  LIMIT 1;
  IF log_status = 'done' THEN
    RAISE NOTICE 'step {{ s.number }}/{{ s.total }} {{ s.name|notice }}: already done';
    RETURN;
  END IF;

{%- let step_hint = "coalesce(nullif(err_hint, ''), 'run precheck.sql: it lists the V1 rows that break V2 constraints')" %}
  IF log_id IS NULL THEN
    -- A sub-block per transaction (a COMMIT can't be inside one): an error names the step.
    BEGIN
    PERFORM _pgmig.pgmig_implicit_code_guard({{ plan.implicit_written }}, {{ plan.implicit_read }}, {{ plan.implicit_cast_types }}, {{ plan.implicit_called_functions }});
    INSERT INTO _pgmig.log (model, script, step, status)
    VALUES ({{ plan.model|lit }}, 'migrate', {{ s.name|lit }}, 'running')
    RETURNING id INTO log_id;
{%- for q in s.sequences %}

    -- Remember {{ q.name|comment }} so rollback can put it back.
    INSERT INTO _pgmig.sequences (model, sequence, last_value, is_called)
    SELECT {{ plan.model|lit }}, {{ q.name|lit }}, last_value, is_called FROM {{ q.name }}
    ON CONFLICT DO NOTHING;
{%- endfor %}

    -- Source rows, read once{% if s.rejects.filter_line > 0 %}; `where` at {{ plan.model_file|comment }}:{{ s.rejects.filter_line }}{% endif %}: each with its class
    -- (pgmig_class: -1 filtered out, N caught by reject rule N, 0 migrates) and, for the rows
    -- that migrate, {% if s.hierarchy.is_some() %}the V2 columns' values (their batches are numbered below, in
    -- hierarchy order){% else %}their batch (in key order, the rows sorted so) and the V2 columns' values{% endif %}.
    -- The counts, the rejects, the id map and every batch read this stage, not V1. UNLOGGED:
    -- written once, read once per batch, and a crash only empties it (the batches still queued
    -- are staged again). Its columns have V2's types: a value V2 can't take fails here, before
    -- any batch is committed.
    CREATE UNLOGGED TABLE {{ s.stage_table }} AS
    SELECT {% filter sql_indent(2) %}{% call bstage::typed_columns(s.batch_stage) %}{% endcall %}{% endfilter %}
{%- if !s.batch_stage.by.is_empty() %}
    {{ s.from|sql_indent(2) }}
{%- endif %}
    WITH NO DATA;
    INSERT INTO {{ s.stage_table }} ({% call bstage::columns(s.batch_stage) %}{% endcall %})
    SELECT {% filter sql_indent(2) %}{% call bstage::select(s.keys, s.batch_stage) %}{% endcall %}{% endfilter %}
    {% filter sql_indent(2) %}{% call stage::classified(s.from, s.keys, s.batch_stage.rules) %}{% endcall %}{% endfilter %}
{%- if s.batch_stage.numbered %}
    ORDER BY {% filter sql_indent(2) %}{% call bstage::order(s.batch_stage) %}{% endcall %}{% endfilter %}
{%- endif %};
    SELECT count(*), count(*) FILTER (WHERE stage.pgmig_class = -1)
    INTO n_in, n_filtered
    FROM {{ s.stage_table }} AS stage;
{%- if !s.rejects.rules.is_empty() %}

    -- Reject rules, each row under the first that catches it:
{%- for r in s.rejects.rules %}
    --   {{ r.number }} ({{ plan.model_file|comment }}:{{ r.line }}): {{ r.reason|comment|comment }}
{%- endfor %}
    INSERT INTO _pgmig.rejects (model, step, rule, reason, source_table, source_key, source_row)
    SELECT {{ plan.model|lit }}, {{ s.name|lit }}, stage.pgmig_class, stage.pgmig_reason, {{ s.rejects.source_table|lit_or_null }}, stage.pgmig_source_key, stage.pgmig_source_row
    FROM {{ s.stage_table }} AS stage
    WHERE stage.pgmig_class > 0;
{%- endif %}
    SELECT count(*) INTO n_rejected FROM _pgmig.rejects WHERE model = {{ plan.model|lit }} AND step = {{ s.name|lit }};
{% if s.keys.is_new_key %}
    -- Id map ({{ plan.model_file|comment }}:{{ s.keys.new_line }}): one new key per distinct ({% filter comment %}{% call keys::names(s.keys.by) %}{% endcall %}{% endfilter %}) of the rows that
    -- migrate, with its batch.
    CREATE TABLE {{ s.keys.map_table }} AS
    SELECT {% call bstage::map_by_columns(s.batch_stage) %}{% endcall %}, {{ s.keys.new_expr }} AS {{ s.keys.new_key|ident }}, keys.batch
    FROM (
      SELECT DISTINCT {% call bstage::map_keys(s.keys, s.batch_stage) %}{% endcall %}, stage.batch
      FROM {{ s.stage_table }} AS stage
      WHERE stage.pgmig_class = 0
    ) AS keys;
    ALTER TABLE {{ s.keys.map_table }} ADD PRIMARY KEY ({% call keys::names(s.keys.by) %}{% endcall %});
{%- else if let Some(h) = s.hierarchy %}
    -- Id map: the keys this step copies, numbered in batches in hierarchy order: foreign key
    -- {{ h.constraint|comment }} ({{ h.columns|comment }}) points into this table, so every row comes after its
    -- parent, in an earlier batch or its own. The depth of each row first:
    {{ s.batch_stage.hierarchy_rows|sql_indent(4) }}
    {{ h.levels|sql_indent(4) }}
    CREATE TABLE {{ s.keys.map_table }} AS
    SELECT {% call keys::names(s.keys.key) %}{% endcall %}, hierarchy_depth,
           (row_number() OVER (ORDER BY hierarchy_depth, {% call keys::names(s.keys.key) %}{% endcall %}) - 1) / batch_size AS batch
    FROM pg_temp.hierarchy_rows;
    DROP TABLE pg_temp.hierarchy_rows;
    ALTER TABLE {{ s.keys.map_table }} ADD PRIMARY KEY ({% call keys::names(s.keys.key) %}{% endcall %});

    -- A row that is its own ancestor (a cycle, or under one) has no place in that order:
    -- refused before any batch of this step is written.
    SELECT count(*), string_agg(k, ', ' ORDER BY k) FILTER (WHERE rn <= 5)
    INTO n_cycle, cycle_keys
    FROM (
      SELECT k, row_number() OVER (ORDER BY k) AS rn
      FROM (SELECT (to_jsonb(m) - 'hierarchy_depth' - 'batch')::text AS k FROM {{ s.keys.map_table }} AS m WHERE m.hierarchy_depth IS NULL) AS cycle
    ) AS found;
    IF n_cycle > 0 THEN
      RAISE EXCEPTION 'step {{ s.name|notice }}: % rows are their own ancestors through foreign key {{ h.constraint|notice }} (a cycle, or under one), e.g. %; nothing of this step was written', n_cycle, cycle_keys
        USING HINT = 'precheck.sql names them; break the cycle in V1 (or reject those rows), or use mode: transaction, whose one statement inserts them together';
    END IF;

    -- Each staged row's batch, from the id map (a second write of the rows that migrate,
    -- in the stage only: their depth needed the whole step first).
    UPDATE {{ s.stage_table }} AS stage SET batch = key_map.batch
    FROM {{ s.keys.map_table }} AS key_map
    WHERE {% call bstage::hierarchy_batch_on(s.batch_stage) %}{% endcall %} AND stage.pgmig_class = 0;
{%- else %}
    -- Id map: the keys this step copies, with their batches.
    CREATE TABLE {{ s.keys.map_table }} AS
    SELECT {% call bstage::map_keys(s.keys, s.batch_stage) %}{% endcall %}, stage.batch
    FROM {{ s.stage_table }} AS stage
    WHERE stage.pgmig_class = 0;
    ALTER TABLE {{ s.keys.map_table }} ADD PRIMARY KEY ({% call keys::names(s.keys.key) %}{% endcall %});
{%- endif %}
    ANALYZE {{ s.keys.map_table }};
    CREATE INDEX ON {{ s.stage_table }} (batch);
    ANALYZE {{ s.stage_table }};

    -- The batches to copy, one row each: a session claims a batch by locking its row, and
    -- the transaction that commits the batch deletes it.
    CREATE TABLE {{ s.jobs.queue_table }} AS SELECT DISTINCT batch FROM {{ s.keys.map_table }};
    ALTER TABLE {{ s.jobs.queue_table }} ADD PRIMARY KEY (batch);

    UPDATE _pgmig.log
    SET rows_in = n_in, rows_filtered = n_filtered, rows_rejected = n_rejected
    WHERE id = log_id;
    staged_now := true;
    {% include "step_failed.sql" %}
    END;
    COMMIT;
  END IF;

  SELECT coalesce(max(batch), -1) INTO last_batch FROM {{ s.keys.map_table }};

  -- A rerun stages again the rows of the batches still queued, in one pass over V1: a crash
  -- may have emptied the UNLOGGED stage, and V1 fixed after a failed batch is read anew.
  IF NOT staged_now AND EXISTS (SELECT 1 FROM {{ s.jobs.queue_table }}) THEN
    BEGIN
    PERFORM _pgmig.pgmig_implicit_code_guard({{ plan.implicit_written }}, {{ plan.implicit_read }}, {{ plan.implicit_cast_types }}, {{ plan.implicit_called_functions }});
    TRUNCATE {{ s.stage_table }};
    INSERT INTO {{ s.stage_table }} ({% call bstage::migrating_columns(s.batch_stage) %}{% endcall %})
    SELECT {% filter sql_indent(2) %}{% call bstage::migrating_select(s.batch_stage) %}{% endcall %}{% endfilter %}
    {% filter sql_indent(2) %}{% call keys::joined_to_map(s.keys, s.from) %}{% endcall %}{% endfilter %}
    WHERE key_map.batch IN (SELECT queue.batch FROM {{ s.jobs.queue_table }} AS queue)
      AND {{ s.rejects.survivors|sql_indent(2) }}
    ORDER BY key_map.batch;
    ANALYZE {{ s.stage_table }};
    {% include "step_failed.sql" %}
    END;
    COMMIT;
  END IF;
  RAISE NOTICE 'step {{ s.number }}/{{ s.total }} {{ s.name|notice }}: % batches staged', last_batch + 1;
END
{% endfilter %};

-- Copies the staged batches of step {{ s.name|comment }}, one transaction each, until none is left.
-- Safe to run from several sessions at once while migrate.sql runs (it holds pgmig's
-- lock): each session claims the first batch no other holds (FOR UPDATE SKIP LOCKED).
-- Under psql, after the NOTICE '… batches staged', in other sessions:
--   CALL {{ s.jobs.batches_procedure|comment }}(finish => false);
-- migrate.sql's own call (finish => true) then waits for the batches others hold, copies
-- any a failed session left, and closes the step.
CREATE OR REPLACE PROCEDURE {{ s.jobs.batches_procedure }}(finish boolean)
LANGUAGE plpgsql
AS {% filter dollar("batches") %}
DECLARE
  log_id bigint;
  n_in bigint;
  n_filtered bigint;
  n_rejected bigint;
  n_out bigint;
  n_batch bigint;
  last_batch bigint;
  claimed bigint;
  err_detail text;
  err_hint text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_locks AS l
                 WHERE l.locktype = 'advisory' AND l.granted
                   AND l.database = (SELECT d.oid FROM pg_catalog.pg_database AS d WHERE d.datname = pg_catalog.current_database())
                   AND l.classid = {{ crate::run::lock::LOCK_CLASSID }} AND l.objid = {{ crate::run::lock::LOCK_OBJID }} AND l.objsubid = 1) THEN
    RAISE EXCEPTION 'step {{ s.name|notice }}: no pgmig run holds the lock on this database; nothing was copied'
      USING HINT = 'run migrate.sql (or pgmig run migrate) first; other sessions may join it while it copies batches';
  END IF;
  SELECT id INTO log_id
  FROM _pgmig.log
  WHERE model = {{ plan.model|lit }} AND script = 'migrate' AND step = {{ s.name|lit }} AND status = 'running'
  ORDER BY id DESC
  LIMIT 1;
  IF log_id IS NULL OR pg_catalog.to_regclass({{ s.jobs.queue_table|lit }}) IS NULL THEN
    -- Done already (the step's first call said so), or not begun: nothing to copy.
    RETURN;
  END IF;
  SELECT coalesce(max(batch), -1) INTO last_batch FROM {{ s.keys.map_table }};
{%- let step_hint = "coalesce(nullif(err_hint, ''), 'run precheck.sql: it lists the V1 rows that break V2 constraints')" %}

  LOOP
    BEGIN
    BEGIN
{%- if s.hierarchy.is_some() %}
      -- One batch at a time, in order: a row's parent is in an earlier batch (or its own),
      -- committed before this one is claimed. Another session waits here for it.
      PERFORM pg_catalog.set_config('lock_timeout', '0', true);
      SELECT queue.batch INTO claimed FROM {{ s.jobs.queue_table }} AS queue ORDER BY queue.batch LIMIT 1 FOR UPDATE;
{%- else %}
      SELECT queue.batch INTO claimed FROM {{ s.jobs.queue_table }} AS queue ORDER BY queue.batch LIMIT 1 FOR UPDATE SKIP LOCKED;
      IF claimed IS NULL AND finish THEN
        -- The batches other sessions hold: wait for their commits (a batch whose session
        -- failed stays in the queue and is claimed here).
        PERFORM pg_catalog.set_config('lock_timeout', '0', true);
        SELECT queue.batch INTO claimed FROM {{ s.jobs.queue_table }} AS queue ORDER BY queue.batch LIMIT 1 FOR UPDATE;
      END IF;
{%- endif %}
    EXCEPTION WHEN undefined_table THEN
      -- The step's closing session dropped the queue after this session's last batch.
      claimed := NULL;
    END;
    EXIT WHEN claimed IS NULL;
    PERFORM _pgmig.pgmig_implicit_code_guard({{ plan.implicit_written }}, {{ plan.implicit_read }}, {{ plan.implicit_cast_types }}, {{ plan.implicit_called_functions }});
    INSERT INTO {{ s.target }} ({% call keys::names(s.insert_columns) %}{% endcall %}){% if s.overriding %} OVERRIDING SYSTEM VALUE{% endif %}
    SELECT {% filter sql_indent(2) %}{% call bstage::copy_select(s.batch_stage) %}{% endcall %}{% endfilter %}
    {% filter sql_indent(2) %}{% call bstage::copy_from(s.keys, s.stage_table, s.batch_stage) %}{% endcall %}{% endfilter %}
    WHERE stage.batch = claimed;
    GET DIAGNOSTICS n_batch = ROW_COUNT;
    IF n_batch = 0 THEN
      -- Every batch has keys in the id map, each with its staged rows.
      RAISE EXCEPTION 'no staged rows (a crash emptied the stage?)'
        USING HINT = 'run migrate.sql again: it stages the batches not done';
    END IF;
    INSERT INTO _pgmig.batches (model, step, batch, rows) VALUES ({{ plan.model|lit }}, {{ s.name|lit }}, claimed, n_batch);
    DELETE FROM {{ s.jobs.queue_table }} WHERE batch = claimed;
    EXCEPTION WHEN OTHERS THEN
      -- As step_failed.sql, naming the batch too (with --jobs, any session may have claimed it).
      GET STACKED DIAGNOSTICS err_detail = PG_EXCEPTION_DETAIL, err_hint = PG_EXCEPTION_HINT;
      RAISE EXCEPTION 'step {{ s.name|notice }} ({{ plan.model_file|notice }}:{{ s.line }}) failed%: %',
        coalesce(' in batch ' || (claimed + 1) || ' of ' || (last_batch + 1), ''), SQLERRM
        USING ERRCODE = SQLSTATE, DETAIL = err_detail, HINT = {{ step_hint }};
    END;
    COMMIT;
    RAISE NOTICE 'step {{ s.number }}/{{ s.total }} {{ s.name|notice }}: batch % of %, % rows', claimed + 1, last_batch + 1, n_batch;
  END LOOP;
  COMMIT;
  IF NOT finish THEN
    RETURN;
  END IF;
{%- for q in s.sequences %}

{% include "sequence_advance.sql" %}
{%- endfor %}

  DROP TABLE {{ s.stage_table }};
  DROP TABLE {{ s.jobs.queue_table }};
  SELECT coalesce(sum(rows), 0) INTO n_out FROM _pgmig.batches WHERE model = {{ plan.model|lit }} AND step = {{ s.name|lit }};
  UPDATE _pgmig.log SET finished_at = clock_timestamp(), status = 'done', rows_out = n_out WHERE id = log_id;
  SELECT rows_in, rows_filtered, rows_rejected INTO n_in, n_filtered, n_rejected FROM _pgmig.log WHERE id = log_id;
  COMMIT;
  RAISE NOTICE 'step {{ s.number }}/{{ s.total }} {{ s.name|notice }}: {{ s.done_notice_counts.format }}',
    {{ s.done_notice_counts.args }};
END
{% endfilter %};
CALL {{ s.procedure }}(CAST(:'batch_size' AS bigint));
{{ s.jobs.finish_call }}
