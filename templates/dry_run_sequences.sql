\if :dry_run
-- A dry run changes nothing, sequences included, though setval() and nextval() ignore
-- ROLLBACK. ALTER SEQUENCE does not: it gives the sequence fresh storage in this
-- transaction, which ROLLBACK throws away, so each sequence below comes back exactly as it
-- was (last_value, is_called); restating its own increment changes nothing else. It also
-- holds the sequence until then: another session's nextval() waits for the ROLLBACK
-- instead of drawing a value this run had moved past, so nobody is rewound below a value
-- they drew. ALTER SEQUENCE needs the sequence's owner.
DO {% filter dollar("hold") %}
DECLARE
  increment bigint;
BEGIN
{%- for name in plan.held_sequences %}
  SELECT seqincrement INTO increment FROM pg_catalog.pg_sequence WHERE seqrelid = {{ name|lit }}::pg_catalog.regclass;
  EXECUTE pg_catalog.format('ALTER SEQUENCE %s INCREMENT BY %s', {{ name|lit }}::pg_catalog.regclass, increment);
{%- endfor %}
EXCEPTION WHEN insufficient_privilege THEN
  RAISE EXCEPTION 'dry_run: %', SQLERRM
    USING HINT = 'a dry run holds each sequence it may move with ALTER SEQUENCE, which needs the sequence''s owner: run it as the owner (a real run needs only UPDATE on them)';
END
{% endfilter %};
\endif
