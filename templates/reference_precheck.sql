-- Reference data ({{ plan.model_file|comment }}:{{ r.line }}): {{ r.rows }} row(s) of {{ r.table|comment }}, as migrate inserts them{% if !r.drawn.is_empty() %}, but with
-- keys below the table's smallest: sequences are not transactional, so precheck draws none{% endif %}.
WITH wanted ({{ r.column_list }}) AS (
  VALUES {{ r.values }}
)
INSERT INTO {{ r.table }} ({{ r.column_list }}{% for q in r.drawn %}, {{ q.column }}{% endfor %}){% if !r.drawn.is_empty() %} OVERRIDING SYSTEM VALUE{% endif %}
SELECT {{ r.select_list }}{% for q in r.drawn %},
       (SELECT coalesce(min(t.{{ q.column }}), 0) FROM {{ r.table }} AS t) - row_number() OVER (){% endfor %}
FROM wanted AS w
{%- for j in r.parent_joins %}
{{ j }}
{%- endfor %}
ON CONFLICT ({{ r.key_list }}) DO NOTHING;
