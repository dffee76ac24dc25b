-- Quiet about the bookkeeping that already exists.
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS _pgmig;
{% include "bookkeeping_guard.sql" %}
CREATE TABLE IF NOT EXISTS _pgmig.log (
  id bigserial PRIMARY KEY,
  model text NOT NULL,
  script text NOT NULL,
  step text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at timestamptz,
  rows_in bigint,
  rows_filtered bigint,
  rows_rejected bigint,
  rows_out bigint,
  status text NOT NULL,
  message text
);
CREATE TABLE IF NOT EXISTS _pgmig.rejects (
  model text NOT NULL,
  step text NOT NULL,
  rule integer NOT NULL,
  reason text NOT NULL,
  source_table text,
  source_key jsonb,
  source_row jsonb,
  rejected_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  wave integer DEFAULT NULLIF(pg_catalog.current_setting('pgmig.wave', true), '')::integer
);
-- Rejects of an earlier wave that a later wave migrated, with that wave's number.
CREATE TABLE IF NOT EXISTS _pgmig.superseded_rejects (
  superseded_by integer NOT NULL,
  model text NOT NULL,
  step text NOT NULL,
  rule integer NOT NULL,
  reason text NOT NULL,
  source_table text,
  source_key jsonb,
  source_row jsonb,
  rejected_at timestamptz NOT NULL,
  wave integer
);
CREATE TABLE IF NOT EXISTS _pgmig.sequences (
  model text NOT NULL,
  sequence text NOT NULL,
  last_value bigint NOT NULL,
  is_called boolean NOT NULL,
  PRIMARY KEY (model, sequence)
);
-- Where migrate left each sequence (sequences_left.sql): rollback puts a sequence back only
-- while it is still there, when nobody has drawn from it since.
ALTER TABLE _pgmig.sequences ADD COLUMN IF NOT EXISTS left_value bigint,
                             ADD COLUMN IF NOT EXISTS left_is_called boolean;
CREATE TABLE IF NOT EXISTS _pgmig.batches (
  model text NOT NULL,
  step text NOT NULL,
  batch bigint NOT NULL,
  rows bigint NOT NULL,
  finished_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (model, step, batch)
);
CREATE TABLE IF NOT EXISTS _pgmig.changes (
  model text NOT NULL,
  step text NOT NULL,
  table_name text NOT NULL,
  key jsonb NOT NULL,
  column_name text NOT NULL,
  old_value text,
  new_value text,
  changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  wave integer DEFAULT NULLIF(pg_catalog.current_setting('pgmig.wave', true), '')::integer,
  PRIMARY KEY (model, step, column_name, key)
);
-- The candidates a repair found already held in V2 (as md5: the values are others' rows'):
-- verify recomputes the repair from them, as migrate saw V2, whatever was deleted since. A
-- value is recorded by the first wave that found it taken.
CREATE TABLE IF NOT EXISTS _pgmig.repairs_taken (
  model text NOT NULL,
  step text NOT NULL,
  column_name text NOT NULL,
  value_md5 text NOT NULL,
  wave integer DEFAULT NULLIF(pg_catalog.current_setting('pgmig.wave', true), '')::integer,
  PRIMARY KEY (model, step, column_name, value_md5)
);
CREATE TABLE IF NOT EXISTS _pgmig.reference (
  model text NOT NULL,
  table_name text NOT NULL,
  key jsonb NOT NULL,
  wave integer DEFAULT NULLIF(pg_catalog.current_setting('pgmig.wave', true), '')::integer,
  PRIMARY KEY (model, table_name, key)
);
-- Each reference row's digest as inserted: rollback refuses to delete one changed since.
ALTER TABLE _pgmig.reference ADD COLUMN IF NOT EXISTS row_digest text;
CREATE TABLE IF NOT EXISTS _pgmig.targets (
  model text NOT NULL,
  table_name text NOT NULL,
  rows_before bigint NOT NULL,
  counted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model, table_name)
);
-- Waves: the rows of others each filled table holds as a later wave begins (targets_count.sql).
CREATE TABLE IF NOT EXISTS _pgmig.wave_targets (
  model text NOT NULL,
  table_name text NOT NULL,
  wave integer NOT NULL,
  rows_of_others bigint NOT NULL,
  PRIMARY KEY (model, table_name, wave)
);
CREATE TABLE IF NOT EXISTS _pgmig.seals (
  model text NOT NULL,
  subject text NOT NULL,
  rows bigint NOT NULL,
  digest text NOT NULL,
  PRIMARY KEY (model, subject)
);
RESET client_min_messages;
