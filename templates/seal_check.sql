{%- import "step_replace.sql" as replace -%}
{#- The reading side of a seal check, shared by verify.sql, rollback.sql and the in-place
    scripts: the block's variables, a backup's rows and digest as they are now, and its seal
    as migrate wrote it (`model` and `subject` as they are; quoted here). Each caller decides
    what a difference means. -#}
{%- macro variables() %}  n_rows bigint;
  digest_now text;
  n_sealed bigint;
  digest_sealed text;
{%- endmacro -%}

{%- macro sealed(indent, model, subject) -%}
{{ indent }}SELECT s.rows, s.digest INTO n_sealed, digest_sealed
{{ indent }}FROM _pgmig.seals AS s WHERE s.model = {{ model|lit }} AND s.subject = {{ subject|lit }};
{%- endmacro -%}

{#- A replaced rows' backup (see SealedBackupView): its rows and digest now, NULL when the table
    is gone; `lock` holds it against writes until COMMIT (rollback restores from it). -#}
{%- macro replace_backup(model, b, lock) %}  n_rows := NULL;
  digest_now := NULL;
  IF to_regclass({{ b.backup|lit }}) IS NOT NULL THEN
{%- if lock %}
    LOCK TABLE {{ b.backup }} IN SHARE MODE;
{%- endif %}
    SELECT count(*), {% call replace::digest() %}{% endcall %} INTO n_rows, digest_now
    FROM {{ b.backup }} AS b;
  END IF;
{% call sealed("  ", model, b.subject) %}{% endcall %}
{%- endmacro -%}
