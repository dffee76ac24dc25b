-- ----------------------------------------------------------------------------
-- Step {{ s.number }}/{{ s.total }}: {{ s.target|comment }}  ({{ plan.model_file|comment }}:{{ s.line }})
{%- for a in s.after %}
--   after {{ a|comment }}
{%- endfor %}
-- First run: counts, rejects and the id map (keys numbered in batches) in one transaction;
-- then the step's rows, computed once into a staging table in batch order; then one
-- transaction per batch, each copying its rows from the stage with a checkpoint row in
-- _pgmig.batches.
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
  n_out bigint;
  n_batch bigint;
  last_done bigint;
  last_batch bigint;
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
    PERFORM _pgmig.pgmig_implicit_code_guard({{ plan.implicit_written }}, {{ plan.implicit_read }}, {{ plan.implicit_cast_types }});
    INSERT INTO _pgmig.log (model, script, step, status)
    VALUES ({{ plan.model|lit }}, 'migrate', {{ s.name|lit }}, 'running')
    RETURNING id INTO log_id;
{%- for q in s.sequences %}

    -- Remember {{ q.name|comment }} so rollback can put it back.
    INSERT INTO _pgmig.sequences (model, sequence, last_value, is_called)
    SELECT {{ plan.model|lit }}, {{ q.name|lit }}, last_value, is_called FROM {{ q.name }}
    ON CONFLICT DO NOTHING;
{%- endfor %}

    -- Source rows{% if s.rejects.filter_line > 0 %}; `where` at {{ plan.model_file|comment }}:{{ s.rejects.filter_line }}{% endif %}
    SELECT count(*), {{ s.rejects.filtered_count }}
    INTO n_in, n_filtered
    {{ s.from|sql_indent(2) }};
{%- for r in s.rejects.rules %}

    -- Reject rule {{ r.number }} ({{ plan.model_file|comment }}:{{ r.line }}): {{ r.reason|comment|comment }}
    INSERT INTO _pgmig.rejects (model, step, rule, reason, source_table, source_key, source_row)
    SELECT {{ plan.model|lit }}, {{ s.name|lit }}, {{ r.number }}, {{ r.reason_sql }}, {{ s.rejects.source_table|lit_or_null }}, {{ s.source_key }}, {{ s.source_row }}
    {{ s.from|sql_indent(2) }}
    WHERE {{ r.condition|sql_indent(2) }};
{%- endfor %}
    SELECT count(*) INTO n_rejected FROM _pgmig.rejects WHERE model = {{ plan.model|lit }} AND step = {{ s.name|lit }};
{% if s.keys.is_new_key %}
    -- Id map ({{ plan.model_file|comment }}:{{ s.keys.new_line }}): one new key per distinct ({{ s.keys.by_columns|comment }}), numbered in batches.
    CREATE TABLE {{ s.keys.map_table }} AS
    SELECT keys.*, {{ s.keys.new_expr }} AS {{ s.keys.key_column }},
           (row_number() OVER (ORDER BY {{ s.keys.by_columns }}) - 1) / batch_size AS batch
    FROM (
      SELECT DISTINCT {{ s.keys.by_select }}
      {{ s.from|sql_indent(4) }}
      WHERE {{ s.rejects.survivors|sql_indent(4) }}
    ) AS keys;
    ALTER TABLE {{ s.keys.map_table }} ADD PRIMARY KEY ({{ s.keys.by_columns }});
{%- else if let Some(h) = s.hierarchy %}
    -- Id map: the keys this step copies, numbered in batches in hierarchy order: foreign key
    -- {{ h.constraint|comment }} ({{ h.columns|comment }}) points into this table, so every row comes after its
    -- parent, in an earlier batch or its own. The depth of each row first:
    {{ h.batched|sql_indent(4) }}
    {{ h.levels|sql_indent(4) }}
    CREATE TABLE {{ s.keys.map_table }} AS
    SELECT {{ s.keys.key_list }}, hierarchy_depth,
           (row_number() OVER (ORDER BY hierarchy_depth, {{ s.keys.key_list }}) - 1) / batch_size AS batch
    FROM pg_temp.hierarchy_rows;
    DROP TABLE pg_temp.hierarchy_rows;
    ALTER TABLE {{ s.keys.map_table }} ADD PRIMARY KEY ({{ s.keys.key_list }});

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
{%- else %}
    -- Id map: the keys this step copies, numbered in batches.
    CREATE TABLE {{ s.keys.map_table }} AS
    SELECT keys.*, (row_number() OVER (ORDER BY {{ s.keys.key_list }}) - 1) / batch_size AS batch
    FROM (
      SELECT {{ s.keys.key_select }}
      {{ s.from|sql_indent(4) }}
      WHERE {{ s.rejects.survivors|sql_indent(4) }}
    ) AS keys;
    ALTER TABLE {{ s.keys.map_table }} ADD PRIMARY KEY ({{ s.keys.key_list }});
{%- endif %}
    ANALYZE {{ s.keys.map_table }};

    -- Stage: UNLOGGED (written once, read once). Its columns have the V2 types, so a value
    -- V2 can't take fails here, before any batch is committed.
    CREATE UNLOGGED TABLE {{ s.stage_table }} ({{ s.stage_columns }});
    CREATE INDEX ON {{ s.stage_table }} (batch);

    UPDATE _pgmig.log
    SET rows_in = n_in, rows_filtered = n_filtered, rows_rejected = n_rejected
    WHERE id = log_id;
    {% include "step_failed.sql" %}
    END;
    COMMIT;
  END IF;

  SELECT coalesce(max(batch), -1) INTO last_done
  FROM _pgmig.batches WHERE model = {{ plan.model|lit }} AND step = {{ s.name|lit }};
  SELECT coalesce(max(batch), -1) INTO last_batch FROM {{ s.keys.map_table }};

  -- The step's rows, computed once (one pass over V1, not one per batch). An empty stage
  -- with batches to go: the first run, or a crash emptied the UNLOGGED table; either
  -- way, stage the batches not done.
  IF last_done < last_batch AND NOT EXISTS (SELECT 1 FROM {{ s.stage_table }}) THEN
    BEGIN
    PERFORM _pgmig.pgmig_implicit_code_guard({{ plan.implicit_written }}, {{ plan.implicit_read }}, {{ plan.implicit_cast_types }});
    INSERT INTO {{ s.stage_table }} (batch, {{ s.insert_columns }})
    SELECT key_map.batch,
           {{ s.select_list|sql_indent(2) }}
    {{ s.keys.from_batched|sql_indent(2) }}
    WHERE key_map.batch > last_done
      AND {{ s.rejects.survivors|sql_indent(2) }}
    ORDER BY key_map.batch;
    ANALYZE {{ s.stage_table }};
    {% include "step_failed.sql" %}
    END;
    COMMIT;
  END IF;

  FOR b IN last_done + 1 .. last_batch LOOP
    BEGIN
    PERFORM _pgmig.pgmig_implicit_code_guard({{ plan.implicit_written }}, {{ plan.implicit_read }}, {{ plan.implicit_cast_types }});
    INSERT INTO {{ s.target }} ({{ s.insert_columns }}){% if s.overriding %} OVERRIDING SYSTEM VALUE{% endif %}
    SELECT {{ s.insert_columns }}
    FROM {{ s.stage_table }}
    WHERE batch = b;
    GET DIAGNOSTICS n_batch = ROW_COUNT;
    INSERT INTO _pgmig.batches (model, step, batch, rows) VALUES ({{ plan.model|lit }}, {{ s.name|lit }}, b, n_batch);
    {% include "step_failed.sql" %}
    END;
    COMMIT;
    RAISE NOTICE 'step {{ s.number }}/{{ s.total }} {{ s.name|notice }}: batch % of %, % rows', b + 1, last_batch + 1, n_batch;
  END LOOP;
{%- for q in s.sequences %}

{% include "sequence_advance.sql" %}
{%- endfor %}

  DROP TABLE {{ s.stage_table }};
  SELECT coalesce(sum(rows), 0) INTO n_out FROM _pgmig.batches WHERE model = {{ plan.model|lit }} AND step = {{ s.name|lit }};
  UPDATE _pgmig.log SET finished_at = clock_timestamp(), status = 'done', rows_out = n_out WHERE id = log_id;
  SELECT rows_in, rows_filtered, rows_rejected INTO n_in, n_filtered, n_rejected FROM _pgmig.log WHERE id = log_id;
  COMMIT;
  RAISE NOTICE 'step {{ s.number }}/{{ s.total }} {{ s.name|notice }}: {{ s.done_notice_counts.format }}',
    {{ s.done_notice_counts.args }};
END
{% endfilter %};
CALL {{ s.procedure }}(CAST(:'batch_size' AS bigint));
