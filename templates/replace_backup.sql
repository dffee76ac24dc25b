{%- if let Some(x) = s.replace %}

  -- Overwrite or create ({{ plan.model_file|comment }}:{{ x.line }}): V2 rows of {{ s.target|comment }} with the ({{ x.key_list|comment }}) of a
  -- migrated row, and every row under them, are copied to _pgmig (rollback restores them) and deleted.
{%- for t in x.tables %}
  CREATE TABLE {{ t.backup }} AS
  SELECT t.* FROM {{ t.table }} AS t
  WHERE {{ t.condition }};
{%- endfor %}
  SELECT count(*) INTO n_overwriting
  {{ s.from_unrepaired }}
  WHERE {{ s.survivors }}
    AND {{ x.overwriting }};
{%- for t in x.tables_reversed %}
  DELETE FROM {{ t.table }} AS t USING {{ t.backup }} AS b WHERE {{ t.backed_up }};
{%- endfor %}
{%- endif %}
