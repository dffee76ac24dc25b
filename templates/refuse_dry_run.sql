\if :dry_run
DO {% filter dollar("refuse") %}
BEGIN
  RAISE EXCEPTION 'dry_run: a {{ commits_as_it_goes }} migration commits as it goes'
    USING HINT = 'compile the model with mode: transaction for a dry run, or run precheck.sql';
END
{% endfilter %};
\endif
