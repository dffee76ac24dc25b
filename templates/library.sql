-- pgmig's transform library (sql/transforms.sql in pgmig's source), used by the steps below.
SET client_min_messages = warning;
{{ plan.library }}
RESET client_min_messages;
