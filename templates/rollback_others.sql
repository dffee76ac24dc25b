{%- import "step_keys.sql" as keys -%}{%- import "referrer.sql" as referrer -%}
-- What rollback would do to rows it did not write, found before anything is deleted. The
-- filled tables are locked against writes until COMMIT (EXCLUSIVE: reads go on), so no row
-- can be written under a migrated row, or a migrated row changed, between this check and the
-- deletes. Refused unless the DBA says so: a migrated row the application changed since
-- (-v modified=delete deletes it as it is now), and rows of others that reference a migrated
-- row (-v cascade=on lets V2's foreign keys delete them or set them to NULL, as PLAN.md
-- lists); a foreign key with no ON DELETE action (NO ACTION, RESTRICT) always refuses.
LOCK TABLE {% for t in plan.targets %}{{ t }}{% if !loop.last %}, {% endif %}{% endfor %} IN EXCLUSIVE MODE;
-- Every id map, with its digests' column: a batched run stopped part way has no map for the
-- steps it did not begin, and none of the digests migrate records when it finishes.
-- Batched and per-entity runs migrate in one wave (no wave column: the first).
SET client_min_messages = warning;
{%- for s in steps %}
CREATE TABLE IF NOT EXISTS {{ s.keys.map_table }} AS SELECT {% call keys::names(s.keys.key) %}{% endcall %} FROM {{ s.target }} AS t WHERE false;
ALTER TABLE {{ s.keys.map_table }} ADD COLUMN IF NOT EXISTS row_digest text;
ALTER TABLE {{ s.keys.map_table }} ADD COLUMN IF NOT EXISTS pgmig_wave integer NOT NULL DEFAULT 1;
{%- endfor %}
RESET client_min_messages;
DO {% filter dollar("check") %}
DECLARE
  cascade_on boolean := pg_catalog.current_setting('pgmig.cascade')::boolean;
  delete_modified boolean := pg_catalog.current_setting('pgmig.modified') = 'delete';
  n bigint;
  sample text;
  finding text;
  refusals text[] := '{}';
  allowed text[] := '{}';
  -- -v wave: the first wave undone (the rows of earlier waves are not this rollback's).
  undo_from integer := pg_catalog.current_setting('pgmig.undo_from')::integer;
BEGIN
{%- for s in steps %}
{%- if s.keys.declared_key_line > 0 %}
  -- key: ({% filter comment %}{% call keys::names(s.keys.key) %}{% endcall %}{% endfilter %}) ({{ plan.model_file|comment }}:{{ s.keys.declared_key_line }}) is not enforced by V2: a row
  -- written since with a migrated row's key can't be told apart from it (nor its digest compared).
  IF (SELECT count(*) FROM {{ s.target|only }} AS t JOIN {{ s.keys.map_table }} AS mapped ON {% call keys::made_here(s.keys.key) %}{% endcall %}
      WHERE mapped.pgmig_wave >= undo_from)
     > (SELECT count(*) FROM {{ s.keys.map_table }} AS mapped WHERE mapped.pgmig_wave >= undo_from) THEN
    RAISE EXCEPTION 'undo {{ s.name|notice }} ({{ plan.model_file|notice }}:{{ s.keys.declared_key_line }}): rows written since the migration share the declared key ({% filter notice %}{% call keys::names(s.keys.key) %}{% endcall %}{% endfilter %}) of rows it made; nothing was rolled back'
      USING HINT = 'remove or change those rows, then run rollback.sql again';
  END IF;
{%- endif %}
  -- {{ s.target|comment }}, step {{ s.name|comment }} ({{ plan.model_file|comment }}:{{ s.line }}): migrated rows changed since migrate, or deleted.
  SELECT count(*) INTO n
  FROM {{ s.target|only }} AS t JOIN {{ s.keys.map_table }} AS mapped ON {% call keys::made_here(s.keys.key) %}{% endcall %}
  WHERE mapped.row_digest <> md5(pg_catalog.textin(pg_catalog.record_out(t.*))) AND mapped.pgmig_wave >= undo_from;
  IF n > 0 THEN
    SELECT string_agg(k.key, ', ' ORDER BY k.key) INTO sample
    FROM (SELECT {% call keys::target_key_json(s.keys.key) %}{% endcall %}::text AS key
          FROM {{ s.target|only }} AS t JOIN {{ s.keys.map_table }} AS mapped ON {% call keys::made_here(s.keys.key) %}{% endcall %}
          WHERE mapped.row_digest <> md5(pg_catalog.textin(pg_catalog.record_out(t.*))) AND mapped.pgmig_wave >= undo_from
          ORDER BY 1 LIMIT 5) AS k;
    finding := pg_catalog.format('%s: %s modified since migrate (keys: %s%s) by step %s (%s)',
                                 {{ s.target|lit }}, n || CASE n WHEN 1 THEN ' migrated row' ELSE ' migrated rows' END,
                                 sample, CASE WHEN n > 5 THEN ', …' ELSE '' END, {{ s.name|lit }}, {{ "{}:{}"|format(plan.model_file, s.line)|lit }});
    IF delete_modified THEN
      allowed := allowed || finding;
    ELSE
      refusals := refusals || finding;
    END IF;
  END IF;
  SELECT count(*) INTO n
  FROM {{ s.keys.map_table }} AS mapped
  WHERE mapped.pgmig_wave >= undo_from AND NOT EXISTS (SELECT 1 FROM {{ s.target|only }} AS t WHERE {% call keys::made_here(s.keys.key) %}{% endcall %});
  IF n > 0 THEN
    RAISE NOTICE '%', pg_catalog.format('%s: %s already deleted since migrate (step %s): nothing to undo for %s',
                                       {{ s.target|lit }}, n || CASE n WHEN 1 THEN ' migrated row' ELSE ' migrated rows' END,
                                       {{ s.name|lit }}, CASE n WHEN 1 THEN 'it' ELSE 'them' END);
  END IF;
  SELECT count(*) INTO n FROM {{ s.keys.map_table }} AS mapped WHERE mapped.row_digest IS NULL AND mapped.pgmig_wave >= undo_from;
  IF n > 0 THEN
    RAISE NOTICE '%', pg_catalog.format('%s: %s of step %s no digest (migrate did not finish): a change made to %s since is not seen',
                                       {{ s.target|lit }}, n || CASE n WHEN 1 THEN ' migrated row has' ELSE ' migrated rows have' END,
                                       {{ s.name|lit }}, CASE n WHEN 1 THEN 'it' ELSE 'them' END);
  END IF;
{%- endfor %}
{%- for r in plan.referrers %}
  -- {{ r.table|comment }} {% filter comment %}({% for c in r.columns %}{% if !loop.first %}, {% endif %}{{ c|ident }}{% endfor %}){% endfilter %} → {{ r.parent|comment }} ({{ r.constraint|comment }}, ON DELETE {{ r.action }}): rows of others under {% if r.chain.is_empty() %}migrated rows{% else %}rows CASCADE deletes with migrated ones ({{ r.chain|comment }}){% endif %}.
  SELECT count(*) INTO n
  {% call referrer::others(r) %}{% endcall %};
  IF n > 0 THEN
    finding := pg_catalog.format('%s: %s %s (%s, ON DELETE %s: %s)',
                                 {{ r.table|lit }}, n || CASE n WHEN 1 THEN ' row references' ELSE ' rows reference' END,
                                 {{ r.reached|lit }}, {{ r.constraint|lit }}, {{ r.action|lit }}, {{ r.effect|lit }});
{%- if r.blocks %}
    refusals := refusals || finding;
{%- else %}
    IF cascade_on THEN
      allowed := allowed || finding;
    ELSE
      refusals := refusals || finding;
    END IF;
{%- endif %}
  END IF;
{%- endfor %}
  IF pg_catalog.cardinality(refusals) > 0 THEN
    RAISE EXCEPTION 'rollback.sql: rows were written or changed since the migration; nothing was rolled back'
      USING DETAIL = pg_catalog.array_to_string(refusals, E'\n'),
            HINT = 'rows of others under migrated rows: -v cascade=on lets V2''s foreign keys delete them or set them to NULL '
                   '(PLAN.md lists them; rows a NO ACTION or RESTRICT key keeps must be removed or re-pointed first); '
                   'migrated rows modified since: -v modified=delete deletes them as they are now';
  END IF;
  FOREACH finding IN ARRAY allowed LOOP
    RAISE NOTICE '%', finding || ': rolled back as -v cascade / -v modified say';
  END LOOP;
END
{% endfilter %};
