-- The end: this session's hold on pgmig's lock, taken at the top, goes (psql's exit would
-- release it too; under `pgmig run` the runner's own hold stays until the runner ends).
DO {% filter dollar("lock") %}
BEGIN
  PERFORM pg_catalog.pg_advisory_unlock({{ crate::run::LOCK_KEY }});
END
{% endfilter %};
