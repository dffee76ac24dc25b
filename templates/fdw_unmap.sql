{%- if let Some(v) = plan.server %}

-- V1's password goes with the user mapping; the server and the staging schema stay for
-- verify.sql and export.sql (each makes a mapping of its own) until rollback.sql drops them.
DROP USER MAPPING FOR CURRENT_USER SERVER {{ v.server|ident }};
{%- endif %}
