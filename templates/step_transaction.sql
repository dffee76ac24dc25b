{%- import "step_keys.sql" as keys -%}{%- import "step_stage.sql" as stage -%}
-- ----------------------------------------------------------------------------
-- Step {{ s.number }}/{{ s.total }}: {{ s.target|comment }}  ({{ plan.model_file|comment }}:{{ s.line }})
{%- for a in s.after %}
--   after {{ a|comment }}
{%- endfor %}
-- ----------------------------------------------------------------------------
{{ s.marker(plan.model, false) }}
DO {% filter dollar("step") %}
DECLARE
  log_id bigint;
  n_in bigint;
  n_filtered bigint;
  n_rejected bigint;
  n_out bigint;
{%- if !s.repairs.columns.is_empty() %}
  n_repaired bigint;
  n_repaired_all bigint := 0;
{%- endif %}
{%- if s.replace.is_some() %}
  n_overwriting bigint;
{%- endif %}
  err_detail text;
  err_hint text;
  deferring boolean;
  this_wave integer := pg_catalog.current_setting('pgmig.wave')::integer;
BEGIN
  INSERT INTO _pgmig.log (model, script, step, status)
  VALUES ({{ plan.model|lit }}, 'migrate', {{ s.name|lit }}, 'running')
  RETURNING id INTO log_id;
{%- for q in s.sequences %}

  -- Remember {{ q.name|comment }} so rollback can put it back.
  INSERT INTO _pgmig.sequences (model, sequence, last_value, is_called)
  SELECT {{ plan.model|lit }}, {{ q.name|lit }}, last_value, is_called FROM {{ q.name }}
  ON CONFLICT DO NOTHING;
{%- endfor %}

{%- if s.keys.is_new_key %}

  -- Id map ({{ plan.model_file|comment }}:{{ s.keys.new_line }}): one new key per distinct ({% filter comment %}{% call keys::names(s.keys.by) %}{% endcall %}{% endfilter %}) that no earlier
  -- wave mapped, with this wave's number.
  IF to_regclass({{ s.keys.map_table|lit }}) IS NULL THEN
    CREATE TABLE {{ s.keys.map_table }} AS
    SELECT keys.*, {{ s.keys.new_expr }} AS {{ s.keys.new_key|ident }}, this_wave AS pgmig_wave
    FROM (
      SELECT DISTINCT {% call keys::select_as(s.keys.map_match) %}{% endcall %}
      {{ s.from_without_own_map }}
      WHERE false
    ) AS keys;
    ALTER TABLE {{ s.keys.map_table }} ADD PRIMARY KEY ({% call keys::names(s.keys.by) %}{% endcall %});
  END IF;
{%- if s.stage.own_lookup %}

  -- Id map ({{ plan.model_file|comment }}:{{ s.keys.new_line }}): a new key for each distinct ({% filter comment %}{% call keys::names(s.keys.by) %}{% endcall %}{% endfilter %}) of the rows that migrate
  -- now, made before the stage reads the source: the step's columns look up its own keys
  -- (id({{ s.name|comment }}, …)), this run's included. The one step kind reading its source twice.
  INSERT INTO {{ s.keys.map_table }} ({% call keys::names(s.keys.by) %}{% endcall %}, {{ s.keys.new_key|ident }}, pgmig_wave)
  SELECT keys.*, {{ s.keys.new_expr }}, this_wave
  FROM (
    SELECT {% call keys::select_as(s.keys.map_match) %}{% endcall %}
    {{ s.from }}
    WHERE {{ s.rejects.survivors }}
    EXCEPT
    SELECT {% call keys::names(s.keys.by) %}{% endcall %} FROM {{ s.keys.map_table }}
  ) AS keys;
{%- endif %}
{%- else %}

  -- Id map: the keys this step copies, for id() lookups, verify and rollback, each with its wave.
  IF to_regclass({{ s.keys.map_table|lit }}) IS NULL THEN
    CREATE TABLE {{ s.keys.map_table }} ({% call keys::map_columns(s.keys.map_columns) %}{% endcall %}, pgmig_wave integer NOT NULL,{% if s.digest_at_insert %} row_digest text,{% endif %} PRIMARY KEY ({% call keys::names(s.keys.key) %}{% endcall %}));
  END IF;
{%- endif %}

  -- Source rows, read once{% if s.rejects.filter_line > 0 %}; `where` at {{ plan.model_file|comment }}:{{ s.rejects.filter_line }}{% endif %}: each with its class
  -- (pgmig_class: -1 filtered out, N caught by reject rule N, -2 migrated by an earlier
  -- wave, 0 migrates now) and, for the rows that migrate, the V2 columns' values. The
  -- counts, the rejects, the id map and the insert read this stage, not V1.
  CREATE TEMP TABLE pg_temp.pgmig_stage AS
  SELECT {% call stage::select(s.stage) %}{% endcall %}
  {% call stage::classified(s.from, s.keys, s.stage.rules) %}{% endcall %};
  SELECT count(*), count(*) FILTER (WHERE stage.pgmig_class = -1)
  INTO n_in, n_filtered
  FROM pg_temp.pgmig_stage AS stage;
{%- for r in s.rejects.rules %}

  -- Reject rule {{ r.number }} ({{ plan.model_file|comment }}:{{ r.line }}): {{ r.reason|comment|comment }}
  -- A row an earlier wave rejected that the rule no longer rejects (the parent it looked up
  -- migrated since) is not a reject any more: kept aside with this wave's number, for
  -- rollback.sql -v wave=last to put back. A row still rejected keeps its first reject row.
  WITH superseded AS (
    DELETE FROM _pgmig.rejects AS earlier
    WHERE earlier.model = {{ plan.model|lit }} AND earlier.step = {{ s.name|lit }} AND earlier.rule = {{ r.number }}
      AND NOT EXISTS (SELECT 1 FROM pg_temp.pgmig_stage AS stage
                      WHERE stage.pgmig_class = {{ r.number }} AND stage.pgmig_source_key = earlier.source_key)
    RETURNING earlier.*
  )
  INSERT INTO _pgmig.superseded_rejects (superseded_by, model, step, rule, reason, source_table, source_key, source_row, rejected_at, wave)
  SELECT this_wave, g.model, g.step, g.rule, g.reason, g.source_table, g.source_key, g.source_row, g.rejected_at, g.wave
  FROM superseded AS g;
  INSERT INTO _pgmig.rejects (model, step, rule, reason, source_table, source_key, source_row)
  SELECT {{ plan.model|lit }}, {{ s.name|lit }}, {{ r.number }}, stage.pgmig_reason, {{ s.rejects.source_table|lit_or_null }}, stage.pgmig_source_key, stage.pgmig_source_row
  FROM pg_temp.pgmig_stage AS stage
  WHERE stage.pgmig_class = {{ r.number }}
    AND NOT EXISTS (SELECT 1 FROM _pgmig.rejects AS earlier
                    WHERE earlier.model = {{ plan.model|lit }} AND earlier.step = {{ s.name|lit }} AND earlier.rule = {{ r.number }}
                      AND earlier.source_key = stage.pgmig_source_key);
{%- endfor %}
  SELECT count(*) INTO n_rejected FROM _pgmig.rejects WHERE model = {{ plan.model|lit }} AND step = {{ s.name|lit }};
{% if s.keys.is_new_key %}
{%- if !s.stage.own_lookup %}
  -- Id map ({{ plan.model_file|comment }}:{{ s.keys.new_line }}): a new key for each distinct ({% filter comment %}{% call keys::names(s.keys.by) %}{% endcall %}{% endfilter %}) of the rows that migrate now.
  INSERT INTO {{ s.keys.map_table }} ({% call keys::names(s.keys.by) %}{% endcall %}, {{ s.keys.new_key|ident }}, pgmig_wave)
  SELECT keys.*, {{ s.keys.new_expr }}, this_wave
  FROM (
    SELECT DISTINCT {% call stage::by_values(s.stage.by) %}{% endcall %}
    FROM pg_temp.pgmig_stage AS stage
    WHERE stage.pgmig_class = 0
  ) AS keys;
{%- endif %}
{%- include "replace_backup.sql" %}
{%- include "repair.sql" %}
{%- include "defer_drop.sql" %}

  INSERT INTO {{ s.target }} ({% call keys::names(s.insert_columns) %}{% endcall %}){% if s.overriding %} OVERRIDING SYSTEM VALUE{% endif %}
  SELECT {% call stage::values(s.stage.select_list) %}{% endcall %}
  {% call stage::from_keyed(s.keys, s.stage) %}{% endcall %}
  WHERE stage.pgmig_class = 0;
  GET DIAGNOSTICS n_out = ROW_COUNT;
{%- else %}
{%- include "replace_backup.sql" %}
{%- include "repair.sql" %}
{%- include "defer_drop.sql" %}

{%- if s.digest_at_insert %}

  -- Each row's digest (see row_digests.sql) as inserted: no later statement of this
  -- script writes {{ s.target|comment }}, so it is the row migrate leaves.
{%- endif %}
  WITH inserted AS (
    INSERT INTO {{ s.target }}{% if s.digest_at_insert %} AS pgmig_new{% endif %} ({% call keys::names(s.insert_columns) %}{% endcall %}){% if s.overriding %} OVERRIDING SYSTEM VALUE{% endif %}
    SELECT {% call stage::values(s.stage.select_list) %}{% endcall %}
    {% call stage::from_keyed(s.keys, s.stage) %}{% endcall %}
    WHERE stage.pgmig_class = 0
    RETURNING {% call keys::names(s.keys.key) %}{% endcall %}{% if s.digest_at_insert %}, md5(pg_catalog.textin(pg_catalog.record_out(pgmig_new.*))) AS pgmig_row_digest{% endif %}
  )
  INSERT INTO {{ s.keys.map_table }} ({% call keys::names(s.keys.key) %}{% endcall %}, pgmig_wave{% if s.digest_at_insert %}, row_digest{% endif %})
  SELECT {% call keys::names(s.keys.key) %}{% endcall %}, this_wave{% if s.digest_at_insert %}, pgmig_row_digest{% endif %} FROM inserted;
  GET DIAGNOSTICS n_out = ROW_COUNT;
{%- if s.keys.declared_key_line > 0 %}

  -- key: ({% filter comment %}{% call keys::names(s.keys.key) %}{% endcall %}{% endfilter %}) ({{ plan.model_file|comment }}:{{ s.keys.declared_key_line }}) is not enforced by V2: no other row
  -- may share a migrated row's key, or verify and rollback could not tell them apart.
  IF (SELECT count(*) FROM {{ s.target|only }} AS t JOIN {{ s.keys.map_table }} AS mapped ON {% call keys::made_here(s.keys.key) %}{% endcall %}
      WHERE mapped.pgmig_wave = this_wave) <> n_out THEN
    RAISE EXCEPTION 'rows already in {{ s.target|notice }} share the declared key ({% filter notice %}{% call keys::names(s.keys.key) %}{% endcall %}{% endfilter %}) of migrated rows'
      USING HINT = 'run precheck.sql: it lists them; declare a key that tells the rows apart';
  END IF;
{%- endif %}
{%- endif %}
  DROP TABLE pg_temp.pgmig_stage;
{%- include "defer_restore.sql" %}
{%- for q in s.sequences %}

{% include "sequence_advance.sql" %}
{%- endfor %}

  UPDATE _pgmig.log
  SET finished_at = clock_timestamp(), status = 'done',
      rows_in = n_in, rows_filtered = n_filtered, rows_rejected = n_rejected, rows_out = n_out{% if !s.repairs.columns.is_empty() %},
      message = n_repaired_all || ' values repaired (_pgmig.changes)'{% if s.replace.is_some() %}
                || '; ' || n_overwriting || ' overwritten, ' || (n_out - n_overwriting) || ' created'{% endif %}{% else if s.replace.is_some() %},
      message = n_overwriting || ' overwritten, ' || (n_out - n_overwriting) || ' created'{% endif %}
  WHERE id = log_id;
  RAISE NOTICE 'step {{ s.number }}/{{ s.total }} {{ s.name|notice }}: {{ s.done_notice.format }}',
    {{ s.done_notice.args }};
{%- if let Some(x) = s.replace %}
  RAISE NOTICE 'REPLACE  {{ s.name|notice }}: % migrated rows overwrote a V2 row with the same ({{ x.key_list|notice }}), % were created',
    n_overwriting, n_out - n_overwriting;
{%- endif %}
{%- let step_hint = "coalesce(nullif(err_hint, ''), 'run precheck.sql: it lists the V1 rows that break V2 constraints')" %}
{% include "step_failed.sql" %}
END
{% endfilter %};
{%- if s.analyze_map %}
ANALYZE {{ s.keys.map_table }};
{%- endif %}

