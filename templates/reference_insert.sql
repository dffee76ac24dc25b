{%- import "reference.sql" as refs -%}
-- Reference data ({{ plan.model_file|comment }}:{{ r.line }}): {{ r.rows }} row(s) of {{ r.table|comment }}, matched by ({% filter comment %}{% call refs::names(r.key) %}{% endcall %}{% endfilter %});
-- a row whose key is already there is left as it is. Rollback removes only the rows inserted here.
{%- for q in r.sequences %}
INSERT INTO _pgmig.sequences (model, sequence, last_value, is_called)
SELECT {{ plan.model|lit }}, {{ q.name|lit }}, last_value, is_called FROM {{ q.name }}
ON CONFLICT DO NOTHING;
{%- endfor %}
{%- if !r.sequences.is_empty() %}
-- Keys drawn below are free even where rows others wrote took keys the sequence had not reached.
DO {% filter dollar("sequences") %}
BEGIN
{%- for q in r.sequences %}
{% include "sequence_advance.sql" %}
{%- endfor %}
END
{% endfilter %};
{%- endif %}
WITH wanted ({% call refs::column_list(r) %}{% endcall %}) AS (
  VALUES {% call refs::values(r) %}{% endcall %}
), inserted AS (
  INSERT INTO {{ r.table }} AS pgmig_new ({% call refs::column_list(r) %}{% endcall %})
  SELECT {% call refs::select_list(r) %}{% endcall %}
  FROM wanted AS w
{%- for c in r.columns %}{% if let Some(p) = c.parent %}
  {% call refs::parent_join(c, p) %}{% endcall %}
{%- endif %}{% endfor %}
  ON CONFLICT ({% call refs::names(r.key) %}{% endcall %}) DO NOTHING
  RETURNING {% for k in r.primary_key %}{{ k.name|ident }}, {% endfor %}md5(pg_catalog.textin(pg_catalog.record_out(pgmig_new.*))) AS pgmig_row_digest
)
INSERT INTO _pgmig.reference (model, table_name, key, row_digest)
SELECT {{ plan.model|lit }}, {{ r.table|lit }}, {% call refs::primary_key_json(r) %}{% endcall %}, pgmig_row_digest FROM inserted;
{%- if r.drawn.len() < r.sequences.len() %}
-- Past the keys the rows give, too: the application's next insert draws a free one.
DO {% filter dollar("sequences") %}
BEGIN
{%- for q in r.sequences %}
{% include "sequence_advance.sql" %}
{%- endfor %}
END
{% endfilter %};
{%- endif %}
