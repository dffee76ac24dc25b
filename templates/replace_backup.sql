{%- import "step_replace.sql" as replace -%}
{%- if let Some(x) = s.replace %}

  -- Overwrite or create ({{ plan.model_file|comment }}:{{ x.line }}): V2 rows of {{ s.target|comment }} with the ({{ x.key_list|comment }}) of a
  -- migrated row of this wave, and every row under them, are copied to _pgmig with the wave's
  -- number (rollback restores them) and deleted.
{%- for t in x.tables %}
  IF to_regclass({{ t.backup|lit }}) IS NULL THEN
    CREATE TABLE {{ t.backup }} AS
    SELECT t.*, this_wave AS pgmig_wave FROM {{ t.table }} AS t WHERE false;
  END IF;
  INSERT INTO {{ t.backup }}
  SELECT t.*, this_wave FROM {{ t.table|only }} AS t
  WHERE {% call replace::rows(s, x, t, "wave") %}{% endcall %};
{%- endfor %}
  SELECT count(*) INTO n_overwriting
  {{ s.keys.from_unrepaired }}
  WHERE {{ s.rejects.survivors }}
    AND {{ s.keys.unmigrated }}
    AND {% call replace::overwriting(x) %}{% endcall %};
{%- for t in x.tables_reversed %}
  DELETE FROM {{ t.table|only }} AS t USING {{ t.backup }} AS b WHERE {% call replace::backed_up(t) %}{% endcall %} AND b.pgmig_wave = this_wave;
{%- endfor %}
{%- endif %}
