-- Reference data ({{ plan.model_file|comment }}:{{ r.line }}): {{ r.rows }} row(s) of {{ r.table|comment }}, matched by ({{ r.key_list|comment }});
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
WITH wanted ({{ r.column_list }}) AS (
  VALUES {{ r.values }}
), inserted AS (
  INSERT INTO {{ r.table }} ({{ r.column_list }})
  SELECT {{ r.select_list }}
  FROM wanted AS w
{%- for j in r.parent_joins %}
  {{ j }}
{%- endfor %}
  ON CONFLICT ({{ r.key_list }}) DO NOTHING
  RETURNING {{ r.primary_key_list }}
)
INSERT INTO _pgmig.reference (model, table_name, key)
SELECT {{ plan.model|lit }}, {{ r.table|lit }}, {{ r.primary_key_json }} FROM inserted;
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
