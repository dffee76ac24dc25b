{%- import "reference.sql" as refs -%}
-- Reference data ({{ plan.model_file|comment }}:{{ r.line }}): {{ r.rows }} row(s) of {{ r.table|comment }}, as migrate inserts them{% if !r.drawn.is_empty() %}, but with
-- keys below the table's smallest: sequences are not transactional, so precheck draws none{% endif %}.
WITH wanted ({% call refs::column_list(r) %}{% endcall %}) AS (
  VALUES {% call refs::values(r) %}{% endcall %}
)
INSERT INTO {{ r.table }} ({% call refs::column_list(r) %}{% endcall %}{% for q in r.drawn %}, {{ q.column|ident }}{% endfor %}){% if !r.drawn.is_empty() %} OVERRIDING SYSTEM VALUE{% endif %}
SELECT {% call refs::select_list(r) %}{% endcall %}{% for q in r.drawn %},
       (SELECT coalesce(min(t.{{ q.column|ident }}), 0) FROM {{ r.table }} AS t) - row_number() OVER (){% endfor %}
FROM wanted AS w
{%- for c in r.columns %}{% if let Some(p) = c.parent %}
{% call refs::parent_join(c, p) %}{% endcall %}
{%- endif %}{% endfor %}
ON CONFLICT ({% call refs::names(r.key) %}{% endcall %}) DO NOTHING;
