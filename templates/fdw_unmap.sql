{%- if let Some(v) = plan.server %}

-- V1's password goes with the user mapping; the server and the staging schema stay for
-- export.sql (which makes its own mapping) until rollback.sql drops them.
DROP USER MAPPING FOR CURRENT_USER SERVER {{ v.server }};
{%- endif %}
