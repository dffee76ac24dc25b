-- The migration must be this compile's: the scripts of another compile of the model (another
-- model text, schema or pgmig version) would {% if checking == "migrate.sql" %}resume or add to{% else %}check or undo{% endif %} something else.
DO {% filter dollar("fingerprint") %}
DECLARE
  recorded text;
BEGIN
  -- to_jsonb: a _pgmig.log from before pgmig recorded fingerprints has no such column.
  SELECT pg_catalog.string_agg(DISTINCT pg_catalog.to_jsonb(l) ->> 'fingerprint', ', ') INTO recorded
  FROM _pgmig.log AS l
  WHERE l.model = {{ plan.model|lit }} AND l.script = 'migrate' AND l.status IN ('running', 'done')
    AND pg_catalog.to_jsonb(l) ->> 'fingerprint' <> '{{ plan.fingerprint }}';
  IF recorded IS NOT NULL THEN
    RAISE EXCEPTION '{{ checking }}: model % was migrated by another compile (fingerprint %); this script is from compile {{ plan.fingerprint }}; nothing was changed', {{ plan.model|lit }}, recorded
{%- if checking == "migrate.sql" %}
      USING HINT = 'finish or roll back that migration with its own scripts first';
{%- else %}
      USING HINT = 'run the verify.sql and rollback.sql compiled with the migrate.sql that ran';
{%- endif %}
  END IF;
END
{% endfilter %};
