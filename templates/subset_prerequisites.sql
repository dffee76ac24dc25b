{%- import "literal_lists.sql" as lists -%}
-- This script covers a subset of model {{ plan.model|comment }} (--entities {{ u.label|comment }}). The steps it
-- needs and leaves out must already be migrated, by a migrate that included them:
{%- for p in u.prerequisite_lines %}
--   {{ p|comment }}
{%- endfor %}
DO {% filter dollar("guard") %}
DECLARE
  missing text;
BEGIN
  -- Two steps: PL/pgSQL plans a whole statement, and _pgmig.log may not exist yet.
  IF to_regclass('_pgmig.log') IS NULL THEN
    RAISE EXCEPTION 'model {{ plan.model|notice }}: --entities {{ u.label|notice|comment }} needs these steps migrated first: {{ u.prerequisites|notice|comment }}'
      USING HINT = 'add them to --entities, or run the migrate that includes them first';
  END IF;
  SELECT string_agg(p.step, ', ' ORDER BY p.step) INTO missing
  FROM (VALUES {% call lists::rows(u.prerequisite_steps) %}{% endcall %}) AS p (step)
  WHERE NOT EXISTS (SELECT 1 FROM _pgmig.log AS l
                    WHERE l.model = {{ plan.model|lit }} AND l.script = 'migrate' AND l.step = p.step AND l.status = 'done');
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'model {{ plan.model|notice }}: --entities {{ u.label|notice|comment }} needs these steps migrated first: %', missing
      USING HINT = 'add them to --entities, or run the migrate that includes them first';
  END IF;
END
{% endfilter %};
