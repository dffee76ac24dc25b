{#- What would stop migrate, shared by precheck.sql and migrate.sql (which runs it before it
    writes): per finding a count and five samples, BLOCKING ones counted in pgmig.blocking. #}
{%- import "inplace/query.sql" as q %}
{%- for t in v.tables %}
{%- for c in t.changes %}

-- Does a {{ c.old_type|comment }} value of {{ t.name|comment }}.{{ c.column|ident|comment }} convert to {{ c.new_type|comment }} ({{ c.how|comment }})?
-- STABLE: a VOLATILE function in the orphan checks' NOT EXISTS would keep PostgreSQL from
-- planning it as a hash anti-join (a nested loop: rows × parent rows calls).
CREATE FUNCTION {{ c.helper }}({{ c.column|ident }} {{ c.old_type }}) RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS {% filter dollar("converts") %}
BEGIN
  PERFORM {% if let Some(u) = c.using %}{{ u }}{% else %}{{ c.column|ident }}::{{ c.new_type }}{% endif %};
  RETURN true;
EXCEPTION WHEN OTHERS THEN
  RETURN false;
END
{% endfilter %};
{%- endfor %}
{%- endfor %}

DO {% filter dollar("check") %}
DECLARE
  n_found bigint;
  samples text;
BEGIN
  -- After the swap the V1 columns these checks read are gone (and were checked).
  IF to_regclass('_pgmig.log') IS NOT NULL THEN
    IF EXISTS (SELECT 1 FROM _pgmig.log
               WHERE model = {{ v.model|lit }} AND script = 'migrate' AND step = '(swap)' AND status = 'done') THEN
      RETURN;
    END IF;
  END IF;
{%- for f in v.findings %}

  -- {{ f.comment|comment }}
  SELECT count(*), string_agg(k, ', ' ORDER BY k) FILTER (WHERE rn <= 5)
  INTO n_found, samples
  FROM (
    SELECT k, row_number() OVER (ORDER BY k) AS rn
    FROM (
    {% call q::query(f.query) %}{% endcall %}
    ) AS findings
  ) AS found;
  IF n_found > 0 THEN
    RAISE NOTICE 'BLOCKING  {{ f.notice|notice }}: % rows, e.g. %', n_found, samples;
    PERFORM set_config('pgmig.blocking', (current_setting('pgmig.blocking')::int + 1)::text, false);
  ELSE
    RAISE NOTICE 'ok  {{ f.notice|notice }}: none';
  END IF;
{%- endfor %}
{%- if let Some(c) = v.carried_grants %}

  -- {{ c.comment|comment }}
  SELECT string_agg(k, '; ' ORDER BY k) INTO samples FROM (
    {% call q::query(c.query) %}{% endcall %}
  ) AS carried;
  RAISE NOTICE 'NOTE  {{ c.notice|notice }}: %', coalesce(samples, 'none');
{%- endif %}
END
{% endfilter %};
