{#- A block of statements retried on lock_timeout or a deadlock: the attempt's locks are given
    back (the subtransaction is rolled back), pg_temp.pgmig_lock_wait pauses (or gives up
    after lock_retries), and the block runs again. `indent` is the LOOP's; `what` names the
    block in the notice (plain text, quoted here); `numbered` appends the batch's number;
    `detail`, when not empty, is an expression of the block's own appended to it (who holds
    the lock).
    The caller's body is the statements, each on a line of its own (starting with its line
    feed), indented two levels deeper. -#}
{%- macro retried(indent, what, numbered, detail) -%}
{{ indent }}LOOP
{{ indent }}  BEGIN{{ caller() }}
{{ indent }}    EXIT;
{{ indent }}  EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
{{ indent }}    pgmig_attempt := pgmig_attempt + 1;
{{ indent }}    PERFORM pg_temp.pgmig_lock_wait({{ what|lit }}{% if numbered %} || (pgmig_batch + 1){% endif %}{% if !detail.is_empty() %} || {{ detail }}{% endif %}, pgmig_attempt);
{{ indent }}  END;
{{ indent }}END LOOP;
{%- endmacro -%}
